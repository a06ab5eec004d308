// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions: the channels of one migration, at one end, that share one page
 * table and one verdict (SVMIG_KEY_SESSION).  A channel keyed without it
 * is a session of its own, on no list, so there is one code path.
 *
 * A page sent first on channel A and later on channel B gets a higher
 * generation on B, whatever channel sealed it before; a receiver applies a
 * page only if its generation is above the one in the session's table, so
 * an older copy delayed on another connection can never overwrite a newer
 * one.  Each channel keeps its part in the table (table.c) and its
 * MANIFEST carries it; the session's verdict compares the sums of the
 * parts, and VERIFY and GET_STATS on any channel report it.
 *
 * Channels join by session id and role, and prove they hold the session's
 * secret: the fingerprint HKDF-Expand(K0, "svmig v2 session fp") must
 * match.  Locks: svmig_sessions_lock (the list) -> session->lock (members,
 * regions); a page lock (hashed by page) is taken under a channel's mutex
 * around deciding a page's generation and reading or writing the page, and
 * nests inside nothing else.
 */
#include <crypto/algapi.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/refcount.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "svmig.h"

static LIST_HEAD(svmig_sessions);
static DEFINE_MUTEX(svmig_sessions_lock);

static struct svmig_session *svmig_session_find(const u8 *id, u32 role)
{
	struct svmig_session *s;

	lockdep_assert_held(&svmig_sessions_lock);
	list_for_each_entry(s, &svmig_sessions, node)
		if (s->role == role && !memcmp(s->id, id, SVMIG_SESSION_ID_LEN))
			return s;
	return NULL;
}

static struct svmig_session *svmig_session_new(const struct svmig_channel *ch, bool shared,
					       const u8 *fp, const u8 *kt)
{
	struct svmig_session *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	int i;

	if (!s)
		return NULL;
	refcount_set(&s->ref, 1);
	s->shared = shared;
	memcpy(s->id, ch->session_id, SVMIG_SESSION_ID_LEN);
	memcpy(s->fp, fp, sizeof(s->fp));
	s->role = ch->role;
	s->retired.verdict = SVMIG_VERDICT_VERIFIED;
	svmig_table_key_init(&s->table_key, kt);
	mutex_init(&s->lock);
	for (i = 0; i < SVMIG_PAGE_LOCKS; i++)
		mutex_init(&s->page_locks[i]);
	INIT_LIST_HEAD(&s->members);
	if (shared)
		list_add(&s->node, &svmig_sessions);
	return s;
}

static bool svmig_session_has(struct svmig_session *s, u32 channel)
{
	struct svmig_channel *m;

	lockdep_assert_held(&s->lock);
	list_for_each_entry(m, &s->members, session_node)
		if (m->channel == channel)
			return true;
	return false;
}

/* A shared session of @ch's id and role, joined if @fp matches its own. */
static int svmig_session_find_join(struct svmig_channel *ch, const u8 *fp,
				   struct svmig_session **found)
{
	struct svmig_session *s = svmig_session_find(ch->session_id, ch->role);
	int ret;

	*found = s;
	if (!s)
		return 0;
	if (crypto_memneq(s->fp, fp, sizeof(s->fp)))
		return -EKEYREJECTED;
	mutex_lock(&s->lock);
	if (s->finished)
		ret = -EALREADY;
	else
		ret = svmig_session_has(s, ch->channel) ? -EEXIST : 0;
	mutex_unlock(&s->lock);
	if (!ret)
		refcount_inc(&s->ref);
	return ret;
}

/*
 * The last step of SET_KEY: joins @ch (keyed: role, channel and session id
 * set) to its shared session, or starts one (@shared), or a private one.
 * @fp proves the channel holds the session's secret; @kt is the table key
 * (wire-format.rst), the same for every channel that holds it.  The
 * session is published with release: GET_STATS reads it without the lock.
 */
