#!/bin/sh
# SPDX-License-Identifier: MIT
# The Debian package, end to end, on a throwaway Debian machine (CI, as root):
# build lorabridge and lorabridge-tools from a clean copy of the source tree
# with dpkg-buildpackage, run lintian (no error, no warning), install both
# .debs with dpkg -i, check files, user, group, modes, conffile and unit,
# check the installed configuration as the lorabridge user, run the daemon
# briefly without a gateway, verify the unit with systemd-analyze (verify,
# security score), then purge and check that everything is gone.
#
# Exit 77 (automake SKIP) when not root or not on Debian: it installs
# packages and creates a system user. One PASS/SKIP/FAIL line per step.
# DEB_BUILD_OPTIONS defaults to "nocheck" (the test suite runs elsewhere in
# CI); set it to "" to run make check inside the package build too.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"

if [ "$(id -u)" -ne 0 ]; then echo "SKIP: package test needs root"; exit 77; fi
if [ ! -f /etc/debian_version ] || ! command -v dpkg >/dev/null 2>&1; then
	echo "SKIP: package test needs Debian"; exit 77
fi

W=$(mktemp -d "${TMPDIR:-/tmp}/lorabridge-pkg.XXXXXX")
CONF=/etc/lorabridge/lorabridge.conf
UNIT=/lib/systemd/system/lorabridge.service
npass=0 nfail=0 nskip=0
installed=no

pass() { echo "PASS: $*"; npass=$((npass + 1)); }
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
skip() { echo "SKIP: $*"; nskip=$((nskip + 1)); }
# step TEXT COMMAND...: PASS or FAIL on the command's status.
step() { _t=$1; shift; if "$@"; then pass "$_t"; else fail "$_t"; fi; }
# fatal TEXT: stop here (later steps depend on this one).
fatal() { fail "$*"; finish; }

finish() {
	if [ "$installed" = yes ]; then
		dpkg --purge lorabridge lorabridge-tools >/dev/null 2>&1 || true
	fi
	rm -rf "$W"
	echo "package: $npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" -eq 0 ] || exit 1
	exit 0
}
trap 'rm -rf "$W"' INT TERM

# --- build dependencies ------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
apt_install() {
	apt-get install -y -qq --no-install-recommends "$@" >"$W/apt.log" 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
		  apt-get install -y -qq --no-install-recommends "$@" >"$W/apt.log" 2>&1; }
}
tools="build-essential debhelper fakeroot lintian"
missing=""
for p in $tools; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# shellcheck disable=SC2086
[ -z "$missing" ] || apt_install $missing || { tail -20 "$W/apt.log"; fatal "install$missing"; }
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS-nocheck}"
case " $DEB_BUILD_OPTIONS " in *" nocheck "*) export DEB_BUILD_PROFILES=nocheck ;; esac
# Unmet Build-Depends, "a (>= 1), b | c" -> "a b" (first alternative).
unmet=$(cd "$top_srcdir" && dpkg-checkbuilddeps 2>&1 |
	sed -n 's/.*Unmet build dependencies: //p' |
	sed 's/([^)]*)//g; s/<[^>]*>//g; s/|[^,]*//g; s/,/ /g')
# shellcheck disable=SC2086
[ -z "$unmet" ] || apt_install $unmet || { tail -20 "$W/apt.log"; fatal "install build deps: $unmet"; }
pass "build tools and Build-Depends present"

# --- build from a clean copy -------------------------------------------------
# dpkg-buildpackage configures in the tree, which would break the
# out-of-tree build/ of the working copy: build in a copy of the files git
# knows (tracked and new, not ignored), as a fresh clone would have them.
src="$W/lorabridge"
mkdir -p "$src"
if [ -d "$top_srcdir/.git" ] && command -v git >/dev/null 2>&1; then
	(cd "$top_srcdir" && git ls-files -z -co --exclude-standard) |
		(cd "$top_srcdir" && tar --null -T - -cf -) | tar -xf - -C "$src"
else
	(cd "$top_srcdir" && tar --exclude='./build*' --exclude=./.git \
		--exclude=./autom4te.cache -cf - .) | tar -xf - -C "$src"
fi
[ -f "$src/debian/control" ] || fatal "copy the source tree (no debian/control)"
# The version of this commit (scripts/deb-version.sh), as README's build step
# does: a debian/changelog entry and .version for configure.
commit=""
if [ -d "$top_srcdir/.git" ] && command -v git >/dev/null 2>&1; then
	commit=$(git -C "$top_srcdir" rev-parse --short=10 HEAD)
	step "scripts/deb-version.sh (the version of commit $commit)" \
		sh -c "'$top_srcdir/scripts/deb-version.sh' '$src' >/dev/null"
