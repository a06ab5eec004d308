// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd.conf with inih.  See config.h.
 *
 * inih reports only the first line it could not parse and does not give
 * the handler the line number, so lines are fed to it by our own reader,
 * which counts them: when the handler runs, the count is the line being
 * handled.  The reader also refuses lines longer than inih's buffer,
 * which inih would otherwise split silently into two lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "policy.h"
#include "tpm.h"
#include "vtpm.h"

enum cfg_type {
	CFG_PATH,	/* any non-empty string */
	CFG_NAME,	/* host name */
	CFG_ADDR,	/* address:port */
	CFG_LIST,	/* whitespace-separated paths, key repeatable */
	CFG_U64,
	CFG_U32,
	CFG_NVINDEX,	/* 0x-prefixed hex NV index in the owner range */
	CFG_PATTERN,	/* a path with one "%s" (vtpm.h) */
};

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	size_t off;
	bool required;
};

#define KEY(s, n, t, field, req) \
	{ s, n, t, offsetof(struct svmigd_config, field), req }

static const struct cfg_key cfg_keys[] = {
	KEY("host", "name", CFG_NAME, host_name, true),
	KEY("host", "cert", CFG_PATH, host_cert, true),
	KEY("host", "key", CFG_PATH, host_key, true),
	KEY("trust", "anchors", CFG_LIST, anchors, true),
	KEY("trust", "crls", CFG_LIST, crls, false),
	KEY("policy", "file", CFG_PATH, policy_file, true),
	KEY("policy", "signature", CFG_PATH, policy_signature, true),
	KEY("policy", "authority_cert", CFG_PATH, policy_authority_cert, true),
	KEY("listen", "control", CFG_ADDR, listen_control, true),
	KEY("listen", "data", CFG_ADDR, listen_data, true),
	KEY("tpm", "tcti", CFG_PATH, tpm_tcti, false),
	KEY("tpm", "authority_nv", CFG_NVINDEX, tpm_authority_nv, false),
	KEY("tpm", "policy_nv", CFG_NVINDEX, tpm_policy_nv, false),
	KEY("limits", "max_mem_mib", CFG_U64, max_mem_mib, true),
	KEY("limits", "max_vcpus", CFG_U32, max_vcpus, true),
	KEY("paths", "state_dir", CFG_PATH, state_dir, true),
	KEY("paths", "audit_log", CFG_PATH, audit_log, false),
	KEY("paths", "vtpm_dir", CFG_PATTERN, vtpm_dir, false),
	KEY("connections", "preauth_timeout_s", CFG_U32, preauth_timeout_s, false),
	KEY("connections", "max_unauth_per_address", CFG_U32, max_unauth_per_address, false),
	KEY("connections", "max_unauth", CFG_U32, max_unauth, false),
	KEY("connections", "max_connections", CFG_U32, max_connections, false),
	KEY("connections", "stop_timeout_s", CFG_U32, stop_timeout_s, false),
};

#define N_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

struct cfg_parse {
	struct svmigd_config *cfg;
	const char *path;
	const char *buf;	/* the whole file */
	size_t len, pos;
	int lineno;		/* lines handed to inih so far */
	int err_line;		/* line of the first error we found, or 0 */
	int err_code;
	bool seen[N_KEYS];
	char *err;
	size_t errlen;
};

static void cfg_msg(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cfg_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Records the first error, at the line being parsed. */
static int cfg_error(struct cfg_parse *p, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_error(struct cfg_parse *p, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->err_line)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->err_line = p->lineno;
	p->err_code = code;
	cfg_msg(p->err, p->errlen, "%s:%d: %s", p->path, p->lineno, msg);
	return 0;
}

/* ---------------------------------------------------------- reading */

static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	const char *start = p->buf + p->pos, *nl;
	size_t n;

	if (p->pos >= p->len)
		return NULL;
	nl = memchr(start, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - start) + 1 : p->len - p->pos;
	p->pos += n;
	p->lineno++;
	if (num < 2 || n > (size_t)num - 1) {
		cfg_error(p, -EINVAL, "line too long (at most %d characters)",
			  num - 2);
		str[0] = '\0';
		return str;
	}
	memcpy(str, start, n);
	str[n] = '\0';
	return str;
}

/* ---------------------------------------------------------- values */

bool svmigd_valid_host_name(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > SVMIGD_HOST_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '.' || s[i] == '_'))
			return false;
	return true;
}

/* Decimal digits only, no sign, no spaces, 1..max. */
static bool cfg_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (!v)
		return false;
	*out = v;
	return true;
}

