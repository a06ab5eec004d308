// SPDX-License-Identifier: GPL-2.0
/*
 * The signed, hash-chained audit log.  See audit.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>

#include "audit.h"
#include "audit_head.h"
#include "util.h"

#define AUDIT_JSON_DEPTH	32
#define AUDIT_CHUNK		4096

static const char *const audit_keys[] = {
	"seq", "time", "event", "who", "what", "details", "prev", "sig",
};

#define N_AUDIT_KEYS (sizeof(audit_keys) / sizeof(audit_keys[0]))

/* ---------------------------------------------------------- one record */

static bool audit_is(struct json_object *o, const char *key,
		     enum json_type type)
{
	return json_object_is_type(json_object_object_get(o, key), type);
}

/* The keys, in any order, and their types. */
static int audit_form(struct json_object *o, char *why, size_t whylen)
{
	struct json_object_iterator it, end;
	const char *name;
	size_t i;

	if (!json_object_is_type(o, json_type_object))
		return svmigd_fail(why, whylen, -EBADMSG,
				  "bad record: not an object");
	if ((size_t)json_object_object_length(o) != N_AUDIT_KEYS)
		return svmigd_fail(why, whylen, -EBADMSG,
				  "bad record: %d keys instead of %zu",
				  json_object_object_length(o), N_AUDIT_KEYS);
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		for (i = 0; i < N_AUDIT_KEYS; i++)
			if (!strcmp(name, audit_keys[i]))
				break;
		if (i == N_AUDIT_KEYS)
			return svmigd_fail(why, whylen, -EBADMSG,
					  "bad record: unknown key \"%s\"", name);
	}
	if (!audit_is(o, "seq", json_type_int) ||
	    json_object_get_int64(json_object_object_get(o, "seq")) < 1 ||
	    !audit_is(o, "time", json_type_int) ||
	    !audit_is(o, "event", json_type_string) ||
	    !audit_is(o, "who", json_type_string) ||
	    !audit_is(o, "what", json_type_string) ||
	    !audit_is(o, "details", json_type_object) ||
	    !audit_is(o, "prev", json_type_string) ||
	    !audit_is(o, "sig", json_type_string))
		return svmigd_fail(why, whylen, -EBADMSG,
				  "bad record: a field has the wrong type");
	return 0;
}

/* @o serialises to exactly the @len bytes of @line. */
static int audit_canonical(struct json_object *o, const char *line, size_t len,
			   char *why, size_t whylen)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	if (!s)
		return svmigd_fail(why, whylen, -ENOMEM, "out of memory");
	if (strlen(s) != len || memcmp(s, line, len))
		return svmigd_fail(why, whylen, -EBADMSG,
				  "bad JSON: not in canonical form");
	return 0;
}

/* The signature over @o without its "sig" (which this removes). */
static int audit_signature(struct json_object *o, EVP_PKEY *key,
			   char *why, size_t whylen)
{
	const char *b64 = json_object_get_string(json_object_object_get(o, "sig"));
	const char *s;
	uint8_t *sig;
	size_t siglen;
	int ret;

	ret = svmigd_base64_decode(b64, SVMIGD_SIG_MAX, &sig, &siglen);
	if (ret)
		return ret == -ENOMEM ?
		       svmigd_fail(why, whylen, ret, "out of memory") :
		       svmigd_fail(why, whylen, -EBADMSG,
				  "bad signature: not canonical base64");
	json_object_object_del(o, "sig");
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ret = s ? svmigd_verify(key, s, strlen(s), sig, siglen) : -ENOMEM;
	free(sig);
	if (ret == -ENOMEM)
		return svmigd_fail(why, whylen, ret, "out of memory");
	if (ret == -EBADMSG)
		return svmigd_fail(why, whylen, ret, "bad signature");
	if (ret)
		return svmigd_fail(why, whylen, -EINVAL,
				  "unsupported key (EC, or RSA of at least 2048 bits)");
	return 0;
}

/*
 * Checks the @len bytes of @line (no newline) as a record: its form, its
 * seq (when @seq is not 0), its link to @prev (when not NULL) and its
 * signature.  *found (if not NULL) gets its seq.  -EBADMSG with @why.
 */
