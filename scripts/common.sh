# Shell helpers shared by the demo and the integration tests (sourced).

# A loopback port nobody listens on (TCP or UDP), from a random range.
free_port() {
	_i=0
	while [ $_i -lt 50 ]; do
		_p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
		if ! ss -Htauln 2>/dev/null | awk '{print $5}' | grep -qE "[:.]$_p\$"; then
			echo "$_p"; return 0
		fi
		_i=$((_i + 1))
	done
	return 1
}

# wait_port_tcp PORT: until something listens on it (5 s at most).
wait_port_tcp() {
	_i=0
	while [ $_i -lt 100 ]; do
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
