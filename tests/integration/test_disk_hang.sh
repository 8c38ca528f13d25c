#!/bin/sh
# SPDX-License-Identifier: MIT
# A disk that hangs in the WAL's sync off the loop (README "State
# directory", "The disk's syncs"): the bridge's loop goes on, but every
# event waits, so after state.sync_hang_ms (here 3 s; 20 s by default) the
# bridge logs it (error; again after 3, then 6 s: the intervals double up
# to a minute) and stops notifying systemd's watchdog (WATCHDOG=1), so
# that systemd restarts it; the bound does not depend on the watchdog's
# period (here WATCHDOG_USEC = 1.5 s: the pings go on for the first 3 s,
# some watchdog turns of 0.75 s).
# Once the sync completes, the events go out, the pings resume and the
# bridge says so, once (notice). Without a watchdog the hang is logged all
# the same, at the next turn of the STATUS timer (every 5 s).
# The hang is the LD_PRELOAD shim hang_sync.so (built by `make
# check`): while $T/hang exists, a sync of the -wal submitted to io_uring
# completes only when a byte is written to $T/hang.fifo. systemd's
# notification socket is notify_socket.py's; markers sent through it
# tell which pings came between two moments of the test, without clocks.
# Then a checkpoint pass whose helper's sync hangs (the shim again, on
# the helper's syncs: $T/ckpt, $T/ckpt.fifo): said
# slow after 3 x state.sync_hang_ms, again with the doubling back-off, its
# end once; and a closing pass that begins while a WAL sync said to hang
# is in flight: that sync's end is said when it is reaped.
# Last, a read-only disk (the same shim: writes to the WAL fail with
# EROFS): the commit error names the errno, /healthz answers 503 "state
# commits failing", /metrics has lorabridge_store_failing 1 and the STATUS
# line "; STATE DISK FAILING"; once the disk takes writes the recovery is
# said. With commits failing (ENOSPC: a full disk) and the broker gone,
# /healthz gives both reasons; a stop then exits with 3.
. "$(dirname "$0")/lib.sh"
require "$MOSQUITTO" mosquitto_sub jq python3 mkfifo curl
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
	"state = { sync_hang_ms = 3000; };" "$NO_MAC_DOWNLINK" "$NO_MAC_APPS"
subscribe all 'application/+/device/+/event/up' 'lorabridge/#'

python3 "$NS" listen "$T/notify.sock" "$T/notify.out" 2> "$T/notify.err" &
PIDS="$PIDS $!"
wait_until "$WAIT_S" test -S "$T/notify.sock" || fail "no notification socket: $(cat "$T/notify.err")"
mkfifo "$T/hang.fifo"
# Held open read-write here: a byte written through it never waits for a
# reader (a bridge that died would leave `printf x > FIFO` blocked).
exec 3<> "$T/hang.fifo"
release() { printf x >&3; }
# and the checkpoint helper's (its sync waits in the helper's thread)
mkfifo "$T/ckpt.fifo"
exec 4<> "$T/ckpt.fifo"
release_ckpt() { printf x >&4; }
# shq WORD: WORD quoted for the shell.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
# hang_bridge FILE [VAR=VALUE...]: FILE runs the bridge under the shim,
# with these variables and none of systemd's else (exec: $! is the
# bridge), without the test's descriptor of the FIFO. ASan wants its
# runtime first among the preloaded libraries; the shim has none of its
# own. (LD_PRELOAD itself takes no path with a blank.)
LB_REAL="$LORABRIDGE"
hang_bridge() {
	_hb_f=$1; shift
	_hb_vars=""
	for _hb_v in "$@"; do _hb_vars="$_hb_vars $(shq "$_hb_v")"; done
	cat > "$_hb_f" << EOF
#!/bin/sh
exec env -u WATCHDOG_PID -u WATCHDOG_USEC -u NOTIFY_SOCKET $(shq "LD_PRELOAD=$SHIM") \\
	$(shq "LB_TEST_HANG_FLAG=$T/hang") $(shq "LB_TEST_HANG_FIFO=$T/hang.fifo")$_hb_vars \\
	$(shq "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0") \\
	$(shq "$LB_REAL") "\$@" 3<&- 4<&-
EOF
	chmod +x "$_hb_f"
}
# The bridge's line on how its syncs are made: only an explicit "io_uring
# unavailable" skips the test; neither line fails it.
URING_NO='notice +\[store\] io_uring unavailable'
URING_YES='\[store\] commits are synced off the loop \(io_uring\)'
uring_said() { grep -qE "$URING_NO|$URING_YES" "$T/bridge.log"; }
_gone() { ! kill -0 "$1" 2> /dev/null; }
# stop_bridge: SIGTERM, and its end waited for, with a deadline.
stop_bridge() {
	kill "$BRIDGE_PID"
	wait_until "$WAIT_S" _gone "$BRIDGE_PID" || fail "the bridge did not stop"
	wait "$BRIDGE_PID" 2> /dev/null || true
}
HANG='error +\[bridge\] a sync in the state directory .* has not completed for [0-9]+\.[0-9] s: '\
'the disk hangs'
DONE='notice +\[bridge\] the sync in the state directory completed after [0-9]+\.[0-9] s'
# secs_of PATTERN N: the seconds that the Nth line matching PATTERN says.
secs_of() {
	grep -E "$1" "$T/bridge.log" | sed -n "${2}p" |
		sed -E 's/.* (for|after) ([0-9]+\.[0-9]) s.*/\2/'
}
# ge A B: whether A >= B (seconds with one decimal)
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
# minus A B: A - B
minus() { awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; }

# As systemd starts it, with a watchdog of 1.5 s.
hang_bridge "$T/lb-hang" NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1500000
LORABRIDGE="$T/lb-hang"
start_bridge "$T/lb.conf"
wait_until "$WAIT_S" uring_said || fail "no line on io_uring: $(tail -5 "$T/bridge.log")"
if grep -qE "$URING_NO" "$T/bridge.log"; then
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
# notified WHAT A [B]: the notifications starting with WHAT between
# markers A and B (or after A)
notified() {
	awk -v w="$1" -v a="MARK-$2" -v b="MARK-${3:-}" '$0 == a { on = 1; next }
		$0 == b { on = 0 } on && index($0, w) == 1 { n++ } END { print n + 0 }' "$T/notify.out"
}
# pings A [B]: the WATCHDOG=1 between markers A and B (or after A)
pings() { notified WATCHDOG=1 "$@"; }
# _pinged_after A [N]: at least N (1) WATCHDOG=1 after marker A
_pinged_after() { [ "$(pings "$1")" -ge "${2:-1}" ]; }

wait_count "$T/notify.out" '^READY=1' 1 || fail "no READY=1"
mark 0
wait_until "$WAIT_S" _pinged_after 0 || fail "no WATCHDOG=1 while the disk works"

note "the WAL's sync hangs: the up events wait; after 3 s the watchdog is no longer notified"
touch "$T/hang"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 91 --gateways 1 --count 5 --rate 50 \
	--keepalive 0 --quiet 2> "$T/sim.err" || fail "sim exit: $(tail -3 "$T/sim.err")"
wait_until "$WAIT_S" test -s "$T/hang.held" || fail "no sync of the -wal held"
mark held
wait_count "$T/bridge.log" "$HANG" 1 || fail "the hang is not logged: $(tail -5 "$T/bridge.log")"
mark 1
# After state.sync_hang_ms, not after two thirds of the watchdog's 1.5 s:
# a disk that is only slow is no hang, the watchdog notified meanwhile.
N1=$(secs_of "$HANG" 1)
ge "$N1" 3.0 || fail "the hang was told after $N1 s, before state.sync_hang_ms"
[ "$(pings held 1)" -ge 1 ] || fail "no WATCHDOG=1 while the sync was within its bound"
# Said again after 3 s, then 6 s (the watchdog's timer turns every 0.75 s).
wait_count "$T/bridge.log" "$HANG" 3 || fail "the hang is not said again"
mark 2
N2=$(secs_of "$HANG" 2); N3=$(secs_of "$HANG" 3)
ge "$(minus "$N2" "$N1")" 3.0 || fail "said after $N1 s, then $N2 s: no back-off"
ge "$(minus "$N3" "$N2")" 6.0 || fail "said after $N2 s, then $N3 s: the interval did not double"
[ "$(pings 1 2)" -eq 0 ] || fail "$(pings 1 2) WATCHDOG=1 while the sync hung"
[ "$(ups)" -eq 0 ] || fail "$(ups) up events published before their sync completed"
[ "$(count_lines "$T/bridge.log" "$DONE")" -eq 0 ] || fail "a completion said while it hung"

