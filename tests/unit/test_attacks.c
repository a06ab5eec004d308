// SPDX-License-Identifier: GPL-2.0
/*
 * Every attack on a channel is refused with the kernel's errno, and a
 * refused record writes nothing and moves nothing (t_open checks both):
 * bit flips anywhere, truncation, extension, replay, reordering, drops,
 * splicing across sessions and channels, wrong keys, malformed headers
 * carrying valid tags, records out of place, a flipped bit in a PAGE's
 * encrypted identity (EBADMSG, checked before the identity), a HELLO
 * without the TPM-salt flag where it is required (EKEYREJECTED), a stream
 * cut before the MANIFEST (ENODATA); stale pages are counted and dropped.  In stream mode too: flips, replay, reordering, drops, cuts,
 * ENDs claiming other counts or transcripts (MISMATCH), records and HELLOs
 * of the other mode, DATA lengths out of range.
 */
#include <openssl/evp.h>

#include "test_util.h"

#define NREC 6

struct ends {
	struct svmig_wire s, r;
	uint8_t pt[SVMIG_PAGE_SIZE];
	uint8_t hello[SVMIG_HELLO_REC_LEN];
	uint8_t rec[NREC][SVMIG_REC_MAX_LEN];
	size_t len[NREC];		/* stream records' lengths */
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

static void seal_hdr(struct ends *e, uint8_t version, uint8_t type,
		     uint16_t reserved, uint32_t length, uint64_t seq,
		     uint32_t slot, uint32_t gen, uint64_t page);

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
	/*
	 * DATA of 56 bytes <-> END, one bit apart: well-formed, tag fails
	 * (a HELLO, as long as an END, turned END at seq 0 is out of place)
	 */
	if (byte == 1 && r->stream && be32_at(rec + 4) == 72 &&
	    be64_at(rec + 8) != 0 &&
	    (rec[1] == SVMIG_REC_DATA || rec[1] == SVMIG_REC_END))
		return -EBADMSG;
	if (byte < 8)
		return -EPROTO;		/* version, type, reserved, length */
	if (byte < 16)
		return -EBADMSG;	/* seq: not authentic under the new seq */
	if (rec[1] == SVMIG_REC_HELLO) {
		/* flags: the mode's bit exactly; the TPM-salt bit may flip */
		if ((be32_at(rec + 20) & ~SVMIG_HELLO_F_TPM_SALT) !=
		    (r->stream ? SVMIG_HELLO_F_STREAM : 0))
			return -EPROTO;
		return -EBADMSG;	/* channel, session, salt, TPM bit, tag */
	}
	/* a PAGE's identity is encrypted: like the rest, the tag fails */
	return -EBADMSG;		/* ciphertext, tag */
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
	/* the identity is encrypted: every flip past the seq is EBADMSG */
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

/*
 * The page index travels encrypted: a flipped bit in it (record bytes 24
 * to 31, the ciphertext of struct svmig_wire_page's page) is an
 * authentication failure, never a page written elsewhere or an -EPROTO
 * that would tell the attacker which index he hit; so is a flip that
 * would name an unknown slot.  An authentic PAGE naming one is -EPROTO,
 * checked only after the tag.
 */
static void test_page_identity_flip(void **state)
{
	struct ends *e = *state;
	uint8_t out[SVMIG_PAGE_SIZE];
	size_t byte;
	int bit;

	accept_hello(e);
	assert_int_equal(svmig_wire_seal_page(&e->s, 1, 5, e->pt, e->rec[0]),
			 SVMIG_PAGE_REC_LEN);
	for (byte = SVMIG_HDR_LEN; byte < SVMIG_HDR_LEN + 16; byte++) {
		for (bit = 0; bit < 8; bit++) {
			e->rec[0][byte] ^= (uint8_t)(1u << bit);
			assert_int_equal(t_open(&e->r, e->rec[0],
						SVMIG_PAGE_REC_LEN, out, NULL),
					 -EBADMSG);
			e->rec[0][byte] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(e->r.stats.auth_failures, 16 * 8);
	assert_int_equal(e->r.stats.proto_errors, 0);
	/* authentic, unknown slot: -EPROTO; the same with a flip: -EBADMSG */
	seal_hdr(e, 2, SVMIG_REC_PAGE, 0, SVMIG_PAGE_REC_LEN - SVMIG_HDR_LEN,
		 1, 2, 1, 0);
	e->tmp[SVMIG_PAGE_REC_LEN - 1] ^= 1;
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, out, NULL),
			 -EBADMSG);
	e->tmp[SVMIG_PAGE_REC_LEN - 1] ^= 1;
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, out, NULL),
			 -EPROTO);
	assert_int_equal(e->r.stats.proto_errors, 1);
	/* the genuine record still lands where its identity says */
	e->r.failed = false;
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, out, NULL);
	assert_memory_equal(out, e->pt, SVMIG_PAGE_SIZE);
	assert_int_equal(svmig_table_find(e->r.table, 1)->gen[5], 1);
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
	assert_int_equal(e->r.stats.replays, 2);
	/*
	 * The HELLO dropped: the first page is out of place, and without the
	 * HELLO's salt it cannot be authenticated, so it is no replay.
	 */
	svmig_wire_free(&e->r);
	t_receiver(&e->r, NULL, T_CHANNEL, NULL);
	assert_int_equal(t_open(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL,
				NULL), -EBADMSG);
	assert_int_equal(e->r.stats.replays, 0);
	assert_int_equal(e->r.stats.auth_failures, 1);
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
	/* and nothing else gets in (nor counts as a replay) */
	seal_pages(e, 1);
	assert_int_equal(t_open(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL,
				NULL), -EBADMSG);
	assert_int_equal(e->r.stats.replays, 0);
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

