/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tests and fuzzers: the AK public area (marshalled TPM2B_PUBLIC, as
 * svmigd sends it) of a software P-256 key, with the attributes of
 * svmigd's AK template unless told otherwise -- i.e. a public area that
 * claims what a TPM's AK would, for a key made outside any TPM.
 */
#ifndef SVMIG_TEST_AKPUB_H
#define SVMIG_TEST_AKPUB_H

#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

/* svmigd's AK template's attributes (userspace/svmigd/tpm.c) */
#define AKPUB_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
		     TPMA_OBJECT_SENSITIVEDATAORIGIN | \
		     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | \
		     TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

/* @k's point in an AK-shaped TPMT_PUBLIC with @attrs; 0 or -1. */
static inline int akpub_area(EVP_PKEY *k, TPMA_OBJECT attrs, TPM2B_PUBLIC *p)
{
	uint8_t pt[65];
	size_t n = 0;

	if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					     pt, sizeof(pt), &n) || n != 65 ||
	    pt[0] != 0x04)
		return -1;
	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = attrs;
	p->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	p->publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg =
		TPM2_ALG_SHA256;
	p->publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->publicArea.unique.ecc.x.size = 32;
	memcpy(p->publicArea.unique.ecc.x.buffer, pt + 1, 32);
	p->publicArea.unique.ecc.y.size = 32;
	memcpy(p->publicArea.unique.ecc.y.buffer, pt + 33, 32);
	return 0;
}

/* @p marshalled into @out (of @size); 0 or -1. */
static inline int akpub_marshal(const TPM2B_PUBLIC *p, uint8_t *out,
				size_t size, size_t *len)
{
	*len = 0;
	return Tss2_MU_TPM2B_PUBLIC_Marshal(p, out, size, len) ==
	       TSS2_RC_SUCCESS ? 0 : -1;
}

static inline int akpub_of(EVP_PKEY *k, TPMA_OBJECT attrs, uint8_t *out,
			   size_t size, size_t *len)
{
	TPM2B_PUBLIC p;

	return akpub_area(k, attrs, &p) ? -1 :
	       akpub_marshal(&p, out, size, len);
}

#endif /* SVMIG_TEST_AKPUB_H */
