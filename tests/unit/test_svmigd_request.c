// SPDX-License-Identifier: GPL-2.0
/*
 * The operator's signed request (userspace/svmigd/request.c): its
 * canonical form; sign and verify (EC and RSA operators); refused when
 * unsigned, malformed, tampered (any field, any byte of the request or
 * the signature, any byte of the certificate's PEM or DER), signed by a
 * key other than the certificate's, from a CA that is not a trust anchor,
 * expired, stale or from the future, or carrying a CA-signed certificate
 * whose public key cannot be decoded (once a NULL dereference in svmigd).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>

#include "tmpdir.h"
#include "pki.h"
#include "crl.h"
#include "request.h"

#define WINDOW	300

struct rt {
	char dir[64];
	char ca_pem[128], host_ca_pem[128], empty_pem[128];
	EVP_PKEY *ca_key, *alice_key, *bob_key, *mallory_key, *eve_key;
	EVP_PKEY *rsa_key, *self_key;
	X509 *ca, *alice, *bob, *mallory, *eve, *rsa, *self;
	X509_STORE *anchors;
	int64_t now;
};

static struct rt *T;

static X509 *leaf(EVP_PKEY **key, const char *cn, X509 *ca, EVP_PKEY *ca_key)
{
	X509 *cert;

	*key = pki_key();
	assert_non_null(*key);
	cert = pki_cert(*key, cn, ca, ca_key);
	assert_non_null(cert);
	return cert;
}

static int group_setup(void **state)
{
	EVP_PKEY *other_ca_key, *host_ca_key;
	X509 *other_ca, *host_ca;
	char *files[2], err[256];
	FILE *f;

	T = calloc(1, sizeof(*T));
	assert_non_null(T);
	strcpy(T->dir, "/tmp/test_svmigd_request.XXXXXX");
	assert_non_null(mkdtemp(T->dir));
	snprintf(T->ca_pem, sizeof(T->ca_pem), "%s/operator-ca.pem", T->dir);
	snprintf(T->host_ca_pem, sizeof(T->host_ca_pem), "%s/host-ca.pem", T->dir);
	snprintf(T->empty_pem, sizeof(T->empty_pem), "%s/empty.pem", T->dir);
	T->now = (int64_t)time(NULL);

	T->ca_key = pki_key();
	T->ca = pki_cert(T->ca_key, "operator-ca", NULL, NULL);
	assert_non_null(T->ca);
	assert_int_equal(pki_write_cert(T->ca_pem, T->ca), 0);
	T->alice = leaf(&T->alice_key, "alice", T->ca, T->ca_key);
	T->bob = leaf(&T->bob_key, "bob", T->ca, T->ca_key);
	T->rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(T->rsa_key);
	T->rsa = pki_cert(T->rsa_key, "rsa-operator", T->ca, T->ca_key);
	assert_non_null(T->rsa);

	/*
	 * CAs that are no trust anchor: another one, one with the operator
	 * CA's name; and a self-signed operator
	 */
	other_ca_key = pki_key();
	other_ca = pki_cert(other_ca_key, "other-ca", NULL, NULL);
	assert_non_null(other_ca);
	T->mallory = leaf(&T->mallory_key, "mallory", other_ca, other_ca_key);
	X509_free(other_ca);
	EVP_PKEY_free(other_ca_key);
	other_ca_key = pki_key();
	other_ca = pki_cert(other_ca_key, "operator-ca", NULL, NULL);
	assert_non_null(other_ca);
	T->eve = leaf(&T->eve_key, "alice", other_ca, other_ca_key);
	X509_free(other_ca);
	EVP_PKEY_free(other_ca_key);
	T->self_key = pki_key();
	T->self = pki_cert(T->self_key, "self", NULL, NULL);
	assert_non_null(T->self);

	/* federation: the hosts' CA and the operators' CA */
	host_ca_key = pki_key();
	host_ca = pki_cert(host_ca_key, "host-ca", NULL, NULL);
	assert_non_null(host_ca);
	assert_int_equal(pki_write_cert(T->host_ca_pem, host_ca), 0);
	X509_free(host_ca);
	EVP_PKEY_free(host_ca_key);
	f = fopen(T->empty_pem, "w");
	assert_non_null(f);
	assert_int_equal(fclose(f), 0);

	files[0] = T->host_ca_pem;
	files[1] = T->ca_pem;
	T->anchors = svmigd_request_anchors(files, 2, err, sizeof(err));
	assert_non_null(T->anchors);
	*state = T;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(test_rmdir(T->dir), 0);
	X509_STORE_free(T->anchors);
	X509_free(T->ca);
	X509_free(T->alice);
	X509_free(T->bob);
	X509_free(T->mallory);
	X509_free(T->eve);
	X509_free(T->rsa);
	X509_free(T->self);
	EVP_PKEY_free(T->ca_key);
	EVP_PKEY_free(T->alice_key);
	EVP_PKEY_free(T->bob_key);
	EVP_PKEY_free(T->mallory_key);
	EVP_PKEY_free(T->eve_key);
	EVP_PKEY_free(T->rsa_key);
	EVP_PKEY_free(T->self_key);
	free(T);
	return 0;
}

