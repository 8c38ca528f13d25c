#!/bin/sh
# SPDX-License-Identifier: MIT
# TX_ACKs and the shutdown. At SIGTERM the bridge hands over what waits,
# for up to 5 s (bridge.c shutdown_flush()), and a class C queue item's
# TX_ACK is part of it:
#   1. one that comes while the flush waits for a stopped broker marks the
#      item sent, and its `txack`, which waits in the outbox for that
#      mark's commit, reaches MQTT before the bridge exits (the flush makes
#      the commit), instead of the flush waiting its whole 5 s and keeping
#      it for the next start;
#   2. with nothing else to hand over, the flush waits for a TX_ACK still
#      due (its `txack` reaches MQTT), instead of exiting and leaving the
#      item queued, to be sent to the device again after the restart;
#   3. one that never comes is waited for until its timeout only (here
#      4 s, within the flush's 5 s): the `log` event DOWNLINK_GATEWAY
#      saying so reaches MQTT before the exit, and the item stays queued
#      (sent again in 4);
#   4. an uplink heard during the flush is acknowledged to its gateway but
#      not processed (its ACK or join-accept could not be sent): the exit's
#      warning counts it;
#   5. a late copy of an uplink processed before SIGTERM, from a gateway
#      first heard during the flush, is known as a copy (the shutdown's
#      de-duplication close keeps the memory of frames seen), so not
#      counted as a frame not processed; and that gateway is not said
#      ONLINE (no OFFLINE would follow). The bridge remembers a frame for
#      2 s after its first copy (dedup.h), so the original goes through a
#      gateway and its copy through a second at the same moment, the
#      copy held by the relay only from SIGTERM to the flush; should a
#      loaded host still stretch that beyond 2 s (the bridge's log tells),
#      the step says so and is tried again;
#   6. more uplinks during the flush than the de-duplication holds open:
#      the oldest forced out of the full table is dropped and counted like
#      the rest, not processed; the exit's warning says how many of them
#      the full table forced out (the stats event's dedupForcedEarly);
#   7. a broker that comes back during the flush gets `offline` and the
#      gateway's OFFLINE as the last, retained, states: the reconnection
#      says neither online nor the gateway's state from the table.
# A relay between the simulated gateway and the bridge (gwmp_relay.py)
# holds the TX_ACK until the bridge is flushing.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub python3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); RELAY_PORT=$(free_port)
start_broker "$MQTT_PORT"
# device 0 is the one the scenarios use; 6 needs more than the 1,024 groups
# the de-duplication holds open (bridge.h BRIDGE_DEDUP_OPEN)
FORCED=1100 DEDUP_OPEN=1024
"$SIM" --devices "$FORCED" --seed 51 --class-c --emit-devices "$T/devices.conf" --quiet \
	|| fail "sim --emit-devices"
# debug: the bridge says when it has taken a queue item's TX_ACK; 6's
# 1,100 datagrams at 5,000/s all fit the socket's buffer (udp.rcvbuf), so a
# bridge slowed by a loaded machine reads them late rather than the kernel
# dropping them (a drop is not what 6 tests: the count would differ)
UDP_EXTRA="rcvbuf = 4194304;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	'log_level = "debug";' 'downlink = { join_cflist = "none"; tx_ack_timeout_ms = 4000; };' \
	"fair_access = { downlinks = 100000; };" "$NO_MAC_APPS"
subscribe all 'application/#' 'lorabridge/#'
subscribe conn 'gateway/+/state/conn'
mkdir "$T/relay"
python3 "$top_srcdir/tests/integration/gwmp_relay.py" "$RELAY_PORT" "$UDP_PORT" "$T/relay" &
PIDS="$PIDS $!"
wait_for "$T/relay/ready" . "$WAIT_S" || fail "the relay did not start"
EUI=5a00003300000000
touch "$T/relay/hold"

# The device's up events on MQTT so far, the TX_ACKs the relay held so far.
NUP=0; NHELD=0

