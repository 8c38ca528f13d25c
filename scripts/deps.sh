#!/bin/sh
# SPDX-License-Identifier: MIT
# Install every Debian package lorabridge needs to build, test and run the
# demo. Idempotent; uses sudo when not run as root.
set -eu

PACKAGES="build-essential autoconf automake pkg-config \
libmosquitto-dev libconfig-dev libjson-c-dev libmicrohttpd-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev duktape-dev \
check mosquitto mosquitto-clients jq iproute2 procps python3 influxdb openssl curl"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The mosquitto package may try to start the system broker; where there is no
# init system that fails harmlessly. Our tests and demo run private brokers.
$SUDO apt-get install -y -qq --no-install-recommends $missing
