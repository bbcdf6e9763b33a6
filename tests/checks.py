"""tests/checks.py — for the Python helpers of the TAP tests (tests/tls/tls.py,
tests/pop3d/pop3.py): check() prints "ok NAME" or "not ok NAME" (then up to
ten lines of detail as "#   ..."), which the bash test turns into TAP tests
with py_checks (tests/lib.sh); status() is the exit status to end with, 1
when a check failed."""

FAILS = 0


def check(cond, name, detail=""):
    global FAILS
    if cond:
        print("ok " + name)
    else:
        FAILS += 1
        print("not ok " + name)
        for line in str(detail).splitlines()[:10]:
            print("#   " + line)


def status():
    return 1 if FAILS else 0
