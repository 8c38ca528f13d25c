#!/bin/sh
# SPDX-License-Identifier: MIT
# Device-list reload (SIGHUP) keeps sessions, a bad reload keeps the old
# list, other settings changed are named (not their values) as needing a
# restart, gateways go OFFLINE after missed keepalives, frame counters roll
# over past 65535, and two devices sharing a DevAddr are told apart by MIC.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss python3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 2 --seed 21 --emit-devices "$T/devs2.conf" --quiet
"$SIM" --devices 3 --seed 21 --emit-devices "$T/devs3.conf" --quiet
cp "$T/devs2.conf" "$T/devices.conf"
UDP_EXTRA="keepalive_s = 1; offline_after = 2;" \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;"
subscribe all 'application/#' 'gateway/+/state/conn' 'lorabridge/+/stats'
start_bridge "$T/lb.conf"
sim() { "$SIM" --server "127.0.0.1:$UDP_PORT" --seed 21 --rate 50 --keepalive 1 --quiet "$@" 2>> "$T/sim.err"; }
OUT=all
ups() { grep -c '/event/up ' "$T/$OUT.out" || true; }
# what the simulator and the bridge saw, for the failure messages
seen() {
	echo "(last sim: $(tail -n 1 "$T/sim.err" | grep -oE '(push_data|push_ack|missing_acks|send_errors|refused)=[0-9]+' | tr '\n' ' ')" \
		"bridge: $(last_stats "$OUT" | jq -c '{framesReceived, uplinksUnique, uplinksPublished, drops}'))"
}

note "3 devices send, only 2 are configured"
sim --devices 3 --count 30 || fail "sim"
wait_drained all || fail "no stats event after the uplinks"
[ "$(ups)" -eq 20 ] || fail "published $(ups), want 20 (the unknown device's 10 dropped) $(seen)"

note "SIGHUP with a third device"
cp "$T/devs3.conf" "$T/devices.conf"
kill -HUP "$BRIDGE_PID"
wait_for "$T/bridge.log" "reloaded: 3 device" "$WAIT_S" || fail "no reload: $(tail -3 "$T/bridge.log")"
sim --devices 3 --count 30 --fcnt-start 100 || fail "sim"
wait_drained all || fail "no stats event after the uplinks"
[ "$(ups)" -eq 50 ] || fail "published $(ups), want 50 after the reload $(seen)"

note "sessions survived the reload: old counters are replays"
sleep 2.5  # past de-duplication's memory of identical frames (2 s)
sim --devices 2 --count 2 --fcnt-start 5 || fail "sim"
wait_drained all || fail "no stats event after the replays"
[ "$(ups)" -eq 50 ] || fail "old frames were published after the reload: $(ups), want 50 $(seen)"
grep -qE '"code":"UPLINK_F_CNT_(REPLAY|RESET)"' "$T/all.out" || fail "no replay log event"

note "a device removed and added again keeps its stored counters"
cp "$T/devs2.conf" "$T/devices.conf"
kill -HUP "$BRIDGE_PID"
wait_for "$T/bridge.log" "reloaded: 2 device" "$WAIT_S" || fail "no reload to 2 devices"
cp "$T/devs3.conf" "$T/devices.conf"
kill -HUP "$BRIDGE_PID"
wait_for "$T/bridge.log" "stored session restored" "$WAIT_S" || fail "re-added device not restored"
before=$(ups)
sleep 2.1  # past de-duplication's memory of identical frames
sim --devices 3 --count 30 --fcnt-start 100 || fail "sim"
wait_drained all || fail "no stats event after the old frames"
[ "$(ups)" -eq "$before" ] || fail "frames with old counters were published after the re-add: $(ups), want $before $(seen)"
sim --devices 3 --count 3 --fcnt-start 150 || fail "sim"
wait_drained all || fail "no stats event after the new frames"
[ "$(ups)" -eq $((before + 3)) ] || fail "new frames not published after the re-add: $(ups), want $((before + 3)) $(seen)"

note "a broken file on SIGHUP keeps the current list"
echo 'devices = ( { name = "x"; dev_eui = "zz"; } );' > "$T/devices.conf"
kill -HUP "$BRIDGE_PID"
wait_for "$T/bridge.log" "reload failed" "$WAIT_S" || fail "bad reload not reported"
sim --devices 3 --count 3 --fcnt-start 200 || fail "sim"
wait_drained all || fail "no stats event after the uplinks"
[ "$(ups)" -eq 56 ] || fail "published $(ups), want 56: the old list must stay $(seen)"

