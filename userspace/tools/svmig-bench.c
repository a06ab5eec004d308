// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: how fast svmig.ko seals and opens migration data, measured
 * through the module's real API only, against OpenSSL and plain copies of
 * the same pages in the same run (Documentation/performance.rst).
 *
 *   svmig-bench crypto    one channel, 4 KiB page records, batches of one
 *                         page (4 KiB) and of 512 pages (2 MiB):
 *       seal  kernel  SUBMIT of ring entries over an ADD_REGION'd buffer,
 *                     records pushed by the kernel into an attached socket
 *                     (or, "devfd", read() from /dev/svmig: no socket)
 *             openssl the same records sealed by libsvmig's wire.c (OpenSSL
 *                     EVP AES-256-GCM) and write()n to an identical socket
 *             plain   the same pages memcpy'd into records of the same size
 *                     and write()n to an identical socket
 *             and, without any socket: openssl and memcpy into a buffer,
 *             and bare EVP AES-256-GCM over 4 KiB or 2 MiB messages
 *       open  kernel  RECV from an attached socket (or write() into
 *                     /dev/svmig) of records the oracle (wire.c) sealed
 *             openssl wire.c opens them and copies the page into place
 *             plain   plain records read and memcpy'd into place
 *             and the same in memory, no socket
 *     The other end of every socket is a second thread that drains it
 *     (seal) or feeds it (open).  Each measurement takes CLOCK_MONOTONIC
 *     and the measuring thread's own CPU time (CLOCK_THREAD_CPUTIME_ID,
 *     getrusage(RUSAGE_THREAD) for user/system), so "per core" is payload
 *     bytes per CPU-second of the one thread doing the work; runs are
 *     interleaved, repeated, and medians reported.
 *   svmig-bench channels  page mode with 1..N independent channels (one
 *                         open file, socket, region and thread each, one
 *                         session), seal and open; aggregate throughput
 *                         against one channel
 *   svmig-bench stream    tests/bench/stream-bench.sh (QEMU plain tcp: vs
 *                         svmig stream mode vs QEMU TLS), then its results
 *   svmig-bench report    the table of everything measured, with ratios
 *                         against the targets of issue 6, and bench.json
 *   svmig-bench all       crypto, channels, stream, report
 *
 * There is no benchmark hook in the kernel: every figure comes from the
 * ioctls, read() and write() a VMM uses.  Results go to DIR (--out,
 * default build/bench): crypto.json, channels.json, stream.json (the
 * script's), bench.json and bench.txt.  Exit status: 0, 1 if a
 * measurement failed, 2 on a usage error.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "libsvmig.h"
#include "wire.h"

#define PROG		"svmig-bench"
#define PAGE		((size_t)SVMIG_PAGE_SIZE)
#define REC		((size_t)SVMIG_PAGE_REC_LEN)
#define MIB		(1024.0 * 1024.0)
#define GIB		(1024.0 * MIB)
#define SLOT		1
#define GPA		0x100000000ULL
#define RING_ENTRIES	4096U
#define BIG_BATCH	512U		/* pages: 2 MiB */
/*
 * Userspace senders write() every TX_RECORDS records, as the kernel's page
 * transmit buffer flushes (SVMIG_PAGE_TXBUF_SIZE in kmod/svmig.h), so all
 * three senders hand the socket the same amounts.
 */
#define TX_RECORDS	15
#define CHUNK		((TX_RECORDS + 1) * REC)
#define DRAIN_BUF	(256U << 10)
/*
 * The drain thread wakes once this much is queued (SO_RCVLOWAT), as a NIC
 * coalesces: with a wake-up per record, the two vCPUs of the TCG test VM
 * spend most of their time spinning on the socket's lock
 * (unix_stream_sendmsg against the reader), whoever the sender is.
 */
#define DRAIN_LOWAT	(64U << 10)
#define NBATCHES	2

static const unsigned int batches[NBATCHES] = { 1, BIG_BATCH };
static const uint8_t session_id[SVMIG_SESSION_ID_LEN] = "svmig-bench-0001";

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

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int job_fail(struct job *j, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int job_fail(struct job *j, int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (j->err[0])
		return err ? err : -EIO;
	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
	n = strlen(j->err);
	if (err && n < sizeof(j->err))
		snprintf(j->err + n, sizeof(j->err) - n, ": %s", strerror(-err));
	return err ? err : -EIO;
}

/* ---- time -------------------------------------------------------------- */

static double ts(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static double tv(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec / 1e6;
}

static void mark_now(struct mark *m)
{
	clock_gettime(CLOCK_MONOTONIC, &m->wall);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &m->cpu);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &m->proc);
	getrusage(RUSAGE_THREAD, &m->ru);
}

/*
 * perf record --control fifo:CTL,ACK -D -1: with SVMIG_BENCH_PERF_CTL and
 * SVMIG_BENCH_PERF_ACK naming those FIFOs, perf samples only the measured
 * part of each run, not the setup (which seals with OpenSSL too).
 */
static int perf_ctl = -1, perf_ack = -1;

static void perf_open(void)
{
	const char *ctl = getenv("SVMIG_BENCH_PERF_CTL"), *ack = getenv("SVMIG_BENCH_PERF_ACK");

	if (!ctl || !ack)
		return;
	perf_ctl = open(ctl, O_WRONLY | O_CLOEXEC);
	perf_ack = open(ack, O_RDONLY | O_CLOEXEC);
	if (perf_ctl < 0 || perf_ack < 0)
		msg("cannot open the perf control FIFOs: %s", strerror(errno));
}

static void perf_switch(const char *cmd)
{
	char ack[16];

	if (perf_ctl < 0 || perf_ack < 0)
		return;
	if (write(perf_ctl, cmd, strlen(cmd)) < 0 || read(perf_ack, ack, sizeof(ack)) < 0)
		msg("perf control: %s", strerror(errno));
}

static void job_go(struct job *j)
{
	if (j->barrier && !j->went)
		pthread_barrier_wait(j->barrier);
	j->went = true;
	if (!j->barrier)
		perf_switch("enable\n");
	mark_now(&j->t0);
}

static void job_done(struct job *j)
{
	mark_now(&j->t1);
	if (!j->barrier)
		perf_switch("disable\n");
	j->s.wall = ts(&j->t1.wall) - ts(&j->t0.wall);
	j->s.cpu = ts(&j->t1.cpu) - ts(&j->t0.cpu);
	j->s.proc = ts(&j->t1.proc) - ts(&j->t0.proc);
	j->s.user = tv(&j->t1.ru.ru_utime) - tv(&j->t0.ru.ru_utime);
	j->s.sys = tv(&j->t1.ru.ru_stime) - tv(&j->t0.ru.ru_stime);
}

/* A failed setup must still meet the others at the barrier. */
static void job_release(struct job *j)
{
	if (j->barrier && !j->went)
		pthread_barrier_wait(j->barrier);
	j->went = true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, size_t n)
{
	double *c;
	double m;

	if (!n)
		return NAN;
	c = malloc(n * sizeof(*c));
	if (!c)
		return NAN;
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

/* The median of one field of @n samples. */
static double median_of(const struct sample *s, size_t n, size_t off)
{
	double *v = malloc((n ? n : 1) * sizeof(*v)), m;
	size_t i;

	if (!v)
		return NAN;
	for (i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&s[i] + off, sizeof(v[i]));
	m = median(v, n);
	free(v);
	return m;
}

/* ---- memory, sockets, helper threads ------------------------------------ */

static void *map(size_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void unmap(void *p, size_t len)
{
	if (p)
		munmap(p, len ? len : 1);
}

static int fill_random(uint8_t *p, size_t len)
{
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < (1U << 20) ? len - off : (1U << 20);
		if (RAND_bytes(p + off, (int)n) != 1)
			return -EIO;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void close_pair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

/* A connected SOCK_STREAM pair: AF_UNIX, or TCP over 127.0.0.1. */
static int sock_pair(int family, int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, one = 1, ret = 0;

	sv[0] = sv[1] = -1;
	if (family == AF_UNIX)
		return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ? -errno : 0;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		ret = -errno;
	if (!ret) {
		sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, alen))
			ret = -errno;
	}
	if (!ret) {
		sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (sv[1] < 0)
			ret = -errno;
	}
	close(l);
	/* No Nagle wait for the small last record (the manifest). */
	if (!ret && (setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
		     setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))))
		ret = -errno;
	if (ret)
		close_pair(sv);
	return ret;
}

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

static void *drain_main(void *arg)
{
	struct helper *h = arg;
	uint8_t *buf = malloc(DRAIN_BUF);
	ssize_t n;

	if (!buf) {
		h->err = -ENOMEM;
		return NULL;
	}
	for (;;) {
		n = recv(h->fd, buf, DRAIN_BUF, h->trunc ? MSG_TRUNC : 0);
		if (n > 0) {
			h->bytes += (uint64_t)n;
		} else if (n == 0) {
			break;
		} else if (errno != EINTR) {
			h->err = -errno;
			break;
		}
	}
	free(buf);
	return NULL;
}

static void *feed_main(void *arg)
{
	struct helper *h = arg;

	h->err = write_all(h->fd, h->data, h->len);
	shutdown(h->fd, SHUT_WR);
	return NULL;
}

static int helper_start(struct helper *h, int fd, bool feed, const uint8_t *data,
			size_t len, int family)
{
	int ret;

	memset(h, 0, sizeof(*h));
	h->fd = fd;
	h->data = data;
	h->len = len;
	h->trunc = family == AF_INET;
	if (!feed) {
		int lowat = DRAIN_LOWAT;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat)))
			return -errno;
	}
	ret = pthread_create(&h->thr, NULL, feed ? feed_main : drain_main, h);
	h->running = !ret;
	return -ret;
}

static int helper_join(struct helper *h)
{
	if (!h->running)
		return 0;
	h->running = false;
	pthread_join(h->thr, NULL);
	return h->err;
}

/* ---- the kernel's channels ---------------------------------------------- */

static int kernel_channel(struct job *j, uint32_t role, uint8_t *mem)
{
	const struct bench *b = j->b;
	uint32_t flags = role | (b->o.no_tpm ? SVMIG_KEY_NO_TPM : 0);
	int fd, ret;

	fd = svmig_open();
	if (fd < 0)
		return job_fail(j, fd, "open " SVMIG_DEVICE);
	ret = svmig_set_key(fd, flags, j->channel, session_id, b->secret);
	if (!ret)
		ret = svmig_add_region(fd, SLOT, GPA, mem, j->npages * PAGE);
	if (ret) {
		close(fd);
		return job_fail(j, ret, "channel %u: SET_KEY/ADD_REGION", j->channel);
	}
	return fd;
}

