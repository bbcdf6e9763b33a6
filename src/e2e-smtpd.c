/* e2e-smtpd: SMTP server on fds 0/1. PROTO=TCP: local submission (AUTH
 * required, sender must be the user's own address). PROTO=SAM: mail from
 * I2P (sender checked by $E2E_VERIFY, local recipients only). Each message
 * goes to $E2E_QUEUE (submitted mail with only local recipients to
 * $E2E_QUEUELOCAL when that is set): message on its fd 0, envelope on its
 * fd 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char const *PROG = "e2e-smtpd";

#define CMD_MAX 512      /* octets in a command line, CRLF included */
#define TEXT_MAX 998     /* octets in a text line, CRLF excluded */
#define ERR_MAX 10       /* 5xx replies before we hang up */
#define JUNK_MAX 50      /* commands that move no mail, between two DATA */
#define F_BIG 1
#define F_LONG 2
#define F_NUL 4

static wbuf out, qw;
static rbuf in;
static char const *home, *queueprog, *localprog, *verifyprog;
static char domain[ADDR_DOMAINMAX + 1], remote[80], sizestr[24], helo[80];
static int sam, seenhelo, ehlo, inmail, qmfd = -1, qefd = -1;
static int tlsctl = -1, tlson, tlsneed;  /* e2e-tlsd's control socket; TLS is on; AUTH waits for it */
static char authuser[USER_MAX + 1], trustuser[USER_MAX + 1], sender[ADDR_MAX], rcpt[RCPT_MAX][ADDR_MAX];
static unsigned int nrcpt, nremote, errors, timeout, junk;   /* nremote: recipients not ours */
static uint64_t maxsize, size;
static char line[CMD_MAX + 1], id[48];
static pid_t qpid;
static int64_t ddl;                     /* the DATA deadline */
static volatile sig_atomic_t waiting, alarmed;
static pid_t me;                        /* our pid, for the log lines */

static void say(char const *fmt, ...)
{
  char b[1024];
  va_list a;
  int n = snprintf(b, sizeof b, "pid=%ld ", (long)me);
  va_start(a, fmt);
  vsnprintf(b + n, sizeof b - (size_t)n, fmt, a);
  va_end(a);
  log1(b);
}

static void queue_abort(void);
static void out1(char const *s) { wbuf_puts(&out, s); }
static void quit(int code, char const *why)
{
  wbuf_flush(&out);
  queue_abort();
  say("end reason=%s errors=%u", why, errors);
  exit(code);
}
static void flush(void) { if (wbuf_flush(&out) < 0) quit(E2E_TEMP, "write_error"); }

/* ---- replies that end the session ---- */
static void die_timeout(void) { out1("421 4.4.2 timeout\r\n"); quit(E2E_TEMP, "timeout"); }
static void die_read(void) { quit(E2E_TEMP, "read_error"); }
static void die_bare(void) { out1("554 5.5.2 bare CR or LF is not allowed, closing connection\r\n"); quit(E2E_PERM, "bare_cr_or_lf"); }
static void die_errors(void) { out1("421 4.7.0 too many errors, closing connection\r\n"); quit(E2E_PERM, "too_many_errors"); }
static void die_eofdata(void) { quit(E2E_TEMP, "eof_in_data"); }
static void die_flood(void) { out1("500 5.5.2 line too long, closing connection\r\n"); quit(E2E_PERM, "line_too_long"); }
static void die_databig(void) { out1("552 5.3.4 message too big, closing connection\r\n"); quit(E2E_PERM, "data_too_big"); }
static void die_peer(void) { out1("421 4.7.0 too many connections from your address\r\n"); quit(E2E_TEMP, "peer_limit"); }

/* ---- refusals: each 5xx counts towards ERR_MAX ---- */
static void err(char const *s) { out1(s); if (*s == '5' && ++errors >= ERR_MAX) die_errors(); }
/* NOOP, RSET, VRFY, HELP, HELO, EHLO: past JUNK_MAX since the last DATA
 * each counts as an error, so that no session idles on forever. */
