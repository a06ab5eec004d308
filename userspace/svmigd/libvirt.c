// SPDX-License-Identifier: GPL-2.0
/*
 * libvirt: a migration libvirt drives, through svmig's relay (libvirt.h,
 * relay.h).  libvirt's own API (libvirt-dev) starts the migration and
 * reports the domain's state; nothing here speaks QMP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <openssl/crypto.h>

#include "journal.h"
#include "libvirt.h"
#include "audit_exchange.h"
#include "multifd.h"
#include "relay.h"
#include "util.h"
#include "verdict.h"

#define ACCEPT_MS	60000	/* libvirt's Prepare starts the target QEMU first */
#define STATE_POLL_MS	100
#define DRAIN_MS	30000	/* after a failure: for QEMU to let go of multifd */
#define JOB_END_MS	60000	/* after a failure: for libvirt's call to return */
#define DISCARD_MS	10000	/* target, after a failure: for libvirt to discard */

/* libvirt prints every error on stderr by default; ours go to err. */
static void lv_quiet(void *arg, virErrorPtr e)
{
	(void)arg;
	(void)e;
}

static const char *lv_errmsg(void)
{
	return virGetLastErrorMessage();
}

static virConnectPtr lv_open(const char *uri, char *err, size_t errlen)
{
	virConnectPtr c;

	virSetErrorFunc(NULL, lv_quiet);
	c = virConnectOpen(uri);
	if (!c)
		svmigd_fail(err, errlen, -1, "libvirt %s: %s", uri, lv_errmsg());
	return c;
}

