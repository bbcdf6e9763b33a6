#!/bin/bash
# The local spine with real clients: swaks and Python's smtplib submit to
# e2e-smtpd under tcpserver, e2e-runner delivers with e2e-local, Python's
# poplib and mpop fetch from e2e-pop3d under tcpserver. Everything on
# loopback; every process is stopped by PID at exit.
. "$(dirname "$0")/lib.sh"

home=$T_TMP/home
mkhome "$home" alice.i2p alice:alicepw bob:bobpw
ok $? "mail home with two users"
smtp=$(free_port) pop3=$(free_port)
s6-envdir "$home/env" tcpserver -R -H -l0 -c 20 127.0.0.1 "$smtp" e2e-smtpd 2>"$T_TMP/smtpd.log" &
bg_pid $!
s6-envdir "$home/env" tcpserver -R -H -l0 -c 20 127.0.0.1 "$pop3" e2e-pop3d 2>"$T_TMP/pop3d.log" &
bg_pid $!
s6-envdir "$home/env" env E2E_RETRY=1 e2e-runner 2>"$T_TMP/runner.log" &
bg_pid $!
for _ in $(seq 50); do
  python3 -c "import socket,sys; [socket.create_connection(('127.0.0.1',p),1).close() for p in ($smtp,$pop3)]" 2>/dev/null && break
  sleep 0.1
done

