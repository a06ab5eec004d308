#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Two-host refusals through svmigd: the script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_refusals.sh --timeout 600
# run (SVMIG_HOST says which).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".  Setup as t2_migrate.sh (svmigd-lib.sh),
# plus certificates of its own: on host-a, carol (operator CA; role dba:
# db-* VMs only, enrolled by svmigd_policy) and alice-x (CN alice, issued
# by ca-a: a CA svmigd trusts for hosts, not for operators); on host-b,
# ca-x (a CA nobody trusts) and a host-b certificate from it, and host-c
# (CN host-c, from host-b's own trusted CA).  host-a runs one self-checking
# source guest as web-1, host-b one destination QEMU (-incoming defer) for
# web-1.  Every request is made with svmigctl request and sent with
# svmigctl migrate on host-a; the cases, in this order:
#
#   c. refused by host-a's svmigd before it contacts host-b: alice's signed
#      request with one byte edited, the same without its signature, one
#      signed by alice-x;
#   a. host-b's svmigd (restarted) presents the ca-x certificate: refused
#      in the TLS handshake (unknown issuer);
#   b. host-b's svmigd presents host-c's certificate: refused in the TLS
#      handshake (host name);
#   d. host-b's own svmigd again: bob (role local: target host-a only) and
#      carol (role dba: db-* only) are refused by host-a's policy (REQUEST);
#   f. alice asks for 2048 MiB, then 3 vCPUs: host-b's limits are 1024 MiB
#      and 2 vCPUs, refused at ADMIT with the reason sent back;
#   e. host-b's policy.json gets one byte changed (signature kept): the
#      running svmigd keeps the policy it verified; restarted, it refuses
#      to start; a migration to host-b then fails;
#   g. (host-b alone, its svmigd down since e) another policy authority:
#      a new key and certificate, the policy re-signed with it, everything
#      consistent but the authority not the one svmigd_start bound to the
#      TPM (NV index $AUTH_NV): svmigctl tpm-bind-authority cannot rebind
#      it, and svmigd refuses to start naming the NV index.
#
# Each case: svmigctl migrate exits 1 naming the reason; the source VM runs
# on (query-status running, no migration in query-migrate, its self-checks
# go on); on host-b the destination QEMU still waits (inmigrate) and svmigd
# began no session and no DATA step (its logs, its audit log); the side
# that refused has the refusal in its audit log.  At the end both audit
# logs verify (svmigctl audit verify).
#
# Refusals before a session (the request check, the connection, the TLS
# handshake, a policy refused at start) are audited by the daemon itself
# (report.c, audit_early).
#
# Logs: $SVMIG_RESULTS_DIR/{svmigd*.log,audit.log,CASE.txt,qemu/,...}.
set -uo pipefail
export LC_ALL=C

if [[ -z ${SVMIG_HOST:-} ]]; then
	echo "1..0 # SKIP not a two-host run (tests/vm/run-two-hosts.sh)"
	exit 0
fi
cd "${SVMIG_WORKTREE:?}" || exit 1
# No VM byte is to move here, so speed does not matter: TCG rather than
# nested KVM, whose vCPU thread has held a test host's only CPU for 29 s
# (soft lockup in KVM_RUN, a t2_failures.sh run) and starved svmigd.
QEMU_ACCEL=tcg
# shellcheck source=tests/vm/qemu-lib.sh
. tests/vm/qemu-lib.sh
# shellcheck source=tests/vm/svmigd-lib.sh
. tests/vm/svmigd-lib.sh

VM=web-1
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

# The checks below read files with bash builtins: in the test VM (TCG,
# one CPU, a spinning nested guest) every process started costs time.

# lines FILE: FILE's lines into the array L (none if it cannot be read)
lines() {
	L=()
	[[ -r $1 ]] && mapfile -t L <"$1"
	return 0
}

# alines: how many records our audit log has
alines() {
	lines "$STATE/audit.log"
	echo "${#L[@]}"
}

# has LINE TEXT...: LINE contains every TEXT
has() {
	local line=$1 t
	shift
	for t in "$@"; do
		[[ $line == *"$t"* ]] || return 1
	done
	return 0
}

