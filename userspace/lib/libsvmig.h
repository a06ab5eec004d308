/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsvmig: thin helpers over /dev/svmig's ioctls and submission ring, the
 * way liburing sits over io_uring.  Every function returns 0 (or a count)
 * on success and a negative errno on failure; none keeps hidden state
 * beyond what its arguments hold.
 */
#ifndef LIBSVMIG_H
#define LIBSVMIG_H

#include <stddef.h>
#include <stdint.h>
#include <linux/svmig.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SVMIG_DEVICE "/dev/svmig"

/* The producer side of a channel's submission ring. */
struct svmig_ring {
	int fd;
	void *map;
	size_t map_size;
	uint32_t *khead;		/* kernel-owned, load with acquire */
	uint32_t *ktail;		/* ours, store with release */
	uint32_t tail;			/* local copy, published by svmig_ring_publish */
	uint32_t mask;
	uint32_t entries;
	struct svmig_dirty_gfn *gfns;
};

int svmig_open(void);
int svmig_get_info(int fd, struct svmig_info *info);
int svmig_get_stats(int fd, struct svmig_stats *stats);

/* role is SVMIG_ROLE_SENDER or SVMIG_ROLE_RECEIVER, optionally | SVMIG_KEY_NO_TPM. */
int svmig_set_key(int fd, uint32_t flags, uint32_t channel,
		  const uint8_t session_id[SVMIG_SESSION_ID_LEN],
		  const uint8_t secret[SVMIG_SECRET_LEN]);
int svmig_add_region(int fd, uint32_t slot, uint64_t guest_phys_addr,
		     void *userspace_addr, uint64_t size);
int svmig_attach_socket(int fd, int sock);

int svmig_ring_init(int fd, uint32_t entries, struct svmig_ring *ring);
void svmig_ring_exit(struct svmig_ring *ring);
/* Free entries: how many svmig_ring_push calls will succeed now. */
uint32_t svmig_ring_space(const struct svmig_ring *ring);
/* Queue one page; -ENOSPC when full.  Not visible before publish. */
int svmig_ring_push(struct svmig_ring *ring, uint32_t slot, uint64_t page);
void svmig_ring_publish(struct svmig_ring *ring);
/* Seal and send up to max queued entries (0: all); *completed may be NULL. */
int svmig_submit(int fd, uint32_t max_entries, uint32_t *completed);
/*
 * Queue every page whose bit is set in a KVM_GET_DIRTY_LOG style bitmap
 * (bit n of 64-bit word n / 64 is page n) and submit, as many rounds as the
 * ring needs.  Returns the number of pages submitted.
 */
int64_t svmig_submit_bitmap(struct svmig_ring *ring, uint32_t slot,
			    const uint64_t *bitmap, uint64_t npages);

int svmig_finish(int fd);
/* Receive and apply up to max_records records (0: until the manifest). */
int svmig_recv(int fd, uint32_t max_records, uint32_t *records);
/* 0 once the manifest verified; -EINPROGRESS before it; -EBADMSG if it failed. */
int svmig_verify(int fd);

#ifdef __cplusplus
}
#endif

#endif /* LIBSVMIG_H */
