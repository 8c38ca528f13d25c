#!/bin/sh
# SPDX-License-Identifier: MIT
# Cross-build and test lorabridge for a Raspberry Pi architecture on a
# Debian 12 amd64 machine (CI, as root or with sudo):
#   scripts/cross-test.sh arm64|armhf [--deps-only]
# 1. installs the cross toolchain (crossbuild-essential-ARCH), qemu-user and
#    the architecture's -dev packages through multiarch (libmosquitto-dev:ARCH
#    ...), after an apt simulation proves that nothing of the machine's own
#    architecture is removed or replaced by a foreign package;
# 2. cross-builds out of tree in build-cross-ARCH/ (--host, -Werror, no
#    sanitizers; with armhf's 32-bit long and time_t, -Wformat catches
#    format/type mismatches);
# 3. runs every Check unit test under qemu-user, and the end-to-end uplink
#    test (tests/integration/test_uplink.sh) with the machine's own mosquitto
#    and the bridge and the simulator under qemu (LB_EMULATOR in lib.sh);
# 4. builds the .debs with dpkg-buildpackage -a ARCH (from a clean copy of
#    the tree, as test_package.sh does), runs lintian on them (no error, no
#    warning) and runs the packaged lorabridge under qemu. The .debs are left
#    in build-cross-ARCH/debs/.
# One PASS/FAIL line per step; the last line is "cross ARCH: N passed, M
# failed". Exit 0 when all passed, 1 otherwise, and 77 (automake SKIP) in
# one case only: the package archive's ARCH indices are out of sync with the
# machine's own, with evidence (the ARCH index failed to download, or a
# package apt names is at another version on ARCH than on the machine's
# architecture, which multiarch forbids), which the script says. It then
# still runs the compile-only pass (scripts/compile-check.sh ARCH) and
# exits 1 if that fails. An architecture this run added is removed at exit
# unless its packages got installed.
# --deps-only stops after step 1 (its PASS line, or the SKIP above): the
# test command installs both architectures' packages one after the other,
# then runs the two cross tests side by side (apt and dpkg take one lock).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ARCH=${1:-}
case "$ARCH" in
arm64) TRIPLET=aarch64-linux-gnu QEMU=qemu-aarch64 MACHINE=aarch64 ;;
armhf) TRIPLET=arm-linux-gnueabihf QEMU=qemu-arm MACHINE="ARM, EABI5" ;;
*) echo "usage: $0 arm64|armhf [--deps-only]" >&2; exit 2 ;;
esac
DEPS_ONLY=no
case "${2:-}" in
"") ;;
--deps-only) DEPS_ONLY=yes ;;
*) echo "usage: $0 arm64|armhf [--deps-only]" >&2; exit 2 ;;
esac
NATIVE=$(dpkg --print-architecture)
B="$top/build-cross-$ARCH"
W=$(mktemp -d "${TMPDIR:-/tmp}/lorabridge-cross.XXXXXX")
npass=0 nfail=0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
added_arch=no
# Every exit path: an architecture added here whose libraries did not get
# installed is removed again, else every later `apt-get update` on this
# machine would fail on its unsynced index (dpkg refuses to remove one
# that packages use, so an installed one stays).
cleanup() {
	rm -rf "$W"
	if [ "$added_arch" = yes ] && [ -z "$(dpkg-query -W -f='${Package}\n' "*:$ARCH" 2>/dev/null)" ]; then
		$SUDO dpkg --remove-architecture "$ARCH" &&
			echo "  (removed the $ARCH architecture added by this run)"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pass() { echo "PASS: $*"; npass=$((npass + 1)); }
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
finish() {
	echo "cross $ARCH: $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ] || exit 1
	exit 0
}
fatal() { fail "$*"; finish; }
skip_out_of_sync() {
	echo "SKIP: cross $ARCH: the package archive's $ARCH indices are out of sync with $NATIVE:"
	echo "  multiarch needs each library at the same version on both architectures, and"
	echo "  $*"
	echo "  Nothing was installed. Retry once the mirror has synced (apt-get update)."
	# What still runs without the ARCH libraries: the compile-only pass
	# (scripts/test.sh runs it as its own test and sets LB_COMPILE_CHECK=no).
	if [ "${LB_COMPILE_CHECK:-yes}" != no ]; then
		if "$top/scripts/compile-check.sh" "$ARCH" >"$W/compile.log" 2>&1; then
			echo "PASS: $(tail -n 1 "$W/compile.log") (compile-only, -fsyntax-only)"
		else
			cat "$W/compile.log"
			echo "FAIL: scripts/compile-check.sh $ARCH"
			exit 1
		fi
	fi
	exit 77
}

# --- 1. toolchain, emulator, the architecture's libraries ---------------------
# Native: the build tools and what the tests run natively (mosquitto, jq...).
# LB_CROSS_DEPS_DONE=yes (the test command, after --deps-only for every
# architecture): deps.sh already ran; two runs side by side must not both
# run it.
if [ "${LB_CROSS_DEPS_DONE:-no}" != yes ]; then
	"$top/scripts/deps.sh" >"$W/deps.log" 2>&1 || { cat "$W/deps.log"; fatal "scripts/deps.sh"; }
fi
LIBS="libmosquitto-dev libconfig-dev libjson-c-dev libmicrohttpd-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev liburing-dev
check"
# pkgconf:ARCH (Multi-Arch: same) provides $TRIPLET-pkg-config, which
# configure --host runs to find the ARCH libraries.
PKGS="crossbuild-essential-$ARCH qemu-user debhelper dpkg-dev fakeroot lintian"
for p in $LIBS pkgconf; do PKGS="$PKGS $p:$ARCH"; done
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
		$SUDO dpkg --add-architecture "$ARCH" && added_arch=yes
	fi
	# Only this architecture's indices (and the native ones): apt updates a
	# suite's indices all or none, so a half-synced mirror of another
	# foreign architecture must not hold this one back.
	APT_OPTS="-o DPkg::Lock::Timeout=600 -o APT::Architectures::=$NATIVE -o APT::Architectures::=$ARCH"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	$SUDO apt-get $APT_OPTS update >"$W/update.log" 2>&1
	stale=$(grep -E "^[EW]: Failed to fetch .*binary-$ARCH/" "$W/update.log" | sed 's/^[EW]: //' | head -n 3)
	# shellcheck disable=SC2086
	if ! apt-get $APT_OPTS -s install --no-install-recommends $missing >"$W/sim.log" 2>&1; then
		# The twins whose candidate versions differ, e.g. "libssl3:
		# amd64 3.0.22-1~deb12u2, armhf 3.0.20-1~deb12u2" (the native
		# candidate is the installed version when that is the newest).
		versions=""
		for q in $(grep -oE "[a-z0-9][a-z0-9.+-]*:$ARCH" "$W/sim.log" | sort -u); do
			n=${q%:*}
			# shellcheck disable=SC2086
			have=$(apt-cache $APT_OPTS policy "$n:$NATIVE" 2>/dev/null | awk '/Candidate:/ {print $2}')
			[ -n "$have" ] && [ "$have" != "(none)" ] || continue
			# shellcheck disable=SC2086
			cand=$(apt-cache $APT_OPTS policy "$q" 2>/dev/null | awk '/Candidate:/ {print $2}')
			[ "$have" = "$cand" ] ||
				versions="$versions
    $n: $NATIVE $have, $ARCH ${cand:-(none)} in the archive"
		done
		# Out of sync only with evidence: an index that failed to download
		# or a twin at another version. With the indices in sync, an apt
		# failure is a packaging problem of ours or Debian's: FAIL.
		if [ -n "$stale" ] || [ -n "$versions" ]; then
			skip_out_of_sync "apt cannot install$missing:${versions:-
$(grep -E "^ [^ ].* : Depends: |^  +Depends: |^E: " "$W/sim.log" | head -n 12)}
${stale:+  (apt-get update: $stale)}"
		fi
		tail -n 30 "$W/sim.log"
		fatal "apt-get -s install$missing (the $ARCH and $NATIVE indices are in sync)"
	fi
	# The guard: no package of the machine's own is removed or crossgraded
	# (a crossgrade shows as Remv + Inst), e.g. /usr/sbin/mosquitto must stay
	# the amd64 one that other tests on this machine run.
	if grep -E "^Remv " "$W/sim.log"; then
		fatal "apt would remove the packages above to install the $ARCH libraries: refused"
	fi
	upgraded=$(grep -E "^Inst [^ :]+ \[" "$W/sim.log" | awk '{print $2}' | tr '\n' ' ')
	[ -z "$upgraded" ] ||
		echo "  upgraded to the version of their $ARCH twins ($NATIVE, no removal): $upgraded"
	# shellcheck disable=SC2086
	$SUDO apt-get $APT_OPTS install -y -q --no-install-recommends $missing >"$W/install.log" 2>&1 ||
		{ tail -n 20 "$W/install.log"; fatal "apt-get install$missing"; }
