// SPDX-License-Identifier: GPL-2.0
/*
 * Every attack on a channel is refused with the kernel's errno, and a
 * refused record writes nothing and moves nothing (t_open checks both):
 * bit flips anywhere, truncation, extension, replay, reordering, drops,
 * splicing across sessions and channels, wrong keys, malformed headers
 * carrying valid tags, records out of place; stale pages are counted and
 * dropped.
 */
#include "test_util.h"

struct ends {
	struct svmig_wire s, r;
	uint8_t pt[SVMIG_PAGE_SIZE];
	uint8_t hello[SVMIG_HELLO_REC_LEN];
	uint8_t rec[4][SVMIG_REC_MAX_LEN];
	uint8_t tmp[SVMIG_REC_MAX_LEN + 16];
};

static int setup(void **state)
{
	struct ends *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	t_sender(&e->s, NULL, T_CHANNEL, NULL, NULL);
	t_receiver(&e->r, NULL, T_CHANNEL, NULL);
	t_page(e->pt, 42);
	assert_int_equal(svmig_wire_seal_hello(&e->s, e->hello),
			 SVMIG_HELLO_REC_LEN);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct ends *e = *state;

	svmig_wire_free(&e->s);
	svmig_wire_free(&e->r);
	free(e);
	return 0;
}

static void accept_hello(struct ends *e)
{
	t_accept(&e->r, e->hello, sizeof(e->hello), NULL, NULL);
}

/* Seal pages (slot 1, pages 0..n-1) into e->rec[0..n-1]. */
static void seal_pages(struct ends *e, int n)
{
	int i;

	for (i = 0; i < n; i++)
		assert_int_equal(svmig_wire_seal_page(&e->s, 1, (uint64_t)i,
						      e->pt, e->rec[i]),
				 SVMIG_PAGE_REC_LEN);
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64_at(const uint8_t *p)
{
	return (uint64_t)be32_at(p) << 32 | be32_at(p + 4);
}

/* What the receiver must answer to record @rec with one bit flipped. */
static int expected(const struct svmig_wire *r, const uint8_t *rec,
		    size_t byte)
{
	if (byte < 8)
		return -EPROTO;		/* version, type, reserved, length */
	if (byte < 16)
		return -EILSEQ;		/* seq */
	if (rec[1] == SVMIG_REC_HELLO) {
		if (byte >= 20 && byte < 24)
			return -EPROTO;	/* flags */
		return -EBADMSG;	/* channel, session, salt, tag */
	}
	if (rec[1] == SVMIG_REC_PAGE && byte >= 20 && byte < 24 &&
	    !be32_at(rec + 20))
		return -EPROTO;		/* generation 0 */
	if (rec[1] == SVMIG_REC_PAGE && byte < 32 &&
	    !(byte >= 20 && byte < 24)) {
		const struct svmig_table_region *reg =
			svmig_table_find(&r->table, be32_at(rec + 16));

		if (!reg || be64_at(rec + 24) >= reg->npages)
			return -EPROTO;	/* unknown slot, page out of range */
	}
	return -EBADMSG;		/* other generations, ciphertext, tag */
}

/* Flip every bit of @rec in turn: each is refused as it must be. */
static void flip_every_bit(struct svmig_wire *r, const uint8_t *rec,
			   size_t len)
{
	struct svmig_wire_stats before = r->stats;
	uint64_t want[3] = { 0 };	/* EPROTO, EILSEQ, EBADMSG */
	uint8_t *buf = malloc(len);
	size_t byte;
	int bit;

	assert_non_null(buf);
	memcpy(buf, rec, len);
	for (byte = 0; byte < len; byte++) {
		for (bit = 0; bit < 8; bit++) {
			int want_err, got;

			buf[byte] ^= (uint8_t)(1u << bit);
			want_err = expected(r, buf, byte);
			got = t_open(r, buf, len, NULL, NULL);
			buf[byte] ^= (uint8_t)(1u << bit);
			if (got != want_err)
				fail_msg("type %u, byte %zu bit %d: %d, want %d",
					 rec[1], byte, bit, got, want_err);
			want[want_err == -EPROTO ? 0 :
			     want_err == -EILSEQ ? 1 : 2]++;
		}
	}
	assert_int_equal(r->stats.proto_errors - before.proto_errors, want[0]);
	assert_int_equal(r->stats.replays - before.replays, want[1]);
	assert_int_equal(r->stats.auth_failures - before.auth_failures, want[2]);
	assert_int_equal(r->stats.records, before.records);
	free(buf);
	/* and the untouched record still opens */
	t_accept(r, rec, len, NULL, NULL);
}

static void test_bitflips_hello(void **state)
{
	struct ends *e = *state;

	flip_every_bit(&e->r, e->hello, sizeof(e->hello));
	assert_true(e->r.hello_done);
	assert_true(e->r.failed);
}

static void test_bitflips_page(void **state)
{
	struct ends *e = *state;
	uint8_t out[SVMIG_PAGE_SIZE];

	accept_hello(e);
	/* slot 0 has 4 pages, slot 1 has 8: flips reach both verdicts */
	assert_int_equal(svmig_wire_seal_page(&e->s, 1, 5, e->pt, e->rec[0]),
			 SVMIG_PAGE_REC_LEN);
	flip_every_bit(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN);
	assert_int_equal(e->r.stats.pages, 1);
	/* the page really arrived once */
	assert_int_equal(svmig_wire_seal_page(&e->s, 1, 5, e->pt, e->rec[1]),
			 SVMIG_PAGE_REC_LEN);
	t_accept(&e->r, e->rec[1], SVMIG_PAGE_REC_LEN, out, NULL);
	assert_memory_equal(out, e->pt, SVMIG_PAGE_SIZE);
}

static void test_bitflips_manifest(void **state)
{
	struct ends *e = *state;

	accept_hello(e);
	seal_pages(e, 2);
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL);
	t_accept(&e->r, e->rec[1], SVMIG_PAGE_REC_LEN, NULL, NULL);
	assert_int_equal(svmig_wire_seal_manifest(&e->s, e->rec[2]),
			 SVMIG_MANIFEST_REC_LEN);
	flip_every_bit(&e->r, e->rec[2], SVMIG_MANIFEST_REC_LEN);
	assert_int_equal(e->r.verdict, SVMIG_VERDICT_VERIFIED);
	/* the manifest again, or anything after it */
	assert_int_equal(t_open(&e->r, e->rec[2], SVMIG_MANIFEST_REC_LEN,
				NULL, NULL), -EILSEQ);
	assert_int_equal(svmig_wire_seal_page_at(&e->s, 4, 1, 0, 9, e->pt,
						 e->rec[3]), SVMIG_PAGE_REC_LEN);
	assert_int_equal(t_open(&e->r, e->rec[3], SVMIG_PAGE_REC_LEN, NULL,
				NULL), -EPROTO);
}

