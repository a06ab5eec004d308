/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the peer and the operator signed, kept in the audit log so that a
 * third party can check it offline (Documentation/svmigd.rst, Audit).
 *
 * A record of a step in which svmigd verified someone else's signature
 * carries, in its details, an "evidence" object with the signed bytes
 * exactly as verified (base64) and the signature:
 *
 *   kind "request"   {"kind","request"}: the operator's signed request
 *                    (its JSON text; the signature and certificate are
 *                    in it); records "request"
 *   kind "quote"     {"kind","ak","attest","signature","pcrs",
 *                    "qualifying"}: the peer's TPM2B_PUBLIC AK, its
 *                    TPMS_ATTEST and signature (base64), the PCR values
 *                    sent with it (hex, as in ATTEST) and the qualifying
 *                    data the quote had to carry (hex); records
 *                    "session" and "attest" (the verifier's)
 *   kind "receipt",  {"kind","statement","signature"}: the peer's signed
 *   "commit",        statement (its canonical JSON text) and signature;
 *   "resumed"        records "receipt" (the source's), "commit" (the
 *                    target's), "resumed" (the source's)
 *   kind "head"      {"kind","head"}: the peer's signed audit head
 *                    (audit_head.h); records "peer-head"
 *
 * Each stored blob is at most SVMIGD_EVIDENCE_MAX bytes before base64.
 * The record itself is signed by this host, so the log's chain protects
 * it from others; the evidence is what protects it from this host: a
 * host that rewrites and re-signs its own log can change what it claims,
 * but not make the peer's or operator's signatures verify over it.
 */
#ifndef SVMIGD_AUDIT_EVIDENCE_H
#define SVMIGD_AUDIT_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "audit.h"
#include "policy.h"

#define SVMIGD_EVIDENCE_MAX	(64 * 1024)

/*
 * The evidence objects (new references, NULL when out of memory or a
 * blob is over SVMIGD_EVIDENCE_MAX).  @kind is "receipt", "commit" or
 * "resumed" for a statement.  @pcrs (the ATTEST's "pcrs" object) is
 * copied.
 */
struct json_object *svmigd_evidence_statement(const char *kind,
					      const char *text,
					      const uint8_t *sig,
					      size_t siglen);
struct json_object *svmigd_evidence_request(struct json_object *signed_req);
struct json_object *svmigd_evidence_quote(const uint8_t *ak, size_t ak_len,
					  const uint8_t *attest,
					  size_t attest_len,
					  const uint8_t *sig, size_t siglen,
					  struct json_object *pcrs,
					  const uint8_t *qual, size_t qual_len);
struct json_object *svmigd_evidence_head(const char *line, size_t len);

/* What the offline check is given (all optional but the host's key). */
struct svmigd_evidence_opts {
	STACK_OF(X509) *peers;	/* the peers' certificates, matched by CN */
	X509_STORE *ca;		/* peers' and operators' CAs */
	const struct svmigd_policy *policy;	/* AK digests, PCR values */
};

struct svmigd_evidence_report {
	uint64_t checked;	/* evidence objects that verified */
	uint64_t unchecked;	/* without what their check needs */
	char unchecked_why[256];	/* the first one's reason */
	uint64_t seq;		/* the first record whose evidence fails */
	char why[512];
};

/*
 * Walks the log at @path (verified with @key as svmigd_audit_walk, its
 * head included) and re-checks every record's evidence: a statement or
 * head with the certificate in @o->peers whose CN is the record's
 * "peer" (which must chain to @o->ca when given); a request with
 * @o->ca as the operators' anchors (as svmigd did, at the record's time,
 * the window one day) and its digest against the record's "request"; a
 * quote's signature by its AK, its qualifying data, its PCR digest and
 * values (against the policy's for the peer when @o->policy, with the
 * AK's digest; else against the values sent) and its digest against the
 * record's "peer_quote"; a statement's digest against the record's
 * "receipt" or "statement", and its session.  Evidence whose check lacks
 * a certificate or CA is counted as unchecked, not failed.
 *
 * Returns 0, -EBADMSG when a record's evidence fails (@rep->seq, ->why,
 * @err) or the log is broken (@arep as svmigd_audit_walk), another
 * negative errno on setup errors.
 */
int svmigd_audit_verify_peer(const char *path, EVP_PKEY *key,
			     const struct svmigd_evidence_opts *o,
			     struct svmigd_evidence_report *rep,
			     struct svmigd_audit_report *arep,
			     char *err, size_t errlen);

#endif /* SVMIGD_AUDIT_EVIDENCE_H */
