// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's sockets: the pairs a channel is attached to, and the calls of
 * the data path (ATTACH_SOCK, SUBMIT, RECV, VERIFY, FINISH, read, write,
 * poll, unknown ioctls) with random arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz.h"

static void sock_timeouts(int s, long usec)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = usec };
	int big = 1 << 20;

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
}

/* A connected stream pair: AF_UNIX, or TCP over loopback. */
int stream_pair(int sv[2], bool tcp)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int l, one = 1;

	if (!tcp) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			return -1;
		goto done;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -1;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen)) {
		close(l);
		return stream_pair(sv, false);
	}
	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, sizeof(a))) {
		if (sv[0] >= 0)
			close(sv[0]);
		close(l);
		return stream_pair(sv, false);
	}
	sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	if (sv[1] < 0) {
		close(sv[0]);
		return -1;
	}
	setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
done:
	sock_timeouts(sv[0], 20000 + below(80000));
	sock_timeouts(sv[1], 20000 + below(80000));
	return 0;
}

/*
 * Some fd for ATTACH_SOCK: a connected pair's end (kept in the channel), or
 * one of the wrong kinds, closed again after the call.  *valid: the uapi
 * lets it attach.
 */
int pick_sock(struct chan *c, bool *valid, bool *close_after)
{
	int sv[2], s = -1, kind = (int)below(12);

	*valid = false;
	*close_after = false;
	switch (kind) {
	case 0:
		return -1;
	case 1:	/* never an open fd: negative or far above any limit */
		return chance(50) ? -(int)(1 + below(1000)) : (int)(0x40000000 | pick32());
	case 2:
		*close_after = true;
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	case 3:
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	case 4:
		s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		break;
	case 5:	/* a stream socket, never connected: attachable, useless */
		s = socket(chance(50) ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s >= 0)
			sock_timeouts(s, 20000);
		*valid = s >= 0;
		break;
	case 6:
		if (c && c->fd >= 0)
			return c->fd;	/* not a socket */
		return -1;
	default:
		if (stream_pair(sv, chance(40)))
			return -1;
		if (c && !racing) {
			if (c->sock >= 0)
				close(c->sock);
			if (c->peer >= 0)
				close(c->peer);
			c->sock = sv[1];
			c->peer = sv[0];
		} else {
			close(sv[0]);
			*close_after = true;
		}
		*valid = true;
		return sv[1];
	}
	*close_after = s >= 0;
	return s;
}

void attach(struct chan *c, int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_attach a;
	bool valid, close_after, must_fail;
	int ret;

	memset(&a, 0, sizeof(a));
	a.fd = pick_sock(c, &valid, &close_after);
	if (chance(8))
		a.flags = pick32() | 1;
	if (chance(8))
		a.reserved[below(2)] = pick64() | 1;
	must_fail = !valid || a.flags || a.reserved[0] || a.reserved[1] || !ptr_readable(k);
	put_arg(k, &a, sizeof(a));
	ret = xioctl(OP_ATTACH, fd, SVMIG_IOC_ATTACH_SOCK, arg_ptr(sizeof(a), k));
	if (!ret && must_fail)
		report(&n_contract, "ATTACH_SOCK accepted fd %d flags 0x%x ptr %d", a.fd, a.flags, k);
	if (close_after)
		close(a.fd);
}

