#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot Debian's kernel in QEMU (TCG) with a fresh swtpm TPM 2.0 (or, with
# --no-tpm, without any TPM) and run a script of this work tree inside it,
# as root, in a chroot of the host's / (read-only over 9p) with the work
# tree shared read-write at its own path (tests/vm/initramfs-init.sh does
# the guest side).
#
#   tests/vm/run-vm.sh [--demo] [--no-tpm] [--timeout SECS]
#
#   (default)       run tests/vm/guest-run.sh (all VM tests)
#   --demo          run tests/vm/guest-demo.sh instead
#   --no-tpm        boot without swtpm and without a TPM device; the guest
#                   gets SVMIG_NO_TPM=1 (t_notpm tests the TPM-less paths)
#   --timeout SECS  kill the VM after SECS seconds (default 1500)
#
# Options for debugging (not part of `make check`):
#   --script PATH   run PATH (relative to the work tree) in the guest
#   --shell         interactive shell in the guest (serial console on stdio)
#   --append ARGS   extra kernel command line arguments
#   --keep          keep this boot's swtpm state directory
#   --smp N         N virtual CPUs (default 2)
#   --console-log PATH
#                   write the serial console to PATH (default build/vm/console.log)
#   --nic-socket listen=127.0.0.1:PORT | connect=127.0.0.1:PORT
#                   add a virtio-net NIC on a QEMU socket netdev over
#                   loopback (tests/vm/run-two-hosts.sh joins two VMs so)
#   --mac MAC       that NIC's MAC address (default 52:54:00:12:34:56)
#   --print-abi     print the kernel ABI the VM would boot, and exit
#
# Booting another kernel than Debian's (`make check-debug` does so):
#   --kernel BZIMAGE        boot BZIMAGE instead of /boot/vmlinuz-ABI
#   --kernel-modules DIR    its `make modules_install INSTALL_MOD_PATH=DIR`
#                           tree: DIR/lib/modules/ABI (one ABI) gives the ABI,
#                           the initramfs modules (none if 9p and virtio are
#                           built in) and, bind-mounted over the guest's
#                           /lib/modules, what modprobe finds in the guest;
#                           needed with --kernel
#   --debug-kernel          the debug kernel of scripts/build-debug-kernel.sh:
#                           --kernel and --kernel-modules from
#                           $SVMIG_DEBUG_KERNEL_DIR (default build/debug-kernel),
#                           --append "clocksource=hpet panic_on_warn=1", and
#                           SVMIG_MODULE defaulting to build/debug-kmod/kmod/svmig.ko
#                           (scripts/check-debug.sh builds it)
#
# Contract with the guest script: it runs with cwd = the work tree, stdout
# and stderr on the serial console, environment PATH, HOME=/tmp/home,
# SVMIG_WORKTREE and every SVMIG_* variable of run-vm.sh's environment,
# except SVMIG_NO_TPM, which is 1 exactly in a --no-tpm boot.
# run-vm.sh exits 0 only if the console shows the line
#   SVMIG-GUEST-RESULT: pass
# (the last SVMIG-GUEST-RESULT line wins) and the script exited 0
# (the guest's /init prints "SVMIG-GUEST-EXIT: <status>").  It exits 1 on
# failure, 2 on a usage/setup error and 124 on timeout.
# The serial console goes to stdout and to build/vm/console.log (to
# build/vm/console-<id>.log instead while another run holds console.log).
set -euo pipefail

WORKTREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VMDIR=$WORKTREE/build/vm
CONSOLE_LOG=$VMDIR/console.log

script=tests/vm/guest-run.sh
timeout=1500
shell=0
keep=0
print_abi=0
no_tpm=0
append=
smp=2
console_log=
nic_socket=
mac=52:54:00:12:34:56
kernel_opt=
kmods_opt=
debug_kernel=0

msg() { echo "run-vm: $*" >&2; }
die() { msg "$*"; exit 2; }

usage() {
	sed -n '/^#   tests\/vm\/run-vm.sh/,/^#   --print-abi/p;/^# Booting another kernel/,/^#  *(scripts\/check-debug.sh/p' \
		"${BASH_SOURCE[0]}" | sed 's/^#//'
}

