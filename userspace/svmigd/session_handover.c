// SPDX-License-Identifier: GPL-2.0
/*
 * COMMIT and RESUMED: the signed handover after an "ok" receipt.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "audit_evidence.h"
#include "session_int.h"
#include "util.h"

static const char *handover_type(enum svmigd_handover what)
{
	return what == SVMIGD_COMMIT ? SVMIG_MSG_COMMIT : SVMIG_MSG_RESUMED;
}

static const char *handover_step(enum svmigd_handover what)
{
	return what == SVMIGD_COMMIT ? "commit" : "resumed";
}

/* The canonical statement: the keys in session.h's order. */
struct json_object *handover_object(enum svmigd_handover what,
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
int handover_parse(struct json_object *o, enum svmigd_handover what,
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
