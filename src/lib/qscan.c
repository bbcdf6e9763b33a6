/* Looking at the queue from outside the runner (e2e-qstat): a message
 * still in todo/ (no state yet), and who holds the runner's lock. The
 * state files are read by qmsg_load (queuestore.c), never here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "e2e.h"

#define QHEAD 32768   /* an envelope is shorter (as in queuestore.c) */

int qmsg_load_new(char const *qdir, char const *id, qmsg **out)
{
  char path[4096], head[QHEAD];
  envelope e;
  size_t n = 0;
  qmsg *m;
  int fd;
  if (!qid_valid(id)) { errno = EINVAL; return -1; }
  if (snprintf(path, sizeof path, "%s/" QDIR_TODO "/%s", qdir, id) >= (int)sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  for (;;) {
    ssize_t k = read(fd, head + n, sizeof head - n);
    if (k < 0) { int er = errno; if (er == EINTR) continue; close(fd); errno = er; return -1; }
    if (!k || (n += (size_t)k) == sizeof head) break;
  }
  close(fd);
  if (!(n = envelope_parse(&e, head, n))) return -2;
  if (!(m = calloc(1, sizeof *m))) return -1;
  if (!(m->env = malloc(n)) || !(m->r = calloc(e.n, sizeof *m->r))) { qmsg_free(m); errno = ENOMEM; return -1; }
  memcpy(m->env, head, n);
  strcpy(m->id, id);
  m->elen = n; m->n = e.n; m->hidx = -1;
  m->queued = qid_time(id);
  if (!m->queued) m->queued = (int64_t)time(0);
  *out = m;
  return 1;
}

int qlock_holder(char const *lockpath, pid_t *pid)
{
  struct stat st;
  char line[256];
  FILE *f;
  int found = 0;
  if (stat(lockpath, &st) < 0) return errno == ENOENT ? 0 : -1;
  if (!(f = fopen("/proc/locks", "re"))) return -1;
  while (fgets(line, sizeof line, f)) {
    /* "1: FLOCK  ADVISORY  WRITE 1234 fe:00:10961733 0 EOF"; waiters have "->" */
    char type[16], dev[64];
    long p;
    unsigned int ma, mi;
    unsigned long long ino;
    if (strstr(line, "->")) continue;
    if (sscanf(line, "%*d: %15s %*s %*s %ld %63s", type, &p, dev) != 3 || strcmp(type, "FLOCK")) continue;
    if (sscanf(dev, "%x:%x:%llu", &ma, &mi, &ino) != 3) continue;
    if (ma == major(st.st_dev) && mi == minor(st.st_dev) && ino == (unsigned long long)st.st_ino) {
      *pid = (pid_t)p;
      found = 1;
      break;
    }
  }
  fclose(f);
  return found;
}
