// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's channels: an open /dev/svmig and the fuzzer's model of it, and
 * the setup calls (GET_INFO, GET_STATS, SET_KEY, ADD_REGION, SETUP_RING)
 * with random arguments, each checked against the model.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "tap.h"

/* Pages of per-page kernel state (20 bytes each) the open channels may hold. */
#define REGION_BUDGET	(8UL << 20)

static uint64_t region_pages;	/* kernel page state held by open storm channels */

void chan_init(struct chan *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->dupfd = -1;
	c->sock = -1;
	c->peer = -1;
}

int dev_open_flags(int flags)
{
	int fd = open(SVMIG_DEVICE, flags | O_CLOEXEC);

	if (fd < 0 && !in_child)
		tap_bail("open %s: %s", SVMIG_DEVICE, strerror(errno));
	return fd;
}

/* Mostly read-write; sometimes read-only, write-only or nonblocking. */
int dev_open(void)
{
	int flags = chance(90) ? O_RDWR : (chance(50) ? O_RDONLY : O_WRONLY);

	return dev_open_flags(flags | (chance(15) ? O_NONBLOCK : 0));
}

void chan_close(struct chan *c)
{
	int i;

	for (i = 0; i < c->nmaps; i++)
		munmap(c->maps[i].addr, c->maps[i].len);
	c->nmaps = 0;
	if (c->peer >= 0)
		close(c->peer);
	if (c->sock >= 0)
		close(c->sock);
	if (c->dupfd >= 0)
		close(c->dupfd);
	if (c->fd >= 0)
		close(c->fd);
	if (!in_child)
		region_pages -= c->region_pages;
	chan_init(c);
}

int chan_fd(struct chan *c)
{
	return c->dupfd >= 0 && chance(30) ? c->dupfd : c->fd;
}

/* Checks GET_STATS against its invariants (and the channel's last view). */
static void check_stats(struct chan *c, const struct svmig_stats *st)
{
	const uint32_t flags_ok = SVMIG_STAT_KEYED | SVMIG_STAT_TPM_SALT | SVMIG_STAT_NO_TPM |
				  SVMIG_STAT_SOCKET | SVMIG_STAT_FINISHED | SVMIG_STAT_STREAM;
	size_t i;

	if (st->resv || st->reserved[0] || st->reserved[1] || st->reserved[2])
		report(&n_contract, "GET_STATS: reserved fields not zero");
	if (st->role != 0 && st->role != SVMIG_ROLE_SENDER && st->role != SVMIG_ROLE_RECEIVER)
		report(&n_contract, "GET_STATS: role %u", st->role);
	if (st->verdict > SVMIG_VERDICT_TRUNCATED)
		report(&n_contract, "GET_STATS: verdict %u", st->verdict);
	if (st->flags & ~flags_ok)
		report(&n_contract, "GET_STATS: undefined flags 0x%x", st->flags);
	if (!memchr(st->aead_driver, 0, sizeof(st->aead_driver)))
		report(&n_contract, "GET_STATS: aead_driver not terminated");
	if (st->error < 0 || st->error > 4095)
		report(&n_contract, "GET_STATS: error %d", st->error);
	if (st->role == SVMIG_ROLE_RECEIVER && st->error &&
	    st->verdict != (st->error == ENODATA ? SVMIG_VERDICT_TRUNCATED : SVMIG_VERDICT_FAILED))
		report(&n_contract, "GET_STATS: receiver error %d but verdict %u", st->error,
		       st->verdict);
	if (!c || racing || c->shared)
		return;
	/* Counters only grow; the role never changes once set. */
	if (c->last.role && st->role != c->last.role)
		report(&n_contract, "GET_STATS: role changed %u -> %u", c->last.role, st->role);
	{
		const uint64_t a[] = { c->last.records, c->last.bytes, c->last.pages,
				       c->last.stale_pages, c->last.auth_failures, c->last.replays,
				       c->last.proto_errors, c->last.bad_entries,
				       c->last.payload_bytes, c->last.discarded_bytes,
				       c->last.zerocopy_bytes, c->last.sock_reads };
		const uint64_t b[] = { st->records, st->bytes, st->pages, st->stale_pages,
				       st->auth_failures, st->replays, st->proto_errors,
				       st->bad_entries, st->payload_bytes, st->discarded_bytes,
				       st->zerocopy_bytes, st->sock_reads };

		for (i = 0; i < sizeof(a) / sizeof(a[0]); i++)
			if (b[i] < a[i])
				report(&n_contract, "GET_STATS: counter %zu went down", i);
	}
	if (c->last.error && st->error != c->last.error)
		report(&n_contract, "GET_STATS: error changed %d -> %d", c->last.error, st->error);
	c->last = *st;
	if (st->error)
		c->failed_seen = true;
}

