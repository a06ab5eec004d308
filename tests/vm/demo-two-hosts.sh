#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The two-host demo (`make demo`): the script both guests of
#   tests/vm/run-two-hosts.sh --timeout 600 --script tests/vm/demo-two-hosts.sh
# run.  host-a and host-b, each with its own TPM (swtpm), run svmigd; a
# running self-checking guest with a vTPM (its own swtpm, migrated with
# it) moves from host-a to host-b through svmigd and svmig.ko, on alice's
# signed request.  The setup is tests/vm/svmigd-lib.sh's, as in
# tests/vm/t2_migrate.sh.
#
# host-a writes what was verified, for a human, to
# $SVMIG_RESULTS_DIR/demo.txt (build/vm2/host-a/demo.txt; `make demo`
# prints it) and to its console; everything it is made from (svmigd's logs
# and audit logs, svmigctl's output, QEMU's statistics) stays in
# build/vm2/host-{a,b}/.  The facts come from svmigctl (tpm-ak, policy
# check, status, migrate, audit verify), svmigd's audit records, the
# certificates, QMP and /proc/crypto; nothing is printed that was not
# checked.  Each host ends with tests/vm/t2-tap.sh's host checks (TAP:
# svmigd's exit statuses and logs, rmmod svmig, dmesg, taint).  Prints
# "SVMIG-GUEST-RESULT: pass" if the migration succeeded, everything listed
# checked out and the host checks passed.
set -uo pipefail
export LC_ALL=C

if [[ -z ${SVMIG_HOST:-} ]]; then
	echo "demo-two-hosts: run me with tests/vm/run-two-hosts.sh" >&2
	exit 2
fi
cd "${SVMIG_WORKTREE:?}" || exit 1
# shellcheck source=tests/vm/qemu-lib.sh
. tests/vm/qemu-lib.sh
# shellcheck source=tests/vm/svmigd-lib.sh
. tests/vm/svmigd-lib.sh
# shellcheck source=tests/vm/t2-tap.sh
. tests/vm/t2-tap.sh

VM=web-1
T=$(mktemp -d /tmp/demo.XXXXXX)
STATE=$T/state
QMPDIR=$T/qmp
B_RES=${RES%/*}/host-b
REPORT=$RES/demo.txt
poll_pid=
bad=0

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	trap - EXIT
	[[ -n $poll_pid ]] && kill "$poll_pid" 2>/dev/null
	svmigd_stop
	[[ -f $STATE/audit.log ]] && cp "$STATE/audit.log" "$RES/audit.log"
	QEMU_LIB_LOGDIR=$RES/qemu qemu_cleanup
	rm -rf "$T"
}
QEMU_LIB_NO_TRAP=1
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

note() { echo "demo[$SVMIG_HOST]: $*"; }
# demo_end pass|fail: the host checks, then the result
demo_end() {
	T2_CLEANUP=cleanup
	t2_host_checks
	if [[ $1 == pass ]] && ((failed == 0)); then
		echo "SVMIG-GUEST-RESULT: pass"
		exit 0
	fi
	echo "SVMIG-GUEST-RESULT: fail"
	exit 1
}
fail() { # fail WHAT [DETAIL...]: a step the rest depends on failed
	note "FAILED: $1"
	shift
	(($#)) && printf '  %s\n' "$@"
	svmig_rdv_post failed "$SVMIG_HOST" 2>/dev/null
	demo_end fail
}
# jq on one JSON value (quiet; empty output if it does not parse)
jqr() { jq -r "$1" 2>/dev/null <<<"$2"; }
# the audit record of EVENT (and STEP) for $VM in LOG, last one
audit_rec() { # LOG EVENT [STEP]
	jq -c --arg e "$2" --arg s "${3:-}" --arg vm "$VM" \
		'select(.event == $e and .what == $vm and ($s == "" or .details.step == $s))' \
		"$1" 2>/dev/null | tail -n 1
}
cert_line() { # PEM: "CN=..., issued by CN=..."
	local s i
	s=$(openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
	i=$(openssl x509 -in "$1" -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= *//p')
	printf 'CN=%s, issued by CN=%s' "$s" "$i"
}

# ------------------------------------------------------------------ setup
note "setting up on $SVMIG_ADDR (peer $SVMIG_PEER at $SVMIG_PEER_ADDR)"
out=$(svmigd_load_module) || fail "/dev/svmig (insmod kmod/svmig.ko)" "$out"
[[ -x $SVMIGD && -x $SVMIGCTL ]] || fail "build/svmigd and build/svmigctl (make userspace)"
command -v jq >/dev/null || fail "jq is needed (apt-get install jq)"
mkdir -p "$STATE" "$QMPDIR" "$T/pki"

