#!/bin/sh
# SPDX-License-Identifier: MIT
# Events and commands as ChirpStack v4 writes and reads them:
#  1. an `up` event has ChirpStack's deviceInfo (tenant, application and
#     device-profile ids as UUIDs, deviceClassEnabled), regionConfigId, and
#     times that Python's datetime.fromisoformat() reads (before 3.11 too:
#     "+00:00", never "Z"); each rxInfo has ChirpStack's metadata
#     (region_config_id, region_common_name), and a location only where its
#     gateway's position is known: from a `stat` of gateway ...01, none for
#     ...02, which never sent one;
#  2. a downlink command with an id that is not a UUID is refused with a
#     `log` event saying why, and nothing is queued;
#  3. fPort given as a string ("10") is accepted and the downlink delivered;
#  4. a queue item whose expiresAt passed is dropped with a `log` EXPIRED at
#     the device's next uplink, never sent;
#  5. a command on ChirpStack's own topic (the application's UUID in place
#     of its name) written with the proto's field names (dev_eui, f_port)
#     is queued; one giving a field under both names is refused;
#  6. a clean stop (SIGINT) leaves every gateway the bridge reported ONLINE
#     OFFLINE, retained, as read back after the bridge exited.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss python3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
N_DEV=4
"$SIM" --devices $N_DEV --seed 71 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
# Only the downlinks the test queues: no DevStatusReq, no NewChannelReq of
# the network's own (left out of what this test counts).
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	'downlink = { join_cflist = "none"; };' \
	'applications = ( { name = "sim"; status_interval_h = 0; } );'
subscribe all 'application/#' 'lorabridge/#' 'gateway/+/state/conn' 'gateway/+/event/stats'
start_bridge "$T/lb.conf"

sim() { "$SIM" --server "127.0.0.1:$UDP_PORT" --gateways 2 --devices $N_DEV --seed 71 --keepalive 1 \
	--quiet --strict-downlinks "$@"; }
events() {
	tail -n "+${2:-1}" "$T/all.out" | grep -E "^application/[^/]+/device/[0-9a-f]{16}/event/$1 " \
		| cut -d' ' -f2-
}
lines() { wc -l < "$T/all.out"; }
eui() { printf '5a000047%08x' "$1"; }
topic() { echo "application/sim/device/$(eui "$1")/command/down"; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@" || fail "mosquitto_pub $*"; }
_last_stats_is() { last_stats all | jq -e "$1" > /dev/null 2>&1; }
wait_stats() { wait_until "$WAIT_S" _last_stats_is "$1"; }
# log_with CODE FROM_LINE: log events of that code since the line.
log_with() { events log "$2" | jq -c --arg c "$1" 'select(.code == $c)'; }
_has_log() { [ -n "$(log_with "$1" "$2")" ]; }

note "1. up events as ChirpStack writes them"
# Gateway ...01 reports its position (PUSH_DATA with a `stat` only); the
# simulator's gateways then send none (their first is 30 s away).
python3 - "$UDP_PORT" <<'EOF' || fail "stat datagram not sent"
import socket, sys
stat = b'{"stat":{"time":"2024-05-14 09:12:47 GMT","lati":52.3676,"long":4.9041,"alti":12,' \
    b'"rxnb":0,"rxok":0,"rxfw":0,"ackr":100.0,"dwnb":0,"txnb":0}}'
head = bytes([2, 0x12, 0x34, 0]) + bytes.fromhex("aa555a0000000001")
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.sendto(head + stat, ("127.0.0.1", int(sys.argv[1])))
EOF
wait_for "$T/all.out" '^gateway/aa555a0000000001/event/stats .*"location"' 10 \
	|| fail "no stats event with the position"
sim --rate 20 --count 8 2> "$T/sim1.err" || fail "sim exit $?: $(tail -5 "$T/sim1.err")"
wait_count "$T/all.out" '/event/up ' 8 || fail "$(grep -c '/event/up ' "$T/all.out") up events, want 8"
# Round robin: 4 uplinks through each gateway, one reception each.
events up | jq -s -e '[.[].rxInfo[]] | length == 8
	and all(.metadata == {region_config_id: "eu868", region_common_name: "EU868"})
	and ([.[] | select(.gatewayId == "aa555a0000000001")] | length == 4
		and all(.location == {latitude: 52.3676, longitude: 4.9041, altitude: 12}))
	and ([.[] | select(.gatewayId == "aa555a0000000002")] | length == 4
		and all(has("location") | not))' > /dev/null \
	|| fail "rxInfo location/metadata: $(events up | jq -c '[.rxInfo[]]')"
# The position's text as ChirpStack writes it (serde_json: an f64 altitude "12.0").
n=$(events up | grep -c '"location":{"latitude":52.3676,"longitude":4.9041,"altitude":12.0}')
[ "$n" -eq 4 ] || fail "rxInfo location text in $n up events, want 4: $(events up | head -n 1)"
events up | head -n 1 > "$T/up.json"
uuid='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
jq -e --arg u "$uuid" '(.deviceInfo | (.tenantId | test($u)) and .tenantName == "lorabridge"
	and (.applicationId | test($u)) and .applicationName == "sim"
	and (.deviceProfileId | test($u)) and (.deviceProfileName | startswith("EU868 LoRaWAN 1.0."))
	and .deviceClassEnabled == "CLASS_A" and (.tags | type) == "object")
	and .regionConfigId == "eu868" and (.dr | type) == "number" and (.fPort | type) == "number"
	and (.data | type) == "string" and (.fCnt | type) == "number"' "$T/up.json" > /dev/null \
	|| fail "up event not shaped as ChirpStack's: $(cat "$T/up.json")"
