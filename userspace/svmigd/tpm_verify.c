// SPDX-License-Identifier: GPL-2.0
/*
 * The verifier's side of svmigd's TPM component (tpm.h): a peer's quote
 * and its TPM-certified ECDH key, checked with OpenSSL against the peer's
 * AK (ak.c) and the policy's reference values.  No TPM is used here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <tss2/tss2_mu.h>

#include "tpm.h"
#include "tpm_int.h"

/* What a peer's ECDH key must be: TPM-generated, not duplicable, ECDH. */
#define ECDH_MUST	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
			 TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_DECRYPT)
#define ECDH_MUSTNOT	(TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

/* A verifier's refusal: the code, and the sentence in @why. */
__attribute__((format(printf, 4, 5)))
static int verdict(char *why, size_t why_len, int err, const char *fmt, ...)
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

/* Bitmask of @p's indices; -1 if one is out of range or repeated. */
static int64_t pcrs_mask(const struct svmigd_tpm_pcrs *p)
{
	uint32_t mask = 0;
	unsigned int i;

	if (p->count > SVMIGD_TPM_PCR_COUNT)
		return -1;
	for (i = 0; i < p->count; i++) {
		if (p->index[i] >= SVMIGD_TPM_PCR_COUNT ||
		    (mask & (1u << p->index[i])))
			return -1;
		mask |= 1u << p->index[i];
	}
	return mask;
}

int svmigd_tpm_name(const uint8_t *pub, size_t pub_len,
		    uint8_t name[SVMIGD_TPM_NAME_LEN])
{
	TPMT_PUBLIC p;
	size_t off = 0;

	if (!pub || !name)
		return SVMIGD_TPM_EINVAL;
	memset(&p, 0, sizeof(p));
	if (Tss2_MU_TPMT_PUBLIC_Unmarshal(pub, pub_len, &off, &p) !=
	    TSS2_RC_SUCCESS || off != pub_len || p.nameAlg != TPM2_ALG_SHA256)
		return SVMIGD_TPM_EPUBLIC;
	name[0] = TPM2_ALG_SHA256 >> 8;
	name[1] = TPM2_ALG_SHA256 & 0xff;
	return svmigd_tpm_int_sha256(pub, pub_len, name + 2);
}

/* Does @sig verify with @pkey over SHA-256(@data)?  0 / ESIG / ECRYPTO. */
static int ecdsa_verify(EVP_PKEY *pkey, const uint8_t *data, size_t len,
			const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok, err = SVMIGD_TPM_ECRYPTO;

	if (!ctx)
		return err;
	if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1)
		goto out;
	ok = EVP_DigestVerify(ctx, sig, sig_len, data, len);
	err = ok == 1 ? 0 : SVMIGD_TPM_ESIG;
out:
	EVP_MD_CTX_free(ctx);
	return err;
}

/* The AK (public area, enrolled digest) and its signature over @attest. */
static int check_sig(const uint8_t *ak_pub, size_t ak_pub_len,
		     const uint8_t *ak_sha256, const uint8_t *attest,
		     size_t attest_len, const uint8_t *sig, size_t sig_len,
		     char *why, size_t why_len)
{
	EVP_PKEY *pkey;
	int err;

	err = svmigd_tpm_ak_pkey(ak_pub, ak_pub_len, ak_sha256, &pkey, why,
				 why_len);
	if (err)
		return err;
	err = ecdsa_verify(pkey, attest, attest_len, sig, sig_len);
	EVP_PKEY_free(pkey);
	if (err)
		return verdict(why, why_len, err, "%s",
			       err == SVMIGD_TPM_ESIG ?
			       "the signature does not verify with the AK" :
			       "cannot verify the signature");
	return 0;
}

