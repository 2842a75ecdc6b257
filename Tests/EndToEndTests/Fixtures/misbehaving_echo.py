#!/usr/bin/env python3
"""A tty echo device that misbehaves once, written independently of rpmsg-soak.

It makes a pseudo-terminal, links its slave at --link, prints "ready" and echoes every
--size-byte message back, except message number --at (counting from 0), to which it does
--fault: drop (never echo it), flip (flip one bit in its middle), dup (echo it twice),
stop (echo nothing from it on), hangup (close the device: the tester sees a hang-up),
none (behave). It knows nothing of the frame format: it counts bytes.
"""
import argparse
import os
import select
import signal
import sys
import tty

p = argparse.ArgumentParser()
p.add_argument("--link", required=True)
p.add_argument("--size", type=int, required=True)
p.add_argument("--at", type=int, default=10)
p.add_argument("--fault", choices=["none", "drop", "flip", "dup", "stop", "hangup"], required=True)
a = p.parse_args()

master, slave = os.openpty()
tty.setraw(slave)
name = os.ttyname(slave)
try:
    os.unlink(a.link)
except FileNotFoundError:
    pass
os.symlink(name, a.link)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
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
                elif a.fault == "hangup":
                    os.close(master)
                    os.close(slave)
                    os.unlink(a.link)
                    sys.exit(0)
            index += 1
            if not stopped and out:
                os.write(master, out)
finally:
    try:
        os.unlink(a.link)
    except OSError:
        pass
