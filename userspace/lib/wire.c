// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wire: the svmig wire format on OpenSSL.  See wire.h and
 * Documentation/wire-format.rst, which this file follows literally.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "wire.h"

#define HELLO_CLEAR_LEN		sizeof(struct svmig_wire_hello)		/* 56 */
#define PAGE_ID_LEN		sizeof(struct svmig_wire_page)		/* 16 */
#define PAGE_PT_LEN		(PAGE_ID_LEN + SVMIG_PAGE_SIZE)		/* 4112 */
#define MANIFEST_PT_LEN		sizeof(struct svmig_wire_manifest)	/* 40 */
#define HELLO_LENGTH		(HELLO_CLEAR_LEN + SVMIG_TAG_LEN)	/* 72 */
#define PAGE_LENGTH		(PAGE_PT_LEN + SVMIG_TAG_LEN)		/* 4128 */
#define MANIFEST_LENGTH		(MANIFEST_PT_LEN + SVMIG_TAG_LEN)	/* 56 */
#define SUM_LEN			SVMIG_TABLE_SUM_LEN			/* 16 */
#define END_PT_LEN		sizeof(struct svmig_wire_end)		/* 56 */
#define END_LENGTH		(END_PT_LEN + SVMIG_TAG_LEN)		/* 72 */
/* offsets in the MANIFEST's and END's plaintext */
#define MANIFEST_CHANNELS_OFF	16
#define MANIFEST_RESERVED_OFF	20
#define MANIFEST_SUM_OFF	24
#define END_CHANNELS_OFF	16
#define END_RESERVED_OFF	20
#define END_TRANSCRIPT_OFF	24
#define DATA_LENGTH_MAX		(SVMIG_STREAM_RECORD_MAX + SVMIG_TAG_LEN)
/* seal_raw: any plaintext whose record length fits an int (forgeries) */
#define SEAL_RAW_PT_MAX		((size_t)INT_MAX - SVMIG_HDR_LEN - \
				 HELLO_CLEAR_LEN - SVMIG_TAG_LEN)

_Static_assert(sizeof(struct svmig_wire_hdr) == SVMIG_HDR_LEN, "header");
_Static_assert(HELLO_CLEAR_LEN == 56, "hello");
_Static_assert(PAGE_ID_LEN == 16, "page");
_Static_assert(MANIFEST_PT_LEN == 40 &&
	       MANIFEST_SUM_OFF + SUM_LEN == MANIFEST_PT_LEN, "manifest");
_Static_assert(HELLO_LENGTH == 72 && PAGE_LENGTH == 4128 &&
	       MANIFEST_LENGTH == 56, "record lengths");
_Static_assert(SVMIG_TABLE_KEY_LEN == 64, "KT fills one SHA-256 block");
_Static_assert(SVMIG_HELLO_REC_LEN == SVMIG_HDR_LEN + HELLO_LENGTH &&
	       SVMIG_PAGE_REC_LEN == SVMIG_HDR_LEN + PAGE_LENGTH &&
	       SVMIG_MANIFEST_REC_LEN == SVMIG_HDR_LEN + MANIFEST_LENGTH,
	       "uapi record lengths");
_Static_assert(END_PT_LEN == 56 && END_LENGTH == 72 &&
	       END_TRANSCRIPT_OFF + SVMIG_HASH_LEN == END_PT_LEN &&
	       DATA_LENGTH_MAX == 16400, "stream record lengths");
_Static_assert(SVMIG_END_REC_LEN == SVMIG_HDR_LEN + END_LENGTH &&
	       SVMIG_DATA_REC_MAX == SVMIG_HDR_LEN + DATA_LENGTH_MAX &&
	       SVMIG_REC_MAX_LEN >= SVMIG_PAGE_REC_LEN,
	       "uapi stream record lengths");

/* ---- big-endian helpers ---- */

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ---- HKDF ---- */

static int hkdf(int mode, const uint8_t *salt, size_t salt_len,
		const uint8_t *key, size_t key_len,
		const uint8_t *info, size_t info_len,
		uint8_t *out, size_t out_len)
{
	static const uint8_t zero_salt[SVMIG_HASH_LEN];
	OSSL_PARAM params[6], *p = params;
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int ret = -EIO;

	/*
	 * RFC 5869: an absent salt is HashLen zero bytes.  An empty one is
	 * the same HMAC key; OpenSSL ignores empty octet strings, so say it.
	 */
	if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY && salt_len == 0) {
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	if (!kdf)
		return -EIO;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!kctx)
		return -ENOMEM;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)key, key_len);
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
							 (void *)salt, salt_len);
	if (info_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							 (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
		ret = 0;
	EVP_KDF_CTX_free(kctx);		/* cleanses its copies */
	if (ret)
		OPENSSL_cleanse(out, out_len);
	return ret;
}

int svmig_hkdf_extract(const uint8_t *salt, size_t salt_len,
		       const uint8_t *ikm, size_t ikm_len,
		       uint8_t prk[SVMIG_HASH_LEN])
{
	if (!ikm || !ikm_len || (salt_len && !salt))
		return -EINVAL;
	return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, salt_len,
		    ikm, ikm_len, NULL, 0, prk, SVMIG_HASH_LEN);
}

int svmig_hkdf_expand(const uint8_t *prk, size_t prk_len,
		      const uint8_t *info, size_t info_len,
		      uint8_t *okm, size_t okm_len)
{
	if (!prk || prk_len < SVMIG_HASH_LEN || (info_len && !info) ||
	    !okm || !okm_len || okm_len > (size_t)255 * SVMIG_HASH_LEN)
		return -EINVAL;
	return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0, prk, prk_len,
		    info, info_len, okm, okm_len);
}

int svmig_kdf_k0(const uint8_t secret[SVMIG_SECRET_LEN],
		 const uint8_t session_id[SVMIG_SESSION_ID_LEN],
		 uint8_t k0[SVMIG_KEY_LEN])
{
	uint8_t salt[sizeof(SVMIG_LABEL_SESSION) - 1 + SVMIG_SESSION_ID_LEN];

	memcpy(salt, SVMIG_LABEL_SESSION, sizeof(SVMIG_LABEL_SESSION) - 1);
	memcpy(salt + sizeof(SVMIG_LABEL_SESSION) - 1, session_id,
	       SVMIG_SESSION_ID_LEN);
	return svmig_hkdf_extract(salt, sizeof(salt), secret, SVMIG_SECRET_LEN,
				  k0);
}

int svmig_kdf_prk(const uint8_t k0[SVMIG_KEY_LEN],
		  const uint8_t salt[SVMIG_SALT_LEN],
		  uint8_t prk[SVMIG_KEY_LEN])
{
	return svmig_hkdf_extract(salt, SVMIG_SALT_LEN, k0, SVMIG_KEY_LEN, prk);
}

/* "svmig v2 key s2r" || be32(channel) || be32(epoch) */
static void key_info(uint8_t info[sizeof(SVMIG_LABEL_KEY) - 1 + 8],
		     uint32_t channel, uint32_t epoch)
{
	const size_t l = sizeof(SVMIG_LABEL_KEY) - 1;

	memcpy(info, SVMIG_LABEL_KEY, l);
	put_be32(info + l, channel);
	put_be32(info + l + 4, epoch);
}

