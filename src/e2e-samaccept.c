/* e2e-samaccept: the UCSPI server of I2P, tcpserver's counterpart.
 *
 * Holds one SAM session (STYLE=STREAM) with the mail server's key, keeps
 * STREAM ACCEPTs waiting, and for each incoming stream runs PROG with the
 * stream on fds 0 and 1 and the peer in PROTO=SAM, SAMREMOTEDEST,
 * SAMREMOTEB32, SAMLOCALB32 (SAMREMOTEPORT, SAMLOCALPORT where SAM tells).
 *
 * Limits: -c N bounds waiting ACCEPTs and running children together
 * (waiting + running <= N): at most N streams are served at once, and
 * while all N run the router holds new streams back (i2pd 2.45.1 keeps up
 * to 128 for 10 s) until a child ends. -p N bounds the children of one
 * peer destination; a stream beyond that is answered 421 and closed.
 *
 * The key: $E2E_HOME/key, or with -K FD read from that descriptor (the
 * run script opens the file as root and passes it on, so that the
 * account we run as, and so our children, cannot read the file) and
 * closed at once. We are not dumpable: a child running as our account
 * cannot read the key from our memory (ptrace, /proc/PID/mem).
 *
 * The session lives as long as the control socket: when SAM closes it,
 * an ACCEPT cannot be opened, or the bridge stops answering (-k), we exit
 * 111 for the supervisor to start us again. Nothing but PONG is ever sent
 * on the control socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include "e2e.h"
#include "i2p.h"
#include "sam.h"

#define USAGE "e2e-samaccept [ -c maxconc ] [ -p maxperpeer ] [ -d notif ] [ -K keyfd ] [ -t createtimeout ] [ -k probe ] prog..."
#define OPEN_MS 30000     /* connect, HELLO and STREAM ACCEPT for one ACCEPT */
#define PEER_MS 10000     /* the rest of a peer line once its first byte is there */
#define BUSY_MS 2000      /* writing the 421 to a peer over its limit */
#define CTL_MS 10000      /* the rest of a control line; writing the PONG */
#define PROBE_MAX_MS 10000 /* the longest wait for the probe's answer */
#define OPTIONS_MAX 4096
#define MAXCONC 1000

char const *PROG = "e2e-samaccept";

typedef struct kid { pid_t pid; char b32[I2P_B32_ADDR_LEN + 1]; } kid;

static unsigned int maxconc = 10, maxpeer = 3, createsec = 120, probesec = 10;
static int notif = -1, keyfd = -1, sigfd = -1;
static char const *samaddr, *samid;
static char const *const *prog;
static char keypath[4096], key[I2P_PRIV_B64_MAX + 1], options[OPTIONS_MAX];
static char localb32[I2P_B32_ADDR_LEN + 1];
static sam ctl;                /* the control socket: the session */
static sam *slot;              /* maxconc of them; fd >= 0: an ACCEPT waiting */
static kid *kids;              /* the running children */
static unsigned int nkids, nwait;

static void die_lost(char const *what, char const *why)
{
  log3("session lost: ", what, why);
  _exit(E2E_TEMP);
}

static unsigned int opt_uint(char const *s, char opt, unsigned int min, unsigned int max)
{
  uint64_t v;
  char o[3] = { '-', opt, 0 };
  if (!scan_u64(s, max, &v) || v < min) strerr_dief4x(E2E_PERM, "invalid value for ", o, ": ", s);
  return (unsigned int)v;
}

/* [A-Za-z0-9._-]{1,64}, what SAM takes as a session name. */
static int id_ok(char const *s)
{
  size_t n;
  for (n = 0; s[n]; n++)
    if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9')
          || s[n] == '.' || s[n] == '_' || s[n] == '-')) return 0;
  return n >= 1 && n <= 64;
}

