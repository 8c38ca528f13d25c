#!/bin/sh
# SPDX-License-Identifier: MIT
# Gives a tree to be packaged the version of this checkout
# (scripts/version.sh: BASE+gitYYYYMMDDHHMMSS.N.SHA): writes it to DIR/.version
# (read by configure when DIR has no .git) and puts a debian/changelog entry
# for it on top of DIR/debian/changelog, dated with the commit's date. Run
# before dpkg-buildpackage, so that the package's version is the program's
# --version and grows with each commit: `apt install` of a newer build then
# upgrades. Running it again replaces the entry it wrote (one at most).
# Usage: scripts/deb-version.sh [DIR]   (default: this tree)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top}
cl="$dir/debian/changelog"
[ -f "$cl" ] || { echo "deb-version: no $cl" >&2; exit 1; }
version=$("$top/scripts/version.sh" "$top")
case "$version" in
*+git*) ;;
*) echo "deb-version: $top is not a git checkout: keeping $cl as it is ($version)" >&2
   printf '%s\n' "$version" >"$dir/.version"; exit 0 ;;
esac
epoch=$(git -C "$top" log -1 --format=%ct HEAD)
sha=$(git -C "$top" rev-parse HEAD)
# The previous entry of the changelog, minus an entry written by this script.
rest=$(awk 'NR == 1 && /\+git/ { skip = 1 } skip && /^ -- / { skip = 0; drop = 1; next }
	drop && /^$/ { drop = 0; next } !skip { drop = 0; print }' "$cl")
maint=$(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$cl" | head -n 1)
{
	printf 'lorabridge (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built from git commit %s.\n\n' "$sha"
	printf ' -- %s  %s\n\n' "$maint" "$(LC_ALL=C TZ=UTC0 date -R -d "@$epoch")"
	printf '%s\n' "$rest"
} >"$cl.new"
mv "$cl.new" "$cl"
printf '%s\n' "$version" >"$dir/.version"
echo "deb-version: $version"
