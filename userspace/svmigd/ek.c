// SPDX-License-Identifier: GPL-2.0
/*
 * The endorsement key (EK) and its certificate, for enrolment (tpm.h,
 * "EK"): the TPM side reads the RSA EK certificate from its TCG NV index
 * and re-creates the EK from the TCG template; the userspace side checks
 * that the certificate chains to one of the manufacturer CAs given and
 * that its public key is that EK's.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <tss2/tss2_mu.h>

#include "tpm.h"
#include "tpm_int.h"

#define EK_NV_CHUNK	512

/*
 * TCG EK Credential Profile 2.0, template L-1: RSA 2048, AES-128-CFB,
 * the endorsement policy (PolicySecret(TPM_RH_ENDORSEMENT)) as authPolicy.
 */
static const TPM2B_PUBLIC ek_rsa_template = {
	.publicArea = {
		.type = TPM2_ALG_RSA,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM |
				    TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN |
				    TPMA_OBJECT_ADMINWITHPOLICY |
				    TPMA_OBJECT_RESTRICTED |
				    TPMA_OBJECT_DECRYPT,
		.authPolicy = {
			.size = 32,
			.buffer = { 0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3,
				    0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5,
				    0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06,
				    0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b,
				    0x33, 0x14, 0x69, 0xaa },
		},
		.parameters.rsaDetail = {
			.symmetric = {
				.algorithm = TPM2_ALG_AES,
				.keyBits.aes = 128,
				.mode.aes = TPM2_ALG_CFB,
			},
			.scheme.scheme = TPM2_ALG_NULL,
			.keyBits = 2048,
			.exponent = 0,
		},
		.unique.rsa.size = 256,
	},
};

static int ek_verdict(char *why, size_t why_len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ek_verdict(char *why, size_t why_len, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	ERR_clear_error();
	return err;
}

/* ---- TPM side ---------------------------------------------------------- */

static int ek_cert_read(struct svmigd_tpm *t, struct svmigd_tpm_ek *ek)
{
	TPM2B_NV_PUBLIC *np = NULL;
	TPM2B_MAX_NV_BUFFER *data = NULL;
	ESYS_TR h = ESYS_TR_NONE, s = ESYS_TR_NONE;
	uint16_t size, off = 0, n;
	TSS2_RC rc;
	int err = 0;

	rc = Esys_TR_FromTPMPublic(t->esys, SVMIGD_TPM_EK_CERT_NV_RSA,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &h);
	if (rc != TSS2_RC_SUCCESS)
		return svmigd_tpm_int_fail(t, "EK certificate NV index", rc);
	rc = Esys_NV_ReadPublic(t->esys, h, ESYS_TR_NONE, ESYS_TR_NONE,
				ESYS_TR_NONE, &np, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		err = svmigd_tpm_int_fail(t, "NV_ReadPublic (EK certificate)", rc);
		goto out;
	}
	size = np->nvPublic.dataSize;
	Esys_Free(np);
	if (!size || size > sizeof(ek->cert)) {
		err = SVMIGD_TPM_ERANGE;
		goto out;
	}
	/* the responses encrypted (tpm_salt.c) */
	err = svmigd_tpm_int_salted(t, TPMA_SESSION_ENCRYPT, &s);
	if (err)
		goto out;
	while (off < size) {
		n = size - off > EK_NV_CHUNK ? EK_NV_CHUNK : size - off;
		rc = Esys_NV_Read(t->esys, h, h, s, ESYS_TR_NONE,
				  ESYS_TR_NONE, n, off, &data);
		if (rc != TSS2_RC_SUCCESS) {
			err = svmigd_tpm_int_fail(t, "NV_Read (EK certificate)", rc);
			goto out;
		}
		if (data->size != n) {
			Esys_Free(data);
			err = SVMIGD_TPM_ERANGE;
			goto out;
		}
		memcpy(ek->cert + off, data->buffer, n);
		Esys_Free(data);
		off += n;
	}
	ek->cert_len = size;
out:
	svmigd_tpm_int_flush(t, &s);
	Esys_TR_Close(t->esys, &h);
	return err;
}

/*
 * The EK, loaded: from the context saved when it was first made (an RSA
 * key generation in the TPM takes seconds on some TPMs), else made from
 * the template and its context saved.  A saved context that no longer
 * loads (the TPM was reset) is dropped.
 */
static int ek_load(struct svmigd_tpm *t, ESYS_TR *h, TPM2B_PUBLIC **pub)
{
	TPMS_CONTEXT *ctx = NULL;
	int err;

	if (t->ek_ctx && !pub) {
		if (Esys_ContextLoad(t->esys, t->ek_ctx, h) == TSS2_RC_SUCCESS)
			return 0;
		Esys_Free(t->ek_ctx);
		t->ek_ctx = NULL;
	}
	*h = ESYS_TR_NONE;
	err = svmigd_tpm_int_primary(t, &ek_rsa_template, h, pub);
	if (err)
		return err;
	if (!t->ek_ctx &&
	    Esys_ContextSave(t->esys, *h, &ctx) == TSS2_RC_SUCCESS)
		t->ek_ctx = ctx;
	return 0;
}

static int tpm_ek_locked(struct svmigd_tpm *t, struct svmigd_tpm_ek *ek)
{
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR h;
	size_t off = 0;
	int err;

	memset(ek, 0, sizeof(*ek));
	if (t->ek) {	/* the EK and its certificate do not change */
		memcpy(ek, t->ek, sizeof(*ek));
		return 0;
	}
	err = ek_cert_read(t, ek);
	if (err)
		return err;
	err = ek_load(t, &h, &pub);
	if (err)
		return err;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, ek->pub, sizeof(ek->pub), &off) !=
	    TSS2_RC_SUCCESS)
		err = SVMIGD_TPM_ERANGE;
	ek->pub_len = off;
	Esys_Free(pub);
	svmigd_tpm_int_flush(t, &h);
	if (!err) {
		t->ek = malloc(sizeof(*t->ek));
		if (t->ek)
			memcpy(t->ek, ek, sizeof(*ek));
	}
	return err;
}

