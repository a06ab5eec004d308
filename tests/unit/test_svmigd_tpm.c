// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd's TPM component (userspace/svmigd/tpm.c) against two fresh swtpms
 * ("A" and "B", i.e. two hosts): the AK, quotes and their verifier, the
 * certified ECDH keys and their verifier, ZGen agreement, and that no
 * transient object is left in the TPM.  Skipped when swtpm is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "akpub.h"
#include "swtpm.h"
#include "tpm.h"

static struct swtpm tpm_a, tpm_b;
static int have_swtpm;

static const unsigned int quote_pcrs[] = { 0, 7, 16 };
#define NQUOTE	(sizeof(quote_pcrs) / sizeof(quote_pcrs[0]))

/* TPM2_TRANSIENT_FIRST shifts 0x80 into an int's sign bit (UBSan) */
#define TRANSIENT_FIRST	0x80000000u

static void fill(uint8_t *p, size_t n, uint8_t first)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(first + 7 * i);
}

static struct svmigd_tpm *open_tpm(const struct swtpm *s)
{
	struct svmigd_tpm *t = NULL;

	assert_int_equal(svmigd_tpm_open(s->tcti, &t), 0);
	assert_non_null(t);
	return t;
}

/* Transient objects loaded in the TPM, seen through a context of its own. */
static unsigned int transients(const struct swtpm *s)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *esys = NULL;
	TPMI_YES_NO more;
	unsigned int n;

	assert_int_equal(Tss2_TctiLdr_Initialize(s->tcti, &tcti), 0);
	assert_int_equal(Esys_Initialize(&esys, tcti, NULL), 0);
	assert_int_equal(Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE,
					    ESYS_TR_NONE, TPM2_CAP_HANDLES,
					    TRANSIENT_FIRST, 64, &more,
					    &cap), 0);
	n = cap->data.handles.count;
	Esys_Free(cap);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tcti);
	return n;
}

#define SKIP_WITHOUT_SWTPM()	do { if (!have_swtpm) skip(); } while (0)

/* Check the TPMs are clean after each test. */
static int teardown_test(void **state)
{
	(void)state;
	if (!have_swtpm)
		return 0;
	if (transients(&tpm_a) || transients(&tpm_b))
		return -1;
	return 0;
}

static void get_ak(const struct swtpm *s, struct svmigd_tpm_ak *ak)
{
	struct svmigd_tpm *t = open_tpm(s);

	assert_int_equal(svmigd_tpm_ak(t, ak), 0);
	svmigd_tpm_close(t);
}

/* Quote @s's quote_pcrs with @qual; @ref (optional) gets them read. */
static void get_quote(const struct swtpm *s, const uint8_t *qual,
		      struct svmigd_tpm_quote *q, struct svmigd_tpm_pcrs *ref)
{
	struct svmigd_tpm *t = open_tpm(s);

	assert_int_equal(svmigd_tpm_quote(t, qual, quote_pcrs, NQUOTE, q), 0);
	if (ref)
		assert_int_equal(svmigd_tpm_pcr_read(t, quote_pcrs, NQUOTE, ref), 0);
	svmigd_tpm_close(t);
}

/*
 * A software P-256 key and the AK public area it would claim: all of the
 * AK's attributes, which nothing but credential activation could refute.
 */
static EVP_PKEY *soft_key(uint8_t der[SVMIGD_TPM_PUBLIC_MAX], size_t *der_len)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	assert_int_equal(akpub_of(k, AKPUB_ATTRS, der, SVMIGD_TPM_PUBLIC_MAX,
				  der_len), 0);
	return k;
}

/* Sign @data with @k (ECDSA/SHA-256, DER) into @sig. */
static void soft_sign(EVP_PKEY *k, const uint8_t *data, size_t len,
		      uint8_t sig[SVMIGD_TPM_SIG_MAX], size_t *sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(ctx);
	*sig_len = SVMIGD_TPM_SIG_MAX;
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, sig_len, data, len), 1);
	EVP_MD_CTX_free(ctx);
}

/* ---- tests -------------------------------------------------------------- */

static void test_strerror(void **state)
{
	static const int codes[] = {
		SVMIGD_TPM_EINVAL, SVMIGD_TPM_ENOMEM, SVMIGD_TPM_ETPM,
		SVMIGD_TPM_ECRYPTO, SVMIGD_TPM_ERANGE, SVMIGD_TPM_EAGAIN,
		SVMIGD_TPM_EBOUND, SVMIGD_TPM_ENVINDEX, SVMIGD_TPM_EAK, SVMIGD_TPM_EAKKEY, SVMIGD_TPM_ESIG,
		SVMIGD_TPM_EATTEST, SVMIGD_TPM_EMAGIC, SVMIGD_TPM_ETYPE,
		SVMIGD_TPM_EQUAL, SVMIGD_TPM_EPCRSEL, SVMIGD_TPM_EPCRDIGEST,
		SVMIGD_TPM_EPCRREF, SVMIGD_TPM_EPUBLIC, SVMIGD_TPM_ENAME,
		SVMIGD_TPM_EAKATTR, SVMIGD_TPM_EEKCERT, SVMIGD_TPM_EEKCA,
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_string_not_equal(svmigd_tpm_strerror(codes[i]),
					"unknown error");
		for (j = 0; j < i; j++)
			assert_int_not_equal(codes[i], codes[j]);
	}
	assert_string_equal(svmigd_tpm_strerror(-1000), "unknown error");
	assert_string_equal(svmigd_tpm_strerror(7), "unknown error");
}