/* Checks shared by quotes and certifications, up to extraData. */
static int check_attest(const uint8_t *ak_pub, size_t ak_pub_len,
			const uint8_t *ak_sha256, const uint8_t *attest,
			size_t attest_len, const uint8_t *sig, size_t sig_len,
			const uint8_t qual[SVMIGD_TPM_QUAL_LEN], TPM2_ST type,
			TPMS_ATTEST *a, char *why, size_t why_len)
{
	int err;

	if (!attest || !attest_len || attest_len > SVMIGD_TPM_ATTEST_MAX ||
	    !sig || !sig_len || sig_len > SVMIGD_TPM_SIG_MAX || !qual)
		return verdict(why, why_len, SVMIGD_TPM_EINVAL,
			       "missing or oversized attestation");
	err = check_sig(ak_pub, ak_pub_len, ak_sha256, attest, attest_len,
			sig, sig_len, why, why_len);
	if (err)
		return err;
	if (svmigd_tpm_int_attest_parse(attest, attest_len, a))
		return verdict(why, why_len, SVMIGD_TPM_EATTEST,
			       "the attestation structure does not unmarshal");
	if (a->magic != TPM2_GENERATED_VALUE)
		return verdict(why, why_len, SVMIGD_TPM_EMAGIC,
			       "magic 0x%08x is not TPM_GENERATED_VALUE",
			       (unsigned int)a->magic);
	if (a->type != type)
		return verdict(why, why_len, SVMIGD_TPM_ETYPE,
			       "attestation type 0x%04x, expected 0x%04x",
			       (unsigned int)a->type, (unsigned int)type);
	if (a->extraData.size != SVMIGD_TPM_QUAL_LEN ||
	    CRYPTO_memcmp(a->extraData.buffer, qual, SVMIGD_TPM_QUAL_LEN))
		return verdict(why, why_len, SVMIGD_TPM_EQUAL,
			       "the qualifying data is not this session's");
	return 0;
}

/* Selection == the reported PCRs == the reference PCRs. */
static int check_selection(const TPMS_QUOTE_INFO *qi,
			   const struct svmigd_tpm_pcrs *got,
			   const struct svmigd_tpm_pcrs *ref,
			   char *why, size_t why_len)
{
	int64_t sel = svmigd_tpm_int_sel_mask(&qi->pcrSelect);
	int64_t have = pcrs_mask(got), want = pcrs_mask(ref);

	if (want <= 0)
		return verdict(why, why_len, SVMIGD_TPM_EINVAL,
			       "bad reference PCR set");
	if (sel < 0)
		return verdict(why, why_len, SVMIGD_TPM_EPCRSEL,
			       "the quote selects PCRs outside sha256 0-23");
	if (have != sel)
		return verdict(why, why_len, SVMIGD_TPM_EPCRSEL,
			       "the PCR values sent are not the quoted ones");
	if (sel != want)
		return verdict(why, why_len, SVMIGD_TPM_EPCRSEL,
			       "the quote covers PCRs 0x%06x, the policy 0x%06x",
			       (unsigned int)sel, (unsigned int)want);
	return 0;
}

static int check_pcrs(const TPMS_QUOTE_INFO *qi,
		      const struct svmigd_tpm_pcrs *got,
		      const struct svmigd_tpm_pcrs *ref,
		      char *why, size_t why_len)
{
	uint8_t md[SVMIGD_TPM_DIGEST_LEN];
	const uint8_t *v;
	unsigned int i;
	int err;

	err = check_selection(qi, got, ref, why, why_len);
	if (err)
		return err;
	err = svmigd_tpm_int_pcrs_digest(got, (uint32_t)pcrs_mask(got), md);
	if (err)
		return verdict(why, why_len, err, "cannot hash the PCR values");
	if (qi->pcrDigest.size != sizeof(md) ||
	    CRYPTO_memcmp(qi->pcrDigest.buffer, md, sizeof(md)))
		return verdict(why, why_len, SVMIGD_TPM_EPCRDIGEST,
			       "the quoted PCR digest does not match the PCR values");
	for (i = 0; i < ref->count; i++) {
		v = svmigd_tpm_int_pcrs_find(got, ref->index[i]);
		if (!v || memcmp(v, ref->value[i], SVMIGD_TPM_DIGEST_LEN))
			return verdict(why, why_len, SVMIGD_TPM_EPCRREF,
				       "PCR %u differs from its reference value",
				       ref->index[i]);
	}
	return 0;
}

