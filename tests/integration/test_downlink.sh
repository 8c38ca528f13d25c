#!/bin/sh
# SPDX-License-Identifier: MIT
# Class-A downlinks from MQTT: 1,000 commands (20 ABP devices x 50, queue
# limit raised to 50) are each delivered once, in order, in RX1 or RX2, and
# verified by the simulated devices (MIC, FCntDown strictly increasing,
# window timing, payload). Injected TOO_LATE moves downlinks to RX2, with
# the attempts listed in `txack`. Invalid commands get a `log` event with
# their reason and disturb nothing. Confirmed downlinks produce `ack`
# events (true when the next uplink carries ACK, false when it does not);
# confirmed uplinks are acknowledged; the payload limit follows the DR.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
N_DEV=20 N_CMD=50
"$SIM" --devices $N_DEV --seed 41 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	"downlink = { queue_limit = $N_CMD; };" "fair_access = { downlinks = 100000; };"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "generated config does not validate"
subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"

# 5 gateways, round-robin: device i is always heard by gateway i mod 5, so
# each transmits 200 of the 1,000 downlinks, within EU868's 1 % duty cycle
# of the RX1 sub-band (36 s per hour) that one gateway alone would exceed.
sim() { "$SIM" --server "127.0.0.1:$UDP_PORT" --gateways 5 --devices $N_DEV --seed 41 --keepalive 1 \
	--quiet --strict-downlinks "$@"; }
events() {
	tail -n "+${2:-1}" "$T/all.out" | grep -E "^application/[^/]+/device/[0-9a-f]{16}/event/$1 " \
		| cut -d' ' -f2-
}
lines() { wc -l < "$T/all.out"; }
eui() { printf '5a000029%08x' "$1"; }
topic() { echo "application/sim/device/$(eui "$1")/command/down"; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@" || fail "mosquitto_pub $*"; }
# ASCII payloads: @base64d then hex is byte-exact.
HEX='def hex: explode | map("0123456789abcdef"[(. / 16 | floor):(. / 16 | floor) + 1]
	+ "0123456789abcdef"[(. % 16):(. % 16) + 1]) | join("");'
# wait_stats JQ_CONDITION: until the last stats event satisfies it.
_last_stats_is() { last_stats all | jq -e "$1" > /dev/null 2>&1; }
wait_stats() { wait_until "$WAIT_S" _last_stats_is "$1"; }

note "$((N_DEV * N_CMD)) downlink commands queued through MQTT, with invalid ones among them"
i=0
while [ $i -lt $N_DEV ]; do
	jq -nc --arg eui "$(eui $i)" --argjson i $i --argjson m $N_CMD \
		'range($m) as $k | ("dl\($i)-\($k)" + ("." * ($k % 23))) as $p
		 | {devEui: $eui, fPort: (1 + ($i * $m + $k) % 223), data: ($p | @base64), id: ("00000000-0000-4000-8000-" + ("00000000000" + ($i * 10000 + $k | tostring))[-12:])}' \
		> "$T/cmd-$i.txt"
	jq -r "$HEX"'"\(.devEui) \(.fPort) \(.data | @base64d | hex)"' "$T/cmd-$i.txt" >> "$T/want.txt"
	jq -r .id "$T/cmd-$i.txt" >> "$T/ids-unsorted.txt"
	i=$((i + 1))
