#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# svmigd serves its connections in parallel, within limits: the script
# both guests of
#   tests/vm/run-two-hosts.sh --script tests/vm/t2_concurrency.sh --timeout 900
# run (SVMIG_HOST says which).  TAP on the console, then
# "SVMIG-GUEST-RESULT: pass|fail".  Setup as t2_migrate.sh (svmigd-lib.sh),
# with a policy whose role "migrator" lets alice migrate web-* both ways,
# and svmigd.conf [connections] max_unauth_per_address = 8,
# preauth_timeout_s = 8.
#
# On host-b, against its own svmigd (from its own address, 10.99.0.2):
#   a. 10 idle TCP connections to the control port (bash /dev/tcp): 8 stay
#      open, the 2 over the per-address limit are closed at once;
#   b. svmigctl status answers while the 8 are open, and they are still
#      open after it (it was not served after them);
#   c. svmigd closes the 8 once the pre-authentication time is over;
#   d. host-c (a certificate of a trusted CA, CN not a host of the policy)
#      sends a 1 MiB frame header and body right after the TLS handshake:
#      svmigd refuses it and closes the connection, and its peak RSS
#      (VmHWM after clear_refs) stays within 16 MiB of its RSS before.
# Then, on both hosts at once, each keeping 8 idle connections open to its
# own svmigd all along (re-opened as svmigd closes them):
#   e. host-a migrates web-1 to host-b while host-b migrates web-2 to
#      host-a (A->B and B->A at the same time): both succeed, both
#      destinations run, both sources quit;
#   f. the idle connections were held throughout (the keepers ran);
#   g. host-a migrates web-2 back to host-b, and host-b's svmigd gets
#      SIGTERM as soon as that session is established: it closes its
#      control port at once, lets the migration finish (it succeeds,
#      web-2 runs on host-b), and exits 0 within the unit's 45 s.
# Without threads (one connection at a time, 30 s per idle handshake)
# b, c, d and e fail.
# Logs: $SVMIG_RESULTS_DIR/{svmigd.log,audit.log,migrate.txt,...}.
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

T=$(mktemp -d /tmp/t2c.XXXXXX)
STATE=$T/state
QMPDIR=$T/qmp
PER_ADDR=8
PREAUTH=8
SVMIGD_CONF_EXTRA="[connections]
max_unauth_per_address = $PER_ADDR
preauth_timeout_s = $PREAUTH"
keepers=()

# shellcheck source=tests/vm/t2-tap.sh
. tests/vm/t2-tap.sh
T2_FINISH_RENDEZVOUS=1
T2_CLEANUP=cleanup
# shellcheck disable=SC2317 # called from the EXIT trap and t2_host_checks
cleanup() {
	trap - EXIT
	keepers_stop
	svmigd_stop
	[[ -f $STATE/audit.log ]] && cp "$STATE/audit.log" "$RES/audit.log"
	QEMU_LIB_LOGDIR=$RES/qemu qemu_cleanup
	rm -rf "$T"
}
QEMU_LIB_NO_TRAP=1
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The control port of our own svmigd.
CTL=/dev/tcp/$SVMIG_ADDR/$CTL_PORT

# still_open FD: the connection neither closed nor sent anything (yet)
still_open() {
	local _
	read -r -t 0.05 -u "$1" _
	(($? > 128))
}

# keeper N: holds one idle connection to our svmigd, again and again
# (svmigd closes it after the pre-authentication time), until $T/stop;
# counts the connections it opened in $T/keeper.N
# shellcheck disable=SC2317 # run in the background
keeper() {
	local n=0 fd _
	while [[ ! -e $T/stop ]]; do
		if exec {fd}<>"$CTL"; then
			n=$((n + 1))
			echo "$n" >"$T/keeper.$1"
			read -r -t 30 -u "$fd" _
			exec {fd}<&-
		else
			sleep 0.2
		fi
	done
}

keepers_start() {
	local i
	rm -f "$T/stop"
	for i in $(seq "$PER_ADDR"); do
		keeper "$i" &
		keepers+=($!)
	done
}

keepers_stop() {
	local p
	touch "$T/stop" 2>/dev/null
	for p in "${keepers[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	keepers=()
}

echo "# t2_concurrency on $SVMIG_HOST ($SVMIG_ADDR), peer $SVMIG_PEER ($SVMIG_PEER_ADDR)"

# ------------------------------------------------------------ environment
out=$(svmigd_load_module) || bail "/dev/svmig (insmod kmod/svmig.ko)" "${out:-}"
[[ -x $SVMIGD && -x $SVMIGCTL ]] || bail "build/svmigd and build/svmigctl built (make userspace)"
mkdir -p "$STATE" "$QMPDIR" "$T/pki"