/* "0x" and 1 to 8 hex digits, within SVMIGD_TPM_NV_FIRST..LAST. */
static bool cfg_parse_nv_index(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	size_t n;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	s += 2;
	n = strlen(s);
	if (!n || n > 8 || strspn(s, "0123456789abcdefABCDEF") != n)
		return false;
	for (; *s; s++)
		v = v << 4 | (uint32_t)(*s <= '9' ? *s - '0' :
					(*s | 0x20) - 'a' + 10);
	if (v < SVMIGD_TPM_NV_FIRST || v > SVMIGD_TPM_NV_LAST)
		return false;
	*out = v;
	return true;
}

/* "host:port", "[v6]:port"; the host part non-empty, port 1..65535. */
static bool cfg_valid_addr(const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (!colon || colon == s || strpbrk(s, " \t"))
		return false;
	if (s[0] == '[' && (colon - s < 3 || colon[-1] != ']'))
		return false;
	return cfg_parse_uint(colon + 1, 65535, &port);
}

/* [trust] anchors or crls: whitespace-separated paths, appended. */
static int cfg_add_list(struct cfg_parse *p, const struct cfg_key *k,
			const char *value)
{
	struct svmigd_config *c = p->cfg;
	bool crls = !strcmp(k->name, "crls");
	char ***list = crls ? &c->crls : &c->anchors;
	size_t *count = crls ? &c->n_crls : &c->n_anchors;
	const char *s = value;
	size_t n;
	char **a;

	while (*s) {
		s += strspn(s, " \t");
		n = strcspn(s, " \t");
		if (!n)
			break;
		if (*count == SVMIGD_ANCHORS_MAX)
			return cfg_error(p, -E2BIG, "more than %d %s",
					 SVMIGD_ANCHORS_MAX,
					 crls ? "CRL files" : "trust anchors");
		a = realloc(*list, (*count + 1) * sizeof(*a));
		if (!a)
			return cfg_error(p, -ENOMEM, "out of memory");
		*list = a;
		a[*count] = strndup(s, n);
		if (!a[*count])
			return cfg_error(p, -ENOMEM, "out of memory");
		(*count)++;
		s += n;
	}
	return 1;
}

static int cfg_set(struct cfg_parse *p, const struct cfg_key *k,
		   const char *value)
{
	void *field = (char *)p->cfg + k->off;
	uint64_t v;

	switch (k->type) {
	case CFG_NAME:
		if (!svmigd_valid_host_name(value))
			return cfg_error(p, -EINVAL,
					 "[%s] %s: \"%s\" is not a host name (1 to %d of A-Z a-z 0-9 . - _)",
					 k->section, k->name, value,
					 SVMIGD_HOST_NAME_MAX);
		break;
	case CFG_ADDR:
		if (!cfg_valid_addr(value))
			return cfg_error(p, -EINVAL,
					 "[%s] %s: \"%s\" is not address:port",
					 k->section, k->name, value);
		break;
	case CFG_LIST:
		return cfg_add_list(p, k, value);
	case CFG_U64:
	case CFG_U32:
		if (!cfg_parse_uint(value, k->type == CFG_U32 ? UINT32_MAX :
				    UINT64_MAX, &v))
			return cfg_error(p, -EINVAL,
					 "[%s] %s: \"%s\" is not a positive integer%s",
					 k->section, k->name, value,
					 k->type == CFG_U32 ? " below 2^32" : "");
		if (k->type == CFG_U32)
			*(uint32_t *)field = (uint32_t)v;
		else
			*(uint64_t *)field = v;
		return 1;
	case CFG_NVINDEX:
		if (!cfg_parse_nv_index(value, (uint32_t *)field))
			return cfg_error(p, -EINVAL,
					 "[%s] %s: \"%s\" is not an NV index 0x%08x to 0x%08x",
					 k->section, k->name, value,
					 SVMIGD_TPM_NV_FIRST, SVMIGD_TPM_NV_LAST);
		return 1;
	case CFG_PATTERN:
		if (!svmigd_vtpm_pattern_ok(value))
			return cfg_error(p, -EINVAL,
					 "[%s] %s: \"%s\" needs exactly one %%s (the VM's name) and no other %%",
					 k->section, k->name, value);
		break;
	case CFG_PATH:
		break;
	}
	*(char **)field = strdup(value);
	if (!*(char **)field)
		return cfg_error(p, -ENOMEM, "out of memory");
	return 1;
}

static bool cfg_known_section(const char *section)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (!strcmp(cfg_keys[i].section, section))
			return true;
	return false;
}

