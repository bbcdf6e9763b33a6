#!/bin/sh
# e2e-setup HOME DOMAIN: creates a mail home with every default.
# Never overwrites a key, the users file or a setting that is already there,
# so running it again only adds what is missing.
set -eu
PROG=e2e-setup
die() { echo "$PROG: fatal: $*" >&2; exit "${EXIT:-111}"; }
[ $# -eq 2 ] || { EXIT=100; die "usage: e2e-setup HOME DOMAIN"; }
home=$1 domain=$(printf '%s' "$2" | tr 'A-Z' 'a-z')
case $domain in
  *[!a-z0-9.-]*|.*|*.|*..*|"") EXIT=100; die "malformed domain: $2" ;;
  *.i2p) ;;
  *) EXIT=100; die "the domain must end in .i2p: $2" ;;
esac
case $home in /*) ;; *) home=$(pwd)/$home ;; esac
bindir=$(cd "$(dirname "$0")" && pwd)

umask 077
mkdir -p "$home" || die "unable to create $home"
cd "$home"
mkdir -p env mail cache queue/tmp queue/todo queue/mess queue/info || die "unable to create the directories in $home"
[ -p queue/trigger ] || mkfifo -m 0600 queue/trigger || die "unable to create queue/trigger"
[ -e users ] || : > users || die "unable to create users"

# setting NAME VALUE: one envdir file, only where none exists yet.
setting() {
  [ -e "env/$1" ] && return 0
  printf '%s\n' "$2" > "env/$1.tmp" && mv "env/$1.tmp" "env/$1" || die "unable to write env/$1"
}
setting E2E_HOME "$home"
setting E2E_DOMAIN "$domain"
setting E2E_SAM 127.0.0.1:7656
setting E2E_SAM_ID e2e
setting E2E_SAM_OPTIONS ""
setting E2E_SMTP 127.0.0.1:2525
setting E2E_POP3 127.0.0.1:1110
setting E2E_MAXSIZE 10485760
setting E2E_WARN 14400
setting E2E_LIFETIME 604800
setting E2E_RETRY 300
setting E2E_TIMEOUT 300
setting E2E_CONCURRENCY 10
setting E2E_LOCALCONCURRENCY 10
setting E2E_QUEUE e2e-queue
setting E2E_VERIFY e2e-verify
setting PATH "$bindir:/usr/bin:/bin"

# The s6 scan directory: one service directory per template in run/, and
# a log directory each. samaccept stays down until there is a key.
tmpl=$bindir/../run
[ -d "$tmpl" ] || tmpl=$bindir/../share/e2e/run
[ -d "$tmpl" ] || die "no service templates beside $bindir"
mkdir -p service log || die "unable to create service/ and log/"
for t in "$tmpl"/*/; do
  s=$(basename "$t")
  mkdir -p "log/$s" || die "unable to create log/$s"
  [ -e "service/$s" ] && continue
  cp -R "$t" "service/.$s.tmp" && mv "service/.$s.tmp" "service/$s" || die "unable to create service/$s"
  [ "$s" != samaccept ] || [ -e key ] || : > "service/$s/down"
done
echo "$PROG: mail home $home for $domain is ready"
