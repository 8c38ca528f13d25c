#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints lorabridge's version, the one of configure (AC_INIT), --version and
# the Debian package, without a newline:
# - in a git checkout: BASE+gitYYYYMMDDHHMMSS.N.SHA, the commit's date (UTC),
#   N and the abbreviated hash, so that each build of a newer commit has a
#   higher Debian version and `apt install` upgrades to it. N is the number
#   of first-parent commits up to HEAD with HEAD's committer time (1 unless
#   several were committed in the same second, as a rebase does): without
#   it a child committed in its parent's second would sort by hash, maybe
#   lower. In a shallow clone N counts only the commits fetched (a clone
#   with --depth=1 always gets 1), so a build of the same commit may get a
#   lower version than from a full clone: package from a full clone;
# - else the contents of .version (written by `make dist` into the tarball
#   and by scripts/deb-version.sh into a copy without .git);
# - else BASE.
# BASE is the upstream version of the first debian/changelog entry without
# a "+git..." suffix (the changelog is the one place it is written).
# Usage: scripts/version.sh [TOP]   (TOP: the source tree, default: this one)
set -eu
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
base=$(sed -n '1s/^[^(]*(\([^)+~-]*\).*/\1/p' "$top/debian/changelog" 2>/dev/null || true)
[ -n "$base" ] || base=0.1.0
if { [ -d "$top/.git" ] || [ -f "$top/.git" ]; } && command -v git >/dev/null 2>&1 &&
	sha=$(git -C "$top" rev-parse --short=10 HEAD 2>/dev/null) &&
	date=$(TZ=UTC0 git -C "$top" log -1 --date=format-local:%Y%m%d%H%M%S --format=%cd HEAD \
		2>/dev/null) && ct=$(git -C "$top" log -1 --format=%ct HEAD 2>/dev/null) &&
	n=$(git -C "$top" log --first-parent --format=%ct HEAD 2>/dev/null |
		awk -v t="$ct" '$1 == t { n++ } $1 < t { exit } END { print n + 0 }') &&
	[ -n "$sha" ] && [ -n "$date" ] && [ "$n" -ge 1 ]; then
	printf '%s+git%s.%s.%s' "$base" "$date" "$n" "$sha"
elif [ -s "$top/.version" ]; then
	tr -d '\n' <"$top/.version"
else
	printf '%s' "$base"
fi
