/* e2e-qstat [ -r ] [ -d id ]... [ home ]: the queue, mailq style.
 *
 * Without options: every queued message (todo/ and mess/, oldest first)
 * with its id, age, size and sender, then each recipient with its state,
 * tries, next attempt and last error, from the runner's state files
 * (docs/queue.md); then one summary line, and whether the runner runs.
 * Read-only: it may run while the runner works.
 *
 * -r (retry now) and -d id (remove a message) change the queue, so they
 * take the runner's lock first and refuse while a runner holds it: stop
 * the runner, run them, start it again.
 *
 * Run as root, it first becomes the owner of queue/ (so that nothing it
 * writes is root's, and root never parses the queue's files). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include "e2e.h"

#define USAGE "e2e-qstat [ -r ] [ -d id ]... [ home ]"
#define DELMAX 100
char const *PROG = "e2e-qstat";

typedef struct ent { char id[QID_MAX + 1]; int isnew; } ent;

static char const *home;
static char qdir[4000];
static ent *ents;
static size_t nents, aents;
static int scan_new;
static int64_t now;

static void nomem(void) { strerr_diefu1sys(E2E_TEMP, "allocate memory"); }

/* ---- output ---- */
static char const *dur(char *out, int64_t s)
{
  if (s < 0) s = 0;
  if (s < 60) snprintf(out, 32, "%llds", (long long)s);
  else if (s < 3600) snprintf(out, 32, "%lldm", (long long)(s / 60));
  else if (s < 86400) snprintf(out, 32, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else snprintf(out, 32, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
  return out;
}

/* One line of text as it may be shown: bytes outside 32..126 as '?'. */
static char const *printable(char *out, size_t max, char const *s)
{
  size_t i;
  for (i = 0; s[i] && i + 1 < max; i++)
    out[i] = ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) ? '?' : s[i];
  out[i] = 0;
  return out;
}

/* ---- the listing ---- */
static void collect(char const *id)
{
  if (nents == aents && !(ents = grow(ents, &aents, sizeof *ents, 256))) nomem();
  strcpy(ents[nents].id, id);
  ents[nents++].isnew = scan_new;
}

static int bytime(void const *a, void const *b)
{
  ent const *x = a, *y = b;
  int64_t tx = qid_time(x->id), ty = qid_time(y->id);
  int c;
  if (tx != ty) return tx < ty ? -1 : 1;
  if ((c = strcmp(x->id, y->id))) return c;
  return x->isnew - y->isnew;   /* the one in mess/ first */
}

static void scan(char const *sub, int isnew)
{
  scan_new = isnew;
  if (qdir_each(qdir, sub, collect) < 0) {
    if (errno == EACCES)
      strerr_dief5x(E2E_TEMP, "unable to read ", qdir, "/", sub, ": permission denied (run as root or as the queue's owner)");
    strerr_diefu4sys(E2E_TEMP, "read ", qdir, "/", sub);
  }
}

static unsigned int nmsg, nrcpt, npending, ndeferred, nfailed, ndone;

static void show(ent const *x)
{
  char path[4200], d1[32], err[1100], s[ADDR_MAX];
  struct stat st;
  envelope e;
  qmsg *m = 0;
  unsigned int i;
  int isnew = x->isnew, r;
  r = isnew ? qmsg_load_new(qdir, x->id, &m) : qmsg_load(qdir, x->id, &m);
  if (!r && isnew) { isnew = 0; r = qmsg_load(qdir, x->id, &m); }   /* taken in meanwhile */
  if (!r) return;                                                     /* finished meanwhile */
  if (r == -2) { printf("%s  malformed message file (the runner skips it)\n", x->id); return; }
  if (r == -1) { printf("%s  unreadable: %s\n", x->id, strerror(errno)); return; }
  snprintf(path, sizeof path, "%s/%s/%s", qdir, isnew ? QDIR_TODO : QDIR_MESS, x->id);
  if (stat(path, &st) < 0) st.st_size = (off_t)m->elen;
  envelope_parse(&e, m->env, m->elen);
  nmsg++;
  printf("%s  age %s  size %lld  from <%s>%s%s\n", x->id, dur(d1, now / 1000 - m->queued),
         (long long)(st.st_size - (off_t)m->elen), printable(s, sizeof s, e.sender),
         m->warned ? "  (delay notice sent)" : "", r == 2 ? "  (state file malformed: ignored)" : "");
  for (i = 0; i < m->n; i++) {
    qrcpt const *q = &m->r[i];
    char const *st8 = isnew ? "new" : q->state == QR_DONE ? "done" : q->state == QR_FAIL ? "failed"
                    : q->state == QR_BOUNCE ? "bouncing" : q->tries ? "deferred" : "pending";
    nrcpt++;
    printf("  %-8s  <%s>", st8, printable(s, sizeof s, e.rcpt[i]));
    if (q->state == QR_TODO) {
      npending += !q->tries; ndeferred += !!q->tries;
      printf("  tries %u  next %s%s", q->tries, q->next > now ? "in " : "now",
             q->next > now ? dur(d1, (q->next - now + 999) / 1000) : "");
    }
    else if (q->state == QR_DONE) ndone++;
    else nfailed++;
    if (q->err && q->state != QR_DONE) printf("\n            last error: %s", printable(err, sizeof err, q->err));
    putchar('\n');
  }
  qmsg_free(m);
}

static void list(void)
{
  char lock[4200];
  size_t i;
  pid_t pid = 0;
  int held;
  scan(QDIR_TODO, 1);
  scan(QDIR_MESS, 0);
  if (nents) qsort(ents, nents, sizeof *ents, bytime);
  for (i = 0; i < nents; i++)
    if (!i || strcmp(ents[i].id, ents[i - 1].id)) show(&ents[i]);
  snprintf(lock, sizeof lock, "%s/lock", qdir);
  held = qlock_holder(lock, &pid);
  printf("%u message%s, %u recipient%s: %u pending, %u deferred, %u failed, %u done",
         nmsg, nmsg == 1 ? "" : "s", nrcpt, nrcpt == 1 ? "" : "s", npending, ndeferred, nfailed, ndone);
  if (held > 0) printf("; runner running (pid %ld)\n", (long)pid);
  else if (!held) printf("; runner not running\n");
  else putchar('\n');
  if (fflush(stdout) != 0 || ferror(stdout)) strerr_diefu1sys(E2E_TEMP, "write to stdout");
}

/* ---- changing the queue, with the runner's lock ---- */
static void lock(void)
{
  char path[4200];
  pid_t pid = 0;
  int fd;
  snprintf(path, sizeof path, "%s/lock", qdir);
  fd = openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) strerr_diefu2sys(E2E_TEMP, "open ", path);
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return;   /* held until we exit */
  if (errno != EWOULDBLOCK) strerr_diefu2sys(E2E_TEMP, "lock ", path);
  if (qlock_holder(path, &pid) > 0) {
    char p[24];
    snprintf(p, sizeof p, "%ld", (long)pid);
    strerr_dief5x(E2E_TEMP, "the runner is running (pid ", p, "): stop it first: s6-svc -wD -d ", home,
                  "/service/runner");
  }
  strerr_dief4x(E2E_TEMP, "the runner is running: stop it first: s6-svc -wD -d ", home, "/service/runner", "");
}

