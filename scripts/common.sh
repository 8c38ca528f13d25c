# SPDX-License-Identifier: MIT
# Shell helpers shared by the demo and the integration tests (sourced).

# A loopback port no socket uses (TCP or UDP, any state), picked at random
# below the kernel's ephemeral range so that no outgoing connection can take
# it between this check and the bind.
free_port() {
	_lo=20000
	_hi=$(awk '{print $1 - 1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32767)
	[ "$_hi" -gt "$_lo" ] || _hi=32767
	_i=0
	while [ $_i -lt 50 ]; do
		_p=$(( _lo + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % (_hi - _lo) ))
		if ! ss -Htuan 2>/dev/null | awk '{print $5}' | grep -qE "[:.]$_p\$"; then
			echo "$_p"; return 0
		fi
		_i=$((_i + 1))
	done
	return 1
}

# wait_port_tcp PORT [TIMEOUT_S]: until something listens on it (30 s at most).
wait_port_tcp() {
	_n=$(( ${2:-30} * 20 )); _i=0
	while [ $_i -lt $_n ]; do
		ss -Htln 2>/dev/null | awk '{print $4}' | grep -qE "[:.]$1\$" && return 0
		sleep 0.05; _i=$((_i + 1))
	done
	return 1
}

# wait_for FILE PATTERN [TIMEOUT_S]: until a line of FILE matches.
wait_for() {
	_n=$(( ${3:-10} * 20 )); _i=0
	while [ $_i -lt $_n ]; do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05; _i=$((_i + 1))
	done
	return 1
}

# write_broker_conf FILE PORT [extra lines...]: a private loopback broker.
write_broker_conf() {
	_f=$1 _port=$2; shift 2
	{
		echo "listener $_port 127.0.0.1"
		echo "allow_anonymous true"
		# As root, mosquitto would switch to its own user, which cannot
		# write into our private temp directories.
		[ "$(id -u)" -ne 0 ] || echo "user root"
		for _l in "$@"; do echo "$_l"; done
	} > "$_f"
}
