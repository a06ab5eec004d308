/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmigd's daemon, inside: the state its files share and what each gives
 * the others.  Not part of libsvmigd's interface (daemon.h is).
 *
 * One file per role, each calling only the ones listed before it:
 *   report.c         log lines, svmigctl progress and results, audit records
 *   sockets.c        TCP listen/connect, addresses, the clock
 *   mig.c            one migration's DATA step, either side: QMP,
 *                    /dev/svmig, failpoints, its journal entry
 *   claims.c         claims, the replay cache, live sessions, slots
 *   data_listener.c  the data listener and the target's data connection
 *   source.c         the source's DATA, handover and resume
 *   libvirt_mig.c    migrations libvirt drives (libvirt.h)
 *   target.c         a peer's control connection: the target's side
 *   recovery.c       the journals after a restart, in-doubt migrations
 *   attest.c         svmigctl attest
 *   control.c        the svmigctl socket: status, migrate, settle
 *   reload.c         the policy at start and on SIGHUP (policy_host.h)
 *   daemon.c         setup, teardown, listeners, threads, the stop
 */
#ifndef SVMIGD_DAEMON_INT_H
#define SVMIGD_DAEMON_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "libsvmig.h"
#include "net.h"
#include "qemu.h"
#include "qmp.h"

#include "config.h"
#include "daemon.h"
#include "journal.h"
#include "request.h"
#include "session.h"
#include "tls.h"

#define POLL_MS		50
#define CTL_LINE_MAX	(SVMIGD_REQUEST_MAX + 1024)
#define NONCES_MAX	4096
#define IO_TIMEOUT_MS	30000
#define OUTCOME_TIMEOUT_MS	5000	/* asking a target how a session ended */
#define RECEIPT_AFTER_FAILURE_MS 10000	/* the target's failed receipt, for its reason */
#define REVIEW_EVERY_MS	60000	/* asking again while one is in doubt */

struct nonce_ent {
	uint8_t nonce[SVMIGD_NONCE_LEN];
	int64_t time;
};

/* Concurrency and limits (daemon.h; svmigd.conf [connections]). */
#define PREAUTH_FRAME_MAX	(64 * 1024)	/* bytes, until the peer is a policy host */
#define DEF_PREAUTH_S		5
#define DEF_UNAUTH_PER_ADDR	4
#define DEF_MAX_UNAUTH		32
#define DEF_MAX_CONNS		64
#define DEF_STOP_S		40	/* scripts/svmigd.service: TimeoutStopSec=45s */
#define ABORT_GRACE_S		4	/* after it, for DATA steps to unwind */
#define CAP_CONNS		1024	/* what the config may ask for at most */
#define CLIENTS_MAX		16	/* svmigctl connections at once */
#define DATA_PENDING_MAX	16	/* accepted data connections not yet taken */
#define DATA_PENDING_PER_ADDR	4
#define CLAIMS_MAX		(2 * CAP_CONNS + 16)

/* A data connection accepted, waiting for its target migration to take it. */
struct data_conn {
	int fd;
	struct sockaddr_storage peer;
	long long at;			/* svmig_now_ms() when accepted */
};

struct daemon {
	const struct svmigd_opts *o;
	struct svmigd_config cfg;
	struct svmigd_policy *policy;
	struct svmigd_tpm *tpm;
	struct svmig_tls_ctx *tls;
	EVP_PKEY *key;
	X509_STORE *op_anchors;
	struct svmigd_session_cfg scfg;
	char qmp_dir[512];
	char journal_dir[1024];		/* <state_dir>/journal (journal.h) */
	char target_journal_dir[1024];	/* <state_dir>/journal-target */
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int ctl_fd, data_fd, unix_fd;
	int timeout_s;
	/* [connections], defaults applied */
	int preauth_ms;
	unsigned int unauth_per_addr, max_unauth, max_conns, stop_s;
	/*
	 * @lock guards everything below it, the replay cache included; it is
	 * held only for short bookkeeping, never across I/O or the TPM.
	 * @cond is broadcast when a connection ends, a data connection
	 * arrives, a claim is released, or svmigd stops.
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nonce_ent nonces[NONCES_MAX];
	size_t n_nonces;
	unsigned int n_conns;		/* control connections being served */
	unsigned int n_clients;		/* svmigctl connections being served */
	/* control connections not authenticated yet: their addresses */
	struct sockaddr_storage *unauth;	/* max_unauth slots */
	bool *unauth_used;
	unsigned int n_unauth;
	long long refusal_logged;	/* svmig_now_ms() of the last refusal logged */
	unsigned long refusals_unlogged;
	/* "vm:NAME" (a migration or a journal entry of it at work here) and
	 * "from:HOST" (a migration arriving from HOST): one at a time each */
	char *claims[CLAIMS_MAX];
	/* sessions established here as the target whose connection is live */
	uint8_t live[CAP_CONNS][SVMIGD_SESSION_ID_LEN];
	bool live_used[CAP_CONNS];
	/* the data listener's accepted connections (data_thread) */
	struct data_conn pending[DATA_PENDING_MAX];
	size_t n_pending;
	bool quit;			/* stopping: the review thread ends */
	atomic_bool abort_data;		/* (atomic, no lock) the grace is over: DATA steps give up */
	bool data_quit;			/* no connection left: data_thread ends */
};

/* One accepted connection and its worker thread. */
struct conn {
	struct daemon *d;
	int fd;
	bool client;			/* svmigctl (unix socket), else a peer */
	struct sockaddr_storage peer;
	int unauth_slot;		/* in d->unauth, or -1 */
	char claim_vm[SVMIGD_NAME_MAX + 8];	/* what check_request claimed */
	char claim_from[SVMIGD_HOST_NAME_MAX + 8];
	int live_slot;			/* in d->live, or -1 */
	long long since;		/* the TLS handshake ended (svmig_now_ms()) */
};

