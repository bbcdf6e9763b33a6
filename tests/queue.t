#!/bin/bash
# e2e-queue: strict envelope checks, the queue file layout (docs/queue.md),
# the order of fsync and link, the trigger, and that a kill at any moment
# leaves nothing half-visible in queue/todo/.
. "$(dirname "$0")/lib.sh"

home=$T_TMP/home
mkhome "$home" alice.i2p alice:pw
ok $? "mail home"
export E2E_HOME=$home
Q=$home/queue

# envelope SENDER RCPT...: qmail-queue's envelope on stdout
envelope() { printf 'F%s\0' "$1"; shift; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; }
ntodo() { find "$Q/todo" "$Q/tmp" -type f | wc -l; }
printf 'Subject: test\n\nhello\n' > "$T_TMP/msg"

# ---- a good message ----
e2e-queue < "$T_TMP/msg" 1< <(envelope alice@alice.i2p bob@Bob.I2P carol@alice.i2p)
is "$?" 0 "queued: exit 0"
is "$(ls "$Q/todo" | wc -l)" 1 "one file in todo/"
is "$(ls "$Q/tmp" | wc -l)" 0 "nothing left in tmp/"
f=$(ls "$Q/todo")
like "$f" '^[0-9]+\.M[0-9]+P[0-9]+$' "the id is <seconds>.M<usec>P<pid>"
{ envelope alice@alice.i2p bob@bob.i2p carol@alice.i2p; cat "$T_TMP/msg"; } > "$T_TMP/want"
cmp -s "$Q/todo/$f" "$T_TMP/want"
ok $? "file = envelope (domains lower-cased) then the message"
is "$(stat -c %a "$Q/todo/$f")" 600 "mode 0600"
rm -f "$Q/todo/"*

# ---- malformed envelopes: 100, nothing queued ----
bad() {  # bad NAME PRINTF-FORMAT...
  local name=$1; shift
  e2e-queue < "$T_TMP/msg" 1< <(printf "$@") 2>"$T_TMP/err"
  local rc=$?
  is "$rc" 100 "malformed envelope ($name): exit 100"
  is "$(ntodo)" 0 "malformed envelope ($name): nothing queued"
}
bad "empty" ''
bad "no recipient" 'Fa@b.i2p\0\0'
bad "no final NUL" 'Fa@b.i2p\0Tb@c.i2p\0'
bad "empty recipient" 'Fa@b.i2p\0T\0\0'
bad "bytes after the end" 'Fa@b.i2p\0Tb@c.i2p\0\0X'
bad "no F" 'Tb@c.i2p\0\0'
bad "source route" 'Fa@b.i2p\0T@x.i2p:b@c.i2p\0\0'
bad "percent hack" 'Fa@b.i2p\0Tb%%d@c.i2p\0\0'
bad "control character" 'Fa@b.i2p\0Tb\001x@c.i2p\0\0'
bad "bad sender" 'Fa b@b.i2p\0Tb@c.i2p\0\0'
like "$(cat "$T_TMP/err")" '^e2e-queue: fatal: malformed envelope' "a clear message"
bad "101 recipients" "F\\0$(for i in $(seq 101); do printf 'Tr%d@x.i2p\\0' "$i"; done)\\0"
e2e-queue < "$T_TMP/msg" 1< <(envelope "" $(for i in $(seq 100); do echo "r$i@x.i2p"; done))
is "$?" 0 "100 recipients and the null sender: accepted"
rm -f "$Q/todo/"*

# ---- a large message streams through and arrives byte for byte ----
head -c 3000000 /dev/urandom > "$T_TMP/big"
e2e-queue < "$T_TMP/big" 1< <(envelope a@b.i2p c@d.i2p)
is "$?" 0 "3 MB message queued"
f=$(ls "$Q/todo")
{ envelope a@b.i2p c@d.i2p; cat "$T_TMP/big"; } | cmp -s - "$Q/todo/$f"
ok $? "3 MB message stored byte for byte after its envelope"
rm -f "$Q/todo/"*
head -c 65536 /dev/urandom > "$T_TMP/edge"
e2e-queue < "$T_TMP/edge" 1< <(envelope a@b.i2p c@d.i2p) && f=$(ls "$Q/todo") &&
  { envelope a@b.i2p c@d.i2p; cat "$T_TMP/edge"; } | cmp -s - "$Q/todo/$f"
