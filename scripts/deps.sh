#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages lorabridge needs. Idempotent; uses sudo when
# not run as root.
#   scripts/deps.sh          everything to build and test (scripts/test.sh):
#                            the test tools and the browser test's npm modules
#   scripts/deps.sh --demo   only what scripts/demo.sh uses: the build
#                            dependencies, mosquitto, mosquitto-clients, jq
#                            and iproute2 (ss, to find free ports)
set -eu

mode=all
case "${1:-}" in
"") ;;
--demo) mode=demo ;;
*) echo "usage: $0 [--demo]" >&2; exit 2 ;;
esac

PACKAGES="build-essential autoconf automake pkg-config \
libmosquitto-dev libconfig-dev libjson-c-dev libmicrohttpd-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev liburing-dev duktape-dev \
mosquitto mosquitto-clients jq iproute2"

if [ "$mode" = all ]; then
	PACKAGES="$PACKAGES check procps python3 influxdb openssl curl sqlite3"
	# The web page's browser test (tests/browser): Debian's Chromium, driven
	# by playwright-core from npm (never a browser of its own download), and
	# a font for the screenshot.
	PACKAGES="$PACKAGES chromium fonts-dejavu-core"
	command -v npm > /dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"
fi
if [ -n "${LB_DEPS_PRINT:-}" ]; then
	# the list alone, installing nothing (tests/integration/test_docs.sh)
	echo $PACKAGES
	exit 0
fi

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
else
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# The mosquitto package may try to start the system broker; where there is no
	# init system that fails harmlessly. Our tests and demo run private brokers.
	$SUDO apt-get install -y -qq --no-install-recommends $missing
fi

[ "$mode" = all ] || exit 0

# playwright-core as package-lock.json pins it, from npm's cache when it is
# there; skipped when node_modules already holds exactly that lock.
browser=$(cd "$(dirname "$0")/../tests/browser" && pwd)
if cmp -s "$browser/package-lock.json" "$browser/node_modules/.lorabridge-lock" 2>/dev/null; then
	echo "deps: tests/browser node modules present"
else
	echo "deps: npm ci in tests/browser"
	(cd "$browser" && npm ci --no-audit --no-fund --prefer-offline)
	cp "$browser/package-lock.json" "$browser/node_modules/.lorabridge-lock"
fi
