#!/usr/bin/env python3
"""fakesam.py DIR — a stand-in SAM v3 bridge with a scripted web site behind
every STREAM CONNECT, for tests/resolve.t and tests/verify.t: the faults a
real router and web server will not produce on demand.

Listens on 127.0.0.1 (a free port, written to DIR/port once listening) and
runs until killed. Per connection:
  HELLO VERSION ...         -> HELLO REPLY RESULT=OK VERSION=3.1, unless the
                               file DIR/hello says otherwise: noversion,
                               garbage, close, silent
  STREAM CONNECT ID=x DESTINATION=HOST SILENT=false
                            -> the scenario of HOST: DIR/override/HOST names
                               it when that file exists, else the first label
                               of HOST up to a '-' ("full-2.i2p" -> "full")
  NAMING LOOKUP NAME=N [OPTIONS=true]   (any number, before a STREAM CONNECT)
                            -> the line in DIR/naming/N when that file exists
                               (a whole reply, e.g. with OPTION:_smtp._tcp=...
                               tokens), else what i2pd 2.45.1 says, which
                               ignores OPTIONS: NAMING REPLY RESULT=OK NAME=N
                               VALUE=<the sites' destination>; a file
                               saying "close" or "silent" closes the
                               connection or holds it without a word
Each STREAM CONNECT appends HOST to DIR/conns (before answering); a
connection that never gets that far appends "-", unless it looked a name
up: each NAMING LOOKUP line is appended to DIR/lookups instead. The HTTP
request is kept in DIR/req-HOST. Standard library only.
"""
import base64
import hashlib
import os
import socket
import socketserver
import sys
import time

DIR = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
KEYDIR = os.environ.get("E2E_TEST_KEYDIR") or os.path.join(HERE, "..", "i2p", "keys")


def key(name, ext):
    with open(os.path.join(KEYDIR, name + "." + ext)) as f:
        return f.read().strip()


PUB = key("ed25519-x25519", "pub")          # what the sites publish
PUB2 = key("ed25519-1", "pub")
B32 = key("ed25519-x25519", "b32")
PRIV = key("ed25519-2", "priv")


def append(name, text):
    with open(os.path.join(DIR, name), "a") as f:
        f.write(text)


def resp(status, body=b"", headers=(), length=True):
    if isinstance(body, str):
        body = body.encode()
    h = "HTTP/1.1 %s\r\nServer: fake\r\nContent-Type: text/plain\r\n" % status
    for x in headers:
        h += x + "\r\n"
    if length:
        h += "Content-Length: %d\r\n" % len(body)
    h += "Connection: close\r\n\r\n"
    return h.encode("latin-1") + body


def chunked(parts, headers=()):
    h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
    for x in headers:
        h += x + "\r\n"
    out = (h + "\r\n").encode()
    for i, p in enumerate(parts):
        out += ("%x;n=%d\r\n" % (len(p), i)).encode() + p.encode() + b"\r\n"
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


