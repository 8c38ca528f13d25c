#!/bin/sh
# SPDX-License-Identifier: MIT
# The web page's server side (README "Web page"): with a real mosquitto,
# the bridge and the simulator, /events gives `retry`, `hello` and then
# every uplink live (the same JSON as MQTT's up events, then the device's
# new summary); /api/devices and /api/gateways agree with the traffic;
# POST /api/devices/{devEui}/queue goes the MQTT command path (the downlink
# reaches the simulated device, a bad command gets the same `log` event)
# with 401/403/404/400/405/413 answers and 429 with Retry-After; /metrics passes a strict parser of
# the Prometheus text format and counts what MQTT saw; `lorabridge top
# --once` prints the tables, and on a terminal quits on q or Ctrl-C; 1,000 malformed HTTP requests while uplinks
# flow cost no uplink and no crash; the broker stopped and started again shows
# on /events as `bridge` events (mqttConnected false, then true); a
# non-loopback bind without a password is refused at start-up; with the page's
# port taken the bridge runs (uplinks flow), says so once, and opens the page
# once the port is free.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub mosquitto_pub jq curl python3

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); HTTP_PORT=$(free_port)
URL="http://127.0.0.1:$HTTP_PORT"
start_broker "$MQTT_PORT"
N_DEV=4
"$SIM" --devices $N_DEV --seed 42 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
PASSWORD='correct horse battery staple'
HASH=$(printf '%s\n' "$PASSWORD" | "$LORABRIDGE" passwd --iterations 1000) || fail "lorabridge passwd"
case "$HASH" in pbkdf2-sha256\$1000\$*) ;; *) fail "passwd printed '$HASH'" ;; esac
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	"$NO_MAC_DOWNLINK" \
	'applications = ( { name = "sim"; codec = "cayennelpp"; status_interval_h = 0; } );' \
	"http = { port = $HTTP_PORT; www_dir = \"$top_srcdir/www\"; password = \"$HASH\"; max_clients = 12;
	hosts = \"gw.example.lan, other.lan\"; };"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "generated config does not validate"
"$LORABRIDGE" --print-config -c "$T/lb.conf" | grep -q "^http = {" || fail "--print-config lacks http"
subscribe all 'application/#' 'gateway/#' 'lorabridge/#'
start_bridge "$T/lb.conf"
grep -q "web page and API on http://127.0.0.1:$HTTP_PORT/" "$T/bridge.log" || fail "no web log line"

sim() { "$SIM" --server "127.0.0.1:$UDP_PORT" --gateways 1 --devices $N_DEV --seed 42 --keepalive 1 \
	--quiet --payload cayennelpp "$@"; }
# code METHOD PATH [curl args...]: the status; the body in $T/body
code() { _m=$1 _p=$2; shift 2; curl -sS -o "$T/body" -w '%{http_code}' -X "$_m" "$URL$_p" "$@"; }
expect() { # expect WANT_CODE METHOD PATH [curl args...]
	_want=$1; shift
	_got=$(code "$@") || fail "curl $*"
	[ "$_got" = "$_want" ] || fail "$* answered $_got, want $_want: $(cat "$T/body")"
}
ups() { grep -cE '^application/sim/device/[0-9a-f]{16}/event/up ' "$T/all.out" || true; }

note "/events: retry and hello first, then the uplinks live"
curl -sS -N "$URL/events" > "$T/sse.out" 2> "$T/sse.err" &
SSE_PID=$!; PIDS="$PIDS $SSE_PID"
wait_count "$T/sse.out" '^event: hello$' 1 || fail "no hello"
[ "$(head -n 1 "$T/sse.out")" = "retry: 2000" ] || fail "first line: $(head -n 1 "$T/sse.out")"
sed -n 3p "$T/sse.out" | grep -q '^event: hello$' || fail "hello is not the first event"
sed -n 4p "$T/sse.out" | sed 's/^data: //' > "$T/hello.json"
jq -e --argjson n $N_DEV '(.devices | length) == $n and .bridge.writable == true
	and .bridge.mqttConnected == true and (.devices | all(.lastSeen == null and .rssi == []))' \
	"$T/hello.json" > /dev/null || fail "hello: $(cat "$T/hello.json")"