/* Same AK in two contexts of the same TPM, another on the other TPM. */
static void test_ak_stable(void **state)
{
	struct svmigd_tpm_ak a1, a2, b;
	uint8_t md[32];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	get_ak(&tpm_a, &a1);
	get_ak(&tpm_a, &a2);
	get_ak(&tpm_b, &b);
	/* TPM2B_PUBLIC: size || TPMT_PUBLIC (ECC P-256, empty authPolicy) */
	assert_int_equal(a1.pub_len, 90);
	assert_int_equal(a1.pub[0] << 8 | a1.pub[1], 88);
	assert_int_equal(a1.pub_len, a2.pub_len);
	assert_memory_equal(a1.pub, a2.pub, a1.pub_len);
	assert_memory_equal(a1.sha256, a2.sha256, 32);
	assert_memory_not_equal(a1.sha256, b.sha256, 32);
	/* the digest: SHA-256 of the TPMT_PUBLIC, the AK's Name digest */
	assert_int_equal(EVP_Digest(a1.pub + 2, a1.pub_len - 2, md, NULL,
				    EVP_sha256(), NULL), 1);
	assert_memory_equal(md, a1.sha256, 32);
	assert_int_equal(svmigd_tpm_ak_digest(a1.pub, a1.pub_len, md), 0);
	assert_memory_equal(md, a1.sha256, 32);
	assert_int_equal(svmigd_tpm_ak_check(a1.pub, a1.pub_len, a1.sha256,
					     NULL, 0), 0);
}

static void test_quote_verifies(void **state)
{
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_quote q;
	struct svmigd_tpm_ak ak;
	uint8_t qual[32];
	char why[128] = "stale";
	unsigned int i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 1);
	get_ak(&tpm_a, &ak);
	get_quote(&tpm_a, qual, &q, &ref);
	assert_int_equal(q.pcrs.count, NQUOTE);
	assert_int_equal(ref.count, NQUOTE);
	for (i = 0; i < NQUOTE; i++)
		assert_int_equal(q.pcrs.index[i], quote_pcrs[i]);
	assert_memory_equal(&q.pcrs, &ref, sizeof(ref));
	assert_true(q.sig_len >= 8 && q.sig_len <= SVMIGD_TPM_SIG_MAX);
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &q, qual, &ref, why,
						 sizeof(why)), 0);
	assert_string_equal(why, "");
	/* without the enrolment check, and without a reason buffer */
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, NULL, &q,
						 qual, &ref, NULL, 0), 0);
}

/* All 24 PCRs: PCR_Read returns at most 8 per call. */
static void test_quote_all_pcrs(void **state)
{
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_quote q;
	struct svmigd_tpm_ak ak;
	struct svmigd_tpm *t;
	unsigned int idx[24], i;
	uint8_t qual[32];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	for (i = 0; i < 24; i++)
		idx[i] = 23 - i;	/* any order */
	fill(qual, sizeof(qual), 2);
	t = open_tpm(&tpm_a);
	assert_int_equal(svmigd_tpm_ak(t, &ak), 0);
	assert_int_equal(svmigd_tpm_quote(t, qual, idx, 24, &q), 0);
	assert_int_equal(svmigd_tpm_pcr_read(t, idx, 24, &ref), 0);
	svmigd_tpm_close(t);
	assert_int_equal(q.pcrs.count, 24);
	for (i = 0; i < 24; i++)
		assert_int_equal(q.pcrs.index[i], i);
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &q, qual, &ref, NULL, 0), 0);
}

static void test_bad_arguments(void **state)
{
	static const unsigned int dup[] = { 7, 7 }, big[] = { 24 };
	struct svmigd_tpm_quote q;
	struct svmigd_tpm *t;
	uint8_t qual[32] = { 0 }, d[32] = { 0 };

	(void)state;
	SKIP_WITHOUT_SWTPM();
	t = open_tpm(&tpm_a);
	assert_int_equal(svmigd_tpm_quote(t, qual, dup, 2, &q), SVMIGD_TPM_EINVAL);
	assert_int_equal(svmigd_tpm_quote(t, qual, big, 1, &q), SVMIGD_TPM_EINVAL);
	assert_int_equal(svmigd_tpm_quote(t, qual, dup, 0, &q), SVMIGD_TPM_EINVAL);
	assert_int_equal(svmigd_tpm_quote(t, NULL, dup, 1, &q), SVMIGD_TPM_EINVAL);
	assert_int_equal(svmigd_tpm_pcr_extend(t, 24, d), SVMIGD_TPM_EINVAL);
	svmigd_tpm_close(t);
}

/* A quote replayed into another session (other qualifying data). */
static void test_quote_wrong_nonce(void **state)
{
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_quote q;
	struct svmigd_tpm_ak ak;
	uint8_t qual[32], other[32];
	char why[128];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 3);
	memcpy(other, qual, sizeof(other));
	other[31] ^= 1;
	get_ak(&tpm_a, &ak);
	get_quote(&tpm_a, qual, &q, &ref);
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &q, other, &ref, why,
						 sizeof(why)), SVMIGD_TPM_EQUAL);
	assert_non_null(strstr(why, "qualifying"));
}

