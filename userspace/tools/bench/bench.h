/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmig-bench: what its files share: the sizes of a run, the options and
 * state of one invocation, one run of one case (struct job), the case
 * table's entries, a channel's prepared data, and each file's functions.
 * bench-main.c tells what the benchmark measures and how.
 */
#ifndef SVMIG_BENCH_H
#define SVMIG_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/evp.h>

#include "libsvmig.h"
#include "wire.h"

struct json_object;

#define PROG		"svmig-bench"
#define PAGE		((size_t)SVMIG_PAGE_SIZE)
#define REC		((size_t)SVMIG_PAGE_REC_LEN)
#define MIB		(1024.0 * 1024.0)
#define GIB		(1024.0 * MIB)
#define SLOT		1
#define BIG_BATCH	512U		/* pages: 2 MiB */
/*
 * Userspace senders write() every TX_RECORDS records, as the kernel's page
 * transmit buffer flushes (SVMIG_PAGE_TXBUF_SIZE in kmod/svmig.h), so all
 * three senders hand the socket the same amounts.
 */
#define TX_RECORDS	15
#define CHUNK		((TX_RECORDS + 1) * REC)
#define NBATCHES	2

extern const unsigned int batches[NBATCHES];			/* cases.c */
extern const uint8_t bench_session_id[SVMIG_SESSION_ID_LEN];	/* records.c */

/* ---- options and shared state ---------------------------------------- */

struct opts {
	const char *out;		/* results directory */
	const char *only;		/* run only cases whose id contains this */
	const char *script;		/* the stream benchmark */
	unsigned int mib;		/* payload per run (per channel) */
	unsigned int reps;
	unsigned int stream_reps;	/* 0: the script's default */
	unsigned int channels;		/* the most channels, 0: online CPUs */
	int family;			/* AF_UNIX or AF_INET (loopback TCP) */
	bool no_tpm;
	bool quick;
};

struct bench {
	struct opts o;
	bool have_kernel;		/* /dev/svmig opens */
	char kernel_note[128];		/* why not */
	char aead_driver[64];
	uint8_t secret[SVMIG_SECRET_LEN];
	size_t npages;			/* per run (per channel) */
};

/*
 * One run's cost: wall time and the measuring thread's CPU time; for the
 * kernel's socket cases also what its counters say of the copies (NAN
 * elsewhere): the share of wire bytes the sender copied after sealing
 * instead of lending them to the socket, and the receiver's socket
 * receives per record.
 */
struct sample {
	double wall, cpu, user, sys, proc;
	double tx_copied, rx_reads;
};

struct mark {
	struct timespec wall, cpu, proc;
	struct rusage ru;
};

/*
 * One run of one case on one channel.  Cases set up (untimed), call
 * job_go() (the barrier of a multi-channel run, then t0), work, call
 * job_done() (t1), and clean up; every path out calls job_release().
 */
struct job {
	struct bench *b;
	unsigned int batch;
	uint32_t channel;
	size_t npages;
	uint8_t *src;			/* seal: the pages; open: expected */
	uint8_t *dst;			/* open: where pages land */
	const uint8_t *stream;		/* open: records to feed */
	size_t stream_len;
	const uint8_t *evp_ct;		/* open/evp: ciphertext and tags */
	const uint8_t *evp_tags;
	uint8_t *buf;			/* CHUNK bytes, or a receive buffer */
	size_t buf_len;
	pthread_barrier_t *barrier;
	bool went;
	struct mark t0, t1;
	struct sample s;
	char err[160];
};

/* The far end of a socket: drains it (seal) or feeds it (open). */
struct helper {
	pthread_t thr;
	bool running;
	int fd;
	bool trunc;			/* TCP: MSG_TRUNC drops data uncopied */
	const uint8_t *data;		/* feed */
	size_t len;
	uint64_t bytes;			/* drained */
	int err;
};

/* One entry of the case table (cases.c). */
enum input { IN_NONE, IN_SEALED, IN_PLAIN, IN_EVP };

