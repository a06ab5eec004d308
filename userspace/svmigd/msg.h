/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msg: the control connection's messages (Documentation/svmigd.rst,
 * "Protocol"): one JSON object per frame, a frame being be32(length) and
 * that many bytes of JSON text, 1 <= length <= SVMIG_MSG_MAX.  Every
 * message is an object with a non-empty string "type".  Binary fields are
 * lowercase hex strings (either case is read).
 *
 * A received frame is refused when its length is 0 or above the maximum
 * (svmig_msg_recv_max(): -EMSGSIZE, without reading the body), when the
 * peer closes inside it (-EPROTO, "truncated"), or when its text is not exactly one strict JSON
 * object in UTF-8 with a "type" (-EPROTO); a clean close between frames
 * is -ECONNRESET.  Send and receive errors are tls.h's otherwise; the
 * words land in svmig_tls_error(conn), and any failure leaves the
 * connection unusable.
 *
 * The field helpers return 0, -ENOENT (no such field), -EINVAL (not a
 * string, or not hex), -EMSGSIZE (decodes to another length than asked),
 * -ENOMEM.
 *
 * Link with -ljson-c.
 */
#ifndef SVMIGD_MSG_H
#define SVMIGD_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "tls.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SVMIG_MSG_MAX		(1u << 20)	/* 1 MiB of JSON text */
#define SVMIG_MSG_HDR_LEN	4		/* be32 length */

/* The message types of the protocol. */
#define SVMIG_MSG_REQUEST	"REQUEST"
#define SVMIG_MSG_ATTEST	"ATTEST"
#define SVMIG_MSG_ADMIT		"ADMIT"
#define SVMIG_MSG_KEY		"KEY"
#define SVMIG_MSG_CONFIRM	"CONFIRM"
#define SVMIG_MSG_RECEIPT	"RECEIPT"
#define SVMIG_MSG_COMMIT	"COMMIT"
#define SVMIG_MSG_RESUMED	"RESUMED"
/* attestation only (svmigctl attest): PROBE, ATTEST, VERDICT */
#define SVMIG_MSG_PROBE		"PROBE"
#define SVMIG_MSG_VERDICT	"VERDICT"
/* how a session ended, asked later (outcome.h): QUERY, OUTCOME */
#define SVMIG_MSG_QUERY		"QUERY"
#define SVMIG_MSG_OUTCOME	"OUTCOME"

/* A new message {"type": @type}; NULL when out of memory. */
struct json_object *svmig_msg_new(const char *type);

/* @msg's "type", or NULL if it has none (or not a string). */
const char *svmig_msg_type(struct json_object *msg);

/* Frames and sends @msg (borrowed); -EINVAL without a "type". */
int svmig_msg_send(struct svmig_tls_conn *conn, struct json_object *msg,
		   int timeout_ms);

/*
 * The largest frame svmig_msg_recv() takes on @conn: SVMIG_MSG_MAX, or
 * the connection's lower limit (tls.h, svmig_tls_set_frame_max()).
 */
size_t svmig_msg_recv_max(const struct svmig_tls_conn *conn);

/*
 * Receives one message; on success *msg holds a new reference (release it
 * with json_object_put()), on failure NULL.
 */
int svmig_msg_recv(struct svmig_tls_conn *conn, int timeout_ms,
		   struct json_object **msg);

/*
 * What a caller may add to a send or a receive.  @observe sees each
 * frame's bytes, in order (the be32 length, then the JSON text): a
 * frame to send before it is written, a frame received once it is read
 * whole, before it is parsed (the session's transcript hash, session_core.c).
 * Its non-zero return (a negative errno; it may say why with
 * svmig_tls_fail()) fails the call.  @depth: the JSON nesting a received
 * message may have; 0: json-c's default.  NULL options: none of this.
 */
struct svmig_msg_opts {
	int (*observe)(void *arg, const void *buf, size_t len);
	void *arg;
	int depth;
};

int svmig_msg_send_opts(struct svmig_tls_conn *conn, struct json_object *msg,
			int timeout_ms, const struct svmig_msg_opts *opts);
int svmig_msg_recv_opts(struct svmig_tls_conn *conn, int timeout_ms,
			const struct svmig_msg_opts *opts,
			struct json_object **msg);

/* svmig_msg_recv(), then -EPROTO unless its type is @type. */
int svmig_msg_expect(struct svmig_tls_conn *conn, const char *type,
		     int timeout_ms, struct json_object **msg);

/* ---- binary fields ---- */

/* Sets @key to the hex of @len bytes (len <= SVMIG_MSG_MAX / 2). */
int svmig_msg_add_hex(struct json_object *msg, const char *key,
		      const void *buf, size_t len);

/* Decodes @key, which must hold exactly @len bytes, into @buf. */
int svmig_msg_get_hex(struct json_object *msg, const char *key,
		      void *buf, size_t len);

/* Decodes @key, which may hold @min..@max bytes, into @buf; *@len: how many. */
int svmig_msg_get_hex_range(struct json_object *msg, const char *key,
			    void *buf, size_t min, size_t max, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* SVMIGD_MSG_H */
