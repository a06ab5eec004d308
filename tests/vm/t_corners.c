// SPDX-License-Identifier: GPL-2.0
/*
 * The corners of the /dev/svmig API that hand-written flows miss, each
 * tried the way a VMM or an attacker would hit it:
 *  - only FINISH ends a channel: a sender closed without it leaves the
 *    receiver a truncated stream (ENODATA, verdict TRUNCATED);
 *  - FINISH interrupted by a signal, or refused by O_NONBLOCK, is retried
 *    until the last record is out;
 *  - O_NONBLOCK calls never sleep, not even on a channel another thread
 *    holds in a blocking call;
 *  - poll/epoll are woken by SUBMIT from another thread, and by socket data
 *    when the epoll was set up before ATTACH_SOCK;
 *  - page-mode regions are bound to the process that registered them;
 *  - the ring maps only shared and never executable;
 *  - sealing leaves KSM-merged guest memory merged;
 *  - a page named dirty that cannot be read fails the channel.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libsvmig.h"
#include "tap.h"
#include "tcp_pair.h"

#define PG		4096
#define KSM_PAGES	64
#define KSM_DIR		"/sys/kernel/mm/ksm/"

static const uint8_t session[SVMIG_SESSION_ID_LEN] = { 0xc0, 0x4e, 0x25 };
static const uint8_t secret[SVMIG_SECRET_LEN] = { 0x5e, 0xc2, 0xe7 };
static uint8_t data[1 << 20];

static int open_keyed(uint32_t flags)
{
	int fd = svmig_open();

	if (fd < 0 || svmig_set_key(fd, flags, 0, session, secret))
		tap_bail("keyed channel: %s", strerror(errno));
	return fd;
}

/* 4 anonymous pages, and a page-mode sender with them as slot 1 and a ring. */
static int page_sender(uint8_t **mem, struct svmig_ring *ring)
{
	int fd;

	*mem = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*mem == MAP_FAILED)
		tap_bail("mmap");
	fd = open_keyed(SVMIG_ROLE_SENDER);
	if (svmig_add_region(fd, 1, 0, *mem, 4 * PG) || svmig_ring_init(fd, 8, ring))
		tap_bail("page sender");
	return fd;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n <= 0)
			tap_bail("write: %s", strerror(errno));
		p += n;
		len -= n;
	}
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK))
		tap_bail("fcntl: %s", strerror(errno));
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* A one-shot SIGALRM after @ms that interrupts (no SA_RESTART) what sleeps. */
static void alarm_in(int ms)
{
	struct itimerval it = { .it_value = { ms / 1000, (ms % 1000) * 1000 } };
	struct sigaction sa = { .sa_handler = on_alarm };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		tap_bail("timer: %s", strerror(errno));
}

static void alarm_off(void)
{
	struct itimerval it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* Copies one socket to another until EOF, then ends the other's writing. */
struct pump {
	int from, to;
	pthread_t thread;
};

static void *pump_run(void *arg)
{
	struct pump *p = arg;
	static uint8_t buf[65536];
	ssize_t n;

	while ((n = read(p->from, buf, sizeof(buf))) > 0)
		write_all(p->to, buf, n);
	shutdown(p->to, SHUT_WR);
	return NULL;
}

/* Reads a channel until read() returns 0 (err 0) or fails (err errno). */
struct sink {
	int fd;
	uint8_t *buf;
	size_t cap, len;
	int err;
	pthread_t thread;
};

static void *sink_run(void *arg)
{
	struct sink *s = arg;
	ssize_t n;

	for (;;) {
		n = read(s->fd, s->buf + s->len, s->cap - s->len);
		if (n <= 0)
			break;
		s->len += n;
	}
	s->err = n < 0 ? errno : 0;
	return NULL;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg))
		tap_bail("pthread_create");
}

static void join(pthread_t t)
{
	pthread_join(t, NULL);
}

/*
 * Stream sender -> socket pair A -> (relay) -> socket pair B -> receiver.
 * The channels hold the only references to a[0] and b[1].
 */
