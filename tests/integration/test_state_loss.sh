#!/bin/bash
# SPDX-License-Identifier: MIT
# Replays through configuration or lost state are refused, and absurd gateway
# statistics are left out:
#  (1) a cloned device entry (same DevAddr and NwkSKey under another DevEUI)
#      is refused by --check-config, at start (exit 1) and on SIGHUP (the
#      current list is kept: the clone never accepts the original's frames);
#  (2) a gateway `stat` with values outside their physical range gives a
#      stats event without them, and drops.statFields counts them;
#  (3) a database truncated to 0 bytes is refused (exit 5, twice: refusing
#      changes nothing); --accept-state-loss starts, an old frame is then
#      accepted once more and refused again after that; the next normal
#      start is no false alarm;
#  (4) kill -9 during traffic is no false alarm; kill -9, then the -wal
#      deleted, is refused (exit 5); after --accept-state-loss a frame the
#      database file still knows is refused, one only the -wal knew is
#      accepted once more;
#  (5) state an operator must repair exits 6 (the unit's
#      RestartPreventExitStatus): a schema newer than the program (after a
#      downgrade), saying so, and a file that is not a database; with the
#      file back the bridge starts.
# bash: /dev/udp for the raw stat datagram.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq ss timeout sqlite3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 3 --seed 61 --write-keys "$T/k.txt" --quiet || fail "sim --write-keys"
"$SIM" --keys "$T/k.txt" --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
cp "$T/devices.conf" "$T/devices-good.conf"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	"$NO_MAC_DOWNLINK" "$NO_MAC_APPS"
DB=$T/state/lorabridge.db
read -r DEV0 ADDR0 NWK0 APP0 _ < <(grep -v '^#' "$T/k.txt" | head -n 1)
CLONE=5a0000ee00000000

# The same list with a fourth entry: sim-0's session under another DevEUI.
# entry NAME DEVEUI DEVADDR NWKSKEY APPSKEY: one device, on one line.
entry() {
	printf '  { name = "%s"; application = "sim"; dev_eui = "%s";' "$1" "$2"
	printf ' dev_addr = "%s"; nwk_s_key = "%s"; app_s_key = "%s"; }' "$3" "$4" "$5"
}
{
	echo "devices = ("
	grep -v '^#' "$T/k.txt" | while read -r eui addr nwk app name; do
		echo "$(entry "$name" "$eui" "$addr" "$nwk" "$app"),"
	done
	entry clone "$CLONE" "$ADDR0" "$NWK0" "$APP0"
	printf '\n);\n'
} > "$T/devices-clone.conf"
CLONE_MSG="error: device 'clone': same dev_addr $ADDR0 and nwk_s_key as device 'sim-0' at line 2"

