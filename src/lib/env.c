/* Settings from the environment: missing or malformed ones are fatal. */
#include <stdlib.h>
#include <skalibs/strerr.h>
#include "e2e.h"

char const *env_str(char const *name, char const *dflt)
{
  char const *v = getenv(name);
  return (v && *v) ? v : dflt;
}

char const *env_need(char const *name)
{
  char const *v = getenv(name);
  if (!v || !*v) strerr_dief3x(E2E_PERM, "variable ", name, " is not set");
  return v;
}

int scan_u64(char const *s, uint64_t max, uint64_t *out)
{
  uint64_t v = 0;
  if (!*s) return 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return 0;
    uint64_t d = (uint64_t)(*s - '0');
    if (d > max || v > (max - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

uint64_t env_uint(char const *name, uint64_t dflt, uint64_t min, uint64_t max)
{
  uint64_t v;
  char const *s = getenv(name);
  if (!s || !*s) return dflt;
  if (!scan_u64(s, max, &v) || v < min)
    strerr_dief4x(E2E_PERM, "variable ", name, " is malformed or out of range: ", s);
  return v;
}
