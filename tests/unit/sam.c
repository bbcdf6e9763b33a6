/* Unit tests for src/lib/sam.c: reply parsing (verbatim i2pd replies),
 * the line reader over socketpairs and pipes, and scripted conversations
 * with a fake SAM bridge in a child process. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "tap.h"
#include "e2e.h"
#include "sam.h"

/* Test identities (ed25519-1 of the shared test keys). */
static char const PUB[] =
  "996FKs9CGxOqmdAvaNhaI-sLCiEgmrgUbvc7DoK5J5T33oUqz0IbE6qZ0C9o2Foj6wsKISCauBRu9zsOgrknlPfehSrPQhsTqpnQ"
  "L2jYWiPrCwohIJq4FG73Ow6CuSeU996FKs9CGxOqmdAvaNhaI-sLCiEgmrgUbvc7DoK5J5T33oUqz0IbE6qZ0C9o2Foj6wsKISCa"
  "uBRu9zsOgrknlPfehSrPQhsTqpnQL2jYWiPrCwohIJq4FG73Ow6CuSeU996FKs9CGxOqmdAvaNhaI-sLCiEgmrgUbvc7DoK5J5T3"
  "3oUqz0IbE6qZ0C9o2Foj6wsKISCauBRu9zsOgrknlPfehSrPQhsTqpnQL2jYWiPrCwohIJq4FG73Ow6CuSeU996FKs9CGxOqmdAv"
  "aNhaI-sLCiEgmrgUbvc7DoK5J5T33oUqz0IbE6qZ0C9o2Foj6wsKISCauBRu9zsOgrknlC9bF5u4Wp77p-aJC0ccl7uuqN9Lgric"
  "9NAbQqdiQOrjBQAEAAcAAA==";
/* A private blob built from PUB: ElGamal key 0x01..., Ed25519 key 0x02... */
static char PRIV[I2P_PRIV_B64_MAX + 1];
static char PRIV2[I2P_PRIV_B64_MAX + 1];   /* its DSA counterpart */

static void make_keys(void)
{
  unsigned char bin[I2P_PRIV_MAX];
  size_t n;
  ok(!i2p_b64_decode(bin, sizeof bin, &n, PUB, strlen(PUB)) && n == 391, "test destination decodes");
  memset(bin + 391, 1, 256);
  memset(bin + 391 + 256, 2, 32);
  PRIV[i2p_b64_encode(PRIV, bin, 679)] = 0;
  memset(bin, 3, 384);
  bin[384] = 0; bin[385] = 0; bin[386] = 0;    /* NULL certificate: DSA/ElGamal */
  memset(bin + 387, 1, 256);
  memset(bin + 387 + 256, 2, 20);
  PRIV2[i2p_b64_encode(PRIV2, bin, 663)] = 0;
}

/* ---- reply parsing ---- */

static int parses(char const *line, sam_reply *r, char *buf)
{
  strcpy(buf, line);
  return sam_reply_parse(r, buf) == 0;
}

static int val_is(sam_reply const *r, char const *k, char const *v)
{
  char const *x = sam_reply_get(r, k);
  return x && !strcmp(x, v);
}

