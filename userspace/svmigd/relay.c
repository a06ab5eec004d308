// SPDX-License-Identifier: GPL-2.0
/*
 * relay: a QEMU migration connection through two /dev/svmig stream
 * channels (relay.h).  Bytes go from one descriptor to the other through
 * one 1 MiB buffer: the only userspace copy; the kernel seals or opens
 * them and does the socket I/O itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libsvmig.h"

#include "relay.h"
#include "util.h"

#define RETRY_MS	100
#define WRITE_WAIT_MS	60000	/* a reader that takes nothing for this long is gone */

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int svmigd_relay_init(struct svmigd_relay *r, int idle_ms, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->qemu = r->out = r->in = r->watch = -1;
	r->idle_ms = idle_ms;
	r->buf = malloc(SVMIGD_RELAY_BUF);
	if (!r->buf)
		return svmigd_fail(err, errlen, -1, "relay: out of memory");
	return 0;
}

void svmigd_relay_free(struct svmigd_relay *r)
{
	free(r->buf);
	r->buf = NULL;
}

int svmigd_relay_key(int *fd, uint32_t role, uint32_t channel,
		     const uint8_t *session_id, const uint8_t *secret,
		     bool no_tpm, char *err, size_t errlen)
{
	uint32_t flags = role | SVMIG_KEY_STREAM | SVMIG_KEY_SESSION |
			 (no_tpm ? SVMIG_KEY_NO_TPM :
			  role == SVMIG_ROLE_RECEIVER ? SVMIG_KEY_REQUIRE_TPM_SALT : 0);
	struct svmig_info info;
	int ret;

	ret = svmig_open();
	if (ret < 0)
		return svmigd_fail(err, errlen, -1, "cannot open %s: %s", SVMIG_DEVICE,
				   svmigd_strerror(-ret));
	*fd = ret;
	ret = svmig_get_info(*fd, &info);
	if (ret)
		return svmigd_fail(err, errlen, -1, "SVMIG_IOC_GET_INFO: %s",
				   svmigd_strerror(-ret));
	if (!(info.features & SVMIG_FEAT_STREAM) || !(info.features & SVMIG_FEAT_SESSION) ||
	    ((flags & SVMIG_KEY_REQUIRE_TPM_SALT) &&
	     !(info.features & SVMIG_FEAT_TPM_SALT_FLAG)))
		return svmigd_fail(err, errlen, -1, "svmig.ko has no stream mode or "
				   "sessions, or cannot tell a TPM-salted sender (too old)");
	ret = svmig_set_key(*fd, flags, channel, session_id, secret);
	if (ret)
		return svmigd_fail(err, errlen, -1, "SVMIG_IOC_SET_KEY (channel %u): %s",
				   channel, svmigd_strerror(-ret));
	return 0;
}

/* Everything of @buf into the blocking @fd (a /dev/svmig sender, or QEMU). */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EAGAIN) {	/* QEMU's socket: bounded wait for room */
				struct pollfd p = { .fd = fd, .events = POLLOUT };

				if (poll(&p, 1, WRITE_WAIT_MS) == 0)
					return -ETIMEDOUT;
				continue;
			}
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/*
 * Waits for one of @fds to be readable; fails when r->watch turns readable
 * first or nothing happened for r->idle_ms.  @fds[i].fd < 0 are skipped.
 */