struct ccase {
	const char *id;			/* path/impl/via */
	const char *what;
	bool kernel;
	enum input input;		/* open: what the job reads */
	int (*run)(struct job *j);
	unsigned int only_batch;	/* 0: every batch size */
};

/* What one channel's runs read and write. */
struct data {
	size_t npages;
	uint8_t *src, *dst;
	uint8_t *sealed, *plain, *evp_ct, *evp_tags;
	size_t sealed_len, plain_len;
	uint8_t *buf;			/* CHUNK, or the read buffer */
	size_t buf_len;
};

/* util.c */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double median_of(const struct sample *s, size_t n, size_t off);
void *map(size_t len);
void unmap(void *p, size_t len);
int fill_random(uint8_t *p, size_t len);

/* job.c */
int job_fail(struct job *j, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
double ts(const struct timespec *t);
void perf_open(void);
void job_go(struct job *j);
void job_done(struct job *j);
void job_release(struct job *j);

/* sock.c */
int write_all(int fd, const uint8_t *p, size_t len);
void close_pair(int sv[2]);
int sock_pair(int family, int sv[2]);
int helper_start(struct helper *h, int fd, bool feed, const uint8_t *data,
		 size_t len, int family);
int helper_join(struct helper *h);

/* records.c */
size_t page_stream_len(size_t npages);
void store_be64(uint8_t *p, uint64_t v);
uint64_t rec_page(const uint8_t *rec);
void plain_record(uint8_t *rec, uint64_t seq, uint64_t page, const uint8_t *data);

/* cases-kernel.c */
int seal_kernel_sock(struct job *j);
int seal_kernel_fd(struct job *j);
int open_kernel_sock(struct job *j);
int open_kernel_fd(struct job *j);

/* cases-user.c */
int seal_openssl_sock(struct job *j);
int seal_openssl_mem(struct job *j);
int seal_plain_sock(struct job *j);
int seal_plain_mem(struct job *j);
int open_openssl_sock(struct job *j);
int open_openssl_mem(struct job *j);
int open_plain_sock(struct job *j);
int open_plain_mem(struct job *j);

/* cases-evp.c */
int evp_crypt(EVP_CIPHER_CTX *ctx, bool enc, uint64_t seq, const uint8_t *in,
	      size_t len, uint8_t *out, uint8_t *tag, bool probe);
EVP_CIPHER_CTX *evp_ctx(bool enc, const uint8_t *key);
int seal_evp(struct job *j);
int seal_evp_probe(struct job *j);
int open_evp(struct job *j);
int open_decrypt_copy(struct job *j);
int open_verify_first(struct job *j);

/* cases.c */
extern const struct ccase cases[];
extern const size_t ncases;
const struct ccase *find_case(const char *id);
int check_open(struct job *j, const struct ccase *c);

/* data.c */
int data_init(const struct bench *b, uint32_t channel, bool evp, struct data *d);
void data_free(struct data *d);
int evp_prepare(const struct bench *b, struct data *d, unsigned int batch);
void job_init(struct job *j, struct bench *b, struct data *d, const struct ccase *c,
	      unsigned int batch, uint32_t channel);

/* json.c */
struct json_object *jnum(double v);
struct json_object *jget(struct json_object *o, const char *key);
double jdbl(struct json_object *o, const char *key);
const char *jstr(struct json_object *o, const char *key);
const char *dflt(const char *s, const char *d);
char *out_path(const struct bench *b, const char *name);
int save_json(const struct bench *b, const char *name, struct json_object *o);
struct json_object *load_json(const struct bench *b, const char *name);

/* machine.c */
struct json_object *machine_json(const struct bench *b);
const char *under(struct json_object *machine);

/* report.c */
void print_crypto(FILE *f, struct json_object *crypto);
void print_channels(FILE *f, struct json_object *ch);
void print_stream(FILE *f, struct json_object *st);
int cmd_report(struct bench *b);

/* run.c */
int cmd_crypto(struct bench *b);
int cmd_channels(struct bench *b);
int cmd_stream(struct bench *b);

#endif /* SVMIG_BENCH_H */
