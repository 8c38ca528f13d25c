#!/bin/sh
# SPDX-License-Identifier: MIT
# The outbox: uplinks accepted while the broker is away are never lost,
# whatever happens to the bridge meanwhile, and arrive in order per device.
#  A. broker down, 2,000 uplinks from 8 devices, SIGTERM, restart, 200 more
#     uplinks while the 2,000 still wait on disk, broker back: all 2,200
#     delivered, in order (the old ones of each device first), none twice;
#  B. the same with kill -9 once every event is committed: all delivered,
#     in order, at most the duplicates QoS 1 allows (the window in flight);
#     In A and B the in-memory cache (mqtt.queue_limit) holds 300 events:
#     the rest wait on disk and are read back in order; memory never holds
#     more than 300.
#  C. mqtt.outbox_limit_mb = 1, 1,500 larger uplinks while the broker is
#     down: what fits is delivered, the rest is counted exactly in
#     drops.outboxOverflow (delivered + dropped = sent) and logged
#     rate-limited.
# A persistent-session subscriber (QoS 1, broker persistence) sees every
# event published while it reconnects. No fixed sleeps before assertions:
# every wait has a condition and a deadline.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
mkdir -p "$T/broker-db"
start_broker "$MQTT_PORT" "persistence true" "persistence_location $T/broker-db/" \
	"autosave_interval 1" "max_queued_messages 0"
broker_down() { kill -TERM "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; }
broker_up() {
	"$MOSQUITTO" -c "$T/mosquitto-$MQTT_PORT.conf" >> "$T/mosquitto-$MQTT_PORT.log" 2>&1 &
	BROKER_PID=$!; PIDS="$PIDS $BROKER_PID"
	wait_port_tcp "$MQTT_PORT" || fail "broker did not restart"
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# A persistent session, subscribed before the broker goes away: a marker
# published on its topic comes back once it is in place.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -c -i "it-obx-$$" -v \
	-t 'application/+/device/+/event/up' > "$T/sub.out" 2> "$T/sub.err" &
PIDS="$PIDS $!"
i=0
until grep -qs marker "$T/sub.out"; do
	[ $i -lt 50 ] || fail "subscriber not ready: $(cat "$T/sub.err")"
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -m marker \
		-t application/m/device/marker/event/up
	sleep 0.1; i=$((i + 1))
done

"$SIM" --devices 8 --seed 61 --emit-devices "$T/devices.conf" --quiet
# No rate limit: the simulator's bursts are not what is tested here.
UDP_EXTRA="rate_limit_count = 0;"
MQTT_EXTRA="queue_limit = 300;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" \
	"$T/devices.conf" "dedup_window_ms = 0;" 'log_level = "debug";'
MQTT_EXTRA="outbox_limit_mb = 1;" write_config "$T/small.conf" "$UDP_PORT" "$MQTT_PORT" \
	"$T/devices.conf" "dedup_window_ms = 0;"

# got: "devEui fCnt" of every up event received, in arrival order.
got() { grep -v marker "$T/sub.out" | cut -d' ' -f2- | jq -r '"\(.deviceInfo.devEui) \(.fCnt)"'; }
# wait_delivered N SECONDS: until N distinct uplinks arrived.
wait_delivered() {
	_i=0
	while [ "$(got | sort -u | wc -l)" -lt "$1" ]; do
		[ $_i -lt $(($2 * 10)) ] || return 1
		sleep 0.1; _i=$((_i + 1))
	done
}
# sim FCNT_START COUNT EXPECT [options]: uplinks of the 8 devices, every
# PUSH_DATA acknowledged (so every frame was processed by the bridge).
sim() {
	_f=$1 _n=$2 _e=$3; shift 3
	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 8 --seed 61 --gateways 2 --rate 400 \
		--fcnt-start "$_f" --count "$_n" --strict-acks --keepalive 0 --stat-interval 0 \
		--expect "$_e" --quiet "$@" 2> "$T/sim.err" || fail "sim: $(cat "$T/sim.err")"
}
# check_order: first arrivals in fCnt order per device, nothing that was
# not sent (all expect files so far).
check_order() {
	got > "$T/got.txt"
	cat "$T"/exp*.txt | cut -d' ' -f1,2 | sort > "$T/sent.txt"
	extra=$(sort -u "$T/got.txt" | comm -13 "$T/sent.txt" - | wc -l)
	[ "$extra" -eq 0 ] || fail "$extra uplinks delivered that were not sent"
	awk '{ if (seen[$0]++) next
	       if (($1 in last) && $2 <= last[$1]) { print "out of order: " $0; bad = 1 }
	       last[$1] = $2 }
	     END { exit bad }' "$T/got.txt" >&2 || fail "uplinks out of order"
}
# check_all EXPECT...: every expected uplink arrived, in order. Prints the
# number delivered more than once.
check_all() {
	check_order
	cat "$@" | cut -d' ' -f1,2 | sort > "$T/want.txt"
	missing=$(sort -u "$T/got.txt" | comm -23 "$T/want.txt" - | wc -l)
	[ "$missing" -eq 0 ] || fail "$missing uplinks lost: $(sort -u "$T/got.txt" |
		comm -23 "$T/want.txt" - | head -3 | tr '\n' ' ')"
	sort "$T/got.txt" | uniq -d | wc -l
}

