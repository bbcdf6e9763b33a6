# shellcheck shell=bash
# tests/bench/servers.sh — private server instances for the benchmarks,
# sourced by tests/bench/bench.sh (bash). Everything lives in $BD (a fresh
# directory), listens on 127.0.0.1 on free ports, and is stopped by PID.
#
#   srv_postfix     Postfix, config_directory/queue_directory/data_directory
#                   in $BD/pf; virtual Maildir delivery for bench@pf.test
#                   into $BD/pf/mail/bench/; no DNS; log in $BD/pf/maillog;
#                   on PF_PORT without AUTH (what smtp-source can speak), on
#                   PF_SASL_PORT with AUTH required, checked by Dovecot's
#                   auth service (start srv_dovecot first) against the same
#                   yescrypt hash e2e has
#   srv_dovecot     Dovecot POP3 (own config file), passwd-file with the same
#                   yescrypt hash e2e uses, Maildirs $BD/dc/mail/USER
#   srv_e2e         an e2e mail home $BD/e2e/home (e2e-setup, e2e-passwd)
#                   run by s6-svscan on its service/ directory, as a user
#                   runs it; env/E2E_TRUSTUSER=bench (loopback clients are
#                   the user bench without AUTH), otherwise e2e-setup's
#                   defaults
#   srv_durable     tcpserver + tests/bench/durable.c into $BD/durable/q, and durable -x
#                   (an injector process per message) into $BD/durable/x,
#                   delivered by durable -d into $BD/durable/maildir; durable -X
#                   (two programs a message) into $BD/durable/x2, delivered
#                   into $BD/durable/maildir2
#   srv_sink        smtp-sink
#   srv_stop_all    everything above that runs; safe in a trap
#   srv_workdir N   for the helper scripts (profile.sh, cpu.sh): a fresh
#                   $BD, /tmp/e2e-N.XXXXXX, whose servers are stopped and
#                   which is removed at exit (BENCH_KEEP=1 keeps it)
# Sets PF_PORT PF_SASL_PORT DC_PORT DC_AUTH_PORT E2E_SMTP_PORT E2E_POP3_PORT DUR_PORT SHAPE_PORT SHAPE2_PORT SINK_PORT and
# PF_MASTER (pid), E2E_SVSCAN (pid).

# shellcheck disable=SC2034   # (whole file) the variables set here are read by bench.sh
srv_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
srv_pids=()
E2E_SVSCAN="" PF_MASTER="" DC_MASTER="" DC_AUTH_PORT=""

# srv_workdir NAME (see the list above)
srv_workdir() {
	BD=$(mktemp -d "/tmp/e2e-$1.XXXXXX") || exit 1
	chmod 755 "$BD"
	export BD
	trap 'srv_stop_all; [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$BD"' EXIT
	trap 'exit 130' INT TERM
}

