#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Two-host migration failures through svmigd (make check, phase 8): the
# script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_failures.sh --timeout 600
# run (SVMIG_HOST says which).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".  Setup as t2_migrate.sh (svmigd-lib.sh);
# host-a runs one self-checking source VM, reachable as web-1 .. web-6
# (web-4 excepted: a second one of its own);
# host-b starts one destination QEMU (-incoming defer) per case:
#
#   1. tampered data: host-a's svmigd sends its data connection to an
#      svmig-relay on host-a (--peer host-b=CONTROL,127.0.0.1:RELAY) that
#      forwards to host-b's data port and flips a bit in record 50;
#   2. host-b's svmigd, restarted with SVMIGD_FAILPOINT=data:100, dies by
#      SIGKILL in DATA once it has accepted 100 records (of about 380 that
#      the 64 MiB guest takes), before it verifies; host-b restarts it;
#   3. host-a's own svmigd, restarted with the same failpoint, dies by
#      SIGKILL in DATA once it has sealed 100 records, before its END;
#      host-a restarts it, and the new svmigd finds the migration in its
#      journal (phase data: no COMMIT was sent) and resumes the source VM;
#   4. in doubt, then resumed there: host-a's svmigd, restarted with
#      SVMIGD_FAILPOINT=after-commit, dies by SIGKILL as soon as its COMMIT
#      is on the socket, before host-b's RESUMED can arrive (no race with
#      the network); host-b resumes web-4.  Restarted, host-a's svmigd
#      finds web-4 in phase commit, asks host-b (QUERY), gets a signed
#      "resumed" and quits its paused copy (a second source VM, src4);
#   5. in doubt, then not committed: host-a's svmigd, restarted with
#      SVMIGD_FAILPOINT=before-commit, dies by SIGKILL with its journal
#      entry in phase commit and the COMMIT not sent; host-b, waiting for
#      it, sees the connection end and discards its copy; host-b's svmigd
#      is then SIGKILLed too and both restart: host-b answers
#      "not-committed" from its audit log and host-a resumes web-5;
#   6. host-b's PCR 7 is extended (tpm2_pcrextend), the policy keeps the
#      old reference: refused at ATTEST, before any VM byte moves.
# The failpoints (svmigd.8, ENVIRONMENT) make each kill land at the same
# point every run, however slow the machine or the network: no tc delay,
# no sleep before a kill.  Each host ends with t2-tap.sh's host checks.
#
# Each case: svmigctl migrate fails, the source VM runs on (query-status
# running, its self-checks go on), nothing runs on host-b, and the audit
# logs record the failure (host-b's not in case 2: it was killed; host-a's
# in case 3 as "recovered", by the restarted svmigd); in cases 4 and 5
# exactly one copy runs at the end, the one host-b's signed OUTCOME named,
# and host-a's audit log says "settled"; at the end both audit logs still
# verify and host-a's journal holds nothing unsettled.
# Logs: $SVMIG_RESULTS_DIR/{svmigd*.log,audit.log,case*.txt,relay.log,...}.
set -uo pipefail
export LC_ALL=C

if [[ -z ${SVMIG_HOST:-} ]]; then
	echo "1..0 # SKIP not a two-host run (tests/vm/run-two-hosts.sh)"
	exit 0
fi
cd "${SVMIG_WORKTREE:?}" || exit 1
# shellcheck source=tests/vm/qemu-lib.sh
. tests/vm/qemu-lib.sh
# shellcheck source=tests/vm/svmigd-lib.sh
. tests/vm/svmigd-lib.sh

RELAY=$PWD/build/tests/vm/svmig-relay
RELAY_PORT=7411
T=$(mktemp -d /tmp/t2f.XXXXXX)
STATE=$T/state
QMPDIR=$T/qmp
P=$T/pki
t0=$SECONDS

