#!/bin/sh
# SPDX-License-Identifier: MIT
# The network side of ADR end to end (TS001-1.0.4 §4.3.1.1, §5.2; the rule
# in src/mac/adr.h): 100 ABP devices start at SF12 (DR0) with the ADR bit
# set, each with its own fixed SNR between -8 and +10 dB at full power
# (lorabridge-sim --snr-spread; each TX power step lowers it by 2 dB). The
# simulated devices apply every LinkADRReq and answer it. From the `up`
# events (dr, the best rxInfo snr) this script checks, against the rule with
# the default installation margin of 10 dB and the required SNR of each
# EU868 data rate (SF12 -20 dB ... SF7 -7.5 dB, 2.5 dB a step):
#  - none is ever sent to a data rate it cannot hold with the margin:
#    every uplink above DR0 has snr - required(dr) - 10 >= 0;
#  - every device converges within 5 uplinks to what the rule allows:
#    0 <= margin < 3 dB (one more step of 3 dB would break the margin), and
#    stays there;
#  - the devices' `status` events arrive: batteryLevel is the simulated
#    battery (--battery 127) in percent as ChirpStack computes it (50);
#    Home Assistant discovery announces each device's battery sensor on its
#    status events, and its value_template (rendered by Jinja when python3
#    has jinja2) reads 50 out of them;
#  - each device's retained state/mac shows the data rate of its last uplink.
# The first downlinks go out at SF12: about 100 x 1.3 s of airtime, within
# the gateway's hourly duty cycle (RX1 1 % = 36 s, then RX2 10 % = 360 s).
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss awk

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
N=100 ROUNDS=6 SEED=81
subscribe all 'application/#' 'lorabridge/+/stats' 'homeassistant/sensor/+/+/config'
"$SIM" --devices $N --seed $SEED --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
# Budgets out of the way: 6 SF12 uplinks a device exceed TTN's 30 s a day.
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 100;" \
	'fair_access = { uplink_airtime_ms = 604800000; downlinks = 1000; };' "$NO_MAC_DOWNLINK" \
	'home_assistant = { discovery = true; };'
start_bridge "$T/lb.conf"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices $N --seed $SEED --sf 12 --adr \
	--snr-spread -8:10 --battery 127 --rate 25 --count $((N * ROUNDS)) --keepalive 1 \
	--strict-downlinks --linger 2500 --print > "$T/print.txt" 2> "$T/sim.err" &
SIM_PID=$!
PIDS="$PIDS $SIM_PID"
rc=0; wait "$SIM_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "sim exit $rc: $(tail -5 "$T/sim.err")"
wait_count "$T/all.out" '/event/up ' $((N * ROUNDS)) || fail "up events missing"
wait_drained all || fail "bridge not drained"
grep '^sim:' "$T/sim.err"

# "devEui fCnt dr snr" per up event, in order of FCnt per device.
grep -E '/event/up ' "$T/all.out" | cut -d' ' -f2- |
	jq -r '[.deviceInfo.devEui, .fCnt, .dr, ([.rxInfo[].snr] | max)] | @tsv' |
	sort -k1,1 -k2,2n > "$T/ups.tsv"
[ "$(wc -l < "$T/ups.tsv")" -eq $((N * ROUNDS)) ] || fail "$(wc -l < "$T/ups.tsv") up events"