/* PCR 16 extended: the new quote no longer matches the old reference. */
static void test_quote_changed_pcr(void **state)
{
	struct svmigd_tpm_quote old, q, lie;
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_ak ak;
	struct svmigd_tpm *t;
	uint8_t qual[32], d[32];
	char why[128];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 4);
	fill(d, sizeof(d), 0x40);
	get_ak(&tpm_a, &ak);
	get_quote(&tpm_a, qual, &old, &ref);
	t = open_tpm(&tpm_a);
	assert_int_equal(svmigd_tpm_pcr_extend(t, 16, d), 0);
	svmigd_tpm_close(t);
	get_quote(&tpm_a, qual, &q, NULL);
	assert_memory_not_equal(q.pcrs.value[2], ref.value[2], 32);
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &q, qual, &ref, why,
						 sizeof(why)), SVMIGD_TPM_EPCRREF);
	assert_non_null(strstr(why, "PCR 16"));
	/* claiming the old values: they do not hash to the quoted digest */
	lie = q;
	lie.pcrs = ref;
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &lie, qual, &ref, why,
						 sizeof(why)), SVMIGD_TPM_EPCRDIGEST);
	/* the old quote is still a valid quote of the old state */
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &old, qual, &ref, NULL, 0), 0);
}

/* Quote and reference must cover the same PCRs. */
static void test_quote_selection(void **state)
{
	struct svmigd_tpm_quote q, fewer;
	struct svmigd_tpm_pcrs ref, ref2;
	struct svmigd_tpm_ak ak;
	uint8_t qual[32];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 5);
	get_ak(&tpm_a, &ak);
	get_quote(&tpm_a, qual, &q, &ref);
	ref2 = ref;
	ref2.count = 2;		/* the policy wants PCRs 0 and 7 only */
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &q, qual, &ref2, NULL, 0),
			 SVMIGD_TPM_EPCRSEL);
	fewer = q;
	fewer.pcrs.count = 2;	/* a PCR value missing */
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &fewer, qual, &ref, NULL, 0),
			 SVMIGD_TPM_EPCRSEL);
	ref2.count = 0;
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &q, qual, &ref2, NULL, 0),
			 SVMIGD_TPM_EINVAL);
}

/* Any byte of the attest or signature changed: the signature fails. */
static void test_quote_tampered(void **state)
{
	struct svmigd_tpm_quote q, bad;
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_ak ak;
	uint8_t qual[32];
	size_t i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 6);
	get_ak(&tpm_a, &ak);
	get_quote(&tpm_a, qual, &q, &ref);
	for (i = 0; i < q.attest_len; i++) {
		bad = q;
		bad.attest[i] ^= 0x01;
		assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len,
							 ak.sha256, &bad, qual,
							 &ref, NULL, 0),
				 SVMIGD_TPM_ESIG);
	}
	bad = q;
	bad.sig[bad.sig_len - 1] ^= 0x01;
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &bad, qual, &ref, NULL, 0),
			 SVMIGD_TPM_ESIG);
	bad = q;
	bad.attest_len--;
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &bad, qual, &ref, NULL, 0),
			 SVMIGD_TPM_ESIG);
}

/* Signed by a software key: refused with the AK, or as not enrolled. */
static void test_quote_other_signer(void **state)
{
	uint8_t qual[32], der[SVMIGD_TPM_PUBLIC_MAX];
	struct svmigd_tpm_quote q, forged;
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_ak ak;
	size_t der_len;
	EVP_PKEY *k;
	char why[128];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 7);
	get_ak(&tpm_a, &ak);
	get_quote(&tpm_a, qual, &q, &ref);
	k = soft_key(der, &der_len);
	forged = q;
	soft_sign(k, forged.attest, forged.attest_len, forged.sig,
		  &forged.sig_len);
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &forged, qual, &ref, why,
						 sizeof(why)), SVMIGD_TPM_ESIG);
	assert_non_null(strstr(why, "signature"));
	assert_int_equal(svmigd_tpm_verify_quote(der, der_len, ak.sha256,
						 &forged, qual, &ref, why,
						 sizeof(why)), SVMIGD_TPM_EAK);
	/* not TPM-generated: caught once the signature is the key's */
	forged.attest[0] ^= 0x80;
	soft_sign(k, forged.attest, forged.attest_len, forged.sig,
		  &forged.sig_len);
	assert_int_equal(svmigd_tpm_verify_quote(der, der_len, NULL, &forged,
						 qual, &ref, NULL, 0),
			 SVMIGD_TPM_EMAGIC);
	EVP_PKEY_free(k);
}

/* A quote by TPM B presented with TPM A's AK, and malformed AKs. */
static void test_quote_wrong_ak(void **state)
{
	struct svmigd_tpm_ak ak_a, ak_b;
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_quote q;
	uint8_t qual[32], junk[91];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 8);
	get_ak(&tpm_a, &ak_a);
	get_ak(&tpm_b, &ak_b);
	get_quote(&tpm_b, qual, &q, &ref);
	assert_int_equal(svmigd_tpm_verify_quote(ak_b.pub, ak_b.pub_len,
						 ak_b.sha256, &q, qual, &ref,
						 NULL, 0), 0);
	assert_int_equal(svmigd_tpm_verify_quote(ak_a.pub, ak_a.pub_len, NULL,
						 &q, qual, &ref, NULL, 0),
			 SVMIGD_TPM_ESIG);
	assert_int_equal(svmigd_tpm_verify_quote(ak_b.pub, ak_b.pub_len,
						 ak_a.sha256, &q, qual, &ref,
						 NULL, 0), SVMIGD_TPM_EAK);
	fill(junk, sizeof(junk), 9);
	assert_int_equal(svmigd_tpm_verify_quote(junk, sizeof(junk), NULL, &q,
						 qual, &ref, NULL, 0),
			 SVMIGD_TPM_EAKKEY);
	assert_int_equal(svmigd_tpm_verify_quote(ak_b.pub, ak_b.pub_len - 1,
						 NULL, &q, qual, &ref, NULL, 0),
			 SVMIGD_TPM_EAKKEY);
}

