// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: sockets and time: TCP listen and connect, addresses, a peer's
 * --peer addresses, the monotonic clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon_int.h"
#include "util.h"

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int split_hostport(const char *s, char *host, size_t hlen,
			  char *port, size_t plen)
{
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - s - 1);
		if (n >= hlen)
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = 0;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
		if (n >= hlen)
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = 0;
	}
	if (!colon[1] || strlen(colon + 1) >= plen)
		return -EINVAL;
	strcpy(port, colon + 1);
	return 0;
}

static int resolve(const char *hostport, bool passive, struct addrinfo **ai)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	char host[256], port[32];

	if (split_hostport(hostport, host, sizeof(host), port, sizeof(port)))
		return -EINVAL;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	hints.ai_flags |= AI_NUMERICSERV;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, ai))
		return -EHOSTUNREACH;
	return 0;
}

int tcp_listen(const char *hostport)
{
	struct addrinfo *ai;
	int fd, one = 1;

	if (resolve(hostport, true, &ai))
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 8)) {
		logp_(LOG_ERR, "listen on %s: %s", hostport, svmigd_strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* A connected socket, or -1 with errno saying why the last address failed. */
int tcp_connect(const char *hostport, int timeout_ms)
{
	struct addrinfo *ai, *p;
	int fd = -1, err = EADDRNOTAVAIL;

	if (resolve(hostport, false, &ai)) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		struct pollfd pfd;
		int soerr = 0, n;
		socklen_t sl = sizeof(soerr);

		fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, p->ai_addr, p->ai_addrlen) && errno != EINPROGRESS) {
			err = errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		n = poll(&pfd, 1, timeout_ms);
		if (n != 1) {
			err = n ? errno : ETIMEDOUT;
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
			err = soerr ?: errno;
			goto next;
		}
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
			err = errno;
			goto next;
		}
		break;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		errno = err;
	return fd;
}

bool readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1;
}

bool same_host(const struct sockaddr_storage *a,
	       const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return false;
}

int set_sock_timeout(int fd, int opt, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

int peer_addrs(struct daemon *d, const char *name, char *ctl,
	       size_t clen, char *data, size_t dlen)
{
	size_t n = strlen(name), i;

	for (i = 0; i < d->o->n_peers; i++) {
		const char *p = d->o->peers[i], *comma;

		if (strncmp(p, name, n) || p[n] != '=')
			continue;
		p += n + 1;
		comma = strchr(p, ',');
		if (comma) {
			snprintf(ctl, clen, "%.*s", (int)(comma - p), p);
			snprintf(data, dlen, "%s", comma + 1);
		} else {
			char host[256], port[32];
			uint64_t num;

			snprintf(ctl, clen, "%s", p);
			if (split_hostport(p, host, sizeof(host), port, sizeof(port)) ||
			    svmigd_parse_u64(port, 1, 65534, &num))
				return -EINVAL;
			snprintf(data, dlen, strchr(host, ':') ? "[%s]:%d" : "%s:%d",
				 host, (int)num + 1);
		}
		return 0;
	}
	return -ENOENT;
}
