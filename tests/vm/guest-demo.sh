#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo, run inside the test VM by `tests/vm/run-vm.sh --demo` (cwd = the
# work tree): a KVM guest with 64 MiB of data is live-migrated twice by
# build/tests/vm/svmig-vmm, first with a plain memcpy of the dirty pages
# (the baseline), then through /dev/svmig (AES-256-GCM in the kernel, over
# a loopback TCP socket, manifest verified by the receiving channel).  Ends
# with "SVMIG-GUEST-RESULT: pass" or "SVMIG-GUEST-RESULT: fail".
set -uo pipefail

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
VMM=build/tests/vm/svmig-vmm
MEM_MIB=${SVMIG_DEMO_MEM_MIB:-64}
ROUNDS=${SVMIG_DEMO_ROUNDS:-5}
LOGDIR=/tmp/svmig-demo

fail() {
	echo "svmig-demo: $*"
	echo "SVMIG-GUEST-RESULT: fail"
	exit 1
}

loaded() { [[ -d /sys/module/$1 ]]; }

load_modules() {
	loaded aesni_intel || modprobe aesni_intel ||
		echo "svmig-demo: warning: aesni_intel did not load (generic AES will be used)"
	loaded kvm_amd || loaded kvm_intel || modprobe kvm_amd || modprobe kvm_intel ||
		fail "neither kvm_amd nor kvm_intel loads"
	[[ -e /dev/kvm ]] || fail "/dev/kvm is missing after loading KVM"
	if ! loaded svmig; then
		[[ -f kmod/svmig.ko ]] || fail "kmod/svmig.ko is not built (make module)"
		insmod kmod/svmig.ko || fail "insmod kmod/svmig.ko failed"
	fi
	[[ -e /dev/svmig ]] || fail "/dev/svmig is missing after loading svmig.ko"
	# The two channels talk over 127.0.0.1.
	ip link set lo up || fail "cannot bring the loopback interface up"
}

# run NAME ARGS...: the VMM's report on the console and in $LOGDIR/NAME.
run() {
	local name=$1 rc
	shift
	echo
	echo "==== svmig-vmm $* ===="
	"$VMM" "$@" 2>&1 | tee "$LOGDIR/$name"
	rc=${PIPESTATUS[0]}
	[[ $rc -eq 0 ]] || fail "svmig-vmm $* exited with status $rc"
}

# field NAME KEY: KEY=value from the "result:" line of run NAME.
field() {
	sed -n "s/.*result: .*\\b$2=\\([^ ]*\\).*/\\1/p" "$LOGDIR/$1" | tail -n 1
}

ratio() {
	local base svm
	base=$(field memcpy send_s)
	svm=$(field svmig send_s)
	[[ -n $base && -n $svm ]] || fail "no result lines to compare"
	echo
	echo "==== comparison (same VM, same run, same guest workload) ===="
	awk -v b="$base" -v s="$svm" -v p="$(field svmig pages)" 'BEGIN {
		printf "pages moved: %d in each run\n", p
		printf "time spent sending: memcpy %.3f s, svmig %.3f s: svmig takes %.1fx the plain copy\n", b, s, (b > 0 ? s / b : 0)
		print "(timings under TCG (emulated): only ratios within this run mean anything,"
		print " and since TCG emulates AES-NI in software this one likely overstates the crypto cost)"
	}'
}

[[ -x $VMM ]] || fail "$VMM is not built (make tests)"
mkdir -p "$LOGDIR" || fail "cannot create $LOGDIR"
load_modules
echo "svmig-demo: kernel $(uname -r), /dev/kvm and /dev/svmig present;" \
	"AES driver: $(grep -A4 '^name *: gcm(aes)' /proc/crypto | sed -n 's/^driver *: //p' | head -n 1)"
run memcpy --demo --no-svmig --mem-mib "$MEM_MIB" --rounds "$ROUNDS"
run svmig --demo --mem-mib "$MEM_MIB" --rounds "$ROUNDS"
ratio
echo "SVMIG-GUEST-RESULT: pass"