# wait_mail USER N: until USER's Maildir holds N messages (10 s at most)
wait_mail() {
  for _ in $(seq 100); do
    [ "$(ls "$home/mail/$1/new" "$home/mail/$1/cur" 2>/dev/null | grep -c ,S=)" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

out=$(swaks --server 127.0.0.1:"$smtp" --auth PLAIN --auth-user alice --auth-password alicepw \
  --from alice@alice.i2p --to bob@alice.i2p --header 'Subject: plain' --body 'hello bob' 2>&1)
like "$out" '<-  250 2\.0\.0' "swaks AUTH PLAIN: 250 at the final dot"
wait_mail bob 1
ok $? "delivered into bob's Maildir"

out=$(swaks --server 127.0.0.1:"$smtp" --auth LOGIN --auth-user alice --auth-password alicepw --pipeline \
  --from alice@alice.i2p --to bob@alice.i2p --header 'Subject: login' --body 'pipelined' 2>&1)
like "$out" '<-  250 2\.0\.0' "swaks AUTH LOGIN with PIPELINING"
like "$out" 'PIPELINING' "PIPELINING advertised"

out=$(swaks --server 127.0.0.1:"$smtp" --auth PLAIN --auth-user alice --auth-password wrong \
  --from alice@alice.i2p --to bob@alice.i2p 2>&1)
like "$out" '535 5\.7\.8' "wrong password: 535 5.7.8"

out=$(swaks --server 127.0.0.1:"$smtp" --from alice@alice.i2p --to bob@alice.i2p 2>&1)
like "$out" '530 5\.7\.0' "no AUTH: 530 5.7.0"

out=$(swaks --server 127.0.0.1:"$smtp" --auth PLAIN --auth-user alice --auth-password alicepw \
  --from bob@alice.i2p --to bob@alice.i2p 2>&1)
like "$out" '553 5\.7\.1' "someone else's sender address: 553 5.7.1"

# A multi-megabyte 8-bit message with lines starting with '.', a line that
# is just '.', and one of '..': swaks with a prepared data file, then the
# same bytes fetched with poplib and mpop.
python3 - "$T_TMP/big.eml" <<'PY'
import sys, random
r = random.Random(7)
PRINT = [c for c in range(0x20, 0x7f) if c != 0x5c]  # swaks reads "\\n" in data as a newline
lines = [b"From: alice@alice.i2p", b"To: bob@alice.i2p", b"Subject: big 8-bit",
         b"Content-Type: text/plain; charset=latin1", b"Content-Transfer-Encoding: 8bit", b""]
for i in range(40000):
    k = i % 9
    if k == 0: lines.append(b".")
    elif k == 1: lines.append(b".. two dots")
    elif k == 2: lines.append(b".starts with a dot " + bytes([0xe9, 0xe8, 0xff]))
    else: lines.append(bytes(r.choice(PRINT) if r.random() < .9 else r.choice(range(0xa0, 0x100)) for _ in range(r.randrange(0, 120))))
open(sys.argv[1], "wb").write(b"\n".join(lines) + b"\n")
PY
size=$(stat -c %s "$T_TMP/big.eml")
diag "big message: $size bytes"
out=$(python3 - "$smtp" "$T_TMP/big.eml" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
s.ehlo("client.example")
s.login("alice", "alicepw")
data = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")  # smtplib sends bytes as they are
r = s.sendmail("alice@alice.i2p", ["bob@alice.i2p"], data)
print("refused:", r, "reply:", s.noop())
s.quit()
PY
)
like "$out" "refused: \{\} reply: \(250" "smtplib: the big message accepted"
# (swaks ends the data with CRLF . CRLF itself: give it the file without its last newline)
sed 's/^Subject: big 8-bit$/Subject: big 8-bit by swaks/' "$T_TMP/big.eml" | head -c -1 > "$T_TMP/big2.eml"
out=$(swaks --server 127.0.0.1:"$smtp" --auth LOGIN --auth-user alice --auth-password alicepw \
  --from alice@alice.i2p --to bob@alice.i2p --data @"$T_TMP/big2.eml" 2>&1)
like "$out" '<-  250 2\.0\.0' "swaks: the big message accepted"
wait_mail bob 4
ok $? "four messages for bob"

python3 - "$pop3" "$T_TMP/big.eml" <<'PY' > "$T_TMP/pop.out" 2>&1
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)
p.user("bob"); p.pass_("bobpw")
n, total = p.stat()
want = open(sys.argv[2], "rb").read()
want2 = want.replace(b"Subject: big 8-bit\n", b"Subject: big 8-bit by swaks\n", 1)
found = 0
for i in range(1, n + 1):
    lines = p.retr(i)[1]
    msg = b"\n".join(lines) + b"\n"
    if b"Subject: big 8-bit by swaks" in msg:
        print("swaks-identical:", msg.endswith(want2))
    elif b"Subject: big 8-bit" in msg:
        found = 1
        print("suffix-identical:", msg.endswith(want))
        head = msg[: len(msg) - len(want)]
        print("headers added:", b"Received: " in head and b"Delivered-To: bob@alice.i2p" in head and b"Return-Path: <alice@alice.i2p>" in head)
print("found:", found, "count:", n)
p.quit()
PY
pop=$(cat "$T_TMP/pop.out")
like "$pop" "suffix-identical: True" "poplib: the big message byte-identical after the added headers"
like "$pop" "headers added: True" "Received, Delivered-To and Return-Path added"
like "$pop" "swaks-identical: True" "poplib: swaks's big message byte-identical too"
like "$pop" "found: 1 count: 4" "poplib sees four messages"

# mpop into a Maildir, keeping the messages on the server
mkdir -p "$T_TMP/mpop/new" "$T_TMP/mpop/cur" "$T_TMP/mpop/tmp"
cat > "$T_TMP/mpoprc" <<EOF2
account bob
host 127.0.0.1
port $pop3
user bob
password bobpw
auth user
tls off
keep on
delivery maildir $T_TMP/mpop
uidls_file $T_TMP/mpop.uidls
EOF2
chmod 600 "$T_TMP/mpoprc"
mpop -C "$T_TMP/mpoprc" -q bob >"$T_TMP/mpop.log" 2>&1
ok $? "mpop fetches"
got=$(grep -l 'Subject: big 8-bit' "$T_TMP"/mpop/new/* 2>/dev/null | head -1)
if [ -n "$got" ] && tail -c "$size" "$got" | cmp -s - "$T_TMP/big.eml"; then r=0; else r=1; fi
ok $r "mpop: the big message byte-identical"
is "$(ls "$T_TMP/mpop/new" | wc -l)" 4 "mpop delivered four messages"
unlike "$(cat "$T_TMP"/*.log)" 'AddressSanitizer|runtime error' "no sanitizer reports in the logs"
done_testing
