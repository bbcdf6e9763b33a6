#!/bin/bash
# e2e-resolve: routes, b32 hosts, the cache, and the well-known file fetched
# through a stand-in SAM bridge with a scripted web site behind it
# (tests/resolve/fakesam.py: the faults a real router will not produce on
# demand); then through a real private I2P network (tests/i2pnet.sh):
# an eepsite on router B fetched through a session on router A.
# E2E_TEST_NOI2P=1 skips the real network.
. "$(dirname "$0")/lib.sh"
# the stand-in bridge, the home, res, count, field, ttl
. "$TOP/tests/resolve/setup.sh" resolve-test

PUB=$(cat "$KEYS/ed25519-x25519.pub")      # what the stand-in sites publish
B32=$(cat "$KEYS/ed25519-x25519.b32")
PUB1=$(cat "$KEYS/ed25519-1.pub")
B32_1=$(cat "$KEYS/ed25519-1.b32")

tmpfiles() { find "$C" -maxdepth 1 -name '.*' -type f | wc -l; }
conns() { count conns; }
hits() { grep -cxF -- "$1" "$FAKE/conns" 2>/dev/null; }
scen() { printf '%s\n' "$2" >"$FAKE/override/$1"; }

# ---- misuse and host names ----
res
is "$RC" 100 "no argument: exit 100"
like "$ERR" '^e2e-resolve: usage: ' "no argument: usage"
res a.i2p b.i2p
is "$RC" 100 "two arguments: exit 100"

OUT=$(env -u E2E_HOME e2e-resolve full.i2p 2>&1); RC=$?
is "$RC" 111 "no E2E_HOME: exit 111 (a configuration error must not bounce mail)"
like "$OUT" 'E2E_HOME is not set' "no E2E_HOME: names the variable"
OUT=$(E2E_RESOLVE_TIMEOUT=soon e2e-resolve full.i2p 2>&1); RC=$?
is "$RC" 111 "malformed E2E_RESOLVE_TIMEOUT: exit 111"
OUT=$(E2E_SAM=localhost:7656 e2e-resolve full.i2p 2>&1); RC=$?
is "$RC" 111 "E2E_SAM with a host name: exit 111"
like "$OUT" 'malformed E2E_SAM' "E2E_SAM with a host name: says so"
OUT=$(E2E_SAM_ID='a b' e2e-resolve full.i2p 2>&1); RC=$?
is "$RC" 111 "malformed E2E_SAM_ID: exit 111"

for h in '' 'bad..i2p' '-x.i2p' 'x-.i2p' 'a b.i2p' 'a/b.i2p' '../x.i2p' 'x.i2p.' 'i2p' "$(printf 'a\nb.i2p')" 'ä.i2p'; do
	res "$h"
	is "$RC" 100 "malformed host '$(printf %q "$h")': exit 100"
done
res "$(printf 'a%.0s' $(seq 237)).i2p"
is "$RC" 100 "host of 241 characters: exit 100"
like "$ERR" 'too long' "host of 241 characters: says so"
L240=$(printf 'a%.0s' $(seq 63)).$(printf 'b%.0s' $(seq 63)).$(printf 'c%.0s' $(seq 63)).$(printf 'd%.0s' $(seq 44)).i2p
res "$L240"
is "${#L240}:$RC" "240:100" "host of 240 characters: looked up (no such site here: 100)"
ok "$([ -f "$C/$L240" ]; echo $?)" "host of 240 characters: its negative entry written"
rm -f "$C/$L240"

# ---- b32 hosts ----
n0=$(conns)
res "$B32_1"
is "$RC" 0 "b32 host: exit 0"
is "$OUT" "$B32_1" "b32 host: printed as it is"
like "$ERR" "host=$B32_1 result=found via=b32" "b32 host: logged"
res "$(echo "$B32_1" | tr '[:lower:]' '[:upper:]')"
is "$OUT" "$B32_1" "upper-case b32 host: printed in lower case"
res "$(printf 'a%.0s' $(seq 56)).b32.i2p"
is "$RC" 100 "56-character b32 host: exit 100"
like "$ERR" 'encrypted lease set' "56-character b32 host: says why"
res "$(printf 'a%.0s' $(seq 53)).b32.i2p"
is "$RC" 100 "53-character b32 host: exit 100"
res "${B32_1:0:51}1.b32.i2p"
is "$RC" 100 "b32 host with a digit outside base32: exit 100"
res example.com
is "$RC" 100 "a non-I2P host without a route: exit 100"
like "$ERR" 'no route' "a non-I2P host without a route: says why"
is "$(conns)" "$n0" "none of these asked the bridge"