/* @k's AK public area with @attrs, checked: the verdict and its reason. */
static int crafted(EVP_PKEY *k, TPMA_OBJECT attrs, char *why, size_t why_len)
{
	uint8_t pub[SVMIGD_TPM_PUBLIC_MAX];
	size_t len;

	assert_int_equal(akpub_of(k, attrs, pub, sizeof(pub), &len), 0);
	return svmigd_tpm_ak_check(pub, len, NULL, why, why_len);
}

/*
 * Crafted AK public areas (no TPM): each required attribute missing,
 * decrypt set, other algorithms, malformed and trailing bytes, the digest.
 */
static void test_ak_public_crafted(void **state)
{
	static const struct {
		TPMA_OBJECT bit;
		const char *name;
	} must[] = {
		{ TPMA_OBJECT_FIXEDTPM, "fixedTPM" },
		{ TPMA_OBJECT_FIXEDPARENT, "fixedParent" },
		{ TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin" },
		{ TPMA_OBJECT_RESTRICTED, "restricted" },
		{ TPMA_OBJECT_SIGN_ENCRYPT, "sign" },
	};
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t pub[SVMIGD_TPM_PUBLIC_MAX + 1], md[32], other[32];
	TPM2B_PUBLIC p;
	char why[256];
	size_t len, i;

	(void)state;
	assert_non_null(k);
	/* the honest shape is accepted, with its digest enrolled */
	assert_int_equal(crafted(k, AKPUB_ATTRS, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(akpub_of(k, AKPUB_ATTRS, pub, sizeof(pub), &len), 0);
	assert_int_equal(svmigd_tpm_ak_digest(pub, len, md), 0);
	assert_int_equal(svmigd_tpm_ak_check(pub, len, md, NULL, 0), 0);
	memcpy(other, md, sizeof(md));
	other[5] ^= 1;
	assert_int_equal(svmigd_tpm_ak_check(pub, len, other, why, sizeof(why)),
			 SVMIGD_TPM_EAK);
	assert_non_null(strstr(why, "enrolled"));
	/* each attribute missing: refused, named */
	for (i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		assert_int_equal(crafted(k, AKPUB_ATTRS & ~must[i].bit, why,
					 sizeof(why)), SVMIGD_TPM_EAKATTR);
		assert_non_null(strstr(why, must[i].name));
		assert_non_null(strstr(why, "refused"));
	}
	assert_int_equal(crafted(k, AKPUB_ATTRS | TPMA_OBJECT_DECRYPT, why,
				 sizeof(why)), SVMIGD_TPM_EAKATTR);
	assert_non_null(strstr(why, "decrypt"));
	/* other algorithms */
	assert_int_equal(akpub_area(k, AKPUB_ATTRS, &p), 0);
	p.publicArea.nameAlg = TPM2_ALG_SHA1;
	assert_int_equal(akpub_marshal(&p, pub, sizeof(pub), &len), 0);
	assert_int_equal(svmigd_tpm_ak_check(pub, len, NULL, why, sizeof(why)),
			 SVMIGD_TPM_EAKKEY);
	assert_non_null(strstr(why, "name algorithm"));
	assert_int_equal(akpub_area(k, AKPUB_ATTRS, &p), 0);
	p.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	assert_int_equal(akpub_marshal(&p, pub, sizeof(pub), &len), 0);
	assert_int_equal(svmigd_tpm_ak_check(pub, len, NULL, NULL, 0),
			 SVMIGD_TPM_EAKKEY);
	assert_int_equal(akpub_area(k, AKPUB_ATTRS, &p), 0);
	p.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
	assert_int_equal(akpub_marshal(&p, pub, sizeof(pub), &len), 0);
	assert_int_equal(svmigd_tpm_ak_check(pub, len, NULL, NULL, 0),
			 SVMIGD_TPM_EAKKEY);
	/* a point off the curve */
	assert_int_equal(akpub_area(k, AKPUB_ATTRS, &p), 0);
	p.publicArea.unique.ecc.y.buffer[31] ^= 1;
	assert_int_equal(akpub_marshal(&p, pub, sizeof(pub), &len), 0);
	assert_int_equal(svmigd_tpm_ak_check(pub, len, NULL, why, sizeof(why)),
			 SVMIGD_TPM_EAKKEY);
	assert_non_null(strstr(why, "curve"));
	/* trailing junk, truncation, a size field that lies */
	assert_int_equal(akpub_of(k, AKPUB_ATTRS, pub, sizeof(pub), &len), 0);
	pub[len] = 0;
	assert_int_equal(svmigd_tpm_ak_check(pub, len + 1, NULL, why,
					     sizeof(why)), SVMIGD_TPM_EAKKEY);
	assert_non_null(strstr(why, "TPM2B_PUBLIC"));
	for (i = 0; i < len; i++)
		assert_int_equal(svmigd_tpm_ak_check(pub, i, NULL, NULL, 0),
				 SVMIGD_TPM_EAKKEY);
	pub[1]++;		/* size one more, one junk byte after */
	assert_int_equal(svmigd_tpm_ak_check(pub, len + 1, NULL, NULL, 0),
			 SVMIGD_TPM_EAKKEY);
	pub[1] -= 2;		/* size one less */
	assert_int_equal(svmigd_tpm_ak_check(pub, len, NULL, NULL, 0),
			 SVMIGD_TPM_EAKKEY);
	assert_int_equal(svmigd_tpm_ak_digest(pub, len, md), SVMIGD_TPM_EAKKEY);
	assert_int_equal(svmigd_tpm_ak_check(NULL, 0, NULL, NULL, 0),
			 SVMIGD_TPM_EAKKEY);
	EVP_PKEY_free(k);
}

/*
 * A TPM AK made without restricted (svmigd's test knob): the TPM's own
 * quote, signed by it, is refused for the attribute.
 */
static void test_ak_unrestricted(void **state)
{
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_quote q;
	struct svmigd_tpm_ak ak, weak;
	uint8_t qual[32];
	char why[256];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 10);
	get_ak(&tpm_a, &ak);
	assert_int_equal(setenv("SVMIGD_TEST_WEAK_AK", "unrestricted", 1), 0);
	get_ak(&tpm_a, &weak);
	get_quote(&tpm_a, qual, &q, &ref);
	assert_int_equal(unsetenv("SVMIGD_TEST_WEAK_AK"), 0);
	assert_memory_not_equal(ak.sha256, weak.sha256, 32);
	assert_int_equal(svmigd_tpm_verify_quote(weak.pub, weak.pub_len,
						 weak.sha256, &q, qual, &ref,
						 why, sizeof(why)),
			 SVMIGD_TPM_EAKATTR);
	assert_non_null(strstr(why, "not restricted"));
	/* and the honest AK did not sign it */
	assert_int_equal(svmigd_tpm_verify_quote(ak.pub, ak.pub_len, ak.sha256,
						 &q, qual, &ref, NULL, 0),
			 SVMIGD_TPM_ESIG);
}

/* Both hosts make, certify, exchange and check ECDH keys; Z agrees. */
static void test_ecdh_agree(void **state)
{
	uint8_t qual[32], pa[65], pb[65], mine[65], za[32], zb[32], zero[32];
	struct svmigd_tpm_ecdh_cert ca, cb;
	struct svmigd_tpm_ecdh *ka, *kb;
	struct svmigd_tpm_ak ak_a, ak_b;
	struct svmigd_tpm *ta, *tb;
	char why[128] = "stale";

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 10);
	memset(zero, 0, sizeof(zero));
	ta = open_tpm(&tpm_a);
	tb = open_tpm(&tpm_b);
	assert_int_equal(svmigd_tpm_ak(ta, &ak_a), 0);
	assert_int_equal(svmigd_tpm_ak(tb, &ak_b), 0);
	assert_int_equal(svmigd_tpm_ecdh_create(ta, qual, &ka, &ca), 0);
	assert_int_equal(svmigd_tpm_ecdh_create(tb, qual, &kb, &cb), 0);
	/* each verifies the other's */
	assert_int_equal(svmigd_tpm_verify_ecdh(ak_b.pub, ak_b.pub_len,
						ak_b.sha256, &cb, qual, pb, why,
						sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(svmigd_tpm_verify_ecdh(ak_a.pub, ak_a.pub_len,
						ak_a.sha256, &ca, qual, pa,
						NULL, 0), 0);
	assert_int_equal(svmigd_tpm_ecdh_point(ka, mine), 0);
	assert_memory_equal(mine, pa, 65);
	assert_int_equal(svmigd_tpm_ecdh_zgen(ka, pb, za), 0);
	assert_int_equal(svmigd_tpm_ecdh_zgen(kb, pa, zb), 0);
	assert_memory_equal(za, zb, 32);
	assert_memory_not_equal(za, zero, 32);
	svmigd_tpm_ecdh_free(ka);
	svmigd_tpm_ecdh_free(kb);
	svmigd_tpm_close(ta);
	svmigd_tpm_close(tb);
}

/* Two contexts open at once on the same TPM also agree. */
static void test_ecdh_same_tpm(void **state)
{
	uint8_t qual[32], p1[65], p2[65], z1[32], z2[32];
	struct svmigd_tpm_ecdh_cert c1, c2;
	struct svmigd_tpm_ecdh *k1, *k2;
	struct svmigd_tpm *t1, *t2;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 11);
	t1 = open_tpm(&tpm_a);
	t2 = open_tpm(&tpm_a);
	assert_int_equal(svmigd_tpm_ecdh_create(t1, qual, &k1, &c1), 0);
	assert_int_equal(svmigd_tpm_ecdh_create(t2, qual, &k2, &c2), 0);
	assert_int_equal(svmigd_tpm_ecdh_point(k1, p1), 0);
	assert_int_equal(svmigd_tpm_ecdh_point(k2, p2), 0);
	assert_memory_not_equal(p1, p2, 65);	/* fresh keys */
	assert_int_equal(svmigd_tpm_ecdh_zgen(k1, p2, z1), 0);
	assert_int_equal(svmigd_tpm_ecdh_zgen(k2, p1, z2), 0);
	assert_memory_equal(z1, z2, 32);
	svmigd_tpm_ecdh_free(k2);
	svmigd_tpm_ecdh_free(k1);
	svmigd_tpm_close(t2);
	svmigd_tpm_close(t1);
}

/* Certifications for another session, another key, another AK, or junk. */
static void test_ecdh_refused(void **state)
{
	uint8_t qual[32], other[32], pt[65], bad_pt[65];
	struct svmigd_tpm_ecdh_cert c1, c2, bad;
	struct svmigd_tpm_pcrs ref;
	struct svmigd_tpm_quote q;
	struct svmigd_tpm_ecdh *k1, *k2;
	struct svmigd_tpm_ak ak_a, ak_b;
	struct svmigd_tpm *t;
	char why[128];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(qual, sizeof(qual), 12);
	fill(other, sizeof(other), 13);
	get_ak(&tpm_b, &ak_b);
	t = open_tpm(&tpm_a);
	assert_int_equal(svmigd_tpm_ak(t, &ak_a), 0);
	assert_int_equal(svmigd_tpm_ecdh_create(t, qual, &k1, &c1), 0);
	assert_int_equal(svmigd_tpm_ecdh_create(t, qual, &k2, &c2), 0);
	assert_int_equal(svmigd_tpm_quote(t, qual, quote_pcrs, NQUOTE, &q), 0);

	assert_int_equal(svmigd_tpm_verify_ecdh(ak_a.pub, ak_a.pub_len,
						ak_a.sha256, &c1, other, pt,
						why, sizeof(why)),
			 SVMIGD_TPM_EQUAL);
	/* key 2's public area under key 1's certification */
	bad = c1;
	memcpy(bad.pub, c2.pub, c2.pub_len);
	bad.pub_len = c2.pub_len;
	assert_int_equal(svmigd_tpm_verify_ecdh(ak_a.pub, ak_a.pub_len,
						ak_a.sha256, &bad, qual, pt,
						why, sizeof(why)),
			 SVMIGD_TPM_ENAME);
	assert_non_null(strstr(why, "certified key"));
	/* another host's AK */
	assert_int_equal(svmigd_tpm_verify_ecdh(ak_b.pub, ak_b.pub_len, NULL,
						&c1, qual, pt, NULL, 0),
			 SVMIGD_TPM_ESIG);
	/* a quote is not a certification, nor the reverse */
	bad = c1;
	memcpy(bad.attest, q.attest, q.attest_len);
	bad.attest_len = q.attest_len;
	memcpy(bad.sig, q.sig, q.sig_len);
	bad.sig_len = q.sig_len;
	assert_int_equal(svmigd_tpm_verify_ecdh(ak_a.pub, ak_a.pub_len,
						ak_a.sha256, &bad, qual, pt,
						NULL, 0), SVMIGD_TPM_ETYPE);
	memcpy(q.attest, c1.attest, c1.attest_len);
	q.attest_len = c1.attest_len;
	memcpy(q.sig, c1.sig, c1.sig_len);
	q.sig_len = c1.sig_len;
	ref = q.pcrs;
	assert_int_equal(svmigd_tpm_verify_quote(ak_a.pub, ak_a.pub_len,
						 ak_a.sha256, &q, qual, &ref,
						 NULL, 0), SVMIGD_TPM_ETYPE);
	/* a public area with a changed point or trailing byte */
	bad = c1;
	bad.pub[bad.pub_len - 1] ^= 0x01;
	assert_int_not_equal(svmigd_tpm_verify_ecdh(ak_a.pub, ak_a.pub_len,
						    ak_a.sha256, &bad, qual, pt,
						    NULL, 0), 0);
	bad = c1;
	bad.pub[bad.pub_len++] = 0;
	assert_int_equal(svmigd_tpm_verify_ecdh(ak_a.pub, ak_a.pub_len,
						ak_a.sha256, &bad, qual, pt,
						NULL, 0), SVMIGD_TPM_EPUBLIC);
	/* ZGen with a point off the curve fails in the TPM, key intact */
	assert_int_equal(svmigd_tpm_ecdh_point(k2, pt), 0);
	memcpy(bad_pt, pt, sizeof(pt));
	bad_pt[64] ^= 0x01;
	assert_int_equal(svmigd_tpm_ecdh_zgen(k1, bad_pt, other),
			 SVMIGD_TPM_ETPM);
	assert_true(strlen(svmigd_tpm_last_error(t)) > 0);
	assert_int_equal(svmigd_tpm_ecdh_zgen(k1, pt, other), 0);
	svmigd_tpm_ecdh_free(k1);
	svmigd_tpm_ecdh_free(k2);
	svmigd_tpm_close(t);
}

/* Nothing listening on the port: open or the first command fails. */
static void test_no_tpm(void **state)
{
	struct svmigd_tpm_ak ak;
	struct svmigd_tpm *t = NULL;
	unsigned int port = 0;
	char tcti[64];
	int fd, err;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fd = swtpm_bind(&port);		/* bound, not listening */
	assert_true(fd >= 0);
	snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%u", port);
	err = svmigd_tpm_open(tcti, &t);
	if (!err) {
		assert_int_equal(svmigd_tpm_ak(t, &ak), SVMIGD_TPM_ETPM);
		svmigd_tpm_close(t);
	} else {
		assert_int_equal(err, SVMIGD_TPM_ETPM);
		assert_null(t);
	}
	close(fd);
	assert_int_equal(svmigd_tpm_open("nosuchtcti:x", &t), SVMIGD_TPM_ETPM);
}

/* ---- NV bindings --------------------------------------------------------- */

#define NV_BIND		0x01500016u

/* Define a 32-byte index with other attributes (an attacker's, say). */
static void define_other(const struct swtpm *s, uint32_t idx)
{
	TPM2B_NV_PUBLIC info = {
		.nvPublic = {
			.nvIndex = idx,
			.nameAlg = TPM2_ALG_SHA256,
			.attributes = TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD |
				      TPMA_NV_NO_DA,
			.dataSize = SVMIGD_TPM_DIGEST_LEN,
		},
	};
	const TPM2B_AUTH none = { 0 };
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *esys = NULL;
	ESYS_TR h = ESYS_TR_NONE;

	assert_int_equal(Tss2_TctiLdr_Initialize(s->tcti, &tcti), 0);
	assert_int_equal(Esys_Initialize(&esys, tcti, NULL), 0);
	assert_int_equal(Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER,
					     ESYS_TR_PASSWORD, ESYS_TR_NONE,
					     ESYS_TR_NONE, &none, &info, &h), 0);
	Esys_TR_Close(esys, &h);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tcti);
}

