#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The install test's guest side (tests/install/run-install-test.sh boots
# the test VM with it): the root the host installed the Debian packages on
# (build/install/root/: dpkg -i of svmig-dkms, svmigd, svmig-tools,
# libsvmig0, libsvmig-dev, DKMS's build included) is stacked over the
# guest's own (the host's /etc, /usr and /var, read-only over 9p) with a
# tmpfs on top, so the guest sees the host after `dpkg -i` and nothing
# reaches the host.  Then, on Debian's 6.1 kernel, it checks what the
# packages promise:
#   - DKMS's svmig.ko for this kernel, signed with DKMS's machine owner
#     key, with the tree's version;
#   - systemd-modules-load loads it (modules-load.d), and udev gives
#     /dev/svmig group svmig, mode 0660 and the systemd tag;
#   - a small VMM compiled and linked with `pkg-config --cflags --libs
#     svmig` against the installed library drives /dev/svmig as an
#     unprivileged user in the svmig group, and is refused without it;
#   - systemd-analyze verify accepts the installed svmigd.service;
#   - the installed tools report the version, help and errors as
#     documented, svmigd --check-config reads the example configuration,
#     svmigctl tpm-ak reads the TPM;
# (dpkg --purge is checked on the host: under TCG it takes minutes.)
# Results are TAP lines prefixed "install: ", then the SVMIG-GUEST-TOTALS
# and SVMIG-GUEST-RESULT lines that run-vm.sh waits for.
set -u
export LC_ALL=C

# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh

V=$(cat VERSION)
KVER=$(uname -r)
ARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
LOG=$PWD/build/install/guest
mkdir -p "$LOG"
PKGS=(svmig-dkms svmigd svmig-tools libsvmig0 libsvmig-dev)

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

ROOT=$PWD/build/install/root

overlay() {
	local d
	modprobe overlay 2>/dev/null
	for d in etc usr var; do
		[[ -d $ROOT/$d ]] || return 1
		mkdir -p "/tmp/ovl/$d/up" "/tmp/ovl/$d/wk" || return 1
		mount -t overlay overlay \
			-o "lowerdir=$ROOT/$d:/$d,upperdir=/tmp/ovl/$d/up,workdir=/tmp/ovl/$d/wk" "/$d" ||
			return 1
	done
	mount -t tmpfs -o mode=1777 tmpfs /var/tmp &&
		touch /usr/.svmig-install-test && rm /usr/.svmig-install-test
}

