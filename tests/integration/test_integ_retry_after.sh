#!/bin/sh
# SPDX-License-Identifier: MIT
# Retry-After on a webhook's 503 and 429 answers (http_receiver.py answers
# them): the event is sent again once the server's wait has passed, not
# after the back-off's own first second; a wait beyond retry_max_ms (5 s
# here) is cut to it.
#  1. 503 with "Retry-After: 3": the second attempt comes 3 s or more later.
#  2. 429 with an HTTP-date an hour ahead: the next attempt after about
#     retry_max_ms (5 to 8 s), not an hour later.
# The times are the receiver's arrival times (http_receiver.py OUT.times).
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq python3
RECV="$top_srcdir/tests/integration/http_receiver.py"

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); WEB_PORT=$(free_port)
start_broker "$MQTT_PORT"
echo '{"status": 503, "headers": {"Retry-After": "3"}}' > "$T/web.ctl"
python3 "$RECV" "$WEB_PORT" "$T/web.req" --control "$T/web.ctl" 2> "$T/web.err" &
PIDS="$PIDS $!"
wait_until "$WAIT_S" test -s "$T/web.req.port" || fail "receiver: $(cat "$T/web.err")"

"$SIM" --devices 1 --seed 5 --emit-devices "$T/devices.conf" || fail "sim --emit-devices"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 50;" \
	"$NO_MAC_APPS" "$NO_MAC_DOWNLINK" \
	"integrations = { http = ( { name = \"web\"; url = \"http://127.0.0.1:$WEB_PORT/h\";
	   events = [\"up\"]; parallel = 1; retry_max_ms = 5000; } ); };"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "configuration refused"
subscribe bridge 'lorabridge/#'
start_bridge "$T/lb.conf"
# when the receiver got request $1 (Unix ms): the waits are measured there,
# not when the polling below notices the requests
arrived() { sed -n "${1}p" "$T/web.req.times"; }
reqs_ge() { _n=$(count_lines "$T/web.req" .); [ "${_n:-0}" -ge "$1" ]; }

"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 1 --seed 5 --count 1 --quiet 2> "$T/sim.err" ||
	fail "sim: $(tail -3 "$T/sim.err")"
wait_until "$WAIT_S" reqs_ge 1 || fail "no first request"
# the next answer: 429 with a date an hour ahead (RFC 9110 §5.6.7 IMF-fixdate)
later=$(LC_ALL=C date -u -d '+1 hour' '+%a, %d %b %Y %H:%M:%S GMT')
echo "{\"status\": 429, \"headers\": {\"Retry-After\": \"$later\"}}" > "$T/web.ctl"
wait_until "$WAIT_S" reqs_ge 2 || fail "no second request"
echo '{"status": 200}' > "$T/web.ctl"
wait_until "$WAIT_S" reqs_ge 3 || fail "no third request"
t1=$(arrived 1); t2=$(arrived 2); t3=$(arrived 3)
[ -n "$t1" ] && [ -n "$t2" ] && [ -n "$t3" ] || fail "arrival times: $(cat "$T/web.req.times")"
# each wait starts at the answer, after the arrival; 10 ms for the timers' ms
[ $((t2 - t1)) -ge 2990 ] || fail "503 Retry-After: 3 not waited for: sent again after $((t2 - t1)) ms"
[ $((t3 - t2)) -lt 8000 ] || fail "429 Retry-After an hour ahead not cut to retry_max_ms: $((t3 - t2)) ms"
[ $((t3 - t2)) -ge 4990 ] || fail "429 Retry-After not waited for: sent again after $((t3 - t2)) ms"
wait_stats_cond bridge '.integrations.web.sent == 1 and .integrations.web.retried == 2' ||
	fail "counters: $(last_stats bridge | jq -c .integrations)"
note "Retry-After: 3 waited for ($((t2 - t1)) ms), an hour cut to retry_max_ms ($((t3 - t2)) ms)"
echo PASS
