/* Unit tests of the mail-side helper library (src/lib/e2e.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <dirent.h>
#include <unistd.h>
#include "e2e.h"
#include "i2p.h"
#include "tap.h"

char const *PROG = "unit-lib";

static int addr_is(char const *in, int want, char const *norm)
{
  char out[ADDR_MAX];
  int e = addr_check(in, strlen(in), out);
  if (e != want) return 0;
  return e || !norm || !strcmp(out, norm);
}

static void test_addr(void)
{
  char big[400], loc[ADDR_LOCALMAX + 1];
  ok(addr_is("bob@Bob.I2P", 0, "bob@bob.i2p"), "address normalised: domain lower-cased");
  ok(addr_is("Bob.Smith+x@a.b32.i2p", 0, "Bob.Smith+x@a.b32.i2p"), "dots and plus in local part");
  ok(addr_is("bob", ADDR_ESYNTAX, 0), "no @");
  ok(addr_is("@a.i2p:bob@b.i2p", ADDR_EROUTE, 0), "source route");
  ok(addr_is("bob%c.i2p@b.i2p", ADDR_EROUTE, 0), "percent hack");
  ok(addr_is("c.i2p!bob@b.i2p", ADDR_EROUTE, 0), "bang path");
  ok(addr_is("\"a@b\"@c.i2p", ADDR_EROUTE, 0), "quoted local part with @");
  ok(addr_is("bob@[127.0.0.1]", ADDR_EROUTE, 0), "IP literal");
  ok(addr_is("bo b@a.i2p", ADDR_ESYNTAX, 0), "space");
  ok(addr_is("bo\tb@a.i2p", ADDR_ESYNTAX, 0), "control character");
  ok(addr_is("b\x80@a.i2p", ADDR_ESYNTAX, 0), "8-bit byte");
  ok(addr_is(".bob@a.i2p", ADDR_ESYNTAX, 0) && addr_is("bob.@a.i2p", ADDR_ESYNTAX, 0)
     && addr_is("b..ob@a.i2p", ADDR_ESYNTAX, 0), "misplaced dots in the local part");
  ok(addr_is("bob@i2p", ADDR_EDOMAIN, 0), "single-label domain");
  ok(addr_is("bob@-a.i2p", ADDR_EDOMAIN, 0) && addr_is("bob@a-.i2p", ADDR_EDOMAIN, 0)
     && addr_is("bob@a..i2p", ADDR_EDOMAIN, 0) && addr_is("bob@a.i2p.", ADDR_EDOMAIN, 0), "malformed domains");
  ok(addr_is("bob@a/b.i2p", ADDR_EDOMAIN, 0) && addr_is("../x@a.i2p", ADDR_ESYNTAX, 0), "path characters");
  memset(big, 'a', 65); strcpy(big + 65, "@a.i2p");
  ok(addr_is(big, ADDR_ELOCAL, 0), "local part of 65 octets");
  memset(big, 'a', 64); strcpy(big + 64, "@a.i2p");
  ok(addr_is(big, 0, 0), "local part of 64 octets");
  strcpy(big, "b@");
  for (int i = 0; i < 5; i++) strcat(big, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
  strcat(big, "i2p");
  ok(addr_is(big, ADDR_EDOMAIN, 0), "domain over 255 octets");
  ok(!strcmp(addr_domain("a@b.i2p"), "b.i2p"), "addr_domain");
  addr_local("PostMaster@x.i2p", loc);
  ok(!strcmp(loc, "postmaster"), "addr_local lower-cases");
  ok(domain_is_i2p("x.i2p") && !domain_is_i2p("x.com") && !domain_is_i2p(".i2p"), "domain_is_i2p");
}

static void test_envelope(void)
{
  envelope e, f;
  char buf[512];
  size_t n;
  e.sender = "a@x.i2p"; e.rcpt[0] = "b@y.i2p"; e.rcpt[1] = "c@z.i2p"; e.n = 2;
  n = envelope_fmt(&e, buf, sizeof buf);
  ok(n == 1 + 8 + 1 + 8 + 1 + 8 + 1 && !memcmp(buf, "Fa@x.i2p\0Tb@y.i2p\0Tc@z.i2p\0\0", n), "envelope_fmt");
  ok(envelope_parse(&f, buf, n) == n && f.n == 2 && !strcmp(f.sender, "a@x.i2p")
     && !strcmp(f.rcpt[1], "c@z.i2p"), "envelope_parse round trip");
  ok(envelope_parse(&f, "F\0Tb@y.i2p\0\0", 12) == 12 && !*f.sender, "null sender");
  ok(!envelope_parse(&f, "F\0\0", 3), "no recipients is malformed");
  ok(!envelope_parse(&f, "Fa\0Tb\0", 6), "missing final NUL");
  ok(!envelope_parse(&f, "Fa\0T\0\0", 6), "empty recipient");
  ok(!envelope_parse(&f, "Xa\0Tb\0\0", 7), "bad tag");
  ok(!envelope_fmt(&e, buf, 10), "envelope_fmt refuses a short buffer");
}

static void test_lines(void)
{
  int sv[2];
  rbuf b;
  char out[16];
  size_t len;
  int r;
  int64_t t0;
  ok(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
  rbuf_init(&b, sv[0], 0);
  write_all(sv[1], "abc\r\nthis line is too long\nx\n", 30);
  r = line_get(&b, out, sizeof out, &len, 0);
  ok(r == LINE_OK && len == 5 && !memcmp(out, "abc\r\n", 5), "line_get returns a line with its end");
  r = line_get(&b, out, sizeof out, &len, 0);
  ok(r == LINE_LONG, "overlong line reported");
  r = line_get(&b, out, sizeof out, &len, 0);
  ok(r == LINE_OK && len == 2 && out[0] == 'x', "in sync after an overlong line");
  t0 = now_ms();
  r = line_get(&b, out, sizeof out, &len, now_ms() + 200);
  ok(r == LINE_ERR && errno == ETIMEDOUT && now_ms() - t0 >= 190, "deadline expires");
  write_all(sv[1], "par", 3);
  r = line_get(&b, out, sizeof out, &len, now_ms() + 100);
  ok(r == LINE_ERR && errno == ETIMEDOUT, "a partial line without its end times out");
  close(sv[1]);
  r = line_get(&b, out, sizeof out, &len, now_ms() + 1000);
  ok(r == LINE_EOF, "EOF");
  close(sv[0]);
}

static void test_misc(void)
{
  char s[16];
  uint64_t v;
  ok(!strcmp(safe(s, sizeof s, "a b\r\n\x01z", 7), "a?b???z"), "safe() masks bytes outside 33..126");
  ok(strlen(safe(s, 4, "abcdef", 6)) == 3, "safe() truncates");
  ok(scan_u64("300", 1000, &v) && v == 300, "scan_u64");
  ok(!scan_u64("", 10, &v) && !scan_u64("1x", 10, &v) && !scan_u64("11", 10, &v)
     && !scan_u64("-1", 10, &v) && !scan_u64("5", 3, &v) && !scan_u64("99999999999999999999999", UINT64_MAX, &v), "scan_u64 rejects junk and overflow");
  ok(exit_class(0) == 0 && exit_class(100 << 8) == 100 && exit_class(111 << 8) == 111
     && exit_class(1 << 8) == 111 && exit_class(9) == 111, "exit_class");
  {
    unsigned char d[16];
    size_t w;
    ok(!std_b64_decode(d, sizeof d, &w, "aGVsbG8=", 8) && w == 5 && !memcmp(d, "hello", 5), "std_b64_decode");
    ok(!std_b64_decode(d, sizeof d, &w, "+/+/", 4) && w == 3 && d[0] == 0xfb && d[1] == 0xff && d[2] == 0xbf,
       "std_b64_decode: + and /");
    ok(std_b64_decode(d, sizeof d, &w, "-~-~", 4) != 0, "std_b64_decode refuses I2P's - and ~");
  }
  ok(user_valid("bob") && user_valid("a.b-c_d1") && !user_valid("") && !user_valid(".x")
     && !user_valid("-x") && !user_valid("Bob") && !user_valid("a/b") && !user_valid("a:b"), "user_valid");
}

static int count(char const *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  if (!d) return -1;
  while ((e = readdir(d))) if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void test_files(char const *tmp)
{
  char md[512], path[600], *data;
  size_t len;
  int r;
  snprintf(md, sizeof md, "%s/md", tmp);
  ok(!maildir_make(md) && !maildir_make(md), "maildir_make, twice");
  r = maildir_put(md, "123.M1P1R0", "H: 1\n", 5, -1, "body\n.\nend\n", 11, 1);
  snprintf(path, sizeof path, "%s/new/123.M1P1R0,S=16,W=20", md);
  ok(r == 0 && access(path, F_OK) == 0, "maildir_put names S= and W= exactly");
  r = maildir_put(md, "123.M1P1R0", "H: 1\n", 5, -1, "body\n.\nend\n", 11, 0);
  ok(r == 1 && count(md) >= 0, "the same delivery again is a no-op");
  r = maildir_put(md, "124.M1P1R0", "", 0, -1, "x\n", 2, 0);
  snprintf(path, sizeof path, "%s/new/124.M1P1R0,S=2,W=3", md);
  ok(r == 0 && access(path, F_OK) == 0 && !unlink(path), "without the sync of new/ (left to the caller): delivered all the same");
  snprintf(md + strlen(md), 20, "/new");
  ok(count(md) == 1, "still one message in new/");
  md[strlen(md) - 4] = 0;
  {
    char from[700], to[700];
    snprintf(from, sizeof from, "%s/new/123.M1P1R0,S=16,W=20", md);
    snprintf(to, sizeof to, "%s/cur/123.M1P1R0,S=16,W=20:2,S", md);
    rename(from, to);
  }
  r = maildir_put(md, "123.M1P1R0", "H: 1\n", 5, -1, "body\n.\nend\n", 11, 1);
  ok(r == 1, "no second delivery once the reader moved it to cur/");
  snprintf(path, sizeof path, "%s/tmp", md);
  ok(count(path) == 0, "tmp/ left empty");
  snprintf(path, sizeof path, "%s/f", tmp);
  ok(!file_replace(path, "one\n", 4, 0600) && !file_replace(path, "two\n", 4, 0600), "file_replace");
  ok(!file_read(path, &data, &len, 100) && len == 4 && !strcmp(data, "two\n"), "file_read terminates");
  free(data);
  ok(file_read(path, &data, &len, 3) < 0 && errno == EFBIG, "file_read bounds the size");
  { char b[5];
    ok(file_read_into(path, b, sizeof b, &len) == 1 && len == 4 && !memcmp(b, "two\n", 4), "file_read_into: a file shorter than the buffer");
    ok(file_read_into(path, b, 4, &len) == 0, "file_read_into: 0 for a file as long as the buffer");
    snprintf(path, sizeof path, "%s/none", tmp);
    ok(file_read_into(path, b, sizeof b, &len) < 0 && errno == ENOENT, "file_read_into: a missing file"); }
}

static void test_users(char const *tmp)
{
  char path[600], pm[USER_MAX + 1], hash[256];
  FILE *f;
  int64_t t0;
  setenv("E2E_AUTHFAIL_DELAY", "0", 1);
  snprintf(path, sizeof path, "%s/users", tmp);
  f = fopen(path, "w");
  /* "secret" hashed with SHA-512 crypt, and with md5crypt (legacy) */
  fputs("bad line\nBob:$6$x$y\nalice:$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\n"
        "weak:$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1\n", f);
  fclose(f);
  ok(user_hash(tmp, "alice", hash, sizeof hash) == 1 && !strncmp(hash, "$6$saltsalt$", 12), "user_hash finds a user");
  ok(user_hash(tmp, "bob", hash, sizeof hash) == 0 && user_hash(tmp, "Bob", hash, sizeof hash) == 0,
     "malformed names in users are ignored");
  setenv("E2E_CHECKPW", "bin/e2e-checkpw", 1);   /* make check runs from the top */
  ok(user_check(tmp, "alice", "secret") == 1, "right password (e2e-checkpw)");
  ok(user_check(tmp, "alice", "secreT") == 0 && user_check(tmp, "alice", "") == 0, "wrong password");
  ok(user_check(tmp, "nobody", "secret") == 0, "unknown user");
  ok(user_check(tmp, "weak", "secret") == 0, "a legacy hash (md5crypt) never matches, right password or not");
  setenv("E2E_AUTHFAIL_DELAY", "1", 1);
  t0 = now_ms();
  ok(user_check(tmp, "alice", "wrong") == 0 && now_ms() - t0 >= 1000, "a failure lasts E2E_AUTHFAIL_DELAY");
  t0 = now_ms();
  ok(user_check(tmp, "alice", "secret") == 1 && now_ms() - t0 < 1000, "a success does not wait");
  setenv("E2E_AUTHFAIL_DELAY", "0", 1);
  ok(user_exists(tmp, "alice") == 1 && user_exists(tmp, "dave") == 0 && user_exists(tmp, "Bob") == 0,
     "user_exists: without recipients, the names of users");
  unsetenv("E2E_POSTMASTER");
  ok(user_postmaster(tmp, pm) == 1 && !strcmp(pm, "alice"), "postmaster defaults to the first user");
  setenv("E2E_POSTMASTER", "carol", 1);
  ok(user_postmaster(tmp, pm) == 1 && !strcmp(pm, "carol"), "E2E_POSTMASTER names the postmaster");
  snprintf(path, sizeof path, "%s/recipients", tmp);
  f = fopen(path, "w"); fputs("carol\nalice\n", f); fclose(f);
  ok(user_exists(tmp, "carol") == 1 && user_exists(tmp, "alice") == 1 && user_exists(tmp, "weak") == 1
     && user_exists(tmp, "dave") == 0, "user_exists: recipients, then users for a name added by hand");
  unsetenv("E2E_POSTMASTER");
  ok(user_postmaster(tmp, pm) == 1 && !strcmp(pm, "carol"), "postmaster: the first of recipients");
  /* the text is read as it is: a NUL inside a name, an over-long name, a
   * last line without its newline */
  snprintf(path, sizeof path, "%s/users", tmp);
  f = fopen(path, "w");
  { static char const t[] = "eve\0x:$6$nul\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:$6$long\nlast:$6$end";
    fwrite(t, 1, sizeof t - 1, f); }
  fclose(f);
  ok(user_hash(tmp, "eve", hash, sizeof hash) == 0, "a name with a NUL in it matches nothing");
  ok(user_hash(tmp, "last", hash, sizeof hash) == 1 && !strcmp(hash, "$6$end"), "after a name over 64 characters, a last line without a newline: its hash whole");
  ok(user_hash(tmp, "last", hash, 4) == 1 && !strcmp(hash, "$6$"), "a hash cut to the room given");
  /* user_watch (the runner): the copy is used while the file is unchanged;
   * one too long for the built-in buffer (8 KiB) is kept in memory of its
   * own, and a change either way is seen */
  snprintf(path, sizeof path, "%s/recipients", tmp);
  user_watch();
  ok(user_exists(tmp, "carol") == 1 && user_exists(tmp, "zed") == 0, "user_watch: the first lookup reads recipients");
  f = fopen(path, "w");
  { int i; for (i = 0; i < 2000; i++) fprintf(f, "user%d\n", i); }
  fputs("zed\n", f); fclose(f);
  ok(user_exists(tmp, "zed") == 1 && user_exists(tmp, "user0") == 1 && user_exists(tmp, "user1999") == 1
     && user_exists(tmp, "carol") == 0, "user_watch: a rewritten recipients file over 8 KiB, read whole");
  f = fopen(path, "w"); fputs("carol\nalice\n", f); fclose(f);
  ok(user_exists(tmp, "carol") == 1 && user_exists(tmp, "zed") == 0, "user_watch: and back to a short one");
  /* user_keep (e2e-smtpd): recipients read once, later changes unseen;
   * last here, it lasts for the process */
  snprintf(path, sizeof path, "%s/recipients", tmp);
  user_keep();
  ok(user_exists(tmp, "carol") == 1 && user_exists(tmp, "frank") == 0, "user_keep: the first lookup reads recipients");
  f = fopen(path, "w"); fputs("frank\n", f); fclose(f);
  ok(user_exists(tmp, "carol") == 1 && user_exists(tmp, "frank") == 0 && user_exists(tmp, "alice") == 1,
     "user_keep: a rewritten recipients file is not read again");
  unlink(path);
  snprintf(path, sizeof path, "%s/domains", tmp);
  f = fopen(path, "w"); fputs("  other.i2p \nthird.i2p", f); fclose(f);
  setenv("E2E_DOMAIN", "mine.i2p", 1);
  ok(domain_local(tmp, "mine.i2p") == 1 && domain_local(tmp, "other.i2p") == 1
     && domain_local(tmp, "third.i2p") == 1, "local domains: E2E_DOMAIN and the domains file");
  ok(domain_local(tmp, "else.i2p") == 0 && domain_local(tmp, "her.i2p") == 0, "other domains are not local");
}