int svmigd_lv_sock_path(char *out, size_t len, const char *dir, const char *vm)
{
	int n;

	if (!dir || !svmigd_journal_vm_ok(vm))
		return -1;
	n = snprintf(out, len, "%s/%s.sock", dir, vm);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int svmigd_lv_check(const char *uri, const char *vm, uint64_t mem_mib,
		    uint32_t vcpus, char *err, size_t errlen)
{
	virConnectPtr c = lv_open(uri, err, errlen);
	virDomainPtr dom;
	virDomainInfo info;
	int ret = -1;

	if (!c)
		return -1;
	dom = virDomainLookupByName(c, vm);
	if (!dom) {
		svmigd_fail(err, errlen, -1, "libvirt has no domain %s: %s", vm, lv_errmsg());
		goto out;
	}
	if (virDomainGetInfo(dom, &info)) {
		svmigd_fail(err, errlen, -1, "domain %s: %s", vm, lv_errmsg());
	} else if (info.state != VIR_DOMAIN_RUNNING && info.state != VIR_DOMAIN_PAUSED) {
		svmigd_fail(err, errlen, -1, "domain %s is not running (state %d)",
			    vm, info.state);
	} else if ((info.maxMem + 1023) / 1024 > mem_mib) {	/* KiB, up to MiB */
		svmigd_fail(err, errlen, -1, "vm %s has %lu MiB of RAM, the request says "
			    "%llu MiB", vm, (info.maxMem + 1023) / 1024,
			    (unsigned long long)mem_mib);
	} else if (info.nrVirtCpu > vcpus) {
		svmigd_fail(err, errlen, -1, "vm %s has %u vCPUs, the request says %u",
			    vm, info.nrVirtCpu, vcpus);
	} else {
		ret = 0;
	}
	virDomainFree(dom);
out:
	virConnectClose(c);
	return ret;
}

static void progressf(struct svmigd_lvmig *x, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void progressf(struct svmigd_lvmig *x, const char *step, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (x->progress)
		x->progress(x->arg, step, buf);
}

static int fail(struct svmigd_lvmig *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct svmigd_lvmig *x, const char *fmt, ...)
{
	va_list ap;

	if (x->err[0])		/* the first failure is the cause */
		return SVMIGD_LV_FAILED;
	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
	return SVMIGD_LV_FAILED;
}

/* Both channels of the session on this end, on the one data connection. */
static int key_channels(struct svmigd_lvmig *x, struct svmigd_relay *r,
			struct svmigd_mfd *mfd, bool source)
{
	uint32_t fwd = source ? SVMIG_ROLE_SENDER : SVMIG_ROLE_RECEIVER;
	uint32_t rev = source ? SVMIG_ROLE_RECEIVER : SVMIG_ROLE_SENDER;
	int *fwd_fd = source ? &r->out : &r->in, *rev_fd = source ? &r->in : &r->out;
	char err[512];
	int ret;

	ret = svmigd_relay_key(fwd_fd, fwd, SVMIGD_RELAY_FWD, x->s->id, x->s->secret,
			       x->no_tpm, err, sizeof(err)) ||
	      svmigd_relay_key(rev_fd, rev, SVMIGD_RELAY_REV, x->s->id, x->s->secret,
			       x->no_tpm, err, sizeof(err)) ||
	      svmigd_mfd_key(mfd, x->s->id, x->s->secret, x->no_tpm, err, sizeof(err));
	/* The kernel holds the keys now: nothing of the secret stays here. */
	OPENSSL_cleanse(x->s->secret, sizeof(x->s->secret));
	if (ret)
		return fail(x, "%s", err);
	ret = svmig_attach_socket(r->out, x->sock);
	if (!ret)
		ret = svmig_attach_socket(r->in, x->sock);
	if (ret)
		return fail(x, "SVMIG_IOC_ATTACH_SOCK: %s", svmigd_strerror(-ret));
	return 0;
}

/* The stream's channel verified its END, with nothing refused on the way. */
static int verify_stream(struct svmigd_lvmig *x, int fd)
{
	int ret = svmig_verify(fd);

	if (ret)
		return fail(x, "SVMIG_IOC_VERIFY: %s", ret == -EBADMSG ?
			    "the END does not match the stream" : svmigd_strerror(-ret));
	ret = svmig_get_stats(fd, &x->st);
	if (ret)
		return fail(x, "SVMIG_IOC_GET_STATS: %s", svmigd_strerror(-ret));
	if (x->st.verdict != SVMIG_VERDICT_VERIFIED || x->st.auth_failures ||
	    x->st.replays || x->st.proto_errors)
		return fail(x, "verdict %u, %llu auth failures, %llu replays, "
			    "%llu protocol errors", x->st.verdict,
			    (unsigned long long)x->st.auth_failures,
			    (unsigned long long)x->st.replays,
			    (unsigned long long)x->st.proto_errors);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ------------------------------------------------------------ source */

/*
 * libvirt's migration call, which blocks until libvirt is done: a thread.
 * The job is on the heap and counted (the thread's reference and the
 * caller's): a caller that gives up on a call that never returns leaves
 * it to the thread (lv_job_abandon), which frees it when the call returns.
 */
struct lv_job {
	virDomainPtr dom;	/* the thread's own reference */
	const char *dconnuri;
	char miguri[256];
	unsigned int channels;	/* multifd, 0: none */
	int done[2];		/* a pipe: readable once the call returned */
	int rc;
	char err[512];
	pthread_t thread;
	bool started;
	atomic_int refs;
};

static void lv_job_put(struct lv_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	if (j->dom)
		virDomainFree(j->dom);
	close_fd(&j->done[0]);
	close_fd(&j->done[1]);
	free(j);
}

static void *lv_job_run(void *arg)
{
	struct lv_job *j = arg;
	virTypedParameterPtr params = NULL;
	int n = 0, max = 0;

	virSetErrorFunc(NULL, lv_quiet);
	unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER;

	j->rc = virTypedParamsAddString(&params, &n, &max, VIR_MIGRATE_PARAM_URI,
					j->miguri);
	if (!j->rc && j->channels) {
		flags |= VIR_MIGRATE_PARALLEL;
		j->rc = virTypedParamsAddInt(&params, &n, &max,
					     VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
					     (int)j->channels);
	}
	if (!j->rc)
		j->rc = virDomainMigrateToURI3(j->dom, j->dconnuri, params, (unsigned int)n,
					       flags);
	if (j->rc)
		snprintf(j->err, sizeof(j->err), "%s", lv_errmsg());
	virTypedParamsFree(params, n);
	if (write(j->done[1], "x", 1) != 1)
		j->rc = -1;
	lv_job_put(j);
	return NULL;
}

static struct lv_job *lv_job_new(virDomainPtr dom, const char *dconnuri,
				 unsigned int channels)
{
	struct lv_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->done[0] = j->done[1] = -1;
	j->dconnuri = dconnuri;
	j->channels = channels;
	atomic_init(&j->refs, 1);
	if (pipe2(j->done, O_CLOEXEC) || virDomainRef(dom)) {
		lv_job_put(j);
		return NULL;
	}
	j->dom = dom;
	return j;
}

static int lv_job_start(struct lv_job *j)
{
	atomic_fetch_add(&j->refs, 1);
	if (pthread_create(&j->thread, NULL, lv_job_run, j)) {
		atomic_fetch_sub(&j->refs, 1);
		return -1;
	}
	j->started = true;
	return 0;
}

/* Waits up to @ms for libvirt's call to return: 0 if it did. */
static int lv_job_wait(struct lv_job *j, int ms)
{
	struct pollfd p = { .fd = j->done[0], .events = POLLIN };
	int n;

	if (!j->started)
		return 0;
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : -1;
}

/* Waits for libvirt's answer: 0 if it migrated the domain. */
static int lv_job_end(struct lv_job *j)
{
	if (!j->started)
		return -1;
	pthread_join(j->thread, NULL);
	j->started = false;
	return j->rc ? -1 : 0;
}

/* The caller lets go of the job; the thread frees it if it still runs. */
static void lv_job_abandon(struct lv_job *j)
{
	if (!j)
		return;
	if (j->started)
		pthread_detach(j->thread);
	j->started = false;
	lv_job_put(j);
}

/*
 * After a failure: the source VM as it was (libvirt resumes it when QEMU's
 * migration fails; a VM paused before stays paused).
 */
static int source_settle(struct svmigd_lvmig *x, virDomainPtr dom)
{
	int state, reason;

	if (virDomainGetState(dom, &state, &reason, 0))
		return SVMIGD_LV_IN_DOUBT;
	if (state == VIR_DOMAIN_RUNNING) {
		progressf(x, "recover", "the source VM is running");
		return SVMIGD_LV_FAILED;
	}
	if (state == VIR_DOMAIN_PAUSED && x->was_running && !virDomainResume(dom)) {
		progressf(x, "recover", "the source VM was paused: resumed it");
		return SVMIGD_LV_FAILED;
	}
	if (state == VIR_DOMAIN_PAUSED && !x->was_running) {
		progressf(x, "recover", "the source VM stays paused, as it was");
		return SVMIGD_LV_FAILED;
	}
	progressf(x, "recover", "the source VM is in state %d: CHECK IT BY HAND", state);
	return SVMIGD_LV_IN_DOUBT;
}

/* The main channel failed: because a multifd channel did, if one did. */
static int fail_main(struct svmigd_lvmig *x, struct svmigd_mfd *mfd, const char *err)
{
	unsigned int k;
	const char *why = svmigd_mfd_failed(mfd, &k);

	if (why) {
		x->mfd_failed = true;
		return fail(x, "multifd channel %u: %s", k, why);
	}
	return fail(x, "%s", err);
}

/*
 * The relay failed because the target gave up first: its signed receipt
 * (failed) is on the way; say so, for the log and the audit.
 */
static void source_peer_failed(struct svmigd_lvmig *x)
{
	struct pollfd p = { .fd = x->ctl_fd, .events = POLLIN };
	char err[512];
	size_t len = strlen(x->err);

	if (poll(&p, 1, 2000) != 1)
		return;
	if (svmigd_session_receipt_recv(x->conn, x->scfg, x->s, NULL, &x->receipt, err,
					sizeof(err)) == -EREMOTEIO)
		snprintf(x->err + len, sizeof(x->err) - len,
			 " (%s's signed receipt says it failed: %s)", x->s->peer,
			 x->receipt.reason);
}

/* Up to the gate: relay until the target loaded, then the END and the receipt. */
static int source_to_receipt(struct svmigd_lvmig *x, struct svmigd_relay *r,
			     struct svmigd_mfd *mfd, struct lv_job *j)
{
	struct svmig_stats mst = { 0 };
	struct svmigd_counts sent;
	char err[512], counts[512];
	int ret;

	r->qemu = svmigd_relay_unix_accept(mfd->lfd, ACCEPT_MS, x->ctl_fd, j->done[0],
					   err, sizeof(err));
	if (r->qemu < 0)
		return fail(x, "%s%s%s", err, j->err[0] ? ": " : "", j->err);
	progressf(x, "data", "libvirt connected; relaying through svmig");
	if (svmigd_mfd_start(mfd, err, sizeof(err)) ||
	    svmigd_relay_source_run(r, err, sizeof(err))) {
		fail_main(x, mfd, err);
		source_peer_failed(x);
		return SVMIGD_LV_FAILED;
	}
	if (svmigd_mfd_end(mfd, true, &mst, err, sizeof(err)))
		return fail(x, "%s", err);
	ret = svmig_finish(r->out);
	if (ret)
		return fail(x, "SVMIG_IOC_FINISH: %s", svmigd_strerror(-ret));
	svmig_get_stats(r->out, &x->st);
	if (mfd->want) {
		svmigd_mfd_counts(mfd, counts, sizeof(counts));
		progressf(x, "data", "%u multifd channels ended (%llu records); the "
			  "session's ENDs: channel 0: %llu records, %llu bytes; %s",
			  mfd->n, (unsigned long long)mst.records,
			  (unsigned long long)x->st.records,
			  (unsigned long long)x->st.bytes, counts);
	}
	progressf(x, "data", "the target's QEMU loaded %llu bytes; END sent (%llu records)",
		  (unsigned long long)r->fwd_bytes, (unsigned long long)x->st.records);
	/* The receipt counts every channel's records: the main one and multifd's. */
	sent = (struct svmigd_counts){ .records = x->st.records + mst.records,
				       .bytes = x->st.bytes + mst.bytes };
	ret = svmigd_session_receipt_recv(x->conn, x->scfg, x->s, &sent, &x->receipt,
					  err, sizeof(err));
	if (ret)
		return fail(x, "%s", ret == -EREMOTEIO ?
			    "the target could not verify the stream (its receipt says failed)" :
			    err);
	return 0;
}

/* The gate: COMMIT, then the SHUT to QEMU; libvirt finishes; RESUMED. */
static int source_gate(struct svmigd_lvmig *x, struct svmigd_relay *r, struct lv_job *j)
{
	char err[512];
	int ret;

	progressf(x, "commit", "valid receipt (%llu records verified): committing, "
		  "opening the gate", (unsigned long long)x->receipt.records);
	if (svmigd_session_handover_send(x->conn, x->scfg, x->s, SVMIGD_COMMIT,
					 x->receipt.sha256, err, sizeof(err)))
		return fail(x, "%s", err);
	if (svmigd_relay_source_release(r, err, sizeof(err)))
		return fail(x, "after the gate: %s", err);
	if (lv_job_end(j))
		return fail(x, "libvirt: %s", j->err);
	ret = svmigd_session_handover_recv(x->conn, x->scfg, x->s, SVMIGD_RESUMED,
					   x->receipt.sha256, err, sizeof(err));
	if (ret) {
		snprintf(x->err, sizeof(x->err), "libvirt migrated the VM, but %s: check "
			 "%s", err, x->s->peer);
		return SVMIGD_LV_IN_DOUBT;
	}
	progressf(x, "quit", "%s resumed the VM; libvirt ended the source's copy",
		  x->s->peer);
	if (svmigd_audit_heads_exchange(x->conn, x->scfg, x->s, err, sizeof(err)))
		progressf(x, "quit", "audit heads: %s (the migration is done)", err);
	return SVMIGD_LV_DONE;
}

/*
 * After a failure on the source: QEMU's main connection closes (its
 * migration fails there, libvirt keeps the VM), its multifd connections
 * are drained until QEMU lets go of them (multifd.h), and libvirt's call
 * returns, cancelled by virDomainAbortJob if it has not within
 * JOB_END_MS.  If it still has not after that, the VM's fate is
 * libvirt's: SVMIGD_LV_IN_DOUBT, and the job is left to its thread.
 */
static int source_failed(struct svmigd_lvmig *x, struct svmigd_relay *r,
			 struct svmigd_mfd *mfd, struct lv_job *j)
{
	close_fd(&r->qemu);
	shutdown(x->sock, SHUT_RDWR);
	svmigd_mfd_drain(mfd, DRAIN_MS, j->done[0]);
	svmigd_mfd_free(mfd);
	if (lv_job_wait(j, JOB_END_MS)) {
		progressf(x, "recover", "libvirt's migration job goes on: aborting it");
		virDomainAbortJob(j->dom);
		if (lv_job_wait(j, JOB_END_MS)) {
			size_t len = strlen(x->err);

			snprintf(x->err + len, sizeof(x->err) - len, "; libvirt's migration "
				 "job did not end within %d s of its abort: CHECK the domain "
				 "on both hosts", JOB_END_MS / 1000);
			return SVMIGD_LV_IN_DOUBT;
		}
	}
	lv_job_end(j);
	return source_settle(x, j->dom);
}

int svmigd_lv_source(struct svmigd_lvmig *x)
{
	struct lv_job *j = NULL;
	struct svmigd_relay r;
	struct svmigd_mfd mfd;
	char path[108] = "", err[512];
	virConnectPtr c = NULL;
	virDomainPtr dom = NULL;
	int lfd = -1, ret, state, reason;

	if (svmigd_relay_init(&r, x->idle_ms, x->err, sizeof(x->err)))
		return SVMIGD_LV_FAILED;
	ret = svmigd_mfd_init(&mfd, true, x->channels, x->idle_ms, x->ctl_fd,
			      x->err, sizeof(x->err));
	if (ret)
		goto out;
	mfd.data_conn = x->data_conn;
	mfd.arg = x->data_arg;
	mfd.main_sock = x->sock;
	r.watch = x->ctl_fd;
	ret = key_channels(x, &r, &mfd, true);
	if (ret)
		goto out;
	if (svmigd_lv_sock_path(path, sizeof(path), x->relay_dir, x->s->request.req.vm)) {
		ret = fail(x, "no relay socket path for vm %s", x->s->request.req.vm);
		goto out;
	}
	lfd = svmigd_relay_unix_listen(path, err, sizeof(err));
	c = lv_open(x->local_uri, err, sizeof(err));
	if (lfd < 0 || !c) {
		ret = fail(x, "%s", err);
		goto out;
	}
	dom = virDomainLookupByName(c, x->s->request.req.vm);
	if (!dom || virDomainGetState(dom, &state, &reason, 0)) {
		ret = fail(x, "libvirt: domain %s: %s", x->s->request.req.vm, lv_errmsg());
		goto out;
	}
	x->was_running = state == VIR_DOMAIN_RUNNING;
	mfd.lfd = lfd;
	j = lv_job_new(dom, x->peer_uri, x->channels);
	if (j)
		snprintf(j->miguri, sizeof(j->miguri), "unix://%s", path);
	if (!j || lv_job_start(j)) {
		ret = fail(x, "cannot start libvirt's migration thread");
		goto out;
	}
	progressf(x, "data", "libvirt migrates %s to %s over %s", x->s->request.req.vm,
		  x->peer_uri, j->miguri);
	ret = source_to_receipt(x, &r, &mfd, j);
	if (!ret)
		ret = source_gate(x, &r, j);
	if (ret == SVMIGD_LV_FAILED)
		ret = source_failed(x, &r, &mfd, j);
out:
	svmigd_mfd_free(&mfd);
	if (j && ret != SVMIGD_LV_IN_DOUBT)
		lv_job_end(j);
	lv_job_abandon(j);
	close_fd(&r.qemu);
	close_fd(&r.out);
	close_fd(&r.in);
	close_fd(&lfd);
	if (path[0])
		unlink(path);
	if (dom)
		virDomainFree(dom);
	if (c)
		virConnectClose(c);
	svmigd_relay_free(&r);
	return ret;
}

/* ------------------------------------------------------------ target */

/* Waits until libvirt runs domain @vm here (its Finish after our gate). */
static int target_wait_running(struct svmigd_lvmig *x)
{
	char err[512];
	virConnectPtr c = lv_open(x->local_uri, err, sizeof(err));
	int waited, state = -1, reason;

	if (!c)
		return fail(x, "%s", err);
	for (waited = 0; waited < x->idle_ms; waited += STATE_POLL_MS) {
		virDomainPtr dom = virDomainLookupByName(c, x->s->request.req.vm);

		if (dom) {
			if (virDomainGetState(dom, &state, &reason, 0))
				state = -1;
			virDomainFree(dom);
		}
		if (state == VIR_DOMAIN_RUNNING)
			break;
		usleep(STATE_POLL_MS * 1000);
	}
	virConnectClose(c);
	if (state != VIR_DOMAIN_RUNNING)
		return fail(x, "libvirt did not run domain %s here within %d s (state %d)",
			    x->s->request.req.vm, x->idle_ms / 1000, state);
	return 0;
}

static int target_relay(struct svmigd_lvmig *x, struct svmigd_relay *r,
			struct svmigd_mfd *mfd)
{
	struct svmig_stats mst = { 0 };
	char path[108], err[512], counts[512];
	int ret;

	if (svmigd_lv_sock_path(path, sizeof(path), x->relay_dir, x->s->request.req.vm))
		return fail(x, "no relay socket path for vm %s", x->s->request.req.vm);
	r->qemu = svmigd_relay_unix_connect(path, ACCEPT_MS, x->ctl_fd, err, sizeof(err));
	if (r->qemu < 0)
		return fail(x, "%s", err);
	progressf(x, "data", "connected to libvirt's QEMU at %s; relaying", path);
	mfd->qemu_path = path;
	if (svmigd_mfd_start(mfd, err, sizeof(err)) ||
	    svmigd_relay_target_run(r, err, sizeof(err)))
		return fail_main(x, mfd, err);
	/* every multifd channel read its END too (the source ended them first) */
	if (svmigd_mfd_end(mfd, true, &mst, err, sizeof(err)))
		return fail(x, "%s", err);
	/* one VERIFY: the kernel session's verdict, over every channel */
	if (verify_stream(x, r->in))
		return SVMIGD_LV_FAILED;
	if (mfd->n) {
		svmigd_mfd_counts(mfd, counts, sizeof(counts));
		progressf(x, "data", "%u multifd channels verified (%llu records): one "
			  "session, one verdict over channel 0 (%llu records, %llu bytes) "
			  "and %s", mfd->n, (unsigned long long)mst.records,
			  (unsigned long long)x->st.records,
			  (unsigned long long)x->st.bytes, counts);
	}
	x->st.records += mst.records;
	x->st.bytes += mst.bytes;
	ret = svmig_finish(r->out);
	if (ret)
		return fail(x, "SVMIG_IOC_FINISH (return path): %s", svmigd_strerror(-ret));
	return 0;
}

/*
 * Target, after a failure before any "ok" receipt (so the source never
 * released the SHUT, and the VM never ran here): libvirt discards its
 * incoming copy when the source's Finish says the migration failed.  A
 * destination QEMU 7.2 whose multifd channel broke does not end its load,
 * though: its main loop waits in multifd_recv_sync_main() for the broken
 * channel for ever, so it answers no QMP command, and libvirt's Finish
 * (which asks it one) hangs, and the source's migration call with it.
 * So a copy still paused for the incoming migration after DISCARD_MS is
 * destroyed (libvirt kills that QEMU before it takes the domain's job).
 */
static void target_discard(struct svmigd_lvmig *x)
{
	char err[512];
	virConnectPtr c = lv_open(x->local_uri, err, sizeof(err));
	virDomainPtr dom = NULL;
	int waited, state = -1, reason = -1;

	if (!c)
		return;
	for (waited = 0; waited < DISCARD_MS; waited += STATE_POLL_MS) {
		dom = virDomainLookupByName(c, x->s->request.req.vm);
		if (!dom)
			goto out;	/* libvirt discarded it */
		if (virDomainGetState(dom, &state, &reason, 0) ||
		    state != VIR_DOMAIN_PAUSED || reason != VIR_DOMAIN_PAUSED_MIGRATION)
			goto out;	/* not an incoming copy */
		virDomainFree(dom);
		dom = NULL;
		usleep(STATE_POLL_MS * 1000);
	}
	dom = virDomainLookupByName(c, x->s->request.req.vm);
	if (dom && !virDomainGetState(dom, &state, &reason, 0) &&
	    state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_MIGRATION) {
		if (virDomainDestroy(dom))
			progressf(x, "recover", "the incoming copy of %s stays: %s",
				  x->s->request.req.vm, lv_errmsg());
		else
			progressf(x, "recover", "destroyed the incoming copy of %s, whose "
				  "QEMU did not end its failed load within %d s",
				  x->s->request.req.vm, DISCARD_MS / 1000);
	}
out:
	if (dom)
		virDomainFree(dom);
	virConnectClose(c);
}

int svmigd_lv_target(struct svmigd_lvmig *x)
{
	uint8_t receipt[SVMIGD_SHA256_LEN];
	char reason[SVMIGD_REASON_MAX + 1];
	struct svmigd_relay r;
	struct svmigd_mfd mfd;
	char err[512];
	int ret;

	if (svmigd_relay_init(&r, x->idle_ms, x->err, sizeof(x->err)))
		return SVMIGD_LV_FAILED;
	/* as many multifd channels as the source's REQUEST said (session.h) */
	ret = svmigd_mfd_init(&mfd, false, x->s->channels, x->idle_ms,
			      x->ctl_fd, x->err, sizeof(x->err));
	mfd.data_conn = x->data_conn;
	mfd.arg = x->data_arg;
	mfd.main_sock = x->sock;
	r.watch = x->ctl_fd;
	if (!ret)
		ret = key_channels(x, &r, &mfd, false);
	if (!ret)
		ret = target_relay(x, &r, &mfd);
	svmigd_mfd_free(&mfd);
	if (ret) {
		if (r.in >= 0)
			svmig_get_stats(r.in, &x->st);
		/* libvirt's QEMU sees its stream break, and libvirt discards it */
		close_fd(&r.qemu);
		shutdown(x->sock, SHUT_RDWR);
		/* a multifd channel's refusal broke channel 0: the cause is its */
		svmigd_stream_reason(r.in >= 0 && !x->mfd_failed ? &x->st : NULL, x->err,
				     reason, sizeof(reason));
		if (svmigd_session_receipt_send(x->conn, x->scfg, x->s, false, x->st.records,
						x->st.bytes, reason, NULL, err, sizeof(err)))
			progressf(x, "receipt", "%s", err);
		target_discard(x);
		goto out;
	}
	if (svmigd_session_receipt_send(x->conn, x->scfg, x->s, true, x->st.records,
					x->st.bytes, NULL, receipt, err, sizeof(err))) {
		ret = fail(x, "receipt: %s", err);
		goto out;
	}
	progressf(x, "receipt", "stream verified (%llu records); receipt sent, waiting "
		  "for the COMMIT", (unsigned long long)x->st.records);
	if (svmigd_session_handover_recv(x->conn, x->scfg, x->s, SVMIGD_COMMIT, receipt,
					 err, sizeof(err))) {
		/* without it the gate stays shut: libvirt's QEMU never completes */
		ret = fail(x, "%s", err);
		goto out;
	}
	ret = target_wait_running(x);
	if (ret) {
		ret = SVMIGD_LV_IN_DOUBT;
		goto out;
	}
	if (svmigd_session_handover_send(x->conn, x->scfg, x->s, SVMIGD_RESUMED, receipt,
					 err, sizeof(err)))
		progressf(x, "resumed", "%s (the VM runs here)", err);
	else if (svmigd_audit_heads_exchange(x->conn, x->scfg, x->s, err, sizeof(err)))
		progressf(x, "resumed", "audit heads: %s (the migration is done)", err);
	ret = SVMIGD_LV_DONE;
out:
	close_fd(&r.qemu);
	close_fd(&r.out);
	close_fd(&r.in);
	svmigd_relay_free(&r);
	return ret;
}
