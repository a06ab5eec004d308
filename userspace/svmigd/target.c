// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the target: a peer's control connection served (serve_target), its
 * DATA step in through /dev/svmig, the receipt and the COMMIT/RESUMED
 * handover, or the discard.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <openssl/crypto.h>

#include "audit_exchange.h"
#include "daemon_int.h"
#include "policy.h"
#include "util.h"
#include "verdict.h"

static int target_data(struct mig *m, const struct sockaddr_storage *peer,
		       long long since)
{
	char st[64];
	int ret;

	if (qmp_connect(m) || vm_status(m, st, sizeof(st)))
		return -1;
	if (!is(st, "inmigrate"))
		return failf(m, "the destination QEMU is %s, not waiting for a "
			     "migration (-incoming defer)", st);
	/*
	 * -incoming does not imply -S: without it QEMU would start the guest
	 * as soon as the stream is loaded, before the END verifies.  QMP stop
	 * while incoming clears QEMU's autostart, whatever its command line:
	 * only our cont after the COMMIT runs it.
	 */
	if (qmp_cmd(m, "stop", NULL))
		return -1;
	if (vm_size_check(m, &m->s->request.req))
		return -1;
	if (svmig_key(m, SVMIG_ROLE_RECEIVER))
		return -1;
	if (target_accept_data(m, peer, since))
		return -1;
	if (set_sock_timeout(m->sock, SO_RCVTIMEO, 60))
		return failf(m, "SO_RCVTIMEO: %s", svmigd_strerror(errno));
	ret = svmig_attach_socket(m->sv, m->sock);
	if (ret)
		return failf(m, "SVMIG_IOC_ATTACH_SOCK: %s", svmigd_strerror(-ret));
	progress(m, "data", "%s connected; receiver keyed and attached", m->s->peer);
	audit(m, "data", "attached", NULL);
	if (pass_fd_migrate(m, "migrate-incoming") || wait_migration(m, false))
		return -1;
	failpoint("before-verify");
	/*
	 * QEMU's incoming coroutine made the file (shared with m->sv)
	 * O_NONBLOCK, and svmig.ko honours it: RECV must wait for the END,
	 * bounded by SO_RCVTIMEO.
	 */
	if (fcntl(m->sv, F_SETFL, fcntl(m->sv, F_GETFL) & ~O_NONBLOCK))
		return failf(m, "fcntl(O_NONBLOCK off): %s", svmigd_strerror(errno));
	ret = svmig_recv(m->sv, 0, NULL);
	if (ret)
		return failf(m, "no verified END record: %s", svmigd_strerror(-ret));
	ret = svmig_verify(m->sv);
	if (ret)
		return failf(m, "SVMIG_IOC_VERIFY: %s", ret == -EBADMSG ?
			     "the END does not match the stream" : svmigd_strerror(-ret));
	ret = svmig_get_stats(m->sv, &m->st);
	if (ret)
		return failf(m, "SVMIG_IOC_GET_STATS: %s", svmigd_strerror(-ret));
	if (m->st.verdict != SVMIG_VERDICT_VERIFIED || m->st.auth_failures ||
	    m->st.replays || m->st.proto_errors)
		return failf(m, "verdict %u, %llu auth failures, %llu replays, "
			     "%llu protocol errors", m->st.verdict,
			     (unsigned long long)m->st.auth_failures,
			     (unsigned long long)m->st.replays,
			     (unsigned long long)m->st.proto_errors);
	if (vm_status(m, st, sizeof(st)))
		return -1;
	if (is(st, "running")) {
		qmp_execute(m->q, "stop", NULL, NULL);
		return failf(m, "the destination VM resumed before verification");
	}
	audit(m, "data", "verified", NULL);
	return 0;
}

/* Quits the destination QEMU: its VM never ran and never will. */
static void target_discard(struct mig *m)
{
	if (m->q && qmp_usable(m->q) && !qmp_execute(m->q, "quit", NULL, NULL))
		logp_(LOG_INFO, "destination QEMU told to quit");
}

