// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz: a seeded random fuzzer for /dev/svmig, run inside the test VM.
 *
 *   t_fuzz [--seed N] [--seconds S] [--verbose]
 *
 * (or SVMIG_FUZZ_SEED=N / SVMIG_FUZZ_SECONDS=S in the environment, which
 * tests/vm/run-vm.sh passes into the guest; the options win).
 * It prints its TAP plan, then "# seed N"; the same --seed replays the same
 * sequence of episodes (the two-thread races aside, whose interleaving is
 * the scheduler's).  Episodes, picked at random until --seconds (default
 * 120) have passed:
 *
 *  - storm: one to three channels driven by random sequences of every
 *    ioctl (random and boundary values in every field, bad pointers,
 *    unknown and mis-sized commands), read/write/poll, mmap/munmap/
 *    mprotect/madvise/mremap of the ring with random sizes, offsets,
 *    protections and flags, random ring entries and indices, sockets of
 *    every kind attached, dup, close and fork;
 *  - page-rx / stream-rx: records sealed by the OpenSSL oracle
 *    (userspace/lib/wire.c), mutated (bit flips, byte values, truncation,
 *    splices from another session, replays, drops, length, type, version,
 *    seq and reserved fields changed, random bytes inserted), plus random
 *    byte streams and authentic but malformed records, written into
 *    page-mode receivers (write() or a socket and RECV) and stream-mode
 *    receivers (a socket and read()/RECV);
 *  - page-tx: a sender fed random ring entries, its records opened by the
 *    oracle;
 *  - race: two threads racing ioctls, read, write, poll, mmap, dup2, close
 *    and fork on one fd while a third feeds or drains its socket.
 *
 * Checked all along: every errno is one the uapi (Documentation/uapi.rst)
 * allows for that call; nothing with a reserved field, an undefined flag or
 * a bad pointer succeeds; GET_INFO/GET_STATS keep their invariants; guest
 * memory and read() only ever hold what the sender sealed and a mutated
 * stream never verifies; no SIGSEGV/SIGBUS except from the deliberate
 * accesses (which must fault exactly when expected); every forked child
 * exits cleanly; no call hangs; the kernel's taint flags gain no W (warning),
 * D (oops), B (bad page) or L (soft lockup); svmig's module reference count
 * returns to its start once every fd is closed; and a clean page-mode and
 * stream-mode migration still verify at the end.  tests/vm/guest-run.sh
 * also scans dmesg after the test.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libsvmig.h"
#include "tap.h"
#include "wire.h"

#define PLAN		10
#define PG		4096UL
#define ARENA_PAGES	64
#define MAX_CHANS	3
#define MAX_MAPS	8
#define BIGBUF		(1UL << 20)
/* Pages of per-page kernel state (20 bytes each) the open channels may hold. */
#define REGION_BUDGET	(8UL << 20)
#define USER_TOP	((1ULL << 47) - PG)	/* x86-64 TASK_SIZE_MAX, 4-level paging */
#define MAX_WORKERS_	4
#define HANG_KICK_S	20
#define HANG_FAIL_S	60

/* ------------------------------------------------------------- randomness */

static __thread uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int pct)
{
	return below(100) < pct;
}

static void rnd_bytes(void *p, size_t n)
{
	uint8_t *b = p;
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(i & 7))
			v = rnd();
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Random and boundary values for a 64-bit field. */
static uint64_t pick64(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 63, 64, 127, 128, 255, 256,
		4095, 4096, 4097, 8191, 8192, 65535, 65536, 65537,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		(16ULL << 30) - PG, 16ULL << 30, (16ULL << 30) + PG,
		(64ULL << 30) - PG, 64ULL << 30, (64ULL << 30) + PG,
		USER_TOP - PG, USER_TOP, USER_TOP + PG,
		0xffff888000000000ULL, 0xffffffff80000000ULL,
		0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL - PG + 1,
		~0ULL - 1, ~0ULL,
	};
	uint64_t v;

	switch (below(8)) {
	case 0:
	case 1:
		return edges[below(sizeof(edges) / sizeof(edges[0]))];
	case 2:
		v = 1ULL << below(64);
		return v + below(3) - 1;
	case 3:
		return below(64) * PG + (below(3) - 1);
	case 4:
		return below(32);
	case 5:
		return (rnd() & ~(PG - 1)) + (below(3) - 1);
	default:
		return rnd();
	}
}

static uint32_t pick32(void)
{
	return chance(70) ? (uint32_t)pick64() : (uint32_t)rnd();
}

/* ------------------------------------------------------ results and checks */

static uint64_t seed;
static unsigned int seconds = 120;
static bool verbose;
static uint64_t deadline_ns;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic unsigned long n_contract, n_forgery, n_child, n_fault_expect;
static _Atomic unsigned long n_deliberate_faults, n_probes;
static _Atomic uint64_t longest_op_ns;
static _Atomic unsigned long episode_no;
static const char *episode_kind = "";
static _Atomic unsigned long page_rx_verified, stream_rx_eof;
static bool in_child;		/* after fork(): no stdio, no locks */
/* Set in race episodes: the fd may be another channel by now. */
static __thread bool racing;
static unsigned long child_violations;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool time_left(void)
{
	return now_ns() < deadline_ns;
}

static void put_str_n(const char *s, size_t n)
{
	ssize_t r = write(STDOUT_FILENO, s, n);

	(void)r;
}

