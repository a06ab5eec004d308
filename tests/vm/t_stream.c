// SPDX-License-Identifier: GPL-2.0
/*
 * Stream mode of /dev/svmig, as QEMU's fd: migration uses it: plaintext
 * written into a sender comes out of the receiver only after it verified;
 * read/write/poll/O_NONBLOCK behave as a file channel expects; the END
 * record tells a finished stream from a cut one; and a relay between the
 * two sockets that flips, replays, swaps, drops, cuts or splices records
 * is refused with nothing unverified handed to the reader.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "libsvmig.h"
#include "tap.h"
#include "wire.h"

static const uint8_t session[SVMIG_SESSION_ID_LEN] = "svmig-stream-01";
static const uint8_t other_session[SVMIG_SESSION_ID_LEN] = "svmig-stream-02";
static const uint8_t secret[SVMIG_SECRET_LEN] = "stream mode secret, 32 bytes...";
static const uint8_t wrong_secret[SVMIG_SECRET_LEN] = "not the stream secret at all....";

#define PATTERN_LEN (200 * 1024)
static uint8_t pattern[PATTERN_LEN];

/*
 * sender fd -> socket pair A -> (relay: the test) -> socket pair B -> receiver fd
 */
struct pipeline {
	int tx, rx;
	int a_kernel, a_relay, b_relay, b_kernel;
};

static int open_channel(uint32_t role, const uint8_t *sess, const uint8_t *key)
{
	int fd = svmig_open();

	if (fd < 0 || svmig_set_key(fd, role | SVMIG_KEY_STREAM, 0, sess, key))
		tap_bail("stream channel setup");
	return fd;
}

static void pipeline_init_session(struct pipeline *p, const uint8_t *tx_session,
				  const uint8_t *rx_key)
{
	int a[2], b[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) || socketpair(AF_UNIX, SOCK_STREAM, 0, b))
		tap_bail("socketpair");
	p->a_kernel = a[0];
	p->a_relay = a[1];
	p->b_relay = b[0];
	p->b_kernel = b[1];
	p->tx = open_channel(SVMIG_ROLE_SENDER, tx_session, secret);
	p->rx = open_channel(SVMIG_ROLE_RECEIVER, session, rx_key);
	if (svmig_attach_socket(p->tx, p->a_kernel) || svmig_attach_socket(p->rx, p->b_kernel))
		tap_bail("attach");
	close(p->a_kernel);
	close(p->b_kernel);
}

static void pipeline_init(struct pipeline *p, const uint8_t *rx_key)
{
	pipeline_init_session(p, session, rx_key);
}

static void pipeline_exit(struct pipeline *p)
{
	if (p->tx >= 0)
		close(p->tx);
	close(p->rx);
	close(p->a_relay);
	if (p->b_relay >= 0)
		close(p->b_relay);
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n <= 0)
			tap_bail("write: %s", strerror(errno));
		buf += n;
		len -= n;
	}
}

static size_t read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, buf + done, len - done);
		if (n <= 0)
			break;
		done += n;
	}
	return done;
}

/* One record off the relay's side of socket pair A (blocking); its length. */
static size_t relay_take(struct pipeline *p, uint8_t *rec)
{
	const struct svmig_wire_hdr *h = (const void *)rec;
	size_t body;

	if (read_exact(p->a_relay, rec, sizeof(*h)) != sizeof(*h))
		return 0;
	body = ntohl(h->length);
	if (body > SVMIG_DATA_REC_MAX || read_exact(p->a_relay, rec + sizeof(*h), body) != body)
		tap_bail("relay: short record");
	return sizeof(*h) + body;
}

static void fill_pattern(void)
{
	size_t i;

	for (i = 0; i < PATTERN_LEN; i++)
		pattern[i] = (uint8_t)(i * 2654435761u >> 13);
}

