#!/bin/bash
# e2e-smtpd: scripted SMTP conversations straight on fds 0/1, for every
# reply path, with the effects checked in what a stand-in E2E_QUEUE (and
# once the real e2e-queue) received.
. "$(dirname "$0")/lib.sh"

for p in e2e-smtpd e2e-setup e2e-passwd; do
  [ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done

H=$T_TMP/home CAP=$T_TMP/cap LOG=$T_TMP/log
B32=abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst.b32.i2p
mkhome "$H" alice.i2p alice:secret bob:hunter2 || { echo "Bail out! cannot make a mail home"; exit 1; }

# A stand-in for e2e-queue: keeps message N, envelope N and its pid N in $CAPDIR,
# then exits with $CAPCODE (or: "early" exits at once without reading,
# "crash" kills itself, "hang" never exits). No envelope: nothing queued, exit 111.
cat > "$T_TMP/capture" <<'EOF'
#!/bin/sh
n=$(( $(cat "$CAPDIR/count" 2>/dev/null || echo 0) + 1 ))
echo $n > "$CAPDIR/count"
echo $$ > "$CAPDIR/pid.$n"
[ "${CAPCODE:-0}" = early ] && exit 0
cat > "$CAPDIR/msg.$n"
cat <&1 > "$CAPDIR/env.$n"
[ "${CAPCODE:-0}" = crash ] && kill -9 $$
[ "${CAPCODE:-0}" = hang ] && exec sleep 30
[ -s "$CAPDIR/env.$n" ] || exit 111
exit "${CAPCODE:-0}"
EOF
# The documented replacement for e2e-verify: decides by the domain.
cat > "$T_TMP/verify" <<'EOF'
#!/bin/sh
printf '%s %s\n' "$1" "${SAMREMOTEB32:-}" >> "$CAPDIR/verify.log"
case $1 in
  *@good.i2p) exit 0 ;;
  *@spoof.i2p) exit 100 ;;
  *@slow.i2p) exec sleep 30 ;;
  *) exit 111 ;;
esac
EOF
chmod +x "$T_TMP/capture" "$T_TMP/verify"

