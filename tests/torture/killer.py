#!/usr/bin/env python3
"""killer.py LOG STOPFILE ROOTPID[=NAME][,...] PROG[:MINGAP]... [--pause MIN MAX] [--wait S]

SIGKILLs the programs named (by their /proc comm, e.g. e2e-smtpd) among the
descendants of the ROOTPIDs (the s6-svscan processes of a test), spread
evenly: the target is a program killed least so far (/proc is scanned
every few ms until one of its instances shows; after S seconds, default
1.5, without one, any running program killed least is taken instead); one
of its instances is hit, below the root where that program was hit least
(so both mail homes get their share), then a pause of MIN..MAX seconds
(default 0.05..0.25). A
program with a MINGAP (seconds) is hit at most once in that time (for the
long-lived ones: e2e-runner, e2e-samaccept). Runs until STOPFILE exists.
One line per kill in LOG: "UNIXTIME PROG PID NAME" (NAME: the root's,
default its pid). Only processes below the
roots are ever signalled: each is opened as a pidfd and its start time
checked again before the signal, so that a reused pid is never hit.
"""
import os
import random
import signal
import sys
import time


def stat(pid):
    """(comm, ppid, starttime) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read().decode("latin-1")
    except OSError:
        return None
    l, r = s.index("("), s.rindex(")")
    rest = s[r + 2:].split()
    if rest[0] == "Z":
        return None
    return s[l + 1:r], int(rest[1]), rest[19]


def children(pid):
    """The children of pid, from /proc/PID/task/TID/children."""
    out = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def below(roots):
    """{comm: [(pid, starttime, root)]} of the live descendants of roots
    (walked down from the roots: cheap however busy the machine is)."""
    out, todo = {}, [(r, i) for i, r in enumerate(roots)]
    while todo:
        p, root = todo.pop()
        for c in children(p):
            st = stat(c)
            if st:
                out.setdefault(st[0], []).append((c, st[2], root))
                todo.append((c, root))
    return out


def kill(pid, start):
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        st = stat(pid)
        if not st or st[2] != start:
            return False
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def main():
    a = sys.argv[1:]
    pause, wait = (0.05, 0.25), 1.5
    if "--wait" in a:
        i = a.index("--wait")
        wait = float(a[i + 1])
        del a[i:i + 2]
    if "--pause" in a:
        i = a.index("--pause")
        pause = (float(a[i + 1]), float(a[i + 2]))
        del a[i:i + 3]
    log, stop = a[0], a[1]
    roots, names = [], []
    for r in a[2].split(","):
        pid, _, name = r.partition("=")
        roots.append(int(pid))
        names.append(name or pid)
    progs = []
    for p in a[3:]:
        name, _, gap = p.partition(":")
        progs.append((name, float(gap or 0)))
    last = {name: 0.0 for name, _ in progs}
    count = {name: 0 for name, _ in progs}
    hits = {}
    out = open(log, "a", buffering=1)
    since = time.time()
    while not os.path.exists(stop):
        running = below(roots)
        now = time.time()
        ready = [name for name, gap in progs if running.get(name) and now - last[name] >= gap]
        # a program killed least so far (of those not resting); after `wait` seconds without
        # one of its instances, whatever runs that was killed least
        free = [n for n, gap in progs if now - last[n] >= gap]
        least = min(count[n] for n in free) if free else 0
        want = [n for n in ready if count[n] == least]
        if not want and now - since > wait:
            want = sorted(ready, key=lambda n: count[n])[:1]
        if not want:
            time.sleep(0.003)
            continue
        name = random.choice(want)
        # of its instances, one below the root where it was killed least
        fewest = min(hits.get((name, r), 0) for _, _, r in running[name])
        pid, start, root = random.choice([i for i in running[name] if hits.get((name, i[2]), 0) == fewest])
        if kill(pid, start):
            last[name] = now
            count[name] += 1
            hits[(name, root)] = hits.get((name, root), 0) + 1
            out.write("%.3f %s %d %s\n" % (now, name, pid, names[root]))
            since = time.time()
            time.sleep(random.uniform(*pause))

if __name__ == "__main__":
    main()
