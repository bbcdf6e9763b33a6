#!/usr/bin/env python3
"""samtool.py — small SAM v3 client and key helper for the test network.

Used by tests/i2pnet.sh and the TAP tests; standard library only. Every
network wait is bounded (--timeout, default 60 s). Exit status: 0 success,
1 failure (the reason on stderr), 2 usage.

Key helpers (KEY is a file holding a private blob, either as I2P base64 text
or raw binary, or the name of a test key in tests/i2p/keys/ — or in
$E2E_TEST_KEYDIR when that is set):
  samtool.py pub KEY             print the public destination (I2P base64)
  samtool.py b32 KEY|DEST        print the b32 address of a key or a b64 dest
  samtool.py binkey KEY OUT      write the raw binary private blob to OUT
  samtool.py riname ROUTER.INFO  print "r<c>/routerInfo-<ident hash>.dat",
                                 where that router.info belongs in a netDb
  samtool.py linked PID:PORT PID:PORT
                                 exit 0 when the two processes share an
                                 established TCP connection to one of their
                                 listening PORTs (NTCP2 link between routers)
  samtool.py portsfree PORT...   exit 0 when every loopback port can be bound
                                 (PORT or udp:PORT), else name the busy ones

SAM conversations (SAM is HOST:PORT):
  samtool.py hello SAM
      HELLO VERSION; exit 0 when the bridge answers RESULT=OK.
  samtool.py session SAM ID KEY|TRANSIENT [OPTION=VALUE...]
      SESSION CREATE STYLE=STREAM; once it is up, print the session's public
      destination on stdout (one line, flushed) and hold the control socket
      until the bridge closes it or the process gets SIGTERM/SIGINT.
  samtool.py accept SAM ID [--reply TEXT]
      STREAM ACCEPT; print the peer's destination line (as received), then
      the first line the peer sends; answer TEXT and a newline; close.
  samtool.py connect SAM ID DEST [--send TEXT]
      STREAM CONNECT; send TEXT and a newline; print the first line that
      comes back.
  samtool.py talk SAM ID DEST COMMAND...
      STREAM CONNECT, then a mail client's side of an SMTP or POP3
      conversation (converse() below): the greeting, then each COMMAND in
      turn, one at a time. Prints "S: reply" for the greeting and
      "C: command" / "S: reply" for each (a multi-line SMTP reply joined
      with " | ").
  samtool.py get SAM ID HOST [PATH]
      STREAM CONNECT to HOST, send an HTTP/1.0 GET for PATH (default
      /.well-known/i2pmail.key); print the body; exit 0 only on status 200.
  samtool.py lookup SAM NAME
      NAMING LOOKUP; print the destination.
  samtool.py httpget HOST:PORT [PATH]
      plain HTTP/1.0 GET over TCP (no SAM), e.g. through an i2pd client
      tunnel; print the body; exit 0 only on status 200.
Options: --timeout SECONDS (every SAM command and every read), --verbose.
"""
import base64
import hashlib
import os
import signal
import socket
import string
import sys
import time

