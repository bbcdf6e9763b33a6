/* Settings from the environment: missing or malformed ones are fatal. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <skalibs/strerr.h>
#include "e2e.h"

/* getenv compares the name with every variable in turn: e2e-smtpd's 19
 * settings (most names begin E2E_) cost it some 22,000 instructions a
 * connection that way, 11,000 here. The variables' names are hashed once, and
 * again after env_set or env_unset (the programs change their
 * environment only through them) or when environ holds other pointers
 * than when they were hashed; more than ENV_MAX variables go to getenv. */
#define ENV_MAX 64
static char *envs[ENV_MAX + 1];         /* environ as indexed, its null included */
static uint32_t envh[ENV_MAX];
static unsigned int nenv;               /* entries of envs; 0: not indexed */

static uint32_t env_hash(char const *s, size_t *len)
{
  uint32_t h = 2166136261u;             /* FNV-1a */
  size_t i = 0;
  for (; s[i] && s[i] != '='; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  *len = i;
  return h;
}

static int env_index(void)
{
  unsigned int i = 0;
  size_t k;
  if (!environ) return nenv = 0;
  while (i < nenv && environ[i] == envs[i]) i++;   /* stops at environ's null */
  if (nenv && i == nenv) return 1;
  for (i = 0; environ[i]; i++) {
    if (i == ENV_MAX) return nenv = 0;
    envs[i] = environ[i];
    envh[i] = env_hash(envs[i], &k);
  }
  envs[i] = 0;
  nenv = i + 1;
  return 1;
}

static char const *env_get(char const *name)
{
  size_t n;
  uint32_t h = env_hash(name, &n);
  unsigned int i;
  if (name[n] || !env_index()) return getenv(name);
  for (i = 0; i + 1 < nenv; i++)
    if (envh[i] == h && !strncmp(envs[i], name, n) && envs[i][n] == '=') return envs[i] + n + 1;
  return 0;
}

int env_set(char const *name, char const *value) { nenv = 0; return setenv(name, value, 1); }
int env_unset(char const *name) { nenv = 0; return unsetenv(name); }

char const *env_str(char const *name, char const *dflt)
{
  char const *v = env_get(name);
  return (v && *v) ? v : dflt;
}

char const *env_need(char const *name)
{
  char const *v = env_get(name);
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
  char const *s = env_get(name);
  if (!s || !*s) return dflt;
  if (!scan_u64(s, max, &v) || v < min)
    strerr_dief4x(E2E_PERM, "variable ", name, " is malformed or out of range: ", s);
  return v;
}
