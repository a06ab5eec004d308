#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug-kernel lane (`make check-debug`; the Makefile builds userspace
# and the tests first).  Steps, each counted as a test:
#   1. the debug kernel: scripts/build-debug-kernel.sh (a finished build is
#      kept), unless SVMIG_DEBUG_KERNEL_DIR names a finished one to use
#   2. svmig.ko built with W=1 against that tree, from a copy of kmod/ and
#      uapi/ in build/debug-kmod/ (kmod/svmig.ko, built for Debian's
#      kernel, is left alone); any warning fails it
#   3. the single-host VM tests (every t_*, as in `make check`) in a test
#      VM booting the debug kernel: tests/vm/run-vm.sh --debug-kernel, with
#      clocksource=hpet panic_on_warn=1; guest-run.sh fails a test on any
#      KASAN/UBSAN/KFENCE/lockdep/... report in dmesg and on any kmemleak
#      report after it
# and ends with one line "N passed, M failed" (", K skipped" if any) and
# "# time:" lines.  Exits non-zero if anything failed.  Logs:
# build/check-debug/ (the boot's console and guest logs included).
#
# Environment: SVMIG_DEBUG_KERNEL_DIR (a finished build of
# scripts/build-debug-kernel.sh to use instead of build/debug-kernel),
# SVMIG_DEBUG_TIMEOUT (seconds for the whole boot, default 10800),
# SVMIG_TEST_TIMEOUT (per test, default 3600 here), SVMIG_TESTS (which
# t_* to run, default all) and every other SVMIG_* of tests/vm/guest-run.sh.
set -uo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
LOGDIR=$ROOT/build/check-debug
KMODDIR=$ROOT/build/debug-kmod
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

passed=0
failed=0
skipped=0
failures=()
result() { # result pass|fail DESC
	if [[ $1 == pass ]]; then
		passed=$((passed + 1))
		echo "ok - $2"
	else
		failed=$((failed + 1))
		failures+=("$2")
		echo "not ok - $2"
	fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }
timing() { echo "# time: $1: $(elapsed "$2")s"; }
finish() {
	timing "total" "$t_all"
	if ((${#failures[@]})); then
		echo "# failed:"
		printf '#   %s\n' "${failures[@]}"
	fi
	local summary="$passed passed, $failed failed"
	((skipped)) && summary+=", $skipped skipped"
	echo "$summary"
	((failed == 0 && passed > 0))
	exit
}
t_all=$(now)

# ----------------------------------------------------- 1. the debug kernel
t0=$(now)
echo "# step 1: the debug kernel"
if [[ -n ${SVMIG_DEBUG_KERNEL_DIR:-} ]]; then
	DK=$(realpath -e "$SVMIG_DEBUG_KERNEL_DIR" 2>/dev/null) || DK=$SVMIG_DEBUG_KERNEL_DIR
	if [[ -f $DK/done && -f $DK/src/arch/x86/boot/bzImage ]]; then
		result pass "debug kernel $(cat "$DK/abi") (SVMIG_DEBUG_KERNEL_DIR=$DK)"
	else
		result fail "debug kernel: SVMIG_DEBUG_KERNEL_DIR=$DK holds no finished build"
		finish
	fi
else
	DK=$ROOT/build/debug-kernel
	if scripts/build-debug-kernel.sh 2>&1 | tee "$LOGDIR/build-debug-kernel.log"; then
		result pass "debug kernel $(cat "$DK/abi") built or up to date"
	else
		result fail "debug kernel build (see $LOGDIR/build-debug-kernel.log)"
		finish
	fi
fi
export SVMIG_DEBUG_KERNEL_DIR=$DK
timing "debug kernel" "$t0"

# ------------------------------------------------ 2. svmig.ko for that tree
t0=$(now)
echo "# step 2: svmig.ko against $DK/src (W=1, in build/debug-kmod/)"
log=$LOGDIR/kmod-w1.log
rm -rf "$KMODDIR"
mkdir -p "$KMODDIR"
cp -a kmod uapi VERSION "$KMODDIR/"
rm -f "$KMODDIR"/kmod/*.o "$KMODDIR"/kmod/*.ko "$KMODDIR"/kmod/.*.cmd \
	"$KMODDIR"/kmod/*.mod* "$KMODDIR"/kmod/modules.order "$KMODDIR"/kmod/Module.symvers
rc=0
make -s -C "$DK/src" M="$KMODDIR/kmod" W=1 modules >"$log" 2>&1 || rc=$?
# The canary of tests/vm/t_kmemleak.sh (a deliberate leak) too.
cp -a tests/debug-kernel/canary "$KMODDIR/"
make -s -C "$DK/src" M="$KMODDIR/canary" W=1 modules >>"$log" 2>&1 || rc=$?
bad=$(grep -i -E 'warning:|error:' "$log")
if ((rc == 0)) && [[ -z $bad && -f $KMODDIR/kmod/svmig.ko && -f $KMODDIR/canary/svmig_canary.ko ]]; then
	result pass "svmig.ko (and t_kmemleak's canary) build against the debug kernel with W=1 without warnings"
else
	result fail "svmig.ko against the debug kernel (make exited $rc; see $log)"
	[[ -n $bad ]] && printf '%s\n' "$bad" | head -n 50 | sed 's/^/#   /'
	finish
fi
timing "svmig.ko for the debug kernel" "$t0"

# --------------------------------------------------------- 3. the VM tests
t0=$(now)
echo "# step 3: VM tests on the debug kernel (tests/vm/run-vm.sh --debug-kernel)"
vm_log=$LOGDIR/vm.log
export SVMIG_MODULE=${KMODDIR#"$ROOT"/}/kmod/svmig.ko
export SVMIG_KMEMLEAK_CANARY=${KMODDIR#"$ROOT"/}/canary/svmig_canary.ko
export SVMIG_TEST_TIMEOUT=${SVMIG_TEST_TIMEOUT:-3600}
rc=0
tests/vm/run-vm.sh --debug-kernel --timeout "${SVMIG_DEBUG_TIMEOUT:-10800}" \
	--console-log "$LOGDIR/console.log" 2>&1 | tee "$vm_log" || rc=$?
[[ -d build/vm/guest-logs ]] && cp -a build/vm/guest-logs "$LOGDIR/" 2>/dev/null
totals=$(tr -d '\r' <"$vm_log" |
	grep -a -E '^SVMIG-GUEST-TOTALS: passed=[0-9]+ failed=[0-9]+ skipped=[0-9]+$' | tail -n 1)
if [[ -z $totals ]]; then
	result fail "VM tests on the debug kernel: no SVMIG-GUEST-TOTALS line (run-vm.sh exited $rc; see $vm_log and $LOGDIR/console.log)"
	# A panic (panic_on_warn, an oops) ends the VM: run-vm.sh quoted it.
	while IFS= read -r line; do
		failures+=("  $line")
	done < <(grep -a -E '^run-vm: (console: |the kernel reported)' "$vm_log" | head -n 40)
else
	[[ $totals =~ passed=([0-9]+)\ failed=([0-9]+)\ skipped=([0-9]+) ]]
	vp=${BASH_REMATCH[1]} vf=${BASH_REMATCH[2]} vs=${BASH_REMATCH[3]}
	passed=$((passed + vp))
	failed=$((failed + vf))
	skipped=$((skipped + vs))
	echo "# VM tests on the debug kernel: $vp passed, $vf failed, $vs skipped"
	if ((vf)); then
		failures+=("VM tests on the debug kernel: $vf failed (see $vm_log):")
		while IFS= read -r line; do
			failures+=("  $line")
		done < <(tr -d '\r' <"$vm_log" | grep -a -E '^[A-Za-z0-9_.]+: (not ok|# dmesg: )' | head -n 40)
	elif ((rc != 0)); then
		result fail "VM tests on the debug kernel: run-vm.sh exited $rc"
	fi
fi
# Each test's time under the debug kernel, from guest-run.sh's lines.
tr -d '\r' <"$vm_log" | sed -n 's/^\([A-Za-z0-9_.]*\): # took \([0-9.]*s\),.*/# time: debug kernel: \1: \2/p'
sed -n 's/^run-vm: guest userspace after \([0-9.?]*\)s.*/# time: debug kernel: boot to guest userspace: \1s/p' "$vm_log"
timing "VM tests on the debug kernel" "$t0"
finish
