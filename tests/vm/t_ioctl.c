// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl/mmap/read/write contract of /dev/svmig, and every malformed
 * input refused with the documented errno: unknown ioctls, out-of-range
 * fields, reserved bits, bad regions, bad rings and ring entries.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libsvmig.h"
#include "tap.h"

/* Entries copy straight from a KVM dirty ring: the layouts must agree. */
_Static_assert(sizeof(struct svmig_dirty_gfn) == sizeof(struct kvm_dirty_gfn), "size");
_Static_assert(offsetof(struct svmig_dirty_gfn, flags) == offsetof(struct kvm_dirty_gfn, flags),
	       "flags");
_Static_assert(offsetof(struct svmig_dirty_gfn, slot) == offsetof(struct kvm_dirty_gfn, slot),
	       "slot");
_Static_assert(offsetof(struct svmig_dirty_gfn, offset) == offsetof(struct kvm_dirty_gfn, offset),
	       "offset");
_Static_assert(SVMIG_GFN_F_DIRTY == KVM_DIRTY_GFN_F_DIRTY && SVMIG_GFN_F_RESET == KVM_DIRTY_GFN_F_RESET,
	       "flags values");

static const uint8_t session[SVMIG_SESSION_ID_LEN] = { 1, 2, 3, 4 };
static const uint8_t secret[SVMIG_SECRET_LEN] = { 9, 8, 7, 6 };

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int open_dev(void)
{
	int fd = svmig_open();

	if (fd < 0)
		tap_bail("open %s: %s", SVMIG_DEVICE, strerror(-fd));
	return fd;
}

static int open_keyed(uint32_t role)
{
	int fd = open_dev();
	int ret = svmig_set_key(fd, role, 0, session, secret);

	if (ret)
		tap_bail("SET_KEY: %s", strerror(-ret));
	return fd;
}

static void test_info(void)
{
	struct svmig_info info;
	int fd = open_dev();

	memset(&info, 0xa5, sizeof(info));
	tap_errno(svmig_get_info(fd, &info), 0, "GET_INFO succeeds");
	tap_ok(info.abi_version == SVMIG_ABI_VERSION && info.page_size == SVMIG_PAGE_SIZE,
	       "GET_INFO reports ABI %u, page size %u", info.abi_version, info.page_size);
	tap_ok(info.features == (SVMIG_FEAT_PAGE_MODE | SVMIG_FEAT_SOCKET | SVMIG_FEAT_RW |
				 SVMIG_FEAT_TPM | SVMIG_FEAT_STREAM | SVMIG_FEAT_EXPLICIT_END |
				 SVMIG_FEAT_SESSION | SVMIG_FEAT_TPM_SALT_FLAG),
	       "features: page mode, socket, read/write, a TPM, stream, explicit END, "
	       "sessions, the TPM-salt flag, and nothing else (0x%llx)",
	       (unsigned long long)info.features);
	tap_ok(info.page_record_size == SVMIG_PAGE_REC_LEN &&
	       info.epoch_shift == SVMIG_EPOCH_SHIFT,
	       "page record size %u, epoch shift %u", info.page_record_size, info.epoch_shift);
	tap_ok(!info.reserved[0] && !info.reserved[1] && !info.reserved[2] && !info.reserved[3],
	       "GET_INFO reserved fields are zero");
	tap_errno(xioctl(fd, SVMIG_IOC_GET_INFO, NULL), -EFAULT, "GET_INFO to NULL: EFAULT");
	close(fd);
}

static void test_unknown_ioctls(void)
{
	int fd = open_dev();
	uint32_t word = 0;

	tap_errno(xioctl(fd, _IO(SVMIG_IOC_MAGIC, 0x7f), NULL), -ENOTTY,
		  "unknown ioctl number: ENOTTY");
	tap_errno(xioctl(fd, _IOW(SVMIG_IOC_MAGIC, 0x01, uint32_t), &word), -ENOTTY,
		  "SET_KEY number with the wrong size: ENOTTY");
	tap_errno(xioctl(fd, _IOR('T', 0x00, struct svmig_info), &word), -ENOTTY,
		  "foreign magic: ENOTTY");
	tap_errno(xioctl(fd, TCGETS, &word), -ENOTTY, "TCGETS: ENOTTY");
	close(fd);
}

struct key_case {
	const char *what;
	void (*mutate)(struct svmig_key_setup *ks);
};

