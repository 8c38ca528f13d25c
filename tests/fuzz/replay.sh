#!/bin/sh
# SPDX-License-Identifier: MIT
# Replays each fuzz target's seed corpus, plus seeded random mutations of
# every seed, under the sanitizers the test build uses. The libFuzzer builds
# (clang -fsanitize=fuzzer) explore further: see README.md, "Tests".
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
status=0
for t in cayennelpp gwmp jscodec lorawan; do
	bin="$top_builddir/tests/fuzz/fuzz_${t}_run"
	"$bin" -n 2000 -s 1 "$top_srcdir/tests/fuzz/corpus/$t" || status=1
done
exit $status
