/* e2e-verify ADDRESS: is the SAM peer (SAMREMOTEDEST) the mail server
 * that ADDRESS's domain publishes? A route of $E2E_HOME/routes pins it
 * (the domain's own line, or "*" for a domain outside .i2p: mail from the
 * clearnet through Postman's gateway; a host name target is looked up
 * with SAM NAMING LOOKUP); else a b32 domain names its server itself;
 * any other domain is asked of $E2E_RESOLVE (default e2e-resolve, on
 * PATH), whose answer is compared decoded (a full destination) or by
 * hash (a b32 address).
 * Exit 0 yes, 100 no (or ADDRESS is malformed), 111 cannot tell now. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include "e2e.h"
#include "i2p.h"
#include "sam.h"

#define USAGE "usage: e2e-verify address"
#define TIMEOUT_DEFAULT 60     /* e2e-resolve's own default */
#define MARGIN 5               /* seconds the resolver gets beyond its timeout */
#define OUT_MAX 1024           /* the longest answer we take from it */

char const *PROG = "e2e-verify";
extern char **environ;

static char from[ADDR_MAX], peer[I2P_B32_ADDR_LEN + 1];
static unsigned char pdest[I2P_DEST_MAX];
static i2p_dest pd;

#define say(...) log_fmt("", __VA_ARGS__)

static void temp(char const *why)
{
  say("from=%s peer=%s result=temp reason=%s", from, *peer ? peer : "-", why);
  exit(E2E_TEMP);
}

static void verdict(int ok, char const *published, char const *via)
{
  say("from=%s peer=%s result=%s published=%s via=%s", from, peer, ok ? "pass" : "fail", published, via);
  exit(ok ? 0 : E2E_PERM);
}

/* The peer, from the environment e2e-samaccept sets. A missing or broken
 * one is a configuration error: 111, so that no sender is refused for it. */
static void setup_peer(void)
{
  char const *d = getenv("SAMREMOTEDEST"), *b = getenv("SAMREMOTEB32");
  int e;
  if (!d || !*d) temp("SAMREMOTEDEST is not set (not run under e2e-samaccept?)");
  e = i2p_dest_b64(&pd, pdest, sizeof pdest, d, strlen(d));
  if (e) temp("SAMREMOTEDEST is not a valid destination");
  i2p_b32_address(peer, pdest, pd.len);
  if (b && *b && strcasecmp(b, peer)) temp("SAMREMOTEB32 does not match SAMREMOTEDEST");
}

static unsigned int resolve_timeout(void)
{
  char const *v = getenv("E2E_RESOLVE_TIMEOUT");
  uint64_t x;
  if (!v || !*v) return TIMEOUT_DEFAULT;
  if (!scan_u64(v, 3600, &x) || !x) temp("malformed or out-of-range variable E2E_RESOLVE_TIMEOUT");
  return (unsigned int)x;
}

/* Waits for pid until the deadline, then kills it: its exit class, or
 * -1 when it had to be killed. */
static int reap(pid_t pid, int64_t deadline)
{
  int st;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return exit_class(st);
    if (r < 0 && errno != EINTR) return E2E_TEMP;
    if (now_ms() >= deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) ;
      return -1;
    }
    poll(0, 0, 10);
  }
}

