#!/bin/sh
# SPDX-License-Identifier: MIT
# HTTP integrations end to end: the real daemon, a real mosquitto, python3
# webhook receivers (http_receiver.py) and a private influxd (Debian's
# influxdb package, on free ports in the test's directory).
#  1. 1,000 uplinks reach the webhook exactly once with the JSON published
#     on MQTT, and InfluxDB as device_uplink / device_frmpayload_data_*
#     points; the webhook receiver is stopped for 10 s in the middle.
#  2. A webhook with queue_limit 100 whose receiver is away all along gets
#     the newest 100, and the other 900 are counted as dropped.
#  3. A receiver that answers after 5 s: MQTT latency stays as before.
#  4. 400 answers: a `log` event each, no retry.
#  5. TLS: a self-signed server is refused without its CA, used with it.
#  6. Every query of contrib/grafana-dashboard.json returns the points.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss python3 influxd openssl
RECV="$top_srcdir/tests/integration/http_receiver.py"
DASHBOARD="$top_srcdir/contrib/grafana-dashboard.json"

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
WEB_PORT=$(free_port); TLS_PORT=$(free_port)
INFLUX_PORT=$(free_port); INFLUX_RPC=$(free_port)
start_broker "$MQTT_PORT"

# The small queue's receiver comes minutes later: until then its port is
# held by a socket bound (SO_REUSEADDR) but not listening, so connections
# are refused as with nobody there, no other test can be given the port,
# and the receiver (http.server binds with SO_REUSEADDR) can take it over.
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); time.sleep(86400)' \
	> "$T/small.hold" 2> "$T/small.hold.err" &
PIDS="$PIDS $!"
wait_until "$WAIT_S" test -s "$T/small.hold" || fail "port not held: $(cat "$T/small.hold.err")"
SMALL_PORT=$(cat "$T/small.hold")

# receiver NAME PORT [args]: a receiver writing $T/NAME.req, pid in RECV_PID
receiver() {
	_n=$1 _p=$2; shift 2
	rm -f "$T/$_n.req.port"
	python3 "$RECV" "$_p" "$T/$_n.req" --control "$T/$_n.ctl" "$@" 2> "$T/$_n.err" &
	RECV_PID=$!
	PIDS="$PIDS $RECV_PID"
	wait_until "$WAIT_S" test -s "$T/$_n.req.port" || fail "receiver $_n: $(cat "$T/$_n.err")"
}
reqs() { _r=$(count_lines "$T/$1.req" "$2"); echo "${_r:-0}"; }
reqs_ge() { [ "$(reqs "$1" .)" -ge "$2" ]; }

# --- influxd ---------------------------------------------------------------
mkdir -p "$T/influx"
cat > "$T/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$INFLUX_RPC"
[meta]
  dir = "$T/influx/meta"
[data]
  dir = "$T/influx/data"
  wal-dir = "$T/influx/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
EOF
influxd -config "$T/influxdb.conf" > "$T/influxd.log" 2>&1 &
PIDS="$PIDS $!"
wait_port_tcp "$INFLUX_PORT" || fail "influxd did not start: $(tail -5 "$T/influxd.log")"
# influxq QUERY: InfluxQL against the test's database, JSON out.
influxq() {
	python3 - "$INFLUX_PORT" "$1" <<'EOF'
import sys, urllib.parse, urllib.request
q = urllib.parse.urlencode({"db": "lorawan", "q": sys.argv[2]}).encode()
print(urllib.request.urlopen("http://127.0.0.1:%s/query" % sys.argv[1], data=q).read().decode())
EOF
}
wait_until "$WAIT_S" sh -c "$(command -v python3) -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:$INFLUX_PORT/ping\")' 2>/dev/null" \
	|| fail "influxd does not answer"
influxq "CREATE DATABASE lorawan" > /dev/null || fail "CREATE DATABASE"
influx_count() { influxq "$1" | jq '[.results[0].series[0].values[0][1]] | .[0] // 0'; }

