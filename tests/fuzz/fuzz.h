/* Shared by the fuzz harnesses (docs/fuzzing.md). Each harness defines
 * LLVMFuzzerTestOneInput; libFuzzer calls it (make fuzz), or driver.c
 * does, once per file of its corpus and regress directories (tests/fuzz.t). */
#ifndef E2E_FUZZ_H
#define E2E_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);

/* A property every input must keep: a failure is a finding. */
#define FZ_CHECK(c) do { if (!(c)) { \
  fprintf(stderr, "fuzz: check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

/* An exact-size copy (so that a read past the end is caught), with a NUL
 * after it for the parsers that want a string. */
static inline char *fz_copy(uint8_t const *d, size_t n)
{
  char *s = malloc(n + 1);
  if (!s) abort();
  if (n) memcpy(s, d, n);
  s[n] = 0;
  return s;
}

/* Splits the input at the first NUL: the part before into *a (copied,
 * NUL-terminated), the rest into *rest. */
static inline void fz_split(uint8_t const *d, size_t n, char **a, uint8_t const **rest, size_t *rn)
{
  uint8_t const *z = memchr(d, 0, n);
  size_t k = z ? (size_t)(z - d) : n;
  *a = fz_copy(d, k);
  *rest = z ? z + 1 : d + n;
  *rn = z ? n - k - 1 : 0;
}

/* A scratch directory for parsers that read files, removed at exit. */
char const *fz_dir(void);
/* Writes n bytes to fz_dir()/name (replacing it); aborts on failure. */
void fz_file(char const *name, void const *d, size_t n);
#endif
