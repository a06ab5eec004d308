#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the svmig test VM's initramfs (busybox-static + the 9p modules).
# tests/vm/run-vm.sh copies it in; it never runs on the host.
#
# It mounts the host's / (9p tag "hostroot", read-only) at /newroot, fresh
# tmpfs on /tmp, /run and /var/tmp, proc/sys/devtmpfs/devpts, then the work
# tree (9p tag "work", read-write) at its host path, chroots there and runs
# the guest script named on the kernel command line:
#   svmig_worktree=/abs/path/of/work/tree   (no whitespace)
#   svmig_run=tests/vm/guest-run.sh          (relative to the work tree)
#   svmig_env=build/vm/tpm/boot-X/guest.env  (optional, relative; sourced)
#   svmig_shell=1                            (interactive shell instead)
#   svmig_modules=/abs/DIR/lib/modules       (optional: the booted kernel's
#                                             modules, bind-mounted over
#                                             /lib/modules; run-vm.sh --kernel)
# then powers the VM off.  Whatever happens, it ends with
#   SVMIG-GUEST-EXIT: <status of the guest script>
# and, if the guest script failed or could not run,
#   SVMIG-GUEST-RESULT: fail
# (a passing guest script prints "SVMIG-GUEST-RESULT: pass" itself).

/bin/busybox --install -s /bin
export PATH=/bin

log() { echo "svmig-init: $*"; }

poweroff_now() {
	sync
	echo o > /proc/sysrq-trigger
	sleep 10
	poweroff -f
}

die() {
	log "FATAL: $*"
	echo "SVMIG-GUEST-EXIT: 255"
	echo "SVMIG-GUEST-RESULT: fail"
	poweroff_now
}

mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# In case the kernel found no /dev/console to give us.
exec < /dev/console > /dev/console 2>&1

worktree=
run=
env=
shell=
modules=
read -r cmdline < /proc/cmdline
set -f
# shellcheck disable=SC2086 # split the command line into words
for arg in $cmdline; do
	case $arg in
	svmig_worktree=*) worktree=${arg#svmig_worktree=} ;;
	svmig_run=*) run=${arg#svmig_run=} ;;
	svmig_env=*) env=${arg#svmig_env=} ;;
	svmig_shell=1) shell=1 ;;
	svmig_modules=*) modules=${arg#svmig_modules=} ;;
	esac
done
set +f
[ -n "$worktree" ] || die "no svmig_worktree= on the kernel command line"
[ -n "$run" ] || [ -n "$shell" ] || die "no svmig_run= on the kernel command line"

# The 9p transport and file system, in dependency order (see run-vm.sh).
while read -r mod; do
	insmod "/lib/modules/$mod" || log "insmod $mod failed"
done < /lib/modules/order

# Loopback, as any booted system has it (tests talk TCP on 127.0.0.1).
ip link set lo up || log "cannot bring up lo"

mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose \
	hostroot /newroot || die "cannot mount the host root (9p tag hostroot)"
r=/newroot
mount -t tmpfs -o mode=1777 tmpfs $r/tmp || die "tmpfs on /tmp"
mount -t tmpfs -o mode=0755 tmpfs $r/run || die "tmpfs on /run"
mount -t tmpfs -o mode=1777 tmpfs $r/var/tmp || log "no tmpfs on /var/tmp"
mount -t proc proc $r/proc || die "proc"
mount -t sysfs sysfs $r/sys || die "sysfs"
mount -t devtmpfs devtmpfs $r/dev || die "devtmpfs"
mkdir -p $r/dev/pts $r/dev/shm
# What udev would add: bash process substitution needs /dev/fd.
ln -sf /proc/self/fd $r/dev/fd
ln -sf /proc/self/fd/0 $r/dev/stdin
ln -sf /proc/self/fd/1 $r/dev/stdout
ln -sf /proc/self/fd/2 $r/dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $r/dev/pts || log "no devpts"
mount -t tmpfs -o mode=1777 tmpfs $r/dev/shm || log "no /dev/shm"
mount -t debugfs debugfs $r/sys/kernel/debug 2>/dev/null || true
mkdir -p $r/tmp/home
mkdir -p "$r$worktree" || die "cannot create $worktree in the guest"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 work "$r$worktree" ||
	die "cannot mount the work tree (9p tag work) at $worktree"
# Another kernel than the host's (run-vm.sh --kernel): its modules tree
# (in the work tree or the host's root, both mounted by now) over the
# guest's /lib/modules, so modprobe finds its modules and built-ins.
if [ -n "$modules" ]; then
	[ -d "$r$modules" ] || die "no modules tree $modules in the guest"
	mount -o bind "$r$modules" $r/lib/modules ||
		die "cannot bind-mount $modules on /lib/modules"
fi

# Variables the host passed (SVMIG_* from run-vm.sh's environment).
envfile=/dev/null
[ -n "$env" ] && [ -f "$r$worktree/$env" ] && envfile=$worktree/$env

log "running ${run:-an interactive shell} in $worktree"
if [ -n "$shell" ]; then
	# shellcheck disable=SC2016 # expanded by the guest's bash
	chroot $r /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp/home \
		TERM=linux LANG=C.UTF-8 SVMIG_WORKTREE="$worktree" \
		/bin/bash -c 'cd "$SVMIG_WORKTREE" && exec /usr/bin/setsid -c /bin/bash -i' \
		< /dev/console > /dev/console 2>&1
	status=$?
else
	# shellcheck disable=SC2016 # expanded by the guest's bash
	chroot $r /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp/home \
		TERM=dumb LANG=C.UTF-8 SVMIG_WORKTREE="$worktree" \
		SVMIG_ENVFILE="$envfile" SVMIG_RUN="$run" \
		/bin/bash -c '. "$SVMIG_ENVFILE" && cd "$SVMIG_WORKTREE" && exec /bin/bash "$SVMIG_RUN"' \
		< /dev/null > /dev/console 2>&1
	status=$?
fi
echo "SVMIG-GUEST-EXIT: $status"
[ "$status" -eq 0 ] || echo "SVMIG-GUEST-RESULT: fail"
poweroff_now
