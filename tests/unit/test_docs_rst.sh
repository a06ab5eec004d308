#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP, on the build host (tests/run-all.sh phase 3): every page of
# Documentation/*.rst parses with docutils (Debian's python3-docutils, the
# same one rst2man uses for svmig(4)) without a warning or an error.  A
# malformed table or a broken reference renders as garbage or silently
# drops text, which a reader of the page would not notice was missing.
set -uo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh

PY=/usr/bin/python3
pages=(Documentation/*.rst)
echo "1..${#pages[@]}"
for p in "${pages[@]}"; do
	# report_level 2: warnings and errors are written to stderr
	out=$("$PY" - "$p" 2>&1 <<'PYEOF'
import sys
import docutils.core
with open(sys.argv[1], encoding="utf-8") as f:
    src = f.read()
docutils.core.publish_doctree(src, source_path=sys.argv[1],
    settings_overrides={"report_level": 2, "halt_level": 5})
PYEOF
	)
	rc=$?
	ok "$([[ $rc -eq 0 && -z $out ]] && echo 1 || echo 0)" \
		"$p parses without docutils warnings" "$out"
done
((failed == 0))
