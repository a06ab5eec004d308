// SPDX-License-Identifier: GPL-2.0
/*
 * The page-table digest both ends compute for the end-state manifest
 * (Documentation/wire-format.rst, "Page-table digest").
 */
#include <crypto/sha2.h>
#include <asm/unaligned.h>

#include "svmig.h"

#define SVMIG_DIGEST_ENTRY_LEN	32

void svmig_manifest_digest(struct svmig_channel *ch, u8 *digest, u64 *pages)
{
	u8 entry[SVMIG_DIGEST_ENTRY_LEN];
	struct sha256_state sha;
	u64 count = 0, i;
	u32 r;

	sha256_init(&sha);
	for (r = 0; r < ch->nregions; r++) {
		const struct svmig_mregion *m = &ch->regions[r];

		for (i = 0; i < m->npages; i++) {
			const struct svmig_page_state *ps = &m->pages[i];

			if (!ps->gen)
				continue;
			put_unaligned_be32(m->slot, entry);
			put_unaligned_be64(i, entry + 4);
			put_unaligned_be32(ps->gen, entry + 12);
			memcpy(entry + 16, ps->tag, SVMIG_TAG_LEN);
			sha256_update(&sha, entry, sizeof(entry));
			count++;
		}
		cond_resched();
	}
	sha256_final(&sha, digest);
	*pages = count;
}
