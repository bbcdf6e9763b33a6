/* e2e-popfetch: fetches the user's mailbox at Postman's mail.i2p (or any
 * POP3 server on I2P) into the mail home, as fetchmail hands mail to the
 * local MTA. One run: find the server ($E2E_POPFETCH_SERVER, default
 * pop.postman.i2p: a line of HOME/routes, a b32 or base64 destination, or
 * a name looked up with NAMING LOOKUP), STREAM CONNECT through the running
 * session ($E2E_SAM_ID), USER/PASS from HOME/popfetch/auth, UIDL and LIST,
 * then for each message whose unique-id is not in HOME/popfetch/uidl:
 * RETR, hand it to $E2E_QUEUE addressed to $E2E_POPFETCH_USER at
 * $E2E_DOMAIN, append its unique-id to HOME/popfetch/uidl (fsync), and
 * only then DELE it when $E2E_POPFETCH_DELETE is 1. QUIT; the record is
 * pruned to the unique-ids still on the server.
 * Exit 0 done, 100 misconfigured, 111 anything to try again later (the
 * server, SAM, the queue); nothing is recorded or deleted for a message
 * the queue has not taken. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"
#include "i2p.h"
#include "sam.h"

char const *PROG = "e2e-popfetch";

#define USAGE "e2e-popfetch"
#define LINE_MAX_ 1024           /* a status or listing line, CRLF included */
#define RECORD_MAX 67108864      /* HOME/popfetch/uidl, at most */
#define CHUNK 65536

typedef struct msg {
  unsigned int num;
  char *uid;
  uint64_t size;                 /* LIST's octets; 0 when not listed */
  int recorded, fetched, deleted;
} msg;

extern char **environ;
static char const *home, *samaddr, *samid, *server, *queue;
static char dir[4000], recpath[4096], rcpt[ADDR_MAX];
static char peer[I2P_B32_ADDR_LEN + 1] = "-", dest[I2P_DEST_B64_MAX + 1];
static char user[AUTH_USER_MAX + 1], pass[AUTH_PW_MAX + 1];
static char rtext[256];          /* the last status line's text, printable */
static uint64_t maxsize;
static int64_t t0, tconnect, treply, tdata, tqueue;
static int del, recfd = -1;
static sam s;
static rbuf in;
static msg *m;
static unsigned int nm;
static char *rectext;           /* the record as read ... */
static char **rec;               /* ... its unique-ids, sorted */
static size_t nrec;

static int64_t after(int64_t ms) { return now_ms() + ms; }
/* The deadline of one read within a listing or a message: the server may
 * be silent for E2E_POPFETCH_TIMEOUT at most, and the whole must be done
 * by d. */
static int64_t soon(int64_t d) { int64_t e = after(treply); return e < d ? e : d; }

#define say(...) log_fmt("", __VA_ARGS__)

/* Logs "fatal: ..." and exits: no QUIT, so the server deletes nothing. */
static void die(int code, char const *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int code, char const *fmt, ...)
{
  char b[1024];
  va_list a;
  va_start(a, fmt);
  vsnprintf(b, sizeof b, fmt, a);
  va_end(a);
  log2("fatal: ", b);
  _exit(code);
}

