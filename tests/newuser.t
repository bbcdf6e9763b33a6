#!/bin/bash
# Issue 7 as a new user meets it, over the real private I2P network: Bob
# has no website, keeps his mail.i2p address beside his e2e address, and
# filters spam. His mail home is made and configured only as README.md
# and docs/ tell a user to (e2e-setup as root, e2e-passwd, files and env/
# settings, s6-svc), and runs under s6 with e2e-setup's accounts:
#   - no website: bob.i2p is registered straight to his mail destination
#     (an address-book line, no eepsite) and env/E2E_KEYSERVE makes that
#     destination answer GET /.well-known/i2pmail.key (e2e-keyserve);
#   - mail.i2p: routes "mail.i2p" and "*" through smtp.postman.i2p with
#     AUTH (HOME/auth), and the popfetch service fetching his mail.i2p
#     mailbox from pop.postman.i2p (HOME/popfetch/auth) into his Maildir;
#   - spam: SpamAssassin's spamd on loopback behind the I2P side's
#     e2e-smtpd (e2e-spamfilter as its E2E_QUEUE).
# The others: alice.i2p, an e2e site with a website (tests/flow/sites.sh);
# stand-ins for Postman's SMTP and POP3 servers (tests/postman/smtpd.py,
# tests/popfetch/pop3.py), each behind a real e2e-samaccept on router A.
# Checked: Alice -> bob@bob.i2p arrives (her server fetched Bob's key from
# his mail destination) and Bob's reply passes Alice's check; GTUBE from
# Alice is refused by Bob's server before the 250 and bounces to her; Bob
# -> joe@example.com and -> friend@mail.i2p reach Postman's SMTP with his
# login; his mail.i2p mailbox lands in his Maildir, once; with his POP3
# client Bob reads his e2e mail and his mail.i2p mail side by side.
# Every process is stopped by PID at exit. About 90 s.
. "$(dirname "$0")/lib.sh"

if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then
	echo "1..0 # SKIP the real I2P network (E2E_TEST_NOI2P=1)"
	exit 0