# ---- routes ----
cat >"$H/routes" <<EOF
# static routes
   # an indented comment

Example.COM	$B32:2525
full.i2p  $PUB1
$B32_1 $PUB
gateway.i2p $PUB1:25   
EOF
n0=$(conns)
res example.com
is "$RC:$OUT" "0:$B32 2525" "route with a b32 and a port (domain in any case)"
like "$ERR" 'host=example.com result=found via=routes' "route: logged"
res FULL.i2p
is "$RC:$OUT" "0:$PUB1" "route pins an I2P host over its well-known file"
res gateway.i2p
is "$RC:$OUT" "0:$PUB1 25" "route with a full destination and a port"
res "$B32_1"
is "$RC:$OUT" "0:$PUB" "route pins a b32 host too"
is "$(conns)" "$n0" "routes: no network"
cp "$H/routes" "$T_TMP/routes.good"
badroute() {   # badroute LINE NAME
	{ cat "$T_TMP/routes.good"; printf '%s\n' "$1"; } >"$H/routes"
	res example.com
	is "$RC" 111 "malformed routes ($2): exit 111"
	like "$ERR" "malformed $H/routes line 8: " "malformed routes ($2): names the line"
}
badroute "bob.i2p" "no destination"
badroute "bob.i2p $PUB extra" "trailing text"
badroute "bob.i2p $PUB:0" "port 0"
badroute "bob.i2p $PUB:65536" "port 65536"
badroute "bob.i2p $PUB:" "empty port"
badroute "bob.i2p $PUB:025" "port with a leading zero"
badroute "bob.i2p $(cat "$KEYS/ed25519-2.priv")" "a private key"
badroute "bob.i2p ${PUB:0:100}" "truncated destination"
badroute "bob.i2p $(printf 'a%.0s' $(seq 56)).b32.i2p" "56-character b32"
badroute "bob..i2p $PUB" "malformed domain"
badroute "$(printf 'bob.i2p %s\r' "$PUB")" "CRLF line end"
badroute "example.com $PUB" "domain listed twice"
badroute "bob.i2p $PUB # comment" "comment after a route"
printf 'example.com %s' "$B32" >"$H/routes"
res example.com
is "$RC:$OUT" "0:$B32" "routes: last line without a newline"
rm "$H/routes"; mkdir "$H/routes"
res example.com
is "$RC" 111 "routes unreadable: exit 111"
rmdir "$H/routes"

# ---- fetching: valid answers ----
n0=$(conns)
res full.i2p
is "$RC" 0 "200 with a full destination: exit 0"
is "$OUT" "$PUB" "200 with a full destination: printed"
is "$(conns)" $((n0 + 1)) "one connection to the bridge"
is "$(tail -1 "$FAKE/ids")" resolve-test "STREAM CONNECT through \$E2E_SAM_ID"
is "$(cat "$FAKE/req-full.i2p")" "$(printf 'GET /.well-known/i2pmail.key HTTP/1.1\r\nHost: full.i2p\r\nUser-Agent: MYOB/6.66 (AN/ON)\r\nConnection: close\r\nAccept: text/plain\r\n\r\n')" "the request, exactly"
like "$ERR" "host=full.i2p result=found via=network dest=$B32 ms=[0-9]+ cache=stored ttl=86400" "logged with the b32"
is "$(sed -n '1p;2p;5p' "$C/full.i2p")" "$(printf 'e2e-resolve-cache 1\nhost full.i2p\nfound %s' "$PUB")" "cache entry written"
is "$(ttl full.i2p)" 86400 "no Cache-Control: kept a day"
now=$(date +%s); f=$(field "$C/full.i2p" fetched)
ok $(( f <= now && f >= now - 5 ? 0 : 1 )) "cache entry: fetch time is now"
is "$(tmpfiles)" 0 "no temporary file left"
is "$(stat -c %a "$C/full.i2p")" 644 "cache entry mode 0644"

n0=$(conns)
res full.i2p
is "$RC:$OUT" "0:$PUB" "second call: same answer"
like "$ERR" 'host=full.i2p result=found via=cache' "second call: from the cache"
is "$(conns)" "$n0" "second call: the bridge saw no connection"

for h in fullnolf chunked close lf interim; do
	res $h.i2p
	is "$RC:$OUT" "0:$PUB" "$h: found"
done
res b32port.i2p
is "$RC:$OUT" "0:$B32 2525" "b32 address and port (any case, tab, CRLF): normalised"
is "$(field "$C/b32port.i2p" found)" "$B32 2525" "b32 and port cached"

