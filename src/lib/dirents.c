/* A directory's entries, read with getdents64 into a buffer of the
 * caller's (on its stack): no heap. opendir's buffer is allocated and
 * freed again at each scan, a mapping made and unmapped in a short-lived
 * program (e2e-queue looking through free/) or at each call of a
 * long-lived one (the runner's todo/). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "e2e.h"

struct dirent64_k { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; };

int dirents_open(dirents *d, char const *path)
{
  d->pos = d->len = 0;
  d->fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return d->fd < 0 ? -1 : 0;
}

char const *dirents_next(dirents *d)
{
  while (d->pos >= d->len) {
    long n = syscall(SYS_getdents64, d->fd, d->buf, sizeof d->buf);
    if (n <= 0) { if (!n) errno = 0; return 0; }
    d->len = (size_t)n; d->pos = 0;
  }
  struct dirent64_k const *de = (void const *)(d->buf + d->pos);
  d->pos += de->reclen;
  return de->name;
}

void dirents_close(dirents *d)
{
  int e = errno;
  if (d->fd >= 0) close(d->fd);
  d->fd = -1;
  errno = e;
}
