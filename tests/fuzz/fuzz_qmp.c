// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: QMP replies, as svmigd reads them.  The input is
 * everything "QEMU" says on its QMP socket (one end of a socketpair, then
 * end of file): the client (userspace/lib/qmp.c) reads the greeting and
 * answers qmp_capabilities, then svmigd's own consumers of the replies run
 * on it (daemon.c is compiled into this harness to reach them): the VM's
 * status, the size check of its memory and vCPUs against a request, getfd
 * with a descriptor and a migrate command, query-migrate's progress
 * figures, and the events kept on the way.
 *
 * Invariants: a client that failed is unusable and says why; an event
 * index past the count gives NULL.
 */
#include "../../userspace/svmigd/daemon.c"

#include <fcntl.h>
#include <sys/socket.h>

#include "fuzz_util.h"

#define QMP_FUZZ_MAX	(64 * 1024)	/* fits the socket's buffer */

static int nullfd = -1;

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
	size_t off = 0;
	ssize_t w;
	int ret;

	if (size > QMP_FUZZ_MAX)
		return 0;
	if (nullfd < 0)
		nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	FZ_CHECK(nullfd >= 0, "/dev/null");
	FZ_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds),
		 "socketpair");
	setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	while (off < size) {
		w = write(fds[1], data + off, size - off);
		FZ_CHECK(w > 0, "writing the input to the socket");
		off += (size_t)w;
	}
	shutdown(fds[1], SHUT_WR);

	ret = qmp_open_fd(fds[0], 2000, &m.q, err, sizeof(err));
	if (ret) {
		FZ_CHECK(!m.q && err[0], "open failed (%d) without words", ret);
	} else {
		m.sv = nullfd;
		run(&m);
		qmp_close(m.q);
	}
	close(fds[1]);
	return 0;
}
