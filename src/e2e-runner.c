/* e2e-runner: the queue runner (docs/queue.md). Takes new messages from
 * queue/todo/ when e2e-queue pokes the trigger FIFO, delivers each
 * recipient with e2e-local or e2e-remote, keeps per-recipient state in
 * queue/info/, retries with back-off, and reports delays and failures to
 * the sender through e2e-bounce. Sleeps in poll() while nothing is due. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <skalibs/selfpipe.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include "e2e.h"

char const *PROG = "e2e-runner";
extern char **environ;

#define OUTMAX 65536              /* what we keep of a child's report */
#define STOPWAIT 60000            /* ms to wait for children at SIGTERM */
#define TMPAGE (36 * 3600)
#define LIDLE 10000               /* ms an idle e2e-local -w is kept */

enum { J_LOCAL, J_REMOTE, J_BOUNCE, J_NOTICE };
static char const *const jname[] = { "e2e-local", "e2e-remote", "e2e-bounce", "e2e-bounce" };

typedef qmsg msg;

typedef struct job {
  struct job *next;
  msg *m;
  int kind, fd;
  pid_t pid;
  unsigned int ni;
  unsigned char idx[RCPT_MAX];
  char user[USER_MAX + 1];
  char const *dom;        /* J_REMOTE: the domain (in the message's envelope) */
  stralloc out;
} job;

static char const *home;
static char qdir[3072];
static uint64_t retry, warn, lifetime, lconc, rconc, dconc;
static int trigfd, sigfd, stopping;
static int64_t stop_deadline;
static qheap sched;
static job *lq, *lqt, *rq, *rqt, *running;
static unsigned int nlocal, nremote;
static lpool pool;   /* the e2e-local -w workers (lib/localjob.c) */

static void nomem(void) { strerr_diefu1sys(E2E_TEMP, "allocate memory"); }
static int64_t wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
/* Text for a log field in quotes: one line, no quotes. */
static char *qsafe(char *out, size_t max, char const *s)
{
  size_t i;
  for (i = 0; s[i] && i + 1 < max; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = (c < 32 || c > 126 || c == '"') ? '?' : (char)c;
  }
  out[i] = 0;
  return out;
}

static void hput(msg *m) { if (qheap_put(&sched, m) < 0) nomem(); }
static void hdel(msg *m) { qheap_del(&sched, m); }

/* ---- messages ---- */
static void sender_rcpts(msg const *m, envelope *e) { envelope_parse(e, m->env, m->elen); }
static int64_t expiry(msg const *m) { return (m->queued + (int64_t)lifetime) * 1000; }

/* A state write that fails (a full disk, an I/O error) is logged, not
 * fatal: the state stays in memory, dirty, and is written again when the
 * message next settles. Exiting would lose the in-memory schedule and
 * repeat every attempt (a remote one too) at each restart. */
static void info_write(msg *m)
{
  if (qmsg_save(qdir, m) < 0) {
    int e = errno;
    log4("warning: unable to write info/", m->id, ": kept in memory, written later: ", strerror(e));
  }
}

/* Finished files without state wait as free/.ID until QFREE_SLOTS are
 * there or PARKMS have passed, then one sync of mess/ lets them all be
 * reused (qfree_promote): one fsync for several messages. */
#define PARKMS 100
static char parked[QFREE_SLOTS][QID_MAX + 1];
static unsigned int nparked;
static int64_t parked_at;

static void promote(void)
{
  if (qfree_promote(qdir, (char const (*)[QID_MAX + 1])parked, nparked) < 0) strerr_diefu3sys(E2E_TEMP, "sync ", qdir, "/mess");
  nparked = 0;
}

static void msg_done(msg *m)
{
  int r = 0;
  hdel(m);
  if (!m->has_info && (r = qmsg_park(qdir, m->id)) > 0) {
    if (!nparked) parked_at = wall_ms();
    strcpy(parked[nparked++], m->id);
    if (nparked == QFREE_SLOTS) promote();
  }
  if (r < 0 || (m->has_info && qmsg_remove(qdir, m) < 0)) strerr_diefu4sys(E2E_TEMP, "remove ", qdir, "/mess/", m->id);
  log2("done id=", m->id);
  qmsg_free(m);
}

