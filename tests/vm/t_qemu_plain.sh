#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP: plain QEMU migrations (tcp: over loopback, no svmig) between two
# nested QEMU processes inside the test VM, with tests/vm/qemu-lib.sh and
# the bare-metal test guest (tests/qemu-guest/).  The baseline the svmig
# stream-mode tests build on: if these fail, the harness or QEMU is broken,
# not svmig.
#   a  a paused guest whose RAM holds a random blob (-device loader): the
#      destination's RAM (pmemsave) equals the source's and the blob
#   b  the running test guest, migrated live: both RAMs are equal once both
#      are stopped, and after `cont` the destination continues the source's
#      run (next self-check iteration, no reboot) and keeps passing its
#      self-checks
#   c  negative control: the guest's self-check does catch a flipped bit
#   d  b with a swtpm vTPM on each side; the TPM state moves too
# Runs inside the test VM as root (tests/vm/guest-run.sh); svmig need not be
# loaded and is left as it was.  The accelerator is qemu-lib's choice
# (QEMU_ACCEL, default auto: nested KVM if it works, else TCG).
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
# shellcheck source=tests/vm/qemu-lib.sh
. tests/vm/qemu-lib.sh

PLAN=17
# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

missing=()
for tool in "$QEMU_BIN" socat swtpm cmp; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[[ -f $QEMU_GUEST_ELF ]] || missing+=("$QEMU_GUEST_ELF (make tests)")
if ((${#missing[@]})); then
	echo "1..0"
	echo "Bail out! missing: ${missing[*]}"
	exit 1
fi

# Migrations go over 127.0.0.1: a fresh guest may have lo down.
ip link set lo up 2>/dev/null || true
if [[ ! -e /dev/kvm ]]; then
	modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null || true
fi
QEMU_LIB_LOGDIR=$PWD/build/vm/guest-logs/t_qemu_plain
rm -rf "$QEMU_LIB_LOGDIR"
t_all=$(now)
if ! qemu_lib_init; then
	echo "1..0"
	echo "Bail out! qemu_lib_init failed"
	exit 1
fi
echo "1..$PLAN"
echo "# nested QEMU: $("$QEMU_BIN" --version | head -n 1), accel $QEMU_ACCEL ($QEMU_ACCEL_WHY)"
echo "# time: accel choice: $(since "$t_all")s"

# same_ram SRC DST: pmemsave all of both RAMs and compare them.
same_ram() {
	local bytes a=$QEMU_LIB_DIR/$1.mem b=$QEMU_LIB_DIR/$2.mem rc=0 diff
	bytes=$(qemu_ram_bytes "$1") || return 1
	if ! qemu_pmemsave "$1" 0 "$bytes" "$a" || ! qemu_pmemsave "$2" 0 "$bytes" "$b"; then
		rm -f "$a" "$b"
		return 1
	fi
	if ! diff=$(cmp "$a" "$b" 2>&1); then
		rc=1
		echo "# $bytes bytes of RAM differ: $diff; differing 4 KiB pages (first 10):"
		cmp -l "$a" "$b" 2>/dev/null | awk '{ p = int(($1 - 1) / 4096); if (!(p in s)) { s[p]; n++; if (n <= 10) printf "#   0x%x\n", p * 4096 } } END { printf "#   %d pages\n", n }'
	fi
	rm -f "$a" "$b"
	return "$rc"
}

# migrate_both SRC DST: tcp migration, completed on both sides.
migrate_both() {
	local t0 st
	t0=$(now)
	qemu_migrate "$1" "$2" &&
		qemu_wait_migration "$1" completed 120 &&
		qemu_wait_migration "$2" completed 30 || return 1
	qemu_qmp_q "$1" query-migrate || return 1
	st=$QEMU_REPLY
	echo "# migration $1 -> $2: $(since "$t0")s; QEMU says total-time" \
		"$(qemu_json_num "$st" total-time) ms, downtime $(qemu_json_num "$st" downtime) ms," \
		"$(qemu_json_num "$st" dirty-sync-count) dirty syncs," \
		"$(qemu_json_num "$st" transferred) bytes sent"
}

both_status() { # SRC SRC-STATUS DST DST-STATUS
	qemu_wait_status "$1" "$2" 10 && qemu_wait_status "$3" "$4" 10
}

# ------------------------------------------ a: a paused guest's RAM (blob)
t0=$(now)
blob=$QEMU_LIB_DIR/blob.bin
blob_addr=0x1000000
blob_mib=64
a_ok=0
if head -c $((blob_mib << 20)) /dev/urandom >"$blob" &&
	qemu_start a-src --mem 128 --paused --blob "$blob@$blob_addr" &&
	qemu_start a-dst --mem 128 --incoming; then
	a_ok=1
fi
ok "$a_ok" "a: source (paused, $blob_mib MiB random blob at $blob_addr) and destination (-incoming defer) start"
if ((a_ok)) && check "a: migration of the paused guest completes on both sides" migrate_both a-src a-dst; then
	# The destination takes over the source's run state: never started.
	check "a: source is postmigrate and destination prelaunch (as the source was)" \
		both_status a-src postmigrate a-dst prelaunch
	check "a: destination RAM (pmemsave, all $(qemu_ram_bytes a-src) bytes) equals the source's byte for byte" \
		same_ram a-src a-dst
	bytes=$((blob_mib << 20))
	if qemu_pmemsave a-dst "$blob_addr" "$bytes" "$QEMU_LIB_DIR/a-dst.blob" &&
		cmp -s "$blob" "$QEMU_LIB_DIR/a-dst.blob"; then
		ok 1 "a: destination RAM at $blob_addr equals the loaded blob"
	else
		ok 0 "a: destination RAM at $blob_addr equals the loaded blob"
	fi
	rm -f "$QEMU_LIB_DIR/a-dst.blob"
else
	((a_ok)) || ok 0 "a: migration of the paused guest completes on both sides"
	unreached "a: source is postmigrate and destination prelaunch" "no migration"
	unreached "a: destination RAM equals the source's" "no migration"
	unreached "a: destination RAM equals the loaded blob" "no migration"
	qemu_dump_logs a-src
	qemu_dump_logs a-dst
fi
rm -f "$blob"
qemu_stop a-src
qemu_stop a-dst
echo "# time: a: $(since "$t0")s"

# ---------------------------------------------- live migration of the guest
# live_migration X [qemu_start options]: the b and d scenarios.  Sets
# live_src_last (the source's last self-check) and live_ok.
live_migration() {
	local x=$1 first last src=$1-src dst=$1-dst boots
	shift
	live_ok=0
	if qemu_start "$src" --guest --mem 64 --append "pages=1024 burst=256" "$@" &&
		qemu_wait_serial "$src" '^selfcheck ok iter=3 ' 90 &&
		! qemu_guest_failed "$src"; then
		ok 1 "$x: the test guest boots on the source and passes its self-checks"
	else
		ok 0 "$x: the test guest boots on the source and passes its self-checks"
		qemu_dump_logs "$src"
		return 1
	fi
	if ! qemu_start "$dst" --guest --mem 64 --incoming "$@" || ! migrate_both "$src" "$dst"; then
		ok 0 "$x: live migration of the running guest completes on both sides"
		qemu_dump_logs "$src"
		qemu_dump_logs "$dst"
		return 1
	fi
	ok 1 "$x: live migration of the running guest completes on both sides"
	live_src_last=$(qemu_guest_iter "$src")
	if [[ $x == b ]]; then
		check "b: source is postmigrate and destination paused" both_status "$src" postmigrate "$dst" paused
		check "b: destination RAM (pmemsave, all $(qemu_ram_bytes "$src") bytes) equals the source's (both stopped)" \
			same_ram "$src" "$dst"
	fi
	if ! qemu_qmp_q "$dst" cont || ! qemu_wait_status "$dst" running 10; then
		ok 0 "$x: destination runs after cont (query-status: running)" "reply: $QEMU_REPLY"
		return 1
	fi
	[[ $x == b ]] && ok 1 "b: destination runs after cont (query-status: running)"
	# The source stopped after its self-check N (or while printing N+1: a
	# line split across the two logs is not a complete line on either).
	qemu_wait_serial "$dst" '^selfcheck (ok|FAIL) ' 60
	first=$(qemu_guest_first_iter "$dst")
	boots=$(grep -a -c '^svmig-guest: boot' "$(qemu_serial_log "$dst")")
	if [[ $x == b ]]; then
		if [[ -n $first && -n $live_src_last ]] && ((boots == 0)) &&
			((first == live_src_last + 1 || first == live_src_last + 2)); then
			ok 1 "b: destination continues the source's run (source's last self-check $live_src_last, destination's first $first, no reboot)"
		else
			ok 0 "b: destination continues the source's run" \
				"source's last self-check '${live_src_last:-none}', destination's first '${first:-none}', boot lines $boots"
		fi
	fi
	last=$((${live_src_last:-0} + 5))
	qemu_wait_serial "$dst" "^selfcheck (ok iter=$last |FAIL)" 90
	if ! qemu_guest_failed "$src" && ! qemu_guest_failed "$dst" &&
		[[ -n $(qemu_serial_last "$dst" "^selfcheck ok iter=$last ") ]] && ((boots == 0)); then
		ok 1 "$x: destination keeps passing self-checks (up to iteration $last), none failed on either side"
		live_ok=1
	else
		ok 0 "$x: destination keeps passing self-checks (up to iteration $last), none failed on either side"
		qemu_dump_logs "$src"
		qemu_dump_logs "$dst"
	fi
	return 0
}

# ------------------------------------------------ b: live, the test guest
t0=$(now)
live_migration b
while ((n < 12)); do
	unreached "b: step $((n + 1))" "an earlier step of b failed"
done
qemu_stop b-src
qemu_stop b-dst
echo "# time: b: $(since "$t0")s"

# -------------------------------------------- c: negative control
t0=$(now)
desc="c: the guest's self-check catches a flipped bit (corrupt=3: selfcheck FAIL, halted, no later ok)"
if qemu_start c --guest --mem 16 --append "pages=64 burst=16 corrupt=3" &&
	qemu_wait_serial c '^svmig-guest: halted' 60 &&
	[[ -n $(qemu_serial_last c '^selfcheck FAIL iter=3 page=3 word=7 ') &&
		-z $(qemu_serial_last c '^selfcheck ok iter=([3-9]|[1-9][0-9]+) ') &&
		$(qemu_guest_iter c) == 2 ]]; then
	ok 1 "$desc"
else
	ok 0 "$desc"
	qemu_dump_logs c
fi
qemu_stop c
echo "# time: c: $(since "$t0")s"

# --------------------------------------------------- d: with a vTPM each
t0=$(now)
if live_migration d --tpm && ((live_ok)); then
	a=$(qemu_dir d-src)/tpm/state/tpm2-00.permall
	b=$(qemu_dir d-dst)/tpm/state/tpm2-00.permall
	if [[ -s $a && -s $b ]] && cmp -s "$a" "$b"; then
		ok 1 "d: the destination's swtpm holds the source's permanent TPM state (tpm2-00.permall identical)"
	else
		ok 0 "d: the destination's swtpm holds the source's permanent TPM state (tpm2-00.permall identical)"
		find "$(qemu_dir d-src)/tpm/state" "$(qemu_dir d-dst)/tpm/state" -ls 2>&1 | sed 's/^/#   /'
	fi
fi
while ((n < PLAN)); do
	unreached "d: step $((n + 1))" "an earlier step of d failed"
done
qemu_stop d-src
qemu_stop d-dst
echo "# time: d: $(since "$t0")s"
echo "# time: total: $(since "$t_all")s"
