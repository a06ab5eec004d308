// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * wire-vectors: the test vectors of Documentation/wire-vectors.txt, written
 * by the oracle (wire.c) itself: every record below is sealed by an oracle
 * sender and opened by an oracle receiver, and the writer fails if the
 * receiver's answer is not the one the vector states.  The file format is
 * Documentation/wire-format.rst's "Test vectors" section.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wire.h"

#define MAX_CH		2
#define CH0		3u		/* channel numbers of the vectors */
#define CH1		4u

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void fill_range(uint8_t *p, size_t len, uint8_t first)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(first + i);
}

/* plaintext_formula=(i*MUL+ADD)&0xff */
static void fill_formula(uint8_t *p, size_t len, unsigned int mul,
			 unsigned int add)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * mul + add) & 0xff);
}

/* A sender's inputs: what a record was sealed with. */
struct sealer {
	struct svmig_wire *w;
	uint8_t secret[SVMIG_SECRET_LEN];
	uint8_t salt[SVMIG_SALT_LEN];
	uint32_t channel;
};

/* The vector being written. */
struct vw {
	FILE *f;
	int err;			/* the first error */
	bool stream, session;
	uint8_t secret[SVMIG_SECRET_LEN], sid[SVMIG_SESSION_ID_LEN];
	uint8_t kt[SVMIG_TABLE_KEY_LEN];
	size_t nch;			/* receiving channels */
	size_t ntx;			/* the sender's channels (>= nch) */
	struct sealer tx[MAX_CH];
	struct svmig_wire *rx[MAX_CH];
	/* tags of the records each sender sealed (stream: the transcript) */
	uint8_t tags[MAX_CH][8][SVMIG_TAG_LEN];
	size_t ntags[MAX_CH];
	int step;
	bool refused;			/* the last step was a refusal */
	bool jump;			/* both ends skipped to the next seq */
	uint8_t rec[SVMIG_REC_MAX_LEN];
	uint8_t pt[SVMIG_STREAM_RECORD_MAX];
	uint8_t out[SVMIG_STREAM_RECORD_MAX];
};

/* What a step's record carries, for its key=value lines. */
struct body {
	/* PAGE, DATA: the plaintext, a formula (mul != 0) or hex */
	unsigned int mul, add;
	size_t len;
	/* forgeries */
	bool xor;
	size_t xor_off;
	uint8_t xor_mask;
	size_t cut;			/* EOF: bytes of the next record */
};

static void hex(struct vw *v, const char *key, const uint8_t *p, size_t len)
{
	size_t i;

	fprintf(v->f, "%s=", key);
	for (i = 0; i < len; i++)
		fprintf(v->f, "%02x", p[i]);
	fputc('\n', v->f);
}

static void shex(struct vw *v, const char *key, const uint8_t *p, size_t len)
{
	char k[64];

	snprintf(k, sizeof(k), "step%d.%s", v->step, key);
	hex(v, k, p, len);
}

static void sdec(struct vw *v, const char *key, unsigned long long n)
{
	fprintf(v->f, "step%d.%s=%llu\n", v->step, key, n);
}

static void fail(struct vw *v, int err)
{
	if (!v->err)
		v->err = err ? err : -EIO;
}

