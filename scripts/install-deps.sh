#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages svmig needs to build and to run its tests
# (module build, userspace, host unit tests, the QEMU/swtpm test VM).
# Idempotent: when everything is already installed it only asks dpkg and
# returns.  Runs as root (CI) or through sudo.  With --bench it adds what
# `make bench` uses beyond that (perf, to profile inside the test VM); with
# --debug-kernel what `make check-debug` needs to build its kernel.
set -euo pipefail

PACKAGES=(
	# the kernel the test VM boots, and its headers to build svmig.ko
	linux-image-amd64 linux-headers-amd64 kmod
	# the test VM, its TPM and the tools around them
	qemu-system-x86 swtpm swtpm-tools tpm2-tools busybox-static cpio socat
	iproute2
	# building userspace and the tests
	gcc make git pkg-config sparse
	# the fuzz harnesses and the sanitizer unit tests (libFuzzer, ASan, UBSan)
	clang-14 libclang-rt-14-dev
	libssl-dev libtss2-dev libjson-c-dev libcmocka-dev libinih-dev
	# svmigd's readiness notification (sd_notify)
	libsystemd-dev
	# svmigd's libvirt migrations (libvirt-dev) and their test's libvirtd
	libvirt-dev libvirt-daemon-system libvirt-clients
	# the Debian packages and their install test (debian/, dkms.conf,
	# tests/install/): dpkg-buildpackage, dh_dkms, lintian, dkms, udev
	debhelper dh-dkms dkms lintian fakeroot udev
	# svmig(4) from Documentation/uapi.rst (rst2man)
	python3-docutils
)

case ${1:-} in
--bench) PACKAGES+=(linux-perf) ;;
# `make check-debug`: Debian's kernel source and what building it needs.
--debug-kernel) PACKAGES+=(linux-source-6.1 flex bison bc libelf-dev libssl-dev dwarves xz-utils) ;;
"") ;;
*)
	echo "usage: $0 [--bench | --debug-kernel]" >&2
	exit 2
	;;
esac

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	if [[ $status != installed ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

echo "install-deps: installing: ${missing[*]}"

SUDO=()
if ((EUID != 0)); then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-deps: not root and sudo is not available" >&2
		exit 1
	fi
	SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
# Install the whole list, not only what is missing, so apt also pulls in
# anything a half-installed package still needs.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${PACKAGES[@]}"