struct stream_pair {
	int tx, rx, a_relay, b_relay;
};

static void stream_pair_init(struct stream_pair *sp, int sndbuf)
{
	int a[2], b[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) || socketpair(AF_UNIX, SOCK_STREAM, 0, b))
		tap_bail("socketpair");
	if (sndbuf && setsockopt(a[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)))
		tap_bail("SO_SNDBUF");
	sp->tx = open_keyed(SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM);
	sp->rx = open_keyed(SVMIG_ROLE_RECEIVER | SVMIG_KEY_STREAM);
	if (svmig_attach_socket(sp->tx, a[0]) || svmig_attach_socket(sp->rx, b[1]))
		tap_bail("attach");
	close(a[0]);
	close(b[1]);
	sp->a_relay = a[1];
	sp->b_relay = b[0];
}

static void stream_pair_exit(struct stream_pair *sp)
{
	if (sp->tx >= 0)
		close(sp->tx);
	close(sp->rx);
	close(sp->a_relay);
	close(sp->b_relay);
}

static uint32_t stat_verdict(int fd, int32_t *error)
{
	struct svmig_stats st;

	if (svmig_get_stats(fd, &st))
		tap_bail("GET_STATS");
	if (error)
		*error = st.error;
	return st.verdict;
}

/* 3 checks: the peer resets the connection: FAILED with ECONNRESET. */
static void tcp_reset_case(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int a, b, rx = open_keyed(SVMIG_ROLE_RECEIVER | SVMIG_KEY_STREAM);
	uint8_t buf[16];
	uint32_t verdict;
	int32_t err;
	ssize_t n;

	tcp_pair(&a, &b);
	if (svmig_attach_socket(rx, b))
		tap_bail("attach");
	close(b);
	setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(a);	/* RST */
	n = read(rx, buf, sizeof(buf));
	tap_ok(n < 0 && errno == ECONNRESET, "connection reset: read() fails with ECONNRESET (%s)",
	       n < 0 ? strerror(errno) : "no error");
	tap_errno(svmig_verify(rx), -EBADMSG, "connection reset: VERIFY refuses (EBADMSG)");
	verdict = stat_verdict(rx, &err);
	tap_ok(verdict == SVMIG_VERDICT_FAILED && err == ECONNRESET,
	       "connection reset: verdict FAILED, error ECONNRESET, not TRUNCATED (%u, %d)",
	       verdict, err);
	close(rx);
}

/* 8 checks: a stream sender closed without FINISH, and a reset told apart. */
static void test_stream_close_without_finish(void)
{
	struct stream_pair sp;
	struct pump pump;
	uint8_t buf[200];
	uint32_t verdict;
	int32_t err;
	ssize_t n;

	stream_pair_init(&sp, 0);
	write_all(sp.tx, data, 100);
	close(sp.tx);	/* killed, or cancelled: no FINISH */
	sp.tx = -1;
	pump.from = sp.a_relay;
	pump.to = sp.b_relay;
	start(&pump.thread, pump_run, &pump);
	join(pump.thread);
	n = read(sp.rx, buf, sizeof(buf));
	tap_ok(n == 100 && !memcmp(buf, data, 100), "stream: the bytes sealed before close arrive");
	n = read(sp.rx, buf, sizeof(buf));
	tap_ok(n < 0 && errno == ENODATA,
	       "stream closed without FINISH: read() fails with ENODATA, never EOF (%zd, %s)", n,
	       n < 0 ? strerror(errno) : "no error");
	tap_errno(svmig_verify(sp.rx), -ENODATA, "stream closed without FINISH: VERIFY says truncated");
	verdict = stat_verdict(sp.rx, &err);
	tap_ok(verdict == SVMIG_VERDICT_TRUNCATED && err == ENODATA,
	       "stream: verdict TRUNCATED, error ENODATA (%u, %d)", verdict, err);
	tap_ok(read(sp.rx, buf, 1) < 0 && errno == EPIPE, "stream: the channel stays failed");
	stream_pair_exit(&sp);

	/* A TCP reset instead: told apart from a truncation. */
	tcp_reset_case();
}

