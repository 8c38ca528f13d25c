#!/bin/sh
# SPDX-License-Identifier: MIT
# Home Assistant MQTT discovery with a real broker: three CayenneLPP devices
# send uplinks; the retained discovery configs must read each field's value
# (and RSSI, SNR, last seen) out of the published up events
# (tests/integration/hass_check.py applies every value_template to them);
# the per-field retained topics carry the last values; "online" on
# homeassistant/status brings every config again; a device removed by a
# SIGHUP reload has its configs and field topics cleared, and so has one
# removed while the bridge was stopped, at its next start; the others' stay;
# with discovery turned off, the next start clears every config of ours,
# and the starts after it subscribe to no config at all.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq python3 ss

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
# The simulator's devices, each with the CayenneLPP codec: sim-0, sim-1,
# sim-2 (devs3), the first two (devs2), the first (devs1). No DevStatusReq
# (status_interval_h = 0): the configs are counted exactly, and whether a
# status answer comes within the few uplinks depends on timing (the battery
# sensor from status events is checked in test_adr.sh and test_hass).
with_codec() {
	sed 's/app_s_key = "[0-9a-f]*";/& codec = "cayennelpp"; status_interval_h = 0;/' "$1"
}
for n in 1 2 3; do
	"$SIM" --devices $n --seed 31 --emit-devices "$T/devs$n.conf" --quiet
done
with_codec "$T/devs3.conf" > "$T/devices.conf"
[ "$(grep -c 'codec = "cayennelpp"; status_interval_h = 0;' "$T/devices.conf")" -eq 3 ] || fail "codec not added: $(cat "$T/devices.conf")"
MQTT_EXTRA="publish_fields = true;" \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	'home_assistant = { discovery = true; };'
subscribe all 'application/#' 'homeassistant/#' 'lorabridge/+/stats'
start_bridge "$T/lb.conf"
STATE_TOPIC="lorabridge/it-$$/state"
EUI0=5a00001f00000000 EUI1=5a00001f00000001 EUI2=5a00001f00000002
# an empty retained message (a clear) on a config or field topic of device $1,
# as mosquitto_sub -v prints it ("(null)")
cleared_re() {
	echo "^(homeassistant/[a-z_]+/$1/[A-Za-z0-9_-]+/config|application/[^ ]+/device/$1/object/[A-Za-z0-9_]+)( \(null\)| ?)\$"
}
sim() { "$SIM" --server "127.0.0.1:$UDP_PORT" --seed 31 --rate 20 --keepalive 1 --quiet "$@" 2>> "$T/sim.err"; }

# retained SNAPSHOT FILTER: every retained message on FILTER now, as
# "topic payload" lines in $T/SNAPSHOT (empty payloads are not retained
# messages: the broker deleted those). --retained-only stops at the first
# message without the retain flag: the marker, published until it is seen.
retained() {
	_rt_out="$T/$1"; shift
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 --retained-only -F '%t %p' \
		-t "$1" -t "it-retained/$$" > "$_rt_out.raw" 2>> "$T/sub.err" &
	_rt_pid=$!
	PIDS="$PIDS $_rt_pid"
	_rt_end=$(( $(date +%s) + WAIT_S ))
	while kill -0 "$_rt_pid" 2>/dev/null; do
		[ "$(date +%s)" -lt "$_rt_end" ] || fail "retained snapshot of $1 did not finish"
		mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "it-retained/$$" -m x 2>/dev/null || true
		sleep 0.1
	done
	grep -v "^it-retained/" "$_rt_out.raw" | sort > "$_rt_out" || true
}
configs() { grep -cE '^homeassistant/[a-z_]+/[0-9a-f]+/[A-Za-z0-9_-]+/config \{' "$T/all.out" || true; }