# bridge_with_uplink NAME FCNT: a bridge, and the device's uplink FCNT heard
# (one more up event); a simulator of the gateway and the device that stays
# to take downlinks (SIM_PID).
bridge_with_uplink() {
	start_bridge "$T/lb.conf"
	"$SIM" --server "127.0.0.1:$RELAY_PORT" --devices 1 --seed 51 --class-c --keepalive 1 \
		--stat-interval 0 --quiet --rate 1 --count 1 --fcnt-start "$2" --linger 120000 > /dev/null \
		2> "$T/sim-$1.err" &
	SIM_PID=$!
	PIDS="$PIDS $SIM_PID"
	NUP=$((NUP + 1))
	wait_count "$T/all.out" "device/$EUI/event/up " "$NUP" || fail "the device's uplink $2"
}

# downlink_held ID: queue a class C downlink ID and wait until the relay
# holds its TX_ACK (one more held).
downlink_held() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 \
		-t "application/sim/device/$EUI/command/down" \
		-m "{\"devEui\":\"$EUI\",\"fPort\":7,\"data\":\"aGk=\",\"id\":\"$1\"}" ||
		fail "mosquitto_pub"
	txack_held
}
txack_held() {
	NHELD=$((NHELD + 1))
	wait_until "$WAIT_S" held_at_least "$NHELD" || fail "no TX_ACK from the gateway"
}
held_at_least() { [ -f "$T/relay/held" ] && [ "$(wc -l < "$T/relay/held")" -ge "$1" ]; }

# exited_with EVENT ID: the bridge exited 0, having kept nothing for the
# next start, and the EVENT (txack, log) of ID is on MQTT.
exited_with() {
	rc=0
	wait "$BRIDGE_PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "bridge exit status $rc"
	! grep -q "kept in the outbox" "$T/bridge.log" ||
		fail "an event was kept for the next start: $(grep -E 'shutting|kept' "$T/bridge.log")"
	wait_count "$T/all.out" "device/$EUI/event/$1 .*\"queueItemId\":\"$2\"" 1 ||
		fail "no $1 event for $2 on MQTT"
}

# next_bridge NAME FCNT: stop the simulator, then bridge_with_uplink NAME FCNT
# with the relay holding TX_ACKs again.
next_bridge() {
	kill "$SIM_PID"
	wait "$SIM_PID" || true
	rm -f "$T/relay/release"
	bridge_with_uplink "$@"
}

# stop_awaiting: SIGTERM, and the flush under way awaiting one TX_ACK.
stop_awaiting() {
	kill -TERM "$BRIDGE_PID"
	wait_for "$T/bridge.log" "shutting down: flushing .* awaiting 1 TX_ACK" "$WAIT_S" ||
		fail "no flush awaiting the TX_ACK: $(grep shutting "$T/bridge.log")"
}

# uplink_in_flush NAME SIM_ARGS...: an uplink of the device from a second
# simulator of a gateway (no PULL_DATA of its own: the downlink route stays
# the first one's), held by the relay until the bridge, stopped, is
# flushing, then released and acknowledged.
uplink_in_flush() {
	name=$1; shift
	touch "$T/relay/hold-up"
	"$SIM" --server "127.0.0.1:$RELAY_PORT" --devices 1 --seed 51 --class-c --keepalive 0 \
		--quiet --stat-interval 0 --rate 1 --count 1 "$@" > /dev/null 2> "$T/sim-$name.err" &
	PIDS="$PIDS $!"
	wait_until "$WAIT_S" test -s "$T/relay/held-up" || fail "$name: the uplink did not come"
	stop_awaiting
	touch "$T/relay/release-up"
	wait_until "$WAIT_S" test -s "$T/relay/up-acked" || fail "$name: the uplink was not acknowledged"
	rm -f "$T/relay/hold-up" "$T/relay/release-up" "$T/relay/held-up" "$T/relay/up-acked"
}

