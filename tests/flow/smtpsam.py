#!/usr/bin/env python3
"""smtpsam.py SAM ID DEST COMMAND...

An SMTP client over I2P: STREAM CONNECT through the SAM session ID (held by
another process, e.g. tests/i2p/samtool.py session) to DEST, then the
greeting and each COMMAND in turn, one at a time. Prints "S: reply" for the
greeting and "C: command" / "S: reply" for each (multi-line replies joined
with " | "). Every wait is bounded (E2E_FLOW_TIMEOUT, default 60 s). Exit 0
when the conversation took place, 1 otherwise.
"""
import os
import socket
import sys

TIMEOUT = float(os.environ.get("E2E_FLOW_TIMEOUT", "60"))


def readline(f):
    line = f.readline(4096)
    if not line.endswith(b"\n"):
        raise OSError("connection closed")
    return line.rstrip(b"\r\n").decode("utf-8", "replace")


def reply(f):
    lines = []
    while True:
        line = readline(f)
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            return " | ".join(lines)


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = sys.argv[1].rsplit(":", 1)
    sid, dest, cmds = sys.argv[2], sys.argv[3], sys.argv[4:]
    s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    f = s.makefile("rb")
    s.sendall(b"HELLO VERSION MIN=3.1 MAX=3.3\n")
    r = readline(f)
    if "RESULT=OK" not in r:
        print("SAM: " + r)
        return 1
    s.sendall(("STREAM CONNECT ID=%s DESTINATION=%s SILENT=false\n" % (sid, dest)).encode())
    r = readline(f)
    if "RESULT=OK" not in r:
        print("SAM: " + r)
        return 1
    print("S: " + reply(f), flush=True)
    for c in cmds:
        print("C: " + c, flush=True)
        s.sendall(c.encode() + b"\r\n")
        print("S: " + reply(f), flush=True)
    s.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print("error: %s" % e)
        sys.exit(1)
