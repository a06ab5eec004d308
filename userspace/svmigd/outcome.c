// SPDX-License-Identifier: GPL-2.0
/*
 * QUERY and OUTCOME: how a session ended, asked after a lost RESUMED.
 * See outcome.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "audit.h"
#include "journal.h"
#include "msg.h"
#include "outcome.h"
#include "util.h"

#define OUTCOME_ERROR		"ERROR"
#define OUTCOME_INT_MAX		(1LL << 53)	/* as the session's integers */

static const char *const outcome_names[] = {
	[SVMIGD_OUTCOME_UNKNOWN] = "unknown",
	[SVMIGD_OUTCOME_NOT_COMMITTED] = "not-committed",
	[SVMIGD_OUTCOME_COMMITTED] = "committed",
	[SVMIGD_OUTCOME_RESUMED] = "resumed",
};

#define N_OUTCOMES	(sizeof(outcome_names) / sizeof(outcome_names[0]))

const char *svmigd_outcome_name(enum svmigd_outcome outcome)
{
	return (unsigned int)outcome < N_OUTCOMES ? outcome_names[outcome] : "?";
}

static int outcome_parse_name(const char *name, enum svmigd_outcome *out)
{
	unsigned int i;

	for (i = 0; i < N_OUTCOMES; i++)
		if (!strcmp(name, outcome_names[i])) {
			*out = (enum svmigd_outcome)i;
			return 0;
		}
	return -EINVAL;
}

/* ---------------------------------------------------------- the audit log */

struct lookup {
	const char *source;
	char session[2 * SVMIGD_SESSION_ID_LEN + 1];
	bool established, committed, resumed;
	char vm[SVMIGD_NAME_MAX + 1];
};

static const char *rec_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool rec_is(struct json_object *o, const char *key, const char *want)
{
	const char *v = rec_str(o, key);

	return v && !strcmp(v, want);
}

/* One record: is it ours, as the target, of that session with that source? */
static int lookup_one(void *arg, struct json_object *rec)
{
	struct lookup *l = arg;
	struct json_object *d;
	const char *event = rec_str(rec, "event");

	if (!json_object_object_get_ex(rec, "details", &d) || !event ||
	    !rec_is(d, "role", "target") || !rec_is(d, "peer", l->source) ||
	    !rec_is(d, "session", l->session))
		return 0;
	if (!strcmp(event, "session")) {
		l->established = true;
		snprintf(l->vm, sizeof(l->vm), "%s", rec_str(rec, "what") ?: "-");
	} else if (!strcmp(event, "commit")) {
		l->committed = true;
	} else if (!strcmp(event, "resumed")) {
		l->resumed = true;
	}
	return 0;
}

int svmigd_outcome_lookup(const char *path, EVP_PKEY *key, const char *source,
			  const uint8_t session[SVMIGD_SESSION_ID_LEN],
			  enum svmigd_outcome *out, char *vm, char *err,
			  size_t errlen)
{
	struct svmigd_audit_report rep;
	struct lookup l = { .source = source };
	int ret;

	svmigd_hex_encode(l.session, session, SVMIGD_SESSION_ID_LEN);
	snprintf(l.vm, sizeof(l.vm), "-");
	ret = svmigd_audit_walk(path, key, lookup_one, &l, &rep, err, errlen);
	if (ret)
		return ret;
	if (l.resumed)
		*out = SVMIGD_OUTCOME_RESUMED;
	else if (l.committed)
		*out = SVMIGD_OUTCOME_COMMITTED;
	else if (l.established)
		*out = SVMIGD_OUTCOME_NOT_COMMITTED;
	else
		*out = SVMIGD_OUTCOME_UNKNOWN;
	if (vm)
		memcpy(vm, l.vm, sizeof(l.vm));
	return 0;
}

/* ---------------------------------------------------------- the target's journal */

struct journal_match {
	const char *source;
	const uint8_t *session;
	bool resumed;
	char vm[SVMIGD_NAME_MAX + 1];
};