/*
 * Seal a page record with any header, authenticated (valid tag): the
 * identity and the page encrypted together, as in every PAGE.
 */
static void seal_hdr(struct ends *e, uint8_t version, uint8_t type,
		     uint16_t reserved, uint32_t length, uint64_t seq,
		     uint32_t slot, uint32_t gen, uint64_t page)
{
	static uint8_t pt[sizeof(struct svmig_wire_page) + SVMIG_PAGE_SIZE];
	struct svmig_wire_hdr hdr;
	uint8_t *h = (uint8_t *)&hdr;

	svmig_wire_hdr_fill(&hdr, type, length, seq);
	h[0] = version;
	h[2] = (uint8_t)(reserved >> 8);
	h[3] = (uint8_t)reserved;
	svmig_wire_page_identity(pt, slot, page, gen);
	memcpy(pt + 16, e->pt, SVMIG_PAGE_SIZE);
	assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, NULL, 0, pt,
					     sizeof(pt), e->tmp),
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
	seal_hdr(e, 2, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 1, 1, 0);
	memcpy(e->rec[0], e->tmp, SVMIG_PAGE_REC_LEN);

	seal_hdr(e, 2, SVMIG_REC_PAGE, 1, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);			/* reserved */
	seal_hdr(e, 2, SVMIG_REC_PAGE, 0x8000, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	for (i = 0; i < sizeof(bad_types); i++) {
		seal_hdr(e, 2, bad_types[i], 0, PAGE_LEN, 1, 1, 1, 0);
		assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN,
					NULL, NULL), -EPROTO);	/* type */
	}
	seal_hdr(e, 1, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);			/* version 1 */
	seal_hdr(e, 0, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	/* a PAGE typed as a MANIFEST or HELLO: wrong length for the type */
	seal_hdr(e, 2, SVMIG_REC_MANIFEST, 0, PAGE_LEN, 1, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	/* unknown slot, page past the end of its region */
	seal_hdr(e, 2, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 2, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	seal_hdr(e, 2, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 9, 1, 2);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	seal_hdr(e, 2, SVMIG_REC_PAGE, 0, PAGE_LEN, 1, 1, 1, UINT64_MAX);
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
	seal_hdr(e, 2, SVMIG_REC_PAGE, 0, PAGE_LEN, 0, 1, 1, 0);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_MANIFEST, 56, 0);
	assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, NULL, 0, hello, 40,
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
	uint8_t out[SVMIG_PAGE_SIZE], value[SVMIG_TABLE_SUM_LEN];
	uint8_t other[SVMIG_PAGE_SIZE];
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
	reg = svmig_table_find(e->r.table, 1);
	memcpy(value, reg->value[4], sizeof(value));

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
	assert_memory_equal(reg->value[4], value, sizeof(value));
	assert_false(e->r.failed);
	/* a newer one is taken again */
	assert_int_equal(svmig_wire_seal_page_at(&e->s, 5, 1, 4, 3, other,
						 e->tmp), SVMIG_PAGE_REC_LEN);
	t_accept(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, out, &info);
	assert_false(info.stale);
	assert_memory_equal(out, other, SVMIG_PAGE_SIZE);
	assert_int_equal(reg->gen[4], 3);
}

/*
 * SVMIG_KEY_REQUIRE_TPM_SALT: an authentic HELLO without the TPM bit is
 * -EKEYREJECTED and leaves the receiver as it was; one with it is taken.
 */
static void test_require_tpm_salt(void **state)
{
	struct ends *e = *state;
	struct svmig_wire *r = calloc(1, sizeof(*r)), *s = calloc(1, sizeof(*s));
	uint8_t hello[SVMIG_HELLO_REC_LEN], sid[16], secret[32];

	assert_non_null(r);
	assert_non_null(s);
	t_inputs(secret, sid, NULL);
	assert_int_equal(svmig_wire_init(r, SVMIG_ROLE_SENDER |
					 SVMIG_KEY_REQUIRE_TPM_SALT, sid,
					 T_CHANNEL, secret), -EINVAL);
	assert_int_equal(svmig_wire_init(r, SVMIG_ROLE_RECEIVER |
					 SVMIG_KEY_REQUIRE_TPM_SALT, sid,
					 T_CHANNEL, secret), 0);
	t_add_regions(r);
	assert_int_equal(t_open(r, e->hello, sizeof(e->hello), NULL, NULL),
			 -EKEYREJECTED);
	assert_true(r->failed);
	assert_false(r->have_prk);
	assert_true(r->have_k0);
	assert_int_equal(r->stats.auth_failures + r->stats.proto_errors, 0);
	t_sender(s, NULL, T_CHANNEL, NULL, NULL);
	assert_int_equal(svmig_wire_set_tpm_salt(s, true), 0);
	assert_int_equal(svmig_wire_seal_hello(s, hello), SVMIG_HELLO_REC_LEN);
	t_accept(r, hello, sizeof(hello), NULL, NULL);
	assert_true(r->tpm_salt);
	svmig_wire_free(r);
	svmig_wire_free(s);
	free(r);
	free(s);
}

/* The end of the stream: -ENODATA (TRUNCATED) before the MANIFEST. */
static void test_eof(void **state)
{
	struct ends *e = *state;

	assert_int_equal(svmig_wire_eof(&e->s, 0), -EPERM);
	assert_int_equal(svmig_wire_eof(&e->r, 0), -ENODATA);
	assert_int_equal(e->r.verdict, SVMIG_VERDICT_TRUNCATED);
	e->r.verdict = SVMIG_VERDICT_PENDING;
	accept_hello(e);
	seal_pages(e, 1);
	t_accept(&e->r, e->rec[0], SVMIG_PAGE_REC_LEN, NULL, NULL);
	/* at a record boundary, or inside the MANIFEST */
	assert_int_equal(svmig_wire_eof(&e->r, 0), -ENODATA);
	assert_int_equal(svmig_wire_eof(&e->r, 20), -ENODATA);
	assert_int_equal(e->r.verdict, SVMIG_VERDICT_TRUNCATED);
	e->r.verdict = SVMIG_VERDICT_PENDING;
	assert_int_equal(svmig_wire_seal_manifest(&e->s, e->rec[1]),
			 SVMIG_MANIFEST_REC_LEN);
	t_accept(&e->r, e->rec[1], SVMIG_MANIFEST_REC_LEN, NULL, NULL);
	assert_int_equal(svmig_wire_eof(&e->r, 0), 0);
	assert_int_equal(e->r.verdict, SVMIG_VERDICT_VERIFIED);
	/* bytes after the MANIFEST */
	assert_int_equal(svmig_wire_eof(&e->r, 1), -EPROTO);
}

/* ---- stream mode ---- */

static int setup_stream(void **state)
{
	struct ends *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	t_sender_mode(&e->s, SVMIG_KEY_STREAM, NULL, T_CHANNEL, NULL, NULL);
	t_receiver_mode(&e->r, SVMIG_KEY_STREAM, NULL, T_CHANNEL, NULL);
	t_page(e->pt, 42);
	assert_int_equal(svmig_wire_seal_hello(&e->s, e->hello),
			 SVMIG_HELLO_REC_LEN);
	*state = e;
	return 0;
}

/* Seal DATA records of @sizes[i] bytes of e->pt into e->rec[i]. */
static void seal_data(struct ends *e, const size_t *sizes, int n)
{
	int i;

	assert_true(n < NREC);
	for (i = 0; i < n; i++) {
		e->len[i] = SVMIG_HDR_LEN + sizes[i] + SVMIG_TAG_LEN;
		assert_int_equal(svmig_wire_seal_data(&e->s, e->pt, sizes[i],
						      e->rec[i]), e->len[i]);
	}
}

/* Seal the END into e->rec[i]. */
static void seal_end(struct ends *e, int i)
{
	e->len[i] = SVMIG_END_REC_LEN;
	assert_int_equal(svmig_wire_seal_end(&e->s, e->rec[i]),
			 SVMIG_END_REC_LEN);
}

static void deliver(struct ends *e, int i)
{
	t_accept(&e->r, e->rec[i], e->len[i], NULL, NULL);
}

static int try(struct ends *e, int i)
{
	return t_open(&e->r, e->rec[i], e->len[i], NULL, NULL);
}

/* Deliver e->rec[i], an END: its verdict. */
static uint32_t deliver_end(struct ends *e, int i)
{
	struct svmig_wire_rec info;

	t_accept(&e->r, e->rec[i], e->len[i], NULL, &info);
	assert_int_equal(info.type, SVMIG_REC_END);
	assert_int_equal(info.verdict, e->r.verdict);
	assert_true(e->r.manifest_done);
	return info.verdict;
}

/* Seal any stream record: header fields, @pt_len bytes of e->pt or zeros. */
static int seal_any(struct ends *e, struct svmig_wire *s, uint8_t type,
		    uint32_t length, uint64_t seq, const void *pt,
		    size_t pt_len, uint8_t *out)
{
	struct svmig_wire_hdr hdr;

	svmig_wire_hdr_fill(&hdr, type, length, seq);
	return svmig_wire_seal_raw(s ? s : &e->s, &hdr, NULL, 0,
				   pt ? pt : e->pt, pt_len, out);
}

static void test_stream_bitflips_hello(void **state)
{
	struct ends *e = *state;

	flip_every_bit(&e->r, e->hello, sizeof(e->hello));
	assert_true(e->r.hello_done);
}

/* A DATA of 100 bytes, and one of 56 (one bit from an END). */
static void test_stream_bitflips_data(void **state)
{
	static const size_t sizes[] = { 100, 56 };
	struct ends *e = *state;

	accept_hello(e);
	seal_data(e, sizes, 2);
	flip_every_bit(&e->r, e->rec[0], e->len[0]);
	flip_every_bit(&e->r, e->rec[1], e->len[1]);
	assert_int_equal(e->r.data_records, 2);
	assert_int_equal(e->r.data_bytes, 156);
	/* the refusals left counts and transcript alone */
	seal_end(e, 2);
	assert_int_equal(deliver_end(e, 2), SVMIG_VERDICT_VERIFIED);
}

static void test_stream_bitflips_end(void **state)
{
	static const size_t sizes[] = { 100 };
	struct ends *e = *state;

	accept_hello(e);
	seal_data(e, sizes, 1);
	deliver(e, 0);
	seal_end(e, 1);
	flip_every_bit(&e->r, e->rec[1], e->len[1]);
	assert_int_equal(e->r.verdict, SVMIG_VERDICT_VERIFIED);
	/* the END again, or anything after it */
	assert_int_equal(try(e, 1), -EILSEQ);
	assert_int_equal(seal_any(e, NULL, SVMIG_REC_DATA, 116, 3, NULL, 100,
				  e->tmp), 132);
	assert_int_equal(t_open(&e->r, e->tmp, 132, NULL, NULL), -EPROTO);
	assert_int_equal(seal_any(e, NULL, SVMIG_REC_END, 72, 3, NULL, 56,
				  e->tmp), 88);
	assert_int_equal(t_open(&e->r, e->tmp, 88, NULL, NULL), -EPROTO);
}

static void test_stream_replay(void **state)
{
	static const size_t sizes[] = { 10, 20 };
	struct ends *e = *state;

	accept_hello(e);
	seal_data(e, sizes, 2);
	seal_end(e, 2);
	deliver(e, 0);
	assert_int_equal(try(e, 0), -EILSEQ);
	assert_int_equal(t_open(&e->r, e->hello, sizeof(e->hello), NULL, NULL),
			 -EILSEQ);
	deliver(e, 1);
	assert_int_equal(try(e, 1), -EILSEQ);
	assert_int_equal(e->r.stats.replays, 3);
	assert_int_equal(deliver_end(e, 2), SVMIG_VERDICT_VERIFIED);
}

static void test_stream_reorder(void **state)
{
	static const size_t sizes[] = { 10, 20 };
	struct ends *e = *state;

	accept_hello(e);
	seal_data(e, sizes, 2);
	seal_end(e, 2);
	assert_int_equal(try(e, 1), -EILSEQ);
	assert_int_equal(try(e, 2), -EILSEQ);
	deliver(e, 0);
	assert_int_equal(try(e, 2), -EILSEQ);
	deliver(e, 1);
	assert_int_equal(deliver_end(e, 2), SVMIG_VERDICT_VERIFIED);
}

/*
 * A dropped DATA: what follows is refused.  And were the sequence check
 * bypassed (the test hook), the END would still say MISMATCH.
 */
static void test_stream_drop(void **state)
{
	static const size_t sizes[] = { 10, 20, 30 };
	struct ends *e = *state;

	accept_hello(e);
	seal_data(e, sizes, 3);
	seal_end(e, 3);
	deliver(e, 0);
	assert_int_equal(try(e, 2), -EILSEQ);
	assert_int_equal(try(e, 3), -EILSEQ);
	assert_int_equal(e->r.verdict, SVMIG_VERDICT_PENDING);
	assert_int_equal(svmig_wire_set_next_seq(&e->r, 3), 0);
	deliver(e, 2);
	assert_int_equal(deliver_end(e, 3), SVMIG_VERDICT_MISMATCH);
}

/*
 * The stream cut before the END leaves the verdict PENDING (the caller's
 * error, never an end of file); records cut or extended are refused.
 */
static void test_stream_truncated(void **state)
{
	static const size_t sizes[] = { 10, 20 };
	struct ends *e = *state;
	uint8_t *b = e->tmp;

	accept_hello(e);
	seal_data(e, sizes, 2);
	seal_end(e, 2);
	deliver(e, 0);
	/* the END cut, length field untouched or agreeing */
	memcpy(b, e->rec[2], SVMIG_END_REC_LEN);
	assert_int_equal(t_open(&e->r, b, SVMIG_END_REC_LEN - 1, NULL, NULL),
			 -EPROTO);
	/* a DATA cut, length field untouched: */
	memcpy(b, e->rec[1], e->len[1]);
	assert_int_equal(t_open(&e->r, b, e->len[1] - 1, NULL, NULL), -EPROTO);
	assert_int_equal(t_open(&e->r, b, SVMIG_HDR_LEN, NULL, NULL), -EPROTO);
	/* ... or agreeing: well-formed, but the tag fails */
	b[7]--;
	assert_int_equal(t_open(&e->r, b, e->len[1] - 1, NULL, NULL), -EBADMSG);
	/* extended, length field agreeing */
	b[7] += 2;
	b[e->len[1]] = 0;
	assert_int_equal(t_open(&e->r, b, e->len[1] + 1, NULL, NULL), -EBADMSG);
	b[7]--;
	assert_int_equal(e->r.stats.proto_errors, 3);
	assert_int_equal(e->r.stats.auth_failures, 2);
	/* the connection ends here: no verdict */
	deliver(e, 1);
	assert_int_equal(e->r.verdict, SVMIG_VERDICT_PENDING);
	assert_false(e->r.manifest_done);
	/* and the END arriving late still verifies */
	assert_int_equal(deliver_end(e, 2), SVMIG_VERDICT_VERIFIED);
}

static void sha256(const void *p, size_t n, uint8_t out[SVMIG_HASH_LEN])
{
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(len, SVMIG_HASH_LEN);
}

/*
 * An END sealed with the right key, claiming other counts or another
 * transcript: authentic, accepted, MISMATCH.
 */
static void test_stream_forged_end(void **state)
{
	static const size_t sizes[] = { 1, 100, 4096 };
	enum { GENUINE, REC_UP, REC_DOWN, BYTES_UP, BYTES_DOWN, FLIP,
	       NO_HELLO, REORDERED, ZERO, CHANNELS_2, CHANNELS_0, RESERVED,
	       RESERVED_TOP, NVARIANTS };
	struct ends *e = *state;
	uint8_t end[sizeof(struct svmig_wire_end)], tags[4][SVMIG_TAG_LEN];
	struct svmig_wire_rec info;
	int v, i;

	seal_data(e, sizes, 3);
	assert_int_equal(svmig_wire_end_plaintext(&e->s, end), 0);
	/* the sender's END is what the spec says */
	memcpy(tags[0], e->hello + SVMIG_HELLO_REC_LEN - SVMIG_TAG_LEN,
	       SVMIG_TAG_LEN);
	for (i = 0; i < 3; i++)
		memcpy(tags[i + 1], e->rec[i] + e->len[i] - SVMIG_TAG_LEN,
		       SVMIG_TAG_LEN);
	assert_int_equal(be64_at(end), 3);
	assert_int_equal(be64_at(end + 8), 4197);
	assert_int_equal(be32_at(end + 16), 1);		/* channels, alone */
	assert_int_equal(be32_at(end + 20), 0);		/* reserved */
	sha256(tags, sizeof(tags), e->tmp);
	assert_memory_equal(end + 24, e->tmp, SVMIG_HASH_LEN);

	for (v = 0; v < NVARIANTS; v++) {
		uint8_t forged[sizeof(end)];

		memcpy(forged, end, sizeof(end));
		switch (v) {
		case REC_UP:
			forged[7]++;
			break;
		case REC_DOWN:
			forged[7]--;
			break;
		case BYTES_UP:
			forged[15]++;
			break;
		case BYTES_DOWN:
			forged[15]--;
			break;
		case FLIP:
			forged[24 + 31] ^= 0x80;
			break;
		case NO_HELLO:
			sha256(tags[1], 3 * SVMIG_TAG_LEN, forged + 24);
			break;
		case REORDERED:
			memcpy(e->tmp, tags[0], SVMIG_TAG_LEN);
			memcpy(e->tmp + 16, tags[2], SVMIG_TAG_LEN);
			memcpy(e->tmp + 32, tags[1], SVMIG_TAG_LEN);
			memcpy(e->tmp + 48, tags[3], SVMIG_TAG_LEN);
			sha256(e->tmp, 64, forged + 24);
			break;
		case ZERO:
			memset(forged, 0, sizeof(forged));
			break;
		case CHANNELS_2:	/* a channel alone says 1 */
			forged[19] = 2;
			break;
		case CHANNELS_0:
			forged[19] = 0;
			break;
		case RESERVED:
			forged[23] = 1;
			break;
		case RESERVED_TOP:
			forged[20] = 0x80;
			break;
		}
		svmig_wire_free(&e->r);
		t_receiver_mode(&e->r, SVMIG_KEY_STREAM, NULL, T_CHANNEL, NULL);
		accept_hello(e);
		for (i = 0; i < 3; i++)
			deliver(e, i);
		assert_int_equal(seal_any(e, NULL, SVMIG_REC_END, 72, 4, forged,
					  sizeof(forged), e->tmp),
				 SVMIG_END_REC_LEN);
		if (v == RESERVED || v == RESERVED_TOP) {
			/* authentic, but no sender makes it: refused */
			assert_int_equal(t_open(&e->r, e->tmp,
						SVMIG_END_REC_LEN, NULL, &info),
					 -EPROTO);
			assert_int_equal(e->r.stats.proto_errors, 1);
			assert_int_equal(e->r.stats.auth_failures, 0);
			assert_false(e->r.manifest_done);
			/* the genuine END still verifies after it */
			assert_int_equal(seal_any(e, NULL, SVMIG_REC_END, 72,
						  4, end, sizeof(end), e->tmp),
					 SVMIG_END_REC_LEN);
			t_accept(&e->r, e->tmp, SVMIG_END_REC_LEN, NULL,
				 &info);
			assert_int_equal(info.verdict, SVMIG_VERDICT_VERIFIED);
			continue;
		}
		t_accept(&e->r, e->tmp, SVMIG_END_REC_LEN, NULL, &info);
		assert_int_equal(info.verdict, v == GENUINE ?
				 SVMIG_VERDICT_VERIFIED : SVMIG_VERDICT_MISMATCH);
		assert_int_equal(info.end_records, be64_at(forged));
		assert_int_equal(info.end_bytes, be64_at(forged + 8));
		assert_int_equal(info.end_channels, be32_at(forged + 16));
		assert_memory_equal(info.end_transcript, forged + 24,
				    SVMIG_HASH_LEN);
		{
			struct svmig_wire *r = &e->r;

			assert_int_equal(svmig_wire_session_verdict(&r, 1),
					 info.verdict);
		}
	}
}

/*
 * HELLOs and records of the other mode: -EPROTO both ways, with valid
 * tags (both modes share the keys of the same inputs).
 */
static void test_stream_wrong_mode(void **state)
{
	struct ends *e = *state;
	struct svmig_wire *ps = calloc(1, sizeof(*ps)), *pr = calloc(1, sizeof(*pr));
	static const uint32_t bad_flags[] = { 0, 2, 5, 0x80000001 };
	uint8_t phello[SVMIG_HELLO_REC_LEN], hello[56];
	struct svmig_wire_hdr hdr;
	size_t i;

	assert_non_null(ps);
	assert_non_null(pr);
	t_sender(ps, NULL, T_CHANNEL, NULL, NULL);
	t_receiver(pr, NULL, T_CHANNEL, NULL);
	assert_int_equal(svmig_wire_seal_hello(ps, phello), SVMIG_HELLO_REC_LEN);
	/* the page HELLO to the stream receiver and back */
	assert_int_equal(t_open(&e->r, phello, sizeof(phello), NULL, NULL),
			 -EPROTO);
	assert_int_equal(t_open(pr, e->hello, sizeof(e->hello), NULL, NULL),
			 -EPROTO);
	/* a stream HELLO with other flags */
	memcpy(hello, e->hello + 16, sizeof(hello));
	svmig_wire_hdr_fill(&hdr, SVMIG_REC_HELLO, 72, 0);
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		hello[4] = (uint8_t)(bad_flags[i] >> 24);
		hello[7] = (uint8_t)bad_flags[i];
		assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, hello,
						     sizeof(hello), NULL, 0,
						     e->tmp),
				 SVMIG_HELLO_REC_LEN);
		assert_int_equal(t_open(&e->r, e->tmp, SVMIG_HELLO_REC_LEN,
					NULL, NULL), -EPROTO);
	}
	accept_hello(e);
	t_accept(pr, phello, sizeof(phello), NULL, NULL);

	/* a PAGE and a MANIFEST in the stream channel (slot 1 registered,
	 * so only the mode refuses the page) */
	assert_int_equal(svmig_wire_add_region(&e->r, 1, 8), 0);
	assert_int_equal(svmig_wire_seal_page_at(&e->s, 1, 1, 0, 1, e->pt,
						 e->tmp), SVMIG_PAGE_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL),
			 -EPROTO);
	assert_int_equal(seal_any(e, NULL, SVMIG_REC_MANIFEST, 56, 1, NULL, 40,
				  e->tmp), SVMIG_MANIFEST_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_MANIFEST_REC_LEN, NULL,
				NULL), -EPROTO);
	/* a DATA and an END in the page channel */
	assert_int_equal(seal_any(e, ps, SVMIG_REC_DATA, 116, 1, NULL, 100,
				  e->tmp), 132);
	assert_int_equal(t_open(pr, e->tmp, 132, NULL, NULL), -EPROTO);
	assert_int_equal(seal_any(e, ps, SVMIG_REC_END, 72, 1, NULL, 56,
				  e->tmp), SVMIG_END_REC_LEN);
	assert_int_equal(t_open(pr, e->tmp, SVMIG_END_REC_LEN, NULL, NULL),
			 -EPROTO);
	assert_int_equal(e->r.stats.proto_errors, 1 + 4 + 2);
	assert_int_equal(pr->stats.proto_errors, 1 + 2);
	assert_int_equal(e->r.stats.auth_failures + pr->stats.auth_failures, 0);
	/* both channels go on */
	assert_int_equal(svmig_wire_seal_page(ps, 1, 0, e->pt, e->tmp),
			 SVMIG_PAGE_REC_LEN);
	t_accept(pr, e->tmp, SVMIG_PAGE_REC_LEN, NULL, NULL);
	{
		static const size_t sizes[] = { 5 };

		seal_data(e, sizes, 1);
		deliver(e, 0);
	}
	svmig_wire_free(ps);
	svmig_wire_free(pr);
	free(ps);
	free(pr);
}