N_UP=20
sim --rate 20 --count $N_UP > "$T/sim1.out" 2>&1 || fail "sim: $(tail -3 "$T/sim1.out")"
wait_drained all
[ "$(ups)" -eq $N_UP ] || fail "MQTT got $(ups) up events, want $N_UP"
wait_count "$T/sse.out" '^event: up$' $N_UP || fail "SSE up events"
# Each SSE up event carries exactly what MQTT published, in the same order.
grep -E '^application/sim/device/[0-9a-f]{16}/event/up ' "$T/all.out" | cut -d' ' -f2- \
	| jq -c '{f: .fCnt, d: .deviceInfo.devEui, o: .object}' > "$T/mqtt-up.txt"
grep -A1 '^event: up$' "$T/sse.out" | sed -n 's/^data: //p' \
	| jq -c '{f: .event.fCnt, d: .event.deviceInfo.devEui, o: .event.object, w: .devEui}' > "$T/sse-up.txt"
jq -e -s 'all(.w == .d)' "$T/sse-up.txt" > /dev/null || fail "SSE devEui differs from the event's"
jq -c 'del(.w)' "$T/sse-up.txt" | diff - "$T/mqtt-up.txt" > /dev/null \
	|| fail "SSE up events differ from MQTT's: $(jq -c 'del(.w)' "$T/sse-up.txt" | diff - "$T/mqtt-up.txt" | head -4)"
[ "$(grep -c '^event: device$' "$T/sse.out")" -ge $N_UP ] || fail "fewer device events than uplinks"
# the gateway coming online, and the bridge's stats event as MQTT has it
wait_count "$T/sse.out" '^event: gateway$' 1 || fail "no gateway event"
grep -A1 '^event: gateway$' "$T/sse.out" | sed -n 's/^data: //p' | head -n 1 \
	| jq -e '.gatewayId == "aa555a0000000001" and .online == true' > /dev/null || fail "gateway event"
wait_count "$T/sse.out" '^event: stats$' 1 || fail "no stats event"
grep -A1 '^event: stats$' "$T/sse.out" | sed -n 's/^data: //p' | tail -n 1 > "$T/sse-stats.json"
_mqtt_has_stats() {
	grep -E "^lorabridge/[^ ]+/stats " "$T/all.out" | cut -d' ' -f2- | grep -qxF "$(cat "$T/sse-stats.json")"
}
wait_until "$WAIT_S" _mqtt_has_stats || fail "the SSE stats event is not one MQTT got: $(cat "$T/sse-stats.json")"

note "/api/devices and /api/gateways agree with the traffic"
expect 200 GET /api/devices
cp "$T/body" "$T/devices.json"
last_f() { jq -r --arg d "$1" 'select(.d == $d) | .f' "$T/mqtt-up.txt" | tail -n 1; }
for eui in $(jq -r '.devices[].devEui' "$T/devices.json"); do
	jq -e --arg e "$eui" --argjson f "$(last_f "$eui")" \
		'.devices[] | select(.devEui == $e) | .fCntUp == $f and .lastSeen != null
		 and (.rssi | length) == (.snr | length) and (.rssi | length) >= 1
		 and (.object | type) == "object" and .dr != null and .queue == 0
		 and .application == "sim" and .class == "A"' "$T/devices.json" > /dev/null \
		|| fail "device $eui: $(jq -c --arg e "$eui" '.devices[] | select(.devEui == $e)' "$T/devices.json")"
