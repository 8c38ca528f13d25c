# SPDX-License-Identifier: MIT
"""A webhook receiver for the integration tests.

    http_receiver.py PORT OUT [--control FILE] [--cert PEM --key PEM]

Listens on 127.0.0.1:PORT (0: a free port, written to OUT.port) and appends
one line per POST to OUT: "<path>\t<body>" (the body as received, one line
of JSON), and to OUT.times the time it arrived (Unix ms, before its body
is read; the same order as OUT), so that tests measure waits between
requests without their own polling's delay. Each request reads FILE (if given) for how to answer:
{"status": 200, "delay": 0}; the delay (seconds) is waited before the
answer; "headers": {"Name": "value"} are added to it. With --cert/--key it speaks TLS.

A request is recorded exactly when it is answered: both happen under one
lock, and SIGTERM takes the lock before exiting, so a request cut by a
stop is neither recorded nor answered (the bridge sends it again).
"""
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ARGS = {}


def control():
    try:
        with open(ARGS["control"], encoding="utf-8") as f:
            return json.load(f)
    except (KeyError, OSError, ValueError):
        return {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes

    def do_POST(self):
        arrived_ms = int(time.time() * 1000)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        c = control()
        delay = float(c.get("delay", 0))
        if delay:
            time.sleep(delay)
        status = int(c.get("status", 200))
        answer = b"ok" if status < 300 else b'{"error":"refused by the test"}'
        with LOCK:
            # the time first: a test that sees the request sees its time
            with open(ARGS["out"] + ".times", "a", encoding="ascii") as f:
                f.write("%d\n" % arrived_ms)
            with open(ARGS["out"], "ab") as f:
                f.write(self.path.encode() + b"\t" + body.replace(b"\n", b"\\n") + b"\n")
            self.send_response(status)
            for name, value in c.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            self.wfile.flush()

    def log_message(self, fmt, *args):
        pass


def stop(signum, frame):
    LOCK.acquire()
    os._exit(0)


def main():
    port, ARGS["out"] = int(sys.argv[1]), sys.argv[2]
    rest = sys.argv[3:]
    opts = dict(zip(rest[::2], rest[1::2]))
    if "--control" in opts:
        ARGS["control"] = opts["--control"]
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if "--cert" in opts:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts["--cert"], opts["--key"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(ARGS["out"] + ".port", "w", encoding="utf-8") as f:
        f.write("%d\n" % srv.server_address[1])
    signal.signal(signal.SIGTERM, stop)
    srv.serve_forever()


if __name__ == "__main__":
    main()
