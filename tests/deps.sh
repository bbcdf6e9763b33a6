#!/bin/sh
# make deps: installs every Debian package that building, testing and the
# demo need. As root it runs apt-get; otherwise it prints the command.
PKGS="build-essential clang skalibs-dev libbearssl-dev libcrypt-dev s6 execline ucspi-tcp
 i2pd busybox python3 swaks mpop perl strace procps man-db libclang-rt-14-dev valgrind"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -n "$missing" ] || { echo "deps: all installed"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing:$missing"
  echo "deps: run as root: apt-get install -y --no-install-recommends$missing"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || exit 1
apt-get install -y -qq --no-install-recommends $missing
