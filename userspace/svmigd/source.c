// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the source's DATA step and its end: the stream out through
 * /dev/svmig, the COMMIT/RESUMED handover, the source VM put back after a
 * failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <syslog.h>

#include "audit_exchange.h"
#include "daemon_int.h"
#include "util.h"

int source_data(struct mig *m, const char *data_addr)
{
	struct json_object *args;
	char st[64];
	int one = 1, ret;

	if (qmp_connect(m) || vm_status(m, st, sizeof(st)))
		return -1;
	if (is(st, "inmigrate"))
		return failf(m, "the source QEMU is waiting for a migration itself");
	m->was_running = is(st, "running");
	if (journal_mark(m, m->d->journal_dir, SVMIGD_JOURNAL_DATA))
		return -1;
	if (svmig_key(m, SVMIG_ROLE_SENDER))
		return -1;
	m->sock = tcp_connect(data_addr, IO_TIMEOUT_MS);
	if (m->sock < 0)
		return failf(m, "cannot connect to %s's data address %s: %s",
			     m->s->peer, data_addr, svmigd_strerror(errno));
	setsockopt(m->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (set_sock_timeout(m->sock, SO_SNDTIMEO, 60))
		return failf(m, "SO_SNDTIMEO: %s", svmigd_strerror(errno));
	ret = svmig_attach_socket(m->sv, m->sock);
	if (ret)
		return failf(m, "SVMIG_IOC_ATTACH_SOCK: %s", svmigd_strerror(-ret));
	progress(m, "data", "connected to %s; sender keyed and attached", data_addr);
	audit(m, "data", "attached", NULL);
	/* QEMU's default 32 MiB/s may not converge with a busy guest. */
	args = json_object_new_object();
	json_object_object_add(args, "max-bandwidth",
			       json_object_new_int64(1LL << 30));
	if (qmp_execute(m->q, "migrate-set-parameters", args, NULL))
		logp_(LOG_ERR, "migrate-set-parameters: %s", qmp_strerror(m->q));
	json_object_put(args);
	if (pass_fd_migrate(m, "migrate") || wait_migration(m, true))
		return -1;
	/* Whatever QEMU did to the shared file's flags, FINISH waits (SO_SNDTIMEO). */
	if (fcntl(m->sv, F_SETFL, fcntl(m->sv, F_GETFL) & ~O_NONBLOCK))
		return failf(m, "fcntl(O_NONBLOCK off): %s", svmigd_strerror(errno));
	ret = svmig_finish(m->sv);
	if (ret)
		return failf(m, "SVMIG_IOC_FINISH: %s", svmigd_strerror(-ret));
	/* what the receipt's counts must match */
	ret = svmig_get_stats(m->sv, &m->st);
	if (ret)
		return failf(m, "SVMIG_IOC_GET_STATS: %s", svmigd_strerror(-ret));
	close_fd(&m->sv);
	close_fd(&m->sock);
	progress(m, "data", "QEMU completed; END sent (%llu records)",
		 (unsigned long long)m->st.records);
	return 0;
}

/*
 * Puts the source VM back as it was before a failed migration: running
 * again if it ran (a paused VM stays paused).  0 once that is so, and the
 * journal entry is removed; -1 when it needs an operator.
 */
int source_resume(struct mig *m)
{
	struct json_object *ret;
	const char *st;
	int rc = 0;

	if (!m->q || !qmp_usable(m->q)) {
		progress(m, "recover", "no QMP connection to the source QEMU: CHECK IT BY HAND");
		return -1;
	}
	qmp_execute(m->q, "migrate_cancel", NULL, NULL);
	wait_terminal(m);
	if (qmp_execute(m->q, "query-status", NULL, &ret)) {
		progress(m, "recover", "cannot query the source VM: CHECK IT BY HAND");
		return -1;
	}
	st = jstr(ret, "status") ?: "?";
	if (is(st, "running")) {
		progress(m, "recover", "the source VM is running");
	} else if (!m->was_running) {
		progress(m, "recover", "the source VM is %s and stays paused, "
			 "as it was before the migration", st);
	} else if (!qmp_execute(m->q, "cont", NULL, NULL)) {
		progress(m, "recover", "the source VM was %s: resumed it", st);
	} else {
		progress(m, "recover", "the source VM is %s, cont failed: CHECK IT BY HAND", st);
		rc = -1;
	}
	json_object_put(ret);
	if (!rc)
		journal_drop(m, m->d->journal_dir);
	return rc;
}

/*
 * After a valid "ok" receipt: COMMIT (from now on the source VM is never
 * resumed here), then quit it on the target's RESUMED.  Without RESUMED
 * nobody can tell from here whether the target runs the VM: the source
 * keeps its copy paused and the operator decides (the target's audit log
 * or svmigctl status there tells).
 */
int source_handover(struct mig *m, const struct svmigd_receipt *r)
{
	const struct svmigd_session_cfg *cfg = &m->d->scfg;
	char err[SVMIGD_SESSION_ERR_LEN];
	int ret;

	progress(m, "commit", "valid receipt (%llu records verified): "
		 "committing", (unsigned long long)r->records);
	if (journal_mark(m, m->d->journal_dir, SVMIGD_JOURNAL_COMMIT)) {
		audit(m, "failed", "commit", m->err);
		source_resume(m);
		return -1;
	}
	failpoint("before-commit");
	ret = svmigd_session_handover_send(m->conn, cfg, m->s, SVMIGD_COMMIT,
					   r->sha256, err, sizeof(err));
	if (ret && ret != -ENOTCONN) {
		failf(m, "%s", err);
		audit(m, "failed", "commit", m->err);
		source_resume(m);
		return -1;
	}
	if (!ret) {
		failpoint("after-commit");
		ret = svmigd_session_handover_recv(m->conn, cfg, m->s,
						   SVMIGD_RESUMED, r->sha256,
						   err, sizeof(err));
	}
	if (ret) {
		failf(m, "IN DOUBT: %s; %s may or may not run vm %s, so the "
		      "source VM stays paused here: check %s, then quit or "
		      "cont the source by hand", err, m->s->peer,
		      m->s->request.req.vm, m->s->peer);
		progress(m, "resumed", "%s", m->err);
		return -1;
	}
	if (qmp_execute(m->q, "quit", NULL, NULL) && qmp_usable(m->q))
		progress(m, "quit", "quit: %s", qmp_strerror(m->q));
	else
		progress(m, "quit", "%s resumed the VM: source QEMU told to quit",
			 m->s->peer);
	journal_drop(m, m->d->journal_dir);
	audit(m, "completed", "quit", NULL);
	mig_vtpm_destroy(m);
	if (svmigd_audit_heads_exchange(m->conn, cfg, m->s, err, sizeof(err)))
		logp_(LOG_WARNING, "audit heads: %s (the migration is done)", err);
	return 0;
}