static int cfg_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	struct cfg_parse *p = user;
	const struct cfg_key *k;
	size_t i;

	if (p->err_line)
		return 1;	/* only the first error is reported */
	for (i = 0; i < N_KEYS; i++)
		if (!strcmp(cfg_keys[i].section, section) &&
		    !strcmp(cfg_keys[i].name, name))
			break;
	if (i == N_KEYS) {
		if (!*section)
			return cfg_error(p, -EINVAL, "key \"%s\" outside a section",
					 name);
		if (!cfg_known_section(section))
			return cfg_error(p, -EINVAL, "unknown section [%s]",
					 section);
		return cfg_error(p, -EINVAL, "unknown key \"%s\" in [%s]", name,
				 section);
	}
	k = &cfg_keys[i];
	if (p->seen[i] && k->type != CFG_LIST)
		return cfg_error(p, -EINVAL,
				 "[%s] %s given twice (an indented line continues the previous key)",
				 section, name);
	if (!*value)
		return cfg_error(p, -EINVAL, "[%s] %s: empty value", section,
				 name);
	p->seen[i] = true;
	return cfg_set(p, k, value);
}

/* ---------------------------------------------------------- loading */

static int cfg_defaults(struct cfg_parse *p)
{
	struct svmigd_config *c = p->cfg;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		if (p->seen[i] || !cfg_keys[i].required)
			continue;
		cfg_msg(p->err, p->errlen, "%s: [%s] %s missing", p->path,
			cfg_keys[i].section, cfg_keys[i].name);
		return -EINVAL;
	}
	if (!c->tpm_tcti) {
		c->tpm_tcti = strdup(SVMIGD_DEFAULT_TCTI);
		if (!c->tpm_tcti)
			goto nomem;
	}
	if (!c->audit_log &&
	    asprintf(&c->audit_log, "%s/audit.log", c->state_dir) < 0) {
		c->audit_log = NULL;
		goto nomem;
	}
	return 0;
nomem:
	cfg_msg(p->err, p->errlen, "%s: out of memory", p->path);
	return -ENOMEM;
}

/* The first NUL byte's line, or 0. */
static int cfg_nul_line(const char *buf, size_t len)
{
	const char *nul = memchr(buf, '\0', len), *s;
	int line = 1;

	if (!nul)
		return 0;
	for (s = buf; s < nul; s++)
		line += *s == '\n';
	return line;
}

static int cfg_parse(struct cfg_parse *p)
{
	int ret, line;

	line = cfg_nul_line(p->buf, p->len);
	if (line) {
		cfg_msg(p->err, p->errlen, "%s:%d: NUL byte", p->path, line);
		return -EINVAL;
	}
	ret = ini_parse_stream(cfg_reader, p, cfg_handler, p);
	if (ret < 0) {
		cfg_msg(p->err, p->errlen, "%s: out of memory", p->path);
		return -ENOMEM;
	}
	if (ret > 0 && (!p->err_line || ret < p->err_line)) {
		cfg_msg(p->err, p->errlen,
			"%s:%d: syntax error (expected [section] or key = value)",
			p->path, ret);
		return -EINVAL;
	}
	if (p->err_line)
		return p->err_code;
	return cfg_defaults(p);
}

int svmigd_config_load(struct svmigd_config *cfg, const char *path,
		       char *err, size_t errlen)
{
	struct cfg_parse p = {
		.cfg = cfg, .path = path, .err = err, .errlen = errlen,
	};
	uint8_t *buf;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	ret = svmigd_read_file(path, SVMIGD_CONFIG_MAX, &buf, &p.len, err,
			       errlen);
	if (ret)
		return ret;
	p.buf = (const char *)buf;
	ret = cfg_parse(&p);
	free(buf);
	if (ret)
		svmigd_config_free(cfg);
	return ret;
}

void svmigd_config_free(struct svmigd_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_anchors; i++)
		free(cfg->anchors[i]);
	free(cfg->anchors);
	for (i = 0; i < cfg->n_crls; i++)
		free(cfg->crls[i]);
	free(cfg->crls);
	for (i = 0; i < N_KEYS; i++)
		if (cfg_keys[i].type == CFG_PATH || cfg_keys[i].type == CFG_NAME ||
		    cfg_keys[i].type == CFG_PATTERN ||
		    cfg_keys[i].type == CFG_ADDR)
			free(*(char **)((char *)cfg + cfg_keys[i].off));
	memset(cfg, 0, sizeof(*cfg));
}