int svmig_session_join(struct svmig_channel *ch, bool shared, const u8 *fp, const u8 *kt)
{
	struct svmig_session *s = NULL;
	int ret = 0;

	mutex_lock(&svmig_sessions_lock);
	if (shared)
		ret = svmig_session_find_join(ch, fp, &s);
	if (!ret && !s) {
		s = svmig_session_new(ch, shared, fp, kt);
		if (!s)
			ret = -ENOMEM;
	}
	if (!ret) {
		mutex_lock(&s->lock);
		list_add_tail(&ch->session_node, &s->members);
		s->joined++;
		mutex_unlock(&s->lock);
		/* Pairs with the acquire in svmig_session_verdict(). */
		smp_store_release(&ch->session, s);
	}
	mutex_unlock(&svmig_sessions_lock);
	return ret;
}

static void svmig_session_free(struct svmig_session *s)
{
	u32 i;

	for (i = 0; i < s->nregions; i++)
		kvfree(s->regions[i].pages);
	mutex_destroy(&s->lock);
	for (i = 0; i < SVMIG_PAGE_LOCKS; i++)
		mutex_destroy(&s->page_locks[i]);
	if (s->mm)
		mmdrop(s->mm);
	kfree_sensitive(s);
}

/*
 * Adds what receiving channel @m brings to the session's verdict to @p.
 * The first verdict that is not VERIFIED or PENDING decides; PENDING
 * decides over VERIFIED.
 */
static void svmig_part_add(struct svmig_part *p, const struct svmig_channel *m)
{
	/* Pairs with the releases in svmig_rx_manifest() and svmig_rx_end(). */
	u32 v = smp_load_acquire(&m->stats.verdict);

	if (p->verdict != SVMIG_VERDICT_VERIFIED && p->verdict != SVMIG_VERDICT_PENDING)
		return;
	if (v != SVMIG_VERDICT_VERIFIED) {
		p->verdict = v;
		return;
	}
	if (p->counted && p->mf_channels != m->mf_channels)
		p->channels_differ = true;
	p->counted = true;
	p->mf_channels = m->mf_channels;
	p->mf_pages += m->mf_pages;
	p->own_pages += m->part_pages;
	svmig_sum_add(&p->mf_sum, &m->mf_sum);
	svmig_sum_add(&p->own_sum, &m->part_sum);
}

/*
 * Only when the file is released: nobody else can be in a call on @ch.  A
 * receiving member's part stays in the session's verdict; one that leaves
 * before its MANIFEST or END will never verify, so it fails the session.
 */
void svmig_session_leave(struct svmig_channel *ch)
{
	struct svmig_session *s = ch->session;

	if (!s)
		return;
	mutex_lock(&svmig_sessions_lock);
	mutex_lock(&s->lock);
	if (s->role == SVMIG_ROLE_RECEIVER) {
		if (ch->stats.verdict == SVMIG_VERDICT_PENDING)
			WRITE_ONCE(ch->stats.verdict, SVMIG_VERDICT_FAILED);
		svmig_part_add(&s->retired, ch);
	}
	list_del(&ch->session_node);
	mutex_unlock(&s->lock);
	if (refcount_dec_and_test(&s->ref)) {
		if (s->shared)
			list_del(&s->node);
		svmig_session_free(s);
	}
	mutex_unlock(&svmig_sessions_lock);
	ch->session = NULL;
}

/* Lockless: entries below nregions are complete (published with release). */
static struct svmig_sregion *svmig_session_region(struct svmig_session *s, u32 slot)
{
	/* Pairs with the release in svmig_session_add_region(). */
	u32 i, n = smp_load_acquire(&s->nregions);

	for (i = 0; i < n; i++)
		if (s->regions[i].slot == slot)
			return &s->regions[i];
	return NULL;
}

/*
 * A region of a channel: the session's copy of the same slot must be the
 * same memory (guest-physical and user address, size, address space), or
 * it is created with the first channel that adds the slot, its table
 * entries zero.  m->pages is set to the session's entries.
 */
