// SPDX-License-Identifier: GPL-2.0
/*
 * multifd: QEMU's multifd channels through the libvirt relay (multifd.h).
 * One thread takes the channels as QEMU (source) or the peer (target)
 * opens them; one thread per channel relays it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "multifd.h"
#include "util.h"

#define TAKE_POLL_MS	100

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static bool stopped(struct svmigd_mfd *m, int ms)
{
	struct pollfd p = { .fd = m->stop[0], .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

int svmigd_mfd_init(struct svmigd_mfd *m, bool source, unsigned int want,
		    int idle_ms, int watch, char *err, size_t errlen)
{
	unsigned int k;

	memset(m, 0, sizeof(*m));
	m->source = source;
	m->want = want;
	m->idle_ms = idle_ms;
	m->watch = watch;
	m->lfd = -1;
	m->main_sock = -1;
	atomic_init(&m->first_failed, 0);
	for (k = 0; k < SVMIGD_RELAY_MULTIFD_MAX; k++) {
		struct svmigd_mfd_chan *c = &m->ch[k];

		c->r.qemu = c->r.out = c->r.in = c->r.watch = c->sock = c->stop = -1;
		c->main_sock = -1;
	}
	if (want > SVMIGD_RELAY_MULTIFD_MAX) {
		m->stop[0] = m->stop[1] = -1;
		return svmigd_fail(err, errlen, -1, "at most %d multifd channels",
				   SVMIGD_RELAY_MULTIFD_MAX);
	}
	if (pipe2(m->stop, O_CLOEXEC)) {
		m->stop[0] = m->stop[1] = -1;
		return svmigd_fail(err, errlen, -1, "pipe: %s", svmigd_strerror(errno));
	}
	return 0;
}

int svmigd_mfd_key(struct svmigd_mfd *m, const uint8_t *session_id,
		   const uint8_t *secret, bool no_tpm, char *err, size_t errlen)
{
	unsigned int k, count = m->want;	/* the source's N: the REQUEST says it */

	if (count > SVMIGD_RELAY_MULTIFD_MAX)
		return svmigd_fail(err, errlen, -1, "at most %d multifd channels",
				   SVMIGD_RELAY_MULTIFD_MAX);
	for (k = 1; k <= count; k++) {
		struct svmigd_mfd_chan *c = &m->ch[k - 1];

		if (svmigd_relay_init(&c->r, m->idle_ms, err, errlen) ||
		    svmigd_relay_key(m->source ? &c->r.out : &c->r.in,
				     m->source ? SVMIG_ROLE_SENDER : SVMIG_ROLE_RECEIVER,
				     SVMIGD_RELAY_REV + k, session_id, secret, no_tpm,
				     err, errlen))
			return -1;
		c->r.watch = m->watch;
	}
	return 0;
}

/*
 * A channel failed: the main channel breaks with it.  The target's QEMU
 * side breaks too (its load fails).  The source's does not: a multifd
 * send thread of QEMU 7.2 that fails while the migration thread waits in
 * multifd_send_sync_main() for another channel's SYNC can leave that wait
 * hanging for ever (the other channels exit without posting it), and
 * libvirt's job with it.  So the source's QEMU sees its main channel
 * break, and its multifd channels are drained (svmigd_mfd_drain) until
 * QEMU's own cleanup closes them.
 */
static void chan_failed(struct svmigd_mfd_chan *c, bool source)
{
	unsigned int none = 0;

	atomic_compare_exchange_strong(c->first_failed, &none, c->k);
	if (!source)
		shutdown(c->r.qemu, SHUT_RDWR);
	shutdown(c->sock, SHUT_RDWR);
	if (c->main_sock >= 0)
		shutdown(c->main_sock, SHUT_RDWR);
}

static void *source_chan(void *arg)
{
	struct svmigd_mfd_chan *c = arg;

	c->rc = svmigd_relay_forward_run(&c->r, c->stop, c->err, sizeof(c->err));
	if (c->rc)
		chan_failed(c, true);
	return NULL;
}

static void *target_chan(void *arg)
{
	struct svmigd_mfd_chan *c = arg;

	c->rc = svmigd_relay_target_run(&c->r, c->err, sizeof(c->err));
	if (c->rc)
		chan_failed(c, false);
	return NULL;
}

/* Channel @c has its QEMU side and its data connection: attach, relay. */
static int chan_go(struct svmigd_mfd *m, struct svmigd_mfd_chan *c)
{
	int ret = svmig_attach_socket(m->source ? c->r.out : c->r.in, c->sock);

	if (ret)
		return svmigd_fail(m->err, sizeof(m->err), -1, "SVMIG_IOC_ATTACH_SOCK "
				   "(multifd): %s", svmigd_strerror(-ret));
	c->stop = m->stop[0];
	c->main_sock = m->main_sock;
	c->k = (unsigned int)(c - m->ch) + 1;
	c->first_failed = &m->first_failed;
	if (m->source) {
		if (pthread_create(&c->thread, NULL, source_chan, c))
			return svmigd_fail(m->err, sizeof(m->err), -1, "pthread_create");
	} else if (pthread_create(&c->thread, NULL, target_chan, c)) {
		return svmigd_fail(m->err, sizeof(m->err), -1, "pthread_create");
	}
	c->running = true;
	m->n++;
	return 0;
}

