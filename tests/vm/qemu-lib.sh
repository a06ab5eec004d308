# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Nested QEMU for the migration tests: source with `. tests/vm/qemu-lib.sh`
# from a test that runs inside the test VM (or on any Debian host with
# qemu-system-x86, socat and, for --tpm, swtpm).  Every QEMU is a named
# instance with its own directory; every function returns 0 on success and
# non-zero (with a "# ..." diagnostic on stderr) on failure, and never exits
# the caller's shell.  Works with and without `set -e`.
#
# Setup and teardown
#   qemu_lib_init           once, before anything else: makes $QEMU_LIB_DIR
#                           (a fresh directory under ${TMPDIR:-/tmp}, short
#                           enough for unix socket paths), picks the
#                           accelerator (see QEMU_ACCEL; QEMU_ACCEL_WHY says
#                           why) and, unless QEMU_LIB_NO_TRAP=1, installs
#                           `trap qemu_cleanup EXIT` and turns INT/TERM/HUP
#                           into exit (a test with its own EXIT trap must
#                           call qemu_cleanup from it).
#   qemu_cleanup            stops every instance (QEMU and swtpm, by pid),
#                           copies their logs to $QEMU_LIB_LOGDIR if set and
#                           removes $QEMU_LIB_DIR (kept if QEMU_LIB_KEEP=1).
#
# Instances
#   qemu_start NAME [OPTIONS] [-- QEMU-ARGS...]
#       starts qemu-system-x86_64 in the background and returns once it
#       answers on QMP (non-zero, with QEMU's error, if it exits at startup).
#       A destination needs the source's --mem, --guest/--kernel, --tpm and
#       --accel (QEMU refuses RAM blocks that differ, and option ROMs such
#       as -kernel's are RAM blocks), not its --blob/--append/--paused.
#       OPTIONS:
#         --mem MIB          guest RAM (default 64; under TCG 8 KiB more,
#                            see QEMU_TCG_RAM_PAD_KIB; qemu_ram_bytes says)
#         --guest            boot the bare-metal test guest ($QEMU_GUEST_ELF,
#                            tests/qemu-guest/guest.c) with -kernel
#         --kernel FILE      boot FILE with -kernel instead
#         --append STRING    -append (the test guest takes pages=, burst=,
#                            seed=, corrupt=)
#         --blob FILE[@ADDR] fill guest RAM at ADDR (default 0x1000000) with
#                            FILE at reset (-device loader,force-raw=on);
#                            may be repeated
#         --paused           -S: CPUs stay stopped until `cont`
#         --incoming         destination: -incoming defer (implies -S); then
#                            qemu_migrate, or migrate-incoming yourself
#         --tpm              a vTPM: a fresh swtpm (own state directory,
#                            absolute paths) + -tpmdev emulator + tpm-tis
#         --accel A          tcg or kvm for this instance (default
#                            $QEMU_ACCEL); both ends of a migration need the
#                            same one
#       Each instance gets: machine pc, one vCPU (qemu64; under KVM without
#       kvmclock: with it SeaBIOS registers a pvclock page that each side's
#       KVM rewrites, so the destination's RAM would differ from the
#       source's in those bytes), no default devices, no display, COM1 ->
#       serial.log, two QMP monitors (qmp.sock for this library, qmp2.sock
#       free for another client such as a migration driver).  QEMU-ARGS
#       are appended to the command line (use --mem, not -m).  The command
#       line is saved in the instance directory as `cmdline`.
#   qemu_stop NAME          `quit` over QMP, then SIGTERM/SIGKILL by pid if
#                           needed; stops its swtpm too (a swtpm serves one
#                           QEMU: start the instance again for a fresh one).
#                           The instance directory stays until qemu_cleanup
#   qemu_alive NAME         0 while the QEMU process runs (not a zombie)
#   qemu_dir NAME           prints the instance directory
#   qemu_pid NAME           prints the QEMU pid
#   qemu_ram_bytes NAME     prints the guest RAM size in bytes (all of it is
#                           at guest-physical 0.., for pmemsave)
#   qemu_qmp_sock NAME [2]  prints the path of qmp.sock (or qmp2.sock)
#   qemu_serial_log NAME    prints the path of the COM1 log
#   qemu_dump_logs NAME [LINES]  the tails of serial.log, qemu.log and
#                           swtpm.log as "# " comment lines (stdout), for
#                           TAP diagnostics
#
# QMP (socat to qmp.sock: greeting, qmp_capabilities, the command)
#   qemu_qmp NAME COMMAND [ARGS-JSON]
#       runs {"execute": COMMAND, "arguments": ARGS-JSON} and prints the
#       reply line ({"return": ...} or {"error": ...}; events are skipped).
#       Returns 0 for "return", 1 for "error", 2 if no reply came within
#       $QEMU_QMP_TIMEOUT seconds (default 30).  The reply is also left in
#       the global QEMU_REPLY.
#   qemu_qmp_q NAME COMMAND [ARGS-JSON]   the same without printing
#   qemu_json_str JSON KEY  prints the first "KEY": "string" value of JSON
#   qemu_json_num JSON KEY  prints the first "KEY": number value of JSON
#   qemu_pmemsave NAME ADDR SIZE FILE     guest-physical memory to FILE
#                           (ADDR and SIZE decimal or 0x-hex; FILE is made
#                           absolute: QEMU writes it)
#
# Waiting (TIMEOUT in seconds; each prints nothing on success)
#   qemu_wait_serial NAME ERE TIMEOUT     until a line of serial.log matches
#                           ERE (fails early if QEMU exits)
#   qemu_serial_last NAME ERE             prints the last matching line
#   qemu_wait_status NAME STATUS TIMEOUT  until query-status says STATUS
#                           (running, paused, postmigrate, inmigrate, ...)
#   qemu_wait_migration NAME STATUS TIMEOUT
#                           until query-migrate says STATUS (usually
#                           completed); fails early on failed/cancelled,
#                           printing error-desc.  The last reply is left in
#                           QEMU_REPLY (source: total-time, downtime, ram).
#
# Migration
#   qemu_free_port          prints a free TCP port on 127.0.0.1
#   qemu_migrate SRC DST [URI]
#       migrate-incoming URI on DST, then migrate URI on SRC (URI default
#       tcp:127.0.0.1:<free port>; the bandwidth limit is lifted first,
#       see QEMU_MIG_BANDWIDTH).  Returns once the migration has started;
#       wait with qemu_wait_migration SRC completed T (and DST).
#
# The bare-metal test guest (tests/qemu-guest/guest.c)
#   qemu_guest_iter NAME    prints N of the last complete "selfcheck ok
#                           iter=N ..." line of serial.log (empty if none)
#   qemu_guest_first_iter NAME   the same for the first such line
#   qemu_guest_failed NAME  0 if serial.log has a "selfcheck FAIL" or
#                           "halted" line
#
# Environment
#   QEMU_BIN            default qemu-system-x86_64
#   QEMU_ACCEL          tcg (default: $SVMIG_QEMU_ACCEL if set), kvm or
#                       auto.  auto: kvm if /dev/kvm is usable and a probe
#                       boot of the test guest under KVM passes two
#                       self-checks within 20 s, else tcg.  Read by
#                       qemu_lib_init, which leaves tcg or kvm in it and the
#                       reason in QEMU_ACCEL_WHY.  In the test VM nested KVM
#                       (kvm_amd on the SVM that QEMU/TCG emulates) runs the
#                       test guest about 3.5 times faster than TCG, but it
#                       crashed or froze the test VM itself in about one run
#                       in ten (a soft lockup in KVM_RUN, a whole-VM freeze,
#                       "corrupted stack end detected inside scheduler" in a
#                       plain QEMU tcp: migration, 2026-11-25), with nothing
#                       of svmig involved: so TCG unless asked.
#   QEMU_TCG_RAM_PAD_KIB  KiB added to --mem under TCG (default 8; 0: none).
#                       QEMU before 9.0 (Debian 12 has 7.2) loses guest
#                       stores during a live migration under TCG: the fast
#                       path of its dirty-bitmap sync, taken for a RAM block
#                       whose size is a multiple of 256 KiB, clears dirty
#                       bits without resetting the TCG TLBs' dirty tracking
#                       (fixed upstream by "physmem: Fix migration dirty
#                       bitmap coherency with TCG memory access", 2024).
#                       An odd size takes the per-page path, which is right.
#   QEMU_GUEST_ELF      default <worktree>/build/tests/qemu-guest/guest.elf
#   QEMU_QMP_TIMEOUT    seconds to wait for one QMP reply (default 30)
#   QEMU_MIG_BANDWIDTH  max-bandwidth set by qemu_migrate, bytes/s (default
#                       1 GiB/s; QEMU's own default is 32 MiB/s); empty:
#                       leave QEMU's
#   QEMU_LIB_LOGDIR     where qemu_cleanup copies each instance's logs
#   QEMU_LIB_KEEP=1     keep $QEMU_LIB_DIR
#   QEMU_LIB_NO_TRAP=1  qemu_lib_init installs no traps

