// SPDX-License-Identifier: GPL-2.0
/*
 * The audit log's signed head.  See audit_head.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit_head.h"

#define HEAD_JSON_DEPTH	4
#define HEAD_KEYS	5	/* step, seq, last, time, sig */

int svmigd_audit_head_path(const char *log, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s.head", log);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int head_add(struct json_object *o, const char *key,
		    struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

int svmigd_audit_head_sign(EVP_PKEY *key, uint64_t seq,
			   const uint8_t last[SVMIGD_SHA256_LEN], char **line)
{
	char hex[SVMIGD_SHA256_HEX_LEN + 1], *b64 = NULL;
	struct json_object *o = json_object_new_object();
	const char *s;
	uint8_t *sig = NULL;
	size_t siglen;
	int ret = -ENOMEM;

	*line = NULL;
	if (!o)
		return -ENOMEM;
	svmigd_hex_encode(hex, last, SVMIGD_SHA256_LEN);
	if (head_add(o, "step", json_object_new_string(SVMIGD_AUDIT_HEAD_STEP)) ||
	    head_add(o, "seq", json_object_new_int64((int64_t)seq)) ||
	    head_add(o, "last", json_object_new_string(hex)) ||
	    head_add(o, "time", json_object_new_int64((int64_t)time(NULL))))
		goto out;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!s)
		goto out;
	ret = svmigd_sign(key, s, strlen(s), &sig, &siglen);
	if (ret)
		goto out;
	ret = -ENOMEM;
	b64 = svmigd_base64_encode(sig, siglen);
	if (!b64 || head_add(o, "sig", json_object_new_string(b64)))
		goto out;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (s && strlen(s) <= SVMIGD_AUDIT_HEAD_MAX)
		*line = strdup(s);
	ret = *line ? 0 : s ? -EMSGSIZE : -ENOMEM;
out:
	free(b64);
	free(sig);
	json_object_put(o);
	return ret;
}

static int head_bad(char *why, size_t whylen, const char *what)
{
	return svmigd_fail(why, whylen, -EBADMSG, "bad head: %s", what);
}

/* The fields of @o, in any order; *@o's "sig" removed (and verified). */
static int head_fields(struct json_object *o, EVP_PKEY *key,
		       struct svmigd_audit_head *h, char *why, size_t whylen)
{
	struct json_object *step = json_object_object_get(o, "step");
	struct json_object *seq = json_object_object_get(o, "seq");
	struct json_object *t = json_object_object_get(o, "time");
	struct json_object *sig = json_object_object_get(o, "sig");
	struct json_object *last = json_object_object_get(o, "last");
	const char *s;
	uint8_t *raw = NULL;
	size_t rawlen;
	int ret;

	if (json_object_object_length(o) != HEAD_KEYS ||
	    !json_object_is_type(step, json_type_string) ||
	    strcmp(json_object_get_string(step), SVMIGD_AUDIT_HEAD_STEP) ||
	    !json_object_is_type(seq, json_type_int) ||
	    json_object_get_int64(seq) < 1 ||
	    !json_object_is_type(t, json_type_int) ||
	    !json_object_is_type(sig, json_type_string) ||
	    !json_object_is_type(last, json_type_string) ||
	    svmigd_hex_decode(h->last, SVMIGD_SHA256_LEN,
			      json_object_get_string(last)))
		return head_bad(why, whylen, "not a head of an audit log");
	h->seq = (uint64_t)json_object_get_int64(seq);
	h->time = json_object_get_int64(t);
	ret = svmigd_base64_decode(json_object_get_string(sig), SVMIGD_SIG_MAX,
				   &raw, &rawlen);
	if (ret)
		return ret == -ENOMEM ? ret :
		       head_bad(why, whylen, "signature not canonical base64");
	json_object_object_del(o, "sig");
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ret = s ? svmigd_verify(key, s, strlen(s), raw, rawlen) : -ENOMEM;
	free(raw);
	if (ret == -EBADMSG)
		return head_bad(why, whylen, "its signature does not verify");
	if (ret == -EINVAL)
		return svmigd_fail(why, whylen, ret, "unsupported key");
	return ret;
}

int svmigd_audit_head_parse(const char *line, size_t len, EVP_PKEY *key,
			    struct svmigd_audit_head *h, char *why,
			    size_t whylen)
{
	struct json_object *o = NULL;
	const char *s;
	char m[160];
	int ret;

	memset(h, 0, sizeof(*h));
	if (len > SVMIGD_AUDIT_HEAD_MAX)
		return head_bad(why, whylen, "too long");
	ret = svmigd_json_parse(line, len, HEAD_JSON_DEPTH, &o, m, sizeof(m));
	if (ret)
		return ret == -ENOMEM ? ret : head_bad(why, whylen, "not JSON");
	if (!json_object_is_type(o, json_type_object)) {
		ret = head_bad(why, whylen, "not an object");
		goto out;
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!s || strlen(s) != len || memcmp(s, line, len)) {
		ret = s ? head_bad(why, whylen, "not in canonical form") :
		      -ENOMEM;
		goto out;
	}
	ret = head_fields(o, key, h, why, whylen);
out:
	json_object_put(o);
	if (ret)
		memset(h, 0, sizeof(*h));
	return ret;
}