static void test_plain_flow(void)
{
	static uint8_t got[PATTERN_LEN];
	struct svmig_stats st;
	struct pipeline p;
	struct iovec iov[3];
	uint8_t rec[SVMIG_DATA_REC_MAX];
	size_t n, len, total = 0;
	int records = 0;

	pipeline_init(&p, secret);
	/* A short write, a writev of three pieces, then a large write. */
	write_all(p.tx, pattern, 10);
	iov[0] = (struct iovec){ pattern + 10, 1000 };
	iov[1] = (struct iovec){ pattern + 1010, 4096 };
	iov[2] = (struct iovec){ pattern + 5106, 30000 };
	tap_ok(writev(p.tx, iov, 3) == 35096, "writev of three pieces accepted whole");
	write_all(p.tx, pattern + 35106, 60000);
	tap_errno(svmig_finish(p.tx), 0, "FINISH emits the END record");
	tap_ok(write(p.tx, pattern, 1) < 0 && errno == EPIPE, "write after END: EPIPE");
	while ((len = relay_take(&p, rec)) > 0) {
		write_all(p.b_relay, rec, len);
		records++;
		if (rec[1] == SVMIG_REC_END)
			break;
	}
	tap_ok(records == 1 + 1 + 3 + 4 + 1,
	       "records: HELLO, 1 for the short write, 3 for the writev, 4 for 60000 bytes, END (%d)",
	       records);
	n = read_exact(p.rx, got, sizeof(got));
	tap_ok(n == 95106 && !memcmp(got, pattern, n),
	       "receiver reads back exactly the bytes written (%zu)", n);
	tap_ok(read(p.rx, got, 1) == 0, "read after a verified END: end of file");
	tap_errno(svmig_verify(p.rx), 0, "VERIFY: the stream's end verified");
	svmig_get_stats(p.rx, &st);
	tap_ok(st.verdict == SVMIG_VERDICT_VERIFIED && st.payload_bytes == 95106 &&
	       st.auth_failures == 0 && (st.flags & SVMIG_STAT_STREAM),
	       "receiver stats: %llu payload bytes, verdict verified",
	       (unsigned long long)st.payload_bytes);
	svmig_get_stats(p.tx, &st);
	tap_ok(st.payload_bytes == 95106 && st.records == (uint64_t)records &&
	       (st.flags & SVMIG_STAT_FINISHED), "sender stats: %llu records sealed",
	       (unsigned long long)st.records);
	total = st.bytes;
	tap_ok(total > 95106 && total < 95106 + 20 * 48,
	       "overhead: %zu wire bytes for 95106 stream bytes", total);
	pipeline_exit(&p);
}

static void test_nonblocking_reader(void)
{
	struct pipeline p;
	struct pollfd pfd;
	uint8_t rec[SVMIG_DATA_REC_MAX], buf[64];
	size_t len;

	pipeline_init(&p, secret);
	fcntl(p.rx, F_SETFL, O_NONBLOCK);
	tap_ok(read(p.rx, buf, sizeof(buf)) < 0 && errno == EAGAIN,
	       "O_NONBLOCK read with nothing received: EAGAIN");
	pfd = (struct pollfd){ .fd = p.rx, .events = POLLIN };
	tap_ok(poll(&pfd, 1, 0) == 0, "poll: not readable before data");
	write_all(p.tx, pattern, 50);
	len = relay_take(&p, rec);
	write_all(p.b_relay, rec, len);		/* the HELLO */
	len = relay_take(&p, rec);
	write_all(p.b_relay, rec, 20);		/* a third of the DATA record */
	pfd.revents = 0;
	poll(&pfd, 1, 1000);
	tap_ok(read(p.rx, buf, sizeof(buf)) < 0 && errno == EAGAIN,
	       "partial record: EAGAIN, nothing unverified handed out");
	pfd.revents = 0;
	tap_ok(poll(&pfd, 1, 0) == 0, "poll: not readable while a record is incomplete");
	write_all(p.b_relay, rec + 20, len - 20);
	pfd.revents = 0;
	tap_ok(poll(&pfd, 1, 10000) == 1 && (pfd.revents & POLLIN), "poll: readable once it is whole");
	tap_ok(read(p.rx, buf, 30) == 30 && read(p.rx, buf + 30, 34) == 20 &&
	       !memcmp(buf, pattern, 50), "short reads return the record's bytes in order");
	tap_ok(read(p.rx, buf, sizeof(buf)) < 0 && errno == EAGAIN, "then EAGAIN again");
	pipeline_exit(&p);
}

/*
 * The last close of a sender that never called FINISH (a killed or
 * cancelled migration) must not look complete: no END is made up, and the
 * receiver reports the stream truncated (t_corners.c tries the rest).
 */