static void ks_no_role(struct svmig_key_setup *ks) { ks->flags = 0; }
static void ks_both_roles(struct svmig_key_setup *ks)
{
	ks->flags = SVMIG_ROLE_SENDER | SVMIG_ROLE_RECEIVER;
}
static void ks_flag6(struct svmig_key_setup *ks) { ks->flags |= 1U << 6; }
static void ks_flag31(struct svmig_key_setup *ks) { ks->flags |= 1U << 31; }
static void ks_resv0(struct svmig_key_setup *ks) { ks->reserved[0] = 1; }
static void ks_resv3(struct svmig_key_setup *ks) { ks->reserved[3] = 1ULL << 63; }

static void test_set_key(void)
{
	static const struct key_case cases[] = {
		{ "no role", ks_no_role },
		{ "both roles", ks_both_roles },
		{ "undefined flag bit 6", ks_flag6 },
		{ "undefined flag bit 31", ks_flag31 },
		{ "reserved[0] set", ks_resv0 },
		{ "reserved[3] set", ks_resv3 },
	};
	struct svmig_key_setup ks;
	struct svmig_stats st;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = open_dev();
		memset(&ks, 0, sizeof(ks));
		ks.flags = SVMIG_ROLE_SENDER;
		cases[i].mutate(&ks);
		tap_errno(xioctl(fd, SVMIG_IOC_SET_KEY, &ks), -EINVAL, "SET_KEY %s: EINVAL",
			  cases[i].what);
		svmig_get_stats(fd, &st);
		tap_ok(st.role == 0 && !(st.flags & SVMIG_STAT_KEYED),
		       "SET_KEY %s: channel left unkeyed", cases[i].what);
		close(fd);
	}
	fd = open_dev();
	tap_errno(xioctl(fd, SVMIG_IOC_SET_KEY, NULL), -EFAULT, "SET_KEY from NULL: EFAULT");
	tap_errno(svmig_set_key(fd, SVMIG_ROLE_SENDER, 7, session, secret), 0,
		  "SET_KEY sender succeeds");
	tap_errno(svmig_set_key(fd, SVMIG_ROLE_SENDER, 7, session, secret), -EBUSY,
		  "second SET_KEY: EBUSY");
	svmig_get_stats(fd, &st);
	tap_ok(st.role == SVMIG_ROLE_SENDER && (st.flags & SVMIG_STAT_KEYED) &&
	       (st.flags & SVMIG_STAT_TPM_SALT) && !(st.flags & SVMIG_STAT_NO_TPM),
	       "keyed sender took its salt from the TPM (flags 0x%x)", st.flags);
	tap_ok(strstr(st.aead_driver, "gcm") != NULL, "AEAD driver reported: %s",
	       st.aead_driver);
	tap_ok(strstr(st.aead_driver, "aesni") != NULL, "AEAD driver is AES-NI: %s",
	       st.aead_driver);
	close(fd);
}

struct region_case {
	const char *what;
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa, uaddr, size, resv;
	int want;
};

