# SPDX-License-Identifier: MIT
# Shared helpers for the integration tests (sourced, not run).
# Every test runs in its own temp dir, starts a private mosquitto on a free
# loopback port and never touches a system broker. Everything started here is
# killed on exit.

set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
LORABRIDGE=${LORABRIDGE:-$top_builddir/lorabridge}
SIM=${SIM:-$top_builddir/lorabridge-sim}
MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
T=$(mktemp -d "${TMPDIR:-/tmp}/lorabridge-it.XXXXXX")
PIDS=""
# LB_EMULATOR (e.g. "qemu-aarch64", set by scripts/cross-test.sh; the
# multiarch libc6:arm64 provides the loader and the libraries, so no -L):
# the bridge and the simulator are cross-built and run through it,
# everything else (mosquitto, the clients) is native. Each becomes a
# wrapper that execs the emulator, so "$LORABRIDGE" stays one word and $!
# is the emulated program itself: signals and exit status reach it.
if [ -n "${LB_EMULATOR:-}" ]; then
	mkdir "$T/emu"
	for _em in LORABRIDGE SIM; do
		eval "_em_prog=\$$_em"
		_em_w="$T/emu/$(basename "$_em_prog")"
		printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$LB_EMULATOR" "$_em_prog" > "$_em_w"
		chmod +x "$_em_w"
		eval "$_em=\$_em_w"
	done
	# Emulated code runs several times slower: wait longer, same conditions.
	: "${WAIT_S:=90}"
fi
# How long any wait for a condition may take: generous, so that a loaded
# machine (parallel tests, other builds) only makes the tests slower.
: "${WAIT_S:=30}"

# qid NAME: a queue item id for NAME, a UUID (downlink commands refuse
# other ids) that is the same in every run.
qid() {
	printf '%s' "$1" | sha1sum | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/'
}

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
	if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM
. "$top_srcdir/scripts/common.sh"

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "-- $*"; }

require() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || { echo "SKIP: $c not installed"; exit 77; }
	done
}

# start_broker PORT [extra config lines...]
start_broker() {
	port=$1; shift
	conf="$T/mosquitto-$port.conf"
	write_broker_conf "$conf" "$port" "$@"
	"$MOSQUITTO" -c "$conf" > "$T/mosquitto-$port.log" 2>&1 &
	BROKER_PID=$!
	PIDS="$PIDS $BROKER_PID"
	wait_port_tcp "$port" || fail "mosquitto did not start on $port: $(cat "$T/mosquitto-$port.log")"
}

# subscribe NAME TOPIC...: background mosquitto_sub writing "topic payload"
# lines to $T/NAME.out; returns once it is subscribed (sub_ready).
subscribe() {
	name=$1; shift
	args=""
	for t in "$@"; do args="$args -t $t"; done
	# shellcheck disable=SC2086
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -v $args -t "it-ready/$name" \
		> "$T/$name.out" 2> "$T/$name.err" &
	PIDS="$PIDS $!"
	sub_ready "$name"
}

# sub_ready NAME: until the subscriber writing $T/NAME.out (which must also
# subscribe to it-ready/NAME) receives a marker published there: from then
# on, it gets everything published on its topics (one SUBSCRIBE holds them
# all). The marker line "it-ready/NAME ready" stays in the file.
sub_ready() {
	_sr_end=$(( $(date +%s) + WAIT_S ))
	until grep -q "^it-ready/$1 ready\$" "$T/$1.out" 2>/dev/null; do
		[ "$(date +%s)" -lt "$_sr_end" ] ||
			fail "subscriber $1 not ready after $WAIT_S s: $(cat "$T/$1.err")"
		mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "it-ready/$1" -m ready 2>/dev/null || true
		_sr_i=0
		while [ $_sr_i -lt 10 ] && ! grep -q "^it-ready/$1 ready\$" "$T/$1.out" 2>/dev/null; do
			sleep 0.1; _sr_i=$((_sr_i + 1))
		done
	done
}

# Extra top-level lines for a test that counts downlinks exactly: no
# DevStatusReq and no NewChannelReq of the network's own to its devices
# (application "sim", the simulator's default).
NO_MAC_DOWNLINK='downlink = { join_cflist = "none"; };'
NO_MAC_APPS='applications = ( { name = "sim"; status_interval_h = 0; } );'

# write_config FILE UDP_PORT MQTT_PORT DEVICES_FILE [extra top-level lines...]
# (UDP_EXTRA / MQTT_EXTRA: more settings inside the udp / mqtt groups)
# The per-gateway rate limit is off unless UDP_EXTRA sets rate_limit_count:
# one simulated gateway carries the traffic of many, and on a loaded
# machine the simulator catches up with its schedule in bursts and the
# bridge reads a backlog at once, so 10 datagrams per 10 ms would refuse
# legitimate frames (test_resilience tests the limit).
write_config() {
	file=$1 udp=$2 mqtt=$3 devs=$4; shift 4
	case "${UDP_EXTRA:-}" in
	*rate_limit_count*) _wc_rl="" ;;
	*) _wc_rl="rate_limit_count = 0;" ;;
	esac
	{
		echo "udp = { bind = \"127.0.0.1\"; port = $udp; $_wc_rl ${UDP_EXTRA:-} };"
		echo "mqtt = { host = \"127.0.0.1\"; port = $mqtt; client_id = \"it-$$\"; stats_interval_s = 1; ${MQTT_EXTRA:-} };"
		echo "state_dir = \"$T/state\";"
		for l in "$@"; do echo "$l"; done
		echo "@include \"$devs\""
	} > "$file"
}

