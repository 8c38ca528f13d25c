#!/bin/sh
# SPDX-License-Identifier: MIT
# Payload codecs end to end (real mosquitto): devices with the CayenneLPP
# codec and with JavaScript codecs in the three signatures vendors write
# (TS013 decodeUplink, ChirpStack v3 Decode, TTN v2 Decoder) publish the
# right `object`; a codec with an endless loop on one device while 200
# uplinks of other devices flow: all 200 published with their object, the
# bad device's uplinks published without one and each reported by an
# UPLINK_CODEC log event; a script that does not parse is reported with its
# line; a downlink command with `object` is encoded by the device's
# encodeDownlink and delivered (a refused one is a DOWNLINK_CODEC log); a
# script changed on disk is used after SIGHUP; a command whose object makes
# encodeDownlink time out suspends the script's encoding, not its decoding.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
mkdir -p "$T/codecs"

# The codecs, written the way vendors write them (the sim's LPP payload:
# 01 67 TTTT 02 68 HH 03 74 VVVV, see lorabridge-sim --help).
cat > "$T/codecs/ts013.js" <<'EOF'
// TS013 style: input object, {data, warnings}, a helper, sloppy globals.
function readInt16BE(b, i) {
  var v = (b[i] << 8) | b[i + 1];
  return v > 0x7fff ? v - 0x10000 : v;
}
function decodeUplink(input) {
  var bytes = input.bytes, warnings = [];
  scratch = bytes.length;          // undeclared: a global in sloppy mode
  if (input.fPort !== 1) warnings.push("unexpected port " + input.fPort);
  return {
    data: {
      temperature: readInt16BE(bytes, 2) / 10,
      humidity: bytes[6] / 2,
      battery: readInt16BE(bytes, 9) / 100,
      room: input.variables.room || "none"
    },
    warnings: warnings
  };
}
function encodeDownlink(input) {
  if (input.data.spin) while (true) {}
  if (typeof input.data.interval_s !== "number")
    return { errors: ["interval_s missing"] };
  var s = input.data.interval_s;
  return { bytes: [1, (s >> 8) & 0xff, s & 0xff], fPort: 10 };
}
EOF
cat > "$T/codecs/v3.js" <<'EOF'
// ChirpStack v3 style.
function Decode(fPort, bytes, variables) {
  var decoded = {};
  decoded.temp = ((bytes[2] << 24 >> 16) | bytes[3]) / 10;
  decoded.port = fPort;
  return decoded;
}
EOF
cat > "$T/codecs/ttn.js" <<'EOF'
// The Things Network v2 style, with console output.
function Decoder(bytes, port) {
  console.log("decoding " + bytes.length + " bytes on port " + port);
  switch (port) {
  case 1:
    return { humidity_pct: bytes[6] * 0.5, ok: true };
  default:
    return { ok: false };
  }
}
EOF
cat > "$T/codecs/loop.js" <<'EOF'
function decodeUplink(input) {
  var n = 0;
  while (true) { n++; }
  return { data: { n: n } };
}
EOF
cat > "$T/codecs/broken.js" <<'EOF'
function decodeUplink(input) {
  return { data: { t: input.bytes[0] } ;
}
EOF
# A result of 20,000 characters (within the 64 KiB a result may take):
# more than the up event's usual buffer, published whole.
cat > "$T/codecs/big.js" <<'EOF'
function decodeUplink(input) {
  return { data: { note: new Array(20001).join("x") } };
}
EOF

# One device list from several simulated groups (seed = group), each its
# own application; names made unique per group.
: > "$T/entries"
group() {
	"$SIM" --devices "$3" --seed "$2" --application "$1" --emit-devices "$T/g-$1.conf" \
		2> /dev/null || fail "sim --emit-devices $1"
	grep -E '^  \{ name' -A1 "$T/g-$1.conf" | grep -v '^--$' |
		sed "s/name = \"sim-/name = \"$1-/; s/ },\$/ }/" |
		sed "s/app_s_key = \"[0-9a-f]*\";/& tags = { room = \"$1\"; };/; s/ }\$/ },/" \
		>> "$T/entries"
}
group lpp 21 4
group th 22 2
group v3 23 1
group ttn 24 1
group loop 25 1
group broken 26 1
group big 27 1
{ echo "devices = ("; sed '$ s/},$/}/' "$T/entries"; echo ");"; } > "$T/devices.conf"
# No MAC requests of the network's own (status_interval_h = 0, NO_MAC_DOWNLINK): a
# MAC-only downlink to a simulator that has exited would hold the queue until
# its TX_ACK times out.
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 50;" \
	'applications = ( { name = "lpp"; codec = "cayennelpp"; status_interval_h = 0; },
	  { name = "th"; codec = "js"; codec_script = "codecs/ts013.js"; status_interval_h = 0; },
	  { name = "v3"; codec = "js"; codec_script = "codecs/v3.js"; status_interval_h = 0; },
	  { name = "ttn"; codec = "js"; codec_script = "codecs/ttn.js"; status_interval_h = 0; },
	  { name = "loop"; codec = "js"; codec_script = "codecs/loop.js"; status_interval_h = 0; },
	  { name = "broken"; codec = "js"; codec_script = "codecs/broken.js"; status_interval_h = 0; },
	  { name = "big"; codec = "js"; codec_script = "codecs/big.js"; status_interval_h = 0; },
	  { name = "gone"; codec = "js"; codec_script = "codecs/gone.js"; status_interval_h = 0; } );' \
	"$NO_MAC_DOWNLINK"
