# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers shared by the two-host guest scripts (tests/vm/t2_*.sh, run by
# tests/vm/run-two-hosts.sh), sourced after the harness has exported its
# rendezvous functions:
#   ok 0|1 DESC [DIAG...]   one result; diagnostics as "# " lines on failure
#   check DESC COMMAND...   one result from a command, its output as diagnostics
#   finish                  the summary and SVMIG-GUEST-RESULT, then exit; with
#                           T2_FINISH_RENDEZVOUS=1 it first waits (120 s at
#                           most) for the peer to finish too
#   bail DESC [DIAG...]     a failed step the rest depends on: tells the peer
#                           (rendezvous "abort") and finishes

n=0
failed=0
t2_t0=$SECONDS

ok() {
	local pass=$1 desc=$2

	shift 2
	n=$((n + 1))
	if ((pass)); then
		echo "ok $n - $desc"
	else
		failed=$((failed + 1))
		echo "not ok $n - $desc"
		(($#)) && printf '# %s\n' "$@"
	fi
	return 0
}

check() {
	local desc=$1 out

	shift
	if out=$("$@" 2>&1); then
		ok 1 "$desc"
	else
		ok 0 "$desc" "${out:-(no output)}"
	fi
}

finish() {
	if [[ ${T2_FINISH_RENDEZVOUS:-0} == 1 ]]; then
		svmig_rdv_post finished "$([[ $failed == 0 ]] && echo pass || echo fail)" 2>/dev/null
		svmig_rdv_wait finished 120 >/dev/null 2>&1
	fi
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