static size_t page_stream_len(size_t npages)
{
	return SVMIG_HELLO_REC_LEN + npages * REC + SVMIG_MANIFEST_REC_LEN;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * The page index of a plain record (below): where a PAGE record's
 * encrypted identity sits, in the clear.
 */
static uint64_t rec_page(const uint8_t *rec)
{
	return get_be64(rec + SVMIG_HDR_LEN + 8);
}

/* ---- seal --------------------------------------------------------------- */

/* Read what the kernel sealed out of /dev/svmig (no socket); 0 at EOF. */
static int drain_fd(int fd, uint8_t *buf, size_t cap, uint64_t *bytes)
{
	ssize_t n;

	for (;;) {
		n = read(fd, buf, cap);
		if (n > 0) {
			*bytes += (uint64_t)n;
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 1 : -errno;
	}
}

static int seal_kernel(struct job *j, bool sock)
{
	struct svmig_ring ring = { 0 };
	struct helper h = { 0 };
	struct svmig_stats st;
	uint64_t bytes = 0;
	uint32_t done, n, i, c;
	int fd, sv[2] = { -1, -1 }, ret;
	size_t p;

	fd = kernel_channel(j, SVMIG_ROLE_SENDER, j->src);
	if (fd < 0) {
		job_release(j);
		return fd;
	}
	ret = svmig_ring_init(fd, RING_ENTRIES, &ring);
	if (ret) {
		job_fail(j, ret, "SETUP_RING");
		goto out;
	}
	if (sock) {
		ret = sock_pair(j->b->o.family, sv);
		if (!ret)
			ret = svmig_attach_socket(fd, sv[0]);
		if (!ret)
			ret = helper_start(&h, sv[1], false, NULL, 0, j->b->o.family);
		if (ret) {
			job_fail(j, ret, "socket");
			goto out;
		}
	}

	job_go(j);
	for (p = 0; p < j->npages && !ret; p += n) {
		n = j->npages - p < j->batch ? (uint32_t)(j->npages - p) : j->batch;
		for (i = 0; i < n; i++)
			svmig_ring_push(&ring, SLOT, p + i);
		svmig_ring_publish(&ring);
		for (done = 0; done < n && !ret; done += c) {
			c = 0;
			ret = svmig_submit(fd, 0, &c);
			if (!sock && (ret == 0 || ret == -EAGAIN)) {
				ret = drain_fd(fd, j->buf, j->buf_len, &bytes);
				ret = ret > 0 ? 0 : ret ? ret : -EPIPE;
			}
		}
	}
	if (ret) {
		job_fail(j, ret, "SUBMIT");
		goto out;
	}
	ret = svmig_finish(fd);
	if (ret) {
		job_fail(j, ret, "FINISH");
		goto out;
	}
	if (sock) {
		shutdown(sv[0], SHUT_WR);
		ret = helper_join(&h);
		bytes = h.bytes;
	} else {
		ret = drain_fd(fd, j->buf, j->buf_len, &bytes);
	}
	job_done(j);
	if (ret)
		job_fail(j, ret < 0 ? ret : -EIO, "draining the records");
	else if (bytes != page_stream_len(j->npages))
		ret = job_fail(j, -EIO, "%llu bytes of records, not %zu",
			       (unsigned long long)bytes, page_stream_len(j->npages));
	else if (!svmig_get_stats(fd, &st) && st.pages != j->npages)
		ret = job_fail(j, -EIO, "the kernel sealed %llu pages",
			       (unsigned long long)st.pages);
	if (!ret && sock && !svmig_get_stats(fd, &st) && st.bytes)
		j->s.tx_copied = 1.0 - (double)st.zerocopy_bytes / (double)st.bytes;
	if (!ret && !svmig_get_stats(fd, &st) && !j->b->aead_driver[0])
		snprintf(j->b->aead_driver, sizeof(j->b->aead_driver), "%s", st.aead_driver);
out:
	job_release(j);
	if (sv[0] >= 0)
		shutdown(sv[0], SHUT_RDWR);
	helper_join(&h);
	svmig_ring_exit(&ring);
	close(fd);
	close_pair(sv);
	return ret;
}

static int seal_kernel_sock(struct job *j) { return seal_kernel(j, true); }
static int seal_kernel_fd(struct job *j) { return seal_kernel(j, false); }

/*
 * A plain record, the size of a PAGE record: the header, the identity
 * and the page in the clear, a zero tag.
 */
static void plain_record(uint8_t *rec, uint64_t seq, uint64_t page, const uint8_t *data)
{
	svmig_wire_hdr_fill((struct svmig_wire_hdr *)rec, SVMIG_REC_PAGE,
			    (uint32_t)(REC - SVMIG_HDR_LEN), seq);
	memset(rec + SVMIG_HDR_LEN, 0, 8);
	put_be64(rec + SVMIG_HDR_LEN + 8, page);
	memcpy(rec + SVMIG_HDR_LEN + 16, data, PAGE);
	memset(rec + REC - SVMIG_TAG_LEN, 0, SVMIG_TAG_LEN);
}

/*
 * OpenSSL (wire.c) or plain memcpy, into records of the same size, then
 * write()n every TX_RECORDS records and at the end of each batch, or,
 * without a socket, left in the buffer.
 */
static int seal_user(struct job *j, bool crypto, bool sock)
{
	struct svmig_wire w;
	struct helper h = { 0 };
	uint8_t salt[SVMIG_SALT_LEN];
	size_t p, off = 0, n, i;
	int sv[2] = { -1, -1 }, ret = 0, len;

	memset(&w, 0, sizeof(w));
	if (crypto) {
		ret = svmig_wire_init(&w, SVMIG_ROLE_SENDER, session_id, j->channel,
				      j->b->secret);
		if (!ret)
			ret = svmig_wire_add_region(&w, SLOT, j->npages);
		if (!ret)
			ret = RAND_bytes(salt, sizeof(salt)) == 1 ?
			      svmig_wire_set_salt(&w, salt) : -EIO;
		if (ret) {
			job_fail(j, ret, "wire.c sender");
			goto out;
		}
	}
	if (sock) {
		ret = sock_pair(j->b->o.family, sv);
		if (!ret)
			ret = helper_start(&h, sv[1], false, NULL, 0, j->b->o.family);
		if (ret) {
			job_fail(j, ret, "socket");
			goto out;
		}
	}

	job_go(j);
	if (crypto) {
		len = svmig_wire_seal_hello(&w, j->buf);
		if (len < 0) {
			ret = job_fail(j, len, "HELLO");
			goto out;
		}
		off = (size_t)len;
	}
	for (p = 0; p < j->npages; p += n) {
		n = j->npages - p < j->batch ? j->npages - p : j->batch;
		for (i = 0; i < n; i++) {
			if (crypto) {
				len = svmig_wire_seal_page(&w, SLOT, p + i,
							   j->src + (p + i) * PAGE,
							   j->buf + off);
				if (len < 0) {
					ret = job_fail(j, len, "PAGE");
					goto out;
				}
			} else {
				plain_record(j->buf + off, p + i, p + i, j->src + (p + i) * PAGE);
			}
			off += REC;
			if (off + REC > TX_RECORDS * REC || i == n - 1) {
				if (sock)
					ret = write_all(sv[0], j->buf, off);
				if (ret) {
					job_fail(j, ret, "write");
					goto out;
				}
				off = 0;
			}
		}
	}
	if (crypto) {
		len = svmig_wire_seal_manifest(&w, j->buf);
		ret = len < 0 ? len : sock ? write_all(sv[0], j->buf, (size_t)len) : 0;
		if (ret) {
			job_fail(j, ret, "MANIFEST");
			goto out;
		}
	}
	if (sock) {
		shutdown(sv[0], SHUT_WR);
		ret = helper_join(&h);
	}
	job_done(j);
	if (ret)
		job_fail(j, ret, "drain");
	else if (sock && h.bytes != (crypto ? page_stream_len(j->npages) : j->npages * REC))
		ret = job_fail(j, -EIO, "%llu bytes drained", (unsigned long long)h.bytes);
out:
	job_release(j);
	if (sv[0] >= 0)
		shutdown(sv[0], SHUT_RDWR);
	helper_join(&h);
	close_pair(sv);
	if (crypto)
		svmig_wire_free(&w);
	return ret;
}

static int seal_openssl_sock(struct job *j) { return seal_user(j, true, true); }
static int seal_openssl_mem(struct job *j) { return seal_user(j, true, false); }
static int seal_plain_sock(struct job *j) { return seal_user(j, false, true); }
static int seal_plain_mem(struct job *j) { return seal_user(j, false, false); }

/*
 * Bare EVP AES-256-GCM: one message per batch (4 KiB or 2 MiB) with a
 * 40-byte AAD, no framing, no tables: the floor under any OpenSSL sender.
 */
static int evp_crypt(EVP_CIPHER_CTX *ctx, bool enc, uint64_t seq, const uint8_t *in,
		     size_t len, uint8_t *out, uint8_t *tag, bool probe)
{
	uint8_t iv[12] = { 0 }, aad[40] = { 0 };
	struct timespec t;
	int l;

	put_be64(iv + 4, seq);
	put_be64(aad + 32, seq);
	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &l, aad, sizeof(aad)) != 1)
		return -EIO;
	/*
	 * The TCG probe: a vDSO clock_gettime() (rdtsc) between the AAD and
	 * the payload changes nothing on a real CPU, but under QEMU's TCG it
	 * lets OpenSSL's AES-GCM run a 4 KiB message at its bulk rate instead
	 * of about a fifth of it (Documentation/performance.rst).
	 */
	if (probe)
		clock_gettime(CLOCK_MONOTONIC, &t);
	if (EVP_CipherUpdate(ctx, out, &l, in, (int)len) != 1)
		return -EIO;
	if (enc)
		return EVP_CipherFinal_ex(ctx, out + len, &l) == 1 &&
		       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1 ? 0 : -EIO;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		return -EIO;
	return EVP_CipherFinal_ex(ctx, out + len, &l) == 1 ? 0 : -EBADMSG;
}

static EVP_CIPHER_CTX *evp_ctx(bool enc, const uint8_t *key)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int evp_run(struct job *j, bool enc, bool probe)
{
	EVP_CIPHER_CTX *ctx = evp_ctx(enc, j->b->secret);
	uint8_t tag[16];
	size_t p, n;
	int ret = 0;

	if (!ctx) {
		job_release(j);
		return job_fail(j, -EIO, "EVP_aes_256_gcm");
	}
	job_go(j);
	for (p = 0; p < j->npages && !ret; p += n) {
		n = j->npages - p < j->batch ? j->npages - p : j->batch;
		if (enc)
			ret = evp_crypt(ctx, true, p, j->src + p * PAGE, n * PAGE, j->buf, tag,
					probe);
		else
			ret = evp_crypt(ctx, false, p, j->evp_ct + p * PAGE, n * PAGE,
					j->dst + p * PAGE, (uint8_t *)j->evp_tags + p * 16, probe);
	}
	job_done(j);
	EVP_CIPHER_CTX_free(ctx);
	return ret ? job_fail(j, ret, "EVP") : 0;
}

