// SPDX-License-Identifier: GPL-2.0
/*
 * The operator's signed migration request.  See request.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "request.h"

#define REQ_JSON_DEPTH	8
#define REQ_INT_MAX	(INT64_MAX - 1)	/* json-c reads bigger as INT64_MAX */

static const char *const req_keys[] = {
	"vm", "source", "target", "vm_mem_mib", "vm_vcpus", "time", "nonce",
};

#define N_REQ_KEYS (sizeof(req_keys) / sizeof(req_keys[0]))

#define req_nomem(err, errlen) svmigd_fail(err, errlen, -ENOMEM, "out of memory")

static int req_check(const struct svmigd_request *r, char *err, size_t errlen)
{
	if (!memchr(r->vm, '\0', sizeof(r->vm)) || !svmigd_valid_name(r->vm))
		return svmigd_fail(err, errlen, -EINVAL,
				"vm: expected 1 to %d bytes of UTF-8, no control characters",
				SVMIGD_NAME_MAX);
	if (!memchr(r->source, '\0', sizeof(r->source)) ||
	    !svmigd_valid_host_name(r->source))
		return svmigd_fail(err, errlen, -EINVAL, "source: not a host name");
	if (!memchr(r->target, '\0', sizeof(r->target)) ||
	    !svmigd_valid_host_name(r->target))
		return svmigd_fail(err, errlen, -EINVAL, "target: not a host name");
	if (r->vm_mem_mib < 1 || r->vm_mem_mib > REQ_INT_MAX)
		return svmigd_fail(err, errlen, -EINVAL,
				"vm_mem_mib: expected 1 to 2^63-2");
	if (r->vm_vcpus < 1)
		return svmigd_fail(err, errlen, -EINVAL, "vm_vcpus: expected >= 1");
	if (r->time < 1 || r->time > REQ_INT_MAX)
		return svmigd_fail(err, errlen, -EINVAL,
				"time: expected 1 to 2^63-2");
	return 0;
}

static int req_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size);

	if (n == size)
		return -EINVAL;
	memcpy(dst, src, n + 1);
	return 0;
}

int svmigd_request_init(struct svmigd_request *r, const char *vm,
			const char *source, const char *target,
			uint64_t vm_mem_mib, uint32_t vm_vcpus,
			char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (req_copy(r->vm, sizeof(r->vm), vm) ||
	    req_copy(r->source, sizeof(r->source), source) ||
	    req_copy(r->target, sizeof(r->target), target))
		return svmigd_fail(err, errlen, -EINVAL, "name too long");
	r->vm_mem_mib = vm_mem_mib;
	r->vm_vcpus = vm_vcpus;
	r->time = (int64_t)time(NULL);
	if (RAND_bytes(r->nonce, sizeof(r->nonce)) != 1) {
		ERR_clear_error();
		return svmigd_fail(err, errlen, -EIO, "no random nonce");
	}
	return req_check(r, err, errlen);
}

/* ---------------------------------------------------------- building */

/* Adds @v (consumed, may be NULL after a failed allocation) as @key. */
static int req_add(struct json_object *o, const char *key,
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

/* The request object, keys in canonical order. */
static struct json_object *req_object(const struct svmigd_request *r)
{
	char nonce[2 * SVMIGD_NONCE_LEN + 1];
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	svmigd_hex_encode(nonce, r->nonce, SVMIGD_NONCE_LEN);
	if (req_add(o, "vm", json_object_new_string(r->vm)) ||
	    req_add(o, "source", json_object_new_string(r->source)) ||
	    req_add(o, "target", json_object_new_string(r->target)) ||
	    req_add(o, "vm_mem_mib",
		    json_object_new_int64((int64_t)r->vm_mem_mib)) ||
	    req_add(o, "vm_vcpus", json_object_new_int64(r->vm_vcpus)) ||
	    req_add(o, "time", json_object_new_int64(r->time)) ||
	    req_add(o, "nonce", json_object_new_string(nonce))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* A malloc'd copy of @o's plain serialisation. */
static char *req_plain(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	return s ? strdup(s) : NULL;
}

int svmigd_request_canonical(const struct svmigd_request *r, char **out,
			     char *err, size_t errlen)
{
	struct json_object *o;
	int ret;

	*out = NULL;
	ret = req_check(r, err, errlen);
	if (ret)
		return ret;
	o = req_object(r);
	if (o)
		*out = req_plain(o);
	json_object_put(o);
	return *out ? 0 : req_nomem(err, errlen);
}

static char *req_cert_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL, *data;
	long len;

	if (!bio)
		return NULL;
	if (PEM_write_bio_X509(bio, cert) == 1) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0)
			pem = strndup(data, (size_t)len);
	}
	BIO_free(bio);
	return pem;
}