# shellcheck source=tests/vm/t2-tap.sh
. tests/vm/t2-tap.sh
T2_FINISH_RENDEZVOUS=1
T2_CLEANUP=cleanup	# before the host checks: nothing may hold svmig.ko
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	trap - EXIT
	[[ -n ${hb_pid:-} ]] && kill "$hb_pid" 2>/dev/null
	svmigd_stop
	[[ -f $STATE/audit.log ]] && cp "$STATE/audit.log" "$RES/audit.log"
	QEMU_LIB_LOGDIR=$RES/qemu qemu_cleanup
	rm -rf "$T"
}
QEMU_LIB_NO_TRAP=1
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

step() { echo "# [$((SECONDS - t0)) s] $*"; }

# A heartbeat on the console every 20 s: the uptime, the load, and every
# process of this test that sleeps uninterruptibly or in the kernel, with
# where (wchan); kernel messages up to debug reach the console.  When a
# run stalls, the console tells whether the guest or one process hung.
heartbeat() {
	local top=$1
	while sleep 20; do
		echo "# [hb $(cut -d' ' -f1 /proc/uptime) s] load $(cut -d' ' -f1-3 /proc/loadavg)"
		ps -eo pid,ppid,stat,wchan:28,etimes,comm --no-headers |
			awk -v top="$top" '$3 ~ /^D/ || $2 == top { print "#   " $0 }'
	done
}
dmesg -n 7 2>/dev/null
heartbeat $$ &
hb_pid=$!

# svmigd_start runs "$SVMIGD": this adds a first --peer (it wins) whose
# data address is $T2F_DATA when that is set.
# shellcheck disable=SC2317 # run by svmigd_start
t2f_svmigd() {
	exec "$PWD/build/svmigd" \
		${T2F_DATA:+--peer "$SVMIG_PEER=$SVMIG_PEER_ADDR:$CTL_PORT,$T2F_DATA"} "$@"
}
SVMIGD=t2f_svmigd
T2F_DATA=
# nevents EVENT: how many records of EVENT our audit log has
nevents() {
	local c
	c=$(grep -c "\"event\":\"$1\"" "$STATE/audit.log" 2>/dev/null)
	echo "${c:-0}"
}
nfail() { echo $(($(nevents failed) + $(nevents refused))); }

# src_runs_on CASE: the source VM is running and its guest self-checks on
src_runs_on() {
	local st it
	st=$(qemu_qmp src query-status 2>&1)
	[[ $(qemu_json_str "$st" status) == running ]]
	ok "$((! $?))" "$1: the source VM runs (query-status)" "$st"
	it=$(qemu_guest_iter src)
	if [[ -n $it ]] && qemu_wait_serial src "^selfcheck (ok iter=$((it + 2)) |FAIL)" 120 &&
		! qemu_guest_failed src; then
		ok 1 "$1: its guest keeps passing self-checks (iteration $it, then $((it + 2)))"
	else
		ok 0 "$1: its guest keeps passing self-checks" "$(qemu_dump_logs src 2>&1)"
	fi
}
# migrate CASE VM: alice's request for VM, svmigctl migrate into $RES/CASE.txt;
# sets rc
migrate() {
	"$SVMIGCTL" request --vm "$2" --source host-a --target host-b --mem 64 \
		--vcpus 1 --cert "$P/alice.pem" --key "$P/alice.key" --out "$T/req-$2.json" ||
		{ rc=2; return; }
	timeout 300 "$SVMIGCTL" migrate --config "$T/svmigd.conf" \
		--request "$T/req-$2.json" >"$RES/$1.txt" 2>&1
	rc=$?
	sed 's/^/#   /' "$RES/$1.txt"
}
# dst_start CASE VM: a destination QEMU named CASE waiting for VM
dst_start() {
	if qemu_start "$1" --guest --mem 64 --incoming; then
		ln -sf "$(qemu_qmp_sock "$1" 2)" "$QMPDIR/$2.qmp"
		svmig_rdv_post "$1-ready"
	else
		bail "$1: destination QEMU waits" "$(qemu_dump_logs "$1" 2>&1)"
	fi
}
# dst_not_running CASE: nothing runs on this host for that case
dst_not_running() {
	local st=exited reply=
	if qemu_alive "$1"; then
		reply=$(qemu_qmp "$1" query-status 2>&1)
		st=$(qemu_json_str "$reply" status) || st="no status: $reply"
	fi
	[[ $st != running ]]
	ok "$((! $?))" "$1: nothing runs on host-b (destination QEMU: $st)" "$reply"
}
# audit_failed CASE BEFORE: our audit log gained a failed/refused record
audit_failed() {
	local now
	now=$(nfail)
	((now > $2))
	ok "$((! $?))" "$1: the $SVMIG_HOST audit log records the failure ($2 -> $now)" \
		"$(tail -n 2 "$STATE/audit.log" 2>&1)"
}