/*
 * Page-mode receive in the two orders that keep unverified bytes out of
 * guest memory, as OpenSSL costs them here (the kernel's AEAD API has no
 * tag-only call to time): decrypt into a buffer and copy the page into
 * place (what svmig.ko does), or check the tag first and then decrypt
 * straight into place.  The check is timed as GMAC over the same blocks
 * (the AAD and the ciphertext fed as AAD: GHASH's work, one block more or
 * less), the decryption is AES-CTR from GCM's first counter block, so the
 * pages that land are the real plaintext (checked after the run).
 */
static int open_order_page(struct job *j, EVP_CIPHER_CTX *gcm, EVP_CIPHER_CTX *ctr,
			   size_t p, bool verify_first)
{
	const uint8_t *ct = j->evp_ct + p * PAGE;
	uint8_t iv[16] = { 0 }, aad[40] = { 0 }, tag[16];
	int l;

	if (!verify_first) {
		if (evp_crypt(gcm, false, p, ct, PAGE, j->buf, (uint8_t *)j->evp_tags + p * 16,
			      false))
			return -EBADMSG;
		memcpy(j->dst + p * PAGE, j->buf, PAGE);
		return 0;
	}
	put_be64(iv + 4, p);
	put_be64(aad + 32, p);
	if (EVP_CipherInit_ex(gcm, NULL, NULL, NULL, iv, 1) != 1 ||
	    EVP_CipherUpdate(gcm, NULL, &l, aad, sizeof(aad)) != 1 ||
	    EVP_CipherUpdate(gcm, NULL, &l, ct, PAGE) != 1 ||
	    EVP_CipherFinal_ex(gcm, tag, &l) != 1 ||
	    EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		return -EIO;
	iv[15] = 2;	/* GCM encrypts the payload from inc32(IV || 0^31 || 1) */
	if (EVP_CipherInit_ex(ctr, NULL, NULL, NULL, iv, 0) != 1 ||
	    EVP_CipherUpdate(ctr, j->dst + p * PAGE, &l, ct, PAGE) != 1)
		return -EIO;
	return 0;
}

static int open_order(struct job *j, bool verify_first)
{
	EVP_CIPHER_CTX *gcm = evp_ctx(verify_first, j->b->secret);
	EVP_CIPHER_CTX *ctr = EVP_CIPHER_CTX_new();
	size_t p;
	int ret = 0;

	if (!gcm || !ctr ||
	    EVP_CipherInit_ex(ctr, EVP_aes_256_ctr(), NULL, j->b->secret, NULL, 0) != 1) {
		EVP_CIPHER_CTX_free(gcm);
		EVP_CIPHER_CTX_free(ctr);
		job_release(j);
		return job_fail(j, -EIO, "EVP contexts");
	}
	job_go(j);
	for (p = 0; p < j->npages && !ret; p++)
		ret = open_order_page(j, gcm, ctr, p, verify_first);
	job_done(j);
	EVP_CIPHER_CTX_free(gcm);
	EVP_CIPHER_CTX_free(ctr);
	return ret ? job_fail(j, ret, "EVP") : 0;
}

static int open_decrypt_copy(struct job *j) { return open_order(j, false); }
static int open_verify_first(struct job *j) { return open_order(j, true); }

static int seal_evp(struct job *j) { return evp_run(j, true, false); }
static int open_evp(struct job *j) { return evp_run(j, false, false); }
static int seal_evp_probe(struct job *j) { return evp_run(j, true, true); }

/* ---- open --------------------------------------------------------------- */

static int open_kernel(struct job *j, bool sock)
{
	struct helper h = { 0 };
	struct svmig_stats st;
	size_t nrec = j->npages + 2, total = 0, off = 0, n;
	int fd, sv[2] = { -1, -1 }, ret = 0;
	uint32_t got;
	ssize_t w;

	fd = kernel_channel(j, SVMIG_ROLE_RECEIVER, j->dst);
	if (fd < 0) {
		job_release(j);
		return fd;
	}
	if (sock) {
		ret = sock_pair(j->b->o.family, sv);
		if (!ret)
			ret = svmig_attach_socket(fd, sv[0]);
		if (ret) {
			job_fail(j, ret, "socket");
			goto out;
		}
	}

	job_go(j);
	if (sock) {
		ret = helper_start(&h, sv[1], true, j->stream, j->stream_len, j->b->o.family);
		while (!ret && total < nrec) {
			got = 0;
			ret = svmig_recv(fd, j->batch, &got);
			total += got;
		}
	} else {
		while (!ret && off < j->stream_len) {
			n = j->stream_len - off < j->batch * REC ? j->stream_len - off : j->batch * REC;
			w = write(fd, j->stream + off, n);
			if (w < 0 && errno != EINTR)
				ret = -errno;
			else if (w > 0)
				off += (size_t)w;
		}
	}
	if (!ret)
		ret = svmig_verify(fd);
	job_done(j);
	if (ret)
		job_fail(j, ret, sock ? "RECV/VERIFY" : "write/VERIFY");
	else if (sock && !svmig_get_stats(fd, &st) && st.records)
		j->s.rx_reads = (double)st.sock_reads / (double)st.records;
out:
	job_release(j);
	if (sv[0] >= 0)
		shutdown(sv[0], SHUT_RDWR);
	helper_join(&h);
	close(fd);
	close_pair(sv);
	return ret;
}

static int open_kernel_sock(struct job *j) { return open_kernel(j, true); }
static int open_kernel_fd(struct job *j) { return open_kernel(j, false); }

/* One whole record: opened by wire.c, or a plain one copied into place. */
static int open_one(struct job *j, struct svmig_wire *w, const uint8_t *rec, size_t len)
{
	struct svmig_wire_rec info;
	uint8_t pg[PAGE];
	uint64_t page;
	int ret;

	if (!w) {
		page = rec_page(rec);
		if (len != REC || page >= j->npages)
			return -EPROTO;
		memcpy(j->dst + page * PAGE, rec + SVMIG_HDR_LEN + 16, PAGE);
		return 0;
	}
	/*
	 * The identity is encrypted: open into a page of our own, then copy
	 * it where the authenticated identity says (as the kernel does).
	 */
	ret = svmig_wire_open_record(w, rec, len, pg, &info);
	if (ret || info.type != SVMIG_REC_PAGE || info.stale)
		return ret;
	if (info.slot != SLOT || info.page >= j->npages)
		return -EPROTO;
	memcpy(j->dst + info.page * PAGE, pg, PAGE);
	return 0;
}

/* Records in buf[0, have): open the whole ones; returns the bytes used. */
static int open_records(struct job *j, struct svmig_wire *w, const uint8_t *buf,
			size_t have, size_t *used)
{
	size_t off = 0;
	int len, ret;

	while (have - off >= SVMIG_HDR_LEN) {
		len = w ? svmig_wire_record_len(buf + off, have - off) : (int)REC;
		if (len < 0)
			return len;
		if ((size_t)len > have - off)
			break;
		ret = open_one(j, w, buf + off, (size_t)len);
		if (ret)
			return ret;
		off += (size_t)len;
	}
	*used = off;
	return 0;
}

static int open_user(struct job *j, bool crypto, bool sock)
{
	struct svmig_wire w;
	struct helper h = { 0 };
	size_t have = 0, used, want;
	int sv[2] = { -1, -1 }, ret = 0;
	ssize_t n;

	memset(&w, 0, sizeof(w));
	if (crypto) {
		ret = svmig_wire_init(&w, SVMIG_ROLE_RECEIVER, session_id, j->channel,
				      j->b->secret);
		if (!ret)
			ret = svmig_wire_add_region(&w, SLOT, j->npages);
		if (ret) {
			job_fail(j, ret, "wire.c receiver");
			goto out;
		}
	}
	if (sock) {
		ret = sock_pair(j->b->o.family, sv);
		if (ret) {
			job_fail(j, ret, "socket");
			goto out;
		}
	}

	job_go(j);
	if (!sock) {
		ret = open_records(j, crypto ? &w : NULL, j->stream, j->stream_len, &used);
		if (!ret && used != j->stream_len)
			ret = -EPROTO;
	} else {
		ret = helper_start(&h, sv[1], true, j->stream, j->stream_len, j->b->o.family);
		/* read() up to a batch of records at a time, as RECV takes them */
		while (!ret) {
			want = j->batch * REC;
			if (want > j->buf_len - have)
				want = j->buf_len - have;
			n = read(sv[0], j->buf + have, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ret = n < 0 ? -errno : have ? -EPROTO : 0;
				break;
			}
			have += (size_t)n;
			ret = open_records(j, crypto ? &w : NULL, j->buf, have, &used);
			memmove(j->buf, j->buf + used, have - used);
			have -= used;
		}
	}
	if (!ret && crypto && w.verdict != SVMIG_VERDICT_VERIFIED)
		ret = -EBADMSG;
	job_done(j);
	if (ret)
		job_fail(j, ret, crypto ? "wire.c open" : "plain records");
out:
	job_release(j);
	if (sv[0] >= 0)
		shutdown(sv[0], SHUT_RDWR);
	helper_join(&h);
	close_pair(sv);
	if (crypto)
		svmig_wire_free(&w);
	return ret;
}

static int open_openssl_sock(struct job *j) { return open_user(j, true, true); }
static int open_openssl_mem(struct job *j) { return open_user(j, true, false); }
static int open_plain_sock(struct job *j) { return open_user(j, false, true); }
static int open_plain_mem(struct job *j) { return open_user(j, false, false); }

/* ---- the cases ----------------------------------------------------------- */

enum input { IN_NONE, IN_SEALED, IN_PLAIN, IN_EVP };

struct ccase {
	const char *id;			/* path/impl/via */
	const char *what;
	bool kernel;
	enum input input;		/* open: what the job reads */
	int (*run)(struct job *j);
	unsigned int only_batch;	/* 0: every batch size */
};

static const struct ccase cases[] = {
	{ "seal/kernel/socket", "SUBMIT, kernel sends on the socket",
	  true, IN_NONE, seal_kernel_sock, 0 },
	{ "seal/openssl/socket", "wire.c (EVP) seals, write()",
	  false, IN_NONE, seal_openssl_sock, 0 },
	{ "seal/plain/socket", "memcpy into records, write()",
	  false, IN_NONE, seal_plain_sock, 0 },
	{ "seal/kernel/devfd", "SUBMIT, read() from /dev/svmig",
	  true, IN_NONE, seal_kernel_fd, 0 },
	{ "seal/openssl/memory", "wire.c (EVP) into a buffer",
	  false, IN_NONE, seal_openssl_mem, 0 },
	{ "seal/memcpy/memory", "memcpy into a buffer",
	  false, IN_NONE, seal_plain_mem, 0 },
	{ "seal/evp/memory", "bare EVP, one message per batch",
	  false, IN_NONE, seal_evp, 0 },
	{ "seal/evp-probe/memory", "bare EVP, TCG probe (see the source)",
	  false, IN_NONE, seal_evp_probe, 1 },
	{ "open/kernel/socket", "RECV from the socket",
	  true, IN_SEALED, open_kernel_sock, 0 },
	{ "open/openssl/socket", "read(), wire.c opens, copy",
	  false, IN_SEALED, open_openssl_sock, 0 },
	{ "open/plain/socket", "read(), memcpy into place",
	  false, IN_PLAIN, open_plain_sock, 0 },
	{ "open/kernel/devfd", "write() into /dev/svmig",
	  true, IN_SEALED, open_kernel_fd, 0 },
	{ "open/openssl/memory", "wire.c opens, copy",
	  false, IN_SEALED, open_openssl_mem, 0 },
	{ "open/memcpy/memory", "memcpy into place",
	  false, IN_PLAIN, open_plain_mem, 0 },
	{ "open/evp/memory", "bare EVP, one message per batch",
	  false, IN_EVP, open_evp, 0 },
	{ "open/evp-copy/memory", "EVP to a buffer, then copy into place",
	  false, IN_EVP, open_decrypt_copy, 1 },
	{ "open/tag-first/memory", "GHASH pass, then AES-CTR into place",
	  false, IN_EVP, open_verify_first, 1 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const struct ccase *find_case(const char *id)
{
	size_t i;

	for (i = 0; i < NCASES; i++)
		if (!strcmp(cases[i].id, id))
			return &cases[i];
	abort();
}

/* What one channel's runs read and write. */
struct data {
	size_t npages;
	uint8_t *src, *dst;
	uint8_t *sealed, *plain, *evp_ct, *evp_tags;
	size_t sealed_len, plain_len;
	uint8_t *buf;			/* CHUNK, or the read buffer */
	size_t buf_len;
};

/* The oracle's stream for @channel: HELLO, every page once, MANIFEST. */
static int oracle_stream(const struct bench *b, uint32_t channel, struct data *d)
{
	uint8_t salt[SVMIG_SALT_LEN], *p = d->sealed;
	struct svmig_wire w;
	size_t i;
	int len, ret;

	ret = svmig_wire_init(&w, SVMIG_ROLE_SENDER, session_id, channel, b->secret);
	if (ret)
		return ret;
	ret = svmig_wire_add_region(&w, SLOT, d->npages);
	if (!ret)
		ret = RAND_bytes(salt, sizeof(salt)) == 1 ? svmig_wire_set_salt(&w, salt) : -EIO;
	len = ret ? ret : svmig_wire_seal_hello(&w, p);
	for (i = 0; len > 0 && i <= d->npages; i++) {
		p += len;
		len = i < d->npages ? svmig_wire_seal_page(&w, SLOT, i, d->src + i * PAGE, p) :
				      svmig_wire_seal_manifest(&w, p);
	}
	if (len > 0)
		p += len;
	svmig_wire_free(&w);
	if (len < 0)
		return len;
	return (size_t)(p - d->sealed) == d->sealed_len ? 0 : -EIO;
}

static void data_free(struct data *d)
{
	unmap(d->src, d->npages * PAGE);
	unmap(d->dst, d->npages * PAGE);
	unmap(d->sealed, d->sealed_len);
	unmap(d->plain, d->plain_len);
	unmap(d->evp_ct, d->npages * PAGE);
	unmap(d->evp_tags, d->npages * 16);
	unmap(d->buf, d->buf_len);
	memset(d, 0, sizeof(*d));
}

/* Random pages, and (untimed) the records the open cases read. */
static int data_init(const struct bench *b, uint32_t channel, bool evp, struct data *d)
{
	size_t i;
	int ret;

	memset(d, 0, sizeof(*d));
	d->npages = b->npages;
	d->sealed_len = page_stream_len(d->npages);
	d->plain_len = d->npages * REC;
	d->buf_len = BIG_BATCH * REC + CHUNK;
	d->src = map(d->npages * PAGE);
	d->dst = map(d->npages * PAGE);
	d->sealed = map(d->sealed_len);
	d->plain = map(d->plain_len);
	d->buf = map(d->buf_len);
	if (evp) {
		d->evp_ct = map(d->npages * PAGE);
		d->evp_tags = map(d->npages * 16);
	}
	if (!d->src || !d->dst || !d->sealed || !d->plain || !d->buf ||
	    (evp && (!d->evp_ct || !d->evp_tags))) {
		data_free(d);
		return -ENOMEM;
	}
	ret = fill_random(d->src, d->npages * PAGE);
	if (!ret)
		ret = oracle_stream(b, channel, d);
	for (i = 0; !ret && i < d->npages; i++)
		plain_record(d->plain + i * REC, i, i, d->src + i * PAGE);
	if (ret)
		data_free(d);
	return ret;
}

/*
 * Bare EVP open reads messages of the batch's size: their ciphertext and
 * tags (the nonce is the first page's index, so both depend on the batch).
 */
static int evp_prepare(const struct bench *b, struct data *d, unsigned int batch)
{
	EVP_CIPHER_CTX *ctx = evp_ctx(true, b->secret);
	size_t i, n;
	int ret = ctx ? 0 : -EIO;

	for (i = 0; !ret && i < d->npages; i += n) {
		n = d->npages - i < batch ? d->npages - i : batch;
		ret = evp_crypt(ctx, true, i, d->src + i * PAGE, n * PAGE, d->evp_ct + i * PAGE,
				d->evp_tags + i * 16, false);
	}
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

static void job_init(struct job *j, struct bench *b, struct data *d, const struct ccase *c,
		     unsigned int batch, uint32_t channel)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
	j->batch = batch;
	j->channel = channel;
	j->npages = d->npages;
	j->src = d->src;
	j->dst = d->dst;
	j->buf = d->buf;
	j->buf_len = d->buf_len;
	j->stream = c->input == IN_PLAIN ? d->plain : d->sealed;
	j->stream_len = c->input == IN_PLAIN ? d->plain_len : d->sealed_len;
	j->evp_ct = d->evp_ct;
	j->evp_tags = d->evp_tags;
	j->s.tx_copied = NAN;
	j->s.rx_reads = NAN;
}

/* Untimed, after an open: every page must be where it belongs. */
static int check_open(struct job *j, const struct ccase *c)
{
	if (strncmp(c->id, "open/", 5) || !memcmp(j->dst, j->src, j->npages * PAGE))
		return 0;
	return job_fail(j, -EIO, "the destination differs from the source");
}

/* ---- JSON ---------------------------------------------------------------- */

static struct json_object *jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : json_object_new_null();
}

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static double jdbl(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	if (!v || json_object_is_type(v, json_type_null))
		return NAN;
	return json_object_get_double(v);
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static const char *dflt(const char *s, const char *d)
{
	return s ? s : d;
}

static char *out_path(const struct bench *b, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", b->o.out, name) < 0)
		return NULL;
	return p;
}

static int save_json(const struct bench *b, const char *name, struct json_object *o)
{
	char *p = out_path(b, name);
	int ret;

	if (!p)
		return -ENOMEM;
	ret = json_object_to_file_ext(p, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (ret)
		msg("cannot write %s", p);
	else
		printf("# wrote %s\n", p);
	free(p);
	return ret ? -EIO : 0;
}

static struct json_object *load_json(const struct bench *b, const char *name)
{
	char *p = out_path(b, name);
	struct json_object *o = NULL;

	if (p && access(p, R_OK) == 0)
		o = json_object_from_file(p);
	free(p);
	return o;
}

/* ---- the machine --------------------------------------------------------- */

static bool has_flag(const char *flags, const char *flag)
{
	size_t n = strlen(flag);
	const char *p = flags;

	while ((p = strstr(p, flag))) {
		if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static void cpu_model(char *buf, size_t len, char *flags, size_t flen)
{
	static const char *const want[] = { "aes", "pclmulqdq", "avx", "avx2", "vaes",
					    "vpclmulqdq", "avx512f", "hypervisor" };
	static char line[16384];
	FILE *f = fopen("/proc/cpuinfo", "r");
	bool got_model = false, got_flags = false;
	size_t i, used;
	char *v;

	snprintf(buf, len, "unknown");
	flags[0] = '\0';
	if (!f)
		return;
	while (!(got_model && got_flags) && fgets(line, sizeof(line), f)) {
		v = strchr(line, ':');
		if (!v)
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		v[strcspn(v, "\n")] = '\0';
		if (!got_model && !strncmp(line, "model name", 10)) {
			snprintf(buf, len, "%s", v);
			got_model = true;
		} else if (!got_flags && !strncmp(line, "flags", 5)) {
			for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
				used = strlen(flags);
				if (has_flag(v, want[i]))
					snprintf(flags + used, flen - used, "%s%s",
						 used ? " " : "", want[i]);
			}
			got_flags = true;
		}
	}
	fclose(f);
}

/* The hypervisor's CPUID signature: "TCGTCGTCGTCG" is QEMU's emulator. */
static void hypervisor(char *sig, size_t len, const char **accel)
{
	unsigned int a, b, c, d;
	char s[13];

	snprintf(sig, len, "none");
	*accel = "bare metal (no hypervisor bit)";
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1U << 31)))
		return;
	__cpuid(0x40000000, a, b, c, d);
	memcpy(s, &b, 4);
	memcpy(s + 4, &c, 4);
	memcpy(s + 8, &d, 4);
	s[12] = '\0';
	snprintf(sig, len, "%s", s);
	if (!strcmp(s, "TCGTCGTCGTCG"))
		*accel = "TCG";
	else if (!strncmp(s, "KVMKVMKVM", 9))
		*accel = "KVM";
	else
		*accel = "a hypervisor";
}

static struct json_object *machine_json(const struct bench *b)
{
	struct json_object *m = json_object_new_object();
	char model[256], flags[256], sig[16], date[64];
	const char *accel;
	struct utsname u;
	time_t now = time(NULL);

	cpu_model(model, sizeof(model), flags, sizeof(flags));
	hypervisor(sig, sizeof(sig), &accel);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	uname(&u);
	json_object_object_add(m, "date", json_object_new_string(date));
	json_object_object_add(m, "cpu", json_object_new_string(model));
	json_object_object_add(m, "cpus", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(m, "cpu_flags", json_object_new_string(flags));
	json_object_object_add(m, "hypervisor", json_object_new_string(sig));
	json_object_object_add(m, "accel", json_object_new_string(accel));
	json_object_object_add(m, "kernel", json_object_new_string(u.release));
	json_object_object_add(m, "openssl", json_object_new_string(OpenSSL_version(OPENSSL_VERSION)));
	json_object_object_add(m, "aead_driver", json_object_new_string(b->aead_driver[0] ?
							b->aead_driver : "unknown"));
	return m;
}

static const char *under(struct json_object *machine)
{
	const char *a = jstr(machine, "accel");

	return a && !strcmp(a, "TCG") ? "under TCG" : a ? a : "unknown machine";
}

/* ---- crypto -------------------------------------------------------------- */

static bool wanted(const struct bench *b, const char *id, unsigned int batch)
{
	char name[96];

	if (!b->o.only)
		return true;
	snprintf(name, sizeof(name), "%s/%u", id, batch);
	return strstr(name, b->o.only) != NULL;
}

static const char *family_name(int family)
{
	return family == AF_UNIX ? "AF_UNIX" : "TCP 127.0.0.1";
}

static struct json_object *result_json(const char *id, const char *what, unsigned int batch,
				       unsigned int channels, size_t bytes,
				       const struct sample *s, size_t n)
{
	struct json_object *r = json_object_new_object();
	double wall = median_of(s, n, offsetof(struct sample, wall));
	double cpu = median_of(s, n, offsetof(struct sample, cpu));
	double user = median_of(s, n, offsetof(struct sample, user));
	double sys = median_of(s, n, offsetof(struct sample, sys));
	double proc = median_of(s, n, offsetof(struct sample, proc));
	size_t i;

	json_object_object_add(r, "id", json_object_new_string(id));
	json_object_object_add(r, "what", json_object_new_string(what));
	json_object_object_add(r, "batch_pages", json_object_new_int((int)batch));
	if (channels)
		json_object_object_add(r, "channels", json_object_new_int((int)channels));
	json_object_object_add(r, "payload_bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(r, "runs", json_object_new_int((int)n));
	json_object_object_add(r, "wall_s", jnum(wall));
	json_object_object_add(r, "cpu_s", jnum(cpu));
	json_object_object_add(r, "user_s", jnum(user));
	json_object_object_add(r, "sys_s", jnum(sys));
	json_object_object_add(r, "process_cpu_s", jnum(proc));
	json_object_object_add(r, "mib_s", jnum(n && wall > 0 ? bytes / MIB / wall : NAN));
	json_object_object_add(r, "mib_s_per_core", jnum(n && cpu > 0 ? bytes / MIB / cpu : NAN));
	json_object_object_add(r, "cpu_s_per_gib", jnum(n && bytes ? cpu / (bytes / GIB) : NAN));
	json_object_object_add(r, "tx_copied_share",
			       jnum(median_of(s, n, offsetof(struct sample, tx_copied))));
	json_object_object_add(r, "rx_reads_per_record",
			       jnum(median_of(s, n, offsetof(struct sample, rx_reads))));
	/* each run's throughput too, to show the spread */
	{
		struct json_object *a = json_object_new_array();

		for (i = 0; i < n; i++)
			json_object_array_add(a, jnum(s[i].wall > 0 ? bytes / MIB / s[i].wall : NAN));
		json_object_object_add(r, "mib_s_runs", a);
	}
	return r;
}

static void print_crypto(FILE *f, struct json_object *crypto);

static int cmd_crypto(struct bench *b)
{
	const size_t ncase = NCASES * NBATCHES;
	struct sample *s = calloc(ncase * b->o.reps, sizeof(*s));
	size_t *nok = calloc(ncase, sizeof(*nok));
	struct json_object *top, *results;
	unsigned int rep, bi;
	int failed = 0, ret;
	struct data d;
	struct job j;
	size_t ci, k;

	if (!s || !nok)
		return -ENOMEM;
	printf("# crypto: %u MiB per run, %u runs each, %s sockets%s\n", b->o.mib, b->o.reps,
	       family_name(b->o.family), b->have_kernel ? "" : ", NO KERNEL CASES");
	fflush(stdout);
	ret = data_init(b, 0, true, &d);
	if (ret) {
		msg("preparing the data: %s", strerror(-ret));
		return ret;
	}
	for (rep = 0; rep < b->o.reps; rep++) {
		for (ci = 0; ci < NCASES; ci++) {
			for (bi = 0; bi < NBATCHES; bi++) {
				const struct ccase *c = &cases[ci];

				k = ci * NBATCHES + bi;
				if ((c->kernel && !b->have_kernel) || !wanted(b, c->id, batches[bi]) ||
				    (c->only_batch && c->only_batch != batches[bi]))
					continue;
				if (c->input == IN_EVP && evp_prepare(b, &d, batches[bi])) {
					msg("%s: preparing EVP messages failed", c->id);
					failed = 1;
					continue;
				}
				memset(d.dst, 0, d.npages * PAGE);
				job_init(&j, b, &d, c, batches[bi], 0);
				ret = c->run(&j);
				if (!ret)
					ret = check_open(&j, c);
				if (ret) {
					msg("%s batch %u: %s", c->id, batches[bi], j.err);
					failed = 1;
					continue;
				}
				s[k * b->o.reps + nok[k]++] = j.s;
				printf("# %-22s batch %3u run %u: %8.1f MiB/s, %8.1f MiB/s per core\n",
				       c->id, batches[bi], rep + 1, d.npages * PAGE / MIB / j.s.wall,
				       d.npages * PAGE / MIB / j.s.cpu);
				fflush(stdout);
			}
		}
	}

	top = json_object_new_object();
	results = json_object_new_array();
	json_object_object_add(top, "machine", machine_json(b));
	json_object_object_add(top, "mib_per_run", json_object_new_int((int)b->o.mib));
	json_object_object_add(top, "reps", json_object_new_int((int)b->o.reps));
	json_object_object_add(top, "socket", json_object_new_string(family_name(b->o.family)));
	json_object_object_add(top, "record_bytes", json_object_new_int((int)REC));
	if (!b->have_kernel)
		json_object_object_add(top, "kernel_missing", json_object_new_string(b->kernel_note));
	for (ci = 0; ci < NCASES; ci++)
		for (bi = 0; bi < NBATCHES; bi++) {
			k = ci * NBATCHES + bi;
			if (nok[k])
				json_object_array_add(results,
					result_json(cases[ci].id, cases[ci].what, batches[bi], 0,
						    d.npages * PAGE, s + k * b->o.reps, nok[k]));
		}
	json_object_object_add(top, "results", results);
	data_free(&d);
	free(s);
	free(nok);
	print_crypto(stdout, top);
	ret = save_json(b, "crypto.json", top);
	json_object_put(top);
	return failed || ret ? -EIO : 0;
}

/* ---- channels ------------------------------------------------------------- */

struct worker {
	pthread_t thr;
	struct job j;
	const struct ccase *c;
	int ret;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->ret = w->c->run(&w->j);
	if (!w->ret)
		w->ret = check_open(&w->j, w->c);
	return NULL;
}

/* N channels at once; the aggregate sample spans first start to last end. */
static int run_channels(struct bench *b, struct data *d, const struct ccase *c,
			unsigned int n, struct sample *agg)
{
	struct worker *w = calloc(n, sizeof(*w));
	pthread_barrier_t bar;
	double t0 = INFINITY, t1 = 0;
	unsigned int i;
	int ret = 0;

	if (!w)
		return -ENOMEM;
	pthread_barrier_init(&bar, NULL, n);
	memset(agg, 0, sizeof(*agg));
	for (i = 0; i < n; i++) {
		memset(d[i].dst, 0, d[i].npages * PAGE);
		job_init(&w[i].j, b, &d[i], c, BIG_BATCH, i);
		w[i].j.barrier = &bar;
		w[i].c = c;
		/* the others would wait at the barrier for ever */
		if (pthread_create(&w[i].thr, NULL, worker_main, &w[i])) {
			msg("cannot start thread %u of %u", i, n);
			exit(1);
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].thr, NULL);
		if (w[i].ret) {
			msg("%s, channel %u of %u: %s", c->id, i, n, w[i].j.err);
			ret = w[i].ret;
			continue;
		}
		t0 = fmin(t0, ts(&w[i].j.t0.wall));
		t1 = fmax(t1, ts(&w[i].j.t1.wall));
		agg->cpu += w[i].j.s.cpu;
		agg->user += w[i].j.s.user;
		agg->sys += w[i].j.s.sys;
		agg->proc = fmax(agg->proc, w[i].j.s.proc);
	}
	agg->wall = t1 - t0;
	pthread_barrier_destroy(&bar);
	free(w);
	return ret;
}

static void print_channels(FILE *f, struct json_object *ch);

static int cmd_channels(struct bench *b)
{
	const struct ccase *const which[] = { find_case("seal/kernel/socket"),
					      find_case("open/kernel/socket") };
	const unsigned int nwhich = 2, maxn = b->o.channels;
	struct sample *s = calloc((size_t)nwhich * maxn * b->o.reps, sizeof(*s));
	size_t *nok = calloc((size_t)nwhich * maxn, sizeof(*nok));
	struct json_object *top, *results;
	struct data *d = calloc(maxn, sizeof(*d));
	unsigned int rep, n, wi, i;
	int failed = 0, ret = 0;
	size_t k;

	if (!s || !nok || !d)
		return -ENOMEM;
	if (!b->have_kernel) {
		msg("channels: %s", b->kernel_note);
		return -ENODEV;
	}
	printf("# channels: 1..%u channels of one session, %u MiB each per run, %u runs, "
	       "%s sockets, batches of %u pages\n", maxn, b->o.mib, b->o.reps,
	       family_name(b->o.family), BIG_BATCH);
	fflush(stdout);
	for (i = 0; i < maxn && !ret; i++)
		ret = data_init(b, i, false, &d[i]);
	if (ret) {
		msg("preparing the data: %s", strerror(-ret));
		return ret;
	}
	for (rep = 0; rep < b->o.reps; rep++)
		for (n = 1; n <= maxn; n++)
			for (wi = 0; wi < nwhich; wi++) {
				struct sample agg;

				k = (size_t)wi * maxn + (n - 1);
				if (!wanted(b, which[wi]->id, BIG_BATCH))
					continue;
				ret = run_channels(b, d, which[wi], n, &agg);
				if (ret) {
					failed = 1;
					continue;
				}
				s[k * b->o.reps + nok[k]++] = agg;
				printf("# %-20s %u channel%s run %u: %8.1f MiB/s in all, "
				       "%.2f CPU-s\n", which[wi]->id, n, n > 1 ? "s" : " ", rep + 1,
				       n * d[0].npages * PAGE / MIB / agg.wall, agg.cpu);
				fflush(stdout);
			}

	top = json_object_new_object();
	results = json_object_new_array();
	json_object_object_add(top, "machine", machine_json(b));
	json_object_object_add(top, "mib_per_channel", json_object_new_int((int)b->o.mib));
	json_object_object_add(top, "reps", json_object_new_int((int)b->o.reps));
	json_object_object_add(top, "socket", json_object_new_string(family_name(b->o.family)));
	json_object_object_add(top, "max_channels", json_object_new_int((int)maxn));
	for (wi = 0; wi < nwhich; wi++)
		for (n = 1; n <= maxn; n++) {
			k = (size_t)wi * maxn + (n - 1);
			if (nok[k])
				json_object_array_add(results,
					result_json(which[wi]->id, which[wi]->what, BIG_BATCH, n,
						    n * d[0].npages * PAGE, s + k * b->o.reps,
						    nok[k]));
		}
	json_object_object_add(top, "results", results);
	for (i = 0; i < maxn; i++)
		data_free(&d[i]);
	free(d);
	free(s);
	free(nok);
	print_channels(stdout, top);
	ret = save_json(b, "channels.json", top);
	json_object_put(top);
	return failed || ret ? -EIO : 0;
}

/* ---- stream (tests/bench/stream-bench.sh) --------------------------------- */

static void print_stream(FILE *f, struct json_object *st);

static void setenv_default(const char *name, const char *value)
{
	setenv(name, value, 0);
}

static int cmd_stream(struct bench *b)
{
	struct json_object *st;
	char reps[16];
	int status;
	pid_t pid;

	if (access(b->o.script, R_OK)) {
		msg("no %s (run from the work tree, or --script)", b->o.script);
		return -ENOENT;
	}
	setenv("SVMIG_BENCH_OUTDIR", b->o.out, 1);
	if (b->o.quick) {
		setenv_default("SVMIG_BENCH_REPS", "1");
		setenv_default("SVMIG_BENCH_BLOB_MIB", "32");
		setenv_default("SVMIG_BENCH_MEM_MIB", "64");
		setenv_default("SVMIG_BENCH_WORKLOADS", "idle");
	}
	if (b->o.stream_reps) {
		snprintf(reps, sizeof(reps), "%u", b->o.stream_reps);
		setenv("SVMIG_BENCH_REPS", reps, 1);
	}
	printf("# stream: %s\n", b->o.script);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("bash", "bash", b->o.script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	st = load_json(b, "stream.json");
	if (!st) {
		msg("%s left no stream.json", b->o.script);
		return -EIO;
	}
	print_stream(stdout, st);
	json_object_put(st);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* ---- the report: tables and targets --------------------------------------- */

static struct json_object *find_result(struct json_object *sec, const char *id,
				       unsigned int batch, unsigned int channels)
{
	struct json_object *res = jget(sec, "results"), *r;
	size_t i;

	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		if (!strcmp(dflt(jstr(r, "id"), ""), id) &&
		    (unsigned int)json_object_get_int(jget(r, "batch_pages")) == batch &&
		    (!channels || (unsigned int)json_object_get_int(jget(r, "channels")) == channels))
			return r;
	}
	return NULL;
}

static double metric(struct json_object *sec, const char *id, unsigned int batch,
		     unsigned int channels, const char *key)
{
	return jdbl(find_result(sec, id, batch, channels), key);
}

static void fmt_num(char *buf, size_t len, double v, const char *fmt)
{
	if (isfinite(v))
		snprintf(buf, len, fmt, v);
	else
		snprintf(buf, len, "n/a");
}

/* Adds a target row (when @targets) and prints it (when @f). */
static void target(FILE *f, struct json_object *targets, const char *section,
		   const char *what, double value, bool at_least, double goal)
{
	bool known = isfinite(value);
	bool met = known && (at_least ? value >= goal : value <= goal);
	char v[32], g[32];

	fmt_num(v, sizeof(v), value, "%.2f");
	snprintf(g, sizeof(g), "%s %.2f", at_least ? ">=" : "<=", goal);
	if (f)
		fprintf(f, "  %-60s %7s  %9s  %s\n", what, v, g,
			!known ? "not measured" : met ? "met" : "NOT MET");
	if (targets) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "section", json_object_new_string(section));
		json_object_object_add(t, "what", json_object_new_string(what));
		json_object_object_add(t, "value", jnum(value));
		json_object_object_add(t, "op", json_object_new_string(at_least ? ">=" : "<="));
		json_object_object_add(t, "target", json_object_new_double(goal));
		json_object_object_add(t, "met", known ? json_object_new_boolean(met) :
							 json_object_new_null());
		json_object_array_add(targets, t);
	}
}

/* The kernel's counters of a socket case: copied share (seal), receives per record (open). */
static void counters_note(char *buf, size_t len, struct json_object *r)
{
	double copied = jdbl(r, "tx_copied_share"), reads = jdbl(r, "rx_reads_per_record");

	if (isfinite(copied))
		snprintf(buf, len, "%.0f%% copied", 100 * copied);
	else if (isfinite(reads) && reads > 0)
		snprintf(buf, len, "%.1f rec/recv", 1 / reads);
	else
		snprintf(buf, len, "%s", "");
}

static void crypto_table(FILE *f, struct json_object *crypto)
{
	struct json_object *res = jget(crypto, "results"), *r;
	char a[32], c[32], g[32], n[32];
	size_t i;

	fprintf(f, "  %-22s %-37s %5s %9s %11s %9s  %s\n", "case", "", "batch", "MiB/s",
		"MiB/s/core", "CPU s/GiB", "kernel counters");
	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		fmt_num(a, sizeof(a), jdbl(r, "mib_s"), "%.1f");
		fmt_num(c, sizeof(c), jdbl(r, "mib_s_per_core"), "%.1f");
		fmt_num(g, sizeof(g), jdbl(r, "cpu_s_per_gib"), "%.1f");
		counters_note(n, sizeof(n), r);
		fprintf(f, "  %-22s %-37s %5d %9s %11s %9s  %s\n", dflt(jstr(r, "id"), "?"),
			dflt(jstr(r, "what"), ""), json_object_get_int(jget(r, "batch_pages")), a, c,
			g, n);
	}
}

static double ratio(double a, double b)
{
	return isfinite(a) && isfinite(b) && b > 0 ? a / b : NAN;
}

static void crypto_targets(FILE *f, struct json_object *crypto, struct json_object *targets)
{
	static const char *const paths[] = { "seal", "open" };
	char what[128], k[64], o[64], p[64], m[64], e[64];
	unsigned int pi, bi, batch;
	double kern;

	for (pi = 0; pi < 2; pi++)
		for (bi = 0; bi < NBATCHES; bi++) {
			batch = batches[bi];
			snprintf(k, sizeof(k), "%s/kernel/socket", paths[pi]);
			snprintf(o, sizeof(o), "%s/openssl/socket", paths[pi]);
			snprintf(p, sizeof(p), "%s/plain/socket", paths[pi]);
			snprintf(m, sizeof(m), "%s/memcpy/memory", paths[pi]);
			kern = metric(crypto, k, batch, 0, "mib_s_per_core");
			snprintf(what, sizeof(what), "%s per core, kernel / OpenSSL, socket, %s batches",
				 paths[pi], batch == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "crypto", what,
			       ratio(kern, metric(crypto, o, batch, 0, "mib_s_per_core")), true, 0.95);
			snprintf(what, sizeof(what), "%s per core, kernel / plain copy, socket, %s batches",
				 paths[pi], batch == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "crypto", what,
			       ratio(kern, metric(crypto, p, batch, 0, "mib_s_per_core")), true, 0.5);
			snprintf(what, sizeof(what), "%s per core, kernel (socket) / memcpy (memory), %s",
				 paths[pi], batch == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "crypto", what,
			       ratio(kern, metric(crypto, m, batch, 0, "mib_s_per_core")), true, 0.5);
			/*
			 * Under TCG, OpenSSL seals a 4 KiB message at a fifth of
			 * its bulk rate (an emulator artifact, see performance.rst):
			 * so also hold the kernel against OpenSSL's bulk rate.
			 */
			snprintf(e, sizeof(e), "%s/evp/memory", paths[pi]);
			snprintf(what, sizeof(what), "%s per core, kernel (socket, %s) / bare EVP 2 MiB",
				 paths[pi], batch == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "crypto", what,
			       ratio(kern, metric(crypto, e, BIG_BATCH, 0, "mib_s_per_core")), true, 0.95);
		}
}

/* Ratios with no target: where the time goes. */
static void crypto_notes(FILE *f, struct json_object *crypto)
{
	static const char *const paths[] = { "seal", "open" };
	char a[64], b[64], v1[16], v2[16];
	unsigned int pi, bi, batch;

	fprintf(f, "  %-52s %8s %8s\n", "ratios without targets (per core)", "4 KiB", "2 MiB");
	for (pi = 0; pi < 2; pi++) {
		double r[NBATCHES], s[NBATCHES], e[NBATCHES];

		for (bi = 0; bi < NBATCHES; bi++) {
			batch = batches[bi];
			snprintf(a, sizeof(a), "%s/kernel/devfd", paths[pi]);
			snprintf(b, sizeof(b), "%s/openssl/memory", paths[pi]);
			r[bi] = ratio(metric(crypto, a, batch, 0, "mib_s_per_core"),
				      metric(crypto, b, batch, 0, "mib_s_per_core"));
			/* the socket's share of OpenSSL's time per byte */
			snprintf(a, sizeof(a), "%s/openssl/socket", paths[pi]);
			s[bi] = 1 - ratio(metric(crypto, a, batch, 0, "mib_s_per_core"),
					  metric(crypto, b, batch, 0, "mib_s_per_core"));
			snprintf(a, sizeof(a), "%s/evp/memory", paths[pi]);
			e[bi] = ratio(metric(crypto, b, batch, 0, "mib_s_per_core"),
				      metric(crypto, a, batch, 0, "mib_s_per_core"));
		}
		fmt_num(v1, sizeof(v1), r[0], "%.2f");
		fmt_num(v2, sizeof(v2), r[1], "%.2f");
		fprintf(f, "  %-52s %8s %8s\n", paths[pi][0] == 's' ?
			"seal kernel (read()) / OpenSSL wire.c (memory)" :
			"open kernel (write()) / OpenSSL wire.c (memory)", v1, v2);
		fmt_num(v1, sizeof(v1), 100 * s[0], "%.0f%%");
		fmt_num(v2, sizeof(v2), 100 * s[1], "%.0f%%");
		fprintf(f, "  %-52s %8s %8s\n", paths[pi][0] == 's' ?
			"socket's share of OpenSSL seal CPU time" :
			"socket's share of OpenSSL open CPU time", v1, v2);
		fmt_num(v1, sizeof(v1), e[0], "%.2f");
		fmt_num(v2, sizeof(v2), e[1], "%.2f");
		fprintf(f, "  %-52s %8s %8s\n", paths[pi][0] == 's' ?
			"seal wire.c / bare EVP (framing, tables)" :
			"open wire.c / bare EVP (framing, tables, copy)", v1, v2);
	}
	fmt_num(v1, sizeof(v1), ratio(metric(crypto, "seal/evp-probe/memory", 1, 0, "mib_s_per_core"),
				      metric(crypto, "seal/evp/memory", 1, 0, "mib_s_per_core")), "%.2f");
	fprintf(f, "  %-52s %8s %8s\n", "bare EVP with the TCG probe / without", v1, "");
	fmt_num(v1, sizeof(v1), ratio(metric(crypto, "open/tag-first/memory", 1, 0, "mib_s_per_core"),
				      metric(crypto, "open/evp-copy/memory", 1, 0, "mib_s_per_core")),
		"%.2f");
	fprintf(f, "  %-52s %8s %8s\n", "page receive: tag first / decrypt and copy", v1, "");
}

static void print_crypto(FILE *f, struct json_object *crypto)
{
	struct json_object *m = jget(crypto, "machine");

	fprintf(f, "\nCrypto path: one channel, %d-byte page records, %d MiB per run, "
		"median of %d, %s sockets, %s\n", json_object_get_int(jget(crypto, "record_bytes")),
		json_object_get_int(jget(crypto, "mib_per_run")),
		json_object_get_int(jget(crypto, "reps")), dflt(jstr(crypto, "socket"), "?"), under(m));
	if (jget(crypto, "kernel_missing"))
		fprintf(f, "  (no kernel cases: %s)\n", jstr(crypto, "kernel_missing"));
	crypto_table(f, crypto);
	fprintf(f, "\n");
	crypto_notes(f, crypto);
	fprintf(f, "\n  targets (%s)\n", under(m));
	crypto_targets(f, crypto, NULL);
}

static void channels_targets(FILE *f, struct json_object *ch, struct json_object *targets)
{
	static const char *const ids[] = { "seal/kernel/socket", "open/kernel/socket" };
	int maxn = json_object_get_int(jget(ch, "max_channels"));
	char what[128];
	unsigned int i;
	int n;

	for (i = 0; i < 2; i++)
		for (n = 2; n <= maxn; n++) {
			double one = metric(ch, ids[i], BIG_BATCH, 1, "mib_s");
			double many = metric(ch, ids[i], BIG_BATCH, (unsigned int)n, "mib_s");

			snprintf(what, sizeof(what), "%s %d channels / (%d x 1 channel)",
				 ids[i][0] == 's' ? "seal" : "open", n, n);
			target(f, targets, "channels", what, ratio(many, n * one), true, 0.8);
		}
}

static void print_channels(FILE *f, struct json_object *ch)
{
	struct json_object *res = jget(ch, "results"), *r;
	char a[32], c[32], sc[32];
	size_t i;

	fprintf(f, "\nPage mode, N independent channels of one session (one open file, "
		"socket, region and thread each), %d MiB per channel per run, median of %d, "
		"%s sockets, %s\n", json_object_get_int(jget(ch, "mib_per_channel")),
		json_object_get_int(jget(ch, "reps")), dflt(jstr(ch, "socket"), "?"),
		under(jget(ch, "machine")));
	fprintf(f, "  %-21s %8s %12s %13s %9s\n", "case", "channels", "MiB/s (all)",
		"MiB/s per CPU", "scaling");
	for (i = 0; res && i < json_object_array_length(res); i++) {
		int n;
		double one;

		r = json_object_array_get_idx(res, i);
		n = json_object_get_int(jget(r, "channels"));
		one = metric(ch, dflt(jstr(r, "id"), ""), BIG_BATCH, 1, "mib_s");
		fmt_num(a, sizeof(a), jdbl(r, "mib_s"), "%.1f");
		fmt_num(c, sizeof(c), jdbl(r, "mib_s_per_core"), "%.1f");
		fmt_num(sc, sizeof(sc), ratio(jdbl(r, "mib_s"), one), "%.2fx");
		fprintf(f, "  %-21s %8d %12s %13s %9s\n", dflt(jstr(r, "id"), "?"), n, a, c, sc);
	}
	fprintf(f, "\n  targets (%s)\n", under(jget(ch, "machine")));
	channels_targets(f, ch, NULL);
}

static struct json_object *stream_result(struct json_object *st, const char *workload,
					 const char *mode)
{
	struct json_object *res = jget(st, "results"), *r;
	size_t i;

	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		if (!strcmp(dflt(jstr(r, "workload"), ""), workload) &&
		    !strcmp(dflt(jstr(r, "mode"), ""), mode))
			return r;
	}
	return NULL;
}

