#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# libvirt migrates a live VM through svmig: the script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_libvirt.sh --timeout 900
# run (SVMIG_HOST says which).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".  Documentation/libvirt.rst describes
# the path; Documentation/testing.rst this test.
#
#   - both: the PKI, AKs and signed policy of svmigd-lib.sh
#     (svmigd_setup_trust); a real libvirtd each (tests/vm/libvirt-lib.sh:
#     its own mount namespace, listening on TCP for its peer's libvirtd);
#     svmigd with --libvirt, --libvirt-peer and the one --relay-dir;
#   - host-a: libvirt runs domain web-1 (the self-checking test guest);
#     host-a's svmigd sends its data through svmig-relay (tests/vm/relay.c)
#     on 127.0.0.1, transparent or tampering, one relay per migration;
#   - bob's request (role local: host-a -> host-a only) is refused by
#     policy before libvirt starts anything: web-1 runs on, no migration
#     job ever ran, host-b's libvirtd has no domain;
#   - svmigctl migrate --postcopy is refused (Documentation/libvirt.rst,
#     "postcopy"), before anything starts;
#   - a bit flipped in data record 50: libvirt's migration fails, web-1
#     runs on host-a (its guest keeps passing self-checks) and host-b's
#     libvirtd has no web-1;
#   - a bit flipped in the return path's record 1 (the target QEMU's
#     PONG): svmig.ko on host-a refuses it, the migration fails, web-1
#     runs on host-a only;
#   - alice's request through a transparent relay: svmigctl migrate
#     --libvirt web-1 --to host-b succeeds, web-1 is gone from host-a and
#     runs on host-b, where its guest keeps passing self-checks; both
#     channels (stream and return path) carried bytes;
#   - alice's request for web-2 with --channels 2 through svmig-relay
#     --connections 3, a bit flipped in record 50 of the second multifd
#     channel: host-b's svmig.ko refuses it, libvirt's migration fails
#     within 200 s (no job left running), web-2 runs on host-a only;
#   - alice's request for web-2, which has a vTPM (libvirt's swtpm), with
#     --channels 2 (QEMU multifd; the data through socat, the test relay
#     taking one connection): it runs on host-b after both multifd
#     channels' ENDs verified there, and its swtpm's permanent state there
#     is the one it had on host-a;
#   - both: the audit log verifies.
# Logs: $SVMIG_RESULTS_DIR/{svmigd.log,audit.log,migrate-*.txt,relay-*.log,
# libvirtd.log,web-1.serial.log}.
set -uo pipefail
export LC_ALL=C

if [[ -z ${SVMIG_HOST:-} ]]; then
	echo "1..0 # SKIP not a two-host run (tests/vm/run-two-hosts.sh)"
	exit 0
fi
cd "${SVMIG_WORKTREE:?}" || exit 1
# shellcheck source=tests/vm/svmigd-lib.sh
. tests/vm/svmigd-lib.sh
# shellcheck source=tests/vm/libvirt-lib.sh
. tests/vm/libvirt-lib.sh

VM=web-1
T=$(mktemp -d /tmp/t2lv.XXXXXX)
STATE=$T/state
QMPDIR=$T/qmp
# The same paths on both hosts: libvirt hands the one domain XML (serial
# log, emulator) and the one migrate URI (the relay's socket) to both.
LVDIR=/tmp/t2lv-libvirt
RELAY_DIR=/run/svmig-t2lv
RELAY=$PWD/build/tests/vm/svmig-relay
RELAY_PORT=7491
relay_pid=