broker_down
note "A. broker down: 2,000 uplinks, SIGTERM, restart, 200 more, broker back"
start_bridge "$T/lb.conf"
t0=$(now)
sim 0 2000 "$T/expA.txt"
note "2,000 uplinks accepted in $(since "$t0") s"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
grep -q "2000 event(s) kept in the outbox" "$T/bridge.log" || fail "not all kept at SIGTERM: $(
	grep -E 'outbox|shutting' "$T/bridge.log" | tail -3)"
mv "$T/bridge.log" "$T/bridge-A1.log"
start_bridge "$T/lb.conf"
grep -q "2000 event(s) .* left by the last run" "$T/bridge.log" || fail "outbox not loaded"
sim 250 200 "$T/expA2.txt"
wait_for "$T/bridge.log" "events up to #2200 committed" 20 || fail "A2 not committed"
broker_up
t0=$(now)
wait_delivered 2200 60 || fail "only $(got | sort -u | wc -l) of 2200 delivered"
note "2,200 outbox events delivered $(since "$t0") s after the broker came back"
dups=$(check_all "$T/expA.txt" "$T/expA2.txt")
[ "$dups" -eq 0 ] || fail "$dups uplinks delivered twice after a clean stop"
note "A: all 2,200 delivered in order per device, none twice"

# (The deletions of A's acknowledged rows ride along with B's commits.)
note "B. broker down: 2,000 more uplinks, kill -9 once committed, restart, broker back"
broker_down
sim 275 2000 "$T/expB.txt"
wait_for "$T/bridge.log" "events up to #4200 committed" 20 || fail "not committed: $(
	grep 'events up to' "$T/bridge.log" | tail -1)"
kill -9 "$BRIDGE_PID"; wait "$BRIDGE_PID" 2>/dev/null || true
mv "$T/bridge.log" "$T/bridge-B1.log"
start_bridge "$T/lb.conf"
grep -q "2000 event(s) .* left by the last run" "$T/bridge.log" ||
	fail "outbox after kill -9: $(grep 'left by' "$T/bridge.log")"
broker_up
t0=$(now)
wait_delivered 4200 60 || fail "only $(got | sort -u | wc -l) of 4200 delivered"
note "2,000 outbox events delivered $(since "$t0") s after the broker came back"
dups=$(check_all "$T/expA.txt" "$T/expA2.txt" "$T/expB.txt")
[ "$dups" -le 100 ] || fail "$dups uplinks delivered twice: more than the QoS 1 window"
note "B: all 4,200 delivered in order per device, $dups twice"
# The cache: pages read back from disk, never more than 300 in memory.
paged=$(cat "$T"/bridge*.log | sed -n 's/.* \([0-9]*\) event(s) read back .*/\1/p' |
	awk '{ n += $1 } END { print n + 0 }')
most=$(cat "$T"/bridge*.log | sed -n 's/.*; \([0-9]*\) in memory$/\1/p' | sort -n | tail -n 1)
[ "$paged" -ge 4000 ] || fail "only $paged events read back from the store"
[ "$most" -le 300 ] || fail "$most events in memory, more than mqtt.queue_limit (300)"
note "A, B: $paged events read back from the store in pages, at most $most in memory"

note "C. outbox_limit_mb = 1, broker down, 1,500 uplinks of 200 bytes"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
grep -q "event(s) kept in the outbox" "$T/bridge.log" && fail "events left after the drain"
mv "$T/bridge.log" "$T/bridge-B2.log"
broker_down
start_bridge "$T/small.conf"
sim 525 1500 "$T/expC.txt" --payload-size 200
broker_up
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'lorabridge/+/stats' > "$T/stats.out" 2>&1 &
PIDS="$PIDS $!"
# (jq 1.6 -e succeeds on empty input: the line must be there.)
stats_ok() {
	_l=$(tail -n 1 "$T/stats.out")
	[ -n "$_l" ] && echo "$_l" | jq -e '.mqtt.outboxDepth == 0 and .drops.outboxOverflow > 0' \
		> /dev/null 2>&1
}
i=0
until stats_ok; do
	[ $i -lt 600 ] || fail "outbox not drained: $(tail -n 1 "$T/stats.out")"
	sleep 0.1; i=$((i + 1))
done
dropped=$(tail -n 1 "$T/stats.out" | jq .drops.outboxOverflow)
delivered=$(($(got | sort -u | wc -l) - 4200))
[ $((delivered + dropped)) -eq 1500 ] || fail "delivered $delivered + dropped $dropped != 1500"
[ "$delivered" -gt 0 ] || fail "nothing delivered"
tail -n 1 "$T/stats.out" | jq -e '.drops.frames.encodeError == 0' > /dev/null ||
	fail "encode errors"
check_order
full=$(grep -c "outbox full" "$T/bridge.log" || true)
[ "$full" -ge 1 ] && [ "$full" -le 6 ] || fail "$full 'outbox full' log lines (rate-limited: 1..6)"
note "C: $delivered delivered, $dropped counted in drops.outboxOverflow; $full log line(s)"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
echo "PASS"
