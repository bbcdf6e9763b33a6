#!/usr/bin/env python3
"""Clients for tests/tls.t: each prints "ok NAME" / "not ok NAME" lines (the
bash test turns each into a TAP test). CA is the root certificate the
clients trust; the server must present a chain for "localhost".

  tls.py smtp PORT CA USER PASS         smtplib: EHLO, STARTTLS, AUTH, a message
  tls.py smtpjunk PORT CA               STARTTLS with commands pipelined after it
  tls.py smtplate PORT CA               junk sent after STARTTLS, before the handshake
  tls.py smtpauth PORT CA USER PASS     a client "not on loopback": AUTH only after TLS
  tls.py pop3 PORT CA USER PASS FILE    poplib: STLS, USER/PASS, RETR 1 == FILE
  tls.py pop3junk PORT CA USER PASS     STLS with USER/PASS pipelined after it
  tls.py pop3auth PORT CA USER PASS     a client "not on loopback": USER only after STLS
  tls.py garbage PORT                   STARTTLS, then no TLS but junk: closed
  tls.py stall PORT SECONDS             STARTTLS, then silence: closed in time
  tls.py refused PORT PROTO             STARTTLS/STLS answered 454/-ERR, plain goes on
"""
import os
import poplib
import smtplib
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import checks  # noqa: E402
from checks import check  # noqa: E402


def context(ca):
    c = ssl.create_default_context(cafile=ca)
    c.check_hostname = True          # the chain must name localhost
    return c


def lines_until(f, last):
    """Reply lines up to the one that starts with `last` (e.g. b"250 ")."""
    out = []
    while True:
        ln = f.readline()
        out.append(ln)
        if not ln or ln.startswith(last):
            return out


def smtp(port, ca, user, pw):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("client.example")
    check(s.has_extn("starttls"), "smtp: EHLO offers STARTTLS")
    code, _ = s.starttls(context=context(ca))
    check(code == 220, "smtp: STARTTLS answered 220, handshake done, chain verified for localhost")
    check(isinstance(s.sock, ssl.SSLSocket) and s.sock.version() == "TLSv1.2", "smtp: TLS 1.2", s.sock.version())
    s.ehlo("client.example")
    check(not s.has_extn("starttls"), "smtp: EHLO after TLS does not offer STARTTLS")
    check(s.has_extn("auth"), "smtp: EHLO after TLS offers AUTH")
    code, msg = s.docmd("STARTTLS")
    check(code == 503, "smtp: a second STARTTLS is refused (503)", f"{code} {msg}")
    s.login(user, pw)
    body = b"".join(b"line %d of a long message, sent through TLS\r\n" % i for i in range(30000))
    r = s.sendmail(f"{user}@test.i2p", [f"{user}@test.i2p"], b"Subject: over tls\r\n\r\n" + body)
    check(r == {}, f"smtp: a message of {len(body)} octets accepted over TLS", r)
    code, _ = s.docmd("QUIT")
    check(code == 221, "smtp: QUIT answered 221 over TLS")
    s.close()


class Lines:
    """Reads reply lines a byte at a time: nothing past the line is taken
    from the socket (it may be wrapped in TLS next, or peeked at)."""
    def __init__(self, sock):
        self.sock = sock

    def readline(self):
        b = b""
        while not b.endswith(b"\n"):
            c = self.sock.recv(1)
            if not c:
                break
            b += c
        return b


