#!/bin/bash
# Privilege separation and secrets, for a home that root sets up (root
# only: the accounts are real). e2e-setup's owners and modes; what each
# account can read, list, write and run (s6-setuidgid ACCOUNT ...); the
# setuid copies in libexec/ (the real user given up, E2E_HOME not
# trusted, e2e-local for the queue's owner only); e2e-samaccept holding
# the key only in memory, not dumpable; e2e-pop3d touching no Maildir
# before a right PASS (strace); failed logins slowed (E2E_AUTHFAIL_DELAY),
# weak hashes refused; then mail through the real s6 tree (submission
# with AUTH, the runner delivering through libexec/e2e-local and sending
# through libexec/e2e-remote, a peer over a stand-in SAM bridge, POP3),
# and no password, key or body in any log. About 25 s.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
  echo "1..0 # SKIP the service accounts need root (CI and make check run as root)"
  exit 0
fi
KEYS=$TOP/tests/i2p/keys
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# trees, stopped at exit; until_ok, ready, all_ready (tests/s6lib.sh)
. "$TOP/tests/s6lib.sh"
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
unhex() { printf '%s' "$1" | sed 's/\(..\)/\\x\1/g' | xargs -0 printf '%b'; }
nmail() { ls "$1/new" "$1/cur" 2>/dev/null | grep -c .; }
uid_of() { id -u "$1"; }

# ---------------------------------------------------------------- the home
PW_ALICE="alice-pw-$RANDOM$RANDOM" PW_BOB="bob-pw-$RANDOM$RANDOM"
BODY="body-marker-$RANDOM$RANDOM" WRONG="wrong-pw-$RANDOM$RANDOM"
home=$T_TMP/home
mkhome "$home" alice.i2p "alice:$PW_ALICE" "bob:$PW_BOB"
ok $? "a home made as root, two users"
cp "$KEYS/ed25519-2.priv" "$home/key"
e2e-setup "$home" alice.i2p >"$T_TMP/setup.out" 2>&1
ok $? "e2e-setup again, with a key"
SUID=1
[ -e "$home/libexec/e2e-queue" ] || { SUID=; diag "no setuid copies here (nosuid or sanitizer build)"; }

st() { stat -c '%U:%G %a' "$home/$1"; }
is "$(st key)" "root:root 600" "key: root's alone"
is "$(st users) / $(st recipients)" "root:e2e-auth 640 / root:e2e-auth 644" "users (hashes) root:e2e-auth 640; recipients (names) 644"
is "$(cat "$home/recipients" | tr '\n' ' ')" "alice bob " "recipients: the names, no hash"
cp -p "$home/users" "$T_TMP/users.orig"
echo 'dave:$y$j9T$x$y' >>"$home/users"
e2e-setup "$home" alice.i2p >/dev/null 2>&1
is "$(cat "$home/recipients" | tr '\n' ' ') $(st recipients)" "alice bob dave  root:e2e-auth 644" \
  "a line added to users by hand: e2e-setup writes recipients again"
