/* Unit tests for src/lib/i2p.c: known answers from the five test keys,
 * base64/base32 vectors and round trips, and malformed input.
 * The keys are read at run time from $E2E_TESTDATA/i2p-keys (or
 * $E2E_TESTDATA itself), ../shared/testdata/i2p-keys, or tests/i2p/keys. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"
#include "i2p.h"

static char keydir[1024];

static int has_index(char const *dir)
{
  char p[1100];
  snprintf(p, sizeof p, "%s/INDEX", dir);
  return access(p, R_OK) == 0;
}

static int find_keydir(void)
{
  char const *t = getenv("E2E_TESTDATA");
  char const *c[4];
  unsigned int i, n = 0;
  char a[1024];
  if (t && *t) {
    snprintf(a, sizeof a, "%s/i2p-keys", t);
    c[n++] = a;
    c[n++] = t;
  }
  c[n++] = "../shared/testdata/i2p-keys";
  c[n++] = "tests/i2p/keys";
  for (i = 0; i < n; i++)
    if (has_index(c[i])) { snprintf(keydir, sizeof keydir, "%s", c[i]); return 1; }
  return 0;
}

/* The file's text without its final newline; 0 when unreadable. */
static size_t slurp(char const *name, char const *ext, char *buf, size_t max)
{
  char p[1200];
  ssize_t r;
  size_t n = 0;
  int fd;
  snprintf(p, sizeof p, "%s/%s.%s", keydir, name, ext);
  fd = open(p, O_RDONLY);
  if (fd < 0) return 0;
  while (n < max - 1 && (r = read(fd, buf + n, max - 1 - n)) > 0) n += (size_t)r;
  close(fd);
  if (n && buf[n - 1] == '\n') n--;
  buf[n] = 0;
  return n;
}

typedef struct key {
  char const *name;
  size_t publen, pubbytes, privlen, privbytes;
  unsigned int certtype, sigtype, cryptotype;
  size_t enclen, siglen;
  char const *b32;
  /* loaded */
  char pub[1200], priv[1200];
  unsigned char pubbin[1000], privbin[1000];
} key;

static key keys[] = {
  { "ed25519-1", 524, 391, 908, 679, 5, 7, 0, 256, 32,
    "5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfq.b32.i2p", "", "", "", "" },
  { "ed25519-2", 524, 391, 908, 679, 5, 7, 0, 256, 32,
    "6uctnxlhltajhoegu6uo74xlpunuutpck6incikklhdwyabyl4la.b32.i2p", "", "", "", "" },
  { "ed25519-x25519", 524, 391, 608, 455, 5, 7, 4, 32, 32,
    "zuvshso6gdtul5g7wonzo53yaqfldisyamwkzhznm647rxqfjpsq.b32.i2p", "", "", "", "" },
  { "ecdsa-p256", 524, 391, 908, 679, 5, 1, 0, 256, 32,
    "wxkmpzktkmdheqidh7yecygnbmsqj6vxvpnnhb3uwmiym3te5una.b32.i2p", "", "", "", "" },
  { "dsa-default", 516, 387, 884, 663, 0, 0, 0, 256, 20,
    "k7ohhsob2zwri7kusvjn2easxjestypu6spd53kqor2wciyfqwna.b32.i2p", "", "", "", "" },
};
#define NKEYS (sizeof keys / sizeof *keys)

