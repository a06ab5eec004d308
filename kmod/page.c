// SPDX-License-Identifier: GPL-2.0
/*
 * Page mode, both ends.  The sender seals guest pages named by ring entries
 * into the transmit buffer (tx.c), the cipher reading each straight from
 * the guest page, and ends with the MANIFEST.  The receiver applies the
 * page records rx.c hands it, writing a page into the registered guest
 * memory only after its tag verified, and checks the MANIFEST against what
 * it accepted.
 */
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "svmig.h"

/* ---- sender ---- */

/* The region a ring entry names, or NULL: the entry is refused and counted. */
static struct svmig_mregion *svmig_entry_region(struct svmig_channel *ch,
						const struct svmig_dirty_gfn *e)
{
	struct svmig_mregion *m = svmig_find_region(ch, e->slot);

	if ((e->flags & ~(SVMIG_GFN_F_DIRTY | SVMIG_GFN_F_RESET)) || !m ||
	    e->offset >= m->npages) {
		ch->stats.bad_entries++;
		return NULL;
	}
	return m;
}

/*
 * Batch slot @i for ring entry @e: the record's header at its place in the
 * transmit buffer, the page's next generation (taken at once, so the same
 * page twice in a batch gets two), its identity, and the guest page held
 * by a plain reference (FOLL_GET), or copied into the record where
 * get_user_pages cannot reach it (VM_IO or VM_PFNMAP mappings, say).  Not a
 * pin: a read-only FOLL_PIN unshares KSM-merged and COW-shared anonymous
 * pages, and QEMU marks guest RAM mergeable; a short-lived CPU read needs
 * no pin.  The reference does not stop the guest or the VMM writing to the
 * page while it is sealed: the record then holds a torn page, exactly as a
 * copy_from_user() racing the write would; the write dirties the page and
 * the dirty log sends it again.  A page that can be read neither way fails
 * the channel (-EFAULT, by the caller): it was named dirty, so a manifest
 * without it would let the destination resume with an old copy.
 */
static int svmig_batch_prepare(struct svmig_channel *ch, unsigned int i,
			       const struct svmig_dirty_gfn *e)
{
	struct svmig_batch_slot *s = &ch->batch->slot[i];
	struct svmig_wire_page *id = (struct svmig_wire_page *)s->crypt.ident;
	struct svmig_mregion *m = svmig_entry_region(ch, e);
	u64 uaddr;

	if (!m)
		return -EINVAL;
	s->ps = &m->pages[e->offset];
	if (s->ps->gen == U32_MAX)
		return -EOVERFLOW;
	s->rec = ch->txbuf + ch->tx_len + i * SVMIG_PAGE_REC_LEN;
	svmig_put_hdr(s->rec, SVMIG_REC_PAGE, SVMIG_PAGE_REC_LEN - SVMIG_HDR_LEN, ch->tx_seq + i);
	s->slot = m->slot;
	s->index = e->offset;
	s->created = !s->ps->gen;
	s->gen = s->ps->gen + 1;
	id->slot = cpu_to_be32(s->slot);
	id->generation = cpu_to_be32(s->gen);
	id->page = cpu_to_be64(s->index);
	uaddr = m->uaddr + e->offset * SVMIG_PAGE_SIZE;
	s->offset = offset_in_page(uaddr);
	if (get_user_pages_fast(uaddr, 1, 0, &s->page) != 1) {
		s->page = NULL;
		memcpy(s->rec + SVMIG_HDR_LEN, id, sizeof(*id));
		if (copy_from_user(s->rec + SVMIG_HDR_LEN + sizeof(*id), u64_to_user_ptr(uaddr),
				   SVMIG_PAGE_SIZE))
			return -EFAULT;
	}
	s->ps->gen = s->gen;
	return 0;
}

/*
 * Up to @want ring entries as one batch: as many records as the transmit
 * buffer has room for, within one key epoch, sealed on several CPUs
 * (batch.c) and accounted in ring order.  In a shared session a batch is
 * one page, under that page's lock from reading its generation in the
 * session's table to setting the new one, across the read of the page:
 * the order of generations is the order in which the page's bytes were
 * read, on any channel.  An entry that cannot be sent ends the batch, the
 * ones before it sealed: a bad entry is consumed and refused (-EINVAL); a
 * page that cannot be read (-EFAULT) or whose generation would wrap
 * (-EOVERFLOW) then fails the channel.  *done counts the entries sealed.
 */
