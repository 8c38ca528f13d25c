#!/bin/sh
# SPDX-License-Identifier: MIT
# An ABP device's keys rotated and rolled back (A -> B -> A), by SIGHUP and
# by restart: under keys it had before, its downlinks go on with an
# FCntDown above every one used under them before (a repeated one would
# repeat the FRMPayload keystream under the same keys, TS001-1.0.4
# §4.3.3), and its old uplinks stay replays (§4.3.1.5); keys B, new, start
# at 0. Then the device purged (`--purge`) and keys A configured under
# another DevEUI: A's counters go on there too. Last (with the sqlite3
# shell), a pending session with keys B purged: B goes on above its
# counters.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss sqlite3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 1 --seed 43 --write-keys "$T/a.keys" --quiet || fail "sim --write-keys"
# Keys B: the same DevEUI and DevAddr, other session keys.
awk '/^#/ { print; next } { $3 = "11111111111111111111111111111111";
	$4 = "22222222222222222222222222222222"; print }' "$T/a.keys" > "$T/b.keys"
for k in a b; do
	"$SIM" --keys "$T/$k.keys" --devices 1 --emit-devices "$T/$k.conf" --quiet \
		|| fail "sim --emit-devices $k"
done
EUI=$(awk '!/^#/ { print $1; exit }' "$T/a.keys")
cp "$T/a.conf" "$T/devices.conf"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	"$NO_MAC_DOWNLINK" "$NO_MAC_APPS"
subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"

# sim KEYS FCNT_START COUNT DOWN_FILE: uplinks of the device with those keys,
# the downlinks it gets verified (MIC, decryption) and appended to the file.
sim() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --keys "$T/$1.keys" --devices 1 --keepalive 1 \
		--rate 4 --fcnt-start "$2" --count "$3" --linger 1500 --expect-down "$T/$4" \
		--quiet --strict-downlinks 2>> "$T/sim.err" || fail "sim exit $?: $(tail -2 "$T/sim.err")"
}
# send KEYS FCNT_START WANT DOWN_FILE: the device's uplinks, two at a time
# from FCnt FCNT_START, until the file holds WANT downlinks, within $WAIT_S
# (the first downlink after a resume or a restart waits for its counters'
# block to be committed and may miss the windows of a loaded machine).
# SENT: the uplinks sent; NEXT: the FCnt after the last.
send() {
	NEXT=$2; SENT=0; end=$(($(date +%s) + WAIT_S))
	: >> "$T/$4"
	while [ "$(wc -l < "$T/$4")" -lt "$3" ]; do
		[ "$(date +%s)" -lt "$end" ] || fail "keys $1: $(wc -l < "$T/$4") downlinks, want $3"
		sim "$1" "$NEXT" 2 "$4"
		NEXT=$((NEXT + 2)); SENT=$((SENT + 2))
	done
	[ "$(wc -l < "$T/$4")" -eq "$3" ] || fail "keys $1: $(wc -l < "$T/$4") downlinks, want $3"
}
_last_stats_is() { last_stats all | jq -e "$1" > /dev/null 2>&1; }
# queue N: N downlink commands for the device, taken (this run's stats).
QUEUED=0
queue() {
	i=0
	while [ $i -lt "$1" ]; do
		mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 \
			-t "application/sim/device/$EUI/command/down" \
			-m "{\"fPort\":1,\"data\":\"$(printf 'dl-%d' $i | base64)\"}" || fail "mosquitto_pub"
		i=$((i + 1))
	done
	QUEUED=$((QUEUED + $1))
	wait_until "$WAIT_S" _last_stats_is ".downlinks.commands == $QUEUED" \
		|| fail "commands not taken: $(last_stats all)"
}
# FCntDowns in a file of --expect-down: the highest, the lowest.
fmax() { awk 'BEGIN { m = -1 } $2 > m { m = $2 } END { print m }' "$T/$1"; }
fmin() { awk 'NR == 1 || $2 < m { m = $2 } END { print m }' "$T/$1"; }
ups() { grep -c "^application/sim/device/$EUI/event/up " "$T/all.out" || true; }
switch() {  # switch KEYS: the device list with those keys, by SIGHUP
	n=$(grep -c "reloaded: 1 device" "$T/bridge.log" || true)
	cp "$T/$1.conf" "$T/devices.conf"
	kill -HUP "$BRIDGE_PID"
	wait_count "$T/bridge.log" "reloaded: 1 device" $((n + 1)) || fail "no reload to keys $1"
}
restart() {  # restart KEYS: stopped, the device list with those keys, started
	kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
	cp "$T/$1.conf" "$T/devices.conf"
	QUEUED=0
	start_bridge "$T/lb.conf"
}

note "keys A: uplinks and downlinks"
queue 3
send a 0 3 down-a1.txt
max_a=$(fmax down-a1.txt)
sent_a=$SENT; next_a=$NEXT
wait_drained all || fail "no stats event after keys A's uplinks"
ups_a=$(ups)

note "SIGHUP to keys B (new: from 0), then back to A"
switch b
queue 1
send b 0 1 down-b1.txt
[ "$(fmin down-b1.txt)" -eq 0 ] || fail "keys B, never seen, did not start at FCntDown 0"
max_b=$(fmax down-b1.txt)
switch a
wait_for "$T/bridge.log" "device sim-0: ABP session seen before: counters resume at FCntUp $next_a," \
	"$WAIT_S" || fail "no resume logged: $(grep sim-0 "$T/bridge.log" | tail -3)"