static void test_key(key *k, key *other)
{
  char buf[2048], b32file[128], addr[I2P_B32_ADDR_LEN + 1], wk[1400];
  unsigned char bin[2048], hash[I2P_HASH_LEN];
  i2p_dest d;
  i2p_priv p;
  i2p_wellknown w;
  size_t n, pl = strlen(k->pub), vl = strlen(k->priv), b64len;
  int e;

  ok(pl == k->publen, "%s: pub is %zu chars", k->name, pl);
  ok(vl == k->privlen, "%s: priv is %zu chars", k->name, vl);
  e = i2p_dest_b64(&d, k->pubbin, sizeof k->pubbin, k->pub, pl);
  ok(!e, "%s: pub parses as a destination (%s)", k->name, i2p_reason(e));
  ok(d.len == k->pubbytes, "%s: destination is %zu bytes", k->name, d.len);
  ok(d.certtype == k->certtype && d.sigtype == k->sigtype && d.cryptotype == k->cryptotype,
     "%s: cert %u sig %u crypto %u", k->name, d.certtype, d.sigtype, d.cryptotype);
  n = i2p_b64_encode(buf, k->pubbin, d.len);
  ok(n == pl && !memcmp(buf, k->pub, pl), "%s: pub re-encodes identically", k->name);

  i2p_b32_address(addr, k->pubbin, d.len);
  ok(!strcmp(addr, k->b32), "%s: b32 address %s", k->name, addr);
  ok(slurp(k->name, "b32", b32file, sizeof b32file) && !strcmp(addr, b32file), "%s: b32 matches the .b32 file", k->name);
  ok(i2p_dest_is_b32(k->pubbin, d.len, k->b32, strlen(k->b32)), "%s: dest is its b32", k->name);
  for (n = 0; n < 52; n++) buf[n] = (char)(k->b32[n] >= 'a' ? k->b32[n] - 32 : k->b32[n]);
  memcpy(buf + 52, ".B32.I2P", 8);
  ok(i2p_dest_is_b32(k->pubbin, d.len, buf, 60), "%s: dest is its b32 in upper case", k->name);
  ok(!i2p_dest_is_b32(k->pubbin, d.len, other->b32, strlen(other->b32)), "%s: dest is not %s's b32", k->name, other->name);
  ok(!i2p_b32_domain(hash, k->b32, strlen(k->b32)), "%s: b32 is a b32 domain", k->name);

  e = i2p_priv_b64(&p, k->privbin, sizeof k->privbin, k->priv, vl);
  ok(!e, "%s: priv parses as a private key (%s)", k->name, i2p_reason(e));
  ok(p.len == k->privbytes && p.dest.len == k->pubbytes, "%s: blob %zu bytes, dest %zu", k->name, p.len, p.dest.len);
  ok(p.enclen == k->enclen && p.siglen == k->siglen, "%s: enc key %zu, sig key %zu", k->name, p.enclen, p.siglen);
  ok(!memcmp(k->privbin, k->pubbin, k->pubbytes), "%s: blob starts with the public destination", k->name);
  ok(p.dest.sigtype == k->sigtype && p.dest.cryptotype == k->cryptotype, "%s: blob types", k->name);
  n = i2p_b64_encode(buf, k->privbin, p.len);
  ok(n == vl && !memcmp(buf, k->priv, vl), "%s: priv re-encodes identically", k->name);
  e = i2p_dest_prefix(&d, k->privbin, p.len);
  ok(!e && d.len == k->pubbytes, "%s: destination prefix of the blob is %zu bytes", k->name, d.len);

  ok(i2p_dest_parse(&d, k->privbin, p.len) == I2P_EPRIVATE, "%s: blob where a destination belongs: EPRIVATE", k->name);
  ok(i2p_priv_parse(&p, k->pubbin, k->pubbytes) == I2P_EPUBLIC, "%s: destination where a blob belongs: EPUBLIC", k->name);
  ok(i2p_dest_parse(&d, k->pubbin, k->pubbytes - 1) == I2P_ETRUNC, "%s: destination minus a byte: ETRUNC", k->name);
  ok(i2p_priv_parse(&p, k->privbin, k->privbytes - 1) == I2P_ETRUNC, "%s: blob minus a byte: ETRUNC", k->name);
  memcpy(bin, k->privbin, k->privbytes);
  bin[k->privbytes] = 1;
  ok(i2p_priv_parse(&p, bin, k->privbytes + 1) == I2P_ETRAIL, "%s: blob plus a byte: ETRAIL", k->name);
  memcpy(bin, k->pubbin, k->pubbytes);
  bin[k->pubbytes] = 0;
  e = i2p_dest_parse(&d, bin, k->pubbytes + 1);
  ok(e == I2P_ETRAIL, "%s: destination plus a byte: ETRAIL (%s)", k->name, i2p_reason(e));

  /* key file text */
  memcpy(buf, k->priv, vl);
  buf[vl] = '\n';
  e = i2p_keyfile_parse(&p, bin, sizeof bin, &b64len, buf, vl + 1);
  ok(!e && b64len == vl && p.len == k->privbytes, "%s: key file with newline", k->name);
  e = i2p_keyfile_parse(&p, bin, sizeof bin, &b64len, k->pub, pl);
  ok(e == I2P_EPUBLIC, "%s: key file holding the public destination: EPUBLIC", k->name);

  /* offline signature: an all-zero signing key, then more */
  memcpy(bin, k->privbin, k->privbytes);
  memset(bin + k->privbytes - k->siglen, 0, k->siglen);
  ok(i2p_priv_parse(&p, bin, k->privbytes) == I2P_EOFFLINE, "%s: all-zero signing key: EOFFLINE", k->name);
  memset(bin + k->privbytes, 0x55, 100);
  ok(i2p_priv_parse(&p, bin, k->privbytes + 100) == I2P_EOFFLINE, "%s: offline section: EOFFLINE", k->name);
  ok(i2p_dest_parse(&d, bin, k->privbytes + 100) == I2P_EPRIVATE, "%s: offline blob as destination: EPRIVATE", k->name);

  /* well-known bodies */
  snprintf(wk, sizeof wk, "%s\n", k->pub);
  e = i2p_wellknown_parse(&w, wk, strlen(wk));
  ok(!e && w.full && !w.port && w.d.len == k->pubbytes, "%s: well-known full destination (%s)", k->name, i2p_reason(e));
  i2p_dest_hash(hash, k->pubbin, k->pubbytes);
  ok(!memcmp(w.hash, hash, 32), "%s: well-known hash", k->name);
  ok(i2p_wellknown_match(&w, k->pubbin, k->pubbytes), "%s: well-known matches the destination", k->name);
  ok(!i2p_wellknown_match(&w, other->pubbin, other->pubbytes), "%s: well-known does not match %s", k->name, other->name);
  snprintf(wk, sizeof wk, "%s 25\n", k->b32);
  e = i2p_wellknown_parse(&w, wk, strlen(wk));
  ok(!e && !w.full && w.port == 25, "%s: well-known b32 with port (%s)", k->name, i2p_reason(e));
  ok(i2p_wellknown_match(&w, k->pubbin, k->pubbytes), "%s: well-known b32 matches the destination", k->name);
  ok(!i2p_wellknown_match(&w, other->pubbin, other->pubbytes), "%s: well-known b32 does not match %s", k->name, other->name);
  snprintf(wk, sizeof wk, "%s\n", k->priv);
  e = i2p_wellknown_parse(&w, wk, strlen(wk));
  ok(e == I2P_EPRIVATE, "%s: well-known holding the private key: EPRIVATE (%s)", k->name, i2p_reason(e));

  ok(i2p_dest_same(k->pubbin, k->pubbytes, k->pubbin, k->pubbytes), "%s: same as itself", k->name);
  ok(!i2p_dest_same(k->pubbin, k->pubbytes, other->pubbin, other->pubbytes), "%s: not the same as %s", k->name, other->name);
}

