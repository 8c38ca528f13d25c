#!/bin/sh
# SPDX-License-Identifier: MIT
# `lorabridge decode`, the command-line front end of the payload codecs:
#  1. CayenneLPP: a payload decodes to ChirpStack's object; a truncated one
#     fails with exit status 1 and the reason on stderr;
#  2. a JavaScript codec (TS013 decodeUplink/encodeDownlink) decodes with its
#     variables, prints its warnings and console lines on stderr, and encodes
#     back with the script's fPort; a TTN v2 Encoder keeps --fport;
#  3. a script that throws, one that does not compile and a missing file
#     exit 1 with the codec's reason; usage errors exit 2; a script stuck in
#     a loop is stopped at --timeout-ms and exits 1.
. "$(dirname "$0")/lib.sh"
command -v jq > /dev/null || fail "jq is needed"

# run NAME ARGS...: the command's stdout in $T/NAME.out, stderr in
# $T/NAME.err; echoes the exit status. JavaScript runs get a deadline no
# loaded machine reaches (--timeout-ms).
run() {
	_n=$1; shift
	_rc=0
	case " $* " in
	*" --codec js "*) set -- "$@" --timeout-ms 20000 ;;
	esac
	"$LORABRIDGE" decode "$@" > "$T/$_n.out" 2> "$T/$_n.err" || _rc=$?
	echo "$_rc"
}
expect_rc() { [ "$2" = "$3" ] || fail "$1: exit status $2, want $3: $(cat "$T/$1.err")"; }

rc=$(run lpp --codec cayennelpp 03670110056700ff)
expect_rc lpp "$rc" 0
[ "$(jq -c . "$T/lpp.out")" = '{"temperatureSensor":{"3":27.2,"5":25.5}}' ] ||
	fail "cayennelpp: $(cat "$T/lpp.out")"
rc=$(run lpp_bad --codec cayennelpp 0367)
expect_rc lpp_bad "$rc" 1
grep -q '^lorabridge decode: MALFORMED: ' "$T/lpp_bad.err" || fail "lpp_bad: $(cat "$T/lpp_bad.err")"
[ ! -s "$T/lpp_bad.out" ] || fail "lpp_bad printed $(cat "$T/lpp_bad.out")"
note "cayennelpp: decodes, a truncated payload exits 1"

cat > "$T/sensor.js" <<'JS'
function decodeUplink(input) {
  var b = input.bytes;
  var t = (b[0] << 8) | b[1];
  if (t & 0x8000) t -= 0x10000;
  console.log('decoding', b.length, 'bytes');
  return { data: { temperature: t / 100, unit: input.variables.unit, port: input.fPort },
           warnings: b[2] < 30 ? ['battery low'] : [] };
}
function encodeDownlink(input) {
  var s = input.data.interval;
  return { bytes: [1, (s >> 8) & 0xff, s & 0xff], fPort: 10 };
}
JS
rc=$(run js --codec js --script "$T/sensor.js" --fport 2 --var unit=C ff3814)
expect_rc js "$rc" 0
[ "$(jq -c . "$T/js.out")" = '{"temperature":-2,"unit":"C","port":2}' ] || fail "js: $(cat "$T/js.out")"
[ "$(cat "$T/js.err")" = "lorabridge decode: warning: console.log: decoding 3 bytes
lorabridge decode: warning: battery low" ] || fail "js warnings: $(cat "$T/js.err")"
rc=$(run enc --codec js --script "$T/sensor.js" --encode --fport 3 '{"interval": 600}')
expect_rc enc "$rc" 0
[ "$(jq -c . "$T/enc.out")" = '{"fPort":10,"bytes":"010258"}' ] || fail "encode: $(cat "$T/enc.out")"

printf 'function Encoder(obj, port) { return [obj.on ? 1 : 0, port]; }\n' > "$T/v2.js"
rc=$(run enc2 --codec js --script "$T/v2.js" --encode --fport=7 '{"on":true}')
expect_rc enc2 "$rc" 0
[ "$(jq -c . "$T/enc2.out")" = '{"fPort":7,"bytes":"0107"}' ] || fail "encode v2: $(cat "$T/enc2.out")"
note "js: decode with variables and warnings, encode with the script's fPort and --fport"

printf 'function Decoder(bytes, port) {\n  throw new Error("unsupported");\n}\n' > "$T/throw.js"
rc=$(run throw --codec js --script "$T/throw.js" --fport 1 00)
expect_rc throw "$rc" 1
[ "$(cat "$T/throw.err")" = "lorabridge decode: SCRIPT: $T/throw.js:2: Error: unsupported" ] ||
	fail "throw: $(cat "$T/throw.err")"
printf 'function Decoder(bytes) {\n  return bytes.map((b) => b);\n}\n' > "$T/arrow.js"
rc=$(run arrow --codec js --script "$T/arrow.js" --fport 1 00)
expect_rc arrow "$rc" 1
grep -q "^lorabridge decode: SCRIPT: $T/arrow.js:2: SyntaxError: .*arrow functions are ES2015" \
	"$T/arrow.err" || fail "arrow: $(cat "$T/arrow.err")"
rc=$(run missing --codec js --script "$T/none.js" --fport 1 00)
expect_rc missing "$rc" 1
grep -q "^lorabridge decode: IO: $T/none.js: " "$T/missing.err" || fail "missing: $(cat "$T/missing.err")"
rc=$(run nodec --codec js --script "$T/v2.js" --fport 1 00)
expect_rc nodec "$rc" 1
note "a throw, a syntax error, a missing file, no decoder: exit 1 with the reason"

for args in "--codec js --fport 1 00" "--codec js --script $T/sensor.js 00" \
	    "--codec lua 00" "--codec cayennelpp 0g" "--codec cayennelpp" \
	    "--codec js --script $T/sensor.js --fport 224 00" \
	    "--codec js --script $T/sensor.js --encode --fport 1 [1]" \
	    "--codec cayennelpp --encode {}" "--codec cayennelpp 00 11" \
	    "--codec cayennelpp --timeout-ms 5 00" \
	    "--codec js --script $T/sensor.js --fport 1 --timeout-ms 0 00"; do
	# shellcheck disable=SC2086 # the words are the arguments
	rc=$(run usage $args)
	expect_rc usage "$rc" 2
	grep -q '^usage: lorabridge decode' "$T/usage.err" || fail "$args: no usage on stderr"
done
rc=$(run help --help)
expect_rc help "$rc" 0
grep -q '^usage: lorabridge decode' "$T/help.out" || fail "--help: $(cat "$T/help.out")"
note "usage errors exit 2"

printf 'function Decoder(bytes) {\n  while (true) {}\n}\n' > "$T/loop.js"
_rc=0
"$LORABRIDGE" decode --codec js --script "$T/loop.js" --fport 1 --timeout-ms 50 00 \
	> "$T/loop.out" 2> "$T/loop.err" || _rc=$?
expect_rc loop "$_rc" 1
[ "$(cat "$T/loop.err")" = "lorabridge decode: TIMEOUT: $T/loop.js: ran past its deadline of 50 ms" ] ||
	fail "loop: $(cat "$T/loop.err")"
note "a script stuck in a loop is stopped at --timeout-ms"
echo "PASS"
