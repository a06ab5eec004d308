/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The session's inside (session.h is its interface): the state of a
 * session being run (struct sess) and what each step's file gives the
 * others.  One file per step, each calling only the ones listed before it:
 *   session_core.c      failures, audit records, messages, digests,
 *                       a session's beginning and end
 *   session_request.c   REQUEST
 *   session_cred.c      AK provenance: the EK in ATTEST, CHALLENGE,
 *                       ACTIVATED (credential.h)
 *   session_attest.c    ATTEST (and the PCRs)
 *   session_probe.c     attestation only: PROBE, ATTEST, VERDICT
 *   session_admit.c     ADMIT
 *   session_key.c       KEY, the secret, CONFIRM
 *   session_receipt.c   RECEIPT
 *   session_handover.c  COMMIT, RESUMED
 *   session.c           the steps in order: svmigd_session_source(),
 *                       _target(), _attest_peer()
 * outcome.c (QUERY, OUTCOME) sits above them all: the target's first
 * message hands a QUERY to cfg->answer_query.
 */
#ifndef SVMIGD_SESSION_INT_H
#define SVMIGD_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "config.h"
#include "credential.h"
#include "msg.h"
#include "policy.h"
#include "policy_claim.h"
#include "policy_scope.h"
#include "request.h"
#include "session.h"
#include "tls.h"
#include "tpm.h"
#include "verdict.h"

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
	struct svmigd_cred_peer cred;	/* its EK, our CHALLENGE's proof */
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

/* session_core.c */
void sess_msg(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sess_clean(char *dst, size_t size, const char *src);
void sess_copy(char *dst, size_t size, const char *src);
int sess_add_str(struct json_object *o, const char *key,
		 const char *val);
int sess_add_u64(struct json_object *o, const char *key, uint64_t v);
struct json_object *sess_details(const struct sess *s);
int sess_fail(struct sess *s, enum sess_kind kind, int ret,
	      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int sess_nomem(struct sess *s);
/* Keeps @ev (consumed; NULL: building it failed) for the next record. */
void sess_keep(struct sess *s, struct json_object *ev);
int sess_record(struct sess *s, const char *event,
		struct json_object *details, int built);
int sess_tpm_fail(struct sess *s, int err, const char *what);
int sess_bad_field(struct sess *s, const char *type, const char *key);
int sess_send(struct sess *s, struct json_object *msg);
int sess_recv_any(struct sess *s, const char *type,
		  struct json_object **msg);
int sess_expect(struct sess *s, const char *type,
		struct json_object **msg);
int sess_recv(struct sess *s, const char *type,
	      struct json_object **msg);
int sess_keys(struct sess *s, struct json_object *msg,
	      const char *const *keys, size_t n);
int sess_get_hex(struct sess *s, struct json_object *msg,
		 const char *key, void *buf, size_t min, size_t max,
		 size_t *len);
int sess_sha256(const void *a, size_t alen, const void *b,
		size_t blen, const void *c, size_t clen,
		uint8_t out[SVMIGD_SHA256_LEN]);
int sess_claim(struct sess *s, struct json_object *msg);
int sess_qual(struct sess *s, const char *label, const uint8_t *nonce,
	      uint8_t qual[SVMIGD_TPM_QUAL_LEN]);
bool sess_cfg_ok(const struct svmigd_session_cfg *cfg, bool target);
int sess_begin(struct sess *s, struct svmig_tls_conn *conn,
	       const struct svmigd_session_cfg *cfg, bool source,
	       struct svmigd_session *out, char *err, size_t errlen);
void sess_end(struct sess *s, int ret);

/* session_request.c */
int src_request(struct sess *s, const char *text, size_t len);
int tgt_request(struct sess *s, struct json_object *msg);
/* REQUEST's own fields (keys, "channels", "nonce"); not the signed request */
int tgt_request_fields(struct sess *s, struct json_object *msg);

/* session_cred.c (AK provenance: the EK, CHALLENGE, ACTIVATED) */
int cred_add_ek(struct sess *s, struct json_object *msg);
int cred_check_ek(struct sess *s, struct json_object *msg);
int cred_challenge(struct sess *s);
int cred_activate(struct sess *s);
int cred_activated(struct sess *s);

/* session_attest.c */
void sess_pcrs_ref(const struct svmigd_policy_host *h,
		   struct svmigd_tpm_pcrs *ref);
int sess_pcrs_parse(struct json_object *o, struct svmigd_tpm_pcrs *p);
int attest_send(struct sess *s);
int attest_check(struct sess *s, struct json_object *msg);
int attest_recv(struct sess *s);

/* session_probe.c */
int probe_audit(struct sess *s, const uint8_t *quote,
		const uint8_t *ak);
int tgt_probe(struct sess *s, struct json_object *msg);
int probe_begin(struct sess *s, struct svmigd_attestation *a);
int probe_send(struct sess *s);
int probe_recv(struct sess *s, struct svmigd_attestation *a);
int probe_verdict(struct sess *s);

/* session_admit.c */
int tgt_admit(struct sess *s);
int src_admit(struct sess *s);

/* session_key.c */
int key_send(struct sess *s);
int key_recv(struct sess *s);
int sess_derive(struct sess *s);
int confirm_send(struct sess *s);
int confirm_recv(struct sess *s);

/* session_receipt.c */
struct json_object *receipt_object(const struct svmigd_receipt *r);
const char *receipt_text(struct json_object *o);
void receipt_begin(struct sess *s, struct svmig_tls_conn *conn,
		   const struct svmigd_session_cfg *cfg,
		   const struct svmigd_session *ses,
		   char *err, size_t errlen);
int receipt_int(struct json_object *o, const char *key, int64_t min,
		uint64_t *v);
int receipt_parse(struct json_object *o, struct svmigd_receipt *r);

/* session_handover.c */
struct json_object *handover_object(enum svmigd_handover what,
				    const uint8_t *session,
				    const uint8_t *receipt, int64_t t);
int handover_parse(struct json_object *o, enum svmigd_handover what,
		   uint8_t *session, uint8_t *receipt, uint64_t *t);

#endif /* SVMIGD_SESSION_INT_H */
