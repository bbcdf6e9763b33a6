#!/bin/bash
# e2e-samaccept: settings and key errors; a stand-in SAM bridge
# (tests/samaccept/fakesam.py) for what a router will not do on demand
# (bad peer lines, data right behind the peer line, session errors, PING,
# the limits, a lost session); then the real thing on a private i2pd
# network (tests/i2pnet.sh): servers behind routers A and B, streams both
# ways, router A killed and router B told to stop, each server exiting
# 111. About 15 s, plus 40 s for the network (E2E_TEST_NOI2P=1 skips it).
# PROG is tests/samaccept/prog.sh: it records its environment and fds.
. "$(dirname "$0")/lib.sh"

SA=$TOP/bin/e2e-samaccept
FAKE=$TOP/tests/samaccept/fakesam.py
PROGSH=$TOP/tests/samaccept/prog.sh
KEYS=$TOP/tests/i2p/keys
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
export SAMACCEPT_OUT=$T_TMP/out
mkdir -p "$SAMACCEPT_OUT" "$T_TMP/home"
HOME_=$T_TMP/home
cp "$KEYS/ed25519-2.priv" "$HOME_/key"
unset E2E_SAM E2E_SAM_ID E2E_SAM_OPTIONS SAMREMOTEPORT SAMLOCALPORT
export E2E_HOME=$HOME_

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
# until_ok SECONDS COMMAND...: poll COMMAND every 50 ms; 1 on timeout.
until_ok() {
	local end=$(($(now_ms) + $1 * 1000)); shift
	until "$@"; do [ "$(now_ms)" -ge "$end" ] && return 1; sleep 0.05; done
}
# The b32 address of a base64 destination, computed here, not by e2e.
b32_of() {
	$PY -c 'import sys,base64,hashlib
d=base64.b64decode(sys.argv[1].replace("-","+").replace("~","/"))
print(base64.b32encode(hashlib.sha256(d).digest()).decode().lower().rstrip("=")+".b32.i2p")' "$1"
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# fake NAME ARGS...: a stand-in bridge; FPORT its port.
fake() {
	local name=$1; shift
	$PY "$FAKE" "$T_TMP/$name.port" "$KEYS" "$@" 2>>"$T_TMP/$name.fake.log" &
	bg_pid $!
	until_ok 10 test -s "$T_TMP/$name.port" || { diag "fakesam $name did not start"; return 1; }
	FPORT=$(cat "$T_TMP/$name.port")
	export E2E_SAM=127.0.0.1:$FPORT
}
ctl_is() { [ "$(ctl "$1")" = "$2" ]; }
# sa NAME ARGS...: e2e-samaccept in the background against the current
# bridge, stderr to NAME.log; SAPID its pid.
sa() {
	local name=$1; shift
	"$SA" "$@" 2>>"$T_TMP/$name.log" &
	SAPID=$!
	bg_pid $SAPID
}
# sa_wait SECONDS: RC gets SAPID's exit code, or "running".
sa_wait() {
	local end=$(($(now_ms) + $1 * 1000))
	while kill -0 "$SAPID" 2>/dev/null; do
		[ "$(now_ms)" -ge "$end" ] && { RC=running; return; }
		sleep 0.02
	done
	wait "$SAPID"
	RC=$?
}
# run ARGS...: e2e-samaccept in the foreground (10 s at most); RC, OUT.
run() { OUT=$(timeout 10 "$SA" "$@" 2>&1); RC=$?; }
# prog.sh's records: env.PID (the environment) and fds.PID, in DIR
envfiles() { local f n=0; for f in "${1:-$SAMACCEPT_OUT}"/env.*; do case $f in *[0-9]) n=$((n + 1)) ;; esac; done; echo $n; }
has_env() { [ "$(envfiles "$1")" -gt 0 ]; }
newest_env() { ls -t "${1:-$SAMACCEPT_OUT}"/env.* | grep -v '\.tmp$' | head -1; }
envval() { grep "^$1=" "$2" | cut -d= -f2-; }