static void stream_targets(FILE *f, struct json_object *st, struct json_object *targets)
{
	static const char *const workloads[] = { "idle", "live" };
	char what[128];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct json_object *sv = stream_result(st, workloads[i], "svmig");
		struct json_object *pl = stream_result(st, workloads[i], "plain");
		struct json_object *tls = stream_result(st, workloads[i], "qemu-tls");

		if (!sv)
			continue;
		snprintf(what, sizeof(what), "%s: total time, svmig / plain tcp:", workloads[i]);
		target(f, targets, "stream", what, ratio(jdbl(sv, "total_ms"), jdbl(pl, "total_ms")),
		       false, 1.1);
		snprintf(what, sizeof(what), "%s: total time, svmig / QEMU TLS", workloads[i]);
		target(f, targets, "stream", what, ratio(jdbl(sv, "total_ms"), jdbl(tls, "total_ms")),
		       false, 0.33);
		snprintf(what, sizeof(what), "%s: downtime, svmig / plain tcp:%s", workloads[i],
			 i == 0 ? " (paused guest)" : "");
		target(f, targets, "stream", what,
		       ratio(jdbl(sv, "downtime_ms"), jdbl(pl, "downtime_ms")), false, 1.1);
	}
}

static void print_stream(FILE *f, struct json_object *st)
{
	struct json_object *res = jget(st, "results"), *r;
	char t[32], d[32], m[32];
	size_t i;

	fprintf(f, "\nStream mode, unmodified QEMU migrating a nested guest "
		"(tests/bench/stream-bench.sh), median of %d, guest %d MiB, idle payload %d MiB, "
		"nested accel %s, inside the test VM\n", json_object_get_int(jget(st, "reps")),
		json_object_get_int(jget(st, "mem_mib")), json_object_get_int(jget(st, "blob_mib")),
		dflt(jstr(st, "accel"), "?"));
	fprintf(f, "  %-8s %-9s %10s %12s %9s\n", "workload", "mode", "total ms", "downtime ms",
		"MiB/s");
	for (i = 0; res && i < json_object_array_length(res); i++) {
		double tot, bytes;

		r = json_object_array_get_idx(res, i);
		tot = jdbl(r, "total_ms");
		bytes = jdbl(r, "bytes");
		fmt_num(t, sizeof(t), tot, "%.0f");
		fmt_num(d, sizeof(d), jdbl(r, "downtime_ms"), "%.0f");
		fmt_num(m, sizeof(m), tot > 0 ? bytes / MIB / (tot / 1000) : NAN, "%.1f");
		fprintf(f, "  %-8s %-9s %10s %12s %9s\n", dflt(jstr(r, "workload"), "?"),
			dflt(jstr(r, "mode"), "?"), t, d, m);
	}
	fprintf(f, "\n  targets (nested QEMU inside the TCG test VM)\n");
	stream_targets(f, st, NULL);
}

