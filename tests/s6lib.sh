# shellcheck shell=bash
# tests/s6lib.sh — for the tests that run whole s6 trees of a mail home
# (s6.t, privsep.t); sourced after tests/lib.sh. Every tree started with
# tree_up (or added to TREES as HOME=SVSCANPID) is stopped at exit, before
# lib.sh kills what is left by PID.
#   tree_up [RUNNER...] HOME   s6-svscan on HOME/service in the background
#                              (RUNNER: e.g. a command that drops to a user);
#                              SV is its PID, its log $T_TMP/svscan-N.log
#   stop_tree HOME PID         s6-svscanctl -t; 0 once s6-svscan has exited
#   until_ok TENTHS COMMAND... polls every 0.1 s
#   ready DIR                  the service is up and ready
#   all_ready HOME SERVICE...  each service and its logger up and ready
TREES=""
stop_tree() {
	s6-svscanctl -t "$1/service" 2>/dev/null
	for _ in $(seq 150); do kill -0 "$2" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}
s6_cleanup() {
	for t in $TREES; do stop_tree "${t%=*}" "${t#*=}"; done
	t_cleanup
}
trap s6_cleanup EXIT
tree_up() {
	local home=${*: -1} n
	n=$(($(echo "$TREES" | wc -w) + 1))
	svscan_env "$home"
	"${@:1:$#-1}" env "$SVSCAN_ENV" s6-svscan "$home/service" >"$T_TMP/svscan-$n.log" 2>&1 &
	SV=$!
	bg_pid "$SV"
	TREES="$TREES $home=$SV"
}
until_ok() {
	local n=$1; shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
ready() { [ "$(s6-svstat -o up,ready "$1" 2>/dev/null)" = "true true" ]; }
all_ready() {
	local h=$1 s; shift
	for s in "$@"; do ready "$h/service/$s" && ready "$h/service/$s/log" || return 1; done
}
