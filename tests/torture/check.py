#!/usr/bin/env python3
"""check.py OUT ADDR=MAILDIR...

Checks the Maildirs against what submit.py wrote to OUT. Prints figures,
one "name=value" a line:
  submitted, ok (answered 250), temp (451/452), drop, other
  delivered    (recipient, message) pairs found
  lost         250 messages missing at one of their recipients
  dup          (recipient, message) pairs found more than once
  half         files in new/ or cur/ that are not whole: the size differs
               from the name's S=, or the body does not end with its
               "END tort-I" line, or no token
  stray        messages found at a recipient that was not theirs
  tmpleft      files left in the Maildirs' tmp/
  late         messages not answered 250 (451/452/drop) that arrived anyway
  bounces      bounces and delay notices (from MAILER-DAEMON) in the Maildirs
then "problem: ..." lines (at most 20) for what went wrong.
"""
import os
import re
import sys


def main():
    out, specs = sys.argv[1], sys.argv[2:]
    sent = {}
    for line in open(out):
        i, rcpts, r = line.split()
        sent[int(i)] = (rcpts.split(","), r)
    fig = dict(submitted=len(sent), ok=0, temp=0, drop=0, other=0, delivered=0, lost=0, dup=0, half=0,
               stray=0, tmpleft=0, late=0, bounces=0)
    for rcpts, r in sent.values():
        k = "ok" if r == "250" else "temp" if r in ("451", "452") else "drop" if r == "drop" else "other"
        fig[k] += 1
    problems = []
    found = {}
    for spec in specs:
        addr, md = spec.split("=", 1)
        fig["tmpleft"] += len(os.listdir(os.path.join(md, "tmp")))
        for sub in ("new", "cur"):
            for name in os.listdir(os.path.join(md, sub)):
                path = os.path.join(md, sub, name)
                data = open(path, "rb").read()
                if re.search(rb"^From: Mail Delivery System <MAILER-DAEMON@", data, re.M):
                    fig["bounces"] += 1
                    why = re.search(rb"^    (.*)$", data, re.M)
                    problems.append("bounce: %s/%s: %s" % (sub, name, why.group(1).decode("latin-1") if why else "?"))
                    continue
                m = re.search(rb"^token tort-(\d+)$", data, re.M)
                s = re.search(r",S=(\d+)", name)
                if not m or not s or int(s.group(1)) != len(data) or \
                        not data.endswith(b"\nEND tort-%s\n" % m.group(1)):
                    fig["half"] += 1
                    problems.append("half: %s/%s (%d bytes)" % (sub, name, len(data)))
                    continue
                i = int(m.group(1))
                found[(addr, i)] = found.get((addr, i), 0) + 1
    late = set()
    for (addr, i), c in found.items():
        fig["delivered"] += 1
        if c > 1:
            fig["dup"] += 1
            problems.append("dup: tort-%d %d times at %s" % (i, c, addr))
        if i not in sent or addr not in sent[i][0]:
            fig["stray"] += 1
            problems.append("stray: tort-%d at %s" % (i, addr))
        elif sent[i][1] != "250":
            late.add(i)
    fig["late"] = len(late)
    for i, (rcpts, r) in sorted(sent.items()):
        if r == "250":
            for a in rcpts:
                if (a, i) not in found:
                    fig["lost"] += 1
                    problems.append("lost: tort-%d for %s" % (i, a))
    for k, v in fig.items():
        print("%s=%d" % (k, v))
    for p in problems[:20]:
        print("problem: " + p)


if __name__ == "__main__":
    main()