int svmig_kdf_key(const uint8_t prk[SVMIG_KEY_LEN], uint32_t channel,
		  uint32_t epoch, uint8_t key[SVMIG_KEY_LEN])
{
	uint8_t info[sizeof(SVMIG_LABEL_KEY) - 1 + 8];

	key_info(info, channel, epoch);
	return svmig_hkdf_expand(prk, SVMIG_KEY_LEN, info, sizeof(info), key,
				 SVMIG_KEY_LEN);
}

int svmig_kdf_table_key(const uint8_t k0[SVMIG_KEY_LEN],
			uint8_t kt[SVMIG_TABLE_KEY_LEN])
{
	return svmig_hkdf_expand(k0, SVMIG_KEY_LEN,
				 (const uint8_t *)SVMIG_LABEL_TABLE,
				 sizeof(SVMIG_LABEL_TABLE) - 1, kt,
				 SVMIG_TABLE_KEY_LEN);
}

int svmig_kdf_fp(const uint8_t k0[SVMIG_KEY_LEN], uint8_t fp[SVMIG_HASH_LEN])
{
	return svmig_hkdf_expand(k0, SVMIG_KEY_LEN,
				 (const uint8_t *)SVMIG_LABEL_FP,
				 sizeof(SVMIG_LABEL_FP) - 1, fp, SVMIG_HASH_LEN);
}

/* ---- page table values and sums ---- */

/* be32(slot) || be64(page) || be32(generation) || tag */
static void value_input(uint8_t in[SVMIG_TABLE_INPUT_LEN], uint32_t slot,
			uint64_t page, uint32_t gen,
			const uint8_t tag[SVMIG_TAG_LEN])
{
	put_be32(in, slot);
	put_be64(in + 4, page);
	put_be32(in + 12, gen);
	memcpy(in + 16, tag, SVMIG_TAG_LEN);
}

int svmig_table_value(const uint8_t kt[SVMIG_TABLE_KEY_LEN], uint32_t slot,
		      uint64_t page, uint32_t generation,
		      const uint8_t tag[SVMIG_TAG_LEN], uint8_t v[SUM_LEN])
{
	uint8_t in[SVMIG_TABLE_KEY_LEN + SVMIG_TABLE_INPUT_LEN];
	uint8_t md[SVMIG_HASH_LEN];
	unsigned int len = 0;
	int ok;

	memcpy(in, kt, SVMIG_TABLE_KEY_LEN);
	value_input(in + SVMIG_TABLE_KEY_LEN, slot, page, generation, tag);
	ok = EVP_Digest(in, sizeof(in), md, &len, EVP_sha256(), NULL) == 1 &&
	     len == SVMIG_HASH_LEN;
	OPENSSL_cleanse(in, sizeof(in));
	if (!ok)
		return -EIO;
	memcpy(v, md, SUM_LEN);
	return 0;
}

/* The same with the wire's KT state (its first block absorbed once). */
static int wire_value(struct svmig_wire *w, uint32_t slot, uint64_t page,
		      uint32_t gen, const uint8_t tag[SVMIG_TAG_LEN],
		      uint8_t v[SUM_LEN])
{
	uint8_t in[SVMIG_TABLE_INPUT_LEN], md[SVMIG_HASH_LEN];
	unsigned int len = 0;

	value_input(in, slot, page, gen, tag);
	if (EVP_MD_CTX_copy_ex(w->value_md, w->kt_md) != 1 ||
	    EVP_DigestUpdate(w->value_md, in, sizeof(in)) != 1 ||
	    EVP_DigestFinal_ex(w->value_md, md, &len) != 1 ||
	    len != SVMIG_HASH_LEN)
		return -EIO;
	memcpy(v, md, SUM_LEN);
	return 0;
}

void svmig_sum_add(uint8_t sum[SUM_LEN], const uint8_t v[SUM_LEN])
{
	unsigned int carry = 0;
	int i;

	for (i = SUM_LEN - 1; i >= 0; i--) {
		carry += (unsigned int)sum[i] + v[i];
		sum[i] = (uint8_t)carry;
		carry >>= 8;
	}
}

