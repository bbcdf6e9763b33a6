#!/bin/bash
# e2e-resolve and service records (I2P proposal 167): an _smtp._tcp record
# in the NAMING REPLY of "NAMING LOOKUP NAME=... OPTIONS=true" answers
# before the well-known file. A stand-in SAM bridge (tests/resolve/fakesam.py)
# answers as the proposal specifies, since no router here does (i2pd 2.45.1
# ignores OPTIONS=true); then the real i2pd of tests/i2pnet.sh shows that
# asking for options does not break resolution there.
# E2E_TEST_NOI2P=1 skips the real network.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/resolve/setup.sh" srv-test

PUB=$(cat "$KEYS/ed25519-x25519.pub")      # what the stand-in web sites publish
PUB1=$(cat "$KEYS/ed25519-1.pub")
B32_1=$(cat "$KEYS/ed25519-1.b32")
PUB2=$(cat "$KEYS/ed25519-2.pub")
B32_2=$(cat "$KEYS/ed25519-2.b32")
PUB3=$(cat "$KEYS/ecdsa-p256.pub")

# rec NAME DEST [OPTION-TOKENS]: the bridge's NAMING REPLY for NAME
rec() { printf 'NAMING REPLY RESULT=OK NAME=%s VALUE=%s%s\n' "$1" "$2" "${3:+ $3}" >"$FAKE/naming/$1"; }
# site HOST: HOST's web site publishes $PUB (the well-known path)
site() { echo full >"$FAKE/override/$1"; }

# ---- a "self" record ----
rec self.i2p "$PUB1" 'OPTION:_smtp._tcp="0 86400 25"'
c0=$(count conns); l0=$(count lookups)
res self.i2p
is "$RC:$OUT" "0:$PUB1 25" "self record: the name's own destination, with the record's port"
is "$(count conns)" "$c0" "self record: no HTTP fetch"
is "$(sed -n "$((l0 + 1))p" "$FAKE/lookups")" "NAMING LOOKUP NAME=self.i2p OPTIONS=true" "self record: asked with OPTIONS=true"
like "$ERR" "host=self.i2p result=found via=srv target=self dest=$B32_1 port=25 ms=[0-9]+ cache=stored ttl=86400" "self record: logged"
is "$(field "$C/self.i2p" found):$(ttl self.i2p)" "$PUB1 25:86400" "self record: cached for its TTL"
l0=$(count lookups)
res self.i2p
is "$RC:$OUT:$(count lookups)" "0:$PUB1 25:$l0" "self record: the next call is answered from the cache"
like "$ERR" 'via=cache' "self record: logged as from the cache"

rec self-2.i2p "$PUB1" 'OPTION:_smtp._tcp="0 3600 0 app=x"'
res self-2.i2p
is "$RC:$OUT:$(ttl self-2.i2p)" "0:$PUB1:3600" "self record with port 0 and app options: no port, TTL 3600"
rec self-3.i2p "$PUB1" 'OPTION:_smtp._tcp="0 2147483647 25"'
res self-3.i2p
is "$RC:$(ttl self-3.i2p)" "0:2592000" "self record with a huge TTL: cached 30 days at most"
rec self-4.i2p "$PUB1" 'OPTION:i2cp.future=yes OPTION:_smtp._udp="0 86400 9" OPTION:_smtp._tcp="0 86400 25" OPTION:zzz="a b"'
res self-4.i2p
is "$RC:$OUT" "0:$PUB1 25" "other options around the record: ignored"
rec self-5.i2p "$PUB1" "OPTION:_smtp._tcp=\"0 86400 25\" OPTION:_pop3._tcp=\"0 86400 110\""
res self-5.i2p
is "$RC:$OUT" "0:$PUB1 25" "two service records: the _smtp._tcp one"

