#!/bin/sh
# SPDX-License-Identifier: MIT
# US915 and AU915 end to end (LoRaWAN Regional Parameters RP002-1.0.4 §2.5
# US902-928, §2.8 AU915-928). The simulated devices start with all 72
# uplink channels on; the simulated gateway is an 8-channel one that hears
# sub-band 2 only (channels 8..15 at 903.9..905.3 MHz and channel 65 at
# 904.6 MHz, lorabridge-sim --gateway-sub-band 2, the bridge's
# downlink.sub_band default): an uplink elsewhere is lost (unheard_uplinks),
# so the devices must learn the mask from the bridge.
#  1. US915, OTAA, LoRaWAN 1.0.3: the join-accept carries CFList type 1
#     (§2.5.4) with the sub-band 2 mask; the devices then send on sub-band 2
#     only (no uplink lost); at the first uplink the bridge sends the
#     mask-only LinkADRReq (ChMaskCntl 7 + ChMaskCntl 0, §2.5.5), which the
#     devices apply and answer, once (not asked again, stored); every
#     downlink in RX1 on 923.3 + 0.6 (uplink channel mod 8) MHz at the DR of
#     the RX1 table (§2.5.7), RX2 923.3 MHz DR8, as written out below; a
#     downlink queued through MQTT reaches each device.
#  2. US915, OTAA, LoRaWAN 1.0.2: no CFList (RP 1.0.2revB gives none); the
#     devices lose uplinks until the LinkADRReq answering the first one the
#     gateway heard reaches them; then none is lost.
#  3. US915, ABP: no join-accept; the mask comes by LinkADRReq, as in 2.
#  4. AU915, OTAA, 1.0.3: joins and uplinks arrive, CFList type 1, RX1 on
#     923.3 + 0.6 n MHz (§2.8.7); the devices keep UplinkDwellTime = 1
#     (§2.8.2): SF7..SF10.
#     4b. AU915, OTAA 1.0.2, six devices (SF7..SF12): no TxParamSetupReq
#     and no dwell limit in Regional Parameters 1.0.2revB, so SF11/SF12
#     (DR1/DR0) uplinks are fine (no DWELL_TIME) and answered in RX1 at
#     DR9/DR8.
#     4c. AU915, OTAA 1.0.3 devices that break their 400 ms (lorabridge-sim
#     --uplink-dwell 0, SF11/SF12): DWELL_TIME for those, the others none.
#  5. US915, OTAA, LoRaWAN 1.0.4: the mask-only LinkADRReq carries DataRate
#     and TXPower 15, "keep the current value" (TS001-1.0.4 §5.2); the
#     devices apply it as such (mac_link_adr_keep), the stored DR and TX
#     power are not 15. The simulated devices of 1.0.3 and earlier (1-4)
#     refuse a 15 (RFU to them): none is sent to them.
#  6. US915, ABP, LoRaWAN 1.0.4 (lorawan_version as --emit-devices writes it
#     for ABP devices too): the mask comes by LinkADRReq as in 3, with
#     DataRate and TXPower 15 as in 5.
# The simulator checks every PULL_RESP by RP002's own tables
# (--strict-downlinks), the script once more against the numbers here.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss awk

MQTT_PORT=$(free_port)
start_broker "$MQTT_PORT"
subscribe all 'application/#' 'lorabridge/#'
N_DEV=3
# Sub-band 2: ChMask0 (channels 0..15) 0xff00, ChMask4 (64..71) 0x0002.
MASK_SB2="ff00,0000,0000,0000,0002"
UP_SB2="903.9000 904.1000 904.3000 904.5000 904.7000 904.9000 905.1000 905.3000 904.6000"

events() {
	tail -n "+${2:-1}" "$T/all.out" | grep -E "^application/sim/device/[0-9a-f]{16}/event/$1 " \
		| cut -d' ' -f2-
}
lines() { wc -l < "$T/all.out"; }
_events_ge() { [ "$(events "$1" "$2" | wc -l)" -ge "$3" ]; }
stop_bridge() {
	kill "$BRIDGE_PID" 2> /dev/null || true
	wait "$BRIDGE_PID" 2> /dev/null || true
}

