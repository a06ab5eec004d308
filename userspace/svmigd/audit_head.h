/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The audit log's signed head (Documentation/svmigd.rst, Audit): what
 * makes a cut tail visible.
 *
 * A head is one line, json-c's plain serialisation of
 *
 *   {"step":"audit-head","seq":5,"last":"<64 hex>","time":1700000000,
 *    "sig":"<base64>"}
 *
 *   seq   the seq of the log's last record when the head was written
 *   last  SHA-256 of that record's line (without its newline)
 *   sig   svmigd_sign() by the host key over the line without "sig" (up
 *         to ,"sig" followed by "}"), as an audit record's
 *
 * svmigd_audit_append() writes it beside the log, in "<log>.head"
 * (written to "<log>.head.tmp", fsync'd, renamed, the directory fsync'd)
 * after each record, while it holds the log's lock; verifying the log
 * (audit.h) then requires the record the head names to be in the log,
 * with that hash.  A log with records and no head file is refused too:
 * whoever cuts the log could delete the head.  Records after the head are
 * allowed (a crash between the record's fsync and the head's rename) and
 * counted.  What the local head cannot show is a log and head rolled back
 * together to an older pair: for that each migration hands the peer the
 * head (HEAD, below), and the peer keeps it in its own log, where
 * svmigd_audit_anchor() finds it.
 */
#ifndef SVMIGD_AUDIT_HEAD_H
#define SVMIGD_AUDIT_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "util.h"

#define SVMIGD_AUDIT_HEAD_MAX	1024	/* bytes of a head line */
#define SVMIGD_AUDIT_HEAD_STEP	"audit-head"
#define SVMIGD_AUDIT_PEER_HEAD	"peer-head"	/* the record's event */

struct svmigd_audit_head {
	uint64_t seq;
	uint8_t last[SVMIGD_SHA256_LEN];
	int64_t time;
};

/* "<log>.head"; -ENAMETOOLONG when it does not fit @len. */
int svmigd_audit_head_path(const char *log, char *buf, size_t len);

/* A signed head line for (@seq, @last), no newline, malloc'd. */
int svmigd_audit_head_sign(EVP_PKEY *key, uint64_t seq,
			   const uint8_t last[SVMIGD_SHA256_LEN], char **line);

/*
 * Checks the @len bytes of @line (no newline) as a head signed with
 * @key: its exact spelling, its fields and its signature.  -EBADMSG with
 * @why, -ENOMEM, -EINVAL for a key of another kind.
 */
int svmigd_audit_head_parse(const char *line, size_t len, EVP_PKEY *key,
			    struct svmigd_audit_head *h, char *why,
			    size_t whylen);

/*
 * Reads and checks the head file of @log.  0 with *@found = false when
 * there is none, -EBADMSG (@why) when it does not verify.
 */
int svmigd_audit_head_read(const char *log, EVP_PKEY *key,
			   struct svmigd_audit_head *h, bool *found,
			   char *why, size_t whylen);

/* Writes the head file of @log for (@seq, @last); see above. */
int svmigd_audit_head_write(const char *log, EVP_PKEY *key, uint64_t seq,
			    const uint8_t last[SVMIGD_SHA256_LEN], char *why,
			    size_t whylen);

/*
 * The heads of @log's host (verified with @key) that the file @anchor
 * holds: head lines (a copy of a "<log>.head"), or the peer's audit log,
 * whose "peer-head" records carry them (details "evidence", "head":
 * base64, audit_evidence.h); any
 * other line is skipped (the peer's log is not verified here: a head is
 * the log's host's own signed statement, wherever it is kept).  The
 * highest seq found is *@best; 0 in *@n when none.
 */
int svmigd_audit_anchor_read(const char *anchor, EVP_PKEY *key,
			     struct svmigd_audit_head *best, uint64_t *n,
			     char *err, size_t errlen);

#endif /* SVMIGD_AUDIT_HEAD_H */