# ---- a record pointing at another name ----
rec mx.i2p "$PUB1" 'OPTION:_smtp._tcp="1 86400 0 0 2525 mail.i2p"'
rec mail.i2p "$PUB2" 'OPTION:_smtp._tcp="0 3600 25"'
c0=$(count conns); l0=$(count lookups)
res mx.i2p
is "$RC:$OUT" "0:$PUB2 2525" "record naming mail.i2p, which says self: mail.i2p's destination, the record's port"
is "$(count conns)" "$c0" "target: no HTTP fetch"
is "$(sed -n "$((l0 + 1)),\$p" "$FAKE/lookups" | tr '\n' '|')" "NAMING LOOKUP NAME=mx.i2p OPTIONS=true|NAMING LOOKUP NAME=mail.i2p OPTIONS=true|" "target: both names looked up with OPTIONS=true"
like "$ERR" "host=mx.i2p result=found via=srv target=mail.i2p dest=$B32_2 port=2525 ms=[0-9]+ cache=stored ttl=3600" "target: logged"
is "$(ttl mx.i2p)" 3600 "target: cached for the smaller TTL of the two records"
rec mxb32.i2p "$PUB1" "OPTION:_smtp._tcp=\"1 86400 0 0 25 $B32_2\""
rec "$B32_2" "$PUB2" 'OPTION:_smtp._tcp="0 86400 25"'
res mxb32.i2p
is "$RC:$OUT" "0:$PUB2 25" "record naming a b32 that says self: found"
rec mxlie.i2p "$PUB1" "OPTION:_smtp._tcp=\"1 86400 0 0 25 $B32_1\""
rec "$B32_1" "$PUB2" 'OPTION:_smtp._tcp="0 86400 25"'
site mxlie.i2p
res mxlie.i2p
is "$RC:$OUT" "0:$PUB" "a b32 target answered with another destination: not used, the well-known file"
like "$ERR" 'srv=unverified .*another b32' "... logged"

# ---- a target without its own self record: the well-known file ----
rec noself.i2p "$PUB1" 'OPTION:_smtp._tcp="1 86400 0 0 25 plain.i2p"'
site noself.i2p
c0=$(count conns)
res noself.i2p
is "$RC:$OUT" "0:$PUB" "target without a record: ignored, the well-known file answers"
is "$(count conns)" $((c0 + 1)) "... fetched over HTTP"
like "$ERR" 'warning: host=noself.i2p srv=unverified target=plain.i2p reason=no _smtp._tcp record' "... logged"
like "$ERR" 'host=noself.i2p result=found via=network' "... found via the network"
rec chain.i2p "$PUB1" 'OPTION:_smtp._tcp="1 86400 0 0 25 mx.i2p"'
site chain.i2p
res chain.i2p
is "$RC:$OUT" "0:$PUB" "target whose record points further (no recursion): the well-known file"
like "$ERR" 'srv=unverified target=mx.i2p reason=its own record is not "self"' "... logged"
rec gone.i2p "$PUB1" 'OPTION:_smtp._tcp="1 86400 0 0 25 vanished.i2p"'
printf 'NAMING REPLY RESULT=LEASESET_NOT_FOUND NAME=vanished.i2p\n' >"$FAKE/naming/vanished.i2p"
site gone.i2p
res gone.i2p
is "$RC:$OUT" "0:$PUB" "target whose lease set is not found: the well-known file"
rec badtarget.i2p "$PUB1" 'OPTION:_smtp._tcp="1 86400 0 0 25 broken.i2p"'
rec broken.i2p "$PUB2" 'OPTION:_smtp._tcp="0 0 25"'
site badtarget.i2p
res badtarget.i2p
is "$RC:$OUT" "0:$PUB" "target with a malformed record: the well-known file"
like "$ERR" 'srv=unverified target=broken.i2p reason=its own record is malformed' "... logged"

# ---- priorities ----
for n in a b c d; do rec $n.i2p "$PUB2" 'OPTION:_smtp._tcp="0 86400 25"'; done
rec a.i2p "$PUB1" 'OPTION:_smtp._tcp="0 86400 25"'
rec prio.i2p "$PUB3" 'OPTION:_smtp._tcp="1 86400 5 0 25 b.i2p,1 86400 1 7 26 a.i2p,1 86400 9 0 27 c.i2p"'
bad=0
for _ in 1 2 3 4 5 6; do
	rm -f "$C/prio.i2p"
	res prio.i2p
	[ "$RC:$OUT" = "0:$PUB1 26" ] || bad=$((bad + 1))
