#!/bin/sh
# SPDX-License-Identifier: MIT
# The network's own MAC requests, end to end (src/daemon/netmac.h):
#  1. devices that never answer LinkADRReq (lorabridge-sim --ignore-adr)
#     get exactly adr.max_unanswered (here 2) of them, then nothing for the
#     rest of their uplinks; the bridge logs one line and publishes one
#     `log` event MAC_UNANSWERED per device;
#  2. an ABP device while the bridge's RX2 is not the region's default
#     (869.4625 MHz DR3 instead of 869.525 MHz DR0) gets RXParamSetupReq,
#     applies it (TS001-1.0.4 §5.4) and from then on its downlinks in RX2
#     use the new frequency and data rate: the simulator refuses every second
#     PULL_RESP (TX_ACK TOO_LATE) so each downlink after the first goes out
#     in RX2, and checks each against the device's receive settings
#     (--strict-downlinks).
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss awk

MQTT_PORT=$(free_port)
start_broker "$MQTT_PORT"
subscribe all 'application/#' 'lorabridge/+/stats'

note "1: LinkADRReq ignored: exactly max_unanswered tries, then silence"
UDP_PORT=$(free_port) SEED=91 N=2 ROUNDS=8
"$SIM" --devices $N --seed $SEED --emit-devices "$T/dev1.conf" --quiet || fail "sim --emit-devices"
write_config "$T/lb1.conf" "$UDP_PORT" "$MQTT_PORT" "$T/dev1.conf" "dedup_window_ms = 100;" \
	'adr = { max_unanswered = 2; };' "$NO_MAC_DOWNLINK" "$NO_MAC_APPS"
start_bridge "$T/lb1.conf"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices $N --seed $SEED --sf 12 --adr --ignore-adr \
	--rate 2 --count $((N * ROUNDS)) --keepalive 1 --strict-downlinks --linger 2500 \
	--print > "$T/print1.txt" 2> "$T/sim1.err" || fail "sim: $(tail -3 "$T/sim1.err")"
wait_count "$T/all.out" '/event/up ' $((N * ROUNDS)) || fail "up events missing"
wait_drained all || fail "bridge not drained"
grep '^sim:' "$T/sim1.err"
[ "$(field mac_link_adr_ignored "$T/sim1.err")" -eq $((2 * N)) ] ||
	fail "LinkADRReq received $(field mac_link_adr_ignored "$T/sim1.err") times, want $((2 * N))"
[ "$(field downlinks_ok "$T/sim1.err")" -eq $((2 * N)) ] || fail "other downlinks were sent"
# the tries come after the first two uplinks of each device, then silence
late=$(awk '/^up / { sub(/.*dev_eui=/, ""); split($0, a, " "); n[a[1]]++ }
	/^downlink ok / { sub(/.*dev_eui=/, ""); split($0, a, " "); if (n[a[1]] > 2) print a[1] }' \
	"$T/print1.txt")
[ -z "$late" ] || fail "LinkADRReq after the back-off started: $late"
[ "$(grep -c 'LinkADRReq left unanswered' "$T/bridge.log")" -eq $N ] ||
	fail "log lines: $(grep 'left unanswered' "$T/bridge.log")"
logs=$(grep -E '/event/log ' "$T/all.out" | cut -d' ' -f2- | jq -r 'select(.code == "MAC_UNANSWERED") | .deviceInfo.devEui' | sort)
[ "$(echo "$logs" | wc -l)" -eq $N ] && [ "$(echo "$logs" | sort -u | wc -l)" -eq $N ] ||
	fail "MAC_UNANSWERED log events: $logs"
kill "$BRIDGE_PID"; wait "$BRIDGE_PID" 2> /dev/null || true

note "2: ABP device, RX2 869.4625 MHz DR3: RXParamSetupReq, then RX2 downlinks there"
UDP_PORT=$(free_port) SEED=92
"$SIM" --devices 1 --seed $SEED --emit-devices "$T/dev2.conf" --quiet || fail "sim --emit-devices"
write_config "$T/lb2.conf" "$UDP_PORT" "$MQTT_PORT" "$T/dev2.conf" "dedup_window_ms = 100;" \
	'downlink = { join_cflist = "none"; rx2_frequency = 869462500; rx2_dr = 3; delay_ms = 0; };' \
	"$NO_MAC_APPS"
start_bridge "$T/lb2.conf"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 1 --seed $SEED --sf 12 --rate 1 --count 12 \
	--keepalive 1 --txack-error TOO_LATE:2 --strict-downlinks --linger 2500 \
	--expect-down "$T/down2.txt" --print > "$T/print2.txt" 2> "$T/sim2.err" &
SIM_PID=$!
PIDS="$PIDS $SIM_PID"
wait_count "$T/print2.txt" '^mac .* rx2_dr=3 rx2_freq=869462500' 1 ||
	fail "RXParamSetupReq not applied: $(grep -E '^(mac|downlink)' "$T/print2.txt")"
EUI=$(sed -n 's/^mac dev_eui=\([0-9a-f]*\) .*/\1/p' "$T/print2.txt" | head -n 1)
for p in 10 11; do
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "application/sim/device/$EUI/command/down" \
		-m "{\"fPort\":$p,\"data\":\"$(printf 'rx2-%d' $p | base64)\"}" || fail "mosquitto_pub"
done
rc=0; wait "$SIM_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "sim exit $rc (bad downlinks?): $(grep -i bad "$T/print2.txt" | head -3)"
grep '^sim:' "$T/sim2.err"
[ "$(field mac_rx_param "$T/sim2.err")" -ge 1 ] || fail "no RXParamSetupReq"
# both application downlinks arrived, in RX2
[ "$(awk '($3 == 10 || $3 == 11) && $6 == "rx2"' "$T/down2.txt" | wc -l)" -eq 2 ] ||
	fail "application downlinks: $(cat "$T/down2.txt")"
# after the device took the new settings, every RX2 PULL_RESP is 869.4625 MHz SF9
bad=$(awk '/^mac .*rx2_dr=3/ { on = 1; next }
	on && /^down / && / freq=869\./ && !/ freq=869\.4625 datr=SF9BW125 / { print }' "$T/print2.txt")
[ -z "$bad" ] || fail "RX2 downlinks on the old parameters: $bad"
[ "$(awk '/^mac .*rx2_dr=3/ { on = 1 } on && /^down .* freq=869\.4625 datr=SF9BW125 /' "$T/print2.txt" | wc -l)" -ge 2 ] ||
	fail "no RX2 downlink on 869.4625 MHz DR3: $(grep '^down ' "$T/print2.txt")"
note "ok"
