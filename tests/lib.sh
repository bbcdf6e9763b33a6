# Shared helpers for the TAP test scripts (bash). Source it from a test:
#   . "$(dirname "$0")/lib.sh"
# Run from the repository root (make check does); bin/ is put first on PATH.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$TOP/bin:$PATH"
# For the s6 trees of the tests (env "$SVSCAN_ENV" s6-svscan ...): no leak
# check at exit in the supervised programs. Under the sanitizers
# LeakSanitizer stops an exiting process with ptrace (PTRACE_ATTACH sends
# SIGSTOP); s6-supervise follows each SIGTERM with a SIGCONT, which
# discards a pending SIGSTOP, so a service that exits at once on SIGTERM
# (e2e-samaccept) could spin for ever in the check and the tree never
# stop. Programs the tests run themselves keep the leak check; builds
# without the sanitizers ignore the variable.
# The run scripts pass on only PATH and the home's env/ (env -i), so the
# setting reaches the services as a file there: svscan_env HOME before
# the tree starts.
SVSCAN_ENV="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
svscan_env() { printf '%s\n' "${SVSCAN_ENV#ASAN_OPTIONS=}" >"$1/env/ASAN_OPTIONS"; }
TESTDATA=${E2E_TESTDATA:-$TOP/../shared/testdata}
T_N=0 T_FAIL=0

# t_fail NAME [DIAGNOSTIC]: a failed test, on stdout for TAP and, with its
# diagnostic, on stderr too: prove without -v shows only stderr, so a
# failure in make check's log (CI's) says what was got.
t_fail() {
  T_FAIL=$((T_FAIL + 1))
  echo "not ok $T_N - $1"
  [ -z "${2-}" ] || printf '%s\n' "$2"
  { echo "${0##*/}: not ok $T_N - $1"; [ -z "${2-}" ] || printf '%s\n' "$2"; } >&2
}
ok() {   # ok CONDITION-EXIT-STATUS NAME: ok $? "name"  or  ok 0 "name"
  T_N=$((T_N + 1))
  if [ "$1" = 0 ]; then echo "ok $T_N - $2"; else t_fail "$2"; fi
}
is() {   # is GOT WANT NAME
  T_N=$((T_N + 1))
  if [ "$1" = "$2" ]; then echo "ok $T_N - $3"
  else t_fail "$3" "$(printf '#   got:  %s\n#   want: %s' "$1" "$2")"; fi
}
like() { # like GOT REGEX NAME   (grep -E on the whole text)
  T_N=$((T_N + 1))
  if printf '%s' "$1" | grep -Eq -- "$2"; then echo "ok $T_N - $3"
  else t_fail "$3" "$(printf '#   got: %s\n#   want /%s/\n' "$1" "$2" | head -20)"; fi
}
unlike() {
  T_N=$((T_N + 1))
  if printf '%s' "$1" | grep -Eq -- "$2"; then t_fail "$3" "$(printf '#   got: %s\n' "$1" | head -20)"
  else echo "ok $T_N - $3"; fi
}
diag() { echo "# $*"; }
done_testing() { echo "1..$T_N"; [ "$T_FAIL" = 0 ]; }
# tap_py SCRIPT ARG...: a Python helper that prints "ok NAME" / "not ok NAME"
# (tests/checks.py); each such line is a test, any other a diagnostic; then
# a test that it exited 0 within 120 s ("SCRIPT ARG ran to the end").
tap_py() {
  local out rc line
  out=$(timeout 120 python3 "$@" 2>&1); rc=$?
  while IFS= read -r line; do
    case $line in
      "ok "*) ok 0 "${line#ok }" ;;
      "not ok "*) ok 1 "${line#not ok }" ;;
      *) diag "$line" ;;
    esac
  done <<<"$out"
  ok $rc "$(basename "$1") $2 ran to the end"
}

# A scratch directory removed at exit; processes registered with
# `bg_pid PID` are killed (by PID) at exit too, also on failure.
T_PIDS=""
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/e2e-test.XXXXXX") && chmod 755 "$T_TMP"  # service accounts must reach homes in it
bg_pid() { T_PIDS="$T_PIDS $1"; }
t_cleanup() {
  for p in $T_PIDS; do kill "$p" 2>/dev/null; done
  for p in $T_PIDS; do for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -9 "$p" 2>/dev/null; done
  [ -n "${T_KEEP:-}" ] || rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 'exit 1' INT TERM

# mkhome DIR DOMAIN USER:PASSWORD...  — a mail home with users, made the
# way a user makes one (e2e-setup, e2e-passwd).
mkhome() {
  local home=$1 dom=$2; shift 2
  e2e-setup "$home" "$dom" >/dev/null || return 1
  for up in "$@"; do
    printf '%s\n' "${up#*:}" | e2e-passwd "$home" "${up%%:*}" >/dev/null || return 1
  done
}

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ctl COMMAND...: one control command to the stand-in SAM bridge
# (tests/samaccept/fakesam.py) listening on 127.0.0.1:$FPORT; prints its
# one-line answer.
ctl() {
  local line=
  exec 7<>"/dev/tcp/127.0.0.1/$FPORT" || return 1
  printf 'CTL %s\n' "$*" >&7
  IFS= read -r -t 30 line <&7
  exec 7<&-
  printf '%s\n' "$line"
}
