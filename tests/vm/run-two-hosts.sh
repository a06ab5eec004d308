#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot two test VMs at once, "host-a" and "host-b" (each one a
# tests/vm/run-vm.sh boot with its own fresh swtpm), joined by a virtio-net
# NIC on a QEMU socket netdev over 127.0.0.1, and run a script of this work
# tree in each.
#
#   tests/vm/run-two-hosts.sh --script-a PATH --script-b PATH [options]
#
#   --script-a PATH   run PATH (relative to the work tree) on host-a
#   --script-b PATH   run PATH on host-b
#   --script PATH     run PATH on both hosts
#   --timeout SECS    kill both VMs after SECS seconds (default 300)
#   --smp N           virtual CPUs per VM (default 1: two VMs, two cores)
#   --keep            keep both boots' swtpm state directories
#
# Network: host-b's QEMU listens on a free TCP port of 127.0.0.1 and
# host-a's QEMU connects to it once it listens; nothing leaves loopback.
# In each guest, eth0 (MAC 52:54:00:99:00:01 / :02) is 10.99.0.1/24 on
# host-a and 10.99.0.2/24 on host-b, and the host name is set.
#
# Files (all under build/vm2/, emptied at the start of each run):
#   host-a.log, host-b.log    each VM's serial console
#   host-a/, host-b/          each host's results directory
#   rdv/                      the rendezvous directory (see below)
# One run at a time uses build/vm2/ (a second run fails at once).
#
# Each guest runs this same script first (the guest side, below): it loads
# virtio_net, configures eth0 and the host name, posts "up", waits for the
# peer's "up" (so both networks are configured when the scripts start),
# then runs the script with bash, cwd = the work tree, stdout and stderr on
# the console, and this environment (in addition to run-vm.sh's contract:
# PATH, HOME, SVMIG_WORKTREE and every SVMIG_* of our environment):
#   SVMIG_HOST         host-a | host-b
#   SVMIG_PEER         the other one
#   SVMIG_ADDR         own address: 10.99.0.1 | 10.99.0.2 (on eth0, /24)
#   SVMIG_PEER_ADDR    the peer's address
#   SVMIG_RESULTS_DIR  absolute path of build/vm2/<host>/ (exists, empty)
#   SVMIG_RDV_DIR      absolute path of build/vm2/rdv/
#   SVMIG_RDV_TIMEOUT  default wait of svmig_rdv_wait, seconds (the --timeout)
# The script must print "SVMIG-GUEST-RESULT: pass" and exit 0 to pass.
# The run exits 0 only if both hosts pass, 1 if either fails, 2 on a
# usage/setup error, 124 on timeout.
#
# Rendezvous contract.  Both guests share the work tree over 9p (mounted
# without caching: every lookup and read goes to the host, so a file one
# guest creates is visible to the other on its next lookup).
#   * host H "posts" the event NAME ([A-Za-z0-9][A-Za-z0-9._-]*), with an
#     optional one-line value, by writing rdv/.H.NAME.tmp and renaming it to
#     rdv/H.NAME: the file appears complete or not at all.  An event is
#     posted at most once and never changed afterwards.
#   * the peer waits for rdv/H.NAME to exist (polling every 0.1 s), then
#     reads the value.
#   * reserved names: "up" (posted by the guest side once eth0 is
#     configured; value: the address) and "exit" (value: the script's exit
#     status, posted by the guest side when the script ends, or by the host
#     side when a VM ends without one).  A wait gives up as soon as the
#     peer's "exit" exists without the awaited event.
# Scripts run with three bash functions that implement it (exported):
#   svmig_rdv_post NAME [VALUE...]   post NAME with the value "VALUE..."
#   svmig_rdv_wait NAME [SECS]       wait for the peer's NAME, print its
#                                    value; 1 on timeout or if the peer ended
#   svmig_rdv_sync NAME [SECS]       post NAME, then wait for the peer's NAME
# Any other program can follow the same contract with plain files.
set -euo pipefail

WORKTREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
SELF_REL=tests/vm/run-two-hosts.sh

