#!/bin/bash
# mail.i2p and the clearnet through Postman's gateway (docs/postman.md),
# over the real private I2P network (tests/i2pnet.sh): a stand-in for
# smtp.postman.i2p (tests/postman/smtpd.py, AUTH PLAIN and LOGIN) runs
# under a real e2e-samaccept on router B, named smtp.postman.i2p in every
# router's address book. Alice (session on router A) routes mail.i2p and
# "*" (every domain outside .i2p) to it with "auth"; Bob (e2e-samaccept +
# e2e-smtpd + the real e2e-verify on router A) pins it in his routes.
#   - without a clearnet route: RCPT refused at submission (550 5.1.2),
#     the runner bounces, e2e-remote fails for good;
#   - no network: malformed routes lines (Z, naming the line), "*" never
#     serves .i2p, a host name that cannot be looked up (Z); through the
#     setuid copy, HOME/auth must be e2e-remote's, mode 600;
#   - joe@example.com and someone@mail.i2p submitted at Alice (swaks into
#     e2e-smtpd, e2e-queue, e2e-runner, e2e-remote): the stand-in gets
#     Alice's destination, AUTH PLAIN with HOME/auth's credentials, the
#     envelope and the message;
#   - AUTH LOGIN when only LOGIN is offered; wrong credentials: 535 -> D;
#     a 454 -> Z; no mechanism offered -> Z; no HOME/auth, or one readable
#     by others -> Z, logged, no connection;
#   - at Bob: joe@example.com from the Postman destination passes (route
#     "*" by host name), someone@mail.i2p too (pinned b32); the same sender
#     from Alice's destination gets 550 5.7.1.
# About 60 s (network 10-15 s, SESSION CREATE 20 s, in parallel).
# E2E_TEST_NOI2P=1 skips the network part.
. "$(dirname "$0")/lib.sh"

