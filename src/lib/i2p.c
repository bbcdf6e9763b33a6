/* I2P formats: base64/base32, destinations, private-key blobs, b32
 * addresses, the well-known file. Nothing here trusts its input. */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <bearssl/bearssl_hash.h>
#include "i2p.h"

char const *i2p_reason(int e)
{
  switch (e) {
    case 0: return "ok";
    case I2P_ESYNTAX: return "malformed: bad character, padding or trailing bits";
    case I2P_ESPACE: return "too long";
    case I2P_ETRUNC: return "truncated";
    case I2P_ETRAIL: return "trailing garbage after the destination";
    case I2P_ECERT: return "unsupported or malformed certificate";
    case I2P_ESIGTYPE: return "unsupported signature type";
    case I2P_ECRYPTO: return "unsupported encryption type";
    case I2P_EOFFLINE: return "offline-signed keys are not supported";
    case I2P_EPRIVATE: return "a private key, not a public destination";
    case I2P_EPUBLIC: return "a public destination, not a private key";
    case I2P_EPORT: return "port not in 1..65535";
    case I2P_EB32: return "not a b32 address of 52 characters";
  }
  return "unknown error";
}

/* ---- base64 ---- */

static char const b64chars[64] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";

/* alpha: the last two letters of the alphabet ("-~" for I2P, "+/" for
 * RFC 4648's standard base64). */
static int b64val(unsigned char c, char const *alpha)
{
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == (unsigned char)alpha[0]) return 62;
  if (c == (unsigned char)alpha[1]) return 63;
  return -1;
}

size_t i2p_b64_encode(char *out, unsigned char const *in, size_t n)
{
  size_t i, w = 0;
  for (i = 0; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[w++] = b64chars[v >> 18];
    out[w++] = b64chars[(v >> 12) & 63];
    out[w++] = b64chars[(v >> 6) & 63];
    out[w++] = b64chars[v & 63];
  }
  if (n - i == 1) {
    out[w++] = b64chars[in[i] >> 2];
    out[w++] = b64chars[(in[i] & 3) << 4];
    out[w++] = '=';
    out[w++] = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
    out[w++] = b64chars[v >> 10];
    out[w++] = b64chars[(v >> 4) & 63];
    out[w++] = b64chars[(v & 15) << 2];
    out[w++] = '=';
  }
  return w;
}

/* Packs n letters of width bits each (their values from val) into bytes;
 * leftover bits must be zero. The caller has checked the length. */
