#!/usr/bin/env python3
"""A tty echo device that misbehaves once, written independently of rpmsg-soak.

It makes a pseudo-terminal, links its slave at --link, prints "ready" and echoes every
--size-byte message back, except message number --at (counting from 0), to which it does
--fault: drop (never echo it), flip (flip one bit in its middle), dup (echo it twice),
stop (echo nothing from it on), hangup (close the device: the tester sees a hang-up),
none (behave). It knows nothing of the frame format: it counts bytes.

Byte damage, --count N bytes at a random place in message --at (--seed picks it):
insert (N new bytes, none equal to the bytes next to them nor, from 4 bytes on, to any piece
of the last 2 KiB echoed), repeat (the N bytes just before the place, again), cut (N bytes
of the message left out). Insert and repeat go after the frame's 13-byte header (bytes added
inside a header make the frame unreadable: that is corruption, not a stray run); cut goes
anywhere. --greeting TEXT is written into the tty before "ready", as the driver's probe
greeting waits in /dev/ttyRPMSG30 before a tester opens it.
"""
import argparse
import os
import random
import select
import signal
import sys
import tty

p = argparse.ArgumentParser()
p.add_argument("--link", required=True)
p.add_argument("--size", type=int, required=True)
p.add_argument("--at", type=int, default=10)
p.add_argument("--fault", choices=["none", "drop", "flip", "dup", "stop", "hangup", "insert", "repeat", "cut"], required=True)
p.add_argument("--count", type=int, default=1)
p.add_argument("--seed", type=int, default=None)
p.add_argument("--greeting", default=None)
a = p.parse_args()
rng = random.Random(a.seed)
HEADER = 13
history = b""


def foreign(n, before, after):
    """n bytes that are no frame's magic and repeat nothing the tester could have seen."""
    while True:
        b = bytes(rng.choice([c for c in range(256) if c != 0x23]) for _ in range(n))
        if b == before[-n:] or b == after[:n]:
            continue
        if n >= 4 and b in history + before:
            continue
        if n < 4 and (b[0] == (before[-1:] or b"\0")[0] or b[-1] == (after[:1] or b"\0")[0]):
            continue
        return b


def damage(msg):
    n = a.count
    if a.fault == "cut":
        pos = rng.randrange(0, len(msg) - n + 1)
        out = msg[:pos] + msg[pos + n:]
    elif a.fault == "repeat":
        pos = rng.randrange(max(HEADER, n), len(msg) + 1)
        out = msg[:pos] + msg[pos - n:pos] + msg[pos:]
    else:
        pos = rng.randrange(HEADER, len(msg) + 1)
        out = msg[:pos] + foreign(n, msg[:pos], msg[pos:]) + msg[pos:]
    print(f"{a.fault} {n} byte(s) at {pos} of message {a.at}", file=sys.stderr, flush=True)
    return out

master, slave = os.openpty()
tty.setraw(slave)
name = os.ttyname(slave)
try:
    os.unlink(a.link)
except FileNotFoundError:
    pass
os.symlink(name, a.link)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
if a.greeting:
    os.write(master, a.greeting.encode())
print("ready", flush=True)

pending = b""
index = 0
stopped = False
try:
    while True:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        pending += data
        while len(pending) >= a.size:
            msg, pending = pending[: a.size], pending[a.size :]
            out = msg
            if index == a.at:
                if a.fault == "drop":
                    out = b""
                elif a.fault == "flip":
                    b = bytearray(msg)
                    b[len(b) // 2] ^= 0x04
                    out = bytes(b)
                elif a.fault == "dup":
                    out = msg + msg
                elif a.fault == "stop":
                    stopped = True
                elif a.fault in ("insert", "repeat", "cut"):
                    out = damage(msg)
                elif a.fault == "hangup":
                    os.close(master)
                    os.close(slave)
                    os.unlink(a.link)
                    sys.exit(0)
            index += 1
            if not stopped and out:
                os.write(master, out)
                history = (history + out)[-2048:]
finally:
    try:
        os.unlink(a.link)
    except OSError:
        pass
