/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmig: internal definitions shared by the module's files.
 *
 * One open file of /dev/svmig is one channel (struct svmig_channel).  All of
 * a channel's state is protected by its mutex; the socket's wake-ups
 * (transport.c), which come in any context, touch only the wait queue.
 */
#ifndef _SVMIG_H
#define _SVMIG_H

#include <crypto/sha2.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/refcount.h>
#include <linux/scatterlist.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/svmig.h>

struct aead_request;
struct crypto_aead;
struct crypto_shash;
struct iov_iter;
struct mm_struct;
struct page;
struct socket;

#define SVMIG_MAX_REGIONS	32
#define SVMIG_MAX_RING_ENTRIES	65536
#define SVMIG_MAX_REGION_SIZE	(16ULL << 30)
#define SVMIG_MAX_TOTAL_SIZE	(64ULL << 30)
/*
 * Sealed records wait in the transmit buffer until a flush (socket) or
 * read() (no socket); the receive buffer takes what one receive brings.
 * Both hold several records of their mode and stay within 64 KiB (an
 * order-4 allocation).
 */
#define SVMIG_PAGE_TXBUF_SIZE	(15 * SVMIG_PAGE_REC_LEN)
#define SVMIG_STREAM_TXBUF_SIZE	(3 * SVMIG_DATA_REC_MAX)
#define SVMIG_PAGE_RXBUF_SIZE	SVMIG_PAGE_TXBUF_SIZE
#define SVMIG_STREAM_RXBUF_SIZE	SVMIG_STREAM_TXBUF_SIZE
/* Transmit buffers a sender may have lent to its socket at once (txbuf.c). */
#define SVMIG_TX_POOL		4

/*
 * The largest clear (authenticated, not encrypted) part of any record type:
 * HELLO's header and body (72 bytes; every other type's is its header).
 * record.c checks every caller's clear_len against it.
 */
#define SVMIG_CLEAR_MAX		(SVMIG_HDR_LEN + sizeof(struct svmig_wire_hello))
#define SVMIG_AAD_MAX		(SVMIG_AAD_IMPLICIT_LEN + SVMIG_CLEAR_MAX)

/* A number mod 2^128: a page's value in the table, or a sum of them. */
struct svmig_sum {
	u64 hi;
	u64 lo;
};

/*
 * What a receiving channel brings to its session's verdict, or what the
 * members that left it brought (session.c): the manifests' (or ENDs')
 * numbers and the channels' own.
 */
struct svmig_part {
	u32 verdict;			/* the worst, or VERIFIED */
	bool counted;			/* mf_channels holds a manifest's count */
	bool channels_differ;		/* a manifest's count was not the others' */
	u32 mf_channels;
	u64 mf_pages, own_pages;
	struct svmig_sum mf_sum, own_sum;
};

/*
 * A session's table entry for one guest page: the generation and value of
 * the last page record sealed (sender) or accepted (receiver) for it.
 */
struct svmig_page_state {
	u32 gen;
	struct svmig_sum value;
};

/*
 * A region of a channel.  Its page states belong to the channel's session
 * (session.c), where every channel that registers the slot finds the same.
 */
struct svmig_mregion {
	u32 slot;
	u64 gpa;
	u64 uaddr;
	u64 npages;
	struct svmig_page_state *pages;
};

/* A region as a session knows it, with the table's entries for its pages. */
struct svmig_sregion {
	u32 slot;
	u64 gpa;
	u64 uaddr;
	u64 npages;
	struct svmig_page_state *pages;
};

#define SVMIG_PAGE_LOCKS	64
#define SVMIG_FP_LEN		32

/*
 * The channels of one migration at one end, session.c: those keyed with
 * SVMIG_KEY_SESSION and the same session id, secret and role, or a channel
 * alone (a private session, on no list).
 */
