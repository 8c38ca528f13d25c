#!/bin/sh
# SPDX-License-Identifier: MIT
# The daemon's own command line (`lorabridge decode` has test_decode_cli.sh):
#  1. options that conflict, or do nothing where they are given, and extra
#     arguments are usage errors: exit 2 and a message, nothing run;
#  2. --check-config reports a codec script that does not load together with
#     the file's other problems;
#  3. without -f, a failed start (the state directory in use) prints its
#     error on the caller's stderr and exits with the daemon's status, 3,
#     after letting the state directory go; a start that succeeds exits 0
#     at once, lets the caller's stderr go and prints no progress;
#  4. lorabridge-sim names the option whose value is invalid;
#  5. files with keys: lorabridge-sim --emit-devices creates its file 0600
#     under umask 022; --check-config and the daemon warn about an
#     @include'd file with keys that every user can read (0644) or its group
#     can change (0660), naming file and mode, and say nothing at 0640.
#  6. lorabridge passwd refuses a password with a blank at either end.
. "$(dirname "$0")/lib.sh"

MQTT_PORT=$(free_port); UDP_PORT=$(free_port); UDP_PORT2=$(free_port)
echo 'devices = ( );' > "$T/devices.conf"
write_config "$T/lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf"
"$LORABRIDGE" --check-config -c "$T/lb.conf" || fail "generated config does not validate"

# usage NAME ARGS...: want exit 2, a "lorabridge: " message and the usage
usage() {
	_n=$1; shift
	_rc=0
	"$LORABRIDGE" "$@" > "$T/$_n.out" 2> "$T/$_n.err" < /dev/null || _rc=$?
	[ "$_rc" -eq 2 ] || fail "$*: exit status $_rc, want 2: $(cat "$T/$_n.err")"
	grep -q '^lorabridge: ' "$T/$_n.err" && grep -q '^usage: lorabridge' "$T/$_n.err" ||
		fail "$*: no message and usage on stderr: $(cat "$T/$_n.err")"
	[ ! -s "$T/$_n.out" ] || fail "$*: printed $(cat "$T/$_n.out")"
}
usage purge_check --purge 0102030405060708 --check-config -c "$T/lb.conf"
usage check_print --check-config --print-config -c "$T/lb.conf"
usage secrets --show-secrets -c "$T/lb.conf"
usage secrets_check --check-config --show-secrets -c "$T/lb.conf"
usage version_extra --version extra
usage version_c --version -c "$T/lb.conf"
usage reference_check --print-config-reference man --check-config
usage fg_check -f --check-config -c "$T/lb.conf"
usage loss_print --accept-state-loss --print-config -c "$T/lb.conf"
usage forget_alone --forget-counters -c "$T/lb.conf"
usage extra -c "$T/lb.conf" extra
grep -q 'show-secrets' "$T/secrets.err" || fail "--show-secrets alone: $(cat "$T/secrets.err")"
[ ! -e "$T/state" ] || fail "a refused command line opened the state directory"
"$LORABRIDGE" --version | grep -q '^lorabridge ' || fail "--version alone"
"$LORABRIDGE" --print-config --show-secrets -c "$T/lb.conf" > /dev/null ||
	fail "--print-config --show-secrets"
note "conflicting options and extra arguments: exit 2 with a message"

