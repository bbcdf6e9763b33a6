# tests/flow/sites.sh — two e2e mail sites, alice.i2p and bob.i2p, on the
# private I2P network of tests/i2pnet.sh, each mail home run by its own
# s6-svscan. Sourced (bash) by tests/flow.t and demo/demo.sh.
#
# The sites (fixed eepsite keys, so that hosts.txt is written before the
# routers start; the mail keys are separate destinations):
#   alice.i2p  eepsite key ed25519-x25519 on router A; mail server on A
#   bob.i2p    eepsite key ecdsa-p256     on router B; mail server on B
# Each eepsite is busybox httpd behind an i2pd HTTP server tunnel, serving
# FLOW_DIR/www-NAME/.well-known/i2pmail.key (the mail home's i2pmail.key,
# copied there by flow_publish).
#
# Usage (TOP = the repository, bin/ built; all paths inside DIR):
#   flow_init DIR [NAME]          declare the two sites (DIR fresh, empty);
#                                 NAME (alice or bob): a site without a
#                                 website, its name registered straight to
#                                 its mail destination (its site key, which
#                                 flow_fixed_key NAME KEY must then give it)
#   flow_home NAME PASSWORD       mail home DIR/NAME for NAME.i2p, user NAME
#   flow_setup NAME               e2e-setup again (after a key or a user)
#   flow_set NAME VAR VALUE       one setting in the home's env/
#   flow_fixed_key NAME TESTKEY   the mail key from tests/i2p/keys, public
#                                 files by e2e-keygen -p, flow_setup (which
#                                 enables samaccept), and flow_publish
#   flow_launch                   start the routers; return once SAM answers;
#                                 E2E_SAM and E2E_SAM_OPTIONS set in the homes
#   flow_keygen NAME              a fresh mail key with e2e-keygen through SAM,
#                                 flow_setup, and flow_publish
#   flow_publish NAME             copy i2pmail.key onto NAME's eepsite
#   flow_up NAME                  s6-svscan DIR/NAME/service in the background
#   flow_wait_net                 until the network is ready (i2pnet.sh wait)
#   flow_ready NAME [SECONDS]     until every service of NAME is up and ready
#   flow_down NAME                stop NAME's s6 tree (s6-svscanctl -t, then
#                                 by PID whatever is left)
#   flow_stop_all                 everything: both trees, the network; safe in
#                                 a trap, more than once
#   flow_send NAME TO SUBJECT BODYFILE [SWAKS-ARGS...]
#                                 swaks with AUTH to NAME's submission port
#   flow_pop NAME OUTDIR [--delete]
#                                 python poplib: every message of user NAME
#                                 into OUTDIR/UIDL.eml; prints one line each
#   flow_count NAME [USER]        messages in USER's Maildir (new and cur)
#   flow_wait_count NAME N SECONDS [USER]
#   flow_web_stop NAME            stop NAME's web server (the site is down,
#                                 its tunnel stays)
#   flow_router_restart R         SIGKILL router R (A or B), start it again
#   flow_bg COMMAND...            a helper of ours in the background (e.g. a
#                                 SAM session), stopped by flow_stop_all
#   flow_log NAME SERVICE         the path of a service's current log
#   flow_until SECONDS COMMAND... until COMMAND succeeds (polled, 50 ms)
#   flow_env NAME VAR             a setting of the home
# In a TAP test (tests/lib.sh sourced first):
#   flow_tools [TOOL...]          every program the sites need (and TOOL...)
#                                 is installed; else a failing test naming
#                                 the missing ones, and the test ends there
#   flow_since MS                 milliseconds since MS (a flow_now_ms)
#   flow_logof NAME SERVICE       a service's current log
#   flow_show NAME SERVICE [N]    its last N lines (15) as diagnostics
# Variables after flow_init/flow_launch: FLOW_DIR, FLOW_NET, SAM_A, SAM_B,
# SAM_OPTIONS (from DIR/net/env), FLOW_PY.

FLOW_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FLOW_TOP=$(cd "$FLOW_HERE/../.." && pwd)
FLOW_I2PNET=$FLOW_TOP/tests/i2pnet.sh
FLOW_KEYS=$FLOW_TOP/tests/i2p/keys
FLOW_PY=python3
[ -x /usr/bin/python3 ] && FLOW_PY=/usr/bin/python3
case ":$PATH:" in *":$FLOW_TOP/bin:"*) ;; *) PATH=$FLOW_TOP/bin:$PATH ;; esac
export PATH