static void junk1(void) { if (++junk > JUNK_MAX && ++errors >= ERR_MAX) die_errors(); }
static void err_unknown(char *a) { (void)a; err("500 5.5.1 unrecognised command\r\n"); }
static void err_long(void) { err("500 5.5.2 line too long\r\n"); }
static void err_nul(void) { err("500 5.5.2 NUL in command\r\n"); }
static void err_helofirst(void) { err("503 5.5.1 send EHLO or HELO first\r\n"); }
static void err_mailfirst(void) { err("503 5.5.1 send MAIL first\r\n"); }
static void err_rcptfirst(void) { err("503 5.5.1 send RCPT first\r\n"); }
static void err_nested(void) { err("503 5.5.1 already in a mail transaction\r\n"); }
static void err_authfirst(void) { err("530 5.7.0 authentication required\r\n"); }
static void err_syntax(void) { err("501 5.5.4 syntax error in parameters\r\n"); }
static void err_path(void) { err("501 5.1.3 address must be in angle brackets: FROM:<address> or TO:<address>\r\n"); }
static void err_addr(int e) { out1("553 5.1.3 "); out1(addr_reason(e)); err("\r\n"); }
static void err_dash(void) { err("553 5.1.3 an address may not start with '-'\r\n"); }
static void err_param(void) { err("555 5.5.4 unsupported parameter\r\n"); }
static void err_size(void) { err("552 5.3.4 message too big\r\n"); }
static void err_notyours(void) { err("553 5.7.1 sender address is not yours\r\n"); }
static void err_spoof(void) { err("550 5.7.1 sender's site does not publish this destination\r\n"); }
static void err_nouser(void) { err("550 5.1.1 no such user here\r\n"); }
static void err_noroute(void) { err("550 5.1.2 no route to this domain\r\n"); }
static void err_relay(void) { err("550 5.7.1 relaying denied\r\n"); }
static void err_notours(void) { err("550 5.7.1 no such user here\r\n"); }
static void err_authfail(void) { err("535 5.7.8 authentication failed\r\n"); }
static void err_authmech(void) { err("504 5.5.4 unrecognised authentication mechanism\r\n"); }
static void err_b64(void) { err("501 5.5.2 malformed base64\r\n"); }
static void err_authcancel(void) { err("501 5.0.0 authentication cancelled\r\n"); }
static void err_noauth(void) { err("502 5.5.1 AUTH is not available here\r\n"); }
static void err_authdone(void) { err("503 5.5.1 already authenticated\r\n"); }
static void err_authmail(void) { err("503 5.5.1 AUTH is not allowed during a mail transaction\r\n"); }
static void err_authehlo(void) { err("503 5.5.1 send EHLO first\r\n"); }
static void err_rcpts(void) { out1("452 4.5.3 too many recipients\r\n"); }
static void err_bounce1(void) { out1("452 4.5.3 a bounce has one recipient, send the others separately\r\n"); }
static void err_verifytemp(void) { out1("451 4.7.1 cannot verify the sender now, try again later\r\n"); }
static void err_temp(void) { out1("451 4.3.0 temporary failure, try again later\r\n"); }
static void err_authtemp(void) { out1("454 4.7.0 temporary authentication failure\r\n"); }
static void err_tlsfirst(void) { err("530 5.7.0 must issue a STARTTLS command first\r\n"); }

/* ---- timers and children ---- */
static void on_alarm(int s)
{
  static char const m[] = "e2e-smtpd: fatal: timeout\n";
  (void)s;
  if (waiting) { alarmed = 1; return; }
  (void)!write(2, m, sizeof m - 1);
  _exit(E2E_TEMP);
}
/* Backstop for what has no deadline of its own (a client that never
 * reads its replies): the process ends 2 * E2E_TIMEOUT after the last
 * command began, or after the last child was waited for. Set again at
 * most once a second (the last command may have begun up to a second
 * earlier): a busy session does not pay a system call a command. */
static int64_t armed;                   /* when it was set, 0: not set */
static void watchdog(void)
{
  int64_t t = now_ms();
  if (armed && t - armed < 1000) return;   /* now_ms is monotonic */
  alarm(2 * timeout);
  armed = t;
}

/* prog [arg] on fd0 and fd1, as qmail-smtpd starts qmail-queue: vfork,
 * which shares our memory until the exec (no copy of the page tables),
 * with every signal blocked until then and SIGPIPE and SIGALRM back to
 * their defaults in the child. An exec failure comes back in err, which
 * the child shares. -1 when it cannot be run, said in the log. */
