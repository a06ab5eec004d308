#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The install test (make check, tests/run-all.sh phase 10): builds the
# Debian packages from a copy of this tree, checks them with lintian and
# make install/uninstall, installs the packages with dpkg on a fresh root
# of this host (overlays in a mount namespace: DKMS builds svmig.ko for the
# test VM's kernel, natively), then boots the test VM (Debian's 6.1 kernel,
# a swtpm TPM) on that root (tests/install/guest-install.sh: the module
# loads through modules-load.d, udev gives /dev/svmig its group and mode, a
# VMM links against the installed library through pkg-config,
# systemd-analyze verify accepts the unit, the tools, then the purge).
# Runs as root (mounts).
#
#   tests/install/run-install-test.sh [--timeout SECS]
#
# Prints one TAP line per check ("ok - DESC" / "not ok - DESC", the
# guest's prefixed "guest: ") and "# time:" lines; exits 0 only if every
# check passed.  Logs: build/install/ (build.log, lintian.log,
# console.log and the guest's dpkg logs in guest/).
set -uo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
ROOT=$PWD
OUT=$ROOT/build/install
timeout=900
case ${1:-} in
--timeout) timeout=${2:?}; shift 2 ;;
"") ;;
*) echo "usage: $0 [--timeout SECS]" >&2; exit 2 ;;
esac

# shellcheck source=tests/vm/tap-lib.sh
. "$ROOT/tests/vm/tap-lib.sh"
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

V=$(cat VERSION)
rm -rf "$OUT"
mkdir -p "$OUT/debs"

# 1. The packages, built from a copy of the tree (tracked and new files,
# not build/): dpkg-buildpackage cleans and writes next to its tree.
t0=$(now)
src=$(mktemp -d "${TMPDIR:-/tmp}/svmig-pkg.XXXXXX")
trap 'rm -rf "$src"' EXIT
mkdir "$src/svmig-$V"
git ls-files -z -c -o --exclude-standard | cpio -0 -pdm --quiet "$src/svmig-$V" 2>"$OUT/copy.log"
rc=0
(cd "$src/svmig-$V" && dpkg-buildpackage -us -uc -b -j2) >"$OUT/build.log" 2>&1 || rc=$?
ok $((rc == 0)) "host: dpkg-buildpackage -us -uc -b builds svmig $V" \
	"exit status $rc; $(tail -n 20 "$OUT/build.log")"
