// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: the userspace cases the kernel is held against: records
 * sealed and opened by libsvmig's wire.c (OpenSSL), or plain records
 * memcpy'd, each over a socket or in memory.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bench.h"

/*
 * OpenSSL (wire.c) or plain memcpy, into records of the same size, then
 * write()n every TX_RECORDS records and at the end of each batch, or,
 * without a socket, left in the buffer.
 */
static int seal_user(struct job *j, bool crypto, bool sock)
{
	struct svmig_wire w;
	struct helper h = { 0 };
	uint8_t salt[SVMIG_SALT_LEN];
	size_t p, off = 0, n, i;
	int sv[2] = { -1, -1 }, ret = 0, len;

	memset(&w, 0, sizeof(w));
	if (crypto) {
		ret = svmig_wire_init(&w, SVMIG_ROLE_SENDER, bench_session_id, j->channel,
				      j->b->secret);
		if (!ret)
			ret = svmig_wire_add_region(&w, SLOT, j->npages);
		if (!ret)
			ret = RAND_bytes(salt, sizeof(salt)) == 1 ?
			      svmig_wire_set_salt(&w, salt) : -EIO;
		if (ret) {
			job_fail(j, ret, "wire.c sender");
			goto out;
		}
	}
	if (sock) {
		ret = sock_pair(j->b->o.family, sv);
		if (!ret)
			ret = helper_start(&h, sv[1], false, NULL, 0, j->b->o.family);
		if (ret) {
			job_fail(j, ret, "socket");
			goto out;
		}
	}

	job_go(j);
	if (crypto) {
		len = svmig_wire_seal_hello(&w, j->buf);
		if (len < 0) {
			ret = job_fail(j, len, "HELLO");
			goto out;
		}
		off = (size_t)len;
	}
	for (p = 0; p < j->npages; p += n) {
		n = j->npages - p < j->batch ? j->npages - p : j->batch;
		for (i = 0; i < n; i++) {
			if (crypto) {
				len = svmig_wire_seal_page(&w, SLOT, p + i,
							   j->src + (p + i) * PAGE,
							   j->buf + off);
				if (len < 0) {
					ret = job_fail(j, len, "PAGE");
					goto out;
				}
			} else {
				plain_record(j->buf + off, p + i, p + i, j->src + (p + i) * PAGE);
			}
			off += REC;
			if (off + REC > TX_RECORDS * REC || i == n - 1) {
				if (sock)
					ret = write_all(sv[0], j->buf, off);
				if (ret) {
					job_fail(j, ret, "write");
					goto out;
				}
				off = 0;
			}
		}
	}
	if (crypto) {
		len = svmig_wire_seal_manifest(&w, j->buf);
		ret = len < 0 ? len : sock ? write_all(sv[0], j->buf, (size_t)len) : 0;
		if (ret) {
			job_fail(j, ret, "MANIFEST");
			goto out;
		}
	}
	if (sock) {
		shutdown(sv[0], SHUT_WR);
		ret = helper_join(&h);
	}
	job_done(j);
	if (ret)
		job_fail(j, ret, "drain");
	else if (sock && h.bytes != (crypto ? page_stream_len(j->npages) : j->npages * REC))
		ret = job_fail(j, -EIO, "%llu bytes drained", (unsigned long long)h.bytes);
out:
	job_release(j);
	if (sv[0] >= 0)
		shutdown(sv[0], SHUT_RDWR);
	helper_join(&h);
	close_pair(sv);
	if (crypto)
		svmig_wire_free(&w);
	return ret;
}

int seal_openssl_sock(struct job *j) { return seal_user(j, true, true); }
int seal_openssl_mem(struct job *j) { return seal_user(j, true, false); }
int seal_plain_sock(struct job *j) { return seal_user(j, false, true); }
int seal_plain_mem(struct job *j) { return seal_user(j, false, false); }

