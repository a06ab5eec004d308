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
#define PAGE_CLEAR_LEN		sizeof(struct svmig_wire_page)		/* 16 */
#define MANIFEST_PT_LEN		sizeof(struct svmig_wire_manifest)	/* 48 */
#define HELLO_LENGTH		(HELLO_CLEAR_LEN + SVMIG_TAG_LEN)	/* 72 */
#define PAGE_LENGTH		(PAGE_CLEAR_LEN + SVMIG_PAGE_SIZE + SVMIG_TAG_LEN)
#define MANIFEST_LENGTH		(MANIFEST_PT_LEN + SVMIG_TAG_LEN)	/* 64 */
#define END_PT_LEN		sizeof(struct svmig_wire_end)		/* 48 */
#define END_LENGTH		(END_PT_LEN + SVMIG_TAG_LEN)		/* 64 */
#define DATA_LENGTH_MAX		(SVMIG_STREAM_RECORD_MAX + SVMIG_TAG_LEN)
/* seal_raw: any plaintext whose record length fits an int (forgeries) */
#define SEAL_RAW_PT_MAX		((size_t)INT_MAX - SVMIG_HDR_LEN - \
				 HELLO_CLEAR_LEN - SVMIG_TAG_LEN)

_Static_assert(sizeof(struct svmig_wire_hdr) == SVMIG_HDR_LEN, "header");
_Static_assert(HELLO_CLEAR_LEN == 56, "hello");
_Static_assert(PAGE_CLEAR_LEN == 16, "page");
_Static_assert(MANIFEST_PT_LEN == 48, "manifest");
_Static_assert(HELLO_LENGTH == 72 && PAGE_LENGTH == 4128 &&
	       MANIFEST_LENGTH == 64, "record lengths");
_Static_assert(SVMIG_HELLO_REC_LEN == SVMIG_HDR_LEN + HELLO_LENGTH &&
	       SVMIG_PAGE_REC_LEN == SVMIG_HDR_LEN + PAGE_LENGTH &&
	       SVMIG_MANIFEST_REC_LEN == SVMIG_HDR_LEN + MANIFEST_LENGTH,
	       "uapi record lengths");
_Static_assert(END_PT_LEN == 48 && END_LENGTH == 64 &&
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

/* "svmig v1 key s2r" || be32(channel) || be32(epoch) */
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

	if (!npages || npages > SIZE_MAX / SVMIG_TAG_LEN)
		return -EINVAL;
	if (svmig_table_find(t, slot))
		return -EEXIST;
	r.gen = calloc(npages, sizeof(*r.gen));
	r.tag = calloc(npages, sizeof(*r.tag));
	regions = realloc(t->regions, (t->nregions + 1) * sizeof(*regions));
	if (!r.gen || !r.tag || !regions) {
		free(r.gen);
		free(r.tag);
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
		    uint32_t gen, const uint8_t tag[SVMIG_TAG_LEN])
{
	struct svmig_table_region *r = svmig_table_find(t, slot);

	if (!r || page >= r->npages)
		return -EINVAL;
	r->gen[page] = gen;
	memcpy(r->tag[page], tag, SVMIG_TAG_LEN);
	return 0;
}

/* The digest input for one page: be32 slot, be64 page, be32 gen, tag. */
static void digest_entry(uint8_t e[SVMIG_DIGEST_ENTRY_LEN],
			 const struct svmig_table_region *r, uint64_t page)
{
	put_be32(e, r->slot);
	put_be64(e + 4, page);
	put_be32(e + 12, r->gen[page]);
	memcpy(e + 16, r->tag[page], SVMIG_TAG_LEN);
}

int svmig_table_digest(const struct svmig_table *t,
		       uint8_t digest[SVMIG_HASH_LEN], uint64_t *pages)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t e[SVMIG_DIGEST_ENTRY_LEN];
	uint64_t n = 0, page;
	unsigned int len = 0;
	int ok;
	size_t i;

	if (!md)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	for (i = 0; ok && i < t->nregions; i++) {
		const struct svmig_table_region *r = &t->regions[i];

		for (page = 0; ok && page < r->npages; page++) {
			if (!r->gen[page])
				continue;
			digest_entry(e, r, page);
			ok = EVP_DigestUpdate(md, e, sizeof(e)) == 1;
			n++;
		}
	}
	ok = ok && EVP_DigestFinal_ex(md, digest, &len) == 1 &&
	     len == SVMIG_HASH_LEN;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -EIO;
	if (pages)
		*pages = n;
	return 0;
}

