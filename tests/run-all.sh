#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The test run of `make check` (the Makefile builds everything first).
# Phases, each counted as tests:
#   1. kmod builds with W=1 without warnings (after a clean)
#   2. sparse (C=2) reports nothing on kmod/
#   3. host unit tests: every executable build/tests/unit/test_* (cmocka, TAP)
#      and tests/unit/test_*.sh
#  3a. the same built with ASan, UBSan and LSan (build/tests/unit-asan/)
#  3b. fuzz smoke: every libFuzzer harness over its corpus, then 30 s of
#      new inputs (tests/fuzz/run-fuzz.sh --smoke; FUZZ_SMOKE_SECONDS)
#   4. VM tests: tests/vm/run-vm.sh, counted from its SVMIG-GUEST-TOTALS line
#   5. VM tests without a TPM: a second, short boot, tests/vm/run-vm.sh
#      --no-tpm running only t_notpm (refusal without a TPM, logged opt-in),
#      counted the same way
# and ends with one line "N passed, M failed" (", K skipped" if any).
# Exits non-zero if anything failed or nothing ran.  A skip counts as
# skipped only if its reason starts with "machine:" and names what this
# machine lacks ("# SKIP machine: no swtpm binary"; a cmocka test, whose
# SKIP line carries no reason, prints "# machine: ..." just before it);
# any other skip counts as failed, so a run that left tests out for
# another reason (SVMIG_SKIP_VM=1 included) does not pass.  Logs:
# build/check/ (each boot's console log and guest logs are copied to
# build/check/vm/ and build/check/vm-notpm/, since the second boot reuses
# build/vm/).
#
# Environment: KDIR or KVER select the kernel headers (default: the newest
# /usr/src/linux-headers-*-amd64, as the Makefile does); SVMIG_SKIP_VM=1
# leaves out the VM phases (for quick local runs; they are then reported
# as failed skips: such a run never passes); SVMIG_* variables reach the
# VM tests (see tests/vm/guest-run.sh), except that phase 5 sets
# SVMIG_TESTS=t_notpm.
# Phase 10 builds the Debian packages and installs them
# (tests/install/run-install-test.sh: a fresh root on this host, then the
# test VM).
# Phases 6 to 9d boot two VMs joined by a network (tests/vm/run-two-hosts.sh):
# a smoke test of the harness, a migration through svmigd, failures in the
# middle of one, each refusal of one, then svmigd's concurrency and limits; each host ends with the host
# checks of tests/vm/t2-tap.sh (svmigd exit statuses and logs, rmmod,
# dmesg, taint), counted with the rest of that host's TAP.
set -uo pipefail
export LC_ALL=C

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
LOGDIR=$ROOT/build/check
mkdir -p "$LOGDIR"

if [[ -z ${KDIR:-} ]]; then
	if [[ -z ${KVER:-} ]]; then
		KVER=$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' -printf '%f\n' 2>/dev/null |
			sed 's/^linux-headers-//' | sort -V | tail -n 1)
	fi
	KDIR=/usr/src/linux-headers-$KVER
fi

passed=0
failed=0
skipped=0
failures=()

result() { # result pass|fail|skip DESC [REASON]
	case $1 in
	pass)
		passed=$((passed + 1))
		echo "ok - $2"
		;;
	fail)
		failed=$((failed + 1))
		failures+=("$2")
		echo "not ok - $2"
		;;
	skip)
		if [[ ${3:-} != machine:* ]]; then
			result fail "$2 # SKIP ${3:-} (a skip must name what the machine lacks)"
			return
		fi
		skipped=$((skipped + 1))
		echo "ok - $2 # SKIP ${3:-}"
		;;
	esac
}