note "the sync completes: the events go out, the pings resume, the end is said once"
rm "$T/hang"
release
mark 3
_all_up() { [ "$(ups)" -ge 5 ]; }
wait_until "$WAIT_S" _all_up || fail "$(ups) of 5 up events after the sync completed"
wait_until "$WAIT_S" _pinged_after 3 || fail "no WATCHDOG=1 after the sync completed"
wait_count "$T/bridge.log" "$DONE" 1 || fail "the sync's completion is not said"
D=$(secs_of "$DONE" 1)
ge "$D" "$N3" || fail "completed after $D s, but it was said to hang for $N3 s"
mark 4
wait_until "$WAIT_S" _pinged_after 4 2 || fail "no WATCHDOG=1 after the completion was said"
[ "$(count_lines "$T/bridge.log" "$DONE")" -eq 1 ] || fail "the completion said more than once"
[ "$(count_lines "$T/hang.held" '^held$')" -eq 1 ] || fail "syncs held after the flag went"

note "without a watchdog (no systemd): the hang and its end are logged all the same"
stop_bridge
hang_bridge "$T/lb-nowd"
LORABRIDGE="$T/lb-nowd"
start_bridge "$T/lb.conf"
touch "$T/hang"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 91 --gateways 1 --count 5 --rate 50 \
	--keepalive 0 --fcnt-start 100 --quiet 2> "$T/sim2.err" ||
	fail "sim exit: $(tail -3 "$T/sim2.err")"
wait_count "$T/hang.held" '^held$' 2 || fail "no sync of the -wal held"
# after 3 s, at the next turn of the STATUS timer (every 5 s)
wait_count "$T/bridge.log" "$HANG" 1 || fail "the hang is not logged"
grep -E "$HANG" "$T/bridge.log" | grep -q 'watchdog' && fail "a watchdog named where none is"
[ "$(ups)" -eq 5 ] || fail "$(ups) up events published before their sync completed"
rm "$T/hang"
release
_all_up2() { [ "$(ups)" -ge 10 ]; }
wait_until "$WAIT_S" _all_up2 || fail "$(ups) of 10 up events after the sync completed"
wait_count "$T/bridge.log" "$DONE" 1 || fail "the sync's completion is not said"

note "a checkpoint pass that hangs: said after 3 x state.sync_hang_ms, again, its end once"
# A pass runs once the WAL holds 4000 frames (16 MiB): uplinks, committed
# every 10 ms, until one starts; it is held at its start (its helper's
# first sync, of the daemon's -wal descriptor).
# state.sync_hang_ms = 1 s: said after 3 s, again after 3 then 6 s, at
# the turns of the STATUS timer (every 5 s), which the notifications show.
stop_bridge
write_config "$T/lb-ckpt.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	"state = { sync_hang_ms = 1000; commit_ms = 10; };" "$NO_MAC_DOWNLINK" "$NO_MAC_APPS"
hang_bridge "$T/lb-ckpt" NOTIFY_SOCKET="$T/notify.sock" LB_TEST_HANG_CKPT_FLAG="$T/ckpt" \
	LB_TEST_HANG_CKPT_FIFO="$T/ckpt.fifo"
LORABRIDGE="$T/lb-ckpt"
start_bridge "$T/lb-ckpt.conf"
# offer_at RATE COUNT: uplinks of the 5 devices, their counters ahead of
# every earlier offer's
FC=1000
offer_at() {
	"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 91 --gateways 1 --count "$2" \
		--rate "$1" --prebuild --keepalive 0 --fcnt-start $FC --quiet 2> "$T/sim-$FC.err" ||
		fail "sim exit: $(tail -3 "$T/sim-$FC.err")"
}
# fill_until_held N: uplinks until N checkpoint passes were held in all
held_ckpt() { _hc=$(count_lines "$T/ckpt.held" '^held$'); echo "${_hc:-0}"; }
fill_until_held() {
	_fu_k=0
	until [ "$(held_ckpt)" -ge "$1" ]; do
		[ $_fu_k -lt 12 ] || fail "no checkpoint pass after $((_fu_k * 3000)) uplinks"
		offer_at 3000 3000
		FC=$((FC + 1000)); _fu_k=$((_fu_k + 1))
	done
}
touch "$T/ckpt"
fill_until_held 1
CK='warn +\[bridge\] the WAL checkpoint.s helper process has run for [0-9]+\.[0-9] s'
CKDONE='notice +\[bridge\] the WAL checkpoint.s helper process ended after [0-9]+\.[0-9] s'
# (3 to 8 s, then at the next turns 3 and 6 s on: 23 s at most)
wait_count "$T/bridge.log" "$CK" 3 60 || fail "the slow checkpoint is not said 3 times"
C1=$(secs_of "$CK" 1); C2=$(secs_of "$CK" 2); C3=$(secs_of "$CK" 3)
ge "$C1" 3.0 || fail "said slow after $C1 s, before 3 x state.sync_hang_ms"
ge "$(minus "$C2" "$C1")" 3.0 || fail "said after $C1 s, then $C2 s: no back-off"
ge "$(minus "$C3" "$C2")" 6.0 || fail "said after $C2 s, then $C3 s: the interval did not double"
[ "$(count_lines "$T/bridge.log" "$CKDONE")" -eq 0 ] || fail "its end said while it ran"
rm "$T/ckpt"
release_ckpt
wait_count "$T/bridge.log" "$CKDONE" 1 || fail "the checkpoint's end is not said"
D=$(secs_of "$CKDONE" 1)
ge "$D" "$C3" || fail "ended after $D s, but it was said to run for $C3 s"
# once: not again at the next turn of the STATUS timer
mark 5
_status_after_5() { [ "$(notified STATUS= 5)" -ge 1 ]; }
wait_until "$WAIT_S" _status_after_5 || fail "no STATUS after the checkpoint's end"
[ "$(count_lines "$T/bridge.log" "$CKDONE")" -eq 1 ] || fail "the checkpoint's end said twice"
[ "$(count_lines "$T/bridge.log" "$CK")" -eq 3 ] || fail "said slow again after its end"
[ "$(held_ckpt)" -eq 1 ] || fail "syncs held after the flag went"

