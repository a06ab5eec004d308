// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl: the operator's CLI for svmigd (Documentation/svmigd.rst,
 * Documentation/man/svmigctl.8).
 *
 *   svmigctl migrate --request FILE [--socket PATH | --config FILE] [--json]
 *   svmigctl status [--socket PATH | --config FILE] [--json]
 *   svmigctl attest PEER [--socket PATH | --config FILE] [--json]
 *   svmigctl request --vm V --source A --target B --mem MIB --vcpus N
 *                    --cert C --key K --out FILE [--json]
 *   svmigctl audit verify --log F --cert C [--json]
 *   svmigctl policy check --policy P --sig S --authority A --cert OPCERT
 *                    --vm V --source A --target B [--json]
 *   svmigctl tpm-ak [--tcti T] [--pcrs 0,7] [--json]
 *   svmigctl tpm-bind-authority --tcti T --nv-index I --authority CERT
 *                    [--owner-auth-file F] [--json]
 *   svmigctl tpm-authority --tcti T --nv-index I [--authority CERT] [--json]
 *
 * With --json, standard output carries exactly one JSON object, with "ok"
 * true exactly when the exit status is 0 (a setup error too, when the
 * options were understood).
 *
 * Exit status: 0 success (allowed, intact, trusted), 1 failure (refused,
 * broken), 2 usage or setup error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "audit.h"
#include "config.h"
#include "daemon.h"
#include "policy.h"
#include "request.h"
#include "tpm.h"

#define PROG "svmigctl"
#define SVMIGD_DEFAULT_CONFIG "/etc/svmigd/svmigd.conf"

static void usage(FILE *f);
#define BAR_W 16		/* characters of the progress bar */

struct args {
	const char *socket, *config, *request, *vm, *source, *target, *cert,
		   *key, *out, *log, *policy, *sig, *authority, *tcti, *pcrs,
		   *peer, *nv_index, *owner_auth_file;
	unsigned long long mem;
	unsigned long vcpus;
	bool json;
};

static int need(const char *v, const char *name)
{
	if (v)
		return 0;
	fprintf(stderr, PROG ": %s is required\n", name);
	return -1;
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A setup error: on stderr, and as {"ok":false,"error":..} with --json. */
static int setup_fail(const struct args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int setup_fail(const struct args *a, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", msg);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(o, "error", json_object_new_string(msg));
		print_json(o);
		json_object_put(o);
	}
	return 2;
}

static bool is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

/* @o's string member @key, or NULL. */
static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* @o's number member @key, or -1. */
static long long jnum(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) ||
	      json_object_is_type(v, json_type_double)))
		return -1;
	return (long long)json_object_get_int64(v);
}

static bool jbool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static void add_str(struct json_object *o, const char *key, const char *val)
{
	if (val)
		json_object_object_add(o, key, json_object_new_string(val));
}

static void add_int(struct json_object *o, const char *key, long long v)
{
	if (v >= 0)
		json_object_object_add(o, key, json_object_new_int64(v));
}

/* A number with two decimals, written as such. */
static void add_fixed(struct json_object *o, const char *key, double v)
{
	char s[64];

	snprintf(s, sizeof(s), "%.2f", v);
	json_object_object_add(o, key, json_object_new_double_s(v, s));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ progress */

enum show { SHOW_NONE, SHOW_LINES, SHOW_BAR };

/* What migrate shows while it runs, and remembers for its summary. */
struct prog {
	enum show show;
	bool bar_on;			/* the cursor stands after a bar */
	long long t0;			/* ms: the request went out */
	struct json_object *session;	/* the "session" line, if any */
	struct json_object *done;	/* the "data" line of "completed" */
};

static void human(char *buf, size_t len, long long bytes)
{
	if (bytes < 0)
		snprintf(buf, len, "?");
	else if (bytes < 1024)
		snprintf(buf, len, "%lld B", bytes);
	else if (bytes < 1 << 20)
		snprintf(buf, len, "%.1f KiB", bytes / 1024.0);
	else if (bytes < 10LL << 30)
		snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
	else
		snprintf(buf, len, "%.1f GiB", bytes / 1073741824.0);
}

static size_t term_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || ws.ws_col < 20)
		return 80;
	return ws.ws_col;
}

static void bar_end(struct prog *p)
{
	if (p->bar_on)
		putchar('\n');
	p->bar_on = false;
}

/* Done: the share of guest RAM no longer waiting to be sent. */
static int bar_percent(struct json_object *ram, bool done)
{
	long long tot = jnum(ram, "total"), rem = jnum(ram, "remaining");

	if (done)
		return 100;
	if (tot <= 0 || rem < 0 || rem > tot)
		return 0;
	return (int)((tot - rem) * 100 / tot);
}

