/* I2P base64 and base32, RFC 4648 base64 (SASL), smtp.c's in-place
 * b64_decode: no crash, and whatever decodes re-encodes to the same text. */
#include "fuzz.h"
#include "e2e.h"
#include "i2p.h"

static void b64(uint8_t const *d, size_t n, int std)
{
  size_t max = n / 4 * 3 + 3, len, k;
  unsigned char *out = malloc(max), *small = malloc(n / 8 + 1);
  char *enc;
  int e = std ? std_b64_decode(out, max, &len, (char const *)d, n)
              : i2p_b64_decode(out, max, &len, (char const *)d, n);
  if (!e) {
    FZ_CHECK(len <= max);
    enc = malloc(I2P_B64_LEN(len) + 1);
    k = i2p_b64_encode(enc, out, len);
    FZ_CHECK(k == I2P_B64_LEN(len));
    if (!std) {   /* padding is optional on input: compare without it */
      size_t m = n;
      while (m && d[m - 1] == '=') m--;
      while (k && enc[k - 1] == '=') k--;
      FZ_CHECK(k == m && !memcmp(enc, d, m));
    }
    free(enc);
  }
  /* a buffer too small must be refused, never overrun */
  e = std ? std_b64_decode(small, n / 8, &len, (char const *)d, n)
          : i2p_b64_decode(small, n / 8, &len, (char const *)d, n);
  FZ_CHECK(e || len <= n / 8);
  free(out); free(small);
}

static void b32(uint8_t const *d, size_t n)
{
  size_t max = n * 5 / 8 + 1, len, k, i;
  unsigned char *out = malloc(max);
  char *enc;
  if (!i2p_b32_decode(out, max, &len, (char const *)d, n)) {
    enc = malloc(I2P_B32_LEN(len) + 1);
    k = i2p_b32_encode(enc, out, len);
    FZ_CHECK(k == n);
    for (i = 0; i < n; i++) FZ_CHECK(enc[i] == (d[i] >= 'A' && d[i] <= 'Z' ? d[i] + 32 : d[i]));
    free(enc);
  }
  free(out);
}

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  char *s = fz_copy(d, n);
  int k;
  b64(d, n, 0);
  b64(d, n, 1);
  b32(d, n);
  k = b64_decode(s);            /* in place, NUL-terminated */
  FZ_CHECK(k < 0 || (size_t)k <= n);
  free(s);
  return 0;
}