/* 5 checks: a page-mode sender with a socket, closed without FINISH. */
static void test_page_close_without_finish(void)
{
	uint8_t *smem, *rmem;
	struct svmig_ring ring;
	int sv[2], tx, rx;
	uint32_t n = 0, verdict;
	int32_t err;
	int ret;

	smem = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rmem = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (smem == MAP_FAILED || rmem == MAP_FAILED || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("page setup");
	memset(smem, 0x3c, 4 * PG);
	tx = open_keyed(SVMIG_ROLE_SENDER);
	rx = open_keyed(SVMIG_ROLE_RECEIVER);
	if (svmig_add_region(tx, 1, 0, smem, 4 * PG) || svmig_add_region(rx, 1, 0, rmem, 4 * PG) ||
	    svmig_ring_init(tx, 8, &ring) || svmig_attach_socket(tx, sv[0]) ||
	    svmig_attach_socket(rx, sv[1]))
		tap_bail("page channels");
	close(sv[0]);
	close(sv[1]);
	svmig_ring_push(&ring, 1, 0);
	svmig_ring_push(&ring, 1, 1);
	svmig_ring_publish(&ring);
	tap_errno(svmig_submit(tx, 0, NULL), 0, "page: two pages sealed and sent");
	svmig_ring_exit(&ring);
	close(tx);	/* no FINISH: no manifest may be made up */
	ret = svmig_recv(rx, 0, &n);
	tap_errno(ret, -ENODATA, "page sender closed without FINISH: RECV fails with ENODATA");
	tap_ok(n == 3, "page: the HELLO and both pages were applied first (%u)", n);
	tap_errno(svmig_verify(rx), -ENODATA, "page: VERIFY says truncated");
	verdict = stat_verdict(rx, &err);
	tap_ok(verdict == SVMIG_VERDICT_TRUNCATED && err == ENODATA,
	       "page: verdict TRUNCATED, error ENODATA (%u, %d)", verdict, err);
	close(rx);
	munmap(smem, 4 * PG);
	munmap(rmem, 4 * PG);
}

/* 10 checks: FINISH refused by O_NONBLOCK, interrupted by a signal, retried. */
static void test_finish_retry(void)
{
	struct stream_pair sp;
	struct svmig_stats st;
	struct pump pump;
	struct sink sink;
	size_t written = 0;
	ssize_t n = 0;
	int i;

	stream_pair_init(&sp, 4096);	/* a small socket buffer fills at once */
	set_nonblock(sp.tx, true);
	alarm_in(10000);	/* a nonblocking call that sleeps fails EINTR, not hangs */
	for (i = 0; i < 64; i++) {
		n = write(sp.tx, data + written, 16384);
		if (n < 0)
			break;
		written += n;
	}
	tap_ok(n < 0 && errno == EAGAIN && written > 0,
	       "O_NONBLOCK write() seals until the socket is full, then EAGAIN (%zu bytes taken)",
	       written);
	tap_errno(svmig_finish(sp.tx), -EAGAIN, "O_NONBLOCK FINISH on the full socket: EAGAIN");
	tap_errno(svmig_finish(sp.tx), -EAGAIN, "FINISH retried, still full: EAGAIN again");
	tap_ok(write(sp.tx, data, 1) < 0 && errno == EPIPE,
	       "write() after FINISH sealed the END: EPIPE");
	set_nonblock(sp.tx, false);
	alarm_off();
	alarm_in(300);
	tap_errno(svmig_finish(sp.tx), -EINTR, "blocking FINISH interrupted by a signal: EINTR");
	alarm_off();
	svmig_get_stats(sp.tx, &st);
	tap_ok(!st.error && (st.flags & SVMIG_STAT_FINISHED),
	       "the interrupted FINISH left the channel working, END sealed once");

	sink.fd = sp.rx;
	sink.buf = malloc(sizeof(data));
	sink.cap = sizeof(data);
	sink.len = 0;
	start(&sink.thread, sink_run, &sink);
	pump.from = sp.a_relay;
	pump.to = sp.b_relay;
	start(&pump.thread, pump_run, &pump);
	tap_errno(svmig_finish(sp.tx), 0, "FINISH retried: the rest of the stream and the END sent");
	tap_errno(svmig_finish(sp.tx), 0, "FINISH once more: nothing left to send, 0");
	close(sp.tx);
	sp.tx = -1;
	join(pump.thread);
	join(sink.thread);
	tap_ok(sink.err == 0 && sink.len == written && !memcmp(sink.buf, data, written),
	       "the receiver read every byte once, then EOF (%zu of %zu, %s)", sink.len, written,
	       sink.err ? strerror(sink.err) : "EOF");
	tap_errno(svmig_verify(sp.rx), 0, "VERIFY: the END sent by the retried FINISH verified");
	free(sink.buf);
	stream_pair_exit(&sp);
}

/* The state of thread @tid, from /proc: 'S' while it sleeps. */
static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] ? p[2] : '?';
}

