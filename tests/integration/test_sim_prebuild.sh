#!/bin/sh
# SPDX-License-Identifier: MIT
# lorabridge-sim --prebuild (the benchmarks' load generator): every PUSH_DATA
# built first, then replayed with sendmmsg. The bridge must receive and
# publish every uplink of a replay exactly once, with both receptions, and
# acknowledge every datagram (valid MICs, the payloads --expect lists);
# options that need the network's answers are refused. That the frames are
# those of a live run is tests/unit/test_sim_prebuild's.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq

DEVS=50 N=2000
MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices $DEVS --seed 11 --emit-devices "$T/devices.conf" || fail "sim --emit-devices"
# A large socket buffer: under a sanitizer build on a loaded machine the
# bridge may be slower than the replay, and this test counts every frame.
UDP_EXTRA="rcvbuf = 4194304;" \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 100;"

note "options the prebuilt frames cannot honour are refused"
for bad in "" "--count 10 --otaa" "--count 10 --confirmed" "--count 10 --replay 5" \
	"--count 10 --duration 2" "--count 10 --print" "--count 10 --expect-down $T/x"; do
	# shellcheck disable=SC2086
	if "$SIM" --prebuild $bad --quiet 2> "$T/refused.err"; then
		fail "--prebuild $bad was accepted"
	else
		rc=$?
	fi
	[ "$rc" -eq 2 ] || fail "--prebuild $bad: exit $rc, want 2 (usage)"
	grep -q -- "--prebuild" "$T/refused.err" || fail "--prebuild $bad: no reason: $(cat "$T/refused.err")"
done

subscribe all 'application/+/device/+/event/up' 'lorabridge/#'
start_bridge "$T/lb.conf"

note "$N uplinks of $DEVS devices, heard by 2 gateways, replayed at 1000/s"
"$SIM" --server "127.0.0.1:$UDP_PORT" --gateways 2 --all-gateways --devices $DEVS --seed 11 \
	--count $N --rate 1000 --prebuild --stat-interval 0 --ack-timeout 20000 --strict-acks \
	--expect "$T/expect.txt" --quiet 2> "$T/sim.err" || fail "sim failed: $(cat "$T/sim.err")"
cat "$T/sim.err"
field() { sed -n "s/^sim: sent_uplinks.* $1=\([0-9]*\).*/\1/p" "$T/sim.err"; }
sent=$(sed -n 's/^sim: sent_uplinks=\([0-9]*\) .*/\1/p' "$T/sim.err")
[ "$sent" = "$N" ] || fail "sent_uplinks=$sent, want $N"
[ "$(field push_data)" = $((2 * N)) ] || fail "push_data=$(field push_data), want $((2 * N))"
[ "$(field push_ack)" = $((2 * N)) ] || fail "push_ack=$(field push_ack), want $((2 * N))"
for f in missing_acks bad_tokens late_acks bad_acks send_errors refused stat_sent; do
	[ "$(field $f)" = 0 ] || fail "$f=$(field $f), want 0"
done
grep -qE "^sim: prebuild: built $N uplinks \($((2 * N)) datagrams, [0-9]+ bytes\) in [0-9.]+ s; sent $N in [0-9.]+ s = [0-9]+ uplinks/s \(asked 1000/s\); cpu while sending: user [0-9.]+ us, system [0-9.]+ us per uplink\$" \
	"$T/sim.err" || fail "no prebuild report line"

wait_count "$T/all.out" '^application/sim/device/[0-9a-f]{16}/event/up ' $N ||
	fail "not every uplink was published"
wait_drained all || fail "no stats event after the uplinks"
up() { grep -E '^application/sim/device/[0-9a-f]{16}/event/up ' "$T/all.out" | cut -d' ' -f2-; }
got=$(up | wc -l)
[ "$got" -eq $N ] || fail "$got up events, want $N (exactly one per uplink)"
# Each uplink once, with its payload, both gateways' receptions.
up | jq -r '"\(.deviceInfo.devEui) \(.fCnt) \(.data | @base64d | explode | map(tostring) | join(","))"' |
	sort > "$T/got.txt"
# the payload's hex as decimal bytes, as jq writes them
awk '{
	out = ""
	for (i = 1; i < length($3); i += 2) {
		b = (index("0123456789abcdef", substr($3, i, 1)) - 1) * 16 + index("0123456789abcdef", substr($3, i + 1, 1)) - 1
		out = out (i > 1 ? "," : "") b
	}
	print $1, $2, out
}' "$T/expect.txt" | sort > "$T/want.txt"
[ "$(wc -l < "$T/want.txt")" -eq $N ] || fail "--expect listed $(wc -l < "$T/want.txt") uplinks, want $N"
diff "$T/want.txt" "$T/got.txt" > "$T/diff.txt" || fail "published differ from built: $(head "$T/diff.txt")"
two=$(up | jq -r '.rxInfo | length' | grep -c '^2$' || true)
[ "$two" -eq $N ] || fail "$two of $N uplinks list 2 receptions"
last_stats all | jq -e '.drops.udpKernel == 0' > /dev/null ||
	fail "the kernel dropped datagrams: $(last_stats all)"
note "all $N uplinks published once, with 2 receptions; every PUSH_DATA acknowledged"

echo "ok"
