/* e2e-local USER: delivers the message on fd 0 into $E2E_HOME/mail/USER
 * (a Maildir), with Return-Path: and Delivered-To: in front. The file is
 * named after $E2E_DELIVERY when set, so that a delivery repeated after a
 * crash finds the first one and does not deliver twice.
 * e2e-local -w: the same for every request that comes on fd 0, a socket
 * from e2e-runner (lib/localjob.c): one process for many deliveries,
 * each answered with K, Z or D and a text; the requests waiting are
 * delivered one after the other, then each Maildir's new/ is synced once
 * for them before they are answered. Ends at the end of input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char const *PROG = "e2e-local";
#define USAGE "e2e-local USER | e2e-local -w"

static char const *home;

#define DIRMAX 4096   /* a Maildir's path, with its NUL */
#define WHYMAX 4200   /* a reason, with the path in it */

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

/* One delivery of the message on fd into the Maildir dir (DIRMAX bytes,
 * set here): E2E_OK, E2E_PERM or E2E_TEMP, and why in why. No sender: no
 * Return-Path (an empty one is <>); base 0: a fresh unique name. sync 0:
 * new/ is left for the caller to sync. */
static int deliver(char const *user, char const *sender, char const *rcpt, char const *base, int fd,
                   char *dir, int sync, char *why, size_t wmax)
{
  char head[2 * ADDR_MAX + 64], id[48], s1[ADDR_MAX], s2[ADDR_MAX];
  struct stat st;
  size_t hlen = 0;
  off_t start;
  int r;
  if (!user_valid(user)) {
    snprintf(why, wmax, "invalid user name: %s", safe(s1, 65, user, strlen(user)));
    return E2E_PERM;
  }
  if (snprintf(dir, DIRMAX, "%s/mail/%s", home, user) >= DIRMAX) {
    snprintf(why, wmax, "E2E_HOME is too long");
    return E2E_PERM;
  }
  if (base && !base_valid(base)) { snprintf(why, wmax, "invalid E2E_DELIVERY"); return E2E_PERM; }
  if (!base) { unique_id(id); base = id; }

  r = stat(dir, &st);
  if (r < 0 && errno != ENOENT) {
    snprintf(why, wmax, "unable to stat %s: %s", dir, strerror(errno));
    return E2E_TEMP;
  }
  if (r < 0 || !S_ISDIR(st.st_mode)) { snprintf(why, wmax, "no mailbox for user %s", user); return E2E_PERM; }

  /* The envelope's addresses are checked by e2e-queue; safe() keeps a
   * stray control character from ever starting a header of its own. */
  if (sender)
    hlen += (size_t)snprintf(head + hlen, sizeof head - hlen, "Return-Path: <%s>\n",
                             safe(s1, sizeof s1, sender, strlen(sender)));
  if (rcpt && *rcpt)
    hlen += (size_t)snprintf(head + hlen, sizeof head - hlen, "Delivered-To: %s\n",
                             safe(s2, sizeof s2, rcpt, strlen(rcpt)));

  start = lseek(fd, 0, SEEK_CUR);   /* a file (from e2e-runner) can be read again */
  r = maildir_put(dir, base, head, hlen, fd, 0, 0, sync);
  if (r < 0 && errno == ENOENT && start >= 0 && lseek(fd, start, SEEK_SET) == start) {
    /* a Maildir missing tmp/ or new/: repair it */
    if (maildir_make(dir) < 0) {
      snprintf(why, wmax, "unable to create the Maildir %s: %s", dir, strerror(errno));
      return E2E_TEMP;
    }
    r = maildir_put(dir, base, head, hlen, fd, 0, 0, sync);
  }
  if (r < 0) { snprintf(why, wmax, "unable to deliver to %s: %s", dir, strerror(errno)); return E2E_TEMP; }
  snprintf(why, wmax, "delivered to %s", user);
  return E2E_OK;
}

/* Syncs the new/ of each Maildir that the deliveries cls[0..n) (OK ones)
 * went to, once; a delivery whose new/ cannot be synced is deferred. */
static void sync_new(unsigned int n, int *cls, char dirs[][DIRMAX], char why[][WHYMAX])
{
  char path[DIRMAX + 8];
  unsigned int i, k;
  for (i = 0; i < n; i++) {
    if (cls[i] != E2E_OK) continue;
    for (k = 0; k < i && (cls[k] != E2E_OK || strcmp(dirs[k], dirs[i])); k++) ;
    if (k < i) continue;   /* synced already */
    snprintf(path, sizeof path, "%s/new", dirs[i]);
    if (fsync_dir(path) == 0) continue;
    snprintf(why[i], sizeof why[i], "unable to sync %s: %s", path, strerror(errno));
    for (k = i + 1; k < n; k++)
      if (cls[k] == E2E_OK && !strcmp(dirs[k], dirs[i])) { cls[k] = E2E_TEMP; strcpy(why[k], why[i]); }
    cls[i] = E2E_TEMP;
  }
}

/* Requests from the runner until it closes its end: the first one waited
 * for, then those already waiting (up to LJOB_DEPTH), delivered one after
 * the other; then new/ synced and each answered, in order. */
static int serve(void)
{
  static char dirs[LJOB_DEPTH][DIRMAX], why[LJOB_DEPTH][WHYMAX];
  char req[LJOB_MAX], out[4300];
  char const *f[LJOB_FIELDS];
  int cls[LJOB_DEPTH];
  for (;;) {
    unsigned int n = 0, i;
    int end = 0;
    while (n < LJOB_DEPTH) {
      int fd, r = ljob_recv(0, &fd, req, sizeof req, f, n ? MSG_DONTWAIT : 0);
      if (!r) { end = 1; break; }
      if (r == -1) {
        if (n && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        strerr_diefu1sys(E2E_TEMP, "read a request on fd 0");
      }
      cls[n] = E2E_TEMP;
      if (r == -2) snprintf(why[n], sizeof why[n], "malformed request");
      else {
        cls[n] = deliver(f[0], f[1], f[2], *f[3] ? f[3] : 0, fd, dirs[n], 0, why[n], sizeof why[n]);
        close(fd);
      }
      n++;
    }
    sync_new(n, cls, dirs, why);
    for (i = 0; i < n; i++) {
      size_t k = (size_t)snprintf(out, sizeof out, "%c %s", cls[i] == E2E_OK ? 'K' : cls[i] == E2E_PERM ? 'D' : 'Z', why[i]);
      if (send(0, out, k, MSG_NOSIGNAL) < 0) strerr_diefu1sys(E2E_TEMP, "answer on fd 0");
    }
    if (end) return 0;
  }
}

int main(int argc, char const *const *argv)
{
  char why[WHYMAX], dir[DIRMAX];
  char const *sender;
  int cls;
  if (argc != 2) strerr_dieusage(E2E_PERM, USAGE);
  setuid_enter("queue");   /* HOME/libexec/e2e-local: for the runner only */
  home = env_need("E2E_HOME");
  if (!strcmp(argv[1], "-w")) return serve();
  sender = env_str("SENDER", 0);
  if (!sender && getenv("SENDER")) sender = "";
  cls = deliver(argv[1], sender, env_str("RECIPIENT", 0), env_str("E2E_DELIVERY", 0), 0, dir, 1, why, sizeof why);
  if (cls != E2E_OK) strerr_dief1x(cls, why);
  return 0;
}
