// SPDX-License-Identifier: GPL-2.0
/*
 * policy.json: signature, strict parsing, decisions.  See policy.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/err.h>

#include "config.h"
#include "policy.h"

#define POL_JSON_DEPTH	16
#define POL_WHERE_LEN	(3 * SVMIGD_NAME_MAX)

static void pol_msg(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void pol_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ================================================== parsing */

struct pol_ctx {
	const char *file;
	const char *buf;
	size_t len;
	struct svmigd_policy *p;
	char *err;
	size_t errlen;
};

static int pol_fail(struct pol_ctx *c, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pol_fail(struct pol_ctx *c, const char *where, const char *fmt, ...)
{
	char m[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	pol_msg(c->err, c->errlen, "%s: %s%s%s", c->file, where,
		*where ? ": " : "", m);
	return -EINVAL;
}

/* "where.key" into @buf, ending in "..." when cut. */
static const char *pol_at(char *buf, const char *where, const char *key)
{
	int n = snprintf(buf, POL_WHERE_LEN, "%s%s%s", where,
			 *where ? "." : "", key);

	if (n < 0 || n >= POL_WHERE_LEN)
		strcpy(buf + POL_WHERE_LEN - 4, "...");
	return buf;
}

static struct json_object *pol_get(struct json_object *o, const char *key)
{
	return json_object_object_get(o, key);
}

/* An object with exactly the keys @keys. */
static int pol_object(struct pol_ctx *c, struct json_object *o,
		      const char *where, const char *const *keys, size_t nkeys)
{
	struct json_object_iterator it, end;
	const char *name;
	size_t i;

	if (!json_object_is_type(o, json_type_object))
		return pol_fail(c, where, "expected an object");
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		for (i = 0; i < nkeys; i++)
			if (!strcmp(name, keys[i]))
				break;
		if (i == nkeys)
			return pol_fail(c, where, "unknown key \"%s\"", name);
	}
	for (i = 0; i < nkeys; i++)
		if (!json_object_object_get_ex(o, keys[i], NULL))
			return pol_fail(c, where, "missing key \"%s\"", keys[i]);
	return 0;
}

static int pol_hex(struct pol_ctx *c, struct json_object *v, const char *where,
		   uint8_t *out, size_t n)
{
	if (!json_object_is_type(v, json_type_string) ||
	    svmigd_hex_decode(out, n, json_object_get_string(v)))
		return pol_fail(c, where, "expected %zu lowercase hex digits",
				2 * n);
	return 0;
}

static int pol_uint(struct pol_ctx *c, struct json_object *v,
		    const char *where, int64_t max, uint64_t *out)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return pol_fail(c, where, "expected an integer");
	n = json_object_get_int64(v);
	if (n < 1 || n > max)
		return pol_fail(c, where, "expected an integer from 1 to %lld",
				(long long)max);
	*out = (uint64_t)n;
	return 0;
}

