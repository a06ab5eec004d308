#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP: unmodified QEMU migrating through svmig's stream mode
# (build/svmig-migrate, Documentation/qemu.rst) between nested QEMU
# processes inside the test VM, with tests/vm/qemu-lib.sh,
# tests/vm/qemu-svmig-lib.sh and the bare-metal test guest
# (tests/qemu-guest/).
#   a  a paused guest whose RAM holds a random blob: the destination's RAM
#      equals the source's byte for byte; its report says the END verified,
#      nothing refused, AEAD generic-gcm-aesni; the source's says the END
#      went out and counts the same records and bytes
#   b  the running test guest, live: several precopy rounds (the source's
#      dirty-sync-count), resumed by svmig-migrate --resume only once
#      verified, and the guest goes on from where it was, passing its
#      self-checks
#   c  a vTPM: a 32-byte value written into the source swtpm's NV before the
#      VM starts comes out of the destination swtpm's state (a fresh state
#      directory before the migration) after the migration
#   d  svmig-relay between the two sides: first a transparent relay (the
#      control, whose capture also feeds the splice), then flip, replay,
#      swap, drop, cut and splice (record 50 of the capture, another
#      session) at record 50 of the stream: the destination refuses with
#      the right counter, accepted exactly the records before the attack
#      (and verified exactly their plaintext), is never resumed, and the
#      source's VM runs on
#   e  a wrong secret on the destination: refused at the first record (the
#      HELLO), the source's VM runs on
# Runs inside the test VM as root with svmig loaded (tests/vm/guest-run.sh).
# The accelerator is qemu-lib's choice (QEMU_ACCEL, default auto).
set -uo pipefail
export LC_ALL=C

cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
# shellcheck source=tests/vm/qemu-lib.sh
. tests/vm/qemu-lib.sh
# shellcheck source=tests/vm/qemu-svmig-lib.sh
. tests/vm/qemu-svmig-lib.sh

