/* e2e-resolve's cache entries: one small text file per host, parsed
 * strictly (a damaged entry is ignored, never half-used), written under
 * a unique temporary name and renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "e2e.h"
#include "i2p.h"

static char const magic[] = "e2e-resolve-cache 1\n";

/* "key VALUE\n" at *p: the value's start and length; *p moves past it. */
static int field(char const **p, char const *end, char const *key, char const **v, size_t *n)
{
  size_t k = strlen(key);
  char const *nl;
  if ((size_t)(end - *p) < k + 1 || memcmp(*p, key, k) || (*p)[k] != ' ') return -1;
  *v = *p + k + 1;
  nl = memchr(*v, '\n', (size_t)(end - *v));
  if (!nl) return -1;
  *n = (size_t)(nl - *v);
  *p = nl + 1;
  return 0;
}

static int secs(char const *s, size_t n, int64_t *out)
{
  int64_t v = 0;
  size_t i;
  if (!n || n > 15 || (s[0] == '0' && n > 1)) return -1;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int cache_parse(cache_entry *c, char const *host, char const *text, size_t len, struct i2p_wellknown *w)
{
  char const *p = text, *end = text + len, *v;
  size_t n, i;
  if (len > CACHE_FILE_MAX || len < sizeof magic - 1 || memcmp(text, magic, sizeof magic - 1)) return -1;
  if (memchr(text, 0, len)) return -1;
  p += sizeof magic - 1;
  if (field(&p, end, "host", &v, &n) < 0 || n != strlen(host) || memcmp(v, host, n)) return -1;
  if (field(&p, end, "fetched", &v, &n) < 0 || secs(v, n, &c->fetched) < 0) return -1;
  if (field(&p, end, "expires", &v, &n) < 0 || secs(v, n, &c->expires) < 0) return -1;
  if (c->expires < c->fetched || c->expires - c->fetched > CACHE_TTL_MAX) return -1;
  if (!field(&p, end, "found", &v, &n)) {
    if (n >= sizeof c->answer || i2p_wellknown_parse(w, v, n)) return -1;
    for (i = 0; i < n; i++) if (v[i] == '\t' || v[i] == '\r' || (v[i] == ' ' && i + 1 < n && v[i + 1] == ' ')) return -1;
    c->found = 1;
  } else if (!field(&p, end, "none", &v, &n)) {
    if (!n || n > 64) return -1;
    for (i = 0; i < n; i++)
      if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-')) return -1;
    c->found = 0;
  } else return -1;
  if (p != end) return -1;
  memcpy(c->answer, v, n);
  c->answer[n] = 0;
  return 0;
}

size_t cache_fmt(char *out, char const *host, cache_entry const *c)
{
  int n = snprintf(out, CACHE_FILE_MAX, "%shost %s\nfetched %lld\nexpires %lld\n%s %s\n", magic, host,
                   (long long)c->fetched, (long long)c->expires, c->found ? "found" : "none", c->answer);
  return n < 0 || n >= CACHE_FILE_MAX ? 0 : (size_t)n;
}

int cache_store(char const *dir, char const *host, char const *text, size_t len)
{
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", dir, host) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
  return file_replace(path, text, len, 0644);
}