cp "$src"/*.deb "$src"/*.changes "$src"/*.buildinfo "$OUT/debs/" 2>/dev/null
echo "# time: dpkg-buildpackage: $(since "$t0")s"
ndebs=0
for p in svmig-dkms svmigd svmig-tools libsvmig0 libsvmig-dev; do
	ls "$OUT/debs/${p}_${V}_"*.deb >/dev/null 2>&1 && ndebs=$((ndebs + 1))
done
ok $((ndebs == 5)) "host: it makes svmig-dkms, svmigd, svmig-tools, libsvmig0, libsvmig-dev" \
	"$(ls "$OUT/debs")"
# The versions agree: VERSION, dkms.conf, debian/changelog, svmig.pc.
pv=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
cv=$(dpkg-parsechangelog -S Version 2>/dev/null)
ok "$([[ $pv == "$V" && $cv == "$V" ]] && echo 1 || echo 0)" \
	"host: one version: VERSION $V, dkms.conf $pv, debian/changelog $cv"

t0=$(now)
rc=0
lintian --tag-display-limit 0 "$OUT/debs/svmig_${V}_"*.changes >"$OUT/lintian.log" 2>&1 || rc=$?
errs=$(grep -E '^E: ' "$OUT/lintian.log")
ok "$([[ -z $errs ]] && echo 1 || echo 0)" "host: lintian reports no errors" "$errs"
grep -E '^W: ' "$OUT/lintian.log" | sed 's/^/# lintian: /'
echo "# time: lintian: $(since "$t0")s"

# 2. make install into a staging root lays out the documented files.
t0=$(now)
st=$OUT/staging
rc=0
make -s install DESTDIR="$st" PREFIX=/usr/local >"$OUT/make-install.log" 2>&1 || rc=$?
missing=
for f in usr/local/sbin/svmigd usr/local/bin/svmigctl usr/local/bin/svmig-migrate \
	usr/local/lib/libsvmig.so.0 usr/local/lib/libsvmig.so "usr/local/lib/libsvmig.so.$V" \
	usr/local/lib/libsvmig.a usr/local/include/svmig/libsvmig.h \
	usr/local/include/svmig/linux/svmig.h usr/local/lib/pkgconfig/svmig.pc \
	usr/local/share/man/man8/svmigd.8 usr/local/share/man/man8/svmigctl.8 \
	usr/local/share/man/man1/svmig-migrate.1 usr/local/share/man/man5/svmigd.conf.5 \
	usr/local/share/man/man4/svmig.4 usr/local/share/bash-completion/completions/svmigctl \
	etc/systemd/system/svmigd.service etc/udev/rules.d/60-svmig.rules \
	etc/modules-load.d/svmig.conf etc/svmigd/svmigd.conf.example etc/default/svmigd; do
	[[ -e $st/$f ]] || missing+=" $f"
done
ok "$([[ $rc == 0 && -z $missing ]] && echo 1 || echo 0)" \
	"host: make install DESTDIR=... PREFIX=/usr/local lays out every file" \
	"exit status $rc; missing:${missing:- none}"
so=$(readelf -d "$st/usr/local/lib/libsvmig.so.$V" 2>&1 | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
ok "$([[ $so == libsvmig.so.0 ]] && echo 1 || echo 0)" "host: SONAME libsvmig.so.0 (${so:-none})"
grep -q "^ExecStart=/usr/local/sbin/svmigd " "$st/etc/systemd/system/svmigd.service"
ok $((! $?)) "host: the installed unit runs the installed svmigd (SBINDIR)"
rc=0
make -s uninstall DESTDIR="$st" PREFIX=/usr/local >>"$OUT/make-install.log" 2>&1 || rc=$?
left=$(find "$st" -type f -o -type l)
ok "$([[ $rc == 0 && -z $left ]] && echo 1 || echo 0)" "host: make uninstall removes them all" \
	"exit status $rc; left: $left"
echo "# time: make install/uninstall: $(since "$t0")s"

# 3. dpkg -i on a fresh root of this host: its /etc, /usr and /var under
# overlays with tmpfs upper layers, in a mount namespace of its own, so
# nothing reaches the host.  The packages' maintainer scripts run there
# natively: svmig-dkms's DKMS builds, signs and installs svmig.ko for the
# kernel whose headers are installed (the test VM's; a module build under
# TCG would take minutes).  The upper layers are copied to
# build/install/root/, which the guest stacks over its own root; then
# dpkg --purge runs there and must leave no module, DKMS tree or group.
t0=$(now)
root=$OUT/root
rc=0
unshare -m --propagation private bash -s "$OUT" "$V" >"$OUT/dpkg-install.log" 2>&1 <<'SH' || rc=$?
set -u
out=$1 v=$2 t=$(mktemp -d "${TMPDIR:-/tmp}/svmig-root.XXXXXX")
mount -t tmpfs tmpfs "$t" || exit 1
for d in etc usr var; do
	mkdir -p "$t/$d/up" "$t/$d/wk" &&
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$t/$d/up,workdir=$t/$d/wk" "/$d" || exit 1
done
mount -t tmpfs tmpfs /var/tmp
# man-db's index is not rebuilt on this throw-away root
echo "man-db man-db/auto-update boolean false" | debconf-set-selections
rc=0
dpkg -i "$out"/debs/{svmig-dkms,svmigd,svmig-tools,libsvmig0,libsvmig-dev}_"$v"_*.deb || rc=$?
echo "dkms-status: $(dkms status -m svmig -v "$v" 2>&1 | tr '\n' ' ')"
umount /var/tmp
for d in etc usr var; do
	mkdir -p "$out/root/$d" && cp -a "$t/$d/up/." "$out/root/$d/" || rc=1
done
# Then the purge, here too (natively: DKMS's removal runs depmod, minutes
# under TCG).
prc=0
dpkg --purge svmig-dkms svmigd svmig-tools libsvmig0 libsvmig-dev >"$out/dpkg-purge.log" 2>&1 || prc=$?
echo "purge: exit=$prc"
echo "purge: modules=$(ls /lib/modules/*/updates/dkms/svmig.ko* 2>/dev/null | tr '\n' ' ')"
echo "purge: dkms=$(dkms status -m svmig 2>&1 | tr '\n' ' ')"
echo "purge: src=$(ls -d /usr/src/svmig-* 2>/dev/null)"
echo "purge: group=$(getent group svmig)"
echo "purge: files=$(dpkg -L svmigd libsvmig0 2>/dev/null | grep -c -v -x -E '/\.?')"
umount -l /etc /usr /var
umount "$t"
rmdir "$t"
exit "$rc"
SH
ok $((rc == 0)) "host: dpkg -i of the five packages on a fresh root (DKMS builds svmig.ko natively)" \
	"exit status $rc; $(tail -n 20 "$OUT/dpkg-install.log")"
