/* e2e-pop3d: POP3 server on fds 0/1 (RFC 1939, RFC 2449) over the Maildir
 * $E2E_HOME/mail/USER, passwords from $E2E_HOME/users. In the manner of
 * qmail-popup + qmail-pop3d: one line reader, a command table, one line
 * per reply. Messages are stored with LF ends and sent with CRLF. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bearssl/bearssl_hash.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char const *PROG = "e2e-pop3d";

#define CMDMAX 255      /* RFC 2449: a command line, CRLF included */
#define MAXERR 10       /* protocol errors before we hang up */
#define UIDMAX 70       /* RFC 1939 */
#define ALL UINT64_MAX  /* TOP's line count for the whole message */

typedef struct msg {
  char *name;           /* in cur/ */
  size_t base;          /* length of the name before the info (":2,") */
  uint64_t size;        /* octets as RETR sends them, before dot-stuffing */
  uint64_t fsize;       /* the file's size when listed: what RETR reads */
  uint64_t t;           /* the seconds prefix of the name: delivery order */
  int counted;          /* size not from the name: counted, or from SIZES */
  int dele, seen;
} msg;

static wbuf out;
static rbuf in;
static int64_t timeout;             /* ms, per command */
static char const *home;
static char user[CMDMAX];           /* as given, lower-cased */
static char logname[USER_MAX + 1];  /* safe() copy for the log */
static int gotuser, authed, errors;
static int tlsctl = -1, tlson, tlsneed;  /* e2e-tlsd's control socket; TLS is on; USER waits for it */
static msg *m;
static uint64_t nm;
static unsigned long nretr, ndele;

/* ---- replies ---- */

static void put(char const *s) { wbuf_puts(&out, s); }
static void putu(uint64_t u) { char b[24]; snprintf(b, sizeof b, "%llu", (unsigned long long)u); put(b); }
static void ok(char const *s) { put("+OK "); put(s); put("\r\n"); }
static void err(char const *s) { put("-ERR "); put(s); put("\r\n"); }

/* Last words: flushed with a short deadline of their own. */
static void flush(void) { out.deadline = now_ms() + 2000; wbuf_flush(&out); }
static _Noreturn void bye(int code) { flush(); _exit(code); }

static _Noreturn void die_errors(void) { err("too many errors, closing"); log2("close reason=errors user=", logname); bye(0); }
static _Noreturn void die_timeout(void) { err("timeout"); log2("close reason=timeout user=", logname); bye(E2E_TEMP); }
static _Noreturn void die_eof(void) { log2("close reason=eof user=", logname); _exit(0); }
static _Noreturn void die_write(void) { errno = out.err; strerr_diefu1sys(E2E_TEMP, "write to the client"); }
static _Noreturn void die_read(void) { strerr_diefu1sys(E2E_TEMP, "read from the client"); }
static _Noreturn void die_nomem(void) { err("[SYS/TEMP] out of memory"); flush(); strerr_diefu1x(E2E_TEMP, "allocate memory"); }
static _Noreturn void die_flood(void) { err("line too long, closing"); log2("close reason=line_too_long user=", logname); bye(E2E_PERM); }
static _Noreturn void die_peer(void) { err("[SYS/TEMP] too many connections from your address"); log1("close reason=peer_limit"); bye(E2E_TEMP); }
static _Noreturn void die_inuse(void) { err("[IN-USE] mailbox is in use by another session"); log2("in-use user=", logname); bye(0); }
static _Noreturn void die_sys(char const *what, char const *obj)
{
  int e = errno;
  err("[SYS/TEMP] unable to open the mailbox, try again later");
  flush();
  errno = e;
  strerr_diefu3sys(E2E_TEMP, what, " ", obj);
}

/* A protocol error: counts towards MAXERR. */
static void bad(char const *s) { err(s); if (++errors >= MAXERR) die_errors(); }

/* ---- the message as POP3 wants it ---- */

/* Sends (w) or only counts (*count) the message on fd: LF ends become CRLF
 * (a CR already before the LF stays), a final CRLF when the file does not
 * end in LF, and, when sending, '.' doubled at the start of a line. Stops
 * after the blank line ending the header and `lines` more lines, and after
 * fsize octets of the file (its size when listed: a Maildir file does not
 * change, and no read is spent on finding its end). The count leaves out
 * the dot-stuffing: it is the size LIST reports. */