# machine_skip LINE [LAST-DIAG]: a SKIP result LINE declares that this
# machine cannot run it: its reason, or the test's diagnostic just before
# it (cmocka prints no reason), starts with "machine:"
RE_SKIP_REASON='#[[:space:]]*[Ss][Kk][Ii][Pp][[:alpha:]]*[[:space:]]*(.*)$'
machine_skip() {
	[[ $1 =~ $RE_SKIP_REASON ]] || return 0	# a TODO
	[[ ${BASH_REMATCH[1]} == machine:* || ${2:-} =~ ^#?[[:space:]]*machine: ]]
}

now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }
timing() { echo "# time: $1: $(elapsed "$2")s"; }
t_all=$(now)

# ------------------------------------------------- 1. W=1 build, no warnings
t0=$(now)
echo "# phase 1: kmod with W=1 (KDIR=$KDIR)"
desc="kmod builds with W=1 without warnings"
log=$LOGDIR/kmod-w1.log
if [[ ! -d $KDIR ]]; then
	result fail "$desc" && echo "# no kernel headers at $KDIR"
else
	make -C "$KDIR" M="$ROOT/kmod" clean >"$log" 2>&1
	rc=0
	make -s -C "$KDIR" M="$ROOT/kmod" W=1 modules >>"$log" 2>&1 || rc=$?
	bad=$(grep -i -E 'warning:|error:' "$log")
	if ((rc == 0)) && [[ -z $bad ]]; then
		result pass "$desc"
	else
		result fail "$desc"
		echo "# make exited $rc; see $log"
		[[ -n $bad ]] && printf '%s\n' "$bad" | head -n 50 | sed 's/^/#   /'
		((rc != 0)) && [[ -z $bad ]] && tail -n 20 "$log" | sed 's/^/#   /'
	fi
fi
timing "kmod W=1 build" "$t0"

# ------------------------------------------------------------- 2. sparse
t0=$(now)
echo "# phase 2: sparse"
desc="sparse clean"
log=$LOGDIR/sparse.log
if [[ ! -d $KDIR ]]; then
	result fail "$desc"
elif ! command -v sparse >/dev/null 2>&1; then
	result fail "$desc" && echo "# sparse is not installed (scripts/install-deps.sh)"
else
	rc=0
	make -C "$KDIR" M="$ROOT/kmod" W=1 C=2 modules >"$log" 2>&1 || rc=$?
	bad=$(grep -E ': (warning|error):' "$log")
	if ((rc == 0)) && [[ -z $bad ]]; then
		result pass "$desc"
	else
		result fail "$desc"
		echo "# make exited $rc; see $log"
		[[ -n $bad ]] && printf '%s\n' "$bad" | head -n 50 | sed 's/^/#   /'
		((rc != 0)) && [[ -z $bad ]] && tail -n 20 "$log" | sed 's/^/#   /'
	fi
fi
timing "sparse" "$t0"

# ------------------------------------------------------ 3. host unit tests
# unit_phase DIR PREFIX: every executable DIR/test_* (cmocka, TAP), each
# result line echoed as "PREFIXtest_foo: ok ..." and counted.  A test that
# exits non-zero without a failed result, one that prints no result, and
# (for the sanitizer build) any sanitizer report fail it too.
RE_RESULT='^(not )?ok([[:space:]]|$)'
RE_DIRECTIVE='#[[:space:]]*([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])'
RE_SANITIZER='==[0-9]+==ERROR: |runtime error: |^SUMMARY: [A-Za-z]+Sanitizer'
unit_phase() {
	local dir=$1 prefix=$2 t name log rc results notok line first prev
	nunit=0
	for t in "$dir"/test_*; do
		[[ -f $t && -x $t ]] || continue
		nunit=$((nunit + 1))
		name=$prefix${t##*/}
		log=$LOGDIR/${name//\//-}.log
		rc=0
		CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 10 300 "./$t" </dev/null >"$log" 2>&1 || rc=$?
		results=0
		notok=0
		prev=
		while IFS= read -r line || [[ -n $line ]]; do
			line=${line%$'\r'}
			echo "$name: $line"
			if ! [[ $line =~ $RE_RESULT ]]; then
				prev=$line
				continue
			fi
			results=$((results + 1))
			if [[ $line =~ $RE_DIRECTIVE ]] && ! machine_skip "$line" "$prev"; then
				failed=$((failed + 1))
				notok=$((notok + 1))
				failures+=("$name: $line (a skip must name what the machine lacks)")
			elif [[ $line =~ $RE_DIRECTIVE ]]; then
				skipped=$((skipped + 1))
			elif [[ $line == "not ok"* ]]; then
				failed=$((failed + 1))
				notok=$((notok + 1))
				failures+=("$name: $line")
			else
				passed=$((passed + 1))
			fi
			prev=
		done <"$log"
		if ((rc == 124 || rc == 137)); then
			result fail "$name: killed by the timeout (300s)"
		elif grep -a -q -E "$RE_SANITIZER" "$log"; then
			result fail "$name: sanitizer report (exit $rc; see $log)"
			first=$(grep -a -n -m 1 -E "$RE_SANITIZER" "$log" | cut -d: -f1)
			sed -n "${first},$((first + 19))p" "$log" | sed 's/^/#   /'
		elif ((rc != 0 && notok == 0)); then
			result fail "$name: exited with status $rc without reporting a failure"
		elif ((rc == 0 && results == 0)); then
			result fail "$name: printed no TAP results"
		fi
	done
}

t0=$(now)
echo "# phase 3: host unit tests"
unit_phase build/tests/unit ""
((nunit)) || result fail "host unit tests: none found under build/tests/unit/"
nbin=$nunit
# tests/unit/test_*.sh: the shell libraries the VM tests judge with
# (tests/vm/tap-lib.sh, svmigd-lib.sh), checked on this host.
unit_phase tests/unit ""
((nunit)) || result fail "host unit tests: no tests/unit/test_*.sh"
timing "host unit tests ($nbin binaries, $nunit scripts)" "$t0"

# ------------------------------- 3a. the same under ASan + UBSan + LSan
# build/tests/unit-asan/ (tests/unit/unit.mk, make unit-asan): every unit
# test again, built with clang -fsanitize=address,undefined
# -fno-sanitize-recover=all against a sanitizer build of the libraries.
t0=$(now)
echo "# phase 3a: host unit tests under ASan, UBSan and LSan"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
unit_phase build/tests/unit-asan "asan/"
((nunit)) || result fail "sanitizer unit tests: none found under build/tests/unit-asan/ (make unit-asan)"
timing "sanitizer unit tests ($nunit binaries)" "$t0"
unset ASAN_OPTIONS UBSAN_OPTIONS

# ---------------------------------------------------- 3b. fuzz smoke
# tests/fuzz/run-fuzz.sh --smoke: each harness build/fuzz/fuzz_* over its
# checked-in corpus, then FUZZ_SMOKE_SECONDS (30) of new inputs; any
# crash, leak, UBSan report, timeout or OOM fails it.  One result each.
t0=$(now)
echo "# phase 3b: fuzz smoke (tests/fuzz/run-fuzz.sh --smoke, ${FUZZ_SMOKE_SECONDS:-30}s each)"
nfuzz=0
while IFS= read -r line; do
	case $line in
	"ok - "*)
		nfuzz=$((nfuzz + 1))
		result pass "${line#ok - }"
		;;
	"not ok - "*)
		nfuzz=$((nfuzz + 1))
		result fail "${line#not ok - }"
		;;
	*) echo "$line" ;;
	esac