int svmig_session_add_region(struct svmig_channel *ch, struct svmig_mregion *m)
{
	struct svmig_session *s = ch->session;
	struct svmig_sregion *r;
	int ret = 0;

	mutex_lock(&s->lock);
	if (s->mm && s->mm != current->mm) {
		ret = -EPERM;
		goto out;
	}
	r = svmig_session_region(s, m->slot);
	if (r) {
		if (r->gpa != m->gpa || r->uaddr != m->uaddr || r->npages != m->npages)
			ret = -EINVAL;
		else
			m->pages = r->pages;
		goto out;
	}
	if (s->nregions >= SVMIG_MAX_REGIONS) {
		ret = -ENOSPC;
		goto out;
	}
	r = &s->regions[s->nregions];
	r->pages = kvcalloc(m->npages, sizeof(*r->pages), GFP_KERNEL_ACCOUNT);
	if (!r->pages) {
		ret = -ENOMEM;
		goto out;
	}
	r->slot = m->slot;
	r->gpa = m->gpa;
	r->uaddr = m->uaddr;
	r->npages = m->npages;
	m->pages = r->pages;
	/* Pairs with the acquire in svmig_session_region(). */
	smp_store_release(&s->nregions, s->nregions + 1);
	if (!s->mm) {
		mmgrab(current->mm);
		s->mm = current->mm;
	}
out:
	mutex_unlock(&s->lock);
	return ret;
}

/*
 * Takes the lock of a page of the session's table: the caller decides,
 * seals or writes the page and sets its entry before svmig_page_unlock().
 */
void svmig_page_lock(struct svmig_channel *ch, u32 slot, u64 page)
{
	mutex_lock(&ch->session->page_locks[(slot ^ page) % SVMIG_PAGE_LOCKS]);
}

void svmig_page_unlock(struct svmig_channel *ch, u32 slot, u64 page)
{
	mutex_unlock(&ch->session->page_locks[(slot ^ page) % SVMIG_PAGE_LOCKS]);
}

/*
 * Sender, sealing a MANIFEST or END: no channel may join the session from
 * now on, and the record says how many ever did.
 */
u32 svmig_session_finish(struct svmig_channel *ch)
{
	struct svmig_session *s = ch->session;
	u32 joined;

	mutex_lock(&s->lock);
	s->finished = true;
	joined = s->joined;
	mutex_unlock(&s->lock);
	return joined;
}

/*
 * The session's verdict, the same on each of its channels (wire-format.rst,
 * "The page table and its sums"): FAILED, TRUNCATED or MISMATCH as soon as
 * one channel is (@ch's own first, so a failed channel reports its own
 * failure); PENDING while any is still receiving; once every channel
 * accepted its MANIFEST or END, VERIFIED only if each says as many
 * channels as joined here and the manifests' parts add up to the receiving
 * channels' own.  A stream channel's parts are empty on both sides.  Sleeps
 * on the session's lock; takes no channel's.
 */
u32 svmig_session_verdict(struct svmig_channel *ch)
{
	/* Pairs with the release in svmig_session_join(). */
	struct svmig_session *s = smp_load_acquire(&ch->session);
	struct svmig_channel *m;
	struct svmig_part p;
	u32 joined, own;

	/* A failed channel's own failure: the session failed with it. */
	own = smp_load_acquire(&ch->stats.verdict);
	if (!s || (own != SVMIG_VERDICT_VERIFIED && own != SVMIG_VERDICT_PENDING))
		return own;
	mutex_lock(&s->lock);
	p = s->retired;
	list_for_each_entry(m, &s->members, session_node)
		svmig_part_add(&p, m);
	joined = s->joined;
	mutex_unlock(&s->lock);
	if (p.verdict != SVMIG_VERDICT_VERIFIED)
		return p.verdict;
	if (p.channels_differ || p.mf_channels != joined || p.mf_pages != p.own_pages ||
	    !svmig_sum_equal(&p.mf_sum, &p.own_sum))
		return SVMIG_VERDICT_MISMATCH;
	return SVMIG_VERDICT_VERIFIED;
}
