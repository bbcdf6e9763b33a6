#!/usr/bin/env python3
"""Clients and a stand-in SAM bridge for tests/limits.t: floods, tricklers,
idle connections from a chosen loopback address. Standard library only.
Each prints key=value lines (or one line per connection) for the test.

  limits.py flood MODE MB -- CMD...   runs CMD with pipes on fds 0/1 and
        MODE smtp-cmd: EHLO, then MB megabytes without a newline
        MODE smtp-data: a mail transaction, DATA, MB megabytes without a
                        newline, then CRLF . CRLF QUIT
        MODE pop3-cmd: USER and MB megabytes without a newline
      prints hwm0= (VmHWM in kB at the start), hwm= (the highest seen
      during the flood), sent= (bytes the pipe took), rc=, and reply=
      lines (every line the server sent)
  limits.py idle SRC PORT N      N connections from SRC to 127.0.0.1:PORT;
      prints each greeting (or EOF), then "closed"/"open" for each (has the
      server hung up?), "ready", then holds them until stdin ends
  limits.py trickle PORT DELAY PREFIX TEXT   connects, reads the
      greeting, sends PREFIX at once, then TEXT a byte every DELAY s
      (both with backslash escapes); prints ms= (from TEXT's first byte
      to the server's close) and last= (its last line)
  limits.py sam DIR MODE         a stand-in SAM bridge (port in DIR/port);
      MODE samline: HELLO answered by a line of 12 MB without newline;
      httpline: the stream gets a status line, then a header of 12 MB
      without newline; httpbody: 12 MB of body until close; bytes sent
      before the client hung up go to DIR/sent. MODE good: the key of
      $E2E_TEST_KEYDIR/ed25519-x25519.pub, as a site publishes it
"""
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time

MB = 1 << 20


def hwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def flood(mode, mb, cmd):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    lines = []
    state = {"sent": 0, "hwm": 0}
    got = threading.Condition()

    def reader():
        for raw in p.stdout:
            with got:
                lines.append(raw.decode("latin-1").rstrip("\r\n"))
                got.notify_all()
        with got:
            lines.append(None)
            got.notify_all()

    def expect(prefix, timeout=10):
        end = time.time() + timeout
        with got:
            while not any(x is not None and x.startswith(prefix) for x in lines) and None not in lines:
                if not got.wait(max(0.01, end - time.time())) and time.time() > end:
                    break

    def put(b):
        try:
            p.stdin.write(b)
            p.stdin.flush()
            state["sent"] += len(b)
            return True
        except (BrokenPipeError, OSError):
            return False

    threading.Thread(target=reader, daemon=True).start()
    if mode.startswith("smtp"):
        expect("220")
    else:
        expect("+OK")
    hwm0 = hwm(p.pid)
    if mode == "smtp-cmd":
        put(b"EHLO client.example\r\n")
        expect("250 ")
        state["sent"] = 0
    elif mode == "smtp-data":
        put(b"EHLO client.example\r\nMAIL FROM:<>\r\nRCPT TO:<alice@alice.i2p>\r\nDATA\r\n")
        expect("354")
        state["sent"] = 0
    else:
        state["sent"] = 0
        put(b"USER ")
    chunk = b"x" * 65536
    for i in range(mb * 16):
        if not put(chunk):
            break
        if i % 16 == 0:
            state["hwm"] = max(state["hwm"], hwm(p.pid))
    state["hwm"] = max(state["hwm"], hwm(p.pid))
    if mode == "smtp-data":
        put(b"\r\n.\r\nQUIT\r\n")
    try:
        p.stdin.close()
    except OSError:
        pass
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    time.sleep(0.1)
    print("hwm0=%d" % hwm0)
    print("hwm=%d" % state["hwm"])
    print("sent=%d" % state["sent"])
    print("rc=%d" % rc)
    for x in lines:
        if x is not None:
            print("reply=" + x)


def idle(src, port, n):
    socks, out = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        try:
            line = s.recv(4096).decode("latin-1").split("\r\n")[0] or "EOF"
        except socket.timeout:
            line = "none"
        out.append(line)
        socks.append(s)
    for line in out:
        print(line)
    for s in socks:
        s.settimeout(0.5)
        try:
            closed = s.recv(4096) == b""
        except socket.timeout:
            closed = False
        except OSError:
            closed = True
        print("closed" if closed else "open")
    print("ready")
    sys.stdout.flush()
    sys.stdout = open(os.devnull, "w")
    sys.stdin.read()
    for s in socks:
        s.close()


def unescape(text):
    return text.encode().decode("unicode_escape").encode("latin-1")


def trickle(port, delay, prefix, text):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    buf = s.recv(4096)
    if prefix:
        s.sendall(unescape(prefix))
        time.sleep(0.3)
    s.setblocking(False)
    t0 = time.time()
    closed = False
    for c in unescape(text):
        try:
            s.send(bytes([c]))
        except OSError:
            closed = True
            break
        end = time.time() + delay
        while time.time() < end:
            try:
                d = s.recv(4096)
            except BlockingIOError:
                time.sleep(0.02)
                continue
            except OSError:
                d = b""
            if not d:
                closed = True
                break
            buf += d
        if closed:
            break
    if not closed:
        s.settimeout(60)
        while True:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                break
            buf += d
    ms = int((time.time() - t0) * 1000)
    lines = [x for x in buf.decode("latin-1").split("\r\n") if x]
    print("ms=%d" % ms)
    print("last=%s" % (lines[-1] if lines else ""))


class SamHandler(socketserver.BaseRequestHandler):
    def readline(self):
        while b"\n" not in self.buf:
            c = self.request.recv(4096)
            if not c:
                raise EOFError
            self.buf += c
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("latin-1")

    def spew(self, head, n):
        sent = 0
        try:
            self.request.sendall(head)
            chunk = b"y" * 65536
            while sent < n:
                self.request.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        with open(os.path.join(self.server.dir, "sent"), "w") as f:
            f.write("%d\n" % sent)

    def handle(self):
        self.buf = b""
        self.request.settimeout(30)
        mode = self.server.mode
        try:
            self.readline()
            if mode == "samline":
                return self.spew(b"HELLO REPLY RESULT=OK VERSION=3.1 X=", 12 * MB)
            self.request.sendall(b"HELLO REPLY RESULT=OK VERSION=3.1\n")
            self.readline()
            self.request.sendall(b"STREAM STATUS RESULT=OK\n")
            while b"\r\n\r\n" not in self.buf:
                c = self.request.recv(4096)
                if not c:
                    return
                self.buf += c
            if mode == "good":
                with open(os.path.join(os.environ["E2E_TEST_KEYDIR"], "ed25519-x25519.pub")) as f:
                    body = f.read().strip().encode() + b"\n"
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                return
            if mode == "httpline":
                return self.spew(b"HTTP/1.1 200 OK\r\nX-Flood: ", 12 * MB)
            return self.spew(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n", 12 * MB)
        except (EOFError, OSError):
            pass


class SamServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def sam(d, mode):
    srv = SamServer(("127.0.0.1", 0), SamHandler)
    srv.dir, srv.mode = d, mode
    with open(os.path.join(d, "port.tmp"), "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
    srv.serve_forever()


def main():
    a = sys.argv[1:]
    if a[0] == "flood":
        flood(a[1], int(a[2]), a[4:])
    elif a[0] == "idle":
        idle(a[1], int(a[2]), int(a[3]))
    elif a[0] == "trickle":
        trickle(int(a[1]), float(a[2]), a[3], a[4])
    elif a[0] == "sam":
        sam(a[1], a[2])


if __name__ == "__main__":
    main()