static int copy(int fd, uint64_t fsize, uint64_t lines, wbuf *w, uint64_t *count)
{
  char buf[65536];
  int bol = 1, cr = 0, body = 0;
  uint64_t n = 0, k = 0, linelen = 0, got = 0;
  while (got < fsize) {
    char *p, *end;
    ssize_t r = read(fd, buf, fsize - got < sizeof buf ? (size_t)(fsize - got) : sizeof buf);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (!r) break;
    got += (uint64_t)r;
    if (w && w->err) return -1;
    for (p = buf, end = buf + r; p < end; ) {
      char *nl, *q;
      if (bol) {
        if (*p == '.' && w) wbuf_put(w, ".", 1);
        bol = 0; cr = 0; linelen = 0;
      }
      nl = memchr(p, '\n', (size_t)(end - p));
      q = nl ? nl : end;
      if (q > p) {
        if (w) wbuf_put(w, p, (size_t)(q - p));
        n += (uint64_t)(q - p);
        linelen += (uint64_t)(q - p);
        cr = q[-1] == '\r';
      }
      if (!nl) break;
      if (w) wbuf_put(w, cr ? "\n" : "\r\n", cr ? 1 : 2);
      n += cr ? 1 : 2;
      bol = 1;
      p = nl + 1;
      if (body) k++;
      else if (!linelen || (linelen == 1 && cr)) body = 1;
      if (body && k >= lines) goto done;
    }
  }
  if (!bol) { if (w) wbuf_put(w, "\r\n", 2); n += 2; }
done:
  if (count) *count = n;
  return w && w->err ? -1 : 0;
}

/* The number after ",K=" in the name's base, if any. */
static int field(msg const *x, char k, uint64_t *v)
{
  size_t i, j;
  for (i = 0; i + 3 < x->base; i++) {
    char const *s = x->name;
    if (s[i] != ',' || s[i + 1] != k || s[i + 2] != '=') continue;
    for (j = i + 3, *v = 0; j < x->base && s[j] >= '0' && s[j] <= '9'; j++) {
      if (*v > (UINT64_MAX - 9) / 10) return 0;
      *v = *v * 10 + (uint64_t)(s[j] - '0');
    }
    return j > i + 3 && (j == x->base || s[j] == ',');
  }
  return 0;
}

/* ---- the sizes of messages named without them ----
 * A message whose name has no S= and W= (a Maildir that e2e-local did not
 * write) has its size counted, which reads the whole file; SIZES keeps
 * what was counted, so that a login does not read every message again
 * (as Dovecot's index keeps them). A line "FSIZE SIZE BASE": the file's
 * size (checked against stat: a line for another file of that name is
 * not used), the size LIST reports, the name before its info; sorted by
 * BASE. Rewritten (file_replace) after a login that counted anything or
 * found lines for messages that are gone; a file that does not parse is
 * not used at all. */
#define SIZES ".pop3.sizes"
#define SIZES_MAX (64 << 20)
typedef struct sizeline { char const *base; size_t len; uint64_t fsize, size; } sizeline;
static char *sizesbuf;
static sizeline *sizes;
static size_t nsizes, ncounted;

static int namecmp(char const *a, size_t al, char const *b, size_t bl)
{
  int r = memcmp(a, b, al < bl ? al : bl);
  return r ? r : (al > bl) - (al < bl);
}

static void sizes_drop(void)
{
  free(sizesbuf); free(sizes);
  sizesbuf = 0; sizes = 0; nsizes = 0;
}

static void sizes_load(void)
{
  size_t len, a = 0;
  char *p, *end;
  int fd = openat(AT_FDCWD, SIZES, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  if (read_all(fd, &sizesbuf, &len, SIZES_MAX) < 0) {
    strerr_warnwu1sys("read " SIZES ", the sizes are counted anew");   /* EFBIG: over SIZES_MAX */
    sizesbuf = 0;
  }
  close(fd);
  if (!sizesbuf) return;
  for (p = sizesbuf, end = sizesbuf + len; p < end; ) {
    char *nl = memchr(p, '\n', (size_t)(end - p)), *b, *c;
    sizeline l;
    if (!nl || !(b = memchr(p, ' ', (size_t)(nl - p))) || !(c = memchr(b + 1, ' ', (size_t)(nl - b - 1)))) goto bad;
    *nl = *b = *c = 0;
    l.base = c + 1; l.len = (size_t)(nl - c - 1);
    if (!l.len || !scan_u64(p, UINT64_MAX, &l.fsize) || !scan_u64(b + 1, UINT64_MAX, &l.size)) goto bad;
    if (nsizes && namecmp(sizes[nsizes - 1].base, sizes[nsizes - 1].len, l.base, l.len) >= 0) goto bad;
    if (nsizes == a) {
      sizeline *q = grow(sizes, &a, sizeof *sizes, 256);
      if (!q) { sizes_drop(); return; }
      sizes = q;
    }
    sizes[nsizes++] = l;
    p = nl + 1;
  }
  return;
bad:
  strerr_warnw1x(SIZES " is malformed: the sizes are counted anew");
  sizes_drop();
}

/* x's size from SIZES, when it has a line for that file: 1, else 0. */
static int sizes_get(msg *x)
{
  size_t lo = 0, hi = nsizes;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = namecmp(sizes[mid].base, sizes[mid].len, x->name, x->base);
    if (!r) {
      if (sizes[mid].fsize != x->fsize) return 0;
      x->size = sizes[mid].size;
      return 1;
    }
    if (r < 0) lo = mid + 1; else hi = mid;
  }
  return 0;
}

