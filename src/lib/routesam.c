/* A route's target given by host name: its destination, by SAM NAMING
 * LOOKUP (the router's address book). */
#include <stdio.h>
#include <string.h>
#include "e2e.h"
#include "i2p.h"
#include "sam.h"

int routes_lookup(route const *r, struct i2p_wellknown *w, char const *samaddr, int64_t deadline,
                  char *err, size_t errmax)
{
  static sam s;
  char const *v;
  int e;
  sam_init(&s);
  e = sam_open(&s, samaddr, deadline);
  if (!e) e = sam_naming_lookup(&s, r->target, deadline);
  if (e) {
    snprintf(err, errmax, "cannot look up %s: %s", r->target, s.err);
    sam_close(&s);
    return E2E_TEMP;   /* not (yet) in the address book: the user named it, so wait */
  }
  v = sam_reply_get(&s.reply, "VALUE");
  e = i2p_wellknown_parse(w, v, strlen(v));
  sam_close(&s);
  if (e) { snprintf(err, errmax, "cannot look up %s: %s", r->target, i2p_reason(e)); return E2E_TEMP; }
  w->port = r->port;
  return 0;
}