echo "# time: dpkg -i with the DKMS build, and dpkg --purge, on this host: $(since "$t0")s"
pv() { sed -n "s/^purge: $1=//p" "$OUT/dpkg-install.log"; }
ok "$([[ $(pv exit) == 0 && -z $(pv modules) && -z $(pv dkms) && -z $(pv src) && -z $(pv group) ]] &&
	echo 1 || echo 0)" \
	"host: dpkg --purge there removes the module, DKMS's tree, /usr/src/svmig-$V and the svmig group" \
	"$(grep '^purge: ' "$OUT/dpkg-install.log"; tail -n 10 "$OUT/dpkg-purge.log" 2>/dev/null)"
kver=$(tests/vm/run-vm.sh --print-abi 2>/dev/null)
st=$(sed -n 's/^dkms-status: //p' "$OUT/dpkg-install.log")
ok "$([[ -n $kver && $st == *"$kver"*installed* ]] && echo 1 || echo 0)" \
	"host: DKMS built and installed svmig/$V for the test VM's kernel (${kver:-?})" "dkms status: $st"
wh=$(find "$root" -type c 2>/dev/null)
ok "$([[ -z $wh && -f $root/usr/lib/modules/$kver/updates/dkms/svmig.ko ]] && echo 1 || echo 0)" \
	"host: the installed root is new files only (no whiteouts), the module among them" "$wh"

# 4. Into the test VM.
t0=$(now)
if [[ ! -f $root/usr/lib/modules/$kver/updates/dkms/svmig.ko ]]; then
	ok 0 "guest: not run (no installed root)"
else
	rc=0
	tests/vm/run-vm.sh --timeout "$timeout" --script tests/install/guest-install.sh \
		--console-log "$OUT/console.log" >"$OUT/run-vm.log" 2>&1 || rc=$?
	while IFS= read -r line; do
		case $line in
		"install: ok "*) ok 1 "guest: ${line#install: ok [0-9]* - }" ;;
		"install: not ok "*) ok 0 "guest: ${line#install: not ok [0-9]* - }" ;;
		"install: #"*) echo "${line#install: }" ;;
		esac
	done < <(tr -d '\r' <"$OUT/console.log" 2>/dev/null)
	totals=$(tr -d '\r' <"$OUT/console.log" 2>/dev/null | grep -a '^SVMIG-GUEST-TOTALS:' | tail -n 1)
	if [[ -z $totals ]] || ((rc != 0 && failed == 0)); then
		ok 0 "guest: the install test ran to its end (run-vm.sh exit $rc)" \
			"$(tail -n 15 "$OUT/run-vm.log")"
	fi
fi
echo "# time: install in the test VM: $(since "$t0")s"
((failed == 0 && n > 0))
