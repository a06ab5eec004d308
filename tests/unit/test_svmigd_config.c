// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd.conf (userspace/svmigd/config.c): a full file parses into every
 * field; each kind of mistake is refused with the file and the line that
 * holds it (or the missing key), the first mistake winning.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static const char *const base[] = {
	/*  1 */ "# svmigd.conf",
	/*  2 */ "[host]",
	/*  3 */ "name = host-a",
	/*  4 */ "cert = /etc/svmigd/host.pem",
	/*  5 */ "key = /etc/svmigd/host.key",
	/*  6 */ "",
	/*  7 */ "[trust]",
	/*  8 */ "anchors = /etc/svmigd/ca-a.pem /etc/svmigd/ca-b.pem",
	/*  9 */ "anchors = /etc/svmigd/ca-c.pem",
	/* 10 */ "",
	/* 11 */ "[policy]",
	/* 12 */ "file = /etc/svmigd/policy.json",
	/* 13 */ "signature = /etc/svmigd/policy.json.sig",
	/* 14 */ "authority_cert = /etc/svmigd/authority.pem",
	/* 15 */ "",
	/* 16 */ "[listen]",
	/* 17 */ "control = 0.0.0.0:7470",
	/* 18 */ "data = [::]:7471",
	/* 19 */ "",
	/* 20 */ "[tpm]",
	/* 21 */ "tcti = swtpm:port=2321",
	/* 22 */ "authority_nv = 0x01500016",
	/* 23 */ "[limits]",
	/* 24 */ "max_mem_mib = 65536",
	/* 25 */ "max_vcpus = 32 ; inline comment",
	/* 26 */ "",
	/* 27 */ "[paths]",
	/* 28 */ "state_dir = /var/lib/svmigd",
	/* 29 */ "audit_log = /var/log/svmigd/audit.log",
};

#define N_BASE (sizeof(base) / sizeof(base[0]))

struct t {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	strcpy(t->dir, "/tmp/test_svmigd_config.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/svmigd.conf", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	unlink(t->path);
	assert_int_equal(rmdir(t->dir), 0);
	free(t);
	return 0;
}

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/*
 * The base file with line @line (from 1) replaced by @repl (NULL: deleted,
 * "\x01..." inserted before it).  Returns its length in @buf.
 */
static size_t build(char *buf, size_t size, int line, const char *repl)
{
	size_t i, len = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < N_BASE; i++) {
		const char *l = base[i];

		if ((int)i + 1 == line) {
			if (repl && repl[0] == '\x01') {
				n = snprintf(buf + len, size - len, "%s\n", repl + 1);
				assert_true(n > 0 && (size_t)n < size - len);
				len += (size_t)n;
			} else {
				l = repl;
			}
		}
		if (!l)
			continue;
		n = snprintf(buf + len, size - len, "%s\n", l);
		assert_true(n > 0 && (size_t)n < size - len);
		len += (size_t)n;
	}
	return len;
}

static void test_good(void **state)
{
	struct t *t = *state;
	struct svmigd_config c;
	char buf[4096], err[512] = "";
	size_t len = build(buf, sizeof(buf), 0, NULL);

	write_text(t->path, buf, len);
	assert_int_equal(svmigd_config_load(&c, t->path, err, sizeof(err)), 0);
	assert_string_equal(c.host_name, "host-a");
	assert_string_equal(c.host_cert, "/etc/svmigd/host.pem");
	assert_string_equal(c.host_key, "/etc/svmigd/host.key");
	assert_int_equal(c.n_anchors, 3);
	assert_string_equal(c.anchors[0], "/etc/svmigd/ca-a.pem");
	assert_string_equal(c.anchors[1], "/etc/svmigd/ca-b.pem");
	assert_string_equal(c.anchors[2], "/etc/svmigd/ca-c.pem");
	assert_string_equal(c.policy_file, "/etc/svmigd/policy.json");
	assert_string_equal(c.policy_signature, "/etc/svmigd/policy.json.sig");
	assert_string_equal(c.policy_authority_cert, "/etc/svmigd/authority.pem");
	assert_string_equal(c.listen_control, "0.0.0.0:7470");
	assert_string_equal(c.listen_data, "[::]:7471");
	assert_string_equal(c.tpm_tcti, "swtpm:port=2321");
	assert_int_equal(c.tpm_authority_nv, 0x01500016);
	assert_int_equal(c.max_mem_mib, 65536);
	assert_int_equal(c.max_vcpus, 32);
	assert_string_equal(c.state_dir, "/var/lib/svmigd");
	assert_string_equal(c.audit_log, "/var/log/svmigd/audit.log");
	svmigd_config_free(&c);
	assert_null(c.host_name);
	assert_int_equal(c.n_anchors, 0);
}