static void test_regions(void)
{
	size_t len = 64 * 4096;
	uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t base = (uint64_t)(uintptr_t)mem;
	const struct region_case cases[] = {
		{ "flags set", 1, 1, 0, base, 4096, 0, -EINVAL },
		{ "reserved set", 1, 0, 0, base, 4096, 1, -EINVAL },
		{ "size 0", 1, 0, 0, base, 0, 0, -EINVAL },
		{ "size not page aligned", 1, 0, 0, base, 4095, 0, -EINVAL },
		{ "gpa not page aligned", 1, 0, 0x10, base, 4096, 0, -EINVAL },
		{ "uaddr not page aligned", 1, 0, 0, base + 8, 4096, 0, -EINVAL },
		{ "size above the maximum", 1, 0, 0, base, 1ULL << 40, 0, -EINVAL },
		{ "gpa + size wraps", 1, 0, ~0ULL & ~4095ULL, base, 8192, 0, -EINVAL },
		{ "uaddr + size wraps", 1, 0, 0, ~0ULL & ~4095ULL, 8192, 0, -EINVAL },
		{ "kernel address", 1, 0, 0, 0xffff888000000000ULL, 4096, 0, -EFAULT },
		{ "first region", 1, 0, 0x100000, base, 16 * 4096, 0, 0 },
		{ "duplicate slot", 1, 0, 0x900000, base + 32 * 4096, 4096, 0, -EEXIST },
		{ "overlapping gpa", 2, 0, 0x10f000, base + 32 * 4096, 4096, 0, -EEXIST },
		{ "overlapping uaddr", 2, 0, 0x900000, base + 15 * 4096, 4096, 0, -EEXIST },
		{ "second region", 2, 0, 0x900000, base + 32 * 4096, 4096, 0, 0 },
	};
	struct svmig_region r;
	size_t i;
	int fd = open_dev();

	if (mem == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	memset(&r, 0, sizeof(r));
	r.slot = 1;
	r.userspace_addr = base;
	r.size = 4096;
	tap_errno(xioctl(fd, SVMIG_IOC_ADD_REGION, &r), -EINVAL,
		  "ADD_REGION before SET_KEY: EINVAL (the page table is the session's)");
	close(fd);
	fd = open_keyed(SVMIG_ROLE_RECEIVER);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.slot = cases[i].slot;
		r.flags = cases[i].flags;
		r.guest_phys_addr = cases[i].gpa;
		r.userspace_addr = cases[i].uaddr;
		r.size = cases[i].size;
		r.reserved[1] = cases[i].resv;
		tap_errno(xioctl(fd, SVMIG_IOC_ADD_REGION, &r), cases[i].want, "ADD_REGION %s: %s",
			  cases[i].what, cases[i].want ? strerror(-cases[i].want) : "ok");
	}
	tap_errno(xioctl(fd, SVMIG_IOC_ADD_REGION, NULL), -EFAULT, "ADD_REGION from NULL: EFAULT");
	close(fd);

	fd = open_keyed(SVMIG_ROLE_SENDER);
	{
		uint8_t *big = mmap(NULL, 40 * 4096, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int ret = 0;

		for (i = 0; i < 40 && !ret; i++)
			ret = svmig_add_region(fd, i, i * 4096, big + i * 4096, 4096);
		tap_ok(ret == -ENOSPC && i == 33, "33rd region: ENOSPC (after %zu)", i - 1);
		munmap(big, 40 * 4096);
	}
	close(fd);
	munmap(mem, len);
}

static void test_ring_setup(void)
{
	struct svmig_ring_setup rs;
	int fd = open_dev();
	void *map;

	memset(&rs, 0, sizeof(rs));
	rs.entries = 64;
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), -EINVAL, "SETUP_RING before SET_KEY: EINVAL");
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	tap_ok(map == MAP_FAILED && errno == EINVAL, "mmap before SETUP_RING: EINVAL");
	close(fd);

	fd = open_keyed(SVMIG_ROLE_RECEIVER);
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), -EINVAL, "SETUP_RING on a receiver: EINVAL");
	close(fd);

	fd = open_keyed(SVMIG_ROLE_SENDER);
	rs.entries = 0;
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), -EINVAL, "ring of 0 entries: EINVAL");
	rs.entries = 48;
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), -EINVAL, "ring of 48 entries: EINVAL");
	rs.entries = 1U << 17;
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), -EINVAL, "ring of 2^17 entries: EINVAL");
	rs.entries = 64;
	rs.flags = 1;
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), -EINVAL, "SETUP_RING flags set: EINVAL");
	rs.flags = 0;
	rs.reserved[1] = 1;
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), -EINVAL, "SETUP_RING reserved set: EINVAL");
	rs.reserved[1] = 0;
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), 0, "SETUP_RING of 64 entries");
	tap_ok(rs.mmap_size == 4096 && rs.off.entries >= rs.off.ring_entries + 4 &&
	       rs.off.head != rs.off.tail, "ring offsets and size (%llu bytes)",
	       (unsigned long long)rs.mmap_size);
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), -EBUSY, "second SETUP_RING: EBUSY");

	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
	tap_ok(map == MAP_FAILED && errno == EINVAL, "mmap at a wrong offset: EINVAL");
	map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	tap_ok(map == MAP_FAILED && errno == EINVAL, "mmap larger than the ring: EINVAL");
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	tap_ok(map != MAP_FAILED, "mmap of the ring");
	if (map != MAP_FAILED) {
		tap_ok(*(uint32_t *)((char *)map + rs.off.ring_entries) == 64 &&
		       *(uint32_t *)((char *)map + rs.off.ring_mask) == 63,
		       "ring_entries and ring_mask visible in the mapping");
		munmap(map, 4096);
	}
	close(fd);
}

/* A keyed sender with one 8-page region and a 16-entry ring, no socket. */
struct sender {
	int fd;
	struct svmig_ring ring;
	uint8_t *mem;
};