ok $? "a message of exactly 64 KiB (the buffer size) is stored whole"
rm -f "$Q/todo/"*
: > "$T_TMP/empty"
e2e-queue < "$T_TMP/empty" 1< <(envelope a@b.i2p c@d.i2p)
is "$?" 0 "an empty message is queued"
rm -f "$Q/todo/"*

# ---- durability: the file is synced before it is linked, the directory after ----
if command -v strace >/dev/null; then
  strace -q -f -o "$T_TMP/strace" -e trace=fsync,fdatasync,link,linkat,rename,renameat,renameat2,exit_group 2>/dev/null \
    e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p)
  calls=$(grep -v ' = -1 ' "$T_TMP/strace" | grep -oE '^[0-9]+ +(fsync|fdatasync|linkat|link|rename[a-z0-9]*|exit_group)' | awk '{print $2}' | tr '\n' ' ')
  is "$calls" "fsync linkat fsync exit_group " "fsync(file), link into todo/, fsync(todo/), exit: in that order"
  rm -f "$Q/todo/"*
  # a finished file the runner left for reuse (free/N): taken (locked
  # where it is), filled, synced, moved into todo/ (one renameat2 with
  # RENAME_NOREPLACE, which takes the free/3 name away), in the same order
  mkdir -p "$Q/free" && : > "$Q/free/3" && ino=$(stat -c %i "$Q/free/3")
  strace -q -f -o "$T_TMP/strace.free" -e trace=fsync,fdatasync,link,linkat,rename,renameat,renameat2,unlink,exit_group 2>/dev/null \
    e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p)
  calls=$(grep -v ' = -1 ' "$T_TMP/strace.free" | grep -oE '^[0-9]+ +(fsync|fdatasync|linkat|link|rename[a-z0-9]*|unlink|exit_group)' | awk '{print $2}' | tr '\n' ' ')
  is "$calls" "fsync renameat2 fsync exit_group " "free/3: fsync, moved into todo/ (renameat2), fsync(todo/)"
  f=$(ls "$Q/todo")
  is "$(stat -c %i "$Q/todo/$f") $(find "$Q/free" "$Q/tmp" -type f | wc -l)" "$ino 0" "the message is in that file (same inode); free/ and tmp/ empty"
  { envelope a@b.i2p c@d.i2p; cat "$T_TMP/msg"; } | cmp -s - "$Q/todo/$f"
  ok $? "its content is the envelope and the message, nothing else"
  printf 'old message, longer than the new one: %s\n' "$(head -c 3000 /dev/zero | tr '\0' x)" > "$Q/free/0"
  e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p) && f=$(ls -t "$Q/todo" | head -1) &&
    { envelope a@b.i2p c@d.i2p; cat "$T_TMP/msg"; } | cmp -s - "$Q/todo/$f"
  ok $? "a free file holding a longer old message: written over, cut to the new length, nothing of the old left"
  rm -f "$Q/todo/"*
  # a free/N that also names a queued message (a rename lost in a power
  # cut): that file is left alone, the message goes into a new one
  e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p) && f=$(ls "$Q/todo") && ln "$Q/todo/$f" "$Q/free/0" &&
    e2e-queue < "$T_TMP/edge" 1< <(envelope a@b.i2p c@d.i2p)
  is "$(ls "$Q/todo" | wc -l) $(stat -c %h "$Q/todo/$f")" "2 2" "a free/N with a second name: not taken, left alone (the new message in a new file)"
  { envelope a@b.i2p c@d.i2p; cat "$T_TMP/msg"; } | cmp -s - "$Q/todo/$f"
  ok $? "the queued message it named is intact"
  rm -f "$Q/todo/"* "$Q/free/"* "$Q/tmp/"*
  # one that another e2e-queue holds (its flock) is not taken either; one
  # that a killed e2e-queue had half written is
  : > "$Q/free/0"; printf 'half' > "$Q/free/1"
  flock "$Q/free/0" sleep 3 & fl=$!
  sleep 0.3
  e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p) && f=$(ls "$Q/todo")
  is "$(ls "$Q/free")" "0" "free/0 locked by another: left; free/1 taken"
  { envelope a@b.i2p c@d.i2p; cat "$T_TMP/msg"; } | cmp -s - "$Q/todo/$f"
  ok $? "the message in it is whole, nothing of the half-written one"
  kill "$fl" 2>/dev/null; wait "$fl" 2>/dev/null
  rm -f "$Q/todo/"* "$Q/free/"*
  # a lone free/N, for every N: taken, whether it is one of the four slots
  # e2e-queue tries by name (from one picked by its process id) or found
  # by its read of free/
  n=0
  for k in $(seq 0 63); do
    : > "$Q/free/$k"; ino=$(stat -c %i "$Q/free/$k")
    e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p) && f=$(ls "$Q/todo") &&
      [ "$(stat -c %i "$Q/todo/$f")" = "$ino" ] && [ -z "$(ls "$Q/free")" ] && n=$((n + 1))
    rm -f "$Q/todo/"* "$Q/free/"* "$Q/tmp/"*
  done
  is "$n" 64 "a lone free/N is taken, for each N of 0..63"
  # a full pool: the first slot tried by name is taken; free/ is not read
  for k in $(seq 0 63); do : > "$Q/free/$k"; done
  strace -q -o "$T_TMP/strace.full" -e trace=getdents,getdents64 e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p)
  is "$(grep -c getdents "$T_TMP/strace.full") $(ls "$Q/free" | wc -l) $(ls "$Q/todo" | wc -l)" "0 63 1" \
    "a full pool: one slot taken by name, free/ not read"
  rm -f "$Q/todo/"* "$Q/free/"*
  grep -E 'linkat\(.*todo/' "$T_TMP/strace" >/dev/null
  ok $? "the link goes into queue/todo/"
  rm -f "$Q/todo/"*
