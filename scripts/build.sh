#!/bin/sh
# SPDX-License-Identifier: MIT
# Configure and build lorabridge out of tree in build/ (or $BUILD_DIR).
# Extra arguments go to ./configure (e.g. --enable-sanitizers --enable-werror).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	autoreconf -fi
fi
BUILD_DIR=${BUILD_DIR:-build}
mkdir -p "$BUILD_DIR"
cd "$BUILD_DIR"
# Objects built with other options (sanitizers, CFLAGS) are not rebuilt by
# make when only the options change: clean them first, or the link mixes
# them (an ASan object in a build without ASan does not link). The options
# are those given here and the compiler variables of the environment,
# written to .build-options after each configure.
options() {
	printf '%s\n' "$@"
	for v in CC CFLAGS CPPFLAGS LDFLAGS LIBS PKG_CONFIG_PATH; do
		eval "[ -z \"\${$v+set}\" ] || printf '%s=%s\n' $v \"\$$v\""
	done
}
# (no stamp, or one older than the configuration: configured by hand)
if [ -f config.status ] && { [ ! -f .build-options ] || [ config.status -nt .build-options ] ||
	[ "$(cat .build-options)" != "$(options "$@")" ]; }; then
	echo "build.sh: $BUILD_DIR was configured with other options: cleaning it first"
	if [ -f Makefile ]; then make clean > /dev/null; fi
	RECONFIGURE=1
fi
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ] || [ -n "${RECONFIGURE:-}" ]; then
	"$top/configure" "$@"
	options "$@" > .build-options
fi
make -j"$(nproc)"
