#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# VM test (TAP), for the debug kernel of `make check-debug`: proves that
# the kmemleak check guest-run.sh makes after every test can see a leak.
# It loads tests/debug-kernel/canary (a module that leaks one marked
# object on purpose; SVMIG_KMEMLEAK_CANARY names its build, which
# scripts/check-debug.sh makes), scans as guest-run.sh does and expects the
# marked object reported, then clears it so the check after this test
# starts clean.  guest-run.sh leaves it out of a boot whose kernel has no
# kmemleak (Debian's, in `make check`); run there anyway, it skips naming
# what the kernel lacks.
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh
KL=/sys/kernel/debug/kmemleak
CANARY=${SVMIG_KMEMLEAK_CANARY:-}
MARK=SVMIG-KMEMLEAK-C # what the report's hex dump shows of the marker

if [[ ! -e $KL ]]; then
	echo "1..0 # SKIP machine: this kernel has no kmemleak (the debug kernel of make check-debug has)"
	exit 0
fi

scan() {
	echo scan >"$KL" && echo scan >"$KL"
}

echo "1..4"
if [[ -z $CANARY || ! -f $CANARY ]]; then
	# On a kmemleak kernel the canary must be there: check-debug.sh builds it.
	ok 0 "the canary module is built" "SVMIG_KMEMLEAK_CANARY='$CANARY' (scripts/check-debug.sh builds it)"
	unreached "kmemleak reports the canary's object" "no canary"
	unreached "after clear, a new scan no longer reports it" "no canary"
else
	out=$( (insmod "$CANARY" && rmmod svmig_canary) 2>&1)
	ok $((!$?)) "the canary module loads (leaking one object) and unloads" "$out"

	# kmemleak reports an object only once it is 5 s old.
	sleep 6
	scan
	report=$(cat "$KL")
	hit=$(printf '%s\n' "$report" | grep -B 3 -A 8 -F "$MARK")
	seen=0
	[[ -n $hit && $hit == *'comm "insmod"'* ]] && seen=1
	ok "$seen" "kmemleak reports the canary's object, allocated by insmod" \
		"reports now: $(printf '%s\n' "$report" | grep -c '^unreferenced object')" \
		"${report:0:2000}"

	echo clear >"$KL"
	scan
	after=$(cat "$KL")
	gone=1
	[[ $after == *"$MARK"* ]] && gone=0
	ok "$gone" "after clear, a new scan no longer reports it" "${after:0:2000}"
fi

loaded=0
grep -q '^svmig ' /proc/modules && loaded=1
ok "$loaded" "svmig is still loaded"
((failed == 0))
