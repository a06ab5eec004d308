/* SPDX-License-Identifier: GPL-2.0 */
/*
 * session: svmigd's protocol between a SOURCE and a TARGET host over an
 * established control connection (Documentation/svmigd.rst, "Protocol"),
 * steps REQUEST, ATTEST, ADMIT and KEY up to the session secret, and the
 * RECEIPT.  DATA (the kernel's channels, QEMU) is the caller's.
 *
 * Messages (msg.h's framing: be32 length, one JSON object; binary fields
 * in lowercase hex; framed here rather than by svmig_msg_send/recv so that
 * the transcript holds the bytes as sent), in this order:
 *
 *   S -> T  REQUEST {request: <the operator's signed request>, nonce: Ns,
 *                    policy: {sha256, serial} (policy_claim.h)
 *                    [, channels: N]}   (N: 1..8 QEMU multifd channels of a
 *                    libvirt migration; absent: none; in the transcript)
 *   T -> S  ATTEST  {nonce: Nt, ak, attest, sig, pcrs: {"<i>": hex}, policy}
 *   S -> T  ATTEST  {ak, attest, sig, pcrs, policy}
 *   T -> S  ADMIT   {verdict: "accept"} or
 *                   {verdict: "refuse", reason: "memory" | "vcpus" |
 *                    "policy", detail: <words>}
 *   T -> S  KEY     {pub, attest, sig}     (the ECDH key, certified by the AK)
 *   S -> T  KEY     {pub, attest, sig}
 *   T -> S  CONFIRM {mac: HMAC-SHA-256(Kc, "target" || H)}
 *   S -> T  CONFIRM {mac: HMAC-SHA-256(Kc, "source" || H)}
 *   ...DATA...
 *   T -> S  RECEIPT {receipt: {session, verdict, records, bytes, reason,
 *                    transcript, time}, signature}
 *   S -> T  COMMIT  {statement: {step: "commit", session, receipt, time},
 *                    signature}                     (after an "ok" receipt)
 *   T -> S  RESUMED {statement: {step: "resumed", session, receipt, time},
 *                    signature}
 *
 * and, from either side in place of the message the other one waits for,
 * ERROR {step, reason}: a refusal (its reason) or "internal error".
 * A later connection may carry a QUERY in place of the REQUEST: how a
 * session ended, asked by a source in doubt (outcome.h).
 *
 * Before the first message each side checks that its policy has not
 * expired and that a CA of the peer's TLS chain may certify the peer's
 * name (policy_scope.h).  Each REQUEST and ATTEST carries the sender's
 * policy claim, refused by the receiver when it is not its own policy
 * ("policy mismatch: ..."), and each quote's qualifying data binds it
 * (policy_claim.h).
 *
 * REQUEST: both sides verify the request (request.h, operator anchors,
 * time window) and decide with their policy (policy.h); the source checks
 * that it is the request's source and that the TLS peer's CN is its
 * target, the target the converse.  ATTEST: each side quotes, with its AK,
 * the PCRs the policy lists for itself (the verifier compares them with
 * the same list: both hosts run the same signed policy, as the claims
 * showed), qualifying data SHA-256(SHA-256(E || "quote" || the verifier's
 * nonce) || policy sha256 || be64 serial), E being the TLS exporter
 * (tls.h); each checks the peer's AK against the policy's ak_sha256 and
 * the quote against the policy's PCR values for the peer.  ADMIT: the
 * request's vm_mem_mib and vm_vcpus against the target's own limits
 * (reasons "memory", "vcpus") and the limits the policy sets for the
 * target ("policy").  KEY: qualifying data SHA-256(E || "ecdh"); the
 * target's first, so that a refusal of it reaches the target in-band (a
 * refusal of the source's reaches the source as an ERROR in place of the
 * target's CONFIRM).  CONFIRM: each side shows it derived the same keys
 * before any VM byte moves; a wrong mac is refused ("key confirmation
 * failed").
 *
 * The transcript is every frame of REQUEST, both ATTESTs, ADMIT and both
 * KEYs, as sent (be32 length and JSON text), in order; H its SHA-256:
 *
 *   secret = HKDF-SHA-256(salt = H, IKM = Z, info = "svmig v1 session secret"), 32 bytes
 *   Kc     = HKDF-SHA-256(salt = H, IKM = Z, info = "svmig v1 key confirmation"), 32 bytes
 *   id     = SHA-256("svmig v1 session id" || H)[0..16)
 *
 * (the CONFIRMs come after H and are not part of it).
 *
 * The receipt is json-c's plain serialisation of an object with the keys
 * in this order (the verifier rebuilds it from the fields it parsed):
 *
 *   {"session":"<32 hex>","verdict":"ok"|"failed","records":N,"bytes":N,
 *    "reason":"<words>","transcript":"<64 hex: H>","time":T}
 *
 * signed with svmigd_sign() by the target's host key; the signature, in
 * hex, travels next to it.  The source verifies it with the public key of
 * the target's TLS certificate, that session and transcript are its own,
 * and, for an "ok" receipt, that records and bytes are what it sent (its
 * kernel's counts of the stream: HELLO, data and END records and their
 * wire bytes; the target's kernel counts the same).  An "ok" receipt
 * means: the END verified and the target holds the VM, paused; its
 * reason is "".  A "failed" one says why in its reason (verdict.h: 1 ..
 * 200 printable ASCII bytes, "authentication failure after 43 records"),
 * which the source audits and shows its operator.  The handover statements are built and signed the same way,
 *
 *   {"step":"commit"|"resumed","session":"<32 hex>",
 *    "receipt":"<64 hex: SHA-256 of the receipt's canonical form>","time":T}
 *
 * COMMIT by the source's host key (from now on the source never resumes
 * its copy), RESUMED by the target's (its copy runs; the source may quit
 * its own).  Documentation/svmigd.rst, "Handover", says why each side
 * keeps or drops its copy when one of them does not arrive.
 *
 * Every request, refusal, failure, established session and receipt is
 * appended to the host's audit log (audit.h): events "request",
 * "refused" (details: step, reason, "by": "us" or "peer"), "failed"
 * (step, error), "session" (digests of the request, both quotes, both
 * ECDH points; session id; H), "receipt", "commit" and "resumed" (session,
 * receipt and statement digests).  An audit log that cannot be
 * written stops a session before it has a secret.
 *
 * Functions return 0 or a negative errno, and put a sentence in @err
 * ("ATTEST: host-b's quote: PCR 16 differs from its reference value"):
 *   -EACCES        refused here (names, policy, attestation, limits,
 *                  replay); the reason went to the peer in an ERROR (in
 *                  the ADMIT for limits)
 *   -ECONNABORTED  refused by the peer: @err gives its reason
 *   -EBADMSG       the request or a receipt is malformed, unsigned, or
 *                  its signature does not verify
 *   -EPERM, -ESTALE  the request's (request.h)
 *   -EPROTO        the peer broke the protocol (unexpected message, bad
 *                  field)
 *   -EREMOTEIO     a valid receipt whose verdict is "failed"
 *   tls.h's        the connection failed (no ERROR is sent then)
 *   -EIO, -ENOMEM  the TPM or this host failed ("internal error" is sent;
 *                  the same for the audit log's errors, audit.h's)
 * On failure the session holds nothing (zeroed); Z and every transient
 * secret are wiped on every path.
 *
 * The TPM context, the policy and the other inputs are only read; one
 * session at a time per TPM context (tpm.h).
 */
