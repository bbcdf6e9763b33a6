#!/usr/bin/env python3
"""talk.py HOST:PORT COMMAND...
talk.py --greetings N HOST:PORT

A mail client's side of a conversation over plain TCP, e.g. through an
i2pd client tunnel (a local port that leads to a destination).

First form: the greeting, then each COMMAND in turn, one at a time. Prints
"S: reply" for the greeting and "C: command" / "S: reply" for each; an
SMTP multi-line reply is joined with " | " (POP3 single-line replies work
too). Exit 0 when the conversation took place, 1 otherwise.

Second form: opens N connections one after the other, keeping each open,
and prints the first line each one gets ("N: line"); closes them all at the
end. For per-peer caps: all N come from the same client destination.

Every wait is bounded (E2E_TALK_TIMEOUT, default 60 s).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "i2p"))
from samtool import Conn, Fail, converse  # noqa: E402

TIMEOUT = float(os.environ.get("E2E_TALK_TIMEOUT", "60"))


def talk(addr, cmds):
    c = Conn(addr, TIMEOUT)
    converse(c, cmds)
    c.sock.close()
    return 0


def greetings(n, addr):
    held = []
    try:
        for i in range(1, n + 1):
            c = Conn(addr, TIMEOUT)
            held.append(c.sock)
            try:
                line = c.readline().rstrip("\r")
            except (Fail, OSError) as e:
                line = "(%s)" % e
            print("%d: %s" % (i, line), flush=True)
    finally:
        for s in held:
            s.close()
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "--greetings":
        return greetings(int(a[1]), a[2])
    if len(a) < 1 or a[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    return talk(a[0], a[1:])


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Fail, OSError) as e:
        print("error: %s" % e)
        sys.exit(1)
