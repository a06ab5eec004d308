/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvirt: a migration that libvirt drives, through svmig's relay
 * (relay.h, Documentation/libvirt.rst).  svmigd runs the session as for
 * QEMU's fd: (TLS, attestation, policy, TPM-ECDH secret, signed request,
 * receipt, audit); then, instead of handing QEMU a /dev/svmig descriptor:
 *
 *   source: keys channels 0 (sender) and 1 (receiver), listens on
 *     <relay_dir>/<vm>.sock, asks its libvirtd to migrate the domain
 *     (virDomainMigrateToURI3, VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER,
 *     migrate URI unix://<relay_dir>/<vm>.sock, the target's libvirt URI
 *     from svmigd --libvirt-peer); relays until the target's QEMU loaded
 *     the stream (its SHUT), sends the END, and opens the gate on the
 *     target's "ok" receipt, after its COMMIT; then waits for libvirt
 *     and the target's RESUMED.
 *   target: keys channels 0 (receiver) and 1 (sender), connects to the
 *     QEMU that its libvirtd started listening on the same path, relays
 *     until the END, verifies it, sends the receipt, and after the COMMIT
 *     waits until libvirt runs the domain here, then sends RESUMED.
 *
 * The same <relay_dir> on both hosts: libvirt gives the one migrate URI
 * to both ends.
 */
#ifndef SVMIGD_LIBVIRT_H
#define SVMIGD_LIBVIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libsvmig.h"
#include "session.h"
#include "tls.h"

/* One libvirt migration, either side. */
struct svmigd_lvmig {
	/* in */
	const char *local_uri;		/* this host's libvirtd */
	const char *peer_uri;		/* source: the target's libvirtd */
	const char *relay_dir;
	int sock;			/* the data connection (the caller's) */
	int ctl_fd;			/* the control connection's socket, watched */
	int idle_ms;			/* no progress for this long: fail */
	bool no_tpm;			/* svmigd --no-tpm-salt */
	struct svmig_tls_conn *conn;
	const struct svmigd_session_cfg *scfg;
	struct svmigd_session *s;	/* its secret is wiped once keyed */
	void (*progress)(void *arg, const char *step, const char *detail);
	void *arg;
	/* multifd (multifd.h): N channels (source; 0: none), and a data
	 * connection for each: connected to the target (source), or taken
	 * from those the target accepted, -1 if none yet (target) */
	unsigned int channels;
	int (*data_conn)(void *arg);
	void *data_arg;
	/* out */
	struct svmig_stats st;		/* the stream's channel (0) */
	struct svmigd_receipt receipt;	/* source: the target's */
	bool was_running;		/* source: before the migration */
	bool mfd_failed;		/* a multifd channel failed first (err says which) */
	char err[1024];
};

/* What svmigd_lv_source() and svmigd_lv_target() return. */
#define SVMIGD_LV_DONE		0	/* the VM runs on the target, not here */
#define SVMIGD_LV_FAILED	(-1)	/* the VM runs (or is paused as it was) on the source */
#define SVMIGD_LV_IN_DOUBT	(-2)	/* an operator must look (err says) */

int svmigd_lv_source(struct svmigd_lvmig *x);
int svmigd_lv_target(struct svmigd_lvmig *x);

/*
 * Source, before the session: the domain @vm of @uri is active and no
 * larger than @mem_mib MiB and @vcpus vCPUs.
 */
int svmigd_lv_check(const char *uri, const char *vm, uint64_t mem_mib,
		    uint32_t vcpus, char *err, size_t errlen);

/* The socket path of @vm's relay: <dir>/<vm>.sock. */
int svmigd_lv_sock_path(char *out, size_t len, const char *dir, const char *vm);

#endif /* SVMIGD_LIBVIRT_H */
