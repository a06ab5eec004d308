#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Two-host migration through svmigd: the script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_migrate.sh --timeout 600
# run (SVMIG_HOST says which).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".
#
#   - host-a makes a test PKI with openssl (two provider CAs: host-a's and
#     host-b's certificates; an operator CA with alice and bob; a policy
#     authority) in its results directory, which host-b reads over 9p (so
#     host-a knows host-b's key: a test shortcut);
#   - each host reads its TPM's AK digest and PCRs 0 and 7 (svmigctl tpm-ak)
#     and posts them; host-a writes policy.json (alice: role migrator,
#     web-* from host-a to host-b; bob: role local, host-a to host-a only)
#     and signs it (openssl dgst -sha256 -sign authority.key);
#   - both start svmigd (control :7400, data :7401); host-b starts a
#     destination QEMU (-incoming defer), host-a the running self-checking
#     test guest; each links its QMP socket as <qmp-dir>/web-1.qmp;
#   - host-a: svmigctl attest host-b --json: host-b's quote is trusted,
#     with the AK and PCRs host-b's own TPM reported; a host the policy
#     does not know is refused;
#   - host-a: bob's request is refused (role) and the source VM runs on;
#     alice's request migrates web-1: svmigctl migrate succeeds (its
#     output, not a TTY, has progress lines with QEMU's figures and a
#     summary), the source QEMU quits; web-2, which host-b has no QEMU for,
#     fails after the
#     session and its source VM runs on; alice's first request again is
#     refused by host-b (replay), and again once host-b's svmigd restarted
#     (its replay cache refilled from its audit log);
#   - host-b: the destination runs and its guest keeps passing self-checks;
#     its audit log records that it answered host-a's attestation;
#   - vTPM (svmigd.conf's vtpm_dir = $T/vtpm/%s on both hosts; web-1's
#     QEMUs have a vTPM, swtpm): host-a's svmigd holds web-1's vTPM state
#     in vtpm/web-1 (swtpm_setup --vmid web-1), but web-1's QEMU runs with
#     another vTPM state: that state arrives on host-b, whose svmigd finds
#     it is not the one host-a declared, refuses it (a failed receipt
#     naming the vTPM) and discards its copy; the source VM runs on.  Then
#     vtpm/web-1 is the QEMU's own state: alice's migration succeeds,
#     host-b verified the vTPM state that arrived (its digest is host-a's,
#     its file is byte for byte host-a's at the stop) and host-a destroyed
#     its copy after the handover (no tpm2-00.permall left, audited);
#   - both: the audit log verifies (svmigctl audit verify).
# Logs: $SVMIG_RESULTS_DIR/{svmigd.log,audit.log,migrate*.txt,...}.
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

VM=web-1
T=$(mktemp -d /tmp/t2m.XXXXXX)
STATE=$T/state
QMPDIR=$T/qmp

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



echo "# t2_migrate on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)"

# ------------------------------------------------------------ environment
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "${out:-}"
ok 1 "/dev/svmig present"
[[ -x $SVMIGD && -x $SVMIGCTL ]] || bail "build/svmigd and build/svmigctl built (make userspace)"
mkdir -p "$STATE" "$QMPDIR" "$T/pki"

# -------------------------------------------------------------------- PKI
svmigd_trust_pki >"$T/trust.txt" || bail "test PKI made with openssl, shared" "$(cat "$T/trust.txt")"
[[ $SVMIG_HOST == host-a ]] && ok 1 "test PKI made with openssl"

# ---------------------------------------------------------- TPM and policy
svmigd_trust_ak >"$T/trust.txt" ||
	bail "svmigctl tpm-ak: AK digest and PCRs 0, 7 of our TPM" "$(cat "$T/trust.txt")"
ok 1 "svmigctl tpm-ak: AK digest and PCRs 0, 7 of our TPM"
echo "# $SVMIG_HOST AK: $svmigd_ak"
peer_ak=$svmigd_peer_ak
svmigd_trust_policy >"$T/trust.txt" ||
	bail "policy.json written and signed by the authority" "$(cat "$T/trust.txt")"
