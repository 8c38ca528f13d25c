# SPDX-License-Identifier: MIT
"""systemd's notification socket, for the integration tests.

    notify_socket.py listen PATH OUT
    notify_socket.py send PATH TEXT

listen: binds a datagram socket at PATH (what $NOTIFY_SOCKET names,
sd_notify(3)) and appends each datagram to OUT as one line (its lines
joined by " | "), flushed at once: "READY=1", "WATCHDOG=1", "STATUS=...".
send: sends TEXT there, a marker: once it is in OUT, so is everything
sent to PATH before it (one socket, read in order).
"""
import socket
import sys


def listen(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    with open(out, "a", encoding="utf-8") as f:
        while True:
            data = s.recv(65536)
            f.write(data.decode("utf-8", "replace").strip().replace("\n", " | ") + "\n")
            f.flush()


def send(path, text):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(text.encode(), path)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "listen":
        listen(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
