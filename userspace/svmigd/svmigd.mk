# SPDX-License-Identifier: GPL-2.0
#
# svmigd, the control plane (Documentation/svmigd.rst): its components
# build into libsvmigd.a, which the daemon, svmigctl and the unit tests
# link.  Included from the top-level Makefile; paths relative to the root.

LIBSVMIGD := $(B)/libsvmigd.a
# svmigctl's own sources: svmigctl.c (tables, parsing, main) and its
# commands and helpers, ctl_*.c with their private header ctl.h.
SVMIGCTL_SRCS := userspace/svmigd/svmigctl.c $(wildcard userspace/svmigd/ctl_*.c)
SVMIGCTL_HDRS := userspace/svmigd/ctl.h
LIBSVMIGD_SRCS := $(filter-out userspace/svmigd/svmigd.c $(SVMIGCTL_SRCS),\
		  $(wildcard userspace/svmigd/*.c))
LIBSVMIGD_OBJS := $(patsubst %.c,$(B)/%.o,$(LIBSVMIGD_SRCS))
LIBSVMIGD_HDRS := $(filter-out $(SVMIGCTL_HDRS),$(wildcard userspace/svmigd/*.h))
LDLIBS_SVMIGD := -linih -ltss2-esys -ltss2-mu -ltss2-tctildr -ltss2-rc -lsystemd -lvirt -pthread

$(LIBSVMIGD_OBJS): $(B)/userspace/svmigd/%.o: userspace/svmigd/%.c $(LIBSVMIGD_HDRS) \
		   $(LIBSVMIG_HDRS) | $(B)/userspace/svmigd
	$(CC) $(CFLAGS) -Iuserspace/svmigd -c -o $@ $<

$(LIBSVMIGD): $(LIBSVMIGD_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/userspace/svmigd:
	mkdir -p $@

userspace: $(LIBSVMIGD)

# The daemon and the operator's CLI.
SVMIGD_BINS := $(B)/svmigd $(B)/svmigctl

$(B)/svmigd: userspace/svmigd/svmigd.c $(LIBSVMIGD_HDRS) $(LIBSVMIG_HDRS) \
	     $(LIBSVMIGD) $(LIBSVMIG)
	$(CC) $(CFLAGS) -Iuserspace/svmigd $(LDFLAGS) -o $@ $< $(LIBSVMIGD) \
		$(LIBSVMIG) $(LDLIBS_SVMIGD) $(LDLIBS_JSON) $(LDLIBS_SSL)

$(B)/svmigctl: $(SVMIGCTL_SRCS) $(SVMIGCTL_HDRS) $(LIBSVMIGD_HDRS) $(LIBSVMIG_HDRS) \
	       $(LIBSVMIGD) $(LIBSVMIG)
	$(CC) $(CFLAGS) -Iuserspace/svmigd $(LDFLAGS) -o $@ $(SVMIGCTL_SRCS) $(LIBSVMIGD) \
		$(LIBSVMIG) $(LDLIBS_SVMIGD) $(LDLIBS_JSON) $(LDLIBS_SSL)

userspace: $(SVMIGD_BINS)
