#!/usr/bin/env python3
"""Helpers for tests/pop3d.t: Maildir fixtures, an independent reference of
what e2e-pop3d must send, and checks that print "ok NAME" / "not ok NAME"
lines (the bash test turns each into a TAP test).

  pop3.py fixtures MAILDIR       the shared messages, into MAILDIR/new
  pop3.py edge MAILDIR           odd names and contents, into new/ and cur/
  pop3.py expect MAILDIR WHAT    expected STAT, LIST or UIDL lines
  pop3.py session MAILDIR USER PASS   a pipelined session on fds 0/1: every reply
  pop3.py poplib PORT MAILDIR USER PASS  the same through Python's poplib
  pop3.py pipeline PORT USER PASS  everything in one write over TCP
  pop3.py compare SRCDIR GOTDIR  what a client delivered, against the source
  pop3.py stall USER PASS N      RETR N on a socket that is never read (E2E_TIMEOUT=1)
"""
import hashlib
import os
import poplib
import random
import re
import socket
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests"))
import checks  # noqa: E402
from checks import check  # noqa: E402


# ---- the reference encoding (written from RFC 1939, not from the C) ----

def wire(data):
    """The message as RETR sends it, before dot-stuffing: every LF not
    already after a CR becomes CRLF; a final CRLF when the data does not
    end in LF."""
    w = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    if data and not data.endswith(b"\n"):
        w += b"\r\n"
    return w


def stuff(w):
    return re.sub(rb"(?m)^\.", b"..", w)


def top(data, k):
    """Header, the blank line, then k body lines."""
    lines = re.findall(rb"[^\n]*\n|[^\n]+$", data)   # only LF ends a line
    out, i = [], 0
    while i < len(lines):
        out.append(lines[i])
        blank = lines[i] in (b"\n", b"\r\n")
        i += 1
        if blank:
            out.extend(lines[i:i + k])
            break
    return b"".join(out)


def lf_form(data):
    """What a client that stores LF line ends should deliver."""
    d = data.replace(b"\r\n", b"\n")
    if d and not d.endswith(b"\n"):
        d += b"\n"
    return d


# ---- fixtures ----

def put(md, sub, name, data):
    with open(os.path.join(md, sub, name), "wb") as f:
        f.write(data)


def sw(base, data):
    """A name as maildir_put makes it."""
    return "%s,S=%d,W=%d" % (base, len(data), len(wire(data)))


def big():
    rnd = random.Random(1939)
    b = bytearray(b"From: big@test.i2p\nTo: alice@test.i2p\nSubject: big one\n\n")

    def pad_to(pos):
        while pos - len(b) > 100:
            b.extend(b"z" * 70 + b"\n")
        b.extend(b"y" * (pos - len(b)))

    pad_to(65535)            # CR as the last byte of the first 64 KiB read, LF the first of the next
    b.extend(b"\r\n")
    pad_to(131071)           # LF ends a read, '.' starts the next one
    b.extend(b"\n.starts a read\n")
    alphabet = bytes(c for c in range(1, 256) if c not in (10, 13))
    while len(b) < 3 * 1024 * 1024:
        r = rnd.random()
        if r < 0.03:
            b.extend(b".\n")
        elif r < 0.08:
            b.extend(b"." + bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 60))) + b"\n")
        elif r < 0.10:
            b.extend(b"\n")
        elif r < 0.12:
            b.extend(b"crlf line\r\n")
        else:
            b.extend(bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 900))) + b"\n")
    b.extend(b"the end\n")
    return bytes(b)