void svmig_sum_sub(uint8_t sum[SUM_LEN], const uint8_t v[SUM_LEN])
{
	int borrow = 0, d, i;

	for (i = SUM_LEN - 1; i >= 0; i--) {
		d = (int)sum[i] - v[i] - borrow;
		borrow = d < 0;
		sum[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
}

/* ---- page table ---- */

struct svmig_table_region *svmig_table_find(const struct svmig_table *t,
					    uint32_t slot)
{
	size_t lo = 0, hi = t->nregions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->regions[mid].slot == slot)
			return &t->regions[mid];
		if (t->regions[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int svmig_table_add_region(struct svmig_table *t, uint32_t slot,
			   uint64_t npages)
{
	struct svmig_table_region *regions, r = { .slot = slot, .npages = npages };
	size_t i;

	if (!npages || npages > SIZE_MAX / SUM_LEN)
		return -EINVAL;
	if (svmig_table_find(t, slot))
		return -EEXIST;
	r.gen = calloc(npages, sizeof(*r.gen));
	r.value = calloc(npages, sizeof(*r.value));
	regions = realloc(t->regions, (t->nregions + 1) * sizeof(*regions));
	if (!r.gen || !r.value || !regions) {
		free(r.gen);
		free(r.value);
		if (regions)
			t->regions = regions;
		return -ENOMEM;
	}
	t->regions = regions;
	for (i = t->nregions; i > 0 && regions[i - 1].slot > slot; i--)
		regions[i] = regions[i - 1];
	regions[i] = r;
	t->nregions++;
	return 0;
}

int svmig_table_set(struct svmig_table *t, uint32_t slot, uint64_t page,
		    uint32_t gen, const uint8_t v[SUM_LEN])
{
	struct svmig_table_region *r = svmig_table_find(t, slot);

	if (!r || page >= r->npages)
		return -EINVAL;
	r->gen[page] = gen;
	memcpy(r->value[page], v, SUM_LEN);
	return 0;
}

void svmig_table_sum(const struct svmig_table *t, uint64_t *pages,
		     uint8_t sum[SUM_LEN])
{
	uint64_t n = 0, page;
	size_t i;

	memset(sum, 0, SUM_LEN);
	for (i = 0; i < t->nregions; i++) {
		const struct svmig_table_region *r = &t->regions[i];

		for (page = 0; page < r->npages; page++) {
			if (!r->gen[page])
				continue;
			svmig_sum_add(sum, r->value[page]);
			n++;
		}
	}
	if (pages)
		*pages = n;
}

void svmig_table_free(struct svmig_table *t)
{
	size_t i;

	for (i = 0; i < t->nregions; i++) {
		free(t->regions[i].gen);
		free(t->regions[i].value);
	}
	free(t->regions);
	free(t->channels);
	free(t->gone);
	memset(t, 0, sizeof(*t));
}

/* ---- nonce, AAD, AES-256-GCM ---- */

/* nonce = 0x00000000 || be64(seq) */
static void make_nonce(uint8_t nonce[SVMIG_NONCE_LEN], uint64_t seq)
{
	memset(nonce, 0, 4);
	put_be64(nonce + 4, seq);
}

/* AAD = session_id || be32(channel) || be32(0) || header || clear part */
static size_t make_aad(uint8_t aad[SVMIG_AAD_MAX_LEN],
		       const struct svmig_wire *w, const uint8_t *hdr,
		       const uint8_t *clear, size_t clear_len)
{
	memcpy(aad, w->session_id, SVMIG_SESSION_ID_LEN);
	put_be32(aad + 16, w->channel);
	put_be32(aad + 20, 0);
	memcpy(aad + SVMIG_AAD_IMPLICIT_LEN, hdr, SVMIG_HDR_LEN);
	if (clear_len)
		memcpy(aad + SVMIG_AAD_IMPLICIT_LEN + SVMIG_HDR_LEN, clear,
		       clear_len);
	return SVMIG_AAD_IMPLICIT_LEN + SVMIG_HDR_LEN + clear_len;
}

static void drop_key(struct svmig_wire *w)
{
	w->key_valid = false;
	OPENSSL_cleanse(w->key, sizeof(w->key));
}

/* Make the context hold K(epoch) derived from @prk, for @enc. */
static int use_key(struct svmig_wire *w, const uint8_t *prk, uint32_t epoch,
		   bool enc)
{
	int ret;

	if (w->key_valid && w->key_epoch == epoch && w->key_enc == enc)
		return 0;
	drop_key(w);
	ret = svmig_kdf_key(prk, w->channel, epoch, w->key);
	if (ret)
		return ret;
	if (EVP_CipherInit_ex(w->ctx, EVP_aes_256_gcm(), NULL, w->key, NULL,
			      enc) != 1) {
		drop_key(w);
		return -EIO;
	}
	w->key_valid = true;
	w->key_epoch = epoch;
	w->key_enc = enc;
	return 0;
}

static int epoch_of(uint64_t seq, uint32_t *epoch)
{
	if (seq >> SVMIG_EPOCH_SHIFT > UINT32_MAX)
		return -EOVERFLOW;
	*epoch = (uint32_t)(seq >> SVMIG_EPOCH_SHIFT);
	return 0;
}

/*
 * ct and tag from pt1 || pt2 (either may be empty); the key is already in
 * w->ctx.  ct is pt1_len + pt2_len bytes.
 */
static int gcm_seal(struct svmig_wire *w, uint64_t seq, const uint8_t *aad,
		    size_t aad_len, const uint8_t *pt1, size_t pt1_len,
		    const uint8_t *pt2, size_t pt2_len,
		    uint8_t *ct, uint8_t tag[SVMIG_TAG_LEN])
{
	uint8_t nonce[SVMIG_NONCE_LEN];
	int outl;

	make_nonce(nonce, seq);
	if (EVP_CipherInit_ex(w->ctx, NULL, NULL, NULL, nonce, 1) != 1 ||
	    EVP_EncryptUpdate(w->ctx, NULL, &outl, aad, (int)aad_len) != 1)
		return -EIO;
	if (pt1_len && (EVP_EncryptUpdate(w->ctx, ct, &outl, pt1,
					  (int)pt1_len) != 1 ||
			(size_t)outl != pt1_len))
		return -EIO;
	if (pt2_len && (EVP_EncryptUpdate(w->ctx, ct + pt1_len, &outl, pt2,
					  (int)pt2_len) != 1 ||
			(size_t)outl != pt2_len))
		return -EIO;
	if (EVP_EncryptFinal_ex(w->ctx, ct + pt1_len + pt2_len, &outl) != 1 ||
	    outl ||
	    EVP_CIPHER_CTX_ctrl(w->ctx, EVP_CTRL_GCM_GET_TAG, SVMIG_TAG_LEN,
				tag) != 1)
		return -EIO;
	return 0;
}

/* pt (in w->scratch) from ct; -EBADMSG, scratch wiped, if the tag fails. */
static int gcm_open(struct svmig_wire *w, uint64_t seq, const uint8_t *aad,
		    size_t aad_len, const uint8_t *ct, size_t ct_len,
		    const uint8_t tag[SVMIG_TAG_LEN])
{
	uint8_t nonce[SVMIG_NONCE_LEN];
	int outl, ret = -EIO;

	make_nonce(nonce, seq);
	if (EVP_CipherInit_ex(w->ctx, NULL, NULL, NULL, nonce, 0) != 1 ||
	    EVP_DecryptUpdate(w->ctx, NULL, &outl, aad, (int)aad_len) != 1)
		goto out;
	if (ct_len && (EVP_DecryptUpdate(w->ctx, w->scratch, &outl, ct,
					 (int)ct_len) != 1 ||
		       (size_t)outl != ct_len))
		goto out;
	if (EVP_CIPHER_CTX_ctrl(w->ctx, EVP_CTRL_GCM_SET_TAG, SVMIG_TAG_LEN,
				(void *)tag) != 1)
		goto out;
	ret = EVP_DecryptFinal_ex(w->ctx, w->scratch + ct_len, &outl) > 0 ?
	      0 : -EBADMSG;
out:
	if (ret)
		OPENSSL_cleanse(w->scratch, ct_len);
	return ret;
}

/* ---- one end of a channel ---- */

/* A table of one member, @w. */
static int table_new(struct svmig_wire *w)
{
	w->table = calloc(1, sizeof(*w->table));
	if (!w->table)
		return -ENOMEM;
	w->table->channels = malloc(sizeof(*w->table->channels));
	if (!w->table->channels)
		return -ENOMEM;
	w->table->channels[0] = w->channel;
	w->table->members = 1;
	w->table->joined = 1;
	w->join_index = 0;
	return 0;
}

/*
 * A receiver leaving a table others still share leaves its part and
 * verdict there (t->gone); if that cannot be allocated, the session can
 * no longer be verified (t->gone_lost: its verdict is FAILED).
 */
static void gone_add(struct svmig_table *t, const struct svmig_wire *w)
{
	struct svmig_table_gone *g;

	g = realloc(t->gone, (t->ngone + 1) * sizeof(*g));
	if (!g) {
		t->gone_lost = true;
		return;
	}
	t->gone = g;
	g += t->ngone++;
	memset(g, 0, sizeof(*g));
	g->join_index = w->join_index;
	g->verdict = w->verdict;
	g->manifest_channels = w->manifest_channels;
	g->part_pages = w->part_pages;
	g->manifest_pages = w->manifest_pages;
	memcpy(g->part_sum, w->part_sum, SUM_LEN);
	memcpy(g->manifest_table_sum, w->manifest_table_sum, SUM_LEN);
}

/* @w leaves its table (a receiver leaving its part, above); the last member frees it. */
static void table_leave(struct svmig_wire *w)
{
	struct svmig_table *t = w->table;
	size_t i;

	w->table = NULL;
	if (!t)
		return;
	if (t->members > 1 && w->role == SVMIG_ROLE_RECEIVER)
		gone_add(t, w);
	for (i = 0; i < t->members; i++) {
		if (t->channels && t->channels[i] == w->channel) {
			t->channels[i] = t->channels[t->members - 1];
			break;
		}
	}
	if (t->members)
		t->members--;
	if (!t->members) {
		svmig_table_free(t);
		free(t);
	}
}

int svmig_wire_init(struct svmig_wire *w, uint32_t flags,
		    const uint8_t session_id[SVMIG_SESSION_ID_LEN],
		    uint32_t channel, const uint8_t secret[SVMIG_SECRET_LEN])
{
	uint32_t role = flags & ~(SVMIG_KEY_STREAM | SVMIG_KEY_REQUIRE_TPM_SALT);
	int ret;

	memset(w, 0, sizeof(*w));
	if ((role != SVMIG_ROLE_SENDER && role != SVMIG_ROLE_RECEIVER) ||
	    (role == SVMIG_ROLE_SENDER && (flags & SVMIG_KEY_REQUIRE_TPM_SALT)))
		return -EINVAL;
	w->role = role;
	w->stream = flags & SVMIG_KEY_STREAM;
	w->require_tpm_salt = flags & SVMIG_KEY_REQUIRE_TPM_SALT;
	w->channel = channel;
	memcpy(w->session_id, session_id, SVMIG_SESSION_ID_LEN);
	w->verdict = SVMIG_VERDICT_PENDING;
	ret = -ENOMEM;
	w->ctx = EVP_CIPHER_CTX_new();
	w->kt_md = EVP_MD_CTX_new();
	w->value_md = EVP_MD_CTX_new();
	if (!w->ctx || !w->kt_md || !w->value_md || table_new(w))
		goto fail;
	if (w->stream) {
		w->transcript = EVP_MD_CTX_new();
		if (!w->transcript)
			goto fail;
		ret = -EIO;
		if (EVP_DigestInit_ex(w->transcript, EVP_sha256(), NULL) != 1)
			goto fail;
	}
	ret = svmig_kdf_k0(secret, session_id, w->k0);
	if (!ret)
		ret = svmig_kdf_table_key(w->k0, w->kt);
	if (ret)
		goto fail;
	ret = -EIO;
	if (EVP_DigestInit_ex(w->kt_md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(w->kt_md, w->kt, sizeof(w->kt)) != 1)
		goto fail;
	w->have_k0 = true;
	return 0;
fail:
	svmig_wire_free(w);
	return ret;
}

void svmig_wire_free(struct svmig_wire *w)
{
	EVP_CIPHER_CTX_free(w->ctx);	/* cleanses the key schedule */
	EVP_MD_CTX_free(w->transcript);
	EVP_MD_CTX_free(w->kt_md);	/* cleanses the absorbed KT */
	EVP_MD_CTX_free(w->value_md);
	table_leave(w);
	OPENSSL_cleanse(w, sizeof(*w));
}

int svmig_wire_add_region(struct svmig_wire *w, uint32_t slot, uint64_t npages)
{
	struct svmig_table_region *r;

	if (w->table->joined > 1) {
		r = svmig_table_find(w->table, slot);
		if (r)
			return r->npages == npages ? 0 : -EEXIST;
	}
	return svmig_table_add_region(w->table, slot, npages);
}

/* No record sealed or opened yet (the HELLO included)? */
static bool fresh(const struct svmig_wire *w)
{
	return !w->hello_done && !w->next_seq && !w->stats.records &&
	       !w->manifest_done;
}

int svmig_wire_join(struct svmig_wire *w, struct svmig_wire *first)
{
	struct svmig_table *t = first->table;
	uint32_t *channels;
	size_t i;

	if (w == first || w->table == t || w->role != first->role ||
	    w->stream != first->stream || !fresh(w) || !fresh(first) ||
	    w->table->nregions ||
	    CRYPTO_memcmp(w->session_id, first->session_id,
			  SVMIG_SESSION_ID_LEN) ||
	    CRYPTO_memcmp(w->kt, first->kt, SVMIG_TABLE_KEY_LEN))
		return -EINVAL;
	for (i = 0; i < t->members; i++)
		if (t->channels[i] == w->channel)
			return -EEXIST;
	channels = realloc(t->channels, (t->members + 1) * sizeof(*channels));
	if (!channels)
		return -ENOMEM;
	t->channels = channels;
	table_leave(w);
	channels[t->members++] = w->channel;
	w->join_index = t->joined++;
	w->table = t;
	return 0;
}

/* One channel of a session for its verdict: a member, or one that left. */
struct verdict_part {
	size_t join_index;
	uint32_t verdict;
	uint32_t manifest_channels;
	uint64_t part_pages, manifest_pages;
	const uint8_t *part_sum, *manifest_table_sum;
};

static int by_join_index(const void *a, const void *b)
{
	const struct verdict_part *x = a, *y = b;

	return (x->join_index > y->join_index) - (x->join_index < y->join_index);
}

uint32_t svmig_wire_session_verdict(struct svmig_wire *const *w, size_t n)
{
	uint8_t theirs[SUM_LEN] = { 0 }, mine[SUM_LEN] = { 0 };
	uint64_t their_pages = 0, my_pages = 0;
	const struct svmig_table *t;
	struct verdict_part *p;
	uint32_t verdict;
	bool pending = false, count_ok = true;
	size_t i, j, np;

	if (!w || !n || !w[0] || w[0]->table->members != n)
		return SVMIG_VERDICT_FAILED;
	t = w[0]->table;
	for (i = 0; i < n; i++) {
		if (!w[i] || w[i]->role != SVMIG_ROLE_RECEIVER ||
		    w[i]->table != t)
			return SVMIG_VERDICT_FAILED;
		for (j = 0; j < i; j++)
			if (w[j] == w[i])
				return SVMIG_VERDICT_FAILED;
	}
	if (t->gone_lost || n > SIZE_MAX / sizeof(*p) - t->ngone)
		return SVMIG_VERDICT_FAILED;
	/* the members and the ones that left, in join order */
	np = n + t->ngone;
	p = calloc(np, sizeof(*p));
	if (!p)
		return SVMIG_VERDICT_FAILED;
	for (i = 0; i < n; i++)
		p[i] = (struct verdict_part){
			.join_index = w[i]->join_index,
			.verdict = w[i]->verdict,
			.manifest_channels = w[i]->manifest_channels,
			.part_pages = w[i]->part_pages,
			.manifest_pages = w[i]->manifest_pages,
			.part_sum = w[i]->part_sum,
			.manifest_table_sum = w[i]->manifest_table_sum,
		};
	for (i = 0; i < t->ngone; i++)
		p[n + i] = (struct verdict_part){
			.join_index = t->gone[i].join_index,
			.verdict = t->gone[i].verdict,
			.manifest_channels = t->gone[i].manifest_channels,
			.part_pages = t->gone[i].part_pages,
			.manifest_pages = t->gone[i].manifest_pages,
			.part_sum = t->gone[i].part_sum,
			.manifest_table_sum = t->gone[i].manifest_table_sum,
		};
	qsort(p, np, sizeof(*p), by_join_index);
	/* the first FAILED, TRUNCATED or MISMATCH in join order, then PENDING */
	verdict = SVMIG_VERDICT_VERIFIED;
	for (i = 0; i < np && verdict == SVMIG_VERDICT_VERIFIED; i++) {
		switch (p[i].verdict) {
		case SVMIG_VERDICT_PENDING:
			pending = true;
			break;
		case SVMIG_VERDICT_VERIFIED:
			break;
		default:
			verdict = p[i].verdict;
			break;
		}
	}
	if (verdict == SVMIG_VERDICT_VERIFIED && pending)
		verdict = SVMIG_VERDICT_PENDING;
	if (verdict != SVMIG_VERDICT_VERIFIED)
		goto out;
	/* every MANIFEST/END counts the channels that joined here */
	for (i = 0; i < np; i++) {
		count_ok = count_ok && p[i].manifest_channels == t->joined;
		their_pages += p[i].manifest_pages;
		svmig_sum_add(theirs, p[i].manifest_table_sum);
		my_pages += p[i].part_pages;
		svmig_sum_add(mine, p[i].part_sum);
	}
	if (!count_ok)
		verdict = SVMIG_VERDICT_MISMATCH;
	else if (!w[0]->stream &&	/* stream: each END is the whole story */
		 (their_pages != my_pages || CRYPTO_memcmp(theirs, mine, SUM_LEN)))
		verdict = SVMIG_VERDICT_MISMATCH;
out:
	free(p);
	return verdict;
}

int svmig_wire_set_next_seq(struct svmig_wire *w, uint64_t seq)
{
	if (!w->hello_done || w->manifest_done)
		return -EPERM;
	if (!seq)
		return -EINVAL;
	w->next_seq = seq;
	return 0;
}

/* A known type of @w's mode, with a length that type allows? */
static bool header_ok(const struct svmig_wire *w, uint8_t type,
		      uint32_t length)
{
	switch (type) {
	case SVMIG_REC_HELLO:
		return length == HELLO_LENGTH;
	case SVMIG_REC_PAGE:
		return !w->stream && length == PAGE_LENGTH;
	case SVMIG_REC_MANIFEST:
		return !w->stream && length == MANIFEST_LENGTH;
	case SVMIG_REC_DATA:
		return w->stream && length > SVMIG_TAG_LEN &&
		       length <= DATA_LENGTH_MAX;
	case SVMIG_REC_END:
		return w->stream && length == END_LENGTH;
	}
	return false;
}

int svmig_wire_record_len(const uint8_t *buf, size_t len)
{
	uint32_t length;

	if (len < SVMIG_HDR_LEN)
		return -EAGAIN;
	length = get_be32(buf + 4);
	if (length > SVMIG_REC_MAX_LEN - SVMIG_HDR_LEN)
		return -EPROTO;
	return (int)(SVMIG_HDR_LEN + length);
}

/* ---- sender ---- */

void svmig_wire_hdr_fill(struct svmig_wire_hdr *hdr, uint8_t type,
			 uint32_t length, uint64_t seq)
{
	uint8_t b[SVMIG_HDR_LEN];

	b[0] = SVMIG_WIRE_VERSION;
	b[1] = type;
	put_be16(b + 2, 0);
	put_be32(b + 4, length);
	put_be64(b + 8, seq);
	memcpy(hdr, b, sizeof(b));
}

int svmig_wire_set_salt(struct svmig_wire *w,
			const uint8_t salt[SVMIG_SALT_LEN])
{
	int ret;

	if (w->role != SVMIG_ROLE_SENDER || w->hello_done)
		return -EPERM;
	if (!w->have_k0)
		return -ENOKEY;
	ret = svmig_kdf_prk(w->k0, salt, w->prk);
	if (ret)
		return ret;
	memcpy(w->salt, salt, SVMIG_SALT_LEN);
	w->have_prk = true;
	OPENSSL_cleanse(w->k0, sizeof(w->k0));
	w->have_k0 = false;
	drop_key(w);
	return 0;
}

/* seal_raw with the plaintext in two pieces (a PAGE: identity, page). */
static int seal_raw2(struct svmig_wire *w, const struct svmig_wire_hdr *hdr,
		     const void *clear, size_t clear_len,
		     const void *pt1, size_t pt1_len,
		     const void *pt2, size_t pt2_len, uint8_t *out)
{
	uint8_t aad[SVMIG_AAD_MAX_LEN], h[SVMIG_HDR_LEN];
	size_t aad_len, pt_len = pt1_len + pt2_len;
	uint32_t epoch;
	uint64_t seq;
	int ret;

	if (clear_len > HELLO_CLEAR_LEN || pt1_len > SEAL_RAW_PT_MAX ||
	    pt2_len > SEAL_RAW_PT_MAX - pt1_len ||
	    (clear_len && !clear) || (pt1_len && !pt1) || (pt2_len && !pt2))
		return -EINVAL;
	if (!w->have_prk)
		return -ENOKEY;
	memcpy(h, hdr, sizeof(h));
	seq = get_be64(h + 8);
	ret = epoch_of(seq, &epoch);
	if (ret)
		return ret;
	ret = use_key(w, w->prk, epoch, true);
	if (ret)
		return ret;
	aad_len = make_aad(aad, w, h, clear, clear_len);
	/* from here on, @hdr and @clear may alias @out: use the copies */
	ret = gcm_seal(w, seq, aad, aad_len, pt1, pt1_len, pt2, pt2_len,
		       out + SVMIG_HDR_LEN + clear_len,
		       out + SVMIG_HDR_LEN + clear_len + pt_len);
	if (ret)
		return ret;
	memcpy(out, h, SVMIG_HDR_LEN);
	if (clear_len)
		memcpy(out + SVMIG_HDR_LEN, aad + SVMIG_AAD_IMPLICIT_LEN +
		       SVMIG_HDR_LEN, clear_len);
	return (int)(SVMIG_HDR_LEN + clear_len + pt_len + SVMIG_TAG_LEN);
}

int svmig_wire_seal_raw(struct svmig_wire *w, const struct svmig_wire_hdr *hdr,
			const void *clear, size_t clear_len,
			const void *pt, size_t pt_len, uint8_t *out)
{
	return seal_raw2(w, hdr, clear, clear_len, pt, pt_len, NULL, 0, out);
}

/*
 * Account for the record @rec of @len bytes just sealed or accepted: its
 * tag into the transcript (stream mode, but not the END's), then the
 * counters.  Nothing changes if the transcript update fails.
 */
static int advance(struct svmig_wire *w, const uint8_t *rec, size_t len)
{
	if (w->stream && rec[1] != SVMIG_REC_END &&
	    EVP_DigestUpdate(w->transcript, rec + len - SVMIG_TAG_LEN,
			     SVMIG_TAG_LEN) != 1)
		return -EIO;
	w->next_seq++;
	w->stats.records++;
	w->stats.bytes += len;
	return 0;
}

/* A record sealed into @out, or an error: advance(), and pass @len on. */
static int sealed(struct svmig_wire *w, const uint8_t *out, int len)
{
	int ret;

	if (len < 0)
		return len;
	ret = advance(w, out, (size_t)len);
	return ret ? ret : len;
}

/*
 * The channels a MANIFEST or END says: every wire that ever joined this
 * one's table (1 alone).
 */
static uint32_t session_channels(const struct svmig_wire *w)
{
	return w->table->joined > UINT32_MAX ? UINT32_MAX :
	       (uint32_t)w->table->joined;
}

int svmig_wire_end_plaintext(const struct svmig_wire *w,
			     uint8_t end[END_PT_LEN])
{
	EVP_MD_CTX *md;
	unsigned int len = 0;
	int ok;

	if (!w->stream)
		return -EPERM;
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	/* finish a copy: the transcript itself may go on */
	ok = EVP_MD_CTX_copy_ex(md, w->transcript) == 1 &&
	     EVP_DigestFinal_ex(md, end + END_TRANSCRIPT_OFF, &len) == 1 &&
	     len == SVMIG_HASH_LEN;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -EIO;
	put_be64(end, w->data_records);
	put_be64(end + 8, w->data_bytes);
	put_be32(end + END_CHANNELS_OFF, session_channels(w));
	put_be32(end + END_RESERVED_OFF, 0);
	return 0;
}

int svmig_wire_set_tpm_salt(struct svmig_wire *w, bool tpm_salt)
{
	if (w->role != SVMIG_ROLE_SENDER || w->hello_done)
		return -EPERM;
	w->tpm_salt = tpm_salt;
	return 0;
}

int svmig_wire_seal_hello(struct svmig_wire *w, uint8_t *out)
{
	uint8_t hello[HELLO_CLEAR_LEN];
	struct svmig_wire_hdr hdr;
	int ret;

	if (w->role != SVMIG_ROLE_SENDER || w->hello_done || w->next_seq)
		return -EPERM;
	put_be32(hello, w->channel);
	put_be32(hello + 4, (w->stream ? SVMIG_HELLO_F_STREAM : 0) |
			    (w->tpm_salt ? SVMIG_HELLO_F_TPM_SALT : 0));
	memcpy(hello + 8, w->session_id, SVMIG_SESSION_ID_LEN);
	memcpy(hello + 8 + SVMIG_SESSION_ID_LEN, w->salt, SVMIG_SALT_LEN);
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_HELLO, HELLO_LENGTH, 0);
	ret = sealed(w, out, svmig_wire_seal_raw(w, &hdr, hello, sizeof(hello),
						 NULL, 0, out));
	if (ret > 0)
		w->hello_done = true;
	return ret;
}

void svmig_wire_page_identity(uint8_t id[PAGE_ID_LEN], uint32_t slot,
			      uint64_t page, uint32_t generation)
{
	put_be32(id, slot);
	put_be32(id + 4, generation);
	put_be64(id + 8, page);
}

int svmig_wire_seal_page_at(struct svmig_wire *w, uint64_t seq, uint32_t slot,
			    uint64_t page, uint32_t generation,
			    const uint8_t plaintext[SVMIG_PAGE_SIZE],
			    uint8_t *out)
{
	uint8_t id[PAGE_ID_LEN];
	struct svmig_wire_hdr hdr;

	svmig_wire_page_identity(id, slot, page, generation);
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_PAGE, PAGE_LENGTH, seq);
	return seal_raw2(w, &hdr, NULL, 0, id, sizeof(id), plaintext,
			 SVMIG_PAGE_SIZE, out);
}

/* A sender of mode @stream, between its HELLO and its MANIFEST or END? */
static int sender_may_seal(const struct svmig_wire *w, bool stream)
{
	if (w->role != SVMIG_ROLE_SENDER || w->stream != stream ||
	    !w->hello_done || w->manifest_done)
		return -EPERM;
	return 0;
}

int svmig_wire_seal_page(struct svmig_wire *w, uint32_t slot, uint64_t page,
			 const uint8_t plaintext[SVMIG_PAGE_SIZE], uint8_t *out)
{
	uint8_t v[SUM_LEN];
	struct svmig_table_region *r;
	uint32_t gen;
	int ret, len;

	ret = sender_may_seal(w, false);
	if (ret)
		return ret;
	r = svmig_table_find(w->table, slot);
	if (!r || page >= r->npages)
		return -EINVAL;
	if (r->gen[page] == UINT32_MAX)
		return -EOVERFLOW;
	gen = r->gen[page] + 1;
	len = svmig_wire_seal_page_at(w, w->next_seq, slot, page, gen,
				      plaintext, out);
	if (len < 0)
		return len;
	/* the value first: if it fails, nothing has changed */
	ret = wire_value(w, slot, page, gen, out + len - SVMIG_TAG_LEN, v);
	if (!ret)
		ret = advance(w, out, (size_t)len);
	if (ret)
		return ret;
	if (!r->gen[page])
		w->part_pages++;
	svmig_sum_add(w->part_sum, v);
	svmig_sum_sub(w->part_sum, r->value[page]);
	r->gen[page] = gen;
	memcpy(r->value[page], v, SUM_LEN);
	w->page_records++;
	w->stats.pages++;
	return len;
}

/*
 * The MANIFEST's plaintext: be64 pages, be64 page_records, be32 channels,
 * be32 reserved (0), table_sum.
 */
static void make_manifest(uint8_t m[MANIFEST_PT_LEN], uint64_t pages,
			  uint64_t page_records, uint32_t channels,
			  const uint8_t sum[SUM_LEN])
{
	put_be64(m, pages);
	put_be64(m + 8, page_records);
	put_be32(m + MANIFEST_CHANNELS_OFF, channels);
	put_be32(m + MANIFEST_RESERVED_OFF, 0);
	memcpy(m + MANIFEST_SUM_OFF, sum, SUM_LEN);
}

int svmig_wire_seal_manifest(struct svmig_wire *w, uint8_t *out)
{
	uint8_t m[MANIFEST_PT_LEN];
	struct svmig_wire_hdr hdr;
	int ret;

	ret = sender_may_seal(w, false);
	if (ret)
		return ret;
	make_manifest(m, w->part_pages, w->page_records, session_channels(w),
		      w->part_sum);
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_MANIFEST, MANIFEST_LENGTH,
			    w->next_seq);
	ret = sealed(w, out, svmig_wire_seal_raw(w, &hdr, NULL, 0, m,
						 sizeof(m), out));
	if (ret > 0)
		w->manifest_done = true;
	return ret;
}

int svmig_wire_seal_data(struct svmig_wire *w, const void *buf, size_t len,
			 uint8_t *out)
{
	struct svmig_wire_hdr hdr;
	int ret;

	ret = sender_may_seal(w, true);
	if (ret)
		return ret;
	if (!len || len > SVMIG_STREAM_RECORD_MAX)
		return -EINVAL;
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_DATA,
			    (uint32_t)(len + SVMIG_TAG_LEN), w->next_seq);
	ret = sealed(w, out, svmig_wire_seal_raw(w, &hdr, NULL, 0, buf, len,
						 out));
	if (ret > 0) {
		w->data_records++;
		w->data_bytes += len;
	}
	return ret;
}

int svmig_wire_seal_end(struct svmig_wire *w, uint8_t *out)
{
	uint8_t end[END_PT_LEN];
	struct svmig_wire_hdr hdr;
	int ret;

	ret = sender_may_seal(w, true);
	if (ret)
		return ret;
	ret = svmig_wire_end_plaintext(w, end);
	if (ret)
		return ret;
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_END, END_LENGTH, w->next_seq);
	ret = sealed(w, out, svmig_wire_seal_raw(w, &hdr, NULL, 0, end,
						 sizeof(end), out));
	if (ret > 0)
		w->manifest_done = true;
	return ret;
}

