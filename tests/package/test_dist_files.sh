#!/bin/sh
# SPDX-License-Identifier: MIT
# The dist tarball carries what the integration tests need:
#   tests/package/test_dist_files.sh lorabridge-X.Y.Z.tar.gz
# make distcheck in CI runs only the unit tests (--disable-integration-tests),
# so a script, fixture or page of tests/integration, tests/browser or www/
# missing from EXTRA_DIST would go unnoticed there. Every such file that git
# tracks (node_modules excepted) must be in the tarball. Exit 77 (skip)
# outside a git checkout, where there is no list to compare with.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: $0 TARBALL" >&2; exit 2; }
if ! git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "SKIP: dist files: $top is not a git checkout"
	exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lorabridge-dist.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
git -C "$top" ls-files -- tests/integration tests/browser www |
	grep -v '/node_modules/' | sort > "$T/tracked"
[ -s "$T/tracked" ] || { echo "FAIL: dist files: git lists no file under tests/integration"; exit 1; }
# Members are "lorabridge-X.Y.Z/path": drop the first component.
tar -tzf "$1" | sed -n 's|^[^/]*/||p' | sort > "$T/dist" ||
	{ echo "FAIL: dist files: cannot list $1"; exit 1; }
comm -23 "$T/tracked" "$T/dist" > "$T/missing"
if [ -s "$T/missing" ]; then
	echo "FAIL: dist files: tracked by git, missing from $(basename "$1") (add them to EXTRA_DIST):"
	sed 's/^/  /' "$T/missing"
	exit 1
fi
echo "PASS: dist files: the $(wc -l < "$T/tracked") files of tests/integration, tests/browser and www/ are in $(basename "$1")"