def fixtures(md):
    plain = (b"From: carol@test.i2p\nTo: alice@test.i2p\nSubject: dots\n\n"
             b".first body line\n.\n..\n...\n .x\nmiddle\n.")
    plain += b"\n"
    put(md, "new", sw("999999999.M000001P11", plain), plain)           # 9 digits: numeric order puts it first
    eight = "Subject: 8bit caf\u00e9\n\nGr\u00fc\u00dfe \u2014 \u4e2d\u6587\n".encode() + bytes(range(128, 256)) + b"\n"
    put(md, "new", sw("1700000000.M000002P12", eight), eight)
    crlf = b"Subject: crlf\r\n\r\nline1\r\nline2\nbare\rcr\r\n.dotted\r\n"
    put(md, "new", "1700000000.M000001P13", crlf)                       # same second, earlier usec; no S=/W=
    notrail = b"Subject: no trailing newline\n\nbody\n.last"
    put(md, "new", "1700000001.M000001P14,S=%d" % len(notrail), notrail)
    put(md, "new", sw("1700000002.M000001P15", big()), big())
    lies = b"Subject: lying name\n\nthe name says S=1,W=2\n"
    put(md, "new", "1700000003.M000001P16,S=1,W=2", lies)
    hdr = b"Subject: only a header\nX-Test: yes\n"
    put(md, "new", sw("1700000004.M000001P17", hdr), hdr)


def edge(md):
    put(md, "new", "1700000100.M000001P1,S=0,W=0", b"")
    put(md, "new", "1700000101.M000001P2,X=" + "y" * 80, b"Subject: long name\n\nx\n")
    put(md, "new", "1700000102.M000001P3 sp\u00e9", b"Subject: odd name\n\ny\n")
    put(md, "new", "1700000103.M000001P4", b"Subject: nul\n\na\x00b\n")
    seen = b"Subject: seen before\n\nz\n"
    put(md, "cur", sw("1700000104.M000001P5", seen) + ":2,S", seen)
    put(md, "cur", "1700000105.M000001P6", b"Subject: no info\n\nw\n")
    put(md, "cur", ".hidden", b"not a message\n")
    put(md, "new", ".tmpfile", b"not a message\n")
    os.makedirs(os.path.join(md, "cur", "subdir"), exist_ok=True)


# ---- what the server must report ----

def messages(md):
    """(curname, data) in the server's order: new/X counts as cur/X:2,."""
    ms = []
    for sub in ("new", "cur"):
        for n in os.listdir(os.path.join(md, sub)):
            p = os.path.join(md, sub, n)
            if n.startswith(".") or not os.path.isfile(p):
                continue
            if sub == "new" and ":" not in n:
                n += ":2,"
            with open(p, "rb") as f:
                ms.append((n, f.read()))

    def key(m):
        d = re.match(r"\d*", m[0]).group()
        return (int(d) if d else 0, m[0].encode("utf-8", "surrogateescape"))
    return sorted(ms, key=key)


def uid(name):
    base = name.split(":", 1)[0].encode("utf-8", "surrogateescape")
    if 0 < len(base) <= 70 and all(0x21 <= c <= 0x7E for c in base):
        return base.decode()
    return "h" + hashlib.sha256(base).hexdigest()


def expect(md, what):
    ms = messages(md)
    if what == "STAT":
        return ["+OK %d %d" % (len(ms), sum(len(wire(d)) for _, d in ms))]
    if what == "LIST":
        return ["%d %d" % (i + 1, len(wire(d))) for i, (_, d) in enumerate(ms)]
    if what == "UIDL":
        return ["%d %s" % (i + 1, uid(n)) for i, (n, _) in enumerate(ms)]
    raise SystemExit("expect: STAT, LIST or UIDL")


# ---- a pipelined session on fds 0/1 ----

MULTI = ("CAPA", "RETR", "TOP")


def replies(raw, cmds):
    """Splits a transcript into (status, [raw multi-line lines]) per command."""
    pos = 0

    def line():
        nonlocal pos
        e = raw.index(b"\r\n", pos)
        s = raw[pos:e]
        pos = e + 2
        return s
    greet = line()
    out = []
    for c in cmds:
        st = line()
        body = None
        verb = c.split(b" ")[0].upper().decode()
        multi = verb in MULTI or (verb in ("LIST", "UIDL") and b" " not in c)
        if st.startswith(b"+OK") and multi:
            body = []
            while True:
                ln = line()
                if ln == b".":
                    break
                body.append(ln)
        out.append((st, body))
    return greet, out, raw[pos:]