static void test_parse(void)
{
  sam_reply r;
  char b[SAM_LINE_MAX + 1];
  static char const *bad[] = {
    "", "   ", "hello REPLY RESULT=OK", "HELLO REPLY RESULT", "HELLO REPLY RESULT=OK VERSION",
    "A B C", "HELLO REPLY =OK", "X Y M=\"unterminated", "X Y M=\"a\"b", "X Y M=a\"b",
    "X Y R=OK R=NO", "X Y R=OK r=NO", "X Y R=O\tK", "X Y M=\"a\\", "X Y M=\"a\x01\"", "X Y M=\x7f",
    "X\tY", "X Y K\x80=1", "X Y R=\xc3\xa9", "HELLO1 REPLY", "X Y ==1", "X Y A-B=1 =",
    "X Y A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 I=9 J=10 K=11 L=12 M=13 N=14 O=15 P=16 Q=17",
  };
  unsigned int i;

  ok(parses("HELLO REPLY RESULT=OK VERSION=3.1", &r, b) && sam_reply_is(&r, "HELLO", "REPLY")
     && val_is(&r, "RESULT", "OK") && val_is(&r, "VERSION", "3.1") && r.npairs == 2, "HELLO REPLY RESULT=OK VERSION=3.1");
  ok(parses("HELLO REPLY RESULT=NOVERSION", &r, b) && val_is(&r, "RESULT", "NOVERSION"), "HELLO REPLY RESULT=NOVERSION");
  ok(parses("HELLO REPLY VERSION=3.1 RESULT=OK", &r, b) && val_is(&r, "RESULT", "OK") && val_is(&r, "VERSION", "3.1"),
     "keys in another order");
  ok(parses("SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"", &r, b) && sam_reply_is(&r, "SESSION", "STATUS")
     && val_is(&r, "RESULT", "I2P_ERROR") && val_is(&r, "MESSAGE", "Unknown STYLE"),
     "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"");
  ok(parses("SESSION STATUS RESULT=DUPLICATED_ID", &r, b) && val_is(&r, "RESULT", "DUPLICATED_ID"), "SESSION STATUS RESULT=DUPLICATED_ID");
  ok(parses("SESSION STATUS RESULT=INVALID_KEY", &r, b) && val_is(&r, "RESULT", "INVALID_KEY"), "SESSION STATUS RESULT=INVALID_KEY");
  snprintf(b, sizeof b, "SESSION STATUS RESULT=OK DESTINATION=%s", PRIV);
  ok(sam_reply_parse(&r, b) == 0 && val_is(&r, "DESTINATION", PRIV), "SESSION STATUS RESULT=OK DESTINATION=<priv>");
  ok(parses("STREAM STATUS RESULT=OK", &r, b) && sam_reply_is(&r, "STREAM", "STATUS") && val_is(&r, "RESULT", "OK"), "STREAM STATUS RESULT=OK");
  ok(parses("STREAM STATUS RESULT=CANT_REACH_PEER", &r, b) && val_is(&r, "RESULT", "CANT_REACH_PEER"), "STREAM STATUS RESULT=CANT_REACH_PEER");
  ok(parses("STREAM STATUS RESULT=INVALID_ID", &r, b) && val_is(&r, "RESULT", "INVALID_ID"), "STREAM STATUS RESULT=INVALID_ID");
  ok(parses("STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"Session was closed\"", &r, b) && val_is(&r, "MESSAGE", "Session was closed"),
     "STREAM STATUS with a quoted MESSAGE");
  snprintf(b, sizeof b, "DEST REPLY PUB=%s PRIV=%s", PUB, PRIV);
  ok(sam_reply_parse(&r, b) == 0 && sam_reply_is(&r, "DEST", "REPLY") && val_is(&r, "PUB", PUB) && val_is(&r, "PRIV", PRIV),
     "DEST REPLY PUB=<524> PRIV=<908>");
  snprintf(b, sizeof b, "NAMING REPLY RESULT=OK NAME=ME VALUE=%s", PUB);
  ok(sam_reply_parse(&r, b) == 0 && val_is(&r, "NAME", "ME") && val_is(&r, "VALUE", PUB), "NAMING REPLY RESULT=OK NAME=ME VALUE=<b64>");
  ok(parses("NAMING REPLY RESULT=INVALID_KEY NAME=nosuch.i2p", &r, b) && val_is(&r, "NAME", "nosuch.i2p"), "NAMING REPLY RESULT=INVALID_KEY");
  ok(parses("NAMING REPLY RESULT=KEY_NOT_FOUND NAME=nosuch.i2p", &r, b) && val_is(&r, "RESULT", "KEY_NOT_FOUND"), "NAMING REPLY RESULT=KEY_NOT_FOUND");
  ok(parses("X Y MESSAGE=\"a \\\"b\\\" c\\\\d\"", &r, b) && val_is(&r, "MESSAGE", "a \"b\" c\\d"), "quoted value with escapes");
  ok(parses("X Y MESSAGE=\"\" R=OK", &r, b) && val_is(&r, "MESSAGE", "") && val_is(&r, "R", "OK"), "empty quoted value");
  ok(parses("X Y M=\"k=v x=y\"", &r, b) && val_is(&r, "M", "k=v x=y") && r.npairs == 1, "quoted value holding '='");
  ok(parses("X Y M=\"caf\xc3\xa9\"", &r, b) && val_is(&r, "M", "caf\xc3\xa9"), "UTF-8 inside quotes");
  ok(parses("X Y K=", &r, b) && val_is(&r, "K", ""), "empty plain value");
  ok(parses("HELLO  REPLY   RESULT=OK ", &r, b) && val_is(&r, "RESULT", "OK"), "extra spaces");
  ok(parses("PONG", &r, b) && r.nwords == 1 && !sam_reply_is(&r, "PONG", "X"), "one word");
  ok(parses("X Y inbound.length=0 a_b-c=1", &r, b) && val_is(&r, "INBOUND.LENGTH", "0") && val_is(&r, "a_b-c", "1"),
     "keys with dots, lookup ignores case");
  ok(parses("X Y R=OK", &r, b) && !sam_reply_get(&r, "MESSAGE"), "absent key: NULL");
  for (i = 0; i < sizeof bad / sizeof *bad; i++) {
    char shown[128];
    size_t j;
    for (j = 0; bad[i][j] && j < sizeof shown - 1; j++) shown[j] = (bad[i][j] < 32 || bad[i][j] > 126) ? '?' : bad[i][j];
    shown[j] = 0;
    ok(!parses(bad[i], &r, b), "malformed: [%s]", shown);
  }
}

static void test_results(void)
{
  ok(sam_result_class("OK") == 0, "OK: 0");
  ok(sam_result_class("CANT_REACH_PEER") == 111, "CANT_REACH_PEER: 111");
  ok(sam_result_class("TIMEOUT") == 111, "TIMEOUT: 111");
  ok(sam_result_class("I2P_ERROR") == 111, "I2P_ERROR: 111");
  ok(sam_result_class("INVALID_ID") == 111, "INVALID_ID: 111");
  ok(sam_result_class("DUPLICATED_ID") == 111, "DUPLICATED_ID: 111");
  ok(sam_result_class("NOVERSION") == 111, "NOVERSION: 111");
  ok(sam_result_class("INVALID_KEY") == 100, "INVALID_KEY: 100");
  ok(sam_result_class("KEY_NOT_FOUND") == 100, "KEY_NOT_FOUND: 100");
  ok(sam_result_class("SOMETHING_NEW") == 111, "unknown: 111");
  ok(sam_result_class("ok") == 111, "lower-case ok is not OK");
  ok(!strcmp(sam_result_text("CANT_REACH_PEER"), "the peer cannot be reached"), "result text");
}

static void test_pong(void)
{
  char out[64];
  size_t n;
  n = sam_pong(out, sizeof out, "PING 1234 abc", 13);
  ok(n == 14 && !memcmp(out, "PONG 1234 abc\n", 14), "PING 1234 abc -> PONG 1234 abc");
  n = sam_pong(out, sizeof out, "PING", 4);
  ok(n == 5 && !memcmp(out, "PONG\n", 5), "PING -> PONG");
  ok(!sam_pong(out, sizeof out, "PINGX", 5), "PINGX is no PING");
  ok(!sam_pong(out, sizeof out, "PONG 1", 6), "PONG is no PING");
  ok(!sam_pong(out, sizeof out, "PIN", 3), "PIN is no PING");
  ok(!sam_pong(out, 6, "PING 1234", 9), "no room: 0");
}

static void test_hostport(void)
{
  unsigned char ip[4];
  uint16_t port;
  static char const *bad[] = {
    "127.0.0.1", "localhost:7656", "127.0.0.1:0", ":7656", "127.0.0.1:65536", "256.0.0.1:1",
    "127.0.0.01:1", "127.0.0.1:07656", "127.0.0.1:7656 ", " 127.0.0.1:7656", "1.2.3:4",
    "1.2.3.4.5:6", "[::1]:7656", "1.2.3.4:", "1.2.3.4:-1", "1.2.3.4:+1", "", "1.2.3.4:123456",
  };
  unsigned int i;
  ok(!sam_hostport("127.0.0.1:7656", ip, &port) && ip[0] == 127 && ip[3] == 1 && port == 7656, "127.0.0.1:7656");
  ok(!sam_hostport("10.0.255.0:65535", ip, &port) && ip[2] == 255 && ip[3] == 0 && port == 65535, "10.0.255.0:65535");
  for (i = 0; i < sizeof bad / sizeof *bad; i++) ok(sam_hostport(bad[i], ip, &port) < 0, "bad address [%s]", bad[i]);
}

/* ---- the line reader ---- */

static size_t rest(int fd, char *buf, size_t max)
{
  ssize_t r = recv(fd, buf, max, MSG_DONTWAIT);
  if (r < 0 && errno == ENOTSOCK) r = read(fd, buf, max);
  return r < 0 ? 0 : (size_t)r;
}

static void test_getline_mode(unsigned int flags, char const *mode)
{
  int sv[2];
  char b[64], big[5000];
  size_t len, n;
  int64_t t0;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) { ok(0, "socketpair"); return; }
  (void)!write(sv[1], "HELLO REPLY RESULT=OK VERSION=3.1\nEHLO x\r\n", 42);
  ok(!sam_getline(sv[0], b, sizeof b, &len, flags, 0) && len == 33 && !strcmp(b, "HELLO REPLY RESULT=OK VERSION=3.1"),
     "%s: one line", mode);
  n = rest(sv[0], b, sizeof b);
  ok(n == 8 && !memcmp(b, "EHLO x\r\n", 8), "%s: nothing read past the newline", mode);

  (void)!write(sv[1], "A\r\n\nB\n", 6);
  ok(!sam_getline(sv[0], b, sizeof b, &len, flags, 0) && len == 1 && !strcmp(b, "A"), "%s: CRLF stripped", mode);
  ok(!sam_getline(sv[0], b, sizeof b, &len, flags, 0) && len == 0 && !strcmp(b, ""), "%s: empty line", mode);
  ok(!sam_getline(sv[0], b, sizeof b, &len, flags, 0) && len == 1 && !strcmp(b, "B"), "%s: next line", mode);

  memset(big, 'x', sizeof big);
  big[9] = '\n';
  (void)!write(sv[1], big, 10);
  ok(!sam_getline(sv[0], b, 10, &len, flags, 0) && len == 9, "%s: max-1 characters fit", mode);
  big[9] = 'x';
  (void)!write(sv[1], big, 20);
  errno = 0;
  ok(sam_getline(sv[0], b, 10, &len, flags, 0) < 0 && errno == EMSGSIZE, "%s: one more is EMSGSIZE", mode);
  n = rest(sv[0], big, sizeof big);
  (void)!write(sv[1], "ab\0cd\n", 6);
  errno = 0;
  ok(sam_getline(sv[0], b, sizeof b, &len, flags, 0) < 0 && errno == EPROTO, "%s: NUL byte is EPROTO", mode);
  n = rest(sv[0], big, sizeof big);

  t0 = now_ms();
  errno = 0;
  ok(sam_getline(sv[0], b, sizeof b, &len, flags, t0 + 150) < 0 && errno == ETIMEDOUT, "%s: nothing: ETIMEDOUT", mode);
  n = (size_t)(now_ms() - t0);
  ok(n >= 140 && n < 2000, "%s: after the deadline (%zu ms)", mode, n);
  (void)!write(sv[1], "partial", 7);
  errno = 0;
  ok(sam_getline(sv[0], b, sizeof b, &len, flags, now_ms() + 100) < 0 && errno == ETIMEDOUT, "%s: half a line: ETIMEDOUT", mode);
  n = rest(sv[0], big, sizeof big);
  errno = 0;
  ok(sam_getline(sv[0], b, sizeof b, &len, flags, now_ms() - 1) < 0 && errno == ETIMEDOUT, "%s: past deadline: ETIMEDOUT", mode);

  (void)!write(sv[1], "abc", 3);
  close(sv[1]);
  errno = 0;
  ok(sam_getline(sv[0], b, sizeof b, &len, flags, 0) < 0 && errno == EPIPE, "%s: EOF inside a line: EPIPE", mode);
  errno = 0;
  ok(sam_getline(sv[0], b, sizeof b, &len, flags, 0) < 0 && errno == EPIPE, "%s: EOF: EPIPE", mode);
  close(sv[0]);
}

/* A line that arrives in pieces, from a child, while we wait. */
static void test_getline_pieces(void)
{
  int sv[2], st;
  char b[64];
  size_t len, n;
  pid_t pid;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) { ok(0, "socketpair"); return; }
  pid = fork();
  if (!pid) {
    close(sv[0]);
    (void)!write(sv[1], "STREAM ", 7);
    usleep(50000);
    (void)!write(sv[1], "STATUS RESULT", 13);
    usleep(50000);
    (void)!write(sv[1], "=OK\n220 ready\r\n", 15);
    usleep(100000);
    _exit(0);
  }
  close(sv[1]);
  ok(!sam_getline(sv[0], b, sizeof b, &len, 0, now_ms() + 5000) && !strcmp(b, "STREAM STATUS RESULT=OK"), "a line in three pieces");
  n = rest(sv[0], b, sizeof b);
  ok(n == 11 && !memcmp(b, "220 ready\r\n", 11), "the bytes after it stay in the socket");
  waitpid(pid, &st, 0);
  close(sv[0]);
}