/* Runs the resolver for domain; its answer into w. 0, 100 or 111. */
static int resolve(char const *domain, i2p_wellknown *w, char const **why)
{
  char const *prog = env_str("E2E_RESOLVE", "e2e-resolve");
  char const *argv[3] = { prog, domain, 0 };
  char out[OUT_MAX + 1];
  int64_t deadline = now_ms() + ((int64_t)resolve_timeout() + MARGIN) * 1000;
  size_t n = 0;
  int p[2], nul, r, e, over = 0;
  pid_t pid;
  /* A name our router does not know (yet) must not refuse a sender. */
  char const *u = getenv("E2E_RESOLVE_UNKNOWN");
  if ((!u || !*u) && setenv("E2E_RESOLVE_UNKNOWN", "111", 1) < 0) { *why = "out of memory"; return E2E_TEMP; }
  if (pipe2(p, O_CLOEXEC) < 0) { *why = "unable to make a pipe"; return E2E_TEMP; }
  nul = openat(AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC);
  if (nul < 0) { *why = "unable to open /dev/null"; return E2E_TEMP; }
  e = qspawn(&pid, argv, (char const *const *)environ, nul, p[1], 1);
  close(nul);
  close(p[1]);
  if (e) {
    static char msg[256];
    snprintf(msg, sizeof msg, "unable to run %s: %s", prog, strerror(e));
    close(p[0]);
    *why = msg;
    return E2E_TEMP;
  }
  for (;;) {
    struct pollfd pf = { .fd = p[0], .events = POLLIN };
    int64_t left = deadline - now_ms();
    ssize_t k;
    if (left <= 0) break;
    r = poll(&pf, 1, (int)left);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    k = read(p[0], out + n, OUT_MAX + 1 - n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    n += (size_t)k;
    if (n > OUT_MAX) { over = 1; break; }
  }
  close(p[0]);
  if (over) deadline = 0;           /* no need to wait for more */
  r = reap(pid, deadline);
  if (r < 0) { *why = over ? "the resolver's answer is too long" : "the resolver timed out"; return E2E_TEMP; }
  if (r == E2E_PERM) { *why = "the domain publishes no mail destination"; return E2E_PERM; }
  if (r) { *why = "the resolver cannot tell now"; return E2E_TEMP; }
  if (!n || out[n - 1] != '\n' || memchr(out, '\n', n - 1) || i2p_wellknown_parse(w, out, n)) {
    *why = "the resolver's answer is malformed";
    return E2E_TEMP;
  }
  return 0;
}

/* A route pins the domain's server: the verdict; else returns. */
static void route_check(char const *dom)
{
  static i2p_wellknown w;
  char const *home = env_str("E2E_HOME", 0);
  char err[512], pub[I2P_B32_ADDR_LEN + 1];
  route r;
  int x;
  if (!home) return;
  x = routes_read(home, dom, &r, &w, err, sizeof err);
  if (x < 0) temp(err);
  if (!x) return;
  if (r.byname && routes_lookup(&r, &w, env_str("E2E_SAM", SAM_DEFAULT),
                                now_ms() + (int64_t)resolve_timeout() * 1000, err, sizeof err)) temp(err);
  i2p_b32_of_hash(pub, w.hash);
  verdict(i2p_wellknown_match(&w, pdest, pd.len), pub, r.dflt ? "route-default" : "route");
}

int main(int argc, char const *const *argv)
{
  static i2p_wellknown w;
  unsigned char hash[I2P_HASH_LEN];
  char pub[I2P_B32_ADDR_LEN + 1];
  char const *dom, *why = "";
  size_t n, dl;
  int e, r;
  if (argc != 2) { log1(USAGE); return E2E_PERM; }
  n = strlen(argv[1]);
  e = n < ADDR_MAX ? addr_check(argv[1], n, from) : ADDR_EDOMAIN;
  if (e) {
    safe(from, 80, argv[1], n);
    say("from=%s result=fail reason=%s", from, addr_reason(e));
    return E2E_PERM;
  }
  setup_peer();
  dom = addr_domain(from);
  dl = strlen(dom);
  route_check(dom);
  if (dl > 8 && !strcmp(dom + dl - 8, ".b32.i2p")) {
    if (i2p_b32_domain(hash, dom, dl)) {
      say("from=%s peer=%s result=fail reason=%s", from, peer,
          dl - 8 >= 56 ? "encrypted lease set (56+ character b32) addresses are not supported" : "malformed b32 address");
      return E2E_PERM;
    }
    i2p_b32_of_hash(pub, hash);
    verdict(i2p_dest_is_b32(pdest, pd.len, dom, dl), pub, "b32");
  }
  r = resolve(dom, &w, &why);
  if (r == E2E_PERM) {
    say("from=%s peer=%s result=fail reason=%s", from, peer, why);
    return E2E_PERM;
  }
  if (r) temp(why);
  i2p_b32_of_hash(pub, w.hash);
  verdict(i2p_wellknown_match(&w, pdest, pd.len), pub, w.full ? "resolver-dest" : "resolver-b32");
  return 0;
}
