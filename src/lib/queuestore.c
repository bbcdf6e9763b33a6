/* The runner's view of the queue on disk (docs/queue.md): loading a
 * message with its state, saving and removing it, the start-up clean-up;
 * its schedule (a min-heap by due time); and starting a child with given
 * fds and a clean signal mask. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
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
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  for (;;) {
    ssize_t k = read(fd, head + n, sizeof head - n);
    if (k < 0) { if (errno == EINTR) continue; close(fd); return -1; }
    if (!k || (n += (size_t)k) == sizeof head) break;
  }
  close(fd);
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

int qmsg_remove(char const *qdir, qmsg const *m)
{
  char path[4096];
  if (qpath(path, qdir, QDIR_MESS, m->id) < 0) return -1;
  if (unlink(path) < 0 && errno != ENOENT) return -1;
  if (!m->has_info) return 0;
  /* the message must not come back without its state */
  if (qpath(path, qdir, QDIR_MESS, 0) < 0 || fsync_dir(path) < 0) return -1;
  if (qpath(path, qdir, QDIR_INFO, m->id) < 0) return -1;
  return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int qdir_each(char const *qdir, char const *sub, void (*f)(char const *id))
{
  char path[4096];
  DIR *d;
  struct dirent *de;
  int e;
  if (qpath(path, qdir, sub, 0) < 0 || !(d = opendir(path))) return -1;
  while ((errno = 0, de = readdir(d)))
    if (qid_valid(de->d_name)) f(de->d_name);
  e = errno;
  closedir(d);
  errno = e;
  return e ? -1 : 0;
}

void qclean(char const *qdir, int64_t tmpage)
{
  static char const *const sub[] = { QDIR_INFO, QDIR_TMP };
  char path[4096];
  struct stat st;
  unsigned int i;
  int64_t now = (int64_t)time(0);
  for (i = 0; i < 2; i++) {
    DIR *d;
    struct dirent *de;
    if (qpath(path, qdir, sub[i], 0) < 0 || !(d = opendir(path))) continue;
    while ((de = readdir(d))) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      if (!i && qid_valid(de->d_name)) {   /* info/ID without mess/ID */
        if (qpath(path, qdir, QDIR_MESS, de->d_name) < 0 || stat(path, &st) == 0 || errno != ENOENT) continue;
      }
      if (qpath(path, qdir, sub[i], de->d_name) < 0 || lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) continue;
      if (i && now - st.st_mtime < tmpage) continue;
      unlink(path);
    }
    closedir(d);
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
int qspawn(pid_t *pid, char const *const *argv, char const *const *envp, int fd0, int fdn, int n)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t set;
  int r;
  posix_spawn_file_actions_init(&fa);
  if (fd0 >= 0) posix_spawn_file_actions_adddup2(&fa, fd0, 0);
  if (fdn >= 0) posix_spawn_file_actions_adddup2(&fa, fdn, n);
  posix_spawnattr_init(&at);
  sigemptyset(&set);
  posix_spawnattr_setsigmask(&at, &set);
  sigaddset(&set, SIGCHLD); sigaddset(&set, SIGTERM); sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP); sigaddset(&set, SIGPIPE);
  posix_spawnattr_setsigdefault(&at, &set);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  r = posix_spawnp(pid, argv[0], &fa, &at, (char *const *)argv, (char *const *)envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return r;
}
