// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's records and streams: page-mode and stream-mode streams sealed
 * by the OpenSSL oracle (userspace/lib/wire.c) and mutated, fed into
 * receivers (the page-rx and stream-rx episodes); a sender's output opened
 * by the oracle (page-tx).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "tap.h"
#include "wire.h"

static void st_add(struct stream *s, const void *p, size_t len)
{
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2 + 4096;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			tap_bail("out of memory");
	}
	memcpy(s->buf + s->len, p, len);
	s->len += len;
}

static void st_rec(struct stream *s, const void *p, int len)
{
	if (len <= 0)
		tap_bail("oracle failed to seal (%d)", len);
	if (s->nrecs < MAX_RECS)
		s->rec_off[s->nrecs++] = s->len;
	st_add(s, p, len);
	s->rec_off[s->nrecs] = s->len;
}

/* Page plaintexts of the valid stream: page i, generations 1 and 2. */
static uint8_t plain[REC_PAGES][2][SVMIG_PAGE_SIZE];

/* A valid page-mode stream: HELLO, every page, some resent, MANIFEST. */
void page_stream(struct stream *s, const uint8_t *sess, uint32_t channel)
{
	static uint8_t rec[SVMIG_PAGE_REC_LEN];
	uint8_t salt[SVMIG_SALT_LEN];
	struct svmig_wire w;
	int i;

	rnd_bytes(salt, sizeof(salt));
	if (svmig_wire_init(&w, SVMIG_ROLE_SENDER, sess, channel, fz_secret) ||
	    svmig_wire_add_region(&w, RX_SLOT, REC_PAGES) || svmig_wire_set_salt(&w, salt))
		tap_bail("oracle page sender");
	st_rec(s, rec, svmig_wire_seal_hello(&w, rec));
	for (i = 0; i < REC_PAGES; i++)
		st_rec(s, rec, svmig_wire_seal_page(&w, RX_SLOT, i, plain[i][0], rec));
	for (i = 0; i < REC_PAGES; i += 2)
		st_rec(s, rec, svmig_wire_seal_page(&w, RX_SLOT, i, plain[i][1], rec));
	if (chance(25)) {	/* authentic, malformed: reaches code after the tag check */
		static uint8_t pt[sizeof(struct svmig_wire_page) + SVMIG_PAGE_SIZE];
		struct svmig_wire_hdr h;

		/* The PAGE's identity, encrypted with the page: random, or our slot. */
		rnd_bytes(pt, sizeof(struct svmig_wire_page));
		if (chance(50))
			memcpy(pt, "\0\0\0\3", 4);	/* our slot, random page/gen */
		memcpy(pt + sizeof(struct svmig_wire_page), plain[0][0], SVMIG_PAGE_SIZE);
		svmig_wire_hdr_fill(&h, (uint8_t)(chance(70) ? SVMIG_REC_PAGE : below(8)),
				    SVMIG_PAGE_REC_LEN - SVMIG_HDR_LEN, w.next_seq);
		st_rec(s, rec, svmig_wire_seal_raw(&w, &h, NULL, 0, pt, sizeof(pt), rec));
	} else {
		st_rec(s, rec, svmig_wire_seal_manifest(&w, rec));
	}
	svmig_wire_free(&w);
}

