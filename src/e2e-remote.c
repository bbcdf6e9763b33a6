/* e2e-remote DOMAIN SENDER RCPT...: delivers the message on fd 0 (LF line
 * ends) to DOMAIN's mail server over I2P, qmail-remote style. A route of
 * HOME/routes names the server (a host name looked up with SAM NAMING
 * LOOKUP; "*" for every domain outside .i2p, e.g. through Postman's
 * gateway), else e2e-resolve does; a fresh SAM connection STREAM CONNECTs
 * to it through the running session ($E2E_SAM_ID), so the peer sees our
 * published destination; then plain SMTP (PIPELINING, SIZE, 8BITMIME when
 * offered), with AUTH PLAIN or LOGIN first for a route marked "auth"
 * (credentials from HOME/auth).
 * Prints one line per RCPT on stdout, in order: "K text" delivered,
 * "Z text" temporary failure, "D text" permanent failure; exits 0 once
 * the report is written. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/wait.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"
#include "sam.h"

char const *PROG = "e2e-remote";

#define USAGE "e2e-remote DOMAIN SENDER RCPT..."
#define LINE_MAX_ 1024        /* a reply line, CRLF included */
#define LINES_MAX 100         /* lines in one reply */
#define TEXT_MAX 480          /* a report line's text */
#define RESOLVE_OUT 4096      /* e2e-resolve's stdout, at most */
#define RESOLVE_ERR 65536     /* its stderr passed on to ours, at most */
#define CHUNK 65536
#define QUIT_WAIT 10000       /* ms for the reply to QUIT */

static char const *domain, *sender, *helo, *samaddr, *samid, *home;
static char const *const *rcpt;
static unsigned int nr, naccepted;
static char state[RCPT_MAX];              /* 0 to do, 'A' accepted at RCPT, or K Z D */
static char text[RCPT_MAX][TEXT_MAX];
static int64_t t0, tresolve, tconnect, tgreet, tcmd, tdata;
static char peer[I2P_B32_ADDR_LEN + 1] = "-", dest[I2P_DEST_B64_MAX + 1];
static unsigned int port;
static sam s;
static rbuf in;
static int connected, pipelining, eightbit, hassize;
static int authwant, authplain, authlogin;  /* the route logs in; the peer offers PLAIN, LOGIN */
static char auser[AUTH_USER_MAX + 1], apw[AUTH_PW_MAX + 1];
static uint64_t sizelimit, msgsize;
static int rcode;                         /* the last reply ... */
static char rtext[384];                   /* ... and its text, printable */

/* Bytes outside 32..126 as '?': report and log lines stay one line. */
#define printable log_printable
#define say(...) log_fmt("", __VA_ARGS__)

/* Sets the result c of every recipient still open (to do or accepted). */
static void all(char c, char const *fmt, ...)
{
  char t[TEXT_MAX];
  unsigned int i;
  va_list a;
  va_start(a, fmt);
  vsnprintf(t, sizeof t, fmt, a);
  va_end(a);
  printable(t);
  for (i = 0; i < nr; i++)
    if (!state[i] || state[i] == 'A') { state[i] = c; memcpy(text[i], t, sizeof t); }
}
static char cls(int code) { return code >= 500 ? 'D' : 'Z'; }
static int64_t after(int64_t ms) { return now_ms() + ms; }

/* ---- the end: the report, then QUIT ---- */
static void finish(void) __attribute__((noreturn));
static void finish(void)
{
  static char rep[RCPT_MAX * (TEXT_MAX + 3)];
  size_t n = 0;
  unsigned int i, k[3] = { 0, 0, 0 };
  for (i = 0; i < nr; i++) {
    char c = state[i] == 'K' || state[i] == 'D' ? state[i] : 'Z';
    if (c != state[i]) snprintf(text[i], TEXT_MAX, "no result from %s (#4.4.0)", peer);
    n += (size_t)snprintf(rep + n, sizeof rep - n, "%c %s\n", c, text[i]);
    k[c == 'K' ? 0 : c == 'Z' ? 1 : 2]++;
    say("rcpt to=<%s> result=%c text=\"%s\"", rcpt[i], c, text[i]);
  }
  if (write_all(1, rep, n) < 0) strerr_diefu1sys(E2E_TEMP, "write the report");
  close(1);
  if (connected) {
    int64_t d = after(tcmd < QUIT_WAIT ? tcmd : QUIT_WAIT);
    size_t len;
    char line[LINE_MAX_];
    if (!sam_put(s.fd, "QUIT\r\n", 6, d)) line_get(&in, line, sizeof line, &len, d);
  }
  sam_close(&s);
  say("done domain=%s peer=%s delivered=%u deferred=%u failed=%u ms=%lld",
      domain, peer, k[0], k[1], k[2], (long long)(now_ms() - t0));
  _exit(E2E_OK);
}

