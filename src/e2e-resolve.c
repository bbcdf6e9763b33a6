/* e2e-resolve HOST: prints HOST's mail destination, "DEST[ PORT]".
 * In order: a line of $E2E_HOME/routes; a b32 HOST is its own mail
 * server; a fresh entry of $E2E_HOME/cache/HOST; HOST's _smtp._tcp
 * service record (I2P proposal 167: NAMING LOOKUP ... OPTIONS=true), a
 * record naming another host only when that host's own record says
 * "self"; else http://HOST/.well-known/i2pmail.key fetched through the SAM
 * session $E2E_SAM_ID, cached as Cache-Control says; a stale entry (up to
 * 30 days old) serves while the site cannot be reached.
 * Exit 0 found, 100 no such host or no key published, 111 cannot tell now. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "e2e.h"
#include "i2p.h"
#include "sam.h"

#define USAGE "usage: e2e-resolve host"
#define TIMEOUT_DEFAULT 60     /* seconds for the whole fetch: I2P is slow */
#define STALE_TIMEOUT_DEFAULT 15 /* ... when a stale copy can answer instead */
#define TTL_DEFAULT 86400      /* no max-age: a day */
#define TTL_NEGATIVE 300       /* a 404 or an invalid key is kept 5 minutes at most */
#define STALE_MAX 2592000      /* a stale copy serves 30 days after its fetch */
#define SKEW 300               /* a fetch time this far in the future is believed */
#define UNKNOWN (-1)           /* fetch: the router knows no such name */
#define SRV_TIMEOUT_DEFAULT 20 /* seconds for the service record lookups */

char const *PROG = "e2e-resolve";

static char host[CACHE_HOST_MAX + 1], cachedir[4096], cachepath[4096];
static char const *home;
static unsigned int timeout = TIMEOUT_DEFAULT, stale_timeout = STALE_TIMEOUT_DEFAULT, unknown_code = E2E_PERM;
static unsigned int srv_timeout = SRV_TIMEOUT_DEFAULT;   /* 0: no service records */
static int64_t started, now;          /* ms (monotonic); seconds since the epoch */
static i2p_wellknown w;
static http h;
static sam s;
static rbuf rb;
static char why[512], line[2048];     /* why a fetch failed; a log line */

/* ---- logging and exits ---- */
static void say(int warn, char const *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int warn, char const *fmt, ...)
{
  va_list ap;
  int n = snprintf(line, sizeof line, "%shost=%s ", warn ? "warning: " : "", host);
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  log1(line);
}

static void die(int code, char const *a, char const *b)
{
  log3("fatal: ", a, b ? b : "");
  exit(code);
}

static void config(char const *a, char const *b) { die(E2E_TEMP, a, b); }

/* The b32 address an answer names, for the log. */
static char const *b32(i2p_wellknown const *x)
{
  static char out[I2P_B32_ADDR_LEN + 1];
  i2p_b32_of_hash(out, x->hash);
  return out;
}

/* The answer in its canonical form: base64 re-encoded, b32 lower case. */
static size_t answer(char *out, i2p_wellknown const *x)
{
  size_t n;
  if (x->full) n = i2p_b64_encode(out, x->dest, x->d.len);
  else { i2p_b32_of_hash(out, x->hash); n = I2P_B32_ADDR_LEN; }
  if (x->port) n += (size_t)sprintf(out + n, " %u", x->port);
  out[n] = 0;
  return n;
}

static void found(i2p_wellknown const *x)
{
  char out[I2P_DEST_B64_MAX + 16];
  size_t n = answer(out, x);
  out[n++] = '\n';
  if (write_all(1, out, n) < 0) die(E2E_TEMP, "unable to write to stdout: ", strerror(errno));
  exit(0);
}

static char const *portstr(i2p_wellknown const *x)
{
  static char p[24];
  if (!x->port) return "";
  snprintf(p, sizeof p, " port=%u", x->port);
  return p;
}

/* ---- settings ---- */
static unsigned int setting(char const *name, unsigned int dflt, unsigned int min, unsigned int max)
{
  char const *v = getenv(name);
  uint64_t x;
  if (!v || !*v) return dflt;
  if (!scan_u64(v, max, &x) || x < min) config("malformed or out-of-range variable ", name);
  return (unsigned int)x;
}

