# shellcheck shell=bash
# tests/bench/i2p.sh — benchmarks 6 and 7 over the private I2P network,
# sourced by tests/bench/bench.sh (bash; $BD, $TOP set). Two mail sites,
# alice.i2p and bob.i2p, set up as tests/flow.t does (tests/flow/sites.sh).
#
#   bench_i2p RESULTS.json   6: submission at Alice -> file in Bob's Maildir
#                            (bench.py latency: smtplib without AUTH, Alice's
#                            home trusting loopback; one message a round),
#                            against a raw SAM stream from router A to a
#                            destination on router B: connect + 1 line round
#                            trip, and further round trips (samrtt.py), the
#                            rounds interleaved; 7: CPU of each side's e2e
#                            processes and router per delivered message.
#   bench_i2p_stop           everything it started (safe in a trap)

. "$TOP/tests/flow/sites.sh"
I2P_UP=""

# CPU ticks (own + waited-for children) of a process tree.
bench_tree_cpu() { python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import bench; print(bench.tree_cpu([int(p) for p in sys.argv[2:]]))' "$TOP/tests/bench" "$@"; }
bench_router_pid() { awk -v r="i2pd-$1" '$3 == r { print $1 }' "$FLOW_NET/pids" | tail -1; }
bench_svscan_pid() { cut -d' ' -f1 "$FLOW_DIR/svscan-$1.pid"; }

bench_i2p() {
	local res=$1 rounds=${BENCH_ROUNDS:-3} n7 i e2e raw W B
	n7=$([ "${BENCH_QUICK:-}" = 1 ] && echo 5 || echo 20)
	W=$BD/i2pw
	mkdir -p "$W"
	FLOW_WATCHPID=$$   # read by sites.sh: its watchdogs stop the trees when we die
	export FLOW_WATCHPID
	flow_init "$BD/i2p" || return 1
	I2P_UP=1
	B=$(flow_home_of bob)
	flow_home alice 'alice secret' && flow_home bob 'bob secret' || return 1
	flow_fixed_key alice ed25519-1 && flow_fixed_key bob ed25519-2 || return 1
	# submission at Alice without AUTH, as benchmarks 1 and 2 (e2e-smtpd(8))
	flow_set alice E2E_TRUSTUSER alice || return 1
	echo "bench: 6: starting the private I2P network (tests/i2pnet.sh)" >&2
	flow_launch || { cat "$FLOW_DIR/net.log" >&2; return 1; }
	# shellcheck disable=SC2086   # the options are words
	flow_bg python3 "$TOP/tests/bench/samrtt.py" echo "$SAM_B" benchecho "$W/echo.dest" $SAM_OPTIONS \
		</dev/null >/dev/null 2>"$W/echo.err"
	flow_up alice
	flow_up bob
	flow_wait_net || { tail "$FLOW_DIR/net.log" >&2; return 1; }
	flow_ready alice 120 && flow_ready bob 120 || { echo "bench: the mail sites are not ready" >&2; return 1; }
	for i in $(seq 100); do [ -s "$W/echo.dest" ] && break; sleep 0.2; done
	[ -s "$W/echo.dest" ] || { echo "bench: the echo session did not come up: $(cat "$W/echo.err")" >&2; return 1; }
	# the pinger: a session of its own on router A, one test per line on its stdin
	# (a FIFO opened read-write: neither side blocks in open)
	mkfifo "$W/ping.in"
	exec 7<>"$W/ping.in"
	# shellcheck disable=SC2086
	# (not flow_bg: bash gives a background command of a function /dev/null as stdin)
	python3 "$TOP/tests/bench/samrtt.py" ping "$SAM_A" benchping "$W/echo.dest" 6 $SAM_OPTIONS \
		<&7 >"$W/ping.out" 2>"$W/ping.err" &
	echo "$! $(flow_starttime $!)" >>"$FLOW_DIR/extra.pids"
	ping1() {
		local before; before=$(wc -l <"$W/ping.out")
		echo go >&7
		for _ in $(seq 1200); do [ "$(wc -l <"$W/ping.out")" -gt "$before" ] && break; sleep 0.05; done
		tail -1 "$W/ping.out"
	}
	mail1() {
		python3 "$TOP/tests/bench/bench.py" latency "$(flow_env alice E2E_SMTP)" alice@alice.i2p \
			bob@bob.i2p "$B/mail/bob" 1 2>&1 | sed -n 's/^msg 1 .*maildir=\([0-9]*\).*/\1/p'
	}
	# warm up both (key fetch, first lease set lookups): not timed
	echo "bench: 6: warm-up: $(mail1) ms for the first mail (keys fetched), raw $(ping1)" >&2
	: >"$W/e2e.ms"; : >"$W/raw.json"
	for i in $(seq "$rounds"); do
		if [ $((i % 2)) = 1 ]; then e2e=$(mail1); raw=$(ping1); else raw=$(ping1); e2e=$(mail1); fi
		echo "${e2e:-}" >>"$W/e2e.ms"
		echo "$raw" >>"$W/raw.json"
		echo "bench: 6: round $i e2e ${e2e:-FAIL} ms; raw $raw" >&2
	done
	# 7: CPU per delivered message, each side
	local ca0 cb0 ra0 rb0 ca1 cb1 ra1 rb1 c0 t0
	ca0=$(bench_tree_cpu "$(bench_svscan_pid alice)") cb0=$(bench_tree_cpu "$(bench_svscan_pid bob)")
	ra0=$(bench_tree_cpu "$(bench_router_pid A)") rb0=$(bench_tree_cpu "$(bench_router_pid B)")
	c0=$(flow_count bob) t0=$(flow_now_ms)
	python3 "$TOP/tests/bench/bench.py" latency "$(flow_env alice E2E_SMTP)" alice@alice.i2p \
		bob@bob.i2p "$B/mail/bob" "$n7" >"$W/b7.out" 2>&1
	flow_wait_count bob $((c0 + n7)) 120
	sleep 1   # let the runners and samaccept finish their bookkeeping
	ca1=$(bench_tree_cpu "$(bench_svscan_pid alice)") cb1=$(bench_tree_cpu "$(bench_svscan_pid bob)")
	ra1=$(bench_tree_cpu "$(bench_router_pid A)") rb1=$(bench_tree_cpu "$(bench_router_pid B)")
	echo "bench: 7: $n7 messages in $(($(flow_now_ms) - t0)) ms; CPU ticks alice $((ca1 - ca0)) bob $((cb1 - cb0)) router A $((ra1 - ra0)) router B $((rb1 - rb0)) ($(getconf CLK_TCK)/s)" >&2
	python3 - "$res" "$W" "$n7" $((ca1 - ca0)) $((cb1 - cb0)) $((ra1 - ra0)) $((rb1 - rb0)) "$(getconf CLK_TCK)" <<-'EOF'
	import json, os, statistics, sys
	res, w, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
	ca, cb, ra, rb, tck = (int(x) for x in sys.argv[4:9])
	r = json.load(open(res)) if os.path.exists(res) else {}
	e2e = [float(x) for x in open(w + "/e2e.ms").read().split()]
	raw = [json.loads(l) for l in open(w + "/raw.json") if l.strip().startswith("{")]
	raw = [x for x in raw if "connect_rtt" in x]
	if e2e and raw:
	    r["b6"] = dict(e2e=statistics.median(e2e), connect_rtt=statistics.median(x["connect_rtt"] for x in raw),
	                   rtt=statistics.median(x["rtt"] for x in raw), rtts=4, e2e_raw=e2e, raw=raw)
	ms = lambda t: t * 1000.0 / tck / n
	r["b7"] = dict(n=n, alice_ms=ms(ca), bob_ms=ms(cb), routerA_ms=ms(ra), routerB_ms=ms(rb))
	json.dump(r, open(res, "w"), indent=1)
	EOF
}

bench_i2p_stop() {
	exec 7>&- 2>/dev/null
	[ -n "$I2P_UP" ] && flow_stop_all
	I2P_UP=""
	return 0
}