note "uplinks with CayenneLPP payloads (temperature, humidity, voltage)"
sim --devices 3 --count 9 --payload cayennelpp || fail "sim"
wait_drained all || fail "no stats event after the uplinks"
grep '/event/up ' "$T/all.out" > "$T/ups.txt" || fail "no up events"
[ "$(wc -l < "$T/ups.txt")" -eq 9 ] || fail "$(wc -l < "$T/ups.txt") up events, want 9"
# Fields per device: temperatureSensor_1, humiditySensor_2, voltage_3,
# decoded into every up event's `object` by the device's codec.
NF=3
cut -d' ' -f2- "$T/ups.txt" | jq -e -s 'map(.object.temperatureSensor["1"] != null) | all' > /dev/null ||
	fail "an up event lacks the decoded object's temperatureSensor 1: $(cat "$T/ups.txt")"

note "the retained configs read each value from the up events"
retained configs.txt 'homeassistant/#'
# per device: RSSI, SNR, last seen and the fields
want=$((3 * (3 + NF)))
[ "$(wc -l < "$T/configs.txt")" -eq "$want" ] ||
	fail "$(wc -l < "$T/configs.txt") retained configs, want $want: $(cut -d' ' -f1 "$T/configs.txt")"
retained fields.txt 'application/+/device/+/object/#'
[ "$(wc -l < "$T/fields.txt")" -eq $((3 * NF)) ] ||
	fail "$(wc -l < "$T/fields.txt") field topics, want $((3 * NF)): $(cat "$T/fields.txt")"
python3 "$top_srcdir/tests/integration/hass_check.py" "$T/configs.txt" "$T/ups.txt" "$T/fields.txt" \
	"$STATE_TOPIC" || fail "configs do not match the up events"
# announced once: the second up event of a device measures its interval and
# announces the fields again with expire_after; nothing more after that
n=$(configs)
[ "$n" -eq $((want + 3 * NF)) ] || fail "$n configs published for 9 uplinks, want $((want + 3 * NF))"
cut -d' ' -f2- "$T/configs.txt" | jq -e -s '[.[] | select(.unique_id
	| test("temperatureSensor")) | .expire_after > 0] | all' > /dev/null ||
	fail "no expire_after after two uplinks"

note "Home Assistant restarts: online on homeassistant/status brings every config again"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t homeassistant/status -m online
wait_count "$T/all.out" '^homeassistant/[a-z_]+/[0-9a-f]+/[A-Za-z0-9_-]+/config \{' $((n + want)) ||
	fail "configs not announced again"
wait_for "$T/bridge.log" "Home Assistant is online" "$WAIT_S" || fail "status not logged"

note "a device removed by SIGHUP has its configs and field topics cleared"
with_codec "$T/devs2.conf" > "$T/devices.conf"
kill -HUP "$BRIDGE_PID"
wait_for "$T/bridge.log" "reloaded: 2 device" "$WAIT_S" || fail "no reload: $(tail -3 "$T/bridge.log")"
# its configs and field topics, each an empty retained message
wait_count "$T/all.out" "$(cleared_re $EUI2)" $((3 + 2 * NF)) ||
	fail "the removed device's topics were not cleared"
retained configs2.txt 'homeassistant/#'
[ "$(wc -l < "$T/configs2.txt")" -eq $((2 * (3 + NF))) ] ||
	fail "$(wc -l < "$T/configs2.txt") retained configs left, want $((2 * (3 + NF)))"
grep -q "$EUI2" "$T/configs2.txt" && fail "a config of the removed device is still retained"
retained fields2.txt 'application/+/device/+/object/#'
[ "$(wc -l < "$T/fields2.txt")" -eq $((2 * NF)) ] ||
	fail "$(wc -l < "$T/fields2.txt") field topics left, want $((2 * NF))"
grep -q "$EUI2" "$T/fields2.txt" && fail "a field topic of the removed device is still retained"

note "a device removed while the bridge was stopped is cleared at the next start"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status"
with_codec "$T/devs1.conf" > "$T/devices.conf"
start_bridge "$T/lb.conf"
# the sweep: sim-1's retained configs and field topics come back to the
# bridge when it subscribes, and each is cleared
wait_count "$T/all.out" "$(cleared_re $EUI1)" $((3 + 2 * NF)) ||
	fail "the topics of the device removed while stopped were not cleared: $(tail -5 "$T/bridge.log")"
