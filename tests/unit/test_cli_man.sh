#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP, on the build host (tests/run-all.sh phase 3): the man pages match
# the binaries.  For svmigctl, svmigd and svmig-migrate, the options each
# command accepts (asked of the built binary: its --help, and a probe of
# every option name any of the sources mentions, which the binary either
# accepts or refuses as unknown) must be exactly the options of that
# command's SYNOPSIS in Documentation/man/, and each must have its entry
# under OPTIONS.  svmigctl's commands must be the man page's.  Plus the CLI
# contract of issue 14: --help on stdout with exit 0, "unknown command"
# and "unknown option" with exit 2, --version printing VERSION.
set -uo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
B=build
MAN=Documentation/man
V=$(cat VERSION)

# shellcheck source=tests/vm/tap-lib.sh
. tests/vm/tap-lib.sh
# sorted, unique, one a line
set_of() { tr ' ' '\n' | sed '/^$/d' | sort -u; }
same() { # same DESC "A-LIST" "B-LIST" NAME-A NAME-B
	local a b
	a=$(set_of <<<"$2")
	b=$(set_of <<<"$3")
	ok "$([[ $a == "$b" ]] && echo 1 || echo 0)" "$1" \
		"only in $4: $(comm -23 <(echo "$a") <(echo "$b") | tr '\n' ' ')
only in $5: $(comm -13 <(echo "$a") <(echo "$b") | tr '\n' ' ')"
}
# --options named in roff text (\-\- escapes), without --help/--version
man_opts() { grep -o -E '\\-\\-[a-z]+(\\-[a-z]+)*' | sed 's/\\-/-/g' | grep -v -x -E -- '--(help|version)'; }
# the .SY ... .YS block of PAGE whose first .B line after .SY is WORDS
synopsis() { # synopsis PAGE PROG WORDS
	awk -v prog="$2" -v words="$3" '
		/^\.SY / { insy = ($2 == prog); first = 1; on = 0; next }
		insy && first && /^\.B / { w = $0; sub(/^\.B /, "", w); gsub(/\\-/, "-", w)
			on = (w == words); first = 0; next }
		/^\.YS/ { insy = 0; on = 0; next }
		on { print }' "$1"
}
# the options of the OPTIONS section (.TP entries)
options_section() { # options_section PAGE
	awk '/^\.SH OPTIONS/ { on = 1; next } /^\.SH / { on = 0 } on && prev == ".TP" { print } { prev = $0 }' "$1"
}
# exit status and output of a command
run() { out=$("$@" 2>&1); rc=$?; }

for b in svmigctl svmigd svmig-migrate; do
	[[ -x $B/$b ]] || { echo "Bail out! $B/$b is not built (make userspace)"; exit 1; }
done

# ------------------------------------------------------------- svmigctl
run "$B/svmigctl" --help
ok "$([[ $rc == 0 ]] && echo 1 || echo 0)" "svmigctl --help exits 0" "$out"
help_out=$("$B/svmigctl" --help 2>/dev/null)
ok "$([[ $help_out == usage:* ]] && echo 1 || echo 0)" "svmigctl --help prints its usage on stdout"
run "$B/svmigctl" --version
ok "$([[ $rc == 0 && $out == "svmigctl $V" ]] && echo 1 || echo 0)" "svmigctl --version: svmigctl $V" "$out"
run "$B/svmigctl" bogus
ok "$([[ $rc == 2 && $out == *"unknown command 'bogus'"* ]] && echo 1 || echo 0)" \
	"svmigctl bogus: unknown command, exit 2" "exit $rc: $out"
run "$B/svmigctl" status --vm x
ok "$([[ $rc == 2 && $out == *"unknown option --vm for this command"* ]] && echo 1 || echo 0)" \
	"svmigctl status --vm: unknown option for this command, exit 2" "exit $rc: $out"
run "$B/svmigctl" tpm-ak --bogus
ok "$([[ $rc == 2 && $out == *"unknown option '--bogus'"* ]] && echo 1 || echo 0)" \
	"svmigctl tpm-ak --bogus: unknown option, exit 2" "exit $rc: $out"
run "$B/svmigctl" status --socket /nonexistent/svmigd.sock
ok "$([[ $rc == 2 && $out == *"is svmigd running? (systemctl status svmigd)"* ]] && echo 1 || echo 0)" \
	"svmigctl status with no svmigd: asks whether svmigd runs" "exit $rc: $out"
run "$B/svmigctl" tpm-ak --tcti device:/nonexistent/tpmrm9
ok "$([[ $rc == 2 && $out == *"no TPM at /nonexistent/tpmrm9"*"--tcti"* && $out != *ERROR:* ]] && echo 1 || echo 0)" \
	"svmigctl tpm-ak without a TPM: names the device and --tcti, no tss2 noise" "exit $rc: $out"

cmds=$(sed -n '/^commands:/,/^$/p' <<<"$help_out" | sed -n 's/^  \([a-z-]*\( [a-z]*\)\?\)  .*/\1/p' |
	sed 's/ *$//')
mancmds=$(awk '/^\.SY svmigctl/ { getline; if ($1 == ".B") { sub(/^\.B /, ""); gsub(/\\-/, "-"); print } }' \
	"$MAN/svmigctl.8" | grep -v -x -E -- '--.*|help')
