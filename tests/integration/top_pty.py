#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""For test_web_api.sh: run `lorabridge top --url URL` on a pseudo-terminal
(as a user would), wait until it has drawn the devices table, press KEY
("q", or "ctrl-c" for the terminal's interrupt), and check that it exits
with status 0 within 5 s and leaves the terminal's echo on.
Usage: top_pty.py LORABRIDGE URL KEY. Exit 0 on success, 1 with a reason."""
import os
import pty
import select
import sys
import termios
import time

lb, url, key = sys.argv[1], sys.argv[2], sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execv(lb, [lb, "top", "--url", url])
out = b""
deadline = time.time() + 20
while b"DEVICE" not in out or b"sim-0" not in out:
    if time.time() > deadline:
        print("top drew no table:", out[-500:], file=sys.stderr)
        sys.exit(1)
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            out += os.read(fd, 65536)
        except OSError:
            break
time.sleep(0.3)                       # the terminal is in raw mode by now
if termios.tcgetattr(fd)[3] & termios.ECHO:
    print("top did not turn the echo off", file=sys.stderr)
    sys.exit(1)
os.write(fd, b"q" if key == "q" else b"\x03")
deadline = time.time() + 5
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            print("top exited with", code, out[-300:], file=sys.stderr)
            sys.exit(1)
        sys.exit(0)
    try:
        select.select([fd], [], [], 0.1)
        os.read(fd, 65536)
    except OSError:
        time.sleep(0.1)
os.kill(pid, 9)
print("top did not exit on", key, file=sys.stderr)
sys.exit(1)
