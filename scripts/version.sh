#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints lorabridge's version, the one of configure (AC_INIT), --version and
# the Debian package, without a newline:
# - in a git checkout: BASE+gitYYYYMMDDHHMMSS.SHA, the commit's date (UTC)
#   and abbreviated hash, so that each build of a newer commit has a higher
#   Debian version and `apt install` upgrades to it;
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
		2>/dev/null) && [ -n "$sha" ] && [ -n "$date" ]; then
	printf '%s+git%s.%s' "$base" "$date" "$sha"
elif [ -s "$top/.version" ]; then
	tr -d '\n' <"$top/.version"
else
	printf '%s' "$base"
fi