/* Appends a piece to the bar's @line if it fits in @w - 1 columns. */
static bool bar_piece(char *line, size_t w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool bar_piece(char *line, size_t w, const char *fmt, ...)
{
	size_t n = strlen(line);
	char piece[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(piece, sizeof(piece), fmt, ap);
	va_end(ap);
	if (n + strlen(piece) >= w)
		return false;
	memcpy(line + n, piece, strlen(piece) + 1);
	return true;
}

/*
 * "[#####.......]  37%  23.5 MiB sent, 40.1 MiB left  9.3 MB/s  ~300 ms down
 * sync 2", as much of it as the terminal's width takes, in this order.
 */
static void bar_draw(struct prog *p, struct json_object *o,
		     struct json_object *ram)
{
	bool done = is(jstr(o, "status"), "completed");
	int pct = bar_percent(ram, done), i;
	char line[256], sent[32], left[32];
	size_t w = term_width();
	struct json_object *v;

	if (w > sizeof(line))
		w = sizeof(line);
	line[0] = '[';
	for (i = 0; i < BAR_W; i++)
		line[i + 1] = i < pct * BAR_W / 100 ? '#' : '.';
	snprintf(line + BAR_W + 1, sizeof(line) - BAR_W - 1, "] %3d%%", pct);
	human(sent, sizeof(sent), jnum(ram, "transferred"));
	human(left, sizeof(left), done ? 0 : jnum(ram, "remaining"));
	if (bar_piece(line, w, "  %s sent, %s left", sent, left) &&
	    json_object_object_get_ex(ram, "mbps", &v) &&
	    bar_piece(line, w, "  %.1f MB/s", json_object_get_double(v) / 8) &&
	    (done || jnum(o, "expected-downtime") < 0 ||
	     bar_piece(line, w, "  ~%lld ms down", jnum(o, "expected-downtime"))) &&
	    jnum(ram, "dirty-sync-count") >= 0)
		bar_piece(line, w, "  sync %lld", jnum(ram, "dirty-sync-count"));
	printf("\r%s\033[K", line);
	p->bar_on = true;
	if (done)
		bar_end(p);
}

/* Keeps what the summary needs. */
static void prog_note(struct prog *p, const char *step, struct json_object *o)
{
	if (is(step, "session") && jstr(o, "operator")) {
		json_object_put(p->session);
		p->session = json_object_get(o);
	} else if (is(step, "data") && is(jstr(o, "status"), "completed")) {
		json_object_put(p->done);
		p->done = json_object_get(o);
	}
}

static void prog_event(struct prog *p, struct json_object *o)
{
	const char *step = jstr(o, "step") ?: "?";
	struct json_object *ram;

	prog_note(p, step, o);
	if (p->show == SHOW_NONE)
		return;
	if (p->show == SHOW_BAR && is(step, "data") &&
	    json_object_object_get_ex(o, "ram", &ram) &&
	    json_object_is_type(ram, json_type_object)) {
		bar_draw(p, o, ram);
	} else {
		bar_end(p);
		printf("%s: %s\n", step, jstr(o, "detail") ?: "");
	}
	fflush(stdout);
}

static void prog_free(struct prog *p)
{
	json_object_put(p->session);
	json_object_put(p->done);
}

/* ------------------------------------------------------------ daemon */

static int ctl_connect(const struct args *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct svmigd_config cfg;
	char err[512];
	int fd;

	if (a->socket) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->socket);
	} else if (!a->config && access(SVMIGD_DEFAULT_CONFIG, F_OK)) {
		setup_fail(a, "%s: %s: svmigd is not configured on this host (start "
			   "from " SVMIGD_DEFAULT_CONFIG ".example, svmigd.conf(5)); "
			   "or give --socket PATH or --config FILE",
			   SVMIGD_DEFAULT_CONFIG, strerror(errno));
		return -1;
	} else {
		if (svmigd_config_load(&cfg, a->config ?: SVMIGD_DEFAULT_CONFIG,
				       err, sizeof(err))) {
			setup_fail(a, "%s", err);
			return -1;
		}
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" SVMIGD_SOCK_NAME,
			 cfg.state_dir);
		svmigd_config_free(&cfg);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			setup_fail(a, "cannot reach svmigd at %s: %s; is svmigd "
				   "running? (systemctl status svmigd)",
				   sa.sun_path, strerror(e));
		else
			setup_fail(a, "cannot reach svmigd at %s: %s", sa.sun_path,
				   strerror(e));
		return -1;
	}
	return fd;
}

/*
 * Sends @req to svmigd and reads its answers, one JSON object a line:
 * progress lines go to @p (if not NULL), the result comes back in *res.
 * 0, or 2 when there is no daemon or it went away without a result.
 */
static int ctl_request(const struct args *a, struct json_object *req,
		       struct prog *p, struct json_object **res)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s), cap = 0;
	char *line = NULL;
	FILE *in;
	int fd;

	*res = NULL;
	fd = ctl_connect(a);
	if (fd < 0)
		return 2;
	if (write(fd, s, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		close(fd);
		return setup_fail(a, "write: %s", strerror(errno));
	}
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return setup_fail(a, "fdopen: %s", strerror(errno));
	}
	while (!*res && getline(&line, &cap, in) > 0) {
		struct json_object *o = json_tokener_parse(line);
		const char *type = jstr(o, "type");

		if (is(type, "result"))
			*res = json_object_get(o);
		else if (is(type, "progress") && p)
			prog_event(p, o);
		json_object_put(o);
	}
	free(line);
	fclose(in);
	if (p)
		bar_end(p);
	if (!*res)
		return setup_fail(a, "svmigd closed the connection without a result");
	return 0;
}

/* ------------------------------------------------------------ migrate */

/* What migrated, what was verified and how fast, from what came back. */
static struct json_object *summary(const struct prog *p,
				   struct json_object *signed_req,
				   struct json_object *res)
{
	struct json_object *o = json_object_new_object(), *r, *rc;
	long long bytes, data_ms = -1;

	json_object_object_get_ex(signed_req, "request", &r);
	add_str(o, "vm", jstr(r, "vm"));
	add_str(o, "source", jstr(r, "source"));
	add_str(o, "target", jstr(r, "target"));
	add_str(o, "operator", jstr(p->session, "operator"));
	add_str(o, "role", jstr(p->session, "role"));
	add_str(o, "peer_quote_sha256", jstr(p->session, "peer_quote_sha256"));
	json_object_object_get_ex(res, "receipt", &rc);
	add_str(o, "session", jstr(rc, "session"));
	add_str(o, "verdict", jstr(rc, "verdict"));
	add_int(o, "records", jnum(rc, "records"));
	bytes = jnum(rc, "bytes");
	add_int(o, "bytes", bytes);
	add_int(o, "time_ms", now_ms() - p->t0);
	if (p->done) {
		data_ms = jnum(p->done, "total-time");
		add_int(o, "migration_ms", data_ms);
		add_int(o, "downtime_ms", jnum(p->done, "downtime"));
		json_object_object_get_ex(p->done, "ram", &r);
		add_int(o, "dirty_sync_count", jnum(r, "dirty-sync-count"));
	}
	if (bytes >= 0 && data_ms > 0)
		add_fixed(o, "mb_per_s", bytes / 1000.0 / data_ms);
	return o;
}

