// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel against the independent OpenSSL implementation of the wire
 * format (userspace/lib/wire.c): records sealed by svmig.ko open in
 * userspace and are byte-identical to the oracle's, records sealed by the
 * oracle are applied by svmig.ko, and every attack on the stream (tamper,
 * replay, reorder, drop, truncate, splice, wrong key) is refused with its
 * errno and counter and without a byte written into guest memory.  Also:
 * the sender reads untouched and read-only guest pages and refuses a hole,
 * and no output of the device ever contains key bytes.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libsvmig.h"
#include "tap.h"
#include "wire.h"

#define SLOT		5
#define NPAGES		8
#define CHANNEL		3
#define DEST_FILL	0xee

static const uint8_t session[SVMIG_SESSION_ID_LEN] = "svmig-interop-01";
static const uint8_t other_session[SVMIG_SESSION_ID_LEN] = "svmig-interop-02";
static const uint8_t secret[SVMIG_SECRET_LEN] = "a 32-byte secret for interop!!!";
static const uint8_t other_secret[SVMIG_SECRET_LEN] = "another 32-byte secret, wrong..";

/* A growable byte buffer for streams and collected device output. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			tap_bail("out of memory");
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void fill_page(uint8_t *page, uint64_t index, int round)
{
	size_t i;

	for (i = 0; i < SVMIG_PAGE_SIZE; i++)
		page[i] = (uint8_t)(index * 131 + i * 7 + round * 29);
}

static uint8_t *map_pages(size_t n, int fill)
{
	uint8_t *p = mmap(NULL, n * SVMIG_PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	memset(p, fill, n * SVMIG_PAGE_SIZE);
	return p;
}

/* Device outputs collected for the key-never-exported check. */
static struct buf exported;

static void collect_stats(int fd)
{
	struct svmig_stats st;

	if (!svmig_get_stats(fd, &st))
		buf_add(&exported, &st, sizeof(st));
}

/*
 * svmig.ko as sender (no socket: records come out of read()): round 1 sends
 * every page, round 2 pages 1 and 3 rewritten, then the manifest.
 */
static void kernel_send(uint8_t *src, struct buf *stream)
{
	struct svmig_ring ring;
	struct svmig_info info;
	uint8_t chunk[10000];
	ssize_t n;
	int fd, i;

	fd = svmig_open();
	if (fd < 0 || svmig_set_key(fd, SVMIG_ROLE_SENDER, CHANNEL, session, secret) ||
	    svmig_add_region(fd, SLOT, 0x200000, src, NPAGES * SVMIG_PAGE_SIZE) ||
	    svmig_ring_init(fd, 16, &ring))
		tap_bail("kernel sender setup");
	for (i = 0; i < NPAGES; i++) {
		fill_page(src + i * SVMIG_PAGE_SIZE, i, 1);
		svmig_ring_push(&ring, SLOT, i);
	}
	svmig_ring_publish(&ring);
	tap_errno(svmig_submit(fd, 0, NULL), 0, "kernel sender: round 1 submitted");
	for (i = 1; i < NPAGES; i += 2) {
		fill_page(src + i * SVMIG_PAGE_SIZE, i, 2);
		svmig_ring_push(&ring, SLOT, i);
	}
	svmig_ring_publish(&ring);
	tap_errno(svmig_submit(fd, 0, NULL), 0, "kernel sender: round 2 submitted");
	tap_errno(svmig_finish(fd), 0, "kernel sender: manifest sealed");
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(stream, chunk, n);
	tap_ok(n == 0, "kernel sender: read() ends with EOF after the manifest");

	svmig_get_info(fd, &info);
	buf_add(&exported, &info, sizeof(info));
	buf_add(&exported, ring.map, ring.map_size);
	collect_stats(fd);
	buf_add(&exported, stream->p, stream->len);
	svmig_ring_exit(&ring);
	close(fd);
}

/* Opens a whole stream with the oracle; returns the number of records. */
static int oracle_receive(struct buf *stream, uint8_t *dst, uint32_t *verdict)
{
	struct svmig_wire w;
	struct svmig_wire_rec rec;
	uint8_t page[SVMIG_PAGE_SIZE];
	size_t off = 0;
	int len, ret = 0, n = 0;

	if (svmig_wire_init(&w, SVMIG_ROLE_RECEIVER, session, CHANNEL, secret) ||
	    svmig_wire_add_region(&w, SLOT, NPAGES))
		tap_bail("oracle receiver setup");
	while (off < stream->len && !ret) {
		len = svmig_wire_record_len(stream->p + off, stream->len - off);
		if (len < 0 || (size_t)len > stream->len - off) {
			ret = -EPROTO;
			break;
		}
		memset(&rec, 0, sizeof(rec));
		ret = svmig_wire_open_record(&w, stream->p + off, len, page, &rec);
		if (!ret && rec.type == SVMIG_REC_PAGE && !rec.stale)
			memcpy(dst + rec.page * SVMIG_PAGE_SIZE, page, SVMIG_PAGE_SIZE);
		off += len;
		n++;
	}
	*verdict = w.verdict;
	svmig_wire_free(&w);
	return ret ? ret : n;
}