# --check-config compiles every script, used or not: the broken one and the
# missing one are refused (the daemon starts anyway, see below).
if "$LORABRIDGE" --check-config -c "$T/lb.conf" 2> "$T/check.err"; then
	fail "--check-config accepted a script that does not parse"
fi
[ "$(grep -c 'does not load' "$T/check.err")" -eq 2 ] && grep -q 'broken.js:2' "$T/check.err" &&
	grep -q "gone.js: .*application 'gone'" "$T/check.err" ||
	fail "--check-config: want broken.js:2 and gone.js refused: $(cat "$T/check.err")"

subscribe all 'application/#' 'lorabridge/#'
start_bridge "$T/lb.conf"
grep -q "codec script not loaded: .*broken.js:[0-9].*; application(s) broken: their devices' uplinks" \
	"$T/bridge.log" ||
	fail "the broken script's line is not logged: $(grep payload "$T/bridge.log")"

# send APP SEED DEVICES COUNT RATE GATEWAY_EUI [more sim options]
send() {
	_app=$1 _seed=$2 _n=$3 _count=$4 _rate=$5 _gw=$6; shift 6
	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices "$_n" --seed "$_seed" --count "$_count" \
		--rate "$_rate" --gateway-eui "$_gw" --payload cayennelpp --expect "$T/expect-$_app" \
		--quiet "$@"
}
up() { grep -E "^application/$1/device/[0-9a-f]{16}/event/up " "$T/all.out" | cut -d' ' -f2-; }
# readings APP SUFFIX: "devEui fCnt temperature*10 humidity*2 voltage*100SUFFIX"
# of every LPP payload the simulator sent for APP (its --expect file), sorted.
readings() {
	while read -r eui fcnt hex; do
		t=$(printf '%d' "0x$(echo "$hex" | cut -c5-8)")
		h=$(printf '%d' "0x$(echo "$hex" | cut -c13-14)")
		v=$(printf '%d' "0x$(echo "$hex" | cut -c19-22)")
		echo "$eui $fcnt $t $h $v$2"
	done < "$T/expect-$1" | sort
}
logs() { grep -E "^application/$1/device/[0-9a-f]{16}/event/log " "$T/all.out" | cut -d' ' -f2-; }

note "an endless-loop codec on one device while 200 uplinks of 4 CayenneLPP devices flow"
send loop 25 1 6 3 AA555A00000000F1 2> "$T/sim-loop.err" &
LOOP_SIM=$!
PIDS="$PIDS $LOOP_SIM"
send lpp 21 4 200 100 AA555A00000000F2 2> "$T/sim-lpp.err" || fail "sim lpp: $(cat "$T/sim-lpp.err")"
wait "$LOOP_SIM" || fail "sim loop: $(cat "$T/sim-loop.err")"
wait_drained all || fail "not drained"

