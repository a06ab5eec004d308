#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Two-host recovery that cannot split the VM (make check, phase 8b): the
# script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_recovery.sh --timeout 900
# run (SVMIG_HOST says which).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".  Setup as t2_failures.sh; host-a runs a
# self-checking source VM reachable as web-r1 and web-r2, host-b starts one
# destination QEMU per case:
#
#   r1. the destination QEMU is started WITHOUT -S (-incoming defer only:
#       it does not imply -S) and host-b's svmigd, restarted with
#       SVMIGD_FAILPOINT=before-verify, dies by SIGKILL once QEMU has
#       loaded the whole stream, before the END is verified: the guest
#       must not run there (svmigd sent QMP stop while it was incoming);
#       host-a gets no receipt and its VM runs on;
#   r2. a lying target: host-b's svmigd with SVMIGD_FAILPOINT=
#       receipt-miscount signs an "ok" receipt counting one record more
#       than it received (its destination QEMU again without -S, so this
#       case also shows such a QEMU verified and paused): host-a refuses
#       the receipt (counts differ from what it sent), sends no COMMIT and
#       its VM runs on; host-b discards its copy;
#   r3. host-b's svmigd, with SVMIGD_FAILPOINT=before-cont, dies after it
#       took the COMMIT and wrote "resumed" to its journal, before its QMP
#       cont: host-a is in doubt, its second source VM (web-r3) paused.
#       host-a's svmigd restarts while web-r3's QMP socket is missing and
#       host-b's svmigd is down: the entry stays in doubt (a QMP failure
#       settles nothing).  Then host-b's svmigd restarts, reads its
#       journal and resumes web-r3; host-a's restarts, still without the
#       QMP socket: host-b answers "resumed", but the entry stays (its
#       copy cannot be quit); restarted with it, host-a asks again (QUERY
#       with a fresh nonce), gets a signed "resumed" and quits its copy;
#   r4. an operator settles an entry in doubt by hand: a journal entry of
#       web-r4 (phase commit, a session host-b never had) and a paused
#       QEMU for it; svmigctl status lists it, svmigctl settle --vm web-r4
#       --outcome not-committed resumes the VM, removes the entry and is
#       audited; settle of a VM with no entry is refused.
# The failpoints (svmigd.8, ENVIRONMENT) make each kill land at the same
# point every run: no sleep before a kill.  Each host ends with audit
# verify and t2-tap.sh's host checks.
# Logs: $SVMIG_RESULTS_DIR/{svmigd*.log,audit.log,r*.txt,...}.
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

T=$(mktemp -d /tmp/t2r.XXXXXX)
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
nevents() {
	local c
	c=$(grep -c "\"event\":\"$1\"" "$STATE/audit.log" 2>/dev/null)
	echo "${c:-0}"
}
status_of() { qemu_json_str "$(qemu_qmp "$1" query-status 2>&1)" status; }