void get_stats(struct chan *c, int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_stats *st = arg_ptr(sizeof(*st), k);
	struct svmig_stats copy;
	int ret;

	if (k == P_GOOD || k == P_ODD)
		memset(st, 0xa5, sizeof(*st));
	ret = xioctl(OP_GET_STATS, fd, SVMIG_IOC_GET_STATS, st);
	if (!ptr_writable(k)) {
		if (ret != -EFAULT && !(racing && ret == -EBADF))
			report(&n_contract, "GET_STATS to a bad pointer (%d): %d", k, ret);
		return;
	}
	if (ret)
		return;
	memcpy(&copy, st, sizeof(copy));
	check_stats(c, &copy);
}

void get_info(int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_info *in = arg_ptr(sizeof(*in), k);
	int ret;

	if (ptr_writable(k))
		memset(in, 0x5a, sizeof(*in));
	ret = xioctl(OP_GET_INFO, fd, SVMIG_IOC_GET_INFO, in);
	if (!ptr_writable(k)) {
		if (ret != -EFAULT && !(racing && ret == -EBADF))
			report(&n_contract, "GET_INFO to a bad pointer (%d): %d", k, ret);
		return;
	}
	if (ret)
		return;
	if (in->abi_version != SVMIG_ABI_VERSION || in->page_size != SVMIG_PAGE_SIZE ||
	    in->page_record_size != SVMIG_PAGE_REC_LEN || in->epoch_shift != SVMIG_EPOCH_SHIFT ||
	    in->reserved[0] || in->reserved[1] || in->reserved[2] || in->reserved[3] ||
	    !(in->features & SVMIG_FEAT_PAGE_MODE))
		report(&n_contract, "GET_INFO: unexpected contents");
}

