// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of svmigd's EK enrolment checks (userspace/svmigd/ek.c):
 * two swtpm TPMs manufactured by swtpm_setup, each with an RSA EK
 * certificate from a swtpm_localca CA of its own ("manufacturer" m1 and
 * m2).  The EK certificate read from the TPM's NV index verifies against
 * its own manufacturer's issuing CA (with or without its root), and is
 * refused against the root alone (the issuing CA is not sent), the other's, with the other TPM's EK, with bytes after it, truncated, and
 * without a CA.  A TPM without an EK certificate gives a TPM error.
 * Credential activation between the two: made on m1 for m2's EK and AK,
 * activated on m2; refused for another AK name, another EK, an altered
 * blob.
 * Skipped without swtpm and swtpm_setup.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "swtpm.h"
#include "tpm.h"

static struct swtpm tpm_m1, tpm_m2, tpm_bare;
static char cadir[64];
static char root1[128], issuer1[128], issuer2[128];
static int have_swtpm;

#define SKIP_WITHOUT_SWTPM()	do { if (!have_swtpm) skip(); } while (0)

static void get_ek(const struct swtpm *s, struct svmigd_tpm_ek *ek)
{
	struct svmigd_tpm *t = NULL;

	assert_int_equal(svmigd_tpm_open(s->tcti, &t), 0);
	assert_int_equal(svmigd_tpm_ek(t, ek), 0);
	svmigd_tpm_close(t);
}

