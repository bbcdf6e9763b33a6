#!/bin/bash
# e2e-tlsd: STARTTLS for e2e-smtpd and STLS for e2e-pop3d, with real
# clients (swaks --tls, Python's smtplib and poplib) over tcpserver on
# loopback; pipelined junk after the command (CVE-2011-0411), a bad
# handshake, a client that never does one, missing and bad certificates,
# and TLS required before a password off loopback.
. "$(dirname "$0")/lib.sh"

P="$TOP/tests/tls/tls.py"
C=$T_TMP/certs
sh "$TOP/tests/tls/mkcerts.sh" "$C" || { echo "Bail out! cannot make test certificates (openssl)"; exit 1; }
ok 0 "test certificates made with openssl (a root, an intermediate, RSA and EC leaves)"
CA=$C/ca.pem
H=$T_TMP/home
mkhome "$H" test.i2p 'alice:pw pw' 2>/dev/null || { echo "Bail out! cannot make a mail home"; exit 1; }
mkdir -p "$H/tls"
usecert() { cp "$C/$1/cert.pem" "$H/tls/cert.pem" && cp "$C/${2:-$1}/key.pem" "$H/tls/key.pem"; }
usecert rsa
export E2E_HOME=$H E2E_DOMAIN=test.i2p E2E_QUEUE=e2e-queue E2E_TIMEOUT=30

# py_checks ARGS...: tls.py prints "ok NAME" / "not ok NAME"; each is a test.
py_checks() { tap_py "$P" "$@"; }

# serve NAME PROG...: tcpserver on a free port of 127.0.0.1 runs PROG...
# (log in $T_TMP/NAME.log); sets PORT.
serve() {
  local name=$1 i; shift
  PORT=$(free_port)
  tcpserver -v -R -H -l0 127.0.0.1 "$PORT" "$@" 2>>"$T_TMP/$name.log" &
  bg_pid $!
  for i in $(seq 100); do grep -q 'status:' "$T_TMP/$name.log" 2>/dev/null && return 0; sleep 0.05; done
  echo "Bail out! tcpserver for $name did not start"; exit 1
}
log() { cat "$T_TMP/$1.log"; }
queued() { ls "$H/queue/todo" | wc -l; }

# ---- submission: STARTTLS ----
serve smtp e2e-tlsd e2e-smtpd
SMTP=$PORT
n0=$(queued)
out=$(timeout 60 swaks --server "127.0.0.1:$SMTP" --tls --auth PLAIN --auth-user alice --auth-password 'pw pw' \
  --from alice@test.i2p --to alice@test.i2p --body 'sent with swaks over TLS' 2>&1); rc=$?
is "$rc" 0 "swaks --tls with AUTH PLAIN: submission succeeds"
like "$out" '<- +220 2\.0\.0 ready to start TLS' "swaks: STARTTLS answered 220"
like "$out" 'TLS started with cipher TLSv1\.2' "swaks: TLS 1.2 negotiated"
like "$out" '<~ +250 2\.0\.0 ok' "swaks: the message got 250 inside TLS"
is "$(queued)" $((n0 + 1)) "... and it is in the queue"
like "$(log smtp)" 'e2e-tlsd: pid=[0-9]+ remote=127\.0\.0\.1 tls version=TLS1\.2 suite=0x' "e2e-tlsd logs the version and the suite"
like "$(log smtp)" 'e2e-smtpd: pid=[0-9]+ starttls' "e2e-smtpd logs STARTTLS"

