/* HOME/routes: static routes, "domain target[:port] [auth]" a line. The
 * domain may be "*": every domain outside .i2p without a line of its own
 * (the clearnet, through a gateway). The target is a destination (I2P
 * base64 or a b32 address) or an I2P host name, looked up by the caller
 * with SAM NAMING LOOKUP. "auth": log in to it with HOME/auth's line for
 * the target. Every line is checked, not only the one looked for, so that
 * a mistake shows at once; a domain listed twice is a mistake too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* s (n bytes) as a domain, lower-cased into out (ADDR_MAX bytes): 0, -1. */
static int domain(char const *s, size_t n, char *out)
{
  char a[ADDR_MAX], b[ADDR_MAX];
  if (n + 2 >= ADDR_MAX) return -1;
  memcpy(a, "x@", 2);
  memcpy(a + 2, s, n);
  if (addr_check(a, n + 2, b)) return -1;
  strcpy(out, b + 2);
  return 0;
}

/* The target (n bytes, port cut off) into r and w: a destination (its
 * b32 address into r->target), else an I2P host name (not a b32 address). 0, -1. */
static int target(char const *s, size_t n, route *r, i2p_wellknown *w)
{
  size_t k;
  r->byname = 0;
  if (!i2p_wellknown_parse(w, s, n)) { i2p_b32_of_hash(r->target, w->hash); return 0; }
  if (domain(s, n, r->target) < 0 || !domain_is_i2p(r->target)) return -1;
  k = strlen(r->target);
  if (k >= 8 && !strcmp(r->target + k - 8, ".b32.i2p")) return -1;
  r->byname = 1;
  return 0;
}

/* Splits l (n bytes) into up to 4 blank-separated words: their count, or
 * 4 for too many. */
static unsigned int words(char const *l, size_t n, size_t st[3], size_t en[3])
{
  size_t i = 0;
  unsigned int k = 0;
  for (;;) {
    for (; i < n && blank(l[i]); i++) ;
    if (i == n) return k;
    if (k == 3) return 4;
    for (st[k] = i; i < n && !blank(l[i]); i++) ;
    en[k++] = i;
  }
}

/* One line (no newline): 0 blank or comment, 1 a route (its domain, or
 * "*", lower-cased into dom, ADDR_MAX bytes; the rest into r and w), -1
 * malformed (*why). */
static int line(char const *l, size_t n, char *dom, route *r, i2p_wellknown *w, char const **why)
{
  size_t i, st[3], en[3], c, ts, te;
  unsigned int k;
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)l[i];
    if (ch < 32 ? ch != '\t' : ch == 127) { *why = "control character"; return -1; }
  }
  k = words(l, n, st, en);
  if (!k || l[st[0]] == '#') return 0;
  if (k < 2) { *why = "want: domain destination[:port] [auth]"; return -1; }
  if (k > 3 || (k == 3 && (en[2] - st[2] != 4 || memcmp(l + st[2], "auth", 4)))) {
    *why = "trailing text after the destination (only \"auth\" may follow)";
    return -1;
  }
  if (en[0] - st[0] == 1 && l[st[0]] == '*') strcpy(dom, "*");
  else if (domain(l + st[0], en[0] - st[0], dom) < 0) { *why = "malformed domain"; return -1; }
  r->auth = k == 3;
  r->port = 0;
  ts = st[1]; te = en[1];
  for (c = te; c > ts && l[c - 1] != ':'; c--) ;
  if (c > ts) {
    if (port(l + c, te - c, &r->port) < 0) { *why = "port not in 1..65535"; return -1; }
    te = c - 1;
  }
  if (target(l + ts, te - ts, r, w) < 0) { *why = "malformed destination or host name"; return -1; }
  w->port = r->port;
  return 1;
}

int routes_get(char const *text, size_t len, char const *dom, route *r,
               struct i2p_wellknown *w, unsigned int *lineno, char const **why)
{
  static i2p_wellknown scratch, dw;
  static route sr, dr;
  char d[ADDR_MAX];
  size_t p = 0;
  unsigned int n = 0, found = 0, dflt = 0;
  int star = !domain_is_i2p(dom);
  if (len > ROUTES_MAX) { *lineno = 0; *why = "file too long"; return -1; }
  while (p < len) {
    char const *nl = memchr(text + p, '\n', len - p);
    size_t e = nl ? (size_t)(nl - text) : len;
    int x;
    n++;
    x = line(text + p, e - p, d, &sr, &scratch, why);
    if (x < 0) { *lineno = n; return -1; }
    if (x && (!strcmp(d, dom) || !strcmp(d, "*"))) {
      unsigned int *at = strcmp(d, "*") ? &found : &dflt;
      if (*at) { *lineno = n; *why = strcmp(d, "*") ? "domain listed twice" : "\"*\" listed twice"; return -1; }
      *at = n;
      if (at == &found) { *r = sr; if (w) *w = scratch; }
      else { dr = sr; dw = scratch; }
    }
    p = e + 1;
  }
  if (!found && dflt && star) { *r = dr; if (w) *w = dw; found = dflt; r->dflt = 1; }
  else r->dflt = 0;
  r->line = found;
  return found ? 1 : 0;
}

int routes_find(char const *text, size_t len, char const *dom,
                struct i2p_wellknown *w, unsigned int *lineno, char const **why)
{
  static route r;
  int x = routes_get(text, len, dom, &r, w, lineno, why);
  return x > 0 && (r.byname || r.dflt) ? 0 : x;
}

int routes_read(char const *home, char const *dom, route *r, struct i2p_wellknown *w,
                char *err, size_t errmax)
{
  char path[4096], *text;
  size_t len;
  unsigned int ln;
  char const *why;
  int x;
  if (snprintf(path, sizeof path, "%s/routes", home) >= (int)sizeof path) {
    snprintf(err, errmax, "$E2E_HOME is too long");
    return -1;
  }
  if (file_read(path, &text, &len, ROUTES_MAX) < 0) {
    if (errno == ENOENT) return 0;
    snprintf(err, errmax, "unable to read %s: %s", path, strerror(errno));
    return -1;
  }
  x = routes_get(text, len, dom, r, w, &ln, &why);
  free(text);
  if (x < 0) snprintf(err, errmax, "malformed %s line %u: %s", path, ln, why);
  return x;
}
