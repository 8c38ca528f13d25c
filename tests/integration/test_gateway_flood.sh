#!/bin/sh
# SPDX-License-Identifier: MIT
# Made-up gateway EUIs by the thousand (the Semtech UDP protocol cannot tell
# them from real ones):
#  1. 5,000 EUIs at 1,000 datagrams/s from one address (127.0.0.5): that
#     address speaks for at most udp.max_gateways_per_address (16) of them,
#     so the log, the broker's retained gateway states and the MQTT traffic
#     stay bounded, and a real gateway's uplinks all arrive.
#  2. 1,100 EUIs kept alive from 70 addresses fill the gateway table
#     (1,024): a new real gateway evicts the least recently heard one that
#     never delivered a valid uplink, and all of its uplinks are published;
#     the evicted gateways' retained states are cleared, so at most one per
#     table slot is left on the broker.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq ss
ATTACK=${ATTACK:-$top_builddir/tests/integration/gwmp_attack}
[ -x "$ATTACK" ] || { echo "SKIP: $ATTACK not built (make check builds it)"; exit 77; }

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 4 --seed 62 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
UDP_EXTRA="keepalive_s = 2; rcvbuf = 4194304;" write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" \
	"$T/devices.conf" "dedup_window_ms = 0;"
subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"
# the buffer the kernel gave is said: twice udp.rcvbuf, or less with a
# warning where net.core.rmem_max caps it (Debian's default: 208 KiB)
RMAX=$(cat /proc/sys/net/core/rmem_max 2> /dev/null || echo 0)
if [ "$RMAX" -ge 4194304 ]; then
	grep -q 'receive buffer: 8388608 bytes' "$T/bridge.log" || fail "receive buffer not said"
elif [ "$RMAX" -gt 0 ]; then
	grep -q "udp.rcvbuf = 4194304, but the kernel gave $((2 * RMAX)) bytes" "$T/bridge.log" ||
		fail "a capped receive buffer not said (rmem_max $RMAX)"
else   # rmem_max not readable here: one or the other
	grep -qE 'receive buffer: 8388608 bytes|udp.rcvbuf = 4194304, but the kernel gave' \
		"$T/bridge.log" || fail "receive buffer not said"
fi

field() { sed -n "s/^\(.*[ :]\)\{0,1\}$1=\([0-9]*\).*/\2/p" "$2" | tail -n 1; }
ups() { grep -c '/event/up ' "$T/all.out" || true; }
# wait_ups N TIMEOUT_S
wait_ups() {
	_i=0
	while [ $_i -lt $(($2 * 10)) ]; do
		[ "$(ups)" -ge "$1" ] && return 0
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}
# The retained gateway states on the broker, one "topic payload" per line.
retained() {
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'gateway/+/state/conn' --retained-only -v \
		-W 3 2> /dev/null || true
}
sim() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 4 --seed 62 --keepalive 1 --quiet "$@"
}

note "1. 5,000 EUIs at 1,000 datagrams/s from 127.0.0.5 for 12 s; a real gateway sends 100 uplinks"
"$ATTACK" --server "127.0.0.1:$UDP_PORT" --bind 127.0.0.5 --eui 7700000000000000 --euis 5000 \
	--rate 1000 --duration 12 > "$T/flood.out" 2>&1 & A=$!
PIDS="$PIDS $A"
sim --count 100 --rate 10 2> "$T/sim1.err" || fail "sim: $(tail -2 "$T/sim1.err")"
wait $A || fail "attacker: $(cat "$T/flood.out")"
cat "$T/flood.out"
[ "$(field sent "$T/flood.out")" -ge 10000 ] || fail "the flood sent too little to mean anything"
wait_ups 100 20 || fail "$(ups) of 100 uplinks published"
n=$(retained | grep -c '^gateway/7700' || true)
[ "$n" -le 16 ] || fail "$n retained states of made-up gateways, want at most 16"
stats=$(last_stats all)
echo "$stats" | jq -c '{gatewaysKnown, drops: .drops.datagrams}'
echo "$stats" | jq -e '.drops.datagrams.FULL > 5000 and .gatewaysKnown <= 17' > /dev/null \
	|| fail "counters: $stats"
lines=$(wc -l < "$T/bridge.log")
[ "$lines" -lt 60 ] || fail "bridge log has $lines lines after the flood"
note "100/100 uplinks; $n made-up gateways retained; $lines log lines"

note "2. 1,100 EUIs from 70 addresses fill the table; then a new gateway arrives"
"$ATTACK" --server "127.0.0.1:$UDP_PORT" --bind 127.0.1.1 --addresses 70 --eui 7800000000000000 \
	--euis 1100 --rate 500 --duration 14 > "$T/fill.out" 2>&1 & A=$!
PIDS="$PIDS $A"
wait_for "$T/bridge.log" "gateway table full" 10 || fail "the table never filled"
sim --gateway-eui aa555a00000000ee --count 20 --rate 4 --fcnt-start 1000 2> "$T/sim2.err" \
	|| fail "sim: $(tail -2 "$T/sim2.err")"
wait $A || fail "attacker: $(cat "$T/fill.out")"
cat "$T/fill.out"
wait_ups 120 20 || fail "$(($(ups) - 100)) of the new gateway's 20 uplinks published"
stats=$(last_stats all)
echo "$stats" | jq -c '{gatewaysKnown, drops: .drops.datagrams}'
echo "$stats" | jq -e '.gatewaysKnown == 1024' > /dev/null || fail "table not full: $stats"
retained > "$T/retained.txt"
n=$(wc -l < "$T/retained.txt")
[ "$n" -le 1024 ] || fail "$n retained gateway states, more than the table holds"
# It delivered valid uplinks: never evicted while online, and by the time
# it went offline there were made-up gateways to evict first.
grep -q '^gateway/aa555a00000000ee/state/conn ' "$T/retained.txt" \
	|| fail "the new gateway was evicted: its state is not retained"
lines=$(wc -l < "$T/bridge.log")
[ "$lines" -lt 120 ] || fail "bridge log has $lines lines after the table flood"
note "20/20 uplinks of the new gateway; $n retained states (<= 1024); $lines log lines"
echo "PASS"
