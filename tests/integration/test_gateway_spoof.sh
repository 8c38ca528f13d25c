#!/bin/sh
# SPDX-License-Identifier: MIT
# Spoofed gateway EUIs. The Semtech UDP protocol carries no authentication,
# so attackers on other loopback addresses claim the real gateway's EUI
# while it sends uplinks and receives downlinks:
#  - 127.0.0.2 sends PULL_DATA every second to take the downlink route, and
#    answers every PULL_RESP it would get with a TX_ACK "no error";
#  - 127.0.0.3 floods 4,000 PULL_DATA per second to exhaust the gateway's
#    rate limit;
#  - 127.0.0.4 sprays TX_ACKs "no error" over every token.
# The real gateway (127.0.0.1) loses no uplink and no downlink; every
# txack is a downlink the device verified; the attackers receive no
# PULL_RESP; every spoofed datagram is counted (ADDRESS_MISMATCH,
# RATE_LIMIT) and the log stays short.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss
ATTACK=${ATTACK:-$top_builddir/tests/integration/gwmp_attack}
[ -x "$ATTACK" ] || { echo "SKIP: $ATTACK not built (make check builds it)"; exit 77; }

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 40 --seed 61 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
# A flood of tens of thousands of datagrams: a socket buffer as a central
# bridge would have (udp.rcvbuf), so a starved CPU does not turn into kernel
# drops of the real gateway's frames (the kernel cannot tell them apart).
UDP_EXTRA="keepalive_s = 1; rcvbuf = 4194304;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" \
	"$T/devices.conf" "dedup_window_ms = 0;" "$NO_MAC_DOWNLINK" "$NO_MAC_APPS"
subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"
GW=aa555a0000000001

field() { sed -n "s/^\(.*[ :]\)\{0,1\}$1=\([0-9]*\).*/\2/p" "$2" | tail -n 1; }
eui() { printf '5a00003d%08x' "$1"; }
# wait_count PATTERN N TIMEOUT_S: until N lines of all.out match.
wait_count() {
	_i=0
	while [ $_i -lt $(($3 * 10)) ]; do
		[ "$(grep -cE "$1" "$T/all.out" || true)" -ge "$2" ] && return 0
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}

note "5 downlinks queued for each of 4 devices"
for i in 0 1 2 3; do
	for k in 1 2 3 4 5; do
		data=$(printf 'dl%d-%d' "$i" "$k" | base64)
		echo "{\"fPort\":$k,\"data\":\"$data\",\"id\":\"$(qid "c$i-$k")\"}"
	done > "$T/cmd-$i.txt"
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -l < "$T/cmd-$i.txt" \
		-t "application/sim/device/$(eui "$i")/command/down" || fail "mosquitto_pub"
done

# 40 devices, so each device sends every 2 s, after its receive windows
# closed, as class A devices do: a bridge slowed down by the flood still
# answers the uplink the device is listening after.
note "the real gateway (127.0.0.1) sends 200 uplinks over 10 s (40 devices)"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 40 --seed 61 --keepalive 1 --count 200 --rate 20 \
	--linger 2000 --expect "$T/expect.txt" --expect-down "$T/down.txt" --quiet \
	2> "$T/sim.err" &
SIM_PID=$!
PIDS="$PIDS $SIM_PID"
wait_for "$T/bridge.log" "gateway $GW online from 127\.0\.0\.1:" 10 || fail "gateway not online"

note "attackers on 127.0.0.2 (route + forged TX_ACK), .3 (4,000 PULL_DATA/s), .4 (TX_ACK spray)"
"$ATTACK" --server "127.0.0.1:$UDP_PORT" --bind 127.0.0.2 --eui $GW --rate 1 --duration 9 \
	--answer > "$T/hijack.out" 2>&1 & A1=$!
"$ATTACK" --server "127.0.0.1:$UDP_PORT" --bind 127.0.0.3 --eui $GW --rate 4000 --duration 8 \
	> "$T/flood.out" 2>&1 & A2=$!
"$ATTACK" --server "127.0.0.1:$UDP_PORT" --bind 127.0.0.4 --eui $GW --type txack --rate 2000 \
	--duration 8 > "$T/spray.out" 2>&1 & A3=$!
PIDS="$PIDS $A1 $A2 $A3"
wait $A1 $A2 $A3 || fail "attacker failed: $(cat "$T"/hijack.out "$T"/flood.out "$T"/spray.out)"
wait "$SIM_PID" || fail "sim exit $?: $(tail -3 "$T/sim.err")"
cat "$T/hijack.out" "$T/flood.out" "$T/spray.out"
tail -n 1 "$T/sim.err"

[ "$(field sent "$T/flood.out")" -ge 16000 ] || fail "the flood sent too little to mean anything"
[ "$(field pull_resp "$T/hijack.out")" -eq 0 ] || fail "a PULL_RESP reached the attacker"
[ "$(field pull_resp "$T/flood.out")" -eq 0 ] || fail "a PULL_RESP reached the flooder"
[ "$(field pull_ack "$T/hijack.out")" -eq 0 ] || fail "the attacker's PULL_DATA was acknowledged"
[ "$(field sent_uplinks "$T/sim.err")" -eq 200 ] || fail "sim sent_uplinks != 200"
ok=$(field downlinks_ok "$T/sim.err")
[ "$ok" -eq 20 ] || fail "the devices verified $ok of 20 downlinks"
[ "$(field downlinks_bad "$T/sim.err")" -eq 0 ] || fail "bad downlinks"
note "attackers got no PULL_RESP; the devices received all 20 downlinks"

wait_count "/event/up " 200 20 \
	|| fail "$(grep -c '/event/up ' "$T/all.out") of 200 uplinks published; stats: $(last_stats all)"
wait_count "/event/txack " 20 10 \
	|| fail "$(grep -c '/event/txack ' "$T/all.out") txack events, want 20"
grep '/event/txack ' "$T/all.out" | cut -d' ' -f2- > "$T/txack.json"
sent=$(jq -c . "$T/txack.json" | wc -l)
[ "$sent" -eq 20 ] || fail "$sent downlinks reported sent, want 20: $(head -3 "$T/txack.json")"
jq -r '.queueItemId' "$T/txack.json" | sort > "$T/sent-ids.txt"
for i in 0 1 2 3; do for k in 1 2 3 4 5; do qid "c$i-$k"; done; done | sort > "$T/want-ids.txt"
diff "$T/want-ids.txt" "$T/sent-ids.txt" > /dev/null || fail "sent ids differ from the queued ones"
note "200/200 uplinks published; 20 downlinks sent:true, each verified by its device"

wait_count "^lorabridge/[^ ]+/stats .*ADDRESS_MISMATCH" 1 5 || fail "no ADDRESS_MISMATCH counted"
stats=$(last_stats all)
echo "$stats" | jq -c '.drops.datagrams'
echo "$stats" | jq -e '.drops.datagrams.ADDRESS_MISMATCH > 1000
	and .drops.datagrams.RATE_LIMIT > 10000 and .gatewaysKnown == 1' > /dev/null \
	|| fail "drop counters: $stats"
lines=$(wc -l < "$T/bridge.log")
[ "$lines" -lt 60 ] || fail "bridge log has $lines lines: spoofed datagrams flood the log"
grep -q "dropped datagram from 127.0.0.[234]:[0-9]* (gateway $GW): source address does not match" \
	"$T/bridge.log" || fail "no log line names the mismatch"
note "every spoofed datagram counted by reason; $lines log lines"
echo "PASS"
