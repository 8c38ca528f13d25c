#!/bin/sh
# SPDX-License-Identifier: MIT
# OTAA end to end: 100 devices join through two gateways, each gets exactly
# one `join` event with its own DevAddr inside the NetID's range and its
# join-accept verified by the simulated device (window, MIC, keys); the data
# uplinks that follow decrypt with the new sessions. Then the DevNonce
# rules: a used DevNonce is refused (`log` code OTAA), a 1.0.3 device may
# use a lower unused one, a 1.0.4 device only a greater one. Then a device
# that loses the join-accept of its rejoin goes on with its session, which
# the bridge keeps (LoRaWAN 1.0.3 §6.2.4), and its next join is taken at its
# first uplink.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"

# 100 OTAA devices (seed 31), and 4 for the DevNonce rules: seed 32 marked
# 1.0.3 in the bridge, seed 33 marked 1.0.4 (the simulator counts DevNonces
# up for both, so a test can repeat one with --dev-nonce-start).
"$SIM" --otaa --devices 100 --seed 31 --write-keys "$T/k100.txt" --quiet || fail "sim --write-keys"
"$SIM" --otaa --devices 2 --seed 32 --write-keys "$T/k32.txt" --quiet || fail "sim --write-keys"
"$SIM" --otaa --devices 2 --seed 33 --write-keys "$T/k33.txt" --quiet || fail "sim --write-keys"
sed 's/ sim-\([0-9]*\)$/ v103-\1/' "$T/k32.txt" > "$T/kv103.txt"
sed 's/ sim-\([0-9]*\)$/ v104-\1/' "$T/k33.txt" > "$T/kv104.txt"
# 2 that lose a join-accept (seed 34)
"$SIM" --otaa --devices 2 --seed 34 --write-keys "$T/k34.txt" --quiet || fail "sim --write-keys"
sed 's/ sim-\([0-9]*\)$/ rl-\1/' "$T/k34.txt" > "$T/krl.txt"
cat "$T/k100.txt" "$T/kv103.txt" "$T/kv104.txt" "$T/krl.txt" > "$T/all.keys"
"$SIM" --keys "$T/all.keys" --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
# Only the seed-33 devices are marked 1.0.4.
awk '/dev_eui = / { v104 = /dev_eui = "5a000021/ }
	v104 && /lorawan_version/ { sub(/"1\.0\.3"/, "\"1.0.4\"") } { print }' \
	"$T/devices.conf" > "$T/devices.tmp" && mv "$T/devices.tmp" "$T/devices.conf"
[ "$(grep -c 'lorawan_version = "1.0.3"' "$T/devices.conf")" -eq 104 ] || fail "devices.conf versions"
[ "$(grep -c 'lorawan_version = "1.0.4"' "$T/devices.conf")" -eq 2 ] || fail "devices.conf versions"

# No DevStatusReq of the network's own (NO_MAC_APPS): the DevNonce phases send
# an uplink every 100 ms per device, faster than a class-A device could, so a
# downlink answering one uplink would reach the device after its next.
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 100;" \
	"$NO_MAC_APPS"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "generated config does not validate"
subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"

sim() { "$SIM" --server "127.0.0.1:$UDP_PORT" --keepalive 1 --quiet --strict-downlinks "$@"; }
# events TYPE [FROM_LINE]: payloads of the device events of that type.
events() {
	tail -n "+${2:-1}" "$T/all.out" | grep -E "^application/sim/device/[0-9a-f]{16}/event/$1 " \
		| cut -d' ' -f2-
}
lines() { wc -l < "$T/all.out"; }

note "100 OTAA devices join through 2 gateways, then send 300 data uplinks"
sim --otaa --devices 100 --seed 31 --gateways 2 --all-gateways --rate 100 --count 300 --duration 40 \
	--join-timeout 3000 --linger 500 --expect "$T/expect.txt" --expect-down "$T/down.txt" \
	2> "$T/sim1.err" || fail "sim exit $?: $(tail -5 "$T/sim1.err")"
cat "$T/sim1.err"
[ "$(field joins_ok "$T/sim1.err")" -eq 100 ] || fail "joins_ok != 100"
[ "$(field joins_sent "$T/sim1.err")" -eq 100 ] || fail "joins_sent != 100: a join was retried"
[ "$(field downlinks_bad "$T/sim1.err")" -eq 0 ] || fail "bad downlinks"
[ "$(field sent_uplinks "$T/sim1.err")" -eq 300 ] || fail "sent_uplinks != 300"
wait_drained all || fail "no stats event after the joins and uplinks"

events join > "$T/joins.json"
[ "$(wc -l < "$T/joins.json")" -eq 100 ] || fail "$(wc -l < "$T/joins.json") join events, want 100"
[ "$(jq -r .deviceInfo.devEui "$T/joins.json" | sort -u | wc -l)" -eq 100 ] \
	|| fail "join events do not cover 100 distinct devices"
