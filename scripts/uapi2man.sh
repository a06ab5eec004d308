#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# svmig(4), the device's man page, generated from Documentation/uapi.rst
# (rst2man, python3-docutils): a man page title and section, then the
# page's body without its own title.  Any docutils warning fails it.
#   scripts/uapi2man.sh VERSION-STRING OUT
set -eu
[ $# -eq 2 ] || { echo "usage: $0 VERSION OUT" >&2; exit 2; }
src=$(dirname "$0")/../Documentation/uapi.rst
tmp=$2.rst
{
	printf '%s\n' '=====' 'svmig' '=====' '' \
		'-------------------------------------------------------------------' \
		'/dev/svmig: secure VM live migration crypto and verification' \
		'-------------------------------------------------------------------' '' \
		':Manual section: 4' ':Manual group: Devices' ":Version: svmig $1" '' \
		'SYNOPSIS' '========' '' \
		'``#include <linux/svmig.h>`` (``pkg-config --cflags svmig``), or' \
		'``#include <libsvmig.h>`` and ``-lsvmig`` for the helpers.' '' \
		'``fd = open("/dev/svmig", O_RDWR);``' '' \
		'DESCRIPTION' '===========' ''
	# drop uapi.rst's title: the lines up to its second rule
	awk 'n >= 3 { print; next } /^=+$/ || n == 1 { n++ } ' "$src"
	printf '%s\n' '' 'FILES' '=====' '' \
		'``/dev/svmig``: root:svmig, mode 0660 (``60-svmig.rules``).' '' \
		'SEE ALSO' '========' '' \
		'svmigd(8), svmigctl(8), svmig-migrate(1); Documentation/wire-format.rst'
} >"$tmp"
rst2man --halt=warning "$tmp" "$2"
rm -f "$tmp"
