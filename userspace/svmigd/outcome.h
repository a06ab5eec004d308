/* SPDX-License-Identifier: GPL-2.0 */
/*
 * outcome: the source asks the target how a session ended, when the
 * target's RESUMED never arrived (the connection broke after the COMMIT,
 * or the source's svmigd died and its journal says "commit"), over a new
 * control connection (TLS 1.3, mutual X.509, as a migration's):
 *
 *   S -> T  QUERY   {session: <32 hex>, nonce: Nq <64 hex>}
 *   T -> S  OUTCOME {statement: {step: "outcome", session, nonce, outcome,
 *                    time}, signature}
 *
 * or ERROR {step: "QUERY", reason}.  Nq is 32 fresh random bytes of the
 * source's, new for every QUERY.  The statement is json-c's plain form of
 * an object with the keys in that order, signed with svmigd_sign() by the
 * target's identity key (the signature in hex next to it; today the host
 * key behind its TLS certificate, the one that signs its receipts: the key
 * source is two functions of outcome.c, for the TPM-held key to replace).
 * The source verifies the signature with the target's identity key, then
 * that the statement names its session and carries its Nq: a forged
 * answer, or a genuine one recorded earlier and replayed (to this QUERY
 * or to another about the same session), is refused (-EBADMSG) and the
 * source's VM stays as it is.
 *
 * The target answers from its own audit log, verified with its own key
 * first (a broken log answers nothing), and its journal (journal.h,
 * svmigd_session_cfg.target_journal), about the session it had AS THE
 * TARGET with the asking host (the TLS peer's CN) as the source:
 *
 *   "resumed"        it audited its RESUMED, or its journal holds the
 *                    session in phase "resumed" (written before its QMP
 *                    cont: it resumed its copy or, having died first,
 *                    its successor does): its copy runs
 *   "committed"      it took the COMMIT, has no RESUMED and no such
 *                    journal entry: its copy did not run (its cont failed
 *                    for good): both copies are paused, an operator decides
 *   "not-committed"  the session was established and no COMMIT was taken:
 *                    its copy never ran and never will
 *   "unknown"        it has no such session with that host, or the
 *                    session's connection is still being served
 *
 * "not-committed" is final because svmigd answers it only when that
 * session's connection is over (svmigd_session_cfg.session_live: svmigd
 * serves connections in parallel, and says "unknown" while another thread
 * still serves it), so no COMMIT can still be on its way, and svmigd
 * resumes a VM only on a COMMIT.  Both sides append an "outcome" record to their audit logs
 * (details: role, peer, session, outcome, and on the source the
 * statement's digest).
 *
 * Functions return 0 or a negative errno with a sentence in @err: as
 * session.h's (-EACCES refused here, -ECONNABORTED refused by the peer,
 * -EBADMSG a statement that does not verify, -EPROTO a protocol error,
 * tls.h's for the connection, audit.h's for the log).
 */
#ifndef SVMIGD_OUTCOME_H
#define SVMIGD_OUTCOME_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "session.h"
#include "tls.h"

#define SVMIGD_OUTCOME_NONCE_LEN	32	/* bytes of the QUERY's Nq */

enum svmigd_outcome {
	SVMIGD_OUTCOME_UNKNOWN,
	SVMIGD_OUTCOME_NOT_COMMITTED,
	SVMIGD_OUTCOME_COMMITTED,
	SVMIGD_OUTCOME_RESUMED,
};

/* "unknown", "not-committed", "committed", "resumed". */
const char *svmigd_outcome_name(enum svmigd_outcome outcome);

/*
 * What the audit log at @path (verified with @key) says of @session, had
 * as the target with @source; @vm (if not NULL, at least
 * SVMIGD_NAME_MAX + 1 bytes) gets its VM's name ("-" if unknown).
 */
int svmigd_outcome_lookup(const char *path, EVP_PKEY *key, const char *source,
			  const uint8_t session[SVMIGD_SESSION_ID_LEN],
			  enum svmigd_outcome *out, char *vm, char *err,
			  size_t errlen);

/*
 * Target: answers the QUERY @msg (borrowed) that arrived first on @conn,
 * in place of a REQUEST (svmigd_session_target() calls it).  @err says
 * what was answered.
 */
int svmigd_outcome_answer(struct svmig_tls_conn *conn,
			  const struct svmigd_session_cfg *cfg,
			  struct json_object *msg, char *err, size_t errlen);

/*
 * Source: asks the peer of @conn about @session and verifies its signed
 * answer; @who and @what name the operator and the VM for the audit log.
 */
int svmigd_outcome_ask(struct svmig_tls_conn *conn,
		       const struct svmigd_session_cfg *cfg,
		       const uint8_t session[SVMIGD_SESSION_ID_LEN],
		       const char *who, const char *what,
		       enum svmigd_outcome *out, char *err, size_t errlen);

#endif /* SVMIGD_OUTCOME_H */