static int audit_check(const char *line, size_t len, EVP_PKEY *key,
		       uint64_t seq, const uint8_t *prev, uint64_t *found,
		       char *why, size_t whylen)
{
	uint8_t link[SVMIGD_SHA256_LEN];
	struct json_object *o;
	char m[160];
	uint64_t s;
	int ret;

	ret = svmigd_json_parse(line, len, AUDIT_JSON_DEPTH, &o, m, sizeof(m));
	if (ret)
		return ret == -ENOMEM ?
		       svmigd_fail(why, whylen, ret, "out of memory") :
		       svmigd_fail(why, whylen, -EBADMSG, "bad JSON: %s", m);
	ret = audit_form(o, why, whylen);
	if (!ret)
		ret = audit_canonical(o, line, len, why, whylen);
	if (ret)
		goto out;
	s = (uint64_t)json_object_get_int64(json_object_object_get(o, "seq"));
	if (seq && s != seq) {
		ret = svmigd_fail(why, whylen, -EBADMSG,
				 "seq gap: expected %llu, found %llu",
				 (unsigned long long)seq, (unsigned long long)s);
		goto out;
	}
	if (svmigd_hex_decode(link, SVMIGD_SHA256_LEN,
			      json_object_get_string(json_object_object_get(o, "prev")))) {
		ret = svmigd_fail(why, whylen, -EBADMSG,
				 "bad hash link: prev is not 64 lowercase hex digits");
		goto out;
	}
	if (prev && memcmp(link, prev, SVMIGD_SHA256_LEN)) {
		ret = svmigd_fail(why, whylen, -EBADMSG,
				 "bad hash link: prev is not SHA-256 of the previous line");
		goto out;
	}
	ret = audit_signature(o, key, why, whylen);
	if (!ret && found)
		*found = s;
out:
	json_object_put(o);
	return ret;
}

/* ---------------------------------------------------------- verifying */

static int audit_broken(struct svmigd_audit_report *rep, uint64_t line,
			const char *path, char *err, size_t errlen)
{
	rep->line = line;
	rep->seq = rep->records + 1;
	return svmigd_fail(err, errlen, -EBADMSG, "%s: record %llu (line %llu): %s",
			  path, (unsigned long long)rep->seq,
			  (unsigned long long)line, rep->why);
}

/*
 * The intact log of rep->records records (@lines lines) against its
 * signed head @h (rep->head: whether there is one): a record the head
 * names must be there, with the hash it names.
 */
static int audit_head_match(struct svmigd_audit_report *rep,
			    const struct svmigd_audit_head *h,
			    const uint8_t at_head[SVMIGD_SHA256_LEN],
			    uint64_t lines, const char *path, char *err,
			    size_t errlen)
{
	if (!rep->head && !rep->records)
		return 0;
	if (!rep->head)
		snprintf(rep->why, sizeof(rep->why),
			 "cut tail? the log has no signed head (%s.head), so "
			 "records cut off its end would go unseen", path);
	else if (h->seq > rep->records)
		snprintf(rep->why, sizeof(rep->why),
			 "cut tail: the signed head names record %llu, the "
			 "log ends at record %llu",
			 (unsigned long long)h->seq,
			 (unsigned long long)rep->records);
	else if (memcmp(at_head, h->last, SVMIGD_SHA256_LEN))
		snprintf(rep->why, sizeof(rep->why),
			 "the signed head names another record %llu (its hash "
			 "differs): the log was rewritten",
			 (unsigned long long)h->seq);
	else {
		rep->after_head = rep->records - h->seq;
		return 0;
	}
	return audit_broken(rep, lines + 1, path, err, errlen);
}

/* Hands the intact record @line to @fn as an object (a second parse). */
static int audit_visit(const char *line, size_t len,
		       int (*fn)(void *arg, struct json_object *rec), void *arg,
		       const char *path, char *err, size_t errlen)
{
	struct json_object *o;
	char why[160];
	int ret;

	ret = svmigd_json_parse(line, len, AUDIT_JSON_DEPTH, &o, why, sizeof(why));
	if (ret)
		return svmigd_fail(err, errlen, ret, "%s: %s", path, why);
	ret = fn(arg, o);
	json_object_put(o);
	return ret;
}

