#!/bin/sh
# SPDX-License-Identifier: MIT
# Build lorabridge.conf(5) from its template and the configuration schema:
#   man/gen-conf-man.sh LORABRIDGE TEMPLATE VERSION > lorabridge.conf.5
# The template line "@SETTINGS@" becomes the output of
# `LORABRIDGE --print-config-reference man` (generated from the schema
# table in src/config/config_schema.c, like --print-config), and "@VERSION@"
# becomes VERSION, so the page cannot list other settings than the code.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 LORABRIDGE TEMPLATE VERSION" >&2; exit 2; }
ref=$(mktemp "${TMPDIR:-/tmp}/lorabridge-ref.XXXXXX")
trap 'rm -f "$ref"' EXIT INT TERM
"$1" --print-config-reference man > "$ref"
[ -s "$ref" ] || { echo "$0: empty reference from $1" >&2; exit 1; }
awk -v ref="$ref" -v ver="$3" '
$0 == "@SETTINGS@" {
	while ((getline line < ref) > 0) print line
	marks++
	next
}
{ gsub(/@VERSION@/, ver); print }
END { if (marks != 1) { print "gen-conf-man: expected one @SETTINGS@ line" > "/dev/stderr"; exit 1 } }
' "$2"
