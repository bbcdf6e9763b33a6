#!/bin/bash
# tests/i2pnet.t — smoke test of the loopback I2P test network
# (tests/i2pnet.sh): routers start, SAM answers, a session on router A
# accepts a stream from a session on router B (by b32 and by host name), the
# accepting side learns the peer's destination, and an eepsite on router B
# serves /.well-known/i2pmail.key by name and by b32.
#
# Run from the repository root: prove -e '' tests/i2pnet.t
# E2E_TEST_KEEP=1 keeps the network's directory (it is kept anyway, and
# named, when a test fails). Takes about 25 s.
set -u

cd "$(dirname "$0")/.." || exit 1
NET=tests/i2pnet.sh
ST=tests/i2p/samtool.py
KEYS=tests/i2p/keys
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
samtool() { "$PY" "$ST" "$@"; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
T_BEGIN=$(now_ms)

echo "1..17"

D=$(mktemp -d "${TMPDIR:-/tmp}/e2e-i2pnet.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
BG=""
FAILED=0
cleanup() {
	local p
	for p in $BG; do kill "$p" 2>/dev/null; done
	"$NET" stop "$D"
	if [ "$FAILED" = 0 ] && [ "${E2E_TEST_KEEP:-0}" != 1 ]; then
		rm -rf "$D"
	else
		echo "# network directory kept: $D"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

n=0
ok() {   # ok STATUS DESCRIPTION: one test; returns 1 when it failed
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
		return 0
	fi
	echo "not ok $n - $2"
	FAILED=1
	return 1
}
check() {   # check DESCRIPTION COMMAND...: one test; returns its status
	local d=$1
	shift
	if "$@"; then ok 0 "$d"; else ok 1 "$d"; fi
}
diag() { sed 's/^/# /' "$@"; }   # show files as TAP comments
# wait_until SECONDS COMMAND...: poll every 0.1 s.
wait_until() {
	local limit=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$limit" ] || return 1
		sleep 0.1
	done
}
# bg COMMAND...: a background process (an executable, not a shell function,
# so that $! is the process itself); the trap kills it.
bg() { "$@" & BG="$BG $!"; LASTBG=$!; }
gone() { ! kill -0 "$1" 2>/dev/null; }
has_line() { [ -s "$1" ] && grep -q -- "$2" "$1"; }
same() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }       # same FILE TEXT
line_is() { [ "$(sed -n "$2p" "$1" 2>/dev/null)" = "$3" ]; }   # FILE N TEXT

# The eepsite and a name for A's session key, declared before the start.
mkdir -p "$D/www/.well-known"
printf 'i2pnet smoke test %s\n' "$$" >"$D/www/.well-known/i2pmail.key"
if ! "$NET" site "$D" bob.i2p ed25519-2 "$D/www" B ||
	! "$NET" host "$D" alice.i2p ed25519-1; then
	echo "Bail out! cannot declare the site"
	exit 1
fi

# 1-2: launch (returns once SAM answers; readiness is waited for in 6)
t0=$(now_ms)
E2E_TEST_WATCHPID=$$ "$NET" launch "$D" 2>"$D/launch.err"
rc=$?
t_launch=$(($(now_ms) - t0))
if ! ok "$rc" "network launches ($(secs $t_launch) s)"; then
	diag "$D/launch.err"
	echo "Bail out! the network did not start"
	exit 1
fi
# shellcheck disable=SC1091
. "$D/env"
env_ok() {
	[ -n "$SAM_A" ] && [ -n "$SAM_B" ] && [ "$SAM_A" != "$SAM_B" ] &&
		"$NET" status "$D" >/dev/null
}
check "env names both SAM bridges and every process runs" env_ok

# 3-5: SAM bridges and the address book
check "SAM HELLO on router A ($SAM_A)" samtool hello --timeout 10 "$SAM_A"
check "SAM HELLO on router B ($SAM_B)" samtool hello --timeout 10 "$SAM_B"
samtool lookup --timeout 10 "$SAM_A" bob.i2p >"$D/lookup.out" 2>"$D/lookup.err"
check "NAMING LOOKUP bob.i2p on A gives ed25519-2 (hosts.txt)" \
	same "$D/lookup.out" "$(cat $KEYS/ed25519-2.pub)" || diag "$D/lookup.err"

# 6-8: sessions, created in parallel (i2pd answers after 20 s), while the
# network gets ready
t0=$(now_ms)
# shellcheck disable=SC2086
bg "$PY" "$ST" session --timeout 90 --verbose "$SAM_A" smoke-a ed25519-1 $SAM_OPTIONS >"$D/sa.pub" 2>"$D/sa.err"
PA=$LASTBG
# shellcheck disable=SC2086
bg "$PY" "$ST" session --timeout 90 --verbose "$SAM_B" smoke-b TRANSIENT $SAM_OPTIONS >"$D/sb.pub" 2>"$D/sb.err"
PB=$LASTBG
"$NET" wait "$D" 2>"$D/wait.err"
rc=$?
t_ready=$(($(now_ms) - T_BEGIN))
ok "$rc" "network ready: probe stream from A to B, links A-F, B-F, A-B ($(secs $t_ready) s)" ||
	diag "$D/wait.err"
sessions_done() { { [ -s "$D/sa.pub" ] || gone "$PA"; } && { [ -s "$D/sb.pub" ] || gone "$PB"; }; }
wait_until 90 sessions_done
t_sess=$(($(now_ms) - t0))
check "SESSION CREATE on A with key ed25519-1 ($(secs $t_sess) s)" \
	same "$D/sa.pub" "$(cat $KEYS/ed25519-1.pub)" || diag "$D/sa.err"
SB_PUB=$(cat "$D/sb.pub" 2>/dev/null)
transient_ok() { [ "${#SB_PUB}" -ge 516 ] && samtool b32 "$SB_PUB" >/dev/null; }
check "SESSION CREATE on B with a transient key" transient_ok || diag "$D/sb.err"

# 9-12: a stream from B to A's b32
bg "$PY" "$ST" accept --timeout 30 --verbose "$SAM_A" smoke-a --reply "pong from A" >"$D/acc1.out" 2>"$D/acc1.err"
PACC=$LASTBG
check "STREAM ACCEPT on A answers RESULT=OK" \
	wait_until 10 has_line "$D/acc1.err" '< STREAM STATUS RESULT=OK'
t0=$(now_ms)
samtool connect --timeout 30 --verbose "$SAM_B" smoke-b "$(cat $KEYS/ed25519-1.b32)" \
	--send "ping from B" >"$D/con1.out" 2>"$D/con1.err"
t_conn=$(($(now_ms) - t0))
check "STREAM CONNECT from B to A's b32; B reads A's reply ($(secs $t_conn) s)" \
	same "$D/con1.out" "pong from A" || diag "$D/con1.err"
wait_until 30 gone "$PACC"
check "A reads B's bytes" line_is "$D/acc1.out" 2 "ping from B" || diag "$D/acc1.err"
check "the accepting side's first line is B's public destination" \
	line_is "$D/acc1.out" 1 "${SB_PUB:-(no destination)}"

# 13: by host name
bg "$PY" "$ST" accept --timeout 30 "$SAM_A" smoke-a --reply "pong again" >"$D/acc2.out" 2>"$D/acc2.err"
PACC=$LASTBG
sleep 0.2
samtool connect --timeout 30 "$SAM_B" smoke-b alice.i2p --send "ping by name" >"$D/con2.out" 2>"$D/con2.err"
wait_until 30 gone "$PACC"
by_name_ok() {
	same "$D/con2.out" "pong again" && line_is "$D/acc2.out" 2 "ping by name" &&
		line_is "$D/acc2.out" 1 "${SB_PUB:-(no destination)}"
}
check "STREAM CONNECT from B to alice.i2p (host name): bytes both ways, peer line" \
	by_name_ok || diag "$D/con2.err" "$D/acc2.err"

# 14-15: the eepsite on router B, from A's session
t0=$(now_ms)
samtool get --timeout 30 "$SAM_A" smoke-a bob.i2p /.well-known/i2pmail.key >"$D/get1.out" 2>"$D/get1.err"
t_get=$(($(now_ms) - t0))
check "GET /.well-known/i2pmail.key from bob.i2p through A's session ($(secs $t_get) s)" \
	cmp -s "$D/get1.out" "$D/www/.well-known/i2pmail.key" || diag "$D/get1.err"
samtool get --timeout 30 "$SAM_A" smoke-a "$(cat $KEYS/ed25519-2.b32)" >"$D/get2.out" 2>"$D/get2.err"
check "GET /.well-known/i2pmail.key from bob's b32" \
	cmp -s "$D/get2.out" "$D/www/.well-known/i2pmail.key" || diag "$D/get2.err"

# 16-17: stop (SAM clients first: i2pd 2.45.1 does not exit while a SAM
# socket is open)
for p in $BG; do kill "$p" 2>/dev/null; done
for p in $BG; do wait "$p" 2>/dev/null; done
BG=""
t0=$(now_ms)
"$NET" stop "$D"
t_stop=$(($(now_ms) - t0))
all_gone() { local p; for p in $PIDS; do gone "$p" || return 1; done; }
check "stop ends every process it started ($(secs $t_stop) s)" wait_until 2 all_gone
check "stop again is a no-op" "$NET" stop "$D"

echo "# timings: launch $(secs $t_launch) s, ready $(secs $t_ready) s, sessions $(secs $t_sess) s," \
	"connect+round trip $(secs $t_conn) s, GET $(secs $t_get) s, stop $(secs $t_stop) s," \
	"total $(secs $(($(now_ms) - T_BEGIN))) s"
