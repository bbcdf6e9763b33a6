"""tests/local/batchfault.py E2E_HOME MSGFILE: e2e-local -w with three
requests waiting before it starts (two for bob, one for alice), under
strace that fails the first fsync of bob's new/ (EIO): bob's two are
deferred with that reason, alice's delivered; the same three again: all
delivered, each file once."""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import check, status  # noqa: E402
from ljobc import answers, close_wait, send  # noqa: E402

home, msgfile = sys.argv[1], sys.argv[2]
bobnew = os.path.join(home, "mail", "bob", "new")
REQS = [["bob", "a@b.i2p", "bob@alice.i2p", "bf1R0"],
        ["alice", "a@b.i2p", "alice@alice.i2p", "bf1R1"],
        ["bob", "a@b.i2p", "bob@alice.i2p", "bf2R0"]]


def send_all(sock):
    for fields in REQS:
        f = os.open(msgfile, os.O_RDONLY)
        send(sock, fields, [f])
        os.close(f)


ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
ours.settimeout(20)
send_all(ours)   # all three wait before the worker reads the first
p = subprocess.Popen(["strace", "-qq", "-o", "/dev/null", "-P", bobnew, "-e", "inject=fsync:error=EIO:when=1",
                      "e2e-local", "-w"], stdin=theirs, stderr=subprocess.DEVNULL)
theirs.close()
got = answers(ours, len(REQS))
check(got[0].startswith("Z unable to sync %s: " % bobnew) and got[2] == got[0] and got[1] == "K delivered to alice",
      "three requests waiting, the sync of bob's new/ fails: bob's two Z with the reason, alice's K", got)
send_all(ours)
got = answers(ours, len(REQS))
check(got == ["K delivered to bob", "K delivered to alice", "K delivered to bob"], "the same three again: K each", got)
names = sorted(n.split(",")[0] for n in os.listdir(bobnew) if n.startswith("bf"))
check(names == ["bf1R0", "bf2R0"], "bob's two in new/, each once", names)
rc = close_wait(ours, p)
check(rc == 0, "the runner's end closed: exit 0", rc)
sys.exit(status())