static void summary_print(struct json_object *s)
{
	const char *v = jstr(s, "vm") ?: "?", *peer = jstr(s, "target") ?: "?";
	struct json_object *mb;

	printf("summary: %s moved from %s to %s in %.2f s (request to signed receipt)\n",
	       v, jstr(s, "source") ?: "?", peer, jnum(s, "time_ms") / 1000.0);
	printf("summary: verified: %s's certificate and TPM quote against the signed policy",
	       peer);
	if (jstr(s, "operator"))
		printf("; the request of %s (role %s) by both hosts",
		       jstr(s, "operator"), jstr(s, "role") ?: "?");
	printf("; %s's signed receipt of session %s: svmig.ko verified %lld records, %lld bytes and the END\n",
	       peer, jstr(s, "session") ?: "?", jnum(s, "records"),
	       jnum(s, "bytes"));
	if (jnum(s, "migration_ms") < 0)
		return;
	printf("summary: speed: %lld bytes in %.2f s of migration",
	       jnum(s, "bytes"), jnum(s, "migration_ms") / 1000.0);
	if (json_object_object_get_ex(s, "mb_per_s", &mb))
		printf(", %.2f MB/s", json_object_get_double(mb));
	if (jnum(s, "downtime_ms") >= 0)
		printf("; downtime %lld ms", jnum(s, "downtime_ms"));
	if (jnum(s, "dirty_sync_count") >= 0)
		printf(" after %lld dirty-sync rounds", jnum(s, "dirty_sync_count"));
	putchar('\n');
}

static int read_request(const struct args *a, struct json_object **out)
{
	char err[512];
	uint8_t *buf;
	size_t len;
	int ret;

	if (svmigd_read_file(a->request, SVMIGD_REQUEST_MAX, &buf, &len, err,
			     sizeof(err)))
		return setup_fail(a, "%s", err);
	ret = svmigd_json_parse((char *)buf, len, 16, out, err, sizeof(err));
	free(buf);
	if (ret)
		return setup_fail(a, "%s: %s", a->request, err);
	return 0;
}

static int cmd_migrate(const struct args *a)
{
	struct prog p = { .show = SHOW_LINES };
	struct json_object *req, *signed_req, *res, *sum = NULL;
	bool ok;
	int rc;

	if (need(a->request, "--request"))
		return 2;
	if (read_request(a, &signed_req))
		return 2;
	if (a->json)
		p.show = SHOW_NONE;
	else if (isatty(STDOUT_FILENO))
		p.show = SHOW_BAR;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("migrate"));
	json_object_object_add(req, "request", json_object_get(signed_req));
	p.t0 = now_ms();
	rc = ctl_request(a, req, &p, &res);
	json_object_put(req);
	if (rc)
		goto out;
	ok = jbool(res, "ok");
	if (ok)
		sum = summary(&p, signed_req, res);
	if (a->json) {
		if (sum)
			json_object_object_add(res, "summary", json_object_get(sum));
		print_json(res);
	} else if (jstr(res, "error")) {
		printf("result: FAILED: %s\n", jstr(res, "error"));
	} else {
		printf("result: %s %s\n", ok ? "ok" : "FAILED",
		       json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
		if (sum)
			summary_print(sum);
	}
	rc = ok ? 0 : 1;
	json_object_put(sum);
	json_object_put(res);
out:
	json_object_put(signed_req);
	prog_free(&p);
	return rc;
}

/* ------------------------------------------------------------ status */

/* The daemon's answer, and each migration its journal has not settled. */
static void status_print(struct json_object *res)
{
	struct json_object *arr, *e;
	size_t i, n = 0;

	printf("%s: svmigd answers; policy sha256 %s\n",
	       jstr(res, "host") ?: "?", jstr(res, "policy_sha256") ?: "?");
	if (json_object_object_get_ex(res, "unsettled", &arr) &&
	    json_object_is_type(arr, json_type_array))
		n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		printf("unsettled: vm %s to %s, phase %s, session %s, since %lld\n",
		       jstr(e, "vm") ?: "?", jstr(e, "peer") ?: "?",
		       jstr(e, "phase") ?: "?", jstr(e, "session") ?: "?",
		       jnum(e, "since"));
	}
}

static int cmd_status(const struct args *a)
{
	struct json_object *req = json_object_new_object(), *res;
	int rc;

	json_object_object_add(req, "cmd", json_object_new_string("status"));
	rc = ctl_request(a, req, NULL, &res);
	json_object_put(req);
	if (rc)
		return rc;
	if (a->json)
		print_json(res);
	else if (jbool(res, "ok"))
		status_print(res);
	else
		printf("svmigd: %s\n", jstr(res, "error") ?: "not ok");
	rc = jbool(res, "ok") ? 0 : 1;
	json_object_put(res);
	return rc;
}

/* ------------------------------------------------------------ attest */