struct blocked_reader {
	int fd;
	_Atomic pid_t tid;
	ssize_t ret;
	int err;
	pthread_t thread;
};

static void *blocked_read(void *arg)
{
	struct blocked_reader *b = arg;
	uint8_t c;

	b->tid = gettid();
	b->ret = read(b->fd, &c, 1);
	b->err = errno;
	return NULL;
}

/* 7 checks: O_NONBLOCK calls while another thread sleeps in a read(). */
static void test_nonblock_busy(void)
{
	struct blocked_reader br = { 0 };
	struct stream_pair sp;
	struct svmig_stats st;
	struct svmig_recv r;
	int i, ret;
	ssize_t n;

	alarms = 0;
	stream_pair_init(&sp, 0);
	br.fd = sp.rx;
	start(&br.thread, blocked_read, &br);
	/* Until the reader sleeps in the socket receive, holding the channel. */
	for (i = 0; i < 1000 && !(br.tid && thread_state(br.tid) == 'S'); i++)
		usleep(10000);
	tap_ok(br.tid && thread_state(br.tid) == 'S', "a blocking read() sleeps on the receiver");
	set_nonblock(sp.rx, true);
	alarm_in(5000);	/* a call that sleeps on the channel is interrupted, EINTR */
	n = read(sp.rx, data, 1);
	tap_ok(n < 0 && errno == EAGAIN, "O_NONBLOCK read() meanwhile: EAGAIN at once (%s)",
	       n < 0 ? strerror(errno) : "read data");
	memset(&r, 0, sizeof(r));
	ret = ioctl(sp.rx, SVMIG_IOC_RECV, &r) < 0 ? -errno : 0;
	tap_errno(ret, -EAGAIN, "O_NONBLOCK RECV meanwhile: EAGAIN at once");
	tap_errno(svmig_verify(sp.rx), -EAGAIN, "O_NONBLOCK VERIFY meanwhile: EAGAIN at once");
	alarm_off();
	tap_errno(svmig_get_stats(sp.rx, &st), 0, "GET_STATS answers meanwhile (it takes no lock)");
	shutdown(sp.b_relay, SHUT_WR);	/* the stream ends: the reader wakes */
	join(br.thread);
	tap_ok(br.ret < 0 && br.err == ENODATA, "the blocked read() then sees the truncation (%s)",
	       br.ret < 0 ? strerror(br.err) : "no error");
	tap_ok(!alarms, "no call slept until the watchdog signal");
	alarms = 0;
	stream_pair_exit(&sp);
}

struct submitter {
	int fd;
	struct svmig_ring *ring;
	int ret;
	pthread_t thread;
};

