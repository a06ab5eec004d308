/* SPDX-License-Identifier: GPL-2.0 */
/*
 * journal: each side's write-ahead record of its migrations in flight,
 * so that an svmigd that died (SIGKILL, a crash, a reboot of the host's
 * control plane while QEMU lives on) leaves its successor enough to keep
 * exactly one copy of each VM running (Documentation/svmigd.rst,
 * "Handover").
 *
 * One file per VM, <dir>/<vm>.json, one JSON object:
 *   {"vm","peer","operator","session" (hex),"phase","was_running","time"}
 * written atomically (a temporary file, fsync, rename, fsync of the
 * directory): a reader sees the old entry or the new one, never half.
 *
 * Phases, each written BEFORE the step it names can happen:
 *   SVMIGD_JOURNAL_DATA    the session is established and QEMU may be
 *                          told to migrate (so it may end paused).  No
 *                          COMMIT has left this host, so the target cannot
 *                          run the VM: a successor resumes the source.
 *   SVMIGD_JOURNAL_COMMIT  the COMMIT may have left: the target may run
 *                          the VM.  A successor must not resume the source
 *                          without the target's word (in doubt).
 * The entry is removed once the outcome is settled: the source quit after
 * the target's RESUMED, or resumed after a failure, on the target's signed
 * OUTCOME, or on an operator's explicit svmigctl settle.  Nothing else
 * settles a "commit" entry: not a QMP failure, not a source VM found
 * running, not a timeout.
 *
 * The target keeps its own journal, in another directory, with one phase:
 *   SVMIGD_JOURNAL_RESUMED the target took a valid COMMIT and is about to
 *                          resume its copy: written (fsync) BEFORE the
 *                          QMP cont, so that a target that dies between the
 *                          two still answers a QUERY "resumed" (outcome.h)
 *                          and its successor resumes the VM.  Removed once
 *                          its RESUMED is in the audit log (or the resume
 *                          failed for good: the answer is then "committed",
 *                          both copies paused, for an operator).
 * Its "peer" is the source, "was_running" false.
 *
 * VM names are as the daemon accepts them for QMP sockets ([A-Za-z0-9._-],
 * not starting with '.'); anything else is refused with -EINVAL.
 * Functions return 0 or a negative errno, with a message in @err.
 */
#ifndef SVMIGD_JOURNAL_H
#define SVMIGD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"
#include "session.h"

#define SVMIGD_JOURNAL_FILE_MAX	4096	/* bytes of one entry */

enum svmigd_journal_phase {
	SVMIGD_JOURNAL_DATA,
	SVMIGD_JOURNAL_COMMIT,
	SVMIGD_JOURNAL_RESUMED,		/* the target's */
};

struct svmigd_journal_entry {
	char vm[SVMIGD_NAME_MAX + 1];
	char peer[SVMIGD_HOST_NAME_MAX + 1];
	char operator[SVMIGD_NAME_MAX + 1];
	uint8_t session[SVMIGD_SESSION_ID_LEN];
	enum svmigd_journal_phase phase;
	bool was_running;		/* the source VM ran when DATA began */
	int64_t time;			/* when this phase was written */
};

/* "data", "commit" or "resumed". */
const char *svmigd_journal_phase_name(enum svmigd_journal_phase phase);

/* True if @vm may name a journal entry (and a QMP socket). */
bool svmigd_journal_vm_ok(const char *vm);

/* Creates @dir (mode 0700) if needed, then writes or replaces @e's entry. */
int svmigd_journal_write(const char *dir, const struct svmigd_journal_entry *e,
			 char *err, size_t errlen);

/* Removes @vm's entry; none there is not an error. */
int svmigd_journal_remove(const char *dir, const char *vm, char *err,
			  size_t errlen);

/* Reads one entry file; -EBADMSG if it is not a well-formed entry. */
int svmigd_journal_read(const char *path, struct svmigd_journal_entry *e,
			char *err, size_t errlen);

/*
 * Every "*.json" entry of @dir, in name order: @fn for each well-formed
 * one, @bad (file name, why) for each other (left in place).  A missing
 * @dir holds no entries.  Stops at @fn's first non-zero return and
 * returns it.
 */
int svmigd_journal_scan(const char *dir,
			int (*fn)(void *arg, const struct svmigd_journal_entry *e),
			void (*bad)(void *arg, const char *file, const char *why),
			void *arg, char *err, size_t errlen);

#endif /* SVMIGD_JOURNAL_H */
