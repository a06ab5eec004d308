// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd's reading of QMP replies (mig.c, compiled in to reach its
 * static helpers) and qmp_open_fd(), against a scripted "QEMU" on the
 * other end of a socketpair.  Pins what tests/fuzz/fuzz_qmp found.
 */
#include "../../userspace/svmigd/mig.c"

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, " \
		 "\"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r\n"
#define OK "{\"return\": {}}\r\n"

struct fake {
	struct daemon d;
	struct mig m;
	int peer;
};

/* A client whose QEMU will have said @script, then closed its side. */
static void fake_open(struct fake *f, const char *script)
{
	size_t len = strlen(script), off = 0;
	int fds[2];
	char err[256];
	ssize_t n;

	memset(f, 0, sizeof(*f));
	f->d.timeout_s = 1;
	f->m.d = &f->d;
	f->m.sv = f->m.sock = f->m.conn_fd = f->m.client = -1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    fds), 0);
	while (off < len) {
		n = write(fds[1], script + off, len - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	shutdown(fds[1], SHUT_WR);
	f->peer = fds[1];
	assert_int_equal(qmp_open_fd(fds[0], 2000, &f->m.q, err, sizeof(err)),
			 0);
}

static void fake_close(struct fake *f)
{
	qmp_close(f->m.q);
	close(f->peer);
}

static const struct svmigd_request req = {
	.vm = "vm1", .vm_mem_mib = 1024, .vm_vcpus = 2, .time = 1,
};

#define SIZES(base, plugged, cpus) \
	GREETING OK "{\"return\": {\"base-memory\": " base \
	", \"plugged-memory\": " plugged "}}" "{\"return\": " cpus "}"

static void test_size_ok(void **state)
{
	struct fake f;

	(void)state;
	fake_open(&f, SIZES("805306368", "268435456", "[{}, {}]"));
	assert_int_equal(vm_size_check(&f.m, &req), 0);
	fake_close(&f);
}

static void test_size_over(void **state)
{
	struct fake f;

	(void)state;
	fake_open(&f, SIZES("805306368", "269484032", "[{}]"));
	assert_int_equal(vm_size_check(&f.m, &req), -1);
	assert_non_null(strstr(f.m.err, "has 1025 MiB of RAM"));
	fake_close(&f);
	fake_open(&f, SIZES("1048576", "0", "[{}, {}, {}]"));
	assert_int_equal(vm_size_check(&f.m, &req), -1);
	assert_non_null(strstr(f.m.err, "has 3 vCPUs"));
	fake_close(&f);
}

/*
 * fuzz_qmp: base + plugged memory that overflow int64 were added
 * anyway (signed overflow, undefined; UBSan aborts).  Now refused.
 */
static void test_size_overflow(void **state)
{
	struct fake f;

	(void)state;
	fake_open(&f, SIZES("9223372036854775807", "9223372036854775807",
			    "[{}]"));
	assert_int_equal(vm_size_check(&f.m, &req), -1);
	assert_non_null(strstr(f.m.err, "impossible memory size"));
	fake_close(&f);
	fake_open(&f, SIZES("4611686018427387904", "4611686018427387904",
			    "[{}]"));
	assert_int_equal(vm_size_check(&f.m, &req), -1);
	assert_non_null(strstr(f.m.err, "impossible memory size"));
	fake_close(&f);
}

static void test_open_fd_refuses(void **state)
{
	struct qmp *q = (struct qmp *)1;
	char err[256] = "";
	int fds[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(write(fds[1], OK, strlen(OK)), (ssize_t)strlen(OK));
	shutdown(fds[1], SHUT_WR);
	assert_int_equal(qmp_open_fd(fds[0], 2000, &q, err, sizeof(err)),
			 -EPROTO);
	assert_null(q);
	assert_non_null(strstr(err, "no QMP greeting"));
	/* the client closed fds[0]: the peer sees the end */
	assert_int_equal(read(fds[1], err, sizeof(err)), 0);
	close(fds[1]);
	assert_int_equal(qmp_open_fd(-1, 2000, &q, err, sizeof(err)), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_ok),
		cmocka_unit_test(test_size_over),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_open_fd_refuses),
	};

	return cmocka_run_group_tests_name("svmigd_qmp", tests, NULL, NULL);
}
