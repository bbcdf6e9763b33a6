/* Buffered line reading and writing on fds, each bounded by a deadline. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include "e2e.h"

int fd_wait(int fd, short events, int64_t deadline)
{
  for (;;) {
    struct pollfd p = { .fd = fd, .events = events };
    int ms = -1, r;
    if (deadline) {
      int64_t left = deadline - now_ms();
      if (left <= 0) { errno = ETIMEDOUT; return -1; }
      ms = left > 86400000 ? 86400000 : (int)left;
    }
    r = poll(&p, 1, ms);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
  }
}

void rbuf_init(rbuf *b, int fd, wbuf *flush)
{
  b->fd = fd; b->p = b->n = 0; b->flush = flush;
}

size_t rbuf_pending(rbuf const *b) { return b->n - b->p; }

static ssize_t fill(rbuf *b, int64_t deadline)
{
  ssize_t r;
  if (b->flush && b->flush->n && wbuf_flush(b->flush) < 0) return -1;
  for (;;) {
    if (fd_wait(b->fd, POLLIN, deadline) < 0) return -1;
    r = read(b->fd, b->buf, sizeof b->buf);
    if (r >= 0) break;
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
  b->p = 0; b->n = (size_t)r;
  return r;
}

ssize_t rbuf_get(rbuf *b, char *out, size_t n, int64_t deadline)
{
  size_t k;
  if (b->p == b->n) {
    ssize_t r = fill(b, deadline);
    if (r <= 0) return r;
  }
  k = b->n - b->p;
  if (k > n) k = n;
  memcpy(out, b->buf + b->p, k);
  b->p += k;
  return (ssize_t)k;
}

int line_get(rbuf *b, char *out, size_t max, size_t *len, int64_t deadline)
{
  size_t w = 0, dropped = 0;
  int toolong = 0;
  for (;;) {
    char *nl;
    size_t k;
    if (b->p == b->n) {
      ssize_t r = fill(b, deadline);
      if (r < 0) return LINE_ERR;
      if (!r) return LINE_EOF;
    }
    nl = memchr(b->buf + b->p, '\n', b->n - b->p);
    k = nl ? (size_t)(nl - (b->buf + b->p)) + 1 : b->n - b->p;
    if (!toolong) {
      if (w + k > max) toolong = 1;
      else { memcpy(out + w, b->buf + b->p, k); w += k; }
    }
    b->p += k;
    if (nl) break;
    if (toolong && (dropped += k) > LINE_DROP_MAX) { errno = EMSGSIZE; return LINE_ERR; }
  }
  *len = w;
  return toolong ? LINE_LONG : LINE_OK;
}

void wbuf_init(wbuf *w, int fd)
{
  w->fd = fd; w->n = 0; w->deadline = 0; w->err = 0;
}

static int put_fd(int fd, char const *s, size_t n, int64_t deadline)
{
  while (n) {
    ssize_t r = write(fd, s, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return -1;
      if (fd_wait(fd, POLLOUT, deadline) < 0) return -1;
      continue;
    }
    s += r; n -= (size_t)r;
  }
  return 0;
}

int write_all(int fd, char const *s, size_t n) { return put_fd(fd, s, n, 0); }

int wbuf_flush(wbuf *w)
{
  if (w->err) return -1;
  if (w->n && put_fd(w->fd, w->buf, w->n, w->deadline) < 0) { w->err = errno ? errno : EIO; return -1; }
  w->n = 0;
  return 0;
}

void wbuf_put(wbuf *w, char const *s, size_t n)
{
  while (n && !w->err) {
    size_t k = sizeof w->buf - w->n;
    if (!k) { wbuf_flush(w); continue; }
    if (k > n) k = n;
    memcpy(w->buf + w->n, s, k);
    w->n += k; s += k; n -= k;
  }
}

void wbuf_puts(wbuf *w, char const *s) { wbuf_put(w, s, strlen(s)); }

int read_all(int fd, char **out, size_t *len, size_t max)
{
  size_t n = 0, a = 4096;
  char *p = malloc(a);
  if (!p) return -1;
  for (;;) {
    ssize_t r;
    if (n + 1 >= a) {
      char *q;
      if (a >= max + 2) { free(p); errno = EFBIG; return -1; }
      a = a * 2 > max + 2 ? max + 2 : a * 2;
      q = realloc(p, a);
      if (!q) { free(p); return -1; }
      p = q;
    }
    r = read(fd, p + n, a - n - 1);
    if (r < 0) { if (errno == EINTR) continue; free(p); return -1; }
    if (!r) break;
    n += (size_t)r;
    if (n > max) { free(p); errno = EFBIG; return -1; }
  }
  p[n] = 0;  /* always terminated, for text files */
  *out = p; *len = n;
  return 0;
}

int file_read(char const *path, char **out, size_t *len, size_t max)
{
  int r, e, fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  r = read_all(fd, out, len, max);
  e = errno;
  close(fd);
  errno = e;
  return r;
}

int file_read_into(char const *path, char *buf, size_t cap, size_t *len)
{
  size_t n = 0;
  int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return close_fail(fd);
    if (!r) break;
    n += (size_t)r;
  }
  close(fd);
  if (n == cap) return 0;
  *len = n;
  return 1;
}

int close_fail(int fd)
{
  int e = errno;
  if (fd >= 0) close(fd);
  errno = e;
  return -1;
}

void *grow(void *p, size_t *alloc, size_t size, size_t first)
{
  size_t a = *alloc ? 2 * *alloc : first;
  void *q;
  if (a > SIZE_MAX / size) { errno = ENOMEM; return 0; }
  if (!(q = realloc(p, a * size))) return 0;
  *alloc = a;
  return q;
}