static int unpack(unsigned char *out, size_t *outlen, char const *in, size_t n, unsigned int width,
                  int (*val)(unsigned char, char const *), char const *alpha)
{
  size_t i, w = 0;
  uint32_t acc = 0;
  unsigned int bits = 0;
  for (i = 0; i < n; i++) {
    int v = val((unsigned char)in[i], alpha);
    if (v < 0) return I2P_ESYNTAX;
    acc = acc << width | (uint32_t)v;
    bits += width;
    if (bits >= 8) {
      bits -= 8;
      out[w++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc) return I2P_ESYNTAX;
  *outlen = w;
  return 0;
}

static int b64_decode_alpha(unsigned char *out, size_t max, size_t *outlen, char const *in, size_t n,
                            char const *alpha)
{
  size_t pad = 0;
  if (n && in[n - 1] == '=') pad = (n > 1 && in[n - 2] == '=') ? 2 : 1;
  if (pad && n % 4) return I2P_ESYNTAX;
  n -= pad;
  if (n % 4 == 1 || (pad && 4 - n % 4 != pad)) return I2P_ESYNTAX;
  if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > max) return I2P_ESPACE;
  return unpack(out, outlen, in, n, 6, b64val, alpha);
}

int i2p_b64_decode(unsigned char *out, size_t max, size_t *outlen, char const *in, size_t n)
{
  return b64_decode_alpha(out, max, outlen, in, n, "-~");
}

int std_b64_decode(unsigned char *out, size_t max, size_t *outlen, char const *in, size_t n)
{
  return b64_decode_alpha(out, max, outlen, in, n, "+/");
}

/* ---- base32 ---- */

static char const b32chars[32] = "abcdefghijklmnopqrstuvwxyz234567";

static int b32val(unsigned char c, char const *unused)
{
  (void)unused;
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

size_t i2p_b32_encode(char *out, unsigned char const *in, size_t n)
{
  size_t i, w = 0;
  uint32_t acc = 0;
  unsigned int bits = 0;
  for (i = 0; i < n; i++) {
    acc = acc << 8 | in[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[w++] = b32chars[(acc >> bits) & 31];
    }
    acc &= (1u << bits) - 1;
  }
  if (bits) out[w++] = b32chars[(acc << (5 - bits)) & 31];
  return w;
}

int i2p_b32_decode(unsigned char *out, size_t max, size_t *outlen, char const *in, size_t n)
{
  switch (n % 8) { case 1: case 3: case 6: return I2P_ESYNTAX; }
  if (n * 5 / 8 > max) return I2P_ESPACE;
  return unpack(out, outlen, in, n, 5, b32val, 0);
}

/* ---- key types ---- */

typedef struct keytype { unsigned int type; size_t pub, priv; } keytype;

/* Signature types allowed in destinations, with their key lengths. */
static keytype const sigtypes[] = {
  { I2P_SIG_DSA_SHA1, 128, 20 },
  { I2P_SIG_ECDSA_P256, 64, 32 },
  { I2P_SIG_ECDSA_P384, 96, 48 },
  { I2P_SIG_ECDSA_P521, 132, 66 },
  { I2P_SIG_ED25519, 32, 32 },
  { I2P_SIG_REDDSA, 32, 32 },
};

/* Encryption types; priv 0: we cannot tell how long its private key is. */
static keytype const cryptotypes[] = {
  { I2P_CRYPTO_ELGAMAL, 256, 256 },
  { 1, 64, 0 }, { 2, 96, 0 }, { 3, 132, 0 },
  { I2P_CRYPTO_X25519, 32, 32 },
};

static keytype const *keytype_find(keytype const *t, size_t n, unsigned int type)
{
  size_t i;
  for (i = 0; i < n; i++) if (t[i].type == type) return t + i;
  return 0;
}

#define SIGTYPE(x) keytype_find(sigtypes, sizeof sigtypes / sizeof *sigtypes, (x))
#define CRYPTOTYPE(x) keytype_find(cryptotypes, sizeof cryptotypes / sizeof *cryptotypes, (x))

/* ---- destinations ---- */

#define CERT_NULL 0
#define CERT_KEY 5

static unsigned int be16(unsigned char const *s) { return (unsigned int)s[0] << 8 | s[1]; }

/* The KEY certificate's payload: both types known, and exactly as long
 * as their key bytes that do not fit the 384-byte key area need. */
static int keycert(i2p_dest *d, unsigned char const *p, size_t plen)
{
  keytype const *sig, *crypto;
  size_t want = 4;
  if (plen < 4) return I2P_ECERT;
  d->sigtype = be16(p);
  d->cryptotype = be16(p + 2);
  sig = SIGTYPE(d->sigtype);
  if (!sig) return I2P_ESIGTYPE;
  crypto = CRYPTOTYPE(d->cryptotype);
  if (!crypto) return I2P_ECRYPTO;
  if (sig->pub > 128) want += sig->pub - 128;
  if (crypto->pub > 256) want += crypto->pub - 256;
  return plen == want ? 0 : I2P_ECERT;
}

int i2p_dest_prefix(i2p_dest *d, unsigned char const *s, size_t len)
{
  size_t clen;
  if (len < I2P_DEST_MIN) return I2P_ETRUNC;
  d->certtype = s[384];
  clen = be16(s + 385);
  d->sigtype = I2P_SIG_DSA_SHA1;
  d->cryptotype = I2P_CRYPTO_ELGAMAL;
  if (d->certtype == CERT_NULL) {
    if (clen) return I2P_ECERT;
  } else if (d->certtype == CERT_KEY) {
    int e;
    if (clen > I2P_DEST_MAX - I2P_DEST_MIN) return I2P_ECERT;
    if (len - I2P_DEST_MIN < clen) return I2P_ETRUNC;
    e = keycert(d, s + I2P_DEST_MIN, clen);
    if (e) return e;
  } else return I2P_ECERT;
  d->len = I2P_DEST_MIN + clen;
  return 0;
}

int i2p_dest_parse(i2p_dest *d, unsigned char const *s, size_t len)
{
  i2p_priv k;
  int e = i2p_dest_prefix(d, s, len);
  if (e) return e;
  if (len == d->len) return 0;
  e = i2p_priv_parse(&k, s, len);
  return (!e || e == I2P_EOFFLINE) ? I2P_EPRIVATE : I2P_ETRAIL;
}

int i2p_dest_b64(i2p_dest *d, unsigned char *bin, size_t max, char const *b64, size_t n)
{
  size_t len;
  int e = i2p_b64_decode(bin, max, &len, b64, n);
  return e ? e : i2p_dest_parse(d, bin, len);
}

/* ---- private-key blobs ---- */

static int allzero(unsigned char const *s, size_t n)
{
  unsigned char c = 0;
  while (n--) c |= *s++;
  return !c;
}

int i2p_priv_parse(i2p_priv *k, unsigned char const *s, size_t len)
{
  keytype const *sig, *crypto;
  int e = i2p_dest_prefix(&k->dest, s, len);
  if (e) return e;
  if (len == k->dest.len) return I2P_EPUBLIC;
  crypto = CRYPTOTYPE(k->dest.cryptotype);
  sig = SIGTYPE(k->dest.sigtype);
  if (!crypto || !crypto->priv) return I2P_ECRYPTO;
  if (!sig) return I2P_ESIGTYPE;
  k->enclen = crypto->priv;
  k->siglen = sig->priv;
  k->len = k->dest.len + k->enclen + k->siglen;
  if (len < k->len) return I2P_ETRUNC;
  if (allzero(s + k->len - k->siglen, k->siglen)) return I2P_EOFFLINE;
  return len == k->len ? 0 : I2P_ETRAIL;
}

int i2p_priv_b64(i2p_priv *k, unsigned char *bin, size_t max, char const *b64, size_t n)
{
  size_t len;
  int e = i2p_b64_decode(bin, max, &len, b64, n);
  return e ? e : i2p_priv_parse(k, bin, len);
}

int i2p_keyfile_parse(i2p_priv *k, unsigned char *bin, size_t max, size_t *b64len,
                      char const *text, size_t n)
{
  if (n && text[n - 1] == '\n') n--;
  *b64len = n;
  return i2p_priv_b64(k, bin, max, text, n);
}

/* ---- b32 addresses ---- */

static char const b32suffix[] = ".b32.i2p";
#define B32_CHARS 52
#define B32_SUFFIX_LEN (sizeof b32suffix - 1)

void i2p_dest_hash(unsigned char hash[I2P_HASH_LEN], unsigned char const *dest, size_t len)
{
  br_sha256_context c;
  br_sha256_init(&c);
  br_sha256_update(&c, dest, len);
  br_sha256_out(&c, hash);
}

void i2p_b32_of_hash(char *out, unsigned char const hash[I2P_HASH_LEN])
{
  size_t w = i2p_b32_encode(out, hash, I2P_HASH_LEN);
  memcpy(out + w, b32suffix, B32_SUFFIX_LEN + 1);
}

void i2p_b32_address(char *out, unsigned char const *dest, size_t len)
{
  unsigned char h[I2P_HASH_LEN];
  i2p_dest_hash(h, dest, len);
  i2p_b32_of_hash(out, h);
}

int i2p_b32_domain(unsigned char *hash, char const *s, size_t len)
{
  unsigned char h[I2P_HASH_LEN];
  size_t hl;
  if (len != I2P_B32_ADDR_LEN || strncasecmp(s + B32_CHARS, b32suffix, B32_SUFFIX_LEN))
    return I2P_EB32;
  if (i2p_b32_decode(h, sizeof h, &hl, s, B32_CHARS) || hl != I2P_HASH_LEN) return I2P_EB32;
  if (hash) memcpy(hash, h, I2P_HASH_LEN);
  return 0;
}

int i2p_is_b32_domain(char const *s)
{
  return !i2p_b32_domain(0, s, strlen(s));
}

/* ---- comparing ---- */

int i2p_dest_same(unsigned char const *a, size_t alen, unsigned char const *b, size_t blen)
{
  i2p_dest d;
  if (alen != blen || i2p_dest_parse(&d, a, alen)) return 0;
  return !memcmp(a, b, alen);
}

int i2p_dest_same_b64(char const *a, size_t alen, char const *b, size_t blen)
{
  unsigned char da[I2P_DEST_MAX], db[I2P_DEST_MAX];
  i2p_dest x, y;
  if (i2p_dest_b64(&x, da, sizeof da, a, alen) || i2p_dest_b64(&y, db, sizeof db, b, blen))
    return 0;
  return x.len == y.len && !memcmp(da, db, x.len);
}

int i2p_dest_is_b32(unsigned char const *dest, size_t len, char const *b32, size_t n)
{
  unsigned char want[I2P_HASH_LEN], got[I2P_HASH_LEN];
  i2p_dest d;
  if (i2p_b32_domain(want, b32, n) || i2p_dest_parse(&d, dest, len)) return 0;
  i2p_dest_hash(got, dest, len);
  return !memcmp(want, got, I2P_HASH_LEN);
}

/* ---- the well-known file ---- */

static int blank(char c) { return c == ' ' || c == '\t'; }

/* A plain decimal in 1..65535: no sign, no leading zero. */
static int scan_port(unsigned int *port, char const *s, size_t n)
{
  unsigned int v = 0;
  size_t i;
  if (!n || n > 5 || s[0] == '0') return I2P_EPORT;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return I2P_EPORT;
    v = v * 10 + (unsigned int)(s[i] - '0');
  }
  if (v > 65535) return I2P_EPORT;
  *port = v;
  return 0;
}

static int wellknown_dest(i2p_wellknown *w, char const *s, size_t n)
{
  unsigned char bin[I2P_WELLKNOWN_MAX / 4 * 3];
  size_t len;
  int e = i2p_b64_decode(bin, sizeof bin, &len, s, n);
  if (e) return e;
  e = i2p_dest_parse(&w->d, bin, len);
  if (e) return e;
  memcpy(w->dest, bin, len);
  i2p_dest_hash(w->hash, bin, len);
  w->full = 1;
  return 0;
}

static int has_b32_suffix(char const *s, size_t n)
{
  return n >= B32_SUFFIX_LEN && !strncasecmp(s + n - B32_SUFFIX_LEN, b32suffix, B32_SUFFIX_LEN);
}

int i2p_wellknown_parse(i2p_wellknown *w, char const *s, size_t len)
{
  size_t tok, p;
  int e;
  if (len > I2P_WELLKNOWN_MAX) return I2P_ESPACE;
  if (len && s[len - 1] == '\n') len--;
  if (len && s[len - 1] == '\r') len--;
  for (tok = 0; tok < len && !blank(s[tok]); tok++) ;
  if (!tok) return I2P_ESYNTAX;
  w->full = 0;
  w->port = 0;
  if (has_b32_suffix(s, tok)) e = i2p_b32_domain(w->hash, s, tok);
  else e = wellknown_dest(w, s, tok);
  if (e) return e;
  if (tok == len) return 0;
  for (p = tok; p < len && blank(s[p]); p++) ;
  return scan_port(&w->port, s + p, len - p);
}

int i2p_wellknown_match(i2p_wellknown const *w, unsigned char const *dest, size_t len)
{
  unsigned char h[I2P_HASH_LEN];
  i2p_dest d;
  if (i2p_dest_parse(&d, dest, len)) return 0;
  if (w->full) return len == w->d.len && !memcmp(dest, w->dest, len);
  i2p_dest_hash(h, dest, len);
  return !memcmp(h, w->hash, I2P_HASH_LEN);
}