static void test_keys(void)
{
  unsigned int i;
  int loaded = find_keydir();
  ok(loaded, "found the test keys (%s)", loaded ? keydir : "set E2E_TESTDATA");
  if (!loaded) return;
  for (i = 0; i < NKEYS; i++) {
    size_t a = slurp(keys[i].name, "pub", keys[i].pub, sizeof keys[i].pub);
    size_t b = slurp(keys[i].name, "priv", keys[i].priv, sizeof keys[i].priv);
    ok(a && b, "%s: read", keys[i].name);
  }
  for (i = 0; i < NKEYS; i++) test_key(keys + i, keys + (i + 1) % NKEYS);
}

/* ---- base64 ---- */

/* s with control and non-ASCII bytes as \xNN, for test names. */
static char const *vis(char const *s)
{
  static char out[256];
  size_t w = 0;
  for (; *s && w < sizeof out - 5; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 32 && c < 127) out[w++] = (char)c;
    else w += (size_t)snprintf(out + w, 5, "\\x%02x", c);
  }
  out[w] = 0;
  return out;
}

static void b64_is(char const *raw, char const *enc)
{
  char out[64];
  unsigned char dec[64];
  size_t n = i2p_b64_encode(out, (unsigned char const *)raw, strlen(raw)), dl = 99;
  int e;
  ok(n == strlen(enc) && !memcmp(out, enc, n), "b64 \"%s\" -> \"%.*s\"", raw, (int)n, out);
  e = i2p_b64_decode(dec, sizeof dec, &dl, enc, strlen(enc));
  ok(!e && dl == strlen(raw) && !memcmp(dec, raw, dl), "b64 \"%s\" decodes", enc);
  n = strlen(enc);
  while (n && enc[n - 1] == '=') n--;
  e = i2p_b64_decode(dec, sizeof dec, &dl, enc, n);
  ok(!e && dl == strlen(raw) && !memcmp(dec, raw, dl), "b64 \"%.*s\" decodes without padding", (int)n, enc);
}

