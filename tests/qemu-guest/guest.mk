# SPDX-License-Identifier: GPL-2.0
#
# The bare-metal test guest that nested QEMU boots with -kernel (multiboot
# v1, 32-bit): it keeps dirtying memory and checking it, so live migrations
# can be checked from inside the migrated guest (tests/vm/qemu-lib.sh,
# tests/vm/t_qemu_*.sh).  Included by the top-level Makefile; builds with
# Debian's plain gcc and binutils (no multilib: nothing from libc or libgcc).
#
#   tests/qemu-guest/{boot.S,guest.c,guest.ld} -> $(B)/tests/qemu-guest/guest.elf

QG_B := $(B)/tests/qemu-guest
QG_CC ?= gcc
QG_LD ?= ld
QG_CFLAGS := -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -nostdlib \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-builtin \
	-mno-sse -mno-mmx -mno-80387 -mgeneral-regs-only \
	-O2 -std=gnu11 -Wall -Wextra -Werror
QG_LDFLAGS := -m elf_i386 -nostdlib -static --build-id=none -z noexecstack \
	-T tests/qemu-guest/guest.ld

.PHONY: tests
tests: $(QG_B)/guest.elf

$(QG_B)/%.o: tests/qemu-guest/%.c tests/qemu-guest/guest.mk
	@mkdir -p $(@D)
	$(QG_CC) $(QG_CFLAGS) -c -o $@ $<

$(QG_B)/%.o: tests/qemu-guest/%.S tests/qemu-guest/guest.mk
	@mkdir -p $(@D)
	$(QG_CC) $(QG_CFLAGS) -c -o $@ $<

$(QG_B)/guest.elf: $(QG_B)/boot.o $(QG_B)/guest.o tests/qemu-guest/guest.ld
	$(QG_LD) $(QG_LDFLAGS) -o $@ $(QG_B)/boot.o $(QG_B)/guest.o