static pid_t spawn(char const *prog, char const *arg, int fd0, int fd1)
{
  char const *argv[3] = { prog, arg, 0 };
  static volatile int err;   /* written by the child, read here after */
  sigset_t all, old;
  pid_t pid;
  err = 0;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid = vfork();
  if (!pid) {
    signal(SIGPIPE, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    if (dup2(fd0, 0) < 0 || dup2(fd1, 1) < 0) err = errno;
    else {
      sigprocmask(SIG_SETMASK, &old, 0);
      execvp(argv[0], (char *const *)argv);
      err = errno;
    }
    _exit(127);
  }
  if (pid < 0) err = errno;
  else if (err) { while (waitpid(pid, 0, 0) < 0 && errno == EINTR) ; pid = -1; }
  sigprocmask(SIG_SETMASK, &old, 0);
  if (pid > 0) return pid;
  say("fatal: unable to exec %s: %s", prog, strerror(err));
  errno = err;
  return -1;
}

/* Waits for a child, killing it after E2E_TIMEOUT; returns 0/100/111, or 53
 * for a queue that found the disk full. */
static int child_wait(pid_t pid)
{
  int st = 0;
  waiting = 1; alarmed = 0;
  alarm(timeout);
  armed = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) { st = E2E_TEMP << 8; break; }
    if (alarmed) { say("warning: child=%ld timed out, killed", (long)pid); kill(pid, SIGKILL); }
  }
  waiting = 0;
  watchdog();
  return queue_class(st);
}

/* ---- the command reader ---- */
/* One command line into line[], NUL-terminated without its CRLF; 0 when
 * it was refused (and answered). */
static int cmd_read(void)
{
  size_t n;
  watchdog();
  switch (line_get(&in, line, CMD_MAX, &n, now_ms() + (int64_t)timeout * 1000)) {
    case LINE_ERR: if (errno == ETIMEDOUT) die_timeout(); if (errno == EMSGSIZE) die_flood(); die_read(); break;
    case LINE_EOF: quit(E2E_OK, "eof"); break;
    case LINE_LONG: err_long(); return 0;
  }
  if (n < 2 || line[n - 2] != '\r' || memchr(line, '\r', n - 2)) die_bare();
  n -= 2;
  if (memchr(line, 0, n)) { err_nul(); return 0; }
  line[n] = 0;
  return 1;
}

/* ---- helpers ---- */
static void txn_reset(void) { inmail = 0; nrcpt = 0; nremote = 0; sender[0] = 0; }

static void lower(char *s) { for (; *s; s++) if (*s >= 'A' && *s <= 'Z') *s += 'a' - 'A'; }

/* ---- commands ---- */
static void sethelo(char const *a)
{
  junk1();
  safe(helo, sizeof helo, a, strlen(a));
  seenhelo = 1;
  txn_reset();
}

static void smtp_helo(char *a)
{
  if (!*a) { err("501 5.5.4 HELO needs your domain\r\n"); return; }
  sethelo(a); ehlo = 0;
  out1("250 "); out1(domain); out1("\r\n");
}

static void smtp_ehlo(char *a)
{
  if (!*a) { err("501 5.5.4 EHLO needs your domain\r\n"); return; }
  sethelo(a); ehlo = 1;
  out1("250-"); out1(domain); out1("\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE ");
  out1(sizestr); out1("\r\n");
  if (tlsctl >= 0 && !tlson) out1("250-STARTTLS\r\n");
  if (!sam && (!tlsneed || tlson)) out1("250-AUTH PLAIN LOGIN\r\n");
  out1("250 ENHANCEDSTATUSCODES\r\n");
}

/* PROTO=SAM: may the peer use this sender? 0 yes, 100 no, 111 unknown. */
static int verify(char const *a)
{
  int r, fd = openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid;
  if (fd < 0) return E2E_TEMP;
  pid = spawn(verifyprog, a, fd, 2);
  close(fd);
  if (pid < 0) return E2E_TEMP;
  r = child_wait(pid);
  say("verify from=%s peer=%s result=%d", a, remote, r);
  return r;
}

