#!/bin/sh
# SPDX-License-Identifier: MIT
# The test command: install dependencies, build with -Werror under ASan and
# UBSan, run every test (unit, fuzz-corpus replay, integration with a real
# mosquitto), make distcheck (unit tests only: the integration tests ran just
# before), a check that the tarball has every file the integration tests
# need (tests/package/test_dist_files.sh), the Debian package test (build,
# lintian, install, purge; as root), then the cross test for arm64 and
# armhf side by side (scripts/cross-test.sh: cross build, tests under qemu,
# .debs) and
# the 32-bit compile-only pass ("armhf compile", scripts/compile-check.sh).
# Used by .ci/run. The last line printed is "N passed, M failed" over every
# test run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
cd "$top"
autoreconf -fi
export BUILD_DIR=build-test RECONFIGURE=1
"$top/scripts/build.sh" --enable-werror --enable-sanitizers
cd build-test

# Show the output of whatever failed, then the harness summary.
report() {
	for trs in $(find . -name '*.trs' | sort); do
		if grep -qE '^:test-result: (FAIL|ERROR)' "$trs"; then
			echo "===== ${trs%.trs}.log"; tail -n 80 "${trs%.trs}.log"
		fi
	done
	[ -f test-suite.log ] && grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' test-suite.log || true
}

status=0
# Two tests per core: the integration tests spend most of their time
# waiting (RX windows, a broker kept down, rate-limited publishers: 227 s
# of CPU in 372 s at one per core), and every one waits for conditions with
# deadlines, so sharing the cores does not change what they see.
make -j"$(($(nproc) * 2))" check || status=$?
report
pass=$(grep -hE '^:test-result: PASS' $(find . -name '*.trs') 2>/dev/null | wc -l)
failed=$(grep -hE '^:test-result: (FAIL|ERROR|XPASS)' $(find . -name '*.trs') 2>/dev/null | wc -l)
skipped=$(grep -hE '^:test-result: SKIP' $(find . -name '*.trs') 2>/dev/null | wc -l)

if [ "$status" -eq 0 ]; then
	echo "== make distcheck"
	if make -j"$(nproc)" distcheck \
		DISTCHECK_CONFIGURE_FLAGS="--enable-werror --disable-integration-tests" > distcheck.log 2>&1; then
		pass=$((pass + 1)); echo "distcheck: ok"
	else
		failed=$((failed + 1)); status=1; tail -n 60 distcheck.log
	fi
fi
if [ "$status" -eq 0 ]; then
	# What distcheck's unit-only check cannot see: the files the
	# integration tests need are in the tarball (77: not a git checkout).
	echo "== dist files"
	drc=0
	"$top/tests/package/test_dist_files.sh" "$(ls lorabridge-*.tar.gz | head -n 1)" || drc=$?
	case "$drc" in
	0) pass=$((pass + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)); status=1 ;;
	esac
fi
if [ "$status" -eq 0 ]; then
	# Builds the .deb, runs lintian, installs, checks and purges it: root
	# on Debian only (exit 77 = skipped, and it says why).
	echo "== package test"
	prc=0
	"$top/tests/package/test_package.sh" || prc=$?
	case "$prc" in
	0) pass=$((pass + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)); status=1 ;;
	esac
fi
if [ "$status" -eq 0 ]; then
	# Cross-built for the Raspberry Pi architectures, unit tests and the
	# uplink test under qemu, .debs built and linted: one test each (exit 77
	# = skipped, only when the archive's ARCH indices are out of sync). The
	# packages are installed one architecture after the other (apt and dpkg
	# take one lock); then the two run side by side, as much of each is one
	# core's work (configure, lintian) or waiting (the uplink test).
	cross=""
	for arch in arm64 armhf; do
		drc=0
		LB_COMPILE_CHECK=no "$top/scripts/cross-test.sh" "$arch" --deps-only \
			> "cross-$arch-deps.log" 2>&1 || drc=$?
		case "$drc" in
		0) cross="$cross $arch" ;;
		77) echo "== cross test $arch"; tail -n 60 "cross-$arch-deps.log"
		    skipped=$((skipped + 1)) ;;
		*) echo "== cross test $arch"; tail -n 60 "cross-$arch-deps.log"
		   failed=$((failed + 1)); status=1 ;;
		esac
	done
	# Each in a session of its own (setsid), so that a signal stops the
	# whole of it: a job started in the background by a shell ignores
	# SIGINT, and so does everything it starts. Its pid leaves the list
	# once waited for, so that a reused pid is never signalled.
	pids=""
	stop_cross() {
		for p in $pids; do kill -TERM "-$p" 2>/dev/null || true; done
		exit "$1"
	}
	trap 'stop_cross 129' HUP
	trap 'stop_cross 130' INT
	trap 'stop_cross 143' TERM
	for arch in $cross; do
		LB_CROSS_DEPS_DONE=yes LB_COMPILE_CHECK=no setsid -w "$top/scripts/cross-test.sh" \
			"$arch" > "cross-$arch.log" 2>&1 &
		pids="$pids $!"
	done
	for arch in $cross; do
		set -- $pids
		crc=0
		wait "$1" || crc=$?
		shift
		pids="$*"
		echo "== cross test $arch"
		grep -vE '^PASS: ' "cross-$arch.log" | tail -n 60
		case "$crc" in
		0) pass=$((pass + 1)) ;;
		77) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)); status=1 ;;
		esac
	done
	trap - HUP INT TERM
fi
if [ "$status" -eq 0 ]; then
	# "armhf compile": every C file compiled for 32-bit ARM with the
	# project's flags and -Werror, -fsyntax-only; needs only the cross
	# compiler, so it runs when the armhf cross test skips.
	echo "== armhf compile"
	arc=0
	"$top/scripts/compile-check.sh" armhf > compile-armhf.log 2>&1 || arc=$?
	grep -vE '^  ' compile-armhf.log | tail -n 60
	case "$arc" in
	0) pass=$((pass + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)); status=1 ;;
	esac
fi
echo "$pass passed, $failed failed, $skipped skipped"
exit "$status"
