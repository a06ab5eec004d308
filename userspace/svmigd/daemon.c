// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the daemon (daemon.h).  The session (REQUEST .. KEY, RECEIPT) is
 * session.c's; this file adds the sockets, the DATA step (/dev/svmig in
 * stream mode, QEMU over QMP) and the decisions around it: exactly one
 * copy of the VM runs at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <systemd/sd-daemon.h>

#include "libsvmig.h"
#include "qmp.h"

#include "audit.h"
#include "audit_exchange.h"
#include "admission.h"
#include "config.h"
#include "daemon.h"
#include "journal.h"
#include "libvirt.h"
#include "relay.h"
#include "outcome.h"
#include "policy.h"
#include "request.h"
#include "session.h"
#include "tls.h"
#include "tpm.h"
#include "util.h"
#include "verdict.h"

#define FDNAME		"svmigd"
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
	long long at;			/* now_ms() when accepted */
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
	long long refusal_logged;	/* now_ms() of the last refusal logged */
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
	long long since;		/* the TLS handshake ended (now_ms()) */
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

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/*
 * One line on stderr.  Under systemd (JOURNAL_STREAM names stderr's
 * stream) it starts with the sd-daemon "<N>" priority prefix, which the
 * journal strips and keeps as the message's priority; elsewhere (a
 * terminal, the tests' logs) the line is plain.
 */
static void logp_(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int log_journal = -1;	/* set once, before any thread starts */

static void logp_(int prio, const char *fmt, ...)
{
	va_list ap;

	if (log_journal < 0)
		log_journal = svmigd_stderr_is_journal();
	flockfile(stderr);	/* one line at a time from the threads */
	if (log_journal)
		fprintf(stderr, "<%d>", prio);
	fprintf(stderr, "svmigd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static int failf(struct mig *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int failf(struct mig *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ------------------------------------------------------------ sockets */

static int split_hostport(const char *s, char *host, size_t hlen,
			  char *port, size_t plen)
{
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - s - 1);
		if (n >= hlen)
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = 0;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
		if (n >= hlen)
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = 0;
	}
	if (!colon[1] || strlen(colon + 1) >= plen)
		return -EINVAL;
	strcpy(port, colon + 1);
	return 0;
}

static int resolve(const char *hostport, bool passive, struct addrinfo **ai)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	char host[256], port[32];

	if (split_hostport(hostport, host, sizeof(host), port, sizeof(port)))
		return -EINVAL;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	hints.ai_flags |= AI_NUMERICSERV;
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, ai))
		return -EHOSTUNREACH;
	return 0;
}

static int tcp_listen(const char *hostport)
{
	struct addrinfo *ai;
	int fd, one = 1;

	if (resolve(hostport, true, &ai))
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 8)) {
		logp_(LOG_ERR, "listen on %s: %s", hostport, svmigd_strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* A connected socket, or -1 with errno saying why the last address failed. */
static int tcp_connect(const char *hostport, int timeout_ms)
{
	struct addrinfo *ai, *p;
	int fd = -1, err = EADDRNOTAVAIL;

	if (resolve(hostport, false, &ai)) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		struct pollfd pfd;
		int soerr = 0, n;
		socklen_t sl = sizeof(soerr);

		fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, p->ai_addr, p->ai_addrlen) && errno != EINPROGRESS) {
			err = errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		n = poll(&pfd, 1, timeout_ms);
		if (n != 1) {
			err = n ? errno : ETIMEDOUT;
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
			err = soerr ?: errno;
			goto next;
		}
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
			err = errno;
			goto next;
		}
		break;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		errno = err;
	return fd;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1;
}

static bool same_host(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return false;
}


/* ------------------------------------------------------------ svmigctl */

static void ctl_send(int fd, struct json_object *obj)
{
	const char *s;
	size_t len, off = 0;

	if (fd < 0)
		return;
	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(s);
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		off += (size_t)n;
	}
	send(fd, "\n", 1, MSG_NOSIGNAL);
}

static void progress(struct mig *m, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct svmigd_receipt;
static void result(int client, bool ok, const char *error,
		   const struct svmigd_receipt *r);
static void progress(struct mig *m, const char *step, const char *fmt, ...)
{
	struct json_object *o;
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	logp_(LOG_INFO, "%s: %s", step, buf);
	if (m->client < 0)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("progress"));
	json_object_object_add(o, "step", json_object_new_string(step));
	json_object_object_add(o, "detail", json_object_new_string(buf));
	ctl_send(m->client, o);
	json_object_put(o);
}

/* ------------------------------------------------------------ audit */

/* A record of this migration; @text (if any) as details member @key. */
static void audit_with(struct mig *m, const char *event, const char *step,
		       const char *key, const char *text)
{
	struct json_object *det = json_object_new_object();
	char hex[2 * SVMIGD_SESSION_ID_LEN + 1];
	char err[512];

	svmigd_hex_encode(hex, m->s->id, SVMIGD_SESSION_ID_LEN);
	json_object_object_add(det, "session", json_object_new_string(hex));
	json_object_object_add(det, "role", json_object_new_string(
		m->s->source ? "source" : "target"));
	json_object_object_add(det, "peer", json_object_new_string(m->s->peer));
	json_object_object_add(det, "step", json_object_new_string(step));
	if (text)
		json_object_object_add(det, key, json_object_new_string(text));
	if (m->st.records) {
		json_object_object_add(det, "records",
				       json_object_new_int64((int64_t)m->st.records));
		json_object_object_add(det, "bytes",
				       json_object_new_int64((int64_t)m->st.bytes));
	}
	if (m->st.error) {	/* what svmig.ko refused, in its own words */
		json_object_object_add(det, "kernel_error",
				       json_object_new_string(svmigd_strerror(m->st.error)));
		json_object_object_add(det, "auth_failures",
				       json_object_new_int64((int64_t)m->st.auth_failures));
		json_object_object_add(det, "replays",
				       json_object_new_int64((int64_t)m->st.replays));
		json_object_object_add(det, "proto_errors",
				       json_object_new_int64((int64_t)m->st.proto_errors));
	}
	if (svmigd_audit_append(m->d->scfg.audit_log, m->d->key, event,
				m->s->operator, m->s->request.req.vm, det, NULL,
				err, sizeof(err)))
		logp_(LOG_ERR, "audit: %s", err);
	json_object_put(det);
}

static void audit(struct mig *m, const char *event, const char *step,
		  const char *what_err)
{
	audit_with(m, event, step, "error", what_err);
}

/*
 * A migration refused or failed before its session began (the request
 * check, the connection, the TLS handshake), or a start refused:
 * Documentation/svmigd.rst has every refusal in the audit log, and
 * session.c records only from REQUEST on.  @v: the request if it verified
 * (else who and what are unknown); @peer: the other host, or NULL.
 */
static void audit_early(struct daemon *d, const char *event, const char *role,
			const struct svmigd_request_verified *v,
			const char *peer, const char *step, const char *reason)
{
	struct json_object *det = json_object_new_object();
	bool refused = !strcmp(event, "refused");
	char hex[2 * SVMIGD_SHA256_LEN + 1], err[512];

	json_object_object_add(det, "role", json_object_new_string(role));
	json_object_object_add(det, "peer", json_object_new_string(peer ?: "-"));
	json_object_object_add(det, "step", json_object_new_string(step));
	if (v) {
		svmigd_hex_encode(hex, v->request_sha256, SVMIGD_SHA256_LEN);
		json_object_object_add(det, "request", json_object_new_string(hex));
	}
	if (refused)
		json_object_object_add(det, "by", json_object_new_string("us"));
	json_object_object_add(det, refused ? "reason" : "error",
			       json_object_new_string(reason));
	/* start refusals are logged by their callers */
	if (strcmp(role, "start"))
		logp_(refused ? LOG_WARNING : LOG_ERR, "%s %s (%s, vm %s, peer %s): %s",
		      role, event, step, v ? v->req.vm : "-", peer ?: "-", reason);
	if (svmigd_audit_append(d->cfg.audit_log, d->key, event,
				v && v->operator_cn[0] ? v->operator_cn : "unknown",
				v ? v->req.vm : "-", det, NULL, err, sizeof(err)))
		logp_(LOG_ERR, "audit: %s", err);
	json_object_put(det);
}

/* ------------------------------------------------------------ QMP */

