#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages agree with the programs:
#  1. lorabridge.conf(5) documents exactly the settings that
#     `lorabridge --print-config` prints (top-level settings and the fields
#     of a device entry), and the shipped etc/lorabridge.conf mentions each;
#  2. lorabridge(8) and lorabridge-sim(1) describe every long option that
#     the programs' --help lists (the subcommands' too).
#  3. man/lorabridge.conf.5.ref, the settings part of lorabridge.conf(5),
#     is what `lorabridge --print-config-reference man` prints;
#  4. each form of `lorabridge --help`'s usage (its words, in order: the
#     options it shows, bracketed or not) is one of README's "Running it"
#     synopsis and of lorabridge(8)'s SYNOPSIS.
# Needs the built lorabridge, lorabridge-sim and man/lorabridge.conf.5.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
LORABRIDGE=${LORABRIDGE:-$top_builddir/lorabridge}
SIM=${SIM:-$top_builddir/lorabridge-sim}
MAN5=${MAN5:-$top_builddir/man/lorabridge.conf.5}
MAN8=$top_srcdir/man/lorabridge.8
MAN1=$top_srcdir/man/lorabridge-sim.1
CONF=$top_srcdir/etc/lorabridge.conf

T=$(mktemp -d "${TMPDIR:-/tmp}/lorabridge-man.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
failed=0
# result PROBLEMS TEXT: PASS when PROBLEMS is empty, else FAIL with them.
result() {
	if [ -z "$1" ]; then echo "PASS: $2"; else echo "FAIL: $2:$1"; failed=1; fi
}

for f in "$LORABRIDGE" "$SIM" "$MAN5" "$MAN8" "$MAN1" "$CONF"; do
	[ -e "$f" ] || { echo "FAIL: $f is missing (build first)"; exit 1; }
done

# An application with every field, one ABP device with every optional field
# and one OTAA device: together they make --print-config show every
# application and device field (and the http group, printed only when
# present).
echo 'function decodeUplink(input) { return {data: {}}; }' > "$T/c.js"
cat > "$T/all.conf" <<'CFG'
applications = (
	{ name = "a"; id = "3fa85f64-5717-4562-b3fc-2c963f66afa6"; codec = "js";
	  codec_script = "c.js"; class = "C"; status_interval_h = 12;
	  regional_parameters = "1.0.3revA"; }
);
devices = (
	{ name = "abp"; application = "a"; dev_eui = "0000000000000001"; dev_addr = "26011bda";
	  nwk_s_key = "2b7e151628aed2a6abf7158809cf4f3c";
	  app_s_key = "3c4fcf098815f7aba6d2ae2816157e2b";
	  fcnt_up = 5; tags = { room = "B12"; }; fair_access = { downlinks = 20; };
	  codec = "js"; codec_script = "c.js"; adr = false; status_interval_h = 6;
	  regional_parameters = "RP002-1.0.2"; },
	{ name = "otaa"; dev_eui = "0000000000000002"; join_eui = "0000000000000003";
	  app_key = "2b7e151628aed2a6abf7158809cf4f3c"; }
);
integrations = {
	http = ( { url = "http://127.0.0.1/{dev_eui}"; headers = { X-Key = "k"; }; } );
	influxdb = ( { url = "http://127.0.0.1:8086"; database = "d"; } );
};
http = { port = 8080; };
CFG
"$LORABRIDGE" -c "$T/all.conf" --print-config --show-secrets > "$T/print.txt"

# Setting paths from the libconfig text: groups nest with "x = {" / "};",
# unset optional strings appear as "# x is not set", device fields become
# "devices[].x" (a device's tags group counts as one field), application
# fields "applications[].x".
awk '
function path(leaf,   p, i) { p = ""; for (i = 1; i <= n; i++) p = p stack[i] "."; return p leaf }
# A list of groups inside a group ("\thttp = (" in integrations): its
# entry fields become "integrations.http[].x"; a group in an entry
# (headers) counts as one field.
/^\t[a-z0-9_]+ = \($/ { inlist = path($1) "[]"; next }
inlist {
	if ($0 ~ /^\t\);$/) { inlist = ""; next }
	if ($0 ~ /^\t\t\t(# )?[a-z0-9_]+ (= |is not set$)/) {
		x = $1; if (x == "#") x = $2; print inlist "." x
	}
	next
}
/^[ \t]*#/ {
	if ($0 ~ /is not set$/) { sub(/^[ \t]*# /, ""); sub(/ is not set$/, ""); print path($0) }
	next
}
/^applications = \(/ { inapp = 1; next }
inapp {
	if ($0 ~ /^\);/) { inapp = 0; next }
	if ($0 ~ /^\t\t[a-z0-9_]+ = /) { x = $1; print "applications[]." x }
	next
}
/^devices = \(/ { indev = 1; next }
indev {
	if ($0 ~ /^\t\t[a-z0-9_]+ = /) { x = $1; print "devices[]." x }
	next
}
/= \{$/ { stack[++n] = $1; next }
/^[ \t]*\};$/ { n--; next }
/^[ \t]*[a-z0-9_]+ = / { print path($1) }
' "$T/print.txt" | sort -u > "$T/printed"

# Setting names of the man page: ".B name" after ".TP" under SETTINGS.
awk '
/^\.SH / { in_settings = ($0 ~ /^\.SH SETTINGS/); next }
in_settings && prev == ".TP" && /^\.B / { sub(/^\.B /, ""); gsub(/\\-/, "-"); print }
{ prev = $0 }
' "$MAN5" | sort -u > "$T/documented"

# The page is built from man/lorabridge.conf.5.ref (no program runs to make
# it, so cross builds make it too): it must be what the schema prints now
# (a native build checks it as well before it makes the page; this test
# shows the difference).
"$LORABRIDGE" --print-config-reference man > "$T/ref.man"
problems=""
# (its own leading roff comments, license and origin, are not compared)
sed '/^\.\\"/d' "$top_srcdir/man/lorabridge.conf.5.ref" > "$T/ref.kept"
if ! diff -u "$T/ref.kept" "$T/ref.man" > "$T/refdiff"; then
	problems=" stale; run \`make man-reference\` in a native build and commit it
$(head -n 40 "$T/refdiff")"
fi
result "$problems" "man/lorabridge.conf.5.ref is lorabridge --print-config-reference man"

problems=""
[ "$(wc -l < "$T/printed")" -gt 30 ] || problems=" too few settings parsed from --print-config"
if ! diff -u "$T/printed" "$T/documented" > "$T/diff"; then
	problems="$problems (- only printed, + only documented)
$(cat "$T/diff")"
fi
result "$problems" "lorabridge.conf(5) lists the $(wc -l < "$T/printed") settings of --print-config"

missing=""
for s in $(grep -v '^devices' "$T/printed"); do
	leaf=${s##*.}
	grep -Eq "^[[:space:]#]*$leaf = " "$CONF" || missing="$missing $s"
done
result "$missing" "etc/lorabridge.conf mentions every setting"

# Long options of --help must appear in the page as \-\-name.
options_missing() { # options_missing HELP_TEXT PAGE
	for o in $(grep -oE -- '--[a-z][a-z-]*' "$1" | sort -u); do
		esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
		grep -q -- "$esc" "$2" || printf ' %s' "$o"
	done
}
"$LORABRIDGE" --help > "$T/help8"
"$LORABRIDGE" airtime --help >> "$T/help8"
"$LORABRIDGE" decode --help >> "$T/help8"
result "$(options_missing "$T/help8" "$MAN8")" "lorabridge(8) describes every option of --help"
"$SIM" --help > "$T/help1"
result "$(options_missing "$T/help1" "$MAN1")" "lorabridge-sim(1) describes every option of --help"

# Usage forms as word lists ("lorabridge [-c FILE] [-v] --check-config" ->
# "lorabridge --check-config [-c] [-v]"): the subcommand, then the options
# with their brackets, sorted; placeholders left out (their case and order
# differ between --help and the man page). A line that starts with spaces
# continues the form above it.
forms() { # forms FILE: one form per line
	sed -e 's/^usage: /       /' "$1" | awk '
		function out() {
			if (f == "") return
			n = split(f, w, " "); s = ""; sub_ = ""
			for (i = 2; i <= n; i++) {
				t = w[i]
				if (i == 2 && t ~ /^[a-z]+$/) { sub_ = " " t; continue }
				if (t !~ /^\[?-/) continue
				b = (t ~ /^\[/); gsub(/[][]/, "", t)
				s = s "\n" (b ? "[" t "]" : t)
			}
			m = split(s, o, "\n")
			for (i = 2; i <= m; i++)   # insertion sort (mawk has no asort)
				for (j = i; j > 1 && o[j - 1] > o[j]; j--) {
					x = o[j]; o[j] = o[j - 1]; o[j - 1] = x
				}
			r = ""
			for (i = 1; i <= m; i++) if (o[i] != "") r = r " " o[i]
			print "lorabridge" sub_ r; f = ""
		}
		/^       lorabridge/ { out(); f = $0; next }
		/^         *[[-]/ { f = f " " $0; next }
		{ out() }
		END { out() }'
}
"$LORABRIDGE" --help 2>&1 | sed -n '/^usage:/,/^$/p' > "$T/usage"
sed -n '/^## Running it/,/^| Option/p' "$top_srcdir/README.md" | sed -n '/^lorabridge/,/^```/p' |
	sed -e 's/^lorabridge/       lorabridge/' -e '/^```/d' > "$T/readme-usage"
MANWIDTH=200 man -l "$MAN8" 2>/dev/null | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' |
	sed -e 's/^ *lorabridge/       lorabridge/' -e '/^SYNOPSIS/d' -e '/^DESCRIPTION/d' \
	-e 's/ | /|/g' > "$T/man-usage"
forms "$T/usage" > "$T/usage.forms"
forms "$T/readme-usage" > "$T/readme.forms"
forms "$T/man-usage" > "$T/man.forms"
missing=""
while IFS= read -r f; do
	grep -qxF -- "$f" "$T/readme.forms" || missing="$missing README:'$f'"
	grep -qxF -- "$f" "$T/man.forms" || missing="$missing lorabridge.8:'$f'"
done < "$T/usage.forms"
[ -s "$T/usage.forms" ] || missing=" no usage forms read from --help"
result "$missing" "every usage form of --help is in README's synopsis and lorabridge(8)'s"

exit $failed