# --- TLS: a self-signed certificate for 127.0.0.1 ---------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/tls.key" -out "$T/tls.pem" \
	> "$T/openssl.log" 2>&1 || fail "openssl: $(cat "$T/openssl.log")"

# --- the bridge -----------------------------------------------------------
"$SIM" --devices 10 --seed 12 --emit-devices "$T/devices.conf" || fail "sim --emit-devices"
echo '{"status": 200, "delay": 0}' > "$T/web.ctl"
# No MAC requests of the network's own (status_interval_h = 0, NO_MAC_DOWNLINK):
# the webhook's events are counted exactly. The socket's buffer holds the
# sim's 1,000 datagrams (udp.rcvbuf): a bridge starved by a loaded machine
# reads them late instead of the kernel dropping some (not what this tests).
UDP_EXTRA="rcvbuf = 4194304;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 50;" \
	'applications = ( { name = "sim"; codec = "cayennelpp"; status_interval_h = 0; } );' \
	"$NO_MAC_DOWNLINK" \
	"integrations = {
	http = ( { name = \"web\"; url = \"http://127.0.0.1:$WEB_PORT/hook/{dev_eui}\";
		   events = [\"up\", \"log\"]; retry_max_ms = 1000; timeout_ms = 8000; },
		 { name = \"small\"; url = \"http://127.0.0.1:$SMALL_PORT/\"; events = [\"up\"];
		   queue_limit = 100; retry_max_ms = 500; parallel = 1; },
		 { name = \"tls_bad\"; url = \"https://127.0.0.1:$TLS_PORT/\"; events = [\"up\"];
		   queue_limit = 10; retry_max_ms = 1000; },
		 { name = \"tls_good\"; url = \"https://127.0.0.1:$TLS_PORT/\"; events = [\"up\"];
		   ca_file = \"$T/tls.pem\"; } );
	influxdb = ( { name = \"influx\"; url = \"http://127.0.0.1:$INFLUX_PORT\";
		       database = \"lorawan\"; batch_size = 200; retry_max_ms = 1000; } );
};"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "config does not validate"
receiver web "$WEB_PORT"; WEB_PID=$RECV_PID
receiver tls "$TLS_PORT" --cert "$T/tls.pem" --key "$T/tls.key"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -F '%U %t %p' -t 'application/#' \
	-t 'lorabridge/#' -t it-ready/all > "$T/all.out" 2> "$T/all.err" &
PIDS="$PIDS $!"
sub_ready_ts() { grep -q ' it-ready/all ready$' "$T/all.out" 2>/dev/null; }
sub_ping() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t it-ready/all -m ready && sleep 0.2 && sub_ready_ts
}
wait_until "$WAIT_S" sub_ping || fail "subscriber not ready: $(cat "$T/all.err")"
start_bridge "$T/lb.conf"
# stats lines without the timestamp column, for lib.sh's helpers
stats_cond() {
	wait_until "${2:-$WAIT_S}" sh -c "grep -E '^[0-9.]+ lorabridge/[^ ]+/stats ' '$T/all.out' |
		cut -d' ' -f3- | jq -e -n '[inputs | select($1)] | length > 0' > /dev/null 2>&1"
}
last_stats_ts() { grep -E '^[0-9.]+ lorabridge/[^ ]+/stats ' "$T/all.out" | tail -n 1 | cut -d' ' -f3-; }

# --- 1 and 2: 1,000 uplinks, the webhook away for 10 s ----------------------
note "1000 uplinks at 100/s; the webhook receiver is stopped for 10 s meanwhile"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 10 --seed 12 --count 1000 --rate 100 \
	--payload cayennelpp --quiet 2> "$T/sim.err" &
SIM_PID=$!
wait_until "$WAIT_S" reqs_ge web 50 || fail "webhook got nothing: $(tail -5 "$T/bridge.log")"
kill -TERM "$WEB_PID"; wait "$WEB_PID" 2>/dev/null || true
stopped_at=$(reqs web .)
T_STOP=$(date +%s)
ten_s_passed() { [ "$(date +%s)" -ge $((T_STOP + 10)) ]; }
wait_until 20 ten_s_passed || true
receiver web "$WEB_PORT"
note "receiver back after 10 s; it had $stopped_at requests"
wait "$SIM_PID" || fail "sim failed: $(cat "$T/sim.err")"
stats_cond '.uplinksPublished == 1000' || fail "uplinks not all published: $(last_stats_ts)"
stats_cond '.integrations.web.sent == 1000 and .integrations.web.queueLength == 0' 60 \
	|| fail "webhook did not catch up: $(last_stats_ts | jq -c .integrations)"
# exactly once, with the bytes published on MQTT
grep -E '^[0-9.]+ application/sim/device/[0-9a-f]{16}/event/up ' "$T/all.out" | cut -d' ' -f3- \
	| sort > "$T/mqtt-up.txt"
grep -E '^/hook/[0-9a-f]{16}\?event=up	' "$T/web.req" | cut -f2- | sort > "$T/web-up.txt"
[ "$(wc -l < "$T/web-up.txt")" -eq 1000 ] || fail "webhook got $(wc -l < "$T/web-up.txt") up events"
cmp -s "$T/mqtt-up.txt" "$T/web-up.txt" || fail "webhook bodies differ from MQTT: $(diff "$T/mqtt-up.txt" "$T/web-up.txt" | head -4)"
bad=$(grep -E '^/hook/' "$T/web.req" | awk -F'\t' '{ split($1, p, "[/?]")
	if (!index($2, "\"devEui\":\"" p[3] "\"")) bad++ } END { print bad + 0 }')
[ "$bad" -eq 0 ] || fail "$bad webhook URLs do not name the event's device"
retried=$(last_stats_ts | jq .integrations.web.retried)
[ "$retried" -gt 0 ] || fail "the stop caused no retry"
note "1000 up events at the webhook once each, as on MQTT ($retried retried)"

stats_cond '.integrations.influx.sent == 1000' || fail "InfluxDB: $(last_stats_ts | jq -c .integrations.influx)"
n=$(influx_count 'SELECT count("value") FROM "device_uplink"')
[ "$n" -eq 1000 ] || fail "InfluxDB has $n device_uplink points"
n=$(influx_count 'SELECT count("value") FROM "device_frmpayload_data_temperatureSensor_1"')
[ "$n" -eq 1000 ] || fail "InfluxDB has $n temperature points: $(influxq 'SHOW MEASUREMENTS')"
influxq 'SHOW TAG KEYS FROM "device_uplink"' | jq -e '[.results[0].series[0].values[][0]] |
	index("application_name") and index("dev_eui") and index("device_name") and index("dr")
	and index("frequency")' > /dev/null || fail "device_uplink tags: $(influxq 'SHOW TAG KEYS')"
note "1000 device_uplink points and their decoded values in InfluxDB"

# 2: the small queue's receiver was never there: start it now.
receiver small "$SMALL_PORT"
stats_cond '.integrations.small.queueLength == 0 and .integrations.small.sent == 100' \
	|| fail "small: $(last_stats_ts | jq -c .integrations.small)"
last_stats_ts | jq -e '.integrations.small.dropped == 900' > /dev/null \
	|| fail "small: drops $(last_stats_ts | jq -c .integrations.small)"
[ "$(reqs small .)" -eq 100 ] || fail "small receiver got $(reqs small .)"
# the oldest were dropped, so the last up of each of the 10 devices is among the 100
grep -E '^[0-9.]+ application/sim/device/[0-9a-f]{16}/event/up ' "$T/all.out" | cut -d' ' -f3- \
	| jq -r '[.deviceInfo.devEui, .fCnt] | @tsv' | sort -k1,1 -k2,2n \
	| awk '{ last[$1] = $2 } END { for (d in last) print d, last[d] }' > "$T/last-fcnt.txt"
[ "$(wc -l < "$T/last-fcnt.txt")" -eq 10 ] || fail "last FCnts: $(cat "$T/last-fcnt.txt")"
while read -r dev fcnt; do
	grep -q "\"devEui\":\"$dev\".*\"fCnt\":$fcnt," "$T/small.req" \
		|| fail "small: the last up of $dev (FCnt $fcnt) is not among the 100 delivered"
done < "$T/last-fcnt.txt"
note "queue_limit 100: 100 delivered, 900 dropped and counted"

# 5: TLS
last_stats_ts | jq -e '.integrations.tls_good.sent == 1000 and .integrations.tls_bad.sent == 0
	and .integrations.tls_bad.retried > 0' > /dev/null \
	|| fail "TLS: $(last_stats_ts | jq -c '.integrations | {tls_good, tls_bad}')"
grep -qiE 'tls_bad: .*(certificate|SSL)' "$T/bridge.log" || fail "no certificate error in the log"
note "TLS: the self-signed server is refused, and used with its CA in ca_file"

# --- 3: a receiver that answers after 5 s -----------------------------------
# Latency of an up event: its arrival at the subscriber minus rxInfo nsTime
# (when the bridge received the frame); a normal run is the baseline.
latencies() { # FROM_LINE: max latency in ms of the up events after that line
	tail -n "+$1" "$T/all.out" | python3 -c '
import datetime, json, sys
worst = 0
for line in sys.stdin:
    ts, topic, body = line.rstrip("\n").split(" ", 2)
    if "/event/up" not in topic:
        continue
    t = datetime.datetime.fromisoformat(json.loads(body)["rxInfo"][0]["nsTime"]).timestamp()
    worst = max(worst, int((float(ts) - t) * 1000))
print(worst)'
}
from=$(($(wc -l < "$T/all.out") + 1))
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 10 --seed 12 --fcnt-start 200 --count 30 \
	--rate 10 --payload cayennelpp --quiet 2> "$T/sim.err" || fail "sim: $(cat "$T/sim.err")"
stats_cond '.uplinksPublished == 1030' || fail "baseline uplinks"
base=$(latencies "$from")
echo '{"status": 200, "delay": 5}' > "$T/web.ctl"
from=$(($(wc -l < "$T/all.out") + 1))
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 10 --seed 12 --fcnt-start 300 --count 30 \
	--rate 10 --payload cayennelpp --quiet 2> "$T/sim.err" || fail "sim: $(cat "$T/sim.err")"
stats_cond '.uplinksPublished == 1060' || fail "uplinks with the slow receiver"
slow=$(latencies "$from")
last_stats_ts | jq -e '.integrations.web.queueLength > 0' > /dev/null \
	|| fail "the receiver was not slow: $(last_stats_ts | jq -c .integrations.web)"
note "MQTT latency: at most $base ms normally, $slow ms with a 5 s webhook"
# A loop held by one answer would add its 5 s; a loaded machine (a normal
# run of seconds) adds noise of a second or more, so 4 s is the bound.
[ "$slow" -lt $((base + 4000)) ] || fail "MQTT delayed by the slow webhook: $slow ms (normal $base ms)"
echo '{"status": 200, "delay": 0}' > "$T/web.ctl"
stats_cond '.integrations.web.sent == 1060 and .integrations.web.queueLength == 0' 60 \
	|| fail "slow webhook did not catch up: $(last_stats_ts | jq -c .integrations.web)"

# --- 4: 400 answers ------------------------------------------------------------
# The queue is empty (above): retried changes from here only by this phase.
retried_400=$(last_stats_ts | jq .integrations.web.retried)
echo '{"status": 400, "delay": 0}' > "$T/web.ctl"
before=$(reqs web 'event=up')
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 12 --fcnt-start 400 --count 5 \
	--rate 10 --payload cayennelpp --quiet 2> "$T/sim.err" || fail "sim: $(cat "$T/sim.err")"
stats_cond '.integrations.web.failed >= 5' || fail "400s: $(last_stats_ts | jq -c .integrations.web)"
wait_count "$T/all.out" '/event/log .*"code":"INTEGRATION".*integration web refused the event: HTTP 400' 5 \
	|| fail "no INTEGRATION log events"
# the log events themselves went to the webhook, were refused, and made no more
stats_cond '.integrations.web.failed == 10' || fail "log events: $(last_stats_ts | jq -c .integrations.web)"
[ "$(reqs web 'event=up')" -eq $((before + 5)) ] || fail "400s retried: $(reqs web 'event=up') - $before"
[ "$(count_lines "$T/all.out" '"code":"INTEGRATION"')" -eq 5 ] || fail "log events fed themselves"
last_stats_ts | jq -e '.integrations.web.retried == '"$retried_400" > /dev/null \
	|| fail "400 retried: $(last_stats_ts | jq .integrations.web.retried) - $retried_400"
note "400: 5 log events, nothing retried"

# --- 6: the Grafana dashboard's queries -------------------------------------
# This test's devices get no DevStatusReq (status_interval_h = 0), so no
# `status` events: the points ChirpStack writes for one (its influxdb.rs
# test, our test_influx_line) go in as the bridge would write them.
python3 - "$INFLUX_PORT" <<'EOF' || fail "status points not written"
import sys, urllib.request
lines = (b"device_status_battery_level,application_name=sim,dev_eui=0102030405060708,"
         b"device_name=sim-status value=48.430000\n"
         b"device_status_margin,application_name=sim,dev_eui=0102030405060708,"
         b"device_name=sim-status value=10i\n")
urllib.request.urlopen("http://127.0.0.1:%s/write?db=lorawan" % sys.argv[1], lines)
EOF
python3 - "$DASHBOARD" "$INFLUX_PORT" > "$T/dash.txt" 2>&1 <<'EOF' || fail "dashboard: $(cat "$T/dash.txt")"
import json, sys, urllib.parse, urllib.request
dash = json.load(open(sys.argv[1]))
n = 0
def run(q):
    body = urllib.parse.urlencode({"db": "lorawan", "q": q}).encode()
    return json.load(urllib.request.urlopen("http://127.0.0.1:%s/query" % sys.argv[2], body))
for v in dash["templating"]["list"]:
    res = run(v["query"])["results"][0]
    if not res.get("series"):
        sys.exit("variable %s: %s -> %s" % (v["name"], v["query"], res))
    n += 1
for panel in dash["panels"]:
    for t in panel.get("targets", []):
        q = t["query"].replace("$timeFilter", "time > now() - 1h").replace("$__interval", "10s")
        q = q.replace("$device", ".*").replace("$application", ".*")
        res = run(q)["results"][0]
        vals = [v for s in res.get("series", []) for row in s["values"] for v in row[1:] if v is not None]
        if "error" in res or not vals:
            sys.exit("panel %r: %s -> %s" % (panel["title"], q, res))
        n += 1
print("%d queries answered with data" % n)
EOF
note "$(cat "$T/dash.txt")"

# --- 7: a clean stop hands the queued events over --------------------------
# A webhook answering after 1 s holds 8 up events when SIGTERM comes: the
# bridge delivers them before it exits (within its 5 s shutdown deadline),
# while the endpoints that never answer are reported as not delivered.
echo '{"status": 200, "delay": 1}' > "$T/web.ctl"
before=$(reqs web 'event=up')
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 8 --seed 12 --fcnt-start 500 --count 8 \
	--rate 50 --payload cayennelpp --quiet 2> "$T/sim.err" || fail "sim: $(cat "$T/sim.err")"
stats_cond '.uplinksPublished >= 1073 and .integrations.web.queueLength > 0' \
	|| fail "no queued webhook events: $(last_stats_ts | jq -c .integrations.web)"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
[ "$(reqs web 'event=up')" -eq $((before + 8)) ] ||
	fail "stop: the webhook got $(( $(reqs web 'event=up') - before )) of 8 queued events"
grep -q 'web: .* not delivered at shutdown' "$T/bridge.log" && fail "web events left behind"
grep -q 'tls_bad: .* not delivered at shutdown' "$T/bridge.log" ||
	fail "the dead endpoint's events not reported at shutdown"
note "SIGTERM: the 8 queued webhook events delivered before the exit"
echo "PASS"
