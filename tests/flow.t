#!/bin/bash
# The whole flow of issue 3 over a real private I2P network
# (tests/i2pnet.sh: three i2pd routers on loopback): two mail homes,
# alice.i2p (router A) and bob.i2p (router B), made with e2e-setup and
# e2e-passwd, each run by its own s6-svscan on HOME/service, with eepsites
# publishing their mail keys (tests/flow/sites.sh; fixed test keys, so that
# hosts.txt and the key files exist before the routers start). Real
# clients: swaks submits, Python's poplib fetches. In this order:
#   (a) Alice -> bob@bob.i2p: the body byte-identical, Authentication-Results
#       pass, the hops shown; (b) Bob replies, Alice gets it; then the
#       submission-to-Maildir time (median of 7, printed);
#   (d) a third destination claiming alice@alice.i2p: 550 5.7.1 at MAIL;
#       foreign recipients: 550 5.7.1; nothing queued or relayed;
#   (f) Bob's server down (s6-svc -d): the message waits in Alice's queue;
#       meanwhile router A crashes (SIGKILL) and is started again: Alice's
#       e2e-samaccept exits 111 and s6 brings it back; Bob's server comes
#       back (s6-svc -u): the message arrives exactly once; mail flows both
#       ways. (Bob's session is re-created too, so that no stale I2P session
#       state toward Alice's restarted destination holds things up: with
#       Bob's session kept, recovery took 2 minutes, see sites.sh.)
#   (e) Bob's eepsite down (its web server stopped), Alice's cache entry
#       expired: delivered from the stale copy; (c) bob@<b32>.b32.i2p with no
#       site and no cache entry: delivered; (e) no site, no cache: a delay
#       notice (E2E_WARN=3), then a bounce (E2E_LIFETIME=20).
# Every process (the s6 trees, the routers, the web servers, the SAM
# session of the third destination) is stopped by PID at exit, also on
# failure. About 100 s: network 10-15 s, SESSION CREATE 20 s twice, the
# bounce 25 s. E2E_TEST_NOI2P=1 skips it; a missing i2pd is a failure.
. "$(dirname "$0")/lib.sh"

if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then
	echo "1..0 # SKIP the real I2P network (E2E_TEST_NOI2P=1)"
	exit 0
