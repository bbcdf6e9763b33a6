# shellcheck shell=bash
# tests/spam/spamd.sh — a private SpamAssassin spamd for the tests, sourced.
#   spamd_run DIR PORT    becomes spamd (exec) on 127.0.0.1:PORT: Debian's
#                         plugin list (*.pre) as its whole site configuration
#                         in DIR, no network tests (-L), no per-user files
#                         (-x), log on stderr; as root its children run as
#                         nobody. Start it in the background and stop it by
#                         the PID of that job.
#   spamd_wait PORT SECS  until it answers (spamc -K), at most SECS seconds
spamd_run() {
	mkdir -p "$1" && cp /etc/spamassassin/*.pre "$1/" || return 1
	local asroot=; [ "$(id -u)" = 0 ] && asroot=1
	exec /usr/sbin/spamd -L -x --listen="127.0.0.1:$2" --min-children=1 --max-children=2 \
		--siteconfigpath="$1" --pidfile="$1/pid" -s stderr ${asroot:+-u nobody}
}
spamd_wait() {
	local end=$(($(date +%s) + $2))
	until spamc -d 127.0.0.1 -p "$1" -K >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.3
	done
}
