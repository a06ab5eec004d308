// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's ring: mmap, munmap, mprotect, madvise and mremap of it with
 * random sizes, offsets, protections and flags; accesses that must fault
 * exactly when expected; random ring entries and indices.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz.h"

/* What a deliberate access to @p in mapping @m must do: 0, SIGSEGV or SIGBUS. */
static int expect_fault(const struct map *m, bool wr)
{
	/*
	 * A zapped page has no fault handler behind it: any access the
	 * protection allows is SIGBUS.  A write probe reads first, so a
	 * readable one faults there.
	 */
	if (m->zapped)
		return m->prot == PROT_NONE ? SIGSEGV : SIGBUS;
	if (m->prot == PROT_NONE)
		return SIGSEGV;
	if (wr && !(m->prot & PROT_WRITE))
		return SIGSEGV;
	return 0;
}

/* PROT_EXEC alone is execute-only (unreadable) where the CPU has protection keys. */
static bool fault_optional(const struct map *m, bool wr)
{
	return m->prot == PROT_EXEC && (!wr || m->zapped);
}

void probe_map(struct chan *c, struct map *m)
{
	size_t off;
	bool wr;
	int got, want;

	(void)c;
	op_begin(OP_PROBE);
	for (off = 0; off < m->len; off += PG) {
		wr = chance(40);
		want = expect_fault(m, wr);
		got = probe(m->addr + off + below(PG), wr);
		/* A zapped private page may be COWed back readable; allow either. */
		if (got != want && !(m->zapped && got == 0) && !fault_optional(m, wr))
			report(&n_contract, "ring mapping prot %d %s%s at +%zu: %s, expected %s",
			       m->prot, m->shared ? "shared" : "private", m->zapped ? " zapped" : "",
			       off, got ? strsignal(got) : "no fault", want ? strsignal(want) : "no fault");
	}
	op_end(OP_PROBE, 0);
}

void do_mmap(struct chan *c)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE, PROT_NONE,
				     PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
				     PROT_EXEC };
	struct map *m;
	size_t len;
	off_t off = 0;
	int prot, flags, fd = chan_fd(c);
	bool must_fail = false;
	void *p;

	if (c->nmaps >= MAX_MAPS)
		return;
	prot = chance(60) ? PROT_READ | PROT_WRITE : prots[below(7)];
	flags = chance(70) ? MAP_SHARED : MAP_PRIVATE;
	if (chance(10))
		flags = MAP_SHARED_VALIDATE | (chance(50) ? MAP_SYNC : MAP_POPULATE);
	if (chance(10))
		flags |= MAP_POPULATE;
	if (chance(5))
		flags |= MAP_LOCKED;
	len = c->ring_size ? c->ring_size : PG;
	switch (below(8)) {
	case 0:
		len = pick_len();
		break;
	case 1:
		len += PG;
		break;
	case 2:
		if (len > PG)
			len -= PG;
		break;
	case 3:
		off = (off_t)(pick64() & ~(PG - 1) & 0x7fffffffffffULL);
		break;
	default:
		break;
	}
	/* The ring is mapped shared and never executable (ring.c). */
	if ((!c->ring_size && !c->unsure) || off || !len || (flags & MAP_SYNC) ||
	    !(flags & MAP_SHARED) || (prot & PROT_EXEC) ||
	    (c->ring_size && ((len + PG - 1) & ~(PG - 1)) > c->ring_size))
		must_fail = true;
	op_begin(OP_MMAP);
	p = mmap(NULL, len, prot, flags, fd, off);
	op_end(OP_MMAP, p == MAP_FAILED ? -errno : 0);
	if (p == MAP_FAILED)
		return;
	if (must_fail)
		report(&n_contract, "mmap accepted len %zu off 0x%llx flags 0x%x (ring %" PRIu64 ")",
		       len, (unsigned long long)off, flags, c->ring_size);
	m = &c->maps[c->nmaps++];
	m->addr = p;
	m->len = (len + PG - 1) & ~(PG - 1);
	m->prot = prot;
	m->shared = flags & MAP_SHARED;
	m->zapped = false;
	/* The mapping shows the ring's geometry. */
	if ((prot & PROT_READ) && c->ring_entries && m->len > c->off.ring_entries &&
	    (*(volatile uint32_t *)(m->addr + c->off.ring_entries) != c->ring_entries ||
	     *(volatile uint32_t *)(m->addr + c->off.ring_mask) != c->ring_entries - 1))
		report(&n_contract, "ring mapping: ring_entries/ring_mask wrong");
	if (chance(50))
		probe_map(c, m);
}

