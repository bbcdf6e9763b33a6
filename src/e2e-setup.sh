#!/bin/sh
# e2e-setup [-r] HOME DOMAIN: creates a mail home with every default, and
# its s6 scan directory (HOME/service) from the service templates.
# -r: remote access too (docs/remote-access.md): the services remote-smtp
# and remote-pop3 (submission and POP3 on two private destinations, keys
# in HOME/remote/smtp/key and HOME/remote/pop3/key), down until their keys
# exist. Later runs keep and repair them, with or without -r.
# Always smtpd-tls and pop3d-tls (STARTTLS, STLS: docs/tls.md), down until
# their addresses E2E_SMTPTLS and E2E_POP3TLS are in env/.
# Never overwrites a key, the users file or a setting that is already there,
# so running it again only adds what is missing (and, as root, repairs
# owners and modes).
#
# Run as root it also makes the service accounts and gives every part of
# the home its owner (docs/operations.md says who may do what, and why):
#   e2e-smtpd   local submission (tcpserver, e2e-smtpd, e2e-scrub)
#   e2e-sam     mail from I2P: e2e-samaccept (given the key on a
#               descriptor by its run script) and what it runs per peer
#   e2e-queue   the queue: e2e-runner, e2e-bounce; libexec/e2e-queue
#   e2e-remote  e2e-remote and its e2e-resolve (libexec/e2e-remote)
#   e2e-mail    the Maildirs: e2e-pop3d; e2e-local (libexec/e2e-local)
#   e2e-fetch   e2e-popfetch (a mail.i2p mailbox): owns HOME/popfetch
#   e2e-log     the loggers (s6-log)
# and the groups e2e (e2e-smtpd, e2e-sam: may run libexec/e2e-queue) and
# e2e-auth (e2e-smtpd, e2e-mail: may read the password hashes in users,
# and e2e-tlsd's key in HOME/tls).
# The key is root's alone. HOME/libexec holds setuid copies, qmail-queue
# style: e2e-queue (e2e-queue:e2e), e2e-local (e2e-mail:e2e-queue) and
# e2e-remote (e2e-remote:e2e-queue), each mode 4110.
set -eu
PROG=e2e-setup
die() { echo "$PROG: fatal: $*" >&2; exit "${EXIT:-111}"; }
warn() { echo "$PROG: warning: $*" >&2; }
remote=; [ "${1:-}" != -r ] || { remote=1; shift; }
[ $# -eq 2 ] || { EXIT=100; die "usage: e2e-setup [ -r ] HOME DOMAIN"; }
home=$1 domain=$(printf '%s' "$2" | tr 'A-Z' 'a-z')
case $domain in
  *[!a-z0-9.-]*|.*|*.|*..*|"") EXIT=100; die "malformed domain: $2" ;;
  *.i2p) ;;
  *) EXIT=100; die "the domain must end in .i2p: $2" ;;