# run NAME SEED REGION "SIM DEVICE OPTIONS" COUNT: emit the devices, start
# the bridge for REGION, run the simulator (COUNT data uplinks) until it
# exits; its --print output is $T/print-SEED.txt, its summary
# $T/sim-SEED.err, the MQTT output from the bridge's start on line $m.
run() {
	name=$1 seed=$2 region=$3 devopts=$4 count=$5
	note "$name"
	UDP_PORT=$(free_port)
	# shellcheck disable=SC2086 # devopts is a word list
	"$SIM" $devopts --devices $N_DEV --seed "$seed" --emit-devices "$T/dev-$seed.conf" --quiet \
		|| fail "sim --emit-devices"
	rm -rf "$T/state"
	write_config "$T/lb-$seed.conf" "$UDP_PORT" "$MQTT_PORT" "$T/dev-$seed.conf" \
		"region = \"$region\";" "dedup_window_ms = 0;" "$NO_MAC_APPS"
	"$LORABRIDGE" --check-config -c "$T/lb-$seed.conf" || fail "$name: config does not validate"
	m=$(lines)
	start_bridge "$T/lb-$seed.conf"
	# shellcheck disable=SC2086
	"$SIM" --server "127.0.0.1:$UDP_PORT" --keepalive 1 --strict-downlinks --region "$region" \
		$devopts --devices $N_DEV --seed "$seed" --sf 0 --rate 3 --count "$count" \
		--duration 60 --join-timeout 500 --linger 1500 --print \
		--expect-down "$T/down-$seed.txt" > "$T/print-$seed.txt" 2> "$T/sim-$seed.err" &
	sim_pid=$!
	PIDS="$PIDS $sim_pid"
}

# finish NAME SEED: wait for the simulator, check its summary and that
# every uplink it got through was published.
finish() {
	rc=0; wait "$sim_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "$1: sim exit $rc: $(grep -iE 'bad|error' "$T/print-$2.txt" "$T/sim-$2.err" | head -5)"
	grep '^sim:' "$T/sim-$2.err"
	[ "$(field downlinks_bad "$T/sim-$2.err")" -eq 0 ] || fail "$1: bad downlinks"
	[ "$(field mac_link_adr_refused "$T/sim-$2.err")" -eq 0 ] || fail "$1: a LinkADRReq refused"
	sent=$(field sent_uplinks "$T/sim-$2.err")
	wait_until "$WAIT_S" _events_ge up "$m" "$sent" ||
		fail "$1: $(events up "$m" | wc -l) up events, the gateway passed on $sent"
	stop_bridge
}

# The uplink channels of a print file that are not on sub-band 2.
off_sub_band() {
	awk -v ch="$UP_SB2" '/^(up|join-request) / {
		f = $0; sub(/.* freq=/, "", f); sub(/ .*/, "", f)
		n = split(ch, c, " "); ok = 0; for (i = 1; i <= n; i++) if (f == c[i]) ok = 1
		if (!ok) print f }' "$1"
}

