// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd's protocol between a source and a target host, up to the session
 * secret, and the receipt.  See session.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "audit.h"
#include "audit_evidence.h"
#include "msg.h"
#include "outcome.h"
#include "verdict.h"
#include "session.h"

#define SESS_JSON_DEPTH		16
#define SESS_REASON_MAX		256	/* of a peer's words we repeat */
#define SESS_ERROR		"ERROR"
#define SESS_SECRET_INFO	"svmig v1 session secret"
#define SESS_CONFIRM_INFO	"svmig v1 key confirmation"
#define SESS_ID_LABEL		"svmig v1 session id"
#define SESS_INT_MAX		INT64_MAX

/* How a failure is handled (sess_fail). */
enum sess_kind {
	SK_REFUSE,	/* refused here: the reason goes to the peer */
	SK_DENY,	/* refused here, the peer already told (ADMIT) */
	SK_PEER,	/* refused by the peer */
	SK_FAIL,	/* failed here: "internal error" goes to the peer */
	SK_LINK,	/* the connection failed: nothing goes anywhere */
};

struct sess {
	struct svmig_tls_conn *conn;
	const struct svmigd_session_cfg *cfg;
	struct svmigd_session *out;	/* being established, or NULL */
	const struct svmigd_session *ses;	/* what we know so far */
	const char *step;
	const char *peer;		/* the TLS peer's CN */
	int timeout;
	bool verified;			/* ses->request holds a request */
	bool failed;
	EVP_MD_CTX *hash;		/* the transcript, or NULL */
	uint8_t e[SVMIG_TLS_EXPORTER_LEN];
	uint8_t nonce[SVMIGD_NONCE_LEN];	/* ours */
	uint8_t peer_nonce[SVMIGD_NONCE_LEN];
	const struct svmigd_policy_host *me, *them;
	struct svmigd_tpm_ak ak;
	uint8_t peer_ak[SVMIGD_TPM_PUBLIC_MAX];	/* its TPM2B_PUBLIC */
	size_t peer_ak_len;
	struct svmigd_tpm_ecdh *key;
	uint8_t peer_point[SVMIGD_TPM_POINT_LEN];
	uint8_t kc[SVMIGD_SHA256_LEN];	/* CONFIRM's key, from Z */
	char who[SVMIGD_NAME_MAX + 1];	/* for the audit log */
	char what[SVMIGD_NAME_MAX + 1];
	const char *role;		/* audit "role"; NULL: source/target */
	/* what the peer or operator signed, for the next record */
	struct json_object *evidence;	/* audit_evidence.h */
	bool evidence_lost;		/* building it failed */
	char *err;
	size_t errlen;
};

/* ---- words ---- */