done
is "$bad" 0 "three records: the lowest priority chosen, every time"
rec prio2.i2p "$PUB3" 'OPTION:_smtp._tcp="1 86400 0 0 25 plain.i2p,1 86400 1 0 26 a.i2p"'
res prio2.i2p
is "$RC:$OUT" "0:$PUB1 26" "the best target unverified: the next priority"
like "$ERR" 'srv=unverified target=plain.i2p' "... the first one logged"
rec prio3.i2p "$PUB3" 'OPTION:_smtp._tcp="1 86400 0 0 25 a.i2p,86400 1 0 26 b.i2p"'
res prio3.i2p
is "$RC:$OUT" "0:$PUB1 25" "the proposal's two-record example (no 1 after the comma): understood"
rec weights.i2p "$PUB3" 'OPTION:_smtp._tcp="1 86400 3 60000 25 a.i2p,1 86400 3 1 25 b.i2p"'
n1=0
for _ in $(seq 8); do
	rm -f "$C/weights.i2p"
	res weights.i2p
	[ "$RC:$OUT" = "0:$PUB1 25" ] && n1=$((n1 + 1))
done
ok $((n1 >= 7 ? 0 : 1)) "same priority: the weight decides (weight 60000 over 1: $n1 of 8)"

# ---- malformed records: ignored as a whole, the well-known file, a log line ----
i=0
while IFS= read -r v; do
	i=$((i + 1))
	h=bad-$i.i2p
	rec $h "$PUB1" "OPTION:_smtp._tcp=\"$v\""
	site $h
	c0=$(count conns)
	res $h
	is "$RC:$OUT:$(count conns)" "0:$PUB:$((c0 + 1))" "malformed record '$v': the well-known file"
	like "$ERR" "warning: host=$h srv=malformed reason=" "malformed record '$v': logged"
done <<EOF

2 86400 25
0 0 25
0 86400 65536
0 086400 25
0 86400
0 86400 25 a b
0 -1 25
1 86400 0 0 25
1 86400 0 0 25 A.i2p
1 86400 0 0 25 example.com
1 86400 0 0 25 bad..i2p
1 86400 0 0 25 abc.b32.i2p
1 86400 0 0 25 a.i2p x y
1 86400 70000 0 25 a.i2p
1 86400 0 0 25 a.i2p,
1 86400 0 0 25 a.i2p,,1 86400 0 0 25 b.i2p
0 86400 25,1 86400 0 0 25 a.i2p
1 86400 0 0 25 a.i2p,0 86400 25
1 86400 0 0 25 a.i2p,1 86400 0 0 bad
EOF
rec ctl.i2p "$PUB1" "$(printf 'OPTION:_smtp._tcp="0 86400\t25"')"
site ctl.i2p
res ctl.i2p
is "$RC:$OUT" "0:$PUB" "a tab in the record: malformed, the well-known file"
rec many.i2p "$PUB1" "OPTION:_smtp._tcp=\"$(for k in $(seq 17); do printf '1 1 0 0 25 a.i2p,'; done | sed 's/,$//')\""
site many.i2p
res many.i2p
is "$RC:$OUT" "0:$PUB" "17 records: too many, the well-known file"
like "$ERR" 'srv=malformed reason=too many records' "... logged"

# ---- routers without service records: as before, silently ----
site plain.i2p
c0=$(count conns); l0=$(count lookups)
res plain.i2p
is "$RC:$OUT" "0:$PUB" "router ignores OPTIONS (no options in the reply, as i2pd 2.45.1): the well-known file"
is "$(count conns):$(count lookups)" "$((c0 + 1)):$((l0 + 1))" "... one lookup, one fetch"
unlike "$ERR" 'warning|srv=' "... nothing logged about records"
like "$ERR" 'host=plain.i2p result=found via=network' "... logged as today"
for r in "RESULT=LEASESET_NOT_FOUND" "RESULT=INVALID_KEY" "RESULT=KEY_NOT_FOUND" "RESULT=I2P_ERROR MESSAGE=\"x\""; do
	h=res-$(echo "$r" | sed 's/RESULT=//; s/ .*//' | tr 'A-Z_' 'a-z-').i2p
	printf 'NAMING REPLY %s NAME=%s\n' "$r" "$h" >"$FAKE/naming/$h"
	site $h
	res $h
	is "$RC:$OUT" "0:$PUB" "NAMING REPLY $r: the well-known file"
	unlike "$ERR" 'warning' "NAMING REPLY $r: no warning"