/* ---- settings, credentials, the record ---- */
static int cmp(void const *a, void const *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* HOME/popfetch/uidl: one unique-id a line. A last line without its
 * newline (a crash in the middle of an append) is dropped first. */
static void record_load(void)
{
  char *text = 0, *p, *nl;
  size_t len = 0, i;
  if (file_read(recpath, &text, &len, RECORD_MAX) < 0) {
    if (errno != ENOENT) die(E2E_TEMP, "unable to read %s: %s", recpath, strerror(errno));
    text = 0; len = 0;
  }
  rectext = text;
  if (len && text[len - 1] != '\n') {
    while (len && text[len - 1] != '\n') len--;
    if (file_replace(recpath, text, len, 0600) < 0) die(E2E_TEMP, "unable to repair %s: %s", recpath, strerror(errno));
    say("warning: dropped a half-written last line of %s", recpath);
  }
  for (p = text, i = 0; p && p < text + len; p = nl + 1) {
    nl = memchr(p, '\n', (size_t)(text + len - p));
    *nl = 0;
    if (!pop3_uid_valid(p, (size_t)(nl - p))) continue;
    if (!(rec = realloc(rec, (i + 1) * sizeof *rec))) die(E2E_TEMP, "out of memory");
    rec[i++] = p;
  }
  nrec = i;
  if (nrec) qsort(rec, nrec, sizeof *rec, cmp);
  recfd = openat(AT_FDCWD, recpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (recfd < 0 || fsync_dir(dir) < 0) die(E2E_TEMP, "unable to open %s: %s", recpath, strerror(errno));
}

static int recorded(char const *uid) { return nrec && bsearch(&uid, rec, nrec, sizeof *rec, cmp) != 0; }

static void setup(void)
{
  char path[4096], err[512], lu[USER_MAX + 1];
  char const *u;
  int fd, r;
  home = env_need("E2E_HOME");
  u = env_need("E2E_POPFETCH_USER");
  if (!user_valid(u)) die(E2E_PERM, "variable E2E_POPFETCH_USER is not a user name: %s", safe(lu, sizeof lu, u, strlen(u)));
  if (snprintf(path, sizeof path, "%s@%s", u, env_need("E2E_DOMAIN")) >= ADDR_MAX
      || addr_check(path, strlen(path), rcpt))
    die(E2E_PERM, "variable E2E_DOMAIN is malformed");
  r = user_exists(home, u);
  if (r < 0) die(E2E_TEMP, "unable to read the users of %s: %s", home, strerror(errno));
  if (!r) die(E2E_PERM, "E2E_POPFETCH_USER %s is not a user here (make it with e2e-passwd)", u);
  samaddr = env_str("E2E_SAM", SAM_DEFAULT);
  samid = env_str("E2E_SAM_ID", "e2e");
  server = env_str("E2E_POPFETCH_SERVER", "pop.postman.i2p");
  queue = env_str("E2E_QUEUE", "e2e-queue");
  del = (int)env_uint("E2E_POPFETCH_DELETE", 0, 0, 1);
  maxsize = env_uint("E2E_MAXSIZE", 10485760, 1, (uint64_t)1 << 40);
  tconnect = (int64_t)env_uint("E2E_POPFETCH_CONNECT", 180, 1, 86400) * 1000;
  treply = (int64_t)env_uint("E2E_POPFETCH_TIMEOUT", 120, 1, 86400) * 1000;
  tdata = (int64_t)env_uint("E2E_POPFETCH_DATA", 600, 1, 86400) * 1000;
  tqueue = (int64_t)env_uint("E2E_TIMEOUT", 300, 1, 86400) * 1000;
  if (snprintf(dir, sizeof dir, "%s/popfetch", home) >= (int)sizeof dir - 16) die(E2E_PERM, "E2E_HOME is too long");
  snprintf(recpath, sizeof recpath, "%s/uidl", dir);
  r = auth_find(dir, server, user, pass, err, sizeof err);
  if (r <= 0) die(E2E_PERM, "%s", err);
  /* one run at a time: two would fetch the same messages */
  snprintf(path, sizeof path, "%s/lock", dir);
  fd = openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) die(E2E_TEMP, "unable to open %s: %s", path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) < 0)
    die(E2E_TEMP, errno == EWOULDBLOCK ? "another e2e-popfetch is running (%s is locked)" : "unable to lock %s", path);
  record_load();
}