/*
 * Length of the UTF-8 sequence at @s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0 if it is not one.
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	c = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return len;
}

bool svmigd_valid_name(const char *s)
{
	size_t i, len, n = strnlen(s, SVMIGD_NAME_MAX + 1);

	if (!n || n > SVMIGD_NAME_MAX)
		return false;
	for (i = 0; i < n; i += len) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
		len = utf8_seq((const unsigned char *)s + i, n - i);
		if (!len)
			return false;
	}
	return true;
}

static int pol_name(struct pol_ctx *c, const char *where, const char *name,
		    bool host)
{
	if (host && !svmigd_valid_host_name(name))
		return pol_fail(c, where,
				"\"%.*s\" is not a host name (1 to %d of A-Z a-z 0-9 . - _)",
				SVMIGD_NAME_MAX, name, SVMIGD_HOST_NAME_MAX);
	if (!host && !svmigd_valid_name(name))
		return pol_fail(c, where,
				"expected 1 to %d characters, no control characters",
				SVMIGD_NAME_MAX);
	return 0;
}

static void pol_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* An array of names; hosts must be in the policy's hosts. */
static int pol_strv(struct pol_ctx *c, struct json_object *a,
		    const char *where, bool host, char ***out, size_t *nout)
{
	char w[POL_WHERE_LEN], idx[24];
	struct json_object *v;
	size_t i, n;
	char **s;
	int ret;

	if (!json_object_is_type(a, json_type_array))
		return pol_fail(c, where, "expected an array");
	n = json_object_array_length(a);
	s = calloc(n ? n : 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(idx, sizeof(idx), "%zu", i);
		pol_at(w, where, idx);
		v = json_object_array_get_idx(a, i);
		ret = -EINVAL;
		if (!json_object_is_type(v, json_type_string)) {
			pol_fail(c, w, "expected a string");
			goto fail;
		}
		ret = pol_name(c, w, json_object_get_string(v), host);
		if (!ret && strlen(json_object_get_string(v)) !=
			    (size_t)json_object_get_string_len(v))
			ret = pol_fail(c, w, "NUL character");
		if (ret)
			goto fail;
		if (host && !svmigd_policy_host(c->p, json_object_get_string(v))) {
			ret = pol_fail(c, w, "host \"%s\" not in hosts",
				       json_object_get_string(v));
			goto fail;
		}
		ret = -ENOMEM;
		s[i] = strdup(json_object_get_string(v));
		if (!s[i])
			goto fail;
	}
	*out = s;
	*nout = n;
	return 0;
fail:
	pol_strv_free(s, i);
	return ret;
}

/* "0".."23", no leading zero. */
static int pol_pcr_index(const char *s)
{
	size_t n = strlen(s);
	int v;

	if (n < 1 || n > 2 || !isdigit((unsigned char)s[0]) ||
	    (n == 2 && (s[0] == '0' || !isdigit((unsigned char)s[1]))))
		return -1;
	v = n == 1 ? s[0] - '0' : (s[0] - '0') * 10 + s[1] - '0';
	return v < SVMIGD_PCR_MAX ? v : -1;
}

/* One PCR's value: a digest or a list of 1..SVMIGD_PCR_VALUES_MAX distinct ones. */
static int pol_pcr_values(struct pol_ctx *c, struct json_object *v,
			  const char *where, struct svmigd_policy_host *h,
			  int idx)
{
	char w[POL_WHERE_LEN], num[24];
	size_t i, j, n;

	if (!json_object_is_type(v, json_type_array)) {
		h->n_pcr_values[idx] = 1;
		return pol_hex(c, v, where, h->pcrs[idx][0], SVMIGD_SHA256_LEN);
	}
	n = json_object_array_length(v);
	if (n < 1 || n > SVMIGD_PCR_VALUES_MAX)
		return pol_fail(c, where, "expected 1 to %d values",
				SVMIGD_PCR_VALUES_MAX);
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%zu", i);
		pol_at(w, where, num);
		if (pol_hex(c, json_object_array_get_idx(v, i), w,
			    h->pcrs[idx][i], SVMIGD_SHA256_LEN))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (!memcmp(h->pcrs[idx][j], h->pcrs[idx][i],
				    SVMIGD_SHA256_LEN))
				return pol_fail(c, w, "same value as %zu", j);
	}
	h->n_pcr_values[idx] = (uint8_t)n;
	return 0;
}

static int pol_pcrs(struct pol_ctx *c, struct json_object *o,
		    const char *where, struct svmigd_policy_host *h)
{
	static const char *const keys[] = { "sha256" };
	char wbank[POL_WHERE_LEN], w[POL_WHERE_LEN];
	struct json_object_iterator it, end;
	struct json_object *bank;
	const char *name;
	int idx, ret;

	ret = pol_object(c, o, where, keys, 1);
	if (ret)
		return ret;
	bank = pol_get(o, "sha256");
	pol_at(wbank, where, "sha256");
	if (!json_object_is_type(bank, json_type_object))
		return pol_fail(c, wbank, "expected an object");
	it = json_object_iter_begin(bank);
	end = json_object_iter_end(bank);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		pol_at(w, wbank, name);
		idx = pol_pcr_index(name);
		if (idx < 0)
			return pol_fail(c, w, "PCR index must be 0 to %d",
					SVMIGD_PCR_MAX - 1);
		ret = pol_pcr_values(c, json_object_iter_peek_value(&it), w,
				     h, idx);
		if (ret)
			return ret;
		h->pcr_mask |= 1u << idx;
	}
	if (!h->pcr_mask)
		return pol_fail(c, wbank, "no reference PCR values");
	return 0;
}