/* The intact log against a head of an anchor: @at its record's hash. */
static int audit_anchor_match(struct svmigd_audit_report *rep,
			      const struct svmigd_audit_head *a,
			      const uint8_t at[SVMIGD_SHA256_LEN],
			      uint64_t lines, const char *path, char *err,
			      size_t errlen)
{
	if (a->seq > rep->records)
		snprintf(rep->why, sizeof(rep->why),
			 "cut tail: the anchor holds this host's signed head "
			 "of record %llu, the log ends at record %llu",
			 (unsigned long long)a->seq,
			 (unsigned long long)rep->records);
	else if (memcmp(at, a->last, SVMIGD_SHA256_LEN))
		snprintf(rep->why, sizeof(rep->why),
			 "the anchor's signed head names another record %llu "
			 "(its hash differs): the log was rewritten",
			 (unsigned long long)a->seq);
	else
		return 0;
	return audit_broken(rep, lines + 1, path, err, errlen);
}

static int audit_walk(const char *path, EVP_PKEY *key,
		      int (*fn)(void *arg, struct json_object *rec), void *arg,
		      const struct svmigd_audit_head *anchor,
		      struct svmigd_audit_report *rep, char *err, size_t errlen)
{
	uint8_t prev[SVMIGD_SHA256_LEN] = { 0 }, at_head[SVMIGD_SHA256_LEN];
	uint8_t at_anchor[SVMIGD_SHA256_LEN] = { 0 };
	struct svmigd_audit_head head;
	char head_why[sizeof(rep->why)];
	uint64_t lineno = 0;
	int head_ret;
	char *line = NULL;
	size_t cap = 0, len;
	ssize_t n;
	FILE *f;
	int ret = 0;

	memset(rep, 0, sizeof(*rep));
	f = fopen(path, "re");
	if (!f)
		return svmigd_fail(err, errlen, -errno, "%s: %s", path,
				  svmigd_strerror(errno));
	/*
	 * Shared with other readers, never with an append in progress (its
	 * LOCK_EX): a concurrent writer, another thread's or process's, is
	 * never seen half-way.  Released by fclose().
	 */
	if (flock(fileno(f), LOCK_SH)) {
		ret = svmigd_fail(err, errlen, -errno, "%s: %s", path,
				  svmigd_strerror(errno));
		fclose(f);
		return ret;
	}
	/* a head that does not verify is reported once the chain is */
	head_ret = svmigd_audit_head_read(path, key, &head, &rep->head,
					  head_why, sizeof(head_why));
	if (head_ret && head_ret != -EBADMSG)
		ret = svmigd_fail(err, errlen, head_ret, "%s", head_why);
	rep->head_seq = head.seq;
	while (!ret && (n = getline(&line, &cap, f)) > 0) {
		lineno++;
		len = (size_t)n;
		if (line[len - 1] != '\n') {
			snprintf(rep->why, sizeof(rep->why),
				 "incomplete last line (no newline)");
			ret = audit_broken(rep, lineno, path, err, errlen);
			break;
		}
		len--;
		if (len > SVMIGD_AUDIT_LINE_MAX)
			ret = svmigd_fail(rep->why, sizeof(rep->why), -EBADMSG,
					 "line longer than %d bytes",
					 SVMIGD_AUDIT_LINE_MAX);
		else
			ret = audit_check(line, len, key, rep->records + 1, prev,
					  NULL, rep->why, sizeof(rep->why));
		if (ret == -EBADMSG)
			ret = audit_broken(rep, lineno, path, err, errlen);
		else if (ret)
			svmigd_fail(err, errlen, ret, "%s: %s", path, rep->why);
		else if (svmigd_sha256(line, len, prev))
			ret = svmigd_fail(err, errlen, -ENOMEM, "out of memory");
		else {
			if (++rep->records == head.seq)
				memcpy(at_head, prev, sizeof(prev));
			if (anchor && rep->records == anchor->seq)
				memcpy(at_anchor, prev, sizeof(prev));
		}
		if (!ret && fn)
			ret = audit_visit(line, len, fn, arg, path, err, errlen);
	}
	if (!ret && ferror(f))
		ret = svmigd_fail(err, errlen, -EIO, "%s: read error", path);
	if (!ret && head_ret) {
		snprintf(rep->why, sizeof(rep->why), "%s", head_why);
		ret = audit_broken(rep, lineno + 1, path, err, errlen);
	} else if (!ret) {
		ret = audit_head_match(rep, &head, at_head, lineno, path, err,
				       errlen);
	}
	if (!ret && anchor)
		ret = audit_anchor_match(rep, anchor, at_anchor, lineno, path,
					 err, errlen);
	if (!ret)
		memcpy(rep->last_sha256, prev, sizeof(prev));
	free(line);
	fclose(f);
	return ret;
}

