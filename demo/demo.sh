#!/bin/bash
# demo/demo.sh — what `make demo` runs (after `make deps all`): two e2e
# mail servers, alice.i2p and bob.i2p, on a private I2P network of three
# i2pd routers on loopback (tests/i2pnet.sh), each under its own s6 tree.
# Their mail keys are made by e2e-keygen through the routers' SAM bridges
# and published on their eepsites; Alice sends a message with swaks, Bob
# fetches it with POP3 (Python's poplib); the hops it took are read from
# the s6-log logs. Everything runs in a temporary directory and everything
# started is stopped at the end (by PID), also on failure or Ctrl-C.
#
# About 40 s: the routers start in ~5 s, a SAM session takes 20 s to
# create (both at once). Exit 0 when the message arrived, else 1 with the
# step that failed and the logs that tell why.
# E2E_DEMO_KEEP=1 keeps the directory (its path is printed).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1

T0=${EPOCHREALTIME/[.,]/}
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }
elapsed() { local d=$(($(now_us) - T0)); printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000)); }
STEP=""
step() {
	STEP=$*
	if [ -t 1 ]; then printf '\n\033[1m=== [%5ss] %s\033[0m\n' "$(elapsed)" "$*"
	else printf '\n=== [%5ss] %s\n' "$(elapsed)" "$*"; fi
}
say() { printf '    %s\n' "$*"; }
# the last lines of every log, to see why a step failed
logs() {
	local f
	[ -n "${FLOW_DIR:-}" ] || return 0
	for f in "$FLOW_DIR"/net.log "$FLOW_DIR"/keygen-*.log "$FLOW_DIR"/setup-*.log "$FLOW_DIR"/*/log/*/current; do
		[ -s "$f" ] || continue
		printf '    --- %s\n' "${f#"$FLOW_DIR"/}"
		grep -Ev 'tcpserver: (status:|pid|ok|end) |unable to read from the client|end reason=(eof|read_error)|start proto=TCP' "$f" |
			tail -n 8 | cut -c1-220 | sed 's/^/    /'
	done
}
fail() {
	printf '\ndemo: FAILED at "%s": %s\n' "$STEP" "$*"
	[ "$*" = interrupted ] || logs
	exit 1
}

step "Checking the tools and the build"
missing=""
for c in i2pd busybox swaks s6-svscan s6-svscanctl s6-svc s6-svwait s6-log s6-envdir tcpserver execlineb python3 cc; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
[ -z "$missing" ] || fail "not installed:$missing (run make deps as root)"
for p in e2e-setup e2e-passwd e2e-keygen e2e-smtpd e2e-queue e2e-runner e2e-remote e2e-resolve e2e-verify \
	e2e-samaccept e2e-pop3d; do
	[ -x "bin/$p" ] || fail "bin/$p is missing (run make)"
done
say "i2pd $(i2pd --version 2>/dev/null | sed -n 's/^i2pd version \([^ ]*\).*/\1/p'), s6, ucspi-tcp, swaks, busybox httpd: ok; bin/ built"

