// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-migrate: drive an unmodified QEMU's live migration through
 * /dev/svmig's stream mode (or, for comparison, QEMU's plain TCP or its own
 * TLS), over QMP.  Documentation/qemu.rst describes the sequence.
 *
 *   svmig-migrate incoming --qmp SOCK --listen HOST:PORT
 *                 --secret-file F --session-id HEX [--resume]
 *                 [--quit-on-failure] [--timeout S] [--json OUT]
 *   svmig-migrate outgoing --qmp SOCK --connect HOST:PORT
 *                 --secret-file F --session-id HEX [--quit-on-success]
 *                 [--timeout S] [--json OUT] [--progress]
 *   svmig-migrate qmp --qmp SOCK 'JSON-COMMAND'
 *
 * Exit status: 0 success, 1 the migration (or the QMP command) failed,
 * 2 usage or setup error before anything was started.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libsvmig.h"
#include "net.h"
#include "qemu.h"
#include "qmp.h"

#define PROG		"svmig-migrate"
#define FDNAME		"svmig-migrate"
#define TLS_ID		"svmig-migrate-tls"
#define POLL_MS		50
#define PROGRESS_MS	1000
#define MIB		(1024.0 * 1024.0)

enum mode { MODE_SVMIG, MODE_PLAIN, MODE_TLS };
enum cmd { CMD_INCOMING, CMD_OUTGOING, CMD_QMP };

static const char *const mode_names[] = { "svmig", "plain", "qemu-tls" };

struct opts {
	enum cmd cmd;
	enum mode mode;
	const char *qmp;
	const char *listen;
	const char *connect;
	const char *secret_file;
	const char *session_hex;
	const char *json_out;
	const char *tls_dir;
	const char *tls_hostname;
	const char *qmp_command;
	unsigned int channel;
	unsigned int max_bandwidth;	/* MiB/s, 0: QEMU's default */
	int timeout_s;
	int end_timeout_s;
	bool resume, quit_on_failure, quit_on_success, progress, no_tpm;
};

struct ctx {
	const struct opts *o;
	struct qmp *q;
	int sv;				/* /dev/svmig, -1 when not open */
	int sock;			/* destination: the TCP socket, kept */
	uint8_t secret[SVMIG_SECRET_LEN];
	uint8_t session[SVMIG_SESSION_ID_LEN];
	long long t0, deadline;
	long long t_active;		/* query-migrate first said active */
	bool was_running;		/* source: the VM ran before migrate */
	struct json_object *report;
	struct json_object *final;	/* last query-migrate */
	char err[768];
};

static volatile sig_atomic_t interrupted;

