#!/bin/sh
# SPDX-License-Identifier: MIT
# Back-pressure (src/daemon/intake.h): a bridge offered more than it can
# take, whose broker falls behind while still acknowledging, stops reading
# the gateways' socket once mqtt.queue_limit committed events (here 20)
# wait, so the excess is dropped by the kernel, before any work, and
# counted (drops.udpKernel), not taken and then dropped. Here:
#   1. two seconds offered far beyond the bridge (ASan build), the broker
#      starved (stopped and continued every 50 ms, as a broker left little
#      CPU by an overloaded machine): the bridge pauses (counted in the
#      stats event and /metrics, logged); every datagram is either a frame
#      it processed or a kernel drop (read from the socket at once, not
#      when a later datagram brings the count); every unique uplink is
#      published;
#   2. afterwards it reads and publishes as before, and answers PULL_DATA.
# That a broker which stopped acknowledging makes no pause (the outbox
# buffers, as in an outage) is test_intake.c's (pause_ends_when_broker_stalls):
# here it would need the outbox to hold a frozen broker's 60 MB.
# mqtt.queue_limit = 20 also bounds the MQTT queue of best-effort messages
# (gateway and stats events): some are dropped and counted
# (drops.mqttQueueOverflow), which this test does not look at.
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

# offer SIM_ERR FCNT: 80,000 uplinks at 40,000/s (160,000 datagrams in 2 s; the
# ASan bridge takes about 37,000 datagrams/s on the 2-core development machine)
offer() {
	sim --count 80000 --rate 40000 --prebuild --keepalive 0 --ack-timeout 100 --fcnt-start "$2" \
		2> "$1" || { kill -CONT "$BROKER_PID"; fail "sim exit: $(tail -3 "$1")"; }
	_sent=$(field push_data "$1")
	[ "${_sent:-0}" -eq 160000 ] || { kill -CONT "$BROKER_PID"; fail "the simulator sent $_sent PUSH_DATA, want 160000"; }
}
# A broker that runs 50 ms in every 100: it acknowledges, slowly.
starve() {
	while kill -STOP "$BROKER_PID" 2> /dev/null; do
		sleep 0.05
		kill -CONT "$BROKER_PID" 2> /dev/null || break
		sleep 0.05
	done
}

note "offered far beyond the bridge, the broker starved: it pauses, every datagram is accounted for"
starve &
STARVE=$!
PIDS="$PIDS $STARVE"
offer "$T/sim1.err" 1
kill "$STARVE"; wait "$STARVE" 2> /dev/null || true
kill -CONT "$BROKER_PID"
wait_stats_cond all "(.framesReceived + .drops.udpKernel) == 160000 and .mqtt.outboxDepth == 0" ||
	fail "datagrams unaccounted for or events waiting"
wait_drained all || fail "no stats"
S=$(last_stats all)
echo "after the burst: $(echo "$S" | jq -c '{framesReceived, uplinksUnique, uplinksPublished, intake, udpKernel: .drops.udpKernel}')"
[ "$(echo "$S" | jq '.intake.pauses')" -ge 1 ] || fail "no pause: $S"
[ "$(echo "$S" | jq '.intake.pausedMs')" -ge 1 ] || fail "no time paused: $S"
[ "$(echo "$S" | jq '.drops.outboxOverflow')" -eq 0 ] || fail "events dropped by the outbox: $S"
[ "$(echo "$S" | jq '.uplinksPublished == .uplinksUnique')" = true ] || fail "unique uplinks not all published: $S"
[ "$(ups)" -eq "$(echo "$S" | jq '.uplinksPublished')" ] || fail "$(ups) up events, stats say $(echo "$S" | jq '.uplinksPublished')"
grep -qE 'intake.*overloaded \(the loop busy [0-9]+ per mille of the last 1000 ms\) and [0-9]+ events wait for the broker' "$T/bridge.log" ||
	fail "no pause in the log"
metrics || fail "/metrics: $(head -c 300 "$T/metrics.txt")"
[ "$(sample lorabridge_intake_pauses_total)" -ge "$(echo "$S" | jq '.intake.pauses')" ] || fail "pauses in /metrics"
[ "$(sample lorabridge_udp_kernel_drops_total)" -eq "$(echo "$S" | jq '.drops.udpKernel')" ] || fail "kernel drops in /metrics"

note "afterwards it reads as before: 40 uplinks at an easy pace, PULL_DATA answered"
U0=$(ups)
sim --count 40 --rate 100 --keepalive 1 --fcnt-start 600 2> "$T/sim2.err" || fail "sim 2 exit $?"
wait_count "$T/all.out" '/event/up ' $((U0 + 40)) || fail "$(( $(ups) - U0 )) of 40 up events"
[ "$(field pull_ack "$T/sim2.err")" -ge 1 ] || fail "PULL_DATA not answered: $(cat "$T/sim2.err")"

echo "PASS"