static void test_truncated_and_extended(void **state)
{
	struct ends *e = *state;
	const size_t len = SVMIG_PAGE_REC_LEN;
	uint8_t *b = e->tmp;

	accept_hello(e);
	seal_pages(e, 1);
	memcpy(b, e->rec[0], len);
	/* truncated, length field untouched */
	assert_int_equal(t_open(&e->r, b, len - 1, NULL, NULL), -EPROTO);
	assert_int_equal(t_open(&e->r, b, len - SVMIG_TAG_LEN, NULL, NULL),
			 -EPROTO);
	assert_int_equal(t_open(&e->r, b, SVMIG_HDR_LEN, NULL, NULL), -EPROTO);
	assert_int_equal(t_open(&e->r, b, SVMIG_HDR_LEN - 1, NULL, NULL),
			 -EPROTO);
	assert_int_equal(t_open(&e->r, b, 0, NULL, NULL), -EPROTO);
	assert_int_equal(t_open(&e->r, NULL, 0, NULL, NULL), -EPROTO);
	/* truncated, length field agreeing */
	b[7]--;
	assert_int_equal(t_open(&e->r, b, len - 1, NULL, NULL), -EPROTO);
	/* extended, length field agreeing or not */
	b[7] += 2;
	b[len] = 0;
	assert_int_equal(t_open(&e->r, b, len + 1, NULL, NULL), -EPROTO);
	b[7]--;
	assert_int_equal(t_open(&e->r, b, len + 1, NULL, NULL), -EPROTO);
	/* a HELLO-sized or MANIFEST-sized cut of a page */
	assert_int_equal(t_open(&e->r, b, SVMIG_HELLO_REC_LEN, NULL, NULL),
			 -EPROTO);
	assert_int_equal(e->r.stats.proto_errors, 10);
	t_accept(&e->r, b, len, NULL, NULL);
}