static int bybase(void const *a, void const *b)
{
  msg const *x = *(msg const *const *)a, *y = *(msg const *const *)b;
  return namecmp(x->name, x->base, y->name, y->base);
}

/* Has a line in SIZES: counted (or taken from there), and a name that
 * fits on a line (one with a LF is counted at every login). */
static int sizes_kept(msg const *x) { return x->counted && !memchr(x->name, '\n', x->base); }

/* SIZES as the listing has it, when that is not what it holds. */
static void sizes_save(void)
{
  msg **v;
  char *buf;
  size_t n = 0, i, len = 0, max = 0;
  for (i = 0; i < nm; i++) if (sizes_kept(&m[i])) { n++; max += m[i].base + 44; }
  if (!ncounted && n == nsizes) { sizes_drop(); return; }   /* every line used, none missing */
  sizes_drop();
  if (!(v = malloc((n ? n : 1) * sizeof *v)) || !(buf = malloc(max + 1))) { free(v); return; }
  for (i = 0, n = 0; i < nm; i++) if (sizes_kept(&m[i])) v[n++] = &m[i];
  qsort(v, n, sizeof *v, bybase);
  for (i = 0; i < n; i++) {
    if (i && !bybase(&v[i - 1], &v[i])) continue;   /* one line a name */
    len += (size_t)snprintf(buf + len, max + 1 - len, "%llu %llu ", (unsigned long long)v[i]->fsize,
                            (unsigned long long)v[i]->size);
    memcpy(buf + len, v[i]->name, v[i]->base);
    len += v[i]->base;
    buf[len++] = '\n';
  }
  if (file_replace(SIZES, buf, len, 0600) < 0) strerr_warnwu1sys("write " SIZES);
  free(v); free(buf);
}

/* Its size with CRLF ends: W= from the name when S= matches the file,
 * else counted. 0 ok, -1 unreadable (errno). */
static int msgsize(msg *x)
{
  char path[512];
  struct stat st;
  uint64_t s, w;
  int fd, r, e;
  snprintf(path, sizeof path, "cur/%s", x->name);
  if (stat(path, &st) < 0) return -1;
  if (!S_ISREG(st.st_mode)) { errno = EISDIR; return -1; }
  x->fsize = (uint64_t)st.st_size;
  if (field(x, 'S', &s) && field(x, 'W', &w) && s == (uint64_t)st.st_size && w >= s) { x->size = w; return 0; }
  x->counted = 1;
  if (sizes_get(x)) return 0;
  if (sizes_kept(x)) ncounted++;
  fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  r = copy(fd, x->fsize, ALL, 0, &x->size);
  e = errno;
  close(fd);
  errno = e;
  return r;
}

/* ---- the mailbox ---- */

/* new/NAME -> cur/NAME:2, (the name stays the UID) by dir_move: every
 * one linked, cur/ synced, then the new/ names removed. A message whose
 * cur/ name holds a different file stays in new/, with a warning. */
static int cur_name(char *to, size_t max, char const *name)
{
  return snprintf(to, max, strchr(name, ':') ? "%s" : "%s:2,", name) < (int)max;
}

static void moved(int what, char const *name, void *ctx)
{
  (void)ctx;
  if (what == DIR_MOVE_CLASH) strerr_warnw3x("new/", name, ": cur/ holds a different file of that name: left in new/");
  else if (what == DIR_MOVE_LINKFAIL || what == DIR_MOVE_UNLINKFAIL) strerr_warnwu2sys("move new/", name);
}

static void move_new(void)
{
  if (dir_move("new", "cur", cur_name, moved, 0) < 0) die_sys("move new/ to", "cur");
}

static uint64_t stamp(char const *s)
{
  uint64_t t = 0;
  for (; *s >= '0' && *s <= '9' && t < UINT64_MAX / 20; s++) t = t * 10 + (uint64_t)(*s - '0');
  return t;
}

/* Delivery order: the seconds prefix, then the rest of the name. */
static int bytime(void const *a, void const *b)
{
  msg const *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return strcmp(x->name, y->name);
}

static void scan_cur(void)
{
  size_t a = 0;
  char const *e;
  dirents d;
  if (dirents_open(&d, "cur") < 0) die_sys("open", "cur");
  while ((e = dirents_next(&d))) {
    msg *x;
    if (e[0] == '.') continue;
    if (nm == a && !(m = grow(m, &a, sizeof *m, 64))) die_nomem();
    x = &m[nm];
    memset(x, 0, sizeof *x);
    if (!(x->name = strdup(e))) die_nomem();
    x->base = strcspn(x->name, ":");
    x->t = stamp(x->name);
    if (msgsize(x) < 0) {
      if (errno != ENOENT) strerr_warnwu2sys("read cur/", x->name);
      free(x->name);
      continue;
    }
    nm++;
  }
  if (errno) die_sys("read", "cur");
  dirents_close(&d);
  if (nm) qsort(m, nm, sizeof *m, bytime);
}

/* After authentication: lock, new/ into cur/, list cur/. */
static void mailbox_open(void)
{
  char path[4096];
  int fd;
  if (snprintf(path, sizeof path, "%s/mail/%s", home, user) >= (int)sizeof path) { errno = ENAMETOOLONG; die_sys("open", "maildir"); }
  if (chdir(path) < 0) die_sys("chdir to ", path);
  fd = openat(AT_FDCWD, ".pop3.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) die_sys("open", ".pop3.lock");
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) die_inuse();
    die_sys("lock", ".pop3.lock");
  }
  move_new();
  sizes_load();
  scan_cur();
  sizes_save();
}

/* The UID: the name before its info when fit for RFC 1939, else a hash. */
static void putuid(msg const *x)
{
  size_t i;
  int fit = x->base && x->base <= UIDMAX;
  for (i = 0; fit && i < x->base; i++)
    if ((unsigned char)x->name[i] < 0x21 || (unsigned char)x->name[i] > 0x7e) fit = 0;
  if (fit) wbuf_put(&out, x->name, x->base);
  else {
    static char const hex[] = "0123456789abcdef";
    unsigned char h[32];
    char s[65];
    br_sha256_context c;
    br_sha256_init(&c);
    br_sha256_update(&c, x->name, x->base);
    br_sha256_out(&c, h);
    for (i = 0; i < 32; i++) { s[2 * i] = hex[h[i] >> 4]; s[2 * i + 1] = hex[h[i] & 15]; }
    s[64] = 0;
    put("h"); put(s);
  }
}

/* A message number argument; replies and returns 0 when it names none. */
static msg *msgarg(char const *arg)
{
  uint64_t i;
  if (!*arg) { bad("syntax error"); return 0; }
  if (!scan_u64(arg, UINT64_MAX, &i) || !i || i > nm) { err("no such message"); return 0; }
  if (m[i - 1].dele) { err("message deleted"); return 0; }
  return &m[i - 1];
}

static void send_msg(msg *x, uint64_t lines)
{
  char path[512];
  int fd;
  snprintf(path, sizeof path, "cur/%s", x->name);
  fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) { strerr_warnwu2sys("open ", path); err("[SYS/TEMP] unable to read the message"); return; }
  if (lines == ALL) { put("+OK "); putu(x->size); put(" octets\r\n"); }
  else ok("top of message follows");
  if (copy(fd, x->fsize, lines, &out, 0) < 0) { if (out.err) die_write(); strerr_diefu2sys(E2E_TEMP, "read ", path); }
  close(fd);
  put(".\r\n");
}

/* ---- commands ---- */

static void pop_capa(char *arg)
{
  (void)arg;
  ok("capability list follows");
  if (!tlsneed || tlson) put("USER\r\n");
  put("UIDL\r\nTOP\r\nPIPELINING\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n");
  if (tlsctl >= 0 && !tlson && !authed) put("STLS\r\n");
  put("IMPLEMENTATION e2e\r\n.\r\n");
}

