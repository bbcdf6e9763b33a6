#!/usr/bin/env python3
"""latency.py HOST:PORT USER PASSWORD FROM TO MAILDIR N

Submission-to-Maildir time: N messages, one after the other, each submitted
with smtplib (AUTH) and timed from the start of the SMTP connection until a
new file appears in MAILDIR/new (polled every 5 ms; 120 s at most each).
Prints one line per message ("msg I submit=MS maildir=MS") and a last line
"median=MS min=MS max=MS". Exit 1 when a message did not arrive.
"""
import os
import smtplib
import statistics
import sys
import time


def main():
    if len(sys.argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    addr, user, password, frm, to, maildir, n = sys.argv[1:]
    host, port = addr.rsplit(":", 1)
    new = os.path.join(maildir, "new")
    times = []
    for i in range(int(n)):
        before = set(os.listdir(new))
        msg = ("From: %s\r\nTo: %s\r\nSubject: latency %d\r\n\r\nmessage %d of %s\r\n" % (frm, to, i + 1, i + 1, n)).encode()
        t0 = time.monotonic()
        s = smtplib.SMTP(host, int(port), timeout=60)
        s.login(user, password)
        s.sendmail(frm, [to], msg)
        s.quit()
        t1 = time.monotonic()
        while set(os.listdir(new)) - before == set():
            if time.monotonic() - t0 > 120:
                print("msg %d did not arrive within 120 s" % (i + 1))
                return 1
            time.sleep(0.005)
        t2 = time.monotonic()
        times.append((t2 - t0) * 1000)
        print("msg %d submit=%.0f maildir=%.0f" % (i + 1, (t1 - t0) * 1000, (t2 - t0) * 1000), flush=True)
    print("median=%.0f min=%.0f max=%.0f" % (statistics.median(times), min(times), max(times)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
