// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl's commands that ask the running svmigd, over its control
 * socket (one JSON object a line; the contract is in daemon.h): migrate,
 * status, attest.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "daemon.h"
#include "net.h"
#include "request.h"
#include "util.h"
#include "ctl.h"

#define SVMIGD_DEFAULT_CONFIG "/etc/svmigd/svmigd.conf"

/* A number with two decimals, written as such. */
static void add_fixed(struct json_object *o, const char *key, double v)
{
	char s[64];

	snprintf(s, sizeof(s), "%.2f", v);
	json_object_object_add(o, key, json_object_new_double_s(v, s));
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
	add_int(o, "time_ms", svmig_now_ms() - p->t0);
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

int cmd_migrate(const struct args *a)
{
	struct prog p = { .show = SHOW_LINES };
	struct json_object *req, *signed_req, *res, *sum = NULL;
	bool ok;
	int rc;

	if (need(a->request, "--request"))
		return 2;
	if (read_request(a, &signed_req))
		return 2;
	if (ctl_libvirt_check(a, signed_req)) {
		json_object_put(signed_req);
		return 2;
	}
	if (a->json)
		p.show = SHOW_NONE;
	else if (isatty(STDOUT_FILENO))
		p.show = SHOW_BAR;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("migrate"));
	json_object_object_add(req, "request", json_object_get(signed_req));
	if (a->libvirt)
		json_object_object_add(req, "libvirt", json_object_new_boolean(1));
	if (a->channels)
		json_object_object_add(req, "channels", json_object_new_int(a->channels));
	p.t0 = svmig_now_ms();
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

int cmd_status(const struct args *a)
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

int cmd_attest(const struct args *a)
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

/* ------------------------------------------------------------ settle */

int cmd_settle(const struct args *a)
{
	struct json_object *req, *res;
	int rc;

	if (need(a->vm, "--vm") || need(a->outcome, "--outcome"))
		return 2;
	if (!is(a->outcome, "resumed") && !is(a->outcome, "not-committed")) {
		fprintf(stderr, PROG " settle: --outcome is \"resumed\" or "
			"\"not-committed\", not '%s'\n", a->outcome);
		return 2;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("settle"));
	json_object_object_add(req, "vm", json_object_new_string(a->vm));
	json_object_object_add(req, "outcome", json_object_new_string(a->outcome));
	rc = ctl_request(a, req, NULL, &res);
	json_object_put(req);
	if (rc)
		return rc;
	if (a->json)
		print_json(res);
	else if (jbool(res, "ok"))
		printf("settled: vm %s, %s (svmigd audited it)\n", a->vm, a->outcome);
	else
		printf("svmigd: %s\n", jstr(res, "error") ?: "not settled");
	rc = jbool(res, "ok") ? 0 : 1;
	json_object_put(res);
	return rc;
}