static void options_parse(int argc, char const *const *argv)
{
  subgetopt l = SUBGETOPT_ZERO;
  for (;;) {
    int opt = subgetopt_r(argc, argv, "c:p:d:K:t:k:", &l);
    if (opt == -1) break;
    switch (opt) {
      case 'c': maxconc = opt_uint(l.arg, 'c', 1, MAXCONC); break;
      case 'p': maxpeer = opt_uint(l.arg, 'p', 1, MAXCONC); break;
      case 'd': notif = (int)opt_uint(l.arg, 'd', 3, 65535); break;
      case 'K': keyfd = (int)opt_uint(l.arg, 'K', 0, 65535); break;
      case 't': createsec = opt_uint(l.arg, 't', 1, 3600); break;
      case 'k': probesec = opt_uint(l.arg, 'k', 0, 3600); break;
      default: strerr_dieusage(E2E_PERM, USAGE);
    }
  }
  if (l.ind >= argc) strerr_dieusage(E2E_PERM, USAGE);
  prog = argv + l.ind;
  if (notif >= 0 && fcntl(notif, F_GETFD) < 0) strerr_dief1sys(E2E_PERM, "-d: notification fd not open");
  if (keyfd >= 0 && fcntl(keyfd, F_GETFD) < 0) strerr_dief1sys(E2E_PERM, "-K: key fd not open");
  if (keyfd >= 0 && keyfd == notif) strerr_dief1x(E2E_PERM, "-K and -d name the same fd");
}

/* $E2E_HOME/key (or the same on -K's fd): the base64 private blob
 * (e2e-keygen's), and our b32. */
static void key_read(void)
{
  unsigned char bin[I2P_PRIV_MAX];
  char *text;
  size_t len, b64len;
  i2p_priv k;
  int e, r;
  char const *home = env_need("E2E_HOME");
  if (snprintf(keypath, sizeof keypath, "%s/key", home) >= (int)sizeof keypath)
    strerr_dief2x(E2E_PERM, "$E2E_HOME is too long: ", home);
  if (keyfd >= 0) {
    r = read_all(keyfd, &text, &len, I2P_PRIV_B64_MAX + 2);
    close(keyfd);
    keyfd = -1;
  }
  else r = file_read(keypath, &text, &len, I2P_PRIV_B64_MAX + 2);
  if (r < 0) {
    if (errno == ENOENT) strerr_dief3x(E2E_TEMP, "no key in ", keypath, ": make one with e2e-keygen");
    if (errno == EFBIG) strerr_dief3x(E2E_PERM, "invalid key in ", keypath, ": too long");
    strerr_diefu2sys(E2E_TEMP, "read ", keypath);
  }
  if (!len) strerr_dief3x(E2E_TEMP, "no key in ", keypath, ": make one with e2e-keygen");
  e = i2p_keyfile_parse(&k, bin, sizeof bin, &b64len, text, len);
  if (!e && b64len >= sizeof key) e = I2P_ESPACE;
  if (!e) { memcpy(key, text, b64len); key[b64len] = 0; }
  explicit_bzero(text, len);
  free(text);
  if (e) strerr_dief4x(E2E_PERM, "invalid key in ", keypath, ": ", i2p_reason(e));
  i2p_b32_address(localb32, bin, k.dest.len);
  explicit_bzero(bin, sizeof bin);
}

static void setup(void)
{
  char const *extra;
  unsigned char ip[4];
  uint16_t port;
  int fd;
  /* our memory holds the key: no ptrace, no /proc/PID/mem for our account */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) strerr_diefu1sys(E2E_TEMP, "make the process non-dumpable");
  /* fds 0, 1, 2 open, so that no socket of ours is one of them */
  while ((fd = openat(AT_FDCWD, "/dev/null", O_RDWR)) >= 0 && fd <= 2) ;
  if (fd < 0) strerr_diefu1sys(E2E_TEMP, "open /dev/null");
  close(fd);
  samaddr = env_str("E2E_SAM", SAM_DEFAULT);
  if (sam_hostport(samaddr, ip, &port) < 0)
    strerr_dief2x(E2E_PERM, "invalid $E2E_SAM (want a.b.c.d:port): ", samaddr);
  samid = env_str("E2E_SAM_ID", "e2e");
  if (!id_ok(samid)) strerr_dief2x(E2E_PERM, "invalid $E2E_SAM_ID (want 1 to 64 of A-Z a-z 0-9 . _ -): ", samid);
  extra = env_str("E2E_SAM_OPTIONS", "");
  if (snprintf(options, sizeof options, "i2cp.leaseSetEncType=4,0%s%s", *extra ? " " : "", extra)
      >= (int)sizeof options)
    strerr_dief1x(E2E_PERM, "$E2E_SAM_OPTIONS is too long");
  key_read();
  if (!(slot = calloc(maxconc, sizeof *slot)) || !(kids = calloc(maxconc, sizeof *kids)))
    strerr_diefu1sys(E2E_TEMP, "allocate");
  for (fd = 0; fd < (int)maxconc; fd++) sam_init(&slot[fd]);
  signal(SIGPIPE, SIG_IGN);
}