KEYS=$TOP/tests/i2p/keys
for p in e2e-remote e2e-verify e2e-resolve e2e-smtpd e2e-samaccept e2e-runner e2e-queue e2e-setup e2e-passwd; do
  [ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p not built (make)"; exit 1; }
done
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
wait_for() { local n=$1; shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
ALICE32=$(cat "$KEYS/ed25519-2.b32") PM32=$(cat "$KEYS/ed25519-1.b32") BOB32=$(cat "$KEYS/ed25519-x25519.b32")
A=$T_TMP/alice PD=$T_TMP/postman BH=$T_TMP/bob CAP=$T_TMP/cap
mkdir -p "$PD" "$CAP"
ASAN_OPTIONS=detect_leaks=0 mkhome "$A" "$ALICE32" alice:secret >/dev/null 2>&1
ok $? "Alice's mail home"
MSG=$T_TMP/msg
printf 'From: alice@%s\nSubject: to the clearnet\n\n.a line with a dot\nbody tok-%s\n' "$ALICE32" "$$" > "$MSG"

# sub RCPT: one submission at Alice (e2e-smtpd on stdin, authenticated); the replies
sub() {
  printf 'EHLO client\r\nAUTH PLAIN %s\r\nMAIL FROM:<alice@%s>\r\nRCPT TO:<%s>\r\nQUIT\r\n' \
    "$(printf '\0alice\0secret' | base64)" "$ALICE32" "$1" |
    env PROTO=TCP E2E_HOME="$A" E2E_DOMAIN="$ALICE32" TCPREMOTEIP=127.0.0.1 E2E_QUEUE=/bin/false \
      e2e-smtpd 2>>"$T_TMP/sub.log" | tr -d '\r'
}
# ---- without a clearnet route: as before ----
like "$(sub joe@example.com)" $'\n550 5\\.1\\.2 no route' "no route: a clearnet RCPT is refused at submission (550 5.1.2)"
envelope() { printf 'F%s\0' "$1"; shift; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; }
E2E_HOME=$A e2e-queue < "$MSG" 1< <(envelope "alice@$ALICE32" joe@nowhere.example)
ok $? "no route: a message to joe@nowhere.example queued (past submission)"
RLOG=$T_TMP/runner.log
env E2E_HOME="$A" E2E_DOMAIN="$ALICE32" E2E_SAM=127.0.0.1:1 e2e-runner 2>>"$RLOG" & RPID=$!; bg_pid $RPID
wait_for 100 grep -q 'rcpt=joe@nowhere.example result=' "$RLOG"
like "$(grep 'rcpt=joe@nowhere.example' "$RLOG")" 'no route to this domain \(#5\.1\.2\)' "no route: the runner fails it for good (no route, 5.1.2)"
kill $RPID; wait $RPID 2>/dev/null

# the routes format, no network: e2e-remote with no bridge behind E2E_SAM
rem0() {
  OUT=$(env E2E_HOME="$A" E2E_DOMAIN="$ALICE32" E2E_SAM=127.0.0.1:1 E2E_REMOTE_RESOLVE=5 \
        e2e-remote "$1" "alice@$ALICE32" "$2" < "$MSG" 2>"$T_TMP/rem.err")
  ERR=$(cat "$T_TMP/rem.err")
}
badroute() {   # badroute TEXT LINE REASON-REGEX NAME
  printf '%b' "$1" > "$A/routes"
  rem0 example.com joe@example.com
  like "$OUT" "^Z malformed $A/routes line $2: $3" "malformed routes ($4): Z, naming the line and why"
}
badroute '* smtp.example.com auth\n' 1 'malformed destination or host name' "a host name outside .i2p"
badroute "* $(printf 'a%.0s' $(seq 56)).b32.i2p\n" 1 'malformed destination or host name' "a 56-character b32"
badroute 'example.com smtp.postman.i2p authx\n' 1 'trailing text' "a third word other than auth"
badroute 'example.com smtp.postman.i2p auth more\n' 1 'trailing text' "a fourth word"
badroute '* smtp.postman.i2p\n*\tother.i2p\n' 2 '"\*" listed twice' "\"*\" twice"
badroute '** smtp.postman.i2p\n' 1 'malformed domain' "**"
badroute 'example.com smtp.postman.i2p:0\n' 1 'port not in' "port 0"
printf '* smtp.postman.i2p auth\n' > "$A/routes"
rem0 bob.i2p bob@bob.i2p
like "$ERR" 'resolve domain=bob.i2p' "\"*\" does not serve .i2p domains: bob.i2p goes to e2e-resolve"
unlike "$ERR" 'route domain=' "... and no route is logged"
rem0 example.com joe@example.com
like "$OUT" '^Z cannot look up smtp.postman.i2p: ' "a route's host name with no bridge to look it up: Z"
like "$ERR" 'route domain=example.com line=1 target=smtp.postman.i2p result=temp' "... logged"

# the setuid copy (the runner's way): HOME/auth must belong to e2e-remote
if [ "$(id -u)" = 0 ] && [ -u "$A/libexec/e2e-remote" ] && id e2e-remote >/dev/null 2>&1; then
  printf 'x.example %s auth\n' "$PM32" > "$A/routes"
  printf '%s alice s3cret\n' "$PM32" > "$A/auth"; chmod 644 "$A/auth"
  priv() {
    OUT=$(s6-setuidgid e2e-queue env E2E_HOME=/nonexistent E2E_DOMAIN="$ALICE32" E2E_SAM=127.0.0.1:1 E2E_REMOTE_CONNECT=3 \
          "$A/libexec/e2e-remote" x.example "alice@$ALICE32" joe@x.example < "$MSG" 2>/dev/null)
  }
  priv
  like "$OUT" "^Z cannot log in to $PM32: $A/auth must be a file of uid $(id -u e2e-remote) with mode 0600 \(it is uid 0, mode 0644\)" \
    "setuid e2e-remote: HOME/auth of root, mode 644, is refused (it must be e2e-remote's, 600)"
  chmod 600 "$A/auth"
  priv
  like "$OUT" "^Z cannot log in to $PM32: unable to open $A/auth: Permission denied" "... root's, mode 600: unreadable, saying so"
  chown e2e-remote "$A/auth"
  priv
  like "$OUT" "^Z cannot reach $PM32" "... owned by e2e-remote, mode 600: read (keyed by the b32 target), then on to connect"
  rm -f "$A/auth"
else
  # no setuid copies (not root, or a sanitizer build): nothing of theirs to check
  diag "no setuid copy of e2e-remote here (not root, or a sanitizer build): its HOME/auth checks left out"
fi

# Alice's routes and credentials
printf '# Postman: mail.i2p and the clearnet\nmail.i2p smtp.postman.i2p auth\n*  smtp.postman.i2p auth\n' > "$A/routes"
printf '# host user password\nsmtp.postman.i2p alice s3cret pass phrase\n' > "$A/auth"; chmod 600 "$A/auth"
printf 'alice s3cret pass phrase\n' > "$PD/creds"
like "$(sub joe@example.com)" $'\n250 2\\.1\\.5' "with a route \"*\": a clearnet RCPT is accepted at submission"
like "$(sub joe@bob.i2p)" $'\n250 2\\.1\\.5' "... an I2P one as before"

if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then diag "real I2P network skipped (E2E_TEST_NOI2P=1)"; done_testing; exit; fi
# ---- the network ----
NET=$T_TMP/net; mkdir -p "$NET"
"$TOP/tests/i2pnet.sh" host "$NET" smtp.postman.i2p ed25519-1
t=$(ms)
E2E_TEST_WATCHPID=$$ "$TOP/tests/i2pnet.sh" start "$NET" > "$T_TMP/net.log" 2>&1
ok $? "i2pnet started ($(($(ms) - t)) ms)" || { sed 's/^/# /' "$T_TMP/net.log"; done_testing; exit; }
trap '"$TOP/tests/i2pnet.sh" stop "$NET" >/dev/null 2>&1; t_cleanup' EXIT
. "$NET/env"
# Alice's session (A), the stand-in Postman (B), Bob's server (A): in parallel
"$PY" "$TOP/tests/i2p/samtool.py" --timeout 90 session "$SAM_A" alicemail ed25519-2 $SAM_OPTIONS \
  > "$T_TMP/alice.pub" 2>"$T_TMP/alice.err" & sa=$!; bg_pid $sa
PH=$T_TMP/pmhome; mkdir -p "$PH"; cp "$KEYS/ed25519-1.priv" "$PH/key"; chmod 600 "$PH/key"
env E2E_HOME="$PH" E2E_SAM="$SAM_B" E2E_SAM_ID=postman E2E_SAM_OPTIONS="$SAM_OPTIONS" \
  e2e-samaccept -d 3 -t 90 "$PY" "$TOP/tests/postman/smtpd.py" "$PD" 3>"$T_TMP/pmready" 2>"$T_TMP/pm.log" & sp=$!; bg_pid $sp
ASAN_OPTIONS=detect_leaks=0 mkhome "$BH" "$BOB32" bob:secret >/dev/null 2>&1
cp "$KEYS/ed25519-x25519.priv" "$BH/key"; chmod 600 "$BH/key"
printf '* smtp.postman.i2p\nmail.i2p %s\n' "$PM32" > "$BH/routes"
printf '#!/bin/sh\nn=$(date +%%s%%N)\ncat > "%s/msg.$n"\ncat <&1 > "%s/env.$n"\nexit 0\n' "$CAP" "$CAP" > "$T_TMP/capture"
chmod +x "$T_TMP/capture"
env E2E_HOME="$BH" E2E_DOMAIN="$BOB32" E2E_SAM="$SAM_A" E2E_SAM_ID=bobmail E2E_SAM_OPTIONS="$SAM_OPTIONS" \
  E2E_QUEUE="$T_TMP/capture" e2e-samaccept -d 3 -t 90 e2e-smtpd 3>"$T_TMP/bobready" 2>"$T_TMP/bob.log" & sb=$!; bg_pid $sb
up() { [ -s "$T_TMP/alice.pub" ] && [ -s "$T_TMP/pmready" ] && [ -s "$T_TMP/bobready" ]; }
wait_for 900 up
ok $? "sessions up: Alice, the stand-in Postman, Bob ($(($(ms) - t)) ms since the start)"

# ---- Alice -> Postman: submission, queue, runner, e2e-remote ----
t=$(ms)
SP=$(free_port)
env E2E_HOME="$A" E2E_DOMAIN="$ALICE32" tcpserver -q 127.0.0.1 "$SP" e2e-smtpd 2>>"$T_TMP/sub.log" & st=$!; bg_pid $st
wait_for 50 bash -c "exec 9<>/dev/tcp/127.0.0.1/$SP" 2>/dev/null
swaks --silent 2 --server "127.0.0.1:$SP" \
  --auth PLAIN --auth-user alice --auth-password secret --from "alice@$ALICE32" \
  --to joe@example.com,someone@mail.i2p --data "@$MSG" > "$T_TMP/swaks.out" 2>&1
ok $? "swaks submitted to joe@example.com and someone@mail.i2p at Alice" || sed 's/^/# /' "$T_TMP/swaks.out"
RLOG=$T_TMP/runner2.log
env E2E_HOME="$A" E2E_DOMAIN="$ALICE32" E2E_SAM="$SAM_A" E2E_SAM_ID=alicemail e2e-runner 2>>"$RLOG" & RPID=$!; bg_pid $RPID
ndata() { grep -c ' data ' "$PD/log" 2>/dev/null; }
two() { [ "$(ndata)" = 2 ] && [ "$(grep -c 'rcpt=.* result=' "$RLOG")" -ge 2 ]; }
wait_for 900 two
ok $? "both reached the stand-in Postman server through the runner ($(($(ms) - t)) ms)"
L=$(cat "$PD/log" 2>/dev/null)
like "$L" "peer $ALICE32" "the stand-in saw Alice's destination"
is "$(grep -c ' auth PLAIN alice s3cret pass phrase ok' <<<"$L")" 2 "AUTH PLAIN with HOME/auth's user and password (a blank in it), once per delivery"
is "$(grep -c " mail <alice@$ALICE32>" <<<"$L")" 2 "MAIL FROM: Alice's address"
like "$L" ' rcpt <joe@example.com>' "RCPT TO:<joe@example.com>"
like "$L" ' rcpt <someone@mail.i2p>' "RCPT TO:<someone@mail.i2p>"
f=$(ls "$PD"/msg.* 2>/dev/null | head -1)
like "$(tr -d '\r' < "$f" 2>/dev/null)" "^\.a line with a dot$" "the message arrived, dots unstuffed on the way"
like "$(cat "$RLOG")" 'rcpt=joe@example.com result=ok' "runner: joe@example.com delivered"
like "$(cat "$RLOG")" 'rcpt=someone@mail.i2p result=ok' "runner: someone@mail.i2p delivered"
like "$(cat "$RLOG")" "e2e-remote: route domain=example.com line=3 target=smtp.postman.i2p peer=$PM32 port=0 auth=yes" \
  "e2e-remote logs the route: the \"*\" line, the looked-up host, auth"
kill $RPID $st; wait $RPID $st 2>/dev/null

# rem DOMAIN RCPT: e2e-remote from Alice; OUT, ERR
rem() {
  OUT=$(env E2E_HOME="$A" E2E_DOMAIN="$ALICE32" E2E_SAM="$SAM_A" E2E_SAM_ID=alicemail \
        e2e-remote "$1" "alice@$ALICE32" "$2" < "$MSG" 2>"$T_TMP/rem.err")
  ERR=$(cat "$T_TMP/rem.err")
}
echo LOGIN > "$PD/mechs"
rem example.com joe@example.com
like "$OUT" '^K ' "only LOGIN offered: delivered"
like "$(tail -5 "$PD/log")" ' auth LOGIN alice s3cret pass phrase ok' "... with AUTH LOGIN"
rm "$PD/mechs"
printf 'smtp.postman.i2p alice wrong\n' > "$A/auth"
rem example.com joe@example.com
like "$OUT" '^D .*refused our login as alice: 535 5\.7\.8' "wrong password: the stand-in's 535 fails it for good (D)"
like "$(tail -3 "$PD/log")" ' auth PLAIN alice wrong bad' "... the stand-in saw the wrong password"
unlike "$ERR" 'wrong' "... the password is not logged"
echo '454 4.7.0 temporary authentication failure' > "$PD/authreply"
rem example.com joe@example.com
like "$OUT" '^Z .*refused our login as alice: 454 4\.7\.0' "a 454 to AUTH: tried again later (Z)"
rm "$PD/authreply"
printf '' > "$PD/mechs"
rem example.com joe@example.com
like "$OUT" '^Z .*offers no AUTH PLAIN or LOGIN' "no AUTH offered: Z"
rm "$PD/mechs"
n0=$(grep -c ' peer ' "$PD/log")
rm "$A/auth"
rem example.com joe@example.com
like "$OUT" "^Z cannot log in to smtp.postman.i2p: no credentials: $A/auth is missing" "no HOME/auth: Z, saying so"
like "$ERR" 'auth domain=example.com target=smtp.postman.i2p result=none' "... logged"
printf 'smtp.postman.i2p alice s3cret pass phrase\n' > "$A/auth"; chmod 640 "$A/auth"
rem mail.i2p someone@mail.i2p
like "$OUT" "^Z .*must be a file of uid [0-9]+ with mode 0600 \(it is uid [0-9]+, mode 0640\)" "HOME/auth readable by the group: Z, saying so"
is "$(grep -c ' peer ' "$PD/log")" "$n0" "... and neither made a connection"
chmod 600 "$A/auth"
grep -v '^\*' "$A/routes" > "$T_TMP/r" && cat "$T_TMP/r" > "$A/routes"
rem example.com joe@example.com
like "$OUT" '^D no mail server published for example.com: .*no route' "route \"*\" removed: a clearnet recipient fails for good, as before"
rem mail.i2p someone@mail.i2p
like "$OUT" '^K ' "... mail.i2p's own line still delivers"

# ---- at Bob: mail from Postman's gateway verifies against the pinned route ----
# fromp SENDER: e2e-remote through the stand-in's session (Postman's destination)
fromp() {
  OUT=$(env E2E_HOME="$PH" E2E_DOMAIN=smtp.postman.i2p E2E_SAM="$SAM_B" E2E_SAM_ID=postman \
        e2e-remote "$BOB32" "$1" "bob@$BOB32" < "$MSG" 2>"$T_TMP/rem.err")
}
fromp joe@example.com
like "$OUT" '^K ' "from Postman's destination, joe@example.com: accepted at Bob"
like "$(cat "$T_TMP/bob.log")" "e2e-verify: from=joe@example.com peer=$PM32 result=pass published=$PM32 via=route-default" \
  "... e2e-verify passed it by the \"*\" route (smtp.postman.i2p looked up)"
like "$(cat "$CAP"/msg.* 2>/dev/null)" "Authentication-Results: $BOB32; e2e=pass smtp.mailfrom=joe@example.com" "... Authentication-Results: pass"
fromp someone@mail.i2p
like "$OUT" '^K ' "from Postman's destination, someone@mail.i2p: accepted (pinned b32 route)"
like "$(cat "$T_TMP/bob.log")" "from=someone@mail.i2p peer=$PM32 result=pass published=$PM32 via=route" "... by mail.i2p's own line"
rem "$BOB32" "bob@$BOB32"
like "$OUT" '^K ' "Alice's own mail to Bob still passes"
OUT=$(env E2E_HOME="$PH" E2E_DOMAIN="$ALICE32" E2E_SAM="$SAM_A" E2E_SAM_ID=alicemail \
      e2e-remote "$BOB32" joe@example.com "bob@$BOB32" < "$MSG" 2>"$T_TMP/rem.err")
like "$OUT" '^D .*550 5\.7\.1' "from Alice's destination claiming joe@example.com: 550 5.7.1"
like "$(cat "$T_TMP/bob.log")" "from=joe@example.com peer=$ALICE32 result=fail published=$PM32 via=route-default" "... e2e-verify says why"

kill $sa $sp $sb 2>/dev/null; wait $sa $sp $sb 2>/dev/null
"$TOP/tests/i2pnet.sh" stop "$NET" >/dev/null 2>&1
done_testing
