// SPDX-License-Identifier: GPL-2.0
/*
 * Sealing a batch of PAGE records on several CPUs (WireGuard's shape:
 * encrypt in parallel, send in order).  The caller (page.c), under the
 * channel's mutex, pops the batch's ring entries and gives each record its
 * place in the transmit buffer, its sequence number, generation and
 * identity, and a reference on its guest page (looked up in the caller's
 * address space: workers have none).  svmig_batch_seal() then seals the
 * records, the caller's thread taking the first share and workers of an
 * unbound workqueue the others, every request with the one key of the
 * batch's epoch.  The records already lie in transmit order, so nothing is
 * reordered and every nonce was assigned once, by the caller.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "svmig.h"

/* CPUs one batch is split among, at most. */
#define SVMIG_SEAL_CPUS_MAX	4
/* Records per CPU, at least: fewer are sealed faster than handed off. */
#define SVMIG_SEAL_PER_CPU_MIN	2

static struct workqueue_struct *svmig_seal_wq;

/* 0: as many as online, up to SVMIG_SEAL_CPUS_MAX; read when a channel is keyed. */
static unsigned int seal_cpus;
module_param(seal_cpus, uint, 0644);
MODULE_PARM_DESC(seal_cpus, "CPUs one SUBMIT batch is sealed on, at most (0: online CPUs, up to 4)");

struct svmig_seal_work {
	struct work_struct work;
	struct svmig_batch *b;
	unsigned int first, end;
	struct completion done;
};

static void svmig_seal_range(struct svmig_batch *b, unsigned int first, unsigned int end)
{
	unsigned int i;

	for (i = first; i < end; i++) {
		struct svmig_batch_slot *s = &b->slot[i];

		s->ret = svmig_crypt_seal_page(&s->crypt, s->rec, s->page, s->offset);
	}
}

static void svmig_seal_worker(struct work_struct *work)
{
	struct svmig_seal_work *w = container_of(work, struct svmig_seal_work, work);

	svmig_seal_range(w->b, w->first, w->end);
	complete(&w->done);
}

/*
 * Seals slots [0, n) of the channel's batch, the AEAD already keyed for
 * all of them.  Returns the first slot's error, if any.
 */
int svmig_batch_seal(struct svmig_channel *ch, unsigned int n)
{
	struct svmig_seal_work work[SVMIG_SEAL_CPUS_MAX - 1];
	struct svmig_batch *b = ch->batch;
	unsigned int parts, chunk, i;

	lockdep_assert_held(&ch->lock);
	parts = clamp_t(unsigned int, n / SVMIG_SEAL_PER_CPU_MIN, 1, b->cpus);
	chunk = DIV_ROUND_UP(n, parts);
	parts = DIV_ROUND_UP(n, chunk);
	for (i = 1; i < parts; i++) {
		struct svmig_seal_work *w = &work[i - 1];

		INIT_WORK_ONSTACK(&w->work, svmig_seal_worker);
		init_completion(&w->done);
		w->b = b;
		w->first = i * chunk;
		w->end = min(n, (i + 1) * chunk);
		queue_work(svmig_seal_wq, &w->work);
	}
	svmig_seal_range(b, 0, min(n, chunk));
	for (i = 1; i < parts; i++) {
		wait_for_completion(&work[i - 1].done);
		destroy_work_on_stack(&work[i - 1].work);
	}
	for (i = 0; i < n; i++)
		if (b->slot[i].ret)
			return b->slot[i].ret;
	return 0;
}

/*
 * A page-mode sender's batch: one request per record of the transmit
 * buffer, on the channel's AEAD, the implicit AAD copied in.  At the first
 * SUBMIT (page.c), so the AEAD and the AAD's prefix exist.
 */
int svmig_batch_alloc(struct svmig_channel *ch)
{
	struct svmig_batch *b;
	unsigned int i;
	int ret = 0;

	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	b->cpus = READ_ONCE(seal_cpus) ?: num_online_cpus();
	b->cpus = clamp_t(unsigned int, b->cpus, 1, SVMIG_SEAL_CPUS_MAX);
	for (i = 0; i < SVMIG_BATCH_MAX && !ret; i++)
		ret = svmig_crypt_init(&b->slot[i].crypt, ch->keys.aead, ch->keys.crypt.aad);
	ch->batch = b;
	if (ret)
		svmig_batch_free(ch);
	return ret;
}

void svmig_batch_free(struct svmig_channel *ch)
{
	struct svmig_batch *b = ch->batch;
	unsigned int i;

	if (!b)
		return;
	for (i = 0; i < SVMIG_BATCH_MAX; i++)
		svmig_crypt_free(&b->slot[i].crypt);
	kfree_sensitive(b);
	ch->batch = NULL;
}

int svmig_batch_init(void)
{
	svmig_seal_wq = alloc_workqueue("svmig_seal", WQ_UNBOUND | WQ_HIGHPRI, 0);
	return svmig_seal_wq ? 0 : -ENOMEM;
}

void svmig_batch_exit(void)
{
	destroy_workqueue(svmig_seal_wq);
}
