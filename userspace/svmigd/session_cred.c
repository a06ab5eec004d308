// SPDX-License-Identifier: GPL-2.0
/*
 * AK provenance in a session (credential.h): our EK in our ATTEST, the
 * peer's EK certificate checked against the policy's manufacturer CAs,
 * and the credential round, CHALLENGE and ACTIVATED.  The session calls
 * these in the order Documentation/svmigd.rst gives (session.c).
 */
#include <errno.h>
#include <string.h>

#include "credential.h"
#include "session_int.h"

static int cred_fail(struct sess *s, int ret, const char *fmt,
		     const char *why)
{
	if (ret == -ENOMEM)
		return sess_nomem(s);
	if (ret == -EIO)
		return sess_fail(s, SK_FAIL, ret, "%s", why);
	return sess_fail(s, SK_REFUSE, ret, fmt, s->peer, why);
}

/* Prover: our EK and its certificate into our ATTEST @msg. */
int cred_add_ek(struct sess *s, struct json_object *msg)
{
	char why[256];
	int ret = svmigd_cred_add_ek(s->cfg->tpm, msg, why, sizeof(why));

	return ret ? cred_fail(s, ret, "%.0s%s", why) : 0;
}

/* Verifier: the peer's EK certificate against the policy's CAs. */
int cred_check_ek(struct sess *s, struct json_object *msg)
{
	char why[256];
	int ret = svmigd_cred_check_ek(msg, s->cfg->policy, s->them, &s->cred,
				       why, sizeof(why));

	return ret ? cred_fail(s, ret, "%s's EK certificate: %s", why) : 0;
}

/* Verifier: a credential for the peer's AK under its EK. */
int cred_challenge(struct sess *s)
{
	struct json_object *msg;
	char why[256];
	int ret;

	s->step = SVMIG_MSG_CHALLENGE;
	ret = svmigd_cred_challenge(s->cfg->tpm, &s->cred, s->peer_ak,
				    s->peer_ak_len, s->e, &msg, why,
				    sizeof(why));
	if (ret)
		return cred_fail(s, ret, "%s's AK: %s", why);
	ret = sess_send(s, msg);
	json_object_put(msg);
	return ret;
}

/* Prover: the peer's CHALLENGE activated with our AK and EK. */
int cred_activate(struct sess *s)
{
	struct json_object *msg, *out = NULL;
	char why[256];
	int ret;

	s->step = SVMIG_MSG_CHALLENGE;
	ret = sess_recv(s, SVMIG_MSG_CHALLENGE, &msg);
	if (ret)
		return ret;
	ret = svmigd_cred_activate(s->cfg->tpm, &s->ak, s->e, msg, &out, why,
				   sizeof(why));
	json_object_put(msg);
	if (ret)
		return cred_fail(s, ret, "%.0s%s", why);
	s->step = SVMIG_MSG_ACTIVATED;
	ret = sess_send(s, out);
	json_object_put(out);
	return ret;
}

/* Is @msg the prover's ERROR at CHALLENGE (it could not activate)? */
static bool cred_not_activated(struct json_object *msg)
{
	const char *step;

	if (strcmp(svmig_msg_type(msg), SESS_ERROR))
		return false;
	step = json_object_get_string(json_object_object_get(msg, "step"));
	return step && !strcmp(step, SVMIG_MSG_CHALLENGE);
}

/* Verifier: the peer's proof; only then is its AK trusted. */
int cred_activated(struct sess *s)
{
	struct json_object *msg;
	char why[256];
	int ret;

	s->step = SVMIG_MSG_ACTIVATED;
	ret = sess_recv_any(s, SVMIG_MSG_ACTIVATED, &msg);
	if (ret)
		return ret;
	if (cred_not_activated(msg)) {
		/* a prover that cannot activate: our refusal, its words */
		sess_clean(why, sizeof(why),
			   json_object_get_string(json_object_object_get(msg,
								"reason")));
		json_object_put(msg);
		return sess_fail(s, SK_REFUSE, -EACCES,
				 "%s's AK: no credential activation (%s says: %s): "
				 "its AK is not proven to be a key of the TPM "
				 "that holds its certified EK; refused",
				 s->peer, s->peer, why[0] ? why : "nothing");
	}
	ret = sess_expect(s, SVMIG_MSG_ACTIVATED, &msg);
	if (ret)
		return ret;
	ret = svmigd_cred_verify(&s->cred, msg, why, sizeof(why));
	json_object_put(msg);
	return ret ? cred_fail(s, ret, "%s's AK: %s", why) : 0;
}