static void test_replay(void **state)
{
	struct ends *e = *state;

	accept_hello(e);
	seal_pages(e, 2);
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL);
	assert_int_equal(t_open(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL,
				NULL), -EILSEQ);
	assert_int_equal(t_open(&e->r, e->hello, sizeof(e->hello), NULL,
				NULL), -EILSEQ);
	t_accept(&e->r, e->rec[1], SVMIG_PAGE_REC_LEN, NULL, NULL);
	assert_int_equal(t_open(&e->r, e->rec[1], SVMIG_PAGE_REC_LEN, NULL,
				NULL), -EILSEQ);
	assert_int_equal(e->r.stats.replays, 3);
}

static void test_reorder(void **state)
{
	struct ends *e = *state;

	accept_hello(e);
	seal_pages(e, 2);
	assert_int_equal(t_open(&e->r, e->rec[1], SVMIG_PAGE_REC_LEN, NULL,
				NULL), -EILSEQ);
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL);
	t_accept(&e->r, e->rec[1], SVMIG_PAGE_REC_LEN, NULL, NULL);
}

static void test_drop(void **state)
{
	struct ends *e = *state;

	accept_hello(e);
	seal_pages(e, 3);
	assert_int_equal(svmig_wire_seal_manifest(&e->s, e->rec[3]),
			 SVMIG_MANIFEST_REC_LEN);
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL);
	assert_int_equal(t_open(&e->r, e->rec[2], SVMIG_PAGE_REC_LEN, NULL,
				NULL), -EILSEQ);
	assert_int_equal(t_open(&e->r, e->rec[3], SVMIG_MANIFEST_REC_LEN, NULL,
				NULL), -EILSEQ);
	assert_int_equal(e->r.verdict, SVMIG_VERDICT_PENDING);
	/* the HELLO dropped: the first page is out of place */
	svmig_wire_free(&e->r);
	t_receiver(&e->r, NULL, T_CHANNEL, NULL);
	assert_int_equal(t_open(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL,
				NULL), -EILSEQ);
}

/*
 * Another session, channel or secret: the genuine HELLO is refused, a
 * HELLO forged to name the receiver's session/channel is refused, and a
 * page spliced from a channel keyed with the same salt is refused.
 */
static void splice(struct ends *e, const uint8_t *sid, uint32_t channel,
		   const uint8_t *secret)
{
	uint8_t hello[56], rec[SVMIG_REC_MAX_LEN];
	struct svmig_wire *s2 = calloc(1, sizeof(*s2)), *r2 = calloc(1, sizeof(*r2));
	struct svmig_wire_hdr hdr;

	assert_non_null(s2);
	assert_non_null(r2);
	t_sender(s2, sid, channel, secret, NULL);
	t_receiver(r2, sid, channel, secret);

	/* its genuine HELLO, to our receiver */
	assert_int_equal(svmig_wire_seal_hello(s2, rec), SVMIG_HELLO_REC_LEN);
	assert_int_equal(t_open(&e->r, rec, SVMIG_HELLO_REC_LEN, NULL, NULL),
			 -EBADMSG);
	/* our HELLO to its receiver */
	assert_int_equal(t_open(r2, e->hello, SVMIG_HELLO_REC_LEN, NULL, NULL),
			 -EBADMSG);
	t_accept(r2, rec, SVMIG_HELLO_REC_LEN, NULL, NULL);
	/* a HELLO naming our channel and session, sealed with its keys */
	memcpy(hello, e->hello + 16, sizeof(hello));
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_HELLO, 72, 0);
	assert_int_equal(svmig_wire_seal_raw(s2, &hdr, hello, sizeof(hello),
					     NULL, 0, rec), SVMIG_HELLO_REC_LEN);
	assert_int_equal(t_open(&e->r, rec, SVMIG_HELLO_REC_LEN, NULL, NULL),
			 -EBADMSG);

	/* pages spliced both ways once both ends are keyed */
	accept_hello(e);
	assert_int_equal(svmig_wire_seal_page(s2, 1, 2, e->pt, rec),
			 SVMIG_PAGE_REC_LEN);
	assert_int_equal(t_open(&e->r, rec, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EBADMSG);
	seal_pages(e, 1);
	assert_int_equal(t_open(r2, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EBADMSG);
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL);
	t_accept(r2, rec, SVMIG_PAGE_REC_LEN, NULL, NULL);
	assert_int_equal(e->r.stats.auth_failures, 3);
	svmig_wire_free(s2);
	svmig_wire_free(r2);
	free(s2);
	free(r2);
}

static void test_other_session(void **state)
{
	uint8_t sid[16];

	t_inputs(NULL, sid, NULL);
	sid[7] ^= 0x10;
	splice(*state, sid, T_CHANNEL, NULL);
}

static void test_other_channel(void **state)
{
	splice(*state, NULL, T_CHANNEL + 1, NULL);
}