/* dir_move's reports, as "kind:name " in order */
static char moves[256];
static int same_name(char *out, size_t max, char const *name)
{
  return snprintf(out, max, "%s", name) < (int)max && strcmp(name, "skip");
}
static void note_move(int what, char const *name, void *ctx)
{
  size_t n = strlen(moves);
  (void)ctx;
  snprintf(moves + n, sizeof moves - n, "%d:%s ", what, name);
}

static int nmoved;
static void count_move(int what, char const *name, void *ctx)
{
  (void)name; (void)ctx;
  nmoved += what == DIR_MOVE_MOVED;
}

static int touch(char const *dir, char const *name, char const *text)
{
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return file_replace(p, text, strlen(text), 0600);
}

static void test_dir_move(char const *tmp)
{
  char a[512], b[512], p[600], q[600];
  snprintf(a, sizeof a, "%s/dm-a", tmp);
  snprintf(b, sizeof b, "%s/dm-b", tmp);
  mkdir(a, 0700);
  mkdir(b, 0700);
  touch(a, "new", "1");
  touch(a, "both", "2");
  touch(a, "clash", "3");
  touch(b, "clash", "other");
  touch(a, "skip", "4");
  touch(a, ".dot", "5");
  snprintf(p, sizeof p, "%s/both", a);
  snprintf(q, sizeof q, "%s/both", b);
  link(p, q);
  moves[0] = 0;
  ok(dir_move(a, b, same_name, note_move, 0) == 1, "dir_move: one moved");
  ok(strstr(moves, "1:new ") && strstr(moves, "2:both ") && strstr(moves, "3:clash ") && !strstr(moves, "skip")
     && !strstr(moves, ".dot"), "... reports MOVED, BOTH, CLASH (%s)", moves);
  snprintf(p, sizeof p, "%s/.dot", a);
  ok(count(a) == 2 && count(b) == 3 && access(p, F_OK) == 0, "... left in src: the clash, the skipped name, the dot file");
  snprintf(p, sizeof p, "%s/new", b);
  ok(access(p, F_OK) == 0, "... the moved one is in dst");
  snprintf(p, sizeof p, "%s/nothere", tmp);
  ok(dir_move(p, b, same_name, note_move, 0) < 0 && errno == ENOENT, "dir_move: a missing src is an error");
  {
    /* a link that fails (to another file system: EXDEV) is reported, the
     * entry stays where it was and nothing is unlinked */
    char x[64] = "/dev/shm/e2e-unit.XXXXXX";
    char want[32];
    int st = -1;
    snprintf(want, sizeof want, "%d:new ", DIR_MOVE_LINKFAIL);
    if (mkdtemp(x)) {
      moves[0] = 0;
      st = dir_move(b, x, same_name, note_move, 0);
      ok(st == 0 && strstr(moves, want) && count(b) == 3 && count(x) == 0,
         "dir_move: a failed link (EXDEV) reported as LINKFAIL, nothing moved (%s)", moves);
      rmdir(x);
    } else ok(0, "mkdtemp in /dev/shm: %s", strerror(errno));
  }
  {
    /* more names than dir_move's own buffer holds (4 KiB) and than one
     * read of the directory brings (8 KiB of entries): all moved, each
     * reported once */
    char c[512], d[512], nm[64];
    int i, st;
    snprintf(c, sizeof c, "%s/dm-c", tmp);
    snprintf(d, sizeof d, "%s/dm-d", tmp);
    mkdir(c, 0700);
    mkdir(d, 0700);
    for (i = 0; i < 600; i++) {
      snprintf(nm, sizeof nm, "m%04d.a-rather-long-name-%04d", i, i);
      touch(c, nm, "x");
    }
    nmoved = 0;
    st = dir_move(c, d, same_name, count_move, 0);
    ok(st == 600 && nmoved == 600 && count(c) == 0 && count(d) == 600,
       "dir_move: 600 names (past its 4 KiB buffer, several reads of the directory): %d moved, %d reported, %d left",
       st, nmoved, count(c));
  }
}

