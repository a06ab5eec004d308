// SPDX-License-Identifier: GPL-2.0
/*
 * The MANIFEST verdict and the page table's sums.  A channel alone:
 * VERIFIED only if the receiver's part (entries created, sum of table
 * values) and page records seen (accepted + stale) all equal the
 * manifest's; a missing, extra, stale, altered or regenerated page, or a
 * count off by one, gives MISMATCH.  A session of two channels: each
 * MANIFEST checks its channel's page records, and the session's verdict
 * the sums of the parts, which telescope whatever channel carried which
 * copy of a page and in whatever order they arrived (stale copies
 * included); a dropped page, a receiving channel whose stream never
 * finishes, or a channel of the sender the receiver never opened (its
 * count in every MANIFEST, whether or not its pages touched the others'),
 * is never VERIFIED.  The session's verdict goes by join order and keeps
 * the part and verdict of a receiving channel that left; a MANIFEST whose
 * reserved field is not 0 is refused.
 */
#include "test_util.h"

struct ends {
	struct svmig_wire s, r;
	uint8_t pt[SVMIG_PAGE_SIZE];
	uint8_t rec[SVMIG_REC_MAX_LEN];
};

static int setup(void **state)
{
	struct ends *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	t_sender(&e->s, NULL, T_CHANNEL, NULL, NULL);
	t_receiver(&e->r, NULL, T_CHANNEL, NULL);
	t_page(e->pt, 1);
	assert_int_equal(svmig_wire_seal_hello(&e->s, e->rec),
			 SVMIG_HELLO_REC_LEN);
	t_accept(&e->r, e->rec, SVMIG_HELLO_REC_LEN, NULL, NULL);
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

/* Seal a page and deliver it; deliver 0: the record is lost. */
static void page(struct ends *e, uint32_t slot, uint64_t pg, int deliver)
{
	assert_int_equal(svmig_wire_seal_page(&e->s, slot, pg, e->pt, e->rec),
			 SVMIG_PAGE_REC_LEN);
	if (deliver)
		t_accept(&e->r, e->rec, SVMIG_PAGE_REC_LEN, NULL, NULL);
}

/* A forged page (any seq and generation, the sender's table untouched). */
static void forged(struct ends *e, uint64_t seq, uint32_t slot, uint64_t pg,
		   uint32_t gen, const uint8_t *pt)
{
	assert_int_equal(svmig_wire_seal_page_at(&e->s, seq, slot, pg, gen, pt,
						 e->rec), SVMIG_PAGE_REC_LEN);
	t_accept(&e->r, e->rec, SVMIG_PAGE_REC_LEN, NULL, NULL);
}

/* The sender's manifest, at the receiver's next seq. */
static uint32_t finish(struct ends *e)
{
	struct svmig_wire_rec info;

	assert_int_equal(svmig_wire_set_next_seq(&e->s, e->r.next_seq), 0);
	assert_int_equal(svmig_wire_seal_manifest(&e->s, e->rec),
			 SVMIG_MANIFEST_REC_LEN);
	t_accept(&e->r, e->rec, SVMIG_MANIFEST_REC_LEN, NULL, &info);
	assert_int_equal(info.type, SVMIG_REC_MANIFEST);
	assert_int_equal(info.verdict, e->r.verdict);
	return info.verdict;
}

static void test_verified(void **state)
{
	struct ends *e = *state;

	page(e, 0, 1, 1);
	page(e, 1, 7, 1);
	page(e, 0, 1, 1);
	assert_int_equal(finish(e), SVMIG_VERDICT_VERIFIED);
}

/* The sender sent a page the receiver never got (and the seq hidden). */
static void test_page_missing(void **state)
{
	struct ends *e = *state;

	page(e, 0, 1, 1);
	page(e, 1, 7, 0);
	assert_int_equal(finish(e), SVMIG_VERDICT_MISMATCH);
}

/* The receiver accepted a page the sender's manifest does not list. */
static void test_page_extra(void **state)
{
	struct ends *e = *state;

	page(e, 0, 1, 1);
	forged(e, 2, 1, 7, 1, e->pt);
	assert_int_equal(finish(e), SVMIG_VERDICT_MISMATCH);
}

/* A stale copy counts as a page record seen: the counts differ. */
static void test_page_stale(void **state)
{
	struct ends *e = *state;

	page(e, 0, 1, 1);
	page(e, 0, 1, 1);
	forged(e, 3, 0, 1, 1, e->pt);
	assert_int_equal(e->r.stats.stale_pages, 1);
	assert_int_equal(finish(e), SVMIG_VERDICT_MISMATCH);
}

/* Same counts, different contents: only the sum can tell. */
static void test_page_altered(void **state)
{
	struct ends *e = *state;
	uint8_t other[SVMIG_PAGE_SIZE];

	page(e, 0, 1, 1);
	/* the sender's table says page 2 holds e->pt, gen 1 ... */
	assert_int_equal(svmig_wire_seal_page(&e->s, 0, 2, e->pt, e->rec),
			 SVMIG_PAGE_REC_LEN);
	/* ... the receiver got other contents, same seq and generation */
	memcpy(other, e->pt, sizeof(other));
	other[100] ^= 1;
	forged(e, 2, 0, 2, 1, other);
	assert_int_equal(finish(e), SVMIG_VERDICT_MISMATCH);
	assert_int_equal(e->r.page_records, e->s.page_records);
	assert_int_equal(e->r.stats.pages, e->s.stats.pages);
}

/* Same contents and counts, another generation: the sum tells. */
static void test_generation_differs(void **state)
{
	struct ends *e = *state;

	page(e, 0, 1, 1);
	assert_int_equal(svmig_wire_seal_page(&e->s, 0, 2, e->pt, e->rec),
			 SVMIG_PAGE_REC_LEN);
	forged(e, 2, 0, 2, 2, e->pt);
	assert_int_equal(finish(e), SVMIG_VERDICT_MISMATCH);
}

/*
 * Each manifest field is compared: craft manifests around the truth.
 * which: 0 the truth, 1 pages + 1, 2 page_records + 1, 3 and 4 a bit of
 * the sum, 5 channels 2, 6 channels 0 (a channel alone says 1), 7 and 8
 * reserved not 0: refused, and the true MANIFEST is accepted after it.
 */
static void test_each_field(void **state)
{
	uint8_t m[40], sum[16], good[SVMIG_MANIFEST_REC_LEN];
	struct svmig_wire_hdr hdr;
	struct svmig_wire_rec info;
	struct ends *e;
	uint64_t pages, v;
	int i, which;
	void *st;

	(void)state;
	assert_int_equal(sizeof(m), sizeof(struct svmig_wire_manifest));
	for (which = 0; which < 9; which++) {
		/* the same stream into a fresh receiver each time */
		assert_int_equal(setup(&st), 0);
		e = st;
		page(e, 0, 1, 1);
		page(e, 1, 7, 1);
		page(e, 1, 7, 1);
		svmig_table_sum(e->s.table, &pages, sum);
		assert_int_equal(pages, 2);
		assert_int_equal(e->s.part_pages, 2);
		assert_memory_equal(e->s.part_sum, sum, 16);
		for (i = 0; i < 8; i++) {
			v = pages + (which == 1);
			m[i] = (uint8_t)(v >> (56 - 8 * i));
			v = e->s.page_records + (which == 2);
			m[8 + i] = (uint8_t)(v >> (56 - 8 * i));
		}
		/* channels, reserved */
		memset(m + 16, 0, 8);
		m[19] = which == 5 ? 2 : which == 6 ? 0 : 1;
		m[20] = (uint8_t)(which == 7 ? 0x80 : 0);
		m[23] = (uint8_t)(which == 8);
		memcpy(m + 24, sum, 16);
		m[39] ^= (uint8_t)(which == 3);
		m[24] ^= (uint8_t)(which == 4 ? 0x80 : 0);
		svmig_wire_hdr_fill(&hdr, SVMIG_REC_MANIFEST, 56, 4);
		assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, NULL, 0, m,
						     sizeof(m), e->rec),
				 SVMIG_MANIFEST_REC_LEN);
		if (which >= 7) {
			uint64_t proto = e->r.stats.proto_errors;

			/* authentic, reserved not 0: refused, nothing moved */
			assert_int_equal(t_open(&e->r, e->rec,
						SVMIG_MANIFEST_REC_LEN, NULL,
						&info), -EPROTO);
			assert_int_equal(e->r.stats.proto_errors, proto + 1);
			assert_int_equal(e->r.stats.auth_failures, 0);
			assert_false(e->r.manifest_done);
			assert_int_equal(e->r.verdict, SVMIG_VERDICT_PENDING);
			/* the sender's own MANIFEST still goes through */
			assert_int_equal(svmig_wire_set_next_seq(&e->s, 4), 0);
			assert_int_equal(svmig_wire_seal_manifest(&e->s, good),
					 SVMIG_MANIFEST_REC_LEN);
			t_accept(&e->r, good, SVMIG_MANIFEST_REC_LEN, NULL,
				 &info);
			assert_int_equal(info.verdict, SVMIG_VERDICT_VERIFIED);
			assert_int_equal(info.manifest_channels, 1);
			teardown(&st);
			continue;
		}
		t_accept(&e->r, e->rec, SVMIG_MANIFEST_REC_LEN, NULL, &info);
		assert_int_equal(info.verdict, which ? SVMIG_VERDICT_MISMATCH :
				 SVMIG_VERDICT_VERIFIED);
		assert_int_equal(info.manifest_pages, pages + (which == 1));
		assert_int_equal(info.manifest_page_records,
				 e->s.page_records + (which == 2));
		assert_int_equal(info.manifest_channels,
				 which == 5 ? 2 : which == 6 ? 0 : 1);
		assert_memory_equal(info.manifest_table_sum, m + 24, 16);
		assert_int_equal(e->r.manifest_channels, info.manifest_channels);
		{
			struct svmig_wire *r = &e->r;

			assert_int_equal(svmig_wire_session_verdict(&r, 1),
					 info.verdict);
		}
		teardown(&st);
	}
}

