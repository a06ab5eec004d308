# shellcheck shell=bash
# shellcheck disable=SC2034 # SVQ_* results are for the caller
# SPDX-License-Identifier: GPL-2.0
#
# Helpers for tests/vm/t_qemu_svmig.sh, on top of tests/vm/qemu-lib.sh
# (source that first, and call qemu_lib_init before svq_init): svmig
# stream-mode migrations of nested QEMU instances with build/svmig-migrate,
# optionally through build/tests/vm/svmig-relay, a swtpm whose state
# directory the caller chooses, and reading svmig-migrate's --json reports.
# Every function returns non-zero (with a "# ..." diagnostic on stderr) on
# failure and never exits the caller's shell.
#
#   svq_init                 once: $SVQ_DIR (under $QEMU_LIB_DIR), the
#                            shared secret ($SVQ_SECRET, 32 random bytes,
#                            mode 600) and a different one ($SVQ_SECRET_BAD)
#   svq_cleanup [--procs-only]  kills what svq_migrate started (by pid),
#                            then stops every swtpm of svq_swtpm_* (not
#                            with --procs-only: stop the QEMUs first)
#   svq_session              prints a fresh session id (32 hex digits)
#
#   svq_migrate TAG SRC DST [OPTIONS]
#       svmig-migrate incoming on DST (its qmp2.sock, listening on a free
#       127.0.0.1 port, in the background), optionally svmig-relay in
#       front of it, then svmig-migrate outgoing on SRC connecting to the
#       relay or straight to DST; waits for all of them.  OPTIONS:
#         --session HEX      session id (default: a fresh one)
#         --dst-secret FILE  the destination's secret (default $SVQ_SECRET)
#         --resume           incoming --resume (cont once verified)
#         --relay ARGS       svmig-relay with ARGS (one word, split on
#                            spaces: "--attack flip --at 50 --capture F")
#       Always: incoming --quit-on-failure; outgoing --max-bandwidth 1024
#       (QEMU's default throttle lifted); --timeout $SVQ_MIG_TIMEOUT on
#       both, each run under timeout(1) too.  Leaves, in $SVQ_DIR:
#       TAG.in.json TAG.out.json (--json reports), TAG.in.log TAG.out.log
#       TAG.relay.log (stdout+stderr), and sets SVQ_IN_RC, SVQ_OUT_RC,
#       SVQ_RELAY_RC (empty: no relay).  Returns 0 once all of them ran
#       (whatever their status), 1 if something could not be started.
#   svq_dump TAG             the logs of svq_migrate TAG as "# " lines
#
#   svq_json FILE PATH       prints the value at PATH ("result",
#                            "svmig.records", "qemu.dirty_sync_count") of an
#                            svmig-migrate --json report (strings without
#                            quotes); 1 if absent.  Reads json-c's pretty
#                            format (one member per line), not any JSON.
#   svq_stream_payload FILE N
#                            prints the plaintext bytes of the first N
#                            records of a relay capture (--capture): the sum
#                            of the DATA records' ciphertext lengths
#
#   svq_swtpm_server DIR     swtpm on DIR/state with a TPM command server
#                            (DIR/srv.sock, control DIR/srv.sock.ctrl) for
#                            tpm2-tools; initialised (not-need-init), not
#                            started (TPM2_Startup is the caller's)
#   svq_swtpm_vm DIR         swtpm on DIR/state for QEMU (control socket
#                            DIR/sock); sets SVQ_TPM_ARGS to the QEMU
#                            arguments (-chardev, -tpmdev, -device tpm-tis)
#   svq_swtpm_stop DIR       shuts that swtpm down (CMD_SHUTDOWN on its
#                            control channel, which writes its state), else
#                            SIGTERM/SIGKILL by pid
#   svq_tpm2 DIR TOOL ARGS...  runs tpm2-tools' TOOL against DIR's command
#                            server (TCTI swtpm:path=DIR/srv.sock)
#
# Environment: SVQ_MIGRATE (default build/svmig-migrate), SVQ_RELAY (default
# build/tests/vm/svmig-relay), SVQ_MIG_TIMEOUT (default 120 s).