/* RFC 2595: +OK, then the handshake; what came after the command is
 * dropped, and so is a USER given before. */
static void pop_stls(char *arg)
{
  int r;
  (void)arg;
  if (tlsctl < 0) { bad("unknown command"); return; }
  if (tlson) { bad("TLS is already on"); return; }
  r = wbuf_flush(&out) < 0 ? -1 : tls_ask(tlsctl, out.deadline);
  if (r <= 0) { if (out.err) die_write(); err("[SYS/TEMP] TLS not available now"); return; }
  ok("begin TLS negotiation");
  if (wbuf_flush(&out) < 0) die_write();
  if (tls_start(tlsctl, &in) < 0) strerr_diefu1sys(E2E_TEMP, "start TLS");
  tlson = 1; gotuser = 0;
  log1("stls");
}

static void pop_user(char *arg)
{
  size_t i, n = strlen(arg);
  if (tlsneed && !tlson) { bad("use STLS first"); return; }
  if (!n) { bad("syntax error"); return; }
  for (i = 0; i <= n; i++) user[i] = (arg[i] >= 'A' && arg[i] <= 'Z') ? (char)(arg[i] + 32) : arg[i];
  safe(logname, sizeof logname, user, n);
  gotuser = 1;
  ok("send PASS");
}

static void pop_pass(char *arg)
{
  int r;
  if (!gotuser) { bad("USER first"); return; }
  gotuser = 0;
  r = user_check(home, user, arg);
  explicit_bzero(arg, strlen(arg));
  if (r < 0) {
    err("[SYS/TEMP] unable to check the password, try again later");
    flush();
    strerr_diefu3sys(E2E_TEMP, "read ", home, "/users");
  }
  if (!r) {
    log2("login failed user=", logname);
    /* user_check made the failure last E2E_AUTHFAIL_DELAY, for unknown users too */
    bad("[AUTH] authorization failed");
    return;
  }
  authed = 1;
  mailbox_open();
  {
    uint64_t i, size = 0;
    char n[24];
    for (i = 0; i < nm; i++) size += m[i].size;
    snprintf(n, sizeof n, "%llu", (unsigned long long)nm);
    log4("login ok user=", logname, " messages=", n);
    put("+OK "); putu(nm); put(" messages ("); putu(size); put(" octets)\r\n");
  }
}

static void pop_stat(char *arg)
{
  uint64_t i, n = 0, size = 0;
  (void)arg;
  for (i = 0; i < nm; i++) if (!m[i].dele) { n++; size += m[i].size; }
  put("+OK "); putu(n); put(" "); putu(size); put("\r\n");
}

/* LIST and UIDL: one message, or every one not deleted. */
static void listing(char *arg, int uid)
{
  uint64_t i;
  if (*arg) {
    msg *x = msgarg(arg);
    if (!x) return;
    put("+OK "); putu((uint64_t)(x - m) + 1); put(" ");
    if (uid) putuid(x); else putu(x->size);
    put("\r\n");
    return;
  }
  ok(uid ? "unique-id listing follows" : "scan listing follows");
  for (i = 0; i < nm; i++) {
    if (m[i].dele) continue;
    putu(i + 1); put(" ");
    if (uid) putuid(&m[i]); else putu(m[i].size);
    put("\r\n");
  }
  put(".\r\n");
}

static void pop_list(char *arg) { listing(arg, 0); }
static void pop_uidl(char *arg) { listing(arg, 1); }

static void pop_retr(char *arg)
{
  msg *x = msgarg(arg);
  if (!x) return;
  send_msg(x, ALL);
  x->seen = 1;
  nretr++;
}

static void pop_top(char *arg)
{
  uint64_t k;
  msg *x;
  char *sp = strchr(arg, ' ');
  if (!sp || !scan_u64(sp + 1, ALL - 1, &k)) { bad("syntax error"); return; }
  *sp = 0;
  if ((x = msgarg(arg))) send_msg(x, k);
}

static void pop_dele(char *arg)
{
  msg *x = msgarg(arg);
  if (!x) return;
  x->dele = 1;
  ok("message deleted");
}

static void pop_rset(char *arg)
{
  uint64_t i;
  (void)arg;
  for (i = 0; i < nm; i++) m[i].dele = 0;
  ok("messages undeleted");
}

static void pop_noop(char *arg) { (void)arg; ok("nothing done"); }

/* QUIT: in the TRANSACTION state, the UPDATE: remove what DELE marked,
 * mark what RETR sent as seen (cur/NAME:2, -> cur/NAME:2,S). */