static int svmig_send_batch(struct svmig_channel *ch, u32 want, u32 *done)
{
	u64 epoch_left = (((ch->tx_seq >> SVMIG_EPOCH_SHIFT) + 1) << SVMIG_EPOCH_SHIFT) -
			 ch->tx_seq;
	bool shared = ch->session->shared, locked = false;
	unsigned int n, k = 0, i;
	struct svmig_dirty_gfn e;
	int ret = 0, seal_ret = 0;

	n = (ch->txbuf_size - ch->tx_len) / SVMIG_PAGE_REC_LEN;
	n = min3(n, shared ? 1U : (unsigned int)SVMIG_BATCH_MAX, want);
	n = min_t(u64, n, epoch_left);
	while (k < n) {
		svmig_ring_pop(ch, &e);
		if (shared) {
			svmig_page_lock(ch, e.slot, e.offset);
			locked = true;
		}
		ret = svmig_batch_prepare(ch, k, &e);
		if (ret)
			break;
		k++;
	}
	if (k) {
		seal_ret = svmig_keys_for_seq(ch, ch->tx_seq);
		if (!seal_ret)
			seal_ret = svmig_batch_seal(ch, k);
	}
	for (i = 0; i < k; i++) {
		struct svmig_batch_slot *s = &ch->batch->slot[i];

		if (s->page)
			put_page(s->page);
		if (seal_ret)
			continue;
		svmig_table_set(ch, s->ps, s->slot, s->index, s->created, s->gen,
				s->rec + SVMIG_PAGE_REC_LEN - SVMIG_TAG_LEN);
		svmig_tx_account(ch, SVMIG_PAGE_REC_LEN);
		ch->stats.pages++;
		(*done)++;
	}
	if (locked)
		svmig_page_unlock(ch, e.slot, e.offset);
	if (seal_ret)
		return svmig_fail(ch, seal_ret);
	return ret && ret != -EINVAL ? svmig_fail(ch, ret) : ret;
}

/*
 * Seals the pages of up to @max published ring entries (0: all of them).
 * Stops at the first entry that cannot be sent: a bad entry is consumed
 * and refused (-EINVAL); a full transmit buffer (-ENOBUFS, no socket) or
 * an interrupted send leaves the entry in the ring.  *done counts the
 * entries consumed and sealed.  A channel alone in its session seals in
 * batches, on several CPUs; the channels of a shared session one page at a
 * time, each under its page's lock.
 */
