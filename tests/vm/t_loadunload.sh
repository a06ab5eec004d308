#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# VM test (TAP): load/unload cycles of svmig.ko and its module reference
# counting.  Runs in the guest from the work tree with svmig loaded (see
# tests/vm/guest-run.sh) and leaves it loaded.
#
# 20 rounds of: rmmod; insmod; /dev/svmig appears; a background process
# holds /dev/svmig open; rmmod must fail while it is open; close it; the
# module's refcount drops back to 0 (the next round's rmmod must succeed).
#
# Attached-socket variant, if build/tests/vm/svmig-holdsock is built.  Its
# contract: it opens /dev/svmig, attaches a connected SOCK_STREAM socket
# with SVMIG_IOC_ATTACH_SOCK (doing whatever setup the module requires
# first), prints the line "ready" on stdout (flushed), then blocks until
# SIGTERM and exits 0.  On any failure it prints why on stderr and exits
# non-zero.  While it runs rmmod must fail; after it exits rmmod must
# succeed.
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
MODULE=${SVMIG_MODULE:-kmod/svmig.ko}
HOLDSOCK=build/tests/vm/svmig-holdsock
ROUNDS=20
T=$(mktemp -d)
holder=

cleanup() {
	[[ -n $holder ]] && kill -KILL "$holder" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh

loaded() { [[ $(grep -c '^svmig ' /proc/modules) == 1 ]]; }
refcnt() { cat /sys/module/svmig/refcnt 2>/dev/null || echo "?"; }

wait_for() { # wait_for SECS COMMAND...: poll every 0.1 s
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		"${@:2}" && return 0
		sleep 0.1
	done
	return 1
}

# start_holder: a subshell that opens /dev/svmig read-write on fd 3 and
# sleeps with it open.  Returns once the file is open (or the open failed).
start_holder() {
	rm -f "$T/open" "$T/holder.err"
	(
		exec 3<>/dev/svmig || exit 1
		: >"$T/open"
		exec sleep 600
	) 2>"$T/holder.err" &
	holder=$!
	wait_for 10 test -e "$T/open" -o ! -d "/proc/$holder" || true
	[[ -e $T/open ]]
}

stop_holder() {
	[[ -n $holder ]] || return 0
	kill -TERM "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	holder=
}

echo "1..10"

# 1: precondition
if ! loaded; then
	insmod "$MODULE" 2>"$T/err"
fi
ok "$(loaded && echo 1 || echo 0)" "svmig is loaded at the start" "$(cat "$T/err" 2>/dev/null)"

e_rmmod=() e_insmod=() e_dev=() e_open=() e_busy=() e_refcnt=()
c_rmmod=0 c_insmod=0 c_dev=0 c_open=0 c_busy=0 c_refcnt=0
for ((round = 1; round <= ROUNDS; round++)); do
	if ! out=$(rmmod svmig 2>&1) || loaded; then
		e_rmmod+=("round $round: rmmod: ${out:-still listed in /proc/modules} (refcnt $(refcnt))")
		break
	fi
	c_rmmod=$((c_rmmod + 1))
	if ! out=$(insmod "$MODULE" 2>&1) || ! loaded; then
		e_insmod+=("round $round: insmod: ${out:-not listed in /proc/modules}")
		break
	fi
	c_insmod=$((c_insmod + 1))
	if ! wait_for 5 test -c /dev/svmig; then
		e_dev+=("round $round: no /dev/svmig after insmod")
		continue
	fi
	c_dev=$((c_dev + 1))
	if ! start_holder; then
		e_open+=("round $round: cannot hold /dev/svmig open: $(cat "$T/holder.err")")
		stop_holder
		continue
	fi
	c_open=$((c_open + 1))
	if out=$(rmmod svmig 2>&1) || ! loaded; then
		e_busy+=("round $round: rmmod succeeded while /dev/svmig was open")
		stop_holder
		loaded || insmod "$MODULE"
		continue
	fi
	c_busy=$((c_busy + 1))
	stop_holder
	if ! wait_for 5 test "$(refcnt)" = 0; then
		e_refcnt+=("round $round: refcnt $(refcnt) after the holder exited")
		continue
	fi
	c_refcnt=$((c_refcnt + 1))
done
# Each check must have passed in every round.
rounds_check() { # rounds_check COUNT DESC ERRORS...
	local count=$1 desc=$2
	shift 2
	ok $((count == ROUNDS)) "$desc ($count/$ROUNDS rounds)" "$@"
}
rounds_check $c_rmmod "rmmod succeeds when nothing holds svmig" "${e_rmmod[@]}"
rounds_check $c_insmod "insmod succeeds and svmig is listed in /proc/modules" "${e_insmod[@]}"
rounds_check $c_dev "/dev/svmig exists after insmod" "${e_dev[@]}"
rounds_check $c_open "a process can hold /dev/svmig open" "${e_open[@]}"
rounds_check $c_busy "rmmod fails while /dev/svmig is open" "${e_busy[@]}"
rounds_check $c_refcnt "refcnt is 0 again once /dev/svmig is closed" "${e_refcnt[@]}"

# 8: attached-socket variant
if [[ ! -x $HOLDSOCK ]]; then
	ok 0 "attached-socket variant" "$HOLDSOCK is not built (make tests)"
else
	errs=()
	loaded || insmod "$MODULE"
	"$HOLDSOCK" </dev/null >"$T/hs.out" 2>"$T/hs.err" &
	holder=$!
	wait_for 20 grep -qx ready "$T/hs.out" || true
	if ! grep -qx ready "$T/hs.out"; then
		errs+=("svmig-holdsock did not print ready: $(cat "$T/hs.err")")
	elif out=$(rmmod svmig 2>&1) || ! loaded; then
		errs+=("rmmod succeeded while a socket was attached")
	fi
	hs_pid=$holder
	kill -TERM "$hs_pid" 2>/dev/null
	hs_rc=0
	wait "$hs_pid" || hs_rc=$?
	holder=
	if ((hs_rc != 0 && ${#errs[@]} == 0)); then
		errs+=("svmig-holdsock exited with status $hs_rc: $(cat "$T/hs.err")")
	fi
	if loaded; then
		if ! wait_for 5 test "$(refcnt)" = 0; then
			errs+=("refcnt $(refcnt) after svmig-holdsock exited")
		fi
		out=$(rmmod svmig 2>&1) || errs+=("rmmod after svmig-holdsock exited: $out")
	fi
	out=$(insmod "$MODULE" 2>&1) || errs+=("insmod: $out")
	ok $((${#errs[@]} == 0)) "attached-socket variant: rmmod fails while attached, succeeds after" "${errs[@]}"
fi

# 9: the kernel log.  guest-run.sh cleared it before this test; only the
# first out-of-tree load of a boot prints the expected taint messages.
mapfile -t bad < <(dmesg | grep -i svmig |
	grep -v -e 'loading out-of-tree module taints kernel' -e 'module verification failed' |
	grep -i -E 'err|fail|warn|bug|leak|invalid|unable|cannot|busy|oops' || true)
mapfile -t badlevel < <(dmesg --level=emerg,alert,crit,err,warn 2>/dev/null | grep -i svmig |
	grep -v -e 'loading out-of-tree module taints kernel' -e 'module verification failed' || true)
ok $((${#bad[@]} + ${#badlevel[@]} == 0)) "no svmig error lines in dmesg" "${bad[@]}" "${badlevel[@]}"

# 10: leave it loaded
loaded || insmod "$MODULE"
ok "$(loaded && echo 1 || echo 0)" "svmig is loaded at the end"