/* ---- sessions of two channels ---- */

#define NCH 2

struct sess {
	struct svmig_wire s[NCH], r[NCH];
	uint8_t pt[SVMIG_PAGE_SIZE];
	uint8_t hello[NCH][SVMIG_HELLO_REC_LEN];
	/* the records sealed, in order, and their channel */
	uint8_t rec[16][SVMIG_PAGE_REC_LEN];
	size_t len[16];
	int ch[16];
	int n;
};

static const uint32_t ch_num[NCH] = { 3, 4 };

static int setup_session(void **state)
{
	struct sess *e = calloc(1, sizeof(*e));
	uint8_t salt[SVMIG_SALT_LEN];
	int i;

	assert_non_null(e);
	for (i = 0; i < NCH; i++) {
		t_fill(salt, sizeof(salt), (uint8_t)(0x40 + 0x20 * i));
		assert_int_equal(svmig_wire_init(&e->s[i], SVMIG_ROLE_SENDER,
			(uint8_t[16]){ 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
				       0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
				       0xae, 0xaf },
			ch_num[i], (uint8_t[32]){ 0 }), 0);
		assert_int_equal(svmig_wire_init(&e->r[i], SVMIG_ROLE_RECEIVER,
			e->s[i].session_id, ch_num[i], (uint8_t[32]){ 0 }), 0);
		if (i) {
			assert_int_equal(svmig_wire_join(&e->s[i], &e->s[0]), 0);
			assert_int_equal(svmig_wire_join(&e->r[i], &e->r[0]), 0);
		}
		/* every member registers the session's regions */
		t_add_regions(&e->s[i]);
		t_add_regions(&e->r[i]);
		assert_int_equal(svmig_wire_set_salt(&e->s[i], salt), 0);
	}
	assert_ptr_equal(e->s[0].table, e->s[1].table);
	assert_ptr_equal(e->r[0].table, e->r[1].table);
	for (i = 0; i < NCH; i++) {
		assert_int_equal(svmig_wire_seal_hello(&e->s[i], e->hello[i]),
				 SVMIG_HELLO_REC_LEN);
		t_accept(&e->r[i], e->hello[i], SVMIG_HELLO_REC_LEN, NULL,
			 NULL);
	}
	t_page(e->pt, 5);
	*state = e;
	return 0;
}

