# SPDX-License-Identifier: GPL-2.0
#
# Userspace: libsvmig.a (ioctl/ring helpers, the OpenSSL wire-format
# implementation and a QMP client), the svmig-vectors, svmig-migrate and
# svmig-bench tools.  Included from the top-level Makefile: paths are relative to the
# repository root.
#
# qmp.o and qemu.o need json-c: a program that calls qmp_* or svmig_qemu_* links $(LDLIBS_JSON) after
# $(LIBSVMIG); one that does not never pulls qmp.o out of the archive.

LIBSVMIG := $(B)/libsvmig.a
LDLIBS_JSON := -ljson-c
LIBSVMIG_SRCS := userspace/lib/libsvmig.c userspace/lib/wire.c \
		 userspace/lib/wire-vectors.c \
		 userspace/lib/qmp.c userspace/lib/qemu.c userspace/lib/net.c
LIBSVMIG_OBJS := $(patsubst %.c,$(B)/%.o,$(LIBSVMIG_SRCS))
LIBSVMIG_HDRS := uapi/linux/svmig.h userspace/lib/libsvmig.h \
		 userspace/lib/wire.h userspace/lib/qmp.h userspace/lib/qemu.h \
		 userspace/lib/net.h

$(LIBSVMIG_OBJS): $(B)/userspace/lib/%.o: userspace/lib/%.c $(LIBSVMIG_HDRS) \
		  | $(B)/userspace/lib
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBSVMIG): $(LIBSVMIG_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/svmig-vectors: userspace/tools/svmig-vectors.c $(LIBSVMIG_HDRS) \
		    $(LIBSVMIG)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSVMIG) $(LDLIBS_SSL)

$(B)/svmig-migrate: userspace/tools/svmig-migrate.c $(LIBSVMIG_HDRS) \
		    $(LIBSVMIG)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSVMIG) $(LDLIBS_JSON)

# svmig-bench: one file per concern under userspace/tools/bench/ (bench.h
# lists what each holds).
BENCH_SRCS := $(addprefix userspace/tools/bench/, bench-main.c run.c report.c \
		machine.c json.c data.c cases.c cases-kernel.c cases-user.c \
		cases-evp.c records.c sock.c job.c util.c)

$(B)/svmig-bench: $(BENCH_SRCS) userspace/tools/bench/bench.h $(LIBSVMIG_HDRS) \
		  $(LIBSVMIG)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(BENCH_SRCS) $(LIBSVMIG) $(LDLIBS_JSON) \
		$(LDLIBS_SSL) -lpthread -lm

$(B)/userspace/lib:
	mkdir -p $@

userspace: $(LIBSVMIG) $(B)/svmig-vectors $(B)/svmig-migrate $(B)/svmig-bench