/* A valid stream-mode stream: HELLO, DATA of random sizes, END. */
void data_stream(struct stream *s, const uint8_t *sess, uint8_t *pt, size_t *pt_len,
		 size_t *starts)
{
	static uint8_t rec[SVMIG_DATA_REC_MAX + 64];
	static const size_t sizes[] = { 1, 2, 100, 4096, 16383, 16384 };
	uint8_t salt[SVMIG_SALT_LEN];
	struct svmig_wire w;
	size_t n;
	int i, recs = 1 + (int)below(8);

	rnd_bytes(salt, sizeof(salt));
	if (svmig_wire_init(&w, SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM, sess, 0, fz_secret) ||
	    svmig_wire_set_salt(&w, salt))
		tap_bail("oracle stream sender");
	st_rec(s, rec, svmig_wire_seal_hello(&w, rec));
	*pt_len = 0;
	if (starts)
		memset(starts, 0xff, 9 * sizeof(*starts));
	for (i = 0; i < recs; i++) {
		n = chance(50) ? sizes[below(6)] : 1 + below(SVMIG_STREAM_RECORD_MAX);
		rnd_bytes(pt + *pt_len, n);
		if (starts)
			starts[i] = *pt_len;
		st_rec(s, rec, svmig_wire_seal_data(&w, pt + *pt_len, n, rec));
		*pt_len += n;
	}
	if (chance(20)) {	/* authentic oversize, empty or mistyped records */
		struct svmig_wire_hdr h;
		size_t len = chance(50) ? 0 : SVMIG_STREAM_RECORD_MAX + 1 + below(3);
		uint8_t type = (uint8_t)(chance(60) ? SVMIG_REC_DATA : below(8));

		svmig_wire_hdr_fill(&h, type, (uint32_t)(len + SVMIG_TAG_LEN), w.next_seq);
		st_rec(s, rec, svmig_wire_seal_raw(&w, &h, NULL, 0, pt, len, rec));
	} else {
		st_rec(s, rec, svmig_wire_seal_end(&w, rec));
	}
	svmig_wire_free(&w);
}

/*
 * Mutates @s into @out.  Returns false when @out is, byte for byte, @s.
 * @other is a valid stream of another session, for splices.
 */
static bool mutate(const struct stream *s, const struct stream *other, struct stream *out)
{
	int muts = chance(20) ? 0 : 1 + (int)below(3), i, r, r2;
	size_t pos, len;

	out->len = 0;
	out->nrecs = 0;
	st_add(out, s->buf, s->len);
	for (i = 0; i < muts; i++) {
		r = (int)below(s->nrecs);
		pos = s->rec_off[r];
		if (pos >= out->len)
			pos = out->len ? out->len - 1 : 0;
		switch (below(12)) {
		case 0:	/* bit flips anywhere */
		case 1:
			if (out->len)
				out->buf[below(out->len)] ^= (uint8_t)(1 << below(8));
			break;
		case 2:	/* a header byte to a boundary value */
			if (pos + 16 <= out->len)
				out->buf[pos + below(16)] = (uint8_t)(chance(50) ? 0 : pick64());
			break;
		case 3:	/* length field */
			if (pos + 8 <= out->len) {
				uint32_t v = htonl((uint32_t)(chance(50) ? pick32() :
					     ntohl(*(uint32_t *)(out->buf + pos + 4)) + below(5) - 2));

				memcpy(out->buf + pos + 4, &v, 4);
			}
			break;
		case 4:	/* type, version, reserved, seq */
			if (pos + 16 <= out->len) {
				size_t f = (size_t[]){ 0, 1, 2, 3, 15 }[below(5)];

				out->buf[pos + f] = (uint8_t)(f == 1 ? below(8) : pick64());
			}
			break;
		case 5:	/* truncate */
			out->len = below(out->len + 1);
			break;
		case 6:	/* drop a record */
			r2 = (int)below(s->nrecs);
			len = s->rec_off[r2 + 1] - s->rec_off[r2];
			if (s->rec_off[r2 + 1] <= out->len) {
				memmove(out->buf + s->rec_off[r2], out->buf + s->rec_off[r2 + 1],
					out->len - s->rec_off[r2 + 1]);
				out->len -= len;
			}
			break;
		case 7:	/* replay a record at the end, or in place of another */
		case 8:
			r2 = (int)below(s->nrecs);
			len = s->rec_off[r2 + 1] - s->rec_off[r2];
			if (chance(50) || pos + len > out->len)
				st_add(out, s->buf + s->rec_off[r2], len);
			else
				memcpy(out->buf + pos, s->buf + s->rec_off[r2], len);
			break;
		case 9:	/* splice a record of another session */
			r2 = (int)below(other->nrecs);
			len = other->rec_off[r2 + 1] - other->rec_off[r2];
			if (pos + len <= out->len && chance(50))
				memcpy(out->buf + pos, other->buf + other->rec_off[r2], len);
			else
				st_add(out, other->buf + other->rec_off[r2], len);
			break;
		case 10: /* random bytes inserted */
			len = 1 + below(64);
			if (pos <= out->len) {
				uint8_t junk[64];

				rnd_bytes(junk, len);
				st_add(out, junk, len);
				memmove(out->buf + pos + len, out->buf + pos, out->len - len - pos);
				memcpy(out->buf + pos, junk, len);
			}
			break;
		default: /* all random */
			out->len = below(20000);
			st_add(out, "", 0);
			if (out->len > out->cap)
				out->len = 0;
			rnd_bytes(out->buf, out->len);
			break;
		}
	}
	return out->len != s->len || memcmp(out->buf, s->buf, s->len);
}