# smtp INPUT [VAR=VALUE...]: one session on INPUT (printf %b escapes, all
# of it available at once, so commands arrive pipelined); replies without
# CR on stdout, stderr in $LOG, exit code in $T_TMP/rc. $CAP starts empty.
smtp() {
  local in=$1; shift
  rm -rf "$CAP"; mkdir -p "$CAP"
  printf '%b' "$in" > "$T_TMP/in"
  env PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=alice.i2p TCPREMOTEIP=127.0.0.1 \
    E2E_QUEUE="${QUEUE-$T_TMP/capture}" CAPDIR="$CAP" "$@" \
    e2e-smtpd < "$T_TMP/in" > "$T_TMP/out" 2> "$LOG"
  echo $? > "$T_TMP/rc"
  tr -d '\r' < "$T_TMP/out"
}
sam() { local in=$1; shift; smtp "$in" PROTO=SAM SAMREMOTEB32=$B32 SAMREMOTEDEST=fakedest E2E_VERIFY="$T_TMP/verify" "$@"; }
# slow CLIENT [VAR=VALUE...]: the client is a function writing with pauses;
# the server's end time (ns) lands in $T_TMP/end.
slow() {
  local f=$1; shift
  rm -rf "$CAP"; mkdir -p "$CAP"
  $f | { env PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_QUEUE="$T_TMP/capture" CAPDIR="$CAP" "$@" \
           e2e-smtpd 2> "$LOG"; echo $? > "$T_TMP/rc"; date +%s%N > "$T_TMP/end"; } | tr -d '\r'
}
codes() { grep -E '^[0-9]{3}( |$)' | cut -c1-3 | tr '\n' ' ' | sed 's/ $//'; }
rc() { cat "$T_TMP/rc"; }
queued() { local n=0 f; for f in "$CAP"/env.*; do [ -s "$f" ] && n=$((n + 1)); done; echo $n; }
started() { cat "$CAP/count" 2>/dev/null || echo 0; }
envof() { tr '\0' '|' < "$CAP/env.$1"; }
b64() { printf '%b' "$1" | base64 -w0; }
xs() { head -c "$1" /dev/zero | tr '\0' "${2:-x}"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

EHLO='EHLO client.example\r\n'
AUTH="AUTH PLAIN $(b64 '\0alice\0secret')\r\n"
MAIL='MAIL FROM:<alice@alice.i2p>\r\n'
RCPT='RCPT TO:<bob@alice.i2p>\r\n'
HEAD="$EHLO$AUTH$MAIL$RCPT"
SHORT='DATA\r\nSubject: short\r\n\r\nhello\r\n.\r\n'

# ---- greeting and EHLO ----
r=$(smtp "${EHLO}QUIT\r\n")
like "$r" '^220 alice\.i2p ESMTP' "greeting names our domain"
for ext in PIPELINING 8BITMIME 'SIZE 10485760' ENHANCEDSTATUSCODES 'AUTH PLAIN LOGIN'; do
  like "$r" "^250[- ]$ext\$" "EHLO over TCP advertises $ext"
done
is "$(codes <<<"$r")" "220 250 221" "EHLO then QUIT"
like "$r" '^221 2\.0\.0 ' "QUIT: 221 2.0.0"
is "$(rc)" 0 "exit 0 after QUIT"
is "$(grep -c $'\r$' "$T_TMP/out")" "$(wc -l < "$T_TMP/out")" "every reply line ends in CRLF"
r=$(smtp "${EHLO}QUIT\r\n" E2E_MAXSIZE=5000)
like "$r" '^250-SIZE 5000$' "SIZE shows E2E_MAXSIZE"
r=$(smtp 'HELO client.example\r\nQUIT\r\n')
is "$r" $'220 alice.i2p ESMTP e2e\n250 alice.i2p\n221 2.0.0 alice.i2p closing connection' "HELO: one line, no extensions"
r=$(smtp 'EHLO\r\nHELO\r\nQUIT\r\n')
is "$(codes <<<"$r")" "220 501 501 221" "EHLO and HELO without a domain: 501"
r=$(smtp 'ehlo x\r\nnoop\r\nquit\r\n')
is "$(codes <<<"$r")" "220 250 250 221" "commands are case-insensitive"

# ---- a whole submission, and what the queue got ----
BODY='Subject: dots\r\nX-A: 1\r\n\r\nline one\r\n..leading dot\r\n..\r\n...\r\n.x\r\n8bit: \xc3\xa9t\xc3\xa9\r\n\tindented\r\n\r\n'
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<bob@alice.i2p>\r\nRCPT TO:<carol@bob.i2p>\r\nDATA\r\n$BODY.\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 250 250 354 250 221" "submission: every reply"
like "$r" '^235 2\.7\.0 ' "AUTH PLAIN: 235 2.7.0"
like "$r" '^250 2\.1\.0 ' "MAIL: 250 2.1.0"
like "$r" '^250 2\.1\.5 ' "RCPT: 250 2.1.5"
like "$r" '^354 ' "DATA: 354"
id=$(sed -n 's/^250 2\.0\.0 ok \(.*\)$/\1/p' <<<"$r")
like "$id" '^[0-9]+\.M[0-9]+P[0-9]+' "250 2.0.0 ok names the message id"
is "$(started) $(queued)" "1 1" "the queue ran once and got an envelope"
is "$(envof 1)" "Falice@alice.i2p|Tbob@alice.i2p|Tcarol@bob.i2p||" "envelope: sender and both recipients, qmail-queue format"
M=$CAP/msg.1
is "$(sed -n 1p "$M")" "Received: from client.example (127.0.0.1)" "Received names the HELO and TCPREMOTEIP"
is "$(sed -n 2p "$M")" $'\t'"by alice.i2p (e2e) with ESMTPA id $id;" "Received: by our domain, ESMTPA, the id"
like "$(sed -n 3p "$M")" $'^\t(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) 20[0-9]{2} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] \+0000$' "Received: RFC 5322 date in UTC"
printf 'Subject: dots\nX-A: 1\n\nline one\n.leading dot\n.\n..\nx\n8bit: \xc3\xa9t\xc3\xa9\n\tindented\n\n' > "$T_TMP/want"
tail -n +4 "$M" | cmp -s - "$T_TMP/want"; ok $? "message: LF line ends, dot-unstuffed, 8-bit intact, byte for byte"
! grep -q $'\r' "$M"; ok $? "no CR reaches the queue"
like "$(cat "$LOG")" 'start proto=TCP remote=127\.0\.0\.1' "log: session start with the peer"
like "$(cat "$LOG")" 'auth mech=plain user=alice result=ok' "log: auth event"
like "$(cat "$LOG")" "message id=$id from=<alice@alice.i2p> rcpts=2 size=[0-9]+ result=queued qp=$(cat "$CAP/pid.1")\$" "log: message event with key=value fields, the queue program's pid last (qp)"
is "$(grep -vc '^e2e-smtpd: ' "$LOG")" 0 "log: every line is the program's"
! grep -qi -e secret -e "$(b64 '\0alice\0secret')" -e hello "$LOG"; ok $? "log: no password, no body"
# The same text arriving in pieces that split a line, a CR from its LF, a
# stuffed dot from the rest of its line (a piece starts with "..", another
# is "." alone), a 998-octet line, and the final dot from its CRLF: the
# text is taken a run at a time, and each cut starts a run elsewhere.
c_pieces() {
  local p
  printf "$EHLO$AUTH${MAIL}RCPT TO:<bob@alice.i2p>\r\nDATA\r\n"; sleep 0.1
  for p in 'Subject: dots\r\nX-A: 1\r\n\r\nline o' 'ne\r' '\n' '..leading dot\r\n..\r\n' '.' '..\r\n.x\r\n8bit: \xc3\xa9t' \
           '\xc3\xa9\r\n\tindented\r\n\r\n'"$(xs 500 z)" "$(xs 498 z)"'\r\n.' '\r\nQUIT\r\n'; do
    printf "$p"; sleep 0.1
  done
}
r=$(slow c_pieces)
is "$(codes <<<"$r")" "220 250 235 250 250 354 250 221" "a message in pieces: accepted"
{ cat "$T_TMP/want"; xs 998 z; echo; } > "$T_TMP/want2"
tail -n +4 "$CAP/msg.1" | cmp -s - "$T_TMP/want2"; ok $? "... byte for byte as if in one piece"
c_longpieces() {
  printf "$EHLO$AUTH${MAIL}RCPT TO:<bob@alice.i2p>\r\nDATA\r\n"; sleep 0.1
  printf "$(xs 600)"; sleep 0.1; printf "$(xs 2000)"'\r\n.\r\nQUIT\r\n'
}
r=$(slow c_longpieces)
is "$(codes <<<"$r") $(queued)" "220 250 235 250 250 354 554 221 0" "a 2,600-octet line in two pieces: refused, not queued"

# ---- AUTH ----
r=$(smtp "${EHLO}AUTH PLAIN\r\n$(b64 '\0alice\0secret')\r\n${MAIL}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 334 235 250 221" "AUTH PLAIN two-step"
grep -qx $'334 \r' "$T_TMP/out"; ok $? "two-step PLAIN prompts with '334 '"
r=$(smtp "${EHLO}AUTH LOGIN\r\n$(b64 alice)\r\n$(b64 secret)\r\n${MAIL}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 334 334 235 250 221" "AUTH LOGIN"
like "$r" '^334 VXNlcm5hbWU6$' "LOGIN asks Username:"
like "$r" '^334 UGFzc3dvcmQ6$' "LOGIN asks Password:"
r=$(smtp "${EHLO}AUTH LOGIN $(b64 alice)\r\n$(b64 secret)\r\n${MAIL}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 334 235 250 221" "AUTH LOGIN with the user name on the command line"
r=$(smtp "${EHLO}AUTH PLAIN $(b64 '\0alice@alice.i2p\0secret')\r\n${MAIL}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 221" "AUTH as user@our-domain"
r=$(smtp "${EHLO}AUTH PLAIN $(b64 'alice\0alice\0secret')\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 221" "AUTH PLAIN with authzid equal to the user"
r=$(smtp "${EHLO}auth plain $(b64 '\0ALICE\0secret')\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 221" "user names are case-insensitive"
t0=$(ms)
r=$(smtp "${EHLO}AUTH PLAIN $(b64 '\0alice\0wrong')\r\n${MAIL}QUIT\r\n")
t1=$(ms)
is "$(codes <<<"$r")" "220 250 535 530 221" "wrong password: 535, still unauthenticated (530)"
like "$r" '^535 5\.7\.8 ' "wrong password: 535 5.7.8"
ok $(( t1 - t0 >= 1000 ? 0 : 1 )) "wrong password answered after a delay ($((t1 - t0)) ms)"
like "$(cat "$LOG")" 'auth mech=plain user=alice result=fail' "log: failed auth"
! grep -q wrong "$LOG"; ok $? "log: the wrong password is not logged"
r=$(smtp "${EHLO}AUTH LOGIN\r\n$(b64 nosuchuser)\r\n$(b64 secret)\r\nQUIT\r\n")
like "$r" '^535 5\.7\.8 ' "unknown user: 535 5.7.8"
r=$(smtp "${EHLO}AUTH PLAIN $(b64 '\0alice@evil.i2p\0secret')\r\nQUIT\r\n")
like "$r" '^535 5\.7\.8 ' "user@foreign-domain: 535"
r=$(smtp "${EHLO}AUTH PLAIN $(b64 'bob\0alice\0secret')\r\nQUIT\r\n")
like "$r" '^535 5\.7\.8 ' "authzid other than the user: 535"
r=$(smtp "${EHLO}AUTH LOGIN $(b64 'a\x1b[2Jb\tc')\r\n$(b64 x)\r\nQUIT\r\n")
like "$(cat "$LOG")" 'user=a\?\[2jb\?c result=fail' "log: attacker's user name made safe"
r=$(smtp "${EHLO}AUTH PLAIN\r\n*\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 334 501 221" "AUTH cancelled with *: 501"
like "$r" '^501 5\.0\.0 ' "cancel: 501 5.0.0"
r=$(smtp "${EHLO}AUTH PLAIN !!!!\r\nAUTH PLAIN AGFsaWNl\r\nAUTH PLAIN YQ=\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 501 501 501 221" "malformed PLAIN responses: 501"
like "$r" '^501 5\.5\.2 malformed base64' "bad base64: 501 5.5.2"
r=$(smtp "${EHLO}AUTH CRAM-MD5\r\nAUTH\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 504 504 221" "unknown mechanism: 504"
like "$r" '^504 5\.5\.4 ' "unknown mechanism: 504 5.5.4"
r=$(smtp "${AUTH}HELO x\r\n${AUTH}QUIT\r\n")
is "$(codes <<<"$r")" "220 503 250 503 221" "AUTH before EHLO, or after HELO: 503"
r=$(smtp "$EHLO$AUTH${AUTH}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 503 221" "AUTH twice: 503"

# ---- MAIL over TCP: authentication and the user's own address ----
r=$(smtp "${EHLO}${MAIL}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 530 221" "MAIL before AUTH: 530"
like "$r" '^530 5\.7\.0 ' "MAIL before AUTH: 530 5.7.0"
r=$(smtp "${MAIL}QUIT\r\n")
like "$r" '^503 5\.5\.1 ' "MAIL before EHLO: 503 5.5.1"
# E2E_TRUSTUSER (set per client by tcprules): the client counts as that
# user without AUTH; the sender must still be the user's own address.
r=$(smtp "${EHLO}${MAIL}RCPT TO:<bob@alice.i2p>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\nQUIT\r\n" E2E_TRUSTUSER=alice)
is "$(codes <<<"$r")" "220 250 250 250 354 250 221" "E2E_TRUSTUSER=alice: MAIL without AUTH accepted, message queued"
is "$(queued)" 1 "E2E_TRUSTUSER: one message handed to the queue"
like "$(cat "$LOG")" 'trusted=alice' "E2E_TRUSTUSER: logged at start"
r=$(smtp "${EHLO}MAIL FROM:<bob@alice.i2p>\r\nQUIT\r\n" E2E_TRUSTUSER=alice)
like "$r" '^553 5\.7\.1 ' "E2E_TRUSTUSER=alice: bob's address refused (553 5.7.1)"
r=$(smtp "${EHLO}${AUTH}MAIL FROM:<alice@alice.i2p>\r\nQUIT\r\n" E2E_TRUSTUSER=bob)
is "$(codes <<<"$r")" "220 250 235 250 221" "E2E_TRUSTUSER=bob, AUTH as alice: AUTH wins"
r=$(smtp "${EHLO}QUIT\r\n" E2E_TRUSTUSER='../x'); RC=$(rc)
is "$RC" 100 "malformed E2E_TRUSTUSER: exit 100"
r=$(sam "${EHLO}MAIL FROM:<x@bob.i2p>\r\nQUIT\r\n" E2E_TRUSTUSER=alice)
unlike "$(cat "$LOG")" 'trusted=' "PROTO=SAM ignores E2E_TRUSTUSER"
for s in '<bob@alice.i2p>' '<alice@evil.i2p>' '<alice@bob.i2p>' '<>'; do
  r=$(smtp "$EHLO${AUTH}MAIL FROM:$s\r\nQUIT\r\n")
  like "$r" '^553 5\.7\.1 ' "sender $s is not alice's: 553 5.7.1"
done
echo other.i2p > "$H/domains"
r=$(smtp "$EHLO${AUTH}MAIL FROM:<alice@other.i2p>\r\nQUIT\r\n")
like "$r" '^250 2\.1\.0' "sender at a domain of HOME/domains: 250"
rm -f "$H/domains"
r=$(smtp "$EHLO${AUTH}MAIL FROM:<Alice@ALICE.I2P>\r\n$RCPT$SHORT")
is "$(codes <<<"$r")" "220 250 235 250 250 354 250" "sender in another case: accepted"
is "$(envof 1)" "Falice@alice.i2p|Tbob@alice.i2p||" "... and lower-cased in the envelope"
r=$(smtp "$EHLO${AUTH}MAIL FROM: <alice@alice.i2p> SIZE=1234 BODY=8BITMIME\r\nRSET\r\nMAIL FROM:<alice@alice.i2p> BODY=7BIT AUTH=<>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 250 250 221" "SusiMail's 'MAIL FROM: <x>', SIZE=, BODY=, AUTH="
r=$(smtp "$EHLO${AUTH}MAIL FROM:<alice@alice.i2p> FOO=bar\r\nMAIL FROM:<alice@alice.i2p> BODY=BINARYMIME\r\nMAIL FROM:<alice@alice.i2p> SIZE=12x\r\nMAIL TO:<alice@alice.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 555 555 501 501 221" "unknown parameters 555, malformed ones 501"
like "$r" '^555 5\.5\.4 ' "unknown parameter: 555 5.5.4"
like "$r" '^501 5\.5\.4 ' "malformed SIZE: 501 5.5.4"
r=$(smtp "$EHLO${AUTH}MAIL FROM:<alice@alice.i2p> SIZE=10485761\r\nMAIL FROM:<alice@alice.i2p> SIZE=10485760\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 552 250 221" "SIZE= over E2E_MAXSIZE: 552, then in sync"
like "$r" '^552 5\.3\.4 ' "SIZE= too big: 552 5.3.4"
r=$(smtp "$EHLO$AUTH$MAIL${MAIL}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 503 221" "nested MAIL: 503"

# ---- RCPT over TCP ----
echo "$B32" > "$H/b32"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<bob@alice.i2p>\r\nRCPT TO:<nobody@alice.i2p>\r\nRCPT TO:<postmaster@alice.i2p>\r\nRCPT TO:<postmaster>\r\nRCPT TO:<PostMaster>\r\nRCPT TO:<carol@bob.i2p>\r\nRCPT TO:<carol@example.com>\r\nRCPT TO:<BOB@Alice.I2P>\r\nRCPT TO:<alice@$B32>\r\n${SHORT}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 250 550 250 250 250 250 550 250 250 354 250 221" "recipients: local, unknown, postmaster, remote .i2p, no route"
like "$r" '^550 5\.1\.1 ' "unknown local user: 550 5.1.1"
like "$r" '^550 5\.1\.2 ' "non-.i2p domain: 550 5.1.2"
is "$(envof 1)" "Falice@alice.i2p|Tbob@alice.i2p|Tpostmaster@alice.i2p|Tpostmaster@alice.i2p|Tpostmaster@alice.i2p|Tcarol@bob.i2p|Tbob@alice.i2p|Talice@$B32||" "envelope: accepted recipients only, local ones lower-cased, <postmaster> completed"
rm -f "$H/b32"
like "$(cat "$LOG")" 'e2e-smtpd: pid=[0-9]+ rcpt from=<alice@alice\.i2p> to=<nobody@alice\.i2p> result=nouser' "a refused recipient is logged with the sender"

# HOME/recipients is read once a session (at the first RCPT) and kept: a
# user added meanwhile is found by the next session, not this one.
c_newuser() {
  printf "$EHLO$AUTH${MAIL}RCPT TO:<dave@alice.i2p>\r\n"; sleep 0.5
  echo dave >> "$H/recipients"
  printf 'RCPT TO:<dave@alice.i2p>\r\nQUIT\r\n'; sleep 0.5
}
r=$(slow c_newuser)
is "$(codes <<<"$r")" "220 250 235 250 550 550 221" "a user added during a session: still unknown in it"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<dave@alice.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 250 221" "... and known to the next session"
sed -i '/^dave$/d' "$H/recipients"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<dave@alice.i2p>\r\nRCPT TO:<bob@alice.i2p>\r\nRCPT TO:<dave@alice.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 550 250 550 221" "lookups from the kept copy: gone, found, gone again"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<bob@alice.i2p> NOTIFY=NEVER\r\nRCPT TO:<>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 555 501 221" "RCPT parameters 555, RCPT TO:<> 501"
in="$EHLO$AUTH$MAIL"
for i in $(seq 1 101); do in="${in}RCPT TO:<r$i@far.i2p>\r\n"; done
r=$(smtp "$in${SHORT}QUIT\r\n")
is "$(grep -c '^250 2\.1\.5' <<<"$r") $(grep -c '^452 4\.5\.3 ' <<<"$r")" "100 1" "101st recipient: 452 4.5.3"
like "$r" '^250 2\.0\.0 ok' "... and the message goes to the first 100"
is "$(tr '\0' '\n' < "$CAP/env.1" | grep -c '^T')" 100 "envelope holds 100 recipients"

# ---- malformed addresses: 501 / 553 5.1.3, never accepted ----
long64=$(xs 65) longdom="$(xs 60 a).$(xs 60 b).$(xs 60 c).$(xs 60 d).$(xs 60 e).i2p"
while read -r code addr; do
  r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:$addr\r\nQUIT\r\n")
  is "$(codes <<<"$r")" "220 250 235 250 $code 221" "RCPT TO:$addr: $code"
  like "$r" "^$code 5\\.1\\.3 " "RCPT TO:$addr: $code 5.1.3"
done <<EOF
501 bob@alice.i2p
501 <bob@alice.i2p
501 bob@alice.i2p>
501 <<bob@alice.i2p>>
501 <bob@alice.i2p>x
553 <@relay.i2p:bob@alice.i2p>
553 <@relay.i2p,@r2.i2p:bob@alice.i2p>
553 <bob%far.i2p@alice.i2p>
553 <far.i2p!bob@alice.i2p>
553 <"bob@x"@alice.i2p>
553 <"bob"@alice.i2p>
553 <bob@[127.0.0.1]>
553 <bob@alice.i2p\x01>
553 <b\x1bob@alice.i2p>
553 <bo\tb@alice.i2p>
553 <bo b@alice.i2p>
553 <b\x7fob@alice.i2p>
553 <b\xc3\xa9b@alice.i2p>
553 <$long64@far.i2p>
553 <bob@$longdom>
553 <-oQevil@far.i2p>
553 <bob@alice..i2p>
553 <.bob@alice.i2p>
553 <bob@alice>
EOF
like "$(smtp "$EHLO${AUTH}MAIL FROM:<alice@[127.0.0.1]>\r\nQUIT\r\n")" '^553 5\.1\.3 ' "MAIL FROM with an IP literal: 553 5.1.3"
like "$(smtp "$EHLO${AUTH}MAIL FROM:alice@alice.i2p\r\nQUIT\r\n")" '^501 5\.1\.3 ' "MAIL FROM without brackets: 501 5.1.3"
r=$(smtp "$EHLO${AUTH}MAIL FROM:<$(xs 65)@alice.i2p>\r\nQUIT\r\n")
like "$r" '^553 5\.1\.3 local part longer than 64' "local part over 64 octets: the reason is given"

# ---- what a client says never reaches a header raw ----
r=$(smtp "EHLO evil\x01\x1b[31m\x7f\xffhost with spaces\r\n$AUTH$MAIL$RCPT${SHORT}QUIT\r\n" TCPREMOTEIP=$'1.2.3.4\r\nX-Evil: injected')
like "$r" '^250 2\.0\.0 ok' "message with a hostile HELO and TCPREMOTEIP: accepted"
is "$(sed -n 1p "$CAP/msg.1")" "Received: from evil??[31m??host?with?spaces (1.2.3.4??X-Evil:?injected)" "control characters, spaces and 8-bit bytes of HELO and TCPREMOTEIP become ?"
! grep -q '^X-Evil' "$CAP/msg.1"; ok $? "no header injected through TCPREMOTEIP"
is "$(head -3 "$CAP/msg.1" | LC_ALL=C grep -c $'[^ -~\t]')" 0 "Received header holds only printable ASCII"
r=$(smtp "EHLO $(xs 400 h)\r\n$AUTH$MAIL$RCPT${SHORT}QUIT\r\n")
is "$(sed -n 1p "$CAP/msg.1" | wc -c)" 107 "an overlong HELO is cut in the Received line"

# ---- pipelining ----
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<bob@alice.i2p>\r\nRCPT TO:<nobody@alice.i2p>\r\nRCPT TO:<carol@bob.i2p>\r\nDATA\r\nSubject: one\r\n\r\nfirst\r\n.\r\n${MAIL}RCPT TO:<bob@alice.i2p>\r\nDATA\r\nSubject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 250 550 250 354 250 250 250 354 250 221" "pipelined: two transactions in one write, answered in order"
is "$(queued)" 2 "pipelined: both messages queued"
grep -q '^first$' "$CAP/msg.1" && grep -q '^second$' "$CAP/msg.2"; ok $? "pipelined: each message in its own queue run"
is "$(envof 2)" "Falice@alice.i2p|Tbob@alice.i2p||" "pipelined: the second envelope is its own"
r=$(printf '%b' "$HEAD${SHORT}QUIT\r\n" | env PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_QUEUE="$T_TMP/capture" CAPDIR="$CAP" e2e-smtpd 2>/dev/null | tr -d '\r')
is "$(codes <<<"$r")" "220 250 235 250 250 354 250 221" "pipelined through a pipe in one write"

# ---- commands out of order, and the others ----
r=$(smtp "$EHLO$AUTH${RCPT}DATA\r\n${MAIL}DATA\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 503 503 250 503 221" "RCPT and DATA before MAIL, DATA before RCPT: 503"
like "$r" '^503 5\.5\.1 ' "out of order: 503 5.5.1"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<nobody@alice.i2p>\r\nDATA\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 550 503 221" "DATA with no accepted recipient: 503"
r=$(smtp "$EHLO$AUTH${MAIL}RSET\r\n${RCPT}${MAIL}EHLO again\r\n${RCPT}${MAIL}${RCPT}${SHORT}${RCPT}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 250 503 250 250 503 250 250 354 250 503 221" "RSET, EHLO and a finished DATA end the transaction"
r=$(smtp "$EHLO$AUTH$MAIL${RCPT}DATA now\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 250 250 501 221" "DATA with an argument: 501"
r=$(smtp "NOOP\r\nVRFY bob\r\nHELP\r\nRSET\r\nEXPN staff\r\nTURN\r\nQUIT\r\nNOOP\r\n")
is "$(codes <<<"$r")" "220 250 252 214 250 500 500 221" "NOOP VRFY HELP RSET; unknown commands 500; nothing after QUIT"
like "$r" '^252 2\.5\.2 ' "VRFY: 252 2.5.2"
like "$r" '^214 2\.0\.0 ' "HELP: 214 2.0.0"
like "$r" '^500 5\.5\.1 ' "unknown command: 500 5.5.1"

# ---- bad command lines ----
r=$(smtp "NOOP $(xs 505)\r\nNOOP $(xs 506)\r\nNOOP\r\nNOOP $(xs 20000)\r\nNOOP\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 500 250 500 250 221" "command of 512 octets ok; 513 and 20000 octets: 500, then in sync"
like "$r" '^500 5\.5\.2 ' "overlong command: 500 5.5.2"
r=$(smtp "$EHLO${AUTH}MAIL FROM:<alice@alice.i2p> $(xs 600 ' ')X\r\n${RCPT}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 500 503 221" "an overlong MAIL is not half-taken"
r=$(smtp "NOOP $(xs 60000)\r\nNOOP\r\nNOOP $(xs 200000)\r\nNOOP\r\n")
is "$(codes <<<"$r") $(rc)" "220 500 250 500 100" "60000 octets: 500, in sync; no line end within 64 KiB past the limit: 500 and closed"
like "$r" '^500 5\.5\.2 line too long, closing connection$' "... saying so"
like "$(cat "$LOG")" 'end reason=line_too_long' "... logged"
r=$(smtp 'NO\0OP\r\nNOOP\r\nQUIT\r\n')
is "$(codes <<<"$r")" "220 500 250 221" "NUL in a command: 500, then in sync"
like "$r" '^500 5\.5\.2 ' "NUL in a command: 500 5.5.2"
r=$(smtp 'NOOP\nNOOP\r\nQUIT\r\n')
is "$(codes <<<"$r")" "220 554" "bare LF in a command: 554 and the connection closed"
like "$r" '^554 5\.5\.2 bare CR or LF' "bare LF: 554 5.5.2"
is "$(rc)" 100 "bare LF: exit 100"
r=$(smtp 'NO\rOP\r\nNOOP\r\n')
is "$(codes <<<"$r")" "220 554" "bare CR in a command: 554 and closed"
r=$(smtp "$EHLO${AUTH}MAIL FROM:<alice@alice.i2p>\rRCPT TO:<carol@far.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 235 554" "a second command hidden behind a bare CR: closed"
in=""
for i in 1 2 3 4 5 6 7 8 9; do in="${in}BOGUS\r\n"; done
r=$(smtp "${in}NOOP\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 500 500 500 500 500 500 500 500 500 250 221" "nine errors are tolerated"
r=$(smtp "${in}BOGUS\r\nNOOP\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 500 500 500 500 500 500 500 500 500 500 421" "the tenth error: 421 and closed"
like "$r" '^421 4\.7\.0 ' "too many errors: 421 4.7.0"

# ---- SMTP smuggling: only <CRLF>.<CRLF> ends DATA ----
for seq in '\n.\n' '\n.\r\n' '\r\n.\n' '\r.\r' '\r\n.\r' '\n..\r\n'; do
  r=$(smtp "$HEAD"'DATA\r\nSubject: s\r\n\r\nbefore'"$seq"'MAIL FROM:<alice@alice.i2p>\r\nRCPT TO:<carol@far.i2p>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n')
  is "$(codes <<<"$r")" "220 250 235 250 250 354 554" "smuggling $seq: 554 and closed, nothing after"
  is "$(queued)" 0 "smuggling $seq: nothing queued"
  ok $(( $(started) <= 1 ? 0 : 1 )) "smuggling $seq: no second message started"
  ! grep -qs smuggled "$CAP"/msg.*; ok $? "smuggling $seq: the smuggled text never reached the queue"
done
r=$(smtp "$HEAD"'DATA\r\n'"$(xs 1200)"'\n.\r\nQUIT\r\n')
is "$(codes <<<"$r")" "220 250 235 250 250 354 554" "a bare LF after an overlong text line is still seen"

# ---- bad messages: refused after the dot, nothing queued, in sync ----
r=$(smtp "$HEAD"'DATA\r\nSubject: n\r\n\r\nab\0cd\r\n.\r\n'"$MAIL$RCPT"'DATA\r\nSubject: clean\r\n\r\nok\r\n.\r\nQUIT\r\n')
is "$(codes <<<"$r")" "220 250 235 250 250 354 554 250 250 354 250 221" "NUL in data: refused after the dot, then a good message"
like "$r" '^554 5\.6\.0 .*NUL' "NUL in data: 554 5.6.0"
is "$(queued)" 1 "NUL in data: only the clean message queued"
is "$(grep -l '^Subject: clean' "$CAP"/msg.* | wc -l) $(grep -l 'ab' "$CAP"/msg.* 2>/dev/null | xargs -r grep -l 'Subject: clean' | wc -l)" "1 0" "the queued message is the clean one"
# a NUL past a line's first eight octets (found by e2e-smtpd's scan of
# eight octets at a time) and at a line's start (found octet by octet)
for t in "$(xs 21)"'\0'"$(xs 30)" '\0x' '.\0'; do
  r=$(smtp "$HEAD"'DATA\r\nSubject: n\r\n\r\n'"$t"'\r\n.\r\nQUIT\r\n')
  is "$(codes <<<"$r")" "220 250 235 250 250 354 554 221" "NUL in data ($(printf '%s' "$t" | cut -c1-6)...): refused"
done
r=$(smtp "$HEAD"'DATA\r\nSubject: l\r\n\r\n'"$(xs 999)"'\r\n.\r\n'"$MAIL$RCPT"'DATA\r\nSubject: l\r\n\r\n'"$(xs 998 y)"'\r\n.\r\nQUIT\r\n')
is "$(codes <<<"$r")" "220 250 235 250 250 354 554 250 250 354 250 221" "a 1001-octet text line: refused; 1000 octets: accepted"
like "$r" '^554 5\.6\.0 .*1000' "overlong text line: 554 5.6.0"
is "$(queued)" 1 "overlong text line: not queued"
is "$(cat "$CAP"/msg.* | grep -c "^$(xs 998 y)\$")" 1 "the 998-character line arrives whole"
r=$(smtp "$HEAD"'DATA\r\n..'"$(xs 996)"'\r\n.\r\nQUIT\r\n')
like "$r" '^250 2\.0\.0' "a dot-stuffed line of 1000 octets: accepted"
r=$(smtp "${EHLO}QUIT\r\n" E2E_MAXSIZE=1000)
in="$HEAD"'DATA\r\n'"$(xs 998)"'\r\n.\r\n'"$MAIL$RCPT"'DATA\r\n'"$(xs 998)"'\r\nz\r\n.\r\n'"$MAIL$RCPT"'DATA\r\n'
for i in $(seq 1 50); do in="$in$(xs 70 w)\r\n"; done
r=$(smtp "$in.\r\n$MAIL${RCPT}QUIT\r\n" E2E_MAXSIZE=1000)
is "$(codes <<<"$r")" "220 250 235 250 250 354 250 250 250 354 552 250 250 354 552 250 250 221" "E2E_MAXSIZE=1000: 1000 bytes ok, 1003 and 3600 refused after the dot, in sync"
like "$r" '^552 5\.3\.4 ' "oversize data: 552 5.3.4"
is "$(queued)" 1 "oversize: only the message within the limit queued"
r=$(smtp "$EHLO${AUTH}MAIL FROM:<alice@alice.i2p> SIZE=1001\r\nQUIT\r\n" E2E_MAXSIZE=1000)
like "$r" '^552 5\.3\.4 ' "SIZE= over a small E2E_MAXSIZE: 552 5.3.4 at MAIL"

# ---- the queue's answers ----
r=$(smtp "$HEAD${SHORT}NOOP\r\nQUIT\r\n" CAPCODE=100)
is "$(codes <<<"$r")" "220 250 235 250 250 354 554 250 221" "queue exits 100: 554, session goes on"
like "$r" '^554 5\.0\.0 ' "queue exits 100: 554 5.0.0"
r=$(smtp "$HEAD${SHORT}QUIT\r\n" CAPCODE=111)
like "$r" '^451 4\.3\.0 ' "queue exits 111: 451 4.3.0"
r=$(smtp "$HEAD${SHORT}QUIT\r\n" CAPCODE=crash)
like "$r" '^451 4\.3\.0 ' "queue crashes: 451 4.3.0"
in="$HEAD"'DATA\r\n'
big=$(yes "$(xs 100 a)" | head -n 2000 | sed 's/$/\\r\\n/' | tr -d '\n')
r=$(smtp "$in$big.\r\nQUIT\r\n" CAPCODE=early)
like "$r" '^451 4\.3\.0 ' "queue exits 0 without reading the message: 451, never 250"
t0=$(ms); r=$(smtp "$HEAD${SHORT}NOOP\r\nQUIT\r\n" CAPCODE=hang E2E_TIMEOUT=1); t1=$(ms)
is "$(codes <<<"$r")" "220 250 235 250 250 354 451 250 221" "a queue that never exits is killed after E2E_TIMEOUT: 451, session goes on"
ok $(( t1 - t0 < 5000 ? 0 : 1 )) "... in about E2E_TIMEOUT ($((t1 - t0)) ms)"
r=$(smtp "$HEAD"'DATA\r\nSubject: cut\r\n\r\nno end')
is "$(codes <<<"$r") $(rc) $(queued)" "220 250 235 250 250 354 111 0" "client gone in the middle of DATA: exit 111, nothing queued"
r=$(smtp "$HEAD${SHORT}QUIT\r\n" E2E_QUEUE=/nonexistent/queue)
like "$r" '^451 4\.3\.0 ' "E2E_QUEUE cannot be run: 451 4.3.0"
like "$(cat "$LOG")" 'unable to exec /nonexistent/queue' "log says why"

# E2E_QUEUELOCAL: submitted mail whose recipients are all local goes to it
# (run/smtpd: straight to e2e-queue, past the privacy stage); one
# recipient elsewhere and the message goes to E2E_QUEUE. $CAPDIR/local
# lists the messages (by number) that the local injector took.
cat > "$T_TMP/localq" <<'EOF2'
#!/bin/sh
echo $(( $(cat "$CAPDIR/count" 2>/dev/null || echo 0) + 1 )) >> "$CAPDIR/local"
exec "${0%/*}/capture"
EOF2
chmod +x "$T_TMP/localq"
LQ=(E2E_QUEUELOCAL="$T_TMP/localq")
tolocal() { [ ! -e "$CAP/local" ] || tr '\n' ' ' < "$CAP/local" | sed 's/ $//'; }
r=$(smtp "$HEAD${SHORT}QUIT\r\n" "${LQ[@]}")
is "$(codes <<<"$r") $(queued) [$(tolocal)]" "220 250 235 250 250 354 250 221 1 [1]" "E2E_QUEUELOCAL: a message for a local user goes to it"
is "$(envof 1)" "Falice@alice.i2p|Tbob@alice.i2p||" "... with the same envelope"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<carol@bob.i2p>\r\n${SHORT}QUIT\r\n" "${LQ[@]}")
is "$(codes <<<"$r") $(queued) [$(tolocal)]" "220 250 235 250 250 354 250 221 1 []" "... a message for another site goes to E2E_QUEUE"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<bob@alice.i2p>\r\nRCPT TO:<carol@bob.i2p>\r\nRCPT TO:<alice@$B32>\r\n${SHORT}QUIT\r\n" "${LQ[@]}")
is "$(queued) [$(tolocal)]" "1 []" "... local and remote recipients together: E2E_QUEUE"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<BOB@Alice.I2P>\r\nRCPT TO:<postmaster>\r\n${SHORT}QUIT\r\n" "${LQ[@]}")
is "$(queued) [$(tolocal)]" "1 [1]" "... <postmaster> and our domain in capitals are local"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<carol@bob.i2p>\r\n${SHORT}${MAIL}RCPT TO:<bob@alice.i2p>\r\n${SHORT}${MAIL}RCPT TO:<carol@bob.i2p>\r\nRSET\r\n${MAIL}RCPT TO:<bob@alice.i2p>\r\n${SHORT}${MAIL}RCPT TO:<bob@alice.i2p>\r\n${SHORT}QUIT\r\n" "${LQ[@]}")
is "$(queued) [$(tolocal)]" "4 [2 3 4]" "... decided anew for each message: a remote recipient of the one before (sent or reset) counts no more"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<bob@alice.i2p>\r\n${SHORT}${MAIL}RCPT TO:<carol@bob.i2p>\r\n${SHORT}QUIT\r\n" "${LQ[@]}")
is "$(queued) [$(tolocal)]" "2 [1]" "... and a local message before does not make the next one local"
r=$(smtp "$HEAD${SHORT}QUIT\r\n" E2E_QUEUELOCAL=)
is "$(queued) [$(tolocal)]" "1 []" "E2E_QUEUELOCAL empty: E2E_QUEUE takes local mail too"
r=$(sam "${EHLO}MAIL FROM:<carol@good.i2p>\r\nRCPT TO:<alice@alice.i2p>\r\n${SHORT}QUIT\r\n" "${LQ[@]}")
is "$(codes <<<"$r") $(queued) [$(tolocal)]" "220 250 250 250 354 250 221 1 []" "PROTO=SAM: mail from I2P always goes to E2E_QUEUE (a spam filter there is never bypassed)"
r=$(smtp "$HEAD"'DATA\r\n' E2E_QUEUELOCAL=/nonexistent/local)
is "$(codes <<<"$r") $(started)" "220 250 235 250 250 451 0" "E2E_QUEUELOCAL cannot be run: 451 for local mail"
like "$(cat "$LOG")" 'unable to exec /nonexistent/local' "... the log names the program that could not be run"
r=$(smtp "$EHLO$AUTH${MAIL}RCPT TO:<carol@bob.i2p>\r\n${SHORT}QUIT\r\n" E2E_QUEUELOCAL=/nonexistent/local)
is "$(codes <<<"$r") $(queued)" "220 250 235 250 250 354 250 221 1" "... other mail still queued"

lines=$(yes "$(xs 98)" | head -n 600 | sed 's/$/\\r\\n/' | tr -d '\n')
r=$(smtp "$HEAD"'DATA\r\n'"$lines"'.\r\nQUIT\r\n' E2E_MAXSIZE=1000)
is "$(codes <<<"$r") $(queued)" "220 250 235 250 250 354 552 221 0" "60000 octets of DATA, E2E_MAXSIZE=1000: read to the end, 552, in sync"
r=$(smtp "$HEAD"'DATA\r\n'"$lines$lines"'.\r\nQUIT\r\n' E2E_MAXSIZE=1000)
is "$(codes <<<"$r") $(rc) $(queued)" "220 250 235 250 250 354 552 100 0" "120000 octets: past 2 x E2E_MAXSIZE + 64 KiB the connection is closed"
like "$r" '^552 5\.3\.4 message too big, closing connection$' "... with 552 5.3.4 saying so"

# ---- commands that move no mail ----
noops() { local i; for i in $(seq "$1"); do printf '%s' 'NOOP\r\n'; done; }
r=$(smtp "$EHLO$(noops 48)RSET\r\nQUIT\r\n")
is "$(codes <<<"$r" | tr ' ' '\n' | sort | uniq -c | awk '{printf "%s x%s ", $2, $1}')" "220 x1 221 x1 250 x50 " "EHLO, 48 NOOPs and a RSET (50 commands that move no mail): all answered"
r=$(smtp "$EHLO$(noops 100)QUIT\r\n")
is "$(codes <<<"$r" | tr ' ' '\n' | tail -2 | tr '\n' ' ') $(rc)" "250 421 100" "past 50 such commands each counts as an error: the 60th ends the session"
like "$r" '421 4\.7\.0 too many errors' "... with 421 4.7.0 too many errors"
is "$(codes <<<"$r" | tr ' ' '\n' | grep -c 250)" 59 "... after 59 replies 250"
r=$(smtp "$HEAD$(noops 45)$SHORT$(noops 45)QUIT\r\n")
is "$(codes <<<"$r" | tr ' ' '\n' | tail -1) $(queued)" "221 1" "a DATA between them starts the count again"

# ---- per-peer cap (E2E_PEERDIR, E2E_SMTPPEER) ----
PEERS=$T_TMP/peers; mkdir -p "$PEERS"
PCAP=(E2E_PEERDIR="$PEERS" E2E_SMTPPEER=1)
mkfifo "$T_TMP/phold"
env PROTO=TCP TCPREMOTEIP=127.0.0.9 E2E_HOME="$H" E2E_DOMAIN=alice.i2p "${PCAP[@]}" e2e-smtpd <"$T_TMP/phold" >"$T_TMP/pout" 2>/dev/null &
PH=$!; bg_pid $PH
exec {PFD}>"$T_TMP/phold"
for _ in $(seq 100); do grep -q '^220' "$T_TMP/pout" && break; sleep 0.05; done
r=$(smtp 'NOOP\r\nQUIT\r\n' TCPREMOTEIP=127.0.0.9 "${PCAP[@]}")
is "$r $(rc)" "421 4.7.0 too many connections from your address 111" "a second session from 127.0.0.9, E2E_SMTPPEER=1: 421 4.7.0 instead of the greeting, exit 111"
like "$(cat "$LOG")" 'end reason=peer_limit' "... logged"
r=$(smtp 'NOOP\r\nQUIT\r\n' TCPREMOTEIP=127.0.0.8 "${PCAP[@]}")
is "$(codes <<<"$r")" "220 250 221" "... another address is served"
r=$(sam 'NOOP\r\nQUIT\r\n' TCPREMOTEIP=127.0.0.9 "${PCAP[@]}")
is "$(codes <<<"$r")" "220 250 221" "... PROTO=SAM counts SAMREMOTEB32, not TCPREMOTEIP: served"
r=$(smtp 'NOOP\r\nQUIT\r\n' TCPREMOTEIP=127.0.0.9 "${PCAP[@]}" E2E_SMTPPEER=0)
is "$(codes <<<"$r")" "220 250 221" "... E2E_SMTPPEER=0: no cap"
exec {PFD}>&-; wait $PH
r=$(smtp 'NOOP\r\nQUIT\r\n' TCPREMOTEIP=127.0.0.9 "${PCAP[@]}")
is "$(codes <<<"$r")" "220 250 221" "the slot is free once the first session ends"
r=$(smtp 'NOOP\r\nQUIT\r\n' TCPREMOTEIP=../../evil "${PCAP[@]}")
is "$(codes <<<"$r") $(ls "$PEERS" | tr '\n' ' ')" "220 250 221 127.0.0.8 127.0.0.9 $B32 unknown " "a TCPREMOTEIP unfit for a file name counts as \"unknown\""

# ---- timeouts: per command, and the whole DATA ----
c_idle() { printf 'EHLO x\r\n'; sleep 2.5; }
c_trickle() { for c in N O O P; do printf $c; sleep 0.6; done; printf '\r\n'; sleep 0.5; }
c_data() { printf '%b' "$HEAD"'DATA\r\n'; for i in 1 2 3 4 5 6; do sleep 0.4; printf 'line %s\r\n' $i; done; printf '.\r\n'; }
t0=$(date +%s%N); r=$(slow c_idle E2E_TIMEOUT=1)
is "$(codes <<<"$r")" "220 250 421" "idle client: 421"
like "$r" '^421 4\.4\.2 timeout$' "idle client: 421 4.4.2 timeout"
is "$(rc)" 111 "timeout: exit 111"
e=$(( ($(cat "$T_TMP/end") - t0) / 1000000 ))
ok $(( e >= 900 && e < 2400 ? 0 : 1 )) "timeout after about E2E_TIMEOUT ($e ms)"
r=$(slow c_trickle E2E_TIMEOUT=1)
is "$(codes <<<"$r")" "220 421" "a command trickled byte by byte: the deadline is per command, not per read"
r=$(slow c_data E2E_TIMEOUT=1)
is "$(codes <<<"$r")" "220 250 235 250 250 354 421" "DATA trickled line by line: one deadline for the whole DATA"
is "$(queued)" 0 "DATA timeout: nothing queued"

t0=$(date +%s%N)
# (RCPT past the 100th gets 452, neither junk nor an error: the replies pile up)
{ printf '%b' "$EHLO$AUTH$MAIL"; yes 'RCPT TO:<bob@alice.i2p>' | head -n 30000 | sed 's/$/\r/'; } | { env PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_TIMEOUT=1 e2e-smtpd 2> "$LOG"; echo $? > "$T_TMP/rc"; date +%s%N > "$T_TMP/end"; } | sleep 4
e=$(( ($(cat "$T_TMP/end") - t0) / 1000000 ))
is "$(rc)" 111 "a client that never reads its replies: exit 111"
ok $(( e < 3500 ? 0 : 1 )) "... cut off by the watchdog after 2 x E2E_TIMEOUT ($e ms)"
like "$(cat "$LOG")" 'fatal: timeout' "... and the log says so"
# the watchdog is set again at most once a second, not at every command:
# 3 pipelined messages (12 commands), traced without the children
# (strace: tests/deps.sh)
m3=$(for i in 1 2 3; do printf '%s' "$MAIL$RCPT$SHORT"; done)
printf '%b' "$EHLO$AUTH${m3}QUIT\r\n" > "$T_TMP/in"
rm -rf "$CAP"; mkdir -p "$CAP"
env PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=alice.i2p TCPREMOTEIP=127.0.0.1 E2E_QUEUE="$T_TMP/capture" CAPDIR="$CAP" \
  strace -q -o "$T_TMP/strace.alarm" -e trace=setitimer,alarm e2e-smtpd < "$T_TMP/in" > "$T_TMP/out" 2> "$LOG"
n=$(grep -cE '^(setitimer|alarm)\(' "$T_TMP/strace.alarm")
is "$(tr -d '\r' < "$T_TMP/out" | codes | wc -w) $(queued)" "16 3" "3 pipelined messages under strace: every reply, 3 queued"
ok $(( n <= 10 ? 0 : 1 )) "... with $n timer settings: the queue's 2 a message and one a second, not one a command (12)"

# ---- PROTO=SAM ----
r=$(sam "${EHLO}AUTH PLAIN $(b64 '\0alice\0secret')\r\nQUIT\r\n")
unlike "$r" '^250[- ]AUTH' "SAM: no AUTH advertised"
like "$r" '^250-PIPELINING' "SAM: the other extensions are"
like "$r" '^502 5\.5\.1 ' "SAM: AUTH refused with 502 5.5.1"
r=$(sam "${EHLO}MAIL FROM:<carol@good.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 250 221" "SAM: verified sender accepted without AUTH"
is "$(cat "$CAP/verify.log")" "carol@good.i2p $B32" "E2E_VERIFY got the address as argv[1] and the inherited SAM environment"
r=$(sam "${EHLO}MAIL FROM:<mallory@spoof.i2p>\r\nQUIT\r\n")
like "$r" "^550 5\\.7\\.1 sender's site does not publish" "SAM: verifier exits 100: 550 5.7.1"
r=$(sam "${EHLO}MAIL FROM:<dave@down.i2p>\r\nQUIT\r\n")
like "$r" '^451 4\.7\.1 ' "SAM: verifier exits 111: 451 4.7.1"
r=$(sam "${EHLO}MAIL FROM:<dave@good.i2p>\r\nQUIT\r\n" E2E_VERIFY=/nonexistent/verify)
like "$r" '^451 4\.7\.1 ' "SAM: verifier cannot be run: 451 4.7.1"
t0=$(ms); r=$(sam "${EHLO}MAIL FROM:<eve@slow.i2p>\r\nNOOP\r\nQUIT\r\n" E2E_TIMEOUT=1); t1=$(ms)
is "$(codes <<<"$r")" "220 250 451 250 221" "SAM: a hanging verifier is killed: 451, session goes on"
ok $(( t1 - t0 < 5000 ? 0 : 1 )) "... after about E2E_TIMEOUT ($((t1 - t0)) ms)"
r=$(sam "MAIL FROM:<carol@good.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 503 221" "SAM: MAIL before EHLO: 503"
r=$(sam "${EHLO}MAIL FROM:<@evil.i2p:carol@good.i2p>\r\nMAIL FROM:<carol@good.i2p> AUTH=<>\r\nMAIL FROM:<-x@good.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 553 555 553 221" "SAM: malformed senders and AUTH= refused"
[ ! -e "$CAP/verify.log" ]; ok $? "SAM: a refused address never reaches the verifier"
r=$(sam "${EHLO}MAIL FROM:<carol@good.i2p>\r\nRCPT TO:<alice@alice.i2p>\r\nRCPT TO:<ALICE@Alice.I2P>\r\nRCPT TO:<nobody@alice.i2p>\r\nRCPT TO:<bob@bob.i2p>\r\nRCPT TO:<x@example.com>\r\nRCPT TO:<postmaster>\r\nRCPT TO:<postmaster@alice.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 250 250 250 550 550 550 250 250 221" "SAM: local users and postmaster only"
is "$(grep -c '^550 5\.7\.1 ' <<<"$r")" 3 "SAM: unknown user, relay and other domains: 550 5.7.1"
like "$r" '^550 5\.7\.1 relaying denied' "SAM: relay attempt: 550 5.7.1 relaying denied"
SAMBODY='Subject: over i2p\r\nAuthentication-Results: alice.i2p; e2e=pass\r\n smtp.mailfrom=ceo@bank.i2p\r\nX-Kept: yes\r\nauthentication-results : alice.i2p; e2e=pass\r\n\r\nAuthentication-Results: in the body stays\r\n'
r=$(sam "EHLO peer.example\r\nMAIL FROM:<carol@good.i2p>\r\nRCPT TO:<alice@alice.i2p>\r\nDATA\r\n$SAMBODY.\r\nQUIT\r\n")
is "$(codes <<<"$r")" "220 250 250 250 354 250 221" "SAM: a whole transaction"
id=$(sed -n 's/^250 2\.0\.0 ok \(.*\)$/\1/p' <<<"$r")
is "$(envof 1)" "Fcarol@good.i2p|Talice@alice.i2p||" "SAM: envelope"
is "$(sed -n 1,2p "$CAP/msg.1")" "Received: from peer.example ($B32)"$'\n\t'"by alice.i2p (e2e) with ESMTP id $id;" "SAM: Received names the peer's b32"
is "$(sed -n 4p "$CAP/msg.1")" "Authentication-Results: alice.i2p; e2e=pass smtp.mailfrom=carol@good.i2p" "SAM: Authentication-Results records the verified sender"
tail -n +5 "$CAP/msg.1" | cmp -s - <(printf 'Subject: over i2p\nX-Kept: yes\n\nAuthentication-Results: in the body stays\n'); ok $? "SAM: forged Authentication-Results headers dropped, the rest kept"
r=$(sam "HELO peer.example\r\nMAIL FROM:<>\r\nRCPT TO:<alice@alice.i2p>\r\nRCPT TO:<bob@alice.i2p>\r\n${SHORT}QUIT\r\n")
is "$(codes <<<"$r")" "220 250 250 250 452 354 250 221" "SAM: null sender: one recipient, the second 452"
like "$r" '^452 4\.5\.3 ' "SAM: null sender's second recipient: 452 4.5.3"
[ ! -e "$CAP/verify.log" ]; ok $? "SAM: the null sender is not verified"
is "$(envof 1)" "F|Talice@alice.i2p||" "SAM: null sender envelope"
is "$(sed -n 2p "$CAP/msg.1" | sed 's/ id .*//')" $'\tby alice.i2p (e2e) with SMTP' "SAM: HELO gives 'with SMTP'"
is "$(sed -n 4p "$CAP/msg.1")" "Authentication-Results: alice.i2p; e2e=none" "SAM: null sender: e2e=none"
r=$(sam "${EHLO}MAIL FROM:<carol@good.i2p>\r\nRCPT TO:<alice@alice.i2p>\r\nDATA\r\nSubject: x\r\n\r\nbefore\n.\nMAIL FROM:<carol@good.i2p>\r\nQUIT\r\n")
is "$(codes <<<"$r") $(queued)" "220 250 250 250 354 554 0" "SAM: smuggling closes the connection too"

# ---- with the real e2e-queue ----
if [ -x "$TOP/bin/e2e-queue" ]; then
  r=$(QUEUE= smtp "$HEAD"'DATA\r\nSubject: real\r\n\r\n..dot\r\n.\r\nQUIT\r\n')
  is "$(codes <<<"$r")" "220 250 235 250 250 354 250 221" "default E2E_QUEUE (e2e-queue on PATH): 250"
  f=$(ls "$H/queue/todo")
  is "$(ls "$H/queue/todo" | wc -l)" 1 "e2e-queue: one message in queue/todo"
  like "$(tr '\0' '|' < "$H/queue/todo/$f" | head -1)" '^Falice@alice\.i2p\|Tbob@alice\.i2p\|\|Received: from client\.example' "e2e-queue: the envelope then our Received line"
  is "$(tail -n 3 "$H/queue/todo/$f")" $'Subject: real\n\n.dot' "e2e-queue: the message with LF ends, unstuffed"
  r=$(QUEUE= smtp "$HEAD"'DATA\r\nSubject: s\r\n\r\nx\n.\r\nMAIL FROM:<alice@alice.i2p>\r\n')
  is "$(codes <<<"$r")" "220 250 235 250 250 354 554" "e2e-queue: smuggling attempt refused"
  is "$(ls "$H/queue/todo" | wc -l) $(ls "$H/queue/tmp" | wc -l)" "1 0" "e2e-queue: nothing queued, nothing left in tmp/"
  r=$(QUEUE= smtp "$HEAD"'DATA\r\nSubject: s\r\n\r\nx\0y\r\n.\r\nQUIT\r\n')
  is "$(codes <<<"$r") $(ls "$H/queue/todo" | wc -l) $(ls "$H/queue/tmp" | wc -l)" "220 250 235 250 250 354 554 221 1 0" "e2e-queue: a refused message leaves nothing"
else
  ok 1 "bin/e2e-queue is not built: the test with the real queue could not run"
fi

# ---- settings ----
cfg() { env -i PATH="$PATH" "$@" e2e-smtpd < /dev/null > "$T_TMP/out" 2> "$LOG"; echo $?; }
is "$(cfg E2E_HOME="$H" E2E_DOMAIN=alice.i2p)" 100 "PROTO unset: exit 100"
like "$(cat "$LOG")" 'fatal: .*PROTO' "PROTO unset: the error names it"
is "$(wc -c < "$T_TMP/out")" 0 "PROTO unset: no greeting"
is "$(cfg PROTO=UUCP E2E_HOME="$H" E2E_DOMAIN=alice.i2p)" 100 "PROTO neither TCP nor SAM: exit 100"
like "$(cat "$LOG")" 'PROTO must be TCP or SAM' "... named"
is "$(cfg PROTO=TCP E2E_DOMAIN=alice.i2p)" 100 "E2E_HOME unset: exit 100"
like "$(cat "$LOG")" 'E2E_HOME' "... named"
is "$(cfg PROTO=TCP E2E_HOME="$H")" 100 "E2E_DOMAIN unset: exit 100"
is "$(cfg PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=$'alice.i2p\r\nX: y')" 100 "E2E_DOMAIN malformed: exit 100"
is "$(cfg PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_MAXSIZE=10M)" 100 "E2E_MAXSIZE malformed: exit 100"
is "$(cfg PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_TIMEOUT=0)" 100 "E2E_TIMEOUT=0: exit 100"
is "$(cfg PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_SMTPPEER=many)" 100 "E2E_SMTPPEER malformed: exit 100"
like "$(cat "$LOG")" 'E2E_SMTPPEER' "... named"
is "$(cfg PROTO=TCP E2E_HOME="$H" E2E_DOMAIN=Alice.I2P; tr -d '\r' < "$T_TMP/out")" $'0\n220 alice.i2p ESMTP e2e' "E2E_DOMAIN is lower-cased; EOF ends the session with exit 0"

done_testing