/* cont, and the VM runs: 0, or -1 with m->err. */
int target_cont(struct mig *m)
{
	char st[64];

	if (qmp_cmd(m, "cont", NULL) || vm_status(m, st, sizeof(st)))
		return -1;
	if (!is(st, "running"))
		return failf(m, "the destination VM is %s after cont", st);
	return 0;
}

/*
 * The verified VM waits, paused, until the source commits (it will not
 * resume its copy any more): then it runs here and the source may quit
 * its own.  Without a valid COMMIT the source still has its copy, so ours
 * is discarded; committed but unable to resume, ours is kept paused for
 * the operator (the source keeps its paused copy too: no RESUMED).  The
 * journal's "resumed" goes down before the cont: a QUERY answered after a
 * crash between the two says "resumed", and our successor resumes it.
 */
static void target_handover(struct mig *m)
{
	const struct svmigd_session_cfg *cfg = &m->d->scfg;
	uint8_t receipt[SVMIGD_SHA256_LEN];
	char err[SVMIGD_SESSION_ERR_LEN];
	uint64_t records = m->st.records + failpoint_set("receipt-miscount");
	int ret;

	if (svmigd_session_receipt_send(m->conn, cfg, m->s, true, records,
					m->st.bytes, NULL, receipt, err,
					sizeof(err))) {
		logp_(LOG_ERR, "receipt: %s; discarding the VM", err);
		target_discard(m);
		return;
	}
	logp_(LOG_INFO, "vm %s verified; receipt sent, waiting for the COMMIT",
	      m->s->request.req.vm);
	if (svmigd_session_handover_recv(m->conn, cfg, m->s, SVMIGD_COMMIT,
					 receipt, err, sizeof(err))) {
		logp_(LOG_WARNING, "%s; the source keeps its copy: discarding ours", err);
		target_discard(m);
		return;
	}
	ret = journal_mark(m, m->d->target_journal_dir, SVMIGD_JOURNAL_RESUMED);
	if (!ret) {
		failpoint("before-cont");
		ret = target_cont(m);
	}
	if (ret) {
		logp_(LOG_ERR, "COMMIT received but the VM does not run (%s): it stays "
		      "paused here and on %s: CHECK IT BY HAND", m->err,
		      m->s->peer);
		audit(m, "failed", "resume", m->err);
		journal_drop(m, m->d->target_journal_dir);	/* a QUERY says "committed" now */
		return;
	}
	logp_(LOG_INFO, "vm %s resumed", m->s->request.req.vm);
	ret = svmigd_session_handover_send(m->conn, cfg, m->s, SVMIGD_RESUMED,
					   receipt, err, sizeof(err));
	if (!ret || ret == -ENOTCONN)	/* audited: the log answers now */
		journal_drop(m, m->d->target_journal_dir);
	if (ret)
		logp_(LOG_WARNING, "%s (the VM runs here; %s keeps its paused copy until "
		      "it asks again or an operator settles it)", err, m->s->peer);
	else if (svmigd_audit_heads_exchange(m->conn, cfg, m->s, err, sizeof(err)))
		logp_(LOG_WARNING, "audit heads: %s (the migration is done)", err);
}

/*
 * DATA failed: the destination QEMU quits, and the source learns why in a
 * signed "failed" receipt (verdict.h: the kernel's refusal, else ours).
 */
