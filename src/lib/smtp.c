/* Pieces of an SMTP server's parsing: reverse- and forward-paths with their
 * parameters, standard base64 and SASL PLAIN (RFC 4616). */
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include "e2e.h"
#include "i2p.h"

int smtp_path(char *s, char *a, char **rest, char const *pmdomain)
{
  char *e;
  while (*s == ' ') s++;
  if (*s++ != '<' || !(e = strchr(s, '>')) || memchr(s, '<', (size_t)(e - s))) return -1;
  *rest = e + 1;
  if (**rest && **rest != ' ') return -1;
  if (e == s) { *a = 0; return 0; }
  if (pmdomain && e - s == 10 && !strncasecmp(s, "postmaster", 10)) {
    if (strlen(pmdomain) > ADDR_DOMAINMAX || 11 + strlen(pmdomain) >= ADDR_MAX) return ADDR_EDOMAIN;
    memcpy(a, "postmaster@", 11);
    strcpy(a + 11, pmdomain);
    return 0;
  }
  return addr_check(s, (size_t)(e - s), a);
}

char *smtp_param(char **p)
{
  char *s = *p, *e;
  while (*s == ' ') s++;
  if (!*s) return 0;
  e = strchr(s, ' ');
  if (e) *e++ = 0; else e = s + strlen(s);
  *p = e;
  return s;
}

int b64_decode(char *s)
{
  size_t n = strlen(s), w;
  if (n % 4 || std_b64_decode((unsigned char *)s, n, &w, s, n)) return -1;
  s[w] = 0;
  return (int)w;
}

int sasl_plain(char *s, char **user, char **pw)
{
  int n = strcmp(s, "=") ? b64_decode(s) : 0;
  char *u, *p;
  if (n < 0) return -1;
  u = memchr(s, 0, (size_t)n);
  p = u ? memchr(u + 1, 0, (size_t)(s + n - u - 1)) : 0;
  if (!p) return -1;
  *u++ = 0; *p++ = 0;
  if (!*u || memchr(p, 0, (size_t)(s + n - p))) return -1;
  *user = u; *pw = p;
  return (*s && strcmp(s, u)) ? 1 : 0;
}