# Every PULL_RESP on its uplink's RX1 or on RX2, by RP002's numbers: RX1 on
# 923.3 + 0.6 (channel mod 8) MHz, the channel from the uplink frequency
# (125 kHz: (f - 902.3) / 0.2, 500 kHz: 64 + (f - 903.0) / 1.6; AU915 915.2
# and 915.9), the DR from the RX1 table at RX1DROffset 0 (US915 §2.5.7:
# DR0..DR4 -> DR10, 11, 12, 13, 13; AU915 §2.8.7: DR0..DR6 -> DR8..DR13,
# 13); RX2 923.3 MHz DR8 (SF12BW500). The uplink is the one whose tmst is
# 1 s (data) or 5 s (join-accept) before.
check_windows() {
	awk -v region="$2" '
	function dr_of(sf, bw) {
		if (region == "US915") return bw == 500 ? 4 : 10 - sf
		return bw == 500 ? 6 : 12 - sf
	}
	function rx1_sf(dr) {      # the RX1 DR (offset 0) as SF at BW500: DR8 SF12 .. DR13 SF7
		if (region == "US915") d = dr == 4 ? 13 : dr + 10
		else d = dr == 6 ? 13 : dr + 8
		return 20 - d
	}
	function key(n) { return sprintf("%.0f", n) }   # mawk prints 2^31 and up as %.6g
	function val(k,   v) { v = $0; sub(".* " k "=", "", v); sub(/ .*/, "", v); return v }
	/^(up|join-request) / {
		f = val("freq") * 1000 + 0.5; f = int(f); d = val("datr")
		sf = d; sub(/^SF/, "", sf); sub(/BW.*/, "", sf); bw = d; sub(/.*BW/, "", bw)
		b125 = region == "US915" ? 902300 : 915200; b500 = region == "US915" ? 903000 : 915900
		ch = bw == 500 ? 64 + (f - b500) / 1600 : (f - b125) / 200
		delay = /^join-request/ ? 5000000 : 1000000
		t = (val("tmst") + delay) % 4294967296
		want[key(t)] = sprintf("%.4f SF%dBW500", (923300 + 600 * (ch % 8)) / 1000,
			rx1_sf(dr_of(sf, bw)))
		rx2[key((t + 1000000) % 4294967296)] = 1
	}
	/^down / {
		t = key(val("tmst")); got = val("freq") " " val("datr")
		if (t in want) { if (got != want[t]) print "RX1 " got ", want " want[t]; n1++ }
		else if (t in rx2) { if (got != "923.3000 SF12BW500") print "RX2 " got; n2++ }
		else print "no uplink 1 s / 5 s before: " $0
	}
	END { if (n1 + n2 == 0) print "no downlink" }' "$1"
}

# kept CASE SEED: every 1.0.4 device applied the mask-only block with
# DataRate/TXPower 15 as keep (its TX power still index 0), and the bridge
# stored the mask, nothing unanswered, the DR and TX power it knew (not 15).
kept() {
	e=$T/sim-$2.err
	[ "$(field mac_link_adr_applied "$e")" -eq $N_DEV ] || fail "$1: LinkADRReq applied $(field mac_link_adr_applied "$e") times"
	[ "$(field mac_link_adr_keep "$e")" -eq $N_DEV ] || fail "$1: LinkADRReq with keep applied $(field mac_link_adr_keep "$e") times"
	[ "$(grep -c "^mac .* tx_power=0 .*ch_mask=$MASK_SB2 " "$T/print-$2.txt")" -eq $N_DEV ] ||
		fail "$1: masks: $(grep '^mac' "$T/print-$2.txt")"
	command -v sqlite3 > /dev/null || return 0
	st=$(sqlite3 -readonly "$T/state/lorabridge.db" \
		"select hex(ch_mask) || ' ' || unanswered || ' ' || (dr < 15) || ' ' || tx_power from mac_state" | sort -u)
	[ "$st" = "00FF0000000000000200 0 1 0" ] || fail "$1: stored MAC state: $st"
}

# ---- 1. US915, OTAA 1.0.3: CFList type 1, mask-only LinkADRReq ----------------
run "1: US915, OTAA 1.0.3: CFList type 1, then sub-band 2 only" 71 US915 "--otaa" 60
wait_until "$WAIT_S" _events_ge join "$m" $N_DEV || fail "1: devices did not join: $(tail -3 "$T/sim-71.err")"
i=0
for eui in $(events join "$m" | jq -r .deviceInfo.devEui | sort -u); do
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "application/sim/device/$eui/command/down" \
		-m "{\"fPort\":$((20 + i)),\"data\":\"$(printf 'us%d' "$i" | base64)\"}" || fail "mosquitto_pub"
	i=$((i + 1))
done
finish 1 71
P=$T/print-71.txt
[ "$(field joins_ok "$T/sim-71.err")" -eq $N_DEV ] || fail "1: joins_ok != $N_DEV"
[ "$(field joins_cflist "$T/sim-71.err")" -eq $N_DEV ] || fail "1: join-accepts without a CFList"
[ "$(grep -c "^join ok .* cflist=type1 ch_mask=$MASK_SB2\$" "$P")" -eq $N_DEV ] ||
	fail "1: join-accepts: $(grep '^join ok' "$P")"
