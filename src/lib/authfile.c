/* HOME/auth: "host user password" lines, the credentials a route's
 * target wants (SMTP AUTH). Private to the account that delivers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "e2e.h"

#define AUTH_FILE_MAX 65536

static int blank(char c) { return c == ' ' || c == '\t'; }

/* The file's text, checked to be private; -1 with err set. */
static int load(char const *path, char **text, size_t *len, char *err, size_t errmax)
{
  struct stat st;
  int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    snprintf(err, errmax, errno == ENOENT ? "no credentials: %s is missing" : "unable to open %s: %s",
             path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) < 0) { snprintf(err, errmax, "unable to stat %s: %s", path, strerror(errno)); return close_fail(fd); }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
    snprintf(err, errmax, "%s must be a file of uid %u with mode 0600 (it is uid %u, mode %04o)",
             path, (unsigned)geteuid(), (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    return close_fail(fd);
  }
  if (read_all(fd, text, len, AUTH_FILE_MAX) < 0) {
    snprintf(err, errmax, "unable to read %s: %s", path, errno == EFBIG ? "too long" : strerror(errno));
    return close_fail(fd);
  }
  close(fd);
  return 0;
}

/* One word of l at *i (blanks skipped) into out (max bytes): 0, -1. */
static int word(char const *l, size_t n, size_t *i, char *out, size_t max, int rest)
{
  size_t s;
  for (; *i < n && blank(l[*i]); (*i)++) ;
  for (s = *i; *i < n && (rest || !blank(l[*i])); (*i)++) ;
  if (*i == s || *i - s >= max) return -1;
  memcpy(out, l + s, *i - s);
  out[*i - s] = 0;
  return 0;
}

int auth_find(char const *home, char const *host, char *user, char *pw, char *err, size_t errmax)
{
  char path[4096], h[ADDR_MAX], *text;
  size_t len, p = 0;
  unsigned int n = 0;
  if (snprintf(path, sizeof path, "%s/auth", home) >= (int)sizeof path) {
    snprintf(err, errmax, "$E2E_HOME is too long");
    return -1;
  }
  if (load(path, &text, &len, err, errmax) < 0) return -1;
  while (p < len) {
    char const *nl = memchr(text + p, '\n', len - p), *l = text + p;
    size_t e = nl ? (size_t)(nl - text) : len, k = 0, ln = e - p;
    n++;
    p = e + 1;
    if (ln && l[ln - 1] == '\r') ln--;
    for (; k < ln && blank(l[k]); k++) ;
    if (k == ln || l[k] == '#') continue;
    if (word(l, ln, &k, h, sizeof h, 0) < 0 || word(l, ln, &k, user, AUTH_USER_MAX + 1, 0) < 0
        || word(l, ln, &k, pw, AUTH_PW_MAX + 1, 1) < 0) {
      snprintf(err, errmax, "malformed %s line %u: want: host user password", path, n);
      free(text);
      return -1;
    }
    if (!strcasecmp(h, host)) { free(text); return 1; }
  }
  free(text);
  snprintf(err, errmax, "no line for %s in %s", host, path);
  return 0;
}

size_t b64_encode(char *out, char const *in, size_t n)
{
  static char const a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned char const *u = (unsigned char const *)in;
  size_t i, o = 0;
  for (i = 0; i + 2 < n; i += 3) {
    out[o++] = a[u[i] >> 2];
    out[o++] = a[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
    out[o++] = a[((u[i + 1] & 15) << 2) | (u[i + 2] >> 6)];
    out[o++] = a[u[i + 2] & 63];
  }
  if (i < n) {
    out[o++] = a[u[i] >> 2];
    out[o++] = a[((u[i] & 3) << 4) | (i + 1 < n ? u[i + 1] >> 4 : 0)];
    out[o++] = i + 1 < n ? a[(u[i + 1] & 15) << 2] : '=';
    out[o++] = '=';
  }
  out[o] = 0;
  return o;
}