void map_op(struct chan *c)
{
	struct map *m;
	int i, prot, r = 0;
	void *p;

	if (!c->nmaps)
		return;
	i = (int)below(c->nmaps);
	m = &c->maps[i];
	op_begin(OP_MAPOP);
	switch (below(6)) {
	case 0:	/* whole */
		r = munmap(m->addr, m->len);
		c->maps[i] = c->maps[--c->nmaps];
		m = NULL;
		break;
	case 1:	/* the first or last page */
		if (m->len <= PG)
			break;
		if (chance(50)) {
			r = munmap(m->addr, PG);
			m->addr += PG;
		} else {
			r = munmap(m->addr + m->len - PG, PG);
		}
		m->len -= PG;
		break;
	case 2:
		prot = (int)below(8);
		r = mprotect(m->addr, m->len, prot);
		if (!r && (prot & PROT_EXEC))
			report(&n_contract, "mprotect made a ring mapping executable");
		if (!r)
			m->prot = prot;
		break;
	case 3:
		r = madvise(m->addr, m->len, MADV_DONTNEED);
		if (!r)
			m->zapped = true;
		break;
	case 4:	/* grow: the ring cannot */
		p = mremap(m->addr, m->len, m->len + PG, 0);
		if (p != MAP_FAILED) {
			report(&n_contract, "mremap grew a ring mapping");
			m->len += PG;
		}
		break;
	default: /* move */
		p = mremap(m->addr, m->len, m->len, MREMAP_MAYMOVE);
		if (p != MAP_FAILED)
			m->addr = p;
		break;
	}
	op_end(OP_MAPOP, r ? -errno : 0);
	if (m && chance(60))
		probe_map(c, m);
}

/* The first shared, writable, untouched mapping covering the whole ring. */
static struct map *ring_map(struct chan *c)
{
	int i;

	for (i = 0; i < c->nmaps; i++)
		if (c->maps[i].shared && !c->maps[i].zapped &&
		    (c->maps[i].prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE) &&
		    c->maps[i].len == c->ring_size)
			return &c->maps[i];
	return NULL;
}

/* Random entries (slots, offsets, flags), then a random tail (and head). */
void ring_entries(struct chan *c)
{
	struct map *m = ring_map(c);
	struct svmig_dirty_gfn *e;
	uint32_t *tail, *head, n, i, t;

	if (!m)
		return;
	op_begin(OP_RING);
	head = (uint32_t *)(m->addr + c->off.head);
	tail = (uint32_t *)(m->addr + c->off.tail);
	t = __atomic_load_n(tail, __ATOMIC_RELAXED);
	n = (uint32_t)below(c->ring_entries + 1);
	for (i = 0; i < n; i++) {
		e = (struct svmig_dirty_gfn *)(m->addr + c->off.entries) +
		    ((t + i) & (c->ring_entries - 1));
		e->slot = chance(70) ? (uint32_t)below(4) : pick32();
		e->offset = chance(70) ? below(8) : pick64();
		e->flags = chance(70) ? (chance(50) ? 0 : SVMIG_GFN_F_DIRTY) : pick32();
	}
	switch (below(6)) {
	case 0:
		t = pick32();
		break;
	case 1:
		t += c->ring_entries + 1;
		break;
	case 2:
		t -= 1;
		break;
	default:
		t += n;
		break;
	}
	if (chance(10))
		*head = pick32();
	__atomic_store_n(tail, t, __ATOMIC_RELEASE);
	op_end(OP_RING, 0);
}
