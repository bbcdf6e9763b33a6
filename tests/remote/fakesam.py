#!/usr/bin/env python3
"""fakesam.py — a stand-in SAM bridge that, after STREAM CONNECT, is a
scripted SMTP server; for tests/remote.t. Standard library only.

  fakesam.py bridge DIR [KEY=VALUE...]
      Listens on 127.0.0.1 (a free port, written to DIR/port once ready),
      serves one connection (then exits; also after 60 s without one):
      reads HELLO, answers `hello`; reads STREAM CONNECT (kept in DIR/sam),
      answers STREAM STATUS RESULT=`connect`; on OK speaks SMTP.
  fakesam.py accept DIR SAM ID [KEY=VALUE...]
      The same SMTP server behind a real bridge: HELLO, STREAM ACCEPT
      ID=ID SILENT=false on SAM (host:port), writes the peer line to
      DIR/peer (and DIR/ready once the ACCEPT is waiting), then SMTP.

KEY=VALUE settings (a reply is its text with \\r \\n \\t \\xNN escapes; CRLF is
added unless it ends in \\n; `hang` never answers, `close` hangs up):
  hello      the HELLO reply line (default HELLO REPLY RESULT=OK VERSION=3.1)
  connect    the RESULT for STREAM CONNECT (default OK)
  greeting   default "220 bob.i2p ESMTP"
  ehlo       extensions, comma-separated (default PIPELINING,8BITMIME,
             SIZE 10485760,ENHANCEDSTATUSCODES); `reject` answers 502
  helo mail rcpt data dot quit    replies (defaults 250/250/250/354/250/221)
  rcpt:ADDR  the reply to RCPT TO:<ADDR>
Records in DIR: cmds (every command line as received), pipe (for MAIL:
how many more complete lines had arrived before the reply was sent), data
(the DATA bytes as on the wire, terminating ".\\r\\n" included).
"""
import os
import re
import socket
import sys
import time


def unescape(v):
    v = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), v)
    return v.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")


class Server:
    def __init__(self, sock, d, conf):
        self.s, self.d, self.conf = sock, d, conf
        self.buf = b""
        self.s.settimeout(60)
        if self.s.family == socket.AF_INET:
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def rec(self, name, data, mode="ab"):
        with open(os.path.join(self.d, name), mode) as f:
            f.write(data)

    def fill(self):
        b = self.s.recv(65536)
        if not b:
            raise EOFError
        self.buf += b

    def line(self):
        while b"\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\n") + 1
        l, self.buf = self.buf[:i], self.buf[i:]
        return l

    def say(self, key, dflt):
        v = self.conf.get(key, dflt)
        if v == "hang":
            while True:
                self.fill()
        if v == "close":
            raise EOFError
        v = unescape(v)
        if not v.endswith("\n"):
            v += "\r\n"
        self.s.sendall(v.encode("latin-1"))

    def data(self):
        got = b""
        while True:
            got, self.buf = got + self.buf, b""
            if got.startswith(b".\r\n"):
                end = 3
            else:
                i = got.find(b"\r\n.\r\n")
                end = i + 5 if i >= 0 else 0
            if end:
                got, self.buf = got[:end], got[end:]
                break
            self.fill()
        self.rec("data", got, "wb")

    def smtp(self):
        c = self.conf
        self.say("greeting", "220 bob.i2p ESMTP")
        while True:
            l = self.line()
            self.rec("cmds", l)
            w = l.decode("latin-1").strip("\r\n")
            verb = w.split(" ")[0].upper()
            if verb == "EHLO":
                if c.get("ehlo") == "reject":
                    self.say("ehlo502", "502 5.5.1 unrecognised command")
                    continue
                ext = c.get("ehlo", "PIPELINING,8BITMIME,SIZE 10485760,ENHANCEDSTATUSCODES")
                ext = [e for e in ext.split(",") if e]
                lines = ["bob.i2p"] + ext
                out = "".join("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", x)
                              for i, x in enumerate(lines))
                self.s.sendall(out.encode())
            elif verb == "HELO":
                self.say("helo", "250 bob.i2p")
            elif verb == "MAIL":
                self.rec("pipe", b"%d\n" % self.buf.count(b"\n"))
                self.say("mail", "250 2.1.0 ok")
            elif verb == "RCPT":
                a = w[w.find("<") + 1:w.rfind(">")]
                self.say("rcpt:" + a, c.get("rcpt", "250 2.1.5 ok"))
            elif verb == "DATA":
                r = c.get("data", "354 go ahead")
                self.say("data", r)
                if r.startswith("354"):
                    self.data()
                    self.say("dot", "250 2.0.0 queued")
            elif verb == "QUIT":
                self.say("quit", "221 2.0.0 bye")
                return
            else:
                self.s.sendall(b"500 5.5.1 unrecognised\r\n")


def run(sock, d, conf):
    try:
        Server(sock, d, conf).smtp()
    except (EOFError, OSError):
        pass
    sock.close()


def bridge(d, conf):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(5)
    ls.settimeout(60)
    with open(os.path.join(d, "port.tmp"), "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
    try:
        s, _ = ls.accept()
    except socket.timeout:
        return
    srv = Server(s, d, conf)
    try:
        srv.rec("sam", srv.line())
        srv.say("hello", "HELLO REPLY RESULT=OK VERSION=3.1")
        srv.rec("sam", srv.line())
        r = conf.get("connect", "OK")
        srv.say("connectline", "STREAM STATUS RESULT=" + r)
        if r != "OK":
            time.sleep(0.2)
            s.close()
            return
    except (EOFError, OSError):
        return
    run(s, d, conf)


def accept(d, sam, nick, conf):
    host, port = sam.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=60)
    f = s.makefile("rb", buffering=0)

    def rl():   # one byte at a time: nothing past the line is taken
        b = b""
        while not b.endswith(b"\n"):
            c = f.read(1)
            if not c:
                raise EOFError
            b += c
        return b
    s.sendall(b"HELLO VERSION MIN=3.1 MAX=3.3\n")
    rl()
    s.sendall(b"STREAM ACCEPT ID=%s SILENT=false\n" % nick.encode())
    st = rl()
    if b"RESULT=OK" not in st:
        sys.exit("accept: " + st.decode())
    open(os.path.join(d, "ready"), "w").close()
    s.settimeout(300)
    peer = rl()
    with open(os.path.join(d, "peer"), "wb") as o:
        o.write(peer)
    run(s, d, conf)


def main():
    a = sys.argv[1:]
    conf = {}
    mode, d = a[0], a[1]
    rest = a[4:] if mode == "accept" else a[2:]
    for kv in rest:
        k, _, v = kv.partition("=")
        conf[k] = v
    if mode == "bridge":
        bridge(d, conf)
    else:
        accept(d, a[2], a[3], conf)


if __name__ == "__main__":
    main()
