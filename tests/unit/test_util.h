/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the cmocka unit tests of userspace/lib/wire.c.
 */
#ifndef SVMIG_TEST_UTIL_H
#define SVMIG_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define T_CHANNEL	3
#define T_SENTINEL	0xa5

/* Regions both ends register (added out of slot order on purpose). */
static const struct { uint32_t slot; uint64_t npages; } t_regions[] = {
	{ 9, 2 }, { 0, 4 }, { 1, 8 },
};

static inline void t_fill(uint8_t *p, size_t n, uint8_t first)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(first + i);
}

/* The inputs of the vectors: secret 00..1f, session a0..af, salt 40..5f. */
static inline void t_inputs(uint8_t secret[SVMIG_SECRET_LEN],
			    uint8_t sid[SVMIG_SESSION_ID_LEN],
			    uint8_t salt[SVMIG_SALT_LEN])
{
	if (secret)
		t_fill(secret, SVMIG_SECRET_LEN, 0x00);
	if (sid)
		t_fill(sid, SVMIG_SESSION_ID_LEN, 0xa0);
	if (salt)
		t_fill(salt, SVMIG_SALT_LEN, 0x40);
}

/* Deterministic bytes, different for every seed. */
static inline void t_bytes(uint8_t *p, size_t n, uint32_t seed)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL * (seed + 1);
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

/* Deterministic page contents, different for every seed. */
static inline void t_page(uint8_t page[SVMIG_PAGE_SIZE], uint32_t seed)
{
	t_bytes(page, SVMIG_PAGE_SIZE, seed);
}

static inline void t_add_regions(struct svmig_wire *w)
{
	size_t i;

	for (i = 0; i < sizeof(t_regions) / sizeof(t_regions[0]); i++)
		assert_int_equal(svmig_wire_add_region(w, t_regions[i].slot,
						       t_regions[i].npages), 0);
}

/*
 * A sender with the given inputs (NULL: the defaults) in @mode (0: page
 * mode, with the regions; SVMIG_KEY_STREAM: stream mode, no regions).
 */
static inline void t_sender_mode(struct svmig_wire *w, uint32_t mode,
				 const uint8_t *sid, uint32_t channel,
				 const uint8_t *secret, const uint8_t *salt)
{
	uint8_t dsecret[SVMIG_SECRET_LEN], dsid[SVMIG_SESSION_ID_LEN];
	uint8_t dsalt[SVMIG_SALT_LEN];

	t_inputs(dsecret, dsid, dsalt);
	assert_int_equal(svmig_wire_init(w, SVMIG_ROLE_SENDER | mode,
					 sid ? sid : dsid, channel,
					 secret ? secret : dsecret), 0);
	if (!mode)
		t_add_regions(w);
	assert_int_equal(svmig_wire_set_salt(w, salt ? salt : dsalt), 0);
}

static inline void t_receiver_mode(struct svmig_wire *w, uint32_t mode,
				   const uint8_t *sid, uint32_t channel,
				   const uint8_t *secret)
{
	uint8_t dsecret[SVMIG_SECRET_LEN], dsid[SVMIG_SESSION_ID_LEN];

	t_inputs(dsecret, dsid, NULL);
	assert_int_equal(svmig_wire_init(w, SVMIG_ROLE_RECEIVER | mode,
					 sid ? sid : dsid, channel,
					 secret ? secret : dsecret), 0);
	if (!mode)
		t_add_regions(w);
}

/* Page-mode ends with the regions. */
static inline void t_sender(struct svmig_wire *w, const uint8_t *sid,
			    uint32_t channel, const uint8_t *secret,
			    const uint8_t *salt)
{
	t_sender_mode(w, 0, sid, channel, secret, salt);
}

static inline void t_receiver(struct svmig_wire *w, const uint8_t *sid,
			      uint32_t channel, const uint8_t *secret)
{
	t_receiver_mode(w, 0, sid, channel, secret);
}

/*
 * Open a record into a sentinel-filled buffer.  Check that nothing is
 * written there but an accepted non-stale page or DATA record's plaintext,
 * and, on failure, that the receiver's sequence, table, part and stream
 * state (counts, transcript, verdict) did not move.  On success the plaintext
 * (a page, or rec->data_len bytes) is copied to @out if not NULL.
 * Returns the receiver's result.
 */
static inline int t_open(struct svmig_wire *r, const uint8_t *buf, size_t len,
			 uint8_t *out, struct svmig_wire_rec *rec)
{
	static uint8_t o[SVMIG_STREAM_RECORD_MAX];
	struct svmig_wire_rec dummy;
	uint8_t sum0[SVMIG_TABLE_SUM_LEN], sum1[SVMIG_TABLE_SUM_LEN];
	uint8_t part0[SVMIG_TABLE_SUM_LEN];
	uint64_t pages0, pages1, part_pages0 = r->part_pages;
	uint8_t end0[sizeof(struct svmig_wire_end)];
	uint8_t end1[sizeof(struct svmig_wire_end)];
	uint64_t seq0 = r->next_seq, pr0 = r->page_records;
	uint32_t verdict0 = r->verdict, mch0 = r->manifest_channels;
	bool done0 = r->manifest_done;
	size_t i, written = 0;
	int ret;

	if (!rec)
		rec = &dummy;
	memset(o, T_SENTINEL, sizeof(o));
	svmig_table_sum(r->table, &pages0, sum0);
	memcpy(part0, r->part_sum, sizeof(part0));
	if (r->stream)
		assert_int_equal(svmig_wire_end_plaintext(r, end0), 0);
	ret = svmig_wire_open_record(r, buf, len, o, rec);
	if (!ret && rec->type == SVMIG_REC_PAGE && !rec->stale)
		written = SVMIG_PAGE_SIZE;
	else if (!ret && rec->type == SVMIG_REC_DATA)
		written = rec->data_len;
	for (i = written; i < sizeof(o); i++)
		if (o[i] != T_SENTINEL)
			fail_msg("byte %zu written (%d, %zu expected)", i, ret,
				 written);
	if (ret) {
		assert_int_equal(r->next_seq, seq0);
		assert_int_equal(r->page_records, pr0);
		assert_int_equal(r->verdict, verdict0);
		assert_int_equal(r->manifest_channels, mch0);
		assert_int_equal(r->manifest_done, done0);
		svmig_table_sum(r->table, &pages1, sum1);
		assert_int_equal(pages0, pages1);
		assert_memory_equal(sum0, sum1, sizeof(sum0));
		assert_int_equal(r->part_pages, part_pages0);
		assert_memory_equal(r->part_sum, part0, sizeof(part0));
		if (r->stream) {
			/* records, bytes and the transcript */
			assert_int_equal(svmig_wire_end_plaintext(r, end1), 0);
			assert_memory_equal(end0, end1, sizeof(end0));
		}
	}
	if (out && written)
		memcpy(out, o, written);
	return ret;
}

/* Open a record that must be accepted. */
#define t_accept(r, buf, len, page_out, rec) \
	assert_int_equal(t_open((r), (buf), (len), (page_out), (rec)), 0)

#endif /* SVMIG_TEST_UTIL_H */
