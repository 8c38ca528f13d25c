#!/bin/sh
# SPDX-License-Identifier: MIT
# The demo: install what is needed, build, then run end to end on this
# machine: a private mosquitto on a free loopback port, lorabridge, and the
# gateway simulator (2 gateways, 5 ABP devices, one uplink every 2 s; 2
# OTAA devices). The ABP devices' payloads are decoded by the built-in
# CayenneLPP codec, the OTAA devices' by the JavaScript codec
# etc/codecs/lpp-th.js; their decoded values are printed live until Ctrl-C,
# and shown on the bridge's web page, whose URL is printed first
# (http://127.0.0.1:8080/, or another free port when 8080 is taken).
# Nothing is installed into the system beyond Debian packages; everything
# runs from build/ (the page's files from www/).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh" --demo
"$top/scripts/build.sh"
. "$top/scripts/common.sh"

B="$top/build"
T=$(mktemp -d "${TMPDIR:-/tmp}/lorabridge-demo.XXXXXX")
PIDS=""
cleanup() {
	trap - EXIT INT TERM
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo; echo "demo stopped; logs were in $T (removed)"; rm -rf "$T"
}
trap cleanup EXIT INT TERM

MQTT_PORT=$(free_port)
UDP_PORT=$(free_port)
HTTP_PORT=8080
if ss -Htln 2>/dev/null | awk '{print $4}' | grep -qE '[:.]8080$'; then
	HTTP_PORT=$(free_port)
fi
write_broker_conf "$T/mosquitto.conf" "$MQTT_PORT"
mosquitto -c "$T/mosquitto.conf" > "$T/mosquitto.log" 2>&1 &
PIDS="$PIDS $!"
wait_port_tcp "$MQTT_PORT" || { cat "$T/mosquitto.log"; exit 1; }

"$B/lorabridge-sim" --devices 5 --seed 42 --application demo --emit-devices "$T/devices.conf" --quiet
"$B/lorabridge-sim" --otaa --devices 2 --seed 43 --application demo-js --emit-devices "$T/otaa.conf" --quiet
# Two device lists in one: libconfig cannot @include into a list.
{ sed '$d' "$T/devices.conf" | sed '$s/}$/},/'; grep '^  ' "$T/otaa.conf" | sed 's/name = "sim-/name = "otaa-/'; echo ');'; } > "$T/all.conf"
# The web page's downlink form needs a password: "demo", stored as its hash.
HTTP_HASH=$(echo demo | "$B/lorabridge" passwd)
cat > "$T/lorabridge.conf" <<CONF
udp = { bind = "127.0.0.1"; port = $UDP_PORT; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; client_id = "demo"; };
state_dir = "$T/state";
applications = ( { name = "demo"; codec = "cayennelpp"; },
                 { name = "demo-js"; codec = "js"; codec_script = "$top/etc/codecs/lpp-th.js"; } );
http = { bind = "127.0.0.1"; port = $HTTP_PORT; www_dir = "$top/www"; password = "$HTTP_HASH"; };
@include "$T/all.conf"
CONF
"$B/lorabridge" -f -c "$T/lorabridge.conf" 2> "$T/lorabridge.log" &
PIDS="$PIDS $!"
wait_for "$T/lorabridge.log" "running:" 10 || { cat "$T/lorabridge.log"; exit 1; }

wait_port_tcp "$HTTP_PORT" 10 || { cat "$T/lorabridge.log"; exit 1; }

echo "lorabridge demo: broker 127.0.0.1:$MQTT_PORT, bridge UDP 127.0.0.1:$UDP_PORT"
echo "the web page:  http://127.0.0.1:$HTTP_PORT/   (password for queueing downlinks: demo)"
echo "watch it yourself too:  mosquitto_sub -p $MQTT_PORT -t 'application/#' -t 'gateway/+/state/#' -v"
echo "Ctrl-C to stop."
echo

mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t 'application/+/device/+/event/+' \
	-F '{"topic":"%t","event":%p}' | jq --unbuffered -r '
	if (.topic | endswith("/event/join")) then
		"\(.event.time)  \(.event.deviceInfo.deviceName)  joined (OTAA): devAddr=\(.event.devAddr)"
	elif (.topic | endswith("/event/up")) then
		.event as $e | "\($e.time)  \($e.deviceInfo.deviceName)  devEui=\($e.deviceInfo.devEui)  fCnt=\($e.fCnt)  fPort=\($e.fPort)  object=\($e.object // {} | tojson)  gateways=\($e.rxInfo | length)  rssi=\([$e.rxInfo[].rssi] | max)"
	elif (.topic | endswith("/event/txack")) then
		.event as $e | "\($e.time)  \($e.deviceInfo.deviceName)  txack: fCntDown=\($e.fCntDown) via \($e.gatewayId) queue item \($e.queueItemId)"
	elif (.topic | endswith("/event/status")) then
		.event as $e | "\($e.time)  \($e.deviceInfo.deviceName)  status: margin=\($e.margin) dB  battery=\(if $e.externalPowerSource then "external" elif $e.batteryLevelUnavailable then "unknown" else "\($e.batteryLevel * 10 | round / 10)%" end)"
	elif (.topic | endswith("/event/log")) then
		"\(.event.time)  \(.event.deviceInfo.deviceName)  log: \(.event.code) \(.event.description)"
	else
		"\(.event.time)  \(.event.deviceInfo.deviceName)  \(.topic | split("/") | last): \(.event | del(.deviceInfo) | tojson)"
	end' &
PIDS="$PIDS $!"
sleep 0.5

"$B/lorabridge-sim" --server "127.0.0.1:$UDP_PORT" --gateways 2 --all-gateways --devices 5 --seed 42 \
	--rate 0.5 --payload cayennelpp --quiet 2> "$T/sim.log" &
SIM_PID=$!
PIDS="$PIDS $SIM_PID"
"$B/lorabridge-sim" --server "127.0.0.1:$UDP_PORT" --gateway-eui AA555A0000000010 --otaa \
	--devices 2 --seed 43 --rate 0.2 --payload cayennelpp --quiet 2> "$T/sim-otaa.log" &
PIDS="$PIDS $!"
wait "$SIM_PID" || true
