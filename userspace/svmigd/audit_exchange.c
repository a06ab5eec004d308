// SPDX-License-Identifier: GPL-2.0
/*
 * HEAD: the signed audit heads exchanged after a handover.  See
 * audit_exchange.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "audit.h"
#include "audit_evidence.h"
#include "audit_exchange.h"
#include "msg.h"
#include "util.h"

int svmigd_audit_head_msg_check(struct json_object *msg, EVP_PKEY *peer_key,
				struct svmigd_audit_head *h, char *why,
				size_t whylen)
{
	struct json_object *line = json_object_object_get(msg, "head");
	const char *type = svmig_msg_type(msg);

	memset(h, 0, sizeof(*h));
	if (!type || strcmp(type, SVMIG_MSG_HEAD) ||
	    json_object_object_length(msg) != 2 ||
	    !json_object_is_type(line, json_type_string))
		return svmigd_fail(why, whylen, -EBADMSG,
				   "malformed HEAD message");
	return svmigd_audit_head_parse(json_object_get_string(line),
				       (size_t)json_object_get_string_len(line),
				       peer_key, h, why, whylen);
}

/* Our own head line, checked with our key; malloc'd, no newline. */
static int own_head(const struct svmigd_session_cfg *cfg, char **line,
		    char *err, size_t errlen)
{
	struct svmigd_audit_head h;
	char path[4096], m[256];
	uint8_t *buf = NULL;
	size_t len;
	int ret;

	*line = NULL;
	if (svmigd_audit_head_path(cfg->audit_log, path, sizeof(path)))
		return svmigd_fail(err, errlen, -ENAMETOOLONG, "path too long");
	ret = svmigd_read_file(path, SVMIGD_AUDIT_HEAD_MAX + 1, &buf, &len, m,
			       sizeof(m));
	if (ret)
		return svmigd_fail(err, errlen, ret, "our head: %s", m);
	if (!len || buf[len - 1] != '\n' ||
	    svmigd_audit_head_parse((const char *)buf, len - 1, cfg->host_key,
				    &h, m, sizeof(m))) {
		free(buf);
		return svmigd_fail(err, errlen, -EBADMSG, "%s: not a valid head",
				   path);
	}
	buf[len - 1] = '\0';
	*line = (char *)buf;
	return 0;
}

static int send_head(struct svmig_tls_conn *conn,
		     const struct svmigd_session_cfg *cfg, char *err,
		     size_t errlen)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_HEAD), *s;
	char *line = NULL;
	int ret = msg ? own_head(cfg, &line, err, errlen) : -ENOMEM;

	if (!ret) {
		s = json_object_new_string(line);
		if (!s || json_object_object_add(msg, "head", s)) {
			json_object_put(s);
			ret = -ENOMEM;
		}
	}
	if (!ret) {
		ret = svmig_msg_send(conn, msg, svmigd_session_timeout(cfg));
		if (ret)
			svmigd_fail(err, errlen, ret, "sending HEAD: %s",
				    svmig_tls_error(conn));
	} else if (ret == -ENOMEM) {
		svmigd_fail(err, errlen, ret, "out of memory");
	}
	free(line);
	json_object_put(msg);
	return ret;
}

static int add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* The "peer-head" record of the peer's verified @line. */
static int audit_peer_head(const struct svmigd_session_cfg *cfg,
			   const struct svmigd_session *ses,
			   const struct svmigd_audit_head *h, const char *line,
			   char *err, size_t errlen)
{
	struct json_object *d = json_object_new_object();
	int ret = d ? 0 : -ENOMEM;

	if (!ret)
		ret = add(d, "role", json_object_new_string(ses->source ?
							    "source" : "target"));
	if (!ret)
		ret = add(d, "peer", json_object_new_string(ses->peer));
	if (!ret)
		ret = add(d, "step", json_object_new_string(SVMIG_MSG_HEAD));
	if (!ret)
		ret = svmig_msg_add_hex(d, "session", ses->id, sizeof(ses->id));
	if (!ret)
		ret = add(d, "seq", json_object_new_int64((int64_t)h->seq));
	if (!ret)
		ret = add(d, "evidence", svmigd_evidence_head(line, strlen(line)));
	if (ret)
		ret = svmigd_fail(err, errlen, ret, "out of memory");
	else
		ret = svmigd_audit_append(cfg->audit_log, cfg->host_key,
					  SVMIGD_AUDIT_PEER_HEAD,
					  ses->operator[0] ? ses->operator :
					  "unknown", ses->request.req.vm, d,
					  NULL, err, errlen);
	json_object_put(d);
	return ret;
}

static int recv_head(struct svmig_tls_conn *conn,
		     const struct svmigd_session_cfg *cfg,
		     const struct svmigd_session *ses, char *err,
		     size_t errlen)
{
	X509 *cert = svmig_tls_peer_cert(conn);
	struct svmigd_audit_head h;
	struct json_object *msg = NULL;
	char why[256];
	int ret;

	ret = svmig_msg_recv(conn, svmigd_session_timeout(cfg), &msg);
	if (ret)
		return svmigd_fail(err, errlen, ret, "waiting for HEAD: %s",
				   svmig_tls_error(conn));
	ret = cert ? svmigd_audit_head_msg_check(msg, X509_get0_pubkey(cert),
						 &h, why, sizeof(why)) :
	      svmigd_fail(why, sizeof(why), -EBADMSG, "no peer certificate");
	if (ret)
		svmigd_fail(err, errlen, ret, "%s's HEAD refused: %s",
			    ses->peer, why);
	else
		ret = audit_peer_head(cfg, ses, &h,
				      json_object_get_string(
					      json_object_object_get(msg, "head")),
				      err, errlen);
	json_object_put(msg);
	ERR_clear_error();
	return ret;
}

int svmigd_audit_heads_exchange(struct svmig_tls_conn *conn,
				const struct svmigd_session_cfg *cfg,
				const struct svmigd_session *ses,
				char *err, size_t errlen)
{
	int ret;

	if (!conn || !cfg || !ses || !cfg->audit_log || !cfg->host_key)
		return svmigd_fail(err, errlen, -EINVAL, "HEAD: bad argument");
	if (ses->source) {
		ret = recv_head(conn, cfg, ses, err, errlen);
		if (!ret)
			ret = send_head(conn, cfg, err, errlen);
	} else {
		ret = send_head(conn, cfg, err, errlen);
		if (!ret)
			ret = recv_head(conn, cfg, ses, err, errlen);
	}
	return ret;
}
