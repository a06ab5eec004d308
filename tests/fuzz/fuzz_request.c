// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: operator-request verification
 * (userspace/svmigd/request.c), what svmigd runs on every REQUEST from a
 * TLS peer or a local svmigctl client, before any authorization.
 *
 * The first byte picks what the rest of the input is:
 *   0  the signed request's bytes, verified as they are
 *      (svmigd_request_verify against the fixed operator CA);
 *   1  request fields (struct fz: key, vm, source, target, vm_mem_mib,
 *      vm_vcpus, time offset, nonce, window): the harness signs them with a
 *      fixed operator key, EC or RSA, and verifies the result, which must
 *      then pass exactly when its time is inside the window and give back
 *      the same fields, the operator's CN and certificate digest;
 *   2  the "cert" member of an otherwise valid signed request: PEM text as
 *      is, or DER that the harness wraps in PEM (this is where a
 *      certificate whose public key does not decode used to crash svmigd);
 *   3  the DER signature of an otherwise valid signed request, which the
 *      harness base64-encodes into "signature".
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz_common.h"
#include "request.h"

#define WINDOW	300

static X509_STORE *anchors;
static EVP_PKEY *op_key, *rsa_key;
static X509 *op_cert, *rsa_cert;
static struct json_object *valid;	/* a signed request, members replaced */
static char *valid_cert, *valid_sig;	/* its own members */

static void init(void)
{
	struct svmigd_request r = {
		.vm = "web-1", .source = "host-a", .target = "host-b",
		.vm_mem_mib = 2048, .vm_vcpus = 2, .time = FUZZ_NOW,
	};
	char err[256];

	anchors = X509_STORE_new();
	op_key = fuzz_pkey(fuzz_op_key_pem);
	rsa_key = fuzz_pkey(fuzz_rsa_key_pem);
	op_cert = fuzz_x509(fuzz_op_cert_pem);
	rsa_cert = fuzz_x509(fuzz_rsa_cert_pem);
	FUZZ_CHECK(anchors &&
		   X509_STORE_add_cert(anchors, fuzz_x509(fuzz_ca_cert_pem)) == 1);
	memset(r.nonce, 0x5a, sizeof(r.nonce));
	if (svmigd_request_sign_json(&r, op_key, op_cert, &valid, err,
				     sizeof(err))) {
		fprintf(stderr, "fuzz_request: %s\n", err);
		abort();
	}
	valid_cert = strdup(json_object_get_string(json_object_object_get(valid, "cert")));
	valid_sig = strdup(json_object_get_string(json_object_object_get(valid, "signature")));
	FUZZ_CHECK(valid_cert && valid_sig);
}

static void check_result(int ret, const struct svmigd_request_verified *v,
			 const char *err)
{
	static const uint8_t zero[SVMIGD_SHA256_LEN];

	FUZZ_CHECK(ret == 0 || ret == -EBADMSG || ret == -EPERM ||
		   ret == -ESTALE || ret == -ENOMEM);
	FUZZ_CHECK(memchr(err, '\0', 512));
	if (ret && getenv("SVMIG_FUZZ_DEBUG"))
		fprintf(stderr, "request refused: %s\n", err);
	if (ret) {
		/* nothing of a refused request is handed out */
		FUZZ_CHECK(!v->req.vm[0] && !v->operator_cn[0] &&
			   !memcmp(v->cert_sha256, zero, sizeof(zero)));
		return;
	}
	FUZZ_CHECK(svmigd_valid_name(v->req.vm));
	FUZZ_CHECK(!v->operator_cn[0] || svmigd_valid_name(v->operator_cn));
	FUZZ_CHECK(svmigd_valid_host_name(v->req.source));
	FUZZ_CHECK(svmigd_valid_host_name(v->req.target));
	FUZZ_CHECK(v->req.vm_mem_mib >= 1 && v->req.vm_vcpus >= 1);
	FUZZ_CHECK(v->req.time >= FUZZ_NOW - WINDOW &&
		   v->req.time <= FUZZ_NOW + WINDOW);
}

static void raw(const uint8_t *p, size_t n)
{
	struct svmigd_request_verified v;
	char err[512];
	int ret;

	ret = svmigd_request_verify((const char *)p, n, anchors, FUZZ_NOW,
				    WINDOW, &v, err, sizeof(err));
	check_result(ret, &v, err);
}

