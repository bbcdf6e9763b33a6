/* smtpload: an SMTP load generator for the benchmarks (tests/bench), in
 * the manner of Postfix's smtp-source, plus AUTH PLAIN (e2e's submission
 * requires it; smtp-source has none).
 *
 *   smtpload [-d] [-a USER:PASSWORD] -s SESSIONS -m MESSAGES -l BYTES
 *            -f FROM -t TO HOST:PORT
 *
 * SESSIONS processes share MESSAGES messages of about BYTES octets each
 * (headers and CRLF lines of 76 characters). Without -d each message has a
 * connection of its own (greeting, EHLO, [AUTH], MAIL, RCPT, DATA, QUIT);
 * with -d a session keeps one connection (and one AUTH) for all its
 * messages. No pipelining: each command waits for its reply, as
 * smtp-source does. Prints "msgs=N fail=N secs=S rate=R" (R messages per
 * second, from the first connect to the last reply); exit 0 only when every
 * message got a 2xx after its final dot. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in sa;
static char *msg, *auth, *from, *to;
static size_t msglen;
static int fd = -1, rlen, rpos;
static char rbuf[8192];

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int put(char const *s, size_t n)
{
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    s += w; n -= (size_t)w;
  }
  return 0;
}

static int getch(void)
{
  if (rpos == rlen) {
    ssize_t r;
    do r = read(fd, rbuf, sizeof rbuf); while (r < 0 && errno == EINTR);
    if (r <= 0) return -1;
    rlen = (int)r; rpos = 0;
  }
  return (unsigned char)rbuf[rpos++];
}

/* One whole reply (continuation lines too); returns its code, -1 on EOF. */
static int reply(void)
{
  char l[1024];
  for (;;) {
    int n = 0, c;
    while ((c = getch()) >= 0 && c != '\n') if (n < (int)sizeof l - 1) l[n++] = (char)c;
    if (c < 0) return -1;
    l[n] = 0;
    if (n < 4 || l[3] != '-') return atoi(l);
  }
}

static int cmd(char const *s, int want)
{
  int r;
  if (put(s, strlen(s)) < 0) return -1;
  r = reply();
  return r / 100 == want ? 0 : -1;
}

static int b64(char const *in, size_t n, char *out)
{
  static char const t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i; char *o = out;
  for (i = 0; i + 2 < n; i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    *o++ = t[v >> 18]; *o++ = t[v >> 12 & 63]; *o++ = t[v >> 6 & 63]; *o++ = t[v & 63];
  }
  if (n - i == 1) { unsigned v = (unsigned char)in[i] << 16; *o++ = t[v >> 18]; *o++ = t[v >> 12 & 63]; *o++ = '='; *o++ = '='; }
  else if (n - i == 2) { unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8; *o++ = t[v >> 18]; *o++ = t[v >> 12 & 63]; *o++ = t[v >> 6 & 63]; *o++ = '='; }
  *o = 0;
  return (int)(o - out);
}

static int opensession(void)
{
  int one = 1;
  rlen = rpos = 0;
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return -1;
  if (reply() / 100 != 2) return -1;
  if (cmd("EHLO bench.example\r\n", 2) < 0) return -1;
  if (auth) {
    char plain[600], line[900];
    char *colon = strchr(auth, ':');
    size_t ul = colon ? (size_t)(colon - auth) : strlen(auth);
    int n = 0;
    plain[n++] = 0;
    memcpy(plain + n, auth, ul); n += (int)ul;
    plain[n++] = 0;
    if (colon) { size_t pl = strlen(colon + 1); memcpy(plain + n, colon + 1, pl); n += (int)pl; }
    memcpy(line, "AUTH PLAIN ", 11);
    b64(plain, (size_t)n, line + 11);
    strcat(line, "\r\n");
    if (cmd(line, 2) < 0) return -1;
  }
  return 0;
}

static void closesession(void)
{
  if (fd < 0) return;
  (void)cmd("QUIT\r\n", 2);
  close(fd);
  fd = -1;
}

static int send1(void)
{
  char l[600];
  snprintf(l, sizeof l, "MAIL FROM:<%s>\r\n", from);
  if (cmd(l, 2) < 0) return -1;
  snprintf(l, sizeof l, "RCPT TO:<%s>\r\n", to);
  if (cmd(l, 2) < 0) return -1;
  if (cmd("DATA\r\n", 3) < 0) return -1;
  if (put(msg, msglen) < 0) return -1;
  return cmd(".\r\n", 2);
}

static void makemsg(size_t bytes)
{
  size_t cap = bytes + 1024, n;
  msg = malloc(cap);
  if (!msg) exit(111);
  n = (size_t)snprintf(msg, cap, "From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\n"
                       "Message-ID: <bench.%ld@bench.example>\r\n\r\n", from, to, (long)getpid());
  while (n + 78 <= bytes) {
    memset(msg + n, 'x', 76);
    msg[n + 76] = '\r'; msg[n + 77] = '\n';
    n += 78;
  }
  msglen = n;
}

static int child(int count, int reuse)
{
  int i, fail = 0;
  for (i = 0; i < count; i++) {
    if (fd < 0 && opensession() < 0) { if (fd >= 0) close(fd); fd = -1; fail++; continue; }
    if (send1() < 0) { fail++; close(fd); fd = -1; continue; }
    if (!reuse) closesession();
  }
  closesession();
  return fail > 255 ? 255 : fail;
}

int main(int argc, char **argv)
{
  int c, sessions = 1, messages = 100, reuse = 0, i, fail = 0, st;
  size_t bytes = 4096;
  char *hp, *colon;
  double t0, t1;
  while ((c = getopt(argc, argv, "da:s:m:l:f:t:")) != -1) {
    switch (c) {
      case 'd': reuse = 1; break;
      case 'a': auth = optarg; break;
      case 's': sessions = atoi(optarg); break;
      case 'm': messages = atoi(optarg); break;
      case 'l': bytes = (size_t)atol(optarg); break;
      case 'f': from = optarg; break;
      case 't': to = optarg; break;
      default: return 2;
    }
  }
  if (optind != argc - 1 || !from || !to || sessions < 1 || messages < 1) {
    fprintf(stderr, "usage: smtpload [-d] [-a USER:PASS] -s N -m N -l BYTES -f FROM -t TO HOST:PORT\n");
    return 2;
  }
  hp = argv[optind];
  colon = strrchr(hp, ':');
  if (!colon) return 2;
  *colon = 0;
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)atoi(colon + 1));
  if (inet_pton(AF_INET, hp, &sa.sin_addr) != 1) return 2;
  makemsg(bytes);
  t0 = now();
  for (i = 0; i < sessions; i++) {
    int n = messages / sessions + (i < messages % sessions);
    pid_t p = fork();
    if (p < 0) return 111;
    if (!p) _exit(child(n, reuse));
  }
  while (wait(&st) > 0) fail += WIFEXITED(st) ? WEXITSTATUS(st) : messages;
  t1 = now();
  if (fail > messages) fail = messages;
  printf("msgs=%d fail=%d secs=%.3f rate=%.1f\n", messages - fail, fail, t1 - t0,
         (double)(messages - fail) / (t1 - t0));
  return fail ? 1 : 0;
}
