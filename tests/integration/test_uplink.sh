#!/bin/sh
# SPDX-License-Identifier: MIT
# End to end: simulated gateways -> lorabridge -> real mosquitto -> subscriber.
# Checks every decrypted payload arrives exactly once, de-duplication across
# gateways, replays and bad MICs refused and counted, malformed datagrams
# counted without disturbing valid traffic, gateway and bridge topics.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 8 --seed 7 --emit-devices "$T/devices.conf" || fail "sim --emit-devices"
# Every reception as a gateway `up` event (not the default: "unknown").
MQTT_EXTRA='gateway_frames = "all";' \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 100;"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "generated config does not validate"

subscribe all 'application/#' 'gateway/#' 'lorabridge/#'
start_bridge "$T/lb.conf"

note "200 uplinks from 8 devices heard by 2 gateways, with replays, bad MICs, malformed datagrams"
"$SIM" --server "127.0.0.1:$UDP_PORT" --gateways 2 --all-gateways --devices 8 --seed 7 \
	--count 200 --rate 100 --replay 20 --bad-mic 25 --malformed 7 \
	--expect "$T/expect.txt" --quiet 2> "$T/sim.err" || fail "sim failed: $(cat "$T/sim.err")"
cat "$T/sim.err"
# every frame through the dedup window, its up published, and a stats event after it
wait_drained all || fail "no stats event after the uplinks"

up() { grep -E '^application/sim/device/[0-9a-f]{16}/event/up ' "$T/all.out" | cut -d' ' -f2-; }
expected=$(wc -l < "$T/expect.txt")
[ "$expected" -eq 200 ] || fail "sim wrote $expected expected lines, wanted 200"

# Every expected (devEui, fCnt, payload) published exactly once.
up | jq -r '"\(.deviceInfo.devEui) \(.fCnt) \(.data | @base64d | explode | map(. + 256 | tostring) | join(","))"' \
	| sort > "$T/got.txt"
while read -r eui fcnt hex; do
	dec=$(echo "$hex" | sed 's/../&\n/g' | grep . | while read -r b; do printf '%d,' $((0x$b + 256)); done)
	echo "$eui $fcnt ${dec%,}"
done < "$T/expect.txt" | sort > "$T/want.txt"
diff "$T/want.txt" "$T/got.txt" > "$T/diff.txt" || fail "published uplinks differ from sent: $(head -20 "$T/diff.txt")"
note "all 200 payloads decrypted and published exactly once"

# De-duplication: each uplink lists both gateways' receptions.
bad=$(up | jq -r '.rxInfo | length' | grep -vc '^2$' || true)
[ "$bad" -eq 0 ] || fail "$bad uplinks do not list 2 receptions"
up | head -n 1 | jq -e '.deviceInfo.applicationName == "sim" and (.devAddr | test("^[0-9a-f]{8}$"))
	and .txInfo.frequency > 0 and .txInfo.modulation.lora.spreadingFactor >= 7
	and (.deduplicationId | test("^[0-9a-f-]{36}$")) and .rxInfo[0].crcStatus == "CRC_OK"' >/dev/null \
	|| fail "up event fields: $(up | head -n 1)"

# Gateway topics: every reception visible, state retained ONLINE, stats.
gw_up=$(grep -cE '^gateway/aa555a000000000[12]/event/up ' "$T/all.out" || true)
[ "$gw_up" -ge 400 ] || fail "gateway up events: $gw_up, want >= 400"
grep -qE '^gateway/aa555a0000000001/state/conn \{.*"state":"ONLINE"' "$T/all.out" || fail "no ONLINE state"
grep -qE '^lorabridge/it-[0-9]+/state online' "$T/all.out" || fail "no bridge online state"

# Counters: injected faults counted with their reason.
injected_replay=$(sed -n 's/.*injected_replays=\([0-9]*\).*/\1/p' "$T/sim.err")
injected_mic=$(sed -n 's/.*injected_bad_mic=\([0-9]*\).*/\1/p' "$T/sim.err")
injected_bad=$(sed -n 's/.*injected_malformed=\([0-9]*\).*/\1/p' "$T/sim.err")
stats=$(last_stats all)
[ -n "$stats" ] || fail "no bridge stats published"
echo "$stats" | jq -e --argjson r "$injected_replay" --argjson m "$injected_mic" \
	'.uplinksPublished == 200 and .drops.frames.micFailure == $m
	 and (.drops.frames.replay + .drops.frames.retransmission) == $r
	 and .gatewaysOnline == 2 and .dedupHits >= 200
	 and .store.syncs >= 1 and .store.syncsOnLoop <= .store.syncs
	 and .store.syncMaxMs >= 0 and .store.syncOnLoopMaxMs >= 0' >/dev/null \
	|| fail "stats do not match injected faults (replay=$injected_replay mic=$injected_mic): $stats"
dropped=$(echo "$stats" | jq '[.drops.datagrams[]] | add // 0')
[ "$dropped" -eq "$injected_bad" ] || fail "malformed datagrams counted $dropped, injected $injected_bad"
logs=$(grep -cE '^application/sim/device/[0-9a-f]{16}/event/log .*"code":"UPLINK_MIC"' "$T/all.out" || true)
[ "$logs" -ge "$injected_mic" ] || fail "UPLINK_MIC log events: $logs < $injected_mic"
note "faults counted: replay=$injected_replay mic=$injected_mic malformed=$injected_bad"

kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
wait_count "$T/all.out" '^lorabridge/it-[0-9]+/state offline' 1 || fail "no offline state at shutdown"
echo "PASS"
