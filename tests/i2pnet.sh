#!/bin/bash
# tests/i2pnet.sh — a private I2P network of real i2pd routers on loopback,
# for the test suite (`make check`) and `make demo`.
#
# Usage:
#   tests/i2pnet.sh site   DIR NAME KEY WEBROOT ROUTER   declare an eepsite
#   tests/i2pnet.sh host   DIR NAME KEY                  declare a host name
#   tests/i2pnet.sh tunnel DIR ROUTER NAME TYPE PORT [DESTINATION]
#                                                        declare a client-side tunnel
#   tests/i2pnet.sh start  DIR     start; return when the network is ready
#   tests/i2pnet.sh launch DIR     start; return as soon as SAM answers
#   tests/i2pnet.sh wait   DIR     after launch: wait until ready
#   tests/i2pnet.sh stop   DIR     stop every process started (idempotent)
#   tests/i2pnet.sh status DIR     list them; exit 0 when all still run
#
# DIR is a fresh directory owned by the caller (mktemp -d); everything the
# network needs is made inside it, nothing in the repository. A typical test:
#   D=$(mktemp -d); trap 'tests/i2pnet.sh stop "$D"' EXIT
#   tests/i2pnet.sh site "$D" bob.i2p ed25519-2 "$D/www" B
#   tests/i2pnet.sh start "$D" && . "$D/env"     # then use $SAM_A, $SAM_B
# Stop your own SAM clients before `stop`: i2pd 2.45.1 does not exit on
# SIGTERM while a SAM socket is open (measured: it waited until the client
# went), so such a router gets SIGKILL after the grace period.
#
# Sites and names must be declared *before* the start: i2pd's address book
# reads hosts.txt only while its store is empty, i.e. at the very first
# start. `site` and `host` append a line to DIR/sites or DIR/hosts; a caller
# may as well write those files itself:
#   DIR/sites  NAME KEY WEBROOT ROUTER  one eepsite a line: an i2pd HTTP server
#              tunnel (type = http, tunnel lengths 0) on router ROUTER (A or
#              B) with the destination KEY, in front of `busybox httpd`
#              serving WEBROOT (an absolute directory; its files may change at
#              any time, e.g. WEBROOT/.well-known/i2pmail.key written after
#              the start). NAME (e.g. bob.i2p) goes into every hosts.txt.
#   DIR/hosts  NAME KEY                 more hosts.txt names, e.g. for a mail
#              server's own destination (nothing is started for them).
# `tunnel` writes DIR/ROUTER/tunnels.d/NAME.conf (ROUTER A or B), read by
# the router when it starts: an i2pd tunnel [NAME] of TYPE client (a local
# port that leads to DESTINATION, a b32 address or a hosts.txt name) or
# httpproxy (an HTTP proxy into I2P), listening on 127.0.0.1:PORT, with the
# network's settings ($SAM_OPTIONS below). All the tunnels declared on one
# router share one transient client destination (keys = transient-clients),
# as the programs of one user behind their own router would.
# KEY is the name of a test key in tests/i2p/keys/ (ed25519-1, ed25519-2,
# ...; $E2E_TEST_KEYDIR overrides that directory), or a file holding a
# private blob (I2P base64 text, as SAM gives it, or raw binary) or, in
# DIR/hosts, a public destination.
#
# The network: three i2pd 2.45.1 routers: F (floodfill, no SAM), A and B
# (SAM on 127.0.0.1). NTCP2 published on 127.0.0.1, SSU2 off, netid 99, no
# reseed, no subscriptions, no proxies or web console, exploratory tunnels
# of 0 hops. They start in the order F, (S), B, A, each with the router.info
# of those before it in its netDb (netDb/r<c>/routerInfo-<hash>.dat, hash =
# I2P base64 of the SHA-256 of the router identity, c its first character);
# seed() says why not all of them into all, settle() what the short-lived
# fourth router S is for. i2pd 2.45.1 drops inbound NTCP2
# connections from 127.0.0.0/8, so the routers run with
# LD_PRELOAD=DIR/peerlabel.so (tests/i2p/peerlabel.c, compiled here with
# `cc -shared -fPIC`): on the router's NTCP2 port, getpeername() reports a
# 127.0.0.c peer as 100.x.y.z (a label unique per connection; nothing is
# sent there).
#
# Ready means: both SAM bridges answer HELLO, and a probe stream went from
# router A to router B (an i2pd client tunnel on A to a server tunnel on B
# in front of a small web server, see probe()), which also leaves the three
# NTCP2 links A-F, B-F and A-B up. Only then does a SAM session reliably
# publish its lease set and reach the other router right away. `start` and
# `wait` fail (exit 1) when that takes longer than $E2E_TEST_TIMEOUT
# seconds; `start` then stops what it started. After `launch`, a background
# prober writes DIR/ready (or DIR/failed, with the reason); `launch` + SAM
# SESSION CREATE (20 s) + `wait` saves the time the probe takes.
#
# `launch` and `start` write DIR/env, sh-sourceable:
#   SAM_A='127.0.0.1:PORT' SAM_B='127.0.0.1:PORT'  the two SAM bridges
#   SAM_OPTIONS='...'    SESSION CREATE options that work on this network
#   NTCP2_F= NTCP2_A= NTCP2_B=   the routers' NTCP2 addresses
#   SITES='bob.i2p ...'  and for the Nth site: SITE_N=NAME SITE_N_B32=...b32.i2p
#                        SITE_N_ROUTER=A|B WEB_N=127.0.0.1:PORT (its httpd)
#   PIDS='...'           every process started
#   PORTBASE= KEYDIR= I2PNET_DIR= STARTUP_SECONDS=
# and DIR/pids ("PID STARTTIME ROLE" a line). `stop` signals exactly those
# processes, checking each PID's start time so that a reused PID is never
# hit: SIGTERM, then SIGKILL after $E2E_TEST_STOPGRACE seconds. Safe in a
# trap, more than once, before, during or after a failed start.
#
# Other files: DIR/F, DIR/A, DIR/B hold each router's i2pd.conf,
# tunnels.conf, hosts.txt, i2pd.log and netDb/; DIR/web-N.log is the Nth
# web server's log; DIR/probe/, probe.log, prober.log belong to the probe.
#
# Environment:
#   E2E_TEST_PORTBASE  first port; the net uses PORTBASE .. PORTBASE+49 on
#                      127.0.0.1: NTCP2 F/A/B +0/+1/+2, probe web server +3,
#                      probe client tunnel +4, NTCP2 S +5, SAM A +11 (its UDP port +10),
#                      SAM B +13 (UDP +12), web servers +30.. (at most 20
#                      sites). Unset: the first free base of 27000, 27050,
#                      ... 27950 (chosen under a lock, for parallel runs);
#                      set: exactly that base, or fail when a port is busy.
#   E2E_TEST_TIMEOUT   seconds to wait for SAM, and again for readiness
#                      (default 60)
#   E2E_TEST_STOPGRACE seconds between SIGTERM and SIGKILL (default 3)
#   E2E_TEST_WATCHPID  when set, a watchdog process stops the net once that
#                      process is gone (covers a caller killed by SIGKILL)
#   E2E_TEST_LOGLEVEL  i2pd log level (default warn; info or debug)
#   E2E_TEST_VERBOSE   1: progress with timings on stderr
#   CC, PYTHON         compiler for the shim, python3 for tests/i2p/samtool.py
#
# Session options ($SAM_OPTIONS; tests/i2pnet.t uses them):
#   inbound.length=0 outbound.length=0 inbound.quantity=2 outbound.quantity=2
#   i2cp.leaseSetEncType=4,0
# Measured on this network (one run each, B connecting to A right after
# both SESSION CREATEs): 0-hop tunnels work with leaseSetEncType 4,0, 0, or
# left out (ElGamal keys then); 1-hop tunnels gave CANT_REACH_PEER at first
# and worked 30 s later; the defaults (3 hops) happened to work. Use 0 hops.
# SESSION CREATE answers after 20 s on i2pd (a fixed readiness poll): create
# sessions in parallel and allow at least 60 s.
#
# Timings measured on a 2-core machine: launch (SAM answers) 3.5-4.5 s, of
# which about 2.5 s for S; ready 6-17 s after the start, usually 11-16 s
# (i2pd builds a new destination's first tunnels on a 5-second pool timer,
# some 7 s after its router starts); SESSION CREATE 20 s; STREAM CONNECT and
# a round trip 50-100 ms; stop < 1 s without SAM clients; tests/i2pnet.t
# 25-28 s. Parallel launches wait for each other's port choice (a lock).

