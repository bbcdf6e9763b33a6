#!/bin/bash
# e2e-verify: the SAM peer (SAMREMOTEDEST, set from the test keys) against
# what the sender's domain publishes: b32 domains directly; host names
# through the real e2e-resolve, answering from routes and hand-made cache
# entries, or from the stand-in bridge (tests/resolve/fakesam.py); and
# stand-in resolvers ($E2E_RESOLVE) that crash, hang or babble.
. "$(dirname "$0")/lib.sh"

KEYS=$TOP/tests/i2p/keys
for p in e2e-verify e2e-resolve; do
	[ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p not built (make)"; exit 1; }
done
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
PUBX=$(cat "$KEYS/ed25519-x25519.pub") B32X=$(cat "$KEYS/ed25519-x25519.b32")
PUB1=$(cat "$KEYS/ed25519-1.pub") B32_1=$(cat "$KEYS/ed25519-1.b32")
PUB2=$(cat "$KEYS/ed25519-2.pub")
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

H=$T_TMP/home
C=$H/cache
mkdir -p "$C"
unset E2E_RESOLVE E2E_RESOLVE_UNKNOWN SAMREMOTEDEST SAMREMOTEB32
DEAD=127.0.0.1:$(free_port)       # no bridge there
export E2E_HOME=$H E2E_SAM=$DEAD E2E_SAM_ID=verify-test E2E_RESOLVE_TIMEOUT=3

# ver PEER-DEST ADDRESS [PEER-B32]: OUT, RC, ERR, MS
ver() {
	local t0
	t0=$(now_ms)
	OUT=$(SAMREMOTEDEST=$1 SAMREMOTEB32=${3:-} e2e-verify "$2" 2>"$T_TMP/err"); RC=$?
	MS=$(($(now_ms) - t0))
	ERR=$(cat "$T_TMP/err")
}
mkentry() {   # mkentry HOST LAST-LINE: a fresh cache entry for an hour
	local now
	now=$(date +%s)
	printf 'e2e-resolve-cache 1\nhost %s\nfetched %s\nexpires %s\n%s\n' "$1" "$now" $((now + 3600)) "$2" >"$C/$1"
}
mkentry alice.i2p "found $PUBX"
mkentry carol.i2p "found $B32_1 2525"
mkentry nokey.i2p "none http-404"
printf 'routed.i2p %s:25\ngw.example %s\n' "$B32X" "$PUB2" >"$H/routes"

# ---- misuse and malformed input ----
OUT=$(e2e-verify 2>&1); RC=$?
is "$RC" 100 "no argument: exit 100"
like "$OUT" 'usage: ' "no argument: usage"
long=$(printf 'a%.0s' $(seq 300))
for a in '' alice '@alice.i2p' 'a@b@alice.i2p' 'a@[127.0.0.1]' 'a%b@alice.i2p' 'a!b@alice.i2p' \
	'"a b"@alice.i2p' 'a@bad..i2p' 'a@-x.i2p' "$(printf 'a@alice.i2p\nb')" "$long@alice.i2p" "a@$long.i2p" \
	'a..b@alice.i2p' 'a@alice.i2p.'; do
	ver "$PUBX" "$a"
	is "$RC" 100 "malformed address '$(printf %q "${a:0:40}")': exit 100"
done
like "$ERR" 'result=fail reason=' "malformed address: logged with a reason"
ver "$PUBX" "$(printf 'x\033]0;evil\007@alice.i2p')"
is "$RC" 100 "address with control characters: exit 100"
unlike "$ERR" "$(printf '\033')" "address with control characters: not echoed raw into the log"

# ---- the peer's environment ----
OUT=$(e2e-verify alice@alice.i2p 2>&1); RC=$?
is "$RC" 111 "SAMREMOTEDEST not set: exit 111 (a setup error refuses nobody)"
like "$OUT" 'SAMREMOTEDEST is not set' "SAMREMOTEDEST not set: says so"
ver "garbage" alice@alice.i2p
is "$RC" 111 "SAMREMOTEDEST malformed: exit 111"
ver "$(cat "$KEYS/ed25519-x25519.priv")" alice@alice.i2p
is "$RC" 111 "SAMREMOTEDEST a private key: exit 111"
ver "$PUBX" alice@alice.i2p "$B32_1"
is "$RC" 111 "SAMREMOTEB32 disagrees with SAMREMOTEDEST: exit 111"
like "$ERR" 'SAMREMOTEB32 does not match' "SAMREMOTEB32 disagrees: says so"
ver "$PUBX" alice@alice.i2p "$(echo "$B32X" | tr '[:lower:]' '[:upper:]')"
is "$RC" 0 "SAMREMOTEB32 in upper case: agrees"

# ---- b32 domains: the peer must be that destination ----
ver "$PUBX" "bob@$B32X"
is "$RC" 0 "b32 domain, the peer is it: exit 0"
like "$ERR" "from=bob@$B32X peer=$B32X result=pass published=$B32X via=b32" "b32 pass: logged"
ver "$PUBX" "Bob@$(echo "$B32X" | tr '[:lower:]' '[:upper:]')"
is "$RC" 0 "b32 domain in upper case: exit 0"
ver "$PUBX" "bob@$B32_1"
is "$RC" 100 "b32 domain, another peer: exit 100"
like "$ERR" "peer=$B32X result=fail published=$B32_1" "b32 fail: both b32s logged"
ver "$PUBX" "bob@$(printf 'a%.0s' $(seq 56)).b32.i2p"
is "$RC" 100 "56-character b32 domain: exit 100"
like "$ERR" 'encrypted lease set' "56-character b32 domain: says why"

# ---- host names through e2e-resolve (cache entries, routes) ----
ver "$PUBX" alice@alice.i2p
is "$RC" 0 "published full destination, the peer: exit 0"
like "$ERR" "e2e-verify: from=alice@alice.i2p peer=$B32X result=pass published=$B32X via=resolver-dest" "pass: logged"
like "$ERR" "e2e-resolve: host=alice.i2p result=found via=cache" "the resolver's own line is in the log too"
ok $((MS < 1000 ? 0 : 1)) "from the cache: fast (${MS} ms)"
ver "$PUBX" Alice@ALICE.I2P
is "$RC" 0 "domain in upper case: exit 0"
ver "$PUB1" alice@alice.i2p
is "$RC" 100 "published full destination, another peer: exit 100"
like "$ERR" "peer=$B32_1 result=fail published=$B32X" "fail: both b32s logged"
ver "$PUB2" alice@alice.i2p
is "$RC" 100 "a third key claiming alice.i2p: exit 100"
ver "$PUB1" carol@carol.i2p
is "$RC" 0 "published b32 and port, the peer: exit 0"
like "$ERR" 'via=resolver-b32' "published b32: compared by hash"
ver "$PUBX" carol@carol.i2p
is "$RC" 100 "published b32, another peer: exit 100"
ver "$PUBX" x@nokey.i2p
is "$RC" 100 "no key published (cached 404): exit 100"
like "$ERR" 'publishes no mail destination' "no key published: says so"
ver "$PUBX" x@routed.i2p
is "$RC" 0 "a routes entry (b32:port) pins the domain: exit 0"
ver "$PUB1" x@routed.i2p
is "$RC" 100 "a routes entry, another peer: exit 100"
ver "$PUB2" user@gw.example
is "$RC" 0 "a routes entry for a non-I2P domain (a gateway): exit 0"
ver "$PUB2" user@other.example
is "$RC" 100 "a non-I2P domain without a route: exit 100"
ver "$PUBX" alice@nocache.i2p
is "$RC" 111 "no cache and no bridge: exit 111"
like "$ERR" 'result=temp reason=the resolver cannot tell now' "resolver 111: logged"
mkentry stale.i2p "found $PUBX"
sed -i "s/^fetched .*/fetched $(($(date +%s) - 100))/; s/^expires .*/expires $(($(date +%s) - 10))/" "$C/stale.i2p"
ver "$PUBX" alice@stale.i2p
is "$RC" 0 "expired entry and no bridge: the stale copy verifies"

# ---- through the stand-in bridge ----
FAKE=$T_TMP/fake
mkdir -p "$FAKE"
"$PY" "$TOP/tests/resolve/fakesam.py" "$FAKE" 2>"$T_TMP/fake.log" &
bg_pid $!
for _ in $(seq 100); do [ -s "$FAKE/port" ] && break; sleep 0.05; done
E2E_SAM=127.0.0.1:$(cat "$FAKE/port")
ver "$PUBX" alice@full.i2p
is "$RC" 0 "fetched through the bridge: exit 0"
is "$(grep -cx full.i2p "$FAKE/conns")" 1 "fetched through the bridge: one connection"
ver "$PUB1" alice@full.i2p
is "$RC" 100 "fetched, another peer: exit 100 (from the cache now)"
is "$(grep -cx full.i2p "$FAKE/conns")" 1 "... without a second connection"
ver "$PUBX" alice@garbage.i2p
is "$RC" 100 "the site publishes garbage: exit 100"
ver "$PUBX" alice@error.i2p
is "$RC" 111 "the site answers 500: exit 111"
ver "$PUBX" alice@unknown.i2p
is "$RC" 111 "a name the router does not know (yet): exit 111, not a refusal"
OUT=$(E2E_RESOLVE_UNKNOWN=100 SAMREMOTEDEST=$PUBX e2e-verify alice@unknown.i2p 2>/dev/null); RC=$?
is "$RC" 100 "... unless E2E_RESOLVE_UNKNOWN=100 is set"
ver "$PUBX" alice@redirect.i2p
is "$RC" 100 "the site redirects: exit 100"

# ---- stand-in resolvers ----
S=$T_TMP/stand
mkdir -p "$S"
mk() { printf '#!/bin/sh\n%s\n' "$2" >"$S/$1"; chmod +x "$S/$1"; }
mk args 'printf "%s|%s|%s\n" "$#" "$1" "$E2E_RESOLVE_UNKNOWN" >"'"$S"'/args.out"; echo '"$PUBX"
mk crash 'kill -SEGV $$'
mk three 'exit 3'
mk t111 'echo '"$PUBX"'; exit 111'
mk t100 'exit 100'
mk babble 'echo hello world'
mk twolines 'echo '"$PUBX"'; echo '"$PUBX"
mk nonl 'printf %s '"$PUBX"
mk empty 'exit 0'
mk priv 'cat '"$KEYS"'/ed25519-x25519.priv'
mk flood 'head -c 1048576 /dev/zero | tr "\\0" A; echo'
mk hang 'exec sleep 60'
mk closer 'exec >&-; exec sleep 60'
sv() {   # sv STAND-IN [ADDRESS]: e2e-verify with E2E_RESOLVE=stand-in
	local t0
	t0=$(now_ms)
	OUT=$(E2E_RESOLVE=$S/$1 SAMREMOTEDEST=$PUBX e2e-verify "${2:-alice@alice.i2p}" 2>"$T_TMP/err"); RC=$?
	MS=$(($(now_ms) - t0))
	ERR=$(cat "$T_TMP/err")
}
sv args Alice@Example.I2P
is "$RC" 0 "stand-in answers the peer: exit 0"
is "$(cat "$S/args.out")" "1|example.i2p|111" "resolver run with the domain alone, lower case, E2E_RESOLVE_UNKNOWN=111"
sv t100; is "$RC" 100 "resolver 100: exit 100"
sv t111; is "$RC" 111 "resolver 111 (even with an answer printed): exit 111"
sv crash; is "$RC" 111 "resolver crashes: exit 111"
sv three; is "$RC" 111 "resolver exits 3: exit 111"
for s in babble twolines nonl empty priv; do
	sv $s
	is "$RC" 111 "resolver prints '$s' and exits 0: exit 111"
done
like "$ERR" "answer is malformed" "a malformed answer: says so"
sv flood
is "$RC" 111 "resolver prints 1 MB: exit 111"
ok $((MS < 2000 ? 0 : 1)) "resolver prints 1 MB: stopped at once (${MS} ms)"
like "$ERR" 'too long' "resolver prints 1 MB: says so"
OUT=$(E2E_RESOLVE=$S/nonexistent SAMREMOTEDEST=$PUBX e2e-verify alice@alice.i2p 2>&1); RC=$?
is "$RC" 111 "no resolver program: exit 111"
like "$OUT" 'unable to run' "no resolver program: says so"
# hangs: the resolver gets E2E_RESOLVE_TIMEOUT + 5 s, then it is killed
t0=$(now_ms)
(E2E_RESOLVE_TIMEOUT=1 E2E_RESOLVE=$S/hang SAMREMOTEDEST=$PUBX e2e-verify a@alice.i2p 2>/dev/null; echo $? >"$T_TMP/hang.rc") &
p1=$!
(E2E_RESOLVE_TIMEOUT=1 E2E_RESOLVE=$S/closer SAMREMOTEDEST=$PUBX e2e-verify a@alice.i2p 2>/dev/null; echo $? >"$T_TMP/closer.rc") &
p2=$!
wait $p1 $p2
ms=$(($(now_ms) - t0))
is "$(cat "$T_TMP/hang.rc"):$(cat "$T_TMP/closer.rc")" "111:111" "resolver hangs, or closes stdout and hangs: exit 111"
ok $((ms >= 5500 && ms < 9000 ? 0 : 1)) "... after E2E_RESOLVE_TIMEOUT + 5 s (${ms} ms)"
sleep 0.2
left=0
for p in $(pgrep -x sleep); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q "^E2E_RESOLVE=$S/" && left=$((left + 1))
done
is "$left" 0 "the hung resolvers were killed"

done_testing
