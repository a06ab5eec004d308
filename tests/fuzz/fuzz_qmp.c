// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: QMP replies, as svmigd reads them.  The input is
 * everything "QEMU" says on its QMP socket (one end of a socketpair, then
 * end of file), delivered in packets of N bytes, N being the input's first
 * byte (so that messages straddle reads; a SOCK_SEQPACKET pair hands out
 * one packet per read; at most 32 packets), 0 meaning all at once: the
 * client (userspace/lib/qmp.c) reads the greeting and
 * answers qmp_capabilities, then svmigd's own consumers of the replies run
 * on it (mig.c is compiled into this harness to reach them): the VM's
 * status, the size check of its memory and vCPUs against a request, getfd
 * with a descriptor and a migrate command, query-migrate's progress
 * figures, and the events kept on the way.
 *
 * Invariants: a client that failed is unusable and says why; an event
 * index past the count gives NULL.
 */
#include "../../userspace/svmigd/mig.c"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>

#include "fuzz_util.h"

#define QMP_FUZZ_MAX	(64 * 1024)	/* fits the socket's buffer */

static int nullfd = -1;

struct feeder {
	int fd;
	const uint8_t *data;
	size_t size, chunk;
};

/* Sends the input in packets of feed->chunk bytes, then the end. */
static void *feeder_main(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0;
	ssize_t w;

	while (off < f->size) {
		w = send(f->fd, f->data + off, f->size - off < f->chunk ?
			 f->size - off : f->chunk, MSG_NOSIGNAL);
		if (w <= 0)
			break;	/* the client hung up */
		off += (size_t)w;
	}
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

static void run(struct mig *m)
{
	struct svmigd_request req = {
		.vm = "fuzz", .vm_mem_mib = 1024, .vm_vcpus = 2, .time = 1,
	};
	struct json_object *info;
	char st[64];
	size_t i, n;

	vm_status(m, st, sizeof(st));
	vm_size_check(m, &req);
	pass_fd_migrate(m, "migrate");
	if (!qmp_execute(m->q, "query-migrate", NULL, &info)) {
		progress_ram(m, jstr(info, "status"), info);
		json_object_put(info);
	}
	n = qmp_event_count(m->q);
	FZ_CHECK(n <= QMP_EVENT_KEEP, "%zu events kept", n);
	for (i = 0; i < n; i++)
		FZ_CHECK(qmp_event(m->q, i) &&
			 json_object_is_type(qmp_event(m->q, i),
					     json_type_object),
			 "event %zu", i);
	FZ_CHECK(!qmp_event(m->q, n), "event past the count");
	qmp_events_clear(m->q);
	FZ_CHECK(!qmp_event_count(m->q), "events left after clear");
	if (!qmp_usable(m->q))
		FZ_CHECK(qmp_strerror(m->q)[0] ||
			 qmp_execute(m->q, "cont", NULL, NULL) == -EPIPE,
			 "unusable without a reason");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon d = { .timeout_s = 1 };
	struct mig m = { .d = &d, .sv = -1, .sock = -1, .client = -1,
			 .conn_fd = -1 };
	int fds[2], buf = 4 * QMP_FUZZ_MAX;
	char err[256];
	struct feeder feed;
	pthread_t thread;
	size_t chunk;
	int ret;

	if (!size || size > QMP_FUZZ_MAX)
		return 0;
	chunk = data[0] ? data[0] : QMP_FUZZ_MAX;
	data++;
	size--;
	/* at most 32 packets: each costs the two threads a switch */
	if (chunk < (size + 31) / 32)
		chunk = (size + 31) / 32;
	if (nullfd < 0)
		nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	FZ_CHECK(nullfd >= 0, "/dev/null");
	FZ_CHECK(!socketpair(AF_UNIX, (chunk < QMP_FUZZ_MAX ? SOCK_SEQPACKET :
					 SOCK_STREAM) | SOCK_CLOEXEC, 0, fds),
		 "socketpair");
	setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	/* "QEMU" talks from its own thread, as fast as the client reads */
	feed = (struct feeder){ .fd = fds[1], .data = data, .size = size,
				.chunk = chunk };
	FZ_CHECK(!pthread_create(&thread, NULL, feeder_main, &feed),
		 "pthread_create");

	ret = qmp_open_fd(fds[0], 2000, &m.q, err, sizeof(err));
	if (getenv("SVMIG_FUZZ_DEBUG"))
		fprintf(stderr, "qmp_open_fd: %d %s\n", ret, ret ? err : "");
	if (ret) {
		FZ_CHECK(!m.q && err[0], "open failed (%d) without words", ret);
	} else {
		m.sv = nullfd;
		run(&m);
		qmp_close(m.q);
	}
	/* the client closed its end: a feeder still sending gets EPIPE */
	pthread_join(thread, NULL);
	close(fds[1]);
	return 0;
}
