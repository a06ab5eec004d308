// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: the cases that time svmig.ko through its API: SUBMIT seals
 * pages of an ADD_REGION'd buffer (records sent on an attached socket, or
 * read() from /dev/svmig), RECV or write() opens the oracle's records.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define GPA		0x100000000ULL
#define RING_ENTRIES	4096U

static int kernel_channel(struct job *j, uint32_t role, uint8_t *mem)
{
	const struct bench *b = j->b;
	uint32_t flags = role | (b->o.no_tpm ? SVMIG_KEY_NO_TPM : 0);
	int fd, ret;

	fd = svmig_open();
	if (fd < 0)
		return job_fail(j, fd, "open " SVMIG_DEVICE);
	ret = svmig_set_key(fd, flags, j->channel, bench_session_id, b->secret);
	if (!ret)
		ret = svmig_add_region(fd, SLOT, GPA, mem, j->npages * PAGE);
	if (ret) {
		close(fd);
		return job_fail(j, ret, "channel %u: SET_KEY/ADD_REGION", j->channel);
	}
	return fd;
}

/* Read what the kernel sealed out of /dev/svmig (no socket); 0 at EOF. */
static int drain_fd(int fd, uint8_t *buf, size_t cap, uint64_t *bytes)
{
	ssize_t n;

	for (;;) {
		n = read(fd, buf, cap);
		if (n > 0) {
			*bytes += (uint64_t)n;
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 1 : -errno;
	}
}

static int seal_kernel(struct job *j, bool sock)
{
	struct svmig_ring ring = { 0 };
	struct helper h = { 0 };
	struct svmig_stats st;
	uint64_t bytes = 0;
	uint32_t done, n, i, c;
	int fd, sv[2] = { -1, -1 }, ret;
	size_t p;

	fd = kernel_channel(j, SVMIG_ROLE_SENDER, j->src);
	if (fd < 0) {
		job_release(j);
		return fd;
	}
	ret = svmig_ring_init(fd, RING_ENTRIES, &ring);
	if (ret) {
		job_fail(j, ret, "SETUP_RING");
		goto out;
	}
	if (sock) {
		ret = sock_pair(j->b->o.family, sv);
		if (!ret)
			ret = svmig_attach_socket(fd, sv[0]);
		if (!ret)
			ret = helper_start(&h, sv[1], false, NULL, 0, j->b->o.family);
		if (ret) {
			job_fail(j, ret, "socket");
			goto out;
		}
	}

	job_go(j);
	for (p = 0; p < j->npages && !ret; p += n) {
		n = j->npages - p < j->batch ? (uint32_t)(j->npages - p) : j->batch;
		for (i = 0; i < n; i++)
			svmig_ring_push(&ring, SLOT, p + i);
		svmig_ring_publish(&ring);
		for (done = 0; done < n && !ret; done += c) {
			c = 0;
			ret = svmig_submit(fd, 0, &c);
			if (!sock && (ret == 0 || ret == -EAGAIN)) {
				ret = drain_fd(fd, j->buf, j->buf_len, &bytes);
				ret = ret > 0 ? 0 : ret ? ret : -EPIPE;
			}
		}
	}
	if (ret) {
		job_fail(j, ret, "SUBMIT");
		goto out;
	}
	ret = svmig_finish(fd);
	if (ret) {
		job_fail(j, ret, "FINISH");
		goto out;
	}
	if (sock) {
		shutdown(sv[0], SHUT_WR);
		ret = helper_join(&h);
		bytes = h.bytes;
	} else {
		ret = drain_fd(fd, j->buf, j->buf_len, &bytes);
	}
	job_done(j);
	if (ret)
		job_fail(j, ret < 0 ? ret : -EIO, "draining the records");
	else if (bytes != page_stream_len(j->npages))
		ret = job_fail(j, -EIO, "%llu bytes of records, not %zu",
			       (unsigned long long)bytes, page_stream_len(j->npages));
	else if (!svmig_get_stats(fd, &st) && st.pages != j->npages)
		ret = job_fail(j, -EIO, "the kernel sealed %llu pages",
			       (unsigned long long)st.pages);
	if (!ret && sock && !svmig_get_stats(fd, &st) && st.bytes)
		j->s.tx_copied = 1.0 - (double)st.zerocopy_bytes / (double)st.bytes;
	if (!ret && !svmig_get_stats(fd, &st) && !j->b->aead_driver[0])
		snprintf(j->b->aead_driver, sizeof(j->b->aead_driver), "%s", st.aead_driver);
out:
	job_release(j);
	if (sv[0] >= 0)
		shutdown(sv[0], SHUT_RDWR);
	helper_join(&h);
	svmig_ring_exit(&ring);
	close(fd);
	close_pair(sv);
	return ret;
}

int seal_kernel_sock(struct job *j) { return seal_kernel(j, true); }
int seal_kernel_fd(struct job *j) { return seal_kernel(j, false); }

static int open_kernel(struct job *j, bool sock)
{
	struct helper h = { 0 };
	struct svmig_stats st;
	size_t nrec = j->npages + 2, total = 0, off = 0, n;
	int fd, sv[2] = { -1, -1 }, ret = 0;
	uint32_t got;
	ssize_t w;

	fd = kernel_channel(j, SVMIG_ROLE_RECEIVER, j->dst);
	if (fd < 0) {
		job_release(j);
		return fd;
	}
	if (sock) {
		ret = sock_pair(j->b->o.family, sv);
		if (!ret)
			ret = svmig_attach_socket(fd, sv[0]);
		if (ret) {
			job_fail(j, ret, "socket");
			goto out;
		}
	}

	job_go(j);
	if (sock) {
		ret = helper_start(&h, sv[1], true, j->stream, j->stream_len, j->b->o.family);
		while (!ret && total < nrec) {
			got = 0;
			ret = svmig_recv(fd, j->batch, &got);
			total += got;
		}
	} else {
		while (!ret && off < j->stream_len) {
			n = j->stream_len - off < j->batch * REC ? j->stream_len - off : j->batch * REC;
			w = write(fd, j->stream + off, n);
			if (w < 0 && errno != EINTR)
				ret = -errno;
			else if (w > 0)
				off += (size_t)w;
		}
	}
	if (!ret)
		ret = svmig_verify(fd);
	job_done(j);
	if (ret)
		job_fail(j, ret, sock ? "RECV/VERIFY" : "write/VERIFY");
	else if (sock && !svmig_get_stats(fd, &st) && st.records)
		j->s.rx_reads = (double)st.sock_reads / (double)st.records;
out:
	job_release(j);
	if (sv[0] >= 0)
		shutdown(sv[0], SHUT_RDWR);
	helper_join(&h);
	close(fd);
	close_pair(sv);
	return ret;
}

int open_kernel_sock(struct job *j) { return open_kernel(j, true); }
int open_kernel_fd(struct job *j) { return open_kernel(j, false); }