/* Loads mess/ID with its info/ID, if any, into the schedule. */
static msg *msg_load1(char const *id)
{
  msg *m;
  int r = qmsg_load(qdir, id, &m);
  if (r == -1) strerr_diefu4sys(E2E_TEMP, "load ", qdir, "/mess/", id);
  if (r == -2) log3("warning: skipping malformed queue file mess/", id, "");
  if (r == 2) log3("warning: ignoring malformed state file info/", id, "");
  if (r <= 0) return 0;
  m->due = 0;
  hput(m);
  return m;
}
static void msg_load(char const *id) { msg_load1(id); }

static void scan(char const *sub, void (*f)(char const *))
{
  if (qdir_each(qdir, sub, f) < 0) strerr_diefu4sys(E2E_TEMP, "read ", qdir, "/", sub);
}

/* New mail: todo/ID moved to mess/ID by dir_move (link, one sync of
 * mess/, unlink), then loaded. A todo/ID that is mess/ID already (a crash
 * between the link and the unlink) was loaded from mess/ at start: only
 * its todo/ name goes. */
static int new_name(char *out, size_t max, char const *id)
{
  if (!qid_valid(id) || strlen(id) >= max) return 0;
  strcpy(out, id);
  return 1;
}

static void new_one(int what, char const *id, void *ctx)
{
  msg *m;
  (void)ctx;
  if (what == DIR_MOVE_BOTH) return;
  if (what == DIR_MOVE_CLASH) { log3("warning: todo/", id, " and mess/ hold different files of that name: left in todo/"); return; }
  if (what != DIR_MOVE_MOVED) strerr_diefu4sys(E2E_TEMP, what == DIR_MOVE_LINKFAIL ? "link " : "remove ", qdir, "/" QDIR_TODO "/", id);
  if ((m = msg_load1(id))) {
    envelope e;
    char ad[ADDR_MAX], n[16];
    envelope_parse(&e, m->env, m->elen);
    snprintf(n, sizeof n, "%u", e.n);
    log6("new id=", id, " sender=", safe(ad, sizeof ad, e.sender, strlen(e.sender)), " rcpts=", n);
  }
}

static void take_new(void)
{
  char todo[4096], mess[4096];
  snprintf(todo, sizeof todo, "%s/" QDIR_TODO, qdir);
  snprintf(mess, sizeof mess, "%s/" QDIR_MESS, qdir);
  if (dir_move(todo, mess, new_name, new_one, 0) < 0) strerr_diefu4sys(E2E_TEMP, "move ", todo, " to ", mess);
}

/* ---- results ---- */
static void logd(msg const *m, char const *rcpt, char const *result, char const *reason)
{
  char a[ADDR_MAX], b[1024];
  char const *v[] = { "delivery id=", m->id, " rcpt=", safe(a, sizeof a, rcpt, strlen(rcpt)), " result=", result,
                      " reason=\"", qsafe(b, sizeof b, reason), "\"" };
  logn(v, 9);
}

static void set_err(qrcpt *r, char const *text)
{
  free(r->err);
  if (!(r->err = strndup(text, 1000))) nomem();   /* fits in a report, an argv */
}

static int64_t backoff(unsigned int tries)
{
  uint64_t d = retry * 1000, cap = retry * 1000 > 21600000 ? retry * 1000 : 21600000;
  while (--tries && d < cap) d *= 2;
  if (d > cap) d = cap;
  return (int64_t)(d * (900 + (uint64_t)(random() % 201)) / 1000);
}

/* One recipient's outcome: 0 delivered, 100 failed for good, 111 later. */
static void result(msg *m, unsigned int i, int cls, char const *text, int remote)
{
  envelope e;
  qrcpt *r = &m->r[i];
  int64_t now = wall_ms();
  char why[1200];
  sender_rcpts(m, &e);
  r->busy = 0;
  m->dirty = 1;
  if (cls == E2E_TEMP && now >= expiry(m)) {
    snprintf(why, sizeof why, "gave up after %llu seconds in the queue (#5.4.7); last error: %s",
             (unsigned long long)lifetime, text);
    text = why; cls = E2E_PERM;
  }
  if (cls == E2E_OK) { r->state = QR_DONE; if (remote) m->remote_done = 1; logd(m, e.rcpt[i], "ok", text); return; }
  set_err(r, text);
  if (cls == E2E_PERM) { r->state = QR_BOUNCE; logd(m, e.rcpt[i], "fail", text); return; }
  r->tries++;
  r->next = now + backoff(r->tries);
  if (r->next > expiry(m)) r->next = expiry(m);
  logd(m, e.rcpt[i], "defer", text);
}

