// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: the page stream every case sends or reads: its session id,
 * its length (HELLO, a record per page, MANIFEST), and the plain records
 * of the same size that the copy-only cases use in place of sealed ones.
 */
#include <string.h>

#include "bench.h"

const uint8_t bench_session_id[SVMIG_SESSION_ID_LEN] = "svmig-bench-0001";

size_t page_stream_len(size_t npages)
{
	return SVMIG_HELLO_REC_LEN + npages * REC + SVMIG_MANIFEST_REC_LEN;
}

void store_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * The page index of a plain record (below): where a PAGE record's
 * encrypted identity sits, in the clear.
 */
uint64_t rec_page(const uint8_t *rec)
{
	return load_be64(rec + SVMIG_HDR_LEN + 8);
}

/*
 * A plain record, the size of a PAGE record: the header, the identity
 * and the page in the clear, a zero tag.
 */
void plain_record(uint8_t *rec, uint64_t seq, uint64_t page, const uint8_t *data)
{
	svmig_wire_hdr_fill((struct svmig_wire_hdr *)rec, SVMIG_REC_PAGE,
			    (uint32_t)(REC - SVMIG_HDR_LEN), seq);
	memset(rec + SVMIG_HDR_LEN, 0, 8);
	store_be64(rec + SVMIG_HDR_LEN + 8, page);
	memcpy(rec + SVMIG_HDR_LEN + 16, data, PAGE);
	memset(rec + REC - SVMIG_TAG_LEN, 0, SVMIG_TAG_LEN);
}
