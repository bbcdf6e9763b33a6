/* e2e-smtpd's whole conversation: the command loop, AUTH PLAIN and LOGIN,
 * MAIL/RCPT paths, DATA reading with dot-unstuffing and the header
 * filter, as the real program runs it on fd 0 (see prog.h for how).
 * First byte 'S': PROTO=SAM (mail from I2P), else PROTO=TCP (submission,
 * user alice, password "secret"). The queue and the verifier are a sink
 * that reads everything and exits 0 ($E2E_FUZZ_SINK, else /bin/true), the
 * password checker a script that knows alice's ($E2E_FUZZ_CHECKPW, else
 * e2e-checkpw on PATH, over the users file made here). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "fuzz.h"
#include "prog.h"
#include "e2e.h"

#define FZ_PROG_MAIN smtpd_main
#define FZ_PROG_FILE "../../src/e2e-smtpd.c"
#include "progwrap.h"

static char fz_home[600];

/* A mail home: users alice and bob (sha512-crypt of the fewest rounds:
 * a strong method, yet fast, for a real e2e-checkpw), domains alice.i2p
 * and other.i2p. Failed logins are not slowed (E2E_AUTHFAIL_DELAY=0). */
static void mkhome(void)
{
  char path[700];
  char const *sink = getenv("E2E_FUZZ_SINK");
  snprintf(fz_home, sizeof fz_home, "%s", fz_dir());
  fz_users("secret");
  fz_file("recipients", "alice\nbob\n", 10);
  fz_file("domains", "alice.i2p\nother.i2p\n", 20);
  snprintf(path, sizeof path, "%s/mail", fz_home);
  mkdir(path, 0700);
  if (!sink || access(sink, X_OK)) sink = "/bin/true";
  setenv("E2E_HOME", fz_home, 1);
  setenv("E2E_DOMAIN", "alice.i2p", 1);
  setenv("E2E_QUEUE", sink, 1);
  setenv("E2E_VERIFY", sink, 1);
  setenv("E2E_TIMEOUT", "5", 1);
  setenv("E2E_AUTHFAIL_DELAY", "0", 1);
  if (getenv("E2E_FUZZ_CHECKPW")) setenv("E2E_CHECKPW", getenv("E2E_FUZZ_CHECKPW"), 1);
  setenv("E2E_MAXSIZE", "4096", 1);
  setenv("TCPREMOTEIP", "127.0.0.1", 1);
  setenv("SAMREMOTEB32", "5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfq.b32.i2p", 1);
  unsetenv("E2E_PEERDIR");
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  if (!n) return 0;
  if (!fz_home[0]) mkhome();
  setenv("PROTO", d[0] == 'S' ? "SAM" : "TCP", 1);
  fz_prog_run(smtpd_main, d + 1, n - 1, 0);
  return 0;
}
