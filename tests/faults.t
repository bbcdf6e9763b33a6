#!/bin/bash
# Injected faults and a real full disk (issue 5). Never a 250 (nor an exit
# 0) for what was not stored; 452 4.3.1 for a full disk, 451 for other
# failures; nothing half-written visible in queue/todo, queue/mess or a
# Maildir's new/; the service recovers when the fault goes, exactly once.
#   1. strace -e inject=... on e2e-queue: write/writev ENOSPC (exit 53),
#      fsync EIO (file, then directory), linkat EIO/ENOSPC/EDQUOT, open of
#      the temporary file ENOSPC; with a recycled file from free/, its move
#      into todo/ (renameat2) EIO/ENOSPC and its cut to length EIO.
#   2. the same through e2e-smtpd (a wrapper as E2E_QUEUE, and through
#      e2e-scrub as the local smtpd runs it): 452 / 451, never 250.
#   3. e2e-local: write ENOSPC, fsync EIO, the move into new/ (renameat2,
#      or link where that has no RENAME_NOREPLACE) EIO/ENOSPC, the fsync of
#      new/ failing after the move (the copy in new/ is whole; a repeated
#      delivery is a no-op that syncs new/ again); e2e-local -w's one
#      sync of new/ for the deliveries it had waiting failing: each of
#      them deferred.
#   4. e2e-runner: its state write (rename of info/.t*) fails: logged, the
#      state kept in memory and written at the next attempt; no duplicate.
#      Its fsync of mess/ before a finished file is reused fails: exit
#      111, the file stays parked, the next runner removes it.
#   5. a real full disk: queue/ on a 2 MiB tmpfs, filled: 452 4.3.1 through
#      e2e-scrub and e2e-queue, nothing in the queue; space back: 250.
#   6. a user's Maildir on a tmpfs, filled (a big message fails half way):
#      the runner defers, new/ and tmp/ stay empty; space back: delivered
#      exactly once, the queue empties.
#   7. a SIGKILLed runner takes its children with it; two overlapping
#      deliveries of one message (an orphan and its repeat) give one copy.
# Needs root (mount) and strace.
. "$(dirname "$0")/lib.sh"

for p in e2e-queue e2e-smtpd e2e-scrub e2e-local e2e-runner e2e-setup e2e-passwd; do
  [ -x "$TOP/bin/$p" ] || { echo "Bail out! bin/$p is not built (run make)"; exit 1; }