/* HELLO and SESSION CREATE on the control socket, kept open. */
static void session(void)
{
  char line[256];
  int64_t t0 = now_ms();
  int r;
  sam_init(&ctl);
  r = sam_open(&ctl, samaddr, t0 + (int64_t)createsec * 1000);
  if (!r) r = sam_session_create(&ctl, samid, key, options, t0 + (int64_t)createsec * 1000);
  explicit_bzero(key, sizeof key);
  explicit_bzero(ctl.line, sizeof ctl.line);   /* i2pd echoes the private key */
  if (r) strerr_dief2x(r, "unable to create the SAM session: ", ctl.err);
  snprintf(line, sizeof line, "session id=%s local=%s sam=%s ms=%lld", samid, localb32, samaddr,
           (long long)(now_ms() - t0));
  log1(line);
}

/* Signals through skalibs' selfpipe (a signalfd here: they are blocked). */
static void signals(void)
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigfd = selfpipe_init();
  if (sigfd < 0 || !selfpipe_trapset(&set)) strerr_diefu1sys(E2E_TEMP, "set up signals");
}

/* A fresh connection, HELLO, STREAM ACCEPT; any failure ends us. */
static void accept_open(sam *s)
{
  int64_t deadline = now_ms() + OPEN_MS;
  int r = sam_open(s, samaddr, deadline);
  if (!r) r = sam_stream_accept(s, samid, deadline);
  if (r) die_lost("unable to open a STREAM ACCEPT: ", s->err);
  nwait++;
}

static void accepts_fill(void)
{
  unsigned int i;
  for (i = 0; i < maxconc && nwait + nkids < maxconc; i++)
    if (slot[i].fd < 0) accept_open(&slot[i]);
}

/* Once: the session is up and the ACCEPTs wait. */
static void ready(void)
{
  static int done;
  char line[64];
  if (done) return;
  done = 1;
  if (notif >= 0) {
    if (write_all(notif, "\n", 1) < 0) strerr_warnwu1sys("write to the notification fd");
    close(notif);
  }
  snprintf(line, sizeof line, "ready accepts=%u", nwait);
  log1(line);
}

/* Does the bridge still answer? Told to stop, i2pd 2.45.1 keeps our
 * sockets open and silent, and waits for us to go before it exits. A
 * fresh HELLO asking for a version nobody speaks gets NOVERSION and a
 * close, and leaves no line in the router's log. */
static void probe(void)
{
  static char const hello[] = "HELLO VERSION MIN=1.0 MAX=1.0\n";
  char line[SAM_LINE_MAX + 1];
  size_t len;
  int64_t ms = probesec * 1000 < PROBE_MAX_MS ? probesec * 1000 : PROBE_MAX_MS;
  int64_t deadline = now_ms() + ms;
  int fd = sam_connect(samaddr, deadline), r = -1;
  if (fd < 0) die_lost("SAM unreachable: ", strerror(errno));
  if (!sam_put(fd, hello, sizeof hello - 1, deadline)) r = sam_getline(fd, line, sizeof line, &len, 0, deadline);
  if (r < 0) die_lost("SAM stopped answering: ", errno == EPIPE ? "connection closed" : strerror(errno));
  close(fd);
  if (strncmp(line, "HELLO REPLY", 11)) die_lost("SAM does not answer HELLO", "");
}

static unsigned int peer_count(char const *b32)
{
  unsigned int i, n = 0;
  for (i = 0; i < nkids; i++) if (!strcmp(kids[i].b32, b32)) n++;
  return n;
}

static void setenv_or_die(char const *name, char const *value)
{
  if (setenv(name, value, 1) < 0) { log2("unable to set ", name); _exit(E2E_TEMP); }
}

static void setport(char const *name, unsigned int port)
{
  char num[16];
  if (!port) { unsetenv(name); return; }
  snprintf(num, sizeof num, "%u", port);
  setenv_or_die(name, num);
}

/* In the child: the peer in the environment, the stream on 0 and 1,
 * nothing else open, signals as they were; then PROG. */
static void child(sam *s, char const *b32)
{
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, 0);
  signal(SIGPIPE, SIG_DFL);
  setenv_or_die("PROTO", "SAM");
  setenv_or_die("SAMREMOTEDEST", s->peer);
  setenv_or_die("SAMREMOTEB32", b32);
  setenv_or_die("SAMLOCALB32", localb32);
  setport("SAMREMOTEPORT", s->fromport);
  setport("SAMLOCALPORT", s->toport);
  if (dup2(s->fd, 0) < 0 || dup2(s->fd, 1) < 0) { log1("unable to move the stream to fds 0 and 1"); _exit(E2E_TEMP); }
  close_from(3);
  execvp(prog[0], (char *const *)prog);
  log4("unable to run ", prog[0], ": ", strerror(errno));
  _exit(E2E_TEMP);
}

