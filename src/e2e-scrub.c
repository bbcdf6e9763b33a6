/* e2e-scrub: the privacy filter for mail submitted locally, run by
 * e2e-smtpd as $E2E_QUEUE in front of the real injector. qmail-queue
 * interface: the message on fd 0 (LF line ends), the envelope on fd 1.
 * It rewrites the header block (exactly what it changes: e2e-scrub.8),
 * keeps the body unchanged, and execs the next injector ($E2E_SCRUB_NEXT,
 * default e2e-queue, or the arguments) with the whole new message on its
 * fd 0 (a rewound memory file) and our fd 1, the envelope, as its fd 1:
 * no process of its own stays between e2e-smtpd and the injector. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"
#include "i2p.h"

char const *PROG = "e2e-scrub";

#define HEAD_MAX 262144          /* the header block we hold, at most */
#define CHUNK 65536
#define VALUE_MAX 1024           /* the part of a Date or Message-ID value looked at */
#define USAGE "e2e-scrub [PROG...]"

/* Fields that name the sender's machine or software: dropped. */
static char const *const dropped[] = {
  "Received", "X-Mailer", "User-Agent", "X-Newsreader", "X-MimeOLE", "X-Originating-IP",
  "X-Originating-Host", "X-Forwarded-For", "X-Client-IP", "X-Real-IP", 0
};

static char head[HEAD_MAX + CHUNK], out[HEAD_MAX + 4096];
static size_t hn, hend, on;
static char const *domain, *home;
static char const *const *next;
static char const *dflt[2] = { "e2e-queue", 0 };
static unsigned int ndropped, ndate, nid;
static char const *datewhat = "kept", *idwhat = "kept";

static void die_big(void)
{
  strerr_dief1x(E2E_PERM, "header block too big: more than 262144 bytes");
}

static void put(char const *s, size_t n)
{
  if (n > sizeof out - on) die_big();
  memcpy(out + on, s, n);
  on += n;
}
static void puts_(char const *s) { put(s, strlen(s)); }

/* ---- reading the header block ---- */

/* Does this line (len bytes, its "\n" included when there is one) belong
 * to the header block? A blank line or anything that is no field (a
 * continuation line first of all) starts the body. */
static int head_line(char const *s, size_t len, int first)
{
  size_t colon;
  if (!len || s[0] == '\n' || (s[0] == '\r' && len > 1 && s[1] == '\n')) return 0;
  if (s[0] == ' ' || s[0] == '\t') return !first;
  return hdr_field(s, len, &colon) > 0;
}

/* Reads fd 0 until the header block is complete; sets hend, where the
 * body starts (hn bytes are in head[]). */
static void read_head(void)
{
  size_t scan = 0;
  int eof = 0;
  for (;;) {
    for (;;) {
      char *nl = memchr(head + scan, '\n', hn - scan);
      size_t len = nl ? (size_t)(nl - head - scan) + 1 : hn - scan;
      if (!nl && (!eof || !len)) break;
      if (!head_line(head + scan, len, !scan)) { hend = scan; return; }
      scan += len;
      if (scan > HEAD_MAX) die_big();
    }
    if (eof) { hend = scan; return; }
    if (hn == sizeof head) die_big();
    for (;;) {
      ssize_t r = read(0, head + hn, sizeof head - hn);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) strerr_diefu1sys(E2E_TEMP, "read the message");
      if (!r) eof = 1;
      hn += (size_t)r;
      break;
    }
  }
}

/* ---- rewriting it ---- */

static int is_dropped(char const *name, size_t len)
{
  unsigned int i;
  for (i = 0; dropped[i]; i++) if (hdr_is(name, len, dropped[i])) return 1;
  return 0;
}

static void newline(void) { if (on && out[on - 1] != '\n') put("\n", 1); }

static void put_date(char const *name, size_t len, int64_t t)
{
  char d[HDR_DATE_MAX];
  hdr_date_fmt(d, t);
  newline();
  put(name, len); puts_(": "); puts_(d); puts_("\n");
}

static void put_msgid(char const *name, size_t len)
{
  unsigned char rnd[16];
  char id[I2P_B32_LEN(16) + 1];
  size_t k = 0;
  while (k < sizeof rnd) {
    ssize_t r = getrandom(rnd + k, sizeof rnd - k, 0);
    if (r < 0 && errno != EINTR) strerr_diefu1sys(E2E_TEMP, "get random bytes");
    if (r > 0) k += (size_t)r;
  }
  id[i2p_b32_encode(id, rnd, sizeof rnd)] = 0;
  newline();
  put(name, len); puts_(": <"); puts_(id); puts_("@"); puts_(domain); puts_(">\n");
}

