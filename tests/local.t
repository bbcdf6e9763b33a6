#!/bin/bash
# e2e-local USER: Maildir delivery with Return-Path and Delivered-To, exact
# S= and W= in the name, idempotent under the same E2E_DELIVERY, and its
# exit codes; e2e-local -w, its requests and answers (tests/local/worker.py).
. "$(dirname "$0")/lib.sh"

home=$T_TMP/home
mkhome "$home" alice.i2p alice:pw bob:pw 2>/dev/null
ok $? "mail home"
export E2E_HOME=$home
M=$home/mail/bob
printf 'Subject: hi\nMessage-ID: <1@alice.i2p>\n\nline one\n.\nline three\n' > "$T_TMP/msg"

count() { ls "$M/new" "$M/cur" | grep -c ',S=' ; }

SENDER=alice@alice.i2p RECIPIENT=bob@alice.i2p E2E_DELIVERY=1795000000.M1P1R0 e2e-local bob < "$T_TMP/msg"
is "$?" 0 "delivered: exit 0"
is "$(count)" 1 "one message in new/"
f=$(ls "$M/new")
like "$f" '^1795000000\.M1P1R0,S=[0-9]+,W=[0-9]+$' "named after E2E_DELIVERY with S= and W="
{ printf 'Return-Path: <alice@alice.i2p>\nDelivered-To: bob@alice.i2p\n'; cat "$T_TMP/msg"; } > "$T_TMP/want"
cmp -s "$M/new/$f" "$T_TMP/want"
ok $? "Return-Path and Delivered-To, then the message byte for byte"
size=$(stat -c %s "$M/new/$f")
lines=$(tr -cd '\n' < "$M/new/$f" | wc -c)
is "$f" "1795000000.M1P1R0,S=$size,W=$((size + lines))" "S= is the exact size, W= the size with CRLF line ends"
is "$(ls "$M/tmp" | wc -l)" 0 "nothing left in tmp/"

SENDER=alice@alice.i2p RECIPIENT=bob@alice.i2p E2E_DELIVERY=1795000000.M1P1R0 e2e-local bob < "$T_TMP/msg"
is "$?" 0 "the same delivery again: exit 0"
is "$(count)" 1 "and still one message"
mv "$M/new/$f" "$M/cur/$f:2,S"
SENDER=alice@alice.i2p RECIPIENT=bob@alice.i2p E2E_DELIVERY=1795000000.M1P1R0 e2e-local bob < "$T_TMP/msg"
is "$?" 0 "again after a reader moved it to cur/: exit 0"
is "$(count)" 1 "and still one message"
rm -f "$M/cur/"*

e2e-local bob < "$T_TMP/msg" && e2e-local bob < "$T_TMP/msg"
ok $? "two deliveries without E2E_DELIVERY"
is "$(count)" 2 "give two messages (unique names)"
f=$(ls "$M/new" | head -1)
unlike "$(head -2 "$M/new/$f")" 'Return-Path|Delivered-To' "no SENDER/RECIPIENT: no such headers"
rm -f "$M/new/"*

SENDER= RECIPIENT=bob@alice.i2p e2e-local bob < "$T_TMP/msg"
f=$(ls "$M/new")
is "$(head -1 "$M/new/$f")" "Return-Path: <>" "the null sender: Return-Path: <>"
rm -f "$M/new/"*

SENDER=$'x@y.i2p>\nX-Injected: 1' RECIPIENT=$'bob@alice.i2p\nX-Evil: 1' e2e-local bob < "$T_TMP/msg"
f=$(ls "$M/new")
unlike "$(cat "$M/new/$f")" '^X-(Injected|Evil)' "no header can be injected through SENDER or RECIPIENT"
rm -f "$M/new/"*

# a message from a file descriptor positioned past an envelope (as the runner does)
printf 'Fa@b.i2p\0Tbob@alice.i2p\0\0' > "$T_TMP/qf"; n=$(stat -c %s "$T_TMP/qf"); cat "$T_TMP/msg" >> "$T_TMP/qf"
( exec 3<"$T_TMP/qf"; dd bs=1 count="$n" <&3 >/dev/null 2>&1; E2E_DELIVERY=q1R0 e2e-local bob <&3 )
f=$(ls "$M/new")
cmp -s "$M/new/$f" "$T_TMP/msg"
ok $? "reads from fd 0 where it stands"
rm -f "$M/new/"*

# ---- failures ----
e2e-local nobody < "$T_TMP/msg" 2>"$T_TMP/err"
is "$?" 100 "no such mailbox: exit 100"
like "$(cat "$T_TMP/err")" '^e2e-local: fatal: no mailbox for user nobody' "says so"
for u in ../bob Bob 'bo b' '' -bob; do
  e2e-local "$u" < "$T_TMP/msg" 2>/dev/null
  is "$?" 100 "invalid user name '$u': exit 100"
done
E2E_DELIVERY=../x e2e-local bob < "$T_TMP/msg" 2>/dev/null
is "$?" 100 "E2E_DELIVERY with a slash: exit 100"
e2e-local < "$T_TMP/msg" 2>/dev/null
is "$?" 100 "no argument: exit 100"
env -u E2E_HOME e2e-local bob < "$T_TMP/msg" 2>/dev/null
is "$?" 100 "no E2E_HOME: exit 100"
is "$(count)" 0 "nothing delivered by the failures"

rm -rf "$M/tmp" "$M/new"
E2E_DELIVERY=r1 e2e-local bob < "$T_TMP/msg"
is "$?" 0 "a Maildir missing tmp/ and new/ is repaired"
is "$(ls "$M/new" | wc -l)" 1 "and the message delivered"
rm -f "$M/new/"*

rm -rf "$M/tmp"; : > "$M/tmp"
e2e-local bob < "$T_TMP/msg" 2>"$T_TMP/err"
is "$?" 111 "tmp/ unusable: exit 111 (temporary)"
like "$(cat "$T_TMP/err")" '^e2e-local: fatal: unable to deliver to ' "skalibs-style message"
is "$(count)" 0 "nothing half-delivered"

# e2e-local -w: the runner's long-lived worker, driven as the runner does
rm -rf "$M/tmp"; mkdir -m 700 "$M/tmp"
tap_py "$TOP/tests/local/worker.py" "$home" "$T_TMP/msg"

done_testing