# start_bridge CONFIG: start lorabridge, return once it runs. Remembers when
# it was started (wait_drained) and where each subscriber's output stood,
# so that stats events of an earlier bridge are not taken for its own.
# Its log is $T/bridge.log; an earlier bridge's is moved to bridge-N.log.
start_bridge() {
	BRIDGE_T0_MS=$(date +%s%3N)
	# Moved here, before the start: the redirection below empties the file
	# only once the background child runs, and until then the wait for
	# "running:" would find the earlier bridge's line. A simulator started
	# then sends to a UDP port nobody has bound yet: the kernel drops those
	# datagrams (the sender only hears of it by ICMP, its `refused`).
	if [ -e "$T/bridge.log" ]; then
		_sb_n=1
		while [ -e "$T/bridge-$_sb_n.log" ]; do _sb_n=$((_sb_n + 1)); done
		mv "$T/bridge.log" "$T/bridge-$_sb_n.log"
	fi
	"$LORABRIDGE" -f -c "$1" > "$T/bridge.log" 2>&1 &
	BRIDGE_PID=$!
	PIDS="$PIDS $BRIDGE_PID"
	wait_for "$T/bridge.log" "running:" "$WAIT_S" || fail "bridge did not start: $(cat "$T/bridge.log")"
	for _sb_f in "$T"/*.out; do
		[ -e "$_sb_f" ] || continue
		echo "$(basename "$_sb_f" .out) $(($(wc -l < "$_sb_f") + 1))"
	done > "$T/bridge-start.lines"
}

# The last stats JSON the bridge published (needs a `bridge` subscription).
last_stats() {
	grep -E "^lorabridge/[^ ]+/stats " "$T/$1.out" | tail -n 1 | cut -d' ' -f2-
}

# ---- waiting for conditions (never for a fixed time) ---------------------
# Every wait gives up after WAIT_S seconds (see the top), saying what it
# waited for and what it saw, and returns 1.

# wait_until TIMEOUT_S CMD...: until CMD succeeds (polled every 0.1 s).
wait_until() {
	_wu_end=$(( $(date +%s) + $1 )); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$_wu_end" ] || return 1
		sleep 0.1
	done
}

# count_lines FILE PATTERN: lines of FILE matching the extended regex PATTERN.
# field KEY FILE: the last KEY=N a simulator printed in FILE (its stderr
# summary, e.g. push_data=160000)
field() { sed -n "s/.*[ :]$1=\([0-9]*\).*/\1/p" "$2" | tail -n 1; }
count_lines() { grep -cE -- "$2" "$1" 2>/dev/null || true; }
_count_ge() { [ "$(count_lines "$1" "$2")" -ge "$3" ]; }

# wait_count FILE PATTERN N [TIMEOUT_S]: until N lines of FILE match PATTERN.
wait_count() {
	wait_until "${4:-$WAIT_S}" _count_ge "$1" "$2" "$3" && return 0
	echo "timed out after ${4:-$WAIT_S} s waiting for $3 lines matching '$2' in $1;" \
		"saw $(count_lines "$1" "$2")" >&2
	return 1
}

# bridge_stats OUT: the stats events (JSON, one a line) the current bridge
# published, as received in $T/OUT.out; a line still being written is left out.
bridge_stats() {
	_bs_from=$(awk -v n="$1" '$1 == n { print $2 }' "$T/bridge-start.lines" 2>/dev/null)
	tail -n "+${_bs_from:-1}" "$T/$1.out" 2>/dev/null | grep -E "^lorabridge/[^ ]+/stats " |
		cut -d' ' -f2- | jq -c . 2>/dev/null || true
}
_stats_match() { bridge_stats "$1" | jq -e -n "[inputs | select($2)] | length > 0" > /dev/null 2>&1; }

# wait_stats_cond OUT JQ_CONDITION [TIMEOUT_S]: until a stats event of the
# current bridge satisfies JQ_CONDITION (e.g. '.joins == 112').
wait_stats_cond() {
	wait_until "${3:-$WAIT_S}" _stats_match "$1" "$2" && return 0
	echo "timed out after ${3:-$WAIT_S} s waiting for a stats event with $2;" \
		"last: $(bridge_stats "$1" | tail -n 1)" >&2
	return 1
}

# wait_drained OUT [JQ_CONDITION]: until the bridge has handled everything it
# was sent before this call and published what follows from it: until a
# stats event (in $T/OUT.out; the bridge publishes one every
# mqtt.stats_interval_s = 1 s) whose uptimeS proves it was made at least 1 s
# after this call (and which satisfies JQ_CONDITION, if given). By then each
# frame received before the call has passed de-duplication (dedup_window_ms,
# at most 100 ms in these tests) and the state commit (state.commit_ms,
# 200 ms) that releases its held `up` event; and the bridge publishes in
# order on one connection, so every event that frame caused is already in
# OUT.out. Call it once the senders are done. The simulator waits for the
# PUSH_ACK of every PUSH_DATA, but gives up after its --ack-timeout (500 ms)
# unless --strict-acks: a bridge stalled longer than that (an fsync under
# heavy disk load) may still hold datagrams in its socket when a stats event
# passes this wait; tests that must count every frame check the counts.
wait_drained() {
	_wd_up=$(( ($(date +%s%3N) - BRIDGE_T0_MS + 999) / 1000 + 1 ))
	_wd_cond=".uptimeS >= $_wd_up${2:+ and ($2)}"
	wait_stats_cond "$1" "$_wd_cond"
}