static int journal_match_one(void *arg, const struct svmigd_journal_entry *e)
{
	struct journal_match *j = arg;

	if (e->phase == SVMIGD_JOURNAL_RESUMED && !strcmp(e->peer, j->source) &&
	    !memcmp(e->session, j->session, SVMIGD_SESSION_ID_LEN)) {
		j->resumed = true;
		snprintf(j->vm, sizeof(j->vm), "%s", e->vm);
	}
	return 0;
}

/*
 * True if the target's journal @dir holds @session with @source in phase
 * "resumed": this host took its COMMIT and resumes (or resumed) its copy,
 * even if it died before auditing its RESUMED.  @vm gets its name.
 */
static bool journal_says_resumed(const char *dir, const char *source,
				 const uint8_t *session, char *vm)
{
	struct journal_match j = { .source = source, .session = session };
	char err[256];

	if (!dir || svmigd_journal_scan(dir, journal_match_one, NULL, &j, err,
					sizeof(err)))
		return false;
	if (j.resumed)
		memcpy(vm, j.vm, sizeof(j.vm));
	return j.resumed;
}

/* ---------------------------------------------------------- the statement */

/* The canonical statement, keys in outcome.h's order. */
static struct json_object *statement_object(const uint8_t *session,
					    const uint8_t *nonce,
					    enum svmigd_outcome outcome,
					    int64_t t)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (json_object_object_add(o, "step", json_object_new_string("outcome")) ||
	    svmig_msg_add_hex(o, "session", session, SVMIGD_SESSION_ID_LEN) ||
	    svmig_msg_add_hex(o, "nonce", nonce, SVMIGD_OUTCOME_NONCE_LEN) ||
	    json_object_object_add(o, "outcome", json_object_new_string(
		    svmigd_outcome_name(outcome))) ||
	    json_object_object_add(o, "time", json_object_new_int64(t))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static const char *statement_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The statement's fields: exactly the five, well formed. */
static int statement_parse(struct json_object *o, uint8_t *session,
			   uint8_t *nonce, enum svmigd_outcome *outcome,
			   int64_t *t)
{
	struct json_object *v;
	const char *name;

	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 5 || !rec_is(o, "step", "outcome") ||
	    svmig_msg_get_hex(o, "session", session, SVMIGD_SESSION_ID_LEN) ||
	    svmig_msg_get_hex(o, "nonce", nonce, SVMIGD_OUTCOME_NONCE_LEN))
		return -EINVAL;
	name = rec_str(o, "outcome");
	if (!name || outcome_parse_name(name, outcome))
		return -EINVAL;
	if (!json_object_object_get_ex(o, "time", &v) ||
	    !json_object_is_type(v, json_type_int))
		return -EINVAL;
	errno = 0;
	*t = json_object_get_int64(v);
	if (errno || *t < 1 || *t >= OUTCOME_INT_MAX)
		return -EINVAL;
	return 0;
}

/* ---------------------------------------------------------- the keys */

/*
 * Which key signs this host's OUTCOME, and which verifies the peer's: the
 * host's identity key today, the one behind its TLS certificate that also
 * signs its receipts and audit records.  A TPM-held identity (issue 13,
 * item 2) replaces these two functions and nothing else.
 */
static EVP_PKEY *outcome_signing_key(const struct svmigd_session_cfg *cfg)
{
	return cfg->host_key;
}

static EVP_PKEY *outcome_peer_key(struct svmig_tls_conn *conn)
{
	X509 *cert = svmig_tls_peer_cert(conn);

	return cert ? X509_get0_pubkey(cert) : NULL;
}

/* ---------------------------------------------------------- both sides */

struct side {
	struct svmig_tls_conn *conn;
	const struct svmigd_session_cfg *cfg;
	const char *peer;
	const char *role;
	char who[SVMIGD_NAME_MAX + 1];
	char what[SVMIGD_NAME_MAX + 1];
	char session[2 * SVMIGD_SESSION_ID_LEN + 1];
	char *err;
	size_t errlen;
};

static void side_init(struct side *s, struct svmig_tls_conn *conn,
		      const struct svmigd_session_cfg *cfg, const char *role,
		      char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->conn = conn;
	s->cfg = cfg;
	s->peer = svmig_tls_peer_cn(conn) ?: "?";
	s->role = role;
	s->err = err;
	s->errlen = errlen;
	snprintf(s->who, sizeof(s->who), "%s", s->peer);
	snprintf(s->what, sizeof(s->what), "-");
	snprintf(s->session, sizeof(s->session), "-");
	if (err && errlen)
		err[0] = '\0';
}

