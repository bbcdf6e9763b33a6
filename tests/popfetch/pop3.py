#!/usr/bin/env python3
"""A stand-in for Postman's POP3 server (pop.postman.i2p), one session on
fds 0/1: run it behind e2e-samaccept, which gives it each I2P stream.

    pop3.py STATE

STATE is a directory:
  pass      "user password" (one line): the only login accepted
  drop/     the maildrop: one file per message, LF line ends, named
            SEQ.UID (sorted by name; UID is the unique-id UIDL gives);
            DELE'd files are removed at QUIT, as RFC 1939 says
  mode      optional faults, one a line:
              die-retr UID   RETR of UID: +OK, half of the message, then exit
              stall-retr UID RETR of UID: +OK, half of the message, then
                             nothing more (as hang)
              hang CMD       CMD (RETR, UIDL, PASS, ...; GREET for the
                             greeting) gets no answer: wait for the client
                             to go away
              garbage CMD    CMD gets "HELLO THERE" instead of a status
  log       appended: "SESSION" at each start, then each command line
            received, "UPDATE" once the deletions are done at QUIT
Standard library only."""
import os
import select
import sys
import time

STATE = sys.argv[1]
DROP = os.path.join(STATE, "drop")
inp, out = sys.stdin.buffer, sys.stdout.buffer


def log(line):
    with open(os.path.join(STATE, "log"), "a") as f:
        f.write(line + "\n")


def modes():
    try:
        with open(os.path.join(STATE, "mode")) as f:
            return [l.split() for l in f if l.strip()]
    except FileNotFoundError:
        return []


def fault(kind, arg):
    return any(m[0] == kind and m[1:] == [arg] for m in modes())


def send(text):
    out.write(text.encode() + b"\r\n")
    out.flush()


def hang():
    """Answer nothing; end when the client closes (or after 120 s)."""
    end = time.time() + 120
    while time.time() < end:
        r, _, _ = select.select([inp], [], [], 1)
        if r and not os.read(inp.fileno(), 4096):
            break
    os._exit(0)


def wire(data):
    """The message as RETR sends it: CRLF, dot-stuffed, final dot."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
    return body + b".\r\n"


def main():
    with open(os.path.join(STATE, "pass")) as f:
        user, password = f.read().split()
    names = sorted(os.listdir(DROP))
    msgs = []
    for n in names:
        with open(os.path.join(DROP, n), "rb") as f:
            data = f.read()
        msgs.append({"name": n, "uid": n.split(".", 1)[1], "data": data,
                     "size": len(data.replace(b"\n", b"\r\n")), "del": False})
    log("SESSION")
    if fault("hang", "GREET"):
        hang()
    send("+OK stand-in POP3 server ready")
    given, authed = None, False
    while True:
        line = inp.readline()
        if not line:
            return
        line = line.rstrip(b"\r\n").decode("latin-1")
        log(line)
        word = line.split(" ")[0].upper()
        args = line.split(" ")[1:]
        if fault("hang", word):
            hang()
        if fault("garbage", word):
            send("HELLO THERE")
            continue
        if word == "QUIT":
            for m in msgs:
                if m["del"]:
                    os.unlink(os.path.join(DROP, m["name"]))
            log("UPDATE")
            send("+OK bye")
            return
        if word == "CAPA":
            send("+OK\r\nUSER\r\nUIDL\r\n.")
        elif word == "USER":
            given = args[0] if args else None
            send("+OK")
        elif word == "PASS":
            if given == user and " ".join(args) == password:
                authed = True
                send("+OK maildrop locked and ready")
            else:
                send("-ERR [AUTH] invalid user name or password")
        elif not authed:
            send("-ERR log in first")
        elif word in ("UIDL", "LIST") and not args:
            send("+OK")
            for i, m in enumerate(msgs, 1):
                if not m["del"]:
                    send("%d %s" % (i, m["uid"] if word == "UIDL" else m["size"]))
            send(".")
        elif word in ("RETR", "DELE"):
            try:
                m = msgs[int(args[0]) - 1]
                assert not m["del"]
            except (ValueError, IndexError, AssertionError):
                send("-ERR no such message")
                continue
            if word == "DELE":
                m["del"] = True
                send("+OK deleted")
                continue
            data = wire(m["data"])
            if fault("die-retr", m["uid"]) or fault("stall-retr", m["uid"]):
                out.write(b"+OK %d octets\r\n" % m["size"] + data[:len(data) // 2])
                out.flush()
                if fault("stall-retr", m["uid"]):
                    hang()
                os._exit(0)
            out.write(b"+OK %d octets\r\n" % m["size"] + data)
            out.flush()
        elif word == "NOOP":
            send("+OK")
        else:
            send("-ERR unknown command")


main()
