// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-holdsock: holds two /dev/svmig channels (a sender and a receiver)
 * joined by a loopback TCP connection, with records in flight and the
 * sockets' own fds closed, so only the channels keep the sockets alive.
 * Prints "ready", then waits for SIGTERM and exits 0.  t_loadunload.sh
 * checks the module cannot be unloaded meanwhile and can be afterwards.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libsvmig.h"

#define NPAGES 4

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int die(const char *what, int err)
{
	fprintf(stderr, "svmig-holdsock: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

static int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sin, &len))
		return -1;
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (*a < 0 || connect(*a, (struct sockaddr *)&sin, sizeof(sin)))
		return -1;
	*b = accept(l, NULL, NULL);
	close(l);
	return *b < 0 ? -1 : 0;
}

int main(void)
{
	static const uint8_t session[SVMIG_SESSION_ID_LEN] = "holdsock";
	static const uint8_t secret[SVMIG_SECRET_LEN] = "holdsock secret";
	struct svmig_ring ring;
	uint8_t *src, *dst;
	int tx, rx, a, b, ret, i;

	signal(SIGTERM, on_term);
	src = mmap(NULL, NPAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, NPAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED)
		return die("mmap", errno);
	if (tcp_pair(&a, &b))
		return die("loopback TCP connection", errno);
	tx = svmig_open();
	rx = svmig_open();
	if (tx < 0 || rx < 0)
		return die("open /dev/svmig", tx < 0 ? tx : rx);
	ret = svmig_set_key(tx, SVMIG_ROLE_SENDER, 0, session, secret);
	ret = ret ? ret : svmig_set_key(rx, SVMIG_ROLE_RECEIVER, 0, session, secret);
	ret = ret ? ret : svmig_add_region(tx, 0, 0, src, NPAGES * 4096);
	ret = ret ? ret : svmig_add_region(rx, 0, 0, dst, NPAGES * 4096);
	ret = ret ? ret : svmig_attach_socket(tx, a);
	ret = ret ? ret : svmig_attach_socket(rx, b);
	ret = ret ? ret : svmig_ring_init(tx, 8, &ring);
	if (ret)
		return die("channel setup", ret);
	close(a);
	close(b);
	for (i = 0; i < NPAGES; i++)
		svmig_ring_push(&ring, 0, i);
	svmig_ring_publish(&ring);
	ret = svmig_submit(tx, 0, NULL);
	/* Leave some records unread in the receiving socket. */
	ret = ret ? ret : svmig_recv(rx, 2, NULL);
	if (ret)
		return die("records in flight", ret);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	return 0;
}
