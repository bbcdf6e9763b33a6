/* What a SAM bridge sends: reply lines (sam_reply_parse and friends) and
 * whole conversations. The input after the first byte is what the router
 * "says", put in a socket pair (or a pipe: the byte-at-a-time reader) and
 * read by the real client functions; the first byte picks which. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/socket.h>
#include "fuzz.h"
#include "e2e.h"
#include "sam.h"

#define DEST_B64 \
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void line(uint8_t const *d, size_t n)
{
  sam_reply r;
  char *s = fz_copy(d, n), pong[SAM_LINE_MAX + 2];
  size_t k = sam_pong(pong, sizeof pong, s, n);
  FZ_CHECK(k <= sizeof pong);
  if (!sam_reply_parse(&r, s)) {
    unsigned int i;
    char const *res = sam_reply_get(&r, "RESULT");
    FZ_CHECK(r.nwords >= 1 && r.nwords <= SAM_WORDS_MAX && r.npairs <= SAM_PAIRS_MAX);
    for (i = 0; i < r.npairs; i++) FZ_CHECK(r.pair[i].key[0] && strlen(r.pair[i].value) < n + 1);
    if (res) { (void)sam_result_class(res); (void)sam_result_text(res); }
    (void)sam_reply_is(&r, "HELLO", "REPLY");
  }
  free(s);
}

/* Feeds the bytes through a socket pair (sock) or a pipe: returns the
 * reading end, at EOF after the data. A socket's other end stays open in
 * *other (our commands go there); a pipe's is closed. */
static int feed(uint8_t const *d, size_t n, int sock, int *other)
{
  int p[2];
  if (sock ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) : pipe2(p, O_CLOEXEC)) abort();
  if (sock) {   /* room for all of it, and for our commands the other way */
    int sz = 1 << 20;
    setsockopt(p[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(p[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  }
  if (n && write(p[1], d, n) != (ssize_t)n) abort();
  if (sock) { shutdown(p[1], SHUT_WR); *other = p[1]; }
  else { close(p[1]); *other = -1; }
  return p[0];
}

static void conversation(unsigned int which, uint8_t const *d, size_t n)
{
  sam s;
  int other;
  int64_t dl = now_ms() + 2000;
  char buf[SAM_LINE_MAX + 1];
  size_t len;
  sam_init(&s);
  s.fd = feed(d, n, which != 7, &other);
  s.minor = 3;
  switch (which) {
    case 0: (void)sam_command(&s, "HELLO VERSION MIN=3.1 MAX=3.3\n", 30, "HELLO", "REPLY", dl); break;
    case 1: (void)sam_stream_connect(&s, "e2e", DEST_B64, 25, dl); break;
    case 2: (void)sam_stream_accept(&s, "e2e", dl);
            (void)sam_accept_peer(&s, dl); break;
    case 3: (void)sam_accept_peer(&s, dl); break;
    case 4: (void)sam_dest_generate(&s, 7, dl); break;
    case 5: (void)sam_naming_lookup(&s, "example.i2p", dl); break;
    case 6: while (!sam_control(&s, dl)) ; break;
    default:   /* the byte-at-a-time reader on a pipe */
      while (!sam_getline(s.fd, buf, sizeof buf, &len, SAM_BYTEWISE, dl)) FZ_CHECK(len < sizeof buf && !buf[len]);
  }
  FZ_CHECK(strlen(s.err) < sizeof s.err);
  sam_close(&s);
  if (other >= 0) close(other);
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  if (!n || n > 65536) return 0;
  if (d[0] < '0' || d[0] > '7') line(d + 1, n - 1);
  else conversation((unsigned int)(d[0] - '0'), d + 1, n - 1);
  return 0;
}