#ifndef SVMIGD_SESSION_H
#define SVMIGD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"
#include "policy.h"
#include "request.h"
#include "tls.h"
#include "tpm.h"
#include "verdict.h"

#define SVMIGD_SECRET_LEN		32
#define SVMIGD_SESSION_ID_LEN		16
#define SVMIGD_SESSION_ERR_LEN		512	/* enough for any @err */
#define SVMIGD_SESSION_WINDOW		300	/* s: default request window */
#define SVMIGD_SESSION_TIMEOUT		30000	/* ms: default per message */

struct json_object;

struct svmigd_session_cfg {
	const char *host_name;		/* this host (its certificate's CN) */
	const struct svmigd_policy *policy;
	struct svmigd_tpm *tpm;
	EVP_PKEY *host_key;		/* signs receipts and audit records */
	const char *audit_log;
	X509_STORE *operator_anchors;	/* svmigd_request_anchors() */
	/* target: this host's resource limits (svmigd.conf [limits]) */
	uint64_t max_mem_mib;
	uint32_t max_vcpus;
	int64_t request_window;		/* s; 0: SVMIGD_SESSION_WINDOW */
	int timeout_ms;			/* per message; 0: default, < 0: none */
	/*
	 * Target, optional: the time for the first message (REQUEST, PROBE
	 * or QUERY) in ms, when shorter than timeout_ms; 0: timeout_ms.
	 * svmigd gives an unauthenticated peer little time (daemon.h).
	 */
	int first_timeout_ms;
	/*
	 * Target, optional: a last say on a verified, allowed request (e.g.
	 * a replay cache of request nonces, a VM already arriving); non-zero
	 * refuses it with @why.
	 */
	int (*check_request)(void *arg, const struct svmigd_request_verified *v,
			     char *why, size_t whylen);
	void *check_arg;
	/*
	 * Target, optional (called with check_arg): true while session @id
	 * may still receive its COMMIT here (its connection is served by
	 * another thread).  A QUERY about it is then answered "unknown",
	 * never "not-committed" (outcome.h).
	 */
	bool (*session_live)(void *arg, const uint8_t *id);
	/*
	 * Target, optional (called with check_arg, at ADMIT, once the
	 * request fits the limits on its own): what already runs here and
	 * arrives counted with it (admission.h); NULL admits, else the
	 * ADMIT reason ("memory", "vcpus", "policy") with @detail.
	 */
	const char *(*admit)(void *arg, const struct svmigd_request *r,
			     const struct svmigd_policy_host *me,
			     char *detail, size_t len);
	/*
	 * Target, optional: its journal directory (journal.h).  A QUERY about
	 * a session whose entry there is in phase "resumed" is answered
	 * "resumed" even before the audit log says so (outcome.h).
	 */
	const char *target_journal;
	/*
	 * Target, optional: answers a QUERY that came in place of a REQUEST
	 * (svmigd sets outcome.h's svmigd_outcome_answer: outcome.c sits
	 * above the session and the session never calls it by name); NULL:
	 * a QUERY is refused as any unexpected first message.
	 */
	int (*answer_query)(struct svmig_tls_conn *conn,
			    const struct svmigd_session_cfg *cfg,
			    struct json_object *msg, char *err, size_t errlen);
};

