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

/* Deterministic page contents, different for every seed. */
static inline void t_page(uint8_t page[SVMIG_PAGE_SIZE], uint32_t seed)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL * (seed + 1);
	size_t i;

	for (i = 0; i < SVMIG_PAGE_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		page[i] = (uint8_t)x;
	}
}

static inline void t_add_regions(struct svmig_wire *w)
{
	size_t i;

	for (i = 0; i < sizeof(t_regions) / sizeof(t_regions[0]); i++)
		assert_int_equal(svmig_wire_add_region(w, t_regions[i].slot,
						       t_regions[i].npages), 0);
}

/* A sender with the given inputs (NULL: the defaults) and the regions. */
static inline void t_sender(struct svmig_wire *w, const uint8_t *sid,
			    uint32_t channel, const uint8_t *secret,
			    const uint8_t *salt)
{
	uint8_t dsecret[SVMIG_SECRET_LEN], dsid[SVMIG_SESSION_ID_LEN];
	uint8_t dsalt[SVMIG_SALT_LEN];

	t_inputs(dsecret, dsid, dsalt);
	assert_int_equal(svmig_wire_init(w, SVMIG_ROLE_SENDER,
					 sid ? sid : dsid, channel,
					 secret ? secret : dsecret), 0);
	t_add_regions(w);
	assert_int_equal(svmig_wire_set_salt(w, salt ? salt : dsalt), 0);
}

static inline void t_receiver(struct svmig_wire *w, const uint8_t *sid,
			      uint32_t channel, const uint8_t *secret)
{
	uint8_t dsecret[SVMIG_SECRET_LEN], dsid[SVMIG_SESSION_ID_LEN];

	t_inputs(dsecret, dsid, NULL);
	assert_int_equal(svmig_wire_init(w, SVMIG_ROLE_RECEIVER,
					 sid ? sid : dsid, channel,
					 secret ? secret : dsecret), 0);
	t_add_regions(w);
}

/*
 * Open a record into a sentinel-filled page buffer.  On failure, check
 * that nothing was written to the page buffer and that the receiver's
 * sequence and table did not move.  Returns the receiver's result.
 */
static inline int t_open(struct svmig_wire *r, const uint8_t *buf, size_t len,
			 uint8_t *page_out, struct svmig_wire_rec *rec)
{
	static uint8_t out[SVMIG_PAGE_SIZE];
	struct svmig_wire_rec dummy;
	uint8_t digest0[SVMIG_HASH_LEN], digest1[SVMIG_HASH_LEN];
	uint64_t seq0 = r->next_seq, pr0 = r->page_records;
	size_t i;
	int ret;

	if (!rec)
		rec = &dummy;
	memset(out, T_SENTINEL, sizeof(out));
	assert_int_equal(svmig_table_digest(&r->table, digest0, NULL), 0);
	ret = svmig_wire_open_record(r, buf, len, out, rec);
	if (ret || rec->stale) {
		for (i = 0; i < sizeof(out); i++)
			if (out[i] != T_SENTINEL)
				fail_msg("byte %zu written on refusal (%d)", i,
					 ret);
	}
	if (ret) {
		assert_int_equal(r->next_seq, seq0);
		assert_int_equal(r->page_records, pr0);
		assert_int_equal(svmig_table_digest(&r->table, digest1, NULL), 0);
		assert_memory_equal(digest0, digest1, SVMIG_HASH_LEN);
	}
	if (page_out && !ret)
		memcpy(page_out, out, sizeof(out));
	return ret;
}

/* Open a record that must be accepted. */
#define t_accept(r, buf, len, page_out, rec) \
	assert_int_equal(t_open((r), (buf), (len), (page_out), (rec)), 0)

#endif /* SVMIG_TEST_UTIL_H */
