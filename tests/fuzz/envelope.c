/* qmail-queue's envelope (envelope_parse) and its writer: what parses
 * formats back to the same bytes. */
#include "fuzz.h"
#include "e2e.h"

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  envelope e;
  char *s = fz_copy(d, n), *out = malloc(n + 1);
  size_t k = envelope_parse(&e, s, n), m;
  if (k) {
    FZ_CHECK(k <= n && e.n >= 1 && e.n <= RCPT_MAX);
    m = envelope_fmt(&e, out, n + 1);
    FZ_CHECK(m == k && !memcmp(out, s, k));
  }
  free(s); free(out);
  return 0;
}