/* Bind, read back, a second bind refused, the value unchanged. */
static void test_nv_bind(void **state)
{
	uint8_t d1[SVMIGD_TPM_DIGEST_LEN], d2[SVMIGD_TPM_DIGEST_LEN];
	uint8_t got[SVMIGD_TPM_DIGEST_LEN];
	struct svmigd_tpm *t;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(d1, sizeof(d1), 0x11);
	fill(d2, sizeof(d2), 0x22);
	t = open_tpm(&tpm_a);
	assert_int_equal(svmigd_tpm_nv_bind(t, NV_BIND, d1, NULL), 0);
	assert_int_equal(svmigd_tpm_nv_read(t, NV_BIND, got, sizeof(got)), 0);
	assert_memory_equal(got, d1, sizeof(d1));
	svmigd_tpm_close(t);

	t = open_tpm(&tpm_a);
	assert_int_equal(svmigd_tpm_nv_bind(t, NV_BIND, d2, ""),
			 SVMIGD_TPM_EBOUND);
	assert_non_null(strstr(svmigd_tpm_last_error(t), "write-locked"));
	assert_non_null(strstr(svmigd_tpm_strerror(SVMIGD_TPM_EBOUND),
				"already bound"));
	assert_int_equal(svmigd_tpm_nv_bind(t, NV_BIND, d1, NULL),
			 SVMIGD_TPM_EBOUND);
	assert_int_equal(svmigd_tpm_nv_read(t, NV_BIND, got, sizeof(got)), 0);
	assert_memory_equal(got, d1, sizeof(d1));
	svmigd_tpm_close(t);

	/* the other TPM has no binding; binding there is independent */
	t = open_tpm(&tpm_b);
	assert_int_equal(svmigd_tpm_nv_read(t, NV_BIND, got, sizeof(got)),
			 SVMIGD_TPM_ETPM);
	assert_int_equal(svmigd_tpm_nv_bind(t, NV_BIND, d2, NULL), 0);
	assert_int_equal(svmigd_tpm_nv_read(t, NV_BIND, got, sizeof(got)), 0);
	assert_memory_equal(got, d2, sizeof(d2));
	svmigd_tpm_close(t);
}

