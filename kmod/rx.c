// SPDX-License-Identifier: GPL-2.0
/*
 * Receive framing, both modes: reassemble records from the attached socket
 * (or from write()), check each header, its sequence number and its place
 * in the wire format's order, take the HELLO, and hand every other record,
 * whole, to the mode's apply function (page.c, stream.c), which the caller
 * names: rx.c calls into no mode.  Any refused record ends the channel.
 *
 * The socket is read in bulk: one receive takes whatever has arrived, up to
 * the receive buffer's size (about 15 page records or 3 DATA records), and
 * the records in it are then checked and applied one by one, in place,
 * without another call.  rxbuf holds [rx_head, rx_tail): the current record
 * from rx_head (rx_need bytes long once its header is checked), the records
 * after it, maybe the start of one more.  Bytes after the last record (the
 * MANIFEST or END) are never looked at.
 */
#include <crypto/sha2.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "svmig.h"

int svmig_rx_ready(struct svmig_channel *ch)
{
	if (ch->role != SVMIG_ROLE_RECEIVER)
		return -EINVAL;
	if (ch->failed)
		return -EPIPE;
	return 0;
}

static int svmig_rx_hello(struct svmig_channel *ch, u8 *rec)
{
	struct svmig_wire_hello *h = (struct svmig_wire_hello *)(rec + SVMIG_HDR_LEN);
	u32 flags = be32_to_cpu(h->flags);
	int ret;

	if ((flags & ~SVMIG_HELLO_F_TPM_SALT) != (ch->stream ? SVMIG_HELLO_F_STREAM : 0))
		return -EPROTO;
	if (be32_to_cpu(h->channel) != ch->channel ||
	    memcmp(h->session_id, ch->session_id, SVMIG_SESSION_ID_LEN))
		return -EBADMSG;
	ret = svmig_keys_accept_salt(ch, h->salt);
	if (!ret)
		ret = svmig_rec_open(ch, rec, SVMIG_HDR_LEN + sizeof(*h), SVMIG_TAG_LEN);
	if (ret)
		return ret;
	/* Authentic now: the sender's kernel says whether a TPM salted it. */
	if (flags & SVMIG_HELLO_F_TPM_SALT)
		ch->stats.flags |= SVMIG_STAT_TPM_SALT;
	else if (ch->require_tpm_salt)
		return -EKEYREJECTED;
	return 0;
}

/* The clear (authenticated, not encrypted) part of a record of @type. */
static size_t svmig_clear_len(u8 type)
{
	if (type == SVMIG_REC_HELLO)
		return SVMIG_HDR_LEN + sizeof(struct svmig_wire_hello);
	return SVMIG_HDR_LEN;
}

/*
 * A record whose sequence number is not the next one: a replay (or a
 * reordered or dropped record) only if it is authentic under the number it
 * carries; anything else is a forgery.  The channel fails either way, so
 * opening it in place (and a key for its epoch) costs nothing later.
 */
static int svmig_rx_out_of_seq(struct svmig_channel *ch, u8 *rec)
{
	const struct svmig_wire_hdr *hdr = (const struct svmig_wire_hdr *)rec;
	size_t clear_len = svmig_clear_len(hdr->type);

	if (ch->keys.have_prk && !svmig_rec_open(ch, rec, clear_len, ch->rx_need - clear_len)) {
		ch->stats.replays++;
		return -EILSEQ;
	}
	ch->stats.auth_failures++;
	return -EBADMSG;
}

/*
 * One whole record is at @rec, its header already checked: its sequence
 * number and place, then the HELLO here and any other type through the
 * mode's @apply (page.c or stream.c), then the counts.
 */
