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
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ] || [ -n "${RECONFIGURE:-}" ]; then
	"$top/configure" "$@"
fi
make -j"$(nproc)"
