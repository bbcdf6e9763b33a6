/* e2e-passwd HOME USER: sets USER's password from the first line of
 * stdin (a yescrypt hash with a random salt in HOME/users), writes the
 * names of HOME/users into HOME/recipients (no hashes: for the programs
 * that only ask who exists) and creates the user's Maildir. */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <skalibs/strerr.h>
#include "e2e.h"

#define USAGE "e2e-passwd HOME USER"
char const *PROG = "e2e-passwd";

static void die_usage(void) { strerr_dieusage(E2E_PERM, USAGE); }

/* The first line of stdin, without its line end. */
static void read_password(char *pw, size_t max)
{
  size_t n = 0;
  while (n < max - 1) {
    ssize_t r = read(0, pw + n, 1);
    if (r < 0) { if (errno == EINTR) continue; strerr_diefu1sys(E2E_TEMP, "read the password from stdin"); }
    if (!r || pw[n] == '\n') break;
    n++;
  }
  if (n == max - 1) strerr_dief1x(E2E_PERM, "password longer than 1023 octets");
  if (n && pw[n - 1] == '\r') n--;
  pw[n] = 0;
  if (!n) strerr_dief1x(E2E_PERM, "empty password");
}

/* The users file with USER's line replaced or appended. */
static char *users_with(char const *path, char const *user, char const *hash, size_t *len)
{
  char *old = 0, *out, *p;
  size_t oldlen = 0, ul = strlen(user), w = 0;
  if (file_read(path, &old, &oldlen, 1 << 22) < 0 && errno != ENOENT)
    strerr_diefu2sys(E2E_TEMP, "read ", path);
  out = malloc(oldlen + ul + strlen(hash) + 3);
  if (!out) strerr_diefu1sys(E2E_TEMP, "allocate");
  for (p = old; p && *p; ) {
    char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (!(n > ul && p[ul] == ':' && !memcmp(p, user, ul)) && n) {
      memcpy(out + w, p, n); w += n; out[w++] = '\n';
    }
    p += n + (nl ? 1 : 0);
  }
  w += (size_t)sprintf(out + w, "%s:%s\n", user, hash);
  free(old);
  *len = w;
  return out;
}

/* The names of users (its first fields), one a line. */
static char *names_of(char const *users, size_t len, size_t *nlen)
{
  char *out = malloc(len + 1);
  char const *p = users, *end = users + len;
  size_t w = 0;
  if (!out) strerr_diefu1sys(E2E_TEMP, "allocate");
  while (p < end) {
    char const *nl = memchr(p, '\n', (size_t)(end - p)), *c;
    if (!nl) nl = end;
    c = memchr(p, ':', (size_t)(nl - p));
    if (c && c > p) { memcpy(out + w, p, (size_t)(c - p)); w += (size_t)(c - p); out[w++] = '\n'; }
    p = nl + 1;
  }
  *nlen = w;
  return out;
}

/* path gets data with the owner of st and mode. */
static void replace_as(char const *path, char const *data, size_t len, struct stat const *st, mode_t mode)
{
  if (file_replace(path, data, len, mode) < 0) strerr_diefu2sys(E2E_TEMP, "write ", path);
  if ((st->st_uid != (uid_t)-1 || st->st_gid != (gid_t)-1) && chown(path, st->st_uid, st->st_gid) < 0)
    strerr_diefu2sys(E2E_TEMP, "set the owner of ", path);
}

/* dir and its tmp/ new/ cur/ */
static int chown_maildir(char const *dir, uid_t u, gid_t g)
{
  static char const *const sub[] = { "", "/tmp", "/new", "/cur" };
  char p[4096];
  unsigned int i;
  if (u == getuid() && g == getgid()) return 0;
  for (i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", dir, sub[i]);
    if (chown(p, u, g) < 0) return -1;
  }
  return 0;
}

int main(int argc, char const *const *argv)
{
  char pw[1024], salt[CRYPT_GENSALT_OUTPUT_SIZE], path[4096];
  struct crypt_data *cd;
  char const *hash;
  char *users, *names;
  size_t len, nlen;
  struct stat st;
  if (argc != 3) die_usage();
  if (!user_valid(argv[2]))
    strerr_dief2x(E2E_PERM, "invalid user name (use a-z, 0-9, '.', '_', '-'; up to 64): ", argv[2]);
  read_password(pw, sizeof pw);
  if (!crypt_gensalt_rn("$y$", 0, 0, 0, salt, sizeof salt)
   && !crypt_gensalt_rn("$6$", 0, 0, 0, salt, sizeof salt))
    strerr_diefu1sys(E2E_TEMP, "make a salt");
  cd = calloc(1, sizeof *cd);
  if (!cd) strerr_diefu1sys(E2E_TEMP, "allocate");
  hash = crypt_r(pw, salt, cd);
  explicit_bzero(pw, sizeof pw);
  if (!hash || hash[0] == '*') strerr_diefu1sys(E2E_TEMP, "hash the password");
  if (snprintf(path, sizeof path, "%s/users", argv[1]) >= (int)sizeof path) strerr_dief1x(E2E_PERM, "HOME too long");
  users = users_with(path, argv[2], hash, &len);
  /* the new file keeps the old one's owner, group and mode (e2e-setup
   * makes it root:e2e 0640 when it creates service accounts) */
  if (stat(path, &st) < 0) { st.st_uid = (uid_t)-1; st.st_gid = (gid_t)-1; st.st_mode = 0600; }
  replace_as(path, users, len, &st, st.st_mode & 0640);
  /* recipients: readable by all who may read users, and when users is
   * group-readable (e2e-setup's root:e2e-auth 0640), by every account */
  names = names_of(users, len, &nlen);
  explicit_bzero(users, len);
  free(users);
  snprintf(path, sizeof path, "%s/recipients", argv[1]);
  replace_as(path, names, nlen, &st, (st.st_mode & 0600) | (st.st_mode & 0040 ? 0044 : 0));
  free(names);
  explicit_bzero(cd, sizeof *cd);
  free(cd);
  /* the Maildir belongs to whoever owns HOME/mail (the delivery account) */
  snprintf(path, sizeof path, "%s/mail", argv[1]);
  if (stat(path, &st) < 0) strerr_diefu2sys(E2E_TEMP, "stat ", path);
  snprintf(path, sizeof path, "%s/mail/%s", argv[1], argv[2]);
  if (maildir_make(path) < 0) strerr_diefu2sys(E2E_TEMP, "create the Maildir ", path);
  if (chown_maildir(path, st.st_uid, st.st_gid) < 0) strerr_diefu2sys(E2E_TEMP, "set the owner of ", path);
  log3("password set for ", argv[2], ", Maildir ready");
  return 0;
}