__attribute__((format(printf, 2, 3)))
static void report(_Atomic unsigned long *counter, const char *fmt, ...)
{
	unsigned long n;
	va_list ap;

	if (in_child) {
		/* After fork(): no stdio locks; vsnprintf and write(2) only. */
		char buf[512];
		int len;

		if (child_violations++ >= 5)
			return;
		len = snprintf(buf, sizeof(buf), "# VIOLATION (forked child, seed %" PRIu64
			       ", episode %lu, %s): ", seed, atomic_load(&episode_no), episode_kind);
		va_start(ap, fmt);
		len += vsnprintf(buf + len, sizeof(buf) - len - 1, fmt, ap);
		va_end(ap);
		if (len > (int)sizeof(buf) - 2)
			len = sizeof(buf) - 2;
		buf[len++] = '\n';
		put_str_n(buf, len);
		return;
	}
	n = atomic_fetch_add(counter, 1);
	if (n >= 20)
		return;
	pthread_mutex_lock(&out_lock);
	printf("# VIOLATION (seed %" PRIu64 ", episode %lu, %s%s): ", seed,
	       atomic_load(&episode_no), episode_kind, racing ? ", racing thread" : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

__attribute__((format(printf, 1, 2)))
static void note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose || in_child)
		return;
	pthread_mutex_lock(&out_lock);
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* ------------------------------------------------------------- operations */

enum op {
	OP_GET_INFO, OP_SET_KEY, OP_ADD_REGION, OP_SETUP_RING, OP_ATTACH, OP_SUBMIT,
	OP_FINISH, OP_RECV, OP_VERIFY, OP_GET_STATS, OP_BAD_IOCTL, OP_READ, OP_WRITE,
	OP_POLL, OP_MMAP, OP_MAPOP, OP_PROBE, OP_RING, OP_CLOSE, OP_DUP, OP_FORK,
	OP_PEER, OP_PAGE_REC, OP_STREAM_REC, OP_TX_CHECK, OP_NR
};

static const char *const op_names[OP_NR] = {
	"GET_INFO", "SET_KEY", "ADD_REGION", "SETUP_RING", "ATTACH_SOCK", "SUBMIT",
	"FINISH", "RECV", "VERIFY", "GET_STATS", "bad ioctl", "read", "write",
	"poll", "mmap", "munmap/mprotect/madvise/mremap", "ring access", "ring entries",
	"close", "dup", "fork", "peer socket", "page-mode records",
	"stream-mode records", "sender output opened",
};

static _Atomic unsigned long op_calls[OP_NR], op_ok[OP_NR];

/*
 * Errnos each call may return (Documentation/uapi.rst, plus what the
 * attached socket's own calls return, which the channel passes on).
 */
#define SOCK_ERRS	EPIPE, ECONNRESET, ENOTCONN, EAGAIN, EINTR, ETIMEDOUT, \
			ECONNREFUSED, ENOMEM, EINVAL
static const int errs_info[] = { EFAULT, 0 };
/*
 * Every call that takes the channel's lock may return EAGAIN (O_NONBLOCK,
 * lock held); EPERM where region memory is touched from another process.
 */
static const int errs_set_key[] = { EFAULT, EINVAL, EBUSY, ENODEV, ENOMEM, EINTR, EPIPE, EIO,
				    EAGAIN, EEXIST, EKEYREJECTED, 0 };
static const int errs_region[] = { EFAULT, EINVAL, EBUSY, EEXIST, ENOSPC, ENOMEM, EINTR, EPIPE,
				   EAGAIN, EPERM, 0 };
static const int errs_ring[] = { EFAULT, EINVAL, EBUSY, ENOMEM, EINTR, EPIPE, EAGAIN, 0 };
static const int errs_attach[] = { EFAULT, EINVAL, EBUSY, EBADF, ENOTSOCK, EINTR, EPIPE, EAGAIN,
				   0 };
static const int errs_submit[] = { EFAULT, EINVAL, EOVERFLOW, EPERM, SOCK_ERRS, 0 };
static const int errs_finish[] = { EINVAL, EOVERFLOW, SOCK_ERRS, 0 };
static const int errs_recv[] = { EFAULT, EPROTO, EILSEQ, EBADMSG, EOVERFLOW, ENODATA, EPERM,
				 EKEYREJECTED, SOCK_ERRS, 0 };
static const int errs_verify[] = { EINVAL, EINPROGRESS, EBADMSG, ENODATA, EINTR, EAGAIN, 0 };
static const int errs_read[] = { EBADF, EFAULT, EPROTO, EILSEQ, EBADMSG, EOVERFLOW, ENODATA,
				 EKEYREJECTED, SOCK_ERRS, 0 };
static const int errs_write[] = { EBADF, EFAULT, EPROTO, EILSEQ, EBADMSG, EOVERFLOW, EPERM,
				  EKEYREJECTED, SOCK_ERRS, 0 };
static const int errs_bad_ioctl[] = { ENOTTY, 0 };

static const int *const op_errs[OP_NR] = {
	[OP_GET_INFO] = errs_info, [OP_GET_STATS] = errs_info,
	[OP_SET_KEY] = errs_set_key, [OP_ADD_REGION] = errs_region,
	[OP_SETUP_RING] = errs_ring, [OP_ATTACH] = errs_attach,
	[OP_SUBMIT] = errs_submit, [OP_FINISH] = errs_finish, [OP_RECV] = errs_recv,
	[OP_VERIFY] = errs_verify, [OP_READ] = errs_read, [OP_WRITE] = errs_write,
	[OP_BAD_IOCTL] = errs_bad_ioctl,
};


static bool errno_allowed(enum op op, int err)
{
	const int *e = op_errs[op];

	if (!e || !err)
		return true;
	if (racing && err == EBADF)
		return true;
	for (; *e; e++)
		if (*e == err)
			return true;
	return false;
}

/* The watchdog's view of each worker thread: what it runs since when. */
struct worker {
	_Atomic uint64_t since;		/* 0: not in a call */
	int depth;			/* calls nest: an episode step, then its calls */
	_Atomic int op;
	_Atomic pid_t tid;
	bool kicked;
};

#define MAX_WORKERS MAX_WORKERS_
static struct worker workers[MAX_WORKERS];
static __thread struct worker *self;
static _Atomic bool hung;

static uint8_t *scratch_pool[MAX_WORKERS_];
static __thread uint8_t *scratch;

static void worker_register(int i)
{
	scratch = scratch_pool[i];
	self = &workers[i];
	atomic_store(&self->tid, (pid_t)syscall(SYS_gettid));
	atomic_store(&self->since, 0);
	self->depth = 0;
	self->kicked = false;
}

static void op_begin(enum op op)
{
	atomic_fetch_add(&op_calls[op], 1);
	if (self && !in_child && !self->depth++) {
		atomic_store(&self->op, op);
		atomic_store(&self->since, now_ns());
	}
}

/*
 * The storm's channel whose call is running, if its model is exact, and
 * whether it is known to have failed: after a fatal error "every later
 * call fails" (Documentation/uapi.rst), GET_INFO and GET_STATS aside.
 */
static __thread bool cur_failed;

/* Ends a call: counts it and checks its errno against the uapi's list. */
static int op_end(enum op op, int ret)
{
	if (self && !in_child && self->depth && !--self->depth) {
		uint64_t d = now_ns() - atomic_load(&self->since);
		uint64_t cur = atomic_load(&longest_op_ns);

		while (d > cur && !atomic_compare_exchange_weak(&longest_op_ns, &cur, d))
			;
		atomic_store(&self->since, 0);
	}
	if (ret >= 0 && cur_failed && !racing && !in_child &&
	    (op == OP_SET_KEY || op == OP_ADD_REGION || op == OP_SETUP_RING || op == OP_ATTACH ||
	     op == OP_SUBMIT || op == OP_FINISH || op == OP_RECV || op == OP_VERIFY ||
	     op == OP_READ || op == OP_WRITE))
		report(&n_contract, "%s succeeded on a channel that had failed", op_names[op]);
	if (ret >= 0)
		atomic_fetch_add(&op_ok[op], 1);
	else if (!errno_allowed(op, -ret))
		report(&n_contract, "%s returned %s (%d), which the uapi does not allow",
		       op_names[op], strerror(-ret), ret);
	return ret;
}

static int xioctl(enum op op, int fd, unsigned long cmd, void *arg)
{
	int ret;

	op_begin(op);
	ret = ioctl(fd, cmd, arg) < 0 ? -errno : 0;
	return op_end(op, ret);
}

/* ------------------------------------------------- deliberate bad accesses */

static __thread sigjmp_buf probe_env;
static __thread volatile sig_atomic_t probing;

static void put_str(const char *s)
{
	ssize_t r = write(STDOUT_FILENO, s, strlen(s));

	(void)r;
}

static void put_hex(uint64_t v)
{
	char b[19];
	int i;

	b[0] = '0';
	b[1] = 'x';
	for (i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
	b[18] = 0;
	put_str(b);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (probing) {
		probing = 0;
		siglongjmp(probe_env, sig);
	}
	put_str(in_child ? "# (forked child) " : "");
	put_str("Bail out! unexpected ");
	put_str(sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
	put_str(" at ");
	put_hex((uint64_t)(uintptr_t)si->si_addr);
	put_str(" si_code ");
	put_hex((uint64_t)si->si_code);
	put_str(" (replay: --seed ");
	put_hex(seed);
	put_str(")\n");
	_exit(in_child ? 4 : 1);
}

static void on_kick(int sig)
{
	(void)sig;
}

/* Touches *p (writing back what it read if @wr); 0 or the signal it raised. */
static int probe(volatile uint8_t *p, bool wr)
{
	int sig;

	atomic_fetch_add(&n_probes, 1);
	probing = 1;
	sig = sigsetjmp(probe_env, 1);
	if (sig) {
		atomic_fetch_add(&n_deliberate_faults, 1);
		return sig;
	}
	if (wr) {
		uint8_t v = *p;

		*p = v;
	} else {
		(void)*p;
	}
	probing = 0;
	return 0;
}

/* ------------------------------------------------------------ scratch area */

/*
 * Per thread: [RW page][RW page][guard: PROT_NONE][RO page], homes for
 * ioctl arguments, good and bad.
 */
static uint8_t *bigbuf;		/* BIGBUF bytes for read()/write() */
static uint8_t *arena;		/* ARENA_PAGES pages of "guest memory" */
static const uint8_t fz_session[SVMIG_SESSION_ID_LEN] = "svmig-fuzz-sess1";
static const uint8_t fz_session2[SVMIG_SESSION_ID_LEN] = "svmig-fuzz-sess2";
static const uint8_t fz_secret[SVMIG_SECRET_LEN] = "fuzzing secret, thirty-two bytes";
static bool have_tpm;
/* The end of the user address space: 2^47 - 4096, or 2^56 - 4096 with 5-level paging. */
static uint64_t user_top = USER_TOP;
static uint64_t region_pages;	/* kernel page state held by open storm channels */

/* P_ODD's misalignment, chosen by pick_ptr(), so every arg_ptr() agrees. */
static __thread unsigned int odd_off = 1;

enum ptr_kind { P_GOOD, P_ODD, P_NULL, P_KERNEL, P_GUARD, P_STRADDLE, P_RO, P_HIGH, P_NR };

/* Where an ioctl argument of @size bytes goes; *bad says it cannot be read. */
static void *arg_ptr(size_t size, enum ptr_kind k)
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
static void put_arg(enum ptr_kind k, const void *src, size_t n)
{
	void *dst = arg_ptr(n, k);

	if (k == P_RO && mprotect(scratch + 3 * PG, PG, PROT_READ | PROT_WRITE))
		return;
	if (k == P_GOOD || k == P_ODD || k == P_RO)
		memcpy(dst, src, n);
	if (k == P_RO)
		mprotect(scratch + 3 * PG, PG, PROT_READ);
}

static enum ptr_kind pick_ptr(void)
{
	odd_off = 1 + (unsigned int)below(7);
	return chance(85) ? (chance(90) ? P_GOOD : P_ODD) : (enum ptr_kind)(2 + below(P_NR - 2));
}

/* An argument of @size bytes at @k: readable?  writable? */
static bool ptr_readable(enum ptr_kind k)
{
	return k == P_GOOD || k == P_ODD || k == P_RO;
}

static bool ptr_writable(enum ptr_kind k)
{
	return k == P_GOOD || k == P_ODD;
}

/* --------------------------------------------------------------- channels */

struct map {
	uint8_t *addr;
	size_t len;
	int prot;
	bool shared;
	bool zapped;		/* MADV_DONTNEED: any access is SIGBUS */
};

struct chan {
	int fd;
	int dupfd;		/* -1 or a dup of fd */
	int role;		/* what SET_KEY was asked and got, 0 if none */
	bool stream;
	bool failed_seen;
	bool unsure;		/* a forked child used it: the model may be stale */
	bool shared;		/* a race's channel: other threads act on it too */
	bool session;		/* SVMIG_KEY_SESSION: VERIFY answers for others too */
	uint32_t ring_entries;	/* 0 until SETUP_RING */
	uint64_t ring_size;
	struct svmig_ring_offsets off;
	struct map maps[MAX_MAPS];
	int nmaps;
	int sock;		/* attached socket (ours, -1 if none) */
	int peer;		/* its other end */
	uint64_t region_pages;
	struct svmig_stats last;
};

static void chan_init(struct chan *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->dupfd = -1;
	c->sock = -1;
	c->peer = -1;
}

static int dev_open_flags(int flags)
{
	int fd = open(SVMIG_DEVICE, flags | O_CLOEXEC);

	if (fd < 0 && !in_child)
		tap_bail("open %s: %s", SVMIG_DEVICE, strerror(errno));
	return fd;
}

/* Mostly read-write; sometimes read-only, write-only or nonblocking. */
static int dev_open(void)
{
	int flags = chance(90) ? O_RDWR : (chance(50) ? O_RDONLY : O_WRONLY);

	return dev_open_flags(flags | (chance(15) ? O_NONBLOCK : 0));
}

static void chan_close(struct chan *c)
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

static int chan_fd(struct chan *c)
{
	return c->dupfd >= 0 && chance(30) ? c->dupfd : c->fd;
}

/* Checks GET_STATS against its invariants (and the channel's last view). */
static void check_stats(struct chan *c, const struct svmig_stats *st)
{
	const uint32_t flags_ok = SVMIG_STAT_KEYED | SVMIG_STAT_TPM_SALT | SVMIG_STAT_NO_TPM |
				  SVMIG_STAT_SOCKET | SVMIG_STAT_FINISHED | SVMIG_STAT_STREAM;
	size_t i;

	if (st->resv || st->reserved[0] || st->reserved[1] || st->reserved[2] ||
	    st->reserved[3] || st->reserved[4])
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
				       c->last.payload_bytes, c->last.discarded_bytes };
		const uint64_t b[] = { st->records, st->bytes, st->pages, st->stale_pages,
				       st->auth_failures, st->replays, st->proto_errors,
				       st->bad_entries, st->payload_bytes, st->discarded_bytes };

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

static void get_stats(struct chan *c, int fd)
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

static void get_info(int fd)
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
static void set_key(struct chan *c, int fd)
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
static void add_region(struct chan *c, int fd)
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

static void setup_ring(struct chan *c, int fd)
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

/* ------------------------------------------------------------------ sockets */

static void sock_timeouts(int s, long usec)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = usec };
	int big = 1 << 20;

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
}

/* A connected stream pair: AF_UNIX, or TCP over loopback. */
static int stream_pair(int sv[2], bool tcp)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, one = 1;

	if (!tcp) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			return -1;
		goto done;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen)) {
		close(l);
		return stream_pair(sv, false);
	}
	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, sizeof(a))) {
		if (sv[0] >= 0)
			close(sv[0]);
		close(l);
		return stream_pair(sv, false);
	}
	sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	if (sv[1] < 0) {
		close(sv[0]);
		return -1;
	}
	setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
done:
	sock_timeouts(sv[0], 20000 + below(80000));
	sock_timeouts(sv[1], 20000 + below(80000));
	return 0;
}

/*
 * Some fd for ATTACH_SOCK: a connected pair's end (kept in the channel), or
 * one of the wrong kinds, closed again after the call.  *valid: the uapi
 * lets it attach.
 */
static int pick_sock(struct chan *c, bool *valid, bool *close_after)
{
	int sv[2], s = -1, kind = (int)below(12);

	*valid = false;
	*close_after = false;
	switch (kind) {
	case 0:
		return -1;
	case 1:	/* never an open fd: negative or far above any limit */
		return chance(50) ? -(int)(1 + below(1000)) : (int)(0x40000000 | pick32());
	case 2:
		*close_after = true;
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	case 3:
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	case 4:
		s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		break;
	case 5:	/* a stream socket, never connected: attachable, useless */
		s = socket(chance(50) ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s >= 0)
			sock_timeouts(s, 20000);
		*valid = s >= 0;
		break;
	case 6:
		if (c && c->fd >= 0)
			return c->fd;	/* not a socket */
		return -1;
	default:
		if (stream_pair(sv, chance(40)))
			return -1;
		if (c && !racing) {
			if (c->sock >= 0)
				close(c->sock);
			if (c->peer >= 0)
				close(c->peer);
			c->sock = sv[1];
			c->peer = sv[0];
		} else {
			close(sv[0]);
			*close_after = true;
		}
		*valid = true;
		return sv[1];
	}
	*close_after = s >= 0;
	return s;
}