static int teardown_session(void **state)
{
	struct sess *e = *state;
	int i;

	for (i = 0; i < NCH; i++) {
		svmig_wire_free(&e->s[i]);
		svmig_wire_free(&e->r[i]);
	}
	free(e);
	return 0;
}

/* Channel @c seals a page (its next generation in the session's table). */
static void s_page(struct sess *e, int c, uint32_t slot, uint64_t pg)
{
	e->pt[0]++;
	e->ch[e->n] = c;
	e->len[e->n] = SVMIG_PAGE_REC_LEN;
	assert_int_equal(svmig_wire_seal_page(&e->s[c], slot, pg, e->pt,
					      e->rec[e->n]),
			 SVMIG_PAGE_REC_LEN);
	e->n++;
}

/* Channel @c seals its MANIFEST. */
static void s_manifest(struct sess *e, int c)
{
	e->ch[e->n] = c;
	e->len[e->n] = SVMIG_MANIFEST_REC_LEN;
	assert_int_equal(svmig_wire_seal_manifest(&e->s[c], e->rec[e->n]),
			 SVMIG_MANIFEST_REC_LEN);
	e->n++;
}

/* Deliver sealed record @i on its channel; its stale flag. */
static bool deliver(struct sess *e, int i)
{
	struct svmig_wire_rec info;

	t_accept(&e->r[e->ch[i]], e->rec[i], e->len[i], NULL, &info);
	return info.stale;
}

static uint32_t verdict(struct sess *e)
{
	struct svmig_wire *w[NCH] = { &e->r[0], &e->r[1] };

	return svmig_wire_session_verdict(w, NCH);
}

/*
 * The senders seal: ch3 (0,1) gen 1; ch4 (0,1) gen 2; ch4 (1,7) gen 1;
 * ch3 (9,0) gen 1; ch3 (1,7) gen 2; then the two MANIFESTs.
 */