static void setup(char const *arg)
{
  char a[ADDR_MAX + 2], b[ADDR_MAX + 2];
  size_t n = strlen(arg);
  started = now_ms();
  now = (int64_t)time(0);
  safe(host, sizeof host, arg, n);
  home = getenv("E2E_HOME");
  if (!home || !*home) config("variable E2E_HOME is not set", 0);
  timeout = setting("E2E_RESOLVE_TIMEOUT", TIMEOUT_DEFAULT, 1, 3600);
  stale_timeout = setting("E2E_RESOLVE_STALE_TIMEOUT", STALE_TIMEOUT_DEFAULT, 1, 3600);
  unknown_code = setting("E2E_RESOLVE_UNKNOWN", E2E_PERM, 100, 111);
  srv_timeout = setting("E2E_RESOLVE_SRV_TIMEOUT", SRV_TIMEOUT_DEFAULT, 0, 3600);
  if (unknown_code != E2E_PERM && unknown_code != E2E_TEMP) config("E2E_RESOLVE_UNKNOWN must be 100 or 111", 0);
  if (!n || n > CACHE_HOST_MAX) { say(0, "result=none reason=host name empty or too long"); exit(E2E_PERM); }
  memcpy(a, "x@", 2);
  memcpy(a + 2, arg, n);
  if (addr_check(a, n + 2, b)) { say(0, "result=none reason=malformed host name"); exit(E2E_PERM); }
  strcpy(host, b + 2);      /* lower case now */
  if (snprintf(cachedir, sizeof cachedir, "%s/cache", home) >= (int)sizeof cachedir
      || snprintf(cachepath, sizeof cachepath, "%s/%s", cachedir, host) >= (int)sizeof cachepath)
    config("$E2E_HOME is too long", 0);
}

/* ---- routes ---- */
static void routes(void)
{
  char path[4096], *text, num[16];
  size_t len;
  unsigned int ln;
  char const *bad;
  int r;
  if (snprintf(path, sizeof path, "%s/routes", home) >= (int)sizeof path) config("$E2E_HOME is too long", 0);
  if (file_read(path, &text, &len, ROUTES_MAX) < 0) {
    if (errno == ENOENT) return;
    die(E2E_TEMP, "unable to read routes: ", strerror(errno));
  }
  r = routes_find(text, len, host, &w, &ln, &bad);
  free(text);
  if (r < 0) {
    snprintf(num, sizeof num, "%u: ", ln);
    log6("fatal: malformed ", path, " line ", num, bad, "");
    exit(E2E_TEMP);
  }
  if (!r) return;
  say(0, "result=found via=routes dest=%s%s", b32(&w), portstr(&w));
  found(&w);
}

/* ---- the cache ---- */
static cache_entry ce;
static i2p_wellknown cw;
static int cached;                    /* 1: ce and cw hold a usable entry */

static void cache_load(void)
{
  char *text;
  size_t len;
  if (file_read(cachepath, &text, &len, CACHE_FILE_MAX) < 0) {
    if (errno != ENOENT) say(1, "cache=unreadable reason=%s", errno == EFBIG ? "too long" : strerror(errno));
    return;
  }
  if (cache_parse(&ce, host, text, len, &cw) < 0) say(1, "cache=malformed reason=entry ignored");
  else if (ce.fetched > now + SKEW) say(1, "cache=future reason=fetched in the future, entry ignored");
  else cached = 1;
  free(text);
}

/* A usable stale copy shortens the wait for the network. */
static int stale_ok(void) { return cached && ce.found && now - ce.fetched <= STALE_MAX; }
static unsigned int wait_s(void) { return stale_ok() && stale_timeout < timeout ? stale_timeout : timeout; }

static void cache_write(int found_, char const *text, int64_t ttl)
{
  char buf[CACHE_FILE_MAX];
  size_t n;
  if (ttl > CACHE_TTL_MAX) ttl = CACHE_TTL_MAX;
  ce.fetched = now;
  ce.expires = now + ttl;
  ce.found = found_;
  snprintf(ce.answer, sizeof ce.answer, "%s", text);
  n = cache_fmt(buf, host, &ce);
  if (!n) { say(1, "cache=unwritable reason=entry too long"); return; }
  if (cache_store(cachedir, host, buf, n) < 0) {
    if (errno == ENOENT && mkdir(cachedir, 0755) == 0 && cache_store(cachedir, host, buf, n) == 0) return;
    say(1, "cache=unwritable reason=%s: %s", cachedir, strerror(errno));
  }
}

