#!/bin/bash
# tests/bench/callgrind.sh — e2e's own code per message, counted in
# instructions by valgrind's callgrind: `bash tests/bench/callgrind.sh
# [MESSAGES]` (root; after make). Not part of `make bench`'s table; its
# output is what docs/bench.md's notes quote ("What session 10 found").
#
# Each program of a local submission and its delivery runs once under
# callgrind on a mail home made by e2e-setup, as root, with nothing else
# running: e2e-smtpd for one reused session of MESSAGES (default 100) 4 KiB
# messages (its injector, e2e-queue, not counted); e2e-scrub and e2e-queue
# for one message each (e2e-scrub up to its exec of the next program);
# e2e-runner from start to stop with MESSAGES messages waiting (its e2e-local
# -w workers not counted); e2e-local for one message. Prints the
# instructions a message of each (user space only: what a system call does
# in the kernel is not counted) and e2e-smtpd's top functions. KEEP=1 keeps
# the work directory (the callgrind.out files, for callgrind_annotate).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
export PATH=$TOP/bin:$PATH
N=${1:-100}
command -v valgrind >/dev/null || { echo "callgrind: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "callgrind: run as root (e2e-setup makes service accounts)" >&2; exit 1; }
W=$(mktemp -d /tmp/e2e-callgrind.XXXXXX) || exit 1
chmod 755 "$W"
trap '[ "${KEEP:-}" = 1 ] || rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
H=$W/home
if ! { e2e-setup "$H" bench.i2p && echo 'a good password' | e2e-passwd "$H" bench; } >"$W/setup.log" 2>&1; then
	cat "$W/setup.log" >&2; exit 1
fi

# the message: 4 KiB with a minimal header, as smtp-source sends it
python3 - "$W/msg" <<'EOF'
import sys
h = "From: <bench@bench.i2p>\r\nTo: <bench@bench.i2p>\r\nSubject: bench\r\n\r\n"
open(sys.argv[1], "w", newline="").write(h + ("X" * 70 + "\r\n") * ((4096 - len(h)) // 72))
EOF
python3 - "$W/session" "$W/msg" "$N" <<'EOF'
import sys
m = open(sys.argv[2], newline="").read()
s = "EHLO client\r\n" + ("MAIL FROM:<bench@bench.i2p>\r\nRCPT TO:<bench@bench.i2p>\r\nDATA\r\n" + m + ".\r\n") * int(sys.argv[3]) + "QUIT\r\n"
open(sys.argv[1], "w", newline="").write(s)
EOF
tr -d '\r' <"$W/msg" >"$W/msg.lf"

# Each program sees the environment its service gives it (env -i, PATH
# and the home's env/; for e2e-smtpd also what tcpserver sets), not this
# shell's: getenv compares every name it holds.
# cg NAME CMD...: CMD under callgrind (not what it execs or spawns), its
# output in $W/NAME.stdout, VARS added to its environment; total NAME
# prints its instructions
VARS=()
cg() {
	local name=$1; shift
	env -i PATH="$PATH" "${VARS[@]}" s6-envdir "$H/env" valgrind --tool=callgrind --callgrind-out-file="$W/$name.out" "$@" >"$W/$name.stdout" 2>"$W/$name.err" || {
		echo "callgrind: $name failed:" >&2; tail -5 "$W/$name.err" >&2; exit 1; }
}
total() { sed -n 's/^totals: //p' "$W/$1.out" | head -1; }
ir() { python3 -c 'import sys; print("%-12s %9.0f instructions a message" % (sys.argv[1], int(sys.argv[2]) / int(sys.argv[3])))' "$@"; }

VARS=(PROTO=TCP TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=40000 E2E_TRUSTUSER=bench)
cg smtpd e2e-smtpd <"$W/session"
VARS=()
[ "$(find "$H/queue/todo" -type f | wc -l)" = "$N" ] || { echo "callgrind: e2e-smtpd did not queue $N messages" >&2; exit 1; }
ir e2e-smtpd "$(total smtpd)" "$N"
# (its exec of the next program must fail, or callgrind writes nothing: all
# of e2e-scrub's work is done by then, and it exits 111 saying so)
env -i PATH="$PATH" PROTO=TCP s6-envdir "$H/env" valgrind --tool=callgrind --callgrind-out-file="$W/scrub.out" e2e-scrub "$W/none" <"$W/msg.lf" 2>"$W/scrub.err"
grep -q "unable to run $W/none" "$W/scrub.err" || { echo "callgrind: scrub failed:" >&2; tail -5 "$W/scrub.err" >&2; exit 1; }
ir e2e-scrub "$(total scrub)" 1
printf 'Fbench@bench.i2p\0Tbench@bench.i2p\0\0' >"$W/envelope"
env -i PATH="$PATH" s6-envdir "$H/env" valgrind --tool=callgrind --callgrind-out-file="$W/queue.out" e2e-queue <"$W/msg.lf" 1<"$W/envelope" 2>"$W/queue.err" || {
	echo "callgrind: queue failed:" >&2; tail -5 "$W/queue.err" >&2; exit 1; }
ir e2e-queue "$(total queue)" 1
# the runner: N+1 messages waiting, started, stopped once all are delivered
new=$H/mail/bench/new
env -i PATH="$PATH" s6-envdir "$H/env" valgrind --tool=callgrind --callgrind-out-file="$W/runner.out" e2e-runner 2>"$W/runner.err" &
rp=$!
for _ in $(seq 600); do [ "$(find "$new" -type f | wc -l)" -ge $((N + 1)) ] && break; sleep 0.1; done
kill -TERM "$rp"; wait "$rp"
[ "$(find "$new" -type f | wc -l)" -ge $((N + 1)) ] || { echo "callgrind: the runner did not deliver" >&2; tail -5 "$W/runner.err" >&2; exit 1; }
ir e2e-runner "$(total runner)" $((N + 1))
cg local e2e-local bench <"$W/msg.lf"
ir e2e-local "$(total local)" 1
echo "e2e-smtpd's top functions (inclusive of nothing: self cost):"
callgrind_annotate "$W/smtpd.out" 2>/dev/null | sed -n '/^-* *$/,$p' | grep -E '^ *[0-9,]+ ' | head -8