static void attest_pcrs_print(struct json_object *res)
{
	struct json_object *arr, *e;
	size_t i, n;

	if (!json_object_object_get_ex(res, "pcrs", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		printf("pcr %-9lld %s  ", jnum(e, "index"),
		       jstr(e, "value") ?: "(not quoted)");
		if (!jstr(e, "reference"))
			printf("(no reference)\n");
		else if (jbool(e, "match"))
			printf("= reference\n");
		else
			printf("DIFFERS from reference %s\n", jstr(e, "reference"));
	}
}

static void attest_print(struct json_object *res)
{
	struct json_object *c = NULL;
	const char *s;

	printf("peer          %s", jstr(res, "peer") ?: "?");
	if (jstr(res, "address"))
		printf(" at %s", jstr(res, "address"));
	putchar('\n');
	if (json_object_object_get_ex(res, "certificate", &c)) {
		printf("certificate   %s\n", jstr(c, "subject") ?: "?");
		printf("issuer        %s\n", jstr(c, "issuer") ?: "?");
		printf("cert sha256   %s\n", jstr(c, "sha256") ?: "?");
		if (jstr(c, "not_after"))
			printf("valid until   %s\n", jstr(c, "not_after"));
	}
	if ((s = jstr(res, "ak_sha256")))
		printf("ak sha256     %s  %s\n", s, jbool(res, "ak_match") ?
		       "= enrolled" : "NOT the enrolled AK");
	else if ((s = jstr(res, "ak_reference")))
		printf("ak enrolled   %s\n", s);
	attest_pcrs_print(res);
	if ((s = jstr(res, "quote_sha256")))
		printf("quote sha256  %s\nnonce         %s (with this TLS session's exporter)\n",
		       s, jstr(res, "nonce") ?: "?");
	if (jbool(res, "ok"))
		printf("verdict       trusted\n");
	else
		printf("verdict       %s: %s\n", is(jstr(res, "verdict"), "refused") ?
		       "REFUSED" : "FAILED", jstr(res, "error") ?: "?");
}

static int cmd_attest(const struct args *a)
{
	struct json_object *req, *res;
	int rc;

	if (!a->peer || !svmigd_valid_host_name(a->peer)) {
		fprintf(stderr, PROG ": attest needs the name of a peer host\n");
		return 2;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("attest"));
	json_object_object_add(req, "peer", json_object_new_string(a->peer));
	rc = ctl_request(a, req, NULL, &res);
	json_object_put(req);
	if (rc)
		return rc;
	if (a->json)
		print_json(res);
	else
		attest_print(res);
	rc = jbool(res, "ok") ? 0 : 1;
	json_object_put(res);
	return rc;
}

/* ------------------------------------------------------------ request */

/* SHA-256 of @text and a newline: the file as written. */
static int file_sha256(const char *text, uint8_t md[SVMIGD_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, text, strlen(text)) == 1 &&
		 EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, NULL) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -ENOMEM;
}

/* --json: where the request went, its digests, what it asks. */
static void request_json(const struct args *a, const struct svmigd_request *r,
			 const char *out)
{
	struct json_object *o = json_object_new_object();
	uint8_t md[SVMIGD_SHA256_LEN];
	char hex[SVMIGD_SHA256_HEX_LEN + 1], *canon = NULL, err[256];

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	add_str(o, "file", a->out);
	if (!file_sha256(out, md)) {
		svmigd_hex_encode(hex, md, sizeof(md));
		add_str(o, "sha256", hex);	/* sha256sum FILE */
	}
	if (!svmigd_request_canonical(r, &canon, err, sizeof(err)) &&
	    !svmigd_sha256(canon, strlen(canon), md)) {
		svmigd_hex_encode(hex, md, sizeof(md));
		add_str(o, "request_sha256", hex);	/* what was signed */
	}
	free(canon);
	add_str(o, "vm", r->vm);
	add_str(o, "source", r->source);
	add_str(o, "target", r->target);
	add_int(o, "vm_mem_mib", (long long)r->vm_mem_mib);
	add_int(o, "vm_vcpus", r->vm_vcpus);
	add_int(o, "time", r->time);
	svmigd_hex_encode(hex, r->nonce, sizeof(r->nonce));
	add_str(o, "nonce", hex);
	print_json(o);
	json_object_put(o);
}

static int cmd_request(const struct args *a)
{
	struct svmigd_request r;
	char err[512], *out = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	FILE *f;
	int rc = 2;

	if (need(a->vm, "--vm") || need(a->source, "--source") ||
	    need(a->target, "--target") || need(a->cert, "--cert") ||
	    need(a->key, "--key") || need(a->out, "--out"))
		return 2;
	if (!a->mem || !a->vcpus) {
		fprintf(stderr, PROG ": --mem and --vcpus are required\n");
		return 2;
	}
	if (svmigd_request_init(&r, a->vm, a->source, a->target, a->mem,
				(uint32_t)a->vcpus, err, sizeof(err)))
		goto fail;
	cert = svmigd_load_cert(a->cert, err, sizeof(err));
	if (!cert)
		goto fail;
	key = svmigd_load_key(a->key, err, sizeof(err));
	if (!key)
		goto fail;
	if (svmigd_request_sign(&r, key, cert, &out, err, sizeof(err)))
		goto fail;
	f = fopen(a->out, "w");
	if (!f || fprintf(f, "%s\n", out) < 0 || fclose(f)) {
		snprintf(err, sizeof(err), "%s: %s", a->out, strerror(errno));
		goto fail;
	}
	if (a->json)
		request_json(a, &r, out);
	rc = 0;
	goto out;
fail:
	setup_fail(a, "%s", err);
out:
	free(out);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

/* ------------------------------------------------------------ audit */

static int cmd_audit_verify(const struct args *a)
{
	struct svmigd_audit_report rep;
	char err[1024], hex[SVMIGD_SHA256_HEX_LEN + 1];
	int ret, rc;

	if (need(a->log, "--log") || need(a->cert, "--cert"))
		return 2;
	memset(&rep, 0, sizeof(rep));
	ret = svmigd_audit_verify(a->log, a->cert, &rep, err, sizeof(err));
	rc = ret == 0 ? 0 : ret == -EBADMSG ? 1 : 2;
	svmigd_hex_encode(hex, rep.last_sha256, SVMIGD_SHA256_LEN);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(!ret));
		json_object_object_add(o, "intact", json_object_new_boolean(!ret));
		json_object_object_add(o, "records", json_object_new_int64((int64_t)rep.records));
		json_object_object_add(o, "last_sha256", json_object_new_string(hex));
		if (ret == -EBADMSG) {
			add_int(o, "broken_line", (long long)rep.line);
			add_int(o, "broken_seq", (long long)rep.seq);
		}
		if (ret)
			json_object_object_add(o, "error", json_object_new_string(err));
		print_json(o);
		json_object_put(o);
	} else if (!ret) {
		printf("%s: %llu records, intact; last %s\n", a->log,
		       (unsigned long long)rep.records, hex);
	} else if (rc == 1) {
		printf("%s: BROKEN: %s\n", a->log, err);
	} else {
		fprintf(stderr, PROG ": %s\n", err);
	}
	return rc;
}

