/* A standalone main for the fuzz harnesses (tests/fuzz.t): runs the
 * harness once on every file named, or on every file of every directory
 * named, each in a child process of its own, and reports the inputs on
 * which it did not return normally. Exit 0 when all did. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned int runs, fails;

static void one(char const *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC), st;
  struct stat sb;
  uint8_t *buf;
  ssize_t got = 0;
  pid_t pid;
  if (fd < 0 || fstat(fd, &sb) < 0) { fprintf(stderr, "driver: %s: %s\n", path, strerror(errno)); fails++; return; }
  buf = malloc((size_t)sb.st_size + 1);
  if (!buf || (sb.st_size && (got = read(fd, buf, (size_t)sb.st_size)) != sb.st_size)) {
    fprintf(stderr, "driver: unable to read %s\n", path); fails++; close(fd); free(buf); return;
  }
  close(fd);
  runs++;
  fflush(0);
  pid = fork();
  if (!pid) {
    /* an exact-size copy, so a read past its end is caught */
    uint8_t *in = malloc(got ? (size_t)got : 1);
    if (got) memcpy(in, buf, (size_t)got);
    LLVMFuzzerTestOneInput(in, (size_t)got);
    free(in);
    exit(0);   /* atexit: the scratch directory goes */
  }
  if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
    fprintf(stderr, "driver: FAILED on %s (%s %d)\n", path,
            pid > 0 && WIFSIGNALED(st) ? "signal" : "exit", pid > 0 && WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    fails++;
  }
  free(buf);
}

static void walk(char const *path)
{
  struct stat sb;
  DIR *d;
  struct dirent *de;
  if (stat(path, &sb) < 0) return;          /* an absent directory: nothing to run */
  if (!S_ISDIR(sb.st_mode)) { one(path); return; }
  if (!(d = opendir(path))) { fails++; return; }
  while ((de = readdir(d))) {
    char p[4096];
    if (de->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s", path, de->d_name);
    walk(p);
  }
  closedir(d);
}

int main(int argc, char **argv)
{
  int i;
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  for (i = 1; i < argc; i++) walk(argv[i]);
  printf("driver: %u inputs, %u failed\n", runs, fails);
  return fails ? 1 : 0;
}
