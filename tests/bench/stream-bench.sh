#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stream-mode benchmark, run INSIDE the test VM (make bench): the same
# nested QEMU guest migrated over QEMU's plain tcp:, through svmig's stream
# mode, and over QEMU's own TLS (tls-creds-x509), interleaved so that drift
# of the machine hits all three alike, SVMIG_BENCH_REPS times each, for two
# workloads:
#   idle  a paused guest whose RAM holds SVMIG_BENCH_BLOB_MIB of random
#         bytes (throughput: nothing compresses, nothing is re-sent)
#   live  the running self-checking test guest (tests/qemu-guest), which
#         keeps dirtying memory (total time and downtime of a live run)
# Every figure comes from the source QEMU's query-migrate (svmig-migrate
# --json).  It prints a table of medians and the ratios svmig/plain and
# svmig/qemu-tls, and writes build/bench/stream.json and stream.txt
# (SVMIG_BENCH_OUTDIR, an absolute path, instead of build/bench).
# Absolute numbers are emulated (the test VM runs under TCG): only the
# ratios, measured side by side in one run, mean anything.
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
# shellcheck source=tests/vm/qemu-lib.sh
. tests/vm/qemu-lib.sh

REPS=${SVMIG_BENCH_REPS:-3}
MEM=${SVMIG_BENCH_MEM_MIB:-160}
BLOB_MIB=${SVMIG_BENCH_BLOB_MIB:-128}
MODES=${SVMIG_BENCH_MODES:-plain svmig qemu-tls}
WORKLOADS=${SVMIG_BENCH_WORKLOADS:-idle live}
OUTDIR=${SVMIG_BENCH_OUTDIR:-$PWD/build/bench}
DRIVER=$PWD/build/svmig-migrate
SESSION=5356d16b656e6368000000000000beef

die() { echo "stream-bench: $*" >&2; exit 1; }

setup() {
	mkdir -p "$OUTDIR" || die "mkdir $OUTDIR"
	[[ -x $DRIVER ]] || die "$DRIVER not built (make all)"
	ip link set lo up || die "loopback"
	modprobe aesni_intel 2>/dev/null
	grep -q '^svmig ' /proc/modules || insmod kmod/svmig.ko || die "insmod svmig.ko"
	qemu_lib_init || die "qemu_lib_init"
	WORK=$QEMU_LIB_DIR/bench
	mkdir -p "$WORK"
	head -c 32 /dev/urandom >"$WORK/secret"
	head -c $((BLOB_MIB << 20)) /dev/urandom >"$WORK/blob"
	make_certs "$WORK/tls" || die "certificates"
}

# A CA, a server certificate for 127.0.0.1 and a client certificate, in
# the file names QEMU's tls-creds-x509 expects, and DH parameters.
make_certs() {
	local d=$1 who ku
	mkdir -p "$d" && (
		cd "$d" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca-key.pem -out ca-cert.pem -days 2 -subj "/CN=svmig bench CA" &&
		for who in server client; do
			ku=$([[ $who == server ]] && echo serverAuth || echo clientAuth)
			printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=%s\n' "$ku" >"$who.ext"
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout "$who-key.pem" -out "$who.csr" -subj "/CN=$who" &&
			openssl x509 -req -in "$who.csr" -CA ca-cert.pem -CAkey ca-key.pem \
				-CAcreateserial -out "$who-cert.pem" -days 2 -extfile "$who.ext" || exit 1
		done &&
		openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dh-params.pem
	) >/dev/null 2>&1
}

mode_args() { # MODE
	case $1 in
	svmig) echo --mode svmig --secret-file "$WORK/secret" --session-id "$SESSION" ;;
	qemu-tls) echo --mode qemu-tls --tls-dir "$WORK/tls" ;;
	*) echo --mode plain ;;
	esac
}

start_pair() { # WORKLOAD
	local opts=(--mem "$MEM")

	if [[ $1 == idle ]]; then
		opts+=(--blob "$WORK/blob" --paused)
	else
		opts+=(--guest)
	fi
	qemu_start src "${opts[@]}" || return 1
	qemu_start dst "${opts[@]}" --incoming || return 1
	if [[ $1 == live ]]; then
		qemu_wait_serial src 'selfcheck ok iter=2 ' 60 || return 1
	fi
}

wait_listening() { # LOG
	local i

	for ((i = 0; i < 600; i++)); do
		grep -q 'waiting for the source' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# the destination never listened: $(tail -n 2 "$1")"
	return 1
}