struct svmig_session {
	struct list_head node;		/* in svmig_sessions, if shared */
	refcount_t ref;			/* one per member */
	bool shared;			/* SVMIG_KEY_SESSION */
	u8 id[SVMIG_SESSION_ID_LEN];
	u8 fp[SVMIG_FP_LEN];		/* proof of the secret, see session.c */
	u32 role;
	/* SHA-256's state after KT: the key of the table's values (table.c) */
	struct sha256_state table_key;
	struct mutex lock;		/* members, regions, and below */
	struct list_head members;	/* struct svmig_channel.session_node */
	u32 joined;			/* channels that ever joined */
	bool finished;			/* sender: a member sealed its MANIFEST/END */
	/*
	 * Receiver: what the members that left (closed) took part in the
	 * verdict (svmig_session_verdict()): the first verdict that was not
	 * VERIFIED, and the parts of those that were.
	 */
	struct svmig_part retired;
	/* Append-only: nregions is published with release after the entry. */
	struct svmig_sregion regions[SVMIG_MAX_REGIONS];
	u32 nregions;
	struct mm_struct *mm;		/* the regions' address space (mmgrab) */
	struct mutex page_locks[SVMIG_PAGE_LOCKS];	/* hashed by slot ^ page */
};

/*
 * One AEAD request and what its scatterlists point to, so it lives here
 * and not on a stack.  aad: the associated data of the record being sealed
 * or opened, in one piece: the implicit part (session || channel), filled
 * when the channel is keyed, then a copy of the record's clear part
 * (record.c).  ident: a PAGE record's identity (struct svmig_wire_page),
 * sealed ahead of the guest page.  sg: the AEAD's source, and its
 * destination too when in place; dst: its destination when a PAGE record is
 * sealed from the guest page.
 */
struct svmig_crypt {
	struct aead_request *req;
	u8 aad[SVMIG_AAD_MAX];
	u8 iv[SVMIG_NONCE_LEN];
	u8 ident[sizeof(struct svmig_wire_page)];
	struct scatterlist sg[3];
	struct scatterlist dst[2];
};

struct svmig_keys {
	struct crypto_shash *hmac;	/* hmac(sha256), for HKDF */
	struct crypto_aead *aead;	/* gcm(aes) */
	struct svmig_crypt crypt;	/* the channel's own request */
	u8 k0[SVMIG_KEY_LEN];
	u8 prk[SVMIG_KEY_LEN];
	u8 salt[SVMIG_SALT_LEN];
	bool have_k0;
	bool have_prk;
	bool have_epoch;
	u32 epoch;
};

/*
 * A batch of PAGE records sealed on several CPUs (batch.c): one request per
 * record the transmit buffer holds, set up for the channel's AEAD.
 */
#define SVMIG_BATCH_MAX		(SVMIG_PAGE_TXBUF_SIZE / SVMIG_PAGE_REC_LEN)

struct svmig_batch_slot {
	struct svmig_crypt crypt;
	u8 *rec;			/* the record, its header and seq set */
	struct page *page;		/* the guest page, or NULL: copied into rec */
	unsigned int offset;
	struct svmig_page_state *ps;
	u32 slot;
	u64 index;
	u32 gen;
	bool created;			/* the page's first record */
	int ret;
};

struct svmig_batch {
	unsigned int cpus;		/* workers a batch is split among */
	struct svmig_batch_slot slot[SVMIG_BATCH_MAX];
};

/* The shared part of the ring mapping, followed by the entry array. */
struct svmig_ring_hdr {
	u32 head;
	u8 pad0[60];
	u32 tail;
	u8 pad1[60];
	u32 ring_mask;
	u32 ring_entries;
	u8 pad2[56];
};

struct svmig_gfn_ring {
	struct svmig_ring_hdr *hdr;	/* vmalloc_user(), mapped to userspace */
	struct svmig_dirty_gfn *entries;
	size_t size;
	u32 head;			/* our copy: userspace cannot move it */
	u32 mask;
};

