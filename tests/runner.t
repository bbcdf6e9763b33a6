#!/bin/bash
# e2e-runner: local delivery within a second, postmaster, bounces (RFC 3464)
# for unknown users and unroutable domains, remote recipients through
# e2e-remote (missing: a temporary error and back-off; a stand-in: its K/Z/D
# report), the delay notice and the bounce at the end of the lifetime, the
# lock, SIGTERM, no CPU while idle, users made and removed while it runs,
# and the long-lived e2e-local -w (one for many deliveries, a hand-off
# that cannot be sent, killed mid-delivery, ended when idle).
. "$(dirname "$0")/lib.sh"

# The runner's PATH has our programs only, so that "e2e-remote" is
# whatever a test puts there (nothing, or a stand-in).
mkdir -p "$T_TMP/bin"
for p in e2e-local e2e-queue e2e-bounce; do ln -s "$TOP/bin/$p" "$T_TMP/bin/$p"; done
RPATH="$T_TMP/bin:/usr/bin:/bin"

envelope() { printf 'F%s\0' "$1"; shift; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; }
inject() {  # inject HOME SENDER RCPT... < message
  local h=$1; shift
  E2E_HOME=$h e2e-queue 1< <(envelope "$@")
}
wait_for() {  # wait_for TENTHS COMMAND...: until COMMAND succeeds
  local n=$1; shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}
