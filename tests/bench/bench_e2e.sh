#!/bin/sh
# SPDX-License-Identifier: MIT
# End-to-end throughput: simulator -> lorabridge -> mosquitto -> subscriber.
# Prints figures (uplinks/s, bridge CPU per uplink, peak RSS); never fails on
# a number. Usage: bench_e2e.sh [UPLINKS] [RATE] [DEVICES]
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/integration/lib.sh"
N=${1:-20000}; RATE=${2:-4000}; DEVS=${3:-1000}

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices "$DEVS" --seed 9 --emit-devices "$T/devices.conf" --quiet
UDP_EXTRA="rcvbuf = 4194304; rate_limit_count = 0;" \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 200;" "log_level = \"notice\";"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'application/+/device/+/event/up' > "$T/sub.out" &
PIDS="$PIDS $!"
sleep 0.3
start_bridge "$T/lb.conf"
cpu0=$(awk '{print $14 + $15}' "/proc/$BRIDGE_PID/stat")
t0=$(date +%s.%N)
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices "$DEVS" --seed 9 --gateways 2 --all-gateways \
	--count "$N" --rate "$RATE" --quiet 2> "$T/sim.err"
i=0
while [ "$(wc -l < "$T/sub.out")" -lt "$N" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
t1=$(date +%s.%N)
got=$(wc -l < "$T/sub.out")
cpu1=$(awk '{print $14 + $15}' "/proc/$BRIDGE_PID/stat")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$BRIDGE_PID/status")
tck=$(getconf CLK_TCK)
awk -v n="$N" -v got="$got" -v t0="$t0" -v t1="$t1" -v c="$((cpu1 - cpu0))" -v tck="$tck" -v hwm="$hwm" -v devs="$DEVS" 'BEGIN {
	el = t1 - t0
	printf "e2e: %d devices, 2 gateways each, %d uplinks offered, %d published in %.2f s = %.0f uplinks/s\n", devs, n, got, el, got / el
	printf "e2e: bridge CPU %.2f s = %.1f us per uplink (2 receptions each), peak RSS %.1f MiB\n", c / tck, (c / tck) * 1e6 / (got ? got : 1), hwm / 1024
}'
cat "$T/sim.err"
