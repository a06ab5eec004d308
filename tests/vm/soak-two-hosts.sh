#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The migration soak: the script both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/soak-two-hosts.sh --timeout T
# run (tests/vm/soak.sh, `make soak`, drives it).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".
#
# One live, self-checking test guest (web-1) is migrated by svmigd
# $SVMIG_SOAK_MIGRATIONS times (default 100), back and forth: migration i
# goes host-a -> host-b for odd i, host-b -> host-a for even i.  Each time
# the source host runs `svmigctl request` (alice, a fresh nonce) and
# `svmigctl migrate`; the host that will receive the guest next starts a
# fresh destination QEMU (-incoming defer) for it.  The setup (PKI, AKs,
# signed policy, svmigd on both) is t2_migrate.sh's, through
# tests/vm/svmigd-lib.sh; the policy's migrator role here allows both
# directions.
#
# After every migration, on both hosts:
#   - the migration: svmigctl migrate exits 0, the source QEMU is gone, the
#     destination's QEMU is running, and (sum of both hosts' QEMU processes)
#     exactly one copy of the guest runs; before the guest moves on, its new
#     host sees it pass a self-check (a migration that lost or corrupted
#     memory shows up as "selfcheck FAIL");
#   - kmemleak: a scan finds nothing new (only on a kernel with
#     CONFIG_DEBUG_KMEMLEAK; on Debian's stock kernel the column says n/a);
#   - svmig's kernel footprint: /sys/module/svmig/refcnt and the pages held
#     pinned (/proc/vmstat nr_foll_pin_acquired - released) equal their
#     values before the first migration, exactly; svmig has no slab cache
#     of its own (checked: none in /proc/slabinfo), so its objects are in
#     the kmalloc caches, watched through /proc/meminfo's SUnreclaim;
#   - svmigd: open fds and VmRSS;
#   - svmigctl audit verify on this host's audit log.
# From the third migration on, the source first replays the request of its
# own previous migration: the target must refuse it (a failure path through
# TLS, attestation and the refusal, soaked as well) and the VM runs on.
# Bounds, after a warm-up of W migrations (SVMIG_SOAK_WARMUP, default 5,
# at most half the run): svmigd's fds never exceed the warm-up's maximum;
# its VmRSS never exceeds the warm-up's maximum by more than
# SVMIG_SOAK_RSS_SLACK_KIB (default 1024); SUnreclaim never exceeds the
# warm-up's maximum by more than SVMIG_SOAK_SLAB_SLACK_KIB (default 8192:
# nested QEMUs come and go in the same kernel).
# Figures: $SVMIG_RESULTS_DIR/soak.tsv, one line per migration.  At the
# end each svmigd must exit 0 on SIGTERM, dmesg must be clean and
# `rmmod svmig` must work.
set -uo pipefail
export LC_ALL=C

if [[ -z ${SVMIG_HOST:-} ]]; then
	echo "1..0 # SKIP not a two-host run (tests/vm/run-two-hosts.sh)"
	exit 0
fi
cd "${SVMIG_WORKTREE:?}" || exit 1
# shellcheck source=tests/vm/qemu-lib.sh
. tests/vm/qemu-lib.sh
# shellcheck source=tests/vm/svmigd-lib.sh
. tests/vm/svmigd-lib.sh
# shellcheck source=tests/vm/soak-lib.sh
. tests/vm/soak-lib.sh

# SVMIG_SOAK_SVMIGD: another svmigd build of the work tree (tests/vm/soak.sh
# passes build/asan/svmigd with SOAK_ASAN=1: LeakSanitizer then reports at
# exit whatever the migrations leaked, and the RSS bound, which ASan's
# quarantine would break, is not checked)
asan=0
if [[ -n ${SVMIG_SOAK_SVMIGD:-} ]]; then
	SVMIGD=$PWD/$SVMIG_SOAK_SVMIGD
	asan=1
	export ASAN_OPTIONS=detect_leaks=1:exitcode=23 UBSAN_OPTIONS=print_stacktrace=1
fi
N=${SVMIG_SOAK_MIGRATIONS:-100}
W=${SVMIG_SOAK_WARMUP:-5}
RSS_SLACK=${SVMIG_SOAK_RSS_SLACK_KIB:-1024}
SLAB_SLACK=${SVMIG_SOAK_SLAB_SLACK_KIB:-8192}
((W > N / 2)) && W=$((N / 2))
VM=web-1
T=$(mktemp -d /tmp/soak.XXXXXX)
STATE=$T/state
QMPDIR=$T/qmp
TSV=$RES/soak.tsv
DMESG_BAD='BUG:|WARNING:|Oops|general protection|lockdep|possible circular|refcount_t:|kmemleak|UBSAN|KASAN|Call Trace'

