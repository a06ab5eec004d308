#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Two-host audit and admission: the script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_audit.sh --timeout 900
# run (SVMIG_HOST says which).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".  Setup as t2_migrate.sh
# (svmigd_setup_trust); host-a runs the self-checking source guest web-1
# (64 MiB), host-b a destination QEMU for it (-incoming) and, first, a
# VM "busy" of 1000 MiB, running, its QMP socket in svmigd's QMP
# directory (host-b's limit is 1024 MiB):
#
#   n. admission: alice's request for web-1 (64 MiB) is refused by host-b
#      at ADMIT, the reason counting busy ("memory: vm_mem_mib 64 + ...
#      MiB of 1 VMs running"); no VM byte moved (host-b's audit log has no
#      "session" record, its destination still waits, the source runs on);
#   m. busy quits; web-1 migrates; each host keeps its log as it was
#      before (log and head, a copy) for case r;
#   p. each host's log holds the peer's signed messages (a peer-head
#      record, the evidence of the peer's receipt or COMMIT and RESUMED,
#      the quote, the operator's request) and `svmigctl audit verify
#      --peer PEER-CERT --ca CAS --policy ...` re-checks them offline: 0
#      unchecked; a certificate with the peer's name and another key (made
#      here with openssl) makes it fail, naming the record;
#   a. `audit verify --anchor PEER-LOG` (the peer's audit log, copied over
#      9p): this log reaches the head the peer keeps of it;
#   c. a copy of the log cut by its last record: `audit verify` says
#      BROKEN, "cut tail" (the signed head beside it names the record);
#      cut with its head deleted too: BROKEN, "no signed head";
#   r. the copy kept before the migration, log and head together (a host
#      rolling its log back): verifies alone, but not --anchor PEER-LOG
#      ("cut tail: the anchor holds ...").
# Logs: $SVMIG_RESULTS_DIR/{svmigd.log,audit.log,*.txt}.
set -uo pipefail
export LC_ALL=C

if [[ -z ${SVMIG_HOST:-} ]]; then
	echo "1..0 # SKIP not a two-host run (tests/vm/run-two-hosts.sh)"
	exit 0
fi
cd "${SVMIG_WORKTREE:?}" || exit 1
# No speed needed: TCG, as t2_refusals.sh.
QEMU_ACCEL=tcg
# shellcheck source=tests/vm/qemu-lib.sh
. tests/vm/qemu-lib.sh
# shellcheck source=tests/vm/svmigd-lib.sh
. tests/vm/svmigd-lib.sh