esac
case $home in /*) ;; *) home=$(pwd)/$home ;; esac
bindir=$(cd "$(dirname "$0")" && pwd)
# the service templates: installed (PREFIX/share/e2e/run) or in the source tree
tmpl=$bindir/../share/e2e/run
[ -f "$tmpl/runner/run" ] || tmpl=$bindir/../run
[ -f "$tmpl/runner/run" ] || die "no service templates in $bindir/../share/e2e/run or $bindir/../run"
tmpl=$(cd "$tmpl" && pwd)
# the default settings, one envdir file each, beside the templates
# (PREFIX/share/e2e/env, or env/ in the source tree)
defaults=$(cd "$tmpl/../env" 2>/dev/null && pwd) && [ -f "$defaults/E2E_SAM" ] ||
  die "no default settings in $tmpl/../env"
root=; [ "$(id -u)" != 0 ] || root=1

# As an ordinary user everything is private to that user; as root, what
# the services must read is readable and the rest is set below.
if [ -n "$root" ]; then umask 022; else umask 077; fi
mkdir -p "$home" || die "unable to create $home"
cd "$home"
mkdir -p env cache && (umask 077 && mkdir -p mail popfetch queue/tmp queue/todo queue/mess queue/info queue/free) ||
  die "unable to create the directories in $home"
# mail/ is the top of a hierarchy for ext2/3/4's directory allocator
# (chattr +T, as for /home): each Maildir made below it gets a block group
# of its own, away from the queue and from other programs' files. Without
# a journal a new inode is found only past every inode freed near it in
# the last minutes; a Maildir beside a busy queue pays that per delivery.
# Other file systems have no such flag: nothing to do there.
case $(stat -f -c %T mail 2>/dev/null) in
  ext2/ext3) chattr +T mail 2>/dev/null || warn "unable to mark mail/ as a top directory (chattr +T)" ;;
esac
[ -z "$remote" ] || (umask 077 && mkdir -p remote/smtp remote/pop3) || die "unable to create remote/"
[ -p queue/trigger ] || mkfifo -m 0600 queue/trigger || die "unable to create queue/trigger"
[ -e users ] || : > users || die "unable to create users"
# recipients: the names in users, without the hashes (e2e-passwd keeps
# it up to date; this catches a users file edited by hand).
names=$(sed -n 's/^\([^:][^:]*\):.*$/\1/p' users) || die "unable to read users"
if [ ! -e recipients ] || [ "$(cat recipients)" != "$names" ]; then
  { [ -z "$names" ] || printf '%s\n' "$names"; } > recipients.tmp && mv -f recipients.tmp recipients ||
    die "unable to write recipients"
fi

# setting NAME VALUE: one envdir file, only where none exists yet.
setting() {
  [ -e "env/$1" ] && return 0
  printf '%s\n' "$2" > "env/$1.tmp" && mv "env/$1.tmp" "env/$1" || die "unable to write env/$1"
}
setting E2E_HOME "$home"
setting E2E_DOMAIN "$domain"
setting PATH "$bindir:/usr/bin:/bin"
# every other setting from the defaults, where the home has none yet
for f in "$defaults"/*; do
  n=${f##*/}
  [ -e "env/$n" ] || { cp "$f" "env/$n.tmp" && mv "env/$n.tmp" "env/$n"; } || die "unable to write env/$n"
done

# The s6 scan directory: one service directory per template in run/, and
# a log directory each; smtpd-tls and pop3d-tls, STARTTLS and STLS for
# clients beyond loopback (docs/tls.md), are made from the smtpd and pop3d
# templates, whose scripts tell by the service's name which it is.
# samaccept stays down until there is a key: its down file says so, and a
# later run removes that file (only that one) once the key exists. The
# same for remote-smtp and remote-pop3 (made with -r only) and their
# keys, and for smtpd-tls and pop3d-tls and their addresses in env/.
DOWNMARK="e2e-setup: down until there is a key (e2e-keygen), then run e2e-setup again"
TLSMARK="e2e-setup: down until its address is in env/ (docs/tls.md), then run e2e-setup again"
# needs SERVICE: the file it waits for, if any; mark SERVICE: its down file
needs() {
  case $1 in
    samaccept) echo key ;; remote-smtp) echo remote/smtp/key ;; remote-pop3) echo remote/pop3/key ;;
    smtpd-tls) echo env/E2E_SMTPTLS ;; pop3d-tls) echo env/E2E_POP3TLS ;;
  esac
}
mark() { case $1 in *-tls) echo "$TLSMARK" ;; *) echo "$DOWNMARK" ;; esac; }
# mksvc SERVICE: log/SERVICE, and service/SERVICE from its template unless
# it exists (put in place whole, down file and all; added=1)
added=
mksvc() {
  mkdir -p "log/$1" || die "unable to create log/$1"
  [ -e "service/$1" ] && return 0
  rm -rf "service/.$1.tmp"
  cp -R "$tmpl/${1%-tls}" "service/.$1.tmp" &&
    { k=$(needs "$1"); [ -z "$k" ] || [ -s "$k" ] || mark "$1" > "service/.$1.tmp/down"; } &&
    mv "service/.$1.tmp" "service/$1" || die "unable to create service/$1"
  added=1
}
mkdir -p service log || die "unable to create service/ and log/"
for t in "$tmpl"/*/; do
  s=$(basename "$t")
  case $s in remote-*) [ -n "$remote" ] || [ -e "service/$s" ] || continue ;; esac
  mksvc "$s"
done
mksvc smtpd-tls
mksvc pop3d-tls
# ready: a running s6-svscan takes in the services added, now that they
# are set up (no s6-svscan: nothing to do); the last word.
ready() {
  [ -z "$added" ] || s6-svscanctl -a service 2>/dev/null || :
  echo "$PROG: mail home $home for $domain is ready"
}
# A service directory made from older templates is kept (it may hold the
# admin's changes), but said so: after an upgrade the accounts may need
# the new run scripts (samaccept's key on a descriptor, the runner's PATH).
for d in service/*/; do
  s=$(basename "$d") t=$tmpl/${s%-tls}/
  [ -f "$t/run" ] || continue
  cmp -s "$t/run" "service/$s/run" ||
    warn "service/$s/run differs from $t""run: to take the new one, stop the tree, remove service/$s and run e2e-setup again"