struct svmig_channel {
	struct mutex lock;		/* everything below; held across sleeps */
	/*
	 * poll() sleeps here, and only here: woken after every call that may
	 * have changed the channel's state and by the attached socket's
	 * wake-ups (transport.c).  Has its own lock.
	 */
	wait_queue_head_t wq;
	bool nonblock;			/* the current call's O_NONBLOCK */
	u32 role;			/* SVMIG_ROLE_* once keyed, else 0 */
	u32 channel;
	u8 session_id[SVMIG_SESSION_ID_LEN];
	bool stream;			/* SVMIG_KEY_STREAM */
	bool require_tpm_salt;		/* SVMIG_KEY_REQUIRE_TPM_SALT */
	bool failed;			/* a fatal error ended the channel */
	bool started;			/* first record sealed or accepted */
	bool ended;			/* the manifest or END was sealed or accepted */
	struct svmig_keys keys;
	/*
	 * Set once SET_KEY has succeeded (with release) and kept until the
	 * file is released, so GET_STATS may follow it without the lock.
	 */
	struct svmig_session *session;
	struct list_head session_node;	/* in session->members */
	/* Page mode: this channel's part in the session's table (table.c). */
	u64 part_pages;
	struct svmig_sum part_sum;

	struct svmig_mregion regions[SVMIG_MAX_REGIONS];	/* by slot */
	u32 nregions;
	u64 total_pages;
	/*
	 * The address space the regions' user addresses belong to: the one
	 * that registered the first region (mmgrab()ed; only compared).
	 */
	struct mm_struct *mm;

	struct svmig_gfn_ring *ring;	/* published with release, see ring.c */
	struct svmig_batch *batch;	/* page-mode sender, see batch.c */
	struct socket *sock;		/* likewise, see transport.c */
	/* Our entry on the socket's wait queue, forwarding to wq (transport.c). */
	struct poll_table_struct sock_pt;
	struct wait_queue_entry sock_wait;
	wait_queue_head_t *sock_whead;

	/* sender: txbuf is the current buffer, a pool buffer or the spare (txbuf.c) */
	u8 *txbuf;
	size_t txbuf_size;
	struct page *tx_pool[SVMIG_TX_POOL];	/* compound pages, NULL until needed */
	size_t tx_pool_size;
	u8 *tx_spare;			/* one record, sent by copy */
	size_t tx_spare_size;
	unsigned int tx_cur;		/* txbuf's index in tx_pool, SVMIG_TX_POOL: the spare */
	bool tx_lent;			/* the socket took references to txbuf's pages */
	size_t tx_len;			/* bytes sealed into txbuf */
	size_t tx_off;			/* bytes of them already sent or read */
	u64 tx_seq;

	/* receiver */
	u8 *rxbuf;
	size_t rxbuf_size;
	size_t rx_head;			/* the current record's first byte in rxbuf */
	size_t rx_tail;			/* the end of the bytes received */
	size_t rx_need;			/* its length, once its header is checked */
	bool rx_whole;			/* for poll(): the next step needs no more bytes */
	u64 rx_seq;
	u64 rx_page_records;		/* accepted + stale */
	/* The MANIFEST's (or END's) part, valid once the verdict is set. */
	u64 mf_pages;
	struct svmig_sum mf_sum;
	u32 mf_channels;
	size_t pt_off, pt_len;		/* stream: verified plaintext in rxbuf */
	int rx_deferred_err;		/* stream: the next read()'s error */

	/* stream mode, both ends */
	u64 data_records;
	struct sha256_state transcript;	/* over the tags of all records so far */

	struct svmig_stats stats;	/* counters; the rest filled on read */
};

/* keys.c */
int svmig_kdf_extract(struct crypto_shash *hmac, const u8 *salt, size_t salt_len,
		      const u8 *ikm, size_t ikm_len, u8 *prk);
int svmig_kdf_expand(struct crypto_shash *hmac, const u8 *prk, const u8 *info,
		     size_t info_len, u8 *okm, size_t okm_len);