/* ------------------------------------------------------------ policy */

static int cmd_policy_check(const struct args *a)
{
	struct svmigd_policy_decision dec;
	struct svmigd_policy *p = NULL;
	uint8_t fpr[SVMIGD_SHA256_LEN];
	char err[1024];
	X509 *cert;
	int ret;

	if (need(a->policy, "--policy") || need(a->sig, "--sig") ||
	    need(a->authority, "--authority") || need(a->cert, "--cert") ||
	    need(a->vm, "--vm") || need(a->source, "--source") ||
	    need(a->target, "--target"))
		return 2;
	if (svmigd_policy_load(&p, a->policy, a->sig, a->authority, err,
			       sizeof(err)))
		return setup_fail(a, "%s", err);
	cert = svmigd_load_cert(a->cert, err, sizeof(err));
	if (cert && svmigd_cert_sha256(cert, fpr)) {
		/* err holds nothing yet: say what failed */
		snprintf(err, sizeof(err), "%s: cannot fingerprint the certificate",
			 a->cert);
		X509_free(cert);
		cert = NULL;
	}
	if (!cert) {
		svmigd_policy_free(p);
		return setup_fail(a, "%s", err);
	}
	ret = svmigd_policy_decide(p, fpr, a->vm, a->source, a->target, &dec);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(!ret));
		json_object_object_add(o, "allowed", json_object_new_boolean(!ret));
		json_object_object_add(o, "check", json_object_new_int(dec.check));
		json_object_object_add(o, "reason", json_object_new_string(dec.reason));
		if (dec.operator)
			json_object_object_add(o, "operator", json_object_new_string(dec.operator));
		if (dec.role)
			json_object_object_add(o, "role", json_object_new_string(dec.role));
		print_json(o);
		json_object_put(o);
	} else {
		printf("%s: %s\n", ret ? "refused" : "allowed", dec.reason);
	}
	X509_free(cert);
	svmigd_policy_free(p);
	return ret ? 1 : 0;
}

/* ------------------------------------------------------------ tpm-ak */

/*
 * The TPM did not open: name the device (a missing one is the usual
 * case: no TPM, or its driver not loaded) and the way to choose another.
 */
static int tpm_open_fail(const struct args *a, const char *tcti, int ret)
{
	const char *dev = NULL;

	if (!strncmp(tcti, "device:", 7))
		dev = tcti + 7;
	else if (!strcmp(tcti, "device"))
		dev = "/dev/tpm0";
	if (dev && access(dev, F_OK))
		return setup_fail(a, "no TPM at %s (%s); give another with --tcti "
				  "(e.g. --tcti device:/dev/tpmrm1, --tcti swtpm:port=2321)",
				  dev, strerror(errno));
	if (dev && access(dev, R_OK | W_OK))
		return setup_fail(a, "TPM %s: %s (svmigctl must run as root or in "
				  "the tss group)", dev, strerror(errno));
	return setup_fail(a, "TPM %s: %s (TSS2_LOG=all+ERROR shows the "
			  "library's own messages)", tcti, svmigd_tpm_strerror(ret));
}

static int cmd_tpm_ak(const struct args *a)
{
	unsigned int idx[SVMIGD_TPM_PCR_COUNT];
	struct svmigd_tpm_pcrs pcrs = { 0 };
	struct svmigd_tpm_ak ak;
	struct svmigd_tpm *t;
	char hex[SVMIGD_SHA256_HEX_LEN + 1], key[8];
	const char *p = a->pcrs ?: "";
	size_t n = 0, i;
	int ret;

	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v >= SVMIGD_TPM_PCR_COUNT || n == SVMIGD_TPM_PCR_COUNT ||
		    (*end && *end != ',')) {
			fprintf(stderr, PROG ": bad --pcrs\n");
			return 2;
		}
		idx[n++] = (unsigned int)v;
		p = *end ? end + 1 : end;
	}
	ret = svmigd_tpm_open(a->tcti ?: SVMIGD_DEFAULT_TCTI, &t);
	if (ret)
		return tpm_open_fail(a, a->tcti ?: SVMIGD_DEFAULT_TCTI, ret);
	ret = svmigd_tpm_ak(t, &ak);
	if (!ret && n)
		ret = svmigd_tpm_pcr_read(t, idx, n, &pcrs);
	if (ret) {
		setup_fail(a, "TPM: %s (%s)", svmigd_tpm_strerror(ret),
			   svmigd_tpm_last_error(t));
		svmigd_tpm_close(t);
		return 2;
	}
	svmigd_tpm_close(t);
	svmigd_hex_encode(hex, ak.sha256, SVMIGD_SHA256_LEN);
	if (a->json) {
		struct json_object *o = json_object_new_object();
		struct json_object *po = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "ak_sha256", json_object_new_string(hex));
		for (i = 0; i < pcrs.count; i++) {
			svmigd_hex_encode(hex, pcrs.value[i], SVMIGD_SHA256_LEN);
			snprintf(key, sizeof(key), "%u", pcrs.index[i]);
			json_object_object_add(po, key, json_object_new_string(hex));
		}
		json_object_object_add(o, "pcrs", po);
		print_json(o);
		json_object_put(o);
	} else {
		printf("ak_sha256 %s\n", hex);
		for (i = 0; i < pcrs.count; i++) {
			svmigd_hex_encode(hex, pcrs.value[i], SVMIGD_SHA256_LEN);
			printf("pcr %u %s\n", pcrs.index[i], hex);
		}
	}
	return 0;
}

/* ------------------------------------------------- tpm authority binding */

/* "0x" and 1 to 8 hex digits, an owner NV index. */
static int parse_nv_index(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2] ||
	    strlen(s) > 10 || strspn(s + 2, "0123456789abcdefABCDEF") !=
	    strlen(s + 2))
		return -1;
	errno = 0;
	v = strtoul(s + 2, &end, 16);
	if (errno || *end || v < SVMIGD_TPM_NV_FIRST || v > SVMIGD_TPM_NV_LAST)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* The owner password: the file's bytes, one final newline dropped. */