static void seal_session(struct sess *e)
{
	uint8_t sum[16], parts[16] = { 0 };
	uint64_t pages;

	s_page(e, 0, 0, 1);	/* 0 */
	s_page(e, 1, 0, 1);	/* 1: gen 2 */
	s_page(e, 1, 1, 7);	/* 2 */
	s_page(e, 0, 9, 0);	/* 3 */
	s_page(e, 0, 1, 7);	/* 4: gen 2 */
	s_manifest(e, 0);	/* 5 */
	s_manifest(e, 1);	/* 6 */
	assert_int_equal(svmig_table_find(e->s[0].table, 0)->gen[1], 2);
	/* the senders' parts telescope to their table */
	svmig_table_sum(e->s[0].table, &pages, sum);
	assert_int_equal(pages, 3);
	assert_int_equal(e->s[0].part_pages + e->s[1].part_pages, 3);
	assert_int_equal(e->s[0].part_pages, 2);	/* (0,1), (9,0) */
	assert_int_equal(e->s[1].part_pages, 1);	/* (1,7) */
	svmig_sum_add(parts, e->s[0].part_sum);
	svmig_sum_add(parts, e->s[1].part_sum);
	assert_memory_equal(parts, sum, 16);
}

/* Records in the order sealed. */
static void test_session_in_order(void **state)
{
	struct sess *e = *state;
	int i;

	seal_session(e);
	for (i = 0; i < 5; i++)
		assert_false(deliver(e, i));
	assert_int_equal(verdict(e), SVMIG_VERDICT_PENDING);
	deliver(e, 5);
	/* one channel's MANIFEST is its part only */
	assert_int_equal(e->r[0].verdict, SVMIG_VERDICT_VERIFIED);
	assert_int_equal(verdict(e), SVMIG_VERDICT_PENDING);
	deliver(e, 6);
	assert_int_equal(verdict(e), SVMIG_VERDICT_VERIFIED);
	/* in order, each receiving part is its sender's */
	for (i = 0; i < NCH; i++) {
		assert_int_equal(e->r[i].part_pages, e->s[i].part_pages);
		assert_memory_equal(e->r[i].part_sum, e->s[i].part_sum, 16);
	}
}

/*
 * Channel 4's records first: channel 3's (0,1) gen 1 arrives after gen 2,
 * stale.  The receiving parts differ from the sending ones, their sums
 * do not.
 */
static void test_session_other_order(void **state)
{
	static const int order[] = { 1, 2, 6, 0, 3, 4, 5 };
	struct sess *e = *state;
	size_t i;

	seal_session(e);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		assert_int_equal(deliver(e, order[i]), order[i] == 0);
	assert_int_equal(e->r[0].stats.stale_pages, 1);
	assert_int_equal(e->r[0].page_records, 3);	/* stale included */
	assert_int_equal(e->r[0].verdict, SVMIG_VERDICT_VERIFIED);
	assert_int_equal(e->r[1].verdict, SVMIG_VERDICT_VERIFIED);
	assert_int_not_equal(e->r[0].part_pages, e->s[0].part_pages);
	assert_memory_not_equal(e->r[0].part_sum, e->s[0].part_sum, 16);
	assert_int_equal(verdict(e), SVMIG_VERDICT_VERIFIED);
	assert_int_equal(svmig_table_find(e->r[0].table, 0)->gen[1], 2);
}

/* A page lost on one channel (and its seq hidden): MISMATCH. */
static void test_session_page_dropped(void **state)
{
	struct sess *e = *state;
	int i;

	seal_session(e);
	for (i = 0; i < 7; i++) {
		if (i == 2)
			continue;
		if (i == 6)	/* the MANIFEST's seq after the hole */
			assert_int_equal(svmig_wire_set_next_seq(&e->r[1], 3),
					 0);
		deliver(e, i);
	}
	/* page_records: channel 4 saw one of its two */
	assert_int_equal(e->r[1].verdict, SVMIG_VERDICT_MISMATCH);
	assert_int_equal(verdict(e), SVMIG_VERDICT_MISMATCH);
}

/*
 * A receiving channel whose stream never brings its MANIFEST: PENDING
 * while it may, TRUNCATED once its stream ends; never VERIFIED.
 */
static void test_session_channel_missing(void **state)
{
	struct sess *e = *state;
	int i;

	seal_session(e);
	for (i = 0; i < 7; i++)
		if (e->ch[i] == 0)
			deliver(e, i);
	assert_int_equal(e->r[0].verdict, SVMIG_VERDICT_VERIFIED);
	assert_int_equal(verdict(e), SVMIG_VERDICT_PENDING);
	assert_int_equal(svmig_wire_eof(&e->r[1], 0), -ENODATA);
	assert_int_equal(verdict(e), SVMIG_VERDICT_TRUNCATED);
	/* all the members, or no verdict */
	{
		struct svmig_wire *w = &e->r[0];

		assert_int_equal(svmig_wire_session_verdict(&w, 1),
				 SVMIG_VERDICT_FAILED);
	}
}

