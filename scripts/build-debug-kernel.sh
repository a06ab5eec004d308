#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel of `make check-debug` from Debian's own 6.1 source
# (package linux-source-6.1): x86_64 defconfig + kvm_guest.config +
# tests/debug-kernel/svmig-debug.config (KASAN, UBSAN, KFENCE, lockdep,
# kmemleak, ...).  Output, all under build/debug-kernel/:
#   src/                the unpacked source tree (the module builds against it)
#   src/arch/x86/boot/bzImage
#   mods/lib/modules/ABI/   modules_install (the guest bind-mounts it)
#   abi                 the kernel release string
# Idempotent: a finished build whose config fragment has not changed is kept.
# Measured on a 2-core machine: see Documentation/testing.rst.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=$ROOT/build/debug-kernel
SRC=$OUT/src
FRAG=$ROOT/tests/debug-kernel/svmig-debug.config
TARBALL=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)

if [[ -z $TARBALL ]]; then
	echo "build-debug-kernel: /usr/src/linux-source-6.1.tar.xz missing (scripts/install-deps.sh --debug-kernel)" >&2
	exit 1
fi

stamp=$(cat "$FRAG" "$0" | sha256sum | cut -c1-16)
if [[ -f $OUT/done && $(cat "$OUT/done") == "$stamp" && -f $SRC/arch/x86/boot/bzImage ]]; then
	echo "build-debug-kernel: up to date ($(cat "$OUT/abi"))"
	exit 0
fi

t0=$(date +%s)
rm -rf "$OUT"
mkdir -p "$SRC"
echo "build-debug-kernel: unpacking $TARBALL"
tar -xf "$TARBALL" -C "$SRC" --strip-components=1
cd "$SRC"
make -s defconfig
make -s kvm_guest.config
scripts/kconfig/merge_config.sh -m .config "$FRAG" >/dev/null
make -s olddefconfig
# Every option the fragment asks for must have stuck (a renamed or
# dependent option silently dropped would weaken the lane).
bad=0
while IFS= read -r line; do
	[[ $line =~ ^(CONFIG_[A-Z0-9_]+)=(.*)$ ]] || continue
	opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
	if [[ $want == n ]]; then
		grep -q "^$opt=" .config && { echo "build-debug-kernel: $opt still set" >&2; bad=1; }
	else
		grep -qx "$opt=$want" .config || { echo "build-debug-kernel: $opt=$want did not stick" >&2; bad=1; }
	fi
done <"$FRAG"
((bad == 0)) || exit 1
./scripts/config --set-str LOCALVERSION "-svmig-debug"
./scripts/config --disable LOCALVERSION_AUTO
make -s olddefconfig
jobs=$(nproc)
echo "build-debug-kernel: make -j$jobs bzImage modules"
make -s -j"$jobs" bzImage modules
make -s modules_install INSTALL_MOD_PATH="$OUT/mods" >/dev/null
make -s kernelrelease >"$OUT/abi"
echo "$stamp" >"$OUT/done"
echo "build-debug-kernel: $(cat "$OUT/abi") built in $(($(date +%s) - t0)) s"
