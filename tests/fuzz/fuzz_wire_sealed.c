// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the wire oracle (userspace/lib/wire.c) past its tag
 * check.  A sender and a receiver share a fixed key; the input is a
 * program whose steps seal records (HELLO, PAGE, MANIFEST, DATA, END with
 * fuzzed contents, and svmig_wire_seal_raw() records with a fuzzed header,
 * clear part and plaintext, so that authentic but malformed records reach
 * the code after the tag check, PAGEs of any identity and generation
 * included), optionally flip a byte of one, replay the previous one, move
 * the sender's sequence number, or hold a channel's next record back, and
 * hand every record to the receiver.  A flip applies to the next sealed
 * record, which is delivered flipped first and then intact.  With the
 * first byte's bit 3 set the ends are a session of two channels (joined
 * page tables), each step's op byte choosing the channel with its top bit;
 * a held record reaches the receiver after the other channel's records,
 * so older copies of a page arrive stale.
 *
 * Invariants: while the input only seals genuine records in order, the
 * receiver accepts each one (a refused forgery before it is not fatal),
 * hands out exactly the plaintext sealed unless the PAGE is stale (it is
 * stale exactly when the receiver's table holds that generation or a
 * newer one), and the MANIFEST or END verifies, as does the session once
 * every channel's MANIFEST is in, each MANIFEST or END saying as many
 * channels as the session has; the receiving parts add up to the
 * receiver's table; a flipped or replayed record is refused; an
 * authentic MANIFEST or END (seal_raw) is accepted only with its reserved
 * field 0; a refusal writes nothing to the output buffer and does not
 * move the receiver's sequence number.
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
#define NCH 2

enum op {
	OP_HELLO, OP_PAGE, OP_FINAL, OP_DATA, OP_RAW, OP_FLIP, OP_REPLAY,
	OP_SEQ, OP_HOLD, OP_COUNT
};

struct held {
	bool on;			/* hold the channel's next genuine record */
	bool full;			/* a record is held */
	uint8_t rec[SVMIG_PAGE_REC_LEN];
	size_t len;
	uint8_t idpt[16 + SVMIG_PAGE_SIZE];	/* identity, page */
};

struct st {
	struct svmig_wire *tx[NCH], *rx[NCH];
	size_t nch;
	bool stream;
	bool clean;		/* genuine records only, all accepted so far */
	uint8_t rec[SVMIG_REC_MAX_LEN + 64], prev[SVMIG_REC_MAX_LEN + 64];
	size_t rec_len, prev_len;
	int prev_ch;
	size_t flip_at;		/* 1 + the offset to flip in the next record */
	uint8_t flip_mask;
	uint8_t pt[SVMIG_STREAM_RECORD_MAX];	/* what was sealed */
	size_t pt_len;
	bool raw;		/* s->pt is a seal_raw record's whole plaintext */
	uint8_t out[SVMIG_STREAM_RECORD_MAX];
	struct held held[NCH];
};

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Every receiving channel's verdict is in: the session must verify. */
static void check_session(struct st *s)
{
	uint8_t sum[SVMIG_TABLE_SUM_LEN] = { 0 }, tsum[SVMIG_TABLE_SUM_LEN];
	uint64_t pages = 0, tpages;
	size_t i;

	for (i = 0; i < s->nch; i++) {
		if (s->rx[i]->verdict == SVMIG_VERDICT_PENDING)
			return;
		pages += s->rx[i]->part_pages;
		svmig_sum_add(sum, s->rx[i]->part_sum);
	}
	svmig_table_sum(s->rx[0]->table, &tpages, tsum);
	FZ_CHECK(pages == tpages && !memcmp(sum, tsum, sizeof(sum)),
		 "receiving parts do not add up to the table");
	if (!s->stream) {
		svmig_table_sum(s->tx[0]->table, &tpages, tsum);
		FZ_CHECK(pages == tpages && !memcmp(sum, tsum, sizeof(sum)),
			 "receiver's table is not the sender's");
	}
	FZ_CHECK(svmig_wire_session_verdict(s->rx, s->nch) ==
		 SVMIG_VERDICT_VERIFIED, "session verdict %u",
		 svmig_wire_session_verdict(s->rx, s->nch));
}

