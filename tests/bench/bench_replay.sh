#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions and allocations per uplink, stable on a noisy machine: the
# bridge runs under `valgrind --tool=callgrind` with the default
# configuration (dedup 200 ms), a real mosquitto and a QoS-1 subscriber; the
# simulator replays the same uplinks every run (seed 9, 1,000 ABP devices,
# two gateways hear each). Collection is switched on after a warm-up (the
# first uplink of every device: start-up, table growth) and off once the
# subscriber has every `up`, so the totals are the steady path alone.
# Prints a figure; never fails on one. Usage: bench_replay.sh [UPLINKS] [RATE]
# REPLAY_HTTP=1 adds an http section (the web page's server, on in the
# packaged configuration); REPLAY_HTTP=events also keeps a client of
# /events (an open page) reading during the replay.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/integration/lib.sh"
N=${1:-3000}; RATE=${2:-300}; DEVS=1000
command -v valgrind >/dev/null 2>&1 && command -v callgrind_control >/dev/null 2>&1 ||
	{ echo "replay: valgrind not installed, skipped"; exit 0; }

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); HTTP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices "$DEVS" --seed 9 --emit-devices "$T/devices.conf" --quiet
HTTP_CONF=
[ -z "${REPLAY_HTTP:-}" ] || HTTP_CONF="http = { port = $HTTP_PORT; www_dir = \"$top_srcdir/www\"; };"
UDP_EXTRA="rcvbuf = 4194304; rate_limit_count = 0;" \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "log_level = \"notice\";" \
	"$HTTP_CONF"
subscribe up 'application/+/device/+/event/up'
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$T/cg.out" \
	"$LORABRIDGE" -f -c "$T/lb.conf" > "$T/bridge.log" 2>&1 &
BRIDGE_PID=$!
PIDS="$PIDS $BRIDGE_PID"
wait_for "$T/bridge.log" "running:" 120 || fail "bridge did not start: $(cat "$T/bridge.log")"

sim() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices "$DEVS" --seed 9 --gateways 2 \
		--all-gateways --stat-interval 0 --quiet "$@" 2> "$T/sim.err"
}
ups() { grep -c '/event/up ' "$T/up.out" || true; }
sim --count "$DEVS" --rate "$RATE"
wait_until 120 sh -c "[ \$(grep -c '/event/up ' '$T/up.out') -ge $DEVS ]" || fail "warm-up: $(ups) ups"
if [ "${REPLAY_HTTP:-}" = events ]; then
	curl -sS -N "http://127.0.0.1:$HTTP_PORT/events" > "$T/events.out" 2> /dev/null &
	PIDS="$PIDS $!"
	wait_until 60 grep -q '^event: hello$' "$T/events.out" || fail "no /events hello"
fi
callgrind_control -i on "$BRIDGE_PID" > /dev/null 2>&1
sim --count "$N" --rate "$RATE" --fcnt-start 1
wait_until 300 sh -c "[ \$(grep -c '/event/up ' '$T/up.out') -ge $((DEVS + N)) ]" ||
	fail "replay: $(ups) ups, want $((DEVS + N))"
callgrind_control -i off "$BRIDGE_PID" > /dev/null 2>&1
callgrind_control -d "$BRIDGE_PID" > /dev/null 2>&1
wait_until 60 sh -c "ls '$T'/cg.out.* > /dev/null 2>&1"
f=$(ls "$T"/cg.out.* | head -n 1)
# totals: Ir; allocations: calls to malloc/calloc/realloc (cfn= lines name
# the callee, calls= lines count the calls to it; a compressed name, "(id)",
# may be spelt out first in an fn= line).
case "${REPLAY_HTTP:-}" in
'') MODE= ;; events) MODE=" (http, an /events client)" ;; *) MODE=" (http)" ;;
esac
awk -v n="$N" -v mode="$MODE" '
	/^(summary|totals):/ { ir = $2 }
	/^c?fn=/ {
		id = $1; sub(/^c?fn=/, "", id); name = ""
		if (match($0, /\) .*/)) { name = substr($0, RSTART + 2); split(id, a, ")"); nm[a[1] ")"] = name }
		else name = nm[id]
		if ($0 ~ /^cfn=/) cur = name
	}
	/^calls=/ { c = $1; sub(/^calls=/, "", c); if (cur ~ /^(malloc|calloc|realloc)(\047[0-9]+)?$/) al += c; if (cur ~ /^free(\047[0-9]+)?$/) fr += c }
	END {
		printf "replay%s: %d uplinks (2 receptions each), %.0f instructions per uplink, %.1f allocations per uplink (malloc/calloc/realloc), %.1f free\n", mode, n, ir / n, al / n, fr / n
	}' "$f"
# REPLAY_ANNOTATE=PREFIX keeps the profile (PREFIX.cg) and its inclusive and
# exclusive listings (PREFIX.incl, PREFIX.excl).
if [ -n "${REPLAY_ANNOTATE:-}" ]; then
	cp "$f" "$REPLAY_ANNOTATE.cg"
	callgrind_annotate --inclusive=yes "$f" 2>/dev/null | head -n 120 > "$REPLAY_ANNOTATE.incl"
	callgrind_annotate "$f" 2>/dev/null | head -n 80 > "$REPLAY_ANNOTATE.excl"
fi
