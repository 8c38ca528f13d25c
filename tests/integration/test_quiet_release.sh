#!/bin/sh
# SPDX-License-Identifier: MIT
# A quiet bridge gives back what traffic grew (quiet_release_ms, here
# 300 ms) and works as before afterwards. A bridge quiet from its start
# releases once; after uplinks, the release frees the prepared keys; after a
# downlink and its TX_ACK, the TX_ACK table. Each release is logged with
# what it freed (at debug) and counted in the stats event (quietReleases). After each
# release the next uplinks verify and decrypt with keys prepared again, and
# a downlink queued over MQTT leaves in a PULL_RESP whose TX_ACK is matched
# in a TX_ACK table allocated again (its txack event). Under ASan a path
# that used what a release freed, or did not allocate it again, fails here.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 2 --seed 47 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "quiet_release_ms = 300;" \
	'log_level = "debug";' "dedup_window_ms = 0;" 'downlink = { join_cflist = "none"; tx_ack_timeout_ms = 1000; };' "$NO_MAC_APPS"
subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"

sim() { "$SIM" --server "127.0.0.1:$UDP_PORT" --devices 2 --seed 47 --quiet "$@"; }
# at debug: on a sparse site a release comes between most frames (a line
# per uplink on the journal's disk)
RELEASED='debug +\[bridge\] quiet for [0-9]+ ms: released'
released() { count_lines "$T/bridge.log" "$RELEASED"; }
ups() { count_lines "$T/all.out" '^application/sim/device/[0-9a-f]{16}/event/up '; }
txacks() { count_lines "$T/all.out" '^application/sim/device/[0-9a-f]{16}/event/txack '; }

note "quiet from the start: one release, then none without traffic"
wait_stats_cond all '.quietReleases == 1' || fail "no release of a bridge quiet from its start"
[ "$(released)" -eq 1 ] || fail "$(released) release lines, want 1: $(grep -E "$RELEASED" "$T/bridge.log")"
# quiet counted from the start, not from the clock's origin
first=$(grep -E "$RELEASED" "$T/bridge.log" | sed -E 's/.*quiet for ([0-9]+) ms.*/\1/')
[ "$first" -ge 300 ] && [ "$first" -le $((300 + WAIT_S * 1000)) ] || fail "first release after $first ms quiet"
# the real device EUIs (the simulator derives them from the seed)
EUI0=$(sed -n 's/.*dev_eui *= *"\([0-9a-fA-F]*\)".*/\1/p' "$T/devices.conf" | head -n 1 | tr 'A-F' 'a-f')
[ -n "$EUI0" ] || fail "no dev_eui in $T/devices.conf"

note "4 uplinks, then a release that frees their prepared keys"
sim --count 4 --rate 20 --keepalive 0 --fcnt-start 0 2> "$T/sim1.err" || fail "sim 1 exit $?"
wait_count "$T/all.out" '/event/up ' 4 || fail "round 1: $(ups) up events, want 4"
wait_stats_cond all '.framesReceived == 4 and .quietReleases >= 2' || fail "no release after the uplinks"
grep -qE "$RELEASED [1-9][0-9]* prepared key pair" "$T/bridge.log" ||
	fail "no release freed prepared keys: $(grep -E "$RELEASED" "$T/bridge.log")"

# round N FCNT: a downlink for device 0 queued over MQTT, 4 uplinks that
# draw it; the uplinks published, the PULL_RESP's TX_ACK made a txack event.
round_cmd() {  # round_cmd N: the N-th downlink command, queued
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "application/sim/device/$EUI0/command/down" \
		-m "{\"devEui\":\"$EUI0\",\"fPort\":3,\"data\":\"$(printf 'quiet-%d' "$1" | base64)\",\"id\":\"$(qid "quiet-$1")\"}" ||
		fail "mosquitto_pub"
	wait_stats_cond all ".downlinks.commands == $1" || fail "command $1 not queued"
}
round() {
	_ups=$(ups) _tx=$(txacks)
	round_cmd "$1"
	sim --count 4 --rate 20 --keepalive 1 --fcnt-start "$2" --linger 1500 --strict-downlinks \
		--expect-down "$T/down-$1.txt" 2> "$T/sim-$1.err" || fail "sim exit $?: $(tail -5 "$T/sim-$1.err")"
	[ "$(field downlinks_ok "$T/sim-$1.err")" -eq 1 ] || fail "round $1: downlink not received: $(cat "$T/sim-$1.err")"
	[ "$(field downlinks_bad "$T/sim-$1.err")" -eq 0 ] || fail "round $1: bad downlink"
	wait_count "$T/all.out" '/event/up ' $((_ups + 4)) || fail "round $1: uplinks not all published"
	wait_count "$T/all.out" '/event/txack ' $((_tx + 1)) || fail "round $1: no txack event"
	grep -q "$(printf 'quiet-%d' "$1" | od -An -tx1 | tr -d ' \n')" "$T/down-$1.txt" ||
		fail "round $1: payload differs: $(cat "$T/down-$1.txt")"
}

note "after the release: a downlink over MQTT, its PULL_RESP and TX_ACK, uplinks decoded"
round 1 100
wait_stats_cond all '.framesReceived == 8 and .downlinks.sent == 1 and .quietReleases >= 3' ||
	fail "no release after the downlink"
wait_until "$WAIT_S" grep -qE "$RELEASED .*, the TX_ACK table," "$T/bridge.log" ||
	fail "no release freed the TX_ACK table: $(grep -E "$RELEASED" "$T/bridge.log")"

note "after the TX_ACK table was freed: a second downlink, its TX_ACK matched again"
round 2 200
wait_stats_cond all '.framesReceived == 12 and .uplinksUnique == 12 and .downlinks.sent == 2
	and .downlinks.failed == 0 and .quietReleases >= 4' || fail "stats after round 2"
[ "$(ups)" -eq 12 ] || fail "$(ups) up events, want 12"
note "a TX_ACK awaited when the bridge falls quiet: the table kept, freed once the wait ends"
# No PULL_DATA: the PULL_RESP goes to round 2's simulator, gone, and no
# TX_ACK comes; the release 300 ms after the frames keeps the slots and the
# table, and is tried again each second until the downlink failed.
tables=$(count_lines "$T/bridge.log" "$RELEASED .*, the TX_ACK table,")
round_cmd 3
sim --count 2 --rate 20 --keepalive 0 --fcnt-start 300 2> "$T/sim-3.err" || fail "sim 3 exit $?"
wait_stats_cond all '.framesReceived == 14 and .downlinks.failed == 1' || fail "the downlink did not fail"
wait_count "$T/bridge.log" "$RELEASED .*, the TX_ACK table," $((tables + 1)) ||
	fail "the TX_ACK table kept by a release was not freed by a later one"

! grep -qE "TX_ACK table (full|out of memory)|unknown token|ERROR|runtime error" "$T/bridge.log" ||
	fail "bridge complained: $(grep -E "TX_ACK|ERROR|runtime error" "$T/bridge.log")"
note "$(released) releases: $(grep -E "$RELEASED" "$T/bridge.log" | tail -n 1)"

kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
echo "PASS"