/*
 * A session the receiver set up with one channel only.  First the
 * sender's other channel resent a page first sent on the one it saw, so
 * the sum differs too; then (disjoint) the other channel's pages are its
 * own, the sums agree, and only the MANIFEST's count (2) tells.
 */
static void test_session_unseen_channel(void **state)
{
	static const int ch3[] = { 0, 3, 4, 5 };
	struct sess *e = *state, *d;
	struct svmig_wire *r = calloc(1, sizeof(*r));
	struct svmig_wire_rec info;
	void *st;
	size_t i;

	assert_non_null(r);
	t_receiver(r, e->s[0].session_id, ch_num[0], (uint8_t[32]){ 0 });
	seal_session(e);
	t_accept(r, e->hello[0], SVMIG_HELLO_REC_LEN, NULL, NULL);
	for (i = 0; i < sizeof(ch3) / sizeof(ch3[0]); i++)
		t_accept(r, e->rec[ch3[i]], e->len[ch3[i]], NULL, &info);
	/* alone, its MANIFEST's verdict is the full one */
	assert_int_equal(info.manifest_channels, 2);
	assert_int_equal(r->verdict, SVMIG_VERDICT_MISMATCH);
	assert_int_equal(r->page_records, e->s[0].page_records);
	assert_int_equal(svmig_wire_session_verdict(&r, 1),
			 SVMIG_VERDICT_MISMATCH);
	svmig_wire_free(r);

	/* disjoint: ch3 (0,1), (9,0); ch4 (1,7), (0,2) */
	assert_int_equal(setup_session(&st), 0);
	d = st;
	s_page(d, 0, 0, 1);	/* 0 */
	s_page(d, 1, 1, 7);	/* 1 */
	s_page(d, 0, 9, 0);	/* 2 */
	s_page(d, 1, 0, 2);	/* 3 */
	s_manifest(d, 0);	/* 4 */
	s_manifest(d, 1);	/* 5 */
	t_receiver(r, d->s[0].session_id, ch_num[0], (uint8_t[32]){ 0 });
	t_accept(r, d->hello[0], SVMIG_HELLO_REC_LEN, NULL, NULL);
	for (i = 0; i < 6; i++)
		if (d->ch[i] == 0)
			t_accept(r, d->rec[i], d->len[i], NULL, &info);
	assert_int_equal(info.type, SVMIG_REC_MANIFEST);
	/* everything agrees but the count */
	assert_int_equal(info.manifest_pages, r->part_pages);
	assert_int_equal(info.manifest_page_records, r->page_records);
	assert_memory_equal(info.manifest_table_sum, r->part_sum, 16);
	assert_int_equal(info.manifest_channels, 2);
	assert_int_equal(info.verdict, SVMIG_VERDICT_MISMATCH);
	assert_int_equal(svmig_wire_session_verdict(&r, 1),
			 SVMIG_VERDICT_MISMATCH);
	/* the receiver's session of both channels verifies the same records */
	for (i = 0; i < 6; i++)
		deliver(d, (int)i);
	assert_int_equal(d->r[0].manifest_channels, 2);
	assert_int_equal(verdict(d), SVMIG_VERDICT_VERIFIED);
	teardown_session(&st);
	svmig_wire_free(r);
	free(r);
}

/*
 * The receiver's session has two channels, the sender's three: every
 * MANIFEST says 3, the receiver's count is 2.  Channel 5's pages are its
 * own, so only the count tells.  And no fourth joins once a record went
 * by.
 */
