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

void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int tcp_listen(const char *hostport)
{
	char err[256];
	int fd = svmig_tcp_listen(hostport, 8, err, sizeof(err));

	if (fd < 0) {
		logp_(LOG_ERR, "%s", err);
		return -1;
	}
	return fd;
}

/* A connected socket, or -1 with errno saying why the last address failed. */
int tcp_connect(const char *hostport, int timeout_ms)
{
	int fd = svmig_tcp_connect(hostport, svmig_now_ms() + timeout_ms, false,
				   NULL, NULL, 0);

	if (fd < 0) {
		errno = fd == -EINVAL || fd == -EHOSTUNREACH ? EADDRNOTAVAIL : -fd;
		return -1;
	}
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
			if (svmig_split_hostport(p, host, sizeof(host), port, sizeof(port)) ||
			    svmigd_parse_u64(port, 1, 65534, &num))
				return -EINVAL;
			snprintf(data, dlen, strchr(host, ':') ? "[%s]:%d" : "%s:%d",
				 host, (int)num + 1);
		}
		return 0;
	}
	return -ENOENT;
}
