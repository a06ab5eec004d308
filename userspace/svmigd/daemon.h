/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daemon: svmigd itself (Documentation/svmigd.rst), built from the tested
 * components: config, policy, tpm, tls, session, audit.
 *
 * One process; the main thread poll()s and accepts, and each accepted
 * connection is served by a worker thread of its own, within the limits of
 * svmigd.conf [connections] (Documentation/svmigd.rst, "Concurrency and
 * limits"):
 *   - the control address ([listen] control): peers (TLS, session.h); each
 *     connection is served to its end as the TARGET; until the peer's
 *     certificate names a host of the policy it has preauth_timeout_s
 *     (default 5) for the handshake and its first message, frames of at
 *     most 64 KiB, and counts against max_unauth_per_address (4) and
 *     max_unauth (32); max_connections (64) caps them all;
 *   - the data address ([listen] data): a thread accepts each connection
 *     as it comes and keeps it for the arriving migration whose control
 *     peer has its address (one arriving from each host at a time);
 *   - <state_dir>/svmigd.sock: svmigctl, one JSON object per line each way
 *     (16 at once, counted apart from the peers).
 * Another thread asks the targets of in-doubt migrations again each minute.
 * SIGTERM: no new connection, stop_timeout_s (40) for the work in hand.
 *
 * svmigctl's requests (one line, one object):
 *   {"cmd":"status"}
 *       -> {"type":"result","ok":true,"host":..,"policy_sha256":..,
 *           "unsettled":[{"vm","peer","phase","session","since"}, ...]}
 *       (the journal's migrations not settled yet, journal.h)
 *   {"cmd":"migrate","request":<the operator's signed request object>}
 *       -> {"type":"progress","step":..,"detail":..} lines, then
 *          {"type":"result","ok":true|false,"error":..,"receipt":{..}}
 *       Some progress lines carry facts next to their words:
 *       step "session" (established): "peer", "operator", "role",
 *       "session", "quote_sha256", "peer_quote_sha256"; step "data", one
 *       a second while QEMU migrates and one when it completed: "status"
 *       (QEMU's), "ram" {"transferred","remaining","total",
 *       "dirty-sync-count","mbps","pages-per-second","dirty-pages-rate"}
 *       and "total-time","setup-time","expected-downtime","downtime" (ms),
 *       each number as query-migrate gave it, and only if it did.
 *   {"cmd":"attest","peer":NAME}
 *       -> {"type":"result","ok":..,"error":..,"peer":..,"address":..,
 *           "verdict":"trusted"|"refused"|"failed","certificate":{"subject",
 *           "issuer","sha256","not_after"},"ak_sha256":..,"ak_reference":..,
 *           "ak_match":..,"quote_sha256":..,"nonce":..,"pcrs":[{"index",
 *           "value","reference","match"}]}: the attestation-only exchange
 *          with NAME at its --peer address (session.h); each member only
 *          as far as the exchange got, the claimed values ("value",
 *          "ak_sha256") trustworthy only when "ok" is true.
 *
 * VMs and QMP: the QEMU of VM "V" is reached at <qmp_dir>/V.qmp (a unix
 * socket, or a symbolic link to one; qmp_dir defaults to
 * <state_dir>/qmp).  On the source it is the running VM; on the target a
 * QEMU started with -incoming defer (so -S), waiting.  VM names used so
 * must be [A-Za-z0-9._-] and not start with '.'.
 *
 * Peers: svmigd.conf names no other host's address, so the source learns
 * where the target is from --peer NAME=HOST:PORT[,HOST:PORT] (control,
 * then data; the data address defaults to the control host, port + 1).
 *
 * Replays: the target keeps the nonces of the requests it admitted within
 * the request window in memory and refuses a repeated one (check_request);
 * at start-up it refills them from its audit log ("request" records, as
 * the target, carry the nonce).
 */
#ifndef SVMIGD_DAEMON_H
#define SVMIGD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#define SVMIGD_SOCK_NAME	"svmigd.sock"
#define SVMIGD_PEERS_MAX	32
#define SVMIGD_OP_ANCHORS_MAX	8
#define SVMIGD_RELAY_DIR_DEFAULT	"/run/svmig/relay"

struct svmigd_opts {
	const char *config;
	const char *qmp_dir;			/* NULL: <state_dir>/qmp */
	const char *peers[SVMIGD_PEERS_MAX];	/* NAME=CTRL[,DATA] */
	size_t n_peers;
	/* operator trust anchors; none: the [trust] anchors */
	char *op_anchors[SVMIGD_OP_ANCHORS_MAX];
	size_t n_op_anchors;
	int migrate_timeout_s;			/* 0: 300 */
	bool no_tpm_salt;			/* SVMIG_KEY_NO_TPM */
	bool check_config;			/* load and check, then exit */
	/* libvirt (libvirt.h): this host's libvirtd, the peers' (NAME=URI) */
	const char *libvirt_uri;		/* NULL: no libvirt migrations */
	const char *libvirt_peers[SVMIGD_PEERS_MAX];
	size_t n_libvirt_peers;
	const char *relay_dir;			/* NULL: SVMIGD_RELAY_DIR_DEFAULT */
};

/*
 * Runs until SIGTERM or SIGINT: 0, or 1 after a setup error (printed).
 * Tells systemd READY=1 once it listens (sd_notify; a no-op elsewhere).
 * With o->check_config: loads and checks the configuration, keys,
 * certificates and signed policy, prints a line and returns 0 (or 1),
 * without the TPM or any socket.
 */
int svmigd_daemon_run(const struct svmigd_opts *o);

#endif /* SVMIGD_DAEMON_H */
