// SPDX-License-Identifier: GPL-2.0
/*
 * Salted ESAPI sessions (issue 13, item 2): the commands whose parameters
 * are secrets on the bus between the host and its TPM -- the ECDH ZGen
 * (the peer's point in, Z out) and the NV reads (the authority binding,
 * the EK certificate) -- run with an HMAC session salted with a transient
 * ECC storage primary of the endorsement hierarchy (the ECDH keys'
 * parent, tpm.c), with AES-128-CFB parameter encryption: Z never crosses
 * the bus in clear, and the TPM authenticates each response with a key
 * a passive observer of the bus does not have.  The salt key is the one
 * the TPM gave us (not pinned to a certified key), so an active
 * interposer on the bus that answers CreatePrimary with a key of its own
 * is not excluded (Documentation/svmigd.rst, "Open problems").
 */
#include <tss2/tss2_esys.h>

#include "tpm.h"
#include "tpm_int.h"

int svmigd_tpm_int_salted(struct svmigd_tpm *t, TPMA_SESSION attrs,
			  ESYS_TR *s)
{
	const TPMT_SYM_DEF aes = {
		.algorithm = TPM2_ALG_AES,
		.keyBits.aes = 128,
		.mode.aes = TPM2_ALG_CFB,
	};
	ESYS_TR salt = ESYS_TR_NONE;
	TSS2_RC rc;
	int err;

	*s = ESYS_TR_NONE;
	err = svmigd_tpm_int_srk(t, &salt);
	if (err)
		return err;
	rc = Esys_StartAuthSession(t->esys, salt, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, NULL,
				   TPM2_SE_HMAC, &aes, TPM2_ALG_SHA256, s);
	svmigd_tpm_int_flush(t, &salt);
	if (rc != TSS2_RC_SUCCESS) {
		*s = ESYS_TR_NONE;
		return svmigd_tpm_int_fail(t, "StartAuthSession (salted)", rc);
	}
	rc = Esys_TRSess_SetAttributes(t->esys, *s,
				       attrs | TPMA_SESSION_CONTINUESESSION,
				       0xff);
	if (rc != TSS2_RC_SUCCESS) {
		svmigd_tpm_int_flush(t, s);
		return svmigd_tpm_int_fail(t, "TRSess_SetAttributes", rc);
	}
	return 0;
}