QEMU_LIB_WORKTREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
: "${QEMU_BIN:=qemu-system-x86_64}"
: "${QEMU_ACCEL:=${SVMIG_QEMU_ACCEL:-tcg}}"
: "${QEMU_TCG_RAM_PAD_KIB:=8}"
: "${QEMU_GUEST_ELF:=$QEMU_LIB_WORKTREE/build/tests/qemu-guest/guest.elf}"
: "${QEMU_QMP_TIMEOUT:=30}"
: "${QEMU_MIG_BANDWIDTH=1073741824}"
QEMU_LIB_DIR=${QEMU_LIB_DIR:-}
QEMU_REPLY=
QEMU_ACCEL_WHY=
declare -gA QEMU_LIB_PIDS=()
declare -ga QEMU_LIB_NAMES=()

_qemu_err() { echo "# qemu-lib: $*" >&2; }

# QEMU option values double their commas.
_qemu_q() { printf '%s' "${1//,/,,}"; }

_qemu_name_ok() {
	if [[ ! ${1:-} =~ ^[A-Za-z0-9_-]+$ ]]; then
		_qemu_err "bad instance name '${1:-}'"
		return 1
	fi
	if [[ -z $QEMU_LIB_DIR ]]; then
		_qemu_err "qemu_lib_init was not called"
		return 1
	fi
}

