// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of AK provenance as the protocol runs it
 * (userspace/svmigd/credential.c, policy_ek.c): two swtpm TPMs
 * manufactured by swtpm_setup, each with an RSA EK certificate from a
 * swtpm_localca CA of its own ("manufacturer" m1 and m2); m1 is the
 * verifier, m2 the prover.
 *
 * - the policy's "ek_cas": PEM texts parsed, malformed ones refused;
 * - ATTEST's EK: m2's certified EK accepted against m2's CA (global or
 *   per host), refused against m1's CA only (an unlisted manufacturer),
 *   refused when the policy names no CA, refused for m1's certificate
 *   with m2's EK;
 * - CHALLENGE/ACTIVATED: m1 challenges m2's AK under m2's EK, m2
 *   activates it and the proof verifies; a software AK (a public area
 *   claiming every AK attribute, key made by OpenSSL) and m1's AK (not
 *   in m2) under m2's EK cannot be activated by m2; an ACTIVATED replayed
 *   into a later challenge, a proof made on another TLS connection
 *   (relayed) and a second answer to one challenge are refused;
 *   malformed messages are refused as such.
 * Skipped without swtpm, swtpm_setup and swtpm_localca.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "akpub.h"
#include "swtpm.h"
#include "credential.h"
#include "msg.h"
#include "policy.h"
#include "tpm.h"

static struct swtpm tpm_m1, tpm_m2;
static struct svmigd_tpm *t1, *t2;	/* verifier, prover */
static char cadir[64];
static char *pem1, *pem2;	/* issuing CAs of m1, m2 */
static int have_swtpm;

#define SKIP_WITHOUT_SWTPM()	do { if (!have_swtpm) skip(); } while (0)

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n = 0;

	if (f && buf)
		n = fread(buf, 1, 65535, f);
	if (f)
		fclose(f);
	if (!n) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* An ATTEST carrying @t's EK (what svmigd_cred_add_ek puts in). */
static struct json_object *attest_of(struct svmigd_tpm *t)
{
	struct json_object *m = svmig_msg_new(SVMIG_MSG_ATTEST);
	char why[256];

	assert_non_null(m);
	assert_int_equal(svmigd_cred_add_ek(t, m, why, sizeof(why)), 0);
	return m;
}

/* A policy with the CAs @global (may be NULL) and host-b's @host. */
struct pol {
	struct svmigd_policy p;
	struct svmigd_policy_host h;
	char *g[1], *hh[1];
};

static void pol_make(struct pol *p, char *global, char *host)
{
	memset(p, 0, sizeof(*p));
	p->h.name = (char *)"host-b";
	p->g[0] = global;
	p->hh[0] = host;
	if (global) {
		p->p.ek_cas.pem = p->g;
		p->p.ek_cas.n = 1;
	}
	if (host) {
		p->h.ek_cas.pem = p->hh;
		p->h.ek_cas.n = 1;
	}
}