static int pol_host(struct pol_ctx *c, const char *name, struct json_object *o,
		    struct svmigd_policy_host *h)
{
	static const char *const keys[] = {
		"ak_sha256", "pcrs", "max_mem_mib", "max_vcpus",
	};
	char where[POL_WHERE_LEN], w[POL_WHERE_LEN];
	uint64_t v;
	int ret;

	pol_at(where, "hosts", name);
	ret = pol_name(c, where, name, true);
	if (!ret)
		ret = pol_object(c, o, where, keys, 4);
	if (ret)
		return ret;
	h->name = strdup(name);
	if (!h->name)
		return -ENOMEM;
	ret = pol_hex(c, pol_get(o, "ak_sha256"), pol_at(w, where, "ak_sha256"),
		      h->ak_sha256, SVMIGD_SHA256_LEN);
	if (!ret)
		ret = pol_pcrs(c, pol_get(o, "pcrs"), pol_at(w, where, "pcrs"), h);
	if (!ret)
		ret = pol_uint(c, pol_get(o, "max_mem_mib"),
			       pol_at(w, where, "max_mem_mib"), INT64_MAX - 1,
			       &h->max_mem_mib);
	if (!ret)
		ret = pol_uint(c, pol_get(o, "max_vcpus"),
			       pol_at(w, where, "max_vcpus"), UINT32_MAX, &v);
	if (!ret)
		h->max_vcpus = (uint32_t)v;
	return ret;
}

static int pol_role(struct pol_ctx *c, const char *name, struct json_object *o,
		    struct svmigd_policy_role *r)
{
	static const char *const keys[] = { "vms", "sources", "targets" };
	char where[POL_WHERE_LEN], w[POL_WHERE_LEN];
	int ret;

	pol_at(where, "roles", name);
	ret = pol_name(c, where, name, false);
	if (!ret)
		ret = pol_object(c, o, where, keys, 3);
	if (ret)
		return ret;
	r->name = strdup(name);
	if (!r->name)
		return -ENOMEM;
	ret = pol_strv(c, pol_get(o, "vms"), pol_at(w, where, "vms"), false,
		       &r->vms, &r->n_vms);
	if (!ret)
		ret = pol_strv(c, pol_get(o, "sources"),
			       pol_at(w, where, "sources"), true, &r->sources,
			       &r->n_sources);
	if (!ret)
		ret = pol_strv(c, pol_get(o, "targets"),
			       pol_at(w, where, "targets"), true, &r->targets,
			       &r->n_targets);
	return ret;
}

static int pol_operator(struct pol_ctx *c, const char *name,
			struct json_object *o, struct svmigd_policy_operator *op)
{
	static const char *const keys[] = { "cert_sha256", "roles" };
	char where[POL_WHERE_LEN], w[POL_WHERE_LEN];
	const struct svmigd_policy_operator *other;
	size_t i;
	int ret;

	pol_at(where, "operators", name);
	ret = pol_name(c, where, name, false);
	if (!ret)
		ret = pol_object(c, o, where, keys, 2);
	if (ret)
		return ret;
	pol_at(w, where, "cert_sha256");
	ret = pol_hex(c, pol_get(o, "cert_sha256"), w, op->cert_sha256,
		      SVMIGD_SHA256_LEN);
	if (ret)
		return ret;
	other = svmigd_policy_operator(c->p, op->cert_sha256);
	if (other)
		return pol_fail(c, w, "same certificate as operator %s",
				other->name);
	op->name = strdup(name);
	if (!op->name)
		return -ENOMEM;
	pol_at(w, where, "roles");
	ret = pol_strv(c, pol_get(o, "roles"), w, false, &op->roles,
		       &op->n_roles);
	for (i = 0; !ret && i < op->n_roles; i++)
		if (!svmigd_policy_role(c->p, op->roles[i]))
			ret = pol_fail(c, w, "role \"%s\" not in roles",
				       op->roles[i]);
	return ret;
}

