#!/bin/sh
# SPDX-License-Identifier: MIT
# /events with 1,200 devices (README "Web page"): the `hello` snapshot is
# well over the 256 KiB a slow client may leave unread, yet it is sent
# whole and the stream goes on (the limit counts what follows it); the
# time /api/devices takes is printed; both are written a device at a time
# (chunked) and list the same devices. HEAD /api/devices answers. Also:
# http.max_clients under 4 is refused, a password hash slower than 100 ms
# to check is warned about at start-up.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" jq curl

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); HTTP_PORT=$(free_port)
URL="http://127.0.0.1:$HTTP_PORT"
N_DEV=1200
start_broker "$MQTT_PORT"
"$SIM" --devices $N_DEV --seed 5 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	'applications = ( { name = "sim"; status_interval_h = 0; } );' \
	"http = { port = $HTTP_PORT; www_dir = \"$top_srcdir/www\"; };"
start_bridge "$T/lb.conf"

note "hello with $N_DEV devices, then the stream lives on"
curl -sS -N "$URL/events" > "$T/sse.out" 2> "$T/sse.err" &
SSE_PID=$!; PIDS="$PIDS $SSE_PID"
wait_count "$T/sse.out" '^event: hello$' 1 || fail "no hello: $(cat "$T/sse.err")"
# the blank lines that end `retry` and `hello`: the snapshot came whole
wait_count "$T/sse.out" '^$' 2 || fail "hello not complete"
sed -n 4p "$T/sse.out" | sed 's/^data: //' > "$T/hello.json"
size=$(wc -c < "$T/hello.json")
[ "$size" -gt 262144 ] || fail "hello is $size bytes: not over the 256 KiB limit, the test proves nothing"
jq -e --argjson n $N_DEV '(.devices | length) == $n' "$T/hello.json" > /dev/null ||
	fail "hello has $(jq '.devices | length' "$T/hello.json") devices"
kill -0 "$SSE_PID" 2>/dev/null || fail "the stream ended after hello: $(cat "$T/sse.err")"
# a second client gets it all too
curl -sS -N --max-time 30 "$URL/events" > "$T/sse2.out" 2>/dev/null &
PIDS="$PIDS $!"
wait_count "$T/sse2.out" '^event: hello$' 1 || fail "no second hello"
t=$(curl -sS -D "$T/devices.h" -o "$T/devices.json" -w '%{time_total}' "$URL/api/devices") ||
	fail "/api/devices"
jq -e --argjson n $N_DEV '(.devices | length) == $n' "$T/devices.json" > /dev/null ||
	fail "/api/devices: not $N_DEV devices"
# written a piece at a time as it is read (no length known before the end)
grep -qi '^transfer-encoding: chunked' "$T/devices.h" || fail "not chunked: $(cat "$T/devices.h")"
# nothing was heard: the snapshot's devices are the list's, in the same order
jq -c .devices "$T/hello.json" > "$T/hello.devices"
jq -c .devices "$T/devices.json" > "$T/api.devices"
cmp -s "$T/hello.devices" "$T/api.devices" || fail "hello's devices differ from /api/devices'"
curl -sS -I "$URL/api/devices" > "$T/head.h" || fail "HEAD /api/devices"
grep -q '^HTTP/1.1 200' "$T/head.h" || fail "HEAD: $(head -1 "$T/head.h")"
echo "GET /api/devices of $N_DEV devices: ${t} s ($(wc -c < "$T/devices.json") bytes)"
curl -sS "$URL/metrics" > "$T/metrics.txt" || fail "/metrics"
grep -q '^lorabridge_sse_disconnected_slow_total 0$' "$T/metrics.txt" ||
	fail "a client was cut: $(grep slow_total "$T/metrics.txt")"
grep -q '^lorabridge_sse_clients 2$' "$T/metrics.txt" ||
	fail "streams open: $(grep '^lorabridge_sse_clients' "$T/metrics.txt")"

note "settings: max_clients under 4 refused; a slow password hash is warned about at start"
write_config "$T/few.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	"http = { port = $HTTP_PORT; max_clients = 3; };"
if "$LORABRIDGE" --check-config -c "$T/few.conf" > "$T/few.err" 2>&1; then
	fail "http.max_clients = 3 was accepted"
fi
grep -q 'max_clients' "$T/few.err" || fail "message: $(cat "$T/few.err")"
# 1,000,000 iterations (the most allowed): far over 100 ms anywhere
HASH=$(printf 'pw\n' | "$LORABRIDGE" passwd --iterations 1000000) || fail "passwd"
if printf 'pw\n' | "$LORABRIDGE" passwd --iterations 1000001 > /dev/null 2>&1; then
	fail "passwd took 1000001 iterations"
fi
kill "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit"
HTTP_PORT=$(free_port)
write_config "$T/slow.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	'applications = ( { name = "sim"; status_interval_h = 0; } );' \
	"http = { port = $HTTP_PORT; www_dir = \"$top_srcdir/www\"; password = \"$HASH\"; };"
start_bridge "$T/slow.conf"
grep -q 'one check of http.password takes [0-9]* ms (1000000 iterations)' "$T/bridge.log" ||
	fail "no warning for a slow hash: $(grep '\[web\]' "$T/bridge.log")"
note "ok"