static void delete(char const *id)
{
  char path[4200], s[ADDR_MAX];
  qmsg t, *m;
  int found = 0, r;
  r = qmsg_load(qdir, id, &m);
  if (r == -1) strerr_diefu4sys(E2E_TEMP, "read ", qdir, "/mess/", id);
  if (r > 0) {
    envelope e;
    char n[16];
    envelope_parse(&e, m->env, m->elen);
    snprintf(n, sizeof n, "%u", e.n);
    log6("removing id=", id, " sender=", safe(s, sizeof s, e.sender, strlen(e.sender)), " rcpts=", n);
    qmsg_free(m);
  }
  memset(&t, 0, sizeof t);
  strcpy(t.id, id);
  t.has_info = 1;   /* mess/ID goes first, then info/ID (after an fsync) */
  snprintf(path, sizeof path, "%s/" QDIR_MESS "/%s", qdir, id);
  if (access(path, F_OK) == 0 || r == -2) found = 1;
  if (qmsg_remove(qdir, &t) < 0) strerr_diefu4sys(E2E_TEMP, "remove ", qdir, "/mess/", id);
  snprintf(path, sizeof path, "%s/" QDIR_TODO "/%s", qdir, id);
  if (unlink(path) == 0) {
    found = 1;
    log3("removing id=", id, " (new)");
    snprintf(path, sizeof path, "%s/" QDIR_TODO, qdir);
    if (fsync_dir(path) < 0) strerr_diefu2sys(E2E_TEMP, "sync ", path);
  }
  else if (errno != ENOENT) strerr_diefu2sys(E2E_TEMP, "remove ", path);
  if (!found && r <= 0) strerr_dief2x(E2E_PERM, "no such message in the queue: ", id);
  printf("%s removed\n", id);
}