BODY = PUB + "\n"
# Scenarios answered in one piece: bytes to send, then close.
HTTP = {
    "full": resp("200 OK", BODY),
    "fullnolf": resp("200 OK", PUB),
    "b32port": resp("200 OK", B32.upper().replace(".B32.I2P", ".b32.I2P") + "\t2525\r\n"),
    "chunked": chunked([PUB[:100], PUB[100:400], PUB[400:] + "\n"]),
    "close": b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY.encode(),
    "lf": ("HTTP/1.1 200 OK\nContent-Length: %d\n\n" % len(BODY)).encode() + BODY.encode(),
    "interim": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + resp("200 OK", BODY),
    "notfound": resp("404 Not Found", "<html>no</html>\n"),
    "gone": resp("410 Gone", ""),
    "error": resp("500 Internal Server Error", "oops\n"),
    "unavail": resp("503 Service Unavailable", "later\n"),
    "toomany": resp("429 Too Many Requests", ""),
    "forbidden": resp("403 Forbidden", ""),
    "redirect": resp("301 Moved Permanently", "", ["Location: http://elsewhere.i2p/.well-known/i2pmail.key"]),
    "redirect302": resp("302 Found", BODY, ["Location: /x"]),
    "nocontent": resp("204 No Content", "", length=False),
    "garbage": resp("200 OK", "hello world\n"),
    "empty": resp("200 OK", ""),
    "private": resp("200 OK", PRIV + "\n"),
    "two": resp("200 OK", PUB + "\n" + PUB2 + "\n"),
    "twoline": resp("200 OK", PUB + "\n\n"),
    "portbad": resp("200 OK", B32 + " 70000\n"),
    "porttext": resp("200 OK", B32 + " smtp\n"),
    "b32long": resp("200 OK", "a" * 56 + ".b32.i2p\n"),
    "html": resp("200 OK", "<html><body>" + PUB + "</body></html>\n"),
    "badstatus": b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
    "http2": b"HTTP/2 200\r\n\r\n" + BODY.encode(),
    "nothttp": b"SSH-2.0-OpenSSH_9.2\r\n",
    "nul": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 1\r\n\r\nx",
    "barecr": b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 1\r\n\r\nx",
    "folded": b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 1\r\n\r\nx",
    "longhead": resp("200 OK", BODY, ["X-Pad: " + "p" * 20000]),
    "longheads": resp("200 OK", BODY, ["X-Pad-%d: %s" % (i, "p" * 1000) for i in range(20)]),
    "manyheaders": resp("200 OK", BODY, ["X-H%d: v" % i for i in range(150)]),
    "truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 525\r\n\r\n" + BODY.encode()[:100],
    "headeof": b"HTTP/1.1 200 OK\r\nContent-Len",
    "clte": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "badcl": b"HTTP/1.1 200 OK\r\nContent-Length: 525, 525\r\n\r\n" + BODY.encode(),
    "twocl": b"HTTP/1.1 200 OK\r\nContent-Length: 525\r\nContent-Length: 526\r\n\r\n" + BODY.encode(),
    "gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "badchunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "hugechunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n",
    "maxage": resp("200 OK", BODY, ["Cache-Control: public, max-age=3600"]),
    "nostore": resp("200 OK", BODY, ["Cache-Control: no-store"]),
    "nocache": resp("200 OK", BODY, ["Cache-Control: no-cache"]),
    "short": resp("200 OK", BODY, ["Cache-Control: max-age=1"]),
    "hugeage": resp("200 OK", BODY, ["Cache-Control: max-age=99999999999999999999999"]),
    "badage": resp("200 OK", BODY, ["Cache-Control: max-age=soon"]),
    "twoages": resp("200 OK", BODY, ["Cache-Control: max-age=7200", "cache-control: MAX-AGE=\"600\", private"]),
    "nfnostore": resp("404 Not Found", "", ["Cache-Control: no-store"]),
    "nfage": resp("404 Not Found", "", ["Cache-Control: max-age=5"]),
}

