// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's race episode: two threads racing ioctls, read, write, poll,
 * mmap, dup2, close and fork on one fd while a third feeds or drains its
 * socket.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "tap.h"

struct race {
	_Atomic int fd;
	int peer;		/* the channel's socket's other end, or -1 */
	bool receiver, stream;
	struct map ring;	/* one shared mapping, never unmapped during the race */
	uint32_t ring_entries;
	struct svmig_ring_offsets off;
	_Atomic bool stop;
	uint64_t seed;
	struct stream valid;	/* records for the feeder */
};

/*
 * Under a racing SUBMIT (the page pinned for its seal) or RECV (the page
 * written with copy_to_user): replace the page, zap it, or take it away a
 * moment.  The fuzzer never touches these pages itself during a race.
 */
static void region_page_op(uint8_t *p)
{
	op_begin(OP_MAPOP);
	switch (below(3)) {
	case 0:
		if (mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0) == MAP_FAILED)
			report(&n_contract, "race: MAP_FIXED over a region page: %s", strerror(errno));
		break;
	case 1:
		madvise(p, PG, MADV_DONTNEED);
		break;
	default:
		mprotect(p, PG, chance(50) ? PROT_NONE : PROT_READ);
		usleep(below(2000));
		mprotect(p, PG, PROT_READ | PROT_WRITE);
		break;
	}
	op_end(OP_MAPOP, 0);
}

static void race_op(struct race *r)
{
	struct chan c;
	int fd = atomic_load(&r->fd), nfd;

	chan_init(&c);
	c.fd = fd;
	c.unsure = true;
	c.shared = true;
	switch (below(25)) {
	case 0:
		get_info(fd);
		break;
	case 1:
		set_key(NULL, fd);
		break;
	case 2:
		add_region(NULL, fd);
		break;
	case 3:
		setup_ring(NULL, fd);
		break;
	case 4:
		attach(NULL, fd);
		break;
	case 5:
	case 6:
		submit(fd);
		break;
	case 7:
		finish(fd);
		break;
	case 8:
	case 9:
		recv_ioctl(fd);
		break;
	case 10:
		verify(NULL, fd);
		break;
	case 11:
		get_stats(NULL, fd);
		break;
	case 12:
	case 13:
		do_read(fd);
		break;
	case 14:
	case 15:
		do_write(fd);
		break;
	case 16:
	case 17:
		do_poll(fd);
		break;
	case 18:	/* mmap, touch, unmap: this thread's own mapping */
		op_begin(OP_MMAP);
		{
			void *p = mmap(NULL, PG, chance(80) ? PROT_READ | PROT_WRITE : PROT_READ,
				       chance(70) ? MAP_SHARED : MAP_PRIVATE, fd, 0);

			op_end(OP_MMAP, p == MAP_FAILED ? -errno : 0);
			if (p != MAP_FAILED) {
				if (probe(p, false))
					report(&n_fault_expect, "race: fresh ring mapping faulted");
				munmap(p, PG);
			}
		}
		break;
	case 19:
		if (r->ring.addr) {
			struct chan rc;

			chan_init(&rc);
			rc.ring_entries = r->ring_entries;
			rc.ring_size = r->ring.len;
			rc.off = r->off;
			rc.maps[0] = r->ring;
			rc.nmaps = 1;
			ring_entries(&rc);
		}
		break;
	case 20:	/* another channel in its place: the old one's last close */
		if (chance(30)) {
			op_begin(OP_CLOSE);
			nfd = open(SVMIG_DEVICE, O_RDWR | O_CLOEXEC);
			if (nfd >= 0) {
				dup2(nfd, fd);	/* atomic: the number is never free */
				close(nfd);
			}
			op_end(OP_CLOSE, 0);
		}
		break;
	case 21:	/* dup2 something over the number */
		op_begin(OP_DUP);
		nfd = dup(fd);
		if (nfd >= 0) {
			dup2(nfd, fd);
			close(nfd);
		}
		op_end(OP_DUP, 0);
		break;
	case 22:
		if (chance(20))
			do_fork(&c);
		break;
	case 23:	/* the region's memory changing under a seal or a copy-out */
		region_page_op(arena + (8 + below(REC_PAGES)) * PG);
		break;
	default:
		set_nonblock(fd);
		break;
	}
}