static void fields(struct fz *z)
{
	struct svmigd_request_verified v;
	struct svmigd_request r;
	bool rsa = fz_u8(z) & 1;
	uint8_t want[SVMIGD_SHA256_LEN];
	int64_t window;
	char err[512], *s;
	size_t len;
	int ret;

	memset(&r, 0, sizeof(r));
	fz_cstr(z, r.vm, sizeof(r.vm));
	fz_cstr(z, r.source, sizeof(r.source));
	fz_cstr(z, r.target, sizeof(r.target));
	r.vm_mem_mib = fz_u64(z);
	r.vm_vcpus = fz_u32(z);
	r.time = FUZZ_NOW + (int32_t)fz_u32(z);
	for (len = 0; len < sizeof(r.nonce); len++)
		r.nonce[len] = fz_u8(z);
	window = fz_u16(z);
	ret = svmigd_request_sign(&r, rsa ? rsa_key : op_key,
				  rsa ? rsa_cert : op_cert, &s, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
		return;
	}
	ret = svmigd_request_verify(s, strlen(s), anchors, FUZZ_NOW, window,
				    &v, err, sizeof(err));
	free(s);
	if (r.time - FUZZ_NOW > window || FUZZ_NOW - r.time > window) {
		FUZZ_CHECK(ret == -ESTALE);
		return;
	}
	if (ret)
		fprintf(stderr, "fuzz_request: own request refused: %s\n", err);
	FUZZ_CHECK(ret == 0);
	FUZZ_CHECK(!memcmp(&v.req, &r, sizeof(r)));
	FUZZ_CHECK(!strcmp(v.operator_cn, rsa ? "bob" : "alice"));
	FUZZ_CHECK(!svmigd_cert_sha256(rsa ? rsa_cert : op_cert, want));
	FUZZ_CHECK(!memcmp(v.cert_sha256, want, sizeof(want)));
}

/* @valid with @member replaced by the string @s, verified. */
static void replaced(const char *member, const char *s, size_t n)
{
	struct svmigd_request_verified v;
	char err[512];
	int ret;

	FUZZ_CHECK(!json_object_object_add(valid, "cert",
					   json_object_new_string(valid_cert)));
	FUZZ_CHECK(!json_object_object_add(valid, "signature",
					   json_object_new_string(valid_sig)));
	FUZZ_CHECK(!json_object_object_add(valid, member,
					   json_object_new_string_len(s, (int)n)));
	ret = svmigd_request_verify_json(valid, anchors, FUZZ_NOW, WINDOW, &v,
					 err, sizeof(err));
	check_result(ret, &v, err);
}

static void cert(const uint8_t *p, size_t n)
{
	static const char head[] = "-----BEGIN CERTIFICATE-----\n";
	static const char tail[] = "\n-----END CERTIFICATE-----\n";
	char *b64, *pem;
	size_t len;

	if (n >= 5 && !memcmp(p, "-----", 5)) {
		replaced("cert", (const char *)p, n);
		return;
	}
	b64 = svmigd_base64_encode(p, n);
	FUZZ_CHECK(b64);
	len = strlen(head) + strlen(b64) + strlen(tail);
	pem = malloc(len + 1);
	FUZZ_CHECK(pem);
	snprintf(pem, len + 1, "%s%s%s", head, b64, tail);
	replaced("cert", pem, len);
	free(pem);
	free(b64);
}

static void signature(const uint8_t *p, size_t n)
{
	char *b64 = svmigd_base64_encode(p, n);

	FUZZ_CHECK(b64);
	replaced("signature", b64, strlen(b64));
	free(b64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	const uint8_t *rest;
	size_t n;

	if (!anchors)
		init();
	switch (fz_u8(&z) & 3) {
	case 0:
		rest = fz_rest(&z, &n);
		raw(rest, n);
		break;
	case 1:
		fields(&z);
		break;
	case 2:
		rest = fz_rest(&z, &n);
		cert(rest, n);
		break;
	case 3:
		rest = fz_rest(&z, &n);
		signature(rest, n);
		break;
	}
	return 0;
}
