#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Two-host policy binding: the script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_policy.sh --timeout 900
# run (SVMIG_HOST says which).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".  No QEMU: every handshake carries the
# policy claim (policy_claim.h), so svmigctl attest exercises the same
# check as a migration's REQUEST and ATTEST.
#
# Setup as t2_akprov.sh (svmigd-lib.sh: PKI, both AKs; svmigd_start binds
# the authority and the policy counter to each fresh swtpm with svmigctl
# tpm-bind-policy, [tpm] policy_nv).  host-a signs four policies: p1
# (serial 1), p2 (serial 2), p2b (serial 2, other content: the vCPU
# limits) and p3 (serial 3, expired).  The cases, in this order:
#
#   h. both on p1: host-a attests host-b: trusted;
#   m. host-b reloads p2 (SIGHUP): its TPM counter advances to 2; host-a
#      (p1) attests host-b: REFUSED, "policy mismatch: host-b enforces
#      policy serial 2 ..., this host serial 1 ...: this host must load the
#      newer policy"; host-b's attestation of host-a is refused too;
#   o. host-b is given p1 again and SIGHUPed: not reloaded ("policy serial
#      1 is older than serial 2 ..."), p2 stays in force (status);
#   r. host-b restarted with p1 (a restored disk): svmigd refuses to start,
#      and audits it; svmigctl tpm-policy still reads highest serial 2;
#      restarted with p2 it runs; host-a reloads p2: attestation trusted;
#   x. host-b reloads p2b (same serial, other bytes): host-a's attestation
#      is refused ("two different policies with one serial");
#   e. host-b is given p3 (expired) and SIGHUPed: not reloaded.
#
# Logs: $SVMIG_RESULTS_DIR/{svmigd*.log,audit.log,*.txt}.
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

T=$(mktemp -d /tmp/t2p.XXXXXX)
STATE=$T/state
QMPDIR=$T/qmp
P=$T/pki
t0=$SECONDS

# shellcheck source=tests/vm/t2-tap.sh
. tests/vm/t2-tap.sh
T2_FINISH_RENDEZVOUS=1
T2_CLEANUP=cleanup
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	trap - EXIT
	svmigd_stop
	[[ -f $STATE/audit.log ]] && cp "$STATE/audit.log" "$RES/audit.log"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

step() { echo "# [$((SECONDS - t0)) s] $*"; }

# sign NAME: $RES/policy-NAME.json.sig by the authority (host-a)
sign() {
	openssl dgst -sha256 -sign "$P/authority.key" \
		-out "$RES/policy-$1.json.sig" "$RES/policy-$1.json"
}

# use NAME: host-a's policy NAME as svmigd's ($T/policy.json)
use() {
	cp "$A_RES/policy-$1.json" "$T/policy.json" &&
		cp "$A_RES/policy-$1.json.sig" "$T/policy.json.sig"
}