set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SELF=$HERE/$(basename "$0")
SAMTOOL=$HERE/i2p/samtool.py
# Debian's python3 starts in a third of the time of a pyenv shim; only the
# standard library is used.
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
export E2E_TEST_KEYDIR=${E2E_TEST_KEYDIR:-$HERE/i2p/keys}
TIMEOUT=${E2E_TEST_TIMEOUT:-60}
STOPGRACE=${E2E_TEST_STOPGRACE:-3}
LOGLEVEL=${E2E_TEST_LOGLEVEL:-warn}
NETID=99
SAM_OPTIONS='inbound.length=0 outbound.length=0 inbound.quantity=2 outbound.quantity=2 i2cp.leaseSetEncType=4,0'
MAXSITES=20

# Milliseconds since the epoch (bash 5's $EPOCHREALTIME).
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
T0=$(now_ms)

die() { echo "i2pnet: $*" >&2; exit 1; }
say() {
	[ "${E2E_TEST_VERBOSE:-0}" = 1 ] && echo "i2pnet: [$(($(now_ms) - T0)) ms] $*" >&2
	return 0
}
samtool() { "$PYTHON" "$SAMTOOL" "$@"; }

# The kernel's start time of PID (field 22 of /proc/PID/stat), or nothing
# when there is no such process or it is a zombie.
starttime() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	rest=${stat##*) }
	# shellcheck disable=SC2086
	set -- $rest
	[ "$1" = Z ] || echo "${20}"
}

