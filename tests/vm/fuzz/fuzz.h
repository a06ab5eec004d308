/* SPDX-License-Identifier: GPL-2.0 */
/*
 * t_fuzz (tests/vm/fuzz/main.c says what it fuzzes and checks): what its
 * files share.  One file per concern:
 *
 *   main.c      options, set-up, the episode loop, the TAP results
 *   rand.c      randomness: the per-thread generator, random and boundary values
 *   results.c   the seed, the deadline, violation counters, report() and note()
 *   ops.c       each call counted, timed and its errno checked against the uapi
 *   fault.c     deliberate bad accesses (probe) and the SIGSEGV/SIGBUS handler
 *   scratch.c   homes for ioctl arguments, good and bad; buffers, guest memory
 *   chan.c      channels: open, model, and the setup ioctls
 *   sock.c      sockets and the data-path calls
 *   ring.c      the ring: mappings, deliberate accesses, entries
 *   storm.c     the storm episode: one random op at a time
 *   records.c   oracle-sealed records, mutated: page-rx, stream-rx, page-tx
 *   race.c      the race episode
 *   watchdog.c  the watchdog thread
 *   final.c     the clean migrations at the end; /proc and /sys counters
 */
#ifndef SVMIG_FUZZ_H
#define SVMIG_FUZZ_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libsvmig.h"

/* The constants more than one file uses (the others are in their file). */
#define PG		4096UL
#define ARENA_PAGES	64
#define MAX_MAPS	8
#define BIGBUF		(1UL << 20)
#define USER_TOP	((1ULL << 47) - PG)	/* x86-64 TASK_SIZE_MAX, 4-level paging */
#define MAX_WORKERS	4
#define HANG_FAIL_S	60

/* rand.c */
extern __thread uint64_t rng;
uint64_t rnd(void);
uint64_t below(uint64_t n);
bool chance(unsigned int pct);
void rnd_bytes(void *p, size_t n);
uint64_t pick64(void);
uint32_t pick32(void);

/* results.c */
extern uint64_t seed;
extern bool verbose;
extern uint64_t deadline_ns;
extern pthread_mutex_t out_lock;
extern _Atomic unsigned long n_contract, n_forgery, n_child, n_fault_expect;
extern _Atomic unsigned long n_deliberate_faults, n_probes;
extern _Atomic uint64_t longest_op_ns;
extern _Atomic unsigned long episode_no;
extern const char *episode_kind;
extern _Atomic unsigned long page_rx_verified, stream_rx_eof;
extern bool in_child;
extern __thread bool racing;
extern unsigned long child_violations;
uint64_t now_ns(void);
bool time_left(void);
__attribute__((format(printf, 2, 3)))
void report(_Atomic unsigned long *counter, const char *fmt, ...);
__attribute__((format(printf, 1, 2)))
void note(const char *fmt, ...);

/* ops.c */
enum op {
	OP_GET_INFO, OP_SET_KEY, OP_ADD_REGION, OP_SETUP_RING, OP_ATTACH, OP_SUBMIT,
	OP_FINISH, OP_RECV, OP_VERIFY, OP_GET_STATS, OP_BAD_IOCTL, OP_READ, OP_WRITE,
	OP_POLL, OP_MMAP, OP_MAPOP, OP_PROBE, OP_RING, OP_CLOSE, OP_DUP, OP_FORK,
	OP_PEER, OP_PAGE_REC, OP_STREAM_REC, OP_TX_CHECK, OP_NR
};

/* The watchdog's view of each worker thread: what it runs since when. */
struct worker {
	_Atomic uint64_t since;		/* 0: not in a call */
	int depth;			/* calls nest: an episode step, then its calls */
	_Atomic int op;
	_Atomic pid_t tid;
	bool kicked;
};

extern const char *const op_names[OP_NR];
extern _Atomic unsigned long op_calls[OP_NR], op_ok[OP_NR];
extern struct worker workers[MAX_WORKERS];
extern __thread struct worker *self;
extern _Atomic bool hung;
void worker_register(int i);
void op_begin(enum op op);
extern __thread bool cur_failed;
int op_end(enum op op, int ret);
int xioctl(enum op op, int fd, unsigned long cmd, void *arg);

/* fault.c */
void on_fault(int sig, siginfo_t *si, void *uc);
void on_kick(int sig);
int probe(volatile uint8_t *p, bool wr);

/* scratch.c */
enum ptr_kind { P_GOOD, P_ODD, P_NULL, P_KERNEL, P_GUARD, P_STRADDLE, P_RO, P_HIGH, P_NR };

extern uint8_t *scratch_pool[MAX_WORKERS];
extern __thread uint8_t *scratch;
extern uint8_t *bigbuf;
extern uint8_t *arena;
extern const uint8_t fz_session[SVMIG_SESSION_ID_LEN];
extern const uint8_t fz_session2[SVMIG_SESSION_ID_LEN];
extern const uint8_t fz_secret[SVMIG_SECRET_LEN];
extern bool have_tpm;
extern uint64_t user_top;
void *arg_ptr(size_t size, enum ptr_kind k);
void put_arg(enum ptr_kind k, const void *src, size_t n);
enum ptr_kind pick_ptr(void);
bool ptr_readable(enum ptr_kind k);
bool ptr_writable(enum ptr_kind k);

/* chan.c */
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

void chan_init(struct chan *c);
int dev_open_flags(int flags);
int dev_open(void);
void chan_close(struct chan *c);
int chan_fd(struct chan *c);
void get_stats(struct chan *c, int fd);
void get_info(int fd);
void set_key(struct chan *c, int fd);
void add_region(struct chan *c, int fd);
void setup_ring(struct chan *c, int fd);

/* sock.c */
int stream_pair(int sv[2], bool tcp);
int pick_sock(struct chan *c, bool *valid, bool *close_after);
void attach(struct chan *c, int fd);
void submit(int fd);
void recv_ioctl(int fd);
void verify(struct chan *c, int fd);
void finish(int fd);
void bad_ioctl(int fd);
size_t pick_len(void);
void do_read(int fd);
void do_write(int fd);
void do_poll(int fd);
void set_nonblock(int fd);

/* ring.c */
void probe_map(struct chan *c, struct map *m);
void do_mmap(struct chan *c);
void map_op(struct chan *c);
void ring_entries(struct chan *c);

/* storm.c */
void do_fork(struct chan *c);
void episode_storm(void);

/* records.c */
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

void page_stream(struct stream *s, const uint8_t *sess, uint32_t channel);
void data_stream(struct stream *s, const uint8_t *sess, uint8_t *pt, size_t *pt_len,
		 size_t *starts);
int open_keyed(uint32_t flags, uint32_t channel);
void episode_page_rx(void);
void episode_stream_rx(void);
void episode_page_tx(void);

/* race.c */
void episode_race(void);

/* watchdog.c */
extern _Atomic bool watchdog_stop;
void *watchdog(void *arg);

/* final.c */
unsigned long read_ulong(const char *path);
bool clean_page_migration(void);
bool clean_stream_migration(void);

#endif /* SVMIG_FUZZ_H */