def session(md, user, pw):
    ms = messages(md)
    n = len(ms)
    cmds = [b"USER " + user.encode(), b"PASS " + pw.encode(), b"STAT", b"LIST", b"UIDL"]
    for i in range(1, n + 1):
        cmds += [b"LIST %d" % i, b"UIDL %d" % i, b"RETR %d" % i, b"TOP %d 0" % i, b"TOP %d 2" % i,
                 b"TOP %d 99999999" % i]
    cmds.append(b"QUIT")
    env = dict(os.environ, E2E_TIMEOUT="30")
    p = subprocess.run([os.path.join(TOP, "bin", "e2e-pop3d")], input=b"".join(c + b"\r\n" for c in cmds),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
    check(p.returncode == 0, "session: exit 0", p.stderr.decode(errors="replace"))
    greet, rs, rest = replies(p.stdout, cmds)
    check(greet == b"+OK e2e POP3 ready", "session: greeting")
    check(rest == b"", "session: nothing after QUIT's reply", rest[:200])
    total = sum(len(wire(d)) for _, d in ms)
    check(rs[1][0] == b"+OK %d messages (%d octets)" % (n, total), "session: PASS reports count and size", rs[1][0])
    check(rs[2][0].decode() == expect(md, "STAT")[0], "session: STAT", rs[2][0])
    check([x.decode() for x in rs[3][1] or []] == expect(md, "LIST"), "session: LIST", rs[3][1])
    check([x.decode() for x in rs[4][1] or []] == expect(md, "UIDL"), "session: UIDL", rs[4][1])
    k = 5
    for i, (name, data) in enumerate(ms, 1):
        lst, uidl, retr, t0, t2, tall = rs[k:k + 6]
        k += 6
        size = len(wire(data))
        tag = "session: message %d (%s)" % (i, name[:30])
        check(lst[0] == b"+OK %d %d" % (i, size), tag + ": LIST n", lst[0])
        check(uidl[0] == b"+OK %d %s" % (i, uid(name).encode()), tag + ": UIDL n", uidl[0])
        got = b"".join(x + b"\r\n" for x in retr[1] or [])
        check(retr[0] == b"+OK %d octets" % size, tag + ": RETR status gives the LIST size", retr[0])
        check(got == stuff(wire(data)), tag + ": RETR bytes exact, dot-stuffed", "%d vs %d bytes" % (len(got), len(stuff(wire(data)))))
        unstuffed = b"".join((x[1:] if x.startswith(b".") else x) + b"\r\n" for x in retr[1] or [])
        check(len(unstuffed) == size, tag + ": unstuffed RETR is as long as LIST says")
        if b"\r" not in data and (not data or data.endswith(b"\n")):
            check(unstuffed.replace(b"\r\n", b"\n") == data, tag + ": RETR decodes to the stored file")
        for got_t, kk, nm in ((t0, 0, "TOP n 0"), (t2, 2, "TOP n 2"), (tall, 99999999, "TOP n big")):
            gb = b"".join(x + b"\r\n" for x in got_t[1] or [])
            check(got_t[0].startswith(b"+OK") and gb == stuff(wire(top(data, kk))), tag + ": " + nm,
                  gb[:300])
    check(rs[-1][0].startswith(b"+OK"), "session: QUIT", rs[-1][0])
    return ms


# ---- Python's poplib over tcpserver ----

def do_poplib(port, md, user, pw):
    ms = messages(md)
    p = poplib.POP3("127.0.0.1", int(port), timeout=30)
    check(p.getwelcome() == b"+OK e2e POP3 ready", "poplib: greeting")
    caps = p.capa()
    check(all(c in caps for c in ("USER", "UIDL", "TOP", "PIPELINING", "RESP-CODES", "AUTH-RESP-CODE")),
          "poplib: CAPA", caps)
    p.user(user)
    p.pass_(pw)
    n, size = p.stat()
    check((n, size) == (len(ms), sum(len(wire(d)) for _, d in ms)), "poplib: STAT", (n, size))
    _, listing, _ = p.list()
    check([x.decode() for x in listing] == expect(md, "LIST"), "poplib: LIST")
    _, uids, _ = p.uidl()
    check([x.decode() for x in uids] == expect(md, "UIDL"), "poplib: UIDL")
    for i, (name, data) in enumerate(ms, 1):
        _, lines, octets = p.retr(i)
        got = b"".join(x + b"\r\n" for x in lines)
        check(got == wire(data) and octets == len(wire(data)),
              "poplib: RETR %d (%s) byte-identical" % (i, name[:30]), "%d vs %d" % (len(got), len(wire(data))))
        _, lines, _ = p.top(i, 1)
        check(b"".join(x + b"\r\n" for x in lines) == wire(top(data, 1)), "poplib: TOP %d 1" % i)
    p.dele(1)
    check(p.stat()[0] == len(ms) - 1, "poplib: DELE hides the message")
    p.rset()
    check(p.stat()[0] == len(ms), "poplib: RSET brings it back")
    p.dele(len(ms))
    p.quit()
    left = messages(md)
    check([uid(n) for n, _ in left] == [uid(n) for n, _ in ms[:-1]], "poplib: QUIT removed exactly the DELEd message",
          [n for n, _ in left])
    check(all(n.endswith(":2,S") for n, _ in left), "poplib: what RETR sent is marked seen")


def pipeline(port, user, pw):
    cmds = [b"CAPA", b"USER " + user.encode(), b"PASS " + pw.encode(), b"STAT", b"NOOP", b"LIST 1",
            b"BOGUS", b"UIDL 1", b"RETR 1", b"DELE 1", b"RSET", b"QUIT"]
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
    s.sendall(b"".join(c + b"\r\n" for c in cmds))
    raw = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        raw += d
    s.close()
    greet, rs, rest = replies(raw, cmds)
    want = [b"+OK", b"+OK", b"+OK", b"+OK", b"+OK", b"+OK", b"-ERR", b"+OK", b"+OK", b"+OK", b"+OK", b"+OK"]
    got = [st.split(b" ")[0] for st, _ in rs]
    check(got == want and rest == b"", "pipeline: every reply, in order, over TCP", got)


def compare(src, got):
    """Each source message delivered once, as LF text (mpop stores LF ends)."""
    want = sorted(lf_form(d) for _, d in messages(src))
    have = []
    for sub in ("new", "cur"):
        for n in os.listdir(os.path.join(got, sub)):
            with open(os.path.join(got, sub, n), "rb") as f:
                have.append(f.read())
    have.sort()
    check(len(have) == len(want), "client delivered %d messages" % len(want), len(have))
    for i, w in enumerate(want):
        check(w in have, "client delivered message of %d bytes identical" % len(w))


def stall(user, pw, n):
    """A client that asks for a big message and stops reading: the server
    must give up after E2E_TIMEOUT instead of holding the mailbox."""
    a, b = socket.socketpair()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    env = dict(os.environ, E2E_TIMEOUT="1")
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(TOP, "bin", "e2e-pop3d")], stdin=b, stdout=b, stderr=subprocess.PIPE, env=env)
    b.close()
    a.sendall(b"USER %s\r\nPASS %s\r\nRETR %s\r\n" % (user.encode(), pw.encode(), n.encode()))
    try:
        rc = p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    took = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    a.close()
    check(rc == 111, "stalled reader: exit 111", "rc %s, %s" % (rc, err))
    check(took < 6, "stalled reader: dropped after E2E_TIMEOUT (%.1f s)" % took)
    check("unable to write" in err, "stalled reader: logged", err)


def main(a):
    if a[0] == "fixtures":
        fixtures(a[1])
    elif a[0] == "edge":
        edge(a[1])
    elif a[0] == "expect":
        print("\n".join(expect(a[1], a[2])))
    elif a[0] == "session":
        session(a[1], a[2], a[3])
    elif a[0] == "poplib":
        do_poplib(a[1], a[2], a[3], a[4])
    elif a[0] == "pipeline":
        pipeline(a[1], a[2], a[3])
    elif a[0] == "stall":
        stall(a[1], a[2], a[3])
    elif a[0] == "compare":
        compare(a[1], a[2])
    else:
        raise SystemExit(__doc__)
    return checks.status()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
