#!/bin/bash
# The TLS services in the s6 tree (docs/tls.md): e2e-setup makes
# smtpd-tls and pop3d-tls from the smtpd and pop3d templates, down while
# E2E_SMTPTLS and E2E_POP3TLS are unset; with the settings and a second
# e2e-setup run they come up on 127.0.0.2 (standing in for a LAN address)
# with e2e-tlsd in front: swaks --tls with AUTH submits a message that the
# runner delivers, poplib's stls() fetches it byte-identical, and the
# plain loopback services go on as before. As root (CI) also the accounts
# and HOME/tls's owners; as another user everything runs as that user.
. "$(dirname "$0")/lib.sh"

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
ROOT=; [ "$(id -u)" = 0 ] && ROOT=1
C=$T_TMP/certs
sh "$TOP/tests/tls/mkcerts.sh" "$C" || { echo "Bail out! cannot make test certificates (openssl)"; exit 1; }

SV=
stop_tree() {  # stop_tree HOME: 0 once s6-svscan has exited
  s6-svscanctl -t "$1/service" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$SV" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}
trap '[ -z "$SV" ] || stop_tree "$H"; t_cleanup' EXIT
until_ok() {  # until_ok TENTHS COMMAND...
  local n=$1; shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}
ready() { [ "$(s6-svstat -o up,ready "$1" 2>/dev/null)" = "true true" ]; }
all_ready() {  # all_ready HOME SERVICE...: each service and its logger
  local h=$1 s; shift
  for s in "$@"; do ready "$h/service/$s" && ready "$h/service/$s/log" || return 1; done
}
is_down() { [ "$(s6-svstat -o up "$1" 2>/dev/null)" = false ]; }
nmail() { ls "$1/new" "$1/cur" 2>/dev/null | grep -c ',S='; }
in_home() {  # pids of the processes whose working directory is under HOME
  local p d
  for p in /proc/[0-9]*; do
    d=$(readlink "$p/cwd" 2>/dev/null) || continue
    case $d in "$1"|"$1"/*) echo "${p#/proc/}" ;; esac
  done
}
no_proc_in() { [ -z "$(in_home "$1")" ]; }
listens() { (exec 8<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ---------------------------------------------------------------- unset
H=$T_TMP/home
mkhome "$H" test.i2p 'alice:pw pw'
ok $? "a mail home (e2e-setup, e2e-passwd)"
for s in smtpd-tls pop3d-tls; do
  [ -x "$H/service/$s/run" ] && [ -d "$H/log/$s" ] && cmp -s "$TOP/run/${s%-tls}/run" "$H/service/$s/run"
  ok $? "service/$s made from the ${s%-tls} template, with log/$s"
  like "$(cat "$H/service/$s/down" 2>&1)" '^e2e-setup: down until its address is in env/' "service/$s is down: no address yet"
done
ok "$([ -d "$H/tls" ]; echo $?)" "HOME/tls is there for the certificate"
if [ -n "$ROOT" ]; then
  is "$(stat -c '%U:%G %a' "$H/tls")" "root:e2e-auth 750" "HOME/tls: root:e2e-auth 750"
  is "$(cat "$H/service/smtpd-tls/data/user" "$H/service/pop3d-tls/data/user" | tr '\n' ' ')" "$(cat "$H/service/smtpd/data/user" "$H/service/pop3d/data/user" | tr '\n' ' ')" \
    "smtpd-tls and pop3d-tls run as smtpd and pop3d do"
fi

# pop3d-tls taken away, as in a home made before the TLS services: the
# e2e-setup run below makes it and hands it to the running s6-svscan.
rm -rf "$H/service/pop3d-tls"
smtp=$(free_port) pop3=$(free_port) smtps=$(free_port) pop3s=$(free_port)
echo "127.0.0.1:$smtp" > "$H/env/E2E_SMTP"
echo "127.0.0.1:$pop3" > "$H/env/E2E_POP3"
svscan_env "$H"
env "$SVSCAN_ENV" s6-svscan "$H/service" >"$T_TMP/svscan.log" 2>&1 &
SV=$!
bg_pid $SV
until_ok 200 all_ready "$H" smtpd pop3d runner
ok $? "s6-svscan: smtpd, pop3d, the runner and their loggers ready"
is_down "$H/service/smtpd-tls" && ready "$H/service/smtpd-tls/log"
ok $? "smtpd-tls is down (its logger up)"
s6-svc -u "$H/service/smtpd-tls"
until_ok 50 grep -q 'smtpd-tls: fatal: no address in E2E_SMTPTLS' "$H/log/smtpd-tls/current"
ok $? "started by hand without E2E_SMTPTLS it says why, into log/smtpd-tls"
sleep 2.5
is_down "$H/service/smtpd-tls"
ok $? "... and stays down"
is "$(grep -c 'no address in E2E_SMTPTLS' "$H/log/smtpd-tls/current")" 1 "... without restarting in a loop"

# ---------------------------------------------------------------- set
echo "127.0.0.2:$smtps" > "$H/env/E2E_SMTPTLS"
echo "127.0.0.2:$pop3s" > "$H/env/E2E_POP3TLS"
out=$(e2e-setup "$H" test.i2p 2>&1 | grep -v 'warning: .* the services run as e2e-mail')   # a sanitizer build says so
like "$out" 'smtpd-tls enabled: there is env/E2E_SMTPTLS now' "e2e-setup again: smtpd-tls enabled"
ok "$([ -e "$H/service/pop3d-tls/run" ] && [ ! -e "$H/service/pop3d-tls/down" ]; echo $?)" "... and pop3d-tls made anew, without a down file"
like "$out" 'warning: no .*/tls/cert\.pem or key\.pem' "... and it asks for a certificate"
cp "$C/rsa/cert.pem" "$C/rsa/key.pem" "$H/tls/" && chmod 644 "$H/tls/key.pem"
out=$(e2e-setup "$H" test.i2p 2>&1 | grep -v 'warning: .* the services run as e2e-mail')
is "$out" "e2e-setup: mail home $H for test.i2p is ready" "with the certificate, a third run is quiet"
ok "$([ ! -e "$H/service/smtpd-tls/down" ] && [ ! -e "$H/service/pop3d-tls/down" ]; echo $?)" "their down files are gone"
if [ -n "$ROOT" ]; then
  is "$(stat -c '%U:%G %a' "$H/tls/key.pem" "$H/tls/cert.pem" | tr '\n' ' ')" "root:e2e-auth 640 root:root 644 " \
    "the key: root:e2e-auth 640, the certificate 644"
fi
until_ok 200 all_ready "$H" smtpd-tls pop3d-tls
ok $? "both started (s6-svc -u, s6-svscanctl -a by e2e-setup) and ready"
listens 127.0.0.2 "$smtps" && listens 127.0.0.2 "$pop3s"
ok $? "they listen on 127.0.0.2"

if [ -n "$ROOT" ]; then
  args() { ps -o user:20=,args= -p "$(s6-svstat -o pid "$H/service/$1")" | tr -s ' '; }
  like "$(args smtpd-tls)" "^$(cat "$H/service/smtpd/data/user") tcpserver .* 127\.0\.0\.2 $smtps e2e-tlsd /[^ ]*/e2e-smtpd$" \
    "smtpd-tls: tcpserver ... e2e-tlsd /PATH/e2e-smtpd, as smtpd's account"
  like "$(args pop3d-tls)" "^e2e-mail tcpserver .* 127\.0\.0\.2 $pop3s e2e-tlsd e2e-pop3d$" \
    "pop3d-tls: tcpserver ... e2e-tlsd e2e-pop3d, as e2e-mail"
fi

# submission with STARTTLS, delivered by the runner: 1000 lines (116 KB)
# that begin with a dot
M=$H/mail/alice
$PY -c '
import sys
sys.stdout.write("".join(".line %d \u00e9t\u00e9 %s\n" % (i, "x" * (i % 200)) for i in range(1000)))' >"$T_TMP/body"
out=$(timeout 60 swaks --server "127.0.0.2:$smtps" --tls --auth PLAIN --auth-user alice --auth-password 'pw pw' \
  --from alice@test.i2p --to alice@test.i2p --header 'Subject: over TLS' --body @"$T_TMP/body" 2>&1)
is "$?" 0 "swaks --tls with AUTH PLAIN to smtpd-tls"
like "$out" '<- +220 2\.0\.0 ready to start TLS' "... STARTTLS answered 220"
like "$out" '<~ +250 2\.0\.0 ok' "... the message got 250 inside TLS"
until_ok 100 eval 'test "$(nmail "$M")" = 1'
ok $? "the runner delivered it into alice's Maildir"
cp "$(ls "$M"/new/* "$M"/cur/* 2>/dev/null | head -1)" "$T_TMP/msg"
grep -q '^Subject: over TLS' "$T_TMP/msg" && grep -q '^X-Mailer' "$T_TMP/msg" && grep -q '^Received: from ' "$T_TMP/msg"
ok $? "... for a local user only: straight to e2e-queue, past the privacy stage (swaks's X-Mailer and our Received line kept)"
is "$(grep -c '^\.line [0-9]* été x*$' "$T_TMP/msg")" 1000 "... whole: its 1000 dot lines came through TLS intact"

# POP3 with STLS: the same bytes
got=$($PY - "$pop3s" "$C/ca.pem" "$T_TMP/msg" <<'PY' 2>&1
import poplib, ssl, sys
port, ca, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = poplib.POP3("127.0.0.2", port, timeout=30)
caps = p.capa()
p.stls(context=ssl.create_default_context(cafile=ca))   # the chain checked for 127.0.0.2
p.user("alice"); p.pass_("pw pw")
data = b"\n".join(p.retr(1)[1]) + b"\n"
p.quit()
print("STLS" in caps, data == open(path, "rb").read(), len(data))
PY
)
like "$got" '^True True [0-9]+$' "poplib stls() on pop3d-tls, chain verified: RETR byte-identical to the Maildir file"
diag "pop3: $got"

like "$(cat "$H/log/smtpd-tls/current")" 'e2e-tlsd: pid=[0-9]+ remote=127\.0\.0\.[0-9]+ tls version=TLS1\.2' "log/smtpd-tls: e2e-tlsd's line"
like "$(cat "$H/log/smtpd-tls/current")" 'e2e-smtpd: pid=[0-9]+ starttls' "log/smtpd-tls: e2e-smtpd's starttls"
like "$(cat "$H/log/pop3d-tls/current")" 'e2e-pop3d: .*stls' "log/pop3d-tls: e2e-pop3d's stls"

# the loopback services, unchanged: plain text, no STARTTLS
got=$($PY - "$smtp" "$pop3" <<'PY' 2>&1
import poplib, smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("x")
tls = s.has_extn("starttls")
s.login("alice", "pw pw")
s.sendmail("alice@test.i2p", ["alice@test.i2p"], "Subject: plain\r\n\r\nover loopback\r\n")
s.quit()
p = poplib.POP3("127.0.0.1", int(sys.argv[2]), timeout=30)
print(tls, "STLS" in p.capa())
PY
)
is "$got" "False False" "smtpd and pop3d on loopback: plain text, no STARTTLS or STLS offered"
until_ok 100 eval 'test "$(nmail "$M")" = 2'
ok $? "... and their mail is delivered as before"
unlike "$(cat "$H/log/smtpd/current")" 'e2e-tlsd' "no e2e-tlsd in smtpd's log"

# run/smtpd looks e2e-smtpd, e2e-scrub and e2e-queue up in PATH when it
# starts: not found there, it says so and exits (s6 tries again), no
# tcpserver
echo /usr/bin:/bin > "$H/env/PATH"
s6-svc -r "$H/service/smtpd-tls"
until_ok 100 grep -q "smtpd-tls: fatal: e2e-smtpd, e2e-scrub or e2e-queue not found in $H/libexec:/usr/bin:/bin" "$H/log/smtpd-tls/current"
ok $? "smtpd-tls with a PATH without e2e-smtpd: says so in its log"
until_ok 50 eval '! listens 127.0.0.2 "$smtps"'
ok $? "... and nothing listens on its port"
rm -f "$H/env/PATH"
until_ok 200 eval 'listens 127.0.0.2 "$smtps"'
ok $? "PATH back: s6's next start listens again"

# ---------------------------------------------------------------- stop
stop_tree "$H"
ok $? "s6-svscanctl -t: s6-svscan exits"
SV=
until_ok 100 no_proc_in "$H"
is "$(in_home "$H")" "" "no process is left in the home"
! listens 127.0.0.2 "$smtps"
ok $? "the TLS port is closed"

done_testing
