// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: the sockets a case sends or receives on (AF_UNIX pairs, or
 * TCP over 127.0.0.1) and the helper thread at the far end of each, which
 * drains what a seal case sends or feeds what an open case receives.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define DRAIN_BUF	(256U << 10)
/*
 * The drain thread wakes once this much is queued (SO_RCVLOWAT), as a NIC
 * coalesces: with a wake-up per record, the two vCPUs of the TCG test VM
 * spend most of their time spinning on the socket's lock
 * (unix_stream_sendmsg against the reader), whoever the sender is.
 */
#define DRAIN_LOWAT	(64U << 10)

int write_all(int fd, const uint8_t *p, size_t len)
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

void close_pair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

/* A connected SOCK_STREAM pair: AF_UNIX, or TCP over 127.0.0.1. */
int sock_pair(int family, int sv[2])
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

int helper_start(struct helper *h, int fd, bool feed, const uint8_t *data,
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

int helper_join(struct helper *h)
{
	if (!h->running)
		return 0;
	h->running = false;
	pthread_join(h->thr, NULL);
	return h->err;
}
