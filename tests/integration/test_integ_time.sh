#!/bin/sh
# SPDX-License-Identifier: MIT
# InfluxDB points carry their event's time: each device_uplink point's
# timestamp (ns) is the `time` of its `up` event as published on MQTT (µs;
# the nanoseconds below it tell events of one µs apart), not the moment the
# bridge handed it on: dedup_window_ms = 300 sets the two 300 ms apart. The
# InfluxDB is http_receiver.py, which records the bodies written to /write
# (answering 200: its 204 would carry a body). /metrics has the integration's
# counters as the stats event does, lorabridge_integration_retried_total included.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq python3 curl
RECV="$top_srcdir/tests/integration/http_receiver.py"
COUNT=20

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); INFLUX_PORT=$(free_port); HTTP_PORT=$(free_port)
start_broker "$MQTT_PORT"
echo '{"status": 200, "delay": 0}' > "$T/influx.ctl"
python3 "$RECV" "$INFLUX_PORT" "$T/influx.req" --control "$T/influx.ctl" 2> "$T/influx.err" &
PIDS="$PIDS $!"
wait_until "$WAIT_S" test -s "$T/influx.req.port" || fail "receiver: $(cat "$T/influx.err")"

"$SIM" --devices 5 --seed 7 --emit-devices "$T/devices.conf" || fail "sim --emit-devices"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 300;" \
	"$NO_MAC_APPS" "$NO_MAC_DOWNLINK" \
	"http = { port = $HTTP_PORT; www_dir = \"$top_srcdir/www\"; };" \
	"integrations = { influxdb = ( { name = \"influx\"; url = \"http://127.0.0.1:$INFLUX_PORT\";
	   database = \"lorawan\"; batch_size = 5; } ); };"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "configuration refused"
subscribe bridge 'lorabridge/#'
subscribe events '#'
start_bridge "$T/lb.conf"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 7 --count "$COUNT" --rate 5 \
	--quiet 2> "$T/sim.err" || fail "sim: $(tail -3 "$T/sim.err")"
wait_drained bridge ".uplinksPublished == $COUNT" || fail "not every uplink was published"
wait_stats_cond bridge ".integrations.influx.sent == $COUNT" ||
	fail "InfluxDB did not get every uplink: $(last_stats bridge | jq -c .integrations)"

# dev_eui fCnt time_µs, from MQTT and from the points; the two must match.
grep -E '^[^ ]+/event/up ' "$T/events.out" | cut -d' ' -f2- | python3 -c '
import sys, json, datetime
for line in sys.stdin:
    e = json.loads(line)
    t = datetime.datetime.strptime(e["time"].replace("Z", "+00:00"), "%Y-%m-%dT%H:%M:%S.%f%z")
    us = (t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(microseconds=1)
    print(e["deviceInfo"]["devEui"], e["fCnt"], us)' | sort > "$T/mqtt.times"
python3 -c '
import re, sys
for rec in open(sys.argv[1]):
    for line in rec.split("\t", 1)[1].rstrip("\n").split("\\n"):
        if line.startswith("device_uplink,"):
            eui = re.search(r",dev_eui=([0-9a-f]+)", line).group(1)
            fcnt = re.search(r" f_cnt=([0-9]+)i", line).group(1)
            ts = int(line.rsplit(" ", 1)[1])
            print(eui, fcnt, ts // 1000)' "$T/influx.req" | sort > "$T/influx.times"
[ "$(wc -l < "$T/mqtt.times")" -eq "$COUNT" ] || fail "$(wc -l < "$T/mqtt.times") up events on MQTT"
diff "$T/mqtt.times" "$T/influx.times" > "$T/times.diff" ||
	fail "point times differ from the events' (mqtt <, influx >): $(head -6 "$T/times.diff")"
note "$COUNT device_uplink points carry their up event's time"

curl -sS "http://127.0.0.1:$HTTP_PORT/metrics" > "$T/metrics.txt" || fail "GET /metrics"
python3 "$(dirname "$0")/prom_check.py" lorabridge_integration_sent_total \
	lorabridge_integration_retried_total lorabridge_integration_failed_total \
	lorabridge_integration_dropped_total lorabridge_integration_queue \
	< "$T/metrics.txt" > "$T/samples.txt" || fail "/metrics: $(tail -3 "$T/metrics.txt")"
S=$(last_stats bridge)
for k in sent retried failed dropped; do
	m=$(awk -v k="lorabridge_integration_${k}_total{integration=\"influx\"}" \
		'$1 == k { print $2 }' "$T/samples.txt")
	[ "$m" = "$(echo "$S" | jq ".integrations.influx.$k")" ] ||
		fail "/metrics $k '$m', the stats event $(echo "$S" | jq -c .integrations.influx)"
done
note "/metrics: sent, retried, failed and dropped as in the stats event"
echo PASS
