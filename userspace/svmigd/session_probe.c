// SPDX-License-Identifier: GPL-2.0
/*
 * Attestation only (svmigctl attest): PROBE, ATTEST, VERDICT, either
 * side.
 */
#include <errno.h>
#include <string.h>

#include "session_int.h"
#include "util.h"

#define SESS_TRUSTED	"trusted"

/* An "attest" record: the quote that was trusted. */
int probe_audit(struct sess *s, const uint8_t *quote,
		const uint8_t *ak)
{
	struct json_object *d = sess_details(s);
	int ret = d ? 0 : -ENOMEM;

	if (!ret)
		ret = svmig_msg_add_hex(d, s->ses->source ? "peer_quote" :
					"quote", quote, SVMIGD_SHA256_LEN);
	if (!ret && ak)
		ret = svmig_msg_add_hex(d, "peer_ak", ak, SVMIGD_SHA256_LEN);
	if (!ret)
		ret = sess_add_str(d, "verdict", SESS_TRUSTED);
	return sess_record(s, "attest", d, ret);
}

/* Attester: the verifier's VERDICT, or its ERROR. */
static int tgt_probe_verdict(struct sess *s)
{
	static const char *const keys[] = { "verdict" };
	struct json_object *msg, *v;
	int ret;

	s->step = SVMIG_MSG_VERDICT;
	ret = sess_recv(s, SVMIG_MSG_VERDICT, &msg);
	if (ret)
		return ret;
	v = json_object_object_get(msg, "verdict");
	ret = sess_keys(s, msg, keys, 1);
	if (!ret && (!json_object_is_type(v, json_type_string) ||
		     strcmp(json_object_get_string(v), SESS_TRUSTED)))
		ret = sess_bad_field(s, SVMIG_MSG_VERDICT, "verdict");
	json_object_put(msg);
	return ret;
}

/*
 * Attester: the first message was a PROBE (@msg, borrowed) rather than a
 * REQUEST: our quote for its nonce, then the verifier's verdict.
 */
int tgt_probe(struct sess *s, struct json_object *msg)
{
	static const char *const keys[] = { "nonce" };
	int ret;

	s->step = SVMIG_MSG_PROBE;
	s->role = "attester";
	sess_copy(s->who, sizeof(s->who), s->peer);
	sess_copy(s->what, sizeof(s->what), s->cfg->host_name);
	ret = sess_keys(s, msg, keys, 1);
	if (!ret)
		ret = sess_get_hex(s, msg, "nonce", s->peer_nonce,
				   SVMIGD_NONCE_LEN, SVMIGD_NONCE_LEN, NULL);
	if (!ret && !svmigd_policy_host(s->cfg->policy, s->peer))
		ret = sess_fail(s, SK_REFUSE, -EACCES,
				"policy: host unknown: %s", s->peer);
	s->step = SVMIG_MSG_ATTEST;
	if (!ret)
		ret = attest_send(s);
	if (!ret)
		ret = tgt_probe_verdict(s);
	if (!ret)
		ret = probe_audit(s, s->out->quote_sha256, NULL);
	if (ret)
		return ret;
	sess_msg(s->err, s->errlen,
		 "attestation only: %s asked for our quote and trusts it",
		 s->peer);
	return SVMIGD_SESSION_PROBED;
}

/* Verifier: the peer must be a host of the policy; its reference values. */
int probe_begin(struct sess *s, struct svmigd_attestation *a)
{
	s->step = SVMIG_MSG_PROBE;
	s->role = "verifier";
	sess_copy(s->who, sizeof(s->who), "svmigctl");
	sess_copy(s->what, sizeof(s->what), s->peer);
	sess_copy(a->peer, sizeof(a->peer), s->peer);
	memcpy(a->nonce, s->nonce, sizeof(a->nonce));
	s->them = svmigd_policy_host(s->cfg->policy, s->peer);
	if (!s->them)
		return sess_fail(s, SK_REFUSE, -EACCES,
				 "policy: host unknown: %s (no reference values)",
				 s->peer);
	a->known = true;
	memcpy(a->ak_reference, s->them->ak_sha256, SVMIGD_SHA256_LEN);
	sess_pcrs_ref(s->them, &a->reference);
	return 0;
}

int probe_send(struct sess *s)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_PROBE);
	int ret;

	if (msg && svmig_msg_add_hex(msg, "nonce", s->nonce,
				     sizeof(s->nonce))) {
		json_object_put(msg);
		msg = NULL;
	}
	ret = sess_send(s, msg);
	json_object_put(msg);
	return ret;
}

/* What the peer's ATTEST claims, for the operator, before it is checked. */
static void probe_record(struct json_object *msg, struct svmigd_attestation *a)
{
	uint8_t buf[SVMIGD_TPM_ATTEST_MAX];
	size_t len;

	if (!svmig_msg_get_hex_range(msg, "ak", buf, 1, SVMIGD_TPM_PUBLIC_MAX,
				     &len))
		a->have_ak = !svmigd_tpm_ak_digest(buf, len, a->ak_sha256);
	if (!svmig_msg_get_hex_range(msg, "attest", buf, 1,
				     SVMIGD_TPM_ATTEST_MAX, &len))
		a->have_quote = !svmigd_sha256(buf, len, a->quote_sha256);
	a->have_pcrs = !sess_pcrs_parse(json_object_object_get(msg, "pcrs"),
					&a->pcrs);
}

/* Verifier: the peer's quote, checked as in a migration (attest_check). */
int probe_recv(struct sess *s, struct svmigd_attestation *a)
{
	struct json_object *msg;
	int ret;

	s->step = SVMIG_MSG_ATTEST;
	ret = sess_recv(s, SVMIG_MSG_ATTEST, &msg);
	if (ret)
		return ret;
	probe_record(msg, a);
	ret = attest_check(s, msg);
	json_object_put(msg);
	return ret;
}

int probe_verdict(struct sess *s)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_VERDICT);
	int ret;

	s->step = SVMIG_MSG_VERDICT;
	if (msg && sess_add_str(msg, "verdict", SESS_TRUSTED)) {
		json_object_put(msg);
		msg = NULL;
	}
	ret = sess_send(s, msg);
	json_object_put(msg);
	return ret;
}
