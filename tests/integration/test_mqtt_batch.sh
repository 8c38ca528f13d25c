#!/bin/sh
# SPDX-License-Identifier: MIT
# The bridge's publishes leave in batches (io/mqtt.h, "Batches": the broker
# socket corked from the second message of a loop pass, uncorked before the
# loop waits). With dedup_window_ms = 0 and the default group commit
# (state.commit_ms = 200), 2,000 uplinks from 200 devices at 500/s, two
# gateways each: every `up` reaches a subscriber once, each device's in
# FCnt order. The latency from UDP arrival (the event's nsTime) to the
# subscriber and the data segments the connection sent are printed, not
# checked: timings belong to bench_e2e.sh on a quiet machine, and a socket
# left corked after a batch is what test_mqtt_client.sh counts.
. "$(dirname "$0")/lib.sh"
require mosquitto mosquitto_sub mosquitto_pub jq python3 ss

N=2000; DEVS=200; RATE=500
MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices "$DEVS" --seed 5 --emit-devices "$T/devices.conf" --quiet
UDP_EXTRA="rcvbuf = 4194304;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" \
	"$T/devices.conf" "dedup_window_ms = 0;" "log_level = \"notice\";" "$NO_MAC_DOWNLINK" "$NO_MAC_APPS"

# Receipt time (Unix seconds, ns) before each payload; the readiness marker
# comes back on the same subscription, so nothing published later is missed.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -F '%U %t %p' \
	-t 'application/+/device/+/event/up' -t it-ready/batch > "$T/up.out" 2> "$T/up.err" &
PIDS="$PIDS $!"
ready() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t it-ready/batch -m ready 2>/dev/null
	grep -q ' it-ready/batch ready$' "$T/up.out"
}
wait_until "$WAIT_S" ready || fail "subscriber not ready: $(cat "$T/up.err")"
start_bridge "$T/lb.conf"

# The bridge's data segments to the broker so far (TCP_INFO via ss).
segs() {
	ss -tinpH state established "( dport = :$MQTT_PORT )" 2>/dev/null |
		awk -v pid="pid=$BRIDGE_PID," 'index($0, pid) { want = 1; next } want { print; exit }' |
		tr ' ' '\n' | sed -n 's/^data_segs_out://p'
}
wait_until "$WAIT_S" sh -c "ss -tinpH state established '( dport = :$MQTT_PORT )' | grep -q 'pid=$BRIDGE_PID,'" ||
	fail "the bridge's MQTT connection not found"
s0=$(segs)
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices "$DEVS" --seed 5 --gateways 2 --all-gateways \
	--count "$N" --rate "$RATE" --stat-interval 0 --quiet 2> "$T/sim.err" ||
	fail "simulator: $(cat "$T/sim.err")"
wait_count "$T/up.out" '/event/up ' "$N" || fail "not every uplink reached the subscriber"
s1=$(segs)

python3 - "$T/up.out" "$N" "$DEVS" > "$T/check.out" <<'EOF' || { cat "$T/check.out"; fail "events"; }
import datetime, json, sys
path, n, devs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
last, seen, lat = {}, set(), []
for line in open(path):
    t, topic, payload = line.rstrip("\n").split(" ", 2)
    if not topic.endswith("/event/up"):
        continue
    ev = json.loads(payload)
    dev, fcnt = ev["deviceInfo"]["devEui"], ev["fCnt"]
    if (dev, fcnt) in seen:
        sys.exit(f"{dev} FCnt {fcnt} twice")
    seen.add((dev, fcnt))
    if dev in last and fcnt <= last[dev]:
        sys.exit(f"{dev}: FCnt {fcnt} after {last[dev]}")
    last[dev] = fcnt
    ns = ev["rxInfo"][0]["nsTime"].replace("Z", "+00:00")
    arrival = datetime.datetime.fromisoformat(ns).timestamp()
    lat.append((float(t) - arrival) * 1000)
lat.sort()
if len(seen) != n or len(last) != devs:
    sys.exit(f"{len(seen)} events from {len(last)} devices, want {n} from {devs}")
print(f"{len(lat)} {lat[len(lat) // 2]:.0f} {lat[len(lat) * 99 // 100]:.0f} {lat[-1]:.0f}")
EOF
read -r got p50 p99 pmax < "$T/check.out"
note "$got events, each device's in order; latency p50 $p50 ms, p99 $p99 ms, max $pmax ms;" \
	"$((s1 - s0)) data segments"
# The latency is a figure here (bench_e2e.sh measures it on a quiet
# machine): what this test checks is that every event came, once, in order.
echo "PASS"
