/* HOME/routes: static routes, "domain destination[:port]" a line. Every
 * line is checked, not only the one looked for, so that a mistake shows
 * at once; a domain listed twice is a mistake too. */
#include <string.h>
#include <strings.h>
#include "e2e.h"
#include "i2p.h"

static int blank(char c) { return c == ' ' || c == '\t'; }

/* A decimal port in 1..65535, no leading zero. */
static int port(char const *s, size_t n, unsigned int *out)
{
  unsigned int v = 0;
  size_t i;
  if (!n || n > 5 || s[0] == '0') return -1;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (unsigned int)(s[i] - '0');
  }
  if (v > 65535) return -1;
  *out = v;
  return 0;
}

/* One line (no newline): 0 blank or comment, 1 a route (its domain
 * lower-cased into dom, ADDR_MAX bytes; the destination into w), -1
 * malformed (*why). */
static int route(char const *l, size_t n, char *dom, i2p_wellknown *w, char const **why)
{
  char a[ADDR_MAX], b[ADDR_MAX];
  size_t i = 0, ds, de, ts, te, c;
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)l[i];
    if (ch < 32 ? ch != '\t' : ch == 127) { *why = "control character"; return -1; }
  }
  for (i = 0; i < n && blank(l[i]); i++) ;
  if (i == n || l[i] == '#') return 0;
  for (ds = i; i < n && !blank(l[i]); i++) ;
  de = i;
  for (; i < n && blank(l[i]); i++) ;
  for (ts = i; i < n && !blank(l[i]); i++) ;
  te = i;
  for (; i < n && blank(l[i]); i++) ;
  if (ts == te) { *why = "want: domain destination[:port]"; return -1; }
  if (i < n) { *why = "trailing text after the destination"; return -1; }
  if (de - ds + 2 >= ADDR_MAX) { *why = "domain too long"; return -1; }
  memcpy(a, "x@", 2);
  memcpy(a + 2, l + ds, de - ds);
  if (addr_check(a, de - ds + 2, b)) { *why = "malformed domain"; return -1; }
  strcpy(dom, b + 2);
  for (c = te; c > ts && l[c - 1] != ':'; c--) ;
  if (c > ts) {
    if (i2p_wellknown_parse(w, l + ts, c - 1 - ts)) { *why = "malformed destination"; return -1; }
    if (port(l + c, te - c, &w->port) < 0) { *why = "port not in 1..65535"; return -1; }
  } else if (i2p_wellknown_parse(w, l + ts, te - ts)) { *why = "malformed destination"; return -1; }
  return 1;
}

int routes_find(char const *text, size_t len, char const *domain,
                struct i2p_wellknown *w, unsigned int *lineno, char const **why)
{
  i2p_wellknown scratch;
  char dom[ADDR_MAX];
  size_t p = 0;
  unsigned int n = 0, found = 0;
  if (len > ROUTES_MAX) { *lineno = 0; *why = "file too long"; return -1; }
  while (p < len) {
    char const *nl = memchr(text + p, '\n', len - p);
    size_t e = nl ? (size_t)(nl - text) : len;
    int r;
    n++;
    r = route(text + p, e - p, dom, found ? &scratch : w, why);
    if (r < 0) { *lineno = n; return -1; }
    if (r && !strcmp(dom, domain)) {
      if (found) { *lineno = n; *why = "domain listed twice"; return -1; }
      found = n;
    }
    p = e + 1;
  }
  return found ? 1 : 0;
}