KEYDIR = os.environ.get("E2E_TEST_KEYDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "keys")
B64CHARS = set(string.ascii_letters + string.digits + "-~=")
VERBOSE = False


class Fail(Exception):
    pass


def log(*a):
    if VERBOSE:
        print("samtool:", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- formats

def b64decode(text):
    s = text.strip().replace("-", "+").replace("~", "/")
    s += "=" * (-len(s) % 4)
    return base64.b64decode(s, validate=True)


def b64encode(data):
    return base64.b64encode(data).decode().replace("+", "-").replace("/", "~")


def dest_len(blob):
    """Length of the destination at the start of blob (387 + cert length)."""
    if len(blob) < 387:
        raise Fail("blob too short for a destination (%d bytes)" % len(blob))
    n = 387 + int.from_bytes(blob[385:387], "big")
    if len(blob) < n:
        raise Fail("blob shorter than its certificate says")
    return n


def b32_of(dest):
    h = hashlib.sha256(dest).digest()
    return base64.b32encode(h).decode().lower().rstrip("=") + ".b32.i2p"


def load_key(arg):
    """Private blob (bytes) from a file path or a test key name."""
    path = arg
    if not os.path.exists(path) and "/" not in arg:
        path = os.path.join(KEYDIR, arg + ".priv")
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.strip()
    try:
        if text and all(chr(c) in B64CHARS for c in text):
            return b64decode(text.decode())
    except ValueError:
        pass
    return raw


def dest_of(arg):
    """Binary public destination from a key (file or name) or a b64 dest."""
    if os.path.exists(arg) or ("/" not in arg and
                               os.path.exists(os.path.join(KEYDIR, arg + ".priv"))):
        blob = load_key(arg)
    else:
        blob = b64decode(arg)
    return blob[:dest_len(blob)]


# ---------------------------------------------------------------- SAM

class Conn:
    """A TCP connection read line by line (SAM, or plain HTTP)."""

    def __init__(self, addr, timeout):
        host, _, port = addr.rpartition(":")
        self.timeout = timeout
        try:
            self.sock = socket.create_connection((host or "127.0.0.1", int(port)),
                                                 timeout=timeout)
        except OSError as e:
            raise Fail("connect %s: %s" % (addr, e))
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def readline(self, limit=65536):
        """One line without its newline; bounded by the socket timeout."""
        while b"\n" not in self.buf:
            if len(self.buf) > limit:
                raise Fail("line too long")
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                raise Fail("timed out after %gs waiting for a line" % self.timeout)
            if not chunk:
                raise Fail("connection closed (got %r)" % self.buf[:200])
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("latin-1")

    def readall(self, limit=1 << 20):
        data = self.buf
        self.buf = b""
        while len(data) <= limit:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise Fail("timed out after %gs reading to EOF" % self.timeout)
            if not chunk:
                return data
            data += chunk
        raise Fail("reply too long")

    def command(self, line, expect):
        log(">", line[:120])
        self.send(line + "\n")
        reply = self.readline()
        log("<", reply[:160])
        words = reply.split(" ")
        if " ".join(words[:2]) != expect:
            raise Fail("unexpected reply to %s: %s" % (line.split(" ")[0], reply))
        fields = {}
        for w in words[2:]:
            k, _, v = w.partition("=")
            fields[k] = v
        if fields.get("RESULT") != "OK":
            raise Fail("%s: %s" % (line.split(" ")[0] + " " + line.split(" ")[1], reply))
        return fields

    def hello(self):
        return self.command("HELLO VERSION MIN=3.0 MAX=3.1", "HELLO REPLY")

    def reply(self):
        """An SMTP or POP3 reply without its CRs: an SMTP multi-line reply
        (250-...) read to its last line, the lines joined with " | "."""
        lines = []
        while True:
            line = self.readline().rstrip("\r")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return " | ".join(lines)


def converse(conn, cmds):
    """The greeting, then each command in turn, one at a time; prints
    "S: reply" for the greeting and "C: command" / "S: reply" for each."""
    print("S: " + conn.reply(), flush=True)
    for c in cmds:
        print("C: " + c, flush=True)
        conn.send(c + "\r\n")
        print("S: " + conn.reply(), flush=True)


# ---------------------------------------------------------------- commands

def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def cmd_pub(args):
    print(b64encode(dest_of(args[0])))


def cmd_b32(args):
    print(b32_of(dest_of(args[0])))


def cmd_binkey(args):
    blob = load_key(args[0])
    dest_len(blob)
    fd = os.open(args[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(blob)


def cmd_riname(args):
    with open(args[0], "rb") as f:
        ri = f.read()
    name = b64encode(hashlib.sha256(ri[:dest_len(ri)]).digest())
    print("r%s/routerInfo-%s.dat" % (name[0], name))


def cmd_portsfree(args):
    busy = []
    for a in args:
        udp = a.startswith("udp:")
        port = int(a[4:] if udp else a)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        try:
            if not udp:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        except OSError:
            busy.append(a)
        finally:
            s.close()
    if busy:
        raise Fail("ports in use: " + " ".join(busy))


def _tcp_established():
    """{inode: (localport, remoteport)} of established TCP sockets."""
    conns = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    w = line.split()
                    if w[3] != "01":
                        continue
                    conns[w[9]] = (int(w[1].rsplit(":", 1)[1], 16),
                                   int(w[2].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return conns


def _socket_inodes(pid):
    inodes = set()
    d = "/proc/%s/fd" % pid
    try:
        for fd in os.listdir(d):
            try:
                t = os.readlink(os.path.join(d, fd))
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes.add(t[8:-1])
    except OSError:
        pass
    return inodes


def cmd_linked(args):
    (p1, port1), (p2, port2) = [(a.split(":")[0], int(a.split(":")[1])) for a in args[:2]]
    conns = _tcp_established()
    s1 = [conns[i] for i in _socket_inodes(p1) if i in conns]
    s2 = [conns[i] for i in _socket_inodes(p2) if i in conns]
    # 1 dialled 2: 1 holds (eph, port2) and 2 holds (port2, eph); and back.
    for lp, rp in s1:
        if rp == port2 and (port2, lp) in s2:
            return
        if lp == port1 and (rp, port1) in s2:
            return
    raise Fail("no established link between pid %s and pid %s" % (p1, p2))


def cmd_hello(args, timeout):
    Conn(args[0], timeout).hello()


def cmd_session(args, timeout):
    sam, nick, key = args[0], args[1], args[2]
    opts = args[3:]
    if key == "TRANSIENT":
        dest = "TRANSIENT SIGNATURE_TYPE=7"
    else:
        dest = b64encode(load_key(key))
    s = Conn(sam, timeout)
    s.hello()
    t0 = time.time()
    f = s.command("SESSION CREATE STYLE=STREAM ID=%s DESTINATION=%s %s"
                  % (nick, dest, " ".join(opts)), "SESSION STATUS")
    blob = b64decode(f["DESTINATION"])
    pub = b64encode(blob[:dest_len(blob)])
    log("session %s up after %.1fs: %s" % (nick, time.time() - t0, b32_of(blob[:dest_len(blob)])))
    print(pub, flush=True)
    # Hold the control socket; answer PING (Java I2P) and stop on EOF.
    s.sock.settimeout(None)
    while True:
        try:
            line = s.readline()
        except Fail:
            return
        if line.startswith("PING"):
            s.send("PONG" + line[4:] + "\n")


def cmd_accept(args, timeout, reply):
    s = Conn(args[0], timeout)
    s.hello()
    s.command("STREAM ACCEPT ID=%s SILENT=false" % args[1], "STREAM STATUS")
    peer = s.readline()
    print(peer, flush=True)
    first = s.readline()
    print(first, flush=True)
    s.send((reply or "") + "\n")
    s.sock.shutdown(socket.SHUT_WR)
    s.sock.close()


def stream(sam, nick, dest, timeout):
    """A stream to DEST through session NICK: HELLO, STREAM CONNECT."""
    s = Conn(sam, timeout)
    s.hello()
    s.command("STREAM CONNECT ID=%s DESTINATION=%s SILENT=false" % (nick, dest),
              "STREAM STATUS")
    return s


def cmd_connect(args, timeout, send):
    t0 = time.time()
    s = stream(args[0], args[1], args[2], timeout)
    log("connect status after %.3fs" % (time.time() - t0))
    s.send((send or "") + "\n")
    print(s.readline(), flush=True)
    log("round trip after %.3fs" % (time.time() - t0))


def cmd_talk(args, timeout):
    s = stream(args[0], args[1], args[2], timeout)
    converse(s, args[3:])
    s.sock.close()


def cmd_get(args, timeout):
    host = args[2]
    path = args[3] if len(args) > 3 else "/.well-known/i2pmail.key"
    http_get(stream(args[0], args[1], host, timeout), host, path)


def http_get(s, host, path):
    s.send("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host))
    resp = s.readall()
    head, sep, body = resp.partition(b"\r\n\r\n")
    if not sep:
        raise Fail("no HTTP header end in %r" % resp[:200])
    status = head.split(b"\r\n")[0].decode("latin-1")
    log(status)
    sys.stdout.buffer.write(body)
    sys.stdout.flush()
    if status.split(" ")[1:2] != ["200"]:
        raise Fail("HTTP status: %s" % status)


def cmd_httpget(args, timeout):
    path = args[1] if len(args) > 1 else "/"
    http_get(Conn(args[0], timeout), "localhost", path)


def cmd_lookup(args, timeout):
    s = Conn(args[0], timeout)
    s.hello()
    f = s.command("NAMING LOOKUP NAME=%s" % args[1], "NAMING REPLY")
    print(f["VALUE"])


def main(argv):
    global VERBOSE
    timeout = 60.0
    reply = send = None
    args = []
    it = iter(argv)
    for a in it:
        if a == "--timeout":
            timeout = float(next(it, "60"))
        elif a == "--verbose":
            VERBOSE = True
        elif a == "--reply":
            reply = next(it, "")
        elif a == "--send":
            send = next(it, "")
        else:
            args.append(a)
    if not args:
        usage()
    cmd, args = args[0], args[1:]
    need = {"pub": 1, "b32": 1, "binkey": 2, "riname": 1, "portsfree": 1, "linked": 2, "hello": 1,
            "session": 3, "accept": 2, "connect": 3, "talk": 3, "get": 3, "lookup": 2,
            "httpget": 1}
    if cmd not in need or len(args) < need[cmd]:
        usage()
    # SIGTERM ends a held session quietly (the socket closes with us).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        if cmd in ("pub", "b32", "binkey", "riname", "portsfree", "linked"):
            globals()["cmd_" + cmd](args)
        elif cmd == "accept":
            cmd_accept(args, timeout, reply)
        elif cmd == "connect":
            cmd_connect(args, timeout, send)
        else:
            globals()["cmd_" + cmd](args, timeout)
    except (Fail, OSError, ValueError) as e:
        print("samtool %s: %s" % (cmd, e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