static const char *jstr(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static bool is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

static int qmp_connect_vm(struct mig *m, const char *vm)
{
	char path[1024], err[512];

	if (m->q)
		return 0;
	if (!svmigd_journal_vm_ok(vm))
		return failf(m, "VM name '%s' cannot name a QMP socket", vm);
	snprintf(path, sizeof(path), "%s/%s.qmp", m->d->qmp_dir, vm);
	if (qmp_open(path, QMP_DEFAULT_TIMEOUT_MS, &m->q, err, sizeof(err)))
		return failf(m, "QMP %s: %s", path, err);
	return 0;
}

static int qmp_connect(struct mig *m)
{
	return qmp_connect_vm(m, m->s->request.req.vm);
}

static int qmp_cmd(struct mig *m, const char *cmd, struct json_object **ret)
{
	if (ret)
		*ret = NULL;
	if (qmp_execute(m->q, cmd, NULL, ret))
		return failf(m, "QMP %s: %s", cmd, qmp_strerror(m->q));
	return 0;
}

static int64_t jint(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

/*
 * The VM is no bigger than the request says: admission (ADMIT) trusts the
 * request's vm_mem_mib and vm_vcpus, so both ends check their QEMU (base
 * and hot-plugged RAM, vCPUs) against them.
 */
static int vm_size_check(struct mig *m, const struct svmigd_request *r)
{
	struct json_object *ret;
	int64_t mem, plugged;
	size_t cpus;

	if (qmp_cmd(m, "query-memory-size-summary", &ret))
		return -1;
	mem = jint(ret, "base-memory");
	plugged = jint(ret, "plugged-memory");
	json_object_put(ret);
	/* QEMU's figures are not trusted to add up without overflowing */
	if (mem > 0 && plugged > 0) {
		if (plugged > INT64_MAX - mem)
			return failf(m, "QEMU reports an impossible memory size for vm %s",
				     r->vm);
		mem += plugged;
	}
	if (qmp_cmd(m, "query-cpus-fast", &ret))
		return -1;
	cpus = json_object_is_type(ret, json_type_array) ?
	       json_object_array_length(ret) : 0;
	json_object_put(ret);
	if (mem <= 0 || !cpus)
		return failf(m, "QEMU reports no memory size or no vCPUs for vm %s",
			     r->vm);
	mem >>= 20;	/* whole MiB, as requests count */
	if ((uint64_t)mem > r->vm_mem_mib)
		return failf(m, "vm %s has %lld MiB of RAM, the request says %llu MiB",
			     r->vm, (long long)mem,
			     (unsigned long long)r->vm_mem_mib);
	if (cpus > r->vm_vcpus)
		return failf(m, "vm %s has %zu vCPUs, the request says %u", r->vm,
			     cpus, r->vm_vcpus);
	return 0;
}

static int vm_status(struct mig *m, char *st, size_t len)
{
	struct json_object *ret;

	if (qmp_cmd(m, "query-status", &ret))
		return -1;
	snprintf(st, len, "%s", jstr(ret, "status") ?: "?");
	json_object_put(ret);
	return 0;
}

static int pass_fd_migrate(struct mig *m, const char *cmd)
{
	struct json_object *args = json_object_new_object();
	int ret;

	json_object_object_add(args, "fdname", json_object_new_string(FDNAME));
	ret = qmp_execute_fd(m->q, "getfd", args, m->sv, NULL);
	json_object_put(args);
	if (ret)
		return failf(m, "QMP getfd: %s", qmp_strerror(m->q));
	args = json_object_new_object();
	json_object_object_add(args, "uri", json_object_new_string("fd:" FDNAME));
	ret = qmp_execute(m->q, cmd, args, NULL);
	json_object_put(args);
	if (ret)
		return failf(m, "QMP %s: %s", cmd, qmp_strerror(m->q));
	return 0;
}

/* ------------------------------------------------------------ progress */

static void add_str(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

/* @key: the hex of a 32-byte value (a digest, a nonce). */
static void add_hex32(struct json_object *o, const char *key,
		      const uint8_t *val)
{
	char hex[2 * SVMIGD_SHA256_LEN + 1];

	svmigd_hex_encode(hex, val, SVMIGD_SHA256_LEN);
	add_str(o, key, hex);
}

/* A progress line with the members of @extra (taken) after its detail. */
static void progress_send(struct mig *m, const char *step,
			  struct json_object *extra, const char *detail)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "type", "progress");
	add_str(o, "step", step);
	add_str(o, "detail", detail);
	if (extra) {
		json_object_object_foreach(extra, key, val)
			json_object_object_add(o, key, json_object_get(val));
	}
	ctl_send(m->client, o);
	json_object_put(o);
	json_object_put(extra);
}

/* The session's facts next to "established", for svmigctl's summary. */
static void progress_session(struct mig *m)
{
	const struct svmigd_session *s = m->s;
	struct json_object *x;
	char detail[512], id[2 * SVMIGD_SESSION_ID_LEN + 1];

	snprintf(detail, sizeof(detail),
		 "established with %s (operator %s, role %s)",
		 s->peer, s->operator, s->role);
	logp_(LOG_INFO, "session: %s", detail);
	if (m->client < 0)
		return;
	x = json_object_new_object();
	svmigd_hex_encode(id, s->id, SVMIGD_SESSION_ID_LEN);
	add_str(x, "peer", s->peer);
	add_str(x, "operator", s->operator);
	add_str(x, "role", s->role);
	add_str(x, "session", id);
	add_hex32(x, "quote_sha256", s->quote_sha256);
	add_hex32(x, "peer_quote_sha256", s->peer_quote_sha256);
	progress_send(m, "session", x, detail);
}

/* What svmigctl shows of query-migrate: numbers only, named as QEMU does. */
static const char *const mig_ram_keys[] = {
	"transferred", "remaining", "total", "dirty-sync-count", "mbps",
	"pages-per-second", "dirty-pages-rate",
};
static const char *const mig_keys[] = {
	"total-time", "setup-time", "expected-downtime", "downtime",
};

static struct json_object *numbers(struct json_object *from,
				   const char *const *keys, size_t n)
{
	struct json_object *o = json_object_new_object(), *v;
	size_t i;

	for (i = 0; o && i < n; i++)
		if (json_object_object_get_ex(from, keys[i], &v) &&
		    (json_object_is_type(v, json_type_int) ||
		     json_object_is_type(v, json_type_double)))
			json_object_object_add(o, keys[i], json_object_get(v));
	return o;
}

static void catf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void catf(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	if (n < len)
		vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* "active: N bytes transferred, R of T bytes remaining, ..." */
static void ram_detail(char *buf, size_t len, const char *st,
		       struct json_object *ram, struct json_object *top)
{
	const char *rem = jstr(ram, "remaining"), *tot = jstr(ram, "total");
	const char *sync = jstr(ram, "dirty-sync-count");
	const char *exp = jstr(top, "expected-downtime");
	const char *down = jstr(top, "downtime"), *t = jstr(top, "total-time");
	struct json_object *v;

	snprintf(buf, len, "%s: %s bytes transferred", st,
		 jstr(ram, "transferred") ?: "0");
	if (rem && tot)
		catf(buf, len, ", %s of %s bytes remaining", rem, tot);
	if (json_object_object_get_ex(ram, "mbps", &v))
		catf(buf, len, ", %.1f Mbit/s", json_object_get_double(v));
	if (sync)
		catf(buf, len, ", dirty sync %s", sync);
	if (exp)
		catf(buf, len, ", expected downtime %s ms", exp);
	if (down)
		catf(buf, len, ", downtime %s ms", down);
	if (t)
		catf(buf, len, ", %s ms since it began", t);
}

/*
 * One query-migrate answer @info (status @st) as a "data" progress line
 * with QEMU's figures: "status", "ram" {...} and the times.
 */
static void progress_ram(struct mig *m, const char *st,
			 struct json_object *info)
{
	struct json_object *ram, *r, *x;
	char detail[512];

	if (!json_object_object_get_ex(info, "ram", &ram) ||
	    !json_object_is_type(ram, json_type_object))
		return;
	r = numbers(ram, mig_ram_keys,
		    sizeof(mig_ram_keys) / sizeof(mig_ram_keys[0]));
	x = numbers(info, mig_keys, sizeof(mig_keys) / sizeof(mig_keys[0]));
	ram_detail(detail, sizeof(detail), st ?: "?", r, x);
	logp_(LOG_INFO, "data: %s", detail);
	if (m->client < 0 || !r || !x) {
		json_object_put(r);
		json_object_put(x);
		return;
	}
	add_str(x, "status", st ?: "?");
	json_object_object_add(x, "ram", r);
	progress_send(m, "data", x, detail);
}

/*
 * For tests only: with SVMIGD_FAILPOINT set in its environment svmigd dies
 * by SIGKILL at one defined point, exactly as a crash there would, so a
 * test can stop it between two protocol steps without racing the network.
 * The points (Documentation/man/svmigd.8, ENVIRONMENT):
 *   data:N         in DATA, either role, at the first look at QEMU's
 *                  migration after svmig.ko has sealed (source) or
 *                  accepted (target) at least N records of the stream:
 *                  before the source's END, before the target verifies
 *   before-commit  a source, its journal entry in phase commit, the
 *                  COMMIT not written yet
 *   after-commit   a source, the COMMIT written, the RESUMED not read yet
 *   before-verify  a target, QEMU done with the incoming migration, the
 *                  END not verified yet (the guest must not run)
 *   before-cont    a target, its journal entry in phase resumed written,
 *                  the QMP cont not sent yet
 * and one that does not kill but makes svmigd a lying target:
 *   receipt-miscount  a target's "ok" receipt counts one record more
 *                  than it received (the source must refuse it)
 * Unset or any other value, nothing happens.
 */
static void failpoint_kill(const char *what)
{
	logp_(LOG_WARNING, "failpoint %s: SVMIGD_FAILPOINT kills svmigd here", what);
	fflush(NULL);
	raise(SIGKILL);
}

static bool failpoint_set(const char *name)
{
	const char *fp = getenv("SVMIGD_FAILPOINT");

	return fp && !strcmp(fp, name);
}

static void failpoint(const char *name)
{
	if (failpoint_set(name))
		failpoint_kill(name);
}

/*
 * "data:N", in wait_migration() (@st: QEMU's migration status, just
 * queried).  Whatever QEMU's status, svmigd has not ended its DATA step
 * yet, so the kill always lands in DATA, after N records.
 */
static void failpoint_data(struct mig *m, const char *st)
{
	const char *fp = getenv("SVMIGD_FAILPOINT");
	struct svmig_stats stats;
	unsigned long long n;
	char what[128], *end;

	if (!fp || strncmp(fp, "data:", 5) || m->sv < 0)
		return;
	if (fp[5] < '0' || fp[5] > '9')
		return;
	errno = 0;
	n = strtoull(fp + 5, &end, 10);
	if (errno || *end || svmig_get_stats(m->sv, &stats) || stats.records < n)
		return;
	snprintf(what, sizeof(what), "data:%llu (%llu records %s, QEMU: %s)",
		 n, (unsigned long long)stats.records,
		 m->s->source ? "sealed" : "accepted", st ?: "?");
	failpoint_kill(what);
}

/*
 * Waits for "completed"; gives up on failed/cancelled, the timeout, or
 * (@watch) when the control connection turns readable: the peer gave up.
 */
static int wait_migration(struct mig *m, bool watch)
{
	long long deadline = now_ms() + (long long)m->d->timeout_s * 1000;
	long long next = 0;

	for (;;) {
		struct json_object *info;
		const char *st;

		if (qmp_cmd(m, "query-migrate", &info))
			return -1;
		st = jstr(info, "status");
		failpoint_data(m, st);
		if (is(st, "completed")) {
			progress_ram(m, st, info);
			json_object_put(info);
			return 0;
		}
		if (is(st, "failed") || is(st, "cancelled")) {
			failf(m, "QEMU reports the migration %s%s%s", st,
			      jstr(info, "error-desc") ? ": " : "",
			      jstr(info, "error-desc") ?: "");
			json_object_put(info);
			return -1;
		}
		if (now_ms() >= next) {
			progress_ram(m, st, info);
			next = now_ms() + 1000;
		}
		json_object_put(info);
		if (atomic_load(&m->d->abort_data))
			return failf(m, "svmigd is stopping");
		if (now_ms() >= deadline)
			return failf(m, "the migration did not complete within %d s",
				     m->d->timeout_s);
		if (watch && readable(m->conn_fd, 0))
			return failf(m, "%s ended the session during DATA",
				     m->s->peer);
		sleep_ms(POLL_MS);
	}
}

static void wait_terminal(struct mig *m)
{
	long long deadline = now_ms() + 10000;

	while (now_ms() < deadline && qmp_usable(m->q)) {
		struct json_object *info;
		const char *st;

		if (qmp_execute(m->q, "query-migrate", NULL, &info))
			return;
		st = jstr(info, "status");
		if (!st || is(st, "completed") || is(st, "failed") ||
		    is(st, "cancelled")) {
			json_object_put(info);
			return;
		}
		json_object_put(info);
		sleep_ms(POLL_MS);
	}
}

/* ------------------------------------------------------------ /dev/svmig */

static int svmig_key(struct mig *m, uint32_t role)
{
	/*
	 * A target requires the source's keys salted by its TPM, as the
	 * source's authenticated HELLO says, unless --no-tpm-salt: hosts run
	 * with TPMs or, for tests by hand, both without.
	 */
	uint32_t flags = role | SVMIG_KEY_STREAM |
			 (m->d->o->no_tpm_salt ? SVMIG_KEY_NO_TPM :
			  role == SVMIG_ROLE_RECEIVER ? SVMIG_KEY_REQUIRE_TPM_SALT : 0);
	struct svmig_info info;
	int ret;

	ret = svmig_open();
	if (ret < 0)
		return failf(m, "cannot open %s: %s", SVMIG_DEVICE, svmigd_strerror(-ret));
	m->sv = ret;
	ret = svmig_get_info(m->sv, &info);
	if (ret)
		return failf(m, "SVMIG_IOC_GET_INFO: %s", svmigd_strerror(-ret));
	if (!(info.features & SVMIG_FEAT_STREAM))
		return failf(m, "svmig.ko has no stream mode");
	if ((flags & SVMIG_KEY_REQUIRE_TPM_SALT) && !(info.features & SVMIG_FEAT_TPM_SALT_FLAG))
		return failf(m, "svmig.ko cannot tell a TPM-salted sender (too old)");
	ret = svmig_set_key(m->sv, flags, 0, m->s->id, m->s->secret);
	/* The kernel holds the keys now: nothing of the secret stays here. */
	OPENSSL_cleanse(m->s->secret, sizeof(m->s->secret));
	if (ret)
		return failf(m, "SVMIG_IOC_SET_KEY: %s", svmigd_strerror(-ret));
	return 0;
}

static int set_sock_timeout(int fd, int opt, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

static void cut_socket(struct mig *m)
{
	if (m->sock >= 0)
		shutdown(m->sock, SHUT_RDWR);
}

/* ------------------------------------------------------------ target */

/* Forgets what is outside the window: the request check refuses it anyway. */
static void nonces_prune(struct daemon *d, int64_t now)
{
	int64_t window = d->scfg.request_window;
	size_t i, j;

	for (i = j = 0; i < d->n_nonces; i++)
		if (d->nonces[i].time >= now - 2 * window)
			d->nonces[j++] = d->nonces[i];
	d->n_nonces = j;
}

static bool nonce_seen(const struct daemon *d, const uint8_t *nonce)
{
	size_t i;

	for (i = 0; i < d->n_nonces; i++)
		if (!memcmp(d->nonces[i].nonce, nonce, SVMIGD_NONCE_LEN))
			return true;
	return false;
}

/* ---- claims: one migration (or journal review) per VM, one arrival per peer */

static bool claimed(struct daemon *d, const char *what)
{
	size_t i;

	for (i = 0; i < CLAIMS_MAX; i++)
		if (d->claims[i] && !strcmp(d->claims[i], what))
			return true;
	return false;
}

/* Under d->lock: 0 and @what is ours, or -1 (someone has it, or no room). */
static int claim_locked(struct daemon *d, const char *what)
{
	size_t i;

	if (claimed(d, what))
		return -1;
	for (i = 0; i < CLAIMS_MAX; i++)
		if (!d->claims[i]) {
			d->claims[i] = strdup(what);
			return d->claims[i] ? 0 : -1;
		}
	return -1;
}

static int claim(struct daemon *d, const char *what)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = claim_locked(d, what);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static void unclaim(struct daemon *d, const char *what)
{
	size_t i;

	if (!what[0])
		return;
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < CLAIMS_MAX; i++)
		if (d->claims[i] && !strcmp(d->claims[i], what)) {
			free(d->claims[i]);
			d->claims[i] = NULL;
			break;
		}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/*
 * The target's last say on an allowed request (session.h): not a replay,
 * not a VM already migrating here or away, and not a second migration
 * from the same host at once (the data listener tells the migrations
 * arriving at once apart only by their peer's address).
 */
static int check_request(void *arg, const struct svmigd_request_verified *v,
			 char *why, size_t whylen)
{
	struct conn *c = arg;
	struct daemon *d = c->d;
	int64_t now = time(NULL);
	char vm[sizeof(c->claim_vm)], from[sizeof(c->claim_from)];
	int ret = -1;

	snprintf(vm, sizeof(vm), "vm:%s", v->req.vm);
	snprintf(from, sizeof(from), "from:%s", v->req.source);
	pthread_mutex_lock(&d->lock);
	nonces_prune(d, now);
	if (nonce_seen(d, v->req.nonce))
		snprintf(why, whylen, "replayed request (nonce seen before)");
	else if (d->n_nonces == NONCES_MAX)
		snprintf(why, whylen, "too many recent requests");
	else if (claimed(d, vm))
		snprintf(why, whylen, "vm %s is migrating here or away already",
			 v->req.vm);
	else if (claimed(d, from))
		snprintf(why, whylen, "a migration from %s is arriving already "
			 "(one at a time from each host)", v->req.source);
	else if (claim_locked(d, vm))
		snprintf(why, whylen, "too many migrations at once");
	else if (claim_locked(d, from)) {
		snprintf(why, whylen, "too many migrations at once");
		pthread_mutex_unlock(&d->lock);
		unclaim(d, vm);
		return -1;
	} else {
		memcpy(d->nonces[d->n_nonces].nonce, v->req.nonce,
		       SVMIGD_NONCE_LEN);
		d->nonces[d->n_nonces++].time = now;
		snprintf(c->claim_vm, sizeof(c->claim_vm), "%s", vm);
		snprintf(c->claim_from, sizeof(c->claim_from), "%s", from);
		ret = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* session.h's admit: the VMs running and arriving here count (admission.h). */
static const char *admit(void *arg, const struct svmigd_request *r,
			 const struct svmigd_policy_host *me, char *detail,
			 size_t len)
{
	struct daemon *d = ((struct conn *)arg)->d;

	return svmigd_admit_request(d->qmp_dir, r->vm, r->vm_mem_mib,
				    r->vm_vcpus, d->cfg.max_mem_mib,
				    d->cfg.max_vcpus, me->max_mem_mib,
				    me->max_vcpus, me->name, detail, len);
}

/* session.h's session_live: a target session of ours still being served. */
static bool session_live(void *arg, const uint8_t *id)
{
	struct daemon *d = ((struct conn *)arg)->d;
	bool live = false;
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < CAP_CONNS && !live; i++)
		live = d->live_used[i] &&
		       !memcmp(d->live[i], id, SVMIGD_SESSION_ID_LEN);
	pthread_mutex_unlock(&d->lock);
	return live;
}

static void live_add(struct conn *c, const uint8_t *id)
{
	struct daemon *d = c->d;
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < CAP_CONNS; i++)
		if (!d->live_used[i]) {
			memcpy(d->live[i], id, SVMIGD_SESSION_ID_LEN);
			d->live_used[i] = true;
			c->live_slot = (int)i;
			break;
		}
	pthread_mutex_unlock(&d->lock);
}

/*
 * One record of our audit log: a request we verified as the target within
 * the window, whose nonce a restart must not forget.
 */
static int nonce_from_audit(void *arg, struct json_object *rec)
{
	struct daemon *d = arg;
	struct json_object *det, *t;
	uint8_t nonce[SVMIGD_NONCE_LEN];

	if (!json_object_object_get_ex(rec, "details", &det) ||
	    !json_object_object_get_ex(rec, "time", &t) ||
	    !is(jstr(rec, "event"), "request") || !is(jstr(det, "role"), "target") ||
	    !jstr(det, "nonce") ||
	    svmigd_hex_decode(nonce, sizeof(nonce), jstr(det, "nonce")) ||
	    json_object_get_int64(t) < (int64_t)time(NULL) - 2 * d->scfg.request_window ||
	    nonce_seen(d, nonce) || d->n_nonces == NONCES_MAX)
		return 0;
	memcpy(d->nonces[d->n_nonces].nonce, nonce, sizeof(nonce));
	d->nonces[d->n_nonces++].time = json_object_get_int64(t);
	return 0;
}

/*
 * The replay cache lives in memory; the audit log, verified with our own
 * key, refills it at start-up with the requests seen within the window.
 * A log that does not verify cannot be appended to either, and every
 * session audits its REQUEST first: no request is admitted then, so none
 * can be replayed; svmigd still starts, to settle its journal.
 */
static void nonces_load(struct daemon *d)
{
	struct svmigd_audit_report rep;
	char err[512];
	int ret;

	ret = svmigd_audit_walk(d->cfg.audit_log, d->key, nonce_from_audit, d,
				&rep, err, sizeof(err));
	if (ret && ret != -ENOENT)
		logp_(LOG_WARNING, "audit log: %s: no session can be audited", err);
	else
		logp_(LOG_INFO, "replay cache: %zu request nonces of the last %lld s from "
		      "the audit log (%llu records)", d->n_nonces,
		      (long long)(2 * d->scfg.request_window),
		      (unsigned long long)rep.records);
}

/*
 * The data listener, for every target migration at once: accepts each
 * data connection as it comes and keeps it (a bounded number, each for
 * at most IO_TIMEOUT_MS) for the migration whose control peer has its
 * address (target_accept_data).  Runs until svmigd has served its last
 * connection.
 */
static void *data_thread(void *arg)
{
	struct daemon *d = arg;

	for (;;) {
		struct pollfd pfd = { .fd = d->data_fd, .events = POLLIN };
		long long now;
		size_t i, j, same;
		bool quit;

		poll(&pfd, 1, 500);
		pthread_mutex_lock(&d->lock);
		quit = d->data_quit;
		now = now_ms();
		for (i = j = 0; i < d->n_pending; i++)	/* nobody took these */
			if (quit || now - d->pending[i].at > IO_TIMEOUT_MS)
				close(d->pending[i].fd);
			else
				d->pending[j++] = d->pending[i];
		d->n_pending = j;
		pthread_mutex_unlock(&d->lock);
		if (quit)
			return NULL;
		for (;;) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			int fd = accept4(d->data_fd, (struct sockaddr *)&ss, &sl,
					 SOCK_CLOEXEC);

			if (fd < 0)
				break;
			pthread_mutex_lock(&d->lock);
			for (i = same = 0; i < d->n_pending; i++)
				same += same_host(&d->pending[i].peer, &ss);
			if (d->n_pending == DATA_PENDING_MAX ||
			    same >= DATA_PENDING_PER_ADDR) {
				pthread_mutex_unlock(&d->lock);
				logp_(LOG_WARNING, "data connection refused: too many waiting");
				close(fd);
				continue;
			}
			d->pending[d->n_pending++] = (struct data_conn){
				.fd = fd, .peer = ss, .at = now_ms() };
			pthread_cond_broadcast(&d->cond);
			pthread_mutex_unlock(&d->lock);
		}
	}
}

/*
 * This migration's data connection: the first one from the control
 * peer's address accepted since its TLS handshake ended (older ones are
 * left over from earlier attempts).  check_request lets only one
 * migration from each host arrive at a time, so it is this one's.
 */
static int target_accept_data(struct mig *m, const struct sockaddr_storage *peer,
			      long long since)
{
	struct daemon *d = m->d;
	long long deadline = now_ms() + IO_TIMEOUT_MS;

	for (;;) {
		struct pollfd pfd = { .fd = m->conn_fd, .events = POLLIN };
		struct timespec ts;
		size_t i;

		pthread_mutex_lock(&d->lock);
		for (i = 0; i < d->n_pending; i++)
			if (same_host(&d->pending[i].peer, peer) &&
			    d->pending[i].at >= since)
				break;
		if (i < d->n_pending) {
			m->sock = d->pending[i].fd;
			/* in order: a libvirt migration's multifd channels count on it */
			memmove(&d->pending[i], &d->pending[i + 1],
				(d->n_pending - i - 1) * sizeof(d->pending[0]));
			d->n_pending--;
			pthread_mutex_unlock(&d->lock);
			/* blocking, as the kernel's socket use expects */
			fcntl(m->sock, F_SETFL, fcntl(m->sock, F_GETFL) & ~O_NONBLOCK);
			return 0;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
		pthread_mutex_unlock(&d->lock);
		if (now_ms() >= deadline)
			return failf(m, "no data connection from %s within %d s",
				     m->s->peer, IO_TIMEOUT_MS / 1000);
		if (poll(&pfd, 1, 0) == 1 && pfd.revents)
			return failf(m, "%s ended the session before DATA",
				     m->s->peer);
	}
}

static int target_data(struct mig *m, const struct sockaddr_storage *peer,
		       long long since)
{
	char st[64];
	int ret;

	if (qmp_connect(m) || vm_status(m, st, sizeof(st)))
		return -1;
	if (!is(st, "inmigrate"))
		return failf(m, "the destination QEMU is %s, not waiting for a "
			     "migration (-incoming defer)", st);
	/*
	 * -incoming does not imply -S: without it QEMU would start the guest
	 * as soon as the stream is loaded, before the END verifies.  QMP stop
	 * while incoming clears QEMU's autostart, whatever its command line:
	 * only our cont after the COMMIT runs it.
	 */
	if (qmp_cmd(m, "stop", NULL))
		return -1;
	if (vm_size_check(m, &m->s->request.req))
		return -1;
	if (svmig_key(m, SVMIG_ROLE_RECEIVER))
		return -1;
	if (target_accept_data(m, peer, since))
		return -1;
	if (set_sock_timeout(m->sock, SO_RCVTIMEO, 60))
		return failf(m, "SO_RCVTIMEO: %s", svmigd_strerror(errno));
	ret = svmig_attach_socket(m->sv, m->sock);
	if (ret)
		return failf(m, "SVMIG_IOC_ATTACH_SOCK: %s", svmigd_strerror(-ret));
	progress(m, "data", "%s connected; receiver keyed and attached", m->s->peer);
	audit(m, "data", "attached", NULL);
	if (pass_fd_migrate(m, "migrate-incoming") || wait_migration(m, false))
		return -1;
	failpoint("before-verify");
	/*
	 * QEMU's incoming coroutine made the file (shared with m->sv)
	 * O_NONBLOCK, and svmig.ko honours it: RECV must wait for the END,
	 * bounded by SO_RCVTIMEO.
	 */
	if (fcntl(m->sv, F_SETFL, fcntl(m->sv, F_GETFL) & ~O_NONBLOCK))
		return failf(m, "fcntl(O_NONBLOCK off): %s", svmigd_strerror(errno));
	ret = svmig_recv(m->sv, 0, NULL);
	if (ret)
		return failf(m, "no verified END record: %s", svmigd_strerror(-ret));
	ret = svmig_verify(m->sv);
	if (ret)
		return failf(m, "SVMIG_IOC_VERIFY: %s", ret == -EBADMSG ?
			     "the END does not match the stream" : svmigd_strerror(-ret));
	ret = svmig_get_stats(m->sv, &m->st);
	if (ret)
		return failf(m, "SVMIG_IOC_GET_STATS: %s", svmigd_strerror(-ret));
	if (m->st.verdict != SVMIG_VERDICT_VERIFIED || m->st.auth_failures ||
	    m->st.replays || m->st.proto_errors)
		return failf(m, "verdict %u, %llu auth failures, %llu replays, "
			     "%llu protocol errors", m->st.verdict,
			     (unsigned long long)m->st.auth_failures,
			     (unsigned long long)m->st.replays,
			     (unsigned long long)m->st.proto_errors);
	if (vm_status(m, st, sizeof(st)))
		return -1;
	if (is(st, "running")) {
		qmp_execute(m->q, "stop", NULL, NULL);
		return failf(m, "the destination VM resumed before verification");
	}
	audit(m, "data", "verified", NULL);
	return 0;
}

/*
 * After a failed DATA step, asks svmig.ko why: QEMU only saw its read()
 * fail and exits, so the kernel's counters and errno are the evidence of
 * tampering, truncation or a wrong key.  Appended to m->err for the log.
 */
static void kernel_account(struct mig *m)
{
	size_t len = strlen(m->err);

	if (m->sv < 0 || svmig_get_stats(m->sv, &m->st) || !m->st.error)
		return;
	snprintf(m->err + len, sizeof(m->err) - len,
		 "; svmig.ko refused the stream: %s after %llu records "
		 "(%llu auth failures, %llu replays, %llu protocol errors)",
		 m->st.verdict == SVMIG_VERDICT_TRUNCATED ?
		 "it ended before its END record (truncated)" : svmigd_strerror(m->st.error),
		 (unsigned long long)m->st.records,
		 (unsigned long long)m->st.auth_failures,
		 (unsigned long long)m->st.replays,
		 (unsigned long long)m->st.proto_errors);
}

/* Quits the destination QEMU: its VM never ran and never will. */
static void target_discard(struct mig *m)
{
	if (m->q && qmp_usable(m->q) && !qmp_execute(m->q, "quit", NULL, NULL))
		logp_(LOG_INFO, "destination QEMU told to quit");
}

/*
 * The target's journal (journal.h): phase "resumed" for this session,
 * durably, before the cont; a failure to write it keeps the VM paused.
 */
static int target_journal_mark(struct mig *m)
{
	struct svmigd_journal_entry e = {
		.phase = SVMIGD_JOURNAL_RESUMED,
		.time = time(NULL),
	};
	char err[512];

	snprintf(e.vm, sizeof(e.vm), "%s", m->s->request.req.vm);
	snprintf(e.peer, sizeof(e.peer), "%s", m->s->peer);
	snprintf(e.operator, sizeof(e.operator), "%s", m->s->operator);
	memcpy(e.session, m->s->id, sizeof(e.session));
	if (svmigd_journal_write(m->d->target_journal_dir, &e, err, sizeof(err)))
		return failf(m, "%s", err);
	m->journalled = true;
	return 0;
}

/* The entry's answer is in the audit log now, or the resume failed for good. */
static void target_journal_drop(struct mig *m)
{
	char err[512];

	if (!m->journalled)
		return;
	if (svmigd_journal_remove(m->d->target_journal_dir, m->s->request.req.vm,
				  err, sizeof(err)))
		logp_(LOG_ERR, "%s", err);
	m->journalled = false;
}

/* cont, and the VM runs: 0, or -1 with m->err. */
static int target_cont(struct mig *m)
{
	char st[64];

	if (qmp_cmd(m, "cont", NULL) || vm_status(m, st, sizeof(st)))
		return -1;
	if (!is(st, "running"))
		return failf(m, "the destination VM is %s after cont", st);
	return 0;
}

/*
 * The verified VM waits, paused, until the source commits (it will not
 * resume its copy any more): then it runs here and the source may quit
 * its own.  Without a valid COMMIT the source still has its copy, so ours
 * is discarded; committed but unable to resume, ours is kept paused for
 * the operator (the source keeps its paused copy too: no RESUMED).  The
 * journal's "resumed" goes down before the cont: a QUERY answered after a
 * crash between the two says "resumed", and our successor resumes it.
 */
static void target_handover(struct mig *m)
{
	const struct svmigd_session_cfg *cfg = &m->d->scfg;
	uint8_t receipt[SVMIGD_SHA256_LEN];
	char err[SVMIGD_SESSION_ERR_LEN];
	uint64_t records = m->st.records + failpoint_set("receipt-miscount");
	int ret;

	if (svmigd_session_receipt_send(m->conn, cfg, m->s, true, records,
					m->st.bytes, NULL, receipt, err,
					sizeof(err))) {
		logp_(LOG_ERR, "receipt: %s; discarding the VM", err);
		target_discard(m);
		return;
	}
	logp_(LOG_INFO, "vm %s verified; receipt sent, waiting for the COMMIT",
	      m->s->request.req.vm);
	if (svmigd_session_handover_recv(m->conn, cfg, m->s, SVMIGD_COMMIT,
					 receipt, err, sizeof(err))) {
		logp_(LOG_WARNING, "%s; the source keeps its copy: discarding ours", err);
		target_discard(m);
		return;
	}
	ret = target_journal_mark(m);
	if (!ret) {
		failpoint("before-cont");
		ret = target_cont(m);
	}
	if (ret) {
		logp_(LOG_ERR, "COMMIT received but the VM does not run (%s): it stays "
		      "paused here and on %s: CHECK IT BY HAND", m->err,
		      m->s->peer);
		audit(m, "failed", "resume", m->err);
		target_journal_drop(m);	/* a QUERY says "committed" now */
		return;
	}
	logp_(LOG_INFO, "vm %s resumed", m->s->request.req.vm);
	ret = svmigd_session_handover_send(m->conn, cfg, m->s, SVMIGD_RESUMED,
					   receipt, err, sizeof(err));
	if (!ret || ret == -ENOTCONN)	/* audited: the log answers now */
		target_journal_drop(m);
	if (ret)
		logp_(LOG_WARNING, "%s (the VM runs here; %s keeps its paused copy until "
		      "it asks again or an operator settles it)", err, m->s->peer);
	else if (svmigd_audit_heads_exchange(m->conn, cfg, m->s, err, sizeof(err)))
		logp_(LOG_WARNING, "audit heads: %s (the migration is done)", err);
}

/* ------------------------------------------------------------ libvirt */

/* Migrations libvirt drives (libvirt.h): the daemon's side of them. */

static void lv_progress(void *arg, const char *step, const char *detail)
{
	progress(arg, step, "%s", detail);
}

/* The libvirt URI of host @name (svmigd --libvirt-peer NAME=URI), or NULL. */
static const char *lv_peer_uri(struct daemon *d, const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; i < d->o->n_libvirt_peers; i++)
		if (!strncmp(d->o->libvirt_peers[i], name, n) &&
		    d->o->libvirt_peers[i][n] == '=')
			return d->o->libvirt_peers[i] + n + 1;
	return NULL;
}

/* The target: libvirt's if svmigd has one and no QMP socket names the VM. */
static bool lv_target(struct mig *m)
{
	char path[1024];

	if (!m->d->o->libvirt_uri)
		return false;
	snprintf(path, sizeof(path), "%s/%s.qmp", m->d->qmp_dir, m->s->request.req.vm);
	return access(path, F_OK) != 0;
}

/* What a libvirt migration's multifd channels need of the daemon. */
struct lv_data {
	struct mig *m;
	const char *addr;			/* source: the target's data address */
	const struct sockaddr_storage *peer;	/* target: the peer's address */
	long long since;			/* target: its TLS handshake ended */
};

/* Source: one more data connection to the target. */
static int lv_connect_data(void *arg)
{
	struct lv_data *ld = arg;
	int one = 1, fd = tcp_connect(ld->addr, IO_TIMEOUT_MS);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_sock_timeout(fd, SO_SNDTIMEO, 60);
	set_sock_timeout(fd, SO_RCVTIMEO, 60);
	return fd;
}

/* Target: the peer's next data connection if one is waiting, else -1. */
static int lv_take_data(void *arg)
{
	struct lv_data *ld = arg;
	struct daemon *d = ld->m->d;
	int fd = -1;
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->n_pending; i++)
		if (same_host(&d->pending[i].peer, ld->peer) &&
		    d->pending[i].at >= ld->since)
			break;
	if (i < d->n_pending) {
		fd = d->pending[i].fd;
		memmove(&d->pending[i], &d->pending[i + 1],
			(d->n_pending - i - 1) * sizeof(d->pending[0]));
		d->n_pending--;
	}
	pthread_mutex_unlock(&d->lock);
	if (fd >= 0) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		set_sock_timeout(fd, SO_SNDTIMEO, 60);
		set_sock_timeout(fd, SO_RCVTIMEO, 60);
	}
	return fd;
}

