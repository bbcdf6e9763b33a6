#!/bin/bash
# tests/bench/profile.sh — where e2e's time goes per accepted message, next
# to Postfix: `bash tests/bench/profile.sh [MESSAGES]` (root; after make).
# Not part of `make bench`'s table; its output is what docs/bench.md's
# "Where the time goes" quotes.
#
# For MESSAGES (default 500) 4 KiB messages, one connection per message,
# 20 sessions, into the same private instances bench.sh uses:
#   - CPU per message of each server's whole process tree (utime+stime of
#     every process, and of the children each has waited for), from /proc;
#   - e2e, again with one session under strace -f (tcpserver and runner
#     trees): syscalls per message (strace -c), and execve, fsync and
#     fork/clone counts per message;
#   - perf record -a (cpu-clock) over a 20-session run: CPU by program
#     (perf report --sort comm), when perf works here.
# The e2e home trusts loopback clients (E2E_TRUSTUSER): no AUTH, like the
# Postfix instance (mynetworks); both loaded by smtp-source. With
# E2E_PROFILE_AUTH=1 e2e gets AUTH PLAIN (smtpload); E2E_PROFILE_HASH=cheap
# then checks it against yescrypt cost 1 instead of e2e-passwd's default.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
export PATH=$TOP/bin:$PATH
N=${1:-500}
export BENCH_PASSWORD='a good password'
. tests/bench/servers.sh
srv_workdir profile
mkdir -p "$BD/bin"
for p in smtpload durable hash; do
	lib=""; [ "$p" = hash ] && lib=-lcrypt
	# shellcheck disable=SC2086   # $lib: no word or one
	cc -O2 -Wall -Wextra -Werror -o "$BD/bin/$p" "tests/bench/$p.c" $lib || exit 1
done
srv_e2e && srv_postfix || exit 1
H=$BD/e2e/home
if [ "${E2E_PROFILE_HASH:-}" = cheap ]; then
	c=$("$BD/bin/hash" "$BENCH_PASSWORD" 1 2>/dev/null)
	sed "s|^bench:.*|bench:$c|" "$BD/e2e/users.yescrypt" >"$H/users.tmp" && chown --reference="$H/users" "$H/users.tmp" &&
		chmod --reference="$H/users" "$H/users.tmp" && mv "$H/users.tmp" "$H/users"
