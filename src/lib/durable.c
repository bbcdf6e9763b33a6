/* Crash-safe files: what is renamed into place was fsynced first, and
 * so is the directory that names it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "e2e.h"

int fsync_dir(char const *dir)
{
  int r, e, fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  r = fsync(fd);
  e = errno;
  close(fd);
  errno = e;
  return r;
}

int file_replace(char const *path, char const *data, size_t len, mode_t mode)
{
  char tmp[4096], dir[4096];
  char const *slash = strrchr(path, '/');
  size_t dl = slash ? (size_t)(slash - path) : 1;
  int fd, e, tries;
  if (dl >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
  if (slash) memcpy(dir, path, dl); else dir[0] = '.';
  dir[dl] = 0;
  /* a temporary name of our own: concurrent writers of one file never
   * truncate each other's copy */
  if (snprintf(tmp, sizeof tmp, "%s/.t%lu.%s", dir, (unsigned long)getpid(), slash ? slash + 1 : path)
      >= (int)sizeof tmp) {
    errno = ENAMETOOLONG; return -1;
  }
  for (tries = 0;; tries++) {
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) break;
    if (errno != EEXIST || tries) return -1;
    unlink(tmp);   /* left by a crashed process that had our pid */
  }
  if (write_all(fd, data, len) < 0 || fsync(fd) < 0) goto fail;
  if (close(fd) < 0) { fd = -1; goto fail; }
  fd = -1;
  if (rename(tmp, path) < 0) goto fail;
  return fsync_dir(dir);
fail:
  e = errno;
  if (fd >= 0) close(fd);
  unlink(tmp);
  errno = e;
  return -1;
}