RPID=
start_runner() {  # start_runner HOME LOG [VAR=VALUE...]
  local h=$1 log=$2; shift 2
  env PATH="$RPATH" E2E_HOME="$h" E2E_DOMAIN=alice.i2p "$@" "$TOP/bin/e2e-runner" 2>>"$log" &
  RPID=$!
  bg_pid $RPID
  wait_for 50 grep -q 'e2e-runner: started' "$log"
}
nmail() { ls "$1/new" "$1/cur" 2>/dev/null | grep -c ',S='; }
has() {  # has USER N [USER N]...: each Maildir holds exactly N messages
  while [ $# -gt 1 ]; do [ "$(nmail "$H/mail/$1")" = "$2" ] || return 1; shift 2; done
}
mails() { cat "$1"/new/* "$1"/cur/* 2>/dev/null; }
queue_empty() { [ -z "$(find "$1/queue/todo" "$1/queue/mess" "$1/queue/info" -type f)" ]; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

msg() { printf 'From: Alice <alice@alice.i2p>\nSubject: %s\nMessage-ID: <%s@alice.i2p>\n\nbody %s\n' "$1" "$1" "$1"; }

# ================= local delivery =================
H=$T_TMP/a
mkhome "$H" alice.i2p alice:pw bob:pw carol:pw dave:pw 2>/dev/null
ok $? "mail home"
LOG=$T_TMP/a.log
start_runner "$H" "$LOG"
ok $? "runner started"

msg one | inject "$H" alice@alice.i2p bob@alice.i2p
is "$?" 0 "queued"
wait_for 10 has bob 1
ok $? "delivered into bob's Maildir within a second"
f=$(ls "$H/mail/bob/new")
like "$f" '^[0-9]+\.M[0-9]+P[0-9]+R0,S=[0-9]+,W=[0-9]+$' "Maildir name <queue id>R<n>,S=,W="
like "$(head -2 "$H/mail/bob/new/$f")" $'^Return-Path: <alice@alice.i2p>\nDelivered-To: bob@alice.i2p$' "Return-Path and Delivered-To"
wait_for 10 queue_empty "$H"
ok $? "the queue is empty afterwards"
like "$(cat "$LOG")" 'delivery id=[0-9.MP]+ rcpt=bob@alice.i2p result=ok reason="delivered to bob"' "log line for the delivery"
# the finished queue file is kept in free/ as it is (a small one keeps its
# blocks) for e2e-queue to fill again (once mess/ is synced: within 0.1
# s): the next message is written over it in the same inode, and the file
# cut to the new length
wait_for 10 test -e "$H/queue/free/0"
{ envelope alice@alice.i2p bob@alice.i2p; msg one; } | cmp -s - "$H/queue/free/0"
ok $? "the finished queue file: in queue/free/0, as it was queued"
ino=$(stat -c %i "$H/queue/free/0")
msg 2 | inject "$H" alice@alice.i2p dave@alice.i2p
wait_for 10 has dave 1 && wait_for 10 queue_empty "$H" && wait_for 10 test -e "$H/queue/free/1"
ok $? "the next message delivered"
is "$(stat -c %i "$H/queue/free/1" 2>&1) $(ls "$H/queue/free" | wc -l)" "$ino 1" "written into free/0's inode, which is back in free/1 (the slot after the one filled last)"
{ envelope alice@alice.i2p dave@alice.i2p; msg 2; } | cmp -s - "$H/queue/free/1"
ok $? "... holding the shorter second message whole, nothing of the first"
# a finished file longer than 64 KiB is emptied first: its space back at once
{ msg big; head -c 70000 /dev/zero | tr '\0' b | fold -w 70; } | inject "$H" alice@alice.i2p dave@alice.i2p
wait_for 10 has dave 2 && wait_for 10 queue_empty "$H" && wait_for 10 test -e "$H/queue/free/2"
is "$(stat -c '%i %s' "$H/queue/free/2" 2>&1) $(ls "$H/queue/free" | wc -l)" "$ino 0 1" "a message of 70 KB written into the same file: finished, it is emptied, in free/2"


msg two | inject "$H" alice@alice.i2p bob@alice.i2p carol@alice.i2p POSTMASTER@Alice.I2P
wait_for 10 has alice 1 bob 2 carol 1
ok $? "three recipients, postmaster to the first user (alice)"
like "$(mails "$H/mail/alice")" 'Delivered-To: POSTMASTER@alice.i2p' "postmaster's copy says so (the envelope address as given)"
wait_for 10 queue_empty "$H"
ok $? "queue empty"

# ---- permanent failures: one bounce to the sender ----
msg three | inject "$H" carol@alice.i2p nobody@alice.i2p bob@alice.i2p someone@example.com
wait_for 20 has carol 2
ok $? "a bounce arrives in the sender's Maildir"
is "$(nmail "$H/mail/bob")" 3 "the good recipient still got it"
b=$(grep -l 'report-type=delivery-status' "$H"/mail/carol/new/*)
B=$(cat $b)
like "$B" '^Return-Path: <>' "from the null sender"
like "$B" 'From: Mail Delivery System <MAILER-DAEMON@alice\.i2p>' "From: MAILER-DAEMON"
like "$B" 'Subject: Undelivered Mail Returned to Sender' "Subject says what happened"
like "$B" 'Auto-Submitted: auto-replied' "Auto-Submitted"
like "$B" 'Content-Type: multipart/report; report-type=delivery-status;' "multipart/report, delivery-status"
like "$B" 'Content-Type: text/plain' "a plain-text first part"
like "$B" 'could not be delivered' "which says what happened"
like "$B" '<nobody@alice\.i2p>' "to whom"
like "$B" 'no such user here' "and why"
like "$B" 'Content-Type: message/delivery-status' "a message/delivery-status part"
like "$B" 'Reporting-MTA: dns; alice\.i2p' "Reporting-MTA"
like "$B" $'Final-Recipient: rfc822; nobody@alice.i2p\nAction: failed\nStatus: 5\\.1\\.1' "per-recipient fields for the unknown user: failed, 5.1.1"
like "$B" $'Final-Recipient: rfc822; someone@example.com\nAction: failed\nStatus: 5\\.1\\.2' "and for the unroutable domain: 5.1.2"
like "$B" 'Diagnostic-Code: X-e2e; no such user here' "Diagnostic-Code"
unlike "$B" 'Final-Recipient: rfc822; bob@' "the delivered recipient is not in the report"
like "$B" 'Content-Type: text/rfc822-headers' "the original headers attached"
like "$B" 'Message-ID: <three@alice\.i2p>' "and they are the original's"
unlike "$B" 'body three' "but not its body"
python3 - "$b" <<'PY'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
assert m.get_content_type() == 'multipart/report', m.get_content_type()
assert m.get_param('report-type') == 'delivery-status'
parts = m.get_payload()
assert [p.get_content_type() for p in parts] == ['text/plain', 'message/delivery-status', 'text/rfc822-headers'], [p.get_content_type() for p in parts]
PY
ok $? "a MIME parser sees text/plain, message/delivery-status, text/rfc822-headers"
wait_for 10 queue_empty "$H"
ok $? "queue empty after the bounce"
is "$(nmail "$H/mail/carol")" 2 "only one bounce"

# ---- no bounce for a bounce ----
msg four | inject "$H" "" nobody@alice.i2p
wait_for 20 grep -q 'bounce id=.* result=none reason="null sender"' "$LOG"
ok $? "a failure from the null sender: logged, no bounce"
wait_for 10 queue_empty "$H"
ok $? "queue empty"

# ---- a second runner, SIGTERM ----
env E2E_HOME="$H" E2E_DOMAIN=alice.i2p timeout 5 e2e-runner 2>"$T_TMP/second.err"
is "$?" 111 "a second runner on the same queue: exit 111"
like "$(cat "$T_TMP/second.err")" 'another e2e-runner holds' "and it says why"
kill -TERM $RPID
wait $RPID
is "$?" 0 "SIGTERM: exit 0"
like "$(tail -1 "$LOG")" 'e2e-runner: stopped' "logged"

# messages queued while no runner runs are delivered at start
msg five | inject "$H" alice@alice.i2p bob@alice.i2p
start_runner "$H" "$LOG"
wait_for 20 has bob 4
ok $? "a message queued while the runner was down is delivered at start"
kill -TERM $RPID; wait $RPID

# ================= remote: e2e-remote missing =================
H=$T_TMP/b
mkhome "$H" alice.i2p alice:pw 2>/dev/null || echo "not ok - mkhome $H failed"
LOG=$T_TMP/b.log
start_runner "$H" "$LOG" E2E_RETRY=2 E2E_WARN=3 E2E_LIFETIME=8
msg six | inject "$H" alice@alice.i2p bob@far.i2p
t0=$(date +%s.%N)
wait_for 10 grep -q 'rcpt=bob@far.i2p result=defer' "$LOG"
ok $? "remote recipient without e2e-remote: deferred"
like "$(cat "$LOG")" 'result=defer reason="e2e-remote: unable to run: No such file or directory"' "the reason recorded: e2e-remote: unable to run"
id=$(ls "$H/queue/mess")
like "$(cat "$H/queue/info/$id" 2>/dev/null)" $'^e2e-info 1\nqueued [0-9]+\nwarned 0\nR todo 1 [0-9]+ e2e-remote: unable to run: No such file or directory' "state in info/ID: todo, 1 try, the last error"
# back-off: tries at about 0, 2 and 6 s (doubling), then the end of the lifetime at 8 s
sleep "$(echo "$t0 + 4.5 - $(date +%s.%N)" | bc)"
is "$(grep -c 'rcpt=bob@far.i2p result=defer' "$LOG")" 2 "two tries in the first 4.5 s (2 s, then doubling)"
wait_for 30 grep -q 'notice id=.* result=ok' "$LOG"
ok $? "a delay notice after E2E_WARN"
wait_for 60 grep -q 'rcpt=bob@far.i2p result=fail' "$LOG"
ok $? "the recipient fails at the end of E2E_LIFETIME"
is "$(grep -c 'rcpt=bob@far.i2p result=defer' "$LOG")" 3 "after three deferrals (0, 2, 6 s)"
wait_for 30 has alice 2
ok $? "the sender has a delay notice and a bounce"
N=$(grep -l 'Action: delayed' "$H"/mail/alice/new/*)
is "$(echo "$N" | grep -c .)" 1 "exactly one delay notice"
N=$(cat $N)
like "$N" 'Subject: Delayed Mail \(still being retried\)' "the notice's subject"
like "$N" 'has not been delivered yet' "its text says so"
like "$N" 'You do not need to send your message again' "and what happens next"
like "$N" $'Final-Recipient: rfc822; bob@far.i2p\nAction: delayed\nStatus: 4\\.' "Action: delayed, Status 4.x.x"
like "$N" 'Will-Retry-Until: ' "Will-Retry-Until"
F=$(cat $(grep -l 'Action: failed' "$H"/mail/alice/new/*))
like "$F" $'Final-Recipient: rfc822; bob@far.i2p\nAction: failed\nStatus: 5\\.4\\.7' "the bounce: failed, 5.4.7"
like "$F" 'Diagnostic-Code: X-e2e; gave up after 8 seconds in the queue \(#5\.4\.7\); last error: e2e-remote: unable to run' "with the last error"
wait_for 10 queue_empty "$H"
ok $? "queue empty"
kill -TERM $RPID; wait $RPID

# ================= remote: a stand-in e2e-remote =================
H=$T_TMP/c
mkhome "$H" alice.i2p alice:pw 2>/dev/null || echo "not ok - mkhome $H failed"
LOG=$T_TMP/c.log
cat > "$T_TMP/bin/e2e-remote" <<EOF
#!/bin/sh
# records its arguments and input; K for x1 and y, Z for x2, D for x3
echo "\$*" >> "$T_TMP/remote.args"
cat > "$T_TMP/remote.in.\$1"
shift 2
for r; do
  case \$r in
    x2@*) echo "Z 451 4.4.1 try again later" ;;
    x3@*) echo "D 550 5.1.1 no such user" ;;
    *) echo "K 250 2.0.0 ok" ;;
  esac
done
EOF
chmod +x "$T_TMP/bin/e2e-remote"
start_runner "$H" "$LOG" E2E_RETRY=300
msg seven > "$T_TMP/seven"
inject "$H" alice@alice.i2p x1@far.i2p y@near.i2p x2@far.i2p x3@far.i2p < "$T_TMP/seven"
wait_for 20 grep -q 'rcpt=x3@far.i2p result=fail' "$LOG"
ok $? "the stand-in ran"
is "$(sort "$T_TMP/remote.args")" "far.i2p alice@alice.i2p x1@far.i2p x2@far.i2p x3@far.i2p
near.i2p alice@alice.i2p y@near.i2p" "one run per domain with all its recipients: DOMAIN SENDER RCPT..."
cmp -s "$T_TMP/remote.in.far.i2p" "$T_TMP/seven"
ok $? "the message on its fd 0, without the envelope"
id=$(sed -n 's/.*new id=\([^ ]*\) sender=alice.*/\1/p' "$LOG" | head -1)
wait_for 20 has alice 1
ok $? "a bounce for x3"
like "$(mails "$H/mail/alice")" $'Final-Recipient: rfc822; x3@far.i2p\nAction: failed\nStatus: 5\\.1\\.1\nDiagnostic-Code: smtp; 550 5\\.1\\.1 no such user' "with the remote's SMTP reply"
like "$(cat "$H/queue/info/$id")" $'R done 0 0 \nR done 0 0 \nR todo 1 [0-9]+ 451 4.4.1 try again later\nR fail 0 0 550 5.1.1 no such user' "state: x1 and y done, x2 to retry, x3 failed and reported"

# idle: a deferred message costs no CPU
sleep 0.5
c1=$(cpu $RPID); sleep 2; c2=$(cpu $RPID)
is "$c2" "$c1" "no CPU used in 2 s while nothing is due"
grep -q "^State:.*S (sleeping)" "/proc/$RPID/status"
ok $? "the runner sleeps"

# a restart keeps the state: nothing delivered twice, the retry not early
kill -TERM $RPID; wait $RPID
start_runner "$H" "$LOG" E2E_RETRY=300
sleep 1
is "$(wc -l < "$T_TMP/remote.args")" 2 "after a restart: done recipients are not sent again, x2 waits for its time"
# SIGHUP makes no difference to the schedule; the trigger does not retry deferred mail either
msg eight | inject "$H" alice@alice.i2p alice@alice.i2p
wait_for 10 has alice 2
ok $? "a new message is delivered at once while another waits"
is "$(wc -l < "$T_TMP/remote.args")" 2 "and the waiting one is not retried early"
kill -TERM $RPID; wait $RPID
is "$?" 0 "SIGTERM: exit 0"

# a stand-in that crashes without a report: temporary for every recipient
H=$T_TMP/d
mkhome "$H" alice.i2p alice:pw 2>/dev/null || echo "not ok - mkhome $H failed"
LOG=$T_TMP/d.log
printf '#!/bin/sh\necho "K 250 ok"\nkill -9 $$\n' > "$T_TMP/bin/e2e-remote"
start_runner "$H" "$LOG" E2E_RETRY=300
msg nine | inject "$H" alice@alice.i2p p1@far.i2p p2@far.i2p
wait_for 20 grep -q 'rcpt=p2@far.i2p result=defer' "$LOG"
ok $? "a crash after one line: the rest deferred"
like "$(cat "$LOG")" 'rcpt=p1@far.i2p result=ok' "the reported recipient is done"
like "$(cat "$LOG")" 'rcpt=p2@far.i2p result=defer reason="e2e-remote gave no result \(signal 9\)"' "the other: no result"
id=$(ls "$H/queue/mess")
like "$(cat "$H/queue/info/$id")" $'R done 0 0 \nR todo 1 ' "state written"
kill -TERM $RPID; wait $RPID

# ================= concurrency limits =================
# stand-ins that take 0.4 s and note when they run; overlapping runs show
# in the largest number running at once
printf '#!/bin/sh\necho "+ $(date +%%s%%N)" >> "$1"; sleep 0.4; echo "- $(date +%%s%%N)" >> "$1"\n' > "$T_TMP/conc"
chmod +x "$T_TMP/conc"
maxconc() { sort -k2 -n "$1" | awk '{ n += ($1 == "+") ? 1 : -1; if (n > m) m = n } END { print m + 0 }'; }
printf '#!/bin/sh\n"%s" "%s"\nshift 2; for r; do echo "K ok"; done\n' "$T_TMP/conc" "$T_TMP/remote.conc" > "$T_TMP/bin/e2e-remote"
chmod +x "$T_TMP/bin/e2e-remote"
rm -f "$T_TMP/bin/e2e-local"
printf '#!/bin/sh\n"%s" "%s"\nexec "%s" "$@"\n' "$T_TMP/conc" "$T_TMP/local.conc" "$TOP/bin/e2e-local" > "$T_TMP/bin/e2e-local"
chmod +x "$T_TMP/bin/e2e-local"
for lim in 1 3; do
  H=$T_TMP/conc$lim
  mkhome "$H" alice.i2p alice:pw bob:pw 2>/dev/null
  LOG=$T_TMP/conc$lim.log
  rm -f "$T_TMP/remote.conc" "$T_TMP/local.conc"
  start_runner "$H" "$LOG" E2E_CONCURRENCY=$lim E2E_LOCALCONCURRENCY=$lim
  inject "$H" alice@alice.i2p a@one.i2p b@two.i2p c@three.i2p d@four.i2p < "$T_TMP/seven"
  for i in 1 2 3 4; do inject "$H" alice@alice.i2p bob@alice.i2p < "$T_TMP/seven"; done
  wait_for 100 queue_empty "$H"
  ok $? "limit $lim: four remote runs and four local deliveries done"
  is "$(maxconc "$T_TMP/remote.conc")" "$lim" "E2E_CONCURRENCY=$lim: at most $lim e2e-remote at once"
  # the local ones are handed to one worker (it has room for 8)
  is "$(maxconc "$T_TMP/local.conc")" 1 "E2E_LOCALCONCURRENCY=$lim: the four local deliveries go to one e2e-local"
  kill -TERM $RPID; wait $RPID
done
# E2E_DOMAINCONCURRENCY: at most that many at once to one domain (below
# the receiver's per-peer cap), while other domains go on in parallel.
for dl in 1 2; do
  H=$T_TMP/dconc$dl
  mkhome "$H" alice.i2p alice:pw 2>/dev/null
  LOG=$T_TMP/dconc$dl.log
  rm -f "$T_TMP/remote.conc"
  start_runner "$H" "$LOG" E2E_CONCURRENCY=10 E2E_DOMAINCONCURRENCY=$dl
  for i in 1 2 3 4 5; do inject "$H" alice@alice.i2p "r$i@same.i2p" < "$T_TMP/seven"; done
  wait_for 100 queue_empty "$H"
  ok $? "E2E_DOMAINCONCURRENCY=$dl: five messages to one domain delivered"
  is "$(maxconc "$T_TMP/remote.conc")" "$dl" "E2E_DOMAINCONCURRENCY=$dl: at most $dl e2e-remote at once to same.i2p"
  kill -TERM $RPID; wait $RPID
done
rm -f "$T_TMP/remote.conc"
H=$T_TMP/dconcmix
mkhome "$H" alice.i2p alice:pw 2>/dev/null
start_runner "$H" "$T_TMP/dconcmix.log" E2E_CONCURRENCY=10 E2E_DOMAINCONCURRENCY=1
for d in one two three four; do inject "$H" alice@alice.i2p "x@$d.i2p" < "$T_TMP/seven"; done
wait_for 100 queue_empty "$H"
is "$(maxconc "$T_TMP/remote.conc")" 4 "E2E_DOMAINCONCURRENCY=1: four domains still at once"
kill -TERM $RPID; wait $RPID
rm -f "$T_TMP/bin/e2e-local"; ln -s "$TOP/bin/e2e-local" "$T_TMP/bin/e2e-local"
# E2E_LOCALCONCURRENCY counts the local deliveries handed out at once; a
# worker takes up to 8 before a second one starts. With the worker stopped,
# it holds min(limit, 8) of nine messages; a second worker (only when the
# limit is above 8) delivers the rest meanwhile; killed, the held ones are
# deferred, then delivered once each.
for lim in 3 10; do
  H=$T_TMP/lcap$lim
  mkhome "$H" alice.i2p alice:pw bob:pw 2>/dev/null
  LOG=$T_TMP/lcap$lim.log
  start_runner "$H" "$LOG" E2E_LOCALCONCURRENCY=$lim E2E_RETRY=1
  msg first | inject "$H" alice@alice.i2p bob@alice.i2p
  wait_for 20 has bob 1
  wpid=$(cat "/proc/$RPID/task/$RPID/children")
  kill -STOP $wpid
  for i in 1 2 3 4 5 6 7 8 9; do msg "c$i" | inject "$H" alice@alice.i2p bob@alice.i2p; done
  held=$((lim < 8 ? lim : 8))
  wait_for 30 has bob $((1 + 9 - held)) || [ $lim = 3 ]
  sleep 1
  is "$(nmail "$H/mail/bob") $(wc -w < "/proc/$RPID/task/$RPID/children")" "$((1 + (lim > 8 ? 9 - held : 0))) $((lim > 8 ? 2 : 1))" \
    "E2E_LOCALCONCURRENCY=$lim: $held deliveries held by the stopped worker; $((lim > 8 ? 1 : 0)) other worker started"
  kill -KILL $wpid
  wait_for 50 has bob 10
  ok $? "E2E_LOCALCONCURRENCY=$lim: after the kill all ten delivered, each once"
  is "$(grep -c 'result=defer reason="e2e-local ended during the delivery (signal 9)"' "$LOG")" $held "... the $held held ones deferred first"
  kill -TERM $RPID; wait $RPID
done

# ================= finished files: one sync of mess/ for several =================
H=$T_TMP/park
mkhome "$H" alice.i2p alice:pw bob:pw 2>/dev/null
for i in $(seq 70); do msg "p$i" | inject "$H" alice@alice.i2p bob@alice.i2p; done
if command -v strace >/dev/null; then
  LOG=$T_TMP/park.log
  strace -f -qq -o "$T_TMP/park.st" -e trace=open,openat,fsync,link,linkat,unlink,unlinkat,rename,renameat,renameat2 env PATH="$RPATH" E2E_HOME="$H" E2E_DOMAIN=alice.i2p "$TOP/bin/e2e-runner" 2>>"$LOG" &
  RPID=$!
  bg_pid $RPID
  wait_for 100 has bob 70 && wait_for 50 queue_empty "$H" && sleep 0.5
  ok $? "70 messages queued before the runner started: delivered"
  # fsyncs of a descriptor that an open (musl) or openat (glibc) of mess/ gave
  n=$(awk '/queue\/mess", O_/ { d[$1] = $NF } /fsync\(/ { split($2, a, /[()]/); if (d[$1] == a[2]) { n++; d[$1] = "" } } END { print n + 0 }' "$T_TMP/park.st")
  [ "$n" -ge 1 ] && [ "$n" -le 10 ]
  ok $? "mess/ synced $n times for the 70 (once for each batch of up to 64, or 0.1 s), not 70"
  # ... and the Maildir's new/ once for the deliveries a worker had waiting
  # (e2e-local opens new/ only to sync it)
  n=$(grep -c 'mail/bob/new", O_' "$T_TMP/park.st")
  [ "$n" -ge 9 ] && [ "$n" -le 35 ]
  ok $? "bob's new/ synced $n times for the 70 (up to 8 deliveries a sync), not 70"
  is "$(find "$H/queue/free" -type f | wc -l) $(find "$H/queue/free" -type f -name '.*' | wc -l)" "64 0" "64 files in free/ (free/N, none parked), the other six removed"
  # new mail: todo/ID linked as mess/ID, mess/ synced, then todo/ID removed; never a rename out of todo/
  l1=$(grep -nE ' (link|linkat)\(.*queue/todo/' "$T_TMP/park.st" | head -1 | cut -d: -f1)
  l2=$(awk -v from="${l1:-0}" 'NR > from && /queue\/mess", O_/ { d[$1] = $NF } NR > from && /fsync\(/ { split($2, a, /[()]/); if (d[$1] == a[2]) { print NR; exit } }' "$T_TMP/park.st")
  l3=$(grep -nE ' (unlink|unlinkat)\(.*queue/todo/' "$T_TMP/park.st" | head -1 | cut -d: -f1)
  [ -n "$l1" ] && [ -n "$l2" ] && [ -n "$l3" ] && [ "$l1" -lt "$l2" ] && [ "$l2" -lt "$l3" ] && ! grep -qE 'rename[a-z0-9]*\(.*queue/todo/' "$T_TMP/park.st"
  ok $? "new mail: link into mess/ (line ${l1:-none}), fsync of mess/ (${l2:-none}), then todo/ID removed (${l3:-none}); no rename"
  kill -TERM "$(cat "/proc/$RPID/task/$RPID/children")"; wait $RPID   # the runner, under strace
fi

# ================= users made and removed while the runner runs =================
# The runner keeps HOME/recipients and reads it again when it changes:
# renamed into place by e2e-passwd, or written in place (same inode).
H=$T_TMP/users
mkhome "$H" alice.i2p alice:pw bob:pw 2>/dev/null
start_runner "$H" "$T_TMP/users.log"
msg u1 | inject "$H" alice@alice.i2p erin@alice.i2p
wait_for 50 grep -q 'rcpt=erin@alice.i2p result=fail reason="no such user here' "$T_TMP/users.log"
ok $? "erin is no user yet: the delivery to her fails"
printf 'pw\n' | e2e-passwd "$H" erin >/dev/null 2>&1
msg u2 | inject "$H" alice@alice.i2p erin@alice.i2p
wait_for 50 has erin 1
ok $? "made by e2e-passwd while the runner runs: the next message to erin is delivered"
# bob removed by hand, both files written in place (a name missing from
# recipients is looked up in users)
ino=$(stat -c %i "$H/recipients")
grep -v '^bob:' "$H/users" > "$T_TMP/users.new" && cat "$T_TMP/users.new" > "$H/users" &&
  grep -v '^bob$' "$H/recipients" > "$T_TMP/rcpts.new" && cat "$T_TMP/rcpts.new" > "$H/recipients"
msg u3 | inject "$H" alice@alice.i2p bob@alice.i2p
wait_for 50 grep -q 'rcpt=bob@alice.i2p result=fail reason="no such user here' "$T_TMP/users.log"
ok $? "bob taken out of users and recipients in place (inode $ino, then $(stat -c %i "$H/recipients")): the delivery to him fails"
is "$(nmail "$H/mail/bob")" 0 "and bob's Maildir holds nothing"
# recipients removed: the copy is dropped, users answers
rm "$H/recipients"
msg u4 | inject "$H" alice@alice.i2p erin@alice.i2p
wait_for 50 has erin 2
ok $? "HOME/recipients removed while the runner runs: erin, in users, still gets her mail"
unlike "$(cat "$T_TMP/users.log")" 'warning|fatal' "without a warning"
kill -TERM $RPID; wait $RPID

# ================= a hand-off to e2e-local -w that cannot be sent =================
# strace fails the runner's second sendmsg (the second of three deliveries
# handed to one worker at once) with EPIPE after 1 s, as if the worker
# had ended meanwhile: the runner reads what it answered before (the
# first), closes its socket and hands it nothing more; the worker ends on
# that, the second is deferred, then delivered, each message once. (A
# runner that kept the socket takes the answer to the third delivery for
# the second and loses it; one that closed it unread defers the first.)
H=$T_TMP/sendfail
mkhome "$H" alice.i2p alice:pw bob:pw 2>/dev/null
for i in 1 2 3; do msg "sf$i" | inject "$H" alice@alice.i2p bob@alice.i2p; done
if command -v strace >/dev/null; then
  LOG=$T_TMP/sendfail.log
  strace -f -qq -o /dev/null -e trace=sendmsg -e inject=sendmsg:error=EPIPE:delay_enter=1000000:when=2 env PATH="$RPATH" E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_RETRY=1 "$TOP/bin/e2e-runner" 2>>"$LOG" &
  RPID=$!
  bg_pid $RPID
  wait_for 100 has bob 3 && wait_for 50 queue_empty "$H" && sleep 0.5
  ok $? "three deliveries, the second hand-off failing: all three delivered"
  is "$(for i in 1 2 3; do mails "$H/mail/bob" | grep -c "^body sf$i\$"; done | tr '\n' ' ')" "1 1 1 " "each once"
  is "$(grep -c 'rcpt=bob@alice.i2p result=defer reason="e2e-local ended during the delivery' "$LOG")" 1 "one deferred, the one not sent; the log says why"
  kill -TERM "$(cat "/proc/$RPID/task/$RPID/children")"; wait $RPID   # the runner, under strace
fi

# ================= todo/ID and mess/ID holding different files =================
H=$T_TMP/clash
mkhome "$H" alice.i2p alice:pw bob:pw 2>/dev/null
msg first | inject "$H" alice@alice.i2p alice@alice.i2p && id1=$(ls "$H/queue/todo")
msg second | inject "$H" alice@alice.i2p bob@alice.i2p && id2=$(ls "$H/queue/todo" | grep -v "^$id1\$")
mv "$H/queue/todo/$id2" "$H/queue/mess/$id1"   # mess/ID1 now holds the second message
start_runner "$H" "$T_TMP/clash.log" E2E_RETRY=300
wait_for 50 has bob 1
ok $? "at start: mess/ID delivered (the second message)"
like "$(cat "$T_TMP/clash.log")" "warning: todo/$id1 and mess/ hold different files of that name: left in todo/" "todo/ID beside a different mess/ID: a warning"
is "$(ls "$H/queue/todo") $(nmail "$H/mail/alice")" "$id1 0" "... and todo/ID left alone, undelivered"
kill -TERM $RPID; wait $RPID

# ================= e2e-local -w: one process for many deliveries =================
# a wrapper notes each start of e2e-local (pid and arguments), then execs it
rm -f "$T_TMP/bin/e2e-local"
printf '#!/bin/sh\necho "$$ $*" >> "%s"\nexec "%s" "$@"\n' "$T_TMP/lstarts" "$TOP/bin/e2e-local" > "$T_TMP/bin/e2e-local"
chmod +x "$T_TMP/bin/e2e-local"
H=$T_TMP/w
mkhome "$H" alice.i2p alice:pw bob:pw 2>/dev/null
LOG=$T_TMP/w.log
# left by a crash between emptying a finished file and moving it to free/
: > "$H/queue/mess/1795000000.M1P1" && echo 'R done 0 0 ' > "$H/queue/info/1795000000.M1P1"
: > "$H/queue/free/.1795000001.M1P1"   # ... or before mess/ was synced
: > "$H/queue/free/3" && ln "$H/queue/free/3" "$H/queue/free/5"   # a file with two names in free/
# ... or between linking todo/ID as mess/ID and removing todo/ID
msg linked | inject "$H" alice@alice.i2p alice@alice.i2p && lid=$(ls "$H/queue/todo") && ln "$H/queue/todo/$lid" "$H/queue/mess/$lid"
start_runner "$H" "$LOG" E2E_RETRY=1
wait_for 20 has alice 1 && wait_for 20 queue_empty "$H" && sleep 0.3
is "$(ls "$H/mail/alice/new" | wc -l) $(ls -A "$H/queue/todo" | wc -l)" "1 0" "at start: a message both in todo/ and mess/ (one file): delivered once, todo/ emptied"
is "$(ls -A "$H/queue/mess" "$H/queue/info" "$H/queue/free" | grep -c 179500000)" 0 "at start: an emptied queue file, its state, a free/.ID removed"
is "$(ls "$H/queue/free" | grep -cE '^(3|5)$') $(find "$H/queue/free" -type f -links +1 | wc -l)" "1 0" "and one of two names of one file in free/"
unlike "$(cat "$LOG")" 'warning' "without a warning"
for i in 1 2 3 4 5; do msg "w$i" | inject "$H" alice@alice.i2p bob@alice.i2p; wait_for 20 has bob $i || break; done
ok $? "five messages one after the other, each delivered"
is "$(wc -l < "$T_TMP/lstarts")" 1 "one e2e-local started for the five"
like "$(cat "$T_TMP/lstarts")" '^[0-9]+ -w$' "as e2e-local -w"
wpid=$(cut -d' ' -f1 "$T_TMP/lstarts")
# stopped while it holds a delivery, then killed: deferred, then delivered
# once, by a new one
kill -STOP "$wpid"
msg w6 | inject "$H" alice@alice.i2p bob@alice.i2p
sleep 0.5
has bob 5
ok $? "a stopped e2e-local holds the sixth message"
kill -KILL "$wpid"
wait_for 30 grep -q 'rcpt=bob@alice.i2p result=defer reason="e2e-local ended during the delivery (signal 9)"' "$LOG"
ok $? "killed during the delivery: deferred, the log says why"
wait_for 50 has bob 6
ok $? "delivered after the retry (E2E_RETRY=1)"
is "$(wc -l < "$T_TMP/lstarts")" 2 "by a second e2e-local"
is "$(grep -c 'result=ok reason="delivered to bob"' "$LOG")" 6 "six deliveries logged, one each"
w2=$(tail -1 "$T_TMP/lstarts" | cut -d' ' -f1)
kill -0 "$w2" 2>/dev/null
ok $? "the new e2e-local waits for more"
wait_for 150 eval '! kill -0 "$w2" 2>/dev/null'
ok $? "an idle e2e-local is ended after 10 s"
msg w7 | inject "$H" alice@alice.i2p bob@alice.i2p
wait_for 20 has bob 7
ok $? "the next message starts a new one"
is "$(wc -l < "$T_TMP/lstarts")" 3 "(the third e2e-local)"
# no e2e-local to start: the delivery is deferred, the runner goes on
w3=$(tail -1 "$T_TMP/lstarts" | cut -d' ' -f1)
rm -f "$T_TMP/bin/e2e-local"
kill -TERM "$w3"
wait_for 30 eval '! kill -0 "$w3" 2>/dev/null'
msg w8 | inject "$H" alice@alice.i2p bob@alice.i2p
wait_for 30 grep -q 'rcpt=bob@alice.i2p result=defer reason="e2e-local: unable to run: No such file or directory"' "$LOG"
ok $? "e2e-local missing: deferred, the log says why"
ln -s "$TOP/bin/e2e-local" "$T_TMP/bin/e2e-local"
wait_for 50 has bob 8
ok $? "delivered at the retry once it is back"
kill -TERM $RPID; wait $RPID
rm -f "$T_TMP/bin/e2e-local"; ln -s "$TOP/bin/e2e-local" "$T_TMP/bin/e2e-local"

# ================= e2e-bounce by itself =================
H=$T_TMP/c
E2E_HOME=$H E2E_DOMAIN=alice.i2p PATH=$RPATH e2e-bounce failed ID 1 2 "" x@y.i2p 5.1.1 "no" < "$T_TMP/seven" 2>/dev/null
is "$?" 100 "e2e-bounce: nothing to the null sender (exit 100)"
E2E_HOME=$H E2E_DOMAIN=alice.i2p e2e-bounce failed ID 1 2 alice@alice.i2p x@y.i2p 5.1.1 < "$T_TMP/seven" 2>/dev/null
is "$?" 100 "e2e-bounce: an incomplete recipient triple is a usage error"
E2E_HOME=$H E2E_DOMAIN=alice.i2p e2e-bounce lost ID 1 2 alice@alice.i2p x@y.i2p 5.1.1 no < "$T_TMP/seven" 2>/dev/null
is "$?" 100 "e2e-bounce: only failed or delayed"
python3 -c 'import sys; sys.stdout.write("Subject: long\n" + ("X-Pad: " + "p" * 100 + "\n") * 2000 + "\nbody\n")' > "$T_TMP/longhead"
rm -f "$H/queue/todo/"*
E2E_HOME=$H E2E_DOMAIN=alice.i2p PATH=$RPATH e2e-bounce delayed ID 1795000000 1795600000 alice@alice.i2p x@y.i2p 4.4.1 "451 4.4.1 later" < "$T_TMP/longhead"
is "$?" 0 "e2e-bounce: a notice about a message with a 200 KiB header"
f=$(ls "$H/queue/todo/"* 2>/dev/null | head -1)
[ -n "$f" ] && [ "$(stat -c %s "$f")" -lt 70000 ] && grep -aq 'Diagnostic-Code: smtp; 451 4.4.1 later' "$f" && grep -aq 'Subject: Delayed Mail' "$f"
ok $? "queued, the header cut to 64 KiB, with an smtp Diagnostic-Code"

# ================= settings =================
env -u E2E_HOME E2E_DOMAIN=x.i2p e2e-runner 2>"$T_TMP/err"
is "$?" 100 "no E2E_HOME: exit 100"
E2E_HOME=$H E2E_DOMAIN=alice.i2p E2E_RETRY=soon e2e-runner 2>"$T_TMP/err"
is "$?" 100 "a malformed E2E_RETRY: exit 100"
like "$(cat "$T_TMP/err")" 'E2E_RETRY' "naming it"

done_testing