# alive PID STARTTIME: the process we started is still there.
alive() {
	[ -n "$2" ] && [ "$2" != - ] && [ "$(starttime "$1")" = "$2" ]
}

# spawn ROLE LOGFILE COMMAND...: run in the background, record the PID.
# A `stop` that ran meanwhile (it marks DIR/stopped before it reads
# DIR/pids) either saw the record or is seen here: nothing is left behind.
spawn() {
	local role=$1 logf=$2 pid st
	shift 2
	"$@" </dev/null >>"$logf" 2>&1 9>&- &
	pid=$!
	st=$(starttime "$pid")
	echo "$pid ${st:--} $role" >>"$DIR/pids"
	if [ -e "$DIR/stopped" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		die "$DIR was stopped while starting"
	fi
	LASTPID=$pid
}

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every 0.1 s; give up at
# once when the network gets stopped meanwhile.
wait_for() {
	local secs=$1 limit=$(($(now_ms) + $1 * 1000)) what=$2
	shift 2
	until "$@"; do
		[ ! -e "$DIR/stopped" ] || die "$DIR was stopped while waiting for $what"
		if [ "$(now_ms)" -ge "$limit" ]; then
			echo "i2pnet: timed out after $secs s waiting for $what (logs: $DIR/*/i2pd.log)" >&2
			return 1
		fi
		sleep 0.1
	done
}

stop_net() {
	local pid st role pids="" left p limit
	[ -d "$DIR" ] || return 0
	: >"$DIR/stopped"
	[ -f "$DIR/pids" ] || return 0
	while read -r pid st role; do
		[ "$pid" = "$$" ] && continue   # the watchdog, exec'ed into this stop
		if alive "$pid" "$st"; then
			kill -TERM "$pid" 2>/dev/null || true
			pids="$pids $pid:$st:$role"
		fi
	done <"$DIR/pids"
	limit=$(($(now_ms) + STOPGRACE * 1000))
	while [ -n "$pids" ] && [ "$(now_ms)" -lt "$limit" ]; do
		sleep 0.1
		left=""
		for p in $pids; do
			alive "${p%%:*}" "$(echo "$p" | cut -d: -f2)" && left="$left $p"
		done
		pids=$left
	done
	for p in $pids; do
		say "${p##*:} (pid ${p%%:*}) still running after SIGTERM (an open SAM socket?), SIGKILL"
		kill -KILL "${p%%:*}" 2>/dev/null || true
	done
	return 0
}

status_net() {
	local pid st role bad=0
	[ -s "$DIR/pids" ] || { echo "i2pnet: $DIR: not started" >&2; return 1; }
	while read -r pid st role; do
		if alive "$pid" "$st"; then
			echo "$role $pid running"
		elif [ "$role" = prober ] || [ "$role" = i2pd-S ]; then
			echo "$role $pid done"
		else
			echo "$role $pid gone"
			bad=1
		fi
	done <"$DIR/pids"
	return $bad
}

# tunnel_section NAME TYPE KEYS QUANTITY [KEY=VALUE...]: one section of an
# i2pd tunnels file on stdout, with the settings of $SAM_OPTIONS (0-hop
# tunnels, the lease set types) but QUANTITY tunnels each way.
tunnel_section() {
	local kv
	printf '[%s]\ntype = %s\nkeys = %s\n' "$1" "$2" "$3"
	# shellcheck disable=SC2086   # the options are words
	for kv in "${@:5}" $SAM_OPTIONS; do
		case $kv in *.quantity=*) kv=${kv%%=*}=$4 ;; esac
		printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
	done
	echo
}