/* ------------------------------------------------------------ helpers */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int failf(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int failf(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (sigemptyset(&sa.sa_mask) || sigaction(SIGINT, &sa, NULL) ||
	    sigaction(SIGTERM, &sa, NULL))
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decodes exactly 2 * n hex digits from @hex (length @len) into @out. */
static int unhex(const char *hex, size_t len, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (len != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		hi = hexval((unsigned char)hex[2 * i]);
		lo = hexval((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static const char *errname(int err)
{
	switch (err) {
	case -ENODATA: return "the stream ended before the END record (truncated)";
	case -ECONNRESET: return "the connection was reset";
	case -EBADMSG: return "authentication failed (tampered, wrong key or session)";
	case -EILSEQ: return "records replayed, reordered or dropped";
	case -EPROTO: return "malformed record";
	case -EAGAIN: return "timed out waiting for records";
	case -EPIPE: return "the channel already failed";
	default: return strerror(-err);
	}
}

static const char *verdict_name(uint32_t verdict)
{
	static const char *const names[] = {
		"pending", "verified", "mismatch", "failed", "truncated",
	};

	return verdict < sizeof(names) / sizeof(names[0]) ? names[verdict] : "unknown";
}

static void fmt_mib(char *buf, size_t len, long long bytes)
{
	if (bytes < 0)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%.1f MiB", (double)bytes / MIB);
}

/* ------------------------------------------------------------ secrets */

static int read_all(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len < cap) {
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

static void warn_mode(const char *path, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		note("warning: %s is readable by group or others (mode %03o)",
		     path, (unsigned int)(st.st_mode & 0777));
}

/* The file holds 32 raw bytes, or 64 hex digits (trailing space allowed). */
static int parse_secret(uint8_t *buf, size_t len, uint8_t out[SVMIG_SECRET_LEN])
{
	if (len == SVMIG_SECRET_LEN) {
		memcpy(out, buf, SVMIG_SECRET_LEN);
		return 0;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		       buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	return unhex((const char *)buf, len, out, SVMIG_SECRET_LEN);
}

static int load_secret(struct ctx *c)
{
	uint8_t buf[2 * SVMIG_SECRET_LEN + 8];
	size_t len;
	int fd, ret;

	fd = open(c->o->secret_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return failf(c, "cannot open the secret file %s: %s",
			     c->o->secret_file, strerror(errno));
	warn_mode(c->o->secret_file, fd);
	ret = read_all(fd, buf, sizeof(buf), &len);
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && parse_secret(buf, len, c->secret))
		ret = -EINVAL;
	explicit_bzero(buf, sizeof(buf));
	if (ret == -EINVAL)
		return failf(c, "%s must hold 32 raw bytes or 64 hex digits",
			     c->o->secret_file);
	if (ret)
		return failf(c, "cannot read %s: %s", c->o->secret_file,
			     strerror(-ret));
	return 0;
}

static void wipe_secret(struct ctx *c)
{
	explicit_bzero(c->secret, sizeof(c->secret));
}

/* ------------------------------------------------------------ TCP */

static int tcp_listen(struct ctx *c)
{
	int fd = svmig_tcp_listen(c->o->listen, 1, c->err, sizeof(c->err));

	return fd < 0 ? -1 : fd;
}

static int tcp_accept(struct ctx *c, int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int n, fd;

	for (;;) {
		if (interrupted)
			return failf(c, "interrupted while waiting for the source");
		n = poll(&pfd, 1, svmig_left_ms(c->deadline));
		if (n == 0)
			return failf(c, "no connection from the source on %s within %d s",
				     c->o->listen, c->o->timeout_s);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return failf(c, "poll: %s", strerror(errno));
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			return failf(c, "accept: %s", strerror(errno));
	}
}

static int set_blocking(int fd, bool blocking)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = blocking ? fl & ~O_NONBLOCK : fl | O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

/* Connects, retrying refused connections until the deadline. */
static int tcp_connect(struct ctx *c)
{
	int fd = svmig_tcp_connect(c->o->connect, c->deadline, true, &interrupted,
				   c->err, sizeof(c->err));

	return fd < 0 ? -1 : fd;
}

static int set_timeout(struct ctx *c, int fd, int opt, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)))
		return failf(c, "setsockopt(%s): %s",
			     opt == SO_RCVTIMEO ? "SO_RCVTIMEO" : "SO_SNDTIMEO",
			     strerror(errno));
	return 0;
}

/* ------------------------------------------------------------ QMP */

static int qmp_cmd(struct ctx *c, const char *cmd, struct json_object *args,
		   struct json_object **ret)
{
	int err;

	if (ret)
		*ret = NULL;
	err = qmp_execute(c->q, cmd, args, ret);
	if (err)
		return failf(c, "QMP: %s", qmp_strerror(c->q));
	return 0;
}

/* Runs @cmd with arguments given as a JSON text (NULL: none). */
static int qmp_cmdf(struct ctx *c, const char *cmd, const char *json)
{
	struct json_object *args = json ? json_tokener_parse(json) : NULL;
	int ret;

	if (json && !args)
		return failf(c, "internal: bad JSON for %s", cmd);
	ret = qmp_cmd(c, cmd, args, NULL);
	json_object_put(args);
	return ret;
}

/* A figure of QEMU's reply: -1 when it has none. */
static long long qnum(struct json_object *obj, const char *key)
{
	return svmig_json_int(obj, key, -1);
}

static double jdouble(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return -1;
	return json_object_get_double(v);
}

static struct json_object *jobj(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/* Adds @v (consumed, also on failure) to @obj; -1 if it could not. */
static int jadd(struct json_object *obj, const char *key, struct json_object *v)
{
	if (v && !json_object_object_add(obj, key, v))
		return 0;
	json_object_put(v);
	return -1;
}

static int vm_status(struct ctx *c, char *status, size_t len)
{
	if (svmig_qemu_status(c->q, status, len))
		return failf(c, "QMP: %s", qmp_strerror(c->q));
	return 0;
}

static int qmp_connect(struct ctx *c)
{
	char err[512];

	if (qmp_open(c->o->qmp, QMP_DEFAULT_TIMEOUT_MS, &c->q, err, sizeof(err)))
		return failf(c, "QMP %s: %s", c->o->qmp, err);
	return 0;
}

/* Hands @fd to QEMU (getfd over SCM_RIGHTS) and runs @cmd with "fd:" FDNAME. */
static int migrate_fd(struct ctx *c, const char *cmd, int fd)
{
	if (svmig_qemu_migrate_fd(c->q, cmd, FDNAME, fd))
		return failf(c, "QMP: %s", qmp_strerror(c->q));
	return 0;
}

static int migrate_uri(struct ctx *c, const char *cmd, const char *uri)
{
	if (svmig_qemu_migrate_uri(c->q, cmd, uri))
		return failf(c, "QMP: %s", qmp_strerror(c->q));
	return 0;
}

/* qemu-tls: the x509 credentials object and the migration parameters. */
static int setup_tls(struct ctx *c, const char *endpoint)
{
	struct json_object *args = json_object_new_object();
	struct json_object *params = json_object_new_object();
	int ret = -1;

	if (!args || !params)
		goto out;
	/* A leftover of an earlier run would make object-add fail. */
	if (!qmp_cmdf(c, "object-del", "{\"id\":\"" TLS_ID "\"}"))
		note("removed an earlier %s object", TLS_ID);
	c->err[0] = '\0';
	if (jadd(args, "qom-type", json_object_new_string("tls-creds-x509")) ||
	    jadd(args, "id", json_object_new_string(TLS_ID)) ||
	    jadd(args, "endpoint", json_object_new_string(endpoint)) ||
	    jadd(args, "dir", json_object_new_string(c->o->tls_dir)) ||
	    jadd(args, "verify-peer", json_object_new_boolean(1)) ||
	    jadd(params, "tls-creds", json_object_new_string(TLS_ID)) ||
	    (c->o->tls_hostname &&
	     jadd(params, "tls-hostname",
		  json_object_new_string(c->o->tls_hostname))))
		goto out;
	ret = qmp_cmd(c, "object-add", args, NULL);
	if (!ret)
		ret = qmp_cmd(c, "migrate-set-parameters", params, NULL);
out:
	json_object_put(args);
	json_object_put(params);
	if (ret && !c->err[0])
		failf(c, "out of memory");
	return ret;
}

/* ------------------------------------------------------------ report */

static void rep_add(struct ctx *c, const char *key, struct json_object *v)
{
	jadd(c->report, key, v);
}

static void rep_str(struct ctx *c, const char *key, const char *v)
{
	rep_add(c, key, json_object_new_string(v));
}

static void rep_int(struct json_object *obj, const char *key, long long v)
{
	jadd(obj, key, json_object_new_int64(v));
}

static void rep_stats(struct ctx *c, const struct svmig_stats *st)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	rep_int(o, "records", (long long)st->records);
	rep_int(o, "bytes", (long long)st->bytes);
	rep_int(o, "payload_bytes", (long long)st->payload_bytes);
	rep_int(o, "discarded_bytes", (long long)st->discarded_bytes);
	rep_int(o, "auth_failures", (long long)st->auth_failures);
	rep_int(o, "replays", (long long)st->replays);
	rep_int(o, "proto_errors", (long long)st->proto_errors);
	jadd(o, "error", json_object_new_string(st->error ? strerror(st->error) : ""));
	if (st->role == SVMIG_ROLE_RECEIVER)
		jadd(o, "verdict", json_object_new_string(verdict_name(st->verdict)));
	jadd(o, "aead_driver", json_object_new_string(st->aead_driver));
	jadd(o, "tpm_salted", json_object_new_boolean(
		!!(st->flags & SVMIG_STAT_TPM_SALT)));
	jadd(o, "finished", json_object_new_boolean(
		!!(st->flags & SVMIG_STAT_FINISHED)));
	rep_add(c, "svmig", o);
}

/* Copies @key of @from as @as into @to, when QEMU reported it. */
static void rep_copy(struct json_object *to, const char *as,
		     struct json_object *from, const char *key)
{
	struct json_object *v = jobj(from, key);

	if (v)
		jadd(to, as, json_object_get(v));
}

/* Timings and RAM counters of the last query-migrate. */
static void rep_qemu(struct ctx *c)
{
	struct json_object *ram = jobj(c->final, "ram");
	struct json_object *o;

	if (!c->final)
		return;
	o = json_object_new_object();
	if (!o)
		return;
	rep_copy(o, "status", c->final, "status");
	rep_copy(o, "total_time_ms", c->final, "total-time");
	rep_copy(o, "downtime_ms", c->final, "downtime");
	rep_copy(o, "setup_time_ms", c->final, "setup-time");
	rep_copy(o, "ram_transferred", ram, "transferred");
	rep_copy(o, "ram_total", ram, "total");
	rep_copy(o, "ram_duplicate_pages", ram, "duplicate");
	rep_copy(o, "ram_normal_pages", ram, "normal");
	rep_copy(o, "dirty_sync_count", ram, "dirty-sync-count");
	rep_copy(o, "mbps", ram, "mbps");
	rep_copy(o, "error_desc", c->final, "error-desc");
	rep_add(c, "qemu", o);
}

static int write_json(const char *path, struct json_object *obj)
{
	const char *text = json_object_to_json_string_ext(obj,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		JSON_C_TO_STRING_NOSLASHESCAPE);
	FILE *f;
	int ret;

	if (!text)
		return -ENOMEM;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	ret = fprintf(f, "%s\n", text) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

static int write_report(struct ctx *c, bool ok)
{
	int ret;

	rep_str(c, "result", ok ? "ok" : "failed");
	if (!ok)
		rep_str(c, "error", c->err);
	rep_int(c->report, "wall_ms", svmig_now_ms() - c->t0);
	rep_qemu(c);
	if (!c->o->json_out)
		return 0;
	ret = write_json(c->o->json_out, c->report);
	if (ret)
		note("cannot write %s: %s", c->o->json_out, strerror(-ret));
	return ret;
}

static void print_qemu_times(struct ctx *c)
{
	struct json_object *ram = jobj(c->final, "ram");
	char sent[32], total[32];

	fmt_mib(sent, sizeof(sent), qnum(ram, "transferred"));
	fmt_mib(total, sizeof(total), qnum(ram, "total"));
	printf("  qemu:     total-time %lld ms, downtime %lld ms, setup-time %lld ms\n"
	       "            ram transferred %s of %s, %.0f Mbit/s, %lld dirty sync(s)\n",
	       qnum(c->final, "total-time"), qnum(c->final, "downtime"),
	       qnum(c->final, "setup-time"), sent, total,
	       jdouble(ram, "mbps"), qnum(ram, "dirty-sync-count"));
}

static const char *keying(const struct svmig_stats *st)
{
	if (st->role == SVMIG_ROLE_RECEIVER)
		return "keys from the sender's salt (its HELLO)";
	if (st->flags & SVMIG_STAT_TPM_SALT)
		return "keys TPM-salted";
	if (st->flags & SVMIG_STAT_NO_TPM)
		return "keys NOT TPM-salted (--no-tpm)";
	return "keys installed";
}

/* ------------------------------------------------------------ migration */

static bool is_status(const char *st, const char *want)
{
	return st && !strcmp(st, want);
}

static void progress_line(struct json_object *info)
{
	struct json_object *ram = jobj(info, "ram");
	char sent[32], rem[32], total[32];

	if (!ram)
		return;
	fmt_mib(sent, sizeof(sent), qnum(ram, "transferred"));
	fmt_mib(rem, sizeof(rem), qnum(ram, "remaining"));
	fmt_mib(total, sizeof(total), qnum(ram, "total"));
	note("%s: %s sent, %s remaining of %s, %.0f Mbit/s, pass %lld",
	     svmig_json_str(info, "status"), sent, rem, total, jdouble(ram, "mbps"),
	     qnum(ram, "dirty-sync-count"));
}

/* 1: finished (completed, failed or cancelled), 0: not yet, -1: error. */
static int poll_migration(struct ctx *c, bool progress, long long *next)
{
	struct json_object *info;
	const char *st;

	int ret = svmig_qemu_mig_poll(c->q, &info);

	if (ret < 0)
		return failf(c, "QMP: %s", qmp_strerror(c->q));
	st = svmig_json_str(info, "status");
	if (!c->t_active && st && !is_status(st, "setup"))
		c->t_active = svmig_now_ms();
	if (ret) {
		json_object_put(c->final);
		c->final = info;
		return 1;
	}
	if (progress && svmig_now_ms() >= *next) {
		progress_line(info);
		*next = svmig_now_ms() + PROGRESS_MS;
	}
	json_object_put(info);
	return 0;
}

/*
 * QEMU 7.2 can answer "completed" a moment before it has filled in the
 * source's total-time and downtime: ask again, briefly, until it has.
 */
static void settle_timings(struct ctx *c)
{
	struct json_object *info, *v;
	int i;

	for (i = 0; i < 20; i++) {
		if (!json_object_object_get_ex(c->final, "total-time", &v) ||
		    json_object_get_int64(v) > 0)
			return;
		svmig_sleep_ms(POLL_MS);
		if (qmp_cmd(c, "query-migrate", NULL, &info))
			return;
		json_object_put(c->final);
		c->final = info;
	}
}

/* Waits until QEMU's migration reached "completed"; -1 on anything else. */
static int wait_migration(struct ctx *c, bool progress)
{
	long long next = svmig_now_ms() + PROGRESS_MS;
	int ret;

	while (!(ret = poll_migration(c, progress, &next))) {
		if (interrupted)
			return failf(c, "interrupted");
		if (!svmig_left_ms(c->deadline))
			return failf(c, "the migration did not complete within %d s",
				     c->o->timeout_s);
		svmig_sleep_ms(POLL_MS);
	}
	if (ret < 0)
		return -1;
	if (is_status(svmig_json_str(c->final, "status"), "completed")) {
		settle_timings(c);
		return 0;
	}
	svmig_qemu_mig_failure(c->final, c->err, sizeof(c->err));
	return -1;
}

/* Opens /dev/svmig and keys it as a stream channel of @role. */
static int svmig_setup(struct ctx *c, uint32_t role)
{
	uint32_t flags = role | SVMIG_KEY_STREAM |
			 (c->o->no_tpm ? SVMIG_KEY_NO_TPM : 0);
	struct svmig_info info;
	int ret;

	ret = svmig_open();
	if (ret < 0)
		return failf(c, "cannot open %s: %s%s", SVMIG_DEVICE,
			     strerror(-ret),
			     ret == -ENOENT ? " (is svmig.ko loaded?)" : "");
	c->sv = ret;
	ret = svmig_get_info(c->sv, &info);
	if (ret)
		return failf(c, "SVMIG_IOC_GET_INFO: %s", strerror(-ret));
	if (!(info.features & SVMIG_FEAT_STREAM))
		return failf(c, "this svmig.ko has no stream mode (SVMIG_FEAT_STREAM)");
	ret = svmig_set_key(c->sv, flags, c->o->channel, c->session, c->secret);
	wipe_secret(c);
	if (ret)
		return failf(c, "SVMIG_IOC_SET_KEY: %s%s", strerror(-ret),
			     !(info.features & SVMIG_FEAT_TPM) && !c->o->no_tpm ?
			     " (no TPM: --no-tpm opts out of TPM salting)" : "");
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd < 0)
		return;
	if (close(*fd))
		note("close: %s", strerror(errno));
	*fd = -1;
}

/* Both directions down: no further record (no END) leaves or arrives. */
static void cut_socket(struct ctx *c)
{
	if (c->sock >= 0 && shutdown(c->sock, SHUT_RDWR) && errno != ENOTCONN)
		note("shutdown: %s", strerror(errno));
}

static int get_stats(struct ctx *c, struct svmig_stats *st)
{
	int ret = svmig_get_stats(c->sv, st);

	if (ret)
		return failf(c, "SVMIG_IOC_GET_STATS: %s", strerror(-ret));
	rep_stats(c, st);
	return 0;
}

/* ------------------------------------------------------------ outgoing */

static int out_check_vm(struct ctx *c)
{
	char st[64];

	if (vm_status(c, st, sizeof(st)))
		return -1;
	if (is_status(st, "inmigrate"))
		return failf(c, "%s is a QEMU waiting for an incoming migration, not a source",
			     c->o->qmp);
	c->was_running = is_status(st, "running");
	rep_str(c, "source_status_before", st);
	return 0;
}

static int out_set_bandwidth(struct ctx *c)
{
	char json[96];

	if (!c->o->max_bandwidth)
		return 0;
	snprintf(json, sizeof(json), "{\"max-bandwidth\":%llu}",
		 (unsigned long long)c->o->max_bandwidth * 1024 * 1024);
	return qmp_cmdf(c, "migrate-set-parameters", json);
}

static int out_start_svmig(struct ctx *c)
{
	int one = 1, ret;

	if (svmig_setup(c, SVMIG_ROLE_SENDER))
		return -1;
	c->sock = tcp_connect(c);
	if (c->sock < 0)
		return -1;
	if (setsockopt(c->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return failf(c, "setsockopt(TCP_NODELAY): %s", strerror(errno));
	/* Bounds the kernel's sends, QEMU's write()s and the END's. */
	if (set_timeout(c, c->sock, SO_SNDTIMEO, c->o->timeout_s))
		return -1;
	ret = svmig_attach_socket(c->sv, c->sock);
	if (ret)
		return failf(c, "SVMIG_IOC_ATTACH_SOCK: %s", strerror(-ret));
	note("outgoing: connected to %s; stream channel %u keyed and attached",
	     c->o->connect, c->o->channel);
	return migrate_fd(c, "migrate", c->sv);
}

static int out_start(struct ctx *c)
{
	char uri[320];

	if (c->o->mode == MODE_SVMIG)
		return out_start_svmig(c);
	if (c->o->mode == MODE_TLS && setup_tls(c, "client"))
		return -1;
	snprintf(uri, sizeof(uri), "tcp:%s", c->o->connect);
	return migrate_uri(c, "migrate", uri);
}

/* The authenticated END: only once QEMU reported "completed". */
static int out_finish_svmig(struct ctx *c, struct svmig_stats *st)
{
	int ret;

	/* Whatever QEMU did to the shared file's flags, FINISH waits (SO_SNDTIMEO). */
	if (set_blocking(c->sv, true))
		return failf(c, "fcntl(O_NONBLOCK off): %s", strerror(errno));
	ret = svmig_finish(c->sv);
	if (ret)
		return failf(c, "SVMIG_IOC_FINISH (the END record): %s",
			     strerror(-ret));
	if (get_stats(c, st))
		return -1;
	close_fd(&c->sv);
	close_fd(&c->sock);
	return 0;
}

/* Best effort, after a failure: never let an error here hide the first. */
static bool recover_cmd(struct ctx *c, const char *cmd)
{
	if (!qmp_usable(c->q))
		return false;
	if (!qmp_execute(c->q, cmd, NULL, NULL))
		return true;
	note("recovery: %s", qmp_strerror(c->q));
	return false;
}

static void out_resume_source(struct ctx *c)
{
	struct json_object *ret;
	const char *st;

	if (!qmp_usable(c->q)) {
		note("lost the source QEMU's QMP connection (did QEMU exit?): CHECK IT BY HAND");
		return;
	}
	svmig_qemu_mig_settle(c->q, 10000, POLL_MS);
	if (qmp_execute(c->q, "query-status", NULL, &ret)) {
		note("cannot query the source VM (%s): CHECK IT BY HAND",
		     qmp_strerror(c->q));
		return;
	}
	st = svmig_json_str(ret, "status") ?: "?";
	if (is_status(st, "running"))
		note("the source VM is running");
	else if (c->was_running && recover_cmd(c, "cont"))
		note("the source VM was %s: resumed it (cont)", st);
	else
		note("the source VM is %s%s", st, c->was_running ?
		     ": could not resume it, CHECK IT BY HAND" :
		     " (it was not running before either)");
	rep_str(c, "source_status_after", st);
	json_object_put(ret);
}

/*
 * The migration failed (or FINISH did): no END may reach the destination.
 * The last close() of the channel never sends one (svmig.ko seals END only
 * on FINISH); the socket is cut first all the same, so the destination sees
 * the end at once.  Stop QEMU's migration if it still runs, and keep the
 * source VM running.
 */
static void out_abort(struct ctx *c)
{
	cut_socket(c);
	if (c->q && !c->final)
		recover_cmd(c, "migrate_cancel");
	close_fd(&c->sv);
	close_fd(&c->sock);
	if (c->q)
		out_resume_source(c);
}

static void out_summary(struct ctx *c, const struct svmig_stats *st)
{
	char pay[32], wire[32];

	printf(PROG ": outgoing migration completed (mode %s)\n",
	       mode_names[c->o->mode]);
	if (c->o->mode == MODE_SVMIG) {
		fmt_mib(pay, sizeof(pay), (long long)st->payload_bytes);
		fmt_mib(wire, sizeof(wire), (long long)st->bytes);
		printf("  sealed:   %llu records by svmig.ko (%s of stream, %s on the wire), END sent\n"
		       "            AEAD %s, %s\n",
		       (unsigned long long)st->records, pay, wire,
		       st->aead_driver, keying(st));
	} else {
		printf("  sealed:   nothing by svmig (%s)\n",
		       c->o->mode == MODE_TLS ? "QEMU's own TLS" :
		       "plain TCP, no protection");
	}
	print_qemu_times(c);
	printf("  wall:     %.3f s\n", (double)(svmig_now_ms() - c->t0) / 1000);
	printf("  VM:       %s\n", c->o->quit_on_success ? "source QEMU told to quit" :
	       "source paused (postmigrate): quit it once the destination reported success");
}

/* Leaves the source QEMU as it was: no TLS credentials in its settings. */
static void tls_cleanup(struct ctx *c)
{
	char saved[sizeof(c->err)];

	if (c->o->mode != MODE_TLS || !c->q)
		return;
	memcpy(saved, c->err, sizeof(saved));
	if (qmp_cmdf(c, "migrate-set-parameters", "{\"tls-creds\":\"\"}") ||
	    qmp_cmdf(c, "object-del", "{\"id\":\"" TLS_ID "\"}"))
		note("could not remove the TLS settings: %s", c->err);
	memcpy(c->err, saved, sizeof(saved));
}

static int run_outgoing(struct ctx *c)
{
	struct svmig_stats st = { 0 };
	int ret;

	ret = out_check_vm(c);
	if (!ret)
		ret = out_set_bandwidth(c);
	if (!ret)
		ret = out_start(c);
	if (!ret)
		ret = wait_migration(c, c->o->progress);
	if (!ret && c->o->mode == MODE_SVMIG)
		ret = out_finish_svmig(c, &st);
	if (ret) {
		out_abort(c);
		tls_cleanup(c);
		return -1;
	}
	out_summary(c, &st);
	if (c->o->quit_on_success)
		recover_cmd(c, "quit");
	else
		tls_cleanup(c);
	return 0;
}

/* ------------------------------------------------------------ incoming */

static int in_check_vm(struct ctx *c)
{
	char st[64];

	if (vm_status(c, st, sizeof(st)))
		return -1;
	if (!is_status(st, "inmigrate"))
		return failf(c, "the destination QEMU is %s, not waiting for a migration "
			     "(start it with -incoming defer -S)", st);
	return 0;
}

static int in_start_svmig(struct ctx *c)
{
	int lfd, ret;

	if (svmig_setup(c, SVMIG_ROLE_RECEIVER))
		return -1;
	lfd = tcp_listen(c);
	if (lfd < 0)
		return -1;
	note("incoming: waiting for the source on %s", c->o->listen);
	c->sock = tcp_accept(c, lfd);
	close_fd(&lfd);
	if (c->sock < 0)
		return -1;
	/* Before attaching: bounds every receive, the END's included. */
	if (set_timeout(c, c->sock, SO_RCVTIMEO, c->o->end_timeout_s))
		return -1;
	ret = svmig_attach_socket(c->sv, c->sock);
	if (ret)
		return failf(c, "SVMIG_IOC_ATTACH_SOCK: %s", strerror(-ret));
	note("incoming: source connected; stream channel %u keyed and attached",
	     c->o->channel);
	return migrate_fd(c, "migrate-incoming", c->sv);
}

static int in_start(struct ctx *c)
{
	char uri[320];

	if (c->o->mode == MODE_SVMIG)
		return in_start_svmig(c);
	if (c->o->mode == MODE_TLS && setup_tls(c, "server"))
		return -1;
	snprintf(uri, sizeof(uri), "tcp:%s", c->o->listen);
	if (migrate_uri(c, "migrate-incoming", uri))
		return -1;
	note("incoming: waiting for the source on %s", c->o->listen);
	return 0;
}

/* A destination QEMU exits when loading fails: say so, not just "EOF". */
static int in_wait(struct ctx *c)
{
	int ret = wait_migration(c, false);

	if (ret && !qmp_usable(c->q) && strstr(c->err, "closed the QMP connection"))
		failf(c, "the destination QEMU exited during the migration "
		      "(QEMU quits when loading the incoming stream fails)");
	return ret;
}

/* After a failure: what the kernel saw, if the channel got that far. */
static void in_explain(struct ctx *c)
{
	struct svmig_stats st;
	size_t len = strlen(c->err);

	if (c->sv < 0 || svmig_get_stats(c->sv, &st) ||
	    !(st.flags & SVMIG_STAT_SOCKET))
		return;
	rep_stats(c, &st);
	snprintf(c->err + len, sizeof(c->err) - len,
		 "; svmig: verdict %s%s%s, %llu records accepted, %llu auth failures, "
		 "%llu replays, %llu protocol errors",
		 verdict_name(st.verdict), st.error ? ", channel failed: " : "",
		 st.error ? strerror(st.error) : "",
		 (unsigned long long)st.records,
		 (unsigned long long)st.auth_failures,
		 (unsigned long long)st.replays,
		 (unsigned long long)st.proto_errors);
}

static int in_check_stats(struct ctx *c, const struct svmig_stats *st)
{
	if (st->verdict != SVMIG_VERDICT_VERIFIED)
		return failf(c, "verdict is not VERIFIED (%u)", st->verdict);
	if (st->auth_failures || st->replays || st->proto_errors)
		return failf(c, "refused records: %llu auth failures, %llu replays, %llu protocol errors",
			     (unsigned long long)st->auth_failures,
			     (unsigned long long)st->replays,
			     (unsigned long long)st->proto_errors);
	return 0;
}

/* Reads on to the END record and checks the kernel's verdict. */
static int in_verify_svmig(struct ctx *c, struct svmig_stats *st)
{
	long long t = svmig_now_ms();
	int ret;

	/*
	 * QEMU's incoming coroutine made the file (shared with our fd)
	 * O_NONBLOCK, and svmig.ko honours it: RECV must wait for the END,
	 * bounded by the socket's SO_RCVTIMEO.
	 */
	if (set_blocking(c->sv, true))
		return failf(c, "fcntl(O_NONBLOCK off): %s", strerror(errno));
	ret = svmig_recv(c->sv, 0, NULL);
	if (ret) {
		get_stats(c, st);
		return failf(c, "no verified END record: %s", errname(ret));
	}
	ret = svmig_verify(c->sv);
	if (ret) {
		get_stats(c, st);
		return failf(c, "SVMIG_IOC_VERIFY: %s",
			     ret == -EBADMSG ? "the END does not match the stream" :
			     strerror(-ret));
	}
	if (get_stats(c, st) || in_check_stats(c, st))
		return -1;
	rep_int(c->report, "end_verify_ms", svmig_now_ms() - t);
	return 0;
}

/* The VM must still be paused: started without -S it resumed unverified. */
static int in_check_paused(struct ctx *c)
{
	char st[64];

	if (vm_status(c, st, sizeof(st)))
		return -1;
	if (!is_status(st, "running"))
		return 0;
	if (c->o->mode != MODE_SVMIG)
		return 0;
	recover_cmd(c, "stop");
	return failf(c, "the destination VM resumed on its own before svmig verified the "
		     "stream (start QEMU with -S); stopped it");
}

static int in_resume(struct ctx *c)
{
	char st[64];

	if (!c->o->resume) {
		rep_add(c, "resumed", json_object_new_boolean(0));
		return 0;
	}
	if (qmp_cmd(c, "cont", NULL, NULL) || vm_status(c, st, sizeof(st)))
		return -1;
	if (!is_status(st, "running"))
		return failf(c, "the destination VM is %s after cont", st);
	rep_add(c, "resumed", json_object_new_boolean(1));
	return 0;
}

static void in_summary(struct ctx *c, const struct svmig_stats *st,
		       long long migrated_ms)
{
	char pay[32];

	printf(PROG ": incoming migration completed%s (mode %s)\n",
	       c->o->mode == MODE_SVMIG ? " and VERIFIED" : "",
	       mode_names[c->o->mode]);
	if (c->o->mode == MODE_SVMIG) {
		fmt_mib(pay, sizeof(pay), (long long)st->payload_bytes);
		printf("  verified: END record authenticated, counts and transcript match\n"
		       "            %llu records, %s of stream, auth failures %llu, replays %llu, "
		       "protocol errors %llu\n"
		       "            AEAD %s, %s\n",
		       (unsigned long long)st->records, pay,
		       (unsigned long long)st->auth_failures,
		       (unsigned long long)st->replays,
		       (unsigned long long)st->proto_errors,
		       st->aead_driver, keying(st));
		if (st->discarded_bytes)
			printf("  warning:  %llu verified bytes QEMU never read\n",
			       (unsigned long long)st->discarded_bytes);
	} else {
		printf("  verified: nothing (%s)\n", c->o->mode == MODE_TLS ?
		       "QEMU's own TLS" : "plain TCP, no protection");
	}
	printf("  wall:     %.3f s; the stream took %.3f s (from QEMU's first \"active\")\n",
	       (double)(svmig_now_ms() - c->t0) / 1000, (double)migrated_ms / 1000);
	printf("  VM:       %s\n", c->o->resume ? "resumed (cont)" :
	       "left paused (no --resume)");
}

static int run_incoming(struct ctx *c)
{
	struct svmig_stats st = { 0 };
	long long migrated_ms = 0;
	int ret;

	ret = in_check_vm(c);
	if (!ret)
		ret = in_start(c);
	if (!ret)
		ret = in_wait(c);
	if (!ret) {
		/* From the first "active" query-migrate, within POLL_MS. */
		migrated_ms = svmig_now_ms() - c->t_active;
		rep_int(c->report, "migration_ms", migrated_ms);
	}
	if (!ret && c->o->mode == MODE_SVMIG)
		ret = in_verify_svmig(c, &st);
	if (!ret)
		ret = in_check_paused(c);
	if (!ret)
		ret = in_resume(c);
	if (ret) {
		/* Tell the source now, rather than when its send times out. */
		cut_socket(c);
		in_explain(c);
		note("incoming: the destination VM was NOT resumed");
		if (c->o->quit_on_failure && c->q && recover_cmd(c, "quit"))
			note("incoming: destination QEMU told to quit");
		return -1;
	}
	in_summary(c, &st, migrated_ms);
	return 0;
}

/* ------------------------------------------------------------ qmp */

/* 'JSON-COMMAND' is {"execute": ..., "arguments": ...} or a bare name. */
static int run_qmp(const struct opts *o)
{
	struct json_object *cmd = json_tokener_parse(o->qmp_command);
	struct json_object *ret = NULL;
	const char *name = o->qmp_command;
	char err[512];
	struct qmp *q;
	int rc = 1;

	if (cmd && json_object_is_type(cmd, json_type_object))
		name = svmig_json_str(cmd, "execute");
	if (!name || !*name) {
		note("qmp: the command needs an \"execute\" member");
		json_object_put(cmd);
		return 2;
	}
	if (qmp_open(o->qmp, o->timeout_s * 1000, &q, err, sizeof(err))) {
		note("qmp: %s: %s", o->qmp, err);
		json_object_put(cmd);
		return 1;
	}
	if (qmp_execute(q, name, jobj(cmd, "arguments"), &ret)) {
		note("qmp: %s", qmp_strerror(q));
	} else {
		printf("%s\n", json_object_to_json_string_ext(ret,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		rc = fflush(stdout) ? 1 : 0;
	}
	json_object_put(ret);
	json_object_put(cmd);
	qmp_close(q);
	return rc;
}

/* ------------------------------------------------------------ options */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " incoming --qmp SOCK --listen HOST:PORT [options]\n"
"       " PROG " outgoing --qmp SOCK --connect HOST:PORT [options]\n"
"       " PROG " qmp --qmp SOCK 'JSON-COMMAND'\n"
"       " PROG " --help | --version\n"
"\n"
"  --mode svmig|plain|qemu-tls  transport (default svmig: /dev/svmig stream mode)\n"
"  --secret-file F       svmig: 32 raw bytes or 64 hex digits, the same both ends\n"
"  --session-id HEX      svmig: 32 hex digits, the same both ends\n"
"  --channel N           svmig: channel number (default 0)\n"
"  --no-tpm              svmig: key without TPM salt (explicit opt-in)\n"
"  --tls-dir DIR         qemu-tls: QEMU x509 credentials directory\n"
"  --tls-hostname NAME   qemu-tls, outgoing: name the server certificate must carry\n"
"  --timeout S           give up after S seconds (default 600; qmp: reply timeout)\n"
"  --json OUT            write the result as JSON to OUT\n"
"incoming only:\n"
"  --resume              cont the VM once the migration completed (and verified)\n"
"  --quit-on-failure     quit the destination QEMU if anything failed\n"
"  --end-timeout S       svmig: SO_RCVTIMEO on the socket, bounds the END wait (30)\n"
"outgoing only:\n"
"  --progress            a progress line every second\n"
"  --quit-on-success     quit the source QEMU once the migration completed\n"
"  --max-bandwidth MIB   migrate-set-parameters max-bandwidth, in MiB/s\n");
}

enum { O_IN = 1, O_OUT = 2, O_QMP = 4, O_MIG = O_IN | O_OUT, O_ALL = 7 };

struct optdef {
	struct option lo;
	int cmds;		/* subcommands that take the option */
};

static const struct optdef optdefs[] = {
	{ { "qmp", required_argument, NULL, 'q' }, O_ALL },
	{ { "listen", required_argument, NULL, 'l' }, O_IN },
	{ { "connect", required_argument, NULL, 'c' }, O_OUT },
	{ { "secret-file", required_argument, NULL, 's' }, O_MIG },
	{ { "session-id", required_argument, NULL, 'i' }, O_MIG },
	{ { "channel", required_argument, NULL, 'C' }, O_MIG },
	{ { "mode", required_argument, NULL, 'm' }, O_MIG },
	{ { "tls-dir", required_argument, NULL, 'd' }, O_MIG },
	{ { "tls-hostname", required_argument, NULL, 'H' }, O_OUT },
	{ { "no-tpm", no_argument, NULL, 'N' }, O_MIG },
	{ { "resume", no_argument, NULL, 'r' }, O_IN },
	{ { "quit-on-failure", no_argument, NULL, 'F' }, O_IN },
	{ { "end-timeout", required_argument, NULL, 'e' }, O_IN },
	{ { "quit-on-success", no_argument, NULL, 'S' }, O_OUT },
	{ { "progress", no_argument, NULL, 'p' }, O_OUT },
	{ { "max-bandwidth", required_argument, NULL, 'b' }, O_OUT },
	{ { "timeout", required_argument, NULL, 't' }, O_ALL },
	{ { "json", required_argument, NULL, 'j' }, O_MIG },
	{ { "help", no_argument, NULL, 'h' }, O_ALL },
};

#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

static int parse_uint(const char *name, const char *s, unsigned int max,
		      unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max) {
		note("--%s: '%s' is not a number from 0 to %u", name, s, max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int parse_mode(const char *s, enum mode *mode)
{
	unsigned int i;

	for (i = 0; i < 3; i++) {
		if (!strcmp(s, mode_names[i])) {
			*mode = (enum mode)i;
			return 0;
		}
	}
	note("--mode: '%s' is not svmig, plain or qemu-tls", s);
	return -1;
}

static const struct optdef *find_opt(int opt)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (optdefs[i].lo.val == opt)
			return &optdefs[i];
	return NULL;
}

static int allowed(int cmd, int opt)
{
	const struct optdef *d = find_opt(opt);

	return d && (d->cmds & (1 << cmd));
}

static const char *opt_name(int opt)
{
	const struct optdef *d = find_opt(opt);

	return d ? d->lo.name : "?";
}

static int set_opt(struct opts *o, int opt, const char *arg)
{
	unsigned int v;

	switch (opt) {
	case 'q': o->qmp = arg; return 0;
	case 'l': o->listen = arg; return 0;
	case 'c': o->connect = arg; return 0;
	case 's': o->secret_file = arg; return 0;
	case 'i': o->session_hex = arg; return 0;
	case 'd': o->tls_dir = arg; return 0;
	case 'H': o->tls_hostname = arg; return 0;
	case 'j': o->json_out = arg; return 0;
	case 'N': o->no_tpm = true; return 0;
	case 'r': o->resume = true; return 0;
	case 'F': o->quit_on_failure = true; return 0;
	case 'S': o->quit_on_success = true; return 0;
	case 'p': o->progress = true; return 0;
	case 'm': return parse_mode(arg, &o->mode);
	case 'C': return parse_uint("channel", arg, UINT32_MAX, &o->channel);
	case 'b': return parse_uint("max-bandwidth", arg, 1 << 20, &o->max_bandwidth);
	case 't':
		if (parse_uint("timeout", arg, 86400, &v) || !v)
			return -1;
		o->timeout_s = (int)v;
		return 0;
	case 'e':
		if (parse_uint("end-timeout", arg, 86400, &v) || !v)
			return -1;
		o->end_timeout_s = (int)v;
		return 0;
	}
	return -1;
}

static const char *need(const struct opts *o)
{
	if (!o->qmp)
		return "--qmp";
	if (o->cmd == CMD_QMP)
		return o->qmp_command ? NULL : "a JSON command";
	if (o->cmd == CMD_INCOMING && !o->listen)
		return "--listen";
	if (o->cmd == CMD_OUTGOING && !o->connect)
		return "--connect";
	if (o->mode == MODE_SVMIG && !o->secret_file)
		return "--secret-file (or --mode plain)";
	if (o->mode == MODE_SVMIG && !o->session_hex)
		return "--session-id";
	if (o->mode == MODE_TLS && !o->tls_dir)
		return "--tls-dir";
	return NULL;
}

static int parse_cmd(const char *s, struct opts *o)
{
	if (!strcmp(s, "incoming"))
		o->cmd = CMD_INCOMING;
	else if (!strcmp(s, "outgoing"))
		o->cmd = CMD_OUTGOING;
	else if (!strcmp(s, "qmp"))
		o->cmd = CMD_QMP;
	else
		return -1;
	return 0;
}

/* 0: go on; 1: done (help printed); -1: usage error. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	struct option lo[NOPTS + 1];
	const char *missing;
	size_t i;
	int opt;

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < NOPTS; i++)
		lo[i] = optdefs[i].lo;
	*o = (struct opts){ .timeout_s = 600, .end_timeout_s = 30 };
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? -1 : 1;
	}
	if (!strcmp(argv[1], "--version")) {
		printf(PROG " %s\n", SVMIG_VERSION);
		return 1;
	}
	if (parse_cmd(argv[1], o)) {
		note("unknown subcommand '%s' (incoming, outgoing or qmp)", argv[1]);
		return -1;
	}
	optind = 2;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == '?')
			return -1;
		if (!allowed(o->cmd, opt)) {
			note("%s does not take --%s", argv[1], opt_name(opt));
			return -1;
		}
		if (set_opt(o, opt, optarg))
			return -1;
	}
	if (o->cmd == CMD_QMP && optind == argc - 1)
		o->qmp_command = argv[optind++];
	if (optind != argc) {
		note("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	missing = need(o);
	if (missing) {
		note("%s needs %s", argv[1], missing);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ main */

static int prepare(struct ctx *c)
{
	const struct opts *o = c->o;

	c->report = json_object_new_object();
	if (!c->report)
		return failf(c, "out of memory");
	rep_str(c, "role", o->cmd == CMD_INCOMING ? "destination" : "source");
	rep_str(c, "mode", mode_names[o->mode]);
	rep_str(c, "address", o->cmd == CMD_INCOMING ? o->listen : o->connect);
	if (o->mode == MODE_SVMIG) {
		if (unhex(o->session_hex, strlen(o->session_hex), c->session,
			  sizeof(c->session)))
			return failf(c, "--session-id needs %d hex digits",
				     2 * SVMIG_SESSION_ID_LEN);
		if (load_secret(c))
			return -1;
	}
	return qmp_connect(c);
}

static void cleanup(struct ctx *c)
{
	wipe_secret(c);
	close_fd(&c->sv);
	close_fd(&c->sock);
	qmp_close(c->q);
	json_object_put(c->final);
	json_object_put(c->report);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct ctx c = { .o = &o, .sv = -1, .sock = -1 };
	const char *side;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret < 0 ? 2 : 0;
	if (install_signals()) {
		note("sigaction: %s", strerror(errno));
		return 2;
	}
	if (o.cmd == CMD_QMP)
		return run_qmp(&o);
	side = o.cmd == CMD_INCOMING ? "incoming" : "outgoing";
	c.t0 = svmig_now_ms();
	c.deadline = c.t0 + (long long)o.timeout_s * 1000;
	ret = prepare(&c);
	if (!ret)
		ret = o.cmd == CMD_INCOMING ? run_incoming(&c) : run_outgoing(&c);
	if (ret)
		note("%s: FAILED: %s", side, c.err[0] ? c.err : "unknown error");
	if (c.report && write_report(&c, !ret))
		ret = -1;
	if (fflush(stdout))
		ret = -1;
	cleanup(&c);
	return ret ? 1 : 0;
}