# ------------------------------------------------------- PKI, TPM, policy
# alice's role, both ways (svmigd_trust_policy runs it on host-a)
svmigd_policy_edit() {
	sed -i 's/"migrator": { "vms": \["web-\*"\], "sources": \["host-a"\], "targets": \["host-b"\] }/"migrator": { "vms": ["web-*"], "sources": ["host-a", "host-b"], "targets": ["host-a", "host-b"] }/' \
		"$1" &&
		grep -q '"sources": \["host-a", "host-b"\]' "$1"
}
svmigd_trust_pki >"$T/trust.txt" || bail "test PKI made with openssl, shared" "$(cat "$T/trust.txt")"
[[ $SVMIG_HOST == host-a ]] && ok 1 "test PKI made with openssl"
{ svmigd_trust_ak && svmigd_trust_policy; } >"$T/trust.txt" ||
	bail "AKs and the policy (alice: web-* both ways), signed" "$(cat "$T/trust.txt")"
[[ $SVMIG_HOST == host-a ]] && ok 1 "policy.json (alice: web-* both ways) written and signed"

svmigd_start "$RES/svmigd.log" || bail "svmigd starts and answers svmigctl status" "$(tail -n 5 "$RES/svmigd.log")"
ok 1 "svmigd runs ([connections] max_unauth_per_address = $PER_ADDR, preauth_timeout_s = $PREAUTH)"

# ------------------------------------------------------------------- QEMU
# Each host: the source of one VM and the destination of the other.
if [[ $SVMIG_HOST == host-a ]]; then
	OUT=web-1 IN=web-2
	qemu_lib_init || bail "qemu_lib_init"
	svmig_rdv_post accel "$QEMU_ACCEL"
else
	OUT=web-2 IN=web-1
	QEMU_ACCEL=$(svmig_rdv_wait accel) || bail "host-a's accelerator"
	qemu_lib_init || bail "qemu_lib_init"
fi
if qemu_start dst --guest --mem 64 --incoming; then
	ok 1 "destination QEMU for $IN waits (-incoming defer, accel $QEMU_ACCEL)"
else
	bail "destination QEMU for $IN waits" "$(qemu_dump_logs dst 2>&1)"
fi
ln -s "$(qemu_qmp_sock dst 2)" "$QMPDIR/$IN.qmp"
if qemu_start src --guest --mem 64 --append "pages=512 burst=128" &&
	qemu_wait_serial src '^selfcheck ok iter=2 ' 120 && ! qemu_guest_failed src; then
	ok 1 "source QEMU of $OUT runs the self-checking guest"
else
	bail "source QEMU of $OUT runs the self-checking guest" "$(qemu_dump_logs src 2>&1)"
fi
ln -s "$(qemu_qmp_sock src 2)" "$QMPDIR/$OUT.qmp"
svmig_rdv_post vms-ready
svmig_rdv_wait vms-ready 300 >/dev/null || bail "$SVMIG_PEER's QEMUs"