SAMFAULT = {
    "unreach": "STREAM STATUS RESULT=CANT_REACH_PEER MESSAGE=\"no lease set\"",
    "unknown": "STREAM STATUS RESULT=INVALID_KEY",
    "keynotfound": "STREAM STATUS RESULT=KEY_NOT_FOUND",
    "i2perr": "STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"tunnel build failed\"",
    "invalidid": "STREAM STATUS RESULT=INVALID_ID",
    "timeoutres": "STREAM STATUS RESULT=TIMEOUT",
    "oddresult": "STREAM STATUS RESULT=WHATEVER",
    "badsam": "STREAM STATUS RESULT=OK MESSAGE=\"unterminated",
    "wrongreply": "SESSION STATUS RESULT=OK",
    "noresult": "STREAM STATUS",
    "longline": "STREAM STATUS RESULT=OK " + "X" * 9000,
}


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.settimeout(30)
        self.buf = b""
        self.host = None
        self.looked_up = False

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 65536:
                raise EOFError
            c = self.request.recv(4096)
            if not c:
                raise EOFError
            self.buf += c
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("latin-1")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.request.sendall(data)

    def hang(self):
        """Keep the connection open, sending nothing, until the client goes."""
        end = time.time() + 120
        while time.time() < end:
            try:
                if not self.request.recv(4096):
                    return
            except socket.timeout:
                pass

    def handle(self):
        try:
            self.converse()
        except (EOFError, OSError):
            pass
        finally:
            if self.host is None and not self.looked_up:
                append("conns", "-\n")

    def converse(self):
        mode = ""
        try:
            with open(os.path.join(DIR, "hello")) as f:
                mode = f.read().strip()
        except FileNotFoundError:
            pass
        hello = self.readline()
        if not hello.startswith("HELLO VERSION"):
            self.send("HELLO REPLY RESULT=I2P_ERROR\n")
            return
        if mode == "close":
            return
        if mode == "silent":
            return self.hang()
        if mode == "noversion":
            return self.send("HELLO REPLY RESULT=NOVERSION\n")
        if mode == "garbage":
            return self.send("\x00\x01garbage\n")
        if mode == "v30":
            return self.send("HELLO REPLY RESULT=OK VERSION=3.0\n")
        self.send("HELLO REPLY RESULT=OK VERSION=3.1\n")
        line = self.readline()
        while line.startswith("NAMING LOOKUP "):
            self.naming(line)
            line = self.readline()
        cmd = line.split(" ")
        if len(cmd) != 5 or cmd[:2] != ["STREAM", "CONNECT"] or not cmd[2].startswith("ID=") \
                or not cmd[3].startswith("DESTINATION=") or cmd[4] != "SILENT=false":
            self.send("STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"bad command\"\n")
            return
        self.host = cmd[3][len("DESTINATION="):]
        append("conns", self.host + "\n")
        append("ids", cmd[2][3:] + "\n")
        scen = self.host.split(".")[0].split("-")[0]
        try:
            with open(os.path.join(DIR, "override", self.host)) as f:
                scen = f.read().strip()
        except FileNotFoundError:
            pass
        if scen in SAMFAULT:
            return self.send(SAMFAULT[scen] + "\n")
        if scen == "samclose":
            return
        if scen == "samsilent":
            return self.hang()
        self.send("STREAM STATUS RESULT=OK\n")
        # the stream: read the request head
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                return
            c = self.request.recv(4096)
            if not c:
                return
            self.buf += c
        with open(os.path.join(DIR, "req-" + self.host), "wb") as f:
            f.write(self.buf)
        self.site(scen)

    def naming(self, line):
        self.looked_up = True
        append("lookups", line + "\n")
        name = ""
        for tok in line.split(" ")[2:]:
            if tok.startswith("NAME="):
                name = tok[5:]
        try:
            with open(os.path.join(DIR, "naming", name)) as f:
                reply = f.read().rstrip("\n")
        except (FileNotFoundError, IsADirectoryError, ValueError):
            reply = "NAMING REPLY RESULT=OK NAME=%s VALUE=%s" % (name, PUB)
        if reply == "close":
            raise EOFError
        if reply == "silent":
            self.hang()
            raise EOFError
        self.send(reply + "\n")

    def site(self, scen):
        if scen in HTTP:
            return self.send(HTTP[scen])
        if scen == "slow":          # never answers
            return self.hang()
        if scen == "slowhead":      # the head, then nothing
            self.send("HTTP/1.1 200 OK\r\nContent-Length: 525\r\n\r\n")
            return self.hang()
        if scen == "big":           # 1 MB announced and sent
            self.send(resp("200 OK", "", length=False).replace(
                b"Connection", b"Content-Length: 1048576\r\nConnection"))
            for _ in range(256):
                self.send(b"A" * 4096)
            return
        if scen == "bigclose":      # 1 MB, no length, until close
            self.send(b"HTTP/1.0 200 OK\r\n\r\n")
            for _ in range(256):
                self.send(b"A" * 4096)
            return
        if scen == "endless":       # chunks forever
            self.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            end = time.time() + 120
            while time.time() < end:
                self.send(b"400\r\n" + b"B" * 1024 + b"\r\n")
            return
        if scen == "tinychunks":    # empty-ish chunks with long extensions, forever
            self.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            end = time.time() + 120
            while time.time() < end:
                self.send(b"1;" + b"e" * 200 + b"\r\nC\r\n")
            return
        if scen == "endlesshead":   # headers forever
            self.send(b"HTTP/1.1 200 OK\r\n")
            end = time.time() + 120
            while time.time() < end:
                self.send(b"X-More: yes\r\n")
            return
        if scen == "drip":          # a byte every 0.25 s, under the size limit
            self.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n")
            end = time.time() + 120
            while time.time() < end:
                self.send(b"D")
                time.sleep(0.25)
            return
        self.send(resp("404 Not Found", "no scenario %s\n" % scen))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    os.makedirs(os.path.join(DIR, "override"), exist_ok=True)
    os.makedirs(os.path.join(DIR, "naming"), exist_ok=True)
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = os.path.join(DIR, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, os.path.join(DIR, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
