#!/bin/sh
# PROG for tests/samaccept.t: records its environment and its open file
# descriptors in $SAMACCEPT_OUT/env.PID and fds.PID, then echoes the stream.
out=${SAMACCEPT_OUT:?}
env >"$out/env.$$.tmp"
ls /proc/self/fd >"$out/fds.$$.tmp"
mv "$out/fds.$$.tmp" "$out/fds.$$"
mv "$out/env.$$.tmp" "$out/env.$$"
exec cat
