#!/bin/sh
# make deps: installs every Debian package that building, testing and the
# demo need. As root it runs apt-get; otherwise it prints the command.
# tests/deps.sh [--check] [PKG...]: those packages instead (the bench's);
# --check: only tell whether they are all installed (exit 0) or not (1).
check=""
[ "${1:-}" != --check ] || { check=1; shift; }
PKGS="$*"
[ -n "$PKGS" ] || PKGS="build-essential linux-libc-dev musl-tools clang skalibs-dev libbearssl-dev libcrypt-dev s6 execline ucspi-tcp
 i2pd busybox python3 swaks mpop perl strace procps man-db libclang-rt-14-dev valgrind
 openssl e2fsprogs libio-socket-ssl-perl libnet-ssleay-perl spamd spamc rspamd"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -n "$missing" ] || { echo "deps: all installed"; exit 0; }
[ -z "$check" ] || { echo "deps: missing:$missing"; exit 1; }
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing:$missing"
  echo "deps: run as root: apt-get install -y --no-install-recommends$missing"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || exit 1
# shellcheck disable=SC2086   # one word per package
apt-get install -y -qq --no-install-recommends $missing
