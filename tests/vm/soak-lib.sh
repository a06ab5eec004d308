# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Resource probes shared by the soak scripts (tests/vm/soak-two-hosts.sh,
# tests/vm/soak-vmm.sh), which run inside a test VM.  Source it from the
# work tree; every function prints its answer on stdout.
#
#   soak_fds PID          number of open fds of PID (ls /proc/PID/fd)
#   soak_rss PID          VmRSS of PID in KiB
#   soak_refcnt           /sys/module/svmig/refcnt: one per open /dev/svmig
#                         file (and per socket the module holds)
#   soak_meminfo KEY      a /proc/meminfo value in KiB (SUnreclaim, ...)
#   soak_pins             pages pinned with FOLL_PIN and not yet released
#                         (/proc/vmstat nr_foll_pin_acquired - released):
#                         svmig's sender pins guest pages while it seals
#   soak_pinned_total     nr_foll_pin_acquired alone: how many pins were ever
#                         taken (shows that the sender did pin pages)
#   soak_slab             svmig's own slab caches in /proc/slabinfo as
#                         "name:active_objs ..." ("none": it has none, its
#                         objects come from the kmalloc caches)
#   soak_kmemleak_init    mounts debugfs if needed; 0 if this kernel has
#                         kmemleak (CONFIG_DEBUG_KMEMLEAK), else 1
#   soak_kmemleak FILE    scans; prints "clean", or "leak" after saving the
#                         report in FILE (then clears the list, so the next
#                         scan reports only new leaks); "n/a" without
#                         kmemleak
#   soak_stat FILE STAT   the whole-number field STAT of a flat JSON object

KMEMLEAK=/sys/kernel/debug/kmemleak

soak_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
soak_rss() { awk '$1 == "VmRSS:" { print $2; f = 1 } END { if (!f) print -1 }' "/proc/$1/status" 2>/dev/null; }
soak_refcnt() { cat /sys/module/svmig/refcnt 2>/dev/null || echo -1; }
soak_meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

soak_pins() {
	awk '$1 == "nr_foll_pin_acquired" { a = $2 } $1 == "nr_foll_pin_released" { r = $2 }
		END { print a - r }' /proc/vmstat
}

soak_pinned_total() { awk '$1 == "nr_foll_pin_acquired" { print $2 }' /proc/vmstat; }

soak_slab() {
	local s
	s=$(awk '$1 ~ /svmig/ { printf "%s%s:%s", sep, $1, $2; sep = " " }' /proc/slabinfo 2>/dev/null)
	echo "${s:-none}"
}

soak_kmemleak_init() {
	[[ -e $KMEMLEAK ]] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	[[ -w $KMEMLEAK ]] || return 1
	# Leaks from before the soak (boot, module load) are not ours to judge.
	echo scan >"$KMEMLEAK" 2>/dev/null
	echo clear >"$KMEMLEAK" 2>/dev/null
	return 0
}

soak_kmemleak() {
	if [[ ! -w $KMEMLEAK ]]; then
		echo n/a
		return
	fi
	echo scan >"$KMEMLEAK" 2>/dev/null
	cat "$KMEMLEAK" >"$1" 2>/dev/null
	if [[ -s $1 ]]; then
		echo clear >"$KMEMLEAK" 2>/dev/null
		echo leak
	else
		rm -f "$1"
		echo clean
	fi
}

soak_stat() { sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" "$1" | head -n 1; }