/* One migration's DATA step, either side. */
struct mig {
	struct daemon *d;
	struct svmigd_session *s;
	struct svmig_tls_conn *conn;
	int conn_fd;
	struct qmp *q;
	int sv, sock;
	int client;			/* svmigctl, or -1 */
	bool was_running;
	bool journalled;		/* our journal has an entry for it */
	struct svmig_stats st;
	char err[1024];
};

enum review_mode {
	REVIEW_STARTUP,		/* what a predecessor left: act, ask, say so */
	REVIEW_RETRY,		/* now and then: ask the targets again */
	REVIEW_QUICK,		/* notice what operators settled, ask nobody */
};

/* report.c */
/*
 * One line on stderr.  Under systemd (JOURNAL_STREAM names stderr's
 * stream) it starts with the sd-daemon "<N>" priority prefix, which the
 * journal strips and keeps as the message's priority; elsewhere (a
 * terminal, the tests' logs) the line is plain.
 */
void logp_(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void logp_init(void);
int failf(struct mig *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_send(int fd, struct json_object *obj);
void progress(struct mig *m, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void audit_with(struct mig *m, const char *event, const char *step,
		const char *key, const char *text);
void audit(struct mig *m, const char *event, const char *step,
	   const char *what_err);
void audit_early(struct daemon *d, const char *event, const char *role,
		 const struct svmigd_request_verified *v,
		 const char *peer, const char *step, const char *reason);
const char *jstr(struct json_object *obj, const char *key);
bool is(const char *a, const char *b);
int64_t jint(struct json_object *obj, const char *key);
void add_str(struct json_object *o, const char *key, const char *val);
void add_hex32(struct json_object *o, const char *key,
	       const uint8_t *val);
void progress_send(struct mig *m, const char *step,
		   struct json_object *extra, const char *detail);
void progress_session(struct mig *m);
void catf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void result(int client, bool ok, const char *error,
	    const struct svmigd_receipt *r);

/* sockets.c */
void close_fd(int *fd);
int tcp_listen(const char *hostport);
int tcp_connect(const char *hostport, int timeout_ms);
bool readable(int fd, int timeout_ms);
bool same_host(const struct sockaddr_storage *a,
	       const struct sockaddr_storage *b);
int set_sock_timeout(int fd, int opt, int secs);
int peer_addrs(struct daemon *d, const char *name, char *ctl,
	       size_t clen, char *data, size_t dlen);

/* mig.c */
int qmp_connect_vm(struct mig *m, const char *vm);
int qmp_connect(struct mig *m);
int qmp_cmd(struct mig *m, const char *cmd, struct json_object **ret);
int vm_size_check(struct mig *m, const struct svmigd_request *r);
int vm_status(struct mig *m, char *st, size_t len);
int pass_fd_migrate(struct mig *m, const char *cmd);
bool failpoint_set(const char *name);
void failpoint(const char *name);
int wait_migration(struct mig *m, bool watch);
void wait_terminal(struct mig *m);
int svmig_key(struct mig *m, uint32_t role);
void cut_socket(struct mig *m);
void kernel_account(struct mig *m);
int journal_mark(struct mig *m, const char *dir, enum svmigd_journal_phase phase);
void journal_drop(struct mig *m, const char *dir);

/* claims.c */
int claim(struct daemon *d, const char *what);
void unclaim(struct daemon *d, const char *what);
int check_request(void *arg, const struct svmigd_request_verified *v,
		  char *why, size_t whylen);
bool session_live(void *arg, const uint8_t *id);
const char *admit(void *arg, const struct svmigd_request *r,
		  const struct svmigd_policy_host *me, char *detail, size_t len);
void live_add(struct conn *c, const uint8_t *id);
void nonces_load(struct daemon *d);
void conn_authenticated(struct conn *c);
void conn_release_locked(struct conn *c);

/* data_listener.c */
void *data_thread(void *arg);
int target_accept_data(struct mig *m, const struct sockaddr_storage *peer,
		       long long since);

/* source.c */
int source_data(struct mig *m, const char *data_addr);
int source_resume(struct mig *m);
int source_handover(struct mig *m, const struct svmigd_receipt *r);

/* libvirt_mig.c */
bool lv_target(struct mig *m);
int lv_source_check(struct mig *m, const struct svmigd_request *r);
void lv_source(struct mig *m, const char *data_addr, unsigned int channels);
void lv_target_data(struct mig *m, const struct sockaddr_storage *peer,
		    long long since);

/* target.c */
int target_cont(struct mig *m);
void serve_target(struct conn *c);

/* recovery.c */
void journal_mig(struct daemon *d, const struct svmigd_journal_entry *e,
		 struct svmigd_session *s, struct mig *m);
void journal_review(struct daemon *d, enum review_mode mode);
void target_recover(struct daemon *d);

/* attest.c */
void serve_attest(struct daemon *d, int client, struct json_object *req);

/* control.c */
void serve_client(struct daemon *d, int fd);

/* reload.c */
int policy_start(struct daemon *d);
void policy_reload(struct daemon *d);

/* mig_vtpm.c (vtpm.h): 0, or -1 with m->err */
int mig_vtpm_check(struct mig *m);	/* target, after the END verified */
int mig_vtpm_send(struct mig *m);	/* source, its VM stopped for good */
void mig_vtpm_destroy(struct mig *m);	/* source, the target runs the VM */

#endif /* SVMIGD_DAEMON_INT_H */