/* Is the msg-id's domain ours (E2E_DOMAIN, HOME/domains, our b32)? */
static int id_ours(char const *value)
{
  char d[ADDR_DOMAINMAX + 1];
  char const *dom;
  size_t len, i;
  if (hdr_msgid_domain(value, &dom, &len) < 0 || len > ADDR_DOMAINMAX) return 0;
  for (i = 0; i < len; i++) d[i] = (char)((dom[i] >= 'A' && dom[i] <= 'Z') ? dom[i] + 32 : dom[i]);
  d[len] = 0;
  if (!strcasecmp(d, domain)) return 1;
  return home && domain_local(home, d) == 1;
}

/* One field: name (len bytes) ... the whole field is f (n bytes). */
static void field(char const *f, size_t n, size_t len, size_t colon, int64_t now)
{
  char v[VALUE_MAX];
  int64_t t;
  int isdate = hdr_is(f, len, "Date"), isid = hdr_is(f, len, "Message-ID");
  if (is_dropped(f, len)) { ndropped++; return; }
  if (isdate || hdr_is(f, len, "Resent-Date")) {
    hdr_unfold(v, sizeof v, f + colon + 1, n - colon - 1);
    if (hdr_date_parse(v, &t) < 0) { t = now; if (isdate) datewhat = "replaced"; }
    else if (isdate) datewhat = "converted";
    ndate += isdate;
    put_date(f, len, t);
    return;
  }
  if (isid || hdr_is(f, len, "Resent-Message-ID")) {
    nid += isid;
    hdr_unfold(v, sizeof v, f + colon + 1, n - colon - 1);
    if (!id_ours(v)) { put_msgid(f, len); if (isid) idwhat = "replaced"; return; }
  }
  newline();
  put(f, n);
}

static void rewrite(void)
{
  char d[HDR_DATE_MAX];
  int64_t now = (int64_t)time(0);
  size_t p = 0;
  hdr_date_fmt(d, now);
  puts_("Received: by "); puts_(domain); puts_(" (e2e); "); puts_(d); puts_("\n");
  while (p < hend) {
    size_t e = hdr_field_end(head, hend, p), colon = 0, len;
    len = hdr_field(head + p, e - p, &colon);
    field(head + p, e - p, len, colon, now);
    p = e;
  }
  if (!ndate) { put_date("Date", 4, now); datewhat = "added"; }
  if (!nid) { put_msgid("Message-ID", 10); idwhat = "added"; }
}

/* ---- the next stage ---- */

/* The whole new message into a memory file, rewound: the injector's fd 0.
 * Nothing reaches the injector before the message is whole; if we die on
 * the way, it never runs and queues nothing. */
static int spool(void)
{
  char buf[CHUNK];
  int fd = memfd_create("e2e-scrub", MFD_CLOEXEC);
  if (fd < 0) strerr_diefu1sys(E2E_TEMP, "create a memory file");
  if (write_all(fd, out, on) < 0 || write_all(fd, head + hend, hn - hend) < 0)
    strerr_diefu1sys(E2E_TEMP, "write the message");
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) strerr_diefu1sys(E2E_TEMP, "read the message");
    if (!n) break;
    if (write_all(fd, buf, (size_t)n) < 0) strerr_diefu1sys(E2E_TEMP, "write the message");
  }
  if (lseek(fd, 0, SEEK_SET) < 0) strerr_diefu1sys(E2E_TEMP, "rewind the message");
  return fd;
}

int main(int argc, char const *const *argv)
{
  int fd;
  next = argc > 1 ? argv + 1 : dflt;
  if (argc <= 1) dflt[0] = env_str("E2E_SCRUB_NEXT", "e2e-queue");
  if (argc > 1 && argv[1][0] == '-') strerr_dieusage(E2E_PERM, USAGE);
  if (!strcmp(env_str("PROTO", ""), "SAM")) {   /* mail from I2P: not ours to scrub */
    execvp(next[0], (char *const *)next);
    strerr_diefu2sys(E2E_TEMP, "run ", next[0]);
  }
  domain = env_need("E2E_DOMAIN");
  home = env_str("E2E_HOME", 0);
  alarm(86400);

  read_head();
  rewrite();
  fd = spool();
  if (dup2(fd, 0) < 0) strerr_diefu1sys(E2E_TEMP, "dup2");
  {
    char nd[16];
    snprintf(nd, sizeof nd, "%u", ndropped);
    char const *v[] = { "scrub dropped=", nd, " date=", datewhat, " msgid=", idwhat, " next=", next[0] };
    logn(v, 8);
  }
  execvp(next[0], (char *const *)next);
  strerr_diefu2sys(E2E_TEMP, "run ", next[0]);
}