static int read_owner_auth(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, size, f);
	if (ferror(f) || n == size) {
		fclose(f);
		return -E2BIG;
	}
	fclose(f);
	if (n && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	if (strlen(buf) != n)
		return -EINVAL;		/* a NUL inside */
	return 0;
}

static int tpm_binding_args(const struct args *a, uint32_t *nv)
{
	if (need(a->tcti, "--tcti") || need(a->nv_index, "--nv-index"))
		return 2;
	if (parse_nv_index(a->nv_index, nv)) {
		fprintf(stderr,
			PROG ": --nv-index: not an NV index 0x%08x to 0x%08x: %s\n",
			SVMIGD_TPM_NV_FIRST, SVMIGD_TPM_NV_LAST, a->nv_index);
		return 2;
	}
	return 0;
}

static int cmd_tpm_bind_authority(const struct args *a)
{
	uint8_t digest[SVMIGD_SHA256_LEN];
	char hex[SVMIGD_SHA256_HEX_LEN + 1], err[512], auth[65] = "";
	struct svmigd_tpm *t;
	uint32_t nv;
	int ret;

	ret = tpm_binding_args(a, &nv);
	if (ret || need(a->authority, "--authority"))
		return 2;
	if (svmigd_authority_sha256(a->authority, digest, err, sizeof(err)))
		return setup_fail(a, "%s", err);
	if (a->owner_auth_file) {
		ret = read_owner_auth(a->owner_auth_file, auth, sizeof(auth));
		if (ret)
			return setup_fail(a, "%s: %s", a->owner_auth_file,
					  ret == -E2BIG ? "longer than 64 bytes" :
					  ret == -EINVAL ? "contains a NUL byte" :
					  strerror(-ret));
	}
	ret = svmigd_tpm_open(a->tcti, &t);
	if (ret) {
		OPENSSL_cleanse(auth, sizeof(auth));
		return tpm_open_fail(a, a->tcti, ret);
	}
	ret = svmigd_tpm_nv_bind(t, nv, digest, auth);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (ret) {
		snprintf(err, sizeof(err), "TPM NV index 0x%08x: %s (%s)", nv,
			 svmigd_tpm_strerror(ret), svmigd_tpm_last_error(t));
		svmigd_tpm_close(t);
		setup_fail(a, "%s", err);
		return ret == SVMIGD_TPM_EBOUND ? 1 : 2;
	}
	svmigd_tpm_close(t);
	svmigd_hex_encode(hex, digest, SVMIGD_SHA256_LEN);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		snprintf(err, sizeof(err), "0x%08x", nv);
		json_object_object_add(o, "nv_index", json_object_new_string(err));
		json_object_object_add(o, "authority_sha256",
				       json_object_new_string(hex));
		print_json(o);
		json_object_put(o);
	} else {
		printf("bound 0x%08x authority_sha256 %s\n", nv, hex);
	}
	return 0;
}

static int cmd_tpm_authority(const struct args *a)
{
	uint8_t got[SVMIGD_SHA256_LEN], want[SVMIGD_SHA256_LEN];
	char hex[SVMIGD_SHA256_HEX_LEN + 1], err[512], idx[16];
	struct svmigd_tpm *t;
	bool match = true;
	uint32_t nv;
	int ret;

	ret = tpm_binding_args(a, &nv);
	if (ret)
		return ret;
	if (a->authority &&
	    svmigd_authority_sha256(a->authority, want, err, sizeof(err)))
		return setup_fail(a, "%s", err);
	ret = svmigd_tpm_open(a->tcti, &t);
	if (ret)
		return tpm_open_fail(a, a->tcti, ret);
	ret = svmigd_tpm_nv_read(t, nv, got, sizeof(got));
	if (ret) {
		snprintf(err, sizeof(err), "TPM NV index 0x%08x: %s (%s)", nv,
			 svmigd_tpm_strerror(ret), svmigd_tpm_last_error(t));
		svmigd_tpm_close(t);
		return setup_fail(a, "%s", err);
	}
	svmigd_tpm_close(t);
	if (a->authority)
		match = !CRYPTO_memcmp(got, want, sizeof(got));
	svmigd_hex_encode(hex, got, SVMIGD_SHA256_LEN);
	snprintf(idx, sizeof(idx), "0x%08x", nv);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(match));
		json_object_object_add(o, "nv_index", json_object_new_string(idx));
		json_object_object_add(o, "authority_sha256",
				       json_object_new_string(hex));
		if (a->authority)
			json_object_object_add(o, "match",
					       json_object_new_boolean(match));
		print_json(o);
		json_object_put(o);
	} else {
		printf("nv_index %s authority_sha256 %s\n", idx, hex);
		if (a->authority)
			printf("%s: %s\n", a->authority,
			       match ? "matches" : "does not match");
	}
	return match ? 0 : 1;
}

/* ------------------------------------------------------------ main */

static int bad_number(const char *opt, const char *val)
{
	fprintf(stderr, PROG ": %s: not a number in range: %s\n", opt, val);
	return 2;
}

/*
 * The subcommands, as wireguard-tools' wg.c has them: each entry names
 * its function, the options it takes (a bit per option of opts[]), its
 * operand if any, and its help.  An option another subcommand takes is
 * "unknown for this command" here, exit 2, like any unknown option.
 */
enum {
	C_MIGRATE = 1 << 0, C_STATUS = 1 << 1, C_ATTEST = 1 << 2,
	C_REQUEST = 1 << 3, C_AUDIT = 1 << 4, C_POLICY = 1 << 5,
	C_TPM_AK = 1 << 6, C_TPM_BIND = 1 << 7, C_TPM_AUTH = 1 << 8,
	C_DAEMON = C_MIGRATE | C_STATUS | C_ATTEST,
	C_NVTPM = C_TPM_BIND | C_TPM_AUTH,
	C_ALL = (1 << 9) - 1,
};