static void smtp_mail(char *arg)
{
  char a[ADDR_MAX], lp[ADDR_LOCALMAX + 1], *p, *k;
  char const *who = *authuser ? authuser : trustuser;
  uint64_t n;
  int r;
  if (!seenhelo) return err_helofirst();
  if (!sam && !*who) return err_authfirst();
  if (inmail) return err_nested();
  if (strncasecmp(arg, "from:", 5)) return err_syntax();
  r = smtp_path(arg + 5, a, &p, 0);
  if (r < 0) return err_path();
  if (r) return err_addr(r);
  if (*a == '-') return err_dash();
  while ((k = smtp_param(&p))) {
    if (!strncasecmp(k, "size=", 5)) {
      if (!scan_u64(k + 5, UINT64_MAX, &n)) return err_syntax();
      if (n > maxsize) return err_size();
    }
    else if (!strcasecmp(k, "body=8bitmime") || !strcasecmp(k, "body=7bit")) ;
    else if (!sam && !strncasecmp(k, "auth=", 5)) ;
    else return err_param();
  }
  if (!sam) {
    if (!*a) return err_notyours();
    addr_local(a, lp);
    r = domain_local(home, addr_domain(a));
    if (r < 0) return err_temp();
    if (!r || strcmp(lp, who)) return err_notyours();
    lower(a);
  }
  else if (*a) {
    r = verify(a);
    if (r == E2E_PERM) return err_spoof();
    if (r) return err_verifytemp();
  }
  strcpy(sender, a);
  inmail = 1; nrcpt = 0;
  out1("250 2.1.0 sender ok\r\n");
}

static void smtp_rcpt(char *arg)
{
  char a[ADDR_MAX], lp[ADDR_LOCALMAX + 1], *p;
  int r, local;
  if (!inmail) return err_mailfirst();
  if (strncasecmp(arg, "to:", 3)) return err_syntax();
  r = smtp_path(arg + 3, a, &p, domain);
  if (r < 0 || (!r && !*a)) return err_path();   /* a is unset when r > 0 */
  if (r) return err_addr(r);
  if (*a == '-') return err_dash();
  if (smtp_param(&p)) return err_param();
  if (nrcpt >= RCPT_MAX) return err_rcpts();
  if (sam && !*sender && nrcpt) return err_bounce1();
  local = domain_local(home, addr_domain(a));
  if (local < 0) return err_temp();
  if (local) {
    addr_local(a, lp);
    r = strcmp(lp, "postmaster") ? user_exists(home, lp) : 1;
    if (r < 0) return err_temp();
    if (!r) { say("rcpt from=<%s> to=<%s> result=nouser", sender, a); return sam ? err_notours() : err_nouser(); }
    lower(a);
  }
  else if (sam) { say("rcpt from=<%s> to=<%s> result=relay", sender, a); return err_relay(); }
  else if (!domain_is_i2p(addr_domain(a))) {   /* the clearnet: only through a route */
    route rt;
    char why[512];
    r = routes_read(home, addr_domain(a), &rt, 0, why, sizeof why);
    if (r < 0) { say("rcpt from=<%s> to=<%s> result=temp reason=\"%s\"", sender, a, why); return err_temp(); }
    if (!r) return err_noroute();
  }
  nremote += !local;
  strcpy(rcpt[nrcpt++], a);
  out1("250 2.1.5 recipient ok\r\n");
}

static void smtp_rset(char *a) { (void)a; junk1(); txn_reset(); out1("250 2.0.0 ok\r\n"); }
static void smtp_noop(char *a) { (void)a; junk1(); out1("250 2.0.0 ok\r\n"); }
static void smtp_vrfy(char *a) { (void)a; junk1(); out1("252 2.5.2 cannot VRFY a user, but will take a message and try to deliver it\r\n"); }
static void smtp_help(char *a) { (void)a; junk1(); out1("214 2.0.0 commands: EHLO HELO AUTH MAIL RCPT DATA RSET NOOP VRFY HELP QUIT\r\n"); }
/* RFC 3207: 220, then the handshake; what came after the command is
 * dropped, and so is all the client said before (EHLO, AUTH, MAIL). */
