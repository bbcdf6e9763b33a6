/* Per-peer connection caps for the TCP services. tcpserver bounds the
 * connections at once (-c) but not those of one client address, so each
 * e2e-smtpd or e2e-pop3d takes one of N slots for its peer: a lock on
 * byte I of the file DIR/PEER (an open file description lock, F_OFD_SETLK),
 * held until the process exits (the kernel drops it then, whatever the
 * exit). One open per connection, then one fcntl per slot tried. No
 * extra exec, no daemon, nothing to clean up but empty files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "e2e.h"

#define PEER_MAX 64

static int held = -1;                  /* the slot this process holds */

static int peer_ok(char const *p)
{
  size_t n;
  if (*p == '.') return 0;
  for (n = 0; p[n]; n++) {
    char c = p[n];
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
          || c == '.' || c == ':' || c == '_' || c == '-')) return 0;
  }
  return n >= 1 && n <= PEER_MAX;
}

/* The first free slot of max in path's file: 1 locked (fd kept open), 0
 * all held by others, -1 error. The file may have been removed and made
 * again meanwhile (the run script empties the directory at start): the
 * lock must be on the file that the name now holds. */
int peer_slot(char const *dir, char const *peer, unsigned int max)
{
  char path[4096];
  if (!peer_ok(peer)) { errno = EINVAL; return -1; }
  if (snprintf(path, sizeof path, "%s/%s", dir, peer) >= (int)sizeof path) { errno = ENAMETOOLONG; return -1; }
  for (;;) {
    struct stat a, b;
    unsigned int i;
    int fd = openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    for (i = 0; i < max; i++) {
      struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = i, .l_len = 1 };
      if (!fcntl(fd, F_OFD_SETLK, &l)) break;
      if (errno != EAGAIN && errno != EACCES) { int e = errno; close(fd); errno = e; return -1; }
    }
    if (i == max) { close(fd); return 0; }
    if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      held = fd;
      return 1;
    }
    close(fd);
  }
}

int peer_admit(char const *capvar, char const *concvar)
{
  char const *dir = env_str("E2E_PEERDIR", 0), *proto = env_str("PROTO", "");
  char const *ip = env_str("TCPREMOTEIP", 0);
  uint64_t conc = env_uint(concvar, 40, 1, 1000000);
  uint64_t cap = env_uint(capvar, conc / 2 ? conc / 2 : 1, 0, 1000000);
  int r;
  if (!dir || (strcmp(proto, "TCP") && strcmp(proto, "SAM")) || !cap) return 1;
  if (!ip || !strcmp(proto, "SAM")) ip = env_str("SAMREMOTEB32", "unknown");   /* under e2e-samaccept */
  if (!peer_ok(ip)) ip = "unknown";
  r = peer_slot(dir, ip, (unsigned int)cap);
  if (r < 0) {
    char e[200];
    snprintf(e, sizeof e, "%s: %s", dir, strerror(errno));
    log2("warning: unable to count the connections of this peer in ", e);
    return 1;
  }
  return r;
}

/* Gives the slot back before the last reply, so that a client that
 * reconnects at once finds it free. */
void peer_release(void)
{
  if (held >= 0) close(held);
  held = -1;
}
