#!/bin/sh
# make fuzz: builds every harness with libFuzzer (clang, AddressSanitizer,
# UndefinedBehaviorSanitizer) into build/fuzz/ and runs each for FUZZTIME
# seconds from its seed corpus (tests/fuzz/corpus/NAME) and its regression
# inputs (tests/fuzz/regress/NAME). Prints the executions per harness and
# what was found; exits 1 when any harness crashed, hung, leaked or ran
# out of memory (the input is kept in build/fuzz/found/NAME/).
#   FUZZTIME=60        seconds per harness
#   FUZZ="sam http"    only these harnesses
#   FUZZ_TIMEOUT=10    seconds one input may take (more: a hang)
#   FUZZ_RSS=2048      memory limit, MB
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$TOP/Makefile" ] && [ -d "$TOP/src/lib" ] || { echo "fuzz: run me as tests/fuzz/run.sh of the tree"; exit 100; }
cd "$TOP" || exit 1
FUZZTIME=${FUZZTIME:-60}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RSS=${FUZZ_RSS:-2048}
CC=${FUZZ_CC:-clang}
OUT=build/fuzz
ALL=$(cd tests/fuzz && for f in *.c; do case $f in driver.c|fzdir.c|prog.c) ;; *) echo "${f%.c}" ;; esac; done)
NAMES=${FUZZ:-$ALL}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=gnu11 -g -O1 -Wall -Wextra -Werror $SAN -Isrc/lib -Itests/fuzz"
LIBS="-lskarnet -lbearssl -lcrypt"

command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (make deps)"; exit 1; }
mkdir -p $OUT/obj $OUT/work $OUT/found $OUT/log
# The library, our own objects (never build/lib's), with coverage.
for s in src/lib/*.c tests/fuzz/fzdir.c tests/fuzz/prog.c; do
  o=$OUT/obj/$(basename "$s" .c).o
  [ -f "$o" ] && [ "$o" -nt "$s" ] && [ "$o" -nt src/lib/e2e.h ] && continue
  $CC $CFLAGS -fsanitize=fuzzer-no-link -c -o "$o" "$s" || exit 1
done
rm -f $OUT/libfuzz.a && ar rcs $OUT/libfuzz.a $OUT/obj/*.o || exit 1

# Stand-ins under the program harnesses: for e2e-queue and e2e-verify,
# and for e2e-checkpw (alice and bob, password "secret" or "secret pass").
printf '#!/bin/sh\ncat >/dev/null; cat <&1 >/dev/null; exit 0\n' > $OUT/sink && chmod 755 $OUT/sink
cat > $OUT/checkpw <<'EOF'
#!/bin/sh
case $(tr '\0' '\n' <&3 | head -n 2 | tr '\n' '|') in
  alice\|secret\||bob\|secret\||alice\|secret\ pass\||bob\|secret\ pass\|) exit 0 ;;
esac
exit 1
EOF
chmod 755 $OUT/checkpw

fail=0
printf '%-10s %10s %8s %6s  %s\n' harness execs exec/s cov result
for n in $NAMES; do
  src=tests/fuzz/$n.c
  [ -f "$src" ] || { echo "fuzz: no harness $src"; fail=1; continue; }
  # programs (prog.c) link skalibs statically, so that exits in it come back
  extra=""
  grep -q 'fz_prog' "$src" && extra="-Wl,--wrap=exit -Wl,--wrap=_exit -l:libskarnet.a"
  $CC $CFLAGS -fsanitize=fuzzer -o $OUT/$n "$src" $OUT/libfuzz.a $extra $LIBS >$OUT/log/$n.build 2>&1 \
    || { cat $OUT/log/$n.build; echo "fuzz: $n does not build"; fail=1; continue; }
  mkdir -p $OUT/work/$n $OUT/found/$n tests/fuzz/corpus/$n
  dirs="tests/fuzz/corpus/$n"; [ -d tests/fuzz/regress/$n ] && dirs="$dirs tests/fuzz/regress/$n"
  dict=""; [ -f tests/fuzz/$n.dict ] && dict="-dict=tests/fuzz/$n.dict"
  E2E_FUZZ_SINK=$TOP/$OUT/sink E2E_FUZZ_CHECKPW=$TOP/$OUT/checkpw UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    $OUT/$n -max_total_time="$FUZZTIME" -timeout="$FUZZ_TIMEOUT" -rss_limit_mb="$FUZZ_RSS" \
      -max_len=8192 -close_fd_mask=3 -print_final_stats=1 $dict \
      -artifact_prefix=$OUT/found/$n/ $OUT/work/$n $dirs \
      >$OUT/log/$n.log 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' $OUT/log/$n.log | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' $OUT/log/$n.log | tail -1)
  cov=$(grep -o 'cov: [0-9]*' $OUT/log/$n.log | tail -1 | cut -d' ' -f2)
  found=$(ls $OUT/found/$n | tr '\n' ' ')
  if [ $rc = 0 ] && [ -z "$found" ]; then res="nothing found"
  else res="FOUND (exit $rc): ${found:-see $OUT/log/$n.log}"; fail=1; fi
  printf '%-10s %10s %8s %6s  %s\n' "$n" "${execs:-?}" "${speed:-?}" "${cov:-?}" "$res"
done
[ $fail = 0 ] || { echo "fuzz: findings: inputs in $OUT/found/, logs in $OUT/log/"; exit 1; }