static const char *type_name(uint8_t type)
{
	static const char *const names[] = {
		"0", "HELLO", "PAGE", "MANIFEST", "DATA", "END",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

static const char *verdict_name(uint32_t verdict)
{
	static const char *const names[] = {
		"PENDING", "VERIFIED", "MISMATCH", "FAILED", "TRUNCATED",
	};

	return verdict < 5 ? names[verdict] : "?";
}

static int sealer_init(struct vw *v, struct sealer *s, const uint8_t *secret,
		       uint32_t channel, uint8_t salt_first, bool tpm)
{
	int ret;

	s->w = calloc(1, sizeof(*s->w));
	if (!s->w)
		return -ENOMEM;
	memcpy(s->secret, secret, SVMIG_SECRET_LEN);
	fill_range(s->salt, SVMIG_SALT_LEN, salt_first);
	s->channel = channel;
	ret = svmig_wire_init(s->w, SVMIG_ROLE_SENDER |
			      (v->stream ? SVMIG_KEY_STREAM : 0), v->sid,
			      channel, secret);
	if (!ret)
		ret = svmig_wire_set_tpm_salt(s->w, tpm);
	if (!ret)
		ret = svmig_wire_set_salt(s->w, s->salt);
	return ret;
}

static void sealer_free(struct sealer *s)
{
	if (s->w) {
		svmig_wire_free(s->w);
		free(s->w);
		s->w = NULL;
	}
}

struct vopts {
	bool stream;
	bool session;			/* two channels, CH0 and CH1, joined */
	/*
	 * the sender's session has CH0 and CH1, the receiver CH0 alone
	 * (session 0): sender_channels=3,4
	 */
	bool sender_session;
	bool tpm;			/* the senders set SVMIG_HELLO_F_TPM_SALT */
	bool require_tpm;		/* the receivers require it */
	const char *expect_errno;	/* NULL: expect=accept */
};

static const struct { uint32_t slot; uint64_t npages; } regions[] = {
	{ 0, 4 }, { 1, 8 },
};

/* vector=NAME and the vector's inputs and derived keys. */
static void vec_begin(struct vw *v, const char *name, const char *what,
		      const struct vopts *o)
{
	uint8_t k0[SVMIG_KEY_LEN], fp[SVMIG_HASH_LEN], prk[SVMIG_KEY_LEN];
	size_t i, j;
	int ret;

	memset(v->tags, 0, sizeof(v->tags));
	memset(v->ntags, 0, sizeof(v->ntags));
	v->stream = o->stream;
	v->session = o->session;
	v->nch = o->session ? 2 : 1;
	v->ntx = o->session || o->sender_session ? 2 : 1;
	v->step = 0;
	v->refused = false;
	fill_range(v->secret, sizeof(v->secret), 0x00);
	fill_range(v->sid, sizeof(v->sid), 0xa0);

	fprintf(v->f, "\n# %s\nvector=%s\n", what, name);
	fprintf(v->f, "mode=%s\n", v->stream ? "stream" : "page");
	fprintf(v->f, "expect=%s\n", o->expect_errno ? "refuse" : "accept");
	if (o->expect_errno)
		fprintf(v->f, "errno=%s\n", o->expect_errno);
	hex(v, "secret", v->secret, sizeof(v->secret));
	hex(v, "session_id", v->sid, sizeof(v->sid));
	fprintf(v->f, "session=%d\n", v->session);
	fprintf(v->f, "require_tpm_salt=%d\n", o->require_tpm);
	fputs("regions=", v->f);
	for (i = 0; !v->stream && i < sizeof(regions) / sizeof(regions[0]); i++)
		fprintf(v->f, "%s%u:%llu", i ? "," : "", regions[i].slot,
			(unsigned long long)regions[i].npages);
	fputc('\n', v->f);
	ret = svmig_kdf_k0(v->secret, v->sid, k0);
	if (!ret)
		ret = svmig_kdf_table_key(k0, v->kt);
	if (!ret)
		ret = svmig_kdf_fp(k0, fp);
	if (ret) {
		fail(v, ret);
		return;
	}
	hex(v, "k0", k0, sizeof(k0));
	hex(v, "kt", v->kt, sizeof(v->kt));
	hex(v, "fp", fp, sizeof(fp));
	fprintf(v->f, "channels=%u", CH0);
	if (v->nch > 1)
		fprintf(v->f, ",%u", CH1);
	fputc('\n', v->f);
	if (v->ntx != v->nch)
		fprintf(v->f, "sender_channels=%u,%u\n", CH0, CH1);

	for (i = 0; i < v->ntx; i++) {
		uint32_t ch = i ? CH1 : CH0;
		char key[32];

		ret = sealer_init(v, &v->tx[i], v->secret, ch,
				  (uint8_t)(0x40 + 0x20 * i), o->tpm);
		if (!ret && i)
			ret = svmig_wire_join(v->tx[i].w, v->tx[0].w);
		for (j = 0; !ret && !v->stream &&
			    j < sizeof(regions) / sizeof(regions[0]); j++)
			ret = svmig_wire_add_region(v->tx[i].w, regions[j].slot,
						    regions[j].npages);
		if (ret) {
			fail(v, ret);
			break;
		}
		if (i >= v->nch)
			continue;	/* a sender's channel nobody opens */
		ret = svmig_kdf_prk(k0, v->tx[i].salt, prk);
		v->rx[i] = calloc(1, sizeof(*v->rx[i]));
		if (!ret && !v->rx[i])
			ret = -ENOMEM;
		if (!ret)
			ret = svmig_wire_init(v->rx[i], SVMIG_ROLE_RECEIVER |
					      (v->stream ? SVMIG_KEY_STREAM : 0) |
					      (o->require_tpm ?
					       SVMIG_KEY_REQUIRE_TPM_SALT : 0),
					      v->sid, ch, v->secret);
		if (!ret && i)
			ret = svmig_wire_join(v->rx[i], v->rx[0]);
		for (j = 0; !ret && !v->stream &&
			    j < sizeof(regions) / sizeof(regions[0]); j++)
			ret = svmig_wire_add_region(v->rx[i], regions[j].slot,
						    regions[j].npages);
		if (ret) {
			fail(v, ret);
			break;
		}
		snprintf(key, sizeof(key), "ch%u.salt", ch);
		hex(v, key, v->tx[i].salt, SVMIG_SALT_LEN);
		snprintf(key, sizeof(key), "ch%u.prk", ch);
		hex(v, key, prk, sizeof(prk));
	}
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(prk, sizeof(prk));
}

/* The receivers' parts, the session's verdict, and end. */
static void vec_end(struct vw *v)
{
	uint8_t sum[SVMIG_TABLE_SUM_LEN] = { 0 };
	uint64_t pages = 0;
	size_t i;

	for (i = 0; !v->err && i < v->nch; i++) {
		struct svmig_wire *r = v->rx[i];
		char key[48];

		if (v->stream || v->refused)
			break;
		fprintf(v->f, "ch%u.rx_pages=%llu\n", r->channel,
			(unsigned long long)r->part_pages);
		fprintf(v->f, "ch%u.rx_page_records=%llu\n", r->channel,
			(unsigned long long)r->page_records);
		snprintf(key, sizeof(key), "ch%u.rx_table_sum", r->channel);
		hex(v, key, r->part_sum, sizeof(r->part_sum));
		pages += r->part_pages;
		svmig_sum_add(sum, r->part_sum);
	}
	if (!v->err && !v->refused) {
		if (!v->stream) {
			fprintf(v->f, "session_pages=%llu\n",
				(unsigned long long)pages);
			hex(v, "session_table_sum", sum, sizeof(sum));
		}
		fprintf(v->f, "verdict=%s\n", verdict_name(
			svmig_wire_session_verdict(v->rx, v->nch)));
	}
	fprintf(v->f, "steps=%d\nend\n", v->step);
	for (i = 0; i < v->ntx; i++)
		sealer_free(&v->tx[i]);
	for (i = 0; i < v->nch; i++) {
		if (v->rx[i])
			svmig_wire_free(v->rx[i]);
		free(v->rx[i]);
		v->rx[i] = NULL;
	}
}

/* Channel index of channel number @ch. */
static size_t chi(uint32_t ch)
{
	return ch == CH1;
}

/*
 * One step: the record @len bytes at v->rec, sealed by @s (the channel's
 * sender unless a forgery says otherwise), delivered on channel @ch;
 * @expect is 0 (accepted), 1 (accepted as stale) or -errno.
 */
static void step(struct vw *v, uint32_t ch, const struct sealer *s, int len,
		 const struct body *b, int expect)
{
	const uint8_t *r = v->rec;
	struct svmig_wire *rx = v->rx[chi(ch)];
	struct svmig_wire_rec info;
	uint8_t key[SVMIG_KEY_LEN], prk[SVMIG_KEY_LEN], k0[SVMIG_KEY_LEN];
	uint8_t nonce[SVMIG_NONCE_LEN], aad[SVMIG_AAD_MAX_LEN];
	uint8_t val[SVMIG_TABLE_SUM_LEN];
	size_t aad_len, clear_len;
	uint64_t seq;
	uint8_t type;
	int ret;

	if (v->err)
		return;
	if (len < 0) {
		fail(v, len);
		return;
	}
	v->step++;
	type = r[1];
	seq = get_be64(r + 8);
	clear_len = type == SVMIG_REC_HELLO ? sizeof(struct svmig_wire_hello) : 0;
	fprintf(v->f, "step%d.channel=%u\n", v->step, ch);
	fprintf(v->f, "step%d.type=%s\n", v->step, type_name(type));
	if (s != &v->tx[chi(ch)]) {
		shex(v, "seal_secret", s->secret, SVMIG_SECRET_LEN);
		sdec(v, "seal_channel", s->channel);
		shex(v, "seal_salt", s->salt, SVMIG_SALT_LEN);
	}
	sdec(v, "version", r[0]);
	sdec(v, "seq", seq);
	if (v->jump)
		sdec(v, "jump", 1);
	v->jump = false;
	sdec(v, "epoch", seq >> SVMIG_EPOCH_SHIFT);

	/* the record's inputs */
	switch (type) {
	case SVMIG_REC_HELLO:
		sdec(v, "hello_flags", get_be32(r + SVMIG_HDR_LEN + 4));
		break;
	case SVMIG_REC_PAGE:
		/* the identity is the record's plaintext: from the caller */
		sdec(v, "slot", get_be32(v->pt));
		sdec(v, "page", get_be64(v->pt + 8));
		sdec(v, "generation", get_be32(v->pt + 4));
		shex(v, "identity", v->pt, sizeof(struct svmig_wire_page));
		if (b->mul)
			fprintf(v->f, "step%d.plaintext_formula=(i*%u+%u)&0xff\n",
				v->step, b->mul, b->add);
		else
			shex(v, "plaintext", v->pt + 16, SVMIG_PAGE_SIZE);
		break;
	case SVMIG_REC_MANIFEST:
		sdec(v, "manifest_pages", get_be64(v->pt));
		sdec(v, "manifest_page_records", get_be64(v->pt + 8));
		sdec(v, "manifest_channels", get_be32(v->pt + 16));
		sdec(v, "manifest_reserved", get_be32(v->pt + 20));
		shex(v, "manifest_table_sum", v->pt + 24, SVMIG_TABLE_SUM_LEN);
		shex(v, "plaintext", v->pt, sizeof(struct svmig_wire_manifest));
		break;
	case SVMIG_REC_DATA:
		sdec(v, "length", b->len);
		if (b->mul)
			fprintf(v->f, "step%d.plaintext_formula=(i*%u+%u)&0xff\n",
				v->step, b->mul, b->add);
		else
			shex(v, "plaintext", v->pt, b->len);
		break;
	case SVMIG_REC_END:
		sdec(v, "end_records", get_be64(v->pt));
		sdec(v, "end_bytes", get_be64(v->pt + 8));
		sdec(v, "end_channels", get_be32(v->pt + 16));
		sdec(v, "end_reserved", get_be32(v->pt + 20));
		shex(v, "end_transcript_input", v->tags[chi(ch)][0],
		     v->ntags[chi(ch)] * SVMIG_TAG_LEN);
		shex(v, "end_transcript", v->pt + 24, SVMIG_HASH_LEN);
		shex(v, "plaintext", v->pt, sizeof(struct svmig_wire_end));
		break;
	}

	/* intermediate values: key, nonce, AAD, clear part, value, tag */
	ret = svmig_kdf_k0(s->secret, v->sid, k0);
	if (!ret)
		ret = svmig_kdf_prk(k0, s->salt, prk);
	if (!ret)
		ret = svmig_kdf_key(prk, s->channel,
				    (uint32_t)(seq >> SVMIG_EPOCH_SHIFT), key);
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(prk, sizeof(prk));
	if (ret) {
		fail(v, ret);
		return;
	}
	shex(v, "key", key, sizeof(key));
	memset(nonce, 0, 4);
	put_be64(nonce + 4, seq);
	shex(v, "nonce", nonce, sizeof(nonce));
	memcpy(aad, v->sid, SVMIG_SESSION_ID_LEN);
	put_be32(aad + 16, s->channel);
	put_be32(aad + 20, 0);
	memcpy(aad + 24, r, SVMIG_HDR_LEN);
	memcpy(aad + 24 + SVMIG_HDR_LEN, r + SVMIG_HDR_LEN, clear_len);
	aad_len = 24 + SVMIG_HDR_LEN + clear_len;
	shex(v, "aad", aad, aad_len);
	if (clear_len)
		shex(v, "clear", aad + 24 + SVMIG_HDR_LEN, clear_len);
	/* the record as sealed: a flip (xor) comes after */
	memcpy(val, r + len - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
	shex(v, "tag", val, SVMIG_TAG_LEN);
	if (type == SVMIG_REC_PAGE) {
		uint8_t tag[SVMIG_TAG_LEN];

		memcpy(tag, val, SVMIG_TAG_LEN);
		ret = svmig_table_value(v->kt, get_be32(v->pt),
					get_be64(v->pt + 8), get_be32(v->pt + 4),
					tag, val);
		if (ret) {
			fail(v, ret);
			return;
		}
		shex(v, "value", val, sizeof(val));
	}
	if (b->xor) {
		fprintf(v->f, "step%d.xor=%zu:%02x\n", v->step, b->xor_off,
			b->xor_mask);
		v->rec[b->xor_off] ^= b->xor_mask;
	}
	shex(v, "wire", r, (size_t)len);

	/* the receiver's answer must be the one stated */
	ret = svmig_wire_open_record(rx, r, (size_t)len, v->out, &info);
	if (ret != (expect < 0 ? expect : 0) ||
	    (!ret && info.stale != (expect == 1))) {
		fprintf(stderr, "svmig-vectors: step %d: %d (stale %d), "
			"expected %d\n", v->step, ret, info.stale, expect);
		fail(v, -EPROTO);
		return;
	}
	if (ret) {
		fprintf(v->f, "step%d.result=refuse\n", v->step);
		v->refused = true;
		return;
	}
	fprintf(v->f, "step%d.result=%s\n", v->step, info.stale ? "stale" :
		"accept");
	if (type == SVMIG_REC_MANIFEST || type == SVMIG_REC_END)
		fprintf(v->f, "step%d.verdict=%s\n", v->step,
			verdict_name(info.verdict));
}

/* Remember a record's tag for its channel's transcript. */
static void keep_tag(struct vw *v, uint32_t ch, int len)
{
	size_t c = chi(ch);

	if (len > 0 && v->ntags[c] < 8)
		memcpy(v->tags[c][v->ntags[c]++], v->rec + len - SVMIG_TAG_LEN,
		       SVMIG_TAG_LEN);
}

/*
 * The MANIFEST's plaintext @w would seal now: pages, page_records,
 * channels (its session's, 1 alone), reserved 0, table_sum.
 */
static void manifest_pt(uint8_t *pt, const struct svmig_wire *w)
{
	put_be64(pt, w->part_pages);
	put_be64(pt + 8, w->page_records);
	put_be32(pt + 16, (uint32_t)w->table->joined);
	put_be32(pt + 20, 0);
	memcpy(pt + 24, w->part_sum, SVMIG_TABLE_SUM_LEN);
}

/* ---- honest records, sealed by the channel's sender ---- */

static void hello(struct vw *v, uint32_t ch, const struct body *b, int expect)
{
	static const struct body none;
	int len;

	if (v->err)
		return;
	len = svmig_wire_seal_hello(v->tx[chi(ch)].w, v->rec);
	keep_tag(v, ch, len);
	step(v, ch, &v->tx[chi(ch)], len, b ? b : &none, expect);
}

static void page(struct vw *v, uint32_t ch, uint32_t slot, uint64_t pg,
		 unsigned int mul, unsigned int add, const struct body *xb,
		 int expect)
{
	struct sealer *s = &v->tx[chi(ch)];
	struct body b = { .mul = mul, .add = add };
	struct svmig_table_region *r;
	int len;

	if (v->err)
		return;
	if (xb) {
		b.xor = xb->xor;
		b.xor_off = xb->xor_off;
		b.xor_mask = xb->xor_mask;
	}
	r = svmig_table_find(s->w->table, slot);
	if (!r || pg >= r->npages) {
		fail(v, -EINVAL);
		return;
	}
	svmig_wire_page_identity(v->pt, slot, pg, r->gen[pg] + 1);
	fill_formula(v->pt + 16, SVMIG_PAGE_SIZE, mul, add);
	len = svmig_wire_seal_page(s->w, slot, pg, v->pt + 16, v->rec);
	step(v, ch, s, len, &b, expect);
}

static void manifest(struct vw *v, uint32_t ch, int expect)
{
	static const struct body none;
	struct svmig_wire *w = v->tx[chi(ch)].w;
	int len;

	if (v->err)
		return;
	manifest_pt(v->pt, w);
	len = svmig_wire_seal_manifest(w, v->rec);
	step(v, ch, &v->tx[chi(ch)], len, &none, expect);
}

static void data(struct vw *v, uint32_t ch, size_t n, unsigned int mul,
		 unsigned int add, const uint8_t *bytes)
{
	struct body b = { .mul = mul, .add = add, .len = n };
	int len;

	if (v->err)
		return;
	if (bytes)
		memcpy(v->pt, bytes, n);
	else
		fill_formula(v->pt, n, mul, add);
	len = svmig_wire_seal_data(v->tx[chi(ch)].w, v->pt, n, v->rec);
	keep_tag(v, ch, len);
	step(v, ch, &v->tx[chi(ch)], len, &b, 0);
}

static void end(struct vw *v, uint32_t ch)
{
	static const struct body none;
	struct svmig_wire *w = v->tx[chi(ch)].w;
	int len, ret;

	if (v->err)
		return;
	ret = svmig_wire_end_plaintext(w, v->pt);
	if (ret) {
		fail(v, ret);
		return;
	}
	len = svmig_wire_seal_end(w, v->rec);
	step(v, ch, &v->tx[chi(ch)], len, &none, 0);
}

/* ---- forgeries ---- */

/* A PAGE of any identity at any seq, sealed by @s, delivered on @ch. */
static void forged_page(struct vw *v, uint32_t ch, const struct sealer *s,
			uint64_t seq, uint32_t slot, uint64_t pg, uint32_t gen,
			unsigned int mul, unsigned int add, int expect)
{
	struct body b = { .mul = mul, .add = add };

	if (v->err)
		return;
	svmig_wire_page_identity(v->pt, slot, pg, gen);
	fill_formula(v->pt + 16, SVMIG_PAGE_SIZE, mul, add);
	step(v, ch, s, svmig_wire_seal_page_at(s->w, seq, slot, pg, gen,
					       v->pt + 16, v->rec), &b, expect);
}

/*
 * A HELLO with the given header version, type-1 fields and flags, sealed
 * by @s (NULL: the channel's sender), which names its own channel.
 */
static void forged_hello_by(struct vw *v, uint32_t ch, const struct sealer *s,
			    uint8_t version, uint64_t seq, uint32_t flags,
			    int expect)
{
	static const struct body none;
	uint8_t clear[sizeof(struct svmig_wire_hello)];
	struct svmig_wire_hdr hdr;

	if (v->err)
		return;
	put_be32(clear, s->channel);
	put_be32(clear + 4, flags);
	memcpy(clear + 8, v->sid, SVMIG_SESSION_ID_LEN);
	memcpy(clear + 24, s->salt, SVMIG_SALT_LEN);
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_HELLO, SVMIG_HELLO_REC_LEN -
			    SVMIG_HDR_LEN, seq);
	((uint8_t *)&hdr)[0] = version;
	step(v, ch, s, svmig_wire_seal_raw(s->w, &hdr, clear, sizeof(clear),
					   NULL, 0, v->rec), &none, expect);
}

static void forged_hello(struct vw *v, uint32_t ch, uint8_t version,
			 uint64_t seq, uint32_t flags, int expect)
{
	if (!v->err)
		forged_hello_by(v, ch, &v->tx[chi(ch)], version, seq, flags,
				expect);
}

/* An authentic record of @type with @n bytes of v->pt, at @seq. */
static void forged_raw(struct vw *v, uint32_t ch, const struct sealer *s,
		       uint8_t type, uint64_t seq, size_t n,
		       const struct body *b, int expect)
{
	struct svmig_wire_hdr hdr;

	if (v->err)
		return;
	svmig_wire_hdr_fill(&hdr, type, (uint32_t)(n + SVMIG_TAG_LEN), seq);
	step(v, ch, s, svmig_wire_seal_raw(s->w, &hdr, NULL, 0, v->pt, n,
					   v->rec), b, expect);
}

/* The stream ends, @cut bytes of the record in v->rec delivered. */
static void eof(struct vw *v, uint32_t ch, size_t cut, int expect)
{
	int ret;

	if (v->err)
		return;
	v->step++;
	fprintf(v->f, "step%d.channel=%u\n", v->step, ch);
	fprintf(v->f, "step%d.type=EOF\n", v->step);
	shex(v, "cut", v->rec, cut);
	ret = svmig_wire_eof(v->rx[chi(ch)], cut);
	if (ret != expect) {
		fprintf(stderr, "svmig-vectors: EOF: %d, expected %d\n", ret,
			expect);
		fail(v, -EPROTO);
		return;
	}
	fprintf(v->f, "step%d.result=%s\n", v->step, ret ? "refuse" : "accept");
	v->refused = ret != 0;
}

/* A sealer keyed with another secret (bytes 80..9f), same channel, salt. */
static int wrong_key(struct vw *v, struct sealer *s, uint32_t ch)
{
	uint8_t secret[SVMIG_SECRET_LEN];

	fill_range(secret, sizeof(secret), 0x80);
	return sealer_init(v, s, secret, ch, v->tx[chi(ch)].salt[0], false);
}

/* Both ends skip to @seq (the test hook), as after that many records. */
static void jump(struct vw *v, uint64_t seq)
{
	if (v->err)
		return;
	if (svmig_wire_set_next_seq(v->tx[0].w, seq) ||
	    svmig_wire_set_next_seq(v->rx[0], seq))
		fail(v, -EIO);
	v->jump = true;
}

/* ---- the vectors ---- */

static void positive(struct vw *v)
{
	static const uint8_t five[5] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	struct vopts o = { 0 };

	vec_begin(v, "hello-page", "HELLO, page mode, no TPM salt", &o);
	hello(v, CH0, NULL, 0);
	vec_end(v);
	o.tpm = o.require_tpm = true;
	vec_begin(v, "hello-page-tpm", "HELLO, page mode, TPM-salt flag, "
		  "at a receiver that requires it", &o);
	hello(v, CH0, NULL, 0);
	vec_end(v);
	o = (struct vopts){ .stream = true };
	vec_begin(v, "hello-stream", "HELLO, stream mode", &o);
	hello(v, CH0, NULL, 0);
	vec_end(v);
	o.tpm = true;
	vec_begin(v, "hello-stream-tpm", "HELLO, stream mode, TPM-salt flag",
		  &o);
	hello(v, CH0, NULL, 0);
	vec_end(v);

	o = (struct vopts){ 0 };
	vec_begin(v, "page-gen1", "PAGE, generation 1", &o);
	hello(v, CH0, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	vec_end(v);
	vec_begin(v, "page-resend", "PAGE, then its resend (generation 2)",
		  &o);
	hello(v, CH0, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	page(v, CH0, 1, 5, 11, 3, NULL, 0);
	vec_end(v);
	vec_begin(v, "page-epoch1", "PAGE at seq 1<<20, the first of epoch 1",
		  &o);
	hello(v, CH0, NULL, 0);
	jump(v, 1ULL << 20);
	page(v, CH0, 0, 2, 3, 0x55, NULL, 0);
	vec_end(v);
	vec_begin(v, "page-epoch3", "PAGE at seq (3<<20)+7, epoch 3", &o);
	hello(v, CH0, NULL, 0);
	jump(v, (3ULL << 20) + 7);
	page(v, CH0, 0, 3, 5, 9, NULL, 0);
	vec_end(v);
	vec_begin(v, "page-seq-2to32", "PAGE at seq 0x100000005 (epoch 4096): "
		  "catches 32-bit counters in the nonce and the epoch", &o);
	hello(v, CH0, NULL, 0);
	jump(v, 0x100000005ULL);
	page(v, CH0, 1, 0, 13, 0x21, NULL, 0);
	vec_end(v);
	vec_begin(v, "manifest-alone", "one channel alone: three PAGEs (a "
		  "resend among them) and its MANIFEST", &o);
	hello(v, CH0, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	page(v, CH0, 1, 5, 11, 3, NULL, 0);
	page(v, CH0, 0, 2, 3, 0x55, NULL, 0);
	manifest(v, CH0, 0);
	vec_end(v);

	/*
	 * A session of two channels.  The senders seal, in this order:
	 * ch3 (1,5) gen 1, ch4 (0,1) gen 1, ch4 (1,5) gen 2, ch3 (0,1) gen 2.
	 * In order, then with channel 4's records first, so channel 3's
	 * (1,5) gen 1 arrives stale.  Same records in both.
	 */
	o = (struct vopts){ .session = true };
	vec_begin(v, "session-in-order", "a 2-channel session, records in "
		  "the order sealed; MANIFEST parts and the session's sums", &o);
	hello(v, CH0, NULL, 0);
	hello(v, CH1, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	page(v, CH1, 0, 1, 17, 2, NULL, 0);
	page(v, CH1, 1, 5, 11, 3, NULL, 0);
	page(v, CH0, 0, 1, 19, 4, NULL, 0);
	manifest(v, CH0, 0);
	manifest(v, CH1, 0);
	vec_end(v);
	if (!v->err) {
		/* the same records, another arrival order: seal, then deliver */
		static uint8_t recs[8][SVMIG_PAGE_REC_LEN];
		static uint8_t pts[8][SVMIG_PAGE_REC_LEN];
		static const int order[8] = { 0, 1, 3, 4, 7, 2, 5, 6 };
		static const uint32_t chs[8] = { CH0, CH1, CH0, CH1, CH1, CH0,
						 CH0, CH1 };
		static const struct { unsigned int mul, add; } f[8] = {
			{ 0, 0 }, { 0, 0 }, { 7, 1 }, { 17, 2 }, { 11, 3 },
			{ 19, 4 }, { 0, 0 }, { 0, 0 },
		};
		int lens[8], i, k;
		struct svmig_wire *w;

		vec_begin(v, "session-stale", "the same 2-channel session, "
			  "channel 4's records first: channel 3's (1,5) "
			  "generation 1 arrives after generation 2 (stale)", &o);
		/* seal all eight as above, without the receivers */
		for (i = 0; i < 8 && !v->err; i++) {
			w = v->tx[chi(chs[i])].w;
			if (i < 2) {
				lens[i] = svmig_wire_seal_hello(w, recs[i]);
			} else if (i < 6) {
				static const uint32_t sl[4] = { 1, 0, 1, 0 };
				static const uint64_t pg[4] = { 5, 1, 5, 1 };
				struct svmig_table_region *r =
					svmig_table_find(w->table, sl[i - 2]);

				svmig_wire_page_identity(pts[i], sl[i - 2],
							 pg[i - 2],
							 r->gen[pg[i - 2]] + 1);
				fill_formula(pts[i] + 16, SVMIG_PAGE_SIZE,
					     f[i].mul, f[i].add);
				lens[i] = svmig_wire_seal_page(w, sl[i - 2],
							       pg[i - 2],
							       pts[i] + 16,
							       recs[i]);
			} else {
				manifest_pt(pts[i], w);
				lens[i] = svmig_wire_seal_manifest(w, recs[i]);
			}
			if (lens[i] < 0)
				fail(v, lens[i]);
		}
		for (k = 0; k < 8 && !v->err; k++) {
			struct body b = { 0 };

			i = order[k];
			b.mul = f[i].mul;
			b.add = f[i].add;
			memcpy(v->rec, recs[i], (size_t)lens[i]);
			memcpy(v->pt, pts[i], sizeof(pts[i]));
			step(v, chs[i], &v->tx[chi(chs[i])], lens[i], &b,
			     k == 5 ? 1 : 0);
		}
		vec_end(v);
	}

	/*
	 * The sender's session has channels 3 and 4, the receiver opens 3
	 * alone.  Channel 4's pages are not channel 3's, so no sum can show
	 * it: only the MANIFEST's channels (2) does.
	 */
	o = (struct vopts){ .sender_session = true };
	vec_begin(v, "session-missing-channel", "a 2-channel session at the "
		  "sender, channel 3 alone at the receiver: channel 4's pages "
		  "(never delivered) are not channel 3's, the sums agree, the "
		  "MANIFEST's channels (2) do not", &o);
	hello(v, CH0, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	if (!v->err) {
		/* channel 4's own records, sealed and never delivered */
		static const struct { uint32_t slot; uint64_t page; } p4[] = {
			{ 0, 2 }, { 1, 6 },
		};
		struct svmig_wire *w = v->tx[1].w;
		size_t i;
		int len;

		len = svmig_wire_seal_hello(w, v->rec);
		for (i = 0; len > 0 && i < sizeof(p4) / sizeof(p4[0]); i++) {
			fill_formula(v->pt, SVMIG_PAGE_SIZE, 23, (unsigned int)i);
			len = svmig_wire_seal_page(w, p4[i].slot, p4[i].page,
						   v->pt, v->rec);
		}
		if (len > 0)
			len = svmig_wire_seal_manifest(w, v->rec);
		if (len < 0)
			fail(v, len);
	}
	page(v, CH0, 0, 1, 19, 4, NULL, 0);
	manifest(v, CH0, 0);
	vec_end(v);

	o = (struct vopts){ .stream = true };
	vec_begin(v, "stream-full", "stream mode: a full 16384-byte DATA, a "
		  "5-byte DATA, the END", &o);
	hello(v, CH0, NULL, 0);
	data(v, CH0, SVMIG_STREAM_RECORD_MAX, 7, 1, NULL);
	data(v, CH0, sizeof(five), 0, 0, five);
	end(v, CH0);
	vec_end(v);
}

static void negative(struct vw *v)
{
	struct vopts o = { .expect_errno = "EBADMSG" };
	struct sealer other = { 0 };
	struct body b = { .xor = true };

	vec_begin(v, "refuse-page-identity-flip", "a PAGE with one bit of "
		  "its encrypted identity flipped (slot's top byte)", &o);
	hello(v, CH0, NULL, 0);
	b.xor_off = SVMIG_HDR_LEN;
	b.xor_mask = 0x80;
	page(v, CH0, 1, 5, 7, 1, &b, -EBADMSG);
	vec_end(v);

	o.expect_errno = "EPROTO";
	vec_begin(v, "refuse-page-unknown-slot", "an authentic PAGE naming "
		  "slot 7, which is not registered", &o);
	hello(v, CH0, NULL, 0);
	forged_page(v, CH0, &v->tx[0], 1, 7, 0, 1, 7, 1, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-page-outside-region", "an authentic PAGE naming "
		  "page 4 of slot 0, which has 4 pages", &o);
	hello(v, CH0, NULL, 0);
	forged_page(v, CH0, &v->tx[0], 1, 0, 4, 1, 7, 1, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-page-gen0", "an authentic PAGE of generation 0",
		  &o);
	hello(v, CH0, NULL, 0);
	forged_page(v, CH0, &v->tx[0], 1, 1, 5, 0, 7, 1, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-version1", "an authentic HELLO whose header "
		  "says version 1", &o);
	forged_hello(v, CH0, 1, 0, 0, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-first-not-hello", "an authentic PAGE at seq 0, "
		  "before any HELLO", &o);
	forged_page(v, CH0, &v->tx[0], 0, 1, 5, 1, 7, 1, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-hello-again", "an authentic second HELLO, at the "
		  "next seq", &o);
	hello(v, CH0, NULL, 0);
	forged_hello(v, CH0, SVMIG_WIRE_VERSION, 1, 0, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-after-manifest", "an authentic PAGE after the "
		  "MANIFEST", &o);
	hello(v, CH0, NULL, 0);
	manifest(v, CH0, 0);
	forged_page(v, CH0, &v->tx[0], 2, 1, 5, 1, 7, 1, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-manifest-reserved", "an authentic MANIFEST, "
		  "the sender's numbers, whose reserved field is 1", &o);
	hello(v, CH0, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	if (!v->err) {
		manifest_pt(v->pt, v->tx[0].w);
		put_be32(v->pt + 20, 1);
		forged_raw(v, CH0, &v->tx[0], SVMIG_REC_MANIFEST, 2,
			   sizeof(struct svmig_wire_manifest),
			   &(struct body){ 0 }, -EPROTO);
	}
	vec_end(v);
	vec_begin(v, "refuse-hello-flags", "a HELLO with flag bit 2 flipped "
		  "on: flags are checked before the tag", &o);
	b.xor_off = SVMIG_HDR_LEN + 7;
	b.xor_mask = 0x04;
	hello(v, CH0, &b, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-hello-flags-first", "a HELLO of channel 4, its "
		  "own sender's, with flag bit 2 on, delivered on channel 3: "
		  "the flags (EPROTO) are checked before the channel "
		  "(EBADMSG)", &o);
	if (!v->err) {
		int ret = sealer_init(v, &other, v->secret, CH1, 0x60, false);

		if (ret)
			fail(v, ret);
		forged_hello_by(v, CH0, &other, SVMIG_WIRE_VERSION, 0,
				0x4, -EPROTO);
		sealer_free(&other);
	}
	vec_end(v);
	vec_begin(v, "refuse-hello-reserved", "a HELLO whose header's "
		  "reserved field is not zero", &o);
	b.xor_off = 3;
	b.xor_mask = 0x01;
	hello(v, CH0, &b, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-hello-mode", "an authentic stream-mode HELLO "
		  "(flags 1) at a page-mode receiver", &o);
	forged_hello(v, CH0, SVMIG_WIRE_VERSION, 0, SVMIG_HELLO_F_STREAM,
		     -EPROTO);
	vec_end(v);

	o.expect_errno = "EBADMSG";
	vec_begin(v, "refuse-hello-tpm-flip", "a HELLO with its TPM-salt flag "
		  "flipped on: valid flags, the tag fails", &o);
	b.xor_off = SVMIG_HDR_LEN + 7;
	b.xor_mask = 0x02;
	hello(v, CH0, &b, -EBADMSG);
	vec_end(v);
	vec_begin(v, "refuse-hello-channel", "a HELLO whose channel field is "
		  "flipped to 2: it names another channel", &o);
	b.xor_off = SVMIG_HDR_LEN + 3;
	b.xor_mask = 0x01;
	hello(v, CH0, &b, -EBADMSG);
	vec_end(v);
	vec_begin(v, "refuse-hello-salt", "a HELLO with one bit of its salt "
		  "flipped", &o);
	b.xor_off = SVMIG_HDR_LEN + 24;
	b.xor_mask = 0x01;
	hello(v, CH0, &b, -EBADMSG);
	vec_end(v);
	vec_begin(v, "refuse-manifest-wrong-key", "a MANIFEST sealed under "
		  "another secret", &o);
	hello(v, CH0, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	if (!v->err) {
		int ret = wrong_key(v, &other, CH0);

		if (ret)
			fail(v, ret);
		/* the honest sender's manifest plaintext, another key */
		manifest_pt(v->pt, v->tx[0].w);
		forged_raw(v, CH0, &other, SVMIG_REC_MANIFEST, 2,
			   sizeof(struct svmig_wire_manifest),
			   &(struct body){ 0 }, -EBADMSG);
		sealer_free(&other);
	}
	vec_end(v);
	o.session = true;
	vec_begin(v, "refuse-splice-channel", "a 2-channel session: channel "
		  "4's PAGE at seq 1 delivered on channel 3", &o);
	hello(v, CH0, NULL, 0);
	hello(v, CH1, NULL, 0);
	forged_page(v, CH0, &v->tx[1], 1, 1, 5, 1, 7, 1, -EBADMSG);
	vec_end(v);
	o.session = false;

	o.expect_errno = "EILSEQ";
	vec_begin(v, "refuse-replay", "a PAGE delivered twice", &o);
	hello(v, CH0, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	forged_page(v, CH0, &v->tx[0], 1, 1, 5, 1, 7, 1, -EILSEQ);
	vec_end(v);
	vec_begin(v, "refuse-dropped", "the PAGE at seq 2 after the HELLO: "
		  "seq 1 was lost", &o);
	hello(v, CH0, NULL, 0);
	forged_page(v, CH0, &v->tx[0], 2, 1, 5, 1, 7, 1, -EILSEQ);
	vec_end(v);

	o.expect_errno = "EKEYREJECTED";
	o.require_tpm = true;
	vec_begin(v, "refuse-tpm-required", "an authentic HELLO without the "
		  "TPM-salt flag at a receiver that requires it", &o);
	hello(v, CH0, NULL, -EKEYREJECTED);
	vec_end(v);
	o.require_tpm = false;

	o.expect_errno = "ENODATA";
	vec_begin(v, "refuse-cut-boundary", "the stream ends after a PAGE, "
		  "before the MANIFEST", &o);
	hello(v, CH0, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	eof(v, CH0, 0, -ENODATA);
	vec_end(v);
	vec_begin(v, "refuse-cut-inside", "the stream ends 20 bytes into the "
		  "MANIFEST", &o);
	hello(v, CH0, NULL, 0);
	page(v, CH0, 1, 5, 7, 1, NULL, 0);
	if (!v->err && svmig_wire_seal_manifest(v->tx[0].w, v->rec) < 0)
		fail(v, -EIO);
	eof(v, CH0, 20, -ENODATA);
	vec_end(v);

	o = (struct vopts){ .stream = true, .expect_errno = "EBADMSG" };
	vec_begin(v, "refuse-end-wrong-key", "stream mode: an END sealed "
		  "under another secret", &o);
	hello(v, CH0, NULL, 0);
	data(v, CH0, 5, 5, 7, NULL);
	if (!v->err) {
		int ret = wrong_key(v, &other, CH0);

		if (!ret)
			ret = svmig_wire_end_plaintext(v->tx[0].w, v->pt);
		if (ret)
			fail(v, ret);
		forged_raw(v, CH0, &other, SVMIG_REC_END, 2,
			   sizeof(struct svmig_wire_end), &(struct body){ 0 },
			   -EBADMSG);
		sealer_free(&other);
	}
	vec_end(v);
	o.expect_errno = "EPROTO";
	vec_begin(v, "refuse-end-reserved", "stream mode: an authentic END, "
		  "the sender's numbers, whose reserved field is 1", &o);
	hello(v, CH0, NULL, 0);
	data(v, CH0, 5, 5, 7, NULL);
	if (!v->err) {
		int ret = svmig_wire_end_plaintext(v->tx[0].w, v->pt);

		if (ret)
			fail(v, ret);
		put_be32(v->pt + 20, 1);
		forged_raw(v, CH0, &v->tx[0], SVMIG_REC_END, 2,
			   sizeof(struct svmig_wire_end), &(struct body){ 0 },
			   -EPROTO);
	}
	vec_end(v);
	vec_begin(v, "refuse-page-in-stream", "stream mode: an authentic PAGE "
		  "(a type of the other mode)", &o);
	hello(v, CH0, NULL, 0);
	forged_page(v, CH0, &v->tx[0], 1, 1, 5, 1, 7, 1, -EPROTO);
	vec_end(v);
	vec_begin(v, "refuse-data-empty", "stream mode: an authentic DATA "
		  "of 0 bytes", &o);
	hello(v, CH0, NULL, 0);
	forged_raw(v, CH0, &v->tx[0], SVMIG_REC_DATA, 1, 0,
		   &(struct body){ 0 }, -EPROTO);
	vec_end(v);
}

int svmig_wire_write_vectors(FILE *f)
{
	struct vw *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	v->f = f;
	fputs("# svmig wire-format test vectors, wire version 2.\n"
	      "# Generated by svmig-vectors (userspace/lib/wire-vectors.c, the\n"
	      "# OpenSSL oracle); do not edit: the unit tests regenerate this\n"
	      "# file, compare, and check every vector from its inputs.\n"
	      "# The format is Documentation/wire-format.rst, \"Test vectors\".\n"
	      "format=svmig-wire-vectors 2\n", f);
	positive(v);
	negative(v);
	ret = v->err;
	if (!ret && ferror(f))
		ret = -EIO;
	OPENSSL_cleanse(v, sizeof(*v));
	free(v);
	return ret;
}