/*
 * Hands @rec to channel @c's receiver; @genuine: sealed by the sender's
 * own functions in order, so it must be accepted while st->clean holds,
 * with @pt (a page's or DATA's plaintext) as its plaintext; a genuine
 * PAGE's @pt follows its 16-byte identity.  @bad: a flipped or replayed
 * record, which must be refused.
 */
static int deliver_rec(struct st *s, int c, const uint8_t *rec, size_t len,
		       const uint8_t *pt, size_t pt_len, bool genuine, bool bad)
{
	struct svmig_wire *rx = s->rx[c];
	struct svmig_wire_rec r;
	uint64_t seq = rx->next_seq;
	bool want_stale = false;
	int ret;

	if (genuine && s->clean && !s->stream && rec[1] == SVMIG_REC_PAGE &&
	    len == SVMIG_PAGE_REC_LEN) {
		/* the sender's identity is in the clear in its plaintext copy */
		const struct svmig_table_region *reg;
		uint32_t slot = (uint32_t)pt[-16] << 24 | (uint32_t)pt[-15] << 16 |
				(uint32_t)pt[-14] << 8 | pt[-13];
		uint32_t gen = (uint32_t)pt[-12] << 24 | (uint32_t)pt[-11] << 16 |
			       (uint32_t)pt[-10] << 8 | pt[-9];
		uint64_t page = 0;
		int i;

		for (i = 0; i < 8; i++)
			page = page << 8 | pt[-8 + i];
		reg = svmig_table_find(rx->table, slot);
		want_stale = reg && page < reg->npages && gen <= reg->gen[page];
	}
	memset(s->out, CANARY, sizeof(s->out));
	ret = svmig_wire_open_record(rx, rec, len, s->out, &r);
	if (ret) {
		FZ_CHECK(ret == -EPROTO || ret == -EILSEQ || ret == -EBADMSG,
			 "refusal %d", ret);
		FZ_CHECK(rx->next_seq == seq, "seq moved on a refusal");
		FZ_CHECK(all(s->out, sizeof(s->out), CANARY),
			 "refused record wrote to out");
		FZ_CHECK(!genuine || !s->clean,
			 "genuine in-order record refused: %d", ret);
		return ret;
	}
	FZ_CHECK(!bad, "flipped or replayed record accepted (type %u)", r.type);
	if (!genuine && s->raw && pt_len >= 24 &&
	    (r.type == SVMIG_REC_MANIFEST || r.type == SVMIG_REC_END))
		FZ_CHECK(!pt[20] && !pt[21] && !pt[22] && !pt[23],
			 "MANIFEST/END with reserved field set accepted");
	FZ_CHECK(rx->next_seq == seq + 1, "seq not advanced");
	if (!genuine)
		s->clean = false;
	if (genuine && s->clean) {
		if (r.type == SVMIG_REC_PAGE) {
			FZ_CHECK(r.stale == want_stale, "stale %d, expected %d",
				 r.stale, want_stale);
			FZ_CHECK(r.stale || !memcmp(s->out, pt, SVMIG_PAGE_SIZE),
				 "page plaintext differs");
		} else if (r.type == SVMIG_REC_DATA) {
			FZ_CHECK(r.data_len == pt_len &&
				 !memcmp(s->out, pt, pt_len),
				 "data plaintext differs");
		} else if (r.type == SVMIG_REC_MANIFEST ||
			   r.type == SVMIG_REC_END) {
			FZ_CHECK(r.verdict == SVMIG_VERDICT_VERIFIED,
				 "verdict %u", r.verdict);
			FZ_CHECK((r.type == SVMIG_REC_MANIFEST ?
				  r.manifest_channels : r.end_channels) ==
				 s->nch, "channels %u, session of %zu",
				 r.type == SVMIG_REC_MANIFEST ?
				 r.manifest_channels : r.end_channels, s->nch);
			check_session(s);
		}
	}
	return 0;
}

/* The held record of channel @c, if any, reaches its receiver. */
static void release(struct st *s, int c)
{
	struct held *h = &s->held[c];

	if (!h->full)
		return;
	h->full = false;
	deliver_rec(s, c, h->rec, h->len, h->idpt + 16, SVMIG_PAGE_SIZE, true,
		    false);
}

static int deliver(struct st *s, int c, bool genuine, bool bad)
{
	return deliver_rec(s, c, s->rec, s->rec_len, s->pt, s->pt_len, genuine,
			   bad);
}