/* The server's destination w into peer, dest and port. */
static void use(i2p_wellknown const *w)
{
  size_t k;
  i2p_b32_of_hash(peer, w->hash);
  if (w->full) { k = i2p_b64_encode(dest, w->dest, w->d.len); dest[k] = 0; }
  else strcpy(dest, peer);
  port = w->port;
}

/* ---- e2e-resolve ---- */
/* The reason in the resolver's last log line, without "PROG: fatal: ". */
static char const *reason(char *last)
{
  char *p = strstr(last, ": ");
  if (p && p - last < 40 && !memchr(last, ' ', (size_t)(p - last))) last = p + 2;
  if (!strncmp(last, "fatal: ", 7) || !strncmp(last, "warning: ", 9)) last = strchr(last, ' ') + 1;
  printable(last);
  return *last ? last : "no reason given";
}

static void resolve(void)
{
  static char out[RESOLVE_OUT + 1];
  char last[256], cur[256], buf[4096];
  char const *argv[] = { "e2e-resolve", domain, 0 };
  size_t on = 0, cn = 0, en = 0, i;
  struct pollfd p[2];
  int o[2], e[2], st, nul, open_ = 2, killed = 0, c;
  int64_t d = after(tresolve), t = now_ms();
  i2p_wellknown w;
  pid_t pid;
  last[0] = 0;
  nul = openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
  if (nul < 0 || pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
    all('Z', "unable to run e2e-resolve: %s (#4.3.0)", strerror(errno));
    finish();
  }
  if (!pid) {
    if (dup2(nul, 0) < 0 || dup2(o[1], 1) < 0 || dup2(e[1], 2) < 0) _exit(E2E_TEMP);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], (char *const *)argv);
    strerr_diefu2sys(E2E_TEMP, "run ", argv[0]);
  }
  close(nul); close(o[1]); close(e[1]);
  p[0].fd = o[0]; p[1].fd = e[0];
  p[0].events = p[1].events = POLLIN;
  while (open_) {
    int64_t left = d - now_ms();
    if (left <= 0 || (poll(p, 2, (int)(left > 60000 ? 60000 : left)) < 0 && errno != EINTR)) break;
    for (c = 0; c < 2; c++) {
      ssize_t r;
      if (p[c].fd < 0 || !p[c].revents) continue;
      r = read(p[c].fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) { close(p[c].fd); p[c].fd = -1; open_--; continue; }
      if (!c) {
        if (on + (size_t)r > RESOLVE_OUT) on = RESOLVE_OUT + 1;
        else { memcpy(out + on, buf, (size_t)r); on += (size_t)r; }
        continue;
      }
      if (en < RESOLVE_ERR) { write_all(2, buf, (size_t)r); en += (size_t)r; }
      for (i = 0; i < (size_t)r; i++) {
        if (buf[i] == '\n') { if (cn) { memcpy(last, cur, cn); last[cn] = 0; } cn = 0; }
        else if (cn < sizeof cur - 1) cur[cn++] = buf[i];
      }
    }
  }
  if (p[0].fd >= 0) close(p[0].fd);
  if (p[1].fd >= 0) close(p[1].fd);
  for (;;) {   /* it may linger after closing its output: the deadline holds */
    pid_t got = waitpid(pid, &st, killed ? 0 : WNOHANG);
    if (got == pid) break;
    if (got < 0 && errno != EINTR) { st = E2E_TEMP << 8; break; }
    if (!got && now_ms() >= d) { kill(pid, SIGKILL); killed = 1; }
    else if (!got) usleep(10000);
  }
  if (cn) { memcpy(last, cur, cn); last[cn] = 0; }
  c = killed ? E2E_TEMP : exit_class(st);
  say("resolve domain=%s result=%d ms=%lld", domain, c, (long long)(now_ms() - t));
  if (killed) { all('Z', "e2e-resolve %s timed out (#4.4.3)", domain); finish(); }
  if (c == E2E_PERM) { all('D', "no mail server published for %s: %s (#5.1.2)", domain, reason(last)); finish(); }
  if (c) { all('Z', "cannot find the mail server of %s now: %s (#4.4.3)", domain, reason(last)); finish(); }
  if (on > RESOLVE_OUT || i2p_wellknown_parse(&w, out, on)) {
    all('Z', "e2e-resolve gave no usable destination for %s (#4.3.0)", domain);
    finish();
  }
  use(&w);
}