static void lv_setup(struct mig *m, struct svmigd_lvmig *x)
{
	*x = (struct svmigd_lvmig){
		.local_uri = m->d->o->libvirt_uri,
		.peer_uri = lv_peer_uri(m->d, m->s->peer),
		.relay_dir = m->d->o->relay_dir ?: SVMIGD_RELAY_DIR_DEFAULT,
		.sock = m->sock, .ctl_fd = m->conn_fd, .idle_ms = 2 * IO_TIMEOUT_MS,
		.no_tpm = m->d->o->no_tpm_salt, .conn = m->conn, .scfg = &m->d->scfg,
		.s = m->s, .progress = lv_progress, .arg = m,
	};
}

/* Source, before the session: libvirt knows the VM and the target. */
static int lv_source_check(struct mig *m, const struct svmigd_request *r)
{
	char err[512];

	if (!m->d->o->libvirt_uri)
		return failf(m, "svmigd runs without --libvirt: no libvirt migrations");
	if (!lv_peer_uri(m->d, r->target))
		return failf(m, "no libvirt URI for %s (svmigd --libvirt-peer %s=URI)",
			     r->target, r->target);
	if (svmigd_lv_check(m->d->o->libvirt_uri, r->vm, r->vm_mem_mib, r->vm_vcpus,
			    err, sizeof(err)))
		return failf(m, "%s", err);
	return 0;
}

