// SPDX-License-Identifier: GPL-2.0
/*
 * The control connection's framed JSON messages (see msg.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"

/* ---- messages ---- */

struct json_object *svmig_msg_new(const char *type)
{
	struct json_object *msg = json_object_new_object();
	struct json_object *t;

	if (!msg)
		return NULL;
	t = json_object_new_string(type);
	if (!t || json_object_object_add(msg, "type", t)) {
		json_object_put(t);
		json_object_put(msg);
		return NULL;
	}
	return msg;
}

const char *svmig_msg_type(struct json_object *msg)
{
	struct json_object *t;
	const char *s;

	if (!json_object_is_type(msg, json_type_object) ||
	    !json_object_object_get_ex(msg, "type", &t) ||
	    !json_object_is_type(t, json_type_string))
		return NULL;
	s = json_object_get_string(t);
	return s && *s ? s : NULL;
}

/* ---- sending ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int svmig_msg_send_opts(struct svmig_tls_conn *conn, struct json_object *msg,
			int timeout_ms, const struct svmig_msg_opts *opts)
{
	const char *text;
	size_t len;
	uint8_t *frame;
	int ret;

	if (!svmig_tls_usable(conn))
		return -ENOTCONN;
	if (!svmig_msg_type(msg))
		return svmig_tls_fail(conn, -EINVAL,
				      "sending a message without a type");
	text = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE,
						 &len);
	if (!text)
		return svmig_tls_fail(conn, -ENOMEM, "serialising a %s message",
				      svmig_msg_type(msg));
	if (len > SVMIG_MSG_MAX)
		return svmig_tls_fail(conn, -EMSGSIZE,
				      "%s message of %zu bytes, more than %u",
				      svmig_msg_type(msg), len, SVMIG_MSG_MAX);
	frame = malloc(SVMIG_MSG_HDR_LEN + len);
	if (!frame)
		return svmig_tls_fail(conn, -ENOMEM, "out of memory");
	put_be32(frame, (uint32_t)len);
	memcpy(frame + SVMIG_MSG_HDR_LEN, text, len);
	ret = opts && opts->observe ?
	      opts->observe(opts->arg, frame, SVMIG_MSG_HDR_LEN + len) : 0;
	if (!ret)
		ret = svmig_tls_write(conn, frame, SVMIG_MSG_HDR_LEN + len,
				      timeout_ms);
	free(frame);
	return ret;
}

int svmig_msg_send(struct svmig_tls_conn *conn, struct json_object *msg,
		   int timeout_ms)
{
	return svmig_msg_send_opts(conn, msg, timeout_ms, NULL);
}

/* ---- receiving ---- */

/*
 * Reads @len bytes of the frame that starts with @prior bytes already
 * read; a close before the frame's first byte is a clean end.
 */
static int read_part(struct svmig_tls_conn *conn, void *buf, size_t len,
		     size_t prior, size_t total, int timeout_ms)
{
	size_t done;
	int ret;

	ret = svmig_tls_read(conn, buf, len, timeout_ms, &done);
	if (ret != -ECONNRESET || prior + done == 0)
		return ret;
	return svmig_tls_fail(conn, -EPROTO,
			      "truncated frame: %zu of %zu bytes, then %s",
			      prior + done, total, svmig_tls_error(conn));
}

