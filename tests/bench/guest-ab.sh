#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A/B of two builds of svmig.ko in one boot of the test VM, for changes to
# the data path (Documentation/performance.rst):
#
#   git stash; make module; mkdir -p build/ab; cp kmod/svmig.ko build/ab/svmig-old.ko
#   git stash pop; make module
#   tests/vm/run-vm.sh --script tests/bench/guest-ab.sh
#
# Both modules are named svmig and register /dev/svmig, so they take turns:
# each round loads one, runs `svmig-bench crypto --reps 1`, unloads it, then
# the other, the order swapped every round so that drift of the machine hits
# both alike.  At the end: the median per case over the rounds, and the
# median of new/old within each round.  Figures are per core, under TCG.
#
# Environment (run-vm.sh passes SVMIG_* on):
#   SVMIG_AB_OLD, SVMIG_AB_NEW  the modules (build/ab/svmig-old.ko, kmod/svmig.ko)
#   SVMIG_AB_ROUNDS             rounds (default 8)
#   SVMIG_AB_ONLY               svmig-bench --only (default "kernel")
#   SVMIG_AB_ARGS               more svmig-bench options (e.g. --mib 8)
#   SVMIG_AB_COUNT=1            first count each module's kmalloc() calls by
#                               call site while svmig-bench runs (ftrace
#                               hist trigger on kmem:kmalloc, comm svmig-bench)
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
OUT=$PWD/build/ab
BENCH=$PWD/build/svmig-bench
declare -A MOD=([old]=${SVMIG_AB_OLD:-build/ab/svmig-old.ko} [new]=${SVMIG_AB_NEW:-kmod/svmig.ko})
ROUNDS=${SVMIG_AB_ROUNDS:-8}
ONLY=${SVMIG_AB_ONLY:-kernel}
read -r -a ARGS <<<"${SVMIG_AB_ARGS:-}"
NO_TPM=()
[[ ${SVMIG_NO_TPM:-0} == 1 ]] && NO_TPM=(--no-tpm)
T=/sys/kernel/tracing
LOG=$OUT/ab.txt

fail() {
	echo "guest-ab: $*"
	echo "SVMIG-GUEST-RESULT: fail"
	exit 1
}

load() { # old|new
	if grep -q '^svmig ' /proc/modules; then
		rmmod svmig || fail "rmmod svmig"
	fi
	insmod "${MOD[$1]}" || fail "insmod ${MOD[$1]}"
}

bench() { # DIR
	"$BENCH" --out "$1" "${NO_TPM[@]}" "${ARGS[@]}" --reps 1 --only "$ONLY" crypto
}

# kmalloc() calls by call site while svmig-bench runs on module $1.
count() { # old|new
	local trig='hist:keys=call_site.sym:vals=hitcount:sort=hitcount.descending:size=4096'
	local ev=$T/events/kmem/kmalloc

	load "$1"
	echo "### kmalloc() by call site during svmig-bench, module $1 (${MOD[$1]})"
	echo "$trig if comm == \"svmig-bench\"" >"$ev/trigger" || fail "hist trigger"
	bench "$OUT/count-$1" | grep '^# [so]'
	grep -E '^\{|Totals|Hits' "$ev/hist" | head -n 15
	echo "!$trig if comm == \"svmig-bench\"" >"$ev/trigger"
}

# median of new and old per case, and the median of new/old per round
summary() {
	printf "%-22s %5s %8s %8s %8s %16s\n" case batch old new new/old "new/old by round"
	awk '$1 == "AB" {
		key = $5 " " $7; v[$2, key, $3] = $(NF - 3); keys[key] = 1; rounds[$3] = 1
	}
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		for (k in keys) {
			no = nn = nr = 0
			for (r in rounds) {
				if ((("old", k, r) in v)) o[++no] = v["old", k, r]
				if ((("new", k, r) in v)) n[++nn] = v["new", k, r]
				if ((("old", k, r) in v) && (("new", k, r) in v))
					q[++nr] = v["new", k, r] / v["old", k, r]
			}
			split(k, kb, " ")
			mo = median(o, no); mn = median(n, nn)
			printf "%-22s %5s %8.1f %8.1f %8.3f %16.3f\n", kb[1], kb[2], mo, mn,
			       mo ? mn / mo : 0, median(q, nr)
		}
	}' "$LOG" | sort -k1,1r -k2,2n
}

mkdir -p "$OUT" || fail "mkdir $OUT"
for m in old new; do
	[[ -f ${MOD[$m]} ]] || fail "no ${MOD[$m]}"
done
modprobe aesni_intel 2>/dev/null
mountpoint -q $T || mount -t tracefs nodev $T 2>/dev/null
if [[ ${SVMIG_AB_COUNT:-0} == 1 ]]; then
	count old
	count new
fi
: >"$LOG"
for r in $(seq 1 "$ROUNDS"); do
	order="old new"
	((r % 2)) || order="new old"
	for m in $order; do
		load "$m"
		echo "### round $r, module $m, guest loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
		bench "$OUT/runs-$m-$r" | grep '^# [so][a-z]*/' | sed "s/^/AB $m $r /" | tee -a "$LOG"
	done
done
rmmod svmig
echo "### MiB/s per core, median over $ROUNDS rounds (svmig-bench ${ARGS[*]} --only $ONLY), under TCG"
summary
echo "SVMIG-GUEST-RESULT: pass"