/*
 * The data path's targets: the kernel against OpenSSL in memory too, the
 * scaling of one 2 MiB SUBMIT with the CPUs (seal-cpus.json, written by
 * tests/bench/guest-seal-cpus.sh), the copies, and stream mode's channels,
 * which need QEMU's multifd through svmig (not built yet: not measured).
 */
static void datapath_targets(FILE *f, struct json_object *crypto, struct json_object *sc,
			     struct json_object *targets)
{
	static const char *const paths[] = { "seal", "open" };
	struct json_object *res = jget(sc, "results"), *r;
	double scale = NAN, copied;
	char what[128], k[64], o[64];
	unsigned int pi, bi;
	size_t i;

	for (pi = 0; pi < 2; pi++)
		for (bi = 0; bi < NBATCHES; bi++) {
			snprintf(k, sizeof(k), "%s/kernel/devfd", paths[pi]);
			snprintf(o, sizeof(o), "%s/openssl/memory", paths[pi]);
			snprintf(what, sizeof(what), "%s per core, kernel / OpenSSL, in memory, %s",
				 paths[pi], batches[bi] == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "datapath", what,
			       ratio(metric(crypto, k, batches[bi], 0, "mib_s_per_core"),
				     metric(crypto, o, batches[bi], 0, "mib_s_per_core")), true, 0.95);
		}
	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		if (!strcmp(dflt(jstr(r, "id"), ""), "seal/kernel/socket") &&
		    json_object_get_int(jget(r, "batch")) == BIG_BATCH)
			scale = ratio(jdbl(r, "all_mib_s"), jdbl(r, "one_mib_s"));
	}
	snprintf(what, sizeof(what), "page mode, one 2 MiB SUBMIT, %d CPUs / 1 CPU (socket)",
		 json_object_get_int(jget(sc, "cpus")));
	target(f, targets, "datapath", what, scale, true, 1.7);
	target(f, targets, "datapath", "stream, 2 channels / 1, total time (needs multifd)",
	       NAN, false, 0.6);
	target(f, targets, "datapath", "stream, 2 channels / QEMU TLS, total time (multifd)",
	       NAN, false, 0.5);
	copied = metric(crypto, "seal/kernel/socket", BIG_BATCH, 0, "tx_copied_share");
	target(f, targets, "datapath", "sender: share of wire bytes copied after sealing",
	       copied, false, 0.0);
	/* Counted from the design (design.rst): socket -> buffer, copy into place. */
	target(f, targets, "datapath", "receiver: passes per byte besides the cipher (design)",
	       2.0, false, 1.0);
}

