// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The QEMU driver shared by svmigd and svmig-migrate (qemu.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "qemu.h"
#include "qmp.h"

const char *svmig_json_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long long svmig_json_int(struct json_object *obj, const char *key, long long dflt)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

int svmig_qemu_status(struct qmp *q, char *status, size_t len)
{
	struct json_object *ret;
	int err;

	err = qmp_execute(q, "query-status", NULL, &ret);
	if (err)
		return err;
	snprintf(status, len, "%s", svmig_json_str(ret, "status") ?: "?");
	json_object_put(ret);
	return 0;
}

/* @cmd with the one string argument @key = @val. */
static int execute_str(struct qmp *q, const char *cmd, const char *key,
		       const char *val, int fd)
{
	struct json_object *args = json_object_new_object();
	struct json_object *v = json_object_new_string(val);
	int err;

	if (!args || !v || json_object_object_add(args, key, v)) {
		json_object_put(v);
		json_object_put(args);
		return -ENOMEM;
	}
	err = fd >= 0 ? qmp_execute_fd(q, cmd, args, fd, NULL) :
			qmp_execute(q, cmd, args, NULL);
	json_object_put(args);
	return err;
}

int svmig_qemu_migrate_uri(struct qmp *q, const char *cmd, const char *uri)
{
	return execute_str(q, cmd, "uri", uri, -1);
}

int svmig_qemu_migrate_fd(struct qmp *q, const char *cmd, const char *fdname,
			  int fd)
{
	char uri[64];
	int err;

	if (fd < 0 || snprintf(uri, sizeof(uri), "fd:%s", fdname) >= (int)sizeof(uri))
		return -EINVAL;
	err = execute_str(q, "getfd", "fdname", fdname, fd);
	if (err)
		return err;
	return svmig_qemu_migrate_uri(q, cmd, uri);
}

int svmig_qemu_vm_size(struct qmp *q, uint64_t *mem_bytes, unsigned int *vcpus)
{
	struct json_object *ret;
	int64_t base, plugged;
	size_t n;
	int err;

	err = qmp_execute(q, "query-memory-size-summary", NULL, &ret);
	if (err)
		return err;
	base = svmig_json_int(ret, "base-memory", 0);
	plugged = svmig_json_int(ret, "plugged-memory", 0);
	json_object_put(ret);
	err = qmp_execute(q, "query-cpus-fast", NULL, &ret);
	if (err)
		return err;
	n = json_object_is_type(ret, json_type_array) ?
	    json_object_array_length(ret) : 0;
	json_object_put(ret);
	/* QEMU's figures are not trusted to add up without overflowing */
	if (base <= 0 || plugged < 0 || plugged > INT64_MAX - base ||
	    !n || n > UINT32_MAX)
		return -ERANGE;
	*mem_bytes = (uint64_t)(base + plugged);
	*vcpus = (unsigned int)n;
	return 0;
}

bool svmig_qemu_mig_final(const char *status)
{
	return status && (!strcmp(status, "completed") ||
			  !strcmp(status, "failed") ||
			  !strcmp(status, "cancelled"));
}

int svmig_qemu_mig_poll(struct qmp *q, struct json_object **info)
{
	int err;

	*info = NULL;
	err = qmp_execute(q, "query-migrate", NULL, info);
	if (err)
		return err;
	return svmig_qemu_mig_final(svmig_json_str(*info, "status"));
}

void svmig_qemu_mig_failure(struct json_object *info, char *err, size_t errlen)
{
	const char *desc = svmig_json_str(info, "error-desc");

	snprintf(err, errlen, "QEMU reports the migration %s%s%s",
		 svmig_json_str(info, "status") ?: "in an unknown state",
		 desc ? ": " : "", desc ?: "");
}

void svmig_qemu_mig_settle(struct qmp *q, int timeout_ms, int poll_ms)
{
	long long deadline = svmig_now_ms() + timeout_ms;
	struct json_object *info;
	bool none;
	int ret;

	while (qmp_usable(q) && svmig_left_ms(deadline)) {
		ret = svmig_qemu_mig_poll(q, &info);
		/* no status at all: no migration was ever started */
		none = !svmig_json_str(info, "status");
		json_object_put(info);
		if (ret || none)
			return;
		svmig_sleep_ms(poll_ms);
	}
}