static void test_close_without_finish(void)
{
	struct pipeline p;
	uint8_t rec[SVMIG_DATA_REC_MAX], buf[100];
	uint8_t last_type = 0;
	size_t len;

	pipeline_init(&p, secret);
	write_all(p.tx, pattern, 100);
	close(p.tx);	/* no FINISH */
	p.tx = -1;
	while ((len = relay_take(&p, rec)) > 0) {
		last_type = rec[1];
		write_all(p.b_relay, rec, len);
	}
	shutdown(p.b_relay, SHUT_WR);
	tap_ok(last_type == SVMIG_REC_DATA, "close without FINISH: no END record was sent");
	tap_ok(read_exact(p.rx, buf, 100) == 100 && !memcmp(buf, pattern, 100),
	       "data before close arrives");
	tap_ok(read(p.rx, buf, 1) < 0 && errno == ENODATA,
	       "then read() fails with ENODATA (truncated), never EOF");
	tap_errno(svmig_verify(p.rx), -ENODATA, "VERIFY: truncated, the VM must not resume");
	pipeline_exit(&p);
}

enum attack_kind {
	FLIP_HDR, FLIP_CT, FLIP_TAG, REPLAY, SWAP, DROP, CUT, CUT_MID, SPLICE, WRONG_KEY, FORGE_END,
};

struct attack {
	const char *what;
	enum attack_kind kind;
	int want;	/* errno of the reader's read() */
};

/* Sends HELLO + 4 DATA records + END through the relay, attacking as told. */
static void run_attack(const struct attack *a)
{
	uint8_t recs[6][SVMIG_DATA_REC_MAX], got[8000], buf[16];
	size_t lens[6], n;
	struct svmig_stats st;
	struct pipeline p, other;
	int i;

	pipeline_init(&p, a->kind == WRONG_KEY ? wrong_secret : secret);
	for (i = 0; i < 4; i++)
		write_all(p.tx, pattern + i * 1000, 1000);
	svmig_finish(p.tx);
	for (i = 0; i < 6; i++)
		lens[i] = relay_take(&p, recs[i]);
	if (a->kind == SPLICE) {
		/* Same secret, another session: its seq-2 record in place of ours. */
		uint8_t skip[SVMIG_DATA_REC_MAX];

		pipeline_init_session(&other, other_session, secret);
		write_all(other.tx, pattern, 1000);
		write_all(other.tx, pattern + 1000, 1000);
		relay_take(&other, skip);
		relay_take(&other, skip);
		lens[2] = relay_take(&other, recs[2]);
		pipeline_exit(&other);
	}

	for (i = 0; i < 6; i++) {
		int idx = i;

		if (a->kind == FLIP_HDR && i == 2)
			recs[2][15] ^= 0x01;			/* seq */
		if (a->kind == FLIP_CT && i == 2)
			recs[2][16 + 500] ^= 0x80;
		if (a->kind == FLIP_TAG && i == 2)
			recs[2][lens[2] - 1] ^= 0x01;
		if (a->kind == FORGE_END && i == 5)	/* counts and tag made up */
			memset(recs[5] + 16, 0xa5, lens[5] - 16);
		if (a->kind == SWAP && (i == 2 || i == 3))
			idx = i == 2 ? 3 : 2;
		if (a->kind == DROP && i == 2)
			continue;
		if (a->kind == REPLAY && i == 3)
			idx = 2;
		if ((a->kind == CUT || a->kind == CUT_MID) && i == 5)
			break;
		if (a->kind == CUT_MID && i == 4) {
			write_all(p.b_relay, recs[4], lens[4] / 2);
			break;
		}
		write_all(p.b_relay, recs[idx], lens[idx]);
	}
	shutdown(p.b_relay, SHUT_WR);

	n = 0;
	for (;;) {
		ssize_t r = read(p.rx, got + n, sizeof(got) - n);

		if (r <= 0) {
			tap_ok(r < 0 && errno == -a->want, "%s: read fails with %s (got %zd, %s)",
			       a->what, strerror(-a->want), r, r < 0 ? strerror(errno) : "EOF");
			break;
		}
		n += r;
	}
	tap_ok(!memcmp(got, pattern, n) && n <= 4000,
	       "%s: only the verified prefix was handed out (%zu bytes)", a->what, n);
	tap_errno(svmig_verify(p.rx), a->want == -ENODATA ? -ENODATA : -EBADMSG,
		  "%s: VERIFY refuses", a->what);
	tap_ok(read(p.rx, buf, 1) < 0 && errno == EPIPE, "%s: channel stays failed", a->what);
	svmig_get_stats(p.rx, &st);
	tap_ok(st.verdict == (a->want == -ENODATA ? SVMIG_VERDICT_TRUNCATED :
			      SVMIG_VERDICT_FAILED) && st.error == -a->want,
	       "%s: verdict %u, error %s recorded", a->what, st.verdict, strerror(st.error));
	pipeline_exit(&p);
}

