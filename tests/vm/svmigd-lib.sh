# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared setup of the two-host svmigd scripts (tests/vm/t2_migrate.sh, the
# test; tests/vm/demo-two-hosts.sh, the demo), both run on host-a and
# host-b by tests/vm/run-two-hosts.sh.  Source it after tests/vm/qemu-lib.sh
# from the work tree; it prints nothing of its own (the caller reports), and
# every function returns non-zero on failure.
#
# Variables it sets when sourced (the caller may change them before use):
#   RES A_RES          this host's and host-a's results directories
#   CTL_PORT DATA_PORT svmigd's control and data ports (7400, 7401)
#   SVMIGD SVMIGCTL    the built binaries
#   TCTI               the host TPM (device:/dev/tpmrm0)
#   AUTH_NV            the TPM NV index the policy authority is bound to
#                      (0x01500016; svmigd.conf's [tpm] authority_nv)
#   POLICY_NV POLICY_COUNTER_NV
#                      the policy binding and its rollback counter
#                      (0x01500017, 0x01500018; [tpm] policy_nv)
# The caller sets T (a scratch directory), STATE (svmigd's state_dir) and
# QMPDIR (its --qmp-dir); svmigd_start sets daemon_pid.
#
#   svmigd_load_module          aesni_intel, KVM if any, insmod kmod/svmig.ko;
#                               on failure prints insmod's output
#   svmigd_pki DIR              the test PKI: CAs ca-a, ca-b (providers),
#                               op-ca (operators), authority (policy);
#                               host-a, host-b, alice, bob
#   svmigd_cert_sha256 PEM      the certificate's SHA-256 (DER)
#   svmigd_jfield JSON KEY      the string value of "KEY" in svmigctl's flat JSON
#   svmigd_policy OUT A_AK B_AK ALICE_PEM BOB_PEM [CAROL_PEM]
#                               policy.json (version 2: serial
#                               $SVMIGD_POLICY_SERIAL or 1, valid 2 days,
#                               CA ca-a certifies host-a, ca-b host-b, both
#                               PEMs beside ALICE_PEM): both hosts' AK digests and PCRs
#                               0, 7 (from svmigctl tpm-ak --json); alice:
#                               migrator web-* host-a -> host-b; bob: local
#                               web-* host-a -> host-a; with CAROL_PEM also
#                               carol: dba db-* host-a -> host-b (without
#                               it, the file is as before carol existed)
#   svmigd_bind_authority CERT  binds CERT to AUTH_NV in this host's TPM
#                               (svmigctl tpm-bind-authority, the owner
#                               authorization empty as a fresh TPM's), and
#                               to POLICY_NV with its counter
#                               (svmigctl tpm-bind-policy), once per run:
#                               later calls do nothing
#   svmigd_setup_trust          PKI, both AKs, the signed policy: the
#                               preamble of every two-host test (below)
#   svmigd_start LOG            binds $T/pki/authority.pem (above), writes
#                               $T/svmigd.conf (with $SVMIGD_CONF_EXTRA,
#                               if set, appended: more sections), starts
#                               svmigd (peer: $SVMIG_PEER, its data address
#                               $SVMIGD_PEER_DATA if set; more arguments in
#                               the array SVMIGD_EXTRA_ARGS) with its output
#                               in LOG, waits until svmigctl status
#                               answers (into $RES/status.json)
# Every svmigd svmigd_start launched is ended by one of these three, which
# wait for it and keep its exit status (in svmigd_rc, and for
# svmigd_exit_checks); a failpoint's or a test's SIGKILL is thus recorded
# as deliberate, and anything else that kills svmigd is a crash:
#   svmigd_stop                 SIGTERM, as an operator stops it: exit 0
#   svmigd_kill [WHY]           SIGKILL (a no-op if it is gone already, say
#                               by its failpoint), as a crash would: 137
#   svmigd_reap                 it ended by itself (a refusal to start, for
#                               instance): the caller checks svmigd_rc; a
#                               death by a signal is a crash
#   svmigd_exit_checks          one TAP result per svmigd run (ok from
#                               tests/vm/tap-lib.sh): ended as recorded
#                               above, with the status that implies; and
#                               one that no log of theirs has a sanitizer
#                               report (AddressSanitizer, LeakSanitizer,
#                               UBSan's "runtime error:")