# lorabridge-sim: each invalid value is said with its own option's name
for _opt in fport:0 sf:13 battery:300 rx2-dr:x keepalive:x linger:x snr-spread:x; do
	_o=${_opt%%:*} _v=${_opt#*:}
	_rc=0; "$SIM" "--$_o" "$_v" > /dev/null 2> "$T/sim.err" || _rc=$?
	[ "$_rc" -ne 0 ] || fail "lorabridge-sim --$_o $_v accepted"
	grep -qxF "lorabridge-sim: invalid value for --$_o: '$_v'" "$T/sim.err" ||
		fail "lorabridge-sim --$_o $_v: $(cat "$T/sim.err")"
done
note "lorabridge-sim: an invalid value names its own option"

mkdir -p "$T/codecs"
echo 'function decodeUplink(input) { return {data: {}} ' > "$T/codecs/broken.js"
write_config "$T/bad.conf" "$UDP_PORT" "$MQTT_PORT" "$T/devices.conf" \
	'dedup_window_ms = -1;' \
	'applications = ( { name = "b"; codec = "js"; codec_script = "codecs/broken.js"; } );'
rc=0; "$LORABRIDGE" --check-config -c "$T/bad.conf" 2> "$T/bad.err" || rc=$?
[ "$rc" -eq 1 ] || fail "--check-config: exit $rc, want 1: $(cat "$T/bad.err")"
grep -q 'bad.conf:[0-9]*: error: dedup_window_ms' "$T/bad.err" ||
	fail "--check-config lost the setting's error: $(cat "$T/bad.err")"
grep -q 'broken.js.*does not load' "$T/bad.err" ||
	fail "--check-config hid the script's error: $(cat "$T/bad.err")"
note "--check-config: a script's error reported with the file's others"

start_broker "$MQTT_PORT"
start_bridge "$T/lb.conf"
write_config "$T/second.conf" "$UDP_PORT2" "$MQTT_PORT" "$T/devices.conf"
rc=0
"$LORABRIDGE" -c "$T/second.conf" > "$T/second.out" 2> "$T/second.err" < /dev/null || rc=$?
[ "$rc" -eq 3 ] || fail "without -f, state directory in use: exit $rc, want 3"
grep -q 'state directory in use' "$T/second.err" ||
	fail "without -f, the error is not on stderr: '$(cat "$T/second.err")'"
kill -0 "$BRIDGE_PID" || fail "the first bridge is gone"
note "without -f: a failed start says why on stderr and exits 3"

# A start that fails after the state directory was locked (its UDP port is
# the first bridge's) lets the lock go before the caller hears: a --purge
# right after finds the directory free (exit 4, nothing stored).
sed "s|$T/state|$T/state3|; s|port = $UDP_PORT2;|port = $UDP_PORT;|" "$T/second.conf" > "$T/third.conf"
for _i in 1 2 3; do
	rc=0; "$LORABRIDGE" -c "$T/third.conf" > /dev/null 2> "$T/third.err" < /dev/null || rc=$?
	[ "$rc" -eq 3 ] || fail "UDP port in use: exit $rc, want 3: $(cat "$T/third.err")"
	rc=0; "$LORABRIDGE" --purge 0102030405060708 -c "$T/third.conf" 2> "$T/purge.err" || rc=$?
	[ "$rc" -eq 4 ] || fail "--purge right after a failed start: exit $rc: $(cat "$T/purge.err")"
done
note "a failed start lets the state directory go before it exits"

# A start that succeeds: the caller gets exit 0 at once, its stderr is let
# go (a pipe reading it ends) and shows no progress, only problems.
kill "$BRIDGE_PID"
wait_until 30 sh -c "! kill -0 $BRIDGE_PID 2> /dev/null" || fail "the first bridge did not stop"
rc=0
timeout 60 sh -c "'$LORABRIDGE' -c '$T/lb.conf' < /dev/null 2>&1 | cat > '$T/detached.out'" || rc=$?
[ "$rc" -eq 0 ] || fail "a detached start: exit $rc: $(cat "$T/detached.out")"
DAEMON=$(pgrep -f -- "-c $T/lb.conf" || true)
[ -n "$DAEMON" ] || fail "no detached daemon running"
PIDS="$PIDS $DAEMON"
! grep -q ' info ' "$T/detached.out" || fail "a detached start printed its progress: $(cat "$T/detached.out")"
kill $DAEMON
wait_until 30 sh -c "! kill -0 $DAEMON 2> /dev/null" || fail "the detached daemon did not stop"
note "a detached start: exit 0, stderr let go, no progress printed"

(umask 022 && "$SIM" --devices 2 --seed 7 --emit-devices "$T/keys.conf" --quiet) ||
	fail "sim --emit-devices"
[ "$(stat -c %a "$T/keys.conf")" = 600 ] ||
	fail "--emit-devices under umask 022 made mode $(stat -c %a "$T/keys.conf"), want 600"
write_config "$T/keys-lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/keys.conf"
chmod 640 "$T/keys-lb.conf"
# open_warning MODE PATTERN: --check-config with keys.conf at MODE still
# validates; its stderr matches PATTERN (or has no such warning: "").
open_warning() {
	chmod "$1" "$T/keys.conf"
	"$LORABRIDGE" --check-config -c "$T/keys-lb.conf" 2> "$T/keys.err" ||
		fail "--check-config with keys.conf $1: $(cat "$T/keys.err")"
	if [ -z "$2" ]; then
		! grep -q "holds keys" "$T/keys.err" || fail "a warning at mode $1: $(cat "$T/keys.err")"
	else
		grep -q -- "$2" "$T/keys.err" || fail "mode $1: no '$2': $(cat "$T/keys.err")"
	fi
}
open_warning 640 ""
open_warning 600 ""
advice="chmod 640 it, and chgrp lorabridge it"
open_warning 644 "^$T/keys.conf:[0-9]*: warning: this file holds keys and is readable by every user (mode 0644): $advice"
open_warning 660 "^$T/keys.conf:[0-9]*: warning: this file holds keys and is writable by its group (mode 0660)"
[ "$(grep -c "holds keys" "$T/keys.err")" -eq 1 ] || fail "not one warning per file: $(cat "$T/keys.err")"
chmod 644 "$T/keys.conf"
"$LORABRIDGE" -f -c "$T/keys-lb.conf" > "$T/keys-daemon.log" 2>&1 &
KEYS_PID=$!
PIDS="$PIDS $KEYS_PID"
wait_for "$T/keys-daemon.log" "running:" 10 || fail "bridge did not start: $(cat "$T/keys-daemon.log")"
kill $KEYS_PID
wait $KEYS_PID || fail "bridge exit status $?"
grep -q "keys.conf:[0-9]*: warning: this file holds keys and is readable by every user (mode 0644)" \
	"$T/keys-daemon.log" || fail "no warning in the daemon's log: $(cat "$T/keys-daemon.log")"
note "files with keys: emitted 0600; 0644 and 0660 warned (check-config, daemon), 0640 not"

# The integrations' credentials count as keys too (what --print-config
# redacts): header values, a URL's user:password@ or query; a plain URL not.
chmod 640 "$T/keys.conf"
integ_warning() {
	echo "integrations = { http = ( { $1 } ); };" > "$T/integ.conf"
	chmod 644 "$T/integ.conf"
	write_config "$T/integ-lb.conf" "$UDP_PORT" "$MQTT_PORT" "$T/keys.conf" \
		"@include \"$T/integ.conf\""
	"$LORABRIDGE" --check-config -c "$T/integ-lb.conf" 2> "$T/integ.err" ||
		fail "--check-config with $1: $(cat "$T/integ.err")"
	if [ "$2" = yes ]; then
		grep -q "^$T/integ.conf:[0-9]*: warning: this file holds keys" "$T/integ.err" ||
			fail "no warning for $1: $(cat "$T/integ.err")"
	else
		! grep -q "holds keys" "$T/integ.err" || fail "a warning for $1: $(cat "$T/integ.err")"
	fi
}
integ_warning 'url = "https://example.net/x"; headers = { Authorization = "Bearer s"; };' yes
integ_warning 'url = "https://u:pw@example.net/x";' yes
integ_warning 'url = "https://example.net/x?key=s";' yes
integ_warning 'url = "https://example.net/x";' no
note "integration headers, URL user:password@ or query: warned at 0644; a plain URL not"

# Out of file descriptors, the configuration cannot be read for now: exit 3
# (the unit restarts), not 1 (invalid or missing: it does not). Each
# descriptor limit from too few to enough: never 1, at least one 3, then 0.
echo "state_dir = \"$T/state-fd\";" > "$T/fd.conf"
seen3=no ok=no
for lim in 4 5 6 7 8 9 10 11 12 13 14 15 16; do
	rc=0
	sh -c "ulimit -n $lim && exec '$LORABRIDGE' --check-config -c '$T/fd.conf'" \
		3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- 2> "$T/fd.err" || rc=$?
	case $rc in
	0) ok=yes; break ;;
	3) seen3=yes ;;
	1) fail "limit $lim: exit 1 for a failure that may pass: $(cat "$T/fd.err")" ;;
	esac
