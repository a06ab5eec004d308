#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Two-host AK provenance: the script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_akprov.sh --timeout 900
# run (SVMIG_HOST says which).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".  No QEMU: the attestation step is the
# same in svmigctl attest and in a migration (session_attest.c, attest_check).
#
# Setup as t2_migrate.sh (svmigd-lib.sh: PKI, policy, svmigd_start).  Each
# host reports two AKs of its own swtpm: the honest one (svmigctl tpm-ak)
# and a weak one, made by svmigd's test-only knob
# SVMIGD_TEST_WEAK_AK=unrestricted, which creates the AK in the TPM with
# restricted clear: a key that signs whatever it is given, so it could
# sign a forged TPMS_ATTEST.  host-a signs two policies: "honest" (both
# honest AKs) and "weak" (host-b's weak AK enrolled, i.e. an enroller who
# enrolled a key he should not have).  The cases, in this order:
#
#   e. (each host, at enrolment) svmigctl tpm-ek reads the EK certificate
#      run-vm.sh's swtpm_setup put in the TPM: verified against the test
#      manufacturer CA (build/vm/ekca), refused against another CA;
#   h. policy honest, both svmigd honest: host-a attests host-b (trusted;
#      the AK's full public area travels; its digest is the enrolled one);
#   w. policy weak, host-b's svmigd with its weak AK: host-a's attestation
#      of host-b is REFUSED, naming the missing attribute (restricted),
#      although the AK digest is the enrolled one and the quote is the
#      TPM's; host-a's audit log records the refusal; host-b's attestation
#      of host-a (honest) is still trusted under the same policy.
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

T=$(mktemp -d /tmp/t2k.XXXXXX)
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

# attest CASE: svmigctl attest $SVMIG_PEER, its output in $RES/CASE.txt;
# sets rc, out and verdict (what its "verdict" line says, spaces dropped
# after the word)
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

echo "# t2_akprov on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)"

# ------------------------------------------------------------------ setup
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "${out:-}"
[[ -x $SVMIGD && -x $SVMIGCTL ]] || bail "build/svmigd and build/svmigctl built"
mkdir -p "$STATE" "$QMPDIR" "$P"
svmigd_trust_pki >"$T/trust.txt" || bail "test PKI" "$(cat "$T/trust.txt")"

ak=$("$SVMIGCTL" tpm-ak --tcti "$TCTI" --pcrs 0,7 --json 2>&1)
weak=$(SVMIGD_TEST_WEAK_AK=unrestricted "$SVMIGCTL" tpm-ak --tcti "$TCTI" \
	--pcrs 0,7 --json 2>"$T/weak.err")
a=$(svmigd_jfield "$ak" ak_sha256)
w=$(svmigd_jfield "$weak" ak_sha256)
[[ $a =~ ^[0-9a-f]{64}$ && $w =~ ^[0-9a-f]{64}$ && $a != "$w" ]]
ok "$((! $?))" "svmigctl tpm-ak: the honest AK ${a:0:16}... and, with the test knob, a weak one ${w:0:16}... of this TPM" \
	"$ak" "$weak" "$(cat "$T/weak.err")"
grep -q 'TEST ONLY: SVMIGD_TEST_WEAK_AK=unrestricted' "$T/weak.err"
ok "$((! $?))" "the test knob announces itself on stderr" "$(cat "$T/weak.err")"

# ---- e: the EK certificate (enrolment, on each host)
# run-vm.sh manufactured this TPM with an EK certificate from the test
# manufacturer CA (build/vm/ekca); an unlisted CA is any other.
ekca=$SVMIG_WORKTREE/build/vm/ekca/issuercert.pem
out=$("$SVMIGCTL" tpm-ek --tcti "$TCTI" --ek-ca "$ekca" 2>&1)
rc=$?
[[ $rc == 0 && $out == *'-----BEGIN CERTIFICATE-----'* && $out == *"ak_sha256 $a"* &&
	$out == *'ek verified: chains to a CA of '* ]]
ok "$((! $?))" "e: svmigctl tpm-ek: the EK certificate from NV 0x01c00002 chains to the test manufacturer CA, its key is the TPM's EK (exit $rc)" \
	"$out"
(cd "$T" && openssl ecparam -name prime256v1 -genkey -noout -out other-ca.key &&
	openssl req -x509 -new -key other-ca.key -subj "/CN=svmig test other manufacturer" \
		-days 2 -sha256 -out other-ca.pem -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign) >"$T/other-ca.txt" 2>&1 ||
	bail "e: another CA" "$(cat "$T/other-ca.txt")"
out=$("$SVMIGCTL" tpm-ek --tcti "$TCTI" --ek-ca "$T/other-ca.pem" 2>&1)
rc=$?
line=$(grep -m1 '^ek ' <<<"$out")
[[ $rc == 1 && $line == 'ek REFUSED: the EK certificate does not chain to a listed manufacturer CA: '* ]]
ok "$((! $?))" "e: against an unlisted manufacturer CA: refused (exit $rc): $line" "$out"

