// SPDX-License-Identifier: GPL-2.0
/*
 * Record framing and AES-256-GCM sealing (Documentation/wire-format.rst).
 *
 * A record is sealed and opened in place: the header and the type's clear
 * part are authenticated (with the implicit session/channel prefix), the
 * rest is encrypted, and the 16-byte tag follows it.  A PAGE record is
 * sealed out of place instead, from its identity and the guest page
 * straight into the record (svmig_crypt_seal_page()).  The associated data
 * reaches the AEAD as one contiguous copy (svmig_crypt_prepare() says why).
 */
#include <crypto/aead.h>
#include <linux/scatterlist.h>

#include "svmig.h"

/* The length a record of @type must have (0: not a type of this mode). */
static size_t svmig_rec_len(u8 type, bool stream, size_t length)
{
	size_t min_data = SVMIG_HDR_LEN + 1 + SVMIG_TAG_LEN;

	switch (type) {
	case SVMIG_REC_HELLO:
		return SVMIG_HELLO_REC_LEN;
	case SVMIG_REC_PAGE:
		return stream ? 0 : SVMIG_PAGE_REC_LEN;
	case SVMIG_REC_MANIFEST:
		return stream ? 0 : SVMIG_MANIFEST_REC_LEN;
	case SVMIG_REC_DATA:
		if (!stream || length < min_data || length > SVMIG_DATA_REC_MAX)
			return 0;
		return length;
	case SVMIG_REC_END:
		return stream ? SVMIG_END_REC_LEN : 0;
	}
	return 0;
}

void svmig_put_hdr(u8 *rec, u8 type, u32 length, u64 seq)
{
	struct svmig_wire_hdr *hdr = (struct svmig_wire_hdr *)rec;

	hdr->version = SVMIG_WIRE_VERSION;
	hdr->type = type;
	hdr->reserved = 0;
	hdr->length = cpu_to_be32(length);
	hdr->seq = cpu_to_be64(seq);
}

/* Checks a header from the wire; on success *rec_len is the record's size. */
int svmig_check_hdr(const u8 *rec, bool stream, size_t *rec_len)
{
	const struct svmig_wire_hdr *hdr = (const struct svmig_wire_hdr *)rec;
	size_t length = (size_t)be32_to_cpu(hdr->length) + SVMIG_HDR_LEN;
	size_t len = svmig_rec_len(hdr->type, stream, length);

	if (hdr->version != SVMIG_WIRE_VERSION || hdr->reserved || !len || len != length)
		return -EPROTO;
	*rec_len = len;
	return 0;
}

/*
 * The associated data, implicit prefix || clear part, goes to the AEAD as
 * the first scatterlist entry, whole: c->aad, the clear part copied behind
 * the prefix.  Linux 6.1's AES-NI GCM (gcmaes_crypt_by_sg) reads the AAD in
 * place only if req->src->length >= assoclen, and otherwise kmalloc()s and
 * copies it for every record.  Returns assoclen, c->iv and c->sg[0] set
 * (c->sg a table of @nents entries), or an error.  The AEAD's key is the
 * caller's business (svmig_keys_for_seq()).
 */
static int svmig_crypt_prepare(struct svmig_crypt *c, const u8 *rec, size_t clear_len,
			       unsigned int nents)
{
	const struct svmig_wire_hdr *hdr = (const struct svmig_wire_hdr *)rec;
	size_t assoclen = SVMIG_AAD_IMPLICIT_LEN + clear_len;

	if (WARN_ON_ONCE(clear_len < SVMIG_HDR_LEN || clear_len > SVMIG_CLEAR_MAX))
		return -EINVAL;
	memset(c->iv, 0, 4);
	memcpy(c->iv + 4, &hdr->seq, sizeof(hdr->seq));
	memcpy(c->aad + SVMIG_AAD_IMPLICIT_LEN, rec, clear_len);
	sg_init_table(c->sg, nents);
	sg_set_buf(&c->sg[0], c->aad, assoclen);
	return assoclen;
}

/* The channel's own request, with the key of the record's epoch. */
static int svmig_crypt_begin(struct svmig_channel *ch, const u8 *rec, size_t clear_len,
			     unsigned int nents)
{
	const struct svmig_wire_hdr *hdr = (const struct svmig_wire_hdr *)rec;
	int ret;

	ret = svmig_keys_for_seq(ch, be64_to_cpu(hdr->seq));
	if (ret)
		return ret;
	return svmig_crypt_prepare(&ch->keys.crypt, rec, clear_len, nents);
}

