// SPDX-License-Identifier: GPL-2.0
/*
 * The source's journal (userspace/svmigd/journal.c): an entry reads back
 * as written, a phase change replaces it whole (no temporary file left),
 * removal is idempotent, names that could leave the directory are refused,
 * and a scan visits the good entries in order while naming every file that
 * is not one (garbage, a missing or extra member, a wrong type, another
 * VM's name, too big) without touching it.
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
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "tmpdir.h"

struct jt {
	char top[64];
	char dir[128];
};

static int setup(void **state)
{
	struct jt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	strcpy(t->top, "/tmp/test_svmigd_journal.XXXXXX");
	assert_non_null(mkdtemp(t->top));
	snprintf(t->dir, sizeof(t->dir), "%s/journal", t->top);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct jt *t = *state;

	test_rmdir(t->dir);
	assert_int_equal(test_rmdir(t->top), 0);
	free(t);
	return 0;
}

static struct svmigd_journal_entry entry(const char *vm,
					 enum svmigd_journal_phase phase)
{
	struct svmigd_journal_entry e = {
		.phase = phase,
		.was_running = true,
		.time = 1700000000,
	};
	size_t i;

	snprintf(e.vm, sizeof(e.vm), "%s", vm);
	snprintf(e.peer, sizeof(e.peer), "host-b");
	snprintf(e.operator, sizeof(e.operator), "alice");
	for (i = 0; i < sizeof(e.session); i++)
		e.session[i] = (uint8_t)(0xa0 + i);
	return e;
}

static void path_of(const struct jt *t, const char *name, char *out, size_t len)
{
	assert_true((size_t)snprintf(out, len, "%s/%s", t->dir, name) < len);
}

static void put_file(const struct jt *t, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	path_of(t, name, path, sizeof(path));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void assert_same(const struct svmigd_journal_entry *a,
			const struct svmigd_journal_entry *b)
{
	assert_string_equal(a->vm, b->vm);
	assert_string_equal(a->peer, b->peer);
	assert_string_equal(a->operator, b->operator);
	assert_memory_equal(a->session, b->session, sizeof(a->session));
	assert_int_equal(a->phase, b->phase);
	assert_int_equal(a->was_running, b->was_running);
	assert_int_equal(a->time, b->time);
}

/* ---- scan collector ---- */

struct seen {
	struct svmigd_journal_entry good[8];
	size_t n_good;
	char bad[8][64];
	size_t n_bad;
};

static int on_entry(void *arg, const struct svmigd_journal_entry *e)
{
	struct seen *s = arg;

	assert_true(s->n_good < 8);
	s->good[s->n_good++] = *e;
	return 0;
}

static void on_bad(void *arg, const char *file, const char *why)
{
	struct seen *s = arg;

	assert_true(s->n_bad < 8);
	assert_true(why[0] != '\0');
	snprintf(s->bad[s->n_bad++], sizeof(s->bad[0]), "%s", file);
}

static void scan(const struct jt *t, struct seen *s)
{
	char err[256];

	memset(s, 0, sizeof(*s));
	assert_int_equal(svmigd_journal_scan(t->dir, on_entry, on_bad, s, err,
					     sizeof(err)), 0);
}

/* ---- tests ---- */

