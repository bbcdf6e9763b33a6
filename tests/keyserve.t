#!/bin/bash
# e2e-keyserve: the mail destination answers GET /.well-known/i2pmail.key
# itself. First under tcpserver on loopback (and once on a socketpair, as
# e2e-samaccept hands a stream over): the key, 404/405/400, requests that
# never end, SMTP clients that wait for the greeting, early bytes that
# reach PROG intact. Then on the private I2P network (tests/i2pnet.sh): two
# mail servers without any website, alice.i2p and bobmail.i2p registered
# in hosts.txt straight to their mail destinations: keys fetched from the
# mail destinations, mail sent to the names and to bare b32 addresses,
# and verified at the receiver. E2E_TEST_NOI2P=1 skips the network.
. "$(dirname "$0")/lib.sh"

[ -x "$TOP/bin/e2e-keyserve" ] || { echo "Bail out! bin/e2e-keyserve not built (make)"; exit 1; }
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
CLIENT="$PY $TOP/tests/keyserve/client.py"
KEYS=$TOP/tests/i2p/keys
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

H=$T_TMP/home
mkhome "$H" keys.i2p "u:a good password" || { echo "Bail out! e2e-setup failed"; exit 1; }
(umask 077; cp "$KEYS/ed25519-1.priv" "$H/key")
E2E_HOME=$H e2e-keygen -p >/dev/null 2>&1
[ -s "$H/i2pmail.key" ] || { echo "Bail out! no i2pmail.key"; exit 1; }

# serve VAR=VALUE... -- PROG...: tcpserver on a free port running
# e2e-keyserve PROG with the home's env and the settings given; PORT set.
serve() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	PORT=$(free_port)
	s6-envdir "$H/env" env "${envs[@]}" tcpserver -R -H -l0 127.0.0.1 "$PORT" e2e-keyserve "$@" 2>>"$T_TMP/serve.log" &
	SERVER=$!
	bg_pid $SERVER
	# the probe's own PROG (it sees the end at once) is done before a test starts
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && sleep 0.3 && return 0; sleep 0.05; done
	return 1
}
unserve() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
get() { $CLIENT send "$PORT" "$@" | tr -d '\r'; }
# body TEXT: what follows the empty line
body() { printf '%s' "$1" | sed '1,/^$/d'; }

# ---- misuse ----
OUT=$(e2e-keyserve 2>&1); RC=$?
is "$RC" 100 "no PROG: exit 100"
like "$OUT" 'usage: e2e-keyserve' "no PROG: usage"
OUT=$(env -u E2E_HOME e2e-keyserve true 2>&1); RC=$?
is "$RC" 100 "no E2E_HOME: exit 100"
like "$OUT" 'E2E_HOME' "no E2E_HOME: names the variable"
OUT=$(E2E_HOME=$H E2E_KEYSERVE=soon e2e-keyserve true 2>&1); RC=$?
is "$RC" 100 "malformed E2E_KEYSERVE: exit 100"
like "$OUT" 'E2E_KEYSERVE' "malformed E2E_KEYSERVE: names the variable"
OUT=$(printf 'GET /.well-known/i2pmail.key HTTP/1.0\r\n\r\n' | E2E_HOME=$H e2e-keyserve od -c 2>&1); RC=$?
is "$RC:$(printf '%s' "$OUT" | head -1)" "0:0000000   G   E   T       /   .   w   e   l   l   -   k   n   o   w   n" \
	"fd 0 a pipe (nothing to peek at): PROG runs with its input untouched"

# ---- HTTP ----
serve E2E_KEYSERVE=2000 -- sh -c 'echo PROG-RAN'
ok $? "tcpserver e2e-keyserve on 127.0.0.1:$PORT"
t=$(now_ms)
R=$(get 'GET /.well-known/i2pmail.key HTTP/1.1\r\nHost: keys.i2p\r\nUser-Agent: test\r\n\r\n')
ms=$(($(now_ms) - t))
like "$R" '^HTTP/1\.1 200 OK' "GET the key, HTTP/1.1: 200"
is "$(body "$R")" "$(cat "$H/i2pmail.key")" "... the body is HOME/i2pmail.key, byte for byte"
like "$R" "Content-Length: $(wc -c <"$H/i2pmail.key")
" "... Content-Length is the file's size"
like "$R" 'Content-Type: text/plain' "... Content-Type text/plain"
like "$R" 'Cache-Control: max-age=86400' "... Cache-Control max-age=86400 (the default)"
like "$R" 'Connection: close' "... Connection: close"
[ "$ms" -lt 1500 ]; ok $? "... answered at once, not after the wait (${ms} ms; the wait is 2000)"
like "$(cat "$T_TMP/serve.log")" 'e2e-keyserve: http peer=- method=GET path=/\.well-known/i2pmail\.key status=200 first_ms=[0-9]+ ms=[0-9]+' \
	"... logged as one key=value line"
