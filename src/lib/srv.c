/* srv.c — service records (I2P proposal 167): the lease set option
 * "_service._proto" whose value is either
 *   0 TTL PORT [APPOPTIONS]                      the destination itself
 * or one or more records separated by commas:
 *   1 TTL PRIORITY WEIGHT PORT TARGET [APPOPTIONS]
 * and the SAM NAMING REPLY that carries such options as OPTION:key=value
 * tokens. Pure parsing: no I/O. */
#include <string.h>
#include <strings.h>
#include "e2e.h"
#include "i2p.h"

/* ---- the NAMING REPLY line ---- */
/* One token of a SAM reply: key and value (value NULL for a bare word),
 * both NUL-terminated in place; *p moves past it. 0 ok, 1 end of line,
 * -1 malformed (an unterminated quote, a quote in mid-token). */
static int token(char **p, char **key, char **value)
{
  char *s = *p, *o;
  while (*s == ' ' || *s == '\t') s++;
  if (!*s) return 1;
  *key = s;
  *value = 0;
  while (*s && *s != ' ' && *s != '\t' && *s != '=') {
    if (*s == '"') return -1;
    s++;
  }
  if (*s != '=') {
    if (*s) *s++ = 0;
    *p = s;
    return 0;
  }
  *s++ = 0;
  *value = o = s;
  if (*s == '"') {                    /* "...", with \" and \\ escapes */
    for (s++;; s++) {
      if (!*s) return -1;
      if (*s == '"') break;
      if (*s == '\\' && s[1]) s++;
      *o++ = *s;
    }
    s++;
    if (*s && *s != ' ' && *s != '\t') return -1;
  } else {
    while (*s && *s != ' ' && *s != '\t') {
      if (*s == '"') return -1;
      *o++ = *s++;
    }
  }
  if (*s) s++;
  *o = 0;
  *p = s;
  return 0;
}

int srv_naming_reply(char *line, char const *option, char const **result, char const **value, char const **opt)
{
  char *p = line, *k, *v;
  unsigned int words = 0;
  int r;
  *result = *value = *opt = 0;
  while ((r = token(&p, &k, &v)) == 0) {
    if (!v) {
      if (words >= 2) return -1;
      if (strcmp(k, words ? "REPLY" : "NAMING")) return -1;
      words++;
      continue;
    }
    if (words < 2) return -1;
    if (!strcasecmp(k, "RESULT")) { if (*result) return -1; *result = v; }
    else if (!strcasecmp(k, "VALUE")) { if (*value) return -1; *value = v; }
    else if (!strncasecmp(k, "OPTION:", 7) && !strcmp(k + 7, option)) { if (*opt) return -1; *opt = v; }
  }
  return r < 0 || words < 2 ? -1 : 0;
}

/* ---- the option value ---- */
#define FIELDS 8

/* A decimal number without sign or leading zeros, at most max. */
static int num(char const *s, uint64_t max, unsigned long *out)
{
  uint64_t v;
  if (s[0] == '0' && s[1]) return 0;
  if (!scan_u64(s, max, &v)) return 0;
  *out = (unsigned long)v;
  return 1;
}

/* A target: a lower-case I2P host name, a b32 address of 52 characters
 * included; at most SRV_TARGET_MAX characters. */
static int target_ok(char const *t)
{
  char a[ADDR_MAX + 2], b[ADDR_MAX + 2];
  size_t n = strlen(t), i;
  if (!n || n > SRV_TARGET_MAX || n + 2 >= sizeof a) return 0;
  for (i = 0; i < n; i++) if (t[i] >= 'A' && t[i] <= 'Z') return 0;
  memcpy(a, "x@", 2);
  memcpy(a + 2, t, n + 1);
  if (addr_check(a, n + 2, b) || !domain_is_i2p(t)) return 0;
  if (n > 8 && !strcmp(t + n - 8, ".b32.i2p") && !i2p_is_b32_domain(t)) return 0;
  return 1;
}

/* APPOPTIONS: printable (or UTF-8) text without blanks or commas. */
static int appopt_ok(char const *s)
{
  for (; *s; s++) if ((unsigned char)*s < 33 || *s == 127 || *s == ',') return 0;
  return 1;
}

/* f[0..n-1] from one "1 TTL PRIO WEIGHT PORT TARGET [APP]" record (t = 1),
 * or "TTL PRIO WEIGHT PORT TARGET [APP]" (t = 0: the proposal's own
 * example writes a second record without its leading 1). */