ALICE_PUB=$(cat "$KEYS/ed25519-1.pub")
ALICE_B32=$(b32_of "$ALICE_PUB")
BOB_B32=$(b32_of "$(cat "$KEYS/ed25519-2.pub")")
CAROL_B32=$(b32_of "$(cat "$KEYS/ed25519-x25519.pub")")
is "$ALICE_B32" "$(cat "$KEYS/ed25519-1.b32")" "independent b32 of the test key agrees with the test data"

# ---- usage, settings, the key ----
run
is "$RC" 100 "no PROG: usage, exit 100"
like "$OUT" "usage: e2e-samaccept" "usage message"
run -c 0 cat
is "$RC" 100 "-c 0 is refused"
run -c 1001 cat
is "$RC" 100 "-c 1001 is refused"
run -d 2 cat
is "$RC" 100 "-d 2 (stderr) is refused"
E2E_HOME=$HOME_ run -d 9 cat
is "$RC" 100 "-d on a closed fd is refused"
like "$OUT" "notification fd" "... saying so"
(unset E2E_HOME; run cat; echo "$RC $OUT") >"$T_TMP/o"
like "$(cat "$T_TMP/o")" "^100 .*E2E_HOME" "E2E_HOME unset: 100 naming it"
mkdir -p "$T_TMP/nokey"
E2E_HOME=$T_TMP/nokey run cat
is "$RC" 111 "no key file: 111 (e2e-keygen may come)"
like "$OUT" "no key in $T_TMP/nokey/key: make one with e2e-keygen" "... telling to run e2e-keygen"
mkdir -p "$T_TMP/badkey"; echo 'not a key at all' >"$T_TMP/badkey/key"
E2E_HOME=$T_TMP/badkey run cat
is "$RC" 100 "garbage key: 100"
like "$OUT" "invalid key in $T_TMP/badkey/key: " "... with a clear message"
cp "$KEYS/ed25519-1.pub" "$T_TMP/badkey/key"
E2E_HOME=$T_TMP/badkey run cat
is "$RC" 100 "a public destination as key: 100"
like "$OUT" "invalid key in .*public" "... saying it is public"
run -K 9 cat
is "$RC" 100 "-K on a closed fd is refused"
like "$OUT" "-K: key fd not open" "... saying so"
E2E_HOME=$T_TMP/nokey run -K 4 cat 4<"$T_TMP/badkey/key"
is "$RC" 100 "-K: a bad key on the fd: 100"
like "$OUT" "invalid key in $T_TMP/nokey/key: .*public" "... the same message as for the file"
E2E_HOME=$T_TMP/nokey run -K 4 cat 4</dev/null
is "$RC" 111 "-K: nothing on the fd: 111"
like "$OUT" "no key in $T_TMP/nokey/key" "... no key"
E2E_HOME=$HOME_ E2E_SAM=localhost:7656 run cat
is "$RC" 100 "E2E_SAM not numeric: 100"
like "$OUT" 'invalid \$E2E_SAM' "... naming it"
E2E_HOME=$HOME_ E2E_SAM_ID='a b' run cat
is "$RC" 100 "E2E_SAM_ID with a blank: 100"
DEAD=$(free_port)
t0=$(now_ms)
E2E_HOME=$HOME_ E2E_SAM=127.0.0.1:$DEAD run cat
is "$RC" 111 "no bridge listening: 111"
like "$OUT" "unable to create the SAM session: unable to connect to SAM at 127.0.0.1:$DEAD" "... saying so"
ok $(( $(now_ms) - t0 < 2000 ? 0 : 1 )) "... at once"

# ---- SESSION CREATE failures ----
for mode in DUPLICATED_ID I2P_ERROR close; do
	fake "s-$mode" --session "$mode" || break
	run cat
	is "$RC" 111 "SESSION CREATE answered $mode: 111"
	case $mode in
	close) like "$OUT" "unable to create the SAM session: unable to read from SAM: connection closed" "... clear message" ;;
	*) like "$OUT" "unable to create the SAM session: SAM replied $mode" "... clear message" ;;
	esac