[[ $SVMIG_HOST == host-a ]] && ok 1 "policy.json written and signed by the authority"

out=$("$SVMIGCTL" policy check --policy "$T/policy.json" --sig "$T/policy.json.sig" \
	--authority "$T/pki/authority.pem" --cert "$T/pki/alice.pem" \
	--vm "$VM" --source host-a --target host-b 2>&1)
ok "$([[ $? == 0 && $out == allowed* ]] && echo 1 || echo 0)" "policy check: alice may migrate $VM host-a -> host-b" "$out"
out=$("$SVMIGCTL" policy check --policy "$T/policy.json" --sig "$T/policy.json.sig" \
	--authority "$T/pki/authority.pem" --cert "$T/pki/bob.pem" \
	--vm "$VM" --source host-a --target host-b 2>&1)
ok "$([[ $? == 1 && $out == refused* ]] && echo 1 || echo 0)" "policy check: bob may not ($out)" "$out"

# ----------------------------------------------------------------- svmigd
mkdir -p "$T/vtpm"
SVMIGD_CONF_EXTRA="vtpm_dir = $T/vtpm/%s"
svmigd_start "$RES/svmigd.log" || bail "svmigd starts and answers svmigctl status" "$(tail -n 5 "$RES/svmigd.log")"
ok 1 "svmigd runs: $(cat "$RES/status.json")"

# ------------------------------------------------------------------- QEMU
if [[ $SVMIG_HOST == host-a ]]; then
	qemu_lib_init || bail "qemu_lib_init"
	svmig_rdv_post accel "$QEMU_ACCEL"
	echo "# nested QEMU accel $QEMU_ACCEL ($QEMU_ACCEL_WHY)"
	if qemu_start src --guest --mem 64 --tpm --append "pages=512 burst=128" &&
		qemu_wait_serial src '^selfcheck ok iter=2 ' 120 && ! qemu_guest_failed src; then
		ok 1 "source QEMU runs the self-checking guest"
	else
		bail "source QEMU runs the self-checking guest" "$(qemu_dump_logs src 2>&1)"
	fi
	ln -s "$(qemu_qmp_sock src 2)" "$QMPDIR/$VM.qmp"
	svmig_rdv_wait dst-ready >/dev/null || bail "$SVMIG_PEER's destination QEMU"
else
	QEMU_ACCEL=$(svmig_rdv_wait accel) || bail "host-a's accelerator"
	qemu_lib_init || bail "qemu_lib_init"
	# dst_start: a destination QEMU for web-1, its vTPM web-1's state dir here
	dst_start() {
		if qemu_start dst --guest --mem 64 --tpm --incoming; then
			ok 1 "destination QEMU with a vTPM waits (-incoming defer, accel $QEMU_ACCEL)"
		else
			bail "destination QEMU waits" "$(qemu_dump_logs dst 2>&1)"
		fi
		ln -sfn "$(qemu_qmp_sock dst 2)" "$QMPDIR/$VM.qmp"
		ln -sfn "$(qemu_dir dst)/tpm/state" "$T/vtpm/$VM"
	}
	dst_start
	svmig_rdv_post dst-ready
fi