# margin(dr, snr) = snr - (-20 + 2.5 dr) - 10
awk -v rounds=$ROUNDS '
function margin(dr, snr) { return snr - (-20 + 2.5 * dr) - 10 }
$1 != dev { dev = $1; k = 0; conv = 0 }
{
	k++
	m = margin($3, $4)
	if ($3 > 0 && m < -0.001) { print "below margin: " $0 " margin " m; bad = 1 }
	ok = m > -0.001 && m < 3
	if (ok && !conv) { conv = k }
	if (!ok && conv) { print "left its rate: " $0 " margin " m; bad = 1 }
	if (k == rounds) {
		if (!conv || conv > 5) { print "not converged within 5 uplinks: " $0 " margin " m; bad = 1 }
		n[$3]++
	}
}
END {
	for (d = 0; d <= 5; d++) printf "DR%d: %d devices\n", d, n[d]
	exit bad
}' "$T/ups.tsv" > "$T/check.txt" || fail "ADR rule broken: $(grep -v '^DR' "$T/check.txt" | head -5)"
cat "$T/check.txt"
# the spread covers DR0 (-8 dB stays) to DR5 with TX power reduced
[ "$(grep -c ': 0 devices' "$T/check.txt")" -le 1 ] || fail "the SNR spread did not spread the rates"
grep -q '^DR5: [1-9]' "$T/check.txt" || fail "no device reached DR5"
grep -q '^DR0: [1-9]' "$T/check.txt" || fail "no device stayed at DR0"

# The retained state/mac of each device: the data rate of its last uplink.
grep -E '/state/mac ' "$T/all.out" | sed -E 's|^.*/device/([0-9a-f]{16})/state/mac |\1 |' |
	awk '{ last[$1] = $0 } END { for (d in last) print last[d] }' |
	while read -r eui json; do echo "$eui $(echo "$json" | jq -r .dr)"; done | sort > "$T/state.txt"
awk '{ last[$1] = $3 } END { for (d in last) print d, last[d] }' "$T/ups.tsv" | sort > "$T/last.txt"
diff "$T/last.txt" "$T/state.txt" > /dev/null ||
	fail "state/mac dr differs from the last up: $(diff "$T/last.txt" "$T/state.txt" | head -5)"

# Device status: asked at the first uplink, answered with --battery 127.
wait_count "$T/all.out" '/event/status ' $N || fail "status events missing"
grep -E '/event/status ' "$T/all.out" | cut -d' ' -f2- |
	jq -e -s --argjson n $N '(map(.deviceInfo.devEui) | unique | length) == $n and
		all(.[]; .batteryLevel == 50 and .externalPowerSource == false and
		    .batteryLevelUnavailable == false and (.margin | type) == "number" and
		    (.deduplicationId | length) == 36)' > /dev/null ||
	fail "status events: $(grep -E '/event/status ' "$T/all.out" | head -2)"
# The battery sensor of each device, announced with its first status event.
BAT_RE='^homeassistant/sensor/[0-9a-f]{16}/status-battery/config [{]'
wait_count "$T/all.out" "$BAT_RE" $N || fail "battery sensors not announced"
grep -E "$BAT_RE" "$T/all.out" | cut -d' ' -f2- > "$T/battery.json"
jq -e -s --argjson n $N 'length == $n and all(.[]; .device_class == "battery" and
	.unit_of_measurement == "%" and .state_class == "measurement" and
	(.state_topic | test("^application/sim/device/[0-9a-f]{16}/event/status$")) and
	(.unique_id | endswith("_status-battery")))' "$T/battery.json" > /dev/null ||
	fail "battery sensor configs: $(head -1 "$T/battery.json")"
grep -E '/event/status ' "$T/all.out" | head -n 1 | cut -d' ' -f2- > "$T/status1.json"
jq -r -s '.[0].value_template' "$T/battery.json" > "$T/battery.tpl"
if python3 -c 'import jinja2' 2> /dev/null; then
	got=$(python3 -c 'import json, sys, jinja2.sandbox as s
tpl = open(sys.argv[1]).read().strip()
print(s.ImmutableSandboxedEnvironment().from_string(tpl).render(value_json=json.load(open(sys.argv[2]))))' \
		"$T/battery.tpl" "$T/status1.json") || fail "battery template not rendered"
	# batteryLevel is written as ChirpStack writes its f32: 50.0
	[ "$got" = 50.0 ] || fail "battery template renders '$got' from a status event, want 50.0"
fi
note "ok: $N devices converged, status events with batteryLevel 50 and battery sensors"
