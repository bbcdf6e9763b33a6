#!/bin/bash
# The short torture run for make check (issue 5): tests/torture.sh with one
# mail home and local mail only (TORTURE_I2P=0): SIGKILLs spread over
# e2e-smtpd, e2e-scrub, e2e-queue, e2e-runner and e2e-local while messages
# flow, for at least 150 messages and 150 kills or 90 s, whichever is first;
# at least 60 kills (a loaded machine catches fewer short-lived e2e-queue
# and e2e-local runs). Nothing answered 250 lost, no duplicate, no
# half-written file, the queue empty. 40-110 s. The programs on the I2P side
# (e2e-remote, e2e-samaccept and what it runs) are killed by the full run,
# `make torture` (a real i2pd network; an e2e-samaccept restart costs 35 s
# and the peer may need 2 minutes to reach it again: too slow for make
# check). TORTURE_* variables given to make check are passed on.
exec env TORTURE_I2P=0 TORTURE_N="${TORTURE_N:-150}" TORTURE_KILLS="${TORTURE_KILLS:-150}" \
	TORTURE_MINKILLS="${TORTURE_MINKILLS:-60}" TORTURE_MAXTIME="${TORTURE_MAXTIME:-90}" \
	bash "$(dirname "$0")/torture.sh"