_qemu_known() {
	_qemu_name_ok "$1" || return 1
	if [[ ! -d $QEMU_LIB_DIR/$1 ]]; then
		_qemu_err "no instance '$1'"
		return 1
	fi
}

_qemu_now() { date +%s.%N; }

# _qemu_before DEADLINE: 0 while now < DEADLINE (seconds, fractional).
_qemu_before() {
	awk -v a="$(_qemu_now)" -v d="$1" 'BEGIN { exit !(a < d) }'
}

_qemu_deadline() {
	awk -v a="$(_qemu_now)" -v t="$1" 'BEGIN { printf "%.3f", a + t }'
}

qemu_dir() { _qemu_known "$1" && echo "$QEMU_LIB_DIR/$1"; }
qemu_serial_log() { _qemu_known "$1" && echo "$QEMU_LIB_DIR/$1/serial.log"; }

qemu_qmp_sock() {
	_qemu_known "$1" || return 1
	if [[ ${2:-} == 2 ]]; then
		echo "$QEMU_LIB_DIR/$1/qmp2.sock"
	else
		echo "$QEMU_LIB_DIR/$1/qmp.sock"
	fi
}

qemu_pid() {
	_qemu_known "$1" || return 1
	[[ -n ${QEMU_LIB_PIDS[$1]:-} ]] || return 1
	echo "${QEMU_LIB_PIDS[$1]}"
}

qemu_ram_bytes() {
	_qemu_known "$1" || return 1
	cat "$QEMU_LIB_DIR/$1/ram_bytes"
}