static void test_attacks(void)
{
	static const struct attack attacks[] = {
		{ "bit flipped in a header's seq", FLIP_HDR, -EBADMSG },
		{ "bit flipped in ciphertext", FLIP_CT, -EBADMSG },
		{ "bit flipped in a tag", FLIP_TAG, -EBADMSG },
		{ "record replayed", REPLAY, -EILSEQ },
		{ "two records swapped", SWAP, -EILSEQ },
		{ "record dropped", DROP, -EILSEQ },
		{ "stream cut before END", CUT, -ENODATA },
		{ "stream cut mid-record", CUT_MID, -ENODATA },
		{ "record spliced from another session", SPLICE, -EBADMSG },
		{ "wrong key on the receiver", WRONG_KEY, -EBADMSG },
		{ "END forged without the key", FORGE_END, -EBADMSG },
	};
	size_t i;

	for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		run_attack(&attacks[i]);
}

static void test_contract(void)
{
	struct svmig_info info;
	uint8_t mem[4096] __attribute__((aligned(4096)));
	struct svmig_ring ring;
	char c = 0;
	int fd;

	fd = svmig_open();
	svmig_get_info(fd, &info);
	tap_ok(info.features & SVMIG_FEAT_STREAM, "GET_INFO advertises stream mode");
	close(fd);

	fd = open_channel(SVMIG_ROLE_SENDER, session, secret);
	tap_ok(write(fd, &c, 1) < 0 && errno == ENOTCONN, "stream write without a socket: ENOTCONN");
	tap_errno(svmig_add_region(fd, 0, 0, mem, 4096), -EINVAL, "ADD_REGION on a stream channel: EINVAL");
	tap_errno(svmig_ring_init(fd, 8, &ring), -EINVAL, "SETUP_RING on a stream channel: EINVAL");
	tap_ok(read(fd, &c, 1) < 0 && errno == EINVAL, "read on a stream sender: EINVAL");
	close(fd);

	fd = open_channel(SVMIG_ROLE_RECEIVER, session, secret);
	tap_ok(read(fd, &c, 1) < 0 && errno == ENOTCONN, "stream read without a socket: ENOTCONN");
	tap_ok(write(fd, &c, 1) < 0 && errno == EINVAL, "write on a stream receiver: EINVAL");
	tap_errno(svmig_verify(fd), -EINPROGRESS, "VERIFY before the END: EINPROGRESS");
	close(fd);
}

/* A page-mode receiver must refuse a stream, and the other way round. */
static void test_mode_mismatch(void)
{
	uint8_t rec[SVMIG_DATA_REC_MAX], c;
	struct pipeline p;
	int page_rx;
	size_t len;

	pipeline_init(&p, secret);
	write_all(p.tx, pattern, 10);
	len = relay_take(&p, rec);
	page_rx = svmig_open();
	if (svmig_set_key(page_rx, SVMIG_ROLE_RECEIVER, 0, session, secret))
		tap_bail("page receiver");
	tap_ok(write(page_rx, rec, len) < 0 && errno == EPROTO,
	       "stream HELLO into a page-mode receiver: EPROTO");
	close(page_rx);
	write_all(p.b_relay, rec, len);
	len = relay_take(&p, rec);
	rec[1] = SVMIG_REC_PAGE;
	write_all(p.b_relay, rec, len);
	tap_ok(read(p.rx, &c, 1) < 0 && errno == EPROTO, "a PAGE record in a stream: EPROTO");
	pipeline_exit(&p);
}

