// SPDX-License-Identifier: GPL-2.0
/*
 * The session's common ground (session_int.h): the words of a
 * failure, the audit records, the messages sent and received (msg.h's
 * framing, each frame into the transcript), the digests; a session's
 * beginning and end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "audit.h"
#include "session_int.h"
#include "util.h"

void sess_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* A peer's words, printable ASCII only, at most SESS_REASON_MAX bytes. */
void sess_clean(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < size && i < SESS_REASON_MAX; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

void sess_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int sess_add_str(struct json_object *o, const char *key,
		 const char *val)
{
	struct json_object *s = json_object_new_string(val);

	if (!s || json_object_object_add(o, key, s)) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

int sess_add_u64(struct json_object *o, const char *key, uint64_t v)
{
	struct json_object *n = json_object_new_int64((int64_t)v);

	if (!n || json_object_object_add(o, key, n)) {
		json_object_put(n);
		return -ENOMEM;
	}
	return 0;
}

/* The details every record of a session has. */
struct json_object *sess_details(const struct sess *s)
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

/* msg.h's observer: each frame, as sent or read, into the transcript. */
static int sess_observe(void *arg, const void *buf, size_t len)
{
	struct sess *s = arg;

	if (EVP_DigestUpdate(s->hash, buf, len) != 1)
		return svmig_tls_fail(s->conn, -ENOMEM, "hashing the transcript");
	return 0;
}

/* The session's framing: its JSON depth, its transcript while it has one. */
static void sess_msg_opts(struct sess *s, struct svmig_msg_opts *o)
{
	*o = (struct svmig_msg_opts){
		.observe = s->hash ? sess_observe : NULL,
		.arg = s,
		.depth = SESS_JSON_DEPTH,
	};
}

static void sess_send_error(struct sess *s, const char *reason)
{
	struct json_object *msg = svmig_msg_new(SESS_ERROR);

	if (msg && !sess_add_str(msg, "step", s->step) &&
	    !sess_add_str(msg, "reason", reason))
		svmig_msg_send(s->conn, msg, s->timeout);
	json_object_put(msg);
}

/*
 * Reports the session's first failure: @err for the caller, an ERROR for
 * the peer (SK_REFUSE, SK_FAIL), a record in the audit log.  Returns @ret.
 */
int sess_fail(struct sess *s, enum sess_kind kind, int ret,
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

int sess_nomem(struct sess *s)
{
	return sess_fail(s, SK_FAIL, -ENOMEM, "out of memory");
}

void sess_keep(struct sess *s, struct json_object *ev)
{
	json_object_put(s->evidence);
	s->evidence = ev;
	s->evidence_lost = !ev;
}

/*
 * Appends @event with @details (consumed) unless building them failed
 * (@built: their first error): the ending of every audited step.
 */
int sess_record(struct sess *s, const char *event,
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

int sess_tpm_fail(struct sess *s, int err, const char *what)
{
	if (err == SVMIGD_TPM_ENOMEM)
		return sess_nomem(s);
	return sess_fail(s, SK_FAIL, -EIO, "TPM: %s: %s (%s)", what,
			 svmigd_tpm_strerror(err),
			 svmigd_tpm_last_error(s->cfg->tpm));
}

int sess_bad_field(struct sess *s, const char *type, const char *key)
{
	return sess_fail(s, SK_REFUSE, -EPROTO,
			 "malformed %s message: field \"%s\"", type, key);
}

int sess_send(struct sess *s, struct json_object *msg)
{
	struct svmig_msg_opts o;
	int ret;

	if (!msg)
		return sess_nomem(s);
	sess_msg_opts(s, &o);
	ret = svmig_msg_send_opts(s->conn, msg, s->timeout, &o);
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
		SVMIG_MSG_CHALLENGE, SVMIG_MSG_ACTIVATED,
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

/*
 * Receives a message, any type (@type: the one expected, for the first
 * message's time and the words of a failure).
 */
int sess_recv_any(struct sess *s, const char *type,
		  struct json_object **msg)
{
	/* the target's first message: within cfg->first_timeout_ms */
	bool first = !s->ses->source && !strcmp(type, SVMIG_MSG_REQUEST) &&
		     s->cfg->first_timeout_ms > 0;
	struct svmig_msg_opts o;
	int ret;

	sess_msg_opts(s, &o);
	ret = svmig_msg_recv_opts(s->conn, first ? s->cfg->first_timeout_ms :
				  s->timeout, &o, msg);
	if (ret)
		return sess_fail(s, SK_LINK, ret, "waiting for %s: %s", type,
				 svmig_tls_error(s->conn));
	return 0;
}

/*
 * 0 if *@msg (received) is a @type message; otherwise it goes (*@msg
 * NULL), and the session fails with the peer's ERROR or as unexpected.
 */
int sess_expect(struct sess *s, const char *type,
		struct json_object **msg)
{
	char got[33];
	int ret;

	if (!strcmp(svmig_msg_type(*msg), type))
		return 0;
	if (!strcmp(svmig_msg_type(*msg), SESS_ERROR))
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

/* Receives a @type message, or fails with the peer's ERROR. */
int sess_recv(struct sess *s, const char *type,
	      struct json_object **msg)
{
	int ret = sess_recv_any(s, type, msg);

	return ret ? ret : sess_expect(s, type, msg);
}

/* @msg has exactly "type" and the @n @keys. */
int sess_keys(struct sess *s, struct json_object *msg,
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

int sess_get_hex(struct sess *s, struct json_object *msg,
		 const char *key, void *buf, size_t min, size_t max,
		 size_t *len)
{
	size_t got;

	if (svmig_msg_get_hex_range(msg, key, buf, min, max, len ? len : &got))
		return sess_bad_field(s, svmig_msg_type(msg), key);
	return 0;
}

int sess_sha256(const void *a, size_t alen, const void *b,
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

/*
 * SHA-256(E || @label || @nonce): the qualifying data of a key; a quote's
 * also binds this host's policy (policy_claim.h).
 */
int sess_qual(struct sess *s, const char *label, const uint8_t *nonce,
	      uint8_t qual[SVMIGD_TPM_QUAL_LEN])
{
	if (sess_sha256(s->e, sizeof(s->e), label, strlen(label), nonce,
			nonce ? SVMIGD_NONCE_LEN : 0, qual) ||
	    (!strcmp(label, "quote") &&
	     svmigd_policy_claim_bind(qual, s->cfg->policy)))
		return sess_nomem(s);
	return 0;
}

/* The peer's policy claim in @msg (policy_claim.h) against ours. */
int sess_claim(struct sess *s, struct json_object *msg)
{
	char why[SVMIGD_SESSION_ERR_LEN - 64];
	int ret = svmigd_policy_claim_check(msg, s->cfg->policy, s->peer, why,
					    sizeof(why));

	if (ret == -EPROTO)
		return sess_bad_field(s, svmig_msg_type(msg),
				      SVMIGD_POLICY_CLAIM_KEY);
	if (ret)
		return sess_fail(s, SK_REFUSE, -EACCES, "%s", why);
	return 0;
}

/* This host's policy still valid; the peer's CA allowed to certify it. */
static int sess_policy_scope(struct sess *s)
{
	char why[SVMIGD_SESSION_ERR_LEN - 64];

	if (svmigd_policy_check_expiry(s->cfg->policy, (int64_t)time(NULL),
				       why, sizeof(why)))
		return sess_fail(s, SK_REFUSE, -EACCES, "%s", why);
	if (svmigd_policy_scope_check(s->cfg->policy,
				      svmig_tls_peer_chain(s->conn), s->peer,
				      why, sizeof(why)))
		return sess_fail(s, SK_REFUSE, -EACCES, "policy: %s", why);
	return 0;
}

bool sess_cfg_ok(const struct svmigd_session_cfg *cfg, bool target)
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

int sess_begin(struct sess *s, struct svmig_tls_conn *conn,
	       const struct svmigd_session_cfg *cfg, bool source,
	       struct svmigd_session *out, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (err && errlen)
		err[0] = '\0';
	if (out) {
		unsigned int channels = source ? out->channels : 0;	/* the caller's */

		memset(out, 0, sizeof(*out));
		out->source = source;
		out->channels = channels;
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
	return sess_policy_scope(s);
}

void sess_end(struct sess *s, int ret)
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

void svmigd_session_wipe(struct svmigd_session *s)
{
	if (s)
		OPENSSL_cleanse(s, sizeof(*s));
}
