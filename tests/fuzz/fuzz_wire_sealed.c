// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the wire oracle (userspace/lib/wire.c) past its tag
 * check.  A sender and a receiver share a fixed key; the input is a
 * program whose steps seal records (HELLO, PAGE, MANIFEST, DATA, END with
 * fuzzed contents, and svmig_wire_seal_raw() records with a fuzzed header,
 * clear part and plaintext, so that authentic but malformed records reach
 * the code after the tag check), optionally flip a byte of one, replay
 * the previous one, or move the sender's sequence number, and hand every
 * record to the receiver.  A flip applies to the next sealed record, which
 * is delivered flipped first and then intact.
 *
 * Invariants: while the input only seals genuine records in order, the
 * receiver accepts each one (a refused forgery before it is not fatal),
 * hands out exactly the plaintext sealed, and the MANIFEST or END
 * verifies; a flipped or replayed record is refused; a refusal writes
 * nothing to the output buffer and does not move the receiver's sequence
 * number.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wire.h"

#define CANARY 0xa5

static const uint8_t secret[SVMIG_SECRET_LEN] = {
	0x5e, 0xc2, 0xe7, 0x01, 0x02, 0x03, 0x04, 0x05,
	0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
};
static const uint8_t session_id[SVMIG_SESSION_ID_LEN] = {
	0x51, 0xd0, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
	0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
};
static const uint8_t salt[SVMIG_SALT_LEN] = {
	0x5a, 0x17, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
	0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
	0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
};

/* the regions of both ends, page mode */
static const struct { uint32_t slot; uint64_t npages; } regions[] = {
	{ 0, 4 }, { 3, 1 }, { 0xfffffffe, 2 },
};
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

enum op {
	OP_HELLO, OP_PAGE, OP_FINAL, OP_DATA, OP_RAW, OP_FLIP, OP_REPLAY,
	OP_SEQ, OP_COUNT
};

struct st {
	struct svmig_wire *tx, *rx;
	bool stream;
	bool clean;		/* genuine records only, all accepted so far */
	uint8_t rec[SVMIG_REC_MAX_LEN + 64], prev[SVMIG_REC_MAX_LEN + 64];
	size_t rec_len, prev_len;
	size_t flip_at;		/* 1 + the offset to flip in the next record */
	uint8_t flip_mask;
	uint8_t pt[SVMIG_STREAM_RECORD_MAX];	/* what was sealed */
	size_t pt_len;
	uint8_t out[SVMIG_STREAM_RECORD_MAX];
};

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/*
 * Hands st->rec to the receiver; @genuine: sealed by the sender's own
 * functions in order, so it must be accepted while st->clean holds.
 * @bad: a flipped or replayed record, which must be refused.
 */
static int deliver(struct st *s, bool genuine, bool bad)
{
	struct svmig_wire_rec r;
	uint64_t seq = s->rx->next_seq;
	int ret;

	memset(s->out, CANARY, sizeof(s->out));
	ret = svmig_wire_open_record(s->rx, s->rec, s->rec_len, s->out, &r);
	if (ret) {
		FZ_CHECK(ret == -EPROTO || ret == -EILSEQ || ret == -EBADMSG,
			 "refusal %d", ret);
		FZ_CHECK(s->rx->next_seq == seq, "seq moved on a refusal");
		FZ_CHECK(all(s->out, sizeof(s->out), CANARY),
			 "refused record wrote to out");
		FZ_CHECK(!genuine || !s->clean,
			 "genuine in-order record refused: %d", ret);
		return ret;
	}
	FZ_CHECK(!bad, "flipped or replayed record accepted (type %u)", r.type);
	FZ_CHECK(s->rx->next_seq == seq + 1, "seq not advanced");
	if (!genuine)
		s->clean = false;
	if (genuine && s->clean) {
		if (r.type == SVMIG_REC_PAGE) {
			FZ_CHECK(!r.stale, "fresh page stale");
			FZ_CHECK(!memcmp(s->out, s->pt, SVMIG_PAGE_SIZE),
				 "page plaintext differs");
		} else if (r.type == SVMIG_REC_DATA) {
			FZ_CHECK(r.data_len == s->pt_len &&
				 !memcmp(s->out, s->pt, s->pt_len),
				 "data plaintext differs");
		} else if (r.type == SVMIG_REC_MANIFEST ||
			   r.type == SVMIG_REC_END) {
			FZ_CHECK(r.verdict == SVMIG_VERDICT_VERIFIED,
				 "verdict %u", r.verdict);
		}
	}
	return 0;
}

static void keep(struct st *s)
{
	memcpy(s->prev, s->rec, s->rec_len);
	s->prev_len = s->rec_len;
}

