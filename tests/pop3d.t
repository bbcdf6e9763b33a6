#!/bin/bash
# e2e-pop3d: scripted conversations on fds 0/1 for every reply path, then
# the same Maildirs through real clients (Python's poplib, mpop) over
# tcpserver on loopback.
. "$(dirname "$0")/lib.sh"

P="$TOP/tests/pop3d/pop3.py"
H=$T_TMP/home
export E2E_HOME=$H
mkhome "$H" test.i2p 'alice:s3cret pass' bob:bobpw carol:carolpw dave:davepw erin:erinpw fay:faypw \
  || { echo "Bail out! cannot make a mail home (bin/e2e-setup, bin/e2e-passwd)"; exit 1; }
ok 0 "mail home made with e2e-setup and e2e-passwd"
A=$H/mail/alice
SRC=$T_TMP/src
mkdir -p "$SRC"/{tmp,new,cur}
python3 "$P" fixtures "$SRC" && cp "$SRC"/new/* "$A"/new/ && python3 "$P" edge "$H/mail/bob"
ok $? "fixtures written into the Maildirs"
NMSG=$(ls "$SRC"/new | wc -l)

ms() { date +%s%3N; }
# sess LINE...: one session on fds 0/1, each LINE sent with CRLF, all at
# once (pipelined). Replies in $OUT (CRs removed), log in $ERR, exit in $RC.
WRAP=()   # a command sess runs e2e-pop3d under (strace, below)
sess() {
  printf '%s\r\n' "$@" | "${WRAP[@]}" env E2E_HOME="$H" E2E_TIMEOUT="${TMO:-30}" e2e-pop3d >"$T_TMP/out" 2>"$T_TMP/err"
  RC=$?
  OUT=$(tr -d '\r' <"$T_TMP/out"); ERR=$(cat "$T_TMP/err")
}
# The first word of each reply line after the greeting (of the first N lines).
words() { printf '%s\n' "$OUT" | sed 1d | head -n "${1:-9999}" | cut -d' ' -f1 | tr '\n' ' '; }
# py_checks ARGS...: pop3.py prints "ok NAME" / "not ok NAME"; each is a test.
py_checks() { tap_py "$P" "$@"; }
login=("USER alice" "PASS s3cret pass")

# ---- AUTHORIZATION state ----
sess CAPA QUIT
is "$(printf '%s\n' "$OUT" | head -1)" "+OK e2e POP3 ready" "greeting"
is "$(printf '%s\n' "$OUT" | sed -n '2,10p' | tr '\n' '|')" \
  "+OK capability list follows|USER|UIDL|TOP|PIPELINING|RESP-CODES|AUTH-RESP-CODE|IMPLEMENTATION e2e|.|" "CAPA lists the capabilities"
is "$(printf '%s\n' "$OUT" | sed -n 11p)" "+OK e2e POP3 signing off" "QUIT before login"
is "$RC" 0 "exit 0 after QUIT"
is "$(grep -c $'\r$' "$T_TMP/out")" "$(wc -l <"$T_TMP/out")" "every reply line ends in CRLF"

sess STAT LIST "RETR 1" "DELE 1" NOOP RSET "UIDL" "TOP 1 1" QUIT
is "$(words)" "-ERR -ERR -ERR -ERR -ERR -ERR -ERR -ERR +OK " "transaction commands before login get -ERR"
like "$OUT" "authenticate first" "... saying why"
sess "PASS x" QUIT
is "$(words)" "-ERR +OK " "PASS before USER"
sess USER "USER alice" QUIT
is "$(words)" "-ERR +OK +OK " "USER without a name is a syntax error"
sess FOO QUIT
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "-ERR unknown command" "unknown command"

t0=$(ms); sess "USER alice" "PASS wrong password" QUIT; t1=$(ms)
is "$(printf '%s\n' "$OUT" | sed -n 3p)" "-ERR [AUTH] authorization failed" "wrong password"
ok $(( t1 - t0 >= 950 ? 0 : 1 )) "wrong password answered after a delay ($((t1 - t0)) ms)"
like "$ERR" "login failed user=alice" "failure logged"
unlike "$ERR" "wrong" "the password is not logged"
t0=$(ms); sess "USER nobody" "PASS wrong" QUIT; t1=$(ms)
is "$(printf '%s\n' "$OUT" | sed -n 3p)" "-ERR [AUTH] authorization failed" "unknown user gets the same reply"
ok $(( t1 - t0 >= 950 ? 0 : 1 )) "unknown user answered after the same delay ($((t1 - t0)) ms)"
sess "USER $(printf 'x\001y z')" "PASS p" QUIT
like "$ERR" 'login failed user=x\?y\?z' "user name made safe in the log"
sess "USER alice" "PASS s3cret" "USER alice" "PASS s3cret pass" STAT QUIT
is "$(words)" "+OK -ERR +OK +OK +OK +OK " "a failed PASS leaves the session in AUTHORIZATION; a retry works"
sess "USER ALICE" "PASS s3cret pass" "USER alice" "PASS s3cret pass" QUIT
is "$(words)" "+OK +OK -ERR -ERR +OK " "USER is case-insensitive; USER/PASS after login get -ERR"
like "$ERR" "login ok user=alice" "login logged"
unlike "$ERR" "s3cret" "the password is not logged"

# A Maildir whose cur/ or new/ cannot be read (getdents64 fails with EIO
# on that directory only, strace -P): the client is told to try later,
# the log says what failed, exit 111, nothing lost. LeakSanitizer cannot
# work under ptrace: off (sanitizer builds).
eio_login() {   # eio_login DIR: fay's login with DIR of her Maildir unreadable
  WRAP=(env ASAN_OPTIONS=detect_leaks=0 strace -qq -f -o /dev/null -P "$H/mail/fay/$1" -e inject=getdents64:error=EIO)
  sess "USER fay" "PASS faypw" STAT QUIT
  WRAP=()
}
sysfail="-ERR [SYS/TEMP] unable to open the mailbox, try again later"
printf 'Subject: e\n\nkept\n' >"$H/mail/fay/new/1700000600.M000001P1,S=17,W=20"
eio_login cur
is "$RC $(printf '%s\n' "$OUT" | sed -n 3p)" "111 $sysfail" "cur/ unreadable: -ERR [SYS/TEMP], exit 111"
like "$ERR" "unable to read cur: (I/O|Input/output) error" "... the failed read in the log (musl or glibc wording)"
sess "USER fay" "PASS faypw" STAT QUIT
is "$(printf '%s\n' "$OUT" | sed -n 3p)" "+OK 1 messages (20 octets)" "... and the message there at the next login"
# new/ is read by dir_move, which then moves nothing: the new message
# stays in new/ until a login that can read it.
printf 'Subject: f\n\nnew\n' >"$H/mail/fay/new/1700000601.M000001P1,S=16,W=19"
eio_login new
is "$RC $(printf '%s\n' "$OUT" | sed -n 3p) $(ls "$H/mail/fay/new")" "111 $sysfail 1700000601.M000001P1,S=16,W=19" \
  "new/ unreadable: -ERR [SYS/TEMP], exit 111, the message left in new/"
like "$ERR" "unable to move new/ to cur: (I/O|Input/output) error" "... the failed move in the log"
sess "USER fay" "PASS faypw" STAT QUIT
is "$(printf '%s\n' "$OUT" | sed -n 3p)" "+OK 2 messages (39 octets)" "... and both there at the next login"

# ---- TRANSACTION state ----
sess "USER dave" "PASS davepw" STAT LIST UIDL "RETR 1" "LIST 1" QUIT
is "$OUT" "+OK e2e POP3 ready
+OK send PASS
+OK 0 messages (0 octets)
+OK 0 0
+OK scan listing follows
.
+OK unique-id listing follows
.
-ERR no such message
-ERR no such message
+OK e2e POP3 signing off" "an empty mailbox"

sess "${login[@]}" UIDL QUIT
UIDL1=$(printf '%s\n' "$OUT" | sed -n '/^+OK unique-id/,/^\.$/p' | sed '1d;$d')
is "$(ls "$A"/new | wc -l)" 0 "login moves new/ into cur/"
is "$(ls "$A"/cur | grep -c ':2,$')" "$NMSG" "... as NAME:2,"
is "$UIDL1" "$(python3 "$P" expect "$A" UIDL)" "UIDL is each name before ':2,', in delivery order"
is "$(stat -c %a "$A/.pop3.lock")" 600 "lock file .pop3.lock is mode 0600"

py_checks session "$A" alice 's3cret pass'

sess "${login[@]}" UIDL QUIT
is "$(printf '%s\n' "$OUT" | sed -n '/^+OK unique-id/,/^\.$/p' | sed '1d;$d')" "$UIDL1" "UIDs the same in the next session"
is "$(ls "$A"/cur | grep -c ':2,S$')" "$NMSG" "messages sent by RETR marked seen (:2,S) at QUIT"
printf 'Subject: later\n\nnew one\n' >"$A/new/1800000000.M000001P99,S=25,W=28"
sess "${login[@]}" STAT UIDL QUIT
UIDL2=$(printf '%s\n' "$OUT" | sed -n '/^+OK unique-id/,/^\.$/p' | sed '1d;$d')
is "$(printf '%s\n' "$UIDL2" | head -n "$NMSG")" "$UIDL1" "old UIDs and numbers unchanged after new mail"
is "$(printf '%s\n' "$UIDL2" | tail -1)" "$((NMSG + 1)) 1800000000.M000001P99,S=25,W=28" "new mail numbered last"
is "$(printf '%s\n' "$OUT" | sed -n 4p)" "$(python3 "$P" expect "$A" STAT)" "STAT counts it, sizes from W="
# a crash between linking new/NAME as cur/NAME:2, and removing new/NAME: one message, not two
printf 'Subject: twice?\n\nonce\n' >"$A/new/1800000001.M000001P99,S=24,W=27"
ln "$A/new/1800000001.M000001P99,S=24,W=27" "$A/cur/1800000001.M000001P99,S=24,W=27:2,"
sess "${login[@]}" UIDL QUIT
is "$(printf '%s\n' "$OUT" | grep -c ' 1800000001\.M000001P99')/$(ls "$A/new" | wc -l)" "1/0" "a message both in new/ and cur/ (one file): listed once, its new/ name removed"
# new/NAME and cur/NAME:2, holding different files: the new one waits in new/, with a warning
printf 'Subject: one\n\n1\n' >"$A/new/1800000003.M000001P99,S=19,W=22"
printf 'Subject: other\n\n22\n' >"$A/cur/1800000003.M000001P99,S=19,W=22:2,"
sess "${login[@]}" UIDL QUIT
is "$(printf '%s\n' "$OUT" | grep -c ' 1800000003\.M000001P99')/$(ls "$A/new")" "1/1800000003.M000001P99,S=19,W=22" \
  "new/NAME with a different file as cur/NAME:2,: cur/'s listed once, new/'s left in new/"
like "$ERR" "new/1800000003.M000001P99,S=19,W=22: cur/ holds a different file of that name" "... with a warning naming it"
rm -f "$A/new/1800000003.M000001P99,S=19,W=22" "$A/cur/1800000003.M000001P99,S=19,W=22:2,"
# new/ into cur/: the links, cur/ synced, then the unlinks (never a rename)
printf 'Subject: moved\n\nhow\n' >"$A/new/1800000002.M000001P99,S=21,W=24"
if command -v strace >/dev/null; then
  printf '%s\r\n' "${login[@]}" QUIT | ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$T_TMP/mv.st" \
    -e trace=link,linkat,rename,renameat,renameat2,unlink,unlinkat,fsync env E2E_HOME="$H" e2e-pop3d >/dev/null 2>&1
  l1=$(grep -nE ' (link|linkat)\(.*new/1800000002' "$T_TMP/mv.st" | head -1 | cut -d: -f1)
  l3=$(grep -nE ' (unlink|unlinkat)\(.*new/1800000002' "$T_TMP/mv.st" | head -1 | cut -d: -f1)
  [ -n "$l1" ] && [ -n "$l3" ] && [ "$l1" -lt "$l3" ] && ! grep -qE 'rename[a-z0-9]*\(.*new/1800000002' "$T_TMP/mv.st" \
    && sed -n "${l1},${l3}p" "$T_TMP/mv.st" | grep -q ' fsync('
  ok $? "new/ into cur/: a link, an fsync, then the unlink (strace lines ${l1:-none}, ${l3:-none}), never a rename"
fi

NALL=$(ls "$A"/cur | wc -l)
sess "${login[@]}" "DELE 1" "LIST 1" "RETR 1" "TOP 1 0" "UIDL 1" "DELE 1" STAT LIST
is "$(words 10)" "+OK +OK +OK -ERR -ERR -ERR -ERR -ERR +OK +OK " "a DELEd message is invisible"
like "$OUT" "-ERR message deleted" "... message deleted"
is "$(printf '%s\n' "$OUT" | sed -n 10p)" "+OK $((NALL - 1)) $(( $(python3 "$P" expect "$A" STAT | cut -d' ' -f3) - $(python3 "$P" expect "$A" LIST | sed -n 1p | cut -d' ' -f2) ))" "STAT leaves it out"
unlike "$(printf '%s\n' "$OUT" | sed -n '/^+OK scan/,$p')" "^1 " "LIST leaves it out"
is "$(ls "$A"/cur | wc -l)" "$NALL" "DELE then a dropped connection deletes nothing"
like "$ERR" "close reason=eof user=alice" "dropped connection logged"

sess "${login[@]}" "DELE 1" "DELE 2" RSET STAT QUIT
is "$(printf '%s\n' "$OUT" | sed -n 6,7p | tr '\n' '|')" "+OK messages undeleted|$(python3 "$P" expect "$A" STAT)|" "RSET undeletes"
is "$(ls "$A"/cur | wc -l)" "$NALL" "DELE, RSET, QUIT deletes nothing"

VICTIM=$(python3 "$P" expect "$A" UIDL | sed -n 2p | cut -d' ' -f2)
sess "${login[@]}" "DELE 2" QUIT
is "$(words)" "+OK +OK +OK +OK " "DELE then QUIT"
is "$(ls "$A"/cur | wc -l)" "$((NALL - 1))" "QUIT removed one file"
ok "$(ls "$A"/cur | grep -c "^$VICTIM:" | grep -qx 0; echo $?)" "... the DELEd one"
like "$ERR" "quit user=alice retr=0 dele=1" "quit logged with counts"
sess "${login[@]}" "RETR 0" "RETR 99" "LIST x" "TOP 1" "TOP 1 x" "RETR" QUIT
is "$(words)" "+OK +OK -ERR -ERR -ERR -ERR -ERR -ERR +OK " "bad message numbers and arguments"
sess "USER alice " "PASS s3cret pass" "LIST  1  " "STAT " QUIT
is "$(words)" "+OK +OK +OK +OK +OK " "spaces around arguments are ignored (but kept in the password)"

# Seen flag only at QUIT, only after RETR.
printf 'Subject: s\n\nseen?\n' >"$H/mail/carol/new/1700000500.M000001P1,S=17,W=20"
sess "USER carol" "PASS carolpw" "RETR 1"
ok "$(ls "$H"/mail/carol/cur | grep -qx '1700000500.M000001P1,S=17,W=20:2,'; echo $?)" "RETR and a dropped connection: not marked seen"
sess "USER carol" "PASS carolpw" "TOP 1 0" QUIT
ok "$(ls "$H"/mail/carol/cur | grep -qx '1700000500.M000001P1,S=17,W=20:2,'; echo $?)" "TOP only: not marked seen"
sess "USER carol" "PASS carolpw" "RETR 1" QUIT "UIDL"
ok "$(ls "$H"/mail/carol/cur | grep -qx '1700000500.M000001P1,S=17,W=20:2,S'; echo $?)" "RETR and QUIT: marked seen"
sess "USER carol" "PASS carolpw" "UIDL 1" "DELE 1" QUIT
is "$(printf '%s\n' "$OUT" | sed -n 4p)" "+OK 1 1700000500.M000001P1,S=17,W=20" "UID unchanged by the seen flag"
is "$(ls "$H"/mail/carol/cur | wc -l)" 0 "a seen message is deleted too"

# Odd names and contents.
py_checks session "$H/mail/bob" bob bobpw
sess "USER bob" "PASS bobpw" UIDL QUIT
is "$(printf '%s\n' "$OUT" | grep -cE '^[0-9]+ h[0-9a-f]{64}$')" 2 "long and unprintable names get a hashed UID"
ok "$(printf '%s\n' "$OUT" | sed -n '/^+OK unique-id/,/^\.$/p' | sed '1d;$d' | cut -d' ' -f2 | LC_ALL=C grep -qvE '^[!-~]{1,70}$'; [ $? = 1 ]; echo $?)" "every UID is 1-70 printable characters"
is "$(printf '%s\n' "$OUT" | sed -n '/^+OK unique-id/,/^\.$/p' | sed '1d;$d' | wc -l)" 6 "dot files and directories are not messages"
ok "$([ -e "$H/mail/bob/new/.tmpfile" ]; echo $?)" "dot files in new/ stay"

# ---- bad input ----
long248=$(printf '%0248d' 0); long249=$(printf '%0249d' 0)
sess "USER $long248" "USER $long249" CAPA "NOOP $(printf '%020000d' 0)" QUIT
is "$(words)" "+OK -ERR +OK USER UIDL TOP PIPELINING RESP-CODES AUTH-RESP-CODE IMPLEMENTATION . -ERR +OK " "255-octet line taken; 256 and 20000 octets -ERR, session in sync"
like "$OUT" "-ERR line too long" "... line too long"
printf 'USER %s\r\nQUIT\r\n' "$(printf '%0200000d' 0)" | env E2E_HOME="$H" e2e-pop3d >"$T_TMP/out" 2>"$T_TMP/err"; RC=$?
is "$(tr -d '\r' <"$T_TMP/out" | sed 1d | tr '\n' '|') $RC" "-ERR line too long, closing| 100" "no line end within 64 KiB past the limit: -ERR and closed, exit 100"
like "$(cat "$T_TMP/err")" "close reason=line_too_long" "... logged"
# Per-peer cap (E2E_PEERDIR, E2E_POP3PEER): a second session from one address.
mkdir -p "$T_TMP/peers"; mkfifo "$T_TMP/phold"
env PROTO=TCP TCPREMOTEIP=127.0.0.9 E2E_PEERDIR="$T_TMP/peers" E2E_POP3PEER=1 e2e-pop3d <"$T_TMP/phold" >"$T_TMP/pout" 2>/dev/null &
PH=$!; bg_pid $PH
exec {PFD}>"$T_TMP/phold"
for _ in $(seq 100); do grep -q '^+OK' "$T_TMP/pout" && break; sleep 0.05; done
printf 'QUIT\r\n' | env PROTO=TCP TCPREMOTEIP=127.0.0.9 E2E_PEERDIR="$T_TMP/peers" E2E_POP3PEER=1 e2e-pop3d >"$T_TMP/out" 2>"$T_TMP/err"; RC=$?
is "$(tr -d '\r' <"$T_TMP/out" | tr '\n' '|') $RC" "-ERR [SYS/TEMP] too many connections from your address| 111" "E2E_POP3PEER=1: a second session from 127.0.0.9 gets -ERR instead of the greeting, exit 111"
like "$(cat "$T_TMP/err")" "close reason=peer_limit" "... logged"
printf 'QUIT\r\n' | env PROTO=TCP TCPREMOTEIP=127.0.0.8 E2E_PEERDIR="$T_TMP/peers" E2E_POP3PEER=1 e2e-pop3d >"$T_TMP/out" 2>/dev/null
is "$(tr -d '\r' <"$T_TMP/out" | cut -c1-3 | tr '\n' ' ')" "+OK +OK " "... another address is served"
exec {PFD}>&-; wait $PH
printf 'QUIT\r\n' | env PROTO=TCP TCPREMOTEIP=127.0.0.9 E2E_PEERDIR="$T_TMP/peers" E2E_POP3PEER=1 e2e-pop3d >"$T_TMP/out" 2>/dev/null
is "$(tr -d '\r' <"$T_TMP/out" | cut -c1-3 | tr '\n' ' ')" "+OK +OK " "... and 127.0.0.9 again once the first session is gone"
E2E_HOME=$H E2E_POP3PEER=-1 e2e-pop3d </dev/null >/dev/null 2>"$T_TMP/err"
is "$?" 100 "malformed E2E_POP3PEER: exit 100"
like "$(cat "$T_TMP/err")" "E2E_POP3PEER" "... naming it"
printf 'NO\0OP\r\nQUIT\r\n' | env E2E_HOME="$H" e2e-pop3d >"$T_TMP/out" 2>/dev/null
is "$(tr -d '\r' <"$T_TMP/out" | sed -n 2,3p | tr '\n' '|')" "-ERR syntax error|+OK e2e POP3 signing off|" "NUL in a command"
printf 'CAPA\nQUIT\n' | env E2E_HOME="$H" e2e-pop3d >"$T_TMP/out" 2>/dev/null
is "$(tr -d '\r' <"$T_TMP/out" | tail -1)" "+OK e2e POP3 signing off" "bare LF line ends accepted"
sess BOGUS BOGUS BOGUS BOGUS BOGUS BOGUS BOGUS BOGUS BOGUS BOGUS BOGUS BOGUS CAPA QUIT
is "$(printf '%s\n' "$OUT" | grep -c '^-ERR unknown command')" 10 "ten bad commands answered"
is "$(printf '%s\n' "$OUT" | tail -1)" "-ERR too many errors, closing" "... then closed"
is "$RC" 0 "... exit 0"
env -u E2E_HOME e2e-pop3d </dev/null >/dev/null 2>"$T_TMP/err"
is "$?" 100 "no E2E_HOME: exit 100"
like "$(cat "$T_TMP/err")" "E2E_HOME" "... naming it"
E2E_HOME=$H E2E_TIMEOUT=soon e2e-pop3d </dev/null >/dev/null 2>&1
is "$?" 100 "malformed E2E_TIMEOUT: exit 100"

# ---- timeouts: input held open through a FIFO, no process left behind ----
mkfifo "$T_TMP/idle"
exec 7<>"$T_TMP/idle"
printf 'USER alice\r\nPASS s3cret pass\r\nDELE 1\r\n' >&7
t0=$(ms); E2E_HOME=$H E2E_TIMEOUT=1 e2e-pop3d <"$T_TMP/idle" >"$T_TMP/out" 2>"$T_TMP/err"; RC=$?; t1=$(ms)
exec 7>&-
is "$(tr -d '\r' <"$T_TMP/out" | tail -1)" "-ERR timeout" "idle client: -ERR timeout"
ok $(( t1 - t0 >= 900 && t1 - t0 < 4000 ? 0 : 1 )) "... after E2E_TIMEOUT=1 ($((t1 - t0)) ms)"
is "$RC" 111 "... exit 111"
is "$(ls "$A"/cur | wc -l)" "$((NALL - 1))" "... and the DELE is forgotten"
like "$(cat "$T_TMP/err")" "close reason=timeout user=alice" "... logged"
exec 7<>"$T_TMP/idle"
( for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do printf x; sleep 0.2; done ) >&7 &
TRICKLE=$!; bg_pid $TRICKLE
t0=$(ms); E2E_HOME=$H E2E_TIMEOUT=1 e2e-pop3d <"$T_TMP/idle" >"$T_TMP/out" 2>/dev/null; t1=$(ms)
kill $TRICKLE 2>/dev/null; wait $TRICKLE 2>/dev/null
exec 7>&-
ok $(( t1 - t0 < 2500 ? 0 : 1 )) "a line trickled byte by byte still times out per command ($((t1 - t0)) ms)"

BIG=$(python3 "$P" expect "$A" LIST | sort -k2 -n | tail -1 | cut -d' ' -f1)
py_checks stall alice 's3cret pass' "$BIG"
is "$(ls "$A"/cur | wc -l)" "$((NALL - 1))" "... nothing deleted"
sess "${login[@]}" QUIT
is "$(words)" "+OK +OK +OK " "... and the mailbox is free again"

# ---- the sizes of messages named without S= and W= (.pop3.sizes) ----
# Three messages another program put into cur/: each size is counted at
# the first login and kept in .pop3.sizes, which later logins use (a
# size changed by hand there is what LIST reports: the file was not read)
# as long as the file's own size is the one it names.
D=$H/mail/dave
printf 'Subject: a\n\none\n' >"$D/cur/1700000001.x:2,"           # 16 octets, 3 LF
printf 'Subject: b\n\ntwo\nlines\n' >"$D/cur/1700000002.y:2,S"   # 22 octets, 4 LF
printf 'Subject: c\r\n\r\ncrlf\r\n' >"$D/cur/1700000003.z"      # 20 octets, CRLF already
sess "USER dave" "PASS davepw" LIST QUIT
is "$(printf '%s\n' "$OUT" | sed -n 5,7p | tr '\n' '|')" "1 19|2 26|3 20|" "sizes of messages named without them, counted"
is "$(cat "$D/.pop3.sizes" 2>/dev/null)" "16 19 1700000001.x
22 26 1700000002.y
20 20 1700000003.z" ".pop3.sizes: the file's size, LIST's size and the name, sorted by name"
printf '16 999 1700000001.x\n22 26 1700000002.y\n20 20 1700000003.z\n' >"$D/.pop3.sizes"
sess "USER dave" "PASS davepw" LIST QUIT
is "$(printf '%s\n' "$OUT" | sed -n 5p)" "1 999" "a later login takes the size from .pop3.sizes, not from the file"
printf '17 999 1700000001.x\n22 26 1700000002.y\n20 20 1700000003.z\n' >"$D/.pop3.sizes"
sess "USER dave" "PASS davepw" LIST QUIT
is "$(printf '%s\n' "$OUT" | sed -n 5p)" "1 19" "a line naming another file size is not used: counted again"
is "$(head -1 "$D/.pop3.sizes")" "16 19 1700000001.x" "... and the line is rewritten"
for bad in 'garbage' '16 19 1700000001.x\n17 1 1700000001.x' '22 26 1700000002.y\n18 1 1700000001.x' '18 22\n' '16 19 1700000001.x'; do
  printf "$bad" >"$D/.pop3.sizes"
  sess "USER dave" "PASS davepw" LIST QUIT
  is "$(printf '%s\n' "$OUT" | sed -n 5,7p | tr '\n' '|')" "1 19|2 26|3 20|" "a malformed .pop3.sizes is not used ($(printf "$bad" | head -c 24 | tr '\n' '/'))"
  like "$ERR" "pop3.sizes is malformed" "... and says so"
done
is "$(wc -l <"$D/.pop3.sizes")" 3 "... and is written anew"
truncate -s 65M "$D/.pop3.sizes"
sess "USER dave" "PASS davepw" LIST QUIT
is "$(printf '%s\n' "$OUT" | sed -n 5,7p | tr '\n' '|')" "1 19|2 26|3 20|" "a .pop3.sizes over 64 MiB is not read"
like "$ERR" "unable to read .pop3.sizes.*too large" "... and that is said"
is "$(wc -c <"$D/.pop3.sizes")" 57 "... and it is written anew (three lines)"
# a .pop3.sizes that can be neither read nor replaced (a directory that is
# not empty): said twice, the sizes counted, no temporary file left
mv "$D/.pop3.sizes" "$T_TMP/sizes.keep" && mkdir -p "$D/.pop3.sizes/x"
sess "USER dave" "PASS davepw" LIST QUIT
is "$(printf '%s\n' "$OUT" | sed -n 5,7p | tr '\n' '|')" "1 19|2 26|3 20|" "an unreadable .pop3.sizes: the sizes are counted"
like "$ERR" "unable to read .pop3.sizes" "... the read failure is logged"
like "$ERR" "unable to write .pop3.sizes" "... and the failure to replace it"
is "$(find "$D" -maxdepth 1 -name '.t*' | wc -l)" 0 "... no temporary file is left"
rm -rf "$D/.pop3.sizes" && mv "$T_TMP/sizes.keep" "$D/.pop3.sizes"
# a name with a LF gets no line (it would break the file): counted at each
# login, and the file stays one that parses
nl=$'1700000004.n\nl:2,'
printf 'Subject: d\n\nfour\n' >"$D/cur/$nl"                          # 17 octets, 3 LF
sess "USER dave" "PASS davepw" LIST QUIT
is "$(printf '%s\n' "$OUT" | sed -n 8p)" "4 20" "a message whose name has a LF: its size counted"
is "$(wc -l <"$D/.pop3.sizes")" 3 "... and no line for it in .pop3.sizes"
sess "USER dave" "PASS davepw" LIST QUIT
is "$(printf '%s\n' "$OUT" | sed -n 8p)" "4 20" "... counted again at the next login"
unlike "$ERR" "malformed" "... where .pop3.sizes still parses"
rm -f "$D/cur/$nl"
sess "USER dave" "PASS davepw" "DELE 2" QUIT
sess "USER dave" "PASS davepw" LIST QUIT
is "$(cut -d' ' -f3 "$D/.pop3.sizes" | tr '\n' ' ')" "1700000001.x 1700000003.z " "the line of a deleted message goes"
# RETR sends the file as it was listed: what is appended later is not sent
# (a Maildir file does not change; LIST's size stays true).
mkfifo "$T_TMP/grow"
env E2E_HOME="$H" e2e-pop3d <"$T_TMP/grow" >"$T_TMP/g.out" 2>/dev/null &
G=$!; bg_pid $G
exec 7>"$T_TMP/grow"
printf 'USER dave\r\nPASS davepw\r\nLIST 1\r\n' >&7
for _ in $(seq 50); do grep -q '^+OK 1 19' "$T_TMP/g.out" && break; sleep 0.1; done
printf 'appended later\n' >>"$D/cur/1700000001.x:2,"
printf 'RETR 1\r\nQUIT\r\n' >&7; exec 7>&-
wait $G
is "$(tr -d '\r' <"$T_TMP/g.out" | sed -n '/^+OK 19 octets/,/^\.$/p' | tr '\n' '|')" "+OK 19 octets|Subject: a||one|.|" \
  "a message that grew after LIST: RETR sends the octets listed"
rm -f "$D"/cur/* "$D/.pop3.sizes"

# ---- one session per mailbox ----
mkfifo "$T_TMP/hold"
env E2E_HOME="$H" e2e-pop3d <"$T_TMP/hold" >"$T_TMP/s1" 2>"$T_TMP/s1.err" &
S1=$!; bg_pid $S1
exec 7>"$T_TMP/hold"
printf 'USER alice\r\nPASS s3cret pass\r\n' >&7
for _ in $(seq 50); do grep -q 'messages' "$T_TMP/s1" && break; sleep 0.1; done
like "$(cat "$T_TMP/s1")" "messages" "first session logged in and holds the mailbox"
sess "${login[@]}" STAT QUIT
is "$(printf '%s\n' "$OUT" | sed -n 3p)" "-ERR [IN-USE] mailbox is in use by another session" "second session: -ERR [IN-USE]"
is "$(printf '%s\n' "$OUT" | wc -l)" 3 "... and closed"
like "$ERR" "in-use user=alice" "... logged"
sess "USER bob" "PASS bobpw" QUIT
is "$(words)" "+OK +OK +OK " "another user's mailbox is not locked"
printf 'STAT\r\nQUIT\r\n' >&7; exec 7>&-
wait $S1; is "$?" 0 "first session carried on and quit"
like "$(tr -d '\r' <"$T_TMP/s1")" "signing off" "... with +OK"
sess "${login[@]}" QUIT
is "$(words)" "+OK +OK +OK " "the lock is gone after QUIT"
env E2E_HOME="$H" e2e-pop3d <"$T_TMP/hold" >"$T_TMP/s1" 2>/dev/null &
S1=$!; bg_pid $S1
exec 7>"$T_TMP/hold"
printf 'USER alice\r\nPASS s3cret pass\r\n' >&7
for _ in $(seq 50); do grep -q 'messages' "$T_TMP/s1" && break; sleep 0.1; done
kill -9 $S1; wait $S1 2>/dev/null; exec 7>&-
sess "${login[@]}" QUIT
is "$(words)" "+OK +OK +OK " "the lock is gone when a session is killed"

# ---- real clients over tcpserver ----
PORT=$(free_port)
tcpserver -v -R -H -l0 127.0.0.1 "$PORT" env E2E_HOME="$H" E2E_TIMEOUT=30 "$TOP/bin/e2e-pop3d" 2>"$T_TMP/tcp.log" &
bg_pid $!
probe() (  # a whole session: greeting, QUIT, its reply (a subshell: exec may fail)
  local g q
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  read -r -t 10 g <&3; printf 'QUIT\r\n' >&3; read -r -t 10 q <&3
  exec 3<&-
  [ "${g%$'\r'}" = "+OK e2e POP3 ready" ] && [ "${q%$'\r'}" = "+OK e2e POP3 signing off" ]
)
up=1; for _ in $(seq 50); do probe 2>/dev/null && { up=0; break; }; sleep 0.1; done
ok $up "tcpserver answers on 127.0.0.1:$PORT with the greeting"

cp "$SRC"/new/* "$H"/mail/carol/new/
py_checks poplib "$PORT" "$H/mail/carol" carol carolpw
py_checks pipeline "$PORT" carol carolpw

M=$T_TMP/mpop; mkdir -p "$M"/got/{tmp,new,cur}
cp "$SRC"/new/* "$H"/mail/erin/new/
cat >"$M/rc" <<EOF
defaults
tls off
auth user
received_header off
uidls_file $M/uidls
timeout 30
account test
host 127.0.0.1
port $PORT
user erin
passwordeval echo erinpw
delivery maildir $M/got
keep on
EOF
chmod 600 "$M/rc"
mpop -q -C "$M/rc" test >"$M/log" 2>&1
ok $? "mpop fetched (keep on)"
py_checks compare "$SRC" "$M/got"
mpop -q -C "$M/rc" test >"$M/log" 2>&1
ok $? "mpop again"
is "$(ls "$M"/got/new | wc -l)" "$NMSG" "... fetched nothing new: UIDs stable"
mpop -q -C "$M/rc" --keep=off --only-new=off test >"$M/log" 2>&1
ok $? "mpop with keep off"
is "$(ls "$M"/got/new | wc -l)" "$((NMSG * 2))" "... fetched everything again"
is "$(find "$H"/mail/erin/cur "$H"/mail/erin/new -type f | wc -l)" 0 "... and deleted it on the server"
like "$(cat "$T_TMP/tcp.log")" "quit user=erin retr=$NMSG dele=$NMSG" "server logged mpop's session"
unlike "$(grep ' end .* status' "$T_TMP/tcp.log")" "status [1-9]" "every tcpserver child exited 0"

done_testing
