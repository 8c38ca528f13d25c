#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's configuration reference is the schema table's own output
# (lorabridge --print-config-reference markdown): every line of it must
# appear in README.md, so documentation and code cannot drift apart.
. "$(dirname "$0")/lib.sh"
"$LORABRIDGE" --print-config-reference markdown > "$T/ref.md" || fail "reference not printed"
n=0
while IFS= read -r line; do
	[ -n "$line" ] || continue
	grep -qxF -- "$line" "$top_srcdir/README.md" || fail "README.md lacks: $line"
	n=$((n + 1))
done < "$T/ref.md"
[ "$n" -gt 40 ] || fail "reference has only $n lines"
note "$n reference lines all present in README.md"
# --print-config prints every setting of the reference.
"$LORABRIDGE" --print-config -c "$top_srcdir/etc/lorabridge.conf" > "$T/eff.conf" || fail "--print-config"
for key in $(grep -oE '^\| `[a-z_.]+`' "$T/ref.md" | tr -d '|` ' | grep -v '^devices'); do
	leaf=${key##*.}
	grep -qE "(^|[^a-z_])$leaf( *=| is not set)" "$T/eff.conf" || fail "--print-config lacks $key"
done
note "--print-config shows every setting"
# scripts/deps.sh: the demo's mode installs only what the demo uses, the
# full one (scripts/test.sh) the test tools too; README names every package.
demo=$(LB_DEPS_PRINT=1 sh "$top_srcdir/scripts/deps.sh" --demo) || fail "deps.sh --demo"
all=$(LB_DEPS_PRINT=1 sh "$top_srcdir/scripts/deps.sh") || fail "deps.sh"
for p in chromium influxdb nodejs npm check python3 curl; do
	case " $demo " in *" $p "*) fail "deps.sh --demo installs $p, which the demo does not use" ;; esac
done
for p in mosquitto mosquitto-clients jq iproute2 duktape-dev; do
	case " $demo " in *" $p "*) ;; *) fail "deps.sh --demo lacks $p" ;; esac
done
for p in $all; do
	grep -qE "(^|[ ,(])$p([ ,)]|\$)" "$top_srcdir/README.md" || fail "README does not name $p"
done
grep -qx '"$top/scripts/deps.sh" --demo' "$top_srcdir/scripts/demo.sh" || fail "demo.sh: deps.sh --demo"
grep -qx '"$top/scripts/deps.sh"' "$top_srcdir/scripts/test.sh" || fail "test.sh: deps.sh"
note "deps.sh --demo installs what the demo needs and no test tool"
# Every `log` event code the sources emit (the code argument of the calls
# that publish one, the refusal codes of downlink commands) has a row,
# "| `CODE` |", in one of the README's tables (the log-code table, the
# downlinks refusal table).
src="$top_srcdir/src"
{
	calls='devevent_log[a-z_]*|refuse|refuse_item|refuse_unknown|txsched_drop_item'
	calls="$calls|publish_log|publish_fcnt_log|log_fcnt_down"
	grep -hE "($calls)\\(|\\*code = \"|\\? \"[A-Z][A-Z0-9_]+\"\$|^[[:space:]]*: \"[A-Z][A-Z0-9_]+\",\$" \
		"$src"/daemon/*.c
	grep -hE 'fail\([^,]+, "[A-Z][A-Z0-9_]+"' "$src/events/dlcmd.c"
} | grep -oE '"[A-Z][A-Z0-9_]+"' | tr -d '"' | grep -vxE 'ERROR|WARNING|INFO' | sort -u > "$T/codes"
[ "$(wc -l < "$T/codes")" -gt 20 ] ||
	fail "only $(wc -l < "$T/codes") log codes found in the sources"
while IFS= read -r code; do
	grep -qE "^\| \`$code\` \|" "$top_srcdir/README.md" ||
		fail "README.md has no table row for log code $code"
done < "$T/codes"
note "$(wc -l < "$T/codes") log codes, each with its README row"
echo "PASS"