same "svmigctl: the commands of --help are the man page's" \
	"$(tr ' ' '_' <<<"$cmds")" "$(tr ' ' '_' <<<"$mancmds")" "--help" "svmigctl.8"
# Every option name any source mentions, to probe each command with.
all=$( { man_opts <"$MAN/svmigctl.8"; "$B/svmigctl" --help 2>&1 | grep -o -E -- '--[a-z][a-z-]*';
	while IFS= read -r c; do
		# shellcheck disable=SC2086 # two-word commands
		"$B/svmigctl" $c --help 2>&1 | grep -o -E -- '--[a-z][a-z-]*'
	done <<<"$cmds"; } | set_of | grep -v -x -E -- '--(help|version)')
sect=$(options_section "$MAN/svmigctl.8" | man_opts | set_of)
while IFS= read -r c; do
	# shellcheck disable=SC2086
	helpopts=$("$B/svmigctl" $c --help 2>/dev/null | sed -n 's/^  \(--[a-z-]*\).*/\1/p' |
		grep -v -x -- --help)
	accepted=
	for o in $all; do
		for val in "" x 1; do
			# shellcheck disable=SC2086 # two-word commands; no value: no word
			if "$B/svmigctl" $c "$o" $val --help >/dev/null 2>&1; then
				accepted+=" $o"
				break
			fi
		done
	done
	same "svmigctl $c: the options it accepts are its --help's" "$accepted" "$helpopts" \
		"accepted" "--help"
	same "svmigctl $c: the options it accepts are its SYNOPSIS's in svmigctl(8)" "$accepted" \
		"$(synopsis "$MAN/svmigctl.8" svmigctl "$c" | man_opts)" "accepted" "svmigctl.8"
	missing=$(comm -23 <(set_of <<<"$accepted") <(echo "$sect") | tr '\n' ' ')
	ok "$([[ -z ${missing// /} ]] && echo 1 || echo 0)" \
		"svmigctl $c: each option has an entry under OPTIONS" "missing: $missing"
done <<<"$cmds"

# --------------------------------------------------------------- svmigd
run "$B/svmigd" --help
ok "$([[ $rc == 0 && $out == usage:* ]] && echo 1 || echo 0)" "svmigd --help: usage, exit 0" "$out"
run "$B/svmigd" --version
ok "$([[ $rc == 0 && $out == "svmigd $V" ]] && echo 1 || echo 0)" "svmigd --version: svmigd $V" "$out"
all=$( { man_opts <"$MAN/svmigd.8"; "$B/svmigd" --help 2>&1 | grep -o -E -- '--[a-z][a-z-]*'; } |
	set_of | grep -v -x -E -- '--(help|version)')
accepted=
for o in $all; do
	for val in "" 1 a=127.0.0.1:1; do
		# shellcheck disable=SC2086 # no value: no word
		if "$B/svmigd" "$o" $val --help >/dev/null 2>&1; then
			accepted+=" $o"
			break
		fi
	done
done
syn=$(awk '/^\.SY svmigd/ { on = 1; next } /^\.YS/ { exit } on' "$MAN/svmigd.8" | man_opts)
same "svmigd: the options it accepts are its SYNOPSIS's in svmigd(8)" "$accepted" "$syn" \
	"accepted" "svmigd.8"
same "svmigd: ... and its --help's" "$accepted" \
	"$("$B/svmigd" --help | grep -o -E -- '--[a-z][a-z-]*' | grep -v -x -E -- '--(help|version)')" \
	"accepted" "--help"
missing=$(comm -23 <(set_of <<<"$accepted") <(options_section "$MAN/svmigd.8" | man_opts | set_of) |
	tr '\n' ' ')
ok "$([[ -z ${missing// /} ]] && echo 1 || echo 0)" "svmigd: each option has an entry under OPTIONS" \
	"missing: $missing"

# -------------------------------------------------------- svmig-migrate
run "$B/svmig-migrate" --version
ok "$([[ $rc == 0 && $out == "svmig-migrate $V" ]] && echo 1 || echo 0)" \
	"svmig-migrate --version: svmig-migrate $V" "$out"
all=$( { man_opts <"$MAN/svmig-migrate.1"; "$B/svmig-migrate" --help 2>&1 | grep -o -E -- '--[a-z][a-z-]*'; } |
	set_of | grep -v -x -E -- '--(help|version)')
for c in incoming outgoing qmp; do
	accepted=
	for o in $all; do
		for val in "" 1 svmig; do
			# shellcheck disable=SC2086
			if "$B/svmig-migrate" "$c" "$o" $val --help >/dev/null 2>&1; then
				accepted+=" $o"
				break
			fi
		done
	done
	same "svmig-migrate $c: the options it accepts are its SYNOPSIS's in svmig-migrate(1)" \
		"$accepted" "$(synopsis "$MAN/svmig-migrate.1" 'svmig\-migrate' "$c" | man_opts)" \
		"accepted" "svmig-migrate.1"
done
missing=$(comm -23 <(echo "$all") <(options_section "$MAN/svmig-migrate.1" | man_opts | set_of) |
	tr '\n' ' ')
ok "$([[ -z ${missing// /} ]] && echo 1 || echo 0)" \
	"svmig-migrate: each option has an entry under OPTIONS" "missing: $missing"

echo "1..$n"
((failed == 0))