static int record(char **f, unsigned int n, int t, srv_rec *r)
{
  unsigned long ttl, prio, weight, port;
  unsigned int i = (unsigned int)t;
  if (n < i + 5 || n > i + 6) return 0;
  if (t && strcmp(f[0], "1")) return 0;
  if (!num(f[i], 2147483647, &ttl) || !ttl || !num(f[i + 1], 65535, &prio) || !num(f[i + 2], 65535, &weight)
      || !num(f[i + 3], 65535, &port) || !target_ok(f[i + 4]) || (n == i + 6 && !appopt_ok(f[i + 5]))) return 0;
  r->self = 0;
  r->ttl = (uint32_t)ttl;
  r->priority = (unsigned int)prio;
  r->weight = (unsigned int)weight;
  r->port = (unsigned int)port;
  strcpy(r->target, f[i + 4]);
  return 1;
}

static int self(char **f, unsigned int n, srv_rec *r)
{
  unsigned long ttl, port;
  if (n < 3 || n > 4 || strcmp(f[0], "0")) return 0;
  if (!num(f[1], 2147483647, &ttl) || !ttl || !num(f[2], 65535, &port) || (n == 4 && !appopt_ok(f[3]))) return 0;
  memset(r, 0, sizeof *r);
  r->self = 1;
  r->ttl = (uint32_t)ttl;
  r->port = (unsigned int)port;
  return 1;
}

/* Splits s (one record, in place) on blanks into at most FIELDS fields. */
static unsigned int fields(char *s, char **f)
{
  unsigned int n = 0;
  for (;;) {
    while (*s == ' ') *s++ = 0;
    if (!*s) return n;
    if (n == FIELDS) return FIELDS + 1;
    f[n++] = s;
    while (*s && *s != ' ') s++;
  }
}

int srv_parse(char const *value, srv_rec *r, unsigned int max, unsigned int *count, char const **why)
{
  char buf[SRV_VALUE_MAX + 1], *s, *comma, *f[FIELDS];
  size_t len = strlen(value), i;
  unsigned int n = 0, k;
  *count = 0;
  if (len > SRV_VALUE_MAX) { *why = "record value too long"; return -1; }
  for (i = 0; i < len; i++)
    if ((unsigned char)value[i] < 32 || value[i] == 127) { *why = "control character in the record"; return -1; }
  memcpy(buf, value, len + 1);
  for (s = buf;; s = comma + 1) {
    comma = strchr(s, ',');
    if (comma) *comma = 0;
    k = fields(s, f);
    if (!k) { *why = "empty record"; return -1; }
    if (n == max) { *why = "too many records"; return -1; }
    if (!n && !comma && self(f, k, &r[0])) { *count = 1; return 0; }
    if (k > FIELDS || !(record(f, k, 1, &r[n]) || (n && record(f, k, 0, &r[n])))) {
      *why = !strcmp(f[0], "0") ? "a self record must stand alone: 0 TTL PORT" : "malformed record (want 1 TTL PRIORITY WEIGHT PORT TARGET)";
      return -1;
    }
    n++;
    if (!comma) break;
  }
  *count = n;
  return 0;
}

/* ---- the order to try records in (RFC 2782) ---- */
void srv_order(srv_rec *r, unsigned int n, uint32_t (*rnd)(void))
{
  unsigned int i, j, a, b;
  srv_rec t;
  for (i = 1; i < n; i++)               /* insertion sort by priority, weight 0 first */
    for (j = i; j > 0 && (r[j - 1].priority > r[j].priority
                          || (r[j - 1].priority == r[j].priority && r[j - 1].weight && !r[j].weight)); j--) {
      t = r[j]; r[j] = r[j - 1]; r[j - 1] = t;
    }
  for (a = 0; a < n; a = b) {
    for (b = a; b < n && r[b].priority == r[a].priority; b++) {}
    for (i = a; i + 1 < b; i++) {       /* pick position i by weight among i..b-1 */
      uint64_t total = 0, x, run = 0;
      for (j = i; j < b; j++) total += r[j].weight;
      x = total ? rnd() % (total + 1) : 0;
      for (j = i; j < b; j++) {
        run += r[j].weight;
        if (run >= x) break;
      }
      if (j == b) j = b - 1;
      t = r[j];
      memmove(&r[i + 1], &r[i], (j - i) * sizeof *r);
      r[i] = t;
    }
  }
}
