/* A SAM v3 client: connect, read a line without reading past it, parse
 * replies strictly, and run the few commands e2e needs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "e2e.h"
#include "sam.h"

/* ---- addresses and connections ---- */

/* A plain decimal of 1..5 digits, no leading zero, at most max. */
static int scan_dec(char const **s, unsigned long max, unsigned long *v)
{
  char const *p = *s;
  unsigned long x = 0;
  while (*p >= '0' && *p <= '9' && p - *s < 5) x = x * 10 + (unsigned long)(*p++ - '0');
  if (p == *s || (**s == '0' && p - *s > 1) || (*p >= '0' && *p <= '9') || x > max) return -1;
  *s = p;
  *v = x;
  return 0;
}

int sam_hostport(char const *s, unsigned char ip[4], uint16_t *port)
{
  unsigned long v;
  int i;
  for (i = 0; i < 4; i++) {
    if (scan_dec(&s, 255, &v) < 0 || *s++ != (i < 3 ? '.' : ':')) return -1;
    ip[i] = (unsigned char)v;
  }
  if (scan_dec(&s, 65535, &v) < 0 || !v || *s) return -1;
  *port = (uint16_t)v;
  return 0;
}

int sam_connect(char const *hostport, int64_t deadline)
{
  struct sockaddr_in sa;
  unsigned char ip[4];
  uint16_t port;
  socklen_t sl = sizeof(int);
  int fd, e = 0, fl;
  if (!hostport || !*hostport) hostport = SAM_DEFAULT;
  if (sam_hostport(hostport, ip, &port) < 0) { errno = EINVAL; return -1; }
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  memcpy(&sa.sin_addr, ip, 4);
  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno != EINPROGRESS && errno != EINTR) goto fail;
    if (fd_wait(fd, POLLOUT, deadline) < 0) goto fail;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0) goto fail;
    if (e) { errno = e; goto fail; }
  }
  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) goto fail;
  return fd;
fail:
  return close_fail(fd);
}

/* ---- lines ---- */

/* Peeks at what a socket holds; reads one byte from anything else. */
static ssize_t fetch(int fd, char *buf, size_t n, unsigned int *flags)
{
  if (!(*flags & SAM_BYTEWISE)) {
    ssize_t r = recv(fd, buf, n, MSG_PEEK | MSG_DONTWAIT);
    if (r >= 0 || errno != ENOTSOCK) return r;
    *flags |= SAM_BYTEWISE;
  }
  return read(fd, buf, 1);
}

/* Takes n bytes that a peek has shown are there. */
static int consume(int fd, char *buf, size_t n)
{
  while (n) {
    ssize_t r = recv(fd, buf, n, 0);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (!r) { errno = EPIPE; return -1; }
    buf += r;
    n -= (size_t)r;
  }
  return 0;
}

int sam_getline(int fd, char *out, size_t max, size_t *len, unsigned int flags, int64_t deadline)
{
  size_t n = 0;
  if (max < 2) { errno = EINVAL; return -1; }
  for (;;) {
    char *nl;
    size_t take;
    ssize_t r;
    if (fd_wait(fd, POLLIN, deadline) < 0) return -1;
    r = fetch(fd, out + n, max - n, &flags);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return -1;
    }
    if (!r) { errno = EPIPE; return -1; }
    nl = memchr(out + n, '\n', (size_t)r);
    take = nl ? (size_t)(nl - (out + n)) + 1 : (size_t)r;
    if (!(flags & SAM_BYTEWISE) && consume(fd, out + n, take) < 0) return -1;
    if (memchr(out + n, 0, take)) { errno = EPROTO; return -1; }
    n += take;
    if (nl) {
      n--;
      if (n && out[n - 1] == '\r') n--;
      out[n] = 0;
      *len = n;
      return 0;
    }
    if (n >= max) { errno = EMSGSIZE; return -1; }
  }
}

