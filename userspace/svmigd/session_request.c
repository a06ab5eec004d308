// SPDX-License-Identifier: GPL-2.0
/*
 * The session's REQUEST step: the operator's signed request, verified
 * and decided by the policy, sent by the source, checked by the target.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "audit_evidence.h"
#include "session_int.h"
#include "util.h"

static int sess_audit_request(struct sess *s)
{
	const struct svmigd_request *r = &s->ses->request.req;
	struct json_object *d = sess_details(s);
	int ret = d ? 0 : -ENOMEM;

	if (!ret)
		ret = sess_add_str(d, "source", r->source);
	if (!ret)
		ret = sess_add_str(d, "target", r->target);
	if (!ret)
		ret = sess_add_u64(d, "vm_mem_mib", r->vm_mem_mib);
	if (!ret)
		ret = sess_add_u64(d, "vm_vcpus", r->vm_vcpus);
	if (!ret)
		ret = sess_add_str(d, "operator_cn", s->ses->request.operator_cn);
	if (!ret)	/* a restarted target's replay cache (claims.c) */
		ret = svmig_msg_add_hex(d, "nonce", r->nonce, sizeof(r->nonce));
	return sess_record(s, "request", d, ret);
}

static int sess_verify_request(struct sess *s, struct json_object *req)
{
	struct svmigd_request_verified *v = &s->out->request;
	const struct svmigd_session_cfg *cfg = s->cfg;
	int64_t window = cfg->request_window ? cfg->request_window :
			 SVMIGD_SESSION_WINDOW;
	char why[SVMIGD_SESSION_ERR_LEN - 64];
	int ret;

	ret = svmigd_request_verify_json(req, cfg->operator_anchors,
					 (int64_t)time(NULL), window, v, why,
					 sizeof(why));
	if (ret)
		return sess_fail(s, ret == -ENOMEM ? SK_FAIL : SK_REFUSE, ret,
				 "request refused: %s", why);
	s->verified = true;
	sess_keep(s, svmigd_evidence_request(req));
	sess_copy(s->who, sizeof(s->who), v->operator_cn[0] ?
		  v->operator_cn : "unknown");
	sess_copy(s->what, sizeof(s->what), v->req.vm);
	return sess_audit_request(s);
}

/* We are the request's source (target), the TLS peer its target (source). */
static int sess_check_names(struct sess *s)
{
	const struct svmigd_request *r = &s->ses->request.req;
	const char *mine = s->ses->source ? "source" : "target";
	const char *theirs = s->ses->source ? "target" : "source";
	const char *me = s->ses->source ? r->source : r->target;
	const char *them = s->ses->source ? r->target : r->source;

	if (strcmp(me, s->cfg->host_name))
		return sess_fail(s, SK_REFUSE, -EACCES,
				 "the request's %s is %s, not this host (%s)",
				 mine, me, s->cfg->host_name);
	if (strcmp(them, s->peer))
		return sess_fail(s, SK_REFUSE, -EACCES,
				 "the peer host is %s, not the request's %s %s",
				 s->peer, theirs, them);
	return 0;
}

static int sess_decide(struct sess *s)
{
	const struct svmigd_request_verified *v = &s->ses->request;
	struct svmigd_policy_decision d;
	char why[256];
	int ret;

	ret = svmigd_policy_decide(s->cfg->policy, v->cert_sha256, v->req.vm,
				   v->req.source, v->req.target, &d);
	if (d.operator)
		sess_copy(s->who, sizeof(s->who), d.operator);
	if (ret)
		return sess_fail(s, SK_REFUSE, -EACCES, "policy: %s", d.reason);
	sess_copy(s->out->operator, sizeof(s->out->operator), d.operator);
	sess_copy(s->out->role, sizeof(s->out->role), d.role);
	s->them = svmigd_policy_host(s->cfg->policy, s->peer);
	if (!s->them)	/* decide checked both hosts */
		return sess_fail(s, SK_REFUSE, -EACCES,
				 "policy: host unknown: %s", s->peer);
	if (s->ses->source || !s->cfg->check_request)
		return 0;
	why[0] = '\0';
	if (s->cfg->check_request(s->cfg->check_arg, v, why, sizeof(why)))
		return sess_fail(s, SK_REFUSE, -EACCES, "request refused: %s",
				 why[0] ? why : "by this host");
	return 0;
}

/* Checks a request (the source's, or the one that came in REQUEST). */
static int sess_request(struct sess *s, struct json_object *req)
{
	int ret = sess_verify_request(s, req);

	if (!ret)
		ret = sess_check_names(s);
	if (!ret)
		ret = sess_decide(s);
	return ret;
}

int src_request(struct sess *s, const char *text, size_t len)
{
	struct json_object *req = NULL, *msg;
	char why[256];
	int ret;

	if (!text || svmigd_json_parse(text, len, SESS_JSON_DEPTH, &req, why,
				       sizeof(why)))
		return sess_fail(s, SK_REFUSE, -EBADMSG,
				 "request refused: not JSON: %s",
				 text ? why : "none");
	ret = sess_request(s, req);
	if (ret)
		goto out;
	msg = svmig_msg_new(SVMIG_MSG_REQUEST);
	if (msg && json_object_object_add(msg, "request",
					  json_object_get(req)))
		json_object_put(req);	/* the reference not taken */
	if (!msg || !json_object_object_get_ex(msg, "request", NULL) ||
	    svmig_msg_add_hex(msg, "nonce", s->nonce, sizeof(s->nonce)) ||
	    svmigd_policy_claim_add(msg, s->cfg->policy) ||
	    (s->ses->channels && json_object_object_add(msg, "channels",
			json_object_new_int((int)s->ses->channels)))) {
		json_object_put(msg);
		ret = sess_nomem(s);
		goto out;
	}
	ret = sess_send(s, msg);
	json_object_put(msg);
out:
	json_object_put(req);
	return ret;
}

/* REQUEST's optional "channels": QEMU multifd channels, 1..8. */
static int tgt_channels(struct sess *s, struct json_object *msg)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(msg, "channels", &v))
		return 0;
	n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
	if (n < 1 || n > SVMIGD_SESSION_CHANNELS_MAX)
		return sess_bad_field(s, svmig_msg_type(msg), "channels");
	s->out->channels = (unsigned int)n;
	return 0;
}

int tgt_request_fields(struct sess *s, struct json_object *msg)
{
	static const char *const keys[] = { "request", "nonce",
					    SVMIGD_POLICY_CLAIM_KEY, "channels" };
	int ret;

	ret = sess_keys(s, msg, keys,
			json_object_object_get_ex(msg, "channels", NULL) ? 4 : 3);
	if (!ret)
		ret = sess_claim(s, msg);
	if (!ret)
		ret = tgt_channels(s, msg);
	if (!ret)
		ret = sess_get_hex(s, msg, "nonce", s->peer_nonce,
				   SVMIGD_NONCE_LEN, SVMIGD_NONCE_LEN, NULL);
	return ret;
}

/* The source's REQUEST (@msg, borrowed). */
int tgt_request(struct sess *s, struct json_object *msg)
{
	int ret;

	ret = tgt_request_fields(s, msg);
	if (!ret)
		ret = sess_request(s, json_object_object_get(msg, "request"));
	return ret;
}