# ------------------------------------------ host-b: limits before the peer is known
if [[ $SVMIG_HOST == host-b ]]; then
	# a. more than the per-address limit
	fds=()
	for _ in $(seq $((PER_ADDR + 2))); do
		exec {fd}<>"$CTL" && fds+=("$fd")
	done
	sleep 0.5
	open=0 shut=0
	for fd in "${fds[@]}"; do
		if still_open "$fd"; then open=$((open + 1)); else shut=$((shut + 1)); fi
	done
	ok "$((open == PER_ADDR && shut == 2))" \
		"a: $((PER_ADDR + 2)) idle connections from one address: $PER_ADDR stay open, 2 are closed at once" \
		"open $open, closed $shut" "$(grep 'refused: too many' "$RES/svmigd.log" | tail -n 2)"
	# b. svmigctl status while they are open
	t0=$(date +%s%N)
	out=$(timeout 60 "$SVMIGCTL" status --config "$T/svmigd.conf" 2>&1)
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	still=0
	for fd in "${fds[@]}"; do
		still_open "$fd" && still=$((still + 1))
	done
	echo "# svmigctl status with $open idle connections open: $ms ms"
	ok "$((rc == 0 && still == open && open > 0))" \
		"b: svmigctl status answers while the idle connections are open ($ms ms; $still of $open still open after it)" \
		"exit $rc: $out"
	# c. svmigd closes them after the pre-authentication time
	shut=0
	for fd in "${fds[@]}"; do
		read -r -t $((PREAUTH + 10)) -u "$fd" _
		(($? <= 128)) && shut=$((shut + 1))
		exec {fd}<&-
	done
	ok "$((shut == ${#fds[@]}))" \
		"c: svmigd closes idle connections after the pre-authentication time ($PREAUTH s): $shut of ${#fds[@]}" \
		"$(grep -c 'TLS handshake with a client: timed out' "$RES/svmigd.log") handshakes timed out"

	# d. a 1 MiB frame from a host the policy does not know
	(cd "$T/pki" && printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
		extendedKeyUsage=serverAuth,clientAuth subjectAltName=DNS:host-c >host-c.ext &&
		openssl ecparam -name prime256v1 -genkey -noout -out host-c.key &&
		openssl req -new -key host-c.key -subj /CN=host-c -out host-c.csr &&
		openssl x509 -req -in host-c.csr -CA ca-b.pem -CAkey ca-b.key -CAcreateserial \
			-days 2 -sha256 -extfile host-c.ext -out host-c.pem) >"$T/host-c.txt" 2>&1 ||
		bail "host-c's certificate (ca-b)" "$(cat "$T/host-c.txt")"
	# {"type":"REQUEST","x":[[],[],...]}: 1048575 bytes, each [] a JSON
	# object to a parser
	{
		printf '\x00\x0f\xff\xff{"type":"REQUEST","x":['
		yes '[],' | tr -d '\n' | head -c $((3 * 349516))
		printf '[]]}'
	} >"$T/frame.bin"
	pid=$daemon_pid
	rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	echo 5 >"/proc/$pid/clear_refs"	# VmHWM := VmRSS
	nlog=$(wc -l <"$RES/svmigd.log")
	{ cat "$T/frame.bin"; sleep 8; } |
		timeout 20 openssl s_client -quiet -connect "$SVMIG_ADDR:$CTL_PORT" -servername host-b \
			-cert "$T/pki/host-c.pem" -key "$T/pki/host-c.key" -CAfile "$T/pki/ca-b.pem" \
			>"$T/s_client.txt" 2>&1 &
	sc=$!
	gone=0
	for _ in $(seq 50); do
		sleep 0.2
		tail -n "+$((nlog + 1))" "$RES/svmigd.log" | grep -q 'names no host of the policy' || continue
		# svmigd's side of the connection is gone
		if [[ -z $(ss -Htn state established "( sport = :$CTL_PORT )" 2>/dev/null) ]]; then
			gone=1
			break
		fi
	done
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	wait "$sc" 2>/dev/null
	ok "$gone" "d: host-c (trusted CA, not in the policy) sending a 1 MiB frame is refused and disconnected" \
		"$(tail -n "+$((nlog + 1))" "$RES/svmigd.log" | head -n 5)" \
		"$(ss -Htn state established "( sport = :$CTL_PORT )" 2>&1)"
	echo "# svmigd RSS $rss0 kB before, peak $hwm kB while host-c sent 1 MiB"
	ok "$(((hwm - rss0) < 16 * 1024))" \
		"d: svmigd's peak RSS grew by $(((hwm - rss0) / 1024)) MiB (< 16 MiB) on a 1 MiB frame before authentication" \
		"VmRSS before: $rss0 kB, VmHWM after: $hwm kB"
	svmig_rdv_post b-checked
else
	svmig_rdv_wait b-checked 300 >/dev/null || bail "host-b's checks"
fi

# --------------------------------------- both at once, idle connections held
keepers_start
sleep 1
svmig_rdv_post keepers
svmig_rdv_wait keepers 120 >/dev/null || bail "$SVMIG_PEER's idle connections"
"$SVMIGCTL" request --vm "$OUT" --source "$SVMIG_HOST" --target "$SVMIG_PEER" --mem 64 \
	--vcpus 1 --cert "$T/pki/alice.pem" --key "$T/pki/alice.key" --out "$T/req.json" ||
	bail "svmigctl request ($OUT to $SVMIG_PEER)"
svmig_rdv_post go
svmig_rdv_wait go 120 >/dev/null || bail "$SVMIG_PEER's go"
t0=$SECONDS
timeout 300 "$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req.json" \
	>"$RES/migrate.txt" 2>&1
rc=$?
sed 's/^/# /' "$RES/migrate.txt"
ok "$((rc == 0))" "e: $OUT migrates to $SVMIG_PEER while $SVMIG_PEER migrates $IN here, $PER_ADDR idle connections held open on each ($((SECONDS - t0)) s)" \
	"svmigctl exit $rc: $(tail -n 3 "$RES/migrate.txt")"
svmig_rdv_post migrated "$rc"
svmig_rdv_wait migrated 400 >/dev/null || bail "$SVMIG_PEER's migration"
opened=0
for i in $(seq "$PER_ADDR"); do
	opened=$((opened + $(cat "$T/keeper.$i" 2>/dev/null || echo 0)))
done
alive=0
for p in "${keepers[@]}"; do
	kill -0 "$p" 2>/dev/null && alive=$((alive + 1))
done
ok "$((alive == PER_ADDR && opened >= PER_ADDR))" \
	"f: $alive idle-connection keepers ran throughout ($opened connections opened)"
keepers_stop