/* close_from, and its fallback where close_range is refused (a seccomp
 * filter in a child: ENOSYS, as from a kernel before 5.9) */
static int fds_left(int from)
{
  int fd, n = 0;
  for (fd = from; fd < from + 8; fd++) n += fcntl(fd, F_GETFD) >= 0;
  return n;
}

/* From here on, system call nr fails with err (in a child: for good). */
static int refuse_call(long nr, int err)
{
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)err),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof f / sizeof *f, f };
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -1 : 0;
}

static int close_from_in_child(int refuse)
{
  int st;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (!pid) {
    int fd;
    for (fd = 100; fd < 104; fd++) dup2(0, fd);
    dup2(0, 99);
    if (refuse && refuse_call(SYS_close_range, ENOSYS) < 0) _exit(3);
    if (refuse && syscall(SYS_close_range, 100U, ~0U, 0U) == 0) _exit(4);   /* the filter did not bite */
    close_from(100);
    _exit(fds_left(100) == 0 && fcntl(99, F_GETFD) >= 0 ? 0 : 1);
  }
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

/* rename_noreplace where renameat2 fails with err (a file system or a
 * kernel without RENAME_NOREPLACE): link and unlink, still never over an
 * existing name. 0 when it behaves. */
static int rename_fallback_in_child(char const *tmp, int err)
{
  int st;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (!pid) {
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/fb-a", tmp);
    snprintf(b, sizeof b, "%s/fb-b", tmp);
    unlink(a); unlink(b);
    touch(tmp, "fb-a", "a");
    touch(tmp, "fb-b", "b");
    if (refuse_call(SYS_renameat2, err) < 0) _exit(3);
    if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 1) == 0 || errno != err) _exit(4);   /* no bite */
    if (rename_noreplace(a, b) == 0 || errno != EEXIST || access(a, F_OK) < 0) _exit(5);
    unlink(b);
    if (rename_noreplace(a, b) < 0 || access(a, F_OK) == 0 || access(b, F_OK) < 0) _exit(6);
    _exit(0);
  }
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

