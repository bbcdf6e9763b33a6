/* e2e-local -w's requests (ljob_recv): one packet as the runner's socket
 * delivers it, with 0, 1 or 2 descriptors passed along (the first byte
 * of the input says how many); what is taken keeps its fields inside the
 * packet and gives exactly one descriptor, what is refused keeps none,
 * and no descriptor is ever left open. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fuzz.h"
#include "e2e.h"

static int open_fds(void)
{
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (!d) abort();
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  char buf[LJOB_MAX], cbuf[CMSG_SPACE(2 * sizeof(int))];
  char const *f[LJOB_FIELDS];
  int sv[2], fds[2], nfd, fd = -1, before, r, i;
  struct iovec v;
  struct msghdr mh;
  if (!n) return 0;
  nfd = d[0] % 3;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) abort();
  before = open_fds();
  memset(&mh, 0, sizeof mh);
  v.iov_base = (void *)(d + 1); v.iov_len = n - 1;
  mh.msg_iov = &v; mh.msg_iovlen = 1;
  if (nfd) {
    struct cmsghdr *c;
    for (i = 0; i < nfd; i++) if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) abort();
    memset(cbuf, 0, sizeof cbuf);
    mh.msg_control = cbuf; mh.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(nfd * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfd * sizeof(int));
  }
  if (sendmsg(sv[0], &mh, 0) < 0) abort();
  for (i = 0; i < nfd; i++) close(fds[i]);
  r = ljob_recv(sv[1], &fd, buf, sizeof buf, f, 0);
  FZ_CHECK(r == 1 || r == -2 || (r == 0 && n == 1 && !nfd));
  if (r == 1) {
    FZ_CHECK(fd >= 0 && nfd >= 1);
    for (i = 0; i < LJOB_FIELDS; i++)
      FZ_CHECK(f[i] >= buf && f[i] + strlen(f[i]) < buf + sizeof buf && f[i] + strlen(f[i]) < buf + n - 1);
    close(fd);
  }
  else FZ_CHECK(fd == -1);
  FZ_CHECK(open_fds() == before);
  close(sv[0]); close(sv[1]);
  return 0;
}