/* ---- receiver ---- */

static int refuse(struct svmig_wire *w, int err)
{
	switch (err) {
	case -EPROTO:
		w->stats.proto_errors++;
		break;
	case -EILSEQ:
		w->stats.replays++;
		break;
	case -EBADMSG:
		w->stats.auth_failures++;
		break;
	}
	w->failed = true;
	return err;
}

static int open_hello(struct svmig_wire *w, const uint8_t *buf, size_t len)
{
	const uint8_t *hello = buf + SVMIG_HDR_LEN;
	const uint8_t *salt = hello + 8 + SVMIG_SESSION_ID_LEN;
	uint8_t aad[SVMIG_AAD_MAX_LEN], prk[SVMIG_KEY_LEN];
	uint32_t flags = get_be32(hello + 4);
	size_t aad_len;
	int ret;

	/* flags: exactly this end's mode, and maybe the TPM salt */
	if ((flags & ~SVMIG_HELLO_F_TPM_SALT) !=
	    (w->stream ? SVMIG_HELLO_F_STREAM : 0))
		return refuse(w, -EPROTO);
	if (get_be32(hello) != w->channel ||
	    CRYPTO_memcmp(hello + 8, w->session_id, SVMIG_SESSION_ID_LEN))
		return refuse(w, -EBADMSG);
	if (!w->have_k0)
		return -ENOKEY;
	ret = svmig_kdf_prk(w->k0, salt, prk);
	if (ret)
		return ret;
	drop_key(w);
	ret = use_key(w, prk, 0, false);
	if (!ret) {
		aad_len = make_aad(aad, w, buf, hello, HELLO_CLEAR_LEN);
		ret = gcm_open(w, 0, aad, aad_len, NULL, 0,
			       hello + HELLO_CLEAR_LEN);
	}
	/* authentic: the TPM bit is the sender's word, and may be required */
	if (!ret && w->require_tpm_salt && !(flags & SVMIG_HELLO_F_TPM_SALT))
		ret = -EKEYREJECTED;
	if (!ret)
		ret = advance(w, buf, len);
	if (ret) {
		OPENSSL_cleanse(prk, sizeof(prk));
		drop_key(w);
		return ret == -EBADMSG || ret == -EKEYREJECTED ?
		       refuse(w, ret) : ret;
	}
	memcpy(w->prk, prk, sizeof(prk));
	OPENSSL_cleanse(prk, sizeof(prk));
	w->have_prk = true;
	memcpy(w->salt, salt, SVMIG_SALT_LEN);
	OPENSSL_cleanse(w->k0, sizeof(w->k0));
	w->have_k0 = false;
	w->hello_done = true;
	w->tpm_salt = flags & SVMIG_HELLO_F_TPM_SALT;
	return 0;
}