static void test_session_count_short(void **state)
{
	struct svmig_wire *s = calloc(4, sizeof(*s)), *r = calloc(2, sizeof(*r));
	struct svmig_wire *w[2] = { &r[0], &r[1] };
	uint8_t rec[SVMIG_PAGE_REC_LEN], pt[SVMIG_PAGE_SIZE], salt[32];
	struct svmig_wire_rec info;
	uint32_t i;

	(void)state;
	assert_non_null(s);
	assert_non_null(r);
	t_page(pt, 9);
	for (i = 0; i < 3; i++) {
		t_fill(salt, sizeof(salt), (uint8_t)(0x40 + 0x20 * i));
		assert_int_equal(svmig_wire_init(&s[i], SVMIG_ROLE_SENDER,
			(uint8_t[16]){ 0 }, 3 + i, (uint8_t[32]){ 0 }), 0);
		if (i)
			assert_int_equal(svmig_wire_join(&s[i], &s[0]), 0);
		t_add_regions(&s[i]);
		assert_int_equal(svmig_wire_set_salt(&s[i], salt), 0);
		if (i == 2)
			continue;
		assert_int_equal(svmig_wire_init(&r[i], SVMIG_ROLE_RECEIVER,
			(uint8_t[16]){ 0 }, 3 + i, (uint8_t[32]){ 0 }), 0);
		if (i)
			assert_int_equal(svmig_wire_join(&r[i], &r[0]), 0);
		t_add_regions(&r[i]);
	}
	assert_int_equal(s[0].table->joined, 3);
	assert_int_equal(r[0].table->joined, 2);
	for (i = 0; i < 3; i++) {
		assert_int_equal(svmig_wire_seal_hello(&s[i], rec),
				 SVMIG_HELLO_REC_LEN);
		if (i < 2)
			t_accept(&r[i], rec, SVMIG_HELLO_REC_LEN, NULL, NULL);
		/* page (1, i), never touched by another channel */
		assert_int_equal(svmig_wire_seal_page(&s[i], 1, i, pt, rec),
				 SVMIG_PAGE_REC_LEN);
		if (i < 2)
			t_accept(&r[i], rec, SVMIG_PAGE_REC_LEN, NULL, NULL);
	}
	/* too late for a fourth */
	assert_int_equal(svmig_wire_init(&s[3], SVMIG_ROLE_SENDER,
		(uint8_t[16]){ 0 }, 6, (uint8_t[32]){ 0 }), 0);
	assert_int_equal(svmig_wire_join(&s[3], &s[0]), -EINVAL);
	for (i = 0; i < 2; i++) {
		assert_int_equal(svmig_wire_seal_manifest(&s[i], rec),
				 SVMIG_MANIFEST_REC_LEN);
		t_accept(&r[i], rec, SVMIG_MANIFEST_REC_LEN, NULL, &info);
		assert_int_equal(info.manifest_channels, 3);
		assert_int_equal(info.verdict, SVMIG_VERDICT_VERIFIED);
	}
	/* the sums of the two agree; the count does not */
	assert_int_equal(svmig_wire_session_verdict(w, 2),
			 SVMIG_VERDICT_MISMATCH);
	for (i = 0; i < 4; i++)
		svmig_wire_free(&s[i]);
	svmig_wire_free(&r[0]);
	svmig_wire_free(&r[1]);
	free(s);
	free(r);
}

/*
 * The session's verdict goes by join order, whatever order the caller
 * lists the members in: channel 3 (joined first) TRUNCATED before
 * channel 4's MISMATCH.
 */
static void test_session_verdict_order(void **state)
{
	struct sess *e = *state;
	struct svmig_wire *w[NCH] = { &e->r[1], &e->r[0] };
	int i;

	seal_session(e);
	for (i = 0; i < 7; i++) {
		if (i == 2 || i == 5)	/* a page of ch4; ch3's MANIFEST */
			continue;
		if (i == 6)
			assert_int_equal(svmig_wire_set_next_seq(&e->r[1], 3),
					 0);
		deliver(e, i);
	}
	assert_int_equal(e->r[1].verdict, SVMIG_VERDICT_MISMATCH);
	assert_int_equal(verdict(e), SVMIG_VERDICT_MISMATCH);
	assert_int_equal(svmig_wire_session_verdict(w, NCH),
			 SVMIG_VERDICT_MISMATCH);
	assert_int_equal(svmig_wire_eof(&e->r[0], 0), -ENODATA);
	assert_int_equal(verdict(e), SVMIG_VERDICT_TRUNCATED);
	assert_int_equal(svmig_wire_session_verdict(w, NCH),
			 SVMIG_VERDICT_TRUNCATED);
}

/*
 * A receiving channel that leaves (freed) keeps its part and verdict in
 * the session's; a sender's channel that leaves still counts in the
 * others' MANIFESTs.
 */
static void test_session_member_leaves(void **state)
{
	struct sess *e = *state;
	struct svmig_wire *w = &e->r[0];
	struct svmig_wire_rec info;
	int i;

	seal_session(e);
	/* other order: channel 4 finished, then it leaves */
	deliver(e, 1);
	deliver(e, 2);
	deliver(e, 6);
	assert_int_equal(e->r[1].verdict, SVMIG_VERDICT_VERIFIED);
	svmig_wire_free(&e->r[1]);
	assert_int_equal(e->r[0].table->members, 1);
	assert_int_equal(e->r[0].table->joined, 2);
	assert_int_equal(e->r[0].table->ngone, 1);
	assert_int_equal(svmig_wire_session_verdict(&w, 1),
			 SVMIG_VERDICT_PENDING);
	for (i = 0; i < 6; i++)
		if (e->ch[i] == 0)
			t_accept(&e->r[0], e->rec[i], e->len[i], NULL, &info);
	/* in a session of two: its own verdict is its page records */
	assert_int_equal(info.verdict, SVMIG_VERDICT_VERIFIED);
	assert_int_equal(info.manifest_channels, 2);
	/* its part alone would not add up; with channel 4's it does */
	assert_memory_not_equal(e->r[0].part_sum, e->r[0].manifest_table_sum,
				16);
	assert_int_equal(svmig_wire_session_verdict(&w, 1),
			 SVMIG_VERDICT_VERIFIED);
}