done
for r in 'NAMING REPLY RESULT=OK VALUE=x OPTION:_smtp._tcp="0 86400 25"' \
	"NAMING REPLY RESULT=OK VALUE=$(cat "$KEYS/ed25519-2.priv") OPTION:_smtp._tcp=\"0 86400 25\"" \
	"NAMING REPLY RESULT=OK VALUE=$PUB1 OPTION:_smtp._tcp=\"0 86400 25" \
	"NAMING REPLY RESULT=OK VALUE=$PUB1 OPTION:_smtp._tcp=\"0 86400 25\" OPTION:_smtp._tcp=\"0 86400 26\"" \
	"STREAM STATUS RESULT=OK VALUE=$PUB1 OPTION:_smtp._tcp=\"0 86400 25\"" \
	"HELLO REPLY" close; do
	i=$((i + 1))
	h=odd-$i.i2p
	printf '%s\n' "$r" >"$FAKE/naming/$h"
	site $h
	res $h
	is "$RC:$OUT" "0:$PUB" "odd NAMING REPLY '${r:0:40}...': the well-known file"
done
printf 'silent\n' >"$FAKE/naming/hush.i2p"
site hush.i2p
t0=$(date +%s%N)
OUT=$(E2E_RESOLVE_SRV_TIMEOUT=1 e2e-resolve hush.i2p 2>/dev/null); RC=$?
MS=$((($(date +%s%N) - t0) / 1000000))
is "$RC:$OUT" "0:$PUB" "NAMING LOOKUP never answered: the well-known file"
ok $((MS >= 900 && MS < 3000 ? 0 : 1)) "... after E2E_RESOLVE_SRV_TIMEOUT=1 (${MS} ms)"
rm -f "$C/hush.i2p"
t0=$(date +%s%N)
OUT=$(e2e-resolve hush.i2p 2>/dev/null); RC=$?
MS=$((($(date +%s%N) - t0) / 1000000))
is "$RC:$OUT" "0:$PUB" "NAMING LOOKUP never answered, default E2E_RESOLVE_SRV_TIMEOUT: the well-known file"
ok $((MS >= 1400 && MS < 2900 ? 0 : 1)) "... after half of E2E_RESOLVE_TIMEOUT=3, all within it (${MS} ms)"
site off.i2p
rec off.i2p "$PUB1" 'OPTION:_smtp._tcp="0 86400 25"'
l0=$(count lookups)
OUT=$(E2E_RESOLVE_SRV_TIMEOUT=0 e2e-resolve off.i2p 2>/dev/null); RC=$?
is "$RC:$OUT:$(count lookups)" "0:$PUB:$l0" "E2E_RESOLVE_SRV_TIMEOUT=0: no record lookup"
OUT=$(E2E_RESOLVE_SRV_TIMEOUT=x e2e-resolve off.i2p 2>&1); RC=$?
is "$RC" 111 "malformed E2E_RESOLVE_SRV_TIMEOUT: exit 111"
l0=$(count lookups)
res "$B32_1"
is "$RC:$OUT:$(count lookups)" "0:$B32_1:$l0" "a b32 host: its own mail server, no lookup"
echo "gw.i2p $PUB3" >"$H/routes"
rec gw.i2p "$PUB1" 'OPTION:_smtp._tcp="0 86400 25"'
res gw.i2p
is "$RC:$OUT" "0:$PUB3" "a route wins over a record"
rm "$H/routes"
rec late.i2p "$PUB1" 'OPTION:_smtp._tcp="0 86400 25"'
printf 'e2e-resolve-cache 1\nhost late.i2p\nfetched %s\nexpires %s\nfound %s\n' $(($(date +%s) - 10)) $(($(date +%s) + 3600)) "$PUB2" >"$C/late.i2p"
res late.i2p
is "$RC:$OUT" "0:$PUB2" "a fresh cache entry wins over a record"
OUT=$(E2E_SAM=127.0.0.1:$(free_port) e2e-resolve nobridge.i2p 2>&1); RC=$?
is "$RC" 111 "no bridge: exit 111, as before"
like "$OUT" 'unable to connect to SAM' "no bridge: the well-known fetch says why"

