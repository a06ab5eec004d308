#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The guest side of `make bench` (tests/vm/run-vm.sh --script runs it).
cd "${SVMIG_WORKTREE:-$(dirname "${BASH_SOURCE[0]}")/../..}" || exit 1
if bash tests/bench/stream-bench.sh; then
	echo "SVMIG-GUEST-RESULT: pass"
else
	echo "SVMIG-GUEST-RESULT: fail"
fi
