/* e2e-tlsd: STARTTLS (RFC 3207) and STLS (RFC 2595) for PROG. Runs PROG
 * with pipes on its fds 0 and 1 and a control socket named in
 * $E2E_TLSCTL; relays plain text between the client (our fds 0 and 1) and
 * PROG until PROG asks for TLS, then does the server handshake with
 * BearSSL (chain and key from $E2E_HOME/tls/) and relays decrypted text.
 * What the client sent after the command and before the handshake is
 * dropped, never passed on (CVE-2011-0411). Protocol: src/lib/tls.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bearssl.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char const *PROG = "e2e-tlsd";
#define USAGE "e2e-tlsd prog..."
#define CHAIN_MAX 8
#define PEM_MAX 262144

typedef struct pbuf { char b[8192]; size_t p, n; } pbuf;

static char const *home;
static char remote[64];
static int64_t tmo, idle;               /* ms: the handshake's deadline; the idle one */
static pid_t child;
static int toprog = -1, fromprog = -1, ctl = -1;
static int net_eof, prog_eof, paused, tlson, loaded;
static pbuf c2p, p2c;                   /* client to PROG, PROG to client (plain) */

static br_x509_certificate chain[CHAIN_MAX];
static size_t nchain;
static int nkeys;
static br_skey_decoder_context skey;
static br_ssl_server_context sc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];

static void say(char const *fmt, ...)
{
  char b[1024];
  va_list a;
  int n = snprintf(b, sizeof b, "pid=%ld remote=%s ", (long)child, remote);
  va_start(a, fmt);
  vsnprintf(b + n, sizeof b - (size_t)n, fmt, a);
  va_end(a);
  log1(b);
}

static void touch(void) { idle = now_ms() + 2 * tmo; }

/* The end: the client hung up, PROG ended, or an error. PROG gets EOF,
 * then E2E_TIMEOUT to end before it is killed; its exit is ours. */
static _Noreturn void end(char const *why)
{
  int st = 0;
  int64_t ddl = now_ms() + tmo;
  char junk[4096];
  if (why) say("end reason=%s", why);
  shutdown(1, SHUT_WR);
  close(0); close(1);
  if (toprog >= 0) close(toprog);
  while (!prog_eof) {
    ssize_t r;
    if (fd_wait(fromprog, POLLIN, ddl) < 0) { kill(child, SIGKILL); break; }
    r = read(fromprog, junk, sizeof junk);
    if (!r || (r < 0 && errno != EINTR && errno != EAGAIN)) break;
  }
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) ;
  _exit(exit_class(st));
}

/* ---- the certificate chain and the key (HOME/tls/cert.pem, key.pem) ---- */

typedef struct der { unsigned char *p; size_t n, a; int nomem; } der;

static void der_add(void *ctx, void const *s, size_t n)
{
  der *d = ctx;
  if (d->nomem) return;
  if (d->n + n > d->a) {
    size_t a = 2 * (d->n + n);
    unsigned char *q = realloc(d->p, a);
    if (!q) { d->nomem = 1; return; }
    d->p = q; d->a = a;
  }
  memcpy(d->p + d->n, s, n);
  d->n += n;
}

/* Calls f(name, der) for each PEM object in the file; 0, or what is wrong. */
static char const *pem_each(char const *path, char const *(*f)(char const *, der *))
{
  static br_pem_decoder_context pc;
  char name[128], *text;
  der d = { 0, 0, 0, 0 };
  size_t len, i = 0;
  int in = 0;
  char const *why = 0;
  if (file_read(path, &text, &len, PEM_MAX) < 0) return strerror(errno);
  text[len++] = '\n';                   /* BearSSL wants the last line ended */
  br_pem_decoder_init(&pc);
  while (!why && i < len) {
    i += br_pem_decoder_push(&pc, text + i, len - i);
    switch (br_pem_decoder_event(&pc)) {
      case BR_PEM_BEGIN_OBJ:
        snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
        d.n = 0; in = 1;
        br_pem_decoder_setdest(&pc, der_add, &d);
        break;
      case BR_PEM_END_OBJ: in = 0; why = d.nomem ? "out of memory" : f(name, &d); break;
      case BR_PEM_ERROR: why = "malformed PEM"; break;
    }
  }
  if (!why && in) why = "truncated PEM";
  explicit_bzero(text, len); free(text);
  if (d.p) { explicit_bzero(d.p, d.a); free(d.p); }
  return why;
}