/* ---- HOME/routes, and HOME/auth for a route that logs in ---- */
static void credentials(char const *host)
{
  char err[512];
  int r = auth_find(home, host, auser, apw, err, sizeof err);
  if (r > 0) { authwant = 1; return; }
  say("auth domain=%s target=%s result=none reason=\"%s\"", domain, host, err);
  all('Z', "cannot log in to %s: %s (#4.7.0)", host, err);
  finish();
}

/* A route for the domain (or "*" for one outside .i2p) names the server,
 * and whether to log in; without one e2e-resolve does. */
static void target(void)
{
  static i2p_wellknown w;
  route r;
  char err[512];
  int x = home ? routes_read(home, domain, &r, &w, err, sizeof err) : 0;
  if (x < 0) { say("route domain=%s result=error reason=\"%s\"", domain, err); all('Z', "%s (#4.3.5)", err); finish(); }
  if (!x) { resolve(); return; }
  if (r.byname && routes_lookup(&r, &w, samaddr, after(tresolve), err, sizeof err)) {
    say("route domain=%s line=%u target=%s result=temp reason=\"%s\"", domain, r.line, r.target, err);
    all('Z', "%s (#4.4.3)", err);
    finish();
  }
  use(&w);
  say("route domain=%s line=%u target=%s peer=%s port=%u auth=%s", domain, r.line, r.target, peer, port,
      r.auth ? "yes" : "no");
  if (r.auth) credentials(r.target);
}

/* ---- SMTP ---- */
/* The mechanisms of an AUTH extension line. */
static void mechs(char *a)
{
  while (*a) {
    size_t n = strcspn(a, " ");
    if (n == 5 && !strncasecmp(a, "PLAIN", 5)) authplain = 1;
    if (n == 5 && !strncasecmp(a, "LOGIN", 5)) authlogin = 1;
    a += n + strspn(a + n, " ");
  }
}

static void ext(char *l)
{
  char *a = l + strcspn(l, " ");
  uint64_t v;
  if (*a) *a++ = 0;
  if (!strcasecmp(l, "AUTH")) mechs(a);
  else if (!strncasecmp(l, "AUTH=", 5)) { mechs(l + 5); mechs(a); }
  else if (!strcasecmp(l, "PIPELINING")) pipelining = 1;
  else if (!strcasecmp(l, "8BITMIME")) eightbit = 1;
  else if (!strcasecmp(l, "SIZE")) { hassize = 1; if (scan_u64(a, UINT64_MAX, &v)) sizelimit = v; }
}

/* Reads one whole reply by the deadline into rcode and rtext: 0, or -1
 * (rtext says why) when the peer timed out, went away or sent something
 * malformed. With ehlo, its lines after the first are extensions. */
