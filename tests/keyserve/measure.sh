#!/bin/bash
# tests/keyserve/measure.sh [N]: how soon after e2e-samaccept accepts a
# stream does an HTTP client's request arrive? Not part of `make check`;
# the figures chose e2e-keyserve's default wait (docs/nowebsite.md).
#
# On the private network of tests/i2pnet.sh: a mail server bobmail.i2p
# (test key ed25519-2, a hosts.txt name, no eepsite) on router B runs
# e2e-samaccept e2e-keyserve e2e-smtpd with a long wait (10 s), so that
# every request is seen whenever it comes; e2e-keyserve logs first_ms, the
# milliseconds from its start (the stream just accepted) to the first
# byte. From router A, N times each (default 10):
#   resolve  e2e-resolve bobmail.i2p (its own SAM STREAM CONNECT, then the
#            request), cache removed before each
#   proxy    curl through an i2pd HTTP proxy tunnel (type = httpproxy) on
#            router A, i.e. what a browser or i2pd's own fetchers send
# Prints one line per fetch and the minimum, median and maximum of each.
set -u
N=${1:-10}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PATH=$TOP/bin:$PATH
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
SAMTOOL="$PY $TOP/tests/i2p/samtool.py"
D=$(mktemp -d "${TMPDIR:-/tmp}/keyserve-measure.XXXXXX")
PIDS=
stop() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.5
	"$TOP/tests/i2pnet.sh" stop "$D/net" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$D"
}
trap stop EXIT
trap 'exit 1' INT TERM
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$D/net"
"$TOP/tests/i2pnet.sh" host "$D/net" bobmail.i2p ed25519-2
PROXY=$(free_port)
"$TOP/tests/i2pnet.sh" tunnel "$D/net" A measure-proxy httpproxy "$PROXY"
E2E_TEST_WATCHPID=$$ "$TOP/tests/i2pnet.sh" launch "$D/net" 2>"$D/net.log" || { cat "$D/net.log"; exit 1; }
. "$D/net/env"

B=$D/bob
e2e-setup "$B" bobmail.i2p >/dev/null
(umask 077; cp "$TOP/tests/i2p/keys/ed25519-2.priv" "$B/key")
E2E_HOME=$B e2e-keygen -p >/dev/null
# shellcheck disable=SC2086
env E2E_HOME="$B" E2E_DOMAIN=bobmail.i2p E2E_SAM="$SAM_B" E2E_SAM_ID=bob E2E_SAM_OPTIONS="$SAM_OPTIONS" \
	E2E_KEYSERVE=10000 e2e-samaccept -c 10 -p 10 e2e-keyserve e2e-smtpd 2>"$D/bob.log" &
PIDS="$PIDS $!"
# shellcheck disable=SC2086
$SAMTOOL --timeout 90 session "$SAM_A" alice TRANSIENT $SAM_OPTIONS >"$D/alice.pub" 2>"$D/alice.err" &
PIDS="$PIDS $!"
"$TOP/tests/i2pnet.sh" wait "$D/net" 2>>"$D/net.log" || { cat "$D/net.log"; exit 1; }
for _ in $(seq 600); do grep -q 'ready accepts' "$D/bob.log" && [ -s "$D/alice.pub" ] && break; sleep 0.1; done
grep -q 'ready accepts' "$D/bob.log" || { cat "$D/bob.log"; exit 1; }

A=$D/alice
mkdir -p "$A/cache"
seen() { grep -c 'e2e-keyserve: http' "$D/bob.log"; }
last() { grep 'e2e-keyserve: http' "$D/bob.log" | tail -1 | sed 's/.*first_ms=\([0-9-]*\).*/\1/'; }
one() {  # one KIND COMMAND...: the first_ms of one fetch
	local before t0 t1
	before=$(seen)
	t0=${EPOCHREALTIME/[.,]/}
	"${@:2}" >"$D/out" 2>"$D/err" || { echo "$1: failed: $(tail -2 "$D/err")"; return; }
	t1=${EPOCHREALTIME/[.,]/}
	for _ in $(seq 50); do [ "$(seen)" -gt "$before" ] && break; sleep 0.1; done
	echo "$1 first_ms=$(last) total_ms=$(((t1 - t0) / 1000))"
}
resolve() { rm -f "$A/cache/bobmail.i2p"; env E2E_HOME="$A" E2E_SAM="$SAM_A" E2E_SAM_ID=alice e2e-resolve bobmail.i2p; }
proxy() { curl -fsS --max-time 60 -x "http://127.0.0.1:$PROXY" http://bobmail.i2p/.well-known/i2pmail.key; }
for _ in $(seq "$N"); do one resolve resolve; done | tee "$D/resolve.txt"
for _ in $(seq 50); do curl -fs --max-time 5 -o /dev/null -x "http://127.0.0.1:$PROXY" http://bobmail.i2p/.well-known/i2pmail.key && break; sleep 1; done
for _ in $(seq "$N"); do one proxy proxy; done | tee "$D/proxy.txt"
summary() {
	sed -n 's/.*first_ms=\([0-9]*\).*/\1/p' "$D/$1.txt" | sort -n |
		awk -v k="$1" '{ v[NR] = $1 } END { if (NR) printf "%s: n=%d min=%d median=%d max=%d ms\n", k, NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
}
summary resolve
summary proxy
