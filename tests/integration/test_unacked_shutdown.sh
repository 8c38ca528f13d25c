#!/bin/sh
# SPDX-License-Identifier: MIT
# A downlink whose TX_ACK has not come when the bridge stops. The gateway
# may have transmitted it, so its airtime is charged to the gateway's duty
# cycle as a TX_ACK timeout charges it (txsched.h txsched_stop(), called by
# bridge.c shutdown_flush() before the last commit), and the stored ledger
# keeps the charge across the restart (README "Gateway duty cycle"):
#   1. a class C downlink goes to the gateway, whose TX_ACK a relay
#      (gwmp_relay.py) holds for good; its airtime is only held on the RX2
#      sub-band then: the gateway's stats event shows none of it used;
#   2. SIGTERM: the flush waits for the TX_ACK until it ends (5 s, shorter
#      than downlink.tx_ack_timeout_ms here), and the bridge exits;
#   3. the bridge started again on the same state directory: once the
#      gateway delivered an uplink (which loads its ledger), its stats event
#      shows the downlink's airtime used in the RX2 sub-band.
# The queue item stays queued for the device's next uplink (classc.h: the
# receptions are not stored), which never comes here: the uplink after the
# restart is another device's, so nothing is sent again.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq python3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); RELAY_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 2 --seed 51 --class-c --emit-devices "$T/devices.conf" --quiet ||
	fail "sim --emit-devices"
"$SIM" --devices 2 --seed 51 --class-c --write-keys "$T/keys.txt" --quiet || fail "sim --write-keys"
# one key file per device (the key file's lines 3 and 4, after its header)
sed -n 3p "$T/keys.txt" > "$T/keys-0.txt"; sed -n 4p "$T/keys.txt" > "$T/keys-1.txt"
EUI0=$(cut -d' ' -f1 "$T/keys-0.txt"); EUI1=$(cut -d' ' -f1 "$T/keys-1.txt")
GW=aa555a0000000001   # the simulator's gateway
# A TX_ACK timeout of 60 s (the most downlink.tx_ack_timeout_ms allows), far
# beyond the shutdown's flush (5 s, bridge.h BRIDGE_SHUTDOWN_FLUSH_MS): the
# flush ends with the TX_ACK still awaited, however loaded the machine.
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	'downlink = { join_cflist = "none"; tx_ack_timeout_ms = 60000; };' \
	"fair_access = { downlinks = 100000; };" "$NO_MAC_APPS"
subscribe all 'application/#' 'gateway/+/event/stats'
mkdir "$T/relay"
python3 "$top_srcdir/tests/integration/gwmp_relay.py" "$RELAY_PORT" "$UDP_PORT" "$T/relay" &
PIDS="$PIDS $!"
wait_for "$T/relay/ready" . "$WAIT_S" || fail "the relay did not start"
touch "$T/relay/hold"

# gateway KEYS NAME: a simulated gateway (through the relay) with one uplink
# of the device in KEYS, which stays to send stat reports every second and
# take downlinks (SIM_PID).
gateway() {
	"$SIM" --server "127.0.0.1:$RELAY_PORT" --keys "$1" --class-c --keepalive 1 \
		--stat-interval 1 --quiet --rate 1 --count 1 --linger 120000 > /dev/null \
		2> "$T/sim-$2.err" &
	SIM_PID=$!
	PIDS="$PIDS $SIM_PID"
}

# rx2_used_after LINE: the RX2 sub-band's usedPercent (3 decimals, as the
# event has it) in the first gateway stats event after line LINE of all.out
# ("none" when the event has no such sub-band: nothing was ever charged to
# the gateway), once there is one.
_gw_stats_after() { tail -n "+$(($1 + 1))" "$T/all.out" | grep -m 1 "^gateway/$GW/event/stats "; }
rx2_used_after() {
	wait_until "$WAIT_S" _gw_stats_after "$1" > /dev/null ||
		fail "no stats event of gateway $GW after line $1 of all.out"
	_gw_stats_after "$1" | cut -d' ' -f2- |
		jq -r '[.dutyCycle[]? | select(.subBand == "869.400-869.650") | .usedPercent]
			| if length == 0 then "none" else "\(.[0])" end' |
		awk '$1 == "none" { print; next } { printf "%.3f\n", $1 }'
}

# The class C downlink: a 2-byte payload in a 15-byte frame at RX2's SF12.
AIR=$("$LORABRIDGE" airtime --bw 125 --sf 12 --size 15) || fail "lorabridge airtime"
WANT=$(awk -v a="$AIR" 'BEGIN { printf "%.3f", a / 36000 }')   # % of an hour

note "1. a class C downlink whose TX_ACK the relay holds"
start_bridge "$T/lb.conf"
gateway "$T/keys-0.txt" 1
wait_count "$T/all.out" "device/$EUI0/event/up " 1 || fail "device 0's uplink"
ID=$(qid unacked-shutdown)
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "application/sim/device/$EUI0/command/down" \
	-m "{\"devEui\":\"$EUI0\",\"fPort\":7,\"data\":\"aGk=\",\"id\":\"$ID\"}" || fail "mosquitto_pub"
wait_until "$WAIT_S" test -s "$T/relay/held" || fail "no TX_ACK from the gateway"
held=$(wc -l < "$T/all.out")
used=$(rx2_used_after "$held")
case "$used" in
none | 0.000) ;;
*) fail "1: RX2 sub-band $used % used while the TX_ACK is awaited" ;;
esac
kill "$SIM_PID"
wait "$SIM_PID" || true

note "2. SIGTERM: the flush ends with the TX_ACK still awaited"
kill -TERM "$BRIDGE_PID"
wait_for "$T/bridge.log" "shutting down: flushing .* awaiting 1 TX_ACK" "$WAIT_S" ||
	fail "no flush awaiting the TX_ACK: $(grep shutting "$T/bridge.log")"
rc=0
wait "$BRIDGE_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "bridge exit status $rc"
! grep -q "queue item $ID sent" "$T/bridge.log" || fail "the TX_ACK reached the bridge"

note "3. restarted: the gateway's duty cycle still has the downlink's airtime"
start_bridge "$T/lb.conf"
gateway "$T/keys-1.txt" 2
wait_count "$T/all.out" "device/$EUI1/event/up " 1 || fail "device 1's uplink after the restart"
up=$(grep -n "device/$EUI1/event/up " "$T/all.out" | tail -n 1 | cut -d: -f1)
used=$(rx2_used_after "$up")
[ "$used" = "$WANT" ] ||
	fail "3: RX2 sub-band $used % used after the restart, want $WANT ($AIR ms of an hour)"
grep -q "1 downlink(s) without a TX_ACK at shutdown" "$T/bridge-1.log" ||
	fail "the exit did not say it charged the downlink: $(grep -E 'TX_ACK|shutting' "$T/bridge-1.log")"
! grep -q "device/$EUI0/event/txack " "$T/all.out" || fail "a txack for the unacknowledged downlink"
echo "PASS: a downlink without a TX_ACK at shutdown charged to the gateway's duty cycle," \
	"kept across a restart"