/* An "outcome" record, or a refusal/failure with @text. */
static int side_audit(struct side *s, const char *event, const char *key,
		      const char *text, const char *statement)
{
	struct json_object *d = json_object_new_object();
	char why[256];
	int ret;

	if (!d)
		return -ENOMEM;
	json_object_object_add(d, "role", json_object_new_string(s->role));
	json_object_object_add(d, "peer", json_object_new_string(s->peer));
	json_object_object_add(d, "step", json_object_new_string(SVMIG_MSG_QUERY));
	json_object_object_add(d, "session", json_object_new_string(s->session));
	json_object_object_add(d, key, json_object_new_string(text));
	if (statement)
		json_object_object_add(d, "statement",
				       json_object_new_string(statement));
	ret = svmigd_audit_append(s->cfg->audit_log, s->cfg->host_key, event,
				  s->who, s->what, d, NULL, why, sizeof(why));
	json_object_put(d);
	if (ret)
		svmigd_fail(s->err, s->errlen, ret, "QUERY: audit log: %s", why);
	return ret;
}

static int side_fail(struct side *s, bool refused, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reports @fmt in @err and the audit log; a refusal also to the peer. */
static int side_fail(struct side *s, bool refused, int ret, const char *fmt, ...)
{
	char reason[SVMIGD_SESSION_ERR_LEN];
	struct json_object *msg;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (refused && svmig_tls_usable(s->conn)) {
		msg = svmig_msg_new(OUTCOME_ERROR);
		if (msg && !json_object_object_add(msg, "step",
						   json_object_new_string(SVMIG_MSG_QUERY)) &&
		    !json_object_object_add(msg, "reason", json_object_new_string(reason)))
			svmig_msg_send(s->conn, msg, svmigd_session_timeout(s->cfg));
		json_object_put(msg);
	}
	side_audit(s, refused ? "refused" : "failed", refused ? "reason" : "error",
		   reason, NULL);
	svmigd_fail(s->err, s->errlen, ret, "QUERY: %s", reason);
	return ret;
}

/* ---------------------------------------------------------- the target */

static int answer_msg(struct side *s, const uint8_t *session,
		      const uint8_t *nonce, enum svmigd_outcome outcome,
		      struct json_object **out)
{
	struct json_object *st = statement_object(session, nonce, outcome,
						  time(NULL));
	struct json_object *msg = NULL;
	const char *text = st ? statement_text(st) : NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int ret = text ? 0 : -ENOMEM;

	if (!ret)
		ret = svmigd_sign(outcome_signing_key(s->cfg), text, strlen(text),
				  &sig, &siglen);
	if (!ret) {
		msg = svmig_msg_new(SVMIG_MSG_OUTCOME);
		if (!msg || json_object_object_add(msg, "statement", st))
			ret = -ENOMEM;
		else
			st = NULL;	/* msg holds it */
	}
	if (!ret && svmig_msg_add_hex(msg, "signature", sig, siglen))
		ret = -ENOMEM;
	free(sig);
	json_object_put(st);
	if (ret) {
		json_object_put(msg);
		return ret;
	}
	*out = msg;
	return 0;
}

int svmigd_outcome_answer(struct svmig_tls_conn *conn,
			  const struct svmigd_session_cfg *cfg,
			  struct json_object *msg, char *err, size_t errlen)
{
	uint8_t session[SVMIGD_SESSION_ID_LEN], nonce[SVMIGD_OUTCOME_NONCE_LEN];
	enum svmigd_outcome outcome;
	struct json_object *reply = NULL;
	struct side s;
	char why[SVMIGD_SESSION_ERR_LEN];
	int ret;

	if (!conn || !cfg || !cfg->audit_log || !cfg->host_key || !msg)
		return svmigd_fail(err, errlen, -EINVAL, "QUERY: bad argument");
	side_init(&s, conn, cfg, "target", err, errlen);
	if (json_object_object_length(msg) != 3 ||
	    svmig_msg_get_hex(msg, "session", session, sizeof(session)) ||
	    svmig_msg_get_hex(msg, "nonce", nonce, sizeof(nonce)))
		return side_fail(&s, true, -EPROTO, "malformed QUERY message");
	svmigd_hex_encode(s.session, session, sizeof(session));
	ret = svmigd_outcome_lookup(cfg->audit_log, cfg->host_key, s.peer, session,
				    &outcome, s.what, why, sizeof(why));
	if (ret)
		return side_fail(&s, false, ret, "our audit log: %s", why);
	if (outcome != SVMIGD_OUTCOME_RESUMED &&
	    journal_says_resumed(cfg->target_journal, s.peer, session, s.what))
		outcome = SVMIGD_OUTCOME_RESUMED;
	/*
	 * "not-committed" is final only once no COMMIT can arrive any more:
	 * while another thread still serves that session's connection, it
	 * could, so the source is told "unknown" and asks again later.
	 */
	if (outcome == SVMIGD_OUTCOME_NOT_COMMITTED && cfg->session_live &&
	    cfg->session_live(cfg->check_arg, session))
		outcome = SVMIGD_OUTCOME_UNKNOWN;
	ret = answer_msg(&s, session, nonce, outcome, &reply);
	if (ret)
		return side_fail(&s, false, ret, "signing the OUTCOME: %s",
				 svmigd_strerror(-ret));
	ret = side_audit(&s, "outcome", "outcome", svmigd_outcome_name(outcome), NULL);
	if (!ret && svmig_msg_send(conn, reply, svmigd_session_timeout(cfg)))
		ret = svmigd_fail(err, errlen, -ENOTCONN, "QUERY: sending the OUTCOME: %s",
				  svmig_tls_error(conn));
	json_object_put(reply);
	if (!ret)
		svmigd_fail(err, errlen, 0, "QUERY: %s asked how session %s (vm %s) "
			    "ended here: %s", s.peer, s.session, s.what,
			    svmigd_outcome_name(outcome));
	return ret;
}

/* ---------------------------------------------------------- the source */

static int query_send(struct side *s, const uint8_t *session,
		      const uint8_t *nonce)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_QUERY);
	int ret = msg ? 0 : -ENOMEM;

	if (!ret)
		ret = svmig_msg_add_hex(msg, "session", session, SVMIGD_SESSION_ID_LEN);
	if (!ret)
		ret = svmig_msg_add_hex(msg, "nonce", nonce, SVMIGD_OUTCOME_NONCE_LEN);
	if (!ret)
		ret = svmig_msg_send(s->conn, msg, svmigd_session_timeout(s->cfg));
	json_object_put(msg);
	if (ret)
		return side_fail(s, false, ret, "sending the QUERY: %s",
				 svmig_tls_error(s->conn));
	return 0;
}