static int reply(int64_t deadline, int ehlo)
{
  char l[LINE_MAX_ + 1];
  size_t n, w = 0;
  unsigned int k;
  int code = 0, c;
  rtext[0] = 0;
  for (k = 0;; k++) {
    switch (line_get(&in, l, LINE_MAX_, &n, deadline)) {
      case LINE_ERR:
        snprintf(rtext, sizeof rtext, "%s", errno == ETIMEDOUT ? "timed out" : strerror(errno));
        return -1;
      case LINE_EOF: strcpy(rtext, "connection closed"); return -1;
      case LINE_LONG: strcpy(rtext, "reply line too long"); return -1;
    }
    if (k >= LINES_MAX) { strcpy(rtext, "reply of too many lines"); return -1; }
    if (--n && l[n - 1] == '\r') n--;
    l[n] = 0;
    if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9'
        || (n > 3 && l[3] != ' ' && l[3] != '-') || strlen(l) != n) {
      strcpy(rtext, "malformed reply");
      return -1;
    }
    c = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    if (k && c != code) { strcpy(rtext, "reply lines with different codes"); return -1; }
    code = c;
    if (!k) w = (size_t)snprintf(rtext, sizeof rtext, "%d", c);
    if (n > 4 && w < sizeof rtext - 1) w += (size_t)snprintf(rtext + w, sizeof rtext - w, " %s", l + 4);
    if (w > sizeof rtext - 1) w = sizeof rtext - 1;
    if (ehlo && k && n > 4) ext(l + 4);
    if (n == 3 || l[3] == ' ') break;
  }
  printable(rtext);
  rcode = code;
  return 0;
}

static void get(int64_t deadline, char const *what)
{
  if (reply(deadline, 0) < 0) { connected = 0; all('Z', "%s: %s %s (#4.4.2)", peer, rtext, what); finish(); }
}

static void put(char const *b, size_t n)
{
  if (sam_put(s.fd, b, n, after(tcmd)) < 0) {
    connected = 0;
    all('Z', "%s: unable to write: %s (#4.4.2)", peer, errno == ETIMEDOUT ? "timed out" : strerror(errno));
    finish();
  }
}

/* RCPT reply for recipient i */
static void rcpt_reply(unsigned int i)
{
  if (state[i]) return;
  if (rcode >= 200 && rcode < 300) { state[i] = 'A'; naccepted++; return; }
  state[i] = cls(rcode);
  snprintf(text[i], TEXT_MAX, "%s does not like recipient: %s", peer, rtext);
}

/* One AUTH step: a line (base64 text after the prefix) and its reply. */
static void step(char const *prefix, char const *raw, size_t n)
{
  static char b[2 * (AUTH_USER_MAX + AUTH_PW_MAX) + 32];
  size_t k = (size_t)snprintf(b, sizeof b, "%s", prefix);
  if (raw) k += b64_encode(b + k, raw, n);
  memcpy(b + k, "\r\n", 2);
  put(b, k + 2);
  explicit_bzero(b, sizeof b);
  get(after(tcmd), "after AUTH");
}

/* SMTP AUTH (RFC 4954): PLAIN when offered, else LOGIN. */
static void login(void)
{
  static char raw[AUTH_USER_MAX + AUTH_PW_MAX + 3];
  size_t u = strlen(auser), p = strlen(apw);
  char const *mech = authplain ? "PLAIN" : "LOGIN";
  if (!authplain && !authlogin) {
    say("auth peer=%s user=%s result=none reason=\"no AUTH PLAIN or LOGIN offered\"", peer, auser);
    all('Z', "%s offers no AUTH PLAIN or LOGIN, and the route logs in (#4.7.0)", peer);
    finish();
  }
  if (authplain) {
    raw[0] = 0;
    memcpy(raw + 1, auser, u + 1);
    memcpy(raw + u + 2, apw, p);
    step("AUTH PLAIN ", raw, u + p + 2);
    explicit_bzero(raw, sizeof raw);
  } else {
    step("AUTH LOGIN", 0, 0);
    if (rcode == 334) step("", auser, u);
    if (rcode == 334) step("", apw, p);
  }
  explicit_bzero(apw, sizeof apw);
  say("auth peer=%s user=%s mech=%s result=%d", peer, auser, mech, rcode);
  if (rcode >= 200 && rcode < 300) return;
  all(rcode == 334 ? 'Z' : cls(rcode), "%s refused our login as %s: %s", peer, auser, rtext);
  finish();
}