done
# One invalid command in the middle of five devices' streams.
bad() { sed -i "10a\\
$2" "$T/cmd-$1.txt"; }
bad 3 "{\"devEui\":\"$(eui 3)\",\"fPort\":1,\"data\":"
bad 4 "{\"devEui\":\"$(eui 4)\",\"fPort\":0,\"data\":\"AQI=\"}"
bad 5 "{\"devEui\":\"$(eui 6)\",\"fPort\":1,\"data\":\"AQI=\"}"
big=$(head -c 243 /dev/zero | tr '\0' 'x' | base64 -w0)
bad 6 "{\"devEui\":\"$(eui 6)\",\"fPort\":1,\"data\":\"$big\"}"
bad 10 "{\"devEui\":\"$(eui 10)\",\"fPort\":1,\"data\":\"!!not base64\"}"
# The queues of devices 7 and 8 are full after their 50 commands.
for i in 7 8; do
	echo "{\"devEui\":\"$(eui $i)\",\"fPort\":9,\"data\":\"$(printf 'overflow-%d' $i | base64)\"}" >> "$T/cmd-$i.txt"
done
i=0
while [ $i -lt $N_DEV ]; do
	pub -t "$(topic $i)" -l < "$T/cmd-$i.txt"
	i=$((i + 1))
done
pub -t "$(topic 255)" -m "{\"devEui\":\"$(eui 255)\",\"fPort\":1,\"data\":\"AQI=\"}"
pub -t "application/other/device/$(eui 0)/command/down" -m "{\"fPort\":1,\"data\":\"AQI=\"}"
wait_stats ".downlinks.commands == $((N_DEV * N_CMD)) and .downlinks.commandsRefused == 9" \
	|| fail "commands not all taken: $(last_stats all)"

events log > "$T/log1.json"
refused() {  # refused DEV CODE: exactly one log event with that code for that device
	n=$(jq -c --arg e "$(eui "$1")" --arg c "$2" \
		'select((.deviceInfo.devEui // "") == $e and .code == $c and .level == "ERROR")' "$T/log1.json" | wc -l)
	[ "$n" -eq 1 ] || fail "device $1: $n log events $2, want 1: $(cat "$T/log1.json")"
}
refused 3 INVALID_JSON
refused 4 INVALID_FPORT
refused 5 DEV_EUI_MISMATCH
refused 6 PAYLOAD_TOO_LARGE
refused 10 INVALID_DATA
refused 7 QUEUE_FULL
refused 8 QUEUE_FULL
grep -qE "^application/sim/device/$(eui 255)/event/log \{.*\"code\":\"UNKNOWN_DEVICE\"" "$T/all.out" \
	|| fail "no UNKNOWN_DEVICE log event for an unconfigured DevEUI"
grep -qE "^application/other/device/$(eui 0)/event/log \{.*\"code\":\"UNKNOWN_DEVICE\"" "$T/all.out" \
	|| fail "no UNKNOWN_DEVICE log event for a device of another application"
note "invalid commands refused: INVALID_JSON INVALID_FPORT DEV_EUI_MISMATCH PAYLOAD_TOO_LARGE INVALID_DATA QUEUE_FULL UNKNOWN_DEVICE"

note "1,100 uplinks at 50/s draw the 1,000 downlinks; every 5th PULL_RESP refused TOO_LATE"
m=$(lines)
sim --rate 50 --count 1100 --txack-error TOO_LATE:5 --linger 1000 --expect-down "$T/down.txt" \
	--print > "$T/sim1.out" 2> "$T/sim1.err" || fail "sim exit $?: $(grep bad "$T/sim1.out" | head -5)"
cat "$T/sim1.err"
ok=$(field downlinks_ok "$T/sim1.err"); rx1=$(field downlinks_rx1 "$T/sim1.err"); rx2=$(field downlinks_rx2 "$T/sim1.err")
[ "$(field downlinks_bad "$T/sim1.err")" -eq 0 ] || fail "bad downlinks"
[ "$ok" -eq 1000 ] || fail "downlinks_ok=$ok, want 1000"
[ $((rx1 + rx2)) -eq 1000 ] || fail "rx1 + rx2 != 1000"
[ "$rx2" -gt 0 ] || fail "no downlink moved to RX2"
[ "$(field txack_errors_injected "$T/sim1.err")" -gt 0 ] || fail "no TX_ACK error injected"
# the last TX_ACKs handled and their txack events published
wait_drained all || fail "no stats event after the downlinks"

# What each device received, in order, is exactly what was published to it.
[ "$(wc -l < "$T/want.txt")" -eq 1000 ] || fail "want.txt has $(wc -l < "$T/want.txt") lines"
awk '{ print $1, $3, $4 }' "$T/down.txt" | sort -s -k1,1 > "$T/got.txt"
sort -s -k1,1 "$T/want.txt" > "$T/want-sorted.txt"
diff "$T/want-sorted.txt" "$T/got.txt" > "$T/diff.txt" || fail "delivered downlinks differ: $(head "$T/diff.txt")"
bad_fcnt=$(awk '($1 in last) && $2 <= last[$1] { n++ } { last[$1] = $2 } END { print n + 0 }' "$T/down.txt")
[ "$bad_fcnt" -eq 0 ] || fail "$bad_fcnt downlinks without a strictly increasing FCntDown"
[ "$(awk '$5 != 0' "$T/down.txt" | wc -l)" -eq 0 ] || fail "ACK bit set without a confirmed uplink"
! grep -q 6f766572666c6f77 "$T/down.txt" || fail "a refused command (\"overflow\") was delivered"
# FPending is set while more is queued: on all but each device's last item.
n=$(grep -c '^downlink ok .* fpending=1 ' "$T/sim1.out" || true)
[ "$n" -eq $((1000 - N_DEV)) ] || fail "$n downlinks with FPending, want $((1000 - N_DEV))"
note "1000 downlinks delivered in order ($rx1 RX1, $rx2 RX2), FCntDown strictly increasing"

# txack: one per queue item sent, with its FCntDown; a retried one lists
# RX1 TOO_LATE then RX2 OK.
events txack "$m" > "$T/txack.json"
jq -r '.queueItemId' "$T/txack.json" | sort > "$T/txack-ids.txt"
sort "$T/ids-unsorted.txt" > "$T/ids.txt"
diff "$T/ids.txt" "$T/txack-ids.txt" > /dev/null || fail "txack ids differ from the queued ids: $(diff "$T/ids.txt" "$T/txack-ids.txt" | head -5)"
jq -r '"\(.deviceInfo.devEui) \(.fCntDown)"' "$T/txack.json" | sort > "$T/txack-fcnt.txt"
awk '{ print $1, $2 }' "$T/down.txt" | sort > "$T/down-fcnt.txt"
diff "$T/down-fcnt.txt" "$T/txack-fcnt.txt" > /dev/null || fail "txack fCntDown differ from what the devices got"
n_rx2=$(jq -c 'select((.attempts | length) == 2 and .attempts[0].window == "RX1"
	and .attempts[0].status == "TOO_LATE" and .attempts[1].window == "RX2" and .attempts[1].status == "OK"
	and .attempts[1].frequency == 869525000)' "$T/txack.json" | wc -l)
[ "$n_rx2" -eq "$rx2" ] || fail "$n_rx2 txack events RX1 TOO_LATE -> RX2 OK, sim saw $rx2 in RX2"
n_rx1=$(jq -c 'select((.attempts | length) == 1 and .attempts[0].window == "RX1"
	and .attempts[0].status == "OK")' "$T/txack.json" | wc -l)
[ "$n_rx1" -eq "$rx1" ] || fail "$n_rx1 txack events RX1 OK, sim saw $rx1 in RX1"
[ "$(jq -r '"\(.deviceInfo.devEui) \(.gatewayId)"' "$T/txack.json" | sort -u | wc -l)" -eq $N_DEV ] \
	|| fail "a device's downlinks went through a gateway that did not hear it"
[ "$(jq -r .gatewayId "$T/txack.json" | sort -u | wc -l)" -eq 5 ] || fail "not all 5 gateways used"
# Under load a retry in RX2 may itself be the 5th PULL_RESP: then the item
# fails (no txack: a log DOWNLINK_GATEWAY, level ERROR, with the gateway's
# error in its context) and goes at the next uplink.
events log "$m" > "$T/log-run1.json"
n_failed=$(jq -c 'select(.code == "DOWNLINK_GATEWAY" and .level == "ERROR"
	and .context.error == "TOO_LATE" and (.context.gatewayId | length) == 16)' \
	"$T/log-run1.json" | wc -l)
[ "$(jq -c 'select(.code != "DOWNLINK_GATEWAY" or .context.error != "TOO_LATE")' \
	"$T/log-run1.json" | wc -l)" -eq 0 ] \
	|| fail "log events during the run: $(jq -c . "$T/log-run1.json" | head -3)"
wait_stats ".downlinks.sent == 1000 and .downlinks.sentRx2 == $rx2 and .downlinks.failed == $n_failed" \
	|| fail "stats: $(last_stats all)"
note "txack events: $n_rx1 RX1 OK, $n_rx2 RX1 TOO_LATE -> RX2 OK"

note "confirmed downlinks at SF12 acknowledged by the next uplink; duplicate id refused"
m=$(lines)
for i in 0 1 2 3 4; do
	pub -t "$(topic $i)" -m "{\"devEui\":\"$(eui $i)\",\"confirmed\":true,\"fPort\":2,\"data\":\"$(printf 'conf-%d' $i | base64)\",\"id\":\"$(qid "conf-$i")\"}"
done
pub -t "$(topic 0)" -m "{\"devEui\":\"$(eui 0)\",\"fPort\":2,\"data\":\"AQI=\",\"id\":\"$(qid conf-0)\"}"
wait_stats ".downlinks.commands == 1005" || fail "confirmed commands not queued"
sim --sf 12 --rate 20 --count 40 --fcnt-start 1000 --linger 1500 --expect-down "$T/down2.txt" \
	2> "$T/sim2.err" || fail "sim exit $?: $(tail -5 "$T/sim2.err")"
wait_drained all || fail "no stats event after the confirmed downlinks"
[ "$(field downlinks_bad "$T/sim2.err")" -eq 0 ] || fail "bad downlinks"
[ "$(field acks_sent "$T/sim2.err")" -eq 5 ] || fail "sim acks_sent != 5"
[ "$(wc -l < "$T/down2.txt")" -eq 5 ] || fail "$(wc -l < "$T/down2.txt") downlinks, want the 5 confirmed ones"
events log "$m" | grep -q '"code":"DUPLICATE_ID"' || fail "no DUPLICATE_ID log event"
events ack "$m" > "$T/ack2.json"
for i in 0 1 2 3 4; do
	n=$(jq -c --arg e "$(eui $i)" --arg id "$(qid "conf-$i")" \
		'select(.deviceInfo.devEui == $e and .queueItemId == $id and .acknowledged == true)' "$T/ack2.json" | wc -l)
	[ "$n" -eq 1 ] || fail "device $i: $n ack events acknowledged:true for conf-$i: $(cat "$T/ack2.json")"
done
[ "$(wc -l < "$T/ack2.json")" -eq 5 ] || fail "extra ack events: $(cat "$T/ack2.json")"

note "payload limit follows the device's data rate (DR0: 51 bytes)"
m=$(lines)
p51=$(head -c 51 /dev/zero | tr '\0' 'y'); p52=$(head -c 52 /dev/zero | tr '\0' 'z')
pub -t "$(topic 6)" -m "{\"devEui\":\"$(eui 6)\",\"fPort\":3,\"data\":\"$(printf %s "$p52" | base64 -w0)\"}"
pub -t "$(topic 7)" -m "{\"devEui\":\"$(eui 7)\",\"fPort\":3,\"data\":\"$(printf %s "$p51" | base64 -w0)\"}"
# A confirmed downlink the device gets, but whose ACK is lost: the simulator
# exits before device 9's next uplink, and a new one (knowing nothing of it)
# sends that uplink without ACK.
pub -t "$(topic 9)" -m "{\"devEui\":\"$(eui 9)\",\"confirmed\":true,\"fPort\":4,\"data\":\"AQI=\",\"id\":\"$(qid noack-9)\"}"
wait_stats ".downlinks.commands == 1007" || fail "commands not queued: $(last_stats all)"
events log "$m" | grep -qE "\"devEui\":\"$(eui 6)\".*\"code\":\"PAYLOAD_TOO_LARGE\"" \
	|| fail "52 bytes at DR0 not refused"
sim --sf 12 --rate 20 --count 20 --fcnt-start 2000 --linger 1500 --expect-down "$T/down3.txt" \
	2> "$T/sim3.err" || fail "sim exit $?: $(tail -5 "$T/sim3.err")"
[ "$(field downlinks_bad "$T/sim3.err")" -eq 0 ] || fail "bad downlinks"
grep -qE "^$(eui 7) [0-9]+ 3 $(printf %s "$p51" | od -An -v -tx1 | tr -d ' \n') 0 rx1$" "$T/down3.txt" \
	|| fail "51-byte downlink not delivered at DR0: $(cat "$T/down3.txt")"
grep -qE "^$(eui 9) [0-9]+ 4 0102 0 rx" "$T/down3.txt" || fail "confirmed downlink to device 9 not received"

note "confirmed uplinks are acknowledged; the lost ACK gives acknowledged:false"
m=$(lines)
sim --confirmed --rate 20 --count 20 --fcnt-start 3000 --linger 1500 --expect-down "$T/down4.txt" \
	2> "$T/sim4.err" || fail "sim exit $?: $(tail -5 "$T/sim4.err")"
cat "$T/sim4.err"
[ "$(field downlinks_bad "$T/sim4.err")" -eq 0 ] || fail "bad downlinks"
[ "$(field acks_received "$T/sim4.err")" -eq 20 ] || fail "acks_received != 20"
[ "$(field acks_missing "$T/sim4.err")" -eq 0 ] || fail "confirmed uplinks not acknowledged"
[ "$(awk '$5 == 1' "$T/down4.txt" | wc -l)" -eq 20 ] || fail "not every answer has the ACK bit"
wait_drained all || fail "no stats event after the confirmed uplinks"
events ack "$m" > "$T/ack4.json"
jq -e -s --arg e "$(eui 9)" --arg id "$(qid noack-9)" 'length == 1 and .[0].deviceInfo.devEui == $e and .[0].queueItemId == $id
	and .[0].acknowledged == false' "$T/ack4.json" > /dev/null || fail "ack events: $(cat "$T/ack4.json")"
[ "$(events up "$m" | jq -c 'select(.confirmed == true)' | wc -l)" -eq 20 ] || fail "confirmed ups"

kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
echo "PASS"
