#!/bin/bash
# e2e-spamfilter behind e2e-smtpd (PROTO=SAM, a stand-in verifier) into
# the real e2e-queue, with real filters: a private SpamAssassin spamd and
# a private rspamd on loopback, both started once, here, and stopped by
# PID. GTUBE refused with 554 and nothing queued; ham queued with our
# verdict and without the sender's; the filter down or hanging: fail open
# (marked unchecked) or closed (451); submitted mail untouched; a big
# message passes whole; a cut message is never queued; and the operator's
# way in: env/E2E_QUEUE read by run/samaccept under a stand-in SAM bridge.
# About 35 s, most of it rspamd starting.
. "$(dirname "$0")/lib.sh"

for p in e2e-spamfilter e2e-smtpd e2e-queue e2e-setup e2e-passwd; do
  [ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done
for p in /usr/sbin/spamd spamc rspamd rspamc; do
  command -v "$p" >/dev/null || { echo "Bail out! $p is missing (tests/deps.sh installs spamd, spamc, rspamd)"; exit 1; }
done

H=$T_TMP/home LOG=$T_TMP/log
B32=abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst.b32.i2p
ASAN_OPTIONS=detect_leaks=0 mkhome "$H" alice.i2p alice:secret 2>/dev/null || { echo "Bail out! cannot make a mail home"; exit 1; }
SA=$(free_port) RS=$(free_port) RSC=$(free_port) RSP=$(free_port) DEAD=$(free_port) HANG=$(free_port)
asroot=; [ "$(id -u)" = 0 ] && asroot=1

# ---- the filters ----
# spamd (tests/spam/spamd.sh)
. "$TOP/tests/spam/spamd.sh"
spamd_run "$T_TMP/sa" "$SA" 2> "$T_TMP/spamd.log" &
bg_pid $!
# rspamd: Debian's configuration, its workers on our ports, DNS to a port
# where nothing answers (no lookups leave the machine), logs on stderr.
R=$T_TMP/rs
mkdir -p "$R/override.d" "$R/local.d" "$R/db" "$R/run"
chmod 777 "$R/db" "$R/run"
echo "bind_socket = \"127.0.0.1:$RS\";" > "$R/override.d/worker-normal.inc"
echo "bind_socket = \"127.0.0.1:$RSC\";" > "$R/override.d/worker-controller.inc"
echo "bind_socket = \"127.0.0.1:$RSP\";" > "$R/override.d/worker-proxy.inc"
printf 'type = "console";\nlevel = "error";\n' > "$R/override.d/logging.inc"
printf 'dns { nameserver = ["127.0.0.1:%s"]; timeout = 0.3s; retransmits = 1; }\n' "$DEAD" > "$R/local.d/options.inc"
rspamd -f ${asroot:+-u nobody -g nogroup} --var LOCAL_CONFDIR="$R" --var DBDIR="$R/db" --var RUNDIR="$R/run" \
  --var LOGDIR="$R" > "$T_TMP/rspamd.log" 2>&1 &
bg_pid $!
# a filter that takes the connection and never answers
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); c = []
while True: c.append(s.accept()[0])' "$HANG" &
bg_pid $!

# ---- messages, sessions ----
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
printf 'From: Bob <bob@bob.i2p>\nTo: alice@alice.i2p\nSubject: offer\nDate: Thu, 13 Feb 2025 10:20:30 +0000\nMessage-ID: <1@bob.i2p>\n\n%s\n' "$GTUBE" > "$T_TMP/gtube"
printf 'From: Bob <bob@bob.i2p>\nTo: alice@alice.i2p\nSubject: lunch\nDate: Thu, 13 Feb 2025 10:20:30 +0000\nMessage-ID: <2@bob.i2p>\nX-Spam-Status: No, score=-100.0 required=5.0\nX-Spam-Flag: NO\nX-Spam-Score: -100.0\nx-spam-report: all\n fine\nX-Spamd-Result: default: False\nX-Rspamd-Server: x\nX-Spamming-Is-Fun: kept\n\nshall we have lunch on Friday?\nX-Spam-Status: in the body, kept\n' > "$T_TMP/ham"
cat > "$T_TMP/verify" <<'EOF'
#!/bin/sh
exit 0
EOF
chmod +x "$T_TMP/verify"

