// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd's libvirt relay (userspace/svmigd/relay.c) without a kernel: the
 * two /dev/svmig channels and QEMU's UNIX socket are socketpairs whose
 * other ends the test plays.  Pins the resume gate: the return path's
 * SHUT (success) is held until svmigd_relay_source_release(), everything
 * before it reaches QEMU as it comes, a SHUT reporting failure is not
 * held, and a stream or return path that ends early, a return-path
 * message QEMU would never send, postcopy's page requests, or the
 * watched control connection fail
 * the relay; a multifd channel seals everything QEMU wrote before its
 * stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include "relay.h"

#define STREAM_LEN	(48 * 1024)

/* relay side [0], test side [1] of each */
struct rig {
	int qemu[2], out[2], in[2], watch[2];
	struct svmigd_relay r;
	char err[512];
};

static void pair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
}

static void rig_init(struct rig *g)
{
	memset(g, 0, sizeof(*g));
	pair(g->qemu);
	pair(g->out);
	pair(g->in);
	pair(g->watch);
	assert_int_equal(svmigd_relay_init(&g->r, 2000, g->err, sizeof(g->err)), 0);
	g->r.qemu = g->qemu[0];
	g->r.out = g->out[0];
	g->r.in = g->in[0];
	g->r.watch = g->watch[0];
}

