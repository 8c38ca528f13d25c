#!/bin/sh
# SPDX-License-Identifier: MIT
# A large fleet: memory and start-up of the bridge with many ABP devices,
# configured as `lorabridge-sim --emit-devices` writes them. For each fleet
# size it prints:
#   - start-up time (launch to the "running:" log line) with no state
#     directory, and again with the state directory the first run left
#     (every device's session, counters and ledgers stored);
#   - RSS (VmRSS) idle after the start, its private part (RssAnon: the
#     rest is shared library pages), and the peak (VmHWM);
#   - one uplink from every device at RATE datagrams/s through one gateway:
#     how many reached the subscriber, drops.udpKernel, RSS after them;
#   - RSS idle after the uplinks: once the bridge has been quiet long
#     enough to release what the traffic grew (quiet_release_ms, 5 s after
#     the last frame; daemon/bridge.c quiet_tick), proved by a stats event
#     made a second after that.
# Never fails on a number. Usage: bench_fleet.sh [SIZES] [RATE]
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/integration/lib.sh"
SIZES=${1:-1000 100000}; RATE=${2:-5000}; SEED=13
QUIET_S=5   # quiet_release_ms (its default) in seconds
require "$MOSQUITTO" mosquitto_sub jq awk

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"

# kib FIELD: a /proc/PID/status figure of the bridge, in KiB.
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$BRIDGE_PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
# rss: "RSS x MiB (private y MiB), peak z MiB" of the bridge now.
rss() { echo "RSS $(mib "$(kib VmRSS)") (private $(mib "$(kib RssAnon)")), peak $(mib "$(kib VmHWM)")"; }

# timed_start CONF: start the bridge; START_MS = the ms until "running:".
timed_start() {
	: > "$T/bridge.log"   # emptied here: the child's redirection may come after the first grep
	t0=$(date +%s%3N)
	"$LORABRIDGE" -f -c "$1" >> "$T/bridge.log" 2>&1 &
	BRIDGE_PID=$!
	PIDS="$PIDS $BRIDGE_PID"
	BRIDGE_T0_MS=$t0
	i=0
	until grep -q "running:" "$T/bridge.log"; do
		kill -0 "$BRIDGE_PID" 2>/dev/null || fail "bridge exited: $(tail -3 "$T/bridge.log")"
		i=$((i + 1)); [ $i -lt 12000 ] || fail "bridge did not start"
		sleep 0.01
	done
	START_MS=$(($(date +%s%3N) - t0))
	for f in "$T"/*.out; do
		[ -e "$f" ] || continue
		echo "$(basename "$f" .out) $(($(wc -l < "$f") + 1))"
	done > "$T/bridge-start.lines"
}

stop_bridge() {
	kill -TERM "$BRIDGE_PID"
	wait "$BRIDGE_PID" || fail "bridge exit status $?"
}

for N in $SIZES; do
	rm -rf "$T/state" "$T"/*.out
	subscribe "up$N" 'application/+/device/+/event/up' 'lorabridge/+/stats'
	"$SIM" --devices "$N" --seed $SEED --emit-devices "$T/devices.conf" --quiet ||
		fail "sim --emit-devices"
	UDP_EXTRA="rcvbuf = 4194304;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" \
		"$T/devices.conf" "log_level = \"notice\";"

	timed_start "$T/lb.conf"
	wait_drained "up$N" || fail "no stats after the start"
	echo "fleet $N: start-up without state $START_MS ms; idle $(rss)"

	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices "$N" --seed $SEED --count "$N" \
		--rate "$RATE" --quiet 2> "$T/sim.err" || fail "sim: $(tail -3 "$T/sim.err")"
	# Drained: every frame received is published or counted as dropped,
	# and nothing waits in the outbox or the MQTT queue.
	wait_drained "up$N" '.uplinksPublished + ([.drops.frames[]] | add) >= .uplinksUnique
		and .mqtt.outboxDepth == 0 and .mqtt.queueDepth == 0' || fail "bridge not drained"
	got=$(count_lines "$T/up$N.out" '/event/up ')
	last=$(bridge_stats "up$N" | tail -n 1)
	kdrops=$(printf '%s' "$last" | jq -r '.drops.udpKernel // 0')
	fdrops=$(printf '%s' "$last" | jq -r '[.drops.frames | to_entries[] | select(.value > 0)
		| "\(.key) \(.value)"] | join(", ") | if . == "" then "none" else . end')
	echo "fleet $N: one uplink each at $RATE/s: $got of $N reached the subscriber" \
		"($(awk -v g="$got" -v n="$N" 'BEGIN { printf "%.1f", 100 * g / n }') %)," \
		"drops.udpKernel $kdrops, drops.frames: $fdrops; $(rss)"
	# Every frame came before the drain: quiet from then at the latest.
	quiet=$(( ($(date +%s%3N) - BRIDGE_T0_MS + 999) / 1000 + QUIET_S + 1 ))
	wait_stats_cond "up$N" ".uptimeS >= $quiet" $((QUIET_S + WAIT_S)) ||
		fail "no stats event after the quiet time"
	echo "fleet $N: idle after the uplinks (quiet ${QUIET_S} s): $(rss)"
	stop_bridge

	timed_start "$T/lb.conf"
	wait_drained "up$N" || fail "no stats after the restart"
	echo "fleet $N: start-up with their stored state $START_MS ms; idle $(rss)"
	stop_bridge
done
