/* e2e-queue: puts one message into the queue, qmail-queue style.
 * The message comes on fd 0 (read to EOF), then the envelope on fd 1
 * (Fsender\0Trcpt\0...\0, read to EOF). Exit 0 only once the queue file
 * and the directory entry naming it are on disk; then the runner is
 * woken through the trigger FIFO. See docs/queue.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char const *PROG = "e2e-queue";

#define MSGBUF 65536     /* a message this small is written in one go */
#define ENVMAX 32768     /* a valid envelope is at most about 26 KiB */

static char const *home;
#define QPATH 3072  /* room left for a file name in 4096 */
static char qtmp[QPATH], qtodo[QPATH], tmpname[4096];
static char msg[MSGBUF], env[ENVMAX + 1], norm[ENVMAX];
static int named = 0;    /* the fallback: a named tmp/ID to remove on failure */
static off_t reused;     /* the old length of a recycled file, written over */

static void cleanup(void) { if (named) unlink(tmpname); }
/* A full disk or quota exits 53 (qmail-queue's "write error or disk
 * full": e2e-smtpd answers 452); any other failure 111. */
static void die_temp(char const *what)
{
  int e = errno;
  cleanup();
  errno = e;
  strerr_diefu1sys(e == ENOSPC || e == EDQUOT ? E2E_NOSPACE : E2E_TEMP, what);
}
static void die_env(char const *why)
{
  cleanup();
  strerr_dief2x(E2E_PERM, "malformed envelope: ", why);
}

static void qpath(char *out, char const *sub)
{
  if (snprintf(out, QPATH, "%s/queue/%s", home, sub) >= QPATH)
    strerr_dief1x(E2E_PERM, "E2E_HOME is too long");
}

/* Creates queue/tmp and queue/todo when a new queue lacks them. */
static void make_dirs(void)
{
  char q[QPATH];
  qpath(q, "");
  if ((mkdir(qtmp, 0700) < 0 && errno != EEXIST) || (mkdir(qtodo, 0700) < 0 && errno != EEXIST)
      || fsync_dir(q) < 0)
    die_temp("create queue directories");
}

/* free/K, if it is there and ours (claim, below): the open file (its old
 * content is written over and cut off in main); -1 if not, -2 on another
 * error than its absence. */