/* @cfg's per-message timeout in ms (0: the default), -1 for none. */
int svmigd_session_timeout(const struct svmigd_session_cfg *cfg);

#define SVMIGD_SESSION_CHANNELS_MAX	8

/* An established session (until DATA and the receipt). */
struct svmigd_session {
	bool source;				/* our role */
	/*
	 * QEMU multifd channels of a libvirt migration (0: none, at most
	 * SVMIGD_SESSION_CHANNELS_MAX): the source sets it before
	 * svmigd_session_source(), which sends it in the REQUEST (so in the
	 * transcript, which both CONFIRMs cover); the target has the REQUEST's.
	 */
	unsigned int channels;
	uint8_t secret[SVMIGD_SECRET_LEN];	/* wipe with svmigd_session_wipe */
	uint8_t id[SVMIGD_SESSION_ID_LEN];
	uint8_t transcript[SVMIGD_SHA256_LEN];	/* H */
	char peer[SVMIGD_HOST_NAME_MAX + 1];	/* the other host's name */
	struct svmigd_request_verified request;
	char operator[SVMIGD_NAME_MAX + 1];	/* as enrolled in the policy */
	char role[SVMIGD_NAME_MAX + 1];		/* the role that allowed it */
	/* SHA-256 of the quotes' TPMS_ATTEST and of the ECDH points */
	uint8_t quote_sha256[SVMIGD_SHA256_LEN];
	uint8_t peer_quote_sha256[SVMIGD_SHA256_LEN];
	uint8_t key_sha256[SVMIGD_SHA256_LEN];
	uint8_t peer_key_sha256[SVMIGD_SHA256_LEN];
};