while (($#)); do
	case $1 in
	--demo) script=tests/vm/guest-demo.sh ;;
	--no-tpm) no_tpm=1 ;;
	--timeout)
		[[ ${2:-} =~ ^[0-9]+$ ]] || die "--timeout needs a number of seconds"
		timeout=$2
		shift
		;;
	--timeout=*)
		timeout=${1#--timeout=}
		[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout needs a number of seconds"
		;;
	--script)
		[[ -n ${2:-} ]] || die "--script needs a path"
		script=$2
		shift
		;;
	--shell) shell=1 ;;
	--append)
		append=${2:-}
		shift
		;;
	--keep) keep=1 ;;
	--smp)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--smp needs a number of CPUs"
		smp=$2
		shift
		;;
	--console-log)
		[[ -n ${2:-} ]] || die "--console-log needs a path"
		console_log=$2
		shift
		;;
	--nic-socket)
		[[ ${2:-} =~ ^(listen|connect)=127\.0\.0\.1:[0-9]+$ ]] ||
			die "--nic-socket needs listen=127.0.0.1:PORT or connect=127.0.0.1:PORT"
		nic_socket=$2
		shift
		;;
	--mac)
		[[ ${2:-} =~ ^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$ ]] || die "--mac needs a MAC address"
		mac=$2
		shift
		;;
	--kernel)
		[[ -n ${2:-} ]] || die "--kernel needs a bzImage path"
		kernel_opt=$2
		shift
		;;
	--kernel-modules)
		[[ -n ${2:-} ]] || die "--kernel-modules needs a directory"
		kmods_opt=$2
		shift
		;;
	--debug-kernel) debug_kernel=1 ;;
	--print-abi) print_abi=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done

