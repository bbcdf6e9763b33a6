/* The scratch directory of the harnesses that parse files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzz.h"

static char dir[256];
static pid_t owner;

static void cleanup(void)
{
  char cmd[300];
  if (!dir[0] || getpid() != owner) return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd)) { /* nothing more to do */ }
}

char const *fz_dir(void)
{
  if (!dir[0]) {
    char const *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/e2e-fuzz.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) { perror("fuzz: mkdtemp"); abort(); }
    owner = getpid();
    atexit(cleanup);
  }
  return dir;
}

void fz_file(char const *name, void const *d, size_t n)
{
  char path[512];
  int fd;
  snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || (n && write(fd, d, n) != (ssize_t)n) || close(fd) < 0) { perror(path); abort(); }
}