/* ---- the server ---- */
static void connect_server(void)
{
  route r;
  i2p_wellknown w;
  char err[512];
  int64_t d = after(tconnect);
  int x = routes_read(home, server, &r, &w, err, sizeof err);
  if (x < 0) die(E2E_TEMP, "%s", err);
  if (!x && !i2p_wellknown_parse(&w, server, strlen(server))) x = 2;  /* a b32 or base64 destination */
  if (!x) {
    memset(&r, 0, sizeof r);
    if (strlen(server) >= sizeof r.target) die(E2E_PERM, "E2E_POPFETCH_SERVER is too long");
    strcpy(r.target, server);
    r.byname = 1;
  }
  if (x != 2 && r.byname && routes_lookup(&r, &w, samaddr, d, err, sizeof err)) die(E2E_TEMP, "%s", err);
  i2p_b32_of_hash(peer, w.hash);
  if (w.full) dest[i2p_b64_encode(dest, w.dest, w.d.len)] = 0;
  else strcpy(dest, peer);
  sam_init(&s);
  x = sam_open(&s, samaddr, d);
  if (!x) x = sam_stream_connect(&s, samid, dest, w.port, d);
  say("connect server=%s peer=%s result=%d ms=%lld%s%s", server, peer, x, (long long)(now_ms() - t0),
      x ? " error=" : "", x ? s.err : "");
  if (x) die(E2E_TEMP, "cannot reach %s (%s): %s", server, peer, s.err);
  rbuf_init(&in, s.fd, 0);
}

static void put(char const *cmd)
{
  if (sam_put(s.fd, cmd, strlen(cmd), after(treply)) < 0)
    die(E2E_TEMP, "%s: unable to write: %s", peer, errno == ETIMEDOUT ? "timed out" : strerror(errno));
}

/* One line of the server's by the deadline, without its line end. */
static size_t getl(char *l, int64_t deadline, char const *what)
{
  size_t n;
  switch (line_get(&in, l, LINE_MAX_, &n, deadline)) {
    case LINE_ERR: die(E2E_TEMP, "%s: %s %s", peer, errno == ETIMEDOUT ? "timed out waiting for" : strerror(errno), what);
    case LINE_EOF: die(E2E_TEMP, "%s: connection closed waiting for %s", peer, what);
    case LINE_LONG: die(E2E_TEMP, "%s: line too long in %s", peer, what);
  }
  if (--n && l[n - 1] == '\r') n--;
  l[n] = 0;
  if (strlen(l) != n) die(E2E_TEMP, "%s: NUL byte in %s", peer, what);
  return n;
}

/* A status line: 1 +OK, 0 -ERR (its text in rtext); anything else is fatal. */
static int status(char const *what)
{
  char l[LINE_MAX_ + 1];
  size_t n = getl(l, after(treply), what), i, k;
  int r = pop3_status(l, n);
  if (r < 0) die(E2E_TEMP, "%s: %s is not a status line: %s", peer, what, safe(rtext, 80, l, n));
  for (i = r ? 3 : 4, k = 0; i < n && k < sizeof rtext - 1; i++)   /* the server's words, blanks kept */
    rtext[k++] = (unsigned char)l[i] < 32 || (unsigned char)l[i] > 126 ? '?' : l[i];
  rtext[k] = 0;
  return r;
}

static void need(char const *cmd, char const *what)
{
  if (cmd) put(cmd);
  if (!status(what)) die(E2E_TEMP, "%s: server refused %s:%s", peer, what, rtext);
}

static msg *bynum(unsigned int num)
{
  unsigned int lo = 0, hi = nm;
  while (lo < hi) {
    unsigned int mid = lo + (hi - lo) / 2;
    if (m[mid].num == num) return m + mid;
    if (m[mid].num < num) lo = mid + 1; else hi = mid;
  }
  return 0;
}