# src_runs_on CASE VM: that source QEMU runs and its guest self-checks on
src_runs_on() {
	local st it
	st=$(qemu_qmp "$2" query-status 2>&1)
	[[ $(qemu_json_str "$st" status) == running ]]
	ok "$((! $?))" "$1: the source VM runs (query-status)" "$st"
	it=$(qemu_guest_iter "$2")
	if [[ -n $it ]] && qemu_wait_serial "$2" "^selfcheck (ok iter=$((it + 2)) |FAIL)" 120 &&
		! qemu_guest_failed "$2"; then
		ok 1 "$1: its guest keeps passing self-checks (iteration $it, then $((it + 2)))"
	else
		ok 0 "$1: its guest keeps passing self-checks" "$(qemu_dump_logs "$2" 2>&1)"
	fi
}
# migrate CASE VM: alice's request for VM, svmigctl migrate into $RES/CASE.txt; sets rc
migrate() {
	"$SVMIGCTL" request --vm "$2" --source host-a --target host-b --mem 64 \
		--vcpus 1 --cert "$P/alice.pem" --key "$P/alice.key" --out "$T/req-$2.json" ||
		{ rc=2; return; }
	timeout 300 "$SVMIGCTL" migrate --config "$T/svmigd.conf" \
		--request "$T/req-$2.json" >"$RES/$1.txt" 2>&1
	rc=$?
	sed 's/^/#   /' "$RES/$1.txt"
}
# dst_start CASE VM [no-S]: a destination QEMU named CASE waiting for VM;
# with no-S, "-incoming defer" without -S (QEMU would autostart the guest)
dst_start() {
	local -a how=(--incoming)
	[[ ${3:-} == no-S ]] && how=(-- -incoming defer)
	if qemu_start "$1" --guest --mem 64 "${how[@]}"; then
		ln -sf "$(qemu_qmp_sock "$1" 2)" "$QMPDIR/$2.qmp"
	else
		bail "$1: destination QEMU waits" "$(qemu_dump_logs "$1" 2>&1)"
	fi
}
# failpoint_died CASE POINT LOG: our svmigd dies at its failpoint (300 s at most)
failpoint_died() {
	local _ fp_line
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
wait_gone() {
	local _
	for _ in $(seq 100); do
		qemu_alive "$1" || break
		sleep 0.1
	done
}
unsettled() { "$SVMIGCTL" status --config "$T/svmigd.conf" --json 2>&1; }

echo "# t2_recovery on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)"

# ------------------------------------------------------------------ setup
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "$out"
[[ -x build/svmigd && -x $SVMIGCTL ]] || bail "build/svmigd, build/svmigctl built"
mkdir -p "$STATE" "$QMPDIR" "$P"
svmigd_setup_trust >"$T/trust.txt" || bail "PKI, AKs and signed policy" "$(cat "$T/trust.txt")"
svmigd_start "$RES/svmigd.log" || bail "svmigd starts" "$(tail -n 5 "$RES/svmigd.log")"
ok 1 "setup: PKI, policy, svmigd runs"
# TCG, as t2_failures.sh (nested KVM froze host-a there)
QEMU_ACCEL=tcg
qemu_lib_init || bail "qemu_lib_init"

# ================================================================ host-a
if [[ $SVMIG_HOST == host-a ]]; then
	if qemu_start src --guest --mem 64 --append "pages=512 burst=128" &&
		qemu_wait_serial src '^selfcheck ok iter=2 ' 120 && ! qemu_guest_failed src; then
		ok 1 "source QEMU runs the self-checking guest"
	else
		bail "source QEMU runs the self-checking guest" "$(qemu_dump_logs src 2>&1)"
	fi
	for vm in web-r1 web-r2; do
		ln -s "$(qemu_qmp_sock src 2)" "$QMPDIR/$vm.qmp"
	done

	# ---- r1: host-b's svmigd dies before verifying; its QEMU has no -S
	svmig_rdv_wait r1-ready >/dev/null || bail "r1: host-b ready"
	step "r1: migrate web-r1; host-b's svmigd dies before it verifies"
	migrate r1 web-r1
	[[ $rc == 1 ]]
	ok "$((! $?))" "r1: svmigctl migrate reports failure" "exit $rc"
	src_runs_on r1 src
	svmig_rdv_post r1-done

	# ---- r2: host-b's "ok" receipt counts one record more than was sent
	svmig_rdv_wait r2-ready >/dev/null || bail "r2: host-b ready"
	step "r2: migrate web-r2 to a target that miscounts its receipt"
	refused=$(nevents refused)
	commits=$(nevents commit)
	migrate r2 web-r2
	[[ $rc == 1 ]]
	ok "$((! $?))" "r2: svmigctl migrate reports failure" "exit $rc"
	line=$(grep -o 'receipt refused: it counts [0-9]* records and [0-9]* bytes, but [0-9]* records and [0-9]* bytes were sent' "$RES/r2.txt" | head -n 1)
	got=0 sent=0
	[[ $line =~ counts\ ([0-9]+)\ records.*but\ ([0-9]+)\ records ]] &&
		got=${BASH_REMATCH[1]} sent=${BASH_REMATCH[2]}
	((sent > 0 && got == sent + 1))
	ok "$((! $?))" "r2: host-a refused the receipt ($line)" "$(cat "$RES/r2.txt")"
	(($(nevents refused) > refused)) && (($(nevents commit) == commits)) &&
		grep '"event":"refused"' "$STATE/audit.log" | tail -n 1 | grep -q 'it counts'
	ok "$((! $?))" "r2: host-a audited the refusal and sent no COMMIT" \
		"$(tail -n 3 "$STATE/audit.log")"
	src_runs_on r2 src
	svmig_rdv_post r2-done

	# ---- r3: host-b dies between its journal's "resumed" and its cont
	if qemu_start src3 --guest --mem 64 --append "pages=512 burst=128" &&
		qemu_wait_serial src3 '^selfcheck ok iter=2 ' 120 && ! qemu_guest_failed src3; then
		ok 1 "r3: a second source VM runs the self-checking guest (web-r3)"
	else
		bail "r3: a second source VM (web-r3)" "$(qemu_dump_logs src3 2>&1)"
	fi
	ln -sf "$(qemu_qmp_sock src3 2)" "$QMPDIR/web-r3.qmp"
	svmig_rdv_wait r3-ready >/dev/null || bail "r3: host-b ready"
	step "r3: migrate web-r3; host-b's svmigd dies before its cont"
	migrate r3 web-r3
	jentry=$(cat "$STATE/journal/web-r3.json" 2>&1)
	[[ $rc == 1 ]] && grep -q 'IN DOUBT' "$RES/r3.txt" && [[ $jentry == *'"phase":"commit"'* ]]
	ok "$((! $?))" "r3: host-a is in doubt, web-r3 in phase commit" "exit $rc" "$jentry"
	st=$(status_of src3)
	[[ -n $st && $st != running ]]
	ok "$((! $?))" "r3: the source copy waits, $st"
	svmig_rdv_post r3-indoubt
	svmig_rdv_wait r3-killed >/dev/null || bail "r3: host-b's svmigd killed"
	# a restart that cannot reach web-r3's QEMU nor host-b settles nothing
	rm -f "$QMPDIR/web-r3.qmp"
	settled=$(nevents settled)
	svmigd_stop
	svmigd_start "$RES/svmigd-r3a.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-r3a.log")"
	st=$(unsettled)
	[[ -f $STATE/journal/web-r3.json && $st == *'"vm":"web-r3"'* ]] &&
		(($(nevents settled) == settled)) &&
		grep -q 'journal: vm web-r3: IN DOUBT' "$RES/svmigd-r3a.log" &&
		tail -n 1 "$STATE/audit.log" | grep -q '"event":"in-doubt"'
	ok "$((! $?))" "r3: no QMP and no answer: web-r3 stays in doubt, audited (svmigctl status lists it)" \
		"$st" "$(cat "$RES/svmigd-r3a.log")" "$(tail -n 2 "$STATE/audit.log")"
	out=$("$SVMIGCTL" settle --config "$T/svmigd.conf" --vm web-r1 --outcome resumed 2>&1)
	rc=$?
	[[ $rc == 1 && $out == *'vm web-r1 has no unsettled migration'* ]]
	ok "$((! $?))" "r3: svmigctl settle of a VM with nothing in doubt is refused ($out)" "exit $rc"
	svmig_rdv_post r3-checked
	svmig_rdv_wait r3-recovered 300 >/dev/null || bail "r3: host-b recovers web-r3"
	# host-b answers now, but web-r3's QEMU still cannot be reached: the
	# answer cannot be carried out, so the entry stays
	settled=$(nevents settled)
	svmigd_stop
	svmigd_start "$RES/svmigd-r3b.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-r3b.log")"
	grep -q "signed OUTCOME says resumed for vm web-r3, but the source QEMU cannot be reached" \
		"$RES/svmigd-r3b.log" && [[ -f $STATE/journal/web-r3.json ]] &&
		(($(nevents settled) == settled)) && qemu_alive src3
	ok "$((! $?))" "r3: host-b says resumed, web-r3's QEMU unreachable: the entry stays, the copy is kept" \
		"$(cat "$RES/svmigd-r3b.log")"
	ln -sf "$(qemu_qmp_sock src3 2)" "$QMPDIR/web-r3.qmp"
	svmigd_stop
	svmigd_start "$RES/svmigd-r3c.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-r3c.log")"
	grep -q "^svmigd: recover: vm web-r3: in doubt, then host-b's signed OUTCOME said resumed" \
		"$RES/svmigd-r3c.log" && tail -n 1 "$STATE/audit.log" | grep -q '"event":"settled"'
	ok "$((! $?))" "r3: the restarted svmigd asked host-b: resumed, and audited the settlement" \
		"$(cat "$RES/svmigd-r3c.log")" "$(tail -n 2 "$STATE/audit.log")"
	wait_gone src3
	st=$(unsettled)
	! qemu_alive src3 && [[ $st == *'"unsettled":[]'* ]]
	ok "$((! $?))" "r3: the source QEMU quit, nothing unsettled: one copy runs, host-b's" "$st"
	svmig_rdv_post r3-done

	# ---- r4: an operator settles by hand
	step "r4: an entry in doubt, settled with svmigctl settle"
	if qemu_start r4src --mem 64 --paused; then
		ln -sf "$(qemu_qmp_sock r4src 2)" "$QMPDIR/web-r4.qmp"
	else
		bail "r4: a paused QEMU for web-r4" "$(qemu_dump_logs r4src 2>&1)"
	fi
	printf '{"vm":"web-r4","peer":"host-b","operator":"alice","session":"%s","phase":"commit","was_running":true,"time":%s}' \
		"$(openssl rand -hex 16)" "$(date +%s)" >"$STATE/journal/web-r4.json"
	st=$(unsettled)
	qst=$(status_of r4src)	# -S: prelaunch, never started
	[[ $st == *'"vm":"web-r4"'* && ($qst == prelaunch || $qst == paused) ]]
	ok "$((! $?))" "r4: svmigctl status lists web-r4 in doubt, its QEMU not running ($qst)" "$st"
	# the review thread may hold the VM for a moment: ask again then
	for _ in 1 2 3 4 5; do
		out=$("$SVMIGCTL" settle --config "$T/svmigd.conf" --vm web-r4 \
			--outcome not-committed 2>&1)
		rc=$?
		[[ $out == *'being settled, now'* ]] || break
		sleep 1
	done
	[[ $rc == 0 && $out == 'settled: vm web-r4, not-committed'* ]]
	ok "$((! $?))" "r4: svmigctl settle --outcome not-committed ($out)" "exit $rc"
	st=$(unsettled)
	[[ $(status_of r4src) == running && ! -e $STATE/journal/web-r4.json &&
		$st == *'"unsettled":[]'* ]]
	ok "$((! $?))" "r4: the VM runs again (it ran before), the entry is gone" "$st"
	tail -n 1 "$STATE/audit.log" | grep '"event":"settled"' |
		grep -q 'settled by an operator (uid 0, pid [0-9]*) as not-committed'
	ok "$((! $?))" "r4: the settlement is audited with who asked" "$(tail -n 1 "$STATE/audit.log")"
	qemu_qmp r4src quit >/dev/null 2>&1
	svmig_rdv_post r4-done