# The applicationId without a configured one: UUIDv5 of the name under the
# documented namespace (README, MQTT events).
want_app=$(python3 -c 'import uuid; print(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL,
	"urn:lorabridge:application"), "sim"))')
[ "$(jq -r .deviceInfo.applicationId "$T/up.json")" = "$want_app" ] \
	|| fail "applicationId $(jq -r .deviceInfo.applicationId "$T/up.json"), want $want_app"
# Every time of the event: what Python < 3.11 reads, as ChirpStack prints it.
jq -r '.time, .rxInfo[].nsTime' "$T/up.json" > "$T/times.txt"
python3 - "$T/times.txt" <<'EOF' || fail "times not in ChirpStack's form: $(cat "$T/times.txt")"
import re, sys
from datetime import datetime
for t in open(sys.argv[1]).read().split():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?\+00:00", t), t
    assert datetime.fromisoformat(t).utcoffset().total_seconds() == 0, t
EOF
note "up: deviceInfo, regionConfigId, times, rxInfo location and metadata as ChirpStack's"

note "2. a downlink id that is not a UUID is refused"
m=$(lines)
pub -t "$(topic 0)" -m "{\"devEui\":\"$(eui 0)\",\"fPort\":2,\"data\":\"AQI=\",\"id\":\"job-1\"}"
wait_until "$WAIT_S" _has_log INVALID_ID "$m" || fail "no INVALID_ID log: $(events log "$m")"
log_with INVALID_ID "$m" | jq -e '.level == "ERROR" and (.description | test("not a UUID"))
	and .deviceInfo.devEui == "'"$(eui 0)"'"' > /dev/null || fail "log: $(log_with INVALID_ID "$m")"
wait_stats '.downlinks.commands == 0' || fail "a refused command was queued: $(last_stats all)"

note "3. fPort as a string, 4. an expired item dropped"
ID_OK=$(qid string-fport) ID_EXP=$(qid expired)
pub -t "$(topic 1)" -m "{\"devEui\":\"$(eui 1)\",\"fPort\":\"10\",\"data\":\"-_8\",\"id\":\"$ID_OK\"}"
past=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%S.5Z)
pub -t "$(topic 2)" -m "{\"devEui\":\"$(eui 2)\",\"fPort\":3,\"data\":\"AQI=\",\"id\":\"$ID_EXP\",
	\"expiresAt\":\"$past\"}"
