// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the svmigctl socket: one command per connection (status, attest,
 * migrate, settle) and the source side of a migration (serve_migrate).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "daemon_int.h"
#include "policy.h"
#include "relay.h"
#include "util.h"

static int journal_list_one(void *arg, const struct svmigd_journal_entry *e)
{
	struct json_object *o = json_object_new_object();
	char hex[2 * SVMIGD_SESSION_ID_LEN + 1];

	svmigd_hex_encode(hex, e->session, SVMIGD_SESSION_ID_LEN);
	add_str(o, "vm", e->vm);
	add_str(o, "peer", e->peer);
	add_str(o, "phase", svmigd_journal_phase_name(e->phase));
	add_str(o, "session", hex);
	json_object_object_add(o, "since", json_object_new_int64(e->time));
	json_object_array_add(arg, o);
	return 0;
}

/* An unsettled migration of @vm blocks a new one: 0 if there is none. */
static int journal_blocks(struct daemon *d, const char *vm, char *err,
			  size_t len)
{
	struct svmigd_journal_entry e;
	char path[2048], why[200];

	if (!svmigd_journal_vm_ok(vm))
		return 0;	/* refused as a QMP socket name later */
	snprintf(path, sizeof(path), "%s/%s.json", d->journal_dir, vm);
	if (access(path, F_OK))
		return 0;
	if (svmigd_journal_read(path, &e, why, sizeof(why)))
		snprintf(err, len, "vm %s has an unreadable journal entry (%s): "
			 "CHECK IT BY HAND", vm, why);
	else
		snprintf(err, len, "vm %s's migration to %s is in doubt (journal "
			 "phase %s): svmigctl settle it first", vm,
			 e.peer, svmigd_journal_phase_name(e.phase));
	return -1;
}

/* Who asked on the svmigctl socket (its credentials), for the audit log. */
static void client_who(int client, char *who, size_t len)
{
	struct ucred cred;
	socklen_t sl = sizeof(cred);

	if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &sl))
		snprintf(who, len, "an operator (credentials unknown)");
	else
		snprintf(who, len, "an operator (uid %u, pid %d)",
			 (unsigned int)cred.uid, (int)cred.pid);
}

/* The operator says the target runs the VM: the source copy goes. */
static int settle_resumed(struct mig *m, const char **done)
{
	if (qmp_connect(m)) {
		*done = "is gone (no QMP)";
		mig_vtpm_destroy(m);
		return 0;
	}
	if (qmp_execute(m->q, "quit", NULL, NULL) && qmp_usable(m->q))
		return failf(m, "quit: %s", qmp_strerror(m->q));
	*done = "was told to quit";
	mig_vtpm_destroy(m);
	return 0;
}

/* The operator says the target never ran it: the source copy goes on. */
static int settle_not_committed(struct mig *m, const char **done)
{
	if (qmp_connect(m))
		return -1;
	if (source_resume(m))
		return failf(m, "the source VM could not be put back as it was");
	*done = m->was_running ? "runs again" : "stays paused, as before";
	return 0;
}

/*
 * svmigctl settle: an operator's explicit word on a migration in doubt,
 * the only way besides the target's signed OUTCOME to settle it.
 * Audited ("settled", with who asked on the socket); refused, and the
 * entry kept, when the source QEMU cannot be made to match it.
 */
