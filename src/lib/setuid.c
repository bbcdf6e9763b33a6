/* The setuid copies in HOME/libexec (e2e-setup's, qmail-queue style). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <signal.h>
#include <skalibs/strerr.h>
#include "e2e.h"

/* The home of the copy we run as: HOME/libexec/PROG, where root put it.
 * /proc/self/exe is the file the kernel ran, whatever the caller says:
 * a copy cannot be linked elsewhere by anyone but root (it is not the
 * caller's, and protected_hardlinks refuses the link), and libexec/ is
 * root's. */
static void exe_home(char *home, size_t max)
{
  char *slash;
  ssize_t n = readlink("/proc/self/exe", home, max - 1);
  if (n < 0) strerr_diefu1sys(E2E_TEMP, "read /proc/self/exe");
  if ((size_t)n >= max - 1) strerr_dief1x(E2E_PERM, "setuid: the program's path is too long");
  home[n] = 0;
  slash = strrchr(home, '/');
  if (slash) *slash = 0;
  slash = strrchr(home, '/');
  if (!slash || strcmp(slash, "/libexec"))
    strerr_dief1x(E2E_PERM, "setuid, but not in a mail home's libexec/: refusing to run");
  *slash = 0;
  if (!*home) strerr_dief1x(E2E_PERM, "setuid in /libexec: refusing to run");
}

/* root may run the copies too: it could do what they do anyway. */
void setuid_enter(char const *caller_owns)
{
  static char home[4096];
  char path[4096 + 64];
  uid_t r = getuid(), e = geteuid();
  struct stat st;
  if (r == e) return;
  exe_home(home, sizeof home);
  if (caller_owns) {
    snprintf(path, sizeof path, "%s/%s", home, caller_owns);
    if (stat(path, &st) < 0) strerr_diefu2sys(E2E_TEMP, "stat ", path);
    if (st.st_uid != r && r != 0) strerr_dief3x(E2E_PERM, "setuid: only the owner of ", path, " may run this");
  }
  if (setreuid(e, e) < 0 || getuid() != e || geteuid() != e)
    strerr_diefu1sys(E2E_TEMP, "give up the caller's user id");
  /* The kernel clears the parent-death signal the runner set (qspawn)
   * when it runs a setuid program: set it again, so that a killed runner
   * takes this delivery with it; and end if it is gone already. */
  {
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) strerr_diefu1sys(E2E_TEMP, "set the parent-death signal");
    if (getppid() != parent || parent == 1) strerr_dief1x(E2E_TEMP, "the caller is gone");
  }
  if (setenv("E2E_HOME", home, 1) < 0) strerr_diefu1sys(E2E_TEMP, "set E2E_HOME");
}
