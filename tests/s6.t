#!/bin/bash
# The s6 tree that e2e-setup makes: s6-svscan HOME/service runs the whole
# server; every service (and logger) becomes ready; mail goes through it
# (submission, a peer over a stand-in SAM bridge, POP3); logs appear under
# HOME/log/NAME, timestamped and size-bounded; a SIGKILLed service is
# restarted with no mail lost; s6-svscanctl -t stops everything. As root
# (CI): the service accounts, who owns what, and that nothing but s6 runs
# as root; then the same tree set up and run by an ordinary user. No I2P
# network: tests/samaccept/fakesam.py stands in for the router's SAM bridge.
. "$(dirname "$0")/lib.sh"

KEYS=$TOP/tests/i2p/keys
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
ROOT=; [ "$(id -u)" = 0 ] && ROOT=1
chmod 755 "$T_TMP"   # the service accounts must reach the homes

# trees, stopped at exit; until_ok, ready, all_ready (tests/s6lib.sh)
. "$TOP/tests/s6lib.sh"
# in_home HOME: pids of the processes whose working directory is under HOME
in_home() {
  local p d
  for p in /proc/[0-9]*; do
    d=$(readlink "$p/cwd" 2>/dev/null) || continue
    case $d in "$1"|"$1"/*) echo "${p#/proc/}" ;; esac
  done
}
# tree_of PID: PID's descendants (pid user comm), not PID itself
tree_of() {
  ps -e -o pid=,ppid=,user:20=,comm= | awk -v top="$1" '
    { pid[NR]=$1; ppid[NR]=$2; line[NR]=$1" "$3" "$4 }
    END { want[top]=1; do { more=0; for (i=1;i<=NR;i++) if (want[ppid[i]] && !want[pid[i]]) { want[pid[i]]=1; more=1 } } while (more);
          for (i=1;i<=NR;i++) if (want[pid[i]] && pid[i]!=top) print line[i] }'
}
no_proc_in() { [ -z "$(in_home "$1")" ]; }
nmail() { ls "$1/new" "$1/cur" 2>/dev/null | grep -c ',S='; }
# restarted DIR OLDPID: up and ready again under a new pid
restarted() {
  local p
  p=$(s6-svstat -o pid "$1" 2>/dev/null)
  [ -n "$p" ] && [ "$p" != -1 ] && [ "$p" != "$2" ] && ready "$1"
}
submit() {  # submit PORT USER PASSWORD FROM TO N: N messages in one session
  $PY - "$@" <<'PY'
import smtplib, sys
port, user, pw, frm, to, n = sys.argv[1:7]
s = smtplib.SMTP("127.0.0.1", int(port), timeout=30)
s.login(user, pw)
for i in range(int(n)):
    s.sendmail(frm, [to], "From: %s\r\nTo: %s\r\nSubject: s6 test %d\r\n\r\nmessage %d\r\n" % (frm, to, i, i))
s.quit()
print("sent", n)
PY
}
pop_count() {  # pop_count PORT USER PASSWORD: the number of messages
  $PY -c 'import poplib,sys; p=poplib.POP3("127.0.0.1",int(sys.argv[1]),timeout=10); p.user(sys.argv[2]); p.pass_(sys.argv[3]); print(p.stat()[0]); p.quit()' "$@"
}
fake_sam() {  # fake_sam NAME: a stand-in bridge in the background; FPORT its port
  $PY "$TOP/tests/samaccept/fakesam.py" "$T_TMP/$1.port" "$KEYS" 2>>"$T_TMP/$1.fake.log" &
  FPID=$!
  bg_pid $FPID
  until_ok 100 test -s "$T_TMP/$1.port" || return 1
  FPORT=$(cat "$T_TMP/$1.port")
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
unhex() { printf '%s' "$1" | sed 's/\(..\)/\\x\1/g' | xargs -0 printf '%b'; }

# ---------------------------------------------------------------- setup
home=$T_TMP/home
mkhome "$home" alice.i2p alice:alicepw bob:bobpw
ok $? "mail home with two users (e2e-setup, e2e-passwd)"
for s in smtpd pop3d samaccept runner; do
  [ -x "$home/service/$s/run" ] && [ -x "$home/service/$s/log/run" ] && [ -d "$home/log/$s" ]
  ok $? "service/$s with its log/run, and log/$s"
done
ok "$([ -e "$home/service/samaccept/down" ]; echo $?)" "samaccept is down while there is no key"
cp "$KEYS/ed25519-2.priv" "$home/key"
out=$(e2e-setup "$home" alice.i2p 2>&1)
ok $? "e2e-setup again, now with a key"
like "$out" 'samaccept enabled' "it says that samaccept is enabled"
ok "$([ ! -e "$home/service/samaccept/down" ]; echo $?)" "samaccept's down file is gone"
: > "$T_TMP/mine"; cp "$T_TMP/mine" "$home/service/pop3d/down"
e2e-setup "$home" alice.i2p >/dev/null 2>&1
ok "$([ -e "$home/service/pop3d/down" ]; echo $?)" "a down file that e2e-setup did not make stays"
rm -f "$home/service/pop3d/down"

# Where e2e-setup cannot make the setuid copies (a nosuid file system,
# a sanitizer build), every service but the loggers runs as e2e-mail.
# tests/privsep.t checks the accounts' rights one by one.
SU=e2e-smtpd SA=e2e-sam SQ=e2e-queue
if [ -n "$ROOT" ] && [ ! -e "$home/libexec/e2e-queue" ]; then
  SU=e2e-mail SA=e2e-mail SQ=e2e-mail
  diag "no setuid copies in libexec/ here: the services run as e2e-mail"
fi
if [ -n "$ROOT" ]; then
  for a in e2e-mail e2e-smtpd e2e-sam e2e-queue e2e-remote e2e-log; do
    getent passwd "$a" >/dev/null
    ok $? "account $a exists"
  done
  ingroup() { id -nG "$1" | tr ' ' '\n' | grep -qx "$2"; }
  ingroup e2e-smtpd e2e && ingroup e2e-sam e2e && ingroup e2e-smtpd e2e-auth && ingroup e2e-mail e2e-auth
  ok $? "e2e-smtpd and e2e-sam are in the group e2e, e2e-smtpd and e2e-mail in e2e-auth"
  ! ingroup e2e-log e2e && ! ingroup e2e-mail e2e && ! ingroup e2e-sam e2e-auth
  ok $? "e2e-log and e2e-mail are not in e2e, e2e-sam not in e2e-auth"
  like "$(getent passwd e2e-mail)" ':/usr/sbin/nologin$|:/bin/false$' "no login shell"
  st() { stat -c '%U:%G %a' "$home/$1"; }
  is "$(st .) $(st env) $(st env/E2E_DOMAIN) $(st service) $(st service/smtpd/run)" \
    "root:root 755 root:root 755 root:root 644 root:root 755 root:root 755" "home, settings and service tree are root's"
  is "$(st users) $(st recipients)" "root:e2e-auth 640 root:e2e-auth 644" "users: root:e2e-auth 640, recipients 644"
  is "$(st key)" "root:root 600" "key: root's, 600 (samaccept's run script hands it over on a descriptor)"
  is "$(st queue) $(st queue/todo) $(st queue/trigger)" "$SQ:$SQ 700 $SQ:$SQ 700 $SQ:$SQ 600" \
    "queue: $SQ's only"
  is "$(st mail) $(st mail/bob) $(st mail/bob/new)" "e2e-mail:e2e-mail 700 e2e-mail:e2e-mail 700 e2e-mail:e2e-mail 700" \
    "Maildirs: e2e-mail's only (also those e2e-passwd made as root)"
  if [ "$SU" = e2e-smtpd ]; then
    is "$(st cache)" "e2e-remote:e2e-sam 2770" "cache: e2e-remote's, group e2e-sam may write"
    is "$(st libexec/e2e-queue) $(st libexec/e2e-local) $(st libexec/e2e-remote)" \
      "e2e-queue:e2e 4110 e2e-mail:e2e-queue 4110 e2e-remote:e2e-queue 4110" "libexec: the three setuid copies"
    for p in e2e-queue e2e-local e2e-remote; do cmp -s "$home/libexec/$p" "$TOP/bin/$p" || break; done
    ok $? "libexec/ holds copies of bin/e2e-queue, bin/e2e-local and bin/e2e-remote"
  fi
  is "$(st log/smtpd)" "e2e-log:e2e-log 750" "log/smtpd: e2e-log's"
  is "$(cat "$home/service/smtpd/data/user" "$home/service/samaccept/data/user" "$home/service/pop3d/data/user" \
             "$home/service/runner/data/user" "$home/service/runner/log/data/user" | tr '\n' ' ')" \
    "$SU $SA e2e-mail $SQ e2e-log " "data/user names each service's account"
  # what the accounts can and cannot read
  cannot() { ! s6-setuidgid "$1" cat "$2" >/dev/null 2>&1; }
  can() { s6-setuidgid "$1" cat "$2" >/dev/null 2>&1; }
  cannot e2e-smtpd "$home/key" && cannot e2e-sam "$home/key" && cannot e2e-mail "$home/key" && cannot e2e-queue "$home/key"
  ok $? "no account reads the key"
  can e2e-smtpd "$home/users" && cannot e2e-sam "$home/users" && can e2e-mail "$home/users" && cannot e2e-log "$home/users"
  ok $? "users: read by e2e-smtpd and e2e-mail (passwords), not by e2e-sam or e2e-log"
  ! s6-setuidgid e2e-smtpd ls "$home/queue/todo" >/dev/null 2>&1 && ! s6-setuidgid e2e-sam ls "$home/mail/bob" >/dev/null 2>&1
  ok $? "the accounts e2e-smtpd and e2e-sam see neither the queue nor the Maildirs"
  (cd "$home/service/runner" && mv data/user data/user.off && { ./run; r=$?; mv data/user.off data/user; exit $r; }) >"$T_TMP/norun" 2>&1
  is "$?" 100 "a run script without data/user refuses to run as root"
  like "$(cat "$T_TMP/norun")" 'no account in data/user' "and says why"
  # links planted by a service account do not redirect e2e-setup's changes
  : > "$T_TMP/victim"; chmod 600 "$T_TMP/victim"
  ln -s "$T_TMP/victim" "$home/mail/bob/evil"; ln -s "$T_TMP/victim" "$home/queue/evil"
  chown -h e2e-mail "$home/mail/bob/evil" "$home/queue/evil"
  e2e-setup "$home" alice.i2p >/dev/null 2>&1
  is "$(stat -c '%U %a' "$T_TMP/victim")" "root 600" "symbolic links in the accounts' directories are not followed"
  rm -f "$home/mail/bob/evil" "$home/queue/evil"
  before=$(stat -c %Y "$home/libexec/e2e-queue" 2>/dev/null)
  out=$(e2e-setup "$home" alice.i2p 2>&1 | grep -v 'warning: .* the services run as e2e-mail')
  is "$out" "e2e-setup: mail home $home for alice.i2p is ready" "a third run is quiet"
  is "$(stat -c %Y "$home/libexec/e2e-queue" 2>/dev/null)" "$before" "and leaves an up-to-date libexec/e2e-queue alone"
fi

# ---------------------------------------------------------------- the tree
smtp=$(free_port) pop3=$(free_port)
echo "127.0.0.1:$smtp" > "$home/env/E2E_SMTP"
echo "127.0.0.1:$pop3" > "$home/env/E2E_POP3"
echo 2 > "$home/env/E2E_RETRY"
fake_sam sam
ok $? "a stand-in SAM bridge"
echo "127.0.0.1:$FPORT" > "$home/env/E2E_SAM"

tree_up env E2E_LEAKED=from-the-shell E2E_RETRY=9999 "$home"
until_ok 200 all_ready "$home" smtpd pop3d samaccept runner
ok $? "s6-svscan HOME/service: every service and every logger up and ready"
for s in smtpd pop3d samaccept runner; do
  diag "$s: $(s6-svstat "$home/service/$s")"
done

# The run scripts pass on PATH and env/, nothing else of s6-svscan's
# environment: a variable only the shell had is gone, one env/ also has
# comes from env/.
for s in smtpd pop3d samaccept runner; do
  e=$(tr '\0' '\n' <"/proc/$(s6-svstat -o pid "$home/service/$s")/environ")
  like "$e" "^E2E_HOME=$home\$" "$s's environment has E2E_HOME from env/"
  unlike "$e" "E2E_LEAKED" "$s's environment has nothing of s6-svscan's own"
  like "$e" "^E2E_RETRY=2\$" "$s's E2E_RETRY is env/'s, not s6-svscan's"
done

if [ -n "$ROOT" ]; then
  procs=$(tree_of "$SV")
  diag "the tree:"; while read -r l; do diag "  $l"; done <<<"$procs"
  like "$procs" " $SQ e2e-runner" "e2e-runner runs as $SQ"
  like "$procs" " $SA e2e-samaccept" "e2e-samaccept runs as $SA"
  tcp=$(ps -o user:20=,args= -p "$(s6-svstat -o pid "$home/service/smtpd")" -p "$(s6-svstat -o pid "$home/service/pop3d")")
  like "$tcp" "$SU +tcpserver .* /[^ ]*/e2e-smtpd\$" "smtpd's tcpserver runs as $SU"
  like "$tcp" 'e2e-mail +tcpserver .* e2e-pop3d' "pop3d's tcpserver runs as e2e-mail"
  is "$(awk '$3 == "s6-log" && $2 != "e2e-log"' <<<"$procs")" "" "every s6-log runs as e2e-log"
  is "$(awk '$2 == "root" && $3 != "s6-supervise"' <<<"$procs")" "" "nothing but s6 runs as root"
fi

# mail through the tree
out=$(submit "$smtp" alice alicepw alice@alice.i2p bob@alice.i2p 1 2>&1)
is "$out" "sent 1" "submission through the supervised smtpd"
until_ok 100 eval 'test "$(nmail "$home/mail/bob")" = 1'
ok $? "delivered into bob's Maildir by the supervised runner"
is "$(pop_count "$pop3" bob bobpw 2>&1)" 1 "bob fetches it through the supervised pop3d"
if [ -n "$ROOT" ]; then
  is "$(stat -c %U "$(ls -d "$home"/mail/bob/new/* "$home"/mail/bob/cur/* 2>/dev/null | head -1)")" e2e-mail \
    "the delivered file is e2e-mail's"
fi

# a peer over "I2P": the null sender needs no verification
smtp_sam=$(printf 'EHLO peer.i2p\r\nMAIL FROM:<>\r\nRCPT TO:<alice@alice.i2p>\r\nDATA\r\nSubject: over I2P\r\n\r\nhello from a peer\r\n.\r\nQUIT\r\n')
r=$(ctl peer ed25519-1 "$(hex "$smtp_sam")")
got=$(unhex "${r#got }")
like "$got" '250 2\.0\.0 ok' "a peer's message through samaccept and the SAM-side smtpd is queued"
until_ok 100 eval 'test "$(nmail "$home/mail/alice")" = 1'
ok $? "and delivered to alice"

# logs
for s in smtpd pop3d samaccept runner; do
  test -s "$home/log/$s/current"
  ok $? "log/$s/current is written"
done
like "$(cat "$home/log/smtpd/current")" '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ +e2e-smtpd: pid=[0-9]+ ' "smtpd's log: timestamped e2e-smtpd lines"
like "$(cat "$home/log/runner/current")" 'e2e-runner: delivery id=.* rcpt=bob@alice\.i2p result=ok' "runner's log: the delivery"
# from the smtpd's line to the runner's: qp=N there, a queue id ending in PN here
qp=$(sed -n 's/.* e2e-smtpd: pid=[0-9]* message id=.* from=<alice@alice\.i2p> .* result=queued qp=\([0-9]*\)$/\1/p' "$home/log/smtpd/current" | head -1)
like "$(cat "$home/log/runner/current")" "e2e-runner: delivery id=[0-9]+\\.M[0-9]+P${qp:-none} rcpt=bob@alice\\.i2p result=ok" \
  "the smtpd's qp=$qp names the queue id of the runner's lines (P$qp)"
like "$(cat "$home/log/samaccept/current")" 'e2e-samaccept: session id=' "samaccept's log: the session"
like "$(cat "$home/log/pop3d/current")" 'e2e-pop3d' "pop3d's log"
s6-svc -a "$home/service/smtpd/log"
until_ok 50 sh -c 'ls "$1"/@*.s >/dev/null 2>&1' sh "$home/log/smtpd"
ok $? "the logger rotates (s6-svc -a): an archived @….s file"

# size bound: 15 MB through a logger made from the template keeps about 11 MB
mkdir -p "$T_TMP/lt/service/x" "$T_TMP/lt/log/x"
cp -R "$TOP/run/smtpd/log" "$T_TMP/lt/service/x/log"
sed -i 's|log/smtpd$|log/x|' "$T_TMP/lt/service/x/log/run"
if [ -n "$ROOT" ]; then
  mkdir -p "$T_TMP/lt/service/x/log/data"; echo e2e-log > "$T_TMP/lt/service/x/log/data/user"
  chown e2e-log "$T_TMP/lt/log/x"; chmod 755 "$T_TMP/lt" "$T_TMP/lt/log"
fi
(cd "$T_TMP/lt/service/x/log" && $PY -c '
import sys
line = b"x" * 99 + b"\n"
for i in range(150000): sys.stdout.buffer.write(line)' | ./run 3>/dev/null)
total=$(du -sb "$T_TMP/lt/log/x" | cut -f1)
narch=$(ls "$T_TMP/lt/log/x" | grep -c '^@')
diag "15 MB logged: $total bytes kept in $narch archives"
ok "$([ "$total" -le 12000000 ] && [ "$narch" -le 10 ] && [ "$total" -ge 9000000 ]; echo $?)" \
  "the log directory stays within 10 archives of 1 MB and the current file"

# ---------------------------------------------------------------- crashes
for s in smtpd pop3d samaccept runner; do
  old=$(s6-svstat -o pid "$home/service/$s")
  kill -9 "$old"
  until_ok 100 restarted "$home/service/$s" "$old"
  ok $? "$s SIGKILLed: s6-supervise starts it again, and it is ready"
done
until_ok 100 eval 'test "$(ctl waiting)" -ge 1'
ok $? "the new samaccept has its ACCEPTs waiting"
out=$(submit "$smtp" alice alicepw alice@alice.i2p bob@alice.i2p 1 2>&1)
is "$out" "sent 1" "submission after the restarts"
until_ok 100 eval 'test "$(nmail "$home/mail/bob")" = 2'
ok $? "and delivery"

# The runner SIGKILLed again and again while 30 messages come in: each is
# delivered exactly once.
submit "$smtp" alice alicepw alice@alice.i2p bob@alice.i2p 30 >"$T_TMP/burst" 2>&1 &
burst=$!
kills=0
for _ in 1 2 3 4 5 6; do
  sleep 0.15
  p=$(s6-svstat -o pid "$home/service/runner")
  [ "$p" != -1 ] && kill -9 "$p" 2>/dev/null && kills=$((kills + 1))
  until_ok 50 ready "$home/service/runner"
done
wait "$burst"
is "$(cat "$T_TMP/burst")" "sent 30" "30 messages accepted while the runner was killed $kills times"
until_ok 200 eval 'test "$(nmail "$home/mail/bob")" -ge 32'
n=$(nmail "$home/mail/bob")
is "$n" 32 "every message delivered, none twice"
subjects=$(cat "$home"/mail/bob/new/* "$home"/mail/bob/cur/* 2>/dev/null | grep -c '^Subject: s6 test ')
is "$subjects" 32 "…with their own subjects"
until_ok 100 sh -c '[ -z "$(find "$1/queue/todo" "$1/queue/mess" "$1/queue/info" -type f)" ]' sh "$home"
ok $? "the queue is empty again"

# The router goes away: samaccept says so and is restarted (every 5 s,
# slowed down by its finish script) until the bridge answers again.
kill "$FPID"
until_ok 100 grep -q 'e2e-samaccept: session lost' "$home/log/samaccept/current"
ok $? "the bridge gone: samaccept logs 'session lost'"
until_ok 100 grep -q 'e2e-samaccept: fatal: unable to create the SAM session: unable to connect to SAM' "$home/log/samaccept/current"
ok $? "and, restarted, says it cannot reach SAM"
sleep 6
n=$(grep -c 'unable to create the SAM session' "$home/log/samaccept/current")
ok "$([ "$n" -ge 1 ] && [ "$n" -le 3 ]; echo $?)" "restarts are slowed down to one every 5 s or so ($n in 6 s)"
fake_sam sam2
echo "127.0.0.1:$FPORT" > "$home/env/E2E_SAM"
until_ok 150 all_ready "$home" samaccept
ok $? "a bridge again: samaccept is back and ready"

# ---------------------------------------------------------------- stop
stop_tree "$home" "$SV"
ok $? "s6-svscanctl -t: s6-svscan exits"
until_ok 100 no_proc_in "$home"
left=$(in_home "$home")
is "$left" "" "no process is left in the home"
[ -z "$left" ] || diag "$(ps -o pid,user,args -p "$(echo $left | tr ' ' ,)")"
! (exec 8<>"/dev/tcp/127.0.0.1/$smtp") 2>/dev/null
ok $? "the SMTP port is closed"

# ---------------------------------------------------------------- as a user
# The same, set up and run by an ordinary user (nobody): everything runs
# as that user and the home is private to it.
if [ -n "$ROOT" ] && getent passwd nobody >/dev/null; then
  uhome=$T_TMP/nobody/home
  mkdir -p "$T_TMP/nobody" && chown nobody "$T_TMP/nobody"
  asu() { s6-setuidgid nobody env PATH="$PATH" "$@"; }
  asu e2e-setup "$uhome" bob.i2p >/dev/null 2>"$T_TMP/u.setup" && echo 'carol pw' | asu e2e-passwd "$uhome" carol >/dev/null
  ok $? "an ordinary user runs e2e-setup and e2e-passwd"
  is "$(stat -c '%U %a' "$uhome" "$uhome/users" "$uhome/queue" | tr '\n' ' ')" "nobody 700 nobody 600 nobody 700 " \
    "the home is the user's own and private"
  ok "$([ ! -e "$uhome/libexec" ] && [ ! -e "$uhome/service/smtpd/data/user" ]; echo $?)" "no accounts, no setuid copy"
  usmtp=$(free_port) upop3=$(free_port)
  asu sh -c 'echo "127.0.0.1:$2" > "$1/env/E2E_SMTP"; echo "127.0.0.1:$3" > "$1/env/E2E_POP3"; touch "$1/service/samaccept/down"' \
    sh "$uhome" "$usmtp" "$upop3"
  tree_up asu "$uhome"
  USV=$SV
  until_ok 200 all_ready "$uhome" smtpd pop3d runner
  ok $? "the user's tree: smtpd, pop3d, runner and their loggers ready"
  is "$(tree_of "$USV" | awk '$2 != "nobody"')" "" "everything runs as the user"
  out=$(submit "$usmtp" carol 'carol pw' carol@bob.i2p carol@bob.i2p 1 2>&1)
  is "$out" "sent 1" "submission"
  until_ok 100 eval 'test "$(pop_count "$upop3" carol "carol pw" 2>/dev/null)" = 1'
  ok $? "delivery and POP3"
  stop_tree "$uhome" "$USV"
  ok $? "s6-svscanctl -t stops it"
  until_ok 100 no_proc_in "$uhome"
  is "$(in_home "$uhome")" "" "no process is left"
fi

done_testing