static int svmig_rx_record(struct svmig_channel *ch, u8 *rec, svmig_rx_apply_fn apply)
{
	const struct svmig_wire_hdr *hdr = (const struct svmig_wire_hdr *)rec;
	bool hello = hdr->type == SVMIG_REC_HELLO;
	int ret;

	if (be64_to_cpu(hdr->seq) != ch->rx_seq)
		return svmig_rx_out_of_seq(ch, rec);
	/* The HELLO comes first, once; nothing follows the manifest or END. */
	if (ch->ended || hello != !ch->rx_seq)
		ret = -EPROTO;
	else if (hello)
		ret = svmig_rx_hello(ch, rec);
	else
		ret = apply(ch, rec);
	if (ret == -EBADMSG)
		ch->stats.auth_failures++;
	else if (ret == -EPROTO)
		ch->stats.proto_errors++;
	if (ret)
		return ret;
	if (ch->stream)
		sha256_update(&ch->transcript, rec + ch->rx_need - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
	ch->rx_seq++;
	ch->started = true;
	ch->stats.records++;
	ch->stats.bytes += ch->rx_need;
	return 0;
}

/* Bytes the current record still needs before the next step can run (0: none). */
static size_t svmig_rx_want(struct svmig_channel *ch)
{
	size_t have = ch->rx_tail - ch->rx_head;
	size_t need = ch->rx_need ? ch->rx_need : SVMIG_HDR_LEN;

	return have < need ? need - have : 0;
}

/*
 * For poll(): whether the next step needs no more bytes, a whole record (or
 * a header that will be refused) being buffered already.  Checks without
 * counting; svmig_rx_advance() counts when it gets there.
 */
static void svmig_rx_update_whole(struct svmig_channel *ch)
{
	size_t have = ch->rx_tail - ch->rx_head;
	size_t need = ch->rx_need;
	bool whole;

	if (have < SVMIG_HDR_LEN)
		whole = false;
	else if (!need && svmig_check_hdr(ch->rxbuf + ch->rx_head, ch->stream, &need))
		whole = true;
	else
		whole = have >= need;
	WRITE_ONCE(ch->rx_whole, whole);
}

/* Check a completed header, apply a completed record (then *applied). */
static int svmig_rx_advance(struct svmig_channel *ch, svmig_rx_apply_fn apply, bool *applied)
{
	int ret;

	*applied = false;
	if (!ch->rx_need && ch->rx_tail - ch->rx_head >= SVMIG_HDR_LEN) {
		ret = svmig_check_hdr(ch->rxbuf + ch->rx_head, ch->stream, &ch->rx_need);
		if (ret) {
			ch->stats.proto_errors++;
			return ret;
		}
	}
	if (!ch->rx_need || ch->rx_tail - ch->rx_head < ch->rx_need)
		return 0;
	ret = svmig_rx_record(ch, ch->rxbuf + ch->rx_head, apply);
	ch->rx_head += ch->rx_need;
	ch->rx_need = 0;
	if (ch->rx_head == ch->rx_tail && !ch->pt_len) {
		ch->rx_head = 0;
		ch->rx_tail = 0;
	}
	*applied = !ret;
	return ret;
}

/*
 * Room for the largest record from rx_head on: what is left of the buffer,
 * or the buffer again after the partial record moves to its start.  Only
 * when no plaintext waits for read() (in front of rx_head): the callers
 * receive only once it was read or discarded.
 */
static int svmig_rx_make_room(struct svmig_channel *ch)
{
	size_t max = ch->stream ? SVMIG_DATA_REC_MAX : SVMIG_PAGE_REC_LEN;

	if (ch->rxbuf_size - ch->rx_head >= max)
		return 0;
	if (WARN_ON_ONCE(ch->pt_len))
		return -EINVAL;
	memmove(ch->rxbuf, ch->rxbuf + ch->rx_head, ch->rx_tail - ch->rx_head);
	ch->rx_tail -= ch->rx_head;
	ch->rx_head = 0;
	return 0;
}

static int svmig_check_recv(const struct svmig_recv *r)
{
	if (r->flags || r->resv || !svmig_zero(r->reserved, sizeof(r->reserved)))
		return -EINVAL;
	return 0;
}

static bool svmig_transient(int err)
{
	return err == -ERESTARTSYS || err == -EINTR || err == -EAGAIN;
}

/*
 * Receives from the socket until one record has been applied.  A signal or
 * (nonblocking, or SO_RCVTIMEO) no data yet keeps a partial record for the
 * next call; the end of the stream or a refused record ends the channel.
 */
/*
 * One receive: whatever has arrived, as much as the buffer takes.  The end
 * of the stream before the manifest or END, at a record boundary or inside
 * one, is a truncation, told apart from a reset (ECONNRESET) or a refused
 * record by its own errno and verdict.
 */
static int svmig_rx_fill(struct svmig_channel *ch)
{
	int n;

	n = svmig_rx_make_room(ch);
	if (n)
		return svmig_fail(ch, n);
	n = svmig_sock_recv(ch, ch->rxbuf + ch->rx_tail, ch->rxbuf_size - ch->rx_tail);
	if (n == 0)
		return svmig_fail(ch, -ENODATA);
	if (n < 0)
		return svmig_transient(n) ? n : svmig_fail(ch, n);
	ch->rx_tail += n;
	ch->stats.sock_reads++;
	return 0;
}

static int svmig_rx_sock_step(struct svmig_channel *ch, svmig_rx_apply_fn apply)
{
	bool applied = false;
	int ret;

	while (!applied) {
		if (svmig_rx_want(ch)) {
			ret = svmig_rx_fill(ch);
			if (ret)
				return ret;
		}
		ret = svmig_rx_advance(ch, apply, &applied);
		if (ret)
			return svmig_fail(ch, ret);
	}
	return 0;
}

int svmig_rx_sock_one(struct svmig_channel *ch, svmig_rx_apply_fn apply)
{
	int ret;

	lockdep_assert_held(&ch->lock);
	ret = svmig_rx_sock_step(ch, apply);
	svmig_rx_update_whole(ch);
	return ret;
}

/* Stream mode: plaintext nobody read() before RECV took over is dropped. */
static void svmig_rx_discard(struct svmig_channel *ch)
{
	ch->stats.discarded_bytes += ch->pt_len;
	ch->pt_len = 0;
}

int svmig_rx_recv(struct svmig_channel *ch, void __user *argp, svmig_rx_apply_fn apply)
{
	struct svmig_recv __user *urecv = argp;
	struct svmig_recv r;
	int ret;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	/* Written back whatever happens next (uapi.rst): 0 if nothing was applied. */
	r.records = 0;
	ret = svmig_check_recv(&r);
	if (!ret)
		ret = svmig_rx_ready(ch);
	if (!ret && !ch->sock)
		ret = -ENOTCONN;
	if (!ret && !ch->stream)
		ret = svmig_check_mm(ch);
	if (ret)
		goto out;

	svmig_rx_discard(ch);
	while (!ch->ended && (!r.max_records || r.records < r.max_records)) {
		ret = svmig_rx_sock_one(ch, apply);
		if (ret)
			break;
		svmig_rx_discard(ch);
		r.records++;
	}
out:
	if (put_user(r.records, &urecv->records))
		return -EFAULT;
	return ret;
}

/*
 * Without a socket: the bytes of @from, records in chunks of any size (a
 * record may straddle calls), each applied as soon as it is whole.
 */
ssize_t svmig_rx_feed(struct svmig_channel *ch, struct iov_iter *from, svmig_rx_apply_fn apply)
{
	size_t done = 0, n;
	bool applied;
	int ret;

	lockdep_assert_held(&ch->lock);
	while (iov_iter_count(from)) {
		n = min(svmig_rx_want(ch), iov_iter_count(from));
		if (copy_from_iter(ch->rxbuf + ch->rx_tail, n, from) != n)
			return done ? done : -EFAULT;
		ch->rx_tail += n;
		done += n;
		ret = svmig_rx_advance(ch, apply, &applied);
		if (ret)
			return svmig_fail(ch, ret);
	}
	return done;
}

/* A channel answers for every channel of its session. */
int svmig_rx_verify(struct svmig_channel *ch)
{
	if (ch->role != SVMIG_ROLE_RECEIVER)
		return -EINVAL;
	return svmig_verdict_errno(svmig_session_verdict(ch));
}