. "$TOP/tests/flow/sites.sh"
FLOW_WATCHPID=$$   # if this script dies, watchdogs stop the rest
D=$(mktemp -d "${TMPDIR:-/tmp}/e2e-demo.XXXXXX") || fail "mktemp"
# shellcheck disable=SC2317   # called by the trap
cleanup() {
	trap - EXIT INT TERM
	step "Stopping everything"
	flow_stop_all
	local left
	left=$(pgrep -af -- "$D")
	if [ -n "$left" ]; then say "still running:"; say "$left"; else say "s6 trees, routers and web servers stopped"; fi
	if [ "${E2E_DEMO_KEEP:-0}" = 1 ]; then say "kept: $D"; else rm -rf "$D"; fi
	say "total $(elapsed) s"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

step "Two mail homes: alice.i2p and bob.i2p (e2e-setup, e2e-passwd)"
flow_init "$D" || fail "cannot declare the eepsites"
flow_home alice 'alice demo password' || fail "e2e-setup or e2e-passwd for alice.i2p"
flow_home bob 'bob demo password' || fail "e2e-setup or e2e-passwd for bob.i2p"
{ flow_set alice E2E_RETRY 2 && flow_set bob E2E_RETRY 2; } || fail "settings"
A=$(flow_home_of alice) B=$(flow_home_of bob)
say "alice.i2p: $A  (user alice; SMTP $(flow_env alice E2E_SMTP), POP3 $(flow_env alice E2E_POP3))"
say "bob.i2p:   $B  (user bob;   SMTP $(flow_env bob E2E_SMTP), POP3 $(flow_env bob E2E_POP3))"

step "A private I2P network: three i2pd routers on loopback"
flow_launch || fail "the routers did not start"
say "router A (SAM $SAM_A): alice.i2p's eepsite and mail server"
say "router B (SAM $SAM_B): bob.i2p's eepsite and mail server"
say "router F: the floodfill; hosts.txt knows alice.i2p and bob.i2p"

step "Mail keys from the routers (e2e-keygen), published on the eepsites"
flow_keygen alice || fail "e2e-keygen for alice.i2p"
flow_keygen bob || fail "e2e-keygen for bob.i2p"
for n in alice bob; do
	say "$n.i2p mail server: $(cat "$(flow_home_of $n)/b32")"
	say "   published as http://$n.i2p/.well-known/i2pmail.key (busybox httpd behind an i2pd server tunnel)"
done

step "Starting both servers: s6-svscan HOME/service (smtpd, pop3d, runner, samaccept)"
flow_up alice
flow_up bob
flow_wait_net || fail "the I2P network did not become ready"
say "network ready at $(elapsed) s; waiting for the SAM sessions (SESSION CREATE takes 20 s on i2pd)"
flow_ready alice 90 || fail "alice.i2p's services did not all become ready"
flow_ready bob 90 || fail "bob.i2p's services did not all become ready"
for n in alice bob; do
	for s in smtpd pop3d runner samaccept; do
		say "$(printf '%-6s %-10s' "$n" "$s") $(s6-svstat "$(flow_home_of $n)/service/$s")"
	done
done

step "Alice writes to bob@bob.i2p with swaks (SMTP AUTH on her own server)"
printf 'Hello Bob,\n\nthis came to you over I2P: from my own mail server to yours,\nno central server in between.\n\nAlice\n' >"$D/body"
SENT=$(date +%s.%N)
out=$(flow_send alice bob@bob.i2p "Hello from Alice over I2P" "$D/body")
# the SMTP dialogue without the message itself and EHLO's list
printf '%s\n' "$out" | grep -E '^( [-~]> (EHLO|AUTH|MAIL|RCPT|DATA|QUIT)|<[-~]  [2-5][0-9][0-9] )' | cut -c1-110 | sed 's/^/    /'
printf '%s\n' "$out" | grep -Eq '^<[-~]  250 2\.0\.0 ok' || {
	printf '%s\n' "$out" | tail -n 15 | sed 's/^/    swaks: /'
	fail "Alice's server did not accept the message"
}

step "Waiting for it in Bob's Maildir"
t=$(now_us)
flow_wait_count bob 1 90 || fail "the message did not reach Bob's Maildir within 90 s"
say "arrived $(( ($(now_us) - t) / 1000 )) ms after swaks finished: $(ls "$B/mail/bob/new")"

step "Bob fetches it over POP3 (Python's poplib)"
flow_pop bob "$D/inbox" | sed 's/^/    /'
MSG=$(find "$D/inbox" -name "*.eml" 2>/dev/null | head -1)
[ -n "$MSG" ] || fail "POP3 gave no message"

step "The hops it took (from the s6-log logs of both servers)"
"$FLOW_PY" "$TOP/tests/flow/hops.py" --since "$SENT" \
	alice/smtpd="$(flow_log alice smtpd)" alice/runner="$(flow_log alice runner)" \
	bob/samaccept="$(flow_log bob samaccept)" bob/runner="$(flow_log bob runner)" bob/pop3d="$(flow_log bob pop3d)"

step "The message as Bob received it"
sed 's/^/    | /' "$MSG"
grep -q '^Authentication-Results: bob\.i2p; e2e=pass smtp\.mailfrom=alice@alice\.i2p$' "$MSG" ||
	fail "no Authentication-Results: pass in the message"
say ""
say "Delivered and verified: Bob's server checked that the sender's destination is the one alice.i2p publishes."
exit 0
