/* Mail addresses, strictly: local@domain, a dot-atom local part of a
 * conservative character set and a DNS-style domain. Anything clever —
 * source routes, %-hacks, bang paths, quoted local parts, IP literals —
 * is refused rather than interpreted. */
#include <string.h>
#include "e2e.h"

static int local_char(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
      || c == '.' || c == '-' || c == '_' || c == '+' || c == '=';
}

static int domain_check(char const *d, size_t len)
{
  size_t i, label = 0, labels = 0;
  if (!len || len > ADDR_DOMAINMAX) return ADDR_EDOMAIN;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)d[i];
    if (c == '.') {
      if (!label || d[i - 1] == '-') return ADDR_EDOMAIN;
      label = 0; labels++;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
      return ADDR_EDOMAIN;
    if (c == '-' && !label) return ADDR_EDOMAIN;
    if (++label > 63) return ADDR_EDOMAIN;
  }
  if (!label || d[len - 1] == '-') return ADDR_EDOMAIN;
  return labels ? 0 : ADDR_EDOMAIN;
}

int addr_check(char const *in, size_t len, char *out)
{
  size_t i, at = len;
  int e;
  if (!len || len >= ADDR_MAX) return len ? ADDR_EDOMAIN : ADDR_ESYNTAX;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '%' || c == '!' || c == '"' || c == '[' || c == ']' || c == ':' || c == '\\')
      return ADDR_EROUTE;
    if (c == '@') {
      if (at != len) return ADDR_EROUTE;  /* a second @: a route or a quoted trick */
      at = i;
    }
    else if (c < 33 || c > 126) return ADDR_ESYNTAX;
  }
  if (at == 0) return ADDR_EROUTE;
  if (at == len) return ADDR_ESYNTAX;
  if (at > ADDR_LOCALMAX) return ADDR_ELOCAL;
  for (i = 0; i < at; i++) {
    if (!local_char((unsigned char)in[i])) return ADDR_ESYNTAX;
    if (in[i] == '.' && (i == 0 || i == at - 1 || in[i - 1] == '.')) return ADDR_ESYNTAX;
  }
  e = domain_check(in + at + 1, len - at - 1);
  if (e) return e;
  memcpy(out, in, len);
  out[len] = 0;
  for (i = at + 1; i < len; i++)
    if (out[i] >= 'A' && out[i] <= 'Z') out[i] += 'a' - 'A';
  return 0;
}

char const *addr_reason(int e)
{
  switch (e) {
    case ADDR_ELOCAL: return "local part longer than 64 octets";
    case ADDR_EDOMAIN: return "malformed or overlong domain";
    case ADDR_EROUTE: return "source routes, %, !, quoted local parts and IP literals are not accepted";
    default: return "malformed address";
  }
}

char const *addr_domain(char const *a)
{
  char const *at = strrchr(a, '@');
  return at ? at + 1 : a + strlen(a);
}

void addr_local(char const *a, char *out)
{
  size_t i;
  for (i = 0; a[i] && a[i] != '@' && i < ADDR_LOCALMAX; i++)
    out[i] = (a[i] >= 'A' && a[i] <= 'Z') ? a[i] + ('a' - 'A') : a[i];
  out[i] = 0;
}

int domain_is_i2p(char const *d)
{
  size_t n = strlen(d);
  return n > 4 && !strcmp(d + n - 4, ".i2p");
}
