/* Service records (I2P proposal 167): the NAMING REPLY line that carries
 * lease set options (srv_naming_reply), the _smtp._tcp value (srv_parse)
 * and the order records are tried in (srv_order). */
#include "fuzz.h"
#include "e2e.h"

static uint32_t state = 1;
static uint32_t rnd(void) { state = state * 1103515245u + 12345u; return state >> 8; }

static void value(char const *v)
{
  srv_rec r[SRV_MAX];
  unsigned int n, i;
  char const *why = 0;
  if (srv_parse(v, r, SRV_MAX, &n, &why) < 0) { FZ_CHECK(why && *why); return; }
  FZ_CHECK(n >= 1 && n <= SRV_MAX);
  for (i = 0; i < n; i++) {
    FZ_CHECK(r[i].ttl >= 1 && r[i].ttl <= 2147483647u && r[i].port <= 65535);
    FZ_CHECK(r[i].priority <= 65535 && r[i].weight <= 65535);
    FZ_CHECK(r[i].self ? n == 1 && !r[i].target[0] : domain_is_i2p(r[i].target));
  }
  srv_order(r, n, rnd);
  for (i = 1; i < n; i++) FZ_CHECK(r[i - 1].priority <= r[i].priority);
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  char *s = fz_copy(d, n), *line = fz_copy(d, n);
  char const *res, *val, *opt;
  if (strlen(s) == n) {
    value(s);
    if (!srv_naming_reply(line, "_smtp._tcp", &res, &val, &opt) && opt) value(opt);
  }
  free(s);
  free(line);
  return 0;
}