/* Source, after the session: the relay and libvirt's migration; the result. */
static void lv_source(struct mig *m, const char *data_addr, unsigned int channels)
{
	struct lv_data ld = { .m = m, .addr = data_addr };
	struct svmigd_lvmig x;
	int one = 1, ret;

	m->sock = tcp_connect(data_addr, IO_TIMEOUT_MS);
	if (m->sock < 0) {
		failf(m, "cannot connect to %s's data address %s: %s", m->s->peer,
		      data_addr, svmigd_strerror(errno));
		audit(m, "failed", "data", m->err);
		result(m->client, false, m->err, NULL);
		return;
	}
	setsockopt(m->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_sock_timeout(m->sock, SO_SNDTIMEO, 60);
	set_sock_timeout(m->sock, SO_RCVTIMEO, 60);
	progress(m, "data", "connected to %s; keying channels 0 (stream) and 1 "
		 "(return path)", data_addr);
	audit(m, "data", "attached", NULL);
	lv_setup(m, &x);
	x.channels = channels;
	x.data_conn = lv_connect_data;
	x.data_arg = &ld;
	ret = svmigd_lv_source(&x);
	m->st = x.st;
	if (ret == SVMIGD_LV_DONE) {
		audit(m, "completed", "quit", NULL);
		result(m->client, true, NULL, &x.receipt);
		return;
	}
	snprintf(m->err, sizeof(m->err), "%s", x.err);
	progress(m, "data", "failed: %s", m->err);
	audit(m, "failed", ret == SVMIGD_LV_IN_DOUBT ? "resume" : "data", m->err);
	result(m->client, false, m->err, x.receipt.records ? &x.receipt : NULL);
}

/* Target, after the session: the relay into libvirt's QEMU, then the handover. */
static void lv_target_data(struct mig *m, const struct sockaddr_storage *peer,
			   long long since)
{
	struct lv_data ld = { .m = m, .peer = peer, .since = since };
	char err[SVMIGD_SESSION_ERR_LEN];
	struct svmigd_lvmig x;
	int ret;

	if (target_accept_data(m, peer, since)) {
		char reason[SVMIGD_REASON_MAX + 1];

		logp_(LOG_ERR, "DATA failed: %s", m->err);
		audit(m, "failed", "data", m->err);
		svmigd_stream_reason(NULL, m->err, reason, sizeof(reason));
		if (svmigd_session_receipt_send(m->conn, &m->d->scfg, m->s, false, 0, 0,
						reason, NULL, err, sizeof(err)))
			logp_(LOG_ERR, "receipt: %s", err);
		return;
	}
	set_sock_timeout(m->sock, SO_SNDTIMEO, 60);
	set_sock_timeout(m->sock, SO_RCVTIMEO, 60);
	audit(m, "data", "attached", NULL);
	lv_setup(m, &x);
	x.data_conn = lv_take_data;
	x.data_arg = &ld;
	ret = svmigd_lv_target(&x);
	m->st = x.st;
	if (ret == SVMIGD_LV_DONE) {
		logp_(LOG_INFO, "vm %s verified and running here (libvirt)",
		      m->s->request.req.vm);
		return;
	}
	snprintf(m->err, sizeof(m->err), "%s", x.err);
	kernel_account(m);
	logp_(LOG_ERR, "DATA failed: %s", m->err);
	audit(m, "failed", ret == SVMIGD_LV_IN_DOUBT ? "resume" : "data", m->err);
}

/* The connection's peer is authenticated: its unauthenticated slot is free. */
static void conn_authenticated(struct conn *c)
{
	struct daemon *d = c->d;

	pthread_mutex_lock(&d->lock);
	if (c->unauth_slot >= 0) {
		d->unauth_used[c->unauth_slot] = false;
		d->n_unauth--;
		c->unauth_slot = -1;
	}
	pthread_mutex_unlock(&d->lock);
}

/*
 * DATA failed: the destination QEMU quits, and the source learns why in a
 * signed "failed" receipt (verdict.h: the kernel's refusal, else ours).
 */
static void target_failed(struct mig *m, const struct svmigd_session_cfg *scfg)
{
	char reason[SVMIGD_REASON_MAX + 1], err[SVMIGD_SESSION_ERR_LEN];
	struct svmig_stats st;
	bool have_stats = m->sv >= 0 && !svmig_get_stats(m->sv, &st);

	svmigd_stream_reason(have_stats ? &st : NULL, m->err, reason,
			     sizeof(reason));
	kernel_account(m);
	logp_(LOG_ERR, "DATA failed: %s", m->err);
	cut_socket(m);
	/* right after the cut, while the source waits for it */
	if (svmigd_session_receipt_send(m->conn, scfg, m->s, false,
					have_stats ? st.records : 0,
					have_stats ? st.bytes : 0, reason, NULL,
					err, sizeof(err)))
		logp_(LOG_ERR, "receipt: %s", err);
	audit(m, "failed", "data", m->err);
	target_discard(m);
}

/*
 * A peer's control connection, served to its end as the target (or as
 * the attester, or answering a QUERY).  Before the peer is known to be a
 * host of the policy it has d->preauth_ms for the TLS handshake and its
 * first message, and frames of at most PREAUTH_FRAME_MAX bytes.
 */
static void serve_target(struct conn *c)
{
	struct daemon *d = c->d;
	struct svmigd_session s;
	struct svmigd_session_cfg scfg = d->scfg;
	struct mig m = { .d = d, .s = &s, .conn_fd = c->fd, .sv = -1, .sock = -1,
			 .client = -1 };
	long long deadline = now_ms() + d->preauth_ms;
	char err[SVMIGD_SESSION_ERR_LEN];
	const char *cn;
	int ret;

	memset(&s, 0, sizeof(s));
	ret = svmig_tls_accept(d->tls, c->fd, d->preauth_ms, &m.conn, err,
			       sizeof(err));
	if (ret) {
		logp_(LOG_ERR, "control connection: %s", err);
		return;
	}
	c->since = now_ms();
	svmig_tls_set_frame_max(m.conn, PREAUTH_FRAME_MAX);
	cn = svmig_tls_peer_cn(m.conn);
	if (!cn || !svmigd_policy_host(d->policy, cn)) {
		snprintf(err, sizeof(err), "the peer's certificate (CN %s) names no "
			 "host of the policy", cn ? cn : "-");
		audit_early(d, "refused", "target", NULL, cn, "tls", err);
		svmig_tls_shutdown(m.conn, 0);
		goto out;
	}
	/* a host of the policy: the full frame size, the first message soon */
	conn_authenticated(c);
	svmig_tls_set_frame_max(m.conn, 0);
	scfg.first_timeout_ms = (int)(deadline - now_ms());
	if (scfg.first_timeout_ms < 1)
		scfg.first_timeout_ms = 1;
	scfg.check_request = check_request;
	scfg.admit = admit;
	scfg.check_arg = c;
	scfg.session_live = session_live;
	ret = svmigd_session_target(m.conn, &scfg, &s, err, sizeof(err));
	if (ret == SVMIGD_SESSION_PROBED ||	/* attestation only */
	    ret == SVMIGD_SESSION_ANSWERED) {	/* how a session ended */
		logp_(LOG_ERR, "%s", err);
		svmig_tls_shutdown(m.conn, 2000);
		goto out;
	}
	if (ret) {
		logp_(LOG_WARNING, "session refused or failed: %s", err);
		goto out;
	}
	live_add(c, s.id);
	logp_(LOG_INFO, "session with %s for vm %s (operator %s, role %s)", s.peer,
	      s.request.req.vm, s.operator, s.role);
	if (lv_target(&m)) {
		lv_target_data(&m, &c->peer, c->since);
		goto done;
	}
	ret = target_data(&m, &c->peer, c->since);
	OPENSSL_cleanse(s.secret, sizeof(s.secret));
	if (ret) {
		target_failed(&m, &scfg);
	} else {
		target_handover(&m);
	}
done:
	svmig_tls_shutdown(m.conn, 2000);
out:
	svmigd_session_wipe(&s);
	if (m.q)
		qmp_close(m.q);
	close_fd(&m.sv);
	close_fd(&m.sock);
	svmig_tls_free(m.conn);
}

/* ------------------------------------------------------------ source */

static int peer_addrs(struct daemon *d, const char *name, char *ctl,
		      size_t clen, char *data, size_t dlen)
{
	size_t n = strlen(name), i;

	for (i = 0; i < d->o->n_peers; i++) {
		const char *p = d->o->peers[i], *comma;

		if (strncmp(p, name, n) || p[n] != '=')
			continue;
		p += n + 1;
		comma = strchr(p, ',');
		if (comma) {
			snprintf(ctl, clen, "%.*s", (int)(comma - p), p);
			snprintf(data, dlen, "%s", comma + 1);
		} else {
			char host[256], port[32];
			uint64_t num;

			snprintf(ctl, clen, "%s", p);
			if (split_hostport(p, host, sizeof(host), port, sizeof(port)) ||
			    svmigd_parse_u64(port, 1, 65534, &num))
				return -EINVAL;
			snprintf(data, dlen, strchr(host, ':') ? "[%s]:%d" : "%s:%d",
				 host, (int)num + 1);
		}
		return 0;
	}
	return -ENOENT;
}

/* ------------------------------------------------------------ attest */

/* @key: an X.509 name in RFC 2253 (controls and non-ASCII escaped). */
static void add_x509_name(struct json_object *o, const char *key,
			  const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) > 0 && n < INT_MAX)
		json_object_object_add(o, key,
				       json_object_new_string_len(p, (int)n));
	BIO_free(b);
}

/* The peer's verified certificate: names, fingerprint, expiry. */
static void attest_cert(struct json_object *o, struct svmig_tls_conn *conn)
{
	X509 *cert = svmig_tls_peer_cert(conn);
	uint8_t fpr[SVMIG_TLS_FPR_LEN];
	struct json_object *c;
	BIO *b;
	char *p;
	long n;

	if (!cert)
		return;
	c = json_object_new_object();
	add_x509_name(c, "subject", X509_get_subject_name(cert));
	add_x509_name(c, "issuer", X509_get_issuer_name(cert));
	if (!svmig_tls_peer_fingerprint(conn, fpr))
		add_hex32(c, "sha256", fpr);
	b = BIO_new(BIO_s_mem());
	if (b && ASN1_TIME_print(b, X509_get0_notAfter(cert)) &&
	    (n = BIO_get_mem_data(b, &p)) > 0 && n < INT_MAX)
		json_object_object_add(c, "not_after",
				       json_object_new_string_len(p, (int)n));
	BIO_free(b);
	json_object_object_add(o, "certificate", c);
}

