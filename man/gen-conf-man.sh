#!/bin/sh
# SPDX-License-Identifier: MIT
# Build lorabridge.conf(5) from its template and the settings reference:
#   man/gen-conf-man.sh REFERENCE TEMPLATE VERSION > lorabridge.conf.5
# The template line "@SETTINGS@" becomes the contents of REFERENCE
# (man/lorabridge.conf.5.ref: the output of
# `lorabridge --print-config-reference man`, generated from the schema table
# in src/config/config_schema.c and kept in the tree; `make man-reference`
# rewrites it, tests/package/test_man_settings.sh fails when it is stale),
# and "@VERSION@" becomes VERSION. Only sh and awk run here, never the built
# program, so a cross build (--host) makes the page as a native one does.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 REFERENCE TEMPLATE VERSION" >&2; exit 2; }
[ -s "$1" ] || { echo "$0: empty or missing reference $1" >&2; exit 1; }
awk -v ref="$1" -v ver="$3" '
$0 == "@SETTINGS@" {
	while ((getline line < ref) > 0) print line
	marks++
	next
}
{ gsub(/@VERSION@/, ver); print }
END { if (marks != 1) { print "gen-conf-man: expected one @SETTINGS@ line" > "/dev/stderr"; exit 1 } }
' "$2"