# session MESSAGE [VAR=VALUE...]: one e2e-smtpd session from bob@bob.i2p
# to alice with e2e-spamfilter as E2E_QUEUE; replies in $OUT (no CR), logs
# in $LOG, the queue file's message in $MSG (the queue starts empty).
# sam MESSAGE [VAR=VALUE...]: the same with PROTO=SAM.
session() {
  local m=$1; shift
  rm -f "$H"/queue/todo/*
  { printf '%s\r\n' "EHLO peer" "MAIL FROM:<bob@bob.i2p>" "RCPT TO:<alice@alice.i2p>" DATA
    sed 's/^\./../; s/$/\r/' "$m"; printf '.\r\nQUIT\r\n'; } > "$T_TMP/in"
  env E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_VERIFY="$T_TMP/verify" E2E_QUEUE=e2e-spamfilter \
    SAMREMOTEB32=$B32 SAMREMOTEDEST=x E2E_SPAM_PORT="$SA" "$@" e2e-smtpd < "$T_TMP/in" > "$T_TMP/out" 2> "$LOG"
  OUT=$(tr -d '\r' < "$T_TMP/out")
  Q=$(ls "$H"/queue/todo/ 2>/dev/null | wc -l)
  QF=$(ls "$H"/queue/todo/* 2>/dev/null | head -1)
  MSG=; [ -z "$QF" ] || MSG=$(tr '\0' '\n' < "$QF" | sed '1,3d')
}
sam() { session "$1" PROTO=SAM "${@:2}"; }
reply() { sed -n '/^354/{n;p;}' <<<"$OUT"; }   # the reply to the message
head_of() { sed '/^$/q' <<<"$MSG"; }

# both filters answer (each started above, in parallel; rspamd is slow to start)
t0=$(date +%s) sa_up=1 rs_up=1
for _ in $(seq 1 600); do
  [ "$sa_up" = 0 ] || { spamc -d 127.0.0.1 -p "$SA" -K >/dev/null 2>&1 && sa_up=0; }
  [ "$rs_up" = 0 ] || { rspamc -h "127.0.0.1:$RS" -t 5 < "$T_TMP/ham" 2>/dev/null | grep -q '^Score:' && rs_up=0; }
  [ "$sa_up$rs_up" = 00 ] && break
  [ $(( $(date +%s) - t0 )) -lt 90 ] || break
  sleep 0.3
done
ok "$sa_up" "spamd answers on 127.0.0.1:$SA"
ok "$rs_up" "rspamd answers on 127.0.0.1:$RS"
diag "filters up in $(( $(date +%s) - t0 )) s"
[ "$sa_up$rs_up" = 00 ] || { tail -5 "$T_TMP/spamd.log" "$T_TMP/rspamd.log" | sed 's/^/# /'; }

# ---- SpamAssassin (spamc, the default) ----
sam "$T_TMP/gtube"
is "$(reply)" "554 5.7.1 message refused as spam" "GTUBE: 554 5.7.1 before any 250"
is "$Q" 0 "GTUBE: nothing queued"
like "$(cat "$LOG")" 'spam filter=spamc score=1[0-9]{3}\.[0-9] .* result=refused' "GTUBE: the filter's log line: its score, refused"
like "$(cat "$LOG")" 'result=refused_spam' "GTUBE: e2e-smtpd logs refused_spam"

sam "$T_TMP/ham"
like "$(reply)" '^250 2\.0\.0 ok ' "ham: 250"
is "$Q" 1 "ham: queued"
like "$(head_of | sed -n 1p)" '^X-Spam-Status: No, score=-?[0-9]+\.[0-9] required=5\.0 filter=spamc$' "ham: our X-Spam-Status first, with the score"
like "$(head_of | sed -n 2p)" '^X-Spam-Score: -?[0-9]+\.[0-9]$' "ham: X-Spam-Score"
is "$(head_of | grep -ci '^x-spam\(-\|d-\|:\)\|^x-rspamd-')" 2 "ham: the sender's X-Spam-*, X-Spamd-*, X-Rspamd-* fields (folded too) removed: only our two"
is "$(sed '1,/^$/d' <<<"$MSG")" "shall we have lunch on Friday?
X-Spam-Status: in the body, kept" "ham: the body intact"
like "$(head_of)" $'\nX-Spamming-Is-Fun: kept\n' "ham: other X- fields kept"
like "$(head_of | sed -n 3p)" '^Received: from peer ' "ham: e2e-smtpd's trace fields follow"
like "$(cat "$LOG")" 'removed=6 result=ham' "ham: log says how many fields went"

sam "$T_TMP/gtube" E2E_SPAM_REJECT=off
like "$(reply)" '^250 ' "E2E_SPAM_REJECT=off: GTUBE accepted"
like "$(head_of | sed -n 1p)" '^X-Spam-Status: Yes, score=1[0-9]{3}\.[0-9] required=5\.0 filter=spamc$' "... marked Yes"
sam "$T_TMP/ham" E2E_SPAM_REJECT=-50
is "$(reply)" "554 5.7.1 message refused as spam" "E2E_SPAM_REJECT=-50: even ham is refused (the threshold is ours)"

# ---- the filter down, or hanging ----
sam "$T_TMP/gtube" E2E_SPAM_PORT="$DEAD"
like "$(reply)" '^250 ' "spamd down, fail open (the default): accepted"
is "$(head_of | sed -n 1p)" "X-Spam-Status: Unchecked, reason=unavailable filter=spamc" "... marked unchecked"
is "$Q" 1 "... queued"
sam "$T_TMP/ham" E2E_SPAM_PORT="$DEAD" E2E_SPAM_FAIL=closed
like "$(reply)" '^451 4\.3\.0 ' "spamd down, E2E_SPAM_FAIL=closed: 451"
is "$Q" 0 "... nothing queued"
s=$(date +%s)
sam "$T_TMP/ham" E2E_SPAM_PORT="$HANG" E2E_SPAM_TIMEOUT=2
e=$(( $(date +%s) - s ))
like "$(reply)" '^250 ' "spamd hanging, fail open: accepted after E2E_SPAM_TIMEOUT"
is "$(head_of | sed -n 1p)" "X-Spam-Status: Unchecked, reason=timeout filter=spamc" "... marked unchecked: timeout"
ok $([ "$e" -ge 2 ] && [ "$e" -le 8 ]; echo $?) "... in about 2 s (took $e s)"
sam "$T_TMP/ham" E2E_SPAM_PORT="$HANG" E2E_SPAM_TIMEOUT=1 E2E_SPAM_FAIL=closed
like "$(reply)" '^451 ' "spamd hanging, fail closed: 451"
is "$Q" 0 "... nothing queued"
sam "$T_TMP/ham" E2E_SPAM_FAIL=maybe
like "$(reply)" '^451 ' "a malformed setting: 451, not a pass"
like "$(cat "$LOG")" 'E2E_SPAM_FAIL must be open or closed' "... the log names the variable"

# a client that says much more than its score (rspamc lists every
# symbol): read to its end, never killed by a full pipe. A stand-in
# spamc, for an answer the real one does not give.
mkdir -p "$T_TMP/fake"
printf '#!/bin/sh\ncat >/dev/null; echo 2.0/5.0; head -c 300000 /dev/zero | tr "\\0" x; echo\n' > "$T_TMP/fake/spamc"
chmod +x "$T_TMP/fake/spamc"
sam "$T_TMP/ham" PATH="$T_TMP/fake:$PATH"
is "$(head_of | sed -n 1p)" "X-Spam-Status: No, score=2.0 required=5.0 filter=spamc" "a 300 KB answer: the score taken, the rest read and dropped"

# ---- submitted mail (PROTO=TCP): untouched, not filtered ----
b64=$(printf '\0alice\0secret' | base64 -w0)
{ printf '%s\r\n' "EHLO laptop" "AUTH PLAIN $b64" "MAIL FROM:<alice@alice.i2p>" "RCPT TO:<bob@bob.i2p>" DATA
  sed 's/$/\r/' "$T_TMP/gtube"; printf 'X-Spam-Status: kept\r\n.\r\nQUIT\r\n'; } > "$T_TMP/in"
rm -f "$H"/queue/todo/*
env PROTO=TCP TCPREMOTEIP=127.0.0.1 E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_QUEUE=e2e-spamfilter E2E_SPAM_PORT="$SA" \
  e2e-smtpd < "$T_TMP/in" > "$T_TMP/out" 2> "$LOG"
like "$(tr -d '\r' < "$T_TMP/out")" $'\n250 2\\.0\\.0 ok ' "PROTO=TCP: GTUBE from the user's own client is accepted"
QF=$(ls "$H"/queue/todo/* | head -1)
unlike "$(tr '\0' '\n' < "$QF" | sed '/^$/q')" 'X-Spam' "... no verdict added"
unlike "$(cat "$LOG")" 'spam filter=' "... the filter never ran"

# ---- a big message: spilled, passed whole ----
{ cat "$T_TMP/ham"; head -c 3000000 /dev/urandom | base64 -w 76; } > "$T_TMP/big"
sam "$T_TMP/big" E2E_MAXSIZE=5000000
like "$(reply)" '^250 ' "3 MiB message (over E2E_SPAM_MAXSIZE): accepted"
is "$(head_of | sed -n 1p)" "X-Spam-Status: Unchecked, reason=too_big filter=spamc" "... marked unchecked: too big"
is "$(sed '1,/^$/d' <<<"$MSG" | md5sum)" "$(sed '1,/^$/d' "$T_TMP/big" | md5sum)" "... its body whole"
sam "$T_TMP/big" E2E_MAXSIZE=5000000 E2E_SPAM_MAXSIZE=5000000 E2E_SPAM_TIMEOUT=60
like "$(reply)" '^250 ' "the same with E2E_SPAM_MAXSIZE=5000000: scanned and accepted"
like "$(head_of | sed -n 1p)" '^X-Spam-Status: No, score=' "... with a score"

# ---- straight into the stage: never a half message ----
rm -f "$H"/queue/todo/*
head -c 100 "$T_TMP/ham" | env PROTO=SAM E2E_HOME="$H" E2E_SPAM_PORT="$SA" e2e-spamfilter 1</dev/null 2>"$LOG"
ok $([ $? != 0 ]; echo $?) "a message without its envelope (the sender died half way): exit non-zero"
is "$(ls "$H"/queue/todo/ | wc -l)" 0 "... nothing queued"
printf 'Fbob@bob.i2p\0Talice@alice.i2p\0\0' > "$T_TMP/env"
env PROTO=SAM E2E_HOME="$H" E2E_SPAM_PORT="$SA" e2e-spamfilter < "$T_TMP/ham" 1< "$T_TMP/env" 2>"$LOG"
is "$?" 0 "straight, with its envelope: exit 0"
is "$(ls "$H"/queue/todo/ | wc -l)" 1 "... queued"
env PROTO=SAM e2e-spamfilter -x < /dev/null 1< "$T_TMP/env" 2>"$LOG"
is "$?" 100 "an option: usage, 100"

# ---- as an operator turns it on: env/E2E_QUEUE, run/samaccept ----
# The service's own run script (s6-envdir env/, the account in data/user,
# the key on fd 4) under a stand-in SAM bridge that hands it one incoming
# stream: a whole pipelined session from a peer destination.
FAKE=$TOP/tests/samaccept/fakesam.py KEYS=$TOP/tests/i2p/keys
python3 "$FAKE" "$T_TMP/fake.port" "$KEYS" 2>> "$T_TMP/fake.log" &
bg_pid $!
for _ in $(seq 1 100); do [ -s "$T_TMP/fake.port" ] && break; sleep 0.1; done
FPORT=$(cat "$T_TMP/fake.port")
cp "$KEYS/ed25519-2.priv" "$H/key"
echo "127.0.0.1:$FPORT" > "$H/env/E2E_SAM"
echo "$T_TMP/verify" > "$H/env/E2E_VERIFY"
echo e2e-spamfilter > "$H/env/E2E_QUEUE"
echo "$SA" > "$H/env/E2E_SPAM_PORT"
(cd "$H/service/samaccept" && exec ./run 3>/dev/null > "$T_TMP/samaccept.log" 2>&1) &
bg_pid $!
for _ in $(seq 1 100); do [ "$(ctl waiting)" -ge 1 ] 2>/dev/null && break; sleep 0.1; done
# over MESSAGE: the peer's session through the bridge; replies in $OUT
over() {
  rm -f "$H"/queue/todo/*
  local hex
  hex=$({ printf '%s\r\n' "EHLO peer" "MAIL FROM:<bob@bob.i2p>" "RCPT TO:<alice@alice.i2p>" DATA
    sed 's/$/\r/' "$1"; printf '.\r\nQUIT\r\n'; } | od -An -tx1 | tr -d ' \n')
  OUT=$(ctl peer ed25519-1 "$hex" | sed 's/^got //' | python3 -c 'import sys; sys.stdout.write(bytes.fromhex(sys.stdin.read().strip()).decode())' 2>/dev/null | tr -d '\r')
  Q=$(ls "$H"/queue/todo/ 2>/dev/null | wc -l)
  QF=$(ls "$H"/queue/todo/* 2>/dev/null | head -1)
  MSG=; [ -z "$QF" ] || MSG=$(tr '\0' '\n' < "$QF" | sed '1,3d')
  for _ in $(seq 1 50); do [ "$(ctl waiting)" -ge 1 ] 2>/dev/null && break; sleep 0.1; done
}
over "$T_TMP/gtube"
is "$(reply)" "554 5.7.1 message refused as spam" "run/samaccept with env/E2E_QUEUE=e2e-spamfilter: GTUBE from a peer refused"
is "$Q" 0 "... nothing queued"
over "$T_TMP/ham"
like "$(reply)" '^250 2\.0\.0 ok ' "... ham: 250"
like "$(head_of | sed -n 1p)" '^X-Spam-Status: No, score=.* filter=spamc$' "... ham queued with the verdict (through the setuid e2e-queue)"
[ "$T_FAIL" = 0 ] || sed 's/^/# samaccept: /' "$T_TMP/samaccept.log" | tail -5

# ---- rspamd (rspamc) ----
sam "$T_TMP/gtube" E2E_SPAM_FILTER=rspamc E2E_SPAM_PORT="$RS"
is "$(reply)" "554 5.7.1 message refused as spam" "rspamd, GTUBE: 554 5.7.1"
is "$Q" 0 "rspamd, GTUBE: nothing queued"
sam "$T_TMP/ham" E2E_SPAM_FILTER=rspamc E2E_SPAM_PORT="$RS"
like "$(reply)" '^250 ' "rspamd, ham: 250"
like "$(head_of | sed -n 1p)" '^X-Spam-Status: No, score=-?[0-9]+\.[0-9]+ required=[0-9.]+ filter=rspamc$' "rspamd, ham: our verdict"
is "$(head_of | grep -ci '^x-spam\(-\|d-\|:\)\|^x-rspamd-')" 2 "rspamd, ham: the sender's verdict fields removed"
sam "$T_TMP/ham" E2E_SPAM_FILTER=rspamc E2E_SPAM_PORT="$DEAD" E2E_SPAM_FAIL=closed
like "$(reply)" '^451 ' "rspamd down, fail closed: 451"

done_testing
