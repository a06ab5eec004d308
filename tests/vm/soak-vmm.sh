#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The page-mode soak, run in one test VM by tests/vm/soak.sh (`make soak`):
#   tests/vm/run-vm.sh --script tests/vm/soak-vmm.sh
# build/tests/vm/svmig-vmm (tests/vm/vmm.c: a KVM guest writing memory,
# migrated through a sender and a receiver /dev/svmig channel in
# KVM_GET_DIRTY_LOG rounds) runs $SVMIG_SOAK_VMM_ROUNDS live rounds in all
# (default 1000), in runs of $SVMIG_SOAK_VMM_CHUNK rounds (default 50; each
# run also has its full first round and its final round, and a different
# guest seed).  Each run must pass (svmig-vmm's own TAP: verdict, byte
# equality, dirty logs).  After each run:
#   - /sys/module/svmig/refcnt and the pages held pinned (/proc/vmstat
#     nr_foll_pin_acquired - released) equal their values before the first
#     run, exactly;
#   - kmemleak finds nothing new (only with CONFIG_DEBUG_KMEMLEAK; n/a on
#     Debian's stock kernel);
#   - /proc/meminfo's SUnreclaim and VmallocUsed stay within
#     SVMIG_SOAK_SLAB_SLACK_KIB (default 4096) of their maxima over the
#     warm-up (the first SVMIG_SOAK_WARMUP runs, default 3, at most half).
# Figures: build/soak/vmm.tsv (one line per run).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:?}" || exit 1
# shellcheck source=tests/vm/soak-lib.sh
. tests/vm/soak-lib.sh

ROUNDS=${SVMIG_SOAK_VMM_ROUNDS:-1000}
CHUNK=${SVMIG_SOAK_VMM_CHUNK:-50}
W=${SVMIG_SOAK_WARMUP:-3}
SLACK=${SVMIG_SOAK_SLAB_SLACK_KIB:-4096}
OUT=${SVMIG_SOAK_OUT:-$PWD/build/soak}
VMM=build/tests/vm/svmig-vmm
runs=$(((ROUNDS + CHUNK - 1) / CHUNK))
((W > runs / 2)) && W=$((runs / 2))

# ok, n, failed and the one list of kernel reports (TAP_DMESG_BAD)
# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh
finish() {
	echo "# soak-vmm: $n checks, $failed failed"
	if ((failed == 0 && n > 0)); then
		echo "SVMIG-GUEST-RESULT: pass"
		exit 0
	fi
	echo "SVMIG-GUEST-RESULT: fail"
	exit 1
}

mkdir -p "$OUT"
ip link set lo up 2>/dev/null || true
modprobe aesni_intel 2>/dev/null || true
modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null || true
[[ -c /dev/svmig ]] || insmod kmod/svmig.ko
for _ in $(seq 50); do
	[[ -c /dev/svmig ]] && break
	sleep 0.1
done
[[ -c /dev/svmig ]] || { ok 0 "/dev/svmig (insmod kmod/svmig.ko)"; finish; }
[[ -e /dev/kvm ]] || { ok 0 "/dev/kvm (kvm_amd in the test VM)"; finish; }
[[ -x $VMM ]] || { ok 0 "$VMM built (make tests)"; finish; }
dmesg -C
if soak_kmemleak_init; then
	echo "# kmemleak: on, a scan after every run"
else
	echo "# kmemleak: this kernel has none (CONFIG_DEBUG_KMEMLEAK off): not checked"
fi

ref0=$(soak_refcnt)
pins0=$(soak_pins)
ptot0=$(soak_pinned_total)
# The refcnt probe can fail: an open /dev/svmig shows in it.
exec 9<>/dev/svmig
ref1=$(soak_refcnt)
exec 9<&-
ok "$([[ $ref1 == $((ref0 + 1)) && $(soak_refcnt) == "$ref0" ]] && echo 1 || echo 0)" \
	"the refcnt probe counts an open /dev/svmig ($ref0 -> $ref1 -> $(soak_refcnt))"