static void cache_drop(void)
{
  if (unlink(cachepath) < 0 && errno != ENOENT) say(1, "cache=unremovable reason=%s", strerror(errno));
}

/* ---- fetching the well-known file ---- */
static int failed(int code, char const *a, char const *b)
{
  snprintf(why, sizeof why, "%s%s", a, b ? b : "");
  return code;
}

static int id_ok(char const *id)
{
  size_t n;
  for (n = 0; id[n]; n++)
    if (!((id[n] >= 'A' && id[n] <= 'Z') || (id[n] >= 'a' && id[n] <= 'z') || (id[n] >= '0' && id[n] <= '9')
          || id[n] == '_' || id[n] == '.' || id[n] == '-')) return 0;
  return n >= 1 && n <= 64;
}

/* Reads the response into h: 0 when done (or a non-200 head is in). */
static int response(int64_t deadline)
{
  char buf[4096];
  rbuf_init(&rb, s.fd, 0);
  for (;;) {
    ssize_t k = rbuf_get(&rb, buf, sizeof buf, deadline);
    int r;
    if (k < 0) {
      if (errno == ETIMEDOUT) {
        snprintf(why, sizeof why, "no complete answer within %u s", wait_s());
        return E2E_TEMP;
      }
      return failed(E2E_TEMP, "unable to read from the site: ", strerror(errno));
    }
    r = k ? http_feed(&h, buf, (size_t)k) : http_eof(&h);
    if (h.head && h.status != 200) return 0;
    if (r > 0) return 0;
    if (r < 0) {
      if (h.err == HTTP_EBODY) return failed(E2E_PERM, "invalid key file: ", h.why);
      return failed(E2E_TEMP, h.why, 0);
    }
  }
}

static int status_class(int st, char *tag)
{
  sprintf(tag, "http-%d", st);
  if (st == 404 || st == 410) return failed(E2E_PERM, "no key published: HTTP status ", tag + 5);
  if (st >= 300 && st < 400) {
    sprintf(tag, "redirect-%d", st);
    return failed(E2E_PERM, "redirects are not followed: HTTP status ", tag + 9);
  }
  if (st == 408 || st == 429 || st >= 500) return failed(E2E_TEMP, "HTTP status ", tag + 5);
  return failed(E2E_PERM, "no key: HTTP status ", tag + 5);
}

/* 0 found (in w), 100 none (tag: the negative entry's reason), 111, or UNKNOWN. */
static int fetch(char *tag)
{
  static char const r1[] = "GET /.well-known/i2pmail.key HTTP/1.1\r\nHost: ";
  static char const r2[] = "\r\nUser-Agent: MYOB/6.66 (AN/ON)\r\nConnection: close\r\nAccept: text/plain\r\n\r\n";
  char req[sizeof r1 + sizeof r2 + CACHE_HOST_MAX];
  char const *addr = env_str("E2E_SAM", SAM_DEFAULT), *id = env_str("E2E_SAM_ID", "e2e");
  int64_t deadline = started + (int64_t)wait_s() * 1000;
  unsigned char ip[4];
  uint16_t port;
  int r, e;
  if (sam_hostport(addr, ip, &port) < 0) config("malformed E2E_SAM (want a.b.c.d:port): ", addr);
  if (!id_ok(id)) config("malformed E2E_SAM_ID: ", id);
  strcpy(tag, "invalid-key");
  sam_init(&s);
  r = sam_open(&s, addr, deadline);
  if (r) return failed(E2E_TEMP, s.err, 0);
  r = sam_stream_connect(&s, id, host, 0, deadline);
  if (r == E2E_PERM) return failed(UNKNOWN, s.err, 0);
  if (r) return failed(E2E_TEMP, s.err, 0);
  snprintf(req, sizeof req, "%s%s%s", r1, host, r2);
  if (sam_put(s.fd, req, strlen(req), deadline) < 0)
    return failed(E2E_TEMP, "unable to send the request: ", strerror(errno));
  http_init(&h);
  r = response(deadline);
  sam_close(&s);
  if (h.head && h.status != 200) return status_class(h.status, tag);
  if (r) return r;
  e = i2p_wellknown_parse(&w, h.body, h.bodylen);
  if (e) return failed(E2E_PERM, "invalid key file: ", i2p_reason(e));
  return 0;
}

/* ---- hosts that need no fetch ---- */
/* A b32 host is its own mail server; other b32 forms and hosts outside
 * .i2p (without a route) have none. */
static void names(void)
{
  size_t n = strlen(host);
  if (i2p_is_b32_domain(host)) {
    if (i2p_wellknown_parse(&w, host, n)) die(E2E_TEMP, "b32 check failed", 0);
    say(0, "result=found via=b32 dest=%s", b32(&w));
    found(&w);
  }
  if (n > 8 && !strcmp(host + n - 8, ".b32.i2p")) {
    say(0, "result=none reason=%s", n - 8 >= 56 ? "encrypted lease set (56+ character b32) addresses are not supported"
                                                : "malformed b32 address");
    exit(E2E_PERM);
  }
  if (!domain_is_i2p(host)) {
    say(0, "result=none reason=not an I2P host name and no route for it");
    exit(E2E_PERM);
  }
}

/* ---- service records (I2P proposal 167) ---- */
enum { SRV_NONE, SRV_BAD, SRV_OK };
static srv_rec sr[SRV_MAX], tr[SRV_MAX];
static int64_t srv_ttl;
static char const *srv_bad;           /* why srv_parse refused a record */
static char const *srv_target;        /* "self", or the record's target */

static uint32_t rnd(void)
{
  uint32_t x;
  if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) x = (uint32_t)(now_ms() ^ getpid());
  return x;
}

/* NAMING LOOKUP NAME=name OPTIONS=true on a fresh SAM connection: SRV_OK
 * with the destination in d and name's _smtp._tcp records in r; SRV_NONE
 * (no record, no such name, a router without service records, any error)
 * or SRV_BAD (a malformed record), why saying why. */
static int lookup(char const *name, int64_t deadline, i2p_wellknown *d, srv_rec *r, unsigned int *n)
{
  char cmd[SRV_TARGET_MAX + 48], pong[SAM_LINE_MAX + 2], res[64];
  char const *result, *value, *opt;
  size_t len, k;
  sam_init(&s);
  if (sam_open(&s, env_str("E2E_SAM", SAM_DEFAULT), deadline)) { failed(0, s.err, 0); goto none; }
  len = (size_t)snprintf(cmd, sizeof cmd, "NAMING LOOKUP NAME=%s OPTIONS=true\n", name);
  if (sam_put(s.fd, cmd, len, deadline) < 0) { failed(0, "unable to write to SAM: ", strerror(errno)); goto none; }
  for (;;) {
    if (sam_getline(s.fd, s.line, sizeof s.line, &len, 0, deadline) < 0) {
      failed(0, "no NAMING REPLY: ", strerror(errno));
      goto none;
    }
    if (!(k = sam_pong(pong, sizeof pong, s.line, len))) break;
    if (sam_put(s.fd, pong, k, deadline) < 0) { failed(0, "unable to write to SAM: ", strerror(errno)); goto none; }
  }
  sam_close(&s);
  if (srv_naming_reply(s.line, "_smtp._tcp", &result, &value, &opt) < 0) return failed(SRV_NONE, "malformed NAMING REPLY", 0);
  if (!result || strcmp(result, "OK"))
    return failed(SRV_NONE, "NAMING REPLY RESULT=", result ? safe(res, sizeof res, result, strlen(result)) : "(none)");
  if (!value || i2p_wellknown_parse(d, value, strlen(value)) || !d->full)
    return failed(SRV_NONE, "NAMING REPLY without a destination", 0);
  if (!opt) return failed(SRV_NONE, "no _smtp._tcp record", 0);
  if (srv_parse(opt, r, SRV_MAX, n, &srv_bad) < 0) return failed(SRV_BAD, srv_bad, 0);
  return SRV_OK;
none:
  sam_close(&s);
  return SRV_NONE;
}

/* A record's target, verified: it publishes a "self" record of its own
 * (and, named by b32, is that b32). 1 into d, else 0 with why. */
static int verified(srv_rec const *r, int64_t deadline, i2p_wellknown *d)
{
  unsigned char hash[I2P_HASH_LEN];
  unsigned int n;
  int k = lookup(r->target, deadline, d, tr, &n);
  if (k == SRV_BAD) return failed(0, "its own record is malformed: ", srv_bad);
  if (k != SRV_OK) return 0;
  if (!tr[0].self) return failed(0, "its own record is not \"self\"", 0);
  if (i2p_b32_domain(hash, r->target, strlen(r->target)) == 0 && memcmp(hash, d->hash, sizeof hash))
    return failed(0, "the router gave a destination of another b32", 0);
  return 1;
}

