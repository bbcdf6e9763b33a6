#!/bin/bash
# The fuzz harnesses as regression tests: each is built with the normal
# compiler and flags (build/flags: those of `make`, sanitizers included
# under SANITIZE=1) against tests/fuzz/driver.c, which runs it once on
# every file of tests/fuzz/corpus/NAME and tests/fuzz/regress/NAME (the
# inputs that once crashed or hung it), each in a process of its own. The
# fuzzing itself is `make fuzz` (docs/fuzzing.md).
. "$(dirname "$0")/lib.sh"

[ -f "$TOP/build/libe2e.a" ] && [ -f "$TOP/build/flags" ] || { echo "Bail out! build/libe2e.a is not built (run make)"; exit 1; }
read -r -a FLAGS < "$TOP/build/flags"
F=$TOP/tests/fuzz
cd "$TOP" || exit 1
for src in "$F"/*.c; do
  n=$(basename "$src" .c)
  case $n in driver|fzdir|prog) continue ;; esac
  extra=()
  grep -q fz_prog "$src" && extra=("$F/prog.c" -Wl,--wrap=exit -Wl,--wrap=_exit -l:libskarnet.a)
  "${FLAGS[@]}" -I"$F" -o "$T_TMP/$n" "$src" "$F/driver.c" "$F/fzdir.c" "${extra[@]}" \
    build/libe2e.a -lskarnet -lbearssl -lcrypt > "$T_TMP/$n.build" 2>&1
  rc=$?
  ok $rc "$n: the harness builds with the normal flags"
  [ $rc = 0 ] || { sed 's/^/# /' "$T_TMP/$n.build" | head -20; continue; }
  nin=$(ls "$F/corpus/$n" "$F/regress/$n" 2>/dev/null | grep -vc ':$\|^$')
  [ "$nin" -gt 0 ]
  ok $? "$n: has seed inputs ($nin)"
  out=$(TMPDIR=$T_TMP "$T_TMP/$n" "$F/corpus/$n" "$F/regress/$n" 2>&1 >/dev/null; echo "rc=$?")
  like "$out" 'rc=0$' "$n: every seed and regression input returns normally"
done

# The driver catches what it must: a harness that aborts on one input.
printf '%s\n' '#include "fuzz.h"' \
  'int LLVMFuzzerTestOneInput(uint8_t const *d, size_t n) { FZ_CHECK(!(n == 5 && !memcmp(d, "crash", 5))); return 0; }' \
  > "$T_TMP/self.c"
mkdir -p "$T_TMP/selfin" && printf fine > "$T_TMP/selfin/a"
"${FLAGS[@]}" -I"$F" -o "$T_TMP/self" "$T_TMP/self.c" "$F/driver.c" "$F/fzdir.c" 2>&1 | sed 's/^/# /'
"$T_TMP/self" "$T_TMP/selfin" >/dev/null 2>&1
ok $? "driver: a harness returning normally passes"
printf crash > "$T_TMP/selfin/b"
out=$("$T_TMP/self" "$T_TMP/selfin" 2>&1; echo "rc=$?")
like "$out" "FAILED on $T_TMP/selfin/b " "driver: names the input a harness aborted on"
like "$out" 'rc=1$' "driver: fails when a harness aborted"
done_testing