static void serve_settle(struct daemon *d, int client, struct json_object *req)
{
	const char *vm = jstr(req, "vm"), *outcome = jstr(req, "outcome");
	const char *done = "?";
	bool resumed = is(outcome, "resumed");
	struct svmigd_journal_entry e;
	struct svmigd_session s;
	struct mig m;
	char vmclaim[SVMIGD_NAME_MAX + 8], path[2048], err[512], who[96];
	char why[1200];

	if (!vm || !svmigd_journal_vm_ok(vm) || (!resumed && !is(outcome, "not-committed"))) {
		result(client, false, "settle needs a VM name and the outcome "
		       "\"resumed\" or \"not-committed\"", NULL);
		return;
	}
	snprintf(vmclaim, sizeof(vmclaim), "vm:%s", vm);
	if (claim(d, vmclaim)) {
		result(client, false, "that VM is migrating, or being settled, now", NULL);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.json", d->journal_dir, vm);
	if (access(path, F_OK) || svmigd_journal_read(path, &e, err, sizeof(err))) {
		if (access(path, F_OK))
			snprintf(err, sizeof(err), "vm %s has no unsettled migration", vm);
		result(client, false, err, NULL);
		unclaim(d, vmclaim);
		return;
	}
	journal_mig(d, &e, &s, &m);
	m.client = client;
	client_who(client, who, sizeof(who));
	if (resumed ? settle_resumed(&m, &done) : settle_not_committed(&m, &done)) {
		snprintf(why, sizeof(why), "not settled: %s", m.err);
		result(client, false, why, NULL);
	} else {
		snprintf(why, sizeof(why), "in doubt (phase %s), then settled by %s "
			 "as %s: the source VM %s", svmigd_journal_phase_name(e.phase),
			 who, outcome, done);
		progress(&m, "recover", "vm %s: %s", vm, why);
		audit_with(&m, "settled", "settle", "outcome", why);
		journal_drop(&m, d->journal_dir);
		result(client, true, NULL, NULL);
	}
	if (m.q)
		qmp_close(m.q);
	unclaim(d, vmclaim);
}

static void serve_migrate(struct daemon *d, int client, struct json_object *req,
			  bool libvirt, unsigned int channels)
{
	struct svmigd_request_verified v;
	struct svmigd_session s;
	struct svmigd_receipt r;
	struct svmigd_counts sent;
	struct mig m = { .d = d, .s = &s, .conn_fd = -1, .sv = -1, .sock = -1,
			 .client = client };
	char err[SVMIGD_SESSION_ERR_LEN], ctl[300], data[300];
	char vmclaim[SVMIGD_NAME_MAX + 8];
	const char *text;
	int ret;

	memset(&s, 0, sizeof(s));
	if (!req || !json_object_is_type(req, json_type_object)) {
		audit_early(d, "refused", "source", NULL, NULL, "request",
			    "no request object");
		result(client, false, "no request object", NULL);
		return;
	}
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	/* Learn the target from the request, checked as the session will. */
	ret = svmigd_request_verify(text, strlen(text), d->op_anchors, time(NULL),
				    d->scfg.request_window, &v, err, sizeof(err));
	if (ret) {
		audit_early(d, "refused", "source", NULL, NULL, "request", err);
		result(client, false, err, NULL);
		return;
	}
	if (strcmp(v.req.source, d->cfg.host_name)) {
		snprintf(err, sizeof(err), "the request's source is %s, not this host (%s)",
			 v.req.source, d->cfg.host_name);
		audit_early(d, "refused", "source", &v, v.req.target, "request", err);
		result(client, false, err, NULL);
		return;
	}
	journal_review(d, REVIEW_QUICK);
	snprintf(vmclaim, sizeof(vmclaim), "vm:%s", v.req.vm);
	if (claim(d, vmclaim)) {
		vmclaim[0] = '\0';
		snprintf(err, sizeof(err), "vm %s is migrating here or away already, "
			 "or its journal entry is being settled", v.req.vm);
		audit_early(d, "refused", "source", &v, v.req.target, "request", err);
		result(client, false, err, NULL);
		return;
	}
	if (journal_blocks(d, v.req.vm, err, sizeof(err))) {
		audit_early(d, "refused", "source", &v, v.req.target, "request", err);
		result(client, false, err, NULL);
		unclaim(d, vmclaim);
		return;
	}
	if (libvirt ? lv_source_check(&m, &v.req) :
	    qmp_connect_vm(&m, v.req.vm) || vm_size_check(&m, &v.req)) {
		audit_early(d, "refused", "source", &v, v.req.target, "request",
			    m.err);
		result(client, false, m.err, NULL);
		goto out;
	}
	if (peer_addrs(d, v.req.target, ctl, sizeof(ctl), data, sizeof(data))) {
		snprintf(err, sizeof(err), "no address for %s (svmigd --peer %s=HOST:PORT)",
			 v.req.target, v.req.target);
		audit_early(d, "failed", "source", &v, v.req.target, "connect", err);
		result(client, false, err, NULL);
		goto out;
	}
	progress(&m, "connect", "%s at %s", v.req.target, ctl);
	m.conn_fd = tcp_connect(ctl, IO_TIMEOUT_MS);
	if (m.conn_fd < 0) {
		snprintf(err, sizeof(err), "cannot connect to %s at %s: %s",
			 v.req.target, ctl, svmigd_strerror(errno));
		audit_early(d, "failed", "source", &v, v.req.target, "connect", err);
		result(client, false, err, NULL);
		goto out;
	}
	if (svmig_tls_connect(d->tls, m.conn_fd, v.req.target, IO_TIMEOUT_MS,
			      &m.conn, err, sizeof(err))) {
		audit_early(d, "refused", "source", &v, v.req.target, "tls", err);
		result(client, false, err, NULL);
		goto out;
	}
	progress(&m, "session", "TLS up; REQUEST, ATTEST, ADMIT, KEY");
	s.channels = channels;	/* in the REQUEST: the target keys as many */
	ret = svmigd_session_source(m.conn, &d->scfg, text, strlen(text), &s,
				    err, sizeof(err));
	if (ret) {
		result(client, false, err, NULL);
		goto out;
	}
	progress_session(&m);
	if (libvirt) {
		lv_source(&m, data, channels);	/* keys the channels, wipes the secret */
		OPENSSL_cleanse(s.secret, sizeof(s.secret));
		goto out;
	}
	ret = source_data(&m, data);
	OPENSSL_cleanse(s.secret, sizeof(s.secret));
	if (!ret)
		ret = mig_vtpm_send(&m);
	if (ret) {
		progress(&m, "data", "failed: %s", m.err);
		audit(&m, "failed", "data", m.err);
		cut_socket(&m);
		close_fd(&m.sv);
		close_fd(&m.sock);
		source_resume(&m);
		/*
		 * The target's answer if it is on its way (it gave up first):
		 * for the log and the audit.  Otherwise closing the control
		 * connection tells the target to give up.
		 */
		if (readable(m.conn_fd, RECEIPT_AFTER_FAILURE_MS)) {
			ret = svmigd_session_receipt_recv(m.conn, &d->scfg, &s,
							  NULL, &r, err, sizeof(err));
			progress(&m, "receipt", "%s", err);
			if (ret == -EREMOTEIO)	/* the operator sees why */
				catf(m.err, sizeof(m.err), "; %s's receipt: %s",
				     s.peer, r.reason);
		}
		result(client, false, m.err, NULL);
		goto out;
	}
	progress(&m, "receipt", "waiting for %s's receipt", s.peer);
	sent = (struct svmigd_counts){ m.st.records, m.st.bytes };
	ret = svmigd_session_receipt_recv(m.conn, &d->scfg, &s, &sent, &r, err,
					  sizeof(err));
	if (ret) {
		/* no valid "ok" receipt: the source VM must run */
		progress(&m, "receipt", "%s", err);
		audit(&m, "failed", "receipt", err);
		source_resume(&m);
		result(client, false, err, ret == -EREMOTEIO ? &r : NULL);
		goto out;
	}
	if (source_handover(&m, &r)) {
		result(client, false, m.err, &r);
		goto out;
	}
	result(client, true, NULL, &r);
	svmig_tls_shutdown(m.conn, 2000);
out:
	svmigd_session_wipe(&s);
	if (m.q)
		qmp_close(m.q);
	close_fd(&m.sv);
	close_fd(&m.sock);
	svmig_tls_free(m.conn);
	close_fd(&m.conn_fd);
	unclaim(d, vmclaim);
}

void serve_client(struct daemon *d, int fd)
{
	char *line = malloc(CTL_LINE_MAX);
	size_t len = 0;
	long long deadline = svmig_now_ms() + 10000;
	struct json_object *obj, *v;
	const char *cmd;
	char err[256];

	if (!line) {
		result(fd, false, "out of memory", NULL);
		return;
	}
	while (len < CTL_LINE_MAX - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - svmig_now_ms())) != 1)
			goto out;
		n = read(fd, line + len, CTL_LINE_MAX - 1 - len);
		if (n <= 0)
			goto out;
		len += (size_t)n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = 0;
	if (svmigd_json_parse(line, len, 16, &obj, err, sizeof(err)) ||
	    !json_object_is_type(obj, json_type_object)) {
		result(fd, false, "not a JSON object", NULL);
		goto out;
	}
	cmd = jstr(obj, "cmd");
	if (is(cmd, "status")) {
		struct json_object *o = json_object_new_object();
		char hex[2 * SVMIGD_SHA256_LEN + 1];

		svmigd_hex_encode(hex, d->policy->sha256, SVMIGD_SHA256_LEN);
		json_object_object_add(o, "type", json_object_new_string("result"));
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "host", json_object_new_string(d->cfg.host_name));
		json_object_object_add(o, "policy_sha256", json_object_new_string(hex));
		json_object_object_add(o, "policy_serial",
				       json_object_new_int64((int64_t)d->policy->serial));
		journal_review(d, REVIEW_QUICK);
		v = json_object_new_array();
		svmigd_journal_scan(d->journal_dir, journal_list_one, NULL, v,
				    err, sizeof(err));
		json_object_object_add(o, "unsettled", v);
		ctl_send(fd, o);
		json_object_put(o);
	} else if (is(cmd, "attest")) {
		serve_attest(d, fd, obj);
	} else if (is(cmd, "migrate")) {
		int64_t channels = jint(obj, "channels");	/* libvirt's multifd */
		bool lv = json_object_object_get_ex(obj, "libvirt", NULL);

		json_object_object_get_ex(obj, "request", &v);
		if (channels < 0 || channels > SVMIGD_RELAY_MULTIFD_MAX || (channels && !lv))
			result(fd, false, "channels: 0 to 8, and only for libvirt", NULL);
		else
			serve_migrate(d, fd, v, lv, (unsigned int)channels);
	} else if (is(cmd, "settle")) {
		serve_settle(d, fd, obj);
	} else {
		result(fd, false, "unknown command", NULL);
	}
	json_object_put(obj);
out:
	free(line);
}
