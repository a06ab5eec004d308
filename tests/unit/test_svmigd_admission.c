// SPDX-License-Identifier: GPL-2.0
/*
 * Admission that counts what already runs (userspace/svmigd/admission.c):
 * a QEMU's size from its QMP answers (scripted, over a socketpair and a
 * real UNIX socket in a QMP directory), the arithmetic of the limits
 * (overflow included), the migrations arriving (reserved, released) and
 * ADMIT's whole check refusing what would exceed the host's or the
 * policy's limit together with what runs and arrives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "admission.h"
#include "tmpdir.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, " \
		 "\"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r\n"
#define OK "{\"return\": {}}\r\n"
#define STATUS(s) "{\"return\": {\"status\": \"" s "\", \"running\": true}}\r\n"
#define SIZES(base, plugged, cpus) \
	"{\"return\": {\"base-memory\": " base ", \"plugged-memory\": " \
	plugged "}}\r\n{\"return\": " cpus "}\r\n"
/* 1 GiB + 512 MiB plugged, 2 vCPUs */
#define RUNNING GREETING OK STATUS("running") \
	SIZES("1073741824", "536870912", "[{}, {}]")

static struct qmp *scripted(const char *script, int *peer)
{
	size_t len = strlen(script), off = 0;
	struct qmp *q = NULL;
	char err[256];
	int fds[2];
	ssize_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    fds), 0);
	while (off < len) {
		n = write(fds[1], script + off, len - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	shutdown(fds[1], SHUT_WR);
	*peer = fds[1];
	assert_int_equal(qmp_open_fd(fds[0], 2000, &q, err, sizeof(err)), 0);
	return q;
}

static int qemu_size(const char *script, uint64_t *mem, uint64_t *cpus,
		     bool *incoming)
{
	char err[256];
	int peer, ret;
	struct qmp *q = scripted(script, &peer);

	ret = svmigd_usage_qemu(q, mem, cpus, incoming, err, sizeof(err));
	qmp_close(q);
	close(peer);
	return ret;
}

static void test_qemu(void **state)
{
	uint64_t mem, cpus;
	bool incoming;

	(void)state;
	assert_int_equal(qemu_size(RUNNING, &mem, &cpus, &incoming), 0);
	assert_int_equal(mem, 1536);
	assert_int_equal(cpus, 2);
	assert_false(incoming);
	/* a started MiB counts whole; paused VMs count too */
	assert_int_equal(qemu_size(GREETING OK STATUS("paused")
				   SIZES("1048577", "0", "[{}]"), &mem, &cpus,
				   &incoming), 0);
	assert_int_equal(mem, 2);
	/* an idle -incoming QEMU: counted from its request, not here */
	assert_int_equal(qemu_size(GREETING OK STATUS("inmigrate"), &mem,
				   &cpus, &incoming), 0);
	assert_true(incoming);
	assert_int_equal(mem, 0);
	/* impossible figures are refused, not counted as zero */
	assert_int_equal(qemu_size(GREETING OK STATUS("running")
				   SIZES("0", "0", "[{}]"), &mem, &cpus,
				   &incoming), -EPROTO);
	assert_int_equal(qemu_size(GREETING OK STATUS("running")
				   SIZES("9223372036854775807", "1", "[{}]"),
				   &mem, &cpus, &incoming), -EPROTO);
	assert_int_equal(qemu_size(GREETING OK STATUS("running")
				   SIZES("1048576", "0", "[]"), &mem, &cpus,
				   &incoming), -EPROTO);
}

static void test_fits(void **state)
{
	struct svmigd_usage u = { .mem_mib = 1536, .vcpus = 2, .vms = 1 };
	char d[256];

	(void)state;
	assert_null(svmigd_admit_fits(512, 2, &u, 2048, 4, "this host's limit", d,
				      sizeof(d)));
	assert_string_equal(svmigd_admit_fits(513, 1, &u, 2048, 4,
					      "this host's limit", d, sizeof(d)),
			    "memory");
	assert_string_equal(d, "vm_mem_mib 513 + 1536 MiB of 1 VMs running "
			    "and 0 arriving here exceeds this host's limit of "
			    "2048 MiB");
	assert_string_equal(svmigd_admit_fits(512, 3, &u, 2048, 4, "x", d,
					      sizeof(d)), "vcpus");
	/* no overflow: what runs alone may exceed the limit already */
	u.mem_mib = UINT64_MAX - 1;
	assert_string_equal(svmigd_admit_fits(4, 1, &u, 2048, 4, "x", d,
					      sizeof(d)), "memory");
	u.mem_mib = 0;
	assert_string_equal(svmigd_admit_fits(UINT64_MAX, 1, &u, 2048, 4, "x",
					      d, sizeof(d)), "memory");
	u.skipped = 2;
	assert_string_equal(svmigd_admit_fits(4096, 1, &u, 2048, 4, "x", d,
					      sizeof(d)), "memory");
	assert_non_null(strstr(d, "2 QMP sockets did not answer"));
}

/* A QEMU behind a UNIX socket: answers one client with @script. */
struct server {
	int fd;
	const char *script, *path;
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	char buf[512];
	int c = accept(s->fd, NULL, NULL);

	if (c >= 0) {
		/* the client may be gone already (poke): no SIGPIPE */
		if (send(c, s->script, strlen(s->script), MSG_NOSIGNAL) < 0 &&
		    errno != EPIPE && errno != ECONNRESET)
			perror("send");
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, const char *path,
			 const char *script)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 1), 0);
	s->script = script;
	s->path = path;
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void poke(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	assert_true(strlen(path) < sizeof(a.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memcpy(a.sun_path, path, strlen(path) + 1);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
	unlink(s->path);
}

static void test_dir_and_admit(void **state)
{
	char dir[] = "/tmp/test_svmigd_admission.XXXXXX", p[3][96], d[256];
	struct svmigd_usage u = { 0 };
	struct server s[2];
	const char *why;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p[0], sizeof(p[0]), "%s/web-0.qmp", dir);
	snprintf(p[1], sizeof(p[1]), "%s/web-1.qmp", dir);
	snprintf(p[2], sizeof(p[2]), "%s/stale.qmp", dir);
	server_start(&s[0], p[0], RUNNING);
	server_start(&s[1], p[1], RUNNING);
	f = fopen(p[2], "w");	/* not a socket: skipped, said */
	assert_non_null(f);
	fclose(f);
	/* web-1 is the VM asking: not counted against itself */
	assert_int_equal(svmigd_usage_dir(dir, "web-1", &u, d, sizeof(d)), 0);
	assert_int_equal(u.vms, 1);
	assert_int_equal(u.mem_mib, 1536);
	assert_int_equal(u.vcpus, 2);
	assert_int_equal(u.skipped, 1);
	server_stop(&s[0]);
	poke(p[1]);	/* never asked: its accept returns */
	server_stop(&s[1]);
	unlink(p[0]);
	unlink(p[1]);

	/* one VM of 1536 MiB runs: 1024 more do not fit in 2048 */
	server_start(&s[0], p[0], RUNNING);
	why = svmigd_admit_request(dir, "web-2", 1024, 1, 2048, 8, 4096, 8,
				   "host-b", d, sizeof(d));
	server_stop(&s[0]);
	assert_non_null(why);
	assert_string_equal(why, "memory");
	assert_non_null(strstr(d, "vm_mem_mib 1024 + 1536 MiB of 1 VMs running"));
	/* 256 fit, and are reserved while they arrive */
	server_start(&s[0], p[0], RUNNING);
	assert_null(svmigd_admit_request(dir, "web-2", 256, 1, 2048, 8, 4096,
					 8, "host-b", d, sizeof(d)));
	server_stop(&s[0]);
	/* so 300 more do not: the policy's limit counts them too */
	server_start(&s[0], p[0], RUNNING);
	why = svmigd_admit_request(dir, "web-3", 300, 1, 4096, 8, 2048, 8,
				   "host-b", d, sizeof(d));
	server_stop(&s[0]);
	assert_non_null(why);
	assert_string_equal(why, "policy");
	assert_non_null(strstr(d, "of 1 VMs running and 1 arriving here "
			       "exceeds the policy's limit for host-b of 2048 MiB"));
	/* released, they fit again */
	svmigd_admit_release("web-2");
	server_start(&s[0], p[0], RUNNING);
	assert_null(svmigd_admit_request(dir, "web-3", 300, 1, 4096, 8, 2048,
					 8, "host-b", d, sizeof(d)));
	server_stop(&s[0]);
	svmigd_admit_release("web-3");
	u = (struct svmigd_usage){ 0 };
	svmigd_admit_arriving(NULL, &u);
	assert_int_equal(u.arriving, 0);
	unlink(p[0]);
	unlink(p[1]);
	assert_int_equal(test_rmdir(dir), 0);
}

static void test_arriving(void **state)
{
	struct svmigd_usage u = { 0 };
	char name[32];
	int i;

	(void)state;
	assert_int_equal(svmigd_admit_reserve("a", 100, 1), 0);
	assert_int_equal(svmigd_admit_reserve("b", 200, 2), 0);
	svmigd_admit_arriving("a", &u);
	assert_int_equal(u.arriving, 1);
	assert_int_equal(u.mem_mib, 200);
	svmigd_admit_release("a");
	svmigd_admit_release("b");
	svmigd_admit_release("never");
	for (i = 0; i < SVMIGD_ADMIT_ARRIVING; i++) {
		snprintf(name, sizeof(name), "vm%d", i);
		assert_int_equal(svmigd_admit_reserve(name, 1, 1), 0);
	}
	assert_int_equal(svmigd_admit_reserve("one-more", 1, 1), -ENOSPC);
	for (i = 0; i < SVMIGD_ADMIT_ARRIVING; i++) {
		snprintf(name, sizeof(name), "vm%d", i);
		svmigd_admit_release(name);
	}
	u = (struct svmigd_usage){ 0 };
	svmigd_admit_arriving(NULL, &u);
	assert_int_equal(u.arriving, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_dir_and_admit),
		cmocka_unit_test(test_arriving),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