/* Undefined, foreign-shaped and out-of-range indexes; bad arguments. */
static void test_nv_refused(void **state)
{
	uint8_t d[SVMIGD_TPM_DIGEST_LEN], got[SVMIGD_TPM_DIGEST_LEN];
	char big[80];
	struct svmigd_tpm *t;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(d, sizeof(d), 0x33);
	t = open_tpm(&tpm_a);
	assert_int_equal(svmigd_tpm_nv_read(t, 0x01500017u, got, sizeof(got)),
			 SVMIGD_TPM_ETPM);
	assert_true(svmigd_tpm_last_error(t)[0] != '\0');

	define_other(&tpm_a, 0x01500018u);
	assert_int_equal(svmigd_tpm_nv_read(t, 0x01500018u, got, sizeof(got)),
			 SVMIGD_TPM_ENVINDEX);
	assert_int_equal(svmigd_tpm_nv_bind(t, 0x01500018u, d, NULL),
			 SVMIGD_TPM_ENVINDEX);

	assert_int_equal(svmigd_tpm_nv_read(t, 0x00ffffffu, got, sizeof(got)),
			 SVMIGD_TPM_EINVAL);
	assert_int_equal(svmigd_tpm_nv_read(t, 0x02000000u, got, sizeof(got)),
			 SVMIGD_TPM_EINVAL);
	assert_int_equal(svmigd_tpm_nv_read(t, NV_BIND, got, 31),
			 SVMIGD_TPM_EINVAL);
	assert_int_equal(svmigd_tpm_nv_read(t, NV_BIND, NULL, 32),
			 SVMIGD_TPM_EINVAL);
	assert_int_equal(svmigd_tpm_nv_bind(t, 0x81000000u, d, NULL),
			 SVMIGD_TPM_EINVAL);
	assert_int_equal(svmigd_tpm_nv_bind(t, 0x01500019u, NULL, NULL),
			 SVMIGD_TPM_EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(svmigd_tpm_nv_bind(t, 0x01500019u, d, big),
			 SVMIGD_TPM_EINVAL);
	/* a wrong owner password: the TPM refuses the definition */
	assert_int_equal(svmigd_tpm_nv_bind(t, 0x01500019u, d, "wrong"),
			 SVMIGD_TPM_ETPM);
	assert_int_equal(svmigd_tpm_nv_read(t, 0x01500019u, got, sizeof(got)),
			 SVMIGD_TPM_ETPM);
	svmigd_tpm_close(t);
	assert_int_equal(svmigd_tpm_nv_read(NULL, NV_BIND, got, sizeof(got)),
			 SVMIGD_TPM_EINVAL);
}

/* Sets the owner authorization of @s from @old to @new (raw ESAPI). */
static void owner_auth(const struct swtpm *s, const char *old, const char *new)
{
	TPM2B_AUTH a = { .size = (UINT16)strlen(old) };
	TPM2B_AUTH n = { .size = (UINT16)strlen(new) };
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *esys = NULL;

	memcpy(a.buffer, old, a.size);
	memcpy(n.buffer, new, n.size);
	assert_int_equal(Tss2_TctiLdr_Initialize(s->tcti, &tcti), 0);
	assert_int_equal(Esys_Initialize(&esys, tcti, NULL), 0);
	assert_int_equal(Esys_TR_SetAuth(esys, ESYS_TR_RH_OWNER, &a), 0);
	assert_int_equal(Esys_HierarchyChangeAuth(esys, ESYS_TR_RH_OWNER,
						  ESYS_TR_PASSWORD, ESYS_TR_NONE,
						  ESYS_TR_NONE, &n), 0);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tcti);
}

