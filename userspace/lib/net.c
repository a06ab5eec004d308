// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * TCP endpoints and deadlines (net.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define RETRY_MS 200

long long svmig_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int svmig_left_ms(long long deadline)
{
	long long left = deadline - svmig_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

void svmig_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void set_err(char *err, size_t errlen, const char *what,
		    const char *endpoint, int errnum)
{
	char buf[128];

	if (!err || !errlen)
		return;
	snprintf(err, errlen, "%s %s: %s", what, endpoint,
		 strerror_r(errnum, buf, sizeof(buf)));
}

int svmig_split_hostport(const char *endpoint, char *host, size_t hlen,
			 char *port, size_t plen)
{
	const char *h = endpoint, *colon;
	size_t n;

	if (*endpoint == '[') {
		h = endpoint + 1;
		colon = strstr(h, "]:");
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(endpoint, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - endpoint);
	}
	if (n >= hlen || !colon[1] || strlen(colon + 1) >= plen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

int svmig_resolve(const char *endpoint, bool passive, struct addrinfo **res,
		  char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
	};
	char host[256], port[32];
	int ret;

	*res = NULL;
	if (svmig_split_hostport(endpoint, host, sizeof(host), port, sizeof(port))) {
		if (err && errlen)
			snprintf(err, errlen, "'%s' is not HOST:PORT", endpoint);
		return -EINVAL;
	}
	ret = getaddrinfo(host[0] ? host : NULL, port, &hints, res);
	if (ret) {
		*res = NULL;
		if (err && errlen)
			snprintf(err, errlen, "cannot resolve %s: %s", endpoint,
				 gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	return 0;
}

static int listen_on(const struct addrinfo *ai, int backlog)
{
	int one = 1, fd, err;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, backlog)) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int svmig_tcp_listen(const char *endpoint, int backlog, char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	int fd;

	fd = svmig_resolve(endpoint, true, &res, err, errlen);
	if (fd)
		return fd;
	fd = -EADDRNOTAVAIL;
	for (ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = listen_on(ai, backlog);
	freeaddrinfo(res);
	if (fd < 0)
		set_err(err, errlen, "cannot listen on", endpoint, -fd);
	return fd;
}

/* One non-blocking attempt bounded by @deadline: a blocking socket or -errno. */
static int try_connect(const struct addrinfo *ai, long long deadline,
		       const volatile sig_atomic_t *stop)
{
	struct pollfd pfd = { .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int fd, err = 0, n, fl;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		err = errno;
		if (err == EINPROGRESS) {
			pfd.fd = fd;
			do {
				n = poll(&pfd, 1, svmig_left_ms(deadline));
			} while (n < 0 && errno == EINTR && !(stop && *stop));
			err = n > 0 ? 0 : n == 0 ? ETIMEDOUT : errno;
			if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
				err = errno;
		}
	}
	fl = err ? 0 : fcntl(fd, F_GETFL);
	if (!err && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK)))
		err = errno;
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
}

int svmig_tcp_connect(const char *endpoint, long long deadline,
		      bool retry_refused, const volatile sig_atomic_t *stop,
		      char *err, size_t errlen)
{
	struct addrinfo *res, *ai;
	int fd;

	fd = svmig_resolve(endpoint, false, &res, err, errlen);
	if (fd)
		return fd;
	for (;;) {
		fd = -ETIMEDOUT;
		for (ai = res; ai && fd < 0; ai = ai->ai_next)
			fd = try_connect(ai, deadline, stop);
		if (fd >= 0 || !retry_refused || fd != -ECONNREFUSED)
			break;
		if ((stop && *stop) || !svmig_left_ms(deadline))
			break;
		svmig_sleep_ms(RETRY_MS);
	}
	freeaddrinfo(res);
	if (fd < 0 && stop && *stop)
		fd = -EINTR;
	if (fd < 0)
		set_err(err, errlen, "cannot connect to", endpoint, -fd);
	return fd;
}
