#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Two-host smoke test: the script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_smoke.sh
# run (it reads SVMIG_HOST; see run-two-hosts.sh for the environment and
# the rendezvous functions).  Prints TAP lines on the console and ends with
# "SVMIG-GUEST-RESULT: pass|fail".  Checks, on each host:
#   - the host name and eth0's address are what run-two-hosts.sh set;
#   - its own TPM: /dev/tpm0 and /dev/tpmrm0 exist, tpm2_getrandom works,
#     and an ECC primary key of the owner hierarchy (derived from the TPM's
#     owner seed, so it identifies the TPM) is the same when created twice;
#   - that key's public part (its SHA-256 is posted as "tpmpub") differs
#     from the peer's: two separate TPMs;
#   - a 256 KiB file written by the peer into its results directory reads
#     back on this host with the SHA-256 the peer posted (9p visibility);
#   - TCP between the guests: host-b listens on 10.99.0.2:7000 (socat),
#     host-a connects (bash /dev/tcp) and they exchange one line each way,
#     each carrying the sender's TPM key hash, checked against "tpmpub";
#   - a final "finished" rendezvous (neither powers off before the other is
#     through).
# Results (TPM public key, hashes, the exchanged lines) go to
# $SVMIG_RESULTS_DIR.
set -uo pipefail
export LC_ALL=C

if [[ -z ${SVMIG_HOST:-} ]]; then
	echo "1..0 # SKIP not a two-host run (tests/vm/run-two-hosts.sh)"
	exit 0
fi
cd "${SVMIG_WORKTREE:?}" || exit 1

PORT=7000
RES=${SVMIG_RESULTS_DIR:?}
T=$(mktemp -d)
srv_pid=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	[[ -n $srv_pid ]] && kill -KILL "$srv_pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# shellcheck source=tests/vm/t2-tap.sh
. tests/vm/t2-tap.sh
T2_CLEANUP=cleanup

echo "# t2_smoke on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)," \
	"kernel $(uname -r), guest uptime $(cut -d' ' -f1 /proc/uptime)s"

# ------------------------------------------------------------ environment
ok "$([[ $SVMIG_HOST == host-[ab] && $SVMIG_PEER == host-[ab] && $SVMIG_HOST != "$SVMIG_PEER" ]] && echo 1 || echo 0)" \
	"SVMIG_HOST=$SVMIG_HOST, SVMIG_PEER=$SVMIG_PEER"
if ! declare -F svmig_rdv_post svmig_rdv_wait svmig_rdv_sync >/dev/null; then
	ok 0 "rendezvous functions exported by run-two-hosts.sh"
	finish
fi
ok "$([[ $(hostname) == "$SVMIG_HOST" ]] && echo 1 || echo 0)" "host name is $SVMIG_HOST" \
	"hostname: $(hostname)"
addrs=$(ip -o -4 addr show dev eth0 2>&1)
ok "$([[ $addrs == *" inet $SVMIG_ADDR/24 "* ]] && echo 1 || echo 0)" "eth0 has $SVMIG_ADDR/24" \
	"$addrs"

# -------------------------------------------------------------- own TPM
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
ok "$([[ -c /dev/tpm0 && -c /dev/tpmrm0 ]] && echo 1 || echo 0)" "/dev/tpm0 and /dev/tpmrm0 present" \
	"$(ls -l /dev/tpm* 2>&1)"
rnd=$(tpm2_getrandom --hex 16 2>&1)
ok "$([[ $rnd =~ ^[0-9a-f]{32}$ ]] && echo 1 || echo 0)" "tpm2_getrandom 16 bytes" "$rnd"

# An ECC P-256 primary of the owner hierarchy: deterministic from the
# TPM's owner seed (fast to derive, unlike RSA).  The kernel's resource
# manager (/dev/tpmrm0) flushes it when each tool closes the device.
# shellcheck disable=SC2317 # called through check
primary_pub() { # primary_pub OUT.pub
	rm -f "$T/primary.ctx" &&
		tpm2_createprimary -Q -C o -G ecc256 -c "$T/primary.ctx" &&
		tpm2_readpublic -Q -c "$T/primary.ctx" -o "$1"
}
check "tpm2_createprimary -C o (ECC) + tpm2_readpublic" primary_pub "$T/pub1"
check "the same primary again" primary_pub "$T/pub2"
check "both have the same public key (derived from the owner seed)" cmp "$T/pub1" "$T/pub2"
my_hash=$(sha256sum <"$T/pub1" | cut -d' ' -f1)
cp "$T/pub1" "$RES/tpm-primary.pub" 2>/dev/null
echo "$my_hash" >"$RES/tpm-primary.sha256"
echo "# $SVMIG_HOST TPM primary public key sha256 $my_hash"