/* HOST's service record: 0 found (w, srv_ttl), -1 none (fall back). Its
 * lookups take E2E_RESOLVE_SRV_TIMEOUT, at most half the fetch's time. */
static int srv(void)
{
  int64_t limit = (int64_t)wait_s() * 500, deadline = started + (int64_t)srv_timeout * 1000;
  i2p_wellknown d;
  unsigned int n, i;
  int k;
  if (!srv_timeout) return -1;
  if (deadline > started + limit) deadline = started + limit;
  k = lookup(host, deadline, &d, sr, &n);
  if (k == SRV_BAD) say(1, "srv=malformed reason=%s", why);
  if (k != SRV_OK) return -1;
  if (sr[0].self) {
    w = d;
    w.port = sr[0].port;
    srv_ttl = sr[0].ttl;
    srv_target = "self";
    return 0;
  }
  srv_order(sr, n, rnd);
  for (i = 0; i < n; i++) {
    if (verified(&sr[i], deadline, &d)) {
      w = d;
      w.port = sr[i].port;
      srv_ttl = sr[i].ttl < tr[0].ttl ? sr[i].ttl : tr[0].ttl;
      srv_target = sr[i].target;
      return 0;
    }
    say(1, "srv=unverified target=%s reason=%s", sr[i].target, why);
  }
  return -1;
}

/* ---- main ---- */
static int64_t ms(void) { return now_ms() - started; }

static void stale_or(int code)
{
  if (stale_ok()) {
    say(1, "result=found via=stale dest=%s%s age=%lld reason=%s", b32(&cw), portstr(&cw),
        (long long)(now - ce.fetched), why);
    found(&cw);
  }
  say(0, "result=%s via=network ms=%lld reason=%s", code == E2E_PERM ? "none" : "temp", (long long)ms(), why);
  exit(code);
}

int main(int argc, char const *const *argv)
{
  char tag[32], text[I2P_DEST_B64_MAX + 16];
  int64_t ttl;
  int r;
  if (argc != 2) { log1(USAGE); return E2E_PERM; }
  setup(argv[1]);
  routes();
  names();
  cache_load();
  if (cached && now < ce.expires) {
    if (ce.found) {
      say(0, "result=found via=cache dest=%s%s age=%lld", b32(&cw), portstr(&cw), (long long)(now - ce.fetched));
      found(&cw);
    }
    say(0, "result=none via=cache reason=%s age=%lld", ce.answer, (long long)(now - ce.fetched));
    return E2E_PERM;
  }
  if (srv() == 0) {
    answer(text, &w);
    cache_write(1, text, srv_ttl);
    say(0, "result=found via=srv target=%s dest=%s%s ms=%lld cache=stored ttl=%lld", srv_target, b32(&w), portstr(&w),
        (long long)ms(),
        (long long)(srv_ttl > CACHE_TTL_MAX ? CACHE_TTL_MAX : srv_ttl));
    found(&w);
  }
  r = fetch(tag);
  if (r == UNKNOWN) stale_or((int)unknown_code);
  if (r == E2E_TEMP) stale_or(E2E_TEMP);
  ttl = h.maxage < 0 ? TTL_DEFAULT : h.maxage;
  if (h.nocache) ttl = 0;
  if (r == E2E_PERM) {
    if (h.nostore) cache_drop();
    else cache_write(0, tag, ttl < TTL_NEGATIVE ? ttl : TTL_NEGATIVE);
    say(0, "result=none via=network ms=%lld cache=%s reason=%s", (long long)ms(),
        h.nostore ? "no-store" : "negative", why);
    return E2E_PERM;
  }
  answer(text, &w);
  if (h.nostore) cache_drop();
  else cache_write(1, text, ttl);
  say(0, "result=found via=network dest=%s%s ms=%lld cache=%s ttl=%lld", b32(&w), portstr(&w), (long long)ms(),
      h.nostore ? "no-store" : "stored", (long long)(h.nostore ? 0 : ttl > CACHE_TTL_MAX ? CACHE_TTL_MAX : ttl));
  found(&w);
  return 0;
}