static void fixed_request(struct svmigd_request *r)
{
	char err[256];
	int i;

	assert_int_equal(svmigd_request_init(r, "web-1", "host-a", "host-b",
					     2048, 2, err, sizeof(err)), 0);
	r->time = T->now;
	for (i = 0; i < SVMIGD_NONCE_LEN; i++)
		r->nonce[i] = (uint8_t)i;
}

static char *sign(const struct svmigd_request *r, EVP_PKEY *key, X509 *cert)
{
	char *s = NULL, err[256] = "";
	int ret;

	ret = svmigd_request_sign(r, key, cert, &s, err, sizeof(err));
	if (ret)
		fail_msg("sign: %d: %s", ret, err);
	return s;
}

static int verify_at(const char *s, int64_t now, char *err, size_t errlen,
		     struct svmigd_request_verified *v)
{
	struct svmigd_request_verified dummy;

	return svmigd_request_verify(s, strlen(s), T->anchors, now, WINDOW,
				     v ? v : &dummy, err, errlen);
}

/* Verifying @o (consumed) gives @want and @msg. */
static void refused(struct json_object *o, int want, const char *msg)
{
	struct svmigd_request_verified v;
	char err[512] = "";
	int ret;

	ret = svmigd_request_verify_json(o, T->anchors, T->now, WINDOW, &v,
					 err, sizeof(err));
	if (ret != want || !strstr(err, msg))
		fail_msg("%d (%d expected): \"%s\" lacks \"%s\"", ret, want,
			 err, msg);
	json_object_put(o);
}

static void test_canonical(void **state)
{
	static const char want[] =
		"{\"vm\":\"web-1\",\"source\":\"host-a\",\"target\":\"host-b\","
		"\"vm_mem_mib\":2048,\"vm_vcpus\":2,\"time\":1700000000,"
		"\"nonce\":\"000102030405060708090a0b0c0d0e0f"
		"101112131415161718191a1b1c1d1e1f\"}";
	struct svmigd_request r, r2;
	char *c, err[256];

	(void)state;
	fixed_request(&r);
	r.time = 1700000000;
	assert_int_equal(svmigd_request_canonical(&r, &c, err, sizeof(err)), 0);
	assert_string_equal(c, want);
	free(c);

	/* init: now, and a fresh nonce each time */
	assert_int_equal(svmigd_request_init(&r, "web-1", "host-a", "host-b",
					     1, 1, err, sizeof(err)), 0);
	assert_int_equal(svmigd_request_init(&r2, "web-1", "host-a", "host-b",
					     1, 1, err, sizeof(err)), 0);
	assert_memory_not_equal(r.nonce, r2.nonce, SVMIGD_NONCE_LEN);
	assert_true(r.time >= T->now && r.time <= (int64_t)time(NULL));

	assert_int_equal(svmigd_request_init(&r, "", "host-a", "host-b", 1, 1,
					     err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "vm:"));
	assert_int_equal(svmigd_request_init(&r, "w", "host a", "host-b", 1, 1,
					     err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "source: not a host name"));
	assert_int_equal(svmigd_request_init(&r, "w", "host-a", "", 1, 1,
					     err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "target: not a host name"));
	assert_int_equal(svmigd_request_init(&r, "w", "host-a", "host-b", 0, 1,
					     err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "vm_mem_mib"));
	assert_int_equal(svmigd_request_init(&r, "w", "host-a", "host-b", 1, 0,
					     err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "vm_vcpus"));
}

