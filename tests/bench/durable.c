/* durable DIR: the floor of a qmail-like design, for the benchmarks
 * (tests/bench). Run by tcpserver once per connection (fork + exec), it
 * speaks just enough SMTP on fds 0/1: every command gets 250 (AUTH 235,
 * DATA 354, QUIT 221); after DATA it reads up to the final dot, writes the
 * message to DIR/<unique>, fsyncs the file and then DIR, and only then
 * answers 250. No checks, no envelope, one file per message. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
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

int main(int argc, char **argv)
{
  char l[1024], name[4096];
  int dfd, seq = 0;
  if (argc != 2) return 100;
  dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
  if (dfd < 0) return 111;
  say("220 durable ESMTP\r\n");
  while (getline1(l, sizeof l) >= 0) {
    if (!strncasecmp(l, "DATA", 4)) {
      size_t m = 0;
      int n, fd;
      struct timeval tv;
      say("354 go ahead\r\n");
      while ((n = getline1(l, sizeof l)) >= 0) {
        if (!strcmp(l, ".\r\n")) break;
        if (m + (size_t)n < sizeof msg) { memcpy(msg + m, l, (size_t)n); m += (size_t)n; }
      }
      if (n < 0) return 111;
      gettimeofday(&tv, 0);
      snprintf(name, sizeof name, "%ld.M%ldP%dQ%d", (long)tv.tv_sec, (long)tv.tv_usec, (int)getpid(), ++seq);
      fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
      if (fd < 0 || write(fd, msg, m) != (ssize_t)m || fsync(fd) < 0 || close(fd) < 0 || fsync(dfd) < 0) {
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
