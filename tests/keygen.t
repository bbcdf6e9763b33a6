#!/bin/bash
# e2e-keygen: against fake SAM bridges (tcpserver and a shell script, with
# the known-answer test keys) and against a real, throwaway i2pd whose SAM
# bridge listens on loopback (netid 99, no reseed, no peers, nothing else
# on). Every process started here is stopped by its PID at exit.
. "$(dirname "$0")/lib.sh"

KEYS=$TESTDATA/i2p-keys
[ -f "$KEYS/INDEX" ] || KEYS=$TOP/tests/i2p/keys
[ -x "$TOP/bin/e2e-keygen" ] || { echo "Bail out! bin/e2e-keygen not built (make)"; exit 1; }

b64dec() { tr -- '-~' '+/' | base64 -d; }
b32of() { sha256sum | cut -c1-64 | perl -ne 'chomp; print pack("H*", $_)' | base32 | tr -d '=\n' | tr 'A-Z' 'a-z'; echo .b32.i2p; }
mode() { stat -c %a "$1"; }

# A TCP port p on 127.0.0.1 with p-1 (i2pd's SAM UDP port) and p+1 free too.
pick_port() {
	local p used
	used=$(ss -Htuan 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }')
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		printf '%s\n' "$used" | grep -qxE "$((p - 1))|$p|$((p + 1))" || { echo "$p"; return 0; }
	done
	return 1
}

# wait_listen PORT: until something listens on 127.0.0.1:PORT (10 s at most).
wait_listen() {
	for _ in $(seq 1 100); do
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# ---- settings and misuse, no bridge needed ----

H=$T_TMP/h0
mkdir "$H"
DEAD=127.0.0.1:$(pick_port)   # nothing listens there

out=$(env -u E2E_HOME e2e-keygen 2>&1); rc=$?
is "$rc" 100 "no E2E_HOME: exit 100"
like "$out" '^e2e-keygen: fatal: .*E2E_HOME' "no E2E_HOME: names the variable"

out=$(E2E_HOME=$H e2e-keygen extra 2>&1); rc=$?
is "$rc" 100 "an argument: exit 100"
like "$out" '^e2e-keygen: usage: ' "an argument: usage"

out=$(E2E_HOME=$T_TMP/missing E2E_SAM=$DEAD e2e-keygen 2>&1); rc=$?
is "$rc" 111 "missing mail home: exit 111"
like "$out" "^e2e-keygen: fatal: unable to open $T_TMP/missing: No such file or directory" "missing mail home: skalibs-style message"

out=$(E2E_HOME=$H E2E_SAM=localhost:7656 e2e-keygen 2>&1); rc=$?
is "$rc" 100 "E2E_SAM with a host name: exit 100"
like "$out" 'invalid \$E2E_SAM' "E2E_SAM with a host name: says so"

out=$(E2E_HOME=$H E2E_SAM=$DEAD e2e-keygen 2>&1); rc=$?
is "$rc" 111 "no bridge: exit 111"
like "$out" '^e2e-keygen: fatal: unable to get a new destination from SAM: unable to connect to SAM at .*Connection refused' "no bridge: says why"
is "$(ls -A "$H")" "" "no bridge: nothing written"

echo precious > "$H/key"
out=$(E2E_HOME=$H E2E_SAM=$DEAD e2e-keygen 2>&1); rc=$?
is "$rc" 100 "existing key: exit 100 before asking SAM"
like "$out" "refusing to replace the mail server's key: $H/key exists" "existing key: says so"
is "$(cat "$H/key")" precious "existing key: untouched"
rm -f "$H/key"

# ---- fake bridges: tcpserver runs a script on each connection ----

FAKE=$T_TMP/fake.sh
cat >"$FAKE" <<'EOF'
#!/bin/sh
# A fake SAM bridge; $T_TMP/fakemode says how to answer.
mode=$(cat "$FAKEDIR/fakemode")
k=$FAKEKEYS
read -r hello || exit 0
[ "$hello" = "HELLO VERSION MIN=3.1 MAX=3.3" ] || { echo "BAD HELLO"; exit 0; }
case $mode in
  noversion) echo "HELLO REPLY RESULT=NOVERSION"; exit 0 ;;
  garbage) echo "HELLO REPLY RESULT=OK VERSION=3.1"; read -r c; echo "garbage garbage"; exit 0 ;;
  wrong) echo "HELLO REPLY RESULT=OK VERSION=3.1"; read -r c; echo "STREAM STATUS RESULT=OK"; exit 0 ;;
  close) echo "HELLO REPLY RESULT=OK VERSION=3.1"; read -r c; exit 0 ;;