/* A receiving channel that leaves before its MANIFEST: never VERIFIED. */
static void test_session_member_leaves_early(void **state)
{
	struct sess *e = *state;
	struct svmig_wire *w = &e->r[0];
	int i;

	seal_session(e);
	svmig_wire_free(&e->r[1]);
	for (i = 0; i < 7; i++)
		if (e->ch[i] == 0)
			deliver(e, i);
	assert_int_equal(e->r[0].verdict, SVMIG_VERDICT_VERIFIED);
	assert_int_equal(svmig_wire_session_verdict(&w, 1),
			 SVMIG_VERDICT_PENDING);
}

/* A sender's channel that left still counts: no join after it either. */
static void test_sender_member_leaves(void **state)
{
	struct sess *e = *state;
	struct svmig_wire_rec info;
	uint8_t rec[SVMIG_MANIFEST_REC_LEN];

	svmig_wire_free(&e->s[1]);
	assert_int_equal(e->s[0].table->joined, 2);
	assert_int_equal(svmig_wire_seal_manifest(&e->s[0], rec),
			 SVMIG_MANIFEST_REC_LEN);
	t_accept(&e->r[0], rec, SVMIG_MANIFEST_REC_LEN, NULL, &info);
	assert_int_equal(info.manifest_channels, 2);
}

/*
 * Stream mode: a session's ENDs say how many channels joined the sender's
 * session; the receiver's session of both verifies, a receiver that
 * opened channel 3 alone does not (its END says 2).
 */
static void test_stream_session_count(void **state)
{
	struct svmig_wire *s = calloc(2, sizeof(*s)), *r = calloc(3, sizeof(*r));
	struct svmig_wire *w[2] = { &r[0], &r[1] }, *alone = &r[2];
	uint8_t rec[SVMIG_REC_MAX_LEN], data[100], salt[32];
	struct svmig_wire_rec info;
	int i, len;

	(void)state;
	assert_non_null(s);
	assert_non_null(r);
	t_bytes(data, sizeof(data), 1);
	for (i = 0; i < 2; i++) {
		t_fill(salt, sizeof(salt), (uint8_t)(0x40 + 0x20 * i));
		t_sender_mode(&s[i], SVMIG_KEY_STREAM, NULL, 3 + (uint32_t)i,
			      NULL, salt);
		t_receiver_mode(&r[i], SVMIG_KEY_STREAM, NULL, 3 + (uint32_t)i,
				NULL);
		if (i) {
			assert_int_equal(svmig_wire_join(&s[i], &s[0]), 0);
			assert_int_equal(svmig_wire_join(&r[i], &r[0]), 0);
		}
	}
	t_receiver_mode(alone, SVMIG_KEY_STREAM, NULL, 3, NULL);
	for (i = 0; i < 2; i++) {
		len = svmig_wire_seal_hello(&s[i], rec);
		t_accept(&r[i], rec, (size_t)len, NULL, NULL);
		if (!i)
			t_accept(alone, rec, (size_t)len, NULL, NULL);
		len = svmig_wire_seal_data(&s[i], data, sizeof(data), rec);
		t_accept(&r[i], rec, (size_t)len, NULL, NULL);
		if (!i)
			t_accept(alone, rec, (size_t)len, NULL, NULL);
		assert_int_equal(svmig_wire_session_verdict(w, 2),
				 SVMIG_VERDICT_PENDING);
		len = svmig_wire_seal_end(&s[i], rec);
		assert_int_equal(len, SVMIG_END_REC_LEN);
		t_accept(&r[i], rec, (size_t)len, NULL, &info);
		assert_int_equal(info.end_channels, 2);
		assert_int_equal(info.verdict, SVMIG_VERDICT_VERIFIED);
		if (!i) {
			t_accept(alone, rec, (size_t)len, NULL, &info);
			assert_int_equal(info.verdict, SVMIG_VERDICT_MISMATCH);
		}
	}
	assert_int_equal(svmig_wire_session_verdict(w, 2),
			 SVMIG_VERDICT_VERIFIED);
	assert_int_equal(svmig_wire_session_verdict(&alone, 1),
			 SVMIG_VERDICT_MISMATCH);
	for (i = 0; i < 3; i++)
		svmig_wire_free(&r[i]);
	svmig_wire_free(&s[0]);
	svmig_wire_free(&s[1]);
	free(s);
	free(r);
}

