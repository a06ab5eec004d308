// SPDX-License-Identifier: GPL-2.0
/*
 * The transmit buffer, shared by page and stream mode: records are sealed
 * into it in place and leave through the attached socket (or read(), in
 * page mode without a socket).  The HELLO always goes first.
 */
#include "svmig.h"

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
 * Sends what is sealed but unsent.  A signal or a send timeout leaves the
 * rest queued for the next call; any other error ends the channel.
 */
int svmig_tx_flush(struct svmig_channel *ch)
{
	int ret;

	if (!ch->sock)
		return 0;
	while (ch->tx_off < ch->tx_len) {
		ret = svmig_sock_send(ch, ch->txbuf + ch->tx_off, ch->tx_len - ch->tx_off);
		if (ret == -ERESTARTSYS || ret == -EINTR || ret == -EAGAIN)
			return ret;
		if (ret < 0)
			return svmig_fail(ch, ret);
		ch->tx_off += ret;
	}
	ch->tx_off = 0;
	ch->tx_len = 0;
	return 0;
}

/* Makes room for one record: flushes, or compacts what read() left. */
int svmig_tx_room(struct svmig_channel *ch, size_t len)
{
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
	u8 *rec;
	int ret;

	if (ch->started)
		return 0;
	rec = ch->txbuf + ch->tx_len;
	h = (struct svmig_wire_hello *)(rec + SVMIG_HDR_LEN);
	svmig_put_hdr(rec, SVMIG_REC_HELLO, SVMIG_HELLO_REC_LEN - SVMIG_HDR_LEN, 0);
	h->channel = cpu_to_be32(ch->channel);
	h->flags = cpu_to_be32(ch->stream ? SVMIG_HELLO_F_STREAM : 0);
	memcpy(h->session_id, ch->session_id, SVMIG_SESSION_ID_LEN);
	memcpy(h->salt, ch->keys.salt, SVMIG_SALT_LEN);
	ret = svmig_seal(ch, rec, SVMIG_HDR_LEN + sizeof(*h), 0);
	if (ret)
		return svmig_fail(ch, ret);
	svmig_tx_account(ch, SVMIG_HELLO_REC_LEN);
	ch->started = true;
	return 0;
}