static void sender_init(struct sender *s)
{
	s->fd = open_keyed(SVMIG_ROLE_SENDER);
	s->mem = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->mem == MAP_FAILED || svmig_add_region(s->fd, 5, 0, s->mem, 8 * 4096) ||
	    svmig_ring_init(s->fd, 16, &s->ring))
		tap_bail("sender setup failed");
}

static void sender_exit(struct sender *s)
{
	svmig_ring_exit(&s->ring);
	munmap(s->mem, 8 * 4096);
	close(s->fd);
}

static void push_raw(struct sender *s, uint32_t flags, uint32_t slot, uint64_t off)
{
	struct svmig_dirty_gfn *e = &s->ring.gfns[s->ring.tail & s->ring.mask];

	e->flags = flags;
	e->slot = slot;
	e->offset = off;
	s->ring.tail++;
	svmig_ring_publish(&s->ring);
}

static uint64_t bad_entries(int fd)
{
	struct svmig_stats st;

	svmig_get_stats(fd, &st);
	return st.bad_entries;
}

static void drain(int fd, size_t *bytes)
{
	uint8_t buf[65536];
	ssize_t n;

	*bytes = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*bytes += n;
}

static void test_ring_entries(void)
{
	struct svmig_submit sub;
	struct sender s;
	uint32_t done = 99;
	size_t bytes;

	sender_init(&s);
	memset(&sub, 0, sizeof(sub));
	sub.flags = 1;
	tap_errno(xioctl(s.fd, SVMIG_IOC_SUBMIT, &sub), -EINVAL, "SUBMIT flags set: EINVAL");
	sub.flags = 0;
	sub.reserved[0] = 1;
	tap_errno(xioctl(s.fd, SVMIG_IOC_SUBMIT, &sub), -EINVAL, "SUBMIT reserved set: EINVAL");

	push_raw(&s, 0, 6, 0);
	tap_errno(svmig_submit(s.fd, 0, &done), -EINVAL, "entry naming an unknown slot: EINVAL");
	tap_ok(done == 0 && bad_entries(s.fd) == 1, "bad entry counted, nothing sealed");
	push_raw(&s, 0, 5, 8);
	tap_errno(svmig_submit(s.fd, 0, NULL), -EINVAL, "entry with a page past the region: EINVAL");
	push_raw(&s, 1U << 2, 5, 0);
	tap_errno(svmig_submit(s.fd, 0, NULL), -EINVAL, "entry with undefined flags: EINVAL");
	push_raw(&s, UINT32_MAX, 5, UINT64_MAX);
	tap_errno(svmig_submit(s.fd, 0, NULL), -EINVAL, "entry of all ones: EINVAL");
	tap_ok(bad_entries(s.fd) == 4, "four bad entries counted");
	tap_ok(__atomic_load_n(s.ring.khead, __ATOMIC_ACQUIRE) == s.ring.tail,
	       "refused entries are consumed (head == tail)");

	push_raw(&s, SVMIG_GFN_F_DIRTY, 5, 7);
	tap_errno(svmig_submit(s.fd, 0, &done), 0, "KVM-style entry (DIRTY flag) accepted");
	tap_ok(done == 1, "one entry completed");
	drain(s.fd, &bytes);
	tap_ok(bytes == SVMIG_HELLO_REC_LEN + SVMIG_PAGE_REC_LEN,
	       "read() yields the HELLO and one page record (%zu bytes)", bytes);

	*s.ring.ktail = s.ring.tail + 17;
	tap_errno(svmig_submit(s.fd, 0, NULL), -EINVAL, "tail more than ring size ahead: EINVAL");
	*s.ring.ktail = s.ring.tail - 1;
	tap_errno(svmig_submit(s.fd, 0, NULL), -EINVAL, "tail behind head: EINVAL");
	*s.ring.khead = 12345;
	svmig_ring_publish(&s.ring);
	tap_errno(svmig_submit(s.fd, 0, &done), 0, "head scribbled by userspace is ignored");
	tap_ok(done == 0 && *s.ring.khead == s.ring.tail, "kernel restores its own head");
	sender_exit(&s);
}

