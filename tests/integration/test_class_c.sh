#!/bin/sh
# SPDX-License-Identifier: MIT
# Class C devices (class = "C"): a downlink command leaves at once on the
# device's RX2 frequency and data rate (txpk imme) through the gateway that
# heard it, and the simulated devices (--class-c, listening all the time)
# verify and time it: the median time from publishing the command to the
# device's reception is under one second. A confirmed class C downlink is
# acknowledged by the next uplink (`ack` true); one the device never
# acknowledges is sent again class_c_retries times with new FCntDowns, then
# `ack` false. Class-A behaviour stays: confirmed uplinks are acknowledged
# in RX1/RX2. Events say deviceClassEnabled CLASS_C.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 3 --seed 51 --class-c --emit-devices "$T/devices.conf" --quiet \
	|| fail "sim --emit-devices"
grep -q 'class = "C";' "$T/devices.conf" || fail "emitted devices are not class C"
# RX2 at DR3 (SF9): set in the bridge, pushed to the ABP devices with
# RXParamSetupReq (they already use it: --rx2-dr 3). No other MAC requests of
# the network's own (no NewChannelReq, no DevStatusReq): downlinks are counted.
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	"downlink = { rx2_dr = 3; join_cflist = \"none\"; class_c_ack_timeout_s = 3;
		class_c_retries = 2; };" \
	"fair_access = { downlinks = 100000; };" "$NO_MAC_APPS"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "generated config does not validate"
subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"

# Run in the background (sim ... &): exec, so $! is the simulator itself.
sim() { exec "$SIM" --server "127.0.0.1:$UDP_PORT" --devices 3 --seed 51 --class-c --rx2-dr 3 \
	--keepalive 1 --quiet --strict-downlinks "$@"; }
