/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Admission that counts what already runs on the target host
 * (Documentation/svmigd.rst, ADMIT): the memory and vCPUs of the VMs
 * whose QEMUs svmigd can reach (their QMP sockets, <qmp-dir>/VM.qmp) and
 * of the migrations arriving here right now, plus the request's, against
 * the host's limits.
 *
 * A QEMU counts with its base and hot-plugged memory
 * (query-memory-size-summary) and its vCPUs (query-cpus-fast), unless it
 * waits for an incoming migration (query-status "inmigrate": an arriving
 * VM is counted once, from its request, while its session is admitted;
 * an idle -incoming QEMU holds no guest memory yet).  A socket that does
 * not answer within SVMIGD_ADMIT_QMP_MS (QMP serves one client at a time:
 * a VM svmigd is migrating away right now, or a stale socket file) is not
 * counted, and the detail says how many were skipped.
 */
#ifndef SVMIGD_ADMISSION_H
#define SVMIGD_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "qmp.h"

#define SVMIGD_ADMIT_QMP_MS	2000
#define SVMIGD_ADMIT_ARRIVING	64	/* migrations arriving at once */

struct svmigd_usage {
	uint64_t mem_mib;
	uint64_t vcpus;
	unsigned int vms;		/* QEMUs counted */
	unsigned int arriving;		/* admitted migrations arriving */
	unsigned int skipped;		/* sockets that did not answer */
};

/*
 * One QEMU's size: *@mem_mib (base + plugged, whole MiB), *@vcpus, and
 * whether it waits for an incoming migration.  -EPROTO when QEMU's
 * figures are missing or impossible, other negative errnos for QMP.
 */
int svmigd_usage_qemu(struct qmp *q, uint64_t *mem_mib, uint64_t *vcpus,
		      bool *incoming, char *err, size_t errlen);

/* Adds every QEMU of @qmp_dir but @skip_vm's ("VM.qmp") to @u. */
int svmigd_usage_dir(const char *qmp_dir, const char *skip_vm,
		     struct svmigd_usage *u, char *err, size_t errlen);

/*
 * The check: a request of @mem_mib and @vcpus on top of @u within
 * @max_mem_mib and @max_vcpus (@whose: "this host's limit", "the
 * policy's limit for host-b").  NULL when it fits, else "memory" or "vcpus" with @detail
 * ("vm_mem_mib 512 + 1024 MiB of 1 VM running and 0 arriving here exceeds
 * this host's limit of 1280 MiB").
 */
const char *svmigd_admit_fits(uint64_t mem_mib, uint64_t vcpus,
			      const struct svmigd_usage *u,
			      uint64_t max_mem_mib, uint64_t max_vcpus,
			      const char *whose, char *detail, size_t len);

/*
 * The migrations admitted here and still arriving (one process-wide
 * table, its own lock): svmigd_admit_arriving() adds @u's share of them
 * (all but @skip_vm's); svmigd_admit_reserve() records @vm's request
 * once admitted (-ENOSPC when the table is full), svmigd_admit_release()
 * forgets it when its session ends, however it ends.
 */
void svmigd_admit_arriving(const char *skip_vm, struct svmigd_usage *u);
int svmigd_admit_reserve(const char *vm, uint64_t mem_mib, uint64_t vcpus);
void svmigd_admit_release(const char *vm);

/*
 * ADMIT's whole check for a request of @vm (@mem_mib, @vcpus), atomic
 * with its reservation: the QEMUs of @qmp_dir (but @vm's) and the other
 * migrations arriving, plus the request, within this host's limits
 * (@host_mem_mib, @host_vcpus: "memory", "vcpus") and the policy's for
 * @host ("policy").  NULL: admitted, and reserved until
 * svmigd_admit_release(@vm).
 */
const char *svmigd_admit_request(const char *qmp_dir, const char *vm,
				 uint64_t mem_mib, uint64_t vcpus,
				 uint64_t host_mem_mib, uint64_t host_vcpus,
				 uint64_t pol_mem_mib, uint64_t pol_vcpus,
				 const char *host, char *detail, size_t len);

#endif /* SVMIGD_ADMISSION_H */