# shellcheck source=tests/vm/t2-tap.sh
. tests/vm/t2-tap.sh
T2_FINISH_RENDEZVOUS=1
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	trap - EXIT
	svmigd_stop
	[[ -f $STATE/audit.log ]] && cp "$STATE/audit.log" "$RES/audit.log"
	QEMU_LIB_LOGDIR=$RES/qemu qemu_cleanup
	rm -rf "$T"
}
QEMU_LIB_NO_TRAP=1
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Running (not zombie) QEMU processes on this host.
qemu_count() { ps -eo stat=,comm= | awk '$2 ~ /^qemu-system/ && $1 !~ /^Z/ { n++ } END { print n + 0 }'; }

echo "# soak-two-hosts on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER: $N migrations, warm-up $W"
((asan)) && echo "# svmigd: $SVMIGD (ASan/UBSan/LSan build; VmRSS not bounded)"

# ------------------------------------------------------------ environment
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "${out:-}"
[[ -x $SVMIGD && -x $SVMIGCTL ]] || bail "build/svmigd and build/svmigctl built (make userspace)"
mkdir -p "$STATE" "$QMPDIR" "$T/pki"
dmesg -C
if soak_kmemleak_init; then
	leakcheck=1
	echo "# kmemleak: on, a scan after every migration"
else
	leakcheck=0
	echo "# kmemleak: this kernel has none (CONFIG_DEBUG_KMEMLEAK off): not checked"
fi

if [[ $SVMIG_HOST == host-a ]]; then
	check "test PKI made with openssl" svmigd_pki "$RES/pki"
	svmig_rdv_post pki "$RES/pki"
else
	svmig_rdv_wait pki >/dev/null || bail "host-a's PKI"
