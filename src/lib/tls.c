/* The program's side of e2e-tlsd's control socket (docs/tls.md): STARTTLS
 * and STLS ask for TLS, drop what the client sent before the handshake,
 * and let e2e-tlsd begin it. One byte each way:
 *   program -> e2e-tlsd  'Y'  may we start TLS? (replies already flushed)
 *   e2e-tlsd -> program  'R'  yes: nothing more is read from the client
 *                        'N'  no (no usable certificate): answer 454/-ERR
 *   program -> e2e-tlsd  'G'  the "go ahead" reply is written: handshake */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include "e2e.h"

int tls_ctl(void)
{
  uint64_t fd;
  char const *s = env_str("E2E_TLSCTL", "");
  if (!*s || !scan_u64(s, 1023, &fd) || fd < 3) return -1;
  if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0) return -1;   /* not for our children */
  return (int)fd;
}

int tls_ask(int ctl, int64_t deadline)
{
  char c = 'Y';
  ssize_t r;
  if (write_all(ctl, &c, 1) < 0) return -1;
  if (fd_wait(ctl, POLLIN, deadline) < 0) return -1;
  do r = read(ctl, &c, 1); while (r < 0 && errno == EINTR);
  if (r <= 0) { if (!r) errno = EPIPE; return -1; }
  if (c == 'R') return 1;
  if (c == 'N') return 0;
  errno = EPROTO;
  return -1;
}

/* Everything e2e-tlsd wrote to us before its 'R' is in the pipe by now:
 * read it away, and what the caller buffered too. */
int tls_start(int ctl, rbuf *b)
{
  char junk[4096];
  struct pollfd p = { .fd = b->fd, .events = POLLIN };
  explicit_bzero(b->buf, sizeof b->buf);   /* a pipelined PASS, say */
  b->p = b->n = 0;
  while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
    ssize_t r = read(b->fd, junk, sizeof junk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
  }
  explicit_bzero(junk, sizeof junk);
  return write_all(ctl, "G", 1);
}

int tls_required(int ctl)
{
  char const *ip = env_str("TCPREMOTEIP", "");
  if (!*ip || !env_uint("E2E_TLSREQUIRE", ctl >= 0, 0, 1)) return 0;   /* not TCP: I2P encrypts */
  return strncmp(ip, "127.", 4) && strcmp(ip, "::1");
}