void submit(int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_submit s, *p = arg_ptr(sizeof(s), k);
	bool must_fail;
	int ret;

	memset(&s, 0, sizeof(s));
	s.max_entries = chance(60) ? 0 : pick32();
	s.completed = 0xdeadbeef;
	if (chance(8))
		s.flags = pick32() | 1;
	if (chance(6))
		s.resv = pick32() | 1;
	if (chance(6))
		s.reserved[below(2)] = pick64() | 1;
	must_fail = s.flags || s.resv || s.reserved[0] || s.reserved[1] || !ptr_writable(k);
	put_arg(k, &s, sizeof(s));
	ret = xioctl(OP_SUBMIT, fd, SVMIG_IOC_SUBMIT, p);
	if (!ret && must_fail)
		report(&n_contract, "SUBMIT accepted flags 0x%x resv 0x%x ptr %d", s.flags, s.resv, k);
	if (ptr_writable(k) && !racing && ret != -EFAULT && ret != -EINTR) {
		memcpy(&s, p, sizeof(s));
		/* "written back even when the call fails" (uapi.rst) */
		if (s.completed == 0xdeadbeef)
			report(&n_contract, "SUBMIT returned %d without writing completed back", ret);
		else if (s.completed > 65536)
			report(&n_contract, "SUBMIT returned %d, completed %u", ret, s.completed);
	}
}

void recv_ioctl(int fd)
{
	enum ptr_kind k = pick_ptr();
	struct svmig_recv r, *p = arg_ptr(sizeof(r), k);
	bool must_fail;
	int ret;

	memset(&r, 0, sizeof(r));
	r.max_records = chance(50) ? 0 : (chance(50) ? (uint32_t)below(4) : pick32());
	r.records = 0xdeadbeef;
	if (chance(8))
		r.flags = pick32() | 1;
	if (chance(6))
		r.resv = pick32() | 1;
	if (chance(6))
		r.reserved[below(2)] = pick64() | 1;
	must_fail = r.flags || r.resv || r.reserved[0] || r.reserved[1] || !ptr_writable(k);
	put_arg(k, &r, sizeof(r));
	ret = xioctl(OP_RECV, fd, SVMIG_IOC_RECV, p);
	if (!ret && must_fail)
		report(&n_contract, "RECV accepted flags 0x%x resv 0x%x ptr %d", r.flags, r.resv, k);
	if (ptr_writable(k) && !racing && ret != -EFAULT && ret != -EINTR) {
		memcpy(&r, p, sizeof(r));
		/* "records (out) counts those applied, also on failure" (uapi.rst) */
		if (r.records == 0xdeadbeef)
			report(&n_contract, "RECV returned %d without writing records back", ret);
		else if (r.max_records && r.records > r.max_records)
			report(&n_contract, "RECV: %u records, max %u", r.records, r.max_records);
	}
}

void verify(struct chan *c, int fd)
{
	struct svmig_stats st;
	int ret = xioctl(OP_VERIFY, fd, SVMIG_IOC_VERIFY, chance(90) ? NULL : (void *)pick64());

	if (!c || racing || c->shared || c->session || ioctl(fd, SVMIG_IOC_GET_STATS, &st))
		return;
	/* VERIFY follows the verdict, which only moves forward. */
	if ((ret == 0) != (st.verdict == SVMIG_VERDICT_VERIFIED && st.role == SVMIG_ROLE_RECEIVER))
		report(&n_contract, "VERIFY %d with verdict %u", ret, st.verdict);
	if (st.role == SVMIG_ROLE_RECEIVER && ret == -EINPROGRESS &&
	    st.verdict != SVMIG_VERDICT_PENDING)
		report(&n_contract, "VERIFY EINPROGRESS with verdict %u", st.verdict);
}

void finish(int fd)
{
	xioctl(OP_FINISH, fd, SVMIG_IOC_FINISH, chance(90) ? NULL : (void *)pick64());
}