fi
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
else
	tail -40 "$W/build.log"
	fatal "dpkg-buildpackage -us -uc -b"
fi
deb=$(ls "$W"/lorabridge_*.deb 2>/dev/null | head -n 1)
tools_deb=$(ls "$W"/lorabridge-tools_*.deb 2>/dev/null | head -n 1)
changes=$(ls "$W"/lorabridge_*.changes 2>/dev/null | head -n 1)
[ -n "$deb" ] && [ -n "$tools_deb" ] && [ -n "$changes" ] || fatal "both .debs and the .changes built"
version=$(dpkg-deb -f "$deb" Version)
# duktape is compiled in: a security update of it must point at lorabridge.
sbu=$(dpkg-query -W -f='${source:Package} (= ${source:Version})' duktape-dev 2>/dev/null)
step "Static-Built-Using: $sbu in both packages" sh -c "
	[ \"\$(dpkg-deb -f '$deb' Static-Built-Using)\" = '$sbu' ] &&
	[ \"\$(dpkg-deb -f '$tools_deb' Static-Built-Using)\" = '$sbu' ]"

# --- lintian -----------------------------------------------------------------
lintian --fail-on error,warning --info "$changes" >"$W/lintian.log" 2>&1
rc=$?
grep -v 'running with root privileges' "$W/lintian.log" | sed 's/^/  lintian: /'
step "lintian: no error, no warning" [ "$rc" -eq 0 ]

# --- install -----------------------------------------------------------------
dpkg --purge lorabridge lorabridge-tools >/dev/null 2>&1
installed=yes
if dpkg -i "$deb" "$tools_deb" >"$W/dpkg.log" 2>&1; then
	pass "dpkg -i $(basename "$deb") $(basename "$tools_deb")"
else
	cat "$W/dpkg.log"
	fatal "dpkg -i"
fi

# mode_of PATH: "MODE USER GROUP"
mode_of() { stat -c '%a %U %G' "$1" 2>/dev/null; }
files_present() {
	for f in /usr/bin/lorabridge /usr/bin/lorabridge-sim "$UNIT" "$CONF" \
		/usr/share/man/man8/lorabridge.8.gz /usr/share/man/man5/lorabridge.conf.5.gz \
		/usr/share/man/man1/lorabridge-sim.1.gz /usr/share/doc/lorabridge/copyright \
		/usr/share/lorabridge/www/index.html /usr/share/lorabridge/www/app.js \
		/usr/share/lorabridge/www/style.css; do
		[ -e "$f" ] || { echo "  missing $f"; return 1; }
	done
}
step "files installed (programs, unit, config, man pages, web page)" files_present
step "lorabridge --version is $version" \
	sh -c "lorabridge --version | grep -qx 'lorabridge $version'"
if [ -n "$commit" ]; then
	step "the version names the commit and is newer than the changelog's base" sh -c "
		case '$version' in *+git[0-9]*.$commit) ;; *) exit 1 ;; esac &&
		dpkg --compare-versions '$version' gt \
			\"\$(git -C '$top_srcdir' show HEAD:debian/changelog |
				dpkg-parsechangelog -l - -S Version)\""
	# A later commit (here an empty one, in the SAME second as HEAD, in a
	# throwaway clone: the version must not then order by hash) gets a
	# higher version, and installing a package of it over this one upgrades
	# (the same .deb relabelled with that version).
	later_version() {
		git clone -q --no-hardlinks "$top_srcdir" "$W/later" &&
		d=$(git -C "$W/later" log -1 --format=%ct HEAD) &&
		GIT_COMMITTER_DATE="@$d +0000" git -C "$W/later" -c user.name=t \
			-c user.email=t@t commit -q --allow-empty -m later &&
		"$top_srcdir/scripts/version.sh" "$W/later"
	}
	if next=$(later_version) && dpkg --compare-versions "$next" gt "$version"; then
		pass "a later commit's version $next > $version"
		mkdir "$W/re" && dpkg-deb -R "$deb" "$W/re" &&
			sed -i "s/^Version: .*/Version: $next/" "$W/re/DEBIAN/control" &&
			dpkg-deb -b "$W/re" "$W/later.deb" >/dev/null &&
			apt-get install -y -qq --no-install-recommends "$W/later.deb" >"$W/up.log" 2>&1
		step "apt install of the later version upgrades ($version -> $next)" \
			sh -c "[ \"\$(dpkg-query -W -f='\${Version}' lorabridge)\" = '$next' ]"
		grep -E 'upgraded' "$W/up.log" | sed 's/^/  apt: /'
	else
		fail "a later commit's version ${next:-?} > $version"
	fi
fi
step "system user and group lorabridge (nologin, uid < 1000)" sh -c '
	u=$(getent passwd lorabridge) && getent group lorabridge >/dev/null &&
	[ "$(echo "$u" | cut -d: -f3)" -lt 1000 ] &&
	case "$(echo "$u" | cut -d: -f7)" in */nologin|*/false) true ;; *) false ;; esac'