/* {request, cert, signature} from the parts. */
static int req_envelope(const struct svmigd_request *r, const char *pem,
			const char *sig, struct json_object **out)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	if (req_add(o, "request", req_object(r)) ||
	    req_add(o, "cert", json_object_new_string(pem)) ||
	    req_add(o, "signature", json_object_new_string(sig))) {
		json_object_put(o);
		return -ENOMEM;
	}
	*out = o;
	return 0;
}

int svmigd_request_sign_json(const struct svmigd_request *r, EVP_PKEY *key,
			     X509 *cert, struct json_object **out,
			     char *err, size_t errlen)
{
	char *canon = NULL, *pem = NULL, *b64 = NULL;
	uint8_t *sig = NULL;
	size_t siglen;
	int ret;

	*out = NULL;
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		return svmigd_fail(err, errlen, -EINVAL,
				"the key does not match the certificate");
	}
	ret = svmigd_request_canonical(r, &canon, err, errlen);
	if (ret)
		return ret;
	ret = svmigd_sign(key, canon, strlen(canon), &sig, &siglen);
	if (ret) {
		svmigd_fail(err, errlen, ret, "cannot sign: %s",
			 ret == -ENOMEM ? "out of memory" : "unsupported key");
		goto out;
	}
	ret = -ENOMEM;
	b64 = svmigd_base64_encode(sig, siglen);
	pem = req_cert_pem(cert);
	if (!b64 || !pem || req_envelope(r, pem, b64, out)) {
		req_nomem(err, errlen);
		goto out;
	}
	ret = 0;
out:
	free(canon);
	free(sig);
	free(b64);
	free(pem);
	return ret;
}

int svmigd_request_sign(const struct svmigd_request *r, EVP_PKEY *key,
			X509 *cert, char **out, char *err, size_t errlen)
{
	struct json_object *o;
	int ret;

	*out = NULL;
	ret = svmigd_request_sign_json(r, key, cert, &o, err, errlen);
	if (ret)
		return ret;
	*out = req_plain(o);
	json_object_put(o);
	return *out ? 0 : req_nomem(err, errlen);
}

/* ---------------------------------------------------------- verifying */