if [[ $SVMIG_HOST == host-a ]]; then
	svmigd_pki "$RES/pki" >"$T/pki.log" 2>&1 || fail "test PKI (openssl)" "$(cat "$T/pki.log")"
	svmig_rdv_post pki "$RES/pki"
else
	svmig_rdv_wait pki >/dev/null || fail "host-a's PKI"
fi
cp "$A_RES"/pki/*.pem "$A_RES"/pki/*.key "$T/pki/" 2>/dev/null
[[ -f $T/pki/$SVMIG_HOST.pem ]] || fail "PKI files readable"

ak=$("$SVMIGCTL" tpm-ak --tcti "$TCTI" --pcrs 0,7 --json 2>&1)
[[ $(svmigd_jfield "$ak" ak_sha256) =~ ^[0-9a-f]{64}$ ]] || fail "svmigctl tpm-ak" "$ak"
printf '%s\n' "$ak" >"$RES/ak.json"
svmig_rdv_post ak "$ak"
peer_ak=$(svmig_rdv_wait ak) || fail "$SVMIG_PEER's AK"
if [[ $SVMIG_HOST == host-a ]]; then
	if ! svmigd_policy "$RES/policy.json" "$ak" "$peer_ak" "$T/pki/alice.pem" "$T/pki/bob.pem" ||
		! openssl dgst -sha256 -sign "$T/pki/authority.key" \
			-out "$RES/policy.json.sig" "$RES/policy.json"; then
		fail "policy.json signed"
	fi
	svmig_rdv_post policy
else
	svmig_rdv_wait policy >/dev/null || fail "host-a's policy"
fi
cp "$A_RES/policy.json" "$A_RES/policy.json.sig" "$T/" || fail "policy readable"
svmigd_start "$RES/svmigd.log" || fail "svmigd starts" "$(tail -n 5 "$RES/svmigd.log")"
note "svmigd runs: $(cat "$RES/status.json")"

# ------------------------------------------------------------------- QEMU
if [[ $SVMIG_HOST == host-a ]]; then
	qemu_lib_init || fail "qemu_lib_init"
	svmig_rdv_post accel "$QEMU_ACCEL"
	if ! qemu_start src --guest --mem 64 --tpm --append "pages=512 burst=128" ||
		! qemu_wait_serial src '^selfcheck ok iter=2 ' 120 || qemu_guest_failed src; then
		fail "source QEMU with a vTPM runs the self-checking guest" "$(qemu_dump_logs src 2>&1)"
	fi
	ln -s "$(qemu_qmp_sock src 2)" "$QMPDIR/$VM.qmp"
	svmig_rdv_wait dst-ready >/dev/null || fail "$SVMIG_PEER's destination QEMU"
else
	QEMU_ACCEL=$(svmig_rdv_wait accel) || fail "host-a's accelerator"
	qemu_lib_init || fail "qemu_lib_init"
	qemu_start dst --guest --mem 64 --tpm --incoming ||
		fail "destination QEMU with a fresh vTPM waits" "$(qemu_dump_logs dst 2>&1)"
	ln -s "$(qemu_qmp_sock dst 2)" "$QMPDIR/$VM.qmp"
	svmig_rdv_post dst-ready
fi

# -------------------------------------------------------------- migration
if [[ $SVMIG_HOST == host-b ]]; then
	svmig_rdv_wait migrated 400 >/dev/null || fail "host-a's migration"
	st=$(qemu_qmp dst query-status 2>&1)
	first=$(qemu_guest_iter dst)
	guest=fail
	if [[ $(qemu_json_str "$st" status) == running && -n $first ]] &&
		qemu_wait_serial dst "^selfcheck (ok iter=$((first + 2)) |FAIL)" 120 &&
		! qemu_guest_failed dst; then
		guest="running; its self-checks pass on (iteration $first on arrival, then $(qemu_guest_iter dst))"
	fi
	printf '%s\n' "$guest" >"$RES/guest.txt"
	tpm=$(qemu_qmp dst query-tpm 2>&1)
	printf '%s %s\n' "$(jqr '.return[0].model + " " + .return[0].options.type' "$tpm")" \
		"$(sha256sum "$(qemu_dir dst)/tpm/state/tpm2-00.permall" 2>/dev/null | cut -c1-64)" \
		>"$RES/vtpm.txt"
	"$SVMIGCTL" audit verify --log "$STATE/audit.log" --cert "$T/pki/$SVMIG_HOST.pem" \
		>"$RES/audit-verify.txt" 2>&1 || echo "(exit $?)" >>"$RES/audit-verify.txt"
	cp "$STATE/audit.log" "$RES/audit.log"
	svmig_rdv_post results
	svmig_rdv_wait reported 120 >/dev/null
	[[ $guest == running* ]] || fail "the destination guest runs on" "$(qemu_dump_logs dst 2>&1)"
	demo_end pass
fi

# host-a: the source.
P=$T/pki
src_iter=$(qemu_guest_iter src)
src_permall=$(sha256sum "$(qemu_dir src)/tpm/state/tpm2-00.permall" 2>/dev/null | cut -c1-64)
"$SVMIGCTL" policy check --policy "$T/policy.json" --sig "$T/policy.json.sig" \
	--authority "$P/authority.pem" --cert "$P/alice.pem" \
	--vm "$VM" --source host-a --target host-b >"$RES/policy-alice.txt" 2>&1
"$SVMIGCTL" policy check --policy "$T/policy.json" --sig "$T/policy.json.sig" \
	--authority "$P/authority.pem" --cert "$P/bob.pem" \
	--vm "$VM" --source host-a --target host-b >"$RES/policy-bob.txt" 2>&1
"$SVMIGCTL" request --vm "$VM" --source host-a --target host-b --mem 64 --vcpus 1 \
	--cert "$P/alice.pem" --key "$P/alice.key" --out "$T/req-alice.json" ||
	fail "svmigctl request (alice)"

# QEMU's own statistics: query-migrate every 0.1 s on the source's first
# QMP socket (svmigd drives the second) until the source QEMU quits.
{
	printf '%s\n' '{"execute":"qmp_capabilities"}'
	while sleep 0.1; do
		printf '%s\n' '{"execute":"query-migrate"}' || break
	done
} 2>/dev/null | socat - "UNIX-CONNECT:$(qemu_qmp_sock src)" >"$RES/query-migrate.log" 2>/dev/null &
poll_pid=$!
note "migrating $VM to host-b (alice's request)"
t_start=$(date +%s.%N)
timeout 300 "$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req-alice.json" \
	>"$RES/migrate-alice.txt" 2>&1
rc=$?
t_end=$(date +%s.%N)
for _ in $(seq 100); do
	qemu_alive src || break
	sleep 0.1
done
src_gone=$(qemu_alive src && echo no || echo yes)
sleep 0.3
kill "$poll_pid" 2>/dev/null
wait "$poll_pid" 2>/dev/null
poll_pid=
svmig_rdv_post migrated "$rc"
sed 's/^/  svmigctl: /' "$RES/migrate-alice.txt"
((rc == 0)) || fail "svmigctl migrate (exit $rc)" "$(cat "$RES/migrate-alice.txt")"
"$SVMIGCTL" audit verify --log "$STATE/audit.log" --cert "$P/host-a.pem" \
	>"$RES/audit-verify.txt" 2>&1 || echo "(exit $?)" >>"$RES/audit-verify.txt"
cp "$STATE/audit.log" "$RES/audit.log"
"$SVMIGCTL" status --config "$T/svmigd.conf" --json >"$RES/status-after.json" 2>&1
journal_left=$(ls -A "$STATE/journal" 2>/dev/null | xargs)
svmig_rdv_wait results 300 >/dev/null || fail "host-b's results"

# ----------------------------------------------------------------- report
A_LOG=$RES/audit.log B_LOG=$B_RES/audit.log
a_sess=$(audit_rec "$A_LOG" session) b_sess=$(audit_rec "$B_LOG" session)
a_rcpt=$(audit_rec "$A_LOG" receipt) b_rcpt=$(audit_rec "$B_LOG" receipt)
a_commit=$(audit_rec "$A_LOG" commit) b_commit=$(audit_rec "$B_LOG" commit)
a_resumed=$(audit_rec "$A_LOG" resumed) b_resumed=$(audit_rec "$B_LOG" resumed)
b_ver=$(audit_rec "$B_LOG" data verified)
result=$(sed -n 's/^result: ok //p' "$RES/migrate-alice.txt")
qm=$(jq -c 'select(.return.status? == "completed") | .return' "$RES/query-migrate.log" 2>/dev/null | tail -n 1)
b_ak=$(cat "$B_RES/ak.json")
a_pol=$(jqr .policy_sha256 "$(cat "$RES/status.json")")
b_pol=$(jqr .policy_sha256 "$(cat "$B_RES/status.json")")
aead=$(awk '/^name/ { n = $3 } /^driver/ { d = $3 } /^priority/ { p = $3 }
	/^$/ { if (n == "gcm(aes)" && p > best) { best = p; drv = d } }
	END { print drv " (priority " best ")" }' /proc/crypto)
read -r b_tpm_model b_tpm_type b_permall <"$B_RES/vtpm.txt"
[[ -n $b_permall ]] || b_permall=unknown

# same SAME-LABEL A B: "match" if equal and non-empty, else "MISMATCH",
# which fails the demo (counted in the report once it is written)
same() {
	if [[ -n $2 && $2 == "$3" ]]; then
		echo "$1: match"
	else
		echo "$1: MISMATCH ($2 vs $3)"
	fi
}
d() { jqr ".details.$1" "$2"; }
short() { echo "${1:0:16}…"; }
ms() { jqr ".[\"$1\"] // empty" "$qm"; }

{
	echo "================================================================"
	echo " svmig two-host demo: $VM moves from host-a to host-b"
	echo "================================================================"
	echo " host-a 10.99.0.1 and host-b 10.99.0.2: two test VMs, each with its own TPM"
	echo " (swtpm), svmigd and svmig.ko; the guest: a running self-checking VM"
	echo " (nested QEMU, accel $QEMU_ACCEL) with a vTPM"
	echo
	echo "1. Peer identities (mutual TLS 1.3; each svmigd checked the other's chain"
	echo "   against its trust anchors 'svmig test ca-a' and 'svmig test ca-b', and the"
	echo "   peer's CN against the host named in the request)"
	echo "   host-a presents  $(cert_line "$P/host-a.pem")"
	echo "   host-b presents  $(cert_line "$P/host-b.pem")"
	echo "   host-a's svmigd: $(grep -m1 'established with' "$RES/svmigd.log" | sed 's/^svmigd: //')"
	echo "   host-b's svmigd: $(grep -m1 'session with host-a for vm' "$B_RES/svmigd.log" | sed 's/^svmigd: //')"
	echo
	echo "2. Attestation: each host's TPM quote (AK-signed, PCRs 0 and 7, qualified by"
	echo "   the peer's nonce and this TLS session) checked against the signed policy"
	echo "   host-a  AK sha256 $(short "$(svmigd_jfield "$ak" ak_sha256)")  PCR0 $(short "$(svmigd_jfield "$ak" 0)")  PCR7 $(short "$(svmigd_jfield "$ak" 7)")"
	echo "   host-b  AK sha256 $(short "$(svmigd_jfield "$b_ak" ak_sha256)")  PCR0 $(short "$(svmigd_jfield "$b_ak" 0)")  PCR7 $(short "$(svmigd_jfield "$b_ak" 7)")"
	echo "   quote by host-a $(short "$(d quote "$a_sess")") -- $(same "as host-b recorded it" "$(d quote "$a_sess")" "$(d peer_quote "$b_sess")")"
	echo "   quote by host-b $(short "$(d quote "$b_sess")") -- $(same "as host-a recorded it" "$(d quote "$b_sess")" "$(d peer_quote "$a_sess")")"
	echo
	echo "3. Policy decision (policy.json signed by $(cert_line "$P/authority.pem" | sed 's/,.*//'))"
	echo "   $(same "policy sha256 loaded by host-a and host-b" "$a_pol" "$b_pol") ($(short "$a_pol"))"
	echo "   svmigctl policy check, alice: $(head -n 1 "$RES/policy-alice.txt")"
	echo "   svmigctl policy check, bob:   $(head -n 1 "$RES/policy-bob.txt")"
	echo "   allowed by: operator $(d operator "$a_sess") ($(cert_line "$P/alice.pem")), role $(d rule "$a_sess")"
	echo "   (host-b: operator $(d operator "$b_sess"), role $(d rule "$b_sess"); request $(short "$(d request "$a_sess")"))"
	echo
	echo "4. Key exchange: TPM ECDH, each side's key certified by its AK (TPM2_Certify)"
	echo "   host-a's ECDH key $(short "$(d key "$a_sess")") -- $(same "host-b verified the same" "$(d key "$a_sess")" "$(d peer_key "$b_sess")")"
	echo "   host-b's ECDH key $(short "$(d key "$b_sess")") -- $(same "host-a verified the same" "$(d key "$b_sess")" "$(d peer_key "$a_sess")")"
	echo "   transcript $(short "$(d transcript "$a_sess")") -- $(same "both hosts" "$(d transcript "$a_sess")" "$(d transcript "$b_sess")")"
	echo "   session id $(d session "$a_sess"); the secret went to svmig.ko and was wiped"
	echo "   CONFIRM: each host showed the other it derived the same keys (HMAC-SHA-256"
	echo "   over the transcript) before DATA: $(jq -e -s 'any(.[]; .event == "data")' "$A_LOG" \
		>/dev/null && jq -e -s 'any(.[]; .event == "data")' "$B_LOG" >/dev/null &&
		echo "both DATA steps began, so both checks passed" || echo "NO DATA STEP")"
	echo
	echo "5. Data: QEMU's migration stream sealed by svmig.ko (AES-256-GCM), END verified"
	echo "   host-b's kernel verified $(d records "$b_ver") records, $(d bytes "$b_ver") bytes, and the END"
	echo "   AEAD driver: $aead (the crypto API's gcm(aes) in the test VMs)"
	echo "   guest on host-a before: self-check iteration $src_iter; on host-b: $(cat "$B_RES/guest.txt")"
	echo "   vTPM: host-b's QEMU has a $b_tpm_model device, backend $b_tpm_type (a fresh swtpm; its state came in the stream)"
	echo "   $(same "vTPM permanent state (tpm2-00.permall sha256) host-a vs host-b" "$src_permall" "$b_permall")"
	echo
	echo "6. Handover: host-b's signed receipt (END verified, VM held paused), host-a's"
	echo "   signed COMMIT (it will not resume its copy), host-b resumes and signs RESUMED,"
	echo "   and only then host-a's QEMU quits (quit: $src_gone)"
	echo "   $(jqr '.receipt | "session \(.session) verdict \(.verdict) records \(.records) bytes \(.bytes)"' "$result")"
	echo "   receipt sha256 $(short "$(d receipt "$a_rcpt")") -- $(same "host-a's and host-b's audit" "$(d receipt "$a_rcpt")" "$(d receipt "$b_rcpt")")"
	echo "   COMMIT  sha256 $(short "$(d statement "$a_commit")") -- $(same "host-a's and host-b's audit" "$(d statement "$a_commit")" "$(d statement "$b_commit")")"
	echo "   RESUMED sha256 $(short "$(d statement "$b_resumed")") -- $(same "host-b's and host-a's audit" "$(d statement "$b_resumed")" "$(d statement "$a_resumed")")"
	echo "   host-a's journal (what a restarted svmigd would settle): $([[ -z $journal_left ]] &&
		echo "empty again" || echo "still holds $journal_left")"
	echo "   svmigctl status on host-a: unsettled migrations $(jqr '.unsettled | length' "$(cat "$RES/status-after.json")")"
	echo
	echo "7. Audit logs (hash-chained, each record signed by its host's key)"
	for h in host-a host-b; do
		f=$RES/audit.log
		[[ $h == host-b ]] && f=$B_LOG
		echo "   $h: svmigctl audit verify: $(head -n 1 "${f%/*}/audit-verify.txt" | sed 's|^/[^ ]*: ||')"
		jq -r '"     #\(.seq) \(.event)\(if .details.step then " (" + .details.step + ")" else "" end) \(.who) \(.what)"' "$f" 2>/dev/null
	done
	echo
	echo "8. How fast (measured under TCG (emulated): the hosts are QEMU/TCG VMs and"
	echo "   the guest's QEMU runs nested inside them; only ratios mean anything)"
	if [[ -n $qm ]]; then
		echo "   QEMU: total time $(ms total-time) ms, downtime $(ms downtime) ms, setup $(ms setup-time) ms"
		echo "   RAM: $(jqr '.ram.transferred' "$qm") bytes transferred in $(jqr '.ram["dirty-sync-count"]' "$qm") dirty-sync rounds, $(jqr '.ram.mbps * 10 | round / 10' "$qm") Mbit/s"
	else
		echo "   QEMU: its statistics were not caught before the source quit"
	fi
	echo "   svmigctl migrate, request to receipt: $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.2f", b - a }') s"
	echo "================================================================"
} >"$REPORT"
for f in "$RES/audit-verify.txt" "$B_RES/audit-verify.txt"; do
	[[ $(head -n 1 "$f") == *"(exit"* || $(cat "$f") == *"(exit"* ]] && bad=$((bad + 1))
done
[[ $(cat "$B_RES/guest.txt") == running* ]] || bad=$((bad + 1))
[[ $src_gone == yes ]] || bad=$((bad + 1))
[[ -z $journal_left ]] || bad=$((bad + 1))
# same() runs in the report's command substitutions: count its verdicts here
bad=$((bad + $(grep -c 'MISMATCH\|NO DATA STEP' "$REPORT")))
if ((bad)); then
	echo "   $bad check(s) above did not hold" >>"$REPORT"
fi
cat "$REPORT"
svmig_rdv_post reported
if ((bad)); then
	demo_end fail
fi
demo_end pass
