#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make soak` (not part of `make check`): long runs that look for leaks and
# growth.  Two phases, each its own boot:
#   vmm         tests/vm/run-vm.sh --script tests/vm/soak-vmm.sh:
#               SOAK_VMM_ROUNDS (default 1000) page-mode rounds of the KVM
#               test VMM, in runs of SOAK_VMM_CHUNK (default 50), checked
#               after each run
#   migrations  tests/vm/run-two-hosts.sh --script tests/vm/soak-two-hosts.sh:
#               SOAK_MIGRATIONS (default 100) svmigd migrations of one live
#               guest, host-a -> host-b -> host-a ..., checked after each
# SOAK_PHASES="vmm migrations" (the default) chooses; SOAK_ASAN=1 runs the
# migrations with svmigd built with ASan + UBSan (LeakSanitizer at its exit
# catches what the migrations leaked; its RSS is then not bounded); SOAK_WARMUP,
# SOAK_RSS_SLACK_KIB and SOAK_SLAB_SLACK_KIB change the bounds (see the
# two scripts).  Everything lands in build/soak/: vmm.tsv and
# migrations-host-{a,b}.tsv (one line per run / migration), the consoles,
# and summary.txt (first/last/max of svmigd's RSS and fds, time per
# migration and per run).  Exits 0 only if every phase passed.
set -uo pipefail

WORKTREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$WORKTREE" || exit 2
OUT=$WORKTREE/build/soak
MIGRATIONS=${SOAK_MIGRATIONS:-100}
VMM_ROUNDS=${SOAK_VMM_ROUNDS:-1000}
VMM_CHUNK=${SOAK_VMM_CHUNK:-50}
PHASES=${SOAK_PHASES:-vmm migrations}
for v in MIGRATIONS VMM_ROUNDS VMM_CHUNK; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "soak: SOAK_$v must be a positive number" >&2; exit 2; }
done

export SVMIG_SOAK_MIGRATIONS=$MIGRATIONS SVMIG_SOAK_VMM_ROUNDS=$VMM_ROUNDS
export SVMIG_SOAK_VMM_CHUNK=$VMM_CHUNK SVMIG_SOAK_OUT=$OUT
if [[ ${SOAK_ASAN:-0} == 1 ]]; then
	# svmigd and svmigctl built with ASan + UBSan (LSan at exit) for the
	# migrations phase
	make -s B=build/asan LDFLAGS="-fsanitize=address,undefined" \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iuapi -Iuserspace/lib" \
		build/asan/svmigd || { echo "soak: the ASan build of svmigd failed" >&2; exit 2; }
	export SVMIG_SOAK_SVMIGD=build/asan/svmigd
fi
[[ -n ${SOAK_WARMUP:-} ]] && export SVMIG_SOAK_WARMUP=$SOAK_WARMUP
[[ -n ${SOAK_RSS_SLACK_KIB:-} ]] && export SVMIG_SOAK_RSS_SLACK_KIB=$SOAK_RSS_SLACK_KIB
[[ -n ${SOAK_SLAB_SLACK_KIB:-} ]] && export SVMIG_SOAK_SLAB_SLACK_KIB=$SOAK_SLAB_SLACK_KIB

rm -rf "$OUT"
mkdir -p "$OUT"
SUM=$OUT/summary.txt
say() { echo "$*" | tee -a "$SUM"; }
now() { date +%s; }

# counts: "VALUE xCOUNT, ..." of the values on stdin
counts() { sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }'; }

# stats FILE COLUMN: "first F, last L, min m, max M" of a numeric column
stats() {
	awk -F'\t' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$k ~ /^[0-9.]+$/ { v = $k + 0; if (!n++) { f = v; mn = v; mx = v }
			if (v < mn) mn = v; if (v > mx) mx = v; l = v; s += v }
		END { if (n) printf "first %s, last %s, min %s, max %s, mean %.1f (%d values)", f, l, mn, mx, s / n, n
			else printf "no values" }' "$1"
}

say "soak $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs, commit $(git rev-parse --short HEAD 2>/dev/null)"
say "SOAK_MIGRATIONS=$MIGRATIONS SOAK_VMM_ROUNDS=$VMM_ROUNDS SOAK_VMM_CHUNK=$VMM_CHUNK phases: $PHASES" \
	"svmigd: ${SVMIG_SOAK_SVMIGD:-build/svmigd}"
fail=0