# unprocessed ID N FCNT: the held TX_ACK of ID released, the bridge exits
# with ID's txack on MQTT; its warning counts N frames heard during the
# flush and not processed (with no word of the full table when N fits it),
# and no uplink FCNT (the flush's) was.
unprocessed() {
	touch "$T/relay/release"
	exited_with txack "$1"
	_said="$2 frame(s) heard during the shutdown's flush not processed"
	[ "$2" -gt "$DEDUP_OPEN" ] || _said="$_said (acknowledged to their gateways)\$"
	grep -q "$_said" "$T/bridge.log" ||
		fail "the uplinks of the flush: $(grep -E 'shutting|frame' "$T/bridge.log")"
	! grep -q "/event/up .*\"fCnt\":$3," "$T/all.out" || fail "an uplink of the flush was processed"
}

note "1. the TX_ACK comes while the flush waits for a stopped broker"
bridge_with_uplink 1 0
ID1=$(qid shutdown-flush-1)
downlink_held "$ID1"
kill -STOP "$BROKER_PID"
kill -TERM "$BRIDGE_PID"
wait_for "$T/bridge.log" "shutting down: flushing" "$WAIT_S" || { kill -CONT "$BROKER_PID"; fail "no flush"; }
touch "$T/relay/release"
wait_for "$T/bridge.log" "queue item $ID1 sent" "$WAIT_S" ||
	{ kill -CONT "$BROKER_PID"; fail "the bridge did not take the TX_ACK: $(tail -5 "$T/bridge.log")"; }
kill -CONT "$BROKER_PID"
exited_with txack "$ID1"

note "2. nothing else to hand over: the flush waits for the TX_ACK"
next_bridge 2 10
ID2=$(qid shutdown-flush-2)
downlink_held "$ID2"
stop_awaiting
touch "$T/relay/release"
exited_with txack "$ID2"
grep -q "queue item $ID2 sent" "$T/bridge.log" || fail "the bridge did not take the TX_ACK"

note "3. a TX_ACK that never comes: waited for until its timeout"
next_bridge 3 20
ID3=$(qid shutdown-flush-3)
downlink_held "$ID3"
kill -TERM "$BRIDGE_PID"
exited_with log "$ID3"
grep "device/$EUI/event/log " "$T/all.out" | grep "$ID3" | grep -q '"code":"DOWNLINK_GATEWAY"' ||
	fail "the lost TX_ACK's log event: $(grep "$ID3" "$T/all.out")"

note "4. an uplink heard during the flush: not processed, counted at the exit"
# 3's item stayed queued: it goes again, with the device's next uplink
# (the relay also passes on 3's TX_ACK, which it still holds: it matches
# no downlink of this bridge)
next_bridge 4 40
txack_held
uplink_in_flush 4b --fcnt-start 41
unprocessed "$ID3" 1 41

# ms_at FILE PATTERN: the time (Unix ms) of the first bridge log line in
# FILE matching PATTERN, empty if none.
ms_at() {
	_ts=$(grep -m 1 -e "$2" "$1" | cut -d' ' -f1)
	[ -z "$_ts" ] || date -u -d "$_ts" +%s%3N
}

