#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# VM test (TAP), for the debug kernel of `make check-debug`: proves that
# the kmemleak check guest-run.sh makes after every test can see a leak.
# It loads tests/debug-kernel/canary (a module that leaks one marked
# object on purpose; SVMIG_KMEMLEAK_CANARY names its build, which
# scripts/check-debug.sh makes), scans as guest-run.sh does and expects the
# marked object reported, then clears it so the check after this test
# starts clean.  On a kernel without kmemleak (Debian's, in `make check`)
# it skips, saying so.
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
KL=/sys/kernel/debug/kmemleak
CANARY=${SVMIG_KMEMLEAK_CANARY:-}
MARK=SVMIG-KMEMLEAK-C # what the report's hex dump shows of the marker

if [[ ! -e $KL ]]; then
	echo "1..0 # SKIP this kernel has no kmemleak (the debug kernel of make check-debug has)"
	exit 0
fi
if [[ -z $CANARY || ! -f $CANARY ]]; then
	echo "1..0 # SKIP no canary module (SVMIG_KMEMLEAK_CANARY, built by scripts/check-debug.sh)"
	exit 0
fi

n=0
ok() { # ok 0|1 DESC [DIAG...]
	local pass=$1 desc=$2
	shift 2
	n=$((n + 1))
	if ((pass)); then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		(($#)) && printf '# %s\n' "$@"
	fi
}

scan() {
	echo scan >"$KL" && echo scan >"$KL"
}

echo "1..4"
out=$( (insmod "$CANARY" && rmmod svmig_canary) 2>&1)
ok $((!$?)) "the canary module loads (leaking one object) and unloads" "$out"

# kmemleak reports an object only once it is 5 s old.
sleep 6
scan
report=$(cat "$KL")
hit=$(printf '%s\n' "$report" | grep -B 3 -A 8 -F "$MARK")
seen=0
[[ -n $hit && $hit == *'comm "insmod"'* ]] && seen=1
ok "$seen" \
	"kmemleak reports the canary's object, allocated by insmod" \
	"reports now: $(printf '%s\n' "$report" | grep -c '^unreferenced object')" \
	"${report:0:2000}"

echo clear >"$KL"
scan
after=$(cat "$KL")
gone=1
[[ $after == *"$MARK"* ]] && gone=0
ok "$gone" \
	"after clear, a new scan no longer reports it" "${after:0:2000}"

loaded=0
grep -q '^svmig ' /proc/modules && loaded=1
ok "$loaded" "svmig is still loaded"