int svmigd_audit_walk(const char *path, EVP_PKEY *key,
		      int (*fn)(void *arg, struct json_object *rec), void *arg,
		      struct svmigd_audit_report *rep, char *err, size_t errlen)
{
	return audit_walk(path, key, fn, arg, NULL, rep, err, errlen);
}

int svmigd_audit_verify_anchor(const char *path, EVP_PKEY *key,
			       const char *anchor,
			       struct svmigd_audit_report *rep, char *err,
			       size_t errlen)
{
	struct svmigd_audit_head best;
	uint64_t n;
	int ret;

	memset(rep, 0, sizeof(*rep));
	ret = svmigd_audit_anchor_read(anchor, key, &best, &n, err, errlen);
	if (ret)
		return ret;
	if (!n)
		return svmigd_fail(err, errlen, -ENOENT,
				   "%s: no signed head of this log's host in it",
				   anchor);
	ret = audit_walk(path, key, NULL, NULL, &best, rep, err, errlen);
	rep->anchor_seq = best.seq;
	return ret;
}

int svmigd_audit_verify_key(const char *path, EVP_PKEY *key,
			    struct svmigd_audit_report *rep, char *err,
			    size_t errlen)
{
	return svmigd_audit_walk(path, key, NULL, NULL, rep, err, errlen);
}

int svmigd_audit_verify(const char *path, const char *cert_path,
			struct svmigd_audit_report *rep, char *err,
			size_t errlen)
{
	X509 *cert;
	int ret;

	memset(rep, 0, sizeof(*rep));
	cert = svmigd_load_cert(cert_path, err, errlen);
	if (!cert)
		return -EINVAL;
	if (!X509_get0_pubkey(cert))
		ret = svmigd_fail(err, errlen, -EINVAL,
				 "%s: unreadable public key", cert_path);
	else
		ret = svmigd_audit_verify_key(path, X509_get0_pubkey(cert),
					      rep, err, errlen);
	X509_free(cert);
	ERR_clear_error();
	return ret;
}

/* ---------------------------------------------------------- appending */

/* The last line of the @size-byte log (ending in '\n'), without it. */
static int audit_last_line(int fd, off_t size, char **line, size_t *len,
			   char *err, size_t errlen)
{
	off_t end = size - 1, start = end, at;
	char buf[AUDIT_CHUNK], *l;
	size_t chunk, i;
	bool found = false;

	if (pread(fd, buf, 1, end) != 1)
		return svmigd_fail(err, errlen, -EIO, "read error");
	if (buf[0] != '\n')
		return svmigd_fail(err, errlen, -EBADMSG,
				  "ends with an incomplete line");
	while (start > 0 && !found) {
		chunk = start < AUDIT_CHUNK ? (size_t)start : AUDIT_CHUNK;
		at = start - (off_t)chunk;
		if (pread(fd, buf, chunk, at) != (ssize_t)chunk)
			return svmigd_fail(err, errlen, -EIO, "read error");
		for (i = chunk; i > 0 && !found; i--)
			if (buf[i - 1] == '\n') {
				found = true;
				start = at + (off_t)i;
			}
		if (!found)
			start = at;
		if (end - start > SVMIGD_AUDIT_LINE_MAX)
			return svmigd_fail(err, errlen, -EBADMSG,
					  "last line longer than %d bytes",
					  SVMIGD_AUDIT_LINE_MAX);
	}
	*len = (size_t)(end - start);
	l = malloc(*len + 1);
	if (!l)
		return svmigd_fail(err, errlen, -ENOMEM, "out of memory");
	if (pread(fd, l, *len, start) != (ssize_t)*len) {
		free(l);
		return svmigd_fail(err, errlen, -EIO, "read error");
	}
	l[*len] = '\0';
	*line = l;
	return 0;
}

