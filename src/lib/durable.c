/* Crash-safe files: what is renamed into place was fsynced first, and
 * so is the directory that names it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "e2e.h"

int fsync_dir(char const *dir)
{
  int r, e, fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
    fd = openat(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
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

static int same_file(char const *a, char const *b)
{
  struct stat x, y;
  return !stat(a, &x) && !stat(b, &y) && x.st_ino == y.st_ino && x.st_dev == y.st_dev;
}

/* Not a rename: without a journal nothing orders the writes of two
 * directories, and a sync of src by somebody else could put the old
 * name's removal on disk long before the new name. */
int dir_move(char const *src, char const *dst, dir_move_name *name, dir_move_report *report, void *ctx)
{
  char from[4096], to[4096], dn[300], mine[4096];
  char *names = mine;   /* for each name linked: its kind, the name, \0 */
  size_t len = 0, alloc = sizeof mine, i;
  int n = 0, e;
  char const *de;
  dirents d;
  if (dirents_open(&d, src) < 0) return -1;
  while ((de = dirents_next(&d))) {
    size_t l = strlen(de) + 1;
    if (de[0] == '.' || !name(dn, sizeof dn, de)
        || snprintf(from, sizeof from, "%s/%s", src, de) >= (int)sizeof from
        || snprintf(to, sizeof to, "%s/%s", dst, dn) >= (int)sizeof to) continue;
    char kind = DIR_MOVE_MOVED;
    if (link(from, to) < 0) {
      if (errno == ENOENT) continue;
      if (errno != EEXIST) { report(DIR_MOVE_LINKFAIL, de, ctx); continue; }
      if (!same_file(from, to)) { report(DIR_MOVE_CLASH, de, ctx); continue; }
      kind = DIR_MOVE_BOTH;   /* a crash between link and unlink: only the old name goes */
    }
    while (len + 1 + l > alloc) {   /* past our own buffer: on the heap */
      char *g = names == mine ? malloc(2 * alloc) : grow(names, &alloc, 1, 4096);
      if (!g) goto fail;
      if (names == mine) { memcpy(g, mine, len); alloc *= 2; }
      names = g;
    }
    names[len] = kind;
    memcpy(names + len + 1, de, l);
    len += 1 + l;
  }
  if (errno) goto fail;
  dirents_close(&d);
  if (len && fsync_dir(dst) < 0) goto fail;
  for (i = 0; i < len; i += 2 + strlen(names + i + 1)) {
    char const *nm = names + i + 1;
    if (snprintf(from, sizeof from, "%s/%s", src, nm) < (int)sizeof from && unlink(from) < 0 && errno != ENOENT) {
      report(DIR_MOVE_UNLINKFAIL, nm, ctx);
      continue;
    }
    report(names[i], nm, ctx);
    if (names[i] == DIR_MOVE_MOVED) n++;
  }
  if (names != mine) free(names);
  return n;
fail:
  e = errno;
  dirents_close(&d);
  if (names != mine) free(names);
  errno = e;
  return -1;
}