/* A receipt as verified by the source. */
struct svmigd_receipt {
	uint8_t session[SVMIGD_SESSION_ID_LEN];
	bool ok;				/* verdict "ok" */
	uint64_t records, bytes;		/* what the target received */
	char reason[SVMIGD_REASON_MAX + 1];	/* why "failed"; "" if ok */
	uint8_t transcript[SVMIGD_SHA256_LEN];
	int64_t time;
	uint8_t sha256[SVMIGD_SHA256_LEN];	/* of its canonical form */
};

/*
 * The source: sends @request (the operator's signed request, JSON text of
 * @len bytes) and runs the protocol up to the secret.
 */
int svmigd_session_source(struct svmig_tls_conn *conn,
			  const struct svmigd_session_cfg *cfg,
			  const char *request, size_t len,
			  struct svmigd_session *out, char *err, size_t errlen);

/* The target: waits for the REQUEST and runs the protocol up to the secret. */
int svmigd_session_target(struct svmig_tls_conn *conn,
			  const struct svmigd_session_cfg *cfg,
			  struct svmigd_session *out, char *err, size_t errlen);

/* Wipes and zeroes @s. */
void svmigd_session_wipe(struct svmigd_session *s);

/*
 * Attestation only (svmigctl attest): a VERIFIER asks an ATTESTER for its
 * quote, and nothing else happens on the connection:
 *
 *   V -> A  PROBE   {nonce: Nv}
 *   A -> V  ATTEST  {nonce, ak, attest, sig, pcrs}   (as in a migration)
 *   V -> A  VERDICT {verdict: "trusted"}  or ERROR {step, reason}
 *
 * The quote is the ATTEST step's: the attester's AK over the PCRs the
 * policy lists for it, qualifying data SHA-256(E || "quote" || Nv), E
 * being this TLS session's exporter; the verifier checks it as in a
 * migration (AK enrolled, signature, qualifying data, PCRs against the
 * policy's reference values).  The ATTEST's own nonce is sent as in a
 * migration and unused.  Both sides refuse a peer that is not a host of
 * the policy.  The VERDICT only tells the attester what the verifier
 * concluded, for its audit log.
 *
 * Audit: "attest" (details: role "verifier" or "attester", peer, the
 * quote's digest, and the verdict) when the quote was trusted; "refused"
 * or "failed" as in a migration otherwise.
 *
 * svmigd_session_target() answers a PROBE in place of a REQUEST and then
 * returns SVMIGD_SESSION_PROBED (not an error; no session) with a
 * sentence in @err.
 */
#define SVMIGD_SESSION_PROBED	1
/*
 * A QUERY in place of a REQUEST (outcome.h): svmigd_session_target()
 * has cfg->answer_query answer it and returns SVMIGD_SESSION_ANSWERED (no
 * session), with what it answered in @err.
 */
#define SVMIGD_SESSION_ANSWERED	2

/* What the verifier learnt, as far as it got. */
struct svmigd_attestation {
	char peer[SVMIGD_HOST_NAME_MAX + 1];	/* its TLS certificate's CN */
	uint8_t nonce[SVMIGD_NONCE_LEN];	/* ours: Nv */
	bool known;			/* the peer is a host of the policy: */
	uint8_t ak_reference[SVMIGD_SHA256_LEN];	/* its enrolled AK */
	struct svmigd_tpm_pcrs reference;	/* its reference PCR values */
	/*
	 * What the peer's ATTEST claims (each when well formed): trust them
	 * only when svmigd_session_attest_peer() returned 0.
	 */
	bool have_ak, have_quote, have_pcrs;
	uint8_t ak_sha256[SVMIGD_SHA256_LEN];	/* of the AK it sent */
	uint8_t quote_sha256[SVMIGD_SHA256_LEN];	/* of its TPMS_ATTEST */
	struct svmigd_tpm_pcrs pcrs;		/* the values it quoted */
};

