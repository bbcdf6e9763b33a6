/* HOME/users: "name:crypt-hash" lines. Passwords are checked with
 * crypt(3) and compared in constant time. */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "e2e.h"

int user_valid(char const *name)
{
  size_t i, n = strlen(name);
  if (!n || n > USER_MAX || name[0] == '.' || name[0] == '-') return 0;
  for (i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* Calls f for each well-formed line until it returns nonzero. */
static int users_each(char const *home, int (*f)(char const *name, char const *hash, void *), void *ctx)
{
  char path[4096], *buf, *p, *end;
  size_t len;
  int r = 0;
  if (snprintf(path, sizeof path, "%s/users", home) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
  if (file_read(path, &buf, &len, 1 << 22) < 0) return errno == ENOENT ? 0 : -1;
  for (p = buf, end = buf + len; p < end && !r; ) {
    char *nl = memchr(p, '\n', (size_t)(end - p)), *colon;
    if (nl) *nl = 0; else nl = end;  /* file_read terminates the buffer */
    colon = strchr(p, ':');
    if (colon) {
      *colon = 0;
      if (user_valid(p)) r = f(p, colon + 1, ctx);
    }
    p = nl + 1;
  }
  free(buf);
  return r;
}

struct find { char const *name; char *hash; size_t hmax; };

static int find1(char const *name, char const *hash, void *ctx)
{
  struct find *f = ctx;
  size_t n;
  if (strcmp(name, f->name)) return 0;
  n = strlen(hash);
  if (n >= f->hmax) n = f->hmax - 1;
  memcpy(f->hash, hash, n);
  f->hash[n] = 0;
  return 1;
}

int user_hash(char const *home, char const *name, char *hash, size_t hmax)
{
  struct find f = { name, hash, hmax };
  if (!user_valid(name)) return 0;
  return users_each(home, find1, &f);
}

int user_check(char const *home, char const *name, char const *pw)
{
  char hash[512];
  struct crypt_data *cd;
  char const *got;
  size_t i, n;
  unsigned char diff = 0;
  int found = user_hash(home, name, hash, sizeof hash);
  if (found < 0) return -1;
  if (!found || hash[0] != '$') {
    /* hash anyway, with the default method, so unknown users take as long */
    if (!crypt_gensalt_rn(0, 0, 0, 0, hash, sizeof hash)) return -1;
    found = 0;
  }
  cd = calloc(1, sizeof *cd);
  if (!cd) return -1;
  got = crypt_r(pw, hash, cd);
  if (!got || got[0] == '*') { free(cd); return 0; }
  n = strlen(hash);
  if (strlen(got) != n) diff = 1;
  else for (i = 0; i < n; i++) diff |= (unsigned char)(got[i] ^ hash[i]);
  explicit_bzero(cd, sizeof *cd);
  free(cd);
  return found && !diff;
}

static int first1(char const *name, char const *hash, void *ctx)
{
  (void)hash;
  strcpy(ctx, name);
  return 1;
}

int user_postmaster(char const *home, char *out)
{
  char const *pm = env_str("E2E_POSTMASTER", 0);
  if (pm) {
    if (!user_valid(pm)) return 0;
    strcpy(out, pm);
    return 1;
  }
  return users_each(home, first1, out);
}