# One migration; appends "WORKLOAD MODE total_ms downtime_ms bytes" to $RESULTS.
run_one() { # WORKLOAD MODE REP
	local port json_in json_out rc_in rc_out pid_in total down bytes
	local -a margs

	read -r -a margs <<<"$(mode_args "$2")"
	start_pair "$1" || { echo "# $1/$2: could not start the guests"; return 1; }
	port=$(qemu_free_port)
	json_in=$OUTDIR/$1-$2-$3-in.json
	json_out=$OUTDIR/$1-$2-$3-out.json
	"$DRIVER" incoming --qmp "$(qemu_qmp_sock dst 2)" --listen "127.0.0.1:$port" \
		"${margs[@]}" --resume --timeout 600 --json "$json_in" >"$OUTDIR/$1-$2-$3-in.log" 2>&1 &
	pid_in=$!
	# QEMU's own tcp: (plain, qemu-tls) connects once: wait for the listener.
	wait_listening "$OUTDIR/$1-$2-$3-in.log" || { kill "$pid_in"; wait "$pid_in"; return 1; }
	"$DRIVER" outgoing --qmp "$(qemu_qmp_sock src 2)" --connect "127.0.0.1:$port" \
		"${margs[@]}" --max-bandwidth 100000 --timeout 600 --json "$json_out" \
		>"$OUTDIR/$1-$2-$3-out.log" 2>&1
	rc_out=$?
	((rc_out)) && kill "$pid_in" 2>/dev/null
	wait "$pid_in"
	rc_in=$?
	qemu_stop src
	qemu_stop dst
	if ((rc_in || rc_out)); then
		echo "# $1/$2 rep $3: migration failed (source $rc_out, destination $rc_in)"
		return 1
	fi
	total=$(qemu_json_num "$(cat "$json_out")" total_time_ms)
	down=$(qemu_json_num "$(cat "$json_out")" downtime_ms)
	bytes=$(qemu_json_num "$(cat "$json_out")" ram_transferred)
	echo "$1 $2 ${total:-0} ${down:-0} ${bytes:-0}" >>"$RESULTS"
	echo "# $1/$2 rep $3: total ${total} ms, downtime ${down} ms, ${bytes} bytes"
}

median() { sort -n | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

col() { # WORKLOAD MODE FIELD(3 total, 4 downtime, 5 bytes)
	awk -v w="$1" -v m="$2" -v f="$3" '$1 == w && $2 == m { print $f }' "$RESULTS" | median
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

report() {
	local w m t d b mibs json="" sep=""

	printf '%-6s %-9s %12s %12s %10s\n' workload mode "total ms" "downtime ms" "MiB/s"
	for w in $WORKLOADS; do
		for m in $MODES; do
			t=$(col "$w" "$m" 3) d=$(col "$w" "$m" 4) b=$(col "$w" "$m" 5)
			mibs=$(awk -v b="$b" -v t="$t" 'BEGIN { if (t > 0) printf "%.1f", b / 1048576 / (t / 1000); else print 0 }')
			printf '%-6s %-9s %12s %12s %10s\n' "$w" "$m" "$t" "$d" "$mibs"
			json+="$sep{\"workload\":\"$w\",\"mode\":\"$m\",\"total_ms\":$t,\"downtime_ms\":$d,\"bytes\":$b}"
			sep=,
		done
		printf '%-6s svmig/plain    total %s  downtime %s\n' "$w" \
			"$(ratio "$(col "$w" svmig 3)" "$(col "$w" plain 3)")" \
			"$(ratio "$(col "$w" svmig 4)" "$(col "$w" plain 4)")"
		printf '%-6s svmig/qemu-tls total %s  downtime %s\n' "$w" \
			"$(ratio "$(col "$w" svmig 3)" "$(col "$w" qemu-tls 3)")" \
			"$(ratio "$(col "$w" svmig 4)" "$(col "$w" qemu-tls 4)")"
	done
	echo "(medians of $REPS runs each, interleaved; guest ${MEM} MiB, idle payload ${BLOB_MIB} MiB;"
	echo " nested QEMU accel ${QEMU_ACCEL}, inside the QEMU/TCG test VM: emulated timings, only ratios mean anything)"
	printf '{"reps":%s,"mem_mib":%s,"blob_mib":%s,"accel":"%s","results":[%s]}\n' \
		"$REPS" "$MEM" "$BLOB_MIB" "$QEMU_ACCEL" "$json" >"$OUTDIR/stream.json"
}

main() {
	local rep w m failed=0

	setup
	RESULTS=$OUTDIR/stream.raw
	: >"$RESULTS"
	for ((rep = 1; rep <= REPS; rep++)); do
		for w in $WORKLOADS; do
			for m in $MODES; do
				run_one "$w" "$m" "$rep" || failed=1
			done
		done
	done
	report | tee "$OUTDIR/stream.txt"
	return $failed
}

main "$@"
