#!/bin/bash
# Remote access to one's own mailbox (docs/remote-access.md): submission
# and POP3 on two private destinations, served by e2e-samaccept.
#
# First without I2P, e2e-smtpd and e2e-pop3d run straight on fds 0/1:
# E2E_SUBMISSION=1 with PROTO=SAM is submission (AUTH, relaying for the
# user, the stages see PROTO=TCP, E2E_TRUSTUSER ignored, e2e-verify never
# run), without it the I2P reception rules stay; the per-peer cap keys on
# SAMREMOTEB32; e2e-setup -r makes the two services, down until their keys
# exist.
#
# Then over a real private I2P network (tests/i2pnet.sh, tests/flow/sites.sh):
# alice.i2p's home on router A runs samaccept, remote-smtp and remote-pop3
# (fixed keys, tests/remoteaccess/*.priv, so that the client tunnels can be
# written before the routers start); bob.i2p's home on router B receives.
# The mail client sits behind router B, as on a laptop with its own router:
# i2pd client tunnels (tests/i2pnet.sh tunnel, read at its start) give local ports
# for the submission destination, the POP3 destination and, for contrast,
# alice.i2p's public mail destination. Real clients through them: swaks
# (AUTH PLAIN), Python's poplib, and a scripted conversation for exact
# replies. About 60 s: network 10-15 s, SESSION CREATE 20 s (all sessions
# at once), lease set lookups. E2E_TEST_NOI2P=1 skips the I2P part.
. "$(dirname "$0")/lib.sh"