grep -q "cleared: device $EUI1 is not configured" "$T/bridge.log" || fail "the sweep was not logged"
retained configs3.txt 'homeassistant/#'
[ "$(wc -l < "$T/configs3.txt")" -eq $((3 + NF)) ] ||
	fail "$(wc -l < "$T/configs3.txt") retained configs left, want $((3 + NF)): $(cut -d' ' -f1 "$T/configs3.txt")"
grep -q "$EUI1" "$T/configs3.txt" && fail "a config of the device removed while stopped is still retained"
# sim-0's are untouched: the same retained configs as before, never cleared
grep "$EUI0" "$T/configs2.txt" > "$T/eui0-before.txt"
grep "$EUI0" "$T/configs3.txt" > "$T/eui0-after.txt"
cmp -s "$T/eui0-before.txt" "$T/eui0-after.txt" ||
	fail "sim-0's configs changed: $(diff "$T/eui0-before.txt" "$T/eui0-after.txt")"
[ "$(count_lines "$T/all.out" "$(cleared_re $EUI0)")" -eq 0 ] || fail "a topic of sim-0 was cleared"
retained fields3.txt 'application/+/device/+/object/#'
[ "$(wc -l < "$T/fields3.txt")" -eq "$NF" ] ||
	fail "$(wc -l < "$T/fields3.txt") field topics left, want $NF: $(cat "$T/fields3.txt")"
[ "$(grep -c "/device/$EUI0/object/" "$T/fields3.txt")" -eq "$NF" ] || fail "sim-0's field topics are gone"

note "discovery turned off: the earlier runs' configs are cleared, the field topics stay"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status"
sed 's/discovery = true;/discovery = false;/' "$T/lb.conf" > "$T/lb-off.conf"
grep -q 'discovery = false;' "$T/lb-off.conf" || fail "discovery not turned off in the config"
start_bridge "$T/lb-off.conf"
wait_count "$T/all.out" "$(cleared_re $EUI0)" $((3 + NF)) ||
	fail "sim-0's configs were not cleared with discovery off: $(tail -5 "$T/bridge.log")"
grep -q "cleared: device $EUI0 is announced no more: discovery is off" "$T/bridge.log" ||
	fail "the clearing was not logged"
retained configs4.txt 'homeassistant/+/+/+/config'
[ ! -s "$T/configs4.txt" ] || fail "configs left with discovery off: $(cut -d' ' -f1 "$T/configs4.txt")"
retained fields4.txt 'application/+/device/+/object/#'
[ "$(wc -l < "$T/fields4.txt")" -eq "$NF" ] ||
	fail "$(wc -l < "$T/fields4.txt") field topics left, want $NF: $(cat "$T/fields4.txt")"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status"

note "discovery still off: the sweep was once, the configs are not subscribed to any more"
EUI9=5a00001f00000009
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r -t "homeassistant/sensor/$EUI9/t/config" \
	-m "{\"unique_id\":\"lorabridge_${EUI9}_t\",\"availability_topic\":\"$STATE_TOPIC\",\
\"origin\":{\"name\":\"lorabridge\"}}" || fail "cannot publish a config"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r -t "application/x/device/$EUI9/object/t" -m 1 ||
	fail "cannot publish a field topic"
start_bridge "$T/lb-off.conf"
# the field sweep is subscribed after the configs' would be: once its clear
# is out, a config sweep would have cleared the config before it
wait_count "$T/all.out" "^application/x/device/$EUI9/object/t( \(null\)| ?)\$" 1 ||
	fail "the field topic of an unknown device was not cleared: $(tail -5 "$T/bridge.log")"
retained configs5.txt 'homeassistant/+/+/+/config'
grep -q "^homeassistant/sensor/$EUI9/t/config " "$T/configs5.txt" ||
	fail "a config was swept again with discovery off: $(cat "$T/configs5.txt")"

kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status"
echo "PASS"