# late_copy K: step 5, try K (1, 2, ...). A bridge with an earlier uplink
# heard; a class C downlink whose TX_ACK the relay holds; then FCnt F heard
# at once by gateways GW_A5 and GW_B (one simulator, --all-gateways): GW_A5's
# copy goes through and is processed, GW_B's is held by the relay until the
# bridge, stopped, is flushing. Returns 1 when the copy was not known as one
# but reached the bridge more than RETAIN_MS after the original: a host too
# loaded for the step, not a wrong bridge. Measured where the copies reach
# the bridge's socket (the relay's times: GW_B's copy came with GW_A5's, and
# left the relay at released-up), as the de-duplication counts from the
# kernel's arrival time (io/udp.h), not from when the bridge read the copy:
# a copy read late but within the retention must still be known as one.
RETAIN_MS=2000      # dedup.h: max(2000 ms, dedup_window_ms + 500) after the first copy
late_copy() {
	F=$((50 + 2 * $1))
	next_bridge "5-$1" $((F - 1))
	ID5=$(qid "shutdown-flush-5-$1")
	downlink_held "$ID5"
	GW_A5=aa555a0000000b${1}0; GW_B=aa555a0000000b${1}1
	echo "$GW_B" > "$T/relay/hold-up"
	"$SIM" --server "127.0.0.1:$RELAY_PORT" --devices 1 --seed 51 --class-c --keepalive 0 \
		--quiet --stat-interval 0 --rate 1 --count 1 --fcnt-start "$F" --gateways 2 \
		--all-gateways --gateway-eui "$GW_A5" > /dev/null 2> "$T/sim-5b-$1.err" &
	PIDS="$PIDS $!"
	wait_until "$WAIT_S" test -s "$T/relay/held-up" || fail "5: $GW_B's copy did not come"
	wait_for "$T/bridge.log" "\[uplink\] device sim-0 FCnt $F " "$WAIT_S" ||
		fail "5: the original (FCnt $F) through $GW_A5 was not processed"
	NUP=$((NUP + 1))
	stop_awaiting
	rm -f "$T/relay/released-up"
	touch "$T/relay/release-up"
	wait_until "$WAIT_S" test -s "$T/relay/up-acked" || fail "5: the copy was not acknowledged"
	wait_until "$WAIT_S" test -s "$T/relay/released-up" || fail "5: the relay did not say"
	# ms from GW_B's copy reaching the relay (GW_A5's passed on with it) to its release
	late_ms=$(awk 'NR == FNR { if (FNR == 1) h = $1; next } { r = $1 }
		END { printf "%d", (r - h) * 1000 }' "$T/relay/held-up" "$T/relay/released-up")
	rm -f "$T/relay/hold-up" "$T/relay/release-up" "$T/relay/held-up" "$T/relay/up-acked"
	touch "$T/relay/release"
	exited_with txack "$ID5"
	if ! grep -q "late copy from gateway $GW_B dropped" "$T/bridge.log"; then
		# when the bridge processed the original and read the copy (its log)
		t0=$(ms_at "$T/bridge.log" "\[uplink\] device sim-0 FCnt $F ")
		t1=$(ms_at "$T/bridge.log" "gateway $GW_B online from")
		read_ms="?"; [ -z "$t0" ] || [ -z "$t1" ] || read_ms=$((t1 - t0))
		[ "$late_ms" -gt "$RETAIN_MS" ] ||
			fail "5: the copy was not known as one, although it came $late_ms ms after" \
				"the original (read $read_ms ms after it was processed; the bridge" \
				"remembers a frame $RETAIN_MS ms from the arrival of its first copy):" \
				"$(grep -E "shutting|$GW_B|frame|FCnt $F " "$T/bridge.log")"
		note "5: the copy reached the bridge $late_ms ms after the original, beyond the" \
			"$RETAIN_MS ms it remembers a frame: the host is too loaded for this try"
		return 1
	fi
	! grep -q "frame(s) heard during the shutdown's flush" "$T/bridge.log" ||
		fail "the late copy was counted: $(grep "frame(s) heard" "$T/bridge.log")"
	grep -q "gateway $GW_B heard during the shutdown: not reported ONLINE" "$T/bridge.log" ||
		fail "gateway $GW_B: $(grep "$GW_B" "$T/bridge.log")"
	# everything the bridge published is on the broker (QoS 1, acknowledged
	# before its exit): a marker published now comes after it
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t it-ready/conn -m "after-5-$1" ||
		fail "mosquitto_pub"
	wait_for "$T/conn.out" "^it-ready/conn after-5-$1\$" "$WAIT_S" || fail "no marker"
	grep -q "^gateway/aa555a0000000001/state/conn .*OFFLINE" "$T/conn.out" ||
		fail "gateway states: $(cat "$T/conn.out")"
	! grep -q "^gateway/$GW_B/" "$T/conn.out" || fail "gateway $GW_B: $(grep "$GW_B" "$T/conn.out")"
}

note "5. a late copy from a gateway first heard during the flush"
try=1
until late_copy $try; do
	[ $try -lt 3 ] || fail "5: in $try tries the copy never reached the bridge within" \
		"$RETAIN_MS ms of the original: a host too loaded to test this"
	try=$((try + 1))
done

note "6. more uplinks during the flush than the de-duplication holds open"
next_bridge 6 60
# One uplink of each device, from a gateway of their own, sent first to the
# relay, which holds them all; then the downlink whose TX_ACK keeps the
# flush open, the SIGTERM, and the 1,100 released at once. The flush lasts
# until that TX_ACK's timeout (4 s from the downlink): no simulator has to
# start and send within it on a loaded host; the relay's count of PUSH_ACKs
# says every one was read and acknowledged before the TX_ACK is released.
GW_C=aa555a00000000cc
echo "$GW_C" > "$T/relay/hold-up"
"$SIM" --server "127.0.0.1:$RELAY_PORT" --devices "$FORCED" --seed 51 --class-c --keepalive 0 \
	--quiet --stat-interval 0 --rate 5000 --count "$FORCED" --fcnt-start 70 --ack-timeout 100 \
	--gateway-eui "$GW_C" > /dev/null 2> "$T/sim-6b.err" ||
	fail "6: the simulator: $(cat "$T/sim-6b.err")"
lines_ge() { [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]; }
wait_until "$WAIT_S" lines_ge "$T/relay/held-up" "$FORCED" ||
	fail "6: the relay holds $(wc -l < "$T/relay/held-up") of $FORCED uplinks"
ID6=$(qid shutdown-flush-6)
downlink_held "$ID6"
stop_awaiting
touch "$T/relay/release-up"
wait_until "$WAIT_S" lines_ge "$T/relay/up-acked" "$FORCED" ||
	fail "6: $(cat "$T/relay/up-acked" 2> /dev/null | wc -l) of $FORCED uplinks acknowledged" \
		"during the flush; bridge: $(grep -E 'kernel dropped|shutting|frame' "$T/bridge.log")"
unprocessed "$ID6" "$FORCED" 70
# No group closes during the flush (nothing is processed) and none was open
# when it began (the uplinks were held until then): the table filled up,
# and each uplink beyond forced the oldest out early.
said="$FORCED frame(s) heard during the shutdown's flush not processed (acknowledged to their"
said="$said gateways), $((FORCED - DEDUP_OPEN)) of them forced out of the full de-duplication table"
grep -qF "$said" "$T/bridge.log" ||
	fail "6: not $((FORCED - DEDUP_OPEN)) forced out of the full table: $(grep frame "$T/bridge.log")"
rm -f "$T/relay/hold-up" "$T/relay/release-up" "$T/relay/held-up" "$T/relay/released-up" \
	"$T/relay/up-acked"

note "7. the broker comes back during the flush"
next_bridge 7 80
ID7=$(qid shutdown-flush-7)
downlink_held "$ID7"
kill -KILL "$BROKER_PID"
wait_for "$T/bridge.log" "connection to .* lost" "$WAIT_S" || fail "the bridge did not see the broker go"
stop_awaiting
start_broker "$MQTT_PORT"
wait_for "$T/bridge.log" "connected to .* \(reconnect\)" "$WAIT_S" || fail "no reconnection"
touch "$T/relay/release"
rc=0
wait "$BRIDGE_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "bridge exit status $rc"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -v -t 'lorabridge/+/state' -t 'gateway/+/state/conn' \
	-C 2 -W "$WAIT_S" > "$T/retained.txt" || fail "retained states: $(cat "$T/retained.txt")"
grep -q '^lorabridge/[^ ]*/state offline$' "$T/retained.txt" &&
	grep -q '^gateway/aa555a0000000001/state/conn .*OFFLINE' "$T/retained.txt" ||
	fail "retained states after the exit: $(cat "$T/retained.txt")"

echo "PASS: TX_ACKs at shutdown: taken and reported, or timed out and reported; states offline"