note "a closing pass begun while a WAL sync said to hang is in flight: that sync's end, reaped"
# Both count as syncs that hang (store_sync_stalled_ms()); the one said
# ends when it is reaped, not when the later one began, which may be in
# flight, past its bound, at that reap (bridge.c stall_over()). The WAL's
# sync held, and said; then uplinks until the WAL is full and the passes
# have left a closing one, held after its copy (its sync of the database
# file, which an open pass makes only when no commit overtook it: such a
# pass is let go).
stop_bridge
hang_bridge "$T/lb-close" NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000 \
	LB_TEST_HANG_CKPT_FLAG="$T/ckpt" LB_TEST_HANG_CKPT_FIFO="$T/ckpt.fifo" \
	LB_TEST_HANG_CKPT_FILE=/lorabridge.db
LORABRIDGE="$T/lb-close"
echo 'log_level = "debug";' >> "$T/lb-ckpt.conf"
start_bridge "$T/lb-ckpt.conf"
W0=$(count_lines "$T/hang.held" '^held$')
touch "$T/hang" "$T/ckpt"
offer_at 3000 300
FC=$((FC + 1000))
wait_count "$T/hang.held" '^held$' $((W0 + 1)) || fail "no sync of the -wal held"
wait_count "$T/bridge.log" "$HANG" 1 || fail "the hang is not logged"
CLOSING='checkpoint helper [0-9]+ started \(closing pass\)'
closings() { count_lines "$T/bridge.log" "$CLOSING"; }
REL=$(held_ckpt)
_k=0
until [ "$(closings)" -ge 1 ]; do
	[ $_k -lt 16 ] || fail "no closing pass"
	if [ "$(held_ckpt)" -gt "$REL" ]; then
		release_ckpt
		REL=$((REL + 1))
	else
		offer_at 3000 3000
		FC=$((FC + 1000))
	fi
	_k=$((_k + 1))
done
_held_more() { [ "$(held_ckpt)" -gt "$REL" ]; }
wait_until "$WAIT_S" _held_more || fail "the closing pass's sync is not held"
# Two more lines of the WAL's hang: the closing pass has run one interval
# (at least the bound) by the second.
H=$(count_lines "$T/bridge.log" "$HANG")
wait_count "$T/bridge.log" "$HANG" $((H + 2)) || fail "the hang is not said again"
NL=$(secs_of "$HANG" $((H + 2)))
rm "$T/hang"
release
wait_count "$T/bridge.log" "$DONE" 1 || fail "the WAL sync's end is not said"
D=$(secs_of "$DONE" 1)
ge "$D" "$NL" || fail "the WAL's sync ended after $D s, but it was said to hang for $NL s"
rm "$T/ckpt"
release_ckpt
wait_count "$T/bridge.log" "$DONE" 2 || fail "the closing pass's end is not said"
stop_bridge

