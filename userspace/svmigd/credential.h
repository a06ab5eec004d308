/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AK provenance in the protocol (Documentation/svmigd.rst, "AK
 * provenance"): the EK certificate and EK public area that travel in
 * ATTEST, checked against the policy's manufacturer CAs, and the
 * credential round that proves the AK is a key of the TPM holding that
 * certified EK:
 *
 *   CHALLENGE (verifier -> prover): {"blob": hex, "secret": hex}, the
 *     TPM2_MakeCredential output (marshalled TPM2B_ID_OBJECT and
 *     TPM2B_ENCRYPTED_SECRET) of a fresh random 32-byte secret S for the
 *     prover's AK Name (0x000b || SHA-256(AK TPMT_PUBLIC)), made with the
 *     verifier's TPM under the prover's EK public area;
 *   ACTIVATED (prover -> verifier): {"proof": hex}, HMAC-SHA-256(S,
 *     "svmig v1 activate" || E || AK Name), S recovered by
 *     TPM2_ActivateCredential with the prover's AK and EK, E the TLS
 *     exporter of this connection (session.c): a proof made on another
 *     connection (replayed, or relayed by a man in the middle from the
 *     real TPM's host) does not verify.
 *
 * Only a TPM that holds both the certified EK and a loaded key of that
 * Name recovers S; a software key's public area, or an AK of another
 * TPM, cannot.  Functions return 0, -EPROTO (a malformed field: @why
 * names it), -EACCES (refused: @why says why), -EIO (our TPM failed:
 * @why), -ENOMEM.
 */
#ifndef SVMIGD_CREDENTIAL_H
#define SVMIGD_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "policy.h"
#include "tpm.h"

#define SVMIGD_CRED_LABEL	"svmig v1 activate"
#define SVMIGD_CRED_E_LEN	32	/* the TLS exporter's length */

/* What a verifier keeps about the peer between ATTEST and ACTIVATED. */
struct svmigd_cred_peer {
	uint8_t ek[SVMIGD_TPM_PUBLIC_MAX];	/* its EK TPM2B_PUBLIC */
	size_t ek_len;
	uint8_t proof[SVMIGD_SHA256_LEN];	/* what ACTIVATED must hold */
	bool ek_ok;		/* the EK's certificate was verified */
	bool challenged;	/* proof holds a value */
};

/*
 * Prover: adds this TPM's "ek" (TPM2B_PUBLIC) and "ek_cert" (DER as its
 * NV index holds it) to @msg (an ATTEST).
 */
int svmigd_cred_add_ek(struct svmigd_tpm *t, struct json_object *msg,
		       char *why, size_t why_len);

/*
 * Verifier: the "ek" and "ek_cert" of the peer's ATTEST @msg: the
 * certificate's key is that EK's and it chains to one of the
 * manufacturer CAs the policy @p names for @h (svmigd_policy_ek_cas_for);
 * a policy that names none refuses.  On success @peer holds the EK.
 */
int svmigd_cred_check_ek(struct json_object *msg,
			 const struct svmigd_policy *p,
			 const struct svmigd_policy_host *h,
			 struct svmigd_cred_peer *peer, char *why,
			 size_t why_len);

/*
 * Verifier: the CHALLENGE for the peer's AK @ak_pub (already checked by
 * svmigd_tpm_ak_check) under @peer's EK, made with our TPM @t; @e is this
 * connection's TLS exporter.  *@msg: a new message.
 */
int svmigd_cred_challenge(struct svmigd_tpm *t, struct svmigd_cred_peer *peer,
			  const uint8_t *ak_pub, size_t ak_pub_len,
			  const uint8_t e[SVMIGD_CRED_E_LEN],
			  struct json_object **msg, char *why, size_t why_len);

/*
 * Prover: answers @challenge with our TPM's AK @ak (what ATTEST sent)
 * and EK: *@msg, a new ACTIVATED.  -EACCES when the TPM cannot activate
 * the credential (it is not for this TPM's EK and AK).
 */
int svmigd_cred_activate(struct svmigd_tpm *t, const struct svmigd_tpm_ak *ak,
			 const uint8_t e[SVMIGD_CRED_E_LEN],
			 struct json_object *challenge,
			 struct json_object **msg, char *why, size_t why_len);

/* A CHALLENGE's fields (exactly "blob" and "secret", hex) into @c. */
int svmigd_cred_parse_challenge(struct json_object *msg,
				struct svmigd_tpm_cred *c, char *why,
				size_t why_len);

/* Verifier: the peer's ACTIVATED @msg carries the expected proof. */
int svmigd_cred_verify(struct svmigd_cred_peer *peer, struct json_object *msg,
		       char *why, size_t why_len);

/* The proof for secret @s (exported for the tests). */
int svmigd_cred_proof(const uint8_t s[SVMIGD_TPM_DIGEST_LEN],
		      const uint8_t e[SVMIGD_CRED_E_LEN],
		      const uint8_t name[SVMIGD_TPM_NAME_LEN],
		      uint8_t proof[SVMIGD_SHA256_LEN]);

#endif /* SVMIGD_CREDENTIAL_H */