static void test_sign_verify(void **state)
{
	uint8_t fpr[SVMIGD_SHA256_LEN], digest[SVMIGD_SHA256_LEN];
	struct svmigd_request_verified v;
	struct svmigd_request r;
	struct json_object *o;
	char *s, *c, err[512] = "";

	(void)state;
	fixed_request(&r);
	s = sign(&r, T->alice_key, T->alice);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), &v), 0);
	assert_memory_equal(&v.req, &r, sizeof(r));
	assert_int_equal(svmigd_cert_sha256(T->alice, fpr), 0);
	assert_memory_equal(v.cert_sha256, fpr, sizeof(fpr));
	assert_string_equal(v.operator_cn, "alice");
	assert_int_equal(svmigd_request_canonical(&r, &c, err, sizeof(err)), 0);
	assert_int_equal(svmigd_sha256(c, strlen(c), digest), 0);
	assert_memory_equal(v.request_sha256, digest, sizeof(digest));
	free(c);

	/* re-spelt in transit (pretty, keys reordered): still the same */
	o = json_tokener_parse(s);
	assert_non_null(o);
	{
		struct json_object *req = json_object_object_get(o, "request");
		struct json_object *vm = json_object_get(json_object_object_get(req, "vm"));

		json_object_object_del(req, "vm");
		assert_int_equal(json_object_object_add(req, "vm", vm), 0);
	}
	free(s);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	assert_non_null(s);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), &v), 0);
	assert_memory_equal(&v.req, &r, sizeof(r));
	free(s);

	/* an RSA operator (RSA-PSS) */
	s = sign(&r, T->rsa_key, T->rsa);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), &v), 0);
	assert_string_equal(v.operator_cn, "rsa-operator");
	free(s);

	/* the JSON object flavour */
	assert_int_equal(svmigd_request_sign_json(&r, T->bob_key, T->bob, &o,
						  err, sizeof(err)), 0);
	assert_int_equal(svmigd_request_verify_json(o, T->anchors, T->now,
						    WINDOW, &v, err,
						    sizeof(err)), 0);
	assert_string_equal(v.operator_cn, "bob");
	json_object_put(o);
}

static struct json_object *signed_obj(void)
{
	struct svmigd_request r;
	struct json_object *o;
	char err[256];

	fixed_request(&r);
	assert_int_equal(svmigd_request_sign_json(&r, T->alice_key, T->alice,
						  &o, err, sizeof(err)), 0);
	return o;
}

static struct json_object *req_of(struct json_object *o)
{
	return json_object_object_get(o, "request");
}

static void set_field(struct json_object *o, const char *key,
		      struct json_object *v)
{
	assert_non_null(v);
	assert_int_equal(json_object_object_add(req_of(o), key, v), 0);
}

/* Each field changed after signing: the signature does not verify. */
static void test_tampered_fields(void **state)
{
	static const char bad_sig[] =
		"signature does not verify with the certificate's key";
	struct json_object *o;
	char nonce[2 * SVMIGD_NONCE_LEN + 1];

	(void)state;
	o = signed_obj();
	set_field(o, "vm", json_object_new_string("db-1"));
	refused(o, -EBADMSG, bad_sig);
	o = signed_obj();
	set_field(o, "source", json_object_new_string("host-c"));
	refused(o, -EBADMSG, bad_sig);
	o = signed_obj();
	set_field(o, "target", json_object_new_string("host-c"));
	refused(o, -EBADMSG, bad_sig);
	o = signed_obj();
	set_field(o, "vm_mem_mib", json_object_new_int64(2049));
	refused(o, -EBADMSG, bad_sig);
	o = signed_obj();
	set_field(o, "vm_vcpus", json_object_new_int64(64));
	refused(o, -EBADMSG, bad_sig);
	o = signed_obj();
	set_field(o, "time", json_object_new_int64(T->now + 1));
	refused(o, -EBADMSG, bad_sig);
	o = signed_obj();
	memset(nonce, 'f', sizeof(nonce) - 1);
	nonce[sizeof(nonce) - 1] = '\0';
	set_field(o, "nonce", json_object_new_string(nonce));
	refused(o, -EBADMSG, bad_sig);
}

