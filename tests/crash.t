#!/bin/bash
# Crash safety: messages are injected while e2e-runner is SIGKILLed and
# restarted every 100-300 ms. At the end every message that e2e-queue
# accepted (exit 0) is in each recipient's Maildir exactly once, and the
# queue is empty.
. "$(dirname "$0")/lib.sh"

H=$T_TMP/home
mkhome "$H" alice.i2p alice:pw bob:pw 2>/dev/null
ok $? "mail home"
export E2E_HOME=$H E2E_DOMAIN=alice.i2p E2E_RETRY=1
N=${CRASH_N:-200}
P=4

envelope() { printf 'F%s\0' "$1"; shift; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; }

# the killer: start a runner, let it work 100-300 ms, SIGKILL it, again
(
  while [ ! -e "$T_TMP/stop" ]; do
    e2e-runner 2>>"$T_TMP/runner.log" &
    echo $! >> "$T_TMP/runner.pids"
    sleep "0.$((RANDOM % 3 + 1))"
    kill -9 $! 2>/dev/null
    wait $! 2>/dev/null
    echo kill >> "$T_TMP/kills"
  done
) &
bg_pid $!

# P injectors, N messages in all, each to bob and alice
for p in $(seq $P); do
  (
    for i in $(seq "$p" "$P" "$N"); do
      printf 'Subject: crash %d\nMessage-ID: <crash.%d@alice.i2p>\n\nbody tok-%d\n' "$i" "$i" "$i" |
        e2e-queue 1< <(envelope alice@alice.i2p bob@alice.i2p alice@alice.i2p)
      echo "$i $?" >> "$T_TMP/rc.$p"
      [ $((i % 20)) = 0 ] && sleep 0.05
    done
  ) &
  bg_pid $!
done
wait_inject() { for p in $(seq $P); do [ -f "$T_TMP/rc.$p" ] || return 1; done
  [ "$(cat "$T_TMP"/rc.* | wc -l)" = "$N" ]; }
for _ in $(seq 600); do wait_inject && break; sleep 0.1; done
wait_inject
ok $? "$N messages injected"
# keep killing a little longer, then stop
sleep 1
touch "$T_TMP/stop"
for _ in $(seq 50); do [ "$(wc -l < "$T_TMP/runner.pids")" = "$(wc -l < "$T_TMP/kills" 2>/dev/null || echo 0)" ] && break; sleep 0.1; done
for p in $(cat "$T_TMP/runner.pids"); do kill -9 "$p" 2>/dev/null; done
kills=$(wc -l < "$T_TMP/kills")
diag "runner SIGKILLed $kills times"
[ "$kills" -ge 5 ]
ok $? "the runner was killed repeatedly (at least 5 times)"

accepted=$(cat "$T_TMP"/rc.* | awk '$2 == 0' | wc -l)
is "$accepted" "$N" "e2e-queue accepted every message"

# a last runner, left alone, finishes the queue
e2e-runner 2>>"$T_TMP/runner.log" &
RPID=$!
bg_pid $RPID
queue_empty() { [ -z "$(find "$H/queue/todo" "$H/queue/mess" "$H/queue/info" -type f)" ]; }
for _ in $(seq 300); do queue_empty && break; sleep 0.1; done
queue_empty
ok $? "the queue is empty at the end"

for u in bob alice; do
  cat "$H/mail/$u/new/"* "$H/mail/$u/cur/"* 2>/dev/null | grep -a '^body tok-' | sort | uniq -c > "$T_TMP/count.$u"
  dup=$(awk '$1 != 1' "$T_TMP/count.$u" | head -5)
  is "$dup" "" "$u: no message delivered twice"
  missing=0
  for i in $(cat "$T_TMP"/rc.* | awk '$2 == 0 { print $1 }'); do
    grep -q " body tok-$i\$" "$T_TMP/count.$u" || missing=$((missing + 1))
  done
  is "$missing" 0 "$u: every accepted message arrived"
  is "$(ls "$H/mail/$u/new" | wc -l)" "$accepted" "$u: exactly $accepted files in new/"
done
unlike "$(cat "$T_TMP/runner.log")" 'result=fail|malformed' "no failure or malformed file in the runner's log"
kill -TERM $RPID; wait $RPID
is "$?" 0 "the last runner stops cleanly"

done_testing