static void test_roundtrip(void **state)
{
	struct jt *t = *state;
	struct svmigd_journal_entry e = entry("web-1", SVMIGD_JOURNAL_DATA), got;
	char path[256], err[256];
	struct stat st;

	assert_int_equal(svmigd_journal_write(t->dir, &e, err, sizeof(err)), 0);
	assert_int_equal(stat(t->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	path_of(t, "web-1.json", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(svmigd_journal_read(path, &got, err, sizeof(err)), 0);
	assert_same(&e, &got);

	/* the phase moves on: the entry is replaced whole */
	e.phase = SVMIGD_JOURNAL_COMMIT;
	e.was_running = false;
	e.time++;
	assert_int_equal(svmigd_journal_write(t->dir, &e, err, sizeof(err)), 0);
	assert_int_equal(svmigd_journal_read(path, &got, err, sizeof(err)), 0);
	assert_same(&e, &got);
	path_of(t, "web-1.json.tmp", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	/* the target's phase reads back as written */
	e.phase = SVMIGD_JOURNAL_RESUMED;
	assert_int_equal(svmigd_journal_write(t->dir, &e, err, sizeof(err)), 0);
	path_of(t, "web-1.json", path, sizeof(path));
	assert_int_equal(svmigd_journal_read(path, &got, err, sizeof(err)), 0);
	assert_same(&e, &got);
	assert_string_equal(svmigd_journal_phase_name(got.phase), "resumed");

	assert_int_equal(svmigd_journal_remove(t->dir, "web-1", err, sizeof(err)), 0);
	path_of(t, "web-1.json", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	/* settled twice is still settled */
	assert_int_equal(svmigd_journal_remove(t->dir, "web-1", err, sizeof(err)), 0);
}

static void test_names(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "a/b", "../x", "a b", "vm\n", "é",
	};
	struct jt *t = *state;
	struct svmigd_journal_entry e;
	char err[256], longname[SVMIGD_NAME_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(svmigd_journal_vm_ok(bad[i]));
		e = entry(bad[i], SVMIGD_JOURNAL_DATA);
		assert_int_equal(svmigd_journal_write(t->dir, &e, err, sizeof(err)),
				 -EINVAL);
		assert_int_equal(svmigd_journal_remove(t->dir, bad[i], err,
						       sizeof(err)), -EINVAL);
	}
	memset(longname, 'v', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(svmigd_journal_vm_ok(longname));
	longname[SVMIGD_NAME_MAX] = '\0';
	assert_true(svmigd_journal_vm_ok(longname));
	assert_true(svmigd_journal_vm_ok("db_7.prod-A"));
	e = entry("web-1", (enum svmigd_journal_phase)7);
	assert_int_equal(svmigd_journal_write(t->dir, &e, err, sizeof(err)), -EINVAL);
}

static void test_scan(void **state)
{
	struct jt *t = *state;
	struct svmigd_journal_entry a = entry("a-vm", SVMIGD_JOURNAL_COMMIT);
	struct svmigd_journal_entry b = entry("b-vm", SVMIGD_JOURNAL_DATA);
	char err[256], big[SVMIGD_JOURNAL_FILE_MAX + 2];
	const char *good_b;
	struct seen s;

	scan(t, &s);		/* no directory yet: nothing in flight */
	assert_int_equal(s.n_good + s.n_bad, 0);

	assert_int_equal(svmigd_journal_write(t->dir, &b, err, sizeof(err)), 0);
	assert_int_equal(svmigd_journal_write(t->dir, &a, err, sizeof(err)), 0);
	put_file(t, "garbage.json", "{\"vm\":");
	put_file(t, "other.json", "{\"vm\":\"a-vm\",\"peer\":\"host-b\",\"operator\":"
		 "\"alice\",\"session\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\","
		 "\"phase\":\"data\",\"was_running\":true,\"time\":1}");
	put_file(t, "phase.json", "{\"vm\":\"phase\",\"peer\":\"host-b\",\"operator\":"
		 "\"alice\",\"session\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\","
		 "\"phase\":\"quit\",\"was_running\":true,\"time\":1}");
	put_file(t, "extra.json", "{\"vm\":\"extra\",\"peer\":\"host-b\",\"operator\":"
		 "\"alice\",\"session\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\","
		 "\"phase\":\"data\",\"was_running\":true,\"time\":1,\"x\":0}");
	put_file(t, "type.json", "{\"vm\":\"type\",\"peer\":\"host-b\",\"operator\":"
		 "\"alice\",\"session\":\"a0a1a2a3a4a5a6a7a8a9aaabacadae\","
		 "\"phase\":\"data\",\"was_running\":1,\"time\":1}");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put_file(t, "big.json", big);
	put_file(t, "notes.txt", "not an entry");
	put_file(t, ".hidden.json", "{}");

	scan(t, &s);
	assert_int_equal(s.n_good, 2);
	assert_same(&s.good[0], &a);	/* name order */
	assert_same(&s.good[1], &b);
	assert_int_equal(s.n_bad, 6);
	good_b = "b-vm.json";
	for (size_t i = 0; i < s.n_bad; i++)
		assert_string_not_equal(s.bad[i], good_b);
	assert_string_equal(s.bad[0], "big.json");
	assert_string_equal(s.bad[1], "extra.json");
	assert_string_equal(s.bad[2], "garbage.json");
	assert_string_equal(s.bad[3], "other.json");
	assert_string_equal(s.bad[4], "phase.json");
	assert_string_equal(s.bad[5], "type.json");

	/* bad files are left for the operator; a second scan sees the same */
	scan(t, &s);
	assert_int_equal(s.n_good, 2);
	assert_int_equal(s.n_bad, 6);
}

static int stop_at_first(void *arg, const struct svmigd_journal_entry *e)
{
	(void)e;
	++*(int *)arg;
	return -ECANCELED;
}

static void test_scan_stops(void **state)
{
	struct jt *t = *state;
	struct svmigd_journal_entry a = entry("a", SVMIGD_JOURNAL_DATA);
	struct svmigd_journal_entry b = entry("b", SVMIGD_JOURNAL_DATA);
	char err[256];
	int calls = 0;

	assert_int_equal(svmigd_journal_write(t->dir, &a, err, sizeof(err)), 0);
	assert_int_equal(svmigd_journal_write(t->dir, &b, err, sizeof(err)), 0);
	assert_int_equal(svmigd_journal_scan(t->dir, stop_at_first, NULL, &calls,
					     err, sizeof(err)), -ECANCELED);
	assert_int_equal(calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_stops, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
