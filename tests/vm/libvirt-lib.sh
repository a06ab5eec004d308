# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# A private libvirtd for the tests (tests/vm/t2_libvirt.sh), as
# /work/shared/brief/vm-harness.md ("libvirt in the test VM") found it works
# on a read-only root: libvirtd runs in its own mount namespace with tmpfs
# on the directories it writes and a writable copy of /etc/libvirt.  Source
# it from the work tree; it prints nothing of its own and every function
# returns non-zero on failure.
#
#   lv_start DIR [TCP-ADDR]   starts libvirtd with its state under DIR (an
#                             absolute path; made), listening on TCP-ADDR
#                             too (port 16509, auth "none": the test
#                             network only) if given; waits until virsh
#                             answers (capability probing takes 8-16 s)
#   lv_virsh ARGS...          virsh on that libvirtd
#   lv_uri                    its client URI (qemu+unix, the socket in DIR)
#   lv_domain_xml NAME MIB [EXTRA-DEVICES]
#                             a <domain type='qemu'> booting the test guest
#                             (build/tests/qemu-guest/guest.elf) through
#                             lv_emulator, COM1 in DIR/NAME.serial.log
#   lv_serial_log NAME        that log's path
#   lv_state NAME             the domain's state (virsh domstate), or
#                             "absent"
#   lv_stop                   destroys every domain, then stops libvirtd
#                             (killing libvirtd alone leaves its QEMUs)
#
# lv_emulator: QEMU 7.2 under TCG loses guest writes in migrations when the
# RAM size is a whole number of MiB (the dirty bitmap's last word; see
# qemu-lib.sh, QEMU_TCG_RAM_PAD_KIB), and libvirt rounds <memory> to MiB,
# so the domain's <emulator> is a wrapper that adds 8 KiB to -m and to the
# pc.ram backend's size.

LV_DIR=
LV_PID=
LV_HOST_UUID=

lv_uri() { echo "qemu+unix:///system?socket=$LV_DIR/sock/libvirt-sock"; }
lv_virsh() { virsh -q -c "$(lv_uri)" "$@"; }
lv_serial_log() { echo "$LV_DIR/$1.serial.log"; }

lv_state() {
	local st
	st=$(lv_virsh domstate "$1" 2>/dev/null) || { echo absent; return 0; }
	echo "${st%% *}"
}

# The wrapper libvirt runs as the domain's emulator (see above).
_lv_emulator() {
	cat >"$LV_DIR/qemu-wrap" <<'EOF'
#!/bin/bash
# +8 KiB of guest RAM: -m MIB and the pc.ram backend's "size".
args=()
prev=
for a in "$@"; do
	if [[ $prev == -m && $a =~ ^([0-9]+)$ ]]; then
		a="$((BASH_REMATCH[1] * 1024 + 8))k"
	elif [[ $a == *'"id":"pc.ram"'* && $a =~ \"size\":([0-9]+) ]]; then
		a=${a/\"size\":${BASH_REMATCH[1]}/\"size\":$((BASH_REMATCH[1] + 8192))}
	fi
	args+=("$a")
	prev=$a
done
printf '%q ' "${args[@]}" >"${0%/*}/qemu-args.last"
exec /usr/bin/qemu-system-x86_64 "${args[@]}"
EOF
	chmod 755 "$LV_DIR/qemu-wrap"
}

lv_start() { # DIR [TCP-ADDR]
	local tcp=${2:-} listen='' _
	LV_DIR=$1
	[[ -n $tcp ]] && listen="listen_addr = \"$tcp\""
	LV_HOST_UUID=$(cat /proc/sys/kernel/random/uuid)
	mkdir -p "$LV_DIR"/{etc,sock,run,lib,cache,log,swtpm-localca} || return 1
	cp -a /etc/libvirt/. "$LV_DIR/etc/" || return 1
	# no autostarted networks (they would want dnsmasq and the firewall)
	rm -f "$LV_DIR"/etc/qemu/networks/autostart/*.xml
	cat >"$LV_DIR/etc/libvirtd.conf" <<EOF
unix_sock_dir = "$LV_DIR/sock"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
host_uuid = "$LV_HOST_UUID"
listen_tls = 0
listen_tcp = $([[ -n $tcp ]] && echo 1 || echo 0)
auth_tcp = "none"
$listen
log_outputs = "3:file:$LV_DIR/libvirtd.log"
EOF
	cat >"$LV_DIR/etc/qemu.conf" <<'EOF'
user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
stdio_handler = "file"
namespaces = [ ]
swtpm_user = "root"
swtpm_group = "root"
EOF
	_lv_emulator
	cat >"$LV_DIR/start.sh" <<EOF
set -e
for d in /var/lib/libvirt /var/cache/libvirt /var/log /run/libvirt /var/lib/swtpm-localca; do
	mkdir -p "\$d" 2>/dev/null || true
	mount -t tmpfs tmpfs "\$d"
done
mount --bind "$LV_DIR/etc" /etc/libvirt
exec libvirtd ${tcp:+--listen} --pid-file "$LV_DIR/libvirtd.pid"
EOF
	unshare -m --propagation private bash "$LV_DIR/start.sh" >"$LV_DIR/stdout.log" 2>&1 &
	LV_PID=$!
	for _ in $(seq 600); do
		lv_virsh version >/dev/null 2>&1 && return 0
		kill -0 "$LV_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

lv_domain_xml() { # NAME MIB [EXTRA-DEVICES]
	cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>$2</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$PWD/build/tests/qemu-guest/guest.elf</kernel>
    <cmdline>pages=512 burst=128</cmdline>
  </os>
  <cpu mode='custom'><model>qemu64</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$LV_DIR/qemu-wrap</emulator>
    <serial type='file'>
      <source path='$(lv_serial_log "$1")'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    ${3:-}
  </devices>
</domain>
EOF
}

lv_stop() {
	local dom _
	[[ -n $LV_PID ]] || return 0
	for dom in $(lv_virsh list --name 2>/dev/null); do
		lv_virsh destroy "$dom" >/dev/null 2>&1
	done
	kill -TERM "$LV_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$LV_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$LV_PID" 2>/dev/null
	wait "$LV_PID" 2>/dev/null
	LV_PID=
	return 0
}