done
# the history holds what each device's last up event said: its object, its
# best reception's RSSI and SNR (one gateway here)
grep -E '^application/sim/device/[0-9a-f]{16}/event/up ' "$T/all.out" | cut -d' ' -f2- \
	| jq -c '{d: .deviceInfo.devEui, o: .object, r: .rxInfo[0].rssi, s: .rxInfo[0].snr}' \
	> "$T/mqtt-radio.txt"
for eui in $(jq -r '.devices[].devEui' "$T/devices.json"); do
	jq -s -e --arg e "$eui" --slurpfile d "$T/devices.json" \
		'(map(select(.d == $e)) | last) as $u
		 | ($d[0].devices[] | select(.devEui == $e)) as $v
		 | $v.object == $u.o and $v.rssi[-1] == $u.r and (($v.snr[-1] - $u.s) | fabs) < 0.001' \
		"$T/mqtt-radio.txt" > /dev/null \
		|| fail "device $eui's history is not its last up: $(jq -c --arg e "$eui" \
			'.devices[] | select(.devEui == $e) | {object, rssi, snr}' "$T/devices.json")"
done
expect 200 GET /api/gateways
jq -e --argjson n $N_UP '.gateways | length == 1 and .[0].gatewayId == "aa555a0000000001"
	and .[0].online == true and .[0].rxPacketsReceived == $n and (.[0].dutyCycle | length) > 0' \
	"$T/body" > /dev/null || fail "gateways: $(cat "$T/body")"
EUI=$(jq -r '.devices[0].devEui' "$T/devices.json")
expect 200 GET "/api/devices/$EUI"
jq -e --arg e "$EUI" '.devEui == $e' "$T/body" > /dev/null || fail "one device: $(cat "$T/body")"
expect 404 GET /api/devices/0123456789abcdef
jq -e '.error == "unknown device"' "$T/body" > /dev/null || fail "404 body: $(cat "$T/body")"
expect 404 GET /api/devices/xyz
expect 404 GET /nothing-here.html
expect 404 GET /../etc/passwd
expect 405 DELETE /api/devices
expect 200 GET /api/bridge
jq -e '.region == "EU868" and .writable == true and (.uptimeS | type) == "number"' "$T/body" \
	> /dev/null || fail "bridge: $(cat "$T/body")"
expect 200 GET /healthz
expect 200 GET /
grep -q '<html' "$T/body" || fail "/ is not the page"
curl -sS -D "$T/headers" -o /dev/null "$URL/" || fail "curl -D /"
grep -qi "^Content-Security-Policy: default-src 'self'" "$T/headers" || fail "no CSP: $(cat "$T/headers")"
grep -qi '^X-Content-Type-Options: nosniff' "$T/headers" || fail "no nosniff"

note "the page's files: no-cache with an ETag, 304 for an unchanged one; the API no-store"
# etag PATH: the ETag of PATH's answer, which must say Cache-Control: no-cache
etag() {
	curl -sS -D "$T/h-etag" -o /dev/null "$URL$1" || fail "curl -D $1"
	tr -d '\r' < "$T/h-etag" | grep -qix 'Cache-Control: no-cache' ||
		fail "$1 not no-cache: $(cat "$T/h-etag")"
	tr -d '\r' < "$T/h-etag" | sed -n 's/^ETag: //ip'
}
ETAG=$(etag /app.js)
printf '%s' "$ETAG" | grep -qE '^"[0-9a-f]{16}"$' || fail "ETag of app.js: '$ETAG'"
rm -f "$T/body"   # curl writes no file for an answer without a body
expect 304 GET /app.js -H "If-None-Match: $ETAG"
[ ! -s "$T/body" ] || fail "a 304 with a body: $(head -c 200 "$T/body")"
# RFC 9110 §8.6: a 304's Content-Length, if any, is the 200's
curl -sS -D "$T/h-304" -o /dev/null -H "If-None-Match: $ETAG" "$URL/app.js" || fail "curl -D 304"
CL_304=$(tr -d '\r' < "$T/h-304" | sed -n 's/^Content-Length: //ip')
[ "$CL_304" = "$(wc -c < "$top_srcdir/www/app.js" | tr -d ' ')" ] ||
	fail "a 304's Content-Length is not app.js's: $(cat "$T/h-304")"
