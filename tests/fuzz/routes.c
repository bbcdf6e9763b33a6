/* HOME/routes (routes_find): every line is checked; a domain found has a
 * destination that parses. */
#include "fuzz.h"
#include "e2e.h"
#include "i2p.h"

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  static i2p_wellknown w;
  unsigned int line = 0;
  char const *why = 0;
  char *s = fz_copy(d, n);
  static char const *const doms[] = { "example.i2p", "a.b", "mail.i2p" };
  unsigned int i;
  for (i = 0; i < 3; i++) {
    int r = routes_find(s, n, doms[i], &w, &line, &why);
    if (r < 0) FZ_CHECK(why && *why);
    if (r > 0) FZ_CHECK(w.port <= 65535);
  }
  free(s);
  return 0;
}
