#!/usr/bin/env python3
"""pop.py HOST:PORT USER PASSWORD OUTDIR [--delete]

Fetches every message of USER with Python's poplib (USER/PASS, RETR) and
writes each, byte for byte as retrieved (lines joined with LF, a final LF),
to OUTDIR/<UIDL>.eml. Prints one line per message: "UIDL SIZE SUBJECT".
With --delete, DELE each message after fetching it. Exit 0 on success.
"""
import os
import poplib
import sys


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = sys.argv[1].rsplit(":", 1)
    user, password, outdir = sys.argv[2], sys.argv[3], sys.argv[4]
    delete = len(sys.argv) > 5 and sys.argv[5] == "--delete"
    os.makedirs(outdir, exist_ok=True)
    p = poplib.POP3(host, int(port), timeout=30)
    p.user(user)
    p.pass_(password)
    uidls = {}
    for line in p.uidl()[1]:
        n, u = line.decode().split()
        uidls[int(n)] = u
    for n in sorted(uidls):
        lines = p.retr(n)[1]
        msg = b"\n".join(lines) + b"\n"
        with open(os.path.join(outdir, uidls[n] + ".eml"), "wb") as f:
            f.write(msg)
        subject = ""
        for l in lines:
            if not l:
                break
            if l.lower().startswith(b"subject:"):
                subject = l[8:].strip().decode("utf-8", "replace")
        print(uidls[n], len(msg), subject)
        if delete:
            p.dele(n)
    p.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