static void test_kernel_to_oracle(struct buf *stream, uint8_t *src)
{
	uint8_t *dst = map_pages(NPAGES, DEST_FILL);
	uint32_t verdict = 0;
	int n;

	n = oracle_receive(stream, dst, &verdict);
	tap_ok(n == 1 + NPAGES + NPAGES / 2 + 1,
	       "oracle opens every record svmig.ko sealed (%d records)", n);
	tap_ok(verdict == SVMIG_VERDICT_VERIFIED, "oracle verifies the kernel's manifest");
	tap_ok(!memcmp(dst, src, NPAGES * SVMIG_PAGE_SIZE),
	       "oracle's decrypted pages equal the kernel sender's memory");
	munmap(dst, NPAGES * SVMIG_PAGE_SIZE);
}

/* The oracle, given the kernel's salt, must produce the very same bytes. */
static void test_byte_identical(struct buf *stream)
{
	const struct svmig_wire_hello *h =
		(const void *)(stream->p + sizeof(struct svmig_wire_hdr));
	uint8_t page[SVMIG_PAGE_SIZE], rec[SVMIG_PAGE_REC_LEN];
	struct buf mine = { 0 };
	struct svmig_wire w;
	int i, len;

	if (svmig_wire_init(&w, SVMIG_ROLE_SENDER, session, CHANNEL, secret) ||
	    svmig_wire_add_region(&w, SLOT, NPAGES) || svmig_wire_set_salt(&w, h->salt) ||
	    svmig_wire_set_tpm_salt(&w, ntohl(h->flags) & SVMIG_HELLO_F_TPM_SALT))
		tap_bail("oracle sender setup");
	len = svmig_wire_seal_hello(&w, rec);
	buf_add(&mine, rec, len);
	for (i = 0; i < NPAGES; i++) {
		fill_page(page, i, 1);
		len = svmig_wire_seal_page(&w, SLOT, i, page, rec);
		buf_add(&mine, rec, len);
	}
	for (i = 1; i < NPAGES; i += 2) {
		fill_page(page, i, 2);
		len = svmig_wire_seal_page(&w, SLOT, i, page, rec);
		buf_add(&mine, rec, len);
	}
	len = svmig_wire_seal_manifest(&w, rec);
	buf_add(&mine, rec, len);
	tap_ok(mine.len == stream->len && !memcmp(mine.p, stream->p, mine.len),
	       "kernel and oracle records are byte for byte identical (%zu bytes)", mine.len);
	svmig_wire_free(&w);
	free(mine.p);
}

/*
 * The sender reads guest pages however they are mapped: a page never
 * touched (the shared zero page) and a read-only one are sealed, and the
 * oracle opens them.  A page named dirty that cannot be read (a hole in
 * the region) fails the channel with EFAULT: no manifest may vouch for a
 * memory image that lacks it.
 */