/* Runs the AEAD from c->sg to @dst and waits for it. */
static int svmig_crypt_run(struct svmig_crypt *c, struct scatterlist *dst,
			   size_t assoclen, size_t crypt_len, bool encrypt)
{
	struct aead_request *req = c->req;
	DECLARE_CRYPTO_WAIT(wait);
	int ret;

	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_SLEEP, crypto_req_done, &wait);
	aead_request_set_ad(req, assoclen);
	aead_request_set_crypt(req, c->sg, dst, crypt_len, c->iv);
	ret = encrypt ? crypto_aead_encrypt(req) : crypto_aead_decrypt(req);
	return crypto_wait_req(ret, &wait);
}

/*
 * In place: the second entry is the record from the end of its clear part
 * on, encrypted or decrypted where it is (src == dst, so the AAD copy is
 * only read).
 */
static int svmig_crypt_in_place(struct svmig_crypt *c, int assoclen, u8 *rec,
				size_t clear_len, size_t crypt_len, bool encrypt)
{
	if (assoclen < 0)
		return assoclen;
	sg_set_buf(&c->sg[1], rec + clear_len, crypt_len + (encrypt ? SVMIG_TAG_LEN : 0));
	return svmig_crypt_run(c, c->sg, assoclen, crypt_len, encrypt);
}

static int svmig_crypt(struct svmig_channel *ch, u8 *rec, size_t clear_len,
		       size_t crypt_len, bool encrypt)
{
	int assoclen = svmig_crypt_begin(ch, rec, clear_len, 2);

	return svmig_crypt_in_place(&ch->keys.crypt, assoclen, rec, clear_len, crypt_len,
				    encrypt);
}

/* Encrypts pt_len bytes after the clear part and appends the tag. */
int svmig_rec_seal(struct svmig_channel *ch, u8 *rec, size_t clear_len, size_t pt_len)
{
	return svmig_crypt(ch, rec, clear_len, pt_len, true);
}

/* Verifies and decrypts; ct_len includes the tag.  -EBADMSG if forged. */
int svmig_rec_open(struct svmig_channel *ch, u8 *rec, size_t clear_len, size_t ct_len)
{
	return svmig_crypt(ch, rec, clear_len, ct_len, false);
}

/*
 * Out of place: seals a PAGE record (no clear part) whose plaintext is
 * @ident (struct svmig_wire_page, wire byte order) followed by the page at
 * @offset in @page (held by the caller), writing the ciphertext and tag
 * into the record after its header: the page's bytes are read once, by
 * the cipher, and never copied into the record.  src = [aad copy][identity
 * copy][the page], dst = [the same aad copy][the record's ciphertext and
 * tag].  Both Linux 6.1 GCMs (AES-NI's gcmaes_crypt_by_sg and crypto/gcm.c)
 * read the AAD from src only and skip it in dst without writing; were one
 * to copy it across, it would write the same bytes over themselves.  The
 * bytes sealed are those svmig_rec_seal() would seal from a copy of the
 * identity and the page in the record.
 */
static int svmig_crypt_page(struct svmig_crypt *c, int assoclen, u8 *rec,
			    struct page *page, unsigned int offset)
{
	const size_t id_len = sizeof(struct svmig_wire_page);

	if (assoclen < 0)
		return assoclen;
	if (WARN_ON_ONCE(offset + SVMIG_PAGE_SIZE > PAGE_SIZE))
		return -EINVAL;
	sg_set_buf(&c->sg[1], c->ident, id_len);
	sg_set_page(&c->sg[2], page, SVMIG_PAGE_SIZE, offset);
	sg_init_table(c->dst, 2);
	sg_set_buf(&c->dst[0], c->aad, assoclen);
	sg_set_buf(&c->dst[1], rec + SVMIG_HDR_LEN, id_len + SVMIG_PAGE_SIZE + SVMIG_TAG_LEN);
	return svmig_crypt_run(c, c->dst, assoclen, id_len + SVMIG_PAGE_SIZE, true);
}

/*
 * A request of a batch (batch.c), with the key already the right one for
 * every record it will seal: a PAGE record at @rec, its header set, from
 * c->ident and @page, or (@page NULL) from the identity and page already
 * copied into the record, in place.
 */
int svmig_crypt_seal_page(struct svmig_crypt *c, u8 *rec, struct page *page,
			  unsigned int offset)
{
	const size_t pt_len = sizeof(struct svmig_wire_page) + SVMIG_PAGE_SIZE;

	if (page)
		return svmig_crypt_page(c, svmig_crypt_prepare(c, rec, SVMIG_HDR_LEN, 3), rec,
					page, offset);
	return svmig_crypt_in_place(c, svmig_crypt_prepare(c, rec, SVMIG_HDR_LEN, 2), rec,
				    SVMIG_HDR_LEN, pt_len, true);
}