esac
echo "HELLO REPLY RESULT=OK VERSION=3.1"
read -r cmd
echo "$cmd" > "$FAKEDIR/lastcmd"
case $mode in
  ed25519) echo "DEST REPLY PUB=$(cat "$k/ed25519-1.pub") PRIV=$(cat "$k/ed25519-1.priv")" ;;
  dsa) echo "DEST REPLY PUB=$(cat "$k/dsa-default.pub") PRIV=$(cat "$k/dsa-default.priv")" ;;
  ecdsa) echo "DEST REPLY PUB=$(cat "$k/ecdsa-p256.pub") PRIV=$(cat "$k/ecdsa-p256.priv")" ;;
  mismatch) echo "DEST REPLY PUB=$(cat "$k/ed25519-2.pub") PRIV=$(cat "$k/ed25519-1.priv")" ;;
  pubonly) echo "DEST REPLY PUB=$(cat "$k/ed25519-1.pub") PRIV=$(cat "$k/ed25519-1.pub")" ;;
  error) echo 'DEST REPLY RESULT=I2P_ERROR MESSAGE="out of entropy"' ;;
esac
EOF
chmod 755 "$FAKE"
FPORT=$(pick_port)
FAKEDIR=$T_TMP FAKEKEYS=$KEYS tcpserver -q -R -H -l 0 127.0.0.1 "$FPORT" "$FAKE" </dev/null >/dev/null 2>&1 &
bg_pid $!
wait_listen "$FPORT"
ok $? "fake bridge listening on 127.0.0.1:$FPORT"

# fake MODE: a fresh home, one run; sets out, rc, H
fake() {
	echo "$1" >"$T_TMP/fakemode"
	H=$T_TMP/home-$1
	mkdir -p "$H"
	out=$(cd "$H" && E2E_HOME=$H E2E_SAM=127.0.0.1:$FPORT E2E_DOMAIN=cryptogal.i2p e2e-keygen 2>"$T_TMP/err"); rc=$?
	err=$(cat "$T_TMP/err")
}

fake ed25519
is "$rc" 0 "known key: exit 0"
is "$(cat "$T_TMP/lastcmd")" "DEST GENERATE SIGNATURE_TYPE=7" "asks for SIGNATURE_TYPE=7"
is "$out" "$(cat "$KEYS/ed25519-1.b32")" "known key: prints its b32 address"
cmp -s "$H/key" "$KEYS/ed25519-1.priv"; ok $? "known key: key is the blob as SAM sent it, and a newline"
is "$(mode "$H/key")" 600 "known key: key is mode 0600"
cmp -s "$H/i2pmail.key" "$KEYS/ed25519-1.pub"; ok $? "known key: i2pmail.key is the public destination and a newline"
is "$(cat "$H/b32")" "$(cat "$KEYS/ed25519-1.b32")" "known key: b32 file"
is "$(ls -A "$H" | tr '\n' ' ')" "b32 i2pmail.key key " "known key: no temporary files left"
like "$err" '^e2e-keygen: info: publish .*/i2pmail.key at http://cryptogal.i2p/.well-known/i2pmail.key$' "known key: says where to publish"

rm "$H/i2pmail.key" "$H/b32"
out=$(E2E_HOME=$H e2e-keygen -p 2>/dev/null); rc=$?
is "$rc" 0 "-p: exit 0"
cmp -s "$H/i2pmail.key" "$KEYS/ed25519-1.pub"; ok $? "-p: i2pmail.key written again from the key"
is "$(cat "$H/b32")" "$(cat "$KEYS/ed25519-1.b32")" "-p: b32 written again"
cmp -s "$H/key" "$KEYS/ed25519-1.priv"; ok $? "-p: key untouched"

fake dsa
is "$rc" 111 "DSA key from SAM: exit 111"
like "$err" 'signature type 0, not Ed25519 \(7\)' "DSA key from SAM: says so"
is "$(ls -A "$H")" "" "DSA key from SAM: nothing written"

fake ecdsa
is "$rc" 111 "ECDSA key from SAM: exit 111"
like "$err" 'signature type 1, not Ed25519' "ECDSA key from SAM: says so"
is "$(ls -A "$H")" "" "ECDSA key from SAM: nothing written"

fake mismatch
is "$rc" 111 "PUB not PRIV's destination: exit 111"
like "$err" "PUB is not PRIV's destination" "PUB not PRIV's destination: says so"
is "$(ls -A "$H")" "" "PUB not PRIV's destination: nothing written"

fake pubonly
is "$rc" 111 "PRIV holding a destination: exit 111"
is "$(ls -A "$H")" "" "PRIV holding a destination: nothing written"

fake error
is "$rc" 111 "I2P_ERROR: exit 111"
like "$err" 'I2P_ERROR.*out of entropy' "I2P_ERROR: passes the MESSAGE on"

fake noversion
is "$rc" 111 "NOVERSION: exit 111"
like "$err" 'NOVERSION' "NOVERSION: says so"

fake garbage
is "$rc" 111 "garbage reply: exit 111"
like "$err" 'malformed reply from SAM' "garbage reply: says so"

