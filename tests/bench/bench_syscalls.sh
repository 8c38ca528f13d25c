#!/bin/sh
# SPDX-License-Identifier: MIT
# System calls and TCP segments per uplink: counts, so stable on a noisy
# machine where CPU times are not. Like bench_replay.sh (default
# configuration, a real mosquitto, a QoS-1 subscriber, seed 9, 1,000 ABP
# devices, two gateways hear each uplink, a warm-up with every device's
# first uplink), then two replays: during the first the kernel's counters
# of the bridge's MQTT connection (`ss -ti`: segs_out, segs_in, bytes_sent)
# and the bridge's CPU time are read before and after; during the second
# `strace -c -f` is attached to the bridge (it slows the bridge down so
# much that it would change how writes coalesce into segments).
# Prints figures; never fails on one. Usage: bench_syscalls.sh [UPLINKS] [RATE]
# BENCH_SYSCALLS_KEEP=FILE keeps strace's output; STRACE_ARGS replaces -c
# (e.g. "-tt" for a trace, then no table is printed); BENCH_SYSCALLS_PERF=FILE
# records `perf record -g` (or BENCH_SYSCALLS_PERF_ARGS) during the first
# replay.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/integration/lib.sh"
N=${1:-20000}; RATE=${2:-2000}; DEVS=1000
command -v strace >/dev/null 2>&1 && command -v ss >/dev/null 2>&1 ||
	{ echo "syscalls: strace or ss not installed, skipped"; exit 0; }

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices "$DEVS" --seed 9 --emit-devices "$T/devices.conf" --quiet
UDP_EXTRA="rcvbuf = 4194304; rate_limit_count = 0;" \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "log_level = \"notice\";"
subscribe up 'application/+/device/+/event/up'
start_bridge "$T/lb.conf"

sim() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices "$DEVS" --seed 9 --gateways 2 \
		--all-gateways --stat-interval 0 --quiet "$@" 2> "$T/sim.err"
}
ups() { grep -c '/event/up ' "$T/up.out" || true; }
# settle WANT: until WANT `up` events arrived, or none for 3 s (a datagram
# the kernel dropped while strace slowed the bridge down never becomes one;
# the figures divide by the uplinks that arrived). Prints the count.
settle() {
	_s_last=-1; _s_same=0; _s_end=$(( $(date +%s) + 300 ))
	while :; do
		_s_n=$(ups)
		[ "$_s_n" -ge "$1" ] && break
		if [ "$_s_n" = "$_s_last" ]; then _s_same=$((_s_same + 1)); else _s_same=0; fi
		[ "$_s_same" -ge 30 ] && break
		[ "$(date +%s)" -lt "$_s_end" ] || break
		_s_last=$_s_n
		sleep 0.1
	done
	echo "$_s_n"
}
# The bridge's connection to the broker: the one whose process is the bridge.
conn() {
	ss -tinpH state established "( dport = :$MQTT_PORT )" 2>/dev/null |
		awk -v pid="pid=$BRIDGE_PID," 'index($0, pid) { want = 1; next } want { print; exit }'
}
# utime and stime of the bridge, in clock ticks.
cpu() { awk '{ sub(/.*\) /, ""); print $12, $13 }' "/proc/$BRIDGE_PID/stat"; }
# Bytes the bridge had written to the disk (the WAL, the checkpoint's copy).
disk() { awk '$1 == "write_bytes:" { print $2 }' "/proc/$BRIDGE_PID/io"; }
field() { tr ' ' '\n' | sed -n "s/^$1://p" | head -n 1; }

sim --count "$DEVS" --rate "$RATE"
wait_until 120 sh -c "[ \$(grep -c '/event/up ' '$T/up.out') -ge $DEVS ]" || fail "warm-up: $(ups) ups"
# Segments first, without strace: a traced bridge is slowed down so much
# that the broker acknowledges every write before the next one.
c0=$(conn)
t0=$(cpu)
d0=$(disk)
u0=$(ups)
if [ -n "${BENCH_SYSCALLS_PERF:-}" ]; then
	perf record -q ${BENCH_SYSCALLS_PERF_ARGS:--g} -o "$BENCH_SYSCALLS_PERF" -p "$BRIDGE_PID" > /dev/null 2>&1 &
	PERF_PID=$!
	PIDS="$PERF_PID $PIDS"
fi
sim --count "$N" --rate "$RATE" --fcnt-start 1
u1=$(settle $((u0 + N)))
if [ -n "${PERF_PID:-}" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" 2> /dev/null || true; fi
c1=$(conn)
t1=$(cpu)
d1=$(disk)
N1=$((u1 - u0))
strace ${STRACE_ARGS:--c} -f -o "$T/strace.out" -p "$BRIDGE_PID" 2> "$T/strace.err" &
STRACE_PID=$!
PIDS="$STRACE_PID $PIDS"
wait_until 30 grep -q attached "$T/strace.err" || fail "strace did not attach: $(cat "$T/strace.err")"
sim --count "$N" --rate "$RATE" --fcnt-start $((1 + (N + DEVS - 1) / DEVS))
u2=$(settle $((u1 + N)))
N2=$((u2 - u1))
kill -INT "$STRACE_PID"
wait "$STRACE_PID" 2> /dev/null || true
[ -n "${BENCH_SYSCALLS_KEEP:-}" ] && cp "$T/strace.out" "$BENCH_SYSCALLS_KEEP"

[ "$N1" -gt 0 ] && [ "$N2" -gt 0 ] || fail "no uplinks arrived ($N1, $N2)"
[ -z "${STRACE_ARGS:-}" ] && awk -v n="$N2" '
	$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
		name = $NF; calls = $4; errs = (NF == 6) ? $5 : 0
		total += calls
		line = line sprintf(" %s %.2f", name, calls / n)
		if (errs > 0) line = line sprintf(" (%.2f failing)", errs / n)
	}
	END { printf "syscalls: %d uplinks (2 receptions each), %.2f system calls per uplink:%s\n", n, total / n, line }
' "$T/strace.out"
so0=$(echo "$c0" | field segs_out); so1=$(echo "$c1" | field segs_out)
si0=$(echo "$c0" | field segs_in); si1=$(echo "$c1" | field segs_in)
b0=$(echo "$c0" | field bytes_sent); b1=$(echo "$c1" | field bytes_sent)
if [ -n "$so0" ] && [ -n "$so1" ]; then
	awk -v n="$N1" -v so="$((so1 - so0))" -v si="$((si1 - si0))" -v b="$((b1 - b0))" 'BEGIN {
		printf "segments: %.3f TCP segments sent and %.3f received per uplink on the MQTT connection, %.0f bytes sent per uplink\n", so / n, si / n, b / n }'
else
	echo "segments: the bridge's MQTT connection not found by ss"
fi
echo "$t0 $t1" | awk -v n="$N1" -v hz="$(getconf CLK_TCK)" '{
	printf "cpu: %.1f us user, %.1f us system per uplink in the same run (noisy on a shared machine)\n",
		($3 - $1) * 1e6 / hz / n, ($4 - $2) * 1e6 / hz / n }'
awk -v n="$N1" -v b="$((d1 - d0))" 'BEGIN {
	printf "disk: %.0f bytes written per uplink (/proc/PID/io write_bytes, WAL and checkpoint)\n", b / n }'
awk '/^VmRSS|^VmHWM/ { printf "%s %.1f MiB  ", $1, $2 / 1024 } END { print "" }' "/proc/$BRIDGE_PID/status" |
	sed 's/^/rss: /'