/* UIDL, then LIST: the messages, their unique-ids and sizes. */
static void listing(void)
{
  char l[LINE_MAX_ + 1], *arg;
  unsigned int num;
  int64_t d;
  msg *x;
  put("UIDL\r\n");
  if (!status("the reply to UIDL"))   /* without unique-ids old and new mail look alike */
    die(E2E_TEMP, "%s: the server refused UIDL, without which messages would be fetched twice:%s", peer, rtext);
  for (d = after(tdata);;) {
    getl(l, soon(d), "the UIDL listing");
    if (!strcmp(l, ".")) break;
    if (pop3_listing(l, &num, &arg) < 0 || !pop3_uid_valid(arg, strlen(arg)) || (nm && num <= m[nm - 1].num))
      die(E2E_TEMP, "%s: malformed line in the UIDL listing", peer);
    if (!(nm & 1023) && !(m = realloc(m, (nm + 1024) * sizeof *m))) die(E2E_TEMP, "out of memory");
    memset(m + nm, 0, sizeof *m);
    m[nm].num = num;
    if (!(m[nm].uid = strdup(arg))) die(E2E_TEMP, "out of memory");
    m[nm].recorded = recorded(arg);
    nm++;
  }
  need("LIST\r\n", "the reply to LIST");
  for (d = after(tdata);;) {
    getl(l, soon(d), "the LIST listing");
    if (!strcmp(l, ".")) break;
    if (pop3_listing(l, &num, &arg) < 0) die(E2E_TEMP, "%s: malformed line in the LIST listing", peer);
    if ((x = bynum(num)) && !scan_u64(arg, UINT64_MAX, &x->size))
      die(E2E_TEMP, "%s: malformed size in the LIST listing", peer);
  }
}

/* RETR: the message into fd, LF line ends. 0, or -1 when the server
 * refused (it may have gone meanwhile). Dies when the transfer fails. */
static int retr(msg *x, int fd)
{
  static char buf[CHUNK], out[CHUNK + 1];
  char cmd[32];
  size_t got = 0, on, took;
  uint64_t size = 0;
  int64_t d;
  pop3_body b;
  snprintf(cmd, sizeof cmd, "RETR %u\r\n", x->num);
  put(cmd);
  if (!status("the reply to RETR")) { say("warning: server refused RETR %u uid=%s:%s", x->num, x->uid, rtext); return -1; }
  if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) die(E2E_TEMP, "unable to reset the message buffer: %s", strerror(errno));
  pop3_body_init(&b);
  for (d = after(tdata); !pop3_body_done(&b);) {
    ssize_t r = rbuf_get(&in, buf, sizeof buf, soon(d));
    if (r < 0) die(E2E_TEMP, "%s: %s during RETR %u", peer, errno == ETIMEDOUT ? "timed out" : strerror(errno), x->num);
    if (!r) die(E2E_TEMP, "%s: connection closed during RETR %u after %zu bytes", peer, x->num, got);
    got += (size_t)r;
    took = pop3_body_feed(&b, buf, (size_t)r, out, &on);
    if (took < (size_t)r) say("warning: %zu bytes after the end of RETR %u ignored", (size_t)r - took, x->num);
    if ((size += on) > maxsize) die(E2E_TEMP, "%s: message %u is larger than E2E_MAXSIZE (%llu bytes)", peer, x->num, (unsigned long long)maxsize);
    if (write_all(fd, out, on) < 0) die(E2E_TEMP, "unable to buffer message %u: %s", x->num, strerror(errno));
  }
  return 0;
}

/* The message on fd to $E2E_QUEUE, for rcpt: 0 queued, 100 refused for
 * good, 111 not queued. */
static int handoff(int fd, msg const *x)
{
  char env[ADDR_MAX + 8];
  char const *argv[] = { queue, 0 };
  envelope e;
  int p[2], st, killed = 0;
  size_t n;
  pid_t pid, got;
  int64_t d = after(tqueue);
  e.sender = ""; e.rcpt[0] = rcpt; e.n = 1;
  n = envelope_fmt(&e, env, sizeof env);
  if (!n || lseek(fd, 0, SEEK_SET) < 0 || pipe2(p, O_CLOEXEC) < 0) die(E2E_TEMP, "unable to queue: %s", strerror(errno));
  if ((errno = qspawn(&pid, argv, (char const *const *)environ, fd, p[0], 1)))
    die(E2E_TEMP, "unable to run %s: %s", queue, strerror(errno));
  close(p[0]);
  write_all(p[1], env, n);   /* a failure shows in its exit code */
  close(p[1]);
  for (;;) {
    got = waitpid(pid, &st, killed ? 0 : WNOHANG);
    if (got == pid) break;
    if (got < 0 && errno != EINTR) die(E2E_TEMP, "unable to wait for %s: %s", queue, strerror(errno));
    if (!got && now_ms() >= d) { kill(pid, SIGKILL); killed = 1; }
    else if (!got) usleep(5000);
  }
  st = killed ? E2E_TEMP : queue_class(st);
  if (st == E2E_NOSPACE) st = E2E_TEMP;
  say("queue num=%u uid=%s result=%d", x->num, x->uid, st);
  return st;
}

