/* e2e-spamfilter: the spam filter for mail arriving over I2P, run by
 * e2e-smtpd as $E2E_QUEUE in front of the real injector. qmail-queue
 * interface: the message on fd 0, the envelope on fd 1. With PROTO=SAM
 * it takes the whole message into a memory file, has SpamAssassin
 * (spamc) or rspamd (rspamc) score it, and then either refuses it (exit
 * 31: e2e-smtpd answers 554 5.7.1) or replaces itself with the next
 * injector: the message with our verdict headers (any the sender wrote
 * removed) on its fd 0, the envelope still on fd 1. When the filter does
 * not answer the message passes marked unchecked, or is deferred (111),
 * as $E2E_SPAM_FAIL says. Other mail passes untouched. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char const *PROG = "e2e-spamfilter";

#define USAGE "e2e-spamfilter [PROG...]"
#define CHUNK 65536
#define OUT_MAX 4096            /* what we read of the filter's answer */
#define NUM_MAX 16              /* a score as the filter wrote it */

static char const *const *next;
static char const *dflt[2] = { "e2e-queue", 0 };
static char const *filter, *host, *port;
static char tmo[24];           /* the client's own timeout: ours comes first */
static unsigned int timeout;
static int closed, rspamd;
static double reject;           /* refuse at this score or above */
static uint64_t maxsize, scanmax;

static char *msg;               /* the message, mapped from its memory file */
static size_t msglen;
static int msgfd = -1;
static char score[NUM_MAX + 1], required[NUM_MAX + 1];
static char const *why;         /* why it was not checked */
static pid_t child;
static volatile sig_atomic_t alarmed;

static void on_alarm(int s) { (void)s; alarmed = 1; if (child > 0) kill(child, SIGKILL); }

/* ---- settings ---- */

/* A score: [-]digits[.digits], at most NUM_MAX characters. */
static int is_score(char const *s, size_t n)
{
  size_t i = (n && *s == '-'), dig = 0, dot = 0;
  if (!n || n > NUM_MAX) return 0;
  for (; i < n; i++) {
    if (s[i] >= '0' && s[i] <= '9') dig++;
    else if (s[i] == '.' && dig && !dot) dot = 1;
    else return 0;
  }
  return dig && s[n - 1] != '.';
}

static void setup(void)
{
  char const *s;
  filter = env_str("E2E_SPAM_FILTER", "spamc");
  if (!strcmp(filter, "rspamc")) rspamd = 1;
  else if (strcmp(filter, "spamc")) strerr_dief2x(E2E_TEMP, "variable E2E_SPAM_FILTER must be spamc or rspamc, not ", filter);
  host = env_str("E2E_SPAM_HOST", "127.0.0.1");
  if (strlen(host) > 255 || *host == '-') strerr_dief2x(E2E_TEMP, "variable E2E_SPAM_HOST is malformed: ", host);
  port = env_str("E2E_SPAM_PORT", rspamd ? "11333" : "783");
  env_uint("E2E_SPAM_PORT", 0, 1, 65535);
  timeout = (unsigned int)env_uint("E2E_SPAM_TIMEOUT", 30, 1, 3600);
  snprintf(tmo, sizeof tmo, "%u", timeout + 5);
  s = env_str("E2E_SPAM_REJECT", "10");
  if (!strcmp(s, "off")) reject = 1e300;
  else if (is_score(s, strlen(s))) reject = strtod(s, 0);
  else strerr_dief2x(E2E_TEMP, "variable E2E_SPAM_REJECT must be a score or off, not ", s);
  s = env_str("E2E_SPAM_FAIL", "open");
  if (!strcmp(s, "closed")) closed = 1;
  else if (strcmp(s, "open")) strerr_dief2x(E2E_TEMP, "variable E2E_SPAM_FAIL must be open or closed, not ", s);
  maxsize = env_uint("E2E_MAXSIZE", 10485760, 1, (uint64_t)1 << 40);
  scanmax = env_uint("E2E_SPAM_MAXSIZE", 524288, 1, 268435456);
}

/* ---- the message ---- */

/* All of fd 0 into a memory file, mapped. A little over E2E_MAXSIZE is
 * allowed for the trace fields e2e-smtpd adds. */
