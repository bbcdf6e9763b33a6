/* durable DIR: the floor of a qmail-like design, for the benchmarks
 * (tests/bench). Run by tcpserver once per connection (fork + exec), it
 * speaks just enough SMTP on fds 0/1: every command gets 250 (AUTH 235,
 * DATA 354, QUIT 221); after DATA it reads up to the final dot, writes the
 * message to DIR/<unique>, fsyncs the file and then DIR, and only then
 * answers 250. No checks, no envelope, one file per message.
 * durable -x DIR: the same, but the message is written by an injector
 * process started for it, as qmail-smtpd starts qmail-queue: this program
 * again, spawned as "durable -i DIR" with the message on a pipe; 250 once
 * it has exited 0. The floor of e2e's shape: a process per connection and
 * one per message.
 * durable -X DIR: the same with two programs a message, as e2e's local
 * submission runs e2e-scrub, which execs e2e-queue: the injector is
 * "durable -j DIR", which reads the message from the pipe into a memory
 * file and execs "durable -i DIR" with it on fd 0.
 * durable -d DIR DONE MAILDIR: the delivery beside -x, one long-lived
 * process, as e2e's runner with its e2e-local: woken by inotify when a
 * file in DIR is closed after writing, it copies the message into
 * MAILDIR/tmp, fsyncs it, renames it into MAILDIR/new, fsyncs new/ once
 * for all the files of one wake-up, and renames DIR/NAME to DONE/NAME (no
 * inode freed, as e2e reuses its queue files). No envelope, no state. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char in[65536];
static int ilen, ipos;
static char msg[1 << 20];

static int getline1(char *l, int max)
{
  int n = 0;
  for (;;) {
    if (ipos == ilen) {
      ssize_t r = read(0, in, sizeof in);
      if (r <= 0) return -1;
      ilen = (int)r; ipos = 0;
    }
    char c = in[ipos++];
    if (n < max - 1) l[n++] = c;
    if (c == '\n') break;
  }
  l[n] = 0;
  return n;
}

static void say(char const *s) { (void)!write(1, s, strlen(s)); }

extern char **environ;

/* msg[0..m) into DIR/<unique>, the file and DIR fsynced: 0, or -1 */
static int store(int dfd, size_t m, int seq)
{
  char name[256];
  struct timeval tv;
  int fd;
  gettimeofday(&tv, 0);
  snprintf(name, sizeof name, "%ld.M%ldP%dQ%d", (long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(), seq);
  fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || write(fd, msg, m) != (ssize_t)m || fsync(fd) < 0 || close(fd) < 0 || fsync(dfd) < 0) return -1;
  return 0;
}

/* the injector for msg[0..m): durable -i DIR, the message on its fd 0 */
static int inject(char *self, char *how, char *dir, size_t m)
{
  char *args[] = { self, how, dir, 0 };
  posix_spawn_file_actions_t fa;
  int p[2], st, r;
  pid_t pid;
  if (pipe(p) < 0) return -1;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[0], 0);
  posix_spawn_file_actions_addclose(&fa, p[1]);
  r = posix_spawn(&pid, self, &fa, 0, args, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[0]);
  if (r) { close(p[1]); return -1; }
  r = write(p[1], msg, m) == (ssize_t)m ? 0 : -1;
  close(p[1]);
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) r = -1;
  return r;
}

