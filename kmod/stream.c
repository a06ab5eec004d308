// SPDX-License-Identifier: GPL-2.0
/*
 * Stream mode, both ends: an unmodified QEMU writes its migration stream into the
 * sender's fd (QMP getfd + "migrate fd:NAME") and reads it back from the
 * receiver's ("migrate-incoming fd:NAME").  The sender seals what each
 * write() brings into DATA records of up to 16 KiB and sends them on the
 * attached socket; the receiver hands read() only plaintext that verified.
 * The END record (record count, byte count, transcript of tags) tells a
 * finished stream from a cut one.
 */
#include <crypto/algapi.h>
#include <linux/net.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "svmig.h"

static int svmig_stream_tx_ready(struct svmig_channel *ch)
{
	if (!ch->stream)
		return -EINVAL;
	if (ch->role == SVMIG_ROLE_SENDER && ch->ended)
		return -EPIPE;
	return svmig_tx_ready(ch) ?: ch->sock ? 0 : -ENOTCONN;
}

/* One DATA record of n bytes from @from, sealed into the transmit buffer. */
static int svmig_seal_data(struct svmig_channel *ch, struct iov_iter *from, size_t n)
{
	size_t len = SVMIG_HDR_LEN + n + SVMIG_TAG_LEN;
	u8 *rec;
	int ret;

	ret = svmig_tx_room(ch, len);
	if (ret)
		return ret;
	rec = ch->txbuf + ch->tx_len;
	if (copy_from_iter(rec + SVMIG_HDR_LEN, n, from) != n)
		return -EFAULT;
	svmig_put_hdr(rec, SVMIG_REC_DATA, len - SVMIG_HDR_LEN, ch->tx_seq);
	ret = svmig_rec_seal(ch, rec, SVMIG_HDR_LEN, n);
	if (ret)
		return svmig_fail(ch, ret);
	svmig_tx_account(ch, len);
	ch->data_records++;
	ch->stats.payload_bytes += n;
	return 0;
}

/*
 * Blocking: seals and sends everything, as a file does.  O_NONBLOCK: seals
 * only while the socket has room for another record (-EAGAIN if none); a
 * record once sealed is always sent whole, by this call or the next.
 */
ssize_t svmig_stream_write(struct svmig_channel *ch, struct iov_iter *from)
{
	size_t done = 0, n;
	int ret;

	ret = svmig_stream_tx_ready(ch);
	if (!ret)
		ret = svmig_tx_start(ch);
	if (!ret)
		ret = svmig_tx_flush(ch);
	if (ret)
		return ret;
	while (iov_iter_count(from)) {
		if (ch->nonblock && !(svmig_sock_poll(ch) & EPOLLOUT)) {
			ret = -EAGAIN;
			break;
		}
		n = min_t(size_t, iov_iter_count(from), SVMIG_STREAM_RECORD_MAX);
		ret = svmig_seal_data(ch, from, n);
		if (ret)
			break;
		done += n;
	}
	if (!ret || done)
		ret = svmig_tx_flush(ch) ?: ret;
	/* What was sealed is queued: a nonblocking flush resumes next call. */
	return done ? done : ret;
}

/*
 * The authenticated end: counts and transcript of everything before it.
 * Only FINISH seals it; a retry after a transient error sends the rest.
 */
int svmig_stream_finish(struct svmig_channel *ch)
{
	struct svmig_wire_end *end;
	struct sha256_state tr;
	u8 *rec;
	int ret;

	if (!ch->stream)
		return -EINVAL;
	ret = svmig_tx_finished(ch);
	if (ret <= 0)
		return ret;
	ret = svmig_stream_tx_ready(ch);
	if (!ret)
		ret = svmig_tx_start(ch);
	if (!ret)
		ret = svmig_tx_room(ch, SVMIG_END_REC_LEN);
	if (ret)
		return ret;
	rec = ch->txbuf + ch->tx_len;
	svmig_put_hdr(rec, SVMIG_REC_END, SVMIG_END_REC_LEN - SVMIG_HDR_LEN, ch->tx_seq);
	end = (struct svmig_wire_end *)(rec + SVMIG_HDR_LEN);
	end->records = cpu_to_be64(ch->data_records);
	end->bytes = cpu_to_be64(ch->stats.payload_bytes);
	end->channels = cpu_to_be32(svmig_session_finish(ch));
	end->reserved = 0;
	tr = ch->transcript;
	sha256_final(&tr, end->transcript);
	ret = svmig_rec_seal(ch, rec, SVMIG_HDR_LEN, sizeof(*end));
	if (ret)
		return svmig_fail(ch, ret);
	svmig_tx_account(ch, SVMIG_END_REC_LEN);
	ch->ended = true;
	ch->stats.flags |= SVMIG_STAT_FINISHED;
	return svmig_tx_flush(ch);
}