done
command -v strace >/dev/null || { echo "Bail out! strace is not installed (make deps)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "Bail out! the full-disk tests mount a tmpfs: run as root"; exit 1; }

H=$T_TMP/home
mkhome "$H" alice.i2p alice:secret bob:pw >/dev/null 2>&1
ok $? "mail home"
export E2E_HOME=$H E2E_DOMAIN=alice.i2p
MOUNTS=""
trap 'for m in $MOUNTS; do umount -l "$m" 2>/dev/null; done; t_cleanup' EXIT
FAULTS=0

envelope() { printf 'F%s\0' "$1"; shift; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; }
msg() { printf 'Subject: %s\nMessage-ID: <%s@alice.i2p>\n\nbody %s\n' "$1" "$1" "$1"; }
# the files in the queue (the trigger FIFO aside)
qfiles() { find "$H/queue/todo" "$H/queue/mess" "$H/queue/info" "$H/queue/tmp" -type f 2>/dev/null | wc -l; }
# inj INJECT CMD...: CMD under strace with one fault (-e inject=INJECT);
# INJ_PATH set: only on the calls that name that path (strace -P); INJ2
# set: a second fault on another call.
# LeakSanitizer cannot work under ptrace: off (sanitizer builds).
export ASAN_OPTIONS=detect_leaks=0
inj() { local i=$1; shift; FAULTS=$((FAULTS + 1)); strace -qq -f -o /dev/null ${INJ_PATH:+-P "$INJ_PATH"} -e inject="$i" ${INJ2:+-e inject="$INJ2"} "$@"; }

# ---- 1. e2e-queue under injected faults ----
qinj() {   # qinj INJECT WANT-EXIT NAME [BYTES]: one message, the fault, the exit code, nothing queued
  local body=$T_TMP/qbody rc
  if [ -n "${4:-}" ]; then { msg "$3"; head -c "$4" /dev/zero | tr '\0' 'x' | fold -w 70; } >"$body"; else msg "$3" >"$body"; fi
  inj "$1" e2e-queue <"$body" 1< <(envelope alice@alice.i2p bob@alice.i2p) 2>"$T_TMP/qerr"
  rc=$?
  is "$rc $(qfiles)" "$2 0" "e2e-queue, $3 ($1): exit $2, nothing in the queue ($(tr -d '\n' <"$T_TMP/qerr"))"
}
qinj writev:error=ENOSPC 53 "short message, writev ENOSPC"
qinj write:error=ENOSPC 53 "long message, write ENOSPC" 200000
qinj copy_file_range:error=ENOSPC 53 "long message, copy ENOSPC" 200000
qinj write:error=EDQUOT 53 "long message, write EDQUOT" 200000
qinj writev:error=EIO 111 "short message, writev EIO"
qinj fsync:error=EIO:when=1 111 "fsync of the file EIO"
qinj fsync:error=ENOSPC:when=1 53 "fsync of the file ENOSPC"
qinj fsync:error=EIO:when=2 111 "fsync of queue/todo EIO (after the link)"
qinj linkat:error=EIO 111 "linkat EIO"
qinj linkat:error=ENOSPC 53 "linkat ENOSPC"
INJ_PATH=$H/queue/tmp qinj 'open,openat:error=ENOSPC:when=1' 53 "open of the O_TMPFILE file in queue/tmp ENOSPC"
# a recycled queue file (free/N, left by the runner) is moved into todo/
mkdir -p "$H/queue/free"
: >"$H/queue/free/5"; qinj renameat2:error=EIO 111 "move of the recycled free/5 into todo/ EIO"
: >"$H/queue/free/5"; qinj renameat2:error=ENOSPC 53 "move of the recycled free/5 into todo/ ENOSPC"
# a recycled file longer than the new message is cut to its length
head -c 4096 /dev/zero | tr '\0' x >"$H/queue/free/5"; qinj ftruncate:error=EIO 111 "cut of the longer recycled free/5 to the new length EIO"
rm -f "$H/queue/free/"*
msg "no fault" | e2e-queue 1< <(envelope alice@alice.i2p bob@alice.i2p)
is "$? $(ls "$H/queue/todo" | wc -l)" "0 1" "e2e-queue without a fault: exit 0, one message in todo/"
rm -f "$H/queue/todo/"*

# ---- 2. through e2e-smtpd: 452 / 451, never 250 ----
cat >"$T_TMP/injqueue" <<EOF
#!/bin/sh
exec strace -qq -f -o /dev/null -e inject="\$INJ" "$TOP/bin/\${INJNEXT:-e2e-queue}"
EOF
chmod +x "$T_TMP/injqueue"
b64() { printf '%b' "$1" | base64 -w0; }
SESSION="EHLO client.example\r\nAUTH PLAIN $(b64 '\0alice\0secret')\r\nMAIL FROM:<alice@alice.i2p>\r\nRCPT TO:<bob@alice.i2p>\r\nDATA\r\nSubject: via smtpd\r\n\r\nhello\r\n.\r\nQUIT\r\n"
# smtp QUEUE [VAR=VALUE...]: one session; the reply to the end of DATA
smtp() {
  local q=$1; shift
  printf '%b' "$SESSION" | env PROTO=TCP TCPREMOTEIP=127.0.0.1 E2E_QUEUE="$q" "$@" e2e-smtpd 2>>"$T_TMP/smtpd.log" |
    tr -d '\r' | sed -n '/^354 /{n;p}'
}
sinj() {   # sinj INJECT WANT NAME [QUEUE [VAR=VALUE...]]
  local i=$1 want=$2 name=$3; shift 3
  FAULTS=$((FAULTS + 1))
  r=$(smtp "${1:-$T_TMP/injqueue}" INJ="$i" "${@:2}")
  like "$r $(qfiles)" "^$want .* 0\$" "e2e-smtpd, $name ($i): $want, nothing queued ($r)"
}
sinj writev:error=ENOSPC '452 4\.3\.1' "disk full in e2e-queue"
sinj fsync:error=EIO:when=1 '451 4\.3\.0' "fsync EIO in e2e-queue"
sinj fsync:error=EIO:when=2 '451 4\.3\.0' "fsync of todo/ EIO in e2e-queue"
sinj linkat:error=EDQUOT '452 4\.3\.1' "quota in e2e-queue"
# as the local smtpd runs it: e2e-scrub in front of e2e-queue
sinj writev:error=ENOSPC '452 4\.3\.1' "disk full behind e2e-scrub" e2e-scrub E2E_SCRUB_NEXT="$T_TMP/injqueue"
sinj linkat:error=EIO '451 4\.3\.0' "linkat EIO behind e2e-scrub" e2e-scrub E2E_SCRUB_NEXT="$T_TMP/injqueue"
r=$(smtp e2e-scrub)
like "$r $(ls "$H/queue/todo" | wc -l)" '^250 .* 1$' "e2e-smtpd without a fault: 250, one message queued"
rm -f "$H/queue/todo/"*

# ---- 3. e2e-local under injected faults ----
M=$H/mail/bob
sizeof() { sed 's/.*,S=\([0-9]*\).*/\1/' <<<"$1"; }   # the S= of a Maildir name
mfiles() { find "$M/new" "$M/cur" "$M/tmp" -type f | wc -l; }
linj() {   # linj INJECT NAME: the delivery fails (111), nothing in new/ nor tmp/
  msg "$2" >"$T_TMP/lbody"
  inj "$1" env E2E_DELIVERY=lfault.R0 SENDER=alice@alice.i2p RECIPIENT=bob@alice.i2p e2e-local bob <"$T_TMP/lbody" 2>/dev/null
  is "$? $(mfiles)" "111 0" "e2e-local, $2 ($1): exit 111, nothing in the Maildir"
}
linj write:error=ENOSPC "write ENOSPC"
linj write:error=EDQUOT "write EDQUOT"
linj fsync:error=EIO:when=1 "fsync of the file EIO"
linj renameat2:error=EIO "move into new/ EIO"
linj renameat2:error=ENOSPC "move into new/ ENOSPC"
INJ2=link:error=EIO linj renameat2:error=EINVAL "no RENAME_NOREPLACE, then link EIO"
msg "fsync new" >"$T_TMP/lbody"
inj fsync:error=EIO:when=2 env E2E_DELIVERY=lfault.R0 e2e-local bob <"$T_TMP/lbody" 2>/dev/null
is "$?" 111 "e2e-local, fsync of new/ fails after the move: exit 111"
f=$(ls "$M/new")
is "$(ls "$M/new" | wc -l) $(stat -c %s "$M/new/$f")" "1 $(sizeof "$f")" "... the copy in new/ is whole (its size is its S=)"
inj fsync:error=EIO:when=2 env E2E_DELIVERY=lfault.R0 e2e-local bob <"$T_TMP/lbody" 2>/dev/null
is "$? $(mfiles)" "111 1" "... a repeat that finds the copy syncs new/ too (its failure: exit 111), still one file"
env E2E_DELIVERY=lfault.R0 e2e-local bob <"$T_TMP/lbody"
is "$? $(mfiles)" "0 1" "... the repeated delivery succeeds and is a no-op: one file"
rm -f "$M/new/"*
# e2e-local -w syncs new/ once for the deliveries it has waiting; that
# sync failing defers each of them (and not another user's)
msg "batch" >"$T_TMP/lbody"
tap_py "$TOP/tests/local/batchfault.py" "$H" "$T_TMP/lbody"
rm -f "$M/new/"* "$H/mail/alice/new/"*

# ---- 4. the runner's state write fails ----
# A message to a remote domain defers (no SAM bridge): the runner must
# write info/ID; its rename (the second: the first takes todo/ID to
# mess/ID) fails. The runner logs it, keeps the state in memory, carries
# on, and writes the state at the next attempt.
export E2E_SAM=127.0.0.1:1 E2E_RETRY=1 E2E_RESOLVE_TIMEOUT=2 E2E_REMOTE_CONNECT=2
msg "remote defer" | e2e-queue 1< <(envelope alice@alice.i2p carol@carol.i2p bob@alice.i2p)
ok $? "a message to carol@carol.i2p and bob@alice.i2p queued"
FAULTS=$((FAULTS + 1))
strace -qq -o /dev/null -e inject=rename:error=EIO:when=2 e2e-runner 2>"$T_TMP/runner1.log" &
RPID=$!
bg_pid $RPID
warned() { grep -qE 'warning: unable to write info/.*(Input/output|I/O) error' "$T_TMP/runner1.log"; }   # glibc's, musl's
for _ in $(seq 300); do warned && break; sleep 0.1; done
warned
ok $? "e2e-runner: the state write fails (rename EIO): logged ($(grep -o 'warning: unable to write.*' "$T_TMP/runner1.log" | head -1))"
has_info() { [ -n "$(ls "$H/queue/info")" ]; }
for _ in $(seq 300); do has_info && break; sleep 0.1; done
kill -0 $RPID
ok $? "... the runner carries on"
like "$(grep '^R ' "$H/queue/info/"* 2>/dev/null | cut -d' ' -f1-2 | tr '\n' ' ')" '^R todo R done $' "... and writes the state at the next attempt: carol to do, bob done"
is "$(ls -A "$H/queue/info" | wc -l)" 1 "... no left-over of the failed write in info/"
kill -TERM "$(ps -o pid= --ppid $RPID)"; wait $RPID   # the runner, strace's child: strace follows
e2e-runner 2>"$T_TMP/runner2.log" &
RPID=$!
bg_pid $RPID
sleep 2
is "$(ls "$M/new" | wc -l) $(ls "$H/queue/mess" | wc -l)" "1 1" "a new runner: bob's copy not delivered twice, carol's still queued"
kill -TERM $RPID; wait $RPID
rm -rf "$H/queue/mess/"* "$H/queue/info/"* "$M/new/"*
unset E2E_SAM

# ---- 4b. the sync of mess/ before a finished file is reused fails ----
# A delivered message's file is parked as free/.ID until
# mess/ is synced; if that fsync fails, the file must not be reused (its
# mess/ID could come back after a power cut): the runner exits 111 (s6
# starts it again), the next runner removes the parked file; the message
# is in the Maildir once, nothing is queued twice.
msg "park fail" | e2e-queue 1< <(envelope alice@alice.i2p bob@alice.i2p)
FAULTS=$((FAULTS + 1))
timeout 30 strace -qq -o /dev/null -P "$H/queue/mess" -e inject=fsync:error=EIO:when=2 e2e-runner 2>"$T_TMP/runner3.log"
rc=$?
is "$rc $(ls "$M/new" | wc -l)" "111 1" "e2e-runner: the fsync of mess/ fails (EIO) after a delivery: exit 111, the message delivered once"
like "$(cat "$T_TMP/runner3.log")" "unable to sync $H/queue/mess: (Input/output|I/O) error" "... says why"
is "$(ls -A "$H/queue/free" | grep -c '^\.')" 1 "... the finished file left parked (free/.ID), not reused"
e2e-runner 2>"$T_TMP/runner4.log" &
RPID=$!
bg_pid $RPID
for _ in $(seq 50); do [ -z "$(ls -A "$H/queue/free" | grep '^\.')" ] && break; sleep 0.1; done
is "$(ls -A "$H/queue/free" | grep -c '^\.') $(ls "$M/new" | wc -l) $(ls -A "$H/queue/mess" "$H/queue/todo" | grep -vc ':$\|^$')" "0 1 0" "a new runner: the parked file removed, no second copy, the queue empty"
kill -TERM $RPID; wait $RPID
rm -f "$M/new/"*

# The same fsync when new mail is taken in (todo/ID linked as mess/ID,
# mess/ synced, then todo/ID removed): exit 111 before any delivery, the
# message still in todo/; the next runner delivers it once.
msg "take fail" | e2e-queue 1< <(envelope alice@alice.i2p bob@alice.i2p)
FAULTS=$((FAULTS + 1))
timeout 30 strace -qq -o /dev/null -P "$H/queue/mess" -e inject=fsync:error=EIO:when=1 e2e-runner 2>"$T_TMP/runner5.log"
rc=$?
is "$rc $(ls "$M/new" | wc -l) $(ls "$H/queue/todo" | wc -l)" "111 0 1" "e2e-runner: the fsync of mess/ fails when new mail is taken in: exit 111, nothing delivered, the message still in todo/"
e2e-runner 2>"$T_TMP/runner6.log" &
RPID=$!
bg_pid $RPID
for _ in $(seq 50); do [ "$(ls "$M/new" | wc -l)" = 1 ] && [ -z "$(ls -A "$H/queue/free" | grep '^\.')" ] && break; sleep 0.1; done
is "$(ls "$M/new" | wc -l) $(ls -A "$H/queue/todo" "$H/queue/mess" | grep -vc ':$\|^$') $(ls -A "$H/queue/free" | grep -c '^\.')" "1 0 0" "a new runner: delivered once, todo/ and mess/ empty, nothing parked"
kill -TERM $RPID; wait $RPID
rm -f "$M/new/"*

# ---- 5. a real full disk under queue/ ----
mv "$H/queue" "$H/queue.orig" && mkdir "$H/queue" && mount -t tmpfs -o size=2m,mode=0700 tmpfs "$H/queue"
ok $? "queue/ on a 2 MiB tmpfs"
MOUNTS="$H/queue"
cp -a "$H/queue.orig/." "$H/queue/"
# one finished queue file of 4 KiB left for reuse, no other
rm -rf "$H/queue/free" && mkdir "$H/queue/free" && head -c 4096 /dev/zero | tr '\0' x >"$H/queue/free/0"
dd if=/dev/zero of="$H/queue/fill" bs=64k 2>/dev/null
like "$(df -k "$H/queue" | awk 'NR==2 { print $4 }')" '^0$' "... filled: no space left"
r=$(smtp e2e-scrub)
like "$r $(ls "$H/queue/todo" | wc -l) $(ls "$H/queue/free" | wc -l)" '^250 .* 1 0$' "full queue, a recycled 4 KiB file in free/: the message is written over its blocks, 250"
mv "$H/queue/todo/"* "$H/queue/kept"   # out of the way, its space still taken
FAULTS=$((FAULTS + 1))
r=$(smtp e2e-scrub)
like "$r" '^452 4\.3\.1 ' "full queue, through e2e-scrub and e2e-queue: 452 4.3.1 insufficient system storage ($r)"
r=$(smtp e2e-queue)
like "$r" '^452 4\.3\.1 ' "full queue, e2e-queue straight: 452 4.3.1"
msg "full" | e2e-queue 1< <(envelope alice@alice.i2p bob@alice.i2p) 2>"$T_TMP/qerr"
is "$?" 53 "e2e-queue on the full disk exits 53 ($(cat "$T_TMP/qerr"))"
is "$(qfiles)" 0 "nothing in the queue, not even in tmp/"
like "$(grep 'result=deferred' "$T_TMP/smtpd.log" | tail -1)" 'result=deferred_nospace' "e2e-smtpd logs result=deferred_nospace"
rm -f "$H/queue/fill" "$H/queue/kept"
r=$(smtp e2e-scrub)
like "$r $(ls "$H/queue/todo" | wc -l)" '^250 .* 1$' "space back: 250, queued"
e2e-runner 2>"$T_TMP/runner3.log" &
RPID=$!
bg_pid $RPID
for _ in $(seq 300); do [ "$(qfiles)" = 0 ] && break; sleep 0.1; done
is "$(qfiles) $(ls "$M/new" | wc -l)" "0 1" "... delivered once, the queue is empty"
kill -TERM $RPID; wait $RPID
rm -f "$M/new/"*

# ---- 6. a real full disk under a Maildir ----
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$M"
ok $? "bob's Maildir on a 1 MiB tmpfs"
MOUNTS="$M $MOUNTS"
mkdir "$M/tmp" "$M/new" "$M/cur"
dd if=/dev/zero of="$M/fill" bs=4k 2>/dev/null
dd if=/dev/zero of="$M/fill" bs=4k count=$(( $(stat -c %s "$M/fill") / 4096 - 32 )) 2>/dev/null
# 128 KiB free; the message is 300 KB: it fails half way through
{ msg "maildir full"; head -c 300000 /dev/zero | tr '\0' 'y' | fold -w 70; printf '\nthe end\n'; } >"$T_TMP/big"
SIZE=$(wc -c <"$T_TMP/big")
e2e-queue <"$T_TMP/big" 1< <(envelope alice@alice.i2p bob@alice.i2p)
ok $? "a 300 KB message for bob queued"
ID=$(ls "$H/queue/todo")
e2e-runner 2>"$T_TMP/runner4.log" &
RPID=$!
bg_pid $RPID
defers() { grep -c "id=$ID rcpt=bob@alice.i2p result=defer" "$T_TMP/runner4.log"; }
for _ in $(seq 300); do [ "$(defers)" -ge 2 ] && break; sleep 0.1; done
FAULTS=$((FAULTS + 1))
[ "$(defers)" -ge 2 ]
ok $? "the runner defers the delivery, and again ($(grep -o "id=$ID rcpt=bob@alice.i2p result=defer reason=.*" "$T_TMP/runner4.log" | head -1))"
is "$(find "$M/new" "$M/cur" "$M/tmp" -type f | wc -l)" 0 "... nothing in bob's new/, cur/ or tmp/"
[ -e "$H/queue/mess/$ID" ]
ok $? "... the message waits in mess/"
rm -f "$M/fill"
for _ in $(seq 300); do [ "$(qfiles)" = 0 ] && break; sleep 0.1; done
is "$(qfiles)" 0 "space back: the queue empties"
f=$(ls "$M/new")
is "$(ls "$M/new" | wc -l)" 1 "... bob has the message once"
is "$(stat -c %s "$M/new/$f")" "$(sizeof "$f")" "... whole: its size is its S="
like "$(tail -n 1 "$M/new/$f")" '^the end$' "... up to its last line"
sleep 2.5
is "$(find "$M/new" "$M/cur" "$M/tmp" -type f | wc -l)" 1 "... and no second copy later"
kill -TERM $RPID; wait $RPID
is "$?" 0 "the runner stops cleanly"
umount "$M" && umount "$H/queue"
ok $? "the tmpfs mounts removed"
MOUNTS=""
# ---- 7. what a killed runner leaves running ----
# Its children die with it (PR_SET_PDEATHSIG): an orphaned e2e-remote would
# finish a delivery that the next runner repeats.
mkdir -p "$T_TMP/fakebin"
printf '#!/bin/sh\necho $$ > "%s/remote.pid"\nexec sleep 60\n' "$T_TMP" >"$T_TMP/fakebin/e2e-remote"
chmod +x "$T_TMP/fakebin/e2e-remote"
msg "orphan" | e2e-queue 1< <(envelope alice@alice.i2p carol@carol.i2p)
PATH="$T_TMP/fakebin:$PATH" e2e-runner 2>"$T_TMP/runner5.log" &
RPID=$!
bg_pid $RPID
for _ in $(seq 100); do [ -s "$T_TMP/remote.pid" ] && break; sleep 0.1; done
CPID=$(cat "$T_TMP/remote.pid" 2>/dev/null)
[ -n "$CPID" ] && kill -0 "$CPID"
ok $? "the runner runs a (stand-in) e2e-remote that hangs"
kill -9 $RPID; wait $RPID 2>/dev/null
gone() { ! kill -0 "$CPID" 2>/dev/null; }
for _ in $(seq 50); do gone && break; sleep 0.1; done
gone
ok $? "the runner SIGKILLed: its e2e-remote is gone too"
[ -n "$CPID" ] && kill "$CPID" 2>/dev/null
rm -rf "$H/queue/mess/"* "$H/queue/info/"*

# Two deliveries of one message to one recipient at once (the orphan of a
# killed runner and the next runner's repeat): the second waits for the
# first's lock on tmp/, so that they never write into one file; one whole
# copy in the end.
{ msg "overlap"; head -c 200000 /dev/zero | tr '\0' 'z' | fold -w 70; printf '\nthe end\n'; } >"$T_TMP/ov"
mkfifo "$T_TMP/ovfifo"
env E2E_DELIVERY=overlap.R0 e2e-local bob <"$T_TMP/ovfifo" 2>/dev/null &
L1=$!
bg_pid $L1
exec 7>"$T_TMP/ovfifo"
head -c 100000 "$T_TMP/ov" >&7
sleep 0.3
env E2E_DELIVERY=overlap.R0 e2e-local bob <"$T_TMP/ov" 2>/dev/null 7>&- &
L2=$!
bg_pid $L2
sleep 1
kill -0 $L2 2>/dev/null
ok $? "the second e2e-local waits while the first writes"
tail -c +100001 "$T_TMP/ov" >&7
exec 7>&-
wait $L1; r1=$?
wait $L2; r2=$?
is "$r1 $r2" "0 0" "... both exit 0"
f=$(ls "$M/new")
is "$(ls "$M/new" | wc -l) $(ls "$M/tmp" | wc -l)" "1 0" "... one copy in new/, nothing in tmp/"
is "$(stat -c %s "$M/new/$f" 2>/dev/null)" "$(sizeof "$f")" "... whole: its size is its S="
like "$(tail -n 1 "$M/new/$f" 2>/dev/null)" '^the end$' "... up to its last line"
rm -f "$M/new/"*

diag "faults injected: $FAULTS"
done_testing