qemu_alive() { # (a zombie, exited but not yet reaped, is not alive)
	local pid=${QEMU_LIB_PIDS[${1:-}]:-}
	[[ -n $pid ]] && _qemu_running "$pid"
}

# ------------------------------------------------------------------ swtpm
_qemu_swtpm_start() { # DIR
	local d=$1/tpm
	mkdir -p "$d/state" || return 1
	if ! swtpm socket --tpm2 \
		--tpmstate "dir=$d/state" \
		--ctrl "type=unixio,path=$d/sock" \
		--log "file=$1/swtpm.log,level=1" \
		--pid "file=$d/pid" \
		--daemon 2>>"$1/swtpm.log"; then
		_qemu_err "swtpm failed to start (see $1/swtpm.log)"
		return 1
	fi
	for _ in $(seq 100); do
		[[ -S $d/sock && -s $d/pid ]] && return 0
		sleep 0.05
	done
	_qemu_err "swtpm did not create $d/sock"
	return 1
}

# _qemu_running PID: 0 if PID exists and is not a zombie (a daemonized
# swtpm is reaped by init, maybe late).
_qemu_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

_qemu_swtpm_stop() { # DIR
	local pidfile=$1/tpm/pid pid
	[[ -s $pidfile ]] || return 0
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	# Only our swtpm: the pid file may be stale.
	if _qemu_running "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == swtpm* ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 20); do
			_qemu_running "$pid" || break
			sleep 0.05
		done
		if _qemu_running "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$pidfile"
	return 0
}

# ---------------------------------------------------------------- accel
# _qemu_probe_kvm: boot the test guest under KVM; 0 if it passes a
# self-check within 20 s.
_qemu_probe_kvm() {
	local ok=1 t0
	if [[ ! -c /dev/kvm || ! -r /dev/kvm || ! -w /dev/kvm ]]; then
		QEMU_ACCEL_WHY="no usable /dev/kvm"
		return 1
	fi
	if [[ ! -f $QEMU_GUEST_ELF ]]; then
		QEMU_ACCEL_WHY="no $QEMU_GUEST_ELF to probe KVM with"
		return 1
	fi
	t0=$(_qemu_now)
	if qemu_start kvm-probe --accel kvm --guest --mem 16 --append "pages=256 burst=64" 2>/dev/null &&
		qemu_wait_serial kvm-probe '^selfcheck ok iter=2 ' 20 2>/dev/null; then
		ok=0
		QEMU_ACCEL_WHY=$(awk -v a="$(_qemu_now)" -v b="$t0" \
			'BEGIN { printf "KVM probe: the test guest passed 2 self-checks after %.1f s", a - b }')
	else
		QEMU_ACCEL_WHY="KVM probe failed: $(tr -d '\r' <"$QEMU_LIB_DIR/kvm-probe/qemu.log" 2>/dev/null |
			head -n 1)"
		QEMU_ACCEL_WHY=${QEMU_ACCEL_WHY%: }
	fi
	qemu_stop kvm-probe 2>/dev/null
	rm -rf "${QEMU_LIB_DIR:?}/kvm-probe"
	return "$ok"
}

qemu_lib_init() {
	if [[ -z $QEMU_LIB_DIR ]]; then
		QEMU_LIB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/svmig-qemu.XXXXXX") || {
			_qemu_err "mktemp failed"
			return 1
		}
	fi
	mkdir -p "$QEMU_LIB_DIR" || return 1
	if [[ ${QEMU_LIB_NO_TRAP:-0} != 1 ]]; then
		trap qemu_cleanup EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM HUP
	fi
	case $QEMU_ACCEL in
	tcg | kvm) QEMU_ACCEL_WHY="QEMU_ACCEL=$QEMU_ACCEL" ;;
	auto)
		if _qemu_probe_kvm; then
			QEMU_ACCEL=kvm
		else
			QEMU_ACCEL=tcg
		fi
		;;
	*)
		_qemu_err "QEMU_ACCEL must be tcg, kvm or auto, not '$QEMU_ACCEL'"
		return 1
		;;
	esac
	return 0
}

