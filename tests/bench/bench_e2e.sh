#!/bin/sh
# SPDX-License-Identifier: MIT
# End to end: simulator -> lorabridge -> mosquitto -> QoS-1 subscriber, with
# the default configuration and two receptions per uplink (1,000 ABP
# devices, two gateways hearing each). Prints figures, never fails on one:
#   broker    the broker's own QoS-1 publish limit in this run: bench_broker
#             (a plain-socket publisher, 100 un-acknowledged as the bridge)
#             publishing `up`-sized messages to the same kind of subscriber;
#   capacity  uplinks offered at that limit: uplinks/s the subscriber got,
#             the ratio to the broker's limit, bridge CPU (user, system) per
#             uplink from /proc/PID/stat;
#   overload  offered at twice the capacity (two simulators, 1,000 devices
#             each, as one cannot send that fast): delivered/s as a share of
#             the capacity, and the datagrams the kernel dropped (the stats
#             event's drops.udpKernel);
#   latency   at 1,000 uplinks/s with dedup_window_ms = 0: from the first
#             reception's arrival (rxInfo[0].nsTime) to the subscriber, p50
#             and p99, against state.commit_ms + 5 ms (an `up` waits for the
#             group commit of its counter).
# Usage: bench_e2e.sh [UPLINKS]
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/integration/lib.sh"
N=${1:-20000}; DEVS=1000
BROKER_BENCH=${BROKER_BENCH:-$top_builddir/tests/bench/bench_broker}
TCK=$(getconf CLK_TCK)
COMMIT_MS=200           # state.commit_ms's default

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices $((2 * DEVS)) --seed 9 --emit-devices "$T/devices.conf" --quiet
"$SIM" --devices $((2 * DEVS)) --seed 9 --write-keys "$T/keys.txt" --quiet
head -n "$DEVS" "$T/keys.txt" > "$T/keys1.txt"
tail -n +$((DEVS + 1)) "$T/keys.txt" > "$T/keys2.txt"

now() { date +%s.%N; }
lines() { wc -l < "$1" | tr -d ' '; }
# until FILE has WANT lines or stops growing for 3 s; prints the time then
until_lines() {
	_ul_last=-1; _ul_same=0
	while :; do
		_ul_n=$(lines "$1")
		[ "$_ul_n" -ge "$2" ] && break
		if [ "$_ul_n" -eq "$_ul_last" ]; then
			_ul_same=$((_ul_same + 1))
			[ $_ul_same -ge 30 ] && break
		else
			_ul_same=0; _ul_last=$_ul_n; _ul_t=$(now)
		fi
		sleep 0.1
	done
	if [ "$_ul_n" -ge "$2" ]; then now; else echo "$_ul_t"; fi
}
# cpu PID: "utime stime" in clock ticks
cpu() { awk '{print $14, $15}' "/proc/$1/stat"; }
# sim KEYS GATEWAY_EUI ...: 1,000 devices, two gateways hearing each uplink
sim() {
	_k=$1 _g=$2; shift 2
	"$SIM" --server "127.0.0.1:$UDP_PORT" --keys "$_k" --gateway-eui "$_g" --gateways 2 \
		--all-gateways --stat-interval 0 --quiet "$@" 2>> "$T/sim.err"
}
GW1=AA555A0000000001 GW2=AA555A0000000011
# bridge CONFIG_EXTRA...: (re)start the bridge with a fresh state dir
bridge() {
	if [ -n "${BRIDGE_PID:-}" ]; then kill "$BRIDGE_PID"; wait "$BRIDGE_PID" 2>/dev/null || true; fi
	rm -rf "$T/state"
	UDP_EXTRA="rcvbuf = 4194304; rate_limit_count = 0;" \
		write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
		"log_level = \"notice\";" "$@"
	start_bridge "$T/lb.conf"
}

# --- the bridge, warmed up: one uplink per device (tables, first MAC state)
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'application/+/device/+/event/up' \
	> "$T/up.out" 2> /dev/null &
PIDS="$PIDS $!"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'lorabridge/+/stats' > "$T/stats.out" 2> /dev/null &
PIDS="$PIDS $!"
sleep 0.3
bridge
sim "$T/keys1.txt" $GW1 --count "$DEVS" --rate 2000
sim "$T/keys2.txt" $GW2 --count "$DEVS" --rate 2000
until_lines "$T/up.out" $((2 * DEVS)) > /dev/null
SIZE=$(awk '{ n += length($0) } END { print NR ? int(n / NR) : 1000 }' "$T/up.out")
FCNT=1