/*
 * Authenticate the record at @buf under @seq, its clear part @clear_len
 * bytes: its plaintext, the rest but the tag, goes to w->scratch.  0,
 * -EBADMSG, -EPROTO (no epoch for @seq) or -ENOMEM/-EIO; counts nothing.
 */
static int open_at(struct svmig_wire *w, const uint8_t *buf, size_t len,
		   uint64_t seq, size_t clear_len)
{
	const uint8_t *clear = buf + SVMIG_HDR_LEN, *ct = clear + clear_len;
	size_t ct_len = len - SVMIG_HDR_LEN - clear_len - SVMIG_TAG_LEN;
	uint8_t aad[SVMIG_AAD_MAX_LEN];
	size_t aad_len;
	uint32_t epoch;
	int ret;

	if (epoch_of(seq, &epoch))
		return -EPROTO;
	ret = use_key(w, w->prk, epoch, false);
	if (ret)
		return ret;
	aad_len = make_aad(aad, w, buf, clear, clear_len);
	return gcm_open(w, seq, aad, aad_len, ct, ct_len, ct + ct_len);
}

/* The same for the record in sequence (not a HELLO), refused and counted. */
static int open_body(struct svmig_wire *w, const uint8_t *buf, size_t len,
		     uint64_t seq)
{
	int ret = open_at(w, buf, len, seq, 0);

	return ret == -EBADMSG || ret == -EPROTO ? refuse(w, ret) : ret;
}

