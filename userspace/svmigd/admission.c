// SPDX-License-Identifier: GPL-2.0
/*
 * Admission that counts what already runs here.  See admission.h.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "admission.h"
#include "util.h"

#define ADMIT_NAME_MAX	256

static int64_t usage_int(struct json_object *o, const char *key)
{
	struct json_object *v = json_object_object_get(o, key);

	return json_object_is_type(v, json_type_int) ?
	       json_object_get_int64(v) : -1;
}

int svmigd_usage_qemu(struct qmp *q, uint64_t *mem_mib, uint64_t *vcpus,
		      bool *incoming, char *err, size_t errlen)
{
	struct json_object *ret = NULL, *st;
	int64_t mem, plugged;
	int rc;

	*mem_mib = *vcpus = 0;
	*incoming = false;
	rc = qmp_execute(q, "query-status", NULL, &ret);
	if (rc)
		return svmigd_fail(err, errlen, rc, "query-status: %s",
				   qmp_strerror(q));
	st = json_object_object_get(ret, "status");
	*incoming = json_object_is_type(st, json_type_string) &&
		    !strcmp(json_object_get_string(st), "inmigrate");
	json_object_put(ret);
	if (*incoming)
		return 0;
	rc = qmp_execute(q, "query-memory-size-summary", NULL, &ret);
	if (rc)
		return svmigd_fail(err, errlen, rc,
				   "query-memory-size-summary: %s",
				   qmp_strerror(q));
	mem = usage_int(ret, "base-memory");
	plugged = usage_int(ret, "plugged-memory");
	json_object_put(ret);
	if (mem <= 0 || (plugged > 0 && plugged > INT64_MAX - mem))
		return svmigd_fail(err, errlen, -EPROTO,
				   "QEMU reports no or an impossible memory size");
	if (plugged > 0)
		mem += plugged;
	rc = qmp_execute(q, "query-cpus-fast", NULL, &ret);
	if (rc)
		return svmigd_fail(err, errlen, rc, "query-cpus-fast: %s",
				   qmp_strerror(q));
	if (!json_object_is_type(ret, json_type_array) ||
	    !json_object_array_length(ret)) {
		json_object_put(ret);
		return svmigd_fail(err, errlen, -EPROTO, "QEMU reports no vCPUs");
	}
	*vcpus = json_object_array_length(ret);
	json_object_put(ret);
	/* a started MiB counts whole: the limits are in MiB */
	*mem_mib = ((uint64_t)mem + (1u << 20) - 1) >> 20;
	return 0;
}

int svmigd_usage_dir(const char *qmp_dir, const char *skip_vm,
		     struct svmigd_usage *u, char *err, size_t errlen)
{
	char path[4096], skip[ADMIT_NAME_MAX + 8], why[256];
	struct dirent *e;
	struct qmp *q;
	uint64_t mem, cpus;
	bool incoming;
	size_t n;
	DIR *dir;

	dir = opendir(qmp_dir);
	if (!dir)
		return errno == ENOENT ? 0 :
		       svmigd_fail(err, errlen, -errno, "%s: %s", qmp_dir,
				   svmigd_strerror(errno));
	snprintf(skip, sizeof(skip), "%s.qmp", skip_vm ? skip_vm : "");
	while ((e = readdir(dir))) {
		n = strlen(e->d_name);
		if (n <= 4 || strcmp(e->d_name + n - 4, ".qmp") ||
		    !strcmp(e->d_name, skip) ||
		    snprintf(path, sizeof(path), "%s/%s", qmp_dir,
			     e->d_name) >= (int)sizeof(path))
			continue;
		q = NULL;
		if (qmp_open(path, SVMIGD_ADMIT_QMP_MS, &q, why, sizeof(why)) ||
		    svmigd_usage_qemu(q, &mem, &cpus, &incoming, why,
				      sizeof(why))) {
			u->skipped++;
			qmp_close(q);
			continue;
		}
		qmp_close(q);
		if (incoming)
			continue;
		u->vms++;
		u->mem_mib += mem;
		u->vcpus += cpus;
	}
	closedir(dir);
	return 0;
}

const char *svmigd_admit_fits(uint64_t mem_mib, uint64_t vcpus,
			      const struct svmigd_usage *u,
			      uint64_t max_mem_mib, uint64_t max_vcpus,
			      const char *whose, char *detail, size_t len)
{
	char skipped[64] = "";

	if (u->skipped)
		snprintf(skipped, sizeof(skipped), " (%u QMP sockets did not "
			 "answer: not counted)", u->skipped);
	if (u->mem_mib > max_mem_mib || mem_mib > max_mem_mib - u->mem_mib) {
		snprintf(detail, len, "vm_mem_mib %" PRIu64 " + %" PRIu64
			 " MiB of %u VMs running and %u arriving here exceeds %s "
			 "of %" PRIu64 " MiB%s", mem_mib, u->mem_mib,
			 u->vms, u->arriving, whose, max_mem_mib, skipped);
		return "memory";
	}
	if (u->vcpus > max_vcpus || vcpus > max_vcpus - u->vcpus) {
		snprintf(detail, len, "vm_vcpus %" PRIu64 " + %" PRIu64
			 " vCPUs of %u VMs running and %u arriving here exceeds "
			 "%s of %" PRIu64 "%s", vcpus, u->vcpus, u->vms,
			 u->arriving, whose, max_vcpus, skipped);
		return "vcpus";
	}
	return NULL;
}