fi
cp "$A_RES"/pki/*.pem "$A_RES"/pki/*.key "$T/pki/" 2>/dev/null
[[ -f $T/pki/$SVMIG_HOST.pem ]] || bail "PKI files readable" "$(ls "$A_RES/pki" 2>&1)"

ak=$("$SVMIGCTL" tpm-ak --tcti "$TCTI" --pcrs 0,7 --json 2>&1)
[[ $(svmigd_jfield "$ak" ak_sha256) =~ ^[0-9a-f]{64}$ ]] || bail "svmigctl tpm-ak" "$ak"
svmig_rdv_post ak "$ak"
peer_ak=$(svmig_rdv_wait ak) || bail "$SVMIG_PEER's AK"
if [[ $SVMIG_HOST == host-a ]]; then
	# t2_migrate's policy, with alice's role opened to both directions
	svmigd_policy "$T/policy0.json" "$ak" "$peer_ak" "$T/pki/alice.pem" "$T/pki/bob.pem" &&
		jq '.roles.migrator.sources = ["host-a", "host-b"] |
			.roles.migrator.targets = ["host-a", "host-b"]' \
			"$T/policy0.json" >"$RES/policy.json" &&
		openssl dgst -sha256 -sign "$T/pki/authority.key" \
			-out "$RES/policy.json.sig" "$RES/policy.json"
	check "policy.json (alice: web-* both ways) written and signed" test -s "$RES/policy.json.sig"
	svmig_rdv_post policy
else
	svmig_rdv_wait policy >/dev/null || bail "host-a's policy"
fi
cp "$A_RES/policy.json" "$A_RES/policy.json.sig" "$T/" || bail "policy readable"

svmigd_start "$RES/svmigd.log" || bail "svmigd starts" "$(tail -n 5 "$RES/svmigd.log")"
ok 1 "svmigd runs (pid $daemon_pid)"

qemu_lib_init || bail "qemu_lib_init"
# The QEMU that holds web-1 on this host ("" when it is on the peer).
cur=
start_incoming() { # I: the destination QEMU of migration I
	qemu_start "vm$1" --guest --mem 64 --incoming || return 1
	ln -sfn "$(qemu_qmp_sock "vm$1" 2)" "$QMPDIR/$VM.qmp"
}
if [[ $SVMIG_HOST == host-a ]]; then
	if qemu_start vm0 --guest --mem 64 --append "pages=512 burst=128" &&
		qemu_wait_serial vm0 '^selfcheck ok iter=2 ' 600 && ! qemu_guest_failed vm0; then
		ok 1 "the first source QEMU runs the self-checking guest"
	else
		bail "the first source QEMU runs the self-checking guest" "$(qemu_dump_logs vm0 2>&1)"
	fi
	ln -sfn "$(qemu_qmp_sock vm0 2)" "$QMPDIR/$VM.qmp"
	cur=vm0
else
	start_incoming 1 || bail "destination QEMU for migration 1" "$(qemu_dump_logs vm1 2>&1)"
	svmig_rdv_post ready.1
fi

# ------------------------------------------------------------- baselines
ref0=$(soak_refcnt)
pins0=$(soak_pins)
slab=$(soak_slab)
ok "$([[ $slab == none ]] && echo 1 || echo 0)" "svmig has no slab cache of its own (objects in kmalloc caches)" "$slab"
echo "# baseline: refcnt $ref0, pinned pages $pins0, SUnreclaim $(soak_meminfo SUnreclaim) KiB," \
	"svmigd fds $(soak_fds "$daemon_pid"), VmRSS $(soak_rss "$daemon_pid") KiB"
printf 'i\tdir\trole\tmig_s\tfds\trss_kib\trefcnt\tpins\tsunreclaim_kib\tkmemleak\taudit\tqemus\n' >"$TSV"
svmig_rdv_sync baseline >/dev/null || bail "$SVMIG_PEER's baseline"

max_fds=0 max_rss=0 max_slab=0
for ((i = 1; i <= N; i++)); do
	if ((i % 2)); then src=host-a dst=host-b; else src=host-b dst=host-a; fi
	role=dst mig_s=-
	if [[ $SVMIG_HOST == "$src" ]]; then
		role=src
		# The guest passed a self-check here before it moves on.
		if ! qemu_wait_serial "$cur" '^selfcheck (ok iter=[0-9]+ |FAIL)' 600 ||
			qemu_guest_failed "$cur"; then
			bail "migration $i: the guest passes a self-check on $SVMIG_HOST first" \
				"$(qemu_dump_logs "$cur" 2>&1)"
		fi
		svmig_rdv_wait "ready.$i" >/dev/null || bail "migration $i: $dst's destination QEMU"
		# A failure path too: the request this host's last migration used,
		# replayed, is refused by the target after the TLS handshake.
		if [[ -f $T/req-prev.json ]]; then
			timeout 120 "$SVMIGCTL" migrate --config "$T/svmigd.conf" \
				--request "$T/req-prev.json" >"$T/replay.txt" 2>&1
			rc=$?
			st=$(qemu_qmp "$cur" query-status 2>&1)
			ok "$([[ $rc == 1 && $(qemu_json_str "$st" status) == running ]] &&
				grep -q replay "$T/replay.txt" && echo 1 || echo 0)" \
				"migration $i: first, the previous request replayed is refused, the VM runs on" \
				"svmigctl exit $rc: $(tail -n 3 "$T/replay.txt")" "$st"
		fi
		"$SVMIGCTL" request --vm "$VM" --source "$src" --target "$dst" --mem 64 --vcpus 1 \
			--cert "$T/pki/alice.pem" --key "$T/pki/alice.key" --out "$T/req.json" \
			>"$T/request.txt" 2>&1 || bail "migration $i: svmigctl request" "$(cat "$T/request.txt")"
		t0=$(date +%s.%N)
		timeout 600 "$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req.json" \
			>"$T/migrate.txt" 2>&1
		rc=$?
		mig_s=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
		cp "$T/migrate.txt" "$RES/migrate-last.txt"
		gone=0
		for _ in $(seq 200); do
			qemu_alive "$cur" || { gone=1; break; }
			sleep 0.1
		done
		ok "$([[ $rc == 0 && $gone == 1 ]] && echo 1 || echo 0)" \
			"migration $i $src -> $dst: svmigctl migrate exits 0 in ${mig_s}s, the source QEMU quit" \
			"svmigctl exit $rc, source alive: $((!gone))" "$(tail -n 5 "$T/migrate.txt")"
		((rc == 0 && gone)) || bail "migration $i"
		cur=
		mv "$T/req.json" "$T/req-prev.json"
		svmig_rdv_post "mig.$i" "$mig_s"
	else
		mig_s=$(svmig_rdv_wait "mig.$i" 900) || bail "migration $i: $src's migration"
		cur=vm$i
		qemu_wait_status "$cur" running 30
		st=$(qemu_qmp "$cur" query-status 2>&1)
		ok "$([[ $(qemu_json_str "$st" status) == running ]] && ! qemu_guest_failed "$cur" && echo 1 || echo 0)" \
			"migration $i $src -> $dst: the destination VM runs" "$st"
	fi

	# ---- resources, after the migration
	fds=$(soak_fds "$daemon_pid")
	rss=$(soak_rss "$daemon_pid")
	ref=$(soak_refcnt)
	pins=$(soak_pins)
	sunr=$(soak_meminfo SUnreclaim)
	leak=n/a
	((leakcheck)) && leak=$(soak_kmemleak "$RES/kmemleak-$i.txt")
	"$SVMIGCTL" audit verify --log "$STATE/audit.log" --cert "$T/pki/$SVMIG_HOST.pem" \
		>"$T/audit.txt" 2>&1
	arc=$?
	audit=$([[ $arc == 0 ]] && echo ok || echo broken)
	nq=$(qemu_count)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$src>$dst" "$role" "$mig_s" \
		"$fds" "$rss" "$ref" "$pins" "$sunr" "$leak" "$audit" "$nq" >>"$TSV"
	echo "# soak $i $src->$dst $role: ${mig_s}s fds $fds rss ${rss}KiB refcnt $ref pins $pins" \
		"SUnreclaim ${sunr}KiB kmemleak $leak audit $audit qemus $nq"

	svmig_rdv_post "stat.$i" "$nq"
	peer_nq=$(svmig_rdv_wait "stat.$i") || bail "migration $i: $SVMIG_PEER's figures"
	ok "$([[ $((nq + peer_nq)) == 1 && ( ($role == dst && $nq == 1) || ($role == src && $nq == 0) ) ]] &&
		echo 1 || echo 0)" "migration $i: exactly one copy runs (QEMUs: here $nq, $SVMIG_PEER $peer_nq)" \
		"$(pgrep -a qemu-system)"
	ok "$((arc == 0))" "migration $i: svmigctl audit verify" "$(cat "$T/audit.txt")"
	bad=()
	[[ $ref == "$ref0" ]] || bad+=("svmig refcnt $ref, was $ref0 before the first migration")
	[[ $pins == "$pins0" ]] || bad+=("pinned pages $pins, were $pins0 before the first migration")
	[[ $leak == leak ]] && bad+=("kmemleak: $(head -n 20 "$RES/kmemleak-$i.txt")")
	if ((i <= W)); then
		((fds > max_fds)) && max_fds=$fds
		((rss > max_rss)) && max_rss=$rss
		((sunr > max_slab)) && max_slab=$sunr
	else
		((fds > max_fds)) && bad+=("svmigd fds $fds > warm-up maximum $max_fds")
		((!asan && rss > max_rss + RSS_SLACK)) &&
			bad+=("svmigd VmRSS ${rss} KiB > warm-up maximum $max_rss + $RSS_SLACK KiB")
		((sunr > max_slab + SLAB_SLACK)) &&
			bad+=("SUnreclaim ${sunr} KiB > warm-up maximum $max_slab + $SLAB_SLACK KiB")
	fi
	ok "$((${#bad[@]} == 0))" "migration $i: no leak or growth (refcnt, pins, kmemleak $leak, fds, RSS, SUnreclaim)" \
		"${bad[@]}"

	# ---- the next migration's destination: the host the guest just left
	if [[ $role == src ]] && ((i < N)); then
		start_incoming $((i + 1)) ||
			bail "destination QEMU for migration $((i + 1))" "$(qemu_dump_logs "vm$((i + 1))" 2>&1)"
		svmig_rdv_post "ready.$((i + 1))"
	fi
done

# ------------------------------------------------------------------- end
if [[ -n $cur ]]; then
	if qemu_wait_serial "$cur" '^selfcheck (ok iter=[0-9]+ |FAIL)' 600 && ! qemu_guest_failed "$cur"; then
		ok 1 "after $N migrations the guest passes its self-checks on $SVMIG_HOST"
	else
		ok 0 "after $N migrations the guest passes its self-checks" "$(qemu_dump_logs "$cur" 2>&1)"
	fi
fi
svmig_rdv_sync soaked 600 >/dev/null
if [[ -n $daemon_pid ]]; then
	kill -TERM "$daemon_pid" 2>/dev/null
	wait "$daemon_pid"
	src=$?
	daemon_pid=
	ok "$((src == 0))" "svmigd exits 0 on SIGTERM" "exit $src" "$(tail -n 5 "$RES/svmigd.log")"
fi
grep -Eiq 'AddressSanitizer|LeakSanitizer|runtime error:' "$RES/svmigd.log"
ok "$?" "no sanitizer report in svmigd's log" "$(grep -Ei -A25 'Sanitizer|runtime error:' "$RES/svmigd.log" | head -n 60)"
QEMU_LIB_LOGDIR=$RES/qemu qemu_cleanup
dmesg >"$RES/dmesg.txt" 2>&1
hits=$(grep -E "$DMESG_BAD" "$RES/dmesg.txt")
ok "$([[ -z $hits ]] && echo 1 || echo 0)" "dmesg clean" "$hits"
out=$(rmmod svmig 2>&1)
ok "$((! $?))" "rmmod svmig" "$out"
finish