# write_tunnel ROUTER NAME TYPE PORT [DESTINATION]: see `tunnel` above.
write_tunnel() {
	local dest=()
	[ -n "${5:-}" ] && dest=("destination=$5")
	mkdir -p "$DIR/$1/tunnels.d"
	tunnel_section "$2" "$3" transient-clients 2 address=127.0.0.1 "port=$4" "${dest[@]}" \
		>"$DIR/$1/tunnels.d/$2.conf"
}

# write_conf ROUTER NTCP2PORT SAMPORT(0: no SAM) FLOODFILL(true|false)
write_conf() {
	local r=$1 port=$2 sam=$3 ff=$4 d=$DIR/$1 samon=true
	[ "$sam" = 0 ] && { samon=false; sam=$((PORTBASE + 49)); }
	mkdir -p "$d/tunnels.d"
	cat >"$d/i2pd.conf" <<EOF
# i2pd.conf of test router $r, written by tests/i2pnet.sh
log = file
logfile = $d/i2pd.log
loglevel = $LOGLEVEL
daemon = false
service = false
ipv4 = true
ipv6 = false
host = 127.0.0.1
address4 = 127.0.0.1
nat = false
netid = $NETID
reservedrange = false
floodfill = $ff
notransit = false
bandwidth = X

[ntcp2]
enabled = true
published = true
port = $port

[ssu2]
enabled = false
published = false

[http]
enabled = false

[httpproxy]
enabled = false

[socksproxy]
enabled = false

[sam]
enabled = $samon
address = 127.0.0.1
port = $sam

[bob]
enabled = false

[i2cp]
enabled = false

[i2pcontrol]
enabled = false

[upnp]
enabled = false

[nettime]
enabled = false

[meshnets]
yggdrasil = false

[reseed]
verify = false
threshold = 0
urls =
yggurls =

[addressbook]
enabled = true
defaulturl =
# not empty: i2pd 2.45.1 aborts (std::out_of_range) 3 minutes after the
# start when it downloads an empty subscription URL; this name resolves nowhere
subscriptions = http://nosuchhost.i2p/hosts.txt

[exploratory]
inbound.length = 0
outbound.length = 0
inbound.quantity = 1
outbound.quantity = 1

[persist]
profiles = false
addressbook = true
EOF
	: >"$d/tunnels.conf"
}

check_key() {
	samtool pub "$1" >/dev/null 2>&1 || die "bad key '$1' (neither a test key name nor a key file)"
}

start_router() {
	local r=$1 d=$DIR/$1 port
	eval "port=\$NTCP2_$r"
	spawn "i2pd-$r" "$d/stdout.log" env LD_PRELOAD="$DIR/peerlabel.so" \
		E2E_PEERLABEL_PORT="$port" \
		i2pd --conf="$d/i2pd.conf" --tunconf="$d/tunnels.conf" \
		--tunnelsdir="$d/tunnels.d" --datadir="$d" --pidfile="$d/i2pd.pid" \
		--certsdir=/usr/share/i2pd/certificates
}

# seed FROM TO: put router FROM's router.info into router TO's netDb, as
# netDb/r<c>/routerInfo-<hash>.dat.
#
# Why not every router.info into every netDb (first start each router once,
# then restart them all)? Measured: the routers then dial each other at the
# same moments; when two routers dial each other at once, i2pd 2.45.1 keeps
# one session, and the dropped handshake can make the dialler mark the
# other router unreachable ("Session ... already exists. Replaced", then
# "Can't publish LeaseSet, no more floodfills found" for a minute; 1 start in
# 5 failed that way). Started in order F, (S), B, A, each knowing only the
# routers before it, only the newer router dials at first (A and B publish
# to F), and the probe makes A dial B before B has a reason to dial A.
seed() {
	local ri
	ri=$(samtool riname "$DIR/$1/router.info")
	mkdir -p "$DIR/$2/netDb/${ri%%/*}"
	cp "$DIR/$1/router.info" "$DIR/$2/netDb/$ri"
}

