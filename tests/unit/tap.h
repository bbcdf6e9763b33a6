/* Minimal TAP for the unit tests: ok(cond, name), then done() prints the plan. */
#ifndef E2E_TAP_H
#define E2E_TAP_H
#include <stdio.h>
static int tap_n, tap_fail;
#define ok(c, ...) do { int tap_c = !!(c); tap_n++; if (!tap_c) tap_fail++; \
  printf("%sok %d - ", tap_c ? "" : "not ", tap_n); printf(__VA_ARGS__); printf("\n"); } while (0)
static int done(void) { printf("1..%d\n", tap_n); return tap_fail ? 1 : 0; }
#endif
