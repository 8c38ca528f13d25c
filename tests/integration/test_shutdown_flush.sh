#!/bin/sh
# SPDX-License-Identifier: MIT
# TX_ACKs and the shutdown. At SIGTERM the bridge hands over what waits,
# for up to 5 s (bridge.c shutdown_flush()), and a class C queue item's
# TX_ACK is part of it:
#   1. one that comes while the flush waits for a stopped broker marks the
#      item sent, and its `txack`, which waits in the outbox for that
#      mark's commit, reaches MQTT before the bridge exits (the flush makes
#      the commit), instead of the flush waiting its whole 5 s and keeping
#      it for the next start;
#   2. with nothing else to hand over, the flush waits for a TX_ACK still
#      due (its `txack` reaches MQTT), instead of exiting and leaving the
#      item queued, to be sent to the device again after the restart.
# A relay between the simulated gateway and the bridge (gwmp_relay.py)
# holds the TX_ACK until the bridge is flushing.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub python3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); RELAY_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 1 --seed 51 --class-c --emit-devices "$T/devices.conf" --quiet \
	|| fail "sim --emit-devices"
# debug: the bridge says when it has taken a queue item's TX_ACK
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	'log_level = "debug";' 'downlink = { join_cflist = "none"; };' \
	"fair_access = { downlinks = 100000; };" "$NO_MAC_APPS"
subscribe all 'application/#' 'lorabridge/#'
mkdir "$T/relay"
python3 "$top_srcdir/tests/integration/gwmp_relay.py" "$RELAY_PORT" "$UDP_PORT" "$T/relay" &
PIDS="$PIDS $!"
wait_for "$T/relay/ready" . "$WAIT_S" || fail "the relay did not start"
EUI=5a00003300000000
touch "$T/relay/hold"

# bridge_with_uplink N FCNT: a bridge, and the device's uplink FCNT heard
# (the Nth up event); a simulator of the gateway and the device that stays
# to take downlinks (SIM_PID).
bridge_with_uplink() {
	start_bridge "$T/lb.conf"
	"$SIM" --server "127.0.0.1:$RELAY_PORT" --devices 1 --seed 51 --class-c --keepalive 1 \
		--quiet --rate 1 --count 1 --fcnt-start "$2" --linger 120000 > /dev/null \
		2> "$T/sim-$1.err" &
	SIM_PID=$!
	PIDS="$PIDS $SIM_PID"
	wait_count "$T/all.out" "device/$EUI/event/up " "$1" || fail "the device's uplink $2"
}

# downlink_held ID N: queue a class C downlink ID and wait until the relay
# holds its TX_ACK (the Nth held).
downlink_held() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 \
		-t "application/sim/device/$EUI/command/down" \
		-m "{\"devEui\":\"$EUI\",\"fPort\":7,\"data\":\"aGk=\",\"id\":\"$1\"}" ||
		fail "mosquitto_pub"
	wait_until "$WAIT_S" held_at_least "$2" || fail "no TX_ACK from the gateway"
}
held_at_least() { [ -f "$T/relay/held" ] && [ "$(wc -l < "$T/relay/held")" -ge "$1" ]; }

# exited_with_txack ID: the bridge exited 0, having kept nothing for the
# next start, and the txack of ID is on MQTT.
exited_with_txack() {
	rc=0
	wait "$BRIDGE_PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "bridge exit status $rc"
	! grep -q "kept in the outbox" "$T/bridge.log" ||
		fail "the txack was kept for the next start: $(grep -E 'shutting|kept' "$T/bridge.log")"
	wait_count "$T/all.out" "device/$EUI/event/txack .*\"queueItemId\":\"$1\"" 1 ||
		fail "no txack for $1 on MQTT"
}

note "1. the TX_ACK comes while the flush waits for a stopped broker"
bridge_with_uplink 1 0
ID1=$(qid shutdown-flush-1)
downlink_held "$ID1" 1
kill -STOP "$BROKER_PID"
kill -TERM "$BRIDGE_PID"
wait_for "$T/bridge.log" "shutting down: flushing" "$WAIT_S" || { kill -CONT "$BROKER_PID"; fail "no flush"; }
touch "$T/relay/release"
wait_for "$T/bridge.log" "queue item $ID1 sent" "$WAIT_S" ||
	{ kill -CONT "$BROKER_PID"; fail "the bridge did not take the TX_ACK: $(tail -5 "$T/bridge.log")"; }
kill -CONT "$BROKER_PID"
exited_with_txack "$ID1"

note "2. nothing else to hand over: the flush waits for the TX_ACK"
kill "$SIM_PID"
wait "$SIM_PID" || true
rm -f "$T/relay/release"
bridge_with_uplink 2 10
ID2=$(qid shutdown-flush-2)
downlink_held "$ID2" 2
kill -TERM "$BRIDGE_PID"
wait_for "$T/bridge.log" "shutting down: flushing .* awaiting 1 TX_ACK" "$WAIT_S" ||
	fail "no flush awaiting the TX_ACK: $(grep shutting "$T/bridge.log")"
touch "$T/relay/release"
exited_with_txack "$ID2"
grep -q "queue item $ID2 sent" "$T/bridge.log" || fail "the bridge did not take the TX_ACK"
echo "PASS: TX_ACKs taken during the shutdown's flush: their txacks reached MQTT before the exit"