expect 304 GET /app.js -H "If-None-Match: \"0000000000000000\", W/$ETAG"
expect 200 GET /app.js -H 'If-None-Match: "0000000000000000"'
cmp -s "$T/body" "$top_srcdir/www/app.js" || fail "app.js not whole"
[ "$(etag /)" != "$ETAG" ] || fail "index.html and app.js have the same ETag"
curl -sS -D "$T/h-api" -o /dev/null "$URL/api/bridge" || fail "curl -D /api/bridge"
tr -d '\r' < "$T/h-api" | grep -qix 'Cache-Control: no-store' || fail "API: $(cat "$T/h-api")"

note "Host: localhost, addresses and http.hosts' names only (DNS rebinding)"
for _h in "localhost:$HTTP_PORT" "127.0.0.1:$HTTP_PORT" "[::1]:$HTTP_PORT" "gw.example.lan" "LOCALHOST"; do
	expect 200 GET /api/bridge -H "Host: $_h"
done
for _h in "evil.example.com:$HTTP_PORT" "localhost.evil.example.com" "127.0.0.1.nip.io"; do
	expect 421 GET /api/bridge -H "Host: $_h"
done
expect 421 GET /events -H "Host: attacker.example"
expect 421 GET /api/bridge -H "Host;"
expect 200 GET /api/bridge --http1.0 -H "Host:"

note "POST queue: refusals, then a downlink through the command path to the device"
Q="/api/devices/$EUI/queue"
BODY='{"confirmed":false,"fPort":10,"data":"AQIDBA=="}'
expect 401 POST "$Q" -d "$BODY"
# the challenge every 401 carries (RFC 9110 §15.5.2)
curl -sS -i -X POST "$URL$Q" -d "$BODY" > "$T/r401.txt" || fail "curl -i 401"
tr -d '\r' < "$T/r401.txt" | grep -q '^WWW-Authenticate: Bearer realm="lorabridge"$' ||
	fail "401 without WWW-Authenticate: $(cat "$T/r401.txt")"
expect 401 POST "$Q" -d "$BODY" -H "Authorization: Bearer wrong"
# one check of an unknown password per 2.5 s: the next guess waits, told
# how long by Retry-After (whole seconds, RFC 9110 §10.2.3)
curl -sS -i -X POST "$URL$Q" -d "$BODY" -H "Authorization: Bearer wrong2" > "$T/r429.txt" ||
	fail "curl -i 429"
head -n 1 "$T/r429.txt" | grep -q '^HTTP/1\.1 429 ' || fail "2nd guess: $(head -n 1 "$T/r429.txt")"
tr -d '\r' < "$T/r429.txt" | grep -qiE '^Retry-After: [123]$' ||
	fail "429 without Retry-After 1..3: $(cat "$T/r429.txt")"
_ra=$(tr -d '\r' < "$T/r429.txt" | sed -n 's/^Retry-After: //ip')
tail -n 1 "$T/r429.txt" | jq -e --arg s "$_ra" '.error == "too many password checks: try again in \($s) s"' \
	> /dev/null || fail "429 body: $(tail -n 1 "$T/r429.txt")"
grep -qi '^Content-Security-Policy: ' "$T/r429.txt" || fail "429 lost its other headers"
AUTH="Authorization: Bearer $PASSWORD"
right_checked() { [ "$(code POST "$Q" -d '{"fPort":0,"data":"AQ=="}' -H "$AUTH")" = 400 ]; }
wait_until 10 right_checked || fail "the right password: $(cat "$T/body")"
# remembered: parallel wrong guesses neither lock its user out nor cost a
# hash each (at most one is checked)
_g=0; _gpids=
while [ $_g -lt 6 ]; do
	curl -sS -o /dev/null -w '%{http_code}\n' -X POST "$URL$Q" -d "$BODY" \
		-H "Authorization: Bearer guess$_g" >> "$T/guesses.out" &
	_gpids="$_gpids $!"; _g=$((_g + 1))