static void record(msg *x)
{
  char l[POP3_UID_MAX + 2];
  size_t n = (size_t)snprintf(l, sizeof l, "%s\n", x->uid);
  if (write_all(recfd, l, n) < 0 || fsync(recfd) < 0)
    die(E2E_TEMP, "unable to record uid=%s in %s (the message is queued: the next run fetches it again): %s",
        x->uid, recpath, strerror(errno));
}

/* Only what is still on the server (and was not deleted) stays recorded. */
static void prune(void)
{
  char *text;
  size_t len = 0;
  unsigned int i;
  if (!(text = malloc((size_t)nm * (POP3_UID_MAX + 1) + 1))) die(E2E_TEMP, "out of memory");
  for (i = 0; i < nm; i++)
    if ((m[i].recorded || m[i].fetched) && !m[i].deleted) len += (size_t)sprintf(text + len, "%s\n", m[i].uid);
  if (file_replace(recpath, text, len, 0600) < 0) say("warning: unable to prune %s: %s", recpath, strerror(errno));
  free(text);
}

int main(int argc, char const *const *argv)
{
  char cmd[AUTH_USER_MAX + 16];
  unsigned int i, fetched = 0, skipped = 0, refused = 0, deleted = 0, fresh = 0;
  int fd, ok, r;
  (void)argv;
  if (argc != 1) strerr_dieusage(E2E_PERM, USAGE);
  signal(SIGPIPE, SIG_IGN);
  t0 = now_ms();
  setup();
  fd = memfd_create("e2e-popfetch", MFD_CLOEXEC);
  if (fd < 0) die(E2E_TEMP, "unable to make the message buffer: %s", strerror(errno));
  connect_server();

  need(0, "the greeting");
  snprintf(cmd, sizeof cmd, "USER %s\r\n", user);
  put(cmd);
  ok = status("the reply to USER");
  if (ok) {
    put("PASS ");
    put(pass);
    put("\r\n");
    ok = status("the reply to PASS");
  }
  if (!ok) die(E2E_TEMP, "%s: the server refused the login of %s:%s", peer, user, rtext);
  listing();

  for (i = 0; i < nm; i++) {
    msg *x = m + i;
    if (x->recorded) continue;
    fresh++;
    if (x->size > maxsize) {
      say("warning: message %u uid=%s of %llu bytes is larger than E2E_MAXSIZE: left on the server", x->num,
          x->uid, (unsigned long long)x->size);
      skipped++;
      continue;
    }
    if (retr(x, fd) < 0) { skipped++; continue; }
    r = handoff(fd, x);
    if (r != E2E_OK && r != E2E_PERM)
      die(E2E_TEMP, "unable to queue message %u uid=%s: it stays on the server for the next run", x->num, x->uid);
    record(x);                /* only now: the queue has it, or refused it for good */
    x->fetched = 1;
    if (r == E2E_PERM) {
      refused++;
      say("warning: the queue refused message %u uid=%s for good: left on the server", x->num, x->uid);
      continue;
    }
    fetched++;
    if (!del) continue;
    snprintf(cmd, sizeof cmd, "DELE %u\r\n", x->num);
    put(cmd);
    if (status("the reply to DELE")) { x->deleted = 1; deleted++; }
    else say("warning: server refused DELE %u uid=%s:%s", x->num, x->uid, rtext);
  }
  put("QUIT\r\n");
  need(0, "the reply to QUIT");
  prune();
  say("done server=%s peer=%s messages=%u new=%u fetched=%u refused=%u skipped=%u deleted=%u ms=%lld", server, peer,
      nm, fresh, fetched, refused, skipped, deleted, (long long)(now_ms() - t0));
  free(rec);
  free(rectext);
  return 0;
}
