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

# The same tests built a second time with AddressSanitizer, UBSan and
# LeakSanitizer (clang, -fno-sanitize-recover=all: any report aborts the
# test), against libsvmig and libsvmigd rebuilt with the same flags:
#
#   tests/unit/test_*.c -> $(B)/tests/unit-asan/test_*
#
# `make unit-asan` builds them; make check runs them after the plain ones
# (tests/run-all.sh, "asan/test_*").
UNIT_ASAN_B := $(B)/tests/unit-asan
UNIT_ASAN_CC ?= clang-14
UNIT_ASAN_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
UNIT_ASAN_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
		    -Wall -Wextra -Werror -Iuapi -Iuserspace/lib -Iuserspace/svmigd \
		    $(UNIT_ASAN_SAN)
UNIT_ASAN_TESTS := $(patsubst tests/unit/%.c,$(UNIT_ASAN_B)/%,$(wildcard tests/unit/test_*.c))
UNIT_ASAN_LIBSVMIG := $(UNIT_ASAN_B)/libsvmig.a
UNIT_ASAN_LIBSVMIGD := $(UNIT_ASAN_B)/libsvmigd.a
UNIT_ASAN_LIBSVMIG_OBJS := $(patsubst %.c,$(UNIT_ASAN_B)/obj/%.o,$(LIBSVMIG_SRCS))
UNIT_ASAN_LIBSVMIGD_OBJS := $(patsubst %.c,$(UNIT_ASAN_B)/obj/%.o,$(LIBSVMIGD_SRCS))

.PHONY: unit-asan
unit-asan: $(UNIT_ASAN_TESTS)

$(UNIT_ASAN_LIBSVMIG_OBJS) $(UNIT_ASAN_LIBSVMIGD_OBJS): $(UNIT_ASAN_B)/obj/%.o: %.c \
		$(LIBSVMIG_HDRS) $(LIBSVMIGD_HDRS)
	@mkdir -p $(dir $@)
	$(UNIT_ASAN_CC) $(UNIT_ASAN_CFLAGS) -c -o $@ $<

$(UNIT_ASAN_LIBSVMIG): $(UNIT_ASAN_LIBSVMIG_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(UNIT_ASAN_LIBSVMIGD): $(UNIT_ASAN_LIBSVMIGD_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# Like the plain tests, a test may #include a library .c to reach statics.
$(UNIT_ASAN_TESTS): $(UNIT_ASAN_B)/%: tests/unit/%.c $(UNIT_HDRS) $(LIBSVMIG_SRCS) \
		    $(LIBSVMIGD_SRCS) $(UNIT_ASAN_LIBSVMIG) $(UNIT_ASAN_LIBSVMIGD)
	$(UNIT_ASAN_CC) $(UNIT_ASAN_CFLAGS) $(UNIT_CFLAGS) -o $@ $< \
		$(UNIT_ASAN_LIBSVMIGD) $(UNIT_ASAN_LIBSVMIG) -lcmocka $(LDLIBS_SVMIGD) \
		$(LDLIBS_JSON) $(LDLIBS_SSL) -lpthread