static void b64_bad(char const *enc, int want)
{
  unsigned char dec[64];
  size_t dl;
  int e = i2p_b64_decode(dec, sizeof dec, &dl, enc, strlen(enc));
  ok(e == want, "b64 \"%s\" rejected (%s)", vis(enc), i2p_reason(e));
}

static unsigned int seed = 12345;
static unsigned char rnd(void) { seed = seed * 1103515245u + 12345u; return (unsigned char)(seed >> 16); }

static void test_b64(void)
{
  unsigned char raw[300], dec[300], two[2] = { 0xfb, 0xff };
  char enc[400];
  size_t i, n, dl;
  int good = 1;
  b64_is("", "");
  b64_is("f", "Zg==");
  b64_is("fo", "Zm8=");
  b64_is("foo", "Zm9v");
  b64_is("foob", "Zm9vYg==");
  b64_is("fooba", "Zm9vYmE=");
  b64_is("foobar", "Zm9vYmFy");
  n = i2p_b64_encode(enc, two, 2);
  ok(n == 4 && !memcmp(enc, "-~8=", 4), "b64 alphabet: fb ff -> -~8=");
  ok(!i2p_b64_decode(dec, sizeof dec, &dl, "-~8=", 4) && dl == 2 && !memcmp(dec, two, 2), "b64 -~8= decodes");
  b64_bad("+/8=", I2P_ESYNTAX);
  b64_bad("Zm9v+g==", I2P_ESYNTAX);
  b64_bad("Zm9v/g==", I2P_ESYNTAX);
  b64_bad("Z", I2P_ESYNTAX);
  b64_bad("Zm9vY", I2P_ESYNTAX);
  b64_bad("Zg=", I2P_ESYNTAX);
  b64_bad("Zg===", I2P_ESYNTAX);
  b64_bad("Zm8==", I2P_ESYNTAX);
  b64_bad("Zm9v=", I2P_ESYNTAX);
  b64_bad("====", I2P_ESYNTAX);
  b64_bad("Zh==", I2P_ESYNTAX);       /* leftover bits */
  b64_bad("Zm9=", I2P_ESYNTAX);       /* leftover bits */
  b64_bad("Zg==Zg==", I2P_ESYNTAX);
  b64_bad("Zm 9v", I2P_ESYNTAX);
  b64_bad("Zm9v\n", I2P_ESYNTAX);
  b64_bad(" Zm9v", I2P_ESYNTAX);
  b64_bad("Zm9v\r", I2P_ESYNTAX);
  b64_bad("Zm\x80v", I2P_ESYNTAX);
  ok(i2p_b64_decode(dec, 5, &dl, "Zm9vYmFy", 8) == I2P_ESPACE, "b64 decode into a short buffer: ESPACE");
  ok(!i2p_b64_decode(dec, 6, &dl, "Zm9vYmFy", 8) && dl == 6, "b64 decode into an exact buffer");
  ok(i2p_b64_decode(dec, sizeof dec, &dl, "Zm\0v", 4) == I2P_ESYNTAX, "b64 NUL byte rejected");
  for (n = 0; n <= 200 && good; n++) {
    for (i = 0; i < n; i++) raw[i] = rnd();
    i = i2p_b64_encode(enc, raw, n);
    if (i != I2P_B64_LEN(n) || i2p_b64_decode(dec, sizeof dec, &dl, enc, i) || dl != n || memcmp(dec, raw, n)) good = 0;
  }
  ok(good, "b64 round trips, 0..200 random bytes");
}

/* ---- base32 ---- */

static void b32_is(char const *raw, char const *upper)
{
  char out[64], lower[64];
  unsigned char dec[64];
  size_t n, i, dl = 99;
  int e;
  for (i = 0; upper[i] && upper[i] != '='; i++) lower[i] = (char)(upper[i] >= 'A' && upper[i] <= 'Z' ? upper[i] + 32 : upper[i]);
  lower[i] = 0;
  n = i2p_b32_encode(out, (unsigned char const *)raw, strlen(raw));
  ok(n == strlen(lower) && !memcmp(out, lower, n), "b32 \"%s\" -> \"%.*s\" (RFC 4648: %s)", raw, (int)n, out, upper);
  e = i2p_b32_decode(dec, sizeof dec, &dl, lower, strlen(lower));
  ok(!e && dl == strlen(raw) && !memcmp(dec, raw, dl), "b32 \"%s\" decodes", lower);
  e = i2p_b32_decode(dec, sizeof dec, &dl, upper, strlen(lower));
  ok(!e && dl == strlen(raw) && !memcmp(dec, raw, dl), "b32 \"%.*s\" (upper case) decodes", (int)strlen(lower), upper);
}

