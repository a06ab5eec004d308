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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_null_key),
		cmocka_unit_test(test_audit_cert_bad_pubkey),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