/* The peer's ERROR in place of the OUTCOME. */
static int peer_error(struct side *s, struct json_object *msg)
{
	const char *reason = rec_str(msg, "reason");
	char clean[256];
	size_t i;

	for (i = 0; reason && reason[i] && i + 1 < sizeof(clean); i++)
		clean[i] = reason[i] >= 0x20 && reason[i] < 0x7f ? reason[i] : '?';
	clean[i] = '\0';
	return side_fail(s, false, -ECONNABORTED, "refused by %s: %s", s->peer,
			 reason ? clean : "no reason given");
}

/*
 * The signature, by the peer's identity key over the rebuilt statement,
 * then that it answers this QUERY: our session and our fresh nonce (an
 * answer recorded earlier, to this QUERY's session or another, is stale).
 */
static int answer_check(struct side *s, struct json_object *msg,
			const uint8_t *session, const uint8_t *nonce,
			enum svmigd_outcome *out, char *digest_hex)
{
	uint8_t sig[SVMIGD_SIG_MAX], got[SVMIGD_SESSION_ID_LEN];
	uint8_t got_nonce[SVMIGD_OUTCOME_NONCE_LEN], digest[SVMIGD_SHA256_LEN];
	EVP_PKEY *key = outcome_peer_key(s->conn);
	struct json_object *st;
	const char *text;
	size_t siglen;
	int64_t t;
	int ret;

