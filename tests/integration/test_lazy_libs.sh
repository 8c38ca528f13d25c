#!/bin/sh
# SPDX-License-Identifier: MIT
# libcurl and libmicrohttpd are loaded only when a feature needs them
# (src/io/dynlib.h), seen in the bridge's /proc/PID/maps:
#  1. no integrations, no `http` group: neither library (nor GnuTLS, which
#     only they bring) is mapped, and uplinks are published as usual;
#  2. an `http` group: libmicrohttpd is mapped and /healthz answers 200;
#     libcurl is still not mapped;
#  3. a webhook integration: libcurl is mapped and an uplink reaches the
#     webhook receiver;
#  4. OpenSSL's configuration file is read only when TLS may be used (an
#     integration, mqtt.ca_file): one asking for FIPS implementations, which
#     this system lacks, changes nothing without them, and stops the start
#     with an integration (no digest can be fetched once it is read);
#  5. an `http` group but libmicrohttpd cannot be loaded (an empty file of
#     its name first in LD_LIBRARY_PATH): the bridge runs without the page,
#     says the library is missing and what to install, and does not say it
#     tries again (it would never load).
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub python3 curl
RECV="$top_srcdir/tests/integration/http_receiver.py"
[ -z "${LB_EMULATOR:-}" ] || { echo "SKIP: /proc/PID/maps is the emulator's"; exit 77; }

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); HTTP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 2 --seed 31 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
subscribe up 'application/+/device/+/event/up'

# mapped NAME: the bridge has a file mapped whose name starts with NAME.
mapped() { grep -q "/$1[^/]*\$" "/proc/$BRIDGE_PID/maps"; }
# uplinks: one more uplink from each device (frame counters going on from
# the last run's), then wait until the subscriber has them all.
UPS=0
uplinks() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 2 --seed 31 --count 2 --rate 50 \
		--fcnt-start "$UPS" --quiet 2> "$T/sim.err" || fail "sim: $(tail -3 "$T/sim.err")"
	UPS=$((UPS + 2))
	wait_count "$T/up.out" '/event/up ' "$UPS" || fail "uplinks not published"
}
stop() { kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"; }

note "1. defaults: neither library loaded"
write_config "$T/plain.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "$NO_MAC_DOWNLINK"
start_bridge "$T/plain.conf"
uplinks
for lib in libcurl libmicrohttpd libgnutls; do
	! mapped "$lib" || fail "$lib loaded without integrations or http: $(grep "$lib" "/proc/$BRIDGE_PID/maps")"
done
stop

note "2. http on: libmicrohttpd loaded, the server answers"
write_config "$T/http.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "$NO_MAC_DOWNLINK" \
	"http = { bind = \"127.0.0.1\"; port = $HTTP_PORT; www_dir = \"$top_srcdir/www\"; };"
start_bridge "$T/http.conf"
mapped libmicrohttpd || fail "libmicrohttpd not loaded with http on"
! mapped libcurl || fail "libcurl loaded without integrations"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/healthz") ||
	fail "GET /healthz"
[ "$code" = 200 ] || fail "/healthz answered $code"
uplinks
stop

note "3. a webhook: libcurl loaded, the uplink delivered"
python3 "$RECV" 0 "$T/hook.req" 2> "$T/hook.err" &
PIDS="$PIDS $!"
wait_until "$WAIT_S" test -s "$T/hook.req.port" || fail "receiver: $(cat "$T/hook.err")"
HOOK_PORT=$(cat "$T/hook.req.port")
write_config "$T/hook.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "$NO_MAC_DOWNLINK" \
	"integrations = { http = ( { name = \"hook\"; url = \"http://127.0.0.1:$HOOK_PORT/\";
		events = [\"up\"]; } ); };"
start_bridge "$T/hook.conf"
mapped libcurl || fail "libcurl not loaded with an integration"
! mapped libmicrohttpd || fail "libmicrohttpd loaded without http"
uplinks
hook_has() { [ "$(count_lines "$T/hook.req" '"fCnt"')" -ge 2 ]; }
wait_until "$WAIT_S" hook_has || fail "webhook got $(count_lines "$T/hook.req" .) requests"
stop

note "4. OpenSSL's configuration read only when TLS may be used"
cat > "$T/fips.cnf" <<CNF
openssl_conf = lb_init
[lb_init]
alg_section = lb_alg
[lb_alg]
default_properties = fips=yes
CNF
# Only the bridge sees it: the simulator computes MICs with OpenSSL too.
OPENSSL_CONF="$T/fips.cnf"
export OPENSSL_CONF
start_bridge "$T/plain.conf"
unset OPENSSL_CONF
uplinks
stop
rc=0
OPENSSL_CONF="$T/fips.cnf" timeout "$WAIT_S" "$LORABRIDGE" -f -c "$T/hook.conf" \
	> "$T/fips.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "the bridge with an integration ignored openssl.cnf (exit $rc)"
grep -q "start-up failed: crypto library failure" "$T/fips.log" ||
	fail "no crypto failure with openssl.cnf read: $(tail -3 "$T/fips.log")"

note "5. libmicrohttpd missing: the bridge runs without the page, no retries"
mkdir -p "$T/nolib"
: > "$T/nolib/libmicrohttpd.so.12"
LD_LIBRARY_PATH="$T/nolib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
start_bridge "$T/http.conf"
unset LD_LIBRARY_PATH
uplinks
grep -q "libmicrohttpd is missing .*install libmicrohttpd" "$T/bridge.log" ||
	fail "no 'libmicrohttpd is missing ... install': $(grep -i web "$T/bridge.log")"
! grep -q "tries again" "$T/bridge.log" || fail "a retry announced: $(grep "tries again" "$T/bridge.log")"
! mapped libmicrohttpd || fail "libmicrohttpd mapped though its file is empty"
! curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" || fail "/healthz answered"
stop
echo "PASS: libcurl and libmicrohttpd loaded only when configured, openssl.cnf only for TLS," \
	"a missing libmicrohttpd said without retries"
