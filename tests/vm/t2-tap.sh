# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP for the two-host guest scripts (tests/vm/t2_*.sh and
# tests/vm/demo-two-hosts.sh, run by tests/vm/run-two-hosts.sh), sourced
# after the harness has exported its rendezvous functions.  ok, check, skip
# and unreached are tests/vm/tap-lib.sh's; this file adds:
#   finish                  the host checks below, the summary and
#                           SVMIG-GUEST-RESULT, then exit; with
#                           T2_FINISH_RENDEZVOUS=1 it first waits (120 s at
#                           most) for the peer to finish too, so neither
#                           host tears down what the other still uses
#   bail DESC [DIAG...]     a failed step the rest depends on: tells the peer
#                           (rendezvous "abort") and finishes
#   t2_host_checks          what every two-host script ends with on each
#                           host, one TAP result each: first the function
#                           named by T2_CLEANUP (if set: the script's own
#                           teardown, which must stop its QEMUs and svmigd),
#                           then every svmigd's exit status and its log
#                           free of sanitizer reports (svmigd-lib.sh's
#                           svmigd_exit_checks, when that is sourced),
#                           `rmmod svmig` (nothing may still hold it), the
#                           whole boot's kernel log free of TAP_DMESG_BAD
#                           reports (saved in $SVMIG_RESULTS_DIR/dmesg.txt;
#                           TAP_DMESG_NOT_BAD lines excepted), and no
#                           taint flag but O and E (svmig.ko is an unsigned
#                           out-of-tree module).  finish runs it.

# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh
t2_t0=$SECONDS

t2_host_checks() {
	local out i taint bad dmesg_file=${SVMIG_RESULTS_DIR:-/tmp}/dmesg.txt

	echo "# $SVMIG_HOST: host checks"
	if [[ -n ${T2_CLEANUP:-} ]]; then
		"$T2_CLEANUP"
		T2_CLEANUP=
	fi
	if declare -F svmigd_exit_checks >/dev/null; then
		svmigd_exit_checks
	fi
	if grep -q '^svmig ' /proc/modules; then
		# The last QEMU may still be closing its /dev/svmig descriptor.
		for ((i = 0; i < 50; i++)); do
			out=$(rmmod svmig 2>&1) && break
			sleep 0.2
		done
		! grep -q '^svmig ' /proc/modules
		ok "$((! $?))" "$SVMIG_HOST: rmmod svmig succeeds (no reference left)" "$out" \
			"refcnt $(cat /sys/module/svmig/refcnt 2>&1)" \
			"$(grep '^svmig ' /proc/modules)"
	else
		ok 1 "$SVMIG_HOST: rmmod svmig: not loaded on this host, nothing to unload"
	fi
	dmesg >"$dmesg_file" 2>&1
	bad=$(grep -E "$TAP_DMESG_BAD" "$dmesg_file" | grep -v -E "$TAP_DMESG_NOT_BAD")
	ok "$([[ -z $bad ]] && echo 1 || echo 0)" \
		"$SVMIG_HOST: kernel log clean (no BUG, WARNING, Oops, lockdep, KASAN, UBSAN, kmemleak ...)" \
		"$bad" "last 60 lines of dmesg:" "$(tail -n 60 "$dmesg_file")"
	taint=$(cat /proc/sys/kernel/tainted 2>/dev/null)
	[[ $taint =~ ^[0-9]+$ ]] && ((!(taint & ~TAP_TAINT_OK)))
	ok "$((! $?))" \
		"$SVMIG_HOST: kernel taint $(tap_taint_letters "${taint:-0}") (${taint:-?}): none but O and E (svmig.ko)" \
		"unexpected: $(tap_taint_letters "$((${taint:-0} & ~TAP_TAINT_OK))")" \
		"$(grep -E 'taint|Tainted' "$dmesg_file" | tail -n 5)"
}

finish() {
	if [[ ${T2_FINISH_RENDEZVOUS:-0} == 1 ]]; then
		svmig_rdv_post finished "$([[ $failed == 0 ]] && echo pass || echo fail)" 2>/dev/null
		svmig_rdv_wait finished 120 >/dev/null 2>&1
	fi
	t2_host_checks
	echo "# $SVMIG_HOST: $n checks, $failed failed, $((SECONDS - t2_t0)) s"
	if ((failed == 0 && n > 0)); then
		echo "SVMIG-GUEST-RESULT: pass"
		exit 0
	fi
	echo "SVMIG-GUEST-RESULT: fail"
	exit 1
}

bail() {
	ok 0 "$@"
	svmig_rdv_post abort "$1" 2>/dev/null
	finish
}