int svmigd_audit_head_read(const char *log, EVP_PKEY *key,
			   struct svmigd_audit_head *h, bool *found,
			   char *why, size_t whylen)
{
	char path[4096], m[256];
	uint8_t *buf = NULL;
	size_t len;
	int ret;

	*found = false;
	memset(h, 0, sizeof(*h));
	if (svmigd_audit_head_path(log, path, sizeof(path)))
		return svmigd_fail(why, whylen, -ENAMETOOLONG, "path too long");
	ret = svmigd_read_file(path, SVMIGD_AUDIT_HEAD_MAX + 1, &buf, &len, m,
			       sizeof(m));
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return svmigd_fail(why, whylen, ret == -EFBIG ? -EBADMSG : ret,
				   "%s", m);
	*found = true;
	if (!len || buf[len - 1] != '\n')
		ret = head_bad(m, sizeof(m), "no newline");
	else
		ret = svmigd_audit_head_parse((const char *)buf, len - 1, key,
					      h, m, sizeof(m));
	if (ret)
		svmigd_fail(why, whylen, ret, "%s: %s", path,
			    ret == -ENOMEM ? "out of memory" : m);
	free(buf);
	return ret;
}

static int head_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = -ENOMEM;

	if (!copy)
		return ret;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = fd < 0 || fsync(fd) ? -errno : 0;
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

int svmigd_audit_head_write(const char *log, EVP_PKEY *key, uint64_t seq,
			    const uint8_t last[SVMIGD_SHA256_LEN], char *why,
			    size_t whylen)
{
	char path[4096], tmp[4096 + 8], *line = NULL;
	size_t len, off = 0;
	ssize_t n;
	int fd, ret;

	if (svmigd_audit_head_path(log, path, sizeof(path)) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return svmigd_fail(why, whylen, -ENAMETOOLONG, "path too long");
	ret = svmigd_audit_head_sign(key, seq, last, &line);
	if (ret)
		return svmigd_fail(why, whylen, ret, "cannot sign the head: %s",
				   ret == -ENOMEM ? "out of memory" :
				   "unsupported key");
	len = strlen(line);
	line[len++] = '\n';	/* over the NUL: the length is kept */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	while (off < len) {
		n = write(fd, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	else
		ret = head_sync_dir(path);
out:
	free(line);
	if (ret)
		return svmigd_fail(why, whylen, ret, "%s: %s", path,
				   svmigd_strerror(-ret));
	return 0;
}

/* A "peer-head" record's head, as a line; NULL when @o is none. */
static char *anchor_from_record(struct json_object *o, size_t *len)
{
	struct json_object *d, *ev, *h;
	uint8_t *raw = NULL;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_is_type(json_object_object_get(o, "event"),
				 json_type_string) ||
	    strcmp(json_object_get_string(json_object_object_get(o, "event")),
		   SVMIGD_AUDIT_PEER_HEAD) ||
	    !json_object_object_get_ex(o, "details", &d) ||
	    !json_object_object_get_ex(d, "evidence", &ev) ||
	    !json_object_object_get_ex(ev, "head", &h) ||
	    !json_object_is_type(h, json_type_string) ||
	    svmigd_base64_decode(json_object_get_string(h),
				 SVMIGD_AUDIT_HEAD_MAX, &raw, len))
		return NULL;
	return (char *)raw;
}

int svmigd_audit_anchor_read(const char *anchor, EVP_PKEY *key,
			     struct svmigd_audit_head *best, uint64_t *n,
			     char *err, size_t errlen)
{
	struct svmigd_audit_head h;
	struct json_object *o;
	char *line = NULL, *head, why[160];
	size_t cap = 0, len, hlen;
	ssize_t got;
	FILE *f;
	int ret = 0;

	memset(best, 0, sizeof(*best));
	*n = 0;
	f = fopen(anchor, "re");
	if (!f)
		return svmigd_fail(err, errlen, -errno, "%s: %s", anchor,
				   svmigd_strerror(errno));
	while ((got = getline(&line, &cap, f)) > 0) {
		len = (size_t)got;
		if (line[len - 1] == '\n')
			len--;
		head = NULL;
		if (len <= SVMIGD_AUDIT_HEAD_MAX &&
		    !svmigd_audit_head_parse(line, len, key, &h, why,
					     sizeof(why)))
			goto found;
		if (len > (1u << 20) ||
		    svmigd_json_parse(line, len, 32, &o, why, sizeof(why)))
			continue;
		head = anchor_from_record(o, &hlen);
		json_object_put(o);
		if (!head || svmigd_audit_head_parse(head, hlen, key, &h, why,
						     sizeof(why))) {
			free(head);
			continue;
		}
found:
		free(head);
		(*n)++;
		if (h.seq > best->seq)
			*best = h;
	}
	if (ferror(f))
		ret = svmigd_fail(err, errlen, -EIO, "%s: read error", anchor);
	free(line);
	fclose(f);
	return ret;
}