/* Root without the owner authorization tries to delete the bound index. */
static TSS2_RC undefine_without_auth(const struct swtpm *s, uint32_t idx)
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *esys = NULL;
	ESYS_TR h = ESYS_TR_NONE;
	TSS2_RC rc;

	assert_int_equal(Tss2_TctiLdr_Initialize(s->tcti, &tcti), 0);
	assert_int_equal(Esys_Initialize(&esys, tcti, NULL), 0);
	assert_int_equal(Esys_TR_FromTPMPublic(esys, idx, ESYS_TR_NONE,
					       ESYS_TR_NONE, ESYS_TR_NONE, &h), 0);
	rc = Esys_NV_UndefineSpace(esys, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE);
	Esys_TR_Close(esys, &h);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tcti);
	return rc;
}

/*
 * With an owner authorization held by the provisioner, svmigd still has
 * its AK, quotes and ECDH keys (endorsement hierarchy), binding needs that
 * authorization, and root without it cannot delete the binding.
 */
static void test_nv_owner_auth(void **state)
{
	const unsigned int pcrs[] = { 0, 7 };
	uint8_t d[SVMIGD_TPM_DIGEST_LEN], got[SVMIGD_TPM_DIGEST_LEN];
	uint8_t qual[SVMIGD_TPM_QUAL_LEN] = { 7 };
	struct svmigd_tpm_ecdh_cert cert;
	struct svmigd_tpm_ecdh *key = NULL;
	struct svmigd_tpm_quote q;
	struct svmigd_tpm_ak ak;
	struct svmigd_tpm *t;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	fill(d, sizeof(d), 0x44);
	owner_auth(&tpm_b, "", "provisioner");
	t = open_tpm(&tpm_b);
	assert_int_equal(svmigd_tpm_ak(t, &ak), 0);
	assert_int_equal(svmigd_tpm_quote(t, qual, pcrs, 2, &q), 0);
	assert_int_equal(svmigd_tpm_ecdh_create(t, qual, &key, &cert), 0);
	svmigd_tpm_ecdh_free(key);
	assert_int_equal(svmigd_tpm_nv_bind(t, 0x0150001au, d, NULL),
			 SVMIGD_TPM_ETPM);
	assert_int_equal(svmigd_tpm_nv_bind(t, 0x0150001au, d, "provisioner"), 0);
	assert_int_equal(svmigd_tpm_nv_read(t, 0x0150001au, got, sizeof(got)), 0);
	assert_memory_equal(got, d, sizeof(d));
	svmigd_tpm_close(t);
	assert_int_not_equal(undefine_without_auth(&tpm_b, 0x0150001au), 0);
	t = open_tpm(&tpm_b);
	assert_int_equal(svmigd_tpm_nv_read(t, 0x0150001au, got, sizeof(got)), 0);
	assert_memory_equal(got, d, sizeof(d));
	svmigd_tpm_close(t);
	owner_auth(&tpm_b, "provisioner", "");
}

