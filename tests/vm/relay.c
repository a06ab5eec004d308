// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-relay: a man in the middle for the tests.  It sits on the data
 * connection between two svmig channels (source connects to it, it
 * connects to the destination), parses the records by their headers and
 * forwards them, except for the one attack it was told to make on record
 * number --at:
 *
 *   none     forward everything (a transparent relay)
 *   flip     flip one bit in the record's ciphertext
 *   replay   send the record again right after it
 *   swap     send the record after the next one
 *   drop     leave the record out
 *   cut      close both connections before the record
 *   splice   send, instead, record --at of the stream in --splice-from
 *            (captured from another session with --capture)
 *
 *   svmig-relay --listen PORT --connect HOST:PORT [--attack A --at N]
 *               [--capture FILE] [--splice-from FILE] [--ready FILE]
 *
 * It serves one connection and exits 0 when either side closed.  Records
 * the destination sends back (the reverse channel of svmigd's libvirt
 * relay: QEMU's return path) are passed back by a thread, untouched
 * unless --attack-back A --at-back N make the same attacks on them
 * (none, flip, replay, swap, drop, cut).  With --connections N it serves
 * N connections (a process each; QEMU's multifd channels), and the attacks
 * are made on connection --attack-conn K only (0: the first).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/svmig.h>

#define REC_MAX		(sizeof(struct svmig_wire_hdr) + 65536)

enum attack { NONE, FLIP, REPLAY, SWAP, DROP, CUT, SPLICE };

static const char *const attack_names[] = {
	[NONE] = "none", [FLIP] = "flip", [REPLAY] = "replay", [SWAP] = "swap",
	[DROP] = "drop", [CUT] = "cut", [SPLICE] = "splice",
};

struct record {
	size_t len;
	uint8_t buf[REC_MAX];
};

struct relay {
	enum attack attack;
	unsigned long at;
	int in, out;
	FILE *capture, *splice;
	struct record held;		/* swap: the record waiting for its successor */
	bool holding;
};

static void die(const char *what)
{
	fprintf(stderr, "svmig-relay: %s: %s\n", what, strerror(errno));
	exit(2);
}

static bool read_full(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

static bool write_full(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

/* One record from a socket or a capture file; false at the end. */
static bool read_record(int fd, FILE *f, struct record *r)
{
	const struct svmig_wire_hdr *h = (const void *)r->buf;
	size_t hl = sizeof(*h), body;

	if (f ? fread(r->buf, 1, hl, f) != hl : !read_full(fd, r->buf, hl))
		return false;
	body = ntohl(h->length);
	if (body > REC_MAX - hl) {
		fprintf(stderr, "svmig-relay: record length %zu, giving up\n", body);
		exit(2);
	}
	if (f ? fread(r->buf + hl, 1, body, f) != body : !read_full(fd, r->buf + hl, body))
		return false;
	r->len = hl + body;
	return true;
}

/* False once the destination hung up. */
static bool forward(struct relay *rl, const struct record *r)
{
	return write_full(rl->out, r->buf, r->len);
}

/* Record number n arrived: forward it, or attack it.  False ends the relay. */
static bool relay_one(struct relay *rl, unsigned long n, struct record *r)
{
	struct record other;
	unsigned long i;

	if (rl->holding) {		/* swap: the successor first, then the held one */
		rl->holding = false;
		return forward(rl, r) && forward(rl, &rl->held);
	}
	if (n != rl->at || rl->attack == NONE)
		return forward(rl, r);
	fprintf(stderr, "svmig-relay: %s on record %lu (type %u)\n",
		attack_names[rl->attack], n, r->buf[1]);
	switch (rl->attack) {
	case FLIP:
		r->buf[r->len - SVMIG_TAG_LEN - 1] ^= 0x10;
		return forward(rl, r);
	case REPLAY:
		return forward(rl, r) && forward(rl, r);
	case SWAP:
		rl->held = *r;
		rl->holding = true;
		break;
	case DROP:
		break;
	case CUT:
		return false;
	case SPLICE:
		for (i = 0; i <= n; i++)
			if (!read_record(-1, rl->splice, &other)) {
				fprintf(stderr, "svmig-relay: --splice-from has no record %lu\n", n);
				exit(2);
			}
		return forward(rl, &other);
	case NONE:
		break;
	}
	return true;
}

static int listen_on(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 1))
		die("listen");
	return fd;
}

static int connect_to(const char *hostport)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	int fd;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
		fprintf(stderr, "svmig-relay: --connect HOST:PORT\n");
		exit(2);
	}
	memcpy(host, hostport, colon - hostport);
	host[colon - hostport] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai))
		die("getaddrinfo");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen))
		die("connect");
	freeaddrinfo(ai);
	return fd;
}