static const uint8_t *pcr_value(const struct svmigd_tpm_pcrs *p,
				unsigned int idx)
{
	unsigned int i;

	for (i = 0; i < p->count && i < SVMIGD_TPM_PCR_COUNT; i++)
		if (p->index[i] == idx)
			return p->value[i];
	return NULL;
}

/* [{"index":N,"value":..,"reference":..,"match":..}]: quoted, reference. */
static struct json_object *attest_pcrs(const struct svmigd_attestation *a)
{
	struct json_object *arr = json_object_new_array();
	unsigned int i;

	for (i = 0; arr && i < SVMIGD_TPM_PCR_COUNT; i++) {
		const uint8_t *v = a->have_pcrs ? pcr_value(&a->pcrs, i) : NULL;
		const uint8_t *r = a->known ? pcr_value(&a->reference, i) :
				   NULL;
		struct json_object *e;

		if (!v && !r)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "index", json_object_new_int((int)i));
		if (v)
			add_hex32(e, "value", v);
		if (r)
			add_hex32(e, "reference", r);
		json_object_object_add(e, "match", json_object_new_boolean(
			v && r && !memcmp(v, r, SVMIGD_TPM_DIGEST_LEN)));
		json_object_array_add(arr, e);
	}
	return arr;
}

/* svmigctl attest's result: the verdict and everything it rests on. */
static struct json_object *attest_json(const char *peer, const char *addr,
				       struct svmig_tls_conn *conn,
				       const struct svmigd_attestation *a,
				       int ret, const char *err)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "type", "result");
	json_object_object_add(o, "ok", json_object_new_boolean(!ret));
	if (ret)
		add_str(o, "error", err);
	if (peer[0])
		add_str(o, "peer", peer);
	if (addr[0])
		add_str(o, "address", addr);
	add_str(o, "verdict", !ret ? "trusted" :
		ret == -EACCES || ret == -ECONNABORTED ? "refused" : "failed");
	if (conn)
		attest_cert(o, conn);
	if (a->have_ak)
		add_hex32(o, "ak_sha256", a->ak_sha256);
	if (a->known)
		add_hex32(o, "ak_reference", a->ak_reference);
	if (a->have_ak && a->known)
		json_object_object_add(o, "ak_match", json_object_new_boolean(
			!memcmp(a->ak_sha256, a->ak_reference,
				SVMIGD_SHA256_LEN)));
	if (a->have_quote) {
		add_hex32(o, "quote_sha256", a->quote_sha256);
		add_hex32(o, "nonce", a->nonce);
	}
	if (a->known || a->have_pcrs)
		json_object_object_add(o, "pcrs", attest_pcrs(a));
	return o;
}

/* TLS to @peer at its --peer address, if it is a host of the policy. */
static int attest_connect(struct daemon *d, const char *peer, char *ctl,
			  size_t clen, int *fd, struct svmig_tls_conn **conn,
			  char *err, size_t errlen)
{
	char data[300];

	if (!svmigd_policy_host(d->policy, peer))
		return svmigd_fail(err, errlen, -EACCES,
				   "%s is not a host of the policy: no reference values to check it against",
				   peer);
	if (peer_addrs(d, peer, ctl, clen, data, sizeof(data))) {
		ctl[0] = '\0';
		return svmigd_fail(err, errlen, -ENOENT,
				   "no address for %s (svmigd --peer %s=HOST:PORT)",
				   peer, peer);
	}
	*fd = tcp_connect(ctl, IO_TIMEOUT_MS);
	if (*fd < 0)
		return svmigd_fail(err, errlen, -errno,
				   "cannot connect to %s at %s: %s", peer, ctl,
				   svmigd_strerror(errno));
	return svmig_tls_connect(d->tls, *fd, peer, IO_TIMEOUT_MS, conn, err,
				 errlen);
}

/* {"cmd":"attest","peer":NAME}: the peer's quote, verified (session.h). */
static void serve_attest(struct daemon *d, int client, struct json_object *req)
{
	struct svmigd_attestation a;
	struct svmig_tls_conn *conn = NULL;
	struct json_object *v, *o;
	char err[SVMIG_TLS_ERR_LEN], ctl[300] = "";
	const char *peer = NULL;
	int fd = -1, ret;

	memset(&a, 0, sizeof(a));
	if (json_object_object_get_ex(req, "peer", &v) &&
	    json_object_is_type(v, json_type_string))
		peer = json_object_get_string(v);
	if (!peer || !svmigd_valid_host_name(peer)) {
		peer = "";
		ret = svmigd_fail(err, sizeof(err), -EINVAL,
				  "attest: no valid peer name");
	} else {
		ret = attest_connect(d, peer, ctl, sizeof(ctl), &fd, &conn,
				     err, sizeof(err));
	}
	if (!ret)
		ret = svmigd_session_attest_peer(conn, &d->scfg, &a, err,
						 sizeof(err));
	if (!ret)
		svmig_tls_shutdown(conn, 2000);
	logp_(LOG_INFO, "attest %s: %s%s", peer, ret ? "not trusted: " : "trusted",
	      ret ? err : "");
	o = attest_json(peer, ctl, conn, &a, ret, err);
	ctl_send(client, o);
	json_object_put(o);
	svmig_tls_free(conn);
	close_fd(&fd);
}

/* ------------------------------------------------------------ journal */

/*
 * Writes this migration's journal entry in @phase before the step it
 * names: without it a successor could not tell whether the target may run
 * the VM, so a failure to write it fails the migration.
 */
static int journal_mark(struct mig *m, enum svmigd_journal_phase phase)
{
	struct svmigd_journal_entry e = {
		.phase = phase,
		.was_running = m->was_running,
		.time = time(NULL),
	};
	char err[512];

	snprintf(e.vm, sizeof(e.vm), "%s", m->s->request.req.vm);
	snprintf(e.peer, sizeof(e.peer), "%s", m->s->peer);
	snprintf(e.operator, sizeof(e.operator), "%s", m->s->operator);
	memcpy(e.session, m->s->id, sizeof(e.session));
	if (svmigd_journal_write(m->d->journal_dir, &e, err, sizeof(err)))
		return failf(m, "%s", err);
	m->journalled = true;
	return 0;
}

/* The outcome is settled (the source runs, or quit for the target's copy). */
static void journal_settled(struct mig *m)
{
	char err[512];

	if (!m->journalled)
		return;
	if (svmigd_journal_remove(m->d->journal_dir, m->s->request.req.vm,
				  err, sizeof(err)))
		logp_(LOG_ERR, "%s", err);
	m->journalled = false;
}

/* ------------------------------------------------------------ source: DATA */

