/* Which domains are local: E2E_DOMAIN, the lines of HOME/domains, and our
 * own b32 address (HOME/b32, written by e2e-keygen). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "e2e.h"

/* 1 when a line of the file (case-insensitively, blanks trimmed) is d. */
static int in_file(char const *path, char const *d)
{
  char *buf, *p;
  size_t len, dl = strlen(d);
  int r = 0;
  if (file_read(path, &buf, &len, 1 << 20) < 0) return errno == ENOENT ? 0 : -1;
  for (p = buf; *p && !r; ) {
    char *nl = strchr(p, '\n'), *e;
    if (!nl) nl = p + strlen(p);
    e = nl;
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    if ((size_t)(e - p) == dl && !strncasecmp(p, d, dl)) r = 1;
    p = *nl ? nl + 1 : nl;
  }
  free(buf);
  return r;
}

int domain_local(char const *home, char const *d)
{
  char path[4096];
  int r;
  char const *ours = env_str("E2E_DOMAIN", 0);
  if (ours && !strcasecmp(ours, d)) return 1;
  if (snprintf(path, sizeof path, "%s/domains", home) >= (int)sizeof path) return -1;
  r = in_file(path, d);
  if (r) return r;
  if (snprintf(path, sizeof path, "%s/b32", home) >= (int)sizeof path) return -1;
  return in_file(path, d);
}