static int source_take(struct svmigd_mfd *m, struct svmigd_mfd_chan *c)
{
	c->r.qemu = svmigd_relay_unix_accept(m->lfd, m->idle_ms, m->watch, m->stop[0],
					     m->err, sizeof(m->err));
	if (c->r.qemu < 0)
		return -1;
	c->sock = m->data_conn(m->arg);
	if (c->sock < 0)
		return svmigd_fail(m->err, sizeof(m->err), -1, "multifd channel %u: "
				   "no data connection to the peer", m->n + 1);
	return 0;
}

/*
 * The channel a data connection says it carries: its HELLO's clear
 * channel number, peeked (the kernel reads the HELLO itself).  Only a
 * choice of which receiver tries it: the HELLO's tag verifies under that
 * channel's keys, with the number in its AAD, or the receiver refuses it.
 * 0 (no multifd channel) if it does not look like a HELLO.
 */
static unsigned int peek_channel(int sock)
{
	uint8_t b[sizeof(struct svmig_wire_hdr) + sizeof(__be32)];
	const struct svmig_wire_hdr *h = (const void *)b;
	uint32_t be;
	ssize_t n;

	do	/* SO_RCVTIMEO bounds it */
		n = recv(sock, b, sizeof(b), MSG_PEEK | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(b) || h->type != SVMIG_REC_HELLO)
		return 0;
	memcpy(&be, b + sizeof(*h), sizeof(be));
	be = ntohl(be);
	return be > SVMIGD_RELAY_REV && be <= SVMIGD_RELAY_REV + SVMIGD_RELAY_MULTIFD_MAX ?
	       be - SVMIGD_RELAY_REV : 0;
}

/*
 * Target: the peer's next data connection, into the slot of the channel
 * it names (the source's numbering: the network may reorder connections
 * that the source opened one after the other).
 */
static int target_take(struct svmigd_mfd *m, struct svmigd_mfd_chan **cp)
{
	struct svmigd_mfd_chan *c;
	unsigned int k;
	int sock;

	while ((sock = m->data_conn(m->arg)) < 0)
		if (stopped(m, TAKE_POLL_MS))
			return 1;	/* no more channels: not a failure */
	k = peek_channel(sock);
	if (!k || k > m->want || m->ch[k - 1].sock >= 0) {
		close(sock);
		return svmigd_fail(m->err, sizeof(m->err), -1, "a data connection names "
				   "no multifd channel of this migration (%u), or one taken "
				   "already", k);
	}
	c = *cp = &m->ch[k - 1];
	c->sock = sock;
	c->r.qemu = svmigd_relay_unix_connect(m->qemu_path, m->idle_ms, m->watch,
					      m->err, sizeof(m->err));
	return c->r.qemu < 0 ? -1 : 0;
}

static void *acceptor(void *arg)
{
	struct svmigd_mfd *m = arg;

	while (m->n < m->want) {
		struct svmigd_mfd_chan *c = &m->ch[m->n];
		int ret = m->source ? source_take(m, c) : target_take(m, &c);

		if (ret > 0)
			break;
		if (ret || chan_go(m, c)) {
			m->rc = -1;
			break;
		}
	}
	return NULL;
}

int svmigd_mfd_start(struct svmigd_mfd *m, char *err, size_t errlen)
{
	if (!m->want)
		return 0;
	if (pthread_create(&m->acceptor, NULL, acceptor, m))
		return svmigd_fail(err, errlen, -1, "pthread_create");
	m->accepting = true;
	return 0;
}

/*
 * Ends channel @k: the source FINISHes it (its END says how many channels
 * the session has); the target has read its END (its relay ended there)
 * and takes its counts; the session's one VERIFY (the caller's, on the
 * main channel) answers for every channel.  Its counts go to c->st.
 */
static int chan_end(struct svmigd_mfd *m, struct svmigd_mfd_chan *c, unsigned int k,
		    struct svmig_stats *sum, char *err, size_t errlen)
{
	struct svmig_stats *st = &c->st;
	int ret;

	if (c->rc)
		return svmigd_fail(err, errlen, -1, "multifd channel %u: %s", k, c->err);
	if (m->source) {
		ret = svmig_finish(c->r.out);
		if (ret)
			return svmigd_fail(err, errlen, -1, "multifd channel %u: FINISH: %s",
					   k, svmigd_strerror(-ret));
	}
	ret = svmig_get_stats(m->source ? c->r.out : c->r.in, st);
	if (ret)
		return svmigd_fail(err, errlen, -1, "multifd channel %u: GET_STATS: %s",
				   k, svmigd_strerror(-ret));
	if (!m->source && (st->auth_failures || st->replays || st->proto_errors))
		return svmigd_fail(err, errlen, -1, "multifd channel %u: %llu auth "
				   "failures, %llu replays, %llu protocol errors", k,
				   (unsigned long long)st->auth_failures,
				   (unsigned long long)st->replays,
				   (unsigned long long)st->proto_errors);
	sum->records += st->records;
	sum->bytes += st->bytes;
	return 0;
}

