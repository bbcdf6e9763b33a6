#!/bin/bash
# e2e-remote: against a stand-in SAM bridge that is a scripted SMTP server
# after STREAM CONNECT (tests/remote/fakesam.py), with a stand-in
# e2e-resolve first on PATH; then with the real e2e-resolve and a routes
# entry; then over the real i2pd test network (tests/i2pnet.sh).
. "$(dirname "$0")/lib.sh"

for p in e2e-remote; do
  [ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
FAKESAM=$TOP/tests/remote/fakesam.py
KEYS=$TOP/tests/i2p/keys
PUB=$(cat "$KEYS/ed25519-1.pub") B32=$(cat "$KEYS/ed25519-1.b32")
LOG=$T_TMP/log

# The stand-in resolver: $RESOLVE says what it does.
mkdir -p "$T_TMP/fake"
cat > "$T_TMP/fake/e2e-resolve" <<'EOF'
#!/bin/sh
echo "$*" >> "$T_TMP/resolve.args"
case ${RESOLVE:-ok} in
  ok) printf '%s\n' "$RESOLVE_OUT" ;;
  perm) echo "e2e-resolve: info: looking up $1" >&2
        echo "e2e-resolve: fatal: http://$1/.well-known/i2pmail.key: 404 Not Found" >&2; exit 100 ;;
  temp) echo "e2e-resolve: fatal: $1 cannot be reached now" >&2; exit 111 ;;
  crash) kill -9 $$ ;;
  hang) exec sleep 30 ;;
  linger) exec sleep 30 >&- 2>&- ;;
  junk) echo "not a destination"; exit 0 ;;
  big) head -c 10000 /dev/zero | tr '\0' A; exit 0 ;;
  private) cat "$KEYS/ed25519-1.priv"; exit 0 ;;
esac
EOF
chmod +x "$T_TMP/fake/e2e-resolve"
export T_TMP KEYS RESOLVE_OUT=$PUB