# The kernel's start time of PID (field 22 of /proc/PID/stat), or nothing.
srv_start() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0; s=${s##*) }; set -- $s; echo "${20}"; }
srv_track() { srv_pids+=("$1:$(srv_start "$1")"); }
srv_alive() { [ -n "$1" ] && [ -n "$2" ] && [ "$(srv_start "$1")" = "$2" ]; }

srv_wait_port() {
	local i
	for i in $(seq 100); do
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close()' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: nothing answers on port $1" >&2
	return 1
}

srv_postfix() {
	local pf=$BD/pf
	PF_PORT=$(srv_port) PF_SASL_PORT=$(srv_port)
	DC_AUTH_PORT=${DC_AUTH_PORT:-$(srv_port)}   # Dovecot's auth service (srv_dovecot)
	mkdir -p "$pf/etc" "$pf/spool" "$pf/data" "$pf/mail"
	chown postfix "$pf/data"
	chown nobody:nogroup "$pf/mail"
	cat >"$pf/etc/main.cf" <<-EOF
	compatibility_level = 3.6
	config_directory = $pf/etc
	queue_directory = $pf/spool
	data_directory = $pf/data
	meta_directory = /etc/postfix
	mail_owner = postfix
	setgid_group = postdrop
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	myhostname = pf.bench.test
	mydomain = bench.test
	myorigin = pf.test
	mydestination =
	mynetworks = 127.0.0.0/8
	smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
	virtual_mailbox_domains = pf.test
	virtual_mailbox_base = $pf/mail
	virtual_mailbox_maps = texthash:$pf/etc/vmailbox
	virtual_uid_maps = static:$(id -u nobody)
	virtual_gid_maps = static:$(getent group nogroup | cut -d: -f3)
	smtp_dns_support_level = disabled
	disable_dns_lookups = yes
	biff = no
	alias_maps =
	alias_database =
	append_dot_mydomain = no
	smtputf8_enable = no
	maillog_file = $pf/maillog
	maillog_file_prefixes = $pf
	EOF
	echo "bench@pf.test bench/Maildir/" >"$pf/etc/vmailbox"
	# chroot off (the Debian default chroots into the queue directory)
	cat >"$pf/etc/master.cf" <<-EOF
	127.0.0.1:$PF_PORT inet n - n - 100 smtpd
	127.0.0.1:$PF_SASL_PORT inet n - n - 100 smtpd -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=dovecot -o smtpd_sasl_path=inet:127.0.0.1:$DC_AUTH_PORT -o smtpd_client_restrictions=permit_sasl_authenticated,reject -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
	pickup unix n - n 60 1 pickup
	cleanup unix n - n - 0 cleanup
	qmgr unix n - n 300 1 qmgr
	rewrite unix - - n - - trivial-rewrite
	bounce unix - - n - 0 bounce
	defer unix - - n - 0 bounce
	trace unix - - n - 0 bounce
	verify unix - - n - 1 verify
	flush unix n - n 1000? 0 flush
	proxymap unix - - n - - proxymap
	showq unix n - n - - showq
	error unix - - n - - error
	retry unix - - n - - error
	discard unix - - n - - discard
	local unix - n n - - local
	virtual unix - n n - - virtual
	anvil unix - - n - 1 anvil
	scache unix - - n - 1 scache
	postlog unix-dgram n - n - 1 postlogd
	smtp unix - - n - - smtp
	relay unix - - n - - smtp
	EOF
	postfix -c "$pf/etc" check >"$pf/start.log" 2>&1
	postfix -c "$pf/etc" start >>"$pf/start.log" 2>&1 || { cat "$pf/start.log" >&2; return 1; }
	for _ in $(seq 50); do [ -s "$pf/spool/pid/master.pid" ] && break; sleep 0.1; done
	PF_MASTER=$(tr -dc 0-9 <"$pf/spool/pid/master.pid")
	srv_track "$PF_MASTER"
	srv_wait_port "$PF_PORT"
}

srv_dovecot() {
	local dc=$BD/dc
	DC_PORT=$(srv_port)
	mkdir -p "$dc/run" "$dc/state" "$dc/mail" "$dc/home"
	chown nobody:nogroup "$dc/mail" "$dc/home"
	DC_AUTH_PORT=${DC_AUTH_PORT:-$(srv_port)}
	printf 'pop:{CRYPT}%s\nbench:{CRYPT}%s\n' "$BENCH_HASH" "$BENCH_HASH" >"$dc/passwd"
	cat >"$dc/dovecot.conf" <<-EOF
	base_dir = $dc/run
	state_dir = $dc/state
	log_path = $dc/dovecot.log
	protocols = pop3
	listen = 127.0.0.1
	ssl = no
	disable_plaintext_auth = no
	auth_mechanisms = plain
	mail_location = maildir:$dc/mail/%u
	default_internal_user = dovecot
	default_login_user = dovenull
	passdb {
	  driver = passwd-file
	  args = scheme=CRYPT $dc/passwd
	}
	userdb {
	  driver = static
	  args = uid=nobody gid=nogroup home=$dc/home/%u
	}
	service auth {
	  inet_listener {
	    address = 127.0.0.1
	    port = $DC_AUTH_PORT
	  }
	}
	service pop3-login {
	  inet_listener pop3 {
	    address = 127.0.0.1
	    port = $DC_PORT
	  }
	}
	EOF
	dovecot -c "$dc/dovecot.conf" || { tail "$dc/dovecot.log" >&2; return 1; }
	for _ in $(seq 50); do [ -s "$dc/run/master.pid" ] && break; sleep 0.1; done
	DC_MASTER=$(tr -dc 0-9 <"$dc/run/master.pid")
	srv_track "$DC_MASTER"
	srv_wait_port "$DC_PORT"
}

srv_e2e() {
	local h=$BD/e2e/home
	E2E_SMTP_PORT=$(srv_port) E2E_POP3_PORT=$(srv_port)
	mkdir -p "$BD/e2e"
	chmod 755 "$BD" "$BD/e2e"
	e2e-setup "$h" bench.i2p >"$BD/e2e/setup.log" 2>&1 &&
		printf '%s\n' "$BENCH_PASSWORD" | e2e-passwd "$h" bench >>"$BD/e2e/setup.log" 2>&1 &&
		printf '%s\n' "$BENCH_PASSWORD" | e2e-passwd "$h" pop >>"$BD/e2e/setup.log" 2>&1 || { cat "$BD/e2e/setup.log" >&2; return 1; }
	echo "127.0.0.1:$E2E_SMTP_PORT" >"$h/env/E2E_SMTP"
	echo "127.0.0.1:$E2E_POP3_PORT" >"$h/env/E2E_POP3"
	# Every loopback client counts as the user bench without AUTH (a
	# one-user home; e2e-smtpd(8)), as Postfix's mynetworks lets smtp-source
	# in. AUTH still works, and wins: the e2e-auth runs use it.
	echo bench >"$h/env/E2E_TRUSTUSER"
	BENCH_HASH=$(sed -n 's/^bench://p' "$h/users")
	cp -p "$h/users" "$BD/e2e/users.yescrypt"
	s6-svscan "$h/service" </dev/null >"$BD/e2e/svscan.log" 2>&1 &
	E2E_SVSCAN=$!
	srv_track "$E2E_SVSCAN"
	sleep 0.5
	s6-svwait -U -t 30000 "$h/service/smtpd" "$h/service/pop3d" "$h/service/runner" || return 1
	E2E_TCPSERVER=$(s6-svstat -o pid "$h/service/smtpd") E2E_RUNNER=$(s6-svstat -o pid "$h/service/runner")
	E2E_POP3SERVER=$(s6-svstat -o pid "$h/service/pop3d")
	E2E_MAILUSER=$(stat -c %U:%G "$h/mail")
	E2E_RUNNERUSER=$(cat "$h/service/runner/data/user" 2>/dev/null) || E2E_RUNNERUSER=$(id -un)
	srv_wait_port "$E2E_SMTP_PORT"
}

srv_durable() {
	DUR_PORT=$(srv_port)
	mkdir -p "$BD/durable/q"
	# Started with PATH alone, as e2e's run scripts start its services (env
	# -i) and Postfix's master its daemons (import_environment): a program
	# started a message copies no login shell's environment.
	env -i PATH="$PATH" tcpserver -R -H -l0 -b 64 -c 40 127.0.0.1 "$DUR_PORT" "$BD/bin/durable" "$BD/durable/q" </dev/null >/dev/null 2>&1 &
	srv_track $!
	srv_wait_port "$DUR_PORT"
	# the same with an injector process per message (durable -x) and a
	# delivery into a Maildir beside it (durable -d): the floor of e2e's
	# shape; and with two programs a message (durable -X), as e2e's local
	# submission runs e2e-scrub, which execs e2e-queue
	SHAPE_PORT=$(srv_port) && srv_shape "$SHAPE_PORT" -x "" &&
		SHAPE2_PORT=$(srv_port) && srv_shape "$SHAPE2_PORT" -X 2
}

# srv_shape PORT FLAG SUFFIX: durable FLAG into $BD/durable/xSUFFIX on PORT,
# delivered by durable -d into $BD/durable/maildirSUFFIX
srv_shape() {
	local q=$BD/durable/x$3 m=$BD/durable/maildir$3
	mkdir -p "$q" "$q"done "$m/tmp" "$m/new" "$m/cur"
	"$BD/bin/durable" -d "$q" "$q"done "$m" </dev/null >/dev/null 2>&1 &
	srv_track $!
	env -i PATH="$PATH" tcpserver -R -H -l0 -b 64 -c 40 127.0.0.1 "$1" "$BD/bin/durable" "$2" "$q" </dev/null >/dev/null 2>&1 &
	srv_track $!
	srv_wait_port "$1"
}

srv_sink() {
	SINK_PORT=$(srv_port)
	smtp-sink -u nobody 127.0.0.1:"$SINK_PORT" 256 </dev/null >/dev/null 2>&1 &
	srv_track $!
	srv_wait_port "$SINK_PORT"
}

# Every descendant of PID, as "PID:STARTTIME" words.
srv_descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c:$(srv_start "$c")"
		srv_descendants "$c"
	done
}

