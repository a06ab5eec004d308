/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QEMU driver of svmigd and svmig-migrate: what both ask of a QEMU
 * over QMP (qmp.h) to migrate it through svmig's fd: backend.  Functions
 * return 0 on success and qmp.h's negative errno on failure (qmp_strerror()
 * says why), unless they say otherwise.
 *
 * Link with -ljson-c.
 */
#ifndef SVMIG_QEMU_H
#define SVMIG_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct qmp;

/* @obj's string member @key, or NULL (no @obj, no such member). */
const char *svmig_json_str(struct json_object *obj, const char *key);
/* @obj's integer member @key, or @dflt (absent, or not an integer). */
long long svmig_json_int(struct json_object *obj, const char *key, long long dflt);

/* query-status: the run state ("running", "paused", "inmigrate", ...). */
int svmig_qemu_status(struct qmp *q, char *status, size_t len);
/*
 * getfd of @fd as @fdname, then @cmd ("migrate" or "migrate-incoming")
 * with the URI "fd:@fdname": QEMU sends or loads the VM through @fd.
 */
int svmig_qemu_migrate_fd(struct qmp *q, const char *cmd, const char *fdname,
			  int fd);
/* @cmd with {"uri": @uri}. */
int svmig_qemu_migrate_uri(struct qmp *q, const char *cmd, const char *uri);
/*
 * The VM's RAM (base and hot-plugged, in bytes) and vCPUs, as QEMU
 * reports them; -ERANGE if the figures are impossible (none, or a sum
 * that overflows).
 */
int svmig_qemu_vm_size(struct qmp *q, uint64_t *mem_bytes,
		       unsigned int *vcpus);

/* A query-migrate status after which nothing more happens. */
bool svmig_qemu_mig_final(const char *status);
/*
 * One query-migrate: 1 when the migration reached a final status, 0 while
 * it runs, or a negative errno.  On success *info is the reply (put it).
 */
int svmig_qemu_mig_poll(struct qmp *q, struct json_object **info);
/*
 * After a final reply that is not "completed": "QEMU reports the
 * migration failed: DESC" into @err.
 */
void svmig_qemu_mig_failure(struct json_object *info, char *err,
			    size_t errlen);
/*
 * Waits up to @timeout_ms for a migration being cancelled or failing to
 * reach a final status (polling every @poll_ms), so that what follows
 * (cont, quit) meets a QEMU that is done with it.  Returns quietly.
 */
void svmig_qemu_mig_settle(struct qmp *q, int timeout_ms, int poll_ms);

#endif /* SVMIG_QEMU_H */
