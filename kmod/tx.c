// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit framing, both modes: records are sealed into the transmit buffer
 * in place and leave through the attached socket, lent to it without a copy
 * (txbuf.c), or through read(), in page mode without a socket.  The HELLO
 * always goes first; FINISH's last record is sent by FINISH, its retries or
 * the last close(), never sealed by close().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/uio.h>
#include <net/sock.h>

#include "svmig.h"

/* Seconds release() may spend sending what FINISH sealed. */
#define SVMIG_RELEASE_SEND_TIMEOUT	10

int svmig_tx_ready(struct svmig_channel *ch)
{
	if (ch->role != SVMIG_ROLE_SENDER)
		return -EINVAL;
	if (ch->failed)
		return -EPIPE;
	if (ch->ended)
		return -EINVAL;
	return 0;
}

/*
 * FINISH again after FINISH sealed the last record: sends what a signal, a
 * send timeout or O_NONBLOCK left of it (0 once all is sent), so FINISH
 * can be retried until it succeeds.  1 if FINISH has not run yet.
 */
int svmig_tx_finished(struct svmig_channel *ch)
{
	if (ch->role != SVMIG_ROLE_SENDER || !ch->ended)
		return 1;
	if (ch->failed)
		return -EPIPE;
	return svmig_tx_flush(ch);
}

/*
 * The last close() of a sender.  It never ends the stream: a sender closed
 * or killed before FINISH leaves the receiver a truncated stream, which it
 * refuses (ENODATA), never an authentic end.  What FINISH sealed and could
 * not send yet is sent, bounded so close() cannot hang on a dead peer.
 */
void svmig_tx_release(struct svmig_channel *ch)
{
	if (ch->role != SVMIG_ROLE_SENDER || !ch->ended || ch->failed || !ch->sock ||
	    ch->tx_off == ch->tx_len)
		return;
	ch->nonblock = false;
	sock_set_sndtimeo(ch->sock->sk, SVMIG_RELEASE_SEND_TIMEOUT);
	if (svmig_tx_flush(ch))
		pr_info_ratelimited("channel %u: the last record was not sent, the receiver will refuse\n",
				    ch->channel);
}

/*
 * Sends what is sealed but unsent.  A signal or a send timeout leaves the
 * rest queued for the next call; any other error ends the channel.
 */
int svmig_tx_flush(struct svmig_channel *ch)
{
	int ret;

	lockdep_assert_held(&ch->lock);
	if (!ch->sock)
		return 0;
	while (ch->tx_off < ch->tx_len) {
		ret = svmig_txbuf_send(ch, ch->tx_off, ch->tx_len - ch->tx_off);
		if (ret == -ERESTARTSYS || ret == -EINTR || ret == -EAGAIN)
			return ret;
		if (ret < 0)
			return svmig_fail(ch, ret);
		ch->tx_off += ret;
	}
	ch->tx_off = 0;
	ch->tx_len = 0;
	svmig_txbuf_next(ch);
	return 0;
}

/* Makes room for one record: flushes, or compacts what read() left. */
int svmig_tx_room(struct svmig_channel *ch, size_t len)
{
	lockdep_assert_held(&ch->lock);
	if (ch->tx_len + len <= ch->txbuf_size)
		return 0;
	if (ch->sock)
		return svmig_tx_flush(ch);
	if (ch->tx_off) {
		memmove(ch->txbuf, ch->txbuf + ch->tx_off, ch->tx_len - ch->tx_off);
		ch->tx_len -= ch->tx_off;
		ch->tx_off = 0;
	}
	return ch->tx_len + len <= ch->txbuf_size ? 0 : -ENOBUFS;
}

/* Counts the record just sealed at tx_len, and adds its tag to the transcript. */
void svmig_tx_account(struct svmig_channel *ch, size_t len)
{
	if (ch->stream)
		sha256_update(&ch->transcript, ch->txbuf + ch->tx_len + len - SVMIG_TAG_LEN,
			      SVMIG_TAG_LEN);
	ch->tx_len += len;
	ch->tx_seq++;
	ch->stats.records++;
	ch->stats.bytes += len;
}

/* The HELLO (seq 0) goes out before anything else. */
int svmig_tx_start(struct svmig_channel *ch)
{
	struct svmig_wire_hello *h;
	u32 flags;
	u8 *rec;
	int ret;

	if (ch->started)
		return 0;
	rec = ch->txbuf + ch->tx_len;
	h = (struct svmig_wire_hello *)(rec + SVMIG_HDR_LEN);
	svmig_put_hdr(rec, SVMIG_REC_HELLO, SVMIG_HELLO_REC_LEN - SVMIG_HDR_LEN, 0);
	h->channel = cpu_to_be32(ch->channel);
	flags = ch->stream ? SVMIG_HELLO_F_STREAM : 0;
	if (ch->stats.flags & SVMIG_STAT_TPM_SALT)
		flags |= SVMIG_HELLO_F_TPM_SALT;
	h->flags = cpu_to_be32(flags);
	memcpy(h->session_id, ch->session_id, SVMIG_SESSION_ID_LEN);
	memcpy(h->salt, ch->keys.salt, SVMIG_SALT_LEN);
	ret = svmig_rec_seal(ch, rec, SVMIG_HDR_LEN + sizeof(*h), 0);
	if (ret)
		return svmig_fail(ch, ret);
	svmig_tx_account(ch, SVMIG_HELLO_REC_LEN);
	ch->started = true;
	return 0;
}

/* Records for a transport of userspace's own: a byte stream, EOF after the manifest. */
ssize_t svmig_tx_read(struct svmig_channel *ch, struct iov_iter *to)
{
	size_t n;

	if (ch->role != SVMIG_ROLE_SENDER || ch->sock)
		return -EINVAL;
	if (ch->failed)
		return -EPIPE;
	if (ch->tx_off == ch->tx_len)
		return ch->ended ? 0 : -EAGAIN;
	if (!iov_iter_count(to))
		return 0;
	n = copy_to_iter(ch->txbuf + ch->tx_off, ch->tx_len - ch->tx_off, to);
	if (!n)
		return -EFAULT;
	ch->tx_off += n;
	if (ch->tx_off == ch->tx_len) {
		ch->tx_off = 0;
		ch->tx_len = 0;
	}
	return n;
}