# ---- Cache-Control ----
res maxage.i2p;  is "$RC:$(ttl maxage.i2p)" "0:3600" "max-age=3600 respected"
res hugeage.i2p; is "$RC:$(ttl hugeage.i2p)" "0:2592000" "huge max-age clamped to 30 days"
res twoages.i2p; is "$RC:$(ttl twoages.i2p)" "0:600" "two Cache-Control headers: the smaller max-age"
res badage.i2p;  is "$RC:$(ttl badage.i2p)" "0:0" "malformed max-age: stale at once"
res nocache.i2p; is "$RC:$(ttl nocache.i2p)" "0:0" "no-cache: stored for stale use only"
n0=$(conns)
res nocache.i2p
is "$RC:$(conns)" "0:$((n0 + 1))" "no-cache: the next call fetches again"
res nostore.i2p
is "$RC:$OUT" "0:$PUB" "no-store: found"
ok "$([ ! -e "$C/nostore.i2p" ]; echo $?)" "no-store: not cached"
like "$ERR" 'cache=no-store' "no-store: logged"
cp "$C/full.i2p" "$C/nostore-2.i2p"; sed -i 's/^host .*/host nostore-2.i2p/; s/^expires .*/expires 1/; s/^fetched .*/fetched 1/' "$C/nostore-2.i2p"
res nostore-2.i2p
ok "$([ ! -e "$C/nostore-2.i2p" ]; echo $?)" "no-store: an older entry is removed"

# ---- no key published ----
for h in notfound gone; do
	n0=$(conns)
	res $h.i2p
	is "$RC:$OUT" "100:" "$h: exit 100, nothing printed"
	is "$(field "$C/$h.i2p" none):$(ttl $h.i2p)" "http-$([ $h = gone ] && echo 410 || echo 404):300" "$h: a negative entry for 5 minutes"
	res $h.i2p
	is "$RC:$(conns)" "100:$((n0 + 1))" "$h: answered again from the negative entry"
	like "$ERR" "result=none via=cache reason=http-" "$h: logged as a cached negative"
done
res nfnostore.i2p
is "$RC" 100 "404 with no-store: exit 100"
ok "$([ ! -e "$C/nfnostore.i2p" ]; echo $?)" "404 with no-store: nothing cached"
res nfage.i2p
is "$RC:$(ttl nfage.i2p)" "100:5" "404 with max-age=5: negative for 5 s"
for h in forbidden:403 nocontent:204; do
	res "${h%%:*}.i2p"
	is "$RC" 100 "HTTP ${h#*:}: exit 100"
done
res redirect.i2p
is "$RC" 100 "301 redirect: exit 100"
like "$ERR" 'redirects are not followed' "301 redirect: says so"
is "$(field "$C/redirect.i2p" none)" redirect-301 "301 redirect: negative entry"
ok "$([ ! -e "$FAKE/req-elsewhere.i2p" ]; echo $?)" "301 redirect: not followed"
res redirect302.i2p
is "$RC:$OUT" "100:" "302 with a valid body: exit 100, the body unused"

# ---- invalid key files: 100, never cached as found ----
for h in garbage empty private two twoline portbad porttext b32long html; do
	res $h.i2p
	is "$RC:$OUT" "100:" "$h body: exit 100, nothing printed"
	is "$(grep -c '^found' "$C/$h.i2p")" 0 "$h body: not cached as found"
done
like "$(e2e-resolve private.i2p 2>&1; rm -f "$C/private.i2p"; e2e-resolve private.i2p 2>&1)" 'a private key, not a public destination' "private key: says so"
for h in big bigclose endless; do
	res $h.i2p
	is "$RC:$OUT" "100:" "$h: exit 100"
	ok $((MS < 2500 ? 0 : 1)) "$h: stops at the size limit (${MS} ms)"
done
like "$(rm -f "$C/endless.i2p"; e2e-resolve endless.i2p 2>&1)" 'over the limit' "endless body: says so"
res tinychunks.i2p
is "$RC:$OUT" "111:" "endless tiny chunks with long extensions: exit 111"
ok $((MS < 2500 ? 0 : 1)) "endless tiny chunks: stops at the framing limit (${MS} ms)"

# ---- cannot tell now: 111, nothing cached ----
for h in error unavail toomany badstatus http2 nothttp nul barecr folded longhead longheads manyheaders \
	truncated headeof clte badcl twocl gzip badchunk hugechunk endlesshead; do
	res $h.i2p
	is "$RC:$OUT" "111:" "$h: exit 111"
	ok "$([ ! -e "$C/$h.i2p" ]; echo $?)" "$h: nothing cached"
