/* Destinations and private-key blobs, binary and base64, the key file,
 * b32 addresses: no crash, and the parsers agree with one another. */
#include "fuzz.h"
#include "i2p.h"

static void binary(uint8_t const *d, size_t n)
{
  i2p_dest x;
  i2p_priv k;
  char b32[I2P_B32_ADDR_LEN + 1];
  int e = i2p_dest_parse(&x, d, n), f = i2p_priv_parse(&k, d, n);
  if (!e) {
    FZ_CHECK(x.len == n && n >= I2P_DEST_MIN && n <= I2P_DEST_MAX);
    FZ_CHECK(f == I2P_EPUBLIC);
    FZ_CHECK(i2p_dest_same(d, n, d, n));
    i2p_b32_address(b32, d, n);
    FZ_CHECK(strlen(b32) == I2P_B32_ADDR_LEN && i2p_is_b32_domain(b32));
    FZ_CHECK(i2p_dest_is_b32(d, n, b32, I2P_B32_ADDR_LEN));
  }
  if (!f) {
    FZ_CHECK(k.len == n && n <= I2P_PRIV_MAX && k.dest.len < n);
    FZ_CHECK(e == I2P_EPRIVATE);
    FZ_CHECK(!i2p_dest_parse(&x, d, k.dest.len));
  }
  if (!i2p_dest_prefix(&x, d, n)) FZ_CHECK(x.len <= n);
}

static void text(uint8_t const *d, size_t n)
{
  unsigned char bin[I2P_PRIV_MAX];
  i2p_dest x;
  i2p_priv k;
  size_t b64len;
  char *s = fz_copy(d, n);
  unsigned char h[I2P_HASH_LEN];
  if (!i2p_dest_b64(&x, bin, I2P_DEST_MAX, s, n)) FZ_CHECK(x.len <= I2P_DEST_MAX);
  if (!i2p_priv_b64(&k, bin, sizeof bin, s, n)) FZ_CHECK(k.len <= sizeof bin);
  if (!i2p_keyfile_parse(&k, bin, sizeof bin, &b64len, s, n)) FZ_CHECK(b64len <= n);
  (void)i2p_dest_same_b64(s, n, s, n);
  if (!i2p_b32_domain(h, s, n)) FZ_CHECK(n == I2P_B32_ADDR_LEN);
  (void)i2p_is_b32_domain(s);
  free(s);
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  if (!n) return 0;
  /* first byte: 'B' the rest is binary, else all of it is text */
  if (d[0] == 'B') binary(d + 1, n - 1); else text(d, n);
  return 0;
}