static int pol_ca(struct pol_ctx *c, const char *name, struct json_object *o,
		  struct svmigd_policy_ca *ca)
{
	static const char *const keys[] = { "cert_sha256", "hosts" };
	char where[POL_WHERE_LEN], w[POL_WHERE_LEN];
	size_t i;
	int ret;

	pol_at(where, "cas", name);
	ret = pol_name(c, where, name, false);
	if (!ret)
		ret = pol_object(c, o, where, keys, 2);
	if (ret)
		return ret;
	pol_at(w, where, "cert_sha256");
	ret = pol_hex(c, pol_get(o, "cert_sha256"), w, ca->cert_sha256,
		      SVMIGD_SHA256_LEN);
	if (ret)
		return ret;
	for (i = 0; i < c->p->n_cas - 1; i++)
		if (!memcmp(c->p->cas[i].cert_sha256, ca->cert_sha256,
			    SVMIGD_SHA256_LEN))
			return pol_fail(c, w, "same certificate as CA %s",
					c->p->cas[i].name);
	ca->name = strdup(name);
	if (!ca->name)
		return -ENOMEM;
	pol_at(w, where, "hosts");
	ret = pol_strv(c, pol_get(o, "hosts"), w, false, &ca->hosts,
		       &ca->n_hosts);
	if (!ret && !ca->n_hosts)
		ret = pol_fail(c, w, "expected at least one host pattern");
	return ret;
}

/*
 * Parses the members of @o into an array of @size-byte elements, one
 * after the other; *count grows with each member parsed, so the lookups
 * see the earlier ones and svmigd_policy_free() the partial ones.
 */
typedef int (*pol_member_fn)(struct pol_ctx *c, const char *name,
			     struct json_object *o, void *elem);

static int pol_members(struct pol_ctx *c, struct json_object *o,
		       const char *where, size_t size, void **array,
		       size_t *count, pol_member_fn fn)
{
	struct json_object_iterator it, end;
	size_t n;
	int ret;

	if (!json_object_is_type(o, json_type_object))
		return pol_fail(c, where, "expected an object");
	n = (size_t)json_object_object_length(o);
	*array = calloc(n ? n : 1, size);
	if (!*array)
		return -ENOMEM;
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		(*count)++;
		ret = fn(c, json_object_iter_peek_name(&it),
			 json_object_iter_peek_value(&it),
			 (char *)*array + (*count - 1) * size);
		if (ret)
			return ret;
	}
	return 0;
}

static int pol_host_fn(struct pol_ctx *c, const char *name,
		       struct json_object *o, void *elem)
{
	return pol_host(c, name, o, elem);
}

static int pol_role_fn(struct pol_ctx *c, const char *name,
		       struct json_object *o, void *elem)
{
	return pol_role(c, name, o, elem);
}

static int pol_ca_fn(struct pol_ctx *c, const char *name,
		     struct json_object *o, void *elem)
{
	return pol_ca(c, name, o, elem);
}

static int pol_operator_fn(struct pol_ctx *c, const char *name,
			   struct json_object *o, void *elem)
{
	return pol_operator(c, name, o, elem);
}

static int pol_json(struct pol_ctx *c, struct json_object **root)
{
	char m[200];
	int ret;

	ret = svmigd_json_parse(c->buf, c->len, POL_JSON_DEPTH, root, m,
				sizeof(m));
	if (ret == -EINVAL)
		return pol_fail(c, "", "%s", m);
	return ret;
}