static char const *add_cert(char const *name, der *d)
{
  if (strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE")) return 0;
  if (nchain == CHAIN_MAX) return "more than 8 certificates";
  chain[nchain].data = d->p; chain[nchain].data_len = d->n;
  nchain++;
  d->p = 0; d->n = d->a = 0;            /* the chain keeps it */
  return 0;
}

static char const *add_key(char const *name, der *d)
{
  if (!strcmp(name, "ENCRYPTED PRIVATE KEY")) return "the key is encrypted (store it without a passphrase)";
  if (strcmp(name, "PRIVATE KEY") && strcmp(name, "RSA PRIVATE KEY") && strcmp(name, "EC PRIVATE KEY")) return 0;
  if (nkeys++) return "more than one private key";
  br_skey_decoder_init(&skey);
  br_skey_decoder_push(&skey, d->p, d->n);
  return br_skey_decoder_last_error(&skey) ? "malformed or unsupported private key (RSA or EC)" : 0;
}

/* Big-endian numbers equal but for leading zeros? */
static int same(unsigned char const *a, size_t m, unsigned char const *b, size_t n)
{
  while (m && !*a) { a++; m--; }
  while (n && !*b) { b++; n--; }
  return m == n && !memcmp(a, b, n);
}

/* Is the key the one whose public half the certificate holds? */
static char const *key_match(br_x509_pkey const *pk)
{
  static unsigned char buf[512];         /* BearSSL: RSA up to 4096 bits; an EC point is shorter */
  int t = br_skey_decoder_key_type(&skey);
  size_t n;
  if (t != pk->key_type) return "the key does not match the certificate (RSA and EC)";
  if (t == BR_KEYTYPE_RSA) {
    br_rsa_private_key const *sk = br_skey_decoder_get_rsa(&skey);
    br_rsa_compute_modulus mod = br_rsa_compute_modulus_get_default();
    n = mod(0, sk);
    if (!n || n > sizeof buf) return "unsupported RSA key size";
    mod(buf, sk);
    return same(buf, n, pk->key.rsa.n, pk->key.rsa.nlen) ? 0 : "the key does not match the certificate";
  }
  else {
    br_ec_private_key const *sk = br_skey_decoder_get_ec(&skey);
    n = br_ec_compute_pub(br_ec_get_default(), 0, buf, sk);
    if (!n) return "unsupported elliptic curve";
    return sk->curve == pk->key.ec.curve && same(buf, n, pk->key.ec.q, pk->key.ec.qlen) ? 0 : "the key does not match the certificate";
  }
}

static void no_dn(void *c, void const *s, size_t n) { (void)c; (void)s; (void)n; }

/* Forward-secret suites only, TLS 1.2 (BearSSL 0.6 has no 1.3). */
static uint16_t const suites_rsa[] = {
  BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
  BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
  BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
};
static uint16_t const suites_ec[] = {
  BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
  BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
  BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
};

/* Loads the chain and the key and makes the server context: 1 ok, 0 not
 * (logged: the program answers 454 or -ERR). Once per connection. */
static int load(void)
{
  static br_x509_decoder_context xc;
  char cert[4096], key[4096];
  char const *why, *path = cert;
  br_x509_pkey const *pk = 0;
  if (loaded) return loaded > 0;
  loaded = -1;
  snprintf(cert, sizeof cert, "%s/tls/cert.pem", home);
  snprintf(key, sizeof key, "%s/tls/key.pem", home);
  why = pem_each(cert, add_cert);
  if (!why && !nchain) why = "no CERTIFICATE in it";
  if (!why) {
    br_x509_decoder_init(&xc, no_dn, 0);
    br_x509_decoder_push(&xc, chain[0].data, chain[0].data_len);
    if (!(pk = br_x509_decoder_get_pkey(&xc))) why = "the first certificate is malformed";
  }
  if (!why) { path = key; why = pem_each(key, add_key); }
  if (!why && !nkeys) why = "no PRIVATE KEY in it";
  if (!why) why = key_match(pk);
  if (why) { say("warning: unable to use %s: %s: TLS refused", path, why); return 0; }
  if (pk->key_type == BR_KEYTYPE_RSA) {
    br_ssl_server_init_full_rsa(&sc, chain, nchain, br_skey_decoder_get_rsa(&skey));
    br_ssl_engine_set_suites(&sc.eng, suites_rsa, sizeof suites_rsa / sizeof *suites_rsa);
  }
  else {
    br_ssl_server_init_full_ec(&sc, chain, nchain, br_x509_decoder_get_signer_key_type(&xc), br_skey_decoder_get_ec(&skey));
    br_ssl_engine_set_suites(&sc.eng, suites_ec, sizeof suites_ec / sizeof *suites_ec);
  }
  br_ssl_engine_set_versions(&sc.eng, BR_TLS12, BR_TLS12);
  br_ssl_engine_set_buffer(&sc.eng, iobuf, sizeof iobuf, 1);
  loaded = 1;
  return 1;
}

/* ---- PROG and the control socket ---- */

static void nonblock(int fd) { int f = fcntl(fd, F_GETFL); if (f >= 0) fcntl(fd, F_SETFL, f | O_NONBLOCK); }

static void spawn(char **argv)
{
  int in[2], out[2], c[2];
  char num[16];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c) < 0)
    strerr_diefu1sys(E2E_TEMP, "make pipes");
  child = fork();
  if (child < 0) strerr_diefu1sys(E2E_TEMP, "fork");
  if (!child) {
    snprintf(num, sizeof num, "%d", c[1]);
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || fcntl(c[1], F_SETFD, 0) < 0 || setenv("E2E_TLSCTL", num, 1) < 0)
      strerr_diefu1sys(E2E_TEMP, "set up the program's descriptors");
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    strerr_dieexec(E2E_TEMP, argv[0]);
  }
  close(in[0]); close(out[1]); close(c[1]);
  toprog = in[1]; fromprog = out[0]; ctl = c[0];
  nonblock(toprog); nonblock(fromprog); nonblock(ctl); nonblock(0); nonblock(1);
}