/* ---- jobs ---- */
static job *job_new(msg *m, int kind)
{
  job *j = calloc(1, sizeof *j);
  if (!j) nomem();
  j->m = m; j->kind = kind; j->fd = -1;
  m->jobs++;
  return j;
}
static void enqueue(job *j)
{
  job **h = j->kind == J_REMOTE ? &rq : &lq, **t = j->kind == J_REMOTE ? &rqt : &lqt;
  j->next = 0;
  if (*h) (*t)->next = j; else *h = j;
  *t = j;
}

static void settle(msg *m);

/* Reports to the sender (a bounce for the QR_BOUNCE recipients, a delay
 * notice for the QR_TODO ones); 1 when done at once (null sender). */
static int report(msg *m, int kind)
{
  envelope e;
  unsigned int i;
  job *j;
  sender_rcpts(m, &e);
  if (!*e.sender) {
    log3(kind == J_BOUNCE ? "bounce id=" : "notice id=", m->id, " result=none reason=\"null sender\"");
    for (i = 0; i < m->n; i++) if (m->r[i].state == QR_BOUNCE) m->r[i].state = QR_FAIL;
    if (kind == J_NOTICE) m->warned = 1;
    m->dirty = 1;
    return 1;
  }
  j = job_new(m, kind);
  for (i = 0; i < m->n; i++)
    if (m->r[i].state == (kind == J_BOUNCE ? QR_BOUNCE : QR_TODO)) j->idx[j->ni++] = (unsigned char)i;
  enqueue(j);
  return 0;
}

static void job_end(job *j, int any_k)
{
  msg *m = j->m;
  stralloc_free(&j->out);
  free(j);
  if (--m->jobs == 0) settle(m);
  else if (any_k) info_write(m);   /* a remote 250 is on disk before anything else */
}

/* What the job's output and exit status say, for each of its recipients. */
static void finish(job *j, int status)
{
  msg *m = j->m;
  int cls = exit_class(status), any_k = 0;
  char text[1024], *p, *end;
  unsigned int k;
  if (!stralloc_0(&j->out)) nomem();
  p = j->out.s;
  end = p + --j->out.len;
  if (j->kind == J_REMOTE) {
    for (k = 0; k < j->ni; k++) {
      char *nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : 0;
      if (nl && nl - p >= 1 && (*p == 'K' || *p == 'Z' || *p == 'D')) {
        char *t = p + 1 + (p[1] == ' ');
        *nl = 0;
        result(m, j->idx[k], *p == 'K' ? E2E_OK : *p == 'D' ? E2E_PERM : E2E_TEMP, t, 1);
        any_k |= *p == 'K';
        p = nl + 1;
      }
      else {
        if (WIFEXITED(status)) snprintf(text, sizeof text, "e2e-remote gave no result (exit %d)", WEXITSTATUS(status));
        else snprintf(text, sizeof text, "e2e-remote gave no result (signal %d)", WTERMSIG(status));
        result(m, j->idx[k], E2E_TEMP, text, 1);
        p = end;
      }
    }
  }
  else {
    /* the last line a local child wrote on stderr says why */
    while (end > j->out.s && end[-1] == '\n') *--end = 0;
    p = end;
    while (p > j->out.s && p[-1] != '\n') p--;
    if (!*p) snprintf(p = text, sizeof text, "%s %s (exit %d)", jname[j->kind],
                      cls == E2E_OK ? "succeeded" : "failed", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    {
      char b[1024];
      char const *v[] = { j->kind == J_NOTICE ? "notice id=" : "bounce id=", m->id, " result=",
                          cls == E2E_OK ? "ok" : cls == E2E_TEMP ? "defer" : "fail", " reason=\"", qsafe(b, sizeof b, p), "\"" };
      logn(v, 7);
      m->dirty = 1;
      if (j->kind == J_NOTICE) m->warned = 1;   /* a notice is tried once */
      else if (cls == E2E_TEMP) m->bounce_next = wall_ms() + (int64_t)retry * 1000;
      else for (k = 0; k < j->ni; k++) m->r[j->idx[k]].state = QR_FAIL;
    }
  }
  job_end(j, any_k);
}

/* mess/ID, at the message's first byte */
static int mess_open(msg const *m)
{
  char path[4096];
  int fd;
  snprintf(path, sizeof path, "%s/" QDIR_MESS "/%s", qdir, m->id);
  fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || lseek(fd, (off_t)m->elen, SEEK_SET) < 0) strerr_diefu2sys(E2E_TEMP, "open ", path);
  return fd;
}