void svmig_table_free(struct svmig_table *t)
{
	size_t i;

	for (i = 0; i < t->nregions; i++) {
		free(t->regions[i].gen);
		free(t->regions[i].tag);
	}
	free(t->regions);
	t->regions = NULL;
	t->nregions = 0;
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

/* ct and tag from pt; the key is already in w->ctx. */
static int gcm_seal(struct svmig_wire *w, uint64_t seq, const uint8_t *aad,
		    size_t aad_len, const uint8_t *pt, size_t pt_len,
		    uint8_t *ct, uint8_t tag[SVMIG_TAG_LEN])
{
	uint8_t nonce[SVMIG_NONCE_LEN];
	int outl;

	make_nonce(nonce, seq);
	if (EVP_CipherInit_ex(w->ctx, NULL, NULL, NULL, nonce, 1) != 1 ||
	    EVP_EncryptUpdate(w->ctx, NULL, &outl, aad, (int)aad_len) != 1)
		return -EIO;
	if (pt_len && (EVP_EncryptUpdate(w->ctx, ct, &outl, pt,
					 (int)pt_len) != 1 ||
		       (size_t)outl != pt_len))
		return -EIO;
	if (EVP_EncryptFinal_ex(w->ctx, ct + pt_len, &outl) != 1 || outl ||
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

int svmig_wire_init(struct svmig_wire *w, uint32_t flags,
		    const uint8_t session_id[SVMIG_SESSION_ID_LEN],
		    uint32_t channel, const uint8_t secret[SVMIG_SECRET_LEN])
{
	uint32_t role = flags & ~SVMIG_KEY_STREAM;
	int ret;

	memset(w, 0, sizeof(*w));
	if (role != SVMIG_ROLE_SENDER && role != SVMIG_ROLE_RECEIVER)
		return -EINVAL;
	w->role = role;
	w->stream = flags & SVMIG_KEY_STREAM;
	w->channel = channel;
	memcpy(w->session_id, session_id, SVMIG_SESSION_ID_LEN);
	w->verdict = SVMIG_VERDICT_PENDING;
	w->ctx = EVP_CIPHER_CTX_new();
	if (!w->ctx)
		return -ENOMEM;
	if (w->stream) {
		w->transcript = EVP_MD_CTX_new();
		if (!w->transcript) {
			svmig_wire_free(w);
			return -ENOMEM;
		}
		if (EVP_DigestInit_ex(w->transcript, EVP_sha256(), NULL) != 1) {
			svmig_wire_free(w);
			return -EIO;
		}
	}
	ret = svmig_kdf_k0(secret, session_id, w->k0);
	if (ret) {
		svmig_wire_free(w);
		return ret;
	}
	w->have_k0 = true;
	return 0;
}

void svmig_wire_free(struct svmig_wire *w)
{
	EVP_CIPHER_CTX_free(w->ctx);	/* cleanses the key schedule */
	EVP_MD_CTX_free(w->transcript);
	svmig_table_free(&w->table);
	OPENSSL_cleanse(w, sizeof(*w));
}

int svmig_wire_add_region(struct svmig_wire *w, uint32_t slot, uint64_t npages)
{
	return svmig_table_add_region(&w->table, slot, npages);
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

int svmig_wire_seal_raw(struct svmig_wire *w, const struct svmig_wire_hdr *hdr,
			const void *clear, size_t clear_len,
			const void *pt, size_t pt_len, uint8_t *out)
{
	uint8_t aad[SVMIG_AAD_MAX_LEN], h[SVMIG_HDR_LEN];
	size_t aad_len;
	uint32_t epoch;
	uint64_t seq;
	int ret;

	if (clear_len > HELLO_CLEAR_LEN || pt_len > SEAL_RAW_PT_MAX ||
	    (clear_len && !clear) || (pt_len && !pt))
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
	ret = gcm_seal(w, seq, aad, aad_len, pt, pt_len,
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
	     EVP_DigestFinal_ex(md, end + 16, &len) == 1 &&
	     len == SVMIG_HASH_LEN;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -EIO;
	put_be64(end, w->data_records);
	put_be64(end + 8, w->data_bytes);
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

int svmig_wire_seal_page_at(struct svmig_wire *w, uint64_t seq, uint32_t slot,
			    uint64_t page, uint32_t generation,
			    const uint8_t plaintext[SVMIG_PAGE_SIZE],
			    uint8_t *out)
{
	uint8_t clear[PAGE_CLEAR_LEN];
	struct svmig_wire_hdr hdr;

	put_be32(clear, slot);
	put_be32(clear + 4, generation);
	put_be64(clear + 8, page);
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_PAGE, PAGE_LENGTH, seq);
	return svmig_wire_seal_raw(w, &hdr, clear, sizeof(clear), plaintext,
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
	struct svmig_table_region *r;
	uint32_t gen;
	int ret;

	ret = sender_may_seal(w, false);
	if (ret)
		return ret;
	r = svmig_table_find(&w->table, slot);
	if (!r || page >= r->npages)
		return -EINVAL;
	if (r->gen[page] == UINT32_MAX)
		return -EOVERFLOW;
	gen = r->gen[page] + 1;
	ret = sealed(w, out, svmig_wire_seal_page_at(w, w->next_seq, slot,
						     page, gen, plaintext, out));
	if (ret < 0)
		return ret;
	r->gen[page] = gen;
	memcpy(r->tag[page], out + ret - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
	w->page_records++;
	w->stats.pages++;
	return ret;
}

/* The manifest of a table: be64 pages, be64 page_records, digest. */
static int make_manifest(uint8_t m[MANIFEST_PT_LEN],
			 const struct svmig_table *t, uint64_t page_records)
{
	uint64_t pages;
	int ret;

	ret = svmig_table_digest(t, m + 16, &pages);
	if (ret)
		return ret;
	put_be64(m, pages);
	put_be64(m + 8, page_records);
	return 0;
}

int svmig_wire_seal_manifest(struct svmig_wire *w, uint8_t *out)
{
	uint8_t m[MANIFEST_PT_LEN];
	struct svmig_wire_hdr hdr;
	int ret;

	ret = sender_may_seal(w, false);
	if (ret)
		return ret;
	ret = make_manifest(m, &w->table, w->page_records);
	if (ret)
		return ret;
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
	size_t aad_len;
	int ret;

	/* flags: exactly this end's mode, and maybe the TPM salt */
	if ((get_be32(hello + 4) & ~SVMIG_HELLO_F_TPM_SALT) !=
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
	if (!ret)
		ret = advance(w, buf, len);
	if (ret) {
		OPENSSL_cleanse(prk, sizeof(prk));
		drop_key(w);
		return ret == -EBADMSG ? refuse(w, ret) : ret;
	}
	memcpy(w->prk, prk, sizeof(prk));
	OPENSSL_cleanse(prk, sizeof(prk));
	w->have_prk = true;
	memcpy(w->salt, salt, SVMIG_SALT_LEN);
	OPENSSL_cleanse(w->k0, sizeof(w->k0));
	w->have_k0 = false;
	w->hello_done = true;
	w->tpm_salt = get_be32(hello + 4) & SVMIG_HELLO_F_TPM_SALT;
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
		     uint64_t seq, size_t clear_len)
{
	int ret = open_at(w, buf, len, seq, clear_len);

	return ret == -EBADMSG || ret == -EPROTO ? refuse(w, ret) : ret;
}

static int open_page(struct svmig_wire *w, const uint8_t *buf, size_t len,
		     uint64_t seq, uint8_t *out, struct svmig_wire_rec *rec)
{
	const uint8_t *clear = buf + SVMIG_HDR_LEN;
	uint32_t slot = get_be32(clear), gen = get_be32(clear + 4);
	uint64_t page = get_be64(clear + 8);
	struct svmig_table_region *r;
	int ret;

	r = svmig_table_find(&w->table, slot);
	if (!r || page >= r->npages || !gen)
		return refuse(w, -EPROTO);
	ret = open_body(w, buf, len, seq, PAGE_CLEAR_LEN);
	if (ret)
		return ret;
	ret = advance(w, buf, len);
	if (ret)
		goto out;
	w->page_records++;
	rec->slot = slot;
	rec->generation = gen;
	rec->page = page;
	if (gen <= r->gen[page]) {
		rec->stale = true;
		w->stats.stale_pages++;
	} else {
		r->gen[page] = gen;
		memcpy(r->tag[page], buf + len - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
		w->stats.pages++;
		if (out)
			memcpy(out, w->scratch, SVMIG_PAGE_SIZE);
	}
out:
	OPENSSL_cleanse(w->scratch, SVMIG_PAGE_SIZE);
	return ret;
}

static int open_data(struct svmig_wire *w, const uint8_t *buf, size_t len,
		     uint64_t seq, uint8_t *out, struct svmig_wire_rec *rec)
{
	size_t n = len - SVMIG_HDR_LEN - SVMIG_TAG_LEN;
	int ret;

	ret = open_body(w, buf, len, seq, 0);
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

/*
 * MANIFEST or END: the receiver's own, computed before the record counts,
 * against the sealed one; both are be64, be64, 32-byte hash.
 */
static int open_final(struct svmig_wire *w, const uint8_t *buf, size_t len,
		      uint64_t seq, struct svmig_wire_rec *rec)
{
	const uint8_t *theirs = w->scratch;
	uint8_t mine[MANIFEST_PT_LEN];
	int ret;

	_Static_assert(MANIFEST_PT_LEN == END_PT_LEN, "final records");
	ret = open_body(w, buf, len, seq, 0);
	if (ret)
		return ret;
	if (w->stream)
		ret = svmig_wire_end_plaintext(w, mine);
	else
		ret = make_manifest(mine, &w->table, w->page_records);
	if (!ret)
		ret = advance(w, buf, len);
	if (!ret) {
		/* END: records, bytes and transcript; MANIFEST: pages,
		 * page records seen (accepted + stale) and digest */
		w->verdict = CRYPTO_memcmp(mine, theirs, sizeof(mine)) ?
			     SVMIG_VERDICT_MISMATCH : SVMIG_VERDICT_VERIFIED;
		w->manifest_done = true;
		if (w->stream) {
			rec->end_records = get_be64(theirs);
			rec->end_bytes = get_be64(theirs + 8);
			memcpy(rec->end_transcript, theirs + 16,
			       SVMIG_HASH_LEN);
		} else {
			rec->manifest_pages = get_be64(theirs);
			rec->manifest_page_records = get_be64(theirs + 8);
			memcpy(rec->manifest_digest, theirs + 16,
			       SVMIG_HASH_LEN);
		}
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
	size_t clear_len = type == SVMIG_REC_HELLO ? HELLO_CLEAR_LEN :
			   type == SVMIG_REC_PAGE ? PAGE_CLEAR_LEN : 0;
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
	default:			/* MANIFEST, END */
		ret = open_final(w, buf, len, seq, &r);
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

/* ---- test vectors ---- */

static void put_hex(FILE *f, const char *key, const uint8_t *p, size_t len)
{
	size_t i;

	fprintf(f, "%s=", key);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
	fputc('\n', f);
}

static void fill_range(uint8_t *p, size_t len, uint8_t first)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(first + i);
}

/* byte i = (i * mul + add) & 0xff */
static void fill_pattern(uint8_t *p, size_t len, unsigned int mul,
			 unsigned int add)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * mul + add) & 0xff);
}

/* The nonce, AAD and bytes of a record @rec of length @len. */
static void put_record(FILE *f, const struct svmig_wire *w, const char *name,
		       const uint8_t *rec, size_t len, size_t clear_len)
{
	uint8_t nonce[SVMIG_NONCE_LEN], aad[SVMIG_AAD_MAX_LEN];
	char key[64];
	size_t aad_len;

	make_nonce(nonce, get_be64(rec + 8));
	aad_len = make_aad(aad, w, rec, rec + SVMIG_HDR_LEN, clear_len);
	snprintf(key, sizeof(key), "%s_nonce", name);
	put_hex(f, key, nonce, sizeof(nonce));
	snprintf(key, sizeof(key), "%s_aad", name);
	put_hex(f, key, aad, aad_len);
	snprintf(key, sizeof(key), "%s_tag", name);
	put_hex(f, key, rec + len - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
	put_hex(f, name, rec, len);
}

#define VEC_CHANNEL	3u
#define VEC_SEQ_EPOCH1	(1ULL << SVMIG_EPOCH_SHIFT)

/*
 * The stream section: a stream-mode sender with the same inputs, @pt and
 * @rec big enough for any record.
 */
static int write_stream_vectors(FILE *f, const uint8_t *secret,
				const uint8_t *sid, const uint8_t *salt,
				uint8_t *pt, uint8_t *rec)
{
	static const struct { size_t len; unsigned int mul, add; } data[] = {
		{ 5, 5, 7 }, { 300, 13, 0x21 },
	};
	uint8_t tags[3][SVMIG_TAG_LEN], end[END_PT_LEN];
	struct svmig_wire w;
	size_t i;
	int ret;

	ret = svmig_wire_init(&w, SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM, sid,
			      VEC_CHANNEL, secret);
	if (ret)
		return ret;
	ret = svmig_wire_set_salt(&w, salt);
	if (ret)
		goto out;
	fputs("#\n# == Stream mode ==\n"
	      "# A second sender, keyed for stream mode (SVMIG_KEY_STREAM) with\n"
	      "# the inputs above, so the same K0, PRK and K(0) (test vectors\n"
	      "# only: real channels never share a salt), sealing the records\n"
	      "# below in this order.\n"
	      "#\n"
	      "# HELLO: seq 0, key K(0); channel 3, flags 1\n"
	      "# (SVMIG_HELLO_F_STREAM), session_id, salt\n", f);
	ret = svmig_wire_seal_hello(&w, rec);
	if (ret < 0)
		goto out;
	put_record(f, &w, "stream_hello", rec, (size_t)ret, HELLO_CLEAR_LEN);
	memcpy(tags[0], rec + ret - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
	for (i = 0; i < 2; i++) {
		char name[32];

		fprintf(f, "#\n# DATA: seq %zu, key K(0); %zu bytes of stream,"
			" byte i = (i * %u + 0x%02x) & 0xff\n", i + 1, data[i].len,
			data[i].mul, data[i].add);
		fill_pattern(pt, data[i].len, data[i].mul, data[i].add);
		ret = svmig_wire_seal_data(&w, pt, data[i].len, rec);
		if (ret < 0)
			goto out;
		snprintf(name, sizeof(name), "stream_data%zu", i + 1);
		put_record(f, &w, name, rec, (size_t)ret, 0);
		memcpy(tags[i + 1], rec + ret - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
	}
	ret = svmig_wire_end_plaintext(&w, end);
	if (ret)
		goto out;
	fputs("#\n# END: seq 3, key K(0).  The transcript input: the tags of\n"
	      "# the HELLO and the two DATA records, in order\n", f);
	put_hex(f, "stream_transcript_input", (const uint8_t *)tags,
		sizeof(tags));
	fprintf(f, "# the plaintext: be64 records (%llu) || be64 bytes (%llu)"
		" || SHA-256 of the transcript input\n",
		(unsigned long long)get_be64(end),
		(unsigned long long)get_be64(end + 8));
	put_hex(f, "stream_end_plaintext", end, sizeof(end));
	ret = svmig_wire_seal_end(&w, rec);
	if (ret < 0)
		goto out;
	put_record(f, &w, "stream_end", rec, (size_t)ret, 0);
	ret = 0;
out:
	OPENSSL_cleanse(pt, SVMIG_STREAM_RECORD_MAX);
	svmig_wire_free(&w);
	return ret;
}

int svmig_wire_write_vectors(FILE *f)
{
	uint8_t secret[SVMIG_SECRET_LEN], sid[SVMIG_SESSION_ID_LEN];
	uint8_t salt[SVMIG_SALT_LEN], k0[SVMIG_KEY_LEN], prk[SVMIG_KEY_LEN];
	uint8_t key[SVMIG_KEY_LEN], info[sizeof(SVMIG_LABEL_KEY) - 1 + 8];
	uint8_t e[SVMIG_DIGEST_ENTRY_LEN], m[MANIFEST_PT_LEN];
	uint8_t *pt = NULL, *rec = NULL;
	struct svmig_table_region *r;
	struct svmig_wire w;
	uint32_t epoch;
	uint64_t page;
	size_t i;
	int ret;

	fill_range(secret, sizeof(secret), 0x00);
	fill_range(sid, sizeof(sid), 0xa0);
	fill_range(salt, sizeof(salt), 0x40);

	fputs("# svmig wire-format test vectors, wire version 1\n"
	      "# (Documentation/wire-format.rst).  Generated by svmig-vectors\n"
	      "# (userspace/tools/svmig-vectors.c, OpenSSL); do not edit: the\n"
	      "# unit tests regenerate this file and compare.\n"
	      "#\n"
	      "# Format: key=value lines; '#' lines are comments.  Integers are\n"
	      "# decimal, byte strings hex.  \"x..y\" below means the bytes\n"
	      "# x, x+1, ..., y.  Every record is given whole (header\n"
	      "# included) with its nonce, its AAD (implicit part included)\n"
	      "# and its tag.\n"
	      "#\n"
	      "# == Inputs ==\n"
	      "# secret: bytes 00..1f\n", f);
	put_hex(f, "secret", secret, sizeof(secret));
	fputs("# session_id: bytes a0..af\n", f);
	put_hex(f, "session_id", sid, sizeof(sid));
	fprintf(f, "channel=%u\n", VEC_CHANNEL);
	fputs("# salt (the sender's TPM would draw it): bytes 40..5f\n", f);
	put_hex(f, "salt", salt, sizeof(salt));

	fputs("#\n# == Key schedule ==\n"
	      "# K0 = HKDF-Extract(salt = \"svmig v1 session\" || session_id,"
	      " IKM = secret)\n", f);
	ret = svmig_kdf_k0(secret, sid, k0);
	if (ret)
		return ret;
	put_hex(f, "k0", k0, sizeof(k0));
	fputs("# PRK = HKDF-Extract(salt = salt, IKM = K0)\n", f);
	ret = svmig_kdf_prk(k0, salt, prk);
	if (ret)
		goto out_keys;
	put_hex(f, "prk", prk, sizeof(prk));
	for (epoch = 0; epoch < 2; epoch++) {
		char name[32];

		fprintf(f, "# K(%u) = HKDF-Expand(PRK, info = \"svmig v1 key s2r\""
			" || be32(channel) || be32(%u), L = 32)\n", epoch, epoch);
		key_info(info, VEC_CHANNEL, epoch);
		snprintf(name, sizeof(name), "key%u_info", epoch);
		put_hex(f, name, info, sizeof(info));
		ret = svmig_kdf_key(prk, VEC_CHANNEL, epoch, key);
		if (ret)
			goto out_keys;
		snprintf(name, sizeof(name), "key%u", epoch);
		put_hex(f, name, key, sizeof(key));
	}

	ret = svmig_wire_init(&w, SVMIG_ROLE_SENDER, sid, VEC_CHANNEL, secret);
	if (ret)
		goto out_keys;
	pt = malloc(SVMIG_STREAM_RECORD_MAX);
	rec = calloc(1, SVMIG_REC_MAX_LEN);
	ret = -ENOMEM;
	if (!pt || !rec)
		goto out;
	if ((ret = svmig_wire_add_region(&w, 0, 4)) ||
	    (ret = svmig_wire_add_region(&w, 1, 8)) ||
	    (ret = svmig_wire_set_salt(&w, salt)))
		goto out;

	fputs("#\n# == Records ==\n"
	      "# One sender, the inputs above, regions slot 0 (4 pages) and\n"
	      "# slot 1 (8 pages), sealing the records below in this order.\n"
	      "#\n"
	      "# HELLO: seq 0, key K(0); channel 3, flags 0, session_id, salt\n",
	      f);
	ret = svmig_wire_seal_hello(&w, rec);
	if (ret < 0)
		goto out;
	put_record(f, &w, "hello", rec, (size_t)ret, HELLO_CLEAR_LEN);

	fputs("#\n# PAGE: seq 1, key K(0); slot 1, page 5, generation 1;\n"
	      "# plaintext byte i (i = 0..4095) = (i * 7 + 1) & 0xff\n", f);
	fill_pattern(pt, SVMIG_PAGE_SIZE, 7, 1);
	ret = svmig_wire_seal_page(&w, 1, 5, pt, rec);
	if (ret < 0)
		goto out;
	put_record(f, &w, "page1", rec, (size_t)ret, PAGE_CLEAR_LEN);

	fputs("#\n# PAGE (a resend of the same page): seq 2, key K(0); slot 1,\n"
	      "# page 5, generation 2; plaintext byte i = (i * 11 + 3) & 0xff\n",
	      f);
	fill_pattern(pt, SVMIG_PAGE_SIZE, 11, 3);
	ret = svmig_wire_seal_page(&w, 1, 5, pt, rec);
	if (ret < 0)
		goto out;
	put_record(f, &w, "page2", rec, (size_t)ret, PAGE_CLEAR_LEN);

	fputs("#\n# PAGE after a rekey: the sender skips to seq 1048576\n"
	      "# (1 << 20, the first of epoch 1), key K(1); slot 0, page 2,\n"
	      "# generation 1; plaintext byte i = (i * 3 + 0x55) & 0xff\n", f);
	ret = svmig_wire_set_next_seq(&w, VEC_SEQ_EPOCH1);
	if (ret)
		goto out;
	fill_pattern(pt, SVMIG_PAGE_SIZE, 3, 0x55);
	ret = svmig_wire_seal_page(&w, 0, 2, pt, rec);
	if (ret < 0)
		goto out;
	put_record(f, &w, "page3", rec, (size_t)ret, PAGE_CLEAR_LEN);

	fputs("#\n# MANIFEST: seq 1048577, key K(1).  The page table digest\n"
	      "# input, one 32-byte entry per page with generation != 0, slots\n"
	      "# then pages ascending: be32(slot) || be64(page) ||\n"
	      "# be32(generation) || tag\n", f);
	for (i = 0; i < w.table.nregions; i++) {
		r = &w.table.regions[i];
		for (page = 0; page < r->npages; page++) {
			char name[48];

			if (!r->gen[page])
				continue;
			digest_entry(e, r, page);
			snprintf(name, sizeof(name), "manifest_entry_slot%u_page%llu",
				 r->slot, (unsigned long long)page);
			put_hex(f, name, e, sizeof(e));
		}
	}
	ret = make_manifest(m, &w.table, w.page_records);
	if (ret)
		goto out;
	fprintf(f, "# the plaintext: be64 pages (%llu) || be64 page_records"
		" (%llu) || SHA-256 of the entries\n",
		(unsigned long long)get_be64(m),
		(unsigned long long)get_be64(m + 8));
	put_hex(f, "manifest_plaintext", m, sizeof(m));
	ret = svmig_wire_seal_manifest(&w, rec);
	if (ret < 0)
		goto out;
	put_record(f, &w, "manifest", rec, (size_t)ret, 0);
	ret = write_stream_vectors(f, secret, sid, salt, pt, rec);
	if (!ret && ferror(f))
		ret = -EIO;
out:
	if (pt)
		OPENSSL_cleanse(pt, SVMIG_STREAM_RECORD_MAX);
	free(pt);
	free(rec);
	svmig_wire_free(&w);
out_keys:
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(key, sizeof(key));
	return ret;
}
