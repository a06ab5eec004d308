# SPDX-License-Identifier: GPL-2.0
#
# libFuzzer harnesses (Documentation/testing.rst, "Fuzzing").  Included from
# the top-level Makefile: paths are relative to the repository root.
#
#   tests/fuzz/fuzz_<name>.c      one LLVMFuzzerTestOneInput each
#   tests/fuzz/corpus/<name>/     its seed corpus (checked in)
#   tests/fuzz/<name>.dict        its dictionary (optional)
#
# Every harness is built with clang, -fsanitize=fuzzer,address,undefined
# and -fno-sanitize-recover=all, into $(B)/fuzz/fuzz_<name>, against a
# second build of libsvmig and libsvmigd made with the same sanitizers
# (plus libFuzzer's coverage instrumentation) in $(B)/fuzz/obj/; the normal
# build is left alone.
#
#   make fuzz-build          build every harness
#   make fuzz                run each for FUZZ_SECONDS (300) on a scratch copy
#                            of its corpus; FUZZ=name runs only that one
#   make fuzz-smoke          what make check runs: the corpus, then
#                            FUZZ_SMOKE_SECONDS (30) of new inputs each
# Both go through tests/fuzz/run-fuzz.sh; crashes land in
# $(B)/fuzz/crashes/<name>/.

FUZZ_CC ?= clang-14
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	       -Wall -Wextra -Werror -Iuapi -Iuserspace/lib -Iuserspace/svmigd \
	       -Itests/fuzz
FUZZ_B := $(B)/fuzz
FUZZ_OBJ := $(FUZZ_B)/obj

FUZZ_LIBSVMIG := $(FUZZ_B)/libsvmig.a
FUZZ_LIBSVMIGD := $(FUZZ_B)/libsvmigd.a
FUZZ_LIBSVMIG_OBJS := $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(LIBSVMIG_SRCS))
FUZZ_LIBSVMIGD_OBJS := $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(LIBSVMIGD_SRCS))

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(FUZZ_SRCS))
FUZZ_HDRS := $(wildcard tests/fuzz/*.h) $(LIBSVMIG_HDRS) $(LIBSVMIGD_HDRS)
FUZZ_LDLIBS := $(FUZZ_LIBSVMIGD) $(FUZZ_LIBSVMIG) $(LDLIBS_SVMIGD) \
	       $(LDLIBS_JSON) $(LDLIBS_SSL) -lpthread

FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 30
FUZZ ?=

.PHONY: fuzz fuzz-build fuzz-smoke

$(FUZZ_LIBSVMIG_OBJS) $(FUZZ_LIBSVMIGD_OBJS): $(FUZZ_OBJ)/%.o: %.c \
		$(LIBSVMIG_HDRS) $(LIBSVMIGD_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIBSVMIG): $(FUZZ_LIBSVMIG_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_LIBSVMIGD): $(FUZZ_LIBSVMIGD_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# A harness may #include a .c of the library to reach its static parsers:
# it then depends on every library source.
$(FUZZ_BINS): $(FUZZ_B)/%: tests/fuzz/%.c $(FUZZ_HDRS) $(LIBSVMIG_SRCS) \
		$(LIBSVMIGD_SRCS) $(FUZZ_LIBSVMIG) $(FUZZ_LIBSVMIGD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DSVMIG_SRCDIR='"$(CURDIR)"' \
		-fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run-fuzz.sh --seconds $(FUZZ_SECONDS) $(FUZZ)

fuzz-smoke: fuzz-build
	tests/fuzz/run-fuzz.sh --smoke --seconds $(FUZZ_SMOKE_SECONDS) $(FUZZ)