/* The log's last record (@seq, @last) against its signed head. */
static int audit_tail_head(const char *path, EVP_PKEY *key, uint64_t seq,
			   const uint8_t last[SVMIGD_SHA256_LEN], char *err,
			   size_t errlen)
{
	struct svmigd_audit_head h;
	bool found;
	int ret;

	ret = svmigd_audit_head_read(path, key, &h, &found, err, errlen);
	if (ret)
		return ret;
	if (!found && seq)
		return svmigd_fail(err, errlen, -EBADMSG,
				   "cut tail? the log has records and no signed "
				   "head (%s.head)", path);
	if (found && h.seq > seq)
		return svmigd_fail(err, errlen, -EBADMSG,
				   "cut tail: the signed head names record %llu, "
				   "the log ends at record %llu",
				   (unsigned long long)h.seq,
				   (unsigned long long)seq);
	if (found && h.seq == seq && memcmp(h.last, last, SVMIGD_SHA256_LEN))
		return svmigd_fail(err, errlen, -EBADMSG,
				   "the signed head names another record %llu: "
				   "the log was rewritten",
				   (unsigned long long)seq);
	return 0;	/* records after the head: a crash in between */
}

/* The seq and the hash of the last record, checked; 0 and zeros if none. */
static int audit_tail(int fd, off_t size, EVP_PKEY *key, uint64_t *seq,
		      uint8_t prev[SVMIGD_SHA256_LEN], char *err, size_t errlen)
{
	char *line = NULL, why[256];
	size_t len = 0;
	int ret;

	*seq = 0;
	memset(prev, 0, SVMIGD_SHA256_LEN);
	if (!size)
		return 0;
	ret = audit_last_line(fd, size, &line, &len, err, errlen);
	if (ret)
		return ret;
	ret = audit_check(line, len, key, 0, NULL, seq, why, sizeof(why));
	if (ret)
		svmigd_fail(err, errlen, ret, "last record: %s", why);
	else if (svmigd_sha256(line, len, prev))
		ret = svmigd_fail(err, errlen, -ENOMEM, "out of memory");
	free(line);
	return ret;
}