static void test_getline_pipe(void)
{
  int p[2];
  char b[64];
  size_t len, n;
  if (pipe(p) < 0) { ok(0, "pipe"); return; }
  (void)!write(p[1], "peer-line\nDATA", 14);
  ok(!sam_getline(p[0], b, sizeof b, &len, 0, now_ms() + 1000) && !strcmp(b, "peer-line"), "pipe: one line");
  n = rest(p[0], b, sizeof b);
  ok(n == 4 && !memcmp(b, "DATA", 4), "pipe: nothing read past the newline");
  close(p[1]);
  errno = 0;
  ok(sam_getline(p[0], b, sizeof b, &len, 0, now_ms() + 1000) < 0 && errno == EPIPE, "pipe: EOF");
  close(p[0]);
  ok(sam_getline(p[0], b, 1, &len, 0, 0) < 0 && errno == EINVAL, "max < 2: EINVAL");
}

/* ---- a fake SAM bridge ---- */

typedef struct step {
  char const *expect;   /* the line the client must send (no newline); NULL: none */
  char const *reply;    /* what to send back (verbatim); NULL: close */
  int pause_ms;         /* before replying */
} step;

/* The child's side: 0 when every line was as expected. */
static int serve(int fd, step const *script)
{
  char line[SAM_LINE_MAX + 1];
  size_t len;
  for (; script->expect || script->reply || script->pause_ms; script++) {
    if (script->expect) {
      if (sam_getline(fd, line, sizeof line, &len, SAM_BYTEWISE, now_ms() + 5000) < 0) return 1;
      if (strcmp(line, script->expect)) return 2;
    }
    if (script->pause_ms) usleep((useconds_t)script->pause_ms * 1000);
    if (!script->reply) { close(fd); return 0; }
    if (sam_put(fd, script->reply, strlen(script->reply), 0) < 0) return 3;
  }
  /* hold the connection until the client closes it */
  while (sam_getline(fd, line, sizeof line, &len, 0, now_ms() + 5000) == 0) ;
  return 0;
}

