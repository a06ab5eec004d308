/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between tpm.c, ak.c and tpm_verify.c only: the AK verifier (ak.c), the
 * quote and ECDH verifier (tpm_verify.c) and the helpers of tpm.c they
 * share.
 */
#ifndef SVMIGD_TPM_INT_H
#define SVMIGD_TPM_INT_H

#include <pthread.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm.h"

/*
 * One ESAPI context per host, shared by svmigd's threads: @lock makes
 * each exported call that talks to the TPM one critical section (the
 * ESAPI context and its command buffer are not thread-safe, and a ZGen's
 * scrub must follow its ZGen).  The words of the last TSS error are
 * per thread (tpm.c's tpm_err), so that each caller reads its own.
 */
struct svmigd_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	pthread_mutex_t lock;
};

/* tpm.c's helpers: a TSS failure noted, a primary in the endorsement
 * hierarchy, a transient object flushed. */
int svmigd_tpm_int_fail(struct svmigd_tpm *t, const char *what, TSS2_RC rc);
int svmigd_tpm_int_primary(struct svmigd_tpm *t, const TPM2B_PUBLIC *tmpl,
			   ESYS_TR *h, TPM2B_PUBLIC **pub);
void svmigd_tpm_int_flush(struct svmigd_tpm *t, ESYS_TR *h);
/* This host's AK, loaded. */
int svmigd_tpm_int_ak(struct svmigd_tpm *t, ESYS_TR *h);

/* SHA-256 of @n bytes at @p. */
int svmigd_tpm_int_sha256(const void *p, size_t n,
			  uint8_t md[SVMIGD_TPM_DIGEST_LEN]);
/* All of @buf is one TPMS_ATTEST, into @a. */
int svmigd_tpm_int_attest_parse(const uint8_t *buf, size_t len,
				TPMS_ATTEST *a);
/* PCR @idx's value in @p, or NULL. */
const uint8_t *svmigd_tpm_int_pcrs_find(const struct svmigd_tpm_pcrs *p,
					 unsigned int idx);
/* Bitmask of a single-bank sha256 selection; -1 if it is anything else. */
int64_t svmigd_tpm_int_sel_mask(const TPML_PCR_SELECTION *sel);
/* SHA-256 of the values of @mask's PCRs in @p, in ascending index order. */
int svmigd_tpm_int_pcrs_digest(const struct svmigd_tpm_pcrs *p, uint32_t mask,
			       uint8_t md[SVMIGD_TPM_DIGEST_LEN]);

/* SEC1 point of a P-256 public area (not checked on the curve). */
int svmigd_tpm_int_point(const TPMT_PUBLIC *pub,
			 uint8_t point[SVMIGD_TPM_POINT_LEN]);
/* An OpenSSL P-256 key from a SEC1 point, checked on the curve. */
EVP_PKEY *svmigd_tpm_int_pkey(const uint8_t point[SVMIGD_TPM_POINT_LEN]);

/*
 * The AK public area @pub (svmigd_tpm_ak_check) as an OpenSSL key in
 * *@pkey (the caller frees it); *@pkey NULL on refusal.
 */
int svmigd_tpm_ak_pkey(const uint8_t *pub, size_t pub_len,
		       const uint8_t *ak_sha256, EVP_PKEY **pkey,
		       char *why, size_t why_len);

#endif /* SVMIGD_TPM_INT_H */