static int take(char const *dir, unsigned int k)
{
  struct stat a, b;
  int fd;
  snprintf(tmpname, sizeof tmpname, "%s/%u", dir, k);
  fd = openat(AT_FDCWD, tmpname, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? -1 : -2;
  if (!flock(fd, LOCK_EX | LOCK_NB) && !fstat(fd, &a) && !stat(tmpname, &b) && a.st_ino == b.st_ino
      && a.st_dev == b.st_dev && S_ISREG(a.st_mode) && a.st_nlink == 1) {
    named = 1;
    reused = a.st_size;
    return fd;
  }
  close(fd);
  return -1;
}

#define QFREE_TRIES 4   /* slots tried by name before free/ is read */

/* A finished queue file the runner left for reuse (free/N): a file
 * instead of a fresh inode, which ext4 finds only past every inode freed
 * in the last minutes (without a journal, as here, it skips those). It
 * stays free/N while we write it, ours by an flock (a kill leaves it
 * there for the next one, nothing in tmp/), and is ours only while
 * free/N still names it and nothing else does: after a power cut a
 * free/N whose removal was lost can name a file that went on to be
 * queued; that one is left alone. -1: none to take. */
static int claim(void)
{
  char dir[QPATH];
  unsigned char have[QFREE_SLOTS] = { 0 };
  unsigned int i, start = (unsigned int)getpid() % QFREE_SLOTS;
  char const *e;
  dirents d;
  int fd;
  snprintf(dir, sizeof dir, "%s/queue/" QDIR_FREE, home);
  /* from a slot of our own, so that writers spread out: the first few by
   * name (a pool that is not drained has them), then one read of free/
   * for the rest, not an open per slot */
  for (i = 0; i < QFREE_TRIES; i++)
    if ((fd = take(dir, (start + i) % QFREE_SLOTS)) != -1) return fd < 0 ? -1 : fd;
  if (dirents_open(&d, dir) < 0) return -1;
  while ((e = dirents_next(&d))) {
    uint64_t k;
    if (e[0] != '.' && scan_u64(e, QFREE_SLOTS - 1, &k)) have[k] = 1;
  }
  dirents_close(&d);
  for (i = QFREE_TRIES; i < QFREE_SLOTS; i++) {
    unsigned int k = (start + i) % QFREE_SLOTS;
    if (have[k] && (fd = take(dir, k)) != -1) return fd < 0 ? -1 : fd;
  }
  return -1;
}

/* A file nobody else takes: a recycled one (claim), or one in queue/tmp
 * that nobody can see, O_TMPFILE where the file system has it, else a
 * named tmp/ID (removed on failure; the spill file of a large message is
 * unlinked at once). */
static int open_tmp(int final)
{
  char id[48];
  int fd = final ? claim() : -1;
  if (fd >= 0) return fd;
  fd = openat(AT_FDCWD, qtmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENOENT) { make_dirs(); fd = openat(AT_FDCWD, qtmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600); }
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
  unique_id(id);
  snprintf(tmpname, sizeof tmpname, "%s/%s", qtmp, id);
  fd = openat(AT_FDCWD, tmpname, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (final) named = 1; else unlink(tmpname);
  return fd;
}

/* Reads into buf until it is full or EOF; returns the bytes read. */
static size_t fill(int fd, char *buf, size_t max, char const *what)
{
  size_t n = 0;
  while (n < max) {
    ssize_t r = read(fd, buf + n, max - n);
    if (r < 0) { if (errno == EINTR) continue; die_temp(what); }
    if (!r) break;
    n += (size_t)r;
  }
  return n;
}

/* The rest of a large message, appended to a hidden file. */
static void spill(int out)
{
  if (write_all(out, msg, MSGBUF) < 0) die_temp("write message");
  for (;;) {
    size_t n = fill(0, msg, MSGBUF, "read message");
    if (n && write_all(out, msg, n) < 0) die_temp("write message");
    if (n < MSGBUF) return;
  }
}

/* Copies the spilled message behind the envelope. */
static void copy_in(int out, int in)
{
  loff_t off = 0;
  for (;;) {
    ssize_t r = copy_file_range(in, &off, out, 0, 1 << 30, 0);
    if (r > 0) continue;
    if (!r) return;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) die_temp("copy message");
    break;
  }
  if (lseek(in, off, SEEK_SET) < 0) die_temp("seek message");
  for (;;) {
    size_t n = fill(in, msg, MSGBUF, "read message");
    if (n && write_all(out, msg, n) < 0) die_temp("write queue file");
    if (n < MSGBUF) return;
  }
}

/* Checks every address; the envelope is stored with domains in lower case. */
static size_t check_envelope(size_t len)
{
  static char addr[RCPT_MAX + 1][ADDR_MAX];
  envelope e;
  unsigned int i;
  int r;
  size_t n;
  if (len > ENVMAX) die_env("too long");
  if (!len) die_env("empty");
  if (envelope_parse(&e, env, len) != len) die_env("bad structure or more than 100 recipients");
  if (*e.sender) {
    if ((r = addr_check(e.sender, strlen(e.sender), addr[RCPT_MAX]))) die_env(addr_reason(r));
    e.sender = addr[RCPT_MAX];
  }
  for (i = 0; i < e.n; i++) {
    if ((r = addr_check(e.rcpt[i], strlen(e.rcpt[i]), addr[i]))) die_env(addr_reason(r));
    e.rcpt[i] = addr[i];
  }
  n = envelope_fmt(&e, norm, sizeof norm);
  if (!n) die_env("too long");
  return n;
}

static void trigger(void)
{
  char q[QPATH];
  int fd;
  qpath(q, QTRIGGER);
  fd = openat(AT_FDCWD, q, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;   /* no runner, or no FIFO yet: it scans at start */
  (void)!write(fd, "", 1);
  close(fd);
}

int main(void)
{
  char proc[64], dest[4096], id[48];
  size_t mlen, elen, nlen;
  int big = -1, fd, tries;
  home = env_need("E2E_HOME");
  qpath(qtmp, QDIR_TMP);
  qpath(qtodo, QDIR_TODO);
  signal(SIGPIPE, SIG_IGN);
  alarm(86400);

  mlen = fill(0, msg, MSGBUF, "read message");
  if (mlen == MSGBUF) {
    big = open_tmp(0);
    if (big < 0) die_temp("create a file in queue/tmp");
    spill(big);
  }
  elen = fill(1, env, ENVMAX + 1, "read envelope");
  nlen = check_envelope(elen);

  fd = open_tmp(1);
  if (fd < 0) die_temp("create a file in queue/tmp");
  if (big < 0) {
    struct iovec v[2] = { { norm, nlen }, { msg, mlen } };
    size_t want = nlen + mlen;
    ssize_t w = writev(fd, v, 2);
    if (w < 0 || (size_t)w != want) {   /* short: finish it the slow way */
      size_t done = w < 0 ? 0 : (size_t)w;
      if (w < 0 && errno != EINTR) die_temp("write queue file");
      if (done < nlen) {
        if (write_all(fd, norm + done, nlen - done) < 0) die_temp("write queue file");
        done = nlen;
      }
      if (write_all(fd, msg + (done - nlen), mlen - (done - nlen)) < 0) die_temp("write queue file");
    }
  }
  else {
    if (write_all(fd, norm, nlen) < 0) die_temp("write queue file");
    copy_in(fd, big);
    close(big);
  }
  if (reused) {   /* a recycled file: what is left of its old content goes */
    off_t end = lseek(fd, 0, SEEK_CUR);
    if (end < 0 || (reused > end && ftruncate(fd, end) < 0)) die_temp("cut the queue file to its length");
  }
  if (fsync(fd) < 0) die_temp("sync queue file");

  /* Make it visible under a fresh, unique name; never overwrite (a
   * recycled or named file is moved there, an unnamed one linked). */
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  for (tries = 0;; tries++) {
    int r;
    unique_id(id);
    snprintf(dest, sizeof dest, "%s/%s", qtodo, id);
    r = named ? rename_noreplace(tmpname, dest) : linkat(AT_FDCWD, proc, AT_FDCWD, dest, AT_SYMLINK_FOLLOW);
    if (!r) break;
    if (errno == ENOENT && !tries) { make_dirs(); continue; }   /* no todo/ yet */
    if ((errno != EEXIST && errno != ENOENT) || tries > 5) die_temp(named ? "move the queue file into queue/todo" : "link the queue file into queue/todo");
  }
  named = 0;   /* moved: free/N may soon be another file */
  if (fsync_dir(qtodo) < 0) { int e = errno; unlink(dest); errno = e; die_temp("sync queue/todo"); }
  close(fd);
  trigger();
  return 0;
}