static void test_policy_ek_cas(void **state)
{
	struct svmigd_ek_cas c;
	struct json_object *a;
	char err[256], *two;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string(pem1));
	json_object_array_add(a, json_object_new_string(pem2));
	assert_int_equal(svmigd_policy_ek_cas_parse(a, "p.json", "ek_cas", &c,
						    err, sizeof(err)), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.pem[1], pem2);
	svmigd_policy_ek_cas_free(&c);
	json_object_put(a);
	/* two certificates in one string, not PEM, empty, not an array */
	two = malloc(strlen(pem1) + strlen(pem2) + 1);
	assert_non_null(two);
	strcpy(two, pem1);
	strcat(two, pem2);
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string(two));
	assert_int_equal(svmigd_policy_ek_cas_parse(a, "p.json", "ek_cas", &c,
						    err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "p.json: ek_cas: 0: expected one PEM X.509 certificate (at most 16384 bytes)");
	json_object_put(a);
	free(two);
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string(pem1));
	json_object_array_add(a, json_object_new_string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
	assert_int_equal(svmigd_policy_ek_cas_parse(a, "p.json", "hosts.host-b.ek_cas",
						    &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "hosts.host-b.ek_cas: 1: expected one PEM"));
	assert_null(c.pem);
	json_object_put(a);
	a = json_object_new_array();
	assert_int_equal(svmigd_policy_ek_cas_parse(a, "p.json", "ek_cas", &c,
						    err, sizeof(err)), -EINVAL);
	json_object_put(a);
	a = json_object_new_string(pem1);
	assert_int_equal(svmigd_policy_ek_cas_parse(a, "p.json", "ek_cas", &c,
						    err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "p.json: ek_cas: expected an array");
	json_object_put(a);
}

static void test_ek_certified(void **state)
{
	struct json_object *m = NULL;
	struct svmigd_cred_peer peer;
	struct pol p;
	char why[256];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	m = attest_of(t2);
	/* global list */
	pol_make(&p, pem2, NULL);
	assert_int_equal(svmigd_cred_check_ek(m, &p.p, &p.h, &peer, why,
					      sizeof(why)), 0);
	assert_true(peer.ek_ok);
	/* the host's own list replaces the global one */
	pol_make(&p, pem1, pem2);
	assert_int_equal(svmigd_cred_check_ek(m, &p.p, &p.h, &peer, why,
					      sizeof(why)), 0);
	json_object_put(m);
}

static void test_ek_unknown_ca(void **state)
{
	struct json_object *m, *m1;
	struct svmigd_cred_peer peer;
	struct pol p;
	char why[256];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	m = attest_of(t2);
	pol_make(&p, pem1, NULL);
	assert_int_equal(svmigd_cred_check_ek(m, &p.p, &p.h, &peer, why,
					      sizeof(why)), -EACCES);
	assert_false(peer.ek_ok);
	assert_non_null(strstr(why, "the EK certificate does not chain to a listed manufacturer CA"));
	assert_non_null(strstr(why, "; refused"));
	/* the host's list (m1) overrides the global one (m2) */
	pol_make(&p, pem2, pem1);
	assert_int_equal(svmigd_cred_check_ek(m, &p.p, &p.h, &peer, why,
					      sizeof(why)), -EACCES);
	/* no CA at all */
	pol_make(&p, NULL, NULL);
	assert_int_equal(svmigd_cred_check_ek(m, &p.p, &p.h, &peer, why,
					      sizeof(why)), -EACCES);
	assert_string_equal(why, "the policy names no manufacturer CA (ek_cas) for host-b: its EK, hence its AK, cannot be trusted; refused");
	/* m1's certified EK certificate, m2's EK */
	m1 = attest_of(t1);
	json_object_object_add(m, "ek_cert",
			       json_object_get(json_object_object_get(m1, "ek_cert")));
	pol_make(&p, pem1, NULL);
	assert_int_equal(svmigd_cred_check_ek(m, &p.p, &p.h, &peer, why,
					      sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "not this TPM's EK"));
	/* malformed */
	json_object_object_add(m, "ek", json_object_new_string("zz"));
	assert_int_equal(svmigd_cred_check_ek(m, &p.p, &p.h, &peer, why,
					      sizeof(why)), -EPROTO);
	assert_string_equal(why, "malformed ATTEST message: field \"ek\"");
	json_object_put(m1);
	json_object_put(m);
}

static const uint8_t e_a[SVMIGD_CRED_E_LEN] = { 0xaa, 1, 2, 3 };
static const uint8_t e_b[SVMIGD_CRED_E_LEN] = { 0xbb, 1, 2, 3 };

/* m1 verifies m2's EK; returns its state. */
static void peer_of_m2(struct svmigd_cred_peer *peer)
{
	struct json_object *m = attest_of(t2);
	struct pol p;
	char why[256];

	pol_make(&p, pem2, NULL);
	assert_int_equal(svmigd_cred_check_ek(m, &p.p, &p.h, peer, why,
					      sizeof(why)), 0);
	json_object_put(m);
}

static void test_round(void **state)
{
	struct json_object *chal = NULL, *act = NULL;
	struct svmigd_cred_peer peer;
	struct svmigd_tpm_ak ak2;
	char why[256];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	assert_int_equal(svmigd_tpm_ak(t2, &ak2), 0);
	peer_of_m2(&peer);
	assert_int_equal(svmigd_cred_challenge(t1, &peer, ak2.pub, ak2.pub_len,
					       e_a, &chal, why, sizeof(why)), 0);
	assert_string_equal(svmig_msg_type(chal), "CHALLENGE");
	assert_int_equal(svmigd_cred_activate(t2, &ak2, e_a, chal, &act, why,
					      sizeof(why)), 0);
	assert_string_equal(svmig_msg_type(act), "ACTIVATED");
	assert_int_equal(svmigd_cred_verify(&peer, act, why, sizeof(why)), 0);
	/* the same answer again: one answer per challenge */
	assert_int_equal(svmigd_cred_verify(&peer, act, why, sizeof(why)),
			 -EACCES);
	json_object_put(act);
	json_object_put(chal);
}

/* A software key's public area, claiming all an AK's attributes. */
static void test_software_ak(void **state)
{
	struct json_object *chal = NULL, *act = NULL;
	struct svmigd_cred_peer peer;
	struct svmigd_tpm_ak soft, ak2;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	char why[256];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	assert_non_null(k);
	memset(&soft, 0, sizeof(soft));
	assert_int_equal(akpub_of(k, AKPUB_ATTRS, soft.pub, sizeof(soft.pub),
				  &soft.pub_len), 0);
	EVP_PKEY_free(k);
	/* its public area passes every check of the AK's shape */
	assert_int_equal(svmigd_tpm_ak_check(soft.pub, soft.pub_len, NULL,
					     why, sizeof(why)), 0);
	peer_of_m2(&peer);
	assert_int_equal(svmigd_cred_challenge(t1, &peer, soft.pub,
					       soft.pub_len, e_a, &chal, why,
					       sizeof(why)), 0);
	/* m2 holds the EK, but no key of that Name */
	assert_int_equal(svmigd_cred_activate(t2, &soft, e_a, chal, &act, why,
					      sizeof(why)), -EACCES);
	assert_null(act);
	assert_non_null(strstr(why, "credential activation failed: this host's TPM cannot activate the credential"));
	/* nor does it with its own AK in the proof */
	assert_int_equal(svmigd_tpm_ak(t2, &ak2), 0);
	assert_int_equal(svmigd_cred_activate(t2, &ak2, e_a, chal, &act, why,
					      sizeof(why)), -EACCES);
	/* a guessed proof */
	act = svmig_msg_new(SVMIG_MSG_ACTIVATED);
	svmig_msg_add_hex(act, "proof", e_a, sizeof(e_a));
	assert_int_equal(svmigd_cred_verify(&peer, act, why, sizeof(why)),
			 -EACCES);
	assert_non_null(strstr(why, "the credential activation proof is wrong"));
	json_object_put(act);
	json_object_put(chal);
}

/* m1's AK (a real TPM's) presented with m2's certified EK. */
static void test_ak_of_another_tpm(void **state)
{
	struct json_object *chal = NULL, *act = NULL;
	struct svmigd_cred_peer peer;
	struct svmigd_tpm_ak ak1;
	char why[256];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	assert_int_equal(svmigd_tpm_ak(t1, &ak1), 0);
	peer_of_m2(&peer);
	assert_int_equal(svmigd_cred_challenge(t1, &peer, ak1.pub, ak1.pub_len,
					       e_a, &chal, why, sizeof(why)), 0);
	/* not m2 (no such AK), nor m1 (not its EK) */
	assert_int_equal(svmigd_cred_activate(t2, &ak1, e_a, chal, &act, why,
					      sizeof(why)), -EACCES);
	assert_int_equal(svmigd_cred_activate(t1, &ak1, e_a, chal, &act, why,
					      sizeof(why)), -EACCES);
	assert_null(act);
	json_object_put(chal);
}

/* An answer from an earlier round, or made for another connection. */
static void test_replay_relay(void **state)
{
	struct json_object *chal = NULL, *act = NULL, *old = NULL;
	struct svmigd_cred_peer peer;
	struct svmigd_tpm_ak ak2;
	char why[256];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	assert_int_equal(svmigd_tpm_ak(t2, &ak2), 0);
	peer_of_m2(&peer);
	/* round 1 on connection A, answered honestly */
	assert_int_equal(svmigd_cred_challenge(t1, &peer, ak2.pub, ak2.pub_len,
					       e_a, &chal, why, sizeof(why)), 0);
	assert_int_equal(svmigd_cred_activate(t2, &ak2, e_a, chal, &old, why,
					      sizeof(why)), 0);
	json_object_put(chal);
	/* round 2 on connection A: the old answer replayed */
	assert_int_equal(svmigd_cred_challenge(t1, &peer, ak2.pub, ak2.pub_len,
					       e_a, &chal, why, sizeof(why)), 0);
	assert_int_equal(svmigd_cred_verify(&peer, old, why, sizeof(why)),
			 -EACCES);
	json_object_put(chal);
	/*
	 * round 3: a man in the middle relays the CHALLENGE of connection A
	 * to the real host over his own connection B; its proof is B's
	 */
	assert_int_equal(svmigd_cred_challenge(t1, &peer, ak2.pub, ak2.pub_len,
					       e_a, &chal, why, sizeof(why)), 0);
	assert_int_equal(svmigd_cred_activate(t2, &ak2, e_b, chal, &act, why,
					      sizeof(why)), 0);
	assert_int_equal(svmigd_cred_verify(&peer, act, why, sizeof(why)),
			 -EACCES);
	assert_non_null(strstr(why, "another connection"));
	json_object_put(act);
	json_object_put(chal);
	json_object_put(old);
}

static void test_malformed(void **state)
{
	struct json_object *chal = NULL, *act = NULL;
	struct svmigd_cred_peer peer;
	struct svmigd_tpm_ak ak2;
	char why[256];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	assert_int_equal(svmigd_tpm_ak(t2, &ak2), 0);
	/* no verified EK: no challenge */
	memset(&peer, 0, sizeof(peer));
	assert_int_equal(svmigd_cred_challenge(t1, &peer, ak2.pub, ak2.pub_len,
					       e_a, &chal, why, sizeof(why)),
			 -EACCES);
	peer_of_m2(&peer);
	assert_int_equal(svmigd_cred_challenge(t1, &peer, ak2.pub, ak2.pub_len,
					       e_a, &chal, why, sizeof(why)), 0);
	json_object_object_add(chal, "extra", json_object_new_int(1));
	assert_int_equal(svmigd_cred_activate(t2, &ak2, e_a, chal, &act, why,
					      sizeof(why)), -EPROTO);
	assert_string_equal(why, "malformed CHALLENGE message: unknown fields");
	json_object_object_del(chal, "extra");
	json_object_object_add(chal, "blob", json_object_new_string("00"));
	assert_int_equal(svmigd_cred_activate(t2, &ak2, e_a, chal, &act, why,
					      sizeof(why)), -EPROTO);
	json_object_object_del(chal, "secret");
	assert_int_equal(svmigd_cred_activate(t2, &ak2, e_a, chal, &act, why,
					      sizeof(why)), -EPROTO);
	assert_string_equal(why, "malformed CHALLENGE message: field \"secret\"");
	act = svmig_msg_new(SVMIG_MSG_ACTIVATED);
	svmig_msg_add_hex(act, "proof", e_a, 31);
	assert_int_equal(svmigd_cred_verify(&peer, act, why, sizeof(why)),
			 -EPROTO);
	assert_string_equal(why, "malformed ACTIVATED message: field \"proof\"");
	json_object_put(act);
	json_object_put(chal);
}

static int setup(void **state)
{
	const char *bin = swtpm_binary();
	char m1[96], m2[96], path[160], setup_bin[PATH_MAX];

	(void)state;
	if (setenv("TSS2_LOG", "all+NONE", 1))
		return -1;
	if (!bin)
		return 0;
	if (snprintf(setup_bin, sizeof(setup_bin), "%s_setup", bin) >=
	    (int)sizeof(setup_bin) || access(setup_bin, X_OK) ||
	    access("/usr/bin/swtpm_localca", X_OK))
		return 0;
	snprintf(cadir, sizeof(cadir), "/tmp/svmig-credca-XXXXXX");
	if (!mkdtemp(cadir))
		return -1;
	snprintf(m1, sizeof(m1), "%s/m1", cadir);
	snprintf(m2, sizeof(m2), "%s/m2", cadir);
	if (swtpm_start_ek(&tpm_m1, bin, m1))
		return -1;
	if (swtpm_start_ek(&tpm_m2, bin, m2)) {
		swtpm_stop(&tpm_m1);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/issuercert.pem", m1);
	pem1 = slurp(path);
	snprintf(path, sizeof(path), "%s/issuercert.pem", m2);
	pem2 = slurp(path);
	if (!pem1 || !pem2 || svmigd_tpm_open(tpm_m1.tcti, &t1) ||
	    svmigd_tpm_open(tpm_m2.tcti, &t2))
		return -1;
	have_swtpm = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	svmigd_tpm_close(t1);
	svmigd_tpm_close(t2);
	swtpm_stop(&tpm_m1);
	swtpm_stop(&tpm_m2);
	free(pem1);
	free(pem2);
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
		cmocka_unit_test(test_policy_ek_cas),
		cmocka_unit_test(test_ek_certified),
		cmocka_unit_test(test_ek_unknown_ca),
		cmocka_unit_test(test_round),
		cmocka_unit_test(test_software_ak),
		cmocka_unit_test(test_ak_of_another_tpm),
		cmocka_unit_test(test_replay_relay),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