static int req_str(struct json_object *o, const char *key, char *dst,
		   size_t size, char *err, size_t errlen)
{
	struct json_object *v = json_object_object_get(o, key);

	if (!json_object_is_type(v, json_type_string))
		return svmigd_fail(err, errlen, -EBADMSG,
				"request.%s: expected a string", key);
	if (strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return svmigd_fail(err, errlen, -EBADMSG,
				"request.%s: NUL character", key);
	if (req_copy(dst, size, json_object_get_string(v)))
		return svmigd_fail(err, errlen, -EBADMSG,
				"request.%s: longer than %zu bytes", key,
				size - 1);
	return 0;
}

static int req_int(struct json_object *o, const char *key, int64_t max,
		   int64_t *out, char *err, size_t errlen)
{
	struct json_object *v = json_object_object_get(o, key);

	if (!json_object_is_type(v, json_type_int))
		return svmigd_fail(err, errlen, -EBADMSG,
				"request.%s: expected an integer", key);
	*out = json_object_get_int64(v);
	if (*out < 1 || *out > max)
		return svmigd_fail(err, errlen, -EBADMSG,
				"request.%s: expected an integer from 1 to %lld",
				key, (long long)max);
	return 0;
}

static int req_keys_check(struct json_object *o, const char *where,
			  const char *const *keys, size_t nkeys,
			  char *err, size_t errlen)
{
	struct json_object_iterator it, end;
	const char *name;
	size_t i;

	if (!json_object_is_type(o, json_type_object))
		return svmigd_fail(err, errlen, -EBADMSG, "%s: expected an object",
				where);
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		for (i = 0; i < nkeys; i++)
			if (!strcmp(name, keys[i]))
				break;
		if (i == nkeys)
			return svmigd_fail(err, errlen, -EBADMSG,
					"%s: unknown key \"%s\"", where, name);
	}
	for (i = 0; i < nkeys; i++)
		if (!json_object_object_get_ex(o, keys[i], NULL))
			return svmigd_fail(err, errlen, -EBADMSG,
					"%s: missing key \"%s\"", where, keys[i]);
	return 0;
}

static int req_parse(struct json_object *o, struct svmigd_request *r,
		     char *err, size_t errlen)
{
	struct json_object *nonce;
	int64_t mem, vcpus;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = req_keys_check(o, "request", req_keys, N_REQ_KEYS, err, errlen);
	if (!ret)
		ret = req_str(o, "vm", r->vm, sizeof(r->vm), err, errlen);
	if (!ret)
		ret = req_str(o, "source", r->source, sizeof(r->source), err,
			      errlen);
	if (!ret)
		ret = req_str(o, "target", r->target, sizeof(r->target), err,
			      errlen);
	if (!ret)
		ret = req_int(o, "vm_mem_mib", REQ_INT_MAX, &mem, err, errlen);
	if (!ret)
		ret = req_int(o, "vm_vcpus", UINT32_MAX, &vcpus, err, errlen);
	if (!ret)
		ret = req_int(o, "time", REQ_INT_MAX, &r->time, err, errlen);
	if (ret)
		return ret;
	r->vm_mem_mib = (uint64_t)mem;
	r->vm_vcpus = (uint32_t)vcpus;
	nonce = json_object_object_get(o, "nonce");
	if (!json_object_is_type(nonce, json_type_string) ||
	    svmigd_hex_decode(r->nonce, SVMIGD_NONCE_LEN,
			      json_object_get_string(nonce)))
		return svmigd_fail(err, errlen, -EBADMSG,
				"request.nonce: expected %d lowercase hex digits",
				2 * SVMIGD_NONCE_LEN);
	ret = req_check(r, err, errlen);
	return ret ? -EBADMSG : 0;
}

/* Exactly one PEM certificate, nothing but whitespace after it. */
static int req_read_cert(const char *pem, X509 **out, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert;
	char c;

	if (!bio)
		return req_nomem(err, errlen);
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	while (cert && BIO_read(bio, &c, 1) == 1)
		if (!isspace((unsigned char)c)) {
			X509_free(cert);
			cert = NULL;
		}
	BIO_free(bio);
	ERR_clear_error();
	if (!cert)
		return svmigd_fail(err, errlen, -EBADMSG,
				"cert: expected one PEM certificate");
	*out = cert;
	return 0;
}