# ------------------------------------------------------ rendezvous (9p)
check "post tpmpub" svmig_rdv_post tpmpub "$my_hash"
peer_hash=$(svmig_rdv_wait tpmpub 2>&1)
ok "$([[ $peer_hash =~ ^[0-9a-f]{64}$ ]] && echo 1 || echo 0)" "got $SVMIG_PEER's tpmpub" "$peer_hash"
echo "# $SVMIG_PEER TPM primary public key sha256 $peer_hash"
ok "$([[ $peer_hash =~ ^[0-9a-f]{64}$ && $peer_hash != "$my_hash" ]] && echo 1 || echo 0)" \
	"$SVMIG_PEER's TPM key differs from ours (two separate TPMs)"

# A larger file: written to our results directory, read by the peer.
head -c 262144 /dev/urandom >"$RES/blob"
blob_hash=$(sha256sum <"$RES/blob" | cut -d' ' -f1)
check "post blob" svmig_rdv_post blob "$blob_hash"
peer_blob_hash=$(svmig_rdv_wait blob 2>&1)
peer_blob=${RES%/*}/$SVMIG_PEER/blob
got=$(sha256sum <"$peer_blob" 2>&1 | cut -d' ' -f1)
ok "$([[ $peer_blob_hash =~ ^[0-9a-f]{64}$ && $got == "$peer_blob_hash" ]] && echo 1 || echo 0)" \
	"$SVMIG_PEER's 256 KiB file reads back intact over 9p" \
	"posted $peer_blob_hash, read $got"

# -------------------------------------------------------- TCP, both ways
listening() { [[ -n $(ss -Hltn "sport = :$PORT" 2>/dev/null) ]]; }
if [[ $SVMIG_HOST == host-b ]]; then
	coproc SRV { exec socat -T 30 "TCP-LISTEN:$PORT,bind=$SVMIG_ADDR,reuseaddr" STDIO; }
	# shellcheck disable=SC2153 # set by coproc
	srv_pid=$SRV_PID
	srv_in=${SRV[0]} srv_out=${SRV[1]}
	for _ in $(seq 100); do
		listening && break
		sleep 0.1
	done
	check "socat listens on $SVMIG_ADDR:$PORT" listening
	check "post listening" svmig_rdv_post listening "$SVMIG_ADDR:$PORT"
	line=
	IFS= read -r -t 60 -u "$srv_in" line
	echo "$line" >"$RES/tcp-received"
	ok "$([[ $line == "hello from host-a $peer_hash" ]] && echo 1 || echo 0)" \
		"received host-a's line carrying its TPM key hash" "received: '$line'"
	printf 'hello from host-b %s\n' "$my_hash" >&"$srv_out"
	exec {srv_out}>&-
	rc=0
	timeout 30 tail --pid="$srv_pid" -f /dev/null || rc=$?
	wait "$srv_pid"
	srv_rc=$?
	srv_pid=
	ok "$((rc == 0 && srv_rc == 0))" "socat ended cleanly" "wait: $rc, socat exit: $srv_rc"
else
	check "$SVMIG_PEER listens" svmig_rdv_wait listening
	# shellcheck disable=SC2016 # expanded by the inner bash
	reply=$(timeout 60 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "%s\n" "$3" >&3 || exit 1
		IFS= read -r r <&3 || exit 1
		printf "%s\n" "$r"' _ "$SVMIG_PEER_ADDR" "$PORT" "hello from host-a $my_hash" 2>&1)
	echo "$reply" >"$RES/tcp-received"
	ok "$([[ $reply == "hello from host-b $peer_hash" ]] && echo 1 || echo 0)" \
		"exchanged a line with $SVMIG_PEER_ADDR:$PORT, its reply carries its TPM key hash" \
		"reply: '$reply'"
fi

# ------------------------------------------------------------- finished
verdict=pass
((failed == 0)) || verdict=fail
check "post finished" svmig_rdv_post finished "$verdict"
peer_verdict=$(svmig_rdv_wait finished 2>&1)
ok "$([[ $peer_verdict == pass || $peer_verdict == fail ]] && echo 1 || echo 0)" \
	"$SVMIG_PEER got through its checks too" "$peer_verdict"
echo "# $SVMIG_PEER's own verdict: $peer_verdict"
finish
