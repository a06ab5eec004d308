#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the libFuzzer harnesses built by tests/fuzz/fuzz.mk
# (build/fuzz/fuzz_<name>); used by `make fuzz` and by make check's fuzz
# phase (Documentation/testing.rst, "Fuzzing").
#
#   tests/fuzz/run-fuzz.sh [--smoke] [--seconds N] [NAME...]
#
# Without NAMEs, every build/fuzz/fuzz_* is run.  For each harness:
#   --smoke: first every file of tests/fuzz/corpus/<name>/ is run once (as
#            reproducers, not fuzzed), then the harness fuzzes for N seconds
#            (default 30);
#   default: it fuzzes for N seconds (default 300).
# Fuzzing always starts from a scratch copy of the checked-in corpus
# (build/fuzz/work/<name>/), so new inputs never land in the tree, with
# the harness's dictionary (tests/fuzz/<name>.dict) when there is one.
# A crash, a leak, a UBSan report, a timeout (FUZZ_TIMEOUT s per input,
# default 20) or running out of memory (FUZZ_RSS_MB, default 2048) fails
# the harness: its reproducer lands in build/fuzz/crashes/<name>/ and the
# first lines of the report are printed.  Output is TAP-like, one
# "ok - fuzz/<name>: ..." or "not ok - fuzz/<name>: ..." line per harness,
# details on "#" lines; logs in build/fuzz/logs/.  Exits non-zero if any
# harness failed or none was found.
set -uo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
B=$ROOT/build/fuzz
smoke=0
seconds=

usage() {
	echo "usage: $0 [--smoke] [--seconds N] [NAME...]" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--smoke) smoke=1 ;;
	--seconds)
		[[ ${2:-} =~ ^[0-9]+$ ]] || usage
		seconds=$2
		shift
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done
if [[ -z $seconds ]]; then
	if ((smoke)); then
		seconds=${FUZZ_SMOKE_SECONDS:-30}
	else
		seconds=${FUZZ_SECONDS:-300}
	fi
fi
timeout_s=${FUZZ_TIMEOUT:-20}
rss_mb=${FUZZ_RSS_MB:-2048}

names=()
if (($#)); then
	for n in "$@"; do
		names+=("${n#fuzz_}")
	done
else
	for f in "$B"/fuzz_*; do
		[[ -f $f && -x $f ]] || continue
		names+=("${f##*/fuzz_}")
	done
fi
if ((${#names[@]} == 0)); then
	echo "not ok - fuzz: no harness built under build/fuzz/ (make fuzz-build)"
	exit 1
fi

mkdir -p "$B/logs"
nfail=0

# report NAME LOG: the reproducer and the start of the sanitizer report.
report() {
	local name=$1 log=$2 art
	art=$(grep -a -o -E "(crash|leak|timeout|oom|slow-unit)-[0-9a-f]+" "$log" | tail -n 1)
	if [[ -n $art ]]; then
		echo "#   reproducer: build/fuzz/crashes/$name/$art"
		echo "#   replay: build/fuzz/fuzz_$name build/fuzz/crashes/$name/$art"
	else
		# a checked-in input failed: libFuzzer names each before running it
		art=$(grep -a -o -E '^Running: .*' "$log" | tail -n 1 | sed 's/^Running: //')
		if [[ -n $art ]]; then
			echo "#   reproducer: ${art#"$ROOT"/}"
			echo "#   replay: build/fuzz/fuzz_$name ${art#"$ROOT"/}"
		fi
	fi
	grep -a -m 3 'FUZZ INVARIANT FAILED' "$log" | sed 's/^/#   /'
	first=$(grep -a -n -m 1 -E '==[0-9]+==(ERROR|WARNING): |runtime error:|ERROR: libFuzzer|^==[0-9]+== ERROR' "$log" |
		cut -d: -f1)
	if [[ -n $first ]]; then
		sed -n "${first},$((first + 24))p" "$log" | sed 's/^/#   /'
	else
		# not a sanitizer report (a bad option, a dictionary...): the end
		tail -n 10 "$log" | sed 's/^/#   /'
	fi
	echo "#   full log: ${log#"$ROOT"/}"
}

for name in "${names[@]}"; do
	bin=$B/fuzz_$name
	corpus=$ROOT/tests/fuzz/corpus/$name
	log=$B/logs/$name.log
	crashes=$B/crashes/$name
	work=$B/work/$name
	if [[ ! -x $bin ]]; then
		echo "not ok - fuzz/$name: $bin was not built"
		nfail=$((nfail + 1))
		continue
	fi
	mkdir -p "$crashes"
	rm -rf "$work"
	mkdir -p "$work/corpus"
	[[ -d $corpus ]] && cp -a "$corpus/." "$work/corpus/"
	ninputs=$(find "$work/corpus" -type f | wc -l)
	opts=(-timeout="$timeout_s" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb"
		-artifact_prefix="$crashes/" -print_final_stats=1)
	[[ -f tests/fuzz/$name.dict ]] && opts+=(-dict="tests/fuzz/$name.dict")
	: >"$log"

	if ((smoke)); then
		# 1. The checked-in corpus, each file once.
		files=()
		while IFS= read -r -d '' f; do
			files+=("$f")
		done < <(find "$corpus" -type f -print0 2>/dev/null | sort -z)
		if ((${#files[@]} == 0)); then
			echo "not ok - fuzz/$name: no seed corpus in tests/fuzz/corpus/$name/"
			nfail=$((nfail + 1))
			continue
		fi
		rc=0
		timeout -k 10 $((timeout_s * ${#files[@]} + 120)) \
			"$bin" "${opts[@]}" "${files[@]}" >>"$log" 2>&1 || rc=$?
		if ((rc != 0)); then
			echo "not ok - fuzz/$name: its checked-in corpus fails (exit $rc)"
			report "$name" "$log"
			nfail=$((nfail + 1))
			continue
		fi
	fi

	# 2. New inputs, from a scratch copy of the corpus.
	rc=0
	t0=$(date +%s)
	timeout -k 10 $((seconds + timeout_s + 120)) \
		"$bin" "${opts[@]}" -max_total_time="$seconds" "$work/corpus" \
		>>"$log" 2>&1 || rc=$?
	t=$(($(date +%s) - t0))
	execs=$(grep -a -o -E 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -n 1 | grep -o -E '[0-9]+$')
	cov=$(grep -a -o -E '(#[0-9]+[[:space:]]+DONE|#[0-9]+[[:space:]]+INITED)[[:space:]]+cov: [0-9]+ ft: [0-9]+' "$log" |
		tail -n 1 | sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+)/cov \1, ft \2/')
	now=$(find "$work/corpus" -type f | wc -l)
	if ((rc != 0)); then
		echo "not ok - fuzz/$name: fuzzing failed after ${t}s (exit $rc)"
		report "$name" "$log"
		nfail=$((nfail + 1))
	else
		what="${seconds}s of new inputs"
		((smoke)) && what="${ninputs} corpus inputs, then $what"
		echo "ok - fuzz/$name: $what: ${execs:-?} runs, ${cov:-no coverage figures}, corpus $ninputs -> $now"
	fi
done

exit $((nfail > 0))