flow_now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
# flow_until SECONDS COMMAND...: until COMMAND succeeds, polled every 50 ms
flow_until() {
	local end=$(($(flow_now_ms) + $1 * 1000)); shift
	until "$@"; do [ "$(flow_now_ms)" -ge "$end" ] && return 1; sleep 0.05; done
}
flow_since() { echo $(($(flow_now_ms) - $1)); }
flow_home_of() { echo "$FLOW_DIR/$1"; }
flow_port() { "$FLOW_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
flow_site_key() { case $1 in alice) echo ed25519-x25519 ;; bob) echo ecdsa-p256 ;; esac; }

flow_init() {
	local p
	FLOW_DIR=$1 FLOW_NET=$1/net
	mkdir -p "$FLOW_NET" "$FLOW_DIR/www-alice/.well-known" "$FLOW_DIR/www-bob/.well-known" || return 1
	# Run as root, e2e-setup gives the services accounts of their own:
	# they must be able to reach the homes (a mktemp -d is 0700).
	for p in "$FLOW_DIR" "$(dirname "$FLOW_DIR")"; do
		[ -O "$p" ] && [ ! -k "$p" ] && chmod go+x "$p"
	done
	for p in alice:A bob:B; do
		if [ "${p%:*}" = "${2:-}" ]; then
			"$FLOW_I2PNET" host "$FLOW_NET" "${p%:*}.i2p" "$(flow_site_key "${p%:*}")"
		else
			"$FLOW_I2PNET" site "$FLOW_NET" "${p%:*}.i2p" "$(flow_site_key "${p%:*}")" "$FLOW_DIR/www-${p%:*}" "${p#*:}"
		fi || return 1
	done
}

flow_set() {
	local h; h=$(flow_home_of "$1")
	printf '%s\n' "$3" >"$h/env/$2.tmp" && chmod 644 "$h/env/$2.tmp" && mv "$h/env/$2.tmp" "$h/env/$2"
}

flow_home() {
	local name=$1 h; h=$(flow_home_of "$1")
	e2e-setup "$h" "$name.i2p" >"$FLOW_DIR/setup-$name.log" 2>&1 &&
		printf '%s\n' "$2" | e2e-passwd "$h" "$name" >>"$FLOW_DIR/setup-$name.log" 2>&1 &&
		flow_set "$name" E2E_SAM_ID "${name}mail" &&
		flow_set "$name" E2E_SMTP "127.0.0.1:$(flow_port)" &&
		flow_set "$name" E2E_POP3 "127.0.0.1:$(flow_port)" &&
		printf '%s\n' "$2" >"$FLOW_DIR/$name.password" || return 1
}

# flow_setup NAME: e2e-setup again, as after e2e-keygen and e2e-passwd (as
# root it gives the new files their owners; with a key it enables samaccept).
flow_setup() { e2e-setup "$(flow_home_of "$1")" "$1.i2p" >>"$FLOW_DIR/setup-$1.log" 2>&1; }

flow_publish() {
	local h w; h=$(flow_home_of "$1") w=$FLOW_DIR/www-$1/.well-known
	cp "$h/i2pmail.key" "$w/.i2pmail.key.tmp" && chmod 644 "$w/.i2pmail.key.tmp" &&
		mv "$w/.i2pmail.key.tmp" "$w/i2pmail.key"
}

flow_fixed_key() {
	local h; h=$(flow_home_of "$1")
	(umask 077; cp "$FLOW_KEYS/$2.priv" "$h/key") &&
		s6-envdir "$h/env" e2e-keygen -p >/dev/null 2>"$FLOW_DIR/keygen-$1.log" &&
		flow_setup "$1" && flow_publish "$1"
}

flow_launch() {
	E2E_TEST_WATCHPID=${FLOW_WATCHPID:-$$} "$FLOW_I2PNET" launch "$FLOW_NET" 2>"$FLOW_DIR/net.log" || return 1
	# shellcheck disable=SC1091
	. "$FLOW_NET/env"
	flow_set alice E2E_SAM "$SAM_A" && flow_set bob E2E_SAM "$SAM_B" &&
		flow_set alice E2E_SAM_OPTIONS "$SAM_OPTIONS" && flow_set bob E2E_SAM_OPTIONS "$SAM_OPTIONS"
}

flow_wait_net() { "$FLOW_I2PNET" wait "$FLOW_NET" 2>>"$FLOW_DIR/net.log"; }

flow_keygen() {
	local h; h=$(flow_home_of "$1")
	s6-envdir "$h/env" e2e-keygen >"$FLOW_DIR/keygen-$1.out" 2>"$FLOW_DIR/keygen-$1.log" &&
		flow_setup "$1" && flow_publish "$1"
}

