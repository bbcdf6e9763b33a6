/* The runner's per-recipient state file (info/ID) and queue ids; the
 * format is in docs/queue.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <skalibs/stralloc.h>
#include "e2e.h"

static char const *const qstate[] = { "todo", "done", "fail", "bounce" };

int qid_valid(char const *id)
{
  size_t i, n = strlen(id);
  if (!n || n > QID_MAX || id[0] == '.') return 0;
  for (i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.'))
      return 0;
  }
  return 1;
}

int64_t qid_time(char const *id)
{
  int64_t t = 0;
  size_t i;
  for (i = 0; id[i] >= '0' && id[i] <= '9' && i < 12; i++) t = t * 10 + (id[i] - '0');
  return id[i] == '.' ? t : 0;
}

/* A number field and the blank after it. */
static int num(char **p, uint64_t *v)
{
  char *e = *p;
  while (*e >= '0' && *e <= '9') e++;
  if (e == *p || e - *p > 18 || (*e != ' ' && *e != '\n' && *e)) return 0;
  {
    char c = *e;
    *e = 0;
    if (!scan_u64(*p, UINT64_MAX, v)) { *e = c; return 0; }
    *e = c;
  }
  *p = *e == ' ' ? e + 1 : e;
  return 1;
}

int qinfo_parse(char *buf, size_t len, unsigned int n, int64_t *queued, int *warned, qrcpt *r)
{
  char *p = buf, *end = buf + len, *nl;
  uint64_t q, w, t, nx;
  unsigned int i, k;
  if (len < 11 || memcmp(buf, "e2e-info 1\n", 11)) return 0;
  p += 11;
  if (strncmp(p, "queued ", 7)) return 0;
  p += 7;
  if (!num(&p, &q) || *p++ != '\n') return 0;
  if (strncmp(p, "warned ", 7)) return 0;
  p += 7;
  if (!num(&p, &w) || w > 1 || *p++ != '\n') return 0;
  for (i = 0; i < n; i++) {
    if (p >= end || strncmp(p, "R ", 2)) goto bad;
    p += 2;
    for (k = 0; k < 4; k++) {
      size_t l = strlen(qstate[k]);
      if (!strncmp(p, qstate[k], l) && p[l] == ' ') { p += l + 1; break; }
    }
    /* next is kept in ms: more seconds than that holds is malformed */
    if (k == 4 || !num(&p, &t) || !num(&p, &nx) || t > 1000000 || nx >= INT64_MAX / 1000) goto bad;
    nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) goto bad;
    r[i].state = (unsigned char)k;
    r[i].busy = 0;
    r[i].tries = (unsigned int)t;
    r[i].next = (int64_t)nx * 1000;
    r[i].err = 0;
    if (nl > p && !(r[i].err = strndup(p, (size_t)(nl - p)))) goto bad;
    p = nl + 1;
  }
  if (p != end) goto bad;
  *queued = (int64_t)q;
  *warned = (int)w;
  return 1;
bad:
  while (i--) { free(r[i].err); r[i].err = 0; }
  return 0;
}

size_t qinfo_fmt(char **out, int64_t queued, int warned, qrcpt const *r, unsigned int n)
{
  stralloc sa = STRALLOC_ZERO;
  char line[96];
  unsigned int i;
  snprintf(line, sizeof line, "e2e-info 1\nqueued %lld\nwarned %d\n", (long long)queued, warned ? 1 : 0);
  if (!stralloc_cats(&sa, line)) goto nomem;
  for (i = 0; i < n; i++) {
    char const *e = r[i].err ? r[i].err : "";
    size_t k, el = strlen(e);
    snprintf(line, sizeof line, "R %s %u %lld ", qstate[r[i].state & 3], r[i].tries,
             (long long)((r[i].next + 999) / 1000));
    if (!stralloc_cats(&sa, line) || !stralloc_readyplus(&sa, el + 1)) goto nomem;
    for (k = 0; k < el; k++) {   /* one line, printable */
      unsigned char c = (unsigned char)e[k];
      sa.s[sa.len++] = (c < 32 || c > 126) ? '?' : (char)c;
    }
    sa.s[sa.len++] = '\n';
  }
  if (!stralloc_0(&sa)) goto nomem;
  *out = sa.s;
  return sa.len - 1;
nomem:
  stralloc_free(&sa);
  return 0;
}

void qstatus(char const *text, char cls, char *out)
{
  char const *p;
  for (p = text; p && *p; p++) {
    char const *q = p + 1;
    size_t a = 0, b = 0;
    if ((*p != '2' && *p != '4' && *p != '5') || *q != '.') continue;
    if (p != text && p[-1] != ' ' && p[-1] != '#' && p[-1] != '(') continue;
    for (q++; *q >= '0' && *q <= '9' && a < 4; q++) a++;
    if (!a || a > 3 || *q != '.') continue;
    for (q++; *q >= '0' && *q <= '9' && b < 4; q++) b++;
    if (!b || b > 3 || (*q >= '0' && *q <= '9')) continue;
    out[0] = cls;
    memcpy(out + 1, p + 1, (size_t)(q - p - 1));
    out[q - p] = 0;
    return;
  }
  out[0] = cls;
  memcpy(out + 1, ".0.0", 5);
}