# audited CASE BEFORE EVENT-ERE TEXT...: a record after the first BEFORE
# of our audit log has an event matching EVENT-ERE and every TEXT
audited() {
	local c=$1 before=$2 ev=$3 re="\"event\":\"($3)\"" line pass=0 desc
	local -a diag=()
	shift 3
	lines "$STATE/audit.log"
	for line in "${L[@]:before}"; do
		diag+=("${line:0:400}")
		[[ $line =~ $re ]] && has "$line" "$@" && pass=1
	done
	desc="$c: the $SVMIG_HOST audit log records it ($ev: $*)"
	((${#diag[@]})) || diag=("(no record after record $before)")
	ok "$pass" "$desc" "${diag[@]: -3}"
}

# ---------------------------------------------------------------- host-a

# req CASE OPERATOR [VM [MEM [VCPUS]]]: OPERATOR's signed request, host-a
# -> host-b, in $T/CASE.json
req() {
	local out
	out=$("$SVMIGCTL" request --vm "${3:-$VM}" --source host-a --target host-b \
		--mem "${4:-64}" --vcpus "${5:-1}" --cert "$P/$2.pem" --key "$P/$2.key" \
		--out "$T/$1.json" 2>&1)
	ok "$((! $?))" "$1: svmigctl request ($2: ${3:-$VM}, ${4:-64} MiB, ${5:-1} vCPUs)" "$out"
}

# migrate CASE: svmigctl migrate $T/CASE.json, its output in $RES/CASE.txt;
# sets rc
migrate() {
	local s=$SECONDS
	timeout 120 "$SVMIGCTL" migrate --config "$T/svmigd.conf" \
		--request "$T/$1.json" >"$RES/$1.txt" 2>&1
	rc=$?
	sed 's/^/#   /' "$RES/$1.txt"
	step "$1: svmigctl exit $rc after $((SECONDS - s)) s"
}

# src_runs_on CASE: the source VM runs, no migration began, its guest's
# self-checks go on
src_runs_on() {
	local st mig it
	st=$(qemu_qmp src query-status 2>&1)
	mig=$(qemu_qmp src query-migrate 2>&1)
	[[ $(qemu_json_str "$st" status) == running && $mig == *'"return"'* && $mig != *'"status"'* ]]
	ok "$((! $?))" "$1: the source VM runs, no migration began (query-status, query-migrate)" \
		"$st" "$mig"
	it=$(qemu_guest_iter src)
	if [[ -n $it ]] && qemu_wait_serial src "^selfcheck (ok iter=$((it + 2)) |FAIL)" 60 &&
		! qemu_guest_failed src; then
		ok 1 "$1: its guest keeps passing self-checks (iteration $it, then $((it + 2)))"
	else
		ok 0 "$1: its guest keeps passing self-checks" "$(qemu_dump_logs src 2>&1)"
	fi
}

# refused CASE TEXT...: svmigctl migrate $T/CASE.json exits 1, its result
# names the reason (every TEXT), nothing moved, the source runs on
refused() {
	local c=$1 result t pass=1
	shift
	migrate "$c"
	ok "$((rc == 1))" "$c: svmigctl migrate exits 1" "exit $rc"
	result=$(grep '^result: ' "$RES/$c.txt")
	[[ $result == 'result: FAILED: '* ]] || pass=0
	for t in "$@"; do
		[[ $result == *"$t"* ]] || pass=0
	done
	ok "$pass" "$c: refused: ${result#result: }" "expected: $*" "$(cat "$RES/$c.txt")"
	! grep -q '^data:' "$RES/$c.txt"
	ok "$((! $?))" "$c: host-a's svmigd began no DATA step"
	src_runs_on "$c"
}

# ---------------------------------------------------------------- host-b

# logged CASE FILE TEXT...: within 20 s a line of svmigd's log FILE has
# every TEXT
logged() {
	local c=$1 file=$2 line found='' _
	shift 2
	for _ in $(seq 200); do
		lines "$file"
		for line in "${L[@]}"; do
			has "$line" "$@" && found=$line
		done
		[[ -n $found ]] && break
		sleep 0.1
	done
	ok "$([[ -n $found ]] && echo 1 || echo 0)" \
		"$c: host-b's svmigd log names it: ${found#svmigd: }" \
		"expected in ${file##*/}: $*" "${L[@]: -3}"
}

# dst_untouched CASE: the destination QEMU waits, svmigd began no session
# and no DATA step (any of its logs, its audit log)
dst_untouched() {
	local st f line
	local re='svmigd: (session with |data: |vm .* (received|verified|resumed)|DATA failed|destination QEMU told|COMMIT)|"event":"(session|data|receipt|commit|resumed)"'
	local -a began=()
	st=$(qemu_qmp dst query-status 2>&1)
	[[ $st == *'"inmigrate"'* ]]
	ok "$((! $?))" "$1: the destination QEMU still waits (inmigrate)" "$st"
	for f in "$RES"/svmigd*.log "$STATE/audit.log"; do
		lines "$f"
		for line in "${L[@]}"; do
			[[ $line =~ $re ]] && began+=("${f##*/}: ${line:0:300}")
		done
	done
	ok "$((! ${#began[@]}))" "$1: host-b's svmigd began no session and no DATA step (logs, audit)" \
		"${began[@]}"
}

# x_host DIR CERT: DIR (under $T) as $T for svmigd_start, but with
# certificate CERT as this host's
x_host() {
	mkdir -p "$T/$1/pki" "$T/$1/state" &&
		cp "$P"/*.pem "$P"/*.key "$T/$1/pki/" &&
		cp "$P/$2.pem" "$T/$1/pki/$SVMIG_HOST.pem" &&
		cp "$P/$2.key" "$T/$1/pki/$SVMIG_HOST.key" &&
		cp "$T/policy.json" "$T/policy.json.sig" "$T/$1/"
}

# svmigd_as DIR LOG: svmigd_start with DIR's certificates, policy and
# state directory (the audit log of host-b's own key stays apart)
svmigd_as() {
	# shellcheck disable=SC2034 # read by svmigd_start
	local T=$1 STATE=$1/state
	svmigd_start "$2"
}

# x_cert NAME CN CA [DNS]: NAME.pem and NAME.key in the current directory,
# for CN, issued by CA (CA.pem, CA.key there), subjectAltName DNS if given
x_cert() {
	printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
		extendedKeyUsage=serverAuth,clientAuth >"$1.ext"
	[[ -z ${4:-} ]] || echo "subjectAltName=DNS:$4" >>"$1.ext"
	openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" &&
		openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" &&
		openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
			-CAcreateserial -days 2 -sha256 -extfile "$1.ext" -out "$1.pem"
}

# x_ca NAME: a self-signed CA NAME.pem, NAME.key in the current directory
x_ca() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" &&
		openssl req -x509 -new -key "$1.key" -subj "/CN=svmig test $1" \
			-days 2 -sha256 -out "$1.pem" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature
}

echo "# t2_refusals on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)"

# ------------------------------------------------------------------ setup
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "$out"
[[ -x $SVMIGD && -x $SVMIGCTL ]] || bail "build/svmigd and build/svmigctl built"
mkdir -p "$STATE" "$QMPDIR" "$P"
# Each QEMU first (host-b's while host-a makes the PKI).  The source guest
# spins: nice 19 on all its threads puts svmigd and this script first.
qemu_lib_init || bail "qemu_lib_init"
if [[ $SVMIG_HOST == host-a ]]; then
	qemu_start src --guest --mem 64 --append "pages=512 burst=128" ||
		bail "source QEMU starts" "$(qemu_dump_logs src 2>&1)"
	for t in /proc/"$(qemu_pid src)"/task/*; do
		renice -n 19 -p "${t##*/}" >/dev/null
	done
	ln -s "$(qemu_qmp_sock src 2)" "$QMPDIR/$VM.qmp"
else
	qemu_start dst --guest --mem 64 --incoming ||
		bail "destination QEMU starts" "$(qemu_dump_logs dst 2>&1)"
	ln -s "$(qemu_qmp_sock dst 2)" "$QMPDIR/$VM.qmp"
fi
step "QEMU started"
# host-a's own (host-b needs neither), made with the PKI
svmigd_pki_more() {
	(cd "$1" && x_cert carol carol op-ca && x_cert alice-x alice ca-a)
}
svmigd_trust_pki >"$T/trust.txt" || bail "test PKI, carol's and alice-x's" "$(cat "$T/trust.txt")"
[[ $SVMIG_HOST == host-b || -f $P/alice-x.pem ]] ||
	bail "PKI files readable" "$(ls "$A_RES/pki" 2>&1)"
step "PKI"
svmigd_trust_ak >"$T/trust.txt" || bail "AKs" "$(cat "$T/trust.txt")"
if [[ $SVMIG_HOST == host-b ]]; then
	# host-b's own: ca-x and a host-b certificate from it, and host-c's
	# certificate from host-b's (trusted) CA
	(cd "$P" && x_ca ca-x && x_cert host-b-x host-b ca-x host-b &&
		x_cert host-c host-c ca-b host-c) >"$T/pki-b.txt" 2>&1 ||
		bail "certificates of ca-x and host-c" "$(cat "$T/pki-b.txt")"
fi
step "AK"
svmigd_carol_pem=$P/carol.pem
svmigd_trust_policy >"$T/trust.txt" || bail "signed policy" "$(cat "$T/trust.txt")"
svmigd_start "$RES/svmigd.log" || bail "svmigd starts" "$(tail -n 5 "$RES/svmigd.log")"
ok 1 "setup: PKI, policy (alice, bob, carol), svmigd runs"
step "svmigd"

# ================================================================ host-a
if [[ $SVMIG_HOST == host-a ]]; then
	if qemu_wait_serial src '^selfcheck ok iter=2 ' 120 && ! qemu_guest_failed src; then
		ok 1 "source QEMU runs the self-checking guest (accel $QEMU_ACCEL)"
	else
		bail "source QEMU runs the self-checking guest" "$(qemu_dump_logs src 2>&1)"
	fi
	svmig_rdv_wait dst-ready 300 >/dev/null || bail "host-b's destination QEMU"

	# ---- c: refused by host-a's own svmigd; host-b is not contacted
	step "c: an edited, an unsigned and a foreign operator's request"
	req c-signed alice web-2
	sed 's/"vm":"web-2"/"vm":"web-1"/' "$T/c-signed.json" >"$T/c-edited.json"
	[[ $(cmp -l "$T/c-signed.json" "$T/c-edited.json" 2>/dev/null | wc -l) == 1 ]]
	ok "$((! $?))" "c-edited: alice's signed request for web-2, one byte edited: web-1"
	req c-unsigned alice
	sed -i 's/,"signature":"[^"]*"//' "$T/c-unsigned.json"
	! grep -q '"signature"' "$T/c-unsigned.json"
	ok "$((! $?))" "c-unsigned: alice's request for $VM, its signature stripped"
	req c-foreign alice-x
	for c in c-edited:'signature does not verify with the certificate' \
		c-unsigned:'request is not signed' \
		c-foreign:'operator certificate not trusted: unable to get local issuer certificate'; do
		before=$(alines)
		refused "${c%%:*}" "${c#*:}"
		! grep -q '^connect:' "$RES/${c%%:*}.txt"
		ok "$((! $?))" "${c%%:*}: refused before contacting host-b (no connect step)"
		audited "${c%%:*}" "$before" refused "${c#*:}"
	done
	svmig_rdv_post c-done

	# ---- a, b: host-b's certificate
	for c in a:'unable to get local issuer certificate' b:'hostname mismatch'; do
		svmig_rdv_wait "${c%%:*}-ready" 300 >/dev/null ||
			bail "${c%%:*}: host-b's svmigd with another certificate"
		step "${c%%:*}: host-b presents $([[ $c == a* ]] && echo "ca-x's host-b" || echo "host-c's") certificate"
		req "${c%%:*}" alice
		before=$(alines)
		refused "${c%%:*}" 'TLS handshake with host-b: ' 'certificate verify failed' "${c#*:}"
		audited "${c%%:*}" "$before" refused "${c#*:}"
		svmig_rdv_post "${c%%:*}-done"
	done

	# ---- d: roles
	svmig_rdv_wait d-ready 300 >/dev/null || bail "d: host-b's svmigd back"
	step "d: bob and carol, whose roles do not allow it"
	req d-bob bob
	before=$(alines)
	refused d-bob 'REQUEST: policy: role local does not allow target host-b'
	audited d-bob "$before" refused '"by":"us"' 'role local does not allow target host-b'
	req d-carol carol
	before=$(alines)
	refused d-carol 'REQUEST: policy: role dba does not allow vm web-1'
	audited d-carol "$before" refused '"by":"us"' 'role dba does not allow vm web-1'
	svmig_rdv_post d-done
	svmig_rdv_wait d-checked 300 >/dev/null || bail "d: host-b's checks"

	# ---- f: host-b's limits (1024 MiB, 2 vCPUs)
	step "f: more memory, then more vCPUs than host-b admits"
	req f-mem alice "$VM" 2048 1
	before=$(alines)
	refused f-mem 'ADMIT: refused by host-b: memory: vm_mem_mib 2048 exceeds' '1024 MiB'
	audited f-mem "$before" refused '"by":"peer"' 'memory: vm_mem_mib 2048 exceeds'
	req f-vcpus alice "$VM" 64 3
	before=$(alines)
	refused f-vcpus 'ADMIT: refused by host-b: vcpus: vm_vcpus 3 exceeds' 'limit of 2'
	audited f-vcpus "$before" refused '"by":"peer"' 'vcpus: vm_vcpus 3 exceeds'
	svmig_rdv_post f-done

	# ---- e: host-b's svmigd refused to start (tampered policy)
	svmig_rdv_wait e-ready 300 >/dev/null || bail "e: host-b's tampered policy"
	step "e: host-b's svmigd is down"
	req e alice
	before=$(alines)
	refused e 'cannot connect to host-b at '
	audited e "$before" 'refused|failed' 'cannot connect to host-b'
	svmig_rdv_post e-done

	re='"event":"(session|data|receipt|commit|resumed|completed)"'
	sess=()
	lines "$STATE/audit.log"
	for line in "${L[@]}"; do
		[[ $line =~ $re ]] && sess+=("${line:0:300}")
	done
	ok "$((! ${#sess[@]}))" "no case reached a session on host-a (audit: no session, data, receipt)" \
		"${sess[@]}"

# ================================================================ host-b
else
	st=$(qemu_qmp dst query-status 2>&1)
	[[ $st == *'"inmigrate"'* ]]
	ok "$((! $?))" "destination QEMU waits (-incoming defer, accel $QEMU_ACCEL)" "$st"
	nlog=$(wc -l <"$RES/svmigd.log")
	svmig_rdv_post dst-ready

	# ---- c
	svmig_rdv_wait c-done 300 >/dev/null || bail "host-a's case c"
	now=$(wc -l <"$RES/svmigd.log")
	((now == nlog))
	ok "$((! $?))" "c: nothing reached host-b's svmigd (no new line in its log)" \
		"$(tail -n "+$((nlog + 1))" "$RES/svmigd.log")"
	dst_untouched c
	step "c checked"

	# ---- a, b: svmigd restarted with another certificate, its own state
	for c in a:host-b-x:'alert unknown ca' b:host-c:'alert bad certificate'; do
		x=${c%%:*}
		svmigd_stop
		x_host "x-$x" "$(cut -d: -f2 <<<"$c")" || bail "$x: files for svmigd"
		svmigd_as "$T/x-$x" "$RES/svmigd-$x.log" ||
			bail "$x: svmigd starts with $(cut -d: -f2 <<<"$c").pem" \
				"$(tail -n 5 "$RES/svmigd-$x.log")"
		ok 1 "$x: host-b's svmigd presents $(openssl x509 -in "$T/x-$x/pki/host-b.pem" \
			-noout -subject -issuer | tr '\n' ' ')"
		svmig_rdv_post "$x-ready"
		step "$x: svmigd restarted"
		svmig_rdv_wait "$x-done" 300 >/dev/null || bail "host-a's case $x"
		logged "$x" "$RES/svmigd-$x.log" \
			'control connection: TLS handshake with a client: ' "${c##*:}"
		dst_untouched "$x"
	done
	svmigd_stop

	# ---- d: its own certificate again
	svmigd_start "$RES/svmigd-2.log" || bail "d: svmigd restarts" "$(tail -n 5 "$RES/svmigd-2.log")"
	svmig_rdv_post d-ready
	step "d: svmigd restarted"
	svmig_rdv_wait d-done 300 >/dev/null || bail "host-a's case d"
	for c in d-bob:'role local does not allow target host-b' \
		d-carol:'role dba does not allow vm web-1'; do
		logged "${c%%:*}" "$RES/svmigd-2.log" \
			"session refused or failed: REQUEST: refused by host-a: policy: ${c#*:}"
		audited "${c%%:*}" 0 refused '"by":"peer"' "${c#*:}"
	done
	dst_untouched d
	svmig_rdv_post d-checked
	step "d checked"

	# ---- f
	svmig_rdv_wait f-done 300 >/dev/null || bail "host-a's case f"
	for c in f-mem:'refused (memory): vm_mem_mib 2048 exceeds' \
		f-vcpus:'refused (vcpus): vm_vcpus 3 exceeds'; do
		logged "${c%%:*}" "$RES/svmigd-2.log" "session refused or failed: ADMIT: ${c#*:}"
		audited "${c%%:*}" 0 refused '"by":"us"' "${c#*:}"
	done
	dst_untouched f
	step "f checked"

	# ---- e: one byte of the policy changed, the signature kept
	signed=$(sha256sum <"$A_RES/policy.json" | cut -d' ' -f1)
	sed -i 's/\("host-b":.*"max_vcpus":\)4/\18/' "$T/policy.json"
	[[ $(cmp -l "$A_RES/policy.json" "$T/policy.json" 2>/dev/null | wc -l) == 1 ]]
	ok "$((! $?))" "e: one byte of host-b's policy.json changed (host-b's max_vcpus 4 -> 8), its signature kept" \
		"$(cmp -l "$A_RES/policy.json" "$T/policy.json" 2>&1 | head -n 3)"
	st=$("$SVMIGCTL" status --json --config "$T/svmigd.conf" 2>&1)
	[[ $(svmigd_jfield "$st" policy_sha256) == "$signed" ]]
	ok "$((! $?))" "e: the running svmigd keeps the policy it verified (status: policy_sha256 ${signed:0:16}...)" \
		"$st"
	svmigd_stop
	before=$(alines)
	if svmigd_start "$RES/svmigd-e.log"; then
		ok 0 "e: svmigd refuses to start with the tampered policy" "$(cat "$RES/svmigd-e.log")"
		svmigd_stop
	else
		svmigd_reap
		rc=$svmigd_rc
		line=$(grep 'policy: ' "$RES/svmigd-e.log")
		[[ $rc == 1 && $line == *'policy.json.sig does not verify with the policy authority'* ]]
		ok "$((! $?))" "e: svmigd refuses to start (exit $rc): ${line#svmigd: }" \
			"$(cat "$RES/svmigd-e.log")"
	fi
	audited e "$before" '[a-z]+' 'does not verify with the policy authority'
	svmig_rdv_post e-ready
	step "e: svmigd refused to start"
	svmig_rdv_wait e-done 300 >/dev/null || bail "host-a's case e"
	dst_untouched e

	# ---- g: a swapped authority (certificate, policy, signature)
	step "g: another policy authority"
	{ x_host x-g host-b && cp "$A_RES/policy.json" "$T/x-g/" &&
		(cd "$T/x-g/pki" && x_ca authority) &&
		openssl dgst -sha256 -sign "$T/x-g/pki/authority.key" \
			-out "$T/x-g/policy.json.sig" "$T/x-g/policy.json" &&
		"$SVMIGCTL" policy check --policy "$T/x-g/policy.json" \
			--sig "$T/x-g/policy.json.sig" --authority "$T/x-g/pki/authority.pem" \
			--cert "$P/alice.pem" --vm "$VM" --source host-a --target host-b; } \
		>"$T/g.txt" 2>&1
	ok "$((! $?))" "g: a new authority, host-b's policy re-signed with it (svmigctl policy check allows)" \
		"$(cat "$T/g.txt")"
	out=$("$SVMIGCTL" tpm-bind-authority --tcti "$TCTI" --nv-index "$AUTH_NV" \
		--authority "$T/x-g/pki/authority.pem" 2>&1)
	rc=$?
	[[ $rc == 1 && $out == *'already bound'* ]]
	ok "$((! $?))" "g: svmigctl tpm-bind-authority cannot rebind $AUTH_NV (exit $rc)" "$out"
	before=$(alines)
	if svmigd_as "$T/x-g" "$RES/svmigd-g.log"; then
		ok 0 "g: svmigd refuses to start with another authority" "$(cat "$RES/svmigd-g.log")"
		svmigd_stop
	else
		svmigd_reap
		rc=$svmigd_rc
		line=$(grep 'policy: ' "$RES/svmigd-g.log")
		[[ $rc == 1 && $line == *"is not the one bound to TPM NV index $AUTH_NV"* ]]
		ok "$((! $?))" "g: svmigd refuses to start (exit $rc): ${line#svmigd: }" \
			"$(cat "$RES/svmigd-g.log")"
	fi
	STATE=$T/x-g/state audited g 0 '[a-z]+' '"step":"authority"' "TPM NV index $AUTH_NV"
	step "g: svmigd refused to start"
fi

# ------------------------------------------------------------------ audit
"$SVMIGCTL" audit verify --log "$STATE/audit.log" --cert "$P/$SVMIG_HOST.pem" \
	>"$T/audit.txt" 2>&1
ok "$((! $?))" "svmigctl audit verify: $(cat "$T/audit.txt")"
for f in "$RES"/svmigd*.log; do
	echo "# ${f##*/}:"
	sed 's/^/#   /' "$f"
done
step "done"
finish