/* Any byte of the request object or of the signature changed: refused. */
static void test_tampered_bytes(void **state)
{
	struct svmigd_request r;
	char *s, *from, *to, err[512];
	size_t i;

	(void)state;
	fixed_request(&r);
	s = sign(&r, T->alice_key, T->alice);
	from = strstr(s, "\"request\":{");
	to = strchr(from, '}');
	assert_non_null(to);
	for (i = (size_t)(from - s); i <= (size_t)(to - s); i++) {
		s[i] ^= 0x01;
		if (!verify_at(s, T->now, err, sizeof(err), NULL))
			fail_msg("byte %zu ('%c') changed: accepted", i, s[i]);
		s[i] ^= 0x01;
	}
	from = strstr(s, "\"signature\":\"") + strlen("\"signature\":\"");
	to = strchr(from, '"');
	for (i = (size_t)(from - s); i < (size_t)(to - s); i++) {
		s[i] ^= 0x01;
		if (verify_at(s, T->now, err, sizeof(err), NULL) != -EBADMSG)
			fail_msg("signature byte %zu changed: %s", i, err);
		s[i] ^= 0x01;
	}
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), 0);
	free(s);
}

static char *cert_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem, *copy;
	long len;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
	len = BIO_get_mem_data(bio, &pem);
	assert_true(len > 0);
	copy = strndup(pem, (size_t)len);
	assert_non_null(copy);
	BIO_free(bio);
	return copy;
}

/* alice's signed request with @pem in place of her certificate. */
static int verify_with_cert(const char *pem, struct svmigd_request_verified *v,
			    char *err, size_t errlen)
{
	struct json_object *o = signed_obj();
	int ret;

	assert_int_equal(json_object_object_add(o, "cert",
				json_object_new_string(pem)), 0);
	ret = svmigd_request_verify_json(o, T->anchors, T->now, WINDOW, v,
					 err, errlen);
	json_object_put(o);
	return ret;
}

/*
 * Every byte of the certificate's PEM flipped: refused, or (a flip PEM
 * decoding ignores, such as one in whitespace) the very same certificate.
 */
static void test_tampered_cert_pem(void **state)
{
	struct svmigd_request_verified v;
	uint8_t want[SVMIGD_SHA256_LEN];
	char *pem, err[512];
	size_t i, n;
	int ret;

	(void)state;
	assert_int_equal(svmigd_cert_sha256(T->alice, want), 0);
	pem = cert_pem(T->alice);
	n = strlen(pem);
	for (i = 0; i < n; i++) {
		pem[i] ^= 0x01;
		ret = verify_with_cert(pem, &v, err, sizeof(err));
		if (!ret && memcmp(v.cert_sha256, want, sizeof(want)))
			fail_msg("PEM byte %zu changed: another certificate accepted", i);
		pem[i] ^= 0x01;
	}
	assert_int_equal(verify_with_cert(pem, &v, err, sizeof(err)), 0);
	free(pem);
}

static char *der_to_pem(const uint8_t *der, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem, *copy;
	long n;

	assert_non_null(bio);
	assert_true(PEM_write_bio(bio, "CERTIFICATE", "", der, (long)len) > 0);
	n = BIO_get_mem_data(bio, &pem);
	assert_true(n > 0);
	copy = strndup(pem, (size_t)n);
	assert_non_null(copy);
	BIO_free(bio);
	return copy;
}

/* Every byte of the certificate's DER flipped (two ways): refused. */
static void test_tampered_cert_der(void **state)
{
	static const uint8_t masks[] = { 0x01, 0xff };
	struct svmigd_request_verified v;
	unsigned char *der = NULL;
	char *pem, err[512];
	size_t i, m;
	int len;

	(void)state;
	len = i2d_X509(T->alice, &der);
	assert_true(len > 0);
	for (m = 0; m < sizeof(masks); m++) {
		for (i = 0; i < (size_t)len; i++) {
			der[i] ^= masks[m];
			pem = der_to_pem(der, (size_t)len);
			if (!verify_with_cert(pem, &v, err, sizeof(err)))
				fail_msg("DER byte %zu ^ 0x%02x: accepted", i,
					 masks[m]);
			free(pem);
			der[i] ^= masks[m];
		}
	}
	pem = der_to_pem(der, (size_t)len);
	assert_int_equal(verify_with_cert(pem, &v, err, sizeof(err)), 0);
	free(pem);
	OPENSSL_free(der);
}