static void *race_thread(void *arg)
{
	struct race *r = arg;
	static _Atomic int idx = 1;
	int me = atomic_fetch_add(&idx, 1);

	if (me >= MAX_WORKERS)
		me = MAX_WORKERS - 1;
	worker_register(me);
	racing = true;
	rng = r->seed + (uint64_t)me * 0x632be59bd9b4e019ULL;
	while (!atomic_load(&r->stop))
		race_op(r);
	self = NULL;
	atomic_store(&idx, 1);
	return NULL;
}

/* The third party: feeds the receiver's socket records, or drains the sender's. */
static void *feeder_thread(void *arg)
{
	struct race *r = arg;
	static uint8_t sink[65536];
	size_t off = 0;
	ssize_t n;

	while (!atomic_load(&r->stop) && r->peer >= 0) {
		if (r->receiver && off < r->valid.len) {
			n = send(r->peer, r->valid.buf + off, 1 + (r->valid.len - off) / 3,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				off += n;
		}
		while (recv(r->peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		usleep(500);
	}
	return NULL;
}

void episode_race(void)
{
	static uint8_t pt[9 * SVMIG_STREAM_RECORD_MAX];
	struct svmig_ring_setup rs = { .entries = 16 };
	struct race r;
	pthread_t t[3];
	size_t pt_len;
	int sv[2] = { -1, -1 }, fd, i;
	uint32_t flags;

	memset(&r, 0, sizeof(r));
	r.peer = -1;
	r.seed = rnd();
	r.receiver = chance(50);
	r.stream = chance(40);
	flags = (r.receiver ? SVMIG_ROLE_RECEIVER : SVMIG_ROLE_SENDER) |
		(r.stream ? SVMIG_KEY_STREAM : 0);
	fd = chance(10) ? dev_open() : open_keyed(flags, r.stream ? 0 : 7);
	if (!r.stream)
		svmig_add_region(fd, RX_SLOT, 0x100000, arena + 8 * PG, REC_PAGES * PG);
	if (!r.receiver && !r.stream && !ioctl(fd, SVMIG_IOC_SETUP_RING, &rs)) {
		r.ring.addr = mmap(NULL, rs.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (r.ring.addr == MAP_FAILED) {
			r.ring.addr = NULL;
		} else {
			r.ring.len = rs.mmap_size;
			r.ring.prot = PROT_READ | PROT_WRITE;
			r.ring.shared = true;
			r.ring_entries = rs.entries;
			r.off = rs.off;
		}
	}
	if (chance(85) && !stream_pair(sv, chance(30))) {
		svmig_attach_socket(fd, sv[1]);
		r.peer = sv[0];
	}
	if (r.receiver) {
		if (r.stream)
			data_stream(&r.valid, fz_session, pt, &pt_len, NULL);
		else
			page_stream(&r.valid, fz_session, 7);
	}
	atomic_store(&r.fd, fd);
	atomic_store(&r.stop, false);
	for (i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, race_thread, &r))
			tap_bail("pthread_create");
	if (pthread_create(&t[2], NULL, feeder_thread, &r))
		tap_bail("pthread_create");
	usleep(200000 + below(600000));
	atomic_store(&r.stop, true);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	worker_register(0);
	mprotect(arena, ARENA_PAGES * PG, PROT_READ | PROT_WRITE);
	if (r.ring.addr)
		munmap(r.ring.addr, r.ring.len);
	close(atomic_load(&r.fd));
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	free(r.valid.buf);
}