# migrate_bg CASE VM: migrate in the background; sets mig_pid (its exit
# status is svmigctl's)
migrate_bg() {
	(
		migrate "$1" "$2"
		exit "$rc"
	) &
	mig_pid=$!
}
# failpoint_died CASE POINT LOG: our svmigd, started with
# SVMIGD_FAILPOINT=POINT, dies there (300 s at most): one result.  Waits
# for it and records the SIGKILL as deliberate (svmigd_kill, a no-op
# unless the failpoint was never reached); sets fp_line to its log line.
failpoint_died() {
	local _
	for _ in $(seq 3000); do
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	svmigd_kill "failpoint $2"
	fp_line=$(grep "^svmigd: failpoint $2" "$3")
	((svmigd_rc == 128 + 9)) && [[ -n $fp_line ]]
	ok "$((! $?))" "$1: $SVMIG_HOST's svmigd died by SIGKILL at its failpoint (${fp_line#svmigd: })" \
		"exit status $svmigd_rc" "$(tail -n 5 "$3")"
}
FP_DATA=data:100
# migrate_failed CASE: the background svmigctl migrate exited non-zero
migrate_failed() {
	wait "$mig_pid"
	rc=$?
	[[ $rc != 0 ]]
	ok "$((! $?))" "$1: svmigctl migrate reports failure (exit $rc)"
}
# wait_gone NAME: up to 10 s for QEMU NAME to exit
wait_gone() {
	local _
	for _ in $(seq 100); do
		qemu_alive "$1" || break
		sleep 0.1
	done
}
# settled CASE LOG OUTCOME: the restarted svmigd asked host-b and got
# OUTCOME, audited the settlement, and nothing is unsettled any more
settled() {
	local st
	grep -q "^svmigd: recover: vm web-${1#case}: in doubt, then host-b's signed OUTCOME said $3" "$2"
	ok "$((! $?))" "$1: the restarted svmigd asked host-b: $3" "$(cat "$2")"
	tail -n 2 "$STATE/audit.log" | grep -q '"event":"outcome"' &&
		tail -n 1 "$STATE/audit.log" | grep -q '"event":"settled"'
	ok "$((! $?))" "$1: the host-a audit log records the OUTCOME and the settlement" \
		"$(tail -n 2 "$STATE/audit.log")"
	st=$("$SVMIGCTL" status --config "$T/svmigd.conf" --json 2>&1)
	[[ $st == *'"unsettled":[]'* ]]
	ok "$((! $?))" "$1: nothing unsettled (svmigctl status)" "$st"
}

echo "# t2_failures on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)"

# ------------------------------------------------------------------ setup
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "$out"
[[ -x build/svmigd && -x $SVMIGCTL && -x $RELAY ]] ||
	bail "build/svmigd, build/svmigctl, build/tests/vm/svmig-relay built"
mkdir -p "$STATE" "$QMPDIR" "$P"
svmigd_setup_trust >"$T/trust.txt" || bail "PKI, AKs and signed policy" "$(cat "$T/trust.txt")"

