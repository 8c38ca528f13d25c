#!/bin/sh
# SPDX-License-Identifier: MIT
# What ADR saves on air: 100 simulated ABP devices start at SF12 (DR0) with
# the ADR bit set and a spread of SNRs (lorabridge-sim --adr --snr-spread,
# as tests/integration/test_adr.sh), send ROUNDS uplinks each, and the
# bridge moves them by its ADR rule (src/mac/adr.h). Prints the total
# uplink airtime of one round of all devices (the up events' airtimeMs)
# at the start and in the last round, once ADR converged (test_adr.sh
# checks that it does within 5 uplinks). Never fails on a number.
# Usage: bench_adr.sh [DEVICES] [ROUNDS]
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
. "$top_srcdir/tests/integration/lib.sh"
N=${1:-100}; ROUNDS=${2:-6}; SEED=81
require "$MOSQUITTO" mosquitto_sub jq awk

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
subscribe all 'application/+/device/+/event/up' 'lorabridge/+/stats'
"$SIM" --devices "$N" --seed $SEED --emit-devices "$T/devices.conf" --quiet ||
	fail "sim --emit-devices"
# Budgets out of the way: several SF12 uplinks a device exceed TTN's 30 s a day.
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 100;" \
	'fair_access = { uplink_airtime_ms = 604800000; downlinks = 1000; };' \
	"log_level = \"notice\";"
start_bridge "$T/lb.conf"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices "$N" --seed $SEED --sf 12 --adr \
	--snr-spread -8:10 --rate 25 --count $((N * ROUNDS)) --keepalive 1 --linger 2500 \
	--quiet 2> "$T/sim.err" || fail "sim: $(tail -3 "$T/sim.err")"
wait_count "$T/all.out" '/event/up ' $((N * ROUNDS)) || fail "up events missing"
wait_drained all || fail "bridge not drained"

# "devEui fCnt airtimeMs" per up event; round k of a device is its k-th uplink.
grep -E '/event/up ' "$T/all.out" | cut -d' ' -f2- |
	jq -r '[.deviceInfo.devEui, .fCnt, .airtimeMs] | @tsv' | sort -k1,1 -k2,2n |
	awk -v n="$N" -v rounds="$ROUNDS" '
$1 != dev { dev = $1; k = 0 }
{ k++; if (k == 1) first += $3; if (k == rounds) last += $3 }
END {
	printf "ADR: %d devices, airtime per round %.0f ms at start (SF12), %.0f ms after " \
	       "convergence (round %d)", n, first, last, rounds
	if (last > 0) printf " (x%.0f less)", first / last
	printf "\n"
}'
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
