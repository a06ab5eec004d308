// SPDX-License-Identifier: GPL-2.0
/*
 * userspace/lib/net.c, the TCP endpoints of svmigd and svmig-migrate, on
 * this host's loopback: endpoint parsing (IPv4, IPv6, ":PORT", and what is
 * not an endpoint), a listener and a connection through it, a refused
 * connection given up at its deadline, and a listener that appears while
 * the connect is retrying.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_util.h"
#include "net.h"

static void test_split(void **state)
{
	char host[64], port[16];

	(void)state;
	assert_int_equal(svmig_split_hostport("10.0.0.1:7001", host, sizeof(host),
					      port, sizeof(port)), 0);
	assert_string_equal(host, "10.0.0.1");
	assert_string_equal(port, "7001");
	assert_int_equal(svmig_split_hostport("[fe80::1]:22", host, sizeof(host),
					      port, sizeof(port)), 0);
	assert_string_equal(host, "fe80::1");
	assert_string_equal(port, "22");
	assert_int_equal(svmig_split_hostport(":7002", host, sizeof(host),
					      port, sizeof(port)), 0);
	assert_string_equal(host, "");
	assert_string_equal(port, "7002");
	/* not endpoints, or parts that do not fit */
	assert_int_equal(svmig_split_hostport("host-b", host, sizeof(host), port,
					      sizeof(port)), -EINVAL);
	assert_int_equal(svmig_split_hostport("host-b:", host, sizeof(host), port,
					      sizeof(port)), -EINVAL);
	assert_int_equal(svmig_split_hostport("[::1]", host, sizeof(host), port,
					      sizeof(port)), -EINVAL);
	assert_int_equal(svmig_split_hostport("[::1:7", host, sizeof(host), port,
					      sizeof(port)), -EINVAL);
	assert_int_equal(svmig_split_hostport("abcdefgh:1", host, 8, port,
					      sizeof(port)), -EINVAL);
	assert_int_equal(svmig_split_hostport("a:123456", host, sizeof(host), port,
					      4), -EINVAL);
}

static void test_resolve_refuses_garbage(void **state)
{
	struct addrinfo *ai;
	char err[128];

	(void)state;
	assert_int_equal(svmig_resolve("no-port-here", false, &ai, err, sizeof(err)),
			 -EINVAL);
	assert_null(ai);
	assert_non_null(strstr(err, "is not HOST:PORT"));
	assert_int_equal(svmig_resolve("127.0.0.1:http", false, &ai, err, sizeof(err)),
			 -EHOSTUNREACH);	/* numeric ports only */
	assert_non_null(strstr(err, "cannot resolve 127.0.0.1:http"));
}

/* A free loopback port: bound to 0, named, closed. */
static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void test_listen_connect(void **state)
{
	char ep[64], err[128];
	int lfd, cfd, afd;
	char c = 0;

	(void)state;
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", free_port());
	lfd = svmig_tcp_listen(ep, 1, err, sizeof(err));
	assert_true(lfd >= 0);
	cfd = svmig_tcp_connect(ep, svmig_now_ms() + 2000, false, NULL, err, sizeof(err));
	assert_true(cfd >= 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	/* the connected socket is blocking, as callers expect */
	assert_int_equal(fcntl(cfd, F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(write(afd, "x", 1), 1);
	assert_int_equal(read(cfd, &c, 1), 1);
	assert_int_equal(c, 'x');
	/* a second listener on the same endpoint is refused, with a reason */
	assert_int_equal(svmig_tcp_listen(ep, 1, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, "cannot listen on"));
	close(afd);
	close(cfd);
	close(lfd);
}

static void test_refused_until_deadline(void **state)
{
	long long t0 = svmig_now_ms();
	char ep[64], err[128];

	(void)state;
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", free_port());
	assert_int_equal(svmig_tcp_connect(ep, t0 + 5000, false, NULL, err, sizeof(err)),
			 -ECONNREFUSED);
	assert_true(svmig_now_ms() - t0 < 2000);	/* no retry asked: at once */
	assert_non_null(strstr(err, "cannot connect to"));
	t0 = svmig_now_ms();
	assert_int_equal(svmig_tcp_connect(ep, t0 + 700, true, NULL, err, sizeof(err)),
			 -ECONNREFUSED);
	assert_true(svmig_now_ms() - t0 >= 600);	/* retried until the deadline */
}

static void test_stop_flag(void **state)
{
	volatile sig_atomic_t stop = 1;
	char ep[64], err[128];

	(void)state;
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", free_port());
	assert_int_equal(svmig_tcp_connect(ep, svmig_now_ms() + 5000, true, &stop,
					   err, sizeof(err)), -EINTR);
}

struct late {
	char ep[64];
	int lfd;
};

static void *listen_late(void *arg)
{
	struct late *l = arg;

	svmig_sleep_ms(400);
	l->lfd = svmig_tcp_listen(l->ep, 1, NULL, 0);
	return NULL;
}

static void test_retry_meets_late_listener(void **state)
{
	struct late l = { .lfd = -1 };
	pthread_t t;
	int fd;

	(void)state;
	snprintf(l.ep, sizeof(l.ep), "127.0.0.1:%d", free_port());
	assert_int_equal(pthread_create(&t, NULL, listen_late, &l), 0);
	fd = svmig_tcp_connect(l.ep, svmig_now_ms() + 5000, true, NULL, NULL, 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(l.lfd >= 0);
	assert_true(fd >= 0);
	close(fd);
	close(l.lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_resolve_refuses_garbage),
		cmocka_unit_test(test_listen_connect),
		cmocka_unit_test(test_refused_until_deadline),
		cmocka_unit_test(test_stop_flag),
		cmocka_unit_test(test_retry_meets_late_listener),
	};

	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
