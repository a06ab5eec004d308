// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsvmig: ioctl and ring helpers.  See libsvmig.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libsvmig.h"

static int sys_result(int ret)
{
	return ret < 0 ? -errno : ret;
}

int svmig_open(void)
{
	return sys_result(open(SVMIG_DEVICE, O_RDWR | O_CLOEXEC));
}

int svmig_get_info(int fd, struct svmig_info *info)
{
	return sys_result(ioctl(fd, SVMIG_IOC_GET_INFO, info));
}

int svmig_get_stats(int fd, struct svmig_stats *stats)
{
	return sys_result(ioctl(fd, SVMIG_IOC_GET_STATS, stats));
}

int svmig_set_key(int fd, uint32_t flags, uint32_t channel,
		  const uint8_t session_id[SVMIG_SESSION_ID_LEN],
		  const uint8_t secret[SVMIG_SECRET_LEN])
{
	struct svmig_key_setup ks;
	int ret;

	memset(&ks, 0, sizeof(ks));
	ks.flags = flags;
	ks.channel = channel;
	memcpy(ks.session_id, session_id, sizeof(ks.session_id));
	memcpy(ks.secret, secret, sizeof(ks.secret));
	ret = sys_result(ioctl(fd, SVMIG_IOC_SET_KEY, &ks));
	explicit_bzero(&ks, sizeof(ks));
	return ret;
}

int svmig_add_region(int fd, uint32_t slot, uint64_t guest_phys_addr,
		     void *userspace_addr, uint64_t size)
{
	struct svmig_region r = {
		.slot = slot,
		.guest_phys_addr = guest_phys_addr,
		.userspace_addr = (uint64_t)(uintptr_t)userspace_addr,
		.size = size,
	};

	return sys_result(ioctl(fd, SVMIG_IOC_ADD_REGION, &r));
}

int svmig_attach_socket(int fd, int sock)
{
	struct svmig_attach a = { .fd = sock };

	return sys_result(ioctl(fd, SVMIG_IOC_ATTACH_SOCK, &a));
}

int svmig_ring_init(int fd, uint32_t entries, struct svmig_ring *ring)
{
	struct svmig_ring_setup rs = { .entries = entries };
	void *map;

	if (ioctl(fd, SVMIG_IOC_SETUP_RING, &rs) < 0)
		return -errno;
	map = mmap(NULL, rs.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, SVMIG_OFF_RING);
	if (map == MAP_FAILED)
		return -errno;
	memset(ring, 0, sizeof(*ring));
	ring->fd = fd;
	ring->map = map;
	ring->map_size = rs.mmap_size;
	ring->khead = (uint32_t *)((char *)map + rs.off.head);
	ring->ktail = (uint32_t *)((char *)map + rs.off.tail);
	ring->mask = *(uint32_t *)((char *)map + rs.off.ring_mask);
	ring->entries = *(uint32_t *)((char *)map + rs.off.ring_entries);
	ring->gfns = (struct svmig_dirty_gfn *)((char *)map + rs.off.entries);
	ring->tail = *ring->ktail;
	return 0;
}

void svmig_ring_exit(struct svmig_ring *ring)
{
	if (ring->map)
		munmap(ring->map, ring->map_size);
	memset(ring, 0, sizeof(*ring));
}

uint32_t svmig_ring_space(const struct svmig_ring *ring)
{
	uint32_t head = __atomic_load_n(ring->khead, __ATOMIC_ACQUIRE);

	return ring->entries - (ring->tail - head);
}

int svmig_ring_push(struct svmig_ring *ring, uint32_t slot, uint64_t page)
{
	struct svmig_dirty_gfn *e;

	if (!svmig_ring_space(ring))
		return -ENOSPC;
	e = &ring->gfns[ring->tail & ring->mask];
	e->flags = 0;
	e->slot = slot;
	e->offset = page;
	ring->tail++;
	return 0;
}

void svmig_ring_publish(struct svmig_ring *ring)
{
	__atomic_store_n(ring->ktail, ring->tail, __ATOMIC_RELEASE);
}

int svmig_submit(int fd, uint32_t max_entries, uint32_t *completed)
{
	struct svmig_submit s = { .max_entries = max_entries };
	int ret = sys_result(ioctl(fd, SVMIG_IOC_SUBMIT, &s));

	/* The kernel reports what it consumed even when it stops on an error. */
	if (completed)
		*completed = s.completed;
	return ret;
}

static int flush_ring(struct svmig_ring *ring)
{
	svmig_ring_publish(ring);
	return svmig_submit(ring->fd, 0, NULL);
}

int64_t svmig_submit_bitmap(struct svmig_ring *ring, uint32_t slot,
			    const uint64_t *bitmap, uint64_t npages)
{
	int64_t pushed = 0;
	uint64_t w, nwords = (npages + 63) / 64;
	int ret;

	for (w = 0; w < nwords; w++) {
		uint64_t bits = bitmap[w];

		while (bits) {
			uint64_t page = w * 64 + __builtin_ctzll(bits);

			bits &= bits - 1;
			if (page >= npages)
				break;
			if (!svmig_ring_space(ring)) {
				ret = flush_ring(ring);
				if (ret)
					return ret;
			}
			ret = svmig_ring_push(ring, slot, page);
			if (ret)
				return ret;
			pushed++;
		}
	}
	ret = flush_ring(ring);
	return ret ? ret : pushed;
}

int svmig_finish(int fd)
{
	return sys_result(ioctl(fd, SVMIG_IOC_FINISH));
}

int svmig_recv(int fd, uint32_t max_records, uint32_t *records)
{
	struct svmig_recv r = { .max_records = max_records };
	int ret = sys_result(ioctl(fd, SVMIG_IOC_RECV, &r));

	if (records)
		*records = r.records;
	return ret;
}

int svmig_verify(int fd)
{
	return sys_result(ioctl(fd, SVMIG_IOC_VERIFY));
}
