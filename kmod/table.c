// SPDX-License-Identifier: GPL-2.0
/*
 * The page table's values and sums (Documentation/wire-format.rst, "The
 * page table and its sums").  Each page of a session's table holds the
 * generation and the value v of the last page record sealed or accepted
 * for it; each channel keeps its part: the entries it created and the sum,
 * mod 2^128, of v(new) - v(old) over the entries it set.  Kept as pages
 * are sealed and accepted, so the manifest costs the same whatever the
 * size of the guest.
 */
#include <crypto/sha2.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "svmig.h"

/*
 * Precomputes SHA-256's state after KT, one whole block, so that a value
 * costs one compression: KT || entry (32 bytes) || padding.
 */
void svmig_table_key_init(struct sha256_state *state, const u8 *kt)
{
	BUILD_BUG_ON(SVMIG_TABLE_KEY_LEN != SHA256_BLOCK_SIZE);
	sha256_init(state);
	sha256_update(state, kt, SVMIG_TABLE_KEY_LEN);
}

/*
 * v = the first 16 bytes of
 *     SHA-256(KT || be32(slot) || be64(page) || be32(gen) || tag)
 */
static void svmig_table_value(const struct sha256_state *key, u32 slot, u64 page,
			      u32 gen, const u8 *tag, struct svmig_sum *v)
{
	u8 entry[16 + SVMIG_TAG_LEN], digest[SHA256_DIGEST_SIZE];
	struct sha256_state state = *key;

	put_unaligned_be32(slot, entry);
	put_unaligned_be64(page, entry + 4);
	put_unaligned_be32(gen, entry + 12);
	memcpy(entry + 16, tag, SVMIG_TAG_LEN);
	sha256_update(&state, entry, sizeof(entry));
	sha256_final(&state, digest);
	v->hi = get_unaligned_be64(digest);
	v->lo = get_unaligned_be64(digest + 8);
	memzero_explicit(digest, sizeof(digest));
}

/* a += b, mod 2^128 */
void svmig_sum_add(struct svmig_sum *a, const struct svmig_sum *b)
{
	u64 lo = a->lo + b->lo;

	a->hi += b->hi + (lo < a->lo);
	a->lo = lo;
}

/* a -= b, mod 2^128 */
static void svmig_sum_sub(struct svmig_sum *a, const struct svmig_sum *b)
{
	u64 lo = a->lo - b->lo;

	a->hi -= b->hi + (lo > a->lo);
	a->lo = lo;
}

void svmig_sum_put(const struct svmig_sum *s, u8 *out)
{
	put_unaligned_be64(s->hi, out);
	put_unaligned_be64(s->lo, out + 8);
}

void svmig_sum_get(struct svmig_sum *s, const u8 *in)
{
	s->hi = get_unaligned_be64(in);
	s->lo = get_unaligned_be64(in + 8);
}

bool svmig_sum_equal(const struct svmig_sum *a, const struct svmig_sum *b)
{
	return !((a->hi ^ b->hi) | (a->lo ^ b->lo));
}

/*
 * Makes the record with @gen and @tag the entry of page @page of @slot, and
 * adds the change to @ch's part; @created: the page had no entry before.
 * The caller holds the page's lock (svmig_page_lock()), or is the only
 * channel of its session.
 */
void svmig_table_set(struct svmig_channel *ch, struct svmig_page_state *ps, u32 slot,
		     u64 page, bool created, u32 gen, const u8 *tag)
{
	struct svmig_sum v;

	svmig_table_value(&ch->session->table_key, slot, page, gen, tag, &v);
	if (created)
		ch->part_pages++;
	svmig_sum_add(&ch->part_sum, &v);
	svmig_sum_sub(&ch->part_sum, &ps->value);
	ps->gen = gen;
	ps->value = v;
}
