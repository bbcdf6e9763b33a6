/* Local deliveries handed to a long-lived e2e-local (e2e-local -w) over a
 * SOCK_SEQPACKET socket: one packet per request, "USER\0SENDER\0RECIPIENT
 * \0DELIVERY\0" with the queue file (at the message's first byte) passed
 * along as SCM_RIGHTS; the answer is one packet, a letter and a text, as
 * e2e-remote reports: "K ...", "Z ..." (later), "D ..." (failed for
 * good), one per request, in order. See docs/queue.md. And the runner's
 * pool of such workers: one socket each, up to LJOB_DEPTH requests each. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "e2e.h"

/* The runner's longest request fits: user, two addresses, <ID>R<n>. */
_Static_assert(USER_MAX + 1 + 2 * ADDR_MAX + QID_MAX + 8 <= LJOB_MAX, "LJOB_MAX too small for a request");

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

int ljob_recv(int s, int *fd, char *buf, size_t max, char const *f[LJOB_FIELDS], int flags)
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
  while ((r = recvmsg(s, &mh, MSG_CMSG_CLOEXEC | flags)) < 0 && errno == EINTR) ;
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

/* ---- the runner's workers ---- */

lworker *lpool_get(lpool *p, unsigned int max)
{
  unsigned int i;
  for (i = 0; i < p->n; i++) if (p->w[i].fd >= 0 && p->w[i].nj < LJOB_DEPTH) return &p->w[i];
  if (p->n >= max || p->n >= LPOOL_MAX) return 0;
  p->w[p->n].pid = 0; p->w[p->n].fd = -1; p->w[p->n].nj = 0;
  return &p->w[p->n++];
}

void *lpool_pop(lworker *w)
{
  void *j = w->job[0];
  memmove(w->job, w->job + 1, --w->nj * sizeof w->job[0]);
  return j;
}

int lpool_start(lworker *w, char const *prog, char const *const *envp)
{
  char const *argv[] = { prog, "-w", 0 };
  int sv[2], err;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return errno;
  err = qspawn(&w->pid, argv, envp, sv[1], -1, 0);
  close(sv[1]);
  if (err) close(sv[0]); else w->fd = sv[0];
  return err;
}

void lpool_drop(lpool *p, lworker *w)
{
  if (w->fd >= 0) close(w->fd);
  *w = p->w[--p->n];
}

lworker *lpool_of(lpool *p, pid_t pid)
{
  unsigned int i;
  for (i = 0; i < p->n; i++) if (p->w[i].pid == pid) return &p->w[i];
  return 0;
}

int lpool_answer(lworker *w, char *text, size_t max)
{
  char buf[LJOB_ANSWER];
  ssize_t r;
  while ((r = recv(w->fd, buf, sizeof buf - 1, MSG_DONTWAIT)) < 0 && errno == EINTR) ;
  if (r < 0 && errno == EAGAIN) return -1;
  if (r <= 0) { close(w->fd); w->fd = -1; return -2; }
  buf[r] = 0;
  snprintf(text, max, "%s", r > 2 ? buf + 2 : "no reason given");
  return *buf == 'K' ? E2E_OK : *buf == 'D' ? E2E_PERM : E2E_TEMP;
}

int64_t lpool_expire(lpool *p, int64_t now, int64_t idle, int all)
{
  int64_t next = -1;
  unsigned int i;
  for (i = 0; i < p->n; i++) {
    lworker *w = &p->w[i];
    int64_t left = all ? 0 : w->idle + idle - now;
    if (w->fd < 0 || w->nj) continue;
    if (left <= 0) { close(w->fd); w->fd = -1; }   /* it reads the end, exits */
    else if (next < 0 || left < next) next = left;
  }
  return next;
}
