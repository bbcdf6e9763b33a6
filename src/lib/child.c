#include <sys/wait.h>
#include "e2e.h"

int exit_class(int status)
{
  if (!WIFEXITED(status)) return E2E_TEMP;
  switch (WEXITSTATUS(status)) {
    case 0: return E2E_OK;
    case 100: return E2E_PERM;
    default: return E2E_TEMP;
  }
}

int queue_class(int status)
{
  if (WIFEXITED(status) && WEXITSTATUS(status) == E2E_NOSPACE) return E2E_NOSPACE;
  if (WIFEXITED(status) && WEXITSTATUS(status) == E2E_REFUSED) return E2E_REFUSED;
  return exit_class(status);
}