# settle R: wait (at most 20 s) until router R has rewritten its
# router.info once after the first version, and the file is stable.
#
# Why: a floodfill re-signs its RouterInfo (new timestamp and statistics) at
# its first NetDb publication, and i2pd 2.45.1 rebuilds the signed buffer in
# place while other threads may be copying it. That first publication
# happens when the first NetDb message arrives (or after 15 s): when the
# first router connects, just as F sends that router its own RouterInfo. The
# router can then receive a half-updated RouterInfo ("RouterInfo: Signature
# verification failed"), mark the floodfill unreachable, and have no
# floodfill for a minute ("Can't publish LeaseSet, no more floodfills
# found"); measured once in 8 runs. So a throwaway router S (no SAM, never
# used again) connects first; once F's router.info has changed, S is stopped
# and B and A start with F's final RouterInfo, which then stays unchanged
# for 40 minutes.
settle() {
	local f=$DIR/$1/router.info first now prev="" limit
	first=$(cksum <"$f")
	limit=$(($(now_ms) + 20000))
	while [ "$(now_ms)" -lt "$limit" ]; do
		sleep 0.2
		[ ! -e "$DIR/stopped" ] || die "$DIR was stopped while starting"
		now=$(cksum <"$f")
		[ "$now" != "$first" ] && [ "$now" = "$prev" ] && { say "router $1's router.info settled"; return 0; }
		prev=$now
	done
	say "router $1's router.info did not change within 20 s; going on"
}

# listening PORT: a TCP socket listens on PORT (read from /proc/net/tcp, so
# that the check itself opens no connection).
listening() {
	awk -v p=":$(printf %04X "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
		END { exit !f }' /proc/net/tcp
}

# linked R1 R2: routers R1 and R2 hold an NTCP2 link: an established TCP
# connection between the two processes, one end at the other's NTCP2 port.
linked() {
	local one two
	eval "one=\$PID_$1:\$NTCP2_$1 two=\$PID_$2:\$NTCP2_$2"
	samtool linked "$one" "$two" 2>/dev/null
}

# probe: one HTTP request through the whole network, the readiness test.
# Router A has an i2pd client tunnel (plain TCP on 127.0.0.1:$PROBE_CLIENT)
# to a server tunnel on router B (key made by B: DIR/B/probe.dat) in front of
# a web server for DIR/probe/. When probe.txt comes back, B has published its
# lease set to F, A has looked it up there and has dialled B: all three NTCP2
# links are up, each made by one side. The probe's tunnels exist without
# SAM, so there is no 20 s SESSION CREATE wait.
probe() {
	samtool httpget --timeout 2 "127.0.0.1:$PROBE_CLIENT" /probe.txt 2>/dev/null |
		cmp -s - "$DIR/probe/probe.txt"
}

# The ports of base $1, TCP and UDP, as samtool portsfree wants them.
ports_of() {
	local b=$1 i ports
	ports="$b $((b + 1)) $((b + 2)) $((b + 3)) $((b + 4)) $((b + 5))"
	ports="$ports $((b + 11)) udp:$((b + 10)) $((b + 13)) udp:$((b + 12))"
	for i in $(seq "$NSITES"); do ports="$ports $((b + 29 + i))"; done
	echo "$ports"
}

choose_portbase() {
	local b
	if [ -n "${E2E_TEST_PORTBASE:-}" ]; then
		case $E2E_TEST_PORTBASE in *[!0-9]*) die "E2E_TEST_PORTBASE must be a number" ;; esac
		if [ "$E2E_TEST_PORTBASE" -lt 1024 ] || [ "$E2E_TEST_PORTBASE" -gt 65485 ]; then
			die "E2E_TEST_PORTBASE out of range (1024..65485)"
		fi
		# shellcheck disable=SC2046
		samtool portsfree $(ports_of "$E2E_TEST_PORTBASE") ||
			die "E2E_TEST_PORTBASE=$E2E_TEST_PORTBASE: ports busy; choose another base"
		PORTBASE=$E2E_TEST_PORTBASE
		return
	fi
	for b in $(seq 27000 50 27950); do
		# shellcheck disable=SC2046
		if samtool portsfree $(ports_of "$b") 2>/dev/null; then PORTBASE=$b; return; fi
	done
	die "no free port base in 27000..27999; set E2E_TEST_PORTBASE"
}