# flow_up NAME: s6-svscan on the home's service/ (samaccept too, once there
# is a key). A watchdog stops the tree when this shell dies, even by SIGKILL.
flow_up() {
	local name=$1 h pid
	h=$(flow_home_of "$1")
	[ -z "${SVSCAN_ENV:-}" ] || svscan_env "$h"
	env ${SVSCAN_ENV:+"$SVSCAN_ENV"} s6-svscan "$h/service" </dev/null >>"$FLOW_DIR/svscan-$name.log" 2>&1 &   # SVSCAN_ENV: tests/lib.sh
	pid=$!
	echo "$pid $(flow_starttime "$pid")" >"$FLOW_DIR/svscan-$name.pid"
	# shellcheck disable=SC2016
	sh -c 'while kill -0 "$1" 2>/dev/null && [ -e "$3" ]; do sleep 1; done
		[ -e "$3" ] && s6-svscanctl -t "$2"' flow-watchdog "${FLOW_WATCHPID:-$$}" "$h/service" \
		"$FLOW_DIR/svscan-$name.pid" </dev/null >/dev/null 2>&1 &
	echo "$!" >"$FLOW_DIR/watchdog-$name.pid"
}

# flow_ready NAME [SECONDS]: every service up and ready (samaccept: its SAM
# session is up and ACCEPTs wait).
flow_ready() {
	local h s ok=0; h=$(flow_home_of "$1")
	for s in smtpd pop3d runner samaccept; do
		# -U (up and ready) where the service notifies readiness, else -u
		if [ -e "$h/service/$s/notification-fd" ]; then
			s6-svwait -U -t "$((${2:-90} * 1000))" "$h/service/$s" || ok=1
		else
			s6-svwait -u -t "$((${2:-90} * 1000))" "$h/service/$s" || ok=1
		fi
	done
	return $ok
}

# The kernel's start time of PID, or nothing (no such process, a zombie).
flow_starttime() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	rest=${stat##*) }
	# shellcheck disable=SC2086
	set -- $rest
	[ "$1" = Z ] || echo "${20}"
}

# Every descendant of PID (a snapshot), as "PID:STARTTIME" words.
flow_descendants() {
	local p c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c:$(flow_starttime "$c")"
		flow_descendants "$c"
	done
}

flow_down() {
	local name=$1 h pid st procs p i left
	h=$(flow_home_of "$1")
	[ -s "$FLOW_DIR/svscan-$name.pid" ] || return 0
	read -r pid st <"$FLOW_DIR/svscan-$name.pid"
	rm -f "$FLOW_DIR/svscan-$name.pid"
	[ -s "$FLOW_DIR/watchdog-$name.pid" ] && kill "$(cat "$FLOW_DIR/watchdog-$name.pid")" 2>/dev/null
	rm -f "$FLOW_DIR/watchdog-$name.pid"
	[ -n "$st" ] && [ "$(flow_starttime "$pid")" = "$st" ] || return 0
	procs=$(flow_descendants "$pid")
	s6-svscanctl -t "$h/service" 2>/dev/null
	for i in $(seq 50); do
		[ "$(flow_starttime "$pid")" = "$st" ] || break
		sleep 0.1
	done
	# What did not stop (a runner waiting for a child, a child of
	# tcpserver or e2e-samaccept): SIGTERM, then SIGKILL, by PID.
	for p in $procs "$pid:$st"; do
		[ "$(flow_starttime "${p%%:*}")" = "${p#*:}" ] && kill "${p%%:*}" 2>/dev/null
	done
	for i in $(seq 20); do
		left=""
		for p in $procs; do [ "$(flow_starttime "${p%%:*}")" = "${p#*:}" ] && left=1; done
		[ -n "$left" ] || break
		sleep 0.1
	done
	for p in $procs "$pid:$st"; do
		[ "$(flow_starttime "${p%%:*}")" = "${p#*:}" ] && kill -9 "${p%%:*}" 2>/dev/null
	done
	return 0
}

flow_stop_all() {
	[ -n "${FLOW_DIR:-}" ] || return 0
	# SAM clients first: i2pd 2.45.1 waits for them before it exits.
	flow_down alice
	flow_down bob
	[ -s "$FLOW_DIR/extra.pids" ] && while read -r p st; do
		[ "$(flow_starttime "$p")" = "$st" ] && kill "$p" 2>/dev/null
	done <"$FLOW_DIR/extra.pids"
	"$FLOW_I2PNET" stop "$FLOW_NET" >/dev/null 2>&1
	return 0
}

# flow_bg COMMAND...: a helper process of ours, stopped by flow_stop_all.
flow_bg() {
	"$@" &
	FLOW_LASTPID=$!
	echo "$FLOW_LASTPID $(flow_starttime "$FLOW_LASTPID")" >>"$FLOW_DIR/extra.pids"
}

