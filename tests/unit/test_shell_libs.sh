#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP, on the build host (tests/run-all.sh phase 3): the shell libraries
# the VM tests judge with must be able to say "not ok".  tests/vm/tap-lib.sh
# (ok, check, unreached, the dmesg list, taint letters) and the svmigd exit
# checks of tests/vm/svmigd-lib.sh, fed with stand-in processes that end
# the ways a real svmigd can: stopped by SIGTERM, killed on purpose, a
# crash (SIGSEGV), an abort (SIGABRT), a refusal to start, a sanitizer
# report in its log, and one still running.
# shellcheck disable=SC2030,SC2031 # each case sets its environment in its own subshell
set -uo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

echo "1..14"
t=0
bad=0
# Not tap-lib.sh's ok(): this script judges that library, so it reports
# with its own few lines.
res() { # res 0|1 DESC [DIAG]
	t=$((t + 1))
	if (($1)); then
		echo "ok $t - $2"
	else
		bad=$((bad + 1))
		echo "not ok $t - $2"
		[[ -n ${3:-} ]] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
}

# Each case runs in a subshell: the libraries' counters start at 0.
out=$(
	. "$ROOT/tests/vm/tap-lib.sh"
	ok 1 "first"
	ok 0 "second" $'line one\nok 99 - not a result'
	check "true passes" true
	check "false fails" sh -c 'echo "# a note"; echo why; exit 3'
	unreached "third" "an earlier step failed"
	echo "n=$n failed=$failed"
)
res "$([[ $out == *$'ok 1 - first\nnot ok 2 - second\n# line one\n# ok 99 - not a result\n'* ]] && echo 1 || echo 0)" \
	"ok: a failure's diagnostics are all '# ' lines, none can pass for a result" "$out"
res "$([[ $out == *$'ok 3 - true passes\nnot ok 4 - false fails\n# exit status 3\n# # a note\n# why\n'* ]] && echo 1 || echo 0)" \
	"check: a failing command is not ok, with its status and output" "$out"
res "$([[ $out == *'not ok 5 - third (not reached: an earlier step failed)'* && $out == *'n=5 failed=3'* ]] && echo 1 || echo 0)" \
	"unreached is a failure, and the counters add up" "$out"

out=$(
	. "$ROOT/tests/vm/tap-lib.sh"
	for l in 'BUG: KASAN: slab-out-of-bounds in svmig_open' \
		'WARNING: CPU: 0 PID: 1 at kmod/main.c:10 svmig_exit' \
		'BUG kmalloc-64 (Tainted: G           OE     ): Poison overwritten' \
		'kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)' \
		'svmig: loaded'; do
		if grep -qE "$TAP_DMESG_BAD" <<<"$l" && ! grep -qE "$TAP_DMESG_NOT_BAD" <<<"$l"; then
			echo "bad: $l"
		fi
	done
	echo "taint: $(tap_taint_letters 12288) $(tap_taint_letters 512) $(tap_taint_letters $((128 | 4096)))"
	echo "allowed: $((12288 & ~TAP_TAINT_OK)) $((512 & ~TAP_TAINT_OK))"
)
res "$([[ $(grep -c '^bad: ' <<<"$out") == 3 && $out != *'bad: kmemleak'* && $out != *'bad: svmig: loaded'* ]] && echo 1 || echo 0)" \
	"TAP_DMESG_BAD: KASAN, WARNING and SLUB reports match; kmemleak's pointer line and svmig's own do not" "$out"
res "$([[ $out == *'taint: OE W DO'* && $out == *'allowed: 0 512'* ]] && echo 1 || echo 0)" \
	"taint: O and E allowed, W or D not; letters as the kernel's" "$out"

# svmigd_exit_checks over stand-ins (fake LOG COMMAND: registered as
# svmigd_start registers a run)
out=$(
	export SVMIG_RESULTS_DIR=$T/res SVMIG_HOST=host-x
	mkdir -p "$SVMIG_RESULTS_DIR"
	. "$ROOT/tests/vm/tap-lib.sh"
	. "$ROOT/tests/vm/svmigd-lib.sh"
	fake() {
		bash -c "$2" >"$1" 2>&1 &
		daemon_pid=$!
		svmigd_logs+=("$1")
		svmigd_ends+=(running)
		sleep 0.3	# the stand-in has set its traps or died
	}
	fake "$T/term.log" 'trap "exit 0" TERM; while :; do sleep 0.1; done'
	svmigd_stop
	fake "$T/segv.log" 'kill -SEGV $$'
	svmigd_stop
	fake "$T/killed.log" 'while :; do sleep 0.1; done'
	svmigd_kill "by the test"
	fake "$T/abrt.log" 'kill -ABRT $$'
	svmigd_kill "failpoint x"
	fake "$T/refused.log" 'echo "policy: refused"; exit 1'
	svmigd_reap
	fake "$T/asan.log" 'echo "==7==ERROR: AddressSanitizer: heap-use-after-free"; exit 0'
	svmigd_stop
	fake "$T/running.log" 'while :; do sleep 0.1; done'
	running=$daemon_pid
	svmigd_exit_checks
	kill -KILL "$running" 2>/dev/null
	echo "failed=$failed"
)
line() { grep -E "^(not )?ok [0-9]+ - host-x: svmigd run $1 \\($2\\)" <<<"$out"; }
res "$([[ $(line 1 term.log) == 'ok '* ]] && echo 1 || echo 0)" \
	"svmigd stopped by SIGTERM with exit 0: ok" "$out"
res "$([[ $(line 2 segv.log) == 'not ok '*'exit status 139'* ]] && echo 1 || echo 0)" \
	"svmigd that crashed (SIGSEGV) before the stop: not ok" "$out"
res "$([[ $(line 3 killed.log) == 'ok '*'status 137'* ]] && echo 1 || echo 0)" \
	"svmigd killed on purpose (recorded): ok" "$out"
res "$([[ $(line 4 abrt.log) == 'not ok '*'exit status 134'* ]] && echo 1 || echo 0)" \
	"svmigd that aborted before an intended kill: not ok" "$out"
res "$([[ $(line 5 refused.log) == 'ok '*'exit status 1'* ]] && echo 1 || echo 0)" \
	"svmigd that refused to start (exit 1, reaped): ok" "$out"
res "$([[ $(line 7 running.log) == 'not ok '* ]] && echo 1 || echo 0)" \
	"svmigd still running at the checks: not ok" "$out"
res "$([[ $out == *'not ok '*'no sanitizer report in svmigd'*'asan.log:==7==ERROR: AddressSanitizer'* ]] && echo 1 || echo 0)" \
	"a sanitizer report in a log: not ok, naming the log" "$out"
res "$([[ $out == *'failed=4'* ]] && echo 1 || echo 0)" \
	"exactly the crash, the abort, the running one and the sanitizer report failed" "$out"

# the same checks with nothing wrong pass
out=$(
	export SVMIG_RESULTS_DIR=$T/res2 SVMIG_HOST=host-y
	mkdir -p "$SVMIG_RESULTS_DIR"
	. "$ROOT/tests/vm/tap-lib.sh"
	. "$ROOT/tests/vm/svmigd-lib.sh"
	bash -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' >"$T/ok.log" 2>&1 &
	daemon_pid=$!
	svmigd_logs+=("$T/ok.log")
	svmigd_ends+=(running)
	sleep 0.3
	svmigd_stop
	svmigd_exit_checks
	echo "failed=$failed n=$n"
)
res "$([[ $out == *'failed=0 n=2'* ]] && echo 1 || echo 0)" \
	"a clean svmigd run: both checks pass" "$out"
((bad == 0 && t == 14))
