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
 * What pinning cannot reach (VM_IO or VM_PFNMAP mappings, say) a plain
 * copy_from_user() may still read: copied into the record and sealed in
 * place, as every page was before pinning.  -EFAULT if it cannot either.
 */
static int svmig_seal_user_copy(struct svmig_channel *ch, u8 *rec, size_t clear_len,
				u64 uaddr)
{
	int ret;

	if (copy_from_user(rec + clear_len, u64_to_user_ptr(uaddr), SVMIG_PAGE_SIZE))
		return -EFAULT;
	ret = svmig_seal(ch, rec, clear_len, SVMIG_PAGE_SIZE);
	return ret ? svmig_fail(ch, ret) : 0;
}

/*
 * Seals the guest page at @uaddr into the record at @rec, straight from the
 * page: it is pinned for the seal only (so an munmap() or a remap by the
 * VMM meanwhile cannot free it under the cipher), never copied into the
 * record.  The pin does not stop the guest or the VMM writing to the page
 * while it is sealed: the record then holds a torn page, exactly as a
 * copy_from_user() racing the write would; the write dirties the page and
 * the dirty log sends it again.  A page that cannot be pinned is copied
 * (svmig_seal_user_copy); -EFAULT, as before, if the address is not
 * mapped.  Runs in ioctl context under the channel mutex, no spinlock: the
 * pin may sleep (fault the page in).
 */
static int svmig_seal_user_page(struct svmig_channel *ch, u8 *rec, size_t clear_len,
				u64 uaddr)
{
	struct page *page;
	int ret;

	BUILD_BUG_ON(SVMIG_PAGE_SIZE > PAGE_SIZE);
	ret = pin_user_pages_fast(uaddr, 1, 0, &page);
	if (ret != 1) {
		if (ret > 0)
			unpin_user_pages(&page, ret);
		return svmig_seal_user_copy(ch, rec, clear_len, uaddr);
	}
	ret = svmig_seal_from(ch, rec, clear_len, page, offset_in_page(uaddr),
			      SVMIG_PAGE_SIZE);
	unpin_user_page(page);
	return ret ? svmig_fail(ch, ret) : 0;
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
	/* Regions are page-aligned (region.c), so this is one whole page. */
	ret = svmig_seal_user_page(ch, rec, SVMIG_HDR_LEN + sizeof(*wp),
				   m->uaddr + e->offset * SVMIG_PAGE_SIZE);
	if (ret)
		return ret;

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
	/* Written back whatever happens next (uapi.rst): 0 if nothing was consumed. */
	s.completed = 0;
	ret = svmig_check_submit(&s);
	if (!ret)
		ret = svmig_tx_ready(ch);
	if (!ret && (ch->stream || !ch->ring))
		ret = -EINVAL;
	if (!ret)
		ret = svmig_tx_start(ch);
	if (ret)
		goto out;

	ret = svmig_ring_consume(ch, s.max_entries, &s.completed);
	if (ret == -ENOBUFS)
		ret = s.completed ? 0 : -EAGAIN;
	flush_ret = svmig_tx_flush(ch);
	if (!ret)
		ret = flush_ret;
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
