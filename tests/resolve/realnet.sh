# Sourced by tests/resolve.t: e2e-resolve over a real private I2P network
# (tests/i2pnet.sh: three i2pd routers on loopback). Eepsites on router B,
# behind i2pd HTTP server tunnels and busybox httpd:
#   bob.i2p    (key ed25519-2)   publishes ed25519-x25519's destination
#   carol.i2p  (key ecdsa-p256)  publishes ed25519-1's b32 address, port 2525
#   nokey.i2p  (key ed25519-1)   publishes nothing (404)
# and down.i2p (key dsa-default), a name with no site behind it. A session
# with a transient key, held by tests/i2p/samtool.py on router A, plays the
# mail server's session (E2E_SAM_ID) that e2e-samaccept would hold.
# Uses is/like/ok (tests/lib.sh), KEYS, PY, res, field (tests/resolve/setup.sh).

NET=$TOP/tests/i2pnet.sh
D=$T_TMP/net
mkdir -p "$D/www-bob/.well-known" "$D/www-carol/.well-known" "$D/www-nokey"
cp "$KEYS/ed25519-x25519.pub" "$D/www-bob/.well-known/i2pmail.key"
printf '%s 2525\n' "$B32_1" >"$D/www-carol/.well-known/i2pmail.key"
SESS=""
net_stop() {
	# SAM clients first: i2pd does not exit while a SAM socket is open
	[ -n "$SESS" ] && kill "$SESS" 2>/dev/null && wait "$SESS" 2>/dev/null
	"$NET" stop "$D" >/dev/null 2>&1
}
trap 'net_stop; t_cleanup' EXIT
"$NET" site "$D" bob.i2p ed25519-2 "$D/www-bob" B &&
	"$NET" site "$D" carol.i2p ecdsa-p256 "$D/www-carol" B &&
	"$NET" site "$D" nokey.i2p ed25519-1 "$D/www-nokey" B &&
	"$NET" host "$D" down.i2p dsa-default || { echo "Bail out! cannot declare the sites"; exit 1; }

t0=$(now_ms)
E2E_TEST_WATCHPID=$$ "$NET" start "$D" 2>"$D/start.err"
rc=$?
t_start=$(($(now_ms) - t0))
is "$rc" 0 "real network: starts (${t_start} ms)"
if [ "$rc" != 0 ]; then
	sed 's/^/# /' "$D/start.err"
	done_testing; exit
fi
. "$D/env"

t0=$(now_ms)
# shellcheck disable=SC2086
"$PY" "$TOP/tests/i2p/samtool.py" session --timeout 90 "$SAM_A" resolve-real TRANSIENT $SAM_OPTIONS \
	>"$D/sess.pub" 2>"$D/sess.err" &
SESS=$!
for _ in $(seq 900); do [ -s "$D/sess.pub" ] && break; kill -0 "$SESS" 2>/dev/null || break; sleep 0.1; done
t_sess=$(($(now_ms) - t0))
ok "$([ -s "$D/sess.pub" ]; echo $?)" "real network: a session on router A (${t_sess} ms)"
[ -s "$D/sess.pub" ] || { sed 's/^/# /' "$D/sess.err"; done_testing; exit; }

H2=$T_TMP/home-real
mkdir -p "$H2/cache"
C2=$H2/cache
# resr HOST: e2e-resolve against router A, as res does
resr() {
	E2E_HOME=$H2 E2E_SAM=$SAM_A E2E_SAM_ID=resolve-real E2E_RESOLVE_TIMEOUT=${TMO:-60} res "$@"
}

# The very first stream may find no lease set yet: allow a few tries.
tries=0
t0=$(now_ms)
while :; do
	tries=$((tries + 1))
	resr bob.i2p
	[ "$RC" = 111 ] && [ $tries -lt 5 ] || break
	diag "try $tries: $ERR"
	sleep 2
done
t_first=$(($(now_ms) - t0))
is "$RC:$OUT" "0:$(cat "$KEYS/ed25519-x25519.pub")" "real: bob.i2p's key file fetched by name (${t_first} ms, $tries tries)"
like "$ERR" "host=bob.i2p result=found via=network dest=$(cat "$KEYS/ed25519-x25519.b32")" "real: logged"
is "$(field "$C2/bob.i2p" found)" "$(cat "$KEYS/ed25519-x25519.pub")" "real: cached"
t0=$(now_ms)
resr bob.i2p
is "$RC:$OUT" "0:$(cat "$KEYS/ed25519-x25519.pub")" "real: bob.i2p again, from the cache (${MS} ms)"
like "$ERR" 'via=cache' "real: the cache answered"
rm "$C2/bob.i2p"
resr bob.i2p
is "$RC" 0 "real: bob.i2p fetched warm (${MS} ms)"
t_warm=$MS
resr carol.i2p
is "$RC:$OUT" "0:$B32_1 2525" "real: carol.i2p (ECDSA site) publishes a b32 and a port (${MS} ms)"
resr nokey.i2p
is "$RC:$OUT" "100:" "real: a site without a key file: exit 100 (${MS} ms)"
like "$ERR" 'HTTP status 404' "real: 404 seen"
resr nobody.i2p
is "$RC" 100 "real: a name the router does not know: exit 100 (${MS} ms)"
like "$ERR" 'INVALID_KEY' "real: the router said INVALID_KEY"
E2E_RESOLVE_UNKNOWN=111 resr nobody.i2p
is "$RC" 111 "real: ... and 111 with E2E_RESOLVE_UNKNOWN=111"
TMO=20 resr down.i2p
is "$RC" 111 "real: a known name with no site: exit 111 (${MS} ms)"
like "$ERR" 'result=temp' "real: down.i2p logged as temporary"
diag "$ERR"
resr "$(cat "$KEYS/ed25519-2.b32")"
is "$RC:$OUT" "0:$(cat "$KEYS/ed25519-2.b32")" "real: bob's b32 is its own mail server, no fetch"
E2E_HOME=$H2 E2E_SAM=$SAM_A E2E_SAM_ID=no-such-session res carol.i2p
is "$RC" 0 "real: no session (INVALID_ID) but a fresh entry: from the cache"
sed -i "s/^fetched .*/fetched $(( $(date +%s) - 7200 ))/; s/^expires .*/expires $(( $(date +%s) - 7000 ))/" "$C2/carol.i2p"
E2E_HOME=$H2 E2E_SAM=$SAM_A E2E_SAM_ID=no-such-session res carol.i2p
is "$RC:$OUT" "0:$B32_1 2525" "real: no session (INVALID_ID), expired entry: the stale copy"
like "$ERR" 'warning: host=carol.i2p result=found via=stale.*INVALID_ID' "real: stale copy, with the router's reason"

# bob's web server goes away: the tunnel is there, the site is not
sed -i "s/^fetched .*/fetched $(( $(date +%s) - 7200 ))/; s/^expires .*/expires $(( $(date +%s) - 7000 ))/" "$C2/bob.i2p"
while read -r pid _ role; do
	[ "$role" = httpd-1 ] && kill "$pid"
done <"$D/pids"
sleep 0.3
TMO=20 resr bob.i2p
is "$RC:$OUT" "0:$(cat "$KEYS/ed25519-x25519.pub")" "real: bob's web server down, expired entry: the stale copy (${MS} ms)"
like "$ERR" 'via=stale' "real: logged as stale"
diag "$ERR"
diag "real network: start ${t_start} ms, session ${t_sess} ms, first fetch ${t_first} ms ($tries tries), warm fetch ${t_warm} ms"
net_stop
SESS=""