/* Who may join whom, and the regions of a shared table. */
static void test_join_rules(void **state)
{
	struct svmig_wire *w = calloc(4, sizeof(*w));
	uint8_t sid[16], secret[32], other[32];

	(void)state;
	assert_non_null(w);
	t_inputs(secret, sid, NULL);
	memcpy(other, secret, 32);
	other[0] ^= 1;
	assert_int_equal(svmig_wire_init(&w[0], SVMIG_ROLE_RECEIVER, sid, 3,
					 secret), 0);
	/* another secret: another KT */
	assert_int_equal(svmig_wire_init(&w[1], SVMIG_ROLE_RECEIVER, sid, 4,
					 other), 0);
	assert_int_equal(svmig_wire_join(&w[1], &w[0]), -EINVAL);
	svmig_wire_free(&w[1]);
	/* another role, another mode */
	assert_int_equal(svmig_wire_init(&w[1], SVMIG_ROLE_SENDER, sid, 4,
					 secret), 0);
	assert_int_equal(svmig_wire_join(&w[1], &w[0]), -EINVAL);
	svmig_wire_free(&w[1]);
	assert_int_equal(svmig_wire_init(&w[1], SVMIG_ROLE_RECEIVER |
					 SVMIG_KEY_STREAM, sid, 4, secret), 0);
	assert_int_equal(svmig_wire_join(&w[1], &w[0]), -EINVAL);
	svmig_wire_free(&w[1]);
	/* the same channel number */
	assert_int_equal(svmig_wire_init(&w[1], SVMIG_ROLE_RECEIVER, sid, 3,
					 secret), 0);
	assert_int_equal(svmig_wire_join(&w[1], &w[0]), -EEXIST);
	svmig_wire_free(&w[1]);
	/* a joiner with regions of its own */
	assert_int_equal(svmig_wire_init(&w[1], SVMIG_ROLE_RECEIVER, sid, 4,
					 secret), 0);
	assert_int_equal(svmig_wire_add_region(&w[1], 1, 8), 0);
	assert_int_equal(svmig_wire_join(&w[1], &w[0]), -EINVAL);
	svmig_wire_free(&w[1]);
	/* members share regions: the same again is fine, another size not */
	assert_int_equal(svmig_wire_init(&w[1], SVMIG_ROLE_RECEIVER, sid, 4,
					 secret), 0);
	assert_int_equal(svmig_wire_add_region(&w[0], 1, 8), 0);
	assert_int_equal(svmig_wire_join(&w[1], &w[0]), 0);
	assert_int_equal(w[0].table->members, 2);
	assert_int_equal(svmig_wire_add_region(&w[1], 1, 8), 0);
	assert_int_equal(svmig_wire_add_region(&w[1], 1, 9), -EEXIST);
	assert_int_equal(svmig_wire_add_region(&w[1], 2, 1), 0);
	assert_non_null(svmig_table_find(w[0].table, 2));
	/* the first member may go first: the table stays with the other */
	svmig_wire_free(&w[0]);
	assert_int_equal(w[1].table->members, 1);
	assert_non_null(svmig_table_find(w[1].table, 1));
	/* no joining once a record went by */
	assert_int_equal(svmig_wire_init(&w[2], SVMIG_ROLE_SENDER, sid, 5,
					 secret), 0);
	assert_int_equal(svmig_wire_init(&w[3], SVMIG_ROLE_SENDER, sid, 6,
					 secret), 0);
	assert_int_equal(svmig_wire_set_salt(&w[2], secret), 0);
	assert_int_equal(svmig_wire_seal_hello(&w[2],
			 (uint8_t[SVMIG_HELLO_REC_LEN]){ 0 }),
			 SVMIG_HELLO_REC_LEN);
	assert_int_equal(svmig_wire_join(&w[3], &w[2]), -EINVAL);
	svmig_wire_free(&w[1]);
	svmig_wire_free(&w[2]);
	svmig_wire_free(&w[3]);
	free(w);
}

#define TS(f) cmocka_unit_test_setup_teardown(f, setup_session, \
					      teardown_session)

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_verified),
		T(test_page_missing),
		T(test_page_extra),
		T(test_page_stale),
		T(test_page_altered),
		T(test_generation_differs),
		T(test_each_field),
		TS(test_session_in_order),
		TS(test_session_other_order),
		TS(test_session_page_dropped),
		TS(test_session_channel_missing),
		TS(test_session_unseen_channel),
		cmocka_unit_test(test_session_count_short),
		TS(test_session_verdict_order),
		TS(test_session_member_leaves),
		TS(test_session_member_leaves_early),
		TS(test_sender_member_leaves),
		cmocka_unit_test(test_stream_session_count),
		cmocka_unit_test(test_join_rules),
	};

	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
