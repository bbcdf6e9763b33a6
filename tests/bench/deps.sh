#!/bin/sh
# tests/bench/deps.sh — the Debian packages `make bench` needs beyond
# `make deps`: Postfix (smtp-source, smtp-sink, the competitor), Dovecot's
# POP3 server, perf. Run as root; installs with the packages' system
# services kept from starting (a temporary policy-rc.d that answers 101),
# Postfix preseeded to "No configuration". The bench never uses the system
# configuration: it runs private instances on loopback (tests/bench/bench.sh).
PKGS="postfix dovecot-pop3d dovecot-core linux-perf python3 ucspi-tcp"
deps="$(dirname "$0")/../deps.sh"
sh "$deps" --check $PKGS >/dev/null && { echo "bench deps: all installed"; exit 0; }
[ "$(id -u)" = 0 ] || { sh "$deps" --check $PKGS; echo "bench deps: run as root: sh tests/bench/deps.sh"; exit 1; }
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
prc=/usr/sbin/policy-rc.d
own=""
if [ ! -e "$prc" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" && own=1
  trap 'rm -f "$prc"' EXIT INT TERM
fi
# shellcheck disable=SC2086   # one word per package
sh "$deps" $PKGS
rc=$?
[ -z "$own" ] || rm -f "$prc"
# Should a system instance have started anyway (no policy-rc.d honoured),
# stop it by the PID in its pid file, never by name.
for pf in /var/spool/postfix/pid/master.pid /run/dovecot/master.pid; do
  [ -s "$pf" ] || continue
  pid=$(tr -dc 0-9 <"$pf")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { echo "bench deps: stopping system service pid $pid ($pf)"; kill "$pid"; }
done
exit $rc
