// SPDX-License-Identifier: GPL-2.0
/*
 * The policy bound to the TPM (userspace/svmigd/policy_nv.c), on a real
 * swtpm: a binding of the authority key and an NV counter; a newer policy
 * serial advances the counter, an older one is refused (also after a
 * "restore": the counter lives in the TPM, not on the disk), a serial
 * jumping too far and another authority are refused, the binding cannot
 * be made twice, indexes of the wrong shape are refused, and the counter
 * cannot be undefined without the owner authorization.
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

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "swtpm.h"
#include "policy.h"
#include "policy_nv.h"
#include "tpm.h"

#define BIND	0x01500100u
#define COUNTER	0x01500101u

static struct swtpm tpm;
static int have_swtpm;

#define SKIP_WITHOUT_SWTPM()	do { if (!have_swtpm) skip(); } while (0)

static struct svmigd_tpm *open_tpm(void)
{
	struct svmigd_tpm *t = NULL;

	assert_int_equal(svmigd_tpm_open(tpm.tcti, &t), 0);
	return t;
}

/* A policy as svmigd_policy_load() would give it: only what is enforced. */
static struct svmigd_policy *policy(uint64_t serial, uint8_t authority)
{
	struct svmigd_policy *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->serial = serial;
	memset(p->authority_sha256, authority, SVMIGD_SHA256_LEN);
	return p;
}

static int enforce(uint64_t serial, uint8_t authority, bool ro,
		   struct svmigd_policy_nv *nv, char *err, size_t errlen)
{
	struct svmigd_policy *p = policy(serial, authority);
	struct svmigd_tpm *t = open_tpm();
	int ret;

	ret = svmigd_policy_nv_enforce(t, BIND, p, ro, nv, err, errlen);
	svmigd_tpm_close(t);
	svmigd_policy_free(p);
	return ret;
}

static void test_bind_and_advance(void **state)
{
	uint8_t auth[SVMIGD_SHA256_LEN];
	struct svmigd_policy_nv nv;
	struct svmigd_tpm *t;
	char err[512];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	memset(auth, 0xa5, sizeof(auth));
	t = open_tpm();
	assert_int_equal(svmigd_policy_nv_bind(t, BIND, COUNTER, auth, NULL, &nv,
					       err, sizeof(err)), 0);
	assert_memory_equal(nv.authority_sha256, auth, sizeof(auth));
	assert_int_equal(nv.counter_index, COUNTER);
	assert_int_equal(nv.highest, 0);
	/* a second bind: refused, the binding is locked */
	assert_int_equal(svmigd_policy_nv_bind(t, BIND, COUNTER, auth, NULL, &nv,
					       err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "bound already"));
	svmigd_tpm_close(t);

	/* serial 3 advances the counter to 3, and again is fine */
	assert_int_equal(enforce(3, 0xa5, false, &nv, err, sizeof(err)), 0);
	assert_int_equal(nv.highest, 3);
	assert_int_equal(nv.counter, nv.base + 3);
	assert_int_equal(enforce(3, 0xa5, false, &nv, err, sizeof(err)), 0);
	assert_int_equal(nv.highest, 3);
	/* read-only (svmigd --check-config): checked, not advanced */
	assert_int_equal(enforce(5, 0xa5, true, &nv, err, sizeof(err)), 0);
	assert_int_equal(nv.highest, 3);
	/* serial 2 after 3: rolled back, refused */
	assert_int_equal(enforce(2, 0xa5, false, &nv, err, sizeof(err)), -ESTALE);
	assert_non_null(strstr(err, "policy serial 2 is older than serial 3"));
	/* another authority's policy */
	assert_int_equal(enforce(4, 0x5a, false, &nv, err, sizeof(err)),
			 -EKEYREJECTED);
	assert_non_null(strstr(err, "authority other than the one bound"));
	/* a jump of more than SVMIGD_POLICY_NV_STEP_MAX */
	assert_int_equal(enforce(3 + SVMIGD_POLICY_NV_STEP_MAX + 1, 0xa5, false,
				 &nv, err, sizeof(err)), -E2BIG);
	/* a fresh context (svmigd restarted, its disk restored): still 3 */
	t = open_tpm();
	assert_int_equal(svmigd_policy_nv_read(t, BIND, &nv, err, sizeof(err)), 0);
	svmigd_tpm_close(t);
	assert_int_equal(nv.highest, 3);
	assert_int_equal(enforce(1, 0xa5, false, &nv, err, sizeof(err)), -ESTALE);
	assert_int_equal(enforce(4, 0xa5, false, &nv, err, sizeof(err)), 0);
	assert_int_equal(nv.highest, 4);
}

