// SPDX-License-Identifier: GPL-2.0
/*
 * Sender side of page mode: seal guest pages named by ring entries into
 * the transmit buffer (tx.c), the cipher reading each straight from the
 * pinned guest page, then push them onto the attached socket (or leave
 * them for read()).  The last record is the MANIFEST.
 */
#include <linux/mm.h>
#include <linux/uio.h>
#include <linux/uaccess.h>

#include "svmig.h"

/*
 * What get_user_pages cannot reach (VM_IO or VM_PFNMAP mappings, say) a
 * plain copy_from_user() may still read: copied into the record and sealed
 * in place.  A page that cannot be read either fails the channel: it was
 * named dirty, so a manifest without it would let the destination resume
 * with an old copy of the page.
 */
static int svmig_seal_user_copy(struct svmig_channel *ch, u8 *rec, size_t clear_len,
				u64 uaddr)
{
	int ret;

	if (copy_from_user(rec + clear_len, u64_to_user_ptr(uaddr), SVMIG_PAGE_SIZE))
		return svmig_fail(ch, -EFAULT);
	ret = svmig_rec_seal(ch, rec, clear_len, SVMIG_PAGE_SIZE);
	return ret ? svmig_fail(ch, ret) : 0;
}

/*
 * Seals the guest page at @uaddr into the record at @rec, straight from the
 * page: a reference holds it for the seal only (so an munmap() or a remap
 * by the VMM meanwhile cannot free it under the cipher), never copied into
 * the record.  A plain reference (FOLL_GET), not a pin: a read-only
 * FOLL_PIN unshares KSM-merged and COW-shared anonymous pages, and QEMU
 * marks guest RAM mergeable; a short-lived CPU read needs no pin.  The
 * reference does not stop the guest or the VMM writing to the page while
 * it is sealed: the record then holds a torn page, exactly as a
 * copy_from_user() racing the write would; the write dirties the page and
 * the dirty log sends it again.  Runs in ioctl context under the channel
 * mutex, no spinlock: the lookup may sleep (fault the page in).
 */
static int svmig_seal_user_page(struct svmig_channel *ch, u8 *rec, size_t clear_len,
				u64 uaddr)
{
	struct page *page;
	int ret;

	BUILD_BUG_ON(SVMIG_PAGE_SIZE > PAGE_SIZE);
	ret = get_user_pages_fast(uaddr, 1, 0, &page);
	if (ret != 1)
		return svmig_seal_user_copy(ch, rec, clear_len, uaddr);
	ret = svmig_rec_seal_page(ch, rec, clear_len, page, offset_in_page(uaddr),
				  SVMIG_PAGE_SIZE);
	put_page(page);
	return ret ? svmig_fail(ch, ret) : 0;
}

/* Seals one page; the caller made room for it with svmig_tx_room(). */
int svmig_send_page(struct svmig_channel *ch, const struct svmig_dirty_gfn *e)
{
	struct svmig_page_state *ps;
	struct svmig_wire_page *wp;
	struct svmig_mregion *m;
	u32 *sgen = NULL, gen;
	u8 *rec;
	int ret;

	m = svmig_find_region(ch, e->slot);
	if ((e->flags & ~(SVMIG_GFN_F_DIRTY | SVMIG_GFN_F_RESET)) || !m ||
	    e->offset >= m->npages) {
		ch->stats.bad_entries++;
		return -EINVAL;
	}
	ps = &m->pages[e->offset];
	/*
	 * In a session the generation comes from the session's table, under
	 * the page's lock held across the seal: the order of generations is
	 * the order in which the page's bytes were read, on any channel.
	 */
	if (ch->session) {
		sgen = svmig_page_lock(ch, m->slot, e->offset);
		if (!sgen)
			return svmig_fail(ch, -EINVAL);
		gen = *sgen;
	} else {
		gen = ps->gen;
	}
	if (gen == U32_MAX) {
		ret = svmig_fail(ch, -EOVERFLOW);
		goto out;
	}

	rec = ch->txbuf + ch->tx_len;
	svmig_put_hdr(rec, SVMIG_REC_PAGE, SVMIG_PAGE_REC_LEN - SVMIG_HDR_LEN, ch->tx_seq);
	wp = (struct svmig_wire_page *)(rec + SVMIG_HDR_LEN);
	wp->slot = cpu_to_be32(m->slot);
	wp->generation = cpu_to_be32(gen + 1);
	wp->page = cpu_to_be64(e->offset);
	/* Regions are page-aligned (region.c), so this is one whole page. */
	ret = svmig_seal_user_page(ch, rec, SVMIG_HDR_LEN + sizeof(*wp),
				   m->uaddr + e->offset * SVMIG_PAGE_SIZE);
	if (ret)
		goto out;

	if (sgen)
		*sgen = gen + 1;
	ps->gen = gen + 1;
	memcpy(ps->tag, rec + SVMIG_PAGE_REC_LEN - SVMIG_TAG_LEN, SVMIG_TAG_LEN);
	svmig_tx_account(ch, SVMIG_PAGE_REC_LEN);
	ch->stats.pages++;
out:
	if (sgen)
		svmig_page_unlock(ch, m->slot, e->offset);
	return ret;
}

static int svmig_check_submit(const struct svmig_submit *s)
{
	if (s->flags || s->resv || !svmig_zero(s->reserved, sizeof(s->reserved)))
		return -EINVAL;
	return 0;
}

int svmig_page_submit(struct svmig_channel *ch, void __user *argp)
{
	struct svmig_submit __user *usub = argp;
	struct svmig_submit s;
	int ret, flush_ret;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	/* Written back whatever happens next (uapi.rst): 0 if nothing was consumed. */
	s.completed = 0;
	ret = svmig_check_submit(&s);
	if (!ret)
		ret = svmig_tx_ready(ch);
	if (!ret && (ch->stream || !ch->ring))
		ret = -EINVAL;
	if (!ret)
		ret = svmig_check_mm(ch);
	if (!ret)
		ret = svmig_tx_start(ch);
	if (ret)
		goto out;

	/*
	 * A full buffer (no socket) or a socket without room (O_NONBLOCK)
	 * after some entries is not an error: what was sealed stays queued
	 * for read(), the next SUBMIT or FINISH.
	 */
	ret = svmig_ring_consume(ch, s.max_entries, &s.completed);
	if (ret == -ENOBUFS)
		ret = -EAGAIN;
	flush_ret = svmig_tx_flush(ch);
	if (!ret || ret == -EAGAIN)
		ret = flush_ret ?: ret;
	if (ret == -EAGAIN && s.completed)
		ret = 0;
out:
	if (put_user(s.completed, &usub->completed))
		return -EFAULT;
	return ret;
}

int svmig_page_finish(struct svmig_channel *ch)
{
	struct svmig_wire_manifest *mf;
	u64 pages;
	u8 *rec;
	int ret;

	ret = svmig_tx_finished(ch);
	if (ret <= 0)
		return ret;
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
	svmig_manifest_digest(ch, mf->digest, &pages);
	mf->pages = cpu_to_be64(pages);
	mf->page_records = cpu_to_be64(ch->stats.pages);
	ret = svmig_rec_seal(ch, rec, SVMIG_HDR_LEN, sizeof(*mf));
	if (ret)
		return svmig_fail(ch, ret);
	svmig_tx_account(ch, SVMIG_MANIFEST_REC_LEN);
	ch->ended = true;
	ch->stats.manifest_pages = pages;
	ch->stats.flags |= SVMIG_STAT_FINISHED;
	return svmig_tx_flush(ch);
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