static int source_data(struct mig *m, const char *data_addr)
{
	struct json_object *args;
	char st[64];
	int one = 1, ret;

	if (qmp_connect(m) || vm_status(m, st, sizeof(st)))
		return -1;
	if (is(st, "inmigrate"))
		return failf(m, "the source QEMU is waiting for a migration itself");
	m->was_running = is(st, "running");
	if (journal_mark(m, SVMIGD_JOURNAL_DATA))
		return -1;
	if (svmig_key(m, SVMIG_ROLE_SENDER))
		return -1;
	m->sock = tcp_connect(data_addr, IO_TIMEOUT_MS);
	if (m->sock < 0)
		return failf(m, "cannot connect to %s's data address %s: %s",
			     m->s->peer, data_addr, svmigd_strerror(errno));
	setsockopt(m->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (set_sock_timeout(m->sock, SO_SNDTIMEO, 60))
		return failf(m, "SO_SNDTIMEO: %s", svmigd_strerror(errno));
	ret = svmig_attach_socket(m->sv, m->sock);
	if (ret)
		return failf(m, "SVMIG_IOC_ATTACH_SOCK: %s", svmigd_strerror(-ret));
	progress(m, "data", "connected to %s; sender keyed and attached", data_addr);
	audit(m, "data", "attached", NULL);
	/* QEMU's default 32 MiB/s may not converge with a busy guest. */
	args = json_object_new_object();
	json_object_object_add(args, "max-bandwidth",
			       json_object_new_int64(1LL << 30));
	if (qmp_execute(m->q, "migrate-set-parameters", args, NULL))
		logp_(LOG_ERR, "migrate-set-parameters: %s", qmp_strerror(m->q));
	json_object_put(args);
	if (pass_fd_migrate(m, "migrate") || wait_migration(m, true))
		return -1;
	/* Whatever QEMU did to the shared file's flags, FINISH waits (SO_SNDTIMEO). */
	if (fcntl(m->sv, F_SETFL, fcntl(m->sv, F_GETFL) & ~O_NONBLOCK))
		return failf(m, "fcntl(O_NONBLOCK off): %s", svmigd_strerror(errno));
	ret = svmig_finish(m->sv);
	if (ret)
		return failf(m, "SVMIG_IOC_FINISH: %s", svmigd_strerror(-ret));
	/* what the receipt's counts must match */
	ret = svmig_get_stats(m->sv, &m->st);
	if (ret)
		return failf(m, "SVMIG_IOC_GET_STATS: %s", svmigd_strerror(-ret));
	close_fd(&m->sv);
	close_fd(&m->sock);
	progress(m, "data", "QEMU completed; END sent (%llu records)",
		 (unsigned long long)m->st.records);
	return 0;
}

/*
 * Puts the source VM back as it was before a failed migration: running
 * again if it ran (a paused VM stays paused).  0 once that is so, and the
 * journal entry is removed; -1 when it needs an operator.
 */
static int source_resume(struct mig *m)
{
	struct json_object *ret;
	const char *st;
	int rc = 0;

	if (!m->q || !qmp_usable(m->q)) {
		progress(m, "recover", "no QMP connection to the source QEMU: CHECK IT BY HAND");
		return -1;
	}
	qmp_execute(m->q, "migrate_cancel", NULL, NULL);
	wait_terminal(m);
	if (qmp_execute(m->q, "query-status", NULL, &ret)) {
		progress(m, "recover", "cannot query the source VM: CHECK IT BY HAND");
		return -1;
	}
	st = jstr(ret, "status") ?: "?";
	if (is(st, "running")) {
		progress(m, "recover", "the source VM is running");
	} else if (!m->was_running) {
		progress(m, "recover", "the source VM is %s and stays paused, "
			 "as it was before the migration", st);
	} else if (!qmp_execute(m->q, "cont", NULL, NULL)) {
		progress(m, "recover", "the source VM was %s: resumed it", st);
	} else {
		progress(m, "recover", "the source VM is %s, cont failed: CHECK IT BY HAND", st);
		rc = -1;
	}
	json_object_put(ret);
	if (!rc)
		journal_settled(m);
	return rc;
}

/*
 * After a valid "ok" receipt: COMMIT (from now on the source VM is never
 * resumed here), then quit it on the target's RESUMED.  Without RESUMED
 * nobody can tell from here whether the target runs the VM: the source
 * keeps its copy paused and the operator decides (the target's audit log
 * or svmigctl status there tells).
 */
static int source_handover(struct mig *m, const struct svmigd_receipt *r)
{
	const struct svmigd_session_cfg *cfg = &m->d->scfg;
	char err[SVMIGD_SESSION_ERR_LEN];
	int ret;

	progress(m, "commit", "valid receipt (%llu records verified): "
		 "committing", (unsigned long long)r->records);
	if (journal_mark(m, SVMIGD_JOURNAL_COMMIT)) {
		audit(m, "failed", "commit", m->err);
		source_resume(m);
		return -1;
	}
	failpoint("before-commit");
	ret = svmigd_session_handover_send(m->conn, cfg, m->s, SVMIGD_COMMIT,
					   r->sha256, err, sizeof(err));
	if (ret && ret != -ENOTCONN) {
		failf(m, "%s", err);
		audit(m, "failed", "commit", m->err);
		source_resume(m);
		return -1;
	}
	if (!ret) {
		failpoint("after-commit");
		ret = svmigd_session_handover_recv(m->conn, cfg, m->s,
						   SVMIGD_RESUMED, r->sha256,
						   err, sizeof(err));
	}
	if (ret) {
		failf(m, "IN DOUBT: %s; %s may or may not run vm %s, so the "
		      "source VM stays paused here: check %s, then quit or "
		      "cont the source by hand", err, m->s->peer,
		      m->s->request.req.vm, m->s->peer);
		progress(m, "resumed", "%s", m->err);
		return -1;
	}
	if (qmp_execute(m->q, "quit", NULL, NULL) && qmp_usable(m->q))
		progress(m, "quit", "quit: %s", qmp_strerror(m->q));
	else
		progress(m, "quit", "%s resumed the VM: source QEMU told to quit",
			 m->s->peer);
	journal_settled(m);
	audit(m, "completed", "quit", NULL);
	if (svmigd_audit_heads_exchange(m->conn, cfg, m->s, err, sizeof(err)))
		logp_(LOG_WARNING, "audit heads: %s (the migration is done)", err);
	return 0;
}

/* ------------------------------------------------------------ restart */

/* A stand-in for the session an entry was written in: enough for QMP and audit. */
static void journal_mig(struct daemon *d, const struct svmigd_journal_entry *e,
			struct svmigd_session *s, struct mig *m)
{
	memset(s, 0, sizeof(*s));
	s->source = true;
	memcpy(s->id, e->session, sizeof(s->id));
	snprintf(s->peer, sizeof(s->peer), "%s", e->peer);
	snprintf(s->operator, sizeof(s->operator), "%s", e->operator);
	snprintf(s->request.req.vm, sizeof(s->request.req.vm), "%s", e->vm);
	memset(m, 0, sizeof(*m));
	m->d = d;
	m->s = s;
	m->conn_fd = m->sv = m->sock = m->client = -1;
	m->was_running = e->was_running;
	m->journalled = true;
}

/*
 * No COMMIT left this host (phase "data"), so the target discards its
 * copy (it never resumes without one): the source VM is put back as it
 * was.  Runs only between migrations, so no DATA step of ours is live.
 */
static void journal_resume(struct mig *m)
{
	char why[1100];

	progress(m, "recover", "vm %s: the migration to %s was in DATA when svmigd "
		 "stopped; no COMMIT was sent", m->s->request.req.vm, m->s->peer);
	if (qmp_connect(m)) {
		progress(m, "recover", "%s: CHECK IT BY HAND", m->err);
		return;
	}
	if (source_resume(m))
		return;
	snprintf(why, sizeof(why), "svmigd restarted during DATA, before any COMMIT: "
		 "the source VM is back as it was (%s)",
		 m->was_running ? "running" : "paused");
	audit_with(m, "recovered", "restart", "outcome", why);
}

/* Asks the target how session m->s ended (outcome.h); 0 and *out, or -1. */
static int ask_outcome(struct mig *m, enum svmigd_outcome *out)
{
	struct daemon *d = m->d;
	char ctl[300], data[300], err[SVMIGD_SESSION_ERR_LEN];
	int ret = -1;

	if (peer_addrs(d, m->s->peer, ctl, sizeof(ctl), data, sizeof(data)))
		return failf(m, "no address for %s (svmigd --peer)", m->s->peer);
	m->conn_fd = tcp_connect(ctl, OUTCOME_TIMEOUT_MS);
	if (m->conn_fd < 0)
		return failf(m, "cannot connect to %s at %s: %s", m->s->peer, ctl,
			     svmigd_strerror(errno));
	if (svmig_tls_connect(d->tls, m->conn_fd, m->s->peer, OUTCOME_TIMEOUT_MS,
			      &m->conn, err, sizeof(err)))
		failf(m, "%s", err);
	else if (svmigd_outcome_ask(m->conn, &d->scfg, m->s->id, m->s->operator,
				    m->s->request.req.vm, out, err, sizeof(err)))
		failf(m, "%s", err);
	else
		ret = 0;
	if (m->conn)
		svmig_tls_shutdown(m->conn, 2000);
	svmig_tls_free(m->conn);
	m->conn = NULL;
	close_fd(&m->conn_fd);
	return ret;
}

/*
 * The target's signed word settles it: its copy runs, or never will.
 * Either way the source QEMU must be made to match, over QMP: while it
 * cannot be reached the entry stays (a paused copy nobody tracks could
 * be resumed later, next to the target's).
 */
static void journal_decided(struct mig *m, enum svmigd_outcome o)
{
	char why[300];

	if (!m->q) {
		progress(m, "recover", "%s's signed OUTCOME says %s for vm %s, but the "
			 "source QEMU cannot be reached (%s): the entry stays; "
			 "svmigctl settle it once that QEMU is gone or reachable",
			 m->s->peer, svmigd_outcome_name(o), m->s->request.req.vm,
			 m->err[0] ? m->err : "QMP");
		return;
	}
	if (o == SVMIGD_OUTCOME_RESUMED) {
		if (qmp_execute(m->q, "quit", NULL, NULL) && qmp_usable(m->q)) {
			progress(m, "recover", "%s resumed vm %s, but quit failed "
				 "here: %s: CHECK IT BY HAND", m->s->peer,
				 m->s->request.req.vm, qmp_strerror(m->q));
			return;
		}
		snprintf(why, sizeof(why), "in doubt, then %s's signed OUTCOME "
			 "said resumed: the source QEMU was told to quit", m->s->peer);
	} else {
		if (source_resume(m))
			return;
		snprintf(why, sizeof(why), "in doubt, then %s's signed OUTCOME "
			 "said not-committed: the source VM is back as it was (%s)",
			 m->s->peer, m->was_running ? "running" : "paused");
	}
	progress(m, "recover", "vm %s: %s", m->s->request.req.vm, why);
	audit_with(m, "settled", "restart", "outcome", why);
	journal_settled(m);
}

/*
 * The COMMIT may have reached the target (phase "commit"): only the
 * target knows whether its copy runs.  Only its signed OUTCOME
 * ("resumed" or "not-committed") or an operator's svmigctl settle
 * settles the entry: not a QMP failure, not a source VM found running
 * (someone ran cont by hand: two copies may run, said loudly), not a
 * timeout.  @ask: the target is asked now; @loud: say so when it stays.
 */
static void journal_in_doubt(struct mig *m, bool ask, bool loud)
{
	char st[64] = "unreachable (QMP)", hex[2 * SVMIGD_SESSION_ID_LEN + 1];
	enum svmigd_outcome o = SVMIGD_OUTCOME_UNKNOWN;
	char qmp_err[sizeof(m->err)];

	svmigd_hex_encode(hex, m->s->id, SVMIGD_SESSION_ID_LEN);
	m->err[0] = '\0';
	if (qmp_connect(m) || vm_status(m, st, sizeof(st))) {
		snprintf(st, sizeof(st), "unreachable (QMP)");
		if (m->q) {
			qmp_close(m->q);
			m->q = NULL;
		}
	}
	snprintf(qmp_err, sizeof(qmp_err), "%s", m->err);
	if (is(st, "running") && (ask || loud))
		logp_(LOG_CRIT, "journal: vm %s: the source VM RUNS while its migration "
		      "to %s is in doubt (session %s): if %s resumed it too, two "
		      "copies run", m->s->request.req.vm, m->s->peer, hex, m->s->peer);
	if (!ask)
		return;
	m->err[0] = '\0';
	if (!ask_outcome(m, &o) && (o == SVMIGD_OUTCOME_RESUMED ||
				    o == SVMIGD_OUTCOME_NOT_COMMITTED)) {
		journal_decided(m, o);
		return;
	}
	if (!loud)
		return;
	logp_(LOG_CRIT, "journal: vm %s: IN DOUBT: the COMMIT of session %s may have reached "
	      "%s, which %s; the source VM is %s%s%s and the entry stays until %s "
	      "answers or an operator runs svmigctl settle", m->s->request.req.vm,
	      hex, m->s->peer, m->err[0] ? m->err : svmigd_outcome_name(o), st,
	      qmp_err[0] ? ": " : "", qmp_err, m->s->peer);
	audit_with(m, "in-doubt", "restart", "outcome",
		   "svmigd restarted after the COMMIT: the entry stays in doubt");
}

enum review_mode {
	REVIEW_STARTUP,		/* what a predecessor left: act, ask, say so */
	REVIEW_RETRY,		/* now and then: ask the targets again */
	REVIEW_QUICK,		/* notice what operators settled, ask nobody */
};

struct review {
	struct daemon *d;
	enum review_mode mode;
};

static int journal_review_one(void *arg, const struct svmigd_journal_entry *e)
{
	struct review *rv = arg;
	struct svmigd_session s;
	struct mig m;
	char vmclaim[SVMIGD_NAME_MAX + 8];

	/* a migration of this VM, or another review of it, is at work */
	snprintf(vmclaim, sizeof(vmclaim), "vm:%s", e->vm);
	if (claim(rv->d, vmclaim))
		return 0;
	journal_mig(rv->d, e, &s, &m);
	if (e->phase == SVMIGD_JOURNAL_DATA && rv->mode == REVIEW_STARTUP)
		journal_resume(&m);
	else if (e->phase == SVMIGD_JOURNAL_COMMIT)
		journal_in_doubt(&m, rv->mode != REVIEW_QUICK,
				 rv->mode == REVIEW_STARTUP);
	if (m.q)
		qmp_close(m.q);
	unclaim(rv->d, vmclaim);
	return 0;
}

static void journal_bad(void *arg, const char *file, const char *why)
{
	(void)arg;
	logp_(LOG_CRIT, "journal: %s: %s; left in place, CHECK IT BY HAND", file, why);
}

/* What a predecessor left, what an operator settled, what a target says. */
static void journal_review(struct daemon *d, enum review_mode mode)
{
	struct review rv = { .d = d, .mode = mode };
	char err[512];

	if (svmigd_journal_scan(d->journal_dir, journal_review_one, journal_bad,
				&rv, err, sizeof(err)))
		logp_(LOG_ERR, "%s", err);
}

static int journal_list_one(void *arg, const struct svmigd_journal_entry *e)
{
	struct json_object *o = json_object_new_object();
	char hex[2 * SVMIGD_SESSION_ID_LEN + 1];

	svmigd_hex_encode(hex, e->session, SVMIGD_SESSION_ID_LEN);
	add_str(o, "vm", e->vm);
	add_str(o, "peer", e->peer);
	add_str(o, "phase", svmigd_journal_phase_name(e->phase));
	add_str(o, "session", hex);
	json_object_object_add(o, "since", json_object_new_int64(e->time));
	json_object_array_add(arg, o);
	return 0;
}

/* An unsettled migration of @vm blocks a new one: 0 if there is none. */
static int journal_blocks(struct daemon *d, const char *vm, char *err,
			  size_t len)
{
	struct svmigd_journal_entry e;
	char path[2048], why[200];

	if (!svmigd_journal_vm_ok(vm))
		return 0;	/* refused as a QMP socket name later */
	snprintf(path, sizeof(path), "%s/%s.json", d->journal_dir, vm);
	if (access(path, F_OK))
		return 0;
	if (svmigd_journal_read(path, &e, why, sizeof(why)))
		snprintf(err, len, "vm %s has an unreadable journal entry (%s): "
			 "CHECK IT BY HAND", vm, why);
	else
		snprintf(err, len, "vm %s's migration to %s is in doubt (journal "
			 "phase %s): svmigctl settle it first", vm,
			 e.peer, svmigd_journal_phase_name(e.phase));
	return -1;
}

static void result(int client, bool ok, const char *error,
		   const struct svmigd_receipt *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("result"));
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	if (error)
		json_object_object_add(o, "error", json_object_new_string(error));
	if (r) {
		struct json_object *ro = json_object_new_object();
		char hex[2 * SVMIGD_SHA256_LEN + 1];

		svmigd_hex_encode(hex, r->session, SVMIGD_SESSION_ID_LEN);
		json_object_object_add(ro, "session", json_object_new_string(hex));
		json_object_object_add(ro, "verdict",
				       json_object_new_string(r->ok ? "ok" : "failed"));
		json_object_object_add(ro, "records", json_object_new_int64((int64_t)r->records));
		json_object_object_add(ro, "bytes", json_object_new_int64((int64_t)r->bytes));
		if (!r->ok)
			json_object_object_add(ro, "reason",
					       json_object_new_string(r->reason));
		svmigd_hex_encode(hex, r->sha256, SVMIGD_SHA256_LEN);
		json_object_object_add(ro, "sha256", json_object_new_string(hex));
		json_object_object_add(o, "receipt", ro);
	}
	ctl_send(client, o);
	json_object_put(o);
}

/* ------------------------------------------------------------ settle */

/* Who asked on the svmigctl socket (its credentials), for the audit log. */
static void client_who(int client, char *who, size_t len)
{
	struct ucred cred;
	socklen_t sl = sizeof(cred);

	if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &sl))
		snprintf(who, len, "an operator (credentials unknown)");
	else
		snprintf(who, len, "an operator (uid %u, pid %d)",
			 (unsigned int)cred.uid, (int)cred.pid);
}

/* The operator says the target runs the VM: the source copy goes. */
static int settle_resumed(struct mig *m, const char **done)
{
	if (qmp_connect(m)) {
		*done = "is gone (no QMP)";
		return 0;
	}
	if (qmp_execute(m->q, "quit", NULL, NULL) && qmp_usable(m->q))
		return failf(m, "quit: %s", qmp_strerror(m->q));
	*done = "was told to quit";
	return 0;
}

/* The operator says the target never ran it: the source copy goes on. */
static int settle_not_committed(struct mig *m, const char **done)
{
	if (qmp_connect(m))
		return -1;
	if (source_resume(m))
		return failf(m, "the source VM could not be put back as it was");
	*done = m->was_running ? "runs again" : "stays paused, as before";
	return 0;
}

/*
 * svmigctl settle: an operator's explicit word on a migration in doubt,
 * the only way besides the target's signed OUTCOME to settle it.
 * Audited ("settled", with who asked on the socket); refused, and the
 * entry kept, when the source QEMU cannot be made to match it.
 */
