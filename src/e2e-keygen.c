/* e2e-keygen: asks the SAM bridge for a new Ed25519 destination and
 * writes the mail home's key ($E2E_HOME/key, 0600, never replaced), the
 * file to publish ($E2E_HOME/i2pmail.key) and our b32 domain
 * ($E2E_HOME/b32); prints the b32 address.
 * e2e-keygen -p: writes only i2pmail.key and b32 again, from the key. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"
#include "i2p.h"
#include "sam.h"

#define USAGE "e2e-keygen [ -p ]"
#define TIMEOUT_MS 60000

char const *PROG = "e2e-keygen";

static char const *home;
static char keypath[4096], pubpath[4096], b32path[4096], tmppath[4096];

static void mkpath(char *out, char const *name)
{
  if (snprintf(out, 4096, "%s/%s", home, name) >= 4096)
    strerr_dief2x(E2E_PERM, "$E2E_HOME is too long: ", home);
}

static void setup(int fresh)
{
  struct stat st;
  int fd;
  home = env_need("E2E_HOME");
  mkpath(keypath, "key");
  mkpath(pubpath, "i2pmail.key");
  mkpath(b32path, "b32");
  if (snprintf(tmppath, sizeof tmppath, "%s/.tmp.key.%lu", home, (unsigned long)getpid()) >= (int)sizeof tmppath)
    strerr_dief2x(E2E_PERM, "$E2E_HOME is too long: ", home);
  fd = openat(AT_FDCWD, home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) strerr_diefu2sys(E2E_TEMP, "open ", home);
  close(fd);
  if (!fresh) return;
  if (!lstat(keypath, &st))
    strerr_dief3x(E2E_PERM, "refusing to replace the mail server's key: ", keypath, " exists");
  if (errno != ENOENT) strerr_diefu2sys(E2E_TEMP, "stat ", keypath);
}

/* DEST GENERATE SIGNATURE_TYPE=7; the text of PRIV and PUB into priv and pub. */
static void generate(char *priv, size_t privmax, char *pub, size_t pubmax)
{
  static sam s;
  char const *addr = env_str("E2E_SAM", SAM_DEFAULT), *p, *q;
  unsigned char ip[4];
  uint16_t port;
  int64_t deadline = now_ms() + TIMEOUT_MS;
  int r;
  if (sam_hostport(addr, ip, &port) < 0)
    strerr_dief2x(E2E_PERM, "invalid $E2E_SAM (want a.b.c.d:port): ", addr);
  sam_init(&s);
  r = sam_open(&s, addr, deadline);
  if (!r) r = sam_dest_generate(&s, I2P_SIG_ED25519, deadline);
  if (r) strerr_dief2x(E2E_TEMP, "unable to get a new destination from SAM: ", s.err);
  p = sam_reply_get(&s.reply, "PRIV");
  q = sam_reply_get(&s.reply, "PUB");
  if (strlen(p) >= privmax || strlen(q) >= pubmax)
    strerr_dief1x(E2E_TEMP, "unable to get a new destination from SAM: key too long");
  strcpy(priv, p);
  strcpy(pub, q);
  sam_close(&s);
  memset(s.line, 0, sizeof s.line);   /* it held the private key */
}

/* sam_dest_generate checked the structure; we want Ed25519 and nothing else. */
static void check(char const *priv)
{
  unsigned char bin[I2P_PRIV_MAX];
  char num[16];
  i2p_priv k;
  int e = i2p_priv_b64(&k, bin, sizeof bin, priv, strlen(priv));
  if (e) strerr_dief2x(E2E_TEMP, "SAM sent an unusable key: ", i2p_reason(e));
  if (k.dest.certtype != 5 || k.dest.sigtype != I2P_SIG_ED25519) {
    snprintf(num, sizeof num, "%u", k.dest.sigtype);
    strerr_dief3x(E2E_TEMP, "SAM made a key of signature type ", num,
                  ", not Ed25519 (7): does the router support SIGNATURE_TYPE=7?");
  }
}

