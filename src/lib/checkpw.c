/* user_check: asks $E2E_CHECKPW (default e2e-checkpw) whether a password
 * is right, checkpassword style: "name\0password\0" on the checker's fd 3,
 * exit 0 right, 1 wrong, anything else: cannot tell now. The hashing
 * (yescrypt: 16 MiB and tens of ms) happens in that short-lived process,
 * so the session that asked stays small, and only the checker links
 * libcrypt. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "e2e.h"

#define CHECKPW_MAX 1024   /* name, password and their NULs: under PIPE_BUF */

int user_check(char const *home, char const *name, char const *pw)
{
  char buf[CHECKPW_MAX];
  char const *prog = env_str("E2E_CHECKPW", "e2e-checkpw");
  size_t n = strlen(name), m = strlen(pw);
  int p[2], st, r;
  pid_t pid;
  if (n + m + 2 > sizeof buf) return 0;           /* no such password */
  memcpy(buf, name, n + 1);
  memcpy(buf + n + 1, pw, m + 1);
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  r = write_all(p[1], buf, n + m + 2);            /* fits the pipe: no child yet */
  explicit_bzero(buf, sizeof buf);
  close(p[1]);
  if (r < 0) { close(p[0]); return -1; }
  pid = fork();
  if (pid < 0) { close(p[0]); return -1; }
  if (!pid) {
    char const *argv[2] = { prog, 0 };
    signal(SIGPIPE, SIG_DFL);
    if ((p[0] == 3 ? fcntl(3, F_SETFD, 0) : dup2(p[0], 3)) < 0 || setenv("E2E_HOME", home, 1) < 0)
      _exit(E2E_TEMP);
    execvp(prog, (char *const *)argv);
    log2("unable to run the password checker ", prog);
    _exit(E2E_TEMP);
  }
  close(p[0]);
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 1;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 1) return 0;
  return -1;
}