	if (json_object_object_length(msg) != 3 ||
	    statement_parse(json_object_object_get(msg, "statement"), got,
			    got_nonce, out, &t) ||
	    svmig_msg_get_hex_range(msg, "signature", sig, 1, sizeof(sig), &siglen))
		return side_fail(s, true, -EBADMSG, "OUTCOME refused: malformed");
	st = statement_object(got, got_nonce, *out, t);
	text = st ? statement_text(st) : NULL;
	ret = text ? svmigd_sha256(text, strlen(text), digest) : -ENOMEM;
	if (!ret)
		ret = key ? svmigd_verify(key, text, strlen(text), sig, siglen) :
			    -EBADMSG;
	json_object_put(st);
	ERR_clear_error();
	if (ret == -ENOMEM)
		return side_fail(s, false, ret, "out of memory");
	if (ret)
		return side_fail(s, true, -EBADMSG, "OUTCOME refused: its signature "
				 "does not verify with %s's identity key", s->peer);
	if (CRYPTO_memcmp(got, session, sizeof(got)))
		return side_fail(s, true, -EBADMSG,
				 "OUTCOME refused: it is for another session");
	if (CRYPTO_memcmp(got_nonce, nonce, sizeof(got_nonce)))
		return side_fail(s, true, -EBADMSG, "OUTCOME refused: it does "
				 "not answer this QUERY (stale or replayed nonce)");
	svmigd_hex_encode(digest_hex, digest, sizeof(digest));
	return 0;
}

/* svmigd_outcome_ask() with the QUERY's nonce given (tests, fuzzing). */
static int outcome_ask_nonce(struct svmig_tls_conn *conn,
			     const struct svmigd_session_cfg *cfg,
			     const uint8_t *session, const uint8_t *nonce,
			     const char *who, const char *what,
			     enum svmigd_outcome *out, char *err, size_t errlen)
{
	char digest[2 * SVMIGD_SHA256_LEN + 1];
	struct json_object *msg = NULL;
	struct side s;
	int ret;

	*out = SVMIGD_OUTCOME_UNKNOWN;
	side_init(&s, conn, cfg, "source", err, errlen);
	snprintf(s.who, sizeof(s.who), "%s", who);
	snprintf(s.what, sizeof(s.what), "%s", what);
	svmigd_hex_encode(s.session, session, SVMIGD_SESSION_ID_LEN);
	ret = query_send(&s, session, nonce);
	if (ret)
		return ret;
	ret = svmig_msg_recv(conn, svmigd_session_timeout(cfg), &msg);
	if (ret)
		return side_fail(&s, false, ret, "waiting for the OUTCOME: %s",
				 svmig_tls_error(conn));
	if (!strcmp(svmig_msg_type(msg), OUTCOME_ERROR))
		ret = peer_error(&s, msg);
	else if (strcmp(svmig_msg_type(msg), SVMIG_MSG_OUTCOME))
		ret = side_fail(&s, true, -EPROTO, "expected an OUTCOME message");
	else
		ret = answer_check(&s, msg, session, nonce, out, digest);
	json_object_put(msg);
	if (!ret)
		ret = side_audit(&s, "outcome", "outcome",
				 svmigd_outcome_name(*out), digest);
	/* an answer that could not be audited settles nothing */
	if (ret)
		*out = SVMIGD_OUTCOME_UNKNOWN;
	return ret;
}

int svmigd_outcome_ask(struct svmig_tls_conn *conn,
		       const struct svmigd_session_cfg *cfg,
		       const uint8_t session[SVMIGD_SESSION_ID_LEN],
		       const char *who, const char *what,
		       enum svmigd_outcome *out, char *err, size_t errlen)
{
	uint8_t nonce[SVMIGD_OUTCOME_NONCE_LEN];

	if (!conn || !cfg || !cfg->audit_log || !cfg->host_key || !session ||
	    !who || !what || !out)
		return svmigd_fail(err, errlen, -EINVAL, "QUERY: bad argument");
	*out = SVMIGD_OUTCOME_UNKNOWN;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		ERR_clear_error();
		return svmigd_fail(err, errlen, -EIO, "QUERY: no random nonce");
	}
	return outcome_ask_nonce(conn, cfg, session, nonce, who, what, out,
				 err, errlen);
}