R=$(get 'GET /.well-known/i2pmail.key HTTP/1.0\r\n\r\n')
like "$R" '^HTTP/1\.1 200 OK' "GET the key, HTTP/1.0 without Host: 200"
is "$(body "$R")" "$(cat "$H/i2pmail.key")" "... the key"
R=$(get 'GET /.well-known/i2pmail.key HTTP/1.1\nHost: x\n\n')
like "$R" '^HTTP/1\.1 200 OK' "a request with bare LF line ends: 200"
R=$(get 'GE' 0.3 'T /.well-known/i2pmail.key HTTP/1.1\r\n' 0.3 'Host: x\r\n\r\n')
like "$R" '^HTTP/1\.1 200 OK' "a request in three pieces, the method split: 200"
R=$(get 'HEAD /.well-known/i2pmail.key HTTP/1.1\r\nHost: x\r\n\r\n')
like "$R" '^HTTP/1\.1 200 OK' "HEAD: 200"
like "$R" "Content-Length: $(wc -c <"$H/i2pmail.key")" "... with the key's Content-Length"
is "$(body "$R")" "" "... and no body"
if [ -x "$(command -v curl)" ]; then
	R=$(curl -sS --max-time 10 "http://127.0.0.1:$PORT/.well-known/i2pmail.key")
	is "$R" "$(cat "$H/i2pmail.key")" "curl fetches the key"
fi
for p in / /index.html /.well-known/ /.well-known/i2pmail.key/ '/.well-known/i2pmail.key?x=1' /.well-known/I2PMAIL.KEY /../i2pmail.key /i2pmail.key http://keys.i2p/x; do
	R=$(get "GET $p HTTP/1.1\r\nHost: x\r\n\r\n")
	like "$R" '^HTTP/1\.1 404 Not Found' "GET $p: 404"