static int svmig_page_consume(struct svmig_channel *ch, u32 max, u32 *done)
{
	u32 avail, n;
	int ret;

	*done = 0;
	ret = svmig_ring_avail(ch, &avail);
	if (ret)
		return ret;
	n = max ? min(avail, max) : avail;
	while (*done < n) {
		ret = svmig_tx_room(ch, SVMIG_PAGE_REC_LEN);
		if (!ret)
			ret = svmig_send_batch(ch, n - *done, done);
		if (ret)
			break;
	}
	svmig_ring_commit(ch);
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
	/* The batch's requests (batch.c), made at the first SUBMIT. */
	if (!ret && !ch->batch)
		ret = svmig_batch_alloc(ch);
	if (!ret)
		ret = svmig_tx_start(ch);
	if (ret)
		goto out;

	/*
	 * A full buffer (no socket) or a socket without room (O_NONBLOCK)
	 * after some entries is not an error: what was sealed stays queued
	 * for read(), the next SUBMIT or FINISH.
	 */
	ret = svmig_page_consume(ch, s.max_entries, &s.completed);
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

/*
 * The MANIFEST: this channel's part in the session's table, kept as the
 * pages were sealed, so it costs the same for any size of guest, and the
 * number of channels of the session (none can join after it).
 */
int svmig_page_finish(struct svmig_channel *ch)
{
	struct svmig_wire_manifest *mf;
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
	mf->pages = cpu_to_be64(ch->part_pages);
	mf->page_records = cpu_to_be64(ch->stats.pages);
	mf->channels = cpu_to_be32(svmig_session_finish(ch));
	mf->reserved = 0;
	svmig_sum_put(&ch->part_sum, mf->table_sum);
	ret = svmig_rec_seal(ch, rec, SVMIG_HDR_LEN, sizeof(*mf));
	if (ret)
		return svmig_fail(ch, ret);
	svmig_tx_account(ch, SVMIG_MANIFEST_REC_LEN);
	ch->ended = true;
	ch->stats.manifest_pages = ch->part_pages;
	ch->stats.flags |= SVMIG_STAT_FINISHED;
	return svmig_tx_flush(ch);
}

/* ---- receiver ---- */

/*
 * The page lands only if no channel of the session accepted a newer
 * generation of it: an older copy that another connection delayed is
 * authentic but stale, dropped and counted, the table unchanged.
 */
static int svmig_rx_page_apply(struct svmig_channel *ch, const struct svmig_mregion *m,
			       u64 page, u32 gen, const u8 *pt, const u8 *tag)
{
	struct svmig_page_state *ps = &m->pages[page];
	int ret = 0;

	svmig_page_lock(ch, m->slot, page);
	if (gen <= ps->gen) {
		ch->stats.stale_pages++;
		goto out;
	}
	if (copy_to_user(u64_to_user_ptr(m->uaddr + page * SVMIG_PAGE_SIZE), pt,
			 SVMIG_PAGE_SIZE)) {
		ret = -EFAULT;
		goto out;
	}
	svmig_table_set(ch, ps, m->slot, page, !ps->gen, gen, tag);
	ch->stats.pages++;
out:
	svmig_page_unlock(ch, m->slot, page);
	return ret;
}

/*
 * A PAGE record has no clear part: its identity is known only once the tag
 * verified and the record is decrypted in the receive buffer.  An authentic
 * identity no honest sender makes is malformed (-EPROTO).
 */
static int svmig_rx_page(struct svmig_channel *ch, u8 *rec)
{
	const struct svmig_wire_page *id = (const struct svmig_wire_page *)(rec + SVMIG_HDR_LEN);
	const u8 *tag = rec + SVMIG_PAGE_REC_LEN - SVMIG_TAG_LEN;
	struct svmig_mregion *m;
	u64 page;
	u32 gen;
	int ret;

	ret = svmig_rec_open(ch, rec, SVMIG_HDR_LEN,
			     sizeof(*id) + SVMIG_PAGE_SIZE + SVMIG_TAG_LEN);
	if (ret)
		return ret;
	gen = be32_to_cpu(id->generation);
	page = be64_to_cpu(id->page);
	m = svmig_find_region(ch, be32_to_cpu(id->slot));
	if (!m || page >= m->npages || !gen)
		return -EPROTO;
	ch->rx_page_records++;
	return svmig_rx_page_apply(ch, m, page, gen, (const u8 *)(id + 1), tag);
}

/*
 * The MANIFEST: this channel's part is accepted if it saw as many page
 * records as the sender sealed; the channel count and the sums are
 * compared over the whole session (svmig_session_verdict()).
 */
static int svmig_rx_manifest(struct svmig_channel *ch, u8 *rec)
{
	struct svmig_wire_manifest *mf = (struct svmig_wire_manifest *)(rec + SVMIG_HDR_LEN);
	u32 verdict;
	int ret;

	ret = svmig_rec_open(ch, rec, SVMIG_HDR_LEN, sizeof(*mf) + SVMIG_TAG_LEN);
	if (ret)
		return ret;
	if (mf->reserved)
		return -EPROTO;
	ch->ended = true;
	ch->mf_channels = be32_to_cpu(mf->channels);
	ch->mf_pages = be64_to_cpu(mf->pages);
	svmig_sum_get(&ch->mf_sum, mf->table_sum);
	ch->stats.manifest_pages = ch->mf_pages;
	verdict = be64_to_cpu(mf->page_records) == ch->rx_page_records ?
		  SVMIG_VERDICT_VERIFIED : SVMIG_VERDICT_MISMATCH;
	/* Publishes the parts with it: pairs with svmig_session_verdict(). */
	smp_store_release(&ch->stats.verdict, verdict);
	return 0;
}

/* Page mode's records after the HELLO (rx.c hands them over whole). */
int svmig_page_rx_apply(struct svmig_channel *ch, u8 *rec)
{
	switch (rec[1]) {
	case SVMIG_REC_PAGE:
		return svmig_rx_page(ch, rec);
	case SVMIG_REC_MANIFEST:
		return svmig_rx_manifest(ch, rec);
	}
	return -EPROTO;
}

/* Without a socket: records written in chunks of any size. */
ssize_t svmig_page_write(struct svmig_channel *ch, struct iov_iter *from)
{
	int ret;

	ret = svmig_rx_ready(ch);
	if (!ret && (ch->sock || ch->stream))
		ret = -EINVAL;
	if (!ret)
		ret = svmig_check_mm(ch);
	if (ret)
		return ret;
	return svmig_rx_feed(ch, from, svmig_page_rx_apply);
}