done < <(tests/fuzz/run-fuzz.sh --smoke --seconds "${FUZZ_SMOKE_SECONDS:-30}" 2>&1)
((nfuzz)) || result fail "fuzz smoke: no result from tests/fuzz/run-fuzz.sh"
timing "fuzz smoke ($nfuzz harnesses)" "$t0"

# ------------------------------------------------------- 4. and 5. VM tests
# vm_phase NAME LOGNAME RUN-VM-ARGS...: one boot, counted from the guest's
# SVMIG-GUEST-TOTALS line; its console and guest logs saved under
# build/check/LOGNAME/.  Sets vm_log for the caller's extra checks.
vm_phase() {
	local name=$1 logname=$2 rc=0 totals vp vf vs saved console
	shift 2
	vm_log=$LOGDIR/$logname.log
	saved=$LOGDIR/$logname
	rm -rf "$saved"
	tests/vm/run-vm.sh "$@" 2>&1 | tee "$vm_log" || rc=$?
	mkdir -p "$saved"
	# run-vm.sh names its console log in its messages when not console.log.
	console=$(tr -d '\r' <"$vm_log" | sed -n 's/^run-vm: .*logging to \(.*\.log\)$/\1/p' | tail -n 1)
	cp -f "${console:-build/vm/console.log}" "$saved/console.log" 2>/dev/null
	[[ -d build/vm/guest-logs ]] && cp -a build/vm/guest-logs "$saved/" 2>/dev/null
	totals=$(tr -d '\r' <"$vm_log" | grep -a -E '^SVMIG-GUEST-TOTALS: passed=[0-9]+ failed=[0-9]+ skipped=[0-9]+$' | tail -n 1)
	if [[ -z $totals ]]; then
		result fail "$name: no SVMIG-GUEST-TOTALS line (run-vm.sh exited $rc; see $vm_log and $saved/console.log)"
		return 1
	fi
	[[ $totals =~ passed=([0-9]+)\ failed=([0-9]+)\ skipped=([0-9]+) ]]
	vp=${BASH_REMATCH[1]} vf=${BASH_REMATCH[2]} vs=${BASH_REMATCH[3]}
	passed=$((passed + vp))
	failed=$((failed + vf))
	skipped=$((skipped + vs))
	echo "# $name: $vp passed, $vf failed, $vs skipped"
	if ((vf)); then
		failures+=("$name: $vf failed (see $vm_log):")
		# Name each one here too: CI shows only the end of this output.
		while IFS= read -r line; do
			failures+=("  $line")
		done < <(tr -d '\r' <"$vm_log" | grep -a -E '^[A-Za-z0-9_.]+: (not ok|# dmesg: )' | head -n 40)
	fi
	if ((rc != 0 && vf == 0)); then
		result fail "$name: run-vm.sh exited $rc"
	fi
	return 0
}

t0=$(now)
echo "# phase 4: VM tests (tests/vm/run-vm.sh)"
if [[ ${SVMIG_SKIP_VM:-0} == 1 ]]; then
	result skip "VM tests" "SVMIG_SKIP_VM=1"
elif [[ ! -f kmod/svmig.ko ]]; then
	result fail "VM tests: kmod/svmig.ko was not built"
else
	vm_phase "VM tests" vm
fi
timing "VM tests" "$t0"

t0=$(now)
echo "# phase 5: VM tests without a TPM (tests/vm/run-vm.sh --no-tpm, t_notpm)"
desc="VM tests without a TPM"
if [[ ${SVMIG_SKIP_VM:-0} == 1 ]]; then
	result skip "$desc" "SVMIG_SKIP_VM=1"
elif [[ ! -f kmod/svmig.ko ]]; then
	result fail "$desc: kmod/svmig.ko was not built"
elif [[ ! -x build/tests/vm/t_notpm ]]; then
	result fail "$desc: build/tests/vm/t_notpm was not built"
elif SVMIG_TESTS=t_notpm vm_phase "$desc" vm-notpm --no-tpm --timeout 600; then
	# The boot must really have run t_notpm's checks, not skipped them.
	notpm=$(tr -d '\r' <"$vm_log" | grep -a -c -E '^t_notpm: (not )?ok [0-9]+ ')
	if tr -d '\r' <"$vm_log" | grep -a -q -E '^t_notpm: 1\.\.0([^0-9]|$)'; then
		result fail "$desc: t_notpm skipped itself (a TPM in the --no-tpm boot?)"
	elif ((notpm == 0)); then
		result fail "$desc: t_notpm reported no results (see $vm_log)"
	fi
fi
timing "VM tests without a TPM" "$t0"

# two_host_phase N SCRIPT DESC: one run of tests/vm/run-two-hosts.sh,
# counted as one test (each host's TAP is in build/vm2/host-*.log).
# Each host's console and results are kept in build/check/two-hosts-NAME/
# (the next phase empties build/vm2/).
two_host_phase() {
	local name log t0 keep counts h badskips

	name=$(basename "$2" .sh)
	log=$LOGDIR/two-hosts-$name.log
	keep=$LOGDIR/two-hosts-$name
	echo "# phase $1: two hosts, $2 (tests/vm/run-two-hosts.sh)"
	t0=$(now)
	if [[ ${SVMIG_SKIP_VM:-0} == 1 ]]; then
		result skip "$3" "SVMIG_SKIP_VM=1"
		return
	fi
	tests/vm/run-two-hosts.sh --timeout 900 --script "$2" >"$log" 2>&1
	local rc=$?
	rm -rf "$keep"
	cp -r build/vm2 "$keep" 2>/dev/null
	counts=
	for h in host-a host-b; do
		counts+=" $h $(grep -c '^ok ' "$keep/$h.log" 2>/dev/null) ok,"
		counts+=" $(grep '^not ok ' "$keep/$h.log" 2>/dev/null | grep -vc '# TODO') not ok,"
		counts+=" $(grep -c '^not ok .*# TODO' "$keep/$h.log" 2>/dev/null) todo;"
		grep '^not ok ' "$keep/$h.log" 2>/dev/null | grep -v '# TODO' | sed "s/^/#   $h: /"
	done
	badskips=$(grep -a -h -E '^ok .*#[[:space:]]*[Ss][Kk][Ii][Pp]' "$keep/host-a.log" "$keep/host-b.log" 2>/dev/null |
		grep -v -E '#[[:space:]]*[Ss][Kk][Ii][Pp][[:alpha:]]*[[:space:]]+machine:')
	if [[ -n $badskips ]]; then
		result fail "$3: skips that do not name what the machine lacks"
		printf '%s\n' "$badskips" | sed 's/^/#   /'
	fi
	if ((rc == 0)); then
		result pass "$3 (${counts# })"
	else
		result fail "$3 (${counts# })" "see $log and $keep/"
		for h in host-a host-b; do
			while IFS= read -r line; do
				failures+=("  $h: $line")
			done < <(grep -a '^not ok ' "$keep/$h.log" 2>/dev/null | grep -v '# TODO' | head -n 20)
		done
		failures+=("  run-two-hosts.sh exited $rc; its last lines:")
		while IFS= read -r line; do
			failures+=("    $line")
		done < <(tail -n 8 "$log" 2>/dev/null)
	fi
	timing "$3" "$t0"
}

# Phase 6: two test VMs ("hosts"), each with its own TPM, on one network;
# phase 7: a migration between them through svmigd, svmig.ko and TPM-rooted
# keys, with a refusal, a failure and a replay.
two_host_phase 6 tests/vm/t2_smoke.sh "two-host harness: own TPMs, network, rendezvous"
two_host_phase 7 tests/vm/t2_migrate.sh \
	"svmigd: attested migration host-a -> host-b, refusal, failure, replay, audit"
# Phase 8: failures mid-migration: tampered data, the target's svmigd
# killed, the source's svmigd killed (its journal resumes the VM), the
# source killed in doubt after its COMMIT (the target's signed OUTCOME
# settles it, either way), the target's PCRs off the reference.
two_host_phase 8 tests/vm/t2_failures.sh \
	"svmigd: tampered data, target killed, source killed (in DATA, in doubt), PCRs off: one copy runs"
# Phase 8b: recovery that cannot split the VM: a destination QEMU without
# -S killed before its END verifies (never runs), a receipt whose counts
# differ from what was sent (refused, no COMMIT), the target killed
# between its journal's "resumed" and its cont (a QMP failure on the
# source settles nothing; the target's successor resumes, the source's
# asks and quits), and an operator's svmigctl settle.
two_host_phase 8b tests/vm/t2_recovery.sh \
	"svmigd: recovery (no -S destination, miscounted receipt, target killed before cont, settle): one copy runs"
# Phase 9: every refusal (request signature and operator CA, host
# certificate and name, roles, admission limits, a tampered policy) leaves
# the source VM running and nothing started on the target.
two_host_phase 9 tests/vm/t2_refusals.sh \
	"svmigd: refusals (request, TLS, role, admission, policy): source runs on, target untouched"
# Phase 9b: svmigd serves connections in parallel within its limits: idle
# and over-the-limit connections, svmigctl status meanwhile, a 1 MiB frame
# from a host outside the policy, and A->B with B->A at once while idle
# connections are held open on both hosts.
two_host_phase 9b tests/vm/t2_concurrency.sh \
	"svmigd: concurrency (idle connections, per-address limit, pre-auth frame limit, A->B and B->A at once)"
# Phase 9c: libvirt drives the migration (tests/vm/t2_libvirt.sh): a real
# libvirtd on each host, svmigd's relay carrying QEMU's stream and return
# path through two svmig channels; a refusal by policy before libvirt
# starts, tampered data and a tampered return path (libvirt fails, the VM
# runs on host-a only), a live migration host-a -> host-b whose guest keeps
# checking itself, and a multifd one (2 channels) of a VM with a vTPM.
two_host_phase 9c tests/vm/t2_libvirt.sh \
	"libvirt: live and multifd (vTPM) migrations through svmig's relay; policy refusal first; tampered stream and return path refused"
# Phase 9d: AK provenance: the AK's full public area travels and is
# checked; an AK made in the TPM without "restricted" (enrolled all the
# same) is refused at attestation, naming the attribute; the honest AKs
# are trusted.
two_host_phase 9d tests/vm/t2_akprov.sh \
	"svmigd: AK provenance (public area checked, an unrestricted AK refused)"
# Phase 9e: the policy bound to the TPM (tests/vm/t2_policy.sh): each host's
# swtpm holds the authority and a counter of the highest policy serial;
# hosts with different policies refuse each other naming both (serial,
# digest), an older signed policy is refused on SIGHUP and at restart
# (the TPM remembers), an expired one too, and svmigctl tpm-policy reads
# the binding.
two_host_phase 9e tests/vm/t2_policy.sh \
	"svmigd: policy bound to the TPM (older policy refused, different policies refused by name, SIGHUP, expiry)"
# Phase 9f: audit that holds for a third party, and admission that counts
# what runs: a VM running on host-b makes a migration exceed its limit
# (refused at ADMIT, no VM byte moved); after a migration each host's log
# keeps the peer's signed messages and re-verifies them offline (--peer),
# reaches the head its peer keeps (--anchor), and a cut tail or a log
# rolled back with its head is detected.
two_host_phase 9f tests/vm/t2_audit.sh \
	"svmigd: audit evidence re-checked offline, cut tail and rollback detected; admission counts running VMs"
# Phase 10: installable on a host (tests/install/run-install-test.sh): the
# Debian packages build and pass lintian, make install/uninstall lay out
# and remove every file, dpkg -i on a fresh root of this host has DKMS
# build svmig.ko for the test VM's kernel, and in the test VM on that root
# the module loads through modules-load.d, udev gives /dev/svmig group
# svmig and mode 0660, a VMM built with pkg-config links the installed
# libsvmig.so.0 and works only with the group, systemd-analyze verify
# accepts the unit, the tools answer as documented, dpkg --purge removes
# it all.  One result per check.
t0=$(now)
echo "# phase 10: install (tests/install/run-install-test.sh)"
ninst=0
if [[ ${SVMIG_SKIP_VM:-0} == 1 ]]; then
	result skip "install test" "SVMIG_SKIP_VM=1"
else
	while IFS= read -r line; do
		if [[ $line =~ ^ok\ [0-9]+\ -\ (.*)$ ]]; then
			ninst=$((ninst + 1))
			result pass "install: ${BASH_REMATCH[1]}"
		elif [[ $line =~ ^not\ ok\ [0-9]+\ -\ (.*)$ ]]; then
			ninst=$((ninst + 1))
			result fail "install: ${BASH_REMATCH[1]}"
		else
			echo "$line"
		fi
	done < <(tests/install/run-install-test.sh --timeout 900 2>&1)
	((ninst)) || result fail "install test: no result from tests/install/run-install-test.sh"
fi
timing "install test ($ninst checks)" "$t0"
timing "total" "$t_all"

if ((${#failures[@]})); then
	echo "# failed:"
	printf '#   %s\n' "${failures[@]}"
fi
summary="$passed passed, $failed failed"
((skipped)) && summary+=", $skipped skipped"
echo "$summary"
if ((failed > 0 || passed + failed == 0)); then
	exit 1
fi
exit 0