# Every LPP uplink: its object is the decoded reading of the payload sent.
readings lpp "" > "$T/want-lpp"
[ "$(wc -l < "$T/want-lpp")" -eq 200 ] || fail "sim sent $(wc -l < "$T/want-lpp") LPP uplinks"
up lpp | jq -r '"\(.deviceInfo.devEui) \(.fCnt) \(.object.temperatureSensor["1"] * 10 | round)'`
	`' \(.object.humiditySensor["2"] * 2 | round) \(.object.voltage["3"] * 100 | round)"' |
	sort > "$T/got-lpp"
diff "$T/want-lpp" "$T/got-lpp" > "$T/diff" || fail "LPP objects differ: $(head "$T/diff")"
note "200 CayenneLPP uplinks published with the decoded object"

n=$(up loop | jq -s 'length')
[ "$n" -eq 6 ] || fail "endless-loop device: $n of 6 uplinks published"
up loop | jq -e -s 'all(has("object") | not)' > /dev/null || fail "loop device got an object"
logs loop | jq -e -s 'length == 6 and all(.code == "UPLINK_CODEC" and .level == "ERROR")' \
	> /dev/null || fail "loop device: want 6 UPLINK_CODEC logs: $(logs loop | jq -c .)"
logs loop | jq -r .description | grep -q 'suspended' ||
	fail "later uplinks of the loop device not reported as suspended: $(logs loop | jq -r .description)"
grep -q 'loop.js timed out' "$T/bridge.log" || fail "no timeout logged"
note "endless loop: its 6 uplinks published without object, each reported; others unaffected"

note "JavaScript codecs in the three signatures, and a script that does not parse"
send th 22 2 6 20 AA555A00000000F3 2> "$T/sim.err" || fail "sim th: $(cat "$T/sim.err")"
send v3 23 1 3 20 AA555A00000000F4 2> "$T/sim.err" || fail "sim v3: $(cat "$T/sim.err")"
send ttn 24 1 3 20 AA555A00000000F5 2> "$T/sim.err" || fail "sim ttn: $(cat "$T/sim.err")"
send broken 26 1 2 20 AA555A00000000F6 2> "$T/sim.err" || fail "sim broken: $(cat "$T/sim.err")"
send big 27 1 2 20 AA555A00000000F7 2> "$T/sim.err" || fail "sim big: $(cat "$T/sim.err")"
wait_drained all || fail "not drained"
up big | jq -e -s 'length == 2 and all((.object.note | length) == 20000)' > /dev/null ||
	fail "a 20,000-character result: $(up big | jq -c '[.fCnt, (.object.note | length)]')" \
		"$(logs big | jq -c .description)"

readings th " th" > "$T/want-th"
up th | jq -r '"\(.deviceInfo.devEui) \(.fCnt) \(.object.temperature * 10 | round) '`
	`'\(.object.humidity * 2 | round) \(.object.battery * 100 | round) \(.object.room)"' |
	sort > "$T/got-th"
[ -s "$T/want-th" ] && diff "$T/want-th" "$T/got-th" > "$T/diff" ||
	fail "TS013 objects differ: $(head "$T/diff")"
up v3 | jq -e -s 'length == 3 and all(.object.port == 1 and (.object.temp | type) == "number")' \
	> /dev/null || fail "v3 Decode objects: $(up v3 | jq -c .object)"
up ttn | jq -e -s 'length == 3 and all(.object.ok == true and .object.humidity_pct >= 40)' \
	> /dev/null || fail "TTN Decoder objects: $(up ttn | jq -c .object)"
up broken | jq -e -s 'length == 2 and all(has("object") | not)' > /dev/null ||
	fail "broken script: uplinks not published without object"