/* One whole record: opened by wire.c, or a plain one copied into place. */
static int open_one(struct job *j, struct svmig_wire *w, const uint8_t *rec, size_t len)
{
	struct svmig_wire_rec info;
	uint8_t pg[PAGE];
	uint64_t page;
	int ret;

	if (!w) {
		page = rec_page(rec);
		if (len != REC || page >= j->npages)
			return -EPROTO;
		memcpy(j->dst + page * PAGE, rec + SVMIG_HDR_LEN + 16, PAGE);
		return 0;
	}
	/*
	 * The identity is encrypted: open into a page of our own, then copy
	 * it where the authenticated identity says (as the kernel does).
	 */
	ret = svmig_wire_open_record(w, rec, len, pg, &info);
	if (ret || info.type != SVMIG_REC_PAGE || info.stale)
		return ret;
	if (info.slot != SLOT || info.page >= j->npages)
		return -EPROTO;
	memcpy(j->dst + info.page * PAGE, pg, PAGE);
	return 0;
}

/* Records in buf[0, have): open the whole ones; returns the bytes used. */
static int open_records(struct job *j, struct svmig_wire *w, const uint8_t *buf,
			size_t have, size_t *used)
{
	size_t off = 0;
	int len, ret;

	while (have - off >= SVMIG_HDR_LEN) {
		len = w ? svmig_wire_record_len(buf + off, have - off) : (int)REC;
		if (len < 0)
			return len;
		if ((size_t)len > have - off)
			break;
		ret = open_one(j, w, buf + off, (size_t)len);
		if (ret)
			return ret;
		off += (size_t)len;
	}
	*used = off;
	return 0;
}

static int open_user(struct job *j, bool crypto, bool sock)
{
	struct svmig_wire w;
	struct helper h = { 0 };
	size_t have = 0, used, want;
	int sv[2] = { -1, -1 }, ret = 0;
	ssize_t n;

	memset(&w, 0, sizeof(w));
	if (crypto) {
		ret = svmig_wire_init(&w, SVMIG_ROLE_RECEIVER, bench_session_id, j->channel,
				      j->b->secret);
		if (!ret)
			ret = svmig_wire_add_region(&w, SLOT, j->npages);
		if (ret) {
			job_fail(j, ret, "wire.c receiver");
			goto out;
		}
	}
	if (sock) {
		ret = sock_pair(j->b->o.family, sv);
		if (ret) {
			job_fail(j, ret, "socket");
			goto out;
		}
	}

	job_go(j);
	if (!sock) {
		ret = open_records(j, crypto ? &w : NULL, j->stream, j->stream_len, &used);
		if (!ret && used != j->stream_len)
			ret = -EPROTO;
	} else {
		ret = helper_start(&h, sv[1], true, j->stream, j->stream_len, j->b->o.family);
		/* read() up to a batch of records at a time, as RECV takes them */
		while (!ret) {
			want = j->batch * REC;
			if (want > j->buf_len - have)
				want = j->buf_len - have;
			n = read(sv[0], j->buf + have, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ret = n < 0 ? -errno : have ? -EPROTO : 0;
				break;
			}
			have += (size_t)n;
			ret = open_records(j, crypto ? &w : NULL, j->buf, have, &used);
			memmove(j->buf, j->buf + used, have - used);
			have -= used;
		}
	}
	if (!ret && crypto && w.verdict != SVMIG_VERDICT_VERIFIED)
		ret = -EBADMSG;
	job_done(j);
	if (ret)
		job_fail(j, ret, crypto ? "wire.c open" : "plain records");
out:
	job_release(j);
	if (sv[0] >= 0)
		shutdown(sv[0], SHUT_RDWR);
	helper_join(&h);
	close_pair(sv);
	if (crypto)
		svmig_wire_free(&w);
	return ret;
}

int open_openssl_sock(struct job *j) { return open_user(j, true, true); }
int open_openssl_mem(struct job *j) { return open_user(j, true, false); }
int open_plain_sock(struct job *j) { return open_user(j, false, true); }
int open_plain_mem(struct job *j) { return open_user(j, false, false); }
