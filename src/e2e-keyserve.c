/* e2e-keyserve PROG...: a mail destination that also publishes its own
 * key, for a mail server without a website. Run by e2e-samaccept in
 * front of e2e-smtpd, with the stream on fds 0 and 1.
 *
 * An HTTP client speaks first, an SMTP client waits for the greeting: we
 * wait up to $E2E_KEYSERVE milliseconds for the peer's first bytes and
 * look at them without taking them (MSG_PEEK). An HTTP request line is
 * ours: GET (or HEAD) /.well-known/i2pmail.key is answered with
 * $E2E_HOME/i2pmail.key, anything else with 404, 405 or 400, and the
 * stream is closed. Silence, or any other bytes, and PROG runs with the
 * stream untouched: not a byte of it read.
 * Exit: PROG's; 0 after an HTTP answer; 100 misuse; 111 system error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <skalibs/strerr.h>
#include "e2e.h"

#define USAGE "e2e-keyserve prog..."
#define WAIT_DEFAULT 1000      /* ms for the first bytes of an HTTP client */
#define WAIT_MAX 60000
#define MAXAGE_DEFAULT 86400   /* Cache-Control: max-age of the key */
#define PEEK_STEP 10           /* ms between peeks while a method is half in */
#define HEAD_MAX 4096          /* the whole request head */
#define REQUEST_MS 10000       /* the whole request head, from its first byte */
#define WRITE_MS 10000         /* the answer */
#define LINGER_MS 2000         /* reading what the client still sends, after */
#define KEY_MAX 4096           /* i2pmail.key */
#define PATH "/.well-known/i2pmail.key"

char const *PROG = "e2e-keyserve";

static char const *const methods[] = {
  "GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "TRACE ", "PATCH ", 0
};
static char const *home, *peer;
static unsigned int waitms = WAIT_DEFAULT, maxage = MAXAGE_DEFAULT;
static int64_t t0, first = -1;        /* our start; ms until the first byte */

static void run(char const *const *prog)
{
  execvp(prog[0], (char *const *)prog);
  strerr_dief2sys(E2E_TEMP, "unable to run ", prog[0]);
}

/* 1 an HTTP request line starts here, 0 not, -1 too few bytes to tell. */
static int sniff(char const *b, size_t n)
{
  int half = 0;
  unsigned int i;
  for (i = 0; methods[i]; i++) {
    size_t k = strlen(methods[i]);
    if (!memcmp(b, methods[i], n < k ? n : k)) {
      if (n >= k) return 1;
      half = 1;
    }
  }
  return half ? -1 : 0;
}

/* Waits for the first bytes until the deadline and peeks: 1 HTTP, 0 PROG's. */
static int http_first(void)
{
  int64_t deadline = t0 + waitms;
  char b[16];
  for (;;) {
    ssize_t n;
    int s;
    if (fd_wait(0, POLLIN, deadline) < 0) return 0;   /* quiet: an SMTP client */
    if (first < 0) first = now_ms() - t0;
    n = recv(0, b, sizeof b, MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0) return 0;             /* EOF, or not a socket: PROG's to handle */
    s = sniff(b, (size_t)n);
    if (s >= 0) return s;
    if (now_ms() >= deadline) return 0;
    poll(0, 0, PEEK_STEP);
  }
}

/* ---- the HTTP side: the stream is ours from here ---- */
static void say(char const *what, char const *method, char const *path)
{
  char line[512];
  snprintf(line, sizeof line, "http peer=%s method=%s path=%s %s first_ms=%lld ms=%lld", peer, method, path, what,
           (long long)first, (long long)(now_ms() - t0));
  log1(line);
}

/* The answer, the client's leftovers read (so that closing sends no
 * reset that could take the answer with it), and exit. */
static _Noreturn void answer(char const *status, char const *extra, char const *body, size_t blen, int head_only)
{
  char h[512], junk[4096];
  wbuf w;
  int64_t until;
  wbuf_init(&w, 1);
  w.deadline = now_ms() + WRITE_MS;
  snprintf(h, sizeof h,
           "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Length: %lu\r\n%s"
           "Connection: close\r\n\r\n", status, (unsigned long)blen, extra);
  wbuf_puts(&w, h);
  if (!head_only) wbuf_put(&w, body, blen);
  if (wbuf_flush(&w) < 0) _exit(0);   /* the client went: nothing to tell it */
  shutdown(1, SHUT_WR);
  until = now_ms() + LINGER_MS;
  while (fd_wait(0, POLLIN, until) == 0 && read(0, junk, sizeof junk) > 0) ;
  _exit(0);
}

