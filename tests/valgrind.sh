#!/bin/sh
# make valgrind: the scripted conversations with every e2e program under
# valgrind's memcheck. A copy of the tree in build/vg gets a dynamic,
# unoptimised build (valgrind cannot follow a static-pie libc); its bin/
# then holds, for each program, a script that runs the real binary (in
# build/vg/real/) under valgrind. The tests run from the copy, so $TOP/bin
# in tests/lib.sh and every child found by PATH is the wrapped program.
# Exit 0 when no run reported an error (docs/fuzzing.md).
#   VG_TESTS="tests/smtpd.t ..."   the test scripts (default below)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$TOP/Makefile" ] && [ -d "$TOP/src/lib" ] || { echo "valgrind: run me as tests/valgrind.sh of the tree"; exit 100; }
VG=$TOP/build/vg
TESTS=${VG_TESTS:-tests/smtpd.t tests/pop3d.t tests/queue.t tests/local.t tests/runner.t tests/qstat.t tests/scrub.t}

command -v valgrind >/dev/null || { echo "valgrind: not installed (make deps)"; exit 1; }
rm -rf "$VG" && mkdir -p "$VG" || exit 1
tar -C "$TOP" --exclude ./build --exclude ./bin --exclude ./.git -cf - . | tar -C "$VG" -xf - || exit 1
mkdir -p "$VG/bin"
rm -rf "$VG/real" "$VG/log"
# The copy's own Makefile, flags and build/ (never the main bin/ or build/).
make -s -C "$VG" STATIC=0 OPT='-O1 -g' all >"$VG/build.log" 2>&1 || { cat "$VG/build.log"; exit 1; }
mkdir -p "$VG/real" "$VG/log"
for p in "$VG"/bin/e2e-*; do
  n=${p##*/}
  if head -c 4 "$p" | grep -q ELF; then
    mv "$p" "$VG/real/$n"
    cat > "$p" <<EOF
#!/bin/sh
[ -z "\${VG_OFF:-}" ] || exec "$VG/real/$n" "\$@"
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
  --show-leak-kinds=definite --vgdb=no --log-file="$VG/log/$n.%p" "$VG/real/$n" "\$@"
EOF
    chmod 755 "$p"
  fi
done

# The tests find the shared test data beside the main tree, not the copy.
E2E_TESTDATA=${E2E_TESTDATA:-$TOP/../shared/testdata}
export E2E_TESTDATA
cd "$VG" || exit 1
# valgrind makes every program 20-50 times slower and gives it another
# process name, and changes nothing else: a test that fails under it but
# passes on the same build without it (VG_OFF=1) fails on a wall-clock
# bound (a reply "within a second", a deadline of E2E_TIMEOUT=1) or on
# counting processes by name. Those are listed, not counted.
fail=0
for t in $TESTS; do
  start=$(date +%s)
  l=$VG/log/prove.${t##*/}
  prove -v -e '' "$t" >"$l" 2>&1
  rc=$?
  echo "valgrind: $t: $([ $rc = 0 ] && echo passed || echo "failed under valgrind") in $(( $(date +%s) - start )) s"
  [ $rc = 0 ] && continue
  grep '^not ok' "$l" | sed 's/^/valgrind:   /'
  if VG_OFF=1 prove -e '' "$t" >"$l.native" 2>&1; then
    echo "valgrind: $t: passes without valgrind: the failures above are valgrind's slowness"
  else
    echo "valgrind: $t: FAILS without valgrind too"; tail -n 20 "$l.native"; fail=1
  fi
done

# Every run writes a log; one with text in it reported an error or a leak.
runs=$(ls "$VG"/log | grep -c '^e2e-')
bad=""
for f in "$VG"/log/e2e-*; do [ -s "$f" ] && bad="$bad $f"; done
echo "valgrind: $runs program runs under memcheck"
if [ -n "$bad" ]; then
  echo "valgrind: errors reported in:$bad"
  for f in $bad; do echo "== $f"; head -n 40 "$f"; done
  exit 1
fi
[ $fail = 0 ] || { echo "valgrind: some tests fail without valgrind too (logs in build/vg/log)"; exit 1; }
echo "valgrind: no errors, no definite leaks"
