#!/bin/sh
# SPDX-License-Identifier: MIT
# A TX_ACK that comes while the bridge shuts down. At SIGTERM the bridge
# delivers what waits for the broker, for up to 5 s (bridge.c
# shutdown_flush()); a class C queue item's TX_ACK that comes meanwhile
# marks the item sent, and its `txack` waits in the outbox for that mark's
# commit, which the flush makes: the `txack` reaches MQTT before the bridge
# exits, instead of the flush waiting its whole 5 s and keeping it for the
# next start. To have the TX_ACK come during the flush, a relay between the
# simulated gateway and the bridge (gwmp_relay.py) holds it, and the broker
# is stopped (SIGSTOP) until the bridge has taken it, so that the flush is
# still waiting for the broker then.
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
start_bridge "$T/lb.conf"
"$SIM" --server "127.0.0.1:$RELAY_PORT" --devices 1 --seed 51 --class-c --keepalive 1 --quiet \
	--rate 1 --count 1 --linger 120000 > /dev/null 2> "$T/sim.err" &
PIDS="$PIDS $!"
EUI=5a00003300000000
wait_count "$T/all.out" "device/$EUI/event/up " 1 || fail "the device's uplink"

note "a class C downlink whose TX_ACK the relay holds"
touch "$T/relay/hold"
ID=$(qid shutdown-flush)
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "application/sim/device/$EUI/command/down" \
	-m "{\"devEui\":\"$EUI\",\"fPort\":7,\"data\":\"aGk=\",\"id\":\"$ID\"}" || fail "mosquitto_pub"
wait_for "$T/relay/held" . "$WAIT_S" || fail "no TX_ACK from the gateway: $(cat "$T/sim.err")"

note "SIGTERM with the broker stopped; the TX_ACK comes during the flush"
kill -STOP "$BROKER_PID"
kill -TERM "$BRIDGE_PID"
wait_for "$T/bridge.log" "shutting down: flushing" "$WAIT_S" || { kill -CONT "$BROKER_PID"; fail "no flush"; }
touch "$T/relay/release"
wait_for "$T/bridge.log" "queue item $ID sent" "$WAIT_S" ||
	{ kill -CONT "$BROKER_PID"; fail "the bridge did not take the TX_ACK: $(tail -5 "$T/bridge.log")"; }
kill -CONT "$BROKER_PID"
rc=0
wait "$BRIDGE_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "bridge exit status $rc"
! grep -q "kept in the outbox" "$T/bridge.log" ||
	fail "the txack was kept for the next start: $(grep -E 'shutting|kept' "$T/bridge.log")"
wait_count "$T/all.out" "device/$EUI/event/txack .*\"queueItemId\":\"$ID\"" 1 ||
	fail "no txack for $ID on MQTT"
echo "PASS: a TX_ACK taken during the shutdown's flush: its txack reached MQTT before the exit"
