#!/bin/sh
# SPDX-License-Identifier: MIT
# The 32-bit compile-only pass (CI's other builds are all 64-bit):
#   scripts/compile-check.sh [armhf]
# Needs only the cross compiler (gcc-arm-linux-gnueabihf, with its libc in
# /usr/arm-linux-gnueabihf), none of the armhf libraries, so it runs even
# when the archive's armhf indices are out of sync (cross-test.sh skips).
# 1. configure --host=arm-linux-gnueabihf in a scratch directory, with the
#    libraries' pkg-config results given by hand (configure then asks
#    pkg-config nothing): its own checks run for the 32-bit target, the
#    64-bit time_t one included (-D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64),
#    and it writes lbconfig.h and the warning flags (-Werror);
# 2. compiles every C file of src/, tests/unit, tests/integration and
#    packet_forwarder with -fsyntax-only and those flags (what make would
#    use: `make print-compile-flags`), so a format or type mismatch that
#    only 32-bit long or size_t shows fails here.
# The libraries' headers: most are arch-neutral in /usr/include, which the
# cross compiler searches; curl's and OpenSSL's live in the machine's own
# multiarch directory (/usr/include/x86_64-linux-gnu), searched last
# (-idirafter) so glibc's own headers always come from the armhf libc.
# OpenSSL's configuration.h there describes the 64-bit build: lorabridge
# uses only OpenSSL's opaque EVP types, none of the word sizes it sets.
# 3. compiles the files that use libcurl again against its headers made to
#    look like 7.68.0's, the oldest configure accepts (LIBCURL_VERSION_NUM
#    0x074400, the CURLOPT_ options numbered above 7.68's last, 289,
#    removed; deprecation attributes off, as 7.68 had none): an option that
#    newer versions only have, used without a LIBCURL_VERSION_NUM guard,
#    fails here.
# Last line: "compile ARCH: N files, M failed"; exit 0 when none failed, 77
# when the cross compiler is not installed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ARCH=${1:-armhf}
case "$ARCH" in
armhf) TRIPLET=arm-linux-gnueabihf ;;
arm64) TRIPLET=aarch64-linux-gnu ;;
*) echo "usage: $0 [armhf|arm64]" >&2; exit 2 ;;
esac
CC=$TRIPLET-gcc
command -v "$CC" >/dev/null 2>&1 ||
	{ echo "SKIP: compile $ARCH: $CC not installed (crossbuild-essential-$ARCH)"; exit 77; }
NATIVE_TRIPLET=$(gcc -dumpmachine)
W=$(mktemp -d "${TMPDIR:-/tmp}/lorabridge-compile.XXXXXX")
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

cd "$top" || exit 1
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	autoreconf -fi >"$W/autoreconf.log" 2>&1 || { cat "$W/autoreconf.log"; exit 1; }
fi
inc="-idirafter /usr/include/$NATIVE_TRIPLET"
mkdir "$W/b" && cd "$W/b" || exit 1
# PKG_CHECK_MODULES takes _CFLAGS and _LIBS as given when both are set.
# The include option once (MOSQUITTO_CFLAGS), a blank for the others.
for v in MOSQUITTO LIBCONFIG JSONC CURL CRYPTO SQLITE URING MHD CHECK; do
	eval "${v}_CFLAGS=' ' ${v}_LIBS=' '"
	export "${v}_CFLAGS" "${v}_LIBS"
done
MOSQUITTO_CFLAGS=$inc
if ! "$top/configure" --host="$TRIPLET" --enable-werror PKG_CONFIG=/bin/false \
	>configure.log 2>&1; then
	tail -n 20 configure.log
	echo "FAIL: configure --host=$TRIPLET"
	exit 1
fi
grep -E "^checking for a 64-bit time_t" configure.log | sed 's/^/  /'
flags=$(make -s print-compile-flags | tail -n 1) && duk=$(make -s print-duktape-dir | tail -n 1) &&
	[ -n "$flags" ] && [ -n "$duk" ] || { echo "FAIL: make print-compile-flags"; exit 1; }
echo "  $CC -fsyntax-only $flags"
n=0 nfail=0
for f in $(cd "$top" && ls src/*/*.c tests/unit/*.c tests/integration/*.c packet_forwarder/sim/*.c); do
	extra=""
	# Duktape's own source is built with -Wno-error (Makefile.am).
	[ "$f" = src/codec/jscodec_duk.c ] && extra="-Wno-error"
	n=$((n + 1))
	# shellcheck disable=SC2086
	if ! "$CC" -fsyntax-only $flags -isystem "$duk" $extra "$top/$f" >"$W/cc.log" 2>&1; then
		nfail=$((nfail + 1))
		echo "FAIL: $f"
		head -n 20 "$W/cc.log"
	fi
done
# 3. libcurl 7.68.0: its version and options (curl.h's CURLOPT(name, type, number)).
old="$W/oldcurl/curl"
mkdir -p "$old" && cp /usr/include/"$NATIVE_TRIPLET"/curl/*.h "$old"/ &&
	sed -i 's/^#define LIBCURL_VERSION_NUM .*/#define LIBCURL_VERSION_NUM 0x074400/' \
		"$old/curlver.h" &&
	awk '!(match($0, /^ *CURLOPT\(CURLOPT_[A-Z0-9_]+, *[A-Z_]+, *[0-9]+\)/) &&
	       substr($0, RSTART, RLENGTH) ~ /, *(29[0-9]|[3-9][0-9][0-9])\)$/)' \
		"$old/curl.h" > "$old/curl.h.new" && mv "$old/curl.h.new" "$old/curl.h" ||
	{ echo "FAIL: libcurl 7.68 headers"; exit 1; }
grep -q "CURLOPT(CURLOPT_PROTOCOLS_STR" "$old/curl.h" && { echo "FAIL: libcurl 7.68 headers"; exit 1; }
for f in $(cd "$top" && grep -l -E '#include "io/(dynlib|http|sseclient)\.h"|<curl/' src/*/*.c); do
	n=$((n + 1))
	# shellcheck disable=SC2086
	if ! "$CC" -fsyntax-only $flags -I "$W/oldcurl" -DCURL_DISABLE_DEPRECATION \
		"$top/$f" >"$W/cc.log" 2>&1; then
		nfail=$((nfail + 1))
		echo "FAIL: $f (libcurl 7.68.0)"
		head -n 20 "$W/cc.log"
	fi
done
echo "compile $ARCH: $n files, $nfail failed"
[ "$nfail" -eq 0 ]
