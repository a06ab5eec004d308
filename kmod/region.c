// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory regions of a channel: where the sender reads pages from and
 * the receiver writes them to.  Their pages' entries in the page table
 * belong to the channel's session (session.c).
 */
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "svmig.h"

static bool svmig_overlap(u64 a, u64 a_len, u64 b, u64 b_len)
{
	return a < b + b_len && b < a + a_len;
}

static int svmig_check_region(const struct svmig_region *r)
{
	u64 end;

	if (r->flags || !svmig_zero(r->reserved, sizeof(r->reserved)))
		return -EINVAL;
	if (!r->size || r->size > SVMIG_MAX_REGION_SIZE)
		return -EINVAL;
	if ((r->size | r->guest_phys_addr | r->userspace_addr) & (SVMIG_PAGE_SIZE - 1))
		return -EINVAL;
	if (check_add_overflow(r->guest_phys_addr, r->size, &end) ||
	    check_add_overflow(r->userspace_addr, r->size, &end))
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(r->userspace_addr), r->size))
		return -EFAULT;
	return 0;
}

static int svmig_check_conflicts(struct svmig_channel *ch, const struct svmig_region *r)
{
	u64 npages = r->size / SVMIG_PAGE_SIZE;
	u32 i;

	if (ch->nregions >= SVMIG_MAX_REGIONS)
		return -ENOSPC;
	if (ch->total_pages + npages > SVMIG_MAX_TOTAL_SIZE / SVMIG_PAGE_SIZE)
		return -ENOSPC;
	for (i = 0; i < ch->nregions; i++) {
		const struct svmig_mregion *m = &ch->regions[i];
		u64 size = m->npages * SVMIG_PAGE_SIZE;

		if (m->slot == r->slot ||
		    svmig_overlap(m->gpa, size, r->guest_phys_addr, r->size) ||
		    svmig_overlap(m->uaddr, size, r->userspace_addr, r->size))
			return -EEXIST;
	}
	return 0;
}

/* Keeps regions sorted by slot, for svmig_find_region()'s binary search. */
static void svmig_insert_region(struct svmig_channel *ch, const struct svmig_mregion *m)
{
	u32 i = ch->nregions;

	while (i > 0 && ch->regions[i - 1].slot > m->slot) {
		ch->regions[i] = ch->regions[i - 1];
		i--;
	}
	ch->regions[i] = *m;
	ch->nregions++;
	ch->total_pages += m->npages;
}

/*
 * Regions hold user addresses of one address space: the one that added the
 * first region.  A process that got the fd by fork() or SCM_RIGHTS must
 * not seal its own memory under those addresses, nor have pages written
 * into it, so every call that touches region memory comes through here.
 */
int svmig_check_mm(struct svmig_channel *ch)
{
	return ch->mm && ch->mm != current->mm ? -EPERM : 0;
}

int svmig_region_add(struct svmig_channel *ch, void __user *argp)
{
	struct svmig_region r;
	struct svmig_mregion m;
	int ret;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	ret = svmig_check_region(&r);
	if (ret)
		return ret;
	/* A failed channel takes nothing more (uapi.rst, "General rules"). */
	if (ch->failed)
		return -EPIPE;
	/* Regions go into the session's table: keys first (SET_KEY). */
	if (!ch->role || ch->stream)
		return -EINVAL;
	if (ch->started)
		return -EBUSY;
	ret = svmig_check_mm(ch);
	if (!ret)
		ret = svmig_check_conflicts(ch, &r);
	if (ret)
		return ret;

	m.slot = r.slot;
	m.gpa = r.guest_phys_addr;
	m.uaddr = r.userspace_addr;
	m.npages = r.size / SVMIG_PAGE_SIZE;
	ret = svmig_session_add_region(ch, &m);
	if (ret)
		return ret;
	if (!ch->mm) {
		mmgrab(current->mm);
		ch->mm = current->mm;
	}
	svmig_insert_region(ch, &m);
	return 0;
}

struct svmig_mregion *svmig_find_region(struct svmig_channel *ch, u32 slot)
{
	u32 lo = 0, hi = ch->nregions;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (ch->regions[mid].slot == slot)
			return &ch->regions[mid];
		if (ch->regions[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void svmig_free_regions(struct svmig_channel *ch)
{
	/* The page states are the session's, freed with it. */
	ch->nregions = 0;
	ch->total_pages = 0;
	if (ch->mm)
		mmdrop(ch->mm);
	ch->mm = NULL;
}