static void run(job *j)
{
  msg *m = j->m;
  envelope e;
  char arg[RCPT_MAX * 3 + 8][32];
  char const *argv[RCPT_MAX * 3 + 8];
  int p[2], fd, r;
  unsigned int k, a = 0;
  sender_rcpts(m, &e);
  fd = mess_open(m);
  if (pipe2(p, O_CLOEXEC) < 0) strerr_diefu1sys(E2E_TEMP, "create a pipe");
  argv[a++] = jname[j->kind];
  if (j->kind == J_REMOTE) {
    argv[a++] = addr_domain(e.rcpt[j->idx[0]]);
    argv[a++] = e.sender;
    for (k = 0; k < j->ni; k++) argv[a++] = e.rcpt[j->idx[k]];
  }
  else {
    argv[a++] = j->kind == J_BOUNCE ? "failed" : "delayed";
    argv[a++] = m->id;
    snprintf(arg[0], sizeof arg[0], "%lld", (long long)m->queued);
    snprintf(arg[1], sizeof arg[1], "%lld", (long long)(expiry(m) / 1000));
    argv[a++] = arg[0]; argv[a++] = arg[1];
    argv[a++] = e.sender;
    for (k = 0; k < j->ni; k++) {
      qrcpt const *r = &m->r[j->idx[k]];
      qstatus(r->err, j->kind == J_BOUNCE ? '5' : '4', arg[2 + k]);
      argv[a++] = e.rcpt[j->idx[k]];
      argv[a++] = arg[2 + k];
      argv[a++] = r->err ? r->err : "no reason given";
    }
  }
  argv[a] = 0;
  r = qspawn(&j->pid, argv, (char const *const *)environ, fd, p[1], j->kind == J_REMOTE ? 1 : 2);
  close(fd); close(p[1]);
  if (r) {   /* as if the child had said so and exited 111 */
    char text[256];
    close(p[0]);
    snprintf(text, sizeof text, "%s%s: unable to run: %s\n", j->kind == J_REMOTE ? "Z " : "", argv[0], strerror(r));
    if (j->kind == J_REMOTE) for (k = 0; k < j->ni; k++) { if (!stralloc_cats(&j->out, text)) nomem(); }
    else if (!stralloc_cats(&j->out, text)) nomem();
    finish(j, 111 << 8);
    return;
  }
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  j->fd = p[0];
  j->next = running; running = j;
  if (j->kind == J_REMOTE) nremote++; else nlocal++;
}

static void drain(job *j)
{
  char buf[4096];
  for (;;) {
    ssize_t r = read(j->fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) { if (!r || errno != EAGAIN) { close(j->fd); j->fd = -1; } return; }
    if (j->out.len < OUTMAX && !stralloc_catb(&j->out, buf, (size_t)r)) nomem();
  }
}

/* ---- local deliveries: to long-lived e2e-local -w workers ---- */
/* The oldest request handed to w has its answer. */
static void local_done(lworker *w, int cls, char const *text)
{
  job *j = lpool_pop(w);
  if (!w->nj) w->idle = wall_ms();
  nlocal--;
  result(j->m, j->idx[0], cls, text, 0);
  job_end(j, 0);
}

/* The answers that have come, each for the oldest request still open. */
static void worker_read(lworker *w)
{
  char text[LJOB_ANSWER];
  int cls;
  while (w->fd >= 0 && (cls = lpool_answer(w, text, sizeof text)) >= 0 && w->nj) local_done(w, cls, text);
}

/* Worker w has ended: what it was handed and did not answer is deferred,
 * its place freed. */