# ================================================================ host-b
else
	# ---- r1
	svmigd_stop
	SVMIGD_FAILPOINT=before-verify svmigd_start "$RES/svmigd-r1f.log" ||
		bail "svmigd restarts with a failpoint" "$(tail -n 5 "$RES/svmigd-r1f.log")"
	dst_start r1 web-r1 no-S
	! grep -q -- ' -S ' "$QEMU_LIB_DIR/r1/cmdline"
	ok "$((! $?))" "r1: the destination QEMU has no -S" "$(cat "$QEMU_LIB_DIR/r1/cmdline")"
	svmig_rdv_post r1-ready
	failpoint_died r1 before-verify "$RES/svmigd-r1f.log"
	st=$(qemu_qmp r1 query-status 2>&1)
	[[ $(qemu_json_str "$st" status) == paused ]]
	ok "$((! $?))" "r1: the stream loaded, not verified: the guest does not run (QMP stop while incoming)" "$st"
	svmig_rdv_wait r1-done 400 >/dev/null || bail "host-a's r1"
	qemu_qmp r1 quit >/dev/null 2>&1

	# ---- r2
	SVMIGD_FAILPOINT=receipt-miscount svmigd_start "$RES/svmigd-r2.log" ||
		bail "svmigd restarts with a failpoint" "$(tail -n 5 "$RES/svmigd-r2.log")"
	dst_start r2 web-r2 no-S
	svmig_rdv_post r2-ready
	svmig_rdv_wait r2-done 400 >/dev/null || bail "host-a's r2"
	grep -q 'vm web-r2 verified; receipt sent' "$RES/svmigd-r2.log"
	ok "$((! $?))" "r2: host-b verified the END with a destination QEMU without -S" \
		"$(cat "$RES/svmigd-r2.log")"
	for _ in $(seq 100); do
		grep -q 'it counts .*discarding ours' "$RES/svmigd-r2.log" && break
		sleep 0.1
	done
	grep -q 'it counts .*discarding ours' "$RES/svmigd-r2.log"
	ok "$((! $?))" "r2: host-a's refusal reached host-b, which discarded its copy ($(grep -o 'refused by host-a: .*' "$RES/svmigd-r2.log" | head -n 1))" \
		"$(tail -n 5 "$RES/svmigd-r2.log")"
	wait_gone r2
	st=exited
	qemu_alive r2 && st=$(status_of r2)
	[[ $st != running ]]
	ok "$((! $?))" "r2: nothing runs on host-b (destination QEMU: $st)"
	svmigd_stop

	# ---- r3
	SVMIGD_FAILPOINT=before-cont svmigd_start "$RES/svmigd-r3f.log" ||
		bail "svmigd restarts with a failpoint" "$(tail -n 5 "$RES/svmigd-r3f.log")"
	dst_start r3 web-r3
	svmig_rdv_post r3-ready
	failpoint_died r3 before-cont "$RES/svmigd-r3f.log"
	jentry=$(cat "$STATE/journal-target/web-r3.json" 2>&1)
	st=$(status_of r3)
	[[ $jentry == *'"phase":"resumed"'* && $jentry == *'"peer":"host-a"'* && $st == paused ]]
	ok "$((! $?))" "r3: host-b's journal says resumed before its cont; the VM is $st" "$jentry"
	svmig_rdv_post r3-killed
	svmig_rdv_wait r3-checked 400 >/dev/null || bail "host-a's r3 checks"
	svmigd_start "$RES/svmigd-r3.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-r3.log")"
	grep -q "^svmigd: recover: vm web-r3: svmigd restarted between its journal's RESUMED" \
		"$RES/svmigd-r3.log" && [[ $(status_of r3) == running ]] &&
		[[ -z $(ls -A "$STATE/journal-target" 2>/dev/null) ]] &&
		tail -n 1 "$STATE/audit.log" | grep '"event":"resumed"' | grep -q '"step":"restart"'
	ok "$((! $?))" "r3: the restarted svmigd read its journal and resumed web-r3 (audited, entry gone)" \
		"$(cat "$RES/svmigd-r3.log")" "$(tail -n 2 "$STATE/audit.log")"
	svmig_rdv_post r3-recovered
	svmig_rdv_wait r3-done 400 >/dev/null || bail "host-a's r3"
	grep -q 'QUERY: host-a asked how session .* (vm web-r3) ended here: resumed' "$RES/svmigd-r3.log"
	ok "$((! $?))" "r3: host-b answered host-a's QUERY: resumed" "$(grep QUERY "$RES/svmigd-r3.log")"
	[[ $(status_of r3) == running ]] && ! qemu_guest_failed r3
	ok "$((! $?))" "r3: web-r3 runs here, and only here"
	qemu_qmp r3 quit >/dev/null 2>&1
	svmig_rdv_wait r4-done 400 >/dev/null || bail "host-a's r4"
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