int svmigd_tpm_verify_quote(const uint8_t *ak_pub, size_t ak_pub_len,
			    const uint8_t *ak_sha256,
			    const struct svmigd_tpm_quote *q,
			    const uint8_t qual[SVMIGD_TPM_QUAL_LEN],
			    const struct svmigd_tpm_pcrs *ref,
			    char *why, size_t why_len)
{
	TPMS_ATTEST a;
	int err;

	if (why && why_len)
		why[0] = '\0';
	if (!q || !ref)
		return verdict(why, why_len, SVMIGD_TPM_EINVAL, "no quote");
	err = check_attest(ak_pub, ak_pub_len, ak_sha256, q->attest,
			   q->attest_len, q->sig, q->sig_len, qual,
			   TPM2_ST_ATTEST_QUOTE, &a, why, why_len);
	if (err)
		return err;
	return check_pcrs(&a.attested.quote, &q->pcrs, ref, why, why_len);
}

/* A peer's ECDH public area: what our template makes, on the curve. */
static int check_ecdh_pub(const uint8_t *pub, size_t pub_len,
			  uint8_t point[SVMIGD_TPM_POINT_LEN])
{
	const TPMS_ECC_PARMS *e;
	TPMT_PUBLIC p;
	EVP_PKEY *pkey;
	size_t off = 0;

	memset(&p, 0, sizeof(p));
	if (!pub || !pub_len || pub_len > SVMIGD_TPM_PUBLIC_MAX ||
	    Tss2_MU_TPMT_PUBLIC_Unmarshal(pub, pub_len, &off, &p) !=
	    TSS2_RC_SUCCESS || off != pub_len)
		return SVMIGD_TPM_EPUBLIC;
	e = &p.parameters.eccDetail;
	if (p.type != TPM2_ALG_ECC || p.nameAlg != TPM2_ALG_SHA256 ||
	    (p.objectAttributes & ECDH_MUST) != ECDH_MUST ||
	    (p.objectAttributes & ECDH_MUSTNOT) ||
	    e->curveID != TPM2_ECC_NIST_P256 ||
	    e->scheme.scheme != TPM2_ALG_ECDH ||
	    e->kdf.scheme != TPM2_ALG_NULL)
		return SVMIGD_TPM_EPUBLIC;
	if (svmigd_tpm_int_point(&p, point))
		return SVMIGD_TPM_EPUBLIC;
	pkey = svmigd_tpm_int_pkey(point);
	if (!pkey)
		return SVMIGD_TPM_EPUBLIC;
	EVP_PKEY_free(pkey);
	return 0;
}

int svmigd_tpm_verify_ecdh(const uint8_t *ak_pub, size_t ak_pub_len,
			   const uint8_t *ak_sha256,
			   const struct svmigd_tpm_ecdh_cert *cert,
			   const uint8_t qual[SVMIGD_TPM_QUAL_LEN],
			   uint8_t point[SVMIGD_TPM_POINT_LEN],
			   char *why, size_t why_len)
{
	uint8_t name[SVMIGD_TPM_NAME_LEN], pt[SVMIGD_TPM_POINT_LEN];
	const TPM2B_NAME *certified;
	TPMS_ATTEST a;
	int err;

	if (why && why_len)
		why[0] = '\0';
	if (!cert || !point)
		return verdict(why, why_len, SVMIGD_TPM_EINVAL, "no certification");
	err = check_attest(ak_pub, ak_pub_len, ak_sha256, cert->attest,
			   cert->attest_len, cert->sig, cert->sig_len, qual,
			   TPM2_ST_ATTEST_CERTIFY, &a, why, why_len);
	if (err)
		return err;
	if (check_ecdh_pub(cert->pub, cert->pub_len, pt) ||
	    svmigd_tpm_name(cert->pub, cert->pub_len, name))
		return verdict(why, why_len, SVMIGD_TPM_EPUBLIC,
			       "the ECDH public area is not a TPM-bound P-256 ECDH key");
	certified = &a.attested.certify.name;
	if (certified->size != sizeof(name) ||
	    memcmp(certified->name, name, sizeof(name)))
		return verdict(why, why_len, SVMIGD_TPM_ENAME,
			       "the certified key is not the one sent");
	memcpy(point, pt, sizeof(pt));
	return 0;
}
