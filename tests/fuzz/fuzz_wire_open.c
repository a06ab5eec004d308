// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the wire oracle's receiver (userspace/lib/wire.c)
 * fed raw bytes, as a stream reader would be: the input's first byte picks
 * page or stream mode, the rest is cut into records with
 * svmig_wire_record_len() and each is handed to svmig_wire_open_record().
 * Raw bytes do not get past the tag check (fuzz_wire_sealed does); this
 * one covers the header, sequence, placement and length checks.
 *
 * Invariants (wire.h): a refused record returns -EPROTO, -EILSEQ or
 * -EBADMSG, writes nothing to the output buffer, zeroes *rec and leaves
 * the next expected sequence number alone.
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

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[SVMIG_STREAM_RECORD_MAX];
	struct fz f = { data, size };
	struct svmig_wire *w;
	struct svmig_wire_rec rec;
	uint8_t mode = fz_u8(&f);
	uint32_t flags = SVMIG_ROLE_RECEIVER;
	uint64_t seq;
	int len, ret, n = 0;

	if (mode & 1)
		flags |= SVMIG_KEY_STREAM;
	w = calloc(1, sizeof(*w));
	FZ_CHECK(w, "out of memory");
	FZ_CHECK(!svmig_wire_init(w, flags, session_id, mode >> 1 & 3, secret),
		 "init");
	if (!(mode & 1)) {
		FZ_CHECK(!svmig_wire_add_region(w, 0, 4), "region 0");
		FZ_CHECK(!svmig_wire_add_region(w, 7, 1), "region 7");
	}

	while (!fz_empty(&f) && n++ < 64) {
		size_t take;
		const uint8_t *rec_buf;

		len = svmig_wire_record_len(f.p, f.n);
		FZ_CHECK(len == -EAGAIN || len == -EPROTO ||
			 (len >= SVMIG_HDR_LEN && len <= (int)SVMIG_REC_MAX_LEN),
			 "record_len %d", len);
		/* a short or oversize record: hand over what is left */
		take = len < 0 ? f.n : (size_t)len;
		rec_buf = fz_take(&f, &take);

		memset(out, CANARY, sizeof(out));
		memset(&rec, 0x5a, sizeof(rec));
		seq = w->next_seq;
		ret = svmig_wire_open_record(w, rec_buf, take, out, &rec);
		if (ret) {
			FZ_CHECK(ret == -EPROTO || ret == -EILSEQ ||
				 ret == -EBADMSG, "refusal %d", ret);
			FZ_CHECK(w->next_seq == seq, "seq moved on a refusal");
			FZ_CHECK(all(out, sizeof(out), CANARY),
				 "refused record wrote to out");
			FZ_CHECK(all((const uint8_t *)&rec, sizeof(rec), 0),
				 "refused record left *rec");
			FZ_CHECK(w->failed, "refusal not recorded");
		} else {
			/* only a forged tag could get here */
			FZ_CHECK(w->next_seq == seq + 1, "accepted, seq %llu",
				 (unsigned long long)w->next_seq);
		}
	}
	svmig_wire_free(w);
	free(w);
	return 0;
}
