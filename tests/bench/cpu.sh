#!/bin/bash
# tests/bench/cpu.sh — CPU a message of e2e, shape, shape2 and Postfix side
# by side: `bash tests/bench/cpu.sh [MESSAGES [ROUNDS]]` (root; after make
# and make build/bench/durable). Not part of `make bench`'s table; its
# output is what docs/bench.md's "What session 16 changed and measured",
# "What session 17 …" and "What session 18 measured" quote.
#
# The servers of bench.sh (servers.sh), started once: SERVERS (default
# "e2e e2e-out shape shape2 postfix"; e2e-out is the same e2e home with
# env/E2E_QUEUELOCAL=e2e-scrub, every message through the privacy stage as
# mail that leaves the server is, its smtpd service restarted before each
# of its runs and again after; e2e-bare, not in the default, is the same
# home with what an operator could turn off for speed turned off: no log
# line from tcpserver, e2e-smtpd or the runner (their stderr to
# /dev/null), no per-address cap (E2E_SMTPPEER=0), its smtpd and runner
# services restarted around each run); then ROUNDS
# (default 3) rounds, each server in turn, of MESSAGES (default 2000) 4 KiB
# messages by smtp-source at 20 sessions (`D=-d`: connections reused),
# each run timed until its last message is in the Maildir. For each run:
# msgs/s accepted and into the Maildir, the whole machine's busy time a
# message (/proc/stat: user, nice, system, irq, softirq, steal; the client
# included) and its context switches a message. A run's rate times its CPU
# a message is how much of the two cores the server kept busy. Start it
# minutes after any mass deletion (make check's, a bench's clean-up): see
# "the file system's history" in docs/bench.md.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
export PATH=$TOP/bin:$PATH:/usr/sbin:/sbin
N=${1:-2000} R=${2:-3} D=${D:-} SERVERS=${SERVERS:-e2e e2e-out shape shape2 postfix}
[ -x build/bench/durable ] || { echo "cpu: build/bench/durable is not built (make build/bench/durable)" >&2; exit 1; }
export BENCH_PASSWORD='a good password'
. tests/bench/servers.sh
srv_workdir cpu
mkdir -p "$BD/bin" && cp build/bench/durable "$BD/bin/"
srv_durable >/dev/null && srv_e2e >/dev/null && srv_postfix >/dev/null || { echo "cpu: a server did not start" >&2; exit 1; }
declare -A P NEW T
H=$BD/e2e/home
P[e2e]=$E2E_SMTP_PORT NEW[e2e]=$H/mail/bench/new T[e2e]=bench@bench.i2p
P[e2e-out]=$E2E_SMTP_PORT NEW[e2e-out]=$H/mail/bench/new T[e2e-out]=bench@bench.i2p
P[shape]=$SHAPE_PORT NEW[shape]=$BD/durable/maildir/new T[shape]=bench@bench.i2p
P[shape2]=$SHAPE2_PORT NEW[shape2]=$BD/durable/maildir2/new T[shape2]=bench@bench.i2p
P[postfix]=$PF_PORT NEW[postfix]=$BD/pf/mail/bench/Maildir/new T[postfix]=bench@pf.test
busy() { awk '/^cpu /{b=$2+$3+$4+$7+$8+$9} /^ctxt/{c=$2} END{print b, c}' /proc/stat; }
count() { find "${NEW[$1]}" -maxdepth 1 -type f 2>/dev/null | wc -l; }
send() { smtp-source $D -s 20 -m "$2" -l 4096 -f "${T[$1]}" -t "${T[$1]}" "127.0.0.1:${P[$1]}"; }
# scrub 1|0: every message through e2e-scrub or as set up; the smtpd
# service restarted and answering again
scrub() {
	if [ "$1" = 1 ]; then echo e2e-scrub >"$H/env/E2E_QUEUELOCAL"; else rm -f "$H/env/E2E_QUEUELOCAL"; fi
	restart smtpd
}
# restart SERVICE...: e2e's services restarted, the smtpd answering and a
# few messages through
restart() {
	local v
	for v in "$@"; do s6-svc -r "$H/service/$v" || return 1; done
	sleep 1 && srv_wait_port "$E2E_SMTP_PORT" && send e2e 20 && sleep 2
}
# bare 1|0: the e2e-bare variant (above) or as set up; both services
# restarted and the smtpd answering again
bare() {
	local v
	for v in smtpd runner; do
		[ -f "$BD/$v.run" ] || cp -p "$H/service/$v/run" "$BD/$v.run"
		if [ "$1" = 1 ]; then
			sed -e 's|^exec 2>&1$|exec 2>/dev/null|' -e 's/tcpserver -v /tcpserver /' "$BD/$v.run" >"$H/service/$v/run"
		else cp -p "$BD/$v.run" "$H/service/$v/run"; fi
	done
	if [ "$1" = 1 ]; then echo 0 >"$H/env/E2E_SMTPPEER"; else rm -f "$H/env/E2E_SMTPPEER"; fi
	restart smtpd runner
}
P[e2e-bare]=$E2E_SMTP_PORT NEW[e2e-bare]=$H/mail/bench/new T[e2e-bare]=bench@bench.i2p
for s in e2e shape shape2 postfix; do send $s 300 || exit 1; done   # warm up
sleep 5
for r in $(seq "$R"); do
	for s in $SERVERS; do
		[ "$s" != e2e-out ] || scrub 1 || { echo "cpu: e2e-out did not start" >&2; exit 1; }
		[ "$s" != e2e-bare ] || bare 1 || { echo "cpu: e2e-bare did not start" >&2; exit 1; }
		n0=$(count $s)
		read -r b0 c0 < <(busy); t0=$(date +%s.%N)
		send $s "$N" || { echo "cpu: $s refused mail" >&2; exit 1; }
		ta=$(date +%s.%N)
		i=0
		while [ "$(count $s)" -lt $((n0 + N)) ]; do
			i=$((i + 1)); [ $i -le 3000 ] || { echo "cpu: $s did not deliver" >&2; exit 1; }
			sleep 0.1
		done
		t1=$(date +%s.%N); read -r b1 c1 < <(busy)
		awk -v s=$s -v r="$r" -v n="$N" -v t0="$t0" -v ta="$ta" -v t1="$t1" -v b=$((b1 - b0)) -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
			'BEGIN { printf "round %d %-8s accepted %5.0f msgs/s, into the Maildir %5.0f msgs/s, CPU %.3f ms a message, %.1f switches a message\n", r, s, n / (ta - t0), n / (t1 - t0), b * 1000 / hz / n, c / n }'
		[ "$s" != e2e-out ] || scrub 0 || { echo "cpu: e2e did not start again" >&2; exit 1; }
		[ "$s" != e2e-bare ] || bare 0 || { echo "cpu: e2e did not start again" >&2; exit 1; }
		sleep 3
	done
done