def raw(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return sock, Lines(sock)


def smtpjunk(port, ca):
    sock, f = raw(port)
    f.readline()
    sock.sendall(b"EHLO client.example\r\n")
    lines_until(f, b"250 ")
    sock.sendall(b"STARTTLS\r\nRSET\r\nMAIL FROM:<x@test.i2p>\r\n")   # one packet
    ln = f.readline()
    check(ln.startswith(b"220 "), "smtpjunk: STARTTLS answered 220", ln)
    sock.settimeout(0.5)
    try:
        extra = sock.recv(4096, socket.MSG_PEEK)
    except socket.timeout:
        extra = b""
    check(extra == b"", "smtpjunk: no plain reply to the pipelined RSET and MAIL", extra)
    sock.settimeout(30)
    t = context(ca).wrap_socket(sock, server_hostname="localhost")
    tf = t.makefile("rb")
    t.sendall(b"NOOP\r\n")
    ln = tf.readline()
    check(ln.startswith(b"250 2.0.0 ok"), "smtpjunk: after the handshake the first reply is NOOP's", ln)
    t.sendall(b"RCPT TO:<alice@test.i2p>\r\n")
    ln = tf.readline()
    check(ln.startswith(b"503 "), "smtpjunk: the pipelined MAIL was not executed (RCPT gets 503)", ln)
    t.sendall(b"QUIT\r\n")
    ln = tf.readline()
    check(ln.startswith(b"221 "), "smtpjunk: QUIT", ln)
    t.close()


def smtplate(port, ca):
    """Plain bytes that reach the server after STARTTLS in a packet of
    their own become part of the TLS stream: the handshake fails, and
    nothing of them is executed."""
    sock, f = raw(port)
    f.readline()
    sock.sendall(b"EHLO client.example\r\n")
    lines_until(f, b"250 ")
    sock.sendall(b"STARTTLS\r\n")
    time.sleep(0.3)
    sock.sendall(b"RSET\r\n")
    ln = f.readline()
    check(ln.startswith(b"220 "), "smtplate: STARTTLS answered 220", ln)
    try:
        t = context(ca).wrap_socket(sock, server_hostname="localhost")
        t.sendall(b"NOOP\r\n")
        got = t.recv(100)
        ok = False
    except (ssl.SSLError, OSError) as e:
        got, ok = repr(e), True
    check(ok, "smtplate: the handshake fails: the junk was not taken as plain text", got)
    sock.close()


def smtpauth(port, ca, user, pw):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("client.example")
    check(not s.has_extn("auth"), "smtpauth: no AUTH offered before TLS off loopback")
    code, msg = s.docmd("AUTH", "PLAIN AGFsaWNlAHB3")
    check(code == 530, "smtpauth: AUTH before TLS gets 530", f"{code} {msg}")
    s.starttls(context=context(ca))
    s.ehlo("client.example")
    check(s.has_extn("auth"), "smtpauth: AUTH offered after TLS")
    try:
        s.login(user, pw)
        ok = True
    except smtplib.SMTPException as e:
        ok = repr(e)
    check(ok is True, "smtpauth: AUTH works after TLS", ok)
    s.quit()


def pop3(port, ca, user, pw, path):
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    check("STLS" in p.capa(), "pop3: CAPA lists STLS")
    p.stls(context=context(ca))
    check(isinstance(p.sock, ssl.SSLSocket), "pop3: STLS done, chain verified for localhost")
    check("STLS" not in p.capa(), "pop3: CAPA after TLS does not list STLS")
    try:
        p._shortcmd("STLS")
        ok = False
    except poplib.error_proto:
        ok = True
    check(ok, "pop3: a second STLS is refused")
    p.user(user)
    p.pass_(pw)
    lines = p.retr(1)[1]
    want = open(path, "rb").read()
    got = b"\n".join(lines) + b"\n"
    check(got == want, f"pop3: RETR 1 over TLS is byte-identical ({len(want)} octets)",
          f"got {len(got)} octets, want {len(want)}")
    check(p.quit().startswith(b"+OK"), "pop3: QUIT over TLS")


def pop3junk(port, ca, user, pw):
    sock, f = raw(port)
    f.readline()
    sock.sendall(b"STLS\r\nUSER " + user.encode() + b"\r\nPASS " + pw.encode() + b"\r\n")
    ln = f.readline()
    check(ln.startswith(b"+OK"), "pop3junk: STLS answered +OK", ln)
    t = context(ca).wrap_socket(sock, server_hostname="localhost")
    tf = t.makefile("rb")
    t.sendall(b"STAT\r\n")
    ln = tf.readline()
    check(ln.startswith(b"-ERR"), "pop3junk: the pipelined USER/PASS were not executed (STAT gets -ERR)", ln)
    t.sendall(b"PASS " + pw.encode() + b"\r\n")
    ln = tf.readline()
    check(ln.startswith(b"-ERR USER first"), "pop3junk: PASS after TLS wants USER first", ln)
    t.sendall(b"QUIT\r\n")
    tf.readline()
    t.close()


def pop3auth(port, ca, user, pw):
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    check("USER" not in p.capa(), "pop3auth: CAPA leaves USER out before TLS off loopback")
    try:
        p.user(user)
        ok = False
    except poplib.error_proto as e:
        ok = b"STLS" in e.args[0]
    check(ok, "pop3auth: USER before TLS gets -ERR use STLS first")
    p.stls(context=context(ca))
    check("USER" in p.capa(), "pop3auth: CAPA lists USER after TLS")
    p.user(user)
    check(p.pass_(pw).startswith(b"+OK"), "pop3auth: USER/PASS work after TLS")
    p.quit()


def starttls_then(port):
    sock, f = raw(port)
    f.readline()
    sock.sendall(b"EHLO client.example\r\n")
    lines_until(f, b"250 ")
    sock.sendall(b"STARTTLS\r\n")
    return sock, f.readline()


def closed_within(sock, limit):
    """Seconds until the server closed the connection (recv gives EOF or
    an error), None if it stayed open past limit."""
    t0 = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except socket.timeout:
        return None
    except OSError:
        pass
    return time.monotonic() - t0


def garbage(port):
    sock, ln = starttls_then(port)
    check(ln.startswith(b"220 "), "garbage: STARTTLS answered 220", ln)
    sock.sendall(b"\x16\x03\x01\x00\x05hello" + b"MAIL FROM:<x@test.i2p>\r\n" * 50)
    t = closed_within(sock, 20)
    check(t is not None and t < 5, "garbage: a bad handshake closes the connection at once", t)


def stall(port, secs):
    sock, ln = starttls_then(port)
    check(ln.startswith(b"220 "), "stall: STARTTLS answered 220", ln)
    t = closed_within(sock, secs + 20)
    check(t is not None and secs - 0.5 <= t <= secs + 5,
          f"stall: a client that never does the handshake is closed after E2E_TIMEOUT={secs} s", t)


def refused(port, proto):
    sock, f = raw(port)
    f.readline()
    if proto == "smtp":
        sock.sendall(b"EHLO client.example\r\nSTARTTLS\r\nNOOP\r\nQUIT\r\n")
        lines_until(f, b"250 ")
        ln = f.readline()
        check(ln.startswith(b"454 4.7.0"), "refused: STARTTLS answered 454 without a usable certificate", ln)
        ln = f.readline()
        check(ln.startswith(b"250 "), "refused: the session goes on in plain text", ln)
    else:
        sock.sendall(b"STLS\r\nNOOP\r\nQUIT\r\n")
        ln = f.readline()
        check(ln.startswith(b"-ERR [SYS/TEMP]"), "refused: STLS answered -ERR without a usable certificate", ln)
        ln = f.readline()
        check(ln.startswith(b"-ERR"), "refused: the session goes on in plain text", ln)
    sock.close()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    port = int(args[0])
    f = {"smtp": smtp, "smtpjunk": smtpjunk, "smtplate": smtplate, "smtpauth": smtpauth,
         "pop3": pop3, "pop3junk": pop3junk, "pop3auth": pop3auth, "garbage": garbage,
         "refused": refused}
    if cmd == "stall":
        stall(port, float(args[1]))
    else:
        f[cmd](port, *args[1:])
    sys.exit(checks.status())


if __name__ == "__main__":
    main()