static void slurp(void)
{
  char buf[CHUNK];
  uint64_t max = maxsize + 65536;
  msgfd = memfd_create("e2e-spamfilter", MFD_CLOEXEC);
  if (msgfd < 0) strerr_diefu1sys(E2E_TEMP, "create a memory file");
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) strerr_diefu1sys(E2E_TEMP, "read the message");
    if (!n) break;
    if ((msglen += (size_t)n) > max) strerr_dief1x(E2E_PERM, "message too big");
    if (write_all(msgfd, buf, (size_t)n) < 0) strerr_diefu1sys(E2E_TEMP, "write the message");
  }
  if (!msglen) return;
  msg = mmap(0, msglen, PROT_READ, MAP_SHARED, msgfd, 0);
  if (msg == MAP_FAILED) strerr_diefu1sys(E2E_TEMP, "map the message");
}

/* Where the field at p ends: after its continuation lines; p when the
 * line at p is no field (the header block ends there). */
static size_t field_end(size_t p, size_t *len)
{
  size_t e = hdr_field_end(msg, msglen, p), colon;
  *len = hdr_field(msg + p, e - p, &colon);
  return *len ? e : p;
}

/* A verdict field of a spam filter: X-Spam, X-Spam-*, X-Spamd-*, X-Rspamd-*. */
static int is_verdict(char const *s, size_t len)
{
  return hdr_is(s, len, "X-Spam") || (len > 7 && !strncasecmp(s, "X-Spam-", 7))
      || (len > 8 && !strncasecmp(s, "X-Spamd-", 8)) || (len > 9 && !strncasecmp(s, "X-Rspamd-", 9));
}

/* ---- the filter ---- */

static void run_filter(int out)
{
  char s[300];
  char const *argv[12];
  unsigned int n = 0;
  if (dup2(msgfd, 0) < 0 || dup2(out, 1) < 0) _exit(E2E_TEMP);
  argv[n++] = filter;
  if (rspamd) {
    snprintf(s, sizeof s, "%s:%s", host, port);
    argv[n++] = "-h"; argv[n++] = s; argv[n++] = "-t"; argv[n++] = tmo;
  }
  else {
    snprintf(s, sizeof s, "%llu", (unsigned long long)scanmax);
    argv[n++] = "-x"; argv[n++] = "-c"; argv[n++] = "-d"; argv[n++] = host;
    argv[n++] = "-p"; argv[n++] = port; argv[n++] = "-t"; argv[n++] = tmo;
    argv[n++] = "-s"; argv[n++] = s;
  }
  argv[n] = 0;
  signal(SIGPIPE, SIG_DFL);
  execvp(argv[0], (char *const *)argv);
  strerr_diefu2sys(E2E_TEMP, "run ", argv[0]);
}

/* "SCORE/REQUIRED" (spamc -c) or "SCORE / REQUIRED" (rspamc's Score:
 * line) at s into score[], required[]; 0 or -1. */
static int parse_score(char const *s)
{
  size_t a = strspn(s, "-0123456789."), b;
  char const *t = s + a;
  while (*t == ' ') t++;
  if (*t++ != '/') return -1;
  while (*t == ' ') t++;
  b = strspn(t, "-0123456789.");
  if (!is_score(s, a) || !is_score(t, b)) return -1;
  memcpy(score, s, a); score[a] = 0;
  memcpy(required, t, b); required[b] = 0;
  return 0;
}

/* The filter's exit status and answer: 0 scored, -1 not. */
static int scored(int st, char const *out)
{
  char const *s;
  if (!WIFEXITED(st)) return -1;
  if (rspamd) {
    if (WEXITSTATUS(st)) return -1;
    s = strstr(out, "\nScore: ");
    return s ? parse_score(s + 8) : -1;
  }
  if (WEXITSTATUS(st) > 1) return -1;        /* spamc -x: 0 ham, 1 spam, else an error */
  return parse_score(out);
}

