#!/usr/bin/env python3
"""samrtt.py — the raw SAM baseline of benchmark 6 (tests/bench/i2p.sh).

  samrtt.py echo SAM ID DESTFILE [OPTION=VALUE...]
      A transient STREAM session on SAM; writes its public destination to
      DESTFILE, then accepts streams forever and echoes every line back.
  samrtt.py ping SAM ID DESTFILE RTTS [OPTION=VALUE...]
      A transient STREAM session on SAM. For each line read on stdin: a new
      SAM connection, STREAM CONNECT to the destination in DESTFILE, one
      line sent and its echo read (connect + 1 round trip), then RTTS more
      line round trips; prints one JSON line {"connect_rtt": ms, "rtt": ms
      (median of the further ones)}.
Both hold their session until killed (SIGTERM). Standard library only.
"""
import json
import os
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "i2p"))
import samtool  # noqa: E402  (tests/i2p/samtool.py: the key helpers)


def conn(sam):
    host, port = sam.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=120)
    f = s.makefile("rb")
    s.sendall(b"HELLO VERSION MIN=3.1 MAX=3.3\n")
    line = f.readline().decode()
    if "RESULT=OK" not in line:
        raise SystemExit("samrtt: HELLO: " + line.strip())
    return s, f


def session(sam, sid, opts):
    s, f = conn(sam)
    s.sendall(("SESSION CREATE STYLE=STREAM ID=%s DESTINATION=TRANSIENT SIGNATURE_TYPE=7 %s\n"
               % (sid, " ".join(opts))).encode())
    line = f.readline().decode()
    if "RESULT=OK" not in line:
        raise SystemExit("samrtt: SESSION CREATE: " + line.strip())
    priv = line.split("DESTINATION=", 1)[1].split()[0]
    blob = samtool.b64decode(priv)
    pub = samtool.b64encode(blob[:samtool.dest_len(blob)])
    return s, f, pub


def echo(sam, sid, destfile, opts):
    ctl, _, pub = session(sam, sid, opts)
    with open(destfile + ".tmp", "w") as out:
        out.write(pub + "\n")
    os.rename(destfile + ".tmp", destfile)

    def serve(s, f):
        try:
            while True:
                line = f.readline()
                if not line:
                    break
                s.sendall(line)
        except OSError:
            pass
        s.close()

    # One ACCEPT pending at a time: i2pd answers RESULT=OK at once and
    # queues further ACCEPTs without a limit, so a loop that does not wait
    # for the peer's destination line opens SAM connections until the
    # router runs out of descriptors.
    while True:
        s, f = conn(sam)
        s.sendall(("STREAM ACCEPT ID=%s SILENT=false\n" % sid).encode())
        st = f.readline().decode()
        if "RESULT=OK" not in st:
            time.sleep(0.2)
            s.close()
            continue
        s.settimeout(None)
        try:
            peer = f.readline()  # the peer's destination line, when one connects
        except OSError:
            peer = b""
        if not peer:
            s.close()
            time.sleep(0.2)
            continue
        threading.Thread(target=serve, args=(s, f), daemon=True).start()


def ping(sam, sid, destfile, rtts, opts):
    ctl, _, _ = session(sam, sid, opts)
    dest = open(destfile).read().strip()
    for _ in sys.stdin:
        s, f = conn(sam)
        t0 = time.monotonic()
        s.sendall(("STREAM CONNECT ID=%s DESTINATION=%s SILENT=false\n" % (sid, dest)).encode())
        st = f.readline().decode()
        if "RESULT=OK" not in st:
            print(json.dumps({"error": st.strip()}), flush=True)
            s.close()
            continue
        s.sendall(b"ping 0\n")
        f.readline()
        t1 = time.monotonic()
        rs = []
        for i in range(rtts):
            a = time.monotonic()
            s.sendall(b"ping %d\n" % (i + 1))
            f.readline()
            rs.append((time.monotonic() - a) * 1000)
        s.close()
        print(json.dumps({"connect_rtt": (t1 - t0) * 1000, "rtt": statistics.median(rs) if rs else None}),
              flush=True)


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "echo":
        echo(a[1], a[2], a[3], a[4:])
    elif len(a) >= 5 and a[0] == "ping":
        ping(a[1], a[2], a[3], int(a[4]), a[5:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
