#!/bin/bash
# The demo's core in CI: demo/demo.sh (what `make demo` runs after
# `make deps all`) must deliver and verify its message over the private
# I2P network, and leave no process of its own behind.
. "$(dirname "$0")/lib.sh"
if [ "${E2E_TEST_NOI2P:-0}" = 1 ]; then echo "1..0 # SKIP E2E_TEST_NOI2P=1"; exit 0; fi
out=$(timeout 300 bash "$TOP/demo/demo.sh" 2>&1)
rc=$?
is "$rc" 0 "demo/demo.sh exits 0"
like "$out" "Delivered and verified" "the message arrived and the sender was verified"
like "$out" "Authentication-Results: bob\.i2p; e2e=pass smtp\.mailfrom=alice@alice\.i2p" "Bob's copy carries the pass"
like "$out" "e2e-local: delivered into bob's Maildir" "the hops include the local delivery"
like "$out" "s6 trees, routers and web servers stopped" "everything stopped"
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -40 | sed 's/^/# /'
done_testing