int svmig_keys_set(struct svmig_channel *ch, void __user *argp);
int svmig_keys_accept_salt(struct svmig_channel *ch, const u8 *salt);
int svmig_keys_for_seq(struct svmig_channel *ch, u64 seq);
int svmig_crypt_init(struct svmig_crypt *c, struct crypto_aead *aead, const u8 *implicit_aad);
void svmig_crypt_free(struct svmig_crypt *c);
void svmig_keys_free(struct svmig_keys *keys);
int svmig_selftest(void);

/* session.c */
int svmig_session_join(struct svmig_channel *ch, bool shared, const u8 *fp, const u8 *kt);
void svmig_session_leave(struct svmig_channel *ch);
int svmig_session_add_region(struct svmig_channel *ch, struct svmig_mregion *m);
void svmig_page_lock(struct svmig_channel *ch, u32 slot, u64 page);
void svmig_page_unlock(struct svmig_channel *ch, u32 slot, u64 page);
u32 svmig_session_verdict(struct svmig_channel *ch);
u32 svmig_session_finish(struct svmig_channel *ch);

/* table.c */
void svmig_table_key_init(struct sha256_state *state, const u8 *kt);
void svmig_table_set(struct svmig_channel *ch, struct svmig_page_state *ps, u32 slot,
		     u64 page, bool created, u32 gen, const u8 *tag);
void svmig_sum_add(struct svmig_sum *a, const struct svmig_sum *b);
void svmig_sum_put(const struct svmig_sum *s, u8 *out);
void svmig_sum_get(struct svmig_sum *s, const u8 *in);
bool svmig_sum_equal(const struct svmig_sum *a, const struct svmig_sum *b);

/* record.c */
void svmig_put_hdr(u8 *rec, u8 type, u32 length, u64 seq);
int svmig_check_hdr(const u8 *rec, bool stream, size_t *rec_len);
int svmig_rec_seal(struct svmig_channel *ch, u8 *rec, size_t clear_len, size_t pt_len);
int svmig_rec_open(struct svmig_channel *ch, u8 *rec, size_t clear_len, size_t ct_len);
int svmig_crypt_seal_page(struct svmig_crypt *c, u8 *rec, struct page *page,
			  unsigned int offset);

/* batch.c */
int svmig_batch_init(void);
void svmig_batch_exit(void);
int svmig_batch_alloc(struct svmig_channel *ch);
void svmig_batch_free(struct svmig_channel *ch);
int svmig_batch_seal(struct svmig_channel *ch, unsigned int n);

/* region.c */
int svmig_region_add(struct svmig_channel *ch, void __user *argp);
int svmig_check_mm(struct svmig_channel *ch);
struct svmig_mregion *svmig_find_region(struct svmig_channel *ch, u32 slot);
void svmig_free_regions(struct svmig_channel *ch);

/* ring.c */
int svmig_setup_ring(struct svmig_channel *ch, void __user *argp);
int svmig_ring_mmap(struct file *file, struct vm_area_struct *vma);
int svmig_ring_avail(struct svmig_channel *ch, u32 *avail);
void svmig_ring_pop(struct svmig_channel *ch, struct svmig_dirty_gfn *e);
void svmig_ring_commit(struct svmig_channel *ch);
void svmig_free_ring(struct svmig_channel *ch);

/* txbuf.c */
int svmig_txbuf_init(struct svmig_channel *ch);
void svmig_txbuf_next(struct svmig_channel *ch);
int svmig_txbuf_send(struct svmig_channel *ch, size_t off, size_t len);
void svmig_txbuf_free(struct svmig_channel *ch);

/* tx.c */
int svmig_tx_ready(struct svmig_channel *ch);
int svmig_tx_finished(struct svmig_channel *ch);
void svmig_tx_release(struct svmig_channel *ch);
int svmig_tx_start(struct svmig_channel *ch);
int svmig_tx_room(struct svmig_channel *ch, size_t len);
void svmig_tx_account(struct svmig_channel *ch, size_t len);
int svmig_tx_flush(struct svmig_channel *ch);
ssize_t svmig_tx_read(struct svmig_channel *ch, struct iov_iter *to);