# attest CASE: svmigctl attest $SVMIG_PEER; sets rc, out, verdict
attest() {
	local v
	out=$("$SVMIGCTL" attest "$SVMIG_PEER" --config "$T/svmigd.conf" 2>&1)
	rc=$?
	printf '%s\n' "$out" >"$RES/$1.txt"
	printf '#   %s\n' "${out//$'\n'/$'\n'#   }"
	v=$(grep -m1 '^verdict ' "$RES/$1.txt")
	v=${v#verdict}
	verdict=${v#"${v%%[! ]*}"}
}

# serial: the policy serial svmigd reports (svmigctl status --json)
serial() {
	"$SVMIGCTL" status --config "$T/svmigd.conf" --json 2>&1 |
		grep -o '"policy_serial": *[0-9]*' | grep -o '[0-9]*$'
}

# hup WHAT: SIGHUP to svmigd, then wait (10 s at most) for a log line
# matching WHAT; the line in $line
hup() {
	local _ n
	n=$(wc -l <"${svmigd_logs[-1]}")
	kill -HUP "$daemon_pid"
	for _ in $(seq 100); do
		line=$(tail -n "+$((n + 1))" "${svmigd_logs[-1]}" | grep -m1 'SIGHUP: ')
		[[ -n $line ]] && break
		sleep 0.1
	done
	[[ $line == *"$1"* ]]
}

echo "# t2_policy on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)"

# ------------------------------------------------------------------ setup
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "${out:-}"
[[ -x $SVMIGD && -x $SVMIGCTL ]] || bail "build/svmigd and build/svmigctl built"
mkdir -p "$STATE" "$QMPDIR" "$P"
if [[ $SVMIG_HOST == host-a ]]; then
	svmigd_pki "$RES/pki" >"$T/pki.txt" 2>&1 || bail "test PKI" "$(cat "$T/pki.txt")"
	svmig_rdv_post pki
else
	svmig_rdv_wait pki >/dev/null || bail "host-a's PKI"
fi
cp "$A_RES"/pki/*.pem "$A_RES"/pki/*.key "$P/" 2>/dev/null
[[ -f $P/$SVMIG_HOST.pem ]] || bail "PKI files readable" "$(ls "$A_RES/pki" 2>&1)"
ak=$("$SVMIGCTL" tpm-ak --tcti "$TCTI" --pcrs 0,7 --json 2>&1)
[[ $(svmigd_jfield "$ak" ak_sha256) =~ ^[0-9a-f]{64}$ ]] || bail "svmigctl tpm-ak" "$ak"
svmig_rdv_post ak "$ak"
peer_ak=$(svmig_rdv_wait ak) || bail "$SVMIG_PEER's AK"
if [[ $SVMIG_HOST == host-a ]]; then
	{ SVMIGD_POLICY_SERIAL=1 svmigd_policy "$RES/policy-p1.json" "$ak" "$peer_ak" \
		"$P/alice.pem" "$P/bob.pem" && sign p1 &&
		SVMIGD_POLICY_SERIAL=2 svmigd_policy "$RES/policy-p2.json" "$ak" "$peer_ak" \
			"$P/alice.pem" "$P/bob.pem" && sign p2 &&
		sed 's/"max_vcpus":4}/"max_vcpus":3}/' "$RES/policy-p2.json" >"$RES/policy-p2b.json" &&
		! cmp -s "$RES/policy-p2.json" "$RES/policy-p2b.json" && sign p2b &&
		SVMIGD_POLICY_SERIAL=3 SVMIGD_POLICY_NOT_AFTER=2020-01-01T00:00:00Z \
			svmigd_policy "$RES/policy-p3.json" "$ak" "$peer_ak" \
			"$P/alice.pem" "$P/bob.pem" && sign p3; } >"$T/policy.txt" 2>&1 ||
		bail "signed policies" "$(cat "$T/policy.txt")"
	svmig_rdv_post policy
else
	svmig_rdv_wait policy >/dev/null || bail "host-a's policies"
fi
use p1 || bail "policy readable"
svmigd_start "$RES/svmigd.log" || bail "svmigd starts" "$(tail -n 5 "$RES/svmigd.log")"
grep -q 'policy serial 1, valid until .*, bound to the TPM' "$RES/svmigd.log"
ok "$((! $?))" "setup: svmigd runs policy serial 1, bound to the TPM (NV $POLICY_NV, counter $POLICY_COUNTER_NV)" \
	"$(cat "$RES/svmigd.log")"
step "svmigd"

# ------------------------------------------------- h: the same policy
if [[ $SVMIG_HOST == host-a ]]; then
	svmig_rdv_wait h-ready 300 >/dev/null || bail "h: host-b's svmigd"
	attest h
	[[ $rc == 0 && $verdict == trusted ]]
	ok "$((! $?))" "h: both on serial 1: svmigctl attest host-b: $verdict" "exit $rc"
	svmig_rdv_post h-done
else
	svmig_rdv_post h-ready
	svmig_rdv_wait h-done 300 >/dev/null || bail "host-a's case h"
fi
step "h done"

# ------------------------------------- m: host-b newer, host-a older
if [[ $SVMIG_HOST == host-b ]]; then
	use p2 || bail "m: p2 readable"
	hup "policy reloaded: serial 2"
	ok "$((! $?))" "m: SIGHUP with serial 2: ${line#svmigd: }" "$(tail -n 5 "${svmigd_logs[-1]}")"
	s=$(serial)
	[[ $s == 2 ]]
	ok "$((! $?))" "m: svmigctl status: policy_serial $s" ""
	attest m-b
	[[ $rc == 1 && $verdict == 'REFUSED: '*'policy mismatch: host-a enforces policy serial 1 (sha256 '*'), this host serial 2 ('*'the peer must load the newer policy'* ]]
	ok "$((! $?))" "m: host-b (serial 2) attests host-a (serial 1): $verdict" "exit $rc" "$out"
	svmig_rdv_post m-ready
	svmig_rdv_wait m-done 300 >/dev/null || bail "host-a's case m"
else
	svmig_rdv_wait m-ready 300 >/dev/null || bail "m: host-b's reload"
	lines_before=$(wc -l <"$STATE/audit.log")
	attest m
	[[ $rc == 1 && $verdict == 'REFUSED: '*'policy mismatch: host-b enforces policy serial 2 (sha256 '*'), this host serial 1 ('*'this host must load the newer policy'* ]]
	ok "$((! $?))" "m: host-a (serial 1) attests host-b (serial 2): $verdict" "exit $rc" "$out"
	tail -n "+$((lines_before + 1))" "$STATE/audit.log" >"$T/m-audit.txt"
	grep -q '"event":"refused".*policy mismatch' "$T/m-audit.txt"
	ok "$((! $?))" "m: host-a's audit log records the refusal" "$(tail -n 3 "$T/m-audit.txt")"
	svmig_rdv_post m-done
fi
step "m done"

# --------------------------------- o, r: host-b given the older policy
if [[ $SVMIG_HOST == host-b ]]; then
	use p1 || bail "o: p1 readable"
	hup "policy not reloaded, serial 2 stays in force"
	[[ $? == 0 && $line == *'policy serial 1 is older than serial 2, the highest this host'"'"'s TPM accepted'* ]]
	ok "$((! $?))" "o: SIGHUP with serial 1: ${line#svmigd: }" "$(tail -n 5 "${svmigd_logs[-1]}")"
	s=$(serial)
	[[ $s == 2 ]]
	ok "$((! $?))" "o: svmigctl status: policy_serial still $s" ""

	# r: a restart with the older files (a restored disk)
	svmigd_stop
	lines_before=$(wc -l <"$STATE/audit.log")
	if svmigd_start "$RES/svmigd-r.log"; then
		ok 0 "r: svmigd refuses to start with serial 1" "$(cat "$RES/svmigd-r.log")"
		svmigd_stop
	else
		svmigd_reap
		rc=$svmigd_rc
		line=$(grep 'policy: ' "$RES/svmigd-r.log")
		[[ $rc == 1 && $line == *'policy serial 1 is older than serial 2, the highest this host'"'"'s TPM accepted (NV counter '*'a rolled-back policy is refused'* ]]
		ok "$((! $?))" "r: restarted with serial 1, svmigd refuses to start (exit $rc): ${line#svmigd: }" \
			"$(cat "$RES/svmigd-r.log")"
	fi
	tail -n "+$((lines_before + 1))" "$STATE/audit.log" >"$T/r-audit.txt"
	grep -q '"event":"refused".*older than serial 2' "$T/r-audit.txt"
	ok "$((! $?))" "r: the refusal is audited" "$(cat "$T/r-audit.txt")"
	out=$("$SVMIGCTL" tpm-policy --tcti "$TCTI" --nv-index "$POLICY_NV" \
		--authority "$P/authority.pem" --json 2>&1)
	rc=$?
	[[ $rc == 0 && $out == *'"highest_serial":2'* && $out == *'"match":true'* ]]
	ok "$((! $?))" "r: svmigctl tpm-policy: the TPM keeps highest serial 2 for this authority (exit $rc)" "$out"
	use p2 || bail "r: p2 readable"
	svmigd_start "$RES/svmigd-r2.log" || bail "r: svmigd starts with p2" "$(tail -n 5 "$RES/svmigd-r2.log")"
	ok 1 "r: restarted with serial 2, svmigd runs"
	svmig_rdv_post r-ready
	svmig_rdv_wait r-done 300 >/dev/null || bail "host-a's case r"
else
	use p2 || bail "r: p2 readable"
	hup "policy reloaded: serial 2"
	ok "$((! $?))" "r: host-a reloads serial 2: ${line#svmigd: }" "$(tail -n 5 "${svmigd_logs[-1]}")"
	svmig_rdv_wait r-ready 300 >/dev/null || bail "r: host-b's restart"
	attest r
	[[ $rc == 0 && $verdict == trusted ]]
	ok "$((! $?))" "r: both on serial 2: svmigctl attest host-b: $verdict" "exit $rc"
	svmig_rdv_post r-done
fi
step "o, r done"

# ---------------------------------- x: same serial, different content
if [[ $SVMIG_HOST == host-b ]]; then
	use p2b || bail "x: p2b readable"
	hup "policy reloaded: serial 2"
	ok "$((! $?))" "x: SIGHUP with p2b (serial 2, other content): ${line#svmigd: }" ""
	svmig_rdv_post x-ready
	svmig_rdv_wait x-done 300 >/dev/null || bail "host-a's case x"
	# e: an expired policy
	use p3 || bail "e: p3 readable"
	hup "policy not reloaded"
	[[ $? == 0 && $line == *'policy serial 3 expired at 2020-01-01T00:00:00Z'* ]]
	ok "$((! $?))" "e: SIGHUP with an expired policy: ${line#svmigd: }" "$(tail -n 5 "${svmigd_logs[-1]}")"
	s=$(serial)
	[[ $s == 2 ]]
	ok "$((! $?))" "e: svmigctl status: policy_serial still $s" ""
else
	svmig_rdv_wait x-ready 300 >/dev/null || bail "x: host-b's reload"
	attest x
	[[ $rc == 1 && $verdict == 'REFUSED: '*'policy mismatch: host-b enforces policy serial 2'*'two different policies with one serial'* ]]
	ok "$((! $?))" "x: host-b on another serial-2 policy: $verdict" "exit $rc" "$out"
	svmig_rdv_post x-done
fi
step "x, e done"

# ------------------------------------------------------------------ audit
svmigd_stop
"$SVMIGCTL" audit verify --log "$STATE/audit.log" --cert "$P/$SVMIG_HOST.pem" \
	>"$T/audit.txt" 2>&1
ok "$((! $?))" "svmigctl audit verify: $(cat "$T/audit.txt")"
for f in "$RES"/svmigd*.log; do
	echo "# ${f##*/}:"
	sed 's/^/#   /' "$f"
done
step "done"
finish