/* No [tpm], no audit_log, the largest vCPU count, continuation lines. */
static void test_defaults(void **state)
{
	static const char text[] =
		"[host]\nname=h_1.example\ncert=c\nkey=k\n"
		"[trust]\nanchors = a\n  b c\n"
		"[policy]\nfile=p\nsignature=s\nauthority_cert=a\n"
		"[listen]\ncontrol=localhost:1\ndata=10.0.0.1:65535\n"
		"[limits]\nmax_mem_mib=18446744073709551615\nmax_vcpus=4294967295\n"
		"[paths]\nstate_dir=/var/lib/x\n";
	struct t *t = *state;
	struct svmigd_config c;
	char err[512] = "";

	write_text(t->path, text, strlen(text));
	assert_int_equal(svmigd_config_load(&c, t->path, err, sizeof(err)), 0);
	assert_string_equal(c.host_name, "h_1.example");
	assert_int_equal(c.n_anchors, 3);
	assert_string_equal(c.anchors[2], "c");
	assert_string_equal(c.tpm_tcti, SVMIGD_DEFAULT_TCTI);
	assert_int_equal(c.tpm_authority_nv, 0);
	assert_string_equal(c.audit_log, "/var/lib/x/audit.log");
	assert_true(c.max_mem_mib == UINT64_MAX);
	assert_int_equal(c.max_vcpus, UINT32_MAX);
	svmigd_config_free(&c);
}

struct bad {
	int line;		/* of the base file, changed */
	const char *repl;	/* NULL: deleted; "\x01...": inserted */
	const char *want;	/* in the error, after "svmigd.conf" */
};

static const struct bad bads[] = {
	{ 3, "nam = host-a", ":3: unknown key \"nam\" in [host]" },
	{ 3, "Name = host-a", ":3: unknown key \"Name\" in [host]" },
	{ 20, "[tmp]", ":21: unknown section [tmp]" },
	{ 1, "name = x", ":1: key \"name\" outside a section" },
	{ 5, "name = host-b", ":5: [host] name given twice" },
	{ 5, "  key = x", ":5: [host] cert given twice (an indented line" },
	{ 28, NULL, ": [paths] state_dir missing" },
	{ 25, NULL, ": [limits] max_vcpus missing" },
	{ 3, NULL, ": [host] name missing" },
	{ 24, "max_mem_mib = 12x",
	  ":24: [limits] max_mem_mib: \"12x\" is not a positive integer" },
	{ 24, "max_mem_mib = 0", ":24: [limits] max_mem_mib: \"0\" is not" },
	{ 24, "max_mem_mib = -1", ":24: [limits] max_mem_mib" },
	{ 24, "max_mem_mib = +1", ":24: [limits] max_mem_mib" },
	{ 24, "max_mem_mib = 0x10", ":24: [limits] max_mem_mib" },
	{ 24, "max_mem_mib = 1 2", ":24: [limits] max_mem_mib" },
	{ 24, "max_mem_mib = 18446744073709551616", ":24: [limits] max_mem_mib" },
	{ 25, "max_vcpus = 4294967296",
	  ":25: [limits] max_vcpus: \"4294967296\" is not a positive integer below 2^32" },
	{ 13, "signature /etc/x", ":13: syntax error" },
	{ 11, "[policy", ":11: syntax error" },
	{ 4, "cert =", ":4: [host] cert: empty value" },
	{ 3, "name = host a", ":3: [host] name: \"host a\" is not a host name" },
	{ 3, "name = host/a", ":3: [host] name" },
	{ 3, "name = a123456789a123456789a123456789a123456789a123456789a123456789a1234",
	  ":3: [host] name" },
	{ 17, "control = 7470", ":17: [listen] control: \"7470\" is not address:port" },
	{ 17, "control = host:0", ":17: [listen] control" },
	{ 17, "control = host:65536", ":17: [listen] control" },
	{ 17, "control = :7470", ":17: [listen] control" },
	{ 18, "data = [::1:7000", ":18: [listen] data" },
	{ 18, "data = []:7000", ":18: [listen] data" },
	{ 29, "\x01" "logfile = x", ":29: unknown key \"logfile\" in [paths]" },
	{ 22, "\x01" "tcti = y", ":22: [tpm] tcti given twice" },
	{ 22, "authority_nv = 0x00ffffff",
	  ":22: [tpm] authority_nv: \"0x00ffffff\" is not an NV index 0x01000000 to 0x01ffffff" },
	{ 22, "authority_nv = 0x02000000", ":22: [tpm] authority_nv" },
	{ 22, "authority_nv = 0x", ":22: [tpm] authority_nv" },
	{ 22, "authority_nv = 0x001500016", ":22: [tpm] authority_nv" },
	{ 22, "authority_nv = 0x0150001g", ":22: [tpm] authority_nv" },
	{ 22, "authority_nv = 22020118", ":22: [tpm] authority_nv" },
	{ 22, "authority_nv = 0x01500016 1", ":22: [tpm] authority_nv" },
	{ 22, "authority_nv = -0x1500016", ":22: [tpm] authority_nv" },
	{ 23, "\x01" "authority_nv = 0x01500017",
	  ":23: [tpm] authority_nv given twice" },
	{ 9, "anchors = a01 a02 a03 a04 a05 a06 a07 a08 a09 a10 a11 a12 a13 a14 "
	  "a15 a16 a17 a18 a19 a20 a21 a22 a23 a24 a25 a26 a27 a28 a29 a30 a31",
	  ":9: more than 32 trust anchors" },
};