# ----------------------------------------------------------------- start
qemu_start() {
	local name=${1:-} mem=64 kernel='' append='' paused=0 incoming=0 tpm=0
	local accel=$QEMU_ACCEL blob addr dir pid ram_kib
	local -a blobs=() extra=() args=()
	_qemu_name_ok "$name" || return 1
	shift
	while (($#)); do
		case $1 in
		--mem) mem=${2:-}; shift ;;
		--guest) kernel=$QEMU_GUEST_ELF ;;
		--kernel) kernel=${2:-}; shift ;;
		--append) append=${2:-}; shift ;;
		--blob) blobs+=("${2:-}"); shift ;;
		--paused) paused=1 ;;
		--incoming) incoming=1 paused=1 ;;
		--tpm) tpm=1 ;;
		--accel) accel=${2:-}; shift ;;
		--)
			shift
			extra=("$@")
			break
			;;
		*)
			_qemu_err "qemu_start: unknown option '$1'"
			return 1
			;;
		esac
		shift
	done
	[[ $mem =~ ^[0-9]+$ ]] || { _qemu_err "qemu_start: --mem needs MiB"; return 1; }
	dir=$QEMU_LIB_DIR/$name
	if qemu_alive "$name"; then
		_qemu_err "instance '$name' is already running"
		return 1
	fi
	rm -rf "$dir"
	mkdir -p "$dir" || return 1

	ram_kib=$((mem * 1024))
	case $accel in
	tcg)
		args+=(-accel 'tcg,tb-size=64' -cpu qemu64)
		ram_kib=$((ram_kib + QEMU_TCG_RAM_PAD_KIB))
		;;
	kvm) args+=(-accel kvm -cpu 'qemu64,kvmclock=off') ;;
	*) _qemu_err "qemu_start: accel must be tcg or kvm, not '$accel'"; return 1 ;;
	esac
	echo $((ram_kib * 1024)) >"$dir/ram_bytes"
	args=("$QEMU_BIN" -name "$name" -machine pc "${args[@]}" -smp 1 -m "${ram_kib}K"
		-nodefaults -display none -no-user-config
		-chardev "file,id=ser0,path=$(_qemu_q "$dir/serial.log")" -serial chardev:ser0
		-chardev "socket,id=qmp0,path=$(_qemu_q "$dir/qmp.sock"),server=on,wait=off"
		-mon 'chardev=qmp0,mode=control'
		-chardev "socket,id=qmp1,path=$(_qemu_q "$dir/qmp2.sock"),server=on,wait=off"
		-mon 'chardev=qmp1,mode=control')
	if [[ -n $kernel ]]; then
		[[ -f $kernel ]] || { _qemu_err "qemu_start: no kernel $kernel (make tests)"; return 1; }
		args+=(-kernel "$kernel")
		[[ -n $append ]] && args+=(-append "$append")
	fi
	for blob in "${blobs[@]}"; do
		addr=0x1000000
		if [[ $blob == *@* ]]; then
			addr=${blob##*@}
			blob=${blob%@*}
		fi
		[[ -f $blob ]] || { _qemu_err "qemu_start: no blob $blob"; return 1; }
		args+=(-device "loader,file=$(_qemu_q "$(realpath "$blob")"),addr=$addr,force-raw=on")
	done
	((paused)) && args+=(-S)
	((incoming)) && args+=(-incoming defer)
	if ((tpm)); then
		_qemu_swtpm_start "$dir" || return 1
		args+=(-chardev "socket,id=chrtpm,path=$(_qemu_q "$dir/tpm/sock")"
			-tpmdev 'emulator,id=tpm0,chardev=chrtpm'
			-device 'tpm-tis,tpmdev=tpm0')
	fi
	args+=("${extra[@]}")
	printf '%q ' "${args[@]}" >"$dir/cmdline"
	echo >>"$dir/cmdline"

	"${args[@]}" </dev/null >"$dir/qemu.log" 2>&1 &
	pid=$!
	QEMU_LIB_PIDS[$name]=$pid
	QEMU_LIB_NAMES+=("$name")
	# The socket appears early; QMP answers once the machine is created
	# (a bad device or option makes QEMU exit in between).
	for _ in $(seq 200); do
		if [[ -S $dir/qmp.sock ]] && QEMU_QMP_TIMEOUT=10 qemu_qmp_q "$name" query-status 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		_qemu_err "qemu_start $name: QMP does not answer after 10 s"
	else
		_qemu_err "qemu_start $name: QEMU exited at startup:"
		sed 's/^/# qemu-lib:   /' "$dir/qemu.log" >&2
	fi
	qemu_stop "$name"
	return 1
}

