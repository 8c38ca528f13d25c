#!/bin/sh
# SPDX-License-Identifier: MIT
# How long the bridge's loop is held, and by what: one step of RATE
# uplinks/s for SECONDS (the bench_e2e set-up: 1,000 ABP devices, two
# gateways hearing each uplink, the default configuration, udp.rcvbuf
# 4 MiB, prebuilt datagrams), with `perf trace` attached to the bridge
# recording its epoll_wait, fdatasync and fsync calls. A hold is the time
# between the return of one epoll_wait and the next call: the loop did
# nothing else meanwhile, and datagrams gathered in the UDP socket (4 MiB
# holds about 6,500 of them: 80 ms at 40,000 uplinks/s). Prints the step's
# result (received, kernel drops, store commits), the bridge's time on a
# CPU and waiting for one (/proc/PID/schedstat), the share of the step the
# loop was held, the syncs and their total time, and the longest holds
# with the syncs inside each. Needs perf (and the right to trace: root, or
# kernel.perf_event_paranoid <= 1); prints figures, never fails on one.
# Usage: bench_holds.sh [RATE] [SECONDS] [TOP]   (40000, 3, 10); BENCH_LOG=debug
# sets the bridge's log level (the commits' and checkpoints' timings; KEEP_TMP=1 keeps it).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/integration/lib.sh"
require perf jq
RATE=${1:-40000}; SECS=${2:-3}; TOP=${3:-10}; DEVS=1000
COUNT=$((RATE * SECS))

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT" "max_queued_messages 0"
"$SIM" --devices $DEVS --seed 9 --emit-devices "$T/devices.conf" --quiet
"$SIM" --devices $DEVS --seed 9 --write-keys "$T/keys.txt" --quiet
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'application/+/device/+/event/up' \
	-F '%U' > "$T/up.out" 2> /dev/null &
PIDS="$PIDS $!"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'lorabridge/+/stats' > "$T/stats.out" 2> /dev/null &
PIDS="$PIDS $!"
sleep 0.3
UDP_EXTRA="rcvbuf = 4194304; rate_limit_count = 0;" \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "log_level = \"${BENCH_LOG:-notice}\";"
start_bridge "$T/lb.conf"

lines() { wc -l < "$1" | tr -d ' '; }
sim() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --keys "$T/keys.txt" --gateways 2 --all-gateways \
		--stat-interval 0 --ack-timeout 2000 --quiet "$@"
}
# until FILE has WANT lines, or has not grown for 3 s
until_lines() {
	_last=-1; _same=0
	while [ "$(lines "$1")" -lt "$2" ]; do
		_n=$(lines "$1")
		if [ "$_n" -eq "$_last" ]; then
			_same=$((_same + 1)); [ $_same -ge 30 ] && return 0
		else
			_same=0; _last=$_n
		fi
		sleep 0.1
	done
}
# a stats event made after this call (one a second)
next_stats() {
	_ns=$(lines "$T/stats.out")
	until_lines "$T/stats.out" $((_ns + 2))
}
stat() { tail -n 1 "$T/stats.out" | jq -r "$1"; }

# warm-up: one uplink per device
sim --count "$DEVS" --rate 2000 2>> "$T/sim.err"
until_lines "$T/up.out" "$DEVS"
next_stats
K0=$(stat .drops.udpKernel); C0=$(stat .store.commits)

perf trace -e epoll_wait,fdatasync,fsync -p "$BRIDGE_PID" -o "$T/trace.txt" 2> "$T/perf.err" &
PERF=$!
PIDS="$PIDS $PERF"
sleep 1
S0=$(cat "/proc/$BRIDGE_PID/schedstat")
T0=$(date +%s%3N)
sim --count "$COUNT" --rate "$RATE" --fcnt-start 2 --prebuild 2> "$T/step.err" || true
T1=$(date +%s%3N)
until_lines "$T/up.out" $((DEVS + COUNT))
S1=$(cat "/proc/$BRIDGE_PID/schedstat")
kill -INT "$PERF" 2> /dev/null || true
wait "$PERF" 2> /dev/null || true
next_stats
GOT=$(($(lines "$T/up.out") - DEVS))
echo "step: $COUNT uplinks asked at $RATE/s ($(sed -n 's/^sim: prebuild: .* = \([0-9]*\) uplinks\/s .*/\1/p' "$T/step.err")/s offered): $GOT received, $(($(stat .drops.udpKernel) - K0)) datagrams dropped by the kernel, $(($(stat .store.commits) - C0)) store commits"
echo "$S0 $S1" | awk '{ printf "bridge: on a CPU %.0f ms, waiting for one %.0f ms (schedstat, from the step'"'"'s start to its last uplink received)\n", ($4 - $1) / 1e6, ($5 - $2) / 1e6 }'
# perf trace lines: "TIME ( DUR ms): [comm/pid ]call(args) = ret"
awk -v from="$T0" -v to="$T1" -v top="$TOP" '
function dur(l) { return match(l, /\( *[0-9.]+ ms\)/) ? substr(l, RSTART + 1, RLENGTH - 5) + 0 : 0 }
/epoll_wait\(/ {
	s = $1 + 0
	if (pe != "") { n++; h[n] = s - pe; at[n] = pe; w[n] = what; held += s - pe }
	pe = s + dur($0); what = ""; last = s; if (first == "") first = s; next
}
/fsync\(|fdatasync\(/ {
	fd = $0; sub(/.*\(fd: /, "", fd); sub(/[,)].*/, "", fd)
	c = ($0 ~ /fdatasync/ ? "fdatasync" : "fsync"); d = dur($0)
	what = what sprintf("%s(%s) %.1f; ", c, fd, d); ns++; ts += d
}
END {
	span = last - first
	printf "loop: held %.0f of %.0f ms traced (%.0f %%), %d syncs taking %.0f ms\n", held, span, span ? 100 * held / span : 0, ns, ts
	for (k = 0; k < top && k < n; k++) {
		b = 0
		for (i = 1; i <= n; i++) if (!(i in done) && (b == 0 || h[i] > h[b])) b = i
		done[b] = 1
		printf "  hold %6.1f ms at %8.1f ms: %s\n", h[b], at[b], w[b] == "" ? "no sync" : w[b]
	}
}' "$T/trace.txt"