# Before any new uplink under A: a later one would reject these anyway.
note "A's old uplinks are replays under A again"
sleep 2.1  # past de-duplication's memory of identical frames
before=$(ups)
"$SIM" --server "127.0.0.1:$UDP_PORT" --keys "$T/a.keys" --devices 1 --keepalive 1 \
	--fcnt-start 2 --count 2 --quiet 2>> "$T/sim.err" || fail "sim replay"
wait_drained all || fail "no stats event after the replays"
[ "$(ups)" -eq "$before" ] || fail "A's old uplinks accepted again: $(ups), want $before"
[ "$ups_a" -eq "$sent_a" ] || fail "keys A published $ups_a uplinks, want $sent_a"
queue 2
send a "$next_a" 2 down-a2.txt
[ "$(fmin down-a2.txt)" -gt "$max_a" ] \
	|| fail "keys A again: FCntDown $(fmin down-a2.txt) reused (A used up to $max_a before)"


note "restart with keys B, then A: each resumes"
max_a=$(fmax down-a2.txt)
restart b
queue 1
send b 50 1 down-b2.txt
[ "$(fmin down-b2.txt)" -gt "$max_b" ] \
	|| fail "keys B again: FCntDown $(fmin down-b2.txt) reused (B used up to $max_b)"
restart a
grep -q "device sim-0: ABP session seen before" "$T/bridge.log" || fail "no resume logged"
queue 1
send a 100 1 down-a3.txt
next_a=$NEXT
[ "$(fmin down-a3.txt)" -gt "$max_a" ] \
	|| fail "keys A after restarts: FCntDown $(fmin down-a3.txt) reused (A used up to $max_a)"
note "downlink FCnts under A: $(awk '{ printf "%s ", $2 }' "$T/down-a1.txt" "$T/down-a2.txt" \
	"$T/down-a3.txt")"

note "--purge, then keys A under another DevEUI: A's counters go on"
max_a=$(fmax down-a3.txt)
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
"$LORABRIDGE" --purge "$EUI" -c "$T/lb.conf" > "$T/purge.out" 2>> "$T/purge.err" \
	|| fail "--purge: $(cat "$T/purge.err")"
grep -q "frame counters of its keys are kept" "$T/purge.out" || fail "purge: $(cat "$T/purge.out")"
awk '/^#/ { print; next } { $1 = "70b3d57ed00fffee"; print }' "$T/a.keys" > "$T/c.keys"
"$SIM" --keys "$T/c.keys" --devices 1 --emit-devices "$T/c.conf" --quiet || fail "sim c.conf"
EUI=$(awk '!/^#/ { print $1; exit }' "$T/c.keys")
cp "$T/c.conf" "$T/devices.conf"
QUEUED=0
start_bridge "$T/lb.conf"
grep -q "device sim-0: ABP session seen before: counters resume at FCntUp $next_a," "$T/bridge.log" \
	|| fail "no resume under the new DevEUI: $(grep sim-0 "$T/bridge.log" | tail -3)"
sleep 2.1
"$SIM" --server "127.0.0.1:$UDP_PORT" --keys "$T/c.keys" --devices 1 --keepalive 1 \
	--fcnt-start 50 --count 2 --quiet 2>> "$T/sim.err" || fail "sim replay c"
wait_drained all || fail "no stats event after the replays"
[ "$(ups)" -eq 0 ] || fail "A's old uplinks accepted under the new DevEUI: $(ups)"
queue 1
send c 200 1 down-c.txt
[ "$(fmin down-c.txt)" -gt "$max_a" ] \
	|| fail "keys A under another DevEUI: FCntDown $(fmin down-c.txt) reused (A used up to $max_a)"
wait_drained all || fail "no stats event after the uplinks under the new DevEUI"
[ "$(ups)" -eq "$SENT" ] || fail "keys A under another DevEUI: $(ups) uplinks published, want $SENT"

# A pending session (an OTAA rejoin's, never used) stored for a device
# whose only row it is, with keys B's DevAddr and keys and a high NFCntDown
# ceiling: `--purge` keeps its counters, and keys B configured again go on
# above them. Written with the sqlite3 shell, as a join would leave it.
note "--purge of a pending session with keys B: its counters kept"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
b_addr=$(awk '!/^#/ { print $2; exit }' "$T/b.keys")
sqlite3 "$T/state/lorabridge.db" "INSERT INTO pending_session (dev_eui, activation,
	dev_addr, nwk_s_key, app_s_key, fcnt_up_last, nfcnt_down, rx1_dr_offset, rx2_dr,
	rx2_freq, rx_delay, join_nonce_last, dev_nonce_last, joined_at, updated_at) VALUES
	(0x70b3d57ed00fffdd, 1, 0x$b_addr, x'11111111111111111111111111111111',
	x'22222222222222222222222222222222', NULL, 5000, 0, 0, 0, 1, 7, 9, 1700000000,
	1700000000)" || fail "sqlite3: pending row not written"
"$LORABRIDGE" --purge 70b3d57ed00fffdd -c "$T/lb.conf" > "$T/purge2.out" \
	2>> "$T/purge.err" || fail "--purge of the pending row: $(cat "$T/purge.err")"
[ "$(sqlite3 -readonly "$T/state/lorabridge.db" "select count(*) from pending_session")" \
	-eq 0 ] || fail "--purge left the pending row"
cp "$T/b.conf" "$T/devices.conf"
start_bridge "$T/lb.conf"
grep -q "device sim-0: ABP session seen before: counters resume at FCntUp [0-9]*, FCntDown 5000 " \
	"$T/bridge.log" || fail "keys B below the purged pending row's NFCntDown 5000: \
$(grep sim-0 "$T/bridge.log" | tail -3)"
