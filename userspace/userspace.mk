# SPDX-License-Identifier: GPL-2.0
#
# Userspace: libsvmig.a (ioctl/ring helpers and the OpenSSL wire-format
# implementation) and the svmig-vectors tool.  Included from the top-level
# Makefile: paths are relative to the repository root.

LIBSVMIG := $(B)/libsvmig.a
LIBSVMIG_SRCS := userspace/lib/libsvmig.c userspace/lib/wire.c
LIBSVMIG_OBJS := $(patsubst %.c,$(B)/%.o,$(LIBSVMIG_SRCS))
LIBSVMIG_HDRS := uapi/linux/svmig.h userspace/lib/libsvmig.h \
		 userspace/lib/wire.h

$(LIBSVMIG_OBJS): $(B)/userspace/lib/%.o: userspace/lib/%.c $(LIBSVMIG_HDRS) \
		  | $(B)/userspace/lib
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBSVMIG): $(LIBSVMIG_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/svmig-vectors: userspace/tools/svmig-vectors.c $(LIBSVMIG_HDRS) \
		    $(LIBSVMIG)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSVMIG) $(LDLIBS_SSL)

$(B)/userspace/lib:
	mkdir -p $@

userspace: $(LIBSVMIG) $(B)/svmig-vectors
