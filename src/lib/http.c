/* An HTTP/1.x response parser for e2e-resolve: fed bytes as they come,
 * strict about structure, bounded everywhere (head, header count, line,
 * body, chunk framing), never allocating. */
#include <string.h>
#include <strings.h>
#include "e2e.h"

enum { S_LINE, S_BODY, S_CLOSE, S_CHUNK, S_DONE, S_ERR };
enum { L_STATUS, L_HEADER, L_CHUNKSIZE, L_CHUNKEND, L_TRAILER };

void http_init(http *h)
{
  memset(h, 0, sizeof *h);
  h->maxage = -1;
  h->clen = -1;
  h->state = S_LINE;
  h->kind = L_STATUS;
}

char const *http_reason(int e)
{
  switch (e) {
    case 0: return "ok";
    case HTTP_ESYNTAX: return "malformed HTTP response";
    case HTTP_EHEAD: return "HTTP headers too long or too many";
    case HTTP_EBODY: return "body too long";
    case HTTP_ETRUNC: return "response cut short";
    case HTTP_EFRAME: return "unsupported or contradictory message framing";
  }
  return "unknown error";
}

static int fail(http *h, int e, char const *why)
{
  h->state = S_ERR;
  h->err = e;
  h->why = why;
  return -1;
}

static int tchar(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
      || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Field content and reason phrases: visible ASCII, blanks, obs-text. */
static int textchar(unsigned char c) { return c == ' ' || c == '\t' || (c >= 33 && c != 127); }

static int isblank_(char c) { return c == ' ' || c == '\t'; }

/* Is v (n bytes) the word w, any case? */
static int is(char const *v, size_t n, char const *w)
{
  return strlen(w) == n && !strncasecmp(v, w, n);
}

/* A decimal of at most 18 digits into *out; 0 ok, -1 not one. */
static int dec(char const *s, size_t n, int64_t *out)
{
  int64_t v = 0;
  size_t i;
  if (!n || n > 18) return -1;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* delta-seconds (RFC 9111 1.2.2): invalid means stale (0); huge values
 * saturate at 2^31. */
static int64_t delta(char const *s, size_t n)
{
  int64_t v = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    if (v < HTTP_AGE_SAT) v = v * 10 + (s[i] - '0');
  }
  return v > HTTP_AGE_SAT ? HTTP_AGE_SAT : v;
}

void http_cachecontrol(char const *v, size_t n, int64_t *maxage, int *nostore, int *nocache)
{
  size_t i = 0;
  while (i < n) {
    size_t k, kl, vs, vl = 0;
    int64_t x;
    while (i < n && (isblank_(v[i]) || v[i] == ',')) i++;
    for (k = i; i < n && tchar((unsigned char)v[i]); i++) ;
    kl = i - k;
    vs = i;
    if (i < n && v[i] == '=') {
      i++;
      if (i < n && v[i] == '"') {
        vs = ++i;
        while (i < n && v[i] != '"') { if (v[i] == '\\' && i + 1 < n) i++; i++; }
        vl = i - vs;
        if (i < n) i++;
      } else {
        for (vs = i; i < n && tchar((unsigned char)v[i]); i++) ;
        vl = i - vs;
      }
    }
    while (i < n && isblank_(v[i])) i++;
    if (i < n && v[i] != ',') {           /* junk: skip this directive */
      while (i < n && v[i] != ',') i++;
      continue;
    }
    if (is(v + k, kl, "no-store")) *nostore = 1;
    else if (is(v + k, kl, "no-cache")) *nocache = 1;
    else if (is(v + k, kl, "max-age")) {
      x = delta(v + vs, vl);
      if (*maxage < 0 || x < *maxage) *maxage = x;
    }
  }
}

static int header(http *h, char *l, size_t n)
{
  size_t c, vs, ve;
  int64_t x;
  if (!n) return 1;   /* the empty line: the head is over */
  if (isblank_(l[0])) return fail(h, HTTP_ESYNTAX, "folded header line");
  for (c = 0; c < n && tchar((unsigned char)l[c]); c++) ;
  if (!c || c == n || l[c] != ':') return fail(h, HTTP_ESYNTAX, "malformed header line");
  if (++h->nheaders > HTTP_HEADERS_MAX) return fail(h, HTTP_EHEAD, "too many header lines");
  for (vs = c + 1; vs < n && isblank_(l[vs]); vs++) ;
  for (ve = n; ve > vs && isblank_(l[ve - 1]); ve--) ;
  if (h->kind == L_TRAILER || h->status < 200) return 0;   /* nothing we need there */
  if (is(l, c, "content-length")) {
    if (dec(l + vs, ve - vs, &x) < 0) return fail(h, HTTP_EFRAME, "malformed Content-Length");
    if (h->clen >= 0 && h->clen != x) return fail(h, HTTP_EFRAME, "contradictory Content-Length headers");
    h->clen = x;
  } else if (is(l, c, "transfer-encoding")) {
    if (h->chunked || !is(l + vs, ve - vs, "chunked"))
      return fail(h, HTTP_EFRAME, "unsupported Transfer-Encoding");
    h->chunked = 1;
  } else if (is(l, c, "cache-control")) {
    http_cachecontrol(l + vs, ve - vs, &h->maxage, &h->nostore, &h->nocache);
  }
  return 0;
}

static int status(http *h, char const *l, size_t n)
{
  size_t i;
  if (n < 12 || memcmp(l, "HTTP/1.", 7) || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
    return fail(h, HTTP_ESYNTAX, "malformed status line");
  for (i = 9; i < 12; i++) if (l[i] < '0' || l[i] > '9') return fail(h, HTTP_ESYNTAX, "malformed status code");
  if (n > 12 && l[12] != ' ') return fail(h, HTTP_ESYNTAX, "malformed status line");
  h->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  if (h->status < 100 || h->status > 599 || h->status == 101) return fail(h, HTTP_ESYNTAX, "unexpected status code");
  h->nheaders = 0;
  h->clen = -1;
  h->chunked = 0;
  h->kind = L_HEADER;
  return 0;
}

/* The head is complete: how does the body end? */
static int endhead(http *h)
{
  if (h->status < 200) {      /* an interim response: the real one follows */
    h->kind = L_STATUS;
    return 0;
  }
  h->head = 1;
  if (h->status == 204 || h->status == 304) { h->state = S_DONE; return 1; }
  if (h->chunked && h->clen >= 0) return fail(h, HTTP_EFRAME, "both Transfer-Encoding and Content-Length");
  if (h->chunked) { h->kind = L_CHUNKSIZE; return 0; }
  if (h->clen >= 0) {
    if (h->clen > HTTP_BODY_MAX) return fail(h, HTTP_EBODY, "Content-Length over the limit");
    if (!h->clen) { h->state = S_DONE; return 1; }
    h->left = (uint64_t)h->clen;
    h->state = S_BODY;
    return 0;
  }
  h->state = S_CLOSE;
  return 0;
}

static int chunksize(http *h, char const *l, size_t n)
{
  uint64_t v = 0;
  size_t i;
  for (i = 0; i < n && i < 9; i++) {
    char c = l[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) break;
    v = v * 16 + (uint64_t)d;
  }
  if (!i || i == 9) return fail(h, HTTP_EFRAME, "malformed chunk size");
  if (i < n && l[i] != ';' && !isblank_(l[i])) return fail(h, HTTP_EFRAME, "malformed chunk size");
  if (v > HTTP_BODY_MAX - h->bodylen) return fail(h, HTTP_EBODY, "chunked body over the limit");
  if (!v) { h->kind = L_TRAILER; return 0; }
  h->left = v;
  h->state = S_CHUNK;
  return 0;
}

/* A complete line (without its line end) of kind h->kind. */
static int line(http *h, char *l, size_t n)
{
  switch (h->kind) {
    case L_STATUS: return status(h, l, n);
    case L_HEADER:
      switch (header(h, l, n)) {
        case 1: return endhead(h);
        case 0: return 0;
        default: return -1;
      }
    case L_CHUNKSIZE: return chunksize(h, l, n);
    case L_CHUNKEND:
      if (n) return fail(h, HTTP_EFRAME, "chunk not followed by a line end");
      h->kind = L_CHUNKSIZE;
      return 0;
    default:    /* L_TRAILER */
      switch (header(h, l, n)) {
        case 1: h->state = S_DONE; return 1;
        case 0: return 0;
        default: return -1;
      }
  }
}

static int take(http *h, char const *p, size_t k)
{
  if (k > HTTP_BODY_MAX - h->bodylen) return fail(h, HTTP_EBODY, "body over the limit");
  memcpy(h->body + h->bodylen, p, k);
  h->bodylen += k;
  return 0;
}

int http_feed(http *h, char const *p, size_t n)
{
  size_t i = 0;
  while (i < n) {
    size_t k;
    switch (h->state) {
      case S_DONE: return 1;
      case S_ERR: return -1;
      case S_LINE: {
        unsigned char c = (unsigned char)p[i++];
        int inhead = h->kind == L_STATUS || h->kind == L_HEADER || h->kind == L_TRAILER;
        if (inhead && ++h->headbytes > HTTP_HEAD_MAX) return fail(h, HTTP_EHEAD, "head over the limit");
        if (!inhead && ++h->framebytes > HTTP_FRAME_MAX) return fail(h, HTTP_EFRAME, "chunk framing over the limit");
        if (c == '\n') {
          size_t len = h->linelen;
          if (len && h->line[len - 1] == '\r') len--;
          h->linelen = 0;
          if (memchr(h->line, '\r', len)) return fail(h, HTTP_ESYNTAX, "bare CR in a line");
          h->line[len] = 0;
          if (line(h, h->line, len) < 0) return -1;
          continue;
        }
        if (c != '\r' && !textchar(c)) return fail(h, HTTP_ESYNTAX, "control character in a line");
        if (h->linelen >= sizeof h->line - 1) return fail(h, inhead ? HTTP_EHEAD : HTTP_EFRAME, inhead ? "header line too long" : "chunk line too long");
        h->line[h->linelen++] = (char)c;
        continue;
      }
      case S_BODY: case S_CHUNK:
        k = n - i;
        if (k > h->left) k = (size_t)h->left;
        if (take(h, p + i, k) < 0) return -1;
        i += k;
        h->left -= k;
        if (!h->left) {
          if (h->state == S_BODY) { h->state = S_DONE; return 1; }
          h->state = S_LINE;
          h->kind = L_CHUNKEND;
        }
        continue;
      case S_CLOSE:
        if (take(h, p + i, n - i) < 0) return -1;
        return 0;
    }
  }
  return h->state == S_DONE ? 1 : h->state == S_ERR ? -1 : 0;
}

int http_eof(http *h)
{
  if (h->state == S_CLOSE) { h->state = S_DONE; return 1; }
  if (h->state == S_DONE) return 1;
  if (h->state == S_ERR) return -1;
  return fail(h, HTTP_ETRUNC, h->head ? "connection closed in the body" : "connection closed in the head");
}
