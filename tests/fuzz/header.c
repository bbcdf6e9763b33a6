/* RFC 5322 header fields (header.c): field names, unfolding, dates (a
 * parsed date formats and parses back to the same time), msg-id domains. */
#include "fuzz.h"
#include "e2e.h"

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  char *s = fz_copy(d, n), out[HDR_DATE_MAX], *u = malloc(n + 1), small[8];
  size_t colon, k, dl;
  int64_t t, t2;
  char const *dom;
  k = hdr_field(s, n, &colon);
  if (k) {
    FZ_CHECK(k <= colon && colon < n && s[colon] == ':');
    (void)hdr_is(s, k, "received");
    FZ_CHECK(hdr_unfold(u, n + 1, s + colon + 1, n - colon - 1) <= n);
  }
  FZ_CHECK(hdr_unfold(small, sizeof small, s, n) < sizeof small);
  if (!hdr_date_parse(s, &t)) {
    hdr_date_fmt(out, t);
    if (t >= 0 && t < 253402300800LL) {   /* years 1970..9999 print as they are */
      FZ_CHECK(!hdr_date_parse(out, &t2));
      FZ_CHECK(t2 == t);
    }
  }
  if (!hdr_msgid_domain(s, &dom, &dl)) FZ_CHECK(dom > s && dom + dl <= s + n);
  free(s); free(u);
  return 0;
}
