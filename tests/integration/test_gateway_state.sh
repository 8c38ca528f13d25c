#!/bin/sh
# SPDX-License-Identifier: MIT
# The retained gateway states (gateway/{id}/state/conn) tell the truth:
#  1. a broker restarted without persistence gets every gateway's state
#     again when the bridge reconnects;
#  2. after a crash of the bridge (kill -9), a gateway heard again is
#     ONLINE and one that is not is reported OFFLINE once its timeout
#     (udp.offline_after keepalive periods) has passed;
#  3. a clean stop (SIGTERM) leaves every gateway OFFLINE.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq ss

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
# Each gateway hears its own two devices (seeds 63 and 64).
for seed in 63 64; do
	"$SIM" --devices 2 --seed $seed --write-keys "$T/k$seed.txt" --quiet \
		|| fail "sim --write-keys"
done
{ cat "$T/k63.txt"; sed 's/ sim-\([0-9]*\)$/ other-\1/' "$T/k64.txt"; } > "$T/all.keys"
"$SIM" --keys "$T/all.keys" --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
UDP_EXTRA="keepalive_s = 1; offline_after = 3;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" \
	"$T/devices.conf" "state = { commit_ms = 50; };"
G1=aa555a0000000001 G2=aa555a0000000002

# state EUI: the retained state of that gateway (ONLINE, OFFLINE, or nothing).
state() {
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "gateway/$1/state/conn" --retained-only \
		-C 1 -W 1 2> /dev/null | jq -r .state 2> /dev/null || true
}
# wait_state EUI STATE TIMEOUT_S
wait_state() {
	_end=$(($(date +%s) + $3))
	while [ "$(date +%s)" -le $_end ]; do
		[ "$(state "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
# gateway EUI SEED: a simulated packet forwarder keeping EUI alive
# (PULL_DATA every second, an uplink every 2 s) until killed; its pid in
# GW_PID.
gateway() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --gateway-eui "$1" --devices 2 --seed "$2" \
		--keepalive 1 --rate 0.5 --quiet 2> "$T/sim-$1.err" &
	GW_PID=$!
	PIDS="$PIDS $GW_PID"
}
restart_broker() {
	kill "$BROKER_PID"; wait "$BROKER_PID" 2> /dev/null || true
	"$MOSQUITTO" -c "$T/mosquitto-$MQTT_PORT.conf" >> "$T/mosquitto-$MQTT_PORT.log" 2>&1 &
	BROKER_PID=$!
	PIDS="$PIDS $BROKER_PID"
	wait_port_tcp "$MQTT_PORT" || fail "broker did not restart"
}

start_bridge "$T/lb.conf"
gateway $G1 63; P1=$GW_PID
gateway $G2 64; P2=$GW_PID
wait_state $G1 ONLINE 10 || fail "$G1 not ONLINE"
wait_state $G2 ONLINE 10 || fail "$G2 not ONLINE"
note "two gateways ONLINE"

note "1. the broker restarts without persistence"
restart_broker
wait_state $G1 ONLINE 15 || fail "$G1 not republished after the broker restart"
wait_state $G2 ONLINE 5 || fail "$G2 not republished after the broker restart"
note "both states published again on reconnection"

note "2. $G2 stops, the bridge is killed (-9) and restarted"
kill "$P2"
kill -9 "$BRIDGE_PID"; wait "$BRIDGE_PID" 2> /dev/null || true
[ "$(state $G2)" = ONLINE ] || fail "$G2 not ONLINE after the crash: $(state $G2)"
start_bridge "$T/lb.conf"
grep -q "2 gateway(s) were online before the restart" "$T/bridge.log" \
	|| fail "the bridge did not remember the gateways: $(grep gwconn "$T/bridge.log")"
wait_state $G2 OFFLINE 10 || fail "$G2 not reported OFFLINE after its timeout"
[ "$(state $G1)" = ONLINE ] || fail "$G1 not ONLINE: $(state $G1)"
grep -q "gateway $G2 offline (.*not heard since the restart)" "$T/bridge.log" \
	|| fail "no log line for $G2"
note "$G1 ONLINE, $G2 OFFLINE after its timeout"

note "3. clean stop"
kill -TERM "$BRIDGE_PID"
wait "$BRIDGE_PID" || fail "bridge exit status $?"
wait_state $G1 OFFLINE 5 || fail "$G1 not OFFLINE after a clean stop: $(state $G1)"
[ "$(state $G2)" = OFFLINE ] || fail "$G2 not OFFLINE"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'gateway/+/state/conn' --retained-only -v -W 1 \
	2> /dev/null > "$T/retained.txt" || true
[ "$(wc -l < "$T/retained.txt")" -eq 2 ] || fail "retained: $(cat "$T/retained.txt")"
grep -q ONLINE "$T/retained.txt" && fail "a gateway is still ONLINE: $(cat "$T/retained.txt")"
grep -q "1 gateway(s) reported OFFLINE" "$T/bridge.log" || fail "no shutdown line"
kill "$P1"
note "every gateway OFFLINE after SIGTERM"
echo "PASS"
