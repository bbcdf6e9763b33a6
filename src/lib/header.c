/* RFC 5322 header fields: names, unfolding, dates (obsolete forms too),
 * and msg-id domains. Nothing allocates; the parsers are strict and
 * report failure rather than guess. */
#include <string.h>
#include <strings.h>
#include <time.h>
#include "e2e.h"

size_t hdr_field(char const *s, size_t n, size_t *colon)
{
  size_t i = 0, k;
  while (i < n && (unsigned char)s[i] >= 33 && (unsigned char)s[i] <= 126 && s[i] != ':') i++;
  if (!i) return 0;
  for (k = i; k < n && (s[k] == ' ' || s[k] == '\t'); k++) ;
  if (k >= n || s[k] != ':') return 0;
  *colon = k;
  return i;
}

size_t hdr_field_end(char const *s, size_t n, size_t p)
{
  size_t e = p;
  do {
    char const *nl = memchr(s + e, '\n', n - e);
    e = nl ? (size_t)(nl - s) + 1 : n;
  } while (e < n && (s[e] == ' ' || s[e] == '\t'));
  return e;
}

int hdr_is(char const *s, size_t len, char const *name)
{
  return strlen(name) == len && !strncasecmp(s, name, len);
}

size_t hdr_unfold(char *out, size_t max, char const *s, size_t n)
{
  size_t i, w = 0;
  if (!max) return 0;
  for (i = 0; i < n && w < max - 1; i++) {
    if (s[i] == '\r' || s[i] == '\n') continue;
    out[w++] = s[i] ? s[i] : ' ';
  }
  out[w] = 0;
  return w;
}

/* Skips blanks and (nested, quoted-pair) comments. -1 on an open comment. */
static int cfws(char const **p)
{
  char const *s = *p;
  for (;;) {
    int depth = 0;
    while (*s == ' ' || *s == '\t') s++;
    if (*s != '(') break;
    do {
      if (*s == '(') depth++;
      else if (*s == ')') depth--;
      else if (*s == '\\' && s[1]) s++;
      else if (!*s) return -1;
      s++;
    } while (depth);
  }
  *p = s;
  return 0;
}

/* 1..max decimal digits into *v; returns the count (0: none or too many). */
static int digits(char const **p, int max, long *v)
{
  char const *s = *p;
  int k = 0;
  long x = 0;
  while (*s >= '0' && *s <= '9') { if (++k > max) return 0; x = x * 10 + (*s++ - '0'); }
  if (k) { *p = s; *v = x; }
  return k;
}

/* A word of letters (at most 15) into w, lower-cased; its length. */
static size_t alpha(char const **p, char *w)
{
  char const *s = *p;
  size_t k = 0;
  while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
    if (k >= 15) return 0;
    w[k++] = (char)(*s++ | 0x20);
  }
  w[k] = 0;
  *p = s;
  return k;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  int64_t era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int mdays(long y, int m)
{
  static int const d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d[m] + (m == 1 && leap);
}

/* An obsolete zone name as minutes east of UTC; -1 when unknown. */
static int zone_name(char const *w, long *off)
{
  static struct { char const *n; int h; } const z[] = {
    { "ut", 0 }, { "gmt", 0 }, { "est", -5 }, { "edt", -4 }, { "cst", -6 }, { "cdt", -5 },
    { "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 },
  };
  unsigned i;
  for (i = 0; i < sizeof z / sizeof *z; i++) if (!strcmp(w, z[i].n)) { *off = z[i].h * 60; return 0; }
  /* military zones: their signs were published the wrong way round, so
   * RFC 5322 says to take them (and anything unknown) as -0000 */
  if (w[0] && !w[1] && w[0] != 'j') { *off = 0; return 0; }
  return -1;
}

int hdr_date_parse(char const *s, int64_t *t)
{
  static char const months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
  static char const days[] = "sunmontuewedthufrisat";
  char w[16];
  char const *m;
  long day, year, hh, mm, ss = 0, off, zh;
  int ny, sign;
  if (cfws(&s) < 0) return -1;
  if (alpha(&s, w)) {                           /* [day-of-week ","] */
    if (strlen(w) != 3 || !(m = strstr(days, w)) || (m - days) % 3) return -1;
    if (cfws(&s) < 0) return -1;
    if (*s == ',') s++;
    if (cfws(&s) < 0) return -1;
  }
  if (!digits(&s, 2, &day) || cfws(&s) < 0) return -1;
  if (alpha(&s, w) != 3 || !(m = strstr(months, w)) || (m - months) % 3) return -1;
  if (cfws(&s) < 0) return -1;
  ny = digits(&s, 9, &year);
  if (!ny || cfws(&s) < 0) return -1;
  if (ny == 2) year += year < 50 ? 2000 : 1900;
  else if (ny == 3) year += 1900;
  if (year < 1900 || year > 999999) return -1;
  if (!digits(&s, 2, &hh) || cfws(&s) < 0 || *s++ != ':' || cfws(&s) < 0) return -1;
  if (!digits(&s, 2, &mm) || cfws(&s) < 0) return -1;
  if (*s == ':') {
    s++;
    if (cfws(&s) < 0 || !digits(&s, 2, &ss) || cfws(&s) < 0) return -1;
  }
  if (*s == '+' || *s == '-') {
    sign = *s++ == '-' ? -1 : 1;
    if (digits(&s, 4, &zh) != 4 || zh % 100 > 59) return -1;
    off = sign * ((zh / 100) * 60 + zh % 100);
  }
  else if (!alpha(&s, w) || zone_name(w, &off) < 0) return -1;
  if (cfws(&s) < 0 || *s) return -1;
  if (day < 1 || day > mdays(year, (int)((m - months) / 3)) || hh > 23 || mm > 59 || ss > 60) return -1;
  if (ss == 60) ss = 59;   /* a leap second: the time formatting knows none */
  *t = days_from_civil(year, (unsigned)((m - months) / 3 + 1), (unsigned)day) * 86400
       + hh * 3600 + mm * 60 + ss - off * 60;
  return 0;
}

void hdr_date_fmt(char *out, int64_t t)
{
  struct tm tm;
  time_t tt = (time_t)t;
  if (!gmtime_r(&tt, &tm)) { tt = 0; gmtime_r(&tt, &tm); }
  strftime(out, HDR_DATE_MAX, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

int hdr_msgid_domain(char const *s, char const **dom, size_t *len)
{
  char const *left, *at = 0;
  if (cfws(&s) < 0 || *s++ != '<') return -1;
  for (left = s; *s && *s != '>'; s++) {
    if (*s == '@') at = s;
    else if ((unsigned char)*s <= 32 || (unsigned char)*s >= 127 || *s == '<') return -1;
  }
  if (*s != '>' || !at || at == left || at + 1 == s) return -1;
  *dom = at + 1;
  *len = (size_t)(s - *dom);
  s++;
  return cfws(&s) < 0 || *s ? -1 : 0;
}
