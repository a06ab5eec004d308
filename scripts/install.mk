# SPDX-License-Identifier: GPL-2.0
#
# `make install` / `make uninstall` (Documentation/deploy.rst, "Install").
# Included from the top-level Makefile; paths relative to the root.
#
#   make install [PREFIX=/usr/local] [DESTDIR=/staging] [BINDIR=...] ...
#
# Installs svmigd (SBINDIR), svmigctl and svmig-migrate (BINDIR),
# libsvmig.so.0 (SONAME; version script userspace/lib/libsvmig.map) and
# libsvmig.a (LIBDIR), the headers under INCLUDEDIR/svmig/ (libsvmig.h and
# linux/svmig.h there: `pkg-config --cflags svmig` adds -I INCLUDEDIR/svmig,
# so nothing lands beside linux-libc-dev's INCLUDEDIR/linux/), svmig.pc
# (PKGCONFIGDIR), the man pages (MANDIR), bash completion, the systemd
# unit (UNITDIR; its ExecStart names SBINDIR), the udev rule (UDEVRULESDIR:
# group svmig, mode 0660, TAG+="systemd"), modules-load.d (MODULESLOADDIR)
# and an example configuration in SYSCONFDIR/svmigd/ (never overwriting
# one already there).  The module itself is built per kernel by DKMS
# (dkms.conf) or `make module`.
#
# The installed libsvmig holds only the ioctl and ring helpers
# (userspace/lib/libsvmig.c), with no dependencies beyond libc; the build's
# internal $(LIBSVMIG) archive (wire format oracle, QMP) is not installed.
#
# Nothing here creates the svmig group or reloads udev/systemd: the Debian
# packages' maintainer scripts do; after a plain `make install` run
#   groupadd --system svmig; udevadm control --reload; systemctl daemon-reload