static void sess_msg(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sess_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* A peer's words, printable ASCII only, at most SESS_REASON_MAX bytes. */
static void sess_clean(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < size && i < SESS_REASON_MAX; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

static void sess_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* ---- the audit log ---- */

static int sess_add_str(struct json_object *o, const char *key,
			const char *val)
{
	struct json_object *s = json_object_new_string(val);

	if (!s || json_object_object_add(o, key, s)) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int sess_add_u64(struct json_object *o, const char *key, uint64_t v)
{
	struct json_object *n = json_object_new_int64((int64_t)v);

	if (!n || json_object_object_add(o, key, n)) {
		json_object_put(n);
		return -ENOMEM;
	}
	return 0;
}

/* The details every record of a session has. */
static struct json_object *sess_details(const struct sess *s)
{
	struct json_object *d = json_object_new_object();
	const struct svmigd_request_verified *v = &s->ses->request;
	int ret;

	if (!d)
		return NULL;
	ret = sess_add_str(d, "role", s->role ? s->role :
			   s->ses->source ? "source" : "target");
	if (!ret)
		ret = sess_add_str(d, "peer", s->peer);
	if (!ret)
		ret = sess_add_str(d, "step", s->step);
	if (!ret && s->verified)
		ret = svmig_msg_add_hex(d, "request", v->request_sha256,
					sizeof(v->request_sha256));
	if (ret) {
		json_object_put(d);
		return NULL;
	}
	return d;
}

static int sess_audit(const struct sess *s, const char *event,
		      struct json_object *details, char *why, size_t whylen)
{
	if (!details) {
		sess_msg(why, whylen, "out of memory");
		return -ENOMEM;
	}
	return svmigd_audit_append(s->cfg->audit_log, s->cfg->host_key, event,
				   s->who, s->what, details, NULL, why, whylen);
}

/* Appends " (not audited: ...)" to @err when the record failed. */
static void sess_audit_failure(struct sess *s, enum sess_kind kind,
			       const char *reason)
{
	bool refused = kind == SK_REFUSE || kind == SK_DENY || kind == SK_PEER;
	struct json_object *d = sess_details(s);
	char why[256];
	size_t n;
	int ret = d ? 0 : -ENOMEM;

	if (!ret && refused)
		ret = sess_add_str(d, "by", kind == SK_PEER ? "peer" : "us");
	if (!ret)
		ret = sess_add_str(d, refused ? "reason" : "error", reason);
	if (ret) {
		json_object_put(d);
		d = NULL;
	}
	ret = sess_audit(s, refused ? "refused" : "failed", d, why,
			 sizeof(why));
	json_object_put(d);
	n = s->err ? strlen(s->err) : 0;
	if (ret && n < s->errlen)
		sess_msg(s->err + n, s->errlen - n, " (not audited: %s)", why);
}

/* Keeps @ev (consumed; NULL: building it failed) for the next record. */
static void sess_keep(struct sess *s, struct json_object *ev)
{
	json_object_put(s->evidence);
	s->evidence = ev;
	s->evidence_lost = !ev;
}

/* ---- frames: msg.h's framing, keeping the bytes for the transcript ---- */

static void sess_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Sends @msg; hashes the frame into @md (if not NULL) as sent. */
static int frame_send(struct svmig_tls_conn *conn, struct json_object *msg,
		      int timeout, EVP_MD_CTX *md)
{
	const char *text;
	uint8_t *frame;
	size_t len;
	int ret;

	text = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE,
						 &len);
	if (!text)
		return svmig_tls_fail(conn, -ENOMEM, "serialising a message");
	if (!len || len > SVMIG_MSG_MAX)
		return svmig_tls_fail(conn, -EMSGSIZE, "message of %zu bytes",
				      len);
	frame = malloc(SVMIG_MSG_HDR_LEN + len);
	if (!frame)
		return svmig_tls_fail(conn, -ENOMEM, "out of memory");
	sess_put_be32(frame, (uint32_t)len);
	memcpy(frame + SVMIG_MSG_HDR_LEN, text, len);
	ret = 0;
	if (md && EVP_DigestUpdate(md, frame, SVMIG_MSG_HDR_LEN + len) != 1)
		ret = svmig_tls_fail(conn, -ENOMEM, "hashing the transcript");
	if (!ret)
		ret = svmig_tls_write(conn, frame, SVMIG_MSG_HDR_LEN + len,
				      timeout);
	free(frame);
	return ret;
}

/* Reads @len bytes; a close inside a frame is "truncated". */
static int frame_read(struct svmig_tls_conn *conn, void *buf, size_t len,
		      bool first, int timeout)
{
	size_t done = 0;
	int ret = svmig_tls_read(conn, buf, len, timeout, &done);

	if (ret != -ECONNRESET || (first && !done))
		return ret;
	return svmig_tls_fail(conn, -EPROTO, "truncated frame, then %s",
			      svmig_tls_error(conn));
}

/* Strict JSON, exactly one object with a "type", nothing after it. */
static int frame_parse(struct svmig_tls_conn *conn, const char *text,
		       size_t len, struct json_object **msg)
{
	struct json_tokener *tok = json_tokener_new_ex(SESS_JSON_DEPTH);
	struct json_object *obj;
	int ret = 0;

	if (!tok)
		return svmig_tls_fail(conn, -ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (!obj || memchr(text, '\0', len))
		ret = svmig_tls_fail(conn, -EPROTO, "frame is not JSON: %s",
				     json_tokener_error_desc(
					     json_tokener_get_error(tok)));
	else if (json_tokener_get_parse_end(tok) != len)
		ret = svmig_tls_fail(conn, -EPROTO,
				     "frame has bytes after its JSON value");
	else if (!svmig_msg_type(obj))
		ret = svmig_tls_fail(conn, -EPROTO,
				     "frame is not an object with a \"type\"");
	json_tokener_free(tok);
	if (ret)
		json_object_put(obj);
	else
		*msg = obj;
	return ret;
}

/* Receives a message; hashes its frame into @md (if not NULL) as read. */
static int frame_recv(struct svmig_tls_conn *conn, int timeout,
		      EVP_MD_CTX *md, struct json_object **msg)
{
	uint8_t hdr[SVMIG_MSG_HDR_LEN];
	uint8_t *text;
	uint32_t len;
	int ret;

	*msg = NULL;
	ret = frame_read(conn, hdr, sizeof(hdr), true, timeout);
	if (ret)
		return ret;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	      (uint32_t)hdr[2] << 8 | hdr[3];
	if (!len || len > svmig_msg_recv_max(conn))
		return svmig_tls_fail(conn, -EMSGSIZE,
				      "frame of %u bytes (allowed: 1 to %zu)",
				      len, svmig_msg_recv_max(conn));
	text = malloc(len);
	if (!text)
		return svmig_tls_fail(conn, -ENOMEM, "out of memory");
	ret = frame_read(conn, text, len, false, timeout);
	if (!ret && md && (EVP_DigestUpdate(md, hdr, sizeof(hdr)) != 1 ||
			   EVP_DigestUpdate(md, text, len) != 1))
		ret = svmig_tls_fail(conn, -ENOMEM, "hashing the transcript");
	if (!ret)
		ret = frame_parse(conn, (const char *)text, len, msg);
	free(text);
	return ret;
}

/* ---- failures ---- */

static void sess_send_error(struct sess *s, const char *reason)
{
	struct json_object *msg = svmig_msg_new(SESS_ERROR);

	if (msg && !sess_add_str(msg, "step", s->step) &&
	    !sess_add_str(msg, "reason", reason))
		frame_send(s->conn, msg, s->timeout, NULL);
	json_object_put(msg);
}

static int sess_fail(struct sess *s, enum sess_kind kind, int ret,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Reports the session's first failure: @err for the caller, an ERROR for
 * the peer (SK_REFUSE, SK_FAIL), a record in the audit log.  Returns @ret.
 */
static int sess_fail(struct sess *s, enum sess_kind kind, int ret,
		     const char *fmt, ...)
{
	char reason[SVMIGD_SESSION_ERR_LEN];
	va_list ap;

	json_object_put(s->evidence);	/* a refused step's record has none */
	s->evidence = NULL;
	s->evidence_lost = false;
	if (s->failed)
		return ret;
	s->failed = true;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (kind == SK_PEER)
		sess_msg(s->err, s->errlen, "%s: refused by %s: %s", s->step,
			 s->peer, reason);
	else
		sess_msg(s->err, s->errlen, "%s: %s", s->step, reason);
	if (svmig_tls_usable(s->conn) &&
	    (kind == SK_REFUSE || kind == SK_FAIL))
		sess_send_error(s, kind == SK_REFUSE ? reason :
				"internal error");
	sess_audit_failure(s, kind, reason);
	return ret;
}

static int sess_nomem(struct sess *s)
{
	return sess_fail(s, SK_FAIL, -ENOMEM, "out of memory");
}

/*
 * Appends @event with @details (consumed) unless building them failed
 * (@built: their first error): the ending of every audited step.
 */
static int sess_record(struct sess *s, const char *event,
		       struct json_object *details, int built)
{
	char why[256];
	int ret;

	if (!built && (s->evidence || s->evidence_lost))
		built = s->evidence_lost ? -ENOMEM :
			json_object_object_add(details, "evidence", s->evidence);
	if (built && s->evidence && !s->evidence_lost)
		json_object_put(s->evidence);
	s->evidence = NULL;
	s->evidence_lost = false;
	if (built) {
		json_object_put(details);
		return sess_nomem(s);
	}
	ret = sess_audit(s, event, details, why, sizeof(why));
	json_object_put(details);
	if (ret)
		return sess_fail(s, SK_FAIL, ret, "audit log: %s", why);
	return 0;
}

static int sess_tpm_fail(struct sess *s, int err, const char *what)
{
	if (err == SVMIGD_TPM_ENOMEM)
		return sess_nomem(s);
	return sess_fail(s, SK_FAIL, -EIO, "TPM: %s: %s (%s)", what,
			 svmigd_tpm_strerror(err),
			 svmigd_tpm_last_error(s->cfg->tpm));
}

static int sess_bad_field(struct sess *s, const char *type, const char *key)
{
	return sess_fail(s, SK_REFUSE, -EPROTO,
			 "malformed %s message: field \"%s\"", type, key);
}

/* ---- messages ---- */

static int sess_send(struct sess *s, struct json_object *msg)
{
	int ret;

	if (!msg)
		return sess_nomem(s);
	ret = frame_send(s->conn, msg, s->timeout, s->hash);
	if (ret)
		return sess_fail(s, SK_LINK, ret, "sending %s: %s",
				 svmig_msg_type(msg), svmig_tls_error(s->conn));
	return 0;
}

/* The step an ERROR names, if it is one of ours. */
static void sess_peer_step(struct sess *s, struct json_object *msg)
{
	static const char *const steps[] = {
		SVMIG_MSG_REQUEST, SVMIG_MSG_ATTEST, SVMIG_MSG_ADMIT,
		SVMIG_MSG_KEY, SVMIG_MSG_RECEIPT, SVMIG_MSG_COMMIT,
		SVMIG_MSG_RESUMED, SVMIG_MSG_PROBE, SVMIG_MSG_VERDICT,
		SVMIG_MSG_QUERY, SVMIG_MSG_OUTCOME, SVMIG_MSG_CONFIRM,
	};
	struct json_object *step;
	size_t i;

	if (!json_object_object_get_ex(msg, "step", &step) ||
	    !json_object_is_type(step, json_type_string))
		return;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (!strcmp(json_object_get_string(step), steps[i]))
			s->step = steps[i];
}

/* The peer's ERROR: its words, refused by the peer at the step it names. */
static int sess_peer_error(struct sess *s, struct json_object *msg)
{
	struct json_object *r;
	char reason[SESS_REASON_MAX + 1];

	sess_peer_step(s, msg);

	if (!json_object_object_get_ex(msg, "reason", &r) ||
	    !json_object_is_type(r, json_type_string))
		sess_copy(reason, sizeof(reason), "no reason given");
	else
		sess_clean(reason, sizeof(reason), json_object_get_string(r));
	return sess_fail(s, SK_PEER, -ECONNABORTED, "%s", reason);
}

static int tgt_probe(struct sess *s, struct json_object *msg);
static int tgt_query(struct sess *s, struct json_object *msg);

/* Receives a @type message, or fails with the peer's ERROR. */
static int sess_recv(struct sess *s, const char *type,
		     struct json_object **msg)
{
	/* the target's first message: within cfg->first_timeout_ms */
	bool first = !s->ses->source && !strcmp(type, SVMIG_MSG_REQUEST) &&
		     s->cfg->first_timeout_ms > 0;
	char got[33];
	int ret;

	ret = frame_recv(s->conn, first ? s->cfg->first_timeout_ms : s->timeout,
			 s->hash, msg);
	if (ret)
		return sess_fail(s, SK_LINK, ret, "waiting for %s: %s", type,
				 svmig_tls_error(s->conn));
	if (!strcmp(svmig_msg_type(*msg), type))
		return 0;
	if (!strcmp(type, SVMIG_MSG_REQUEST) &&	/* the target's first */
	    !strcmp(svmig_msg_type(*msg), SVMIG_MSG_PROBE))
		ret = tgt_probe(s, *msg);
	else if (!strcmp(type, SVMIG_MSG_REQUEST) &&
		 !strcmp(svmig_msg_type(*msg), SVMIG_MSG_QUERY))
		ret = tgt_query(s, *msg);
	else if (!strcmp(svmig_msg_type(*msg), SESS_ERROR))
		ret = sess_peer_error(s, *msg);
	else {
		sess_clean(got, sizeof(got), svmig_msg_type(*msg));
		ret = sess_fail(s, SK_REFUSE, -EPROTO,
				"expected a %s message, got %s", type, got);
	}
	json_object_put(*msg);
	*msg = NULL;
	return ret;
}

/* @msg has exactly "type" and the @n @keys. */
static int sess_keys(struct sess *s, struct json_object *msg,
		     const char *const *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!json_object_object_get_ex(msg, keys[i], NULL))
			return sess_bad_field(s, svmig_msg_type(msg), keys[i]);
	if ((size_t)json_object_object_length(msg) != n + 1)
		return sess_fail(s, SK_REFUSE, -EPROTO,
				 "malformed %s message: unknown fields",
				 svmig_msg_type(msg));
	return 0;
}

static int sess_get_hex(struct sess *s, struct json_object *msg,
			const char *key, void *buf, size_t min, size_t max,
			size_t *len)
{
	size_t got;

	if (svmig_msg_get_hex_range(msg, key, buf, min, max, len ? len : &got))
		return sess_bad_field(s, svmig_msg_type(msg), key);
	return 0;
}

/* ---- digests ---- */

static int sess_sha256(const void *a, size_t alen, const void *b,
		       size_t blen, const void *c, size_t clen,
		       uint8_t out[SVMIGD_SHA256_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, a, alen) == 1 &&
	     EVP_DigestUpdate(md, b, blen) == 1 &&
	     EVP_DigestUpdate(md, c, clen) == 1 &&
	     EVP_DigestFinal_ex(md, out, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -ENOMEM;
}

/* SHA-256(E || @label || @nonce): the qualifying data of a quote or key. */
static int sess_qual(struct sess *s, const char *label, const uint8_t *nonce,
		     uint8_t qual[SVMIGD_TPM_QUAL_LEN])
{
	if (sess_sha256(s->e, sizeof(s->e), label, strlen(label), nonce,
			nonce ? SVMIGD_NONCE_LEN : 0, qual))
		return sess_nomem(s);
	return 0;
}

static int sess_hkdf(const uint8_t salt[SVMIGD_SHA256_LEN],
		     const uint8_t z[SVMIGD_TPM_Z_LEN], const char *label,
		     uint8_t out[SVMIGD_SECRET_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 digest, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						  (void *)z, SVMIGD_TPM_Z_LEN),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						  (void *)salt,
						  SVMIGD_SHA256_LEN),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						  (void *)label, strlen(label)),
		OSSL_PARAM_construct_end(),
	};
	int ok = ctx && EVP_KDF_derive(ctx, out, SVMIGD_SECRET_LEN,
				       params) == 1;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -ENOMEM;
}

/* ---- PCRs ---- */

/* The policy's reference values of @h, in ascending order. */
static void sess_pcrs_ref(const struct svmigd_policy_host *h,
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

static int sess_pcrs_parse(struct json_object *o, struct svmigd_tpm_pcrs *p)
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

/* ---- REQUEST ---- */

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
	if (!ret)	/* a restarted target's replay cache (daemon.c) */
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

static int src_request(struct sess *s, const char *text, size_t len)
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
	    svmig_msg_add_hex(msg, "nonce", s->nonce, sizeof(s->nonce))) {
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

static int tgt_request(struct sess *s)
{
	static const char *const keys[] = { "request", "nonce" };
	struct json_object *msg;
	int ret;

	ret = sess_recv(s, SVMIG_MSG_REQUEST, &msg);
	if (ret)
		return ret;
	ret = sess_keys(s, msg, keys, 2);
	if (!ret)
		ret = sess_get_hex(s, msg, "nonce", s->peer_nonce,
				   SVMIGD_NONCE_LEN, SVMIGD_NONCE_LEN, NULL);
	if (!ret)
		ret = sess_request(s, json_object_object_get(msg, "request"));
	json_object_put(msg);
	return ret;
}

/* ---- ATTEST ---- */

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
static int attest_send(struct sess *s)
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
	ret = sess_send(s, msg);
	json_object_put(msg);
out:
	free(q);
	return ret;
}

static int attest_parse(struct sess *s, struct json_object *msg,
			struct svmigd_tpm_quote *q)
{
	static const char *const keys[] = { "ak", "attest", "sig", "pcrs",
					    "nonce" };
	size_t n = s->ses->source ? 5 : 4;	/* the target's has a nonce */
	int ret;

	ret = sess_keys(s, msg, keys, n);
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
static int attest_check(struct sess *s, struct json_object *msg)
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
	sess_pcrs_ref(s->them, &ref);
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

static int attest_recv(struct sess *s)
{
	struct json_object *msg;
	int ret = sess_recv(s, SVMIG_MSG_ATTEST, &msg);

	if (ret)
		return ret;
	ret = attest_check(s, msg);
	json_object_put(msg);
	return ret;
}

/* ---- attestation only: PROBE, ATTEST, VERDICT (session.h) ---- */

#define SESS_TRUSTED	"trusted"

/* An "attest" record: the quote that was trusted. */
static int probe_audit(struct sess *s, const uint8_t *quote,
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
static int tgt_probe(struct sess *s, struct json_object *msg)
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

/*
 * The first message was a QUERY (@msg, borrowed): how one of our sessions
 * as the target ended (outcome.h, which answers and audits).
 */
static int tgt_query(struct sess *s, struct json_object *msg)
{
	int ret;

	s->step = SVMIG_MSG_QUERY;
	s->failed = true;	/* outcome.c reports its own failures */
	ret = svmigd_outcome_answer(s->conn, s->cfg, msg, s->err, s->errlen);
	return ret ? ret : SVMIGD_SESSION_ANSWERED;
}

/* Verifier: the peer must be a host of the policy; its reference values. */
static int probe_begin(struct sess *s, struct svmigd_attestation *a)
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

static int probe_send(struct sess *s)
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
static int probe_recv(struct sess *s, struct svmigd_attestation *a)
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

static int probe_verdict(struct sess *s)
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

/* ---- ADMIT ---- */

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

static int tgt_admit(struct sess *s)
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

static int src_admit(struct sess *s)
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

/* ---- KEY ---- */

static int key_send(struct sess *s)
{
	uint8_t qual[SVMIGD_TPM_QUAL_LEN], point[SVMIGD_TPM_POINT_LEN];
	struct svmigd_tpm_ecdh_cert *c = malloc(sizeof(*c));
	struct json_object *msg = NULL;
	int ret;

	if (!c)
		return sess_nomem(s);
	ret = sess_qual(s, "ecdh", NULL, qual);
	if (ret)
		goto out;
	ret = svmigd_tpm_ecdh_create(s->cfg->tpm, qual, &s->key, c);
	if (!ret)
		ret = svmigd_tpm_ecdh_point(s->key, point);
	if (ret) {
		ret = sess_tpm_fail(s, ret, "ECDH key");
		goto out;
	}
	msg = svmig_msg_new(SVMIG_MSG_KEY);
	if (svmigd_sha256(point, sizeof(point), s->out->key_sha256) || !msg ||
	    svmig_msg_add_hex(msg, "pub", c->pub, c->pub_len) ||
	    svmig_msg_add_hex(msg, "attest", c->attest, c->attest_len) ||
	    svmig_msg_add_hex(msg, "sig", c->sig, c->sig_len)) {
		ret = sess_nomem(s);
		goto out;
	}
	ret = sess_send(s, msg);
out:
	json_object_put(msg);
	free(c);
	return ret;
}

static int key_check(struct sess *s, struct json_object *msg,
		     struct svmigd_tpm_ecdh_cert *c)
{
	static const char *const keys[] = { "pub", "attest", "sig" };
	uint8_t qual[SVMIGD_TPM_QUAL_LEN];
	char why[256];
	int ret;

	ret = sess_keys(s, msg, keys, 3);
	if (!ret)
		ret = sess_get_hex(s, msg, "pub", c->pub, 1,
				   SVMIGD_TPM_PUBLIC_MAX, &c->pub_len);
	if (!ret)
		ret = sess_get_hex(s, msg, "attest", c->attest, 1,
				   SVMIGD_TPM_ATTEST_MAX, &c->attest_len);
	if (!ret)
		ret = sess_get_hex(s, msg, "sig", c->sig, 1,
				   SVMIGD_TPM_SIG_MAX, &c->sig_len);
	if (!ret)
		ret = sess_qual(s, "ecdh", NULL, qual);
	if (ret)
		return ret;
	ret = svmigd_tpm_verify_ecdh(s->peer_ak, s->peer_ak_len,
				     s->them->ak_sha256, c, qual,
				     s->peer_point, why, sizeof(why));
	if (ret == SVMIGD_TPM_ENOMEM || ret == SVMIGD_TPM_ECRYPTO)
		return sess_tpm_fail(s, ret, "verifying the peer's ECDH key");
	if (ret)
		return sess_fail(s, SK_REFUSE, -EACCES, "%s's ECDH key: %s",
				 s->peer, why);
	if (svmigd_sha256(s->peer_point, sizeof(s->peer_point),
			  s->out->peer_key_sha256))
		return sess_nomem(s);
	return 0;
}

static int key_recv(struct sess *s)
{
	struct svmigd_tpm_ecdh_cert *c;
	struct json_object *msg;
	int ret = sess_recv(s, SVMIG_MSG_KEY, &msg);

	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	ret = c ? key_check(s, msg, c) : sess_nomem(s);
	free(c);
	json_object_put(msg);
	return ret;
}

/* ---- the secret ---- */

static int sess_audit_session(struct sess *s)
{
	const struct svmigd_session *o = s->ses;
	struct json_object *d = sess_details(s);
	int ret = d ? 0 : -ENOMEM;

	if (!ret)
		ret = svmig_msg_add_hex(d, "session", o->id, sizeof(o->id));
	if (!ret)
		ret = svmig_msg_add_hex(d, "transcript", o->transcript,
					sizeof(o->transcript));
	if (!ret)
		ret = svmig_msg_add_hex(d, "quote", o->quote_sha256, 32);
	if (!ret)
		ret = svmig_msg_add_hex(d, "peer_quote", o->peer_quote_sha256,
					32);
	if (!ret)
		ret = svmig_msg_add_hex(d, "key", o->key_sha256, 32);
	if (!ret)
		ret = svmig_msg_add_hex(d, "peer_key", o->peer_key_sha256, 32);
	if (!ret)
		ret = sess_add_str(d, "operator", o->operator);
	if (!ret)
		ret = sess_add_str(d, "rule", o->role);
	return sess_record(s, "session", d, ret);
}

/* Z, then the secret and the id from the transcript; Z wiped. */
static int sess_derive(struct sess *s)
{
	struct svmigd_session *o = s->out;
	uint8_t z[SVMIGD_TPM_Z_LEN], id[SVMIGD_SHA256_LEN];
	int ret;

	ret = svmigd_tpm_ecdh_zgen(s->key, s->peer_point, z);
	svmigd_tpm_ecdh_free(s->key);
	s->key = NULL;
	if (ret)
		return sess_tpm_fail(s, ret, "ECDH");
	ret = EVP_DigestFinal_ex(s->hash, o->transcript, NULL) == 1 ? 0 :
	      -ENOMEM;
	EVP_MD_CTX_free(s->hash);	/* the transcript ends with the KEYs */
	s->hash = NULL;
	if (!ret)
		ret = sess_hkdf(o->transcript, z, SESS_SECRET_INFO, o->secret);
	if (!ret)
		ret = sess_hkdf(o->transcript, z, SESS_CONFIRM_INFO, s->kc);
	OPENSSL_cleanse(z, sizeof(z));
	if (!ret)
		ret = sess_sha256(SESS_ID_LABEL, strlen(SESS_ID_LABEL),
				  o->transcript, sizeof(o->transcript), "", 0,
				  id);
	if (ret)
		return sess_nomem(s);
	memcpy(o->id, id, sizeof(o->id));
	sess_copy(o->peer, sizeof(o->peer), s->peer);
	return sess_audit_session(s);
}

/* ---- CONFIRM: both sides show they derived the same keys ---- */

/* HMAC-SHA-256(Kc, "source" or "target" || H): what that side sends. */
static int confirm_mac(const struct sess *s, bool source,
		       uint8_t mac[SVMIGD_SHA256_LEN])
{
	const char *role = source ? "source" : "target";
	uint8_t data[6 + SVMIGD_SHA256_LEN];
	unsigned int len = 0;

	memcpy(data, role, 6);
	memcpy(data + 6, s->out->transcript, SVMIGD_SHA256_LEN);
	if (!HMAC(EVP_sha256(), s->kc, sizeof(s->kc), data, sizeof(data), mac,
		  &len) || len != SVMIGD_SHA256_LEN)
		return -ENOMEM;
	return 0;
}

static int confirm_send(struct sess *s)
{
	uint8_t mac[SVMIGD_SHA256_LEN];
	struct json_object *msg;
	int ret;

	s->step = SVMIG_MSG_CONFIRM;
	if (confirm_mac(s, s->out->source, mac))
		return sess_nomem(s);
	msg = svmig_msg_new(SVMIG_MSG_CONFIRM);
	if (msg && svmig_msg_add_hex(msg, "mac", mac, sizeof(mac))) {
		json_object_put(msg);
		msg = NULL;
	}
	ret = sess_send(s, msg);
	json_object_put(msg);
	return ret;
}

static int confirm_recv(struct sess *s)
{
	static const char *const keys[] = { "mac" };
	uint8_t got[SVMIGD_SHA256_LEN], want[SVMIGD_SHA256_LEN];
	struct json_object *msg;
	int ret;

	s->step = SVMIG_MSG_CONFIRM;
	ret = sess_recv(s, SVMIG_MSG_CONFIRM, &msg);
	if (ret)
		return ret;
	ret = sess_keys(s, msg, keys, 1);
	if (!ret)
		ret = sess_get_hex(s, msg, "mac", got, sizeof(got), sizeof(got),
				   NULL);
	json_object_put(msg);
	if (ret)
		return ret;
	if (confirm_mac(s, !s->out->source, want))
		return sess_nomem(s);
	if (CRYPTO_memcmp(got, want, sizeof(got)))
		return sess_fail(s, SK_REFUSE, -EACCES,
				 "key confirmation failed: %s did not derive "
				 "this session's keys", s->peer);
	return 0;
}

/* ---- a session ---- */

static bool sess_cfg_ok(const struct svmigd_session_cfg *cfg, bool target)
{
	return cfg && cfg->host_name && cfg->policy && cfg->tpm &&
	       cfg->host_key && cfg->audit_log && cfg->operator_anchors &&
	       (!target || (cfg->max_mem_mib && cfg->max_vcpus));
}

int svmigd_session_timeout(const struct svmigd_session_cfg *cfg)
{
	if (!cfg->timeout_ms)
		return SVMIGD_SESSION_TIMEOUT;
	return cfg->timeout_ms < 0 ? -1 : cfg->timeout_ms;
}

static int sess_begin(struct sess *s, struct svmig_tls_conn *conn,
		      const struct svmigd_session_cfg *cfg, bool source,
		      struct svmigd_session *out, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (err && errlen)
		err[0] = '\0';
	if (out) {
		memset(out, 0, sizeof(*out));
		out->source = source;
	}
	if (!out || !conn || !sess_cfg_ok(cfg, !source) ||
	    !svmig_tls_peer_cn(conn)) {
		sess_msg(err, errlen, "session: missing argument");
		return -EINVAL;
	}
	*s = (struct sess){
		.conn = conn, .cfg = cfg, .out = out, .ses = out,
		.step = SVMIG_MSG_REQUEST, .peer = svmig_tls_peer_cn(conn),
		.timeout = svmigd_session_timeout(cfg), .err = err, .errlen = errlen,
	};
	sess_copy(s->who, sizeof(s->who), "unknown");
	sess_copy(s->what, sizeof(s->what), "-");
	s->hash = EVP_MD_CTX_new();
	if (!s->hash || EVP_DigestInit_ex(s->hash, EVP_sha256(), NULL) != 1 ||
	    RAND_bytes(s->nonce, sizeof(s->nonce)) != 1)
		return sess_nomem(s);
	if (svmig_tls_exporter(conn, s->e))
		return sess_fail(s, SK_FAIL, -EIO, "TLS exporter: %s",
				 svmig_tls_error(conn));
	s->me = svmigd_policy_host(cfg->policy, cfg->host_name);
	if (!s->me)
		return sess_fail(s, SK_REFUSE, -EACCES,
				 "this host (%s) is not in the policy",
				 cfg->host_name);
	return 0;
}

static void sess_end(struct sess *s, int ret)
{
	if (s->key)
		svmigd_tpm_ecdh_free(s->key);
	json_object_put(s->evidence);
	EVP_MD_CTX_free(s->hash);
	if (ret && s->out)
		svmigd_session_wipe(s->out);
	ERR_clear_error();
	OPENSSL_cleanse(s, sizeof(*s));
}

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

int svmigd_session_target(struct svmig_tls_conn *conn,
			  const struct svmigd_session_cfg *cfg,
			  struct svmigd_session *out, char *err, size_t errlen)
{
	struct sess s;
	int ret = sess_begin(&s, conn, cfg, false, out, err, errlen);

	if (!ret)
		ret = tgt_request(&s);
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

void svmigd_session_wipe(struct svmigd_session *s)
{
	if (s)
		OPENSSL_cleanse(s, sizeof(*s));
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

/* ---- RECEIPT ---- */

/* The canonical object: the keys in session.h's order. */
static struct json_object *receipt_object(const struct svmigd_receipt *r)
{
	struct json_object *o = json_object_new_object();
	int ret = o ? 0 : -ENOMEM;

	if (!ret)
		ret = svmig_msg_add_hex(o, "session", r->session,
					sizeof(r->session));
	if (!ret)
		ret = sess_add_str(o, "verdict", r->ok ? "ok" : "failed");
	if (!ret)
		ret = sess_add_u64(o, "records", r->records);
	if (!ret)
		ret = sess_add_u64(o, "bytes", r->bytes);
	if (!ret)
		ret = sess_add_str(o, "reason", r->reason);
	if (!ret)
		ret = svmig_msg_add_hex(o, "transcript", r->transcript,
					sizeof(r->transcript));
	if (!ret)
		ret = sess_add_u64(o, "time", (uint64_t)r->time);
	if (ret) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static const char *receipt_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* A session's state for the failure paths of the receipt. */
static void receipt_begin(struct sess *s, struct svmig_tls_conn *conn,
			  const struct svmigd_session_cfg *cfg,
			  const struct svmigd_session *ses,
			  char *err, size_t errlen)
{
	*s = (struct sess){
		.conn = conn, .cfg = cfg, .ses = ses, .step = SVMIG_MSG_RECEIPT,
		.peer = ses->peer, .timeout = svmigd_session_timeout(cfg),
		.verified = true, .err = err, .errlen = errlen,
	};
	sess_copy(s->who, sizeof(s->who), ses->operator);
	sess_copy(s->what, sizeof(s->what), ses->request.req.vm);
}

static int receipt_audit(struct sess *s, const struct svmigd_receipt *r)
{
	struct json_object *d = sess_details(s);
	int ret = d ? 0 : -ENOMEM;

	if (!ret)
		ret = svmig_msg_add_hex(d, "session", r->session,
					sizeof(r->session));
	if (!ret)
		ret = sess_add_str(d, "verdict", r->ok ? "ok" : "failed");
	if (!ret)
		ret = sess_add_u64(d, "records", r->records);
	if (!ret)
		ret = sess_add_u64(d, "bytes", r->bytes);
	if (!ret && !r->ok)
		ret = sess_add_str(d, "reason", r->reason);
	if (!ret)
		ret = svmig_msg_add_hex(d, "receipt", r->sha256,
					sizeof(r->sha256));
	return sess_record(s, "receipt", d, ret);
}

/* The RECEIPT message of @r, signed with the host key. */
static int receipt_msg(struct sess *s, struct svmigd_receipt *r,
		       struct json_object **out)
{
	struct json_object *o = receipt_object(r), *msg = NULL;
	const char *text = o ? receipt_text(o) : NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int ret = text ? 0 : -ENOMEM;

	if (!ret)
		ret = svmigd_sha256(text, strlen(text), r->sha256);
	if (!ret)
		ret = svmigd_sign(s->cfg->host_key, text, strlen(text), &sig,
				  &siglen);
	if (!ret) {
		msg = svmig_msg_new(SVMIG_MSG_RECEIPT);
		if (!msg || json_object_object_add(msg, "receipt", o))
			ret = -ENOMEM;
		else
			o = NULL;	/* msg holds it */
	}
	if (!ret && svmig_msg_add_hex(msg, "signature", sig, siglen))
		ret = -ENOMEM;
	free(sig);
	json_object_put(o);
	if (ret) {
		json_object_put(msg);
		return sess_fail(s, SK_FAIL, ret, "signing the receipt: %s",
				 svmigd_strerror(-ret));
	}
	*out = msg;
	return 0;
}

int svmigd_session_receipt_send(struct svmig_tls_conn *conn,
				const struct svmigd_session_cfg *cfg,
				const struct svmigd_session *ses, bool ok,
				uint64_t records, uint64_t bytes,
				const char *reason,
				uint8_t sha256[SVMIGD_SHA256_LEN],
				char *err, size_t errlen)
{
	struct svmigd_receipt r = { .ok = ok, .records = records,
				    .bytes = bytes, .time = time(NULL) };
	struct json_object *msg = NULL;
	struct sess s;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!conn || !sess_cfg_ok(cfg, false) || !ses || ses->source ||
	    records >= SESS_INT_MAX || bytes >= SESS_INT_MAX ||
	    (ok ? reason && reason[0] : !reason || !svmigd_reason_ok(reason))) {
		sess_msg(err, errlen, "receipt: bad argument");
		return -EINVAL;
	}
	if (!ok)
		snprintf(r.reason, sizeof(r.reason), "%s", reason);
	receipt_begin(&s, conn, cfg, ses, err, errlen);
	memcpy(r.session, ses->id, sizeof(r.session));
	memcpy(r.transcript, ses->transcript, sizeof(r.transcript));
	ret = receipt_msg(&s, &r, &msg);
	if (!ret)
		ret = receipt_audit(&s, &r);
	if (!ret)
		ret = sess_send(&s, msg);
	json_object_put(msg);
	if (!ret && sha256)
		memcpy(sha256, r.sha256, sizeof(r.sha256));
	return ret;
}

static int receipt_int(struct json_object *o, const char *key, int64_t min,
		       uint64_t *v)
{
	struct json_object *n = json_object_object_get(o, key);
	int64_t i;

	if (!json_object_is_type(n, json_type_int))
		return -EINVAL;
	errno = 0;
	i = json_object_get_int64(n);
	if (errno || i < min || i >= SESS_INT_MAX)
		return -EINVAL;
	*v = (uint64_t)i;
	return 0;
}

/* The receipt's fields; -EINVAL when any is missing, extra or wrong. */
static int receipt_parse(struct json_object *o, struct svmigd_receipt *r)
{
	struct json_object *v = json_object_object_get(o, "verdict");
	struct json_object *why = json_object_object_get(o, "reason");
	uint64_t t = 0;

	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 7 ||
	    !json_object_is_type(why, json_type_string) ||
	    (size_t)json_object_get_string_len(why) >= sizeof(r->reason) ||
	    svmig_msg_get_hex(o, "session", r->session, sizeof(r->session)) ||
	    svmig_msg_get_hex(o, "transcript", r->transcript,
			      sizeof(r->transcript)) ||
	    !json_object_is_type(v, json_type_string) ||
	    receipt_int(o, "records", 0, &r->records) ||
	    receipt_int(o, "bytes", 0, &r->bytes) ||
	    receipt_int(o, "time", 1, &t))
		return -EINVAL;
	r->time = (int64_t)t;
	if (!strcmp(json_object_get_string(v), "ok"))
		r->ok = true;
	else if (strcmp(json_object_get_string(v), "failed"))
		return -EINVAL;
	/* "" with "ok"; with "failed", words an operator can read */
	memcpy(r->reason, json_object_get_string(why),
	       (size_t)json_object_get_string_len(why) + 1);
	if (strlen(r->reason) != (size_t)json_object_get_string_len(why) ||
	    (r->ok ? r->reason[0] != '\0' : !svmigd_reason_ok(r->reason)))
		return -EINVAL;
	return 0;
}

/* Signature by the peer's certificate key over the rebuilt canonical form. */
static int receipt_signature(struct sess *s, struct svmigd_receipt *r,
			     const uint8_t *sig, size_t siglen)
{
	struct json_object *o = receipt_object(r);
	const char *text = o ? receipt_text(o) : NULL;
	X509 *cert = svmig_tls_peer_cert(s->conn);
	int ret;

	if (!text || svmigd_sha256(text, strlen(text), r->sha256)) {
		json_object_put(o);
		return sess_nomem(s);
	}
	ret = cert ? svmigd_verify(X509_get0_pubkey(cert), text, strlen(text),
				   sig, siglen) : -EBADMSG;
	if (!ret)
		sess_keep(s, svmigd_evidence_statement("receipt", text, sig,
						       siglen));
	json_object_put(o);
	if (ret == -ENOMEM)
		return sess_nomem(s);
	if (ret)
		return sess_fail(s, SK_REFUSE, -EBADMSG,
				 "receipt refused: its signature does not verify with %s's certificate",
				 s->peer);
	return 0;
}

/*
 * An "ok" receipt must count exactly what the source sent: every record
 * of the stream (HELLO, data, END) and its wire bytes, as both kernels
 * count them.  Anything else is a target that did not receive this
 * stream, or one that lies about it: no COMMIT on it.
 */
static int receipt_counts(struct sess *s, const struct svmigd_receipt *r,
			  const struct svmigd_counts *sent)
{
	if (!r->ok || !sent ||
	    (r->records == sent->records && r->bytes == sent->bytes))
		return 0;
	return sess_fail(s, SK_REFUSE, -EBADMSG,
			 "receipt refused: it counts %llu records and %llu bytes, "
			 "but %llu records and %llu bytes were sent",
			 (unsigned long long)r->records,
			 (unsigned long long)r->bytes,
			 (unsigned long long)sent->records,
			 (unsigned long long)sent->bytes);
}

static int receipt_check(struct sess *s, struct json_object *msg,
			 const struct svmigd_counts *sent,
			 struct svmigd_receipt *r)
{
	static const char *const keys[] = { "receipt", "signature" };
	uint8_t sig[SVMIGD_SIG_MAX];
	char got[2 * SVMIGD_SESSION_ID_LEN + 1], want[sizeof(got)];
	size_t siglen;
	int ret;

	ret = sess_keys(s, msg, keys, 2);
	if (!ret && receipt_parse(json_object_object_get(msg, "receipt"), r))
		ret = sess_fail(s, SK_REFUSE, -EBADMSG,
				"receipt refused: malformed");
	if (!ret)
		ret = sess_get_hex(s, msg, "signature", sig, 1, sizeof(sig),
				   &siglen);
	if (!ret)
		ret = receipt_signature(s, r, sig, siglen);
	if (ret)
		return ret;
	svmigd_hex_encode(got, r->session, sizeof(r->session));
	svmigd_hex_encode(want, s->ses->id, sizeof(s->ses->id));
	if (strcmp(got, want))
		return sess_fail(s, SK_REFUSE, -EBADMSG,
				 "receipt refused: it is for session %s, not %s",
				 got, want);
	if (memcmp(r->transcript, s->ses->transcript, sizeof(r->transcript)))
		return sess_fail(s, SK_REFUSE, -EBADMSG,
				 "receipt refused: its transcript is not this session's");
	return receipt_counts(s, r, sent);
}

int svmigd_session_receipt_recv(struct svmig_tls_conn *conn,
				const struct svmigd_session_cfg *cfg,
				const struct svmigd_session *ses,
				const struct svmigd_counts *sent,
				struct svmigd_receipt *r,
				char *err, size_t errlen)
{
	struct json_object *msg;
	struct sess s;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!r || !conn || !sess_cfg_ok(cfg, false) || !ses || !ses->source) {
		sess_msg(err, errlen, "receipt: bad argument");
		return -EINVAL;
	}
	memset(r, 0, sizeof(*r));
	receipt_begin(&s, conn, cfg, ses, err, errlen);
	if (!svmig_tls_peer_cn(conn) || strcmp(svmig_tls_peer_cn(conn),
					       ses->peer))
		return sess_fail(&s, SK_REFUSE, -EACCES,
				 "receipt refused: the connection is not to %s",
				 ses->peer);
	ret = sess_recv(&s, SVMIG_MSG_RECEIPT, &msg);
	if (ret)
		return ret;
	ret = receipt_check(&s, msg, sent, r);
	json_object_put(msg);
	if (!ret)
		ret = receipt_audit(&s, r);
	if (!ret && !r->ok) {
		sess_msg(err, errlen, "RECEIPT: %s reports that the migration "
			 "failed: %s", ses->peer, r->reason);
		ret = -EREMOTEIO;
	}
	if (ret && ret != -EREMOTEIO)
		memset(r, 0, sizeof(*r));
	return ret;
}

/* ---- COMMIT and RESUMED: the handover after an "ok" receipt ---- */

static const char *handover_type(enum svmigd_handover what)
{
	return what == SVMIGD_COMMIT ? SVMIG_MSG_COMMIT : SVMIG_MSG_RESUMED;
}

static const char *handover_step(enum svmigd_handover what)
{
	return what == SVMIGD_COMMIT ? "commit" : "resumed";
}

/* The canonical statement: the keys in session.h's order. */
static struct json_object *handover_object(enum svmigd_handover what,
					   const uint8_t *session,
					   const uint8_t *receipt, int64_t t)
{
	struct json_object *o = json_object_new_object();
	int ret = o ? 0 : -ENOMEM;

	if (!ret)
		ret = sess_add_str(o, "step", handover_step(what));
	if (!ret)
		ret = svmig_msg_add_hex(o, "session", session,
					SVMIGD_SESSION_ID_LEN);
	if (!ret)
		ret = svmig_msg_add_hex(o, "receipt", receipt,
					SVMIGD_SHA256_LEN);
	if (!ret)
		ret = sess_add_u64(o, "time", (uint64_t)t);
	if (ret) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void handover_begin(struct sess *s, struct svmig_tls_conn *conn,
			   const struct svmigd_session_cfg *cfg,
			   const struct svmigd_session *ses,
			   enum svmigd_handover what, char *err, size_t errlen)
{
	receipt_begin(s, conn, cfg, ses, err, errlen);
	s->step = handover_type(what);
}

static int handover_audit(struct sess *s, const uint8_t *receipt,
			  const uint8_t *sha256, enum svmigd_handover what)
{
	struct json_object *d = sess_details(s);
	int ret = d ? 0 : -ENOMEM;

	if (!ret)
		ret = svmig_msg_add_hex(d, "session", s->ses->id,
					sizeof(s->ses->id));
	if (!ret)
		ret = svmig_msg_add_hex(d, "receipt", receipt,
					SVMIGD_SHA256_LEN);
	if (!ret)
		ret = svmig_msg_add_hex(d, "statement", sha256,
					SVMIGD_SHA256_LEN);
	return sess_record(s, handover_step(what), d, ret);
}

/* The signed message; *@sha256: the statement's digest. */
static int handover_msg(struct sess *s, enum svmigd_handover what,
			const uint8_t *receipt, uint8_t *sha256,
			struct json_object **out)
{
	struct json_object *o, *msg = NULL;
	const char *text;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int ret;

	o = handover_object(what, s->ses->id, receipt, time(NULL));
	text = o ? receipt_text(o) : NULL;
	ret = text ? 0 : -ENOMEM;
	if (!ret)
		ret = svmigd_sha256(text, strlen(text), sha256);
	if (!ret)
		ret = svmigd_sign(s->cfg->host_key, text, strlen(text), &sig,
				  &siglen);
	if (!ret) {
		msg = svmig_msg_new(handover_type(what));
		if (!msg || json_object_object_add(msg, "statement", o))
			ret = -ENOMEM;
		else
			o = NULL;	/* msg holds it */
	}
	if (!ret && svmig_msg_add_hex(msg, "signature", sig, siglen))
		ret = -ENOMEM;
	free(sig);
	json_object_put(o);
	if (ret) {
		json_object_put(msg);
		return sess_fail(s, SK_FAIL, ret, "signing the %s: %s",
				 handover_type(what), svmigd_strerror(-ret));
	}
	*out = msg;
	return 0;
}

/* Which side sends @what: COMMIT the source, RESUMED the target. */
static bool handover_sender(const struct svmigd_session *ses,
			    enum svmigd_handover what)
{
	return ses->source == (what == SVMIGD_COMMIT);
}

static bool handover_args(struct svmig_tls_conn *conn,
			  const struct svmigd_session_cfg *cfg,
			  const struct svmigd_session *ses,
			  enum svmigd_handover what, const uint8_t *receipt)
{
	return conn && sess_cfg_ok(cfg, false) && ses && receipt &&
	       (what == SVMIGD_COMMIT || what == SVMIGD_RESUMED);
}

int svmigd_session_handover_send(struct svmig_tls_conn *conn,
				 const struct svmigd_session_cfg *cfg,
				 const struct svmigd_session *ses,
				 enum svmigd_handover what,
				 const uint8_t receipt[SVMIGD_SHA256_LEN],
				 char *err, size_t errlen)
{
	struct json_object *msg = NULL;
	uint8_t sha256[SVMIGD_SHA256_LEN];
	struct sess s;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!handover_args(conn, cfg, ses, what, receipt) ||
	    !handover_sender(ses, what)) {
		sess_msg(err, errlen, "handover: bad argument");
		return -EINVAL;
	}
	handover_begin(&s, conn, cfg, ses, what, err, errlen);
	ret = handover_msg(&s, what, receipt, sha256, &msg);
	if (!ret)
		ret = handover_audit(&s, receipt, sha256, what);
	if (!ret && sess_send(&s, msg))
		ret = -ENOTCONN;	/* it may have arrived */
	json_object_put(msg);
	return ret;
}

/* The statement's fields; -EINVAL when any is missing, extra or wrong. */
static int handover_parse(struct json_object *o, enum svmigd_handover what,
			  uint8_t *session, uint8_t *receipt, uint64_t *t)
{
	struct json_object *step = json_object_object_get(o, "step");

	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 4 ||
	    !json_object_is_type(step, json_type_string) ||
	    strcmp(json_object_get_string(step), handover_step(what)) ||
	    svmig_msg_get_hex(o, "session", session, SVMIGD_SESSION_ID_LEN) ||
	    svmig_msg_get_hex(o, "receipt", receipt, SVMIGD_SHA256_LEN) ||
	    receipt_int(o, "time", 1, t))
		return -EINVAL;
	return 0;
}

/*
 * The statement in @msg is @what for this session and receipt, signed by
 * the key of the peer's certificate; *@sha256: its digest.
 */
static int handover_check(struct sess *s, struct json_object *msg,
			  enum svmigd_handover what, const uint8_t *receipt,
			  uint8_t *sha256)
{
	static const char *const keys[] = { "statement", "signature" };
	uint8_t sig[SVMIGD_SIG_MAX], session[SVMIGD_SESSION_ID_LEN];
	uint8_t got[SVMIGD_SHA256_LEN];
	struct json_object *o = NULL;
	X509 *cert = svmig_tls_peer_cert(s->conn);
	const char *text;
	size_t siglen;
	uint64_t t;
	int ret;

	ret = sess_keys(s, msg, keys, 2);
	if (!ret && handover_parse(json_object_object_get(msg, "statement"),
				   what, session, got, &t))
		ret = sess_fail(s, SK_REFUSE, -EBADMSG, "%s refused: malformed",
				s->step);
	if (!ret)
		ret = sess_get_hex(s, msg, "signature", sig, 1, sizeof(sig),
				   &siglen);
	if (ret)
		return ret;
	o = handover_object(what, session, got, (int64_t)t);
	text = o ? receipt_text(o) : NULL;
	if (!text || svmigd_sha256(text, strlen(text), sha256)) {
		json_object_put(o);
		return sess_nomem(s);
	}
	ret = cert ? svmigd_verify(X509_get0_pubkey(cert), text, strlen(text),
				   sig, siglen) : -EBADMSG;
	if (!ret)
		sess_keep(s, svmigd_evidence_statement(handover_step(what),
						       text, sig, siglen));
	json_object_put(o);
	if (ret == -ENOMEM)
		return sess_nomem(s);
	if (ret)
		return sess_fail(s, SK_REFUSE, -EBADMSG,
				 "%s refused: its signature does not verify with %s's certificate",
				 s->step, s->peer);
	if (memcmp(session, s->ses->id, sizeof(session)))
		return sess_fail(s, SK_REFUSE, -EBADMSG,
				 "%s refused: it is for another session",
				 s->step);
	if (memcmp(got, receipt, sizeof(got)))
		return sess_fail(s, SK_REFUSE, -EBADMSG,
				 "%s refused: it names another receipt", s->step);
	return 0;
}

int svmigd_session_handover_recv(struct svmig_tls_conn *conn,
				 const struct svmigd_session_cfg *cfg,
				 const struct svmigd_session *ses,
				 enum svmigd_handover what,
				 const uint8_t receipt[SVMIGD_SHA256_LEN],
				 char *err, size_t errlen)
{
	uint8_t sha256[SVMIGD_SHA256_LEN];
	struct json_object *msg;
	struct sess s;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!handover_args(conn, cfg, ses, what, receipt) ||
	    handover_sender(ses, what)) {
		sess_msg(err, errlen, "handover: bad argument");
		return -EINVAL;
	}
	handover_begin(&s, conn, cfg, ses, what, err, errlen);
	if (!svmig_tls_peer_cn(conn) || strcmp(svmig_tls_peer_cn(conn),
					       ses->peer))
		return sess_fail(&s, SK_REFUSE, -EACCES,
				 "%s refused: the connection is not to %s",
				 s.step, ses->peer);
	ret = sess_recv(&s, handover_type(what), &msg);
	if (ret)
		return ret;
	ret = handover_check(&s, msg, what, receipt, sha256);
	json_object_put(msg);
	if (!ret)
		ret = handover_audit(&s, receipt, sha256, what);
	return ret;
}