# ------------------------------------------------------------------- QMP
qemu_qmp_q() {
	local name=${1:-} cmd=${2:-} qargs=${3:-} sock line in out cin cout pid rc=2 msg
	local deadline
	QEMU_REPLY=
	_qemu_known "$name" || return 2
	sock=$QEMU_LIB_DIR/$name/qmp.sock
	[[ -n $cmd ]] || { _qemu_err "qemu_qmp: no command"; return 2; }
	if [[ -n $qargs ]]; then
		msg="{\"execute\": \"$cmd\", \"arguments\": $qargs}"
	else
		msg="{\"execute\": \"$cmd\"}"
	fi
	deadline=$(($(date +%s) + QEMU_QMP_TIMEOUT))
	coproc _QEMU_QMP { exec socat - "UNIX-CONNECT:$sock" 2>/dev/null; }
	pid=${_QEMU_QMP_PID:-}
	# Our own copies of the coproc's fds (bash closes those in subshells,
	# and the writes below run in subshells so that SIGPIPE, if QEMU went
	# away, cannot kill the caller).  If socat could not connect, bash may
	# already have closed them.
	in=${_QEMU_QMP[0]:-}
	out=${_QEMU_QMP[1]:-}
	if [[ -n $in && -n $out ]]; then
		cin=$in cout=$out
		exec {in}<&"$cin" {out}>&"$cout"
		exec {cin}<&- {cout}>&-
	else
		in='' out=''
	fi
	# Greeting, then capabilities negotiation, then the command.
	if [[ -n $in && -n $out ]] &&
		read -r -t "$QEMU_QMP_TIMEOUT" -u "$in" line && [[ $line == '{"QMP"'* ]]; then
		# In subshells: if QEMU went away, SIGPIPE must not kill the caller.
		(printf '%s\n' '{"execute": "qmp_capabilities"}' >&"$out") 2>/dev/null || true
		while read -r -t "$QEMU_QMP_TIMEOUT" -u "$in" line; do
			[[ $line == '{"return"'* ]] && break
			[[ $line == '{"error"'* ]] && { line=; break; }
		done
		if [[ $line == '{"return"'* ]]; then
			(printf '%s\n' "$msg" >&"$out") 2>/dev/null || true
			while (($(date +%s) < deadline)) && read -r -t "$QEMU_QMP_TIMEOUT" -u "$in" line; do
				line=${line%$'\r'}
				case $line in
				'{"return"'*) QEMU_REPLY=$line rc=0; break ;;
				'{"error"'*) QEMU_REPLY=$line rc=1; break ;;
				esac
			done
		fi
	fi
	if [[ -n $out ]]; then
		exec {out}>&-
	fi
	if [[ -n $in ]]; then
		exec {in}<&-
	fi
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if ((rc == 2)); then
		_qemu_err "qemu_qmp $name: no reply to $cmd"
	fi
	return "$rc"
}

qemu_qmp() {
	local rc=0
	qemu_qmp_q "$@" || rc=$?
	[[ -n $QEMU_REPLY ]] && printf '%s\n' "$QEMU_REPLY"
	return "$rc"
}

qemu_json_str() {
	local re="\"$2\": *\"([^\"]*)\""
	[[ $1 =~ $re ]] || return 1
	printf '%s\n' "${BASH_REMATCH[1]}"
}