static int open_page(struct svmig_wire *w, const uint8_t *buf, size_t len,
		     uint64_t seq, uint8_t *out, struct svmig_wire_rec *rec)
{
	const uint8_t *id = w->scratch, *tag = buf + len - SVMIG_TAG_LEN;
	struct svmig_table_region *r;
	uint8_t v[SUM_LEN];
	uint32_t slot, gen;
	uint64_t page;
	bool stale;
	int ret;

	/* the tag first: the identity is part of the plaintext */
	ret = open_body(w, buf, len, seq);
	if (ret)
		return ret;
	slot = get_be32(id);
	gen = get_be32(id + 4);
	page = get_be64(id + 8);
	r = svmig_table_find(w->table, slot);
	if (!r || page >= r->npages || !gen) {
		ret = refuse(w, -EPROTO);
		goto out;
	}
	stale = gen <= r->gen[page];
	/* the value before anything moves: if it fails, nothing has */
	if (!stale) {
		ret = wire_value(w, slot, page, gen, tag, v);
		if (ret)
			goto out;
	}
	ret = advance(w, buf, len);
	if (ret)
		goto out;
	w->page_records++;
	rec->slot = slot;
	rec->generation = gen;
	rec->page = page;
	if (stale) {
		rec->stale = true;
		w->stats.stale_pages++;
	} else {
		if (!r->gen[page])
			w->part_pages++;
		svmig_sum_add(w->part_sum, v);
		svmig_sum_sub(w->part_sum, r->value[page]);
		r->gen[page] = gen;
		memcpy(r->value[page], v, SUM_LEN);
		w->stats.pages++;
		if (out)
			memcpy(out, id + PAGE_ID_LEN, SVMIG_PAGE_SIZE);
	}
out:
	OPENSSL_cleanse(w->scratch, PAGE_PT_LEN);
	return ret;
}