static void attach(struct chan *c, int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_attach a;
	bool valid, close_after, must_fail;
	int ret;

	memset(&a, 0, sizeof(a));
	a.fd = pick_sock(c, &valid, &close_after);
	if (chance(8))
		a.flags = pick32() | 1;
	if (chance(8))
		a.reserved[below(2)] = pick64() | 1;
	must_fail = !valid || a.flags || a.reserved[0] || a.reserved[1] || !ptr_readable(k);
	put_arg(k, &a, sizeof(a));
	ret = xioctl(OP_ATTACH, fd, SVMIG_IOC_ATTACH_SOCK, arg_ptr(sizeof(a), k));
	if (!ret && must_fail)
		report(&n_contract, "ATTACH_SOCK accepted fd %d flags 0x%x ptr %d", a.fd, a.flags, k);
	if (close_after)
		close(a.fd);
}

static void submit(int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_submit s, *p = arg_ptr(sizeof(s), k);
	bool must_fail;
	int ret;

	memset(&s, 0, sizeof(s));
	s.max_entries = chance(60) ? 0 : pick32();
	s.completed = 0xdeadbeef;
	if (chance(8))
		s.flags = pick32() | 1;
	if (chance(6))
		s.resv = pick32() | 1;
	if (chance(6))
		s.reserved[below(2)] = pick64() | 1;
	must_fail = s.flags || s.resv || s.reserved[0] || s.reserved[1] || !ptr_writable(k);
	put_arg(k, &s, sizeof(s));
	ret = xioctl(OP_SUBMIT, fd, SVMIG_IOC_SUBMIT, p);
	if (!ret && must_fail)
		report(&n_contract, "SUBMIT accepted flags 0x%x resv 0x%x ptr %d", s.flags, s.resv, k);
	if (ptr_writable(k) && !racing && ret != -EFAULT && ret != -EINTR) {
		memcpy(&s, p, sizeof(s));
		/* "written back even when the call fails" (uapi.rst) */
		if (s.completed == 0xdeadbeef)
			report(&n_contract, "SUBMIT returned %d without writing completed back", ret);
		else if (s.completed > 65536)
			report(&n_contract, "SUBMIT returned %d, completed %u", ret, s.completed);
	}
}

static void recv_ioctl(int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_recv r, *p = arg_ptr(sizeof(r), k);
	bool must_fail;
	int ret;

	memset(&r, 0, sizeof(r));
	r.max_records = chance(50) ? 0 : (chance(50) ? (uint32_t)below(4) : pick32());
	r.records = 0xdeadbeef;
	if (chance(8))
		r.flags = pick32() | 1;
	if (chance(6))
		r.resv = pick32() | 1;
	if (chance(6))
		r.reserved[below(2)] = pick64() | 1;
	must_fail = r.flags || r.resv || r.reserved[0] || r.reserved[1] || !ptr_writable(k);
	put_arg(k, &r, sizeof(r));
	ret = xioctl(OP_RECV, fd, SVMIG_IOC_RECV, p);
	if (!ret && must_fail)
		report(&n_contract, "RECV accepted flags 0x%x resv 0x%x ptr %d", r.flags, r.resv, k);
	if (ptr_writable(k) && !racing && ret != -EFAULT && ret != -EINTR) {
		memcpy(&r, p, sizeof(r));
		/* "records (out) counts those applied, also on failure" (uapi.rst) */
		if (r.records == 0xdeadbeef)
			report(&n_contract, "RECV returned %d without writing records back", ret);
		else if (r.max_records && r.records > r.max_records)
			report(&n_contract, "RECV: %u records, max %u", r.records, r.max_records);
	}
}

static void verify(struct chan *c, int fd)
{
	struct svmig_stats st;
	int ret = xioctl(OP_VERIFY, fd, SVMIG_IOC_VERIFY, chance(90) ? NULL : (void *)pick64());

	if (!c || racing || c->shared || c->session || ioctl(fd, SVMIG_IOC_GET_STATS, &st))
		return;
	/* VERIFY follows the verdict, which only moves forward. */
	if ((ret == 0) != (st.verdict == SVMIG_VERDICT_VERIFIED && st.role == SVMIG_ROLE_RECEIVER))
		report(&n_contract, "VERIFY %d with verdict %u", ret, st.verdict);
	if (st.role == SVMIG_ROLE_RECEIVER && ret == -EINPROGRESS &&
	    st.verdict != SVMIG_VERDICT_PENDING)
		report(&n_contract, "VERIFY EINPROGRESS with verdict %u", st.verdict);
}

static void finish(int fd)
{
	xioctl(OP_FINISH, fd, SVMIG_IOC_FINISH, chance(90) ? NULL : (void *)pick64());
}

/* Unknown commands, known numbers with the wrong size or direction, foreign magics. */
static void bad_ioctl(int fd)
{
	static const unsigned long known[] = {
		SVMIG_IOC_GET_INFO, SVMIG_IOC_SET_KEY, SVMIG_IOC_ADD_REGION,
		SVMIG_IOC_SETUP_RING, SVMIG_IOC_ATTACH_SOCK, SVMIG_IOC_SUBMIT,
		SVMIG_IOC_FINISH, SVMIG_IOC_RECV, SVMIG_IOC_VERIFY, SVMIG_IOC_GET_STATS,
	};
	unsigned long cmd;
	size_t i;
	int ret;

	switch (below(3)) {
	case 0:
		cmd = _IOC(below(4), SVMIG_IOC_MAGIC, below(256), below(1 << 14));
		break;
	case 1:	/* a known number, another size or direction */
		cmd = known[below(10)];
		cmd = _IOC(below(4), SVMIG_IOC_MAGIC, _IOC_NR(cmd),
			   (chance(50) ? _IOC_SIZE(cmd) + below(17) - 8 : below(1 << 14)) & 0x3fff);
		break;
	default:
		cmd = _IOC(below(4), SVMIG_IOC_MAGIC, 0x0a + below(246), below(1 << 14));
		break;
	}
	for (i = 0; i < 10; i++)
		if (cmd == known[i])
			return;
	ret = ioctl(fd, cmd, arg_ptr(64, pick_ptr())) < 0 ? -errno : 0;
	op_begin(OP_BAD_IOCTL);
	op_end(OP_BAD_IOCTL, ret);
	if (ret == 0)
		report(&n_contract, "unknown ioctl 0x%lx succeeded", cmd);
}

static size_t pick_len(void)
{
	static const size_t lens[] = { 0, 1, 2, 15, 16, 17, 88, 4095, 4096, 4097, 4144,
				       4145, 16399, 16400, 16401, 65536, BIGBUF };

	return chance(50) ? lens[below(sizeof(lens) / sizeof(lens[0]))] : below(70000);
}

static void do_read(int fd)
{
	struct iovec iov[4];
	ssize_t n;
	int i, cnt;

	op_begin(OP_READ);
	if (chance(20)) {
		cnt = 1 + (int)below(4);
		for (i = 0; i < cnt; i++) {
			iov[i].iov_base = chance(85) ? bigbuf + below(BIGBUF / 2) :
						       arg_ptr(16, (enum ptr_kind)below(P_NR));
			iov[i].iov_len = below(20000);
		}
		n = readv(fd, iov, cnt);
	} else if (chance(90)) {
		size_t len = pick_len();

		n = read(fd, bigbuf + (len == BIGBUF ? 0 : below(BIGBUF - len)), len);
	} else {
		n = read(fd, arg_ptr(64, (enum ptr_kind)(2 + below(P_NR - 2))), 1 + below(8192));
	}
	op_end(OP_READ, n < 0 ? -errno : 0);
}

static void do_write(int fd)
{
	ssize_t n;

	op_begin(OP_WRITE);
	if (chance(90)) {
		size_t len = pick_len();
		uint8_t *p = bigbuf + (len == BIGBUF ? 0 : below(BIGBUF - len));

		if (chance(50) && len <= 32)
			rnd_bytes(p, len);
		n = write(fd, p, len);
	} else {
		n = write(fd, arg_ptr(64, (enum ptr_kind)(2 + below(P_NR - 2))), 1 + below(8192));
	}
	op_end(OP_WRITE, n < 0 ? -errno : 0);
}

static void do_poll(int fd)
{
	struct pollfd p = { .fd = fd, .events = (short)rnd() };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLERR };
	int ret, ep;

	op_begin(OP_POLL);
	if (chance(25)) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		ret = ep < 0 ? -1 : epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		if (!ret)
			ret = epoll_wait(ep, &ev, 1, (int)below(5));
		if (ep >= 0)
			close(ep);
	} else {
		ret = poll(&p, 1, (int)below(10));
		if (ret > 0 && (p.revents & ~(POLLIN | POLLOUT | POLLERR | POLLRDNORM |
					      POLLWRNORM | POLLHUP | POLLNVAL | POLLPRI |
					      POLLRDHUP | POLLRDBAND | POLLWRBAND)))
			report(&n_contract, "poll: revents 0x%x", p.revents);
	}
	op_end(OP_POLL, ret < 0 ? -errno : 0);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, chance(50) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* --------------------------------------------------------------- the ring */

/* What a deliberate access to @p in mapping @m must do: 0, SIGSEGV or SIGBUS. */
static int expect_fault(const struct map *m, bool wr)
{
	/*
	 * A zapped page has no fault handler behind it: any access the
	 * protection allows is SIGBUS.  A write probe reads first, so a
	 * readable one faults there.
	 */
	if (m->zapped)
		return m->prot == PROT_NONE ? SIGSEGV : SIGBUS;
	if (m->prot == PROT_NONE)
		return SIGSEGV;
	if (wr && !(m->prot & PROT_WRITE))
		return SIGSEGV;
	return 0;
}

/* PROT_EXEC alone is execute-only (unreadable) where the CPU has protection keys. */
static bool fault_optional(const struct map *m, bool wr)
{
	return m->prot == PROT_EXEC && (!wr || m->zapped);
}

static void probe_map(struct chan *c, struct map *m)
{
	size_t off;
	bool wr;
	int got, want;

	(void)c;
	op_begin(OP_PROBE);
	for (off = 0; off < m->len; off += PG) {
		wr = chance(40);
		want = expect_fault(m, wr);
		got = probe(m->addr + off + below(PG), wr);
		/* A zapped private page may be COWed back readable; allow either. */
		if (got != want && !(m->zapped && got == 0) && !fault_optional(m, wr))
			report(&n_contract, "ring mapping prot %d %s%s at +%zu: %s, expected %s",
			       m->prot, m->shared ? "shared" : "private", m->zapped ? " zapped" : "",
			       off, got ? strsignal(got) : "no fault", want ? strsignal(want) : "no fault");
	}
	op_end(OP_PROBE, 0);
}

