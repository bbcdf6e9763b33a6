# tests/resolve/setup.sh SAM-ID — sourced (after tests/lib.sh) by
# tests/resolve.t and tests/srv.t: e2e-resolve against the stand-in SAM
# bridge (tests/resolve/fakesam.py, its files in FAKE=$T_TMP/fake, stopped
# at exit), for a mail home H=$T_TMP/home with its cache C=$H/cache.
# Exports what e2e-resolve reads: E2E_HOME, E2E_SAM (the stand-in),
# E2E_SAM_ID=SAM-ID, E2E_RESOLVE_TIMEOUT=3 (the settings that change the
# defaults unset). Gives KEYS, PY, now_ms and:
#   res ARG...      run e2e-resolve: OUT (stdout), RC, ERR (stderr), MS (elapsed)
#   count FILE      lines the bridge has written to FAKE/FILE (conns, lookups)
#   field FILE KEY  a cache file's value for KEY
#   ttl HOST        expires - fetched of HOST's cache entry

KEYS=$TOP/tests/i2p/keys
[ -x "$TOP/bin/e2e-resolve" ] || { echo "Bail out! bin/e2e-resolve not built (make)"; exit 1; }
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

FAKE=$T_TMP/fake
mkdir -p "$FAKE"
"$PY" "$TOP/tests/resolve/fakesam.py" "$FAKE" 2>"$T_TMP/fake.log" &
bg_pid $!
for _ in $(seq 100); do [ -s "$FAKE/port" ] && break; sleep 0.05; done
[ -s "$FAKE/port" ] || { echo "Bail out! the stand-in bridge did not start"; cat "$T_TMP/fake.log"; exit 1; }

H=$T_TMP/home
C=$H/cache
mkdir -p "$C"
unset E2E_RESOLVE_UNKNOWN E2E_RESOLVE_SRV_TIMEOUT E2E_DOMAIN
E2E_SAM=127.0.0.1:$(cat "$FAKE/port")
export E2E_HOME=$H E2E_SAM E2E_SAM_ID=$1 E2E_RESOLVE_TIMEOUT=3

res() {
	local t0
	t0=$(now_ms)
	OUT=$(e2e-resolve "$@" 2>"$T_TMP/err"); RC=$?
	MS=$(($(now_ms) - t0))
	ERR=$(cat "$T_TMP/err")
}
count() { [ -f "$FAKE/$1" ] && wc -l <"$FAKE/$1" || echo 0; }
field() { sed -n "s/^$2 //p" "$1"; }
ttl() { echo $(($(field "$C/$1" expires) - $(field "$C/$1" fetched))); }