/* "serial" and "not_after". */
static int pol_header(struct pol_ctx *c, struct json_object *root)
{
	struct json_object *v = pol_get(root, "not_after");
	int ret;

	if (!json_object_is_type(pol_get(root, "version"), json_type_int) ||
	    json_object_get_int64(pol_get(root, "version")) != 2)
		return pol_fail(c, "version",
				"expected 2 (version 1 has no serial, expiry or CA scopes)");
	ret = pol_uint(c, pol_get(root, "serial"), "serial",
		       (int64_t)SVMIGD_POLICY_SERIAL_MAX, &c->p->serial);
	if (ret)
		return ret;
	if (!json_object_is_type(v, json_type_string) ||
	    (c->p->not_after = svmigd_policy_parse_time(json_object_get_string(v))) < 0)
		return pol_fail(c, "not_after",
				"expected a UTC time \"YYYY-MM-DDTHH:MM:SSZ\"");
	return 0;
}

static int pol_parse(struct pol_ctx *c)
{
	static const char *const keys[] = {
		"version", "serial", "not_after", "cas", "hosts", "operators",
		"roles",
	};
	struct svmigd_policy *p = c->p;
	struct json_object *root = NULL;
	int ret;

	ret = pol_json(c, &root);
	if (!ret)
		ret = pol_object(c, root, "", keys, 7);
	if (!ret)
		ret = pol_header(c, root);
	if (!ret)
		ret = pol_members(c, pol_get(root, "cas"), "cas", sizeof(*p->cas),
				  (void **)&p->cas, &p->n_cas, pol_ca_fn);
	if (!ret && !p->n_cas)
		ret = pol_fail(c, "cas", "expected at least one CA");
	if (!ret)
		ret = pol_members(c, pol_get(root, "hosts"), "hosts",
				  sizeof(*p->hosts), (void **)&p->hosts,
				  &p->n_hosts, pol_host_fn);
	if (!ret)
		ret = pol_members(c, pol_get(root, "roles"), "roles",
				  sizeof(*p->roles), (void **)&p->roles,
				  &p->n_roles, pol_role_fn);
	if (!ret)
		ret = pol_members(c, pol_get(root, "operators"), "operators",
				  sizeof(*p->operators), (void **)&p->operators,
				  &p->n_operators, pol_operator_fn);
	if (ret == -ENOMEM)
		pol_msg(c->err, c->errlen, "%s: out of memory", c->file);
	json_object_put(root);
	return ret;
}

/* ================================================== time, PCR values */

int64_t svmigd_policy_parse_time(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	int y, mo, d, h, mi, se;
	struct tm tm = { 0 };
	size_t i;
	time_t t;

	if (strlen(s) != sizeof(shape) - 1)
		return -1;
	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return -1;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &se) != 6 ||
	    y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))) ||
	    h > 23 || mi > 59 || se > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	return t < 0 ? -1 : (int64_t)t;
}

