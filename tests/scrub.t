#!/bin/bash
# e2e-scrub: the header block in and out, dates, Message-IDs, the body
# byte for byte, the envelope passed through, exit codes, limits; then with
# the real e2e-queue, and behind e2e-smtpd as E2E_QUEUE.
. "$(dirname "$0")/lib.sh"

for p in e2e-scrub e2e-queue e2e-setup e2e-passwd; do
  [ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done
H=$T_TMP/home CAP=$T_TMP/cap LOG=$T_TMP/log
ASAN_OPTIONS=detect_leaks=0 mkhome "$H" alice.i2p alice:secret 2>/dev/null || { echo "Bail out! cannot make a mail home"; exit 1; }
echo other.i2p >> "$H/domains"

# A stand-in injector: keeps the message and the envelope (read from its
# fd 1), then exits with $CAPCODE ("crash": kills itself).
cat > "$T_TMP/capture" <<'EOF'
#!/bin/sh
echo started >> "$CAPDIR/count"
cat > "$CAPDIR/msg"
cat <&1 > "$CAPDIR/env"
[ "${CAPCODE:-0}" = crash ] && kill -9 $$
exit "${CAPCODE:-0}"
EOF
chmod +x "$T_TMP/capture"
printf 'Falice@alice.i2p\0Tbob@bob.i2p\0\0' > "$T_TMP/env"

# scrub INPUT-FILE [VAR=VALUE...]: runs e2e-scrub with the file on fd 0
# and $T_TMP/env on fd 1; sets RC and OUT (the message the injector got).
scrub() {
  local in=$1; shift
  rm -rf "$CAP"; mkdir -p "$CAP"
  env E2E_DOMAIN=alice.i2p E2E_HOME="$H" E2E_SCRUB_NEXT="$T_TMP/capture" CAPDIR="$CAP" "$@" \
    e2e-scrub < "$in" 1< "$T_TMP/env" 2> "$LOG"
  RC=$?
  OUT=$(tr -d '\0' 2>/dev/null < "$CAP/msg")
}
put() { printf "$@" > "$T_TMP/in"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
DATE_RE='(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-2][0-9]:[0-5][0-9]:[0-5][0-9] \+0000'
ID_RE='<[a-z2-7]{26}@alice\.i2p>'

# ---- a message from a mail client, through e2e-smtpd ----
put 'Received: from laptop.local (laptop.local [192.168.1.23])\n\tby alice.i2p (e2e) with ESMTPA id 1;\n\tThu, 13 Feb 2025 10:20:31 +0000\nFrom: Alice <alice@alice.i2p>\nTo: bob@bob.i2p\nDate: Thu, 13 Feb 2025 12:20:30 +0200\nMessage-ID: <1234.5678@laptop.local>\nX-Mailer: Foo Mail 1.0\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:102.0)\n Gecko/20100101 Thunderbird/102.0\nX-Originating-IP: [192.168.1.23]\nreceived: from [127.0.0.1] by localhost\nSubject: hello\n folded subject\nMIME-Version: 1.0\nx-MAILER : Bar\n\nbody line\nReceived: in the body, untouched\nX-Mailer: also\n'
scrub "$T_TMP/in"; out=$OUT
is "$RC" 0 "exit 0 when the injector exits 0"
like "$(sed -n 1p <<<"$out")" "^Received: by alice\.i2p \(e2e\); $DATE_RE\$" "one neutral Received line first: our domain, UTC"
is "$(sed -n '2,4p' <<<"$out")" "From: Alice <alice@alice.i2p>
To: bob@bob.i2p
Date: Thu, 13 Feb 2025 10:20:30 +0000" "Date in +0200: the same instant in UTC, in place"
like "$(sed -n 5p <<<"$out")" "^Message-ID: $ID_RE\$" "Message-ID naming laptop.local: replaced by a random one at our domain"
is "$(sed -n '6,$p' <<<"$out")" "Subject: hello
 folded subject
MIME-Version: 1.0

body line
Received: in the body, untouched
X-Mailer: also" "every Received, X-Mailer (any case, blank before the colon), folded User-Agent, X-Originating-IP gone; the rest and the body intact"
unlike "$(sed '/^$/q' <<<"$out")" 'laptop|192\.168|127\.0\.0\.1|Thunderbird|Gecko|Foo Mail|\+0200|1234\.5678' "nothing of the sender's machine left in the header"
is "$(tr '\0' '|' < "$CAP/env")" "Falice@alice.i2p|Tbob@bob.i2p||" "the envelope reaches the injector untouched on its fd 1"
like "$(cat "$LOG")" '^e2e-scrub: scrub dropped=6 date=converted msgid=replaced next=.*capture$' "log: one line with what changed"

# ---- Message-ID ----
for id in '<a.b@alice.i2p>' '<x@ALICE.I2P>' '<y@other.i2p>' ' <z@alice.i2p> (comment)'; do
  put 'Message-ID:%s\nDate: Thu, 13 Feb 2025 10:20:30 +0000\n\nx\n' "$id"
  scrub "$T_TMP/in"; out=$OUT
  is "$(sed -n 2p <<<"$out")" "Message-ID:$id" "Message-ID$id on a local domain: kept as it was"
done
for id in '<a@bob.i2p>' '<noat>' '<a@alice.i2p.evil>' 'garbage' '' '<a@[127.0.0.1]>' '<a@alice.i2p> trailing'; do
  put 'Message-Id: %s\nDate: Thu, 13 Feb 2025 10:20:30 +0000\n\nx\n' "$id"
  scrub "$T_TMP/in"; out=$OUT
  like "$(sed -n 2p <<<"$out")" "^Message-Id: $ID_RE\$" "Message-ID '$id': replaced"
done
put 'Subject: x\n\nbody\n'
scrub "$T_TMP/in"; out=$OUT
is "$(sed -n 2p <<<"$out")" "Subject: x" "no Date, no Message-ID: the fields kept ..."
like "$(sed -n 3p <<<"$out")" "^Date: $DATE_RE\$" "... a Date added (now, UTC) ..."
now=$(date -u +%s); got=$(date -u -d "$(sed -n 3p <<<"$out" | cut -c7-)" +%s)
[ $((now - got)) -ge 0 ] && [ $((now - got)) -le 5 ]; ok $? "... which is now"
like "$(sed -n 4p <<<"$out")" "^Message-ID: $ID_RE\$" "... and a Message-ID at the end of the header block"
is "$(sed -n '5,$p' <<<"$out")" "
body" "... before the blank line and the body"
like "$(cat "$LOG")" 'date=added msgid=added' "log: added"
put 'Message-ID: <a@x.local>\nMessage-ID: <b@alice.i2p>\n\n'
scrub "$T_TMP/in"; out=$OUT
is "$(sed -n 3p <<<"$out")" "Message-ID: <b@alice.i2p>" "two Message-IDs: each judged on its own"
ids=$(for i in 1 2 3 4 5; do put 'Message-ID: <a@x.local>\n\n'; scrub "$T_TMP/in"; sed -n 2p <<<"$OUT"; done | sort -u | wc -l)
is "$ids" 5 "replacement ids are unique"

# ---- dates ----
while IFS='|' read -r in want; do
  put 'Date: %b\nMessage-ID: <k@alice.i2p>\n\nx\n' "$in"
  scrub "$T_TMP/in"; out=$OUT
  is "$(sed -n 2p <<<"$out")" "Date: $want" "Date: $in"
done <<'EOF'
Thu, 13 Feb 2025 12:20:30 +0200|Thu, 13 Feb 2025 10:20:30 +0000
13 Feb 2025 01:20 -0500 (EST)|Thu, 13 Feb 2025 06:20:00 +0000
Fri, 31 Dec 1999 23:59:59 -0100|Sat, 01 Jan 2000 00:59:59 +0000
Mon, 1 Jan 01 00:00:00 +0100|Sun, 31 Dec 2000 23:00:00 +0000
1 Jan 99 12:00 PST|Fri, 01 Jan 1999 20:00:00 +0000
1 Jan 101 12:00 GMT|Mon, 01 Jan 2001 12:00:00 +0000
Thu, 29 Feb 2024 23:30:00 -0130|Fri, 01 Mar 2024 01:00:00 +0000
thu,13 feb 2025 12:20:30 +0200|Thu, 13 Feb 2025 10:20:30 +0000
Thu, 13 Feb 2025 12:20:30 EDT|Thu, 13 Feb 2025 16:20:30 +0000
Thu, 13 Feb 2025 12:20:30 Z|Thu, 13 Feb 2025 12:20:30 +0000
Thu, 13 Feb 2025 12:20:30 UT|Thu, 13 Feb 2025 12:20:30 +0000
Thu, 13 Feb 2025 12:20:60 +0000|Thu, 13 Feb 2025 12:20:59 +0000
(c) Thu (c), 13 (c) Feb (c) 2025 (c) 12 : 20 : 30 (c) +0200 (c (nested) \)) |Thu, 13 Feb 2025 10:20:30 +0000
Thu, 13 Feb 2025\n 12:20:30\n\t+1400|Wed, 12 Feb 2025 22:20:30 +0000
Sun, 13 Feb 2025 12:20:30 -0000|Thu, 13 Feb 2025 12:20:30 +0000
EOF
for bad in 'yesterday' '31 Feb 2025 10:00 +0000' '13 Feb 2025 25:00 +0000' '13 Feb 2025 10:00' \
           '13 Foo 2025 10:00 +0000' '13 Feb 2025 10:00 +02' '13 Feb 2025 10:00 +0260' '' \
           '13 Feb 2025 10:00 +0200 junk' 'Thu, 13 Feb 1899 10:00 +0000' '13 Feb 2025 10:00 (open' \
           '13 Feb 2025 10:00 J' 'Xyz, 13 Feb 2025 10:00 +0000' '29 Feb 2025 10:00 +0000'; do
  put 'Date: %s\nMessage-ID: <k@alice.i2p>\n\nx\n' "$bad"
  scrub "$T_TMP/in"; out=$OUT
  got=$(sed -n 2p <<<"$out")
  like "$got" "^Date: $DATE_RE\$" "unparseable Date '$bad': replaced ..."
  d=$(( $(date -u +%s) - $(date -u -d "${got#Date: }" +%s) ))
  [ $d -ge 0 ] && [ $d -le 5 ]; ok $? "... by the current time"
done
like "$(cat "$LOG")" 'date=replaced' "log: replaced"
put 'Date: Thu, 13 Feb 2025 12:20:30 +0200\nResent-Date: Fri, 14 Feb 2025 01:00:00 +0300\nResent-Message-ID: <r@laptop>\nMessage-ID: <k@alice.i2p>\n\n'
scrub "$T_TMP/in"; out=$OUT
is "$(sed -n 3p <<<"$out")" "Resent-Date: Thu, 13 Feb 2025 22:00:00 +0000" "Resent-Date converted too"
like "$(sed -n 4p <<<"$out")" "^Resent-Message-ID: $ID_RE\$" "Resent-Message-ID replaced too"

# ---- where the header block ends ----
put 'Just a body line, no header at all\nSubject: not a header here\n'
scrub "$T_TMP/in"; out=$OUT
is "$(sed -n '1d;2d;3d;p' <<<"$out")" "Just a body line, no header at all
Subject: not a header here" "no header block: fields added before the text, the text untouched"
put '  starts with a blank\nX-Mailer: body\n'
scrub "$T_TMP/in"; out=$OUT
is "$(tail -2 <<<"$out")" "  starts with a blank
X-Mailer: body" "a continuation line first is body"
put 'Subject: s\nX-Mailer: m\nnot a field line\nX-Mailer: in body\n'
scrub "$T_TMP/in"; out=$OUT
is "$(sed -n '2p;5,$p' <<<"$out")" "Subject: s
not a field line
X-Mailer: in body" "a line that is no field ends the header block"
put 'Subject: only a header, no final newline'
scrub "$T_TMP/in"; out=$OUT
is "$(sed -n 2p <<<"$out")" "Subject: only a header, no final newline" "a header without a final newline ..."
like "$(sed -n 3p <<<"$out")" "^Date: " "... gets its newline before the added fields"
put 'Subject: crlf\r\nX-Mailer: x\r\nDate: Thu, 13 Feb 2025 12:20:30 +0200\r\nMessage-ID: <a@alice.i2p>\r\n\r\nbody\r\n'
scrub "$T_TMP/in"; out=$OUT
is "$(sed -n '2,$p' <<<"$out" | od -An -c | tr -s ' \n' ' ')" "$(printf 'Subject: crlf\r\nDate: Thu, 13 Feb 2025 10:20:30 +0000\nMessage-ID: <a@alice.i2p>\r\n\r\nbody\r\n' | od -An -c | tr -s ' \n' ' ')" "CRLF lines: kept as they were, rewritten ones end in LF"

# ---- the body, byte for byte ----
python3 -c '
import random, sys
r = random.Random(5)
sys.stdout.buffer.write(b"Subject: big\nX-Mailer: x\n\n" + bytes(r.randrange(256) for _ in range(6 * 1024 * 1024)))' > "$T_TMP/big"
t=$(ms); scrub "$T_TMP/big" > /dev/null; t=$(($(ms) - t))
is "$RC" 0 "a 6 MiB 8-bit body (NULs, CRs, bare bytes): exit 0 ($t ms)"
cmp -s <(tail -c +27 "$T_TMP/big") <(tail -c $(( $(wc -c < "$T_TMP/big") - 26 )) "$CAP/msg"); ok $? "its body byte-identical"
is "$(head -c 300 "$CAP/msg" | grep -ac X-Mailer)" 0 "its header scrubbed"
if [ -x /usr/bin/time ] && ! grep -qa __asan_init "$TOP/bin/e2e-scrub"; then
  env E2E_DOMAIN=alice.i2p E2E_SCRUB_NEXT=true /usr/bin/time -o "$T_TMP/rss" -f %M "$TOP/bin/e2e-scrub" < "$T_TMP/big" 1< "$T_TMP/env" 2>/dev/null
  rss=$(tail -1 "$T_TMP/rss")
  [ "$rss" -lt 4096 ]; ok $? "streams: at most 4 MiB resident for a 6 MiB message ($rss KiB)"
fi

# ---- the header block's bound ----
{ printf 'Subject: big header\n'; for i in $(seq 3000); do printf 'X-Filler-%d: %090d\n' $i 0; done; printf '\nbody\n'; } > "$T_TMP/hbig"
scrub "$T_TMP/hbig"; out=$OUT
is "$RC" 100 "a header block over 256 KiB: exit 100"
[ ! -e "$CAP/count" ]; ok $? "nothing started, nothing queued"
like "$(cat "$LOG")" "header block too big" "log: says why"
{ printf 'Subject: long header\n'; for i in $(seq 2000); do printf 'X-Filler-%d: %090d\n' $i 0; done; printf '\nbody\n'; } > "$T_TMP/hok"
scrub "$T_TMP/hok"; out=$OUT
is "$RC $(tail -1 <<<"$out")" "0 body" "a header block of 200 KiB: fine"

# ---- exit codes: e2e-scrub becomes the injector (exec), its status is the injector's ----
put 'Subject: x\n\nx\n'
for c in 0 100 111 3 crash; do
  scrub "$T_TMP/in" CAPCODE=$c > /dev/null
  case $c in crash) want=137 ;; *) want=$c ;; esac
  is "$RC" "$want" "injector exits $c: the status e2e-smtpd sees is the injector's ($want)"