static void print_datapath(FILE *f, struct json_object *crypto, struct json_object *sc)
{
	struct json_object *res = jget(sc, "results"), *r;
	char one[32], all[32], x[32];
	size_t i;

	const char *how = under(jget(crypto, "machine"));

	fprintf(f, "\nData path: one channel's SUBMIT sealed on 1 CPU and on all "
		"(tests/bench/guest-seal-cpus.sh), %s\n", how);
	if (!sc)
		fprintf(f, "  (not measured: no seal-cpus.json)\n");
	else
		fprintf(f, "  median of %d rounds, %d MiB per run, %s sockets\n",
			json_object_get_int(jget(sc, "rounds")),
			json_object_get_int(jget(sc, "mib_per_run")), dflt(jstr(sc, "socket"), "?"));
	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		fmt_num(one, sizeof(one), jdbl(r, "one_mib_s"), "%.1f");
		fmt_num(all, sizeof(all), jdbl(r, "all_mib_s"), "%.1f");
		fmt_num(x, sizeof(x), ratio(jdbl(r, "all_mib_s"), jdbl(r, "one_mib_s")), "%.2fx");
		fprintf(f, "  %-20s batch %3d: 1 CPU %8s MiB/s, %d CPUs %8s MiB/s, %s\n",
			dflt(jstr(r, "id"), "?"), json_object_get_int(jget(r, "batch")), one,
			json_object_get_int(jget(sc, "cpus")), all, x);
	}
	fprintf(f, "\n  targets (%s)\n", how);
	datapath_targets(f, crypto, sc, NULL);
}