static void serve_settle(struct daemon *d, int client, struct json_object *req)
{
	const char *vm = jstr(req, "vm"), *outcome = jstr(req, "outcome");
	const char *done = "?";
	bool resumed = is(outcome, "resumed");
	struct svmigd_journal_entry e;
	struct svmigd_session s;
	struct mig m;
	char vmclaim[SVMIGD_NAME_MAX + 8], path[2048], err[512], who[96];
	char why[1200];

	if (!vm || !svmigd_journal_vm_ok(vm) || (!resumed && !is(outcome, "not-committed"))) {
		result(client, false, "settle needs a VM name and the outcome "
		       "\"resumed\" or \"not-committed\"", NULL);
		return;
	}
	snprintf(vmclaim, sizeof(vmclaim), "vm:%s", vm);
	if (claim(d, vmclaim)) {
		result(client, false, "that VM is migrating, or being settled, now", NULL);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.json", d->journal_dir, vm);
	if (access(path, F_OK) || svmigd_journal_read(path, &e, err, sizeof(err))) {
		if (access(path, F_OK))
			snprintf(err, sizeof(err), "vm %s has no unsettled migration", vm);
		result(client, false, err, NULL);
		unclaim(d, vmclaim);
		return;
	}
	journal_mig(d, &e, &s, &m);
	m.client = client;
	client_who(client, who, sizeof(who));
	if (resumed ? settle_resumed(&m, &done) : settle_not_committed(&m, &done)) {
		snprintf(why, sizeof(why), "not settled: %s", m.err);
		result(client, false, why, NULL);
	} else {
		snprintf(why, sizeof(why), "in doubt (phase %s), then settled by %s "
			 "as %s: the source VM %s", svmigd_journal_phase_name(e.phase),
			 who, outcome, done);
		progress(&m, "recover", "vm %s: %s", vm, why);
		audit_with(&m, "settled", "settle", "outcome", why);
		journal_settled(&m);
		result(client, true, NULL, NULL);
	}
	if (m.q)
		qmp_close(m.q);
	unclaim(d, vmclaim);
}

/* ------------------------------------------------------------ target recovery */

/*
 * A predecessor took this session's COMMIT and wrote "resumed" before its
 * cont (target_handover), then died: the source never resumes its copy
 * any more, so ours must run.  Once it does, the audit log says
 * "resumed", as the RESUMED would have, and the entry goes.  If it cannot
 * run, the entry goes too: a QUERY is answered "committed" (both copies
 * paused, for an operator), never "resumed" for a VM that does not run.
 */
static int target_recover_one(void *arg, const struct svmigd_journal_entry *e)
{
	struct daemon *d = arg;
	struct svmigd_session s;
	struct mig m;
	char vmclaim[SVMIGD_NAME_MAX + 8], why[300];

	snprintf(vmclaim, sizeof(vmclaim), "vm:%s", e->vm);
	if (e->phase != SVMIGD_JOURNAL_RESUMED || claim(d, vmclaim))
		return 0;
	journal_mig(d, e, &s, &m);
	s.source = false;
	if (qmp_connect(&m) || target_cont(&m)) {
		logp_(LOG_CRIT, "recover: vm %s: its journal says resumed (COMMIT of %s "
		      "taken) but it does not run: %s: CHECK IT BY HAND", e->vm,
		      e->peer, m.err);
		audit(&m, "failed", "restart", m.err);
	} else {
		snprintf(why, sizeof(why), "svmigd restarted between its journal's "
			 "RESUMED and the RESUMED message: the VM runs here");
		progress(&m, "recover", "vm %s: %s", e->vm, why);
		audit_with(&m, "resumed", "restart", "outcome", why);
	}
	target_journal_drop(&m);
	if (m.q)
		qmp_close(m.q);
	unclaim(d, vmclaim);
	return 0;
}

/* What a predecessor left in the target's journal: runs before any peer. */
static void target_recover(struct daemon *d)
{
	char err[512];

	if (svmigd_journal_scan(d->target_journal_dir, target_recover_one,
				journal_bad, d, err, sizeof(err)))
		logp_(LOG_ERR, "%s", err);
}

static void serve_migrate(struct daemon *d, int client, struct json_object *req,
			  bool libvirt, unsigned int channels)
{
	struct svmigd_request_verified v;
	struct svmigd_session s;
	struct svmigd_receipt r;
	struct svmigd_counts sent;
	struct mig m = { .d = d, .s = &s, .conn_fd = -1, .sv = -1, .sock = -1,
			 .client = client };
	char err[SVMIGD_SESSION_ERR_LEN], ctl[300], data[300];
	char vmclaim[SVMIGD_NAME_MAX + 8];
	const char *text;
	int ret;

	memset(&s, 0, sizeof(s));
	if (!req || !json_object_is_type(req, json_type_object)) {
		audit_early(d, "refused", "source", NULL, NULL, "request",
			    "no request object");
		result(client, false, "no request object", NULL);
		return;
	}
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	/* Learn the target from the request, checked as the session will. */
	ret = svmigd_request_verify(text, strlen(text), d->op_anchors, time(NULL),
				    d->scfg.request_window, &v, err, sizeof(err));
	if (ret) {
		audit_early(d, "refused", "source", NULL, NULL, "request", err);
		result(client, false, err, NULL);
		return;
	}
	if (strcmp(v.req.source, d->cfg.host_name)) {
		snprintf(err, sizeof(err), "the request's source is %s, not this host (%s)",
			 v.req.source, d->cfg.host_name);
		audit_early(d, "refused", "source", &v, v.req.target, "request", err);
		result(client, false, err, NULL);
		return;
	}
	journal_review(d, REVIEW_QUICK);
	snprintf(vmclaim, sizeof(vmclaim), "vm:%s", v.req.vm);
	if (claim(d, vmclaim)) {
		vmclaim[0] = '\0';
		snprintf(err, sizeof(err), "vm %s is migrating here or away already, "
			 "or its journal entry is being settled", v.req.vm);
		audit_early(d, "refused", "source", &v, v.req.target, "request", err);
		result(client, false, err, NULL);
		return;
	}
	if (journal_blocks(d, v.req.vm, err, sizeof(err))) {
		audit_early(d, "refused", "source", &v, v.req.target, "request", err);
		result(client, false, err, NULL);
		unclaim(d, vmclaim);
		return;
	}
	if (libvirt ? lv_source_check(&m, &v.req) :
	    qmp_connect_vm(&m, v.req.vm) || vm_size_check(&m, &v.req)) {
		audit_early(d, "refused", "source", &v, v.req.target, "request",
			    m.err);
		result(client, false, m.err, NULL);
		goto out;
	}
	if (peer_addrs(d, v.req.target, ctl, sizeof(ctl), data, sizeof(data))) {
		snprintf(err, sizeof(err), "no address for %s (svmigd --peer %s=HOST:PORT)",
			 v.req.target, v.req.target);
		audit_early(d, "failed", "source", &v, v.req.target, "connect", err);
		result(client, false, err, NULL);
		goto out;
	}
	progress(&m, "connect", "%s at %s", v.req.target, ctl);
	m.conn_fd = tcp_connect(ctl, IO_TIMEOUT_MS);
	if (m.conn_fd < 0) {
		snprintf(err, sizeof(err), "cannot connect to %s at %s: %s",
			 v.req.target, ctl, svmigd_strerror(errno));
		audit_early(d, "failed", "source", &v, v.req.target, "connect", err);
		result(client, false, err, NULL);
		goto out;
	}
	if (svmig_tls_connect(d->tls, m.conn_fd, v.req.target, IO_TIMEOUT_MS,
			      &m.conn, err, sizeof(err))) {
		audit_early(d, "refused", "source", &v, v.req.target, "tls", err);
		result(client, false, err, NULL);
		goto out;
	}
	progress(&m, "session", "TLS up; REQUEST, ATTEST, ADMIT, KEY");
	ret = svmigd_session_source(m.conn, &d->scfg, text, strlen(text), &s,
				    err, sizeof(err));
	if (ret) {
		result(client, false, err, NULL);
		goto out;
	}
	progress_session(&m);
	if (libvirt) {
		lv_source(&m, data, channels);	/* keys the channels, wipes the secret */
		OPENSSL_cleanse(s.secret, sizeof(s.secret));
		goto out;
	}
	ret = source_data(&m, data);
	OPENSSL_cleanse(s.secret, sizeof(s.secret));
	if (ret) {
		progress(&m, "data", "failed: %s", m.err);
		audit(&m, "failed", "data", m.err);
		cut_socket(&m);
		close_fd(&m.sv);
		close_fd(&m.sock);
		source_resume(&m);
		/*
		 * The target's answer if it is on its way (it gave up first):
		 * for the log and the audit.  Otherwise closing the control
		 * connection tells the target to give up.
		 */
		if (readable(m.conn_fd, RECEIPT_AFTER_FAILURE_MS)) {
			ret = svmigd_session_receipt_recv(m.conn, &d->scfg, &s,
							  NULL, &r, err, sizeof(err));
			progress(&m, "receipt", "%s", err);
			if (ret == -EREMOTEIO)	/* the operator sees why */
				catf(m.err, sizeof(m.err), "; %s's receipt: %s",
				     s.peer, r.reason);
		}
		result(client, false, m.err, NULL);
		goto out;
	}
	progress(&m, "receipt", "waiting for %s's receipt", s.peer);
	sent = (struct svmigd_counts){ m.st.records, m.st.bytes };
	ret = svmigd_session_receipt_recv(m.conn, &d->scfg, &s, &sent, &r, err,
					  sizeof(err));
	if (ret) {
		/* no valid "ok" receipt: the source VM must run */
		progress(&m, "receipt", "%s", err);
		audit(&m, "failed", "receipt", err);
		source_resume(&m);
		result(client, false, err, ret == -EREMOTEIO ? &r : NULL);
		goto out;
	}
	if (source_handover(&m, &r)) {
		result(client, false, m.err, &r);
		goto out;
	}
	result(client, true, NULL, &r);
	svmig_tls_shutdown(m.conn, 2000);
out:
	svmigd_session_wipe(&s);
	if (m.q)
		qmp_close(m.q);
	close_fd(&m.sv);
	close_fd(&m.sock);
	svmig_tls_free(m.conn);
	close_fd(&m.conn_fd);
	unclaim(d, vmclaim);
}

static void serve_client(struct daemon *d, int fd)
{
	char *line = malloc(CTL_LINE_MAX);
	size_t len = 0;
	long long deadline = now_ms() + 10000;
	struct json_object *obj, *v;
	const char *cmd;
	char err[256];

	if (!line) {
		result(fd, false, "out of memory", NULL);
		return;
	}
	while (len < CTL_LINE_MAX - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - now_ms())) != 1)
			goto out;
		n = read(fd, line + len, CTL_LINE_MAX - 1 - len);
		if (n <= 0)
			goto out;
		len += (size_t)n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = 0;
	if (svmigd_json_parse(line, len, 16, &obj, err, sizeof(err)) ||
	    !json_object_is_type(obj, json_type_object)) {
		result(fd, false, "not a JSON object", NULL);
		goto out;
	}
	cmd = jstr(obj, "cmd");
	if (is(cmd, "status")) {
		struct json_object *o = json_object_new_object();
		char hex[2 * SVMIGD_SHA256_LEN + 1];

		svmigd_hex_encode(hex, d->policy->sha256, SVMIGD_SHA256_LEN);
		json_object_object_add(o, "type", json_object_new_string("result"));
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "host", json_object_new_string(d->cfg.host_name));
		json_object_object_add(o, "policy_sha256", json_object_new_string(hex));
		journal_review(d, REVIEW_QUICK);
		v = json_object_new_array();
		svmigd_journal_scan(d->journal_dir, journal_list_one, NULL, v,
				    err, sizeof(err));
		json_object_object_add(o, "unsettled", v);
		ctl_send(fd, o);
		json_object_put(o);
	} else if (is(cmd, "attest")) {
		serve_attest(d, fd, obj);
	} else if (is(cmd, "migrate")) {
		int64_t channels = jint(obj, "channels");	/* libvirt's multifd */
		bool lv = json_object_object_get_ex(obj, "libvirt", NULL);

		json_object_object_get_ex(obj, "request", &v);
		if (channels < 0 || channels > SVMIGD_RELAY_MULTIFD_MAX || (channels && !lv))
			result(fd, false, "channels: 0 to 8, and only for libvirt", NULL);
		else
			serve_migrate(d, fd, v, lv, (unsigned int)channels);
	} else if (is(cmd, "settle")) {
		serve_settle(d, fd, obj);
	} else {
		result(fd, false, "unknown command", NULL);
	}
	json_object_put(obj);
out:
	free(line);
}

/* ------------------------------------------------------------ setup */