n0=$(queued)
py_checks smtp "$SMTP" "$CA" alice 'pw pw'
is "$(queued)" $((n0 + 1)) "smtplib's message is in the queue"
f=$(ls -t "$H"/queue/todo/* | head -1)
is "$(grep -c '^line [0-9]* of a long message, sent through TLS$' "$f")" 30000 "... whole: its 30000 lines came through TLS intact"
py_checks smtpjunk "$SMTP" "$CA"
py_checks smtplate "$SMTP" "$CA"
py_checks garbage "$SMTP"
like "$(log smtp)" 'warning: TLS handshake failed: error=[0-9]+ \(' "a failed handshake is logged, with why"
like "$(log smtp)" 'end reason=tls_handshake' "... and ends the connection"

usecert ec
py_checks smtp "$SMTP" "$CA" alice 'pw pw'
like "$(log smtp | tail -8)" 'suite=0x(c02b|c02c|cca9|c023|c024)' "an EC key: an ECDHE_ECDSA suite"
usecert rsa

# ---- POP3: STLS ----
M=$H/mail/alice
rm -f "$M"/new/* "$M"/cur/*
python3 - "$M/new/1700000000.M1P1.tls" <<'EOF'
import sys
body = b"".join(b"line %d \xc3\xa9t\xc3\xa9 %s\n" % (i, b"x" * (i % 300)) for i in range(2000))
msg = (b"From: alice@test.i2p\nTo: alice@test.i2p\nSubject: tls\n\n.a dot line\n..two dots\n" + body + b".\n")
open(sys.argv[1], "wb").write(msg)
EOF
cp "$M/new/1700000000.M1P1.tls" "$T_TMP/msg"
serve pop3 e2e-tlsd e2e-pop3d
POP3=$PORT
py_checks pop3 "$POP3" "$CA" alice 'pw pw' "$T_TMP/msg"
py_checks pop3junk "$POP3" "$CA" alice 'pw pw'
# mpop, a real POP3 client, with tls_starttls and the chain checked
G=$T_TMP/mpop; mkdir -p "$G"/got/{tmp,new,cur}
cat >"$G/rc" <<EOF
account test
host localhost
port $POP3
tls on
tls_starttls on
tls_trust_file $CA
auth user
user alice
passwordeval echo 'pw pw'
received_header off
uidls_file $G/uidls
timeout 30
delivery maildir $G/got
keep on
EOF
chmod 600 "$G/rc"
timeout 60 mpop -q -C "$G/rc" test >"$G/log" 2>&1
ok $? "mpop with STLS fetched the mailbox (tls_starttls, the chain checked for localhost)"
cmp -s "$G"/got/new/* "$T_TMP/msg"
ok $? "... byte-identical"
like "$(log pop3)" 'e2e-pop3d: stls' "e2e-pop3d logs STLS"
unlike "$(log pop3)" 'login failed' "the pipelined USER/PASS were never checked"

# ---- off loopback: a password only after TLS ----
serve smtpfar env TCPREMOTEIP=192.0.2.7 e2e-tlsd e2e-smtpd
py_checks smtpauth "$PORT" "$CA" alice 'pw pw'
serve pop3far env TCPREMOTEIP=192.0.2.7 e2e-tlsd e2e-pop3d
py_checks pop3auth "$PORT" "$CA" alice 'pw pw'
serve smtpfar0 env TCPREMOTEIP=192.0.2.7 E2E_TLSREQUIRE=0 e2e-tlsd e2e-smtpd
OUT=$(printf 'EHLO x\r\nAUTH PLAIN AGFsaWNlAHB3IHB3\r\nQUIT\r\n' | timeout 30 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
while True:
    b = s.recv(4096)
    if not b: break
    sys.stdout.buffer.write(b)' "$PORT" | tr -d '\r')
like "$OUT" '250-STARTTLS' "E2E_TLSREQUIRE=0 under e2e-tlsd: STARTTLS offered"
like "$OUT" '235 2\.7\.0' "... and AUTH in plain text allowed off loopback"
# sess PROG LINE...: one pipelined session on fds 0/1, replies in $OUT.
sess() {
  local prog=$1; shift
  OUT=$(printf '%s\r\n' "$@" | timeout 30 "$prog" 2>"$T_TMP/err" | tr -d '\r'); ERR=$(cat "$T_TMP/err")
}
export PROTO=TCP
TCPREMOTEIP=192.0.2.7 sess e2e-smtpd "EHLO x" "AUTH PLAIN AGFsaWNlAHB3IHB3" QUIT
like "$OUT" '235 2\.7\.0' "without e2e-tlsd, off loopback: AUTH as before (E2E_TLSREQUIRE unset)"
E2E_TLSREQUIRE=1 TCPREMOTEIP=192.0.2.7 sess e2e-smtpd "EHLO x" "AUTH PLAIN AGFsaWNlAHB3IHB3" QUIT
unlike "$OUT" 'AUTH' "E2E_TLSREQUIRE=1 without e2e-tlsd, off loopback: no AUTH offered"
like "$OUT" '530 5\.7\.0 must issue a STARTTLS command first' "... and AUTH gets 530"
E2E_TLSREQUIRE=1 TCPREMOTEIP=192.0.2.7 sess e2e-pop3d CAPA "USER alice" QUIT
like "$OUT" '-ERR use STLS first' "E2E_TLSREQUIRE=1 without e2e-tlsd, off loopback: USER gets -ERR"
E2E_TLSREQUIRE=1 TCPREMOTEIP=127.0.0.1 sess e2e-smtpd "EHLO x" "AUTH PLAIN AGFsaWNlAHB3IHB3" QUIT
like "$OUT" '235 2\.7\.0' "E2E_TLSREQUIRE=1: loopback may still AUTH in plain text"

# ---- without e2e-tlsd: nothing offered ----
TCPREMOTEIP=127.0.0.1 sess e2e-smtpd "EHLO x" STARTTLS QUIT
unlike "$OUT" '250-STARTTLS' "without e2e-tlsd EHLO offers no STARTTLS"
like "$OUT" '502 5\.5\.1 STARTTLS is not available here' "... and STARTTLS gets 502"
like "$OUT" '250-AUTH PLAIN LOGIN' "... AUTH offered on loopback as before"
TCPREMOTEIP=127.0.0.1 sess e2e-pop3d CAPA STLS QUIT
unlike "$OUT" 'STLS' "without e2e-tlsd CAPA lists no STLS"
like "$OUT" '-ERR unknown command' "... and STLS is an unknown command"

# ---- no usable certificate: 454 and a clear log line ----
rm -f "$H/tls/cert.pem" "$H/tls/key.pem"
py_checks refused "$SMTP" smtp
like "$(log smtp)" "warning: unable to use $H/tls/cert\\.pem: No such file or directory: TLS refused" "a missing certificate is logged"
py_checks refused "$POP3" pop3
like "$(log pop3)" "warning: unable to use $H/tls/cert\\.pem: No such file or directory: TLS refused" "... by e2e-pop3d's wrapper too"
# badcert WHAT REGEX: e2e-tlsd on pipes, with the files as set up.
badcert() {
  OUT=$(printf 'EHLO x\r\nSTARTTLS\r\nQUIT\r\n' | TCPREMOTEIP=127.0.0.1 timeout 30 e2e-tlsd e2e-smtpd 2>"$T_TMP/err" | tr '\r\n' '  ')
  ERR=$(cat "$T_TMP/err")
  like "$OUT" '250-STARTTLS.*454 4\.7\.0 TLS not available due to temporary reason.*221 ' "$1: 454, the session goes on"
  like "$ERR" "e2e-tlsd: pid=[0-9]+ remote=127\\.0\\.0\\.1 warning: unable to use $H/tls/$2: TLS refused" "$1: logged"
}
OUT=
printf 'not a certificate\n' >"$H/tls/cert.pem"; cp "$C/rsa/key.pem" "$H/tls/key.pem"
badcert "a certificate file without PEM" 'cert\.pem: no CERTIFICATE in it'
{ echo '-----BEGIN CERTIFICATE-----'; echo 'bm90IGRlcg=='; echo '-----END CERTIFICATE-----'; } >"$H/tls/cert.pem"
badcert "a certificate that is not DER" 'cert\.pem: the first certificate is malformed'
head -c 300 "$C/rsa/cert.pem" >"$H/tls/cert.pem"
badcert "a truncated certificate file" 'cert\.pem: (truncated|malformed) PEM'
usecert rsa other
badcert "a key of another certificate" 'key\.pem: the key does not match the certificate'
usecert ec rsa
badcert "an RSA key for an EC certificate" 'key\.pem: the key does not match the certificate \(RSA and EC\)'
usecert rsa; rm "$H/tls/key.pem"
badcert "no key file" 'key\.pem: No such file or directory'
openssl pkcs8 -topk8 -in "$C/rsa/key.pem" -passout pass:secret -out "$H/tls/key.pem" 2>/dev/null
badcert "an encrypted key" 'key\.pem: the key is encrypted \(store it without a passphrase\)'
usecert rsa
OUT=$(printf 'EHLO x\r\nSTARTTLS\r\n' | TCPREMOTEIP=127.0.0.1 timeout 30 e2e-tlsd e2e-smtpd 2>/dev/null | tr -d '\r')
like "$OUT" '220 2\.0\.0 ready to start TLS' "on pipes, with a good certificate: 220"

# ---- a client that never does the handshake ----
E2E_TIMEOUT=3 serve slow e2e-tlsd e2e-smtpd
py_checks stall "$PORT" 3
like "$(log slow)" 'end reason=handshake_timeout|end reason=timeout' "the stalled handshake ends by the timeout"
sleep 0.5
like "$(log slow | tail -1)" 'status: 0/' "no session left running (tcpserver counts 0)"

done_testing