fake wrong
is "$rc" 111 "reply to another command: exit 111"
like "$err" 'unexpected reply from SAM' "reply to another command: says so"

fake close
is "$rc" 111 "bridge closes: exit 111"
like "$err" 'connection closed' "bridge closes: says so"
is "$(ls -A "$H")" "" "bridge closes: nothing written"

# ---- a real i2pd ----

if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then
	diag "real-router tests skipped (E2E_TEST_NOI2P=1)"
	done_testing; exit
fi
R=$T_TMP/i2pd
mkdir -p "$R/tunnels.d"
SPORT=$(pick_port)
NPORT=$((SPORT + 1))
cat >"$R/i2pd.conf" <<EOF
log = file
logfile = $R/i2pd.log
loglevel = warn
daemon = false
service = false
ipv4 = true
ipv6 = false
host = 127.0.0.1
nat = false
netid = 99
reservedrange = false
floodfill = false

[ntcp2]
enabled = true
published = false
port = $NPORT

[ssu2]
enabled = false
published = false

[sam]
enabled = true
address = 127.0.0.1
port = $SPORT

[http]
enabled = false
[httpproxy]
enabled = false
[socksproxy]
enabled = false
[bob]
enabled = false
[i2cp]
enabled = false
[i2pcontrol]
enabled = false
[upnp]
enabled = false
[nettime]
enabled = false
[meshnets]
yggdrasil = false

[reseed]
verify = false
threshold = 0
urls =
yggurls =

[addressbook]
enabled = false
defaulturl =
subscriptions =

[persist]
profiles = false
addressbook = false
EOF
: >"$R/tunnels.conf"
i2pd --conf="$R/i2pd.conf" --tunconf="$R/tunnels.conf" --tunnelsdir="$R/tunnels.d" \
	--datadir="$R" --pidfile="$R/i2pd.pid" --certsdir=/usr/share/i2pd/certificates \
	</dev/null >"$R/stdout.log" 2>&1 &
bg_pid $!
wait_listen "$SPORT"
ok $? "i2pd's SAM bridge listening on 127.0.0.1:$SPORT"

H=$T_TMP/real
mkdir "$H"
out=$(umask 0; E2E_HOME=$H E2E_SAM=127.0.0.1:$SPORT e2e-keygen 2>"$T_TMP/err"); rc=$?
is "$rc" 0 "i2pd: exit 0"
[ "$rc" = 0 ] || diag "$(cat "$T_TMP/err")"
like "$out" '^[a-z2-7]{52}\.b32\.i2p$' "i2pd: prints a b32 address"
is "$(mode "$H/key")" 600 "i2pd: key is mode 0600 even with umask 0"
is "$(head -c -1 "$H/key" | tr -d 'A-Za-z0-9~=-' | wc -c)" 0 "i2pd: key is I2P base64 text"
is "$(wc -c <"$H/key")" 909 "i2pd: key is 908 characters and a newline"
is "$(b64dec <"$H/key" | wc -c)" 679 "i2pd: key is a 679-byte blob"
is "$(b64dec <"$H/key" | od -An -tx1 -j384 -N7 | tr -d ' \n')" 05000400070000 "i2pd: key certificate: Ed25519, ElGamal"
is "$(wc -c <"$H/i2pmail.key")" 525 "i2pd: i2pmail.key is 524 characters and a newline"
is "$(b64dec <"$H/i2pmail.key" | od -An -tx1)" "$(b64dec <"$H/key" | head -c 391 | od -An -tx1)" "i2pd: i2pmail.key is the key's destination"
is "$(b64dec <"$H/i2pmail.key" | b32of)" "$out" "i2pd: b32 is SHA-256 of the destination, computed independently"
is "$(cat "$H/b32")" "$out" "i2pd: b32 file"
is "$(ls -A "$H" | tr '\n' ' ')" "b32 i2pmail.key key " "i2pd: no temporary files left"
like "$(cat "$T_TMP/err")" 'http://YOUR-SITE.i2p/.well-known/i2pmail.key' "i2pd: says where to publish without E2E_DOMAIN"

cp "$H/key" "$T_TMP/key.before"
out2=$(E2E_HOME=$H E2E_SAM=127.0.0.1:$SPORT e2e-keygen 2>&1); rc=$?
is "$rc" 100 "i2pd: second run exits 100"
like "$out2" "refusing to replace the mail server's key" "i2pd: second run refuses"
cmp -s "$H/key" "$T_TMP/key.before"; ok $? "i2pd: key unchanged"

H2=$T_TMP/real2
mkdir "$H2"
out3=$(E2E_HOME=$H2 E2E_SAM=127.0.0.1:$SPORT e2e-keygen 2>/dev/null); rc=$?
ok $([ "$rc" = 0 ] && [ "$out3" != "$out" ]; echo $?) "i2pd: another home gets another key"

done_testing