done
for h in slow slowhead drip samsilent; do
	res $h.i2p
	is "$RC" 111 "$h: exit 111"
	ok $((MS >= 2900 && MS < 5000 ? 0 : 1)) "$h: gives up at the deadline (${MS} ms of 3000)"
done
like "$ERR" 'no complete answer within 3 s|timed out' "deadline: says so"
for h in unreach i2perr invalidid timeoutres oddresult badsam wrongreply noresult longline samclose; do
	res $h.i2p
	is "$RC:$OUT" "111:" "SAM $h: exit 111"
done
like "$(e2e-resolve unreach.i2p 2>&1)" 'CANT_REACH_PEER' "CANT_REACH_PEER: in the log"
for h in unknown keynotfound; do
	res $h.i2p
	is "$RC" 100 "SAM $h (no such name): exit 100"
	ok "$([ ! -e "$C/$h.i2p" ]; echo $?)" "SAM $h: nothing cached"
done
OUT=$(E2E_RESOLVE_UNKNOWN=111 e2e-resolve unknown.i2p 2>/dev/null); RC=$?
is "$RC" 111 "unknown name with E2E_RESOLVE_UNKNOWN=111: exit 111"
OUT=$(E2E_RESOLVE_UNKNOWN=0 e2e-resolve unknown.i2p 2>/dev/null); RC=$?
is "$RC" 111 "E2E_RESOLVE_UNKNOWN=0: a configuration error, 111"
for m in noversion garbage close silent v30; do
	echo $m >"$FAKE/hello"
	res hello-$m.i2p
	is "$RC" 111 "HELLO answered '$m': exit 111"
done
rm "$FAKE/hello"
sleep 0.2
OUT=$(E2E_SAM=127.0.0.1:$(free_port) e2e-resolve full-9.i2p 2>&1); RC=$?
is "$RC" 111 "no bridge: exit 111"
like "$OUT" 'unable to connect to SAM' "no bridge: says why"

# ---- stale copies ----
age() {   # age HOST SECONDS: the entry was fetched SECONDS ago and has expired
	local now
	now=$(date +%s)
	sed -i "s/^fetched .*/fetched $((now - $2))/; s/^expires .*/expires $((now - $2 + 1))/" "$C/$1"
}
scen stale.i2p full
res stale.i2p
is "$RC" 0 "stale: first fetch"
age stale.i2p 86400
for s in unreach error slow unknown samclose; do
	scen stale.i2p $s
	res stale.i2p
	is "$RC:$OUT" "0:$PUB" "expired entry, site answers '$s': the stale copy"
	like "$ERR" "^e2e-resolve: warning: host=stale.i2p result=found via=stale dest=$B32 age=8640[0-9]" "stale copy ($s): a warning"
done
OUT=$(E2E_SAM=127.0.0.1:$(free_port) e2e-resolve stale.i2p 2>/dev/null); RC=$?
is "$RC:$OUT" "0:$PUB" "expired entry, no bridge: the stale copy"
scen stale.i2p slow
T0=$(date +%s%N)
OUT=$(E2E_RESOLVE_TIMEOUT=30 E2E_RESOLVE_STALE_TIMEOUT=1 e2e-resolve stale.i2p 2>/dev/null); RC=$?
MS=$((($(date +%s%N) - T0) / 1000000))
is "$RC:$OUT" "0:$PUB" "silent site, stale copy: served"
[ "$MS" -ge 900 ] && [ "$MS" -lt 10000 ]; ok $? "silent site, stale copy: after E2E_RESOLVE_STALE_TIMEOUT (1 s), not E2E_RESOLVE_TIMEOUT (30 s): ${MS} ms"
scen nostale.i2p slow
T0=$(date +%s%N)
OUT=$(E2E_RESOLVE_TIMEOUT=3 E2E_RESOLVE_STALE_TIMEOUT=1 e2e-resolve nostale.i2p 2>/dev/null); RC=$?
MS=$((($(date +%s%N) - T0) / 1000000))
[ "$RC" = 111 ] && [ "$MS" -ge 2900 ]; ok $? "silent site, no copy: the whole E2E_RESOLVE_TIMEOUT (3 s) is waited: rc=$RC ${MS} ms"
age stale.i2p $((30 * 86400 - 60))
scen stale.i2p unreach
res stale.i2p
is "$RC" 0 "stale copy 30 days old (less a minute): still served"
age stale.i2p $((30 * 86400 + 60))
res stale.i2p
is "$RC:$OUT" "111:" "stale copy over 30 days old: exit 111"
scen stale.i2p short
res stale.i2p
is "$RC:$(ttl stale.i2p)" "0:1" "site back with max-age=1: refreshed"
sleep 2
scen stale.i2p unreach
res stale.i2p
is "$RC:$OUT" "0:$PUB" "max-age=1 passed, site unreachable: the stale copy"
scen stale.i2p notfound
res stale.i2p
is "$RC" 100 "site now says 404: exit 100, the stale copy is not used"
is "$(field "$C/stale.i2p" none)" http-404 "site now says 404: the entry becomes negative"
scen stale.i2p garbage
age stale.i2p 400
res stale.i2p
is "$RC" 100 "site now publishes garbage: exit 100"
scen stale.i2p unreach
age stale.i2p 400
res stale.i2p
is "$RC" 111 "expired negative entry, site unreachable: 111 (negatives are not served stale)"

