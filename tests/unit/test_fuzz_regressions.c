// SPDX-License-Identifier: GPL-2.0
/*
 * Bugs found by the svmigd fuzz harnesses (tests/fuzz/fuzz_*.c), one test
 * each, written the way a user meets them rather than as the harness's
 * input format.  The crashing inputs themselves are in
 * tests/fuzz/corpus/<harness>/crash-*.
 *
 *  - A certificate whose public key does not decode (one byte of its EC
 *    point changed): X509_get0_pubkey() gives NULL and svmigd_verify()
 *    dereferenced it (fuzz_request; the request path is pinned in
 *    test_svmigd_request.c).  The audit log's verifier took the same NULL
 *    from the host certificate.
 *  - A request signed for a VM name that is not UTF-8 (fuzz_request's
 *    sign-then-verify check): svmigd_request_sign() made it, and every
 *    verifier refused it as invalid JSON.  Names are now UTF-8.
 *  - Seen while fixing that: the operator's CN was copied raw from the
 *    certificate (a Latin-1 T61String, a BMPString, or a UTF-8 CN cut in
 *    the middle of a character), and svmigd logs it as the audit record's
 *    "who", which the audit log then refused to write.  It is now the CN
 *    as UTF-8 when that is a valid name, else "".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/pem.h>

#include "tmpdir.h"
#include "audit.h"
#include "pki.h"
#include "request.h"

/* @cert re-encoded with one byte of its EC point flipped, or NULL. */
static X509 *bad_pubkey_cert(X509 *cert)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *bad;
	int n, i;

	n = i2d_X509(cert, &der);
	assert_true(n > 0);
	for (i = 0; i + 3 < n; i++)
		if (der[i] == 0x03 && der[i + 1] == 0x42 && der[i + 2] == 0x00 &&
		    der[i + 3] == 0x04)
			break;
	assert_true(i + 3 < n);
	der[i + 10] ^= 0x01;	/* x no longer on the curve with this y */
	p = der;
	bad = d2i_X509(NULL, &p, n);
	OPENSSL_free(der);
	return bad;
}

static void test_verify_null_key(void **state)
{
	EVP_PKEY *key = pki_key();
	uint8_t *sig = NULL;
	size_t siglen = 0;

	(void)state;
	assert_non_null(key);
	assert_int_equal(svmigd_sign(key, "x", 1, &sig, &siglen), 0);
	assert_int_equal(svmigd_verify(NULL, "x", 1, sig, siglen), -EINVAL);
	free(sig);
	sig = NULL;
	assert_int_equal(svmigd_sign(NULL, "x", 1, &sig, &siglen), -EINVAL);
	assert_null(sig);
	EVP_PKEY_free(key);
}

/* `audit verify` with a host certificate whose key does not decode. */
static void test_audit_cert_bad_pubkey(void **state)
{
	EVP_PKEY *key = pki_key();
	struct svmigd_audit_report rep;
	char dir[] = "/tmp/test_fuzz_regressions.XXXXXX";
	char log[128], good[128], badp[128], err[512];
	X509 *cert, *bad;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/audit.log", dir);
	snprintf(good, sizeof(good), "%s/host.pem", dir);
	snprintf(badp, sizeof(badp), "%s/bad.pem", dir);
	cert = pki_cert(key, "host-a", NULL, NULL);
	assert_non_null(cert);
	bad = bad_pubkey_cert(cert);
	assert_non_null(bad);
	assert_int_equal(pki_write_cert(good, cert), 0);
	assert_int_equal(pki_write_cert(badp, bad), 0);
	assert_int_equal(svmigd_audit_append(log, key, "request", "alice",
					     "web-1", NULL, NULL, err,
					     sizeof(err)), 0);
	assert_int_equal(svmigd_audit_verify(log, good, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 1);
	assert_int_equal(svmigd_audit_verify(log, badp, &rep, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unreadable public key"));
	assert_int_equal(svmigd_audit_verify_key(log, NULL, &rep, err,
						 sizeof(err)), -EINVAL);
	assert_int_equal(test_rmdir(dir), 0);
	X509_free(bad);
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void test_request_name_not_utf8(void **state)
{
	static const char *const bad[] = {
		"web-\xee", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xe2\x82", "a\x80\x62",
	};
	static const char *const good[] = {
		"web-1", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "*",
	};
	struct svmigd_request r;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(svmigd_valid_name(bad[i]));
		assert_int_equal(svmigd_request_init(&r, bad[i], "host-a",
						     "host-b", 1, 1, err,
						     sizeof(err)), -EINVAL);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(svmigd_valid_name(good[i]));
		assert_int_equal(svmigd_request_init(&r, good[i], "host-a",
						     "host-b", 1, 1, err,
						     sizeof(err)), 0);
	}
}

/* An operator certificate issued by @ca with a CN of @type holding @cn. */
static X509 *op_cert(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, int type,
		     const unsigned char *cn, int len)
{
	X509 *cert = X509_new();
	X509_NAME *name = X509_get_subject_name(cert);

	assert_non_null(cert);
	assert_true(X509_set_version(cert, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(cert), 77));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 3600));
	assert_true(X509_set_pubkey(cert, key));
	assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName, type, cn,
					       len, -1, 0));
	assert_true(X509_set_issuer_name(cert, X509_get_subject_name(ca)));
	assert_true(X509_sign(cert, ca_key, EVP_sha256()) > 0);
	return cert;
}