int svmigd_tpm_ek(struct svmigd_tpm *t, struct svmigd_tpm_ek *ek)
{
	int ret;

	if (!t || !ek)
		return SVMIGD_TPM_EINVAL;
	pthread_mutex_lock(&t->lock);
	ret = tpm_ek_locked(t, ek);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

/* ---- credential activation --------------------------------------------- */

static EVP_PKEY *ek_pkey(const uint8_t *pub, size_t len);

static int make_cred_locked(struct svmigd_tpm *t, const TPM2B_PUBLIC *ek,
			    const uint8_t name[SVMIGD_TPM_NAME_LEN],
			    const uint8_t secret[SVMIGD_TPM_DIGEST_LEN],
			    struct svmigd_tpm_cred *c)
{
	TPM2B_DIGEST cred = { .size = SVMIGD_TPM_DIGEST_LEN };
	TPM2B_NAME n = { .size = SVMIGD_TPM_NAME_LEN };
	TPM2B_ID_OBJECT *blob = NULL;
	TPM2B_ENCRYPTED_SECRET *enc = NULL;
	ESYS_TR h = ESYS_TR_NONE;
	size_t off;
	TSS2_RC rc;
	int err = 0;

	memcpy(cred.buffer, secret, SVMIGD_TPM_DIGEST_LEN);
	memcpy(n.name, name, SVMIGD_TPM_NAME_LEN);
	rc = Esys_LoadExternal(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			       NULL, ek, ESYS_TR_RH_NULL, &h);
	if (rc != TSS2_RC_SUCCESS)
		return svmigd_tpm_int_fail(t, "LoadExternal (peer EK)", rc);
	rc = Esys_MakeCredential(t->esys, h, ESYS_TR_NONE, ESYS_TR_NONE,
				 ESYS_TR_NONE, &cred, &n, &blob, &enc);
	if (rc != TSS2_RC_SUCCESS) {
		err = svmigd_tpm_int_fail(t, "MakeCredential", rc);
		goto out;
	}
	off = 0;
	if (Tss2_MU_TPM2B_ID_OBJECT_Marshal(blob, c->blob, sizeof(c->blob),
					    &off) != TSS2_RC_SUCCESS) {
		err = SVMIGD_TPM_ERANGE;
		goto out;
	}
	c->blob_len = off;
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(enc, c->secret,
						   sizeof(c->secret), &off) !=
	    TSS2_RC_SUCCESS) {
		err = SVMIGD_TPM_ERANGE;
		goto out;
	}
	c->secret_len = off;
out:
	Esys_Free(blob);
	Esys_Free(enc);
	svmigd_tpm_int_flush(t, &h);
	return err;
}

int svmigd_tpm_make_credential(struct svmigd_tpm *t, const uint8_t *ek_pub,
			       size_t ek_pub_len,
			       const uint8_t name[SVMIGD_TPM_NAME_LEN],
			       const uint8_t secret[SVMIGD_TPM_DIGEST_LEN],
			       struct svmigd_tpm_cred *c)
{
	TPM2B_PUBLIC ek;
	EVP_PKEY *k;
	size_t off = 0;
	int ret;