static void die_tmp(char const *what)
{
  int e = errno;
  unlink(tmppath);
  errno = e;
  strerr_diefu2sys(E2E_TEMP, what, tmppath);
}

/* Writes the key into a temporary file and links it into place: link()
 * fails rather than replace a key that appeared in the meantime. */
static void write_key(char const *data, size_t n)
{
  int fd = openat(AT_FDCWD, tmppath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) strerr_diefu2sys(E2E_TEMP, "create ", tmppath);
  if (fchmod(fd, 0600) < 0 || write_all(fd, data, n) < 0 || fsync(fd) < 0) {
    close(fd);
    die_tmp("write ");
  }
  if (close(fd) < 0) die_tmp("write ");
  if (link(tmppath, keypath) < 0) {
    if (errno == EEXIST) {
      unlink(tmppath);
      strerr_dief3x(E2E_PERM, "refusing to replace the mail server's key: ", keypath, " exists");
    }
    die_tmp("link into place ");
  }
  if (unlink(tmppath) < 0) strerr_warnwu2sys("remove ", tmppath);
  if (fsync_dir(home) < 0) strerr_diefu2sys(E2E_TEMP, "fsync ", home);
}

static void write_public(char const *path, char const *text)
{
  char buf[I2P_DEST_B64_MAX + 2];
  size_t n = strlen(text);
  memcpy(buf, text, n);
  buf[n++] = '\n';
  if (file_replace(path, buf, n, 0644) < 0) strerr_diefu2sys(E2E_TEMP, "write ", path);
}

static void b32_of(char *addr, char const *pub)
{
  unsigned char bin[I2P_DEST_MAX];
  i2p_dest d;
  int e = i2p_dest_b64(&d, bin, sizeof bin, pub, strlen(pub));
  if (e) strerr_dief2x(E2E_TEMP, "SAM sent an unusable destination: ", i2p_reason(e));
  i2p_b32_address(addr, bin, d.len);
}

/* The public files again, from the key we have. */
static void republish(char *pub, size_t pubmax)
{
  unsigned char bin[I2P_PRIV_MAX];
  char *text;
  size_t len, b64len;
  i2p_priv k;
  int e;
  if (file_read(keypath, &text, &len, I2P_PRIV_B64_MAX + 2) < 0) strerr_diefu2sys(E2E_TEMP, "read ", keypath);
  e = i2p_keyfile_parse(&k, bin, sizeof bin, &b64len, text, len);
  memset(text, 0, len);
  free(text);
  if (e) strerr_dief4x(E2E_PERM, "invalid key in ", keypath, ": ", i2p_reason(e));
  if (I2P_B64_LEN(k.dest.len) >= pubmax) strerr_dief2x(E2E_PERM, "invalid key in ", keypath);
  pub[i2p_b64_encode(pub, bin, k.dest.len)] = 0;
}

int main(int argc, char const *const *argv)
{
  char priv[I2P_PRIV_B64_MAX + 2], pub[I2P_DEST_B64_MAX + 1], addr[I2P_B32_ADDR_LEN + 2];
  size_t n;
  int fresh = argc == 1;
  if (argc > 2 || (argc == 2 && strcmp(argv[1], "-p"))) strerr_dieusage(E2E_PERM, USAGE);
  setup(fresh);
  if (fresh) {
    generate(priv, sizeof priv - 1, pub, sizeof pub);
    check(priv);
  } else republish(pub, sizeof pub);
  b32_of(addr, pub);
  if (fresh) {
    n = strlen(priv);
    priv[n++] = '\n';
    write_key(priv, n);
  }
  write_public(pubpath, pub);
  write_public(b32path, addr);
  n = strlen(addr);
  addr[n++] = '\n';
  if (write_all(1, addr, n) < 0) strerr_diefu1sys(E2E_TEMP, "write to stdout");
  strerr_warni("publish ", pubpath, " at http://", env_str("E2E_DOMAIN", "YOUR-SITE.i2p"),
               "/.well-known/i2pmail.key");
  return 0;
}
