// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions (SVMIG_KEY_SESSION): the channels of one migration share one
 * generation per guest page and one verdict.  The attack this stops: a page
 * sent on channel A, then (newer) on channel B, with A's older copy delayed
 * until after B's.  Without a session both copies carry generation 1 and
 * the later one lands; in a session B's carries 2 and A's late copy is
 * dropped as stale, whatever order the connections deliver in.  Also: the
 * session's VERIFY waits for every member and fails with any of them, its
 * sums cover every channel (a sender's channel the receiver never saw fails
 * it), and joining needs the same secret, a channel number of one's own
 * and the same regions.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libsvmig.h"
#include "tap.h"
#include "wire.h"

#define PG		4096
#define NPAGES		4
#define SLOT		1

static const uint8_t secret[SVMIG_SECRET_LEN] = { 0x5e, 0x55, 0x10, 0x4e };
static const uint8_t other_secret[SVMIG_SECRET_LEN] = { 0x07 };

struct buf {
	uint8_t p[64 * 1024];
	size_t len;
};

static int open_member(uint32_t flags, uint32_t channel, const uint8_t *session,
		       const uint8_t *key)
{
	int fd = svmig_open();
	int ret;

	if (fd < 0)
		tap_bail("open: %s", strerror(-fd));
	ret = svmig_set_key(fd, flags | SVMIG_KEY_SESSION, channel, session, key);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static void drain(int fd, struct buf *b)
{
	ssize_t n;

	while ((n = read(fd, b->p + b->len, sizeof(b->p) - b->len)) > 0)
		b->len += n;
}

/*
 * The generation in the first PAGE record of @b (HELLO first), channel
 * @channel of @session: encrypted on the wire, so opened with the oracle.
 */
static uint32_t first_page_gen(const struct buf *b, const uint8_t *session, uint32_t channel)
{
	struct svmig_wire_rec rec = { 0 };
	struct svmig_wire w;
	uint32_t gen = 0;

	if (svmig_wire_init(&w, SVMIG_ROLE_RECEIVER, session, channel, secret) ||
	    svmig_wire_add_region(&w, SLOT, NPAGES))
		tap_bail("oracle receiver");
	if (b->len >= SVMIG_HELLO_REC_LEN + SVMIG_PAGE_REC_LEN &&
	    !svmig_wire_open_record(&w, b->p, SVMIG_HELLO_REC_LEN, NULL, NULL) &&
	    !svmig_wire_open_record(&w, b->p + SVMIG_HELLO_REC_LEN, SVMIG_PAGE_REC_LEN, NULL,
				    &rec))
		gen = rec.generation;
	svmig_wire_free(&w);
	return gen;
}

/*
 * Two sender channels of @session: channel 0 seals page 0 holding 0x11,
 * then the guest writes 0x22 over it and channel 1 seals page @page_b
 * (0: the same page again, newer; 1: a page of its own).  Their records,
 * MANIFEST last.  1 check: once channel 0 called FINISH, a third channel
 * may not join (the MANIFESTs say two).
 */
static void seal_pair(const uint8_t *session, uint8_t *src, uint64_t page_b, struct buf *a,
		      struct buf *b)
{
	struct svmig_ring ra, rb;
	int fa = open_member(SVMIG_ROLE_SENDER, 0, session, secret);
	int fb = open_member(SVMIG_ROLE_SENDER, 1, session, secret);

	if (fa < 0 || fb < 0 || svmig_add_region(fa, SLOT, 0, src, NPAGES * PG) ||
	    svmig_add_region(fb, SLOT, 0, src, NPAGES * PG) || svmig_ring_init(fa, 8, &ra) ||
	    svmig_ring_init(fb, 8, &rb))
		tap_bail("session senders");
	a->len = 0;
	b->len = 0;
	memset(src, 0x11, 2 * PG);
	svmig_ring_push(&ra, SLOT, 0);
	svmig_ring_publish(&ra);
	if (svmig_submit(fa, 0, NULL))
		tap_bail("SUBMIT on channel 0");
	memset(src, 0x22, PG);	/* the guest wrote page 0 again */
	svmig_ring_push(&rb, SLOT, page_b);
	svmig_ring_publish(&rb);
	if (svmig_submit(fb, 0, NULL) || svmig_finish(fa))
		tap_bail("SUBMIT/FINISH");
	tap_errno(open_member(SVMIG_ROLE_SENDER, 2, session, secret), -EALREADY,
		  "a sender channel joining after another called FINISH: EALREADY");
	if (svmig_finish(fb))
		tap_bail("FINISH");
	drain(fa, a);
	drain(fb, b);
	svmig_ring_exit(&ra);
	svmig_ring_exit(&rb);
	close(fa);
	close(fb);
}

static int feed(int fd, const struct buf *b)
{
	ssize_t n = write(fd, b->p, b->len);

	return n < 0 ? -errno : (size_t)n == b->len ? 0 : -EIO;
}

static int receiver(uint32_t channel, const uint8_t *session, uint8_t *dst)
{
	int fd = open_member(SVMIG_ROLE_RECEIVER, channel, session, secret);

	if (fd < 0 || svmig_add_region(fd, SLOT, 0, dst, NPAGES * PG))
		tap_bail("session receiver");
	return fd;
}

static bool page_is(const uint8_t *p, uint8_t v)
{
	int i;

	for (i = 0; i < PG; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* 9 checks: the delayed older copy, and the session's verdict. */
static void test_delayed_copy(uint8_t *src, uint8_t *dst)
{
	static const uint8_t s1[SVMIG_SESSION_ID_LEN] = { 's', '1' };
	static struct buf a, b;
	static const uint8_t junk[64] = { 0xff };
	struct svmig_stats st;
	int ra, rb, rc;

	seal_pair(s1, src, 0, &a, &b);
	tap_ok(first_page_gen(&a, s1, 0) == 1 && first_page_gen(&b, s1, 1) == 2,
	       "the page's second copy, on another channel, carries generation 2 (%u, %u)",
	       first_page_gen(&a, s1, 0), first_page_gen(&b, s1, 1));
	memset(dst, 0xee, NPAGES * PG);
	ra = receiver(0, s1, dst);
	rb = receiver(1, s1, dst);
	rc = receiver(2, s1, dst);	/* a third channel, still receiving */
	/* The connection of channel 0 is held back: channel 1 arrives first. */
	if (feed(rb, &b) || feed(ra, &a))
		tap_bail("feeding the receivers");
	tap_ok(page_is(dst, 0x22), "the older copy delayed on channel 0 did not overwrite the newer");
	svmig_get_stats(ra, &st);
	tap_ok(st.stale_pages == 1 && st.pages == 0,
	       "channel 0 dropped it as stale (stale %llu, applied %llu)",
	       (unsigned long long)st.stale_pages, (unsigned long long)st.pages);
	tap_ok(st.verdict == SVMIG_VERDICT_PENDING,
	       "GET_STATS on channel 0 reports the session's verdict: pending (%u)", st.verdict);
	tap_errno(svmig_verify(ra), -EINPROGRESS,
		  "VERIFY waits for every channel of the session (channel 2 pending)");
	tap_ok(write(rc, junk, sizeof(junk)) < 0, "channel 2 refuses what it gets");
	tap_errno(svmig_verify(ra), -EBADMSG, "one failed channel fails the session: VERIFY on 0");
	tap_errno(svmig_verify(rb), -EBADMSG, "and on 1");
	close(ra);
	close(rb);
	close(rc);
}

/* 4 checks: every channel verified: the session verifies, newest page held. */
static void test_session_verifies(uint8_t *src, uint8_t *dst)
{
	static const uint8_t s2[SVMIG_SESSION_ID_LEN] = { 's', '2' };
	static struct buf a, b;
	int ra, rb;

	seal_pair(s2, src, 0, &a, &b);
	memset(dst, 0xee, NPAGES * PG);
	ra = receiver(0, s2, dst);
	rb = receiver(1, s2, dst);
	if (feed(rb, &b) || feed(ra, &a))
		tap_bail("feeding the receivers");
	tap_errno(svmig_verify(ra), 0, "all channels verified: VERIFY on channel 0 succeeds");
	tap_errno(svmig_verify(rb), 0, "and on channel 1");
	tap_ok(page_is(dst, 0x22), "guest memory holds the newest copy");
	close(ra);
	close(rb);
}

/*
 * 3 checks: the receiver opened only channel 1 of the sender's two.  Its
 * MANIFEST matches what channel 1 carried, but the sums say that a part of
 * the session is missing: the page's first copy, sealed on channel 0.
 */
static void test_missing_channel(uint8_t *src, uint8_t *dst)
{
	static const uint8_t s4[SVMIG_SESSION_ID_LEN] = { 's', '4' };
	static struct buf a, b;
	int rb;

	seal_pair(s4, src, 0, &a, &b);
	memset(dst, 0xee, NPAGES * PG);
	rb = receiver(1, s4, dst);
	tap_errno(feed(rb, &b), 0, "channel 1 alone: every record accepted");
	tap_errno(svmig_verify(rb), -EBADMSG,
		  "a sender's channel the receiver never opened: the session's sums differ");
	close(rb);
}

/*
 * 5 checks: the sender's channels send pages of their own, so the sums of
 * the channel the receiver opened add up; the MANIFEST's channel count
 * still says one is missing.  And a receiving channel closed once it
 * verified keeps its part in the session's verdict.
 */
static void test_missing_disjoint(uint8_t *src, uint8_t *dst)
{
	static const uint8_t s5[SVMIG_SESSION_ID_LEN] = { 's', '5' };
	static const uint8_t s6[SVMIG_SESSION_ID_LEN] = { 's', '6' };
	static struct buf a, b;
	int ra, rb;

	seal_pair(s5, src, 1, &a, &b);
	memset(dst, 0xee, NPAGES * PG);
	ra = receiver(0, s5, dst);
	tap_errno(feed(ra, &a), 0, "channel 0 alone, pages of its own: every record accepted");
	tap_errno(svmig_verify(ra), -EBADMSG,
		  "its MANIFEST counts two channels, one joined here: VERIFY refuses");
	close(ra);

	seal_pair(s6, src, 1, &a, &b);
	memset(dst, 0xee, NPAGES * PG);
	ra = receiver(0, s6, dst);
	rb = receiver(1, s6, dst);
	if (feed(ra, &a) || feed(rb, &b))
		tap_bail("feeding the receivers");
	close(rb);
	tap_errno(svmig_verify(ra), 0,
		  "both channels: verified, channel 1 closed after its MANIFEST still counted");
	close(ra);
}

/*
 * 4 checks: two members failed, each its own way: channel 0 refuses junk
 * (first), channel 1's stream is cut (ENODATA).  Each reports its own
 * failure, the verdict agreeing with its error (t_fuzz on the debug
 * kernel saw channel 1 report channel 0's FAILED).
 */
static void test_own_failure(uint8_t *src, uint8_t *dst)
{
	static const uint8_t s7[SVMIG_SESSION_ID_LEN] = { 's', '7' };
	static const uint8_t junk[64] = { 0xff };
	static struct buf a, b;
	struct svmig_stats st;
	int ra, rb, sv[2];
	uint32_t n;

	seal_pair(s7, src, 0, &a, &b);
	ra = receiver(0, s7, dst);
	rb = receiver(1, s7, dst);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || svmig_attach_socket(rb, sv[1]))
		tap_bail("socketpair");
	if (write(ra, junk, sizeof(junk)) >= 0)
		tap_bail("junk accepted");
	if (write(sv[0], b.p, SVMIG_HELLO_REC_LEN) != SVMIG_HELLO_REC_LEN)
		tap_bail("write");
	close(sv[0]);
	tap_errno(svmig_recv(rb, 0, &n), -ENODATA, "channel 1's stream cut after its HELLO: ENODATA");
	svmig_get_stats(rb, &st);
	tap_ok(st.verdict == SVMIG_VERDICT_TRUNCATED && st.error == ENODATA,
	       "channel 1 reports its own failure: TRUNCATED, error ENODATA (%u, %d)", st.verdict,
	       st.error);
	tap_errno(svmig_verify(rb), -ENODATA, "VERIFY on channel 1: ENODATA");
	close(sv[1]);
	close(ra);
	close(rb);
}

/* 4 checks: who may join. */
static void test_join(uint8_t *dst)
{
	static const uint8_t s3[SVMIG_SESSION_ID_LEN] = { 's', '3' };
	int a, b, fd;

	a = receiver(0, s3, dst);
	tap_errno(open_member(SVMIG_ROLE_RECEIVER, 1, s3, other_secret), -EKEYREJECTED,
		  "joining with another secret: EKEYREJECTED");
	tap_errno(open_member(SVMIG_ROLE_RECEIVER, 0, s3, secret), -EEXIST,
		  "joining with a channel number already taken: EEXIST");
	b = open_member(SVMIG_ROLE_RECEIVER, 1, s3, secret);
	tap_errno(b < 0 ? b : svmig_add_region(b, SLOT, 0, dst, 2 * PG), -EINVAL,
		  "a member's slot of another size than the session's: EINVAL");
	close(a);
	if (b >= 0)
		close(b);
	fd = open_member(SVMIG_ROLE_RECEIVER, 0, s3, other_secret);
	tap_ok(fd >= 0, "once every member closed, the session id starts afresh (%d)", fd);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	uint8_t *src, *dst;

	tap_plan(9 + 4 + 3 + 5 + 4 + 4);
	src = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED)
		tap_bail("mmap");
	test_delayed_copy(src, dst);
	test_session_verifies(src, dst);
	test_missing_channel(src, dst);
	test_missing_disjoint(src, dst);
	test_own_failure(src, dst);
	test_join(dst);
	return tap_done();
}
