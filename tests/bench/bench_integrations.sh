#!/bin/sh
# SPDX-License-Identifier: MIT
# CPU cost of the HTTP integrations: simulator -> lorabridge -> mosquitto,
# with one webhook (tests/integration/http_receiver.py) and one InfluxDB
# (a private influxd) enabled. Prints the bridge's CPU per uplink, all
# events delivered; never fails on a number. Usage: bench_integrations.sh [UPLINKS] [RATE]
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/integration/lib.sh"
N=${1:-5000}; RATE=${2:-1000}; DEVS=100
for c in python3 influxd; do
	command -v "$c" > /dev/null || { echo "integrations: $c not installed, skipped"; exit 0; }
done

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); WEB_PORT=$(free_port)
INFLUX_PORT=$(free_port); INFLUX_RPC=$(free_port)
start_broker "$MQTT_PORT"
python3 "$top_srcdir/tests/integration/http_receiver.py" "$WEB_PORT" "$T/web.req" 2> "$T/web.err" &
PIDS="$PIDS $!"
mkdir -p "$T/influx"
printf 'reporting-disabled = true\nbind-address = "127.0.0.1:%s"\n[meta]\n dir = "%s/meta"\n[data]\n dir = "%s/data"\n wal-dir = "%s/wal"\n query-log-enabled = false\n[http]\n bind-address = "127.0.0.1:%s"\n log-enabled = false\n[monitor]\n store-enabled = false\n' \
	"$INFLUX_RPC" "$T/influx" "$T/influx" "$T/influx" "$INFLUX_PORT" > "$T/influxdb.conf"
influxd -config "$T/influxdb.conf" > "$T/influxd.log" 2>&1 &
PIDS="$PIDS $!"
wait_port_tcp "$INFLUX_PORT" || fail "influxd did not start"
wait_port_tcp "$WEB_PORT" || fail "receiver did not start"
python3 -c 'import sys, urllib.request, urllib.parse
urllib.request.urlopen("http://127.0.0.1:%s/query" % sys.argv[1], urllib.parse.urlencode({"q": "CREATE DATABASE lorawan"}).encode())' "$INFLUX_PORT"
"$SIM" --devices "$DEVS" --seed 9 --emit-devices "$T/devices.conf" --quiet
UDP_EXTRA="rcvbuf = 4194304; rate_limit_count = 0;" \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 200;" \
	"log_level = \"notice\";" 'applications = ( { name = "sim"; codec = "cayennelpp"; } );' \
	"integrations = { http = ( { name = \"web\"; url = \"http://127.0.0.1:$WEB_PORT/\"; events = [\"up\"]; } );
	influxdb = ( { name = \"influx\"; url = \"http://127.0.0.1:$INFLUX_PORT\"; database = \"lorawan\"; } ); };"
subscribe bridge 'lorabridge/#'
start_bridge "$T/lb.conf"
cpu0=$(awk '{print $14 + $15}' "/proc/$BRIDGE_PID/stat")
t0=$(date +%s.%N)
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices "$DEVS" --seed 9 --count "$N" --rate "$RATE" \
	--payload cayennelpp --quiet 2> "$T/sim.err"
WAIT_S=120 wait_stats_cond bridge ".integrations.web.sent == $N and .integrations.influx.sent == $N" \
	|| echo "integrations: not all delivered: $(last_stats bridge | jq -c .integrations)"
t1=$(date +%s.%N)
cpu1=$(awk '{print $14 + $15}' "/proc/$BRIDGE_PID/stat")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$BRIDGE_PID/status")
awk -v n="$N" -v t0="$t0" -v t1="$t1" -v c="$((cpu1 - cpu0))" -v tck="$(getconf CLK_TCK)" -v hwm="$hwm" 'BEGIN {
	printf "integrations: %d uplinks with a decoded object, each to MQTT, one webhook (one POST each) and InfluxDB (batched), all delivered in %.2f s\n", n, t1 - t0
	printf "integrations: bridge CPU %.2f s = %.1f us per uplink, peak RSS %.1f MiB\n", c / tck, (c / tck) * 1e6 / n, hwm / 1024
}'