static void do_mmap(struct chan *c)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE, PROT_NONE,
				     PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
				     PROT_EXEC };
	struct map *m;
	size_t len;
	off_t off = 0;
	int prot, flags, fd = chan_fd(c);
	bool must_fail = false;
	void *p;

	if (c->nmaps >= MAX_MAPS)
		return;
	prot = chance(60) ? PROT_READ | PROT_WRITE : prots[below(7)];
	flags = chance(70) ? MAP_SHARED : MAP_PRIVATE;
	if (chance(10))
		flags = MAP_SHARED_VALIDATE | (chance(50) ? MAP_SYNC : MAP_POPULATE);
	if (chance(10))
		flags |= MAP_POPULATE;
	if (chance(5))
		flags |= MAP_LOCKED;
	len = c->ring_size ? c->ring_size : PG;
	switch (below(8)) {
	case 0:
		len = pick_len();
		break;
	case 1:
		len += PG;
		break;
	case 2:
		if (len > PG)
			len -= PG;
		break;
	case 3:
		off = (off_t)(pick64() & ~(PG - 1) & 0x7fffffffffffULL);
		break;
	default:
		break;
	}
	/* The ring is mapped shared and never executable (ring.c). */
	if ((!c->ring_size && !c->unsure) || off || !len || (flags & MAP_SYNC) ||
	    !(flags & MAP_SHARED) || (prot & PROT_EXEC) ||
	    (c->ring_size && ((len + PG - 1) & ~(PG - 1)) > c->ring_size))
		must_fail = true;
	op_begin(OP_MMAP);
	p = mmap(NULL, len, prot, flags, fd, off);
	op_end(OP_MMAP, p == MAP_FAILED ? -errno : 0);
	if (p == MAP_FAILED)
		return;
	if (must_fail)
		report(&n_contract, "mmap accepted len %zu off 0x%llx flags 0x%x (ring %" PRIu64 ")",
		       len, (unsigned long long)off, flags, c->ring_size);
	m = &c->maps[c->nmaps++];
	m->addr = p;
	m->len = (len + PG - 1) & ~(PG - 1);
	m->prot = prot;
	m->shared = flags & MAP_SHARED;
	m->zapped = false;
	/* The mapping shows the ring's geometry. */
	if ((prot & PROT_READ) && c->ring_entries && m->len > c->off.ring_entries &&
	    (*(volatile uint32_t *)(m->addr + c->off.ring_entries) != c->ring_entries ||
	     *(volatile uint32_t *)(m->addr + c->off.ring_mask) != c->ring_entries - 1))
		report(&n_contract, "ring mapping: ring_entries/ring_mask wrong");
	if (chance(50))
		probe_map(c, m);
}

static void map_op(struct chan *c)
{
	struct map *m;
	int i, prot, r = 0;
	void *p;

	if (!c->nmaps)
		return;
	i = (int)below(c->nmaps);
	m = &c->maps[i];
	op_begin(OP_MAPOP);
	switch (below(6)) {
	case 0:	/* whole */
		r = munmap(m->addr, m->len);
		c->maps[i] = c->maps[--c->nmaps];
		m = NULL;
		break;
	case 1:	/* the first or last page */
		if (m->len <= PG)
			break;
		if (chance(50)) {
			r = munmap(m->addr, PG);
			m->addr += PG;
		} else {
			r = munmap(m->addr + m->len - PG, PG);
		}
		m->len -= PG;
		break;
	case 2:
		prot = (int)below(8);
		r = mprotect(m->addr, m->len, prot);
		if (!r && (prot & PROT_EXEC))
			report(&n_contract, "mprotect made a ring mapping executable");
		if (!r)
			m->prot = prot;
		break;
	case 3:
		r = madvise(m->addr, m->len, MADV_DONTNEED);
		if (!r)
			m->zapped = true;
		break;
	case 4:	/* grow: the ring cannot */
		p = mremap(m->addr, m->len, m->len + PG, 0);
		if (p != MAP_FAILED) {
			report(&n_contract, "mremap grew a ring mapping");
			m->len += PG;
		}
		break;
	default: /* move */
		p = mremap(m->addr, m->len, m->len, MREMAP_MAYMOVE);
		if (p != MAP_FAILED)
			m->addr = p;
		break;
	}
	op_end(OP_MAPOP, r ? -errno : 0);
	if (m && chance(60))
		probe_map(c, m);
}

/* The first shared, writable, untouched mapping covering the whole ring. */
static struct map *ring_map(struct chan *c)
{
	int i;

	for (i = 0; i < c->nmaps; i++)
		if (c->maps[i].shared && !c->maps[i].zapped &&
		    (c->maps[i].prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE) &&
		    c->maps[i].len == c->ring_size)
			return &c->maps[i];
	return NULL;
}

/* Random entries (slots, offsets, flags), then a random tail (and head). */
static void ring_entries(struct chan *c)
{
	struct map *m = ring_map(c);
	struct svmig_dirty_gfn *e;
	uint32_t *tail, *head, n, i, t;

	if (!m)
		return;
	op_begin(OP_RING);
	head = (uint32_t *)(m->addr + c->off.head);
	tail = (uint32_t *)(m->addr + c->off.tail);
	t = __atomic_load_n(tail, __ATOMIC_RELAXED);
	n = (uint32_t)below(c->ring_entries + 1);
	for (i = 0; i < n; i++) {
		e = (struct svmig_dirty_gfn *)(m->addr + c->off.entries) +
		    ((t + i) & (c->ring_entries - 1));
		e->slot = chance(70) ? (uint32_t)below(4) : pick32();
		e->offset = chance(70) ? below(8) : pick64();
		e->flags = chance(70) ? (chance(50) ? 0 : SVMIG_GFN_F_DIRTY) : pick32();
	}
	switch (below(6)) {
	case 0:
		t = pick32();
		break;
	case 1:
		t += c->ring_entries + 1;
		break;
	case 2:
		t -= 1;
		break;
	default:
		t += n;
		break;
	}
	if (chance(10))
		*head = pick32();
	__atomic_store_n(tail, t, __ATOMIC_RELEASE);
	op_end(OP_RING, 0);
}

/* -------------------------------------------------------------- one op */

static void peer_op(struct chan *c)
{
	ssize_t n;

	if (c->peer < 0)
		return;
	op_begin(OP_PEER);
	switch (below(6)) {
	case 0:
		n = send(c->peer, bigbuf, below(9000), MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 1:
		shutdown(c->peer, (int)below(3));
		n = 0;
		break;
	case 2:
		close(c->peer);
		c->peer = -1;
		n = 0;
		break;
	default:	/* drain what a sender sent */
		do
			n = recv(c->peer, bigbuf + BIGBUF / 2, BIGBUF / 2, MSG_DONTWAIT);
		while (n > 0);
		break;
	}
	op_end(OP_PEER, 0);
	(void)n;
}

static void child_ops(struct chan *c);

static void do_fork(struct chan *c)
{
	uint64_t t0;
	pid_t pid;
	int st = 0;

	op_begin(OP_FORK);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		op_end(OP_FORK, -errno);
		return;
	}
	if (!pid) {
		/*
		 * One thread: what the child opens is its own, and its model
		 * of it exact (a race's channel stays c->shared).
		 */
		in_child = true;
		racing = false;
		rng ^= 0x5bd1e995;
		child_ops(c);
		_exit(child_violations ? 3 : 0);
	}
	c->unsure = true;
	t0 = now_ns();
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_ns() - t0 > HANG_FAIL_S * 1000000000ULL) {
			report(&n_child, "forked child %d hung", pid);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(1000);
	}
	op_end(OP_FORK, 0);
	if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
		report(&n_child, "forked child killed by %s", strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		report(&n_contract, "forked child saw a uapi contract violation");
	else if (WIFEXITED(st) && WEXITSTATUS(st))
		report(&n_child, "forked child exited %d", WEXITSTATUS(st));
}

/* One random operation on channel @c (fd may be its dup). */
static void chan_op_(struct chan *c, bool allow_fork);

static void chan_op(struct chan *c, bool allow_fork)
{
	cur_failed = c->failed_seen && !c->unsure;
	chan_op_(c, allow_fork);
	cur_failed = false;
}

static void chan_op_(struct chan *c, bool allow_fork)
{
	int fd = chan_fd(c);

	/* Channels with ring mappings get their mappings worked on more often. */
	if (c->nmaps && chance(15)) {
		if (chance(50))
			map_op(c);
		else
			probe_map(c, &c->maps[below(c->nmaps)]);
		return;
	}

	switch (below(allow_fork ? 30 : 29)) {
	case 0:
		get_info(fd);
		break;
	case 1:
	case 2:
		set_key(c, fd);
		break;
	case 3:
	case 4:
		add_region(c, fd);
		break;
	case 5:
		setup_ring(c, fd);
		break;
	case 6:
		attach(c, fd);
		break;
	case 7:
	case 8:
		submit(fd);
		break;
	case 9:
		finish(fd);
		break;
	case 10:
		recv_ioctl(fd);
		break;
	case 11:
		verify(c, fd);
		break;
	case 12:
	case 13:
		get_stats(c, fd);
		break;
	case 14:
		bad_ioctl(fd);
		break;
	case 15:
	case 16:
		do_read(fd);
		break;
	case 17:
	case 18:
		do_write(fd);
		break;
	case 19:
		do_poll(fd);
		break;
	case 20:
	case 21:
		do_mmap(c);
		break;
	case 22:
		map_op(c);
		break;
	case 23:
	case 24:
		ring_entries(c);
		break;
	case 25:
		peer_op(c);
		break;
	case 26:
		if (c->dupfd >= 0) {
			close(c->dupfd);
			c->dupfd = -1;
		} else {
			op_begin(OP_DUP);
			c->dupfd = chance(50) ? dup(c->fd) : fcntl(c->fd, F_DUPFD_CLOEXEC, 100);
			op_end(OP_DUP, c->dupfd < 0 ? -errno : 0);
		}
		break;
	case 27:
		set_nonblock(fd);
		break;
	case 28:
		if (chance(20) && c->nmaps) {
			probe_map(c, &c->maps[below(c->nmaps)]);
		} else if (chance(25)) {
			op_begin(OP_CLOSE);
			chan_close(c);
			c->fd = dev_open();
			op_end(OP_CLOSE, 0);
		}
		break;
	default:
		do_fork(c);
		break;
	}
}

static void child_ops(struct chan *c)
{
	int i, n = 3 + (int)below(15);

	for (i = 0; i < n; i++)
		chan_op(c, false);
	if (chance(50))
		chan_close(c);
}

