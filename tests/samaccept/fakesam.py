#!/usr/bin/env python3
"""fakesam.py — a stand-in SAM v3 bridge for tests/samaccept.t.

For the faults a real router will not produce on demand. Standard library
only; every wait is bounded.

  fakesam.py PORTFILE KEYDIR [--session OK|DUPLICATED_ID|I2P_ERROR|hang|close]
             [--delay SECONDS] [--ping TEXT]

Listens on 127.0.0.1 (a free port, written to PORTFILE once listening) and
speaks SAM as i2pd 2.45.1 does: HELLO (3.1), one SESSION CREATE STYLE=STREAM
(answered as --session says, after --delay seconds; OK echoes the
DESTINATION like i2pd), STREAM ACCEPT (RESULT=OK, or INVALID_ID when no
session has that ID). The session lives as long as its control socket.
With --ping, "PING TEXT" goes on the control socket 0.2 s after the
session is up, and the reply is kept.

A test drives it with one-line commands on a connection of their own,
"CTL <command>\\n", answered by one line:
  waiting             ACCEPTs waiting for a peer now
  accepts             STREAM ACCEPT commands seen so far
  session             "up" or "down"
  options             the SESSION CREATE line without DESTINATION's value
  pong                the line that answered our PING ("none" yet)
  peer KEY HEX [X..]  on the oldest waiting ACCEPT: KEY's public destination
                      (KEYDIR/KEY.pub; "-" for none), the words X (e.g.
                      FROM_PORT=1 TO_PORT=2), "\\n" and the bytes HEX ("-" for
                      none), all in one send; then half-close and read to
                      EOF: "got HEX" (or "reset", or "timeout")
  hold KEY            KEY's destination line; "open N" when the stream stays
                      open 0.5 s (closed later by "release N"), else "closed"
  raw TEXT...         TEXT and "\\n" in place of a peer line: "closed" or
                      "open N" as for hold
  release N           closes held stream N
  closectl            closes the control socket: the session is gone
  dropaccept          closes the oldest waiting ACCEPT
  invalidate          from now on STREAM ACCEPT gets RESULT=INVALID_ID
  freeze              from now on new connections get no answer (what
                      i2pd 2.45.1 does once told to stop)
  hellos              HELLOs seen so far (the probes: MAX=1.0 gets
                      NOVERSION and a close, as on i2pd)
"""
import os
import select
import socket
import sys
import threading
import time

lock = threading.Lock()
state = {"session": None, "ctl": None, "waiting": [], "accepts": 0, "options": "",
         "pong": "none", "held": {}, "nheld": 0, "invalid": False,
         "frozen": False, "hellos": 0}
MODE, DELAY, PING, KEYDIR = "OK", 0.0, None, "."


def log(*a):
    print("fakesam:", *a, file=sys.stderr, flush=True)


def readline(sock, limit=16384, timeout=30):
    """One line, read a byte at a time (nothing past the newline)."""
    buf = b""
    end = time.time() + timeout
    while not buf.endswith(b"\n"):
        r, _, _ = select.select([sock], [], [], max(0, end - time.time()))
        if not r:
            return None
        c = sock.recv(1)
        if not c or len(buf) > limit:
            return None
        buf += c
    return buf.decode("latin-1").rstrip("\r\n")


def pub(name):
    if name == "-":
        return ""
    with open(os.path.join(KEYDIR, name + ".pub")) as f:
        return f.read().strip()


class Waiting:
    """A STREAM ACCEPT socket whose thread waits for a command."""
    def __init__(self, sock):
        self.sock, self.cmd, self.result = sock, None, None
        self.done = threading.Event()


def closed_within(sock, secs):
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            try:
                if not sock.recv(65536):
                    return True
            except OSError:
                return True
    return False


def keep(sock):
    with lock:
        state["nheld"] += 1
        n = state["nheld"]
        state["held"][n] = sock
    return "open %d" % n