/* ---------------------------------------------------------- arriving */

static struct {
	pthread_mutex_t lock;
	struct {
		bool used;
		char vm[ADMIT_NAME_MAX + 1];
		uint64_t mem_mib, vcpus;
	} slot[SVMIGD_ADMIT_ARRIVING];
} arriving = { .lock = PTHREAD_MUTEX_INITIALIZER };

void svmigd_admit_arriving(const char *skip_vm, struct svmigd_usage *u)
{
	size_t i;

	pthread_mutex_lock(&arriving.lock);
	for (i = 0; i < SVMIGD_ADMIT_ARRIVING; i++) {
		if (!arriving.slot[i].used ||
		    (skip_vm && !strcmp(arriving.slot[i].vm, skip_vm)))
			continue;
		u->arriving++;
		u->mem_mib += arriving.slot[i].mem_mib;
		u->vcpus += arriving.slot[i].vcpus;
	}
	pthread_mutex_unlock(&arriving.lock);
}

int svmigd_admit_reserve(const char *vm, uint64_t mem_mib, uint64_t vcpus)
{
	int ret = -ENOSPC;
	size_t i;

	if (!vm || strlen(vm) > ADMIT_NAME_MAX)
		return -EINVAL;
	pthread_mutex_lock(&arriving.lock);
	for (i = 0; i < SVMIGD_ADMIT_ARRIVING; i++)
		if (!arriving.slot[i].used) {
			arriving.slot[i].used = true;
			snprintf(arriving.slot[i].vm, sizeof(arriving.slot[i].vm),
				 "%s", vm);
			arriving.slot[i].mem_mib = mem_mib;
			arriving.slot[i].vcpus = vcpus;
			ret = 0;
			break;
		}
	pthread_mutex_unlock(&arriving.lock);
	return ret;
}

void svmigd_admit_release(const char *vm)
{
	size_t i;

	if (!vm)
		return;
	pthread_mutex_lock(&arriving.lock);
	for (i = 0; i < SVMIGD_ADMIT_ARRIVING; i++)
		if (arriving.slot[i].used && !strcmp(arriving.slot[i].vm, vm)) {
			arriving.slot[i].used = false;
			break;
		}
	pthread_mutex_unlock(&arriving.lock);
}

const char *svmigd_admit_request(const char *qmp_dir, const char *vm,
				 uint64_t mem_mib, uint64_t vcpus,
				 uint64_t host_mem_mib, uint64_t host_vcpus,
				 uint64_t pol_mem_mib, uint64_t pol_vcpus,
				 const char *host, char *detail, size_t len)
{
	struct svmigd_usage running = { 0 }, u;
	char whose[ADMIT_NAME_MAX + 32], why[256];
	const char *reason;
	size_t i;

	/* the QMP round trips outside the lock: they may take seconds */
	if (svmigd_usage_dir(qmp_dir, vm, &running, why, sizeof(why))) {
		snprintf(detail, len, "cannot count the VMs running here: %s",
			 why);
		return "memory";
	}
	snprintf(whose, sizeof(whose), "the policy's limit for %s", host);
	pthread_mutex_lock(&arriving.lock);
	u = running;
	for (i = 0; i < SVMIGD_ADMIT_ARRIVING; i++) {
		if (!arriving.slot[i].used || !strcmp(arriving.slot[i].vm, vm))
			continue;
		u.arriving++;
		u.mem_mib += arriving.slot[i].mem_mib;
		u.vcpus += arriving.slot[i].vcpus;
	}
	reason = svmigd_admit_fits(mem_mib, vcpus, &u, host_mem_mib,
				   host_vcpus, "this host's limit", detail, len);
	if (!reason && svmigd_admit_fits(mem_mib, vcpus, &u, pol_mem_mib,
					 pol_vcpus, whose, detail, len))
		reason = "policy";
	if (!reason) {
		for (i = 0; i < SVMIGD_ADMIT_ARRIVING; i++)
			if (!arriving.slot[i].used)
				break;
		if (i == SVMIGD_ADMIT_ARRIVING) {
			snprintf(detail, len, "too many migrations arriving");
			reason = "memory";
		} else {
			arriving.slot[i].used = true;
			snprintf(arriving.slot[i].vm, sizeof(arriving.slot[i].vm),
				 "%s", vm);
			arriving.slot[i].mem_mib = mem_mib;
			arriving.slot[i].vcpus = vcpus;
		}
	}
	pthread_mutex_unlock(&arriving.lock);
	return reason;
}