/* The message: LF to CRLF, dot-stuffed, then "." and its reply. */
static void body(void)
{
  static char ib[CHUNK], ob[2 * CHUNK + 8];
  int bol = 1;
  for (;;) {
    ssize_t r = read(0, ib, sizeof ib), i;
    size_t o = 0;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      all('Z', "unable to read the message: %s (#4.3.0)", strerror(errno));
      connected = 0;   /* no QUIT, no ".": the peer drops what it got */
      finish();
    }
    if (!r) break;
    for (i = 0; i < r; i++) {
      char c = ib[i];
      if (bol && c == '.') ob[o++] = '.';
      if (c == '\n') { ob[o++] = '\r'; ob[o++] = '\n'; }
      else ob[o++] = c;
      bol = c == '\n';
    }
    put(ob, o);
  }
  put(bol ? ".\r\n" : "\r\n.\r\n", bol ? 3 : 5);
  get(after(tdata), "after the message");
  if (rcode >= 200 && rcode < 300) all('K', "%s accepted the message: %s", peer, rtext);
  else all(cls(rcode), "%s refused the message: %s", peer, rtext);
}

/* Size with CRLF line ends (SIZE=); 0 when fd 0 cannot be measured. */
static uint64_t measure(void)
{
  static char b[CHUNK];
  struct stat st;
  off_t at = lseek(0, 0, SEEK_CUR), off;
  uint64_t n = 0;
  if (at < 0 || fstat(0, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < at) return 0;
  for (off = at;;) {
    ssize_t r = pread(0, b, sizeof b, off), i;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (i = 0; i < r; i++) n += 1 + (b[i] == '\n');
    off += r;
  }
  return n;
}

static void smtp(void)
{
  static char cmd[RCPT_MAX * (ADDR_MAX + 16) + 2 * ADDR_MAX];
  size_t n = 0;
  unsigned int i;
  char sent[RCPT_MAX];
  int mailok;
  rbuf_init(&in, s.fd, 0);
  get(after(tgreet), "waiting for the greeting");
  /* RFC 5321 4.3.2: 220, or 554 for no service (permanent). Anything else
   * is not a greeting at all (seen under load over I2P: replies of another
   * session): try again later rather than bounce. */
  if (rcode != 220) { all(rcode == 554 ? 'D' : 'Z', "%s greeted us with: %s", peer, rtext); finish(); }
  n = (size_t)snprintf(cmd, sizeof cmd, "EHLO %s\r\n", helo);
  put(cmd, n);
  if (reply(after(tcmd), 1) < 0) { connected = 0; all('Z', "%s: %s after EHLO (#4.4.2)", peer, rtext); finish(); }
  if (rcode >= 500) {
    pipelining = eightbit = hassize = 0;
    n = (size_t)snprintf(cmd, sizeof cmd, "HELO %s\r\n", helo);
    put(cmd, n);
    get(after(tcmd), "after HELO");
  }
  if (rcode < 200 || rcode > 299) { all(cls(rcode), "%s refused our greeting: %s", peer, rtext); finish(); }
  if (authwant) login();
  if (hassize && sizelimit && msgsize > sizelimit) {
    all('D', "message too big for %s: %llu bytes, it takes %llu (#5.3.4)", peer,
        (unsigned long long)msgsize, (unsigned long long)sizelimit);
    finish();
  }
  n = (size_t)snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>", sender);
  if (hassize && msgsize) n += (size_t)snprintf(cmd + n, sizeof cmd - n, " SIZE=%llu", (unsigned long long)msgsize);
  if (eightbit) n += (size_t)snprintf(cmd + n, sizeof cmd - n, " BODY=8BITMIME");
  n += (size_t)snprintf(cmd + n, sizeof cmd - n, "\r\n");
  for (i = 0; i < nr; i++) sent[i] = !state[i];
  if (pipelining) {    /* MAIL, every RCPT and DATA in one go */
    for (i = 0; i < nr; i++)
      if (!state[i]) n += (size_t)snprintf(cmd + n, sizeof cmd - n, "RCPT TO:<%s>\r\n", rcpt[i]);
    n += (size_t)snprintf(cmd + n, sizeof cmd - n, "DATA\r\n");
  }
  put(cmd, n);
  get(after(tcmd), "after MAIL");
  mailok = rcode >= 200 && rcode < 300;
  if (!mailok) all(cls(rcode), "%s does not like sender <%s>: %s", peer, sender, rtext);
  if (!mailok && !pipelining) finish();
  for (i = 0; i < nr; i++) {
    if (!sent[i]) continue;
    if (!pipelining) {
      n = (size_t)snprintf(cmd, sizeof cmd, "RCPT TO:<%s>\r\n", rcpt[i]);
      put(cmd, n);
    }
    get(after(tcmd), "after RCPT");
    rcpt_reply(i);
  }
  if (!pipelining) {
    if (!naccepted) finish();
    put("DATA\r\n", 6);
  }
  get(after(tcmd), "after DATA");
  if (rcode == 354 && naccepted) { body(); finish(); }
  if (rcode == 354) { put(".\r\n", 3); get(after(tdata), "after an empty message"); finish(); }
  all(cls(rcode), "%s refused DATA: %s", peer, rtext);
  finish();
}

/* DOMAIN as the domain of an address would have to be. */
static int domain_ok(char const *d)
{
  char in[ADDR_MAX], out[ADDR_MAX];
  size_t n = strlen(d);
  if (n + 2 >= ADDR_MAX) return 0;
  memcpy(in, "x@", 2);
  memcpy(in + 2, d, n);
  return !addr_check(in, n + 2, out);
}

int main(int argc, char const *const *argv)
{
  unsigned int i;
  int r;
  int64_t t;
  char a[ADDR_MAX];
  if (argc < 4 || argc - 3 > RCPT_MAX || argv[1][0] == '-') strerr_dieusage(E2E_PERM, USAGE);
  setuid_enter("queue");   /* HOME/libexec/e2e-remote: for the runner only */
  domain = argv[1]; sender = argv[2]; rcpt = argv + 3; nr = (unsigned int)argc - 3;
  helo = env_need("E2E_DOMAIN");
  if (!domain_ok(helo)) strerr_dief2x(E2E_PERM, "variable E2E_DOMAIN is malformed: ", helo);
  samaddr = env_str("E2E_SAM", SAM_DEFAULT);
  samid = env_str("E2E_SAM_ID", "e2e");
  home = env_str("E2E_HOME", 0);   /* set by setuid_enter; unset: no routes */
  tresolve = (int64_t)env_uint("E2E_REMOTE_RESOLVE", 300, 1, 86400) * 1000;
  tconnect = (int64_t)env_uint("E2E_REMOTE_CONNECT", 180, 1, 86400) * 1000;
  tgreet = (int64_t)env_uint("E2E_REMOTE_GREETING", 120, 1, 86400) * 1000;
  tcmd = (int64_t)env_uint("E2E_REMOTE_COMMAND", 300, 1, 86400) * 1000;
  tdata = (int64_t)env_uint("E2E_REMOTE_DATA", 600, 1, 86400) * 1000;
  signal(SIGPIPE, SIG_IGN);
  sam_init(&s);
  t0 = now_ms();

  for (i = 0; i < nr; i++)
    if ((r = addr_check(rcpt[i], strlen(rcpt[i]), a))) {
      state[i] = 'D';
      snprintf(text[i], TEXT_MAX, "malformed recipient address: %s (#5.1.3)", addr_reason(r));
    }
  if (*sender && (r = addr_check(sender, strlen(sender), a))) all('D', "malformed sender address: %s (#5.1.7)", addr_reason(r));
  if (!domain_ok(domain)) all('D', "malformed domain (#5.1.2)");
  for (i = 0; i < nr && state[i]; i++) ;
  if (i == nr) finish();
  msgsize = measure();

  target();
  t = after(tconnect);
  r = sam_open(&s, samaddr, t);
  if (!r) r = sam_stream_connect(&s, samid, dest, port, t);
  say("connect domain=%s peer=%s port=%u result=%d ms=%lld%s%s", domain, peer, port, r,
      (long long)(now_ms() - t0), r ? " error=" : "", r ? s.err : "");
  if (r) { all('Z', "cannot reach %s: %s (#4.4.1)", peer, s.err); finish(); }
  connected = 1;
  r = 1;   /* we write whole commands and big chunks: Nagle only delays */
  setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &r, sizeof r);
  smtp();
  return 0;
}
