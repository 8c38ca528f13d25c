#!/bin/sh
# SPDX-License-Identifier: MIT
# AS923 (groups 1 and 2), IN865 and KR920 end to end (LoRaWAN Regional
# Parameters RP002-1.0.4 §2.10, §2.12, §2.11): for each region the bridge
# runs with `region` set, OTAA devices of the simulator's --region join on the
# region's default channels, send uplinks, and each gets a downlink queued
# through MQTT. The simulator checks every PULL_RESP as the device would
# receive it (--strict-downlinks: RX1 on the uplink frequency at the DR of
# the region's RX1 table for the join-accept's RX1DROffset, RX2 on the
# region's frequency and DR, exact tmst, size within the DR's limit); this
# script checks the frequencies and data rates once more against the RP002
# numbers written out below, and the regionConfigId of the events.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq ss

MQTT_PORT=$(free_port)
start_broker "$MQTT_PORT"
subscribe all 'application/#' 'lorabridge/#'
N_DEV=3

events() {
	tail -n "+${2:-1}" "$T/all.out" | grep -E "^application/sim/device/[0-9a-f]{16}/event/$1 " \
		| cut -d' ' -f2-
}
lines() { wc -l < "$T/all.out"; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@" || fail "mosquitto_pub $*"; }
_joined() { [ "$(events join "$1" | wc -l)" -ge "$N_DEV" ]; }

# The network's own DevStatusReq is off (NO_MAC_APPS): the downlinks are counted exactly.
# region NAME SEED CS_ID "BRIDGE SETTINGS" "SIM OPTIONS" "RX1 MHZ..." "RX2 MHZ"
#        "JOIN SFS" "RX1 SFS" "RX2 SF"
# RX1 MHZ: the default channels (RX1 is on the uplink channel); JOIN SFS:
# the data rates of join-accepts in RX1 (RX1DROffset 0: the uplink's, which
# the simulator's devices send at SF7..SF12, SF7..SF10 under the AS923
# uplink dwell time); RX1 SFS: those of data downlinks in RX1 (the
# join-accept's RX1DROffset applied); RX2 SF: the region's RX2 data rate.
region() {
	name=$1 seed=$2 cs_id=$3 settings=$4 simopts=$5 rx1_mhz=$6 rx2_mhz=$7 ja_sf=$8 rx1_sf=$9
	shift 9; rx2_sf=$1
	note "$name: $N_DEV OTAA devices join, send uplinks, get one downlink each"
	UDP_PORT=$(free_port)
	"$SIM" --otaa --devices $N_DEV --seed "$seed" --emit-devices "$T/dev-$seed.conf" --quiet \
		|| fail "sim --emit-devices"
	write_config "$T/lb-$seed.conf" "$UDP_PORT" "$MQTT_PORT" "$T/dev-$seed.conf" \
		"region = \"$name\";" "dedup_window_ms = 0;" "$settings" "$NO_MAC_APPS"
	"$LORABRIDGE" --check-config -c "$T/lb-$seed.conf" || fail "$name config does not validate"
	m=$(lines)
	start_bridge "$T/lb-$seed.conf"
	# shellcheck disable=SC2086 # simopts is a word list
	"$SIM" --server "127.0.0.1:$UDP_PORT" --keepalive 1 --quiet --strict-downlinks --otaa \
		--region "$name" $simopts --devices $N_DEV --seed "$seed" --sf 0 --rate 6 --count 60 \
		--duration 45 --join-timeout 3000 --linger 1500 --print --expect-down "$T/down-$seed.txt" \
		> "$T/print-$seed.txt" 2> "$T/sim-$seed.err" &
	sim_pid=$!
	PIDS="$PIDS $sim_pid"
	wait_until "$WAIT_S" _joined "$m" || fail "$name: devices did not join: $(cat "$T/sim-$seed.err")"
	i=0
	for eui in $(events join "$m" | jq -r .deviceInfo.devEui | sort -u); do
		pub -t "application/sim/device/$eui/command/down" \
			-m "{\"fPort\":$((10 + i)),\"data\":\"$(printf 'r%d' "$i" | base64)\"}"
		echo "$eui $((10 + i)) $(printf 'r%d' "$i" | od -An -tx1 | tr -d ' \n')" >> "$T/want-$seed.txt"
		i=$((i + 1))
	done
	rc=0; wait "$sim_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "$name: sim exit $rc: $(tail -5 "$T/sim-$seed.err")"
	cat "$T/sim-$seed.err"
	[ "$(field joins_ok "$T/sim-$seed.err")" -eq $N_DEV ] || fail "$name: joins_ok != $N_DEV"
	[ "$(field downlinks_bad "$T/sim-$seed.err")" -eq 0 ] || fail "$name: bad downlinks"
	# every queued downlink arrived, once (DevEUI, FPort, payload)
	awk '{ print $1, $3, $4 }' "$T/down-$seed.txt" | sort > "$T/got-$seed.txt"
	sort "$T/want-$seed.txt" | diff - "$T/got-$seed.txt" > "$T/diff-$seed.txt" \
		|| fail "$name: delivered downlinks differ: $(cat "$T/diff-$seed.txt"); sim: $(tail -n 1 "$T/sim-$seed.err"); bridge: $(grep -E " (warn|error) " "$T/bridge.log" | tail -n 8)"
	# every uplink on a default channel, every PULL_RESP on an RX1 or RX2
	# frequency and data rate of the region (RP002 numbers, not the tables)
	n_up=$(grep -cE '^(up|join-request) ' "$T/print-$seed.txt")
	[ "$n_up" -ge $((N_DEV + 60)) ] || fail "$name: $n_up uplinks printed"
	bad=$(awk -v ch="$rx1_mhz" '/^(up|join-request) / {
		f = $0; sub(/.* freq=/, "", f); sub(/ .*/, "", f)
		n = split(ch, c, " "); ok = 0; for (i = 1; i <= n; i++) if (f == c[i]) ok = 1
		if (!ok) print f }' "$T/print-$seed.txt")
	[ -z "$bad" ] || fail "$name: uplinks off the default channels: $bad"
	bad=$(awk -v ch="$rx1_mhz" -v rx2="$rx2_mhz" -v sfj="$ja_sf" -v sf1="$rx1_sf" -v sf2="$rx2_sf" '/^down / {
		f = $0; sub(/.* freq=/, "", f); sub(/ .*/, "", f)
		d = $0; sub(/.* datr=/, "", d); sub(/ .*/, "", d)
		sfs = $0 ~ / data=20/ ? sfj : sf1   # MHDR 0x20: join-accept
		n = split(ch, c, " "); ok = 0; for (i = 1; i <= n; i++) if (f == c[i]) ok = 1
		if (ok && index(" " sfs " ", " " d " ") == 0) ok = 0
		if (f == rx2 && d == sf2) ok = 1
		if (!ok) print f, d }' "$T/print-$seed.txt")
	[ -z "$bad" ] || fail "$name: downlinks off the region's RX1/RX2 parameters: $bad"
	n_down=$(grep -c '^down ' "$T/print-$seed.txt")
	[ "$n_down" -ge $((2 * N_DEV)) ] || fail "$name: $n_down PULL_RESPs, want joins + data"
	# ChirpStack's region config id (chirpstack/configuration/region_*.toml)
	ids=$(events up "$m" | jq -r .regionConfigId | sort -u)
	[ "$ids" = "$cs_id" ] || fail "$name: regionConfigId '$ids', want '$cs_id'"
	stop_bridge_for_next
	note "$name: $(field downlinks_ok "$T/sim-$seed.err") PULL_RESPs verified (rx1 $(field downlinks_rx1 "$T/sim-$seed.err"), rx2 $(field downlinks_rx2 "$T/sim-$seed.err"))"
}

stop_bridge_for_next() {
	kill "$BRIDGE_PID" 2> /dev/null || true
	wait "$BRIDGE_PID" 2> /dev/null || true
}

# AS923-1 (RP002-1.0.4 §2.10): 923.2 / 923.4 MHz, RX2 923.2 MHz DR2 (SF10).
# UplinkDwellTime 1 (the default): devices send at SF7..SF10 only.
# RX1DROffset 2: DR5..DR2 -> DR3..DR0 (SF9..SF12) with DownlinkDwellTime 0.
SF7_10="SF7BW125 SF8BW125 SF9BW125 SF10BW125"
SF7_12="$SF7_10 SF11BW125 SF12BW125"
region AS923-1 61 as923 "downlink = { rx1_dr_offset = 2; };" "" \
	"923.2000 923.4000" "923.2000" "$SF7_10" "SF9BW125 SF10BW125 SF11BW125 SF12BW125" "SF10BW125"

# AS923-2: the same shifted by -1.8 MHz; DownlinkDwellTime 1 in bridge and
# devices: RX1 never below DR2 (SF10), so offset 2 gives DR3, DR2, DR2, DR2.
# Every 3rd PULL_RESP refused TOO_LATE: those go out again in RX2.
region AS923-2 62 as923_2 \
	"region_dwell_time = { downlink = true; }; downlink = { rx1_dr_offset = 2; };" \
	"--downlink-dwell 1 --txack-error TOO_LATE:3" \
	"921.4000 921.6000" "921.4000" "$SF7_10" "SF9BW125 SF10BW125" "SF10BW125"
[ "$(awk '$6 == "rx2"' "$T/down-62.txt" | wc -l)" -ge 1 ] \
	|| grep -q 'window=rx2' "$T/print-62.txt" || fail "AS923-2: no downlink went out in RX2"

# IN865 (§2.12): 865.0625 / 865.4025 / 865.985 MHz, RX2 866.55 MHz DR2.
# RX1DROffset 6 raises the DR: DR0..DR5 -> DR1, 2, 3, 4, 5, 5 (DR6 is RFU).
region IN865 63 in865 "downlink = { rx1_dr_offset = 6; };" "" \
	"865.0625 865.4025 865.9850" "866.5500" "$SF7_12" \
	"SF7BW125 SF8BW125 SF9BW125 SF10BW125 SF11BW125" "SF10BW125"

# KR920 (§2.11): 922.1 / 922.3 / 922.5 MHz, RX2 921.9 MHz DR0 (SF12);
# RX1DROffset 3: DR5..DR0 -> DR2, DR1, DR0, DR0, DR0, DR0.
region KR920 64 kr920 "downlink = { rx1_dr_offset = 3; };" "" \
	"922.1000 922.3000 922.5000" "921.9000" "$SF7_12" "SF10BW125 SF11BW125 SF12BW125" "SF12BW125"

note "AS923-1, AS923-2, IN865 and KR920: joins and downlinks on the region's frequencies"
