# SPDX-License-Identifier: GPL-2.0
#
# svmig top-level build.  `make check` installs what it needs, builds the
# module and userspace, and runs every test (host unit tests, then the VM
# tests in a QEMU guest booting Debian's kernel with a swtpm TPM).

KVER ?= $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | \
	  sed 's|.*/linux-headers-||' | sort -V | tail -n 1)
KDIR ?= /usr/src/linux-headers-$(KVER)
B := build

# The one version (VERSION): MODULE_VERSION (kmod/Kbuild), libsvmig's
# file name, svmig.pc, every tool's --version, debian/changelog.
SVMIG_VERSION := $(shell cat VERSION)

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iuapi -Iuserspace/lib \
	  -DSVMIG_VERSION='"$(SVMIG_VERSION)"'
LDLIBS_SSL := -lcrypto -lssl

.PHONY: all module sparse userspace tests check check-debug demo demo-page bench bench-seal-cpus \
	soak deps clean
all: module userspace tests

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 modules

# C=2 checks every file, not only the ones rebuilt.
sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 C=2 modules

deps:
	scripts/install-deps.sh

include userspace/userspace.mk
include userspace/svmigd/svmigd.mk
include tests/unit/unit.mk
include tests/vm/vm.mk
include tests/qemu-guest/guest.mk
include tests/fuzz/fuzz.mk
include scripts/install.mk

# Prints the time of the set-up and the build, as run-all.sh does for
# each of its phases.
check:
	@t0=$$(date +%s); $(MAKE) deps && \
	echo "# time: packages (scripts/install-deps.sh): $$(($$(date +%s) - t0))s"
	@t0=$$(date +%s); $(MAKE) all && $(MAKE) fuzz-build unit-asan && \
	echo "# time: build (all, fuzz-build, unit-asan): $$(($$(date +%s) - t0))s"
	tests/run-all.sh

# The debug-kernel lane (scripts/check-debug.sh): builds Debian's 6.1
# source with KASAN, UBSAN, KFENCE, lockdep and kmemleak
# (tests/debug-kernel/svmig-debug.config; a finished build is kept),
# svmig.ko against it in build/debug-kmod/, and runs the single-host VM
# tests on it.  See Documentation/testing.rst for its times.
check-debug:
	scripts/install-deps.sh --debug-kernel
	$(MAKE) all
	scripts/check-debug.sh

# The two-host demo: svmigd migrates a running guest with a vTPM from
# host-a to host-b; prints what was verified (build/vm2/host-a/demo.txt).
demo: deps
	$(MAKE) all
	rc=0; tests/vm/run-two-hosts.sh --timeout 600 --script tests/vm/demo-two-hosts.sh || rc=$$?; \
	cat build/vm2/host-a/demo.txt 2>/dev/null; exit $$rc

# The page-mode demo in one test VM (tests/vm/guest-demo.sh).
demo-page: deps
	$(MAKE) all
	tests/vm/run-vm.sh --demo

# Benchmarks (not part of check): build/svmig-bench and
# tests/bench/stream-bench.sh inside the test VM; the table lands in
# build/bench/bench.txt, the figures in build/bench/bench.json (see
# Documentation/performance.rst).  SVMIG_BENCH_ARGS=--quick for a short
# check of the benchmark itself.
bench:
	scripts/install-deps.sh --bench
	$(MAKE) all
	tests/vm/run-vm.sh --timeout 3600 --script tests/bench/guest-bench.sh

# Page-mode sealing on one CPU against every CPU of the 2-vCPU test VM,
# side by side (tests/bench/guest-seal-cpus.sh; not part of check).
bench-seal-cpus:
	$(MAKE) all
	tests/vm/run-vm.sh --timeout 1800 --script tests/bench/guest-seal-cpus.sh

# The soak (not part of check): SOAK_MIGRATIONS (100) svmigd migrations of a
# live guest back and forth between the two test hosts, and SOAK_VMM_ROUNDS
# (1000) page-mode rounds of svmig-vmm, with leak and growth checks after
# each; figures in build/soak/summary.txt (Documentation/testing.rst, Soak).
soak: deps
	$(MAKE) all
	tests/vm/soak.sh

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean
	rm -rf $(B)