events() {
	tail -n "+${2:-1}" "$T/all.out" | grep -E "^application/[^/]+/device/[0-9a-f]{16}/event/$1 " \
		| cut -d' ' -f2-
}
lines() { wc -l < "$T/all.out"; }
eui() { printf '5a000033%08x' "$1"; }
topic() { echo "application/sim/device/$(eui "$1")/command/down"; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@" || fail "mosquitto_pub $*"; }
hex() { printf %s "$1" | od -An -v -tx1 | tr -d ' \n'; }
b64() { printf %s "$1" | base64 -w0; }

note "three class C devices send two uplinks each, then only listen"
# The first uplink's RX1 brings RXParamSetupReq, the second the answer and
# a downlink that ends its repetition (TS001-1.0.4 §5.4): until the answer
# the bridge sends nothing at once (the device's RX2 may be changing).
sim --rate 1 --count 6 --linger 120000 --expect-down "$T/down1.txt" > /dev/null 2> "$T/sim1.err" &
SIM1=$!
PIDS="$PIDS $SIM1"
wait_count "$T/all.out" '/event/up ' 6 || fail "uplinks not published"
# The bridge's own frames (MAC only): counted in the stats, no txack (as
# ChirpStack: txack only for a frame that carried a queue item).
wait_stats_cond all '.downlinks.sentOwn == 6 and .downlinks.sent == 6' \
	|| fail "RXParamSetupReq and the answers' downlinks"
[ "$(grep -c '/event/txack ' "$T/all.out")" -eq 0 ] || fail "txack events for MAC-only frames"
[ "$(grep -c ' 0 rx1$' "$T/down1.txt")" -eq 6 ] || fail "MAC downlinks: $(cat "$T/down1.txt")"
m0=$(lines)
events up > "$T/up1.json"
[ "$(jq -c 'select(.deviceInfo.deviceClassEnabled == "CLASS_C"
	and (.deviceInfo.deviceProfileName | endswith("class C")))' "$T/up1.json" | wc -l)" -eq 6 ] \
	|| fail "up events do not say CLASS_C: $(head -1 "$T/up1.json")"

note "class C downlinks: from mosquitto_pub to the device"
N=7
k=1
: > "$T/lat.txt"
while [ $k -le $N ]; do
	i=$((k % 3)); p="cc-$k"
	t0=$(date +%s%6N)
	pub -t "$(topic $i)" -m "{\"devEui\":\"$(eui $i)\",\"fPort\":7,\"data\":\"$(b64 "$p")\",\"id\":\"$(qid "$p")\"}"
	wait_count "$T/down1.txt" "^$(eui $i) [0-9]+ 7 $(hex "$p") 0 rxc [0-9]+$" 1 \
		|| fail "downlink $p not received: $(cat "$T/down1.txt")"
	t1=$(awk -v p="$(hex "$p")" '$4 == p { print $7 }' "$T/down1.txt")
	echo $(( (t1 - t0) / 1000 )) >> "$T/lat.txt"
	k=$((k + 1))
done
median=$(sort -n "$T/lat.txt" | sed -n "$(( (N + 1) / 2 ))p")
note "latency ms: $(tr '\n' ' ' < "$T/lat.txt")(median $median)"
[ "$median" -lt 1000 ] || fail "median time from command to device $median ms, want < 1000"
[ "$(awk '$3 == 7 && $6 != "rxc"' "$T/down1.txt" | wc -l)" -eq 0 ] \
	|| fail "not all class C: $(cat "$T/down1.txt")"
bad_fcnt=$(awk '($1 in last) && $2 <= last[$1] { n++ } { last[$1] = $2 } END { print n + 0 }' "$T/down1.txt")
[ "$bad_fcnt" -eq 0 ] || fail "FCntDown not strictly increasing: $(cat "$T/down1.txt")"
wait_count "$T/all.out" '/event/txack ' $N || fail "txack events missing"
events txack "$m0" > "$T/txack1.json"
[ "$(jq -c 'select(.attempts == [{"window": "RXC", "status": "OK", "frequency": 869525000, "dr": 3}]
	and .txInfo.timing.immediately != null and .deviceInfo.deviceClassEnabled == "CLASS_C")' \
	"$T/txack1.json" | wc -l)" -eq $N ] || fail "txack events: $(head -2 "$T/txack1.json")"
kill -TERM $SIM1; wait $SIM1 || fail "sim exit $?: $(cat "$T/sim1.err")"
[ "$(field downlinks_bad "$T/sim1.err")" -eq 0 ] || fail "bad downlinks"
[ "$(field downlinks_rxc "$T/sim1.err")" -eq $N ] || fail "sim: $(cat "$T/sim1.err")"

note "confirmed class C downlink, acknowledged; confirmed uplinks still acknowledged (class A)"
m=$(lines)
sim --confirmed --rate 1.2 --count 15 --fcnt-start 100 --linger 2000 --expect-down "$T/down2.txt" \
	> /dev/null 2> "$T/sim2.err" &
SIM2=$!
PIDS="$PIDS $SIM2"
wait_count "$T/all.out" '/event/up ' $((6 + 3)) || fail "uplinks not published"
pub -t "$(topic 0)" -m "{\"devEui\":\"$(eui 0)\",\"confirmed\":true,\"fPort\":8,\"data\":\"$(b64 conf-0)\",\"id\":\"$(qid conf-0)\"}"
wait $SIM2 || fail "sim exit $?: $(cat "$T/sim2.err")"
cat "$T/sim2.err"
[ "$(field downlinks_bad "$T/sim2.err")" -eq 0 ] || fail "bad downlinks"
[ "$(field acks_received "$T/sim2.err")" -eq 15 ] || fail "confirmed uplinks not all acknowledged"
[ "$(field acks_missing "$T/sim2.err")" -eq 0 ] || fail "confirmed uplinks not acknowledged"
grep -qE "^$(eui 0) [0-9]+ 8 $(hex conf-0) " "$T/down2.txt" || fail "confirmed downlink not received"
wait_drained all || fail "no stats event after the run"
events ack "$m" > "$T/ack2.json"
jq -e -s --arg e "$(eui 0)" --arg id "$(qid conf-0)" 'length == 1 and .[0].deviceInfo.devEui == $e
	and .[0].queueItemId == $id and .[0].acknowledged == true' "$T/ack2.json" > /dev/null \
	|| fail "ack events: $(cat "$T/ack2.json")"

note "a device that never acknowledges: sent 1 + class_c_retries times, then ack false"
m=$(lines)
n_up=$(count_lines "$T/all.out" '/event/up ')
sim --no-ack --rate 1 --count 24 --fcnt-start 200 --linger 1000 --expect-down "$T/down3.txt" \
	> /dev/null 2> "$T/sim3.err" &
SIM3=$!
PIDS="$PIDS $SIM3"
wait_count "$T/all.out" '/event/up ' $((n_up + 3)) || fail "uplinks not published"
pub -t "$(topic 1)" -m "{\"devEui\":\"$(eui 1)\",\"confirmed\":true,\"fPort\":9,\"data\":\"$(b64 noack-1)\",\"id\":\"$(qid noack-1)\"}"
wait $SIM3 || fail "sim exit $?: $(cat "$T/sim3.err")"
[ "$(field downlinks_bad "$T/sim3.err")" -eq 0 ] || fail "bad downlinks"
wait_drained all || fail "no stats event after the run"
got=$(grep -cE "^$(eui 1) [0-9]+ 9 $(hex noack-1) " "$T/down3.txt" || true)
[ "$got" -eq 3 ] || fail "device got the unacknowledged downlink $got times, want 3: $(cat "$T/down3.txt")"
events ack "$m" > "$T/ack3.json"
jq -e -s --arg e "$(eui 1)" --arg id "$(qid noack-1)" 'length == 1 and .[0].deviceInfo.devEui == $e
	and .[0].queueItemId == $id and .[0].acknowledged == false' "$T/ack3.json" > /dev/null \
	|| fail "ack events: $(cat "$T/ack3.json")"
[ "$(events txack "$m" | jq -c --arg id "$(qid noack-1)" 'select(.queueItemId == $id)' | wc -l)" -eq 3 ] \
	|| fail "want 3 txack events for the unacknowledged downlink"

kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
echo "PASS"
