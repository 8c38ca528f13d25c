#!/bin/sh
# SPDX-License-Identifier: MIT
# The web page with a large fleet (README "Web page"): with N configured
# devices (lorabridge-sim --emit-devices), before and after one uplink from
# every device, it prints for GET /api/devices and for the /events `hello`
# snapshot:
#   - the wall time until the whole answer arrived, and its bytes;
#   - the longest /healthz answer while it was being sent (how long the one
#     event loop was kept from anything else);
#   - the bridge's RSS before it and its peak RSS (VmHWM, set back before
#     each answer) during it: what the answer allocated at its peak.
# Never fails on a number. Usage: bench_web.sh [N] [RATE]
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/integration/lib.sh"
N=${1:-100000}; RATE=${2:-5000}; SEED=13
require "$MOSQUITTO" mosquitto_sub jq awk curl

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); HTTP_PORT=$(free_port)
URL="http://127.0.0.1:$HTTP_PORT"
start_broker "$MQTT_PORT"

kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$BRIDGE_PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# probe FILE: /healthz times (s), one a line, until FILE.stop exists.
probe() {
	while [ ! -e "$1.stop" ]; do
		curl -sS -o /dev/null -w '%{time_total}\n' "$URL/healthz" >> "$1" || true
	done
}

# measure WHAT CMD...: run CMD (it fetches the answer into $T/answer) with
# the probe running; print the figures.
measure() {
	what=$1; shift
	rm -f "$T/probe" "$T/probe.stop"
	# the peak set back to the RSS now (proc(5), clear_refs "5"), so each
	# answer's peak is its own, not an earlier one's
	echo 5 > "/proc/$BRIDGE_PID/clear_refs" 2>/dev/null || true
	hwm0=$(kib VmHWM)
	probe "$T/probe" &
	PROBE_PID=$!
	t0=$(date +%s%3N)
	"$@" || fail "$what"
	t1=$(date +%s%3N)
	: > "$T/probe.stop"
	wait "$PROBE_PID"
	worst=$(sort -n "$T/probe" | tail -n 1)
	echo "$what: $((t1 - t0)) ms, $(wc -c < "$T/answer") bytes; longest /healthz meanwhile" \
		"$(awk -v s="${worst:-0}" 'BEGIN { printf "%.0f", s * 1000 }') ms" \
		"($(wc -l < "$T/probe") probes); RSS $(mib "$hwm0"), peak $(mib "$(kib VmHWM)")"
}

get_devices() { curl -sS -o "$T/answer" "$URL/api/devices"; }
# The stream up to the blank line that ends `hello` (after `retry`'s),
# read in large blocks (a line-oriented reader would be slower than the
# bridge).
get_hello() {
	curl -sS -N --max-time 600 "$URL/events" 2>/dev/null | python3 -c '
import sys
out, ends, tail = [], 0, b""
while ends < 2:
    block = sys.stdin.buffer.read1(1 << 20)
    if not block:
        break
    out.append(block)
    ends += (tail + block).count(b"\n\n")
    tail = block[-1:]
data = b"".join(out)
end = data.find(b"\n\n", data.find(b"\n\n") + 2)
sys.stdout.buffer.write(data[:end + 2] if end >= 0 else data)
' > "$T/answer" || true
	grep -q '^event: hello$' "$T/answer"
}

"$SIM" --devices "$N" --seed $SEED --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
UDP_EXTRA="rcvbuf = 4194304;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	"log_level = \"notice\";" \
	'applications = ( { name = "sim"; status_interval_h = 0; } );' \
	"http = { port = $HTTP_PORT; www_dir = \"$top_srcdir/www\"; };"
subscribe up 'lorabridge/+/stats'
start_bridge "$T/lb.conf"
wait_drained up || fail "no stats after the start"

measure "GET /api/devices, $N devices never heard" get_devices
jq -e --argjson n "$N" '(.devices | length) == $n' "$T/answer" > /dev/null || fail "not $N devices"
measure "hello, $N devices never heard" get_hello

"$SIM" --server "127.0.0.1:$UDP_PORT" --devices "$N" --seed $SEED --count "$N" \
	--rate "$RATE" --quiet 2> "$T/sim.err" || fail "sim: $(tail -3 "$T/sim.err")"
wait_drained up || fail "bridge not drained"
measure "GET /api/devices, $N devices after one uplink each" get_devices
jq -e --argjson n "$N" '(.devices | length) == $n' "$T/answer" > /dev/null || fail "not $N devices"
measure "hello, $N devices after one uplink each" get_hello
sed -n 4p "$T/answer" | sed 's/^data: //' | jq -e --argjson n "$N" '(.devices | length) == $n' \
	> /dev/null || fail "hello: not $N devices"
