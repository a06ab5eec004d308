// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the daemon (daemon.h): setup and teardown, the listeners, a worker
 * thread per connection, the journal review thread, the stop.  The rest
 * is in one file per role (daemon_int.h lists them).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <systemd/sd-daemon.h>

#include "admission.h"
#include "crl.h"
#include "daemon_int.h"
#include "outcome.h"
#include "policy.h"
#include "policy_host.h"
#include "tpm.h"
#include "util.h"

static volatile sig_atomic_t stopping, reloading;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reloading = 1;
	else
		stopping = 1;
}

static int unix_listen(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(d->sock_path, sizeof(d->sock_path), "%s/" SVMIGD_SOCK_NAME,
		     d->cfg.state_dir) >= (int)sizeof(d->sock_path)) {
		logp_(LOG_ERR, "state_dir too long for a unix socket");
		return -1;
	}
	memcpy(sa.sun_path, d->sock_path, sizeof(sa.sun_path));
	unlink(d->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(d->sock_path, 0600) || listen(fd, 4)) {
		logp_(LOG_ERR, "%s: %s", d->sock_path, svmigd_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int setup(struct daemon *d)
{
	char err[1024];
	struct svmig_tls_config tc;
	int ret;

	if (svmigd_config_load(&d->cfg, d->o->config, err, sizeof(err))) {
		logp_(LOG_ERR, "%s", err);
		return -1;
	}
	d->key = svmigd_load_key(d->cfg.host_key, err, sizeof(err));
	if (!d->key) {
		logp_(LOG_ERR, "%s", err);
		return -1;
	}
	/* --check-config leaves the TPM alone: a running svmigd may hold it. */
	ret = d->o->check_config ? 0 : svmigd_tpm_open(d->cfg.tpm_tcti, &d->tpm);
	if (ret) {
		logp_(LOG_ERR, "TPM %s: %s", d->cfg.tpm_tcti, svmigd_tpm_strerror(ret));
		return -1;
	}
	if (policy_start(d))	/* reload.c */
		return -1;
	tc.cert_file = d->cfg.host_cert;
	tc.key_file = d->cfg.host_key;
	tc.anchor_files = (const char *const *)d->cfg.anchors;
	tc.n_anchor_files = d->cfg.n_anchors;
	if (svmig_tls_ctx_new(&tc, &d->tls, err, sizeof(err))) {
		logp_(LOG_ERR, "TLS: %s", err);
		return -1;
	}
	if (d->o->n_op_anchors)
		d->op_anchors = svmigd_request_anchors(d->o->op_anchors,
						       d->o->n_op_anchors,
						       err, sizeof(err));
	else
		d->op_anchors = svmigd_request_anchors(d->cfg.anchors,
						       d->cfg.n_anchors,
						       err, sizeof(err));
	if (!d->op_anchors) {
		logp_(LOG_ERR, "operator anchors: %s", err);
		return -1;
	}
	/* [trust] crls: revocation checked for peers and operators (crl.h) */
	if (svmigd_crl_load(svmig_tls_ctx_store(d->tls), d->cfg.crls,
			    d->cfg.n_crls, err, sizeof(err)) ||
	    svmigd_crl_load(d->op_anchors, d->cfg.crls, d->cfg.n_crls, err,
			    sizeof(err))) {
		logp_(LOG_ERR, "[trust] crls: %s", err);
		return -1;
	}
	if (d->o->check_config)
		return 0;
	d->scfg.host_name = d->cfg.host_name;
	d->scfg.policy = d->policy;
	d->scfg.tpm = d->tpm;
	d->scfg.host_key = d->key;
	d->scfg.audit_log = d->cfg.audit_log;
	d->scfg.operator_anchors = d->op_anchors;
	d->scfg.max_mem_mib = d->cfg.max_mem_mib;
	d->scfg.max_vcpus = d->cfg.max_vcpus;
	d->scfg.request_window = SVMIGD_SESSION_WINDOW;
	d->scfg.target_journal = d->target_journal_dir;
	d->scfg.answer_query = svmigd_outcome_answer;
	/* check_request, check_arg, session_live: each connection's own */
	nonces_load(d);
	d->timeout_s = d->o->migrate_timeout_s > 0 ? d->o->migrate_timeout_s : 300;
	d->preauth_ms = 1000 * (int)(d->cfg.preauth_timeout_s && d->cfg.preauth_timeout_s < 3600 ?
				     d->cfg.preauth_timeout_s : DEF_PREAUTH_S);
	d->max_conns = d->cfg.max_connections ?: DEF_MAX_CONNS;
	if (d->max_conns > CAP_CONNS)
		d->max_conns = CAP_CONNS;
	d->max_unauth = d->cfg.max_unauth ?: DEF_MAX_UNAUTH;
	if (d->max_unauth > d->max_conns)
		d->max_unauth = d->max_conns;
	d->unauth_per_addr = d->cfg.max_unauth_per_address ?: DEF_UNAUTH_PER_ADDR;
	d->stop_s = d->cfg.stop_timeout_s ?: DEF_STOP_S;
	d->unauth = calloc(d->max_unauth, sizeof(*d->unauth));
	d->unauth_used = calloc(d->max_unauth, sizeof(*d->unauth_used));
	if (!d->unauth || !d->unauth_used) {
		logp_(LOG_ERR, "out of memory");
		return -1;
	}
	if (d->o->qmp_dir)
		snprintf(d->qmp_dir, sizeof(d->qmp_dir), "%s", d->o->qmp_dir);
	else
		snprintf(d->qmp_dir, sizeof(d->qmp_dir), "%s/qmp", d->cfg.state_dir);
	snprintf(d->journal_dir, sizeof(d->journal_dir), "%s/journal",
		 d->cfg.state_dir);
	snprintf(d->target_journal_dir, sizeof(d->target_journal_dir),
		 "%s/journal-target", d->cfg.state_dir);
	if (mkdir(d->cfg.state_dir, 0700) && errno != EEXIST) {
		logp_(LOG_ERR, "%s: %s", d->cfg.state_dir, svmigd_strerror(errno));
		return -1;
	}
	d->ctl_fd = tcp_listen(d->cfg.listen_control);
	d->data_fd = tcp_listen(d->cfg.listen_data);
	if (d->ctl_fd < 0 || d->data_fd < 0)
		return -1;
	fcntl(d->data_fd, F_SETFL, fcntl(d->data_fd, F_GETFL) | O_NONBLOCK);
	d->unix_fd = unix_listen(d);
	return d->unix_fd < 0 ? -1 : 0;
}

static void teardown(struct daemon *d)
{
	size_t i;

	close_fd(&d->ctl_fd);
	close_fd(&d->data_fd);
	if (d->unix_fd >= 0)
		unlink(d->sock_path);
	close_fd(&d->unix_fd);
	svmig_tls_ctx_free(d->tls);
	X509_STORE_free(d->op_anchors);
	EVP_PKEY_free(d->key);
	if (d->tpm)
		svmigd_tpm_close(d->tpm);
	svmigd_policy_free(d->policy);
	svmigd_policy_retired_free();
	svmigd_config_free(&d->cfg);
	free(d->unauth);
	free(d->unauth_used);
	for (i = 0; i < CLAIMS_MAX; i++)
		free(d->claims[i]);
}

/* A connection refused by a limit: logged at most once a second. */
static void conn_refused(struct daemon *d, const struct sockaddr_storage *ss,
			 const char *why)
{
	char host[INET6_ADDRSTRLEN + 8] = "svmigctl";
	unsigned long unlogged = 0;
	long long now = svmig_now_ms();
	bool log = false;

	pthread_mutex_lock(&d->lock);
	if (now - d->refusal_logged >= 1000) {
		log = true;
		unlogged = d->refusals_unlogged;
		d->refusals_unlogged = 0;
		d->refusal_logged = now;
	} else {
		d->refusals_unlogged++;
	}
	pthread_mutex_unlock(&d->lock);
	if (!log)
		return;
	if (ss && getnameinfo((const struct sockaddr *)ss, sizeof(*ss), host,
			      sizeof(host), NULL, 0, NI_NUMERICHOST))
		snprintf(host, sizeof(host), "?");
	logp_(LOG_WARNING, "connection from %s refused: %s (%lu more refused "
	      "within the last second)", host, why, unlogged);
}

static void *worker(void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;

	if (c->client)
		serve_client(d, c->fd);
	else
		serve_target(c);
	if (!strncmp(c->claim_vm, "vm:", 3))	/* its ADMIT's reservation */
		svmigd_admit_release(c->claim_vm + 3);
	unclaim(d, c->claim_vm);
	unclaim(d, c->claim_from);
	pthread_mutex_lock(&d->lock);
	conn_release_locked(c);
	pthread_mutex_unlock(&d->lock);
	/* after the slot is free: a peer that sees the close may come back */
	close(c->fd);
	free(c);
	return NULL;
}

/* A thread with the signals blocked: they go to the main thread's poll(). */
static int start_thread(pthread_t *t, bool detached, void *(*fn)(void *),
			void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_attr_init(&attr);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return ret;
}

/*
 * An accepted connection (@ss: a peer's address, NULL: svmigctl): within
 * the limits, a worker thread of its own serves it; otherwise it is
 * closed at once.
 */
static void spawn(struct daemon *d, int fd, const struct sockaddr_storage *ss)
{
	struct conn *c = calloc(1, sizeof(*c));
	const char *why = NULL;
	unsigned int i, same = 0;
	int slot = -1;
	pthread_t t;

	if (!c) {
		conn_refused(d, ss, "out of memory");
		close(fd);
		return;
	}
	*c = (struct conn){ .d = d, .fd = fd, .client = !ss, .unauth_slot = -1,
			    .live_slot = -1 };
	if (ss)
		c->peer = *ss;
	pthread_mutex_lock(&d->lock);
	if (!ss) {
		if (d->n_clients >= CLIENTS_MAX)
			why = "too many svmigctl connections at once";
		else
			d->n_clients++;
	} else {
		for (i = 0; i < d->max_unauth; i++) {
			if (d->unauth_used[i])
				same += same_host(&d->unauth[i], ss);
			else if (slot < 0)
				slot = (int)i;
		}
		if (d->n_conns >= d->max_conns)
			why = "too many connections at once ([connections] max_connections)";
		else if (same >= d->unauth_per_addr)
			why = "too many unauthenticated connections from this address "
			      "([connections] max_unauth_per_address)";
		else if (slot < 0)
			why = "too many unauthenticated connections ([connections] max_unauth)";
		if (!why) {
			d->unauth[slot] = *ss;
			d->unauth_used[slot] = true;
			d->n_unauth++;
			c->unauth_slot = slot;
			d->n_conns++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (!why && start_thread(&t, true, worker, c)) {
		why = "cannot start a thread";
		pthread_mutex_lock(&d->lock);
		conn_release_locked(c);
		pthread_mutex_unlock(&d->lock);
	}
	if (why) {
		conn_refused(d, ss, why);
		close(fd);
		free(c);
	}
}

/* Now and then, asks the targets of in-doubt migrations again. */
static void *review_thread(void *arg)
{
	struct daemon *d = arg;

	for (;;) {
		struct timespec ts;
		bool quit;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += REVIEW_EVERY_MS / 1000;
		pthread_mutex_lock(&d->lock);
		while (!d->quit &&
		       pthread_cond_timedwait(&d->cond, &d->lock, &ts) != ETIMEDOUT)
			;
		quit = d->quit;
		pthread_mutex_unlock(&d->lock);
		if (quit)
			return NULL;
		journal_review(d, REVIEW_RETRY);
	}
}

/* Waits until no connection is at work, or until @deadline; how many are. */
static unsigned int wait_idle(struct daemon *d, long long deadline)
{
	unsigned int busy;

	pthread_mutex_lock(&d->lock);
	while (d->n_conns + d->n_clients && svmig_now_ms() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
	busy = d->n_conns + d->n_clients;
	pthread_mutex_unlock(&d->lock);
	return busy;
}

/*
 * SIGTERM: no new connection; those at work have stop_s to finish (within
 * the unit's TimeoutStopSec), then a migration still in DATA gives up
 * ("svmigd is stopping": the source resumes, the target discards) and
 * ABORT_GRACE_S more to unwind.  Returns how many did not end.
 */
static unsigned int wind_down(struct daemon *d, pthread_t review)
{
	unsigned int busy;

	close_fd(&d->ctl_fd);
	if (d->unix_fd >= 0)
		unlink(d->sock_path);
	close_fd(&d->unix_fd);
	pthread_mutex_lock(&d->lock);
	d->quit = true;
	pthread_cond_broadcast(&d->cond);
	busy = d->n_conns + d->n_clients;
	pthread_mutex_unlock(&d->lock);
	if (busy)
		logp_(LOG_INFO, "stopping: waiting up to %u s for %u connections at work",
		      d->stop_s, busy);
	busy = wait_idle(d, svmig_now_ms() + 1000LL * d->stop_s);
	if (busy) {
		logp_(LOG_WARNING, "stopping: %u connections still at work after %u s: "
		      "migrations in DATA give up", busy, d->stop_s);
		atomic_store(&d->abort_data, true);
		busy = wait_idle(d, svmig_now_ms() + 1000LL * ABORT_GRACE_S);
	}
	pthread_join(review, NULL);
	return busy;
}

int svmigd_daemon_run(const struct svmigd_opts *o)
{
	static struct daemon d;
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t data_t, review_t;
	unsigned int busy;
	int rc = 1;

	d.o = o;
	d.ctl_fd = d.data_fd = d.unix_fd = -1;
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.cond, NULL);
	logp_init();
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (setup(&d))
		goto out;
	if (o->check_config) {
		printf("svmigd: %s: configuration, keys, certificates and policy "
		       "of host %s are valid (TPM and sockets not checked)\n",
		       o->config, d.cfg.host_name);
		rc = 0;
		goto out;
	}
	/* Type=notify: the sockets listen, svmigctl and peers may connect. */
	sd_notifyf(0, "READY=1\nSTATUS=%s: listening on %s", d.cfg.host_name,
		   d.cfg.listen_control);
	logp_(LOG_INFO, "%s: listening on %s (control), %s (data), %s; QMP sockets in %s",
	      d.cfg.host_name, d.cfg.listen_control, d.cfg.listen_data,
	      d.sock_path, d.qmp_dir);
	logp_(LOG_INFO, "connections: a thread each, at most %u peers (%u not "
	      "authenticated, %u from one address, %d s to authenticate) and %d "
	      "svmigctl; %u s to finish on SIGTERM", d.max_conns, d.max_unauth,
	      d.unauth_per_addr, d.preauth_ms / 1000, CLIENTS_MAX, d.stop_s);
	target_recover(&d);
	journal_review(&d, REVIEW_STARTUP);
	if (start_thread(&data_t, false, data_thread, &d)) {
		logp_(LOG_ERR, "cannot start the data listener's thread");
		goto out;
	}
	if (start_thread(&review_t, false, review_thread, &d)) {
		logp_(LOG_ERR, "cannot start the journal review thread");
		pthread_mutex_lock(&d.lock);
		d.data_quit = true;
		pthread_mutex_unlock(&d.lock);
		pthread_join(data_t, NULL);
		goto out;
	}
	while (!stopping) {
		struct pollfd pfd[2] = {
			{ .fd = d.ctl_fd, .events = POLLIN },
			{ .fd = d.unix_fd, .events = POLLIN },
		};
		int fd;

		if (reloading) {	/* SIGHUP */
			reloading = 0;
			policy_reload(&d);
		}
		if (poll(pfd, 2, 1000) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);

			fd = accept4(d.ctl_fd, (struct sockaddr *)&ss, &sl,
				     SOCK_CLOEXEC);
			if (fd >= 0)
				spawn(&d, fd, &ss);
		}
		if (pfd[1].revents & POLLIN) {
			fd = accept4(d.unix_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				spawn(&d, fd, NULL);
		}
	}
	sd_notify(0, "STOPPING=1");
	logp_(LOG_INFO, "stopping");
	busy = wind_down(&d, review_t);
	rc = 0;
	if (busy) {
		/* their threads still use d: exit under them */
		logp_(LOG_WARNING, "stopped with %u connections still at work "
		      "(a source's journal entry settles its migration at the next start)",
		      busy);
		/*
		 * Their threads still use d and OpenSSL: no teardown, and no
		 * exit handlers (OpenSSL's cleanup) under them either.
		 */
		fflush(stderr);
		_exit(rc);
	}
	pthread_mutex_lock(&d.lock);
	d.data_quit = true;
	pthread_mutex_unlock(&d.lock);
	pthread_join(data_t, NULL);
out:
	teardown(&d);
	return rc;
}
