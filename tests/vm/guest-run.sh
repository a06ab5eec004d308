#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs INSIDE the test VM (tests/vm/run-vm.sh boots it), as root, with the
# work tree as cwd and stdout on the serial console.  Loads svmig.ko and runs
# every VM test, in this order:
#   1. each executable build/tests/vm/t_*   (sorted, run directly)
#   2. each tests/vm/t_*.sh                 (sorted, run with bash)
# Each test prints TAP on stdout (stderr is merged): "1..N",
# "ok N - desc", "not ok N - desc", "ok N - desc # SKIP reason".
# Tests run with svmig loaded and must leave it loaded.
#
# Every result line is re-emitted prefixed with the test's name
# ("t_foo: ok 3 - desc"); this script adds its own results in the same form
# ("t_foo: not ok - timed out after 600 s", "t_foo: ok - dmesg clean").
# Extra failures: a test exiting non-zero without a "not ok", a test killed
# by the per-test timeout, a test whose plan does not match what it ran, a
# test that leaves svmig unloaded, any BUG/WARNING/Oops/KASAN/UBSAN/KFENCE/
# lockdep/... report in dmesg, a new kernel taint flag, and, on a kernel
# with kmemleak (the debug kernel of `make check-debug`), any kmemleak
# report after the test (see kmemleak_scan below).
# A skip ("ok N - desc # SKIP reason", or a whole test's "1..0 # SKIP
# reason") counts as skipped only if its reason starts with "machine:"
# and names what this machine lacks; any other skip counts as failed
# (Documentation/testing.rst).  t_notpm runs only in a --no-tpm boot.
#
# It ends with the two lines run-vm.sh and tests/run-all.sh parse:
#   SVMIG-GUEST-TOTALS: passed=P failed=F skipped=S
#   SVMIG-GUEST-RESULT: pass|fail
# and exits 0 on pass, 1 on fail.
#
# Environment: SVMIG_TEST_TIMEOUT (seconds per test, default 600),
# SVMIG_TESTS (optional space-separated list of test names to run, e.g.
# "t_ioctl t_loadunload.sh"; default all), SVMIG_MODULE (the module to
# load, default kmod/svmig.ko; the module must be named svmig),
# SVMIG_NO_TPM=1 (set by run-vm.sh --no-tpm only: the boot has no TPM, so
# /dev/tpm0 must be absent instead of present).  Test output and each
# test's dmesg are also saved under build/vm/guest-logs/.
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
export SVMIG_WORKTREE=$PWD
TEST_TIMEOUT=${SVMIG_TEST_TIMEOUT:-600}
export SVMIG_TEST_TIMEOUT=$TEST_TIMEOUT
MODULE=${SVMIG_MODULE:-kmod/svmig.ko}
# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh	# TAP_DMESG_BAD: one list for this and the two-host checks
DMESG_BAD=$TAP_DMESG_BAD
DMESG_NOT_BAD=$TAP_DMESG_NOT_BAD
KMEMLEAK=/sys/kernel/debug/kmemleak
# kmemleak reports to ignore (none so far): an extended regex matched
# against each report's lines, for the debug kernel's own false positives,
# each documented in Documentation/testing.rst.
KMEMLEAK_NOISE=
LOGDIR=build/vm/guest-logs
TMPD=$(mktemp -d)
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

passed=0
failed=0
skipped=0
failures=()

# report NAME pass|fail|skip DESC [SKIP-REASON]
report() {
	case $2 in
	pass)
		passed=$((passed + 1))
		echo "$1: ok - $3"
		;;
	fail)
		failed=$((failed + 1))
		failures+=("$1: $3")
		echo "$1: not ok - $3"
		;;
	skip)
		if [[ ${4:-} != machine:* ]]; then
			report "$1" fail "$3: skipped without naming what the machine lacks (# SKIP ${4:-})"
			return
		fi
		skipped=$((skipped + 1))
		echo "$1: ok - $3 # SKIP ${4:-}"
		;;
	esac
}

svmig_loaded() { grep -q '^svmig ' /proc/modules; }

# kmemleak: the debug kernel has it.  Its periodic scan is turned off in
# setup, so each test's check scans itself: twice, since an object is
# reported only when two scans in a row found no pointer to it.  Reports
# are kept in $LOGDIR/NAME.kmemleak and cleared.  An object younger than
# 5 s is not reported yet: a leak at the very end of one test shows up in
# the next test's check (the report's backtrace names the code).
kmemleak_on=0