static void test_bad(void **state)
{
	struct t *t = *state;
	struct svmigd_config c;
	char buf[4096], err[512], want[256];
	size_t i, len;
	int ret;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		len = build(buf, sizeof(buf), bads[i].line, bads[i].repl);
		write_text(t->path, buf, len);
		memset(err, 0, sizeof(err));
		ret = svmigd_config_load(&c, t->path, err, sizeof(err));
		snprintf(want, sizeof(want), "svmigd.conf%s", bads[i].want);
		if (ret != -EINVAL && ret != -E2BIG)
			fail_msg("case %zu: %d (%s)", i, ret, err);
		if (!strstr(err, want) || strncmp(err, t->path, strlen(t->path)))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, want);
		assert_null(c.host_name);
		assert_null(c.anchors);
	}
}

/* Lines that do not fit inih's buffer are refused, not split. */
static void test_long_line(void **state)
{
	struct t *t = *state;
	struct svmigd_config c;
	char buf[4096], line[400], err[512] = "";
	size_t len;

	memset(line, 'a', sizeof(line));
	memcpy(line, "file = /", 8);
	line[sizeof(line) - 1] = '\0';
	len = build(buf, sizeof(buf), 12, line);
	write_text(t->path, buf, len);
	assert_int_equal(svmigd_config_load(&c, t->path, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "svmigd.conf:12: line too long"));
}

static void test_nul(void **state)
{
	struct t *t = *state;
	struct svmigd_config c;
	char buf[4096], err[512] = "";
	size_t len = build(buf, sizeof(buf), 0, NULL);

	*strstr(buf, "ca-c") = '\0';	/* line 9 */
	write_text(t->path, buf, len);
	assert_int_equal(svmigd_config_load(&c, t->path, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "svmigd.conf:9: NUL byte"));
}

/* The first mistake is the one reported, whichever kind it is. */
static void test_first_error(void **state)
{
	static const char syntax_first[] =
		"[host]\nname = a\nbroken line\n[limits]\nbogus = 1\n";
	static const char key_first[] =
		"[host]\nbogus = 1\nname = a\nbroken line\n";
	static const char no_newline[] = "[host]\nname = a\nbogus = 1";
	struct t *t = *state;
	struct svmigd_config c;
	char err[512];

	write_text(t->path, syntax_first, strlen(syntax_first));
	assert_int_equal(svmigd_config_load(&c, t->path, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "svmigd.conf:3: syntax error"));
	write_text(t->path, key_first, strlen(key_first));
	assert_int_equal(svmigd_config_load(&c, t->path, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "svmigd.conf:2: unknown key \"bogus\""));
	write_text(t->path, no_newline, strlen(no_newline));
	assert_int_equal(svmigd_config_load(&c, t->path, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "svmigd.conf:3: unknown key \"bogus\""));
}

static void test_missing_file(void **state)
{
	struct t *t = *state;
	struct svmigd_config c;
	char err[512] = "";

	assert_int_equal(svmigd_config_load(&c, t->path, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "svmigd.conf: No such file"));
	assert_int_equal(svmigd_config_load(&c, t->dir, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