done
fake s-i2perr --session I2P_ERROR
run cat
like "$OUT" 'SAM replied I2P_ERROR \(router error\): no tunnels here' "... with the router's MESSAGE"
fake s-hang --session hang
t0=$(now_ms)
run -t 1 cat
is "$RC" 111 "SESSION CREATE unanswered: 111 after -t"
like "$OUT" "unable to create the SAM session: .*timed out" "... timed out"
ok $(( $(now_ms) - t0 < 3000 ? 0 : 1 )) "... within -t 1 (and a little)"

# ---- a session on the stand-in bridge ----
fake main --delay 1 --ping hello-e2e
: >"$T_TMP/ready"
# the key on fd 4 (-K), no key file in E2E_HOME: the session is Bob's
E2E_HOME=$T_TMP/nokey E2E_SAM_OPTIONS="inbound.length=0 outbound.length=0" \
	sa main -c 3 -p 2 -d 3 -K 4 -k 1 "$PROGSH" 3>"$T_TMP/ready" 4<"$HOME_/key" 5</dev/null
sleep 0.5
is "$(wc -c <"$T_TMP/ready")" 0 "no readiness before the session is up"
until_ok 10 test -s "$T_TMP/ready"
is "$(od -An -c "$T_TMP/ready" | tr -d ' ')" '\n' "readiness: a newline on the notification fd"
is "$(ctl waiting)" 3 "... written once the 3 ACCEPTs were waiting"
like "$(cat "$T_TMP/main.log")" "session id=e2e local=$BOB_B32 sam=127.0.0.1:$FPORT ms=[0-9]+" "session logged with our b32"
like "$(cat "$T_TMP/main.log")" "ready accepts=3" "ready logged"
is "$(ctl options)" "STYLE=STREAM ID=e2e i2cp.leaseSetEncType=4,0 inbound.length=0 outbound.length=0" \
	"SESSION CREATE: STYLE=STREAM, the key, leaseSetEncType=4,0, then E2E_SAM_OPTIONS"
until_ok 5 ctl_is pong "PONG hello-e2e"
is "$(ctl pong)" "PONG hello-e2e" "PING on the control socket answered with PONG"

DATA="EHLO alice.i2p
QUIT
"
is "$(ctl peer ed25519-1 "$(hex "$DATA")")" "got $(hex "$DATA")" \
	"peer line and data in one packet: PROG gets the data (echoed back)"
E=$(newest_env)
is "$(envval PROTO "$E")" SAM "PROTO=SAM"
is "$(envval SAMREMOTEDEST "$E")" "$ALICE_PUB" "SAMREMOTEDEST: the peer's destination as received"
is "$(envval SAMREMOTEB32 "$E")" "$ALICE_B32" "SAMREMOTEB32: the peer's b32"
is "$(envval SAMLOCALB32 "$E")" "$BOB_B32" "SAMLOCALB32: ours"
is "$(grep -c '^SAM.*PORT=' "$E")" 0 "no ports when the bridge names none"
F=${E/env./fds.}
is "$(tr '\n' ' ' <"$F")" "0 1 2 3 " "PROG has fds 0, 1, 2 only (3 is ls's own): nothing inherited, not the key's fd 4"
is "$(for f in /proc/$SAPID/fd/*; do readlink "$f"; done | grep -c "/key$")" 0 "-K: e2e-samaccept closed the key's fd once read"
like "$(cat "$T_TMP/main.log")" "ok pid=[0-9]+ peer=$ALICE_B32 children=1/3" "start logged: ok pid= peer="
until_ok 5 grep -q "end pid=[0-9]* peer=$ALICE_B32 status=0" "$T_TMP/main.log"
ok $? "end logged: end pid= peer= status=0"
until_ok 5 ctl_is waiting 3
is "$(ctl waiting)" 3 "a new ACCEPT replaces the used one"