static pid_t fake_pair(sam *s, step const *script)
{
  int sv[2];
  pid_t pid;
  sam_init(s);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return -1;
  pid = fork();
  if (pid < 0) return -1;
  if (!pid) { close(sv[0]); _exit(serve(sv[1], script)); }
  close(sv[1]);
  s->fd = sv[0];
  s->minor = 1;
  return pid;
}

/* A listening socket on 127.0.0.1; its address into hp. */
static int listener(char *hp, size_t max)
{
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0
      || getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) return -1;
  snprintf(hp, max, "127.0.0.1:%u", (unsigned int)ntohs(sa.sin_port));
  return fd;
}

static pid_t fake_tcp(char *hp, size_t max, step const *script)
{
  pid_t pid;
  int l = listener(hp, max);
  if (l < 0) return -1;
  pid = fork();
  if (pid < 0) return -1;
  if (!pid) {
    int c = accept(l, 0, 0);
    _exit(c < 0 ? 9 : serve(c, script));
  }
  close(l);
  return pid;
}

static int reaped(pid_t pid)
{
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return 0;
  return WIFEXITED(st) && !WEXITSTATUS(st);
}

#define HELLO "HELLO VERSION MIN=3.1 MAX=3.3"

static void test_open(void)
{
  char hp[64];
  sam s;
  pid_t pid;
  int r;
  {
    step const sc[] = { { HELLO, "HELLO REPLY RESULT=OK VERSION=3.1\n", 0 }, { 0, 0, 0 } };
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 5000);
    ok(r == 0 && s.minor == 1 && s.fd >= 0, "sam_open: HELLO, version 3.1 (%s)", r ? s.err : "ok");
    ok((fcntl(s.fd, F_GETFD) & FD_CLOEXEC) && !(fcntl(s.fd, F_GETFL) & O_NONBLOCK), "socket is close-on-exec and blocking");
    sam_close(&s);
    ok(reaped(pid) && s.fd == -1, "fake SAM saw the HELLO");
  }
  {
    step const sc[] = { { HELLO, "PING 42\n", 0 }, { "PONG 42", "HELLO REPLY VERSION=3.3 RESULT=OK\n", 0 }, { 0, 0, 0 } };
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 5000);
    ok(r == 0 && s.minor == 3, "sam_open: a PING first is answered (%s)", r ? s.err : "ok");
    sam_close(&s);
    ok(reaped(pid), "fake SAM got its PONG");
  }
  {
    step const sc[] = { { HELLO, "HELLO REPLY RESULT=NOVERSION\n", 0 }, { 0, 0, 0 } };
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "NOVERSION"), "sam_open: NOVERSION is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { HELLO, "HELLO REPLY RESULT=OK VERSION=3.4\n", 0 }, { 0, 0, 0 } };
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 5000);
    ok(r == 111, "sam_open: VERSION=3.4 is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { HELLO, "HELLO REPLY VERSION=3.1\n", 0 }, { 0, 0, 0 } };
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "RESULT"), "sam_open: no RESULT is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { HELLO, 0, 0 }, { 0, 0, 0 } };
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "closed"), "sam_open: closed without a reply is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { HELLO, "", 500 }, { 0, 0, 0 } };
    int64_t t0 = now_ms();
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 200);
    ok(r == 111 && strstr(s.err, "timed out") && now_ms() - t0 < 900, "sam_open: silent bridge times out, 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    static char longreply[SAM_LINE_MAX + 100];
    step const sc[] = { { HELLO, longreply, 0 }, { 0, 0, 0 } };
    memset(longreply, 'A', sizeof longreply - 2);
    longreply[sizeof longreply - 2] = '\n';
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "too long"), "sam_open: overlong reply is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { HELLO, "HELLO REPLY RESULT=OK VERSION=3.1 X=\"\n", 0 }, { 0, 0, 0 } };
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "malformed"), "sam_open: malformed reply is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { HELLO, "SESSION STATUS RESULT=OK\n", 0 }, { 0, 0, 0 } };
    pid = fake_tcp(hp, sizeof hp, sc);
    sam_init(&s);
    r = sam_open(&s, hp, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "unexpected"), "sam_open: reply to something else is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    char closed[64];
    int l = listener(closed, sizeof closed);
    close(l);   /* nobody listens there now */
    sam_init(&s);
    r = sam_open(&s, closed, now_ms() + 2000);
    ok(r == 111 && strstr(s.err, "unable to connect") && strstr(s.err, "refused"), "sam_open: refused is 111 (%s)", s.err);
    r = sam_open(&s, "localhost:7656", now_ms() + 2000);
    ok(r == 100 && strstr(s.err, "malformed"), "sam_open: host name is 100 (%s)", s.err);
    errno = 0;
    ok(sam_connect("1.2.3.4", 0) < 0 && errno == EINVAL, "sam_connect: malformed address is EINVAL");
  }
}