done
[ "$seen3" = yes ] && [ "$ok" = yes ] || fail "fd limits: exit 3 seen: $seen3, then 0: $ok"
note "configuration unreadable for lack of descriptors: exit 3, not 1"

# 6. lorabridge passwd refuses a password with a space or tab at either
# end (the page's fetch() would strip it: the hash would never match).
for pw in ' lead' 'trail ' "$(printf 'tab\t')" "$(printf '\tx')"; do
	rc=0
	printf '%s\n' "$pw" | "$LORABRIDGE" passwd --iterations 1000 > "$T/pw.out" 2> "$T/pw.err" ||
		rc=$?
	[ "$rc" -eq 1 ] || fail "passwd '$pw': exit $rc, want 1: $(cat "$T/pw.out" "$T/pw.err")"
	grep -q 'cannot begin or end with a space or tab' "$T/pw.err" ||
		fail "passwd '$pw': $(cat "$T/pw.err")"
	[ ! -s "$T/pw.out" ] || fail "passwd '$pw' printed a hash: $(cat "$T/pw.out")"
done
printf 'in side\n' | "$LORABRIDGE" passwd --iterations 1000 > "$T/pw.out" ||
	fail "passwd 'in side' refused"
grep -q '^pbkdf2-sha256\$1000\$' "$T/pw.out" || fail "passwd 'in side': $(cat "$T/pw.out")"
note "passwd: a blank at either end refused, one inside taken"
echo "PASS"
