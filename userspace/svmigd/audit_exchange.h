/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HEAD: after a migration's handover each host hands the peer the signed
 * head of its audit log (audit_head.h), and keeps the peer's in its own
 * log, so that a host that cuts its log (and its head file, or rolls both
 * back) below what its peer holds is caught by `svmigctl audit verify
 * --anchor PEER-LOG` (Documentation/svmigd.rst, Audit).
 *
 *   HEAD  {"type": "HEAD", "head": "<the head line>"}
 *
 * The target sends first (right after its RESUMED), the source answers
 * with its own (after its "completed" record).  Each verifies the peer's
 * head with the key of the peer's TLS certificate and appends a
 * "peer-head" record (details: role, peer, step "HEAD", session, seq and
 * the evidence {"kind": "head", "head": base64}, audit_evidence.h).  The
 * migration is over by then: a failed exchange is logged (LOG_WARNING)
 * and changes nothing else.
 */
#ifndef SVMIGD_AUDIT_EXCHANGE_H
#define SVMIGD_AUDIT_EXCHANGE_H

#include <json-c/json.h>
#include <openssl/evp.h>

#include "audit_head.h"
#include "session.h"
#include "tls.h"

#define SVMIG_MSG_HEAD	"HEAD"

/*
 * A received HEAD message @msg: exactly "type" and "head", a head signed
 * by @peer_key.  *@h its fields; -EBADMSG (@why) otherwise.
 */
int svmigd_audit_head_msg_check(struct json_object *msg, EVP_PKEY *peer_key,
				struct svmigd_audit_head *h, char *why,
				size_t whylen);

/* Both ways, in the order above; 0, or a negative errno with @err. */
int svmigd_audit_heads_exchange(struct svmig_tls_conn *conn,
				const struct svmigd_session_cfg *cfg,
				const struct svmigd_session *ses,
				char *err, size_t errlen);

#endif /* SVMIGD_AUDIT_EXCHANGE_H */