/* Delivers every file named in one read of the inotify descriptor. */
static int deliver(int ifd, int qfd, int dfd, int tfd, int nfd)
{
  char ev[65536];
  ssize_t n = read(ifd, ev, sizeof ev);
  int moved = 0;
  if (n <= 0) return -1;
  for (char *p = ev; p < ev + n;) {
    struct inotify_event *e = (struct inotify_event *)p;
    p += sizeof *e + e->len;
    if (!e->len) continue;
    int in = openat(qfd, e->name, O_RDONLY), out;
    ssize_t m, r = 0;
    if (in < 0) continue;
    for (m = 0; m < (ssize_t)sizeof msg && (r = read(in, msg + m, sizeof msg - (size_t)m)) > 0; m += r) ;
    close(in);
    if (r < 0) return -1;
    out = openat(tfd, e->name, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (out < 0 || write(out, msg, (size_t)m) != m || fsync(out) < 0 || close(out) < 0) return -1;
    if (renameat(tfd, e->name, nfd, e->name) < 0 || renameat(qfd, e->name, dfd, e->name) < 0) return -1;
    moved = 1;
  }
  return moved && fsync(nfd) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
  char l[1024], *dir;
  int dfd = -1, seq = 0, spawn = 0;
  if (argc == 3 && !strcmp(argv[1], "-i")) {   /* the injector */
    size_t m = 0;
    ssize_t r;
    while ((r = read(0, msg + m, sizeof msg - m)) > 0) m += (size_t)r;
    dfd = open(argv[2], O_RDONLY | O_DIRECTORY);
    return r < 0 || dfd < 0 || store(dfd, m, 1) < 0 ? 111 : 0;
  }
  if (argc == 3 && !strcmp(argv[1], "-j")) {   /* the first of two programs */
    char *args[] = { argv[0], "-i", argv[2], 0 };
    size_t m = 0;
    ssize_t r;
    int fd = memfd_create("durable", 0);
    while ((r = read(0, msg + m, sizeof msg - m)) > 0) m += (size_t)r;
    if (r < 0 || fd < 0 || write(fd, msg, m) != (ssize_t)m || lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, 0) < 0) return 111;
    close(fd);
    execv(argv[0], args);
    return 111;
  }
  if (argc == 5 && !strcmp(argv[1], "-d")) {   /* the delivery */
    char t[4096], nw[4096];
    int ifd = inotify_init1(IN_CLOEXEC), qfd = open(argv[2], O_RDONLY | O_DIRECTORY), tfd, nfd;
    int donefd = open(argv[3], O_RDONLY | O_DIRECTORY);
    snprintf(t, sizeof t, "%s/tmp", argv[4]);
    snprintf(nw, sizeof nw, "%s/new", argv[4]);
    tfd = open(t, O_RDONLY | O_DIRECTORY);
    nfd = open(nw, O_RDONLY | O_DIRECTORY);
    if (ifd < 0 || qfd < 0 || donefd < 0 || tfd < 0 || nfd < 0 || inotify_add_watch(ifd, argv[2], IN_CLOSE_WRITE) < 0) return 111;
    while (!deliver(ifd, qfd, donefd, tfd, nfd)) ;
    return 111;
  }
  if (argc == 3 && !strcmp(argv[1], "-x")) spawn = 1;
  else if (argc == 3 && !strcmp(argv[1], "-X")) spawn = 2;
  else if (argc != 2) return 100;
  dir = argv[argc - 1];
  if (!spawn && (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0) return 111;
  say("220 durable ESMTP\r\n");
  while (getline1(l, sizeof l) >= 0) {
    if (!strncasecmp(l, "DATA", 4)) {
      size_t m = 0;
      int n;
      say("354 go ahead\r\n");
      while ((n = getline1(l, sizeof l)) >= 0) {
        if (!strcmp(l, ".\r\n")) break;
        if (m + (size_t)n < sizeof msg) { memcpy(msg + m, l, (size_t)n); m += (size_t)n; }
      }
      if (n < 0) return 111;
      if (spawn ? inject(argv[0], spawn == 2 ? "-j" : "-i", dir, m) < 0 : store(dfd, m, ++seq) < 0) {
        say("451 write failed\r\n");
        continue;
      }
      say("250 ok\r\n");
    } else if (!strncasecmp(l, "QUIT", 4)) {
      say("221 bye\r\n");
      return 0;
    } else if (!strncasecmp(l, "AUTH", 4)) say("235 ok\r\n");
    else say("250 ok\r\n");
  }
  return 0;
}