static int req_chain(X509 *cert, X509_STORE *anchors, int64_t now,
		     char *err, size_t errlen)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ret;

	if (!ctx)
		return req_nomem(err, errlen);
	if (X509_STORE_CTX_init(ctx, anchors, cert, NULL) != 1) {
		ret = req_nomem(err, errlen);
		goto out;
	}
	X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
	/*
	 * An operator certificate is a TLS client's: its extendedKeyUsage, if
	 * any, lists clientAuth, its keyUsage, if any, digitalSignature (not a
	 * CA's or a server's certificate); so are its CAs' (OpenSSL's
	 * X509_PURPOSE_SSL_CLIENT).
	 */
	if (X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1) {
		ret = req_nomem(err, errlen);
		goto out;
	}
	ret = 0;
	if (X509_verify_cert(ctx) != 1)
		ret = X509_STORE_CTX_get_error(ctx) == X509_V_ERR_INVALID_PURPOSE ?
		      svmigd_fail(err, errlen, -EPERM,
				  "operator certificate not trusted: not for client "
				  "authentication (extendedKeyUsage without clientAuth, "
				  "or keyUsage without digitalSignature)") :
		      svmigd_fail(err, errlen, -EPERM,
				  "operator certificate not trusted: %s",
				  X509_verify_cert_error_string(
					  X509_STORE_CTX_get_error(ctx)));
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ret;
}

static int req_fresh(const struct svmigd_request *r, int64_t now,
		     int64_t window, char *err, size_t errlen)
{
	if (window < 0 || now < 0)
		return svmigd_fail(err, errlen, -EINVAL, "bad time or window");
	if (r->time <= now && now - r->time > window)
		return svmigd_fail(err, errlen, -ESTALE,
				"request is stale: made %lld s ago (window %lld s)",
				(long long)(now - r->time), (long long)window);
	if (r->time > now && r->time - now > window)
		return svmigd_fail(err, errlen, -ESTALE,
				"request is from the future: %lld s ahead (window %lld s)",
				(long long)(r->time - now), (long long)window);
	return 0;
}

/* The envelope's parts; "not signed" when the signature is missing. */
static int req_unpack(struct json_object *env, struct json_object **req,
		      const char **pem, const char **sig,
		      char *err, size_t errlen)
{
	static const char *const keys[] = { "request", "cert", "signature" };
	struct json_object *v;
	size_t i;
	int ret;

	if (!json_object_is_type(env, json_type_object))
		return svmigd_fail(err, errlen, -EBADMSG,
				"signed request: expected an object");
	if (!json_object_object_get_ex(env, "signature", &v) ||
	    (json_object_is_type(v, json_type_string) &&
	     !json_object_get_string_len(v)))
		return svmigd_fail(err, errlen, -EBADMSG, "request is not signed");
	if (!json_object_object_get_ex(env, "cert", NULL))
		return svmigd_fail(err, errlen, -EBADMSG,
				"request carries no certificate");
	ret = req_keys_check(env, "signed request", keys, 3, err, errlen);
	if (ret)
		return ret;
	*req = json_object_object_get(env, "request");
	for (i = 1; i < 3; i++)
		if (!json_object_is_type(json_object_object_get(env, keys[i]),
					 json_type_string))
			return svmigd_fail(err, errlen, -EBADMSG,
					"%s: expected a string", keys[i]);
	*pem = json_object_get_string(json_object_object_get(env, "cert"));
	*sig = json_object_get_string(v);
	return 0;
}

static int req_signature(const struct svmigd_request *r, X509 *cert,
			 const char *b64, uint8_t digest[SVMIGD_SHA256_LEN],
			 char *err, size_t errlen)
{
	uint8_t *sig = NULL;
	char *canon = NULL;
	EVP_PKEY *key;
	size_t siglen;
	int ret;

	ret = svmigd_base64_decode(b64, SVMIGD_SIG_MAX, &sig, &siglen);
	if (ret)
		return ret == -ENOMEM ? req_nomem(err, errlen) :
		       svmigd_fail(err, errlen, -EBADMSG,
				"signature: not canonical base64 of at most %d bytes",
				SVMIGD_SIG_MAX);
	key = X509_get0_pubkey(cert);
	ret = svmigd_request_canonical(r, &canon, err, errlen);
	if (!ret)
		ret = svmigd_sha256(canon, strlen(canon), digest);
	if (!ret) {
		ret = key ? svmigd_verify(key, canon, strlen(canon), sig, siglen) :
		      -EINVAL;
		if (ret == -EBADMSG)
			svmigd_fail(err, errlen, ret,
				 "signature does not verify with the certificate's key");
		else if (ret)
			svmigd_fail(err, errlen, -EBADMSG,
				 "cert: unsupported key (EC, or RSA of at least 2048 bits)");
		ret = ret ? -EBADMSG : 0;
	}
	free(canon);
	free(sig);
	return ret;
}