done
expect 400 POST "$Q" -d '{"fPort":0,"data":"AQ=="}' -H "$AUTH"
for _p in $_gpids; do wait "$_p" || true; done
[ "$(grep -c '^401$' "$T/guesses.out")" -le 1 ] && [ "$(grep -c '^429$' "$T/guesses.out")" -ge 5 ] ||
	fail "6 guesses answered: $(sort "$T/guesses.out" | uniq -c | tr '\n' ' ')"
jq -e '.error | startswith("INVALID_FPORT")' "$T/body" > /dev/null || fail "400 body: $(cat "$T/body")"
wait_count "$T/all.out" "^application/sim/device/$EUI/event/log .*INVALID_FPORT" 1 \
	|| fail "no log event for the refused command (the MQTT path's)"
expect 400 POST "$Q" -d 'not json' -H "$AUTH"
head -c 9000 /dev/zero | tr '\0' 'x' > "$T/big.txt"
expect 413 POST "$Q" --data-binary "@$T/big.txt" -H "$AUTH"
expect 404 POST /api/devices/0123456789abcdef/queue -d "$BODY" -H "$AUTH"
# a known device whose codec (cayennelpp) cannot encode an object: 400 with
# the log event's code, not 404 "unknown device"
expect 400 POST "$Q" -d '{"object":{"level":1}}' -H "$AUTH"
jq -e '.error | startswith("DOWNLINK_CODEC: ")' "$T/body" > /dev/null ||
	fail "object for a codec without encoder: $(cat "$T/body")"
wait_count "$T/all.out" "^application/sim/device/$EUI/event/log .*DOWNLINK_CODEC" 1 \
	|| fail "no DOWNLINK_CODEC log event for the refused object"
expect 405 GET "$Q"
expect 202 POST "$Q" -d "$BODY" -H "$AUTH"
ID=$(jq -r .id "$T/body")
echo "$ID" | grep -qE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' || fail "id '$ID'"
expect 200 GET "/api/devices/$EUI"
jq -e '.queue == 1' "$T/body" > /dev/null || fail "queue not 1: $(cat "$T/body")"
sim --rate 20 --count $N_DEV --fcnt-start 100 --linger 3000 --strict-downlinks \
	--expect-down "$T/down.txt" > "$T/sim2.out" 2>&1 || fail "sim: $(tail -3 "$T/sim2.out")"
grep -q "^$EUI [0-9]* 10 01020304 " "$T/down.txt" || fail "downlink not received: $(cat "$T/down.txt")"
wait_count "$T/all.out" "^application/sim/device/$EUI/event/txack .*\"queueItemId\":\"$ID\"" 1 \
	|| fail "no txack for $ID"
wait_count "$T/sse.out" '^event: txack$' 1 || fail "no txack on /events"

note "/metrics: strict Prometheus text format, values as MQTT saw them"
wait_drained all
expect 200 GET /metrics
python3 "$(dirname "$0")/prom_check.py" lorabridge_datagrams_total lorabridge_frames_received_total \
	lorabridge_uplinks_published_total lorabridge_frame_drops_total lorabridge_datagram_drops_total \
	lorabridge_gateways_online lorabridge_gateways_known lorabridge_devices lorabridge_pending_sessions \
	lorabridge_mqtt_connected lorabridge_mqtt_queue_depth lorabridge_outbox_depth \
	lorabridge_udp_kernel_drops_total lorabridge_intake_pauses_total lorabridge_intake_paused_seconds_total \
	lorabridge_http_requests_total lorabridge_sse_clients lorabridge_uptime_seconds \
	lorabridge_refusal_events_dropped_total lorabridge_dedup_forced_early_total \
	< "$T/body" > "$T/samples.txt" || fail "/metrics does not parse"