static int cmd_report(struct bench *b)
{
	struct json_object *crypto = load_json(b, "crypto.json");
	struct json_object *ch = load_json(b, "channels.json");
	struct json_object *st = load_json(b, "stream.json");
	struct json_object *sc = load_json(b, "seal-cpus.json");
	struct json_object *top = json_object_new_object(), *targets = json_object_new_array();
	struct json_object *m = jget(crypto, "machine") ? jget(crypto, "machine") : jget(ch, "machine");
	char *text = NULL, *path;
	size_t len = 0, i, met = 0, known = 0;
	FILE *f = open_memstream(&text, &len);
	int ret;

	if (!f)
		return -ENOMEM;
	m = m ? json_object_get(m) : machine_json(b);
	fprintf(f, "svmig-bench report, %s\n", dflt(jstr(m, "date"), ""));
	fprintf(f, "machine: %s, %d CPUs (%s), hypervisor %s: %s; kernel %s; %s; kernel AEAD %s\n",
		dflt(jstr(m, "cpu"), "?"), json_object_get_int(jget(m, "cpus")),
		dflt(jstr(m, "cpu_flags"), ""), dflt(jstr(m, "hypervisor"), "?"), dflt(jstr(m, "accel"), "?"),
		dflt(jstr(m, "kernel"), "?"), dflt(jstr(m, "openssl"), "?"), dflt(jstr(m, "aead_driver"), "?"));
	if (!strcmp(dflt(jstr(m, "accel"), ""), "TCG"))
		fprintf(f, "Every figure is measured under TCG: the CPU, AES-NI and PCLMULQDQ "
			"included, is emulated.\nOnly ratios of figures taken side by side in this "
			"run mean anything.\n");
	if (crypto)
		print_crypto(f, crypto);
	else
		fprintf(f, "\nCrypto path: not measured (no crypto.json)\n");
	if (ch)
		print_channels(f, ch);
	else
		fprintf(f, "\nPage mode channels: not measured (no channels.json)\n");
	if (st)
		print_stream(f, st);
	else
		fprintf(f, "\nStream mode: not measured (no stream.json)\n");
	if (crypto)
		print_datapath(f, crypto, sc);

	if (crypto)
		crypto_targets(NULL, crypto, targets);
	if (ch)
		channels_targets(NULL, ch, targets);
	if (st)
		stream_targets(NULL, st, targets);
	if (crypto)
		datapath_targets(NULL, crypto, sc, targets);
	for (i = 0; i < json_object_array_length(targets); i++) {
		struct json_object *met_o = jget(json_object_array_get_idx(targets, i), "met");

		if (met_o && json_object_is_type(met_o, json_type_boolean)) {
			known++;
			met += json_object_get_boolean(met_o);
		}
	}
	fprintf(f, "\nTargets: %zu of %zu measured met (%s)\n", met, known, under(m));
	fclose(f);
	fputs(text, stdout);

	path = out_path(b, "bench.txt");
	f = path ? fopen(path, "w") : NULL;
	if (f) {
		fputs(text, f);
		fclose(f);
		printf("# wrote %s\n", path);
	}
	free(path);
	free(text);

	json_object_object_add(top, "machine", m);
	json_object_object_add(top, "crypto", crypto ? crypto : json_object_new_null());
	json_object_object_add(top, "channels", ch ? ch : json_object_new_null());
	json_object_object_add(top, "stream", st ? st : json_object_new_null());
	json_object_object_add(top, "seal_cpus", sc ? sc : json_object_new_null());
	json_object_object_add(top, "targets", targets);
	ret = save_json(b, "bench.json", top);
	json_object_put(top);
	return ret;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [options] crypto|channels|stream|report|all\n"
"  crypto    kernel vs OpenSSL vs plain copies, seal and open, 4 KiB and 2 MiB batches\n"
"  channels  page mode with 1..N channels of one session, seal and open\n"
"  stream    run tests/bench/stream-bench.sh (QEMU plain vs svmig vs QEMU TLS)\n"
"  report    the table of all results, with the targets; bench.txt, bench.json\n"
"  all       crypto, channels, stream, report\n"
"options:\n"
"  --out DIR       results directory (default build/bench)\n"
"  --mib N         payload per run and channel, MiB (default 32)\n"
"  --reps N        runs of each case; medians are reported (default 5)\n"
"  --stream-reps N migrations of each kind (default: the script's, 3)\n"
"  --channels N    most channels (default: online CPUs)\n"
"  --socket unix|tcp  AF_UNIX socket pairs or TCP over 127.0.0.1 (default unix)\n"
"  --only STR      only cases whose PATH/IMPL/VIA/BATCH contains STR\n"
"  --no-tpm        key channels with SVMIG_KEY_NO_TPM (hosts without a TPM)\n"
"  --script PATH   the stream benchmark (default tests/bench/stream-bench.sh)\n"
"  --quick         a short check of the benchmark itself: --mib 4 --reps 1, and\n"
"                  one idle 32 MiB stream run per mode\n");
}

