// SPDX-License-Identifier: GPL-2.0
/*
 * Test only: $SVMIGD_TEST_WEAK_AK="software:KEY.pem" makes this host
 * present a software AK, for the two-host tests that check peers refuse
 * it (tests/vm/t2_akprov.sh): the AK public area is the TPM AK's, with
 * every attribute an AK must have, but the point of the P-256 key in
 * KEY.pem (made by OpenSSL, outside any TPM); quotes and certifications
 * are the TPM's TPMS_ATTEST re-signed with that key.  Everything a
 * verifier can check on the wire holds, except that no TPM holds the
 * key: credential activation against the host's certified EK fails.
 * Announced on stderr each time it is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tpm.h"
#include "tpm_int.h"

#define SOFT_PREFIX	"software:"

static EVP_PKEY *soft_key(void)
{
	const char *w = getenv("SVMIGD_TEST_WEAK_AK");
	EVP_PKEY *k = NULL;
	FILE *f;

	if (!w || strncmp(w, SOFT_PREFIX, strlen(SOFT_PREFIX)))
		return NULL;
	f = fopen(w + strlen(SOFT_PREFIX), "r");
	if (f) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	ERR_clear_error();
	fprintf(stderr, "svmigd: TEST ONLY: SVMIGD_TEST_WEAK_AK=software: "
		"this host's AK is a software key%s; peers must refuse it\n",
		k ? "" : " (unreadable: TPM errors follow)");
	return k;
}

bool svmigd_tpm_int_test_soft(void)
{
	const char *w = getenv("SVMIGD_TEST_WEAK_AK");

	return w && !strncmp(w, SOFT_PREFIX, strlen(SOFT_PREFIX));
}

int svmigd_tpm_int_test_soft_pub(TPM2B_PUBLIC *pub)
{
	TPMS_ECC_POINT *u = &pub->publicArea.unique.ecc;
	EVP_PKEY *k = soft_key();
	uint8_t pt[SVMIGD_TPM_POINT_LEN];
	size_t n = 0;

	if (!k)
		return SVMIGD_TPM_EINVAL;
	if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					     pt, sizeof(pt), &n) ||
	    n != sizeof(pt) || pt[0] != 0x04) {
		EVP_PKEY_free(k);
		return SVMIGD_TPM_EINVAL;
	}
	EVP_PKEY_free(k);
	u->x.size = 32;
	memcpy(u->x.buffer, pt + 1, 32);
	u->y.size = 32;
	memcpy(u->y.buffer, pt + 33, 32);
	return 0;
}

int svmigd_tpm_int_test_soft_sign(const uint8_t *data, size_t len,
				  uint8_t *sig, size_t *sig_len)
{
	EVP_PKEY *k = soft_key();
	EVP_MD_CTX *md = k ? EVP_MD_CTX_new() : NULL;
	size_t n = SVMIGD_TPM_SIG_MAX;
	int ok;

	ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
	     EVP_DigestSign(md, sig, &n, data, len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	ERR_clear_error();
	if (!ok)
		return SVMIGD_TPM_EINVAL;
	*sig_len = n;
	return 0;
}