# shellcheck source=tests/vm/t2-tap.sh
. tests/vm/t2-tap.sh
T2_FINISH_RENDEZVOUS=1
T2_CLEANUP=cleanup	# before the host checks: nothing may hold svmig.ko
# shellcheck disable=SC2317 # called from the EXIT trap and t2_host_checks
cleanup() {
	trap - EXIT
	[[ -n $relay_pid ]] && kill "$relay_pid" 2>/dev/null
	svmigd_stop
	cp "$STATE/audit.log" "$RES/audit.log" 2>/dev/null
	cp "$LVDIR/libvirtd.log" "$RES/libvirtd.log" 2>/dev/null
	cp "$(lv_serial_log "$VM")" "$RES/$VM.serial.log" 2>/dev/null
	lv_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

echo "# t2_libvirt on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)"

# ------------------------------------------------------------------ setup
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "$out"
[[ -x $SVMIGD && -x $SVMIGCTL && -x $RELAY ]] ||
	bail "build/svmigd, build/svmigctl, build/tests/vm/svmig-relay built"
if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null; then
	bail "libvirtd and virsh installed (scripts/install-deps.sh)"
fi
svmigd_setup_trust >"$T/trust.txt" || bail "PKI, AKs and signed policy" "$(cat "$T/trust.txt")"
mkdir -p "$RELAY_DIR"
rm -rf "$LVDIR"
t0=$SECONDS
lv_start "$LVDIR" "$SVMIG_ADDR" ||
	bail "libvirtd starts" "$(tail -n 20 "$LVDIR/stdout.log" "$LVDIR/libvirtd.log" 2>&1)"
ok 1 "libvirtd runs in its own mount namespace, listening on $SVMIG_ADDR ($((SECONDS - t0)) s)"
PEER_LV=qemu+tcp://$SVMIG_PEER_ADDR/system
SVMIGD_EXTRA_ARGS=(--libvirt "$(lv_uri)" --libvirt-peer "$SVMIG_PEER=$PEER_LV"
	--relay-dir "$RELAY_DIR")
[[ $SVMIG_HOST == host-a ]] && SVMIGD_PEER_DATA=127.0.0.1:$RELAY_PORT
svmigd_start "$RES/svmigd.log" || bail "svmigd starts" "$(tail -n 5 "$RES/svmigd.log")"
ok 1 "svmigd runs with --libvirt${SVMIGD_PEER_DATA:+ (data to host-b via $SVMIGD_PEER_DATA)}"
svmig_rdv_sync ready 300 >/dev/null || bail "$SVMIG_PEER's libvirtd and svmigd"

# web-2 has a vTPM (libvirt's swtpm): its first start makes the EK and
# platform certificates (swtpm_setup, 20-50 s under TCG), so host-a starts
# it now, in the background, while the other cases run.
TPM_XML="<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>"
if [[ $SVMIG_HOST == host-a ]]; then
	lv_domain_xml web-2 64 "$TPM_XML" >"$T/web-2.xml"
	# (under a heavy load libvirt may give up on swtpm's socket: once more)
	{
		lv_virsh create "$T/web-2.xml" >"$T/web-2.create" 2>&1 ||
			{ sleep 5; lv_virsh create "$T/web-2.xml" >>"$T/web-2.create" 2>&1; }
		echo $? >"$T/web-2.rc"
	} &
fi

# tpm_state_sha256 DOMAIN: SHA-256 of its swtpm's permanent state, as
# libvirt keeps it (in libvirtd's namespace, where /var/lib/libvirt is)
tpm_state_sha256() {
	local uuid
	uuid=$(lv_virsh domuuid "$1" 2>/dev/null) || return 1
	sha256sum "/proc/$LV_PID/root/var/lib/libvirt/swtpm/$uuid/tpm2/tpm2-00.permall" 2>/dev/null |
		cut -d' ' -f1
}

# peer_state: web-1's state as the peer's libvirtd reports it (or "absent")
peer_state() {
	local st
	st=$(virsh -q -c "$PEER_LV" domstate "$VM" 2>/dev/null) || { echo absent; return 0; }
	echo "${st%% *}"
}

# relay_start ATTACK [ARGS...]: svmig-relay on 127.0.0.1:RELAY_PORT to
# host-b's data port, ATTACK on record 50 of the stream; ARGS: more
# (--attack-back A --at-back N: on the return path's records)
relay_start() {
	local name=$1 _
	shift
	rm -f "$T/relay.ready"
	"$RELAY" --listen "$RELAY_PORT" --connect "$SVMIG_PEER_ADDR:$DATA_PORT" \
		--attack "$name" --at 50 --ready "$T/relay.ready" "$@" >"$RES/relay-$name.log" 2>&1 &
	relay_pid=$!
	for _ in $(seq 100); do
		[[ -e $T/relay.ready ]] && return 0
		sleep 0.1
	done
	return 1
}

relay_end() {
	[[ -n $relay_pid ]] || return 0
	kill "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	relay_pid=
}

# request WHO OUT [DOMAIN]: a fresh request of WHO (alice, bob) for
# DOMAIN (web-1) to host-b
# shellcheck disable=SC2317 # called through check
request() {
	"$SVMIGCTL" request --vm "${3:-$VM}" --source host-a --target host-b --mem 64 \
		--vcpus 1 --cert "$T/pki/$1.pem" --key "$T/pki/$1.key" --out "$2"
}

# migrate REQ OUT [DOMAIN [ARGS...]]: svmigctl migrate --libvirt, its status
migrate() {
	local req=$1 out=$2 dom=${3:-$VM}
	shift 3 2>/dev/null || shift $#
	timeout 400 "$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$req" \
		--libvirt "$dom" --to host-b "$@" >"$RES/$out" 2>&1
}

# peer_state_of DOMAIN
peer_state_of() {
	local st
	st=$(virsh -q -c "$PEER_LV" domstate "$1" 2>/dev/null) || { echo absent; return 0; }
	echo "${st%% *}"
}

# guest_keeps_checking [DOMAIN]: the guest's self-checks go on: two more
# iterations than the last one (the first, if none yet), no failure
guest_keeps_checking() {
	local log it='' _
	log=$(lv_serial_log "${1:-$VM}")
	for _ in $(seq 1200); do
		it=$(tr -d '\r' <"$log" 2>/dev/null |
			sed -n -E 's/^selfcheck ok iter=([0-9]+) .*/\1/p' | tail -n 1)
		[[ -n $it ]] && break
		sleep 0.1
	done
	[[ -n $it ]] || return 1
	for _ in $(seq 1200); do
		if tr -d '\r' <"$log" | grep -a -q -E '^selfcheck FAIL|^svmig-guest: halted'; then
			return 1
		fi
		tr -d '\r' <"$log" | grep -a -q -E "^selfcheck ok iter=$((it + 2)) " && return 0
		sleep 0.1
	done
	return 1
}

# ================================================================ host-a
if [[ $SVMIG_HOST == host-a ]]; then
	lv_domain_xml "$VM" 64 >"$T/$VM.xml"
	if out=$(lv_virsh create "$T/$VM.xml" 2>&1) && guest_keeps_checking; then
		ok 1 "libvirt runs domain $VM (the self-checking guest)"
	else
		bail "libvirt runs domain $VM" "$out" "$(tail -n 5 "$(lv_serial_log "$VM")" 2>&1)"
	fi

	# ---- bob: refused by policy, before libvirt does anything
	check "svmigctl request (bob)" request bob "$T/req-bob.json"
	migrate "$T/req-bob.json" migrate-bob.txt
	rc=$?
	jobs=$(lv_virsh domjobinfo "$VM" --completed 2>&1)
	[[ $rc == 1 && $(lv_state "$VM") == running && $(peer_state) == absent &&
		$jobs != *Completed* && $jobs != *Failed* ]] &&
		grep -q 'does not allow target' "$RES/migrate-bob.txt"
	ok "$((! $?))" "bob's request is refused by policy before libvirt starts a migration" \
		"svmigctl exit $rc: $(tail -n 3 "$RES/migrate-bob.txt")" \
		"host-a: $(lv_state "$VM"), host-b: $(peer_state)" "domjobinfo --completed: $jobs"
	! grep -q 'libvirt migrates' "$RES/migrate-bob.txt"
	ok "$((! $?))" "bob: svmigd never asked libvirt to migrate" "$(cat "$RES/migrate-bob.txt")"

	# ---- a bit flipped in data record 50
	check "svmigctl request (alice, 1)" request alice "$T/req-1.json"

	# ---- postcopy: refused by svmigctl, before svmigd or libvirt hear of it
	migrate "$T/req-1.json" migrate-postcopy.txt "$VM" --postcopy
	rc=$?
	[[ $rc == 2 && $(lv_state "$VM") == running && $(peer_state) == absent ]] &&
		grep -q -- '--postcopy: refused: postcopy runs the VM on the target before svmig verified' \
			"$RES/migrate-postcopy.txt" && ! grep -q 'libvirt migrates' "$RES/migrate-postcopy.txt"
	ok "$((! $?))" "svmigctl migrate --libvirt $VM --postcopy is refused with its reason; nothing started" \
		"svmigctl exit $rc: $(cat "$RES/migrate-postcopy.txt")" \
		"host-a: $(lv_state "$VM"), host-b: $(peer_state)"

	relay_start flip || bail "svmig-relay (flip) listens"
	migrate "$T/req-1.json" migrate-tamper.txt
	rc=$?
	relay_end
	sed 's/^/# /' "$RES/migrate-tamper.txt"
	[[ $rc == 1 && $(lv_state "$VM") == running && $(peer_state) == absent ]]
	ok "$((! $?))" "tampered data: the migration fails, $VM runs on host-a and not on host-b" \
		"svmigctl exit $rc: $(tail -n 3 "$RES/migrate-tamper.txt")" \
		"host-a: $(lv_state "$VM"), host-b: $(peer_state)" "$(cat "$RES/relay-flip.log")"
	grep -q 'flip on record 50' "$RES/relay-flip.log"
	ok "$((! $?))" "tampered data: the relay flipped a bit in record 50" "$(cat "$RES/relay-flip.log")"
	grep -q 'libvirt migrates' "$RES/migrate-tamper.txt" &&
		! grep -q '^commit:' "$RES/migrate-tamper.txt"
	ok "$((! $?))" "tampered data: libvirt had started, and the gate never opened (no COMMIT)" \
		"$(cat "$RES/migrate-tamper.txt")"
	guest_keeps_checking
	ok "$((! $?))" "tampered data: the guest keeps passing self-checks on host-a" \
		"$(tail -n 5 "$(lv_serial_log "$VM")" 2>&1)"

	# ---- a bit flipped in the return path's first data record (PONG)
	check "svmigctl request (alice, back)" request alice "$T/req-back.json"
	relay_start none --attack-back flip --at-back 1 || bail "svmig-relay (flip back) listens"
	migrate "$T/req-back.json" migrate-tamper-back.txt
	rc=$?
	relay_end
	mv "$RES/relay-none.log" "$RES/relay-back.log"
	sed 's/^/# /' "$RES/migrate-tamper-back.txt"
	[[ $rc == 1 && $(lv_state "$VM") == running && $(peer_state) == absent ]] &&
		grep -q 'svmig.ko refused the return path' "$RES/migrate-tamper-back.txt" &&
		! grep -q '^commit:' "$RES/migrate-tamper-back.txt"
	ok "$((! $?))" "tampered return path: svmig.ko refuses it, the migration fails, $VM runs on host-a only" \
		"svmigctl exit $rc: $(tail -n 3 "$RES/migrate-tamper-back.txt")" \
		"host-a: $(lv_state "$VM"), host-b: $(peer_state)" "$(cat "$RES/relay-back.log")"
	grep -q 'flip on record 1 ' "$RES/relay-back.log"
	ok "$((! $?))" "tampered return path: the relay flipped a bit in its record 1" \
		"$(cat "$RES/relay-back.log")"
	svmig_rdv_post tampered

	# ---- alice: the migration
	check "svmigctl request (alice, 2)" request alice "$T/req-2.json"
	relay_start none || bail "svmig-relay (transparent) listens"
	migrate "$T/req-2.json" migrate-alice.txt
	rc=$?
	relay_end
	sed 's/^/# /' "$RES/migrate-alice.txt"
	ok "$((rc == 0))" "svmigctl migrate --libvirt $VM --to host-b: libvirt migrated it through svmig" \
		"svmigctl exit $rc"
	[[ $(lv_state "$VM") == absent && $(peer_state) == running ]]
	ok "$((! $?))" "$VM left host-a and runs on host-b" \
		"host-a: $(lv_state "$VM"), host-b: $(peer_state)"
	grep -Eq '^commit: valid receipt \([0-9]+ records verified\): committing, opening the gate' \
		"$RES/migrate-alice.txt"
	ok "$((! $?))" "the gate opened only on the target's valid receipt" \
		"$(cat "$RES/migrate-alice.txt")"
	svmig_rdv_post migrated "$rc"

	# ---- multifd: web-2 with 2 channels, straight through socat (the
	# test relay takes one connection; these are three)
	for _ in $(seq 1200); do
		[[ -s $T/web-2.rc ]] && break
		sleep 0.1
	done
	[[ $(cat "$T/web-2.rc" 2>/dev/null) == 0 ]] && guest_keeps_checking web-2 &&
		lv_virsh dumpxml web-2 | grep -q "<backend type='emulator'"
	ok "$((! $?))" "libvirt runs domain web-2 with a vTPM (swtpm)" \
		"$(cat "$T/web-2.create" 2>&1)" "$(tail -n 3 "$(lv_serial_log web-2)" 2>&1)"
	tpm_sha=$(tpm_state_sha256 web-2)
	ok "$([[ $tpm_sha =~ ^[0-9a-f]{64}$ ]] && echo 1 || echo 0)" \
		"web-2's vTPM state on host-a: sha256 $tpm_sha"

	# ---- multifd, a bit flipped in record 50 of the second multifd
	# channel's connection (the relay's third: main, multifd 1, multifd 2)
	check "svmigctl request (alice, web-2 tampered)" request alice "$T/req-mt.json" web-2
	relay_start flip --connections 3 --attack-conn 2 ||
		bail "svmig-relay (flip, multifd connection 2) listens"
	t0=$SECONDS
	migrate "$T/req-mt.json" migrate-multifd-tamper.txt web-2 --channels 2
	rc=$?
	took=$((SECONDS - t0))
	relay_end
	mv "$RES/relay-flip.log" "$RES/relay-mfd-flip.log"
	sed 's/^/# /' "$RES/migrate-multifd-tamper.txt"
	[[ $rc == 1 && $(lv_state web-2) == running && $(peer_state_of web-2) == absent ]] &&
		! grep -q '^commit:' "$RES/migrate-multifd-tamper.txt"
	ok "$((! $?))" "tampered multifd channel: libvirt's migration fails, web-2 runs on host-a and not on host-b" \
		"svmigctl exit $rc after $took s: $(tail -n 3 "$RES/migrate-multifd-tamper.txt")" \
		"host-a: $(lv_state web-2), host-b: $(peer_state_of web-2)" \
		"$(cat "$RES/relay-mfd-flip.log")"
	((took < 200))
	ok "$((! $?))" "tampered multifd channel: svmigctl returned within 200 s (took $took s)"
	grep -Eq "signed receipt says it failed: multifd channel [0-9]+: svmig.ko refused the stream" \
		"$RES/migrate-multifd-tamper.txt"
	ok "$((! $?))" "tampered multifd channel: host-b's signed receipt names the refused channel" \
		"$(cat "$RES/migrate-multifd-tamper.txt")"
	grep -q 'flip on record 50' "$RES/relay-mfd-flip.log"
	ok "$((! $?))" "tampered multifd channel: the relay flipped a bit in record 50 of connection 2" \
		"$(cat "$RES/relay-mfd-flip.log")"
	jobs=$(lv_virsh domjobinfo web-2 2>&1)
	[[ $jobs == *None* ]]
	ok "$((! $?))" "tampered multifd channel: no migration job of web-2 goes on at host-a" "$jobs"
	guest_keeps_checking web-2
	ok "$((! $?))" "tampered multifd channel: web-2's guest keeps passing self-checks on host-a" \
		"$(tail -n 5 "$(lv_serial_log web-2)" 2>&1)"
	svmig_rdv_post mfd-tampered

	# ---- multifd, untampered, through socat
	socat "TCP-LISTEN:$RELAY_PORT,reuseaddr,fork" "TCP:$SVMIG_PEER_ADDR:$DATA_PORT" \
		>"$RES/socat.log" 2>&1 &
	relay_pid=$!
	for _ in $(seq 100); do
		ss -ltn 2>/dev/null | grep -q ":$RELAY_PORT " && break
		sleep 0.1
	done
	check "svmigctl request (alice, web-2)" request alice "$T/req-3.json" web-2
	migrate "$T/req-3.json" migrate-multifd.txt web-2 --channels 2
	rc=$?
	relay_end
	sed 's/^/# /' "$RES/migrate-multifd.txt"
	ok "$((rc == 0))" "svmigctl migrate --libvirt web-2 --to host-b --channels 2: multifd through svmig" \
		"svmigctl exit $rc"
	[[ $(lv_state web-2) == absent && $(peer_state_of web-2) == running ]]
	ok "$((! $?))" "web-2 left host-a and runs on host-b" \
		"host-a: $(lv_state web-2), host-b: $(peer_state_of web-2)"
	grep -Eq '^data: 2 multifd channels ended \([1-9][0-9]* records\); the session.s ENDs: channel 0: [1-9][0-9]* records, [1-9][0-9]* bytes; channel 2: [1-9][0-9]* records, [1-9][0-9]* bytes; channel 3: [1-9][0-9]* records, [1-9][0-9]* bytes$' \
		"$RES/migrate-multifd.txt"
	ok "$((! $?))" "both multifd channels carried sealed records and were ended before the gate (counts per channel)" \
		"$(cat "$RES/migrate-multifd.txt")"
	svmig_rdv_post multifd "$tpm_sha"
else
	svmig_rdv_wait tampered 600 >/dev/null || bail "host-a's tampered migration"
	[[ $(lv_state "$VM") == absent ]]
	ok "$((! $?))" "tampered data: libvirt on host-b kept no $VM" "$(lv_virsh list --all 2>&1)"
	grep -q 'svmig.ko refused the stream' "$RES/svmigd.log"
	ok "$((! $?))" "tampered data: host-b's svmigd names svmig.ko's refusal" \
		"$(grep -i 'DATA failed' "$RES/svmigd.log")"

	svmig_rdv_wait migrated 600 >/dev/null || bail "host-a's migration"
	[[ $(lv_state "$VM") == running ]]
	ok "$((! $?))" "$VM runs here under libvirt" "$(lv_virsh list --all 2>&1)"
	guest_keeps_checking
	ok "$((! $?))" "the migrated guest keeps passing self-checks on host-b" \
		"$(tail -n 5 "$(lv_serial_log "$VM")" 2>&1)"
	grep -q 'verified and running here (libvirt)' "$RES/svmigd.log"
	ok "$((! $?))" "host-b's svmigd verified the END before libvirt ran the VM" \
		"$(tail -n 5 "$RES/svmigd.log")"

	svmig_rdv_wait mfd-tampered 600 >/dev/null || bail "host-a's tampered multifd migration"
	[[ $(lv_state web-2) == absent ]]
	ok "$((! $?))" "tampered multifd channel: libvirt on host-b kept no web-2" \
		"$(lv_virsh list --all 2>&1)"
	grep -Eq 'multifd channel [0-9]+: svmig.ko refused the stream' "$RES/svmigd.log"
	ok "$((! $?))" "tampered multifd channel: host-b's svmigd names svmig.ko's refusal" \
		"$(grep -i 'DATA failed' "$RES/svmigd.log")"

	a_tpm=$(svmig_rdv_wait multifd 600) || bail "host-a's multifd migration"
	guest_keeps_checking web-2
	ok "$((! $?))" "web-2 (multifd) keeps passing self-checks on host-b" \
		"$(tail -n 5 "$(lv_serial_log web-2)" 2>&1)"
	b_tpm=$(tpm_state_sha256 web-2)
	[[ -n $a_tpm && $b_tpm == "$a_tpm" ]]
	ok "$((! $?))" "web-2's vTPM state arrived: its swtpm state here is host-a's (sha256)" \
		"host-a: $a_tpm" "host-b: $b_tpm"
	grep -Eq 'data: 2 multifd channels verified \([1-9][0-9]* records\): one session, one verdict over channel 0 \([1-9][0-9]* records, [1-9][0-9]* bytes\) and channel 2: [1-9][0-9]* records, [1-9][0-9]* bytes; channel 3: [1-9][0-9]* records, [1-9][0-9]* bytes' \
		"$RES/svmigd.log"
	ok "$((! $?))" "host-b: one kernel session's verdict covers the main channel and both multifd channels, before its receipt" \
		"$(grep -E 'multifd|DATA failed' "$RES/svmigd.log")"
fi

# ------------------------------------------------------------------ audit
"$SVMIGCTL" audit verify --log "$STATE/audit.log" --cert "$T/pki/$SVMIG_HOST.pem" \
	>"$T/audit.txt" 2>&1
ok "$((! $?))" "svmigctl audit verify: $(cat "$T/audit.txt")"
want="receipt commit resumed"
got=$(grep -o '"event":"[a-z]*"' "$STATE/audit.log" 2>/dev/null | cut -d'"' -f4 |
	grep -E '^(receipt|commit|resumed)$' | tail -n 3 | xargs)
[[ $got == "$want" ]]
ok "$((! $?))" "the audit log records the handover: $want" "got: $got"
echo "# svmigd log:"
sed 's/^/#   /' "$RES/svmigd.log"
finish
