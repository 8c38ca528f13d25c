#!/bin/sh
# The test command: install dependencies, build with -Werror under ASan and
# UBSan, run every test (unit, fuzz-corpus replay, integration with a real
# mosquitto), then make distcheck. Used by .ci/run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
cd "$top"
autoreconf -fi
export BUILD_DIR=build-test RECONFIGURE=1
"$top/scripts/build.sh" --enable-werror --enable-sanitizers
cd build-test
status=0
make -j"$(nproc)" check || status=$?
for f in $(find . -name '*.log' -path '*tests*' | sort); do
	case "$f" in *test-suite.log) continue ;; esac
	if grep -qE '^(FAIL|ERROR)' "${f%.log}.trs" 2>/dev/null; then
		echo "===== $f"; tail -n 60 "$f"
	fi
done
if [ -f test-suite.log ]; then
	grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' test-suite.log || true
fi
[ "$status" -eq 0 ] || exit "$status"
make -j"$(nproc)" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror
