# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The one shell TAP library of the VM tests: sourced by the single-host
# shell tests (tests/vm/t_*.sh), by tests/vm/t2-tap.sh for the two-host
# scripts, and by tests/vm/guest-run.sh (for TAP_DMESG_BAD only).  It
# prints nothing when sourced.
#
#   ok 0|1 DESC [DIAG...]   one result, numbered; on failure each line of
#                           each DIAG follows it as a "# " line (nothing the
#                           test prints can pass for a result).  Returns 0.
#   check DESC COMMAND...   one result from COMMAND's exit status; its
#                           output (stdout and stderr) follows as
#                           diagnostics when it fails, and only its "#"
#                           lines (timings, notes) when it passes.  Returns
#                           that status.
#   skip DESC REASON        "ok N - DESC # SKIP REASON".  In make check a
#                           skip passes only if REASON starts with
#                           "machine:" and names what this machine lacks
#                           (tests/vm/guest-run.sh, tests/run-all.sh);
#                           any other skip counts as a failure there.
#   unreached DESC WHY      a result that could not be checked because an
#                           earlier step failed: "not ok N - DESC (not
#                           reached: WHY)", so a plan stays complete and
#                           the failure is not hidden behind a skip.
# Variables: n (results so far), failed (failed results so far),
# TAP_DMESG_BAD (an extended regular expression: a kernel log line that
# matches it, unless it matches TAP_DMESG_NOT_BAD too, is a kernel report,
# so a failed test; one definition for guest-run.sh's per-test scan and
# the two-host checks), TAP_TAINT_OK
# (the taint bits loading svmig.ko is expected to set: O, out-of-tree, and
# E, unsigned).
#   tap_taint_letters MASK  the kernel's letters for the bits of MASK
#                           (Documentation/admin-guide/tainted-kernels.rst)

n=0
failed=0
# Kernel reports: the stock kernel's BUG/WARNING/Oops, and a debug
# kernel's KASAN, UBSAN, KFENCE ("BUG: KFENCE: ..."), SLUB debug ("BUG
# kmalloc-64 (Tainted: ...): Poison overwritten"), lockdep ("WARNING:
# possible circular locking dependency", "INFO: trying to register
# non-static key"), DEBUG_ATOMIC_SLEEP, DEBUG_LIST, DEBUG_OBJECTS, the hung
# task and RCU stall detectors, and kmemleak.
# shellcheck disable=SC2034 # used by the scripts that source this file
TAP_DMESG_BAD='BUG:|BUG [a-zA-Z0-9_:.-]+ \(|WARNING:|Oops|general protection|Kernel panic|'\
'lockdep|possible circular|possible recursive|inconsistent lock state|INFO: |'\
'DEBUG_LOCKS_WARN_ON|refcount_t:|kmemleak|UBSAN|KASAN|KFENCE|Call Trace|'\
'list_(add|del) corruption|ODEBUG:|Poison overwritten|Redzone|Object padding|'\
'soft lockup|hard LOCKUP|rcu_.*stall|scheduling while atomic|stack-protector|'\
'Unable to handle kernel'
# Lines TAP_DMESG_BAD matches that are not reports themselves: kmemleak's
# pointer to the reports of a scan (tests/vm/guest-run.sh reads those).
# shellcheck disable=SC2034 # used by the scripts that source this file
TAP_DMESG_NOT_BAD='kmemleak: [0-9]+ new suspected memory leaks? \(see /sys/kernel/debug/kmemleak\)'
# shellcheck disable=SC2034 # used by the scripts that source this file
TAP_TAINT_OK=$(((1 << 12) | (1 << 13)))

ok() {
	local pass=$1 desc=$2

	shift 2
	n=$((n + 1))
	if ((pass)); then
		echo "ok $n - $desc"
	else
		failed=$((failed + 1))
		echo "not ok $n - $desc"
		(($#)) && printf '%s\n' "$@" | sed 's/^/# /'
	fi
	return 0
}

check() {
	local desc=$1 out rc=0

	shift
	out=$("$@" 2>&1) || rc=$?
	if ((rc == 0)); then
		ok 1 "$desc"
		[[ -n $out ]] && grep '^#' <<<"$out"
	else
		ok 0 "$desc" "exit status $rc" "${out:-(no output)}"
	fi
	return "$rc"
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

unreached() {
	ok 0 "$1 (not reached: $2)"
}

tap_taint_letters() {
	local mask=$1 letters=PFSRMBUDAWCIOELKXTN i out=''

	for ((i = 0; i < ${#letters}; i++)); do
		((mask & (1 << i))) && out+=${letters:i:1}
	done
	((mask >> ${#letters})) && out+="+bits>=${#letters}"
	echo "${out:--}"
}