# ---------------------------------------------------------------- kernel ABI
# Pick the ABI from the installed distribution kernel, never from uname -r
# (that is the machine's own kernel).  KVER in the environment wins.
find_abi() {
	if [[ -n ${KVER:-} ]]; then
		echo "$KVER"
		return
	fi
	local f abi with_headers=() any=()
	for f in /boot/vmlinuz-*-amd64; do
		[[ -e $f ]] || continue
		abi=${f#/boot/vmlinuz-}
		[[ -d /lib/modules/$abi/kernel ]] || continue
		any+=("$abi")
		[[ -d /usr/src/linux-headers-$abi ]] && with_headers+=("$abi")
	done
	if ((${#with_headers[@]})); then
		printf '%s\n' "${with_headers[@]}" | sort -V | tail -n 1
	elif ((${#any[@]})); then
		printf '%s\n' "${any[@]}" | sort -V | tail -n 1
	fi
}

if ((debug_kernel)); then
	dk=${SVMIG_DEBUG_KERNEL_DIR:-$WORKTREE/build/debug-kernel}
	[[ -f $dk/done ]] ||
		die "no finished debug kernel in $dk (scripts/build-debug-kernel.sh, or make check-debug)"
	kernel_opt=${kernel_opt:-$dk/src/arch/x86/boot/bzImage}
	kmods_opt=${kmods_opt:-$dk/mods}
	append="clocksource=hpet panic_on_warn=1${append:+ $append}"
	export SVMIG_MODULE=${SVMIG_MODULE:-build/debug-kmod/kmod/svmig.ko}
fi

# MODROOT is the modules_install root of the kernel we boot ("" for the
# distribution kernel, whose modules are the host's /lib/modules).
MODROOT=
if [[ -n $kernel_opt ]]; then
	[[ -n $kmods_opt ]] || die "--kernel needs --kernel-modules (its modules_install tree)"
	KERNEL=$(realpath -e "$kernel_opt" 2>/dev/null) || die "no kernel image $kernel_opt"
	MODROOT=$(realpath -e "$kmods_opt" 2>/dev/null) || die "no modules directory $kmods_opt"
	abis=()
	for f in "$MODROOT"/lib/modules/*/modules.dep; do
		[[ -f $f ]] && abis+=("$(basename "$(dirname "$f")")")
	done
	((${#abis[@]} == 1)) ||
		die "$MODROOT/lib/modules must hold exactly one kernel's modules (with modules.dep), found ${#abis[@]}"
	ABI=${abis[0]}
	# The guest sees the host's / read-only but fresh tmpfs on these, and
	# the work tree at its own path.
	case $MODROOT/ in
	"$WORKTREE"/*) ;;
	/tmp/* | /run/* | /var/tmp/* | /dev/* | /proc/* | /sys/*)
		die "$MODROOT is hidden from the guest (tmpfs there); keep it in the work tree" ;;
	esac
	[[ $MODROOT =~ [[:space:]] ]] && die "the modules path '$MODROOT' contains whitespace"
elif [[ -n $kmods_opt ]]; then
	die "--kernel-modules goes with --kernel"
else
	ABI=$(find_abi)
	[[ -n $ABI ]] || die "no /boot/vmlinuz-*-amd64 with modules installed (run scripts/install-deps.sh)"
	KERNEL=/boot/vmlinuz-$ABI
fi
if ((print_abi)); then
	echo "$ABI"
	exit 0
fi
[[ -r $KERNEL ]] || die "cannot read $KERNEL"
[[ -d ${MODROOT}/lib/modules/$ABI ]] || die "no ${MODROOT}/lib/modules/$ABI"

# ------------------------------------------------------------ sanity checks
[[ $WORKTREE =~ [[:space:]] ]] &&
	die "the work tree path '$WORKTREE' contains whitespace; the kernel command line cannot carry it"
[[ $script =~ [[:space:]] || $script == /* ]] &&
	die "--script takes a path relative to the work tree, without whitespace"
if ((!shell)) && [[ ! -f $WORKTREE/$script ]]; then
	if [[ $script == tests/vm/guest-demo.sh ]]; then
		die "tests/vm/guest-demo.sh does not exist yet: there is no demo to run"
	fi
	die "no such guest script: $WORKTREE/$script"
fi
tools=(qemu-system-x86_64 modprobe cpio gzip sha256sum flock)
((no_tpm)) || tools+=(swtpm swtpm_setup swtpm_localca)
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run scripts/install-deps.sh)"
done
guest_module=${SVMIG_MODULE:-kmod/svmig.ko}
if [[ -f $WORKTREE/$guest_module ]] && command -v modinfo >/dev/null 2>&1; then
	vermagic=$(modinfo -F vermagic "$WORKTREE/$guest_module" 2>/dev/null || true)
	[[ -z $vermagic || $vermagic == "$ABI "* ]] ||
		msg "warning: $guest_module was built for '${vermagic%% *}', the VM boots $ABI"
fi

mkdir -p "$VMDIR" "$VMDIR/tpm"

# ---------------------------------------------------------------- initramfs
# busybox-static, /init and the 9p/virtio module chain; rebuilt whenever any
# of those inputs (or this script) changes.
INITRAMFS=$VMDIR/initramfs-$ABI${MODROOT:+-custom}.cpio.gz
INIT_SRC=$WORKTREE/tests/vm/initramfs-init.sh
BUSYBOX=/bin/busybox

module_paths() {
	local m cmd path seen=" " mp=(modprobe -S "$ABI")
	[[ -n $MODROOT ]] && mp+=(-d "$MODROOT")
	# Lines are "insmod PATH [OPTIONS]" or "builtin NAME" (nothing to load).
	# virtio_rng only feeds the guest's entropy: another kernel may lack it.
	for m in 9p 9pnet_virtio virtio_pci virtio_rng overlay; do
		"${mp[@]}" --show-depends "$m" 2>/dev/null && continue
		[[ -n $MODROOT && $m == virtio_rng ]] && continue
		msg "${mp[*]} --show-depends $m failed"
		echo fail
	done | while read -r cmd path _; do
		[[ $cmd == fail ]] && { echo FAIL; continue; }
		[[ $cmd == insmod && -n $path ]] || continue
		[[ $seen == *" $path "* ]] && continue
		seen+="$path "
		echo "$path"
	done
}

build_initramfs() {
	[[ -f $INIT_SRC ]] || die "missing $INIT_SRC"
	[[ -x $BUSYBOX ]] || die "no $BUSYBOX (install busybox-static)"
	if ldd "$BUSYBOX" >/dev/null 2>&1; then
		die "$BUSYBOX is dynamically linked; install busybox-static"
	fi
	local mods=() ko key stage name f
	mapfile -t mods < <(module_paths)
	[[ " ${mods[*]} " == *" FAIL "* ]] && die "the 9p/virtio modules of $ABI are missing"
	if [[ -z $MODROOT ]]; then
		((${#mods[@]})) || die "found no 9p/virtio modules for $ABI"
		[[ " ${mods[*]} " == *"/9pnet_virtio.ko"* ]] || die "no 9pnet_virtio module for $ABI"
	fi

	# Contents (not paths), so a copy of the tree can reuse it.
	key=$({
		echo "abi $ABI"
		for f in "$INIT_SRC" "$BUSYBOX" "${BASH_SOURCE[0]}" ${mods[@]+"${mods[@]}"}; do
			echo "${f##*/} $(sha256sum <"$f")"
		done
	} | sha256sum | cut -d' ' -f1)
	if [[ -f $INITRAMFS && -f $INITRAMFS.key && $(<"$INITRAMFS.key") == "$key" ]]; then
		return 0
	fi

	msg "building $INITRAMFS"
	stage=$(mktemp -d "$VMDIR/initramfs-stage.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,newroot,tmp,lib/modules}
	cp "$BUSYBOX" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	install -m 0755 "$INIT_SRC" "$stage/init"
	if ((EUID == 0)); then
		mknod -m 600 "$stage/dev/console" c 5 1 || true
	fi
	: >"$stage/lib/modules/order"
	for ko in ${mods[@]+"${mods[@]}"}; do
		name=$(basename "$ko")
		case $ko in
		*.ko.xz) name=${name%.xz}; xz -dc "$ko" >"$stage/lib/modules/$name" ;;
		*.ko.zst) name=${name%.zst}; zstd -qdc "$ko" >"$stage/lib/modules/$name" ;;
		*.ko.gz) name=${name%.gz}; gzip -dc "$ko" >"$stage/lib/modules/$name" ;;
		*.ko) cp "$ko" "$stage/lib/modules/$name" ;;
		*) die "unexpected module file $ko" ;;
		esac
		echo "$name" >>"$stage/lib/modules/order"
	done
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$INITRAMFS.tmp"
	mv -f "$INITRAMFS.tmp" "$INITRAMFS"
	echo "$key" >"$INITRAMFS.key"
	rm -rf "$stage"
}