# ====================================================================
# The rendezvous helpers (guest side; exported to the guest scripts).
svmig_rdv_post() {
	local name=${1:-} tmp dst
	shift || true
	if [[ ! $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
		echo "svmig_rdv_post: bad event name '$name'" >&2
		return 2
	fi
	dst=$SVMIG_RDV_DIR/$SVMIG_HOST.$name
	tmp=$SVMIG_RDV_DIR/.$SVMIG_HOST.$name.tmp
	if [[ -e $dst ]]; then
		echo "svmig_rdv_post: $SVMIG_HOST.$name was already posted" >&2
		return 1
	fi
	printf '%s\n' "$*" >"$tmp" && mv -f "$tmp" "$dst"
}

svmig_rdv_wait() {
	local name=${1:-} secs=${2:-${SVMIG_RDV_TIMEOUT:-300}} f ended end
	f=$SVMIG_RDV_DIR/$SVMIG_PEER.$name
	ended=$SVMIG_RDV_DIR/$SVMIG_PEER.exit
	end=$((SECONDS + secs))
	while :; do
		if [[ -f $f ]]; then
			cat "$f"
			return 0
		fi
		if [[ $name != exit && -f $ended ]]; then
			if [[ -f $f ]]; then
				cat "$f"
				return 0
			fi
			echo "svmig_rdv_wait: $SVMIG_PEER ended (exit status $(<"$ended")) without posting '$name'" >&2
			return 1
		fi
		if ((SECONDS >= end)); then
			echo "svmig_rdv_wait: no '$name' from $SVMIG_PEER within ${secs}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

# shellcheck disable=SC2317 # called by the guest scripts
svmig_rdv_sync() {
	svmig_rdv_post "$1" && svmig_rdv_wait "$1" "${2:-}"
}

# ====================================================================
# Guest side: run-vm.sh runs this script in each VM (SVMIG_2H_GUEST=1).
guest_main() {
	local script=$SVMIG_2H_SCRIPT mac=$SVMIG_2H_MAC dev='' d i status up_t
	gmsg() { echo "run-two-hosts[$SVMIG_HOST]: $*"; }
	gfail() {
		gmsg "FATAL: $*"
		svmig_rdv_post exit 255 || true
		exit 1
	}
	unset SVMIG_2H_GUEST SVMIG_2H_SCRIPT SVMIG_2H_MAC

	hostname "$SVMIG_HOST" || gfail "cannot set the host name"
	modprobe virtio_net || gfail "modprobe virtio_net failed"
	for ((i = 0; i < 100; i++)); do
		for d in /sys/class/net/*; do
			if [[ $(cat "$d/address" 2>/dev/null) == "$mac" ]]; then
				dev=${d##*/}
			fi
		done
		if [[ -n $dev ]]; then
			break
		fi
		sleep 0.1
	done
	[[ -n $dev ]] || gfail "no network interface with MAC $mac"
	if [[ $dev != eth0 ]]; then
		ip link set "$dev" name eth0 || gfail "cannot rename $dev to eth0"
	fi
	ip addr add "$SVMIG_ADDR/24" dev eth0 || gfail "cannot set $SVMIG_ADDR/24 on eth0"
	ip link set eth0 up || gfail "cannot bring eth0 up"
	mkdir -p "$SVMIG_RESULTS_DIR"
	gmsg "eth0 $SVMIG_ADDR/24 up (guest uptime $(cut -d' ' -f1 /proc/uptime)s)," \
		"waiting for $SVMIG_PEER"
	svmig_rdv_post up "$SVMIG_ADDR" || gfail "cannot post 'up'"
	svmig_rdv_wait up >/dev/null || gfail "$SVMIG_PEER did not come up"
	up_t=$(cut -d' ' -f1 /proc/uptime)
	gmsg "$SVMIG_PEER is up (guest uptime ${up_t}s); running $script"

	export -f svmig_rdv_post svmig_rdv_wait svmig_rdv_sync
	status=0
	bash "$script" || status=$?
	gmsg "$script exited with status $status"
	svmig_rdv_post exit "$status" || true
	exit "$status"
}

if [[ ${SVMIG_2H_GUEST:-} == 1 ]] && grep -q 'svmig_run=' /proc/cmdline 2>/dev/null; then
	guest_main
fi

# ====================================================================
# Host side.
VM2=$WORKTREE/build/vm2
RUN_VM=$WORKTREE/tests/vm/run-vm.sh
HOSTS=(host-a host-b)
declare -A SCRIPT=() ADDR=([host-a]=10.99.0.1 [host-b]=10.99.0.2)
declare -A MAC=([host-a]=52:54:00:99:00:01 [host-b]=52:54:00:99:00:02)
declare -A PEER=([host-a]=host-b [host-b]=host-a)
declare -A PID=() RC=() UP=() USER_T=()
timeout=300
smp=1
keep=0

msg() { echo "run-two-hosts: $*" >&2; }
die() { msg "$*"; exit 2; }

usage() {
	sed -n '/^#   tests\/vm\/run-two-hosts.sh/,/^#   --keep/p' "${BASH_SOURCE[0]}" | sed 's/^#//'
}

while (($#)); do
	case $1 in
	--script-a | --script-b | --script)
		[[ -n ${2:-} ]] || die "$1 needs a path"
		[[ $1 != --script-b ]] && SCRIPT[host-a]=$2
		[[ $1 != --script-a ]] && SCRIPT[host-b]=$2
		shift
		;;
	--timeout)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--timeout needs a number of seconds"
		timeout=$2
		shift
		;;
	--smp)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--smp needs a number of CPUs"
		smp=$2
		shift
		;;
	--keep) keep=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done