static void pop_quit(char *arg)
{
  char path[512], to[520];
  uint64_t i;
  unsigned long fail = 0;
  (void)arg;
  peer_release();
  if (authed) {
    for (i = 0; i < nm; i++) {
      snprintf(path, sizeof path, "cur/%s", m[i].name);
      if (m[i].dele) {
        if (unlink(path) == 0 || errno == ENOENT) ndele++;
        else { strerr_warnwu2sys("remove ", path); fail++; }
      } else if (m[i].seen && !strcmp(m[i].name + m[i].base, ":2,")) {
        snprintf(to, sizeof to, "%sS", path);
        if (rename(path, to) < 0) strerr_warnwu2sys("rename ", path);
      }
    }
    {
      char r[24], d[24];
      snprintf(r, sizeof r, "%lu", nretr);
      snprintf(d, sizeof d, "%lu", ndele);
      log6("quit user=", logname, " retr=", r, " dele=", d);
    }
    if (fail) { err("[SYS/TEMP] some deleted messages not removed"); bye(E2E_TEMP); }
  }
  ok("e2e POP3 signing off");
  bye(0);
}

#define S_AUTH 1
#define S_TRANS 2
static struct cmd { char const *name; void (*fn)(char *); int states; } const cmds[] = {
  { "capa", pop_capa, S_AUTH | S_TRANS },
  { "user", pop_user, S_AUTH },
  { "pass", pop_pass, S_AUTH },
  { "quit", pop_quit, S_AUTH | S_TRANS },
  { "stat", pop_stat, S_TRANS },
  { "list", pop_list, S_TRANS },
  { "uidl", pop_uidl, S_TRANS },
  { "top", pop_top, S_TRANS },
  { "retr", pop_retr, S_TRANS },
  { "dele", pop_dele, S_TRANS },
  { "rset", pop_rset, S_TRANS },
  { "noop", pop_noop, S_TRANS },
  { "stls", pop_stls, S_AUTH },
  { 0, 0, 0 }
};

static void dispatch(char *line, size_t len)
{
  struct cmd const *c;
  char *arg;
  len--;                                   /* the \n */
  if (len && line[len - 1] == '\r') len--;
  line[len] = 0;
  if (memchr(line, 0, len)) { bad("syntax error"); return; }
  arg = strchr(line, ' ');
  if (arg) *arg++ = 0; else arg = line + len;
  for (c = cmds; c->name; c++) if (!strcasecmp(c->name, line)) break;
  if (!c->name) { bad("unknown command"); return; }
  if (!(c->states & (authed ? S_TRANS : S_AUTH))) { bad(authed ? "already authenticated" : "authenticate first"); return; }
  if (c->fn != pop_pass) {                 /* a password may hold spaces */
    while (*arg == ' ') arg++;
    for (len = strlen(arg); len && arg[len - 1] == ' '; ) arg[--len] = 0;
  }
  c->fn(arg);
}

int main(void)
{
  char line[CMDMAX + 1];
  size_t len;
  home = env_need("E2E_HOME");
  timeout = (int64_t)env_uint("E2E_TIMEOUT", 300, 1, 86400) * 1000;
  signal(SIGPIPE, SIG_IGN);
  {                                        /* a socket: writes keep the deadline */
    struct stat st;
    int fl = fcntl(1, F_GETFL);
    if (fstat(1, &st) == 0 && S_ISSOCK(st.st_mode) && fl >= 0) fcntl(1, F_SETFL, fl | O_NONBLOCK);
  }
  strcpy(logname, "-");
  tlsctl = tls_ctl(); tlsneed = tls_required(tlsctl);
  wbuf_init(&out, 1);
  rbuf_init(&in, 0, &out);
  if (!peer_admit("E2E_POP3PEER", "E2E_POP3CONC")) die_peer();
  ok("e2e POP3 ready");
  for (;;) {
    int64_t deadline = now_ms() + timeout;
    int r;
    out.deadline = deadline;
    r = line_get(&in, line, CMDMAX, &len, deadline);
    if (out.err) die_write();
    if (r == LINE_ERR) { if (errno == ETIMEDOUT) die_timeout(); if (errno == EMSGSIZE) die_flood(); die_read(); }
    if (r == LINE_EOF) die_eof();
    if (r == LINE_LONG) bad("line too long");
    else dispatch(line, len);
    explicit_bzero(line, sizeof line);
    if (out.err) die_write();
  }
}
