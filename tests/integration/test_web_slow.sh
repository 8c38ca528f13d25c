#!/bin/sh
# SPDX-License-Identifier: MIT
# Clients trickling their request heads (README "Web page", limits): with
# http.max_clients 8, twelve connections from two addresses each send a
# header line every second, never idle long enough for an idle timeout.
# Each request must arrive whole within 5 s of its connection's accept:
# the server closes every one of them, counts them, and /healthz (from a
# third address) is answered meanwhile, while the trickling goes on.
# Then idle connections (one silent, one kept alive after its answer) are
# closed after 5 s too, neither counted nor logged as slow.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" curl python3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); HTTP_PORT=$(free_port)
URL="http://127.0.0.1:$HTTP_PORT"
start_broker "$MQTT_PORT"
"$SIM" --devices 2 --seed 12 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	"http = { port = $HTTP_PORT; max_clients = 8; www_dir = \"$top_srcdir/www\"; };"
start_bridge "$T/lb.conf"
healthz() { curl -sS -m 2 --interface 127.0.0.3 -o /dev/null -w '%{http_code}' "$URL/healthz"; }
[ "$(healthz)" = 200 ] || fail "/healthz before"

# The trickler: prints "open N" once its sockets are connected, then
# "closed I S" as the server closes socket I, S seconds after its connect;
# ends when all are closed or after 60 s ("still open I").
python3 - "$HTTP_PORT" > "$T/trickle.out" 2> "$T/trickle.err" <<'PY' &
import select, socket, sys, time
port = int(sys.argv[1])
socks = []
for src in ("127.0.0.1", "127.0.0.2"):
    for _ in range(6):
        s = socket.socket()
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append([s, time.monotonic(), None])
print("open", len(socks), flush=True)
end = time.monotonic() + 60
next_send = time.monotonic() + 1
while time.monotonic() < end and any(c is None for _, _, c in socks):
    live = [x for x in socks if x[2] is None]
    r, _, _ = select.select([x[0] for x in live], [], [], 0.1)
    for x in live:
        if x[0] in r:
            try:
                gone = x[0].recv(4096) == b""
            except OSError:
                gone = True
            if gone:
                x[2] = time.monotonic() - x[1]
                print("closed %d %.1f" % (socks.index(x), x[2]), flush=True)
    if time.monotonic() >= next_send:
        next_send += 1
        for x in socks:
            if x[2] is None:
                try:
                    x[0].send(b"X-Trickle: 1\r\n")
                except OSError:
                    pass
for i, x in enumerate(socks):
    if x[2] is None:
        print("still open", i, flush=True)
PY
TR_PID=$!; PIDS="$PIDS $TR_PID"
wait_for "$T/trickle.out" "^open 12" "$WAIT_S" || fail "trickler: $(cat "$T/trickle.err")"
t0=$(date +%s)
# every slot taken by a trickling request: answered once the first are cut
healthz_ok() { [ "$(healthz 2>/dev/null)" = 200 ]; }
wait_until 20 healthz_ok || fail "/healthz not answered within 20 s while clients trickle"
note "/healthz answered $(( $(date +%s) - t0 )) s into the trickling"
grep -q '^still open' "$T/trickle.out" && fail "the trickler gave up early: $(cat "$T/trickle.out")"
all_closed() { [ "$(grep -c '^closed ' "$T/trickle.out")" -eq 12 ]; }
# 8 accepted at once, the other 4 once those are cut: 2 x 5 s and slack
wait_until 30 all_closed || fail "trickling requests still open: $(cat "$T/trickle.out")"
note "all 12 trickling requests closed by the server: $(sed -n 's/^closed [0-9]* //p' "$T/trickle.out" |
	sort -n | tr '\n' ' ')s after their connect"
# none before its 5 s
awk '/^closed/ && $3 < 4.5 { exit 1 }' "$T/trickle.out" || fail "closed early: $(cat "$T/trickle.out")"
curl -sS "$URL/metrics" > "$T/metrics" || fail "curl /metrics"
grep -qE '^lorabridge_http_slow_requests_total 1[2-9]$' "$T/metrics" ||
	fail "slow requests not counted: $(grep slow_requests "$T/metrics")"
grep -q 'did not arrive whole within 5 s' "$T/bridge.log" || fail "not logged"

# Idle connections are not slow requests: one that never sends anything
# (a browser's pre-connect) and one kept alive after its answer are closed
# once idle for 5 s, neither counted nor logged as slow.
SLOW=$(sed -n 's/^lorabridge_http_slow_requests_total //p' "$T/metrics")
# (lines of their own: a rate limiter's summary of them may come later)
logged() { grep 'did not arrive whole' "$T/bridge.log" | grep -vc suppressed; }
LOGGED=$(logged)
python3 - "$HTTP_PORT" > "$T/idle.out" 2> "$T/idle.err" <<'PY' || fail "idle: $(cat "$T/idle.err")"
import select, socket, sys, time
port = int(sys.argv[1])
silent = socket.create_connection(("127.0.0.1", port))
t_silent = time.monotonic()
kept = socket.create_connection(("127.0.0.1", port))
kept.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    r, _, _ = select.select([kept], [], [], 5)
    if not r:
        sys.exit("no answer on the kept-alive connection")
    head += kept.recv(4096)
t_kept = time.monotonic()
left = {silent: ("silent", t_silent), kept: ("kept-alive", t_kept)}
end = time.monotonic() + 15
while left and time.monotonic() < end:
    r, _, _ = select.select(list(left), [], [], 0.1)
    for s in r:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data == b"":
            name, t = left.pop(s)
            print("closed %s %.1f" % (name, time.monotonic() - t), flush=True)
for name, _ in left.values():
    print("still open", name, flush=True)
PY
grep -q '^still open' "$T/idle.out" && fail "idle connections left open: $(cat "$T/idle.out")"
awk '/^closed/ && ($3 < 4.5 || $3 > 7.5) { exit 1 }' "$T/idle.out" ||
	fail "idle connections not closed about 5 s in: $(cat "$T/idle.out")"
curl -sS "$URL/metrics" > "$T/metrics2" || fail "curl /metrics"
grep -qx "lorabridge_http_slow_requests_total $SLOW" "$T/metrics2" ||
	fail "idle connections counted as slow: $(grep slow_requests "$T/metrics2"), was $SLOW"
[ "$(logged)" -eq "$LOGGED" ] || fail "an idle connection logged as a slow request: $(grep \
	'did not arrive whole' "$T/bridge.log" | tail -3)"
note "idle connections closed, not counted: $(tr '\n' ' ' < "$T/idle.out")"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
grep -qiE "AddressSanitizer|runtime error|LeakSanitizer" "$T/bridge.log" && fail "sanitizer report"
echo "PASS"