/* Key a channel (mostly validly) and maybe give it regions, ring and socket. */
static void chan_setup(struct chan *c)
{
	struct svmig_key_setup ks;
	bool valid, close_after;
	int role = chance(50) ? SVMIG_ROLE_SENDER : SVMIG_ROLE_RECEIVER;
	bool stream = chance(35);

	c->fd = dev_open();
	if (chance(10))
		return;
	memset(&ks, 0, sizeof(ks));
	ks.flags = role | (stream ? SVMIG_KEY_STREAM : 0) | (have_tpm ? 0 : SVMIG_KEY_NO_TPM);
	/* Sometimes a member of the one session: numbers collide on purpose. */
	if (chance(25)) {
		ks.flags |= SVMIG_KEY_SESSION;
		ks.channel = (uint32_t)below(4);
	}
	memcpy(ks.session_id, fz_session, sizeof(ks.session_id));
	memcpy(ks.secret, fz_secret, sizeof(ks.secret));
	if (!xioctl(OP_SET_KEY, c->fd, SVMIG_IOC_SET_KEY, &ks)) {
		c->role = role;
		c->stream = stream;
		c->session = ks.flags & SVMIG_KEY_SESSION;
	}
	if (!stream && chance(70))
		add_region(c, c->fd);
	if (role == SVMIG_ROLE_SENDER && !stream && chance(70)) {
		struct svmig_ring_setup rs = { .entries = 1U << below(7) };

		if (!xioctl(OP_SETUP_RING, c->fd, SVMIG_IOC_SETUP_RING, &rs)) {
			c->ring_entries = rs.entries;
			c->ring_size = rs.mmap_size;
			c->off = rs.off;
			c->maps[0].addr = mmap(NULL, rs.mmap_size, PROT_READ | PROT_WRITE,
					       MAP_SHARED, c->fd, 0);
			if (c->maps[0].addr != MAP_FAILED) {
				c->maps[0].len = rs.mmap_size;
				c->maps[0].prot = PROT_READ | PROT_WRITE;
				c->maps[0].shared = true;
				c->nmaps = 1;
			}
		}
	}
	if (chance(60)) {
		struct svmig_attach a = { 0 };

		a.fd = pick_sock(c, &valid, &close_after);
		xioctl(OP_ATTACH, c->fd, SVMIG_IOC_ATTACH_SOCK, &a);
		if (close_after)
			close(a.fd);
	}
}

static void episode_storm(void)
{
	struct chan ch[MAX_CHANS];
	int i, n = 1 + (int)below(MAX_CHANS), ops = 20 + (int)below(200);

	for (i = 0; i < n; i++) {
		chan_init(&ch[i]);
		chan_setup(&ch[i]);
	}
	for (i = 0; i < ops && time_left(); i++)
		chan_op(&ch[below(n)], true);
	for (i = 0; i < n; i++) {
		if (chance(50))
			get_stats(&ch[i], ch[i].fd);
		chan_close(&ch[i]);
	}
}

/* ----------------------------------------------------- records and streams */

#define MAX_RECS	24
#define REC_PAGES	6
#define RX_SLOT		3
#define FILL		0xee

struct stream {
	uint8_t *buf;
	size_t len, cap;
	size_t rec_off[MAX_RECS + 1];
	int nrecs;
};

static void st_add(struct stream *s, const void *p, size_t len)
{
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2 + 4096;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			tap_bail("out of memory");
	}
	memcpy(s->buf + s->len, p, len);
	s->len += len;
}

static void st_rec(struct stream *s, const void *p, int len)
{
	if (len <= 0)
		tap_bail("oracle failed to seal (%d)", len);
	if (s->nrecs < MAX_RECS)
		s->rec_off[s->nrecs++] = s->len;
	st_add(s, p, len);
	s->rec_off[s->nrecs] = s->len;
}

/* Page plaintexts of the valid stream: page i, generations 1 and 2. */
static uint8_t plain[REC_PAGES][2][SVMIG_PAGE_SIZE];

/* A valid page-mode stream: HELLO, every page, some resent, MANIFEST. */
static void page_stream(struct stream *s, const uint8_t *sess, uint32_t channel)
{
	static uint8_t rec[SVMIG_PAGE_REC_LEN];
	uint8_t salt[SVMIG_SALT_LEN];
	struct svmig_wire w;
	int i;

	rnd_bytes(salt, sizeof(salt));
	if (svmig_wire_init(&w, SVMIG_ROLE_SENDER, sess, channel, fz_secret) ||
	    svmig_wire_add_region(&w, RX_SLOT, REC_PAGES) || svmig_wire_set_salt(&w, salt))
		tap_bail("oracle page sender");
	st_rec(s, rec, svmig_wire_seal_hello(&w, rec));
	for (i = 0; i < REC_PAGES; i++)
		st_rec(s, rec, svmig_wire_seal_page(&w, RX_SLOT, i, plain[i][0], rec));
	for (i = 0; i < REC_PAGES; i += 2)
		st_rec(s, rec, svmig_wire_seal_page(&w, RX_SLOT, i, plain[i][1], rec));
	if (chance(25)) {	/* authentic, malformed: reaches code after the tag check */
		static uint8_t pt[sizeof(struct svmig_wire_page) + SVMIG_PAGE_SIZE];
		struct svmig_wire_hdr h;

		/* The PAGE's identity, encrypted with the page: random, or our slot. */
		rnd_bytes(pt, sizeof(struct svmig_wire_page));
		if (chance(50))
			memcpy(pt, "\0\0\0\3", 4);	/* our slot, random page/gen */
		memcpy(pt + sizeof(struct svmig_wire_page), plain[0][0], SVMIG_PAGE_SIZE);
		svmig_wire_hdr_fill(&h, (uint8_t)(chance(70) ? SVMIG_REC_PAGE : below(8)),
				    SVMIG_PAGE_REC_LEN - SVMIG_HDR_LEN, w.next_seq);
		st_rec(s, rec, svmig_wire_seal_raw(&w, &h, NULL, 0, pt, sizeof(pt), rec));
	} else {
		st_rec(s, rec, svmig_wire_seal_manifest(&w, rec));
	}
	svmig_wire_free(&w);
}

/* A valid stream-mode stream: HELLO, DATA of random sizes, END. */
static void data_stream(struct stream *s, const uint8_t *sess, uint8_t *pt, size_t *pt_len,
			size_t *starts)
{
	static uint8_t rec[SVMIG_DATA_REC_MAX + 64];
	static const size_t sizes[] = { 1, 2, 100, 4096, 16383, 16384 };
	uint8_t salt[SVMIG_SALT_LEN];
	struct svmig_wire w;
	size_t n;
	int i, recs = 1 + (int)below(8);

	rnd_bytes(salt, sizeof(salt));
	if (svmig_wire_init(&w, SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM, sess, 0, fz_secret) ||
	    svmig_wire_set_salt(&w, salt))
		tap_bail("oracle stream sender");
	st_rec(s, rec, svmig_wire_seal_hello(&w, rec));
	*pt_len = 0;
	if (starts)
		memset(starts, 0xff, 9 * sizeof(*starts));
	for (i = 0; i < recs; i++) {
		n = chance(50) ? sizes[below(6)] : 1 + below(SVMIG_STREAM_RECORD_MAX);
		rnd_bytes(pt + *pt_len, n);
		if (starts)
			starts[i] = *pt_len;
		st_rec(s, rec, svmig_wire_seal_data(&w, pt + *pt_len, n, rec));
		*pt_len += n;
	}
	if (chance(20)) {	/* authentic oversize, empty or mistyped records */
		struct svmig_wire_hdr h;
		size_t len = chance(50) ? 0 : SVMIG_STREAM_RECORD_MAX + 1 + below(3);
		uint8_t type = (uint8_t)(chance(60) ? SVMIG_REC_DATA : below(8));

		svmig_wire_hdr_fill(&h, type, (uint32_t)(len + SVMIG_TAG_LEN), w.next_seq);
		st_rec(s, rec, svmig_wire_seal_raw(&w, &h, NULL, 0, pt, len, rec));
	} else {
		st_rec(s, rec, svmig_wire_seal_end(&w, rec));
	}
	svmig_wire_free(&w);
}

/*
 * Mutates @s into @out.  Returns false when @out is, byte for byte, @s.
 * @other is a valid stream of another session, for splices.
 */
static bool mutate(const struct stream *s, const struct stream *other, struct stream *out)
{
	int muts = chance(20) ? 0 : 1 + (int)below(3), i, r, r2;
	size_t pos, len;

	out->len = 0;
	out->nrecs = 0;
	st_add(out, s->buf, s->len);
	for (i = 0; i < muts; i++) {
		r = (int)below(s->nrecs);
		pos = s->rec_off[r];
		if (pos >= out->len)
			pos = out->len ? out->len - 1 : 0;
		switch (below(12)) {
		case 0:	/* bit flips anywhere */
		case 1:
			if (out->len)
				out->buf[below(out->len)] ^= (uint8_t)(1 << below(8));
			break;
		case 2:	/* a header byte to a boundary value */
			if (pos + 16 <= out->len)
				out->buf[pos + below(16)] = (uint8_t)(chance(50) ? 0 : pick64());
			break;
		case 3:	/* length field */
			if (pos + 8 <= out->len) {
				uint32_t v = htonl((uint32_t)(chance(50) ? pick32() :
					     ntohl(*(uint32_t *)(out->buf + pos + 4)) + below(5) - 2));

				memcpy(out->buf + pos + 4, &v, 4);
			}
			break;
		case 4:	/* type, version, reserved, seq */
			if (pos + 16 <= out->len) {
				size_t f = (size_t[]){ 0, 1, 2, 3, 15 }[below(5)];

				out->buf[pos + f] = (uint8_t)(f == 1 ? below(8) : pick64());
			}
			break;
		case 5:	/* truncate */
			out->len = below(out->len + 1);
			break;
		case 6:	/* drop a record */
			r2 = (int)below(s->nrecs);
			len = s->rec_off[r2 + 1] - s->rec_off[r2];
			if (s->rec_off[r2 + 1] <= out->len) {
				memmove(out->buf + s->rec_off[r2], out->buf + s->rec_off[r2 + 1],
					out->len - s->rec_off[r2 + 1]);
				out->len -= len;
			}
			break;
		case 7:	/* replay a record at the end, or in place of another */
		case 8:
			r2 = (int)below(s->nrecs);
			len = s->rec_off[r2 + 1] - s->rec_off[r2];
			if (chance(50) || pos + len > out->len)
				st_add(out, s->buf + s->rec_off[r2], len);
			else
				memcpy(out->buf + pos, s->buf + s->rec_off[r2], len);
			break;
		case 9:	/* splice a record of another session */
			r2 = (int)below(other->nrecs);
			len = other->rec_off[r2 + 1] - other->rec_off[r2];
			if (pos + len <= out->len && chance(50))
				memcpy(out->buf + pos, other->buf + other->rec_off[r2], len);
			else
				st_add(out, other->buf + other->rec_off[r2], len);
			break;
		case 10: /* random bytes inserted */
			len = 1 + below(64);
			if (pos <= out->len) {
				uint8_t junk[64];

				rnd_bytes(junk, len);
				st_add(out, junk, len);
				memmove(out->buf + pos + len, out->buf + pos, out->len - len - pos);
				memcpy(out->buf + pos, junk, len);
			}
			break;
		default: /* all random */
			out->len = below(20000);
			st_add(out, "", 0);
			if (out->len > out->cap)
				out->len = 0;
			rnd_bytes(out->buf, out->len);
			break;
		}
	}
	return out->len != s->len || memcmp(out->buf, s->buf, s->len);
}

