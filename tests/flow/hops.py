#!/usr/bin/env python3
"""hops.py [--since EPOCH] LABEL=LOGFILE...

The hops a message took, from the s6-log logs of the two mail homes
(s6-log's "T" time stamps: "YYYY-MM-DD HH:MM:SS.nnnnnnnnn  line"): the
lines of all LOGFILEs merged in time order, each known event told in plain
words, with its time from the first one and from the one before. Lines
before EPOCH (seconds, as from date +%s.%N) are skipped. Warnings, fatal
errors and deferrals are shown as they are; the rest (connection counts,
readiness probes) is left out.
"""
import datetime
import re
import sys

# (label regex, line regex, description); \1... from the line regex
EVENTS = [
    (r"smtpd$", r"e2e-smtpd: pid=\d+ auth mech=(\S+) user=(\S+) result=ok",
     r"submission: the mail client (swaks) logs in as \2 (AUTH \1)"),
    (r"smtpd$", r"e2e-smtpd: pid=\d+ message id=\S+ from=<([^>]*)> rcpts=(\d+) size=(\d+) result=queued",
     r"e2e-smtpd accepts the message from <\1> (\3 bytes): e2e-scrub -> e2e-queue, 250"),
    (r"", r"e2e-runner: new id=(\S+) sender=(\S*) rcpts=(\d+)",
     r"e2e-runner takes message \1 from the queue"),
    (r"", r"e2e-resolve: host=(\S+) result=found via=network dest=(\S+) ms=(\d+)",
     r"e2e-resolve \1: http://\1/.well-known/i2pmail.key fetched over I2P in \3 ms: \2"),
    (r"", r"e2e-resolve: host=(\S+) result=found via=(cache|routes|b32) dest=(\S+)",
     r"e2e-resolve \1: from the \2: \3"),
    (r"", r"e2e-remote: connect domain=(\S+) peer=(\S+) port=\S+ result=0 ms=(\d+)",
     r"e2e-remote: SAM STREAM CONNECT to \1's mail server \2, from our own mail destination"),
    (r"", r"e2e-samaccept: ok pid=(\d+) peer=(\S+)",
     r"e2e-samaccept: a stream from \2; e2e-smtpd (PROTO=SAM) runs as pid \1"),
    (r"", r"e2e-verify: from=(\S+) peer=(\S+) result=pass published=(\S+)",
     r"e2e-verify: \1 comes from the mail server its site publishes: pass"),
    (r"", r"e2e-verify: from=(\S+) peer=(\S+) result=(fail|temp)(.*)",
     r"e2e-verify: \1 from \2: \3\4"),
    (r"samaccept$", r"e2e-smtpd: pid=\d+ message id=\S+ from=<([^>]*)> rcpts=(\d+) size=(\d+) result=queued",
     r"e2e-smtpd accepts the message over I2P (\3 bytes), Authentication-Results: pass; e2e-queue, 250"),
    (r"", r"e2e-remote: rcpt to=<(\S+)> result=K text=\"(\S+) accepted the message: ([^\"]*)\"",
     r"e2e-remote: the peer accepted the message for <\1>: \3"),
    (r"", r"e2e-runner: delivery id=\S+ rcpt=(\S+) result=ok reason=\"delivered to (\S+)\"",
     r"e2e-local: delivered into \2's Maildir (mail/\2/new)"),
    (r"", r"e2e-runner: delivery id=\S+ rcpt=(\S+) result=ok reason=\"\S+ accepted",
     r"e2e-runner: <\1> done (remote delivery)"),
    (r"", r"e2e-pop3d: login ok user=(\S+) messages=(\d+)",
     r"e2e-pop3d: \1 logs in over POP3, \2 message(s)"),
    (r"", r"e2e-pop3d: quit user=(\S+) retr=(\d+) dele=(\d+)",
     r"e2e-pop3d: RETR of \2 message(s), QUIT"),
]
TROUBLE = re.compile(r"warning|fatal|result=defer|result=fail|result=temp|session lost|result=[ZD] ")
NOISE = re.compile(r"unable to read from the client|tcpserver: ")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d+)\s+(.*)$")


def parse_time(date, frac):
    # s6-log's T stamps are in local time
    t = datetime.datetime.strptime(date, "%Y-%m-%d %H:%M:%S")
    return t.timestamp() + float("0." + frac)


def main():
    args = sys.argv[1:]
    since = None
    if len(args) >= 2 and args[0] == "--since":
        since = float(args[1])
        args = args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    events = []
    for a in args:
        label, path = a.split("=", 1)
        try:
            lines = open(path, "rb").read().decode("utf-8", "replace").splitlines()
        except OSError:
            continue
        for line in lines:
            m = STAMP.match(line)
            if not m:
                continue
            t = parse_time(m.group(1), m.group(2))
            if since is not None and t < since:
                continue
            text = m.group(3)
            if NOISE.search(text):
                continue
            desc = None
            for lab, rx, d in EVENTS:
                if re.search(lab, label):
                    mm = re.search(rx, text)
                    if mm:
                        desc = mm.expand(d)
                        break
            if desc is None and TROUBLE.search(text):
                desc = "! " + text
            if desc is not None:
                events.append((t, label, desc))
    events.sort(key=lambda e: e[0])
    if not events:
        print("  (no events found)")
        return 1
    t0 = prev = events[0][0]
    for t, label, desc in events:
        print("  %+8.3f s  (%+7.3f)  %-15s %s" % (t - t0, t - prev, label, desc))
        prev = t
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