: "${SVQ_MIGRATE:=$QEMU_LIB_WORKTREE/build/svmig-migrate}"
: "${SVQ_RELAY:=$QEMU_LIB_WORKTREE/build/tests/vm/svmig-relay}"
: "${SVQ_MIG_TIMEOUT:=120}"
SVQ_DIR=
SVQ_SECRET=
SVQ_SECRET_BAD=
SVQ_IN_RC=
SVQ_OUT_RC=
SVQ_RELAY_RC=
declare -ga SVQ_PIDS=()
declare -ga SVQ_TPM_DIRS=()
declare -ga SVQ_TPM_ARGS=()

_svq_err() { echo "# qemu-svmig-lib: $*" >&2; }

svq_init() {
	if [[ -z ${QEMU_LIB_DIR:-} || ! -d $QEMU_LIB_DIR ]]; then
		_svq_err "qemu_lib_init first"
		return 1
	fi
	SVQ_DIR=$QEMU_LIB_DIR/svq
	mkdir -p "$SVQ_DIR" || return 1
	SVQ_SECRET=$SVQ_DIR/secret
	SVQ_SECRET_BAD=$SVQ_DIR/secret.bad
	(
		umask 077
		head -c 32 /dev/urandom >"$SVQ_SECRET" &&
			head -c 32 /dev/urandom >"$SVQ_SECRET_BAD"
	) || return 1
	if cmp -s "$SVQ_SECRET" "$SVQ_SECRET_BAD"; then
		_svq_err "two random secrets are equal"
		return 1
	fi
}

svq_session() {
	od -An -v -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# _svq_bg OUT CMD...: CMD in the background with stdout and stderr to OUT;
# its pid in SVQ_BG_PID (and SVQ_PIDS, for svq_cleanup).
_svq_bg() {
	local out=$1
	shift
	"$@" </dev/null >"$out" 2>&1 &
	SVQ_BG_PID=$!
	SVQ_PIDS+=("$SVQ_BG_PID")
}

# _svq_reap PID: waits for it; its exit status in SVQ_RC.
_svq_reap() {
	local pid=$1 p
	local -a keep=()
	SVQ_RC=0
	wait "$pid" || SVQ_RC=$?
	for p in "${SVQ_PIDS[@]}"; do
		[[ $p == "$pid" ]] || keep+=("$p")
	done
	SVQ_PIDS=("${keep[@]}")
}

# _svq_wait_file FILE PID ERE TIMEOUT: until FILE has a line matching ERE
# (or, with ERE empty, exists); fails early if PID exits.
_svq_wait_file() {
	local file=$1 pid=$2 ere=$3 i
	for ((i = 0; i < $4 * 20; i++)); do
		if [[ -z $ere ]]; then
			[[ -e $file ]] && return 0
		elif [[ -f $file ]] && grep -a -q -E -- "$ere" "$file"; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [[ -z $ere ]]; then
		[[ -e $file ]] && return 0
	else
		grep -a -q -E -- "$ere" "$file" 2>/dev/null && return 0
	fi
	return 1
}

svq_migrate() {
	local tag=${1:-} src=${2:-} dst=${3:-} session='' secret=$SVQ_SECRET resume=0
	local relay='' port rport target in_pid relay_pid=''
	local -a in_args=() relay_args=()
	shift 3 || { _svq_err "svq_migrate TAG SRC DST [OPTIONS]"; return 1; }
	while (($#)); do
		case $1 in
		--session) session=${2:-}; shift ;;
		--dst-secret) secret=${2:-}; shift ;;
		--resume) resume=1 ;;
		--relay) relay=${2:-}; shift ;;
		*) _svq_err "svq_migrate: unknown option '$1'"; return 1 ;;
		esac
		shift
	done
	[[ -n $session ]] || session=$(svq_session)
	SVQ_IN_RC='' SVQ_OUT_RC='' SVQ_RELAY_RC=''
	rm -f "$SVQ_DIR/$tag".*
	port=$(qemu_free_port) || return 1

	in_args=(incoming --qmp "$(qemu_qmp_sock "$dst" 2)" --listen "127.0.0.1:$port"
		--secret-file "$secret" --session-id "$session" --quit-on-failure
		--timeout "$SVQ_MIG_TIMEOUT" --json "$SVQ_DIR/$tag.in.json")
	((resume)) && in_args+=(--resume)
	_svq_bg "$SVQ_DIR/$tag.in.log" timeout -k 5 $((SVQ_MIG_TIMEOUT + 20)) "$SVQ_MIGRATE" "${in_args[@]}"
	in_pid=$SVQ_BG_PID
	if ! _svq_wait_file "$SVQ_DIR/$tag.in.log" "$in_pid" 'incoming: waiting for the source' 20; then
		_svq_err "svq_migrate $tag: the destination's svmig-migrate is not listening"
		kill -TERM "$in_pid" 2>/dev/null
		_svq_reap "$in_pid"
		SVQ_IN_RC=$SVQ_RC
		return 1
	fi
	target=$port

	if [[ -n $relay ]]; then
		rport=$(qemu_free_port) || return 1
		while [[ $rport == "$port" ]]; do
			rport=$(qemu_free_port) || return 1
		done
		read -r -a relay_args <<<"$relay"
		_svq_bg "$SVQ_DIR/$tag.relay.log" timeout -k 5 $((SVQ_MIG_TIMEOUT + 20)) "$SVQ_RELAY" \
			--listen "$rport" --connect "127.0.0.1:$port" --ready "$SVQ_DIR/$tag.relay.ready" \
			"${relay_args[@]}"
		relay_pid=$SVQ_BG_PID
		if ! _svq_wait_file "$SVQ_DIR/$tag.relay.ready" "$relay_pid" '' 20; then
			_svq_err "svq_migrate $tag: svmig-relay did not get ready"
			kill -TERM "$relay_pid" "$in_pid" 2>/dev/null
			_svq_reap "$relay_pid"
			SVQ_RELAY_RC=$SVQ_RC
			_svq_reap "$in_pid"
			SVQ_IN_RC=$SVQ_RC
			return 1
		fi
		target=$rport
	fi

	SVQ_OUT_RC=0
	timeout -k 5 $((SVQ_MIG_TIMEOUT + 20)) "$SVQ_MIGRATE" outgoing \
		--qmp "$(qemu_qmp_sock "$src" 2)" --connect "127.0.0.1:$target" \
		--secret-file "$SVQ_SECRET" --session-id "$session" --max-bandwidth 1024 \
		--timeout "$SVQ_MIG_TIMEOUT" --json "$SVQ_DIR/$tag.out.json" \
		</dev/null >"$SVQ_DIR/$tag.out.log" 2>&1 || SVQ_OUT_RC=$?
	if [[ -n $relay_pid ]]; then
		_svq_reap "$relay_pid"
		SVQ_RELAY_RC=$SVQ_RC
	fi
	_svq_reap "$in_pid"
	SVQ_IN_RC=$SVQ_RC
	return 0
}

