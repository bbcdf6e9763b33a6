/* HOME/users and HOME/recipients (users.c: user_hash, user_exists,
 * user_postmaster) and HOME/domains with HOME/b32 (domains.c:
 * domain_local), read from files as the programs do. NULs split the
 * input: the users file, then the domains file (also the b32 file), then
 * the recipients file. */
#include <unistd.h>
#include "fuzz.h"
#include "e2e.h"

int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n)
{
  char *users, *doms, hash[512], pm[USER_MAX + 1];
  uint8_t const *rest, *rcpts;
  size_t rn, cn;
  static char const *const names[] = { "alice", "bob", "postmaster", "a.b-c_d", "" };
  static char const *const dl[] = { "alice.i2p", "example.i2p", "x" };
  unsigned int i;
  int r;
  fz_split(d, n, &users, &rest, &rn);
  fz_split(rest, rn, &doms, &rcpts, &cn);
  fz_file("users", users, strlen(users));
  fz_file("domains", doms, strlen(doms));
  fz_file("b32", doms, strlen(doms));
  fz_file("recipients", rcpts, cn);
  unsetenv("E2E_DOMAIN");
  unsetenv("E2E_POSTMASTER");
  for (i = 0; i < 5; i++) {
    r = user_hash(fz_dir(), names[i], hash, sizeof hash);
    FZ_CHECK(r >= 0 && (!r || strlen(hash) < sizeof hash));
    if (r) FZ_CHECK(user_valid(names[i]));
    r = user_exists(fz_dir(), names[i]);
    FZ_CHECK(r >= 0 && (!r || user_valid(names[i])));
  }
  r = user_hash(fz_dir(), "alice", hash, 4);        /* a short buffer truncates */
  FZ_CHECK(!r || strlen(hash) < 4);
  r = user_postmaster(fz_dir(), pm);
  FZ_CHECK(r >= 0 && (!r || user_valid(pm)));
  for (i = 0; i < 3; i++) FZ_CHECK(domain_local(fz_dir(), dl[i]) >= 0);
  free(users); free(doms);
  return 0;
}
