/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A connected TCP pair on loopback for the in-guest tests (after tap.h):
 * *a the connecting end, *b the accepted one; bails out on any failure.
 */
#ifndef SVMIG_TCP_PAIR_H
#define SVMIG_TCP_PAIR_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sin, &len))
		tap_bail("listen: %s", strerror(errno));
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*a < 0 || connect(*a, (struct sockaddr *)&sin, sizeof(sin)))
		tap_bail("connect: %s", strerror(errno));
	*b = accept(l, NULL, NULL);
	if (*b < 0)
		tap_bail("accept: %s", strerror(errno));
	close(l);
}

#endif