done
unlike "$(body "$R")" "$(head -c 40 "$H/i2pmail.key")" "... with no key in the body"
for m in POST PUT DELETE OPTIONS; do
	R=$(get "$m /.well-known/i2pmail.key HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	like "$R" '^HTTP/1\.1 405 Method Not Allowed' "$m of the key: 405"
done
like "$R" 'Allow: GET, HEAD' "... Allow: GET, HEAD"
# REQUEST|STATUS LINE|NAME: requests refused as not HTTP/1.x or too long
for t in 'GET /.well-known/i2pmail.key\r\n\r\n|400 Bad Request|no version (HTTP/0.9)' \
	'GET /.well-known/i2pmail.key HTTP/2.0\r\n\r\n|400 Bad Request|HTTP/2.0' \
	'GET  /.well-known/i2pmail.key HTTP/1.1\r\n\r\n|400 Bad Request|two spaces' \
	'GET /.well-known/i2pmail.key HTTP/1.1\x00junk\r\n\r\n|400 Bad Request|a NUL byte in the request line' \
	"GET /$(printf 'a%.0s' $(seq 5000)) HTTP/1.1\r\n\r\n|431 |a request head over 4 KiB"; do
	IFS='|' read -r req status name <<<"$t"
	like "$(get "$req")" "^HTTP/1\.1 $status" "$name: ${status%% *}"
done
unlike "$(cat "$T_TMP/serve.log")" 'PROG-RAN' "PROG never ran for an HTTP request"
like "$(cat "$T_TMP/serve.log")" 'status=431' "... logged"

R=$($CLIENT slow "$PORT" 'GET /.well-known/i2pmail.key HTTP/1.1\r\nHost: x\r\nX-Slow: ' | tr -d '\r')
ms=$(printf '%s' "$R" | sed -n 's/^closed after \([0-9]*\) ms$/\1/p')
[ -n "$ms" ] && [ "$ms" -ge 9500 ] && [ "$ms" -lt 16000 ]
ok $? "a request head that never ends (a byte every 0.5 s): closed after the 10 s limit (${ms:-never} ms)"
like "$R" 'HTTP/1\.1 408 Request Timeout' "... with 408"

mv "$H/i2pmail.key" "$H/i2pmail.key.away"
R=$(get 'GET /.well-known/i2pmail.key HTTP/1.1\r\nHost: x\r\n\r\n')
like "$R" '^HTTP/1\.1 503 ' "no HOME/i2pmail.key: 503 (a resolver retries)"
like "$(cat "$T_TMP/serve.log")" 'status=503 reason=unable to read i2pmail.key: No such file' "... logged with the reason"
mv "$H/i2pmail.key.away" "$H/i2pmail.key"
unserve

serve E2E_KEYSERVE=200 E2E_KEYSERVE_MAXAGE=600 -- sh -c 'echo PROG-RAN'
R=$(get 'GET /.well-known/i2pmail.key HTTP/1.1\r\nHost: x\r\n\r\n')
like "$R" 'Cache-Control: max-age=600' "E2E_KEYSERVE_MAXAGE=600: max-age=600"
unserve

R=$(cd "$T_TMP" && E2E_HOME=$H $CLIENT pair e2e-keyserve true 2>>"$T_TMP/serve.log" | tr -d '\r')
like "$R" '^HTTP/1\.1 200 OK' "on a socketpair (as from e2e-samaccept): 200"
like "$R" 'exit 0$' "... and exit 0"

# ---- not HTTP: PROG gets the stream untouched ----
serve E2E_KEYSERVE=300 -- sh -c 'cat >"$0"; echo PROG-RAN' "$T_TMP/got"
for text in 'EHLO early.example\r\nMAIL FROM:<a@b.i2p>\r\n' 'HELO x\r\n' 'GETTING /x\r\n' 'get / HTTP/1.1\r\n\r\n' \
	'\x00\xff\r\n\x16\x03\x01binary' 'P'; do
	rm -f "$T_TMP/got"
	R=$(get "$text")
	is "$R:$(od -An -c "$T_TMP/got" | tr -s ' ')" "PROG-RAN:$(printf '%b' "$text" | od -An -c | tr -s ' ')" \
		"early bytes '$text' reach PROG intact"
done
rm -f "$T_TMP/got"
R=$(get 'PO' 0.1 'STMAN says hello\r\n')
is "$R:$(tr -d '\r\n' <"$T_TMP/got")" "PROG-RAN:POSTMAN says hello" "'PO', a pause, 'STMAN ...' (a method's start, then not): PROG, intact"
rm -f "$T_TMP/got"
R=$(get '' 0.5 'QUIT\r\n')
is "$R:$(tr -d '\r\n' <"$T_TMP/got")" "PROG-RAN:QUIT" "a client quiet past the wait, then bytes: PROG gets them"
rm -f "$T_TMP/got"
R=$(get '' 0.6 'GET /.well-known/i2pmail.key HTTP/1.1\r\n\r\n')
is "$R:$(tr -d '\r\n' <"$T_TMP/got")" "PROG-RAN:GET /.well-known/i2pmail.key HTTP/1.1" \
	"an HTTP request after the wait (600 ms, the wait 300) goes to PROG"
unserve

# An SMTP client waits for the greeting: e2e-smtpd's 220, after the wait.
serve E2E_KEYSERVE=400 -- e2e-smtpd
R=$($CLIENT smtp "$PORT")
ms=$(printf '%s' "$R" | sed -n 's/^greeting after \([0-9]*\) ms.*/\1/p')
like "$R" '^greeting after [0-9]+ ms: 220 ' "an SMTP client that waits: e2e-smtpd's 220"
[ -n "$ms" ] && [ "$ms" -ge 390 ] && [ "$ms" -lt 3000 ]
ok $? "... after the wait (${ms:-?} ms, E2E_KEYSERVE=400)"
like "$R" '
250[- ]' "... EHLO answered 250"
like "$R" '
221 ' "... QUIT answered 221"
unserve

# ---- the private I2P network: mail servers without a website ----
if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then done_testing; exit; fi
NET=$T_TMP/net
SAMACCEPTS=
net_stop() {
	for p in $SAMACCEPTS; do kill "$p" 2>/dev/null; done
	for p in $SAMACCEPTS; do for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
	"$TOP/tests/i2pnet.sh" stop "$NET" 2>/dev/null
}
trap 'net_stop; t_cleanup' EXIT
mkdir -p "$NET"
ALICE_B32=$(cat "$KEYS/ed25519-1.b32") BOB_B32=$(cat "$KEYS/ed25519-2.b32")
# hosts.txt names straight to the mail destinations: no eepsite at all
"$TOP/tests/i2pnet.sh" host "$NET" alice.i2p ed25519-1 &&
	"$TOP/tests/i2pnet.sh" host "$NET" bobmail.i2p ed25519-2
t0=$(now_ms)
E2E_TEST_WATCHPID=$$ "$TOP/tests/i2pnet.sh" launch "$NET" 2>"$T_TMP/net.log"
ok $? "private I2P network launched, alice.i2p and bobmail.i2p in hosts.txt, no eepsite" || {
	sed 's/^/# /' "$T_TMP/net.log"; done_testing; exit
}
. "$NET/env"

# home NAME DOMAIN KEY SAM: a mail home with a fixed key, E2E_KEYSERVE on,
# its samaccept service started from the run/samaccept template as
# e2e-setup installed it (the key on fd 4, the service account, fd 3 for
# readiness), logging to T_TMP/NAME.log.
home() {
	local h=$T_TMP/$1
	mkhome "$h" "$2" "$1:a good password" || return 1
	(umask 077; cp "$KEYS/$3.priv" "$h/key") && E2E_HOME=$h e2e-keygen -p >/dev/null 2>&1 &&
		e2e-setup "$h" "$2" >/dev/null 2>&1 || return 1
	set_env "$h" E2E_SAM "$4"; set_env "$h" E2E_SAM_ID "$1"; set_env "$h" E2E_SAM_OPTIONS "$SAM_OPTIONS"
	set_env "$h" E2E_KEYSERVE 1000
	set_env "$h" E2E_RESOLVE_TIMEOUT 30; set_env "$h" E2E_REMOTE_GREETING 30; set_env "$h" E2E_REMOTE_CONNECT 60
	(cd "$h/service/samaccept" && exec ./run 3>"$T_TMP/$1.ready" >"$T_TMP/$1.log" 2>&1) &
	SAMACCEPTS="$SAMACCEPTS $!"
}
set_env() { printf '%s\n' "$3" >"$1/env/$2"; }
home alice alice.i2p ed25519-1 "$SAM_A" && home bob bobmail.i2p ed25519-2 "$SAM_B"
ok $? "mail homes alice.i2p (router A) and bobmail.i2p (router B) with E2E_KEYSERVE=1000; samaccept from its template"
A=$T_TMP/alice B=$T_TMP/bob
"$TOP/tests/i2pnet.sh" wait "$NET" 2>>"$T_TMP/net.log"
ok $? "the network is ready ($(($(now_ms) - t0)) ms)" || sed 's/^/# /' "$T_TMP/net.log"
for _ in $(seq 900); do [ -s "$T_TMP/alice.ready" ] && [ -s "$T_TMP/bob.ready" ] && break; sleep 0.1; done
[ -s "$T_TMP/alice.ready" ] && [ -s "$T_TMP/bob.ready" ]
ok $? "both SAM sessions up, ACCEPTs waiting ($(($(now_ms) - t0)) ms)" || { sed 's/^/# /' "$T_TMP/alice.log" "$T_TMP/bob.log"; }
like "$(ps -o args= -p "${SAMACCEPTS##* }")" 'e2e-samaccept -d 3 -K 4 -c 10 -p 3 e2e-keyserve e2e-smtpd' \
	"the template put e2e-keyserve in front of e2e-smtpd"

# keyserved NAME PEER PATH STATUS: lines of NAME's log for such a request
keyserved() { grep -c "e2e-keyserve: http peer=$2 method=GET path=$3 status=$4 " "$T_TMP/$1.log"; }
as() { local h=$T_TMP/$1; shift; s6-envdir "$h/env" "$@"; }

t=$(now_ms)
OUT=$(as alice e2e-resolve bobmail.i2p 2>"$T_TMP/err")
is "$OUT" "$(cat "$KEYS/ed25519-2.pub")" "(a) e2e-resolve bobmail.i2p from router A: the mail destination, fetched from itself ($(($(now_ms) - t)) ms)" ||
	sed 's/^/# /' "$T_TMP/err"
is "$(keyserved bob "$ALICE_B32" /.well-known/i2pmail.key 200)" 1 "(a) ... bobmail.i2p's e2e-keyserve answered 200 to alice's destination"
diag "$(grep 'e2e-keyserve: http' "$T_TMP/bob.log" | tail -1)"
"$PY" "$TOP/tests/i2p/samtool.py" --timeout 30 get "$SAM_A" alice bobmail.i2p /index.html >/dev/null 2>&1
is "$?:$(keyserved bob "$ALICE_B32" /index.html 404)" "1:1" "(a) GET /index.html of the mail destination: 404"

msg() { printf 'From: %s\nTo: %s\nSubject: %s\n\nno website needed\n' "$1" "$2" "$3"; }
queued() { find "$T_TMP/$1/queue/todo" "$T_TMP/$1/queue/mess" -type f | wc -l; }

# (a) sending to the name, and the receiver verifying the sender's name:
# both keys come from the mail destinations themselves (caches emptied).
rm -f "$A/cache/bobmail.i2p" "$B/cache/alice.i2p"
t=$(now_ms)
OUT=$(msg alice@alice.i2p bob@bobmail.i2p a1 | as alice e2e-remote bobmail.i2p alice@alice.i2p bob@bobmail.i2p 2>"$T_TMP/err")
like "$OUT" '^K' "(a) alice@alice.i2p -> bob@bobmail.i2p: delivered ($(($(now_ms) - t)) ms)" || sed 's/^/# /' "$T_TMP/err" "$T_TMP/bob.log"
is "$(keyserved bob "$ALICE_B32" /.well-known/i2pmail.key 200)" 2 "(a) ... the sender fetched bobmail.i2p's key from the mail destination"
like "$(cat "$T_TMP/bob.log")" "e2e-verify: from=alice@alice\.i2p peer=$ALICE_B32 result=pass" "(a) ... e2e-verify at bobmail.i2p: pass"
is "$(keyserved alice "$BOB_B32" /.well-known/i2pmail.key 200)" 1 "(a) ... having fetched alice.i2p's key from alice's mail destination"
like "$(cat "$T_TMP/bob.log")" 'e2e-smtpd: .*' "(a) ... e2e-smtpd served the SMTP stream behind e2e-keyserve"
is "$(queued bob)" 1 "(a) ... queued at bobmail.i2p"

rm -f "$A/cache/bobmail.i2p"
t=$(now_ms)
OUT=$(msg bob@bobmail.i2p alice@alice.i2p a2 | as bob e2e-remote alice.i2p bob@bobmail.i2p alice@alice.i2p 2>"$T_TMP/err")
like "$OUT" '^K' "(a) bob@bobmail.i2p -> alice@alice.i2p: delivered ($(($(now_ms) - t)) ms)" || sed 's/^/# /' "$T_TMP/err" "$T_TMP/alice.log"
like "$(cat "$T_TMP/alice.log")" "e2e-verify: from=bob@bobmail\.i2p peer=$BOB_B32 result=pass" \
	"(a) ... mail from bobmail.i2p verified at alice.i2p"
is "$(keyserved bob "$ALICE_B32" /.well-known/i2pmail.key 200)" 3 "(a) ... by a fetch from bobmail.i2p's mail destination"
is "$(queued alice)" 1 "(a) ... queued at alice.i2p"

# (b) bare b32 addresses: no name, no fetch
n=$(keyserved alice "$BOB_B32" /.well-known/i2pmail.key 200)
OUT=$(msg "bob@$BOB_B32" "alice@$ALICE_B32" b1 |
	as bob e2e-remote "$ALICE_B32" "bob@$BOB_B32" "alice@$ALICE_B32" 2>"$T_TMP/err")
like "$OUT" '^K' "(b) bob@<b32>.b32.i2p -> alice@<b32>.b32.i2p: delivered" || sed 's/^/# /' "$T_TMP/err" "$T_TMP/alice.log"
like "$(cat "$T_TMP/alice.log")" "e2e-verify: from=bob@$BOB_B32 peer=$BOB_B32 result=pass" "(b) ... verified at the receiver"
is "$(keyserved alice "$BOB_B32" /.well-known/i2pmail.key 200)" "$n" "(b) ... without any key fetch"
OUT=$(msg "alice@$ALICE_B32" "bob@$BOB_B32" b2 |
	as alice e2e-remote "$BOB_B32" "alice@$ALICE_B32" "bob@$BOB_B32" 2>"$T_TMP/err")
like "$OUT" '^K' "(b) alice@<b32>.b32.i2p -> bob@<b32>.b32.i2p: delivered" || sed 's/^/# /' "$T_TMP/err" "$T_TMP/bob.log"
like "$(cat "$T_TMP/bob.log")" "e2e-verify: from=alice@$ALICE_B32 peer=$ALICE_B32 result=pass" "(b) ... verified at the receiver"
is "$(queued alice):$(queued bob)" "2:2" "(b) ... both queued"
diag "first bytes of HTTP requests after the accept: $(grep -o 'first_ms=[0-9]*' "$T_TMP/alice.log" "$T_TMP/bob.log" | sed 's/.*=//' | tr '\n' ' ')ms"
diag "whole test $(($(now_ms) - t0)) ms on the network"

done_testing