static enum attack parse_attack(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(attack_names) / sizeof(attack_names[0]); i++)
		if (!strcmp(s, attack_names[i]))
			return i;
	fprintf(stderr, "svmig-relay: unknown attack %s\n", s);
	exit(2);
}

/* --connections: how many to serve (one each); --attack-conn: which is attacked */
static unsigned long connections = 1, attack_conn;

static void parse_args(int argc, char **argv, struct relay *rl, struct relay *back,
		       int *port, const char **dest, const char **ready)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "attack", required_argument, NULL, 'a' },
		{ "at", required_argument, NULL, 'n' },
		{ "capture", required_argument, NULL, 'w' },
		{ "splice-from", required_argument, NULL, 's' },
		{ "ready", required_argument, NULL, 'r' },
		{ "attack-back", required_argument, NULL, 'A' },
		{ "at-back", required_argument, NULL, 'N' },
		{ "connections", required_argument, NULL, 'C' },
		{ "attack-conn", required_argument, NULL, 'K' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': *port = atoi(optarg); break;
		case 'c': *dest = optarg; break;
		case 'a': rl->attack = parse_attack(optarg); break;
		case 'n': rl->at = strtoul(optarg, NULL, 0); break;
		case 'w': rl->capture = fopen(optarg, "w"); if (!rl->capture) die(optarg); break;
		case 's': rl->splice = fopen(optarg, "r"); if (!rl->splice) die(optarg); break;
		case 'r': *ready = optarg; break;
		case 'A': back->attack = parse_attack(optarg); break;
		case 'N': back->at = strtoul(optarg, NULL, 0); break;
		case 'C': connections = strtoul(optarg, NULL, 0); break;
		case 'K': attack_conn = strtoul(optarg, NULL, 0); break;
		default: exit(2);
		}
	}
	if (!*port || !*dest || (rl->attack == SPLICE && !rl->splice) ||
	    back->attack == SPLICE || !connections || connections > 64 ||
	    attack_conn >= connections) {
		fprintf(stderr, "usage: svmig-relay --listen PORT --connect HOST:PORT "
			"[--attack none|flip|replay|swap|drop|cut|splice --at N] "
			"[--capture FILE] [--splice-from FILE] [--ready FILE] "
			"[--attack-back none|flip|replay|swap|drop|cut --at-back N] "
			"[--connections N [--attack-conn K]]\n");
		exit(2);
	}
}

/* The reverse direction (its own struct relay: in and out swapped). */
static void *reverse(void *arg)
{
	static struct record r;
	struct relay *back = arg;
	unsigned long n = 0;

	while (read_record(back->in, NULL, &r))
		if (!relay_one(back, n++, &r))
			break;
	if (back->holding)
		forward(back, &back->held);
	fprintf(stderr, "svmig-relay: %lu records relayed back\n", n);
	shutdown(back->out, SHUT_WR);
	return NULL;
}

/* One connection, accepted as @in: relayed to @dest until either side ends. */
static int serve(struct relay *rl, struct relay *back, int in, const char *dest)
{
	static struct record r;
	unsigned long n = 0;
	pthread_t rev;

	rl->in = in;
	rl->out = connect_to(dest);
	back->in = rl->out;
	back->out = rl->in;
	if (pthread_create(&rev, NULL, reverse, back))
		die("pthread_create");
	pthread_detach(rev);
	while (read_record(rl->in, NULL, &r)) {
		if (rl->capture && (fwrite(r.buf, 1, r.len, rl->capture) != r.len ||
				    fflush(rl->capture)))
			die("capture");
		if (!relay_one(rl, n++, &r))
			break;
	}
	if (rl->holding)
		forward(rl, &rl->held);
	fprintf(stderr, "svmig-relay: %lu records relayed\n", n);
	if (rl->capture)
		fclose(rl->capture);
	close(rl->in);
	close(rl->out);
	return 0;
}

int main(int argc, char **argv)
{
	struct relay rl = { .attack = NONE }, back = { .attack = NONE };
	const char *dest = NULL, *ready = NULL;
	unsigned long i;
	int port = 0, lfd, in;

	/* A peer that hangs up ends the relay through write() errors, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &rl, &back, &port, &dest, &ready);
	lfd = listen_on(port);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f || fclose(f))
			die(ready);
	}
	/* --connections N: a process each, the attacks on connection --attack-conn only */
	for (i = 0; i + 1 < connections; i++) {
		pid_t pid;

		in = accept(lfd, NULL, NULL);
		if (in < 0)
			die("accept");
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(lfd);
			if (i != attack_conn)
				rl.attack = back.attack = NONE;
			return serve(&rl, &back, in, dest);
		}
		close(in);
	}
	in = accept(lfd, NULL, NULL);
	if (in < 0)
		die("accept");
	close(lfd);
	if (i != attack_conn)
		rl.attack = back.attack = NONE;
	serve(&rl, &back, in, dest);
	while (wait(NULL) > 0)
		;
	return 0;
}