static void *submit_later(void *arg)
{
	struct submitter *s = arg;

	usleep(100000);
	svmig_ring_push(s->ring, 1, 2);
	svmig_ring_publish(s->ring);
	s->ret = svmig_submit(s->fd, 0, NULL);
	return NULL;
}

struct feeder {
	int from, to;
	pthread_t thread;
};

static void *feed_later(void *arg)
{
	struct feeder *f = arg;
	uint8_t buf[4096];
	ssize_t n;

	usleep(100000);
	n = read(f->from, buf, sizeof(buf));
	if (n > 0)
		write_all(f->to, buf, n);
	return NULL;
}

/* 6 checks: epoll woken by SUBMIT from another thread, and before ATTACH_SOCK. */
static void test_epoll(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct submitter sub;
	struct svmig_ring ring;
	struct feeder fd_feed;
	int ep, tx, rx, a[2], b[2], n;
	uint8_t *mem;

	ep = epoll_create1(EPOLL_CLOEXEC);
	tx = page_sender(&mem, &ring);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tx, &ev))
		tap_bail("epoll setup");
	tap_ok(epoll_wait(ep, &ev, 1, 0) == 0, "page sender without records: epoll quiet");
	sub.fd = tx;
	sub.ring = &ring;
	start(&sub.thread, submit_later, &sub);
	n = epoll_wait(ep, &ev, 1, 10000);
	join(sub.thread);
	tap_ok(n == 1 && (ev.events & EPOLLIN) && !sub.ret,
	       "epoll woken by a SUBMIT from another thread: records to read (%d)", n);
	svmig_ring_exit(&ring);
	epoll_ctl(ep, EPOLL_CTL_DEL, tx, NULL);

	/* A stream receiver in the epoll set before its socket is attached. */
	rx = open_keyed(SVMIG_ROLE_RECEIVER | SVMIG_KEY_STREAM);
	ev.events = EPOLLIN;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, rx, &ev))
		tap_bail("epoll_ctl");
	tap_ok(epoll_wait(ep, &ev, 1, 0) == 0, "receiver without a socket: not readable");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) || socketpair(AF_UNIX, SOCK_STREAM, 0, b))
		tap_bail("socketpair");
	close(tx);
	tx = open_keyed(SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM);
	tap_errno(svmig_attach_socket(rx, b[1]), 0, "ATTACH_SOCK after the epoll_ctl");
	tap_ok(epoll_wait(ep, &ev, 1, 0) == 0, "attached, nothing arrived: still not readable");
	if (svmig_attach_socket(tx, a[0]))
		tap_bail("attach");
	write_all(tx, data, 10);	/* HELLO + one DATA record on a[1] */
	fd_feed.from = a[1];
	fd_feed.to = b[0];
	start(&fd_feed.thread, feed_later, &fd_feed);
	n = epoll_wait(ep, &ev, 1, 10000);
	join(fd_feed.thread);
	tap_ok(n == 1 && (ev.events & EPOLLIN),
	       "epoll set up before ATTACH_SOCK is woken by the socket's data (%d)", n);
	close(ep);
	close(tx);
	close(rx);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	munmap(mem, 4 * PG);
}

/* Runs @fn in a forked child; its exit status. */
static int in_child(int (*fn)(int fd, void *arg), int fd, void *arg)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		tap_bail("fork");
	if (!pid)
		_exit(fn(fd, arg));
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Exit status: bit 0 SUBMIT not EPERM, bit 1 ADD_REGION not EPERM. */
static int child_sender(int fd, void *arg)
{
	struct svmig_ring *ring = arg;
	uint8_t *own = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int st = 0;

	svmig_ring_push(ring, 1, 1);
	svmig_ring_publish(ring);
	if (svmig_submit(fd, 0, NULL) != -EPERM)
		st |= 1;
	if (own == MAP_FAILED || svmig_add_region(fd, 2, 1 << 20, own, PG) != -EPERM)
		st |= 2;
	return st;
}

