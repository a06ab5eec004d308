// SPDX-License-Identifier: GPL-2.0
/*
 * The session's ATTEST step: each host's TPM quote of its PCRs, sent
 * and checked against the policy's reference values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_evidence.h"
#include "session_int.h"
#include "util.h"

/* The policy's reference values of @h, in ascending order. */
void sess_pcrs_ref(const struct svmigd_policy_host *h,
		   struct svmigd_tpm_pcrs *ref)
{
	unsigned int i;

	memset(ref, 0, sizeof(*ref));
	for (i = 0; i < SVMIGD_PCR_MAX; i++) {
		if (!(h->pcr_mask & 1u << i))
			continue;
		ref->index[ref->count] = (uint8_t)i;
		memcpy(ref->value[ref->count++], h->pcrs[i][0],
		       SVMIGD_TPM_DIGEST_LEN);
	}
}

static struct json_object *sess_pcrs_json(const struct svmigd_tpm_pcrs *p)
{
	struct json_object *o = json_object_new_object();
	char idx[4];
	unsigned int i;

	for (i = 0; o && i < p->count; i++) {
		snprintf(idx, sizeof(idx), "%u", p->index[i]);
		if (svmig_msg_add_hex(o, idx, p->value[i],
				      SVMIGD_TPM_DIGEST_LEN)) {
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

/* "0" to "23", no leading zeros; -1 otherwise. */
static int sess_pcr_index(const char *s)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1]))
		return -1;
	v = strtol(s, &end, 10);
	return *end || v >= SVMIGD_TPM_PCR_COUNT ? -1 : (int)v;
}

int sess_pcrs_parse(struct json_object *o, struct svmigd_tpm_pcrs *p)
{
	uint8_t val[SVMIGD_TPM_PCR_COUNT][SVMIGD_TPM_DIGEST_LEN];
	struct json_object_iterator it, end;
	uint32_t mask = 0;
	unsigned int i;
	int idx;

	if (!json_object_is_type(o, json_type_object))
		return -EINVAL;
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		idx = sess_pcr_index(json_object_iter_peek_name(&it));
		if (idx < 0 || mask & 1u << idx ||
		    svmig_msg_get_hex(o, json_object_iter_peek_name(&it),
				      val[idx], SVMIGD_TPM_DIGEST_LEN))
			return -EINVAL;
		mask |= 1u << idx;
	}
	memset(p, 0, sizeof(*p));
	for (i = 0; i < SVMIGD_TPM_PCR_COUNT; i++) {
		if (!(mask & 1u << i))
			continue;
		p->index[p->count] = (uint8_t)i;
		memcpy(p->value[p->count++], val[i], SVMIGD_TPM_DIGEST_LEN);
	}
	return p->count ? 0 : -EINVAL;
}

static struct json_object *attest_msg(struct sess *s,
				      const struct svmigd_tpm_quote *q)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_ATTEST);
	struct json_object *pcrs = sess_pcrs_json(&q->pcrs);
	int ret = msg && pcrs ? 0 : -ENOMEM;

	if (!ret && !s->ses->source)
		ret = svmig_msg_add_hex(msg, "nonce", s->nonce,
					sizeof(s->nonce));
	if (!ret)
		ret = svmigd_policy_claim_add(msg, s->cfg->policy);
	if (!ret)
		ret = svmig_msg_add_hex(msg, "ak", s->ak.pub, s->ak.pub_len);
	if (!ret)
		ret = svmig_msg_add_hex(msg, "attest", q->attest,
					q->attest_len);
	if (!ret)
		ret = svmig_msg_add_hex(msg, "sig", q->sig, q->sig_len);
	if (!ret && !json_object_object_add(msg, "pcrs", pcrs))
		return msg;
	json_object_put(pcrs);
	json_object_put(msg);
	return NULL;
}

