// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: migrations libvirt drives (libvirt.h): the daemon's side of them,
 * source and target.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon_int.h"
#include "libvirt.h"
#include "util.h"
#include "verdict.h"

/* Migrations libvirt drives (libvirt.h): the daemon's side of them. */

static void lv_progress(void *arg, const char *step, const char *detail)
{
	progress(arg, step, "%s", detail);
}

/* The libvirt URI of host @name (svmigd --libvirt-peer NAME=URI), or NULL. */
static const char *lv_peer_uri(struct daemon *d, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; i < d->o->n_libvirt_peers; i++)
		if (!strncmp(d->o->libvirt_peers[i], name, n) &&
		    d->o->libvirt_peers[i][n] == '=')
			return d->o->libvirt_peers[i] + n + 1;
	return NULL;
}

/* The target: libvirt's if svmigd has one and no QMP socket names the VM. */
bool lv_target(struct mig *m)
{
	char path[1024];

	if (!m->d->o->libvirt_uri)
		return false;
	snprintf(path, sizeof(path), "%s/%s.qmp", m->d->qmp_dir, m->s->request.req.vm);
	return access(path, F_OK) != 0;
}

/* What a libvirt migration's multifd channels need of the daemon. */
struct lv_data {
	struct mig *m;
	const char *addr;			/* source: the target's data address */
	const struct sockaddr_storage *peer;	/* target: the peer's address */
	long long since;			/* target: its TLS handshake ended */
};

/* Source: one more data connection to the target. */
static int lv_connect_data(void *arg)
{
	struct lv_data *ld = arg;
	int one = 1, fd = tcp_connect(ld->addr, IO_TIMEOUT_MS);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_sock_timeout(fd, SO_SNDTIMEO, 60);
	set_sock_timeout(fd, SO_RCVTIMEO, 60);
	return fd;
}

/* Target: the peer's next data connection if one is waiting, else -1. */
static int lv_take_data(void *arg)
{
	struct lv_data *ld = arg;
	struct daemon *d = ld->m->d;
	int fd = -1;
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->n_pending; i++)
		if (same_host(&d->pending[i].peer, ld->peer) &&
		    d->pending[i].at >= ld->since)
			break;
	if (i < d->n_pending) {
		fd = d->pending[i].fd;
		memmove(&d->pending[i], &d->pending[i + 1],
			(d->n_pending - i - 1) * sizeof(d->pending[0]));
		d->n_pending--;
	}
	pthread_mutex_unlock(&d->lock);
	if (fd >= 0) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		set_sock_timeout(fd, SO_SNDTIMEO, 60);
		set_sock_timeout(fd, SO_RCVTIMEO, 60);
	}
	return fd;
}

static void lv_setup(struct mig *m, struct svmigd_lvmig *x)
{
	*x = (struct svmigd_lvmig){
		.local_uri = m->d->o->libvirt_uri,
		.peer_uri = lv_peer_uri(m->d, m->s->peer),
		.relay_dir = m->d->o->relay_dir ?: SVMIGD_RELAY_DIR_DEFAULT,
		.sock = m->sock, .ctl_fd = m->conn_fd, .idle_ms = 2 * IO_TIMEOUT_MS,
		.no_tpm = m->d->o->no_tpm_salt, .conn = m->conn, .scfg = &m->d->scfg,
		.s = m->s, .progress = lv_progress, .arg = m,
	};
}

/* Source, before the session: libvirt knows the VM and the target. */
int lv_source_check(struct mig *m, const struct svmigd_request *r)
{
	char err[512];

	if (!m->d->o->libvirt_uri)
		return failf(m, "svmigd runs without --libvirt: no libvirt migrations");
	if (!lv_peer_uri(m->d, r->target))
		return failf(m, "no libvirt URI for %s (svmigd --libvirt-peer %s=URI)",
			     r->target, r->target);
	if (svmigd_lv_check(m->d->o->libvirt_uri, r->vm, r->vm_mem_mib, r->vm_vcpus,
			    err, sizeof(err)))
		return failf(m, "%s", err);
	return 0;
}

/* Source, after the session: the relay and libvirt's migration; the result. */
void lv_source(struct mig *m, const char *data_addr, unsigned int channels)
{
	struct lv_data ld = { .m = m, .addr = data_addr };
	struct svmigd_lvmig x;
	int one = 1, ret;

	m->sock = tcp_connect(data_addr, IO_TIMEOUT_MS);
	if (m->sock < 0) {
		failf(m, "cannot connect to %s's data address %s: %s", m->s->peer,
		      data_addr, svmigd_strerror(errno));
		audit(m, "failed", "data", m->err);
		result(m->client, false, m->err, NULL);
		return;
	}
	setsockopt(m->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_sock_timeout(m->sock, SO_SNDTIMEO, 60);
	set_sock_timeout(m->sock, SO_RCVTIMEO, 60);
	progress(m, "data", "connected to %s; keying channels 0 (stream) and 1 "
		 "(return path)", data_addr);
	audit(m, "data", "attached", NULL);
	lv_setup(m, &x);
	x.channels = channels;
	x.data_conn = lv_connect_data;
	x.data_arg = &ld;
	ret = svmigd_lv_source(&x);
	m->st = x.st;
	if (ret == SVMIGD_LV_DONE) {
		audit(m, "completed", "quit", NULL);
		result(m->client, true, NULL, &x.receipt);
		return;
	}
	snprintf(m->err, sizeof(m->err), "%s", x.err);
	progress(m, "data", "failed: %s", m->err);
	audit(m, "failed", ret == SVMIGD_LV_IN_DOUBT ? "resume" : "data", m->err);
	result(m->client, false, m->err, x.receipt.records ? &x.receipt : NULL);
}

/* Target, after the session: the relay into libvirt's QEMU, then the handover. */
void lv_target_data(struct mig *m, const struct sockaddr_storage *peer,
		    long long since)
{
	struct lv_data ld = { .m = m, .peer = peer, .since = since };
	char err[SVMIGD_SESSION_ERR_LEN];
	struct svmigd_lvmig x;
	int ret;

	if (target_accept_data(m, peer, since)) {
		char reason[SVMIGD_REASON_MAX + 1];

		logp_(LOG_ERR, "DATA failed: %s", m->err);
		audit(m, "failed", "data", m->err);
		svmigd_stream_reason(NULL, m->err, reason, sizeof(reason));
		if (svmigd_session_receipt_send(m->conn, &m->d->scfg, m->s, false, 0, 0,
						reason, NULL, err, sizeof(err)))
			logp_(LOG_ERR, "receipt: %s", err);
		return;
	}
	set_sock_timeout(m->sock, SO_SNDTIMEO, 60);
	set_sock_timeout(m->sock, SO_RCVTIMEO, 60);
	audit(m, "data", "attached", NULL);
	lv_setup(m, &x);
	x.data_conn = lv_take_data;
	x.data_arg = &ld;
	ret = svmigd_lv_target(&x);
	m->st = x.st;
	if (ret == SVMIGD_LV_DONE) {
		logp_(LOG_INFO, "vm %s verified and running here (libvirt)",
		      m->s->request.req.vm);
		return;
	}
	snprintf(m->err, sizeof(m->err), "%s", x.err);
	kernel_account(m);
	logp_(LOG_ERR, "DATA failed: %s", m->err);
	audit(m, "failed", ret == SVMIGD_LV_IN_DOUBT ? "resume" : "data", m->err);
}
