// SPDX-License-Identifier: GPL-2.0
/*
 * verdict.c: the reason a target's "failed" receipt gives, from svmig.ko's
 * counters (what the source's operator reads), and the check every reason
 * passes before it is signed or believed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "verdict.h"

static void reason_of(const struct svmig_stats *st, const char *account,
		      const char *want)
{
	char out[SVMIGD_REASON_MAX + 1];

	memset(out, 'x', sizeof(out));
	svmigd_stream_reason(st, account, out, sizeof(out));
	assert_string_equal(out, want);
	assert_true(svmigd_reason_ok(out));
}

/* The kernel's refusal wins over svmigd's account of what QEMU said. */
static void test_kernel_reasons(void **state)
{
	struct svmig_stats st = { .records = 43, .auth_failures = 1,
				  .error = EBADMSG, .verdict = SVMIG_VERDICT_FAILED };

	(void)state;
	reason_of(&st, "QEMU reports the migration failed",
		  "authentication failure after 43 records");
	st = (struct svmig_stats){ .records = 7, .replays = 2, .error = EPROTO };
	reason_of(&st, NULL, "replayed or reordered record after 7 records");
	st = (struct svmig_stats){ .records = 9, .proto_errors = 1, .error = EPROTO };
	reason_of(&st, NULL, "malformed record after 9 records");
	st = (struct svmig_stats){ .records = 380, .error = ENODATA,
				   .verdict = SVMIG_VERDICT_TRUNCATED };
	reason_of(&st, NULL, "stream truncated (no END record) after 380 records");
	st = (struct svmig_stats){ .records = 5, .verdict = SVMIG_VERDICT_MISMATCH };
	reason_of(&st, NULL, "END record does not match the stream after 5 records");
	st = (struct svmig_stats){ .records = 3, .error = ETIMEDOUT };
	reason_of(&st, NULL, "Connection timed out after 3 records");
}

/* Nothing refused by the kernel: svmigd's own account, made printable. */
static void test_account(void **state)
{
	struct svmig_stats clean = { .records = 12 };
	char long_account[400], out[SVMIGD_REASON_MAX + 1];

	(void)state;
	reason_of(&clean, "no data connection from host-a within 30 s",
		  "no data connection from host-a within 30 s");
	reason_of(NULL, "the destination QEMU is running, not waiting",
		  "the destination QEMU is running, not waiting");
	reason_of(&clean, "", "the migration failed after 12 records");
	reason_of(NULL, NULL, "the migration failed after 0 records");
	reason_of(NULL, "bad\n\x1b[31mname\x7f", "bad??[31mname?");
	memset(long_account, 'a', sizeof(long_account) - 1);
	long_account[sizeof(long_account) - 1] = '\0';
	svmigd_stream_reason(NULL, long_account, out, sizeof(out));
	assert_int_equal(strlen(out), SVMIGD_REASON_MAX);
	/* a small buffer is filled, never overrun */
	svmigd_stream_reason(NULL, long_account, out, 5);
	assert_string_equal(out, "aaaa");
}

static void test_reason_ok(void **state)
{
	char at_max[SVMIGD_REASON_MAX + 2];

	(void)state;
	assert_true(svmigd_reason_ok("authentication failure after 43 records"));
	assert_false(svmigd_reason_ok(""));
	assert_false(svmigd_reason_ok("line\nbreak"));
	assert_false(svmigd_reason_ok("caf\xc3\xa9"));
	memset(at_max, 'r', SVMIGD_REASON_MAX);
	at_max[SVMIGD_REASON_MAX] = '\0';
	assert_true(svmigd_reason_ok(at_max));
	at_max[SVMIGD_REASON_MAX] = 'r';
	at_max[SVMIGD_REASON_MAX + 1] = '\0';
	assert_false(svmigd_reason_ok(at_max));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_reasons),
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_reason_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
