// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's storm episode: one to three channels, each step one random
 * operation on one of them (its socket's peer, dup, close and fork too).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#define MAX_CHANS	3

static void peer_op(struct chan *c)
{
	ssize_t n;

	if (c->peer < 0)
		return;
	op_begin(OP_PEER);
	switch (below(6)) {
	case 0:
		n = send(c->peer, bigbuf, below(9000), MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 1:
		shutdown(c->peer, (int)below(3));
		n = 0;
		break;
	case 2:
		close(c->peer);
		c->peer = -1;
		n = 0;
		break;
	default:	/* drain what a sender sent */
		do
			n = recv(c->peer, bigbuf + BIGBUF / 2, BIGBUF / 2, MSG_DONTWAIT);
		while (n > 0);
		break;
	}
	op_end(OP_PEER, 0);
	(void)n;
}

static void child_ops(struct chan *c);

void do_fork(struct chan *c)
{
	uint64_t t0;
	pid_t pid;
	int st = 0;

	op_begin(OP_FORK);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		op_end(OP_FORK, -errno);
		return;
	}
	if (!pid) {
		/*
		 * One thread: what the child opens is its own, and its model
		 * of it exact (a race's channel stays c->shared).
		 */
		in_child = true;
		racing = false;
		rng ^= 0x5bd1e995;
		child_ops(c);
		_exit(child_violations ? 3 : 0);
	}
	c->unsure = true;
	t0 = now_ns();
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_ns() - t0 > HANG_FAIL_S * 1000000000ULL) {
			report(&n_child, "forked child %d hung", pid);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(1000);
	}
	op_end(OP_FORK, 0);
	if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
		report(&n_child, "forked child killed by %s", strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		report(&n_contract, "forked child saw a uapi contract violation");
	else if (WIFEXITED(st) && WEXITSTATUS(st))
		report(&n_child, "forked child exited %d", WEXITSTATUS(st));
}

/* One random operation on channel @c (fd may be its dup). */
static void chan_op_(struct chan *c, bool allow_fork);

static void chan_op(struct chan *c, bool allow_fork)
{
	cur_failed = c->failed_seen && !c->unsure;
	chan_op_(c, allow_fork);
	cur_failed = false;
}

static void chan_op_(struct chan *c, bool allow_fork)
{
	int fd = chan_fd(c);

	/* Channels with ring mappings get their mappings worked on more often. */
	if (c->nmaps && chance(15)) {
		if (chance(50))
			map_op(c);
		else
			probe_map(c, &c->maps[below(c->nmaps)]);
		return;
	}

	switch (below(allow_fork ? 30 : 29)) {
	case 0:
		get_info(fd);
		break;
	case 1:
	case 2:
		set_key(c, fd);
		break;
	case 3:
	case 4:
		add_region(c, fd);
		break;
	case 5:
		setup_ring(c, fd);
		break;
	case 6:
		attach(c, fd);
		break;
	case 7:
	case 8:
		submit(fd);
		break;
	case 9:
		finish(fd);
		break;
	case 10:
		recv_ioctl(fd);
		break;
	case 11:
		verify(c, fd);
		break;
	case 12:
	case 13:
		get_stats(c, fd);
		break;
	case 14:
		bad_ioctl(fd);
		break;
	case 15:
	case 16:
		do_read(fd);
		break;
	case 17:
	case 18:
		do_write(fd);
		break;
	case 19:
		do_poll(fd);
		break;
	case 20:
	case 21:
		do_mmap(c);
		break;
	case 22:
		map_op(c);
		break;
	case 23:
	case 24:
		ring_entries(c);
		break;
	case 25:
		peer_op(c);
		break;
	case 26:
		if (c->dupfd >= 0) {
			close(c->dupfd);
			c->dupfd = -1;
		} else {
			op_begin(OP_DUP);
			c->dupfd = chance(50) ? dup(c->fd) : fcntl(c->fd, F_DUPFD_CLOEXEC, 100);
			op_end(OP_DUP, c->dupfd < 0 ? -errno : 0);
		}
		break;
	case 27:
		set_nonblock(fd);
		break;
	case 28:
		if (chance(20) && c->nmaps) {
			probe_map(c, &c->maps[below(c->nmaps)]);
		} else if (chance(25)) {
			op_begin(OP_CLOSE);
			chan_close(c);
			c->fd = dev_open();
			op_end(OP_CLOSE, 0);
		}
		break;
	default:
		do_fork(c);
		break;
	}
}

static void child_ops(struct chan *c)
{
	int i, n = 3 + (int)below(15);

	for (i = 0; i < n; i++)
		chan_op(c, false);
	if (chance(50))
		chan_close(c);
}

/* Key a channel (mostly validly) and maybe give it regions, ring and socket. */
static void chan_setup(struct chan *c)
{
	struct svmig_key_setup ks;
	bool valid, close_after;
	int role = chance(50) ? SVMIG_ROLE_SENDER : SVMIG_ROLE_RECEIVER;
	bool stream = chance(35);

	c->fd = dev_open();
	if (chance(10))
		return;
	memset(&ks, 0, sizeof(ks));
	ks.flags = role | (stream ? SVMIG_KEY_STREAM : 0) | (have_tpm ? 0 : SVMIG_KEY_NO_TPM);
	/* Sometimes a member of the one session: numbers collide on purpose. */
	if (chance(25)) {
		ks.flags |= SVMIG_KEY_SESSION;
		ks.channel = (uint32_t)below(4);
	}
	memcpy(ks.session_id, fz_session, sizeof(ks.session_id));
	memcpy(ks.secret, fz_secret, sizeof(ks.secret));
	if (!xioctl(OP_SET_KEY, c->fd, SVMIG_IOC_SET_KEY, &ks)) {
		c->role = role;
		c->stream = stream;
		c->session = ks.flags & SVMIG_KEY_SESSION;
	}
	if (!stream && chance(70))
		add_region(c, c->fd);
	if (role == SVMIG_ROLE_SENDER && !stream && chance(70)) {
		struct svmig_ring_setup rs = { .entries = 1U << below(7) };

		if (!xioctl(OP_SETUP_RING, c->fd, SVMIG_IOC_SETUP_RING, &rs)) {
			c->ring_entries = rs.entries;
			c->ring_size = rs.mmap_size;
			c->off = rs.off;
			c->maps[0].addr = mmap(NULL, rs.mmap_size, PROT_READ | PROT_WRITE,
					       MAP_SHARED, c->fd, 0);
			if (c->maps[0].addr != MAP_FAILED) {
				c->maps[0].len = rs.mmap_size;
				c->maps[0].prot = PROT_READ | PROT_WRITE;
				c->maps[0].shared = true;
				c->nmaps = 1;
			}
		}
	}
	if (chance(60)) {
		struct svmig_attach a = { 0 };

		a.fd = pick_sock(c, &valid, &close_after);
		xioctl(OP_ATTACH, c->fd, SVMIG_IOC_ATTACH_SOCK, &a);
		if (close_after)
			close(a.fd);
	}
}

void episode_storm(void)
{
	struct chan ch[MAX_CHANS];
	int i, n = 1 + (int)below(MAX_CHANS), ops = 20 + (int)below(200);

	for (i = 0; i < n; i++) {
		chan_init(&ch[i]);
		chan_setup(&ch[i]);
	}
	for (i = 0; i < ops && time_left(); i++)
		chan_op(&ch[below(n)], true);
	for (i = 0; i < n; i++) {
		if (chance(50))
			get_stats(&ch[i], ch[i].fd);
		chan_close(&ch[i]);
	}
}
