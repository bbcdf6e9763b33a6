#!/bin/bash
# tests/bench/bench.sh — `make bench`: e2e side by side with Postfix,
# Dovecot, smtp-sink and a minimal durable tcpserver responder, all on
# loopback in private instances, stopped by PID; then over the private I2P
# network. Prints the table and writes docs/bench.md.
#
# Environment: BENCH_QUICK=1 (fewer messages, for development),
# BENCH_ROUNDS (3), BENCH_MSGS (messages per SMTP run: 3000, quick 200),
# BENCH_AUTHMSGS (the same for the informative AUTH rows: 300, quick 100),
# BENCH_POPMSGS (10000), BENCH_QUEUE (100000), BENCH_IDLE (30 s),
# BENCH_ONLY="1 3 4 5 6" (a subset; 2 comes with 1, 7 with 6),
# BENCH_OUT (docs/bench.md), BENCH_KEEP=1 (keep the work directory),
# BENCH_NOWAIT=1 (do not wait out the last run's deletions, below).
# Needs root (Postfix and Dovecot drop privileges to their own accounts;
# e2e-setup gives the mail home its service accounts).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
export PATH=$TOP/bin:$PATH
[ "$(id -u)" = 0 ] || { echo "bench: run as root (private Postfix and Dovecot instances, e2e's service accounts)" >&2; exit 1; }
sh tests/bench/deps.sh || exit 1

# ext4 without a journal (this machine's root file system) passes over
# every inode freed in the last 60 s when it looks for a free one, in the
# last 360 s while the block of the inode table holding it is unwritten —
# and new files in the same group keep that block dirty. A new file goes
# to its directory's group, and e2e's Maildir mail/bench lands in the same
# group in every run (its place comes from a hash of its name, below a
# directory marked +T). A run started minutes after the last one removed
# its work directory (tens of thousands of files) paid for those
# deletions in every Maildir file it made: e2e-local 1.8 samples (0.45
# ms) a message in that search, against 0.06 seven minutes later
# (tests/bench/notes.md). So the run waits until 370 s have passed since
# the last one's removal.
STAMP=/var/tmp/e2e-bench.removed
if [ "${BENCH_NOWAIT:-}" != 1 ] && [ -f "$STAMP" ]; then
	left=$(( $(cat "$STAMP" 2>/dev/null || echo 0) + 370 - $(date +%s) ))
	if [ "$left" -gt 0 ] && [ "$left" -le 370 ]; then
		echo "bench: waiting ${left} s: the last run's work directory was removed $((370 - left)) s ago (BENCH_NOWAIT=1 to skip)" >&2
		sleep "$left"
	fi
fi

BD=$(mktemp -d /tmp/e2e-bench.XXXXXX) || exit 1
chmod 755 "$BD"
export BD
OUT=${BENCH_OUT:-$TOP/docs/bench.md}
RES=$BD/results.json
ONLY=${BENCH_ONLY:-1 2 3 4 5 6 7}
export BENCH_PASSWORD='a good password'

. tests/bench/servers.sh
cleanup() {
	srv_stop_all
	[ -n "${I2P_UP:-}" ] && bench_i2p_stop
	if [ "${BENCH_KEEP:-}" = 1 ]; then echo "bench: kept $BD" >&2; else rm -rf "$BD"; date +%s >"$STAMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$BD/bin"
# the load without AUTH is Postfix's smtp-source; smtpload.c adds AUTH PLAIN
# the durable responder is built as e2e's programs are (a static PIE
# against musl: make build/bench/durable), so that its process starts cost
# what e2e's do
cc -O2 -Wall -Wextra -Werror -o "$BD/bin/smtpload" tests/bench/smtpload.c || exit 1
make -s build/bench/durable && cp build/bench/durable "$BD/bin/durable" || exit 1

case " $ONLY " in *" "[12345]" "*)
	echo "bench: starting e2e, Postfix, Dovecot, the durable responder, smtp-sink on loopback" >&2
	srv_e2e && srv_q5 && srv_postfix && srv_dovecot && srv_durable && srv_sink || exit 1
	export E2E_HOME_DIR=$BD/e2e/home Q5_HOME=$BD/q5/home E2E_SMTP_PORT E2E_POP3_PORT PF_PORT PF_SASL_PORT DC_PORT DUR_PORT SHAPE_PORT SHAPE2_PORT SINK_PORT \
		PF_MASTER DC_MASTER E2E_SVSCAN E2E_TCPSERVER E2E_RUNNER E2E_POP3SERVER E2E_MAILUSER E2E_RUNNERUSER BENCH_ONLY=$ONLY
	python3 tests/bench/bench.py local "$RES" || exit 1
	srv_stop_all
	;;
esac

case " $ONLY " in *" "[67]" "*)
	. tests/bench/i2p.sh
	bench_i2p "$RES" || echo "bench: the I2P part failed (see above)" >&2
	bench_i2p_stop
	;;
esac

[ -f "$RES" ] || { echo "bench: no results" >&2; exit 1; }
python3 tests/bench/bench.py report "$RES" "$OUT" tests/bench/notes.md
echo "bench: written to $OUT" >&2