static void rig_free(struct rig *g)
{
	int *fds[] = { g->qemu, g->out, g->in, g->watch };
	size_t i;

	for (i = 0; i < 4; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	svmigd_relay_free(&g->r);
}

static void put(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

/* Everything readable on @fd now (non-blocking), at most @max bytes. */
static size_t take(int fd, uint8_t *buf, size_t max)
{
	size_t len = 0;
	ssize_t n;

	while (len < max) {
		n = recv(fd, buf + len, max - len, MSG_DONTWAIT);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	return len;
}

static const uint8_t pong[] = { 0, 2, 0, 4, 0, 0, 0, 1 };	/* PONG 1 */
static const uint8_t shut_ok[] = { 0, 1, 0, 4, 0, 0, 0, 0 };	/* SHUT 0 */
static const uint8_t shut_bad[] = { 0, 1, 0, 4, 0, 0, 0, 1 };	/* SHUT 1 */

static uint8_t *stream(void)
{
	uint8_t *s = malloc(STREAM_LEN);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < STREAM_LEN; i++)
		s[i] = (uint8_t)(i * 7 + 3);
	return s;
}

/* The gate: PONG passes, SHUT and what follows wait for the release. */
static void test_source_gate(void **state)
{
	uint8_t *s = stream(), *got = malloc(STREAM_LEN + 1), back[64];
	struct rig g;

	(void)state;
	assert_non_null(got);
	rig_init(&g);
	put(g.qemu[1], s, STREAM_LEN);
	put(g.in[1], pong, sizeof(pong));
	put(g.in[1], shut_ok, sizeof(shut_ok));
	put(g.in[1], "tail", 4);
	assert_int_equal(svmigd_relay_source_run(&g.r, g.err, sizeof(g.err)), 0);
	assert_true(g.r.shut_held);
	assert_int_equal(take(g.out[1], got, STREAM_LEN + 1), STREAM_LEN);
	assert_memory_equal(got, s, STREAM_LEN);
	assert_int_equal(g.r.fwd_bytes, STREAM_LEN);
	/* QEMU has the PONG, and nothing of the SHUT yet */
	assert_int_equal(take(g.qemu[1], back, sizeof(back)), sizeof(pong));
	assert_memory_equal(back, pong, sizeof(pong));

	shutdown(g.in[1], SHUT_WR);	/* the return path's END */
	assert_int_equal(svmigd_relay_source_release(&g.r, g.err, sizeof(g.err)), 0);
	assert_int_equal(take(g.qemu[1], back, sizeof(back)), sizeof(shut_ok) + 4);
	assert_memory_equal(back, shut_ok, sizeof(shut_ok));
	assert_memory_equal(back + sizeof(shut_ok), "tail", 4);
	rig_free(&g);
	free(s);
	free(got);
}

/* A SHUT in pieces is still recognised and held. */
static void test_source_gate_split(void **state)
{
	uint8_t back[16];
	struct rig g;

	(void)state;
	rig_init(&g);
	put(g.in[1], shut_ok, 3);
	put(g.in[1], shut_ok + 3, sizeof(shut_ok) - 3);
	assert_int_equal(svmigd_relay_source_run(&g.r, g.err, sizeof(g.err)), 0);
	assert_true(g.r.shut_held);
	assert_int_equal(take(g.qemu[1], back, sizeof(back)), 0);
	rig_free(&g);
}

/* QEMU ends its stream with no SHUT: a failed migration, nothing held. */
static void test_source_eof_before_shut(void **state)
{
	struct rig g;

	(void)state;
	rig_init(&g);
	put(g.qemu[1], "abc", 3);
	shutdown(g.qemu[1], SHUT_WR);
	assert_int_equal(svmigd_relay_source_run(&g.r, g.err, sizeof(g.err)), -1);
	assert_non_null(strstr(g.err, "closed its migration stream"));
	rig_free(&g);
}

/* The return path ends (or breaks) before the SHUT. */
static void test_source_rp_eof(void **state)
{
	struct rig g;

	(void)state;
	rig_init(&g);
	put(g.in[1], pong, sizeof(pong));
	shutdown(g.in[1], SHUT_WR);
	assert_int_equal(svmigd_relay_source_run(&g.r, g.err, sizeof(g.err)), -1);
	assert_non_null(strstr(g.err, "return path ended"));
	rig_free(&g);
}

/* A SHUT that reports failure goes to QEMU at once: its migration fails. */
static void test_source_shut_failure_passes(void **state)
{
	uint8_t back[16];
	struct rig g;

	(void)state;
	rig_init(&g);
	put(g.in[1], shut_bad, sizeof(shut_bad));
	shutdown(g.in[1], SHUT_WR);
	assert_int_equal(svmigd_relay_source_run(&g.r, g.err, sizeof(g.err)), -1);
	assert_false(g.r.shut_held);
	assert_int_equal(take(g.qemu[1], back, sizeof(back)), sizeof(shut_bad));
	assert_memory_equal(back, shut_bad, sizeof(shut_bad));
	rig_free(&g);
}

/* A return-path message longer than any of QEMU's. */
static void test_source_rp_too_long(void **state)
{
	static const uint8_t big[] = { 0, 2, 0x13, 0x88 };	/* 5000 bytes */
	struct rig g;

	(void)state;
	rig_init(&g);
	put(g.in[1], big, sizeof(big));
	assert_int_equal(svmigd_relay_source_run(&g.r, g.err, sizeof(g.err)), -1);
	assert_non_null(strstr(g.err, "is not QEMU's"));
	rig_free(&g);
}

/* Postcopy's page request: the relay does not carry postcopy. */
static void test_source_postcopy_refused(void **state)
{
	static const uint8_t req_pages[] = { 0, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0x10, 0,
					     0, 0, 0x10, 0 };
	uint8_t back[32];
	struct rig g;

	(void)state;
	rig_init(&g);
	put(g.in[1], req_pages, sizeof(req_pages));
	assert_int_equal(svmigd_relay_source_run(&g.r, g.err, sizeof(g.err)), -1);
	assert_non_null(strstr(g.err, "postcopy"));
	assert_int_equal(take(g.qemu[1], back, sizeof(back)), 0);
	rig_free(&g);
}

/* The control connection turns readable: the peer gave up. */
static void test_source_watch(void **state)
{
	struct rig g;

	(void)state;
	rig_init(&g);
	put(g.watch[1], "x", 1);
	assert_int_equal(svmigd_relay_source_run(&g.r, g.err, sizeof(g.err)), -1);
	assert_non_null(strstr(g.err, "peer ended the session"));
	rig_free(&g);
}

/* Target: the stream to QEMU up to its END, QEMU's return path out. */
static void test_target(void **state)
{
	uint8_t *s = stream(), *got = malloc(STREAM_LEN + 1), back[64];
	struct rig g;

	(void)state;
	assert_non_null(got);
	rig_init(&g);
	put(g.qemu[1], pong, sizeof(pong));
	put(g.in[1], s, STREAM_LEN);
	shutdown(g.in[1], SHUT_WR);	/* the stream's END */
	assert_int_equal(svmigd_relay_target_run(&g.r, g.err, sizeof(g.err)), 0);
	assert_int_equal(take(g.qemu[1], got, STREAM_LEN + 1), STREAM_LEN);
	assert_memory_equal(got, s, STREAM_LEN);
	/* QEMU sees its stream end */
	assert_int_equal(recv(g.qemu[1], back, 1, MSG_DONTWAIT), 0);
	assert_int_equal(take(g.out[1], back, sizeof(back)), sizeof(pong));
	assert_memory_equal(back, pong, sizeof(pong));
	rig_free(&g);
	free(s);
	free(got);
}

/* Target: a stream that breaks (the kernel refused a record) fails it. */
static void test_target_refused(void **state)
{
	struct rig g;

	(void)state;
	rig_init(&g);
	/* a receiver's read() error, as svmig.ko's -EBADMSG would be */
	close(g.in[1]);
	g.in[1] = -1;
	shutdown(g.in[0], SHUT_RDWR);
	close(g.r.in);
	g.r.in = g.in[0] = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(g.r.in >= 0);
	put(g.qemu[1], "x", 1);
	assert_int_equal(svmigd_relay_target_run(&g.r, g.err, sizeof(g.err)), -1);
	assert_non_null(strstr(g.err, "svmig.ko refused the stream"));
	rig_free(&g);
}

/* A multifd channel: all QEMU wrote is sealed once the gate says stop. */
static void test_forward_stop(void **state)
{
	uint8_t *s = stream(), *got = malloc(STREAM_LEN + 1);
	int stop[2];
	struct rig g;

	(void)state;
	assert_non_null(got);
	rig_init(&g);
	assert_int_equal(pipe(stop), 0);
	put(g.qemu[1], s, STREAM_LEN);
	put(stop[1], "x", 1);
	assert_int_equal(svmigd_relay_forward_run(&g.r, stop[0], g.err, sizeof(g.err)), 0);
	assert_int_equal(take(g.out[1], got, STREAM_LEN + 1), STREAM_LEN);
	assert_memory_equal(got, s, STREAM_LEN);
	close(stop[0]);
	close(stop[1]);
	rig_free(&g);
	free(s);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_gate),
		cmocka_unit_test(test_source_gate_split),
		cmocka_unit_test(test_source_eof_before_shut),
		cmocka_unit_test(test_source_rp_eof),
		cmocka_unit_test(test_source_shut_failure_passes),
		cmocka_unit_test(test_source_rp_too_long),
		cmocka_unit_test(test_source_postcopy_refused),
		cmocka_unit_test(test_source_watch),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_target_refused),
		cmocka_unit_test(test_forward_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