sample() { awk -v k="$1" '$1 == k { print $2 }' "$T/samples.txt"; }
[ "$(sample lorabridge_frames_received_total)" = "$(ups)" ] \
	|| fail "frames_received_total $(sample lorabridge_frames_received_total), MQTT ups $(ups)"
# the same counter as the MQTT stats event's (events the outbox got acked)
[ "$(sample lorabridge_uplinks_published_total)" = "$(last_stats all | jq .uplinksPublished)" ] \
	|| fail "uplinks_published_total $(sample lorabridge_uplinks_published_total), stats $(last_stats all)"
# nothing here fills the de-duplication table: 0 in both
[ "$(sample lorabridge_dedup_forced_early_total)" = "$(last_stats all | jq .dedupForcedEarly)" ] &&
	[ "$(sample lorabridge_dedup_forced_early_total)" = 0 ] ||
	fail "dedup_forced_early_total $(sample lorabridge_dedup_forced_early_total)," \
		"stats $(last_stats all)"
[ "$(sample lorabridge_devices)" = "$N_DEV" ] || fail "lorabridge_devices"
[ "$(sample lorabridge_pending_sessions)" = "0" ] || fail "lorabridge_pending_sessions"
[ "$(sample lorabridge_gateways_online)" = "1" ] || fail "gateways_online"
[ "$(sample lorabridge_mqtt_connected)" = "1" ] || fail "mqtt_connected"
[ "$(sample lorabridge_sse_clients)" = "1" ] || fail "sse_clients $(sample lorabridge_sse_clients)"
[ "$(sample 'lorabridge_http_requests_total{code="413"}')" -ge 1 ] || fail "413 not counted"

note "lorabridge top --once: one snapshot of the tables"
"$LORABRIDGE" top --once --url "$URL" > "$T/top.out" 2> "$T/top.err" || fail "top: $(cat "$T/top.err")"
grep -q "aa555a0000000001" "$T/top.out" || fail "top: no gateway: $(cat "$T/top.out")"
for eui in $(jq -r '.devices[].devEui' "$T/devices.json"); do
	grep -q "$eui" "$T/top.out" || fail "top: no device $eui"
done
grep -qE "sim-0 +sim " "$T/top.out" || fail "top: no name/application columns: $(cat "$T/top.out")"
# interactive, on a terminal: q quits, and so does Ctrl-C
python3 "$(dirname "$0")/top_pty.py" "$LORABRIDGE" "$URL" q || fail "top on a terminal, q"
python3 "$(dirname "$0")/top_pty.py" "$LORABRIDGE" "$URL" ctrl-c || fail "top on a terminal, Ctrl-C"
# no bridge there: exit 1 with the reason
if "$LORABRIDGE" top --once --url "http://127.0.0.1:$(free_port)" > /dev/null 2> "$T/top-no.err"; then
	fail "top --once without a bridge succeeded"
fi
grep -q "lorabridge top: http://127.0.0.1:[0-9]*/events: " "$T/top-no.err" || fail "$(cat "$T/top-no.err")"

note "1,000 malformed requests while 200 uplinks flow: every uplink reaches MQTT"
before=$(ups)
sim --rate 40 --count 200 --fcnt-start 200 > "$T/sim3.out" 2>&1 &
SIM_PID=$!; PIDS="$PIDS $SIM_PID"
python3 "$(dirname "$0")/http_garbage.py" 127.0.0.1 "$HTTP_PORT" 1000 > "$T/garbage.out" 2>&1 \
	|| fail "garbage: $(cat "$T/garbage.out")"
cat "$T/garbage.out"
wait "$SIM_PID" || fail "sim during garbage: $(tail -3 "$T/sim3.out")"
wait_drained all
[ "$(ups)" -eq $((before + 200)) ] || fail "MQTT got $(( $(ups) - before )) of 200 up events"
kill -0 "$BRIDGE_PID" || fail "the bridge died"
_healthy() { [ "$(code GET /healthz)" = 200 ]; }
wait_until "$WAIT_S" _healthy || fail "/healthz not 200 after the garbage: $(cat "$T/body")"
grep -qiE "AddressSanitizer|runtime error" "$T/bridge.log" && fail "sanitizer report"