/* A key setup: valid most of the time, with boundary values sprinkled in. */
void set_key(struct chan *c, int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_key_setup ks;
	uint32_t role;
	bool must_fail = false;
	int ret;

	memset(&ks, 0, sizeof(ks));
	role = chance(50) ? SVMIG_ROLE_SENDER : SVMIG_ROLE_RECEIVER;
	ks.flags = role | (chance(40) ? SVMIG_KEY_STREAM : 0) |
		   (!have_tpm || chance(10) ? SVMIG_KEY_NO_TPM : 0) |
		   (chance(25) ? SVMIG_KEY_SESSION : 0) |
		   (role == SVMIG_ROLE_RECEIVER && chance(20) ? SVMIG_KEY_REQUIRE_TPM_SALT : 0);
	ks.channel = chance(70) ? 0 : pick32();
	memcpy(ks.session_id, chance(80) ? fz_session : fz_session2, sizeof(ks.session_id));
	memcpy(ks.secret, fz_secret, sizeof(ks.secret));
	if (chance(10))
		rnd_bytes(ks.secret, sizeof(ks.secret));
	if (chance(15)) {
		ks.flags = pick32();
		role = ks.flags & (SVMIG_ROLE_SENDER | SVMIG_ROLE_RECEIVER);
	}
	if (chance(8))
		ks.reserved[below(4)] = pick64() | 1;
	if (ks.flags & ~(SVMIG_ROLE_SENDER | SVMIG_ROLE_RECEIVER | SVMIG_KEY_NO_TPM |
			 SVMIG_KEY_STREAM | SVMIG_KEY_SESSION | SVMIG_KEY_REQUIRE_TPM_SALT))
		must_fail = true;
	if (role == SVMIG_ROLE_SENDER && (ks.flags & SVMIG_KEY_REQUIRE_TPM_SALT))
		must_fail = true;
	if (role != SVMIG_ROLE_SENDER && role != SVMIG_ROLE_RECEIVER)
		must_fail = true;
	if (ks.reserved[0] | ks.reserved[1] | ks.reserved[2] | ks.reserved[3])
		must_fail = true;
	put_arg(k, &ks, sizeof(ks));
	if (!ptr_readable(k))
		must_fail = true;
	ret = xioctl(OP_SET_KEY, fd, SVMIG_IOC_SET_KEY, arg_ptr(sizeof(ks), k));
	if (!ret && must_fail)
		report(&n_contract, "SET_KEY accepted flags 0x%x reserved %d ptr %d", ks.flags,
		       !!(ks.reserved[0] | ks.reserved[1] | ks.reserved[2] | ks.reserved[3]), k);
	if (!ret && c && !racing) {
		if (c->role)
			report(&n_contract, "SET_KEY succeeded twice on one channel");
		c->role = role;
		c->stream = ks.flags & SVMIG_KEY_STREAM;
		c->session = ks.flags & SVMIG_KEY_SESSION;
	}
}

/* A region in the arena, or anywhere, with boundary values sprinkled in. */
void add_region(struct chan *c, int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_region r;
	bool must_fail = false, ring_region = false;
	uint64_t end;
	int ret;

	memset(&r, 0, sizeof(r));
	r.slot = chance(70) ? (uint32_t)below(4) : pick32();
	r.guest_phys_addr = below(64) * PG * 16;
	r.userspace_addr = (uint64_t)(uintptr_t)arena + below(ARENA_PAGES) * PG;
	r.size = (1 + below(8)) * PG;
	switch (below(12)) {
	case 0:
		r.size = pick64();
		break;
	case 1:
		r.userspace_addr = pick64();
		break;
	case 2:
		r.guest_phys_addr = pick64();
		break;
	case 3:
		r.flags = pick32() | 1;
		break;
	case 4:
		r.reserved[below(2)] = pick64() | 1;
		break;
	case 5:	/* huge, valid, unmapped: kernel state only */
		r.size = (1 + below(4)) << 30;
		r.userspace_addr = (1ULL << 40) + below(64) * (16ULL << 30);
		r.guest_phys_addr = below(1 << 20) * (16ULL << 30);
		break;
	case 6:	/* a sender reading its own ring mapping as guest memory */
		if (c && !c->unsure && c->role == SVMIG_ROLE_SENDER && c->nmaps) {
			r.userspace_addr = (uint64_t)(uintptr_t)c->maps[0].addr;
			r.size = c->maps[0].len;
			ring_region = true;
		}
		break;
	default:
		break;
	}
	if (r.flags || r.reserved[0] || r.reserved[1] || !r.size || r.size > (16ULL << 30) ||
	    ((r.size | r.guest_phys_addr | r.userspace_addr) & (PG - 1)) ||
	    __builtin_add_overflow(r.guest_phys_addr, r.size, &end) ||
	    __builtin_add_overflow(r.userspace_addr, r.size, &end) || end > user_top)
		must_fail = true;
	/*
	 * A valid region outside the arena goes where nothing is mapped
	 * ([1 TiB, 32 TiB): below the heap and the libraries), so that a
	 * receiver can never write into the fuzzer's own memory.
	 */
	if (!must_fail && !ring_region && (r.userspace_addr < (uint64_t)(uintptr_t)arena ||
			   r.userspace_addr + r.size > (uint64_t)(uintptr_t)arena + ARENA_PAGES * PG))
		r.userspace_addr = (1ULL << 40) + (r.userspace_addr & ((1ULL << 44) - 1));
	/* Keep what the open channels hold within the VM's memory. */
	if (!must_fail && (in_child || racing || region_pages + r.size / PG > REGION_BUDGET)) {
		if (r.size > 64 * PG)
			r.size = (1 + below(8)) * PG;
		if (r.userspace_addr + r.size > user_top)
			must_fail = true;
	}
	put_arg(k, &r, sizeof(r));
	if (!ptr_readable(k))
		must_fail = true;
	ret = xioctl(OP_ADD_REGION, fd, SVMIG_IOC_ADD_REGION, arg_ptr(sizeof(r), k));
	if (!ret && must_fail)
		report(&n_contract, "ADD_REGION accepted slot %u flags 0x%x gpa 0x%" PRIx64
		       " uaddr 0x%" PRIx64 " size 0x%" PRIx64 " ptr %d", r.slot, r.flags,
		       (uint64_t)r.guest_phys_addr, (uint64_t)r.userspace_addr, (uint64_t)r.size, k);
	if (!ret && c && !racing && !in_child) {
		c->region_pages += r.size / PG;
		region_pages += r.size / PG;
	}
}