/* ---- setup -------------------------------------------------------------- */

static int setup_swtpms(void **state)
{
	const char *bin = swtpm_binary();

	(void)state;
	/* expected TPM failures (test_no_tpm, bad points) need no log */
	if (setenv("TSS2_LOG", "all+NONE", 1))
		return -1;
	if (!bin)
		return 0;
	if (swtpm_start(&tpm_a, bin))
		return -1;
	if (swtpm_start(&tpm_b, bin)) {
		swtpm_stop(&tpm_a);
		return -1;
	}
	have_swtpm = 1;
	return 0;
}

static int teardown_swtpms(void **state)
{
	(void)state;
	swtpm_stop(&tpm_a);
	swtpm_stop(&tpm_b);
	have_swtpm = 0;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror),
		cmocka_unit_test_teardown(test_ak_stable, teardown_test),
		cmocka_unit_test_teardown(test_quote_verifies, teardown_test),
		cmocka_unit_test_teardown(test_quote_all_pcrs, teardown_test),
		cmocka_unit_test_teardown(test_bad_arguments, teardown_test),
		cmocka_unit_test_teardown(test_quote_wrong_nonce, teardown_test),
		cmocka_unit_test_teardown(test_quote_changed_pcr, teardown_test),
		cmocka_unit_test_teardown(test_quote_selection, teardown_test),
		cmocka_unit_test_teardown(test_quote_tampered, teardown_test),
		cmocka_unit_test_teardown(test_quote_other_signer, teardown_test),
		cmocka_unit_test_teardown(test_quote_wrong_ak, teardown_test),
		cmocka_unit_test(test_ak_public_crafted),
		cmocka_unit_test_teardown(test_ak_unrestricted, teardown_test),
		cmocka_unit_test_teardown(test_ecdh_agree, teardown_test),
		cmocka_unit_test_teardown(test_ecdh_same_tpm, teardown_test),
		cmocka_unit_test_teardown(test_ecdh_refused, teardown_test),
		cmocka_unit_test_teardown(test_no_tpm, teardown_test),
		cmocka_unit_test_teardown(test_nv_bind, teardown_test),
		cmocka_unit_test_teardown(test_nv_refused, teardown_test),
		cmocka_unit_test_teardown(test_nv_owner_auth, teardown_test),
	};

	return cmocka_run_group_tests(tests, setup_swtpms, teardown_swtpms);
}