/* Unknown commands, known numbers with the wrong size or direction, foreign magics. */
void bad_ioctl(int fd)
{
	static const unsigned long known[] = {
		SVMIG_IOC_GET_INFO, SVMIG_IOC_SET_KEY, SVMIG_IOC_ADD_REGION,
		SVMIG_IOC_SETUP_RING, SVMIG_IOC_ATTACH_SOCK, SVMIG_IOC_SUBMIT,
		SVMIG_IOC_FINISH, SVMIG_IOC_RECV, SVMIG_IOC_VERIFY, SVMIG_IOC_GET_STATS,
	};
	unsigned long cmd;
	size_t i;
	int ret;

	switch (below(3)) {
	case 0:
		cmd = _IOC(below(4), SVMIG_IOC_MAGIC, below(256), below(1 << 14));
		break;
	case 1:	/* a known number, another size or direction */
		cmd = known[below(10)];
		cmd = _IOC(below(4), SVMIG_IOC_MAGIC, _IOC_NR(cmd),
			   (chance(50) ? _IOC_SIZE(cmd) + below(17) - 8 : below(1 << 14)) & 0x3fff);
		break;
	default:
		cmd = _IOC(below(4), SVMIG_IOC_MAGIC, 0x0a + below(246), below(1 << 14));
		break;
	}
	for (i = 0; i < 10; i++)
		if (cmd == known[i])
			return;
	ret = ioctl(fd, cmd, arg_ptr(64, pick_ptr())) < 0 ? -errno : 0;
	op_begin(OP_BAD_IOCTL);
	op_end(OP_BAD_IOCTL, ret);
	if (ret == 0)
		report(&n_contract, "unknown ioctl 0x%lx succeeded", cmd);
}

size_t pick_len(void)
{
	static const size_t lens[] = { 0, 1, 2, 15, 16, 17, 88, 4095, 4096, 4097, 4144,
				       4145, 16399, 16400, 16401, 65536, BIGBUF };

	return chance(50) ? lens[below(sizeof(lens) / sizeof(lens[0]))] : below(70000);
}

void do_read(int fd)
{
	struct iovec iov[4];
	ssize_t n;
	int i, cnt;

	op_begin(OP_READ);
	if (chance(20)) {
		cnt = 1 + (int)below(4);
		for (i = 0; i < cnt; i++) {
			iov[i].iov_base = chance(85) ? bigbuf + below(BIGBUF / 2) :
						       arg_ptr(16, (enum ptr_kind)below(P_NR));
			iov[i].iov_len = below(20000);
		}
		n = readv(fd, iov, cnt);
	} else if (chance(90)) {
		size_t len = pick_len();

		n = read(fd, bigbuf + (len == BIGBUF ? 0 : below(BIGBUF - len)), len);
	} else {
		n = read(fd, arg_ptr(64, (enum ptr_kind)(2 + below(P_NR - 2))), 1 + below(8192));
	}
	op_end(OP_READ, n < 0 ? -errno : 0);
}

void do_write(int fd)
{
	ssize_t n;

	op_begin(OP_WRITE);
	if (chance(90)) {
		size_t len = pick_len();
		uint8_t *p = bigbuf + (len == BIGBUF ? 0 : below(BIGBUF - len));

		if (chance(50) && len <= 32)
			rnd_bytes(p, len);
		n = write(fd, p, len);
	} else {
		n = write(fd, arg_ptr(64, (enum ptr_kind)(2 + below(P_NR - 2))), 1 + below(8192));
	}
	op_end(OP_WRITE, n < 0 ? -errno : 0);
}

void do_poll(int fd)
{
	struct pollfd p = { .fd = fd, .events = (short)rnd() };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLERR };
	int ret, ep;

	op_begin(OP_POLL);
	if (chance(25)) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		ret = ep < 0 ? -1 : epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		if (!ret)
			ret = epoll_wait(ep, &ev, 1, (int)below(5));
		if (ep >= 0)
			close(ep);
	} else {
		ret = poll(&p, 1, (int)below(10));
		if (ret > 0 && (p.revents & ~(POLLIN | POLLOUT | POLLERR | POLLRDNORM |
					      POLLWRNORM | POLLHUP | POLLNVAL | POLLPRI |
					      POLLRDHUP | POLLRDBAND | POLLWRBAND)))
			report(&n_contract, "poll: revents 0x%x", p.revents);
	}
	op_end(OP_POLL, ret < 0 ? -errno : 0);
}

void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, chance(50) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}