static void test_page_sources(void)
{
	uint8_t *src = mmap(NULL, NPAGES * SVMIG_PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *dst = map_pages(NPAGES, DEST_FILL);
	uint8_t want[SVMIG_PAGE_SIZE], chunk[10000];
	struct buf stream = { 0 };
	struct svmig_ring ring;
	uint32_t done = 0, verdict = 0;
	ssize_t n;
	int fd;

	if (src == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	fd = svmig_open();
	if (fd < 0 || svmig_set_key(fd, SVMIG_ROLE_SENDER, CHANNEL, session, secret) ||
	    svmig_add_region(fd, SLOT, 0x200000, src, NPAGES * SVMIG_PAGE_SIZE) ||
	    svmig_ring_init(fd, 16, &ring))
		tap_bail("kernel sender setup");
	fill_page(src + 1 * SVMIG_PAGE_SIZE, 1, 3);
	fill_page(src + 3 * SVMIG_PAGE_SIZE, 3, 3);
	if (mprotect(src + 1 * SVMIG_PAGE_SIZE, SVMIG_PAGE_SIZE, PROT_READ) ||
	    munmap(src + 2 * SVMIG_PAGE_SIZE, SVMIG_PAGE_SIZE))
		tap_bail("mprotect/munmap: %s", strerror(errno));
	svmig_ring_push(&ring, SLOT, 0);
	svmig_ring_push(&ring, SLOT, 1);
	svmig_ring_push(&ring, SLOT, 3);
	svmig_ring_publish(&ring);
	tap_errno(svmig_submit(fd, 0, &done), 0, "page sources: untouched, read-only, mapped");
	tap_ok(done == 3, "page sources: all three sealed (%u)", done);
	tap_errno(svmig_finish(fd), 0, "page sources: manifest sealed");
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&stream, chunk, n);
	svmig_ring_exit(&ring);
	close(fd);

	n = oracle_receive(&stream, dst, &verdict);
	tap_ok(n == 1 + 3 + 1, "page sources: oracle opens HELLO, three pages, manifest (%zd)", n);
	tap_ok(verdict == SVMIG_VERDICT_VERIFIED, "page sources: oracle verifies the manifest");
	memset(want, 0, sizeof(want));
	tap_ok(!memcmp(dst, want, SVMIG_PAGE_SIZE), "page sources: untouched page arrives as zeros");
	fill_page(want, 1, 3);
	tap_ok(!memcmp(dst + SVMIG_PAGE_SIZE, want, SVMIG_PAGE_SIZE),
	       "page sources: read-only page arrives intact");
	fill_page(want, 3, 3);
	tap_ok(!memcmp(dst + 3 * SVMIG_PAGE_SIZE, want, SVMIG_PAGE_SIZE),
	       "page sources: page after the hole arrives intact");
	memset(want, DEST_FILL, sizeof(want));
	tap_ok(!memcmp(dst + 2 * SVMIG_PAGE_SIZE, want, SVMIG_PAGE_SIZE),
	       "page sources: nothing arrives for the hole");

	fd = svmig_open();
	if (fd < 0 || svmig_set_key(fd, SVMIG_ROLE_SENDER, CHANNEL, session, secret) ||
	    svmig_add_region(fd, SLOT, 0x200000, src, NPAGES * SVMIG_PAGE_SIZE) ||
	    svmig_ring_init(fd, 16, &ring))
		tap_bail("kernel sender setup");
	svmig_ring_push(&ring, SLOT, 2);
	svmig_ring_publish(&ring);
	tap_errno(svmig_submit(fd, 0, &done), -EFAULT, "page sources: a hole in the region: EFAULT");
	svmig_ring_push(&ring, SLOT, 3);
	svmig_ring_publish(&ring);
	tap_errno(svmig_submit(fd, 0, &done), -EPIPE, "page sources: the hole failed the channel");
	tap_errno(svmig_finish(fd), -EPIPE, "page sources: no manifest without the hole's page");
	svmig_ring_exit(&ring);
	close(fd);
	free(stream.p);
	munmap(src, NPAGES * SVMIG_PAGE_SIZE);
	munmap(dst, NPAGES * SVMIG_PAGE_SIZE);
}

/* The records of one oracle-sealed stream, kept apart so tests can edit them. */
struct records {
	uint8_t rec[NPAGES + 2][SVMIG_PAGE_REC_LEN];
	size_t len[NPAGES + 2];
	int n;
};

static void oracle_stream_tpm(const uint8_t *sess, const uint8_t *key, uint32_t channel,
			      bool tpm_salt, struct records *r);

static void oracle_stream_channel(const uint8_t *sess, const uint8_t *key, uint32_t channel,
				  struct records *r)
{
	oracle_stream_tpm(sess, key, channel, false, r);
}

/* An oracle stream whose HELLO says (or not) that a TPM salted it. */
static void oracle_stream_tpm(const uint8_t *sess, const uint8_t *key, uint32_t channel,
			      bool tpm_salt, struct records *r)
{
	uint8_t page[SVMIG_PAGE_SIZE], salt[SVMIG_SALT_LEN];
	struct svmig_wire w;
	int i;

	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    svmig_wire_init(&w, SVMIG_ROLE_SENDER, sess, channel, key) ||
	    svmig_wire_add_region(&w, SLOT, NPAGES) || svmig_wire_set_salt(&w, salt) ||
	    svmig_wire_set_tpm_salt(&w, tpm_salt))
		tap_bail("oracle sender setup");
	r->n = 0;
	r->len[r->n] = svmig_wire_seal_hello(&w, r->rec[r->n]);
	r->n++;
	for (i = 0; i < NPAGES; i++) {
		fill_page(page, i, 7);
		r->len[r->n] = svmig_wire_seal_page(&w, SLOT, i, page, r->rec[r->n]);
		r->n++;
	}
	r->len[r->n] = svmig_wire_seal_manifest(&w, r->rec[r->n]);
	r->n++;
	svmig_wire_free(&w);
}

static void oracle_stream(const uint8_t *sess, const uint8_t *key, struct records *r)
{
	oracle_stream_channel(sess, key, CHANNEL, r);
}

struct receiver {
	int fd;
	uint8_t *dst;
};

