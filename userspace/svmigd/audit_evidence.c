// SPDX-License-Identifier: GPL-2.0
/*
 * The peer's and the operator's signed messages in the audit log, and
 * their offline check.  See audit_evidence.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "audit_evidence.h"
#include "audit_head.h"
#include "msg.h"
#include "request.h"
#include "tpm.h"
#include "util.h"

#define EV_JSON_DEPTH	16
#define EV_WINDOW	(24 * 3600)	/* request time vs the record's */

/* ---------------------------------------------------------- building */

static int ev_add(struct json_object *o, const char *key,
		  struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int ev_add_b64(struct json_object *o, const char *key,
		      const void *buf, size_t len)
{
	char *b64;
	int ret;

	if (!buf || !len || len > SVMIGD_EVIDENCE_MAX)
		return -EMSGSIZE;
	b64 = svmigd_base64_encode(buf, len);
	if (!b64)
		return -ENOMEM;
	ret = ev_add(o, key, json_object_new_string(b64));
	free(b64);
	return ret;
}

static struct json_object *ev_new(const char *kind)
{
	struct json_object *o = json_object_new_object();

	if (o && ev_add(o, "kind", json_object_new_string(kind))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *ev_done(struct json_object *o, int ret)
{
	if (!ret)
		return o;
	json_object_put(o);
	return NULL;
}

struct json_object *svmigd_evidence_statement(const char *kind,
					      const char *text,
					      const uint8_t *sig,
					      size_t siglen)
{
	struct json_object *o = ev_new(kind);
	int ret = o && text ? 0 : -ENOMEM;

	if (!ret)
		ret = ev_add_b64(o, "statement", text, strlen(text));
	if (!ret)
		ret = ev_add_b64(o, "signature", sig, siglen);
	return ev_done(o, ret);
}

struct json_object *svmigd_evidence_request(struct json_object *signed_req)
{
	struct json_object *o = ev_new("request");
	const char *text = json_object_to_json_string_ext(signed_req,
							  JSON_C_TO_STRING_PLAIN);
	int ret = o && text ? 0 : -ENOMEM;

	if (!ret)
		ret = ev_add_b64(o, "request", text, strlen(text));
	return ev_done(o, ret);
}

struct json_object *svmigd_evidence_quote(const uint8_t *ak, size_t ak_len,
					  const uint8_t *attest,
					  size_t attest_len,
					  const uint8_t *sig, size_t siglen,
					  struct json_object *pcrs,
					  const uint8_t *qual, size_t qual_len)
{
	struct json_object *o = ev_new("quote"), *copy = NULL;
	int ret = o ? 0 : -ENOMEM;

	if (!ret)
		ret = ev_add_b64(o, "ak", ak, ak_len);
	if (!ret)
		ret = ev_add_b64(o, "attest", attest, attest_len);
	if (!ret)
		ret = ev_add_b64(o, "signature", sig, siglen);
	if (!ret && json_object_deep_copy(pcrs, &copy, NULL))
		ret = -ENOMEM;
	if (!ret)
		ret = ev_add(o, "pcrs", copy);
	if (!ret)
		ret = svmig_msg_add_hex(o, "qualifying", qual, qual_len);
	return ev_done(o, ret);
}

struct json_object *svmigd_evidence_head(const char *line, size_t len)
{
	struct json_object *o = ev_new("head");
	int ret = o ? 0 : -ENOMEM;

	if (!ret)
		ret = ev_add_b64(o, "head", line, len);
	return ev_done(o, ret);
}

/* ---------------------------------------------------------- checking */

struct ev_walk {
	const struct svmigd_evidence_opts *o;
	struct svmigd_evidence_report *rep;
	uint64_t seq;
	struct json_object *details;
	const char *peer;
	char why[512];
};

static int ev_fail(struct ev_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int ev_fail(struct ev_walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static void ev_unchecked(struct ev_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ev_unchecked(struct ev_walk *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->rep->unchecked++) {
		va_start(ap, fmt);
		vsnprintf(w->rep->unchecked_why,
			  sizeof(w->rep->unchecked_why), fmt, ap);
		va_end(ap);
	}
}

/* The base64 member @key of @ev, decoded (at most SVMIGD_EVIDENCE_MAX). */
static int ev_blob(struct ev_walk *w, struct json_object *ev, const char *key,
		   uint8_t **buf, size_t *len)
{
	struct json_object *v = json_object_object_get(ev, key);
	int ret;

	*buf = NULL;
	if (!json_object_is_type(v, json_type_string))
		return ev_fail(w, "evidence without \"%s\"", key);
	ret = svmigd_base64_decode(json_object_get_string(v),
				   SVMIGD_EVIDENCE_MAX, buf, len);
	if (ret == -ENOMEM)
		return ret;
	if (ret || !*len) {
		free(*buf);
		*buf = NULL;
		return ev_fail(w, "evidence \"%s\" is not base64 of 1 to %d bytes",
			       key, SVMIGD_EVIDENCE_MAX);
	}
	return 0;
}

/* The record's hex digest @key equals SHA-256 of @buf (if it has one). */
static int ev_digest(struct ev_walk *w, const char *key, const void *buf,
		     size_t len, bool required)
{
	uint8_t want[SVMIGD_SHA256_LEN], got[SVMIGD_SHA256_LEN];

	if (!json_object_object_get_ex(w->details, key, NULL) && !required)
		return 0;
	if (svmig_msg_get_hex(w->details, key, want, sizeof(want)))
		return ev_fail(w, "the record has no digest \"%s\"", key);
	if (svmigd_sha256(buf, len, got))
		return -ENOMEM;
	if (memcmp(got, want, sizeof(got)))
		return ev_fail(w, "the stored message is not the one whose "
			       "digest the record names (\"%s\")", key);
	return 0;
}

/* The given certificate of the record's peer, checked against the CAs. */
static X509 *ev_peer_cert(struct ev_walk *w, int *ret)
{
	X509_STORE_CTX *ctx;
	X509 *c;
	char cn[256];
	int i, ok;

	*ret = 0;
	for (i = 0; w->o->peers && i < sk_X509_num(w->o->peers); i++) {
		c = sk_X509_value(w->o->peers, i);
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(c),
					      NID_commonName, cn,
					      sizeof(cn)) <= 0 ||
		    strcmp(cn, w->peer))
			continue;
		if (!w->o->ca)
			return c;
		ctx = X509_STORE_CTX_new();
		if (!ctx) {
			*ret = -ENOMEM;
			return NULL;
		}
		ok = X509_STORE_CTX_init(ctx, w->o->ca, c, NULL) == 1 &&
		     X509_verify_cert(ctx) == 1;
		X509_STORE_CTX_free(ctx);
		ERR_clear_error();
		if (ok)
			return c;
		*ret = ev_fail(w, "the certificate given for %s does not "
			       "chain to the CA given", w->peer);
		return NULL;
	}
	ev_unchecked(w, "record %llu: no certificate of %s given (--peer)",
		     (unsigned long long)w->seq, w->peer);
	return NULL;
}

/* A statement's session, as the record names it. */
static int ev_session(struct ev_walk *w, const uint8_t *text, size_t len)
{
	struct json_object *st = NULL, *a, *b;
	char m[128];
	int ret;

	if (svmigd_json_parse((const char *)text, len, EV_JSON_DEPTH, &st, m,
			      sizeof(m)))
		return ev_fail(w, "the stored statement is not JSON: %s", m);
	a = json_object_object_get(st, "session");
	b = json_object_object_get(w->details, "session");
	ret = json_object_is_type(a, json_type_string) &&
	      json_object_is_type(b, json_type_string) &&
	      !strcmp(json_object_get_string(a), json_object_get_string(b)) ?
	      0 : ev_fail(w, "the stored statement is for another session");
	json_object_put(st);
	return ret;
}

static int ev_statement(struct ev_walk *w, struct json_object *ev,
			const char *kind)
{
	uint8_t *text = NULL, *sig = NULL;
	size_t len, siglen;
	X509 *cert;
	int ret;

	ret = ev_blob(w, ev, "statement", &text, &len);
	if (!ret)
		ret = ev_blob(w, ev, "signature", &sig, &siglen);
	if (!ret)
		ret = ev_digest(w, strcmp(kind, "receipt") ? "statement" :
				"receipt", text, len, true);
	if (!ret)
		ret = ev_session(w, text, len);
	if (ret)
		goto out;
	cert = ev_peer_cert(w, &ret);
	if (!cert)
		goto out;
	ret = svmigd_verify(X509_get0_pubkey(cert), text, len, sig, siglen);
	if (ret == -EBADMSG || ret == -EINVAL)
		ret = ev_fail(w, "the stored %s does not verify with %s's "
			      "certificate", kind, w->peer);
	else if (!ret)
		w->rep->checked++;
out:
	free(text);
	free(sig);
	return ret;
}

static int ev_head(struct ev_walk *w, struct json_object *ev)
{
	struct svmigd_audit_head h;
	uint8_t *line = NULL;
	size_t len;
	char m[160];
	X509 *cert;
	int ret;

	ret = ev_blob(w, ev, "head", &line, &len);
	if (ret)
		return ret;
	cert = ev_peer_cert(w, &ret);
	if (cert) {
		ret = svmigd_audit_head_parse((const char *)line, len,
					      X509_get0_pubkey(cert), &h, m,
					      sizeof(m));
		if (ret == -EBADMSG || ret == -EINVAL)
			ret = ev_fail(w, "the stored head of %s: %s", w->peer, m);
		else if (!ret)
			w->rep->checked++;
	}
	free(line);
	return ret;
}

static int ev_request(struct ev_walk *w, struct json_object *ev,
		      int64_t when)
{
	struct svmigd_request_verified *v = NULL;
	struct json_object *req = NULL;
	uint8_t *text = NULL;
	size_t len;
	char m[256];
	int ret;

	ret = ev_blob(w, ev, "request", &text, &len);
	if (ret)
		return ret;
	if (!w->o->ca) {
		ev_unchecked(w, "record %llu: no CA given (--ca) for the "
			     "operator's certificate",
			     (unsigned long long)w->seq);
		goto out;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	if (svmigd_json_parse((const char *)text, len, EV_JSON_DEPTH, &req, m,
			      sizeof(m))) {
		ret = ev_fail(w, "the stored request is not JSON: %s", m);
		goto out;
	}
	ret = svmigd_request_verify_json(req, w->o->ca, when, EV_WINDOW, v, m,
					 sizeof(m));
	if (ret == -ENOMEM)
		goto out;
	if (ret) {
		ret = ev_fail(w, "the stored request does not verify: %s", m);
		goto out;
	}
	if (svmig_msg_get_hex(w->details, "request", m, SVMIGD_SHA256_LEN) ||
	    memcmp(m, v->request_sha256, SVMIGD_SHA256_LEN))
		ret = ev_fail(w, "the stored request is not the one whose "
			      "digest the record names (\"request\")");
	else
		w->rep->checked++;
out:
	json_object_put(req);
	free(v);
	free(text);
	return ret;
}

/* "0" to "23" -> hex digest, as ATTEST's "pcrs". */
static int ev_pcrs(struct json_object *o, struct svmigd_tpm_pcrs *p)
{
	struct json_object_iterator it, end;
	uint32_t mask = 0;
	uint8_t val[SVMIGD_TPM_PCR_COUNT][SVMIGD_TPM_DIGEST_LEN];
	const char *name;
	char *e;
	unsigned int i;
	long idx;

	if (!json_object_is_type(o, json_type_object))
		return -EINVAL;
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if (name[0] < '0' || name[0] > '9' || (name[0] == '0' && name[1]))
			return -EINVAL;
		idx = strtol(name, &e, 10);
		if (*e || idx >= SVMIGD_TPM_PCR_COUNT || mask & 1u << idx ||
		    svmig_msg_get_hex(o, name, val[idx], SVMIGD_TPM_DIGEST_LEN))
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

/* The policy's reference values for @h. */
static void ev_pcrs_ref(const struct svmigd_policy_host *h,
			struct svmigd_tpm_pcrs *ref)
{
	unsigned int i;

	memset(ref, 0, sizeof(*ref));
	for (i = 0; i < SVMIGD_PCR_MAX; i++) {
		if (!(h->pcr_mask & 1u << i))
			continue;
		ref->index[ref->count] = (uint8_t)i;
		memcpy(ref->value[ref->count++], h->pcrs[i],
		       SVMIGD_TPM_DIGEST_LEN);
	}
}

static int ev_quote_check(struct ev_walk *w, const uint8_t *ak, size_t ak_len,
			  struct svmigd_tpm_quote *q, const uint8_t *qual)
{
	const struct svmigd_policy_host *h = NULL;
	struct svmigd_tpm_pcrs ref;
	char m[256];
	int ret;

	if (w->o->policy) {
		h = svmigd_policy_host(w->o->policy, w->peer);
		if (!h)
			return ev_fail(w, "%s is not a host of the policy given",
				       w->peer);
		ev_pcrs_ref(h, &ref);
	} else {
		ref = q->pcrs;	/* the values sent: only their digest counts */
	}
	ret = svmigd_tpm_verify_quote(ak, ak_len, h ? h->ak_sha256 : NULL, q,
				      qual, &ref, m, sizeof(m));
	if (ret == SVMIGD_TPM_ENOMEM)
		return -ENOMEM;
	if (ret)
		return ev_fail(w, "the stored quote of %s does not verify: %s",
			       w->peer, m);
	w->rep->checked++;
	return 0;
}

static int ev_quote(struct ev_walk *w, struct json_object *ev)
{
	uint8_t *ak = NULL, *attest = NULL, *sig = NULL;
	uint8_t qual[SVMIGD_TPM_QUAL_LEN];
	size_t ak_len, attest_len, siglen;
	struct svmigd_tpm_quote *q = calloc(1, sizeof(*q));
	int ret = q ? 0 : -ENOMEM;

	if (!ret)
		ret = ev_blob(w, ev, "ak", &ak, &ak_len);
	if (!ret)
		ret = ev_blob(w, ev, "attest", &attest, &attest_len);
	if (!ret)
		ret = ev_blob(w, ev, "signature", &sig, &siglen);
	if (ret)
		goto out;
	if (ak_len > SVMIGD_TPM_PUBLIC_MAX || attest_len > SVMIGD_TPM_ATTEST_MAX ||
	    siglen > SVMIGD_TPM_SIG_MAX ||
	    ev_pcrs(json_object_object_get(ev, "pcrs"), &q->pcrs) ||
	    svmig_msg_get_hex(ev, "qualifying", qual, sizeof(qual))) {
		ret = ev_fail(w, "malformed quote evidence");
		goto out;
	}
	memcpy(q->attest, attest, attest_len);
	q->attest_len = attest_len;
	memcpy(q->sig, sig, siglen);
	q->sig_len = siglen;
	ret = ev_digest(w, "peer_quote", attest, attest_len, false);
	if (!ret)
		ret = ev_quote_check(w, ak, ak_len, q, qual);
out:
	free(q);
	free(ak);
	free(attest);
	free(sig);
	return ret;
}

/* One intact record: its evidence, if it has one. */
static int ev_record(void *arg, struct json_object *rec)
{
	struct ev_walk *w = arg;
	struct json_object *ev, *kind, *peer;
	const char *k;
	int ret;

	w->seq = (uint64_t)json_object_get_int64(json_object_object_get(rec,
									"seq"));
	w->details = json_object_object_get(rec, "details");
	if (!json_object_object_get_ex(w->details, "evidence", &ev))
		return 0;
	kind = json_object_object_get(ev, "kind");
	peer = json_object_object_get(w->details, "peer");
	w->peer = json_object_is_type(peer, json_type_string) ?
		  json_object_get_string(peer) : "";
	k = json_object_is_type(kind, json_type_string) ?
	    json_object_get_string(kind) : "";
	if (!json_object_is_type(ev, json_type_object))
		ret = ev_fail(w, "evidence is not an object");
	else if (!strcmp(k, "receipt") || !strcmp(k, "commit") ||
		 !strcmp(k, "resumed"))
		ret = ev_statement(w, ev, k);
	else if (!strcmp(k, "head"))
		ret = ev_head(w, ev);
	else if (!strcmp(k, "request"))
		ret = ev_request(w, ev, json_object_get_int64(
					 json_object_object_get(rec, "time")));
	else if (!strcmp(k, "quote"))
		ret = ev_quote(w, ev);
	else
		ret = ev_fail(w, "evidence of an unknown kind");
	if (ret == -EBADMSG && !w->rep->seq) {
		w->rep->seq = w->seq;
		snprintf(w->rep->why, sizeof(w->rep->why), "%s", w->why);
	}
	return ret;
}

int svmigd_audit_verify_peer(const char *path, EVP_PKEY *key,
			     const struct svmigd_evidence_opts *o,
			     struct svmigd_evidence_report *rep,
			     struct svmigd_audit_report *arep,
			     char *err, size_t errlen)
{
	struct ev_walk w = { .o = o, .rep = rep };
	int ret;

	memset(rep, 0, sizeof(*rep));
	ret = svmigd_audit_walk(path, key, ev_record, &w, arep, err, errlen);
	if (ret == -EBADMSG && rep->seq)
		svmigd_fail(err, errlen, ret, "%s: record %llu: %s", path,
			    (unsigned long long)rep->seq, rep->why);
	else if (ret == -ENOMEM)
		svmigd_fail(err, errlen, ret, "out of memory");
	ERR_clear_error();
	return ret;
}