int sam_put(int fd, char const *s, size_t n, int64_t deadline)
{
  int sock = 1;
  while (n) {
    ssize_t r;
    if (fd_wait(fd, POLLOUT, deadline) < 0) return -1;
    if (sock) {
      r = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (r < 0 && errno == ENOTSOCK) { sock = 0; continue; }
    } else r = write(fd, s, n);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return -1;
    }
    s += r;
    n -= (size_t)r;
  }
  return 0;
}

/* ---- replies ---- */

static int keychar(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
    || c == '_' || c == '.' || c == '-';
}

static int plainchar(char c)
{
  unsigned char u = (unsigned char)c;
  return u >= 33 && u <= 126 && c != '"';
}

/* A quoted value at *p (just past its opening '"'): unescapes it in place
 * and NUL-terminates it; *p moves past the closing quote. */
static int quoted(char **p)
{
  char *r = *p, *w = *p;
  for (;;) {
    unsigned char c = (unsigned char)*r;
    if (!c) return -1;
    if (c == '"') break;
    if (c == '\\') c = (unsigned char)*++r;
    if (!c || c < 32 || c == 127) return -1;
    *w++ = (char)c;
    r++;
  }
  *p = r + 1;
  *w = 0;
  return 0;
}

/* KEY=VALUE at *p, key already scanned up to the '=' at eq. */
static int pair(sam_reply *r, char *key, char *eq, char **p)
{
  char *v = eq + 1;
  if (eq == key || r->npairs >= SAM_PAIRS_MAX) return -1;
  *eq = 0;
  if (sam_reply_get(r, key)) return -1;
  if (*v == '"') {
    *p = v + 1;
    if (quoted(p) < 0) return -1;
    v++;
  } else {
    for (*p = v; **p && **p != ' '; (*p)++) if (!plainchar(**p)) return -1;
  }
  if (**p && **p != ' ') return -1;
  if (**p) *(*p)++ = 0;
  r->pair[r->npairs].key = key;
  r->pair[r->npairs++].value = v;
  return 0;
}

static int word(sam_reply *r, char *w, char **p, unsigned int maxwords)
{
  char *q;
  if (r->npairs || r->nwords >= maxwords) return -1;
  for (q = w; *q && *q != ' '; q++) if (*q < 'A' || *q > 'Z') return -1;
  if (*q) *q++ = 0;
  *p = q;
  r->word[r->nwords++] = w;
  return 0;
}

static int parse(sam_reply *r, char *p, unsigned int maxwords)
{
  r->word[0] = r->word[1] = 0;
  r->nwords = r->npairs = 0;
  for (;;) {
    char *tok, *q;
    while (*p == ' ') p++;
    if (!*p) return 0;
    tok = p;
    for (q = p; keychar(*q); q++) ;
    if (*q == '=') { if (pair(r, tok, q, &p) < 0) return -1; }
    else if (word(r, tok, &p, maxwords) < 0) return -1;
  }
}

int sam_reply_parse(sam_reply *r, char *line)
{
  if (parse(r, line, SAM_WORDS_MAX) < 0 || !r->nwords) return -1;
  return 0;
}

char const *sam_reply_get(sam_reply const *r, char const *key)
{
  unsigned int i;
  for (i = 0; i < r->npairs; i++) if (!strcasecmp(r->pair[i].key, key)) return r->pair[i].value;
  return 0;
}

int sam_reply_is(sam_reply const *r, char const *w1, char const *w2)
{
  return r->nwords == 2 && !strcmp(r->word[0], w1) && !strcmp(r->word[1], w2);
}