static void keep(struct st *s, int c)
{
	memcpy(s->prev, s->rec, s->rec_len);
	s->prev_len = s->rec_len;
	s->prev_ch = c;
}

static void step(struct st *s, struct fz *f)
{
	uint8_t opb = fz_u8(f), op = (opb & 0x7f) % OP_COUNT;
	int c = s->nch > 1 ? opb >> 7 : 0;
	struct svmig_wire *tx = s->tx[c];
	struct svmig_wire_hdr hdr;
	/* a PAGE's identity, then its page (s->pt), for the stale check */
	static uint8_t idpt[16 + SVMIG_PAGE_SIZE];
	uint8_t clear[64];
	size_t clear_len, len, at;
	uint32_t slot;
	uint64_t page;
	int n;

	switch (op) {
	case OP_HELLO:
		n = svmig_wire_seal_hello(tx, s->rec);
		break;
	case OP_PAGE: {
		const struct svmig_table_region *reg;

		if (s->stream)
			return;
		slot = regions[fz_u8(f) % NREGIONS].slot;
		page = fz_u8(f) % 5;	/* one past the largest region */
		memset(s->pt, 0, SVMIG_PAGE_SIZE);
		fz_bytes(f, s->pt, fz_u8(f));
		reg = svmig_table_find(tx->table, slot);
		svmig_wire_page_identity(idpt, slot, page, reg &&
					 page < reg->npages ?
					 reg->gen[page] + 1 : 0);
		memcpy(idpt + 16, s->pt, SVMIG_PAGE_SIZE);
		n = svmig_wire_seal_page(tx, slot, page, s->pt, s->rec);
		break;
	}
	case OP_FINAL:
		n = s->stream ? svmig_wire_seal_end(tx, s->rec) :
				svmig_wire_seal_manifest(tx, s->rec);
		break;
	case OP_DATA:
		if (!s->stream)
			return;
		len = fz_u16(f) % (SVMIG_STREAM_RECORD_MAX + 2);
		s->pt_len = len;
		memset(s->pt, 0x3c, len);
		fz_bytes(f, s->pt, len < 256 ? len : 256);
		n = svmig_wire_seal_data(tx, s->pt, len, s->rec);
		break;
	case OP_RAW:
		/* an authentic record of anything: header, clear part, plaintext */
		svmig_wire_hdr_fill(&hdr, fz_u8(f) % 7, 0, 0);
		fz_bytes(f, &hdr, sizeof(hdr) - 8);
		hdr.seq = __builtin_bswap64(s->rx[c]->next_seq +
					    (fz_u8(f) % 3) - 1);
		clear_len = fz_u8(f) % (sizeof(clear) + 1);
		fz_bytes(f, clear, clear_len);
		len = fz_u16(f) % (SVMIG_STREAM_RECORD_MAX + 2);
		memset(s->pt, 0, len);
		fz_bytes(f, s->pt, len < 128 ? len : 128);
		if (!tx->have_prk)
			return;
		n = svmig_wire_seal_raw(tx, &hdr, clear, clear_len, s->pt,
					len, s->rec);
		/* a clear part over a HELLO's, a seq past the last epoch */
		if (n == -EINVAL || n == -EOVERFLOW)
			return;
		FZ_CHECK(n == (int)(SVMIG_HDR_LEN + clear_len + len +
				    SVMIG_TAG_LEN), "seal_raw %d", n);
		s->rec_len = (size_t)n;
		/* the receiver reads the length field, which may lie */
		release(s, c);
		s->pt_len = len;
		s->raw = !clear_len;
		deliver(s, c, false, false);
		s->raw = false;
		keep(s, c);
		return;
	case OP_FLIP:
		s->flip_at = 1 + fz_u16(f);
		s->flip_mask = (uint8_t)(fz_u8(f) | 1);
		return;
	case OP_REPLAY:
		if (!s->prev_len)
			return;
		release(s, s->prev_ch);
		memcpy(s->rec, s->prev, s->prev_len);
		s->rec_len = s->prev_len;
		deliver(s, s->prev_ch, false, true);
		return;
	case OP_SEQ:
		/* jump both ends (a test hook, e.g. across an epoch) */
		release(s, c);
		page = tx->next_seq + ((uint64_t)fz_u32(f) << (fz_u8(f) % 21));
		/*
		 * The receiver follows unless an authentic forgery it
		 * accepted (a seal_raw MANIFEST or END) finished it first.
		 */
		if (svmig_wire_set_next_seq(tx, page) == 0)
			FZ_CHECK(!svmig_wire_set_next_seq(s->rx[c], page) ||
				 (!s->clean && s->rx[c]->manifest_done),
				 "receiver refused set_next_seq");
		s->prev_len = 0;	/* a replay might now be in order */
		return;
	case OP_HOLD:
		/* sessions: hold this channel's next PAGE back */
		if (s->nch > 1)
			s->held[c].on = true;
		return;
	default:
		return;
	}
	if (n < 0)
		return;		/* the sender refused: nothing to deliver */
	FZ_CHECK(n > SVMIG_HDR_LEN && (size_t)n <= SVMIG_REC_MAX_LEN,
		 "sealed length %d", n);
	s->rec_len = (size_t)n;
	/* a held record goes before anything later on its channel */
	release(s, c);
	if (op == OP_PAGE && s->held[c].on && !s->flip_at) {
		struct held *h = &s->held[c];

		h->on = false;
		h->full = true;
		memcpy(h->rec, s->rec, s->rec_len);
		h->len = s->rec_len;
		memcpy(h->idpt, idpt, sizeof(h->idpt));
		s->prev_len = 0;
		return;
	}
	if (s->flip_at) {
		/* the forgery first: any flipped byte is refused */
		at = (s->flip_at - 1) % s->rec_len;
		s->rec[at] ^= s->flip_mask;
		deliver(s, c, false, true);
		s->rec[at] ^= s->flip_mask;
		s->flip_at = 0;
	}
	if (op == OP_PAGE)
		deliver_rec(s, c, s->rec, s->rec_len, idpt + 16,
			    SVMIG_PAGE_SIZE, true, false);
	else
		deliver(s, c, true, false);
	keep(s, c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t mode = fz_u8(&f);
	uint32_t channel = mode >> 1 & 3;
	struct st *s = calloc(1, sizeof(*s));
	size_t i, c;
	int steps = 0;

	FZ_CHECK(s, "out of memory");
	s->stream = mode & 1;
	s->nch = mode & 8 ? 2 : 1;
	s->clean = true;
	for (c = 0; c < s->nch; c++) {
		uint32_t flags = s->stream ? SVMIG_KEY_STREAM : 0;
		uint8_t csalt[SVMIG_SALT_LEN];

		s->tx[c] = calloc(1, sizeof(*s->tx[c]));
		s->rx[c] = calloc(1, sizeof(*s->rx[c]));
		FZ_CHECK(s->tx[c] && s->rx[c], "out of memory");
		FZ_CHECK(!svmig_wire_init(s->tx[c], SVMIG_ROLE_SENDER | flags,
					  session_id, channel + (uint32_t)c,
					  secret), "tx init");
		FZ_CHECK(!svmig_wire_init(s->rx[c], SVMIG_ROLE_RECEIVER | flags,
					  session_id, channel + (uint32_t)c,
					  secret), "rx init");
		if (c) {
			FZ_CHECK(!svmig_wire_join(s->tx[c], s->tx[0]), "tx join");
			FZ_CHECK(!svmig_wire_join(s->rx[c], s->rx[0]), "rx join");
		}
		for (i = 0; !s->stream && i < NREGIONS; i++) {
			FZ_CHECK(!svmig_wire_add_region(s->tx[c], regions[i].slot,
							regions[i].npages),
				 "tx region");
			FZ_CHECK(!svmig_wire_add_region(s->rx[c], regions[i].slot,
							regions[i].npages),
				 "rx region");
		}
		memcpy(csalt, salt, sizeof(csalt));
		csalt[31] ^= (uint8_t)c;
		FZ_CHECK(!svmig_wire_set_salt(s->tx[c], csalt), "salt");
	}

	while (!fz_empty(&f) && steps++ < 48)
		step(s, &f);

	for (c = 0; c < s->nch; c++) {
		svmig_wire_free(s->tx[c]);
		svmig_wire_free(s->rx[c]);
		free(s->tx[c]);
		free(s->rx[c]);
	}
	free(s);
	return 0;
}