static void receiver_init(struct receiver *rx, const uint8_t *key, uint32_t channel)
{
	rx->dst = map_pages(NPAGES, DEST_FILL);
	rx->fd = svmig_open();
	if (rx->fd < 0 || svmig_set_key(rx->fd, SVMIG_ROLE_RECEIVER, channel, session, key) ||
	    svmig_add_region(rx->fd, SLOT, 0x200000, rx->dst, NPAGES * SVMIG_PAGE_SIZE))
		tap_bail("kernel receiver setup");
}

static void receiver_exit(struct receiver *rx)
{
	collect_stats(rx->fd);
	close(rx->fd);
	munmap(rx->dst, NPAGES * SVMIG_PAGE_SIZE);
}

static int feed(int fd, const void *p, size_t len)
{
	ssize_t n = write(fd, p, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static bool page_untouched(const struct receiver *rx, int page)
{
	const uint8_t *p = rx->dst + page * SVMIG_PAGE_SIZE;
	int i;

	for (i = 0; i < SVMIG_PAGE_SIZE; i++)
		if (p[i] != DEST_FILL)
			return false;
	return true;
}

static void test_oracle_to_kernel(void)
{
	uint8_t expect[SVMIG_PAGE_SIZE];
	struct svmig_stats st;
	struct records r;
	struct buf all = { 0 };
	struct receiver rx;
	size_t off, chunk;
	int i, ret = 0, same = 1;

	oracle_stream(session, secret, &r);
	for (i = 0; i < r.n; i++)
		buf_add(&all, r.rec[i], r.len[i]);
	receiver_init(&rx, secret, CHANNEL);
	/* Odd-sized writes: records straddle write() calls. */
	for (off = 0; off < all.len && !ret; off += chunk) {
		chunk = all.len - off < 1000 ? all.len - off : 1000;
		ret = feed(rx.fd, all.p + off, chunk);
	}
	tap_errno(ret, 0, "svmig.ko accepts the oracle's stream in 1000-byte writes");
	tap_errno(svmig_verify(rx.fd), 0, "svmig.ko verifies the oracle's manifest");
	for (i = 0; i < NPAGES; i++) {
		fill_page(expect, i, 7);
		same &= !memcmp(rx.dst + i * SVMIG_PAGE_SIZE, expect, SVMIG_PAGE_SIZE);
	}
	tap_ok(same, "guest memory holds the oracle's plaintext");
	svmig_get_stats(rx.fd, &st);
	tap_ok(st.records == (uint64_t)r.n && st.pages == NPAGES && st.auth_failures == 0 &&
	       st.replays == 0 && st.verdict == SVMIG_VERDICT_VERIFIED,
	       "receiver stats: %llu records, %llu pages, verdict verified",
	       (unsigned long long)st.records, (unsigned long long)st.pages);
	receiver_exit(&rx);
	free(all.p);
}

enum field {
	F_NONE, F_VERSION, F_SEQ, F_LENGTH, F_SLOT, F_GEN, F_PAGE_INDEX, F_CT_FIRST, F_CT_LAST,
	F_TAG, F_HELLO_CHANNEL, F_HELLO_FLAGS, F_HELLO_SALT, F_MANIFEST_CT,
};

struct attack {
	const char *what;
	int order[NPAGES + 3];	/* record indices to send, -1 ends */
	enum field flip;	/* a bit to flip in the last record sent */
	int want;		/* errno of the last write */
	uint64_t stats_replays, stats_auth, stats_proto;
};

static size_t field_offset(enum field f)
{
	switch (f) {
	case F_VERSION: return 0;
	case F_LENGTH: return 6;
	case F_SEQ: return 15;
	/* A PAGE's identity is encrypted: these flip ciphertext bits. */
	case F_SLOT: return 16 + 3;
	case F_GEN: return 16 + 6;
	case F_PAGE_INDEX: return 16 + 15;	/* the low byte of the page index */
	case F_HELLO_CHANNEL: return 16 + 3;
	case F_HELLO_FLAGS: return 16 + 7;	/* bit 0: SVMIG_HELLO_F_STREAM */
	case F_HELLO_SALT: return 16 + 8 + 16 + 3;
	case F_MANIFEST_CT: return 16 + 5;
	case F_CT_FIRST: return 32;
	case F_CT_LAST: return 32 + SVMIG_PAGE_SIZE - 1;
	case F_TAG: return SVMIG_PAGE_REC_LEN - 1;
	case F_NONE: break;
	}
	return 0;
}

static void run_attack(const struct attack *a, struct records *r)
{
	uint8_t rec[SVMIG_PAGE_REC_LEN];
	struct svmig_stats st;
	struct receiver rx;
	int i, j, ret = 0, last_page = -1;

	receiver_init(&rx, secret, CHANNEL);
	for (i = 0; a->order[i] >= 0 && !ret; i++) {
		int idx = a->order[i];

		memcpy(rec, r->rec[idx], r->len[idx]);
		if (a->order[i + 1] < 0 && a->flip != F_NONE)
			rec[field_offset(a->flip)] ^= 0x01;
		ret = feed(rx.fd, rec, r->len[idx]);
		/* The attacked page, unless an earlier record legitimately wrote it. */
		last_page = idx >= 1 && idx <= NPAGES ? idx - 1 : -1;
		for (j = 0; j < i; j++)
			if (a->order[j] == idx)
				last_page = -1;
	}
	tap_errno(ret, a->want, "%s: refused (%s)", a->what, strerror(-a->want));
	tap_ok(a->order[i] < 0, "%s: refused at the attacked record", a->what);
	tap_ok(last_page < 0 || page_untouched(&rx, last_page),
	       "%s: nothing written to guest memory", a->what);
	svmig_get_stats(rx.fd, &st);
	tap_ok(st.replays == a->stats_replays && st.auth_failures == a->stats_auth &&
	       st.proto_errors == a->stats_proto && st.verdict == SVMIG_VERDICT_FAILED,
	       "%s: counted (replays %llu, auth %llu, proto %llu), verdict FAILED", a->what,
	       (unsigned long long)st.replays, (unsigned long long)st.auth_failures,
	       (unsigned long long)st.proto_errors);
	tap_errno(svmig_verify(rx.fd), -EBADMSG, "%s: VERIFY refuses to let the VM resume",
		  a->what);
	tap_errno(feed(rx.fd, r->rec[0], r->len[0]), -EPIPE, "%s: channel stays closed",
		  a->what);
	receiver_exit(&rx);
}

static void test_attacks(void)
{
	static const struct attack attacks[] = {
		{ "bit flip in header version", { 0, 1, -1 }, F_VERSION, -EPROTO, 0, 0, 1 },
		{ "bit flip in header length", { 0, 1, -1 }, F_LENGTH, -EPROTO, 0, 0, 1 },
		{ "bit flip in header seq", { 0, 1, 2, -1 }, F_SEQ, -EBADMSG, 0, 1, 0 },
		{ "bit flip in page slot", { 0, 1, -1 }, F_SLOT, -EBADMSG, 0, 1, 0 },
		{ "bit flip in page generation", { 0, 1, -1 }, F_GEN, -EBADMSG, 0, 1, 0 },
		{ "bit flip in first ciphertext byte", { 0, 1, -1 }, F_CT_FIRST, -EBADMSG, 0, 1, 0 },
		{ "bit flip in last ciphertext byte", { 0, 1, 2, -1 }, F_CT_LAST, -EBADMSG, 0, 1, 0 },
		{ "bit flip in tag", { 0, 1, -1 }, F_TAG, -EBADMSG, 0, 1, 0 },
		{ "replayed record", { 0, 1, 2, 2, -1 }, F_NONE, -EILSEQ, 1, 0, 0 },
		{ "replayed HELLO", { 0, 0, -1 }, F_NONE, -EILSEQ, 1, 0, 0 },
		{ "two records swapped", { 0, 2, -1 }, F_NONE, -EILSEQ, 1, 0, 0 },
		{ "record dropped", { 0, 1, 3, -1 }, F_NONE, -EILSEQ, 1, 0, 0 },
		{ "page before HELLO", { 1, -1 }, F_NONE, -EBADMSG, 0, 1, 0 },
		{ "bit flip in the HELLO's salt", { 0, -1 }, F_HELLO_SALT, -EBADMSG, 0, 1, 0 },
		{ "bit flip in the HELLO's channel", { 0, -1 }, F_HELLO_CHANNEL, -EBADMSG, 0, 1, 0 },
		{ "bit flip in the HELLO's flags", { 0, -1 }, F_HELLO_FLAGS, -EPROTO, 0, 0, 1 },
		{ "bit flip in the page index", { 0, 1, -1 }, F_PAGE_INDEX, -EBADMSG, 0, 1, 0 },
		{ "bit flip in the MANIFEST", { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1 }, F_MANIFEST_CT,
		  -EBADMSG, 0, 1, 0 },
	};
	struct records r;
	size_t i;

	oracle_stream(session, secret, &r);
	for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		run_attack(&attacks[i], &r);
}

static void test_wrong_keys(void)
{
	struct records good, other;
	struct svmig_stats st;
	struct receiver rx;
	int i;

	oracle_stream(session, secret, &good);
	receiver_init(&rx, other_secret, CHANNEL);
	tap_errno(feed(rx.fd, good.rec[0], good.len[0]), -EBADMSG,
		  "wrong key: refused at the first record");
	svmig_get_stats(rx.fd, &st);
	tap_ok(st.auth_failures == 1 && st.records == 0, "wrong key: counted as auth failure");
	receiver_exit(&rx);

	receiver_init(&rx, secret, CHANNEL + 1);
	tap_errno(feed(rx.fd, good.rec[0], good.len[0]), -EBADMSG,
		  "HELLO for another channel: refused");
	receiver_exit(&rx);

	oracle_stream(other_session, secret, &other);
	receiver_init(&rx, secret, CHANNEL);
	tap_errno(feed(rx.fd, other.rec[0], other.len[0]), -EBADMSG,
		  "HELLO of another session: refused");
	receiver_exit(&rx);

	receiver_init(&rx, secret, CHANNEL);
	tap_errno(feed(rx.fd, good.rec[0], good.len[0]), 0, "valid HELLO accepted");
	tap_errno(feed(rx.fd, other.rec[1], other.len[1]), -EBADMSG,
		  "page spliced from another session: refused");
	tap_ok(page_untouched(&rx, 0), "spliced page not written");
	receiver_exit(&rx);

	/* A MANIFEST sealed under another session's keys, at the right seq. */
	receiver_init(&rx, secret, CHANNEL);
	for (i = 0; i < good.n - 1; i++)
		feed(rx.fd, good.rec[i], good.len[i]);
	tap_errno(feed(rx.fd, other.rec[other.n - 1], other.len[other.n - 1]), -EBADMSG,
		  "forged MANIFEST (another key): refused");
	tap_errno(svmig_verify(rx.fd), -EBADMSG, "forged MANIFEST: VERIFY refuses");
	receiver_exit(&rx);

	/* Same session and secret, another channel: its page at our seq 1. */
	oracle_stream_channel(session, secret, CHANNEL + 1, &other);
	receiver_init(&rx, secret, CHANNEL);
	feed(rx.fd, good.rec[0], good.len[0]);
	tap_errno(feed(rx.fd, other.rec[1], other.len[1]), -EBADMSG,
		  "page spliced from another channel of the same session: refused");
	tap_ok(page_untouched(&rx, 0), "page spliced across channels not written");
	receiver_exit(&rx);
}

static void test_truncation(void)
{
	struct records r;
	struct receiver rx;
	uint32_t n = 0;
	int sv[2], i;

	oracle_stream(session, secret, &r);
	receiver_init(&rx, secret, CHANNEL);
	feed(rx.fd, r.rec[0], r.len[0]);
	feed(rx.fd, r.rec[1], r.len[1]);
	tap_errno(feed(rx.fd, r.rec[2], r.len[2] / 2), 0, "half a record is buffered");
	tap_errno(svmig_verify(rx.fd), -EINPROGRESS, "truncated write() stream never verifies");
	tap_ok(page_untouched(&rx, 1), "half-received page not written");
	receiver_exit(&rx);

	/* Over a socket, the end of the stream before the manifest is an error. */
	receiver_init(&rx, secret, CHANNEL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair");
	tap_errno(svmig_attach_socket(rx.fd, sv[1]), 0, "receiver attached to a socket");
	if (write(sv[0], r.rec[0], r.len[0]) < 0 || write(sv[0], r.rec[1], r.len[1]) < 0 ||
	    write(sv[0], r.rec[2], 100) < 0)
		tap_bail("write");
	close(sv[0]);
	tap_errno(svmig_recv(rx.fd, 0, &n), -ENODATA, "stream cut mid-record: ENODATA");
	tap_ok(n == 2, "the two whole records were applied (%u)", n);
	tap_errno(svmig_verify(rx.fd), -ENODATA, "cut stream: VERIFY refuses (truncated)");
	close(sv[1]);
	receiver_exit(&rx);

	/* A clean cut at the record boundary just before the manifest. */
	receiver_init(&rx, secret, CHANNEL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || svmig_attach_socket(rx.fd, sv[1]))
		tap_bail("socketpair");
	for (i = 0; i < r.n - 1; i++)
		if (write(sv[0], r.rec[i], r.len[i]) != (ssize_t)r.len[i])
			tap_bail("write");
	close(sv[0]);
	tap_errno(svmig_recv(rx.fd, 0, &n), -ENODATA,
		  "stream cut just before the MANIFEST: ENODATA");
	tap_ok(n == (uint32_t)r.n - 1, "every record before it was applied (%u)", n);
	tap_errno(svmig_verify(rx.fd), -ENODATA, "cut before the MANIFEST: VERIFY refuses");
	close(sv[1]);
	receiver_exit(&rx);
}

/*
 * Records that authenticate but name a page no honest sender names: the
 * identity is checked once the tag verified (it is encrypted), and refused
 * with EPROTO before anything is written.
 */
static void test_authentic_malformed(void)
{
	static const struct {
		const char *what;
		uint32_t slot, gen;
		uint64_t page;
	} bad[] = {
		{ "an unregistered slot", SLOT + 1, 1, 0 },
		{ "a page outside the region", SLOT, 1, NPAGES },
		{ "generation 0", SLOT, 0, 0 },
	};
	uint8_t page[SVMIG_PAGE_SIZE], salt[SVMIG_SALT_LEN] = { 2 }, rec[SVMIG_PAGE_REC_LEN];
	struct svmig_stats st;
	struct svmig_wire w;
	struct receiver rx;
	size_t i;
	int len;

	fill_page(page, 0, 5);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (svmig_wire_init(&w, SVMIG_ROLE_SENDER, session, CHANNEL, secret) ||
		    svmig_wire_add_region(&w, SLOT, NPAGES) || svmig_wire_set_salt(&w, salt))
			tap_bail("oracle sender setup");
		receiver_init(&rx, secret, CHANNEL);
		len = svmig_wire_seal_hello(&w, rec);
		feed(rx.fd, rec, len);
		len = svmig_wire_seal_page_at(&w, 1, bad[i].slot, bad[i].page, bad[i].gen, page,
					      rec);
		tap_errno(feed(rx.fd, rec, len), -EPROTO, "authentic PAGE naming %s: EPROTO",
			  bad[i].what);
		svmig_get_stats(rx.fd, &st);
		tap_ok(st.proto_errors == 1 && st.auth_failures == 0 && st.pages == 0 &&
		       st.verdict == SVMIG_VERDICT_FAILED && page_untouched(&rx, 0),
		       "%s: counted as malformed, nothing written, verdict FAILED", bad[i].what);
		receiver_exit(&rx);
		svmig_wire_free(&w);
	}
}

/*
 * The wire does not show which pages the guest dirtied: a PAGE record's
 * slot, generation and page index are encrypted.  In the kernel's stream
 * (round 1: every page; round 2: the odd ones again), no page record
 * carries its identity in the clear, and the two records of a resent page
 * share no 16-byte window after the header.
 */
static void test_identity_hidden(const struct buf *stream)
{
	const uint8_t *first = stream->p + SVMIG_HELLO_REC_LEN;
	const uint8_t *resend = first + NPAGES * SVMIG_PAGE_REC_LEN;
	struct svmig_wire_page id;
	bool clear = false;
	int i;

	for (i = 0; i < NPAGES; i++) {
		id.slot = htonl(SLOT);
		id.generation = htonl(1);
		id.page = htobe64(i);
		if (memmem(first + i * SVMIG_PAGE_REC_LEN, SVMIG_PAGE_REC_LEN, &id, sizeof(id)))
			clear = true;
	}
	tap_ok(!clear, "no PAGE record shows its slot, generation and index in the clear");
	tap_ok(memcmp(first + SVMIG_PAGE_REC_LEN + SVMIG_HDR_LEN, resend + SVMIG_HDR_LEN, 16),
	       "a resent page's record does not repeat its first record's identity bytes");
	for (i = 1; i < 3; i++)
		if (first[i * SVMIG_PAGE_REC_LEN + 1] != SVMIG_REC_PAGE)
			clear = true;
	tap_ok(!clear && stream->len == SVMIG_HELLO_REC_LEN +
	       (NPAGES + NPAGES / 2) * SVMIG_PAGE_REC_LEN + SVMIG_MANIFEST_REC_LEN,
	       "every PAGE record has the same length (%d)", (int)SVMIG_PAGE_REC_LEN);
}

/* A keyed sender that sends a stale page and a manifest not matching it. */
static void test_manifest_mismatch(void)
{
	uint8_t page[SVMIG_PAGE_SIZE], salt[SVMIG_SALT_LEN] = { 1 }, rec[SVMIG_PAGE_REC_LEN];
	struct svmig_stats st;
	struct svmig_wire w;
	struct receiver rx;
	int len, ret = 0;

	if (svmig_wire_init(&w, SVMIG_ROLE_SENDER, session, CHANNEL, secret) ||
	    svmig_wire_add_region(&w, SLOT, NPAGES) || svmig_wire_set_salt(&w, salt))
		tap_bail("oracle sender setup");
	receiver_init(&rx, secret, CHANNEL);
	fill_page(page, 0, 3);
	len = svmig_wire_seal_hello(&w, rec);
	ret |= feed(rx.fd, rec, len);
	len = svmig_wire_seal_page_at(&w, 1, SLOT, 0, 2, page, rec);
	ret |= feed(rx.fd, rec, len);
	len = svmig_wire_seal_page_at(&w, 2, SLOT, 0, 1, page, rec);
	ret |= feed(rx.fd, rec, len);
	svmig_wire_set_next_seq(&w, 3);
	len = svmig_wire_seal_manifest(&w, rec);
	ret |= feed(rx.fd, rec, len);
	tap_errno(ret, 0, "authentic records with a stale page are accepted");
	svmig_get_stats(rx.fd, &st);
	tap_ok(st.stale_pages == 1 && st.pages == 1, "stale page dropped and counted");
	tap_errno(svmig_verify(rx.fd), -EBADMSG, "manifest not matching the pages: refused");
	tap_ok(st.verdict == SVMIG_VERDICT_MISMATCH, "verdict MISMATCH");
	len = svmig_wire_seal_page_at(&w, 4, SLOT, 1, 1, page, rec);
	tap_errno(feed(rx.fd, rec, len), -EPROTO, "a record after the manifest: EPROTO");
	receiver_exit(&rx);
	svmig_wire_free(&w);
}

static bool contains_window(const struct buf *b, const uint8_t *key, size_t len)
{
	size_t i;

	for (i = 0; i + 8 <= len; i++)
		if (memmem(b->p, b->len, key + i, 8))
			return true;
	return false;
}

static void test_no_key_export(const struct buf *stream)
{
	const struct svmig_wire_hello *h =
		(const void *)(stream->p + sizeof(struct svmig_wire_hdr));
	uint8_t k0[SVMIG_KEY_LEN], prk[SVMIG_KEY_LEN], k[SVMIG_KEY_LEN];

	svmig_kdf_k0(secret, session, k0);
	svmig_kdf_prk(k0, h->salt, prk);
	svmig_kdf_key(prk, CHANNEL, 0, k);
	tap_ok(exported.len > 40000, "collected %zu bytes of device output", exported.len);
	tap_ok(!contains_window(&exported, secret, sizeof(secret)),
	       "no 8 bytes of the secret in any output");
	tap_ok(!contains_window(&exported, k0, sizeof(k0)), "no 8 bytes of K0 in any output");
	tap_ok(!contains_window(&exported, prk, sizeof(prk)), "no 8 bytes of PRK in any output");
	tap_ok(!contains_window(&exported, k, sizeof(k)), "no 8 bytes of K(0) in any output");
}

/*
 * The salt's provenance: the kernel's HELLO says a TPM salted it, and a
 * receiver keyed with SVMIG_KEY_REQUIRE_TPM_SALT refuses a sender whose
 * authenticated HELLO does not (EKEYREJECTED), before any page lands.
 */
static void test_tpm_salt(const struct buf *stream)
{
	const struct svmig_wire_hello *h =
		(const void *)(stream->p + sizeof(struct svmig_wire_hdr));
	struct svmig_stats st;
	struct records r;
	int fd, ret;

	tap_ok(ntohl(h->flags) & SVMIG_HELLO_F_TPM_SALT,
	       "the kernel sender's HELLO says its salt mixes TPM bytes");
	fd = svmig_open();
	tap_errno(svmig_set_key(fd, SVMIG_ROLE_SENDER | SVMIG_KEY_REQUIRE_TPM_SALT, CHANNEL,
				session, secret), -EINVAL,
		  "SVMIG_KEY_REQUIRE_TPM_SALT on a sender: EINVAL");
	close(fd);
	for (int tpm = 0; tpm < 2; tpm++) {
		oracle_stream_tpm(session, secret, CHANNEL, tpm, &r);
		fd = svmig_open();
		if (fd < 0 || svmig_set_key(fd, SVMIG_ROLE_RECEIVER | SVMIG_KEY_REQUIRE_TPM_SALT,
					    CHANNEL, session, secret))
			tap_bail("receiver requiring a TPM salt");
		ret = feed(fd, r.rec[0], r.len[0]);
		svmig_get_stats(fd, &st);
		if (tpm)
			tap_ok(!ret && (st.flags & SVMIG_STAT_TPM_SALT),
			       "a HELLO saying TPM salt is accepted and shown in the stats (%d)", ret);
		else
			tap_ok(ret == -EKEYREJECTED && st.verdict == SVMIG_VERDICT_FAILED,
			       "a HELLO without it is refused: EKEYREJECTED, verdict FAILED (%d)",
			       ret);
		close(fd);
	}
}

/* The number of checks main() runs, printed first. */
#define PLAN	176

int main(void)
{
	struct buf stream = { 0 };
	uint8_t *src = map_pages(NPAGES, 0);

	tap_plan(PLAN);

	kernel_send(src, &stream);
	test_kernel_to_oracle(&stream, src);
	test_byte_identical(&stream);
	test_page_sources();
	test_oracle_to_kernel();
	test_identity_hidden(&stream);
	test_attacks();
	test_authentic_malformed();
	test_wrong_keys();
	test_truncation();
	test_manifest_mismatch();
	test_tpm_salt(&stream);
	test_no_key_export(&stream);
	free(stream.p);
	free(exported.p);
	return tap_done();
}
