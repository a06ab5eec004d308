// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the verifiers of a peer's TPM quote and of its ECDH
 * key's certification (userspace/svmigd/tpm_verify.c,
 * svmigd_tpm_verify_quote and svmigd_tpm_verify_ecdh): OpenSSL and the
 * TSS unmarshalling code, no TPM.
 *
 * Input (struct fz): a flags byte; the marshalled TPMS_ATTEST; with flag
 * 0x02 the signature as sent, else the harness signs the attestation with
 * the fixed AK so that the checks after the signature are reached; with
 * flag 0x08 the AK's public area (marshalled TPM2B_PUBLIC) from the input,
 * else with flag 0x20 the fixed AK's point with objectAttributes from the
 * input (4 bytes), else the fixed AK's public area; the 32 bytes
 * of qualifying data; then for a quote (flag 0x01 clear) the PCR values
 * sent (a count, then index and value of each) and, with flag 0x10, a
 * reference set read the same way (else the values sent are the
 * reference), or for a certification (flag 0x01 set) the marshalled
 * TPMT_PUBLIC.  Flag 0x04 checks the AK against its enrolled digest.
 *
 * Checked: every refusal says why; an accepted verdict was given for an AK
 * public area that svmigd_tpm_ak_check() accepts on its own (one canonical
 * TPM2B_PUBLIC, fixedTPM, fixedParent, sensitiveDataOrigin, restricted,
 * sign, not decrypt); an accepted quote really is a quote
 * signed by the AK over that qualifying data, covering exactly the
 * reference PCRs with their digest; an accepted certification gives a
 * point on P-256 and certifies the name of the public area sent.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "fuzz_common.h"
#include "../unit/akpub.h"
#include "tpm.h"

static EVP_PKEY *ak_key;
static uint8_t ak_pub[SVMIGD_TPM_PUBLIC_MAX], ak_sha256[SVMIGD_TPM_DIGEST_LEN];
static size_t ak_pub_len;

static void init(void)
{
	/* the TSS logs every refused unmarshal to stderr otherwise */
	setenv("TSS2_LOG", "all+NONE", 0);
	ak_key = fuzz_pkey(fuzz_ak_key_pem);
	FUZZ_CHECK(!akpub_of(ak_key, AKPUB_ATTRS, ak_pub, sizeof(ak_pub),
			     &ak_pub_len));
	FUZZ_CHECK(!svmigd_tpm_ak_digest(ak_pub, ak_pub_len, ak_sha256));
}

/* An accepted verdict's AK: acceptable on its own, attributes and all. */
static void ak_accepted(const uint8_t *ak, size_t ak_len)
{
	size_t off = 0;
	TPM2B_PUBLIC p;
	const TPMA_OBJECT must = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
		TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED |
		TPMA_OBJECT_SIGN_ENCRYPT;

	FUZZ_CHECK(!svmigd_tpm_ak_check(ak, ak_len, NULL, NULL, 0));
	memset(&p, 0, sizeof(p));
	FUZZ_CHECK(Tss2_MU_TPM2B_PUBLIC_Unmarshal(ak, ak_len, &off, &p) ==
		   TSS2_RC_SUCCESS && off == ak_len);
	FUZZ_CHECK((p.publicArea.objectAttributes & must) == must &&
		   !(p.publicArea.objectAttributes & TPMA_OBJECT_DECRYPT));
}

/* @n bytes of input into @buf of @size (at most @size), length in *len. */
static void take(struct fz *z, uint8_t *buf, size_t size, size_t *len)
{
	size_t n;
	const uint8_t *s = fz_str(z, &n);

	if (n > size)
		n = size;
	memcpy(buf, s, n);
	*len = n;
}

static void sign(const uint8_t *data, size_t len, uint8_t *sig, size_t *sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = SVMIGD_TPM_SIG_MAX;

	FUZZ_CHECK(md);
	FUZZ_CHECK(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ak_key) == 1);
	FUZZ_CHECK(EVP_DigestSign(md, sig, &n, data, len) == 1);
	EVP_MD_CTX_free(md);
	*sig_len = n;
}

static void read_pcrs(struct fz *z, struct svmigd_tpm_pcrs *p)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	p->count = fz_u8(z);
	for (i = 0; i < p->count && i < SVMIGD_TPM_PCR_COUNT; i++) {
		size_t n;
		const uint8_t *v;

		p->index[i] = fz_u8(z);
		v = fz_str(z, &n);
		memcpy(p->value[i], v, n < SVMIGD_TPM_DIGEST_LEN ? n :
		       SVMIGD_TPM_DIGEST_LEN);
	}
}

/* The attestation an accepted verdict was given for. */
static void accepted(const uint8_t *attest, size_t len, TPM2_ST type,
		     const uint8_t qual[SVMIGD_TPM_QUAL_LEN], TPMS_ATTEST *a)
{
	size_t off = 0;

	memset(a, 0, sizeof(*a));
	FUZZ_CHECK(Tss2_MU_TPMS_ATTEST_Unmarshal(attest, len, &off, a) ==
		   TSS2_RC_SUCCESS && off == len);
	FUZZ_CHECK(a->magic == TPM2_GENERATED_VALUE && a->type == type);
	FUZZ_CHECK(a->extraData.size == SVMIGD_TPM_QUAL_LEN &&
		   !memcmp(a->extraData.buffer, qual, SVMIGD_TPM_QUAL_LEN));
}

static void quote(struct fz *z, uint8_t flags, const uint8_t *ak, size_t ak_len,
		  const uint8_t qual[SVMIGD_TPM_QUAL_LEN],
		  struct svmigd_tpm_quote *q)
{
	struct svmigd_tpm_pcrs ref;
	uint8_t cat[SVMIGD_TPM_PCR_COUNT * SVMIGD_TPM_DIGEST_LEN], md[32];
	char why[256];
	TPMS_ATTEST a;
	unsigned int i, j;
	size_t len = 0;
	int ret;

