#!/bin/sh
# SPDX-License-Identifier: MIT
# The web page in a real browser (tests/browser/web_page.test.js: Debian's
# headless Chromium driven by playwright-core) against the real bridge with
# its HTTP server on, a private mosquitto and two simulated gateways, each
# hearing its own devices (3 + 2, CayenneLPP payloads decoded by the
# application's codec): both gateways online, the 5 devices' values updating
# live, a downlink queued through the page's form (with the password)
# delivered as the simulated device checks it, and a stopped gateway
# turning red within its offline timeout. Saves a screenshot as
# $top_builddir/tests/web-page.png (and web-page-narrow.png).
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" ss node
BROWSER_DIR=$top_srcdir/tests/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "SKIP: $CHROMIUM not installed (scripts/deps.sh installs it)"; exit 77; }
[ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] ||
	{ echo "SKIP: playwright-core not installed (scripts/deps.sh runs npm ci in tests/browser)"; exit 77; }

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); HTTP_PORT=$(free_port)
start_broker "$MQTT_PORT"

# Gateway 1 hears devices sim-0..2 (seed 71), gateway 2 other-0..1 (seed
# 72); one of the latter has a name full of markup, shown as text or the
# test fails.
G1=aa555a0000000001 G2=aa555a0000000002
ODD_NAME='<img src=x onerror=alert(1)> & <b>co</b>'
"$SIM" --devices 3 --seed 71 --write-keys "$T/k71.txt" --quiet || fail "sim --write-keys"
"$SIM" --devices 2 --seed 72 --write-keys "$T/k72.txt" --quiet || fail "sim --write-keys"
{ cat "$T/k71.txt"; sed 's/ sim-\([0-9]*\)$/ other-\1/' "$T/k72.txt"; } > "$T/all.keys"
"$SIM" --keys "$T/all.keys" --application demo --emit-devices "$T/devices.conf" --quiet \
	|| fail "sim --emit-devices"
odd=$(printf '%s' "$ODD_NAME" | sed 's/[&/]/\\&/g')
sed -i "s/name = \"other-1\"/name = \"$odd\"/" "$T/devices.conf"
grep -qF 'onerror' "$T/devices.conf" || fail "device not renamed"
DL_DEV=$(awk '$5 == "sim-1" { print $1 }' "$T/k71.txt")

# The password, stored as the hash `lorabridge passwd` prints (few
# iterations: each check costs the bridge's loop that much); not ASCII, as
# the page must send its UTF-8 bytes, which `passwd` hashed.
PASSWORD='web-pägé-密码'
HASH=$(printf '%s\n' "$PASSWORD" | "$LORABRIDGE" passwd --iterations 1000) || fail "lorabridge passwd"

# A gateway is offline 3 s (keepalive_s x offline_after) after its last PULL_DATA.
KEEPALIVE_S=1 OFFLINE_AFTER=3
UDP_EXTRA="keepalive_s = $KEEPALIVE_S; offline_after = $OFFLINE_AFTER;" \
	write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	"applications = ( { name = \"demo\"; codec = \"cayennelpp\"; } );" \
	"http = { bind = \"127.0.0.1\"; port = $HTTP_PORT; password = \"$HASH\"; www_dir = \"$top_srcdir/www\"; };"
"$LORABRIDGE" --check-config -c "$T/lb.conf" > "$T/check.out" 2>&1 || fail "config: $(cat "$T/check.out")"
start_bridge "$T/lb.conf"
wait_port_tcp "$HTTP_PORT" || fail "no HTTP server on $HTTP_PORT: $(tail -5 "$T/bridge.log")"

# gateway EUI SEED N RATE [args]: a simulated packet forwarder with its own
# devices, PULL_DATA every second, a stat report every 2 s; pid in GW_PID.
gateway() {
	eui=$1 seed=$2 n=$3 rate=$4; shift 4
	"$SIM" --server "127.0.0.1:$UDP_PORT" --gateway-eui "$eui" --devices "$n" --seed "$seed" \
		--keepalive "$KEEPALIVE_S" --stat-interval 2 --rate "$rate" --payload cayennelpp \
		--quiet "$@" > "$T/sim-$eui.out" 2> "$T/sim-$eui.err" &
	GW_PID=$!
	PIDS="$PIDS $GW_PID"
}
gateway $G1 71 3 3 --expect-down "$T/down.txt"
gateway $G2 72 2 2; P2=$GW_PID

note "the page at http://127.0.0.1:$HTTP_PORT/ in $CHROMIUM"
mkdir -p "$top_builddir/tests"
rc=0
( cd "$BROWSER_DIR" && URL="http://127.0.0.1:$HTTP_PORT/" PASSWORD="$PASSWORD" \
	GATEWAYS="$G1 $G2" DEVICES=5 DL_DEV="$DL_DEV" DOWN_FILE="$T/down.txt" \
	STOP_PID="$P2" STOP_GW="$G2" OFFLINE_S=$((KEEPALIVE_S * OFFLINE_AFTER)) ODD_NAME="$ODD_NAME" \
	SCREENSHOT="$top_builddir/tests/web-page.png" CHROMIUM="$CHROMIUM" WAIT_S="$WAIT_S" \
	node web_page.test.js ) || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- bridge log (tail)"; tail -n 30 "$T/bridge.log"
	echo "--- $G1 simulator"; cat "$T/sim-$G1.err"
	fail "browser test exit $rc"
fi
kill -TERM "$BRIDGE_PID"; wait "$BRIDGE_PID" || fail "bridge exit status $?"
echo "PASS"