slab=$(soak_slab)
ok "$([[ $slab == none ]] && echo 1 || echo 0)" "svmig has no slab cache of its own (objects in kmalloc caches)" "$slab"
echo "# $ROUNDS live rounds in $runs runs of up to $CHUNK; warm-up $W runs;" \
	"baseline refcnt $ref0, pinned pages $pins0, SUnreclaim $(soak_meminfo SUnreclaim) KiB," \
	"VmallocUsed $(soak_meminfo VmallocUsed) KiB"
printf 'run\trounds\tseconds\trefcnt\tpins\tsunreclaim_kib\tvmalloc_kib\tkmemleak\tpins_taken\n' >"$OUT/vmm.tsv"

max_slab=0 max_vm=0 done_rounds=0
for ((r = 1; r <= runs; r++)); do
	c=$CHUNK
	((done_rounds + c > ROUNDS)) && c=$((ROUNDS - done_rounds))
	t0=$(date +%s.%N)
	"$VMM" --tap --rounds "$c" --mem-mib 16 --seed "$r" >"$OUT/vmm-run.txt" 2>&1
	rc=$?
	secs=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
	done_rounds=$((done_rounds + c))
	notok=$(grep -c '^not ok' "$OUT/vmm-run.txt")
	ok "$([[ $rc == 0 && $notok == 0 ]] && echo 1 || echo 0)" \
		"run $r: svmig-vmm --rounds $c --seed $r passes (${secs}s)" \
		"exit $rc" "$(grep -E '^(not ok|#)' "$OUT/vmm-run.txt" | tail -n 20)"
	[[ $rc == 0 ]] || cp "$OUT/vmm-run.txt" "$OUT/vmm-run-$r-failed.txt"

	ref=$(soak_refcnt)
	pins=$(soak_pins)
	sunr=$(soak_meminfo SUnreclaim)
	vm=$(soak_meminfo VmallocUsed)
	leak=$(soak_kmemleak "$OUT/vmm-kmemleak-$r.txt")
	taken=$(($(soak_pinned_total) - ptot0))
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$done_rounds" "$secs" "$ref" "$pins" \
		"$sunr" "$vm" "$leak" "$taken" >>"$OUT/vmm.tsv"
	echo "# soak-vmm $r: $done_rounds rounds, ${secs}s, refcnt $ref, pins $pins," \
		"SUnreclaim ${sunr}KiB, VmallocUsed ${vm}KiB, kmemleak $leak, pins taken so far $taken"
	bad=()
	[[ $ref == "$ref0" ]] || bad+=("svmig refcnt $ref, was $ref0 before the first run")
	[[ $pins == "$pins0" ]] || bad+=("pinned pages $pins, were $pins0 before the first run")
	[[ $leak == leak ]] && bad+=("kmemleak: $(head -n 20 "$OUT/vmm-kmemleak-$r.txt")")
	if ((r <= W)); then
		((sunr > max_slab)) && max_slab=$sunr
		((vm > max_vm)) && max_vm=$vm
	else
		((sunr > max_slab + SLACK)) &&
			bad+=("SUnreclaim ${sunr} KiB > warm-up maximum $max_slab + $SLACK KiB")
		((vm > max_vm + SLACK)) &&
			bad+=("VmallocUsed ${vm} KiB > warm-up maximum $max_vm + $SLACK KiB")
	fi
	ok "$((${#bad[@]} == 0))" "run $r: no leak or growth (refcnt, pins, kmemleak $leak, SUnreclaim, VmallocUsed)" \
		"${bad[@]}"
done
rm -f "$OUT/vmm-run.txt"
ok "$((done_rounds == ROUNDS))" "$done_rounds of $ROUNDS live rounds run"
dmesg >"$OUT/vmm-dmesg.txt" 2>&1
hits=$(grep -E "$TAP_DMESG_BAD" "$OUT/vmm-dmesg.txt" | grep -v -E "$TAP_DMESG_NOT_BAD")
ok "$([[ -z $hits ]] && echo 1 || echo 0)" "dmesg clean" "$hits"
out=$(rmmod svmig 2>&1)
ok "$((! $?))" "rmmod svmig" "$out"
finish