static void worker_gone(lworker *w, int st)
{
  char text[128];
  if (w->fd >= 0) worker_read(w);
  if (WIFEXITED(st)) snprintf(text, sizeof text, "e2e-local ended during the delivery (exit %d)", WEXITSTATUS(st));
  else snprintf(text, sizeof text, "e2e-local ended during the delivery (signal %d)", WTERMSIG(st));
  while (w->nj) local_done(w, E2E_TEMP, text);
  lpool_drop(&pool, w);
}

/* The job to worker w, started first if it is a new place. */
static void hand(job *j, lworker *w)
{
  msg *m = j->m;
  envelope e;
  char dv[64], text[256];
  char const *f[LJOB_FIELDS];
  int fd, err;
  sender_rcpts(m, &e);
  snprintf(dv, sizeof dv, "%sR%u", m->id, j->idx[0]);
  f[0] = j->user; f[1] = e.sender; f[2] = e.rcpt[j->idx[0]]; f[3] = dv;
  w->job[w->nj++] = j;
  nlocal++;
  if (!w->pid && (err = lpool_start(w, jname[J_LOCAL], (char const *const *)environ))) {
    snprintf(text, sizeof text, "e2e-local: unable to run: %s", strerror(err));
    local_done(w, E2E_TEMP, text);   /* as if it had said so */
    lpool_drop(&pool, w);
    return;
  }
  fd = mess_open(m);
  if (ljob_send(w->fd, fd, f) < 0) {   /* it ended: reap() says how */
    worker_read(w);                   /* the answers it gave before */
    if (w->fd >= 0) { close(w->fd); w->fd = -1; }
  }
  close(fd);
}

static void reap(void)
{
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    job **pj;
    lworker *w;
    for (pj = &running; *pj && (*pj)->pid != pid; pj = &(*pj)->next) ;
    if (*pj) {
      job *j = *pj;
      *pj = j->next;
      if (j->kind == J_REMOTE) nremote--; else nlocal--;
      if (j->fd >= 0) { drain(j); if (j->fd >= 0) close(j->fd); }
      finish(j, st);
      continue;
    }
    if ((w = lpool_of(&pool, pid))) worker_gone(w, st);
  }
}

/* Remote deliveries running to one domain. */
static unsigned int to_domain(char const *d)
{
  job *j;
  unsigned int n = 0;
  for (j = running; j; j = j->next) if (j->kind == J_REMOTE && !strcmp(j->dom, d)) n++;
  return n;
}

/* Local and remote deliveries up to their limits, and at most
 * E2E_DOMAINCONCURRENCY at once to one domain (the receiver's per-peer
 * cap would turn more into 421s); the others wait their turn in order. */
static void dispatch(void)
{
  job **pj = &rq, *prev = 0;
  while (!stopping && lq && nlocal < lconc) {
    job *j = lq;
    lworker *w = 0;
    if (j->kind == J_LOCAL && !(w = lpool_get(&pool, lconc))) break;   /* a worker is ending */
    lq = j->next;
    if (w) hand(j, w); else run(j);
  }
  while (!stopping && *pj && nremote < rconc) {
    job *j = *pj;
    if (to_domain(j->dom) >= dconc) { prev = j; pj = &j->next; continue; }
    *pj = j->next;
    if (rqt == j) rqt = prev;
    run(j);
  }
}