int svmigd_mfd_end(struct svmigd_mfd *m, bool ok, struct svmig_stats *st,
		   char *err, size_t errlen)
{
	unsigned int k;
	int ret = 0;

	if (m->stop[1] >= 0 && write(m->stop[1], "x", 1) != 1)
		ok = false;
	if (m->accepting)
		pthread_join(m->acceptor, NULL);
	m->accepting = false;
	if (!ok)	/* the target's channels end when their sockets do */
		for (k = 0; k < SVMIGD_RELAY_MULTIFD_MAX; k++)
			if (m->ch[k].sock >= 0)
				shutdown(m->ch[k].sock, SHUT_RDWR);
	/* every slot: a target's channels take the slots they name */
	for (k = 0; k < SVMIGD_RELAY_MULTIFD_MAX; k++) {
		struct svmigd_mfd_chan *c = &m->ch[k];

		if (c->running)
			pthread_join(c->thread, NULL);
		c->running = false;
		if (ok && !ret && c->sock >= 0)
			ret = chan_end(m, c, k + 1, st, err, errlen);
	}
	if (ok && !ret && m->rc)
		ret = svmigd_fail(err, errlen, -1, "%s", m->err);
	if (ok && !ret && m->n != m->want)
		ret = svmigd_fail(err, errlen, -1, m->source ?
				  "QEMU opened %u of %u multifd channels" :
				  "the source opened %u of %u multifd channels", m->n, m->want);
	return ok ? ret : -1;
}

int svmigd_mfd_counts(const struct svmigd_mfd *m, char *out, size_t len)
{
	size_t off = 0;
	unsigned int k;

	if (len)
		out[0] = '\0';
	for (k = 0; k < SVMIGD_RELAY_MULTIFD_MAX && off < len; k++) {
		const struct svmigd_mfd_chan *c = &m->ch[k];
		int n;

		if (c->sock < 0)
			continue;
		n = snprintf(out + off, len - off, "%schannel %u: %llu records, %llu bytes",
			     off ? "; " : "", SVMIGD_RELAY_REV + k + 1,
			     (unsigned long long)c->st.records,
			     (unsigned long long)c->st.bytes);
		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	return off < len ? 0 : -1;
}

/* Source, after a failure: QEMU's multifd sockets, read and dropped. */
void svmigd_mfd_drain(struct svmigd_mfd *m, int timeout_ms, int done)
{
	struct pollfd p[SVMIGD_RELAY_MULTIFD_MAX + 1];
	unsigned int k, n, open;
	int waited = 0;

	svmigd_mfd_end(m, false, &(struct svmig_stats){ 0 }, NULL, 0);
	while (waited < timeout_ms) {
		for (k = n = open = 0; k < SVMIGD_RELAY_MULTIFD_MAX; k++) {
			p[k] = (struct pollfd){ .fd = m->ch[k].r.qemu, .events = POLLIN };
			open += m->ch[k].r.qemu >= 0;
		}
		p[k] = (struct pollfd){ .fd = done, .events = POLLIN };
		if (!open)
			return;
		n = (unsigned int)poll(p, SVMIGD_RELAY_MULTIFD_MAX + 1, TAKE_POLL_MS);
		waited += TAKE_POLL_MS;
		if ((int)n <= 0)
			continue;
		if (p[SVMIGD_RELAY_MULTIFD_MAX].revents)
			return;	/* libvirt's job ended: QEMU let go of them */
		for (k = 0; k < SVMIGD_RELAY_MULTIFD_MAX; k++) {
			struct svmigd_mfd_chan *c = &m->ch[k];
			char sink[65536];

			if (!p[k].revents)
				continue;
			if (recv(c->r.qemu, sink, sizeof(sink), MSG_DONTWAIT) == 0 ||
			    (p[k].revents & (POLLERR | POLLHUP)))
				close_fd(&c->r.qemu);
		}
	}
}

const char *svmigd_mfd_failed(struct svmigd_mfd *m, unsigned int *k)
{
	unsigned int i;

	svmigd_mfd_end(m, false, &(struct svmig_stats){ 0 }, NULL, 0);
	i = atomic_load(&m->first_failed);
	if (i >= 1 && i <= SVMIGD_RELAY_MULTIFD_MAX && m->ch[i - 1].rc) {
		*k = i;
		return m->ch[i - 1].err;
	}
	return NULL;
}

void svmigd_mfd_free(struct svmigd_mfd *m)
{
	unsigned int k;

	svmigd_mfd_end(m, false, &(struct svmig_stats){ 0 }, NULL, 0);
	for (k = 0; k < SVMIGD_RELAY_MULTIFD_MAX; k++) {
		struct svmigd_mfd_chan *c = &m->ch[k];

		close_fd(&c->r.qemu);
		close_fd(&c->r.out);
		close_fd(&c->r.in);
		close_fd(&c->sock);
		svmigd_relay_free(&c->r);
	}
	close_fd(&m->stop[0]);
	close_fd(&m->stop[1]);
}