/*
 * rx.c.  A mode's apply function takes one whole record after the HELLO,
 * its header, sequence number and place checked, and returns 0 or the
 * errno that refuses it.
 */
typedef int (*svmig_rx_apply_fn)(struct svmig_channel *ch, u8 *rec);
int svmig_rx_ready(struct svmig_channel *ch);
int svmig_rx_sock_one(struct svmig_channel *ch, svmig_rx_apply_fn apply);
ssize_t svmig_rx_feed(struct svmig_channel *ch, struct iov_iter *from, svmig_rx_apply_fn apply);
int svmig_rx_recv(struct svmig_channel *ch, void __user *argp, svmig_rx_apply_fn apply);
int svmig_rx_verify(struct svmig_channel *ch);

/* page.c */
int svmig_page_submit(struct svmig_channel *ch, void __user *argp);
int svmig_page_finish(struct svmig_channel *ch);
int svmig_page_rx_apply(struct svmig_channel *ch, u8 *rec);
ssize_t svmig_page_write(struct svmig_channel *ch, struct iov_iter *from);

/* stream.c */
ssize_t svmig_stream_write(struct svmig_channel *ch, struct iov_iter *from);
ssize_t svmig_stream_read(struct svmig_channel *ch, struct iov_iter *to);
int svmig_stream_finish(struct svmig_channel *ch);
int svmig_stream_rx_apply(struct svmig_channel *ch, u8 *rec);

/* transport.c */
int svmig_attach_sock(struct svmig_channel *ch, void __user *argp);
int svmig_sock_send(struct svmig_channel *ch, const u8 *buf, size_t len);
bool svmig_sock_can_lend(struct svmig_channel *ch);
int svmig_sock_send_page(struct svmig_channel *ch, struct page *page, size_t off, size_t len,
			 bool more);
int svmig_sock_recv(struct svmig_channel *ch, u8 *buf, size_t len);
__poll_t svmig_sock_poll(struct svmig_channel *ch);
void svmig_detach_sock(struct svmig_channel *ch);

/*
 * A channel error that ends it: every later operation fails.  A receiver's
 * verdict says why: a stream that ended before its manifest or END
 * (-ENODATA) is TRUNCATED, anything else FAILED.
 */
static inline int svmig_fail(struct svmig_channel *ch, int err)
{
	if (!ch->failed) {
		if (ch->role == SVMIG_ROLE_RECEIVER)
			WRITE_ONCE(ch->stats.verdict,
				   err == -ENODATA ? SVMIG_VERDICT_TRUNCATED :
						     SVMIG_VERDICT_FAILED);
		/*
		 * The verdict before the error: a lockless GET_STATS that sees
		 * the error sees the verdict it implies (svmig_stats_get()).
		 */
		smp_wmb();
		WRITE_ONCE(ch->stats.error, -err);
	}
	ch->failed = true;
	return err;
}

/* What VERIFY answers for a channel with @verdict. */
static inline int svmig_verdict_errno(u32 verdict)
{
	switch (verdict) {
	case SVMIG_VERDICT_VERIFIED:
		return 0;
	case SVMIG_VERDICT_PENDING:
		return -EINPROGRESS;
	case SVMIG_VERDICT_TRUNCATED:
		return -ENODATA;
	}
	return -EBADMSG;
}

/* Wakes poll()ers after a call that may have changed the channel's state. */
static inline void svmig_wake(struct svmig_channel *ch)
{
	if (wq_has_sleeper(&ch->wq))
		wake_up_interruptible_poll(&ch->wq, EPOLLIN | EPOLLRDNORM | EPOLLOUT |
					   EPOLLWRNORM);
}

static inline bool svmig_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

#endif /* _SVMIG_H */