flow_env() { cat "$(flow_home_of "$1")/env/$2"; }

flow_send() {
	local name=$1 to=$2 subject=$3 body=$4 addr
	shift 4
	addr=$(flow_env "$name" E2E_SMTP)
	swaks --server "$addr" --auth PLAIN --auth-user "$name" --auth-password "$(cat "$FLOW_DIR/$name.password")" \
		--from "$name@$name.i2p" --to "$to" --header "Subject: $subject" --body "@$body" "$@" 2>&1
}

flow_pop() {
	local addr; addr=$(flow_env "$1" E2E_POP3)
	"$FLOW_PY" "$FLOW_HERE/pop.py" "$addr" "$1" "$(cat "$FLOW_DIR/$1.password")" "$2" "${3:-}"
}

flow_count() {
	local m; m=$(flow_home_of "$1")/mail/${2:-$1}
	find "$m/new" "$m/cur" -type f 2>/dev/null | wc -l
}

flow_wait_count() {
	local end=$(($(flow_now_ms) + $3 * 1000))
	until [ "$(flow_count "$1" "${4:-}")" -ge "$2" ]; do
		[ "$(flow_now_ms)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# The Nth-site role (httpd-N) of NAME.i2p in the network's env.
flow_site_index() {
	local i
	for i in $(seq 20); do
		eval "[ \"\${SITE_$i:-}\" = \"$1.i2p\" ]" && { echo "$i"; return 0; }
	done
	return 1
}

flow_web_stop() {
	local i pid st role
	i=$(flow_site_index "$1") || return 1
	while read -r pid st role; do
		[ "$role" = "httpd-$i" ] && [ "$(flow_starttime "$pid")" = "$st" ] && kill "$pid"
	done <"$FLOW_NET/pids"
	return 0
}

# flow_router_restart R: SIGKILL router R (a crash), start it again with
# the same command line and shim, and record it in the network's pids file,
# so that tests/i2pnet.sh stop stops the new process too.
# Why SIGKILL: told to stop (SIGTERM), i2pd 2.45.1 waits for its SAM
# clients, and e2e-samaccept, restarted by s6, keeps coming back (measured:
# the router was still there 160 s later).
# Measured after a restart of router A: peers that keep their I2P sessions
# with a destination on A (i2pd's ratchet state) cannot reach it for about
# 2 minutes (A logs "Garlic: Flags/static section AEAD verification
# failed") until those sessions time out; sessions created after the
# restart work at once (24 s: SESSION CREATE and s6's restart delay).
flow_router_restart() {
	local r=$1 pid st role args=() preload port i newpid
	while read -r pid st role; do
		[ "$role" = "i2pd-$r" ] && [ "$(flow_starttime "$pid")" = "$st" ] && break
		pid=""
	done <"$FLOW_NET/pids"
	[ -n "$pid" ] || { echo "flow: router $r is not running" >&2; return 1; }
	mapfile -d '' -t args <"/proc/$pid/cmdline"
	preload=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^LD_PRELOAD=//p')
	port=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^E2E_PEERLABEL_PORT=//p')
	kill -KILL "$pid"
	for i in $(seq 50); do [ "$(flow_starttime "$pid")" = "$st" ] || break; sleep 0.1; done
	# A pause, so that the other routers' attempts to reach it fail before
	# it is back: then only it dials out (two routers dialling each other at
	# once can cost a minute; see tests/i2pnet.sh, seed()).
	sleep "${FLOW_RESTART_PAUSE:-2}"
	env LD_PRELOAD="$preload" E2E_PEERLABEL_PORT="$port" "${args[@]}" \
		</dev/null >>"$FLOW_NET/$r/stdout.log" 2>&1 &
	newpid=$!
	echo "$newpid $(flow_starttime "$newpid") i2pd-$r" >>"$FLOW_NET/pids"
}

# flow_log NAME SERVICE: the service's current log file.
flow_log() { echo "$(flow_home_of "$1")/log/$2/current"; }
flow_logof() { cat "$(flow_log "$1" "$2")" 2>/dev/null; }
flow_show() { diag "--- $1/$2 log:"; tail -n "${3:-15}" "$(flow_log "$1" "$2")" 2>/dev/null | sed 's/^/#   /'; }

flow_tools() {
	local c missing=""
	for c in i2pd busybox swaks s6-svscan s6-svscanctl s6-svc s6-svwait s6-log s6-envdir tcpserver cc "$@"; do
		command -v "$c" >/dev/null || missing="$missing $c"
	done
	[ -z "$missing" ] && return 0
	ok 1 "every tool of the I2P network and the mail sites is installed (missing:$missing; run make deps)"
	done_testing
	exit
}