static void test_wrong_secret(void **state)
{
	struct ends *e = *state;
	uint8_t secret[32];

	t_inputs(secret, NULL, NULL);
	secret[31] ^= 1;
	svmig_wire_free(&e->r);
	t_receiver(&e->r, NULL, T_CHANNEL, secret);
	assert_int_equal(t_open(&e->r, e->hello, sizeof(e->hello), NULL, NULL),
			 -EBADMSG);
	assert_false(e->r.hello_done);
	assert_false(e->r.have_prk);
	/* and nothing else gets in */
	seal_pages(e, 1);
	assert_int_equal(t_open(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL,
				NULL), -EILSEQ);
}

/* A HELLO carrying another salt than the one its tag was made with. */
static void test_wrong_salt(void **state)
{
	struct ends *e = *state;
	struct svmig_wire_hdr hdr;
	uint8_t hello[56];

	memcpy(hello, e->hello + 16, sizeof(hello));
	hello[8 + 16 + 3] ^= 0x01;
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_HELLO, 72, 0);
	assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, hello, sizeof(hello),
					     NULL, 0, e->tmp),
			 SVMIG_HELLO_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_HELLO_REC_LEN, NULL, NULL),
			 -EBADMSG);
	assert_true(e->r.have_k0);
	assert_false(e->r.have_prk);
	assert_false(e->r.key_valid);
	/* the genuine one still works: the failure left no key behind */
	accept_hello(e);
	seal_pages(e, 1);
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL);
}

/* Seal a page record with any header, authenticated (valid tag). */
static void seal_hdr(struct ends *e, uint8_t version, uint8_t type,
		     uint16_t reserved, uint32_t length, uint64_t seq,
		     uint32_t slot, uint32_t gen, uint64_t page)
{
	struct svmig_wire_hdr hdr;
	uint8_t *h = (uint8_t *)&hdr, clear[16] = { 0 };
	int i;

	svmig_wire_hdr_fill(&hdr, type, length, seq);
	h[0] = version;
	h[2] = (uint8_t)(reserved >> 8);
	h[3] = (uint8_t)reserved;
	for (i = 0; i < 4; i++) {
		clear[i] = (uint8_t)(slot >> (24 - 8 * i));
		clear[4 + i] = (uint8_t)(gen >> (24 - 8 * i));
	}
	for (i = 0; i < 8; i++)
		clear[8 + i] = (uint8_t)(page >> (56 - 8 * i));
	assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, clear, 16, e->pt,
					     SVMIG_PAGE_SIZE, e->tmp),
			 SVMIG_PAGE_REC_LEN);
}

#define PAGE_LEN (SVMIG_PAGE_REC_LEN - SVMIG_HDR_LEN)

static void test_malformed_with_valid_tag(void **state)
{
	struct ends *e = *state;
	static const uint8_t bad_types[] = { 0, 4, 0x82, 0xff };
	struct svmig_wire_hdr hdr;
	uint8_t hello[56];
	size_t i;

	accept_hello(e);
	/* the control: this helper makes acceptable records */
	seal_hdr(e, 1, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 1, 1, 0);
	memcpy(e->rec[0], e->tmp, SVMIG_PAGE_REC_LEN);

	seal_hdr(e, 1, SVMIG_REC_PAGE, 1, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);			/* reserved */
	seal_hdr(e, 1, SVMIG_REC_PAGE, 0x8000, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	for (i = 0; i < sizeof(bad_types); i++) {
		seal_hdr(e, 1, bad_types[i], 0, PAGE_LEN, 1, 1, 1, 0);
		assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN,
					NULL, NULL), -EPROTO);	/* type */
	}
	seal_hdr(e, 2, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);			/* version */
	seal_hdr(e, 0, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	/* a PAGE typed as a MANIFEST or HELLO: wrong length for the type */
	seal_hdr(e, 1, SVMIG_REC_MANIFEST, 0, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	/* unknown slot, page past the end of its region */
	seal_hdr(e, 1, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 2, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	seal_hdr(e, 1, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 9, 1, 2);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	seal_hdr(e, 1, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 1, 1, UINT64_MAX);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	/* a second HELLO, at the right seq */
	memcpy(hello, e->hello + 16, sizeof(hello));
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_HELLO, 72, 1);
	assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, hello, sizeof(hello),
					     NULL, 0, e->tmp),
			 SVMIG_HELLO_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_HELLO_REC_LEN, NULL, NULL),
			 -EPROTO);
	assert_int_equal(e->r.stats.proto_errors, 13);
	assert_int_equal(e->r.stats.auth_failures, 0);
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL);
}