# Each "KEY" line of DIR/sites and DIR/hosts, checked.
read_decls() {
	local name key webroot router
	SITES="" NSITES=0
	touch "$DIR/sites" "$DIR/hosts"
	while read -r name key webroot router; do
		case $name in ''|'#'*) continue ;; esac
		[ -n "$router" ] || die "$DIR/sites: want NAME KEY WEBROOT ROUTER, got: $name $key $webroot"
		case $name in *[!a-zA-Z0-9.-]*) die "bad site name '$name'" ;; esac
		case $router in A|B) ;; *) die "site $name: ROUTER must be A or B" ;; esac
		case $webroot in /*) ;; *) die "site $name: WEBROOT must be an absolute path" ;; esac
		[ -d "$webroot" ] || die "site $name: $webroot: no such directory"
		check_key "$key"
		NSITES=$((NSITES + 1))
		[ "$NSITES" -le "$MAXSITES" ] || die "too many sites (at most $MAXSITES)"
		SITES="$SITES $name"
	done <"$DIR/sites"
	while read -r name key; do
		case $name in ''|'#'*) continue ;; esac
		[ -n "$key" ] || die "$DIR/hosts: want NAME KEY, got: $name"
		case $name in *[!a-zA-Z0-9.-]*) die "bad host name '$name'" ;; esac
		check_key "$key"
	done <"$DIR/hosts"
}

write_env() {
	local pid st role pids="" i elapsed
	while read -r pid st role; do
		pids="$pids $pid"
	done <"$DIR/pids"
	elapsed=$(($(now_ms) - T0))
	STARTUP=$((elapsed / 1000)).$(printf %03d $((elapsed % 1000)))
	{
		echo "# written by tests/i2pnet.sh start; sh-sourceable"
		echo "I2PNET_DIR='$DIR'"
		echo "SAM_A='127.0.0.1:$SAMPORT_A'"
		echo "SAM_B='127.0.0.1:$SAMPORT_B'"
		echo "SAM_OPTIONS='$SAM_OPTIONS'"
		echo "NTCP2_F='127.0.0.1:$NTCP2_F'"
		echo "NTCP2_A='127.0.0.1:$NTCP2_A'"
		echo "NTCP2_B='127.0.0.1:$NTCP2_B'"
		echo "SITES='${SITES# }'"
		for i in $(seq "$NSITES"); do
			eval "echo \"SITE_$i='\$SITE_$i'\"; echo \"SITE_${i}_B32='\$SITE_${i}_B32'\""
			eval "echo \"SITE_${i}_ROUTER='\$SITE_${i}_ROUTER'\"; echo \"WEB_$i='\$WEB_$i'\""
		done
		echo "PIDS='${pids# }'"
		echo "PORTBASE='$PORTBASE'"
		echo "KEYDIR='$E2E_TEST_KEYDIR'"
		echo "STARTUP_SECONDS='$STARTUP'"
	} >"$DIR/env.tmp"
	mv "$DIR/env.tmp" "$DIR/env"
}

launch_net() {
	local r name key webroot router i webport
	STARTED=0
	[ -d "$DIR" ] || die "$DIR: no such directory"
	[ ! -s "$DIR/pids" ] || die "$DIR: already started (stop it, then use a fresh directory)"
	[ ! -e "$DIR/stopped" ] || die "$DIR: stopped already; use a fresh directory"
	command -v i2pd >/dev/null || die "i2pd not installed"
	command -v busybox >/dev/null || die "busybox not installed"

	read_decls
	# Parallel starts must not pick the same free port base: hold a lock
	# from the choice until every port is bound (SAM answers).
	if command -v flock >/dev/null; then
		exec 9>>"${TMPDIR:-/tmp}/e2e-i2pnet.lock"
		flock -w 120 9 || die "cannot lock ${TMPDIR:-/tmp}/e2e-i2pnet.lock"
	fi
	choose_portbase
	NTCP2_F=$PORTBASE NTCP2_A=$((PORTBASE + 1)) NTCP2_B=$((PORTBASE + 2))
	PROBE_WEB=$((PORTBASE + 3)) PROBE_CLIENT=$((PORTBASE + 4)) NTCP2_S=$((PORTBASE + 5))
	SAMPORT_A=$((PORTBASE + 11)) SAMPORT_B=$((PORTBASE + 13))
	say "port base $PORTBASE"

	# From here on, any failure stops whatever has been started.
	: >"$DIR/pids"
	trap '[ "$STARTED" = 1 ] || stop_net' EXIT
	trap 'exit 1' INT TERM HUP
	if [ -n "${E2E_TEST_WATCHPID:-}" ]; then
		# shellcheck disable=SC2016
		spawn watchdog /dev/null sh -c \
			'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3"' \
			watchdog "$E2E_TEST_WATCHPID" "$SELF" "$DIR"
	fi

	"${CC:-cc}" -shared -fPIC -O2 -Wall -o "$DIR/peerlabel.so" "$HERE/i2p/peerlabel.c" -ldl ||
		die "cannot build the peerlabel shim"

	write_conf F "$NTCP2_F" 0 true
	write_conf A "$NTCP2_A" "$SAMPORT_A" false
	write_conf B "$NTCP2_B" "$SAMPORT_B" false
	write_conf S "$NTCP2_S" 0 false

	# hosts.txt: every site and every extra name, on every router, before
	# the first start.
	{
		while read -r name key webroot router; do
			case $name in ''|'#'*) continue ;; esac
			echo "$name=$(samtool pub "$key")"
		done <"$DIR/sites"
		while read -r name key; do
			case $name in ''|'#'*) continue ;; esac
			echo "$name=$(samtool pub "$key")"
		done <"$DIR/hosts"
	} >"$DIR/hosts.txt"
	for r in F A B; do cp "$DIR/hosts.txt" "$DIR/$r/hosts.txt"; done

	# Eepsites: a web server on loopback, an HTTP server tunnel on the router.
	i=0
	while read -r name key webroot router; do
		case $name in ''|'#'*) continue ;; esac
		i=$((i + 1))
		webport=$((PORTBASE + 29 + i))
		samtool binkey "$key" "$DIR/$router/site-$i.dat"
		tunnel_section "$name" http "site-$i.dat" 2 host=127.0.0.1 "port=$webport" \
			"hostoverride=$name" enableuniquelocal=false >>"$DIR/$router/tunnels.conf"
		spawn "httpd-$i" "$DIR/web-$i.log" busybox httpd -f -vv -p "127.0.0.1:$webport" -h "$webroot"
		eval "SITE_$i=\$name SITE_${i}_ROUTER=\$router WEB_$i=127.0.0.1:\$webport"
		eval "SITE_${i}_B32=\$(samtool b32 \"\$key\")"
	done <"$DIR/sites"

	# The probe (see probe() above): its web server and its server tunnel on
	# B; the client tunnel on A is added once B has made the probe's key.
	mkdir -p "$DIR/probe"
	echo "i2pnet probe $$" >"$DIR/probe/probe.txt"
	spawn probe-httpd "$DIR/probe.log" busybox httpd -f -p "127.0.0.1:$PROBE_WEB" -h "$DIR/probe"
	tunnel_section i2pnet-probe http probe.dat 1 host=127.0.0.1 "port=$PROBE_WEB" \
		enableuniquelocal=false >>"$DIR/B/tunnels.conf"

	# Start order F, S, B, A; each router starts knowing only the routers
	# before it (see seed() and settle() above).
	say "starting F"
	start_router F
	PID_F=$LASTPID
	wait_for 20 "router F's router.info" test -s "$DIR/F/router.info"
	wait_for 20 "router F's NTCP2 port" listening "$NTCP2_F"
	# The starter S (see settle() above): it connects to F, F publishes and
	# re-signs its RouterInfo, S goes.
	seed F S
	say "starting S"
	start_router S
	PID_S=$LASTPID
	settle F
	kill -TERM "$PID_S" 2>/dev/null || true
	seed F B
	say "starting B"
	start_router B
	PID_B=$LASTPID
	wait_for 20 "router B's router.info" test -s "$DIR/B/router.info"
	wait_for 20 "router B's NTCP2 port" listening "$NTCP2_B"
	wait_for 20 "the probe's key on router B" test -s "$DIR/B/probe.dat"
	sleep 0.1   # let i2pd finish writing the key file
	tunnel_section i2pnet-probe client transient-probe 1 address=127.0.0.1 "port=$PROBE_CLIENT" \
		"destination=$(samtool b32 "$DIR/B/probe.dat")" >>"$DIR/A/tunnels.conf"
	seed F A
	seed B A
	say "starting A"
	start_router A
	PID_A=$LASTPID

	wait_for "$TIMEOUT" "SAM on router A" samtool hello --timeout 2 "127.0.0.1:$SAMPORT_A" 2>/dev/null
	wait_for "$TIMEOUT" "SAM on router B" samtool hello --timeout 2 "127.0.0.1:$SAMPORT_B" 2>/dev/null
	say "SAM answers on A and B"
	exec 9>&-   # every port is bound now: release the lock
	all_alive
	write_env
	spawn prober "$DIR/prober.log" "$SELF" _probe "$DIR"
	write_env   # again, with the prober's PID
	STARTED=1
}

# all_alive: every process recorded in DIR/pids still runs (the prober and
# the starter S excepted: they end by design), else die.
all_alive() {
	local pid st role
	while read -r pid st role; do
		case $role in prober|i2pd-S) continue ;; esac
		alive "$pid" "$st" || die "$role (pid $pid) died; see $DIR/*/i2pd.log, $DIR/*.log"
	done <"$DIR/pids"
}

# The background prober (`_probe DIR`, spawned by launch): waits for the
# probe and the three links, then writes DIR/ready, or DIR/failed with the
# reason.
probe_net() {
	# shellcheck disable=SC1091
	. "$DIR/env"
	NTCP2_F=${NTCP2_F##*:} NTCP2_A=${NTCP2_A##*:} NTCP2_B=${NTCP2_B##*:}
	PROBE_CLIENT=$((PORTBASE + 4))
	# shellcheck disable=SC2034   # used by linked()
	PID_F=$(awk '$3 == "i2pd-F" { print $1 }' "$DIR/pids")
	# shellcheck disable=SC2034
	PID_A=$(awk '$3 == "i2pd-A" { print $1 }' "$DIR/pids")
	# shellcheck disable=SC2034
	PID_B=$(awk '$3 == "i2pd-B" { print $1 }' "$DIR/pids")
	if wait_for "$TIMEOUT" "the probe (a stream from router A to router B)" probe 2>"$DIR/failed.tmp" &&
		wait_for 5 "a link between A and F" linked A F 2>"$DIR/failed.tmp" &&
		wait_for 5 "a link between B and F" linked B F 2>"$DIR/failed.tmp" &&
		wait_for 5 "a link between A and B" linked A B 2>"$DIR/failed.tmp"; then
		rm -f "$DIR/failed.tmp"
		echo "$(($(now_ms) - T0))" >"$DIR/ready"
	else
		mv "$DIR/failed.tmp" "$DIR/failed"
	fi
}

# wait_net: wait until the prober has written DIR/ready (exit 0) or
# DIR/failed (exit 1), at most $E2E_TEST_TIMEOUT seconds from now.
wait_net() {
	local st
	[ -s "$DIR/env" ] || die "$DIR: not started"
	st=$(awk '$3 == "prober" { print $1 ":" $2 }' "$DIR/pids")
	until [ -e "$DIR/ready" ]; do
		[ ! -e "$DIR/failed" ] || die "not ready: $(cat "$DIR/failed")"
		alive "${st%%:*}" "${st#*:}" || [ -e "$DIR/ready" ] || [ -e "$DIR/failed" ] ||
			die "not ready: the prober is gone (network stopped?)"
		[ "$(now_ms)" -lt "$((T0 + TIMEOUT * 1000))" ] ||
			die "not ready after $TIMEOUT s (logs: $DIR/*/i2pd.log)"
		sleep 0.1
	done
	all_alive
	say "ready (probe answered, links A-F, B-F, A-B up)"
}