svmigd_ak=$ak
svmigd_trust_ak >"$T/trust.txt" || bail "AKs" "$(cat "$T/trust.txt")"
peer_ak=$svmigd_peer_ak
svmig_rdv_post weak "$weak"
peer_weak=$(svmig_rdv_wait weak) || bail "$SVMIG_PEER's weak AK"
if [[ $SVMIG_HOST == host-a ]]; then
	{ svmigd_policy "$RES/policy-honest.json" "$ak" "$peer_ak" "$P/alice.pem" "$P/bob.pem" &&
		sign honest &&
		svmigd_policy "$RES/policy-weak.json" "$ak" "$peer_weak" "$P/alice.pem" "$P/bob.pem" &&
		sign weak; } >"$T/policy.txt" 2>&1 || bail "signed policies" "$(cat "$T/policy.txt")"
	svmig_rdv_post policy
else
	svmig_rdv_wait policy >/dev/null || bail "host-a's policies"
fi
use honest || bail "policy readable"
svmigd_start "$RES/svmigd.log" || bail "svmigd starts" "$(tail -n 5 "$RES/svmigd.log")"
ok 1 "setup: PKI, policy honest, svmigd runs"
step "svmigd"

# ------------------------------------------------- h: the honest AKs
if [[ $SVMIG_HOST == host-a ]]; then
	svmig_rdv_wait h-ready 300 >/dev/null || bail "h: host-b's svmigd"
	attest h
	[[ $rc == 0 && $verdict == trusted ]]
	ok "$((! $?))" "h: svmigctl attest host-b: $verdict (the AK's public area checked)" "exit $rc"
	line=$(grep -m1 '^ak ' "$RES/h.txt")
	[[ $line == *"$(svmigd_jfield "$peer_ak" ak_sha256)"* ]]
	ok "$((! $?))" "h: the AK digest shown is host-b's honest one: ${line:0:90}" "$out"
	svmig_rdv_post h-done
else
	svmig_rdv_post h-ready
	svmig_rdv_wait h-done 300 >/dev/null || bail "host-a's case h"
fi
step "h done"

# ------------------------------------------- w: host-b's AK unrestricted
svmigd_stop
use weak || bail "w: policy weak readable"
if [[ $SVMIG_HOST == host-b ]]; then
	export SVMIGD_TEST_WEAK_AK=unrestricted
	svmigd_start "$RES/svmigd-w.log" || bail "w: svmigd starts" "$(tail -n 5 "$RES/svmigd-w.log")"
	unset SVMIGD_TEST_WEAK_AK
	ok 1 "w: host-b's svmigd runs with its weak AK, under policy weak"
	svmig_rdv_post w-ready
	svmig_rdv_wait w-a-done 300 >/dev/null || bail "host-a's case w"
	# host-a, honest, is still trusted by us under the same policy
	attest w-b
	[[ $rc == 0 && $verdict == trusted ]]
	ok "$((! $?))" "w: host-b's attestation of host-a (honest AK) under policy weak: $verdict" "exit $rc"
	grep -q 'TEST ONLY: SVMIGD_TEST_WEAK_AK=unrestricted' "$RES/svmigd-w.log"
	ok "$((! $?))" "w: host-b's svmigd log says its AK is a test-only weak one"
	svmig_rdv_post w-b-done
else
	svmigd_start "$RES/svmigd-w.log" || bail "w: svmigd starts" "$(tail -n 5 "$RES/svmigd-w.log")"
	svmig_rdv_wait w-ready 300 >/dev/null || bail "w: host-b's svmigd with its weak AK"
	lines_before=$(wc -l <"$STATE/audit.log")
	attest w
	[[ $rc == 1 && $verdict == 'REFUSED: '*'the AK is not restricted'* ]]
	ok "$((! $?))" "w: svmigctl attest host-b (exit $rc): $verdict" \
		"exit $rc" "$out"
	line=$(grep -m1 '^ak ' "$RES/w.txt")
	[[ $line == *"$(svmigd_jfield "$peer_weak" ak_sha256)"* ]]
	ok "$((! $?))" "w: yet the AK sent is the enrolled one: ${line:0:90}" "$out"
	tail -n "+$((lines_before + 1))" "$STATE/audit.log" >"$T/w-audit.txt"
	grep -q '"event":"refused".*the AK is not restricted' "$T/w-audit.txt"
	ok "$((! $?))" "w: host-a's audit log records the refusal" "$(tail -n 3 "$T/w-audit.txt")"
	svmig_rdv_post w-a-done
	svmig_rdv_wait w-b-done 300 >/dev/null || bail "host-b's case w"
fi
step "w done"

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
