#!/bin/sh
# SPDX-License-Identifier: MIT
# Back-pressure (src/daemon/intake.h): a bridge offered more than it can
# take stops reading the gateways' socket while the broker is behind
# (mqtt.queue_limit committed events waiting, here 20), so the excess is
# dropped by the kernel, before any work, and counted (drops.udpKernel),
# never dropped from a full outbox after all the work. Here:
#   1. a burst far beyond the bridge (ASan build): it pauses (counted in
#      the stats event and /metrics, logged); every datagram is either a
#      frame it processed or a kernel drop; every unique uplink is published
#      (none dropped by the outbox); afterwards it reads and publishes as
#      before, and answers PULL_DATA;
#   2. the broker frozen (SIGSTOP: connected, not acknowledging): no pause,
#      whatever waits; the outbox keeps every event until the broker is
#      back, then all are published.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq curl python3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); HTTP_PORT=$(free_port)
DEVS=200
start_broker "$MQTT_PORT"
"$SIM" --devices $DEVS --seed 61 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
MQTT_EXTRA="queue_limit = 20;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	"http = { port = $HTTP_PORT; www_dir = \"$top_srcdir/www\"; };" "$NO_MAC_APPS"
subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"

sim() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices $DEVS --seed 61 --gateways 2 --all-gateways \
		--quiet "$@"
}
field() { sed -n "s/.*[ :]$1=\([0-9]*\).*/\1/p" "$2" | tail -n 1; }
ups() { count_lines "$T/all.out" '^application/sim/device/[0-9a-f]{16}/event/up '; }
metrics() { curl -sS "http://127.0.0.1:$HTTP_PORT/metrics" > "$T/metrics.txt" &&
	python3 "$(dirname "$0")/prom_check.py" lorabridge_udp_kernel_drops_total \
		lorabridge_intake_pauses_total lorabridge_intake_paused_seconds_total \
		lorabridge_frames_received_total lorabridge_outbox_depth \
		< "$T/metrics.txt" > "$T/samples.txt"; }
sample() { awk -v k="$1" '$1 == k { print $2 }' "$T/samples.txt"; }

note "a burst far beyond the bridge: it pauses, and every datagram is accounted for"
sim --count 6000 --rate 30000 --prebuild --keepalive 0 --ack-timeout 100 --fcnt-start 1 \
	2> "$T/sim1.err" || fail "sim 1 exit $?: $(tail -3 "$T/sim1.err")"
SENT1=$(field push_data "$T/sim1.err")
[ "${SENT1:-0}" -eq 12000 ] || fail "the simulator sent $SENT1 PUSH_DATA, want 12000"
wait_stats_cond all "(.framesReceived + .drops.udpKernel) == $SENT1 and .mqtt.outboxDepth == 0" ||
	fail "datagrams unaccounted for or events waiting"
wait_drained all || fail "no stats"
S=$(last_stats all)
echo "after the burst: $(echo "$S" | jq -c '{framesReceived, uplinksUnique, uplinksPublished, intake, udpKernel: .drops.udpKernel}')"
[ "$(echo "$S" | jq '.intake.pauses')" -ge 1 ] || fail "no pause: $S"
[ "$(echo "$S" | jq '.intake.pausedMs')" -ge 1 ] || fail "no time paused: $S"
[ "$(echo "$S" | jq '.drops.outboxOverflow')" -eq 0 ] || fail "events dropped by the outbox: $S"
[ "$(echo "$S" | jq '.uplinksPublished == .uplinksUnique')" = true ] || fail "unique uplinks not all published: $S"
[ "$(ups)" -eq "$(echo "$S" | jq '.uplinksPublished')" ] || fail "$(ups) up events, stats say $(echo "$S" | jq '.uplinksPublished')"
grep -qE 'intake.*events wait for the broker \(mqtt.queue_limit\): the gateways are not read' "$T/bridge.log" ||
	fail "no pause in the log"
metrics || fail "/metrics: $(head -c 300 "$T/metrics.txt")"
[ "$(sample lorabridge_intake_pauses_total)" -ge "$(echo "$S" | jq '.intake.pauses')" ] || fail "pauses in /metrics"
[ "$(sample lorabridge_udp_kernel_drops_total)" -eq "$(echo "$S" | jq '.drops.udpKernel')" ] || fail "kernel drops in /metrics"
PAUSES=$(sample lorabridge_intake_pauses_total)

note "afterwards it reads as before: 40 uplinks at an easy pace, PULL_DATA answered"
U0=$(ups)
sim --count 40 --rate 100 --keepalive 1 --fcnt-start 100 2> "$T/sim2.err" || fail "sim 2 exit $?"
wait_count "$T/all.out" '/event/up ' $((U0 + 40)) || fail "$(( $(ups) - U0 )) of 40 up events"
[ "$(field pull_ack "$T/sim2.err")" -ge 1 ] || fail "PULL_DATA not answered: $(cat "$T/sim2.err")"

note "the broker frozen: no pause, the outbox keeps every event until it is back"
wait_drained all '.mqtt.outboxDepth == 0' || fail "not drained"
metrics || fail "/metrics"
PAUSES=$(sample lorabridge_intake_pauses_total)
U0=$(ups)
kill -STOP "$BROKER_PID"
# Nothing is in flight (drained): no acknowledgement can come from here on,
# and after intake.h's stall_ms (1 s) the rule sees the broker stalled.
sleep 1.5
sim --count 1500 --rate 30000 --prebuild --keepalive 0 --ack-timeout 100 --fcnt-start 200 \
	2> "$T/sim3.err" || { kill -CONT "$BROKER_PID"; fail "sim 3 exit $?"; }
SENT3=$(field push_data "$T/sim3.err")
F0=$(sample lorabridge_frames_received_total) K0=$(sample lorabridge_udp_kernel_drops_total)
taken() { metrics && [ $(( $(sample lorabridge_frames_received_total) - F0 +
	$(sample lorabridge_udp_kernel_drops_total) - K0 )) -eq "$SENT3" ]; }
wait_until "$WAIT_S" taken || { kill -CONT "$BROKER_PID"; fail "datagrams unaccounted for while frozen"; }
OUTBOX=$(sample lorabridge_outbox_depth)
GOT=$(sample lorabridge_intake_pauses_total)
kill -CONT "$BROKER_PID"
[ "$GOT" -eq "$PAUSES" ] || fail "paused $((GOT - PAUSES)) times while the broker acknowledged nothing"
[ "$OUTBOX" -gt 20 ] || fail "outbox depth $OUTBOX while frozen: the test did not build a backlog"
wait_drained all '.mqtt.outboxDepth == 0' || fail "the outbox did not drain after the broker came back"
S=$(last_stats all)
[ "$(echo "$S" | jq '.uplinksPublished == .uplinksUnique and .drops.outboxOverflow == 0')" = true ] ||
	fail "events lost: $S"
[ "$(ups)" -eq "$(echo "$S" | jq '.uplinksPublished')" ] || fail "$(ups) up events, stats say $(echo "$S" | jq '.uplinksPublished')"
echo "PASS"