start_net() {
	launch_net
	STARTED=0   # the EXIT trap of launch_net stops the net if wait_net dies
	wait_net
	STARTED=1
	write_env   # for STARTUP_SECONDS
	if [ "${E2E_TEST_VERBOSE:-0}" = 1 ] || [ -t 2 ]; then
		echo "i2pnet: up in $STARTUP s: SAM_A=127.0.0.1:$SAMPORT_A SAM_B=127.0.0.1:$SAMPORT_B ($DIR/env)" >&2
	fi
}

usage() {
	sed -n '/^# Usage:/,/^#$/s/^# \{0,1\}//p' "$SELF" >&2
	echo "(details: the comment at the top of $SELF)" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
DIR=$2
shift 2
case $DIR in /*) ;; *) DIR=$(pwd)/$DIR ;; esac

case $cmd in
start)
	[ $# -eq 0 ] || usage
	start_net ;;
launch)
	[ $# -eq 0 ] || usage
	launch_net ;;
wait)
	[ $# -eq 0 ] || usage
	wait_net ;;
_probe)
	probe_net ;;
stop)
	[ $# -eq 0 ] || usage
	stop_net ;;
status)
	[ $# -eq 0 ] || usage
	status_net ;;
site)
	[ $# -eq 4 ] || usage
	[ -d "$DIR" ] || die "$DIR: no such directory"
	[ ! -s "$DIR/pids" ] || die "$DIR: declare sites before start"
	printf '%s %s %s %s\n' "$1" "$2" "$3" "$4" >>"$DIR/sites" ;;
host)
	[ $# -eq 2 ] || usage
	[ -d "$DIR" ] || die "$DIR: no such directory"
	[ ! -s "$DIR/pids" ] || die "$DIR: declare hosts before start"
	printf '%s %s\n' "$1" "$2" >>"$DIR/hosts" ;;
tunnel)
	[ $# -eq 4 ] || [ $# -eq 5 ] || usage
	case $1:$3:$# in [AB]:client:5 | [AB]:httpproxy:4) ;; *) usage ;; esac
	[ -d "$DIR" ] || die "$DIR: no such directory"
	[ ! -s "$DIR/pids" ] || die "$DIR: declare tunnels before start"
	write_tunnel "$@" ;;
*)
	usage ;;
esac
