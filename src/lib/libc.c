/* What one of the two C libraries lacks.  The programs are linked
 * against musl (Makefile: LIBC), whose 1.2.3 in Debian has no wrappers
 * for renameat2 and close_range: both go through syscall() here, the
 * same with glibc.  Debian's libbearssl.a was compiled with
 * _FORTIFY_SOURCE, so its objects call glibc's checked memcpy, memmove
 * and memset, which musl does not have: they are defined here for musl
 * builds only, and abort on an overflow as glibc's do. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "e2e.h"

#define RENAME_NOREPLACE_FLAG 1   /* linux/fs.h's RENAME_NOREPLACE */

/* A file system or kernel without RENAME_NOREPLACE (EINVAL, ENOSYS):
 * link, then unlink, which never overwrites either (for files only). */
int rename_noreplace(char const *from, char const *to)
{
  if (!syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE_FLAG)) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  if (link(from, to) < 0) return -1;
  unlink(from);
  return 0;
}

void close_from(int fd)
{
  struct rlimit r;
  rlim_t i, max = 65536;
  if (!syscall(SYS_close_range, (unsigned int)fd, ~0U, 0U)) return;
  /* a kernel before 5.9, or a seccomp filter that refuses the call */
  if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < max) max = r.rlim_cur;
  for (i = (rlim_t)fd; i < max; i++) close((int)i);
}

#ifndef __GLIBC__
void *__memcpy_chk(void *to, void const *from, size_t n, size_t room);
void *__memmove_chk(void *to, void const *from, size_t n, size_t room);
void *__memset_chk(void *to, int c, size_t n, size_t room);

void *__memcpy_chk(void *to, void const *from, size_t n, size_t room)
{
  if (n > room) abort();
  return memcpy(to, from, n);
}

void *__memmove_chk(void *to, void const *from, size_t n, size_t room)
{
  if (n > room) abort();
  return memmove(to, from, n);
}

void *__memset_chk(void *to, int c, size_t n, size_t room)
{
  if (n > room) abort();
  return memset(to, c, n);
}
#endif