static int open_data(struct svmig_wire *w, const uint8_t *buf, size_t len,
		     uint64_t seq, uint8_t *out, struct svmig_wire_rec *rec)
{
	size_t n = len - SVMIG_HDR_LEN - SVMIG_TAG_LEN;
	int ret;

	ret = open_body(w, buf, len, seq);
	if (ret)
		return ret;
	ret = advance(w, buf, len);
	if (!ret) {
		w->data_records++;
		w->data_bytes += n;
		rec->data_len = (uint32_t)n;
		if (out)
			memcpy(out, w->scratch, n);
	}
	OPENSSL_cleanse(w->scratch, n);
	return ret;
}

/* A wire that never shared its table: its own verdict is the session's. */
static bool always_alone(const struct svmig_wire *w)
{
	return w->table->joined == 1;
}

/*
 * MANIFEST: the reserved field, once authentic (-EPROTO); page_records
 * against the page records this channel saw (accepted + stale); for a
 * wire always alone in its table also channels (1), pages and the sum
 * against its part, which is then the whole table.
 */
static int open_manifest(struct svmig_wire *w, const uint8_t *buf, size_t len,
			 uint64_t seq, struct svmig_wire_rec *rec)
{
	const uint8_t *theirs = w->scratch;
	bool ok;
	int ret;

	ret = open_body(w, buf, len, seq);
	if (ret)
		return ret;
	if (get_be32(theirs + MANIFEST_RESERVED_OFF))
		ret = refuse(w, -EPROTO);
	if (!ret)
		ret = advance(w, buf, len);
	if (!ret) {
		rec->manifest_pages = get_be64(theirs);
		rec->manifest_page_records = get_be64(theirs + 8);
		rec->manifest_channels = get_be32(theirs + MANIFEST_CHANNELS_OFF);
		memcpy(rec->manifest_table_sum, theirs + MANIFEST_SUM_OFF,
		       SUM_LEN);
		ok = rec->manifest_page_records == w->page_records;
		if (always_alone(w))
			ok = ok && rec->manifest_channels == 1 &&
			     rec->manifest_pages == w->part_pages &&
			     !CRYPTO_memcmp(theirs + MANIFEST_SUM_OFF,
					    w->part_sum, SUM_LEN);
		w->verdict = ok ? SVMIG_VERDICT_VERIFIED :
				  SVMIG_VERDICT_MISMATCH;
		w->manifest_pages = rec->manifest_pages;
		w->manifest_channels = rec->manifest_channels;
		memcpy(w->manifest_table_sum, theirs + MANIFEST_SUM_OFF,
		       SUM_LEN);
		w->manifest_done = true;
	}
	OPENSSL_cleanse(w->scratch, MANIFEST_PT_LEN);
	return ret;
}