# ------------------------------------------------------------ attestation
# host-b's quote as host-a's svmigd verifies it, against what host-b's TPM
# itself reported (posted as "ak").
if [[ $SVMIG_HOST == host-a ]]; then
	att=$("$SVMIGCTL" attest host-b --config "$T/svmigd.conf" --json 2>&1)
	rc=$?
	echo "# attest host-b: $att"
	ok "$([[ $rc == 0 && $(jq -r .verdict <<<"$att" 2>/dev/null) == trusted ]] && echo 1 || echo 0)" \
		"svmigctl attest host-b: verdict trusted" "exit $rc: $att"
	want="$(svmigd_jfield "$peer_ak" ak_sha256) $(svmigd_jfield "$peer_ak" 0) $(svmigd_jfield "$peer_ak" 7)"
	got=$(jq -r '[.ak_sha256, (.pcrs[] | select(.match) | .value)] | join(" ")' <<<"$att" 2>/dev/null)
	ok "$([[ $got == "$want" ]] && echo 1 || echo 0)" \
		"attest: host-b's AK digest and PCRs 0, 7 are those its TPM reported" \
		"attest: $got" "host-b: $want"
	att=$("$SVMIGCTL" attest host-c --config "$T/svmigd.conf" 2>&1)
	rc=$?
	ok "$([[ $rc == 1 && $att == *'not a host of the policy'* ]] && echo 1 || echo 0)" \
		"attest host-c (not in the policy) is refused with the reason" "exit $rc: $att"
fi

