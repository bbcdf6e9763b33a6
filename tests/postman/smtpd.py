#!/usr/bin/env python3
"""A stand-in for Postman's SMTP server (smtp.postman.i2p), one SMTP
session on stdin/stdout, run by e2e-samaccept for each stream.

Usage: smtpd.py DIR
  DIR/creds   "user password" the server accepts (AUTH PLAIN and LOGIN)
  DIR/mechs   the mechanisms offered (default "PLAIN LOGIN")
  DIR/authreply  when present, the reply to every AUTH (e.g. a 454)
Writes to DIR/log, one line per event, prefixed with the session's pid:
  peer B32 | auth MECH USER PASSWORD ok|bad | mail <A> | rcpt <A> |
  data FILE | quit; the message (dots unstuffed, CRLF) into DIR/msg.PID.N.
MAIL before a successful AUTH is 530 5.7.0, as a real gateway answers."""
import base64, os, sys

D = sys.argv[1]
PID = os.getpid()
inp, out = sys.stdin.buffer, sys.stdout.buffer


def log(s):
    with open(os.path.join(D, "log"), "a") as f:
        f.write("%d %s\n" % (PID, s))


def send(s):
    out.write(s.encode() + b"\r\n")
    out.flush()


def line():
    l = inp.readline()
    if not l:
        sys.exit(0)
    return l.rstrip(b"\r\n").decode("utf-8", "replace")


def read(name, dflt):
    try:
        with open(os.path.join(D, name)) as f:
            return f.read().strip()
    except OSError:
        return dflt


def b64(s):
    try:
        return base64.b64decode(s, validate=True).decode("utf-8", "replace")
    except Exception:
        return None


def auth(arg, mechs):
    words = arg.split()
    mech = words[0].upper() if words else ""
    if mech not in mechs:
        return send("504 5.5.4 unrecognised authentication mechanism"), False
    if mech == "PLAIN":
        if len(words) > 1:
            resp = words[1]
        else:
            send("334 ")
            resp = line()
        dec = b64(resp)
        parts = dec.split("\0") if dec is not None else []
        if len(parts) != 3:
            return send("501 5.5.2 malformed PLAIN response"), False
        user, pw = parts[1], parts[2]
    else:
        send("334 VXNlcm5hbWU6")
        user = b64(line())
        send("334 UGFzc3dvcmQ6")
        pw = b64(line())
        if user is None or pw is None:
            return send("501 5.5.2 malformed base64"), False
    good = read("creds", "").split(" ", 1)
    ok = len(good) == 2 and [user, pw] == good
    log("auth %s %s %s %s" % (mech, user, pw, "ok" if ok else "bad"))
    forced = read("authreply", "")
    if forced:
        return send(forced), forced.startswith("2")
    send("235 2.7.0 authenticated" if ok else "535 5.7.8 authentication credentials invalid")
    return None, ok


def main():
    mechs = read("mechs", "PLAIN LOGIN").upper().split()
    log("peer %s" % os.environ.get("SAMREMOTEB32", "-"))
    send("220 smtp.postman.i2p ESMTP stand-in")
    authed, mail, n = False, None, 0
    while True:
        l = line()
        verb, _, arg = l.partition(" ")
        verb = verb.upper()
        if verb in ("EHLO", "HELO"):
            if verb == "HELO":
                send("250 smtp.postman.i2p")
                continue
            send("250-smtp.postman.i2p")
            if mechs:
                send("250-AUTH " + " ".join(mechs))
            send("250 8BITMIME")
        elif verb == "AUTH":
            if authed:
                send("503 5.5.1 already authenticated")
            else:
                authed = auth(arg, mechs)[1]
        elif verb == "MAIL":
            if not authed:
                send("530 5.7.0 authentication required")
                continue
            mail = arg[5:].split(" ")[0]
            log("mail %s" % mail)
            send("250 2.1.0 ok")
        elif verb == "RCPT":
            if mail is None:
                send("503 5.5.1 MAIL first")
                continue
            log("rcpt %s" % arg[3:])
            send("250 2.1.5 ok")
        elif verb == "DATA":
            if mail is None:
                send("503 5.5.1 MAIL first")
                continue
            send("354 go ahead")
            n += 1
            name = os.path.join(D, "msg.%d.%d" % (PID, n))
            with open(name, "wb") as f:
                while True:
                    l = inp.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    f.write(l[1:] if l.startswith(b".") else l)
            log("data %s" % name)
            send("250 2.0.0 queued as %d.%d" % (PID, n))
            mail = None
        elif verb == "RSET":
            mail = None
            send("250 2.0.0 ok")
        elif verb == "NOOP":
            send("250 2.0.0 ok")
        elif verb == "QUIT":
            log("quit")
            send("221 2.0.0 bye")
            return
        else:
            send("502 5.5.2 unknown command")


main()
