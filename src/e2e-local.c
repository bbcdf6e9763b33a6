/* e2e-local USER: delivers the message on fd 0 into $E2E_HOME/mail/USER
 * (a Maildir), with Return-Path: and Delivered-To: in front. The file is
 * named after $E2E_DELIVERY when set, so that a delivery repeated after a
 * crash finds the first one and does not deliver twice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char const *PROG = "e2e-local";
#define USAGE "e2e-local USER"

/* A base name that stays one path component and one Maildir name. */
static int base_valid(char const *s)
{
  size_t i, n = strlen(s);
  if (!n || n > 200 || s[0] == '.') return 0;
  for (i = 0; i < n; i++)
    if (s[i] == '/' || s[i] == ':' || s[i] == ',' || (unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
      return 0;
  return 1;
}

int main(int argc, char const *const *argv)
{
  char dir[4096], head[2 * ADDR_MAX + 64], id[48], s1[ADDR_MAX], s2[ADDR_MAX];
  char const *home, *base, *sender, *rcpt;
  struct stat st;
  size_t hlen = 0;
  off_t start;
  int r;
  if (argc != 2) strerr_dieusage(E2E_PERM, USAGE);
  setuid_enter("queue");   /* HOME/libexec/e2e-local: for the runner only */
  home = env_need("E2E_HOME");
  if (!user_valid(argv[1])) strerr_dief2x(E2E_PERM, "invalid user name: ", safe(s1, 65, argv[1], strlen(argv[1])));
  if (snprintf(dir, sizeof dir, "%s/mail/%s", home, argv[1]) >= (int)sizeof dir)
    strerr_dief1x(E2E_PERM, "E2E_HOME is too long");
  base = env_str("E2E_DELIVERY", 0);
  if (base && !base_valid(base)) strerr_dief1x(E2E_PERM, "invalid E2E_DELIVERY");
  if (!base) { unique_id(id); base = id; }

  if (stat(dir, &st) < 0) {
    if (errno == ENOENT) strerr_dief2x(E2E_PERM, "no mailbox for user ", argv[1]);
    strerr_diefu2sys(E2E_TEMP, "stat ", dir);
  }
  if (!S_ISDIR(st.st_mode)) strerr_dief2x(E2E_PERM, "no mailbox for user ", argv[1]);

  /* The envelope's addresses are checked by e2e-queue; safe() keeps a
   * stray control character from ever starting a header of its own. */
  sender = env_str("SENDER", 0);
  rcpt = env_str("RECIPIENT", 0);
  if (sender || getenv("SENDER"))
    hlen += (size_t)snprintf(head + hlen, sizeof head - hlen, "Return-Path: <%s>\n",
                             sender ? safe(s1, sizeof s1, sender, strlen(sender)) : "");
  if (rcpt)
    hlen += (size_t)snprintf(head + hlen, sizeof head - hlen, "Delivered-To: %s\n",
                             safe(s2, sizeof s2, rcpt, strlen(rcpt)));

  start = lseek(0, 0, SEEK_CUR);   /* a file (from e2e-runner) can be read again */
  r = maildir_put(dir, base, head, hlen, 0, 0, 0);
  if (r < 0 && errno == ENOENT && start >= 0 && lseek(0, start, SEEK_SET) == start) {
    /* a Maildir missing tmp/ or new/: repair it */
    if (maildir_make(dir) < 0) strerr_diefu2sys(E2E_TEMP, "create the Maildir ", dir);
    r = maildir_put(dir, base, head, hlen, 0, 0, 0);
  }
  if (r < 0) strerr_diefu2sys(E2E_TEMP, "deliver to ", dir);
  return 0;
}