# kmemleak_scan NAME: prints one line per report (not in KMEMLEAK_NOISE):
# "unreferenced object ... (size N): comm ..., backtrace: f1 < f2 < ...".
kmemleak_scan() {
	local name=$1 out=$LOGDIR/$1.kmemleak
	((kmemleak_on)) || return 0
	echo scan >"$KMEMLEAK" 2>/dev/null
	echo scan >"$KMEMLEAK" 2>/dev/null
	if ! cat "$KMEMLEAK" >"$out" 2>&1; then
		echo "kmemleak: cannot read $KMEMLEAK: $(cat "$out")"
		return 0
	fi
	echo clear >"$KMEMLEAK" 2>/dev/null
	# One line per report; each report starts "unreferenced object".
	awk -v noise="$KMEMLEAK_NOISE" '
		function flush() {
			if (rep != "" && (noise == "" || rep !~ noise))
				print rep
			rep = ""
		}
		/^unreferenced object/ { flush(); rep = "kmemleak: " $0; sub(/:$/, "", rep); bt = 0; next }
		rep == "" { next }
		/backtrace:/ { bt = 1; rep = rep ", backtrace:"; next }
		/comm "/ { sub(/^[ \t]+/, ""); rep = rep ", " $0; next }
		bt {
			f = $0
			sub(/^[ \t]*\[<[0-9a-fx]+>\] /, "", f)
			rep = rep (bt++ == 1 ? " " : " < ") f
		}
		END { flush() }' "$out"
}

# The kernel's taint flags at the start: any flag a test adds, other than
# O and E (an out-of-tree, unsigned module: svmig itself), fails its check.
TAINT_ALLOWED=$(( $(cat /proc/sys/kernel/tainted) | 4096 | 8192 ))

# dmesg_check NAME: one result, "NAME: dmesg clean" (dmesg, kmemleak when
# the kernel has it, and the taint flags).
dmesg_check() {
	local name=$1 hits leaks taint
	leaks=$(kmemleak_scan "$name")
	dmesg >"$LOGDIR/$name.dmesg" 2>&1
	hits=$(grep -E "$DMESG_BAD" "$LOGDIR/$name.dmesg" | grep -v -E "$DMESG_NOT_BAD")
	[[ -n $leaks ]] && hits+=${hits:+$'\n'}$leaks
	taint=$(cat /proc/sys/kernel/tainted)
	if ((taint & ~TAINT_ALLOWED)); then
		hits+=${hits:+$'\n'}"the kernel is tainted $taint (was $TAINT_ALLOWED at most before)"
		TAINT_ALLOWED=$((TAINT_ALLOWED | taint))
	fi
	if [[ -z $hits ]]; then
		report "$name" pass "dmesg clean"
		return
	fi
	report "$name" fail "dmesg clean"
	printf '%s\n' "$hits" | sed "s|^|$name: # dmesg: |"
	echo "$name: # full dmesg since the test started (last 150 lines):"
	tail -n 150 "$LOGDIR/$name.dmesg" | sed "s|^|$name: #   |"
}

load_svmig() {
	local out
	if ! out=$(insmod "$MODULE" 2>&1); then
		echo "# insmod $MODULE: $out"
		return 1
	fi
	# devtmpfs creates the node; give it a moment.
	for _ in $(seq 50); do
		[[ -c /dev/svmig ]] && return 0
		sleep 0.1
	done
	echo "# /dev/svmig did not appear after insmod"
	return 0
}

# Classify one TAP line of test NAME, re-emit it, update the counters.
# Sets the globals t_results, t_notok, t_plan, t_plan_reason, t_bail.
RE_RESULT='^(not )?ok([[:space:]]|$)'
RE_DIRECTIVE='#[[:space:]]*([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])'
RE_PLAN='^1\.\.([0-9]+)(.*)$'
RE_SKIP_REASON='#[[:space:]]*[Ss][Kk][Ii][Pp][[:alpha:]]*[[:space:]]*(.*)$'
tap_line() {
	local name=$1 line=$2
	echo "$name: $line"
	if [[ $line =~ $RE_RESULT ]]; then
		t_results=$((t_results + 1))
		if [[ $line =~ $RE_SKIP_REASON && ${BASH_REMATCH[1]} != machine:* ]]; then
			failed=$((failed + 1))
			t_notok=$((t_notok + 1))
			failures+=("$name: $line (a skip must say '# SKIP machine: what it lacks')")
			echo "$name: # a skip that does not name what the machine lacks counts as failed"
		elif [[ $line =~ $RE_DIRECTIVE ]]; then
			skipped=$((skipped + 1))
		elif [[ $line == "not ok"* ]]; then
			failed=$((failed + 1))
			t_notok=$((t_notok + 1))
			failures+=("$name: $line")
		else
			passed=$((passed + 1))
		fi
	elif [[ -z $t_plan && $line =~ $RE_PLAN ]]; then
		t_plan=${BASH_REMATCH[1]}
		t_plan_reason=${BASH_REMATCH[2]}
	elif [[ $line == "Bail out!"* ]]; then
		t_bail=1
	fi
}

