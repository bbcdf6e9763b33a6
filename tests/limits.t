#!/bin/bash
# Limits: floods without a newline get an answer and a closed connection
# while memory stays flat; a trickling client cannot stretch a deadline;
# idle connections from one address get 421 beyond the per-peer cap while
# a client from another address is served (e2e-smtpd and e2e-pop3d under
# tcpserver); oversize SAM and HTTP answers from a stand-in bridge give a
# clear error with bounded memory (e2e-resolve).
. "$(dirname "$0")/lib.sh"

for p in e2e-smtpd e2e-pop3d e2e-resolve e2e-setup e2e-passwd; do
  [ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done
command -v tcpserver >/dev/null && command -v swaks >/dev/null || { echo "Bail out! tcpserver and swaks are needed"; exit 1; }
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
L=$TOP/tests/limits/limits.py
H=$T_TMP/home
mkhome "$H" alice.i2p alice:secret || { echo "Bail out! cannot make a mail home"; exit 1; }
printf 'Subject: hi\n\nhello\n' > "$T_TMP/m1"
mkdir -p "$H/mail/alice/new" && cp "$T_TMP/m1" "$H/mail/alice/new/1.M1P1.test"
# A stand-in queue: keeps the message and the envelope, exits 0.
cat > "$T_TMP/queue" <<'EOF'
#!/bin/sh
n=$$; cat > "$QDIR/msg.$n"; cat <&1 > "$QDIR/env.$n"
EOF
chmod +x "$T_TMP/queue"
export QDIR=$T_TMP/q; mkdir -p "$QDIR"
field() { sed -n "s/^$1=//p" <<<"$2" | head -1; }
replies() { sed -n 's/^reply=//p' <<<"$1"; }
SMTPENV=(E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_QUEUE="$T_TMP/queue")

# ---- floods without a newline, on fds 0/1 ----
r=$(env PROTO=TCP TCPREMOTEIP=127.0.0.1 "${SMTPENV[@]}" "$PY" "$L" flood smtp-cmd 12 -- e2e-smtpd 2>"$T_TMP/err")
like "$(replies "$r")" '^500 5\.5\.2 line too long, closing connection$' "smtpd: 12 MB command without a newline: 500 line too long, closing"
is "$(field rc "$r")" 100 "... exit 100"
ok $(( $(field sent "$r") < 1048576 ? 0 : 1 )) "... it stopped reading early ($(field sent "$r") bytes taken)"
like "$(cat "$T_TMP/err")" 'end reason=line_too_long' "... logged"
r=$(env PROTO=SAM SAMREMOTEB32=x.b32.i2p "${SMTPENV[@]}" "$PY" "$L" flood smtp-data 12 -- e2e-smtpd 2>"$T_TMP/err")
d=$(( $(field hwm "$r") - $(field hwm0 "$r") ))
diag "smtpd DATA flood: VmHWM $(field hwm0 "$r") kB at the start, $(field hwm "$r") kB during 12 MB without a newline"
ok $(( $(field hwm0 "$r") > 0 && d < 512 ? 0 : 1 )) "smtpd: 12 MB DATA line without a newline: VmHWM grew by $d kB (< 512)"
is "$(replies "$r" | tail -2 | cut -c1-3 | tr '\n' ' ')" "554 221 " "... 554 for the message after the final dot, and the session goes on"
is "$(field sent "$r")" $((12 * 1048576 + 11)) "... all of it read"
r=$(env PROTO=SAM SAMREMOTEB32=x.b32.i2p "${SMTPENV[@]}" E2E_MAXSIZE=4000000 "$PY" "$L" flood smtp-data 25 -- e2e-smtpd 2>"$T_TMP/err")
like "$(replies "$r" | tail -1)" '^552 5\.3\.4 message too big, closing connection$' "smtpd: DATA past 2 x E2E_MAXSIZE: 552 and closed"
s=$(field sent "$r")
ok $(( s >= 8000000 && s < 8000000 + 65536 + 262144 ? 0 : 1 )) "... after about 2 x E2E_MAXSIZE + 64 KiB ($s bytes)"
is "$(field rc "$r")" 100 "... exit 100"
r=$(env E2E_HOME="$H" "$PY" "$L" flood pop3-cmd 12 -- e2e-pop3d 2>"$T_TMP/err")
like "$(replies "$r")" '^-ERR line too long, closing$' "pop3d: 12 MB line without a newline: -ERR line too long, closing"
ok $(( $(field sent "$r") < 1048576 ? 0 : 1 )) "... it stopped reading early ($(field sent "$r") bytes taken)"
ok $(( $(field hwm "$r") - $(field hwm0 "$r") < 512 ? 0 : 1 )) "... VmHWM $(field hwm0 "$r") -> $(field hwm "$r") kB"

# ---- servers under tcpserver ----
wait_port() {
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# serve NAME -c N PROG [VAR=VALUE...]: tcpserver on a free port ($PORT)
serve() {
  local name=$1 conc=$2 prog=$3; shift 3
  PORT=$(free_port)
  tcpserver -v -R -H -l0 -b 64 -c "$conc" 127.0.0.1 "$PORT" env "$@" "$prog" 2>"$T_TMP/$name.log" &
  bg_pid $!
  eval "PID_$name=$!"
  wait_port "$PORT" || { echo "Bail out! tcpserver $name did not start"; cat "$T_TMP/$name.log"; exit 1; }
}
stop() { local p; eval "p=\$PID_$1"; kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; }
# idle NAME SRC N: N connections from SRC held open by a background client
# (its output in $T_TMP/NAME.idle); release NAME closes them.
idle() {
  local name=$1 src=$2 n=$3
  mkfifo "$T_TMP/$name.hold"
  "$PY" "$L" idle "$src" "$PORT" "$n" <"$T_TMP/$name.hold" >"$T_TMP/$name.idle" &
  bg_pid $!
  eval "IDLE_$name=$!"
  eval "exec {HOLD_$name}>\"\$T_TMP/\$name.hold\""
  for _ in $(seq 200); do grep -q '^ready$' "$T_TMP/$name.idle" && return 0; sleep 0.05; done
  return 1
}
release() { local fd p; eval "fd=\$HOLD_$1 p=\$IDLE_$1"; exec {fd}>&-; wait "$p"; }
greetings() { sed -n "1,$2p" "$T_TMP/$1.idle" | cut -c1-4 | sort | uniq -c | awk '{printf "%s x%s ", $2, $1}'; }
closed() { sed -n "$(($2 + 1)),$(($2 * 2))p" "$T_TMP/$1.idle" | tr '\n' ' '; }
send_mail() {
  timeout 20 swaks --server 127.0.0.1 --port "$PORT" --local-interface "${1:-127.0.0.1}" --helo client.example \
    --auth PLAIN --auth-user alice --auth-password secret --from alice@alice.i2p --to alice@alice.i2p \
    --body 'limits test' 2>&1
}

# ---- trickling: one deadline per command and for the whole DATA ----
serve trickle 8 e2e-smtpd "${SMTPENV[@]}" E2E_TIMEOUT=2
r=$("$PY" "$L" trickle "$PORT" 1 '' 'EHLO client.example\r\n')
like "$(field last "$r")" '^421 4\.4\.2 timeout$' "smtpd: a command trickled at 1 byte/s: 421 timeout"
ok $(( $(field ms "$r") >= 1000 && $(field ms "$r") < 8000 ? 0 : 1 )) "... after E2E_TIMEOUT=2 for the whole command ($(field ms "$r") ms; the 21 bytes take 21 s), not per byte"
stop trickle
serve trickle 8 e2e-smtpd "${SMTPENV[@]}" E2E_TIMEOUT=2 PROTO=SAM SAMREMOTEB32=x.b32.i2p
r=$("$PY" "$L" trickle "$PORT" 0.3 'EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice@alice.i2p>\r\nDATA\r\n' "$(printf '%.0sline\\r\\n' $(seq 12)).\\r\\n")
like "$(field last "$r")" '^421 4\.4\.2 timeout$' "smtpd: DATA trickled a byte every 0.3 s (a line every 1.8 s): 421 timeout"
ok $(( $(field ms "$r") < 8000 ? 0 : 1 )) "... within E2E_TIMEOUT=2 of DATA ($(field ms "$r") ms; the lines alone take 22 s)"
stop trickle
serve trickle 8 e2e-pop3d E2E_HOME="$H" E2E_TIMEOUT=2
r=$("$PY" "$L" trickle "$PORT" 1 '' 'USER alice\r\n')
is "$(field last "$r")" "-ERR timeout" "pop3d: a command trickled at 1 byte/s: -ERR timeout"
ok $(( $(field ms "$r") >= 1000 && $(field ms "$r") < 8000 ? 0 : 1 )) "... after E2E_TIMEOUT=2 ($(field ms "$r") ms; the 12 bytes take 12 s)"
stop trickle

# ---- per-peer caps: smtpd ----
PEERS=$T_TMP/peers
mkdir -m 700 "$PEERS"
serve smtpd 8 e2e-smtpd "${SMTPENV[@]}" E2E_PEERDIR="$PEERS" E2E_SMTPCONC=8 E2E_SMTPPEER=3 E2E_TIMEOUT=60
idle a 127.0.0.2 6 || { echo "Bail out! the idle client did not get going"; exit 1; }
is "$(greetings a 6)" "220 x3 421 x3 " "smtpd: 6 idle connections from 127.0.0.2, cap 3: three greeted, three refused"
is "$(grep -c '^421 4\.7\.0 too many connections from your address$' "$T_TMP/a.idle")" 3 "... with 421 4.7.0 too many connections from your address"
is "$(closed a 6)" "open open open closed closed closed " "... the refused ones closed at once, the others held"
like "$(cat "$T_TMP/smtpd.log")" 'end reason=peer_limit' "... logged"
# the slots: bytes of one file per address, each an open file description lock (/proc/locks)
slots=$(awk -v i="$(stat -c %i "$PEERS/127.0.0.2" 2>/dev/null)" '$2 == "OFDLCK" { split($6, a, ":"); if (a[3] == i) print $7 }' /proc/locks | sort -n | tr '\n' ' ')
is "$(ls "$PEERS" | grep '^127\.0\.0\.2') / $slots" "127.0.0.2 / 0 1 2 " "... one file for that address, its bytes 0, 1 and 2 locked, no more"
r=$(send_mail)
like "$r" '<- *250 2\.0\.0 ok' "a client from 127.0.0.1 is still served: its mail is accepted (swaks)"
is "$(cat "$QDIR"/env.* 2>/dev/null | tr '\0' '|')" "Falice@alice.i2p|Talice@alice.i2p||" "... and queued"
r=$(send_mail 127.0.0.2)
like "$r" '421 4\.7\.0 too many connections' "a fourth client from 127.0.0.2 still gets 421"
release a
idle b 127.0.0.2 3 || { echo "Bail out! the idle client did not get going"; exit 1; }
is "$(greetings b 3)" "220 x3 " "once they are gone, 127.0.0.2 gets its three slots again"
release b
stop smtpd
# The same without the cap: the idle client fills every slot of tcpserver -c.
serve nocap 4 e2e-smtpd "${SMTPENV[@]}" E2E_PEERDIR="$PEERS" E2E_SMTPCONC=4 E2E_SMTPPEER=0 E2E_TIMEOUT=60
idle c 127.0.0.2 4 || { echo "Bail out! the idle client did not get going"; exit 1; }
is "$(greetings c 4)" "220 x4 " "control: E2E_SMTPPEER=0 (no cap): 127.0.0.2 takes all 4 slots"
r=$("$PY" "$L" idle 127.0.0.1 "$PORT" 1 </dev/null)
is "${r%%$'\n'*}" "none" "... and a client from 127.0.0.1 gets no greeting (what the cap prevents)"
release c
stop nocap
# Defaults: half of E2E_SMTPCONC.
rm -f "$PEERS"/*
serve smtpd 8 e2e-smtpd "${SMTPENV[@]}" E2E_PEERDIR="$PEERS" E2E_SMTPCONC=8 E2E_TIMEOUT=60
idle d 127.0.0.3 6 || { echo "Bail out! the idle client did not get going"; exit 1; }
is "$(greetings d 6)" "220 x4 421 x2 " "default cap: half of E2E_SMTPCONC (8 -> 4)"
release d
stop smtpd
# QUIT gives the slot back before 221: a client that reconnects at once,
# while the old e2e-smtpd may still be ending, is not refused.
serve smtpd 8 e2e-smtpd "${SMTPENV[@]}" E2E_PEERDIR="$PEERS" E2E_SMTPCONC=8 E2E_SMTPPEER=1 E2E_TIMEOUT=60
r=$("$PY" - "$PORT" <<'PYEOF'
import socket, sys
port = int(sys.argv[1]); refused = 0; other = []
for i in range(40):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")
    try:
        g = f.readline()
    except OSError as e:
        g = repr(e).encode()
    if g.startswith(b"421"): refused += 1
    if not g.startswith(b"220"):
        other.append(g[:40]); s.close(); continue
    s.sendall(b"QUIT\r\n"); f.readline(); s.close()
print(refused, other)
PYEOF
)
is "${r%% *}" 0 "cap 1, 40 sessions one after another, each reconnecting right after 221: no 421 (greetings other than 220: ${r#* })"
stop smtpd
serve smtpd 8 e2e-smtpd "${SMTPENV[@]}" E2E_PEERDIR="$T_TMP/nowhere" E2E_SMTPPEER=2
r=$(send_mail)
like "$r" '<- *250 2\.0\.0 ok' "an unusable E2E_PEERDIR: still served"
like "$(cat "$T_TMP/smtpd.log")" 'warning: unable to count the connections of this peer in .*/nowhere: No such file' "... with a warning"
stop smtpd

# ---- per-peer caps: pop3d ----
rm -f "$PEERS"/*
serve pop3d 8 e2e-pop3d E2E_HOME="$H" E2E_PEERDIR="$PEERS" E2E_POP3CONC=8 E2E_POP3PEER=2 E2E_TIMEOUT=60
idle e 127.0.0.2 5 || { echo "Bail out! the idle client did not get going"; exit 1; }
is "$(greetings e 5)" "+OK x2 -ERR x3 " "pop3d: 5 idle connections from 127.0.0.2, cap 2: two greeted, three refused"
is "$(grep -c '^-ERR \[SYS/TEMP\] too many connections from your address$' "$T_TMP/e.idle")" 3 "... with -ERR [SYS/TEMP] too many connections from your address"
is "$(closed e 5)" "open open closed closed closed " "... the refused ones closed at once"
r=$("$PY" - "$PORT" <<'EOF'
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
p.user("alice"); p.pass_("secret")
print(p.stat()[0]); p.quit()
EOF
)
is "$r" 1 "a client from 127.0.0.1 still logs in and sees its message (poplib)"
release e
stop pop3d

# ---- oversize SAM and HTTP answers: e2e-resolve through a stand-in bridge ----
# e2e-resolve runs in 4 MB of address space (ulimit -v): it could not hold
# 12 MB of anything; a good answer gets through under the same limit. A
# sanitizer build reserves terabytes of shadow memory and cannot start
# under any such limit: there, the early hang-up shows the bound.
VLIMIT=4096 WITHIN="within 4 MB"
if grep -q __asan_init "$TOP/bin/e2e-resolve"; then VLIMIT=unlimited WITHIN="(sanitizer build: no address-space limit)"; fi
flood_resolve() {
  local mode=$1 d=$T_TMP/sam-$1
  mkdir -p "$d"
  E2E_TEST_KEYDIR=$TOP/tests/i2p/keys "$PY" "$L" sam "$d" "$mode" 2>"$d/log" &
  bg_pid $!
  for _ in $(seq 100); do [ -s "$d/port" ] && break; sleep 0.05; done
  OUT=$(ulimit -v "$VLIMIT"; E2E_HOME="$H" E2E_SAM="127.0.0.1:$(cat "$d/port")" E2E_SAM_ID=limits E2E_RESOLVE_TIMEOUT=10 \
          exec e2e-resolve "$mode.i2p" 2>"$d/err"); RC=$?
  for _ in $(seq 100); do [ -s "$d/sent" ] && break; sleep 0.05; done
  SENT=$(cat "$d/sent" 2>/dev/null || echo 99999999) ERR=$(cat "$d/err")
}
flood_resolve good
is "$RC $OUT" "0 $(cat "$TOP/tests/i2p/keys/ed25519-x25519.pub")" "e2e-resolve, a good answer is found $WITHIN"
flood_resolve samline
is "$RC" 111 "SAM: a 12 MB HELLO reply without a newline: temporary failure"
like "$ERR" 'line too long' "... saying the line is too long, $WITHIN"
ok $(( SENT < 12582912 ? 0 : 1 )) "... the client hung up before the 12 MB were through ($SENT sent)"
flood_resolve httpline
is "$RC" 111 "HTTP: a 12 MB header line: temporary failure"
like "$ERR" 'header line too long' "... saying so, $WITHIN"
ok $(( SENT < 12582912 ? 0 : 1 )) "... the client hung up early ($SENT sent)"
flood_resolve httpbody
is "$RC" 100 "HTTP: a 12 MB body: refused as an invalid key file"
like "$ERR" 'body over the limit' "... saying the body is over the limit, $WITHIN"
ok $(( SENT < 12582912 ? 0 : 1 )) "... the client hung up early ($SENT sent)"

done_testing