note "max_clients: streams beyond max_clients - 2 are refused with 503"
# from three loopback addresses: one address may hold only 8 connections
i=0
while [ $i -lt 9 ]; do
	curl -sS -N --interface "127.0.0.$((i % 3 + 2))" "$URL/events" > "$T/extra-$i.out" 2>&1 &
	PIDS="$PIDS $!"; i=$((i + 1))
done
i=0
while [ $i -lt 9 ]; do
	wait_count "$T/extra-$i.out" '^event: hello$|too many' 1 || fail "extra stream $i: nothing"
	i=$((i + 1))
done
opened=$(grep -l '^event: hello$' "$T"/extra-*.out | wc -l)
[ "$opened" -eq 9 ] || fail "$opened of 9 more streams opened (10 slots in all)"
expect 503 GET /events
jq -e '.error | test("too many")' "$T/body" > /dev/null || fail "503 body: $(cat "$T/body")"
expect 200 GET /healthz

note "read-only without a password; a non-loopback bind needs one"
# a clean stop with 10 /events streams open
kill "$BRIDGE_PID"
st=0; wait "$BRIDGE_PID" || st=$?
[ "$st" -eq 0 ] || fail "the bridge exited with $st at SIGTERM: $(tail -5 "$T/bridge.log")"
grep -qiE "AddressSanitizer|runtime error|LeakSanitizer" "$T/bridge.log" && fail "sanitizer report at stop"
HTTP_PORT=$(free_port); URL="http://127.0.0.1:$HTTP_PORT"
# a www_dir of our own, without index.html: warned at start
mkdir "$T/www" && cp "$top_srcdir/www/app.js" "$T/www/"
printf 'body { color: red; }\n' > "$T/www/style.css"
write_config "$T/ro.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	"http = { port = $HTTP_PORT; www_dir = \"$T/www\"; };"
start_bridge "$T/ro.conf"
grep -q "$T/www/index.html is missing" "$T/bridge.log" || fail "no warning for a missing index.html"
expect 404 GET /
expect 200 GET /style.css
grep -q red "$T/body" || fail "style.css: $(cat "$T/body")"

note "the page's files are read at start and at SIGHUP, not at each request"
cp "$top_srcdir/www/index.html" "$T/www/"
printf 'body { color: blue; }\n' > "$T/www/style.css"
expect 404 GET /
expect 200 GET /style.css
grep -q red "$T/body" || fail "style.css read again without SIGHUP: $(cat "$T/body")"
RED_ETAG=$(etag /style.css)
kill -HUP "$BRIDGE_PID"
page_back() { [ "$(code GET /)" = 200 ]; }
wait_until "$WAIT_S" page_back || fail "index.html not served after SIGHUP"
expect 200 GET /style.css
grep -q blue "$T/body" || fail "style.css after SIGHUP: $(cat "$T/body")"
# changed: a browser asking with the old tag gets the new file
expect 200 GET /style.css -H "If-None-Match: $RED_ETAG"
grep -q blue "$T/body" || fail "style.css for the old ETag: $(cat "$T/body")"
expect 403 POST "$Q" -d "$BODY" -H "$AUTH"
jq -e '.error | test("read-only")' "$T/body" > /dev/null || fail "403 body: $(cat "$T/body")"
expect 200 GET /api/bridge
jq -e '.writable == false' "$T/body" > /dev/null || fail "writable: $(cat "$T/body")"
note "/events: the broker's connection, lost and back, as \`bridge\` events"
curl -sS -N "$URL/events" > "$T/sse-mq.out" 2> "$T/sse-mq.err" &
PIDS="$PIDS $!"
wait_count "$T/sse-mq.out" '^event: hello$' 1 || fail "no hello"
# and `lorabridge top`'s header (its tables printed at each event)
"$LORABRIDGE" top --url "$URL" > "$T/top-mq.out" 2> "$T/top-mq.err" < /dev/null &
PIDS="$PIDS $!"
wait_for "$T/top-mq.out" "MQTT connected" "$WAIT_S" || fail "top: $(cat "$T/top-mq.err")"
# bridge_states: the mqttConnected of each `bridge` event, in order
bridge_states() { grep -A1 '^event: bridge$' "$T/sse-mq.out" | sed -n 's/^data: //p' |
	jq -r '.mqttConnected' | tr '\n' ' '; }
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true
mq_down() { [ "$(bridge_states)" = "false " ]; }
wait_until "$WAIT_S" mq_down || fail "no bridge event saying MQTT is down: $(bridge_states)"
wait_for "$T/top-mq.out" "MQTT not connected" "$WAIT_S" || fail "top: $(tail -n 3 "$T/top-mq.out")"
expect 503 GET /healthz
start_broker "$MQTT_PORT"
mq_back() { [ "$(bridge_states)" = "false true " ]; }
wait_until "$WAIT_S" mq_back || fail "no bridge event saying MQTT is back: $(bridge_states)"
grep -A1 '^event: bridge$' "$T/sse-mq.out" | sed -n '$s/^data: //p' | jq -e '.clientId and .region
	and .writable == false' > /dev/null || fail "bridge event: $(tail -n 3 "$T/sse-mq.out")"
expect 200 GET /healthz
write_config "$T/open.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	"http = { bind = \"0.0.0.0\"; port = $HTTP_PORT; };"
if "$LORABRIDGE" --check-config -c "$T/open.conf" > "$T/open.err" 2>&1; then
	fail "a non-loopback bind without a password was accepted"
fi
grep -q 'http.bind: "0.0.0.0" is not a loopback address: set http.password' "$T/open.err" \
	|| fail "message: $(cat "$T/open.err")"

note "the page's port taken: the bridge runs without it, and the page comes up once it is free"
kill "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
HTTP_PORT=$(free_port); URL="http://127.0.0.1:$HTTP_PORT"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").write("listening\n"); time.sleep(600)' "$HTTP_PORT" "$T/holder.out" &
HOLDER_PID=$!; PIDS="$PIDS $HOLDER_PID"
wait_count "$T/holder.out" '^listening$' 1 || fail "the port holder did not listen"
write_config "$T/taken.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	"http = { port = $HTTP_PORT; www_dir = \"$top_srcdir/www\"; };"
start_bridge "$T/taken.conf"
TAKEN="web page: cannot listen on 127.0.0.1 port $HTTP_PORT"
wait_count "$T/bridge.log" "$TAKEN" 1 || fail "no error for the taken port: $(cat "$T/bridge.log")"
n0=$(ups)
sim --rate 20 --count $N_DEV --fcnt-start 400 > "$T/sim4.out" 2>&1 || fail "sim: $(tail -3 "$T/sim4.out")"
wait_count "$T/all.out" '^application/sim/device/[0-9a-f]{16}/event/up ' $((n0 + N_DEV)) \
	|| fail "no uplinks without the page"
kill "$HOLDER_PID"; wait "$HOLDER_PID" 2>/dev/null || true
api_up() { [ "$(code GET /api/bridge 2> /dev/null)" = 200 ]; }
wait_until 40 api_up || fail "the page did not come up once its port was free: $(tail "$T/bridge.log")"
grep -q "web page and API on $URL/" "$T/bridge.log" || fail "no log line for the page's start"
[ "$(count_lines "$T/bridge.log" "$TAKEN")" -eq 1 ] || fail "the taken port said more than once"
grep -qiE "AddressSanitizer|runtime error" "$T/bridge.log" && fail "sanitizer report"
note "ok"