static void test_libc(char const *tmp)
{
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/rn-a", tmp);
  snprintf(b, sizeof b, "%s/rn-b", tmp);
  touch(tmp, "rn-a", "a");
  touch(tmp, "rn-b", "b");
  ok(rename_noreplace(a, b) < 0 && errno == EEXIST, "rename_noreplace: EEXIST on an existing name");
  unlink(b);
  ok(rename_noreplace(a, b) == 0 && access(a, F_OK) < 0 && access(b, F_OK) == 0, "rename_noreplace: renames");
  ok(rename_fallback_in_child(tmp, EINVAL) == 0, "rename_noreplace without RENAME_NOREPLACE (EINVAL): link and unlink, EEXIST kept");
  ok(rename_fallback_in_child(tmp, ENOSYS) == 0, "rename_noreplace without renameat2 (ENOSYS): the same");
  ok(close_from_in_child(0) == 0, "close_from closes from fd up, not below");
  ok(close_from_in_child(1) == 0, "close_from where close_range is refused (ENOSYS): closed one by one");
#ifndef __GLIBC__
  {
    /* BearSSL's fortified objects call these; an overflow aborts, as with glibc */
    extern void *__memcpy_chk(void *, void const *, size_t, size_t);
    extern void *__memset_chk(void *, int, size_t, size_t);
    extern void *__memmove_chk(void *, void const *, size_t, size_t);
    /* called through volatile pointers: the compiler knows them as builtins
     * and would drop a call whose result is unused */
    void *(*volatile cpy)(void *, void const *, size_t, size_t) = __memcpy_chk;
    void *(*volatile set)(void *, int, size_t, size_t) = __memset_chk;
    void *(*volatile mov)(void *, void const *, size_t, size_t) = __memmove_chk;
    static char src[17] = "0123456789abcdef", dst[16];
    int st;
    pid_t pid;
    ok(cpy(dst, src, 16, sizeof dst) == dst && !memcmp(dst, src, 16), "__memcpy_chk copies within room");
    if (!(pid = fork())) { set(dst, 0, 17, 16); _exit(0); }
    ok(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "__memset_chk past room aborts");
    if (!(pid = fork())) { cpy(dst, src, 16, 8); _exit(0); }
    ok(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "__memcpy_chk past room aborts");
    ok(mov(dst, dst + 1, 15, 16) == dst, "__memmove_chk moves within room");
    if (!(pid = fork())) { mov(dst, src, 17, 16); _exit(0); }
    ok(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "__memmove_chk past room aborts");
  }
#endif
}

int main(void)
{
  char tmp[] = "/tmp/e2e-unit.XXXXXX", cmd[64];
  if (!mkdtemp(tmp)) return 111;
  test_addr();
  test_envelope();
  test_lines();
  test_misc();
  test_files(tmp);
  test_users(tmp);
  test_dir_move(tmp);
  test_libc(tmp);
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  if (system(cmd)) return 111;
  return done();
}