static void smtp_starttls(char *a)
{
  int r;
  if (tlsctl < 0) return err("502 5.5.1 STARTTLS is not available here\r\n");
  if (tlson) return err("503 5.5.1 TLS is already on\r\n");
  if (*a) return err_syntax();
  flush();
  r = tls_ask(tlsctl, now_ms() + (int64_t)timeout * 1000);
  if (r < 0) say("warning: no answer from e2e-tlsd: %s", strerror(errno));
  if (r <= 0) { out1("454 4.7.0 TLS not available due to temporary reason\r\n"); return; }
  out1("220 2.0.0 ready to start TLS\r\n");
  flush();
  if (tls_start(tlsctl, &in) < 0) quit(E2E_TEMP, "tls_control_error");
  tlson = 1; seenhelo = ehlo = 0; authuser[0] = 0; txn_reset();
  say("starttls");
}

static void smtp_quit(char *a) { (void)a; peer_release(); out1("221 2.0.0 "); out1(domain); out1(" closing connection\r\n"); quit(E2E_OK, "quit"); }

/* ---- AUTH ---- */
/* Reads one AUTH response line after a 334 prompt; 0 when refused. */
static int auth_read(char const *prompt)
{
  out1(prompt);
  if (!cmd_read()) return 0;
  if (!strcmp(line, "*")) { err_authcancel(); return 0; }
  return 1;
}

static void auth_done(char *user, char *pw, char const *mech)
{
  char *at = strchr(user, '@'), s[80];
  int r = 1;
  lower(user);
  if (at) { *at++ = 0; r = domain_local(home, at); }
  if (r > 0) r = user_check(home, user, pw);
  explicit_bzero(pw, strlen(pw));
  say("auth mech=%s user=%s result=%s", mech, safe(s, sizeof s, user, strlen(user)), r > 0 ? "ok" : r ? "temp" : "fail");
  if (r < 0) return err_authtemp();
  if (!r) return err_authfail();   /* user_check made it last E2E_AUTHFAIL_DELAY */
  strcpy(authuser, user);
  out1("235 2.7.0 authentication successful\r\n");
}

static void auth_plain(char *resp)
{
  static char buf[CMD_MAX + 1];
  char *user, *pw;
  int r;
  if (!resp) { if (!auth_read("334 \r\n")) return; resp = line; }
  strcpy(buf, resp);
  explicit_bzero(line, sizeof line);
  r = sasl_plain(buf, &user, &pw);
  if (r < 0) err_b64();
  else if (r) { sleep(1); err_authfail(); }
  else auth_done(user, pw, "plain");
  explicit_bzero(buf, sizeof buf);
}

static void auth_login(char *resp)
{
  static char user[CMD_MAX + 1], pw[CMD_MAX + 1];
  if (!resp) { if (!auth_read("334 VXNlcm5hbWU6\r\n")) return; resp = line; }
  strcpy(user, resp);
  if (b64_decode(user) <= 0) return err_b64();
  if (!auth_read("334 UGFzc3dvcmQ6\r\n")) return;
  strcpy(pw, line);
  explicit_bzero(line, sizeof line);
  if (b64_decode(pw) < 0) { explicit_bzero(pw, sizeof pw); return err_b64(); }
  auth_done(user, pw, "login");
  explicit_bzero(pw, sizeof pw);
}

static void smtp_auth(char *arg)
{
  char *resp = strchr(arg, ' ');
  if (sam) return err_noauth();
  if (tlsneed && !tlson) return err_tlsfirst();
  if (!ehlo) return err_authehlo();
  if (*authuser) return err_authdone();
  if (inmail) return err_authmail();
  if (resp) { *resp++ = 0; while (*resp == ' ') resp++; if (!*resp) resp = 0; }
  if (!strcasecmp(arg, "plain")) auth_plain(resp);
  else if (!strcasecmp(arg, "login")) auth_login(resp);
  else err_authmech();
}

/* ---- DATA ---- */
static void queue_abort(void)
{
  if (!qpid) return;
  close(qmfd); close(qefd);
  child_wait(qpid);
  qpid = 0;
}

