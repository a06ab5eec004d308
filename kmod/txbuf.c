// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit buffers.  Records are sealed in place into a linear buffer of
 * whole pages (one compound allocation of up to 64 KiB) and, with a socket
 * attached, lent to it page by page through kernel_sendpage(), as net/tls's
 * software path does: the socket takes references to the pages and the
 * records are never copied by svmig again.  A lent buffer is written again
 * only once the socket has dropped every reference (its refcount is back to
 * our own); until then the next buffer of a small pool is used, and when
 * every one is still lent, a fresh one replaces the oldest (which the
 * socket frees when it is done with it).  Pages come without __GFP_ZERO:
 * every byte sent is written by sealing first.
 *
 * Should no buffer be free and no memory be left for another, a spare of
 * one record's size, allocated at SET_KEY, is used instead and sent by
 * copy (kernel_sendmsg()), so memory pressure slows a channel down to one
 * record per send but never fails it.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "svmig.h"

#define SVMIG_TX_SPARE	SVMIG_TX_POOL

static struct page *svmig_txbuf_alloc(size_t size, gfp_t extra)
{
	return alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_COMP | extra, get_order(size));
}

/* No reference but ours: the socket is done with every page of it. */
static bool svmig_txbuf_idle(struct page *page)
{
	if (page_ref_count(page) != 1)
		return false;
	/* Our writes come after the socket's last read (its put_page()). */
	smp_acquire__after_ctrl_dep();
	return true;
}

static void svmig_txbuf_use(struct svmig_channel *ch, unsigned int slot)
{
	ch->tx_cur = slot;
	ch->tx_lent = false;
	if (slot == SVMIG_TX_SPARE) {
		ch->txbuf = ch->tx_spare;
		ch->txbuf_size = ch->tx_spare_size;
	} else {
		ch->txbuf = page_address(ch->tx_pool[slot]);
		ch->txbuf_size = ch->tx_pool_size;
	}
}

/* Sender, at SET_KEY: the first buffer and the spare. */
int svmig_txbuf_init(struct svmig_channel *ch)
{
	ch->tx_pool_size = ch->stream ? SVMIG_STREAM_TXBUF_SIZE : SVMIG_PAGE_TXBUF_SIZE;
	ch->tx_spare_size = ch->stream ? SVMIG_DATA_REC_MAX : SVMIG_PAGE_REC_LEN;
	ch->tx_pool[0] = svmig_txbuf_alloc(ch->tx_pool_size, 0);
	ch->tx_spare = kmalloc(ch->tx_spare_size, GFP_KERNEL_ACCOUNT);
	if (!ch->tx_pool[0] || !ch->tx_spare) {
		svmig_txbuf_free(ch);
		return -ENOMEM;
	}
	svmig_txbuf_use(ch, 0);
	return 0;
}

/*
 * After everything in the current buffer was sent: the buffer to seal into
 * next.  The same one if the socket took no reference to it; otherwise the
 * first idle one of the pool, allocating the pool's buffers as they are
 * first needed, then a fresh one in place of the next, then the spare.
 */
void svmig_txbuf_next(struct svmig_channel *ch)
{
	unsigned int first = ch->tx_cur == SVMIG_TX_SPARE ? 0 : ch->tx_cur + 1;
	unsigned int i, slot;
	struct page *page;

	lockdep_assert_held(&ch->lock);
	if (!ch->tx_lent && ch->tx_cur != SVMIG_TX_SPARE)
		return;
	for (i = 0; i < SVMIG_TX_POOL; i++) {
		slot = (first + i) % SVMIG_TX_POOL;
		if (!ch->tx_pool[slot])
			ch->tx_pool[slot] = svmig_txbuf_alloc(ch->tx_pool_size,
							      __GFP_NOWARN | __GFP_NORETRY);
		if (ch->tx_pool[slot] && svmig_txbuf_idle(ch->tx_pool[slot])) {
			svmig_txbuf_use(ch, slot);
			return;
		}
	}
	slot = first % SVMIG_TX_POOL;
	page = svmig_txbuf_alloc(ch->tx_pool_size, __GFP_NOWARN | __GFP_NORETRY);
	if (!page) {
		svmig_txbuf_use(ch, SVMIG_TX_SPARE);
		return;
	}
	/* The socket's references keep the old one until it is done with it. */
	if (ch->tx_pool[slot])
		put_page(ch->tx_pool[slot]);
	ch->tx_pool[slot] = page;
	svmig_txbuf_use(ch, slot);
}

/*
 * Sends the current buffer's bytes [off, off + len): lent page by page when
 * it is a pool buffer, copied when it is the spare or when the socket may
 * not take a loan now (svmig_sock_can_lend()).  Returns the bytes the
 * socket took (at least one) or a negative errno.
 */
int svmig_txbuf_send(struct svmig_channel *ch, size_t off, size_t len)
{
	struct page *page;
	size_t poff, n;
	int ret;

	if (ch->tx_cur == SVMIG_TX_SPARE || !svmig_sock_can_lend(ch))
		return svmig_sock_send(ch, ch->txbuf + off, len);
	page = nth_page(ch->tx_pool[ch->tx_cur], off >> PAGE_SHIFT);
	poff = offset_in_page(off);
	n = min_t(size_t, len, PAGE_SIZE - poff);
	ret = svmig_sock_send_page(ch, page, poff, n, n < len);
	if (ret > 0) {
		ch->tx_lent = true;
		ch->stats.zerocopy_bytes += ret;
	}
	return ret;
}

/*
 * The last close() or a failed SET_KEY.  Bytes past what was sealed may
 * hold the plaintext of a stream record whose sealing failed: wiped, as
 * is every buffer the socket no longer reads (the lent ones hold only
 * ciphertext that went on the wire, and the socket frees them).
 */
void svmig_txbuf_free(struct svmig_channel *ch)
{
	struct page *page;
	unsigned int i;

	if (ch->txbuf && ch->tx_len < ch->txbuf_size)
		memzero_explicit(ch->txbuf + ch->tx_len, ch->txbuf_size - ch->tx_len);
	for (i = 0; i < SVMIG_TX_POOL; i++) {
		page = ch->tx_pool[i];
		if (!page)
			continue;
		if (svmig_txbuf_idle(page))
			memzero_explicit(page_address(page), ch->tx_pool_size);
		put_page(page);
		ch->tx_pool[i] = NULL;
	}
	kfree_sensitive(ch->tx_spare);
	ch->tx_spare = NULL;
	ch->txbuf = NULL;
}
