#!/bin/sh
# SPDX-License-Identifier: MIT
# One integration's connections never hold up another's: two webhooks to a
# black hole (it accepts connections and never answers) with parallel = 16
# each keep 32 requests in flight for their whole timeout_ms (60 s); a third,
# healthy webhook (parallel = 1, timeout_ms = 5000) must still get every
# uplink at once, none of them timed out and retried. (With a connection
# limit below the sum of `parallel`, its requests waited in libcurl's queue
# behind the black hole's, timed out there and backed off.)
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq python3
RECV="$top_srcdir/tests/integration/http_receiver.py"
COUNT=40

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); GOOD_PORT=$(free_port)
start_broker "$MQTT_PORT"

# The black hole: prints its port, then one line per connection accepted.
python3 -c 'import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(512); print(s.getsockname()[1], flush=True); held = []
while True:
    c, _ = s.accept(); held.append(c); print("accepted", flush=True)' \
	> "$T/hole.out" 2> "$T/hole.err" &
PIDS="$PIDS $!"
wait_until "$WAIT_S" test -s "$T/hole.out" || fail "black hole: $(cat "$T/hole.err")"
HOLE_PORT=$(head -n 1 "$T/hole.out")

echo '{"status": 200, "delay": 0}' > "$T/good.ctl"
python3 "$RECV" "$GOOD_PORT" "$T/good.req" --control "$T/good.ctl" 2> "$T/good.err" &
PIDS="$PIDS $!"
wait_until "$WAIT_S" test -s "$T/good.req.port" || fail "receiver: $(cat "$T/good.err")"

"$SIM" --devices 10 --seed 12 --emit-devices "$T/devices.conf" || fail "sim --emit-devices"
hole() {
	echo "{ name = \"$1\"; url = \"http://127.0.0.1:$HOLE_PORT/$1\"; events = [\"up\"];" \
		"parallel = 16; timeout_ms = 60000; },"
}
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 50;" \
	"$NO_MAC_APPS" "$NO_MAC_DOWNLINK" \
	"integrations = { http = ( $(hole hole1) $(hole hole2)
	 { name = \"good\"; url = \"http://127.0.0.1:$GOOD_PORT/g\"; events = [\"up\"];
	   parallel = 1; timeout_ms = 5000; } ); };"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "configuration refused"
subscribe bridge 'lorabridge/#'
start_bridge "$T/lb.conf"

"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 10 --seed 12 --count "$COUNT" --rate 10 \
	--quiet 2> "$T/sim.err" || fail "sim: $(tail -3 "$T/sim.err")"
# The premise: the black hole holds 32 connections (16 per webhook).
wait_count "$T/hole.out" '^accepted' 32 || fail "the black hole did not get 32 connections"
wait_drained bridge ".uplinksPublished == $COUNT" || fail "not every uplink was published"
wait_stats_cond bridge ".integrations.good.sent == $COUNT" ||
	fail "the healthy webhook did not get every uplink: $(last_stats bridge | jq -c .integrations)"
s=$(last_stats bridge | jq -c '.integrations.good')
[ "$(echo "$s" | jq .retried)" -eq 0 ] || fail "the healthy webhook's requests were retried: $s"
[ "$(echo "$s" | jq .failed)" -eq 0 ] || fail "the healthy webhook's requests failed: $s"
[ "$(count_lines "$T/good.req" .)" -eq "$COUNT" ] ||
	fail "the receiver got $(count_lines "$T/good.req" .) requests, not $COUNT"
note "a healthy webhook got all $COUNT uplinks beside 32 requests held by a black hole"
echo PASS