/* How many leading bytes of @a and @b agree. */
static size_t common_prefix(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return i;
}

/* Sends @len bytes into the peer socket (nonblocking): how many went. */
static size_t feed_sock(int s, const uint8_t *p, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = send(s, p + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			break;
		done += n;
	}
	return done;
}

int open_keyed(uint32_t flags, uint32_t channel)
{
	struct svmig_key_setup ks;
	int fd = dev_open_flags(O_RDWR);

	memset(&ks, 0, sizeof(ks));
	ks.flags = flags | (have_tpm ? 0 : SVMIG_KEY_NO_TPM);
	ks.channel = channel;
	memcpy(ks.session_id, fz_session, sizeof(ks.session_id));
	memcpy(ks.secret, fz_secret, sizeof(ks.secret));
	if (xioctl(OP_SET_KEY, fd, SVMIG_IOC_SET_KEY, &ks))
		tap_bail("SET_KEY 0x%x: %s", flags, strerror(errno));
	return fd;
}

/*
 * Mutated page-mode streams into a receiver, by write() in random chunks or
 * through a socket and RECV.  Guest memory (and the pages around the
 * region) may only ever hold plaintext the sender sealed for that page;
 * VERIFY succeeds only if the valid stream arrived whole.
 */
void episode_page_rx(void)
{
	struct stream s = { 0 }, other = { 0 }, m = { 0 };
	size_t fed = 0, chunk, i, j;
	uint8_t *dst = arena + 8 * PG;
	int fd, sv[2] = { -1, -1 }, ret = 0;
	bool via_sock = chance(40), mutated;
	uint32_t channel = chance(90) ? 7 : 8;

	for (i = 0; i < REC_PAGES; i++)
		for (j = 0; j < 2; j++)
			rnd_bytes(plain[i][j], SVMIG_PAGE_SIZE);
	page_stream(&s, fz_session, 7);
	page_stream(&other, chance(50) ? fz_session2 : fz_session, 7);
	mutated = mutate(&s, &other, &m);
	memset(arena, FILL, ARENA_PAGES * PG);

	fd = open_keyed(SVMIG_ROLE_RECEIVER, channel);
	if (chance(90) && svmig_add_region(fd, RX_SLOT, 0x100000, dst,
					   (chance(90) ? REC_PAGES : 1 + below(REC_PAGES)) * PG))
		tap_bail("receiver region");
	if (chance(20))
		svmig_add_region(fd, RX_SLOT + 1, 0x900000, dst + 16 * PG, 2 * PG);
	op_begin(OP_PAGE_REC);
	if (via_sock) {
		if (stream_pair(sv, chance(30)) || svmig_attach_socket(fd, sv[1]))
			tap_bail("receiver socket");
		fed = feed_sock(sv[0], m.buf, m.len);
		if (chance(70))
			shutdown(sv[0], SHUT_WR);
		for (i = 0; i < 3; i++)
			recv_ioctl(fd);
	} else {
		while (fed < m.len && !ret) {
			chunk = chance(50) ? m.len - fed : 1 + below(m.len - fed);
			ret = write(fd, m.buf + fed, chunk) < 0 ? -errno : 0;
			op_begin(OP_WRITE);
			op_end(OP_WRITE, ret);
			if (!ret)
				fed += chunk;
		}
	}
	op_end(OP_PAGE_REC, 0);

	/* Only sealed plaintext, only inside the region. */
	for (i = 0; i < ARENA_PAGES; i++) {
		uint8_t *p = arena + i * PG;
		bool ok = true;

		if (i >= 8 && i < 8 + REC_PAGES &&
		    (!memcmp(p, plain[i - 8][0], PG) || !memcmp(p, plain[i - 8][1], PG)))
			continue;
		/* The authentic malformed record carries page 0's first plaintext. */
		if (((i >= 8 && i < 8 + REC_PAGES) || i == 16 || i == 17) &&
		    !memcmp(p, plain[0][0], PG))
			continue;
		for (j = 0; j < PG && ok; j++)
			ok = p[j] == FILL;
		if (!ok)
			report(&n_forgery, "page-mode receiver: arena page %zu holds bytes the sender never sealed there (%s, mutated %d)",
			       i, via_sock ? "socket" : "write", mutated);
	}
	if (!svmig_verify(fd)) {
		size_t prefix = common_prefix(m.buf, fed, s.buf, s.len);

		atomic_fetch_add(&page_rx_verified, 1);
		if (prefix < s.len || channel != 7)
			report(&n_forgery, "page-mode receiver verified a stream that differs from the sender's at byte %zu of %zu",
			       prefix, s.len);
	}
	get_stats(NULL, fd);
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	close(fd);
	free(s.buf);
	free(other.buf);
	free(m.buf);
}

