/* The resolver's HTTP response parser (http_feed, http_eof) fed in
 * pieces, and Cache-Control values (http_cachecontrol) on their own. */
#include "fuzz.h"
#include "e2e.h"

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  static http h;
  size_t i = 0, step;
  int r = 0;
  int64_t maxage = -1;
  int nostore = 0, nocache = 0;
  char *v;
  if (!n) return 0;
  /* first byte: the size of the pieces (1..256), as reads would split it */
  step = (size_t)d[0] + 1;
  d++; n--;
  http_init(&h);
  while (i < n && r == 0) {
    size_t k = n - i < step ? n - i : step;
    r = http_feed(&h, (char const *)d + i, k);
    i += k;
  }
  if (r == 0) r = http_eof(&h);
  if (r < 0) FZ_CHECK(h.err && h.why && *http_reason(h.err));
  if (r > 0) FZ_CHECK(h.head && h.status >= 200 && h.status <= 599 && h.bodylen <= HTTP_BODY_MAX);
  FZ_CHECK(h.maxage >= -1 && h.maxage <= HTTP_AGE_SAT);
  v = fz_copy(d, n);
  http_cachecontrol(v, n, &maxage, &nostore, &nocache);
  FZ_CHECK(maxage >= -1 && maxage <= HTTP_AGE_SAT);
  free(v);
  return 0;
}
