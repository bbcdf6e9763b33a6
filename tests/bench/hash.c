/* hash PASSWORD COST: prints a yescrypt hash of PASSWORD at COST (1..11),
 * for the benchmarks (tests/bench); its crypt_checksalt verdict and the
 * milliseconds one check takes go to stderr. */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
  char salt[128], h[256];
  struct crypt_data d = {0};
  struct timespec a, b;
  char const *r;
  int i;
  if (argc != 3) return 2;
  if (!crypt_gensalt_rn("$y$", strtoul(argv[2], 0, 10), 0, 0, salt, sizeof salt)) return 1;
  r = crypt_r(argv[1], salt, &d);
  if (!r || *r == '*') return 1;
  snprintf(h, sizeof h, "%s", r);
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (i = 0; i < 10; i++) crypt_r(argv[1], h, &d);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%s\n", h);
  fprintf(stderr, "checksalt=%d ms=%.2f\n", crypt_checksalt(h),
          ((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6) / 10);
  return 0;
}