/*
 * What a stream receiver's read() returned, @n bytes at @chunk, must be the
 * sealed plaintext @pt at @pos, its position in it so far; or, once RECV
 * dropped what was unread, at the start of a later DATA record.
 */
static size_t check_chunk(const uint8_t *pt, size_t pt_len, const size_t *starts, size_t pos,
			  const uint8_t *chunk, size_t n, bool dropped)
{
	int i;

	if (pos + n <= pt_len && !memcmp(pt + pos, chunk, n))
		return pos + n;
	for (i = 0; dropped && i < 9 && starts[i] <= pt_len; i++)
		if (starts[i] >= pos && starts[i] + n <= pt_len && !memcmp(pt + starts[i], chunk, n))
			return starts[i] + n;
	report(&n_forgery, "stream receiver handed out %zu bytes that are not the plaintext sealed at %zu of %zu%s",
	       n, pos, pt_len, dropped ? " (nor at a later record after RECV)" : "");
	return pos + n;
}

/*
 * Mutated stream-mode streams into a receiver over a socket.  read() may
 * only return a prefix of the plaintext sealed; end of file and VERIFY only
 * after the whole valid stream arrived.
 */
void episode_stream_rx(void)
{
	static uint8_t pt[9 * SVMIG_STREAM_RECORD_MAX], got[9 * SVMIG_STREAM_RECORD_MAX];
	struct stream s = { 0 }, other = { 0 }, m = { 0 };
	size_t pt_len, other_len, fed, got_len = 0, pos = 0, starts[9];
	int fd, sv[2], tries = 0, idle = 0;
	bool eof = false, used_recv = false;
	ssize_t n;

	data_stream(&s, fz_session, pt, &pt_len, starts);
	data_stream(&other, chance(50) ? fz_session2 : fz_session, got, &other_len, NULL);
	mutate(&s, &other, &m);

	fd = open_keyed(SVMIG_ROLE_RECEIVER | SVMIG_KEY_STREAM, 0);
	if (stream_pair(sv, chance(30)) || svmig_attach_socket(fd, sv[1]))
		tap_bail("stream receiver socket");
	if (chance(30))
		set_nonblock(fd);
	op_begin(OP_STREAM_REC);
	fed = feed_sock(sv[0], m.buf, m.len);
	if (chance(70))
		shutdown(sv[0], SHUT_WR);
	while (tries++ < 200 && !eof) {
		size_t want = chance(50) ? sizeof(got) - got_len : 1 + below(20000);

		if (want > sizeof(got) - got_len)
			want = sizeof(got) - got_len;
		if (chance(10)) {	/* drops what was not read yet */
			recv_ioctl(fd);
			used_recv = true;
			continue;
		}
		op_begin(OP_READ);
		n = read(fd, got + got_len, want);
		op_end(OP_READ, n < 0 ? -errno : 0);
		if (n == 0 && want)
			eof = true;
		else if (n > 0)
			pos = check_chunk(pt, pt_len, starts, pos, got + got_len, n, used_recv);
		if (n > 0)
			got_len += n;
		else if (n < 0 && ((errno != EAGAIN && errno != EINTR) || ++idle > 3))
			break;
	}
	op_end(OP_STREAM_REC, 0);
	if (eof || !svmig_verify(fd)) {
		size_t prefix = common_prefix(m.buf, fed, s.buf, s.len);

		atomic_fetch_add(&stream_rx_eof, 1);
		if (prefix < s.len)
			report(&n_forgery, "stream receiver %s a stream that differs from the sender's at byte %zu of %zu",
			       eof ? "reached EOF on" : "verified", prefix, s.len);
		if (eof && got_len != pt_len && !used_recv)
			report(&n_forgery, "stream receiver: EOF after %zu of %zu bytes", got_len, pt_len);
	}
	get_stats(NULL, fd);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	free(s.buf);
	free(other.buf);
	free(m.buf);
}

