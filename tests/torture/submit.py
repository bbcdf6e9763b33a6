#!/usr/bin/env python3
"""submit.py HOST:PORT USER PASSWORD FROM OUT FIRST N THREADS RCPT[/EVERY]...

Submits messages FIRST..FIRST+N-1 over SMTP with AUTH (smtplib, one
connection each, THREADS at once). Message I goes to every RCPT whose
EVERY (default 1) divides I. Its body starts with the line "token tort-I"
and ends with "END tort-I"; sizes vary from 1 KB to 300 KB. One line per
message in OUT: "I RCPT,RCPT... RESULT", RESULT being the reply code to
the end of DATA (250, 451, 452, ...) or "drop" (connection lost, refused
or timed out before that reply).
"""
import random
import smtplib
import sys
import threading


def body(i):
    rnd = random.Random(i)
    size = rnd.choice([1000, 3000, 10000, 30000, 80000, 300000])
    line = ("tort-%d " % i) * 10
    lines, n = [], 0
    while n < size:
        lines.append(line)
        n += len(line) + 2
    return "Subject: torture %d\r\n\r\ntoken tort-%d\r\n%s\r\nEND tort-%d\r\n" % (i, i, "\r\n".join(lines), i)


def send(addr, user, password, frm, i, rcpts):
    host, port = addr.rsplit(":", 1)
    try:
        s = smtplib.SMTP(host, int(port), timeout=120)
    except OSError:
        return "drop"
    try:
        s.login(user, password)
        s.sendmail(frm, rcpts, body(i).encode())
        r = "250"
    except smtplib.SMTPDataError as e:
        r = str(e.smtp_code)
    except smtplib.SMTPRecipientsRefused as e:
        r = "rcpt%s" % min(c for c, _ in e.recipients.values())
    except smtplib.SMTPResponseException as e:
        r = "other%s" % e.smtp_code
    except (OSError, smtplib.SMTPException):
        return "drop"
    try:
        s.quit()
    except (OSError, smtplib.SMTPException):
        pass
    return r


def main():
    addr, user, password, frm, out, first, n, threads = sys.argv[1:9]
    spec = []
    for r in sys.argv[9:]:
        a, _, every = r.partition("/")
        spec.append((a, int(every or 1)))
    first, n = int(first), int(n)
    todo = list(range(first, first + n))
    lock = threading.Lock()
    f = open(out, "a", buffering=1)

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop(0)
            rcpts = [a for a, every in spec if i % every == 0]
            r = send(addr, user, password, frm, i, rcpts)
            with lock:
                f.write("%d %s %s\n" % (i, ",".join(rcpts), r))

    ts = [threading.Thread(target=worker) for _ in range(int(threads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    main()
