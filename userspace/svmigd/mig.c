// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: one migration's DATA step, either side (struct mig): QEMU over QMP,
 * /dev/svmig's key and counters, the failpoints, the migration's journal
 * entry (journal.h), in the source's or the target's journal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/crypto.h>

#include "daemon_int.h"
#include "util.h"

#define FDNAME		"svmigd"

int qmp_connect_vm(struct mig *m, const char *vm)
{
	char path[1024], err[512];

	if (m->q)
		return 0;
	if (!svmigd_journal_vm_ok(vm))
		return failf(m, "VM name '%s' cannot name a QMP socket", vm);
	snprintf(path, sizeof(path), "%s/%s.qmp", m->d->qmp_dir, vm);
	if (qmp_open(path, QMP_DEFAULT_TIMEOUT_MS, &m->q, err, sizeof(err)))
		return failf(m, "QMP %s: %s", path, err);
	return 0;
}

int qmp_connect(struct mig *m)
{
	return qmp_connect_vm(m, m->s->request.req.vm);
}

int qmp_cmd(struct mig *m, const char *cmd, struct json_object **ret)
{
	if (ret)
		*ret = NULL;
	if (qmp_execute(m->q, cmd, NULL, ret))
		return failf(m, "QMP %s: %s", cmd, qmp_strerror(m->q));
	return 0;
}

/*
 * The VM is no bigger than the request says: admission (ADMIT) trusts the
 * request's vm_mem_mib and vm_vcpus, so both ends check their QEMU (base
 * and hot-plugged RAM, vCPUs) against them.
 */
int vm_size_check(struct mig *m, const struct svmigd_request *r)
{
	unsigned int cpus;
	uint64_t mem;
	int ret;

	ret = svmig_qemu_vm_size(m->q, &mem, &cpus);
	if (ret == -ERANGE)
		return failf(m, "QEMU reports an impossible memory size or no vCPUs for vm %s",
			     r->vm);
	if (ret)
		return failf(m, "QMP: %s", qmp_strerror(m->q));
	mem >>= 20;	/* whole MiB, as requests count */
	if (mem > r->vm_mem_mib)
		return failf(m, "vm %s has %llu MiB of RAM, the request says %llu MiB",
			     r->vm, (unsigned long long)mem,
			     (unsigned long long)r->vm_mem_mib);
	if (cpus > r->vm_vcpus)
		return failf(m, "vm %s has %u vCPUs, the request says %u", r->vm,
			     cpus, r->vm_vcpus);
	return 0;
}

int vm_status(struct mig *m, char *st, size_t len)
{
	if (svmig_qemu_status(m->q, st, len))
		return failf(m, "QMP query-status: %s", qmp_strerror(m->q));
	return 0;
}

int pass_fd_migrate(struct mig *m, const char *cmd)
{
	if (svmig_qemu_migrate_fd(m->q, cmd, FDNAME, m->sv))
		return failf(m, "QMP %s: %s", cmd, qmp_strerror(m->q));
	return 0;
}

/* What svmigctl shows of query-migrate: numbers only, named as QEMU does. */
static const char *const mig_ram_keys[] = {
	"transferred", "remaining", "total", "dirty-sync-count", "mbps",
	"pages-per-second", "dirty-pages-rate",
};

static const char *const mig_keys[] = {
	"total-time", "setup-time", "expected-downtime", "downtime",
};

static struct json_object *numbers(struct json_object *from,
				   const char *const *keys, size_t n)
{
	struct json_object *o = json_object_new_object(), *v;
	size_t i;

	for (i = 0; o && i < n; i++)
		if (json_object_object_get_ex(from, keys[i], &v) &&
		    (json_object_is_type(v, json_type_int) ||
		     json_object_is_type(v, json_type_double)))
			json_object_object_add(o, keys[i], json_object_get(v));
	return o;
}

/* "active: N bytes transferred, R of T bytes remaining, ..." */
static void ram_detail(char *buf, size_t len, const char *st,
		       struct json_object *ram, struct json_object *top)
{
	const char *rem = jstr(ram, "remaining"), *tot = jstr(ram, "total");
	const char *sync = jstr(ram, "dirty-sync-count");
	const char *exp = jstr(top, "expected-downtime");
	const char *down = jstr(top, "downtime"), *t = jstr(top, "total-time");
	struct json_object *v;

	snprintf(buf, len, "%s: %s bytes transferred", st,
		 jstr(ram, "transferred") ?: "0");
	if (rem && tot)
		catf(buf, len, ", %s of %s bytes remaining", rem, tot);
	if (json_object_object_get_ex(ram, "mbps", &v))
		catf(buf, len, ", %.1f Mbit/s", json_object_get_double(v));
	if (sync)
		catf(buf, len, ", dirty sync %s", sync);
	if (exp)
		catf(buf, len, ", expected downtime %s ms", exp);
	if (down)
		catf(buf, len, ", downtime %s ms", down);
	if (t)
		catf(buf, len, ", %s ms since it began", t);
}

