# Shared helpers for the integration tests (sourced, not run).
# Every test runs in its own temp dir, starts a private mosquitto on a free
# loopback port and never touches a system broker. Everything started here is
# killed on exit.

set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
LORABRIDGE=${LORABRIDGE:-$top_builddir/lorabridge}
SIM=${SIM:-$top_builddir/lorabridge-sim}
MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
T=$(mktemp -d "${TMPDIR:-/tmp}/lorabridge-it.XXXXXX")
PIDS=""

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
	if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM
. "$top_srcdir/scripts/common.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

require() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || { echo "SKIP: $c not installed"; exit 77; }
	done
}

# start_broker PORT [extra config lines...]
start_broker() {
	port=$1; shift
	conf="$T/mosquitto-$port.conf"
	write_broker_conf "$conf" "$port" "$@"
	"$MOSQUITTO" -c "$conf" > "$T/mosquitto-$port.log" 2>&1 &
	BROKER_PID=$!
	PIDS="$PIDS $BROKER_PID"
	wait_port_tcp "$port" || fail "mosquitto did not start on $port: $(cat "$T/mosquitto-$port.log")"
}

# subscribe NAME TOPIC...: background mosquitto_sub writing "topic payload" lines.
subscribe() {
	name=$1; shift
	args=""
	for t in "$@"; do args="$args -t $t"; done
	# shellcheck disable=SC2086
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v $args > "$T/$name.out" 2> "$T/$name.err" &
	PIDS="$PIDS $!"
	sleep 0.3
}

# write_config FILE UDP_PORT MQTT_PORT DEVICES_FILE [extra top-level lines...]
# (UDP_EXTRA / MQTT_EXTRA: more settings inside the udp / mqtt groups)
write_config() {
	file=$1 udp=$2 mqtt=$3 devs=$4; shift 4
	{
		echo "udp = { bind = \"127.0.0.1\"; port = $udp; ${UDP_EXTRA:-} };"
		echo "mqtt = { host = \"127.0.0.1\"; port = $mqtt; client_id = \"it-$$\"; stats_interval_s = 1; ${MQTT_EXTRA:-} };"
		echo "state_dir = \"$T/state\";"
		for l in "$@"; do echo "$l"; done
		echo "@include \"$devs\""
	} > "$file"
}

start_bridge() {
	"$LORABRIDGE" -f -c "$1" > "$T/bridge.log" 2>&1 &
	BRIDGE_PID=$!
	PIDS="$PIDS $BRIDGE_PID"
	wait_for "$T/bridge.log" "running:" 10 || fail "bridge did not start: $(cat "$T/bridge.log")"
}

# The last stats JSON the bridge published (needs a `bridge` subscription).
last_stats() {
	grep -E "^lorabridge/[^ ]+/stats " "$T/$1.out" | tail -n 1 | cut -d' ' -f2-
}
