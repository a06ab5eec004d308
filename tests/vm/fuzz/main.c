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
 *
 * Its source is tests/vm/fuzz/, a file per concern (fuzz.h lists them);
 * this one holds the options, the set-up, the loop of episodes and the
 * TAP results.
 */
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "tap.h"

#define PLAN		10

/* Kernel taint bits the fuzzer must not add: B, D, W, L. */
#define TAINT_BAD ((1UL << 5) | (1UL << 7) | (1UL << 9) | (1UL << 14))

static unsigned int seconds = 120;

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
