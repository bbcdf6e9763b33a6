#!/bin/bash
# e2e-qstat: the queue mailq style. A new message (not yet taken in), then
# the same after a runner pass with a stand-in e2e-remote (one domain
# deferred, one refused): each recipient's state, tries, next attempt and
# last error, and the summary line; -r (retry now) and -d (remove), which
# refuse while the runner holds its lock; as root, it becomes the queue's
# owner before writing anything.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T_TMP/bin"
for p in e2e-local e2e-queue e2e-bounce; do ln -s "$TOP/bin/$p" "$T_TMP/bin/$p"; done
cat > "$T_TMP/bin/e2e-remote" <<'EOF'
#!/bin/sh
# stand-in: bob.i2p does not answer; dave.i2p has no such user
d=$1; shift 2
for r; do
  case $d in
    bob.i2p) echo "Z 451 4.4.1 no answer from $d's mail server (stand-in)" ;;
    *) echo "D 550 5.1.1 <$r>: no such user here (stand-in)" ;;
  esac
done
EOF
chmod 755 "$T_TMP/bin/e2e-remote"
RPATH="$T_TMP/bin:/usr/bin:/bin"

H=$T_TMP/home
mkhome "$H" alice.i2p alice:alicepw carol:carolpw
ok $? "mail home"
# Run as root, e2e-setup gives the queue to e2e-mail, and e2e-qstat would
# become e2e-mail; here the runner runs as whoever runs the test, so the
# queue is that user's (the e2e-mail case is at the end).
chown -R "$(id -u):$(id -g)" "$H/queue"
envelope() { printf 'F%s\0' "$1"; shift; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; }
inject() {  # inject SENDER RCPT... < message
  E2E_HOME=$H e2e-queue 1< <(envelope "$@")
}
until_ok() { local n=$1; shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }

out=$(e2e-qstat "$H")
ok $? "an empty queue: exit 0"
is "$out" "0 messages, 0 recipients: 0 pending, 0 deferred, 0 failed, 0 done; runner not running" "an empty queue: the summary only"

printf 'Subject: to three\n\nhello\n' | inject alice@alice.i2p bob@bob.i2p carol@alice.i2p dave@dave.i2p
id=$(ls "$H/queue/todo")
out=$(e2e-qstat "$H")
diag "$out"
like "$out" "^$id  age [0-9]+s  size 25  from <alice@alice\.i2p>" "a new message: id, age, size of the message, sender"
like "$out" "  new +<bob@bob\.i2p>  tries 0  next now" "its recipients are new"
like "$out" "1 message, 3 recipients: 3 pending, 0 deferred, 0 failed, 0 done; runner not running" "summary: 3 pending"

# A runner pass: carol delivered, bob deferred, dave refused (and bounced).
env PATH="$RPATH" E2E_HOME="$H" E2E_DOMAIN=alice.i2p "$TOP/bin/e2e-runner" 2>"$T_TMP/runner.log" &
RPID=$!
bg_pid $RPID
until_ok 100 grep -q "rcpt=bob@bob.i2p result=defer" "$T_TMP/runner.log"
ok $? "the runner defers bob@bob.i2p"
until_ok 100 sh -c 'test "$(ls "$1"/mail/alice/new | wc -l)" = 1' sh "$H"
ok $? "and bounces dave@dave.i2p to alice"
out=$(e2e-qstat "$H")
diag "$out"
like "$out" "^$id  age [0-9]+s  size 25  from <alice@alice\.i2p>" "the message is still listed"
like "$out" "  deferred  <bob@bob\.i2p>  tries 1  next in [45]m
            last error: 451 4\.4\.1 no answer from bob\.i2p's mail server \(stand-in\)" \
  "the deferred recipient: tries, next attempt and last error"
like "$out" "  done      <carol@alice\.i2p>" "the delivered one: done"
like "$out" "  failed    <dave@dave\.i2p>
            last error: 550 5\.1\.1 <dave@dave\.i2p>: no such user here \(stand-in\)" "the refused one: failed, with the reason"
like "$out" "1 message, 3 recipients: 0 pending, 1 deferred, 1 failed, 1 done; runner running \(pid $RPID\)" \
  "summary: 1 deferred; the runner and its pid"
out=$(E2E_HOME=$H e2e-qstat)
like "$out" "<bob@bob\.i2p>" "E2E_HOME when no home is given"

out=$(e2e-qstat -r "$H" 2>&1)
is "$?" 111 "-r while the runner runs: 111"
like "$out" "the runner is running \(pid $RPID\): stop it first: s6-svc -wD -d $H/service/runner" "and says how to stop it"
out=$(e2e-qstat -d "$id" "$H" 2>&1)
is "$?" 111 "-d while the runner runs: 111"
ok "$([ -e "$H/queue/mess/$id" ]; echo $?)" "and the message stays"

kill "$RPID"; wait "$RPID" 2>/dev/null
like "$(e2e-qstat "$H")" "; runner not running" "the runner stopped: not running"
before=$(grep '^R todo' "$H/queue/info/$id")
out=$(e2e-qstat -r "$H")
ok $? "-r with the runner stopped"
is "$out" "1 recipient of 1 message due now: start the runner (s6-svc -u $H/service/runner)" "-r says what it did"
is "$(grep '^R todo' "$H/queue/info/$id")" "$(printf '%s\n' "$before" | sed 's/^R todo 1 [0-9]* /R todo 1 0 /')" \
  "the recipient's next attempt is now; tries and error kept"
like "$(e2e-qstat "$H")" "  deferred  <bob@bob\.i2p>  tries 1  next now" "listed as due now"