[ "$(jq -r .devAddr "$T/joins.json" | sort -u | wc -l)" -eq 100 ] || fail "DevAddrs not distinct"
# NetID 000000 is type 0 with NwkID 0: DevAddr prefix 0000000 (7 bits).
out=$(jq -r '.devAddr' "$T/joins.json" | grep -vE '^0[01][0-9a-f]{6}$' || true)
[ -z "$out" ] || fail "DevAddr outside 00000000/7: $out"
n=$(jq -c 'select((.time | test("^20[0-9]{2}-[0-9]{2}-[0-9]{2}T")) and .deviceInfo.applicationName == "sim"
	and (.deviceInfo.deviceName | test("^sim-[0-9]+$")) and (.deduplicationId | test("^[0-9a-f-]{36}$")))' \
	"$T/joins.json" | wc -l)
[ "$n" -eq 100 ] || fail "join event fields: $(head -n 1 "$T/joins.json")"
note "100 join events, 100 distinct DevAddrs in 00000000/7"

# The joins' commits were synced off the loop, their join-accepts held until
# then (otaa.h): with io_uring a few syncs at once in all (the state
# generation's), not one a join; without it (the log says so) each waits.
if grep -q "commits are synced off the loop" "$T/bridge.log"; then
	st=$(last_stats all)
	n=$(echo "$st" | jq .store.syncsOnLoop)
	[ "$n" -lt 20 ] || fail "$n syncs at once on the loop for 100 joins: $st"
	note "100 joins, $n syncs at once on the loop"
fi

# Every uplink published exactly once, decrypted with the new session and
# under the DevAddr its join announced.
events up > "$T/ups.json"
# (the simulator's payloads are ASCII, so @base64d then hex is byte-exact)
HEX='def hex: explode | map("0123456789abcdef"[(. / 16 | floor):(. / 16 | floor) + 1]
	+ "0123456789abcdef"[(. % 16):(. % 16) + 1]) | join("");'
jq -r "$HEX"'"\(.deviceInfo.devEui) \(.fCnt) \(.data | @base64d | hex)"' "$T/ups.json" | sort > "$T/got.txt"
sort "$T/expect.txt" > "$T/want.txt"
[ "$(wc -l < "$T/want.txt")" -eq 300 ] || fail "expect file has $(wc -l < "$T/want.txt") lines"
diff "$T/want.txt" "$T/got.txt" > "$T/diff.txt" || fail "published uplinks differ: $(head "$T/diff.txt")"
jq -r '"\(.deviceInfo.devEui) \(.devAddr)"' "$T/joins.json" | sort > "$T/join-addr.txt"
jq -r '"\(.deviceInfo.devEui) \(.devAddr)"' "$T/ups.json" | sort -u > "$T/up-addr.txt"
diff "$T/join-addr.txt" "$T/up-addr.txt" > /dev/null \
	|| fail "uplinks use other DevAddrs than their joins: $(diff "$T/join-addr.txt" "$T/up-addr.txt" | head -5)"
note "300 data uplinks decrypted with the joined sessions"

note "DevNonce rules"
# 1: both groups join with DevNonce 100.
v() { sim --keys "$T/kv$1.txt" --lorawan-version 1.0.4 --rate 20 --count 4 --duration 10 --join-timeout 300 \
	--linger 300 --dev-nonce-start "$2" 2> "$T/sim-$1-$2.err" || fail "sim exit $?: $(cat "$T/sim-$1-$2.err")"; }
m=$(lines); v 103 100; v 104 100
wait_drained all || fail "no stats event after the joins"
[ "$(events join "$m" | wc -l)" -eq 4 ] || fail "first joins: $(events join "$m" | wc -l) join events, want 4"
# 2: DevNonce 100 again: refused for both versions, 101 accepted. (A
# byte-identical join-request within 2 s would be absorbed by the
# de-duplication as a late duplicate: wait that out first.)
sleep 2.2
m=$(lines); v 103 100; v 104 100
wait_drained all || fail "no stats event after the joins"
events log "$m" > "$T/log2.json"
[ "$(jq -r 'select(.code == "OTAA" and (.description | test("DevNonce 100 "))) | .deviceInfo.devEui' \
	"$T/log2.json" | sort -u | wc -l)" -eq 4 ] || fail "replayed DevNonce 100 not refused: $(cat "$T/log2.json")"
[ "$(events join "$m" | wc -l)" -eq 4 ] || fail "no rejoin with DevNonce 101"
for f in "$T/sim-103-100.err" "$T/sim-104-100.err"; do
	[ "$(field join_retries "$f")" -eq 2 ] || fail "$f: want one retry per device"
done
# 3: DevNonce 99, unused: a 1.0.3 device may, a 1.0.4 device must go
# above 101 (99, 100, 101 refused, 102 accepted).
sleep 2.2
m=$(lines); v 103 99; v 104 99
wait_drained all || fail "no stats event after the joins"
events log "$m" > "$T/log3.json"
events join "$m" > "$T/join3.json"
v103=$(sed -n 's/^5a000020\([0-9a-f]*\) .*/5a000020\1/p' "$T/kv103.txt")
v104=$(sed -n 's/^5a000021\([0-9a-f]*\) .*/5a000021\1/p' "$T/kv104.txt")
for e in $v103; do
	[ "$(grep -c "\"devEui\":\"$e\"" "$T/log3.json")" -eq 0 ] || fail "1.0.3 device $e refused an unused DevNonce"
	[ "$(grep -c "\"devEui\":\"$e\"" "$T/join3.json")" -eq 1 ] || fail "1.0.3 device $e did not join with DevNonce 99"