static int unix_listen(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(d->sock_path, sizeof(d->sock_path), "%s/" SVMIGD_SOCK_NAME,
		     d->cfg.state_dir) >= (int)sizeof(d->sock_path)) {
		logp_(LOG_ERR, "state_dir too long for a unix socket");
		return -1;
	}
	memcpy(sa.sun_path, d->sock_path, sizeof(sa.sun_path));
	unlink(d->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(d->sock_path, 0600) || listen(fd, 4)) {
		logp_(LOG_ERR, "%s: %s", d->sock_path, svmigd_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * [tpm] authority_nv: the authority certificate must be the one whose
 * SHA-256 the provisioner bound to that NV index of this host's TPM.
 */
static int check_authority_nv(struct daemon *d)
{
	uint8_t want[SVMIGD_SHA256_LEN], got[SVMIGD_TPM_DIGEST_LEN];
	char err[1024], tmp[512];
	int ret;

	if (!d->cfg.tpm_authority_nv)
		return 0;
	if (svmigd_authority_sha256(d->cfg.policy_authority_cert, want, tmp,
				    sizeof(tmp))) {
		snprintf(err, sizeof(err), "authority certificate: %s", tmp);
	} else {
		ret = svmigd_tpm_nv_read(d->tpm, d->cfg.tpm_authority_nv, got,
					 sizeof(got));
		if (ret)
			snprintf(err, sizeof(err),
				 "TPM NV index 0x%08x unreadable: %s (%s)",
				 d->cfg.tpm_authority_nv,
				 svmigd_tpm_strerror(ret),
				 svmigd_tpm_last_error(d->tpm));
		else if (CRYPTO_memcmp(want, got, sizeof(want)))
			snprintf(err, sizeof(err),
				 "authority certificate %s is not the one bound to TPM NV index 0x%08x",
				 d->cfg.policy_authority_cert,
				 d->cfg.tpm_authority_nv);
		else
			return 0;
	}
	logp_(LOG_ERR, "policy: %s", err);
	if (mkdir(d->cfg.state_dir, 0700) == 0 || errno == EEXIST)
		audit_early(d, "refused", "start", NULL, NULL, "authority", err);
	return -1;
}

static int setup(struct daemon *d)
{
	char err[1024];
	struct svmig_tls_config tc;
	int ret;

	if (svmigd_config_load(&d->cfg, d->o->config, err, sizeof(err))) {
		logp_(LOG_ERR, "%s", err);
		return -1;
	}
	d->key = svmigd_load_key(d->cfg.host_key, err, sizeof(err));
	if (!d->key) {
		logp_(LOG_ERR, "%s", err);
		return -1;
	}
	if (svmigd_policy_load(&d->policy, d->cfg.policy_file,
			       d->cfg.policy_signature,
			       d->cfg.policy_authority_cert, err, sizeof(err))) {
		logp_(LOG_ERR, "policy: %s", err);
		if (!d->o->check_config &&
		    (mkdir(d->cfg.state_dir, 0700) == 0 || errno == EEXIST))
			audit_early(d, "refused", "start", NULL, NULL, "policy", err);
		return -1;
	}
	if (!svmigd_policy_host(d->policy, d->cfg.host_name)) {
		logp_(LOG_ERR, "policy: this host (%s) is not in it", d->cfg.host_name);
		return -1;
	}
	/* --check-config leaves the TPM alone: a running svmigd may hold it. */
	ret = d->o->check_config ? 0 : svmigd_tpm_open(d->cfg.tpm_tcti, &d->tpm);
	if (ret) {
		logp_(LOG_ERR, "TPM %s: %s", d->cfg.tpm_tcti, svmigd_tpm_strerror(ret));
		return -1;
	}
	if (!d->o->check_config && check_authority_nv(d))
		return -1;
	tc.cert_file = d->cfg.host_cert;
	tc.key_file = d->cfg.host_key;
	tc.anchor_files = (const char *const *)d->cfg.anchors;
	tc.n_anchor_files = d->cfg.n_anchors;
	if (svmig_tls_ctx_new(&tc, &d->tls, err, sizeof(err))) {
		logp_(LOG_ERR, "TLS: %s", err);
		return -1;
	}
	if (d->o->n_op_anchors)
		d->op_anchors = svmigd_request_anchors(d->o->op_anchors,
						       d->o->n_op_anchors,
						       err, sizeof(err));
	else
		d->op_anchors = svmigd_request_anchors(d->cfg.anchors,
						       d->cfg.n_anchors,
						       err, sizeof(err));
	if (!d->op_anchors) {
		logp_(LOG_ERR, "operator anchors: %s", err);
		return -1;
	}
	if (d->o->check_config)
		return 0;
	d->scfg.host_name = d->cfg.host_name;
	d->scfg.policy = d->policy;
	d->scfg.tpm = d->tpm;
	d->scfg.host_key = d->key;
	d->scfg.audit_log = d->cfg.audit_log;
	d->scfg.operator_anchors = d->op_anchors;
	d->scfg.max_mem_mib = d->cfg.max_mem_mib;
	d->scfg.max_vcpus = d->cfg.max_vcpus;
	d->scfg.request_window = SVMIGD_SESSION_WINDOW;
	d->scfg.target_journal = d->target_journal_dir;
	/* check_request, check_arg, session_live: each connection's own */
	nonces_load(d);
	d->timeout_s = d->o->migrate_timeout_s > 0 ? d->o->migrate_timeout_s : 300;
	d->preauth_ms = 1000 * (int)(d->cfg.preauth_timeout_s && d->cfg.preauth_timeout_s < 3600 ?
				     d->cfg.preauth_timeout_s : DEF_PREAUTH_S);
	d->max_conns = d->cfg.max_connections ?: DEF_MAX_CONNS;
	if (d->max_conns > CAP_CONNS)
		d->max_conns = CAP_CONNS;
	d->max_unauth = d->cfg.max_unauth ?: DEF_MAX_UNAUTH;
	if (d->max_unauth > d->max_conns)
		d->max_unauth = d->max_conns;
	d->unauth_per_addr = d->cfg.max_unauth_per_address ?: DEF_UNAUTH_PER_ADDR;
	d->stop_s = d->cfg.stop_timeout_s ?: DEF_STOP_S;
	d->unauth = calloc(d->max_unauth, sizeof(*d->unauth));
	d->unauth_used = calloc(d->max_unauth, sizeof(*d->unauth_used));
	if (!d->unauth || !d->unauth_used) {
		logp_(LOG_ERR, "out of memory");
		return -1;
	}
	if (d->o->qmp_dir)
		snprintf(d->qmp_dir, sizeof(d->qmp_dir), "%s", d->o->qmp_dir);
	else
		snprintf(d->qmp_dir, sizeof(d->qmp_dir), "%s/qmp", d->cfg.state_dir);
	snprintf(d->journal_dir, sizeof(d->journal_dir), "%s/journal",
		 d->cfg.state_dir);
	snprintf(d->target_journal_dir, sizeof(d->target_journal_dir),
		 "%s/journal-target", d->cfg.state_dir);
	if (mkdir(d->cfg.state_dir, 0700) && errno != EEXIST) {
		logp_(LOG_ERR, "%s: %s", d->cfg.state_dir, svmigd_strerror(errno));
		return -1;
	}
	d->ctl_fd = tcp_listen(d->cfg.listen_control);
	d->data_fd = tcp_listen(d->cfg.listen_data);
	if (d->ctl_fd < 0 || d->data_fd < 0)
		return -1;
	fcntl(d->data_fd, F_SETFL, fcntl(d->data_fd, F_GETFL) | O_NONBLOCK);
	d->unix_fd = unix_listen(d);
	return d->unix_fd < 0 ? -1 : 0;
}

static void teardown(struct daemon *d)
{
	size_t i;

	close_fd(&d->ctl_fd);
	close_fd(&d->data_fd);
	if (d->unix_fd >= 0)
		unlink(d->sock_path);
	close_fd(&d->unix_fd);
	svmig_tls_ctx_free(d->tls);
	X509_STORE_free(d->op_anchors);
	EVP_PKEY_free(d->key);
	if (d->tpm)
		svmigd_tpm_close(d->tpm);
	svmigd_policy_free(d->policy);
	svmigd_config_free(&d->cfg);
	free(d->unauth);
	free(d->unauth_used);
	for (i = 0; i < CLAIMS_MAX; i++)
		free(d->claims[i]);
}

/* ------------------------------------------------------------ threads */

/* A connection refused by a limit: logged at most once a second. */
static void conn_refused(struct daemon *d, const struct sockaddr_storage *ss,
			 const char *why)
{
	char host[INET6_ADDRSTRLEN + 8] = "svmigctl";
	unsigned long unlogged = 0;
	long long now = now_ms();
	bool log = false;

	pthread_mutex_lock(&d->lock);
	if (now - d->refusal_logged >= 1000) {
		log = true;
		unlogged = d->refusals_unlogged;
		d->refusals_unlogged = 0;
		d->refusal_logged = now;
	} else {
		d->refusals_unlogged++;
	}
	pthread_mutex_unlock(&d->lock);
	if (!log)
		return;
	if (ss && getnameinfo((const struct sockaddr *)ss, sizeof(*ss), host,
			      sizeof(host), NULL, 0, NI_NUMERICHOST))
		snprintf(host, sizeof(host), "?");
	logp_(LOG_WARNING, "connection from %s refused: %s (%lu more refused "
	      "within the last second)", host, why, unlogged);
}

/* Under d->lock: the bookkeeping of a connection that ends. */
static void conn_release_locked(struct conn *c)
{
	struct daemon *d = c->d;

	if (c->unauth_slot >= 0) {
		d->unauth_used[c->unauth_slot] = false;
		d->n_unauth--;
		c->unauth_slot = -1;
	}
	if (c->live_slot >= 0)
		d->live_used[c->live_slot] = false;
	if (c->client)
		d->n_clients--;
	else
		d->n_conns--;
	pthread_cond_broadcast(&d->cond);
}

static void *worker(void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;

	if (c->client)
		serve_client(d, c->fd);
	else
		serve_target(c);
	if (!strncmp(c->claim_vm, "vm:", 3))	/* its ADMIT's reservation */
		svmigd_admit_release(c->claim_vm + 3);
	unclaim(d, c->claim_vm);
	unclaim(d, c->claim_from);
	pthread_mutex_lock(&d->lock);
	conn_release_locked(c);
	pthread_mutex_unlock(&d->lock);
	/* after the slot is free: a peer that sees the close may come back */
	close(c->fd);
	free(c);
	return NULL;
}

/* A thread with the signals blocked: they go to the main thread's poll(). */
static int start_thread(pthread_t *t, bool detached, void *(*fn)(void *),
			void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_attr_init(&attr);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return ret;
}

/*
 * An accepted connection (@ss: a peer's address, NULL: svmigctl): within
 * the limits, a worker thread of its own serves it; otherwise it is
 * closed at once.
 */
static void spawn(struct daemon *d, int fd, const struct sockaddr_storage *ss)
{
	struct conn *c = calloc(1, sizeof(*c));
	const char *why = NULL;
	unsigned int i, same = 0;
	int slot = -1;
	pthread_t t;

	if (!c) {
		conn_refused(d, ss, "out of memory");
		close(fd);
		return;
	}
	*c = (struct conn){ .d = d, .fd = fd, .client = !ss, .unauth_slot = -1,
			    .live_slot = -1 };
	if (ss)
		c->peer = *ss;
	pthread_mutex_lock(&d->lock);
	if (!ss) {
		if (d->n_clients >= CLIENTS_MAX)
			why = "too many svmigctl connections at once";
		else
			d->n_clients++;
	} else {
		for (i = 0; i < d->max_unauth; i++) {
			if (d->unauth_used[i])
				same += same_host(&d->unauth[i], ss);
			else if (slot < 0)
				slot = (int)i;
		}
		if (d->n_conns >= d->max_conns)
			why = "too many connections at once ([connections] max_connections)";
		else if (same >= d->unauth_per_addr)
			why = "too many unauthenticated connections from this address "
			      "([connections] max_unauth_per_address)";
		else if (slot < 0)
			why = "too many unauthenticated connections ([connections] max_unauth)";
		if (!why) {
			d->unauth[slot] = *ss;
			d->unauth_used[slot] = true;
			d->n_unauth++;
			c->unauth_slot = slot;
			d->n_conns++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (!why && start_thread(&t, true, worker, c)) {
		why = "cannot start a thread";
		pthread_mutex_lock(&d->lock);
		conn_release_locked(c);
		pthread_mutex_unlock(&d->lock);
	}
	if (why) {
		conn_refused(d, ss, why);
		close(fd);
		free(c);
	}
}

/* Now and then, asks the targets of in-doubt migrations again. */
static void *review_thread(void *arg)
{
	struct daemon *d = arg;

	for (;;) {
		struct timespec ts;
		bool quit;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += REVIEW_EVERY_MS / 1000;
		pthread_mutex_lock(&d->lock);
		while (!d->quit &&
		       pthread_cond_timedwait(&d->cond, &d->lock, &ts) != ETIMEDOUT)
			;
		quit = d->quit;
		pthread_mutex_unlock(&d->lock);
		if (quit)
			return NULL;
		journal_review(d, REVIEW_RETRY);
	}
}

/* Waits until no connection is at work, or until @deadline; how many are. */
static unsigned int wait_idle(struct daemon *d, long long deadline)
{
	unsigned int busy;

	pthread_mutex_lock(&d->lock);
	while (d->n_conns + d->n_clients && now_ms() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
	busy = d->n_conns + d->n_clients;
	pthread_mutex_unlock(&d->lock);
	return busy;
}

/*
 * SIGTERM: no new connection; those at work have stop_s to finish (within
 * the unit's TimeoutStopSec), then a migration still in DATA gives up
 * ("svmigd is stopping": the source resumes, the target discards) and
 * ABORT_GRACE_S more to unwind.  Returns how many did not end.
 */
static unsigned int wind_down(struct daemon *d, pthread_t review)
{
	unsigned int busy;

	close_fd(&d->ctl_fd);
	if (d->unix_fd >= 0)
		unlink(d->sock_path);
	close_fd(&d->unix_fd);
	pthread_mutex_lock(&d->lock);
	d->quit = true;
	pthread_cond_broadcast(&d->cond);
	busy = d->n_conns + d->n_clients;
	pthread_mutex_unlock(&d->lock);
	if (busy)
		logp_(LOG_INFO, "stopping: waiting up to %u s for %u connections at work",
		      d->stop_s, busy);
	busy = wait_idle(d, now_ms() + 1000LL * d->stop_s);
	if (busy) {
		logp_(LOG_WARNING, "stopping: %u connections still at work after %u s: "
		      "migrations in DATA give up", busy, d->stop_s);
		atomic_store(&d->abort_data, true);
		busy = wait_idle(d, now_ms() + 1000LL * ABORT_GRACE_S);
	}
	pthread_join(review, NULL);
	return busy;
}

int svmigd_daemon_run(const struct svmigd_opts *o)
{
	static struct daemon d;
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t data_t, review_t;
	unsigned int busy;
	int rc = 1;

	d.o = o;
	d.ctl_fd = d.data_fd = d.unix_fd = -1;
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.cond, NULL);
	log_journal = svmigd_stderr_is_journal();
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (setup(&d))
		goto out;
	if (o->check_config) {
		printf("svmigd: %s: configuration, keys, certificates and policy "
		       "of host %s are valid (TPM and sockets not checked)\n",
		       o->config, d.cfg.host_name);
		rc = 0;
		goto out;
	}
	/* Type=notify: the sockets listen, svmigctl and peers may connect. */
	sd_notifyf(0, "READY=1\nSTATUS=%s: listening on %s", d.cfg.host_name,
		   d.cfg.listen_control);
	logp_(LOG_INFO, "%s: listening on %s (control), %s (data), %s; QMP sockets in %s",
	      d.cfg.host_name, d.cfg.listen_control, d.cfg.listen_data,
	      d.sock_path, d.qmp_dir);
	logp_(LOG_INFO, "connections: a thread each, at most %u peers (%u not "
	      "authenticated, %u from one address, %d s to authenticate) and %d "
	      "svmigctl; %u s to finish on SIGTERM", d.max_conns, d.max_unauth,
	      d.unauth_per_addr, d.preauth_ms / 1000, CLIENTS_MAX, d.stop_s);
	target_recover(&d);
	journal_review(&d, REVIEW_STARTUP);
	if (start_thread(&data_t, false, data_thread, &d)) {
		logp_(LOG_ERR, "cannot start the data listener's thread");
		goto out;
	}
	if (start_thread(&review_t, false, review_thread, &d)) {
		logp_(LOG_ERR, "cannot start the journal review thread");
		pthread_mutex_lock(&d.lock);
		d.data_quit = true;
		pthread_mutex_unlock(&d.lock);
		pthread_join(data_t, NULL);
		goto out;
	}
	while (!stopping) {
		struct pollfd pfd[2] = {
			{ .fd = d.ctl_fd, .events = POLLIN },
			{ .fd = d.unix_fd, .events = POLLIN },
		};
		int fd;

		if (poll(pfd, 2, 1000) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);

			fd = accept4(d.ctl_fd, (struct sockaddr *)&ss, &sl,
				     SOCK_CLOEXEC);
			if (fd >= 0)
				spawn(&d, fd, &ss);
		}
		if (pfd[1].revents & POLLIN) {
			fd = accept4(d.unix_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				spawn(&d, fd, NULL);
		}
	}
	sd_notify(0, "STOPPING=1");
	logp_(LOG_INFO, "stopping");
	busy = wind_down(&d, review_t);
	rc = 0;
	if (busy) {
		/* their threads still use d: exit under them */
		logp_(LOG_WARNING, "stopped with %u connections still at work "
		      "(a source's journal entry settles its migration at the next start)",
		      busy);
		/*
		 * Their threads still use d and OpenSSL: no teardown, and no
		 * exit handlers (OpenSSL's cleanup) under them either.
		 */
		fflush(stderr);
		_exit(rc);
	}
	pthread_mutex_lock(&d.lock);
	d.data_quit = true;
	pthread_mutex_unlock(&d.lock);
	pthread_join(data_t, NULL);
out:
	teardown(&d);
	return rc;
}