srv_stop_all() {
	local p procs="" i left
	[ -n "$BD" ] || return 0
	if [ -f "$BD/pf/etc/main.cf" ] && [ -n "$PF_MASTER" ]; then
		postfix -c "$BD/pf/etc" stop >/dev/null 2>&1
	fi
	if [ -f "$BD/dc/dovecot.conf" ] && [ -n "$DC_MASTER" ]; then
		doveadm -c "$BD/dc/dovecot.conf" stop >/dev/null 2>&1
	fi
	if [ -n "$E2E_SVSCAN" ]; then
		procs=$(srv_descendants "$E2E_SVSCAN")
		s6-svscanctl -t "$BD/e2e/home/service" 2>/dev/null
	fi
	if [ -s "$BD/q5-runner.pid" ]; then
		read -r p i <"$BD/q5-runner.pid"
		procs="$procs $(srv_descendants "$p") $p:$i"
	fi
	for p in "${srv_pids[@]}"; do procs="$procs $(srv_descendants "${p%%:*}") $p"; done
	for i in $(seq 50); do
		left=""
		for p in $procs; do srv_alive "${p%%:*}" "${p#*:}" && left=1; done
		[ -n "$left" ] || break
		[ "$i" = 20 ] && for p in $procs; do srv_alive "${p%%:*}" "${p#*:}" && kill "${p%%:*}" 2>/dev/null; done
		sleep 0.1
	done
	for p in $procs; do srv_alive "${p%%:*}" "${p#*:}" && kill -9 "${p%%:*}" 2>/dev/null; done
	srv_pids=() E2E_SVSCAN="" PF_MASTER="" DC_MASTER="" DC_AUTH_PORT=""
	return 0
}

srv_q5() {
	local h=$BD/q5/home
	mkdir -p "$BD/q5" && chmod 755 "$BD/q5"
	e2e-setup "$h" bench.i2p >"$BD/q5/setup.log" 2>&1 &&
		printf '%s\n' "$BENCH_PASSWORD" | e2e-passwd "$h" bench >>"$BD/q5/setup.log" 2>&1 || { cat "$BD/q5/setup.log" >&2; return 1; }
	# the runner is started by bench.py (its PID in $BD/q5-runner.pid)
}