/*
 * A certificate the trusted CA signed whose public key OpenSSL cannot
 * decode (an EC point that is not on the curve): X509_get0_pubkey() is
 * NULL for it.  Refused, not a crash (the signature step used to run
 * before the chain check and dereferenced the NULL key).
 */
static void test_undecodable_key(void **state)
{
	struct svmigd_request_verified v;
	unsigned char *der = NULL, *pt;
	const unsigned char *p;
	X509 *bad, *parsed;
	char *pem, err[512];
	EVP_PKEY *key;
	int len, ret;

	(void)state;
	bad = leaf(&key, "alice", T->ca, T->ca_key);
	pt = OPENSSL_malloc(65);
	assert_non_null(pt);
	memset(pt, 0x5a, 65);
	pt[0] = 0x04;
	assert_int_equal(X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(bad),
			 OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
			 OBJ_nid2obj(NID_X9_62_prime256v1), pt, 65), 1);
	assert_true(X509_sign(bad, T->ca_key, EVP_sha256()) > 0);
	len = i2d_X509(bad, &der);
	assert_true(len > 0);
	p = der;
	parsed = d2i_X509(NULL, &p, len);
	assert_non_null(parsed);
	assert_null(X509_get0_pubkey(parsed));
	ERR_clear_error();
	pem = cert_pem(parsed);
	/* OpenSSL's chain check refuses it now that it runs first */
	ret = verify_with_cert(pem, &v, err, sizeof(err));
	if (ret != -EPERM || !strstr(err, "not trusted"))
		fail_msg("%d: %s", ret, err);
	/* and every user of a key refuses NULL on its own */
	assert_int_equal(svmigd_verify(NULL, "x", 1, (const uint8_t *)"s", 1),
			 -EINVAL);
	assert_int_equal(svmigd_pubkey_sha256(NULL, v.cert_sha256), -EINVAL);
	free(pem);
	X509_free(parsed);
	OPENSSL_free(der);
	X509_free(bad);
	EVP_PKEY_free(key);
}

/* Signed by a key other than the certificate's. */
static void test_wrong_key(void **state)
{
	struct svmigd_request r;
	struct json_object *o;
	char *c, *b64, *pem, err[512];
	uint8_t *sig;
	size_t siglen;
	BIO *bio;
	long len;

	(void)state;
	fixed_request(&r);
	assert_int_equal(svmigd_request_sign_json(&r, T->bob_key, T->alice, &o,
						  err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not match the certificate"));

	/* bob's signature, alice's certificate */
	o = signed_obj();
	assert_int_equal(svmigd_request_canonical(&r, &c, err, sizeof(err)), 0);
	assert_int_equal(svmigd_sign(T->bob_key, c, strlen(c), &sig, &siglen), 0);
	b64 = svmigd_base64_encode(sig, siglen);
	assert_non_null(b64);
	assert_int_equal(json_object_object_add(o, "signature",
						json_object_new_string(b64)), 0);
	refused(o, -EBADMSG, "signature does not verify");
	free(b64);
	free(sig);
	free(c);

	/* alice's signature, bob's certificate */
	o = signed_obj();
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, T->bob), 1);
	len = BIO_get_mem_data(bio, &pem);
	assert_true(len > 0);
	assert_int_equal(json_object_object_add(o, "cert",
				json_object_new_string_len(pem, (int)len)), 0);
	BIO_free(bio);
	refused(o, -EBADMSG, "signature does not verify");
}