fi
pass "cross toolchain, $QEMU and the $ARCH libraries installed"
[ "$DEPS_ONLY" = no ] || finish

# The Build-Depends markings (tools :native): apt-get build-dep -a ARCH must
# not replace native packages either. With every ARCH library above
# installed, it has nothing of ARCH left to install: an "Inst foo:ARCH" is
# a tool added to Build-Depends without :native (it would crossgrade or
# shadow the machine's own) or a library missing from LIBS here.
(cd "$top" && apt-get -s build-dep -a "$ARCH" --no-install-recommends ./) >"$W/bdep.log" 2>&1
bdep_rc=$?
if [ "$bdep_rc" -eq 0 ] && ! grep -qE "^Remv |^Inst [^ ]+:$ARCH " "$W/bdep.log"; then
	pass "apt-get build-dep -a $ARCH ./ removes nothing, installs nothing of $ARCH (simulated)"
else
	grep -E "^Remv |^Inst [^ ]+:$ARCH |^E: " "$W/bdep.log" | head -n 10
	echo "  a tool in debian/control's Build-Depends needs :native, or a library is missing from LIBS in $0"
	fail "apt-get build-dep -a $ARCH ./ removes nothing, installs nothing of $ARCH (simulated)"
fi

# --- 2. cross build ----------------------------------------------------------------
cd "$top" || fatal "cd $top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	autoreconf -fi >"$W/autoreconf.log" 2>&1 || { cat "$W/autoreconf.log"; fatal "autoreconf"; }
fi
mkdir -p "$B"
cd "$B" || fatal "cd $B"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" --host="$TRIPLET" --enable-werror >configure.log 2>&1 ||
		{ tail -n 20 configure.log; fatal "configure --host=$TRIPLET"; }