static void b32_bad(char const *enc)
{
  unsigned char dec[64];
  size_t dl;
  int e = i2p_b32_decode(dec, sizeof dec, &dl, enc, strlen(enc));
  ok(e == I2P_ESYNTAX, "b32 \"%s\" rejected (%s)", vis(enc), i2p_reason(e));
}

static void test_b32(void)
{
  unsigned char raw[300], dec[300];
  char enc[600];
  size_t i, n, dl;
  int good = 1;
  b32_is("", "");
  b32_is("f", "MY======");
  b32_is("fo", "MZXQ====");
  b32_is("foo", "MZXW6===");
  b32_is("foob", "MZXW6YQ=");
  b32_is("fooba", "MZXW6YTB");
  b32_is("foobar", "MZXW6YTBOI======");
  b32_bad("MY======");
  b32_bad("m");
  b32_bad("mzx");
  b32_bad("mzxw6y");
  b32_bad("mz");        /* leftover bits */
  b32_bad("m1");
  b32_bad("m8");
  b32_bad("my ");
  b32_bad("my\n");
  ok(i2p_b32_decode(dec, 5, &dl, "mzxw6ytboi", 10) == I2P_ESPACE, "b32 decode into a short buffer: ESPACE");
  for (n = 0; n <= 200 && good; n++) {
    for (i = 0; i < n; i++) raw[i] = rnd();
    i = i2p_b32_encode(enc, raw, n);
    if (i != I2P_B32_LEN(n) || i2p_b32_decode(dec, sizeof dec, &dl, enc, i) || dl != n || memcmp(dec, raw, n)) good = 0;
  }
  ok(good, "b32 round trips, 0..200 random bytes");
}

/* ---- b32 domains ---- */

static void test_b32_domains(void)
{
  static char const good[] = "5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfq.b32.i2p";
  char s[128];
  unsigned char h[32];
  ok(i2p_is_b32_domain(good), "b32 domain: lower case");
  ok(i2p_is_b32_domain("5WPXANC2E4OGFFIS65JPYTPH4JNFCUK55WYW462Q3LTNE3SHLRFQ.B32.I2P"), "b32 domain: upper case");
  ok(!i2p_b32_domain(h, good, strlen(good)) && h[0] == 0xed, "b32 domain: its hash");
  ok(!i2p_is_b32_domain("5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfqaaaa.b32.i2p"), "56-char b32 rejected (encrypted leaseset)");
  ok(!i2p_is_b32_domain("5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfqaaaaaaa.b32.i2p"), "59-char b32 rejected");
  ok(!i2p_is_b32_domain("5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrf.b32.i2p"), "51-char b32 rejected");
  ok(!i2p_is_b32_domain("5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfb.b32.i2p"), "b32 with leftover bits rejected");
  ok(!i2p_is_b32_domain("5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlr1q.b32.i2p"), "b32 with '1' rejected");
  ok(!i2p_is_b32_domain("5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfq.b32.i2p."), "b32 with a trailing dot rejected");
  ok(!i2p_is_b32_domain("5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfq.i2p"), "b32 without .b32 rejected");
  ok(!i2p_is_b32_domain("5wpxanc2e4ogffis65jpytph4jnfcuk55wyw462q3ltne3shlrfqxb32.i2p"), "b32 with x for the dot rejected");
  ok(!i2p_is_b32_domain("thebuilder.i2p"), "a host name is not a b32 domain");
  ok(!i2p_is_b32_domain(""), "empty is not a b32 domain");
  snprintf(s, sizeof s, "%s", good);
  s[10] = 0;
  ok(i2p_b32_domain(h, s, 60) == I2P_EB32, "b32 with a NUL rejected");
}

/* ---- destinations built by hand ---- */