static void test_untrusted(void **state)
{
	struct svmigd_request r;
	char *s, err[512];

	(void)state;
	fixed_request(&r);
	s = sign(&r, T->mallory_key, T->mallory);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), -EPERM);
	assert_non_null(strstr(err, "operator certificate not trusted: unable to get local issuer certificate"));
	free(s);
	/* from a CA posing as the operators' CA (same name) */
	s = sign(&r, T->eve_key, T->eve);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), -EPERM);
	assert_non_null(strstr(err, "operator certificate not trusted: certificate signature failure"));
	free(s);
	s = sign(&r, T->self_key, T->self);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), -EPERM);
	assert_non_null(strstr(err, "not trusted"));
	free(s);
	/* an anchor chains to itself, but is a CA's (keyUsage keyCertSign) */
	s = sign(&r, T->ca_key, T->ca);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), -EPERM);
	assert_non_null(strstr(err, "not for client authentication"));
	free(s);
	/* expired by the time of verification (certificates last a day) */
	r.time = T->now + 2 * 86400;
	s = sign(&r, T->alice_key, T->alice);
	assert_int_equal(verify_at(s, r.time, err, sizeof(err), NULL), -EPERM);
	assert_non_null(strstr(err, "certificate has expired"));
	free(s);
}

/* Operator certificates need the client-authentication purpose. */
static void test_purpose(void **state)
{
	static const char *const ekus[] = {
		"serverAuth", "emailProtection", "clientAuth", "serverAuth,clientAuth",
	};
	struct svmigd_request r;
	EVP_PKEY *key;
	X509 *cert;
	char *s, err[512];
	size_t i;

	(void)state;
	fixed_request(&r);
	for (i = 0; i < sizeof(ekus) / sizeof(ekus[0]); i++) {
		key = pki_key();
		cert = pki_cert(key, "alice", T->ca, T->ca_key);
		assert_non_null(cert);
		/* re-issued with the extendedKeyUsage under test */
		assert_int_equal(pki_ext(cert, T->ca, NID_ext_key_usage, ekus[i]), 0);
		assert_true(X509_sign(cert, T->ca_key, EVP_sha256()) > 0);
		s = sign(&r, key, cert);
		if (i < 2) {
			assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL),
					 -EPERM);
			assert_non_null(strstr(err, "operator certificate not trusted: "
					       "not for client authentication"));
		} else {
			assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), 0);
		}
		free(s);
		X509_free(cert);
		EVP_PKEY_free(key);
	}
	/* a keyUsage without digitalSignature */
	key = pki_key();
	cert = pki_cert(key, "alice", T->ca, T->ca_key);
	assert_int_equal(pki_ext(cert, T->ca, NID_key_usage, "critical,keyEncipherment"), 0);
	assert_true(X509_sign(cert, T->ca_key, EVP_sha256()) > 0);
	s = sign(&r, key, cert);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), -EPERM);
	assert_non_null(strstr(err, "not for client authentication"));
	free(s);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* A revoked operator certificate, once CRLs are loaded (crl.h). */
static void test_revoked(void **state)
{
	char path[160], err[512], *files[1] = { path };
	struct svmigd_request r;
	X509_STORE *saved = T->anchors, *store;
	char *s, *anchors[1] = { T->ca_pem };

	(void)state;
	fixed_request(&r);
	snprintf(path, sizeof(path), "%s/operator-ca.crl", T->dir);
	assert_int_equal(pki_write_crl(T->ca, T->ca_key, T->bob, path), 0);
	store = svmigd_request_anchors(anchors, 1, err, sizeof(err));
	assert_non_null(store);
	assert_int_equal(svmigd_crl_load(store, files, 1, err, sizeof(err)), 0);
	T->anchors = store;
	s = sign(&r, T->bob_key, T->bob);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), -EPERM);
	assert_non_null(strstr(err, "operator certificate not trusted: certificate revoked"));
	free(s);
	s = sign(&r, T->alice_key, T->alice);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), 0);
	free(s);
	T->anchors = saved;
	X509_STORE_free(store);
	unlink(path);
}

static void test_freshness(void **state)
{
	struct svmigd_request r;
	char *s, err[512];

	(void)state;
	fixed_request(&r);
	s = sign(&r, T->alice_key, T->alice);
	assert_int_equal(verify_at(s, T->now + WINDOW, err, sizeof(err), NULL), 0);
	assert_int_equal(verify_at(s, T->now + WINDOW + 1, err, sizeof(err),
				   NULL), -ESTALE);
	assert_non_null(strstr(err, "request is stale: made 301 s ago (window 300 s)"));
	free(s);
	r.time = T->now + WINDOW;
	s = sign(&r, T->alice_key, T->alice);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), 0);
	free(s);
	r.time = T->now + WINDOW + 1;
	s = sign(&r, T->alice_key, T->alice);
	assert_int_equal(verify_at(s, T->now, err, sizeof(err), NULL), -ESTALE);
	assert_non_null(strstr(err, "request is from the future: 301 s ahead"));
	free(s);
}