static int queue_start(void)
{
  int m[2], e[2];
  char date[64];
  time_t t = time(0);
  struct tm tm;
  if (pipe2(m, O_CLOEXEC) < 0) return -1;
  if (pipe2(e, O_CLOEXEC) < 0) { close(m[0]); close(m[1]); return -1; }
  qpid = spawn(nremote ? queueprog : localprog, 0, m[0], e[0]);
  close(m[0]); close(e[0]);
  if (qpid < 0) { qpid = 0; close(m[1]); close(e[1]); return -1; }
  qmfd = m[1]; qefd = e[1];
  fcntl(qmfd, F_SETFL, O_NONBLOCK); fcntl(qefd, F_SETFL, O_NONBLOCK);
  wbuf_init(&qw, qmfd);
  qw.deadline = ddl;
  gmtime_r(&t, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  wbuf_puts(&qw, "Received: from "); wbuf_puts(&qw, helo); wbuf_puts(&qw, " (");
  wbuf_puts(&qw, remote); wbuf_puts(&qw, ")\n\tby "); wbuf_puts(&qw, domain);
  wbuf_puts(&qw, sam ? (ehlo ? " (e2e) with ESMTP id " : " (e2e) with SMTP id ") : " (e2e) with ESMTPA id ");
  wbuf_puts(&qw, id); wbuf_puts(&qw, ";\n\t"); wbuf_puts(&qw, date); wbuf_puts(&qw, "\n");
  if (sam) {
    wbuf_puts(&qw, "Authentication-Results: "); wbuf_puts(&qw, domain);
    if (*sender) { wbuf_puts(&qw, "; e2e=pass smtp.mailfrom="); wbuf_puts(&qw, sender); wbuf_puts(&qw, "\n"); }
    else wbuf_puts(&qw, "; e2e=none\n");
  }
  return 0;
}

/* Writes the envelope, closes, waits: the queue's exit class. */
static int queue_finish(void)
{
  static char env[RCPT_MAX * (ADDR_MAX + 1) + ADDR_MAX + 2];
  envelope e;
  size_t n = 0;
  unsigned int i;
  int r, ok;
  ok = !wbuf_flush(&qw);
  close(qmfd);
  if (ok) {
    e.sender = sender; e.n = nrcpt;
    for (i = 0; i < nrcpt; i++) e.rcpt[i] = rcpt[i];
    n = envelope_fmt(&e, env, sizeof env);
    wbuf_init(&qw, qefd);
    qw.deadline = now_ms() + (int64_t)timeout * 1000;
    wbuf_put(&qw, env, n);
    ok = n && !wbuf_flush(&qw);
  }
  close(qefd);
  r = child_wait(qpid);
  qpid = 0;
  return (!ok && !r) ? E2E_TEMP : r;
}

/* One text line, unstuffed, without its CRLF. Drops Authentication-Results
 * fields in the header: only ours may name our domain. */
static int inhead, dropping;
static int text_line(char const *s, size_t n)
{
  size += n + 2;
  if (size > maxsize) return F_BIG;
  if (inhead) {
    if (!n) inhead = dropping = 0;
    else if (*s != ' ' && *s != '\t') {
      size_t k = 22;
      dropping = n > k && !strncasecmp(s, "authentication-results", k);
      while (dropping && k < n && (s[k] == ' ' || s[k] == '\t')) k++;
      dropping = dropping && k < n && s[k] == ':';
    }
    if (dropping) return 0;
  }
  wbuf_put(&qw, s, n);
  wbuf_put(&qw, "\n", 1);
  return 0;
}

/* The length of s's first run without CR, LF or NUL: eight octets at a
 * time (musl's memchr looked for each of the three on its own). */
static size_t text_run(char const *s, size_t n)
{
  size_t const ones = (size_t)-1 / 255, highs = ones * 128;
  size_t i = 0, w, cr, lf;
  for (; n - i >= sizeof w; i += sizeof w) {
    memcpy(&w, s + i, sizeof w);
    cr = w ^ ones * '\r'; lf = w ^ ones * '\n';
    if (((w - ones) & ~w & highs) | ((cr - ones) & ~cr & highs) | ((lf - ones) & ~lf & highs)) break;
  }
  while (i < n && s[i] && s[i] != '\r' && s[i] != '\n') i++;
  return i;
}

/* Reads the message up to <CRLF>.<CRLF>, streaming it to the queue.
 * Returns 0 or the F_* reasons to refuse it. A bare CR or LF ends the
 * session, and so do more than 2 * E2E_MAXSIZE + 64 KiB octets: a
 * refused message is read to its end only that far. The octets between
 * line ends are taken a run at a time, straight from the input buffer
 * (a NUL ends a run too, and is taken on its own below). */
static int data_read(void)
{
  static char buf[TEXT_MAX];
  size_t n = 0, raw = 0;
  uint64_t total = 0, limit = 2 * maxsize + 65536;
  int cr = 0, flags = 0;
  char c;
  inhead = 1; dropping = 0; size = 0;
  for (;;) {
    ssize_t r = 1;
    if (!cr && in.p < in.n) {   /* a run of text up to the next CR, LF or NUL */
      char const *s = in.buf + in.p;
      size_t k = text_run(s, in.n - in.p), run = k, skip;
      if (k) {
        if ((total += k) > limit) die_databig();
        skip = !raw && *s == '.';
        raw += k;
        if (raw > TEXT_MAX) { flags |= F_LONG; k -= raw - TEXT_MAX < k ? raw - TEXT_MAX : k; }
        if (k > skip) { memcpy(buf + n, s + skip, k - skip); n += k - skip; }
        in.p += run;
        if (flags && qpid) queue_abort();
        continue;
      }
    }
    if (in.p < in.n) c = in.buf[in.p++];
    else r = rbuf_get(&in, &c, 1, ddl);
    if (r < 0) { if (errno == ETIMEDOUT) die_timeout(); die_read(); }
    if (!r) die_eofdata();
    if (++total > limit) die_databig();
    if (cr) {
      if (c != '\n') die_bare();
      if (raw == 1 && !n) return flags;
      if (!flags) flags = text_line(buf, n);
      n = raw = 0; cr = 0;
    }
    else if (c == '\r') cr = 1;
    else if (c == '\n') die_bare();
    else {
      if (!c) flags |= F_NUL;
      if (++raw > TEXT_MAX) flags |= F_LONG;
      else if (raw > 1 || c != '.') buf[n++] = c;
    }
    if (flags && qpid) queue_abort();
  }
}

static void smtp_data(char *a)
{
  int f, r;
  if (!inmail) return err_mailfirst();
  if (!nrcpt) return err_rcptfirst();
  if (*a) return err_syntax();
  junk = 0;
  unique_id(id);
  ddl = now_ms() + (int64_t)timeout * 1000;
  if (queue_start() < 0) { say("warning: unable to start the queue: %s", strerror(errno)); return err_temp(); }
  out1("354 go ahead, end with <CRLF>.<CRLF>\r\n");
  watchdog();
  f = data_read();
  if (f) {
    say("message id=%s from=<%s> rcpts=%u size=%llu result=refused reason=%s", id, sender, nrcpt,
        (unsigned long long)size, f & F_BIG ? "size" : f & F_LONG ? "long_line" : "nul");
    if (f & F_BIG) out1("552 5.3.4 message too big\r\n");
    else if (f & F_LONG) out1("554 5.6.0 message refused: a line is longer than 1000 octets\r\n");
    else out1("554 5.6.0 message refused: it contains a NUL octet\r\n");
  }
  else {
    long qp = (long)qpid;   /* the injector's pid: e2e-queue's ids end in P<qp> */
    r = queue_finish();
    say("message id=%s from=<%s> rcpts=%u size=%llu result=%s qp=%ld", id, sender, nrcpt,
        (unsigned long long)size, r == 0 ? "queued" : r == E2E_PERM ? "refused" : r == E2E_REFUSED ? "refused_spam"
        : r == E2E_NOSPACE ? "deferred_nospace" : "deferred", qp);
    if (r == 0) { out1("250 2.0.0 ok "); out1(id); out1("\r\n"); }
    else if (r == E2E_PERM) out1("554 5.0.0 message refused\r\n");
    else if (r == E2E_REFUSED) out1("554 5.7.1 message refused as spam\r\n");
    else if (r == E2E_NOSPACE) out1("452 4.3.1 insufficient system storage\r\n");
    else out1("451 4.3.0 temporary queue failure, try again later\r\n");
  }
  txn_reset();
}

static struct { char const *name; void (*f)(char *); int flush; } const cmds[] = {
  { "ehlo", smtp_ehlo, 1 }, { "helo", smtp_helo, 1 }, { "auth", smtp_auth, 1 },
  { "mail", smtp_mail, 0 }, { "rcpt", smtp_rcpt, 0 }, { "data", smtp_data, 1 },
  { "rset", smtp_rset, 0 }, { "noop", smtp_noop, 1 }, { "vrfy", smtp_vrfy, 1 },
  { "help", smtp_help, 1 }, { "quit", smtp_quit, 1 }, { "starttls", smtp_starttls, 1 }, { 0, err_unknown, 1 }
};

static void setup(void)
{
  char const *proto = env_need("PROTO"), *d;
  char a[ADDR_MAX], b[ADDR_MAX];
  struct sigaction sa;
  int i2p = !strcmp(proto, "SAM");
  if (!i2p && strcmp(proto, "TCP")) strerr_dief2x(E2E_PERM, "variable PROTO must be TCP or SAM, not ", proto);
  /* E2E_SUBMISSION=1 with PROTO=SAM: submission on a private destination
   * (e2e-samaccept, for the user's own mail clients): AUTH and relaying as
   * over TCP, never E2E_TRUSTUSER; the stages we run see PROTO=TCP. */
  sam = i2p && !env_uint("E2E_SUBMISSION", 0, 0, 1);
  if (i2p && !sam && setenv("PROTO", "TCP", 1) < 0) strerr_diefu1sys(E2E_TEMP, "set PROTO");
  home = env_need("E2E_HOME");
  d = env_need("E2E_DOMAIN");
  if (strlen(d) > ADDR_DOMAINMAX - 11 || snprintf(a, sizeof a, "postmaster@%s", d) < 0 || addr_check(a, strlen(a), b))
    strerr_dief2x(E2E_PERM, "variable E2E_DOMAIN is malformed: ", d);
  strcpy(domain, addr_domain(b));
  maxsize = env_uint("E2E_MAXSIZE", 10485760, 1, (uint64_t)1 << 40);
  snprintf(sizestr, sizeof sizestr, "%llu", (unsigned long long)maxsize);
  timeout = (unsigned int)env_uint("E2E_TIMEOUT", 300, 1, 86400);
  queueprog = env_str("E2E_QUEUE", "e2e-queue");
  /* submitted mail that stays here (every recipient ours) need not pass
   * the privacy stage: $E2E_QUEUELOCAL, when set, takes it instead */
  localprog = sam ? queueprog : env_str("E2E_QUEUELOCAL", queueprog);
  verifyprog = env_str("E2E_VERIFY", "e2e-verify");
  d = i2p ? "" : env_str("E2E_TRUSTUSER", "");   /* a tcprules setting: this client is that user */
  if (*d && !user_valid(d)) strerr_dief2x(E2E_PERM, "variable E2E_TRUSTUSER is not a valid user name: ", d);
  strcpy(trustuser, d);
  d = i2p ? env_str("SAMREMOTEB32", "unknown") : env_str("TCPREMOTEIP", "unknown");
  safe(remote, sizeof remote, d, strlen(d));
  if (!sam) { tlsctl = tls_ctl(); tlsneed = tls_required(tlsctl); }
  user_keep();                          /* HOME/recipients: once a session */
  signal(SIGPIPE, SIG_IGN);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;             /* no SA_RESTART: waitpid sees EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, 0);
  wbuf_init(&out, 1);
  rbuf_init(&in, 0, &out);
}

int main(void)
{
  me = getpid();
  setup();
  say("start proto=%s remote=%s%s%s", sam ? "SAM" : "TCP", remote, *trustuser ? " trusted=" : "", trustuser);
  if (!peer_admit("E2E_SMTPPEER", "E2E_SMTPCONC")) die_peer();
  out1("220 "); out1(domain); out1(" ESMTP e2e\r\n");
  for (;;) {
    char *arg;
    unsigned int i;
    if (!cmd_read()) continue;
    arg = line + strcspn(line, " ");
    if (*arg) *arg++ = 0;
    while (*arg == ' ') arg++;
    for (i = 0; cmds[i].name && strcasecmp(cmds[i].name, line); i++) ;
    cmds[i].f(arg);
    if (cmds[i].flush) flush();
  }
}
