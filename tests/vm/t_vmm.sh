#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP: a KVM guest's memory live-migrated through /dev/svmig by
# build/tests/vm/svmig-vmm, driven by real KVM dirty logs (see
# tests/vm/vmm.c).  Runs inside the test VM, with svmig.ko loaded.
# Skipped only when the guest has no /dev/kvm.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
VMM=build/tests/vm/svmig-vmm

if [[ ! -e /dev/kvm ]]; then
	# Best effort: the harness normally loads it already.
	modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null || true
fi
if [[ ! -e /dev/kvm ]]; then
	echo "1..0 # SKIP machine: no /dev/kvm (no nested KVM: kvm_amd/kvm_intel do not load in this guest)"
	exit 0
fi
# The sender and receiver talk over 127.0.0.1: a fresh guest may have lo down.
ip link set lo up 2>/dev/null || true
if [[ ! -x $VMM ]]; then
	echo "1..0"
	echo "Bail out! $VMM is not built (make tests)"
	exit 1
fi

exec "$VMM" --tap --rounds 4 --mem-mib 16