/* Runs the filter on the message: 0 scored, -1 not (why says). */
static int check(void)
{
  char out[OUT_MAX + 1];
  size_t n = 0;
  int p[2], st;
  struct sigaction sa;
  if (lseek(msgfd, 0, SEEK_SET) < 0 || pipe2(p, O_CLOEXEC) < 0) strerr_diefu1sys(E2E_TEMP, "set up the filter");
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;           /* no SA_RESTART: read and waitpid see EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, 0);
  child = fork();
  if (child < 0) strerr_diefu1sys(E2E_TEMP, "fork");
  if (!child) run_filter(p[1]);
  close(p[1]);
  alarm(timeout);
  while (!alarmed) {                  /* past OUT_MAX: read, not kept */
    char junk[CHUNK];
    ssize_t r = n < OUT_MAX ? read(p[0], out + n, OUT_MAX - n) : read(p[0], junk, sizeof junk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (n < OUT_MAX) n += (size_t)r;
  }
  close(p[0]);
  out[n] = 0;
  while (waitpid(child, &st, 0) < 0) if (errno != EINTR) { st = E2E_TEMP << 8; break; }
  alarm(0);
  child = 0;
  if (alarmed) { why = "timeout"; return -1; }
  if (scored(st, out) < 0) { why = "unavailable"; return -1; }
  return 0;
}

/* ---- passing it on ---- */

static void put(int fd, char const *s, size_t n)
{
  if (write_all(fd, s, n) < 0) strerr_diefu1sys(E2E_TEMP, "write the message");
}

/* The message without the sender's verdict fields into fd; the count
 * removed. */
static unsigned int strip(int fd)
{
  size_t p = 0, e, len;
  unsigned int removed = 0;
  while (p < msglen && (e = field_end(p, &len)) > p) {
    if (is_verdict(msg + p, len)) removed++;
    else put(fd, msg + p, e - p);
    p = e;
  }
  if (p < msglen) put(fd, msg + p, msglen - p);
  return removed;
}

/* Our verdict, then the stripped message, into a new memory file,
 * rewound, as fd 0; the count removed. */
static unsigned int rewrite(int spam)
{
  char h[256];
  unsigned int removed;
  int fd = memfd_create("e2e-spamfilter", MFD_CLOEXEC);
  if (fd < 0) strerr_diefu1sys(E2E_TEMP, "create a memory file");
  if (why) snprintf(h, sizeof h, "X-Spam-Status: Unchecked, reason=%s filter=%s\n", why, filter);
  else snprintf(h, sizeof h, "X-Spam-Status: %s, score=%s required=%s filter=%s\nX-Spam-Score: %s\n",
                spam ? "Yes" : "No", score, required, filter, score);
  put(fd, h, strlen(h));
  removed = strip(fd);
  if (lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, 0) < 0) strerr_diefu1sys(E2E_TEMP, "rewind the message");
  return removed;
}

static void pass(void)
{
  execvp(next[0], (char *const *)next);
  strerr_diefu2sys(E2E_TEMP, "run ", next[0]);
}

int main(int argc, char const *const *argv)
{
  char nr[16], sz[24];
  char const *result = "";
  int spam = 0, code = E2E_OK;
  next = argc > 1 ? argv + 1 : dflt;
  if (argc <= 1) dflt[0] = env_str("E2E_SPAM_NEXT", "e2e-queue");
  if (argc > 1 && argv[1][0] == '-') strerr_dieusage(E2E_PERM, USAGE);
  if (strcmp(env_str("PROTO", ""), "SAM")) pass();   /* submitted mail: not ours to judge */
  setup();
  signal(SIGPIPE, SIG_IGN);

  slurp();
  /* why set: unscanned; it passes, unless the filter failed and E2E_SPAM_FAIL=closed */
  if (msglen > scanmax) why = "too_big";
  else if (check() == 0) spam = strtod(score, 0) >= strtod(required, 0);
  else if (closed) { result = "deferred"; code = E2E_TEMP; }
  if (!why && strtod(score, 0) >= reject) { result = "refused"; code = E2E_REFUSED; }
  if (!code) result = why ? "unchecked" : spam ? "spam" : "ham";
  snprintf(nr, sizeof nr, "%u", code ? 0 : rewrite(spam));
  snprintf(sz, sizeof sz, "%zu", msglen);
  {
    char const *v[] = { "spam filter=", filter, " score=", why ? "none" : score, " reason=", why ? why : "none",
                        " size=", sz, " removed=", nr, " result=", result };
    logn(v, 12);
  }
  if (code) return code;
  pass();
}
