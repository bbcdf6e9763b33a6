#!/bin/bash
# e2e-popfetch: a mail.i2p mailbox fetched over the real private I2P network
# (tests/i2pnet.sh). A stand-in for Postman's POP3 server
# (tests/popfetch/pop3.py) runs behind a real e2e-samaccept on router B,
# under the name pop.postman.i2p (a hosts.txt line); Alice's mail home runs
# its s6 tree on router A (samaccept holds the session e2e-popfetch
# borrows, the runner delivers what e2e-popfetch queued), and e2e-popfetch
# runs as the account the popfetch service uses. Checked: messages arrive
# byte for byte, UIDLs keep them from being fetched twice, DELE only for
# what was fetched, a wrong password, a server that dies in the middle of
# RETR or stops answering, an oversized message, a malformed reply; then
# the popfetch service itself (a fetch at start, then every few seconds).
. "$(dirname "$0")/lib.sh"

for p in e2e-popfetch e2e-samaccept e2e-runner e2e-setup; do
  [ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
KEYS=$TOP/tests/i2p/keys
POP=$TOP/tests/popfetch/pop3.py
chmod 755 "$T_TMP"
H=$T_TMP/alice ST=$T_TMP/postman NET=$T_TMP/net
LOG=$T_TMP/fetch.log
ms() { echo $(( $(date +%s%N) / 1000000 )); }
until_ok() { local n=$1; shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }

mkhome "$H" alice.i2p 'alice:a good password' >/dev/null 2>&1
ok $? "Alice's mail home (e2e-setup, e2e-passwd)"
AS=$(cat "$H/service/popfetch/data/user" 2>/dev/null)   # the account as root; empty otherwise
set_env() { printf '%s\n' "$2" > "$H/env/$1"; }
set_env E2E_POPFETCH_USER alice
set_env E2E_POPFETCH_TIMEOUT 20
set_env E2E_SMTP "127.0.0.1:$(free_port)"
set_env E2E_POP3 "127.0.0.1:$(free_port)"
set_env E2E_RETRY 1
# auth TEXT: HOME/popfetch/auth as the login file of the fetching account
auth() {
  rm -f "$H/popfetch/auth"; (umask 077; printf '%s\n' "$1" > "$H/popfetch/auth")
  [ -z "$AS" ] || chown "$AS" "$H/popfetch/auth"
}
# fetch [VAR=VALUE...]: one run, as the service runs it; RC, $LOG
fetch() {
  s6-envdir "$H/env" env PATH="$H/libexec:$TOP/bin:$PATH" "$@" ${AS:+s6-setuidgid "$AS"} e2e-popfetch 2> "$LOG"
  RC=$?
}

# ---- settings and the login file, before any network ----
fetch E2E_SAM=127.0.0.1:1
is "$RC" 100 "no HOME/popfetch/auth: exit 100"
like "$(cat "$LOG")" "fatal: no credentials: $H/popfetch/auth is missing" "... saying which file is missing"
auth 'pop.postman.i2p alice secret'
chmod 644 "$H/popfetch/auth"
fetch E2E_SAM=127.0.0.1:1
is "$RC" 100 "a login file others can read: exit 100"
like "$(cat "$LOG")" "must be a file of uid [0-9]+ with mode 0600" "... saying why"
auth 'pop.other.i2p alice secret'
fetch E2E_SAM=127.0.0.1:1
is "$RC" 100 "no line for pop.postman.i2p in the login file: exit 100"
auth 'pop.postman.i2p alice secret'
fetch E2E_SAM=127.0.0.1:1 E2E_POPFETCH_USER=nobody
is "$RC" 100 "E2E_POPFETCH_USER not a user here: exit 100"
fetch E2E_SAM=127.0.0.1:1
is "$RC" 111 "no SAM bridge: exit 111"
like "$(cat "$LOG")" "fatal: cannot look up pop\.postman\.i2p: .*127\.0\.0\.1:1" "... naming what failed"
[ ! -s "$H/popfetch/uidl" ]; ok $? "nothing recorded"

if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then
  diag "real I2P network skipped (E2E_TEST_NOI2P=1)"
  done_testing; exit
fi

# ---- the network, Postman's stand-in, Alice's tree ----
SVSCAN=
cleanup() {
  if [ -n "$SVSCAN" ]; then
    s6-svscanctl -t "$H/service" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$SVSCAN" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -z "${SR:-}" ] || { kill "$SR" 2>/dev/null; wait "$SR" 2>/dev/null; }
  "$TOP/tests/i2pnet.sh" stop "$NET" >/dev/null 2>&1
  t_cleanup
}
trap cleanup EXIT
mkdir -p "$NET" "$ST/drop" "$T_TMP/pmhome"
t0=$(ms)
"$TOP/tests/i2pnet.sh" host "$NET" pop.postman.i2p ed25519-1 &&
  E2E_TEST_WATCHPID=$$ "$TOP/tests/i2pnet.sh" launch "$NET" > "$T_TMP/net.log" 2>&1
ok $? "i2pnet launched, pop.postman.i2p in the address books" || { sed 's/^/# /' "$T_TMP/net.log"; done_testing; exit; }
. "$NET/env"
PM32=$(cat "$KEYS/ed25519-1.b32")
echo 'alice secret' > "$ST/pass"
cp "$KEYS/ed25519-1.priv" "$T_TMP/pmhome/key"; chmod 600 "$T_TMP/pmhome/key"
env E2E_HOME="$T_TMP/pmhome" E2E_SAM="$SAM_B" E2E_SAM_ID=postman E2E_SAM_OPTIONS="$SAM_OPTIONS" \
  e2e-samaccept -d 3 -t 90 "$PY" "$POP" "$ST" 3> "$T_TMP/pmready" 2> "$T_TMP/postman.log" & SR=$!
set_env E2E_SAM "$SAM_A"
set_env E2E_SAM_ID alicemail
set_env E2E_SAM_OPTIONS "$SAM_OPTIONS"
cp "$KEYS/ed25519-2.priv" "$H/key"; chmod 600 "$H/key"
e2e-setup "$H" alice.i2p > /dev/null 2>&1        # enables samaccept now that there is a key
touch "$H/service/popfetch/down"                  # the service comes last
svscan_env "$H"
env "$SVSCAN_ENV" s6-svscan "$H/service" < /dev/null > "$T_TMP/svscan.log" 2>&1 & SVSCAN=$!
"$TOP/tests/i2pnet.sh" wait "$NET" >> "$T_TMP/net.log" 2>&1
ok $? "network ready ($(($(ms) - t0)) ms)" || sed 's/^/# /' "$T_TMP/net.log"
until_ok 900 test -s "$T_TMP/pmready" && s6-svwait -U -t 90000 "$H/service/samaccept" "$H/service/runner"
ok $? "Postman's stand-in and Alice's session are up ($(($(ms) - t0)) ms)" || { sed 's/^/# /' "$T_TMP/postman.log"; cat "$H/log/samaccept/current" | sed 's/^/# /'; }

# msg N UID FILE: message N of the maildrop
msg() { cp "$3" "$ST/drop/$(printf %04d "$1").$2"; }
M=$T_TMP/m; mkdir -p "$M"
printf 'From: someone@clearnet.example\nTo: alice@mail.i2p\nSubject: one\n\nhello from the clearnet\n' > "$M/1"
printf 'From: bob@mail.i2p\nTo: alice@mail.i2p\nSubject: dots\n\n.\n..two\n.one\n\xc3\xa9t\xc3\xa9 \xff\r in a line\n\nend\n' > "$M/2"
"$PY" -c '
import random, sys
r = random.Random(3)
out = bytearray(b"Subject: big\n\n")
while len(out) < 300 * 1024:
    out += bytes(r.choice(b".ab\xe9 \t") for _ in range(r.randrange(0, 200))) + b"\n"
sys.stdout.buffer.write(out)' > "$M/3"
for i in 4 5 6 7 9 10 11; do printf 'Subject: message %s\n\nbody %s\n' $i $i > "$M/$i"; done
cp "$M/3" "$M/8"; printf 'the eighth\n' >> "$M/8"
msg 1 uid-one "$M/1"; msg 2 uid-two "$M/2"; msg 3 uid-three "$M/3"

MD=$H/mail/alice
nmail() { ls "$MD/new" "$MD/cur" 2>/dev/null | grep -c ',S='; }
has_mail() { [ "$(nmail)" -ge "$1" ]; }
# delivered FILE: a message in Alice's Maildir is FILE, after the two
# delivery lines of e2e-local
delivered() {
  local f
  for f in "$MD"/new/* "$MD"/cur/*; do
    [ -f "$f" ] || continue
    [ "$(head -2 "$f")" = "Return-Path: <>
Delivered-To: alice@alice.i2p" ] && tail -n +3 "$f" | cmp -s - "$1" && return 0
  done
  return 1
}
sessions() { grep -c '^SESSION' "$ST/log"; }
# last: the commands of the stand-in's last session
last() { awk '/^SESSION/ { s = "" } { s = s $0 "\n" } END { printf "%s", s }' "$ST/log"; }

# ---- three messages ----
t=$(ms); fetch; t=$(($(ms) - t))
is "$RC" 0 "three new messages: exit 0 ($t ms)"; [ "$RC" = 0 ] || sed 's/^/# /' "$LOG"
like "$(cat "$LOG")" "connect server=pop\.postman\.i2p peer=$PM32 result=0" "connected to pop.postman.i2p by name, through Alice's session"
like "$(cat "$LOG")" "done server=pop\.postman\.i2p peer=$PM32 messages=3 new=3 fetched=3 refused=0 skipped=0 deleted=0" "log: the summary"
is "$(last | grep -v '^SESSION' | tr '\n' ' ')" "USER alice PASS secret UIDL LIST RETR 1 RETR 2 RETR 3 QUIT UPDATE " "the POP3 conversation"
until_ok 200 has_mail 3
is "$(nmail)" 3 "the runner delivered three messages into Alice's Maildir"
delivered "$M/1" && delivered "$M/2" && delivered "$M/3"; ok $? "each byte for byte (dots, 8 bits, a CR, 300 KiB), after Return-Path and Delivered-To"
is "$(cat "$H/popfetch/uidl" | tr '\n' ' ')" "uid-one uid-two uid-three " "the three unique-ids recorded"
is "$(ls "$ST/drop" | wc -l)" 3 "without E2E_POPFETCH_DELETE nothing is deleted on the server"

# ---- again: nothing new ----
fetch
is "$RC" 0 "a second run: exit 0"
like "$(cat "$LOG")" "messages=3 new=0 fetched=0" "nothing new"
unlike "$(last)" "RETR" "no RETR at all"
sleep 1; is "$(nmail)" 3 "the Maildir still holds three"

# ---- a message added later ----
msg 4 uid-four "$M/4"
fetch
is "$RC" 0 "a message added later: exit 0"
is "$(last | grep -c RETR) $(last | grep RETR)" "1 RETR 4" "only it is fetched"
until_ok 200 has_mail 4; delivered "$M/4"; ok $? "and delivered"

# ---- with E2E_POPFETCH_DELETE=1 ----
msg 5 uid-five "$M/5"; msg 6 uid-six "$M/6"
fetch E2E_POPFETCH_DELETE=1
is "$RC" 0 "E2E_POPFETCH_DELETE=1: exit 0"
is "$(last | grep -E '^(RETR|DELE)' | tr '\n' ' ')" "RETR 5 DELE 5 RETR 6 DELE 6 " "DELE for exactly the messages fetched, each after its RETR"
is "$(ls "$ST/drop" | tr '\n' ' ')" "0001.uid-one 0002.uid-two 0003.uid-three 0004.uid-four " "the server removed those two at QUIT, kept the others"
is "$(cat "$H/popfetch/uidl" | tr '\n' ' ')" "uid-one uid-two uid-three uid-four " "the record keeps only what is still on the server"
until_ok 200 has_mail 6; delivered "$M/5" && delivered "$M/6"; ok $? "both delivered"

# ---- a wrong password ----
msg 7 uid-seven "$M/7"
cp "$H/popfetch/uidl" "$T_TMP/uidl.before"
auth 'pop.postman.i2p alice wrong'
fetch
is "$RC" 111 "a wrong password: exit 111"
like "$(cat "$LOG")" "fatal: $PM32: the server refused the login of alice: \[AUTH\] invalid user name or password" "a clear error with the server's words"
cmp -s "$T_TMP/uidl.before" "$H/popfetch/uidl"; ok $? "nothing recorded"
unlike "$(last)" "UIDL|RETR" "nothing listed or fetched"
auth 'pop.postman.i2p alice secret'

# ---- the server dies in the middle of RETR ----
msg 8 uid-eight "$M/8"
echo 'die-retr uid-eight' > "$ST/mode"
fetch E2E_POPFETCH_TIMEOUT=10
is "$RC" 111 "the server dies during RETR: exit 111"
# (the stream's close can be late over I2P: then the silence times out)
like "$(cat "$LOG")" "fatal: $PM32: (connection closed during RETR 6 after [0-9]+ bytes|timed out during RETR 6)" "a clear error"
is "$(cat "$H/popfetch/uidl" | tr '\n' ' ')" "uid-one uid-two uid-three uid-four uid-seven " "the message before it recorded, not the broken one"
until_ok 200 has_mail 7; sleep 1
is "$(nmail)" 7 "only the complete message was delivered"
delivered "$M/7"; ok $? "... byte for byte"
rm -f "$ST/mode"
fetch
is "$RC" 0 "the next run: exit 0"
is "$(last | grep RETR)" "RETR 6" "it fetches the broken one again, only it"
until_ok 200 has_mail 8; delivered "$M/8"; ok $? "... now whole, byte for byte"

# ---- no session to borrow (samaccept down) ----
fetch E2E_SAM_ID=nosuchsession
is "$RC" 111 "no SAM session of that name: exit 111"
like "$(cat "$LOG")" "fatal: cannot reach pop\.postman\.i2p \($PM32\): SAM replied INVALID_ID" "... saying why"

# ---- a server that stops answering ----
msg 9 uid-nine "$M/9"
echo 'hang RETR' > "$ST/mode"
t=$(ms); fetch E2E_POPFETCH_TIMEOUT=2 E2E_POPFETCH_DATA=3; t=$(($(ms) - t))
is "$RC" 111 "no answer to RETR: exit 111"
like "$(cat "$LOG")" "fatal: $PM32: timed out waiting for the reply to RETR" "timed out, saying where"
[ "$t" -lt 10000 ]; ok $? "within the timeout ($t ms)"
echo 'stall-retr uid-nine' > "$ST/mode"
t=$(ms); fetch E2E_POPFETCH_TIMEOUT=2 E2E_POPFETCH_DATA=60; t=$(($(ms) - t))
is "$RC" 111 "half a message, then silence: exit 111"
like "$(cat "$LOG")" "fatal: $PM32: timed out during RETR 7" "timed out after E2E_POPFETCH_TIMEOUT of silence"
[ "$t" -lt 10000 ]; ok $? "long before E2E_POPFETCH_DATA ($t ms)"
echo 'hang GREET' > "$ST/mode"
t=$(ms); fetch E2E_POPFETCH_TIMEOUT=2; t=$(($(ms) - t))
is "$RC" 111 "no greeting: exit 111 ($t ms)"
like "$(cat "$LOG")" "timed out waiting for the greeting" "... timed out"
echo 'garbage UIDL' > "$ST/mode"
fetch
is "$RC" 111 "a reply that is not a status line: exit 111"
like "$(cat "$LOG")" "fatal: $PM32: the reply to UIDL is not a status line: HELLO.THERE" "... quoted in the error"
grep -q uid-nine "$H/popfetch/uidl"; ok $((!$?)) "nothing recorded for the message meanwhile"
rm -f "$ST/mode"

# ---- larger than E2E_MAXSIZE ----
fetch E2E_MAXSIZE=10
is "$RC" 0 "a message over E2E_MAXSIZE: exit 0"
like "$(cat "$LOG")" "warning: message 7 uid=uid-nine of [0-9]+ bytes is larger than E2E_MAXSIZE: left on the server" "skipped with a warning"
unlike "$(last)" RETR "not fetched"
grep -q uid-nine "$H/popfetch/uidl"; ok $((!$?)) "not recorded"
fetch
like "$(cat "$LOG")" "fetched=1" "fetched once the limit allows it"
until_ok 200 has_mail 9; delivered "$M/9"; ok $? "... and delivered"

# ---- the queue fails, or refuses for good ----
msg 12 uid-twelve "$M/11"
printf '#!/bin/sh\ncat > /dev/null; exit 111\n' > "$T_TMP/q111"
printf '#!/bin/sh\ncat > /dev/null; exit 100\n' > "$T_TMP/q100"
chmod 755 "$T_TMP/q111" "$T_TMP/q100"
fetch E2E_QUEUE="$T_TMP/q111" E2E_POPFETCH_DELETE=1
is "$RC" 111 "the queue fails (111): exit 111"
like "$(cat "$LOG")" "fatal: unable to queue message 8 uid=uid-twelve: it stays on the server for the next run" "... saying so"
unlike "$(last)" "DELE" "no DELE"
grep -q uid-twelve "$H/popfetch/uidl"; ok $((!$?)) "nothing recorded"
fetch E2E_QUEUE="$T_TMP/q100" E2E_POPFETCH_DELETE=1
is "$RC" 0 "the queue refuses for good (100): exit 0"
like "$(cat "$LOG")" "warning: the queue refused message 8 uid=uid-twelve for good: left on the server" "a warning"
like "$(cat "$LOG")" "fetched=0 refused=1 skipped=0 deleted=0" "counted as refused"
unlike "$(last)" "DELE" "not deleted on the server"
grep -q uid-twelve "$H/popfetch/uidl"; ok $? "recorded: not fetched again"

# ---- a record whose last line a crash cut short ----
printf 'uid-elev' >> "$H/popfetch/uidl"
fetch
is "$RC" 0 "a half-written last line in the record: exit 0"
like "$(cat "$LOG")" "warning: dropped a half-written last line of $H/popfetch/uidl" "dropped, with a warning"
is "$(tail -c 11 "$H/popfetch/uidl")" "uid-twelve" "the record ends in a whole line again"

# ---- the service: a fetch at start, then every E2E_POPFETCH_EVERY ----
msg 10 uid-ten "$M/10"
set_env E2E_POPFETCH_EVERY 2
n=$(sessions)
rm -f "$H/service/popfetch/down"
s6-svc -u "$H/service/popfetch"
until_ok 200 has_mail 10
ok $? "the popfetch service fetched at start"
delivered "$M/10"; ok $? "... byte for byte"
msg 11 uid-eleven "$M/11"
until_ok 150 has_mail 11
ok $? "and again after E2E_POPFETCH_EVERY seconds"
until_ok 50 grep -q 'fetched=1' "$H/log/popfetch/current"
like "$(cat "$H/log/popfetch/current")" "e2e-popfetch: done server=pop\.postman\.i2p .*fetched=1" "its log in HOME/log/popfetch"
[ "$(sessions)" -gt "$((n + 1))" ]; ok $? "one session per run"
if [ -n "$AS" ]; then
  is "$(stat -c '%U %a' "$H/popfetch" "$H/popfetch/uidl" | tr '\n' ' ')" "$AS 700 $AS 600 " "the service runs as $AS, which owns HOME/popfetch (0700) and the record it wrote (0600)"
  like "$(ps -o user:20=,comm= -p "$(s6-svstat -o pid "$H/service/popfetch")")" "^$AS +(sleep|sh)$" "the service's process (a sleep, or sh during a run) is $AS's, not root's"
fi
if [ "$AS" = e2e-fetch ]; then
  no() { ! s6-setuidgid e2e-fetch "$@" >/dev/null 2>&1; }
  no cat "$H/key" && no cat "$H/users" && no ls "$H/queue/todo" && no ls "$H/mail/alice/new" &&
    s6-setuidgid e2e-fetch test -x "$H/libexec/e2e-queue"
  ok $? "e2e-fetch reads neither the key, users, the queue nor the Maildirs; it may run libexec/e2e-queue"
fi
s6-svc -d "$H/service/popfetch"
sed 's/^/# /' "$LOG"

done_testing
