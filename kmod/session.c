// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions: the channels of one migration, at one end, that share one
 * generation space per guest page and one verdict (SVMIG_KEY_SESSION).
 *
 * A page sent first on channel A and later on channel B gets a higher
 * generation on B, whatever channel sealed it before; a receiver applies a
 * page only if its generation is above the highest any channel of the
 * session applied, so an older copy delayed on another connection can
 * never overwrite a newer one.  Each channel still keeps its own table and
 * manifest (what it sealed or accepted, stale copies included); VERIFY on
 * any channel answers for the whole session.
 *
 * Channels join by session id and role, and prove they hold the session's
 * secret: the fingerprint HKDF-Expand(K0, "svmig v1 session fp") must
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

static struct svmig_session *svmig_session_new(const u8 *id, u32 role, const u8 *fp)
{
	struct svmig_session *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	int i;

	if (!s)
		return NULL;
	refcount_set(&s->ref, 1);
	memcpy(s->id, id, SVMIG_SESSION_ID_LEN);
	memcpy(s->fp, fp, sizeof(s->fp));
	s->role = role;
	mutex_init(&s->lock);
	for (i = 0; i < SVMIG_PAGE_LOCKS; i++)
		mutex_init(&s->page_locks[i]);
	INIT_LIST_HEAD(&s->members);
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

/*
 * Joins @ch (keyed: role, channel and session id set) to its session, or
 * starts one.  @fp proves the channel holds the session's secret.
 */
int svmig_session_join(struct svmig_channel *ch, const u8 *fp)
{
	struct svmig_session *s;
	int ret = 0;

	mutex_lock(&svmig_sessions_lock);
	s = svmig_session_find(ch->session_id, ch->role);
	if (!s) {
		s = svmig_session_new(ch->session_id, ch->role, fp);
		if (!s)
			ret = -ENOMEM;
	} else if (crypto_memneq(s->fp, fp, sizeof(s->fp))) {
		ret = -EKEYREJECTED;
	} else {
		mutex_lock(&s->lock);
		ret = svmig_session_has(s, ch->channel) ? -EEXIST : 0;
		mutex_unlock(&s->lock);
		if (!ret)
			refcount_inc(&s->ref);
	}
	if (!ret) {
		mutex_lock(&s->lock);
		list_add_tail(&ch->session_node, &s->members);
		mutex_unlock(&s->lock);
		ch->session = s;
	}
	mutex_unlock(&svmig_sessions_lock);
	return ret;
}

static void svmig_session_free(struct svmig_session *s)
{
	u32 i;

	for (i = 0; i < s->nregions; i++)
		kvfree(s->regions[i].gen);
	mutex_destroy(&s->lock);
	for (i = 0; i < SVMIG_PAGE_LOCKS; i++)
		mutex_destroy(&s->page_locks[i]);
	if (s->mm)
		mmdrop(s->mm);
	kfree_sensitive(s);
}

void svmig_session_leave(struct svmig_channel *ch)
{
	struct svmig_session *s = ch->session;

	if (!s)
		return;
	mutex_lock(&svmig_sessions_lock);
	mutex_lock(&s->lock);
	list_del(&ch->session_node);
	mutex_unlock(&s->lock);
	if (refcount_dec_and_test(&s->ref)) {
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
 * A region of a session channel: the session's copy of the same slot must
 * be the same memory (guest-physical and user address, size, address
 * space), or it is created with the first channel that adds the slot.
 */
int svmig_session_add_region(struct svmig_channel *ch, const struct svmig_mregion *m)
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
		goto out;
	}
	if (s->nregions >= SVMIG_MAX_REGIONS) {
		ret = -ENOSPC;
		goto out;
	}
	r = &s->regions[s->nregions];
	r->gen = kvcalloc(m->npages, sizeof(*r->gen), GFP_KERNEL_ACCOUNT);
	if (!r->gen) {
		ret = -ENOMEM;
		goto out;
	}
	r->slot = m->slot;
	r->gpa = m->gpa;
	r->uaddr = m->uaddr;
	r->npages = m->npages;
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
 * The session's generation of a page, with the page's lock held: the
 * caller decides, seals or writes the page and sets the new generation
 * before svmig_page_unlock().  Regions are never removed while a member
 * is open, so the pointer stays valid.
 */
u32 *svmig_page_lock(struct svmig_channel *ch, u32 slot, u64 page)
{
	struct svmig_session *s = ch->session;
	struct svmig_sregion *r = svmig_session_region(s, slot);

	if (WARN_ON_ONCE(!r || page >= r->npages))
		return NULL;
	mutex_lock(&s->page_locks[(slot ^ page) % SVMIG_PAGE_LOCKS]);
	return &r->gen[page];
}

void svmig_page_unlock(struct svmig_channel *ch, u32 slot, u64 page)
{
	mutex_unlock(&ch->session->page_locks[(slot ^ page) % SVMIG_PAGE_LOCKS]);
}

/*
 * The session's verdict: VERIFIED only once every channel that joined it
 * at this end verified; the first channel that failed or mismatched
 * decides otherwise; PENDING while any is still receiving.
 */
int svmig_session_verify(struct svmig_channel *ch)
{
	struct svmig_session *s = ch->session;
	struct svmig_channel *m;
	int ret = 0, r;

	mutex_lock(&s->lock);
	list_for_each_entry(m, &s->members, session_node) {
		r = svmig_verdict_errno(READ_ONCE(m->stats.verdict));
		if (r && r != -EINPROGRESS) {
			ret = r;
			break;
		}
		if (r)
			ret = r;
	}
	mutex_unlock(&s->lock);
	return ret;
}