/* ---- attempts ---- */
static void attempt(msg *m, int64_t now)
{
  envelope e;
  job *rj[RCPT_MAX];
  unsigned int i, k, nr = 0;
  char lp[ADDR_LOCALMAX + 1], user[USER_MAX + 1];
  sender_rcpts(m, &e);
  for (i = 0; i < m->n; i++) {
    qrcpt *r = &m->r[i];
    char const *d = addr_domain(e.rcpt[i]);
    int loc;
    if (r->state != QR_TODO || r->busy || r->next > now) continue;
    loc = domain_local(home, d);
    if (loc < 0) { result(m, i, E2E_TEMP, "unable to read the list of local domains", 0); continue; }
    if (loc) {
      int f;
      addr_local(e.rcpt[i], lp);
      if (!strcmp(lp, "postmaster")) f = user_postmaster(home, user);
      else { f = user_exists(home, lp); strcpy(user, lp); }
      if (f < 0) { result(m, i, E2E_TEMP, "unable to read the users file", 0); continue; }
      if (!f) { result(m, i, E2E_PERM, "no such user here (#5.1.1)", 0); continue; }
      {
        job *j = job_new(m, J_LOCAL);
        strcpy(j->user, user);
        j->idx[j->ni++] = (unsigned char)i;
        r->busy = 1;
        enqueue(j);
      }
      continue;
    }
    if (!domain_is_i2p(d)) {   /* the clearnet: only through a route (HOME/routes, e.g. "*") */
      route rt;
      char why[512];
      int x = routes_read(home, d, &rt, 0, why, sizeof why);
      if (x <= 0) { result(m, i, x ? E2E_TEMP : E2E_PERM, x ? why : "no route to this domain (#5.1.2)", 0); continue; }
    }
    for (k = 0; k < nr && strcmp(addr_domain(e.rcpt[rj[k]->idx[0]]), d); k++) ;
    if (k == nr) { rj[nr] = job_new(m, J_REMOTE); rj[nr++]->dom = d; }
    rj[k]->idx[rj[k]->ni++] = (unsigned char)i;
    r->busy = 1;
  }
  for (k = 0; k < nr; k++) enqueue(rj[k]);
  if (!m->jobs) settle(m);
}

/* After an attempt: finish, report, or schedule the next attempt. */
static void settle(msg *m)
{
  unsigned int i, todo = 0, bounce = 0;
  int64_t now = wall_ms(), due = INT64_MAX;
  for (i = 0; i < m->n; i++) {
    if (m->r[i].state == QR_TODO) { todo++; if (m->r[i].next < due) due = m->r[i].next; }
    if (m->r[i].state == QR_BOUNCE) bounce++;
  }
  if (!todo && !bounce) { msg_done(m); return; }
  if (m->dirty && (todo || m->remote_done)) info_write(m);
  if (bounce) {
    if (m->bounce_next <= now) { if (report(m, J_BOUNCE)) { settle(m); return; } }
    else if (m->bounce_next < due) due = m->bounce_next;
  }
  if (todo && warn && !m->warned) {
    int64_t w = (m->queued + (int64_t)warn) * 1000;
    if (w <= now) { if (report(m, J_NOTICE)) { settle(m); return; } }
    else if (w < due) due = w;
  }
  if (m->jobs) return;            /* back here when the reports are done */
  m->due = due;
  hput(m);
}

/* ---- main ---- */
static void setup(void)
{
  static char const *const sub[] = { QDIR_TMP, QDIR_TODO, QDIR_MESS, QDIR_INFO, QDIR_FREE };
  char path[4096];
  unsigned int i;
  int fd;
  sigset_t set;
  home = env_need("E2E_HOME");
  user_watch();                        /* HOME/recipients: read again only when it changes */
  env_need("E2E_DOMAIN");
  retry = env_uint("E2E_RETRY", 300, 1, 86400 * 30);
  warn = env_uint("E2E_WARN", 14400, 0, 86400 * 365);
  lifetime = env_uint("E2E_LIFETIME", 604800, 0, 86400 * 365);
  lconc = env_uint("E2E_LOCALCONCURRENCY", 10, 1, LPOOL_MAX);
  rconc = env_uint("E2E_CONCURRENCY", 10, 1, 1000);
  dconc = env_uint("E2E_DOMAINCONCURRENCY", 2, 1, 1000);
  if (snprintf(qdir, sizeof qdir, "%s/queue", home) >= (int)sizeof qdir) strerr_dief1x(E2E_PERM, "E2E_HOME is too long");
  if (mkdir(qdir, 0700) < 0 && errno != EEXIST) strerr_diefu2sys(E2E_TEMP, "create ", qdir);
  for (i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/%s", qdir, sub[i]);
    if (mkdir(path, 0700) < 0 && errno != EEXIST) strerr_diefu2sys(E2E_TEMP, "create ", path);
  }
  if (fsync_dir(qdir) < 0) strerr_diefu2sys(E2E_TEMP, "sync ", qdir);
  snprintf(path, sizeof path, "%s/lock", qdir);
  fd = openat(AT_FDCWD, path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) strerr_diefu2sys(E2E_TEMP, "open ", path);
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) strerr_dief3x(E2E_TEMP, "another e2e-runner holds ", path, ": exiting");
    strerr_diefu2sys(E2E_TEMP, "lock ", path);
  }
  snprintf(path, sizeof path, "%s/" QTRIGGER, qdir);
  if (mkfifo(path, 0600) < 0 && errno != EEXIST) strerr_diefu2sys(E2E_TEMP, "create ", path);
  trigfd = openat(AT_FDCWD, path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (trigfd < 0) strerr_diefu2sys(E2E_TEMP, "open ", path);
  sigfd = selfpipe_init();
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD); sigaddset(&set, SIGTERM); sigaddset(&set, SIGINT); sigaddset(&set, SIGHUP);
  if (sigfd < 0 || selfpipe_trapset(&set) < 0) strerr_diefu1sys(E2E_TEMP, "set up signals");
  signal(SIGPIPE, SIG_IGN);
  srandom((unsigned int)(getpid() ^ wall_ms()));
}