/*
 * One query-migrate answer @info (status @st) as a "data" progress line
 * with QEMU's figures: "status", "ram" {...} and the times.
 */
static void progress_ram(struct mig *m, const char *st,
			 struct json_object *info)
{
	struct json_object *ram, *r, *x;
	char detail[512];

	if (!json_object_object_get_ex(info, "ram", &ram) ||
	    !json_object_is_type(ram, json_type_object))
		return;
	r = numbers(ram, mig_ram_keys,
		    sizeof(mig_ram_keys) / sizeof(mig_ram_keys[0]));
	x = numbers(info, mig_keys, sizeof(mig_keys) / sizeof(mig_keys[0]));
	ram_detail(detail, sizeof(detail), st ?: "?", r, x);
	logp_(LOG_INFO, "data: %s", detail);
	if (m->client < 0 || !r || !x) {
		json_object_put(r);
		json_object_put(x);
		return;
	}
	add_str(x, "status", st ?: "?");
	json_object_object_add(x, "ram", r);
	progress_send(m, "data", x, detail);
}

/*
 * For tests only: with SVMIGD_FAILPOINT set in its environment svmigd dies
 * by SIGKILL at one defined point, exactly as a crash there would, so a
 * test can stop it between two protocol steps without racing the network.
 * The points (Documentation/man/svmigd.8, ENVIRONMENT):
 *   data:N         in DATA, either role, at the first look at QEMU's
 *                  migration after svmig.ko has sealed (source) or
 *                  accepted (target) at least N records of the stream:
 *                  before the source's END, before the target verifies
 *   before-commit  a source, its journal entry in phase commit, the
 *                  COMMIT not written yet
 *   after-commit   a source, the COMMIT written, the RESUMED not read yet
 *   before-verify  a target, QEMU done with the incoming migration, the
 *                  END not verified yet (the guest must not run)
 *   before-cont    a target, its journal entry in phase resumed written,
 *                  the QMP cont not sent yet
 * and one that does not kill but makes svmigd a lying target:
 *   receipt-miscount  a target's "ok" receipt counts one record more
 *                  than it received (the source must refuse it)
 * Unset or any other value, nothing happens.
 */
static void failpoint_kill(const char *what)
{
	logp_(LOG_WARNING, "failpoint %s: SVMIGD_FAILPOINT kills svmigd here", what);
	fflush(NULL);
	raise(SIGKILL);
}

bool failpoint_set(const char *name)
{
	const char *fp = getenv("SVMIGD_FAILPOINT");

	return fp && !strcmp(fp, name);
}

void failpoint(const char *name)
{
	if (failpoint_set(name))
		failpoint_kill(name);
}

/*
 * "data:N", in wait_migration() (@st: QEMU's migration status, just
 * queried).  Whatever QEMU's status, svmigd has not ended its DATA step
 * yet, so the kill always lands in DATA, after N records.
 */
static void failpoint_data(struct mig *m, const char *st)
{
	const char *fp = getenv("SVMIGD_FAILPOINT");
	struct svmig_stats stats;
	unsigned long long n;
	char what[128], *end;

	if (!fp || strncmp(fp, "data:", 5) || m->sv < 0)
		return;
	if (fp[5] < '0' || fp[5] > '9')
		return;
	errno = 0;
	n = strtoull(fp + 5, &end, 10);
	if (errno || *end || svmig_get_stats(m->sv, &stats) || stats.records < n)
		return;
	snprintf(what, sizeof(what), "data:%llu (%llu records %s, QEMU: %s)",
		 n, (unsigned long long)stats.records,
		 m->s->source ? "sealed" : "accepted", st ?: "?");
	failpoint_kill(what);
}

/*
 * Waits for "completed"; gives up on failed/cancelled, the timeout, or
 * (@watch) when the control connection turns readable: the peer gave up.
 */
int wait_migration(struct mig *m, bool watch)
{
	long long deadline = svmig_now_ms() + (long long)m->d->timeout_s * 1000;
	long long next = 0;

	for (;;) {
		struct json_object *info;
		const char *st;
		int ret;

		ret = svmig_qemu_mig_poll(m->q, &info);
		if (ret < 0)
			return failf(m, "QMP query-migrate: %s", qmp_strerror(m->q));
		st = jstr(info, "status");
		failpoint_data(m, st);
		if (ret || svmig_now_ms() >= next) {
			progress_ram(m, st, info);
			next = svmig_now_ms() + 1000;
		}
		if (ret && !is(st, "completed"))
			svmig_qemu_mig_failure(info, m->err, sizeof(m->err));
		json_object_put(info);
		if (ret)
			return is(st, "completed") ? 0 : -1;
		if (atomic_load(&m->d->abort_data))
			return failf(m, "svmigd is stopping");
		if (svmig_now_ms() >= deadline)
			return failf(m, "the migration did not complete within %d s",
				     m->d->timeout_s);
		if (watch && readable(m->conn_fd, 0))
			return failf(m, "%s ended the session during DATA",
				     m->s->peer);
		svmig_sleep_ms(POLL_MS);
	}
}

