// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: what one channel's runs read and write, prepared untimed:
 * random pages, the oracle's sealed stream, plain records, bare EVP
 * messages; and a job set up over them.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bench.h"

/* The oracle's stream for @channel: HELLO, every page once, MANIFEST. */
static int oracle_stream(const struct bench *b, uint32_t channel, struct data *d)
{
	uint8_t salt[SVMIG_SALT_LEN], *p = d->sealed;
	struct svmig_wire w;
	size_t i;
	int len, ret;

	ret = svmig_wire_init(&w, SVMIG_ROLE_SENDER, bench_session_id, channel, b->secret);
	if (ret)
		return ret;
	ret = svmig_wire_add_region(&w, SLOT, d->npages);
	if (!ret)
		ret = RAND_bytes(salt, sizeof(salt)) == 1 ? svmig_wire_set_salt(&w, salt) : -EIO;
	len = ret ? ret : svmig_wire_seal_hello(&w, p);
	for (i = 0; len > 0 && i <= d->npages; i++) {
		p += len;
		len = i < d->npages ? svmig_wire_seal_page(&w, SLOT, i, d->src + i * PAGE, p) :
				      svmig_wire_seal_manifest(&w, p);
	}
	if (len > 0)
		p += len;
	svmig_wire_free(&w);
	if (len < 0)
		return len;
	return (size_t)(p - d->sealed) == d->sealed_len ? 0 : -EIO;
}

void data_free(struct data *d)
{
	unmap(d->src, d->npages * PAGE);
	unmap(d->dst, d->npages * PAGE);
	unmap(d->sealed, d->sealed_len);
	unmap(d->plain, d->plain_len);
	unmap(d->evp_ct, d->npages * PAGE);
	unmap(d->evp_tags, d->npages * 16);
	unmap(d->buf, d->buf_len);
	memset(d, 0, sizeof(*d));
}

/* Random pages, and (untimed) the records the open cases read. */
int data_init(const struct bench *b, uint32_t channel, bool evp, struct data *d)
{
	size_t i;
	int ret;

	memset(d, 0, sizeof(*d));
	d->npages = b->npages;
	d->sealed_len = page_stream_len(d->npages);
	d->plain_len = d->npages * REC;
	d->buf_len = BIG_BATCH * REC + CHUNK;
	d->src = map(d->npages * PAGE);
	d->dst = map(d->npages * PAGE);
	d->sealed = map(d->sealed_len);
	d->plain = map(d->plain_len);
	d->buf = map(d->buf_len);
	if (evp) {
		d->evp_ct = map(d->npages * PAGE);
		d->evp_tags = map(d->npages * 16);
	}
	if (!d->src || !d->dst || !d->sealed || !d->plain || !d->buf ||
	    (evp && (!d->evp_ct || !d->evp_tags))) {
		data_free(d);
		return -ENOMEM;
	}
	ret = fill_random(d->src, d->npages * PAGE);
	if (!ret)
		ret = oracle_stream(b, channel, d);
	for (i = 0; !ret && i < d->npages; i++)
		plain_record(d->plain + i * REC, i, i, d->src + i * PAGE);
	if (ret)
		data_free(d);
	return ret;
}

/*
 * Bare EVP open reads messages of the batch's size: their ciphertext and
 * tags (the nonce is the first page's index, so both depend on the batch).
 */
int evp_prepare(const struct bench *b, struct data *d, unsigned int batch)
{
	EVP_CIPHER_CTX *ctx = evp_ctx(true, b->secret);
	size_t i, n;
	int ret = ctx ? 0 : -EIO;

	for (i = 0; !ret && i < d->npages; i += n) {
		n = d->npages - i < batch ? d->npages - i : batch;
		ret = evp_crypt(ctx, true, i, d->src + i * PAGE, n * PAGE, d->evp_ct + i * PAGE,
				d->evp_tags + i * 16, false);
	}
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

void job_init(struct job *j, struct bench *b, struct data *d, const struct ccase *c,
		     unsigned int batch, uint32_t channel)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
	j->batch = batch;
	j->channel = channel;
	j->npages = d->npages;
	j->src = d->src;
	j->dst = d->dst;
	j->buf = d->buf;
	j->buf_len = d->buf_len;
	j->stream = c->input == IN_PLAIN ? d->plain : d->sealed;
	j->stream_len = c->input == IN_PLAIN ? d->plain_len : d->sealed_len;
	j->evp_ct = d->evp_ct;
	j->evp_tags = d->evp_tags;
	j->s.tx_copied = NAN;
	j->s.rx_reads = NAN;
}