wait_stats '.downlinks.commands == 2' || fail "commands not queued: $(last_stats all)"
m=$(lines)
sim --rate 20 --count 8 --fcnt-start 100 --linger 1500 --expect-down "$T/down.txt" \
	2> "$T/sim2.err" || fail "sim exit $?: $(tail -5 "$T/sim2.err")"
[ "$(sed -n 's/.*downlinks_bad=\([0-9]*\).*/\1/p' "$T/sim2.err" | tail -n 1)" -eq 0 ] \
	|| fail "bad downlinks: $(tail -3 "$T/sim2.err")"
grep -qE "^$(eui 1) [0-9]+ 10 fbff " "$T/down.txt" \
	|| fail "fPort \"10\" downlink not delivered: $(cat "$T/down.txt")"
! grep -q "^$(eui 2) " "$T/down.txt" || fail "the expired item was sent: $(cat "$T/down.txt")"
wait_until "$WAIT_S" _has_log EXPIRED "$m" || fail "no EXPIRED log: $(events log "$m")"
log_with EXPIRED "$m" | jq -e --arg id "$ID_EXP" '.context.queueItemId == $id
	and .deviceInfo.devEui == "'"$(eui 2)"'"' > /dev/null || fail "log: $(log_with EXPIRED "$m")"
events txack "$m" | jq -e --arg id "$ID_OK" 'select(.queueItemId == $id)
	| (.downlinkId | type) == "number" and .txInfo.frequency > 0' > /dev/null \
	|| fail "txack of the fPort-string item: $(events txack "$m")"
note "fPort \"10\" delivered with URL-safe data; the expired item dropped with EXPIRED"

note "5. ChirpStack's command topic (application UUID), proto field names"
m=$(lines)
pub -t "application/$want_app/device/$(eui 3)/command/down" \
	-m "{\"dev_eui\":\"$(eui 3)\",\"f_port\":4,\"data\":\"AQI=\"}"
wait_stats '.downlinks.commands == 3' || fail "command on the UUID topic not queued: $(last_stats all)"
pub -t "application/$want_app/device/$(eui 3)/command/down" \
	-m "{\"fPort\":4,\"f_port\":4,\"data\":\"AQI=\"}"
wait_until "$WAIT_S" _has_log INVALID_FIELD "$m" || fail "no INVALID_FIELD log: $(events log "$m")"
log_with INVALID_FIELD "$m" | jq -e '.deviceInfo.devEui == "'"$(eui 3)"'"' > /dev/null \
	|| fail "log: $(log_with INVALID_FIELD "$m")"
wait_stats '.downlinks.commands == 3' || fail "a refused command was queued: $(last_stats all)"
note "queued from application/$want_app/...; fPort with f_port refused (INVALID_FIELD)"

note "6. a clean stop (SIGINT) leaves every gateway OFFLINE"
grep -E '^gateway/[0-9a-f]{16}/state/conn .*"ONLINE"' "$T/all.out" | cut -d/ -f2 | sort -u \
	> "$T/online.txt"
[ "$(wc -l < "$T/online.txt")" -eq 2 ] || fail "gateways reported ONLINE: $(cat "$T/online.txt")"
kill -INT "$BRIDGE_PID"
wait "$BRIDGE_PID" || fail "bridge exit status $?"
# Read back after the bridge exited: the broker keeps what it acknowledged.
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'gateway/+/state/conn' --retained-only -v -W 2 \
	2> /dev/null > "$T/retained.txt" || true
while read -r gw; do
	grep -qE "^gateway/$gw/state/conn .*\"state\":\"OFFLINE\"" "$T/retained.txt" \
		|| fail "gateway $gw not OFFLINE after SIGINT: $(cat "$T/retained.txt")"
done < "$T/online.txt"
! grep -q ONLINE "$T/retained.txt" || fail "a retained ONLINE stayed: $(cat "$T/retained.txt")"
note "every gateway reported ONLINE is OFFLINE (retained) after SIGINT"
echo "PASS"