fi
if make -j"$(nproc)" >make.log 2>&1; then
	pass "cross build for $ARCH ($TRIPLET-gcc, -Werror)"
else
	grep -E "error|warning" make.log | head -n 30
	fatal "cross build for $ARCH"
fi
file lorabridge lorabridge-sim | grep -q "$MACHINE" && [ -s man/lorabridge.conf.5 ] &&
	pass "lorabridge and lorabridge-sim are $ARCH programs, lorabridge.conf(5) built" ||
	fail "lorabridge and lorabridge-sim are $ARCH programs, lorabridge.conf(5) built"

# --- 3. tests under qemu -------------------------------------------------------------
# The multiarch libc6:ARCH (installed with the libraries) provides the
# program loader and every library, so qemu needs no -L.
# (the last line: make may first regenerate the Makefile and say so)
UNIT=$(make -s print-unit-tests | sed -n '/^tests\/unit\//p' | tail -n 1)
[ -n "$UNIT" ] || fatal "make -s print-unit-tests"
rm -f tests/unit/*.trs tests/unit/*.log tests/integration/*.trs tests/integration/*.log
# Check's timeouts (4 s by default) times 10: emulated code is slower.
# LOG_COMPILER runs each unit test program through qemu; the shell test
# gets LB_EMULATOR instead (LOG_COMPILER would apply to it too).
CK_TIMEOUT_MULTIPLIER=10 make -j"$(nproc)" check TESTS="$UNIT" LOG_COMPILER="$QEMU" >check.log 2>&1
LB_EMULATOR=$QEMU make check TESTS=tests/integration/test_uplink.sh >>check.log 2>&1
for trs in tests/unit/*.trs tests/integration/test_uplink.sh.trs; do
	[ -f "$trs" ] || continue
	t=${trs%.trs}
	if grep -q '^:test-result: PASS' "$trs"; then
		pass "$t under $QEMU"
	else
		tail -n 40 "$t.log"
		fail "$t under $QEMU"
	fi
done
nunit=$(ls tests/unit/*.trs 2>/dev/null | wc -l)
[ "$nunit" -eq "$(echo "$UNIT" | wc -w)" ] && [ -f tests/integration/test_uplink.sh.trs ] ||
	{ tail -n 30 check.log; fail "every unit test and test_uplink.sh ran ($nunit unit tests)"; }

# --- 4. the Debian packages --------------------------------------------------------
# dpkg-buildpackage configures in the tree: build in a copy of the files git
# knows, as a fresh clone has them. dh skips the tests when cross-building.
src="$W/lorabridge"
mkdir -p "$src"
if [ -d "$top/.git" ] || [ -f "$top/.git" ]; then
	(cd "$top" && git ls-files -z -co --exclude-standard) |
		(cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$src"
else
	(cd "$top" && tar --exclude='./build*' --exclude=./.git --exclude=./autom4te.cache -cf - .) |
		tar -xf - -C "$src"
fi
# The version of this commit (debian/changelog entry, .version): README's step.
"$top/scripts/deb-version.sh" "$src" >/dev/null || fatal "scripts/deb-version.sh"
if (cd "$src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -a "$ARCH" -us -uc -b) \
	>"$W/deb.log" 2>&1; then
	pass "dpkg-buildpackage -a $ARCH -us -uc -b"
else
	tail -n 40 "$W/deb.log"
	fatal "dpkg-buildpackage -a $ARCH -us -uc -b"
fi
changes=$(ls "$W"/lorabridge_*_"$ARCH".changes 2>/dev/null | head -n 1)
deb=$(ls "$W"/lorabridge_*_"$ARCH".deb 2>/dev/null | head -n 1)
tools_deb=$(ls "$W"/lorabridge-tools_*_"$ARCH".deb 2>/dev/null | head -n 1)
[ -n "$changes" ] && [ -n "$deb" ] && [ -n "$tools_deb" ] ||
	fatal "lorabridge_*_$ARCH.deb, lorabridge-tools_*_$ARCH.deb and the .changes built"
lintian --fail-on error,warning --info "$changes" >"$W/lintian.log" 2>&1
rc=$?
grep -v 'running with root privileges' "$W/lintian.log" | sed 's/^/  lintian: /'
[ "$rc" -eq 0 ] && pass "lintian $(basename "$changes"): no error, no warning" ||
	fail "lintian $(basename "$changes"): no error, no warning"
mkdir "$W/x"
dpkg-deb -x "$deb" "$W/x"
version=$(dpkg-deb -f "$deb" Version)
if [ "$(dpkg-deb -f "$deb" Architecture)" = "$ARCH" ] &&
	[ -f "$W/x/usr/share/man/man5/lorabridge.conf.5.gz" ] &&
	[ "$($QEMU "$W/x/usr/bin/lorabridge" --version)" = "lorabridge $version" ]; then
	pass "$(basename "$deb"): Architecture $ARCH, lorabridge.conf(5), lorabridge --version under $QEMU"
else
	fail "$(basename "$deb"): Architecture $ARCH, lorabridge.conf(5), lorabridge --version under $QEMU"
fi
mkdir -p "$B/debs"
cp "$deb" "$tools_deb" "$B/debs/"
echo "  packages: $(basename "$deb") $(basename "$tools_deb") in $B/debs/"
finish