# ---- the real network: i2pd 2.45.1 and OPTIONS=true ----
if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then
	diag "real I2P network skipped (E2E_TEST_NOI2P=1)"
	done_testing; exit
fi
NET=$TOP/tests/i2pnet.sh
D=$T_TMP/net
mkdir -p "$D/www/.well-known"
cp "$KEYS/ed25519-x25519.pub" "$D/www/.well-known/i2pmail.key"
SESS=""
net_stop() {
	[ -n "$SESS" ] && kill "$SESS" 2>/dev/null && wait "$SESS" 2>/dev/null
	"$NET" stop "$D" >/dev/null 2>&1
}
trap 'net_stop; t_cleanup' EXIT
"$NET" site "$D" bob.i2p ed25519-2 "$D/www" B || { echo "Bail out! cannot declare the site"; exit 1; }
E2E_TEST_WATCHPID=$$ "$NET" start "$D" 2>"$D/start.err"
rc=$?
is "$rc" 0 "real network: starts"
[ "$rc" = 0 ] || { sed 's/^/# /' "$D/start.err"; done_testing; exit; }
. "$D/env"
# shellcheck disable=SC2086
"$PY" "$TOP/tests/i2p/samtool.py" session --timeout 90 "$SAM_A" srv-real TRANSIENT $SAM_OPTIONS \
	>"$D/sess.pub" 2>"$D/sess.err" &
SESS=$!
# meanwhile, the lookup itself, raw
REPLY=$("$PY" - "$SAM_A" <<'EOF'
import socket, sys
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)), timeout=20)
f = s.makefile("rb")
s.sendall(b"HELLO VERSION MIN=3.1 MAX=3.3\n")
f.readline()
s.sendall(b"NAMING LOOKUP NAME=bob.i2p OPTIONS=true\n")
print(f.readline().decode("latin-1").rstrip("\n"))
EOF
)
like "$REPLY" "^NAMING REPLY RESULT=OK NAME=bob.i2p VALUE=$PUB2\$" "real i2pd: NAMING LOOKUP with OPTIONS=true answers as without it (no options)"
for _ in $(seq 900); do [ -s "$D/sess.pub" ] && break; kill -0 "$SESS" 2>/dev/null || break; sleep 0.1; done
ok "$([ -s "$D/sess.pub" ]; echo $?)" "real network: a session on router A"
[ -s "$D/sess.pub" ] || { sed 's/^/# /' "$D/sess.err"; done_testing; exit; }
H2=$T_TMP/home-real
mkdir -p "$H2/cache"
tries=0
while :; do
	tries=$((tries + 1))
	OUT=$(E2E_HOME=$H2 E2E_SAM=$SAM_A E2E_SAM_ID=srv-real E2E_RESOLVE_TIMEOUT=60 e2e-resolve bob.i2p 2>"$T_TMP/err"); RC=$?
	ERR=$(cat "$T_TMP/err")
	[ "$RC" = 111 ] && [ $tries -lt 5 ] || break
	diag "try $tries: $ERR"
	sleep 2
done
is "$RC:$OUT" "0:$PUB" "real i2pd: e2e-resolve asks for records, gets none, fetches the well-known file ($tries tries)"
like "$ERR" 'host=bob.i2p result=found via=network' "real i2pd: found via the network"
unlike "$ERR" 'srv=' "real i2pd: nothing logged about records"
net_stop
SESS=""
done_testing