void setup_ring(struct chan *c, int fd)
{
	static const uint32_t sizes[] = { 0, 1, 2, 3, 4, 8, 16, 48, 64, 256, 4096, 32768,
					  65535, 65536, 65537, 1U << 17, 1U << 31, ~0U };
	enum ptr_kind k = pick_ptr();
	struct svmig_ring_setup rs, *p = arg_ptr(sizeof(rs), k);
	bool must_fail = false;
	int ret;

	memset(&rs, 0, sizeof(rs));
	rs.entries = chance(70) ? 1U << below(9) : sizes[below(sizeof(sizes) / sizeof(sizes[0]))];
	if (chance(10))
		rs.flags = pick32() | 1;
	if (chance(10))
		rs.reserved[below(2)] = pick64() | 1;
	if (chance(20)) {	/* output-only fields: ignored on input */
		rs.mmap_size = pick64();
		rnd_bytes(&rs.off, sizeof(rs.off));
	}
	if (rs.flags || rs.reserved[0] || rs.reserved[1] || !rs.entries ||
	    rs.entries > 65536 || (rs.entries & (rs.entries - 1)))
		must_fail = true;
	put_arg(k, &rs, sizeof(rs));
	if (!ptr_writable(k))
		must_fail = true;
	ret = xioctl(OP_SETUP_RING, fd, SVMIG_IOC_SETUP_RING, p);
	if (!ret && must_fail)
		report(&n_contract, "SETUP_RING accepted entries %u flags 0x%x ptr %d",
		       rs.entries, rs.flags, k);
	if (ret)
		return;
	memcpy(&rs, p, sizeof(rs));
	if (rs.mmap_size != ((192 + 16ULL * rs.entries + PG - 1) & ~(PG - 1)) ||
	    rs.off.entries < rs.off.ring_entries + 4 || rs.off.head == rs.off.tail ||
	    rs.off.resv0 || rs.off.resv1 || rs.off.entries + 16ULL * rs.entries > rs.mmap_size ||
	    rs.reserved[0] || rs.reserved[1])
		report(&n_contract, "SETUP_RING: odd output (size %" PRIu64 ", entries at %u)",
		       (uint64_t)rs.mmap_size, rs.off.entries);
	if (c && !racing) {
		if (c->ring_entries)
			report(&n_contract, "SETUP_RING succeeded twice on one channel");
		c->ring_entries = rs.entries;
		c->ring_size = rs.mmap_size;
		c->off = rs.off;
	}
}