static int svmig_rx_data(struct svmig_channel *ch, u8 *rec)
{
	size_t n = ch->rx_need - SVMIG_HDR_LEN - SVMIG_TAG_LEN;
	int ret;

	ret = svmig_rec_open(ch, rec, SVMIG_HDR_LEN, n + SVMIG_TAG_LEN);
	if (ret)
		return ret;
	ch->pt_off = rec - ch->rxbuf + SVMIG_HDR_LEN;
	ch->pt_len = n;
	ch->data_records++;
	ch->stats.payload_bytes += n;
	return 0;
}

static int svmig_rx_end(struct svmig_channel *ch, u8 *rec)
{
	struct svmig_wire_end *end = (struct svmig_wire_end *)(rec + SVMIG_HDR_LEN);
	u8 transcript[SHA256_DIGEST_SIZE];
	struct sha256_state tr;
	u32 verdict;
	int ret;

	ret = svmig_rec_open(ch, rec, SVMIG_HDR_LEN, sizeof(*end) + SVMIG_TAG_LEN);
	if (ret)
		return ret;
	if (end->reserved)
		return -EPROTO;
	ch->mf_channels = be32_to_cpu(end->channels);
	tr = ch->transcript;
	sha256_final(&tr, transcript);
	ch->ended = true;
	if (be64_to_cpu(end->records) == ch->data_records &&
	    be64_to_cpu(end->bytes) == ch->stats.payload_bytes &&
	    !crypto_memneq(end->transcript, transcript, sizeof(transcript)))
		verdict = SVMIG_VERDICT_VERIFIED;
	else
		verdict = SVMIG_VERDICT_MISMATCH;
	/* Pairs with the acquire in svmig_session_verdict(). */
	smp_store_release(&ch->stats.verdict, verdict);
	return 0;
}

/* Stream mode's records after the HELLO (rx.c hands them over whole). */
int svmig_stream_rx_apply(struct svmig_channel *ch, u8 *rec)
{
	switch (rec[1]) {
	case SVMIG_REC_DATA:
		return svmig_rx_data(ch, rec);
	case SVMIG_REC_END:
		return svmig_rx_end(ch, rec);
	}
	return -EPROTO;
}

/*
 * Hands out verified plaintext: as many records as have arrived and fit
 * the caller's buffer, waiting (unless O_NONBLOCK) for the first one only,
 * so a reader with a large buffer needs one call per burst, not one per
 * 16 KiB record.  0 (end of file) only after an END that verified; a cut
 * or forged stream is an error, after the plaintext verified before it:
 * a read() that returned plaintext leaves the error to the next.
 */
ssize_t svmig_stream_read(struct svmig_channel *ch, struct iov_iter *to)
{
	bool nonblock = ch->nonblock;
	size_t done = 0, n;
	int ret;

	/* The refusal that ended the last read(), which returned plaintext. */
	if (ch->rx_deferred_err) {
		ret = ch->rx_deferred_err;
		ch->rx_deferred_err = 0;
		return ret;
	}
	ret = svmig_rx_ready(ch);
	if (!ret && !ch->stream)
		ret = -EINVAL;
	if (!ret && !ch->sock)
		ret = -ENOTCONN;
	if (ret)
		return ret;
	while (iov_iter_count(to)) {
		if (!ch->pt_len) {
			if (ch->ended) {
				if (!done)
					ret = svmig_verdict_errno(ch->stats.verdict);
				break;
			}
			ret = svmig_rx_sock_one(ch, svmig_stream_rx_apply);
			if (ret)
				break;
			continue;
		}
		n = copy_to_iter(ch->rxbuf + ch->pt_off, ch->pt_len, to);
		if (!n) {
			ret = -EFAULT;
			break;
		}
		ch->pt_off += n;
		ch->pt_len -= n;
		done += n;
		/* The next records only if they are there already. */
		ch->nonblock = true;
	}
	ch->nonblock = nonblock;
	if (done && ret && ch->failed)
		ch->rx_deferred_err = ret;
	return done ? done : ret;
}
