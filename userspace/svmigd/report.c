// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the daemon's words: its log lines, svmigctl's progress lines and
 * results, the audit records of a migration; the small JSON readers they
 * share.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "audit.h"
#include "daemon_int.h"
#include "util.h"

static int log_journal = -1;	/* set once, before any thread starts */

/* Before any thread starts: whether stderr goes to the journal. */
void logp_init(void)
{
	log_journal = svmigd_stderr_is_journal();
}

void logp_(int prio, const char *fmt, ...)
{
	va_list ap;

	if (log_journal < 0)
		logp_init();
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

int failf(struct mig *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return -1;
}

void ctl_send(int fd, struct json_object *obj)
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

void progress(struct mig *m, const char *step, const char *fmt, ...)
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

/* A record of this migration; @text (if any) as details member @key. */
void audit_with(struct mig *m, const char *event, const char *step,
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

void audit(struct mig *m, const char *event, const char *step,
	   const char *what_err)
{
	audit_with(m, event, step, "error", what_err);
}

/*
 * A migration refused or failed before its session began (the request
 * check, the connection, the TLS handshake), or a start refused:
 * Documentation/svmigd.rst has every refusal in the audit log, and
 * the session records only from REQUEST on.  @v: the request if it verified
 * (else who and what are unknown); @peer: the other host, or NULL.
 */
void audit_early(struct daemon *d, const char *event, const char *role,
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

const char *jstr(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return json_object_get_string(v);
}

bool is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

int64_t jint(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

void add_str(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

/* @key: the hex of a 32-byte value (a digest, a nonce). */
void add_hex32(struct json_object *o, const char *key,
	       const uint8_t *val)
{
	char hex[2 * SVMIGD_SHA256_LEN + 1];

	svmigd_hex_encode(hex, val, SVMIGD_SHA256_LEN);
	add_str(o, key, hex);
}

/* A progress line with the members of @extra (taken) after its detail. */
void progress_send(struct mig *m, const char *step,
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
void progress_session(struct mig *m)
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

void catf(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	if (n < len)
		vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

void result(int client, bool ok, const char *error,
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
