// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: recovery: the journals a predecessor left, migrations in doubt, the
 * targets asked how a session ended (outcome.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "daemon_int.h"
#include "outcome.h"
#include "policy.h"
#include "util.h"

/* A stand-in for the session an entry was written in: enough for QMP and audit. */
void journal_mig(struct daemon *d, const struct svmigd_journal_entry *e,
		 struct svmigd_session *s, struct mig *m)
{
	memset(s, 0, sizeof(*s));
	s->source = true;
	memcpy(s->id, e->session, sizeof(s->id));
	snprintf(s->peer, sizeof(s->peer), "%s", e->peer);
	snprintf(s->operator, sizeof(s->operator), "%s", e->operator);
	snprintf(s->request.req.vm, sizeof(s->request.req.vm), "%s", e->vm);
	memset(m, 0, sizeof(*m));
	m->d = d;
	m->s = s;
	m->conn_fd = m->sv = m->sock = m->client = -1;
	m->was_running = e->was_running;
	m->journalled = true;
}

/*
 * No COMMIT left this host (phase "data"), so the target discards its
 * copy (it never resumes without one): the source VM is put back as it
 * was.  Runs only between migrations, so no DATA step of ours is live.
 */
static void journal_resume(struct mig *m)
{
	char why[1100];

	progress(m, "recover", "vm %s: the migration to %s was in DATA when svmigd "
		 "stopped; no COMMIT was sent", m->s->request.req.vm, m->s->peer);
	if (qmp_connect(m)) {
		progress(m, "recover", "%s: CHECK IT BY HAND", m->err);
		return;
	}
	if (source_resume(m))
		return;
	snprintf(why, sizeof(why), "svmigd restarted during DATA, before any COMMIT: "
		 "the source VM is back as it was (%s)",
		 m->was_running ? "running" : "paused");
	audit_with(m, "recovered", "restart", "outcome", why);
}

/* Asks the target how session m->s ended (outcome.h); 0 and *out, or -1. */
static int ask_outcome(struct mig *m, enum svmigd_outcome *out)
{
	struct daemon *d = m->d;
	char ctl[300], data[300], err[SVMIGD_SESSION_ERR_LEN];
	int ret = -1;

	if (peer_addrs(d, m->s->peer, ctl, sizeof(ctl), data, sizeof(data)))
		return failf(m, "no address for %s (svmigd --peer)", m->s->peer);
	m->conn_fd = tcp_connect(ctl, OUTCOME_TIMEOUT_MS);
	if (m->conn_fd < 0)
		return failf(m, "cannot connect to %s at %s: %s", m->s->peer, ctl,
			     svmigd_strerror(errno));
	if (svmig_tls_connect(d->tls, m->conn_fd, m->s->peer, OUTCOME_TIMEOUT_MS,
			      &m->conn, err, sizeof(err)))
		failf(m, "%s", err);
	else if (svmigd_outcome_ask(m->conn, &d->scfg, m->s->id, m->s->operator,
				    m->s->request.req.vm, out, err, sizeof(err)))
		failf(m, "%s", err);
	else
		ret = 0;
	if (m->conn)
		svmig_tls_shutdown(m->conn, 2000);
	svmig_tls_free(m->conn);
	m->conn = NULL;
	close_fd(&m->conn_fd);
	return ret;
}

/*
 * The target's signed word settles it: its copy runs, or never will.
 * Either way the source QEMU must be made to match, over QMP: while it
 * cannot be reached the entry stays (a paused copy nobody tracks could
 * be resumed later, next to the target's).
 */
static void journal_decided(struct mig *m, enum svmigd_outcome o)
{
	char why[300];

	if (!m->q) {
		progress(m, "recover", "%s's signed OUTCOME says %s for vm %s, but the "
			 "source QEMU cannot be reached (%s): the entry stays; "
			 "svmigctl settle it once that QEMU is gone or reachable",
			 m->s->peer, svmigd_outcome_name(o), m->s->request.req.vm,
			 m->err[0] ? m->err : "QMP");
		return;
	}
	if (o == SVMIGD_OUTCOME_RESUMED) {
		if (qmp_execute(m->q, "quit", NULL, NULL) && qmp_usable(m->q)) {
			progress(m, "recover", "%s resumed vm %s, but quit failed "
				 "here: %s: CHECK IT BY HAND", m->s->peer,
				 m->s->request.req.vm, qmp_strerror(m->q));
			return;
		}
		snprintf(why, sizeof(why), "in doubt, then %s's signed OUTCOME "
			 "said resumed: the source QEMU was told to quit", m->s->peer);
		mig_vtpm_destroy(m);
	} else {
		if (source_resume(m))
			return;
		snprintf(why, sizeof(why), "in doubt, then %s's signed OUTCOME "
			 "said not-committed: the source VM is back as it was (%s)",
			 m->s->peer, m->was_running ? "running" : "paused");
	}
	progress(m, "recover", "vm %s: %s", m->s->request.req.vm, why);
	audit_with(m, "settled", "restart", "outcome", why);
	journal_drop(m, m->d->journal_dir);
}

/*
 * The COMMIT may have reached the target (phase "commit"): only the
 * target knows whether its copy runs.  Only its signed OUTCOME
 * ("resumed" or "not-committed") or an operator's svmigctl settle
 * settles the entry: not a QMP failure, not a source VM found running
 * (someone ran cont by hand: two copies may run, said loudly), not a
 * timeout.  @ask: the target is asked now; @loud: say so when it stays.
 */
static void journal_in_doubt(struct mig *m, bool ask, bool loud)
{
	char st[64] = "unreachable (QMP)", hex[2 * SVMIGD_SESSION_ID_LEN + 1];
	enum svmigd_outcome o = SVMIGD_OUTCOME_UNKNOWN;
	char qmp_err[sizeof(m->err)];

	svmigd_hex_encode(hex, m->s->id, SVMIGD_SESSION_ID_LEN);
	m->err[0] = '\0';
	if (qmp_connect(m) || vm_status(m, st, sizeof(st))) {
		snprintf(st, sizeof(st), "unreachable (QMP)");
		if (m->q) {
			qmp_close(m->q);
			m->q = NULL;
		}
	}
	snprintf(qmp_err, sizeof(qmp_err), "%s", m->err);
	if (is(st, "running") && (ask || loud))
		logp_(LOG_CRIT, "journal: vm %s: the source VM RUNS while its migration "
		      "to %s is in doubt (session %s): if %s resumed it too, two "
		      "copies run", m->s->request.req.vm, m->s->peer, hex, m->s->peer);
	if (!ask)
		return;
	m->err[0] = '\0';
	if (!ask_outcome(m, &o) && (o == SVMIGD_OUTCOME_RESUMED ||
				    o == SVMIGD_OUTCOME_NOT_COMMITTED)) {
		journal_decided(m, o);
		return;
	}
	if (!loud)
		return;
	logp_(LOG_CRIT, "journal: vm %s: IN DOUBT: the COMMIT of session %s may have reached "
	      "%s, which %s; the source VM is %s%s%s and the entry stays until %s "
	      "answers or an operator runs svmigctl settle", m->s->request.req.vm,
	      hex, m->s->peer, m->err[0] ? m->err : svmigd_outcome_name(o), st,
	      qmp_err[0] ? ": " : "", qmp_err, m->s->peer);
	audit_with(m, "in-doubt", "restart", "outcome",
		   "svmigd restarted after the COMMIT: the entry stays in doubt");
}

struct review {
	struct daemon *d;
	enum review_mode mode;
};

static int journal_review_one(void *arg, const struct svmigd_journal_entry *e)
{
	struct review *rv = arg;
	struct svmigd_session s;
	struct mig m;
	char vmclaim[SVMIGD_NAME_MAX + 8];

	/* a migration of this VM, or another review of it, is at work */
	snprintf(vmclaim, sizeof(vmclaim), "vm:%s", e->vm);
	if (claim(rv->d, vmclaim))
		return 0;
	journal_mig(rv->d, e, &s, &m);
	if (e->phase == SVMIGD_JOURNAL_DATA && rv->mode == REVIEW_STARTUP)
		journal_resume(&m);
	else if (e->phase == SVMIGD_JOURNAL_COMMIT)
		journal_in_doubt(&m, rv->mode != REVIEW_QUICK,
				 rv->mode == REVIEW_STARTUP);
	if (m.q)
		qmp_close(m.q);
	unclaim(rv->d, vmclaim);
	return 0;
}

static void journal_bad(void *arg, const char *file, const char *why)
{
	(void)arg;
	logp_(LOG_CRIT, "journal: %s: %s; left in place, CHECK IT BY HAND", file, why);
}

/* What a predecessor left, what an operator settled, what a target says. */
void journal_review(struct daemon *d, enum review_mode mode)
{
	struct review rv = { .d = d, .mode = mode };
	char err[512];

	if (svmigd_journal_scan(d->journal_dir, journal_review_one, journal_bad,
				&rv, err, sizeof(err)))
		logp_(LOG_ERR, "%s", err);
}

/*
 * A predecessor took this session's COMMIT and wrote "resumed" before its
 * cont (target_handover), then died: the source never resumes its copy
 * any more, so ours must run.  Once it does, the audit log says
 * "resumed", as the RESUMED would have, and the entry goes.  If it cannot
 * run, the entry goes too: a QUERY is answered "committed" (both copies
 * paused, for an operator), never "resumed" for a VM that does not run.
 */
static int target_recover_one(void *arg, const struct svmigd_journal_entry *e)
{
	struct daemon *d = arg;
	struct svmigd_session s;
	struct mig m;
	char vmclaim[SVMIGD_NAME_MAX + 8], why[300];

	snprintf(vmclaim, sizeof(vmclaim), "vm:%s", e->vm);
	if (e->phase != SVMIGD_JOURNAL_RESUMED || claim(d, vmclaim))
		return 0;
	journal_mig(d, e, &s, &m);
	s.source = false;
	if (qmp_connect(&m) || target_cont(&m)) {
		logp_(LOG_CRIT, "recover: vm %s: its journal says resumed (COMMIT of %s "
		      "taken) but it does not run: %s: CHECK IT BY HAND", e->vm,
		      e->peer, m.err);
		audit(&m, "failed", "restart", m.err);
	} else {
		snprintf(why, sizeof(why), "svmigd restarted between its journal's "
			 "RESUMED and the RESUMED message: the VM runs here");
		progress(&m, "recover", "vm %s: %s", e->vm, why);
		audit_with(&m, "resumed", "restart", "outcome", why);
	}
	journal_drop(&m, d->target_journal_dir);
	if (m.q)
		qmp_close(m.q);
	unclaim(d, vmclaim);
	return 0;
}

/* What a predecessor left in the target's journal: runs before any peer. */
void target_recover(struct daemon *d)
{
	char err[512];

	if (svmigd_journal_scan(d->target_journal_dir, target_recover_one,
				journal_bad, d, err, sizeof(err)))
		logp_(LOG_ERR, "%s", err);
}
