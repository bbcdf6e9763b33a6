#!/usr/bin/env python3
"""tests/keyserve/client.py — clients for tests/keyserve.t (standard library).

  client.py send PORT TEXT [PAUSE TEXT]...
      connect to 127.0.0.1:PORT, send TEXT (Python escapes: \\r\\n, \\x00),
      after PAUSE seconds the next TEXT, ...; then shut down the sending
      side and print everything that comes back, until the close.
  client.py slow PORT TEXT
      send TEXT, then one byte ("x") every 0.5 s, never an empty line;
      print "closed after N ms" once the server closes, and its answer.
  client.py smtp PORT
      wait for the greeting (no byte sent before), print "greeting after N
      ms: LINE"; EHLO, print the reply's first line; QUIT.
  client.py pair PROG... with the stream on a socketpair (as e2e-samaccept
      hands it over): send a GET of the key, print the answer, then PROG's
      exit status.
Every wait is bounded (30 s)."""
import socket
import subprocess
import sys
import time

T = 30


def conn(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=T)
    return s


def drain(s):
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            out += b"<RESET>"
            break
        if not b:
            break
        out += b
    return out


def unesc(t):
    return t.encode("latin-1").decode("unicode_escape").encode("latin-1")


def send(port, args):
    s = conn(port)
    s.sendall(unesc(args[0]))
    rest = args[1:]
    while rest:
        time.sleep(float(rest[0]))
        s.sendall(unesc(rest[1]))
        rest = rest[2:]
    s.shutdown(socket.SHUT_WR)
    sys.stdout.buffer.write(drain(s))


def slow(port, text):
    s = conn(port)
    t0 = time.monotonic()
    s.sendall(unesc(text))
    s.setblocking(False)
    out = b""
    while time.monotonic() - t0 < T:
        try:
            b = s.recv(65536)
            if not b:
                break
            out += b
        except BlockingIOError:
            pass
        except ConnectionResetError:
            break
        try:
            s.send(b"x")
        except OSError:
            pass
        time.sleep(0.5)
    print("closed after %d ms" % ((time.monotonic() - t0) * 1000))
    sys.stdout.buffer.write(out)


def smtp(port):
    s = conn(port)
    t0 = time.monotonic()
    f = s.makefile("rb")
    g = f.readline()
    print("greeting after %d ms: %s" % ((time.monotonic() - t0) * 1000, g.decode().rstrip()))
    s.sendall(b"EHLO client.example\r\n")
    print(f.readline().decode().rstrip())
    while True:
        line = f.readline()
        if not line or line[3:4] == b" ":
            break
    s.sendall(b"QUIT\r\n")
    print(f.readline().decode().rstrip())


def pair(prog):
    a, b = socket.socketpair()
    p = subprocess.Popen(prog, stdin=b, stdout=b)
    b.close()
    a.settimeout(T)
    a.sendall(b"GET /.well-known/i2pmail.key HTTP/1.0\r\n\r\n")
    sys.stdout.buffer.write(drain(a))
    print("\nexit %d" % p.wait(T))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "send":
        send(args[0], args[1:])
    elif cmd == "slow":
        slow(args[0], args[1])
    elif cmd == "smtp":
        smtp(args[0])
    elif cmd == "pair":
        pair(args)
    else:
        sys.exit(2)


if __name__ == "__main__":
    main()