done
for e in $v104; do
	n=$(jq -r "select(.deviceInfo.devEui == \"$e\" and .code == \"OTAA\"
		and (.description | test(\"not greater\"))) | .description" "$T/log3.json" | wc -l)
	[ "$n" -eq 3 ] || fail "1.0.4 device $e: $n refusals, want 3 (99, 100, 101): $(cat "$T/log3.json")"
	[ "$(grep -c "\"devEui\":\"$e\"" "$T/join3.json")" -eq 1 ] || fail "1.0.4 device $e did not rejoin"
done
[ "$(field downlinks_bad "$T/sim-104-99.err")" -eq 0 ] || fail "bad downlinks"
note "used DevNonce refused; 1.0.3 lower unused accepted; 1.0.4 lower refused"

note "a lost join-accept: the device keeps its session, the bridge too"
# Each device joins, sends 3 uplinks, joins again and loses that
# join-accept (--rejoin-lost), then sends 5 more with its first session.
# The bridge holds the second join's session pending: the 5 are accepted.
m=$(lines)
sim --keys "$T/krl.txt" --rate 10 --count 16 --duration 30 --join-timeout 3000 --rejoin-lost 3 \
	--linger 8000 --expect "$T/rl-expect.txt" 2> "$T/rl1.err" || fail "sim exit $?: $(cat "$T/rl1.err")"
[ "$(field joins_ok "$T/rl1.err")" -eq 2 ] || fail "rl: joins_ok: $(cat "$T/rl1.err")"
[ "$(field joins_lost "$T/rl1.err")" -eq 2 ] || fail "rl: join-accepts lost: $(cat "$T/rl1.err")"
wait_drained all || fail "no stats event after the lost joins"
events join "$m" > "$T/rl-join.json"
events up "$m" > "$T/rl-up.json"
[ "$(wc -l < "$T/rl-join.json")" -eq 4 ] || fail "rl: $(wc -l < "$T/rl-join.json") join events, want 4"
[ "$(wc -l < "$T/rl-up.json")" -eq 16 ] \
	|| fail "rl: $(wc -l < "$T/rl-up.json") of 16 uplinks published: the old session was dropped"
for e in $(jq -r .deviceInfo.devEui "$T/rl-join.json" | sort -u); do
	first=$(jq -r "select(.deviceInfo.devEui == \"$e\") | .devAddr" "$T/rl-join.json" | head -n 1)
	second=$(jq -r "select(.deviceInfo.devEui == \"$e\") | .devAddr" "$T/rl-join.json" | tail -n 1)
	[ "$first" != "$second" ] || fail "rl: $e: the rejoin kept DevAddr $first"
	n=$(jq -r "select(.deviceInfo.devEui == \"$e\" and .devAddr == \"$first\") | .fCnt" \
		"$T/rl-up.json" | sort -n | tr '\n' ' ')
	[ "$n" = "0 1 2 3 4 5 6 7 " ] || fail "rl: $e: uplinks under its first session: $n"
done
[ "$(last_stats all | jq .pendingSessions)" = 2 ] || fail "rl: pendingSessions: $(last_stats all)"
# The devices start again (their sessions forgotten): a new join replaces
# the pending one, and its first uplink makes it the devices' session.
m=$(lines)
sim --keys "$T/krl.txt" --rate 10 --count 6 --duration 30 --join-timeout 3000 --linger 300 \
	2> "$T/rl2.err" || fail "sim exit $?: $(cat "$T/rl2.err")"
wait_drained all || fail "no stats event after the new joins"
events join "$m" > "$T/rl-join2.json"
events up "$m" > "$T/rl-up2.json"
[ "$(wc -l < "$T/rl-up2.json")" -eq 6 ] || fail "rl: $(wc -l < "$T/rl-up2.json") of 6 uplinks after the joins"
jq -r '"\(.deviceInfo.devEui) \(.devAddr)"' "$T/rl-join2.json" | sort > "$T/rl-a.txt"
jq -r '"\(.deviceInfo.devEui) \(.devAddr)"' "$T/rl-up2.json" | sort -u > "$T/rl-b.txt"
diff "$T/rl-a.txt" "$T/rl-b.txt" > /dev/null || fail "rl: uplinks not under the new joins' DevAddrs"
n=$(grep -cE 'device rl-[0-9]+: first uplink .* under the session of its last join' "$T/bridge.log")
[ "$n" -eq 2 ] || fail "rl: $n promotions in the log, want 2"
[ "$(last_stats all | jq .pendingSessions)" = 0 ] || fail "rl: pendingSessions: $(last_stats all)"
note "a lost join-accept kept the first session; the next join took over at its first uplink"

wait_stats_cond all '.joins == 118' || fail "stats joins: $(last_stats all)"
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
echo "PASS"