/* svmig.ko's stream records equal the OpenSSL oracle's, byte for byte. */
static void test_kernel_to_oracle(void)
{
	static const size_t sizes[] = { 10, 16384, 16384, 7232 };
	static uint8_t captured[64 * 1024], mine[64 * 1024], plain[SVMIG_DATA_REC_MAX];
	const struct svmig_wire_hello *h = (const void *)(captured + SVMIG_HDR_LEN);
	struct svmig_wire_rec info;
	struct svmig_wire tx, rx;
	size_t cap = 0, len = 0, off = 0, got = 0, i;
	struct pipeline p;
	int ret = 0;

	pipeline_init(&p, secret);
	write_all(p.tx, pattern, 10);
	write_all(p.tx, pattern + 10, 40000);
	svmig_finish(p.tx);
	while ((i = relay_take(&p, captured + cap)) > 0) {
		cap += i;
		if (captured[cap - i + 1] == SVMIG_REC_END)
			break;
	}
	if (svmig_wire_init(&tx, SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM, session, 0, secret) ||
	    svmig_wire_set_salt(&tx, h->salt) ||
	    svmig_wire_set_tpm_salt(&tx, ntohl(h->flags) & SVMIG_HELLO_F_TPM_SALT))
		tap_bail("oracle sender");
	len += svmig_wire_seal_hello(&tx, mine);
	for (i = 0; i < 4; i++) {
		len += svmig_wire_seal_data(&tx, pattern + off, sizes[i], mine + len);
		off += sizes[i];
	}
	len += svmig_wire_seal_end(&tx, mine + len);
	tap_ok(len == cap && !memcmp(mine, captured, len),
	       "stream records of svmig.ko and the oracle are byte-identical (%zu bytes)", cap);

	if (svmig_wire_init(&rx, SVMIG_ROLE_RECEIVER | SVMIG_KEY_STREAM, session, 0, secret))
		tap_bail("oracle receiver");
	for (off = 0; off < cap && !ret; off += i) {
		i = svmig_wire_record_len(captured + off, cap - off);
		ret = svmig_wire_open_record(&rx, captured + off, i, plain, &info);
		if (!ret && info.type == SVMIG_REC_DATA) {
			ret = memcmp(plain, pattern + got, info.data_len) ? -EIO : 0;
			got += info.data_len;
		}
	}
	tap_ok(!ret && got == 40010 && rx.verdict == SVMIG_VERDICT_VERIFIED,
	       "the oracle opens the kernel's stream and verifies its END");
	svmig_wire_free(&tx);
	svmig_wire_free(&rx);
	pipeline_exit(&p);
}

/* And svmig.ko reads back what the oracle sealed. */
static void test_oracle_to_kernel(void)
{
	static uint8_t rec[SVMIG_DATA_REC_MAX], got[50000];
	uint8_t salt[SVMIG_SALT_LEN] = { 7 };
	struct svmig_wire tx;
	struct pipeline p;
	size_t n;

	pipeline_init(&p, secret);
	if (svmig_wire_init(&tx, SVMIG_ROLE_SENDER | SVMIG_KEY_STREAM, session, 0, secret) ||
	    svmig_wire_set_salt(&tx, salt))
		tap_bail("oracle sender");
	write_all(p.b_relay, rec, svmig_wire_seal_hello(&tx, rec));
	write_all(p.b_relay, rec, svmig_wire_seal_data(&tx, pattern, 1, rec));
	write_all(p.b_relay, rec, svmig_wire_seal_data(&tx, pattern + 1, 16384, rec));
	write_all(p.b_relay, rec, svmig_wire_seal_data(&tx, pattern + 16385, 777, rec));
	write_all(p.b_relay, rec, svmig_wire_seal_end(&tx, rec));
	n = read_exact(p.rx, got, sizeof(got));
	tap_ok(n == 17162 && !memcmp(got, pattern, n), "svmig.ko reads the oracle's stream (%zu bytes)", n);
	tap_errno(svmig_verify(p.rx), 0, "svmig.ko verifies the oracle's END");
	svmig_wire_free(&tx);
	pipeline_exit(&p);
}

/* The number of checks main() runs, printed first. */
#define PLAN	90

int main(void)
{
	tap_plan(PLAN);
	fill_pattern();
	test_contract();
	test_plain_flow();
	test_nonblocking_reader();
	test_close_without_finish();
	test_attacks();
	test_mode_mismatch();
	test_kernel_to_oracle();
	test_oracle_to_kernel();
	return tap_done();
}