for p in e2e-setup e2e-passwd e2e-keygen e2e-smtpd e2e-pop3d e2e-samaccept e2e-queue e2e-scrub e2e-runner; do
	[ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done
RA=$TOP/tests/remoteaccess
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
talk() { "$PY" "$RA/talk.py" "$@"; }
b64() { printf '%b' "$1" | base64 -w0; }
codes() { grep -E '^[0-9]{3}( |$)' | cut -c1-3 | tr '\n' ' ' | sed 's/ $//'; }
ROOT=; [ "$(id -u)" = 0 ] && ROOT=1

# ---- e2e-setup -r ----
H=$T_TMP/home
mkhome "$H" alice.i2p alice:secret bob:hunter2 || { echo "Bail out! cannot make a mail home"; exit 1; }
[ ! -e "$H/service/remote-smtp" ] && [ ! -e "$H/service/remote-pop3" ] && [ ! -e "$H/remote" ]
ok $? "e2e-setup without -r: no remote access services"
out=$(e2e-setup -r "$H" alice.i2p 2>&1)
ok $? "e2e-setup -r HOME DOMAIN"
like "$out" "env E2E_HOME=$H/remote/smtp e2e-keygen" "... says how to make the private keys"
[ -x "$H/service/remote-smtp/run" ] && [ -x "$H/service/remote-pop3/run" ] && [ -d "$H/log/remote-smtp" ] &&
	[ -d "$H/log/remote-pop3" ] && [ -d "$H/remote/smtp" ] && [ -d "$H/remote/pop3" ]
ok $? "... made service/remote-smtp, service/remote-pop3, their logs and remote/smtp, remote/pop3"
[ -f "$H/service/remote-smtp/down" ] && [ -f "$H/service/remote-pop3/down" ]
ok $? "... both down while they have no key"
cp "$RA/submission.priv" "$H/remote/smtp/key" && cp "$RA/pop3.priv" "$H/remote/pop3/key"
out=$(e2e-setup "$H" alice.i2p 2>&1)
like "$out" 'remote-smtp enabled' "e2e-setup again (without -r) once the keys exist: remote-smtp enabled"
like "$out" 'remote-pop3 enabled' "... and remote-pop3"
[ ! -e "$H/service/remote-smtp/down" ] && [ ! -e "$H/service/remote-pop3/down" ]
ok $? "... their down files are gone"
if [ -n "$ROOT" ]; then
	is "$(stat -c '%U %a' "$H/remote" "$H/remote/smtp" "$H/remote/smtp/key" "$H/remote/pop3/key" | tr '\n' ' ')" \
		"root 700 root 700 root 600 root 600 " "as root: remote/ and the keys are root's alone (700, 600)"
	is "$(cat "$H/service/remote-smtp/data/user") $(cat "$H/service/remote-pop3/data/user")" \
		"$(cat "$H/service/smtpd/data/user") e2e-mail" "as root: remote-smtp runs as submission's account, remote-pop3 as e2e-mail"
fi

# ---- e2e-smtpd with E2E_SUBMISSION=1 under PROTO=SAM, no I2P ----
CAP=$T_TMP/cap LOG=$T_TMP/log
B32=abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst.b32.i2p
B32B=bbcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst.b32.i2p
# A stand-in queue: keeps the message, the envelope and the PROTO it saw.
cat >"$T_TMP/capture" <<'EOF'
#!/bin/sh
echo "$PROTO" > "$CAPDIR/proto"
cat > "$CAPDIR/msg"
cat <&1 > "$CAPDIR/env"
[ -s "$CAPDIR/env" ] || exit 111
EOF
printf '#!/bin/sh\necho "$1" >> "$CAPDIR/verify"\nexit 0\n' >"$T_TMP/verify"
chmod +x "$T_TMP/capture" "$T_TMP/verify"
# sub INPUT [VAR=VALUE...]: one session from $B32 under PROTO=SAM with
# E2E_SUBMISSION=1 (a VAR=VALUE may override); replies without CR.
sub() {
	local in=$1; shift
	rm -rf "$CAP"; mkdir -p "$CAP"
	printf '%b' "$in" >"$T_TMP/in"
	env PROTO=SAM SAMREMOTEB32=$B32 SAMREMOTEDEST=fakedest SAMLOCALB32=$B32B E2E_SUBMISSION=1 \
		E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_QUEUE="$T_TMP/capture" E2E_VERIFY="$T_TMP/verify" \
		E2E_AUTHFAIL_DELAY=1 CAPDIR="$CAP" "$@" e2e-smtpd <"$T_TMP/in" >"$T_TMP/out" 2>"$LOG"
	echo $? >"$T_TMP/rc"
	tr -d '\r' <"$T_TMP/out"
}
EHLO='EHLO laptop\r\n'
AUTH="AUTH PLAIN $(b64 '\0alice\0secret')\r\n"
BAD="AUTH PLAIN $(b64 '\0alice\0wrong')\r\n"
MSG='DATA\r\nSubject: from the road\r\nUser-Agent: Thunderbird\r\n\r\nhello\r\n.\r\n'

r=$(sub "${EHLO}QUIT\r\n")
like "$r" '^250-AUTH PLAIN LOGIN$' "E2E_SUBMISSION=1, PROTO=SAM: EHLO offers AUTH"
r=$(sub "${EHLO}MAIL FROM:<alice@alice.i2p>\r\nQUIT\r\n" E2E_TRUSTUSER=alice)
is "$(codes <<<"$r")" "220 250 530 221" "MAIL without AUTH: 530, E2E_TRUSTUSER ignored (it is for PROTO=TCP only)"
t0=$(date +%s%N)
r=$(sub "${EHLO}${BAD}QUIT\r\n")
t1=$(date +%s%N)
is "$(codes <<<"$r")" "220 250 535 221" "a wrong password: 535"
[ $(((t1 - t0) / 1000000)) -ge 950 ]
ok $? "... after E2E_AUTHFAIL_DELAY (1 s here: $(((t1 - t0) / 1000000)) ms)"
r=$(sub "${EHLO}${AUTH}MAIL FROM:<alice@alice.i2p>\r\nRCPT TO:<bob@bob.i2p>\r\nRCPT TO:<bob@alice.i2p>\r\n${MSG}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 250 250 354 250 221" "with AUTH: relaying to bob@bob.i2p and a local recipient, queued"
is "$(cat "$CAP/proto" 2>/dev/null)" TCP "the queue stage (e2e-scrub's place) sees PROTO=TCP: submitted mail, scrubbed"
like "$(tr '\0' '|' <"$CAP/env")" '^Falice@alice\.i2p\|Tbob@bob\.i2p\|Tbob@alice\.i2p\|' "... the envelope"
[ ! -e "$CAP/verify" ]
ok $? "... e2e-verify was not run"
like "$(cat "$CAP/msg")" "with ESMTPA id" "... Received says ESMTPA"
like "$(cat "$LOG")" "start proto=TCP remote=$B32" "logged with the client's b32"
r=$(sub "${EHLO}${AUTH}MAIL FROM:<bob@alice.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 553 221" "the sender must be the user's own address (553)"
r=$(sub "${EHLO}${AUTH}QUIT\r\n" E2E_SUBMISSION=)
is "$(codes <<<"$r")" "220 250 502 221" "without E2E_SUBMISSION, PROTO=SAM keeps the I2P reception rules (AUTH: 502)"
r=$(sub "${EHLO}QUIT\r\n" E2E_SUBMISSION=2)
is "$(cat "$T_TMP/rc")" 100 "E2E_SUBMISSION=2: refused (exit 100)"

# ---- the per-peer cap under PROTO=SAM keys on SAMREMOTEB32 ----
P=$T_TMP/peers
mkdir -p "$P"
# hold: a session from $B32 that stays until its input ends (3 s)
hold() { local prog=$1; shift; (sleep 3) | env "$@" E2E_PEERDIR="$P" E2E_HOME="$H" E2E_DOMAIN=alice.i2p PROTO=SAM SAMREMOTEB32=$B32 "$prog" >/dev/null 2>&1; }
hold e2e-smtpd E2E_SUBMISSION=1 E2E_SMTPPEER=1 &
bg_pid $!
for _ in $(seq 50); do [ -e "$P/$B32" ] && break; sleep 0.05; done
r=$(sub "${EHLO}QUIT\r\n" E2E_PEERDIR="$P" E2E_SMTPPEER=1)
like "$r" '^421 4\.7\.0 too many connections from your address$' "smtpd: a second session from the same b32 over E2E_SMTPPEER=1: 421"
r=$(sub "${EHLO}QUIT\r\n" E2E_PEERDIR="$P" E2E_SMTPPEER=1 SAMREMOTEB32=$B32B)
like "$r" '^220 ' "... another b32 is served"
wait
rm -f "$P"/*
hold e2e-pop3d E2E_POP3PEER=1 &
bg_pid $!
for _ in $(seq 50); do [ -e "$P/$B32" ] && break; sleep 0.05; done
r=$(printf 'QUIT\r\n' | env PROTO=SAM SAMREMOTEB32=$B32 E2E_PEERDIR="$P" E2E_POP3PEER=1 E2E_HOME="$H" e2e-pop3d 2>/dev/null | tr -d '\r')
like "$r" '^-ERR \[SYS/TEMP\] too many connections' "pop3d under PROTO=SAM: a second session from the same b32: -ERR [SYS/TEMP]"
wait

# ---- over a real private I2P network ----
if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then
	diag "the I2P part is skipped (E2E_TEST_NOI2P=1)"
	done_testing
	exit
fi
. "$TOP/tests/flow/sites.sh"
flow_tools
T0=$(flow_now_ms)
FLOW_WATCHPID=$$
trap 'flow_stop_all; t_cleanup' EXIT
W=$T_TMP/w
mkdir -p "$W"
flow_init "$T_TMP/ra" || { echo "Bail out! cannot declare the sites"; exit 1; }
A=$(flow_home_of alice)
ALICE_B32=$(cat "$FLOW_KEYS/ed25519-1.b32")
SUB_B32=$(cat "$RA/submission.b32") POP_B32=$(cat "$RA/pop3.b32")

flow_home alice 'alice secret' && flow_home bob 'bob secret' &&
	e2e-setup -r "$A" alice.i2p >>"$FLOW_DIR/setup-alice.log" 2>&1
ok $? "homes alice.i2p (with -r: remote access) and bob.i2p"
for n in alice bob; do flow_set $n E2E_RETRY 1; flow_set $n E2E_RESOLVE_TIMEOUT 10; done
flow_fixed_key alice ed25519-1 && flow_fixed_key bob ed25519-2 || { echo "Bail out! cannot install the mail keys"; exit 1; }
# the private keys as e2e-keygen would have made them; e2e-keygen -p writes
# b32 beside each (E2E_HOME: the key's directory, as for a new key)
(umask 077 && cp "$RA/submission.priv" "$A/remote/smtp/key" && cp "$RA/pop3.priv" "$A/remote/pop3/key") &&
	s6-envdir "$A/env" env E2E_HOME="$A/remote/smtp" e2e-keygen -p >/dev/null 2>>"$W/keygen.log" &&
	s6-envdir "$A/env" env E2E_HOME="$A/remote/pop3" e2e-keygen -p >/dev/null 2>>"$W/keygen.log" &&
	out=$(flow_setup alice; cat "$FLOW_DIR/setup-alice.log")
like "$out" 'remote-pop3 enabled' "the private keys in remote/smtp and remote/pop3; e2e-setup enables both services"
is "$(cat "$A/remote/smtp/b32") $(cat "$A/remote/pop3/b32")" "$SUB_B32 $POP_B32" "e2e-keygen -p wrote each private destination's b32"
[ "$SUB_B32" != "$ALICE_B32" ] && [ "$POP_B32" != "$ALICE_B32" ] && [ "$SUB_B32" != "$POP_B32" ] &&
	! grep -rqs -e "$SUB_B32" -e "$POP_B32" "$FLOW_DIR/www-alice" "$A/b32" "$A/i2pmail.key"
ok $? "three destinations: the private ones are not the public one, and nothing published names them"

# The mail client's router is B: client tunnels to the two private
# destinations and to the public one (one client destination for all).
P_SUB=$(flow_port) P_POP=$(flow_port) P_PUB=$(flow_port)
"$FLOW_I2PNET" tunnel "$FLOW_NET" B mua-submission client "$P_SUB" "$SUB_B32" &&
	"$FLOW_I2PNET" tunnel "$FLOW_NET" B mua-pop3 client "$P_POP" "$POP_B32" &&
	"$FLOW_I2PNET" tunnel "$FLOW_NET" B mua-public client "$P_PUB" "$ALICE_B32" ||
	{ echo "Bail out! cannot declare the client tunnels"; exit 1; }

flow_launch
ok $? "private I2P network launched ($(flow_since "$T0") ms)" || { sed 's/^/# /' "$FLOW_DIR/net.log"; done_testing; exit; }
# the documented way to make a private key: e2e-keygen with E2E_HOME set to its directory
mkdir -m 700 "$W/newkey"
s6-envdir "$A/env" env E2E_HOME="$W/newkey" e2e-keygen >"$W/newkey.out" 2>>"$W/keygen.log" &&
	[ -s "$W/newkey/key" ] && [ "$(cat "$W/newkey/b32")" = "$(cat "$W/newkey.out")" ]
ok $? "e2e-keygen with E2E_HOME=DIR makes a fresh key and its b32 in DIR" || sed 's/^/# /' "$W/keygen.log"
flow_up alice
flow_up bob
flow_wait_net
ok $? "the network is ready ($(flow_since "$T0") ms)" || sed 's/^/# /' "$FLOW_DIR/net.log"
flow_ready alice 90 && flow_ready bob 90 &&
	s6-svwait -U -t 90000 "$A/service/remote-smtp" "$A/service/remote-pop3"
ok $? "both trees ready; alice's remote-smtp and remote-pop3 sessions up ($(flow_since "$T0") ms)" || {
	flow_show alice remote-smtp; flow_show alice remote-pop3; flow_show alice samaccept
}
like "$(flow_logof alice remote-smtp)" "session id=alicemail-submission .*$SUB_B32" "remote-smtp: SAM session alicemail-submission on the submission key"
like "$(flow_logof alice remote-pop3)" "session id=alicemail-pop3 .*$POP_B32" "remote-pop3: SAM session alicemail-pop3 on the POP3 key"
if [ -n "$ROOT" ]; then
	user_of() { ps -o user= -p "$(s6-svstat -o pid "$A/service/$1")" | tr -d ' '; }
	US=$(cat "$A/service/remote-smtp/data/user") UP=$(cat "$A/service/remote-pop3/data/user")
	is "$(user_of remote-smtp) $(user_of remote-pop3)" "$US $UP" \
		"e2e-samaccept runs as $US (remote-smtp) and $UP (remote-pop3), as in data/user"
	! s6-setuidgid "$US" cat "$A/remote/smtp/key" >/dev/null 2>&1 && ! s6-setuidgid "$UP" cat "$A/remote/pop3/key" >/dev/null 2>&1 &&
		! find "/proc/$(s6-svstat -o pid "$A/service/remote-smtp")/fd" -lname "*/remote/smtp/key" | grep -q .
	ok $? "... neither account can read its key file; the key came on fd 4, closed since"
fi

# ---- submission through the client tunnel ----
# greets PORT REPLY: a conversation through the client tunnel gets REPLY
# as its greeting (10 s each try: a lease set not found yet can stall one)
greets() { E2E_TALK_TIMEOUT=10 talk "127.0.0.1:$1" QUIT 2>/dev/null | grep -q "^S: $2"; }
t=$(flow_now_ms)
flow_until 60 greets "$P_SUB" 220
ok $? "the submission destination answers through router B's client tunnel ($(flow_since "$t") ms)" || flow_show alice remote-smtp
out=$(talk "127.0.0.1:$P_SUB" "EHLO laptop" "MAIL FROM:<alice@alice.i2p>" \
	"AUTH PLAIN $(b64 '\0alice\0wrong')" "QUIT" 2>&1)
printf '%s\n' "$out" >"$W/sub.talk"
like "$(grep -A1 '^C: EHLO' <<<"$out")" 'AUTH PLAIN LOGIN' "EHLO over I2P: AUTH offered"
like "$(grep -A1 '^C: MAIL' <<<"$out")" '^S: 530 5\.7\.0 authentication required' "MAIL without AUTH: 530"
like "$(grep -A1 '^C: AUTH' <<<"$out")" '^S: 535 5\.7\.8 ' "a wrong password: 535"
like "$(flow_logof alice remote-smtp)" 'auth mech=plain user=alice result=fail' "... logged in remote-smtp's log"

printf 'Hello from the road,\n\nsent over I2P to my own server.\n.a dot line\n\n-- \nAlice\n' >"$W/body"
out=$(swaks --server "127.0.0.1:$P_SUB" --ehlo laptop --auth PLAIN --auth-user alice --auth-password 'alice secret' \
	--from alice@alice.i2p --to bob@bob.i2p,alice@alice.i2p --header "Subject: remote access" \
	--header "User-Agent: Thunderbird" --body "@$W/body" 2>&1)
printf '%s\n' "$out" >"$W/swaks"
like "$out" '<[-~]  235 2\.7\.0' "swaks AUTH PLAIN to the submission destination: 235"
like "$out" '<[-~]  250 2\.1\.5 .*
.*<[-~]  250 2\.1\.5 ' "... bob@bob.i2p (relayed) and alice@alice.i2p accepted"
like "$out" '<[-~]  250 2\.0\.0 ok' "... the message queued"
CLIENT_B32=$(sed -n 's/.*e2e-smtpd: pid=[0-9]* start proto=TCP remote=\([a-z2-7]*\.b32\.i2p\).*/\1/p' "$(flow_log alice remote-smtp)" | tail -1)
[ -n "$CLIENT_B32" ]; ok $? "remote-smtp logged the client tunnel's destination ($CLIENT_B32)"
flow_wait_count alice 1 30
ok $? "the local copy is in Alice's Maildir" || flow_show alice runner
flow_wait_count bob 1 60
ok $? "the relayed copy arrived at bob.i2p over I2P ($(flow_since "$t") ms)" || { flow_show alice runner; flow_show bob samaccept; }
MB=$(find "$(flow_home_of bob)/mail/bob/new" -type f | head -1)
like "$(sed -n '/^$/q;p' "$MB" 2>/dev/null)" '^Authentication-Results: bob\.i2p; e2e=pass smtp\.mailfrom=alice@alice\.i2p' \
	"... from alice.i2p's public mail destination, verified by bob.i2p"
MA=$(find "$A/mail/alice/new" "$A/mail/alice/cur" -type f | head -1)
HA=$(sed -n '/^$/q;p' "$MA" 2>/dev/null)
like "$HA" '^Received: by alice\.i2p \(e2e\);' "scrubbed as local submission: one neutral Received line"
unlike "$(cat "$MA" "$MB")" "$CLIENT_B32|Thunderbird|laptop" "... nothing of the client (its b32, its HELO, User-Agent) in either copy"

# ---- POP3 through the client tunnel ----
flow_until 60 greets "$P_POP" '+OK'
ok $? "the POP3 destination answers through router B's client tunnel" || flow_show alice remote-pop3
out=$(talk "127.0.0.1:$P_POP" "USER alice" "PASS wrong" "QUIT" 2>&1)
like "$(grep -A1 '^C: PASS' <<<"$out")" '^S: -ERR' "POP3 over I2P, a wrong password: -ERR"
flow_pop alice "$W/local" >"$W/local.out" 2>&1 &&
	"$FLOW_PY" "$TOP/tests/flow/pop.py" "127.0.0.1:$P_POP" alice 'alice secret' "$W/remote" >"$W/remote.out" 2>&1
ok $? "poplib over I2P (USER/PASS, UIDL, RETR) and over the local port" || sed 's/^/# /' "$W/remote.out"
like "$(cat "$W/remote.out")" ' remote access$' "... the message is there"
R=$(ls "$W/remote"/*.eml 2>/dev/null | head -1)
MA=$(find "$A/mail/alice/new" "$A/mail/alice/cur" -type f | head -1)   # it may have moved to cur/
cmp -s "$R" "$MA" && cmp -s "$R" "$W/local/$(basename "$R")"
ok $? "RETR over I2P is byte-identical to the Maildir file and to RETR over the local port"

# the per-peer cap: every stream of the client tunnel comes from one destination
out=$(talk --greetings 4 "127.0.0.1:$P_POP" 2>&1)
like "$out" '^3: \+OK' "three POP3 sessions at once from one client destination"
like "$out" '^4: -ERR \[SYS/TEMP\] too many connections' "the fourth: -ERR [SYS/TEMP] (cap 3 per client destination)"

# ---- the public destination stays a receiver ----
flow_until 30 greets "$P_PUB" 220
out=$(talk "127.0.0.1:$P_PUB" "EHLO laptop" "AUTH PLAIN $(b64 '\0alice\0alice secret')" "MAIL FROM:<>" \
	"RCPT TO:<bob@bob.i2p>" "QUIT" 2>&1)
printf '%s\n' "$out" >"$W/public.talk"
unlike "$(grep -A1 '^C: EHLO' <<<"$out")" 'AUTH' "the public mail destination offers no AUTH"
like "$(grep -A1 '^C: AUTH' <<<"$out")" '^S: 502 ' "... AUTH with the right password: 502 not available"
like "$(grep -A1 '^C: RCPT' <<<"$out")" '^S: 550 5\.7\.1 relaying denied' "... relaying refused: 550 5.7.1"

diag "the whole test: $(flow_since "$T0") ms"
done_testing
