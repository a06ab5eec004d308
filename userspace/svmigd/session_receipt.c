// SPDX-License-Identifier: GPL-2.0
/*
 * The RECEIPT: the target's signed word on the stream it received.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "audit_evidence.h"
#include "session_int.h"
#include "util.h"

/* The canonical object: the keys in session.h's order. */
struct json_object *receipt_object(const struct svmigd_receipt *r)
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

const char *receipt_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* A session's state for the failure paths of the receipt. */
void receipt_begin(struct sess *s, struct svmig_tls_conn *conn,
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

int receipt_int(struct json_object *o, const char *key, int64_t min,
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
int receipt_parse(struct json_object *o, struct svmigd_receipt *r)
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