	if (!t || !name || !secret || !c)
		return SVMIGD_TPM_EINVAL;
	memset(c, 0, sizeof(*c));
	/* an RSA 2048 EK of the template's shape, as the certificate check */
	k = ek_pkey(ek_pub, ek_pub_len);
	if (!k)
		return SVMIGD_TPM_EEKCERT;
	EVP_PKEY_free(k);
	memset(&ek, 0, sizeof(ek));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(ek_pub, ek_pub_len, &off, &ek) !=
	    TSS2_RC_SUCCESS || off != ek_pub_len)
		return SVMIGD_TPM_EEKCERT;
	pthread_mutex_lock(&t->lock);
	ret = make_cred_locked(t, &ek, name, secret, c);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static int activate_locked(struct svmigd_tpm *t, const TPM2B_ID_OBJECT *blob,
			   const TPM2B_ENCRYPTED_SECRET *enc,
			   uint8_t secret[SVMIGD_TPM_DIGEST_LEN])
{
	const TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	ESYS_TR ak = ESYS_TR_NONE, ek = ESYS_TR_NONE, s = ESYS_TR_NONE;
	TPM2B_DIGEST *out = NULL;
	TSS2_RC rc;
	int err;

	err = svmigd_tpm_int_ak(t, &ak);
	if (err)
		return err;
	err = ek_load(t, &ek, NULL);
	if (err)
		goto out;
	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, TPM2_SE_POLICY, &none,
				   TPM2_ALG_SHA256, &s);
	if (rc != TSS2_RC_SUCCESS) {
		s = ESYS_TR_NONE;
		err = svmigd_tpm_int_fail(t, "StartAuthSession", rc);
		goto out;
	}
	rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, s,
			       ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       NULL, NULL, NULL, 0, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		err = svmigd_tpm_int_fail(t, "PolicySecret (endorsement)", rc);
		goto out;
	}
	rc = Esys_ActivateCredential(t->esys, ak, ek, ESYS_TR_PASSWORD, s,
				     ESYS_TR_NONE, blob, enc, &out);
	if (rc != TSS2_RC_SUCCESS) {
		err = svmigd_tpm_int_fail(t, "ActivateCredential", rc);
		goto out;
	}
	if (out->size != SVMIGD_TPM_DIGEST_LEN)
		err = SVMIGD_TPM_ERANGE;
	else
		memcpy(secret, out->buffer, SVMIGD_TPM_DIGEST_LEN);
	OPENSSL_cleanse(out->buffer, sizeof(out->buffer));
	Esys_Free(out);
out:
	svmigd_tpm_int_flush(t, &s);
	svmigd_tpm_int_flush(t, &ek);
	svmigd_tpm_int_flush(t, &ak);
	return err;
}

int svmigd_tpm_activate(struct svmigd_tpm *t, const struct svmigd_tpm_cred *c,
			uint8_t secret[SVMIGD_TPM_DIGEST_LEN])
{
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET enc;
	size_t off = 0;
	int ret;

	if (!t || !c || !secret)
		return SVMIGD_TPM_EINVAL;
	memset(&blob, 0, sizeof(blob));
	memset(&enc, 0, sizeof(enc));
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(c->blob, c->blob_len, &off,
					      &blob) != TSS2_RC_SUCCESS ||
	    off != c->blob_len)
		return SVMIGD_TPM_EINVAL;
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(c->secret, c->secret_len,
						     &off, &enc) !=
	    TSS2_RC_SUCCESS || off != c->secret_len)
		return SVMIGD_TPM_EINVAL;
	pthread_mutex_lock(&t->lock);
	ret = activate_locked(t, &blob, &enc, secret);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

/* ---- userspace side ---------------------------------------------------- */

