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
echo "PASS"