note "a reload renaming an application and a device: the next up event carries the new names"
# (the events' deviceInfo heads are kept per application: daemon/devevent.h)
old_app_id=$(grep '^application/sim/device/5a00001500000000/event/up ' "$T/all.out" | tail -n 1 |
	cut -d' ' -f2- | jq -r .deviceInfo.applicationId)
sed 's/application = "sim"/application = "field"/; s/name = "sim-0"/name = "meter-0"/' \
	"$T/devs3.conf" > "$T/devices.conf"
reloads=$(grep -c "reloaded: 3 device" "$T/bridge.log")
kill -HUP "$BRIDGE_PID"
wait_count "$T/bridge.log" "reloaded: 3 device" $((reloads + 1)) || fail "no reload of the new names"
sim --devices 3 --count 3 --fcnt-start 250 || fail "sim"
wait_count "$T/all.out" '^application/field/device/5a00001500000000/event/up ' 1 ||
	fail "no up event under the new application $(seen)"
names=$(grep '^application/field/device/5a00001500000000/event/up ' "$T/all.out" | tail -n 1 |
	cut -d' ' -f2- | jq -r '[.deviceInfo.applicationName, .deviceInfo.deviceName,
	.deviceInfo.applicationId] | join(" ")')
[ "${names% *}" = "field meter-0" ] || fail "deviceInfo after the reload: $names"
# The default applicationId is the UUIDv5 of the application's name
# (events/devinfo.h), computed again for the reloaded table.
want_app_id=$(python3 -c 'import uuid; print(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL,
	"urn:lorabridge:application"), "field"))')
[ -n "$old_app_id" ] && [ "${names##* }" != "$old_app_id" ] ||
	fail "applicationId unchanged after the rename: $names (was $old_app_id)"
[ "${names##* }" = "$want_app_id" ] ||
	fail "applicationId after the rename: $names, want $want_app_id"
RESTART='SIGHUP: [0-9]+ changed setting\(s\) need a restart to take effect'
[ "$(count_lines "$T/bridge.log" "$RESTART")" -eq 0 ] ||
	fail "settings said changed when only devices and applications were: $(grep -E "$RESTART" "$T/bridge.log")"

note "a reload with other settings changed: each is named (not its value) as needing a restart"
sed 's/client_id = "it-[0-9]*";/client_id = "secret-new-id"; username = "u"; password = "pw-s3cret";/' \
	"$T/lb.conf" > "$T/lb2.conf"
cp "$T/lb2.conf" "$T/lb.conf"
kill -HUP "$BRIDGE_PID"
wait_count "$T/bridge.log" "$RESTART" 1 || fail "changed settings not said"
grep -E "$RESTART" "$T/bridge.log" | grep -qE ': mqtt.client_id, mqtt.username, mqtt.password$' ||
	fail "the changed settings: $(grep -E "$RESTART" "$T/bridge.log")"
grep -qE 'secret-new-id|pw-s3cret' "$T/bridge.log" && fail "a changed value was logged"

note "gateway OFFLINE after 2 missed keepalives of 1 s"
# (the simulator is gone: its keepalives stopped)
wait_count "$T/all.out" '^gateway/aa555a0000000001/state/conn .*"OFFLINE"' 1 || fail "no OFFLINE state"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status"

note "FCnt rollover past 65535 and a shared DevAddr"
"$SIM" --devices 4 --seed 22 --shared-devaddr --emit-devices "$T/devices.conf" --quiet
OUT=phase2
subscribe phase2 'application/#' 'lorabridge/+/stats'
start_bridge "$T/lb.conf"
sim --seed 22 --devices 4 --shared-devaddr --fcnt-rollover --count 48 --expect "$T/expect.txt" || fail "sim"
wait_drained phase2 || fail "no stats event after the uplinks"
[ "$(ups)" -eq 48 ] || fail "published $(ups), want 48 $(seen)"
grep '/event/up ' "$T/phase2.out" | cut -d' ' -f2- | jq -r '"\(.deviceInfo.devEui) \(.fCnt)"' | sort > "$T/got.txt"
cut -d' ' -f1,2 "$T/expect.txt" | sort > "$T/want.txt"
diff "$T/want.txt" "$T/got.txt" >/dev/null || fail "devEui/fCnt differ: $(diff "$T/want.txt" "$T/got.txt" | head -5)"
max=$(cut -d' ' -f2 "$T/got.txt" | sort -n | tail -1)
[ "$max" -gt 65535 ] || fail "no counter past 65535 (max $max)"
addrs=$(grep '/event/up ' "$T/phase2.out" | cut -d' ' -f2- | jq -r '.devAddr' | sort | uniq -c | awk '$1 > 12' | wc -l)
[ "$addrs" -ge 1 ] || fail "no DevAddr shared by two devices was seen"
note "rollover to $max, shared DevAddr resolved by MIC"
echo "PASS"