# The message: dots at line starts, 8-bit, an empty line, LF line ends.
MSG=$T_TMP/msg
printf 'From: alice@alice.i2p\nTo: bob@bob.i2p\nSubject: dots\n\n.\n..two\n.one\nmid.dle\n\xc3\xa9t\xc3\xa9\n\nend\n' > "$MSG"
# The bytes SMTP must carry for a message file: CRLF, dot-stuffed, ".".
wire() { perl -e 'local $/; $_ = <STDIN>; s/^\./../mg; s/\n/\r\n/g; $_ .= "\r\n" if length && !/\r\n\z/; print $_, ".\r\n"' < "$1"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# deliver [SETTING=VALUE...] -- ARGS...: starts the stand-in with the
# settings, runs e2e-remote ARGS with $MSG (or $IN) on fd 0 and the
# environment in $ENV. Sets OUT (stdout), RC, D (the stand-in's records).
N=0
deliver() {
  local conf=() fp i
  while [ "$1" != -- ]; do conf+=("$1"); shift; done; shift
  T_T0=$(ms); N=$((N + 1)); D=$T_TMP/d$N; mkdir -p "$D"; : > "$T_TMP/resolve.args"
  "$PY" "$FAKESAM" bridge "$D" "${conf[@]}" & fp=$!; bg_pid $fp
  for i in $(seq 100); do [ -s "$D/port" ] && break; sleep 0.05; done
  OUT=$(env PATH="$T_TMP/fake:$PATH" E2E_DOMAIN=alice.i2p E2E_SAM="127.0.0.1:$(cat "$D/port")" \
          E2E_SAM_ID=alicemail ${ENV:-} e2e-remote "$@" < "${IN:-$MSG}" 2> "$LOG")
  RC=$?; [ -n "${T_TIME:-}" ] && echo "# deliver $N: $(($(ms) - T_T0)) ms" >&2
  kill $fp 2>/dev/null; wait $fp 2>/dev/null
  touch "$D/cmds" "$D/sam"
}
cmds() { tr -d '\r' < "$D/cmds"; }
letters() { cut -c1 <<<"$OUT" | tr -d '\n'; }

# ---- everything accepted ----
deliver -- bob.i2p alice@alice.i2p bob@bob.i2p carol@bob.i2p
is "$RC" 0 "exit 0"
is "$(letters)" KK "one K line per recipient, in order"
is "$(wc -l <<<"$OUT")" 2 "nothing else on stdout"
like "$OUT" "^K $B32 accepted the message: 250 2\.0\.0 queued$" "K line: the peer's b32 and its reply"
is "$(sed -n 1p "$D/sam")" "HELLO VERSION MIN=3.1 MAX=3.3" "SAM: HELLO"
is "$(sed -n 2p "$D/sam")" "STREAM CONNECT ID=alicemail DESTINATION=$PUB SILENT=false" "SAM: STREAM CONNECT through E2E_SAM_ID to the resolved destination"
is "$(cat "$T_TMP/resolve.args")" "bob.i2p" "e2e-resolve DOMAIN"
SZ=$(( $(wc -c < "$MSG") + $(wc -l < "$MSG") ))
is "$(cmds)" "EHLO alice.i2p
MAIL FROM:<alice@alice.i2p> SIZE=$SZ BODY=8BITMIME
RCPT TO:<bob@bob.i2p>
RCPT TO:<carol@bob.i2p>
DATA
QUIT" "commands: EHLO our domain, MAIL with SIZE and BODY, RCPTs, DATA, QUIT"
is "$(cat "$D/pipe")" 3 "PIPELINING: both RCPTs and DATA had arrived before MAIL was answered"
wire "$MSG" | cmp -s - "$D/data"; ok $? "DATA: CRLF line ends and dot-stuffing on the wire, byte for byte"
grep -q $'^\.\.\.two\r$' "$D/data" && grep -q $'^\.\.\r$' "$D/data" && grep -q $'^\.\.one\r$' "$D/data"; ok $? "leading dots doubled"
like "$(cat "$LOG")" "connect domain=bob\.i2p peer=$B32 port=0 result=0 ms=[0-9]+" "log: the connection, peer by b32, timing"
like "$(cat "$LOG")" "done domain=bob\.i2p peer=$B32 delivered=2 deferred=0 failed=0 ms=[0-9]+" "log: the summary"
is "$(grep -vc '^e2e-remote: ' "$LOG")" 0 "log: every line is ours"

# ---- no PIPELINING, no SIZE: one command at a time ----
deliver ehlo=8BITMIME -- bob.i2p alice@alice.i2p bob@bob.i2p carol@bob.i2p
is "$(letters)" KK "without PIPELINING: delivered"
is "$(cat "$D/pipe")" 0 "without PIPELINING: MAIL alone, nothing sent ahead"
is "$(sed -n 2p "$D/cmds" | tr -d '\r')" "MAIL FROM:<alice@alice.i2p> BODY=8BITMIME" "no SIZE= when SIZE is not offered"
deliver ehlo= -- bob.i2p '' bob@bob.i2p
is "$(sed -n 2p "$D/cmds" | tr -d '\r')" "MAIL FROM:<>" "null sender: MAIL FROM:<>, no parameters without extensions"
is "$(letters)" K "null sender delivered"

# ---- recipients refused one by one ----
for ext in PIPELINING ''; do
  deliver ehlo="$ext" 'rcpt:b@bob.i2p=450 4.2.1 mailbox busy' 'rcpt:c@bob.i2p=550 5.1.1 no such user' \
    -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p c@bob.i2p d@bob.i2p
  is "$(letters)" KZDK "mixed 250/450/550 (${ext:-no pipelining}): K Z D K"
  like "$(sed -n 2p <<<"$OUT")" "^Z $B32 does not like recipient: 450 4\.2\.1 mailbox busy$" "Z line carries the reply"
  like "$(sed -n 3p <<<"$OUT")" "^D $B32 does not like recipient: 550 5\.1\.1 no such user$" "D line carries the reply"
done
deliver rcpt='550 5.1.1 nobody' ehlo= -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p
is "$(letters)" DD "every RCPT refused: D D"
unlike "$(cmds)" DATA "no DATA without an accepted recipient"
deliver rcpt='550 5.1.1 nobody' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" D "pipelined, every RCPT refused: D"
is "$(cat "$D/data")" $'.\r' "pipelined DATA answered 354 anyway: only the terminating dot is sent"

# ---- MAIL, DATA and the final dot refused ----
deliver mail='451 4.3.0 try later' -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p
is "$(letters)" ZZ "MAIL 451: Z for all"
like "$OUT" "does not like sender <alice@alice\.i2p>: 451 4\.3\.0 try later" "MAIL 451: the reply in the text"
deliver mail='553 5.7.1 not you' ehlo=SIZE -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p
is "$(letters)" DD "MAIL 553 (no pipelining): D for all"
unlike "$(cmds)" RCPT "MAIL refused: no RCPT sent"
deliver data='554 5.5.1 no valid recipients' 'rcpt:b@bob.i2p=550 5.1.1 no' -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p c@bob.i2p
is "$(letters)" DDD "DATA 554 applies to the accepted; the refused keep theirs"
like "$(sed -n 2p <<<"$OUT")" "550 5\.1\.1 no" "the refused recipient's own reply"
like "$(sed -n 1p <<<"$OUT")" "refused DATA: 554" "the accepted ones get DATA's reply"
deliver data='451 4.3.0 later' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" Z "DATA 451: Z"
deliver dot='452 4.3.1 disk full' -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p
is "$(letters)" ZZ "452 after the message: Z"
deliver dot='552 5.3.4 too big' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" D "552 after the message: D"
like "$OUT" "refused the message: 552 5\.3\.4 too big" "its text"
deliver 'ehlo=PIPELINING,SIZE 50' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" D "bigger than the peer's SIZE: D"
like "$OUT" "message too big for $B32: $SZ bytes, it takes 50 \(#5\.3\.4\)" "its text"
unlike "$(cmds)" MAIL "no MAIL for a message the peer said it will not take"

# ---- the greeting and EHLO ----
ENV="E2E_REMOTE_GREETING=1" deliver greeting=hang -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p
is "$(letters)" ZZ "no greeting within E2E_REMOTE_GREETING: Z"
like "$OUT" "timed out waiting for the greeting" "its text"
t=$(ms); ENV="E2E_REMOTE_GREETING=1" deliver greeting=hang -- bob.i2p alice@alice.i2p a@bob.i2p; t=$(($(ms) - t))
[ $t -lt 4000 ]; ok $? "greeting timeout of 1 s honoured ($t ms, QUIT not waited for)"
deliver greeting='554 5.3.2 no service' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" D "greeting 554: D"
deliver greeting='421 4.7.0 too busy' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" Z "greeting 421: Z"
deliver greeting='500 5.5.2 line too long' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" Z "greeting 500 (not a greeting): Z, tried again later"
deliver greeting='250 2.0.0 ok' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" Z "greeting 250 (not a greeting): Z"
deliver ehlo=reject -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" K "EHLO refused: HELO, delivered"
is "$(cmds | head -3)" "EHLO alice.i2p
HELO alice.i2p
MAIL FROM:<alice@alice.i2p>" "EHLO 502 falls back to HELO, no extensions used"
deliver helo='550 no' ehlo=reject -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" D "HELO refused too: D"

# ---- malformed and hostile replies ----
LONG=$(head -c 5000 /dev/zero | tr '\0' x)
MANY=$(for i in $(seq 150); do printf '250-x\\r\\n'; done)
while IFS='|' read -r name set; do
  deliver "$set" -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p
  is "$RC $(letters)" "0 ZZ" "$name: Z for all, exit 0"
done <<EOF
greeting not a reply|greeting=hello there
overlong greeting line|greeting=220 $LONG
a reply of too many lines|greeting=${MANY}250 ok
lines with different codes|mail=250-ok\r\n251 ok
a code out of range|mail=199 what
a code of letters|rcpt=2x0 ok
NUL in a reply|rcpt=250 o\x00k
peer hangs up at RCPT|rcpt=close
peer hangs up after the message|dot=close
EOF
deliver greeting='220-first\r\n220-second\r\n220 third' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" K "a multi-line greeting is fine"
deliver mail='250' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" K "a bare code without text is a reply"
deliver 'mail=250 ok\n' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" K "a reply ending in bare LF is tolerated"
ENV="E2E_REMOTE_COMMAND=1" deliver rcpt=hang -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" Z "no reply within E2E_REMOTE_COMMAND: Z"
ENV="E2E_REMOTE_DATA=1" deliver dot=hang -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" Z "no reply to the final dot within E2E_REMOTE_DATA: Z"
like "$OUT" "timed out after the message" "its text"

# ---- SAM ----
for r in CANT_REACH_PEER INVALID_ID INVALID_KEY TIMEOUT I2P_ERROR; do
  deliver connect=$r -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p
  is "$(letters)" ZZ "STREAM CONNECT $r: Z"
done
like "$OUT" "cannot reach $B32: SAM replied I2P_ERROR" "the SAM result in the text"
deliver hello='HELLO REPLY RESULT=NOVERSION' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" Z "HELLO NOVERSION: Z"
deliver hello='garbage' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" Z "malformed HELLO reply: Z"
P=$(free_port)
OUT=$(env PATH="$T_TMP/fake:$PATH" E2E_DOMAIN=alice.i2p E2E_SAM=127.0.0.1:$P e2e-remote bob.i2p a@alice.i2p b@bob.i2p < "$MSG" 2>"$LOG")
is "$? $(letters)" "0 Z" "no SAM bridge: Z"
RESOLVE_OUT="$B32 25" deliver -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(sed -n 2p "$D/sam")" "STREAM CONNECT ID=alicemail DESTINATION=$B32 SILENT=false" "a b32 answer: connect to it; SAM 3.1 gets no port"
RESOLVE_OUT="$B32 25" deliver hello='HELLO REPLY RESULT=OK VERSION=3.2' -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(sed -n 2p "$D/sam")" "STREAM CONNECT ID=alicemail DESTINATION=$B32 SILENT=false TO_PORT=25" "SAM 3.2: the port goes along"

# ---- the resolver ----
RESOLVE=perm deliver -- bob.i2p alice@alice.i2p a@bob.i2p b@bob.i2p
is "$(letters)" DD "e2e-resolve 100: D for all"
is "$(sed -n 1p <<<"$OUT")" "D no mail server published for bob.i2p: http://bob.i2p/.well-known/i2pmail.key: 404 Not Found (#5.1.2)" "D text: the resolver's reason"
like "$(cat "$LOG")" "^e2e-resolve: fatal: http://bob" "the resolver's log lines pass through to stderr"
[ ! -s "$D/sam" ]; ok $? "no SAM connection after a failed lookup"
RESOLVE=temp deliver -- bob.i2p alice@alice.i2p a@bob.i2p
is "$(letters)" Z "e2e-resolve 111: Z"
like "$OUT" "cannot find the mail server of bob\.i2p now: bob\.i2p cannot be reached now" "Z text: the reason"
for r in crash junk big private; do
  RESOLVE=$r deliver -- bob.i2p alice@alice.i2p a@bob.i2p
  is "$(letters)" Z "e2e-resolve $r: Z"
done
t=$(ms); RESOLVE=hang ENV=E2E_REMOTE_RESOLVE=1 deliver -- bob.i2p alice@alice.i2p a@bob.i2p; t=$(($(ms) - t))
is "$(letters)" Z "e2e-resolve hangs: Z after E2E_REMOTE_RESOLVE"
[ $t -lt 4000 ]; ok $? "and in time ($t ms)"
t=$(ms); RESOLVE=linger ENV=E2E_REMOTE_RESOLVE=1 deliver -- bob.i2p alice@alice.i2p a@bob.i2p; t=$(($(ms) - t))
is "$(letters)" Z "e2e-resolve closes its output but lingers: Z after E2E_REMOTE_RESOLVE"
[ $t -lt 4000 ]; ok $? "and in time ($t ms)"
OUT=$(env PATH="$T_TMP/nothing:/usr/bin:/bin" E2E_DOMAIN=alice.i2p "$TOP/bin/e2e-remote" bob.i2p a@alice.i2p b@bob.i2p < "$MSG" 2>"$LOG")
is "$? $(letters)" "0 Z" "no e2e-resolve on PATH: Z"

# ---- addresses, usage, the report ----
deliver -- bob.i2p alice@alice.i2p 'bad address' b@bob.i2p '@x'
is "$(letters)" DKD "malformed recipients: D, the others delivered"
is "$(grep -c RCPT "$D/cmds")" 1 "only the good recipient is sent"
deliver -- bob.i2p 'alice@' a@bob.i2p
is "$(letters)" D "malformed sender: D"
deliver -- 'Bob.i2p;x' alice@alice.i2p a@bob.i2p
is "$(letters)" D "malformed domain: D, nothing run"
e2e-remote 2>/dev/null; is $? 100 "no arguments: exit 100"
E2E_DOMAIN=alice.i2p e2e-remote bob.i2p alice@alice.i2p </dev/null 2>/dev/null; is $? 100 "no recipient: exit 100"
E2E_DOMAIN=alice.i2p e2e-remote -x a b 2>/dev/null </dev/null; is $? 100 "an option-like DOMAIN: exit 100"
(RESOLVE=perm PATH="$T_TMP/fake:$PATH" E2E_DOMAIN=alice.i2p e2e-remote bob.i2p a@alice.i2p b@bob.i2p < "$MSG" >&- 2>/dev/null); is $? 111 "the report cannot be written: exit 111"
ENV=E2E_REMOTE_COMMAND=x deliver -- bob.i2p a@alice.i2p b@bob.i2p
is "$RC" 100 "a malformed setting: exit 100"
E2E_DOMAIN='a b' e2e-remote bob.i2p a@alice.i2p b@bob.i2p < "$MSG" > "$T_TMP/o" 2>/dev/null
is "$? $(wc -c < "$T_TMP/o")" "100 0" "a malformed E2E_DOMAIN: exit 100, nothing on stdout"

# ---- message shapes ----
printf 'Subject: no final newline\n\nlast line' > "$T_TMP/nonl"
IN=$T_TMP/nonl deliver -- bob.i2p a@alice.i2p b@bob.i2p
wire "$T_TMP/nonl" | cmp -s - "$D/data"; ok $? "no final LF: CRLF added before the dot"
is "$(tail -c 14 "$D/data" | od -An -c | tr -s ' ')" " l a s t l i n e \r \n . \r \n" "ends in 'last line' CRLF . CRLF"
: > "$T_TMP/empty"
IN=$T_TMP/empty deliver -- bob.i2p a@alice.i2p b@bob.i2p
is "$(od -An -c < "$D/data" | tr -s ' ')" " . \r \n" "an empty message: just the dot"
"$PY" -c '
import random, sys
r = random.Random(7)
out = bytearray(b"Subject: big\n\n")
while len(out) < 3 * 1024 * 1024:
    out += bytes(r.choice(b".ab\xe9\xff \t") for _ in range(r.randrange(0, 200))) + b"\n"
sys.stdout.buffer.write(out)' > "$T_TMP/big"
t=$(ms); IN=$T_TMP/big deliver -- bob.i2p a@alice.i2p b@bob.i2p; t=$(($(ms) - t))
is "$(letters)" K "a 3 MiB 8-bit message: delivered ($t ms)"
wire "$T_TMP/big" | cmp -s - "$D/data"; ok $? "its bytes on the wire: exact"
# through a pipe: no SIZE (it cannot be measured)
N=$((N + 1)); D=$T_TMP/d$N; mkdir -p "$D"
"$PY" "$FAKESAM" bridge "$D" & fp=$!; bg_pid $fp
for i in $(seq 100); do [ -s "$D/port" ] && break; sleep 0.05; done
cat "$MSG" | env PATH="$T_TMP/fake:$PATH" E2E_DOMAIN=alice.i2p E2E_SAM="127.0.0.1:$(cat "$D/port")" \
  e2e-remote bob.i2p a@alice.i2p b@bob.i2p > "$T_TMP/pipeout" 2>"$LOG"
wait $fp
is "$(cut -c1 "$T_TMP/pipeout")" K "message on a pipe: delivered"
is "$(sed -n 2p "$D/cmds" | tr -d '\r')" "MAIL FROM:<a@alice.i2p> BODY=8BITMIME" "message on a pipe: no SIZE="
wire "$MSG" | cmp -s - "$D/data"; ok $? "message on a pipe: bytes exact"

# ---- the real e2e-resolve, with a routes entry ----
{
  H=$T_TMP/home; mkdir -p "$H/cache"
  printf 'bob.i2p %s\n' "$PUB" > "$H/routes"
  N=$((N + 1)); D=$T_TMP/d$N; mkdir -p "$D"
  "$PY" "$FAKESAM" bridge "$D" & fp=$!; bg_pid $fp
  for i in $(seq 100); do [ -s "$D/port" ] && break; sleep 0.05; done
  OUT=$(env E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_SAM="127.0.0.1:$(cat "$D/port")" \
        e2e-remote bob.i2p alice@alice.i2p bob@bob.i2p < "$MSG" 2>"$LOG")
  wait $fp
  is "$(letters)" K "real e2e-resolve, routes entry: delivered"; [ "$(letters)" = K ] || sed "s/^/# /" "$LOG"
  is "$(sed -n 2p "$D/sam")" "STREAM CONNECT ID=e2e DESTINATION=$PUB SILENT=false" "to the routed destination, session e2e by default"
}

# ---- over the real I2P test network (E2E_TEST_NOI2P=1 skips it) ----
if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then
  diag "real I2P network skipped (E2E_TEST_NOI2P=1)"
  done_testing; exit
fi
NET=$T_TMP/net; mkdir -p "$NET"
t=$(ms)
E2E_TEST_WATCHPID=$$ "$TOP/tests/i2pnet.sh" start "$NET" > "$T_TMP/net.log" 2>&1
ok $? "i2pnet started ($(($(ms) - t)) ms)" || { cat "$T_TMP/net.log" | sed 's/^/# /'; done_testing; exit; }
trap '"$TOP/tests/i2pnet.sh" stop "$NET" >/dev/null 2>&1; t_cleanup' EXIT
. "$NET/env"
SAMTOOL=$TOP/tests/i2p/samtool.py
# Alice's mail session on router A (held by samtool.py); on router B a
# stand-in receiver's session and, when built, Bob's real mail server
# (e2e-samaccept + e2e-smtpd PROTO=SAM): all created in parallel.
"$PY" "$SAMTOOL" --timeout 90 session "$SAM_A" alicemail ed25519-2 $SAM_OPTIONS > "$T_TMP/alice.pub" 2>"$T_TMP/alice.err" & sa=$!; bg_pid $sa
"$PY" "$SAMTOOL" --timeout 90 session "$SAM_B" bobmail ed25519-1 $SAM_OPTIONS > "$T_TMP/bob.pub" 2>"$T_TMP/bob.err" & sb=$!; bg_pid $sb
REAL=
if [ -x "$TOP/bin/e2e-samaccept" ] && [ -x "$TOP/bin/e2e-smtpd" ] && [ -x "$TOP/bin/e2e-setup" ]; then
  REAL=1 BH=$T_TMP/bobhome CAP=$T_TMP/cap BOB32=$(cat "$KEYS/ed25519-x25519.b32")
  mkdir -p "$CAP"
  ASAN_OPTIONS=detect_leaks=0 mkhome "$BH" "$BOB32" bob:secret >/dev/null 2>&1
  cp "$KEYS/ed25519-x25519.priv" "$BH/key"; chmod 600 "$BH/key"
  printf '#!/bin/sh\nexit 0\n' > "$T_TMP/verify"
  printf '#!/bin/sh\ncat > "%s/msg"\ncat <&1 > "%s/env"\nexit 0\n' "$CAP" "$CAP" > "$T_TMP/capture"
  chmod +x "$T_TMP/verify" "$T_TMP/capture"
  env E2E_HOME="$BH" E2E_DOMAIN="$BOB32" E2E_SAM="$SAM_B" E2E_SAM_ID=bobreal E2E_SAM_OPTIONS="$SAM_OPTIONS" \
    E2E_VERIFY="$T_TMP/verify" E2E_QUEUE="$T_TMP/capture" \
    e2e-samaccept -d 3 -t 90 e2e-smtpd 3>"$T_TMP/bobready" 2>"$T_TMP/bobreal.log" & sr=$!; bg_pid $sr
fi
for i in $(seq 900); do
  [ -s "$T_TMP/alice.pub" ] && [ -s "$T_TMP/bob.pub" ] && { [ -z "$REAL" ] || [ -s "$T_TMP/bobready" ]; } && break
  sleep 0.1
done
ok $([ -s "$T_TMP/alice.pub" ] && [ -s "$T_TMP/bob.pub" ]; echo $?) "sessions up ($(($(ms) - t)) ms since start)"
ALICE32=$(cat "$KEYS/ed25519-2.b32")
# A b32 domain is its own mail server: the stand-in resolver prints it back,
# as the real one does.
R=$T_TMP/real; mkdir -p "$R"
"$PY" "$FAKESAM" accept "$R" "$SAM_B" bobmail & fa=$!; bg_pid $fa
for i in $(seq 300); do [ -e "$R/ready" ] && break; sleep 0.1; done
t=$(ms)
OUT=$(env PATH="$T_TMP/fake:$PATH" RESOLVE_OUT="$B32" E2E_DOMAIN="$ALICE32" E2E_SAM="$SAM_A" E2E_SAM_ID=alicemail \
      e2e-remote "$B32" "alice@$ALICE32" "bob@$B32" "carol@$B32" < "$T_TMP/big" 2>"$LOG")
t=$(($(ms) - t))
wait $fa
is "$(letters)" KK "over I2P: both recipients delivered ($t ms for 3 MiB)"
like "$(cat "$R/peer" 2>/dev/null)" "^$(cat "$KEYS/ed25519-2.pub")" "the receiver saw Alice's published destination"
wire "$T_TMP/big" | cmp -s - "$R/data"; ok $? "over I2P: the message arrived byte for byte"
is "$(tr -d '\r' < "$R/cmds" | sed -n '1p;$p' | tr '\n' ' ')" "EHLO $ALICE32 QUIT " "over I2P: EHLO ... QUIT"
sed 's/^/# /' "$LOG"
if [ -n "$REAL" ]; then
  ok $([ -s "$T_TMP/bobready" ]; echo $?) "e2e-samaccept ready"
  t=$(ms)
  OUT=$(env E2E_HOME="$T_TMP/alicehome" E2E_DOMAIN="$ALICE32" E2E_SAM="$SAM_A" E2E_SAM_ID=alicemail \
        e2e-remote "$BOB32" "alice@$ALICE32" "bob@$BOB32" "nobody@$BOB32" "eve@elsewhere.i2p" < "$MSG" 2>"$LOG")
  t=$(($(ms) - t))
  is "$(letters)" KDD "to e2e-samaccept + e2e-smtpd with the real e2e-resolve: K for bob, D for unknown and foreign ($t ms)"
  like "$(sed -n 2p <<<"$OUT")" "does not like recipient: 550 5\.[0-9.]+ no such user" "unknown user: e2e-smtpd's 550 in the D line"
  is "$(tr '\0' '|' < "$CAP/env")" "Falice@$ALICE32|Tbob@$BOB32||" "the receiving queue got the envelope"
  tail -c "$(wc -c < "$MSG")" "$CAP/msg" | cmp -s - "$MSG"; ok $? "the receiving queue got the message byte for byte (LF line ends, dots unstuffed)"
  like "$(head -1 "$CAP/msg")" "^Received: from $ALICE32 \($ALICE32\)" "e2e-smtpd's Received names Alice's b32 as the peer"
  like "$(cat "$CAP/msg")" "Authentication-Results: $BOB32; e2e=pass smtp.mailfrom=alice@$ALICE32" "and the verification passed"
  sed 's/^/# /' "$LOG"
  kill $sr 2>/dev/null; wait $sr 2>/dev/null
fi
kill $sa $sb 2>/dev/null; wait $sa $sb 2>/dev/null
"$TOP/tests/i2pnet.sh" stop "$NET" >/dev/null 2>&1

done_testing
