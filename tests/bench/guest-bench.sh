#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of `make bench` (tests/vm/run-vm.sh --script runs it):
#   1. svmig-bench crypto    kernel vs OpenSSL vs plain copies, seal and open
#   2. svmig-bench channels  page mode, 1..N channels of one session
#   3. a profile of the kernel's and OpenSSL's seal and open paths
#      (perf record -a -e cpu-clock: TCG has no PMU, so no hardware events),
#      top symbols in build/bench/perf/*.txt
#   4. tests/bench/guest-seal-cpus.sh  one 2 MiB SUBMIT sealed on 1 CPU and
#                            on all (seal_cpus; 1-3 run with seal_cpus=1)
#   5. svmig-bench stream    tests/bench/stream-bench.sh (QEMU plain tcp:
#                            vs svmig stream mode vs QEMU TLS)
#   6. svmig-bench report    build/bench/bench.txt and bench.json
# SVMIG_BENCH_ARGS adds options to every svmig-bench call (--quick for a
# short check of the benchmark itself); SVMIG_BENCH_PROFILE=0 skips 3.
# Benchmarks pass or fail on whether they ran, never on the figures.
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
OUT=$PWD/build/bench
BENCH=$PWD/build/svmig-bench
read -r -a ARGS <<<"${SVMIG_BENCH_ARGS:-}"
NO_TPM=()
[[ ${SVMIG_NO_TPM:-0} == 1 ]] && NO_TPM=(--no-tpm)
failed=0

bench() { "$BENCH" --out "$OUT" "${NO_TPM[@]}" "${ARGS[@]}" "$@"; }

step() { # NAME COMMAND...
	local t0=$SECONDS name=$1

	shift
	echo "### $name"
	if "$@"; then
		echo "### $name: done in $((SECONDS - t0)) s"
	else
		echo "### $name: FAILED after $((SECONDS - t0)) s"
		failed=1
	fi
}

# One case under perf, system-wide, sampling only while a run is measured
# (svmig-bench enables and disables perf through its control FIFOs, which
# must live off the 9p work tree).  perf/CASE.txt: svmig-bench's samples
# by symbol, in percent of the process's (so idle CPUs and perf itself
# drop out), then the same with the call chains into each hot symbol.
profile_one() { # CASE (an svmig-bench --only pattern)
	local name=${1//\//-} tmp=/tmp/svmig-perf ret=0 ctl ack
	local -a report=(perf report -i "$tmp/perf.data" --kallsyms=/proc/kallsyms --stdio
		--no-children --comms svmig-bench --percentage relative)

	rm -rf "$tmp" && mkdir -p "$tmp" && mkfifo "$tmp/ctl" "$tmp/ack" || return 1
	# Held open so that neither perf nor svmig-bench blocks opening them.
	exec {ctl}<>"$tmp/ctl" {ack}<>"$tmp/ack"
	SVMIG_BENCH_PERF_CTL=$tmp/ctl SVMIG_BENCH_PERF_ACK=$tmp/ack \
		perf record -q -a -g -e cpu-clock -N -B --no-bpf-event -D -1 \
		--control "fifo:$tmp/ctl,$tmp/ack" -o "$tmp/perf.data" -- \
		"$BENCH" --out "$tmp/runs" "${NO_TPM[@]}" "${ARGS[@]}" --reps 1 --socket tcp --only "$1" crypto \
		>"$tmp/log" 2>&1 || ret=1
	exec {ctl}>&- {ack}>&-
	{
		grep -E '^# [a-z]+/' "$tmp/log"
		((ret)) && cat "$tmp/log"
		echo "# svmig-bench's samples by symbol (perf record -a -g -e cpu-clock)"
		"${report[@]}" -g none --sort dso,sym --percent-limit 0.5 2>/dev/null | grep -E '%'
		echo
		echo "# the same, with the call chains into each symbol"
		"${report[@]}" -g graph,0.5,callee --sort sym --percent-limit 2 2>/dev/null |
			grep -v '^#' | grep -v '^$'
	} >"$OUT/perf/$name.txt"
	echo "--- $1: top of the profile, in percent of svmig-bench's samples"
	grep -E '^# [a-z]+/' "$OUT/perf/$name.txt"
	sed -n '/by symbol/,/^$/p' "$OUT/perf/$name.txt" | grep -E '^ +[0-9.]+%' | head -n 14
	rm -rf "$tmp"
	return $ret
}

profile() {
	local c

	if ! command -v perf >/dev/null || ! perf stat -e cpu-clock true >/dev/null 2>&1; then
		echo "# no usable perf in the guest (Debian's linux-perf): no profile"
		return 0
	fi
	rm -rf "$OUT/perf" && mkdir -p "$OUT/perf" || return 1
	echo "# $(perf --version) on $(uname -r); hardware events:" \
		"$(perf stat -x, -e cycles true 2>&1 | grep -q 'not supported' &&
			echo 'none (no PMU under TCG)' || echo available)"
	for c in seal/kernel/socket/1 seal/kernel/socket/512 seal/openssl/socket/512 \
		open/kernel/socket/512 open/openssl/socket/512; do
		profile_one "$c" || { echo "# profiling $c failed"; return 1; }
	done
}

setup() {
	mkdir -p "$OUT" || return 1
	[[ -x $BENCH ]] || { echo "# $BENCH not built (make all)"; return 1; }
	ip link set lo up
	modprobe aesni_intel 2>/dev/null
	grep -q '^svmig ' /proc/modules || insmod kmod/svmig.ko || return 1
	echo "# guest: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
}

if ! step setup setup; then
	echo "SVMIG-GUEST-RESULT: fail"
	exit 1
fi
rm -f "$OUT"/{crypto,channels,stream,bench,seal-cpus}.json
# TCP over loopback, the transport of a migration: the kernel lends its
# transmit buffers to TCP (AF_UNIX takes copies when full, design.rst).
# Per-core figures need each channel's sealing on its own thread's CPU:
# batch workers (kworkers) are nobody's CPU time, so seal_cpus=1 here;
# the seal-cpus step compares 1 CPU with all.
one_cpu() { echo 1 >/sys/module/svmig/parameters/seal_cpus; }
step seal-cpus-1 one_cpu
step crypto bench --socket tcp crypto
step channels bench channels
[[ ${SVMIG_BENCH_PROFILE:-1} == 0 ]] || step profile profile
step seal-cpus env SVMIG_SEAL_OUT="$OUT/seal-cpus.json" SVMIG_SEAL_SOCKET=tcp \
	SVMIG_SEAL_ROUNDS="${SVMIG_SEAL_ROUNDS:-3}" tests/bench/guest-seal-cpus.sh
step stream bench stream
step report bench report
if ((failed)); then
	echo "SVMIG-GUEST-RESULT: fail"
else
	echo "SVMIG-GUEST-RESULT: pass"
fi