/* Strict JSON, UTF-8, exactly one object with a "type", nothing after. */
static int parse(struct svmig_tls_conn *conn, const char *text, size_t len,
		 int depth, struct json_object **msg)
{
	struct json_tokener *tok = json_tokener_new_ex(depth > 0 ? depth :
						       JSON_TOKENER_DEFAULT_DEPTH);
	enum json_tokener_error jerr;
	struct json_object *obj;
	int ret = 0;

	if (!tok)
		return svmig_tls_fail(conn, -ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (memchr(text, '\0', len))
		ret = svmig_tls_fail(conn, -EPROTO, "frame holds a NUL byte");
	else if (!obj)
		ret = svmig_tls_fail(conn, -EPROTO, "frame is not JSON: %s",
				     jerr == json_tokener_continue ?
				     "it ends early" :
				     json_tokener_error_desc(jerr));
	else if (json_tokener_get_parse_end(tok) != len)
		ret = svmig_tls_fail(conn, -EPROTO,
				     "frame has bytes after its JSON value");
	else if (!svmig_msg_type(obj))
		ret = svmig_tls_fail(conn, -EPROTO,
				     "frame is not an object with a \"type\"");
	json_tokener_free(tok);
	if (ret) {
		json_object_put(obj);
		return ret;
	}
	*msg = obj;
	return 0;
}

static long long mono_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return 0;
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What is left until @deadline (ns; -1: none) for svmig_tls_read. */
static int left_ms(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = (deadline - mono_ns() + 999999) / 1000000;
	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

size_t svmig_msg_recv_max(const struct svmig_tls_conn *conn)
{
	size_t max = svmig_tls_frame_max(conn);

	return max && max < SVMIG_MSG_MAX ? max : SVMIG_MSG_MAX;
}

int svmig_msg_recv_opts(struct svmig_tls_conn *conn, int timeout_ms,
			const struct svmig_msg_opts *opts,
			struct json_object **msg)
{
	long long deadline = timeout_ms < 0 ? -1 :
			     mono_ns() + timeout_ms * 1000000LL;
	uint8_t hdr[SVMIG_MSG_HDR_LEN];
	uint32_t len;
	char *text;
	int ret;

	*msg = NULL;
	ret = read_part(conn, hdr, sizeof(hdr), 0, sizeof(hdr), timeout_ms);
	if (ret)
		return ret;
	len = get_be32(hdr);
	if (len == 0 || len > svmig_msg_recv_max(conn))
		return svmig_tls_fail(conn, -EMSGSIZE,
				      "frame of %u bytes (allowed: 1 to %zu)",
				      len, svmig_msg_recv_max(conn));
	text = malloc(len);
	if (!text)
		return svmig_tls_fail(conn, -ENOMEM, "out of memory");
	ret = read_part(conn, text, len, sizeof(hdr), sizeof(hdr) + len,
			left_ms(deadline));
	if (!ret && opts && opts->observe) {
		ret = opts->observe(opts->arg, hdr, sizeof(hdr));
		if (!ret)
			ret = opts->observe(opts->arg, text, len);
	}
	if (!ret)
		ret = parse(conn, text, len, opts ? opts->depth : 0, msg);
	free(text);
	return ret;
}

int svmig_msg_recv(struct svmig_tls_conn *conn, int timeout_ms,
		   struct json_object **msg)
{
	return svmig_msg_recv_opts(conn, timeout_ms, NULL, msg);
}

int svmig_msg_expect(struct svmig_tls_conn *conn, const char *type,
		     int timeout_ms, struct json_object **msg)
{
	int ret = svmig_msg_recv(conn, timeout_ms, msg);

	if (ret)
		return ret;
	if (!strcmp(svmig_msg_type(*msg), type))
		return 0;
	ret = svmig_tls_fail(conn, -EPROTO, "expected a %s message, got %.64s",
			     type, svmig_msg_type(*msg));
	json_object_put(*msg);
	*msg = NULL;
	return ret;
}

/* ---- binary fields ---- */

int svmig_msg_add_hex(struct json_object *msg, const char *key,
		      const void *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = buf;
	struct json_object *s;
	char *hex;
	size_t i;

	if (len > SVMIG_MSG_MAX / 2 || !json_object_is_type(msg, json_type_object))
		return -EINVAL;
	hex = malloc(2 * len + 1);
	if (!hex)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 0xf];
	}
	s = json_object_new_string_len(hex, (int)(2 * len));
	free(hex);
	if (!s)
		return -ENOMEM;
	if (json_object_object_add(msg, key, s)) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int svmig_msg_get_hex_range(struct json_object *msg, const char *key,
			    void *buf, size_t min, size_t max, size_t *len)
{
	struct json_object *v;
	const char *hex;
	uint8_t *p = buf;
	size_t n, i;
	int hi, lo;

	*len = 0;
	if (!json_object_object_get_ex(msg, key, &v))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	hex = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n % 2)
		return -EINVAL;
	if (n / 2 < min || n / 2 > max)
		return -EMSGSIZE;
	for (i = 0; i < n; i++)
		if (nibble(hex[i]) < 0)
			return -EINVAL;	/* @buf untouched */
	for (i = 0; i < n / 2; i++) {
		hi = nibble(hex[2 * i]);
		lo = nibble(hex[2 * i + 1]);
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

int svmig_msg_get_hex(struct json_object *msg, const char *key,
		      void *buf, size_t len)
{
	size_t got;

	return svmig_msg_get_hex_range(msg, key, buf, len, len, &got);
}
