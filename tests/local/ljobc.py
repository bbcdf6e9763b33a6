"""tests/local/ljobc.py: the runner's end of e2e-local -w's socket
(lib/localjob.c) for worker.py and batchfault.py: a request is one packet
of NUL-ended fields with the message's descriptor passed along; each
answer one packet."""
import array
import socket
import subprocess


def send(sock, fields, fds=()):
    """One request: fields (a list, or the packet's bytes as they are)
    with the descriptors fds (none: a malformed request)."""
    data = b"".join(f.encode() + b"\0" for f in fields) if isinstance(fields, list) else fields
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", list(fds)))] if fds else []
    sock.sendmsg([data], anc)


def answers(sock, n):
    """The next n answers, as text ("no answer: ..." for one that does not come)."""
    got = []
    for _ in range(n):
        try:
            got.append(sock.recv(8192).decode(errors="replace"))
        except (socket.timeout, OSError) as e:
            got.append("no answer: %s" % e)
    return got


def close_wait(sock, proc):
    """Closes the runner's end, as the runner does to end a worker; the
    worker's exit status within 10 s, or "hung" (then it is killed)."""
    sock.close()
    try:
        return proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "hung"
