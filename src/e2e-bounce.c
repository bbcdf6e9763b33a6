/* e2e-bounce failed|delayed ID ARRIVAL UNTIL SENDER RCPT STATUS DIAG...
 * Writes an RFC 3464 delivery status notification about the message on
 * fd 0 (its headers are attached) to SENDER, and queues it with
 * e2e-queue from the null sender. e2e-runner runs it; see docs/queue.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include "e2e.h"

char const *PROG = "e2e-bounce";
#define USAGE "e2e-bounce failed|delayed ID ARRIVAL UNTIL SENDER RCPT STATUS DIAG [RCPT STATUS DIAG]..."
#define HEADMAX 65536
#define DIAGMAX 900

extern char **environ;
static stralloc sa = STRALLOC_ZERO;
static char const *domain;

static void die_nomem(void) { strerr_diefu1sys(E2E_TEMP, "allocate memory"); }
static void cat(char const *s) { if (!stralloc_cats(&sa, s)) die_nomem(); }
static void catb(char const *s, size_t n) { if (!stralloc_catb(&sa, s, n)) die_nomem(); }
static void cat3(char const *a, char const *b, char const *c) { cat(a); cat(b); cat(c); }

/* Printable text on one line: control characters and 8-bit bytes become '?'. */
static void cat_text(char const *s, size_t max)
{
  size_t i;
  for (i = 0; s[i] && i < max; i++) {
    unsigned char c = (unsigned char)s[i];
    char o = (c < 32 || c > 126) ? '?' : (char)c;
    catb(&o, 1);
  }
}