PREFIX ?= /usr/local
EXEC_PREFIX ?= $(PREFIX)
BINDIR ?= $(EXEC_PREFIX)/bin
SBINDIR ?= $(EXEC_PREFIX)/sbin
LIBDIR ?= $(EXEC_PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
SYSCONFDIR ?= /etc
# udev, systemd and modules-load.d read only /etc and /usr/lib (/lib):
# a /usr install uses the distribution's directories, any other prefix
# the administrator's ones under /etc.
ifeq ($(PREFIX),/usr)
UNITDIR ?= /lib/systemd/system
UDEVRULESDIR ?= /lib/udev/rules.d
MODULESLOADDIR ?= /usr/lib/modules-load.d
else
UNITDIR ?= $(SYSCONFDIR)/systemd/system
UDEVRULESDIR ?= $(SYSCONFDIR)/udev/rules.d
MODULESLOADDIR ?= $(SYSCONFDIR)/modules-load.d
endif
INSTALL ?= install

SONAME := libsvmig.so.0
SOLIB := libsvmig.so.$(SVMIG_VERSION)
DIST := $(B)/dist
DIST_LIBSVMIG_OBJ := $(DIST)/libsvmig.pic.o

$(DIST):
	mkdir -p $@

$(DIST_LIBSVMIG_OBJ): userspace/lib/libsvmig.c userspace/lib/libsvmig.h \
		      uapi/linux/svmig.h | $(DIST)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

# The version script exports exactly libsvmig.h's functions.
$(DIST)/$(SOLIB): $(DIST_LIBSVMIG_OBJ) userspace/lib/libsvmig.map
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=userspace/lib/libsvmig.map -Wl,--no-undefined \
		-o $@ $(DIST_LIBSVMIG_OBJ)

$(DIST)/libsvmig.a: $(DIST_LIBSVMIG_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(DIST)/svmig.pc: scripts/svmig.pc.in VERSION | $(DIST)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(SVMIG_VERSION)|' \
	    $< >$@

$(DIST)/svmigd.service: scripts/svmigd.service | $(DIST)
	sed -e 's|/usr/sbin/svmigd|$(SBINDIR)/svmigd|' $< >$@

# The man pages, with @VERSION@ filled in: the hand-written ones of
# Documentation/man/, svmigd.conf(5) cut from svmigd(8)'s CONFIGURATION
# section (one text for both), and svmig(4) made from
# Documentation/uapi.rst by rst2man (python3-docutils).
MAN_SRC := $(wildcard Documentation/man/*.[1-8])
MAN_PAGES := $(patsubst Documentation/man/%,$(DIST)/man/%,$(MAN_SRC)) \
	     $(DIST)/man/svmigd.conf.5 $(DIST)/man/svmig.4

$(DIST)/man:
	mkdir -p $@

$(DIST)/man/%: Documentation/man/% VERSION | $(DIST)/man
	sed 's/@VERSION@/$(SVMIG_VERSION)/g' $< >$@

$(DIST)/man/svmigd.conf.5: Documentation/man/svmigd.8 VERSION | $(DIST)/man
	{ echo '.\" SPDX-License-Identifier: GPL-2.0'; \
	  echo '.\" Generated from svmigd.8 (CONFIGURATION) by scripts/install.mk.'; \
	  echo '.TH SVMIGD.CONF 5 2026 "svmig $(SVMIG_VERSION)" "File Formats"'; \
	  echo '.SH NAME'; \
	  echo 'svmigd.conf \- configuration file of svmigd(8)'; \
	  echo '.SH SYNOPSIS'; echo '.I /etc/svmigd/svmigd.conf'; \
	  echo '.SH DESCRIPTION'; \
	  awk '/^\.SH CONFIGURATION/ { on = 1; next } on && /^\.SH / { exit } on' $<; \
	  echo '.SH FILES'; echo '.TP'; echo '.I /etc/svmigd/svmigd.conf.example'; \
	  echo 'An example with every section, installed with svmigd.'; \
	  echo '.SH SEE ALSO'; echo '.BR svmigd (8),'; echo '.BR svmigctl (8)'; } >$@

$(DIST)/man/svmig.4: Documentation/uapi.rst scripts/uapi2man.sh VERSION | $(DIST)/man
	scripts/uapi2man.sh $(SVMIG_VERSION) $@

.PHONY: dist-files install uninstall $(DIST)/svmig.pc $(DIST)/svmigd.service
dist-files: $(DIST)/$(SOLIB) $(DIST)/libsvmig.a $(DIST)/svmig.pc \
	    $(DIST)/svmigd.service $(MAN_PAGES)

install: $(B)/svmigd $(B)/svmigctl $(B)/svmig-migrate dist-files
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/svmig/linux $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(MODULESLOADDIR)
	$(INSTALL) -m 0755 $(B)/svmigd $(DESTDIR)$(SBINDIR)/svmigd
	$(INSTALL) -m 0755 $(B)/svmigctl $(B)/svmig-migrate $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(DIST)/$(SOLIB) $(DESTDIR)$(LIBDIR)/$(SOLIB)
	ln -sf $(SOLIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsvmig.so
	$(INSTALL) -m 0644 $(DIST)/libsvmig.a $(DESTDIR)$(LIBDIR)/libsvmig.a
	$(INSTALL) -m 0644 userspace/lib/libsvmig.h $(DESTDIR)$(INCLUDEDIR)/svmig/
	$(INSTALL) -m 0644 uapi/linux/svmig.h $(DESTDIR)$(INCLUDEDIR)/svmig/linux/
	$(INSTALL) -m 0644 $(DIST)/svmig.pc $(DESTDIR)$(PKGCONFIGDIR)/svmig.pc
	set -e; for m in $(MAN_PAGES); do \
		s=$${m##*.}; $(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$s; \
		$(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	$(INSTALL) -m 0644 scripts/svmigctl.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/svmigctl
	$(INSTALL) -m 0644 $(DIST)/svmigd.service $(DESTDIR)$(UNITDIR)/svmigd.service
	$(INSTALL) -m 0644 scripts/60-svmig.rules $(DESTDIR)$(UDEVRULESDIR)/60-svmig.rules
	$(INSTALL) -m 0644 scripts/svmig.modules-load.conf \
		$(DESTDIR)$(MODULESLOADDIR)/svmig.conf
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/svmigd
	[ -e $(DESTDIR)$(SYSCONFDIR)/svmigd/svmigd.conf.example ] || \
		$(INSTALL) -m 0644 scripts/svmigd.conf.example \
			$(DESTDIR)$(SYSCONFDIR)/svmigd/svmigd.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/svmigd ] || { \
		$(INSTALL) -d $(DESTDIR)$(SYSCONFDIR)/default && \
		$(INSTALL) -m 0644 scripts/svmigd.default $(DESTDIR)$(SYSCONFDIR)/default/svmigd; }
	if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

# Leaves SYSCONFDIR/svmigd and SYSCONFDIR/default/svmigd (configuration)
# alone unless they are the untouched examples.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/svmigd $(DESTDIR)$(BINDIR)/svmigctl \
	      $(DESTDIR)$(BINDIR)/svmig-migrate \
	      $(DESTDIR)$(LIBDIR)/$(SOLIB) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libsvmig.so $(DESTDIR)$(LIBDIR)/libsvmig.a \
	      $(DESTDIR)$(INCLUDEDIR)/svmig/libsvmig.h \
	      $(DESTDIR)$(INCLUDEDIR)/svmig/linux/svmig.h \
	      $(DESTDIR)$(PKGCONFIGDIR)/svmig.pc \
	      $(DESTDIR)$(BASHCOMPDIR)/svmigctl \
	      $(DESTDIR)$(UNITDIR)/svmigd.service \
	      $(DESTDIR)$(UDEVRULESDIR)/60-svmig.rules \
	      $(DESTDIR)$(MODULESLOADDIR)/svmig.conf
	set -e; for m in $(MAN_PAGES); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	-rmdir $(DESTDIR)$(INCLUDEDIR)/svmig/linux $(DESTDIR)$(INCLUDEDIR)/svmig
	if cmp -s scripts/svmigd.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/svmigd/svmigd.conf.example; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/svmigd/svmigd.conf.example; fi
	-rmdir $(DESTDIR)$(SYSCONFDIR)/svmigd
	if cmp -s scripts/svmigd.default $(DESTDIR)$(SYSCONFDIR)/default/svmigd; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/default/svmigd; fi
	if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi
