/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between tpm.c and ak.c only: the AK verifier (ak.c) and the helpers of
 * tpm.c it shares.
 */
#ifndef SVMIGD_TPM_INT_H
#define SVMIGD_TPM_INT_H

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpm.h"

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