[[ $SVMIG_HOST == host-a ]] && T2F_DATA=127.0.0.1:$RELAY_PORT
svmigd_start "$RES/svmigd.log" || bail "svmigd starts" "$(tail -n 5 "$RES/svmigd.log")"
ok 1 "setup: PKI, policy, svmigd runs${T2F_DATA:+ (data to host-b via $T2F_DATA)}"

if [[ $SVMIG_HOST == host-a ]]; then
	# TCG, not nested KVM: in 2 of 6 runs with KVM, host-a froze whole
	# (no heartbeat, no kernel message, its QEMU busy) right after case 2
	# had cancelled a live migration and resumed the source VM: nested SVM
	# as QEMU/TCG emulates it for the test VM, not svmig (nothing of svmig
	# runs then).  No case here needs KVM's speed.
	QEMU_ACCEL=tcg
	qemu_lib_init || bail "qemu_lib_init"
	svmig_rdv_post accel "$QEMU_ACCEL"
	if qemu_start src --guest --mem 64 --append "pages=512 burst=128" &&
		qemu_wait_serial src '^selfcheck ok iter=2 ' 120 && ! qemu_guest_failed src; then
		ok 1 "source QEMU runs the self-checking guest (accel $QEMU_ACCEL)"
	else
		bail "source QEMU runs the self-checking guest" "$(qemu_dump_logs src 2>&1)"
	fi
	for vm in web-1 web-2 web-3 web-5 web-6; do
		ln -s "$(qemu_qmp_sock src 2)" "$QMPDIR/$vm.qmp"
	done
else
	QEMU_ACCEL=$(svmig_rdv_wait accel) || bail "host-a's accelerator"
	qemu_lib_init || bail "qemu_lib_init"
fi