static struct { char const *name; int code; char const *text; } const results[] = {
  { "OK", E2E_OK, "success" },
  { "INVALID_KEY", E2E_PERM, "invalid key or destination, or unknown name" },
  { "KEY_NOT_FOUND", E2E_PERM, "no such name" },
  { "CANT_REACH_PEER", E2E_TEMP, "the peer cannot be reached" },
  { "TIMEOUT", E2E_TEMP, "timed out" },
  { "I2P_ERROR", E2E_TEMP, "router error" },
  { "INVALID_ID", E2E_TEMP, "no such session" },
  { "DUPLICATED_ID", E2E_TEMP, "session name already in use" },
  { "DUPLICATED_DEST", E2E_TEMP, "destination already in use" },
  { "ALREADY_ACCEPTING", E2E_TEMP, "already accepting" },
  { "PEER_NOT_FOUND", E2E_TEMP, "peer not found" },
  { "NOVERSION", E2E_TEMP, "the router does not speak SAM 3.1 to 3.3" },
};

static int result_find(char const *name)
{
  int i;
  for (i = 0; i < (int)(sizeof results / sizeof *results); i++)
    if (!strcmp(results[i].name, name)) return i;
  return -1;
}

int sam_result_class(char const *result)
{
  int i = result_find(result);
  return i < 0 ? E2E_TEMP : results[i].code;
}

char const *sam_result_text(char const *result)
{
  int i = result_find(result);
  return i < 0 ? "unknown result" : results[i].text;
}

size_t sam_pong(char *out, size_t max, char const *line, size_t len)
{
  if (len < 4 || memcmp(line, "PING", 4) || (len > 4 && line[4] != ' ')) return 0;
  if (len + 1 > max) return 0;
  memcpy(out, "PONG", 4);
  memcpy(out + 4, line + 4, len - 4);
  out[len] = '\n';
  return len + 1;
}

/* ---- errors of a conversation ---- */

/* Appends p to s->err, bytes outside 32..126 as '?', truncated. */
static void errcat(sam *s, char const *p)
{
  size_t w = strlen(s->err);
  for (; p && *p && w < sizeof s->err - 1; p++)
    s->err[w++] = ((unsigned char)*p < 32 || (unsigned char)*p > 126) ? '?' : *p;
  s->err[w] = 0;
}

/* s->err = a b c; returns code. */
static int fail(sam *s, int code, char const *a, char const *b, char const *c)
{
  s->err[0] = 0;
  errcat(s, a);
  errcat(s, b);
  errcat(s, c);
  return code;
}

/* s->err = what (or what is there already) and errno's story. */
static int ioerr(sam *s, char const *what)
{
  char const *why;
  switch (errno) {
    case ETIMEDOUT: why = "timed out"; break;
    case EPIPE: why = "connection closed"; break;
    case EMSGSIZE: why = "line too long"; break;
    case EPROTO: why = "NUL byte in a line"; break;
    default: why = strerror(errno);
  }
  if (what) { s->err[0] = 0; errcat(s, what); }
  errcat(s, ": ");
  errcat(s, why);
  return E2E_TEMP;
}

/* The first word of what SAM sent, for a message that must not echo a
 * whole line (it might carry a private key). */
static int badreply(sam *s, char const *why)
{
  char w[32];
  size_t n = strcspn(s->line, " ");
  if (n > sizeof w - 1) n = sizeof w - 1;
  memcpy(w, s->line, n);
  w[n] = 0;
  return fail(s, E2E_TEMP, why, ", beginning: ", w);
}

/* ---- a conversation ---- */

void sam_init(sam *s)
{
  memset(s, 0, sizeof *s);
  s->fd = -1;
}