fi
for p in e2e-setup e2e-passwd e2e-keygen e2e-smtpd e2e-queue e2e-runner e2e-local e2e-bounce e2e-remote \
	e2e-resolve e2e-verify e2e-samaccept e2e-pop3d e2e-keyserve e2e-popfetch e2e-spamfilter; do
	[ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done
if [ "$(id -u)" != 0 ]; then
	echo "Bail out! the new user's way runs e2e-setup as root (service accounts): run as root"
	exit 1
fi

. "$TOP/tests/flow/sites.sh"
KEYS=$TOP/tests/i2p/keys
header() { sed -n '/^$/q;p' "$1"; }
eml() { grep -l -F -x -- "Subject: $2" "$1"/*.eml 2>/dev/null | head -1; }
# arrived NAME SUBJECT: a message with that subject in NAME's Maildir
arrived() { local m; m=$(flow_home_of "$1")/mail/$1; grep -l -q -F -x -- "Subject: $2" "$m"/new/* "$m"/cur/* 2>/dev/null; }

D=$T_TMP/nu
trap 'flow_stop_all; t_cleanup' EXIT
flow_init "$D" bob
ok $? "two sites declared: alice.i2p with a website, bob.i2p registered straight to his mail destination"
"$FLOW_I2PNET" host "$FLOW_NET" smtp.postman.i2p ed25519-1 && "$FLOW_I2PNET" host "$FLOW_NET" pop.postman.i2p ed25519-2
ok $? "smtp.postman.i2p and pop.postman.i2p in the address books"

# ---- Bob, as the README tells a new user ----
flow_home alice 'alice pw' && flow_home bob 'bob pw'
ok $? "e2e-setup and e2e-passwd for both (as root: the service accounts)"
flow_fixed_key bob "$(flow_site_key bob)"
ok $? "Bob's mail key (the destination his name is registered to)"
B=$(flow_home_of bob)
flow_set bob E2E_KEYSERVE 1000
printf '# Postman: mail.i2p and the clearnet\nmail.i2p smtp.postman.i2p auth\n* smtp.postman.i2p auth\n' > "$B/routes"
(umask 077; printf 'smtp.postman.i2p bob s3cret words\n' > "$B/auth")
(umask 077; printf 'pop.postman.i2p bobm p0p-pass\n' > "$B/popfetch/auth")
flow_set bob E2E_POPFETCH_USER bob && flow_set bob E2E_POPFETCH_RETRY 3 && flow_setup bob
# the accounts e2e-setup gave: e2e-remote and e2e-fetch, or the one
# account of a sanitizer build (no setuid copies)
ra=e2e-remote fa=e2e-fetch; [ -u "$B/libexec/e2e-remote" ] || ra=$(stat -c %U "$B/queue") fa=$ra
is "$(stat -c %U:%a "$B/auth")" "$ra:600" "HOME/auth (the route's login) given to $ra by e2e-setup, as docs/postman.md says"
is "$(stat -c %U:%a "$B/popfetch/auth")" "$fa:600" "HOME/popfetch/auth given to $fa by e2e-setup, as docs/popfetch.md says"

# ---- spam: SpamAssassin's spamd on loopback, as docs/spam.md says ----
. "$TOP/tests/spam/spamd.sh"
SA=$(free_port)
flow_bg spamd_run "$D/sa" "$SA" 2>"$D/spamd.log"
flow_set bob E2E_QUEUE e2e-spamfilter && flow_set bob E2E_SPAM_PORT "$SA"
ok $? "env/E2E_QUEUE=e2e-spamfilter (mail from I2P scored by spamd on 127.0.0.1:$SA)"

# ---- Postman's stand-ins, each behind a real e2e-samaccept on router A ----
PD=$D/pmsmtp PP=$D/pmpop
mkdir -p "$PD" "$PP/drop" "$D/pmk1" "$D/pmk2"
printf 'bob s3cret words\n' > "$PD/creds"
printf 'bobm p0p-pass\n' > "$PP/pass"
printf 'From: friend@mail.i2p\nTo: bobm@mail.i2p\nSubject: from mail.i2p one\n\nvia Postman one\n' > "$PP/drop/1.uid-one"
printf 'From: joe@example.com\nTo: bobm@mail.i2p\nSubject: from the clearnet\n\nvia Postman two\n' > "$PP/drop/2.uid-two"
cp "$KEYS/ed25519-1.priv" "$D/pmk1/key" && cp "$KEYS/ed25519-2.priv" "$D/pmk2/key" && chmod 600 "$D/pmk1/key" "$D/pmk2/key"

flow_launch
ok $? "routers up (SAM answers)" || { sed 's/^/# /' "$D/net.log"; done_testing; exit; }
flow_keygen alice
ok $? "Alice's mail key (e2e-keygen), published on her website"
flow_bg env E2E_HOME="$D/pmk1" E2E_SAM="$SAM_A" E2E_SAM_ID=pmsmtp E2E_SAM_OPTIONS="$SAM_OPTIONS" \
	e2e-samaccept -d 3 -t 90 "$FLOW_PY" "$TOP/tests/postman/smtpd.py" "$PD" 3>"$D/pmsmtp.ready" 2>"$D/pmsmtp.log"
flow_bg env E2E_HOME="$D/pmk2" E2E_SAM="$SAM_A" E2E_SAM_ID=pmpop E2E_SAM_OPTIONS="$SAM_OPTIONS" \
	e2e-samaccept -d 3 -t 90 "$FLOW_PY" "$TOP/tests/popfetch/pop3.py" "$PP" 3>"$D/pmpop.ready" 2>"$D/pmpop.log"
flow_up alice
flow_up bob
flow_wait_net
ok $? "the network is ready" || { sed 's/^/# /' "$D/net.log"; done_testing; exit; }
flow_ready alice 90 && flow_ready bob 90
ok $? "both mail servers up and ready under s6"
spamd_wait "$SA" 60
ok $? "spamd answers" || tail -5 "$D/spamd.log" | sed 's/^/#   /' || { flow_show alice samaccept; flow_show bob samaccept; }
flow_until 60 eval '[ -s "$D/pmsmtp.ready" ] && [ -s "$D/pmpop.ready" ]'
ok $? "Postman's stand-ins listen"
like "$(ps -o args= --ppid "$(s6-svstat -o pid "$B/service/samaccept")" 2>/dev/null; cat /proc/"$(s6-svstat -o pid "$B/service/samaccept")"/cmdline | tr '\0' ' ')" \
	'e2e-keyserve e2e-smtpd' "Bob's samaccept runs e2e-keyserve in front of e2e-smtpd (E2E_KEYSERVE)"

# ---- no website: Alice writes to bob@bob.i2p; Bob answers ----
BODY=$D/body
printf 'Hello Bob, your server has no website.\n' > "$BODY"
out=$(flow_send alice bob@bob.i2p "no website" "$BODY")
like "$out" '<- *250 2\.0\.0' "Alice submits to bob@bob.i2p"
flow_until 60 arrived bob "no website"
ok $? "... it is in Bob's Maildir" || { flow_show alice runner; flow_show alice remote 30; flow_show bob samaccept; }
like "$(cat "$B"/log/samaccept/current)" 'keyserve.*path=/\.well-known/i2pmail\.key.*status=200' \
	"... Alice's server fetched Bob's key from his mail destination itself (200 from e2e-keyserve)"
printf 'Hello Alice.\n' > "$BODY"
out=$(flow_send bob alice@alice.i2p "reply from bob" "$BODY")
like "$out" '<- *250 2\.0\.0' "Bob replies"
flow_until 60 arrived alice "reply from bob"
ok $? "... Alice has it: her server verified bob@bob.i2p against the key Bob's destination serves" || flow_show alice samaccept 30

like "$(header "$(grep -l -x "Subject: no website" "$B"/mail/bob/new/* "$B"/mail/bob/cur/* 2>/dev/null | head -1)")" \
	'^X-Spam-Status: No, score=-?[0-9.]+ required=[0-9.]+ filter=spamc' "... scored by spamd on the way in: X-Spam-Status: No"

# ---- spam from I2P: refused before the 250 ----
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
printf 'Buy now.\n%s\n' "$GTUBE" > "$BODY"
out=$(flow_send alice bob@bob.i2p "spam for bob" "$BODY")
like "$out" '<- *250 2\.0\.0' "Alice's server takes GTUBE from her own client (her side scans nothing)"
bounced() { grep -l -q -F '554 5.7.1 message refused as spam' "$(flow_home_of alice)"/mail/alice/new/* 2>/dev/null; }
flow_until 90 bounced
ok $? "Bob's server refused it before the 250 (554 5.7.1): Alice got a bounce saying so" || { flow_show alice runner; flow_show bob samaccept; }
arrived bob "spam for bob"
ok $((! $?)) "... and nothing of it is in Bob's Maildir"
like "$(cat "$B"/log/samaccept/current)" 'result=refused_spam' "... Bob's log says refused_spam"

# ---- mail.i2p and the clearnet, sending ----
printf 'To the old world.\n' > "$BODY"
out=$(flow_send bob joe@example.com "to the clearnet" "$BODY")
like "$out" '<- *250 2\.0\.0' "Bob submits to joe@example.com"
out=$(flow_send bob friend@mail.i2p "to mail.i2p" "$BODY")
like "$out" '<- *250 2\.0\.0' "... and to friend@mail.i2p"
flow_until 90 eval '[ "$(grep -c " data " "$PD/log" 2>/dev/null)" -ge 2 ]'
ok $? "Postman's SMTP stand-in got both" || { flow_show bob runner 30; cat "$PD/log" | sed 's/^/#   /'; }
like "$(cat "$PD/log")" 'auth PLAIN bob s3cret words ok' "... after AUTH with Bob's HOME/auth login"
like "$(cat "$PD/log")" 'rcpt <joe@example\.com>' "... one for joe@example.com"
like "$(cat "$PD/log")" 'rcpt <friend@mail\.i2p>' "... one for friend@mail.i2p"
like "$(cat "$PD/log")" "peer $(cat "$KEYS/$(flow_site_key bob).b32")" "... from Bob's own mail destination"

# ---- mail.i2p, receiving: the popfetch service ----
flow_until 90 eval 'arrived bob "from mail.i2p one" && arrived bob "from the clearnet"'
ok $? "the popfetch service fetched Bob's mail.i2p mailbox into his Maildir" || { flow_show bob popfetch 30; flow_show bob runner; }
OUT=$D/pop; mkdir -p "$OUT"
flow_pop bob "$OUT" > "$D/pop.list"
ok $? "Bob's mail client (poplib) fetches from e2e-pop3d"
for s in "no website" "from mail.i2p one" "from the clearnet"; do
	f=$(eml "$OUT" "$s")
	ok $((! ${#f})) "... side by side in one mailbox: \"$s\""
done
like "$(header "$(eml "$OUT" "from mail.i2p one")")" '^Delivered-To: bob@bob\.i2p' "... the mail.i2p mail delivered to bob@bob.i2p"
s6-svc -r "$B/service/popfetch"
flow_until 30 eval '[ "$(grep -c "^SESSION" "$PP/log")" -ge 2 ]'
sleep 2
is "$(flow_count bob)" 3 "a second fetch brings nothing twice (UIDL)"

done_testing
