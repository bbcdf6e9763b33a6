/* HOME/routes (routes_get, routes_find): every line is checked; a route
 * found has a target (a host name or a b32 address) and a port in range,
 * a destination target a destination that parses; "*" serves only
 * domains outside .i2p. */
#include <string.h>
#include "fuzz.h"
#include "e2e.h"
#include "i2p.h"

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  static i2p_wellknown w;
  static route r;
  unsigned int line = 0;
  char const *why = 0;
  char *s = fz_copy(d, n);
  static char const *const doms[] = { "example.i2p", "a.b", "mail.i2p", "example.com" };
  unsigned int i;
  for (i = 0; i < 4; i++) {
    int x = routes_find(s, n, doms[i], &w, &line, &why);
    if (x < 0) FZ_CHECK(why && *why);
    if (x > 0) FZ_CHECK(w.port <= 65535);
    x = routes_get(s, n, doms[i], &r, &w, &line, &why);
    if (x < 0) FZ_CHECK(why && *why);
    if (x > 0) {
      FZ_CHECK(r.target[0] && r.port <= 65535 && r.line >= 1);
      FZ_CHECK(!r.dflt || !domain_is_i2p(doms[i]));
      FZ_CHECK(r.byname || (w.port == r.port && strlen(r.target) == I2P_B32_ADDR_LEN));
    }
  }
  free(s);
  return 0;
}