static void mkdest(unsigned char *d, unsigned int certtype, unsigned int clen,
                   unsigned int sig, unsigned int crypto)
{
  unsigned int i;
  for (i = 0; i < 384; i++) d[i] = (unsigned char)(i * 7 + 1);
  d[384] = (unsigned char)certtype;
  d[385] = (unsigned char)(clen >> 8);
  d[386] = (unsigned char)clen;
  d[387] = (unsigned char)(sig >> 8);
  d[388] = (unsigned char)sig;
  d[389] = (unsigned char)(crypto >> 8);
  d[390] = (unsigned char)crypto;
  for (i = 391; i < 400; i++) d[i] = 0xaa;
}

static void test_structure(void)
{
  unsigned char d[1200] = { 0 };
  i2p_dest x;
  i2p_priv p;
  size_t i;
  int e;
  ok(i2p_dest_parse(&x, d, 0) == I2P_ETRUNC, "empty destination: ETRUNC");
  mkdest(d, 5, 4, 7, 0);
  ok(!i2p_dest_parse(&x, d, 391) && x.len == 391, "Ed25519/ElGamal destination: 391 bytes");
  ok(i2p_dest_parse(&x, d, 386) == I2P_ETRUNC, "386 bytes: ETRUNC");
  ok(i2p_dest_parse(&x, d, 389) == I2P_ETRUNC, "certificate cut short: ETRUNC");
  ok(!i2p_dest_prefix(&x, d, 1000) && x.len == 391, "prefix of a longer blob: 391");
  mkdest(d, 5, 4, 7, 4);
  ok(!i2p_dest_parse(&x, d, 391) && x.cryptotype == 4, "Ed25519/X25519 destination");
  mkdest(d, 5, 4, 11, 4);
  ok(!i2p_dest_parse(&x, d, 391) && x.sigtype == 11, "RedDSA destination");
  mkdest(d, 5, 8, 3, 0);
  ok(!i2p_dest_parse(&x, d, 395) && x.len == 395, "ECDSA-P521: 4 key bytes in the certificate, 395 bytes");
  mkdest(d, 5, 4, 3, 0);
  ok(i2p_dest_parse(&x, d, 391) == I2P_ECERT, "ECDSA-P521 without its extra key bytes: ECERT");
  mkdest(d, 5, 5, 7, 0);
  ok(i2p_dest_parse(&x, d, 392) == I2P_ECERT, "KEY certificate one byte too long: ECERT");
  mkdest(d, 5, 3, 7, 0);
  ok(i2p_dest_parse(&x, d, 390) == I2P_ECERT, "KEY certificate of 3 bytes: ECERT");
  mkdest(d, 5, 0xffff, 7, 0);
  ok(i2p_dest_prefix(&x, d, 1200) == I2P_ECERT, "KEY certificate of 65535 bytes: ECERT");
  mkdest(d, 0, 4, 7, 0);
  ok(i2p_dest_parse(&x, d, 391) == I2P_ECERT, "NULL certificate with a payload: ECERT");
  for (i = 1; i <= 4; i++) {
    mkdest(d, (unsigned int)i, 0, 0, 0);
    ok(i2p_dest_parse(&x, d, 387) == I2P_ECERT, "certificate type %zu: ECERT", i);
  }
  mkdest(d, 6, 4, 7, 0);
  ok(i2p_dest_parse(&x, d, 391) == I2P_ECERT, "certificate type 6: ECERT");
  mkdest(d, 5, 4, 8, 0);
  ok(i2p_dest_parse(&x, d, 391) == I2P_ESIGTYPE, "Ed25519ph (8): ESIGTYPE");
  mkdest(d, 5, 4, 4, 0);
  ok(i2p_dest_parse(&x, d, 391) == I2P_ESIGTYPE, "RSA (4): ESIGTYPE");
  mkdest(d, 5, 4, 0x107, 0);
  ok(i2p_dest_parse(&x, d, 391) == I2P_ESIGTYPE, "signature type 263: ESIGTYPE");
  mkdest(d, 5, 4, 7, 5);
  ok(i2p_dest_parse(&x, d, 391) == I2P_ECRYPTO, "encryption type 5: ECRYPTO");
  mkdest(d, 5, 4, 7, 1);
  ok(!i2p_dest_parse(&x, d, 391), "public destination with encryption type 1 is fine");
  for (i = 391; i < 391 + 256 + 32; i++) d[i] = 1;
  e = i2p_priv_parse(&p, d, 391 + 256 + 32);
  ok(e == I2P_ECRYPTO, "private key with encryption type 1: ECRYPTO (%s)", i2p_reason(e));
  mkdest(d, 5, 4, 7, 4);
  for (i = 391; i < 391 + 64; i++) d[i] = 1;
  ok(!i2p_priv_parse(&p, d, 391 + 64) && p.len == 455, "Ed25519/X25519 private key: 455 bytes");
  mkdest(d, 5, 4, 1, 0);
  for (i = 391; i < 391 + 256 + 32; i++) d[i] = 1;
  ok(!i2p_priv_parse(&p, d, 391 + 256 + 32) && p.siglen == 32, "ECDSA-P256 private key: 32-byte signing key");
  mkdest(d, 5, 8, 3, 0);
  for (i = 395; i < 395 + 256 + 66; i++) d[i] = 1;
  ok(!i2p_priv_parse(&p, d, 395 + 256 + 66) && p.len == I2P_PRIV_MAX, "ECDSA-P521 private key: I2P_PRIV_MAX bytes");
  for (i = 0; i <= I2P_EB32 + 1; i++) ok(i2p_reason((int)i) && *i2p_reason((int)i), "reason %zu: %s", i, i2p_reason((int)i));
}