static int mkdir_p(const char *path)
{
	char *p = strdup(path), *q;
	int ret = 0;

	if (!p)
		return -1;
	for (q = p + 1; *q && !ret; q++)
		if (*q == '/') {
			*q = '\0';
			if (mkdir(p, 0755) && errno != EEXIST)
				ret = -1;
			*q = '/';
		}
	if (!ret && mkdir(p, 0755) && errno != EEXIST)
		ret = -1;
	free(p);
	return ret;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n == 0 || n > max)
		return -1;
	*v = (unsigned int)n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "mib", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "stream-reps", required_argument, NULL, 'R' },
		{ "channels", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'O' },
		{ "no-tpm", no_argument, NULL, 'T' },
		{ "script", required_argument, NULL, 'S' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { .o = { .out = "build/bench", .script = "tests/bench/stream-bench.sh",
				  .mib = 32, .reps = 5, .family = AF_UNIX } };
	bool mib_set = false, reps_set = false;
	const char *cmd;
	int opt, fd, ret = 0;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'o': b.o.out = optarg; break;
		case 'm':
			if (parse_uint(optarg, 4096, &b.o.mib))
				goto bad;
			mib_set = true;
			break;
		case 'r':
			if (parse_uint(optarg, 1000, &b.o.reps))
				goto bad;
			reps_set = true;
			break;
		case 'R':
			if (parse_uint(optarg, 100, &b.o.stream_reps))
				goto bad;
			break;
		case 'c':
			if (parse_uint(optarg, 256, &b.o.channels))
				goto bad;
			break;
		case 's':
			if (!strcmp(optarg, "unix"))
				b.o.family = AF_UNIX;
			else if (!strcmp(optarg, "tcp"))
				b.o.family = AF_INET;
			else
				goto bad;
			break;
		case 'O': b.o.only = optarg; break;
		case 'T': b.o.no_tpm = true; break;
		case 'S': b.o.script = optarg; break;
		case 'q': b.o.quick = true; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc - 1)
		goto bad;
	cmd = argv[optind];
	if (b.o.quick) {
		b.o.mib = mib_set ? b.o.mib : 4;
		b.o.reps = reps_set ? b.o.reps : 1;
	}
	if (!b.o.channels) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		b.o.channels = n > 0 ? (unsigned int)n : 1;
	}
	b.npages = (size_t)b.o.mib << 20 >> 12;
	signal(SIGPIPE, SIG_IGN);
	perf_open();
	if (mkdir_p(b.o.out)) {
		msg("mkdir %s: %s", b.o.out, strerror(errno));
		return 2;
	}
	/* the stream script runs in the work tree: give it an absolute path */
	b.o.out = realpath(b.o.out, NULL);
	if (!b.o.out) {
		msg("realpath: %s", strerror(errno));
		return 2;
	}
	if (RAND_bytes(b.secret, sizeof(b.secret)) != 1) {
		msg("RAND_bytes failed");
		return 1;
	}
	fd = svmig_open();
	b.have_kernel = fd >= 0;
	if (fd < 0)
		snprintf(b.kernel_note, sizeof(b.kernel_note), SVMIG_DEVICE ": %s (is svmig.ko loaded?)",
			 strerror(-fd));
	else
		close(fd);

	if (!strcmp(cmd, "crypto"))
		ret = cmd_crypto(&b);
	else if (!strcmp(cmd, "channels"))
		ret = cmd_channels(&b);
	else if (!strcmp(cmd, "stream"))
		ret = cmd_stream(&b);
	else if (!strcmp(cmd, "report"))
		ret = cmd_report(&b);
	else if (!strcmp(cmd, "all")) {
		int r;

		ret = cmd_crypto(&b);
		r = cmd_channels(&b);
		ret = ret ? ret : r;
		r = cmd_stream(&b);
		ret = ret ? ret : r;
		r = cmd_report(&b);
		ret = ret ? ret : r;
	} else {
		goto bad;
	}
	OPENSSL_cleanse(b.secret, sizeof(b.secret));
	return ret ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