is "$(ctl peer ed25519-x25519 "$(hex hi)" FROM_PORT=1234 TO_PORT=25)" "got $(hex hi)" "a peer line with FROM_PORT and TO_PORT (Java I2P 3.2)"
E=$(newest_env)
is "$(envval SAMREMOTEPORT "$E") $(envval SAMLOCALPORT "$E")" "1234 25" "SAMREMOTEPORT and SAMLOCALPORT set"
is "$(envval SAMREMOTEB32 "$E")" "$CAROL_B32" "... and the peer without its ports"

n=$(envfiles)
is "$(ctl raw 'STREAM STATUS RESULT=I2P_ERROR MESSAGE="router gone"')" closed "STREAM STATUS as peer line: stream closed"
until_ok 5 grep -q "drop peer line invalid: SAM replied I2P_ERROR" "$T_TMP/main.log"
ok $? "... logged: drop peer line invalid"
is "$(ctl raw 'not~base64!!')" closed "garbage peer line: closed"
is "$(ctl raw "$(cat "$KEYS/ed25519-1.priv")")" closed "a private key as peer line: closed"
is "$(ctl raw "$ALICE_PUB" FROM_PORT=99999)" closed "a bad port on the peer line: closed"
like "$(ctl peer - "$(hex data)")" "^(got -|reset)$" "an empty peer line: closed, the data unseen"
until_ok 5 ctl_is waiting 3
is "$(ctl waiting)" 3 "ACCEPTs reopened after the drops"
is "$(envfiles)" "$n" "no PROG started for any invalid peer line"
is "$(grep -c 'drop peer line invalid' "$T_TMP/main.log")" 5 "each drop logged"
unlike "$(cat "$T_TMP/main.log")" "$(head -c 60 "$KEYS/ed25519-2.priv" | tail -c 40)" "our private key is never logged"

# limits: -c 3 -p 2
h1=$(ctl hold ed25519-1); h2=$(ctl hold ed25519-1)
like "$h1 $h2" "^open [0-9]+ open [0-9]+$" "two streams from one peer: both served"
is "$(ctl hold ed25519-1)" closed "a third from the same peer (-p 2): closed at once"
until_ok 5 ctl_is waiting 1   # the dropped stream's ACCEPT reopened
is "$(ctl peer ed25519-1 -)" "got $(hex $'421 4.7.0 too many connections from your destination\r\n')" \
	"... after a 421 4.7.0 (what the peer reads before the close)"
like "$(cat "$T_TMP/main.log")" "drop peer=$ALICE_B32 reason=per-peer-limit limit=2" "... logged"
h3=$(ctl hold ed25519-x25519)
like "$h3" "^open" "another peer is still served"
until_ok 3 ctl_is waiting 0
is "$(ctl waiting)" 0 "-c 3 with 3 children: no ACCEPT waiting"
accepts=$(ctl accepts)
sleep 0.5
is "$(ctl accepts)" "$accepts" "... and none opened"
is "$(ctl hold ed25519-2)" "none waiting" "... so a 4th peer is not taken"
ctl release "${h1#open }" >/dev/null
until_ok 5 ctl_is waiting 1
is "$(ctl waiting)" 1 "a child ends: one ACCEPT waits again"
like "$(ctl hold ed25519-1)" "^open" "... and the peer below its limit is served again"

# the liveness probe (-k 1): HELLO with no version we speak, quietly
h=$(ctl hellos)
sleep 1.3
ok $(( $(ctl hellos) > h ? 0 : 1 )) "-k 1: the bridge is probed"
unlike "$(cat "$T_TMP/main.log")" "session lost" "... and the session kept"

# a second e2e-samaccept with the same ID
run cat
is "$RC" 111 "a second server on the same session ID: 111"
like "$OUT" "DUPLICATED_ID" "... DUPLICATED_ID"

