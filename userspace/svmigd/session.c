// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd's protocol between a source and a target host, up to the
 * session secret (session.h): the steps in their order, either side, and
 * attestation only.  Each step has its file (session_int.h lists them).
 */
#include <errno.h>
#include <string.h>

#include "session_int.h"

int svmigd_session_source(struct svmig_tls_conn *conn,
			  const struct svmigd_session_cfg *cfg,
			  const char *request, size_t len,
			  struct svmigd_session *out, char *err, size_t errlen)
{
	struct sess s;
	int ret = sess_begin(&s, conn, cfg, true, out, err, errlen);

	if (!ret)
		ret = src_request(&s, request, len);
	s.step = SVMIG_MSG_ATTEST;
	if (!ret)
		ret = attest_recv(&s);
	if (!ret)
		ret = attest_send(&s);
	if (!ret)
		ret = src_admit(&s);
	s.step = SVMIG_MSG_KEY;
	if (!ret)
		ret = key_recv(&s);
	if (!ret)
		ret = key_send(&s);
	if (!ret)
		ret = sess_derive(&s);
	if (!ret)
		ret = confirm_recv(&s);
	if (!ret)
		ret = confirm_send(&s);
	sess_end(&s, ret);
	return ret;
}

/*
 * The first message was a QUERY (@msg, borrowed): how one of our sessions
 * as the target ended (cfg->answer_query, outcome.h, answers and audits).
 */
static int tgt_query(struct sess *s, struct json_object *msg)
{
	int ret;

	s->step = SVMIG_MSG_QUERY;
	s->failed = true;	/* outcome.c reports its own failures */
	ret = s->cfg->answer_query(s->conn, s->cfg, msg, s->err, s->errlen);
	return ret ? ret : SVMIGD_SESSION_ANSWERED;
}

/*
 * The target's first message: a REQUEST, or in its place a PROBE
 * (attestation only) or a QUERY (how a session ended).
 */
static int tgt_first(struct sess *s)
{
	struct json_object *msg;
	const char *type;
	int ret;

	ret = sess_recv_any(s, SVMIG_MSG_REQUEST, &msg);
	if (ret)
		return ret;
	type = svmig_msg_type(msg);
	if (!strcmp(type, SVMIG_MSG_PROBE))
		ret = tgt_probe(s, msg);
	else if (!strcmp(type, SVMIG_MSG_QUERY) && s->cfg->answer_query)
		ret = tgt_query(s, msg);
	else {
		ret = sess_expect(s, SVMIG_MSG_REQUEST, &msg);
		if (!ret)
			ret = tgt_request(s, msg);
	}
	json_object_put(msg);
	return ret;
}

int svmigd_session_target(struct svmig_tls_conn *conn,
			  const struct svmigd_session_cfg *cfg,
			  struct svmigd_session *out, char *err, size_t errlen)
{
	struct sess s;
	int ret = sess_begin(&s, conn, cfg, false, out, err, errlen);

	if (!ret)
		ret = tgt_first(&s);
	s.step = SVMIG_MSG_ATTEST;
	if (!ret)
		ret = attest_send(&s);
	if (!ret)
		ret = attest_recv(&s);
	if (!ret)
		ret = tgt_admit(&s);
	s.step = SVMIG_MSG_KEY;
	if (!ret)
		ret = key_send(&s);
	if (!ret)
		ret = key_recv(&s);
	if (!ret)
		ret = sess_derive(&s);
	if (!ret)
		ret = confirm_send(&s);
	if (!ret)
		ret = confirm_recv(&s);
	sess_end(&s, ret);
	return ret;
}

int svmigd_session_attest_peer(struct svmig_tls_conn *conn,
			       const struct svmigd_session_cfg *cfg,
			       struct svmigd_attestation *a,
			       char *err, size_t errlen)
{
	struct svmigd_session ses;
	struct sess s;
	int ret;

	if (!a) {
		sess_msg(err, errlen, "attest: missing argument");
		return -EINVAL;
	}
	memset(a, 0, sizeof(*a));
	ret = sess_begin(&s, conn, cfg, true, &ses, err, errlen);
	if (!ret)
		ret = probe_begin(&s, a);
	if (!ret)
		ret = probe_send(&s);
	if (!ret)
		ret = probe_recv(&s, a);
	if (!ret)
		ret = probe_audit(&s, ses.peer_quote_sha256, a->ak_sha256);
	if (!ret)
		ret = probe_verdict(&s);
	sess_end(&s, ret);
	svmigd_session_wipe(&ses);
	return ret;
}