st=$(qemu_qmp dst query-status 2>&1)
ok "$([[ $(qemu_json_str "$st" status) == running ]] && echo 1 || echo 0)" \
	"e: $IN arrived from $SVMIG_PEER and runs here" "$st"
first=$(qemu_guest_iter dst)
if [[ -n $first ]] && qemu_wait_serial dst "^selfcheck (ok iter=$((first + 2)) |FAIL)" 120 &&
	! qemu_guest_failed dst; then
	ok 1 "e: $IN's guest keeps passing self-checks here (iteration $first, then $((first + 2)))"
else
	ok 0 "e: $IN's guest keeps passing self-checks here" "$(qemu_dump_logs dst 2>&1)"
fi
gone=0
for _ in $(seq 100); do
	qemu_alive src || { gone=1; break; }
	sleep 0.1
done
ok "$gone" "e: the source QEMU of $OUT quit after the handover"

"$SVMIGCTL" audit verify --log "$STATE/audit.log" --cert "$T/pki/$SVMIG_HOST.pem" \
	>"$T/audit.txt" 2>&1
ok "$((! $?))" "svmigctl audit verify: $(cat "$T/audit.txt")"

# ----------------------------------------- g: SIGTERM while a migration arrives
# host-a migrates web-2 back to host-b; host-b's svmigd gets SIGTERM as soon
# as the session is established: it takes no new connection, lets the
# migration finish, then exits 0, within stop_timeout_s (40 s).
if [[ $SVMIG_HOST == host-b ]]; then
	if qemu_start dst2 --guest --mem 64 --incoming; then
		ln -sf "$(qemu_qmp_sock dst2 2)" "$QMPDIR/web-2.qmp"
	else
		bail "g: a destination QEMU for web-2" "$(qemu_dump_logs dst2 2>&1)"
	fi
	nlog=$(wc -l <"$RES/svmigd.log")
	svmig_rdv_post dst2-ready
	began=0
	for _ in $(seq 1200); do
		tail -n "+$((nlog + 1))" "$RES/svmigd.log" |
			grep -q '^svmigd: session with host-a for vm web-2' && { began=1; break; }
		sleep 0.05
	done
	pid=$daemon_pid
	t0=$SECONDS
	kill -TERM "$pid"
	sleep 1
	# the control port is closed: a new connection is refused
	if (exec 3<>"$CTL") 2>/dev/null; then refused=0; else refused=1; fi
	for _ in $(seq 450); do
		# running, not a zombie waiting to be reaped
		[[ $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) =~ ^[^Z]$ ]] || break
		sleep 0.1
	done
	took=$((SECONDS - t0))
	svmigd_stop	# reaps it, records its exit status (svmigd_exit_checks)
	ok "$((began && refused))" "g: SIGTERM once web-2's session began: the control port takes no new connection" \
		"session seen: $began" "$(tail -n "+$((nlog + 1))" "$RES/svmigd.log" | head -n 20)"
	ok "$((svmigd_rc == 0 && took <= 45))" \
		"g: svmigd let the migration finish, then exited $svmigd_rc after $took s (TimeoutStopSec=45s)" \
		"$(tail -n 8 "$RES/svmigd.log")"
	rc=$(svmig_rdv_wait migrated2 300) || rc=none
	st=$(qemu_qmp dst2 query-status 2>&1)
	ok "$([[ $rc == 0 && $(qemu_json_str "$st" status) == running ]] && echo 1 || echo 0)" \
		"g: the migration host-a -> host-b under way at SIGTERM completed, web-2 runs here" \
		"host-a's svmigctl exit $rc" "$st"
	grep -q 'stopping: waiting up to 40 s for [1-9]' "$RES/svmigd.log"
	ok "$((! $?))" "g: svmigd's log says it waited for the connection at work" \
		"$(grep stopping "$RES/svmigd.log")"
else
	svmig_rdv_wait dst2-ready 120 >/dev/null || bail "host-b's destination QEMU for web-2"
	"$SVMIGCTL" request --vm web-2 --source host-a --target host-b --mem 64 --vcpus 1 \
		--cert "$T/pki/alice.pem" --key "$T/pki/alice.key" --out "$T/req2.json" &&
		timeout 300 "$SVMIGCTL" migrate --config "$T/svmigd.conf" --request "$T/req2.json" \
			>"$RES/migrate2.txt" 2>&1
	rc=$?
	sed 's/^/# /' "$RES/migrate2.txt"
	ok "$((rc == 0))" "g: web-2 migrates to host-b while host-b's svmigd stops (SIGTERM)" \
		"svmigctl exit $rc: $(tail -n 3 "$RES/migrate2.txt")"
	svmig_rdv_post migrated2 "$rc"
fi
echo "# svmigd log (last 40 lines):"
tail -n 40 "$RES/svmigd.log" | sed 's/^/#   /'
finish