done
scrub "$T_TMP/in" E2E_SCRUB_NEXT="$T_TMP/nonexistent" > /dev/null
is "$RC" 111 "injector cannot be run: 111"
env -u E2E_DOMAIN E2E_SCRUB_NEXT=true e2e-scrub < "$T_TMP/in" 1< "$T_TMP/env" 2>/dev/null; is $? 100 "no E2E_DOMAIN: 100"
rm -rf "$CAP"; mkdir -p "$CAP"
env E2E_DOMAIN=alice.i2p CAPDIR="$CAP" e2e-scrub "$T_TMP/capture" < "$T_TMP/in" 1< "$T_TMP/env" 2>/dev/null
is "$? $(sed -n 2p "$CAP/msg")" "0 Subject: x" "the injector given as arguments"
put 'Received: from peer.b32.i2p\nX-Mailer: theirs\nDate: Thu, 13 Feb 2025 12:20:30 +0200\n\nbody\n'
scrub "$T_TMP/in" PROTO=SAM; out=$OUT
cmp -s "$T_TMP/in" "$CAP/msg"; ok $? "PROTO=SAM (mail from I2P): passed on untouched"
# the injector starts only once the whole message is in: it finds all of
# it on fd 0 (a rewound memory file, not a pipe), however slowly it came
put 'Subject: x\n\n%s\n' "$(head -c 300000 /dev/zero | tr '\0' a)"
rm -rf "$CAP"; mkdir -p "$CAP"
(printf 'Subject: x\n\n'; sleep 0.3; head -c 300000 /dev/zero | tr '\0' a; sleep 0.3; printf '\n') |
  env E2E_DOMAIN=alice.i2p CAPDIR="$CAP" E2E_SCRUB_NEXT="$T_TMP/capture" e2e-scrub 1< "$T_TMP/env" 2>/dev/null