static void step(struct st *s, struct fz *f)
{
	uint8_t op = fz_u8(f) % OP_COUNT;
	struct svmig_wire_hdr hdr;
	uint8_t clear[64];
	size_t clear_len, len, at;
	uint32_t slot;
	uint64_t page;
	int n;

	switch (op) {
	case OP_HELLO:
		n = svmig_wire_seal_hello(s->tx, s->rec);
		break;
	case OP_PAGE:
		if (s->stream)
			return;
		slot = regions[fz_u8(f) % NREGIONS].slot;
		page = fz_u8(f) % 5;	/* one past the largest region */
		memset(s->pt, 0, SVMIG_PAGE_SIZE);
		fz_bytes(f, s->pt, fz_u8(f));
		n = svmig_wire_seal_page(s->tx, slot, page, s->pt, s->rec);
		break;
	case OP_FINAL:
		n = s->stream ? svmig_wire_seal_end(s->tx, s->rec) :
				svmig_wire_seal_manifest(s->tx, s->rec);
		break;
	case OP_DATA:
		if (!s->stream)
			return;
		len = fz_u16(f) % (SVMIG_STREAM_RECORD_MAX + 2);
		s->pt_len = len;
		memset(s->pt, 0x3c, len);
		fz_bytes(f, s->pt, len < 256 ? len : 256);
		n = svmig_wire_seal_data(s->tx, s->pt, len, s->rec);
		break;
	case OP_RAW:
		/* an authentic record of anything: header, clear part, plaintext */
		svmig_wire_hdr_fill(&hdr, fz_u8(f) % 7, 0, 0);
		fz_bytes(f, &hdr, sizeof(hdr) - 8);
		hdr.seq = __builtin_bswap64(s->rx->next_seq + (fz_u8(f) % 3) - 1);
		clear_len = fz_u8(f) % (sizeof(clear) + 1);
		fz_bytes(f, clear, clear_len);
		len = fz_u16(f) % (SVMIG_STREAM_RECORD_MAX + 2);
		memset(s->pt, 0, len);
		fz_bytes(f, s->pt, len < 128 ? len : 128);
		if (!s->tx->have_prk)
			return;
		n = svmig_wire_seal_raw(s->tx, &hdr, clear, clear_len, s->pt,
					len, s->rec);
		/* a clear part over a HELLO's, a seq past the last epoch */
		if (n == -EINVAL || n == -EOVERFLOW)
			return;
		FZ_CHECK(n == (int)(SVMIG_HDR_LEN + clear_len + len +
				    SVMIG_TAG_LEN), "seal_raw %d", n);
		s->rec_len = (size_t)n;
		/* the receiver reads the length field, which may lie */
		deliver(s, false, false);
		keep(s);
		return;
	case OP_FLIP:
		s->flip_at = 1 + fz_u16(f);
		s->flip_mask = (uint8_t)(fz_u8(f) | 1);
		return;
	case OP_REPLAY:
		if (!s->prev_len)
			return;
		memcpy(s->rec, s->prev, s->prev_len);
		s->rec_len = s->prev_len;
		deliver(s, false, true);
		return;
	case OP_SEQ:
		/* jump both ends (a test hook, e.g. across an epoch) */
		page = s->tx->next_seq + ((uint64_t)fz_u32(f) << (fz_u8(f) % 21));
		if (svmig_wire_set_next_seq(s->tx, page) == 0)
			FZ_CHECK(!svmig_wire_set_next_seq(s->rx, page),
				 "receiver refused set_next_seq");
		s->prev_len = 0;	/* a replay might now be in order */
		return;
	default:
		return;
	}
	if (n < 0)
		return;		/* the sender refused: nothing to deliver */
	FZ_CHECK(n > SVMIG_HDR_LEN && (size_t)n <= SVMIG_REC_MAX_LEN,
		 "sealed length %d", n);
	s->rec_len = (size_t)n;
	if (s->flip_at) {
		/* the forgery first: any flipped byte is refused */
		at = (s->flip_at - 1) % s->rec_len;
		s->rec[at] ^= s->flip_mask;
		deliver(s, false, true);
		s->rec[at] ^= s->flip_mask;
		s->flip_at = 0;
	}
	deliver(s, true, false);
	keep(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t mode = fz_u8(&f);
	uint32_t channel = mode >> 1 & 3;
	struct st *s = calloc(1, sizeof(*s));
	size_t i;
	int steps = 0;

	FZ_CHECK(s, "out of memory");
	s->stream = mode & 1;
	s->clean = true;
	s->tx = calloc(1, sizeof(*s->tx));
	s->rx = calloc(1, sizeof(*s->rx));
	FZ_CHECK(s->tx && s->rx, "out of memory");
	FZ_CHECK(!svmig_wire_init(s->tx, SVMIG_ROLE_SENDER |
				  (s->stream ? SVMIG_KEY_STREAM : 0),
				  session_id, channel, secret), "tx init");
	FZ_CHECK(!svmig_wire_init(s->rx, SVMIG_ROLE_RECEIVER |
				  (s->stream ? SVMIG_KEY_STREAM : 0),
				  session_id, channel, secret), "rx init");
	for (i = 0; !s->stream && i < NREGIONS; i++) {
		FZ_CHECK(!svmig_wire_add_region(s->tx, regions[i].slot,
						regions[i].npages), "tx region");
		FZ_CHECK(!svmig_wire_add_region(s->rx, regions[i].slot,
						regions[i].npages), "rx region");
	}
	FZ_CHECK(!svmig_wire_set_salt(s->tx, salt), "salt");

	while (!fz_empty(&f) && steps++ < 48)
		step(s, &f);

	svmig_wire_free(s->tx);
	svmig_wire_free(s->rx);
	free(s->tx);
	free(s->rx);
	free(s);
	return 0;
}