/*
 * END: the reserved field, once authentic (-EPROTO); records, bytes and
 * transcript, computed before the END counts; for a wire always alone
 * also channels (1).
 */
static int open_end(struct svmig_wire *w, const uint8_t *buf, size_t len,
		    uint64_t seq, struct svmig_wire_rec *rec)
{
	const uint8_t *theirs = w->scratch;
	uint8_t mine[END_PT_LEN];
	bool ok;
	int ret;

	ret = open_body(w, buf, len, seq);
	if (ret)
		return ret;
	if (get_be32(theirs + END_RESERVED_OFF))
		ret = refuse(w, -EPROTO);
	if (!ret)
		ret = svmig_wire_end_plaintext(w, mine);
	if (!ret)
		ret = advance(w, buf, len);
	if (!ret) {
		rec->end_records = get_be64(theirs);
		rec->end_bytes = get_be64(theirs + 8);
		rec->end_channels = get_be32(theirs + END_CHANNELS_OFF);
		memcpy(rec->end_transcript, theirs + END_TRANSCRIPT_OFF,
		       SVMIG_HASH_LEN);
		/* records and bytes, then the transcript */
		ok = !CRYPTO_memcmp(mine, theirs, 16) &&
		     !CRYPTO_memcmp(mine + END_TRANSCRIPT_OFF,
				    theirs + END_TRANSCRIPT_OFF, SVMIG_HASH_LEN);
		if (always_alone(w))
			ok = ok && rec->end_channels == 1;
		w->verdict = ok ? SVMIG_VERDICT_VERIFIED : SVMIG_VERDICT_MISMATCH;
		w->manifest_channels = rec->end_channels;
		w->manifest_done = true;
	}
	OPENSSL_cleanse(w->scratch, sizeof(mine));
	OPENSSL_cleanse(mine, sizeof(mine));
	return ret;
}

/*
 * A record whose seq is not the next one: -EILSEQ (a replayed, reordered or
 * dropped record) only if it is authentic under the seq it carries, so that
 * replays counts authentic records only; anything else is -EBADMSG.
 */
static int out_of_seq(struct svmig_wire *w, const uint8_t *buf, size_t len,
		      uint8_t type, uint64_t seq)
{
	size_t clear_len = type == SVMIG_REC_HELLO ? HELLO_CLEAR_LEN : 0;
	int ret;

	if (!w->hello_done)
		return -EBADMSG;
	ret = open_at(w, buf, len, seq, clear_len);
	OPENSSL_cleanse(w->scratch,
			len - SVMIG_HDR_LEN - clear_len - SVMIG_TAG_LEN);
	return ret ? -EBADMSG : -EILSEQ;
}

int svmig_wire_open_record(struct svmig_wire *w, const uint8_t *buf,
			   size_t len, uint8_t *out,
			   struct svmig_wire_rec *rec)
{
	struct svmig_wire_rec r;
	uint32_t length;
	uint64_t seq;
	uint8_t type;
	int ret;

	memset(&r, 0, sizeof(r));
	if (rec)
		memset(rec, 0, sizeof(*rec));
	if (w->role != SVMIG_ROLE_RECEIVER)
		return -EPERM;

	/* header: -EPROTO */
	if (!buf || len < SVMIG_HDR_LEN)
		return refuse(w, -EPROTO);
	type = buf[1];
	length = get_be32(buf + 4);
	seq = get_be64(buf + 8);
	if (buf[0] != SVMIG_WIRE_VERSION || !header_ok(w, type, length) ||
	    get_be16(buf + 2) || len != SVMIG_HDR_LEN + (size_t)length)
		return refuse(w, -EPROTO);
	/* seq: -EILSEQ if authentic, else -EBADMSG */
	if (seq != w->next_seq)
		return refuse(w, out_of_seq(w, buf, len, type, seq));
	/* place: the HELLO first and only first, nothing after the last */
	if (w->manifest_done || (type == SVMIG_REC_HELLO) == w->hello_done)
		return refuse(w, -EPROTO);

	switch (type) {
	case SVMIG_REC_HELLO:
		ret = open_hello(w, buf, len);
		break;
	case SVMIG_REC_PAGE:
		ret = open_page(w, buf, len, seq, out, &r);
		break;
	case SVMIG_REC_DATA:
		ret = open_data(w, buf, len, seq, out, &r);
		break;
	case SVMIG_REC_MANIFEST:
		ret = open_manifest(w, buf, len, seq, &r);
		break;
	default:			/* END */
		ret = open_end(w, buf, len, seq, &r);
		break;
	}
	if (ret)
		return ret;
	r.type = type;
	r.seq = seq;
	r.verdict = w->verdict;
	if (rec)
		*rec = r;
	return 0;
}

int svmig_wire_eof(struct svmig_wire *w, size_t partial)
{
	if (w->role != SVMIG_ROLE_RECEIVER)
		return -EPERM;
	if (!w->manifest_done) {
		w->verdict = SVMIG_VERDICT_TRUNCATED;
		return -ENODATA;
	}
	return partial ? refuse(w, -EPROTO) : 0;
}