cp -p "$T_TMP/users.orig" "$home/users"
e2e-setup "$home" alice.i2p >/dev/null 2>&1
if [ -n "$SUID" ]; then
  is "$(st queue) $(st queue/todo)" "e2e-queue:e2e-queue 700 e2e-queue:e2e-queue 700" "queue: e2e-queue's own"
  is "$(st mail) $(st mail/bob/new)" "e2e-mail:e2e-mail 700 e2e-mail:e2e-mail 700" "Maildirs: e2e-mail's"
  is "$(st cache)" "e2e-remote:e2e-sam 2770" "cache: e2e-remote's, group e2e-sam"
  is "$(st libexec) | $(st libexec/e2e-queue) | $(st libexec/e2e-local) | $(st libexec/e2e-remote)" \
    "root:root 755 | e2e-queue:e2e 4110 | e2e-mail:e2e-queue 4110 | e2e-remote:e2e-queue 4110" \
    "libexec: setuid copies of e2e-queue, e2e-local, e2e-remote"
  is "$(for s in smtpd samaccept runner pop3d; do cat "$home/service/$s/data/user"; done | tr '\n' ' ')" \
    "e2e-smtpd e2e-sam e2e-queue e2e-mail " "data/user: smtpd e2e-smtpd, samaccept e2e-sam, runner e2e-queue, pop3d e2e-mail"
  ingroups() { id -nG "$1" | tr ' ' '\n' | grep -v "^$1\$" | sort | tr '\n' ' '; }
  is "$(for a in e2e-smtpd e2e-sam e2e-queue e2e-remote e2e-mail e2e-log; do echo "$a: $(ingroups $a)"; done | tr '\n' '|')" \
    "e2e-smtpd: e2e e2e-auth |e2e-sam: e2e |e2e-queue: |e2e-remote: |e2e-mail: e2e-auth |e2e-log: |" \
    "groups: e2e (run libexec/e2e-queue), e2e-auth (read users); nothing else"
fi