qemu_json_num() {
	local re="\"$2\": *(-?[0-9]+)"
	[[ $1 =~ $re ]] || return 1
	printf '%s\n' "${BASH_REMATCH[1]}"
}

qemu_pmemsave() { # NAME ADDR SIZE FILE
	local file
	file=$(realpath -m "$4") || return 1
	[[ $2 =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ && $3 =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]] ||
		{ _qemu_err "qemu_pmemsave: bad address or size"; return 1; }
	rm -f "$file"
	if ! qemu_qmp_q "$1" pmemsave "{\"val\": $(($2)), \"size\": $(($3)), \"filename\": \"$file\"}"; then
		_qemu_err "pmemsave on $1 failed: $QEMU_REPLY"
		return 1
	fi
	[[ -f $file ]]
}

# ----------------------------------------------------------------- waits
qemu_serial_last() { # NAME ERE
	local log
	log=$(qemu_serial_log "$1") || return 1
	[[ -f $log ]] || return 1
	tr -d '\r' <"$log" | grep -a -E -- "$2" | tail -n 1
}

qemu_wait_serial() { # NAME ERE TIMEOUT
	local log deadline
	log=$(qemu_serial_log "$1") || return 1
	deadline=$(_qemu_deadline "${3:-30}")
	while :; do
		if [[ -f $log ]] && tr -d '\r' <"$log" | grep -a -q -E -- "$2"; then
			return 0
		fi
		if ! qemu_alive "$1"; then
			# One last look: it may have printed and exited.
			tr -d '\r' <"$log" 2>/dev/null | grep -a -q -E -- "$2" && return 0
			_qemu_err "qemu_wait_serial $1: QEMU exited without printing /$2/"
			return 1
		fi
		_qemu_before "$deadline" || break
		sleep 0.2
	done
	_qemu_err "qemu_wait_serial $1: no /$2/ within ${3:-30} s"
	return 1
}

qemu_wait_status() { # NAME STATUS TIMEOUT
	local deadline st=
	deadline=$(_qemu_deadline "${3:-30}")
	while :; do
		if qemu_qmp_q "$1" query-status; then
			st=$(qemu_json_str "$QEMU_REPLY" status)
			[[ $st == "$2" ]] && return 0
		elif ! qemu_alive "$1"; then
			_qemu_err "qemu_wait_status $1: QEMU is gone"
			return 1
		fi
		_qemu_before "$deadline" || break
		sleep 0.2
	done
	_qemu_err "qemu_wait_status $1: status '${st:-?}', not '$2', after ${3:-30} s"
	return 1
}

qemu_wait_migration() { # NAME STATUS TIMEOUT
	local deadline st=
	deadline=$(_qemu_deadline "${3:-60}")
	while :; do
		if qemu_qmp_q "$1" query-migrate; then
			st=$(qemu_json_str "$QEMU_REPLY" status)
			[[ $st == "$2" ]] && return 0
			case $st in
			failed | cancelled)
				_qemu_err "qemu_wait_migration $1: migration $st:" \
					"$(qemu_json_str "$QEMU_REPLY" error-desc)"
				return 1
				;;
			esac
		elif ! qemu_alive "$1"; then
			_qemu_err "qemu_wait_migration $1: QEMU is gone"
			return 1
		fi
		_qemu_before "$deadline" || break
		sleep 0.2
	done
	_qemu_err "qemu_wait_migration $1: status '${st:-?}', not '$2', after ${3:-60} s"
	return 1
}

# ------------------------------------------------------------- migration
qemu_free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 30000))
		if command -v ss >/dev/null 2>&1; then
			[[ -z $(ss -Htan "( sport = :$port or dport = :$port )" 2>/dev/null) ]] || continue
		fi
		echo "$port"
		return 0
	done
	_qemu_err "no free port"
	return 1
}

