/* HOME/users: "name:crypt-hash" lines, read only by the programs that
 * check passwords (submission, POP3). HOME/recipients: the same names,
 * one a line, no hashes, for those that only need to know who exists
 * (the SAM-side e2e-smtpd, the runner). e2e-passwd writes both. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* With user_keep, HOME/recipients (names only, no secrets) is read once
 * and kept: each lookup after the first reads the copy in memory. With
 * user_watch, the copy is used while the file is the one read (device,
 * inode, size, modification time: e2e-passwd renames a new file into
 * place, an editor may write in place): a stat a lookup instead of a
 * read, for a program that runs for days. */
static int keep;                /* 1: for good, 2: while unchanged */
static char *kept;              /* keptbuf, or malloc'd when it did not fit */
static char keptbuf[8192];
static size_t keptlen;
static struct stat keptst;

void user_keep(void) { keep = 1; }
void user_watch(void) { keep = 2; }

static int stat_same(struct stat const *a, struct stat const *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
      && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Calls f for each well-formed line of HOME/file until it returns
 * nonzero: "name:rest" lines (rest: restlen bytes, not terminated), or
 * bare "name" lines when colon is 0. The text is only read, never
 * written to. Returns f's value, 0 at the end, -1 on error (errno; ENOENT
 * included when missing is set, else a missing file is an empty one). */
static int lines_each(char const *home, char const *file, int colon, int missing,
                      int (*f)(char const *name, char const *rest, size_t restlen, void *), void *ctx)
{
  char path[4096], name[USER_MAX + 1], *buf, *p, *end;
  size_t len;
  int r = 0, fit, keepit = keep && !strcmp(file, "recipients");
  if (snprintf(path, sizeof path, "%s/%s", home, file) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
  if (keepit && keep == 2) {   /* the stat before the read: a change after it is seen next time */
    struct stat st;
    int now = stat(path, &st) == 0;
    if (kept && !(now && stat_same(&st, &keptst))) { if (kept != keptbuf) free(kept); kept = 0; }
    if (!now) keepit = 0;
    else keptst = st;
  }
  if (keepit && kept) { buf = kept; len = keptlen; }
  else if (keepit && (fit = file_read_into(path, keptbuf, sizeof keptbuf, &len))) {
    if (fit < 0) return errno == ENOENT && !missing ? 0 : -1;
    kept = buf = keptbuf; keptlen = len;
  }
  else if (file_read(path, &buf, &len, 1 << 22) < 0) return errno == ENOENT && !missing ? 0 : -1;
  else if (keepit) { kept = buf; keptlen = len; }
  for (p = buf, end = buf + len; p < end && !r; ) {
    char *nl = memchr(p, '\n', (size_t)(end - p)), *c;
    if (!nl) nl = end;
    c = colon ? memchr(p, ':', (size_t)(nl - p)) : nl;
    if (c && (size_t)(c - p) <= USER_MAX) {
      memcpy(name, p, (size_t)(c - p));
      name[c - p] = 0;
      if (strlen(name) == (size_t)(c - p) && user_valid(name))   /* no NUL inside */
        r = colon ? f(name, c + 1, (size_t)(nl - c - 1), ctx) : f(name, "", 0, ctx);
    }
    p = nl + 1;
  }
  if (buf == kept) return r;
  if (len) explicit_bzero(buf, len);   /* hashes */
  free(buf);
  return r;
}

struct find { char const *name; char *hash; size_t hmax; };

static int find1(char const *name, char const *hash, size_t n, void *ctx)
{
  struct find *f = ctx;
  if (strcmp(name, f->name)) return 0;
  if (!f->hash) return 1;
  if (n >= f->hmax) n = f->hmax - 1;
  memcpy(f->hash, hash, n);
  f->hash[n] = 0;
  return 1;
}

int user_hash(char const *home, char const *name, char *hash, size_t hmax)
{
  struct find f = { name, hash, hmax };
  if (!user_valid(name)) return 0;
  return lines_each(home, "users", 1, 0, find1, &f);
}

/* recipients first: the accounts that may not read the hashes find every
 * user there. A name missing from it (a line added to users by hand) is
 * looked up in users by those who may read it. */
int user_exists(char const *home, char const *name)
{
  struct find f = { name, 0, 0 };
  int r;
  if (!user_valid(name)) return 0;
  r = lines_each(home, "recipients", 0, 1, find1, &f);
  if (r) {
    if (r > 0 || errno != ENOENT) return r;
    return lines_each(home, "users", 1, 0, find1, &f);
  }
  r = lines_each(home, "users", 1, 0, find1, &f);
  return r < 0 && errno == EACCES ? 0 : r;
}


static int first1(char const *name, char const *rest, size_t n, void *ctx)
{
  (void)rest; (void)n;
  strcpy(ctx, name);
  return 1;
}

int user_postmaster(char const *home, char *out)
{
  char const *pm = env_str("E2E_POSTMASTER", 0);
  int r;
  if (pm) {
    if (!user_valid(pm)) return 0;
    strcpy(out, pm);
    return 1;
  }
  r = lines_each(home, "recipients", 0, 1, first1, out);
  if (r < 0 && errno == ENOENT) r = lines_each(home, "users", 1, 0, first1, out);
  return r;
}