# ================================================================ host-a
if [[ $SVMIG_HOST == host-a ]]; then
	# ---- 1: a bit flipped in data record 50
	svmig_rdv_wait case1-ready >/dev/null || bail "case1: host-b's destination QEMU"
	step "case 1: relay flips a bit in record 50"
	rm -f "$T/relay.ready"
	"$RELAY" --listen "$RELAY_PORT" --connect "$SVMIG_PEER_ADDR:$DATA_PORT" \
		--attack flip --at 50 --ready "$T/relay.ready" >"$RES/relay.log" 2>&1 &
	relay_pid=$!
	for _ in $(seq 50); do
		[[ -e $T/relay.ready ]] && break
		sleep 0.1
	done
	before=$(nfail)
	s=$SECONDS
	migrate case1 web-1
	step "case 1: svmigctl exit $rc after $((SECONDS - s)) s"
	[[ $rc == 1 ]]
	ok "$((! $?))" "case1: svmigctl migrate reports failure" "exit $rc"
	grep -q 'flip on record 50' "$RES/relay.log"
	ok "$((! $?))" \
		"case1: the relay flipped a bit in record 50" "$(cat "$RES/relay.log")"
	grep -q '^result: FAILED' "$RES/case1.txt"
	ok "$((! $?))" \
		"case1: $(grep '^result:' "$RES/case1.txt")"
	# host-b's signed "failed" receipt says why, from its kernel's counters
	why=$(grep -o 'authentication failure after [0-9]* records' "$RES/case1.txt" | head -n 1)
	[[ -n $why ]] && tail -n 5 "$STATE/audit.log" |
		grep '"event":"receipt"' | grep -q '"reason":"authentication failure after [0-9]* records"'
	ok "$((! $?))" "case1: the operator sees the target's reason ($why), audited with the receipt" \
		"$(cat "$RES/case1.txt")" "$(tail -n 5 "$STATE/audit.log")"
	kill "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	src_runs_on case1
	audit_failed case1 "$before"
	svmig_rdv_post case1-done

	# ---- 2: host-b's svmigd killed during DATA (direct data connection)
	svmigd_stop
	T2F_DATA=
	svmigd_start "$RES/svmigd-2.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-2.log")"
	svmig_rdv_wait case2-ready >/dev/null || bail "case2: host-b's destination QEMU"
	step "case 2: migrate; host-b's svmigd dies at its failpoint in DATA"
	before=$(nfail)
	s=$SECONDS
	migrate case2 web-2
	step "case 2: svmigctl exit $rc after $((SECONDS - s)) s"
	[[ $rc == 1 ]]
	ok "$((! $?))" "case2: svmigctl migrate reports failure" "exit $rc"
	# host-b's own check says how many records it had taken (its failpoint)
	grep -q '^data: connected to .*; sender keyed and attached' "$RES/case2.txt" &&
		grep -q '^data: failed: host-b ended the session during DATA' "$RES/case2.txt"
	ok "$((! $?))" "case2: DATA had begun, and failed when host-b's svmigd went" \
		"$(grep '^data: ' "$RES/case2.txt")"
	grep -q '^result: FAILED' "$RES/case2.txt"
	ok "$((! $?))" \
		"case2: $(grep '^result:' "$RES/case2.txt")"
	grep -q '^recover: the source VM' "$RES/case2.txt"
	ok "$((! $?))" \
		"case2: svmigd resumed the source VM ($(grep '^recover:' "$RES/case2.txt"))"
	src_runs_on case2
	audit_failed case2 "$before"
	svmig_rdv_post case2-done

	# ---- 3: host-a's svmigd killed during DATA, restarted: its journal
	svmig_rdv_wait case3-ready >/dev/null || bail "case3: host-b's destination QEMU"
	svmigd_stop
	SVMIGD_FAILPOINT=$FP_DATA svmigd_start "$RES/svmigd-2f.log" ||
		bail "svmigd restarts with a failpoint" "$(tail -n 5 "$RES/svmigd-2f.log")"
	step "case 3: migrate; host-a's own svmigd dies at its failpoint in DATA"
	migrate_bg case3 web-3
	failpoint_died case3 "$FP_DATA" "$RES/svmigd-2f.log"
	jentry=$(cat "$STATE/journal/web-3.json" 2>&1)
	[[ $fp_line == *' records sealed, QEMU: '* ]]
	ok "$((! $?))" "case3: it died as the source, in DATA (before its END)" "$fp_line"
	[[ $jentry == *'"vm":"web-3"'* && $jentry == *'"phase":"data"'* ]]
	ok "$((! $?))" "case3: its journal has web-3 in phase data ($jentry)"
	migrate_failed case3
	before=$(nevents recovered)
	svmigd_start "$RES/svmigd-3.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-3.log")"
	grep -q '^svmigd: recover: vm web-3: the migration to host-b was in DATA' "$RES/svmigd-3.log" &&
		grep -q '^svmigd: recover: the source VM \(was .*: resumed it\|is running\)' "$RES/svmigd-3.log"
	ok "$((! $?))" \
		"case3: the restarted svmigd found web-3 in its journal and resumed it ($(grep 'recover: the source' "$RES/svmigd-3.log"))" \
		"$(cat "$RES/svmigd-3.log")"
	src_runs_on case3
	(($(nevents recovered) == before + 1))
	ok "$((! $?))" "case3: the host-a audit log records the recovery" \
		"$(tail -n 2 "$STATE/audit.log" 2>&1)"
	st=$("$SVMIGCTL" status --config "$T/svmigd.conf" --json 2>&1)
	[[ $st == *'"unsettled":[]'* && -z $(ls -A "$STATE/journal" 2>/dev/null) ]]
	ok "$((! $?))" "case3: nothing unsettled in the journal (svmigctl status)" "$st"
	svmig_rdv_post case3-done

	# ---- 4: in doubt after the COMMIT; host-b resumed: its OUTCOME settles it
	svmig_rdv_wait case4-ready >/dev/null || bail "case4: host-b's destination QEMU"
	if qemu_start src4 --guest --mem 64 --append "pages=512 burst=128" &&
		qemu_wait_serial src4 '^selfcheck ok iter=2 ' 120 && ! qemu_guest_failed src4; then
		ok 1 "case4: a second source VM runs the self-checking guest (web-4)"
	else
		bail "case4: a second source VM (web-4)" "$(qemu_dump_logs src4 2>&1)"
	fi
	ln -sf "$(qemu_qmp_sock src4 2)" "$QMPDIR/web-4.qmp"
	# The failpoint kills svmigd right after its COMMIT is on the socket:
	# no race with host-b's RESUMED, however busy the machine.
	svmigd_stop
	SVMIGD_FAILPOINT=after-commit svmigd_start "$RES/svmigd-3f.log" ||
		bail "svmigd restarts with a failpoint" "$(tail -n 5 "$RES/svmigd-3f.log")"
	step "case 4: migrate web-4; host-a's svmigd dies once its COMMIT left (failpoint)"
	commits=$(nevents commit)
	migrate_bg case4 web-4
	failpoint_died case4 after-commit "$RES/svmigd-3f.log"
	jentry=$(cat "$STATE/journal/web-4.json" 2>&1)
	(($(nevents commit) > commits)) && [[ $jentry == *'"phase":"commit"'* ]]
	ok "$((! $?))" "case4: host-a audited its COMMIT, web-4 is in phase commit" "$jentry"
	migrate_failed case4
	svmig_rdv_post case4-killed
	svmig_rdv_wait case4-resumed 120 >/dev/null || bail "case4: host-b resumes web-4"
	st=$(qemu_qmp src4 query-status 2>&1)
	[[ -n $st && $(qemu_json_str "$st" status) != running ]]
	ok "$((! $?))" "case4: meanwhile the source copy waits, paused" "$st"
	svmigd_start "$RES/svmigd-4.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-4.log")"
	settled case4 "$RES/svmigd-4.log" resumed
	wait_gone src4
	! qemu_alive src4
	ok "$((! $?))" "case4: the source QEMU quit: one copy runs, host-b's"
	svmig_rdv_post case4-done

	# ---- 5: in doubt after the COMMIT, which never reached host-b
	svmig_rdv_wait case5-ready >/dev/null || bail "case5: host-b's destination QEMU"
	svmigd_stop
	SVMIGD_FAILPOINT=before-commit svmigd_start "$RES/svmigd-4f.log" ||
		bail "svmigd restarts with a failpoint" "$(tail -n 5 "$RES/svmigd-4f.log")"
	step "case 5: migrate web-5; host-a's svmigd dies before its COMMIT leaves (failpoint)"
	commits=$(nevents commit)
	migrate_bg case5 web-5
	failpoint_died case5 before-commit "$RES/svmigd-4f.log"
	jentry=$(cat "$STATE/journal/web-5.json" 2>&1)
	[[ $jentry == *'"phase":"commit"'* ]] && (($(nevents commit) == commits))
	ok "$((! $?))" "case5: web-5 is in phase commit, no COMMIT audited (none sent)" "$jentry"
	migrate_failed case5
	svmig_rdv_post case5-killed
	svmig_rdv_wait case5-restarted 120 >/dev/null || bail "case5: host-b's svmigd restarts"
	svmigd_start "$RES/svmigd-5.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-5.log")"
	settled case5 "$RES/svmigd-5.log" not-committed
	src_runs_on case5
	svmig_rdv_post case5-done

	# ---- 6: host-b's PCR 7 is not the reference
	svmig_rdv_wait case6-ready >/dev/null || bail "case6: host-b's destination QEMU"
	step "case 6: host-b's PCR 7 is off the policy's reference"
	before=$(nfail)
	data_before=$(nevents data)
	s=$SECONDS
	migrate case6 web-6
	step "case 6: svmigctl exit $rc after $((SECONDS - s)) s"
	[[ $rc == 1 ]]
	ok "$((! $?))" "case6: svmigctl migrate is refused" "exit $rc"
	grep -qi 'pcr' "$RES/case6.txt"
	ok "$((! $?))" \
		"case6: the refusal names the PCRs ($(grep '^result:' "$RES/case6.txt"))" \
		"$(cat "$RES/case6.txt")"
	! grep -q "^data:" "$RES/case6.txt" && [[ $(nevents data) == "$data_before" ]]
	ok "$((! $?))" \
		"case6: no DATA step began on host-a"
	src_runs_on case6
	audit_failed case6 "$before"
	svmig_rdv_post case6-done