/* The RSA key of an EK public area made from the L-1 template. */
static EVP_PKEY *ek_pkey(const uint8_t *pub, size_t len)
{
	TPM2B_PUBLIC p;
	const TPMT_PUBLIC *a = &p.publicArea;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	size_t off = 0;

	memset(&p, 0, sizeof(p));
	if (!pub || Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, len, &off, &p) !=
	    TSS2_RC_SUCCESS || off != len || a->type != TPM2_ALG_RSA ||
	    a->objectAttributes != ek_rsa_template.publicArea.objectAttributes ||
	    a->parameters.rsaDetail.keyBits != 2048 ||
	    a->unique.rsa.size != 256)
		return NULL;
	n = BN_bin2bn(a->unique.rsa.buffer, a->unique.rsa.size, NULL);
	e = BN_new();
	bld = OSSL_PARAM_BLD_new();
	if (!n || !e || !bld ||
	    !BN_set_word(e, a->parameters.rsaDetail.exponent ?
			 a->parameters.rsaDetail.exponent : 65537) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

/*
 * The certificate in @der: one DER X.509, then only padding (0x00 or
 * 0xff: an NV index may be larger than the certificate).
 */
static X509 *ek_cert_parse(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;
	size_t i;

	if (!der || !len || len > SVMIGD_TPM_EK_CERT_MAX)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	if (!x)
		return NULL;
	for (i = (size_t)(p - der); i < len; i++)
		if (der[i] != 0x00 && der[i] != 0xff) {
			X509_free(x);
			return NULL;
		}
	return x;
}

/* Every certificate of the PEM in @bio into @store; how many, or -1. */
static int ca_load_bio(X509_STORE *store, BIO *bio)
{
	X509 *x;
	int n = 0;

	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(store, x) != 1) {
			X509_free(x);
			n = -1;
			break;
		}
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	return bio ? n : -1;
}

/* The CA list: PEM files (@pem false) or PEM texts (@pem true). */
static int ca_load(X509_STORE *store, const char *what, bool pem)
{
	BIO *bio = pem ? BIO_new_mem_buf(what, -1) : BIO_new_file(what, "r");
	int n = ca_load_bio(store, bio);

	BIO_free(bio);
	return n;
}

static int ek_verify(const uint8_t *cert, size_t cert_len,
		     const uint8_t *ek_pub, size_t ek_pub_len,
		     const char *const *cas, size_t n_ca, bool pem,
		     char *why, size_t why_len)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	EVP_PKEY *ek = NULL, *ck;
	X509 *x = NULL;
	size_t i;
	int err, v;

	if (why && why_len)
		why[0] = '\0';
	if (!cas || !n_ca)
		return ek_verdict(why, why_len, SVMIGD_TPM_EINVAL,
				  "no manufacturer CA certificate given");
	x = ek_cert_parse(cert, cert_len);
	if (!x)
		return ek_verdict(why, why_len, SVMIGD_TPM_EEKCERT,
				  "the EK certificate is not one DER X.509 certificate");
	ek = ek_pkey(ek_pub, ek_pub_len);
	if (!ek) {
		err = ek_verdict(why, why_len, SVMIGD_TPM_EEKCERT,
				 "the EK public area is not an RSA 2048 EK (TCG template L-1)");
		goto out;
	}
	ck = X509_get0_pubkey(x);
	if (!ck || EVP_PKEY_eq(ck, ek) != 1) {
		err = ek_verdict(why, why_len, SVMIGD_TPM_EEKCERT,
				 "the EK certificate's public key is not this TPM's EK");
		goto out;
	}
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (!store || !ctx) {
		err = SVMIGD_TPM_ENOMEM;
		goto out;
	}
	for (i = 0; i < n_ca; i++)
		if (!cas[i] || ca_load(store, cas[i], pem) <= 0) {
			err = ek_verdict(why, why_len, SVMIGD_TPM_EINVAL,
					 "%s: no PEM certificate",
					 pem ? "a manufacturer CA of the policy" :
					 cas[i] ? cas[i] : "(null)");
			goto out;
		}
	/* a CA named may be an intermediate (the manufacturer's issuing CA) */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_STORE_CTX_init(ctx, store, x, NULL) != 1) {
		err = SVMIGD_TPM_ECRYPTO;
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		v = X509_STORE_CTX_get_error(ctx);
		err = ek_verdict(why, why_len, SVMIGD_TPM_EEKCA,
				 "the EK certificate does not chain to a listed manufacturer CA: %s",
				 X509_verify_cert_error_string(v));
		goto out;
	}
	err = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	EVP_PKEY_free(ek);
	X509_free(x);
	ERR_clear_error();
	return err;
}

int svmigd_ek_verify(const uint8_t *cert, size_t cert_len,
		     const uint8_t *ek_pub, size_t ek_pub_len,
		     const char *const *ca_files, size_t n_ca,
		     char *why, size_t why_len)
{
	return ek_verify(cert, cert_len, ek_pub, ek_pub_len, ca_files, n_ca,
			 false, why, why_len);
}

int svmigd_ek_verify_pem(const uint8_t *cert, size_t cert_len,
			 const uint8_t *ek_pub, size_t ek_pub_len,
			 const char *const *ca_pems, size_t n_ca,
			 char *why, size_t why_len)
{
	return ek_verify(cert, cert_len, ek_pub, ek_pub_len, ca_pems, n_ca,
			 true, why, why_len);
}