static int audit_add(struct json_object *o, const char *key,
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

static struct json_object *audit_details(struct json_object *details)
{
	struct json_object *copy = NULL;

	if (!details)
		return json_object_new_object();
	if (json_object_deep_copy(details, &copy, NULL))
		return NULL;
	return copy;
}

/* The record without "sig". */
static int audit_object(uint64_t seq, const char *event, const char *who,
			const char *what, struct json_object *details,
			const uint8_t prev[SVMIGD_SHA256_LEN],
			struct json_object **out)
{
	char hex[SVMIGD_SHA256_HEX_LEN + 1];
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	svmigd_hex_encode(hex, prev, SVMIGD_SHA256_LEN);
	if (audit_add(o, "seq", json_object_new_int64((int64_t)seq)) ||
	    audit_add(o, "time", json_object_new_int64((int64_t)time(NULL))) ||
	    audit_add(o, "event", json_object_new_string(event)) ||
	    audit_add(o, "who", json_object_new_string(who)) ||
	    audit_add(o, "what", json_object_new_string(what)) ||
	    audit_add(o, "details", audit_details(details)) ||
	    audit_add(o, "prev", json_object_new_string(hex))) {
		json_object_put(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

/* Signs @o and returns its line with "\n", malloc'd. */
static int audit_seal(struct json_object *o, EVP_PKEY *key, char **line,
		      size_t *len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	uint8_t *sig = NULL;
	char *b64 = NULL;
	size_t siglen;
	int ret;

	if (!s)
		return -ENOMEM;
	ret = svmigd_sign(key, s, strlen(s), &sig, &siglen);
	if (ret)
		return ret;
	ret = -ENOMEM;
	b64 = svmigd_base64_encode(sig, siglen);
	if (!b64 || audit_add(o, "sig", json_object_new_string(b64)))
		goto out;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!s)
		goto out;
	*len = strlen(s) + 1;
	*line = malloc(*len + 1);
	if (!*line)
		goto out;
	memcpy(*line, s, *len - 1);
	(*line)[*len - 1] = '\n';
	(*line)[*len] = '\0';
	ret = 0;
out:
	free(b64);
	free(sig);
	return ret;
}

static int audit_write(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int audit_sync_dir(const char *path)
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

/* Builds, self-checks, writes and syncs record @seq. */
static int audit_put(int fd, off_t size, const char *path, EVP_PKEY *key,
		     uint64_t seq, const uint8_t prev[SVMIGD_SHA256_LEN],
		     const char *event, const char *who, const char *what,
		     struct json_object *details,
		     uint8_t last[SVMIGD_SHA256_LEN], char *err, size_t errlen)
{
	struct json_object *o = NULL;
	char *line = NULL, why[256];
	size_t len;
	int ret;

	ret = audit_object(seq, event, who, what, details, prev, &o);
	if (!ret)
		ret = audit_seal(o, key, &line, &len);
	json_object_put(o);
	if (ret)
		return svmigd_fail(err, errlen, ret, "%s: cannot sign: %s", path,
				  ret == -ENOMEM ? "out of memory" :
				  "unsupported key");
	/* never write what verify would refuse (NaN, over-long, ...) */
	if (len - 1 > SVMIGD_AUDIT_LINE_MAX)
		ret = svmigd_fail(why, sizeof(why), -EBADMSG,
				 "longer than %d bytes", SVMIGD_AUDIT_LINE_MAX);
	else
		ret = audit_check(line, len - 1, key, seq, prev, NULL, why,
				  sizeof(why));
	if (ret) {
		free(line);
		return svmigd_fail(err, errlen, ret == -ENOMEM ? ret : -EINVAL,
				  "%s: record not loggable: %s", path, why);
	}
	ret = audit_write(fd, line, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (!ret && !size)
		ret = audit_sync_dir(path);
	if (!ret && svmigd_sha256(line, len - 1, last))
		ret = -ENOMEM;
	free(line);
	if (ret) {
		if (ftruncate(fd, size))
			return svmigd_fail(err, errlen, ret,
					  "%s: write failed (%s), and so did cutting it off",
					  path, svmigd_strerror(-ret));
		return svmigd_fail(err, errlen, ret, "%s: write: %s", path,
				  svmigd_strerror(-ret));
	}
	return 0;
}

/* JSON has no NaN or infinities (json-c would write and read them). */
static bool audit_finite(struct json_object *v, int depth)
{
	struct json_object_iterator it, end;
	size_t i, n;

	if (depth > AUDIT_JSON_DEPTH)
		return false;
	switch (json_object_get_type(v)) {
	case json_type_double:
		return isfinite(json_object_get_double(v));
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (!audit_finite(json_object_array_get_idx(v, i),
					  depth + 1))
				return false;
		return true;
	case json_type_object:
		it = json_object_iter_begin(v);
		end = json_object_iter_end(v);
		for (; !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it))
			if (!audit_finite(json_object_iter_peek_value(&it),
					  depth + 1))
				return false;
		return true;
	default:
		return true;
	}
}

int svmigd_audit_append(const char *path, EVP_PKEY *key, const char *event,
			const char *who, const char *what,
			struct json_object *details, uint64_t *seq,
			char *err, size_t errlen)
{
	uint8_t prev[SVMIGD_SHA256_LEN], hash[SVMIGD_SHA256_LEN];
	uint64_t last;
	struct stat st;
	char m[256];
	int fd, ret;

	if (!event || !who || !what ||
	    (details && !json_object_is_type(details, json_type_object)))
		return svmigd_fail(err, errlen, -EINVAL,
				  "%s: event, who, what and an object of details needed",
				  path);
	if (details && !audit_finite(details, 1))
		return svmigd_fail(err, errlen, -EINVAL,
				  "%s: record not loggable: details too deep or not finite numbers",
				  path);
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return svmigd_fail(err, errlen, -errno, "%s: %s", path,
				  svmigd_strerror(errno));
	if (flock(fd, LOCK_EX) || fstat(fd, &st)) {
		ret = svmigd_fail(err, errlen, -errno, "%s: %s", path,
				 svmigd_strerror(errno));
		goto out;
	}
	ret = audit_tail(fd, st.st_size, key, &last, prev, m, sizeof(m));
	if (!ret)
		ret = audit_tail_head(path, key, last, prev, m, sizeof(m));
	if (ret) {
		svmigd_fail(err, errlen, ret, "%s: not extended: %s", path, m);
		goto out;
	}
	ret = audit_put(fd, st.st_size, path, key, last + 1, prev, event, who,
			what, details, hash, err, errlen);
	/* the record stays if only its head fails: a crash's state */
	if (!ret && svmigd_audit_head_write(path, key, last + 1, hash, m,
					    sizeof(m)))
		ret = svmigd_fail(err, errlen, -EIO,
				  "%s: record %llu written, its head not: %s",
				  path, (unsigned long long)(last + 1), m);
	if (!ret && seq)
		*seq = last + 1;
out:
	close(fd);
	return ret;
}