static void test_sender_flow(void)
{
	struct sender s;
	uint32_t done;
	size_t bytes, want;
	int i;

	sender_init(&s);
	for (i = 0; i < 8; i++)
		svmig_ring_push(&s.ring, 5, i);
	svmig_ring_publish(&s.ring);
	tap_errno(svmig_submit(s.fd, 3, &done), 0, "SUBMIT with max_entries 3");
	tap_ok(done == 3, "max_entries honoured (%u)", done);
	tap_errno(svmig_submit(s.fd, 0, &done), 0, "SUBMIT the rest");
	tap_ok(done == 5, "remaining 5 completed (%u)", done);
	tap_errno(svmig_verify(s.fd), -EINVAL, "VERIFY on a sender: EINVAL");
	tap_errno(xioctl(s.fd, SVMIG_IOC_RECV, &(struct svmig_recv){ 0 }), -EINVAL,
		  "RECV on a sender: EINVAL");
	tap_ok(write(s.fd, "x", 1) < 0 && errno == EINVAL, "write() on a sender: EINVAL");
	tap_errno(svmig_finish(s.fd), 0, "FINISH");
	tap_errno(svmig_finish(s.fd), 0, "second FINISH: nothing left to seal or send, 0");
	svmig_ring_push(&s.ring, 5, 0);
	svmig_ring_publish(&s.ring);
	tap_errno(svmig_submit(s.fd, 0, NULL), -EINVAL, "SUBMIT after FINISH: EINVAL");
	drain(s.fd, &bytes);
	want = SVMIG_HELLO_REC_LEN + 8 * SVMIG_PAGE_REC_LEN + SVMIG_MANIFEST_REC_LEN;
	tap_ok(bytes == want, "read() returns every record then EOF (%zu of %zu bytes)",
	       bytes, want);
	sender_exit(&s);
}

static void test_attach(void)
{
	struct svmig_attach a;
	int fd = open_dev(), pfd[2], udp, tcp;

	memset(&a, 0, sizeof(a));
	a.fd = -1;
	tap_errno(xioctl(fd, SVMIG_IOC_ATTACH_SOCK, &a), -EBADF, "ATTACH_SOCK fd -1: EBADF");
	if (pipe(pfd))
		tap_bail("pipe");
	a.fd = pfd[0];
	tap_errno(xioctl(fd, SVMIG_IOC_ATTACH_SOCK, &a), -ENOTSOCK, "ATTACH_SOCK a pipe: ENOTSOCK");
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	a.fd = udp;
	tap_errno(xioctl(fd, SVMIG_IOC_ATTACH_SOCK, &a), -EINVAL, "ATTACH_SOCK a UDP socket: EINVAL");
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	a.fd = tcp;
	a.flags = 1;
	tap_errno(xioctl(fd, SVMIG_IOC_ATTACH_SOCK, &a), -EINVAL, "ATTACH_SOCK flags set: EINVAL");
	a.flags = 0;
	a.reserved[1] = 1;
	tap_errno(xioctl(fd, SVMIG_IOC_ATTACH_SOCK, &a), -EINVAL, "ATTACH_SOCK reserved set: EINVAL");
	a.reserved[1] = 0;
	tap_errno(xioctl(fd, SVMIG_IOC_ATTACH_SOCK, &a), 0, "ATTACH_SOCK a TCP socket");
	tap_errno(xioctl(fd, SVMIG_IOC_ATTACH_SOCK, &a), -EBUSY, "second ATTACH_SOCK: EBUSY");
	close(tcp);
	close(udp);
	close(pfd[0]);
	close(pfd[1]);
	close(fd);
}

static void test_receiver_misc(void)
{
	struct svmig_recv r;
	int fd = open_keyed(SVMIG_ROLE_RECEIVER);
	char c;

	memset(&r, 0, sizeof(r));
	tap_errno(xioctl(fd, SVMIG_IOC_RECV, &r), -ENOTCONN, "RECV without a socket: ENOTCONN");
	r.flags = 1;
	tap_errno(xioctl(fd, SVMIG_IOC_RECV, &r), -EINVAL, "RECV flags set: EINVAL");
	tap_errno(svmig_verify(fd), -EINPROGRESS, "VERIFY before any record: EINPROGRESS");
	tap_ok(read(fd, &c, 1) < 0 && errno == EINVAL, "read() on a receiver: EINVAL");
	tap_errno(svmig_finish(fd), -EINVAL, "FINISH on a receiver: EINVAL");
	close(fd);

	fd = open_dev();
	tap_errno(svmig_verify(fd), -EINVAL, "VERIFY on an unkeyed channel: EINVAL");
	tap_errno(svmig_finish(fd), -EINVAL, "FINISH on an unkeyed channel: EINVAL");
	tap_ok(read(fd, &c, 1) < 0 && errno == EINVAL, "read() on an unkeyed channel: EINVAL");
	close(fd);
}

