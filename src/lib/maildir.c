/* Maildir delivery: write tmp/, fsync, move into new/ (never over a file
 * there: rename_noreplace), fsync new/ (or leave that to the caller, who
 * syncs it once for several).
 * Names carry the exact size (S=) and the size with CRLF line ends (W=),
 * so POP3 can list without reading. A base name derived from the queue
 * id and the recipient makes a repeated delivery a no-op. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "e2e.h"

void unique_id(char *out)
{
  static unsigned int count;
  struct timeval tv;
  gettimeofday(&tv, 0);
  if (count++)
    snprintf(out, 48, "%lld.M%06ldP%ldC%u", (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), count);
  else
    snprintf(out, 48, "%lld.M%06ldP%ld", (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid());
}

int maildir_make(char const *dir)
{
  static char const *const sub[] = { "", "/tmp", "/new", "/cur" };
  char path[4096];
  unsigned int i;
  for (i = 0; i < 4; i++) {
    if (snprintf(path, sizeof path, "%s%s", dir, sub[i]) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
    if (mkdir(path, 0700) < 0 && errno != EEXIST) return -1;
  }
  return 0;
}

static size_t count_lf(char const *s, size_t n)
{
  size_t k = 0;
  char const *p;
  while ((p = memchr(s, '\n', n))) { k++; n -= (size_t)(p - s) + 1; s = p + 1; }
  return k;
}

static int put(int out, char const *s, size_t n, uint64_t *size, uint64_t *lfs)
{
  *size += n;
  *lfs += count_lf(s, n);
  return write_all(out, s, n);
}

static int exists(char const *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

/* tmp/BASE, opened for writing, locked and empty. Two deliveries of one
 * message to one recipient may overlap (a runner killed while e2e-local
 * runs: the orphan goes on while the next runner repeats the delivery);
 * the second waits for the first's lock, so that they never write into
 * one file at once. A file that the first has meanwhile moved into new/
 * is not ours any more: open the name afresh. */
static int open_tmp(char const *tmp)
{
  struct stat a, b;
  int fd;
  for (;;) {
    fd = openat(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    if (flock(fd, LOCK_EX) < 0 || fstat(fd, &a) < 0) goto fail;
    if (stat(tmp, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) break;
    close(fd);
  }
  if (ftruncate(fd, 0) < 0) goto fail;
  return fd;
fail:
  return close_fail(fd);
}

int maildir_put(char const *dir, char const *base, char const *head, size_t hlen,
                int fd, char const *body, size_t blen, int sync)
{
  char tmp[4096], name[512], path[4096];
  uint64_t size = 0, lfs = 0;
  int out, e;
  if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, base) >= (int)sizeof tmp) { errno = ENAMETOOLONG; return -1; }
  if ((out = open_tmp(tmp)) < 0) return -1;
  if (put(out, head, hlen, &size, &lfs) < 0) goto fail;
  if (body && put(out, body, blen, &size, &lfs) < 0) goto fail;
  if (fd >= 0) {
    char buf[65536];
    for (;;) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r < 0) { if (errno == EINTR) continue; goto fail; }
      if (!r) break;
      if (put(out, buf, (size_t)r, &size, &lfs) < 0) goto fail;
    }
  }
  if (fsync(out) < 0) goto fail;
  if (close(out) < 0) { out = -1; goto fail; }
  out = -1;
  snprintf(name, sizeof name, "%s,S=%llu,W=%llu", base, (unsigned long long)size,
           (unsigned long long)(size + lfs));
  /* delivered before, and already seen by a reader that moved it to cur/? */
  snprintf(path, sizeof path, "%s/cur/%s:2,", dir, name);
  if (exists(path)) goto already;
  snprintf(path, sizeof path, "%s/cur/%s:2,S", dir, name);
  if (exists(path)) goto already;
  if (snprintf(path, sizeof path, "%s/new/%s", dir, name) >= (int)sizeof path) { errno = ENAMETOOLONG; goto fail; }
  if (rename_noreplace(tmp, path) < 0) {
    if (errno == EEXIST) goto already;
    goto fail;
  }
  if (!sync) return 0;
  snprintf(path, sizeof path, "%s/new", dir);
  return fsync_dir(path);
already:   /* by a delivery that may have ended before its sync of new/ */
  unlink(tmp);
  snprintf(path, sizeof path, "%s/new", dir);
  return sync && fsync_dir(path) < 0 ? -1 : 1;
fail:
  e = errno;
  if (out >= 0) close(out);
  unlink(tmp);
  errno = e;
  return -1;
}