static char const *date(char const *secs)
{
  static char buf[64];
  uint64_t u;
  time_t t;
  struct tm tm;
  if (!secs || !scan_u64(secs, (uint64_t)1 << 40, &u)) u = (uint64_t)time(0);
  t = (time_t)u;
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

/* The original's header, up to the blank line (at most HEADMAX bytes). */
static size_t read_head(char *buf, int *eight)
{
  size_t n = 0, i;
  char *end;
  for (;;) {
    ssize_t r = read(0, buf + n, HEADMAX - n);
    if (r < 0) { if (errno == EINTR) continue; strerr_diefu1sys(E2E_TEMP, "read the message"); }
    if (!r) break;
    n += (size_t)r;
    buf[n] = 0;
    if (buf[0] == '\n' || (end = strstr(buf, "\n\n"))) break;
    if (n == HEADMAX) break;
  }
  buf[n] = 0;
  if (buf[0] == '\n') n = 0;
  else if ((end = strstr(buf, "\n\n"))) n = (size_t)(end - buf) + 1;
  else if (n == HEADMAX) { end = strrchr(buf, '\n'); n = end ? (size_t)(end - buf) + 1 : 0; }
  for (*eight = 0, i = 0; i < n; i++) if ((unsigned char)buf[i] > 127) *eight = 1;
  return n;
}

/* The value of the original's Subject: (its first line), or 0. */
static char const *subject(char const *head, size_t n)
{
  static char out[256];
  char const *p = head;
  while (p < head + n) {
    char const *nl = memchr(p, '\n', (size_t)(head + n - p));
    size_t k;
    if (!nl) break;
    if (!strncasecmp(p, "subject:", 8)) {
      p += 8;
      while (p < nl && (*p == ' ' || *p == '\t')) p++;
      k = (size_t)(nl - p) < sizeof out - 1 ? (size_t)(nl - p) : sizeof out - 1;
      memcpy(out, p, k);
      out[k] = 0;
      return out;
    }
    p = nl + 1;
  }
  return 0;
}

static void compose(int failed, char const *id, char const *arrival, char const *until,
                    char const *sender, int nr, char const *const *r, char const *head, size_t hlen,
                    char const *subj, int eight)
{
  char bound[96], mid[48];
  int i;
  unique_id(mid);
  snprintf(bound, sizeof bound, "=_e2e_%s", mid);
  cat3("From: Mail Delivery System <MAILER-DAEMON@", domain, ">\n");
  cat3("To: <", sender, ">\n");
  cat(failed ? "Subject: Undelivered Mail Returned to Sender\n" : "Subject: Delayed Mail (still being retried)\n");
  cat3("Date: ", date(0), "\n");
  cat3("Message-ID: <", mid, ".bounce@"); cat3(domain, ">\n", "");
  cat("Auto-Submitted: auto-replied\nMIME-Version: 1.0\n");
  cat3("Content-Type: multipart/report; report-type=delivery-status;\n boundary=\"", bound, "\"\n\n");
  cat("This is a MIME-encapsulated message.\n\n");

  cat3("--", bound, "\nContent-Type: text/plain; charset=us-ascii\nContent-Description: Notification\n\n");
  cat3("This is the mail system at ", domain, ".\n\n");
  if (subj) { cat("Your message \""); cat_text(subj, 200); cat("\"\n"); }
  else cat("Your message\n");
  cat3("sent ", date(arrival), "\n");
  cat(failed ? "could not be delivered to the following recipients:\n\n"
             : "has not been delivered yet to the following recipients:\n\n");
  for (i = 0; i + 2 < nr; i += 3) {
    cat3("  <", r[i], ">\n    ");
    cat_text(r[i + 2], DIAGMAX);
    cat("\n\n");
  }
  if (failed)
    cat("The mail system has given up on them and will not try again.\n"
        "Check each address for typing mistakes, then send your message again.\n"
        "If the reason says that the recipient's server could not be reached,\n"
        "try again later or find another way to reach the recipient.\n");
  else {
    cat3("The mail system keeps trying until ", date(until), ".\n");
    cat("You do not need to send your message again. If it cannot be delivered\n"
        "by then, you will get a second notice saying so.\n");
  }
  cat3("\nFor help, write to <postmaster@", domain, "> and include this report.\n");
  cat("The headers of your message are attached.\n\n");

  cat3("--", bound, "\nContent-Type: message/delivery-status\n\n");
  cat3("Reporting-MTA: dns; ", domain, "\n");
  cat3("X-E2E-Queue-ID: ", id, "\n");
  cat3("Arrival-Date: ", date(arrival), "\n");
  for (i = 0; i + 2 < nr; i += 3) {
    char const *d = r[i + 2];
    int smtp = d[0] >= '2' && d[0] <= '5' && d[1] >= '0' && d[1] <= '9' && d[2] >= '0' && d[2] <= '9' && d[3] == ' ';
    cat3("\nFinal-Recipient: rfc822; ", r[i], "\n");
    cat(failed ? "Action: failed\n" : "Action: delayed\n");
    cat3("Status: ", r[i + 1], "\n");
    cat(smtp ? "Diagnostic-Code: smtp; " : "Diagnostic-Code: X-e2e; ");
    cat_text(d, DIAGMAX);
    cat3("\nLast-Attempt-Date: ", date(0), "\n");
    if (!failed) cat3("Will-Retry-Until: ", date(until), "\n");
  }
  cat3("\n--", bound, "\nContent-Type: text/rfc822-headers\nContent-Description: Headers of your message\n");
  if (eight) cat("Content-Transfer-Encoding: 8bit\n");
  cat("\n");
  catb(head, hlen);
  cat3("\n--", bound, "--\n");
}

/* Runs e2e-queue with the report on fd 0 and the envelope on fd 1. */
static int inject(char const *sender)
{
  char envbuf[ADDR_MAX + 8];
  char const *argv[] = { "e2e-queue", 0 };
  envelope e;
  int m[2], v[2], st, r;
  size_t elen;
  pid_t pid;
  e.sender = "";
  e.rcpt[0] = sender;
  e.n = 1;
  elen = envelope_fmt(&e, envbuf, sizeof envbuf);
  if (!elen) strerr_dief1x(E2E_PERM, "sender address too long");
  if (pipe2(m, O_CLOEXEC) < 0 || pipe2(v, O_CLOEXEC) < 0) strerr_diefu1sys(E2E_TEMP, "create pipes");
  r = qspawn(&pid, argv, (char const *const *)environ, m[0], v[0], 1);
  if (r) { errno = r; strerr_diefu1sys(E2E_TEMP, "run e2e-queue"); }
  close(m[0]); close(v[0]);
  if (write_all(m[1], sa.s, sa.len) == 0) {
    close(m[1]);
    (void)write_all(v[1], envbuf, elen);
  }
  else close(m[1]);
  close(v[1]);
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) strerr_diefu1sys(E2E_TEMP, "wait for e2e-queue");
  return exit_class(st);
}

int main(int argc, char const *const *argv)
{
  static char head[HEADMAX + 1];
  char const *subj;
  size_t hlen;
  int failed, eight, r;
  if (argc < 9 || (argc - 6) % 3) strerr_dieusage(E2E_PERM, USAGE);
  if (!strcmp(argv[1], "failed")) failed = 1;
  else if (!strcmp(argv[1], "delayed")) failed = 0;
  else strerr_dieusage(E2E_PERM, USAGE);
  env_need("E2E_HOME");
  domain = env_need("E2E_DOMAIN");
  if (!*argv[5]) strerr_dief1x(E2E_PERM, "no report is sent to the null sender");
  signal(SIGPIPE, SIG_IGN);
  hlen = read_head(head, &eight);
  subj = subject(head, hlen);
  compose(failed, argv[2], argv[3], argv[4], argv[5], argc - 6, argv + 6, head, hlen, subj, eight);
  r = inject(argv[5]);
  if (r) strerr_dief2x(r, "e2e-queue failed to queue the report to ", argv[5]);
  return 0;
}