# ---- damaged and odd cache entries ----
mkentry() {   # mkentry HOST FETCHED-AGO TTL LAST-LINE
	local now
	now=$(date +%s)
	printf 'e2e-resolve-cache 1\nhost %s\nfetched %s\nexpires %s\n%s\n' "$1" $((now - $2)) $((now - $2 + $3)) "$4" >"$C/$1"
}
for h in damaged other future long zeros trunc; do scen $h.i2p full; done
mkentry pinned.i2p 10 3600 "found $PUB1 25"
scen pinned.i2p unreach
res pinned.i2p
is "$RC:$OUT" "0:$PUB1 25" "a fresh hand-made entry: used"
n0=$(conns)
for bad in "found $(cat "$KEYS/ed25519-2.priv")" "found ${PUB1:0:200}" "found $PUB1  25" "found $PUB1 0" "found" "none" "none HTTP 404" "maybe $PUB1"; do
	mkentry damaged.i2p 10 3600 "$bad"
	res damaged.i2p
	is "$RC:$OUT" "0:$PUB" "damaged entry '${bad:0:20}...': ignored, fetched afresh"
	is "$(field "$C/damaged.i2p" found)" "$PUB" "damaged entry '${bad:0:20}...': replaced"
done
mkentry other.i2p 10 3600 "found $PUB1"; sed -i 's/^host .*/host someone-else.i2p/' "$C/other.i2p"
res other.i2p
is "$RC:$OUT" "0:$PUB" "an entry naming another host: ignored"
mkentry future.i2p -3600 3600 "found $PUB1"
res future.i2p
is "$RC:$OUT" "0:$PUB" "an entry fetched in the future: ignored"
mkentry long.i2p 10 $((31 * 86400)) "found $PUB1"
res long.i2p
is "$RC:$OUT" "0:$PUB" "an entry kept over 30 days: ignored"
head -c 5000 /dev/zero >"$C/zeros.i2p"
res zeros.i2p
is "$RC:$OUT" "0:$PUB" "a file of NUL bytes: ignored"
mkentry trunc.i2p 10 3600 "found $PUB1"; truncate -s 100 "$C/trunc.i2p"
res trunc.i2p
is "$RC:$OUT" "0:$PUB" "a truncated entry: ignored"
is $(($(conns) - n0)) 13 "each damaged entry meant one fetch"

rm -rf "$C"
res full-3.i2p
is "$RC" 0 "no cache directory: found"
ok "$([ -f "$C/full-3.i2p" ]; echo $?)" "no cache directory: made, entry written"
rm -rf "$C"; : >"$C"
res full-4.i2p
is "$RC:$OUT" "0:$PUB" "cache unusable (a file): still found"
like "$ERR" 'warning: host=full-4.i2p cache=unwritable' "cache unusable: a warning"
rm -f "$C"; mkdir "$C"

# many at once: every answer whole, one valid entry, no temporary file left
pids=""
for i in $(seq 20); do e2e-resolve full-5.i2p >"$T_TMP/par.$i" 2>/dev/null & pids="$pids $!"; done
# shellcheck disable=SC2086
wait $pids
bad=0
for i in $(seq 20); do [ "$(cat "$T_TMP/par.$i")" = "$PUB" ] || bad=$((bad + 1)); done
is "$bad" 0 "20 at once: every answer whole"
is "$(field "$C/full-5.i2p" found)" "$PUB" "20 at once: a valid entry"
is "$(tmpfiles)" 0 "20 at once: no temporary file left"

# ---- the real network ----
if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then
	diag "real I2P network skipped (E2E_TEST_NOI2P=1, or no i2pd/busybox)"
	done_testing; exit
fi
. "$TOP/tests/resolve/realnet.sh"
done_testing