static unsigned int retried, retried_msgs;
static void retry1(char const *id)
{
  qmsg *m;
  unsigned int i, k = 0;
  int r = qmsg_load(qdir, id, &m);
  if (r == -1) strerr_diefu4sys(E2E_TEMP, "read ", qdir, "/mess/", id);
  if (r != 1) return;   /* gone, malformed, or a state the runner ignores anyway */
  for (i = 0; i < m->n; i++)
    if (m->r[i].state == QR_TODO) { k++; m->r[i].next = 0; }
  if (k && m->has_info && qmsg_save(qdir, m) < 0) strerr_diefu4sys(E2E_TEMP, "write ", qdir, "/info/", id);
  retried += k;
  retried_msgs += !!k;
  qmsg_free(m);
}

/* ---- setup ---- */
/* Root becomes the owner of queue/ before touching it. */
static void become_owner(void)
{
  struct stat st;
  gid_t g;
  if (geteuid() != 0) return;
  if (stat(qdir, &st) < 0) strerr_diefu2sys(E2E_TEMP, "stat ", qdir);
  if (st.st_uid == 0) return;
  g = st.st_gid;
  if (setgroups(1, &g) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0)
    strerr_diefu2sys(E2E_TEMP, "become the owner of ", qdir);
}

int main(int argc, char const *const *argv)
{
  subgetopt l = SUBGETOPT_ZERO;
  char const *del[DELMAX];
  unsigned int ndel = 0, i;
  int retry = 0;
  struct timespec ts;
  for (;;) {
    int opt = subgetopt_r(argc, argv, "rd:", &l);
    if (opt == -1) break;
    switch (opt) {
      case 'r': retry = 1; break;
      case 'd':
        if (ndel == DELMAX) strerr_dief1x(E2E_PERM, "too many -d (100 at most)");
        if (!qid_valid(l.arg)) {
          char s[64];
          strerr_dief2x(E2E_PERM, "invalid queue id: ", printable(s, sizeof s, l.arg));
        }
        del[ndel++] = l.arg;
        break;
      default: strerr_dieusage(E2E_PERM, USAGE);
    }
  }
  if (argc - l.ind > 1) strerr_dieusage(E2E_PERM, USAGE);
  home = argc > l.ind ? argv[l.ind] : env_str("E2E_HOME", 0);
  if (!home) strerr_dief1x(E2E_PERM, "no mail home: give one or set E2E_HOME");
  if (snprintf(qdir, sizeof qdir, "%s/queue", home) >= (int)sizeof qdir) strerr_dief1x(E2E_PERM, "home is too long");
  clock_gettime(CLOCK_REALTIME, &ts);
  now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  become_owner();
  if (!retry && !ndel) { list(); return 0; }
  lock();
  for (i = 0; i < ndel; i++) delete(del[i]);
  if (retry) {
    if (qdir_each(qdir, QDIR_MESS, retry1) < 0) strerr_diefu3sys(E2E_TEMP, "read ", qdir, "/mess");
    printf("%u recipient%s of %u message%s due now: start the runner (s6-svc -u %s/service/runner)\n",
           retried, retried == 1 ? "" : "s", retried_msgs, retried_msgs == 1 ? "" : "s", home);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) strerr_diefu1sys(E2E_TEMP, "write to stdout");
  return 0;
}