# SIGTERM: the session goes, the children stay
pids=$(for f in "$SAMACCEPT_OUT"/env.*; do p=${f##*.}; kill -0 "$p" 2>/dev/null && echo "$p"; done)
for p in $pids; do bg_pid "$p"; done
is "$(echo "$pids" | wc -w)" 3 "three children running"
kill -TERM "$SAPID"
sa_wait 3
is "$RC" 0 "SIGTERM: exit 0"
like "$(cat "$T_TMP/main.log")" "stop: closing the session children=3" "... logged"
alive=0; for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
is "$alive" 3 "... children keep running"
until_ok 3 ctl_is session down
is "$(ctl session)" down "... the control socket is closed"
is "$(ctl waiting)" 0 "... and the ACCEPTs"
for n in 1 2 3 4 5; do ctl release "$n" >/dev/null; done

# the control socket closed by the bridge
fake lost
sa lost -c 2 -k 0 cat
until_ok 5 ctl_is waiting 2
t0=$(now_ms)
ctl closectl >/dev/null
sa_wait 5
is "$RC" 111 "control socket closed by SAM: exit 111"
ms=$(($(now_ms) - t0))
ok $((ms < 1000 ? 0 : 1)) "... promptly ($ms ms)"
like "$(cat "$T_TMP/lost.log")" "session lost: SAM closed the session" "... logged: session lost"

# a waiting ACCEPT closed by the bridge
fake dropped
sa dropped -c 2 -k 0 cat
until_ok 5 ctl_is waiting 2
ctl dropaccept >/dev/null
sa_wait 5
is "$RC" 111 "a waiting ACCEPT closed by SAM: exit 111"
like "$(cat "$T_TMP/dropped.log")" "session lost: SAM closed a waiting ACCEPT" "... logged"

# INVALID_ID on a new ACCEPT
fake inval
sa inval -c 1 -k 0 cat
until_ok 5 ctl_is waiting 1
ctl invalidate >/dev/null
ctl raw garbage >/dev/null
sa_wait 5
is "$RC" 111 "ACCEPT answered INVALID_ID: exit 111"
like "$(cat "$T_TMP/inval.log")" "session lost: unable to open a STREAM ACCEPT: SAM replied INVALID_ID" "... logged"

# a bridge that stops answering (i2pd told to stop)
fake frozen
sa frozen -c 1 -k 1 cat
until_ok 5 ctl_is waiting 1
ctl freeze >/dev/null
t0=$(now_ms)
sa_wait 5
is "$RC" 111 "bridge stops answering HELLO: exit 111 (-k 1)"
ms=$(($(now_ms) - t0))
ok $((ms < 3500 ? 0 : 1)) "... within probe interval + wait ($ms ms)"
like "$(cat "$T_TMP/frozen.log")" "session lost: SAM stopped answering: " "... logged"

# ---- the real thing: i2pd routers A and B ----
# Alice's server on A and Bob's on B, each an e2e-samaccept running prog.sh;
# streams both ways through their sessions; then router A is killed
# (SIGKILL) and router B told to stop (SIGTERM).
if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then
	diag "skipping the i2pd network (E2E_TEST_NOI2P=1 or no i2pd)"
	done_testing
	exit
fi
NET=$T_TMP/net
mkdir -p "$NET"
# SAM clients first: i2pd waits for them before it exits
trap 'for p in $T_PIDS; do kill "$p" 2>/dev/null; done; "$TOP/tests/i2pnet.sh" stop "$NET"; t_cleanup' EXIT
if ! E2E_TEST_WATCHPID=$$ "$TOP/tests/i2pnet.sh" start "$NET" 2>"$T_TMP/net.log"; then
	ok 1 "private I2P network starts"
	diag "$(tail -5 "$T_TMP/net.log")"
	done_testing
	exit
fi
ok 0 "private I2P network starts"
. "$NET/env"
mkdir -p "$T_TMP/alice" "$T_TMP/aout" "$T_TMP/bout"
cp "$KEYS/ed25519-1.priv" "$T_TMP/alice/key"
: >"$T_TMP/aready"; : >"$T_TMP/bready"
unset E2E_SAM
t0=$(now_ms)
E2E_HOME=$T_TMP/alice E2E_SAM=$SAM_A E2E_SAM_ID=alicemail E2E_SAM_OPTIONS="$SAM_OPTIONS" SAMACCEPT_OUT=$T_TMP/aout \
	"$SA" -c 2 -d 3 "$PROGSH" 3>"$T_TMP/aready" 2>"$T_TMP/alice.log" &
APID=$!
bg_pid $APID
E2E_SAM=$SAM_B E2E_SAM_ID=bobmail E2E_SAM_OPTIONS="$SAM_OPTIONS" SAMACCEPT_OUT=$T_TMP/bout \
	"$SA" -c 4 -d 3 -k 2 "$PROGSH" 3>"$T_TMP/bready" 2>"$T_TMP/bob.log" &
BOBPID=$!
bg_pid $BOBPID
until_ok 90 test -s "$T_TMP/bready"
ok $? "Bob's e2e-samaccept on router B signals readiness"
diag "Bob's session up, ACCEPTs waiting: $(($(now_ms) - t0)) ms after start ($(grep -o 'ms=[0-9]*' "$T_TMP/bob.log") in SESSION CREATE)"
until_ok 90 test -s "$T_TMP/aready"
ok $? "Alice's e2e-samaccept on router A signals readiness"
samtool() { $PY "$TOP/tests/i2p/samtool.py" "$@"; }
t1=$(now_ms)
got=$(samtool connect --timeout 30 "$SAM_A" alicemail "$BOB_B32" --send "hello bob" 2>"$T_TMP/connect.err")
is "$got" "hello bob" "a stream from Alice's session on A to Bob's b32: PROG on B echoes"
diag "first connect and echo: $(($(now_ms) - t1)) ms"
until_ok 5 has_env "$T_TMP/bout"
E=$(newest_env "$T_TMP/bout")
is "$(envval SAMREMOTEB32 "$E")" "$(cat "$KEYS/ed25519-1.b32")" "SAMREMOTEB32 is Alice's known b32"
is "$(envval SAMREMOTEB32 "$E")" "$ALICE_B32" "... as computed here"
is "$(envval SAMREMOTEDEST "$E")" "$ALICE_PUB" "SAMREMOTEDEST is Alice's destination"
is "$(envval SAMLOCALB32 "$E")" "$BOB_B32" "SAMLOCALB32 is Bob's"
is "$(envval PROTO "$E")" SAM "PROTO=SAM"
like "$(cat "$T_TMP/bob.log")" "ok pid=[0-9]+ peer=$ALICE_B32 children=1/4" "start logged"
got=$(samtool connect --timeout 30 "$SAM_B" bobmail "$ALICE_B32" --send "hello alice" 2>>"$T_TMP/connect.err")
is "$got" "hello alice" "and back: Bob's session on B to Alice's b32"
until_ok 5 has_env "$T_TMP/aout"
E=$(newest_env "$T_TMP/aout")
is "$(envval SAMREMOTEB32 "$E") $(envval SAMLOCALB32 "$E")" "$BOB_B32 $ALICE_B32" "... Alice's PROG sees Bob"

# router A killed: Alice's server sees its control socket close
kill -KILL "$(awk '$3 == "i2pd-A" { print $1 }' "$NET/pids")"
t0=$(now_ms)
SAPID=$APID
sa_wait 10
is "$RC" 111 "router A killed: e2e-samaccept exits 111"
ms=$(($(now_ms) - t0))
ok $((ms < 2000 ? 0 : 1)) "... at once ($ms ms)"
diag "router killed -> exit 111 after $ms ms"
like "$(cat "$T_TMP/alice.log")" "session lost: " "... logged: session lost"

# router B told to stop: i2pd 2.45.1 leaves our sockets open and silent;
# the probe (-k 2) notices
kill -TERM "$(awk '$3 == "i2pd-B" { print $1 }' "$NET/pids")"
t0=$(now_ms)
SAPID=$BOBPID
sa_wait 15
is "$RC" 111 "router B stopping (SIGTERM): e2e-samaccept exits 111"
ms=$(($(now_ms) - t0))
ok $((ms < 6000 ? 0 : 1)) "... within probe interval and wait ($ms ms)"
diag "router SIGTERM -> exit 111 after $ms ms (-k 2)"
like "$(cat "$T_TMP/bob.log")" "session lost: SAM stopped answering" "... logged: SAM stopped answering"
done_testing