done
if [ -n "$remote" ] && { [ ! -e remote/smtp/key ] || [ ! -e remote/pop3/key ]; }; then
  echo "$PROG: remote access: make its two private keys (never publish them), then run e2e-setup again:"
  echo "  s6-envdir $home/env env E2E_HOME=$home/remote/smtp e2e-keygen"
  echo "  s6-envdir $home/env env E2E_HOME=$home/remote/pop3 e2e-keygen"
fi
for s in samaccept remote-smtp remote-pop3 smtpd-tls pop3d-tls; do
  k=$(needs "$s")
  if [ -s "$k" ] && [ -f "service/$s/down" ] && [ "$(cat "service/$s/down")" = "$(mark "$s")" ]; then
    rm -f "service/$s/down"
    ! s6-svok "service/$s" 2>/dev/null || s6-svc -u "service/$s" || :
    echo "$PROG: $s enabled: there is $k now"
  fi
done
# e2e-tlsd's certificate and key (docs/tls.md)
mkdir -p tls || die "unable to create tls/"
if { [ -s env/E2E_SMTPTLS ] || [ -s env/E2E_POP3TLS ]; } && { [ ! -s tls/cert.pem ] || [ ! -s tls/key.pem ]; }; then
  warn "no $home/tls/cert.pem or key.pem: STARTTLS and STLS are refused until both are there (docs/tls.md)"
fi

if [ -z "$root" ]; then
  ready
  exit 0
fi

# ---- as root: accounts, owners, modes ----
nologin=/usr/sbin/nologin
[ -x $nologin ] || nologin=/bin/false
command -v useradd >/dev/null && command -v groupadd >/dev/null && command -v usermod >/dev/null ||
  die "useradd, groupadd and usermod are needed to make the service accounts (Debian: passwd)"

# retry CMD...: the account tools fail while another one holds the lock
# of /etc/passwd; the last error is shown.
retry() {
  n=0
  until err=$("$@" 2>&1); do
    n=$((n + 1))
    case $err in *lock*) ;; *) n=20 ;; esac
    [ $n -lt 20 ] || { [ -z "$err" ] || echo "$err" >&2; return 1; }
    sleep 0.25
  done
}
group() {   # group NAME
  getent group "$1" >/dev/null || retry groupadd --system "$1" || getent group "$1" >/dev/null ||
    die "unable to create the group $1"
}
account() {   # account NAME GROUP COMMENT: NAME's own group, and GROUP too
  name=$1 grp=$2 comment=$3
  if ! getent passwd "$name" >/dev/null; then
    if getent group "$name" >/dev/null; then own="--gid $name"; else own=--user-group; fi
    retry useradd --system $own --no-create-home --home-dir /nonexistent --shell "$nologin" \
      --comment "$comment" ${grp:+--groups "$grp"} "$name" || getent passwd "$name" >/dev/null ||
      die "unable to create the account $name"
  fi
  if [ -n "$grp" ] && ! id -nG "$name" | tr ' ' '\n' | grep -qx "$grp"; then
    retry usermod -a -G "$grp" "$name" || die "unable to add $name to the group $grp"
  fi
}
group e2e
group e2e-auth
account e2e-queue "" "e2e mail queue and runner"
account e2e-remote "" "e2e mail sent to I2P"
account e2e-fetch e2e "e2e mail fetched from mail.i2p"
account e2e-mail e2e-auth "e2e mail Maildirs, POP3"
account e2e-smtpd e2e "e2e mail SMTP submission"
account e2e-smtpd e2e-auth "e2e mail SMTP submission"
account e2e-sam e2e "e2e mail from I2P"
account e2e-log "" "e2e mail logs"
# in homes set up by earlier versions e2e-mail held the queue and was in
# the group e2e; it may no longer run libexec/e2e-queue
if id -nG e2e-mail | tr ' ' '\n' | grep -qx e2e; then
  retry gpasswd -d e2e-mail e2e || die "unable to take e2e-mail out of the group e2e"