/* Without the owner authorization (here: a wrong one) nothing is undone. */
static void test_counter_stays(void **state)
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *esys = NULL;
	ESYS_TR h = ESYS_TR_NONE, owner = ESYS_TR_RH_OWNER;
	TPM2B_AUTH wrong = { .size = 5, .buffer = "wrong" };
	const TPM2B_AUTH none = { 0 };
	struct svmigd_policy_nv nv;
	char err[512];
	TSS2_RC rc;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	assert_int_equal(Tss2_TctiLdr_Initialize(tpm.tcti, &tcti), 0);
	assert_int_equal(Esys_Initialize(&esys, tcti, NULL), 0);
	/* the owner gets a password the attacker does not know */
	assert_int_equal(Esys_HierarchyChangeAuth(esys, owner, ESYS_TR_PASSWORD,
						  ESYS_TR_NONE, ESYS_TR_NONE,
						  &(TPM2B_AUTH){ .size = 3, .buffer = "own" }), 0);
	assert_int_equal(Esys_TR_SetAuth(esys, owner, &wrong), 0);
	assert_int_equal(Esys_TR_FromTPMPublic(esys, COUNTER, ESYS_TR_NONE,
					       ESYS_TR_NONE, ESYS_TR_NONE, &h), 0);
	rc = Esys_NV_UndefineSpace(esys, owner, h, ESYS_TR_PASSWORD,
				   ESYS_TR_NONE, ESYS_TR_NONE);
	assert_int_not_equal(rc, TSS2_RC_SUCCESS);
	Esys_TR_Close(esys, &h);
	/* back to an empty owner password for the other tests */
	assert_int_equal(Esys_TR_SetAuth(esys, owner,
					 &(TPM2B_AUTH){ .size = 3, .buffer = "own" }), 0);
	assert_int_equal(Esys_HierarchyChangeAuth(esys, owner, ESYS_TR_PASSWORD,
						  ESYS_TR_NONE, ESYS_TR_NONE,
						  &none), 0);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tcti);
	assert_int_equal(enforce(1, 0xa5, false, &nv, err, sizeof(err)), -ESTALE);
}

static void test_wrong_indexes(void **state)
{
	uint8_t auth[SVMIGD_SHA256_LEN] = { 1 };
	struct svmigd_policy_nv nv;
	struct svmigd_tpm *t;
	char err[512];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	t = open_tpm();
	/* not defined */
	assert_int_equal(svmigd_policy_nv_read(t, 0x01500110u, &nv, err,
					       sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "not defined"));
	/* a 32-byte authority binding is not a policy binding */
	assert_int_equal(svmigd_tpm_nv_bind(t, 0x01500111u, auth, NULL), 0);
	assert_int_equal(svmigd_policy_nv_read(t, 0x01500111u, &nv, err,
					       sizeof(err)), -EBADE);
	/* nor a counter */
	assert_int_equal(svmigd_policy_nv_bind(t, 0x01500112u, 0x01500111u, auth,
					       NULL, &nv, err, sizeof(err)),
			 -EBADE);
	assert_non_null(strstr(err, "not an svmig policy counter"));
	/* the policy counter is not a binding either */
	assert_int_equal(svmigd_policy_nv_read(t, COUNTER, &nv, err,
					       sizeof(err)), -EBADE);
	/* arguments */
	assert_int_equal(svmigd_policy_nv_bind(t, 0x81000000u, COUNTER, auth,
					       NULL, &nv, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(svmigd_policy_nv_bind(t, BIND, BIND, auth, NULL, &nv,
					       err, sizeof(err)), -EINVAL);
	svmigd_tpm_close(t);
}

static int setup(void **state)
{
	const char *bin = swtpm_binary();

	(void)state;
	if (setenv("TSS2_LOG", "all+NONE", 1))
		return -1;
	if (!bin)
		return 0;
	if (swtpm_start(&tpm, bin))
		return -1;
	have_swtpm = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (have_swtpm)
		swtpm_stop(&tpm);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_and_advance),
		cmocka_unit_test(test_counter_stays),
		cmocka_unit_test(test_wrong_indexes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