# Serialize initramfs builds between concurrent runs of this script.
exec 9>"$VMDIR/.initramfs.lock"
flock 9
build_initramfs
exec 9>&-

# --------------------------------------------------------- per-boot state
BOOTDIR=
SOCKDIR=
SWTPM_PIDFILE=
QEMU_PID=
finished=0

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM HUP
	if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill -TERM "$QEMU_PID" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$QEMU_PID" 2>/dev/null || break
			sleep 0.3
		done
		kill -KILL "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	if [[ -n $SWTPM_PIDFILE && -s $SWTPM_PIDFILE ]]; then
		pid=$(<"$SWTPM_PIDFILE")
		if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
			[[ $(cat "/proc/$pid/comm" 2>/dev/null) == swtpm* ]]; then
			kill -TERM "$pid" 2>/dev/null || true
			sleep 0.2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	[[ -n $SOCKDIR ]] && rm -rf "$SOCKDIR"
	if [[ -n $BOOTDIR ]]; then
		if ((keep)); then
			msg "kept $BOOTDIR"
		else
			rm -rf "$BOOTDIR"
		fi
	fi
	if ((!finished && rc == 0)); then
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'msg "interrupted"; exit 130' INT
trap 'msg "terminated"; exit 143' TERM HUP

BOOTDIR=$(mktemp -d "$VMDIR/tpm/boot-XXXXXX")
BOOTREL=${BOOTDIR#"$WORKTREE"/}
mkdir -p "$BOOTDIR/state"

# build/vm/console.log belongs to one run at a time; a concurrent run
# (several engineers, two simulated hosts) logs to its own file instead.
exec 8>"$VMDIR/.console.lock"
if [[ -n $console_log ]]; then
	CONSOLE_LOG=$console_log
elif ! flock -n 8; then
	CONSOLE_LOG=$VMDIR/console-${BOOTDIR##*/boot-}.log
	msg "build/vm/console.log is in use by another run; logging to $CONSOLE_LOG"
fi

q() { printf '%s' "${1//,/,,}"; } # QEMU option values double their commas

# swtpm wants ABSOLUTE paths (it chdirs when daemonized).  A unix socket
# path must fit in 108 bytes; fall back to a short directory if it doesn't.
TPM_ARGS=()
if ((!no_tpm)); then
	SWTPM_SOCK=$BOOTDIR/swtpm.sock
	if ((${#SWTPM_SOCK} > 100)); then
		SOCKDIR=$(mktemp -d /tmp/svmig-tpm.XXXXXX)
		SWTPM_SOCK=$SOCKDIR/swtpm.sock
	fi
	SWTPM_PIDFILE=$BOOTDIR/swtpm.pid
	# Manufactured as a real TPM is: an RSA 2048 EK (and an ECC one) with
	# its certificate in the TCG NV index (0x01c00002 for RSA), issued by
	# the test manufacturer CA in build/vm/ekca (swtpm_localca, made on
	# first use, shared by every boot: its issuercert.pem is what
	# svmigctl tpm-ek --ek-ca verifies them with).  PCR banks as a fresh
	# swtpm's (--pcr-banks -).
	EKCA=$VMDIR/ekca
	mkdir -p "$EKCA" "$BOOTDIR/state"
	printf '%s\n' "statedir = $EKCA" "signingkey = $EKCA/signkey.pem" \
		"issuercert = $EKCA/issuercert.pem" "certserial = $EKCA/certserial" \
		>"$BOOTDIR/localca.conf"
	echo "--platform-manufacturer svmig-test" >"$BOOTDIR/localca.options"
	printf '%s\n' "create_certs_tool = $(command -v swtpm_localca)" \
		"create_certs_tool_config = $BOOTDIR/localca.conf" \
		"create_certs_tool_options = $BOOTDIR/localca.options" >"$BOOTDIR/setup.conf"
	flock "$EKCA" swtpm_setup --tpm2 --tpmstate "$BOOTDIR/state" --create-ek-cert \
		--pcr-banks - --config "$BOOTDIR/setup.conf" >"$BOOTDIR/swtpm_setup.log" 2>&1 ||
		die "swtpm_setup failed (see $BOOTDIR/swtpm_setup.log)"
	swtpm socket --tpm2 \
		--tpmstate "dir=$BOOTDIR/state" \
		--ctrl "type=unixio,path=$SWTPM_SOCK" \
		--log "file=$BOOTDIR/swtpm.log,level=1" \
		--pid "file=$SWTPM_PIDFILE" \
		--daemon ||
		die "swtpm failed to start (see $BOOTDIR/swtpm.log)"
	for _ in $(seq 50); do
		[[ -S $SWTPM_SOCK && -s $SWTPM_PIDFILE ]] && break
		sleep 0.1
	done
	[[ -S $SWTPM_SOCK ]] || die "swtpm did not create $SWTPM_SOCK"
	TPM_ARGS=(
		-chardev "socket,id=chrtpm,path=$(q "$SWTPM_SOCK")"
		-tpmdev "emulator,id=tpm0,chardev=chrtpm"
		-device "tpm-tis,tpmdev=tpm0"
	)
fi

# Variables for the guest: every SVMIG_* of our environment, and
# SVMIG_NO_TPM=1 in a --no-tpm boot (never inherited).
{
	while IFS= read -r var; do
		case $var in
		SVMIG_WORKTREE | SVMIG_RUN | SVMIG_ENVFILE | SVMIG_NO_TPM) continue ;;
		esac
		printf 'export %s=%q\n' "$var" "${!var}"
	done < <(compgen -e | grep '^SVMIG_' || true)
	if ((no_tpm)); then
		echo 'export SVMIG_NO_TPM=1'
	fi
} >"$BOOTDIR/guest.env"

# ------------------------------------------------------------------- QEMU
cmdline="console=ttyS0 panic=-1 loglevel=5 svmig_worktree=$WORKTREE svmig_env=$BOOTREL/guest.env"
[[ -n $MODROOT ]] && cmdline+=" svmig_modules=$MODROOT/lib/modules"
if ((shell)); then
	cmdline+=" svmig_shell=1"
else
	cmdline+=" svmig_run=$script"
fi
[[ -n $append ]] && cmdline+=" $append"
# On a busy machine TCG can starve the guest's timer during the kernel's
# IO-APIC timer check, which then panics at boot ("IO-APIC + timer
# doesn't work!", seen with two test VMs and other load on 2 cores).
cmdline+=" no_timer_check"

QEMU=(
	qemu-system-x86_64
	-name svmig-test
	-accel tcg -cpu max -smp "$smp" -m 2048
	-nographic -nodefaults -no-reboot
	-chardev "stdio,id=con,signal=on,logfile=$(q "$CONSOLE_LOG")"
	-serial chardev:con
	-monitor none
	-kernel "$KERNEL"
	-initrd "$INITRAMFS"
	-append "$cmdline"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$(q "$WORKTREE"),mount_tag=work,security_model=none,multidevs=remap"
	"${TPM_ARGS[@]}"
	-device virtio-rng-pci
)
if [[ -n $nic_socket ]]; then
	QEMU+=(
		-netdev "socket,id=net0,$nic_socket"
		-device "virtio-net-pci,netdev=net0,mac=$mac,romfile="
	)
fi

: >"$CONSOLE_LOG"
tpm_desc="with swtpm"
((!no_tpm)) || tpm_desc="WITHOUT a TPM"
msg "booting $KERNEL ($ABI, $tpm_desc) to run ${script} (timeout ${timeout}s)"
t0=$(date +%s.%N)

if ((shell)); then
	"${QEMU[@]}" || true
	finished=1
	exit 0
fi

"${QEMU[@]}" </dev/null &
QEMU_PID=$!
timed_out=0
boot_secs=
while kill -0 "$QEMU_PID" 2>/dev/null; do
	if [[ -z $boot_secs ]] && grep -aq '^svmig-init: running' "$CONSOLE_LOG" 2>/dev/null; then
		boot_secs=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
	fi
	if (($(date +%s) - ${t0%.*} >= timeout)); then
		msg "TIMEOUT: the guest did not finish within ${timeout}s, killing QEMU"
		timed_out=1
		kill -TERM "$QEMU_PID" 2>/dev/null || true
		sleep 2
		kill -KILL "$QEMU_PID" 2>/dev/null || true
		break
	fi
	sleep 0.5
done
qemu_rc=0
wait "$QEMU_PID" || qemu_rc=$?
QEMU_PID=
total_secs=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')

result=$(tr -d '\r' <"$CONSOLE_LOG" | grep -a -E '^SVMIG-GUEST-RESULT: (pass|fail)$' |
	tail -n 1 | cut -d' ' -f2 || true)
guest_exit=$(tr -d '\r' <"$CONSOLE_LOG" | grep -a -E '^SVMIG-GUEST-EXIT: [0-9]+$' |
	tail -n 1 | cut -d' ' -f2 || true)

msg "guest userspace after ${boot_secs:-?}s, VM ran ${total_secs}s, qemu exit $qemu_rc," \
	"guest script exit ${guest_exit:-none}, result ${result:-none}"
finished=1
if ((timed_out)); then
	exit 124
fi
if [[ $result == pass && $guest_exit == 0 ]]; then
	msg "PASS"
	exit 0
fi
if [[ -z $result ]]; then
	msg "FAIL: the guest printed no SVMIG-GUEST-RESULT line (see $CONSOLE_LOG)"
	# A kernel that panicked (panic_on_warn, an oops) ended QEMU: name why.
	report=$(tr -d '\r' <"$CONSOLE_LOG" |
		grep -a -m 1 -B 2 -A 30 -E 'Kernel panic|BUG:|WARNING:|KASAN:|UBSAN:|general protection' || true)
	if [[ -n $report ]]; then
		running=$(tr -d '\r' <"$CONSOLE_LOG" | grep -a -E '^[A-Za-z0-9_.]+: # running ' |
			tail -n 1 | cut -d: -f1)
		msg "the kernel reported this${running:+ while $running ran}:"
		printf '%s\n' "$report" | sed 's/^/run-vm: console: /' >&2
	fi
else
	msg "FAIL (see $CONSOLE_LOG)"
fi
exit 1
