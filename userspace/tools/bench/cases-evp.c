// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: the bare EVP AES-256-GCM cases, the floor under any OpenSSL
 * sender or receiver, and the two orders of a page-mode receive.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/*
 * Bare EVP AES-256-GCM: one message per batch (4 KiB or 2 MiB) with a
 * 40-byte AAD, no framing, no tables: the floor under any OpenSSL sender.
 */
int evp_crypt(EVP_CIPHER_CTX *ctx, bool enc, uint64_t seq, const uint8_t *in,
		     size_t len, uint8_t *out, uint8_t *tag, bool probe)
{
	uint8_t iv[12] = { 0 }, aad[40] = { 0 };
	struct timespec t;
	int l;

	store_be64(iv + 4, seq);
	store_be64(aad + 32, seq);
	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &l, aad, sizeof(aad)) != 1)
		return -EIO;
	/*
	 * The TCG probe: a vDSO clock_gettime() (rdtsc) between the AAD and
	 * the payload changes nothing on a real CPU, but under QEMU's TCG it
	 * lets OpenSSL's AES-GCM run a 4 KiB message at its bulk rate instead
	 * of about a fifth of it (Documentation/performance.rst).
	 */
	if (probe)
		clock_gettime(CLOCK_MONOTONIC, &t);
	if (EVP_CipherUpdate(ctx, out, &l, in, (int)len) != 1)
		return -EIO;
	if (enc)
		return EVP_CipherFinal_ex(ctx, out + len, &l) == 1 &&
		       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1 ? 0 : -EIO;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		return -EIO;
	return EVP_CipherFinal_ex(ctx, out + len, &l) == 1 ? 0 : -EBADMSG;
}

EVP_CIPHER_CTX *evp_ctx(bool enc, const uint8_t *key)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int evp_run(struct job *j, bool enc, bool probe)
{
	EVP_CIPHER_CTX *ctx = evp_ctx(enc, j->b->secret);
	uint8_t tag[16];
	size_t p, n;
	int ret = 0;

	if (!ctx) {
		job_release(j);
		return job_fail(j, -EIO, "EVP_aes_256_gcm");
	}
	job_go(j);
	for (p = 0; p < j->npages && !ret; p += n) {
		n = j->npages - p < j->batch ? j->npages - p : j->batch;
		if (enc)
			ret = evp_crypt(ctx, true, p, j->src + p * PAGE, n * PAGE, j->buf, tag,
					probe);
		else
			ret = evp_crypt(ctx, false, p, j->evp_ct + p * PAGE, n * PAGE,
					j->dst + p * PAGE, (uint8_t *)j->evp_tags + p * 16, probe);
	}
	job_done(j);
	EVP_CIPHER_CTX_free(ctx);
	return ret ? job_fail(j, ret, "EVP") : 0;
}

/*
 * Page-mode receive in the two orders that keep unverified bytes out of
 * guest memory, as OpenSSL costs them here (the kernel's AEAD API has no
 * tag-only call to time): decrypt into a buffer and copy the page into
 * place (what svmig.ko does), or check the tag first and then decrypt
 * straight into place.  The check is timed as GMAC over the same blocks
 * (the AAD and the ciphertext fed as AAD: GHASH's work, one block more or
 * less), the decryption is AES-CTR from GCM's first counter block, so the
 * pages that land are the real plaintext (checked after the run).
 */
static int open_order_page(struct job *j, EVP_CIPHER_CTX *gcm, EVP_CIPHER_CTX *ctr,
			   size_t p, bool verify_first)
{
	const uint8_t *ct = j->evp_ct + p * PAGE;
	uint8_t iv[16] = { 0 }, aad[40] = { 0 }, tag[16];
	int l;

	if (!verify_first) {
		if (evp_crypt(gcm, false, p, ct, PAGE, j->buf, (uint8_t *)j->evp_tags + p * 16,
			      false))
			return -EBADMSG;
		memcpy(j->dst + p * PAGE, j->buf, PAGE);
		return 0;
	}
	store_be64(iv + 4, p);
	store_be64(aad + 32, p);
	if (EVP_CipherInit_ex(gcm, NULL, NULL, NULL, iv, 1) != 1 ||
	    EVP_CipherUpdate(gcm, NULL, &l, aad, sizeof(aad)) != 1 ||
	    EVP_CipherUpdate(gcm, NULL, &l, ct, PAGE) != 1 ||
	    EVP_CipherFinal_ex(gcm, tag, &l) != 1 ||
	    EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		return -EIO;
	iv[15] = 2;	/* GCM encrypts the payload from inc32(IV || 0^31 || 1) */
	if (EVP_CipherInit_ex(ctr, NULL, NULL, NULL, iv, 0) != 1 ||
	    EVP_CipherUpdate(ctr, j->dst + p * PAGE, &l, ct, PAGE) != 1)
		return -EIO;
	return 0;
}

static int open_order(struct job *j, bool verify_first)
{
	EVP_CIPHER_CTX *gcm = evp_ctx(verify_first, j->b->secret);
	EVP_CIPHER_CTX *ctr = EVP_CIPHER_CTX_new();
	size_t p;
	int ret = 0;

	if (!gcm || !ctr ||
	    EVP_CipherInit_ex(ctr, EVP_aes_256_ctr(), NULL, j->b->secret, NULL, 0) != 1) {
		EVP_CIPHER_CTX_free(gcm);
		EVP_CIPHER_CTX_free(ctr);
		job_release(j);
		return job_fail(j, -EIO, "EVP contexts");
	}
	job_go(j);
	for (p = 0; p < j->npages && !ret; p++)
		ret = open_order_page(j, gcm, ctr, p, verify_first);
	job_done(j);
	EVP_CIPHER_CTX_free(gcm);
	EVP_CIPHER_CTX_free(ctr);
	return ret ? job_fail(j, ret, "EVP") : 0;
}

int open_decrypt_copy(struct job *j) { return open_order(j, false); }
int open_verify_first(struct job *j) { return open_order(j, true); }

int seal_evp(struct job *j) { return evp_run(j, true, false); }
int open_evp(struct job *j) { return evp_run(j, false, false); }
int seal_evp_probe(struct job *j) { return evp_run(j, true, true); }