tests() {
	local t0 out rc f gid

	if ! check "the installed root (build/install/root) stacked over the guest's /etc, /usr, /var" overlay; then
		echo "SVMIG-GUEST-BAIL: no overlay"
		return
	fi
	/lib/systemd/systemd-udevd </dev/null >/dev/null 2>&1 &
	udevd=$!
	for f in 1 2 3 4 5 6 7 8 9 10; do
		udevadm control --ping >/dev/null 2>&1 && break
		sleep 1
	done
	check "udevd runs" udevadm control --ping
	for f in "${PKGS[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Status} ${Version}' "$f" 2>&1) == "installed $V" ]] ||
			ok 0 "$f $V is installed" "$(dpkg-query -W "$f" 2>&1)"
	done
	ok 1 "dpkg lists the five packages of version $V as installed"
	# The kernel's own module autoloading runs the initramfs's modprobe,
	# outside this chroot: load what svmig's SET_KEY asks for (gcm(aes)).
	modprobe aesni_intel 2>/dev/null
	modprobe gcm 2>/dev/null

	# DKMS: built for this kernel, installed where modprobe finds it, signed.
	out=$(dkms status -m svmig -v "$V" -k "$KVER" 2>&1)
	ok "$([[ $out == *"$KVER"*installed* ]] && echo 1 || echo 0)" \
		"dkms status: svmig/$V installed for $KVER" "$out"
	f=$(modinfo -k "$KVER" -n svmig 2>&1)
	ok "$([[ $f == /lib/modules/$KVER/updates/dkms/svmig.ko* ]] && echo 1 || echo 0)" \
		"modprobe finds DKMS's module ($f)" "$f"
	out=$(modinfo -k "$KVER" -F version svmig 2>&1)
	ok "$([[ $out == "$V" ]] && echo 1 || echo 0)" "modinfo version is VERSION ($V)" "modinfo: $out"
	out=$(modinfo -k "$KVER" -F signer svmig 2>&1)
	ok "$([[ -n $out && -f /var/lib/dkms/mok.pub ]] && echo 1 || echo 0)" \
		"DKMS signed it with its machine owner key (signer: ${out:-none})" \
		"$(ls -l /var/lib/dkms/ 2>&1)"

	# Loaded as at boot, /dev/svmig made by udev's rule.
	rc=0
	out=$(/lib/systemd/systemd-modules-load 2>&1) || rc=$?
	ok "$(grep -q '^svmig ' /proc/modules && echo 1 || echo 0)" \
		"systemd-modules-load loads svmig.ko (modules-load.d/svmig.conf)" \
		"exit status $rc" "$out" "$(cat /usr/lib/modules-load.d/svmig.conf 2>&1)"
	out=$(cat /sys/module/svmig/version 2>&1)
	ok "$([[ $out == "$V" ]] && echo 1 || echo 0)" "/sys/module/svmig/version is $V" "$out"
	# udevd (rules read over 9p, under TCG) may apply the rule a while
	# after the module's uevent
	for f in $(seq 60); do
		out=$(stat -c '%U %G %a %F' /dev/svmig 2>&1)
		[[ $out == "root svmig 660 character special file" ]] && break
		sleep 0.5
	done
	ok "$([[ $out == "root svmig 660 character special file" ]] && echo 1 || echo 0)" \
		"/dev/svmig is root:svmig 0660 (60-svmig.rules)" "stat: $out"
	out=$(udevadm info /dev/svmig 2>&1)
	ok "$(grep -q -E '^E: (CURRENT_)?TAGS=.*:systemd:' <<<"$out" && echo 1 || echo 0)" \
		"udev tags /dev/svmig for systemd (dev-svmig.device)" "$out"

	echo "# time: module and udev checks: $(since "$t_all")s since the start"
	# A small VMM against the installed library, through pkg-config.
	out=$(pkg-config --modversion svmig 2>&1)
	ok "$([[ $out == "$V" ]] && echo 1 || echo 0)" "pkg-config --modversion svmig is $V" "$out"
	out=$(pkg-config --cflags --libs svmig 2>&1)
	ok "$([[ $out == *-I/usr/include/svmig* && $out == *-lsvmig* ]] && echo 1 || echo 0)" \
		"pkg-config --cflags --libs svmig: $out" "$out"
	# shellcheck disable=SC2046 # pkg-config's words
	check "the VMM compiles and links with pkg-config (-std=c11 -Wall -Wextra -Werror)" \
		cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags svmig) \
		-o /tmp/vmm-min tests/install/vmm-min.c $(pkg-config --libs svmig)
	out=$(ldd /tmp/vmm-min 2>&1)
	ok "$(grep -q -E "libsvmig.so.0 => (/usr)?/lib/$ARCH/libsvmig.so.0 " <<<"$out" && echo 1 || echo 0)" \
		"it runs on the installed libsvmig.so.0 (SONAME)" "$out"
	# shellcheck disable=SC2046
	check "and links statically with the installed libsvmig.a" \
		cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags svmig) \
		-o /tmp/vmm-static tests/install/vmm-min.c "/usr/lib/$ARCH/libsvmig.a"
	gid=$(getent group svmig | cut -d: -f3)
	ok "$([[ -n $gid ]] && echo 1 || echo 0)" "the svmig group exists (gid ${gid:-none})"
	rc=0
	out=$(setpriv --reuid=65534 --regid=65534 --groups="${gid:-0}" /tmp/vmm-min 2>&1) || rc=$?
	ok $((rc == 0)) "an unprivileged user in group svmig: the VMM seals its dirty pages" \
		"exit status $rc" "$out"
	[[ $rc == 0 ]] && echo "# $out"
	rc=0
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups /tmp/vmm-min 2>&1) || rc=$?
	ok "$([[ $rc == 3 && $out == *"Permission denied"* ]] && echo 1 || echo 0)" \
		"the same user without the group cannot open /dev/svmig" "exit status $rc" "$out"
	rc=0
	out=$(/tmp/vmm-static 2>&1) || rc=$?
	ok $((rc == 0)) "the static build works too (as root)" "exit status $rc" "$out"

	echo "# time: the VMM checks: $(since "$t_all")s since the start"
	# The unit.
	rc=0
	out=$(systemd-analyze verify /lib/systemd/system/svmigd.service 2>&1) || rc=$?
	ok "$( ((rc == 0)) && ! grep -q 'svmigd.service' <<<"$out" && echo 1 || echo 0)" \
		"systemd-analyze verify accepts svmigd.service" "exit status $rc" "$out"
	out=$(systemctl is-enabled svmigd 2>&1)
	ok "$([[ $out != enabled ]] && echo 1 || echo 0)" \
		"svmigd.service is installed disabled (enrol and configure first)" "$out"

	echo "# time: systemd-analyze: $(since "$t_all")s since the start"
	# The installed tools.
	for f in svmigd svmigctl svmig-migrate; do
		out=$("$f" --version 2>&1)
		ok "$([[ $out == "$f $V" ]] && echo 1 || echo 0)" "$f --version: $f $V" "$out"
	done
	rc=0
	out=$(svmigctl --help 2>/dev/null) || rc=$?
	ok "$( ((rc == 0)) && [[ $out == usage:* ]] && echo 1 || echo 0)" \
		"svmigctl --help: usage on stdout, exit 0" "exit status $rc"
	rc=0
	out=$(svmigctl bogus 2>&1) || rc=$?
	ok "$( ((rc == 2)) && [[ $out == *"unknown command 'bogus'"* ]] && echo 1 || echo 0)" \
		"svmigctl bogus: unknown command, exit 2" "exit status $rc" "$out"
	rc=0
	out=$(svmigctl status --socket /run/svmigd-none.sock 2>&1) || rc=$?
	ok "$( ((rc == 2)) && [[ $out == *"is svmigd running? (systemctl status svmigd)"* ]] && echo 1 || echo 0)" \
		"svmigctl status without svmigd: asks whether it runs (systemctl status svmigd)" \
		"exit status $rc" "$out"
	rc=0
	out=$(svmigctl status 2>&1) || rc=$?
	ok "$( ((rc == 2)) && [[ $out == *"/etc/svmigd/svmigd.conf"*"svmigd.conf.example"* ]] && echo 1 || echo 0)" \
		"svmigctl status before configuration: points at svmigd.conf.example" \
		"exit status $rc" "$out"
	rc=0
	out=$(svmigd --config /etc/svmigd/svmigd.conf.example --check-config 2>&1) || rc=$?
	ok "$( ((rc == 1)) && [[ $out == *host-a.key* || $out == *host-a.pem* ]] && echo 1 || echo 0)" \
		"svmigd --check-config reads the example and names the missing key" \
		"exit status $rc" "$out"
	for f in man1/svmig-migrate.1 man4/svmig.4 man5/svmigd.conf.5 man8/svmigd.8 man8/svmigctl.8; do
		[[ -s /usr/share/man/$f.gz ]] || ok 0 "man page $f installed"
	done
	ok 1 "the five man pages are installed"
	if [[ ${SVMIG_NO_TPM:-0} == 1 ]]; then
		skip "svmigctl tpm-ak reads this VM's TPM" "machine: booted without a TPM"
	else
		rc=0
		out=$(svmigctl tpm-ak --pcrs 0,7 --json 2>&1) || rc=$?
		ok "$( ((rc == 0)) && [[ $out == *'"ak_sha256"'* ]] && echo 1 || echo 0)" \
			"svmigctl tpm-ak --pcrs 0,7 reads this VM's TPM" "exit status $rc" "$out"
	fi

	kill "$udevd" 2>/dev/null
	wait "$udevd" 2>/dev/null
}

t_all=$(now)
# tests runs in the pipeline's subshell: its results are counted from the log
tests 2>&1 | tee "$LOG/tap.log" | sed -u 's/^/install: /'
echo "install: # time: guest total $(since "$t_all")s"
passed=$(grep -c -E '^ok [0-9]+ ' "$LOG/tap.log")
skipped=$(grep -c -E '^ok [0-9]+ .*# SKIP' "$LOG/tap.log")
failed=$(grep -c -E '^not ok [0-9]+ ' "$LOG/tap.log")
echo "SVMIG-GUEST-TOTALS: passed=$((passed - skipped)) failed=$failed skipped=$skipped"
if ((failed == 0 && passed > 0)) && ! grep -q '^SVMIG-GUEST-BAIL' "$LOG/tap.log"; then
	echo "SVMIG-GUEST-RESULT: pass"
	exit 0
fi
echo "SVMIG-GUEST-RESULT: fail"
exit 1
