// SPDX-License-Identifier: GPL-2.0
/*
 * The session's ADMIT step: the target's limits, its verdict.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "session_int.h"

/* Why the target cannot take the VM ("memory", "vcpus", "policy"), or NULL. */
static const char *tgt_limits(struct sess *s, char *detail, size_t len)
{
	const struct svmigd_request *r = &s->ses->request.req;
	const struct svmigd_session_cfg *cfg = s->cfg;

	if (r->vm_mem_mib > cfg->max_mem_mib) {
		sess_msg(detail, len, "vm_mem_mib %" PRIu64 " exceeds this host's limit of %" PRIu64 " MiB",
			 r->vm_mem_mib, cfg->max_mem_mib);
		return "memory";
	}
	if (r->vm_vcpus > cfg->max_vcpus) {
		sess_msg(detail, len, "vm_vcpus %u exceeds this host's limit of %u",
			 r->vm_vcpus, cfg->max_vcpus);
		return "vcpus";
	}
	if (r->vm_mem_mib > s->me->max_mem_mib) {
		sess_msg(detail, len, "vm_mem_mib %" PRIu64 " exceeds the policy's limit of %" PRIu64 " MiB for %s",
			 r->vm_mem_mib, s->me->max_mem_mib, s->me->name);
		return "policy";
	}
	if (r->vm_vcpus > s->me->max_vcpus) {
		sess_msg(detail, len, "vm_vcpus %u exceeds the policy's limit of %u for %s",
			 r->vm_vcpus, s->me->max_vcpus, s->me->name);
		return "policy";
	}
	if (cfg->admit)	/* with what runs and arrives here */
		return cfg->admit(cfg->check_arg, r, s->me, detail, len);
	return NULL;
}

int tgt_admit(struct sess *s)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_ADMIT);
	const char *reason;
	char detail[200];
	int ret;

	s->step = SVMIG_MSG_ADMIT;
	reason = tgt_limits(s, detail, sizeof(detail));
	if (!msg || sess_add_str(msg, "verdict", reason ? "refuse" : "accept") ||
	    (reason && (sess_add_str(msg, "reason", reason) ||
			sess_add_str(msg, "detail", detail)))) {
		json_object_put(msg);
		return sess_nomem(s);
	}
	ret = sess_send(s, msg);
	json_object_put(msg);
	if (!ret && reason)
		ret = sess_fail(s, SK_DENY, -EACCES, "refused (%s): %s",
				reason, detail);
	return ret;
}

static int src_admit_refused(struct sess *s, struct json_object *msg)
{
	static const char *const keys[] = { "verdict", "reason", "detail" };
	char reason[SESS_REASON_MAX + 1], detail[SESS_REASON_MAX + 1];
	struct json_object *r, *d;
	int ret = sess_keys(s, msg, keys, 3);

	if (ret)
		return ret;
	r = json_object_object_get(msg, "reason");
	d = json_object_object_get(msg, "detail");
	if (!json_object_is_type(r, json_type_string) ||
	    !json_object_is_type(d, json_type_string))
		return sess_bad_field(s, SVMIG_MSG_ADMIT, "reason");
	sess_clean(reason, sizeof(reason), json_object_get_string(r));
	sess_clean(detail, sizeof(detail), json_object_get_string(d));
	return sess_fail(s, SK_PEER, -ECONNABORTED, "%s: %s", reason, detail);
}

int src_admit(struct sess *s)
{
	static const char *const keys[] = { "verdict" };
	struct json_object *msg, *v;
	int ret;

	s->step = SVMIG_MSG_ADMIT;
	ret = sess_recv(s, SVMIG_MSG_ADMIT, &msg);
	if (ret)
		return ret;
	v = json_object_object_get(msg, "verdict");
	if (!json_object_is_type(v, json_type_string))
		ret = sess_bad_field(s, SVMIG_MSG_ADMIT, "verdict");
	else if (!strcmp(json_object_get_string(v), "refuse"))
		ret = src_admit_refused(s, msg);
	else if (strcmp(json_object_get_string(v), "accept"))
		ret = sess_bad_field(s, SVMIG_MSG_ADMIT, "verdict");
	else
		ret = sess_keys(s, msg, keys, 1);
	json_object_put(msg);
	return ret;
}
