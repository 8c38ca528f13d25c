#!/bin/sh
# SPDX-License-Identifier: MIT
# A disk that hangs in the WAL's sync off the loop (README "State
# directory", "The disk's syncs"): the bridge's loop goes on, but every
# event waits, so after the bound (two thirds of the watchdog's period, at
# most 20 s: here WATCHDOG_USEC = 1.5 s, so 1 s) the bridge logs it (error)
# and stops notifying systemd's watchdog (WATCHDOG=1), so that systemd
# restarts it; once the sync completes, the events go out and the pings
# resume. Without a watchdog the hang is logged all the same, after 20 s.
# The hang is the LD_PRELOAD shim hang_sync.so (built by `make
# check`): while $T/hang exists, a sync of the -wal submitted to io_uring
# completes only when a byte is written to $T/hang.fifo. systemd's
# notification socket is notify_socket.py's; markers sent through it
# tell which pings came between two moments of the test, without clocks.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq python3 mkfifo
if [ -n "${LB_EMULATOR:-}" ]; then
	echo "SKIP: the shim is built for this machine, not for the emulated bridge"
	exit 77
fi
SHIM="$top_builddir/tests/integration/hang_sync.so"
NS="$top_srcdir/tests/integration/notify_socket.py"
[ -f "$SHIM" ] || fail "$SHIM is missing (make check builds it)"

MQTT_PORT=$(free_port); UDP_PORT=$(free_port)
start_broker "$MQTT_PORT"
"$SIM" --devices 5 --seed 91 --emit-devices "$T/devices.conf" --quiet || fail "sim --emit-devices"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	"$NO_MAC_DOWNLINK" "$NO_MAC_APPS"
subscribe all 'application/+/device/+/event/up' 'lorabridge/#'

python3 "$NS" listen "$T/notify.sock" "$T/notify.out" 2> "$T/notify.err" &
PIDS="$PIDS $!"
wait_until "$WAIT_S" test -S "$T/notify.sock" || fail "no notification socket: $(cat "$T/notify.err")"
mkfifo "$T/hang.fifo"
# hang_bridge FILE [VAR=VALUE...]: FILE runs the bridge under the shim,
# with these variables and none of systemd's else (exec: $! is the
# bridge). ASan wants its runtime first among the preloaded libraries;
# the shim has none of its own.
LB_REAL="$LORABRIDGE"
hang_bridge() {
	_hb_f=$1; shift
	cat > "$_hb_f" << EOF
#!/bin/sh
exec env -u WATCHDOG_PID -u WATCHDOG_USEC -u NOTIFY_SOCKET LD_PRELOAD="$SHIM" \\
	LB_TEST_HANG_FLAG="$T/hang" LB_TEST_HANG_FIFO="$T/hang.fifo" $* \\
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$LB_REAL" "\$@"
EOF
	chmod +x "$_hb_f"
}
# As systemd starts it, with a watchdog of 1.5 s.
hang_bridge "$T/lb-hang" NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1500000
LORABRIDGE="$T/lb-hang"
start_bridge "$T/lb.conf"
if ! grep -q 'commits are synced off the loop (io_uring)' "$T/bridge.log"; then
	echo "SKIP: no io_uring here: each sync holds the loop, and so the pings"
	exit 77
fi

ups() { count_lines "$T/all.out" '^application/sim/device/[0-9a-f]{16}/event/up '; }
# mark N: a marker through the socket, once the listener has it: every
# notification the bridge sent before is in notify.out above it.
mark() {
	python3 "$NS" send "$T/notify.sock" "MARK-$1"
	wait_count "$T/notify.out" "^MARK-$1\$" 1 || fail "marker $1 not received"
}
# pings A [B]: the WATCHDOG=1 between markers A and B (or after A)
pings() {
	awk -v a="MARK-$1" -v b="MARK-${2:-}" '$0 == a { on = 1; next } $0 == b { on = 0 }
		on && $0 == "WATCHDOG=1" { n++ } END { print n + 0 }' "$T/notify.out"
}
_pinged_after() { [ "$(pings "$1")" -ge 1 ]; }

wait_count "$T/notify.out" '^READY=1' 1 || fail "no READY=1"
mark 0
wait_until "$WAIT_S" _pinged_after 0 || fail "no WATCHDOG=1 while the disk works"

note "the WAL's sync hangs: the up events wait, the watchdog is no longer notified"
touch "$T/hang"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 91 --gateways 1 --count 5 --rate 50 \
	--keepalive 0 --quiet 2> "$T/sim.err" || fail "sim exit: $(tail -3 "$T/sim.err")"
wait_until "$WAIT_S" test -s "$T/hang.held" || fail "no sync of the -wal held"
HANG='error +\[bridge\] a sync in the state directory .* has not completed for [0-9]+ s: the disk hangs'
wait_count "$T/bridge.log" "$HANG" 1 || fail "the hang is not logged: $(tail -5 "$T/bridge.log")"
mark 1
# after the bound that WATCHDOG_USEC set, not the 20 s of WatchdogSec=30s
FIRST=$(grep -m 1 -oE 'has not completed for [0-9]+ s' "$T/bridge.log" | grep -oE '[0-9]+')
[ "$FIRST" -lt 20 ] || fail "the hang was told after $FIRST s"
# Three more lines: three more turns of the watchdog's timer (every
# 0.75 s) on the loop, which runs on.
wait_count "$T/bridge.log" "$HANG" 4 || fail "the hang is not logged at each turn"
mark 2
[ "$(pings 1 2)" -eq 0 ] || fail "$(pings 1 2) WATCHDOG=1 while the sync hung"
[ "$(ups)" -eq 0 ] || fail "$(ups) up events published before their sync completed"

note "the sync completes: the up events go out, the watchdog is notified again"
rm "$T/hang"
printf x > "$T/hang.fifo"
mark 3
_all_up() { [ "$(ups)" -ge 5 ]; }
wait_until "$WAIT_S" _all_up || fail "$(ups) of 5 up events after the sync completed"
wait_until "$WAIT_S" _pinged_after 3 || fail "no WATCHDOG=1 after the sync completed"
[ "$(count_lines "$T/hang.held" '^held$')" -eq 1 ] || fail "syncs held after the flag went"

note "without a watchdog (no systemd): the hang is logged all the same, after 20 s"
kill "$BRIDGE_PID"
wait "$BRIDGE_PID" 2> /dev/null || true
hang_bridge "$T/lb-nowd"
LORABRIDGE="$T/lb-nowd"
start_bridge "$T/lb.conf"
touch "$T/hang"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 91 --gateways 1 --count 5 --rate 50 \
	--keepalive 0 --fcnt-start 100 --quiet 2> "$T/sim2.err" ||
	fail "sim exit: $(tail -3 "$T/sim2.err")"
wait_count "$T/hang.held" '^held$' 2 || fail "no sync of the -wal held"
# 20 s, then the next turn of the STATUS timer (every 5 s)
wait_count "$T/bridge.log" "$HANG" 1 $((WAIT_S + 25)) || fail "the hang is not logged"
grep -E "$HANG" "$T/bridge.log" | grep -q 'watchdog' && fail "a watchdog named where none is"
[ "$(ups)" -eq 5 ] || fail "$(ups) up events published before their sync completed"
rm "$T/hang"
printf x > "$T/hang.fifo"
_all_up2() { [ "$(ups)" -ge 10 ]; }
wait_until "$WAIT_S" _all_up2 || fail "$(ups) of 10 up events after the sync completed"
echo "PASS"