fi

# The setuid copies let e2e-smtpd and e2e-sam queue mail into a queue
# they cannot read, and let the runner deliver into Maildirs it cannot
# read and send as an account that reads neither. Where the home's file
# system ignores setuid (nosuid), or the programs are a sanitizer build
# (LeakSanitizer cannot work in a setuid process), there are no copies:
# everything but the loggers runs as e2e-mail (less separation, but mail
# flows; the key stays root's).
smtpd_user=e2e-smtpd sam_user=e2e-sam queue_user=e2e-queue remote_user=e2e-remote fetch_user=e2e-fetch nosuid=
if findmnt -n -o OPTIONS --target "$home" 2>/dev/null | tr ',' '\n' | grep -qx nosuid; then
  nosuid="$home is on a file system mounted nosuid"
elif grep -q __asan_init "$bindir/e2e-queue" 2>/dev/null; then
  nosuid="$bindir/e2e-queue is a sanitizer build, which cannot run setuid"
fi
# copy PROG OWNER:GROUP: the setuid copy libexec/PROG, refreshed when
# the installed PROG changes.
copy() {
  [ -x "$bindir/$1" ] || die "no $bindir/$1"
  if ! cmp -s "$bindir/$1" "libexec/$1"; then
    rm -f "libexec/.$1.tmp"
    cp "$bindir/$1" "libexec/.$1.tmp" &&
    chown "$2" "libexec/.$1.tmp" && chmod 4110 "libexec/.$1.tmp" &&
    mv -f "libexec/.$1.tmp" "libexec/$1" || die "unable to install libexec/$1"
  fi
  chown "$2" "libexec/$1" && chmod 4110 "libexec/$1" || die "unable to set up libexec/$1"
}
if [ -n "$nosuid" ]; then
  warn "$nosuid: no setuid copies, the services run as e2e-mail (see docs/operations.md)"
  smtpd_user=e2e-mail sam_user=e2e-mail queue_user=e2e-mail remote_user=e2e-mail fetch_user=e2e-mail
  rm -f libexec/e2e-queue libexec/e2e-local libexec/e2e-remote
else
  mkdir -p libexec
  chown root:root libexec && chmod 755 libexec || die "unable to set up libexec/"
  copy e2e-queue e2e-queue:e2e
  copy e2e-local e2e-mail:e2e-queue
  copy e2e-remote e2e-remote:e2e-queue
fi

# Only paths in the home itself (root's) are changed by name; what lies
# inside the accounts' own directories is changed with chown -R, which
# works through directory descriptors and never follows a symbolic link:
# nothing an account renames or links there can redirect a change made
# by root to another file.
# owner OWNER:GROUP MODE NAME...: both, for names in the home that exist.
owner() {
  o=$1 m=$2; shift 2
  for p in "$@"; do
    [ -e "$p" ] && [ ! -L "$p" ] || continue
    chown "$o" "$p" && chmod "$m" "$p" || die "unable to set the owner and mode of $home/$p"
  done
}
# tree OWNER:GROUP DIR: DIR and everything in it.
tree() { chown -R -h "$1" "$2" || die "unable to give $home/$2 to ${1%:*}"; }