/* The CN a verified request hands out is one the audit log can record. */
static void test_request_operator_cn(void **state)
{
	static const unsigned char t61[] = "Jos\xe9";	/* Latin-1 */
	static const unsigned char bmp[] = { 0, 'b', 0, 'o', 0, 'b' };
	static const unsigned char utf8[] = "Jos\xc3\xa9";
	unsigned char longcn[200];
	const struct {
		int type;
		const unsigned char *cn;
		int len;
		const char *want;
	} cases[] = {
		{ V_ASN1_T61STRING, t61, 4, "Jos\xc3\xa9" },
		{ V_ASN1_BMPSTRING, bmp, 6, "bob" },
		{ V_ASN1_UTF8STRING, utf8, 5, "Jos\xc3\xa9" },
		{ V_ASN1_UTF8STRING, longcn, 129, "" },	/* longer than a name */
		{ V_ASN1_UTF8STRING, (const unsigned char *)"a\nb", 3, "" },
	};
	EVP_PKEY *ca_key = pki_key(), *key = pki_key();
	X509_STORE *anchors = X509_STORE_new();
	struct svmigd_request_verified v;
	struct svmigd_request r;
	char dir[] = "/tmp/test_fuzz_regressions.XXXXXX", log[128], err[512];
	X509 *ca, *cert;
	char *signed_req;
	size_t i;

	(void)state;
	/* "a" and 64 two-byte characters: 128 bytes end inside the last */
	longcn[0] = 'a';
	for (i = 1; i + 1 < sizeof(longcn); i += 2) {
		longcn[i] = 0xc3;
		longcn[i + 1] = 0xa9;
	}
	assert_non_null(mkdtemp(dir));
	snprintf(log, sizeof(log), "%s/audit.log", dir);
	ca = pki_cert(ca_key, "ops-ca", NULL, NULL);
	assert_non_null(ca);
	assert_int_equal(X509_STORE_add_cert(anchors, ca), 1);
	assert_int_equal(svmigd_request_init(&r, "web-1", "host-a", "host-b",
					     2048, 2, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cert = op_cert(key, ca, ca_key, cases[i].type, cases[i].cn,
			       cases[i].len);
		assert_int_equal(svmigd_request_sign(&r, key, cert, &signed_req,
						     err, sizeof(err)), 0);
		assert_int_equal(svmigd_request_verify(signed_req,
						       strlen(signed_req),
						       anchors, r.time, 60, &v,
						       err, sizeof(err)), 0);
		assert_string_equal(v.operator_cn, cases[i].want);
		/* what the daemon and the session log as "who" */
		assert_int_equal(svmigd_audit_append(log, key, "request",
						     v.operator_cn[0] ?
						     v.operator_cn : "unknown",
						     v.req.vm, NULL, NULL, err,
						     sizeof(err)), 0);
		free(signed_req);
		X509_free(cert);
	}
	assert_int_equal(test_rmdir(dir), 0);
	X509_free(ca);
	X509_STORE_free(anchors);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_null_key),
		cmocka_unit_test(test_audit_cert_bad_pubkey),
		cmocka_unit_test(test_request_name_not_utf8),
		cmocka_unit_test(test_request_operator_cn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