void wait_terminal(struct mig *m)
{
	svmig_qemu_mig_settle(m->q, 10000, POLL_MS);
}

int svmig_key(struct mig *m, uint32_t role)
{
	/*
	 * A target requires the source's keys salted by its TPM, as the
	 * source's authenticated HELLO says, unless --no-tpm-salt: hosts run
	 * with TPMs or, for tests by hand, both without.
	 */
	uint32_t flags = role | SVMIG_KEY_STREAM |
			 (m->d->o->no_tpm_salt ? SVMIG_KEY_NO_TPM :
			  role == SVMIG_ROLE_RECEIVER ? SVMIG_KEY_REQUIRE_TPM_SALT : 0);
	struct svmig_info info;
	int ret;

	ret = svmig_open();
	if (ret < 0)
		return failf(m, "cannot open %s: %s", SVMIG_DEVICE, svmigd_strerror(-ret));
	m->sv = ret;
	ret = svmig_get_info(m->sv, &info);
	if (ret)
		return failf(m, "SVMIG_IOC_GET_INFO: %s", svmigd_strerror(-ret));
	if (!(info.features & SVMIG_FEAT_STREAM))
		return failf(m, "svmig.ko has no stream mode");
	if ((flags & SVMIG_KEY_REQUIRE_TPM_SALT) && !(info.features & SVMIG_FEAT_TPM_SALT_FLAG))
		return failf(m, "svmig.ko cannot tell a TPM-salted sender (too old)");
	ret = svmig_set_key(m->sv, flags, 0, m->s->id, m->s->secret);
	/* The kernel holds the keys now: nothing of the secret stays here. */
	OPENSSL_cleanse(m->s->secret, sizeof(m->s->secret));
	if (ret)
		return failf(m, "SVMIG_IOC_SET_KEY: %s", svmigd_strerror(-ret));
	return 0;
}

void cut_socket(struct mig *m)
{
	if (m->sock >= 0)
		shutdown(m->sock, SHUT_RDWR);
}

/*
 * After a failed DATA step, asks svmig.ko why: QEMU only saw its read()
 * fail and exits, so the kernel's counters and errno are the evidence of
 * tampering, truncation or a wrong key.  Appended to m->err for the log.
 */
void kernel_account(struct mig *m)
{
	size_t len = strlen(m->err);

	if (m->sv < 0 || svmig_get_stats(m->sv, &m->st) || !m->st.error)
		return;
	snprintf(m->err + len, sizeof(m->err) - len,
		 "; svmig.ko refused the stream: %s after %llu records "
		 "(%llu auth failures, %llu replays, %llu protocol errors)",
		 m->st.verdict == SVMIG_VERDICT_TRUNCATED ?
		 "it ended before its END record (truncated)" : svmigd_strerror(m->st.error),
		 (unsigned long long)m->st.records,
		 (unsigned long long)m->st.auth_failures,
		 (unsigned long long)m->st.replays,
		 (unsigned long long)m->st.proto_errors);
}

/*
 * Writes this migration's entry into the journal in @dir (journal.h: the
 * source's d->journal_dir, the target's d->target_journal_dir) in @phase,
 * durably, before the step it names: without it a successor could not
 * tell whether the target may run the VM, so a failure to write it fails
 * the migration (a target's "resumed": its VM stays paused).
 */
int journal_mark(struct mig *m, const char *dir, enum svmigd_journal_phase phase)
{
	struct svmigd_journal_entry e = {
		.phase = phase,
		.was_running = m->was_running,
		.time = time(NULL),
	};
	char err[512];

	snprintf(e.vm, sizeof(e.vm), "%s", m->s->request.req.vm);
	snprintf(e.peer, sizeof(e.peer), "%s", m->s->peer);
	snprintf(e.operator, sizeof(e.operator), "%s", m->s->operator);
	memcpy(e.session, m->s->id, sizeof(e.session));
	if (svmigd_journal_write(dir, &e, err, sizeof(err)))
		return failf(m, "%s", err);
	m->journalled = true;
	return 0;
}

/*
 * The entry in @dir goes: the outcome is settled (a source runs, or quit
 * for the target's copy; a target's answer is in the audit log now, or
 * its resume failed for good).
 */
void journal_drop(struct mig *m, const char *dir)
{
	char err[512];

	if (!m->journalled)
		return;
	if (svmigd_journal_remove(dir, m->s->request.req.vm, err, sizeof(err)))
		logp_(LOG_ERR, "%s", err);
	m->journalled = false;
}