static int child_receiver(int fd, void *arg)
{
	(void)arg;
	return write(fd, data, 64) < 0 && errno == EPERM ? 0 : 1;
}

static int child_stream_writer(int fd, void *arg)
{
	(void)arg;
	return write(fd, data, 64) == 64 ? 0 : 1;
}

/* 7 checks: regions bound to the mm that registered them. */
static void test_mm_binding(void)
{
	struct svmig_ring ring;
	struct stream_pair sp;
	uint8_t *mem;
	uint32_t done = 0;
	int tx, rx, st;

	tx = page_sender(&mem, &ring);
	st = in_child(child_sender, tx, &ring);
	tap_ok(st >= 0 && !(st & 1), "forked child: SUBMIT on the parent's regions refused, EPERM");
	tap_ok(st >= 0 && !(st & 2), "forked child: ADD_REGION of its own memory refused, EPERM");
	/* The child's entry is still queued: the parent seals it. */
	tap_errno(svmig_submit(tx, 0, &done), 0, "the parent still submits after the child");
	tap_ok(done == 1, "the child's refused entry was left for the parent (%u)", done);
	svmig_ring_exit(&ring);
	close(tx);

	rx = open_keyed(SVMIG_ROLE_RECEIVER);
	if (svmig_add_region(rx, 1, 0, mem, 4 * PG))
		tap_bail("page receiver");
	tap_ok(in_child(child_receiver, rx, NULL) == 0,
	       "forked child: write() of records into the parent's regions refused, EPERM");
	close(rx);

	/* Stream mode has no regions: QEMU gets its fd by SCM_RIGHTS. */
	stream_pair_init(&sp, 0);
	tap_ok(in_child(child_stream_writer, sp.tx, NULL) == 0,
	       "stream mode is not bound: a forked child writes the stream");
	tap_errno(svmig_finish(sp.tx), 0, "and the parent finishes it");
	stream_pair_exit(&sp);
	munmap(mem, 4 * PG);
}

/* 5 checks: the ring maps shared and never executable. */
static void test_ring_mmap(void)
{
	struct svmig_ring_setup rs = { .entries = 16 };
	void *p;
	int fd = open_keyed(SVMIG_ROLE_SENDER);

	if (ioctl(fd, SVMIG_IOC_SETUP_RING, &rs))
		tap_bail("SETUP_RING");
	p = mmap(NULL, rs.mmap_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, SVMIG_OFF_RING);
	tap_ok(p == MAP_FAILED && errno == EINVAL, "ring mapped MAP_PRIVATE: EINVAL");
	p = mmap(NULL, rs.mmap_size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, SVMIG_OFF_RING);
	tap_ok(p == MAP_FAILED && errno == EPERM, "ring mapped PROT_EXEC: EPERM");
	p = mmap(NULL, rs.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, SVMIG_OFF_RING);
	tap_ok(p != MAP_FAILED, "ring mapped shared, read-write");
	tap_ok(p != MAP_FAILED && mprotect(p, rs.mmap_size, PROT_READ | PROT_EXEC) < 0 &&
	       errno == EACCES, "mprotect() of the ring to PROT_EXEC: EACCES");
	tap_ok(p != MAP_FAILED && mprotect(p, rs.mmap_size, PROT_READ) == 0,
	       "mprotect() to read-only is allowed");
	if (p != MAP_FAILED)
		munmap(p, rs.mmap_size);
	close(fd);
}

static long ksm_read(const char *name)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int ksm_write(const char *name, long v)
{
	char path[128], buf[32];
	int fd, len, ok;

	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%ld", v);
	ok = write(fd, buf, len) == len;
	close(fd);
	return ok ? 0 : -EIO;
}

