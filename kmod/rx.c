// SPDX-License-Identifier: GPL-2.0
/*
 * Receive framing, both modes: reassemble records from the attached socket
 * (or from write()), check each header, its sequence number and its place
 * in the wire format's order, take the HELLO, and hand every other record,
 * whole, to the mode's apply function (page.c, stream.c), which the caller
 * names: rx.c calls into no mode.  Any refused record ends the channel.
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
static int svmig_rx_out_of_seq(struct svmig_channel *ch)
{
	const struct svmig_wire_hdr *hdr = (const struct svmig_wire_hdr *)ch->rxbuf;
	size_t clear_len = svmig_clear_len(hdr->type);

	if (ch->keys.have_prk &&
	    !svmig_rec_open(ch, ch->rxbuf, clear_len, ch->rx_need - clear_len)) {
		ch->stats.replays++;
		return -EILSEQ;
	}
	ch->stats.auth_failures++;
	return -EBADMSG;
}

/*
 * One whole record is in rxbuf, its header already checked: its sequence
 * number and place, then the HELLO here and any other type through the
 * mode's @apply (page.c or stream.c), then the counts.
 */
static int svmig_rx_record(struct svmig_channel *ch, svmig_rx_apply_fn apply)
{
	const struct svmig_wire_hdr *hdr = (const struct svmig_wire_hdr *)ch->rxbuf;
	bool hello = hdr->type == SVMIG_REC_HELLO;
	int ret;

	if (be64_to_cpu(hdr->seq) != ch->rx_seq)
		return svmig_rx_out_of_seq(ch);
	/* The HELLO comes first, once; nothing follows the manifest or END. */
	if (ch->ended || hello != !ch->rx_seq)
		ret = -EPROTO;
	else if (hello)
		ret = svmig_rx_hello(ch, ch->rxbuf);
	else
		ret = apply(ch, ch->rxbuf);
	if (ret == -EBADMSG)
		ch->stats.auth_failures++;
	else if (ret == -EPROTO)
		ch->stats.proto_errors++;
	if (ret)
		return ret;
	if (ch->stream)
		sha256_update(&ch->transcript, ch->rxbuf + ch->rx_need - SVMIG_TAG_LEN,
			      SVMIG_TAG_LEN);
	ch->rx_seq++;
	ch->started = true;
	ch->stats.records++;
	ch->stats.bytes += ch->rx_need;
	return 0;
}

/* Bytes the current record still needs before the next step can run. */
static size_t svmig_rx_want(struct svmig_channel *ch)
{
	return (ch->rx_need ? ch->rx_need : SVMIG_HDR_LEN) - ch->rx_len;
}

/* After bytes landed in rxbuf: check a completed header, apply a completed record. */
static int svmig_rx_advance(struct svmig_channel *ch, svmig_rx_apply_fn apply, bool *applied)
{
	int ret;

	*applied = false;
	if (!ch->rx_need && ch->rx_len == SVMIG_HDR_LEN) {
		ret = svmig_check_hdr(ch->rxbuf, ch->stream, &ch->rx_need);
		if (ret) {
			ch->stats.proto_errors++;
			return ret;
		}
	}
	if (!ch->rx_need || ch->rx_len < ch->rx_need)
		return 0;
	ret = svmig_rx_record(ch, apply);
	ch->rx_len = 0;
	ch->rx_need = 0;
	*applied = !ret;
	return ret;
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
int svmig_rx_sock_one(struct svmig_channel *ch, svmig_rx_apply_fn apply)
{
	bool applied = false;
	int n, ret;

	lockdep_assert_held(&ch->lock);
	while (!applied) {
		n = svmig_sock_recv(ch, ch->rxbuf + ch->rx_len, svmig_rx_want(ch));
		/*
		 * The end of the stream before the manifest or END, at a record
		 * boundary or inside one: truncated, told apart from a reset
		 * (ECONNRESET) or a refused record by its own errno and verdict.
		 */
		if (n == 0)
			return svmig_fail(ch, -ENODATA);
		if (n < 0)
			return svmig_transient(n) ? n : svmig_fail(ch, n);
		ch->rx_len += n;
		ret = svmig_rx_advance(ch, apply, &applied);
		if (ret)
			return svmig_fail(ch, ret);
	}
	return 0;
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
		if (copy_from_iter(ch->rxbuf + ch->rx_len, n, from) != n)
			return done ? done : -EFAULT;
		ch->rx_len += n;
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
