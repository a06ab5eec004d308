// SPDX-License-Identifier: GPL-2.0
/*
 * The submission ring: an mmap()ed array of struct svmig_dirty_gfn (the
 * layout of KVM's dirty ring entries) with a producer index owned by
 * userspace (tail) and a consumer index owned by the kernel (head).  A
 * plain ring: page.c pops the entries and decides what they mean.
 *
 * Ordering: userspace writes entries, then stores tail with release; the
 * kernel loads tail with acquire, copies each entry out of the shared page
 * exactly once, and publishes head with release after consuming.  The
 * kernel never trusts the shared head: it keeps its own copy.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "svmig.h"

static int svmig_check_ring_setup(struct svmig_channel *ch, const struct svmig_ring_setup *rs)
{
	if (rs->flags || !svmig_zero(rs->reserved, sizeof(rs->reserved)))
		return -EINVAL;
	if (!rs->entries || rs->entries > SVMIG_MAX_RING_ENTRIES ||
	    !is_power_of_2(rs->entries))
		return -EINVAL;
	if (ch->failed)
		return -EPIPE;
	if (ch->role != SVMIG_ROLE_SENDER || ch->stream)
		return -EINVAL;
	if (ch->ring)
		return -EBUSY;
	return 0;
}

static struct svmig_gfn_ring *svmig_alloc_ring(u32 entries)
{
	struct svmig_gfn_ring *ring = kzalloc(sizeof(*ring), GFP_KERNEL);

	if (!ring)
		return NULL;
	ring->size = PAGE_ALIGN(sizeof(struct svmig_ring_hdr) +
				(size_t)entries * sizeof(struct svmig_dirty_gfn));
	ring->hdr = vmalloc_user(ring->size);
	if (!ring->hdr) {
		kfree(ring);
		return NULL;
	}
	ring->entries = (struct svmig_dirty_gfn *)(ring->hdr + 1);
	ring->mask = entries - 1;
	ring->hdr->ring_mask = ring->mask;
	ring->hdr->ring_entries = entries;
	return ring;
}

static void svmig_ring_put(struct svmig_gfn_ring *ring)
{
	if (!ring)
		return;
	vfree(ring->hdr);
	kfree(ring);
}

int svmig_setup_ring(struct svmig_channel *ch, void __user *argp)
{
	struct svmig_ring_setup rs;
	struct svmig_gfn_ring *ring;
	int ret;

	if (copy_from_user(&rs, argp, sizeof(rs)))
		return -EFAULT;
	ret = svmig_check_ring_setup(ch, &rs);
	if (ret)
		return ret;
	ring = svmig_alloc_ring(rs.entries);
	if (!ring)
		return -ENOMEM;

	rs.mmap_size = ring->size;
	memset(&rs.off, 0, sizeof(rs.off));
	rs.off.head = offsetof(struct svmig_ring_hdr, head);
	rs.off.tail = offsetof(struct svmig_ring_hdr, tail);
	rs.off.ring_mask = offsetof(struct svmig_ring_hdr, ring_mask);
	rs.off.ring_entries = offsetof(struct svmig_ring_hdr, ring_entries);
	rs.off.entries = sizeof(struct svmig_ring_hdr);
	if (copy_to_user(argp, &rs, sizeof(rs))) {
		svmig_ring_put(ring);
		return -EFAULT;
	}
	/* Pairs with the acquire in svmig_ring_mmap(), which takes no lock. */
	smp_store_release(&ch->ring, ring);
	return 0;
}

/*
 * mmap() runs under mmap_lock, and the channel lock is held across
 * copy_{to,from}_user(), which may take mmap_lock: so no channel lock here.
 * The ring is set up once and freed only when the file is released.
 */
int svmig_ring_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct svmig_channel *ch = file->private_data;
	/* Pairs with the release in svmig_setup_ring(). */
	struct svmig_gfn_ring *ring = smp_load_acquire(&ch->ring);
	unsigned long size = vma->vm_end - vma->vm_start;

	if (!ring || vma->vm_pgoff != (SVMIG_OFF_RING >> PAGE_SHIFT))
		return -EINVAL;
	if (size > ring->size)
		return -EINVAL;
	/*
	 * The ring is shared with the kernel: a private (copy-on-write)
	 * mapping would never see head move, and nothing in it is code.
	 */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vma->vm_flags &= ~VM_MAYEXEC;
	return remap_vmalloc_range(vma, ring->hdr, 0);
}

/*
 * The entries published and not consumed yet.  A tail more than the ring
 * ahead of the kernel's head is refused (-EINVAL) and nothing is consumed.
 */
int svmig_ring_avail(struct svmig_channel *ch, u32 *avail)
{
	struct svmig_gfn_ring *ring = ch->ring;
	/* Pairs with userspace's release store: entries before tail are written. */
	u32 tail = smp_load_acquire(&ring->hdr->tail);

	lockdep_assert_held(&ch->lock);
	*avail = tail - ring->head;
	if (*avail > ring->mask + 1) {
		ch->stats.bad_entries++;
		return -EINVAL;
	}
	return 0;
}

/* Copies the entry at head out of the shared page, once, and moves head. */
void svmig_ring_pop(struct svmig_channel *ch, struct svmig_dirty_gfn *e)
{
	struct svmig_gfn_ring *ring = ch->ring;
	struct svmig_dirty_gfn *shared = &ring->entries[ring->head & ring->mask];

	e->flags = READ_ONCE(shared->flags);
	e->slot = READ_ONCE(shared->slot);
	e->offset = READ_ONCE(shared->offset);
	ring->head++;
}

/* Entries before head are read: userspace may reuse their slots. */
void svmig_ring_commit(struct svmig_channel *ch)
{
	/* Pairs with userspace's acquire load of head. */
	smp_store_release(&ch->ring->hdr->head, ch->ring->head);
}

void svmig_free_ring(struct svmig_channel *ch)
{
	svmig_ring_put(ch->ring);
	ch->ring = NULL;
}