# -------------------------------------------------------------- migration
if [[ $SVMIG_HOST == host-a ]]; then
	P=$T/pki
	check "svmigctl request (bob)" "$SVMIGCTL" request --vm "$VM" --source host-a \
		--target host-b --mem 64 --vcpus 1 --cert "$P/bob.pem" --key "$P/bob.key" \
		--out "$T/req-bob.json"
	"$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req-bob.json" \
		>"$RES/migrate-bob.txt" 2>&1
	rc=$?
	st=$(qemu_qmp src query-status 2>&1)
	ok "$([[ $rc == 1 && $(qemu_json_str "$st" status) == running ]] && echo 1 || echo 0)" \
		"bob's request is refused, the source VM runs on" \
		"svmigctl exit $rc: $(tail -n 3 "$RES/migrate-bob.txt")" "$st"
	grep -q 'does not allow target' "$RES/migrate-bob.txt"
	ok "$((! $?))" "the refusal names the rule" "$(tail -n 2 "$RES/migrate-bob.txt")"

	# vTPM from another VM: web-1's own state is in vtpm/web-1, but its
	# QEMU runs with another one (the one qemu-lib's swtpm made).
	swtpm_setup --tpm2 --tpmstate "$T/web-1-vtpm" --vmid web-1 --createek \
		--overwrite >"$RES/swtpm_setup.txt" 2>&1 ||
		{ mkdir -p "$T/web-1-vtpm" && swtpm_setup --tpm2 --tpmstate "$T/web-1-vtpm" \
			--vmid web-1 --createek --overwrite >"$RES/swtpm_setup.txt" 2>&1; }
	ln -sfn "$T/web-1-vtpm" "$T/vtpm/$VM"
	check "web-1's vTPM state made (swtpm_setup --vmid web-1)" test -s "$T/web-1-vtpm/tpm2-00.permall"
	check "svmigctl request (alice, vTPM)" "$SVMIGCTL" request --vm "$VM" --source host-a \
		--target host-b --mem 64 --vcpus 1 --cert "$P/alice.pem" --key "$P/alice.key" \
		--out "$T/req-vtpm.json"
	timeout 300 "$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req-vtpm.json" \
		>"$RES/migrate-vtpm-other.txt" 2>&1
	rc=$?
	sed 's/^/# /' "$RES/migrate-vtpm-other.txt"
	st=$(qemu_qmp src query-status 2>&1)
	ok "$([[ $rc == 1 && $(qemu_json_str "$st" status) == running ]] && echo 1 || echo 0)" \
		"a vTPM state from another VM: host-b refuses it, the source VM runs on" \
		"svmigctl exit $rc: $(tail -n 3 "$RES/migrate-vtpm-other.txt")" "$st"
	grep -q "vTPM state in .* is not the one the source sent" "$RES/migrate-vtpm-other.txt"
	ok "$((! $?))" "the operator sees host-b's reason (the vTPM state is not the one sent)" \
		"$(grep -i vtpm "$RES/migrate-vtpm-other.txt")"
	check "web-1's own vTPM state is kept on host-a" test -s "$T/web-1-vtpm/tpm2-00.permall"
	it=$(qemu_guest_iter src)
	if [[ -n $it ]] && qemu_wait_serial src "^selfcheck (ok iter=$((it + 1)) |FAIL)" 120 &&
		! qemu_guest_failed src; then
		ok 1 "web-1's guest keeps passing self-checks on host-a"
	else
		ok 0 "web-1's guest keeps passing self-checks on host-a" "$(qemu_dump_logs src 2>&1)"
	fi
	svmig_rdv_post vtpm-refused
	svmig_rdv_wait dst-ready2 200 >/dev/null || bail "$SVMIG_PEER's second destination QEMU"
	# now vtpm/web-1 is the state web-1's QEMU runs with
	ln -sfn "$(qemu_dir src)/tpm/state" "$T/vtpm/$VM"

	check "svmigctl request (alice)" "$SVMIGCTL" request --vm "$VM" --source host-a \
		--target host-b --mem 64 --vcpus 1 --cert "$P/alice.pem" --key "$P/alice.key" \
		--out "$T/req-alice.json"
	timeout 300 "$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req-alice.json" \
		>"$RES/migrate-alice.txt" 2>&1
	rc=$?
	sed 's/^/# /' "$RES/migrate-alice.txt"
	ok "$((rc == 0))" "svmigctl migrate: alice's request migrates $VM to host-b" \
		"svmigctl exit $rc"
	grep -Eq '^data: (active|completed): [0-9]+ bytes transferred, [0-9]+ of [0-9]+ bytes remaining' \
		"$RES/migrate-alice.txt"
	ok "$((! $?))" "svmigctl migrate (not a TTY): progress lines with QEMU's figures"
	grep -Eq '^summary: verified: .* verified [0-9]+ records' "$RES/migrate-alice.txt" &&
		grep -Eq '^summary: speed: [0-9]+ bytes in [0-9.]+ s of migration, [0-9.]+ MB/s' \
			"$RES/migrate-alice.txt"
	ok "$((! $?))" "svmigctl migrate: a summary of what was verified and how fast"
	gone=0
	for _ in $(seq 100); do
		qemu_alive src || { gone=1; break; }
		sleep 0.1
	done
	ok "$gone" "the source QEMU quit after the receipt"
	sent=$(jq -r 'select(.event == "vtpm" and .details.step == "sent") | .details.state' \
		"$STATE/audit.log" 2>/dev/null | tail -n 1)
	[[ $sent =~ ^[0-9a-f]{64}$ ]]
	ok "$((! $?))" "host-a sent the digest of web-1's vTPM state (audited): $sent"
	grep -Eq '^vtpm: vTPM state [0-9a-f]{64} sent' "$RES/migrate-alice.txt"
	ok "$((! $?))" "svmigctl migrate shows the vTPM state sent" "$(grep -i vtpm "$RES/migrate-alice.txt")"
	gone=0
	for _ in $(seq 100); do
		[[ ! -e $T/vtpm/$VM/tpm2-00.permall ]] && { gone=1; break; }
		sleep 0.1
	done
	ok "$gone" "host-a destroyed web-1's vTPM state after the handover" \
		"$(ls -la "$T/vtpm/$VM/" 2>&1)"
	# the record follows the unlink (and the directory's fsync): wait for it
	gone=0
	for _ in $(seq 100); do
		# grep, not jq -e: jq stops with an error on a record whose
		# details is not an object, whatever it matched before
		grep '"event":"vtpm"' "$STATE/audit.log" 2>/dev/null |
			grep -q '"step":"destroyed"' && { gone=1; break; }
		sleep 0.1
	done
	ok "$gone" "the destruction is audited" "$(grep '"vtpm"' "$STATE/audit.log")"
	svmig_rdv_post migrated "$sent"

	# A failure after the session: host-b has no QEMU for web-2, so it
	# sends a failed receipt; the source VM must run on.
	if qemu_start src2 --guest --mem 64 --append "pages=512 burst=128" &&
		qemu_wait_serial src2 '^selfcheck ok iter=2 ' 120; then
		ln -s "$(qemu_qmp_sock src2 2)" "$QMPDIR/web-2.qmp"
		# A request that understates the VM's size would slip past the
		# target's admission limits: host-a refuses it before contacting
		# host-b.
		"$SVMIGCTL" request --vm web-2 --source host-a --target host-b --mem 32 \
			--vcpus 1 --cert "$P/alice.pem" --key "$P/alice.key" \
			--out "$T/req-small.json" &&
			"$SVMIGCTL" migrate --config "$T/svmigd.conf" \
				--request "$T/req-small.json" >"$RES/migrate-small.txt" 2>&1
		rc=$?
		st=$(qemu_qmp src2 query-status 2>&1)
		[[ $rc == 1 && $(qemu_json_str "$st" status) == running ]] &&
			grep -Eq 'web-2 has 6[45] MiB of RAM, the request says 32 MiB' \
				"$RES/migrate-small.txt" && ! grep -q '^connect:' "$RES/migrate-small.txt"
		ok "$((! $?))" "web-2: a request that understates its RAM is refused by host-a, the source runs on" \
			"svmigctl exit $rc: $(tail -n 3 "$RES/migrate-small.txt")" "$st"
		"$SVMIGCTL" request --vm web-2 --source host-a --target host-b --mem 64 \
			--vcpus 1 --cert "$P/alice.pem" --key "$P/alice.key" \
			--out "$T/req-web2.json" &&
			timeout 120 "$SVMIGCTL" migrate --config "$T/svmigd.conf" \
				--request "$T/req-web2.json" >"$RES/migrate-web2.txt" 2>&1
		rc=$?
		sed 's/^/# /' "$RES/migrate-web2.txt"
		st=$(qemu_qmp src2 query-status 2>&1)
		it=$(qemu_guest_iter src2)
		ok "$([[ $rc == 1 && $(qemu_json_str "$st" status) == running ]] && echo 1 || echo 0)" \
			"web-2: the target fails (no destination QEMU), the source VM runs on" \
			"svmigctl exit $rc" "$st"
		if [[ -n $it ]] && qemu_wait_serial src2 "^selfcheck (ok iter=$((it + 2)) |FAIL)" 120 &&
			! qemu_guest_failed src2; then
			ok 1 "web-2: its guest keeps passing self-checks on the source"
		else
			ok 0 "web-2: its guest keeps passing self-checks on the source" \
				"$(qemu_dump_logs src2 2>&1)"
		fi
	else
		ok 0 "web-2: a second source VM starts" "$(qemu_dump_logs src2 2>&1)"
	fi

	# web-1 left host-a; a VM by that name (src2's QEMU) lets the replayed
	# request pass host-a's own checks so that host-b sees it.
	ln -sf "$(qemu_qmp_sock src2 2)" "$QMPDIR/$VM.qmp"
	# replay OUT DESC: alice's first request once more, refused as a replay
	replay() {
		"$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req-alice.json" \
			>"$RES/$1" 2>&1
		rc=$?
		ok "$([[ $rc == 1 ]] && grep -q 'replay' "$RES/$1" && echo 1 || echo 0)" \
			"$2" "svmigctl exit $rc: $(tail -n 2 "$RES/$1")"
	}
	replay migrate-replay.txt "the same request again is refused by host-b (replay)"
	svmig_rdv_post replayed
	# host-b restarts its svmigd: its audit log remembers the nonce
	svmig_rdv_wait restarted 120 >/dev/null || bail "host-b's svmigd restarts"
	replay migrate-replay2.txt "and again after host-b's svmigd restarted (replay)"
	svmig_rdv_post replayed2