else
  ok 0 "# SKIP strace not installed"; ok 0 "# SKIP strace not installed"
fi

# ---- the trigger: one byte for a reader ----
exec 7<>"$Q/trigger"
e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p)
got=$(timeout 2 dd bs=1 count=1 <&7 2>/dev/null | od -An -c | tr -d ' ')
is "$got" '\0' "the trigger FIFO got a byte"
exec 7<&-
e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p)
is "$?" 0 "no reader on the trigger: still exit 0"
rm -f "$Q/trigger"
e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p)
is "$?" 0 "no trigger FIFO at all: still exit 0"
mkfifo -m 0600 "$Q/trigger"
rm -f "$Q/todo/"*

# ---- a kill at any moment leaves nothing half-visible ----
# killed while reading the message (after part of it), then while waiting
# for the envelope (message complete), for a small and a large message
killtest() {  # killtest NAME BYTES-BEFORE-KILL CLOSE-FD0
  local name=$1 n=$2 m="$T_TMP/fifo.m" v="$T_TMP/fifo.v" pid
  rm -f "$m" "$v"; mkfifo "$m" "$v"
  e2e-queue < "$m" 1< "$v" 2>/dev/null & pid=$!
  bg_pid $pid
  exec 8>"$m" 9>"$v"
  head -c "$n" /dev/urandom >&8
  [ "$3" = close ] && exec 8>&-
  sleep 0.2
  kill -9 $pid; wait $pid 2>/dev/null
  exec 8>&- 9>&-
  is "$(ntodo)" 0 "SIGKILL $name: nothing in todo/ or tmp/"
}
killtest "mid-message (1 KiB read)" 1024 open
killtest "mid-message (1 MB read)" 1000000 open
killtest "waiting for the envelope" 2048 close
killtest "waiting for the envelope of a 1 MB message" 1000000 close

# ---- a new queue without its subdirectories ----
rm -rf "$Q/tmp" "$Q/todo"
e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p)
is "$?" 0 "queue/tmp and queue/todo are created when missing"
is "$(ls "$Q/todo" | wc -l)" 1 "and the message is in todo/"

# ---- settings ----
env -u E2E_HOME e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p) 2>"$T_TMP/err"
is "$?" 100 "no E2E_HOME: exit 100"
like "$(cat "$T_TMP/err")" 'E2E_HOME' "the message names E2E_HOME"
E2E_HOME=$T_TMP/nonexistent e2e-queue < "$T_TMP/msg" 1< <(envelope a@b.i2p c@d.i2p) 2>"$T_TMP/err"
is "$?" 111 "unusable queue: exit 111"
like "$(cat "$T_TMP/err")" '^e2e-queue: fatal: unable to ' "skalibs-style message"

done_testing