	read_pcrs(z, &q->pcrs);
	if (flags & 0x10)
		read_pcrs(z, &ref);
	else
		ref = q->pcrs;
	ret = svmigd_tpm_verify_quote(ak, ak_len, flags & 0x04 ? ak_sha256 : NULL,
				      q, qual, &ref, why, sizeof(why));
	FUZZ_CHECK(memchr(why, '\0', sizeof(why)));
	if (getenv("SVMIG_FUZZ_DEBUG"))
		fprintf(stderr, "verdict %d: %s\n", ret, why);
	if (ret) {
		FUZZ_CHECK(ret < 0 && why[0]);
		FUZZ_CHECK(strcmp(svmigd_tpm_strerror(ret), "") != 0);
		return;
	}
	ak_accepted(ak, ak_len);
	accepted(q->attest, q->attest_len, TPM2_ST_ATTEST_QUOTE, qual, &a);
	/* the sent values are the reference ones, in the quoted digest */
	FUZZ_CHECK(q->pcrs.count == ref.count && ref.count >= 1 &&
		   ref.count <= SVMIGD_TPM_PCR_COUNT);
	for (i = 0; i < SVMIGD_TPM_PCR_COUNT; i++)
		for (j = 0; j < q->pcrs.count; j++)
			if (q->pcrs.index[j] == i) {
				memcpy(cat + len, q->pcrs.value[j], 32);
				len += 32;
			}
	FUZZ_CHECK(len == 32 * ref.count);
	FUZZ_CHECK(EVP_Digest(cat, len, md, NULL, EVP_sha256(), NULL) == 1);
	FUZZ_CHECK(a.attested.quote.pcrDigest.size == 32 &&
		   !memcmp(a.attested.quote.pcrDigest.buffer, md, 32));
}

static void certification(struct fz *z, uint8_t flags, const uint8_t *ak,
			  size_t ak_len,
			  const uint8_t qual[SVMIGD_TPM_QUAL_LEN],
			  struct svmigd_tpm_ecdh_cert *c)
{
	uint8_t point[SVMIGD_TPM_POINT_LEN], name[SVMIGD_TPM_NAME_LEN];
	char why[256];
	TPMS_ATTEST a;
	EC_POINT *pt;
	EC_GROUP *g;
	int ret;

	take(z, c->pub, sizeof(c->pub), &c->pub_len);
	memset(point, 0xee, sizeof(point));
	ret = svmigd_tpm_verify_ecdh(ak, ak_len, flags & 0x04 ? ak_sha256 : NULL,
				     c, qual, point, why, sizeof(why));
	FUZZ_CHECK(memchr(why, '\0', sizeof(why)));
	if (getenv("SVMIG_FUZZ_DEBUG"))
		fprintf(stderr, "verdict %d: %s\n", ret, why);
	if (ret) {
		FUZZ_CHECK(ret < 0 && why[0]);
		return;
	}
	ak_accepted(ak, ak_len);
	accepted(c->attest, c->attest_len, TPM2_ST_ATTEST_CERTIFY, qual, &a);
	FUZZ_CHECK(!svmigd_tpm_name(c->pub, c->pub_len, name));
	FUZZ_CHECK(a.attested.certify.name.size == sizeof(name) &&
		   !memcmp(a.attested.certify.name.name, name, sizeof(name)));
	g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	pt = g ? EC_POINT_new(g) : NULL;
	FUZZ_CHECK(pt);
	FUZZ_CHECK(EC_POINT_oct2point(g, pt, point, sizeof(point), NULL) == 1);
	FUZZ_CHECK(EC_POINT_is_on_curve(g, pt, NULL) == 1);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	struct svmigd_tpm_ecdh_cert *c;
	struct svmigd_tpm_quote *q;
	uint8_t qual[SVMIGD_TPM_QUAL_LEN], flags, *attest, *sig;
	uint8_t ak[SVMIGD_TPM_PUBLIC_MAX + 16];
	size_t *attest_len, *sig_len, ak_len, i;

	if (!ak_key)
		init();
	q = calloc(1, sizeof(*q));
	c = calloc(1, sizeof(*c));
	FUZZ_CHECK(q && c);
	flags = fz_u8(&z);
	attest = flags & 0x01 ? c->attest : q->attest;
	attest_len = flags & 0x01 ? &c->attest_len : &q->attest_len;
	sig = flags & 0x01 ? c->sig : q->sig;
	sig_len = flags & 0x01 ? &c->sig_len : &q->sig_len;
	take(&z, attest, SVMIGD_TPM_ATTEST_MAX, attest_len);
	if (flags & 0x02)
		take(&z, sig, SVMIGD_TPM_SIG_MAX, sig_len);
	else
		sign(attest, *attest_len, sig, sig_len);
	if (flags & 0x08) {
		take(&z, ak, sizeof(ak), &ak_len);
	} else if (flags & 0x20) {
		FUZZ_CHECK(!akpub_of(ak_key, (TPMA_OBJECT)fz_u32(&z), ak,
				     sizeof(ak), &ak_len));
	} else {
		memcpy(ak, ak_pub, ak_pub_len);
		ak_len = ak_pub_len;
	}
	for (i = 0; i < sizeof(qual); i++)
		qual[i] = fz_u8(&z);
	if (flags & 0x01)
		certification(&z, flags, ak, ak_len, qual, c);
	else
		quote(&z, flags, ak, ak_len, qual, q);
	free(q);
	free(c);
	return 0;
}
