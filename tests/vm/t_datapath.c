// SPDX-License-Identifier: GPL-2.0
/*
 * The data path's buffers, tried where they could go wrong:
 *  - transmit without copies: every wire byte is lent to a TCP socket
 *    (zerocopy_bytes == bytes), and a buffer the socket still holds is never
 *    written again: a receiver that reads nothing until the sender has
 *    sealed 2 MiB (far more than the transmit buffers) must still verify
 *    every page, over AF_UNIX (the reader copies from the lent pages
 *    themselves) and TCP;
 *  - receive in bulk: one receive takes many records (sock_reads a small
 *    fraction of records), records split across receives and across the
 *    buffer's end (stream writes of odd sizes) arrive intact;
 *  - poll() reports records already buffered in the kernel while the
 *    socket itself is empty, and a nonblocking RECV applies them;
 *  - bytes after the END are never looked at: the stream still verifies.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libsvmig.h"
#include "tap.h"
#include "tcp_pair.h"

#define PG		4096
#define PAGES		512		/* 2 MiB: 34 transmit buffers' worth */
#define STREAM_BYTES	(3 << 20)

static const uint8_t session[SVMIG_SESSION_ID_LEN] = { 0xda, 0x7a };
static const uint8_t secret[SVMIG_SECRET_LEN] = { 0x9a, 0x7e, 0x11 };

static int open_keyed(uint32_t flags)
{
	int fd = svmig_open();

	if (fd < 0 || svmig_set_key(fd, flags, 0, session, secret))
		tap_bail("keyed channel: %s", strerror(errno));
	return fd;
}

static void *map_pages(size_t n)
{
	void *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	return p;
}

static void fill_random(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	srandom(seed);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)random();
}

static struct svmig_stats stats_of(int fd)
{
	struct svmig_stats st;

	if (svmig_get_stats(fd, &st))
		tap_bail("GET_STATS: %s", strerror(errno));
	return st;
}

static void sock_pair(bool tcp, int sv[2])
{
	if (tcp)
		tcp_pair(&sv[0], &sv[1]);
	else if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
}

/* ---- page mode ---- */

struct page_sender {
	int fd;
	uint8_t *mem;
	struct svmig_ring ring;
	int ret;
	bool done;
};

