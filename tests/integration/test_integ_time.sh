#!/bin/sh
# SPDX-License-Identifier: MIT
# InfluxDB points carry their event's time: each device_uplink point's
# timestamp (ns) is the `time` of its `up` event as published on MQTT (µs;
# the nanoseconds below it tell events of one µs apart), not the moment the
# bridge handed it on: dedup_window_ms = 300 sets the two 300 ms apart. The
# InfluxDB is http_receiver.py, which records the bodies written to /write
# (answering 200: its 204 would carry a body).
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq python3
RECV="$top_srcdir/tests/integration/http_receiver.py"
COUNT=20

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); INFLUX_PORT=$(free_port)
start_broker "$MQTT_PORT"
echo '{"status": 200, "delay": 0}' > "$T/influx.ctl"
python3 "$RECV" "$INFLUX_PORT" "$T/influx.req" --control "$T/influx.ctl" 2> "$T/influx.err" &
PIDS="$PIDS $!"
wait_until "$WAIT_S" test -s "$T/influx.req.port" || fail "receiver: $(cat "$T/influx.err")"

"$SIM" --devices 5 --seed 7 --emit-devices "$T/devices.conf" || fail "sim --emit-devices"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 300;" \
	"$NO_MAC_APPS" "$NO_MAC_DOWNLINK" \
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
echo PASS
