#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Page-mode sealing on one CPU against several, side by side in one run
# (tests/vm/run-vm.sh --script runs it; `make bench-seal-cpus`): svmig.ko
# seals a SUBMIT's batch on up to seal_cpus CPUs (kmod/batch.c), read when
# a channel is keyed.  Each round keys channels with seal_cpus=1, then with
# seal_cpus=0 (every online CPU, up to 4), and measures the kernel's seal
# (svmig-bench crypto: seal/kernel/socket, SUBMIT with the records sent on a
# socket that a second thread drains; seal/kernel/devfd, SUBMIT and read()
# from /dev/svmig in one thread) in batches of 1 page and of 512 pages
# (2 MiB), wall-clock MiB/s.  Prints each run, the medians and their ratio;
# with SVMIG_SEAL_OUT=FILE also writes them there as JSON (make bench's
# report reads build/bench/seal-cpus.json).  SVMIG_SEAL_SOCKET=tcp|unix picks
# the socket (default unix).  Under TCG every figure is emulated: the ratio
# is what to read, not the MiB/s.
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
BENCH=$PWD/build/svmig-bench
PARAM=/sys/module/svmig/parameters/seal_cpus
ROUNDS=${SVMIG_SEAL_ROUNDS:-5}
MIB=${SVMIG_SEAL_MIB:-32}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

modprobe aesni_intel 2>/dev/null
grep -q '^svmig ' /proc/modules || insmod "${SVMIG_MODULE:-kmod/svmig.ko}" || exit 1
[[ -w $PARAM ]] || { echo "# $PARAM is missing: svmig.ko without batch sealing"; exit 1; }
echo "# seal-cpus: $(nproc) online CPUs, $ROUNDS rounds of $MIB MiB, under TCG (emulated)"
for ((r = 1; r <= ROUNDS; r++)); do
	for cpus in 1 0; do
		echo "$cpus" >"$PARAM" || exit 1
		"$BENCH" --out "$tmp/out" --mib "$MIB" --reps 1 --only seal/kernel \
			--socket "${SVMIG_SEAL_SOCKET:-unix}" crypto |
			awk -v c="$cpus" '/^# seal\/kernel\/[a-z]+ +batch/ {
				for (i = 1; i <= NF; i++) if ($i == "MiB/s,") print c, $2, $4, $(i - 1) }' \
			>>"$tmp/runs" || exit 1
	done
done
echo 0 >"$PARAM"
while read -r cpus id batch mibs; do
	echo "# seal_cpus=$cpus $id batch $batch: $mibs MiB/s"
done <"$tmp/runs"
result() { echo "SVMIG-GUEST-RESULT: $1"; [[ $1 == pass ]]; exit; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for id in seal/kernel/socket seal/kernel/devfd; do
	for batch in 1 512; do
		one=$(awk -v i="$id" -v b="$batch" '$1 == 1 && $2 == i && $3 == b { print $4 }' \
			"$tmp/runs" | median)
		all=$(awk -v i="$id" -v b="$batch" '$1 == 0 && $2 == i && $3 == b { print $4 }' \
			"$tmp/runs" | median)
		[[ -n $one && -n $all ]] || { echo "# $id batch $batch: no measurement"; result fail; }
		awk -v i="$id" -v b="$batch" -v one="$one" -v all="$all" -v n="$(nproc)" 'BEGIN {
			printf "seal-cpus: %-18s batch %3d: 1 CPU %7.1f MiB/s, %d CPUs %7.1f MiB/s, %.2fx\n",
				i, b, one, n, all, all / one }'
		printf '{"id":"%s","batch":%d,"one_mib_s":%s,"all_mib_s":%s}\n' \
			"$id" "$batch" "$one" "$all" >>"$tmp/json"
	done
done
if [[ -n ${SVMIG_SEAL_OUT:-} ]]; then
	{
		printf '{"cpus":%d,"rounds":%d,"mib_per_run":%d,"socket":"%s","results":[' \
			"$(nproc)" "$ROUNDS" "$MIB" "${SVMIG_SEAL_SOCKET:-unix}"
		paste -sd, "$tmp/json"
		printf ']}\n'
	} >"$SVMIG_SEAL_OUT" || result fail
fi
result pass