static void answer(char c) { if (write_all(ctl, &c, 1) < 0) end("control_write_error"); }

/* One byte from PROG: 'Y' may we? (then the client's bytes not yet passed
 * on are dropped and no more are read), 'G' go. 1 after 'G'. */
static int control(void)
{
  char c;
  ssize_t r = read(ctl, &c, 1);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (r <= 0) { close(ctl); ctl = -1; return 0; }
  if (c == 'Y' && !paused && !tlson && load()) { paused = 1; c2p.p = c2p.n = 0; answer('R'); }
  else if (c == 'Y') answer('N');
  else if (c == 'G' && paused) return 1;
  else { say("warning: unexpected byte on the control socket"); end("control_protocol"); }
  return 0;
}

/* poll by an absolute deadline: 0 ready, -1 timed out. */
static int waitfor(struct pollfd *p, int n, int64_t ddl)
{
  for (;;) {
    int64_t left = ddl - now_ms();
    int r;
    if (left <= 0) return -1;
    r = poll(p, (nfds_t)n, left > 86400000 ? 86400000 : (int)left);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) strerr_diefu1sys(E2E_TEMP, "poll");
  }
}

/* Reads into an empty b: 1 data, 0 EOF or error, -1 nothing now. */
static int fill(int fd, pbuf *b)
{
  ssize_t r = read(fd, b->b, sizeof b->b);
  if (r < 0) return errno == EAGAIN || errno == EINTR ? -1 : 0;
  b->p = 0; b->n = (size_t)r;
  if (r) touch();
  return r > 0;
}