# ---------------------------------------------------------------- who may what
# A message waiting in the queue (the runner is not running yet) and one
# in bob's Maildir, to be read or not.
printf 'Subject: q\n\n%s\n' "$BODY" | env E2E_HOME="$home" e2e-queue 1< <(printf 'Falice@alice.i2p\0Tbob@alice.i2p\0\0') 2>/dev/null
printf 'Subject: m\n\n%s\n' "$BODY" | s6-setuidgid e2e-mail env E2E_HOME="$home" e2e-local bob
chown -R e2e-queue:e2e-queue "$home/queue"
QFILE=$(ls "$home"/queue/todo/* 2>/dev/null | head -1)
MFILE=$(ls "$home"/mail/bob/new/* | head -1)
[ -n "$QFILE" ] && [ -n "$MFILE" ]
ok $? "a queued message and a delivered one to look at"
can() {  # can ACCOUNT WHAT PATH: 0 when ACCOUNT may
  case $2 in
    read) s6-setuidgid "$1" cat "$3" >/dev/null 2>&1 ;;
    list) s6-setuidgid "$1" ls "$3" >/dev/null 2>&1 ;;
    write) s6-setuidgid "$1" sh -c 't="$1/.w$$"; : >"$t" && rm -f "$t"' sh "$3" 2>/dev/null ;;
    run) s6-setuidgid "$1" test -x "$3" ;;
  esac
}
# the table of docs/operations.md: one row per thing, Y/- per account in
# the order e2e-smtpd e2e-sam e2e-queue e2e-remote e2e-mail e2e-log
ACCTS="e2e-smtpd e2e-sam e2e-queue e2e-remote e2e-mail e2e-log"
row() {  # row WHAT PATH WANT
  local a got=
  for a in $ACCTS; do if can "$a" "$1" "$2"; then got="${got}Y"; else got="${got}-"; fi; done
  is "$got" "$3" "$1 $(echo "${2#$home/}"): $3 (smtpd sam queue remote mail log)"
}
if [ -n "$SUID" ]; then
  row read "$home/key" ------
  row read "$home/users" Y---Y-
  row read "$home/recipients" YYYYYY
  row list "$home/queue/todo" --Y---
  row read "$QFILE" --Y---
  row list "$home/mail/bob/new" ----Y-
  row read "$MFILE" ----Y-
  row write "$home/cache" -Y-Y--
  row write "$home/env" ------
  row write "$home/service/samaccept" ------
  row run "$home/libexec/e2e-queue" YYY---
  # (the owner of a copy may run it too: it stays itself)
  row run "$home/libexec/e2e-local" --Y-Y-
  row run "$home/libexec/e2e-remote" --YY--
  row list "$home/log/runner" -----Y
fi

# ---------------------------------------------------------------- setuid copies
if [ -n "$SUID" ]; then
  # e2e-local run by the runner's account: it becomes e2e-mail for good
  # (real uid too) and delivers into its own home, whatever E2E_HOME says.
  mkdir -p "$T_TMP/elsewhere/mail/bob"
  n0=$(nmail "$home/mail/bob")
  (sleep 2; printf 'Subject: s\n\nsetuid\n') | s6-setuidgid e2e-queue env E2E_HOME="$T_TMP/elsewhere" "$home/libexec/e2e-local" bob &
  lp=$!
  sleep 1
  pid=$(pgrep -n -f "$home/libexec/e2e-local")
  is "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status" 2>/dev/null)" \
    "$(uid_of e2e-mail) $(uid_of e2e-mail) $(uid_of e2e-mail) $(uid_of e2e-mail)" \
    "libexec/e2e-local: real, effective and saved uid all e2e-mail (the runner's cannot be taken back)"
  wait "$lp"
  ok $? "... and it delivers"
  is "$(nmail "$home/mail/bob") $(find "$T_TMP/elsewhere" -type f | wc -l)" "$((n0 + 1)) 0" \
    "... into the home it lies in, not into \$E2E_HOME"
  # a process with the runner's group but not its uid (what e2e-remote
  # is, once started) may not run e2e-local
  out=$(printf 'x\n' | s6-applyuidgid -u "$(uid_of e2e-remote)" -g "$(id -g e2e-queue)" -G "" "$home/libexec/e2e-local" bob 2>&1)
  is "$?" 100 "libexec/e2e-local run by e2e-remote with the runner's group: refused (100)"
  like "$out" "only the owner of $home/queue may run this" "... saying why"
  is "$(nmail "$home/mail/bob")" "$((n0 + 1))" "... and nothing delivered"
  # The kernel clears the runner's parent-death signal when it runs a
  # setuid copy; the copy sets it again: a killed runner takes it along.
  mkfifo "$T_TMP/pd"
  exec 9<>"$T_TMP/pd"
  ( s6-setuidgid e2e-queue "$home/libexec/e2e-local" bob <"$T_TMP/pd" 9>&- & echo $! >"$T_TMP/pd.pid"; exec sleep 60 ) 9>&- &
  par=$!
  bg_pid $par
  for _ in $(seq 50); do [ -s "$T_TMP/pd.pid" ] && break; sleep 0.1; done
  sleep 0.5
  lpid=$(cat "$T_TMP/pd.pid")
  kill -0 "$lpid" 2>/dev/null
  ok $? "libexec/e2e-local waits for its message (pid $lpid, parent $par)"
  kill -9 "$par"; wait "$par" 2>/dev/null
  for _ in $(seq 30); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$lpid" 2>/dev/null
  ok $? "its parent SIGKILLed: the setuid e2e-local is gone too (parent-death signal set again)"
  kill -9 "$lpid" 2>/dev/null
  exec 9>&-
  is "$(nmail "$home/mail/bob")" "$((n0 + 1))" "... and nothing delivered"
  # e2e-remote: real uid e2e-remote while it waits for a silent bridge
  $PY -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(5); open(sys.argv[1],"w").write(str(s.getsockname()[1]))
c=[s.accept() for _ in range(1)]; time.sleep(30)' "$T_TMP/silent.port" &
  bg_pid $!
  until_ok 50 test -s "$T_TMP/silent.port"
  echo "bob.i2p $(cat "$KEYS/ed25519-1.b32")" >"$home/routes"
  printf 'Subject: r\n\nx\n' >"$T_TMP/msg"
  s6-setuidgid e2e-queue env E2E_HOME=/nonexistent E2E_DOMAIN=alice.i2p E2E_SAM="127.0.0.1:$(cat "$T_TMP/silent.port")" \
    E2E_REMOTE_CONNECT=3 "$home/libexec/e2e-remote" bob.i2p alice@alice.i2p carol@bob.i2p <"$T_TMP/msg" >"$T_TMP/remote.out" 2>"$T_TMP/remote.err" &
  rp=$!
  sleep 1
  is "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$rp/status" 2>/dev/null)" \
    "$(uid_of e2e-remote) $(uid_of e2e-remote) $(uid_of e2e-remote) $(uid_of e2e-remote)" \
    "libexec/e2e-remote: every uid e2e-remote (it talks to peers: no way back to the queue's owner)"
  wait "$rp"
  like "$(cat "$T_TMP/remote.out")" "^Z.*cannot reach" "... it ran, found bob.i2p in the routes of its own home (not /nonexistent), and reports"
  rm -f "$home/routes"
fi

# ---------------------------------------------------------------- POP3 before PASS
export E2E_HOME=$home
printf 'USER bob\r\nPASS %s\r\nUSER nosuch\r\nPASS x\r\nQUIT\r\n' "$WRONG" |
  E2E_AUTHFAIL_DELAY=0 ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=%file -o "$T_TMP/st.fail" s6-setuidgid e2e-mail e2e-pop3d >"$T_TMP/pop.fail" 2>"$T_TMP/pop.fail.err"
like "$(cat "$T_TMP/pop.fail")" "-ERR \[AUTH\]" "POP3 under strace: wrong passwords refused"
grep -q "$home/users" "$T_TMP/st.fail"
ok $? "... users was read"
is "$(grep -c "$home/mail" "$T_TMP/st.fail")" 0 "... and nothing under mail/ touched before a PASS succeeds"
# (LeakSanitizer cannot run under ptrace: off for sanitizer builds)
printf 'USER bob\r\nPASS %s\r\nSTAT\r\nQUIT\r\n' "$PW_BOB" |
  ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=%file -o "$T_TMP/st.ok" s6-setuidgid e2e-mail e2e-pop3d >"$T_TMP/pop.ok" 2>"$T_TMP/pop.ok.err"
like "$(cat "$T_TMP/pop.ok")" '\+OK [0-9]+ messages' "the right password: logged in"
u=$(grep -n "$home/users" "$T_TMP/st.ok" | head -1 | cut -d: -f1)
m=$(grep -n "$home/mail" "$T_TMP/st.ok" | head -1 | cut -d: -f1)
ok "$([ -n "$u" ] && [ -n "$m" ] && [ "$m" -gt "$u" ]; echo $?)" "... the Maildir opened only after the password was checked (line $m > $u)"

# ---------------------------------------------------------------- failed logins
pop_fail() {  # pop_fail PASSWORD: ms for USER bob / PASS / QUIT
  local t0=$(now_ms)
  printf 'USER bob\r\nPASS %s\r\nQUIT\r\n' "$1" | e2e-pop3d >"$T_TMP/pf.out" 2>>"$T_TMP/pf.err"
  echo $(($(now_ms) - t0))
}
unset E2E_AUTHFAIL_DELAY
ms=$(pop_fail "$WRONG")
ok "$([ "$ms" -ge 1950 ] && [ "$ms" -lt 4000 ]; echo $?)" "a failed POP3 login takes E2E_AUTHFAIL_DELAY (default 2 s): $ms ms"
ms=$(pop_fail "$PW_BOB")
ok "$([ "$ms" -lt 1500 ]; echo $?)" "a right one does not wait: $ms ms"
ms=$(E2E_AUTHFAIL_DELAY=0 pop_fail "$WRONG")
ok "$([ "$ms" -lt 1500 ]; echo $?)" "E2E_AUTHFAIL_DELAY=0: no wait ($ms ms)"
t0=$(now_ms)
out=$(printf 'EHLO x\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$(printf '\0alice\0%s' "$WRONG" | base64 -w0)" |
  env PROTO=TCP TCPREMOTEIP=127.0.0.1 E2E_DOMAIN=alice.i2p E2E_AUTHFAIL_DELAY=1 e2e-smtpd 2>>"$T_TMP/pf.err")
ms=$(($(now_ms) - t0))
like "$out" '535 5\.7\.8' "a failed SMTP AUTH: 535"
ok "$([ "$ms" -ge 950 ] && [ "$ms" -lt 3000 ]; echo $?)" "... after E2E_AUTHFAIL_DELAY=1: $ms ms"
# a weak hash (md5crypt) is refused even with the right password
cp -p "$home/users" "$T_TMP/users.bak"
echo 'weak:$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1' >>"$home/users"   # "secret", md5crypt
out=$(printf 'USER weak\r\nPASS secret\r\nQUIT\r\n' | E2E_AUTHFAIL_DELAY=0 e2e-pop3d 2>"$T_TMP/weak.err")
like "$out" '-ERR \[AUTH\]' "an md5crypt hash in users: refused, right password or not"
like "$(cat "$T_TMP/weak.err")" 'weak password hash for user=weak' "... and logged, without the hash"
unlike "$(cat "$T_TMP/weak.err")" '\$1\$' "... (no hash in the log)"
cp -p "$T_TMP/users.bak" "$home/users"
like "$(head -1 "$home/users")" '^alice:\$y\$' "e2e-passwd writes yescrypt (\$y\$)"
unset E2E_HOME

# ---------------------------------------------------------------- the tree
smtp=$(free_port) pop3=$(free_port)
echo "127.0.0.1:$smtp" >"$home/env/E2E_SMTP"
echo "127.0.0.1:$pop3" >"$home/env/E2E_POP3"
echo 2 >"$home/env/E2E_RETRY"
echo 0 >"$home/env/E2E_AUTHFAIL_DELAY"
echo "bob.i2p $(cat "$KEYS/ed25519-1.b32")" >"$home/routes"
$PY "$TOP/tests/samaccept/fakesam.py" "$T_TMP/sam.port" "$KEYS" 2>>"$T_TMP/fakesam.log" &
bg_pid $!
until_ok 100 test -s "$T_TMP/sam.port"
FPORT=$(cat "$T_TMP/sam.port")
echo "127.0.0.1:$FPORT" >"$home/env/E2E_SAM"
e2e-setup "$home" alice.i2p >/dev/null 2>&1
tree_up "$home"
until_ok 200 all_ready "$home" smtpd pop3d samaccept runner
ok $? "the tree is up and ready"
svuser() { ps -o user:20= -p "$(s6-svstat -o pid "$home/service/$1")" | tr -d ' '; }
if [ -n "$SUID" ]; then
  is "$(svuser smtpd) $(svuser samaccept) $(svuser runner) $(svuser pop3d)" "e2e-smtpd e2e-sam e2e-queue e2e-mail" \
    "running as: smtpd e2e-smtpd, samaccept e2e-sam, runner e2e-queue, pop3d e2e-mail"
fi

# e2e-samaccept: the key only in memory, and that memory closed to its account
SA=$(s6-svstat -o pid "$home/service/samaccept")
is "$(for f in /proc/$SA/fd/*; do readlink "$f"; done | grep -c "$home/key")" 0 "e2e-samaccept holds no descriptor of the key file"
is "$(stat -c %U "/proc/$SA/environ")" root "e2e-samaccept is not dumpable (its /proc files are root's)"
s6-setuidgid "$(svuser samaccept)" cat "/proc/$SA/environ" >/dev/null 2>&1
ok "$([ $? != 0 ]; echo $?)" "... so its own account cannot read its memory or environment"
h=$(ctl hold ed25519-1)
like "$h" '^open' "a peer's stream held open"
kid=$(pgrep -P "$SA" -n)
is "$(ps -o user:20=,comm= -p "$kid" | tr -s ' ')" "$(svuser samaccept) e2e-smtpd" "the SAM-side e2e-smtpd runs as samaccept's account"
is "$(for f in /proc/$kid/fd/*; do readlink "$f"; done | grep -c "key")" 0 "... with no descriptor of the key"
s6-setuidgid "$(svuser samaccept)" cat "$home/key" >/dev/null 2>&1
ok "$([ $? != 0 ]; echo $?)" "... and its account cannot read the key file"
ctl release "${h#open }" >/dev/null

# mail through the tree: submission with AUTH (a wrong password first)
out=$($PY - "$smtp" "$PW_ALICE" "$WRONG" "$BODY" <<'PY' 2>&1
import smtplib, sys
port, pw, wrong, body = sys.argv[1:5]
s = smtplib.SMTP("127.0.0.1", int(port), timeout=30)
try:
    s.login("alice", wrong); print("wrong accepted")
except smtplib.SMTPAuthenticationError:
    pass
s.login("alice", pw)
s.sendmail("alice@alice.i2p", ["bob@alice.i2p", "carol@bob.i2p"],
           "From: alice@alice.i2p\r\nSubject: privsep\r\n\r\n%s\r\n" % body)
s.quit()
print("sent")
PY
)
is "$out" sent "submission with AUTH (after a refused wrong password)"
until_ok 150 grep -q 'rcpt=bob@alice\.i2p result=ok' "$home/log/runner/current"
ok $? "the runner delivered to bob"
MF=$(grep -l "$BODY" "$home"/mail/bob/new/* "$home"/mail/bob/cur/* 2>/dev/null | tail -1)
is "$(stat -c '%U %a' "$MF" 2>/dev/null)" "e2e-mail 600" "... as e2e-mail (libexec/e2e-local)"
until_ok 150 grep -q 'rcpt=carol@bob\.i2p result=defer' "$home/log/runner/current"
like "$(grep 'rcpt=carol@bob\.i2p' "$home/log/runner/current")" 'result=defer reason="cannot reach' \
  "carol@bob.i2p: e2e-remote ran (libexec/e2e-remote) and could not reach the stand-in bridge's peer"
# a peer over "I2P" (null sender: no verification needed)
smtp_sam=$(printf 'EHLO peer.i2p\r\nMAIL FROM:<>\r\nRCPT TO:<bob@alice.i2p>\r\nDATA\r\nSubject: peer\r\n\r\n%s peer\r\n.\r\nQUIT\r\n' "$BODY")
r=$(ctl peer ed25519-1 "$(hex "$smtp_sam")")
like "$(unhex "${r#got }")" '250 2\.0\.0 ok' "a peer's message: the SAM-side smtpd (names from recipients) queues it"
until_ok 150 sh -c 'grep -l "$1 peer" "$2"/new/* >/dev/null 2>&1' sh "$BODY" "$home/mail/bob"
ok $? "... and it is delivered"
out=$($PY -c 'import poplib,sys
p=poplib.POP3("127.0.0.1",int(sys.argv[1]),timeout=10); p.user("bob"); p.pass_(sys.argv[2])
n=p.stat()[0]; body=b"\n".join(p.retr(n)[1]); p.quit(); print(n, sys.argv[3].encode() in body)' "$pop3" "$PW_BOB" "$BODY" 2>&1)
like "$out" ' True$' "bob fetches them with POP3"

# ---------------------------------------------------------------- secrets in logs
stop_tree "$home" "$SV"
ok $? "the tree stopped"
KEYTEXT=$(tr -d '\n' <"$home/key")
leaks=
for f in "$home"/log/*/* "$T_TMP"/*.err "$T_TMP"/*.log "$T_TMP/setup.out"; do
  [ -f "$f" ] || continue
  for s in "$PW_ALICE" "$PW_BOB" "$WRONG" "$BODY" "${KEYTEXT: -40}" "${KEYTEXT: -120:40}"; do
    grep -qF -- "$s" "$f" && leaks="$leaks ${f#$T_TMP/}"
  done
done
nlog=$(cat "$home"/log/*/* 2>/dev/null | wc -l)
ok "$([ "$nlog" -gt 20 ]; echo $?)" "the logs are not empty ($nlog lines)"
is "$leaks" "" "no password (right or wrong), no piece of the key, no body text in any log or stderr"

done_testing