ATTACKS=(flip replay swap drop cut splice)
AT=50				# the attacked record: well inside the stream
NV_INDEX=0x01500016
PLAN=$((7 + 7 + 5 + 2 + 4 * ${#ATTACKS[@]} + 3))
# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh
unreached_to() { # unreached_to N WHY: results not reached (tap-lib.sh), until n == N
	while ((n < $1)); do
		unreached "(step $((n + 1)))" "$2"
	done
}
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

# bad: what the current assertion found wrong (diagnostics).
bad=()
# want FILE PATH VALUE: the report's PATH is VALUE, else a line in bad.
want() {
	local v
	v=$(svq_json "$1" "$2") || v='(absent)'
	[[ $v == "$3" ]] && return 0
	bad+=("${1##*/}: $2 is '$v', expected '$3'")
	return 1
}
# wantrc WHAT RC 0|nonzero
wantrc() {
	if [[ $3 == 0 && $2 == 0 ]] || [[ $3 != 0 && -n $2 && $2 != 0 ]]; then
		return 0
	fi
	bad+=("$1 exit status '$2', expected $3")
	return 1
}
result() { # result DESC [TAG]: ok if bad is empty; resets bad
	if ((${#bad[@]} == 0)); then
		ok 1 "$1"
		return 0
	fi
	ok 0 "$1" "${bad[@]}"
	[[ -n ${2:-} ]] && svq_dump "$2"
	bad=()
	return 1
}

# The destination report of a migration that verified.
want_verified() { # TAG
	local j=$SVQ_DIR/$1.in.json
	wantrc "incoming svmig-migrate" "$SVQ_IN_RC" 0
	want "$j" result ok
	want "$j" svmig.verdict verified
	want "$j" svmig.auth_failures 0
	want "$j" svmig.replays 0
	want "$j" svmig.proto_errors 0
	want "$j" svmig.discarded_bytes 0
	want "$j" svmig.aead_driver generic-gcm-aesni
}

# qemu_exited NAME: 0 if its QEMU process is gone (or a zombie).
qemu_exited() {
	local pid st
	pid=$(qemu_pid "$1") || return 0
	[[ -r /proc/$pid/stat ]] || return 0
	st=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
	[[ -z $st || $st == Z ]]
}

# vm_state NAME: "exited" or query-status's status.
vm_state() {
	if qemu_exited "$1"; then
		echo exited
	elif QEMU_QMP_TIMEOUT=10 qemu_qmp_q "$1" query-status; then
		qemu_json_str "$QEMU_REPLY" status
	elif qemu_exited "$1"; then
		echo exited
	else
		echo "unknown"
	fi
}

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

# guest_goes_on NAME: the test guest passes two more self-checks, none fails.
guest_goes_on() {
	local it next
	it=$(qemu_guest_iter "$1")
	next=$((${it:-0} + 2))
	if ! qemu_wait_serial "$1" "^selfcheck (ok iter=$next |FAIL)" 60 || qemu_guest_failed "$1"; then
		bad+=("$1: no self-check iteration $next (last ${it:-none}) or a FAIL")
		return 1
	fi
	return 0
}

# load_failed NAME: QEMU's log says its incoming load failed (its read()
# of /dev/svmig returned an error instead of data).
load_failed() {
	local log line
	log=$(qemu_dir "$1")/qemu.log
	line=$(tr -d '\r' <"$log" 2>/dev/null | grep -a 'load of migration failed' | tail -n 1)
	echo "# $1: QEMU: ${line:-(no 'load of migration failed' in qemu.log)}"
	[[ -n $line ]] && return 0
	bad+=("$1: qemu.log has no 'load of migration failed': $(tr -d '\r' <"$log" 2>/dev/null | tail -n 3 | tr '\n' ' ')")
	return 1
}

first_and_last() { # NAME: "first..last" self-check iterations, for diagnostics
	echo "$(qemu_guest_first_iter "$1")..$(qemu_guest_iter "$1")"
}

# ------------------------------------------------------------------ setup
missing=()
for tool in "$QEMU_BIN" socat swtpm swtpm_ioctl tpm2_startup tpm2_shutdown tpm2_nvdefine \
	tpm2_nvwrite tpm2_nvread timeout cmp od ss; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
for f in "$QEMU_GUEST_ELF" "$SVQ_MIGRATE" "$SVQ_RELAY"; do
	[[ -x $f || ( -f $f && $f == *.elf ) ]] || missing+=("$f (make tests)")
done
[[ -c /dev/svmig ]] || missing+=("/dev/svmig (svmig.ko loaded)")
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
LOGDIR=$PWD/build/vm/guest-logs/t_qemu_svmig
QEMU_LIB_LOGDIR=$LOGDIR
rm -rf "$LOGDIR"

cleanup() {
	local name
	trap - EXIT
	svq_cleanup --procs-only
	for name in "${QEMU_LIB_NAMES[@]}"; do
		qemu_stop "$name"
	done
	svq_cleanup
	if [[ -n ${SVQ_DIR:-} && -d $SVQ_DIR ]]; then
		mkdir -p "$LOGDIR"
		cp "$SVQ_DIR"/*.log "$SVQ_DIR"/*.json "$LOGDIR"/ 2>/dev/null
		for name in "$SVQ_DIR"/tpm-*/; do
			[[ -f $name/swtpm.log ]] && cp "$name/swtpm.log" "$LOGDIR/$(basename "$name").swtpm.log"
		done
	fi
	qemu_cleanup
}
QEMU_LIB_NO_TRAP=1
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

t_all=$(now)
if ! qemu_lib_init || ! svq_init; then
	echo "1..0"
	echo "Bail out! qemu_lib_init or svq_init failed"
	exit 1
fi
echo "1..$PLAN"
echo "# nested QEMU: $("$QEMU_BIN" --version | head -n 1), accel $QEMU_ACCEL ($QEMU_ACCEL_WHY)"
echo "# time: accel choice: $(since "$t_all")s"

# ------------------------------------------ a: a paused guest's RAM (blob)
t0=$(now)
blob=$QEMU_LIB_DIR/blob.bin
blob_addr=0x1000000
blob_mib=32
if head -c $((blob_mib << 20)) /dev/urandom >"$blob" &&
	qemu_start a-src --mem 64 --paused --blob "$blob@$blob_addr" &&
	qemu_start a-dst --mem 64 --incoming; then
	ok 1 "a: source (paused, $blob_mib MiB random blob at $blob_addr) and destination (-incoming defer -S) start"
	svq_migrate a a-src a-dst
	wantrc "incoming svmig-migrate" "$SVQ_IN_RC" 0
	wantrc "outgoing svmig-migrate" "$SVQ_OUT_RC" 0
	result "a: svmig-migrate incoming and outgoing both succeed" a
	want_verified a
	result "a: destination report: END verified, auth failures 0 (replays, protocol errors, discarded bytes 0), AEAD generic-gcm-aesni" a
	out=$SVQ_DIR/a.out.json in=$SVQ_DIR/a.in.json
	want "$out" result ok
	want "$out" svmig.finished true
	want "$out" svmig.tpm_salted true
	for k in records payload_bytes bytes; do
		v=$(svq_json "$in" "svmig.$k") || v='(absent)'
		want "$out" "svmig.$k" "$v"
	done
	echo "# a: $(svq_json "$in" svmig.records) records, $(svq_json "$in" svmig.payload_bytes) bytes of stream verified;" \
		"qemu total-time $(svq_json "$out" qemu.total_time_ms) ms, wall $(svq_json "$out" wall_ms) ms"
	result "a: source report: END sent, keys TPM-salted, the same records, bytes and stream bytes as the destination verified" a
	st_src=$(vm_state a-src) st_dst=$(vm_state a-dst)
	if [[ $st_src == postmigrate && ($st_dst == prelaunch || $st_dst == paused) ]]; then
		ok 1 "a: source postmigrate, destination not running ($st_dst: no --resume)"
	else
		ok 0 "a: source postmigrate, destination not running (no --resume)" "source '$st_src', destination '$st_dst'"
	fi
	if same_ram a-src a-dst; then
		ok 1 "a: destination RAM (pmemsave, all $(qemu_ram_bytes a-src) bytes) equals the source's byte for byte"
	else
		ok 0 "a: destination RAM equals the source's byte for byte"
	fi
	if qemu_pmemsave a-dst "$blob_addr" $((blob_mib << 20)) "$QEMU_LIB_DIR/a-dst.blob" &&
		cmp -s "$blob" "$QEMU_LIB_DIR/a-dst.blob"; then
		ok 1 "a: destination RAM at $blob_addr equals the loaded blob"
	else
		ok 0 "a: destination RAM at $blob_addr equals the loaded blob"
	fi
	rm -f "$QEMU_LIB_DIR/a-dst.blob"
else
	ok 0 "a: source and destination start"
	qemu_dump_logs a-src
	qemu_dump_logs a-dst
	unreached_to 7 "a: no QEMU"
fi
qemu_stop a-src
qemu_stop a-dst
echo "# time: a: $(since "$t0")s"

# ---------------------------------------------- b: live, the test guest
t0=$(now)
GUEST_APPEND="pages=512 burst=128"
b_ok=0
if qemu_start b-src --guest --mem 64 --append "$GUEST_APPEND" &&
	qemu_wait_serial b-src '^selfcheck ok iter=3 ' 90 && ! qemu_guest_failed b-src &&
	qemu_start b-dst --guest --mem 64 --incoming; then
	ok 1 "b: the test guest runs on the source ($GUEST_APPEND) and passes its self-checks; destination waits"
	b_ok=1
else
	ok 0 "b: the test guest runs on the source and passes its self-checks; destination waits"
	qemu_dump_logs b-src
	qemu_dump_logs b-dst
	unreached_to 14 "b: no source or destination"
fi
if ((b_ok)); then
	svq_migrate b b-src b-dst --resume
	wantrc "incoming svmig-migrate" "$SVQ_IN_RC" 0
	wantrc "outgoing svmig-migrate" "$SVQ_OUT_RC" 0
	want "$SVQ_DIR/b.in.json" resumed true
	result "b: live migration through svmig succeeds on both sides, the destination resumed by --resume" b
	src_last=$(qemu_guest_iter b-src)
	want_verified b
	result "b: destination report: END verified, nothing refused, AEAD generic-gcm-aesni" b
	out=$SVQ_DIR/b.out.json
	syncs=$(svq_json "$out" qemu.dirty_sync_count) || syncs=
	echo "# b: source: qemu total-time $(svq_json "$out" qemu.total_time_ms) ms," \
		"downtime $(svq_json "$out" qemu.downtime_ms) ms, $syncs dirty syncs," \
		"ram transferred $(svq_json "$out" qemu.ram_transferred) bytes;" \
		"$(svq_json "$SVQ_DIR/b.in.json" svmig.records) records"
	if [[ $syncs =~ ^[0-9]+$ ]] && ((syncs > 1)); then
		ok 1 "b: the source ran several precopy rounds (query-migrate dirty-sync-count $syncs > 1)"
	else
		ok 0 "b: the source ran several precopy rounds (query-migrate dirty-sync-count > 1)" "dirty_sync_count '$syncs'"
	fi
	st_src=$(vm_state b-src) st_dst=$(vm_state b-dst)
	if [[ $st_dst == running && $st_src == postmigrate ]]; then
		ok 1 "b: destination query-status running after --resume, source postmigrate"
	else
		ok 0 "b: destination query-status running after --resume, source postmigrate" \
			"source '$st_src', destination '$st_dst'"
	fi
	# The source stopped after its self-check N (or while printing N+1).
	qemu_wait_serial b-dst '^selfcheck (ok|FAIL) ' 60
	first=$(qemu_guest_first_iter b-dst)
	boots=$(grep -a -c '^svmig-guest: boot' "$(qemu_serial_log b-dst)")
	if [[ -n $first && -n $src_last ]] && ((boots == 0)) &&
		((first == src_last + 1 || first == src_last + 2)); then
		ok 1 "b: the guest goes on on the destination (source's last self-check $src_last, destination's first $first, no reboot)"
	else
		ok 0 "b: the guest goes on on the destination" \
			"source's last self-check '${src_last:-none}', destination's first '${first:-none}', boot lines $boots"
	fi
	last=$((${src_last:-0} + 5))
	qemu_wait_serial b-dst "^selfcheck (ok iter=$last |FAIL)" 90
	if ! qemu_guest_failed b-src && ! qemu_guest_failed b-dst &&
		[[ -n $(qemu_serial_last b-dst "^selfcheck ok iter=$last ") ]]; then
		ok 1 "b: the destination keeps passing self-checks (up to iteration $last), none failed on either side"
	else
		ok 0 "b: the destination keeps passing self-checks (up to iteration $last), none failed on either side"
		qemu_dump_logs b-src
		qemu_dump_logs b-dst
	fi
fi
qemu_stop b-src
qemu_stop b-dst
echo "# time: b: $(since "$t0")s"

# ---------------------------------------------------- c: the vTPM's NV
t0=$(now)
c_base=$n
tsrc=$SVQ_DIR/tpm-src tdst=$SVQ_DIR/tpm-dst
nv_val=$SVQ_DIR/nv.val nv_out=$SVQ_DIR/nv.out
c_ok=0
# Before the VM: the source vTPM's NV gets a random 32-byte value, through
# swtpm's command server, and swtpm shuts down with its state on disk.
# Both vTPMs are qemu-svmig-lib's swtpm (qemu_start --tpm makes a fresh
# state directory that cannot be prepared beforehand or read afterwards).
head -c 32 /dev/urandom >"$nv_val"
if svq_swtpm_server "$tsrc" >>"$SVQ_DIR/c.tpm.log" 2>&1 &&
	svq_tpm2 "$tsrc" tpm2_startup -c >>"$SVQ_DIR/c.tpm.log" 2>&1 &&
	svq_tpm2 "$tsrc" tpm2_nvdefine "$NV_INDEX" -C o -s 32 \
		-a "ownerread|ownerwrite|authread|authwrite" >>"$SVQ_DIR/c.tpm.log" 2>&1 &&
	svq_tpm2 "$tsrc" tpm2_nvwrite "$NV_INDEX" -C o -i "$nv_val" >>"$SVQ_DIR/c.tpm.log" 2>&1 &&
	svq_tpm2 "$tsrc" tpm2_nvread "$NV_INDEX" -C o -s 32 -o "$nv_out" >>"$SVQ_DIR/c.tpm.log" 2>&1 &&
	cmp -s "$nv_val" "$nv_out" &&
	svq_tpm2 "$tsrc" tpm2_shutdown -c >>"$SVQ_DIR/c.tpm.log" 2>&1 &&
	svq_swtpm_stop "$tsrc" && [[ -s $tsrc/state/tpm2-00.permall ]]; then
	ok 1 "c: source vTPM prepared before the VM: NV index $NV_INDEX holds a random 32-byte value (read back), swtpm shut down, state on disk"
	c_ok=1
else
	ok 0 "c: source vTPM prepared before the VM (tpm2_nvdefine/nvwrite/nvread, shutdown)"
	sed 's/^/#   /' "$SVQ_DIR/c.tpm.log" "$tsrc/swtpm.log" 2>/dev/null | tail -n 30
	svq_swtpm_stop "$tsrc"
fi
rm -f "$nv_out"
if ((c_ok)); then
	c_ok=0
	if svq_swtpm_vm "$tsrc" && src_tpm=("${SVQ_TPM_ARGS[@]}") &&
		qemu_start c-src --guest --mem 64 --append "$GUEST_APPEND" -- "${src_tpm[@]}" &&
		qemu_wait_serial c-src '^selfcheck ok iter=2 ' 90 && ! qemu_guest_failed c-src &&
		[[ ! -e $tdst/state ]] && svq_swtpm_vm "$tdst" && dst_tpm=("${SVQ_TPM_ARGS[@]}") &&
		qemu_start c-dst --guest --mem 64 --incoming -- "${dst_tpm[@]}"; then
		ok 1 "c: source VM runs the guest on that vTPM; destination waits with a vTPM on a fresh, empty state directory"
		c_ok=1
	else
		ok 0 "c: source VM runs the guest on that vTPM; destination waits with a fresh vTPM"
		qemu_dump_logs c-src
		qemu_dump_logs c-dst
		tail -n 20 "$tsrc/swtpm.log" "$tdst/swtpm.log" 2>/dev/null | sed 's/^/#   /'
	fi
fi
if ((c_ok)); then
	svq_migrate c c-src c-dst --resume
	wantrc "incoming svmig-migrate" "$SVQ_IN_RC" 0
	wantrc "outgoing svmig-migrate" "$SVQ_OUT_RC" 0
	want_verified c
	want "$SVQ_DIR/c.in.json" resumed true
	result "c: the VM with its vTPM migrates through svmig: END verified, nothing refused, destination resumed" c || c_ok=0
fi
if ((c_ok)); then
	st=$(vm_state c-dst)
	[[ $st == running ]] || bad+=("destination is '$st', not running")
	guest_goes_on c-dst
	result "c: the destination runs the guest on (query-status running, more self-checks pass)"
	# Stop QEMU, then its swtpm (CMD_SHUTDOWN), then read the NV back
	# from the destination's state directory with a command server.
	qemu_stop c-dst
	qemu_stop c-src
	svq_swtpm_stop "$tdst"
	nvdiag=()
	if ! svq_swtpm_server "$tdst" >>"$SVQ_DIR/c.tpm.log" 2>&1; then
		nvdiag+=("the destination's swtpm did not start on its state")
	else
		svq_tpm2 "$tdst" tpm2_startup -c >>"$SVQ_DIR/c.tpm.log" 2>&1 ||
			echo "# c: tpm2_startup -c on the destination state failed (see c.tpm.log); reading anyway"
		if ! svq_tpm2 "$tdst" tpm2_nvread "$NV_INDEX" -C o -s 32 -o "$nv_out" >>"$SVQ_DIR/c.tpm.log" 2>&1; then
			nvdiag+=("tpm2_nvread $NV_INDEX on the destination's state failed")
		fi
	fi
	svq_swtpm_stop "$tdst"
	if ((${#nvdiag[@]} == 0)) && cmp -s "$nv_val" "$nv_out"; then
		ok 1 "c: NV index $NV_INDEX read back from the destination swtpm's state (after the VM stopped) equals the value written on the source"
	else
		ok 0 "c: NV index $NV_INDEX read back from the destination swtpm's state equals the value written on the source" \
			"${nvdiag[@]}" "written: $(od -An -tx1 "$nv_val" | tr -d ' \n')" \
			"read:    $(od -An -tx1 "$nv_out" 2>/dev/null | tr -d ' \n')"
		tail -n 20 "$SVQ_DIR/c.tpm.log" | sed 's/^/#   /'
	fi
fi
unreached_to $((c_base + 5)) "c: an earlier step of c failed"
qemu_stop c-src
qemu_stop c-dst
svq_swtpm_stop "$tsrc"
svq_swtpm_stop "$tdst"
echo "# time: c: $(since "$t0")s"

# ---------------------------------------- d: attacks with svmig-relay
t0=$(now)
cap0=$SVQ_DIR/control.cap
src=''
# Case a's blob again: with it the stream is bigger than all the socket
# buffers between source and destination, so the source cannot have
# finished writing when the destination refuses.
if [[ -s $blob ]] &&
	qemu_start d-src --guest --mem 64 --append "$GUEST_APPEND" --blob "$blob@$blob_addr" &&
	qemu_wait_serial d-src '^selfcheck ok iter=2 ' 90 && ! qemu_guest_failed d-src &&
	qemu_start d-ctl --guest --mem 64 --incoming; then
	svq_migrate control d-src d-ctl --resume --relay "--attack none --capture $cap0"
	wantrc "incoming svmig-migrate" "$SVQ_IN_RC" 0
	wantrc "outgoing svmig-migrate" "$SVQ_OUT_RC" 0
	want_verified control
	recs=$(svq_json "$SVQ_DIR/control.in.json" svmig.records)
	relayed=$(sed -n -E 's/^svmig-relay: ([0-9]+) records relayed$/\1/p' "$SVQ_DIR/control.relay.log")
	[[ -n $recs && $relayed == "$recs" ]] ||
		bad+=("the relay forwarded '${relayed:-?}' records, the destination accepted '${recs:-?}'")
	[[ $(stat -c %s "$cap0" 2>/dev/null) == "$(svq_json "$SVQ_DIR/control.in.json" svmig.bytes)" ]] ||
		bad+=("the capture has $(stat -c %s "$cap0" 2>/dev/null) bytes, the destination verified $(svq_json "$SVQ_DIR/control.in.json" svmig.bytes)")
	echo "# d: control: $recs records; qemu total-time $(svq_json "$SVQ_DIR/control.out.json" qemu.total_time_ms) ms"
	if result "d: control: through a transparent svmig-relay (capturing) the migration (guest + $blob_mib MiB blob) verifies; the relay forwarded every record" control; then
		src='d-ctl'
	fi
else
	ok 0 "d: control: source, destination and a migration through a transparent relay"
	qemu_dump_logs d-src
	qemu_dump_logs d-ctl
fi
qemu_stop d-src
rm -f "$blob"
if [[ -n $src ]]; then
	# The VM now lives on d-ctl: it is the source of every attack below.
	[[ $(vm_state d-ctl) == running ]] || bad+=("d-ctl is $(vm_state d-ctl), not running")
	guest_goes_on d-ctl
	result "d: the migrated VM runs on (its guest passes more self-checks); it is the source for the attacks" || src=''
else
	unreached "d: the migrated VM runs on" "no control migration"
fi
for attack in "${ATTACKS[@]}"; do
	if [[ -z $src ]]; then
		unreached_to $((n + 4)) "d: no source VM for the attacks"
		continue
	fi
	dst=d-$attack cap=$SVQ_DIR/$attack.cap
	relay="--attack $attack --at $AT --capture $cap"
	[[ $attack == splice ]] && relay+=" --splice-from $cap0"
	# Records the destination accepts: those before the attacked one, and
	# for a replay the original of the replayed one.
	exp_records=$AT
	[[ $attack == replay ]] && exp_records=$((AT + 1))
	case $attack in
	flip | splice) counter=auth_failures ;;
	replay | swap | drop) counter=replays ;;
	cut) counter='' ;;
	esac
	if ! qemu_start "$dst" --guest --mem 64 --incoming; then
		ok 0 "d: $attack: destination starts"
		unreached_to $((n + 3)) "d: $attack: no destination"
		continue
	fi
	svq_migrate "$attack" "$src" "$dst" --resume --relay "$relay"
	j=$SVQ_DIR/$attack.in.json
	# 1. refused, with the right counter, after exactly the records before.
	wantrc "incoming svmig-migrate" "$SVQ_IN_RC" nonzero
	grep -q -E "^svmig-relay: $attack on record $AT \(type 4\)$" "$SVQ_DIR/$attack.relay.log" ||
		bad+=("the relay did not report '$attack on record $AT (type 4)'")
	want "$j" result failed
	verdict=failed
	[[ $attack == cut ]] && verdict=truncated
	want "$j" svmig.verdict "$verdict"
	for k in auth_failures replays proto_errors; do
		if [[ $k == "$counter" ]]; then
			want "$j" "svmig.$k" 1
		else
			want "$j" "svmig.$k" 0
		fi
	done
	want "$j" svmig.records "$exp_records"
	if [[ -n $counter ]]; then
		what="$counter 1, the other counters 0"
	else
		what="no record refused: the stream ended before the END"
	fi
	echo "# d: $attack: $(svq_json "$j" error)"
	result "d: $attack at record $AT: the destination refuses (exit non-zero, verdict $verdict, $what; $exp_records records accepted)" "$attack"
	# 2. What QEMU could have read: the plaintext of the accepted records.
	got=$(svq_json "$j" svmig.payload_bytes) || got='(absent)'
	if exp=$(svq_stream_payload "$cap" "$exp_records") && [[ $got == "$exp" ]]; then
		ok 1 "d: $attack: verified plaintext ($got bytes) is exactly that of the $exp_records records before the attack point"
	else
		ok 0 "d: $attack: verified plaintext is exactly that of the records before the attack point" \
			"payload_bytes '$got', the first $exp_records captured records hold '${exp:-?}'"
	fi
	# 3. The destination never ran.
	st=$(vm_state "$dst")
	[[ $st != running ]] || bad+=("the destination is running")
	svq_json "$j" resumed >/dev/null && bad+=("the report has \"resumed\": $(svq_json "$j" resumed)")
	[[ ! -s $(qemu_serial_log "$dst") ]] || bad+=("the destination's guest printed: $(tr -d '\r' <"$(qemu_serial_log "$dst")" | head -n 2)")
	load_failed "$dst"
	result "d: $attack: the destination QEMU is never resumed ($st after a failed load; no guest output)"
	# 4. The source runs on.
	wantrc "outgoing svmig-migrate" "$SVQ_OUT_RC" nonzero
	st=$(vm_state "$src")
	[[ $st == running ]] || { qemu_wait_status "$src" running 10 && st=running; } ||
		bad+=("the source is '$st', not running")
	guest_goes_on "$src"
	result "d: $attack: the source's svmig-migrate fails, the source VM runs on (query-status $st, its guest passes more self-checks)" "$attack"
	qemu_stop "$dst"
	rm -f "$cap"
done
echo "# time: d: $(since "$t0")s"

# -------------------------------------------- e: wrong secret
t0=$(now)
if [[ -z $src ]]; then
	unreached_to $((n + 3)) "e: no source VM"
elif ! qemu_start e-dst --guest --mem 64 --incoming; then
	ok 0 "e: destination starts"
	unreached_to $((n + 2)) "e: no destination"
else
	svq_migrate wrongkey "$src" e-dst --resume --dst-secret "$SVQ_SECRET_BAD"
	j=$SVQ_DIR/wrongkey.in.json
	wantrc "incoming svmig-migrate" "$SVQ_IN_RC" nonzero
	want "$j" result failed
	want "$j" svmig.verdict failed
	want "$j" svmig.auth_failures 1
	want "$j" svmig.records 0
	want "$j" svmig.payload_bytes 0
	echo "# e: $(svq_json "$j" error)"
	result "e: wrong secret on the destination: refused at the first record (auth failures 1, records 0, nothing verified)" wrongkey
	st=$(vm_state e-dst)
	[[ $st != running ]] || bad+=("the destination is running")
	svq_json "$j" resumed >/dev/null && bad+=("the report has \"resumed\"")
	[[ ! -s $(qemu_serial_log e-dst) ]] || bad+=("the destination's guest printed something")
	load_failed e-dst
	result "e: the destination QEMU is never resumed ($st after a failed load)"
	wantrc "outgoing svmig-migrate" "$SVQ_OUT_RC" nonzero
	st=$(vm_state "$src")
	[[ $st == running ]] || { qemu_wait_status "$src" running 10 && st=running; } ||
		bad+=("the source is '$st', not running")
	guest_goes_on "$src"
	qemu_guest_failed "$src" && bad+=("the source's guest failed a self-check")
	result "e: the source's svmig-migrate fails, the source VM runs on ($st; self-checks $(first_and_last "$src"), none failed)" wrongkey
fi
qemu_stop e-dst
echo "# time: e: $(since "$t0")s"
unreached_to "$PLAN" "not reached"
echo "# time: total: $(since "$t_all")s"