static int wait_readable(struct svmigd_relay *r, struct pollfd *fds, int nfds,
			 char *err, size_t errlen)
{
	struct pollfd p[4];
	int i, n;

	if (nfds > 3)
		return svmigd_fail(err, errlen, -1, "relay: too many descriptors");
	for (i = 0; i < nfds; i++) {
		p[i] = fds[i];
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	p[nfds] = (struct pollfd){ .fd = r->watch, .events = POLLIN };
	do
		n = poll(p, (nfds_t)nfds + 1, r->idle_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return svmigd_fail(err, errlen, -1, "relay: poll: %s", svmigd_strerror(errno));
	if (n == 0)
		return svmigd_fail(err, errlen, -1, "relay: no byte either way for %d s",
				   r->idle_ms / 1000);
	if (r->watch >= 0 && p[nfds].revents)
		return svmigd_fail(err, errlen, -1, "the peer ended the session "
				   "during the migration");
	for (i = 0; i < nfds; i++)
		fds[i].revents = p[i].revents;
	return 0;
}

/* Reads what QEMU has into r->buf; 0 at its end; -EAGAIN if nothing yet. */
static ssize_t read_some(int fd, uint8_t *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* The source QEMU's stream, as much as it has, into the sender. */
static int pump_stream(struct svmigd_relay *r, char *err, size_t errlen)
{
	ssize_t n = read_some(r->qemu, r->buf, SVMIGD_RELAY_BUF);
	int ret;

	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return svmigd_fail(err, errlen, -1, "reading QEMU's migration stream: %s",
				   svmigd_strerror((int)-n));
	if (n == 0)
		return svmigd_fail(err, errlen, -1, "QEMU closed its migration stream "
				   "before the destination loaded it (the migration failed "
				   "there, or QEMU has no return path)");
	ret = write_all(r->out, r->buf, (size_t)n);
	if (ret)
		return svmigd_fail(err, errlen, -1, "sealing the stream: %s",
				   svmigd_strerror(-ret));
	r->fwd_bytes += (uint64_t)n;
	return 0;
}

/*
 * Return-path messages from r->rp to QEMU, whole ones only, up to a SHUT
 * that reports success: that one and everything after it stay held.
 */
static int rp_forward(struct svmigd_relay *r, char *err, size_t errlen)
{
	size_t off = 0;
	int ret = 0;

	while (!r->shut_held && r->rp_len - off >= SVMIGD_RP_HDR) {
		const uint8_t *m = r->rp + off;
		unsigned int type = (unsigned int)m[0] << 8 | m[1];
		size_t len = (size_t)m[2] << 8 | m[3];

		if (len > SVMIGD_RP_MSG_MAX)
			return svmigd_fail(err, errlen, -1, "return path: a message of "
					   "%zu bytes (type %u) is not QEMU's", len, type);
		if (type != SVMIGD_RP_MSG_SHUT && type != SVMIGD_RP_MSG_PONG)
			return svmigd_fail(err, errlen, -1, "return path: message type %u "
					   "(postcopy?) is not relayed: the destination would "
					   "run before the END verified", type);
		if (r->rp_len - off < SVMIGD_RP_HDR + len)
			break;
		if (type == SVMIGD_RP_MSG_SHUT && len == 4 &&
		    !(m[4] | m[5] | m[6] | m[7])) {
			r->shut_held = true;
			break;
		}
		ret = write_all(r->qemu, m, SVMIGD_RP_HDR + len);
		if (ret)
			return svmigd_fail(err, errlen, -1, "return path to QEMU: %s",
					   svmigd_strerror(-ret));
		off += SVMIGD_RP_HDR + len;
	}
	memmove(r->rp, r->rp + off, r->rp_len - off);
	r->rp_len -= off;
	return 0;
}

/* The target's return path, as much as the receiver has, into r->rp. */
static int pump_rp_in(struct svmigd_relay *r, bool *eof, char *err, size_t errlen)
{
	ssize_t n;

	if (r->rp_len == sizeof(r->rp))
		return svmigd_fail(err, errlen, -1, "return path: held bytes overflow");
	n = read_some(r->in, r->rp + r->rp_len, sizeof(r->rp) - r->rp_len);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return svmigd_fail(err, errlen, -1, "svmig.ko refused the return path: %s",
				   svmigd_strerror((int)-n));
	if (n == 0) {
		*eof = true;
		return 0;
	}
	r->rev_bytes += (uint64_t)n;
	r->rp_len += (size_t)n;
	return 0;
}

/* What QEMU has written and not been read yet, into the sender. */
static int drain_stream(struct svmigd_relay *r, char *err, size_t errlen)
{
	for (;;) {
		ssize_t n = read_some(r->qemu, r->buf, SVMIGD_RELAY_BUF);

		if (n <= 0)
			return 0;
		if (write_all(r->out, r->buf, (size_t)n))
			return svmigd_fail(err, errlen, -1, "sealing the stream's tail");
		r->fwd_bytes += (uint64_t)n;
	}
}

int svmigd_relay_source_run(struct svmigd_relay *r, char *err, size_t errlen)
{
	if (set_nonblock(r->qemu, true) || set_nonblock(r->in, true))
		return svmigd_fail(err, errlen, -1, "O_NONBLOCK: %s", svmigd_strerror(errno));
	while (!r->shut_held) {
		struct pollfd p[2] = { { .fd = r->qemu }, { .fd = r->in } };
		bool eof = false;

		if (wait_readable(r, p, 2, err, errlen))
			return -1;
		if (p[0].revents && pump_stream(r, err, errlen))
			return -1;
		if (p[1].revents) {
			if (pump_rp_in(r, &eof, err, errlen) || rp_forward(r, err, errlen))
				return -1;
			if (eof)
				return svmigd_fail(err, errlen, -1, "the return path ended "
						   "before the destination loaded the VM");
		}
	}
	/* Whatever QEMU wrote before the SHUT was answered: none left, but sure. */
	return drain_stream(r, err, errlen);
}

int svmigd_relay_forward_run(struct svmigd_relay *r, int stop, char *err, size_t errlen)
{
	if (set_nonblock(r->qemu, true))
		return svmigd_fail(err, errlen, -1, "O_NONBLOCK: %s", svmigd_strerror(errno));
	for (;;) {
		struct pollfd p[2] = { { .fd = r->qemu }, { .fd = stop } };
		ssize_t n;
		int ret;

		if (wait_readable(r, p, 2, err, errlen))
			return -1;
		if (p[1].revents)
			return drain_stream(r, err, errlen);
		n = read_some(r->qemu, r->buf, SVMIGD_RELAY_BUF);
		if (n == -EAGAIN)
			continue;
		if (n <= 0)	/* QEMU closed the channel: nothing more of it */
			return 0;
		ret = write_all(r->out, r->buf, (size_t)n);
		if (ret)
			return svmigd_fail(err, errlen, -1, "sealing a multifd channel: %s",
					   svmigd_strerror(-ret));
		r->fwd_bytes += (uint64_t)n;
	}
}

int svmigd_relay_source_release(struct svmigd_relay *r, char *err, size_t errlen)
{
	bool eof = false;
	int ret;

	ret = write_all(r->qemu, r->rp, r->rp_len);
	if (ret)
		return svmigd_fail(err, errlen, -1, "return path to QEMU: %s",
				   svmigd_strerror(-ret));
	r->rp_len = 0;
	while (!eof) {
		struct pollfd p[1] = { { .fd = r->in } };
		ssize_t n;

		if (wait_readable(r, p, 1, err, errlen))
			return -1;
		n = read_some(r->in, r->buf, SVMIGD_RELAY_BUF);
		if (n == -EAGAIN)
			continue;
		if (n < 0)
			return svmigd_fail(err, errlen, -1, "svmig.ko refused the return "
					   "path: %s", svmigd_strerror((int)-n));
		if (n == 0) {
			eof = true;
		} else {
			r->rev_bytes += (uint64_t)n;
			ret = write_all(r->qemu, r->buf, (size_t)n);
			if (ret)	/* QEMU completed and went: its loss */
				return 0;
		}
	}
	return 0;
}

/* The stream, as much as the receiver has, into the target's QEMU. */
static int pump_to_qemu(struct svmigd_relay *r, bool *eof, char *err, size_t errlen)
{
	ssize_t n = read_some(r->in, r->buf, SVMIGD_RELAY_BUF);
	int ret;

	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return svmigd_fail(err, errlen, -1, "svmig.ko refused the stream: %s",
				   svmigd_strerror((int)-n));
	if (n == 0) {
		*eof = true;
		return 0;
	}
	ret = write_all(r->qemu, r->buf, (size_t)n);
	if (ret)
		return svmigd_fail(err, errlen, -1, "the stream to QEMU: %s",
				   svmigd_strerror(-ret));
	r->fwd_bytes += (uint64_t)n;
	return 0;
}

/* QEMU's return path, as much as it has, into the sender; *eof at its end. */
static int pump_from_qemu(struct svmigd_relay *r, bool *eof, char *err, size_t errlen)
{
	ssize_t n = read_some(r->qemu, r->rp, sizeof(r->rp));
	int ret;

	if (n == -EAGAIN)
		return 0;
	if (n <= 0) {
		*eof = true;	/* QEMU closed (or broke) its side: no more return path */
		return 0;
	}
	ret = write_all(r->out, r->rp, (size_t)n);
	if (ret)
		return svmigd_fail(err, errlen, -1, "sealing the return path: %s",
				   svmigd_strerror(-ret));
	r->rev_bytes += (uint64_t)n;
	return 0;
}

int svmigd_relay_target_run(struct svmigd_relay *r, char *err, size_t errlen)
{
	bool end = false, qemu_eof = false;

	if (set_nonblock(r->qemu, true) || set_nonblock(r->in, true))
		return svmigd_fail(err, errlen, -1, "O_NONBLOCK: %s", svmigd_strerror(errno));
	while (!end) {
		struct pollfd p[2] = { { .fd = r->in }, { .fd = qemu_eof ? -1 : r->qemu } };

		if (wait_readable(r, p, 2, err, errlen))
			return -1;
		if (p[0].revents && pump_to_qemu(r, &end, err, errlen))
			return -1;
		if (!qemu_eof && p[1].revents && pump_from_qemu(r, &qemu_eof, err, errlen))
			return -1;
	}
	/* QEMU has every byte: it sees the stream end too */
	shutdown(r->qemu, SHUT_WR);
	return 0;
}

static int unix_addr(struct sockaddr_un *sa, const char *path, char *err, size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return svmigd_fail(err, errlen, -1, "socket path too long: %s", path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

int svmigd_relay_unix_connect(const char *path, int timeout_ms, int watch,
			      char *err, size_t errlen)
{
	long long deadline = mono_ms() + timeout_ms;
	struct sockaddr_un sa;

	if (unix_addr(&sa, path, err, errlen))
		return -1;
	for (;;) {
		struct pollfd p = { .fd = watch, .events = POLLIN };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return svmigd_fail(err, errlen, -1, "socket: %s", svmigd_strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		if (errno != ENOENT && errno != ECONNREFUSED)
			return svmigd_fail(err, errlen, -1, "connect %s: %s", path,
					   svmigd_strerror(errno));
		if (mono_ms() >= deadline)
			return svmigd_fail(err, errlen, -1, "nothing listens on %s within %d s "
					   "(did libvirt start the destination?)", path,
					   timeout_ms / 1000);
		if (poll(&p, watch >= 0, RETRY_MS) > 0)
			return svmigd_fail(err, errlen, -1, "the peer ended the session "
					   "before the migration started");
	}
}

int svmigd_relay_unix_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd;

	if (unix_addr(&sa, path, err, errlen))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return svmigd_fail(err, errlen, -1, "socket: %s", svmigd_strerror(errno));
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
	    listen(fd, 4)) {
		svmigd_fail(err, errlen, -1, "listen on %s: %s", path, svmigd_strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int svmigd_relay_unix_accept(int lfd, int timeout_ms, int watch, int cancel,
			     char *err, size_t errlen)
{
	struct pollfd p[3] = {
		{ .fd = lfd, .events = POLLIN },
		{ .fd = watch, .events = POLLIN },
		{ .fd = cancel, .events = POLLIN },
	};
	int n, fd;

	do
		n = poll(p, 3, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return svmigd_fail(err, errlen, -1, "libvirt did not connect within %d s",
				   timeout_ms / 1000);
	if (p[1].revents)
		return svmigd_fail(err, errlen, -1, "the peer ended the session "
				   "before the migration started");
	if (p[2].revents)
		return svmigd_fail(err, errlen, -1, "libvirt's migration ended before "
				   "it connected");
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return svmigd_fail(err, errlen, -1, "accept: %s", svmigd_strerror(errno));
	return fd;
}