svq_dump() { # TAG
	local f
	for f in in.log out.log relay.log in.json out.json; do
		[[ -s $SVQ_DIR/$1.$f ]] || continue
		echo "# --- $1.$f"
		tail -n 40 "$SVQ_DIR/$1.$f" | sed 's/^/#   /'
	done
}

svq_json() { # FILE PATH
	[[ -f $1 ]] || return 1
	awk -v want="$2" '
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		sub(/[ \t\r]+$/, "", line)
	}
	line ~ /^"[^"]*": *\{$/ {
		k = substr(line, 2)
		stack[++depth] = substr(k, 1, index(k, "\"") - 1)
		next
	}
	line ~ /^\}/ {
		if (depth > 0)
			depth--
		next
	}
	line ~ /^"[^"]*": / {
		k = substr(line, 2)
		k = substr(k, 1, index(k, "\"") - 1)
		v = line
		sub(/^"[^"]*": */, "", v)
		sub(/,$/, "", v)
		if (v ~ /^".*"$/)
			v = substr(v, 2, length(v) - 2)
		path = ""
		for (i = 1; i <= depth; i++)
			path = path stack[i] "."
		if (path k == want) {
			print v
			found = 1
			exit
		}
	}
	END { exit !found }' "$1"
}

svq_stream_payload() { # FILE N
	local file=$1 n=$2 off=0 sum=0 i size len
	local -a h
	size=$(stat -c %s "$file") || return 1
	for ((i = 0; i < n; i++)); do
		if ((off + 16 > size)); then
			_svq_err "svq_stream_payload: $file has only $i records"
			return 1
		fi
		read -r -a h < <(od -An -v -tu1 -j "$off" -N 8 "$file")
		((${#h[@]} == 8)) || return 1
		# header: version, type, reserved[2], length (big-endian, tag included)
		len=$(((h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7]))
		((h[1] == 4)) && sum=$((sum + len - 16))
		off=$((off + 16 + len))
	done
	echo "$sum"
}

# ------------------------------------------------------------------ swtpm
_svq_swtpm_wait() { # DIR SOCKET...
	local d=$1 s ok
	shift
	for _ in $(seq 100); do
		ok=1
		for s in "$@"; do
			[[ -S $s ]] || ok=0
		done
		[[ -s $d/pid ]] || ok=0
		((ok)) && return 0
		sleep 0.05
	done
	_svq_err "swtpm in $d did not come up (see $d/swtpm.log)"
	return 1
}

_svq_swtpm_track() { # DIR
	local d
	for d in "${SVQ_TPM_DIRS[@]}"; do
		[[ $d == "$1" ]] && return 0
	done
	SVQ_TPM_DIRS+=("$1")
}

svq_swtpm_server() { # DIR
	local d=$1
	mkdir -p "$d/state" || return 1
	rm -f "$d/srv.sock" "$d/srv.sock.ctrl" "$d/pid"
	_svq_swtpm_track "$d"
	if ! swtpm socket --tpm2 --tpmstate "dir=$d/state" \
		--server "type=unixio,path=$d/srv.sock" \
		--ctrl "type=unixio,path=$d/srv.sock.ctrl" \
		--flags not-need-init \
		--pid "file=$d/pid" --log "file=$d/swtpm.log,level=1" \
		--daemon 2>>"$d/swtpm.log"; then
		_svq_err "swtpm (command server) failed to start in $d"
		return 1
	fi
	_svq_swtpm_wait "$d" "$d/srv.sock" "$d/srv.sock.ctrl"
}

svq_swtpm_vm() { # DIR
	local d=$1
	mkdir -p "$d/state" || return 1
	rm -f "$d/sock" "$d/pid"
	_svq_swtpm_track "$d"
	if ! swtpm socket --tpm2 --tpmstate "dir=$d/state" \
		--ctrl "type=unixio,path=$d/sock" \
		--pid "file=$d/pid" --log "file=$d/swtpm.log,level=1" \
		--daemon 2>>"$d/swtpm.log"; then
		_svq_err "swtpm (for QEMU) failed to start in $d"
		return 1
	fi
	_svq_swtpm_wait "$d" "$d/sock" || return 1
	SVQ_TPM_ARGS=(-chardev "socket,id=chrtpm,path=$d/sock"
		-tpmdev 'emulator,id=tpm0,chardev=chrtpm'
		-device 'tpm-tis,tpmdev=tpm0')
}

svq_swtpm_stop() { # DIR
	local d=$1 pid ctrl=''
	[[ -s $d/pid ]] || return 0
	pid=$(<"$d/pid")
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	# Only our swtpm: the pid file may be stale.
	if ! kill -0 "$pid" 2>/dev/null || [[ $(cat "/proc/$pid/comm" 2>/dev/null) != swtpm* ]]; then
		rm -f "$d/pid"
		return 0
	fi
	if [[ -S $d/srv.sock.ctrl ]]; then
		ctrl=$d/srv.sock.ctrl
	elif [[ -S $d/sock ]]; then
		ctrl=$d/sock
	fi
	[[ -n $ctrl ]] && timeout 10 swtpm_ioctl --unix "$ctrl" -s >/dev/null 2>&1
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$d/pid"
	return 0
}

svq_tpm2() { # DIR TOOL ARGS...
	local d=$1 tool=$2
	shift 2
	TPM2TOOLS_TCTI="swtpm:path=$d/srv.sock" timeout 30 "$tool" "$@"
}

svq_cleanup() {
	local pid d
	for pid in "${SVQ_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SVQ_PIDS[@]}"; do
		for _ in $(seq 30); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	SVQ_PIDS=()
	[[ ${1:-} == --procs-only ]] && return 0
	for d in "${SVQ_TPM_DIRS[@]}"; do
		svq_swtpm_stop "$d"
	done
	SVQ_TPM_DIRS=()
	return 0
}
