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
# The commit's date and hash: from git when $top is a checkout (the same
# test as version.sh: its own .git, so that a tarball unpacked inside some
# other repository does not take that one's HEAD), else (a tarball, whose
# .version names the commit) from the version, BASE+gitYYYYMMDDHHMMSS[.N].SHA.
if { [ -d "$top/.git" ] || [ -f "$top/.git" ]; } && command -v git >/dev/null 2>&1 &&
	git -C "$top" rev-parse --verify -q HEAD >/dev/null 2>&1; then
	date=$(LC_ALL=C TZ=UTC0 date -R -d "@$(git -C "$top" log -1 --format=%ct HEAD)")
	sha=$(git -C "$top" rev-parse HEAD)
else
	stamp=$(printf '%s\n' "$version" | sed -n 's/.*+git\([0-9]\{14\}\)\..*/\1/p')
	sha=${version##*.}
	[ -n "$stamp" ] || { echo "deb-version: no date in version $version" >&2; exit 1; }
	date=$(printf '%s-%s-%s %s:%s:%s' "$(echo "$stamp" | cut -c1-4)" \
		"$(echo "$stamp" | cut -c5-6)" "$(echo "$stamp" | cut -c7-8)" \
		"$(echo "$stamp" | cut -c9-10)" "$(echo "$stamp" | cut -c11-12)" \
		"$(echo "$stamp" | cut -c13-14)")
	date=$(LC_ALL=C TZ=UTC0 date -R -d "$date UTC")
fi
# The previous entry of the changelog, minus an entry written by this script.
rest=$(awk 'NR == 1 && /\+git/ { skip = 1 } skip && /^ -- / { skip = 0; drop = 1; next }
	drop && /^$/ { drop = 0; next } !skip { drop = 0; print }' "$cl")
maint=$(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$cl" | head -n 1)
{
	printf 'lorabridge (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built from git commit %s.\n\n' "$sha"
	printf ' -- %s  %s\n\n' "$maint" "$date"
	printf '%s\n' "$rest"
} >"$cl.new"
mv "$cl.new" "$cl"
printf '%s\n' "$version" >"$dir/.version"
echo "deb-version: $version"
