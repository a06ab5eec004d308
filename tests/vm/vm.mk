# SPDX-License-Identifier: GPL-2.0
#
# The VM tests' programs, built on the host and run inside the test VM
# (tests/vm/run-vm.sh, tests/vm/guest-run.sh).  Included by the top-level
# Makefile: paths are relative to the repository root, $(B) is the build
# directory and $(LIBSVMIG) comes from userspace/userspace.mk.
#
#   tests/vm/vmm.c      -> $(B)/tests/vm/svmig-vmm       KVM VMM, dirty-log migration
#   tests/vm/holdsock.c -> $(B)/tests/vm/svmig-holdsock  helper of t_loadunload.sh
#   tests/vm/relay.c    -> $(B)/tests/vm/svmig-relay     man in the middle for attacks
#   tests/vm/t_*.c      -> $(B)/tests/vm/t_*             TAP tests, one per file
#   tests/vm/fuzz/*.c   -> $(B)/tests/vm/t_fuzz          the fuzzer, a file per concern

VM_B := $(B)/tests/vm
VM_HDRS := uapi/linux/svmig.h userspace/lib/libsvmig.h $(wildcard tests/vm/*.h)
VM_FUZZ_SRCS := $(wildcard tests/vm/fuzz/*.c)
VM_TESTS := $(patsubst tests/vm/%.c,$(VM_B)/%,$(wildcard tests/vm/t_*.c)) $(VM_B)/t_fuzz
VM_HELPERS := $(VM_B)/svmig-vmm $(VM_B)/svmig-holdsock $(VM_B)/svmig-relay

.PHONY: tests
tests: $(VM_HELPERS) $(VM_TESTS)

$(VM_B)/svmig-vmm: tests/vm/vmm.c $(LIBSVMIG) $(VM_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSVMIG) -lpthread

$(VM_B)/svmig-holdsock: tests/vm/holdsock.c $(LIBSVMIG) $(VM_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSVMIG)

$(VM_B)/svmig-relay: tests/vm/relay.c uapi/linux/svmig.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpthread

$(VM_B)/t_%: tests/vm/t_%.c $(LIBSVMIG) $(VM_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSVMIG) $(LDLIBS_SSL) -lpthread

# An explicit rule: the pattern above has no tests/vm/t_fuzz.c to build from.
$(VM_B)/t_fuzz: $(VM_FUZZ_SRCS) $(wildcard tests/vm/fuzz/*.h) $(LIBSVMIG) $(VM_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/vm $(LDFLAGS) -o $@ $(VM_FUZZ_SRCS) $(LIBSVMIG) $(LDLIBS_SSL) \
		-lpthread