/* HELLO with flags or reserved set (valid tag); a PAGE before the HELLO. */
static void test_hello_malformed(void **state)
{
	struct ends *e = *state;
	struct svmig_wire_hdr hdr;
	uint8_t hello[56];

	memcpy(hello, e->hello + 16, sizeof(hello));
	hello[7] = 1;				/* flags */
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_HELLO, 72, 0);
	assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, hello, sizeof(hello),
					     NULL, 0, e->tmp),
			 SVMIG_HELLO_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_HELLO_REC_LEN, NULL, NULL),
			 -EPROTO);
	hello[7] = 0;
	((uint8_t *)&hdr)[3] = 1;		/* reserved */
	assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, hello, sizeof(hello),
					     NULL, 0, e->tmp),
			 SVMIG_HELLO_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_HELLO_REC_LEN, NULL, NULL),
			 -EPROTO);
	/* a valid PAGE or MANIFEST at seq 0 instead of the HELLO */
	seal_hdr(e, 1, SVMIG_REC_PAGE, 0, PAGE_LEN, 0, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_MANIFEST, 64, 0);
	assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, NULL, 0, hello, 48,
					     e->tmp), SVMIG_MANIFEST_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_MANIFEST_REC_LEN, NULL,
				NULL), -EPROTO);
	assert_int_equal(e->r.stats.proto_errors, 4);
	accept_hello(e);
}

/* Authentic pages not newer than the accepted one: counted, dropped. */
static void test_stale(void **state)
{
	struct ends *e = *state;
	struct svmig_wire_rec info;
	uint8_t out[SVMIG_PAGE_SIZE], tag[SVMIG_TAG_LEN], other[SVMIG_PAGE_SIZE];
	const struct svmig_table_region *reg;
	uint32_t gens[] = { 1, 2 };
	size_t i;

	accept_hello(e);
	assert_int_equal(svmig_wire_seal_page(&e->s, 1, 4, e->pt, e->rec[0]),
			 SVMIG_PAGE_REC_LEN);
	assert_int_equal(svmig_wire_seal_page(&e->s, 1, 4, e->pt, e->rec[1]),
			 SVMIG_PAGE_REC_LEN);
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL);
	t_accept(&e->r, e->rec[1], SVMIG_PAGE_REC_LEN, out, &info);
	assert_int_equal(info.generation, 2);
	reg = svmig_table_find(&e->r.table, 1);
	memcpy(tag, reg->tag[4], sizeof(tag));

	t_page(other, 7);
	for (i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
		assert_int_equal(svmig_wire_seal_page_at(&e->s, 3 + i, 1, 4,
							 gens[i], other,
							 e->tmp),
				 SVMIG_PAGE_REC_LEN);
		/* t_open checks that a stale page writes nothing */
		t_accept(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, out, &info);
		assert_true(info.stale);
		assert_int_equal(info.generation, gens[i]);
		assert_int_equal(info.seq, 3 + i);
	}
	assert_int_equal(e->r.stats.stale_pages, 2);
	assert_int_equal(e->r.stats.pages, 2);
	assert_int_equal(e->r.page_records, 4);
	/* generation 0 is never sent: malformed, not stale */
	assert_int_equal(svmig_wire_seal_page_at(&e->s, 5, 1, 4, 0, other,
						 e->tmp), SVMIG_PAGE_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, out, &info),
			 -EPROTO);
	e->r.failed = false;
	assert_int_equal(reg->gen[4], 2);
	assert_memory_equal(reg->tag[4], tag, sizeof(tag));
	assert_false(e->r.failed);
	/* a newer one is taken again */
	assert_int_equal(svmig_wire_seal_page_at(&e->s, 5, 1, 4, 3, other,
						 e->tmp), SVMIG_PAGE_REC_LEN);
	t_accept(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, out, &info);
	assert_false(info.stale);
	assert_memory_equal(out, other, SVMIG_PAGE_SIZE);
	assert_int_equal(reg->gen[4], 3);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bitflips_hello),
		T(test_bitflips_page),
		T(test_bitflips_manifest),
		T(test_truncated_and_extended),
		T(test_replay),
		T(test_reorder),
		T(test_drop),
		T(test_other_session),
		T(test_other_channel),
		T(test_wrong_secret),
		T(test_wrong_salt),
		T(test_malformed_with_valid_tag),
		T(test_hello_malformed),
		T(test_stale),
	};

	return cmocka_run_group_tests_name("attacks", tests, NULL, NULL);
}
