/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's append-only audit log (Documentation/svmigd.rst, Audit): one
 * record per line, each line json-c's plain serialisation
 * (JSON_C_TO_STRING_PLAIN) of an object with the keys in this order:
 *
 *   {"seq":1,"time":1700000000,"event":"request","who":"alice",
 *    "what":"web-1","details":{...},"prev":"<64 hex>","sig":"<base64>"}
 *
 *   seq      1, 2, 3, ... without gaps
 *   time     seconds since the epoch
 *   details  any JSON object (digests of the request, quotes, keys, ...)
 *   prev     SHA-256 of the previous line's bytes, without its newline;
 *            64 zeros for the first record
 *   sig      base64 of svmigd_sign() by the host key (ECDSA, or RSA-PSS,
 *            over SHA-256) of the same serialisation without "sig", i.e.
 *            the line up to ,"sig" followed by "}"
 *
 * Every line ends with "\n".  A line is accepted only in exactly this
 * spelling, so that changing any byte of the file is detected.  What the
 * chain alone cannot show, the loss of records at the end, the signed
 * head beside the log shows (audit_head.h): the log verifies only when
 * the record the head names is in it.
 */
#ifndef SVMIGD_AUDIT_H
#define SVMIGD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "policy.h"

#define SVMIGD_AUDIT_LINE_MAX	(1 << 20)	/* bytes of one record */

/*
 * Appends a record to the log at @path (created 0600 if absent), signed
 * with @key.  @details is an object (borrowed, copied) or NULL for {}.
 * The log is locked (flock) while the last line is read, checked (its form
 * and signature: a log that does not end in a valid record of this key is
 * not extended, -EBADMSG) and chained to, and until the new line is
 * written and fsync'ed and the head file rewritten (audit_head.h); a
 * failed write is cut off again.  A log whose head file is missing (with
 * records), does not verify, or names a record beyond the log's last or
 * another last record is not extended either (-EBADMSG: a cut tail).
 * *seq (if not NULL) receives the record's seq.
 */
int svmigd_audit_append(const char *path, EVP_PKEY *key, const char *event,
			const char *who, const char *what,
			struct json_object *details, uint64_t *seq,
			char *err, size_t errlen);

struct svmigd_audit_report {
	uint64_t records;	/* intact records (before the broken one) */
	uint8_t last_sha256[SVMIGD_SHA256_LEN];	/* of the last intact line */
	bool head;		/* the log has a head file (audit_head.h) */
	uint64_t head_seq;	/* the seq it names (0: none, or unreadable) */
	uint64_t after_head;	/* records after it (a crash in between) */
	uint64_t anchor_seq;	/* svmigd_audit_verify_anchor: the highest
				 * head of this host the anchor holds */
	/* the first broken record: */
	uint64_t line;		/* its line, from 1; 0 when all is intact */
	uint64_t seq;		/* the seq it should have */
	char why[256];		/* "bad JSON: ...", "seq gap: ...",
				 * "bad hash link", "bad signature", ... */
};

/*
 * Walks the log at @path and checks every record with the public key of
 * the host certificate in @cert_path (PEM) or with @key, then the log
 * against its signed head (a cut tail is reported as a broken record
 * after the last).  Returns 0 when
 * every record is intact, -EBADMSG when one is not (@rep names the first;
 * @err says "<path>: record <seq> (line <n>): <why>"), another negative
 * errno when the log or the certificate cannot be read.
 */
int svmigd_audit_verify(const char *path, const char *cert_path,
			struct svmigd_audit_report *rep, char *err,
			size_t errlen);
int svmigd_audit_verify_key(const char *path, EVP_PKEY *key,
			    struct svmigd_audit_report *rep, char *err,
			    size_t errlen);

/*
 * svmigd_audit_verify_key(), and then the log against the highest signed
 * head of @key's host that the file @anchor holds (audit_head.h,
 * svmigd_audit_anchor_read: a copy of a head file kept elsewhere, or the
 * peer's audit log with its "peer-head" records): the record it names
 * must be in the log with that hash, else -EBADMSG, reported as a broken
 * record after the last ("cut tail: the anchor holds ...").  -ENOENT when
 * the anchor holds no head of this host.
 */
int svmigd_audit_verify_anchor(const char *path, EVP_PKEY *key,
			       const char *anchor,
			       struct svmigd_audit_report *rep, char *err,
			       size_t errlen);

/*
 * svmigd_audit_verify_key(), handing each intact record, in order, to @fn
 * as an object (borrowed: the "seq" .. "sig" members as in the file); the
 * walk stops at the first broken record (-EBADMSG, as verify) or at @fn's
 * first non-zero return, which it returns.  The walk holds a shared
 * flock on the log, so it never sees an append half-way (and @fn must
 * not append to the same log: that would wait for the walk forever).
 * The verifiers read under the same lock.
 */
int svmigd_audit_walk(const char *path, EVP_PKEY *key,
		      int (*fn)(void *arg, struct json_object *rec), void *arg,
		      struct svmigd_audit_report *rep, char *err, size_t errlen);

#endif /* SVMIGD_AUDIT_H */