for h in "${HOSTS[@]}"; do
	s=${SCRIPT[$h]:-}
	[[ -n $s ]] || die "no script for $h (--script-${h#host-} PATH)"
	[[ $s =~ [[:space:]] || $s == /* ]] &&
		die "$s: scripts are paths relative to the work tree, without whitespace"
	[[ -f $WORKTREE/$s ]] || die "no such guest script: $WORKTREE/$s"
done
[[ -x $RUN_VM ]] || die "$RUN_VM is missing"

mkdir -p "$VM2"
exec 7>"$VM2/.lock"
flock -n 7 || die "another run-two-hosts.sh is using $VM2"
rm -rf "$VM2/rdv" "$VM2/host-a" "$VM2/host-b" "$VM2/host-a.log" "$VM2/host-b.log"
mkdir -p "$VM2/rdv" "$VM2/host-a" "$VM2/host-b"

finished=0
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local rc=$? h pid live
	trap - EXIT INT TERM HUP
	live=()
	for h in "${HOSTS[@]}"; do
		pid=${PID[$h]:-}
		[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && live+=("$pid")
	done
	if ((${#live[@]})); then
		# run-vm.sh kills its QEMU and swtpm on TERM.
		kill -TERM "${live[@]}" 2>/dev/null || true
		for _ in $(seq 40); do
			kill -0 "${live[@]}" 2>/dev/null || break
			sleep 0.25
		done
		for pid in "${live[@]}"; do
			# Each run-vm.sh leads its own process group (set -m below).
			kill -KILL -- "-$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		done
	fi
	if ((!finished && rc == 0)); then
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT
trap 'msg "terminated"; exit 143' TERM HUP

# A TCP port of 127.0.0.1 that no socket uses now.
listening() { # listening PORT: is something listening on 127.0.0.1:PORT?
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'NR > 1 && $4 == "0A" && ($2 == "0100007F" p || $2 == "00000000" p) { f = 1 }
		END { exit !f }' /proc/net/tcp
}
# port_used PORT: does any TCP socket (any state, IPv4 or IPv6) have PORT
# as its local port?  A client's ephemeral port makes QEMU's bind fail too.
port_used() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}
pick_port() {
	local p
	port=
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		port_used "$p" || { port=$p; return 0; }
	done
	return 1
}
pick_port || die "found no free TCP port on 127.0.0.1"

# Background jobs in their own process groups, so a stuck run-vm.sh can be
# killed with everything it started.
set -m
start_vm() { # start_vm HOST NIC-SOCKET-SPEC
	local h=$1 peer=${PEER[$1]} args
	args=(--script "$SELF_REL" --timeout "$timeout" --smp "$smp"
		--console-log "$VM2/$h.log" --nic-socket "$2" --mac "${MAC[$h]}")
	((keep)) && args+=(--keep)
	(
		export SVMIG_2H_GUEST=1 SVMIG_2H_SCRIPT=${SCRIPT[$h]} SVMIG_2H_MAC=${MAC[$h]}
		export SVMIG_HOST=$h SVMIG_PEER=$peer
		export SVMIG_ADDR=${ADDR[$h]} SVMIG_PEER_ADDR=${ADDR[$peer]}
		export SVMIG_RESULTS_DIR=$VM2/$h SVMIG_RDV_DIR=$VM2/rdv SVMIG_RDV_TIMEOUT=$timeout
		exec "$RUN_VM" "${args[@]}"
	) </dev/null >/dev/null 2> >(sed -u "s/^/$h: /" >&2) &
	PID[$h]=$!
}

elapsed() { awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'; }

msg "host-a runs ${SCRIPT[host-a]}, host-b runs ${SCRIPT[host-b]}" \
	"(socket netdev 127.0.0.1:$port, -smp $smp, timeout ${timeout}s)"
t0=$(date +%s.%N)

# host-b's QEMU listens; host-a's connects, so host-b must listen first.
# The port can be taken between pick_port and QEMU's bind (the machine is
# shared): then QEMU exits at once, and a new port is tried, 3 times in all.
for attempt in 1 2 3; do
	start_vm host-b "listen=127.0.0.1:$port"
	for _ in $(seq 600); do
		listening "$port" && break
		kill -0 "${PID[host-b]}" 2>/dev/null || break
		sleep 0.1
	done
	listening "$port" && break
	wait "${PID[host-b]}" 2>/dev/null || true
	PID[host-b]=
	if ((attempt == 3)); then
		msg "FAIL: host-b's QEMU did not listen on 127.0.0.1:$port (see $VM2/host-b.log)"
		finished=1
		exit 1
	fi
	msg "host-b's QEMU did not listen on 127.0.0.1:$port (taken meanwhile?); trying another port"
	pick_port || die "found no free TCP port on 127.0.0.1"
done
start_vm host-a "connect=127.0.0.1:$port"

deadline=$(($(date +%s) + timeout + 30))
grace_end=
timed_out=0
while :; do
	nlive=0
	for h in "${HOSTS[@]}"; do
		[[ -n ${PID[$h]:-} ]] || continue
		if kill -0 "${PID[$h]}" 2>/dev/null; then
			nlive=$((nlive + 1))
			if [[ -z ${USER_T[$h]:-} ]] && grep -aq '^svmig-init: running' "$VM2/$h.log" 2>/dev/null; then
				USER_T[$h]=$(elapsed)
			fi
			if [[ -z ${UP[$h]:-} && -e $VM2/rdv/$h.up ]]; then
				UP[$h]=$(elapsed)
			fi
			continue
		fi
		RC[$h]=0
		wait "${PID[$h]}" || RC[$h]=$?
		PID[$h]=
		# Tell the peer's rendezvous waits that this host is gone.
		[[ -e $VM2/rdv/$h.exit ]] || echo "vm-ended-${RC[$h]}" >"$VM2/rdv/$h.exit"
		if [[ ${RC[$h]} != 0 && -z $grace_end ]]; then
			grace_end=$(($(date +%s) + 15))
		fi
	done
	((nlive)) || break
	if [[ -n $grace_end ]] && (($(date +%s) >= grace_end)); then
		msg "one host failed; stopping the other after a 15 s grace period"
		break
	fi
	if (($(date +%s) >= deadline)); then
		msg "TIMEOUT: the VMs did not finish within ${timeout}s"
		timed_out=1
		break
	fi
	sleep 0.25
done
for h in "${HOSTS[@]}"; do
	if [[ -n ${PID[$h]:-} ]]; then
		kill -TERM "${PID[$h]}" 2>/dev/null || true
		RC[$h]=0
		wait "${PID[$h]}" || RC[$h]=$?
		PID[$h]=
	fi
done
total=$(elapsed)
finished=1

for h in "${HOSTS[@]}"; do
	msg "$h: guest userspace after ${USER_T[$h]:-?}s, eth0 up after ${UP[$h]:-?}s," \
		"run-vm.sh exit ${RC[$h]}"
done
msg "both VMs ran ${total}s in all"
fail=0
for h in "${HOSTS[@]}"; do
	[[ ${RC[$h]} == 0 ]] && continue
	fail=1
	msg "--- $h failed (exit ${RC[$h]}); last lines of $VM2/$h.log:"
	tail -n 25 "$VM2/$h.log" 2>/dev/null | tr -d '\r' | sed "s/^/$h| /" >&2 || true
done
if ((!fail)); then
	msg "PASS"
	exit 0
fi
if ((timed_out)) || [[ ${RC[host-a]} == 124 || ${RC[host-b]} == 124 ]]; then
	msg "FAIL: timeout"
	exit 124
fi
msg "FAIL (consoles: $VM2/host-a.log, $VM2/host-b.log)"
exit 1