void svmigd_policy_time_str(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

int svmigd_policy_check_expiry(const struct svmigd_policy *p, int64_t now,
			       char *err, size_t errlen)
{
	char when[32];

	if (now <= p->not_after)
		return 0;
	svmigd_policy_time_str(p->not_after, when);
	pol_msg(err, errlen, "policy serial %llu expired at %s",
		(unsigned long long)p->serial, when);
	return -EKEYEXPIRED;
}

bool svmigd_policy_pcr_allowed(const struct svmigd_policy_host *h,
			       unsigned int idx,
			       const uint8_t value[SVMIGD_SHA256_LEN])
{
	unsigned int i;

	if (idx >= SVMIGD_PCR_MAX || !(h->pcr_mask & 1u << idx))
		return false;
	for (i = 0; i < h->n_pcr_values[idx]; i++)
		if (!CRYPTO_memcmp(h->pcrs[idx][i], value, SVMIGD_SHA256_LEN))
			return true;
	return false;
}

/* ================================================== loading */

int svmigd_policy_load_key(struct svmigd_policy **out, const char *policy_path,
			   const char *sig_path, EVP_PKEY *authority,
			   char *err, size_t errlen)
{
	struct pol_ctx c = { .file = policy_path, .err = err, .errlen = errlen };
	uint8_t *buf = NULL, *sig = NULL;
	size_t len, siglen;
	int ret;

	*out = NULL;
	ret = svmigd_read_file(policy_path, SVMIGD_POLICY_FILE_MAX, &buf, &len,
			       err, errlen);
	if (!ret)
		ret = svmigd_read_file(sig_path, SVMIGD_SIG_MAX, &sig, &siglen,
				       err, errlen);
	if (ret)
		goto out;
	ret = svmigd_verify(authority, buf, len, sig, siglen);
	if (ret) {
		pol_msg(err, errlen, ret == -EBADMSG ?
			"%s: signature %s does not verify with the policy authority's key" :
			"%s: cannot check signature %s: unsupported authority key",
			policy_path, sig_path);
		goto out;
	}
	ret = -ENOMEM;
	c.p = calloc(1, sizeof(*c.p));
	if (!c.p ||
	    svmigd_sha256(buf, len, c.p->sha256) ||
	    svmigd_pubkey_sha256(authority, c.p->authority_sha256)) {
		pol_msg(err, errlen, "%s: out of memory", policy_path);
		goto out_free;
	}
	c.buf = (const char *)buf;
	c.len = len;
	ret = pol_parse(&c);
	if (ret)
		goto out_free;
	*out = c.p;
	goto out;
out_free:
	svmigd_policy_free(c.p);
out:
	free(buf);
	free(sig);
	return ret;
}

int svmigd_policy_load(struct svmigd_policy **out, const char *policy_path,
		       const char *sig_path, const char *authority_cert_path,
		       char *err, size_t errlen)
{
	EVP_PKEY *key;
	X509 *cert;
	int ret;

	*out = NULL;
	cert = svmigd_load_cert(authority_cert_path, err, errlen);
	if (!cert)
		return -EINVAL;
	key = X509_get0_pubkey(cert);
	if (!key) {
		pol_msg(err, errlen, "%s: unreadable public key",
			authority_cert_path);
		ret = -EINVAL;
	} else {
		ret = svmigd_policy_load_key(out, policy_path, sig_path, key,
					     err, errlen);
	}
	X509_free(cert);
	ERR_clear_error();
	return ret;
}

int svmigd_authority_sha256(const char *cert_path,
			    uint8_t out[SVMIGD_SHA256_LEN],
			    char *err, size_t errlen)
{
	EVP_PKEY *key;
	X509 *cert;
	int ret = -EINVAL;

	cert = svmigd_load_cert(cert_path, err, errlen);
	if (!cert)
		return -EINVAL;
	key = X509_get0_pubkey(cert);
	if (key)
		ret = svmigd_pubkey_sha256(key, out);
	if (ret)
		pol_msg(err, errlen, "%s: unreadable public key", cert_path);
	X509_free(cert);
	ERR_clear_error();
	return ret;
}

void svmigd_policy_free(struct svmigd_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_cas; i++) {
		free(p->cas[i].name);
		pol_strv_free(p->cas[i].hosts, p->cas[i].n_hosts);
	}
	free(p->cas);
	for (i = 0; i < p->n_hosts; i++)
		free(p->hosts[i].name);
	for (i = 0; i < p->n_operators; i++) {
		free(p->operators[i].name);
		pol_strv_free(p->operators[i].roles, p->operators[i].n_roles);
	}
	for (i = 0; i < p->n_roles; i++) {
		free(p->roles[i].name);
		pol_strv_free(p->roles[i].vms, p->roles[i].n_vms);
		pol_strv_free(p->roles[i].sources, p->roles[i].n_sources);
		pol_strv_free(p->roles[i].targets, p->roles[i].n_targets);
	}
	free(p->hosts);
	free(p->operators);
	free(p->roles);
	free(p);
}

/* ================================================== decisions */

