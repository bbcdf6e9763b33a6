/* qmail-queue's envelope: "F" sender "\0", then "T" rcpt "\0" for each
 * recipient, then a final "\0". */
#include <string.h>
#include "e2e.h"

size_t envelope_parse(envelope *e, char const *buf, size_t len)
{
  size_t i = 0;
  char const *z;
  e->n = 0;
  if (!len || buf[0] != 'F') return 0;
  z = memchr(buf, 0, len);
  if (!z) return 0;
  e->sender = buf + 1;
  i = (size_t)(z - buf) + 1;
  for (;;) {
    if (i >= len) return 0;
    if (!buf[i]) return e->n ? i + 1 : 0;
    if (buf[i] != 'T' || e->n == RCPT_MAX) return 0;
    z = memchr(buf + i, 0, len - i);
    if (!z || z == buf + i + 1) return 0;
    e->rcpt[e->n++] = buf + i + 1;
    i = (size_t)(z - buf) + 1;
  }
}

static int add(char *out, size_t max, size_t *w, char tag, char const *s)
{
  size_t n = strlen(s);
  if (*w + n + 2 > max) return 0;
  out[(*w)++] = tag;
  memcpy(out + *w, s, n + 1);
  *w += n + 1;
  return 1;
}

size_t envelope_fmt(envelope const *e, char *out, size_t max)
{
  size_t w = 0;
  unsigned int i;
  if (!e->n || !add(out, max, &w, 'F', e->sender)) return 0;
  for (i = 0; i < e->n; i++)
    if (!*e->rcpt[i] || !add(out, max, &w, 'T', e->rcpt[i])) return 0;
  if (w + 1 > max) return 0;
  out[w++] = 0;
  return w;
}