static void start(sam *s, char const *b32)
{
  char line[256];
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(line, sizeof line, "drop peer=%s reason=fork error=%s", b32, strerror(errno));
    log1(line);
    return;
  }
  if (!pid) child(s, b32);
  kids[nkids].pid = pid;
  memcpy(kids[nkids].b32, b32, sizeof kids[nkids].b32);
  nkids++;
  snprintf(line, sizeof line, "ok pid=%ld peer=%s children=%u/%u", (long)pid, b32, nkids, maxconc);
  log1(line);
}

/* An ACCEPT socket has something: a peer, or SAM closed it, which it
 * does when the session goes. */
static void incoming(sam *s)
{
  char b32[I2P_B32_ADDR_LEN + 1], line[256];
  char c;
  nwait--;
  if (recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) die_lost("SAM closed a waiting ACCEPT", "");
  if (sam_accept_peer(s, now_ms() + PEER_MS)) {
    log2("drop peer line invalid: ", s->err);
    sam_close(s);
    return;
  }
  i2p_b32_address(b32, s->peerdest, s->peerd.len);
  if (peer_count(b32) >= maxpeer) {
    static char const busy[] = "421 4.7.0 too many connections from your destination\r\n";
    (void)sam_put(s->fd, busy, sizeof busy - 1, now_ms() + BUSY_MS);
    snprintf(line, sizeof line, "drop peer=%s reason=per-peer-limit limit=%u", b32, maxpeer);
    log1(line);
  } else start(s, b32);
  sam_close(s);
}

static void reap(void)
{
  char line[256], how[32];
  int status;
  pid_t pid;
  unsigned int i;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (i = 0; i < nkids && kids[i].pid != pid; i++) ;
    if (i == nkids) continue;
    if (WIFEXITED(status)) snprintf(how, sizeof how, "status=%d", WEXITSTATUS(status));
    else snprintf(how, sizeof how, "signal=%d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    nkids--;
    snprintf(line, sizeof line, "end pid=%ld peer=%s %s children=%u/%u", (long)pid, kids[i].b32, how,
             nkids, maxconc);
    log1(line);
    kids[i] = kids[nkids];
  }
}

/* 1 when asked to stop. */
static int signals_read(void)
{
  int sig, stop = 0;
  while ((sig = selfpipe_read()) > 0) {
    if (sig == SIGCHLD) reap();
    else stop = 1;
  }
  if (sig < 0) strerr_diefu1sys(E2E_TEMP, "read signals");
  return stop;
}

int main(int argc, char const *const *argv)
{
  struct pollfd *pf;
  sam **ps;
  int64_t next;
  options_parse(argc, argv);
  setup();
  session();
  signals();
  if (!(pf = calloc(maxconc + 2, sizeof *pf)) || !(ps = calloc(maxconc, sizeof *ps)))
    strerr_diefu1sys(E2E_TEMP, "allocate");
  next = now_ms() + (int64_t)probesec * 1000;
  for (;;) {
    unsigned int i, n = 2;
    int64_t left;
    accepts_fill();
    ready();
    pf[0].fd = sigfd; pf[0].events = POLLIN;
    pf[1].fd = ctl.fd; pf[1].events = POLLIN;
    for (i = 0; i < maxconc; i++)
      if (slot[i].fd >= 0) { ps[n - 2] = &slot[i]; pf[n].fd = slot[i].fd; pf[n++].events = POLLIN; }
    left = next - now_ms();
    if (poll(pf, n, !probesec ? -1 : left < 0 ? 0 : (int)left) < 0) {
      if (errno == EINTR) continue;
      strerr_diefu1sys(E2E_TEMP, "poll");
    }
    if (pf[1].revents) {
      int r = sam_control(&ctl, now_ms() + CTL_MS);
      if (r) die_lost(ctl.err, "");
    }
    if (pf[0].revents && signals_read()) {
      char line[64];
      snprintf(line, sizeof line, "stop: closing the session children=%u", nkids);
      log1(line);
      free(pf);
      free(ps);
      return 0;
    }
    for (i = 2; i < n; i++) if (pf[i].revents) incoming(ps[i - 2]);
    if (probesec && now_ms() >= next) {
      probe();
      next = now_ms() + (int64_t)probesec * 1000;
    }
  }
}
