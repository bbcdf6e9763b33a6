/* The pieces of SMTP parsing in the library: MAIL FROM / RCPT TO paths
 * and their parameters (smtp_path, smtp_param, addr_check), SASL PLAIN
 * (sasl_plain) and the AUTH LOGIN base64 (b64_decode). */
#include "fuzz.h"
#include "e2e.h"

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  char *s = fz_copy(d, n), *t = fz_copy(d, n), a[ADDR_MAX], b[ADDR_MAX], *rest, *p, *user, *pw;
  int r = smtp_path(s, a, &rest, (n && d[0] & 1) ? "example.i2p" : 0);
  if (!r) {
    FZ_CHECK(strlen(a) < ADDR_MAX);
    if (*a) {
      char lp[ADDR_LOCALMAX + 1];
      FZ_CHECK(!addr_check(a, strlen(a), b) && !strcmp(a, b));   /* normal form is stable */
      addr_local(a, lp);
      (void)domain_is_i2p(addr_domain(a));
    }
    while ((p = smtp_param(&rest))) FZ_CHECK(*p && !strchr(p, ' '));
  }
  else (void)addr_reason(r);
  if (!addr_check(t, n, a)) FZ_CHECK(strlen(a) == n);
  r = sasl_plain(t, &user, &pw);
  if (r >= 0) FZ_CHECK(*user && user > t && pw > user);
  free(s); free(t);
  return 0;
}
