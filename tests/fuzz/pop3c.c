/* The client side of POP3 (src/lib/pop3c.c, for e2e-popfetch). The first
 * byte drives the splits, the rest is what a server sent:
 *  - as the data of a multi-line reply (pop3_body_feed): fed whole, byte
 *    by byte, and in pieces of random sizes (the first byte: at most 1..32,
 *    and the seed), the three must agree with each other and with a line-by-line decoder
 *    written here (the message, the bytes taken, the end found), and each
 *    feed stays within its n + 1 bytes of output;
 *  - each of its lines (CR LF or LF cut off) as a status line
 *    (pop3_status), a unique-id (pop3_uid_valid) and a UIDL/LIST line
 *    (pop3_listing), each checked against what RFC 1939 says. */
#include "fuzz.h"
#include "e2e.h"

static uint32_t state;
static uint32_t rnd(void) { state = state * 1103515245u + 12345u; return state >> 8; }

/* The reference: lines end at LF; a line "." ends the data; any other
 * line's first dot is dropped and its CR LF made LF; an unfinished last
 * line loses a first dot and a last CR (held back, as the next byte may
 * be LF). Returns the bytes taken, the message in out, *end set. */
static size_t reference(uint8_t const *in, size_t n, char *out, size_t *on, int *end)
{
  size_t i = 0, o = 0;
  *end = 0;
  while (i < n) {
    uint8_t const *lf = memchr(in + i, '\n', n - i);
    size_t len = lf ? (size_t)(lf - (in + i)) + 1 : n - i, s = i, e = i + len;
    if (lf && in[s] == '.' && (len == 2 || (len == 3 && in[s + 1] == '\r'))) { *end = 1; i = e; break; }
    if (in[s] == '.') s++;
    if (lf && e - s >= 2 && in[e - 2] == '\r') { memcpy(out + o, in + s, e - 2 - s); o += e - 2 - s; out[o++] = '\n'; }
    else if (!lf && e > s && in[e - 1] == '\r') { memcpy(out + o, in + s, e - 1 - s); o += e - 1 - s; }
    else { memcpy(out + o, in + s, e - s); o += e - s; }
    i = e;
  }
  *on = o;
  return i;
}

/* Feeds in pieces of at most max bytes (random sizes when rand), each
 * into the last k + 1 bytes of a buffer of max + 1 (so that a write past
 * a piece's room is caught); collects the message into out. */
static size_t pieces(uint8_t const *in, size_t n, size_t max, int rand, char *out, size_t *on, int *end)
{
  pop3_body b;
  size_t i = 0, o = 0;
  char *room = malloc(max + 1);
  if (!room) abort();
  pop3_body_init(&b);
  FZ_CHECK(!pop3_body_done(&b));
  while (i < n) {
    size_t k = rand ? 1 + rnd() % max : max, took, got = (size_t)-1;
    char *buf;
    if (k > n - i) k = n - i;
    buf = room + max - k;
    took = pop3_body_feed(&b, (char const *)in + i, k, buf, &got);
    FZ_CHECK(took <= k && got <= k + 1);
    FZ_CHECK(took == k || pop3_body_done(&b));
    memcpy(out + o, buf, got);
    o += got;
    i += took;
    if (pop3_body_done(&b)) break;
  }
  free(room);
  if (pop3_body_done(&b)) {   /* after the end nothing more is taken */
    size_t got = 1;
    char x[2];
    FZ_CHECK(pop3_body_feed(&b, "x", 1, x, &got) == 0 && got == 0);
  }
  *on = o;
  *end = pop3_body_done(&b);
  return i;
}

static void body(uint8_t const *in, size_t n, uint8_t seed)
{
  char *ref = malloc(n + 1), *out = malloc(n + 1);
  size_t rn, rt, on, t, max = (size_t)(seed & 31) + 1;
  int rend, end;
  if (!ref || !out) abort();
  rt = reference(in, n, ref, &rn, &rend);
  FZ_CHECK(rn <= n && rt <= n && (rend || rt == n));
  t = pieces(in, n, n ? n : 1, 0, out, &on, &end);   /* whole */
  FZ_CHECK(t == rt && end == rend && on == rn && !memcmp(out, ref, on));
  t = pieces(in, n, 1, 0, out, &on, &end);            /* byte by byte */
  FZ_CHECK(t == rt && end == rend && on == rn && !memcmp(out, ref, on));
  state = seed;
  t = pieces(in, n, max, 1, out, &on, &end);          /* pieces of 1..max */
  FZ_CHECK(t == rt && end == rend && on == rn && !memcmp(out, ref, on));
  free(ref);
  free(out);
}

static void status(char const *l, size_t n)
{
  char *c = fz_copy((uint8_t const *)l, n);
  int r = pop3_status(c, n);
  FZ_CHECK(r >= -1 && r <= 1);
  FZ_CHECK(r != 1 || (n >= 3 && !memcmp(c, "+OK", 3) && (n == 3 || c[3] == ' ')));
  FZ_CHECK(r != 0 || (n >= 4 && !memcmp(c, "-ERR", 4) && (n == 4 || c[4] == ' ')));
  if (r < 0) FZ_CHECK(!(n >= 3 && !memcmp(c, "+OK", 3) && (n == 3 || c[3] == ' '))
                      && !(n >= 4 && !memcmp(c, "-ERR", 4) && (n == 4 || c[4] == ' ')));
  free(c);
}

static void uid(char const *l, size_t n)
{
  char *c = fz_copy((uint8_t const *)l, n);
  size_t i;
  int want = n >= 1 && n <= 70;
  for (i = 0; i < n; i++) want &= (unsigned char)c[i] >= 0x21 && (unsigned char)c[i] <= 0x7e;
  FZ_CHECK(pop3_uid_valid(c, n) == want);
  free(c);
}

/* On success: the line was "NUM ARG[ ...]", NUM decimal 1..POP3_MSGS_MAX,
 * ARG the non-empty text up to the next blank, split in place. */
static void listing(char const *l, size_t n)
{
  char *c = fz_copy((uint8_t const *)l, n), *arg = 0, digits[16];
  unsigned int num = 0;
  size_t k, z;
  if (strlen(c) != n) { free(c); return; }
  k = strcspn(c, " ");
  if (!pop3_listing(c, &num, &arg)) {
    FZ_CHECK(k < n && num >= 1 && num <= POP3_MSGS_MAX && arg == c + k + 1);
    for (z = 0; z < k - 1 && l[z] == '0'; z++) ;
    snprintf(digits, sizeof digits, "%u", num);
    FZ_CHECK(strlen(digits) == k - z && !memcmp(digits, l + z, k - z));
    FZ_CHECK(*arg && !strchr(arg, ' ') && !memcmp(arg, l + k + 1, strlen(arg)));
    FZ_CHECK(k + 1 + strlen(arg) == n || l[k + 1 + strlen(arg)] == ' ');
  }
  free(c);
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  uint8_t const *p, *nl;
  if (!n) return 0;
  body(d + 1, n - 1, d[0]);
  for (p = d + 1; p < d + n; p = nl + 1) {
    size_t len;
    nl = memchr(p, '\n', (size_t)(d + n - p));
    if (!nl) nl = d + n;
    len = (size_t)(nl - p);
    if (len && p[len - 1] == '\r') len--;
    status((char const *)p, len);
    uid((char const *)p, len);
    listing((char const *)p, len);
  }
  return 0;
}