# ================================================================ host-b
else
	dst_start case1 web-1
	svmig_rdv_wait case1-done 400 >/dev/null || bail "host-a's case 1"
	before=$(grep -c '^svmigd: DATA failed' "$RES/svmigd.log")
	((before == 1))
	ok "$((! $?))" \
		"case1: host-b's svmigd failed DATA ($(grep '^svmigd: DATA failed' "$RES/svmigd.log"))"
	dst_not_running case1
	dmesg | grep -i svmig | tail -n 5 | sed 's/^/# dmesg: /'
	audit_failed case1 0

	# ---- 2: our svmigd dies at its failpoint in DATA
	svmigd_stop
	SVMIGD_FAILPOINT=$FP_DATA svmigd_start "$RES/svmigd-1f.log" ||
		bail "svmigd restarts with a failpoint" "$(tail -n 5 "$RES/svmigd-1f.log")"
	before=$(nfail)
	dst_start case2 web-2
	failpoint_died case2 "$FP_DATA" "$RES/svmigd-1f.log"
	step "case 2: svmigd died: ${fp_line#svmigd: }"
	[[ $fp_line == *' records accepted, QEMU: '* ]]
	ok "$((! $?))" \
		"case2: it died as the target, in DATA (before it verified)" "$fp_line"
	svmig_rdv_wait case2-done 400 >/dev/null || bail "host-a's case 2"
	wait_gone case2
	dst_not_running case2
	[[ $(nfail) == "$before" ]]
	ok "$((! $?))" \
		"case2: (host-b's audit log has no failure record: its svmigd was killed)"
	svmigd_start "$RES/svmigd-2.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-2.log")"

	# ---- 3: host-a's svmigd is killed; ours sees its control connection
	# go, and gets no COMMIT
	before=$(nfail)
	dst_start case3 web-3
	svmig_rdv_wait case3-done 400 >/dev/null || bail "host-a's case 3"
	wait_gone case3
	dst_not_running case3
	grep -q "session with host-a for vm web-3" "$RES/svmigd-2.log"
	ok "$((! $?))" "case3: host-b's svmigd had begun DATA for web-3"
	audit_failed case3 "$before"

	# ---- 4: host-a's svmigd dies after its COMMIT (its failpoint)
	dst_start case4 web-4
	svmig_rdv_wait case4-killed 400 >/dev/null || bail "host-a's case 4"
	st=
	for _ in $(seq 300); do
		st=$(qemu_qmp case4 query-status 2>&1)
		[[ $(qemu_json_str "$st" status) == running ]] && break
		sleep 0.1
	done
	[[ $(qemu_json_str "$st" status) == running ]] && [[ $(nevents resumed) -ge 1 ]]
	ok "$((! $?))" "case4: host-b took the COMMIT and resumed web-4" "$st"
	svmig_rdv_post case4-resumed
	svmig_rdv_wait case4-done 400 >/dev/null || bail "host-a's case 4"
	grep -q 'QUERY: host-a asked how session .* (vm web-4) ended here: resumed' "$RES/svmigd-2.log"
	ok "$((! $?))" "case4: host-b answered host-a's QUERY: resumed" \
		"$(grep QUERY "$RES/svmigd-2.log")"
	st=$(qemu_qmp case4 query-status 2>&1)
	[[ $(qemu_json_str "$st" status) == running ]] && ! qemu_guest_failed case4
	ok "$((! $?))" "case4: web-4 runs here, and only here" "$st"
	qemu_qmp case4 quit >/dev/null 2>&1	# its CPU is wanted for the rest

	# ---- 5: host-a's svmigd dies before its COMMIT leaves
	commits=$(nevents commit)
	discards=$(grep -c 'the source keeps its copy: discarding ours' "$RES/svmigd-2.log")
	dst_start case5 web-5
	svmig_rdv_wait case5-killed 400 >/dev/null || bail "host-a's case 5"
	# Ours, waiting for the COMMIT, sees the connection end and discards
	# its copy; once svmigctl status answers, that session is over.
	for _ in $(seq 600); do
		(($(grep -c 'the source keeps its copy: discarding ours' "$RES/svmigd-2.log") > discards)) &&
			"$SVMIGCTL" status --config "$T/svmigd.conf" --json >/dev/null 2>&1 && break
		sleep 0.1
	done
	line=$(grep 'the source keeps its copy: discarding ours' "$RES/svmigd-2.log" | tail -n 1)
	(($(grep -c 'the source keeps its copy: discarding ours' "$RES/svmigd-2.log") > discards))
	ok "$((! $?))" "case5: host-b's svmigd, waiting for the COMMIT, discarded its copy (${line#svmigd: })" \
		"$(tail -n 5 "$RES/svmigd-2.log")"
	[[ $(nevents commit) == "$commits" ]]
	ok "$((! $?))" "case5: host-b never took a COMMIT"
	svmigd_kill	# its successor answers host-a's QUERY from the audit log
	svmigd_start "$RES/svmigd-5.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-5.log")"
	svmig_rdv_post case5-restarted
	svmig_rdv_wait case5-done 400 >/dev/null || bail "host-a's case 5"
	grep -q 'QUERY: host-a asked how session .* (vm web-5) ended here: not-committed' \
		"$RES/svmigd-5.log"
	ok "$((! $?))" "case5: host-b answered host-a's QUERY: not-committed" \
		"$(cat "$RES/svmigd-5.log")"
	dst_not_running case5
	qemu_qmp case5 quit >/dev/null 2>&1

	# ---- 6
	out=$(tpm2_pcrextend -T "$TCTI" "7:sha256=$(printf t2_failures | sha256sum | cut -d' ' -f1)" 2>&1)
	ok "$((! $?))" "case6: tpm2_pcrextend PCR 7 on host-b's TPM" "$out"
	now=$("$SVMIGCTL" tpm-ak --tcti "$TCTI" --pcrs 0,7 --json 2>&1)
	[[ $(svmigd_jfield "$now" 7) != "$(svmigd_jfield "$svmigd_ak" 7)" ]]
	ok "$((! $?))" \
		"case6: PCR 7 now differs from the policy's reference" "$now"
	before=$(nfail)
	dst_start case6 web-6
	svmig_rdv_wait case6-done 400 >/dev/null || bail "host-a's case 6"
	st=$(qemu_qmp case6 query-status 2>&1)
	[[ $st == *'"inmigrate"'* ]]
	ok "$((! $?))" \
		"case6: the destination QEMU still waits, nothing received (inmigrate)" "$st"
	! grep -q "session with host-a for vm web-6" "$RES/svmigd-5.log"
	ok "$((! $?))" \
		"case6: host-b's svmigd never began DATA ($(grep 'session refused or failed' "$RES/svmigd-5.log" | tail -n 1))"
	dst_not_running case6
	audit_failed case6 "$before"
fi

# ------------------------------------------------------------------ audit
"$SVMIGCTL" audit verify --log "$STATE/audit.log" --cert "$P/$SVMIG_HOST.pem" \
	>"$T/audit.txt" 2>&1
ok "$((! $?))" "svmigctl audit verify: $(cat "$T/audit.txt")"
for f in "$RES"/svmigd*.log; do
	echo "# ${f##*/}:"
	sed 's/^/#   /' "$f"
done
finish
