/* e2e-pop3d's whole conversation: USER/PASS, then STAT, LIST, UIDL, TOP,
 * RETR, DELE, RSET, QUIT over a Maildir made afresh for each input, as the
 * real program runs it on fd 0 (see prog.h for how). User alice, password
 * "secret pass"; her Maildir holds messages with and without S=/W= sizes,
 * dot lines, CRLF and bare LF ends, a header without a body. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bearssl/bearssl_hash.h>
#include <skalibs/strerr.h>
#include "fuzz.h"
#include "prog.h"
#include "e2e.h"

#define FZ_PROG_MAIN pop3d_main
#define FZ_PROG_FILE "../../src/e2e-pop3d.c"
#include "progwrap.h"

static char fz_home[600];

static void fz_put(char const *name, char const *text)
{
  char p[700];
  int fd;
  snprintf(p, sizeof p, "%s/mail/alice/%s", fz_home, name);
  fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0) abort();
}

/* alice's Maildir as it was before the last session. */
static void fz_maildir(void)
{
  static char const *const sub[] = { "new", "cur", "tmp" };
  char p[700];
  unsigned int i;
  for (i = 0; i < 3; i++) {
    DIR *d;
    struct dirent *e;
    snprintf(p, sizeof p, "%s/mail/alice/%s", fz_home, sub[i]);
    mkdir(p, 0700);
    if (!(d = opendir(p))) abort();
    while ((e = readdir(d))) {
      char f[1000];
      if (e->d_name[0] == '.') continue;
      snprintf(f, sizeof f, "%s/%s", p, e->d_name);
      unlink(f);
    }
    closedir(d);
  }
  fz_put("new/1700000001.M1P1.host,S=31,W=33", "Subject: one\n\nbody\n.dot\nend\n");
  fz_put("new/1700000002.M2P2.host", "Subject: two\r\n\r\nno final newline");
  fz_put("cur/1700000000.M0P0.host,S=5,W=999:2,S", "From:");
  fz_put("cur/1700000003.M3P3.host:2,", "Subject: three\n\n.\n..\nline\n");
}

static void fz_mkhome(void)
{
  char p[700];
  snprintf(fz_home, sizeof fz_home, "%s", fz_dir());
  fz_users("secret pass");
  snprintf(p, sizeof p, "%s/mail", fz_home); mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/mail/alice", fz_home); mkdir(p, 0700);
  setenv("E2E_HOME", fz_home, 1);
  setenv("E2E_TIMEOUT", "5", 1);
  setenv("E2E_AUTHFAIL_DELAY", "0", 1);
  if (getenv("E2E_FUZZ_CHECKPW")) setenv("E2E_CHECKPW", getenv("E2E_FUZZ_CHECKPW"), 1);
  setenv("PROTO", "TCP", 1);
  unsetenv("E2E_PEERDIR");
}

/* What the program would leave to the end of its process. */
static void fz_cleanup(void)
{
  uint64_t i;
  for (i = 0; i < nm; i++) free(m[i].name);
  free(m);
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  if (!fz_home[0]) fz_mkhome();
  fz_maildir();
  fz_prog_run(pop3d_main, d, n, fz_cleanup);
  return 0;
}