# the runner started again tries bob at once
env PATH="$RPATH" E2E_HOME="$H" E2E_DOMAIN=alice.i2p "$TOP/bin/e2e-runner" 2>"$T_TMP/runner2.log" &
RPID=$!
bg_pid $RPID
until_ok 100 grep -q "rcpt=bob@bob.i2p result=defer" "$T_TMP/runner2.log"
ok $? "a runner started after -r tries the recipient at once"
until_ok 50 sh -c 'grep -q "^R todo 2 " "$1"' sh "$H/queue/info/$id"
like "$(e2e-qstat "$H")" "  deferred  <bob@bob\.i2p>  tries 2  next in" "tries 2"
kill "$RPID"; wait "$RPID" 2>/dev/null

# -d
out=$(e2e-qstat -d "$id" "$H" 2>&1)
ok $? "-d ID with the runner stopped"
like "$out" "e2e-qstat: removing id=$id sender=alice@alice\.i2p rcpts=3" "logs what it removes"
like "$out" "$id removed" "and says so"
ok "$([ ! -e "$H/queue/mess/$id" ] && [ ! -e "$H/queue/info/$id" ]; echo $?)" "mess/ID and info/ID are gone"
is "$(e2e-qstat "$H")" "0 messages, 0 recipients: 0 pending, 0 deferred, 0 failed, 0 done; runner not running" "the queue is empty"
out=$(e2e-qstat -d "$id" "$H" 2>&1)
is "$?" 100 "-d of a message that is not there: 100"
like "$out" "no such message in the queue: $id" "and says so"
printf 'x\n' | inject alice@alice.i2p bob@bob.i2p
new=$(ls "$H/queue/todo")
e2e-qstat -d "$new" "$H" >/dev/null 2>&1
ok "$([ $? = 0 ] && [ ! -e "$H/queue/todo/$new" ]; echo $?)" "-d removes a message still in todo/"

# The real e2e-remote with no SAM bridge to talk to: the resolver's reason.
H2=$T_TMP/home2
mkhome "$H2" alice.i2p alice:alicepw && chown -R "$(id -u):$(id -g)" "$H2/queue"
printf 'x\n' | E2E_HOME=$H2 e2e-queue 1< <(envelope alice@alice.i2p bob@bob.i2p)
nosam=$(free_port)
env PATH="$TOP/bin:/usr/bin:/bin" E2E_HOME="$H2" E2E_DOMAIN=alice.i2p E2E_SAM=127.0.0.1:$nosam "$TOP/bin/e2e-runner" 2>"$T_TMP/runner3.log" &
RPID=$!
bg_pid $RPID
until_ok 100 sh -c 'grep -qs "^R todo 1 " "$1"/queue/info/*' sh "$H2"
out=$(e2e-qstat "$H2")
diag "$out"
like "$out" "  deferred  <bob@bob\.i2p>  tries 1  next in [45]m
            last error: cannot find the mail server of bob\.i2p now: .*unable to connect to SAM at 127\.0\.0\.1:$nosam" \
  "no SAM bridge: deferred, and the last error says why"
kill "$RPID"; wait "$RPID" 2>/dev/null

# the null sender, a malformed message file, a malformed state file
printf 'Subject: a bounce\n\nx\n' | inject '' alice@elsewhere.i2p
bid=$(ls "$H/queue/todo")
mv "$H/queue/todo/$bid" "$H/queue/mess/$bid"
printf 'garbage' > "$H/queue/mess/1700000000.M1P1"
printf 'Subject: y\n\ny\n' | inject carol@alice.i2p bob@bob.i2p
mid=$(ls "$H/queue/todo")
mv "$H/queue/todo/$mid" "$H/queue/mess/$mid"
printf 'e2e-info 1\nnonsense\n' > "$H/queue/info/$mid"
out=$(e2e-qstat "$H")
diag "$out"
like "$out" "^1700000000\.M1P1  malformed message file" "a malformed message file is named, oldest first"
like "$out" "$bid  age [0-9]+s  size [0-9]+  from <>" "the null sender shows as <>"
like "$out" "$mid  .*\(state file malformed: ignored\)" "a malformed state file is pointed out"
like "$out" "2 messages, 2 recipients: 2 pending" "the summary counts the readable ones"

# usage
e2e-qstat -x "$H" >/dev/null 2>&1; is "$?" 100 "an unknown option: 100"
e2e-qstat "$H" "$H" >/dev/null 2>&1; is "$?" 100 "two homes: 100"
out=$(env -u E2E_HOME e2e-qstat 2>&1); is "$?" 100 "no home at all: 100"
like "$out" "no mail home" "and says so"
e2e-qstat -d ../etc "$H" >/dev/null 2>&1; is "$?" 100 "-d with an invalid id: 100"
out=$(e2e-qstat "$T_TMP/nowhere" 2>&1); is "$?" 111 "a home without a queue: 111"

# As root, on a queue that belongs to e2e-mail (e2e-setup's layout):
# -r rewrites state files as their owner, never as root.
if [ "$(id -u)" = 0 ] && getent passwd e2e-mail >/dev/null; then
  printf 'e2e-info 1\nqueued %s\nwarned 0\nR todo 3 4000000000 451 later\n' "${mid%%.*}" > "$H/queue/info/$mid"
  rm -f "$H/queue/mess/1700000000.M1P1"
  chmod 755 "$T_TMP"
  chown -R e2e-mail:e2e-mail "$H/queue"
  out=$(e2e-qstat -r "$H" 2>&1)
  ok $? "root: -r on e2e-mail's queue"
  is "$(stat -c %U "$H/queue/info/$mid")" e2e-mail "the rewritten state file is e2e-mail's"
  like "$(cat "$H/queue/info/$mid")" "R todo 3 0 451 later" "with the next attempt now"
  is "$(find "$H/queue" -user root | wc -l)" 0 "nothing in the queue is root's"
fi

done_testing
