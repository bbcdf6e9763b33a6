/* The /.well-known/i2pmail.key body (i2p_wellknown_parse) and the
 * resolver's cache files that keep one (cache_parse, cache_fmt). */
#include "fuzz.h"
#include "e2e.h"
#include "i2p.h"

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  i2p_wellknown w, w2;
  cache_entry c;
  char *s = fz_copy(d, n), out[CACHE_FILE_MAX];
  int e = i2p_wellknown_parse(&w, s, n);
  if (!e) {
    FZ_CHECK(w.port <= 65535);
    if (w.full) FZ_CHECK(i2p_wellknown_match(&w, w.dest, w.d.len));
  }
  /* a cache file for host "example.i2p" */
  if (!cache_parse(&c, "example.i2p", s, n, &w2)) {
    size_t k = cache_fmt(out, "example.i2p", &c);
    FZ_CHECK(k == n && !memcmp(out, s, n));   /* strict: the only spelling */
  }
  free(s);
  return 0;
}