const struct svmigd_policy_host *
svmigd_policy_host(const struct svmigd_policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_hosts; i++)
		if (p->hosts[i].name && !strcmp(p->hosts[i].name, name))
			return &p->hosts[i];
	return NULL;
}

const struct svmigd_policy_operator *
svmigd_policy_operator(const struct svmigd_policy *p,
		       const uint8_t cert_sha256[SVMIGD_SHA256_LEN])
{
	size_t i;

	for (i = 0; i < p->n_operators; i++)
		if (p->operators[i].name &&
		    !CRYPTO_memcmp(p->operators[i].cert_sha256, cert_sha256,
				   SVMIGD_SHA256_LEN))
			return &p->operators[i];
	return NULL;
}

const struct svmigd_policy_role *
svmigd_policy_role(const struct svmigd_policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_roles; i++)
		if (p->roles[i].name && !strcmp(p->roles[i].name, name))
			return &p->roles[i];
	return NULL;
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static enum svmigd_policy_check role_check(const struct svmigd_policy_role *r,
					   const char *vm, const char *source,
					   const char *target)
{
	size_t i;

	for (i = 0; i < r->n_vms; i++)
		if (!fnmatch(r->vms[i], vm, 0))
			break;
	if (i == r->n_vms)
		return SVMIGD_POLICY_VM;
	if (!strv_has(r->sources, r->n_sources, source))
		return SVMIGD_POLICY_SOURCE;
	if (!strv_has(r->targets, r->n_targets, target))
		return SVMIGD_POLICY_TARGET;
	return SVMIGD_POLICY_ALLOWED;
}

static int refuse(struct svmigd_policy_decision *d,
		  enum svmigd_policy_check check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct svmigd_policy_decision *d,
		  enum svmigd_policy_check check, const char *fmt, ...)
{
	va_list ap;

	d->check = check;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	return -EACCES;
}

int svmigd_policy_decide(const struct svmigd_policy *p,
			 const uint8_t cert_sha256[SVMIGD_SHA256_LEN],
			 const char *vm, const char *source, const char *target,
			 struct svmigd_policy_decision *d)
{
	enum svmigd_policy_check check, best_check = SVMIGD_POLICY_NO_ROLE;
	const struct svmigd_policy_operator *op;
	const struct svmigd_policy_role *r, *best = NULL;
	static const char *const what[] = {
		[SVMIGD_POLICY_VM] = "vm",
		[SVMIGD_POLICY_SOURCE] = "source",
		[SVMIGD_POLICY_TARGET] = "target",
	};
	size_t i;

	memset(d, 0, sizeof(*d));
	op = svmigd_policy_operator(p, cert_sha256);
	if (!op)
		return refuse(d, SVMIGD_POLICY_OPERATOR, "operator not enrolled");
	d->operator = op->name;
	if (!svmigd_policy_host(p, source))
		return refuse(d, SVMIGD_POLICY_SOURCE_HOST,
			      "host unknown: source %s", source);
	if (!svmigd_policy_host(p, target))
		return refuse(d, SVMIGD_POLICY_TARGET_HOST,
			      "host unknown: target %s", target);
	for (i = 0; i < op->n_roles; i++) {
		r = svmigd_policy_role(p, op->roles[i]);
		if (!r)
			continue;	/* cannot happen: checked at load */
		check = role_check(r, vm, source, target);
		if (check == SVMIGD_POLICY_ALLOWED) {
			d->role = r->name;
			snprintf(d->reason, sizeof(d->reason),
				 "allowed by role %s of operator %s", r->name,
				 op->name);
			return 0;
		}
		if (!best || check > best_check) {
			best = r;
			best_check = check;
		}
	}
	if (!best)
		return refuse(d, SVMIGD_POLICY_NO_ROLE, "operator %s has no role",
			      op->name);
	d->role = best->name;
	return refuse(d, best_check, "role %s does not allow %s %s", best->name,
		      what[best_check],
		      best_check == SVMIGD_POLICY_VM ? vm :
		      best_check == SVMIGD_POLICY_SOURCE ? source : target);
}