qemu_migrate() { # SRC DST [URI]
	local src=${1:-} dst=${2:-} uri=${3:-} port
	_qemu_known "$src" && _qemu_known "$dst" || return 1
	if [[ -z $uri ]]; then
		port=$(qemu_free_port) || return 1
		uri=tcp:127.0.0.1:$port
	fi
	if ! qemu_qmp_q "$dst" migrate-incoming "{\"uri\": \"$uri\"}"; then
		_qemu_err "migrate-incoming on $dst failed: $QEMU_REPLY"
		return 1
	fi
	if [[ -n $QEMU_MIG_BANDWIDTH ]] &&
		! qemu_qmp_q "$src" migrate-set-parameters "{\"max-bandwidth\": $QEMU_MIG_BANDWIDTH}"; then
		_qemu_err "migrate-set-parameters on $src failed: $QEMU_REPLY"
		return 1
	fi
	if ! qemu_qmp_q "$src" migrate "{\"uri\": \"$uri\"}"; then
		_qemu_err "migrate on $src failed: $QEMU_REPLY"
		return 1
	fi
	return 0
}

# ------------------------------------------------------- the test guest
_qemu_guest_iters() {
	local log
	log=$(qemu_serial_log "$1") || return 1
	[[ -f $log ]] || return 0
	tr -d '\r' <"$log" | sed -n -E 's/^selfcheck ok iter=([0-9]+) pages=[0-9]+ writes=[0-9]+$/\1/p'
}

qemu_guest_iter() { _qemu_guest_iters "$1" | tail -n 1; }
qemu_guest_first_iter() { _qemu_guest_iters "$1" | head -n 1; }

qemu_guest_failed() {
	local log
	log=$(qemu_serial_log "$1") || return 1
	tr -d '\r' <"$log" 2>/dev/null | grep -a -q -E '^selfcheck FAIL|^svmig-guest: halted'
}

# ------------------------------------------------------------- teardown
qemu_stop() { # NAME
	local name=${1:-} pid dir
	_qemu_name_ok "$name" || return 1
	dir=$QEMU_LIB_DIR/$name
	pid=${QEMU_LIB_PIDS[$name]:-}
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		QEMU_QMP_TIMEOUT=3 qemu_qmp_q "$name" quit 2>/dev/null || true
		for _ in $(seq 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 20); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	if [[ -n $pid ]]; then
		wait "$pid" 2>/dev/null || true
	fi
	unset "QEMU_LIB_PIDS[$name]"
	if [[ -d $dir ]]; then
		_qemu_swtpm_stop "$dir"
	fi
	return 0
}

qemu_dump_logs() { # NAME [LINES]
	local dir f
	dir=$(qemu_dir "$1") || return 1
	for f in serial.log qemu.log swtpm.log; do
		[[ -s $dir/$f ]] || continue
		echo "# --- $1 $f (last ${2:-15} lines)"
		tr -d '\r' <"$dir/$f" | tail -n "${2:-15}" | sed 's/^/#   /'
	done
}

qemu_cleanup() {
	local name f
	[[ -n $QEMU_LIB_DIR ]] || return 0
	for name in "${QEMU_LIB_NAMES[@]}"; do
		qemu_stop "$name"
	done
	QEMU_LIB_NAMES=()
	if [[ -n ${QEMU_LIB_LOGDIR:-} && -d $QEMU_LIB_DIR ]]; then
		mkdir -p "$QEMU_LIB_LOGDIR"
		for name in "$QEMU_LIB_DIR"/*/; do
			name=${name%/}
			name=${name##*/}
			for f in serial.log qemu.log swtpm.log cmdline; do
				if [[ -f $QEMU_LIB_DIR/$name/$f ]]; then
					cp "$QEMU_LIB_DIR/$name/$f" "$QEMU_LIB_LOGDIR/$name.$f" || true
				fi
			done
		done
	fi
	if [[ ${QEMU_LIB_KEEP:-0} == 1 ]]; then
		_qemu_err "kept $QEMU_LIB_DIR"
	else
		rm -rf "$QEMU_LIB_DIR"
	fi
	QEMU_LIB_DIR=
	return 0
}