fi
E_NEW=$H/mail/bench/new P_NEW=$BD/pf/mail/bench/Maildir/new
cpu() { python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import bench; print(bench.tree_cpu([int(p) for p in sys.argv[2:]]))' "$TOP/tests/bench" "$@"; }
cnt() { find "$1" -type f 2>/dev/null | wc -l; }
waitn() { local i; for i in $(seq 3000); do [ "$(cnt "$1")" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }
# e2e's home trusts loopback clients (E2E_TRUSTUSER=bench, servers.sh):
# no AUTH, as for Postfix; E2E_PROFILE_AUTH=1 adds AUTH PLAIN (smtpload)
E2E_LOAD=$BD/load-e2e
if [ "${E2E_PROFILE_AUTH:-}" = 1 ]; then
	printf '#!/bin/sh\nexec "%s" -a "bench:%s" "$@"\n' "$BD/bin/smtpload" "$BENCH_PASSWORD" >"$E2E_LOAD"
else
	printf '#!/bin/sh\nexec smtp-source "$@"\n' >"$E2E_LOAD"
fi
chmod 755 "$E2E_LOAD"
load_e2e() { "$E2E_LOAD" -s "$1" -m "$2" -l 4096 -f bench@bench.i2p -t bench@bench.i2p "127.0.0.1:$E2E_SMTP_PORT"; }
load_pf() { smtp-source -s "$1" -m "$2" -l 4096 -f bench@pf.test -t bench@pf.test "127.0.0.1:$PF_PORT"; }
# traced LOAD DIR N STRACE-ARGS...: strace in the background while LOAD
# (load_e2e or load_pf) sends N messages in one session, until DIR has them
traced() {
	local load=$1 dir=$2 n=$3 n0 sp i
	shift 3
	n0=$(cnt "$dir")
	# the runner's e2e-local -w workers end after 10 s idle: wait for that,
	# so that strace follows the ones this load starts
	if [ "$load" = load_e2e ]; then
		for i in $(seq 150); do [ -z "$(cat /proc/"$E2E_RUNNER"/task/*/children 2>/dev/null)" ] && break; sleep 0.1; done
	fi
	strace "$@" &
	sp=$!
	sleep 1
	"$load" 1 "$n" >/dev/null
	waitn "$dir" $((n0 + n))
	sleep 1
	kill -INT "$sp"; wait "$sp"
}
TCK=$(getconf CLK_TCK)

echo "== CPU per message, whole process trees, $N messages, 20 sessions (ms)"
# shellcheck disable=SC2086   # $roots: one word per PID
for s in e2e pf; do
	if [ $s = e2e ]; then roots="$E2E_TCPSERVER $E2E_RUNNER" new=$E_NEW; else roots=$PF_MASTER new=$P_NEW; fi
	c0=$(cpu $roots) n0=$(cnt "$new")
	out=$(load_$s 20 "$N" 2>&1)
	waitn "$new" $((n0 + N))
	sleep 1
	c1=$(cpu $roots)
	echo "$s: $out; CPU $(python3 -c "print('%.2f' % (($c1 - $c0) * 1000 / $TCK / $N))") ms per message (accept + deliver)"
done

echo "== e2e under strace -f, one session, $N messages"
traced load_e2e "$E_NEW" "$N" -f -qq -c -S calls -o "$BD/strace.c" -p "$E2E_TCPSERVER" -p "$E2E_RUNNER"
awk -v n="$N" 'NR <= 2 || /^-/ { next } $NF == "total" { printf "total: %.1f syscalls per message\n", $(NF-2) / n; next }
	{ c = ($4 ~ /^[0-9]+$/) ? $4 : $3; if (c / n >= 0.5) printf "  %-20s %6.1f per message\n", $NF, c / n }' "$BD/strace.c"
M=$((N / 5))
traced load_e2e "$E_NEW" "$M" -f -qq -e trace=execve,fsync,fdatasync,fork,vfork,clone,clone3,rename,renameat,renameat2,link,linkat,unlink,unlinkat \
	-o "$BD/strace.t" -p "$E2E_TCPSERVER" -p "$E2E_RUNNER"
echo "per message ($M messages):"
for c in execve fsync fdatasync clone clone3 fork vfork rename renameat2 link linkat unlink unlinkat; do
	k=$(grep " $c(" "$BD/strace.t" | grep -vc "= -1 ")
	[ "$k" -gt 0 ] && echo "  $c $(python3 -c "print('%.2f' % ($k / $M))")"
done
echo "programs executed per message:"
grep ' execve(' "$BD/strace.t" | grep -v '= -1 ' | grep -o 'execve("[^"]*"' | sed 's/execve("//; s/"$//; s|.*/||' | sort | uniq -c |
	awk -v n="$M" '{ printf "  %-16s %.2f\n", $2, $1 / n }'

echo "== Postfix under strace -f (master and its children), one session, $M messages"
# shellcheck disable=SC2046   # one "-p PID" pair per word
traced load_pf "$P_NEW" "$M" -f -qq -c -o "$BD/strace.pf" -p "$PF_MASTER" $(for p in $(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import bench; print(" ".join(map(str, bench.tree([int(sys.argv[2])])[1:])))' "$TOP/tests/bench" "$PF_MASTER"); do echo -p "$p"; done)
awk -v n="$M" 'NR <= 2 || /^-/ { next } $NF == "total" { printf "total: %.1f syscalls per message\n", $(NF-2) / n; next }
	{ c = ($4 ~ /^[0-9]+$/) ? $4 : $3; if ($NF ~ /^(fsync|fdatasync|execve|clone|clone3|rename|link|unlink|rt_sigaction)$/) printf "  %-20s %6.2f per message\n", $NF, c / n }' "$BD/strace.pf"

echo "== syscalls per message by program (strace -f of every call, 20 messages)"
traced load_e2e "$E_NEW" 20 -f -qq -o "$BD/strace.all" -p "$E2E_TCPSERVER" -p "$E2E_RUNNER"
python3 - "$BD/strace.all" 20 "$E2E_TCPSERVER" "$E2E_RUNNER" <<'PY'
# each syscall is counted for the program its process runs at that moment:
# a forked child counts as "PARENT (child)" until its execve succeeds
import collections, re, sys
n = int(sys.argv[2])
prog = {sys.argv[3]: "tcpserver", sys.argv[4]: "e2e-runner"}
pending, calls = {}, collections.defaultdict(collections.Counter)
for line in open(sys.argv[1]):
    m = re.match(r"(\d+) +(.*)$", line.rstrip("\n"))
    if not m:
        continue
    pid, rest = m.groups()
    if rest.startswith("+++") or rest.startswith("---"):
        continue
    r = re.match(r"<\.\.\. (\w+) resumed>", rest)
    if r:
        call = r.group(1)
        if call == "execve" and re.search(r"= 0$", rest) and pid in pending:
            prog[pid] = pending.pop(pid)
        k = re.search(r"= (\d+)$", rest)
        if call in ("clone", "clone3", "fork", "vfork") and k:
            prog.setdefault(k.group(1), prog.get(pid, "?").split(" ")[0] + " (child)")
        continue          # counted at its start
    c = re.match(r"(\w+)\(", rest)
    if not c:
        continue
    call = c.group(1)
    calls[prog.get(pid, "?")][call] += 1
    if call == "execve":
        e = re.match(r'execve\("([^"]+)"', rest)
        if e and re.search(r"= 0$", rest):
            prog[pid] = e.group(1).rsplit("/", 1)[-1]
        elif e and "<unfinished" in rest:
            pending[pid] = e.group(1).rsplit("/", 1)[-1]
    elif call in ("clone", "clone3", "fork", "vfork"):
        k = re.search(r"= (\d+)$", rest)
        if k:
            prog.setdefault(k.group(1), prog.get(pid, "?").split(" ")[0] + " (child)")
for p, c in sorted(calls.items(), key=lambda kv: -sum(kv[1].values())):
    top = ", ".join("%s %.0f" % (k, v / n) for k, v in c.most_common(7))
    print("  %-20s %5.0f per message: %s" % (p, sum(c.values()) / n, top))
PY

if perf stat -e cpu-clock true >/dev/null 2>&1; then
	echo "== perf record -a -e cpu-clock, e2e, 20 sessions, $N messages: CPU by program"
	n0=$(cnt "$E_NEW")
	perf record -q -a -e cpu-clock -o "$BD/perf.data" -- sh -c "'$E2E_LOAD' -s 20 -m $N -l 4096 -f bench@bench.i2p -t bench@bench.i2p 127.0.0.1:$E2E_SMTP_PORT >/dev/null; i=0; while [ \$(find '$E_NEW' -type f | wc -l) -lt $((n0 + N)) ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i+1)); done" 2>/dev/null
	perf report -i "$BD/perf.data" --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -15
	echo "-- e2e programs by symbol (top 15)"
	perf report -i "$BD/perf.data" --comms e2e-smtpd,e2e-scrub,e2e-queue,e2e-runner,e2e-local,tcpserver --sort comm,sym --stdio 2>/dev/null |
		grep -E '^ +[0-9]' | head -15
fi