echo "  $CONF: $(mode_of "$CONF")"
step "$CONF is 0640 root:lorabridge" [ "$(mode_of "$CONF")" = "640 root lorabridge" ]
step "$CONF is a conffile" \
	sh -c "dpkg-query -W -f='\${Conffiles}' lorabridge | grep -q ' $CONF '"
echo "  /etc/lorabridge: $(mode_of /etc/lorabridge)"
step "/etc/lorabridge is 0750 root:lorabridge, the unit's ConfigurationDirectoryMode" sh -c "
	[ \"\$(stat -c '%a %U %G' /etc/lorabridge)\" = '750 root lorabridge' ] &&
	grep -qx 'ConfigurationDirectoryMode=0750' $UNIT"
echo "  /var/lib/lorabridge: $(mode_of /var/lib/lorabridge)"
step "/var/lib/lorabridge belongs to lorabridge" \
	sh -c '[ "$(stat -c %U:%G /var/lib/lorabridge)" = lorabridge:lorabridge ]'
step "unit enabled (multi-user.target.wants)" \
	[ -L /etc/systemd/system/multi-user.target.wants/lorabridge.service ]
man_clean() {
	for p in lorabridge.8 lorabridge.conf.5 lorabridge-sim.1; do
		sec=${p##*.}
		w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l \
			"/usr/share/man/man$sec/$p.gz" 2>&1 >/dev/null)
		[ -z "$w" ] || { echo "  $p: $w"; return 1; }
	done
}
step "man pages render without groff warnings" man_clean

# --- run as the service user --------------------------------------------------
if runuser -u lorabridge -- lorabridge --check-config -c "$CONF" >"$W/check.log" 2>&1; then
	pass "runuser -u lorabridge -- lorabridge --check-config -c $CONF"
else
	sed 's/^/  /' "$W/check.log"
	fail "runuser -u lorabridge -- lorabridge --check-config -c $CONF"
fi
step "another user cannot read the keys (--check-config as nobody exits 1)" \
	sh -c "runuser -u nobody -- lorabridge --check-config -c $CONF >/dev/null 2>&1; [ \$? -eq 1 ]"
# The postinst checks the configuration before its restart and prints the
# problems of one the version rejects, without failing the install.
cp -p "$CONF" "$W/conf.orig"
echo 'this is not a setting' >>"$CONF"
rc=0
/var/lib/dpkg/info/lorabridge.postinst configure "$version" >"$W/postinst.log" 2>&1 || rc=$?
cp -p "$W/conf.orig" "$CONF"
sed 's/^/  postinst: /' "$W/postinst.log" | head -n 8
step "postinst configure with an invalid config: exit 0, the problem printed" sh -c "
	[ $rc -eq 0 ] && grep -q 'is not valid for this version' '$W/postinst.log' &&
	grep -q 'lorabridge.conf:[0-9]*: error' '$W/postinst.log'"
step "NEWS.Debian installed" [ -f /usr/share/doc/lorabridge/NEWS.Debian.gz ]
step "lorabridge-sim --help as lorabridge" \
	sh -c "runuser -u lorabridge -- lorabridge-sim --help >/dev/null"

# GET / answers 200 within 10 s: the packaged config's web page
# (http.port 8080 on 127.0.0.1, the installed www files).
page_served() {
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:8080/)
		[ "$code" = 200 ] && return 0
		sleep 0.5
	done
	echo "  GET http://127.0.0.1:8080/ answered '$code'"
	return 1
}

# Without a gateway (and maybe without a broker) the daemon waits: alive
# after 2 s, and exits 0 on SIGTERM. Skipped if its UDP port is taken.
if ss -Huln 2>/dev/null | awk '{print $4}' | grep -qE '[:.]1700$'; then
	skip "daemon waits without a gateway (UDP port 1700 is in use here)"
else
	http_free=yes
	ss -Htln 2>/dev/null | awk '{print $4}' | grep -qE '[:.]8080$' && http_free=no
	setpriv --reuid=lorabridge --regid=lorabridge --init-groups \
		/usr/bin/lorabridge -f -c "$CONF" >"$W/run.log" 2>&1 &
	pid=$!
	if [ "$http_free" = no ]; then
		skip "GET / of the packaged config (TCP port 8080 is in use here)"
	elif ! command -v curl >/dev/null; then
		skip "GET / of the packaged config (no curl)"
	else
		step "GET http://127.0.0.1:8080/ answers 200 (the installed page)" page_served
	fi
	sleep 2
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid"
		rc=$?
	else
		wait "$pid"
		rc="exited early ($?)"
	fi
	sed 's/^/  daemon: /' "$W/run.log" | head -n 8
	step "daemon waits without a gateway, exits 0 on SIGTERM" [ "$rc" = 0 ]