/* ---- well-known bodies and comparisons ---- */

/* snprintf that gcc does not second-guess: the test keys fit. */
static void bfmt(char *b, size_t max, char const *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b, max, fmt, ap);
  va_end(ap);
}

static void wk_is(char const *body, size_t len, int want, char const *what)
{
  i2p_wellknown w;
  int e = i2p_wellknown_parse(&w, body, len);
  ok(e == want, "well-known %s: %s (%s)", what, want ? "rejected" : "accepted", i2p_reason(e));
}

static void test_wellknown(void)
{
  key *k = keys, *k2 = keys + 1;
  char b[6000], pub2[600];
  size_t pl = strlen(k->pub), i;
  i2p_wellknown w;
  if (!pl) return;
  bfmt(b, sizeof b, "%s", k->pub); wk_is(b, strlen(b), 0, "bare destination");
  bfmt(b, sizeof b, "%s\r\n", k->pub); wk_is(b, strlen(b), 0, "destination CRLF");
  bfmt(b, sizeof b, "%s 7656\n", k->pub); wk_is(b, strlen(b), 0, "destination and port");
  ok(!i2p_wellknown_parse(&w, b, strlen(b)) && w.port == 7656 && w.full, "port 7656 read");
  bfmt(b, sizeof b, "%s\t \t65535\n", k->pub); wk_is(b, strlen(b), 0, "destination, blanks, port 65535");
  bfmt(b, sizeof b, "%s 1", k->b32); wk_is(b, strlen(b), 0, "b32 and port 1");
  bfmt(b, sizeof b, "%s", k->b32); wk_is(b, strlen(b), 0, "bare b32");
  bfmt(b, sizeof b, "5WPXANC2E4OGFFIS65JPYTPH4JNFCUK55WYW462Q3LTNE3SHLRFQ.B32.I2P\n"); wk_is(b, strlen(b), 0, "upper-case b32");
  ok(!i2p_wellknown_parse(&w, b, strlen(b)) && i2p_wellknown_match(&w, k->pubbin, 391), "upper-case b32 matches");
  /* the same destination without its base64 padding */
  memcpy(b, k->pub, pl - 2); b[pl - 2] = '\n';
  wk_is(b, pl - 1, 0, "destination without padding");

  wk_is("", 0, I2P_ESYNTAX, "empty");
  wk_is("\n", 1, I2P_ESYNTAX, "a newline");
  bfmt(b, sizeof b, " %s\n", k->pub); wk_is(b, strlen(b), I2P_ESYNTAX, "leading blank");
  bfmt(b, sizeof b, "%s \n", k->pub); wk_is(b, strlen(b), I2P_EPORT, "trailing blank");
  bfmt(b, sizeof b, "%s 0\n", k->pub); wk_is(b, strlen(b), I2P_EPORT, "port 0");
  bfmt(b, sizeof b, "%s 65536\n", k->pub); wk_is(b, strlen(b), I2P_EPORT, "port 65536");
  bfmt(b, sizeof b, "%s 025\n", k->pub); wk_is(b, strlen(b), I2P_EPORT, "port 025");
  bfmt(b, sizeof b, "%s +25\n", k->pub); wk_is(b, strlen(b), I2P_EPORT, "port +25");
  bfmt(b, sizeof b, "%s 25 26\n", k->pub); wk_is(b, strlen(b), I2P_EPORT, "two ports");
  bfmt(b, sizeof b, "%s 2a\n", k->pub); wk_is(b, strlen(b), I2P_EPORT, "port 2a");
  bfmt(b, sizeof b, "%s 1000000\n", k->pub); wk_is(b, strlen(b), I2P_EPORT, "port 1000000");
  bfmt(b, sizeof b, "%s\n\n", k->pub); wk_is(b, strlen(b), I2P_ESYNTAX, "two newlines");
  bfmt(b, sizeof b, "%s\nextra\n", k->pub); wk_is(b, strlen(b), I2P_ESYNTAX, "a second line");
  bfmt(b, sizeof b, "%s %s\n", k->pub, k2->pub); wk_is(b, strlen(b), I2P_EPORT, "two destinations, blank-separated");
  bfmt(b, sizeof b, "%s\n%s\n", k->pub, k2->pub); wk_is(b, strlen(b), I2P_ESYNTAX, "two destinations, two lines");
  bfmt(b, sizeof b, "%s%s", k->pub, k2->pub); wk_is(b, strlen(b), I2P_ESYNTAX, "two destinations run together");
  {
    unsigned char two[800];
    char enc[1200];
    memcpy(two, k->pubbin, 391);
    memcpy(two + 391, k2->pubbin, 391);
    enc[i2p_b64_encode(enc, two, 782)] = 0;
    wk_is(enc, strlen(enc), I2P_ETRAIL, "two destinations in one base64");
  }
  wk_is("hello world\n", 12, I2P_ESYNTAX, "garbage");
  wk_is("http://thebuilder.i2p/\n", 23, I2P_ESYNTAX, "a URL");
  wk_is("thebuilder.i2p\n", 15, I2P_ESYNTAX, "a host name");
  bfmt(b, sizeof b, "%.52saaaa.b32.i2p\n", k->b32); wk_is(b, strlen(b), I2P_EB32, "56-char b32");
  bfmt(b, sizeof b, "%.51s.b32.i2p\n", k->b32); wk_is(b, strlen(b), I2P_EB32, "51-char b32");
  bfmt(b, sizeof b, "%s", k->pub);
  for (i = 0; b[i]; i++) { if (b[i] == '-') b[i] = '+'; else if (b[i] == '~') b[i] = '/'; }
  wk_is(b, strlen(b), I2P_ESYNTAX, "standard base64 alphabet");
  bfmt(b, sizeof b, "%s", k->pub); b[100] = 0;
  wk_is(b, pl, I2P_ESYNTAX, "NUL byte inside");
  bfmt(b, sizeof b, "%s", k->pub);
  wk_is(b, 300, I2P_ETRUNC, "truncated destination");
  {
    unsigned char bad[400];
    memcpy(bad, k->pubbin, 391);
    bad[386] = 2;
    b[i2p_b64_encode(b, bad, 391)] = 0;
    wk_is(b, strlen(b), I2P_ECERT, "destination with a bad certificate length");
    bad[386] = 4;
    bad[388] = 8;
    b[i2p_b64_encode(b, bad, 391)] = 0;
    wk_is(b, strlen(b), I2P_ESIGTYPE, "destination with signature type 8");
  }
  memset(b, 'A', 4097);
  wk_is(b, 4097, I2P_ESPACE, "4097 bytes");
  bfmt(b, sizeof b, "%s", k->pub); memset(b + pl, ' ', 4096 - pl - 2); memcpy(b + 4094, "25", 2);
  wk_is(b, 4096, 0, "4096 bytes with many blanks");

  /* comparing base64 texts decoded */
  memcpy(pub2, k->pub, pl - 2);
  ok(i2p_dest_same_b64(k->pub, pl, pub2, pl - 2), "same destination with and without padding");
  ok(!i2p_dest_same_b64(k->pub, pl, k2->pub, strlen(k2->pub)), "different destinations differ");
  ok(!i2p_dest_same_b64(k->pub, pl, k->pub, pl - 1), "a broken base64 is never the same");
  ok(!i2p_dest_same_b64(k->priv, strlen(k->priv), k->priv, strlen(k->priv)), "private keys are not destinations");
  ok(!i2p_dest_same(k->pubbin, 390, k->pubbin, 390), "truncated destinations are never the same");
}

int main(void)
{
  test_keys();
  test_b64();
  test_b32();
  test_b32_domains();
  test_structure();
  test_wellknown();
  return done();
}
