"""tests/local/worker.py E2E_HOME MSGFILE: e2e-local -w as e2e-runner drives
it (lib/localjob.c): requests on a SOCK_SEQPACKET socket with the message's
file descriptor passed along, one answer packet each; then what it does
with requests the runner never sends."""
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import check, status  # noqa: E402
from ljobc import answers, close_wait, send  # noqa: E402

home, msgfile = sys.argv[1], sys.argv[2]
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
p = subprocess.Popen(["e2e-local", "-w"], stdin=theirs, stderr=subprocess.PIPE,
                     env=dict(os.environ, E2E_HOME=home))
theirs.close()
ours.settimeout(10)


def ask(fields, fd=None, fds=None):
    send(ours, fields, fds if fds is not None else ([fd] if fd is not None else []))
    return answers(ours, 1)[0]


def newfiles():
    return sorted(os.listdir(os.path.join(home, "mail", "bob", "new")))


def opened():
    return os.open(msgfile, os.O_RDONLY)


before = len(newfiles())
f = opened()
a = ask(["bob", "alice@alice.i2p", "bob@alice.i2p", "w1R0"], f)
check(a == "K delivered to bob", "a request: K delivered to bob", a)
check(len(newfiles()) == before + 1 and any(n.startswith("w1R0,S=") for n in newfiles()),
      "the message is in new/ under the name the request gave", newfiles())
os.lseek(f, 0, os.SEEK_SET)
a = ask(["bob", "alice@alice.i2p", "bob@alice.i2p", "w1R0"], f)
check(a == "K delivered to bob" and len(newfiles()) == before + 1,
      "the same request again: K, and no second copy", a)
os.close(f)
name = [n for n in newfiles() if n.startswith("w1R0,")][0]
with open(os.path.join(home, "mail", "bob", "new", name), "rb") as m:
    head = m.read(200)
check(head.startswith(b"Return-Path: <alice@alice.i2p>\nDelivered-To: bob@alice.i2p\n"),
      "Return-Path and Delivered-To from the request", head)
f = opened()
a = ask(["bob", "", "bob@alice.i2p", "w2R0"], f)
os.close(f)
with open(os.path.join(home, "mail", "bob", "new", [n for n in newfiles() if n.startswith("w2R0,")][0]), "rb") as m:
    check(m.read(15) == b"Return-Path: <>", "an empty sender: Return-Path: <>", a)
f = opened()
a = ask(["nobody", "alice@alice.i2p", "nobody@alice.i2p", "w3R0"], f)
os.close(f)
check(a == "D no mailbox for user nobody", "no such mailbox: D, failed for good", a)
f = opened()
a = ask(["../bob", "a@b.i2p", "x@alice.i2p", "w4R0"], f)
os.close(f)
check(a.startswith("D invalid user name"), "a user name with a slash: D", a)
f = opened()
a = ask(["bob", "a@b.i2p", "bob@alice.i2p", "../w5"], f)
os.close(f)
check(a == "D invalid E2E_DELIVERY", "a delivery name with a slash: D", a)
a = ask(["bob", "a@b.i2p", "bob@alice.i2p", "w6R0"])
check(a == "Z malformed request", "no file descriptor: Z malformed request", a)
f = opened()
a = ask(["bob", "a@b.i2p"], f)
os.close(f)
check(a == "Z malformed request", "two fields instead of four: Z", a)
f = opened()
a = ask(b"bob\0a@b.i2p\0bob@alice.i2p\0w7R0", f)
os.close(f)
check(a == "Z malformed request", "a last field without its NUL: Z", a)
f, g = opened(), opened()
a = ask(["bob", "a@b.i2p", "bob@alice.i2p", "w8R0"], fds=[f, g])
check(a == "K delivered to bob", "two descriptors: the first is the message, the other closed", a)
os.close(f)
os.close(g)
# requests sent one after the other without waiting for answers, as the
# runner hands up to 8 to one worker: one answer each, in their order
batch = [["bob", "a@b.i2p", "bob@alice.i2p", "b%dR0" % i] for i in range(10)]
batch[3] = ["nobody", "a@b.i2p", "nobody@alice.i2p", "b3R0"]
for i, fields in enumerate(batch):
    if i == 5:
        send(ours, fields)   # no descriptor: malformed
        continue
    f = opened()
    send(ours, fields, [f])
    os.close(f)
got = answers(ours, len(batch))
want = ["K delivered to bob"] * 10
want[3], want[5] = "D no mailbox for user nobody", "Z malformed request"
check(got == want, "ten requests at once: ten answers, in order (K, D for no mailbox, Z for no descriptor)", got)
check(sorted(n.split(",")[0] for n in newfiles() if n.startswith("b")) == ["b%dR0" % i for i in (0, 1, 2, 4, 6, 7, 8, 9)],
      "the eight good ones in new/, each once", newfiles())
pid_fds = os.listdir("/proc/%d/fd" % p.pid)
check(sorted(pid_fds) == ["0", "1", "2"], "no descriptor of a request is left open in e2e-local", pid_fds)
check(p.poll() is None, "still running after the bad requests")
rc = close_wait(ours, p)
err = p.stderr.read().decode(errors="replace")
check(rc == 0 and err == "", "the runner's end closed: exit 0, nothing on stderr", "%s %s" % (rc, err))
sys.exit(status())