void sam_close(sam *s)
{
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

/* One line into s->line, answering PINGs on the way. */
static int readline(sam *s, int64_t deadline)
{
  for (;;) {
    char pong[SAM_LINE_MAX + 2];
    size_t len, n;
    if (sam_getline(s->fd, s->line, sizeof s->line, &len, 0, deadline) < 0)
      return ioerr(s, "unable to read from SAM");
    n = sam_pong(pong, sizeof pong, s->line, len);
    if (!n) return 0;
    if (sam_put(s->fd, pong, n, deadline) < 0) return ioerr(s, "unable to write to SAM");
  }
}

/* The reply's RESULT as an exit meaning; required: absent is an error. */
static int result(sam *s, int required)
{
  char const *res = sam_reply_get(&s->reply, "RESULT"), *msg;
  int c;
  if (!res) return required ? fail(s, E2E_TEMP, "SAM replied without a RESULT", 0, 0) : 0;
  c = sam_result_class(res);
  if (!c) return 0;
  msg = sam_reply_get(&s->reply, "MESSAGE");
  fail(s, c, "SAM replied ", res, " (");
  errcat(s, sam_result_text(res));
  errcat(s, ")");
  if (msg) { errcat(s, ": "); errcat(s, msg); }
  return c;
}

static int expect(sam *s, char const *w1, char const *w2, int64_t deadline)
{
  int r = readline(s, deadline);
  if (r) return r;
  if (sam_reply_parse(&s->reply, s->line) < 0) return badreply(s, "malformed reply from SAM");
  if (!sam_reply_is(&s->reply, w1, w2)) return badreply(s, "unexpected reply from SAM");
  return result(s, 0);
}

int sam_command(sam *s, char const *cmd, size_t n, char const *w1, char const *w2, int64_t deadline)
{
  if (sam_put(s->fd, cmd, n, deadline) < 0) return ioerr(s, "unable to write to SAM");
  return expect(s, w1, w2, deadline);
}

int sam_open(sam *s, char const *hostport, int64_t deadline)
{
  static char const hello[] = "HELLO VERSION MIN=3.1 MAX=3.3\n";
  char const *v;
  unsigned char ip[4];
  uint16_t port;
  int r;
  if (!hostport || !*hostport) hostport = SAM_DEFAULT;
  if (sam_hostport(hostport, ip, &port) < 0)
    return fail(s, E2E_PERM, "malformed SAM address (want a.b.c.d:port): ", hostport, 0);
  sam_close(s);
  s->fd = sam_connect(hostport, deadline);
  if (s->fd < 0) {
    fail(s, 0, "unable to connect to SAM at ", hostport, 0);
    return ioerr(s, 0);
  }
  r = sam_command(s, hello, sizeof hello - 1, "HELLO", "REPLY", deadline);
  if (r) return r;
  r = result(s, 1);
  if (r) return r;
  v = sam_reply_get(&s->reply, "VERSION");
  if (!v || strlen(v) != 3 || v[0] != '3' || v[1] != '.' || v[2] < '1' || v[2] > '3')
    return fail(s, E2E_TEMP, "SAM replied with an unexpected VERSION", 0, 0);
  s->minor = (unsigned int)(v[2] - '0');
  return 0;
}

/* ---- building commands ---- */

static int id_ok(char const *s)
{
  size_t n;
  for (n = 0; s[n]; n++) if (!keychar(s[n])) return 0;
  return n >= 1 && n <= 64;
}

/* A value we put on a command line: printable, no blanks, no quotes. */
static int value_ok(char const *s)
{
  if (!*s) return 0;
  for (; *s; s++) if (!plainchar(*s) || *s == '\\') return 0;
  return 1;
}

/* Blank-separated KEY=VALUE words (or nothing). */
static int options_ok(char const *s)
{
  while (*s) {
    char const *k = s;
    if (*s == ' ') { s++; continue; }
    while (keychar(*s)) s++;
    if (s == k || *s++ != '=') return 0;
    for (; *s && *s != ' '; s++) if (!plainchar(*s) || *s == '\\') return 0;
  }
  return 1;
}

typedef struct cmd { size_t n; int over; char s[SAM_CMD_MAX]; } cmd;

static void cat(cmd *c, char const *s)
{
  size_t k = strlen(s);
  if (k > sizeof c->s - c->n) { c->over = 1; return; }
  memcpy(c->s + c->n, s, k);
  c->n += k;
}

static int send_cmd(sam *s, cmd *c, char const *w1, char const *w2, int64_t deadline)
{
  if (c->over) return fail(s, E2E_PERM, "SAM command too long", 0, 0);
  return sam_command(s, c->s, c->n, w1, w2, deadline);
}

int sam_session_create(sam *s, char const *id, char const *priv, char const *options, int64_t deadline)
{
  unsigned char bin[I2P_PRIV_MAX];
  i2p_priv k;
  cmd c = { 0, 0, { 0 } };
  int e;
  if (!id_ok(id)) return fail(s, E2E_PERM, "invalid SAM session name: ", id, 0);
  e = i2p_priv_b64(&k, bin, sizeof bin, priv, strlen(priv));
  if (e) return fail(s, E2E_PERM, "invalid private key: ", i2p_reason(e), 0);
  if (!options) options = "";
  if (!options_ok(options)) return fail(s, E2E_PERM, "invalid SAM options: ", options, 0);
  cat(&c, "SESSION CREATE STYLE=STREAM ID=");
  cat(&c, id);
  cat(&c, " DESTINATION=");
  cat(&c, priv);
  if (*options) { cat(&c, " "); cat(&c, options); }
  cat(&c, "\n");
  e = send_cmd(s, &c, "SESSION", "STATUS", deadline);
  return e ? e : result(s, 1);
}

int sam_stream_connect(sam *s, char const *id, char const *dest, unsigned int port, int64_t deadline)
{
  cmd c = { 0, 0, { 0 } };
  int e;
  if (!id_ok(id)) return fail(s, E2E_PERM, "invalid SAM session name: ", id, 0);
  if (!value_ok(dest)) return fail(s, E2E_PERM, "invalid destination: ", dest, 0);
  if (port > 65535) return fail(s, E2E_PERM, "invalid I2P port", 0, 0);
  cat(&c, "STREAM CONNECT ID=");
  cat(&c, id);
  cat(&c, " DESTINATION=");
  cat(&c, dest);
  cat(&c, " SILENT=false");
  if (port && s->minor >= 2) {
    char num[16];
    snprintf(num, sizeof num, " TO_PORT=%u", port);
    cat(&c, num);
  }
  cat(&c, "\n");
  e = send_cmd(s, &c, "STREAM", "STATUS", deadline);
  return e ? e : result(s, 1);
}

int sam_stream_accept(sam *s, char const *id, int64_t deadline)
{
  cmd c = { 0, 0, { 0 } };
  int e;
  if (!id_ok(id)) return fail(s, E2E_PERM, "invalid SAM session name: ", id, 0);
  cat(&c, "STREAM ACCEPT ID=");
  cat(&c, id);
  cat(&c, " SILENT=false\n");
  e = send_cmd(s, &c, "STREAM", "STATUS", deadline);
  return e ? e : result(s, 1);
}

static int port_value(sam *s, char const *key, unsigned int *port)
{
  char const *v = sam_reply_get(&s->reply, key);
  unsigned long x;
  *port = 0;
  if (!v) return 0;
  if (scan_dec(&v, 65535, &x) < 0 || *v) return -1;
  *port = (unsigned int)x;
  return 0;
}

int sam_accept_peer(sam *s, int64_t deadline)
{
  char *rest;
  size_t len, tok;
  int e;
  s->peer = 0;
  s->peerlen = 0;
  s->fromport = s->toport = 0;
  if (sam_getline(s->fd, s->line, sizeof s->line, &len, 0, deadline) < 0)
    return ioerr(s, "unable to read the peer from SAM");
  tok = strcspn(s->line, " ");
  if (tok == 6 && !memcmp(s->line, "STREAM", 6)) {
    if (sam_reply_parse(&s->reply, s->line) < 0 || !sam_reply_is(&s->reply, "STREAM", "STATUS"))
      return badreply(s, "malformed reply from SAM");
    e = result(s, 1);
    return e ? e : fail(s, E2E_TEMP, "SAM sent a status, not a peer", 0, 0);
  }
  e = i2p_dest_b64(&s->peerd, s->peerdest, sizeof s->peerdest, s->line, tok);
  if (e) return fail(s, E2E_TEMP, "SAM sent a malformed peer destination: ", i2p_reason(e), 0);
  rest = s->line + tok;
  if (*rest) *rest++ = 0;
  if (parse(&s->reply, rest, 0) < 0) return fail(s, E2E_TEMP, "SAM sent a malformed peer line", 0, 0);
  if (port_value(s, "FROM_PORT", &s->fromport) < 0 || port_value(s, "TO_PORT", &s->toport) < 0)
    return fail(s, E2E_TEMP, "SAM sent a malformed port", 0, 0);
  s->peer = s->line;
  s->peerlen = tok;
  return 0;
}

int sam_dest_generate(sam *s, unsigned int sigtype, int64_t deadline)
{
  unsigned char priv[I2P_PRIV_MAX], pub[I2P_DEST_MAX];
  char c[64];
  char const *pubs, *privs;
  i2p_priv k;
  i2p_dest d;
  int e;
  if (sigtype > 65535) return fail(s, E2E_PERM, "invalid signature type", 0, 0);
  snprintf(c, sizeof c, "DEST GENERATE SIGNATURE_TYPE=%u\n", sigtype);
  e = sam_command(s, c, strlen(c), "DEST", "REPLY", deadline);
  if (e) return e;
  pubs = sam_reply_get(&s->reply, "PUB");
  privs = sam_reply_get(&s->reply, "PRIV");
  if (!pubs || !privs) return fail(s, E2E_TEMP, "SAM's DEST REPLY lacks PUB or PRIV", 0, 0);
  e = i2p_priv_b64(&k, priv, sizeof priv, privs, strlen(privs));
  if (e) return fail(s, E2E_TEMP, "SAM generated an unusable private key: ", i2p_reason(e), 0);
  e = i2p_dest_b64(&d, pub, sizeof pub, pubs, strlen(pubs));
  if (e) return fail(s, E2E_TEMP, "SAM generated an unusable destination: ", i2p_reason(e), 0);
  if (d.len != k.dest.len || memcmp(pub, priv, d.len))
    return fail(s, E2E_TEMP, "SAM's PUB is not PRIV's destination", 0, 0);
  return 0;
}

int sam_naming_lookup(sam *s, char const *name, int64_t deadline)
{
  unsigned char bin[I2P_DEST_MAX];
  cmd c = { 0, 0, { 0 } };
  char const *v, *n;
  i2p_dest d;
  int e;
  if (!value_ok(name)) return fail(s, E2E_PERM, "invalid name: ", name, 0);
  cat(&c, "NAMING LOOKUP NAME=");
  cat(&c, name);
  cat(&c, "\n");
  e = send_cmd(s, &c, "NAMING", "REPLY", deadline);
  if (!e) e = result(s, 1);
  if (e) return e;
  n = sam_reply_get(&s->reply, "NAME");
  if (n && strcasecmp(n, name)) return fail(s, E2E_TEMP, "SAM answered for another name", 0, 0);
  v = sam_reply_get(&s->reply, "VALUE");
  if (!v) return fail(s, E2E_TEMP, "SAM's NAMING REPLY lacks a VALUE", 0, 0);
  e = i2p_dest_b64(&d, bin, sizeof bin, v, strlen(v));
  if (e) return fail(s, E2E_TEMP, "SAM's NAMING REPLY has a malformed VALUE: ", i2p_reason(e), 0);
  return 0;
}

int sam_control(sam *s, int64_t deadline)
{
  size_t len, n;
  char pong[SAM_LINE_MAX + 2];
  if (sam_getline(s->fd, s->line, sizeof s->line, &len, 0, deadline) < 0)
    return errno == EPIPE ? fail(s, E2E_TEMP, "SAM closed the session", 0, 0)
                          : ioerr(s, "unable to read from SAM");
  n = sam_pong(pong, sizeof pong, s->line, len);
  if (!n) return badreply(s, "unexpected line from SAM on the control socket");
  if (sam_put(s->fd, pong, n, deadline) < 0) return ioerr(s, "unable to write to SAM");
  return 0;
}