/*
 * After a fatal error a channel takes nothing more: "every later call
 * fails with EPIPE" (uapi.rst).  Found by t_fuzz: a receiver refused at
 * its first record still took a region (and a socket), and a sender whose
 * send failed before it had a ring still set one up.
 */
static void test_failed_channel(void)
{
	uint8_t junk[sizeof(struct svmig_wire_hdr)] = { 0x7f, 0x7f };
	struct svmig_ring_setup rs;
	uint8_t *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	int fd, sv[2], tcp;

	if (mem == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	fd = open_keyed(SVMIG_ROLE_RECEIVER);
	tap_ok(write(fd, junk, sizeof(junk)) < 0 && errno == EPROTO,
	       "receiver refuses a malformed first record: EPROTO");
	tap_errno(svmig_add_region(fd, 1, 0, mem, 4096), -EPIPE,
		  "ADD_REGION on the failed receiver: EPIPE");
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	tap_errno(svmig_attach_socket(fd, tcp), -EPIPE, "ATTACH_SOCK on the failed receiver: EPIPE");
	tap_ok(write(fd, junk, sizeof(junk)) < 0 && errno == EPIPE, "write() after it: EPIPE");
	close(tcp);
	close(fd);

	fd = open_keyed(SVMIG_ROLE_SENDER);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair");
	tap_errno(svmig_attach_socket(fd, sv[0]), 0, "sender attached to a socket");
	close(sv[1]);
	tap_errno(svmig_finish(fd), -EPIPE, "FINISH with the peer gone: EPIPE, the channel fails");
	memset(&rs, 0, sizeof(rs));
	rs.entries = 16;
	tap_errno(xioctl(fd, SVMIG_IOC_SETUP_RING, &rs), -EPIPE,
		  "SETUP_RING on the failed sender: EPIPE");
	tap_errno(svmig_submit(fd, 0, NULL), -EPIPE, "SUBMIT on the failed sender: EPIPE");
	close(sv[0]);
	close(fd);
	munmap(mem, 4096);
}

/*
 * SUBMIT's completed and RECV's records are written back even when the call
 * fails (uapi.rst).  Found by t_fuzz: a call refused before it consumed
 * anything left the caller's value there.
 */
static void test_out_fields_on_failure(void)
{
	struct svmig_submit sub;
	struct svmig_recv r;
	int fd = open_keyed(SVMIG_ROLE_RECEIVER);

	memset(&sub, 0, sizeof(sub));
	sub.completed = 0xdeadbeef;
	tap_errno(xioctl(fd, SVMIG_IOC_SUBMIT, &sub), -EINVAL, "SUBMIT on a receiver: EINVAL");
	tap_ok(sub.completed == 0, "  completed written back as 0 (0x%x)", sub.completed);
	memset(&r, 0, sizeof(r));
	r.records = 0xdeadbeef;
	tap_errno(xioctl(fd, SVMIG_IOC_RECV, &r), -ENOTCONN, "RECV without a socket: ENOTCONN");
	tap_ok(r.records == 0, "  records written back as 0 (0x%x)", r.records);
	r.flags = 1;
	r.records = 0xdeadbeef;
	tap_errno(xioctl(fd, SVMIG_IOC_RECV, &r), -EINVAL, "RECV with flags set: EINVAL");
	tap_ok(r.records == 0, "  records written back as 0 (0x%x)", r.records);
	close(fd);

	fd = open_keyed(SVMIG_ROLE_SENDER);
	sub.flags = 1;
	sub.completed = 0xdeadbeef;
	tap_errno(xioctl(fd, SVMIG_IOC_SUBMIT, &sub), -EINVAL, "SUBMIT with flags set: EINVAL");
	tap_ok(sub.completed == 0, "  completed written back as 0 (0x%x)", sub.completed);
	close(fd);
}

/* The number of checks main() runs, printed first. */
#define PLAN	119

int main(void)
{
	tap_plan(PLAN);
	test_info();
	test_unknown_ioctls();
	test_set_key();
	test_regions();
	test_ring_setup();
	test_ring_entries();
	test_sender_flow();
	test_attach();
	test_receiver_misc();
	test_failed_channel();
	test_out_fields_on_failure();
	return tap_done();
}