static _Noreturn void error(char const *status, char const *extra, char const *method, char const *path, int head_only)
{
  char body[64], what[64];
  snprintf(body, sizeof body, "%s\n", status);
  snprintf(what, sizeof what, "status=%.3s", status);
  say(what, method, path);
  answer(status, extra, body, strlen(body), head_only);
}

/* The request head, up to its empty line, by the deadline; its length. */
static size_t head_read(char *b)
{
  int64_t deadline = now_ms() + REQUEST_MS;
  size_t n = 0;
  for (;;) {
    ssize_t r;
    if (n && (memmem(b, n, "\r\n\r\n", 4) || memmem(b, n, "\n\n", 2))) return n;
    if (n >= HEAD_MAX) error("431 Request Header Fields Too Large", "", "-", "-", 0);
    if (fd_wait(0, POLLIN, deadline) < 0) {
      if (errno == ETIMEDOUT) error("408 Request Timeout", "", "-", "-", 0);
      strerr_diefu1sys(E2E_TEMP, "read the request");
    }
    r = read(0, b + n, HEAD_MAX - n);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) strerr_diefu1sys(E2E_TEMP, "read the request");
    if (!r) { say("result=closed-before-the-end", "-", "-"); _exit(0); }
    n += (size_t)r;
  }
}

static void key_send(char const *method, char const *path, int head_only)
{
  char file[4096], cc[64], *text;
  size_t len;
  if (snprintf(file, sizeof file, "%s/i2pmail.key", home) >= (int)sizeof file
      || file_read(file, &text, &len, KEY_MAX) < 0) {
    static char const body[] = "503 Service Unavailable\n";
    char why[128];
    snprintf(why, sizeof why, "status=503 reason=unable to read i2pmail.key: %s", strerror(errno));
    say(why, method, path);
    answer("503 Service Unavailable", "", body, sizeof body - 1, head_only);
  }
  snprintf(cc, sizeof cc, "Cache-Control: max-age=%u\r\n", maxage);
  say("status=200", method, path);
  answer("200 OK", cc, text, len, head_only);
}

/* "METHOD TARGET HTTP/1.x": the key, or why not. */
static void serve(void)
{
  char b[HEAD_MAX + 1], m[16], p[128];
  char *eol, *sp1, *sp2;
  size_t n;
  int head_only;
  signal(SIGPIPE, SIG_IGN);
  fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);   /* writes end at their deadline */
  alarm((REQUEST_MS + WRITE_MS + LINGER_MS) / 1000 + 5);  /* and if all else fails */
  n = head_read(b);
  eol = memchr(b, '\n', n);
  /* a NUL would end the strings below early: "...HTTP/1.1\0junk" is no request line */
  if (memchr(b, 0, (size_t)(eol - b))) error("400 Bad Request", "", "-", "-", 0);
  *eol = 0;
  if (eol > b && eol[-1] == '\r') eol[-1] = 0;
  sp1 = strchr(b, ' ');
  sp2 = sp1 ? strchr(sp1 + 1, ' ') : 0;
  if (!sp1 || !sp2) error("400 Bad Request", "", "-", "-", 0);
  *sp1 = *sp2 = 0;
  safe(m, sizeof m, b, strlen(b));
  safe(p, sizeof p, sp1 + 1, strlen(sp1 + 1));
  head_only = !strcmp(b, "HEAD");
  if (strcmp(sp2 + 1, "HTTP/1.0") && strcmp(sp2 + 1, "HTTP/1.1")) error("400 Bad Request", "", m, p, 0);
  if (strcmp(sp1 + 1, PATH)) error("404 Not Found", "", m, p, head_only);
  if (strcmp(b, "GET") && !head_only) error("405 Method Not Allowed", "Allow: GET, HEAD\r\n", m, p, 0);
  key_send(m, p, head_only);
}

int main(int argc, char const *const *argv)
{
  char b32[64];
  char const *r;
  t0 = now_ms();
  if (argc < 2) strerr_dieusage(E2E_PERM, USAGE);
  home = env_need("E2E_HOME");
  waitms = (unsigned int)env_uint("E2E_KEYSERVE", WAIT_DEFAULT, 0, WAIT_MAX);
  maxage = (unsigned int)env_uint("E2E_KEYSERVE_MAXAGE", MAXAGE_DEFAULT, 0, 31536000);
  r = env_str("SAMREMOTEB32", "-");
  peer = safe(b32, sizeof b32, r, strlen(r));
  if (!http_first()) run(argv + 1);
  serve();
  return 0;
}