# before the join the devices tried other sub-bands (lost); after it none is lost
[ "$(field unheard_uplinks "$T/sim-71.err")" -eq 0 ] || fail "1: data uplinks off sub-band 2: $(grep '^unheard up' "$P" | head -3)"
bad=$(off_sub_band "$P")
[ -z "$bad" ] || fail "1: uplinks heard off sub-band 2: $bad"
# the first downlink of each device answers its first uplink and carries the
# mask-only LinkADRReq block (2 x 5 bytes of FOpts), applied: nothing else
# asked, and not asked again
first=$(awk '/^up / { d = $0; sub(/.*dev_eui=/, "", d); sub(/ .*/, "", d); if (!(d in n)) n[d] = 0; n[d]++ }
	/^downlink ok / { d = $0; sub(/.*dev_eui=/, "", d); sub(/ .*/, "", d)
		if (!(d in seen)) { seen[d] = 1; print n[d], ($0 ~ / fcnt_down=0 .* fopts=10 /) } }' "$P" | sort -u)
[ "$first" = "1 1" ] || fail "1: first downlinks (uplinks before it, LinkADRReq block): $first"
[ "$(field mac_link_adr_applied "$T/sim-71.err")" -eq $N_DEV ] || fail "1: LinkADRReq applied $(field mac_link_adr_applied "$T/sim-71.err") times"
[ "$(grep -c "^mac .* dr=[0-3] .*ch_mask=$MASK_SB2 " "$P")" -eq $N_DEV ] || fail "1: masks: $(grep '^mac' "$P")"
! grep -qE "LinkADRReq .*(refused|unanswered)" "$T/bridge.log" || fail "1: bridge: $(grep LinkADR "$T/bridge.log")"
if command -v sqlite3 > /dev/null; then
	# the answer was taken: the sub-band 2 mask stored, nothing unanswered
	st=$(sqlite3 -readonly "$T/state/lorabridge.db" \
		"select hex(ch_mask) || ' ' || unanswered from mac_state" | sort -u)
	[ "$st" = "00FF0000000000000200 0" ] || fail "1: stored MAC state: $st"
fi
bad=$(check_windows "$P" US915)
[ -z "$bad" ] || fail "1: downlinks off RX1/RX2: $bad"
[ "$(awk '$3 >= 20 && $3 <= 22' "$T/down-71.txt" | wc -l)" -eq $N_DEV ] || fail "1: MQTT downlinks: $(cat "$T/down-71.txt")"
note "1: $(field downlinks_rx1 "$T/sim-71.err") downlinks in RX1, $(field unheard_joins "$T/sim-71.err") join-requests off sub-band 2"

# ---- 2. US915, OTAA 1.0.2: no CFList, converges by LinkADRReq -----------------
# (dev_idx + fcnt) picks the channel: each device loses its uplinks on
# channels below 8 until the gateway hears one.
converged() {
	awk -v mask="$MASK_SB2" '
	function dev(  d) { d = $0; sub(/.*dev_eui=/, "", d); sub(/ .*/, "", d); return d }
	/^mac / && index($0, "ch_mask=" mask " ") { on[dev()] = 1 }
	/^unheard up / { if (on[dev()]) print "lost after the mask: " $0; lost[dev()]++ }
	/^up / { if (on[dev()]) after[dev()]++ }
	END { for (d in lost) if (after[d] < 5) print d ": " after[d] " uplinks after the mask" }' "$1"
}
run "2: US915, OTAA 1.0.2: no CFList, uplinks lost until the LinkADRReq" 72 US915 \
	"--otaa --lorawan-version 1.0.2" 60
finish 2 72
P=$T/print-72.txt
[ "$(field joins_ok "$T/sim-72.err")" -eq $N_DEV ] || fail "2: joins_ok != $N_DEV"
[ "$(field joins_cflist "$T/sim-72.err")" -eq 0 ] || fail "2: a CFList to a 1.0.2 device"
[ "$(grep -c '^join ok .* cflist=none ' "$P")" -eq $N_DEV ] || fail "2: $(grep '^join ok' "$P")"
lost=$(field unheard_uplinks "$T/sim-72.err")
[ "$lost" -gt 0 ] || fail "2: no uplink lost: the devices had the mask already?"
[ "$(field mac_link_adr_applied "$T/sim-72.err")" -eq $N_DEV ] || fail "2: LinkADRReq applied $(field mac_link_adr_applied "$T/sim-72.err") times"
bad=$(converged "$P")
[ -z "$bad" ] || fail "2: $bad"
bad=$(check_windows "$P" US915)
[ -z "$bad" ] || fail "2: downlinks off RX1/RX2: $bad"
note "2: $lost uplinks lost before the LinkADRReq, none after"

# ---- 3. US915, ABP: the mask by LinkADRReq --------------------------------------
run "3: US915, ABP: the mask by LinkADRReq" 73 US915 "" 60
finish 3 73
P=$T/print-73.txt
lost=$(field unheard_uplinks "$T/sim-73.err")
[ "$lost" -gt 0 ] || fail "3: no uplink lost"
[ "$(field mac_link_adr_applied "$T/sim-73.err")" -eq $N_DEV ] || fail "3: LinkADRReq applied $(field mac_link_adr_applied "$T/sim-73.err") times"
bad=$(converged "$P")
[ -z "$bad" ] || fail "3: $bad"
bad=$(check_windows "$P" US915)
[ -z "$bad" ] || fail "3: downlinks off RX1/RX2: $bad"
note "3: $lost uplinks lost before the LinkADRReq, none after"

# ---- 4. AU915, OTAA 1.0.3 --------------------------------------------------------
UP_SB2="916.8000 917.0000 917.2000 917.4000 917.6000 917.8000 918.0000 918.2000 917.5000"
run "4: AU915, OTAA 1.0.3: joins and uplinks" 74 AU915 "--otaa" 30
finish 4 74
P=$T/print-74.txt
[ "$(field joins_ok "$T/sim-74.err")" -eq $N_DEV ] || fail "4: joins_ok != $N_DEV"
[ "$(events join "$m" | wc -l)" -eq $N_DEV ] || fail "4: join events"
[ "$(field sent_uplinks "$T/sim-74.err")" -eq 30 ] || fail "4: uplinks lost"
[ "$(grep -c "^join ok .* cflist=type1 ch_mask=$MASK_SB2\$" "$P")" -eq $N_DEV ] || fail "4: join-accepts: $(grep '^join ok' "$P")"
bad=$(off_sub_band "$P")
[ -z "$bad" ] || fail "4: uplinks heard off sub-band 2: $bad"
bad=$(check_windows "$P" AU915)
[ -z "$bad" ] || fail "4: downlinks off RX1/RX2: $bad"
ids=$(events up "$m" | jq -r .regionConfigId | sort -u)
note "4: regionConfigId $ids"

# rx1_sf PRINT SF: the downlinks in RX1 (1 s after a data uplink, 5 s after
# a join-request) answering an uplink at SF<SF>, as "count datr" lines.
rx1_sf() {
	awk -v want="SF$2BW125" '
	function val(k,   v) { v = $0; sub(".* " k "=", "", v); sub(/ .*/, "", v); return v }
	/^(up|join-request) / && val("datr") == want {
		delay = /^join-request/ ? 5000000 : 1000000
		t[sprintf("%.0f", (val("tmst") + delay) % 4294967296)] = 1
	}
	/^down / && (sprintf("%.0f", val("tmst")) in t) { n[val("datr")]++ }
	END { for (d in n) print n[d], d }' "$1"
}
# dwell_devs: the DevEUIs of the DWELL_TIME log events since line $m.
dwell_devs() {
	events log "$m" | jq -r 'select(.code == "DWELL_TIME") | .deviceInfo.devEui' | sort -u
}

# ---- 4b. AU915, OTAA 1.0.2: no dwell limit, SF11/SF12 --------------------------
N_DEV=6
run "4b: AU915, OTAA 1.0.2: SF7..SF12, no dwell limit" 76 AU915 \
	"--otaa --lorawan-version 1.0.2" 60
finish 4b 76
P=$T/print-76.txt
[ "$(field joins_ok "$T/sim-76.err")" -eq $N_DEV ] || fail "4b: joins_ok != $N_DEV"
[ "$(grep -c '^join ok .* cflist=none ' "$P")" -eq $N_DEV ] || fail "4b: $(grep '^join ok' "$P")"
for sf in 11 12; do
	grep -q "^up .* datr=SF${sf}BW125 " "$P" || fail "4b: no SF$sf uplink"
done
bad=$(check_windows "$P" AU915)
[ -z "$bad" ] || fail "4b: downlinks off RX1/RX2: $bad"
# DR1 -> RX1 DR9 (SF11BW500), DR0 -> RX1 DR8 (SF12BW500), §2.8.7
for sf in 11 12; do
	got=$(rx1_sf "$P" $sf)
	[ -n "$got" ] || fail "4b: no downlink in RX1 of an SF$sf uplink"
	[ "$got" = "$(echo "$got" | grep " SF${sf}BW500\$")" ] || fail "4b: RX1 of SF$sf uplinks: $got"
done
[ -z "$(dwell_devs)" ] || fail "4b: DWELL_TIME for 1.0.2 devices: $(events log "$m" | grep DWELL_TIME | head -3)"
note "4b: RX1 of SF11 uplinks: $(rx1_sf "$P" 11 | tr '\n' ' ')of SF12: $(rx1_sf "$P" 12 | tr '\n' ' ')"

# ---- 4c. AU915, OTAA 1.0.3 over 400 ms: DWELL_TIME -------------------------------
run "4c: AU915, OTAA 1.0.3, --uplink-dwell 0: DWELL_TIME at SF11/SF12" 77 AU915 \
	"--otaa --region AU915 --uplink-dwell 0" 30
finish 4c 77
P=$T/print-77.txt
[ "$(field joins_ok "$T/sim-77.err")" -eq $N_DEV ] || fail "4c: joins_ok != $N_DEV"
# the devices that sent an SF11 or SF12 data uplink
slow=$(awk '/^up .* datr=SF1[12]BW125 / { d = $0; sub(/.*dev_eui=/, "", d); sub(/ .*/, "", d)
	print d }' "$P" | sort -u)
[ -n "$slow" ] || fail "4c: no SF11/SF12 uplink"
[ "$(dwell_devs)" = "$slow" ] ||
	fail "4c: DWELL_TIME for $(dwell_devs | tr '\n' ' '), SF11/SF12 from $(echo "$slow" | tr '\n' ' ')"
note "4c: DWELL_TIME for the $(echo "$slow" | wc -l) devices at SF11/SF12"
N_DEV=3

# ---- 5. US915, OTAA 1.0.4: the mask-only LinkADRReq keeps DR and TX power -------
UP_SB2="903.9000 904.1000 904.3000 904.5000 904.7000 904.9000 905.1000 905.3000 904.6000"
run "5: US915, OTAA 1.0.4: mask-only LinkADRReq with DataRate/TXPower 15" 75 US915 \
	"--otaa --lorawan-version 1.0.4" 30
finish 5 75
P=$T/print-75.txt
[ "$(field joins_ok "$T/sim-75.err")" -eq $N_DEV ] || fail "5: joins_ok != $N_DEV"
kept 5 75
bad=$(off_sub_band "$P")
[ -z "$bad" ] || fail "5: uplinks heard off sub-band 2: $bad"
note "5: $(field mac_link_adr_keep "$T/sim-75.err") LinkADRReq blocks with DataRate/TXPower 15 applied"

# ---- 6. US915, ABP 1.0.4: the mask by LinkADRReq, DR and TX power kept -----------
run "6: US915, ABP 1.0.4: mask-only LinkADRReq with DataRate/TXPower 15" 76 US915 \
	"--lorawan-version 1.0.4" 60
[ "$(grep -c 'app_s_key = .*lorawan_version = "1.0.4";' "$T/dev-76.conf")" -eq $N_DEV ] ||
	fail "6: ABP devices not written as 1.0.4: $(cat "$T/dev-76.conf")"
finish 6 76
P=$T/print-76.txt
lost=$(field unheard_uplinks "$T/sim-76.err")
[ "$lost" -gt 0 ] || fail "6: no uplink lost"
kept 6 76
bad=$(converged "$P")
[ -z "$bad" ] || fail "6: $bad"
bad=$(check_windows "$P" US915)
[ -z "$bad" ] || fail "6: downlinks off RX1/RX2: $bad"
note "6: $lost uplinks lost before the LinkADRReq, $(field mac_link_adr_keep "$T/sim-76.err") blocks with DataRate/TXPower 15 applied"
note "ok"