VM=web-1
T=$(mktemp -d /tmp/t2u.XXXXXX)
STATE=$T/state
QMPDIR=$T/qmp
P=$T/pki
PEER_RES=${RES%/*}/$SVMIG_PEER
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

# verify OUT ARGS...: svmigctl audit verify --cert <ours> ARGS, its output
# in $RES/OUT.txt and $out, its exit status in rc
verify() {
	local name=$1
	shift
	out=$("$SVMIGCTL" audit verify --cert "$P/$SVMIG_HOST.pem" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" >"$RES/$name.txt"
	printf '#   %s\n' "${out//$'\n'/$'\n'#   }"
}

echo "# t2_audit on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)"

# ------------------------------------------------------------------ setup
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "${out:-}"
[[ -x $SVMIGD && -x $SVMIGCTL ]] || bail "build/svmigd and build/svmigctl built"
svmigd_setup_trust >"$T/trust.txt" || bail "PKI, AKs and signed policy" "$(cat "$T/trust.txt")"
ok 1 "PKI, AKs and signed policy"
# under load the TLS handshake and the REQUEST can take more than the
# default 5 s that an unauthenticated connection has
SVMIGD_CONF_EXTRA=$'[connections]\npreauth_timeout_s = 30'
svmigd_start "$RES/svmigd.log" || bail "svmigd starts" "$(tail -n 5 "$RES/svmigd.log")"
ok 1 "svmigd runs"
cat "$P/ca-a.pem" "$P/ca-b.pem" "$P/op-ca.pem" >"$T/cas.pem"

if [[ $SVMIG_HOST == host-a ]]; then
	qemu_lib_init || bail "qemu_lib_init"
	if qemu_start src --guest --mem 64 --append "pages=512 burst=128" &&
		qemu_wait_serial src '^selfcheck ok iter=2 ' 120 && ! qemu_guest_failed src; then
		ok 1 "source QEMU runs the self-checking guest"
	else
		bail "source QEMU runs the self-checking guest" "$(qemu_dump_logs src 2>&1)"
	fi
	ln -s "$(qemu_qmp_sock src 2)" "$QMPDIR/$VM.qmp"
	svmig_rdv_wait dst-ready 300 >/dev/null || bail "$SVMIG_PEER's destination QEMU"
else
	qemu_lib_init || bail "qemu_lib_init"
	# busy: a VM of 1000 MiB already running here (no kernel: SeaBIOS
	# finds nothing to boot; QEMU runs all the same, its RAM untouched)
	if qemu_start busy --mem 1000 && qemu_start dst --guest --mem 64 --incoming; then
		ok 1 "host-b runs busy (1000 MiB), its destination QEMU for $VM waits"
	else
		bail "host-b's QEMUs" "$(qemu_dump_logs busy 2>&1; qemu_dump_logs dst 2>&1)"
	fi
	ln -s "$(qemu_qmp_sock busy 2)" "$QMPDIR/busy.qmp"
	ln -s "$(qemu_qmp_sock dst 2)" "$QMPDIR/$VM.qmp"
	st=$(qemu_qmp busy query-status 2>&1)
	ok "$([[ $(qemu_json_str "$st" status) == running ]] && echo 1 || echo 0)" \
		"busy is running" "$st"
	svmig_rdv_post dst-ready
fi

# ------------------------------------------------------- n: admission
if [[ $SVMIG_HOST == host-a ]]; then
	step "n: admission"
	"$SVMIGCTL" request --vm "$VM" --source host-a --target host-b --mem 64 \
		--vcpus 1 --cert "$P/alice.pem" --key "$P/alice.key" --out "$T/req-n.json" ||
		bail "svmigctl request"
	timeout 120 "$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req-n.json" \
		>"$RES/n.txt" 2>&1
	rc=$?
	sed 's/^/# /' "$RES/n.txt"
	st=$(qemu_qmp src query-status 2>&1)
	mig=$(qemu_qmp src query-migrate 2>&1)
	[[ $rc == 1 && $(qemu_json_str "$st" status) == running && $mig != *'"status"'* ]]
	ok "$((! $?))" "n: refused (exit $rc), the source VM runs on, no migration started on it" \
		"$st" "$mig"
	grep -Eq 'refused by host-b: memory: vm_mem_mib 64 \+ [0-9]+ MiB of 1 VMs running and 0 arriving here exceeds this host.s limit of 1024 MiB' \
		"$RES/n.txt"
	ok "$((! $?))" "n: the reason names the VM running on host-b and the limit" \
		"$(tail -n 3 "$RES/n.txt")"
	svmig_rdv_post refused
	svmig_rdv_wait busy-gone 120 >/dev/null || bail "host-b's busy quits"
else
	svmig_rdv_wait refused 300 >/dev/null || bail "host-a's request"
	grep -q '"step":"ADMIT".*"reason":"refused (memory): vm_mem_mib 64 + [0-9]* MiB of 1 VMs running' \
		"$STATE/audit.log"
	ok "$((! $?))" "n: host-b's audit log has the refusal at ADMIT with its figures" \
		"$(tail -n 2 "$STATE/audit.log")"
	! grep -q '"event":"session"' "$STATE/audit.log"
	ok "$((! $?))" "n: no session was keyed (no VM byte can have moved)"
	st=$(qemu_qmp dst query-status 2>&1)
	ok "$([[ $(qemu_json_str "$st" status) == inmigrate ]] && echo 1 || echo 0)" \
		"n: the destination QEMU still waits" "$st"
	qemu_qmp busy quit >/dev/null 2>&1
	for _ in $(seq 50); do qemu_alive busy || break; sleep 0.1; done
	ok "$(qemu_alive busy && echo 0 || echo 1)" "busy quit"
	svmig_rdv_post busy-gone
fi

# ------------------------------------------------------- m: the migration
# the log as it is now, for r (log and head rolled back together)
mkdir -p "$T/old"
cp "$STATE/audit.log" "$STATE/audit.log.head" "$T/old/"
if [[ $SVMIG_HOST == host-a ]]; then
	step "m: migration"
	"$SVMIGCTL" request --vm "$VM" --source host-a --target host-b --mem 64 \
		--vcpus 1 --cert "$P/alice.pem" --key "$P/alice.key" --out "$T/req-m.json" ||
		bail "svmigctl request"
	timeout 300 "$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req-m.json" \
		>"$RES/m.txt" 2>&1
	rc=$?
	ok "$((rc == 0))" "m: alice's request migrates $VM to host-b (busy gone)" \
		"$(tail -n 5 "$RES/m.txt")"
	svmig_rdv_post migrated "$rc"
else
	svmig_rdv_wait migrated 400 >/dev/null || bail "host-a's migration"
	st=$(qemu_qmp dst query-status 2>&1)
	ok "$([[ $(qemu_json_str "$st" status) == running ]] && echo 1 || echo 0)" \
		"m: the destination VM runs" "$st"
fi
# HEAD follows RESUMED: give the last records a moment, then share logs
for _ in $(seq 50); do
	grep -q '"event":"peer-head"' "$STATE/audit.log" && break
	sleep 0.2
done
cp "$STATE/audit.log" "$RES/audit-m.log"
svmig_rdv_post logs
svmig_rdv_wait logs 120 >/dev/null || bail "$SVMIG_PEER's audit log"
cp "$PEER_RES/audit-m.log" "$T/peer.log" || bail "$SVMIG_PEER's audit log readable"

# ---------------------------------------------- p: the peer's signatures
step "p: evidence"
grep -q "\"event\":\"peer-head\".*\"peer\":\"$SVMIG_PEER\".*\"evidence\":{\"kind\":\"head\"" \
	"$STATE/audit.log"
ok "$((! $?))" "p: the log keeps $SVMIG_PEER's signed head (a peer-head record)"
if [[ $SVMIG_HOST == host-a ]]; then kinds="request quote receipt resumed head"
else kinds="request quote commit head"; fi
missing=
for k in $kinds; do
	grep -q "\"evidence\":{\"kind\":\"$k\"" "$STATE/audit.log" || missing+=" $k"
done
ok "$([[ -z $missing ]] && echo 1 || echo 0)" \
	"p: the log keeps what was signed: $kinds" "missing:$missing"
verify p-peer --log "$STATE/audit.log" --peer "$P/$SVMIG_PEER.pem" --ca "$T/cas.pem" \
	--policy "$T/policy.json" --sig "$T/policy.json.sig" --authority "$P/authority.pem"
checked=$(sed -n 's/^evidence: \([0-9]*\) signed messages re-checked, 0 not checked$/\1/p' <<<"$out")
ok "$([[ $rc == 0 && ${checked:-0} -ge 4 ]] && echo 1 || echo 0)" \
	"p: audit verify --peer re-checks them offline (exit $rc, ${checked:-?} re-checked, 0 unchecked)" "$out"
(cd "$T" && openssl ecparam -name prime256v1 -genkey -noout -out fake.key &&
	openssl req -x509 -new -key fake.key -subj "/CN=$SVMIG_PEER" -days 2 \
		-sha256 -out fake.pem) >"$T/fake.txt" 2>&1 || bail "p: a fake certificate" "$(cat "$T/fake.txt")"
verify p-fake --log "$STATE/audit.log" --peer "$T/fake.pem"
[[ $rc == 1 && $out == *'BROKEN: '*": record "*" does not verify with $SVMIG_PEER's certificate"* ]] ||
	[[ $rc == 1 && $out == *'BROKEN: '*"the stored head of $SVMIG_PEER"* ]]
ok "$((! $?))" "p: with another key under $SVMIG_PEER's name: BROKEN, naming the record (exit $rc)" "$out"

# ------------------------------------------------------- a: the anchor
verify a-anchor --log "$STATE/audit.log" --anchor "$T/peer.log"
ok "$([[ $rc == 0 && $out == *'anchor '*': this host'"'"'s signed head of record '[0-9]*', reached'* ]] && echo 1 || echo 0)" \
	"a: audit verify --anchor $SVMIG_PEER's log: this log reaches the head $SVMIG_PEER keeps" "$out"

# ------------------------------------------------------- c: a cut tail
step "c: cut tail"
verify c-whole --log "$STATE/audit.log"
ok "$([[ $rc == 0 && $out == *'signed head: record '* ]] && echo 1 || echo 0)" \
	"c: the whole log verifies, its signed head beside it" "$out"
mkdir -p "$T/cut"
head -n -1 "$STATE/audit.log" >"$T/cut/audit.log"
cp "$STATE/audit.log.head" "$T/cut/audit.log.head"
verify c-cut --log "$T/cut/audit.log"
ok "$([[ $rc == 1 && $out == *'BROKEN: '*'cut tail: the signed head names record '* ]] && echo 1 || echo 0)" \
	"c: its last record cut off: BROKEN, cut tail (exit $rc)" "$out"
rm -f "$T/cut/audit.log.head"
verify c-nohead --log "$T/cut/audit.log"
ok "$([[ $rc == 1 && $out == *'BROKEN: '*'no signed head'* ]] && echo 1 || echo 0)" \
	"c: cut with its head deleted: BROKEN, no signed head (exit $rc)" "$out"

# -------------------------------------------------- r: rolled back
verify r-old --log "$T/old/audit.log"
ok "$((rc == 0))" "r: the log and head from before the migration verify alone (exit $rc)" "$out"
verify r-anchor --log "$T/old/audit.log" --anchor "$T/peer.log"
ok "$([[ $rc == 1 && $out == *'BROKEN: '*'cut tail: the anchor holds this host'"'"'s signed head of record '* ]] && echo 1 || echo 0)" \
	"r: rolled back, it does not reach what $SVMIG_PEER keeps: BROKEN (exit $rc)" "$out"

echo "# svmigd log:"
sed 's/^/#   /' "$RES/svmigd.log"
finish
