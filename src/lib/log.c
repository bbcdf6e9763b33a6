#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char *safe(char *out, size_t max, char const *s, size_t len)
{
  size_t i;
  if (!max) return out;
  if (len > max - 1) len = max - 1;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = (c < 33 || c > 126) ? '?' : (char)c;
  }
  out[len] = 0;
  return out;
}

void logn(char const *const *v, unsigned int n)
{
  char buf[2048];
  size_t w = 0, k;
  unsigned int i;
  k = strlen(PROG);
  if (k > 200) k = 200;
  memcpy(buf, PROG, k); w = k;
  buf[w++] = ':'; buf[w++] = ' ';
  for (i = 0; i < n; i++) {
    k = strlen(v[i]);
    if (k > sizeof buf - 1 - w) k = sizeof buf - 1 - w;
    memcpy(buf + w, v[i], k);
    w += k;
  }
  buf[w++] = '\n';
  (void)!write(2, buf, w);
}

void log_printable(char *p)
{
  for (; *p; p++) if ((unsigned char)*p < 32 || (unsigned char)*p > 126) *p = '?';
}

void log_fmt(char const *prefix, char const *fmt, ...)
{
  char b[1024];
  va_list a;
  int n = snprintf(b, sizeof b, "%s", prefix);
  if (n < 0 || n >= (int)sizeof b) n = 0;
  va_start(a, fmt);
  vsnprintf(b + n, sizeof b - (size_t)n, fmt, a);
  va_end(a);
  log_printable(b + n);
  log1(b);
}