/* Every page, in batches of 64, then FINISH: blocks while the socket is full. */
static void *page_send_all(void *arg)
{
	struct page_sender *s = arg;
	uint32_t p, i;
	int ret = 0;

	for (p = 0; p < PAGES && !ret; p += 64) {
		for (i = 0; i < 64; i++)
			svmig_ring_push(&s->ring, 1, p + i);
		svmig_ring_publish(&s->ring);
		ret = svmig_submit(s->fd, 0, NULL);
	}
	s->ret = ret ? ret : svmig_finish(s->fd);
	__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * 6 checks: a sender that runs ahead of a receiver reading nothing, then
 * the receiver takes it all; over AF_UNIX or TCP.
 */
static void test_page_late_reader(bool tcp)
{
	const char *how = tcp ? "TCP" : "AF_UNIX";
	struct page_sender s = { 0 };
	struct svmig_stats tx_st, rx_st;
	uint8_t *rmem = map_pages(PAGES);
	uint32_t got = 0;
	pthread_t t;
	int sv[2], rx;

	s.mem = map_pages(PAGES);
	fill_random(s.mem, (size_t)PAGES * PG, tcp ? 7 : 3);
	sock_pair(tcp, sv);
	s.fd = open_keyed(SVMIG_ROLE_SENDER);
	rx = open_keyed(SVMIG_ROLE_RECEIVER);
	if (svmig_add_region(s.fd, 1, 0, s.mem, (uint64_t)PAGES * PG) ||
	    svmig_add_region(rx, 1, 0, rmem, (uint64_t)PAGES * PG) ||
	    svmig_ring_init(s.fd, 128, &s.ring) || svmig_attach_socket(s.fd, sv[0]) ||
	    svmig_attach_socket(rx, sv[1]))
		tap_bail("page channels: %s", strerror(errno));
	close(sv[0]);
	close(sv[1]);
	if (pthread_create(&t, NULL, page_send_all, &s))
		tap_bail("pthread_create");
	/* Let the sender fill the socket and block: lent buffers pile up. */
	sleep(1);
	tx_st = stats_of(s.fd);
	tap_diag("%s: sender sealed %llu records before the receiver read any", how,
		 (unsigned long long)tx_st.records);
	tap_errno(svmig_recv(rx, 0, &got), 0, "%s: RECV of a sender that ran ahead", how);
	pthread_join(t, NULL);
	tap_errno(s.ret, 0, "%s: every SUBMIT and the FINISH succeeded", how);
	tap_errno(svmig_verify(rx), 0, "%s: VERIFY: every page authentic, none overwritten "
		  "while the socket held it", how);
	tap_ok(!memcmp(s.mem, rmem, (size_t)PAGES * PG), "%s: the 2 MiB arrived intact", how);
	tx_st = stats_of(s.fd);
	rx_st = stats_of(rx);
	/* AF_UNIX: a full socket is sent to by copy (it would not wait otherwise). */
	tap_ok(tx_st.zerocopy_bytes && (!tcp || tx_st.zerocopy_bytes == tx_st.bytes),
	       "%s: %s wire bytes lent to the socket (%llu of %llu)", how,
	       tcp ? "all" : "some", (unsigned long long)tx_st.zerocopy_bytes,
	       (unsigned long long)tx_st.bytes);
	tap_ok(rx_st.records == PAGES + 2 && rx_st.sock_reads * 4 <= rx_st.records,
	       "%s: %llu records in %llu receives (bulk: at most a quarter)", how,
	       (unsigned long long)rx_st.records, (unsigned long long)rx_st.sock_reads);
	svmig_ring_exit(&s.ring);
	close(s.fd);
	close(rx);
	munmap(s.mem, (size_t)PAGES * PG);
	munmap(rmem, (size_t)PAGES * PG);
}

/*
 * 7 checks: records the kernel already holds make poll() report POLLIN
 * though the socket is empty, and a nonblocking RECV applies them.
 */
static void test_poll_buffered(void)
{
	uint8_t *smem = map_pages(4), *rmem = map_pages(4);
	struct svmig_ring ring;
	struct pollfd pfd;
	uint32_t got = 0;
	int sv[2], tx, rx, queued = -1, fl, ret;

	fill_random(smem, 4 * PG, 11);
	sock_pair(false, sv);
	tx = open_keyed(SVMIG_ROLE_SENDER);
	rx = open_keyed(SVMIG_ROLE_RECEIVER);
	if (svmig_add_region(tx, 1, 0, smem, 4 * PG) || svmig_add_region(rx, 1, 0, rmem, 4 * PG) ||
	    svmig_ring_init(tx, 8, &ring) || svmig_attach_socket(tx, sv[0]) ||
	    svmig_attach_socket(rx, sv[1]))
		tap_bail("page channels: %s", strerror(errno));
	svmig_ring_push(&ring, 1, 0);
	svmig_ring_push(&ring, 1, 1);
	svmig_ring_push(&ring, 1, 2);
	svmig_ring_publish(&ring);
	if (svmig_submit(tx, 0, NULL) || svmig_finish(tx))
		tap_bail("send: %s", strerror(errno));
	tap_errno(svmig_recv(rx, 1, &got), 0, "RECV of one record (the HELLO)");
	if (ioctl(sv[1], FIONREAD, &queued))
		tap_bail("FIONREAD: %s", strerror(errno));
	tap_ok(queued == 0, "that one receive took every record from the socket (%d left)",
	       queued);
	pfd = (struct pollfd){ .fd = rx, .events = POLLIN };
	ret = poll(&pfd, 1, 0);
	tap_ok(ret == 1 && (pfd.revents & POLLIN),
	       "poll(): POLLIN for the records buffered in the kernel (revents %#x)",
	       pfd.revents);
	fl = fcntl(rx, F_GETFL);
	if (fl < 0 || fcntl(rx, F_SETFL, fl | O_NONBLOCK))
		tap_bail("O_NONBLOCK");
	got = 0;
	tap_errno(svmig_recv(rx, 0, &got), 0, "nonblocking RECV applies them, no EAGAIN");
	tap_ok(got == 4, "the three pages and the MANIFEST (%u records)", got);
	tap_errno(svmig_verify(rx), 0, "VERIFY");
	tap_ok(!memcmp(smem, rmem, 3 * PG), "the pages arrived intact");
	svmig_ring_exit(&ring);
	close(sv[0]);
	close(sv[1]);
	close(tx);
	close(rx);
	munmap(smem, 4 * PG);
	munmap(rmem, 4 * PG);
}

/* ---- stream mode ---- */

struct stream_writer {
	int fd, raw;
	const uint8_t *buf;
	int ret;
};

/* Writes of odd sizes, so records straddle receives and the buffer's end. */
static void *stream_write_all(void *arg)
{
	struct stream_writer *w = arg;
	size_t off = 0, n;
	ssize_t k;
	unsigned int seed = 5;

	while (off < STREAM_BYTES) {
		n = 1 + rand_r(&seed) % 40000;
		if (n > STREAM_BYTES - off)
			n = STREAM_BYTES - off;
		k = write(w->fd, w->buf + off, n);
		if (k <= 0) {
			w->ret = -errno;
			return NULL;
		}
		off += (size_t)k;
	}
	w->ret = svmig_finish(w->fd);
	/* Junk after the END, by whoever else can write on the connection. */
	if (!w->ret && write(w->raw, "after the end", 13) != 13)
		w->ret = -errno;
	return NULL;
}

/* 6 checks: 3 MiB through stream mode over TCP, read in odd-sized pieces. */
static void test_stream_bulk(void)
{
	uint8_t *src = malloc(STREAM_BYTES), *dst = malloc(STREAM_BYTES);
	struct stream_writer w = { .buf = src };
	struct svmig_stats tx_st, rx_st;
	unsigned int seed = 9;
	size_t off = 0, want;
	ssize_t k = 1;
	pthread_t t;
	int sv[2], rx;

	if (!src || !dst)
		tap_bail("malloc");
	fill_random(src, STREAM_BYTES, 13);
	sock_pair(true, sv);
	w.fd = open_keyed(SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM);
	rx = open_keyed(SVMIG_ROLE_RECEIVER | SVMIG_KEY_STREAM);
	if (svmig_attach_socket(w.fd, sv[0]) || svmig_attach_socket(rx, sv[1]))
		tap_bail("stream channels: %s", strerror(errno));
	w.raw = sv[0];
	if (pthread_create(&t, NULL, stream_write_all, &w))
		tap_bail("pthread_create");
	sleep(1);
	while (off < STREAM_BYTES) {
		want = 1 + rand_r(&seed) % 70000;
		if (want > STREAM_BYTES - off)
			want = STREAM_BYTES - off;
		k = read(rx, dst + off, want);
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	pthread_join(t, NULL);
	tap_errno(w.ret, 0, "writes, FINISH and junk after the END");
	tap_ok(off == STREAM_BYTES && !memcmp(src, dst, STREAM_BYTES),
	       "3 MiB read back intact (%zu bytes)", off);
	k = read(rx, dst, 1);
	tap_ok(k == 0, "then end of file: the END verified, the junk after it unread (%zd)", k);
	tap_errno(svmig_verify(rx), 0, "VERIFY");
	tx_st = stats_of(w.fd);
	rx_st = stats_of(rx);
	tap_ok(tx_st.bytes && tx_st.zerocopy_bytes == tx_st.bytes,
	       "stream: every wire byte lent to the socket (%llu of %llu)",
	       (unsigned long long)tx_st.zerocopy_bytes, (unsigned long long)tx_st.bytes);
	tap_ok(rx_st.sock_reads < rx_st.records,
	       "stream: %llu records in %llu receives", (unsigned long long)rx_st.records,
	       (unsigned long long)rx_st.sock_reads);
	close(w.fd);
	close(rx);
	close(sv[0]);
	close(sv[1]);
	free(src);
	free(dst);
}

int main(void)
{
	tap_plan(6 + 6 + 7 + 6);
	test_page_late_reader(false);
	test_page_late_reader(true);
	test_poll_buffered();
	test_stream_bulk();
	return tap_done();
}