/* How many leading bytes of @a and @b agree. */
static size_t common_prefix(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return i;
}

/* Sends @len bytes into the peer socket (nonblocking): how many went. */
static size_t feed_sock(int s, const uint8_t *p, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = send(s, p + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			break;
		done += n;
	}
	return done;
}

static int open_keyed(uint32_t flags, uint32_t channel)
{
	struct svmig_key_setup ks;
	int fd = dev_open_flags(O_RDWR);

	memset(&ks, 0, sizeof(ks));
	ks.flags = flags | (have_tpm ? 0 : SVMIG_KEY_NO_TPM);
	ks.channel = channel;
	memcpy(ks.session_id, fz_session, sizeof(ks.session_id));
	memcpy(ks.secret, fz_secret, sizeof(ks.secret));
	if (xioctl(OP_SET_KEY, fd, SVMIG_IOC_SET_KEY, &ks))
		tap_bail("SET_KEY 0x%x: %s", flags, strerror(errno));
	return fd;
}

/*
 * Mutated page-mode streams into a receiver, by write() in random chunks or
 * through a socket and RECV.  Guest memory (and the pages around the
 * region) may only ever hold plaintext the sender sealed for that page;
 * VERIFY succeeds only if the valid stream arrived whole.
 */
static void episode_page_rx(void)
{
	struct stream s = { 0 }, other = { 0 }, m = { 0 };
	size_t fed = 0, chunk, i, j;
	uint8_t *dst = arena + 8 * PG;
	int fd, sv[2] = { -1, -1 }, ret = 0;
	bool via_sock = chance(40), mutated;
	uint32_t channel = chance(90) ? 7 : 8;

	for (i = 0; i < REC_PAGES; i++)
		for (j = 0; j < 2; j++)
			rnd_bytes(plain[i][j], SVMIG_PAGE_SIZE);
	page_stream(&s, fz_session, 7);
	page_stream(&other, chance(50) ? fz_session2 : fz_session, 7);
	mutated = mutate(&s, &other, &m);
	memset(arena, FILL, ARENA_PAGES * PG);

	fd = open_keyed(SVMIG_ROLE_RECEIVER, channel);
	if (chance(90) && svmig_add_region(fd, RX_SLOT, 0x100000, dst,
					   (chance(90) ? REC_PAGES : 1 + below(REC_PAGES)) * PG))
		tap_bail("receiver region");
	if (chance(20))
		svmig_add_region(fd, RX_SLOT + 1, 0x900000, dst + 16 * PG, 2 * PG);
	op_begin(OP_PAGE_REC);
	if (via_sock) {
		if (stream_pair(sv, chance(30)) || svmig_attach_socket(fd, sv[1]))
			tap_bail("receiver socket");
		fed = feed_sock(sv[0], m.buf, m.len);
		if (chance(70))
			shutdown(sv[0], SHUT_WR);
		for (i = 0; i < 3; i++)
			recv_ioctl(fd);
	} else {
		while (fed < m.len && !ret) {
			chunk = chance(50) ? m.len - fed : 1 + below(m.len - fed);
			ret = write(fd, m.buf + fed, chunk) < 0 ? -errno : 0;
			op_begin(OP_WRITE);
			op_end(OP_WRITE, ret);
			if (!ret)
				fed += chunk;
		}
	}
	op_end(OP_PAGE_REC, 0);

	/* Only sealed plaintext, only inside the region. */
	for (i = 0; i < ARENA_PAGES; i++) {
		uint8_t *p = arena + i * PG;
		bool ok = true;

		if (i >= 8 && i < 8 + REC_PAGES &&
		    (!memcmp(p, plain[i - 8][0], PG) || !memcmp(p, plain[i - 8][1], PG)))
			continue;
		/* The authentic malformed record carries page 0's first plaintext. */
		if (((i >= 8 && i < 8 + REC_PAGES) || i == 16 || i == 17) &&
		    !memcmp(p, plain[0][0], PG))
			continue;
		for (j = 0; j < PG && ok; j++)
			ok = p[j] == FILL;
		if (!ok)
			report(&n_forgery, "page-mode receiver: arena page %zu holds bytes the sender never sealed there (%s, mutated %d)",
			       i, via_sock ? "socket" : "write", mutated);
	}
	if (!svmig_verify(fd)) {
		size_t prefix = common_prefix(m.buf, fed, s.buf, s.len);

		atomic_fetch_add(&page_rx_verified, 1);
		if (prefix < s.len || channel != 7)
			report(&n_forgery, "page-mode receiver verified a stream that differs from the sender's at byte %zu of %zu",
			       prefix, s.len);
	}
	get_stats(NULL, fd);
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	close(fd);
	free(s.buf);
	free(other.buf);
	free(m.buf);
}

/*
 * What a stream receiver's read() returned, @n bytes at @chunk, must be the
 * sealed plaintext @pt at @pos, its position in it so far; or, once RECV
 * dropped what was unread, at the start of a later DATA record.
 */
static size_t check_chunk(const uint8_t *pt, size_t pt_len, const size_t *starts, size_t pos,
			  const uint8_t *chunk, size_t n, bool dropped)
{
	int i;

	if (pos + n <= pt_len && !memcmp(pt + pos, chunk, n))
		return pos + n;
	for (i = 0; dropped && i < 9 && starts[i] <= pt_len; i++)
		if (starts[i] >= pos && starts[i] + n <= pt_len && !memcmp(pt + starts[i], chunk, n))
			return starts[i] + n;
	report(&n_forgery, "stream receiver handed out %zu bytes that are not the plaintext sealed at %zu of %zu%s",
	       n, pos, pt_len, dropped ? " (nor at a later record after RECV)" : "");
	return pos + n;
}

/*
 * Mutated stream-mode streams into a receiver over a socket.  read() may
 * only return a prefix of the plaintext sealed; end of file and VERIFY only
 * after the whole valid stream arrived.
 */
static void episode_stream_rx(void)
{
	static uint8_t pt[9 * SVMIG_STREAM_RECORD_MAX], got[9 * SVMIG_STREAM_RECORD_MAX];
	struct stream s = { 0 }, other = { 0 }, m = { 0 };
	size_t pt_len, other_len, fed, got_len = 0, pos = 0, starts[9];
	int fd, sv[2], tries = 0, idle = 0;
	bool eof = false, used_recv = false;
	ssize_t n;

	data_stream(&s, fz_session, pt, &pt_len, starts);
	data_stream(&other, chance(50) ? fz_session2 : fz_session, got, &other_len, NULL);
	mutate(&s, &other, &m);

	fd = open_keyed(SVMIG_ROLE_RECEIVER | SVMIG_KEY_STREAM, 0);
	if (stream_pair(sv, chance(30)) || svmig_attach_socket(fd, sv[1]))
		tap_bail("stream receiver socket");
	if (chance(30))
		set_nonblock(fd);
	op_begin(OP_STREAM_REC);
	fed = feed_sock(sv[0], m.buf, m.len);
	if (chance(70))
		shutdown(sv[0], SHUT_WR);
	while (tries++ < 200 && !eof) {
		size_t want = chance(50) ? sizeof(got) - got_len : 1 + below(20000);

		if (want > sizeof(got) - got_len)
			want = sizeof(got) - got_len;
		if (chance(10)) {	/* drops what was not read yet */
			recv_ioctl(fd);
			used_recv = true;
			continue;
		}
		op_begin(OP_READ);
		n = read(fd, got + got_len, want);
		op_end(OP_READ, n < 0 ? -errno : 0);
		if (n == 0 && want)
			eof = true;
		else if (n > 0)
			pos = check_chunk(pt, pt_len, starts, pos, got + got_len, n, used_recv);
		if (n > 0)
			got_len += n;
		else if (n < 0 && ((errno != EAGAIN && errno != EINTR) || ++idle > 3))
			break;
	}
	op_end(OP_STREAM_REC, 0);
	if (eof || !svmig_verify(fd)) {
		size_t prefix = common_prefix(m.buf, fed, s.buf, s.len);

		atomic_fetch_add(&stream_rx_eof, 1);
		if (prefix < s.len)
			report(&n_forgery, "stream receiver %s a stream that differs from the sender's at byte %zu of %zu",
			       eof ? "reached EOF on" : "verified", prefix, s.len);
		if (eof && got_len != pt_len && !used_recv)
			report(&n_forgery, "stream receiver: EOF after %zu of %zu bytes", got_len, pt_len);
	}
	get_stats(NULL, fd);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(s.buf);
	free(other.buf);
	free(m.buf);
}

/*
 * A sender fed random ring entries (valid, invalid, indices out of range),
 * its records read out and opened by the oracle: every record opens, each
 * page's plaintext is the sender's page, the manifest verifies.
 */
