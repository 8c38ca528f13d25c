#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Malformed HTTP for test_web_api.sh: http_garbage.py HOST PORT N sends N
requests of kinds a careless or hostile client sends (random bytes, bad
request lines, oversized and too many headers, a long URL, bad or huge
Content-Length, truncated bodies, bad chunked encoding, unknown methods,
path tricks, bad Authorization) and keeps a few half-sent requests open a
while (slowloris-like, within the server's connection limit), then closes
them. The server may answer 4xx or close; a 5xx answer or a connection it
refuses outright (not even accepting) after the first few counts as a
failure (but 505 HTTP Version Not Supported, the right answer to HTTP/9.9). Prints a summary "sent=N answered=A closed=C 4xx=X 5xx=Y
refused=R"; exit 1 on a 5xx."""
import random
import socket
import sys
import time

HOST, PORT, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(14)
CUT = b"\x00CUT"     # marker: send without the marker, close at once


def kinds():
    big = "a" * 20000
    return [
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) + b"\r\n\r\n",
        lambda: b"GET\r\n\r\n",
        lambda: b"GET / HTTP/9.9\r\n\r\n",
        lambda: b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
        lambda: b"GET /" + big.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big.encode() + b"\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\nHost: x\r\n" +
        b"".join(b"X-H%d: v\r\n" % i for i in range(80)) + b"\r\n",
        lambda: b"POST /api/devices/0000000000000000/queue HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 99999999999\r\n\r\nabc",
        lambda: b"POST /api/devices/0000000000000000/queue HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: -5\r\n\r\n",
        # a body cut short: the client gives up (closes) without waiting
        lambda: b"POST /api/devices/0000000000000000/queue HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 100\r\n\r\n{\"fPort\":" + CUT,
        lambda: b"POST /api/devices/0000000000000000/queue HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n",
        lambda: b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        lambda: b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        lambda: b"GET /api/devices/zzzzzzzzzzzzzzzz HTTP/1.1\r\nHost: x\r\n\r\n",
        lambda: b"GET /api/devices/\x00\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        lambda: b"POST /api/devices/5a00002a00000000/queue HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: Bearer \xff\xfe\r\nContent-Length: 2\r\n\r\n{}",
        lambda: b"GET /events HTTP/1.1\r\nHost: x\r\nRange: bytes=-1\r\n\r\n",
        lambda: b"\r\n\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
        lambda: b"GET / HTTP/1.1\nHost: x\n\n",
    ]


def status_of(data):
    if data.startswith(b"HTTP/1."):
        try:
            return int(data.split(b" ", 2)[1])
        except (IndexError, ValueError):
            return -1
    return None


def one(payload, stats):
    try:
        s = socket.create_connection((HOST, PORT), timeout=5)
    except OSError:
        stats["refused"] += 1
        return
    try:
        s.settimeout(5)
        if payload.endswith(CUT):
            s.sendall(payload[:-len(CUT)])
            time.sleep(0.02)
            stats["closed"] += 1
            return
        s.sendall(payload)
        # An incomplete request gets no answer: give up after a moment.
        s.settimeout(0.3)
        data = b""
        while len(data) < 64:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        code = status_of(data)
        if code is None:
            stats["closed"] += 1
        else:
            stats["answered"] += 1
            if 400 <= code < 500:
                stats["4xx"] += 1
            elif code >= 500 and code != 505:   # 505: HTTP/9.9 is not supported
                stats["5xx"] += 1
                print("5xx for", payload[:80], data[:200], file=sys.stderr)
    except OSError:   # timeout, reset
        stats["closed"] += 1
    finally:
        s.close()


def main():
    stats = dict(sent=0, answered=0, closed=0, refused=0, **{"4xx": 0, "5xx": 0})
    ks = kinds()
    slow = []
    for i in range(N):
        if i % 100 == 0 and len(slow) < 4:
            # slowloris-ish: a request line sent a byte at a time, held open
            try:
                s = socket.create_connection((HOST, PORT), timeout=5)
                slow.append(s)
            except OSError:
                pass
        for s in list(slow):
            try:
                s.send(b"G")
            except OSError:
                slow.remove(s)
        one(ks[i % len(ks)](), stats)
        stats["sent"] += 1
    time.sleep(0.2)
    for s in slow:
        s.close()
    print(" ".join(f"{k}={v}" for k, v in stats.items()))
    sys.exit(1 if stats["5xx"] else 0)


main()
