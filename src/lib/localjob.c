/* Local deliveries handed to a long-lived e2e-local (e2e-local -w) over a
 * SOCK_SEQPACKET socket: one packet per request, "USER\0SENDER\0RECIPIENT
 * \0DELIVERY\0" with the queue file (at the message's first byte) passed
 * along as SCM_RIGHTS; the answer is one packet, a letter and a text, as
 * e2e-remote reports: "K ...", "Z ..." (later), "D ..." (failed for
 * good). See docs/queue.md. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "e2e.h"

int ljob_send(int s, int fd, char const *const f[LJOB_FIELDS])
{
  char buf[LJOB_MAX], cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec v;
  struct msghdr mh;
  struct cmsghdr *c;
  size_t n = 0, i;
  ssize_t r;
  for (i = 0; i < LJOB_FIELDS; i++) {
    size_t k = strlen(f[i]) + 1;
    if (n + k > sizeof buf) { errno = EMSGSIZE; return -1; }
    memcpy(buf + n, f[i], k);
    n += k;
  }
  memset(&mh, 0, sizeof mh);
  memset(cbuf, 0, sizeof cbuf);
  v.iov_base = buf; v.iov_len = n;
  mh.msg_iov = &v; mh.msg_iovlen = 1;
  mh.msg_control = cbuf; mh.msg_controllen = sizeof cbuf;
  c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  while ((r = sendmsg(s, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) ;
  return r == (ssize_t)n ? 0 : -1;
}

int ljob_recv(int s, int *fd, char *buf, size_t max, char const *f[LJOB_FIELDS])
{
  char cbuf[CMSG_SPACE(sizeof(int) * 4)];
  struct iovec v;
  struct msghdr mh;
  struct cmsghdr *c;
  size_t p = 0, i;
  ssize_t r;
  *fd = -1;
  memset(&mh, 0, sizeof mh);
  v.iov_base = buf; v.iov_len = max;
  mh.msg_iov = &v; mh.msg_iovlen = 1;
  mh.msg_control = cbuf; mh.msg_controllen = sizeof cbuf;
  while ((r = recvmsg(s, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) ;
  if (r < 0) return -1;
  /* every descriptor that came is ours to close, the first one kept */
  for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t k, nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (k = 0; k < nfd; k++) {
        int d;
        memcpy(&d, CMSG_DATA(c) + k * sizeof(int), sizeof d);
        if (*fd < 0) *fd = d; else close(d);
      }
    }
  if (!r && *fd < 0) return 0;   /* the runner is gone */
  if (*fd < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) goto bad;
  for (i = 0; i < LJOB_FIELDS; i++) {
    char *z = memchr(buf + p, 0, (size_t)r - p);
    if (p >= (size_t)r || !z) goto bad;
    f[i] = buf + p;
    p = (size_t)(z - buf) + 1;
  }
  if (p != (size_t)r) goto bad;
  return 1;
bad:
  if (*fd >= 0) close(*fd);
  *fd = -1;
  return -2;
}