static void test_malformed(void **state)
{
	struct json_object *o;
	char err[512];

	(void)state;
	o = signed_obj();
	json_object_object_del(o, "signature");
	refused(o, -EBADMSG, "request is not signed");
	o = signed_obj();
	json_object_object_add(o, "signature", json_object_new_string(""));
	refused(o, -EBADMSG, "request is not signed");
	o = signed_obj();
	json_object_object_add(o, "signature", json_object_new_int(1));
	refused(o, -EBADMSG, "signature: expected a string");
	o = signed_obj();
	json_object_object_add(o, "signature", json_object_new_string("AAAA\n"));
	refused(o, -EBADMSG, "signature: not canonical base64");
	o = signed_obj();
	json_object_object_del(o, "cert");
	refused(o, -EBADMSG, "request carries no certificate");
	o = signed_obj();
	json_object_object_add(o, "cert", json_object_new_string("-----BEGIN"));
	refused(o, -EBADMSG, "cert: expected one PEM certificate");
	o = signed_obj();
	json_object_object_add(o, "operator", json_object_new_string("root"));
	refused(o, -EBADMSG, "signed request: unknown key \"operator\"");
	o = signed_obj();
	json_object_object_del(o, "request");
	refused(o, -EBADMSG, "signed request: missing key \"request\"");
	o = signed_obj();
	json_object_object_del(req_of(o), "nonce");
	refused(o, -EBADMSG, "request: missing key \"nonce\"");
	o = signed_obj();
	set_field(o, "priority", json_object_new_int(1));
	refused(o, -EBADMSG, "request: unknown key \"priority\"");
	o = signed_obj();
	set_field(o, "vm_vcpus", json_object_new_string("2"));
	refused(o, -EBADMSG, "request.vm_vcpus: expected an integer");
	o = signed_obj();
	set_field(o, "vm_vcpus", json_object_new_int64(0));
	refused(o, -EBADMSG, "request.vm_vcpus: expected an integer from 1");
	o = signed_obj();
	set_field(o, "vm_mem_mib", json_object_new_double(2048.0));
	refused(o, -EBADMSG, "request.vm_mem_mib: expected an integer");
	o = signed_obj();
	set_field(o, "nonce", json_object_new_string("00"));
	refused(o, -EBADMSG, "request.nonce: expected 64 lowercase hex digits");
	o = signed_obj();
	set_field(o, "source", json_object_new_string("host a"));
	refused(o, -EBADMSG, "source: not a host name");
	o = signed_obj();
	set_field(o, "vm", json_object_new_string_len("web\0-1", 6));
	refused(o, -EBADMSG, "request.vm: NUL character");
	refused(json_object_new_array(), -EBADMSG,
		"signed request: expected an object");

	assert_int_equal(verify_at("{\"request\":", T->now, err, sizeof(err),
				   NULL), -EBADMSG);
	assert_non_null(strstr(err, "signed request: truncated JSON"));
	assert_int_equal(verify_at("", T->now, err, sizeof(err), NULL), -EBADMSG);
}

static void test_anchors(void **state)
{
	char *files[2], missing[160], err[512];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing.pem", T->dir);
	files[0] = T->ca_pem;
	files[1] = missing;
	assert_null(svmigd_request_anchors(files, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "missing.pem: no PEM certificate"));
	files[1] = T->empty_pem;
	assert_null(svmigd_request_anchors(files, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "empty.pem: no PEM certificate"));
	assert_null(svmigd_request_anchors(files, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "no trust anchors"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_tampered_fields),
		cmocka_unit_test(test_tampered_bytes),
		cmocka_unit_test(test_tampered_cert_pem),
		cmocka_unit_test(test_tampered_cert_der),
		cmocka_unit_test(test_undecodable_key),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_purpose),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_freshness),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_anchors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