# --- the broker's own limit, same payload size, same kind of subscriber
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'bench/broker/#' > "$T/broker.out" 2> /dev/null &
BSUB=$!
PIDS="$PIDS $BSUB"
sleep 0.3
t0=$(now)
"$BROKER_BENCH" 127.0.0.1 "$MQTT_PORT" "$N" "$SIZE" 100 bench/broker/up > "$T/broker.txt"
t1=$(until_lines "$T/broker.out" "$N")
kill "$BSUB" 2>/dev/null || true
B=$(awk -v n="$(lines "$T/broker.out")" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
echo "broker: $N QoS-1 publishes of $SIZE bytes to a QoS-1 subscriber: $B/s ($(cut -d= -f2 "$T/broker.txt" | tr -d ' ') acknowledged)"

# run SIMS RATE COUNT: offer COUNT uplinks at RATE from 1 or 2 simulators
# (each sends half); sets GOT, EL (s), OFF (the rate the simulators
# reached), UT and ST (CPU ticks, user and system)
run() {
	_sims=$1; shift
	base=$(lines "$T/up.out")
	c0=$(cpu "$BRIDGE_PID")
	t0=$(now)
	if [ "$_sims" -eq 1 ]; then
		sim "$T/keys1.txt" $GW1 --count "$2" --rate "$1" --fcnt-start "$FCNT"
	else
		sim "$T/keys1.txt" $GW1 --count $(($2 / 2)) --rate $(($1 / 2)) --fcnt-start "$FCNT" &
		_sp=$!
		sim "$T/keys2.txt" $GW2 --count $(($2 / 2)) --rate $(($1 / 2)) --fcnt-start "$FCNT"
		wait "$_sp"
	fi
	ts=$(now)
	OFF=$(awk -v n="$2" -v a="$t0" -v b="$ts" 'BEGIN { printf "%.0f", n / (b - a) }')
	FCNT=$((FCNT + $2 / DEVS + 1))
	t1=$(until_lines "$T/up.out" $((base + $2)))
	c1=$(cpu "$BRIDGE_PID")
	GOT=$(( $(lines "$T/up.out") - base ))
	EL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	set -- $c0 $c1
	UT=$(( $3 - $1 )); ST=$(( $4 - $2 ))
}

# --- capacity: offered at the broker's limit
run 1 "$B" "$N"
C=$(awk -v g="$GOT" -v e="$EL" 'BEGIN { printf "%.0f", g / e }')
awk -v n="$N" -v g="$GOT" -v e="$EL" -v c="$C" -v b="$B" -v o="$OFF" -v ut="$UT" -v st="$ST" -v tck="$TCK" 'BEGIN {
	printf "capacity: %d uplinks offered at %d/s (asked %d/s), %d published in %.2f s = %d uplinks/s = %.2f x the broker limit (target >= 0.9)\n", n, o, b, g, e, c, c / b
	u = ut / tck * 1e6 / (g ? g : 1); s = st / tck * 1e6 / (g ? g : 1)
	printf "cpu: bridge %.1f us per uplink (2 receptions): user %.1f us, system %.1f us (targets 25 / 10)\n", u + s, u, s
}'
echo "rss: bridge peak $(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$BRIDGE_PID/status")"

# --- overload: offered at twice the capacity
drops() { tail -n 1 "$T/stats.out" | sed -n 's/.*"udpKernel":\([0-9]*\).*/\1/p'; }
k0=$(drops); k0=${k0:-0}
run 2 $((2 * C)) "$N"
sleep 1.5                  # one more stats event (stats_interval_s = 1)
k1=$(drops); k1=${k1:-0}
awk -v n="$N" -v g="$GOT" -v e="$EL" -v c="$C" -v o="$OFF" -v k=$((k1 - k0)) 'BEGIN {
	d = g / e
	printf "overload: %d uplinks offered at %d/s (asked %d/s), %d published = %.0f uplinks/s = %.0f %% of capacity (target >= 90 %%), %d datagrams dropped by the kernel (drops.udpKernel)\n", n, o, 2 * c, g, d, 100 * d / c, k
}'

# --- latency at 1,000 uplinks/s, dedup_window_ms = 0
bridge "dedup_window_ms = 0;"
FCNT=$((FCNT + 2))
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'application/+/device/+/event/up' \
	-F '%U %p' > "$T/lat.out" 2> /dev/null &
PIDS="$PIDS $!"
sleep 0.3
L=$((N / 4 < 3000 ? N / 4 : 3000))
sim "$T/keys1.txt" $GW1 --count "$L" --rate 1000 --fcnt-start "$FCNT"
until_lines "$T/lat.out" "$L" > /dev/null
# receive time (Unix s) minus rxInfo[0].nsTime's time of day, in ms
sed -n 's/^\([0-9.]*\) .*"nsTime":"[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)+00:00".*/\1 \2 \3 \4/p' \
	"$T/lat.out" | awk '{
		tod = $1 % 86400; t = $2 * 3600 + $3 * 60 + $4; d = tod - t
		if (d < -43200) d += 86400
		printf "%.3f\n", d * 1000
	}' | sort -n > "$T/lat.ms"
awk -v cm="$COMMIT_MS" '{ v[NR] = $1 } END {
	if (NR == 0) { print "latency: no samples"; exit }
	p50 = v[int(NR * 0.50) + (NR * 0.50 > int(NR * 0.50))]; p99 = v[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))]
	printf "latency: %d uplinks at 1000/s, dedup_window_ms = 0: UDP arrival to subscriber p50 %.1f ms, p99 %.1f ms (target p99 <= state.commit_ms + 5 = %d ms)\n", NR, p50, p99, cm + 5
}' "$T/lat.ms"
