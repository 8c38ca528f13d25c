#!/bin/sh
# SPDX-License-Identifier: MIT
# De-duplication of a backlog (bridge.c dedup_tick_bridge(), io/udp.h's read
# horizon): receptions are
# grouped by when they arrived, however late the bridge reads them. Two
# gateways hear the same 70 uplinks, the second gateway's copies arriving
# 0.3 s after the first's (two simulators with the same seed, the second
# started that much later, as over a slower backhaul), while the
# bridge is stopped (SIGSTOP: a loop held by a slow disk, a pause). When it
# goes on, it reads the backlog 64 datagrams at a time, so a frame's two
# copies often fall in different reads; every pair must still become one
# uplink with both receptions: no copy counted late, none refused as a
# retransmission or a replay. (Grouped by the loop's clock instead, every
# group closed at the end of the read that opened it, its copy in the next
# read was dropped as late, and one read more than the retention later
# opened a group of its own, refused as a retransmission.)
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
DEVS=10 N=70
start_broker "$MQTT_PORT"
"$SIM" --devices $DEVS --seed 29 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
# A window of 1 s: the second gateway's copies arrive well within it, even
# if a loaded machine stretches the 0.3 s between the simulators' starts.
UDP_EXTRA="rcvbuf = 212992;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	"dedup_window_ms = 1000;" \
	"$NO_MAC_APPS"
subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"

# sim GATEWAY_EUI ERR: one gateway sends the N uplinks at 50/s (1.4 s), small
# ones, so that both gateways' fit the socket's buffer (udp.rcvbuf above:
# the kernel's default cap, 208 KiB, doubled for its accounting, holds
# about 330 of them)
sim() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices $DEVS --seed 29 --gateways 1 \
		--gateway-eui "$1" --count $N --rate 50 --payload-size 1 --keepalive 0 --stat-interval 0 \
		--ack-timeout 100 --quiet 2> "$2"
}
field() { sed -n "s/.*[ :]$1=\([0-9]*\).*/\1/p" "$2" | tail -n 1; }
# bytes waiting in the bridge's UDP socket (for the log; "?" without ss)
queued() { ss -Hunl "sport = :$UDP_PORT" 2> /dev/null | awk '{ print $2; exit }' || echo "?"; }

note "$N uplinks from two gateways, the second's copies 0.3 s later, while the bridge is stopped"
kill -STOP "$BRIDGE_PID" || fail "SIGSTOP"
sim aa555a0000000001 "$T/sim1.err" &
SIM1=$!
sleep 0.3   # the second gateway's backhaul: its copies arrive later
sim aa555a0000000002 "$T/sim2.err" &
SIM2=$!
wait "$SIM1" || true   # unacknowledged while the bridge is stopped
wait "$SIM2" || true
echo "waiting in the socket: $(queued) bytes"
kill -CONT "$BRIDGE_PID" || fail "SIGCONT"
for f in "$T/sim1.err" "$T/sim2.err"; do
	[ "$(field push_data "$f")" -eq $N ] || fail "a simulator sent $(field push_data "$f") PUSH_DATA, want $N"
done

wait_stats_cond all ".framesReceived + .drops.udpKernel == $((2 * N)) and .uplinksPublished == $N" ||
	fail "frames or uplinks missing: $(last_stats all | jq -c '{framesReceived, uplinksPublished, drops}')"
S=$(last_stats all)
echo "after the backlog: $(echo "$S" | jq -c '{framesReceived, uplinksUnique, uplinksPublished, dedupHits, frames: .drops.frames | with_entries(select(.value > 0)), udpKernel: .drops.udpKernel}')"
[ "$(echo "$S" | jq '.drops.udpKernel')" -eq 0 ] || fail "the kernel dropped datagrams: the test needs them all"
[ "$(echo "$S" | jq '[.drops.frames[]] | add')" -eq 0 ] || fail "frames dropped: $(echo "$S" | jq -c '.drops.frames')"
[ "$(echo "$S" | jq '.dedupHits')" -eq $N ] || fail "$(echo "$S" | jq '.dedupHits') copies merged, want $N"
[ "$(echo "$S" | jq '.uplinksUnique')" -eq $N ] || fail "$(echo "$S" | jq '.uplinksUnique') unique uplinks, want $N"
# every up event lists both gateways
wait_count "$T/all.out" '/event/up ' $N || fail "up events missing"
two=$(grep '/event/up ' "$T/all.out" | cut -d' ' -f2- | jq -s '[.[] | select((.rxInfo | length) == 2)] | length')
[ "$two" -eq $N ] || fail "$two of $N up events with both receptions"

echo "PASS"