struct cmd {
	const char *name;		/* "audit verify": two words */
	unsigned int bit;
	int (*fn)(const struct args *a);
	const char *synopsis;		/* after "svmigctl NAME " */
	const char *summary;
};

static const struct cmd cmds[] = {
	{ "migrate", C_MIGRATE, cmd_migrate,
	  "--request FILE [--socket PATH | --config FILE] [--json]",
	  "have svmigd migrate the VM of a signed request; progress, then a summary" },
	{ "status", C_STATUS, cmd_status,
	  "[--socket PATH | --config FILE] [--json]",
	  "svmigd's host, policy, peers and the migration in progress" },
	{ "attest", C_ATTEST, cmd_attest,
	  "PEER [--socket PATH | --config FILE] [--json]",
	  "have svmigd check PEER's certificate and TPM quote against the policy" },
	{ "request", C_REQUEST, cmd_request,
	  "--vm V --source A --target B --mem MIB --vcpus N --cert C --key K --out FILE [--json]",
	  "write a migration request signed with the operator's key" },
	{ "audit verify", C_AUDIT, cmd_audit_verify,
	  "--log F --cert C [--json]",
	  "check an audit log's signatures and chain" },
	{ "policy check", C_POLICY, cmd_policy_check,
	  "--policy P --sig S --authority A --cert OPCERT --vm V --source A --target B [--json]",
	  "check a signed policy and whether it allows a migration" },
	{ "tpm-ak", C_TPM_AK, cmd_tpm_ak,
	  "[--tcti T] [--pcrs 0,7] [--json]",
	  "this host's AK digest and PCR values, for the policy" },
	{ "tpm-bind-authority", C_TPM_BIND, cmd_tpm_bind_authority,
	  "--tcti T --nv-index I --authority CERT [--owner-auth-file F] [--json]",
	  "bind the policy authority to this host's TPM (an NV index, write-locked)" },
	{ "tpm-authority", C_TPM_AUTH, cmd_tpm_authority,
	  "--tcti T --nv-index I [--authority CERT] [--json]",
	  "read the authority bound in the TPM; compare it with CERT" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

struct optdef {
	struct option lo;
	unsigned int cmds;	/* C_* of the subcommands that take it */
	const char *arg;	/* its value's name in the help, or NULL */
	const char *help;
};

static const struct optdef opts[] = {
	{ { "socket", required_argument, NULL, 'S' }, C_DAEMON, "PATH",
	  "svmigd's control socket (default: svmigd.sock in the state_dir of --config)" },
	{ { "config", required_argument, NULL, 'C' }, C_DAEMON, "FILE",
	  "svmigd.conf naming that state_dir (default /etc/svmigd/svmigd.conf)" },
	{ { "request", required_argument, NULL, 'r' }, C_MIGRATE, "FILE",
	  "the signed request (svmigctl request --out)" },
	{ { "vm", required_argument, NULL, 'v' }, C_REQUEST | C_POLICY, "V",
	  "the VM's name" },
	{ { "source", required_argument, NULL, 's' }, C_REQUEST | C_POLICY, "A",
	  "the source host's name" },
	{ { "target", required_argument, NULL, 't' }, C_REQUEST | C_POLICY, "B",
	  "the target host's name" },
	{ { "mem", required_argument, NULL, 'm' }, C_REQUEST, "MIB",
	  "the VM's memory in MiB (the target's admission limit)" },
	{ { "vcpus", required_argument, NULL, 'n' }, C_REQUEST, "N",
	  "the VM's vCPUs" },
	{ { "cert", required_argument, NULL, 'c' }, C_REQUEST | C_AUDIT | C_POLICY, "C",
	  "a PEM certificate: the operator's (request, policy check) or the host's "
	  "that signed the log (audit verify)" },
	{ { "key", required_argument, NULL, 'k' }, C_REQUEST, "K",
	  "the operator's private key (PEM)" },
	{ { "out", required_argument, NULL, 'o' }, C_REQUEST, "FILE",
	  "where to write the request" },
	{ { "log", required_argument, NULL, 'l' }, C_AUDIT, "F",
	  "the audit log (svmigd writes STATE_DIR/audit.log)" },
	{ { "policy", required_argument, NULL, 'p' }, C_POLICY, "P",
	  "policy.json" },
	{ { "sig", required_argument, NULL, 'g' }, C_POLICY, "S",
	  "its signature (DER)" },
	{ { "authority", required_argument, NULL, 'a' }, C_POLICY | C_NVTPM, "CERT",
	  "the policy authority's certificate (PEM)" },
	{ { "tcti", required_argument, NULL, 'T' }, C_TPM_AK | C_NVTPM, "T",
	  "the TPM, as a tpm2-tss TCTI (default " SVMIGD_DEFAULT_TCTI " for tpm-ak)" },
	{ { "pcrs", required_argument, NULL, 'P' }, C_TPM_AK, "LIST",
	  "SHA-256 PCRs to read, comma-separated (e.g. 0,7)" },
	{ { "nv-index", required_argument, NULL, 'N' }, C_NVTPM, "I",
	  "the NV index, 0x01000000 to 0x01ffffff" },
	{ { "owner-auth-file", required_argument, NULL, 'O' }, C_TPM_BIND, "F",
	  "the TPM owner authorization (the file's bytes, one final newline dropped)" },
	{ { "json", no_argument, NULL, 'j' }, C_ALL, NULL,
	  "one JSON object on standard output, \"ok\" true exactly on success" },
	{ { "help", no_argument, NULL, 'h' }, C_ALL, NULL,
	  "this help" },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: " PROG " COMMAND [options]\n"
		   "       " PROG " COMMAND --help | help [COMMAND]\n"
		   "       " PROG " --help | --version\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-19s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nExit status: 0 success, 1 refused or broken, 2 usage or "
		   "setup error.\nTSS2_LOG (e.g. all+ERROR) shows the TPM "
		   "library's own messages.  See svmigctl(8).\n");
}

static void cmd_usage(FILE *f, const struct cmd *c)
{
	char name[64];
	size_t i;

	fprintf(f, "usage: " PROG " %s %s\n\n%s.\n\noptions:\n", c->name,
		c->synopsis, c->summary);
	for (i = 0; i < NOPTS; i++) {
		if (!(opts[i].cmds & c->bit))
			continue;
		snprintf(name, sizeof(name), "--%s%s%s", opts[i].lo.name,
			 opts[i].arg ? " " : "", opts[i].arg ?: "");
		fprintf(f, "  %-22s %s\n", name, opts[i].help);
	}
}

/* argv[1] (and argv[2] for a two-word command): the entry, or NULL. */
static const struct cmd *find_cmd(int argc, char **argv, int *words)
{
	size_t i, n;

	for (i = 0; i < NCMDS; i++) {
		const char *sp = strchr(cmds[i].name, ' ');

		if (!sp) {
			if (is(argv[1], cmds[i].name)) {
				*words = 1;
				return &cmds[i];
			}
			continue;
		}
		n = (size_t)(sp - cmds[i].name);
		if (!strncmp(argv[1], cmds[i].name, n) && !argv[1][n] &&
		    argc > 2 && is(argv[2], sp + 1)) {
			*words = 2;
			return &cmds[i];
		}
	}
	return NULL;
}

static const struct optdef *opt_by_val(int val)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (opts[i].lo.val == val)
			return &opts[i];
	return NULL;
}

