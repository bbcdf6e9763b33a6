#!/bin/bash
# make install with PREFIX and DESTDIR: programs, man pages and the s6
# service templates where they belong; the installed e2e-setup finds its
# templates (PREFIX/share/e2e/run) and makes a home that runs the
# installed programs.
. "$(dirname "$0")/lib.sh"

chmod 755 "$T_TMP"
dest=$T_TMP/dest
prefix=/opt/e2e
# -o all: install what is built, never rebuild here (make check may have
# built with other flags).
out=$(make -s -C "$TOP" -o all install DESTDIR="$dest" PREFIX="$prefix" 2>&1)
ok $? "make install DESTDIR=… PREFIX=$prefix"
[ -z "$out" ] || diag "$out"
P=$dest$prefix

missing=
for b in "$TOP"/bin/e2e-*; do
  n=$(basename "$b")
  [ -x "$P/bin/$n" ] && cmp -s "$b" "$P/bin/$n" || missing="$missing $n"
done
is "$missing" "" "every program in $prefix/bin, executable"
missing=
for m in "$TOP"/src/e2e-*.8; do
  n=$(basename "$m")
  [ -f "$P/share/man/man8/$n" ] || missing="$missing $n"
done
is "$missing" "" "every man page in $prefix/share/man/man8"
for n in e2e-setup e2e-passwd e2e-qstat; do
  [ -f "$P/share/man/man8/$n.8" ] && out=$(man --warnings -l "$P/share/man/man8/$n.8" 2>&1 >/dev/null)
  ok "$([ $? = 0 ] && [ -z "$out" ]; echo $?)" "$n.8 is installed and renders without warnings"
  [ -z "$out" ] || diag "$out"
done
diff -r "$TOP/run" "$P/share/e2e/run" >/dev/null
ok $? "the service templates in $prefix/share/e2e/run"
is "$(find "$P/share/e2e/run" -name run ! -perm -755 | wc -l)" 0 "their run scripts are executable"
diff -r "$TOP/env" "$P/share/e2e/env" >/dev/null
ok $? "the default settings (env/) in $prefix/share/e2e/env"
is "$(find "$dest" ! -user "$(id -u)" | wc -l)" 0 "nothing installed belongs to another user"

# the installed e2e-setup
home=$T_TMP/home
out=$("$P/bin/e2e-setup" "$home" alice.i2p 2>&1)
ok $? "the installed e2e-setup makes a home"
like "$out" "mail home $home for alice\.i2p is ready" "and says so"
if [ "$(stat -f -c %T "$home")" = ext2/ext3 ]; then
  lsattr -d "$home/mail" 2>/dev/null | grep -q '^[^ ]*T'
  ok $? "on ext4, mail/ is the top of a hierarchy (chattr +T): each Maildir in a block group of its own"
  # chattr failing (here a stand-in that refuses): a warning, the home made
  mkdir -p "$T_TMP/nochattr" && printf '#!/bin/sh\nexit 1\n' >"$T_TMP/nochattr/chattr" && chmod +x "$T_TMP/nochattr/chattr"
  out2=$(PATH="$T_TMP/nochattr:$PATH" "$P/bin/e2e-setup" "$T_TMP/home4" alice.i2p 2>&1)
  ok $? "chattr failing: e2e-setup still makes the home"
  like "$out2" 'warning: unable to mark mail/ as a top directory \(chattr \+T\)' "... and warns"
else
  unlike "$out" "chattr" "no chattr where the file system has no such flag"
fi
for s in smtpd pop3d samaccept runner; do
  cmp -s "$P/share/e2e/run/$s/run" "$home/service/$s/run" && cmp -s "$P/share/e2e/run/$s/log/run" "$home/service/$s/log/run"
  ok $? "service/$s comes from the installed templates"
done
is "$(cat "$home/env/PATH")" "$P/bin:/usr/bin:/bin" "the services run the installed programs"
missing=
for f in "$P"/share/e2e/env/*; do cmp -s "$f" "$home/env/${f##*/}" || missing="$missing ${f##*/}"; done
is "$missing" "" "every default setting in the home's env/, as installed"
echo 5 >"$home/env/E2E_CONCURRENCY"; rm "$home/env/E2E_WARN"
"$P/bin/e2e-setup" "$home" alice.i2p >/dev/null 2>&1
is "$(cat "$home/env/E2E_CONCURRENCY") $(cat "$home/env/E2E_WARN")" "5 14400" "run again: a changed setting kept, a missing one back"
if [ "$(id -u)" = 0 ]; then
  if grep -q __asan_init "$P/bin/e2e-queue"; then
    [ ! -e "$home/libexec/e2e-queue" ] && [ ! -e "$home/libexec/e2e-local" ] && [ ! -e "$home/libexec/e2e-remote" ]
    ok $? "as root, a sanitizer build: no setuid copies (they cannot run setuid)"
  else
    for p in e2e-queue e2e-local e2e-remote; do
      cmp -s "$P/bin/$p" "$home/libexec/$p" && [ -u "$home/libexec/$p" ]
      ok $? "as root: libexec/$p is a setuid copy of the installed $p"
    done
    # an upgrade: a changed program is copied again, setuid as before
    printf '\n' >>"$P/bin/e2e-local"
    "$P/bin/e2e-setup" "$home" alice.i2p >/dev/null 2>&1
    cmp -s "$P/bin/e2e-local" "$home/libexec/e2e-local" && [ "$(stat -c '%U:%G %a' "$home/libexec/e2e-local")" = "e2e-mail:e2e-queue 4110" ]
    ok $? "e2e-setup after an upgrade refreshes libexec/e2e-local (e2e-mail:e2e-queue 4110)"
  fi
  sam=e2e-sam; grep -q __asan_init "$P/bin/e2e-queue" && sam=e2e-mail   # no setuid copies: all as e2e-mail
  is "$(stat -c '%U:%G %a' "$home/key" 2>/dev/null || echo none) $(cat "$home/service/samaccept/data/user")" "none $sam" \
    "as root: samaccept runs as $sam (no key yet: nothing to own)"
fi
mv "$P/share/e2e/env" "$P/share/e2e/env.away"
out=$("$P/bin/e2e-setup" "$T_TMP/home3" alice.i2p 2>&1)
is "$?" 111 "without the default settings e2e-setup fails"
like "$out" "no default settings in $P/share/e2e/run/\.\./env" "and says where it looked"
rm -rf "$P/share/e2e/run"
out=$("$P/bin/e2e-setup" "$T_TMP/home2" alice.i2p 2>&1)
is "$?" 111 "without templates e2e-setup fails"
like "$out" "no service templates in $P/bin/\.\./share/e2e/run" "and says where it looked"

done_testing