is "$? $(tail -c 300001 "$CAP/msg" | tr -d a | od -An -c | tr -d ' ')" '0 \n' "a slow message: the injector gets all of it, from a file it can seek"

# ---- with the real e2e-queue ----
put 'Received: from laptop ([10.0.0.1])\nDate: Thu, 13 Feb 2025 12:20:30 +0200\nX-Mailer: m\nSubject: queued\n\nhello\n'
env E2E_DOMAIN=alice.i2p E2E_HOME="$H" e2e-scrub < "$T_TMP/in" 1< "$T_TMP/env" 2> "$LOG"
is "$?" 0 "into the real e2e-queue (the default): exit 0"
f=$(ls "$H"/queue/todo/* 2>/dev/null | head -1)
ok $([ -n "$f" ]; echo $?) "a queue file in queue/todo"
tr '\0' '|' < "$f" > "$T_TMP/qf"
like "$(head -1 "$T_TMP/qf")" "^Falice@alice\.i2p\|Tbob@bob\.i2p\|\|Received: by alice\.i2p \(e2e\); $DATE_RE\$" "queue file: the envelope, then the scrubbed message"
is "$(sed -n '2,3p;5,$p' "$T_TMP/qf")" "Date: Thu, 13 Feb 2025 10:20:30 +0000
Subject: queued

hello" "queue file: Date in UTC, X-Mailer gone, body intact"
rm -f "$H"/queue/todo/*

# ---- behind e2e-smtpd as E2E_QUEUE ----
if [ -x "$TOP/bin/e2e-smtpd" ]; then
  b64=$(printf '\0alice\0secret' | base64 -w0)
  printf 'EHLO laptop.local\r\nAUTH PLAIN %s\r\nMAIL FROM:<alice@alice.i2p>\r\nRCPT TO:<bob@bob.i2p>\r\nDATA\r\nDate: Thu, 13 Feb 2025 12:20:30 +0200\r\nUser-Agent: Thunderbird\r\nMessage-ID: <u@laptop.local>\r\nSubject: via smtpd\r\n\r\n..dot\r\n.\r\nQUIT\r\n' "$b64" \
    | env PROTO=TCP TCPREMOTEIP=127.0.0.1 E2E_HOME="$H" E2E_DOMAIN=alice.i2p E2E_QUEUE=e2e-scrub e2e-smtpd > "$T_TMP/out" 2> "$LOG"
  like "$(tr -d '\r' < "$T_TMP/out")" $'\n250 2\\.0\\.0 ' "e2e-smtpd PROTO=TCP with E2E_QUEUE=e2e-scrub: 250"
  f=$(ls "$H"/queue/todo/* 2>/dev/null | head -1)
  tr '\0' '\n' < "$f" | sed '1,3d' > "$T_TMP/qf"
  unlike "$(cat "$T_TMP/qf")" 'laptop|127\.0\.0\.1|Thunderbird|\+0200|ESMTPA' "nothing of the client's machine reaches the queue (e2e-smtpd's own Received line neither)"
  like "$(sed -n 1p "$T_TMP/qf")" "^Received: by alice\.i2p \(e2e\); $DATE_RE\$" "only the neutral Received line"
  is "$(sed -n '2p;4,$p' "$T_TMP/qf")" "Date: Thu, 13 Feb 2025 10:20:30 +0000
Subject: via smtpd

.dot" "Date in UTC, the rest intact"
  like "$(sed -n 3p "$T_TMP/qf")" "^Message-ID: $ID_RE\$" "Message-ID replaced"
fi

done_testing