static int set_opt(struct args *a, int c, const char *arg)
{
	uint64_t num;

	switch (c) {
	case 'S': a->socket = arg; break;
	case 'C': a->config = arg; break;
	case 'r': a->request = arg; break;
	case 'v': a->vm = arg; break;
	case 's': a->source = arg; break;
	case 't': a->target = arg; break;
	case 'm':
		if (svmigd_parse_u64(arg, 1, 1ULL << 30, &num))
			return bad_number("--mem", arg);
		a->mem = num;
		break;
	case 'n':
		if (svmigd_parse_u64(arg, 1, 4096, &num))
			return bad_number("--vcpus", arg);
		a->vcpus = num;
		break;
	case 'c': a->cert = arg; break;
	case 'k': a->key = arg; break;
	case 'o': a->out = arg; break;
	case 'l': a->log = arg; break;
	case 'p': a->policy = arg; break;
	case 'g': a->sig = arg; break;
	case 'a': a->authority = arg; break;
	case 'T': a->tcti = arg; break;
	case 'P': a->pcrs = arg; break;
	case 'N': a->nv_index = arg; break;
	case 'O': a->owner_auth_file = arg; break;
	case 'j': a->json = true; break;
	}
	return 0;
}

static int unknown_command(const char *what)
{
	fprintf(stderr, PROG ": unknown command '%s' (" PROG
		" --help lists the commands)\n", what);
	return 2;
}

int main(int argc, char **argv)
{
	struct option lo[NOPTS + 1];
	const struct cmd *c;
	const struct optdef *d;
	struct args a = { 0 };
	int ch, words, ret;
	size_t i;

	/*
	 * tpm2-tss prints its own errors on stderr; svmigctl says what
	 * failed itself.  TSS2_LOG in the environment wins.
	 */
	setenv("TSS2_LOG", "all+NONE", 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (is(argv[1], "--help") || is(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (is(argv[1], "--version")) {
		printf(PROG " %s\n", SVMIG_VERSION);
		return 0;
	}
	if (is(argv[1], "help")) {
		if (argc == 2) {
			usage(stdout);
			return 0;
		}
		c = find_cmd(argc - 1, argv + 1, &words);
		if (!c || argc != 2 + words)
			return unknown_command(argv[2]);
		cmd_usage(stdout, c);
		return 0;
	}
	c = find_cmd(argc, argv, &words);
	if (!c) {
		if (argv[1][0] == '-') {
			fprintf(stderr, PROG ": a command comes first, then its "
				"options: " PROG " COMMAND [options] (" PROG
				" --help lists the commands)\n");
			return 2;
		}
		if ((is(argv[1], "audit") || is(argv[1], "policy")) && argc > 2) {
			char both[128];

			snprintf(both, sizeof(both), "%s %s", argv[1], argv[2]);
			return unknown_command(both);
		}
		return unknown_command(argv[1]);
	}

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < NOPTS; i++)
		lo[i] = opts[i].lo;
	opterr = 0;
	optind = 1 + words;
	while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			const char *bad = argv[optind - 1];

			if (ch == ':')
				fprintf(stderr, PROG " %s: %s needs a value\n",
					c->name, bad);
			else if (optopt)
				fprintf(stderr, PROG " %s: unknown option '-%c'\n",
					c->name, optopt);
			else
				fprintf(stderr, PROG " %s: unknown option '%s'\n",
					c->name, bad);
			fprintf(stderr, "(" PROG " %s --help lists its options)\n",
				c->name);
			return 2;
		}
		d = opt_by_val(ch);
		if (!d || !(d->cmds & c->bit)) {
			fprintf(stderr, PROG " %s: unknown option --%s for this "
				"command (" PROG " %s --help lists its options)\n",
				c->name, d ? d->lo.name : "?", c->name);
			return 2;
		}
		if (ch == 'h') {
			cmd_usage(stdout, c);
			return 0;
		}
		ret = set_opt(&a, ch, optarg);
		if (ret)
			return ret;
	}
	/* the one operand: attest's PEER (getopt_long moved it last) */
	if (c->bit == C_ATTEST && optind + 1 == argc)
		a.peer = argv[optind++];
	if (c->bit == C_ATTEST && !a.peer) {
		fprintf(stderr, PROG " attest: which PEER? (" PROG
			" attest PEER; " PROG " attest --help)\n");
		return 2;
	}
	if (optind != argc) {
		fprintf(stderr, PROG " %s: unexpected argument '%s' (" PROG
			" %s --help)\n", c->name, argv[optind], c->name);
		return 2;
	}
	return c->fn(&a);
}