/* Writes some of b: 0 (progress or not), -1 the reader is gone. */
static int drain(int fd, pbuf *b)
{
  ssize_t w = write(fd, b->b + b->p, b->n - b->p);
  if (w < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  b->p += (size_t)w;
  touch();
  return 0;
}

/* ---- plain text, until PROG's 'G' (1) or its end (0) ---- */
static int plain(void)
{
  for (;;) {
    struct pollfd p[5];
    int n = 0, in = -1, tp = -1, fp = -1, out = -1, c = -1;
    if (prog_eof && p2c.p == p2c.n) return 0;
    if (net_eof && c2p.p == c2p.n && toprog >= 0) { close(toprog); toprog = -1; }
    if (!net_eof && !paused && c2p.p == c2p.n) { in = n; p[n++] = (struct pollfd){ .fd = 0, .events = POLLIN }; }
    if (toprog >= 0 && c2p.p < c2p.n) { tp = n; p[n++] = (struct pollfd){ .fd = toprog, .events = POLLOUT }; }
    if (!prog_eof && p2c.p == p2c.n) { fp = n; p[n++] = (struct pollfd){ .fd = fromprog, .events = POLLIN }; }
    if (p2c.p < p2c.n) { out = n; p[n++] = (struct pollfd){ .fd = 1, .events = POLLOUT }; }
    if (ctl >= 0) { c = n; p[n++] = (struct pollfd){ .fd = ctl, .events = POLLIN }; }
    if (waitfor(p, n, idle) < 0) end("idle_timeout");
    if (in >= 0 && p[in].revents && !fill(0, &c2p)) net_eof = 1;
    if (tp >= 0 && p[tp].revents && drain(toprog, &c2p) < 0) { c2p.p = c2p.n = 0; net_eof = 1; }
    if (fp >= 0 && p[fp].revents && !fill(fromprog, &p2c)) prog_eof = 1;
    if (out >= 0 && p[out].revents && drain(1, &p2c) < 0) end(0);
    if (c >= 0 && p[c].revents && control()) return 1;
  }
}

/* After 'G': PROG's "go ahead" reply, and all it wrote before, to the client. */
static void flush_prog(void)
{
  int64_t ddl = now_ms() + tmo;
  for (;;) {
    while (p2c.p < p2c.n)
      if (fd_wait(1, POLLOUT, ddl) < 0 || drain(1, &p2c) < 0) end("write_error");
    if (prog_eof) return;
    switch (fill(fromprog, &p2c)) { case -1: return; case 0: prog_eof = 1; return; }
  }
}

/* What went wrong, in words, for BearSSL's commonest BR_ERR_* codes. */
static char const *tls_why(int e)
{
  if (e >= BR_ERR_SEND_FATAL_ALERT) return "we sent a fatal alert";
  if (e >= BR_ERR_RECV_FATAL_ALERT) return "the client sent a fatal alert";
  switch (e) {
    case BR_ERR_UNSUPPORTED_VERSION: return "the client wants a version other than TLS 1.2";
    case BR_ERR_BAD_VERSION: case BR_ERR_UNKNOWN_TYPE: case BR_ERR_BAD_LENGTH: return "not TLS";
    case BR_ERR_UNEXPECTED: return "a message out of place (not TLS?)";
    case BR_ERR_BAD_CIPHER_SUITE: case BR_ERR_BAD_HANDSHAKE: return "no cipher suite or curve in common, or a malformed hello";
    case BR_ERR_BAD_MAC: return "a record failed its integrity check";
    default: return "see BR_ERR_* in bearssl_ssl.h";
  }
}

static char const *version(unsigned v)
{
  return v == BR_TLS12 ? "TLS1.2" : v == BR_TLS11 ? "TLS1.1" : v == BR_TLS10 ? "TLS1.0" : "unknown";
}

/* ---- TLS: the engine between the client and PROG, until the end ---- */
static _Noreturn void tls(void)
{
  br_ssl_engine_context *e = &sc.eng;
  int64_t hs = now_ms() + tmo;
  int up = 0, closing = 0;
  tlson = 1;
  if (!br_ssl_server_reset(&sc)) { say("warning: unable to start TLS: error=%d", br_ssl_engine_last_error(e)); end("tls_init"); }
  for (;;) {
    struct pollfd p[5];
    int n = 0, ni = -1, no = -1, tp = -1, fp = -1, c = -1;
    unsigned st = br_ssl_engine_current_state(e);
    unsigned char *buf;
    size_t len;
    ssize_t r;
    if (st & BR_SSL_CLOSED) {
      int err = br_ssl_engine_last_error(e);
      if (!err) end(0);
      say("warning: TLS %s failed: error=%d (%s)", up ? "session" : "handshake", err, tls_why(err));
      end(up ? "tls_error" : "tls_handshake");
    }
    if (!up && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
      br_ssl_session_parameters sp;
      br_ssl_engine_get_session_parameters(e, &sp);
      say("tls version=%s suite=0x%04x", version(sp.version), sp.cipher_suite);
      up = 1; touch();
    }
    if (closing && !(st & BR_SSL_SENDREC)) end(0);
    if (net_eof && !up) end("eof_in_handshake");    /* the client left before it */
    if (net_eof && toprog >= 0 && !(st & BR_SSL_RECVAPP)) { close(toprog); toprog = -1; }
    if (st & BR_SSL_SENDREC) { no = n; p[n++] = (struct pollfd){ .fd = 1, .events = POLLOUT }; }
    if ((st & BR_SSL_RECVREC) && !net_eof) { ni = n; p[n++] = (struct pollfd){ .fd = 0, .events = POLLIN }; }
    if ((st & BR_SSL_RECVAPP) && toprog >= 0) { tp = n; p[n++] = (struct pollfd){ .fd = toprog, .events = POLLOUT }; }
    if ((st & BR_SSL_RECVAPP) && toprog < 0) { br_ssl_engine_recvapp_buf(e, &len); br_ssl_engine_recvapp_ack(e, len); continue; }
    if ((st & BR_SSL_SENDAPP) && !prog_eof) { fp = n; p[n++] = (struct pollfd){ .fd = fromprog, .events = POLLIN }; }
    if (ctl >= 0) { c = n; p[n++] = (struct pollfd){ .fd = ctl, .events = POLLIN }; }
    if (waitfor(p, n, up ? idle : hs) < 0) end(up ? "idle_timeout" : "handshake_timeout");
    if (no >= 0 && p[no].revents && (buf = br_ssl_engine_sendrec_buf(e, &len)) && len) {
      r = write(1, buf, len);
      if (r > 0) { br_ssl_engine_sendrec_ack(e, (size_t)r); touch(); }
      else if (errno != EAGAIN && errno != EINTR) end(0);
    }
    if (ni >= 0 && p[ni].revents && (buf = br_ssl_engine_recvrec_buf(e, &len)) && len) {
      r = read(0, buf, len);
      if (r > 0) { br_ssl_engine_recvrec_ack(e, (size_t)r); touch(); }
      else if (!r || (errno != EAGAIN && errno != EINTR)) { net_eof = 1; continue; }
    }
    if (tp >= 0 && p[tp].revents && (buf = br_ssl_engine_recvapp_buf(e, &len)) && len) {
      r = write(toprog, buf, len);
      if (r > 0) br_ssl_engine_recvapp_ack(e, (size_t)r);
      else if (errno != EAGAIN && errno != EINTR) { close(toprog); toprog = -1; }
    }
    if (fp >= 0 && p[fp].revents && (buf = br_ssl_engine_sendapp_buf(e, &len)) && len) {
      r = read(fromprog, buf, len);
      if (r > 0) { br_ssl_engine_sendapp_ack(e, (size_t)r); br_ssl_engine_flush(e, 0); touch(); }
      else if (!r || (errno != EAGAIN && errno != EINTR)) { prog_eof = 1; br_ssl_engine_close(e); closing = 1; }
    }
    if (c >= 0 && p[c].revents) control();
  }
}

int main(int argc, char **argv)
{
  char const *r;
  if (argc < 2) strerr_dieusage(E2E_PERM, USAGE);
  home = env_need("E2E_HOME");
  tmo = (int64_t)env_uint("E2E_TIMEOUT", 300, 1, 86400) * 1000;
  r = env_str("TCPREMOTEIP", "unknown");
  safe(remote, sizeof remote, r, strlen(r));
  signal(SIGPIPE, SIG_IGN);
  spawn(argv + 1);
  touch();
  if (plain()) { flush_prog(); tls(); }
  end(0);
}