# shellcheck disable=SC2034 # used by the scripts that source this file
RES=${SVMIG_RESULTS_DIR:?}
A_RES=${RES%/*}/host-a
CTL_PORT=7400
DATA_PORT=7401
SVMIGD=$PWD/build/svmigd
SVMIGCTL=$PWD/build/svmigctl
TCTI=device:/dev/tpmrm0
AUTH_NV=0x01500016
POLICY_NV=0x01500017
POLICY_COUNTER_NV=0x01500018
daemon_pid=
SVMIGD_EXTRA_ARGS=()
svmigd_rc=
svmigd_bound=
svmigd_ak=		# svmigd_trust_ak: this host's AK and PCRs (svmigctl tpm-ak --json)
svmigd_peer_ak=
svmigd_carol_pem=	# svmigd_trust_policy: carol's certificate, if the policy has her
svmigd_logs=()		# per svmigd run: its log
svmigd_ends=()		# per run: "running", or "HOW STATUS" (HOW: stopped, killed, WHY, exited)

svmigd_load_module() {
	local out='' _
	ip link set lo up 2>/dev/null || true
	# svmig.ko's gcm(aes) (as guest-run.sh), and nested KVM if there is one
	modprobe aesni_intel 2>/dev/null || true
	if [[ ! -e /dev/kvm ]]; then
		modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null || true
	fi
	if [[ ! -c /dev/svmig ]]; then
		out=$(insmod kmod/svmig.ko 2>&1)
		for _ in $(seq 50); do
			[[ -c /dev/svmig ]] && break
			sleep 0.1
		done
	fi
	[[ -c /dev/svmig ]] && return 0
	printf '%s\n' "$out"
	return 1
}

# shellcheck disable=SC2317 # called through the caller's check
svmigd_pki() (
	local d=$1 h ca
	mkdir -p "$d" && cd "$d" || return 1
	for ca in ca-a ca-b op-ca authority; do
		openssl ecparam -name prime256v1 -genkey -noout -out "$ca.key" &&
			openssl req -x509 -new -key "$ca.key" -subj "/CN=svmig test $ca" \
				-days 2 -sha256 -out "$ca.pem" \
				-addext basicConstraints=critical,CA:TRUE \
				-addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature ||
			return 1
	done
	for h in host-a:ca-a host-b:ca-b alice:op-ca bob:op-ca; do
		ca=${h#*:}
		h=${h%%:*}
		printf '%s\n' basicConstraints=CA:FALSE \
			keyUsage=critical,digitalSignature \
			extendedKeyUsage=serverAuth,clientAuth >"$h.ext"
		[[ $h == host-* ]] && echo "subjectAltName=DNS:$h" >>"$h.ext"
		openssl ecparam -name prime256v1 -genkey -noout -out "$h.key" &&
			openssl req -new -key "$h.key" -subj "/CN=$h" -out "$h.csr" &&
			openssl x509 -req -in "$h.csr" -CA "$ca.pem" -CAkey "$ca.key" \
				-CAcreateserial -days 2 -sha256 -extfile "$h.ext" \
				-out "$h.pem" 2>/dev/null || return 1
	done
)

svmigd_cert_sha256() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
svmigd_jfield() { sed -n "s/.*\"$2\":\"\([0-9a-f]*\)\".*/\1/p" <<<"$1"; }

svmigd_policy() {
	local out=$1 host ak json='' carol_op='' carol_role='' pki
	pki=$(dirname "$4")
	for host in host-a host-b; do
		ak=$2
		[[ $host == host-b ]] && ak=$3
		json+="${json:+,}\"$host\":{\"ak_sha256\":\"$(svmigd_jfield "$ak" ak_sha256)\","
		json+="\"pcrs\":{\"sha256\":{\"0\":\"$(svmigd_jfield "$ak" 0)\",\"7\":\"$(svmigd_jfield "$ak" 7)\"}},"
		json+="\"max_mem_mib\":4096,\"max_vcpus\":4}"
	done
	if [[ -n ${6:-} ]]; then
		carol_op=$',\n    "carol": { "cert_sha256": "'"$(svmigd_cert_sha256 "$6")"'", "roles": ["dba"] }'
		carol_role=$',\n    "dba": { "vms": ["db-*"], "sources": ["host-a"], "targets": ["host-b"] }'
	fi
	cat >"$out" <<EOF
{
  "version": 2,
  "serial": ${SVMIGD_POLICY_SERIAL:-1},
  "not_after": "${SVMIGD_POLICY_NOT_AFTER:-$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)}",
  "cas": {
    "provider-a": { "cert_sha256": "$(svmigd_cert_sha256 "$pki/ca-a.pem")", "hosts": ["host-a"] },
    "provider-b": { "cert_sha256": "$(svmigd_cert_sha256 "$pki/ca-b.pem")", "hosts": ["host-b"] }
  },
  "hosts": { $json },
  "operators": {
    "alice": { "cert_sha256": "$(svmigd_cert_sha256 "$4")", "roles": ["migrator"] },
    "bob": { "cert_sha256": "$(svmigd_cert_sha256 "$5")", "roles": ["local"] }$carol_op
  },
  "roles": {
    "migrator": { "vms": ["web-*"], "sources": ["host-a"], "targets": ["host-b"] },
    "local": { "vms": ["web-*"], "sources": ["host-a"], "targets": ["host-a"] }$carol_role
  }
}
EOF
}

svmigd_bind_authority() { # CERT
	[[ -n $svmigd_bound ]] && return 0
	"$SVMIGCTL" tpm-bind-authority --tcti "$TCTI" --nv-index "$AUTH_NV" \
		--authority "$1" || return 1
	"$SVMIGCTL" tpm-bind-policy --tcti "$TCTI" --nv-index "$POLICY_NV" \
		--counter-index "$POLICY_COUNTER_NV" --authority "$1" || return 1
	svmigd_bound=1
}

svmigd_start() { # LOG
	local log=$1 _
	# svmigd holds the TPM while it runs: bind before it starts
	svmigd_bind_authority "$T/pki/authority.pem" >"$log" 2>&1 || return 1
	cat >"$T/svmigd.conf" <<EOF
[host]
name = $SVMIG_HOST
cert = $T/pki/$SVMIG_HOST.pem
key = $T/pki/$SVMIG_HOST.key
[trust]
anchors = $T/pki/ca-a.pem $T/pki/ca-b.pem
[policy]
file = $T/policy.json
signature = $T/policy.json.sig
authority_cert = $T/pki/authority.pem
[listen]
control = $SVMIG_ADDR:$CTL_PORT
data = $SVMIG_ADDR:$DATA_PORT
[tpm]
tcti = $TCTI
authority_nv = $AUTH_NV
policy_nv = $POLICY_NV
[limits]
max_mem_mib = 1024
max_vcpus = 2
[paths]
state_dir = $STATE
${SVMIGD_CONF_EXTRA:-}
EOF
	"$SVMIGD" --config "$T/svmigd.conf" --qmp-dir "$QMPDIR" \
		--operator-ca "$T/pki/op-ca.pem" --timeout 240 \
		--peer "$SVMIG_PEER=$SVMIG_PEER_ADDR:$CTL_PORT${SVMIGD_PEER_DATA:+,$SVMIGD_PEER_DATA}" \
		"${SVMIGD_EXTRA_ARGS[@]}" >"$log" 2>&1 &
	daemon_pid=$!
	svmigd_logs+=("$log")
	svmigd_ends+=(running)
	for _ in $(seq 100); do
		"$SVMIGCTL" status --config "$T/svmigd.conf" --json >"$RES/status.json" 2>&1 && return 0
		kill -0 "$daemon_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# _svmigd_end HOW: wait for our svmigd, record how it ended
_svmigd_end() {
	svmigd_rc=0
	wait "$daemon_pid" 2>/dev/null || svmigd_rc=$?
	daemon_pid=
	svmigd_ends[${#svmigd_ends[@]} - 1]="$1 $svmigd_rc"
}

svmigd_stop() {
	if [[ -n $daemon_pid ]]; then
		kill -TERM "$daemon_pid" 2>/dev/null
		_svmigd_end stopped
	fi
	return 0
}

svmigd_kill() { # [WHY]
	if [[ -n $daemon_pid ]]; then
		kill -KILL "$daemon_pid" 2>/dev/null
		_svmigd_end "${1:-killed}"
	fi
	return 0
}

svmigd_reap() {
	[[ -n $daemon_pid ]] && _svmigd_end exited
	return 0
}

svmigd_exit_checks() {
	local i how rc want pass hits

	for i in "${!svmigd_logs[@]}"; do
		how=${svmigd_ends[i]% *}
		rc=${svmigd_ends[i]##* }
		case $how in
		stopped) want="SIGTERM, exit 0"; pass=$((rc == 0)) ;;
		running) rc=none want="ended before the checks (it still runs)"; pass=0 ;;
		exited) want="ended by itself, not by a signal"; pass=$((rc < 128)) ;;
		*) want="SIGKILL by the test ($how), status 137"; pass=$((rc == 128 + 9)) ;;
		esac
		ok "$pass" "$SVMIG_HOST: svmigd run $((i + 1)) (${svmigd_logs[i]##*/}): exit status $rc, expected: $want" \
			"last lines of ${svmigd_logs[i]}:" "$(tail -n 8 "${svmigd_logs[i]}" 2>&1)"
	done
	hits=$(grep -H -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|LeakSanitizer|runtime error:|ERROR: [A-Za-z]+Sanitizer' \
		"${svmigd_logs[@]}" /dev/null 2>/dev/null | head -n 40)
	ok "$([[ -z $hits ]] && echo 1 || echo 0)" \
		"$SVMIG_HOST: no sanitizer report in svmigd's logs (svmigd runs: ${#svmigd_logs[@]})" "$hits"
}

# The trust preamble of every two-host test that runs svmigd, in three
# steps; svmigd_setup_trust runs all three, a test with more to do between
# them calls them one by one.  Call them in the script's own shell (not in
# $(...)): they set variables.  Each prints what failed on stdout and
# returns non-zero then.
#   svmigd_trust_pki       host-a makes the test PKI (svmigd_pki) in
#                          $RES/pki, then runs svmigd_pki_more DIR if the
#                          test defines it (more certificates), and posts
#                          "pki"; host-b waits for it; both copy it into
#                          $T/pki (and make $STATE, $QMPDIR)
#   svmigd_trust_ak        this host's AK digest and PCRs 0, 7 (svmigctl
#                          tpm-ak --json, unless the test has set svmigd_ak
#                          already) in svmigd_ak, posted as "ak"; the
#                          peer's into svmigd_peer_ak
#   svmigd_trust_policy    host-a writes policy.json (svmigd_policy: alice
#                          migrator, bob local; carol dba if the test has
#                          set svmigd_carol_pem to her certificate), then
#                          runs svmigd_policy_edit FILE if the test defines
#                          it, signs it with the authority's key and posts
#                          "policy"; host-b waits; both copy it into $T
#   svmigd_setup_trust     the three in order
svmigd_trust_pki() {
	mkdir -p "$T/pki" "$STATE" "$QMPDIR" || { echo "mkdir $T/pki $STATE $QMPDIR"; return 1; }
	if [[ $SVMIG_HOST == host-a ]]; then
		svmigd_pki "$RES/pki" >"$T/pki.txt" 2>&1 || { echo "test PKI:"; cat "$T/pki.txt"; return 1; }
		if declare -F svmigd_pki_more >/dev/null; then
			svmigd_pki_more "$RES/pki" >"$T/pki.txt" 2>&1 ||
				{ echo "the test's own certificates:"; cat "$T/pki.txt"; return 1; }
		fi
		svmig_rdv_post pki
	else
		svmig_rdv_wait pki >/dev/null || { echo "host-a's PKI"; return 1; }
	fi
	cp "$A_RES"/pki/*.pem "$A_RES"/pki/*.key "$T/pki/" 2>/dev/null
	[[ -f $T/pki/$SVMIG_HOST.pem ]] || { echo "PKI files readable:"; ls "$A_RES/pki" 2>&1; return 1; }
}

svmigd_trust_ak() {
	[[ -n $svmigd_ak ]] || svmigd_ak=$("$SVMIGCTL" tpm-ak --tcti "$TCTI" --pcrs 0,7 --json 2>&1)
	[[ $(svmigd_jfield "$svmigd_ak" ak_sha256) =~ ^[0-9a-f]{64}$ ]] ||
		{ echo "svmigctl tpm-ak: $svmigd_ak"; return 1; }
	svmig_rdv_post ak "$svmigd_ak"
	svmigd_peer_ak=$(svmig_rdv_wait ak) || { echo "$SVMIG_PEER's AK"; return 1; }
}

svmigd_trust_policy() {
	if [[ $SVMIG_HOST == host-a ]]; then
		{ svmigd_policy "$RES/policy.json" "$svmigd_ak" "$svmigd_peer_ak" \
			"$T/pki/alice.pem" "$T/pki/bob.pem" ${svmigd_carol_pem:+"$svmigd_carol_pem"} &&
			{ ! declare -F svmigd_policy_edit >/dev/null ||
				svmigd_policy_edit "$RES/policy.json"; } &&
			openssl dgst -sha256 -sign "$T/pki/authority.key" \
				-out "$RES/policy.json.sig" "$RES/policy.json" &&
			[[ -s $RES/policy.json.sig ]]; } || { echo "signed policy"; return 1; }
		svmig_rdv_post policy
	else
		svmig_rdv_wait policy >/dev/null || { echo "host-a's policy"; return 1; }
	fi
	cp "$A_RES/policy.json" "$A_RES/policy.json.sig" "$T/" || { echo "policy readable"; return 1; }
}

svmigd_setup_trust() {
	svmigd_trust_pki && svmigd_trust_ak && svmigd_trust_policy
}