/* Quotes our PCRs (as the policy lists them for us) for the peer. */
int attest_send(struct sess *s)
{
	uint8_t qual[SVMIGD_TPM_QUAL_LEN];
	struct svmigd_tpm_pcrs sel;
	struct svmigd_tpm_quote *q;
	struct json_object *msg;
	unsigned int idx[SVMIGD_TPM_PCR_COUNT], i;
	int ret;

	ret = sess_qual(s, "quote", s->peer_nonce, qual);
	if (ret)
		return ret;
	ret = svmigd_tpm_ak(s->cfg->tpm, &s->ak);
	if (ret)
		return sess_tpm_fail(s, ret, "reading the AK");
	sess_pcrs_ref(s->me, &sel);
	for (i = 0; i < sel.count; i++)
		idx[i] = sel.index[i];
	q = malloc(sizeof(*q));
	if (!q)
		return sess_nomem(s);
	ret = svmigd_tpm_quote(s->cfg->tpm, qual, idx, sel.count, q);
	if (ret) {
		ret = sess_tpm_fail(s, ret, "quote");
		goto out;
	}
	ret = svmigd_sha256(q->attest, q->attest_len, s->out->quote_sha256);
	msg = ret ? NULL : attest_msg(s, q);
	ret = msg ? cred_add_ek(s, msg) : 0;	/* session_cred.c */
	if (!ret)
		ret = sess_send(s, msg);
	json_object_put(msg);
out:
	free(q);
	return ret;
}

static int attest_parse(struct sess *s, struct json_object *msg,
			struct svmigd_tpm_quote *q)
{
	static const char *const keys[] = { "ak", "ek", "ek_cert", "attest",
					    "sig", "pcrs", SVMIGD_POLICY_CLAIM_KEY,
					    "nonce" };
	size_t n = s->ses->source ? 8 : 7;	/* the target's has a nonce */
	int ret;

	ret = sess_keys(s, msg, keys, n);
	if (!ret)
		ret = sess_claim(s, msg);
	if (!ret && s->ses->source)
		ret = sess_get_hex(s, msg, "nonce", s->peer_nonce,
				   SVMIGD_NONCE_LEN, SVMIGD_NONCE_LEN, NULL);
	if (!ret)
		ret = sess_get_hex(s, msg, "ak", s->peer_ak, 1,
				   SVMIGD_TPM_PUBLIC_MAX, &s->peer_ak_len);
	if (!ret)
		ret = sess_get_hex(s, msg, "attest", q->attest, 1,
				   SVMIGD_TPM_ATTEST_MAX, &q->attest_len);
	if (!ret)
		ret = sess_get_hex(s, msg, "sig", q->sig, 1,
				   SVMIGD_TPM_SIG_MAX, &q->sig_len);
	if (!ret && sess_pcrs_parse(json_object_object_get(msg, "pcrs"),
				    &q->pcrs))
		ret = sess_bad_field(s, SVMIG_MSG_ATTEST, "pcrs");
	return ret;
}

/* The peer's quote: its AK enrolled, our nonce, the policy's PCR values. */
int attest_check(struct sess *s, struct json_object *msg)
{
	uint8_t qual[SVMIGD_TPM_QUAL_LEN];
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_quote *q = calloc(1, sizeof(*q));
	char why[256];
	int ret;

	if (!q)
		return sess_nomem(s);
	ret = attest_parse(s, msg, q);
	if (!ret)
		ret = sess_qual(s, "quote", s->nonce, qual);
	if (ret)
		goto out;
	ret = cred_check_ek(s, msg);	/* its EK certificate first */
	if (ret)
		goto out;
	svmigd_policy_pcrs_ref(s->them, &q->pcrs, &ref);
	ret = svmigd_tpm_verify_quote(s->peer_ak, s->peer_ak_len,
				      s->them->ak_sha256, q, qual, &ref, why,
				      sizeof(why));
	if (ret == SVMIGD_TPM_ENOMEM || ret == SVMIGD_TPM_ECRYPTO)
		ret = sess_tpm_fail(s, ret, "verifying the peer's quote");
	else if (ret)
		ret = sess_fail(s, SK_REFUSE, -EACCES, "%s's quote: %s",
				s->peer, why);
	else
		ret = svmigd_sha256(q->attest, q->attest_len,
				    s->out->peer_quote_sha256) ?
		      sess_nomem(s) : 0;
	if (!ret)
		sess_keep(s, svmigd_evidence_quote(s->peer_ak, s->peer_ak_len,
						   q->attest, q->attest_len,
						   q->sig, q->sig_len,
						   json_object_object_get(msg, "pcrs"),
						   qual, sizeof(qual)));
out:
	free(q);
	return ret;
}

int attest_recv(struct sess *s)
{
	struct json_object *msg;
	int ret = sess_recv(s, SVMIG_MSG_ATTEST, &msg);

	if (ret)
		return ret;
	ret = attest_check(s, msg);
	json_object_put(msg);
	return ret;
}
