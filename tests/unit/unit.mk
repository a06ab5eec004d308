# SPDX-License-Identifier: GPL-2.0
#
# Host unit tests (cmocka) of libsvmig (the wire-format implementation) and
# of svmigd's components (libsvmigd).
# Included from the top-level Makefile: paths are relative to the
# repository root; $(LIBSVMIG) comes from userspace/userspace.mk.
#
#   tests/unit/test_*.c -> $(B)/tests/unit/test_*   (one program per file)
#
# `make check-unit` builds and runs them here.  The tests find
# Documentation/wire-vectors.txt through SVMIG_SRCDIR (compiled in as this
# tree's root, overridable from the environment).

UNIT_B := $(B)/tests/unit
UNIT_TESTS := $(patsubst tests/unit/%.c,$(UNIT_B)/%,$(wildcard tests/unit/test_*.c))
UNIT_HDRS := $(wildcard tests/unit/*.h) $(LIBSVMIG_HDRS) $(LIBSVMIGD_HDRS)
UNIT_CFLAGS := -DSVMIG_SRCDIR='"$(CURDIR)"' -Iuserspace/svmigd
UNIT_LDLIBS := $(LIBSVMIGD) $(LIBSVMIG) -lcmocka $(LDLIBS_SVMIGD) $(LDLIBS_JSON) \
	       $(LDLIBS_SSL) -lpthread

.PHONY: tests check-unit
tests: $(UNIT_TESTS)

$(UNIT_TESTS): $(UNIT_B)/%: tests/unit/%.c $(UNIT_HDRS) $(LIBSVMIG) $(LIBSVMIGD) | $(UNIT_B)
	$(CC) $(CFLAGS) $(UNIT_CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_LDLIBS)

$(UNIT_B):
	mkdir -p $@

check-unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done