if [[ " $PHASES " == *" vmm "* ]]; then
	t0=$(now)
	rc=0
	tests/vm/run-vm.sh --timeout $((600 + VMM_ROUNDS * 6)) --script tests/vm/soak-vmm.sh \
		--console-log "$OUT/vmm-console.log" >/dev/null || rc=$?
	((rc)) && fail=1
	say ""
	say "== vmm: $VMM_ROUNDS page-mode rounds of svmig-vmm (runs of $VMM_CHUNK):" \
		"$([[ $rc == 0 ]] && echo PASS || echo "FAIL (exit $rc)") in $(($(now) - t0)) s"
	if [[ -f $OUT/vmm.tsv ]]; then
		say "   runs done:          $(($(wc -l <"$OUT/vmm.tsv") - 1)), live rounds $(tail -n 1 "$OUT/vmm.tsv" | cut -f2)"
		say "   seconds per run:    $(stats "$OUT/vmm.tsv" seconds)"
		say "   svmig refcnt:       $(stats "$OUT/vmm.tsv" refcnt)"
		say "   pinned pages held:  $(stats "$OUT/vmm.tsv" pins)"
		say "   pins taken (total): $(tail -n 1 "$OUT/vmm.tsv" | cut -f9)"
		say "   SUnreclaim KiB:     $(stats "$OUT/vmm.tsv" sunreclaim_kib)"
		say "   VmallocUsed KiB:    $(stats "$OUT/vmm.tsv" vmalloc_kib)"
		say "   kmemleak:           $(cut -f8 "$OUT/vmm.tsv" | tail -n +2 | counts)"
	fi
	grep -a '^not ok' "$OUT/vmm-console.log" 2>/dev/null | sed 's/^/   /' | tee -a "$SUM"
fi

if [[ " $PHASES " == *" migrations "* ]]; then
	t0=$(now)
	for try in 1 2; do
		rc=0
		tests/vm/run-two-hosts.sh --timeout $((900 + MIGRATIONS * 150)) \
			--script tests/vm/soak-two-hosts.sh || rc=$?
		# Under a loaded TCG a guest kernel may panic in its first second
		# ("IO-APIC + timer doesn't work"), before anything of ours ran:
		# boot both again, once.
		((rc && try == 1)) || break
		retry=0
		for h in host-a host-b; do
			grep -aq 'Kernel panic' "build/vm2/$h.log" 2>/dev/null &&
				! grep -aq '^svmig-init: running' "build/vm2/$h.log" && retry=1
		done
		((retry)) || break
		say "   (a guest kernel panicked at boot, before the soak ran: booting both again)"
	done
	((rc)) && fail=1
	for h in host-a host-b; do
		cp build/vm2/$h.log "$OUT/migrations-$h-console.log" 2>/dev/null
		cp build/vm2/$h/soak.tsv "$OUT/migrations-$h.tsv" 2>/dev/null
		cp build/vm2/$h/svmigd.log "$OUT/migrations-$h-svmigd.log" 2>/dev/null
	done
	say ""
	secs=$(($(now) - t0))
	done_m=$(($(wc -l <"$OUT/migrations-host-a.tsv" 2>/dev/null || echo 1) - 1))
	say "== migrations: $MIGRATIONS svmigd migrations host-a <-> host-b:" \
		"$([[ $rc == 0 ]] && echo PASS || echo "FAIL (exit $rc)") in $secs s" \
		"(both boots and setup included; $done_m migrations done)"
	for h in host-a host-b; do
		f=$OUT/migrations-$h.tsv
		[[ -f $f ]] || continue
		say "   $h: $(($(wc -l <"$f") - 1)) migrations recorded"
		say "     svmigd fds:       $(stats "$f" fds)"
		say "     svmigd VmRSS KiB: $(stats "$f" rss_kib)"
		say "     svmig refcnt:     $(stats "$f" refcnt)"
		say "     pinned pages:     $(stats "$f" pins)"
		say "     SUnreclaim KiB:   $(stats "$f" sunreclaim_kib)"
		say "     audit verify:     $(cut -f11 "$f" | tail -n +2 | counts)"
		say "     kmemleak:         $(cut -f10 "$f" | tail -n +2 | counts)"
		say "     QEMUs here:       $(cut -f12 "$f" | tail -n +2 | counts) (value xtimes)"
		awk -F'\t' 'NR > 1 && $3 == "src"' "$f" >"$OUT/.src"
		if [[ -s $OUT/.src ]]; then
			say "     seconds per migration from here: $( (printf 'mig_s\n'; cut -f4 "$OUT/.src") >"$OUT/.m"; stats "$OUT/.m" mig_s)"
		fi
		rm -f "$OUT/.src" "$OUT/.m"
	done
	for h in host-a host-b; do
		grep -a '^not ok' "$OUT/migrations-$h-console.log" 2>/dev/null | sed "s/^/   $h: /" | tee -a "$SUM"
	done
fi

say ""
say "soak: $([[ $fail == 0 ]] && echo PASS || echo FAIL) (figures: $OUT/)"
exit "$fail"