logs broken | jq -e -s 'length == 2 and all(.code == "UPLINK_CODEC" and
	(.description | test("broken.js:[0-9]+")))' > /dev/null ||
	fail "broken script: want UPLINK_CODEC logs naming the line: $(logs broken | jq -c .)"
note "TS013, v3 and TTN v2 objects right; the unparsable script reported with its line"

note "object downlinks: encoded by encodeDownlink, delivered to the device"
th0=$(head -n 1 "$T/expect-th" | cut -d' ' -f1)
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "application/th/device/$th0/command/down" \
	-m '{"object": {"interval_s": 600}}' || fail "publish command"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "application/th/device/$th0/command/down" \
	-m '{"fPort": 3, "object": {"colour": "red"}}' || fail "publish command"
wait_count "$T/all.out" "^application/th/device/$th0/event/log .*DOWNLINK_CODEC" 1 ||
	fail "no DOWNLINK_CODEC log for an object the codec refuses"
wait_stats_cond all '.downlinks.commands == 1' || fail "object command not queued"
send th 22 2 4 20 AA555A00000000F3 --fcnt-start 50 --linger 1500 --expect-down "$T/down-th" \
	2> "$T/sim.err" || fail "sim th: $(cat "$T/sim.err")"
grep -q "^$th0 [0-9]* 10 010258 " "$T/down-th" ||
	fail "encoded downlink not delivered: $(cat "$T/down-th" 2>/dev/null)"
note "object {interval_s: 600} arrived as 01 02 58 on FPort 10; a refused object logged"

note "a script changed on disk is used after SIGHUP"
sed 's/room: input.variables.room || "none"/room: "v2"/' "$T/codecs/ts013.js" > "$T/new.js"
mv "$T/new.js" "$T/codecs/ts013.js"
kill -HUP "$BRIDGE_PID"
wait_for "$T/bridge.log" "reloaded:" "$WAIT_S" || fail "no reload"
send th 22 2 2 20 AA555A00000000F3 --fcnt-start 100 2> "$T/sim.err" || fail "sim: $(cat "$T/sim.err")"
wait_drained all || fail "not drained"
up th | jq -e -s '[.[] | select(.fCnt >= 100)] | length == 2 and all(.object.room == "v2")' \
	> /dev/null || fail "changed script not used: $(up th | jq -c '[.fCnt, .object.room]')"

note "an object that makes encodeDownlink loop: encoding suspended, decoding not"
pub_th0() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "application/th/device/$th0/command/down" \
		-m "$1" || fail "publish command"
}
pub_th0 '{"object": {"spin": true}}'
wait_count "$T/all.out" "^application/th/device/$th0/event/log .*DOWNLINK_CODEC.*deadline" 1 ||
	fail "no DOWNLINK_CODEC log for the timed-out encoding: $(logs th | jq -c .)"
send th 22 2 2 20 AA555A00000000F3 --fcnt-start 150 2> "$T/sim.err" || fail "sim: $(cat "$T/sim.err")"
wait_drained all || fail "not drained"
up th | jq -e -s '[.[] | select(.fCnt >= 150)] | length == 2 and all(.object.room == "v2")' \
	> /dev/null || fail "uplinks not decoded after an encode timeout: $(up th | jq -c '[.fCnt, .object]')"
pub_th0 '{"object": {"interval_s": 60}}'
wait_count "$T/all.out" "^application/th/device/$th0/event/log .*encoding suspended" 1 ||
	fail "encoding not suspended after its timeout: $(logs th | jq -c .description)"
note "a looping encodeDownlink: its command refused, the encoding suspended, uplinks still decoded"

stats=$(last_stats all)
# loadFailed: broken.js, at the start and again at the SIGHUP (gone.js: no device uses it).
echo "$stats" | jq -e '.codecs.decoded >= 218 and .codecs.encoded == 1 and .codecs.failed >= 9 and
	.codecs.loadFailed == 2 and .codecs.keptOld == 0' > /dev/null ||
	fail "codec counters: $(echo "$stats" | jq -c .codecs)"
note "codec counters: $(echo "$stats" | jq -c .codecs)"
echo "PASS"
