// SPDX-License-Identifier: GPL-2.0
/*
 * The MANIFEST verdict: VERIFIED only if the receiver's distinct pages,
 * page records seen (accepted + stale) and page-table digest all equal the
 * manifest's; a missing, extra, stale, altered or regenerated page, or a
 * count off by one, gives MISMATCH.
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

/* Same counts, different contents: only the digest can tell. */
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

/* Same contents and counts, another generation: the digest tells. */
static void test_generation_differs(void **state)
{
	struct ends *e = *state;

	page(e, 0, 1, 1);
	assert_int_equal(svmig_wire_seal_page(&e->s, 0, 2, e->pt, e->rec),
			 SVMIG_PAGE_REC_LEN);
	forged(e, 2, 0, 2, 2, e->pt);
	assert_int_equal(finish(e), SVMIG_VERDICT_MISMATCH);
}

/* Each manifest field is compared: craft manifests around the truth. */
static void test_each_field(void **state)
{
	uint8_t m[48], digest[32];
	struct svmig_wire_hdr hdr;
	struct svmig_wire_rec info;
	struct ends *e;
	uint64_t pages, v;
	int i, which;
	void *st;

	(void)state;
	for (which = 0; which < 4; which++) {
		/* the same stream into a fresh receiver each time */
		assert_int_equal(setup(&st), 0);
		e = st;
		page(e, 0, 1, 1);
		page(e, 1, 7, 1);
		page(e, 1, 7, 1);
		assert_int_equal(svmig_table_digest(&e->s.table, digest,
						    &pages), 0);
		assert_int_equal(pages, 2);
		for (i = 0; i < 8; i++) {
			v = pages + (which == 1);
			m[i] = (uint8_t)(v >> (56 - 8 * i));
			v = e->s.page_records + (which == 2);
			m[8 + i] = (uint8_t)(v >> (56 - 8 * i));
		}
		memcpy(m + 16, digest, 32);
		m[47] ^= (uint8_t)(which == 3);
		svmig_wire_hdr_fill(&hdr, SVMIG_REC_MANIFEST, 64, 4);
		assert_int_equal(svmig_wire_seal_raw(&e->s, &hdr, NULL, 0, m,
						     sizeof(m), e->rec),
				 SVMIG_MANIFEST_REC_LEN);
		t_accept(&e->r, e->rec, SVMIG_MANIFEST_REC_LEN, NULL, &info);
		assert_int_equal(info.verdict, which ? SVMIG_VERDICT_MISMATCH :
				 SVMIG_VERDICT_VERIFIED);
		assert_int_equal(info.manifest_pages, pages + (which == 1));
		assert_int_equal(info.manifest_page_records,
				 e->s.page_records + (which == 2));
		assert_memory_equal(info.manifest_digest, m + 16, 32);
		teardown(&st);
	}
}

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
	};

	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