subscribe all 'application/#' 'lorabridge/#' 'gateway/#'
# The line of all.out the next message will be on.
next_line() { echo $(( $(wc -l < "$T/all.out") + 1 )); }
# events KIND [FROM_LINE]: payloads of device events of that kind.
events() {
	tail -n "+${2:-1}" "$T/all.out" | grep -E "^application/sim/device/[0-9a-f]{16}/event/$1 " \
		| cut -d' ' -f2-
}
# n_up DEVEUI FCNT [FROM_LINE]: how often that uplink was published.
n_up() {
	events up "${3:-1}" | jq -r '"\(.deviceInfo.devEui) \(.fCnt)"' | grep -cx "$1 $2" || true
}
# n_new_up DEVEUI FCNT FROM_LINE: `up` events of that uplink from FROM_LINE
# on that are new, not an event of before it sent again: after kill -9 the
# outbox publishes once more the events the broker may not have acknowledged
# (duplicates, as QoS 1 allows), whenever the new run connects.
n_new_up() {
	_old=$(head -n "$(($3 - 1))" "$T/all.out" | grep -E "^application/sim/device/$1/event/up " \
		| cut -d' ' -f2- | jq -r --argjson f "$2" 'select(.fCnt == $f) | .deduplicationId')
	events up "$3" | jq -r --arg e "$1" --argjson f "$2" \
		'select(.deviceInfo.devEui == $e and .fCnt == $f) | .deduplicationId' \
		| grep -cvxF -e "${_old:-none}" || true
}
wait_up() {
	i=0
	until [ "$(n_up "$@")" -ge 1 ]; do
		[ $i -lt 400 ] || fail "uplink $1 FCnt $2 not published"
		sleep 0.05; i=$((i + 1))
	done
}
# wait_refused DEVEUI FCNT FROM_LINE: the `log` event refusing that counter.
wait_refused() {
	i=0
	until events log "$3" | jq -e --arg e "$1" --argjson f "$2" 'select(.deviceInfo.devEui == $e
		and (.code | test("^UPLINK_F_CNT_(RETRANSMISSION|REPLAY|RESET)$"))
		and (.description | test("^uplink FCnt \($f)\\b")))' > /dev/null 2>&1; do
		[ $i -lt 400 ] || fail "no log event refusing $1 FCnt $2"
		sleep 0.05; i=$((i + 1))
	done
}
# refused_frame FCNT: sim-0's frame is sent and refused, not published. A
# longer payload: an identical copy within 2 s would only be a late
# duplicate for de-duplication, which never reaches the counter check.
refused_frame() {
	mark=$(next_line)
	send "$1" --payload-size 12
	wait_refused "$DEV0" "$1" "$mark"
	[ "$(n_new_up "$DEV0" "$1" "$mark")" -eq 0 ] || fail "FCnt $1 published again"
}
# accepted_frame FCNT: sim-0's frame is sent and published once more.
accepted_frame() {
	mark=$(next_line)
	send "$1"
	wait_up "$DEV0" "$1" "$mark"
}
# send FCNT [SIM OPTION...]: sim-0's frame with that counter, byte for byte
# as sent before unless the options change it.
send() {
	f=$1; shift
	"$SIM" --server "127.0.0.1:$UDP_PORT" --keys "$T/k.txt" --keepalive 0 --stat-interval 0 \
		--count 1 --fcnt-start "$f" --quiet "$@" 2> "$T/send.err" \
		|| fail "sim: $(cat "$T/send.err")"
}
# traffic FIRST COUNT: COUNT uplinks round-robin, counters from FIRST.
traffic() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --keys "$T/k.txt" --keepalive 0 --stat-interval 0 \
		--count "$2" --rate 30 --fcnt-start "$1" --quiet 2> "$T/traffic.err" \
		|| fail "sim: $(cat "$T/traffic.err")"
	wait_up "$DEV0" $(($1 + ($2 + 2) / 3 - 1))
}
n_log=0
bridge() {
	n_log=$((n_log + 1))
	"$LORABRIDGE" -f -c "$T/lb.conf" "$@" > "$T/bridge-$n_log.log" 2>&1 &
	BRIDGE_PID=$!
	PIDS="$PIDS $BRIDGE_PID"
	LOG=$T/bridge-$n_log.log
	wait_for "$LOG" "running:" 10 || fail "bridge did not start: $(cat "$LOG")"
}
stop() { kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"; }
crash() { kill -9 "$BRIDGE_PID"; wait "$BRIDGE_PID" 2>/dev/null || true; }
# refused: a start on lost state exits 5 at once, saying why and what to do.
refused() {
	rc=0
	timeout 20 "$LORABRIDGE" -f -c "$T/lb.conf" > "$T/refused.log" 2>&1 || rc=$?
	[ "$rc" -eq 5 ] || fail "start on lost state: exit $rc, want 5: $(cat "$T/refused.log")"
	grep -q "has lost committed state: it is at generation [0-9]* but the state marker" \
		"$T/refused.log" || fail "no state-loss message: $(cat "$T/refused.log")"
	grep -q "refusing to start.*--accept-state-loss" "$T/refused.log" \
		|| fail "no advice: $(cat "$T/refused.log")"
}
accepted() {
	bridge --accept-state-loss
	grep -q "started with --accept-state-loss on lost state" "$LOG" \
		|| fail "no warning: $(cat "$LOG")"
}

note "(1) a cloned device entry"
sed "s|$T/devices.conf|$T/devices-clone.conf|" "$T/lb.conf" > "$T/lb-clone.conf"
rc=0; "$LORABRIDGE" --check-config -c "$T/lb-clone.conf" > "$T/check.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "--check-config exit $rc, want 1: $(cat "$T/check.out")"
grep -qF "$T/devices-clone.conf:5: $CLONE_MSG" "$T/check.out" \
	|| fail "message: $(cat "$T/check.out")"
rc=0; timeout 20 "$LORABRIDGE" -f -c "$T/lb-clone.conf" > "$T/clone-start.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "start with a clone: exit $rc, want 1"
grep -qF "$CLONE_MSG" "$T/clone-start.log" || fail "start: $(cat "$T/clone-start.log")"

bridge
traffic 0 30                                         # counters 0..9 of each device
cp "$T/devices-clone.conf" "$T/devices.conf"
kill -HUP "$BRIDGE_PID"
wait_for "$LOG" "reload failed .*keeping the current device list" 10 || fail "reload: $(cat "$LOG")"
grep -qF "devices.conf:5: device 'clone': same dev_addr $ADDR0" "$LOG" \
	|| fail "reload: $(cat "$LOG")"
kill -0 "$BRIDGE_PID" || fail "bridge died on the reload"
refused_frame 5
[ "$(n_up "$CLONE" 5)" -eq 0 ] || fail "the clone accepted sim-0's frame"
cp "$T/devices-good.conf" "$T/devices.conf"
note "(1) refused by --check-config, at start and on SIGHUP; the old list kept"

note "(2) a gateway stat with absurd values"
big=123456789012345678901234567890123456789012345678   # 48 digits
stat='{"stat":{"time":"2024-05-14 09:12:47 GMT","lati":1e300,"long":3.25,"alti":145,"rxnb":-1,'
stat=$stat'"rxok":5,"rxfw":5,"ackr":100,"dwnb":0,"txnb":0,"temp":'$big'}}'
printf '\x02\x12\x34\x00\xaa\x55\x5a\x00\x00\x00\x0e\x01%s' "$stat" > "/dev/udp/127.0.0.1/$UDP_PORT"
wait_for "$T/all.out" "^gateway/aa555a0000000e01/event/stats " 10 || fail "no stats event"
ev=$(grep "^gateway/aa555a0000000e01/event/stats " "$T/all.out" | cut -d' ' -f2-)
echo "$ev" | jq -e '(has("location") | not) and (has("rxPacketsReceived") | not)
	and .rxPacketsReceivedOk == 5 and .time == "2024-05-14T09:12:47+00:00"
	and (.metadata | has("temperature") | not) and .metadata.ackRate == "100.0"' > /dev/null \
	|| fail "stats event: $ev"
i=0
until last_stats all | jq -e '.drops.statFields == 3' > /dev/null 2>&1; do
	[ $i -lt 100 ] || fail "drops.statFields: $(last_stats all)"
	sleep 0.05; i=$((i + 1))
done
grep -q "stat values out of range left out: lati,rxnb,temp" "$LOG" || fail "not logged"
note "(2) stats event without lati, rxnb, temp; drops.statFields = 3"

note "(3) a database truncated to 0 bytes"
stop
: > "$DB"
refused
refused
accepted
accepted_frame 5                                     # lost: accepted once more
refused_frame 4
refused_frame 5
stop
bridge
grep -q "lost committed state" "$LOG" && fail "false alarm after --accept-state-loss"
note "(3) refused twice (exit 5); accepted: FCnt 5 once more, then 4 and 5 refused"

note "(4) kill -9 during traffic, then the -wal deleted"
# The database file now holds sim-0 at FCnt 5 (clean stop above); what
# follows lives in the -wal only (far below the 4000 frames that trigger a
# checkpoint).
traffic 20 15                                        # sim-0: 20..24
crash
[ -s "$DB-wal" ] || fail "no -wal after kill -9"
bridge
grep -q "lost committed state" "$LOG" && fail "false alarm after kill -9: $(cat "$LOG")"
refused_frame 24
traffic 30 15                                        # sim-0: 30..34
crash
[ "$(stat -c %s "$DB-wal")" -lt 16000000 ] || fail "the -wal is long enough for a checkpoint"
rm -f "$DB-wal"
refused
accepted
refused_frame 5                                      # in the database file
accepted_frame 34                                    # only in the lost -wal
refused_frame 34
stop
note "(4) kill -9 alone is fine; -wal deleted: exit 5; accepted: 5 refused, 34 once more"

note "(5) unusable state: a newer schema, not a database"
# unusable WHAT PATTERN: a start exits 6 at once, its log matches PATTERN.
unusable() {
	rc=0
	timeout 20 "$LORABRIDGE" -f -c "$T/lb.conf" > "$T/unusable.log" 2>&1 || rc=$?
	[ "$rc" -eq 6 ] || fail "start with $1: exit $rc, want 6: $(cat "$T/unusable.log")"
	grep -qE "$2" "$T/unusable.log" || fail "start with $1: no '$2': $(cat "$T/unusable.log")"
}
schema=$(sqlite3 "$DB" "PRAGMA user_version")
sqlite3 "$DB" "PRAGMA user_version = 99"
unusable "schema 99" "state schema version 99 is newer than this lorabridge \($schema\)"
grep -q "unsupported protocol version" "$T/unusable.log" && fail "generic message: $(cat "$T/unusable.log")"
sqlite3 "$DB" "PRAGMA user_version = $schema"
cp "$DB" "$T/db.saved"
head -c 8192 /dev/zero | tr '\0' J > "$DB"
unusable "a file that is not a database" "not a lorabridge database"
cp "$T/db.saved" "$DB"
bridge
stop
note "(5) newer schema and junk file: exit 6 with the reason; the file back: starts"
echo "PASS"
