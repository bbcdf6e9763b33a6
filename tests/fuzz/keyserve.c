/* e2e-keyserve's HTTP side, as the real program runs it on a stream: the
 * peek at the first bytes (http_first: recv with MSG_PEEK, the method
 * sniffed), then the request head read and parsed (serve: request line,
 * method, path, version, the header block up to its empty line, 4096
 * bytes at most) and the answer. The input is what the peer sent, then
 * the end of the stream: it is written into a socket pair (a memfd
 * cannot be peeked at), whose other end becomes fd 0; the answer goes to
 * a file on fd 1. Where the program would exec PROG (not HTTP), the
 * harness returns instead. The mail home holds an i2pmail.key.
 * Checked, for every input (e2e-keyserve(8)): PROG's turn exactly when
 * the input does not start with a method and a space; otherwise one
 * answer, whose status the request line calls for (200 only for GET or
 * HEAD of exactly /.well-known/i2pmail.key, HTTP/1.0 or 1.1), headers
 * as documented, a Content-Length that is the body's, the key byte for
 * byte in a 200 to GET, no body to HEAD. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "fuzz.h"
#include "prog.h"
#include "e2e.h"

/* The key e2e-keyserve reads is freed after each run (the program's
 * _exit would not), so that LeakSanitizer sees no leak. */
static char *fz_key;
static int fz_file_read(char const *path, char **out, size_t *len, size_t max)
{
  int r = file_read(path, out, len, max);
  if (!r) fz_key = *out;
  return r;
}

#define FZ_PROG_MAIN keyserve_main
#define FZ_PROG_FILE "../../src/e2e-keyserve.c"
#define file_read(p, o, l, m) fz_file_read(p, o, l, m)
#include "progwrap.h"
#undef file_read

/* ms for the first bytes: an input that is only the start of a method
 * name ("GE", then the end) is peeked at until then. */
#define FZ_WAIT 100
#define FZ_KEY "the key of the fuzz home, sent byte for byte\n"

static char fz_home[600], fz_out[700];
static uint8_t const *fz_in;
static size_t fz_n;
static int fz_http;                 /* what http_first said */

static void fz_mkhome(void)
{
  snprintf(fz_home, sizeof fz_home, "%s", fz_dir());
  snprintf(fz_out, sizeof fz_out, "%s/answer", fz_home);
  fz_file("i2pmail.key", FZ_KEY, strlen(FZ_KEY));
}

/* In place of main: the stream on fd 0, the answer into fz_out on fd 1,
 * the settings main would take from the environment. */
static int fz_keyserve(void)
{
  int sv[2], out;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) abort();
  if (fz_n && write(sv[1], fz_in, fz_n) != (ssize_t)fz_n) abort();
  close(sv[1]);                     /* the peer sent it all and closed */
  if (dup2(sv[0], 0) < 0) abort();
  close(sv[0]);
  if ((out = open(fz_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 || dup2(out, 1) < 0) abort();
  close(out);
  t0 = now_ms();
  home = fz_home;
  peer = "-";
  waitms = FZ_WAIT;
  fz_http = http_first();
  if (fz_http) serve();
  return 0;                         /* main would run PROG here */
}

static void fz_cleanup(void)
{
  free(fz_key);
  fz_key = 0;
}

/* ---- what the answer must be, from the manual page ---- */

/* 1 the input starts with a method and a space, -1 it is only the start
 * of one, 0 neither. */
static int want_http(uint8_t const *d, size_t n)
{
  static char const *const m[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH", 0 };
  int half = 0;
  unsigned int i;
  for (i = 0; m[i]; i++) {
    size_t k = strlen(m[i]);
    if (n > k && !memcmp(d, m[i], k) && d[k] == ' ') return 1;
    if (n <= k && !memcmp(d, m[i], n)) half = 1;
  }
  return half ? -1 : 0;
}

static int is(uint8_t const *s, size_t n, char const *t) { return n == strlen(t) && !memcmp(s, t, n); }

/* The status for a complete head: its request line, METHOD SP PATH SP
 * HTTP/1.x, any byte outside that shape a 400. *head: a HEAD request. */
static int want_status(uint8_t const *d, size_t n, int *head)
{
  uint8_t const *eol = memchr(d, '\n', n), *sp1, *sp2;
  size_t len = (size_t)(eol - d);
  if (len && d[len - 1] == '\r') len--;
  sp1 = memchr(d, ' ', len);        /* there is one: want_http */
  *head = is(d, (size_t)(sp1 - d), "HEAD");
  sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - d));
  if (!sp2 || memchr(d, 0, len)) return 400;
  if (!is(sp2 + 1, len - (size_t)(sp2 + 1 - d), "HTTP/1.0") && !is(sp2 + 1, len - (size_t)(sp2 + 1 - d), "HTTP/1.1"))
    return 400;
  if (!is(sp1 + 1, (size_t)(sp2 - sp1 - 1), "/.well-known/i2pmail.key")) return 404;
  if (!is(d, (size_t)(sp1 - d), "GET") && !*head) return 405;
  return 200;
}

/* The answer: one head of the documented shape, then exactly its body. */
static void check_answer(char const *a, size_t n, int status, int head)
{
  char want[256];
  char const *end = memmem(a, n, "\r\n\r\n", 4), *cl;
  unsigned long clen;
  size_t hlen;
  FZ_CHECK(end);
  hlen = (size_t)(end - a) + 4;
  snprintf(want, sizeof want, "HTTP/1.1 %d ", status);
  FZ_CHECK(!strncmp(a, want, strlen(want)));
  FZ_CHECK(memmem(a, hlen, "\r\nContent-Type: text/plain; charset=us-ascii\r\n", 46));
  FZ_CHECK(memmem(a, hlen, "\r\nConnection: close\r\n", 21));
  FZ_CHECK(!memmem(a, hlen, "\r\nAllow: GET, HEAD\r\n", 20) == (status != 405));
  FZ_CHECK(!memmem(a, hlen, "\r\nCache-Control: max-age=86400\r\n", 32) == (status != 200));
  FZ_CHECK((cl = memmem(a, hlen, "\r\nContent-Length: ", 18)));
  clen = strtoul(cl + 18, 0, 10);
  if (head && (status == 200 || status == 404)) FZ_CHECK(n == hlen);
  else FZ_CHECK(n - hlen == clen);
  if (status == 200) FZ_CHECK(clen == strlen(FZ_KEY));
  if (status == 200 && !head) FZ_CHECK(!memcmp(a + hlen, FZ_KEY, clen));
}

static void check(uint8_t const *d, size_t n)
{
  char *a = 0;
  size_t an = 0, lim = n < HEAD_MAX ? n : HEAD_MAX;
  int w = want_http(d, n), head = 0;
  if (file_read(fz_out, &a, &an, 65536) < 0) abort();
  if (w <= 0) FZ_CHECK(!fz_http && !an);      /* PROG's, untouched */
  else if (!fz_http) FZ_CHECK(!an);           /* the wait ran out (a loaded machine): PROG's */
  else if (memmem(d, lim, "\r\n\r\n", 4) || memmem(d, lim, "\n\n", 2)) {
    int status = want_status(d, n, &head);
    check_answer(a, an, status, head);
  }
  else if (n >= HEAD_MAX) check_answer(a, an, 431, 0);
  else FZ_CHECK(!an);                         /* the client went before the end of the head */
  free(a);
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  if (!fz_home[0]) fz_mkhome();
  fz_in = d;
  fz_n = n;
  fz_prog_run(fz_keyserve, d, n, fz_cleanup);
  check(d, n);
  return 0;
}