static void test_ek_verifies(void **state)
{
	const char *ca[2];
	struct svmigd_tpm_ek ek, ek2;
	char why[256] = "stale";

	(void)state;
	SKIP_WITHOUT_SWTPM();
	get_ek(&tpm_m1, &ek);
	assert_true(ek.cert_len > 100);
	assert_true(ek.pub_len > 256);
	/* the same EK again: the template is deterministic */
	get_ek(&tpm_m1, &ek2);
	assert_int_equal(ek.pub_len, ek2.pub_len);
	assert_memory_equal(ek.pub, ek2.pub, ek.pub_len);
	/* the issuing CA, with its root or alone */
	ca[0] = root1;
	ca[1] = issuer1;
	assert_int_equal(svmigd_ek_verify(ek.cert, ek.cert_len, ek.pub,
					  ek.pub_len, ca, 2, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(svmigd_ek_verify(ek.cert, ek.cert_len, ek.pub,
					  ek.pub_len, ca + 1, 1, NULL, 0), 0);
	/* the root alone cannot be reached: the issuing CA is not sent */
	assert_int_equal(svmigd_ek_verify(ek.cert, ek.cert_len, ek.pub,
					  ek.pub_len, ca, 1, why, sizeof(why)),
			 SVMIGD_TPM_EEKCA);
	assert_non_null(strstr(why, "issuer"));
}

/* m2's EK certificate against m1's CAs: an unlisted manufacturer. */
static void test_ek_unlisted_ca(void **state)
{
	const char *ca[2] = { root1, issuer1 };
	struct svmigd_tpm_ek ek;
	char why[256];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	get_ek(&tpm_m2, &ek);
	assert_int_equal(svmigd_ek_verify(ek.cert, ek.cert_len, ek.pub,
					  ek.pub_len, ca, 2, why, sizeof(why)),
			 SVMIGD_TPM_EEKCA);
	assert_non_null(strstr(why, "does not chain to a listed manufacturer CA"));
	ca[0] = issuer2;
	assert_int_equal(svmigd_ek_verify(ek.cert, ek.cert_len, ek.pub,
					  ek.pub_len, ca, 1, NULL, 0), 0);
}

/* A certificate that is not this EK's, malformed ones, no CA. */
static void test_ek_refused(void **state)
{
	const char *ca[1] = { issuer1 };
	struct svmigd_tpm_ek ek, ek2;
	char why[256];
	size_t len;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	get_ek(&tpm_m1, &ek);
	get_ek(&tpm_m2, &ek2);
	/* m1's genuine certificate presented for m2's EK */
	assert_int_equal(svmigd_ek_verify(ek.cert, ek.cert_len, ek2.pub,
					  ek2.pub_len, ca, 1, why, sizeof(why)),
			 SVMIGD_TPM_EEKCERT);
	assert_non_null(strstr(why, "not this TPM's EK"));
	/* bytes after the certificate that are not padding */
	len = ek.cert_len;
	while (len && (ek.cert[len - 1] == 0 || ek.cert[len - 1] == 0xff))
		len--;
	assert_true(len + 1 < sizeof(ek.cert));
	ek.cert[len] = 0x30;
	assert_int_equal(svmigd_ek_verify(ek.cert, len + 1, ek.pub, ek.pub_len,
					  ca, 1, why, sizeof(why)),
			 SVMIGD_TPM_EEKCERT);
	/* zero padding is accepted */
	ek.cert[len] = 0;
	assert_int_equal(svmigd_ek_verify(ek.cert, len + 1, ek.pub, ek.pub_len,
					  ca, 1, NULL, 0), 0);
	assert_int_equal(svmigd_ek_verify(ek.cert, len - 1, ek.pub, ek.pub_len,
					  ca, 1, NULL, 0), SVMIGD_TPM_EEKCERT);
	assert_int_equal(svmigd_ek_verify(ek.cert, len, ek.pub, ek.pub_len - 1,
					  ca, 1, NULL, 0), SVMIGD_TPM_EEKCERT);
	assert_int_equal(svmigd_ek_verify(ek.cert, len, ek.pub, ek.pub_len,
					  ca, 0, NULL, 0), SVMIGD_TPM_EINVAL);
	ca[0] = "/nonexistent/ca.pem";
	assert_int_equal(svmigd_ek_verify(ek.cert, len, ek.pub, ek.pub_len,
					  ca, 1, NULL, 0), SVMIGD_TPM_EINVAL);
}

/* The name of an AK: 0x000b || its ak_sha256. */
static void ak_name(const struct svmigd_tpm_ak *ak, uint8_t name[SVMIGD_TPM_NAME_LEN])
{
	name[0] = 0x00;
	name[1] = 0x0b;
	memcpy(name + 2, ak->sha256, SVMIGD_TPM_DIGEST_LEN);
}

static void get_ak(const struct swtpm *s, struct svmigd_tpm_ak *ak)
{
	struct svmigd_tpm *t = NULL;

	assert_int_equal(svmigd_tpm_open(s->tcti, &t), 0);
	assert_int_equal(svmigd_tpm_ak(t, ak), 0);
	svmigd_tpm_close(t);
}

static void make_cred(const struct swtpm *verifier, const struct svmigd_tpm_ek *ek,
		      const uint8_t name[SVMIGD_TPM_NAME_LEN],
		      const uint8_t secret[32], struct svmigd_tpm_cred *c)
{
	struct svmigd_tpm *t = NULL;

	assert_int_equal(svmigd_tpm_open(verifier->tcti, &t), 0);
	assert_int_equal(svmigd_tpm_make_credential(t, ek->pub, ek->pub_len,
						    name, secret, c), 0);
	svmigd_tpm_close(t);
}

static int activate(const struct swtpm *prover, const struct svmigd_tpm_cred *c,
		    uint8_t secret[32])
{
	struct svmigd_tpm *t = NULL;
	int ret;

	assert_int_equal(svmigd_tpm_open(prover->tcti, &t), 0);
	ret = svmigd_tpm_activate(t, c, secret);
	svmigd_tpm_close(t);
	return ret;
}

/*
 * m1 (the verifier) makes a credential for m2's EK and m2's AK: m2 gets
 * the secret back.  For another AK name (m1's AK: a key m2 has not
 * loaded, as a software AK would be), another EK or an altered blob, m2
 * cannot.
 */
static void test_credential_activation(void **state)
{
	struct svmigd_tpm_ek ek1, ek2;
	struct svmigd_tpm_ak ak1, ak2;
	struct svmigd_tpm_cred c;
	uint8_t name[SVMIGD_TPM_NAME_LEN], secret[32], got[32];
	size_t i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	for (i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(0xa5 ^ (i * 13));
	get_ek(&tpm_m1, &ek1);
	get_ek(&tpm_m2, &ek2);
	get_ak(&tpm_m1, &ak1);
	get_ak(&tpm_m2, &ak2);
	ak_name(&ak2, name);
	make_cred(&tpm_m1, &ek2, name, secret, &c);
	assert_true(c.blob_len > 32 && c.secret_len > 256);
	memset(got, 0, sizeof(got));
	assert_int_equal(activate(&tpm_m2, &c, got), 0);
	assert_memory_equal(got, secret, sizeof(secret));
	/* m2 holds the EK, but its AK is not the object named */
	ak_name(&ak1, name);
	make_cred(&tpm_m1, &ek2, name, secret, &c);
	assert_int_equal(activate(&tpm_m2, &c, got), SVMIGD_TPM_ETPM);
	/* the right AK name, but for m1's EK */
	ak_name(&ak2, name);
	make_cred(&tpm_m1, &ek1, name, secret, &c);
	assert_int_equal(activate(&tpm_m2, &c, got), SVMIGD_TPM_ETPM);
	/* a blob altered in transit */
	make_cred(&tpm_m1, &ek2, name, secret, &c);
	c.blob[c.blob_len - 1] ^= 1;
	assert_int_equal(activate(&tpm_m2, &c, got), SVMIGD_TPM_ETPM);
	c.blob_len--;
	assert_int_equal(activate(&tpm_m2, &c, got), SVMIGD_TPM_EINVAL);
	/* no EK shape: refused before the TPM */
	assert_int_equal(svmigd_tpm_make_credential(NULL, ek2.pub, ek2.pub_len,
						    name, secret, &c),
			 SVMIGD_TPM_EINVAL);
}

/* A TPM never manufactured has no EK certificate. */
static void test_ek_absent(void **state)
{
	struct svmigd_tpm *t = NULL;
	struct svmigd_tpm_ek ek;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	assert_int_equal(svmigd_tpm_open(tpm_bare.tcti, &t), 0);
	assert_int_equal(svmigd_tpm_ek(t, &ek), SVMIGD_TPM_ETPM);
	assert_non_null(strstr(svmigd_tpm_last_error(t), "EK certificate"));
	svmigd_tpm_close(t);
}

static int setup(void **state)
{
	const char *bin = swtpm_binary();
	char m1[96], m2[96], setup_bin[PATH_MAX];

	(void)state;
	if (setenv("TSS2_LOG", "all+NONE", 1))
		return -1;
	if (!bin)
		return 0;
	if (snprintf(setup_bin, sizeof(setup_bin), "%s_setup", bin) >=
	    (int)sizeof(setup_bin) || access(setup_bin, X_OK) || access("/usr/bin/swtpm_localca", X_OK))
		return 0;
	snprintf(cadir, sizeof(cadir), "/tmp/svmig-ekca-XXXXXX");
	if (!mkdtemp(cadir))
		return -1;
	snprintf(m1, sizeof(m1), "%s/m1", cadir);
	snprintf(m2, sizeof(m2), "%s/m2", cadir);
	snprintf(root1, sizeof(root1), "%s/swtpm-localca-rootca-cert.pem", m1);
	snprintf(issuer1, sizeof(issuer1), "%s/issuercert.pem", m1);
	snprintf(issuer2, sizeof(issuer2), "%s/issuercert.pem", m2);
	if (swtpm_start_ek(&tpm_m1, bin, m1))
		return -1;
	if (swtpm_start_ek(&tpm_m2, bin, m2) || swtpm_start(&tpm_bare, bin)) {
		swtpm_stop(&tpm_m1);
		swtpm_stop(&tpm_m2);
		return -1;
	}
	have_swtpm = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	swtpm_stop(&tpm_m1);
	swtpm_stop(&tpm_m2);
	swtpm_stop(&tpm_bare);
	if (cadir[0]) {
		char sub[96];

		snprintf(sub, sizeof(sub), "%s/m1", cadir);
		test_rmdir(sub);
		snprintf(sub, sizeof(sub), "%s/m2", cadir);
		test_rmdir(sub);
		test_rmdir(cadir);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ek_verifies),
		cmocka_unit_test(test_ek_unlisted_ca),
		cmocka_unit_test(test_ek_refused),
		cmocka_unit_test(test_ek_absent),
		cmocka_unit_test(test_credential_activation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
