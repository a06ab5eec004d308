// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: journal entries (userspace/svmigd/journal.c).  The
 * input is one entry file, read with svmigd_journal_read() through a memfd.
 * An entry it accepts must survive a round trip: svmigd_journal_write() to
 * a scratch directory, then svmigd_journal_scan() of that directory must
 * hand back exactly the same entry, and svmigd_journal_remove() must leave
 * the directory empty again.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz_common.h"
#include "journal.h"

static struct fuzz_file entry;
static char dir[64];

struct scan {
	const struct svmigd_journal_entry *want;
	int seen, bad;
};

static int scan_fn(void *arg, const struct svmigd_journal_entry *e)
{
	struct scan *s = arg;

	s->seen++;
	FUZZ_CHECK(!strcmp(e->vm, s->want->vm));
	FUZZ_CHECK(!strcmp(e->peer, s->want->peer));
	FUZZ_CHECK(!strcmp(e->operator, s->want->operator));
	FUZZ_CHECK(!memcmp(e->session, s->want->session, sizeof(e->session)));
	FUZZ_CHECK(e->phase == s->want->phase);
	FUZZ_CHECK(e->was_running == s->want->was_running);
	FUZZ_CHECK(e->time == s->want->time);
	return 0;
}

static void scan_bad(void *arg, const char *file, const char *why)
{
	struct scan *s = arg;

	fprintf(stderr, "journal scan: %s: %s\n", file, why);
	s->bad++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svmigd_journal_entry e;
	struct scan s = { .want = &e };
	char err[512];
	int ret;

	if (!dir[0]) {
		fuzz_scratch_dir(dir, sizeof(dir), "journal");
	}
	fuzz_file_put(&entry, data, size);
	ret = svmigd_journal_read(entry.path, &e, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret < 0);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
		return 0;
	}
	FUZZ_CHECK(svmigd_journal_vm_ok(e.vm));
	FUZZ_CHECK(e.phase == SVMIGD_JOURNAL_DATA ||
		   e.phase == SVMIGD_JOURNAL_COMMIT ||
		   e.phase == SVMIGD_JOURNAL_RESUMED);
	ret = svmigd_journal_write(dir, &e, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "journal write: %s\n", err);
		FUZZ_CHECK(!ret);
	}
	ret = svmigd_journal_scan(dir, scan_fn, scan_bad, &s, err, sizeof(err));
	FUZZ_CHECK(!ret && s.seen == 1 && !s.bad);
	ret = svmigd_journal_remove(dir, e.vm, err, sizeof(err));
	FUZZ_CHECK(!ret);
	s.seen = 0;
	ret = svmigd_journal_scan(dir, scan_fn, scan_bad, &s, err, sizeof(err));
	FUZZ_CHECK(!ret && !s.seen && !s.bad);
	return 0;
}