fi

# --- the unit ----------------------------------------------------------------
# systemctl reload checks the file, as the service user, before the signal
# (sent by sh's kill builtin: procps, which has /bin/kill, is not a dependency).
step "unit: ExecReload runs --check-config, then sh's kill -HUP" sh -c "
	grep '^ExecReload=' $UNIT | sed -n 1p |
		grep -qx 'ExecReload=/usr/bin/lorabridge --check-config -c \${LORABRIDGE_CONF}' &&
	grep -qx 'ExecStart=/usr/bin/lorabridge -f -c \${LORABRIDGE_CONF}' $UNIT &&
	grep -qx 'Environment=LORABRIDGE_CONF=$CONF' $UNIT &&
	grep '^ExecReload=' $UNIT | sed -n 2p | grep -q \"^ExecReload=/bin/sh -c 'kill -HUP \" &&
	[ \$(grep -c '^ExecReload=' $UNIT) -eq 2 ] && ! grep -q '^Exec.*/bin/kill' $UNIT"
systemd-analyze verify "$UNIT" >"$W/verify.log" 2>&1
rc=$?
sed 's/^/  verify: /' "$W/verify.log"
step "systemd-analyze verify $UNIT (no message)" sh -c "[ $rc -eq 0 ] && [ ! -s '$W/verify.log' ]"

# --offline needs no running systemd (systemd >= 250).
if systemd-analyze security --offline=true "$UNIT" >"$W/security.log" 2>&1; then
	score=$(grep 'Overall exposure level' "$W/security.log" | sed 's/.*: //')
	echo "  systemd-analyze security: $score"
	case "$score" in
	*" OK"* | *" SAFE"* | *" PERFECT"*) pass "systemd-analyze security: OK or better" ;;
	*) fail "systemd-analyze security: OK or better (got '$score')" ;;
	esac
else
	sed 's/^/  /' "$W/security.log" | tail -n 3
	skip "systemd-analyze security (no --offline mode on this systemd)"
fi

if [ -d /run/systemd/system ]; then
	# systemd is PID 1: the package's postinst has started the service.
	ok=no
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		systemctl is-active --quiet lorabridge && { ok=yes; break; }
		sleep 1
	done
	systemctl status --no-pager lorabridge 2>&1 | sed 's/^/  /' | head -n 12
	step "service active after install (Type=notify: READY received)" [ "$ok" = yes ]
	if command -v curl >/dev/null; then
		step "GET http://127.0.0.1:8080/ of the service answers 200" page_served
	fi
	step "systemctl reload lorabridge (SIGHUP)" systemctl reload lorabridge
	step "service still active after reload" systemctl is-active --quiet lorabridge
	cp -p "$CONF" "$W/conf.saved"
	echo 'this is not a setting' >>"$CONF"
	step "systemctl reload of an invalid file fails" sh -c '! systemctl reload lorabridge'
	cp -p "$W/conf.saved" "$CONF"
	step "service still active after the failed reload" systemctl is-active --quiet lorabridge
else
	skip "service start, READY/WATCHDOG and reload: systemd is not PID 1 here" \
		"(postinst enabled the unit; deb-systemd-invoke could not start it)"
fi

# --- purge -------------------------------------------------------------------
if dpkg --purge lorabridge lorabridge-tools >"$W/purge.log" 2>&1; then
	installed=no
	pass "dpkg --purge lorabridge lorabridge-tools"
else
	cat "$W/purge.log"
	fatal "dpkg --purge"
fi
gone() {
	for f in /usr/bin/lorabridge /usr/bin/lorabridge-sim "$UNIT" /etc/lorabridge \
		/var/lib/lorabridge /etc/systemd/system/multi-user.target.wants/lorabridge.service \
		/usr/share/doc/lorabridge /usr/share/man/man8/lorabridge.8.gz; do
		[ ! -e "$f" ] && [ ! -L "$f" ] || { echo "  left behind: $f"; return 1; }
	done
	! dpkg-statoverride --list "$CONF" >/dev/null 2>&1 && ! dpkg-statoverride --list /etc/lorabridge \
		>/dev/null 2>&1 || { echo "  statoverride left"; return 1; }
	! dpkg -s lorabridge >/dev/null 2>&1 && ! dpkg -s lorabridge-tools >/dev/null 2>&1
}
step "everything is gone after purge (files, config, state, unit link, statoverride)" gone
if getent passwd lorabridge >/dev/null; then
	echo "  note: the system user and group lorabridge are kept after purge on purpose:"
	echo "  files they own may remain elsewhere and a uid must not be reused (adduser(8))"
fi

finish