fi
for p in e2e-setup e2e-passwd e2e-keygen e2e-smtpd e2e-queue e2e-scrub e2e-runner e2e-local e2e-bounce \
	e2e-remote e2e-resolve e2e-verify e2e-samaccept e2e-pop3d; do
	[ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done
. "$TOP/tests/flow/sites.sh"
flow_tools execlineb
T0=$(flow_now_ms)
# logcount NAME SERVICE REGEX: matching lines in the log so far
logcount() { grep -Ec -- "$3" "$(flow_log "$1" "$2")" 2>/dev/null; }
# more NAME SERVICE REGEX N: more than N such lines (a condition for flow_until)
more() { [ "$(logcount "$1" "$2" "$3")" -gt "$4" ]; }
loglines() { wc -l <"$(flow_log "$1" "$2")" 2>/dev/null || echo 0; }
# newid NAME LINES SENDER: the queue id of the first message from SENDER
# that NAME's runner took in after line LINES of its log (waits 30 s)
newid_after() { tail -n +"$(($2 + 1))" "$(flow_log "$1" runner)" | sed -n "s/.*e2e-runner: new id=\([^ ]*\) sender=$3 .*/\1/p" | head -1; }
has_newid() { [ -n "$(newid_after "$@")" ]; }
newid() { flow_until 30 has_newid "$@" && newid_after "$@"; }
# exited111 SERVICEDIR: s6 saw the service exit 111 (it is down, in its finish)
exited111() { [ "$(s6-svstat -o up,exitcode "$1" 2>/dev/null)" = "false 111" ]; }
# restarted SERVICEDIR OLDPID: up again, with another pid
restarted() { local s; s=$(s6-svstat -o up,pid "$1" 2>/dev/null); [ "${s%% *}" = true ] && [ "${s#* }" != "$2" ]; }
samtool() { "$FLOW_PY" "$TOP/tests/i2p/samtool.py" "$@"; }
# eml DIR SUBJECT: the fetched message with that subject
eml() { grep -l -F -x -- "Subject: $2" "$1"/*.eml 2>/dev/null | head -1; }
header() { sed -n '/^$/q;p' "$1"; }
# empty_queue NAME: nothing left in the home's queue
empty_queue() { [ -z "$(find "$(flow_home_of "$1")/queue/todo" "$(flow_home_of "$1")/queue/mess" -type f)" ]; }

FLOW_WATCHPID=$$
trap 'flow_stop_all; t_cleanup' EXIT
W=$T_TMP/w
mkdir -p "$W"
flow_init "$T_TMP/flow" || { echo "Bail out! cannot declare the sites"; exit 1; }
A=$(flow_home_of alice) B=$(flow_home_of bob)
ALICE_B32=$(cat "$FLOW_KEYS/ed25519-1.b32") BOB_B32=$(cat "$FLOW_KEYS/ed25519-2.b32")

# ---- setup: two mail homes, the network, the s6 trees ----
flow_home alice 'alice secret' && flow_home bob 'bob secret'
ok $? "mail homes alice.i2p and bob.i2p made with e2e-setup and e2e-passwd"
for n in alice bob; do
	flow_set $n E2E_RETRY 1
	flow_set $n E2E_REMOTE_GREETING 10
	flow_set $n E2E_REMOTE_CONNECT 30
	flow_set $n E2E_RESOLVE_TIMEOUT 5
done
flow_fixed_key alice ed25519-1 && flow_fixed_key bob ed25519-2
ok $? "fixed mail keys; e2e-keygen -p wrote i2pmail.key and b32; the eepsites serve them"
is "$(cat "$A/b32") $(cat "$B/b32")" "$ALICE_B32 $BOB_B32" "b32 files as e2e-keygen -p computed them"

t=$(flow_now_ms)
flow_launch
ok $? "private I2P network launched: SAM answers on routers A and B ($(flow_since "$t") ms)" || {
	sed 's/^/# /' "$FLOW_DIR/net.log"
	done_testing
	exit
}
# A third destination, for (d): a transient key of its own on router A
# shellcheck disable=SC2086   # the options are words
flow_bg "$FLOW_PY" "$TOP/tests/i2p/samtool.py" --timeout 90 session "$SAM_A" mallory TRANSIENT $SAM_OPTIONS \
	>"$W/mallory.pub" 2>"$W/mallory.err"
flow_up alice
flow_up bob
flow_wait_net
ok $? "the network is ready ($(flow_since "$T0") ms since start)" || sed 's/^/# /' "$FLOW_DIR/net.log"
flow_ready alice 90 && flow_ready bob 90
ok $? "both s6 trees: smtpd, pop3d, runner up; samaccept ready (SAM sessions up) ($(flow_since "$T0") ms since start)" || {
	flow_show alice samaccept; flow_show bob samaccept
}
diag "sessions: alice $(grep -o 'ms=[0-9]*' "$(flow_log alice samaccept)" | head -1), bob $(grep -o 'ms=[0-9]*' "$(flow_log bob samaccept)" | head -1) in SESSION CREATE"

# ---- (a) Alice writes to Bob ----
printf 'Hello Bob,\n\nthe first mail over I2P.\n.a line starting with a dot\n..and two\n.\n\tTabs, 8-bit: \xc3\xa9t\xc3\xa9 \xff\nA long line %s\n\n-- \nAlice\n' \
	"$(printf 'x%.0s' $(seq 900))" >"$W/body-a"
t=$(flow_now_ms)
out=$(flow_send alice bob@bob.i2p "flow a: hello bob" "$W/body-a")
printf '%s\n' "$out" >"$W/swaks-a"
like "$out" '<[-~]  250 2\.0\.0 ok' "(a) swaks with AUTH PLAIN to Alice's smtpd: bob@bob.i2p accepted"
flow_wait_count bob 1 60
ok $? "(a) the message is in Bob's Maildir ($(flow_since "$t") ms after submission, lookups included)" || {
	flow_show alice runner; flow_show bob samaccept; flow_show bob runner
}
flow_pop bob "$W/pop-bob" >"$W/pop-bob.out" 2>&1
ok $? "(a) Bob's POP3 client (poplib) fetches" || sed 's/^/# /' "$W/pop-bob.out"
MA=$(eml "$W/pop-bob" "flow a: hello bob")
[ -n "$MA" ]; ok $? "(a) ... the message"
like "$("$FLOW_PY" "$TOP/tests/flow/body.py" "$W/swaks-a" "$MA" "$W/body-a" 2>&1)" '^identical.*
starts with the given body$' "(a) its body is byte-identical to what swaks sent"
H=$(header "$MA")
like "$H" "^Authentication-Results: bob\.i2p; e2e=pass smtp\.mailfrom=alice@alice\.i2p$" "(a) Authentication-Results: bob.i2p; e2e=pass smtp.mailfrom=alice@alice.i2p"
like "$H" "^Received: from alice\.i2p \($ALICE_B32\)" "(a) Bob's Received line names Alice's mail destination"
unlike "$H" '127\.0\.0\.1|X-Mailer|localhost' "(a) nothing of Alice's machine in the header (no client address, no X-Mailer)"
like "$(flow_logof alice runner)" "e2e-resolve: host=bob\.i2p result=found via=network dest=$BOB_B32" \
	"(a) Alice's side fetched http://bob.i2p/.well-known/i2pmail.key over I2P"
like "$(flow_logof bob samaccept)" "e2e-verify: from=alice@alice\.i2p peer=$ALICE_B32 result=pass" \
	"(a) Bob's side verified the sender against alice.i2p's published key"
MIDA=$(sed -n 's/^Message-I[dD]: *//p' <<<"$H" | head -1)
diag "the hops of (a):"
"$FLOW_PY" "$TOP/tests/flow/hops.py" alice/smtpd="$(flow_log alice smtpd)" alice/runner="$(flow_log alice runner)" \
	bob/samaccept="$(flow_log bob samaccept)" bob/runner="$(flow_log bob runner)" bob/pop3d="$(flow_log bob pop3d)" |
	sed 's/^/#/'

# ---- (b) Bob replies ----
printf 'Hi Alice,\n\ngot it, thanks.\n\n> the first mail over I2P.\n\nBob\n' >"$W/body-b"
t=$(flow_now_ms)
out=$(flow_send bob alice@alice.i2p "Re: flow a: hello bob" "$W/body-b" --header "In-Reply-To: $MIDA")
printf '%s\n' "$out" >"$W/swaks-b"
like "$out" '<[-~]  250 2\.0\.0 ok' "(b) Bob's reply accepted by Bob's smtpd"
flow_wait_count alice 1 60
ok $? "(b) the reply is in Alice's Maildir ($(flow_since "$t") ms)" || { flow_show bob runner; flow_show alice samaccept; }
flow_pop alice "$W/pop-alice" >"$W/pop-alice.out" 2>&1
MB=$(eml "$W/pop-alice" "Re: flow a: hello bob")
[ -n "$MB" ]; ok $? "(b) Alice's POP3 client fetches it"
like "$("$FLOW_PY" "$TOP/tests/flow/body.py" "$W/swaks-b" "$MB" 2>&1)" '^identical' "(b) its body is byte-identical"
H=$(header "$MB")
like "$H" "^Authentication-Results: alice\.i2p; e2e=pass smtp\.mailfrom=bob@bob\.i2p$" "(b) Authentication-Results pass for bob@bob.i2p"
like "$H" "^In-Reply-To: $MIDA" "(b) In-Reply-To kept"

# ---- the submission-to-Maildir time, warm (keys cached, streams known) ----
"$FLOW_PY" "$TOP/tests/flow/latency.py" "$(flow_env alice E2E_SMTP)" alice 'alice secret' alice@alice.i2p bob@bob.i2p \
	"$B/mail/bob" 7 >"$W/latency" 2>&1
ok $? "7 more messages Alice -> Bob, one after the other, all arrive" || sed 's/^/# /' "$W/latency"
MEDIAN=$(sed -n 's/^median=\([0-9]*\).*/\1/p' "$W/latency")
diag "submission-to-Maildir over the test network (0-hop tunnels): $(tail -1 "$W/latency") ms; each: $(grep -o 'maildir=[0-9]*' "$W/latency" | cut -d= -f2 | tr '\n' ' ')"
NB=$(flow_count bob) NA=$(flow_count alice)
is "$NB" 8 "Bob has 8 messages"

# ---- (d) a third destination claims to be alice@alice.i2p ----
flow_until 60 test -s "$W/mallory.pub"
ok $? "a third destination's SAM session on router A (a transient key)" || sed 's/^/# /' "$W/mallory.err"
MAL_B32=$(samtool b32 "$(cat "$W/mallory.pub")" 2>/dev/null)
runner_new=$(logcount bob runner ' new id=')
out=$(samtool talk "$SAM_A" mallory "$BOB_B32" "EHLO mallory" "MAIL FROM:<alice@alice.i2p>" "RSET" \
	"MAIL FROM:<mallory@$MAL_B32>" "RCPT TO:<someone@else.i2p>" "RCPT TO:<alice@alice.i2p>" \
	"RCPT TO:<postmaster@$ALICE_B32>" "DATA" "QUIT" 2>&1)
printf '%s\n' "$out" >"$W/mallory.smtp"
like "$out" '^S: 220 ' "(d) the third destination reaches Bob's mail server over I2P"
like "$(grep -A1 '^C: MAIL FROM:<alice@alice.i2p>' <<<"$out")" 'S: 550 5\.7\.1' "(d) MAIL FROM:<alice@alice.i2p> from another destination: 550 5.7.1"
like "$(flow_logof bob samaccept)" "e2e-verify: from=alice@alice\.i2p peer=$MAL_B32 result=fail published=$ALICE_B32" \
	"(d) ... logged by e2e-verify: the peer is not alice.i2p's published server"
like "$(grep -A1 "^C: MAIL FROM:<mallory@" <<<"$out")" 'S: 250 ' "(d) its own b32 address as sender: 250 (verified by its b32)"
like "$(grep -A1 '^C: RCPT TO:<someone@else.i2p>' <<<"$out")" 'S: 550 5\.7\.1' "(d) RCPT TO:<someone@else.i2p>: 550 5.7.1"
like "$(grep -A1 '^C: RCPT TO:<alice@alice.i2p>' <<<"$out")" 'S: 550 5\.7\.1' "(d) RCPT TO:<alice@alice.i2p> (another site): 550 5.7.1, no relay"
like "$(grep -A1 '^C: RCPT TO:<postmaster@' <<<"$out")" 'S: 550 5\.7\.1' "(d) a recipient at Alice's b32: 550 5.7.1"
like "$(grep -A1 '^C: DATA' <<<"$out")" 'S: 5[0-9][0-9] ' "(d) DATA without a recipient refused"
sleep 1
empty_queue bob
ok $? "(d) nothing queued on Bob's side"
is "$(logcount bob runner ' new id=')" "$runner_new" "(d) Bob's runner got nothing new"
is "$(flow_count alice) $(flow_count bob)" "$NA $NB" "(d) no mail delivered anywhere"

# ---- (f) Bob's server down; router A restarted meanwhile ----
s6-svc -d "$B/service/samaccept"
s6-svwait -d -t 10000 "$B/service/samaccept"
ok $? "(f) Bob's samaccept stopped (s6-svc -d)"
printf 'Bob, are you there?\n' >"$W/body-f"
lines=$(loglines alice runner)
out=$(flow_send alice bob@bob.i2p "flow f: while bob is down" "$W/body-f")
like "$out" '<[-~]  250 2\.0\.0 ok' "(f) Alice's message accepted by her smtpd"
ID=$(newid alice "$lines" alice@alice.i2p)
flow_until 40 grep -q "delivery id=$ID rcpt=bob@bob.i2p result=defer" "$(flow_log alice runner)"
ok $? "(f) Alice's runner defers it (queue id $ID): $(grep -o "delivery id=$ID rcpt=bob@bob.i2p result=defer reason=.*" "$(flow_log alice runner)" | head -1 | cut -d'"' -f2)" ||
	flow_show alice runner
[ -e "$A/queue/mess/$ID" ]; ok $? "(f) it waits in Alice's queue"
is "$(flow_count bob)" "$NB" "(f) Bob has nothing new"
# Router A crashes (SIGKILL) and comes back; Bob's server comes back meanwhile.
sessions=$(logcount alice samaccept 'e2e-samaccept: session id=')
t=$(flow_now_ms)
flow_router_restart A
ok $? "(f) router A killed (SIGKILL) and started again"
s6-svc -u "$B/service/samaccept"
flow_until 10 exited111 "$A/service/samaccept"
ok $? "(f) Alice's e2e-samaccept exits 111 when its router goes (s6-svstat: down, exit code 111)" || flow_show alice samaccept
like "$(flow_logof alice samaccept)" "e2e-samaccept: session lost: " "(f) ... logged: $(grep -o 'session lost: .*' "$(flow_log alice samaccept)" | tail -1)"
flow_until 90 more alice samaccept 'e2e-samaccept: session id=' "$sessions"
ok $? "(f) the supervisor starts it again until the router answers: a new session ($(flow_since "$t") ms after the crash)" ||
	flow_show alice samaccept 30
flow_ready alice 30 && flow_ready bob 60
ok $? "(f) both trees ready again" || { flow_show alice samaccept; flow_show bob samaccept; }
# The runner's retries of it come 1, 2, 4 ... s apart (E2E_RETRY=1, each
# step +-10 %): the 7th about 63 s after the first deferral, the 8th about
# 127 s. One that fails while router A still builds its tunnels puts the
# next up to ~140 s away: the wait covers that step.
flow_wait_count bob $((NB + 1)) 150
ok $? "(f) the queued message arrives once Bob's server is back ($(flow_since "$t") ms after the crash)" || {
	flow_show alice runner 30; flow_show bob samaccept
}
flow_until 10 empty_queue alice
ok $? "(f) Alice's queue is empty"
sleep 2
is "$(flow_count bob)" "$((NB + 1))" "(f) ... delivered exactly once"
is "$(grep -c "delivery id=$ID rcpt=bob@bob.i2p result=ok" "$(flow_log alice runner)")" 1 "(f) one successful delivery in Alice's log, after $(grep -c "delivery id=$ID rcpt=bob@bob.i2p result=defer" "$(flow_log alice runner)") deferrals"
NB=$((NB + 1))
printf 'Alice, back again.\n' >"$W/body-f2"
t=$(flow_now_ms)
out=$(flow_send bob alice@alice.i2p "flow f: after the restart" "$W/body-f2")
flow_wait_count alice $((NA + 1)) 60
ok $? "(f) mail flows to the restarted router: Bob -> Alice ($(flow_since "$t") ms)" || { flow_show bob runner; flow_show alice samaccept; }
NA=$((NA + 1))
t=$(flow_now_ms)
out=$(flow_send alice bob@bob.i2p "flow f: from the restarted router" "$W/body-f2")
flow_wait_count bob $((NB + 1)) 60
ok $? "(f) ... and from it: Alice -> Bob ($(flow_since "$t") ms)" || flow_show alice runner
NB=$((NB + 1))

# ---- (e) Bob's eepsite down ----
C=$A/cache/bob.i2p
[ -f "$C" ]; ok $? "(e) Alice's cache holds bob.i2p's key from the first lookup"
now=$(date +%s)
# rewritten in place (not sed -i): the entry keeps its owner, the runner's account
sed "s/^fetched .*/fetched $((now - 90000))/; s/^expires .*/expires $((now - 3600))/" "$C" >"$W/cache.tmp" &&
	cat "$W/cache.tmp" >"$C"
flow_web_stop bob
ok $? "(e) Bob's web server stopped (the eepsite is down; cache entry expired)"
t=$(flow_now_ms)
out=$(flow_send alice bob@bob.i2p "flow e: stale cache" "$W/body-f2")
flow_wait_count bob $((NB + 1)) 60
ok $? "(e) delivered from the stale cached key ($(flow_since "$t") ms)" || flow_show alice runner
NB=$((NB + 1))
like "$(flow_logof alice runner)" "e2e-resolve: warning: host=bob\.i2p result=found via=stale dest=$BOB_B32" \
	"(e) ... e2e-resolve warned: via=stale"

# (c) a b32 domain needs no website: Bob's site is down, no cache entry
rm -f "$C"
t=$(flow_now_ms)
out=$(flow_send alice "bob@$BOB_B32" "flow c: to the b32" "$W/body-f2")
like "$out" '<[-~]  250 2\.0\.0 ok' "(c) bob@<bob's b32>.b32.i2p accepted by Alice's smtpd"
flow_wait_count bob $((NB + 1)) 60
ok $? "(c) it arrives without any website (site down, no cache) ($(flow_since "$t") ms)" || flow_show alice runner
NB=$((NB + 1))
[ ! -e "$C" ]; ok $? "(c) ... and nothing was fetched for bob.i2p"
flow_pop bob "$W/pop-bob2" >/dev/null 2>&1
like "$(header "$(eml "$W/pop-bob2" "flow c: to the b32")")" "^Delivered-To: bob@$BOB_B32$" "(c) Delivered-To: bob@<b32>"

# no cache and no site: a delay notice, then a bounce
flow_set alice E2E_WARN 3
flow_set alice E2E_LIFETIME 20
pid=$(s6-svstat -o pid "$A/service/runner")
s6-svc -r "$A/service/runner"
flow_until 70 restarted "$A/service/runner" "$pid" && s6-svwait -U -t 10000 "$A/service/runner"
ok $? "(e) Alice's runner restarted (s6-svc -r) with E2E_WARN=3 and E2E_LIFETIME=20"
t=$(flow_now_ms)
out=$(flow_send alice bob@bob.i2p "flow e: nobody home" "$W/body-f2")
flow_wait_count alice $((NA + 1)) 30
ok $? "(e) no cache and no site: the message waits, and a delay notice reaches Alice ($(flow_since "$t") ms)" || flow_show alice runner 30
flow_wait_count alice $((NA + 2)) 45
ok $? "(e) ... then a bounce, after E2E_LIFETIME ($(flow_since "$t") ms)" || flow_show alice runner 30
flow_pop alice "$W/pop-alice2" >/dev/null 2>&1
NOTICE=$(grep -l '^Action: delayed' "$W"/pop-alice2/*.eml | head -1)
BOUNCE=$(grep -l '^Action: failed' "$W"/pop-alice2/*.eml | head -1)
[ -n "$NOTICE" ] && grep -q '^Final-Recipient: rfc822; *bob@bob\.i2p' "$NOTICE" && grep -q '^Subject: Delayed Mail' "$NOTICE"
ok $? "(e) the delay notice: Delayed Mail, Action: delayed for bob@bob.i2p"
[ -n "$BOUNCE" ] && grep -q '^Final-Recipient: rfc822; *bob@bob\.i2p' "$BOUNCE" && grep -q '^Subject: Undelivered Mail' "$BOUNCE"
ok $? "(e) the bounce: Undelivered Mail, Action: failed for bob@bob.i2p"
like "$(grep -i '^Diagnostic-Code:' "$BOUNCE" 2>/dev/null)" 'bob\.i2p' "(e) ... with the resolver's reason: $(grep -i '^Diagnostic-Code:' "$BOUNCE" 2>/dev/null | cut -c1-120)"
grep -q 'Subject: flow e: nobody home' "$BOUNCE" 2>/dev/null
ok $? "(e) ... and the returned header names the message"
flow_until 10 empty_queue alice
ok $? "(e) Alice's queue is empty after the bounce"
is "$(flow_count bob)" "$NB" "(e) Bob never got it"

# ---- the end ----
empty_queue bob
ok $? "Bob's queue is empty"
unlike "$(cat "$A"/log/*/current "$B"/log/*/current)" 'AddressSanitizer|runtime error|segmentation|core dumped' "no crash in any log"
flow_stop_all
left=$(pgrep -af -- "$T_TMP")
is "$left" "" "everything stopped: no process left of this test"
diag "total $(flow_since "$T0") ms; submission-to-Maildir median ${MEDIAN:-?} ms"
done_testing