/* Seals every page of @mem (KSM_PAGES) through a page sender, reading the records out. */
static int seal_all(uint8_t *mem)
{
	struct svmig_ring ring;
	uint32_t done, total = 0;
	uint8_t buf[65536];
	int fd = open_keyed(SVMIG_ROLE_SENDER), i, ret = 0;

	if (svmig_add_region(fd, 1, 0, mem, KSM_PAGES * PG) ||
	    svmig_ring_init(fd, KSM_PAGES, &ring))
		tap_bail("KSM sender");
	for (i = 0; i < KSM_PAGES; i++)
		svmig_ring_push(&ring, 1, i);
	svmig_ring_publish(&ring);
	while (total < KSM_PAGES && !ret) {
		ret = svmig_submit(fd, 0, &done);
		total += done;
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	}
	svmig_ring_exit(&ring);
	close(fd);
	return ret ? ret : (int)total;
}

/* 3 checks: sealing leaves KSM-merged guest memory merged. */
static void test_ksm(void)
{
	long run = ksm_read("run"), scan = ksm_read("pages_to_scan");
	long before, after = -1;
	uint8_t *mem;
	int i, sealed;

	if (run < 0 || ksm_write("run", run)) {
		for (i = 0; i < 3; i++)
			printf("ok %d - KSM # SKIP machine: no KSM in this kernel (%s)\n", ++tap_n,
			       KSM_DIR);
		return;
	}
	mem = mmap(NULL, KSM_PAGES * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		tap_bail("mmap");
	memset(mem, 0x5a, KSM_PAGES * PG);	/* the same bytes: mergeable */
	if (madvise(mem, KSM_PAGES * PG, MADV_MERGEABLE) || ksm_write("pages_to_scan", 4096) ||
	    ksm_write("sleep_millisecs", 10) || ksm_write("run", 1))
		tap_bail("KSM setup: %s", strerror(errno));
	for (i = 0; i < 1200 && ksm_read("pages_sharing") < KSM_PAGES - 1; i++)
		usleep(50000);
	ksm_write("run", 0);	/* ksmd stops, merged pages stay merged */
	before = ksm_read("pages_sharing");
	tap_ok(before >= KSM_PAGES - 1, "KSM merged the %d identical guest pages (sharing %ld)",
	       KSM_PAGES, before);
	sealed = seal_all(mem);
	after = ksm_read("pages_sharing");
	tap_ok(sealed == KSM_PAGES, "every merged page sealed (%d)", sealed);
	tap_ok(after == before, "sealing left them merged (pages_sharing %ld -> %ld)", before,
	       after);
	munmap(mem, KSM_PAGES * PG);
	ksm_write("pages_to_scan", scan);
	ksm_write("run", run);
}

/* 4 checks: a page named dirty that cannot be read fails the channel. */
static void test_unreadable_page(void)
{
	struct svmig_ring ring;
	struct svmig_stats st;
	uint32_t done = 7;
	uint8_t *mem;
	int fd;

	fd = page_sender(&mem, &ring);
	mprotect(mem + 2 * PG, PG, PROT_NONE);
	svmig_ring_push(&ring, 1, 1);
	svmig_ring_push(&ring, 1, 2);
	svmig_ring_publish(&ring);
	tap_errno(svmig_submit(fd, 0, &done), -EFAULT, "SUBMIT of an unreadable page: EFAULT");
	tap_ok(done == 1, "the readable page before it was sealed (%u)", done);
	svmig_get_stats(fd, &st);
	tap_ok(st.error == EFAULT, "the channel failed with EFAULT (%d)", st.error);
	tap_errno(svmig_finish(fd), -EPIPE, "no manifest can vouch for the missing page: EPIPE");
	svmig_ring_exit(&ring);
	close(fd);
	munmap(mem, 4 * PG);
}

int main(void)
{
	size_t i;

	tap_plan(8 + 5 + 10 + 7 + 6 + 7 + 5 + 3 + 4);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 2654435761u >> 11);
	signal(SIGPIPE, SIG_IGN);
	test_stream_close_without_finish();
	test_page_close_without_finish();
	test_finish_retry();
	test_nonblock_busy();
	test_epoll();
	test_mm_binding();
	test_ring_mmap();
	test_ksm();
	test_unreadable_page();
	return tap_done();
}
