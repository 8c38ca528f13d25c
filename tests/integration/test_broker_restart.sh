#!/bin/sh
# SPDX-License-Identifier: MIT
# The broker goes away for 10 s while uplinks flow: every uplink still
# arrives once the broker is back (at most twice for the few publishes in
# flight at the cut, as QoS 1 allows), in order per device.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
mkdir -p "$T/broker-db"
# Persistence keeps the subscriber's session (and its queued messages)
# across the broker restart.
BROKER_EXTRA="persistence true
persistence_location $T/broker-db/
autosave_interval 1"
start_broker "$MQTT_PORT" "$BROKER_EXTRA"

"$SIM" --devices 5 --seed 11 --emit-devices "$T/devices.conf" --quiet
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 50;"
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -c -i "it-sub-$$" -v \
	-t 'application/+/device/+/event/up' -t it-ready/sub > "$T/sub.out" 2> "$T/sub.err" &
PIDS="$PIDS $!"
sub_ready sub
# the up events received, as "devEui fCnt"
received() { grep -v '^it-ready/' "$T/sub.out" | cut -d' ' -f2- | jq -r '"\(.deviceInfo.devEui) \(.fCnt)"'; }
start_bridge "$T/lb.conf"

note "400 uplinks over 20 s; broker down from t=4 s to t=14 s"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 11 --count 400 --rate 20 \
	--expect "$T/expect.txt" --quiet 2> "$T/sim.err" &
SIM_PID=$!
sleep 4
kill -TERM "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
note "broker stopped"
sleep 10
"$MOSQUITTO" -c "$T/mosquitto-$MQTT_PORT.conf" >> "$T/mosquitto-$MQTT_PORT.log" 2>&1 &
BROKER_PID=$!; PIDS="$PIDS $BROKER_PID"
wait_port_tcp "$MQTT_PORT" || fail "broker did not restart"
note "broker restarted"
wait "$SIM_PID" || fail "sim failed: $(cat "$T/sim.err")"

# Wait (60 s at most) until every uplink has arrived.
_all_arrived() { [ "$(received 2>/dev/null | sort -u | wc -l)" -ge 400 ]; }
wait_until 60 _all_arrived || true
received | sort > "$T/got.txt"
cut -d' ' -f1,2 "$T/expect.txt" | sort > "$T/want.txt"
missing=$(sort -u "$T/got.txt" | comm -23 "$T/want.txt" - | wc -l)
[ "$missing" -eq 0 ] || fail "$missing uplinks lost across the broker restart (got $(sort -u "$T/got.txt" | wc -l)/400)"
thrice=$(uniq -c "$T/got.txt" | awk '$1 > 2' | wc -l)
[ "$thrice" -eq 0 ] || fail "$thrice uplinks delivered more than twice"
dups=$(uniq -d "$T/got.txt" | wc -l)
note "all 400 uplinks arrived; $dups delivered twice (in flight at the cut)"

# Per device, fCnt arrives in increasing order (duplicates aside).
received | awk '
	{ if (($1 in last) && $2 < last[$1] && !seen[$1 " " $2]) { print "out of order: " $0; bad = 1 }
	  seen[$1 " " $2] = 1; if ($2 > last[$1]) last[$1] = $2 }
	END { exit bad }' || fail "uplinks out of order"
reconnects=$(grep -c "connected to" "$T/bridge.log" || true)
note "bridge log shows $reconnects connection(s)"
echo "PASS"