# run_test PATH: run one test, with its synthetic results.
run_test() {
	local path=$1 name pid rc start secs log cmd reason
	name=${path##*/}
	log=$LOGDIR/$name.log
	if [[ $path == *.sh ]]; then
		cmd=(bash "$path")
	else
		cmd=("./$path")
	fi
	t_results=0 t_notok=0 t_plan='' t_plan_reason='' t_bail=0

	if ! svmig_loaded; then
		echo "$name: # svmig was not loaded before the test; loading it"
		load_svmig
	fi
	echo "$name: # running ${cmd[*]} (timeout ${TEST_TIMEOUT}s)"
	dmesg -C
	start=$(date +%s.%N)
	: >"$TMPD/$name.log"
	# timeout(1) puts the test in its own process group: leftovers are
	# killed below, so they cannot hold the console or the module.
	(exec timeout -k 10 "$TEST_TIMEOUT" "${cmd[@]}") </dev/null >"$TMPD/$name.log" 2>&1 &
	pid=$!
	while IFS= read -r line || [[ -n $line ]]; do
		tap_line "$name" "${line%$'\r'}"
	done < <(tail -n +1 -s 0.2 -f --pid="$pid" "$TMPD/$name.log")
	rc=0
	wait "$pid" || rc=$?
	if kill -0 -- "-$pid" 2>/dev/null; then
		echo "$name: # killing processes the test left behind"
		kill -KILL -- "-$pid" 2>/dev/null
		sleep 0.5
	fi
	secs=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
	cp "$TMPD/$name.log" "$log"

	if ((rc == 124 || rc == 137)); then
		report "$name" fail "killed by the per-test timeout (${TEST_TIMEOUT}s)"
	elif ((t_bail)); then
		report "$name" fail "bailed out"
	elif ((rc != 0 && t_notok == 0)); then
		report "$name" fail "exited with status $rc without reporting a failure"
	fi
	if ((rc != 124 && rc != 137)); then
		if [[ $t_plan == 0 && $t_results == 0 ]]; then
			reason=${t_plan_reason#*#}
			reason=${reason#"${reason%%[![:space:]]*}"}
			[[ ${reason:0:4} == [Ss][Kk][Ii][Pp] ]] && reason=${reason:4}
			report "$name" skip "no tests to run" "${reason#"${reason%%[![:space:]]*}"}"
		elif [[ -n $t_plan && $t_plan != "$t_results" ]]; then
			report "$name" fail "planned $t_plan tests, ran $t_results"
		elif [[ -z $t_plan && $t_results == 0 && $rc == 0 ]]; then
			report "$name" fail "printed no TAP results"
		fi
	fi
	if ! svmig_loaded; then
		report "$name" fail "svmig still loaded after the test"
		load_svmig
	fi
	dmesg_check "$name"
	echo "$name: # took ${secs}s, exit status $rc"
}

# ------------------------------------------------------------------- setup
echo "# svmig guest run: kernel $(uname -r), $(nproc) CPUs, $(date -u '+%F %T') UTC"
echo "# work tree $PWD, per-test timeout ${TEST_TIMEOUT}s"
if [[ -e $KMEMLEAK ]]; then
	# Only the scans of the checks below, and what boot left is no test's.
	if echo scan=off >"$KMEMLEAK" 2>/dev/null; then
		kmemleak_on=1
		kmemleak_scan boot >/dev/null
		nboot=$(grep -c '^unreferenced object' "$LOGDIR/boot.kmemleak")
		echo "# kmemleak on: $nboot report(s) from the boot itself cleared (see $LOGDIR/boot.kmemleak)"
	else
		report setup fail "kmemleak usable ($KMEMLEAK exists but refuses commands: disabled?)"
	fi
fi
dmesg -C

if out=$(modprobe aesni_intel 2>&1); then
	report setup pass "modprobe aesni_intel"
else
	report setup fail "modprobe aesni_intel"
	echo "setup: # $out"
fi
if out=$(modprobe kvm_amd 2>&1) && [[ -c /dev/kvm ]]; then
	report setup pass "modprobe kvm_amd (/dev/kvm present)"
else
	report setup skip "modprobe kvm_amd" "machine: no nested KVM (SVM): ${out:-no /dev/kvm}"
fi
if [[ ${SVMIG_NO_TPM:-0} == 1 ]]; then
	# run-vm.sh --no-tpm: the boot must really have no TPM.
	if [[ -e /dev/tpm0 ]]; then
		report setup fail "no TPM (--no-tpm boot): /dev/tpm0 exists"
	else
		report setup pass "no TPM (--no-tpm boot)"
	fi
elif [[ -c /dev/tpm0 ]]; then
	report setup pass "/dev/tpm0 present"
else
	report setup fail "/dev/tpm0 present"
fi

module_ok=0
if [[ ! -f $MODULE ]]; then
	report setup fail "insmod $MODULE (not built)"
else
	svmig_loaded && rmmod svmig
	if out=$(load_svmig); then
		module_ok=1
		report setup pass "insmod $MODULE"
	else
		report setup fail "insmod $MODULE"
	fi
	[[ -n $out ]] && printf '%s\n' "$out" | sed 's/^/setup: /'
	if ((module_ok)); then
		if [[ -c /dev/svmig ]]; then
			report setup pass "/dev/svmig present"
		else
			report setup fail "/dev/svmig present"
		fi
	fi
fi
dmesg_check setup

# ------------------------------------------------------------------- tests
tests=()
for f in build/tests/vm/t_*; do
	[[ -f $f && -x $f ]] && tests+=("$f")
done
for f in tests/vm/t_*.sh; do
	[[ -f $f ]] && tests+=("$f")
done
# t_notpm checks the refusals of a boot without a TPM (run-vm.sh --no-tpm);
# with a TPM it can only skip itself, so a default list leaves it out.
if [[ ${SVMIG_NO_TPM:-0} != 1 && -z ${SVMIG_TESTS:-} ]]; then
	selected=()
	for f in "${tests[@]}"; do
		[[ ${f##*/} == t_notpm ]] || selected+=("$f")
	done
	tests=("${selected[@]}")
fi
# t_kmemleak.sh proves the kmemleak checks can fail: only a kernel with
# kmemleak (make check-debug's) can run it, so a default list leaves it out
# of other boots.
if [[ ! -e $KMEMLEAK && -z ${SVMIG_TESTS:-} ]]; then
	selected=()
	for f in "${tests[@]}"; do
		[[ ${f##*/} == t_kmemleak.sh ]] || selected+=("$f")
	done
	tests=("${selected[@]}")
fi
if [[ -n ${SVMIG_TESTS:-} ]]; then
	selected=()
	for f in "${tests[@]}"; do
		[[ " $SVMIG_TESTS " == *" ${f##*/} "* ]] && selected+=("$f")
	done
	tests=("${selected[@]}")
fi
echo "# ${#tests[@]} tests: ${tests[*]##*/}"

for t in "${tests[@]}"; do
	if ((module_ok)); then
		run_test "$t"
	else
		report "${t##*/}" fail "not run: svmig.ko did not load"
	fi
done

# ---------------------------------------------------------------- teardown
if ((module_ok)); then
	dmesg -C
	if ! svmig_loaded; then
		report teardown fail "svmig still loaded after the tests"
	elif out=$(rmmod svmig 2>&1); then
		report teardown pass "rmmod svmig"
	else
		report teardown fail "rmmod svmig"
		echo "teardown: # $out"
		echo "teardown: # $(grep '^svmig ' /proc/modules)"
	fi
	# What svmig left behind at unload must be old enough to be reported.
	((kmemleak_on)) && sleep 6
	dmesg_check teardown
fi
rm -rf "$TMPD"

if ((${#failures[@]})); then
	echo "# failed:"
	printf '#   %s\n' "${failures[@]}"
fi
echo "SVMIG-GUEST-TOTALS: passed=$passed failed=$failed skipped=$skipped"
if ((failed == 0)); then
	echo "SVMIG-GUEST-RESULT: pass"
	exit 0
fi
echo "SVMIG-GUEST-RESULT: fail"
exit 1