/*
 * The verifier's side, over a connection to the peer: 0 when the peer's
 * quote verified ("trusted"), otherwise as the session's functions
 * (-EACCES: refused here, @err says why; -ECONNABORTED: the peer refused;
 * ...).  @a is filled as far as the exchange got, on every path.
 */
int svmigd_session_attest_peer(struct svmig_tls_conn *conn,
			       const struct svmigd_session_cfg *cfg,
			       struct svmigd_attestation *a,
			       char *err, size_t errlen);

/*
 * Target: signs and sends the receipt of session @s, "ok" when @ok
 * (SVMIG_IOC_RECV and SVMIG_IOC_VERIFY succeeded), with what the data
 * channel counted; audited.  @reason: NULL or "" when @ok, else why it
 * failed (svmigd_reason_ok(); -EINVAL otherwise).  @sha256 (if not NULL):
 * the receipt's digest, which the COMMIT and RESUMED name.
 */
int svmigd_session_receipt_send(struct svmig_tls_conn *conn,
				const struct svmigd_session_cfg *cfg,
				const struct svmigd_session *s, bool ok,
				uint64_t records, uint64_t bytes,
				const char *reason,
				uint8_t sha256[SVMIGD_SHA256_LEN],
				char *err, size_t errlen);

/* What the source's data channel sent: its kernel's counts (svmig_stats). */
struct svmigd_counts {
	uint64_t records, bytes;
};

/*
 * Source: receives and verifies the receipt of session @s (signature by
 * the key of the peer's TLS certificate, session id, transcript, and for
 * "ok" the counts against @sent); audited.  0 only for a valid receipt
 * with verdict "ok"; -EREMOTEIO for a valid one with "failed" (@r filled
 * in both cases, @err quoting its reason); a refused receipt (-EBADMSG,
 * a count that differs from @sent among them) is answered with an ERROR.
 * @sent may be NULL only where no COMMIT can follow (the source's own
 * DATA step failed and the receipt is read for the log).
 */
int svmigd_session_receipt_recv(struct svmig_tls_conn *conn,
				const struct svmigd_session_cfg *cfg,
				const struct svmigd_session *s,
				const struct svmigd_counts *sent,
				struct svmigd_receipt *r,
				char *err, size_t errlen);

/* The handover statements after an "ok" receipt. */
enum svmigd_handover {
	SVMIGD_COMMIT,		/* source -> target: resume yours */
	SVMIGD_RESUMED,		/* target -> source: mine runs, quit yours */
};

/*
 * Signs, audits and sends @what (COMMIT only from a source, RESUMED only
 * from a target) for session @s and the receipt whose digest is @receipt
 * (svmigd_receipt.sha256 on the source, receipt_send's @sha256 on the
 * target).  A failure before anything was sent (signing, the audit log)
 * is -ENOMEM or audit.h's error; -ENOTCONN: sending failed, and the
 * statement may or may not have reached the peer.
 */
int svmigd_session_handover_send(struct svmig_tls_conn *conn,
				 const struct svmigd_session_cfg *cfg,
				 const struct svmigd_session *s,
				 enum svmigd_handover what,
				 const uint8_t receipt[SVMIGD_SHA256_LEN],
				 char *err, size_t errlen);

/*
 * Receives and verifies @what from the peer: the statement is exactly
 * that step, for session @s and @receipt, signed by the key of the peer's
 * TLS certificate; audited.  Refused statements (-EBADMSG) are answered
 * with an ERROR; an ERROR from the peer is -ECONNABORTED.
 */
int svmigd_session_handover_recv(struct svmig_tls_conn *conn,
				 const struct svmigd_session_cfg *cfg,
				 const struct svmigd_session *s,
				 enum svmigd_handover what,
				 const uint8_t receipt[SVMIGD_SHA256_LEN],
				 char *err, size_t errlen);

#endif /* SVMIGD_SESSION_H */