int main(void)
{
  struct pollfd pf[2 + 2048 + LPOOL_MAX];
  job *jp[2048];
  pid_t wp[LPOOL_MAX];
  setup();
  scan(QDIR_MESS, msg_load);
  qclean(qdir, TMPAGE);
  take_new();
  log1("started");
  for (;;) {
    int64_t now = wall_ms(), tmo = -1;
    unsigned int np = 2, nj, i, busy = 0;
    job *j;
    int r;
    while (!stopping && sched.n && sched.v[0]->due <= now) { msg *m = sched.v[0]; hdel(m); attempt(m, now); }
    dispatch();
    for (i = 0; i < pool.n; i++) busy += pool.w[i].nj;
    if (stopping && !running && !busy) break;
    if (stopping) {
      tmo = stop_deadline - now;
      if (tmo <= 0) {
        log1("warning: children still running at the end of the wait: stopping them");
        for (j = running; j; j = j->next) kill(j->pid, SIGTERM);
        for (i = 0; i < pool.n; i++) if (pool.w[i].nj) kill(pool.w[i].pid, SIGTERM);
        break;
      }
    }
    else if (sched.n) tmo = sched.v[0]->due - now;
    if (nparked) {
      int64_t left = stopping ? 0 : parked_at + PARKMS - now;
      if (left <= 0) promote();
      else if (tmo < 0 || left < tmo) tmo = left;
    }
    {   /* an idle worker is ended after LIDLE */
      int64_t left = lpool_expire(&pool, now, LIDLE, stopping);
      if (left >= 0 && (tmo < 0 || left < tmo)) tmo = left;
    }
    pf[0].fd = sigfd; pf[0].events = POLLIN;
    pf[1].fd = trigfd; pf[1].events = POLLIN;
    for (j = running; j && np < 2 + 2048; j = j->next)
      if (j->fd >= 0) { jp[np - 2] = j; pf[np].fd = j->fd; pf[np++].events = POLLIN; }
    nj = np;
    for (i = 0; i < pool.n; i++)
      if (pool.w[i].fd >= 0) { wp[np - nj] = pool.w[i].pid; pf[np].fd = pool.w[i].fd; pf[np++].events = POLLIN; }
    r = poll(pf, np, tmo > 86400000 ? 86400000 : (int)tmo);
    if (r < 0) { if (errno == EINTR) continue; strerr_diefu1sys(E2E_TEMP, "poll"); }
    for (i = 2; i < nj; i++) if (pf[i].revents) drain(jp[i - 2]);
    for (i = nj; i < np; i++)
      if (pf[i].revents) {
        lworker *w = lpool_of(&pool, wp[i - nj]);
        if (w && w->fd >= 0) worker_read(w);
      }
    if (pf[0].revents) {
      int sig;
      while ((sig = selfpipe_read()) > 0) {
        if (sig == SIGCHLD) reap();
        else if (sig == SIGHUP) take_new();
        else if (!stopping) { stopping = 1; stop_deadline = wall_ms() + STOPWAIT; log1("stopping"); }
      }
      if (sig < 0) strerr_diefu1sys(E2E_TEMP, "read signals");
    }
    if (pf[1].revents) {
      char buf[512];
      while (read(trigfd, buf, sizeof buf) > 0) ;
      take_new();
    }
  }
  if (nparked) promote();
  log1("stopped");
  return 0;
}
