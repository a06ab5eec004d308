// SPDX-License-Identifier: GPL-2.0
/*
 * Sender side of page mode: seal guest pages named by ring entries into
 * the transmit buffer, then push them onto the attached socket (or leave
 * them for read()).  The first record is the HELLO, the last the MANIFEST.
 */
#include <linux/uaccess.h>

#include "svmig.h"

static int svmig_tx_ready(struct svmig_channel *ch)
{
	if (ch->role != SVMIG_ROLE_SENDER)
		return -EINVAL;
	if (ch->failed)
		return -EPIPE;
	if (ch->finished)
		return -EINVAL;
	return 0;
}

/*
 * Sends what is sealed but unsent.  A signal or a send timeout leaves the
 * rest queued for the next call; any other error ends the channel.
 */
static int svmig_tx_flush(struct svmig_channel *ch)
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
	if (ch->tx_len + len <= SVMIG_TXBUF_SIZE)
		return 0;
	if (ch->sock)
		return svmig_tx_flush(ch);
	if (ch->tx_off) {
		memmove(ch->txbuf, ch->txbuf + ch->tx_off, ch->tx_len - ch->tx_off);
		ch->tx_len -= ch->tx_off;
		ch->tx_off = 0;
	}
	return ch->tx_len + len <= SVMIG_TXBUF_SIZE ? 0 : -ENOBUFS;
}

static void svmig_tx_account(struct svmig_channel *ch, size_t len)
{
	ch->tx_len += len;
	ch->tx_seq++;
	ch->stats.records++;
	ch->stats.bytes += len;
}

/* The HELLO (seq 0) goes out before anything else. */
static int svmig_tx_start(struct svmig_channel *ch)
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
	h->flags = 0;
	memcpy(h->session_id, ch->session_id, SVMIG_SESSION_ID_LEN);
	memcpy(h->salt, ch->keys.salt, SVMIG_SALT_LEN);
	ret = svmig_seal(ch, rec, SVMIG_HDR_LEN + sizeof(*h), 0);
	if (ret)
		return svmig_fail(ch, ret);
	svmig_tx_account(ch, SVMIG_HELLO_REC_LEN);
	ch->started = true;
	return 0;
}

/* Seals one page; the caller made room for it with svmig_tx_room(). */
int svmig_send_page(struct svmig_channel *ch, const struct svmig_dirty_gfn *e)
{
	struct svmig_page_state *ps;
	struct svmig_wire_page *wp;
	struct svmig_mregion *m;
	u8 *rec;
	int ret;

	m = svmig_find_region(ch, e->slot);
	if ((e->flags & ~(SVMIG_GFN_F_DIRTY | SVMIG_GFN_F_RESET)) || !m ||
	    e->offset >= m->npages) {
		ch->stats.bad_entries++;
		return -EINVAL;
	}
	ps = &m->pages[e->offset];
	if (ps->gen == U32_MAX)
		return svmig_fail(ch, -EOVERFLOW);

	rec = ch->txbuf + ch->tx_len;
	svmig_put_hdr(rec, SVMIG_REC_PAGE, SVMIG_PAGE_REC_LEN - SVMIG_HDR_LEN, ch->tx_seq);
	wp = (struct svmig_wire_page *)(rec + SVMIG_HDR_LEN);
	wp->slot = cpu_to_be32(m->slot);
	wp->generation = cpu_to_be32(ps->gen + 1);
	wp->page = cpu_to_be64(e->offset);
	if (copy_from_user(wp + 1, u64_to_user_ptr(m->uaddr + e->offset * SVMIG_PAGE_SIZE),
			   SVMIG_PAGE_SIZE))
		return -EFAULT;
	ret = svmig_seal(ch, rec, SVMIG_HDR_LEN + sizeof(*wp), SVMIG_PAGE_SIZE);
	if (ret)
		return svmig_fail(ch, ret);

	ps->gen++;
	memcpy(ps->tag, rec + SVMIG_PAGE_REC_LEN - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
	svmig_tx_account(ch, SVMIG_PAGE_REC_LEN);
	ch->stats.pages++;
	return 0;
}

static int svmig_check_submit(const struct svmig_submit *s)
{
	if (s->flags || s->resv || !svmig_zero(s->reserved, sizeof(s->reserved)))
		return -EINVAL;
	return 0;
}

int svmig_submit(struct svmig_channel *ch, void __user *argp)
{
	struct svmig_submit __user *usub = argp;
	struct svmig_submit s;
	int ret, flush_ret;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	ret = svmig_check_submit(&s);
	if (!ret)
		ret = svmig_tx_ready(ch);
	if (!ret && !ch->ring)
		ret = -EINVAL;
	if (!ret)
		ret = svmig_tx_start(ch);
	if (ret)
		return ret;

	ret = svmig_ring_consume(ch, s.max_entries, &s.completed);
	if (ret == -ENOBUFS)
		ret = s.completed ? 0 : -EAGAIN;
	flush_ret = svmig_tx_flush(ch);
	if (!ret)
		ret = flush_ret;
	if (put_user(s.completed, &usub->completed))
		return -EFAULT;
	return ret;
}

int svmig_finish(struct svmig_channel *ch)
{
	struct svmig_wire_manifest *mf;
	u64 pages;
	u8 *rec;
	int ret;

	ret = svmig_tx_ready(ch);
	if (!ret)
		ret = svmig_tx_start(ch);
	if (!ret)
		ret = svmig_tx_room(ch, SVMIG_MANIFEST_REC_LEN);
	if (ret)
		return ret == -ENOBUFS ? -EAGAIN : ret;

	rec = ch->txbuf + ch->tx_len;
	svmig_put_hdr(rec, SVMIG_REC_MANIFEST, SVMIG_MANIFEST_REC_LEN - SVMIG_HDR_LEN,
		      ch->tx_seq);
	mf = (struct svmig_wire_manifest *)(rec + SVMIG_HDR_LEN);
	svmig_table_digest(ch, mf->digest, &pages);
	mf->pages = cpu_to_be64(pages);
	mf->page_records = cpu_to_be64(ch->stats.pages);
	ret = svmig_seal(ch, rec, SVMIG_HDR_LEN, sizeof(*mf));
	if (ret)
		return svmig_fail(ch, ret);
	svmig_tx_account(ch, SVMIG_MANIFEST_REC_LEN);
	ch->finished = true;
	ch->stats.manifest_pages = pages;
	ch->stats.flags |= SVMIG_STAT_FINISHED;
	return svmig_tx_flush(ch);
}

/* Records for a transport of userspace's own: a byte stream, EOF after the manifest. */
ssize_t svmig_tx_read(struct svmig_channel *ch, char __user *buf, size_t count)
{
	size_t n;

	if (ch->role != SVMIG_ROLE_SENDER || ch->sock)
		return -EINVAL;
	if (ch->failed)
		return -EPIPE;
	if (ch->tx_off == ch->tx_len)
		return ch->finished ? 0 : -EAGAIN;
	n = min(count, ch->tx_len - ch->tx_off);
	if (copy_to_user(buf, ch->txbuf + ch->tx_off, n))
		return -EFAULT;
	ch->tx_off += n;
	if (ch->tx_off == ch->tx_len) {
		ch->tx_off = 0;
		ch->tx_len = 0;
	}
	return n;
}