static void episode_page_tx(void)
{
	static uint8_t out[1 << 20];
	struct svmig_ring ring;
	struct svmig_wire w;
	struct svmig_wire_rec info;
	struct svmig_submit sub;
	static uint8_t page[SVMIG_PAGE_SIZE];
	static uint8_t orig[16 * PG];
	size_t len = 0, off = 0, npages = 1 + below(16), in_file = 16;
	uint8_t *src = arena + 4 * PG;
	uint64_t sealed = 0;
	int fd, i, rounds = 1 + (int)below(6), ret, mfd = -1;
	bool finished = false, failed;
	struct svmig_stats st;
	ssize_t n;

	/*
	 * Sometimes the guest memory is a shared memfd, cut short while the
	 * sender has it: pages past the file's end must be refused (EFAULT),
	 * never sealed, and must not raise SIGBUS in the caller.
	 */
	if (chance(20)) {
		mfd = memfd_create("svmig-fuzz", MFD_CLOEXEC);
		if (mfd >= 0 && !ftruncate(mfd, npages * PG)) {
			void *p = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);

			if (p != MAP_FAILED)
				src = p;
		}
	}
	rnd_bytes(src, npages * PG);
	memcpy(orig, src, npages * PG);
	if (src != arena + 4 * PG && chance(70)) {
		in_file = below(npages + 1);
		if (ftruncate(mfd, in_file * PG))
			in_file = 16;
	} else if (src == arena + 4 * PG && chance(20) && npages > 2) {
		mprotect(src + PG, PG, PROT_READ);
	}
	fd = open_keyed(SVMIG_ROLE_SENDER, 9);
	ret = svmig_add_region(fd, 11, 0, src, npages * PG);
	if (!ret)
		ret = svmig_ring_init(fd, 1U << below(6), &ring);
	if (ret)
		tap_bail("sender setup: %s", strerror(-ret));
	op_begin(OP_TX_CHECK);
	for (i = 0; i < rounds; i++) {
		uint32_t k, cnt = (uint32_t)below(ring.entries + 1);

		for (k = 0; k < cnt; k++) {
			struct svmig_dirty_gfn *e = &ring.gfns[(ring.tail + k) & ring.mask];

			e->flags = chance(90) ? SVMIG_GFN_F_DIRTY * (uint32_t)below(2) : pick32();
			e->slot = chance(90) ? 11 : pick32();
			e->offset = chance(90) ? below(npages) : pick64();
		}
		ring.tail += cnt;
		svmig_ring_publish(&ring);
		memset(&sub, 0, sizeof(sub));
		sub.max_entries = chance(70) ? 0 : (uint32_t)below(8);
		ret = xioctl(OP_SUBMIT, fd, SVMIG_IOC_SUBMIT, &sub);
		sealed += sub.completed;
		if (ret == -EAGAIN || chance(50)) {
			while ((n = read(fd, out + len, sizeof(out) - len)) > 0)
				len += n;
		}
		/* Whatever was not consumed is dropped: move tail back to head. */
		ring.tail = __atomic_load_n(ring.khead, __ATOMIC_ACQUIRE);
		svmig_ring_publish(&ring);
	}
	if (chance(80))
		finished = !svmig_finish(fd);
	while ((n = read(fd, out + len, sizeof(out) - len)) > 0)
		len += n;
	/*
	 * A page that could not be read (past the memfd's end) failed the
	 * channel (EFAULT): what it had queued is dropped, read() is EPIPE.
	 */
	failed = !svmig_get_stats(fd, &st) && st.error;
	if (failed && st.error != EFAULT)
		report(&n_contract, "sender failed with %s", strerror(st.error));
	if (n < 0 && errno != EAGAIN && !(failed && errno == EPIPE))
		report(&n_contract, "sender read(): %s", strerror(errno));
	if (n == 0 && !finished)
		report(&n_contract, "sender read() returned EOF before FINISH");
	if (failed && finished)
		report(&n_contract, "FINISH succeeded on a sender that failed");

	if (svmig_wire_init(&w, SVMIG_ROLE_RECEIVER, fz_session, 9, fz_secret) ||
	    svmig_wire_add_region(&w, 11, npages))
		tap_bail("oracle receiver");
	ret = 0;
	i = 0;
	while (off < len && !ret) {
		int rl = svmig_wire_record_len(out + off, len - off);

		if (rl <= 0 || (size_t)rl > len - off) {
			ret = -EPROTO;
			break;
		}
		ret = svmig_wire_open_record(&w, out + off, rl, page, &info);
		if (!ret && info.type == SVMIG_REC_PAGE && info.page >= in_file)
			report(&n_forgery, "sender sealed page %" PRIu64 ", past the end of its file (%zu pages)",
			       info.page, in_file);
		else if (!ret && info.type == SVMIG_REC_PAGE &&
			 memcmp(page, orig + info.page * PG, PG) && !info.stale)
			report(&n_forgery, "sender sealed page %" PRIu64 " with other bytes than the page",
			       info.page);
		if (!ret && info.type == SVMIG_REC_PAGE)
			i++;
		off += rl;
	}
	if (ret)
		report(&n_forgery, "oracle refused the sender's record at byte %zu: %s", off,
		       strerror(-ret));
	else if ((uint64_t)i != sealed && !failed)
		report(&n_contract, "SUBMIT reported %" PRIu64 " sealed, %d page records came out",
		       sealed, i);
	else if (finished && w.verdict != SVMIG_VERDICT_VERIFIED)
		report(&n_forgery, "oracle: the sender's manifest does not verify");
	op_end(OP_TX_CHECK, ret);
	svmig_wire_free(&w);
	get_stats(NULL, fd);
	svmig_ring_exit(&ring);
	close(fd);
	if (src != arena + 4 * PG) {
		munmap(src, npages * PG);
		close(mfd);
	} else {
		mprotect(src, npages * PG, PROT_READ | PROT_WRITE);
	}
	if (mfd >= 0 && src == arena + 4 * PG)
		close(mfd);
}

/* -------------------------------------------------------------------- races */

struct race {
	_Atomic int fd;
	int peer;		/* the channel's socket's other end, or -1 */
	bool receiver, stream;
	struct map ring;	/* one shared mapping, never unmapped during the race */
	uint32_t ring_entries;
	struct svmig_ring_offsets off;
	_Atomic bool stop;
	uint64_t seed;
	struct stream valid;	/* records for the feeder */
};

/*
 * Under a racing SUBMIT (the page pinned for its seal) or RECV (the page
 * written with copy_to_user): replace the page, zap it, or take it away a
 * moment.  The fuzzer never touches these pages itself during a race.
 */
static void region_page_op(uint8_t *p)
{
	op_begin(OP_MAPOP);
	switch (below(3)) {
	case 0:
		if (mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0) == MAP_FAILED)
			report(&n_contract, "race: MAP_FIXED over a region page: %s", strerror(errno));
		break;
	case 1:
		madvise(p, PG, MADV_DONTNEED);
		break;
	default:
		mprotect(p, PG, chance(50) ? PROT_NONE : PROT_READ);
		usleep(below(2000));
		mprotect(p, PG, PROT_READ | PROT_WRITE);
		break;
	}
	op_end(OP_MAPOP, 0);
}

static void race_op(struct race *r)
{
	struct chan c;
	int fd = atomic_load(&r->fd), nfd;

	chan_init(&c);
	c.fd = fd;
	c.unsure = true;
	c.shared = true;
	switch (below(25)) {
	case 0:
		get_info(fd);
		break;
	case 1:
		set_key(NULL, fd);
		break;
	case 2:
		add_region(NULL, fd);
		break;
	case 3:
		setup_ring(NULL, fd);
		break;
	case 4:
		attach(NULL, fd);
		break;
	case 5:
	case 6:
		submit(fd);
		break;
	case 7:
		finish(fd);
		break;
	case 8:
	case 9:
		recv_ioctl(fd);
		break;
	case 10:
		verify(NULL, fd);
		break;
	case 11:
		get_stats(NULL, fd);
		break;
	case 12:
	case 13:
		do_read(fd);
		break;
	case 14:
	case 15:
		do_write(fd);
		break;
	case 16:
	case 17:
		do_poll(fd);
		break;
	case 18:	/* mmap, touch, unmap: this thread's own mapping */
		op_begin(OP_MMAP);
		{
			void *p = mmap(NULL, PG, chance(80) ? PROT_READ | PROT_WRITE : PROT_READ,
				       chance(70) ? MAP_SHARED : MAP_PRIVATE, fd, 0);

			op_end(OP_MMAP, p == MAP_FAILED ? -errno : 0);
			if (p != MAP_FAILED) {
				if (probe(p, false))
					report(&n_fault_expect, "race: fresh ring mapping faulted");
				munmap(p, PG);
			}
		}
		break;
	case 19:
		if (r->ring.addr) {
			struct chan rc;

			chan_init(&rc);
			rc.ring_entries = r->ring_entries;
			rc.ring_size = r->ring.len;
			rc.off = r->off;
			rc.maps[0] = r->ring;
			rc.nmaps = 1;
			ring_entries(&rc);
		}
		break;
	case 20:	/* another channel in its place: the old one's last close */
		if (chance(30)) {
			op_begin(OP_CLOSE);
			nfd = open(SVMIG_DEVICE, O_RDWR | O_CLOEXEC);
			if (nfd >= 0) {
				dup2(nfd, fd);	/* atomic: the number is never free */
				close(nfd);
			}
			op_end(OP_CLOSE, 0);
		}
		break;
	case 21:	/* dup2 something over the number */
		op_begin(OP_DUP);
		nfd = dup(fd);
		if (nfd >= 0) {
			dup2(nfd, fd);
			close(nfd);
		}
		op_end(OP_DUP, 0);
		break;
	case 22:
		if (chance(20))
			do_fork(&c);
		break;
	case 23:	/* the region's memory changing under a seal or a copy-out */
		region_page_op(arena + (8 + below(REC_PAGES)) * PG);
		break;
	default:
		set_nonblock(fd);
		break;
	}
}

static void *race_thread(void *arg)
{
	struct race *r = arg;
	static _Atomic int idx = 1;
	int me = atomic_fetch_add(&idx, 1);

	if (me >= MAX_WORKERS)
		me = MAX_WORKERS - 1;
	worker_register(me);
	racing = true;
	rng = r->seed + (uint64_t)me * 0x632be59bd9b4e019ULL;
	while (!atomic_load(&r->stop))
		race_op(r);
	self = NULL;
	atomic_store(&idx, 1);
	return NULL;
}

