#!/usr/bin/env python3
"""body.py SWAKS-TRANSCRIPT RECEIVED.eml [BODYFILE]

Compares the body (everything after the first empty line) of the message
swaks sent — rebuilt from its transcript: the " -> " lines between the 354
reply and the lone ".", CRLF made LF, dot-stuffing undone — with the body
of RECEIVED.eml (as tests/flow/pop.py wrote it). Prints "identical" or
where they differ. With BODYFILE (what was given to swaks --body), also
checks that the received body starts with it (swaks adds blank lines at the
end). Exit 0 when everything matches.
"""
import sys


def body(msg):
    i = msg.find(b"\n\n")
    return msg[i + 2:] if i >= 0 else b""


def sent(transcript):
    out, on = [], False
    for line in transcript.split(b"\n"):
        if not on:
            on = line.startswith(b"<-  354") or line.startswith(b"<~  354")
            continue
        if not (line.startswith(b" -> ") or line.startswith(b" ~> ")):
            continue
        l = line[4:].rstrip(b"\r")
        if l == b".":
            return b"".join(out)
        if l.startswith(b"."):
            l = l[1:]
        out.append(l + b"\n")
    raise SystemExit("no DATA in the transcript")


def main():
    want = body(sent(open(sys.argv[1], "rb").read()))
    got = body(open(sys.argv[2], "rb").read())
    ok = True
    if want == got:
        print("identical (%d bytes)" % len(got))
    else:
        ok = False
        n = next((i for i in range(min(len(want), len(got))) if want[i] != got[i]), min(len(want), len(got)))
        print("differ at byte %d: sent %r, received %r" % (n, want[n:n + 40], got[n:n + 40]))
    if len(sys.argv) > 3:
        given = open(sys.argv[3], "rb").read()
        if got.startswith(given):
            print("starts with the given body")
        else:
            ok = False
            print("does not start with the given body")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
