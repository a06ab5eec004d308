// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's manufacturer CA certificates ("ek_cas", policy.h): the CAs
 * a host's EK certificate must chain to (credential.h, ATTEST).  Each is
 * a PEM text in the signed policy itself, so that the authority's
 * signature covers them; checked here to be exactly one X.509
 * certificate each.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy.h"

static int ek_fail(char *err, size_t errlen, const char *file,
		   const char *where, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int ek_fail(char *err, size_t errlen, const char *file,
		   const char *where, const char *fmt, ...)
{
	char m[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s: %s: %s", file, where, m);
	ERR_clear_error();
	return -EINVAL;
}

/* @pem (@len bytes, no NUL inside) is one PEM certificate and nothing else. */
static bool one_cert(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = NULL, *more = NULL;
	bool ok;

	if (bio)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (x)
		more = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	ok = x && !more;
	X509_free(x);
	X509_free(more);
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}

int svmigd_policy_ek_cas_parse(struct json_object *v, const char *file,
			       const char *where, struct svmigd_ek_cas *out,
			       char *err, size_t errlen)
{
	struct json_object *e;
	const char *pem;
	size_t i, n, len;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(v, json_type_array))
		return ek_fail(err, errlen, file, where, "expected an array");
	n = json_object_array_length(v);
	if (!n || n > SVMIGD_EK_CAS_MAX)
		return ek_fail(err, errlen, file, where,
			       "expected 1 to %d manufacturer CA certificates",
			       SVMIGD_EK_CAS_MAX);
	out->pem = calloc(n, sizeof(*out->pem));
	if (!out->pem)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string))
			goto bad;
		pem = json_object_get_string(e);
		len = (size_t)json_object_get_string_len(e);
		if (!len || len > SVMIGD_EK_CA_PEM_MAX || strlen(pem) != len ||
		    !one_cert(pem, len))
			goto bad;
		out->pem[i] = strdup(pem);
		if (!out->pem[i]) {
			svmigd_policy_ek_cas_free(out);
			return -ENOMEM;
		}
		out->n = i + 1;
	}
	return 0;
bad:
	svmigd_policy_ek_cas_free(out);
	return ek_fail(err, errlen, file, where,
		       "%zu: expected one PEM X.509 certificate (at most %d bytes)",
		       i, SVMIGD_EK_CA_PEM_MAX);
}

void svmigd_policy_ek_cas_free(struct svmigd_ek_cas *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		free(c->pem[i]);
	free(c->pem);
	c->pem = NULL;
	c->n = 0;
}

const struct svmigd_ek_cas *
svmigd_policy_ek_cas_for(const struct svmigd_policy *p,
			 const struct svmigd_policy_host *h)
{
	if (h && h->ek_cas.n)
		return &h->ek_cas;
	if (p && p->ek_cas.n)
		return &p->ek_cas;
	return NULL;
}