/* The third party: feeds the receiver's socket records, or drains the sender's. */
static void *feeder_thread(void *arg)
{
	struct race *r = arg;
	static uint8_t sink[65536];
	size_t off = 0;
	ssize_t n;

	while (!atomic_load(&r->stop) && r->peer >= 0) {
		if (r->receiver && off < r->valid.len) {
			n = send(r->peer, r->valid.buf + off, 1 + (r->valid.len - off) / 3,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				off += n;
		}
		while (recv(r->peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		usleep(500);
	}
	return NULL;
}

static void episode_race(void)
{
	static uint8_t pt[9 * SVMIG_STREAM_RECORD_MAX];
	struct svmig_ring_setup rs = { .entries = 16 };
	struct race r;
	pthread_t t[3];
	size_t pt_len;
	int sv[2] = { -1, -1 }, fd, i;
	uint32_t flags;

	memset(&r, 0, sizeof(r));
	r.peer = -1;
	r.seed = rnd();
	r.receiver = chance(50);
	r.stream = chance(40);
	flags = (r.receiver ? SVMIG_ROLE_RECEIVER : SVMIG_ROLE_SENDER) |
		(r.stream ? SVMIG_KEY_STREAM : 0);
	fd = chance(10) ? dev_open() : open_keyed(flags, r.stream ? 0 : 7);
	if (!r.stream)
		svmig_add_region(fd, RX_SLOT, 0x100000, arena + 8 * PG, REC_PAGES * PG);
	if (!r.receiver && !r.stream && !ioctl(fd, SVMIG_IOC_SETUP_RING, &rs)) {
		r.ring.addr = mmap(NULL, rs.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (r.ring.addr == MAP_FAILED) {
			r.ring.addr = NULL;
		} else {
			r.ring.len = rs.mmap_size;
			r.ring.prot = PROT_READ | PROT_WRITE;
			r.ring.shared = true;
			r.ring_entries = rs.entries;
			r.off = rs.off;
		}
	}
	if (chance(85) && !stream_pair(sv, chance(30))) {
		svmig_attach_socket(fd, sv[1]);
		r.peer = sv[0];
	}
	if (r.receiver) {
		if (r.stream)
			data_stream(&r.valid, fz_session, pt, &pt_len, NULL);
		else
			page_stream(&r.valid, fz_session, 7);
	}
	atomic_store(&r.fd, fd);
	atomic_store(&r.stop, false);
	for (i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, race_thread, &r))
			tap_bail("pthread_create");
	if (pthread_create(&t[2], NULL, feeder_thread, &r))
		tap_bail("pthread_create");
	usleep(200000 + below(600000));
	atomic_store(&r.stop, true);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	worker_register(0);
	mprotect(arena, ARENA_PAGES * PG, PROT_READ | PROT_WRITE);
	if (r.ring.addr)
		munmap(r.ring.addr, r.ring.len);
	close(atomic_load(&r.fd));
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	free(r.valid.buf);
}

/* ----------------------------------------------------------------- watchdog */

static _Atomic bool watchdog_stop;

static void dump_stack(pid_t tid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		printf("# kernel stack of the hung thread:\n%s", buf);
	}
}

static void *watchdog(void *arg)
{
	int i;

	(void)arg;
	while (!atomic_load(&watchdog_stop)) {
		uint64_t now = now_ns();

		for (i = 0; i < MAX_WORKERS; i++) {
			struct worker *w = &workers[i];
			uint64_t since = atomic_load(&w->since);

			if (!since || now < since)
				continue;
			if (now - since > HANG_KICK_S * 1000000000ULL && !w->kicked) {
				w->kicked = true;
				syscall(SYS_tgkill, getpid(), atomic_load(&w->tid), SIGUSR1);
			}
			if (now - since > HANG_FAIL_S * 1000000000ULL && !atomic_load(&hung)) {
				atomic_store(&hung, true);
				pthread_mutex_lock(&out_lock);
				printf("# HANG (seed %" PRIu64 ", episode %lu): %s blocked for %d s\n",
				       seed, atomic_load(&episode_no), op_names[atomic_load(&w->op)],
				       HANG_FAIL_S);
				dump_stack(atomic_load(&w->tid));
				printf("Bail out! a call on /dev/svmig hung (replay: --seed %" PRIu64 ")\n",
				       seed);
				fflush(stdout);
				_exit(1);
			}
		}
		usleep(200000);
	}
	return NULL;
}

/* ------------------------------------------------------- final checks */

static unsigned long read_ulong(const char *path)
{
	char buf[64] = "";
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return ~0UL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtoul(buf, NULL, 10) : ~0UL;
}

/* Kernel taint bits the fuzzer must not add: B, D, W, L. */
#define TAINT_BAD ((1UL << 5) | (1UL << 7) | (1UL << 9) | (1UL << 14))

/* A clean page-mode migration over a socket pair: it must verify. */
static bool clean_page_migration(void)
{
	uint8_t *src = arena, *dst = arena + 16 * PG;
	struct svmig_ring ring;
	uint32_t done = 0, recs = 0;
	int tx, rx, sv[2], i;
	bool ok;

	rnd_bytes(src, 8 * PG);
	memset(dst, 0, 8 * PG);
	tx = open_keyed(SVMIG_ROLE_SENDER, 1);
	rx = open_keyed(SVMIG_ROLE_RECEIVER, 1);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return false;
	ok = !svmig_add_region(tx, 2, 0, src, 8 * PG) && !svmig_add_region(rx, 2, 0, dst, 8 * PG) &&
	     !svmig_ring_init(tx, 16, &ring) && !svmig_attach_socket(tx, sv[0]) &&
	     !svmig_attach_socket(rx, sv[1]);
	for (i = 0; ok && i < 8; i++)
		svmig_ring_push(&ring, 2, i);
	if (ok) {
		svmig_ring_publish(&ring);
		ok = !svmig_submit(tx, 0, &done) && done == 8 && !svmig_finish(tx) &&
		     !svmig_recv(rx, 0, &recs) && !svmig_verify(rx) && !memcmp(src, dst, 8 * PG);
		svmig_ring_exit(&ring);
	}
	if (!ok)
		tap_diag("clean page migration: %u submitted, %u received", done, recs);
	close(tx);
	close(rx);
	close(sv[0]);
	close(sv[1]);
	return ok;
}

static bool clean_stream_migration(void)
{
	static uint8_t data[60000], got[60000];
	size_t n = 0;
	ssize_t r;
	int tx, rx, sv[2];
	bool ok;

	rnd_bytes(data, sizeof(data));
	tx = open_keyed(SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM, 0);
	rx = open_keyed(SVMIG_ROLE_RECEIVER | SVMIG_KEY_STREAM, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return false;
	ok = !svmig_attach_socket(tx, sv[0]) && !svmig_attach_socket(rx, sv[1]) &&
	     write(tx, data, sizeof(data)) == (ssize_t)sizeof(data) && !svmig_finish(tx);
	while (ok && (r = read(rx, got + n, sizeof(got) - n)) > 0)
		n += r;
	ok = ok && n == sizeof(data) && !memcmp(got, data, n) && read(rx, got, 1) == 0 &&
	     !svmig_verify(rx);
	if (!ok)
		tap_diag("clean stream migration: %zu of %zu bytes read", n, sizeof(data));
	close(tx);
	close(rx);
	close(sv[0]);
	close(sv[1]);
	return ok;
}

/* -------------------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr, "usage: t_fuzz [--seed N] [--seconds S] [--verbose]\n");
	exit(2);
}

static void setup_memory(void)
{
	void *probe_va = (void *)(uintptr_t)(1ULL << 50);
	int i;

	/* Only a kernel running 5-level page tables can map above 2^47. */
	if (mmap(probe_va, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		 -1, 0) == probe_va) {
		user_top = (1ULL << 56) - PG;
		munmap(probe_va, PG);
	}
	for (i = 0; i < MAX_WORKERS; i++) {
		scratch = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (scratch == MAP_FAILED || mprotect(scratch + 2 * PG, PG, PROT_NONE) ||
		    mprotect(scratch + 3 * PG, PG, PROT_READ))
			tap_bail("mmap: %s", strerror(errno));
		scratch_pool[i] = scratch;
	}
	bigbuf = mmap(NULL, BIGBUF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	arena = mmap(NULL, ARENA_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	if (bigbuf == MAP_FAILED || arena == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	memset(arena, FILL, ARENA_PAGES * PG);
}

static void setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;	/* no SA_RESTART: a kicked call returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	unsigned long taint0, taint1, ref0, ref1 = 0;
	unsigned long episodes[5] = { 0 };
	static const char *const kinds[5] = { "storm", "page-rx", "stream-rx", "page-tx", "race" };
	struct svmig_info info;
	pthread_t wd;
	uint64_t t0;
	int i, fd;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL);
	/* run-vm.sh passes SVMIG_* variables into the guest: replays need no edit. */
	if (getenv("SVMIG_FUZZ_SEED") && *getenv("SVMIG_FUZZ_SEED"))
		seed = strtoull(getenv("SVMIG_FUZZ_SEED"), NULL, 0);
	if (getenv("SVMIG_FUZZ_SECONDS") && *getenv("SVMIG_FUZZ_SECONDS"))
		seconds = (unsigned int)strtoul(getenv("SVMIG_FUZZ_SECONDS"), NULL, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--verbose"))
			verbose = true;
		else
			usage();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", PLAN);
	printf("# seed %" PRIu64 "\n", seed);
	printf("# replay: %s --seed %" PRIu64 " --seconds %u\n", argv[0], seed, seconds);

	setup_memory();
	setup_signals();
	worker_register(0);
	rng = seed;
	taint0 = read_ulong("/proc/sys/kernel/tainted");
	ref0 = read_ulong("/sys/module/svmig/refcnt");
	fd = svmig_open();
	if (fd < 0)
		tap_bail("open %s: %s", SVMIG_DEVICE, strerror(-fd));
	if (svmig_get_info(fd, &info))
		tap_bail("GET_INFO");
	have_tpm = info.features & SVMIG_FEAT_TPM;
	close(fd);
	tap_diag("TPM %s; user addresses below 0x%" PRIx64 "; taint 0x%lx, svmig refcnt %ld at start",
		 have_tpm ? "present" : "absent", user_top, taint0, (long)ref0);
	if (pthread_create(&wd, NULL, watchdog, NULL))
		tap_bail("pthread_create");

	t0 = now_ns();
	deadline_ns = t0 + (uint64_t)seconds * 1000000000ULL;
	while (time_left()) {
		unsigned long e = atomic_fetch_add(&episode_no, 1) + 1;
		int kind;

		rng = seed ^ (e * 0xd6e8feb86659fd93ULL);
		kind = (int)below(100);
		kind = kind < 35 ? 0 : kind < 55 ? 1 : kind < 70 ? 2 : kind < 80 ? 3 : 4;
		episode_kind = kinds[kind];
		note("episode %lu: %s", e, kinds[kind]);
		episodes[kind]++;
		switch (kind) {
		case 0:
			episode_storm();
			break;
		case 1:
			episode_page_rx();
			break;
		case 2:
			episode_stream_rx();
			break;
		case 3:
			episode_page_tx();
			break;
		default:
			episode_race();
			break;
		}
	}

	tap_diag("%lu episodes in %.1f s: %lu storm, %lu page-rx, %lu stream-rx, %lu page-tx, %lu race",
		 atomic_load(&episode_no), (now_ns() - t0) / 1e9, episodes[0], episodes[1],
		 episodes[2], episodes[3], episodes[4]);
	for (i = 0; i < OP_NR; i++)
		tap_diag("%-31s %8lu calls %8lu succeeded", op_names[i], atomic_load(&op_calls[i]),
			 atomic_load(&op_ok[i]));
	tap_diag("%lu deliberate accesses, %lu of them faulted as expected",
		 atomic_load(&n_probes), atomic_load(&n_deliberate_faults));
	tap_diag("%lu page-mode and %lu stream-mode receivers verified what they were fed",
		 atomic_load(&page_rx_verified), atomic_load(&stream_rx_eof));

	{
		bool page_ok = clean_page_migration(), stream_ok = clean_stream_migration();
		uint64_t total = 0;

		atomic_store(&watchdog_stop, true);
		pthread_join(wd, NULL);
		for (i = 0; i < OP_NR; i++)
			total += atomic_load(&op_calls[i]);
		/* Closed files are released at once; give stragglers a moment. */
		for (i = 0; i < 100; i++) {
			ref1 = read_ulong("/sys/module/svmig/refcnt");
			if (ref1 == ref0)
				break;
			usleep(100000);
		}
		taint1 = read_ulong("/proc/sys/kernel/tainted");

		tap_ok(total > 1000, "fuzzed for %u s with seed %" PRIu64 ": %" PRIu64 " operations",
		       seconds, seed, total);
		tap_ok(!n_contract, "every call kept the uapi contract (%lu violations)",
		       atomic_load(&n_contract));
		tap_ok(!n_forgery, "no forged or mutated record was accepted (%lu violations)",
		       atomic_load(&n_forgery));
		tap_ok(!n_fault_expect, "no SIGSEGV/SIGBUS besides the deliberate accesses (%lu)",
		       atomic_load(&n_fault_expect));
		tap_ok(!n_child, "every forked child exited cleanly (%lu failures)",
		       atomic_load(&n_child));
		tap_ok(!atomic_load(&hung), "no call hung (longest %.2f s)",
		       atomic_load(&longest_op_ns) / 1e9);
		tap_ok(taint0 != ~0UL && !((taint1 & ~taint0) & TAINT_BAD),
		       "kernel taint gained no W, D, B or L (0x%lx -> 0x%lx)", taint0, taint1);
		tap_ok(ref0 != ~0UL && ref1 == ref0,
		       "svmig's module refcount back to %ld with every fd closed (%ld)", (long)ref0,
		       (long)ref1);
		tap_ok(page_ok, "a clean page-mode migration still verifies");
		tap_ok(stream_ok, "a clean stream-mode migration still verifies");
	}
	if (tap_failed)
		printf("# replay: %s --seed %" PRIu64 " --seconds %u\n", argv[0], seed, seconds);
	return tap_failed ? 1 : 0;
}
