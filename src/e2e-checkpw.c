/* e2e-checkpw [PROG...]: checks a password against $E2E_HOME/users, in
 * the checkpassword manner: "name\0password\0" (and, ignored, a
 * timestamp) on fd 3. Exit 0 right (after running PROG, when given, as
 * checkpassword does), 1 wrong, unknown or locked, 111 cannot tell now.
 * A failure lasts $E2E_AUTHFAIL_DELAY seconds from the start, whatever
 * failed. e2e-smtpd and e2e-pop3d run it for AUTH and PASS. */
#include <crypt.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char const *PROG = "e2e-checkpw";

#define IN_MAX 1024      /* name, password, timestamp and their NULs */

/* 1 for a method libxcrypt calls current (yescrypt, gost-yescrypt,
 * scrypt, bcrypt, sha512crypt); -1 for a legacy one (md5crypt, DES,
 * sha256crypt, ...); 0 for no hash at all ("!", "*", empty: locked). */
static int hash_kind(char const *hash)
{
  if (hash[0] != '$' && strlen(hash) != 13) return 0;
  return crypt_checksalt(hash) == CRYPT_SALT_OK && hash[0] == '$' ? 1 : -1;
}

/* A failed check lasts E2E_AUTHFAIL_DELAY seconds (default 2) from its
 * start, whatever failed: guessing is slow, and an unknown user, a weak
 * hash and a wrong password look the same. */
static void fail_delay(int64_t t0)
{
  int64_t end = t0 + (int64_t)env_uint("E2E_AUTHFAIL_DELAY", 2, 0, 60) * 1000, left;
  while ((left = end - now_ms()) > 0) poll(0, 0, (int)left);
}

static int user_check_hash(char const *home, char const *name, char const *pw)
{
  char hash[512], s[USER_MAX + 1];
  struct crypt_data *cd;
  char const *got;
  size_t i, n;
  unsigned char diff = 0;
  int64_t t0 = now_ms();
  int kind, found = user_hash(home, name, hash, sizeof hash);
  if (found < 0) return -1;
  if (found && (kind = hash_kind(hash)) < 1) {
    if (kind < 0)
      log3("warning: refused a weak password hash for user=", safe(s, sizeof s, name, strlen(name)),
           ": set the password again with e2e-passwd");
    found = 0;
  }
  if (!found) {
    /* hash anyway, with the default method, so unknown users take as long */
    if (!crypt_gensalt_rn(0, 0, 0, 0, hash, sizeof hash)) return -1;
  }
  cd = calloc(1, sizeof *cd);
  if (!cd) return -1;
  got = crypt_r(pw, hash, cd);
  if (!got || got[0] == '*') diff = 1;
  else {
    n = strlen(hash);
    if (strlen(got) != n) diff = 1;
    else for (i = 0; i < n; i++) diff |= (unsigned char)(got[i] ^ hash[i]);
  }
  explicit_bzero(cd, sizeof *cd);
  explicit_bzero(hash, sizeof hash);
  free(cd);
  if (found && !diff) return 1;
  fail_delay(t0);
  return 0;
}

int main(int argc, char const *const *argv)
{
  static char in[IN_MAX + 1];
  char const *home = env_need("E2E_HOME"), *name, *pw;
  size_t n = 0, k;
  int r;
  for (;;) {
    ssize_t got = read(3, in + n, IN_MAX - n);
    if (got < 0) { if (errno == EINTR) continue; strerr_diefu1sys(E2E_TEMP, "read fd 3"); }
    if (!got) break;
    n += (size_t)got;
    if (n == IN_MAX) { explicit_bzero(in, sizeof in); strerr_dief1x(1, "name and password too long"); }
  }
  close(3);
  in[n] = 0;
  name = in;
  k = strlen(name);
  if (k >= n) { explicit_bzero(in, sizeof in); strerr_dief1x(1, "malformed input on fd 3: no password"); }
  pw = in + k + 1;
  r = user_check_hash(home, name, pw);
  explicit_bzero(in, sizeof in);
  if (r < 0) strerr_diefu3sys(E2E_TEMP, "read ", home, "/users");
  if (!r) return 1;
  if (argc > 1) {
    execvp(argv[1], (char *const *)argv + 1);
    strerr_diefu2sys(E2E_TEMP, "run ", argv[1]);
  }
  return 0;
}