else
	# the first attempt: a vTPM state from another VM, refused here
	svmig_rdv_wait vtpm-refused 400 >/dev/null || bail "host-a's vTPM attempt"
	jq -e 'select(.event == "failed" and (.details.error // "" | test("vTPM state in .* is not the one the source sent")))' \
		"$STATE/audit.log" >/dev/null 2>&1
	ok "$((! $?))" "host-b refused the vTPM state from another VM (audited)" \
		"$(grep -i vtpm "$STATE/audit.log" | tail -n 3)"
	gone=0
	for _ in $(seq 100); do
		qemu_alive dst || { gone=1; break; }
		sleep 0.1
	done
	ok "$gone" "host-b discarded its copy (the destination QEMU quit)"
	qemu_stop dst
	dst_start
	svmig_rdv_post dst-ready2
	sent=$(svmig_rdv_wait migrated 400) || bail "host-a's migration"
	got=$(jq -r 'select(.event == "vtpm" and .details.step == "verified") | .details.state' \
		"$STATE/audit.log" 2>/dev/null | tail -n 1)
	ok "$([[ $got == "$sent" && $got =~ ^[0-9a-f]{64}$ ]] && echo 1 || echo 0)" \
		"host-b verified the vTPM state that arrived: host-a's digest" "got: $got" "sent: $sent"
	file=$(sha256sum <"$(qemu_dir dst)/tpm/state/tpm2-00.permall" 2>&1 | cut -d' ' -f1)
	ok "$([[ $file == "$sent" ]] && echo 1 || echo 0)" \
		"the destination swtpm's tpm2-00.permall is host-a's state byte for byte" \
		"file: $file" "sent: $sent"
	st=$(qemu_qmp dst query-status 2>&1)
	ok "$([[ $(qemu_json_str "$st" status) == running ]] && echo 1 || echo 0)" "the destination VM runs" "$st"
	first=$(qemu_guest_iter dst)
	if [[ -n $first ]] && qemu_wait_serial dst "^selfcheck (ok iter=$((first + 2)) |FAIL)" 120 &&
		! qemu_guest_failed dst; then
		ok 1 "the destination guest keeps passing self-checks (iteration $first, then $((first + 2)))"
	else
		ok 0 "the destination guest keeps passing self-checks" "$(qemu_dump_logs dst 2>&1)"
	fi
	svmig_rdv_wait replayed 400 >/dev/null
	svmigd_stop
	svmigd_start "$RES/svmigd-2.log" || bail "svmigd restarts" "$(tail -n 5 "$RES/svmigd-2.log")"
	grep -q '^svmigd: replay cache: [1-9][0-9]* request nonces' "$RES/svmigd-2.log"
	ok "$((! $?))" "restarted, svmigd reloads its replay cache from the audit log" \
		"$(grep 'replay cache' "$RES/svmigd-2.log")"
	svmig_rdv_post restarted
	svmig_rdv_wait replayed2 400 >/dev/null
	grep -q '"event":"failed"' "$STATE/audit.log" 2>/dev/null
	ok "$((! $?))" "the audit log records web-2's failure"
	grep -q '"event":"attest","who":"host-a".*"role":"attester"' "$STATE/audit.log" 2>/dev/null
	ok "$((! $?))" "the audit log records host-a's attestation of this host"
fi

# ------------------------------------------------------------------ audit
"$SVMIGCTL" audit verify --log "$STATE/audit.log" --cert "$T/pki/$SVMIG_HOST.pem" \
	>"$T/audit.txt" 2>&1
ok "$((! $?))" "svmigctl audit verify: $(cat "$T/audit.txt")"
# The handover, in this order: the target's receipt, the source's COMMIT,
# the target's RESUMED, and only then the source quits its copy (after the
# failed receipt of the attempt whose vTPM state was refused).
want="receipt receipt commit resumed"
[[ $SVMIG_HOST == host-a ]] && want+=" completed"
got=$(grep -o '"event":"[a-z]*"' "$STATE/audit.log" 2>/dev/null | cut -d'"' -f4 |
	grep -E '^(receipt|commit|resumed|completed)$' | head -n "$(wc -w <<<"$want")" | xargs)
[[ $got == "$want" ]]
ok "$((! $?))" "the audit log records the handover: $want" "got: $got"
echo "# svmigd log:"
sed 's/^/#   /' "$RES/svmigd.log"
finish