note "a read-only disk: the errno said; /healthz, /metrics and STATUS say so; the recovery said"
HTTP_PORT=$(free_port); URL="http://127.0.0.1:$HTTP_PORT"
write_config "$T/ro.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" "dedup_window_ms = 0;" \
	"$NO_MAC_DOWNLINK" "$NO_MAC_APPS" "http = { port = $HTTP_PORT; };"
hang_bridge "$T/lb-ro" NOTIFY_SOCKET="$T/notify.sock" LB_TEST_WRITE_FLAG="$T/wfail"
LORABRIDGE="$T/lb-ro"
start_bridge "$T/ro.conf"
echo EROFS > "$T/wfail"
# counters ahead of the checkpoint parts' (FC, the next unused)
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 91 --gateways 1 --count 5 --rate 50 \
	--keepalive 0 --fcnt-start "$FC" --quiet 2> "$T/sim3.err" ||
	fail "sim exit: $(tail -3 "$T/sim3.err")"
FAILED='\[store\] commit of batch [0-9]+ .* failed: .*; kept in memory'
wait_count "$T/bridge.log" "$FAILED" 1 || fail "no commit error"
grep -E "$FAILED" "$T/bridge.log" | head -n 1 | grep -q 'last OS error: Read-only file system' ||
	fail "the commit error lacks the errno: $(grep -E "$FAILED" "$T/bridge.log" | head -n 1)"
health() { curl -sS -o "$T/health" -w '%{http_code}' "$URL/healthz"; }
_health_is() { [ "$(health)" = "$1" ]; }
_metric_is() { curl -sS "$URL/metrics" | grep -qx "$1"; }
wait_until "$WAIT_S" _health_is 503 || fail "/healthz $(health) while commits fail"
grep -q '"reason":"state commits failing"' "$T/health" || fail "/healthz: $(cat "$T/health")"
wait_until "$WAIT_S" _metric_is 'lorabridge_store_failing 1' || fail "no lorabridge_store_failing 1"
curl -sS "$URL/metrics" | grep -qE '^lorabridge_store_failures_total [1-9]' ||
	fail "no lorabridge_store_failures_total"
wait_count "$T/notify.out" 'STATUS=[^|]*; STATE DISK FAILING' 1 || fail "STATUS does not say it"
rm "$T/wfail"
RECOVERED='notice +\[store\] state commits succeed again, after [0-9]+\.[0-9]{3} s of [1-9][0-9]* '\
'failed commit'
wait_count "$T/bridge.log" "$RECOVERED" 1 || fail "the recovery is not said"
wait_until "$WAIT_S" _health_is 200 || fail "/healthz $(health) after the recovery"
_metric_is 'lorabridge_store_failing 0' || fail "lorabridge_store_failing after the recovery"
# this part's up events by their counter (one per device, fCnt FC): a count
# taken at the start would also see the previous part's leftovers arrive
ups3() { count_lines "$T/all.out" "/event/up .*\"fCnt\":$FC[,}]"; }
_all_up3() { [ "$(ups3)" -ge 5 ]; }
wait_until "$WAIT_S" _all_up3 || fail "$(ups3) of 5 up events after the recovery"

note "a stop while commits fail (a full disk) loses the staged writes: exit status 3"
n_failed=$(count_lines "$T/bridge.log" "$FAILED")
: > "$T/wfail"
"$SIM" --server "127.0.0.1:$UDP_PORT" --devices 5 --seed 91 --gateways 1 --count 5 --rate 50 \
	--keepalive 0 --fcnt-start $((FC + 100)) --quiet 2> "$T/sim4.err" ||
	fail "sim exit: $(tail -3 "$T/sim4.err")"
wait_count "$T/bridge.log" "$FAILED" $((n_failed + 1)) || fail "no commit error on the full disk"
# the broker gone too: /healthz gives both reasons (not only the broker's)
kill -TERM "$BROKER_PID"; wait "$BROKER_PID" 2> /dev/null || true
BOTH='"reason":"mqtt disconnected; state commits failing"'
_health_both() { health > /dev/null; grep -q "$BOTH" "$T/health"; }
wait_until "$WAIT_S" _health_both || fail "/healthz with the broker down: $(cat "$T/health")"
kill "$BRIDGE_PID"
wait_until "$WAIT_S" _gone "$BRIDGE_PID" || fail "the bridge did not stop"
st=0; wait "$BRIDGE_PID" 2> /dev/null || st=$?
[ "$st" -eq 3 ] || fail "exit status $st at a stop that lost staged writes, want 3"
grep -q 'event(s) lost: never written' "$T/bridge.log" || fail "the lost events are not said"
echo "PASS"