/* DATA or END in place of the HELLO; a second END. */
static void test_stream_out_of_place(void **state)
{
	struct ends *e = *state;

	assert_int_equal(seal_any(e, NULL, SVMIG_REC_DATA, 116, 0, NULL, 100,
				  e->tmp), 132);
	assert_int_equal(t_open(&e->r, e->tmp, 132, NULL, NULL), -EPROTO);
	assert_int_equal(seal_any(e, NULL, SVMIG_REC_END, 72, 0, NULL, 56,
				  e->tmp), SVMIG_END_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_END_REC_LEN, NULL, NULL),
			 -EPROTO);
	accept_hello(e);
	seal_end(e, 0);
	assert_int_equal(deliver_end(e, 0), SVMIG_VERDICT_VERIFIED);
	assert_int_equal(seal_any(e, NULL, SVMIG_REC_END, 72, 2, NULL, 56,
				  e->tmp), SVMIG_END_REC_LEN);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_END_REC_LEN, NULL, NULL),
			 -EPROTO);
	assert_int_equal(e->r.stats.proto_errors, 3);
	assert_int_equal(e->r.verdict, SVMIG_VERDICT_VERIFIED);
}

/* DATA of 0 or 16385 bytes, END of 55 or 57, with valid tags: -EPROTO. */
static void test_stream_bad_lengths(void **state)
{
	static const size_t sizes[] = { SVMIG_STREAM_RECORD_MAX, 1 };
	struct ends *e = *state;
	uint8_t *big = calloc(1, SVMIG_STREAM_RECORD_MAX + 1);

	assert_non_null(big);
	accept_hello(e);
	/* length 16: an empty DATA */
	assert_int_equal(seal_any(e, NULL, SVMIG_REC_DATA, 16, 1, NULL, 0,
				  e->tmp), 32);
	assert_int_equal(svmig_wire_record_len(e->tmp, 16), 32);
	assert_int_equal(t_open(&e->r, e->tmp, 32, NULL, NULL), -EPROTO);
	/* length 16401: 16385 bytes */
	assert_int_equal(seal_any(e, NULL, SVMIG_REC_DATA, 16401, 1, big,
				  SVMIG_STREAM_RECORD_MAX + 1, e->tmp),
			 SVMIG_DATA_REC_MAX + 1);
	assert_int_equal(svmig_wire_record_len(e->tmp, 16), -EPROTO);
	assert_int_equal(t_open(&e->r, e->tmp, SVMIG_DATA_REC_MAX + 1, NULL,
				NULL), -EPROTO);
	/* END lengths 71 and 73 */
	assert_int_equal(seal_any(e, NULL, SVMIG_REC_END, 71, 1, NULL, 55,
				  e->tmp), 87);
	assert_int_equal(t_open(&e->r, e->tmp, 87, NULL, NULL), -EPROTO);
	assert_int_equal(seal_any(e, NULL, SVMIG_REC_END, 73, 1, NULL, 57,
				  e->tmp), 89);
	assert_int_equal(t_open(&e->r, e->tmp, 89, NULL, NULL), -EPROTO);
	assert_int_equal(e->r.stats.proto_errors, 4);
	assert_int_equal(e->r.stats.auth_failures, 0);
	/* the extremes that are allowed */
	seal_data(e, sizes, 2);
	deliver(e, 0);
	deliver(e, 1);
	seal_end(e, 2);
	assert_int_equal(deliver_end(e, 2), SVMIG_VERDICT_VERIFIED);
	free(big);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TS(f) cmocka_unit_test_setup_teardown(f, setup_stream, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bitflips_hello),
		T(test_bitflips_page),
		T(test_page_identity_flip),
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
		T(test_require_tpm_salt),
		T(test_eof),
		TS(test_stream_bitflips_hello),
		TS(test_stream_bitflips_data),
		TS(test_stream_bitflips_end),
		TS(test_stream_replay),
		TS(test_stream_reorder),
		TS(test_stream_drop),
		TS(test_stream_truncated),
		TS(test_stream_forged_end),
		TS(test_stream_wrong_mode),
		TS(test_stream_out_of_place),
		TS(test_stream_bad_lengths),
	};

	return cmocka_run_group_tests_name("attacks", tests, NULL, NULL);
}