# root's: the home, the settings, the service tree (s6 runs it as root:
# no service may write there), the public files, and the key: the
# samaccept run script opens it as root and hands e2e-samaccept the
# descriptor, so that no account can read the file.
owner root:root 755 . env service log
find env -type f -exec chown root:root {} + -exec chmod 644 {} + || die "unable to set up env/"
owner root:root 644 i2pmail.key b32 domains routes
owner root:e2e-auth 640 users
owner root:e2e-auth 644 recipients
owner root:root 600 key
# e2e-tlsd's certificate and key: the key is read by the accounts of the
# services that run it, e2e-smtpd and e2e-mail (the group e2e-auth)
owner root:e2e-auth 750 tls
owner root:e2e-auth 640 tls/key.pem
owner root:root 644 tls/cert.pem
# remote access: the private destinations' keys, root's alone like the
# key; their b32 addresses are for the owner's mail clients only.
owner root:root 700 remote remote/smtp remote/pop3
owner root:root 600 remote/smtp/key remote/pop3/key
owner root:root 644 remote/smtp/b32 remote/pop3/b32 remote/smtp/i2pmail.key remote/pop3/i2pmail.key
# the queue is e2e-queue's, the Maildirs e2e-mail's.
tree "$queue_user:$queue_user" queue
tree e2e-mail:e2e-mail mail
owner "$queue_user:$queue_user" 700 queue
owner e2e-mail:e2e-mail 700 mail
# e2e-popfetch's login (auth, 0600) and record of what it fetched
tree "$fetch_user:$fetch_user" popfetch
owner "$fetch_user:$fetch_user" 700 popfetch
# e2e-resolve's cache: written as e2e-remote (sending) and as e2e-sam
# (e2e-verify, checking senders).
chgrp -R -h "$sam_user" cache || die "unable to set up cache/"
owner "$remote_user:$sam_user" 2770 cache
# a route's login (HOME/auth, made by the admin: docs/postman.md): the
# sending account's alone
owner "$remote_user:$remote_user" 600 auth
# the logs
for d in log/*/; do
  d=${d%/}
  [ ! -L "$d" ] || continue
  tree e2e-log:e2e-log "$d"
  owner e2e-log:e2e-log 750 "$d"
done

# Who runs each service: data/user in its directory and in its log/.
runas() {   # runas DIR ACCOUNT
  mkdir -p "$1/data"
  [ "$(cat "$1/data/user" 2>/dev/null)" = "$2" ] || echo "$2" > "$1/data/user" || die "unable to write $1/data/user"
}
for d in service/*/; do
  s=$(basename "$d")
  case $s in
    smtpd|smtpd-tls) runas "service/$s" "$smtpd_user" ;;
    samaccept) runas "service/$s" "$sam_user" ;;
    runner) runas "service/$s" "$queue_user" ;;
    pop3d|pop3d-tls) runas "service/$s" e2e-mail ;;
    popfetch) runas "service/$s" "$fetch_user" ;;
    remote-smtp) runas "service/$s" "$smtpd_user" ;;
    remote-pop3) runas "service/$s" e2e-mail ;;
    *) continue ;;
  esac
  [ ! -d "service/$s/log" ] || runas "service/$s/log" e2e-log
done
# What the services read in their directories (notification-fd, data/)
# is readable, nothing there is writable but by root; s6's own supervise/
# and event/, and the peers/ slot locks the smtpd and pop3d run scripts
# make for their account, are left as they are.
find service \( -name supervise -o -name event -o -name .s6-svscan -o -name peers \) -prune -o -exec chown -h root:root {} + -exec chmod go+rX,go-w {} + ||
  die "unable to set up service/"

# The accounts must reach the home and the programs.
if command -v s6-setuidgid >/dev/null; then
  cannot=
  for a in e2e-mail e2e-smtpd e2e-sam e2e-queue e2e-remote e2e-fetch e2e-log; do
    s6-setuidgid "$a" test -x "$home" 2>/dev/null || cannot="$cannot $a"
  done
  [ -z "$cannot" ] ||
    warn "the accounts cannot reach $home (a directory above it is not searchable by others): the services will fail"
  s6-setuidgid "$queue_user" test -x "$bindir/e2e-runner" 2>/dev/null ||
    warn "$queue_user cannot run $bindir/e2e-runner (a directory above it is not searchable by others): the services will fail"
fi
ready