static void test_commands(void)
{
  char line[3000], line2[3000];
  sam s;
  pid_t pid;
  int r;

  {
    snprintf(line, sizeof line, "SESSION CREATE STYLE=STREAM ID=e2e DESTINATION=%s inbound.length=0 outbound.length=0", PRIV);
    snprintf(line2, sizeof line2, "SESSION STATUS RESULT=OK DESTINATION=%s\n", PRIV);
    {
      step const sc2[] = { { line, line2, 0 }, { 0, 0, 0 } };
      pid = fake_pair(&s, sc2);
      r = sam_session_create(&s, "e2e", PRIV, "inbound.length=0 outbound.length=0", now_ms() + 5000);
      ok(r == 0, "SESSION CREATE: OK (%s)", r ? s.err : "ok");
      sam_close(&s);
      ok(reaped(pid), "SESSION CREATE: the command line as expected");
    }
  }
  {
    step const sc[] = { { 0, "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_session_create(&s, "e2e", PRIV, 0, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "I2P_ERROR") && strstr(s.err, "Unknown STYLE"), "SESSION CREATE: I2P_ERROR is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { 0, "SESSION STATUS RESULT=INVALID_KEY\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_session_create(&s, "e2e", PRIV, "", now_ms() + 5000);
    ok(r == 100, "SESSION CREATE: INVALID_KEY is 100 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  sam_init(&s);
  ok(sam_session_create(&s, "bad id", PRIV, 0, 0) == 100 && strstr(s.err, "session name"), "SESSION CREATE: bad id is 100");
  ok(sam_session_create(&s, "e2e", PUB, 0, 0) == 100 && strstr(s.err, "public destination"), "SESSION CREATE: public key is 100 (%s)", s.err);
  ok(sam_session_create(&s, "e2e", PRIV, "a=1\nSTREAM", 0) == 100 && strstr(s.err, "options"), "SESSION CREATE: newline in options is 100");
  ok(sam_session_create(&s, "e2e", PRIV, "a=\"1\"", 0) == 100, "SESSION CREATE: quote in options is 100");
  ok(sam_session_create(&s, "e2e", PRIV, "novalue", 0) == 100, "SESSION CREATE: option without = is 100");
  ok(sam_stream_connect(&s, "e2e", "a b", 0, 0) == 100, "STREAM CONNECT: blank in destination is 100");
  ok(sam_stream_connect(&s, "e2e", "x.i2p\n", 0, 0) == 100, "STREAM CONNECT: newline in destination is 100");
  ok(sam_stream_connect(&s, "", "x.i2p", 0, 0) == 100, "STREAM CONNECT: empty id is 100");
  ok(sam_naming_lookup(&s, "", 0) == 100, "NAMING LOOKUP: empty name is 100");

  {
    char data[64];
    ssize_t n;
    step const sc[] = { { "STREAM CONNECT ID=e2e DESTINATION=thebuilder.i2p SILENT=false",
                          "STREAM STATUS RESULT=OK\n220 thebuilder.i2p ESMTP\r\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_stream_connect(&s, "e2e", "thebuilder.i2p", 25, now_ms() + 5000);
    ok(r == 0, "STREAM CONNECT: OK (%s); no TO_PORT for SAM 3.1", r ? s.err : "ok");
    n = read(s.fd, data, sizeof data);
    ok(n == 26 && !memcmp(data, "220 thebuilder.i2p ESMTP\r\n", 26), "STREAM CONNECT: the peer's first bytes are left on the socket");
    sam_close(&s);
    ok(reaped(pid), "STREAM CONNECT: the command line as expected");
  }
  {
    step const sc[] = { { "STREAM CONNECT ID=e2e DESTINATION=x.i2p SILENT=false TO_PORT=2525", "STREAM STATUS RESULT=OK\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    s.minor = 3;
    r = sam_stream_connect(&s, "e2e", "x.i2p", 2525, now_ms() + 5000);
    sam_close(&s);
    ok(r == 0 && reaped(pid), "STREAM CONNECT: TO_PORT for SAM 3.3");
  }
  {
    step const sc[] = { { 0, "STREAM STATUS RESULT=CANT_REACH_PEER\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_stream_connect(&s, "e2e", PUB, 0, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "CANT_REACH_PEER"), "STREAM CONNECT: CANT_REACH_PEER is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { 0, "STREAM STATUS RESULT=INVALID_KEY\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_stream_connect(&s, "e2e", "nosuch.i2p", 0, now_ms() + 5000);
    ok(r == 100, "STREAM CONNECT: INVALID_KEY is 100 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { 0, "STREAM STATUS RESULT=INVALID_ID\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_stream_connect(&s, "e2e", "x.i2p", 0, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "no such session"), "STREAM CONNECT: INVALID_ID is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { 0, "STREAM STATUS RESULT=TIMEOUT\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_stream_connect(&s, "e2e", "x.i2p", 0, now_ms() + 5000);
    ok(r == 111, "STREAM CONNECT: TIMEOUT is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    char data[64];
    ssize_t n;
    snprintf(line, sizeof line, "STREAM STATUS RESULT=OK\n%s\nEHLO x\r\n", PUB);
    {
      step const sc[] = { { "STREAM ACCEPT ID=e2e SILENT=false", line, 0 }, { 0, 0, 0 } };
      char addr[I2P_B32_ADDR_LEN + 1];
      pid = fake_pair(&s, sc);
      r = sam_stream_accept(&s, "e2e", now_ms() + 5000);
      ok(r == 0, "STREAM ACCEPT: OK (%s)", r ? s.err : "ok");
      r = sam_accept_peer(&s, now_ms() + 5000);
      ok(r == 0 && s.peer && s.peerlen == 524 && !strcmp(s.peer, PUB), "accept: the peer's destination (%s)", r ? s.err : "ok");
      i2p_b32_address(addr, s.peerdest, s.peerd.len);
      ok(s.peerd.len == 391 && !strcmp(addr, "5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfq.b32.i2p"), "accept: decoded, b32 %s", addr);
      ok(!s.fromport && !s.toport, "accept: no ports from i2pd");
      n = read(s.fd, data, sizeof data);
      ok(n == 8 && !memcmp(data, "EHLO x\r\n", 8), "accept: the peer's first bytes are left on the socket");
      sam_close(&s);
      ok(reaped(pid), "STREAM ACCEPT: the command line as expected");
    }
  }
  {
    snprintf(line, sizeof line, "%s FROM_PORT=1234 TO_PORT=25\n", PUB);
    {
      step const sc[] = { { 0, line, 0 }, { 0, 0, 0 } };
      pid = fake_pair(&s, sc);
      r = sam_accept_peer(&s, now_ms() + 5000);
      ok(r == 0 && s.fromport == 1234 && s.toport == 25 && !strcmp(s.peer, PUB), "accept: Java's FROM_PORT and TO_PORT (%s)", r ? s.err : "ok");
      sam_close(&s);
      reaped(pid);
    }
  }
  {
    static char const *badpeer[] = {
      "STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"Session closed\"\n",
      "hello\n",
      "\n",
      0, 0, 0, 0,
    };
    char l1[1200], l2[1200], l3[1200], l4[1200];
    unsigned int i;
    snprintf(l1, sizeof l1, "%s\n", PRIV);
    snprintf(l2, sizeof l2, "%s TO_PORT=70000\n", PUB);
    snprintf(l3, sizeof l3, "%.500s\n", PUB);
    snprintf(l4, sizeof l4, "%s junk\n", PUB);
    badpeer[3] = l1; badpeer[4] = l2; badpeer[5] = l3; badpeer[6] = l4;
    for (i = 0; i < 7; i++) {
      step const sc[] = { { 0, badpeer[i], 0 }, { 0, 0, 0 } };
      pid = fake_pair(&s, sc);
      r = sam_accept_peer(&s, now_ms() + 5000);
      ok(r == 111 && !s.peer, "accept: bad peer line %u is 111 (%s)", i, s.err);
      sam_close(&s);
      reaped(pid);
    }
  }
  {
    step const sc[] = { { 0, 0, 1 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_accept_peer(&s, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "closed"), "accept: EOF is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    snprintf(line, sizeof line, "DEST REPLY PUB=%s PRIV=%s\n", PUB, PRIV);
    {
      step const sc[] = { { "DEST GENERATE SIGNATURE_TYPE=7", line, 0 }, { 0, 0, 0 } };
      pid = fake_pair(&s, sc);
      r = sam_dest_generate(&s, 7, now_ms() + 5000);
      ok(r == 0 && !strcmp(sam_reply_get(&s.reply, "PRIV"), PRIV) && !strcmp(sam_reply_get(&s.reply, "PUB"), PUB),
         "DEST GENERATE: PUB and PRIV (%s)", r ? s.err : "ok");
      sam_close(&s);
      ok(reaped(pid), "DEST GENERATE: the command line as expected");
    }
  }
  {
    snprintf(line, sizeof line, "DEST REPLY PUB=%s PRIV=%s\n", PUB, PRIV2);
    {
      step const sc[] = { { 0, line, 0 }, { 0, 0, 0 } };
      pid = fake_pair(&s, sc);
      r = sam_dest_generate(&s, 7, now_ms() + 5000);
      ok(r == 111 && strstr(s.err, "PUB"), "DEST GENERATE: PUB not PRIV's is 111 (%s)", s.err);
      sam_close(&s);
      reaped(pid);
    }
  }
  {
    snprintf(line, sizeof line, "DEST REPLY PUB=%s\n", PUB);
    {
      step const sc[] = { { 0, line, 0 }, { 0, 0, 0 } };
      pid = fake_pair(&s, sc);
      r = sam_dest_generate(&s, 7, now_ms() + 5000);
      ok(r == 111, "DEST GENERATE: no PRIV is 111 (%s)", s.err);
      sam_close(&s);
      reaped(pid);
    }
  }
  {
    snprintf(line, sizeof line, "DEST REPLY PUB=%s PRIV=%s\n", PUB, PUB);
    {
      step const sc[] = { { 0, line, 0 }, { 0, 0, 0 } };
      pid = fake_pair(&s, sc);
      r = sam_dest_generate(&s, 7, now_ms() + 5000);
      ok(r == 111 && strstr(s.err, "unusable private key"), "DEST GENERATE: PRIV that is a destination is 111 (%s)", s.err);
      sam_close(&s);
      reaped(pid);
    }
  }
  {
    step const sc[] = { { 0, "DEST REPLY RESULT=I2P_ERROR MESSAGE=\"no\"\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_dest_generate(&s, 7, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "I2P_ERROR"), "DEST GENERATE: I2P_ERROR is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    snprintf(line, sizeof line, "NAMING REPLY RESULT=OK NAME=thebuilder.i2p VALUE=%s\n", PUB);
    {
      step const sc[] = { { "NAMING LOOKUP NAME=thebuilder.i2p", line, 0 }, { 0, 0, 0 } };
      pid = fake_pair(&s, sc);
      r = sam_naming_lookup(&s, "thebuilder.i2p", now_ms() + 5000);
      ok(r == 0 && !strcmp(sam_reply_get(&s.reply, "VALUE"), PUB), "NAMING LOOKUP: OK (%s)", r ? s.err : "ok");
      sam_close(&s);
      ok(reaped(pid), "NAMING LOOKUP: the command line as expected");
    }
  }
  {
    step const sc[] = { { 0, "NAMING REPLY RESULT=INVALID_KEY NAME=nosuch.i2p\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_naming_lookup(&s, "nosuch.i2p", now_ms() + 5000);
    ok(r == 100, "NAMING LOOKUP: INVALID_KEY (i2pd's not found) is 100 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { 0, "NAMING REPLY RESULT=KEY_NOT_FOUND NAME=nosuch.i2p\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_naming_lookup(&s, "nosuch.i2p", now_ms() + 5000);
    ok(r == 100, "NAMING LOOKUP: KEY_NOT_FOUND (Java's not found) is 100 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { 0, "NAMING REPLY RESULT=OK NAME=nosuch.i2p VALUE=garbage\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_naming_lookup(&s, "nosuch.i2p", now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "VALUE"), "NAMING LOOKUP: malformed VALUE is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    snprintf(line, sizeof line, "NAMING REPLY RESULT=OK NAME=other.i2p VALUE=%s\n", PUB);
    {
      step const sc[] = { { 0, line, 0 }, { 0, 0, 0 } };
      pid = fake_pair(&s, sc);
      r = sam_naming_lookup(&s, "nosuch.i2p", now_ms() + 5000);
      ok(r == 111 && strstr(s.err, "another name"), "NAMING LOOKUP: answer for another name is 111 (%s)", s.err);
      sam_close(&s);
      reaped(pid);
    }
  }
  {
    step const sc[] = { { 0, "PING abc\n", 0 }, { "PONG abc", 0, 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_control(&s, now_ms() + 5000);
    ok(r == 0, "control socket: PING answered (%s)", r ? s.err : "ok");
    r = sam_control(&s, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "closed the session"), "control socket: EOF is 111 (%s)", s.err);
    sam_close(&s);
    ok(reaped(pid), "control socket: fake SAM got its PONG");
  }
  {
    step const sc[] = { { 0, "STREAM STATUS RESULT=OK\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_control(&s, now_ms() + 5000);
    ok(r == 111 && strstr(s.err, "unexpected"), "control socket: anything but PING is 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { 0, "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"bad\x01\x7f\"\n", 0 }, { 0, 0, 0 } };
    pid = fake_pair(&s, sc);
    r = sam_session_create(&s, "e2e", PRIV, 0, now_ms() + 5000);
    ok(r == 111, "quoted MESSAGE with control bytes is malformed: 111 (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
  {
    step const sc[] = { { 0, "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"caf\xc3\xa9\"\n", 0 }, { 0, 0, 0 } };
    size_t i;
    int clean = 1;
    pid = fake_pair(&s, sc);
    r = sam_session_create(&s, "e2e", PRIV, 0, now_ms() + 5000);
    for (i = 0; s.err[i]; i++) if (s.err[i] < 32 || s.err[i] > 126) clean = 0;
    ok(r == 111 && clean && strstr(s.err, "caf??"), "err is printable ASCII (%s)", s.err);
    sam_close(&s);
    reaped(pid);
  }
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  make_keys();
  test_parse();
  test_results();
  test_pong();
  test_hostport();
  test_getline_mode(0, "peek");
  test_getline_mode(SAM_BYTEWISE, "bytewise");
  test_getline_pieces();
  test_getline_pipe();
  test_open();
  test_commands();
  return done();
}