def run_command(w):
    kind, args = w.cmd
    s = w.sock
    if kind == "peer":
        line = " ".join([pub(args[0])] + args[2:]) + "\n"
        data = b"" if args[1] == "-" else bytes.fromhex(args[1])
        s.sendall(line.encode() + data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            s.close()
            return "reset"
        got, end = b"", time.time() + 10
        while time.time() < end:
            r, _, _ = select.select([s], [], [], 0.1)
            if r:
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    s.close()
                    return "reset"
                if not c:
                    s.close()
                    return "got " + (got.hex() or "-")
                got += c
        s.close()
        return "timeout"
    if kind == "hold":
        s.sendall((pub(args[0]) + "\n").encode())
    else:
        s.sendall((" ".join(args) + "\n").encode())
    if closed_within(s, 0.5):
        s.close()
        return "closed"
    return keep(s)


def accept_wait(w):
    s = w.sock
    while True:
        if w.cmd:
            try:
                w.result = run_command(w)
            except OSError as e:
                w.result = "error " + str(e)
            w.done.set()
            return
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            try:
                gone = not s.recv(1, socket.MSG_PEEK)
            except OSError:
                gone = True
            if gone:
                with lock:
                    if w in state["waiting"]:
                        state["waiting"].remove(w)
                    log("an ACCEPT went away")
                    s.close()
                    w.result = "closed"
                    w.done.set()
                    return


def ctl_command(words, sock):
    cmd, args = words[0], words[1:]
    if cmd == "waiting":
        with lock:
            return str(len(state["waiting"]))
    if cmd == "accepts":
        return str(state["accepts"])
    if cmd == "session":
        return "up" if state["session"] else "down"
    if cmd == "options":
        return state["options"]
    if cmd == "pong":
        return state["pong"]
    if cmd == "invalidate":
        state["invalid"] = True
        return "ok"
    if cmd == "dropaccept":
        with lock:
            w = state["waiting"].pop(0) if state["waiting"] else None
        if not w:
            return "none waiting"
        w.sock.shutdown(socket.SHUT_RDWR)
        return "ok"
    if cmd == "freeze":
        state["frozen"] = True
        return "ok"
    if cmd == "hellos":
        return str(state["hellos"])
    if cmd == "closectl":
        c = state["ctl"]
        if c:
            c.shutdown(socket.SHUT_RDWR)
            c.close()
        return "ok"
    if cmd == "release":
        with lock:
            s = state["held"].pop(int(args[0]), None)
        if s:
            s.close()
        return "ok"
    if cmd in ("peer", "hold", "raw"):
        with lock:
            w = state["waiting"].pop(0) if state["waiting"] else None
        if not w:
            return "none waiting"
        w.cmd = (cmd, args)
        w.done.wait(15)
        return w.result or "timeout"
    return "unknown command"


def session(sock, line):
    words = line.split()
    kv = dict(x.split("=", 1) for x in words[2:] if "=" in x)
    state["options"] = " ".join(x for x in words[2:] if not x.startswith("DESTINATION="))
    if DELAY:
        time.sleep(DELAY)
    if MODE == "hang":
        time.sleep(3600)
    if MODE == "close":
        sock.close()
        return
    if MODE != "OK":
        msg = ' MESSAGE="no tunnels here"' if MODE == "I2P_ERROR" else ""
        sock.sendall(("SESSION STATUS RESULT=%s%s\n" % (MODE, msg)).encode())
        sock.close()
        return
    if kv.get("STYLE") != "STREAM" or "ID" not in kv or "DESTINATION" not in kv:
        sock.sendall(b'SESSION STATUS RESULT=I2P_ERROR MESSAGE="bad SESSION CREATE"\n')
        sock.close()
        return
    with lock:
        if state["session"]:
            sock.sendall(b"SESSION STATUS RESULT=DUPLICATED_ID\n")
            sock.close()
            return
        state["session"], state["ctl"] = kv["ID"], sock
    sock.sendall(("SESSION STATUS RESULT=OK DESTINATION=%s\n" % kv["DESTINATION"]).encode())
    log("session", kv["ID"], "up")
    if PING:
        time.sleep(0.2)
        sock.sendall(("PING %s\n" % PING).encode())
    while True:
        try:
            got = readline(sock, timeout=3600)
        except OSError:
            got = None
        if got is None:
            break
        if got.startswith("PONG"):
            state["pong"] = got
        else:
            log("control socket: unexpected", got[:40])
            break
    with lock:
        state["session"] = None
    log("session gone")


def serve(sock):
    line = readline(sock)
    if line is None:
        sock.close()
        return
    if line.startswith("CTL "):
        sock.sendall((ctl_command(line.split()[1:], sock) + "\n").encode())
        sock.close()
        return
    if not line.startswith("HELLO VERSION"):
        sock.close()
        return
    state["hellos"] += 1
    if state["frozen"]:
        time.sleep(3600)
    if "MAX=1.0" in line.split():
        sock.sendall(b"HELLO REPLY RESULT=NOVERSION\n")
        sock.close()
        return
    sock.sendall(b"HELLO REPLY RESULT=OK VERSION=3.1\n")
    line = readline(sock)
    if line is None:
        sock.close()
    elif line.startswith("SESSION CREATE"):
        session(sock, line)
    elif line.startswith("STREAM ACCEPT"):
        kv = dict(x.split("=", 1) for x in line.split()[2:] if "=" in x)
        state["accepts"] += 1
        if state["invalid"] or kv.get("ID") != state["session"]:
            sock.sendall(b"STREAM STATUS RESULT=INVALID_ID\n")
            sock.close()
            return
        w = Waiting(sock)
        with lock:
            state["waiting"].append(w)
            # the reply after the bookkeeping: whoever got OK is counted
            sock.sendall(b"STREAM STATUS RESULT=OK\n")
        accept_wait(w)
    else:
        sock.close()


def main(argv):
    global MODE, DELAY, PING, KEYDIR
    portfile, KEYDIR = argv[1], argv[2]
    i = 3
    while i < len(argv):
        if argv[i] == "--session":
            MODE = argv[i + 1]
        elif argv[i] == "--delay":
            DELAY = float(argv[i + 1])
        elif argv[i] == "--ping":
            PING = argv[i + 1]
        else:
            sys.exit("fakesam: unknown option " + argv[i])
        i += 2
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv)