/*
 * A sender fed random ring entries (valid, invalid, indices out of range),
 * its records read out and opened by the oracle: every record opens, each
 * page's plaintext is the sender's page, the manifest verifies.
 */
void episode_page_tx(void)
{
	static uint8_t out[1 << 20];
	struct svmig_ring ring;
	struct svmig_wire w;
	struct svmig_wire_rec info;
	struct svmig_submit sub;
	static uint8_t page[SVMIG_PAGE_SIZE];
	static uint8_t orig[16 * PG];
	size_t len = 0, off = 0, npages = 1 + below(16), in_file = 16;
	uint8_t *src = arena + 4 * PG;
	uint64_t sealed = 0;
	int fd, i, rounds = 1 + (int)below(6), ret, mfd = -1;
	bool finished = false, failed;
	struct svmig_stats st;
	ssize_t n;

	/*
	 * Sometimes the guest memory is a shared memfd, cut short while the
	 * sender has it: pages past the file's end must be refused (EFAULT),
	 * never sealed, and must not raise SIGBUS in the caller.
	 */
	if (chance(20)) {
		mfd = memfd_create("svmig-fuzz", MFD_CLOEXEC);
		if (mfd >= 0 && !ftruncate(mfd, npages * PG)) {
			void *p = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);

			if (p != MAP_FAILED)
				src = p;
		}
	}
	rnd_bytes(src, npages * PG);
	memcpy(orig, src, npages * PG);
	if (src != arena + 4 * PG && chance(70)) {
		in_file = below(npages + 1);
		if (ftruncate(mfd, in_file * PG))
			in_file = 16;
	} else if (src == arena + 4 * PG && chance(20) && npages > 2) {
		mprotect(src + PG, PG, PROT_READ);
	}
	fd = open_keyed(SVMIG_ROLE_SENDER, 9);
	ret = svmig_add_region(fd, 11, 0, src, npages * PG);
	if (!ret)
		ret = svmig_ring_init(fd, 1U << below(6), &ring);
	if (ret)
		tap_bail("sender setup: %s", strerror(-ret));
	op_begin(OP_TX_CHECK);
	for (i = 0; i < rounds; i++) {
		uint32_t k, cnt = (uint32_t)below(ring.entries + 1);

		for (k = 0; k < cnt; k++) {
			struct svmig_dirty_gfn *e = &ring.gfns[(ring.tail + k) & ring.mask];

			e->flags = chance(90) ? SVMIG_GFN_F_DIRTY * (uint32_t)below(2) : pick32();
			e->slot = chance(90) ? 11 : pick32();
			e->offset = chance(90) ? below(npages) : pick64();
		}
		ring.tail += cnt;
		svmig_ring_publish(&ring);
		memset(&sub, 0, sizeof(sub));
		sub.max_entries = chance(70) ? 0 : (uint32_t)below(8);
		ret = xioctl(OP_SUBMIT, fd, SVMIG_IOC_SUBMIT, &sub);
		sealed += sub.completed;
		if (ret == -EAGAIN || chance(50)) {
			while ((n = read(fd, out + len, sizeof(out) - len)) > 0)
				len += n;
		}
		/* Whatever was not consumed is dropped: move tail back to head. */
		ring.tail = __atomic_load_n(ring.khead, __ATOMIC_ACQUIRE);
		svmig_ring_publish(&ring);
	}
	if (chance(80))
		finished = !svmig_finish(fd);
	while ((n = read(fd, out + len, sizeof(out) - len)) > 0)
		len += n;
	/*
	 * A page that could not be read (past the memfd's end) failed the
	 * channel (EFAULT): what it had queued is dropped, read() is EPIPE.
	 */
	failed = !svmig_get_stats(fd, &st) && st.error;
	if (failed && st.error != EFAULT)
		report(&n_contract, "sender failed with %s", strerror(st.error));
	if (n < 0 && errno != EAGAIN && !(failed && errno == EPIPE))
		report(&n_contract, "sender read(): %s", strerror(errno));
	if (n == 0 && !finished)
		report(&n_contract, "sender read() returned EOF before FINISH");
	if (failed && finished)
		report(&n_contract, "FINISH succeeded on a sender that failed");

	if (svmig_wire_init(&w, SVMIG_ROLE_RECEIVER, fz_session, 9, fz_secret) ||
	    svmig_wire_add_region(&w, 11, npages))
		tap_bail("oracle receiver");
	ret = 0;
	i = 0;
	while (off < len && !ret) {
		int rl = svmig_wire_record_len(out + off, len - off);

		if (rl <= 0 || (size_t)rl > len - off) {
			ret = -EPROTO;
			break;
		}
		ret = svmig_wire_open_record(&w, out + off, rl, page, &info);
		if (!ret && info.type == SVMIG_REC_PAGE && info.page >= in_file)
			report(&n_forgery, "sender sealed page %" PRIu64 ", past the end of its file (%zu pages)",
			       info.page, in_file);
		else if (!ret && info.type == SVMIG_REC_PAGE &&
			 memcmp(page, orig + info.page * PG, PG) && !info.stale)
			report(&n_forgery, "sender sealed page %" PRIu64 " with other bytes than the page",
			       info.page);
		if (!ret && info.type == SVMIG_REC_PAGE)
			i++;
		off += rl;
	}
	if (ret)
		report(&n_forgery, "oracle refused the sender's record at byte %zu: %s", off,
		       strerror(-ret));
	else if ((uint64_t)i != sealed && !failed)
		report(&n_contract, "SUBMIT reported %" PRIu64 " sealed, %d page records came out",
		       sealed, i);
	else if (finished && w.verdict != SVMIG_VERDICT_VERIFIED)
		report(&n_forgery, "oracle: the sender's manifest does not verify");
	op_end(OP_TX_CHECK, ret);
	svmig_wire_free(&w);
	get_stats(NULL, fd);
	svmig_ring_exit(&ring);
	close(fd);
	if (src != arena + 4 * PG) {
		munmap(src, npages * PG);
		close(mfd);
	} else {
		mprotect(src, npages * PG, PROT_READ | PROT_WRITE);
	}
	if (mfd >= 0 && src == arena + 4 * PG)
		close(mfd);
}