static void target_failed(struct mig *m, const struct svmigd_session_cfg *scfg)
{
	char reason[SVMIGD_REASON_MAX + 1], err[SVMIGD_SESSION_ERR_LEN];
	struct svmig_stats st;
	bool have_stats = m->sv >= 0 && !svmig_get_stats(m->sv, &st);

	svmigd_stream_reason(have_stats ? &st : NULL, m->err, reason,
			     sizeof(reason));
	kernel_account(m);
	logp_(LOG_ERR, "DATA failed: %s", m->err);
	cut_socket(m);
	/* right after the cut, while the source waits for it */
	if (svmigd_session_receipt_send(m->conn, scfg, m->s, false,
					have_stats ? st.records : 0,
					have_stats ? st.bytes : 0, reason, NULL,
					err, sizeof(err)))
		logp_(LOG_ERR, "receipt: %s", err);
	audit(m, "failed", "data", m->err);
	target_discard(m);
}

/*
 * A peer's control connection, served to its end as the target (or as
 * the attester, or answering a QUERY).  Before the peer is known to be a
 * host of the policy it has d->preauth_ms for the TLS handshake and its
 * first message, and frames of at most PREAUTH_FRAME_MAX bytes.
 */
void serve_target(struct conn *c)
{
	struct daemon *d = c->d;
	struct svmigd_session s;
	struct svmigd_session_cfg scfg = d->scfg;
	struct mig m = { .d = d, .s = &s, .conn_fd = c->fd, .sv = -1, .sock = -1,
			 .client = -1 };
	long long deadline = svmig_now_ms() + d->preauth_ms;
	char err[SVMIGD_SESSION_ERR_LEN];
	const char *cn;
	int ret;

	memset(&s, 0, sizeof(s));
	ret = svmig_tls_accept(d->tls, c->fd, d->preauth_ms, &m.conn, err,
			       sizeof(err));
	if (ret) {
		logp_(LOG_ERR, "control connection: %s", err);
		return;
	}
	c->since = svmig_now_ms();
	svmig_tls_set_frame_max(m.conn, PREAUTH_FRAME_MAX);
	cn = svmig_tls_peer_cn(m.conn);
	if (!cn || !svmigd_policy_host(d->policy, cn)) {
		snprintf(err, sizeof(err), "the peer's certificate (CN %s) names no "
			 "host of the policy", cn ? cn : "-");
		audit_early(d, "refused", "target", NULL, cn, "tls", err);
		svmig_tls_shutdown(m.conn, 0);
		goto out;
	}
	/* a host of the policy: the full frame size, the first message soon */
	conn_authenticated(c);
	svmig_tls_set_frame_max(m.conn, 0);
	scfg.first_timeout_ms = (int)(deadline - svmig_now_ms());
	if (scfg.first_timeout_ms < 1)
		scfg.first_timeout_ms = 1;
	scfg.check_request = check_request;
	scfg.admit = admit;
	scfg.check_arg = c;
	scfg.session_live = session_live;
	ret = svmigd_session_target(m.conn, &scfg, &s, err, sizeof(err));
	if (ret == SVMIGD_SESSION_PROBED ||	/* attestation only */
	    ret == SVMIGD_SESSION_ANSWERED) {	/* how a session ended */
		logp_(LOG_ERR, "%s", err);
		svmig_tls_shutdown(m.conn, 2000);
		goto out;
	}
	if (ret) {
		logp_(LOG_WARNING, "session refused or failed: %s", err);
		goto out;
	}
	live_add(c, s.id);
	logp_(LOG_INFO, "session with %s for vm %s (operator %s, role %s)", s.peer,
	      s.request.req.vm, s.operator, s.role);
	if (lv_target(&m)) {
		lv_target_data(&m, &c->peer, c->since);
		goto done;
	}
	ret = target_data(&m, &c->peer, c->since);
	OPENSSL_cleanse(s.secret, sizeof(s.secret));
	if (!ret)
		ret = mig_vtpm_check(&m);
	if (ret) {
		target_failed(&m, &scfg);
	} else {
		target_handover(&m);
	}
done:
	svmig_tls_shutdown(m.conn, 2000);
out:
	svmigd_session_wipe(&s);
	if (m.q)
		qmp_close(m.q);
	close_fd(&m.sv);
	close_fd(&m.sock);
	svmig_tls_free(m.conn);
}