/*
 * The certificate's (first) CN as UTF-8, when that is a valid name, else
 * "".  It is logged as the audit record's "who": copied raw, a Latin-1
 * T61String, a BMPString or a UTF-8 CN cut inside a character would make
 * a record the audit log refuses to write.
 */
static void req_operator_cn(X509 *cert, char cn[SVMIGD_NAME_MAX + 1])
{
	X509_NAME *name = X509_get_subject_name(cert);
	unsigned char *utf8 = NULL;
	int i, len;

	cn[0] = '\0';
	i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i < 0)
		return;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
					  X509_NAME_get_entry(name, i)));
	if (len > 0 && len <= SVMIGD_NAME_MAX &&
	    strlen((char *)utf8) == (size_t)len &&
	    svmigd_valid_name((char *)utf8))
		memcpy(cn, utf8, (size_t)len + 1);
	OPENSSL_free(utf8);
}

int svmigd_request_verify_json(struct json_object *signed_req,
			       X509_STORE *anchors, int64_t now, int64_t window,
			       struct svmigd_request_verified *out,
			       char *err, size_t errlen)
{
	struct json_object *req = NULL;
	const char *pem = NULL, *sig = NULL;
	X509 *cert = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = req_unpack(signed_req, &req, &pem, &sig, err, errlen);
	if (!ret)
		ret = req_parse(req, &out->req, err, errlen);
	if (!ret)
		ret = req_read_cert(pem, &cert, err, errlen);
	/* The chain first: nothing of an untrusted certificate is used. */
	if (!ret)
		ret = req_chain(cert, anchors, now, err, errlen);
	if (!ret)
		ret = req_signature(&out->req, cert, sig, out->request_sha256,
				    err, errlen);
	if (!ret)
		ret = req_fresh(&out->req, now, window, err, errlen);
	if (!ret && svmigd_cert_sha256(cert, out->cert_sha256))
		ret = req_nomem(err, errlen);
	if (!ret)
		req_operator_cn(cert, out->operator_cn);
	X509_free(cert);
	ERR_clear_error();
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

int svmigd_request_verify(const char *signed_req, size_t len,
			  X509_STORE *anchors, int64_t now, int64_t window,
			  struct svmigd_request_verified *out,
			  char *err, size_t errlen)
{
	struct json_object *o;
	char m[200];
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > SVMIGD_REQUEST_MAX)
		return svmigd_fail(err, errlen, -EBADMSG,
				"signed request longer than %d bytes",
				SVMIGD_REQUEST_MAX);
	ret = svmigd_json_parse(signed_req, len, REQ_JSON_DEPTH, &o, m,
				sizeof(m));
	if (ret)
		return svmigd_fail(err, errlen, ret == -ENOMEM ? ret : -EBADMSG,
				"signed request: %s", m);
	ret = svmigd_request_verify_json(o, anchors, now, window, out, err,
					 errlen);
	json_object_put(o);
	return ret;
}

X509_STORE *svmigd_request_anchors(char *const *files, size_t n,
				   char *err, size_t errlen)
{
	X509_STORE *store;
	size_t i;

	if (!n) {
		svmigd_fail(err, errlen, -EINVAL, "no trust anchors");
		return NULL;
	}
	store = X509_STORE_new();
	if (!store) {
		req_nomem(err, errlen);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (X509_STORE_load_file(store, files[i]) == 1)
			continue;
		svmigd_fail(err, errlen, -EINVAL, "%s: no PEM certificate",
			 files[i]);
		X509_STORE_free(store);
		store = NULL;
		break;
	}
	ERR_clear_error();
	return store;
}
