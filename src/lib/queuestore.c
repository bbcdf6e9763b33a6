/* The runner's view of the queue on disk (docs/queue.md): loading a
 * message with its state, saving and removing it, the start-up clean-up;
 * its schedule (a min-heap by due time); and starting a child with given
 * fds and a clean signal mask, that dies with the runner. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "e2e.h"

#define QHEAD 32768   /* an envelope is shorter */

static int qpath(char *out, char const *qdir, char const *sub, char const *id)
{
  if (snprintf(out, 4096, "%s/%s%s%s", qdir, sub, id ? "/" : "", id ? id : "") >= 4096) {
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

void qmsg_free(qmsg *m)
{
  unsigned int i;
  for (i = 0; i < m->n; i++) free(m->r[i].err);
  free(m->r); free(m->env); free(m);
}

int qmsg_load(char const *qdir, char const *id, qmsg **out)
{
  char path[4096], head[QHEAD], *info;
  envelope e;
  size_t n = 0, il;
  unsigned int i;
  qmsg *m;
  int fd, r = 1;
  if (qpath(path, qdir, QDIR_MESS, id) < 0) return -1;
  fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  for (;;) {
    ssize_t k = read(fd, head + n, sizeof head - n);
    if (k < 0) { if (errno == EINTR) continue; close(fd); return -1; }
    if (!k || (n += (size_t)k) == sizeof head) break;
  }
  close(fd);
  if (!n) return 0;   /* emptied: finished, caught on its way to free/ */
  if (!(n = envelope_parse(&e, head, n))) return -2;
  if (!(m = calloc(1, sizeof *m))) return -1;
  if (!(m->env = malloc(n)) || !(m->r = calloc(e.n, sizeof *m->r))) { qmsg_free(m); return -1; }
  memcpy(m->env, head, n);
  strcpy(m->id, id);
  m->elen = n; m->n = e.n; m->hidx = -1;
  m->queued = qid_time(id);
  if (!m->queued) m->queued = (int64_t)time(0);
  if (qpath(path, qdir, QDIR_INFO, id) < 0) { qmsg_free(m); return -1; }
  if (file_read(path, &info, &il, 1 << 20) == 0) {
    m->has_info = 1;
    if (!qinfo_parse(info, il, m->n, &m->queued, &m->warned, m->r)) r = 2;
    free(info);
    for (i = 0; i < m->n; i++) if (m->r[i].state == QR_DONE) m->remote_done = 1;
  }
  else if (errno != ENOENT) { qmsg_free(m); return -1; }
  *out = m;
  return r;
}

int qmsg_save(char const *qdir, qmsg *m)
{
  char path[4096], *data;
  size_t len;
  int r;
  if (qpath(path, qdir, QDIR_INFO, m->id) < 0) return -1;
  if (!(len = qinfo_fmt(&data, m->queued, m->warned, m->r, m->n))) return -1;
  r = file_replace(path, data, len, 0600);
  free(data);
  if (r < 0) return -1;
  m->has_info = 1;
  m->dirty = 0;
  return 0;
}

/* A finished mess/ID goes to an empty free/N (looked for from
 * the one after the slot filled last) for
 * e2e-queue to fill again (never over another; removed when they are all
 * taken or free/ is missing). It keeps its blocks when it is at most
 * QFREE_KEEP bytes long: e2e-queue writes over them and cuts the file to
 * its new length, so neither frees nor takes a block for a small message;
 * a longer one is emptied first (its disk space back at once; a crash
 * before the rename leaves an empty mess/ID, which qmsg_load passes over
 * and qclean removes). The name mess/ID must be gone on disk before the file can hold
 * another message: without a journal nothing orders the two directories'
 * writes, and a mess/ID that came back after a power cut would name the
 * new message; so must its old name todo/ID (the runner links todo/ID as
 * mess/ID, then removes todo/ID). So it waits as free/.ID (qmsg_park)
 * until mess/ and todo/ are synced (qfree_promote), which the runner does
 * for several at once. */
int qmsg_park(char const *qdir, char const *id)
{
  char path[4096], stage[4096];
  struct stat st;
  if (qpath(path, qdir, QDIR_MESS, id) < 0 || snprintf(stage, sizeof stage, "%s/" QDIR_FREE "/.%s", qdir, id) >= (int)sizeof stage)
    return -1;
  if (stat(path, &st) < 0 || (st.st_size > QFREE_KEEP && truncate(path, 0) < 0)) return errno == ENOENT ? 0 : -1;
  if (!rename(path, stage)) return 1;
  return unlink(path) < 0 && errno != ENOENT ? -1 : 0;   /* no free/: removed */
}

int qfree_promote(char const *qdir, char const (*ids)[QID_MAX + 1], unsigned int n)
{
  static unsigned int cursor;   /* after the slot filled last: likely empty */
  char path[4096], stage[4096], to[4096];
  unsigned int i, full = 0;
  if (qpath(path, qdir, QDIR_MESS, 0) < 0 || fsync_dir(path) < 0) return -1;
  if (qpath(path, qdir, QDIR_TODO, 0) < 0 || fsync_dir(path) < 0) return -1;   /* its todo/ID too */
  for (i = 0; i < n; i++) {
    unsigned int t;
    int placed = 0;
    snprintf(stage, sizeof stage, "%s/" QDIR_FREE "/.%s", qdir, ids[i]);
    for (t = 0; t < QFREE_SLOTS && !full && !placed; t++) {
      unsigned int k = (cursor + t) % QFREE_SLOTS;
      snprintf(to, sizeof to, "%s/" QDIR_FREE "/%u", qdir, k);
      if (!rename_noreplace(stage, to)) { placed = 1; cursor = k + 1; }
      else if (errno != EEXIST) break;
    }
    if (!placed) { full = 1; unlink(stage); }   /* every slot taken (or free/ unusable): the rest go too */
  }
  return 0;
}

/* mess/ID out of the way (synced), then its state */
int qmsg_remove(char const *qdir, qmsg const *m)
{
  char path[4096];
  int r = qmsg_park(qdir, m->id);
  if (r < 0) return -1;
  if (r) { if (qfree_promote(qdir, &m->id, 1) < 0) return -1; }
  else if (m->has_info && (qpath(path, qdir, QDIR_MESS, 0) < 0 || fsync_dir(path) < 0)) return -1;
  if (!m->has_info) return 0;
  if (qpath(path, qdir, QDIR_INFO, m->id) < 0) return -1;
  return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int qdir_each(char const *qdir, char const *sub, void (*f)(char const *id))
{
  char path[4096];
  char const *de;
  dirents d;
  if (qpath(path, qdir, sub, 0) < 0 || dirents_open(&d, path) < 0) return -1;
  while ((de = dirents_next(&d)))
    if (qid_valid(de)) f(de);
  dirents_close(&d);
  return errno ? -1 : 0;
}

void qclean(char const *qdir, int64_t tmpage)
{
  static char const *const sub[] = { QDIR_MESS, QDIR_INFO, QDIR_TMP, QDIR_FREE };
  char path[4096];
  struct stat st;
  unsigned int i;
  int64_t now = (int64_t)time(0);
  for (i = 0; i < 4; i++) {
    dirents d;
    char const *de;
    if (qpath(path, qdir, sub[i], 0) < 0 || dirents_open(&d, path) < 0) continue;
    while ((de = dirents_next(&d))) {
      if (!strcmp(de, ".") || !strcmp(de, "..")) continue;
      if (i == 1 && qid_valid(de)) {   /* info/ID without mess/ID */
        if (qpath(path, qdir, QDIR_MESS, de) < 0 || stat(path, &st) == 0 || errno != ENOENT) continue;
      }
      if (qpath(path, qdir, sub[i], de) < 0 || lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) continue;
      if (!i && st.st_size) continue;   /* mess/: only an emptied one (a long one, recycled) */
      /* free/: a free/.ID left waiting, a free/N with a second name (a
       * power cut after e2e-queue moved it into todo/, before the old
       * name's removal was on disk) */
      if (i == 3 && de[0] != '.' && st.st_nlink < 2) continue;
      if (i == 2 && now - st.st_mtime < tmpage) continue;
      unlink(path);
    }
    dirents_close(&d);
  }
}

/* ---- the schedule ---- */
static void hswap(qheap *h, size_t a, size_t b)
{
  qmsg *t = h->v[a]; h->v[a] = h->v[b]; h->v[b] = t;
  h->v[a]->hidx = (int)a; h->v[b]->hidx = (int)b;
}

static void hfix(qheap *h, size_t i)
{
  while (i && h->v[(i - 1) / 2]->due > h->v[i]->due) { hswap(h, i, (i - 1) / 2); i = (i - 1) / 2; }
  for (;;) {
    size_t l = 2 * i + 1, s = i;
    if (l < h->n && h->v[l]->due < h->v[s]->due) s = l;
    if (l + 1 < h->n && h->v[l + 1]->due < h->v[s]->due) s = l + 1;
    if (s == i) return;
    hswap(h, i, s); i = s;
  }
}

void qheap_del(qheap *h, qmsg *m)
{
  size_t i = (size_t)m->hidx;
  if (m->hidx < 0) return;
  m->hidx = -1;
  if (i == --h->n) return;
  h->v[i] = h->v[h->n]; h->v[i]->hidx = (int)i;
  hfix(h, i);
}

int qheap_put(qheap *h, qmsg *m)
{
  qheap_del(h, m);
  if (h->n == h->a) {
    size_t a = h->a ? 2 * h->a : 1024;
    qmsg **v = realloc(h->v, a * sizeof *v);
    if (!v) return -1;
    h->v = v; h->a = a;
  }
  h->v[h->n] = m; m->hidx = (int)h->n++;
  hfix(h, h->n - 1);
  return 0;
}

/* ---- children ---- */
/* The child dies with the runner (PR_SET_PDEATHSIG): an orphan would go
 * on with a delivery that the next runner repeats (a second copy at a
 * remote site). An exec failure comes back as an errno on a pipe. */
int qspawn(pid_t *pid, char const *const *argv, char const *const *envp, int fd0, int fdn, int n)
{
  static int const sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE };
  pid_t parent = getpid(), p;
  int ep[2], err = 0;
  ssize_t r;
  if (pipe2(ep, O_CLOEXEC) < 0) return errno;
  p = fork();
  if (p < 0) { err = errno; close(ep[0]); close(ep[1]); return err; }
  if (!p) {
    sigset_t none;
    unsigned int i;
    for (i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) err = ESRCH;
    else if ((fd0 >= 0 && dup2(fd0, 0) < 0) || (fdn >= 0 && dup2(fdn, n) < 0)) err = errno;
    else {
      sigprocmask(SIG_SETMASK, &none, 0);
      execvpe(argv[0], (char *const *)argv, (char *const *)envp);
      err = errno;
    }
    (void)!write(ep[1], &err, sizeof err);
    _exit(127);
  }
  close(ep[1]);
  while ((r = read(ep[0], &err, sizeof err)) < 0 && errno == EINTR) ;
  close(ep[0]);
  if (r == (ssize_t)sizeof err) {   /* not started: reap it here */
    while (waitpid(p, 0, 0) < 0 && errno == EINTR) ;
    return err;
  }
  *pid = p;
  return 0;
}
