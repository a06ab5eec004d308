// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's scratch area: homes for ioctl arguments, good and bad
 * (arg_ptr, pick_ptr), the buffers and "guest memory" the episodes use,
 * and the session the channels are keyed with.
 */
#include <string.h>
#include <sys/mman.h>

#include "fuzz.h"

/*
 * Per thread: [RW page][RW page][guard: PROT_NONE][RO page], homes for
 * ioctl arguments, good and bad.
 */
uint8_t *scratch_pool[MAX_WORKERS];
__thread uint8_t *scratch;

uint8_t *bigbuf;		/* BIGBUF bytes for read()/write() */
uint8_t *arena;			/* ARENA_PAGES pages of "guest memory" */
const uint8_t fz_session[SVMIG_SESSION_ID_LEN] = "svmig-fuzz-sess1";
const uint8_t fz_session2[SVMIG_SESSION_ID_LEN] = "svmig-fuzz-sess2";
const uint8_t fz_secret[SVMIG_SECRET_LEN] = "fuzzing secret, thirty-two bytes";
bool have_tpm;
/* The end of the user address space: 2^47 - 4096, or 2^56 - 4096 with 5-level paging. */
uint64_t user_top = USER_TOP;

/* P_ODD's misalignment, chosen by pick_ptr(), so every arg_ptr() agrees. */
static __thread unsigned int odd_off = 1;

/* Where an ioctl argument of @size bytes goes; *bad says it cannot be read. */
void *arg_ptr(size_t size, enum ptr_kind k)
{
	switch (k) {
	case P_ODD:
		return scratch + odd_off;
	case P_NULL:
		return NULL;
	case P_KERNEL:
		return (void *)(uintptr_t)0xffff888000001000ULL;
	case P_GUARD:
		return scratch + 2 * PG;
	case P_STRADDLE:
		return scratch + 2 * PG - size / 2;
	case P_RO:
		return scratch + 3 * PG;
	case P_HIGH:
		return (void *)(uintptr_t)(USER_TOP - 8);
	default:
		return scratch;
	}
}

/* Stores an argument at @k (the read-only page is made writable meanwhile). */
void put_arg(enum ptr_kind k, const void *src, size_t n)
{
	void *dst = arg_ptr(n, k);

	if (k == P_RO && mprotect(scratch + 3 * PG, PG, PROT_READ | PROT_WRITE))
		return;
	if (k == P_GOOD || k == P_ODD || k == P_RO)
		memcpy(dst, src, n);
	if (k == P_RO)
		mprotect(scratch + 3 * PG, PG, PROT_READ);
}

enum ptr_kind pick_ptr(void)
{
	odd_off = 1 + (unsigned int)below(7);
	return chance(85) ? (chance(90) ? P_GOOD : P_ODD) : (enum ptr_kind)(2 + below(P_NR - 2));
}

/* An argument of @size bytes at @k: readable?  writable? */
bool ptr_readable(enum ptr_kind k)
{
	return k == P_GOOD || k == P_ODD || k == P_RO;
}

bool ptr_writable(enum ptr_kind k)
{
	return k == P_GOOD || k == P_ODD;
}
