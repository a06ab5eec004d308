// SPDX-License-Identifier: GPL-2.0
/*
 * policy.json (userspace/svmigd/policy.c): a policy signed by the authority
 * loads and decides (allowed, and refused for each check, naming it); a
 * policy with any byte changed, a changed signature, another authority's
 * signature, a PKCS#1 v1.5 signature are refused; `openssl dgst -sign`
 * signatures (ECDSA, RSA-PSS) are accepted; invalid policies are refused
 * with the JSON path of the mistake.
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
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rsa.h>

#include "tmpdir.h"
#include "pki.h"
#include "policy.h"
#include "policy_claim.h"
#include "policy_scope.h"

enum { ALICE, BOB, DAVE, MALLORY, N_OPS };

struct pt {
	char dir[64];
	char policy[128], sig[128];
	char auth_pem[128], auth_key[128];
	char other_pem[128];
	char rsa_pem[128], rsa_key[128];
	EVP_PKEY *auth, *other, *rsa;
	uint8_t fpr[N_OPS][SVMIGD_SHA256_LEN];
	char fpr_hex[N_OPS][SVMIGD_SHA256_HEX_LEN + 1];
	char base[8192];
};

static struct pt *T;

#define HCA "cacacacacacacacacacacacacacacacacacacacacacacacacacacacacacacaca"
#define HCC "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define H07 "0707070707070707070707070707070707070707070707070707070707070707"
#define H08 "0808080808080808080808080808080808080808080808080808080808080808"

static const char policy_fmt[] =
	"{\n"
	"  \"version\": 2,\n"
	"  \"serial\": 7, \"not_after\": \"2099-01-01T00:00:00Z\",\n"
	"  \"cas\": { \"provider-a\": { \"cert_sha256\": \"" HCA "\", \"hosts\": [\"host-a\", \"host-b\"] }, \"provider-c\": { \"cert_sha256\": \"" HCC "\", \"hosts\": [\"host-c*\"] } },\n"
	"  \"hosts\": {\n"
	"    \"host-a\": { \"ak_sha256\": \"%s\",\n"
	"                \"pcrs\": { \"sha256\": { \"0\": \"%s\", \"7\": \"%s\" } },\n"
	"                \"max_mem_mib\": 4096, \"max_vcpus\": 4 },\n"
	"    \"host-b\": { \"ak_sha256\": \"%s\",\n"
	"                \"pcrs\": { \"sha256\": { \"23\": \"%s\" } },\n"
	"                \"max_mem_mib\": 8192, \"max_vcpus\": 8 },\n"
	"    \"host-c\": { \"ak_sha256\": \"%s\",\n"
	"                \"pcrs\": { \"sha256\": { \"1\": \"%s\" } },\n"
	"                \"max_mem_mib\": 1, \"max_vcpus\": 1 }\n"
	"  },\n"
	"  \"operators\": {\n"
	"    \"alice\": { \"cert_sha256\": \"%s\", \"roles\": [\"migrator\"] },\n"
	"    \"bob\": { \"cert_sha256\": \"%s\", \"roles\": [\"web-ops\", \"db-ops\"] },\n"
	"    \"dave\": { \"cert_sha256\": \"%s\", \"roles\": [] }\n"
	"  },\n"
	"  \"roles\": {\n"
	"    \"migrator\": { \"vms\": [\"web-*\"], \"sources\": [\"host-a\"],\n"
	"                  \"targets\": [\"host-b\"] },\n"
	"    \"web-ops\": { \"vms\": [\"web-?\", \"cache-[0-9]\"],\n"
	"                 \"sources\": [\"host-a\", \"host-b\"], \"targets\": [\"host-b\"] },\n"
	"    \"db-ops\": { \"vms\": [\"db-*\"], \"sources\": [\"host-b\"],\n"
	"                \"targets\": [\"host-c\"] }\n"
	"  }\n"
	"}\n";

/* 32 bytes of @b, in hex. */
static const char *hexfill(char out[SVMIGD_SHA256_HEX_LEN + 1], uint8_t b)
{
	uint8_t raw[SVMIGD_SHA256_LEN];

	memset(raw, b, sizeof(raw));
	svmigd_hex_encode(out, raw, sizeof(raw));
	return out;
}

static void path(char *out, const char *name)
{
	snprintf(out, 128, "%s/%s", T->dir, name);
}

static void write_bytes(const char *p, const void *buf, size_t len)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void sign_to(const char *sig_path, EVP_PKEY *key, const void *buf,
		    size_t len)
{
	uint8_t *sig;
	size_t siglen;

	assert_int_equal(svmigd_sign(key, buf, len, &sig, &siglen), 0);
	write_bytes(sig_path, sig, siglen);
	free(sig);
}

/* Writes @text as the policy, signed by @key. */
static void write_signed(const char *text, EVP_PKEY *key)
{
	write_bytes(T->policy, text, strlen(text));
	sign_to(T->sig, key, text, strlen(text));
}

/* The base policy with the first @from replaced by @to, into @out. */
static void variant(char *out, size_t size, const char *from, const char *to)
{
	const char *at = strstr(T->base, from);
	int n;

	if (!at)
		fail_msg("\"%s\" not in the base policy", from);
	n = snprintf(out, size, "%.*s%s%s", (int)(at - T->base), T->base, to,
		     at + strlen(from));
	assert_true(n > 0 && (size_t)n < size);
}

static X509 *make_authority(EVP_PKEY *key, const char *cn, const char *pem)
{
	X509 *cert = pki_cert(key, cn, NULL, NULL);

	assert_non_null(cert);
	assert_int_equal(pki_write_cert(pem, cert), 0);
	return cert;
}

static int group_setup(void **state)
{
	char h[8][SVMIGD_SHA256_HEX_LEN + 1];
	static const char *const cns[N_OPS] = { "alice", "bob", "dave", "mallory" };
	EVP_PKEY *ca_key, *op_key;
	X509 *ca, *cert;
	int i;

	T = calloc(1, sizeof(*T));
	assert_non_null(T);
	strcpy(T->dir, "/tmp/test_svmigd_policy.XXXXXX");
	assert_non_null(mkdtemp(T->dir));
	path(T->policy, "policy.json");
	path(T->sig, "policy.json.sig");
	path(T->auth_pem, "authority.pem");
	path(T->auth_key, "authority.key");
	path(T->other_pem, "other.pem");
	path(T->rsa_pem, "rsa.pem");
	path(T->rsa_key, "rsa.key");

	T->auth = pki_key();
	T->other = pki_key();
	T->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(T->auth);
	assert_non_null(T->other);
	assert_non_null(T->rsa);
	X509_free(make_authority(T->auth, "authority", T->auth_pem));
	X509_free(make_authority(T->other, "other", T->other_pem));
	X509_free(make_authority(T->rsa, "rsa-authority", T->rsa_pem));
	assert_int_equal(pki_write_key(T->auth_key, T->auth), 0);
	assert_int_equal(pki_write_key(T->rsa_key, T->rsa), 0);

	/* operators' certificates from their CA: only fingerprints matter */
	ca_key = pki_key();
	ca = pki_cert(ca_key, "operator-ca", NULL, NULL);
	assert_non_null(ca);
	for (i = 0; i < N_OPS; i++) {
		op_key = pki_key();
		cert = pki_cert(op_key, cns[i], ca, ca_key);
		assert_non_null(cert);
		assert_int_equal(svmigd_cert_sha256(cert, T->fpr[i]), 0);
		svmigd_hex_encode(T->fpr_hex[i], T->fpr[i], SVMIGD_SHA256_LEN);
		X509_free(cert);
		EVP_PKEY_free(op_key);
	}
	X509_free(ca);
	EVP_PKEY_free(ca_key);

	snprintf(T->base, sizeof(T->base), policy_fmt, hexfill(h[0], 0xab),
		 hexfill(h[1], 0x00), hexfill(h[2], 0x07), hexfill(h[3], 0xbb),
		 hexfill(h[4], 0x23), hexfill(h[5], 0xcc), hexfill(h[6], 0x01),
		 T->fpr_hex[ALICE], T->fpr_hex[BOB], T->fpr_hex[DAVE]);
	*state = T;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(test_rmdir(T->dir), 0);
	EVP_PKEY_free(T->auth);
	EVP_PKEY_free(T->other);
	EVP_PKEY_free(T->rsa);
	free(T);
	return 0;
}

static struct svmigd_policy *load_ok(const char *cert)
{
	struct svmigd_policy *p;
	char err[512] = "";
	int ret;

	ret = svmigd_policy_load(&p, T->policy, T->sig, cert, err, sizeof(err));
	if (ret)
		fail_msg("load: %d: %s", ret, err);
	assert_non_null(p);
	return p;
}

static void load_fails(const char *cert, int want, const char *msg)
{
	struct svmigd_policy *p = (void *)1;
	char err[512] = "";
	int ret;

	ret = svmigd_policy_load(&p, T->policy, T->sig, cert, err, sizeof(err));
	if (ret != want || !strstr(err, msg))
		fail_msg("load: %d (%d expected): \"%s\" lacks \"%s\"", ret,
			 want, err, msg);
	assert_null(p);
}

static void test_load(void **state)
{
	uint8_t h[SVMIGD_SHA256_LEN], want[SVMIGD_SHA256_LEN];
	const struct svmigd_policy_host *a, *c;
	const struct svmigd_policy_operator *op;
	const struct svmigd_policy_role *r;
	struct svmigd_policy *p;
	unsigned char *der = NULL;
	char err[256];
	int len;

	(void)state;
	write_signed(T->base, T->auth);
	p = load_ok(T->auth_pem);
	assert_int_equal(p->n_hosts, 3);
	assert_int_equal(p->n_operators, 3);
	assert_int_equal(p->n_roles, 3);
	a = svmigd_policy_host(p, "host-a");
	c = svmigd_policy_host(p, "host-c");
	assert_non_null(a);
	assert_non_null(c);
	assert_ptr_equal(a, &p->hosts[0]);
	assert_null(svmigd_policy_host(p, "host-d"));
	memset(h, 0xab, sizeof(h));
	assert_memory_equal(a->ak_sha256, h, sizeof(h));
	assert_int_equal(a->pcr_mask, 1u << 0 | 1u << 7);
	memset(h, 0x07, sizeof(h));
	assert_memory_equal(a->pcrs[7][0], h, sizeof(h));
	assert_int_equal(a->n_pcr_values[7], 1);
	memset(h, 0x00, sizeof(h));
	assert_memory_equal(a->pcrs[0][0], h, sizeof(h));
	assert_int_equal(a->max_mem_mib, 4096);
	assert_int_equal(a->max_vcpus, 4);
	assert_int_equal(svmigd_policy_host(p, "host-b")->pcr_mask, 1u << 23);
	assert_int_equal(c->pcr_mask, 1u << 1);
	op = svmigd_policy_operator(p, T->fpr[BOB]);
	assert_non_null(op);
	assert_string_equal(op->name, "bob");
	assert_int_equal(op->n_roles, 2);
	assert_string_equal(op->roles[1], "db-ops");
	assert_null(svmigd_policy_operator(p, T->fpr[MALLORY]));
	r = svmigd_policy_role(p, "web-ops");
	assert_non_null(r);
	assert_int_equal(r->n_vms, 2);
	assert_string_equal(r->vms[1], "cache-[0-9]");
	assert_int_equal(r->n_sources, 2);
	assert_string_equal(r->targets[0], "host-b");

	/* the digests: of the file, and of the authority's SPKI */
	assert_int_equal(svmigd_sha256(T->base, strlen(T->base), h), 0);
	assert_memory_equal(p->sha256, h, sizeof(h));
	len = i2d_PUBKEY(T->auth, &der);
	assert_true(len > 0);
	assert_int_equal(svmigd_sha256(der, (size_t)len, want), 0);
	OPENSSL_free(der);
	assert_memory_equal(p->authority_sha256, want, sizeof(want));
	assert_int_equal(svmigd_authority_sha256(T->auth_pem, h, err,
						 sizeof(err)), 0);
	assert_memory_equal(h, want, sizeof(want));
	assert_int_equal(svmigd_authority_sha256(T->other_pem, h, err,
						 sizeof(err)), 0);
	assert_memory_not_equal(h, want, sizeof(want));
	svmigd_policy_free(p);
}

struct decision {
	int op;
	const char *vm, *source, *target;
	enum svmigd_policy_check check;
	const char *role;
	const char *reason;
};

static const struct decision decisions[] = {
	{ ALICE, "web-1", "host-a", "host-b", SVMIGD_POLICY_ALLOWED, "migrator",
	  "allowed by role migrator of operator alice" },
	{ ALICE, "web-frontend-2", "host-a", "host-b", SVMIGD_POLICY_ALLOWED,
	  "migrator", "allowed by role migrator of operator alice" },
	{ BOB, "cache-3", "host-b", "host-b", SVMIGD_POLICY_ALLOWED, "web-ops",
	  "allowed by role web-ops of operator bob" },
	{ BOB, "db-1", "host-b", "host-c", SVMIGD_POLICY_ALLOWED, "db-ops",
	  "allowed by role db-ops of operator bob" },
	{ MALLORY, "web-1", "host-a", "host-b", SVMIGD_POLICY_OPERATOR, NULL,
	  "operator not enrolled" },
	{ ALICE, "web-1", "host-x", "host-b", SVMIGD_POLICY_SOURCE_HOST, NULL,
	  "host unknown: source host-x" },
	{ ALICE, "web-1", "host-a", "host-x", SVMIGD_POLICY_TARGET_HOST, NULL,
	  "host unknown: target host-x" },
	{ DAVE, "web-1", "host-a", "host-b", SVMIGD_POLICY_NO_ROLE, NULL,
	  "operator dave has no role" },
	{ ALICE, "db-1", "host-a", "host-b", SVMIGD_POLICY_VM, "migrator",
	  "role migrator does not allow vm db-1" },
	{ ALICE, "Web-1", "host-a", "host-b", SVMIGD_POLICY_VM, "migrator",
	  "role migrator does not allow vm Web-1" },
	{ ALICE, "web-1", "host-b", "host-b", SVMIGD_POLICY_SOURCE, "migrator",
	  "role migrator does not allow source host-b" },
	{ ALICE, "web-1", "host-a", "host-c", SVMIGD_POLICY_TARGET, "migrator",
	  "role migrator does not allow target host-c" },
	/* bob: the role that came closest is named */
	{ BOB, "web-12", "host-a", "host-b", SVMIGD_POLICY_VM, "web-ops",
	  "role web-ops does not allow vm web-12" },
	{ BOB, "db-1", "host-a", "host-c", SVMIGD_POLICY_SOURCE, "db-ops",
	  "role db-ops does not allow source host-a" },
	{ BOB, "web-1", "host-a", "host-c", SVMIGD_POLICY_TARGET, "web-ops",
	  "role web-ops does not allow target host-c" },
};

static void test_decide(void **state)
{
	const struct decision *x;
	struct svmigd_policy_decision d;
	struct svmigd_policy *p;
	size_t i;
	int ret;

	(void)state;
	write_signed(T->base, T->auth);
	p = load_ok(T->auth_pem);
	for (i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++) {
		x = &decisions[i];
		ret = svmigd_policy_decide(p, T->fpr[x->op], x->vm, x->source,
					   x->target, &d);
		if (ret != (x->check ? -EACCES : 0) || d.check != x->check ||
		    strcmp(d.reason, x->reason))
			fail_msg("case %zu: %d, check %d, \"%s\"", i, ret,
				 d.check, d.reason);
		if (x->role)
			assert_string_equal(d.role, x->role);
		else
			assert_null(d.role);
		if (x->op == MALLORY)
			assert_null(d.operator);
		else
			assert_non_null(d.operator);
	}
	svmigd_policy_free(p);
}

/* Any byte of the policy changed, or one added or cut: refused. */
static void test_tampered_policy(void **state)
{
	size_t len = strlen(T->base), i;
	char *copy = malloc(len + 2);
	struct svmigd_policy *p;
	char err[512];
	int ret;

	(void)state;
	assert_non_null(copy);
	write_signed(T->base, T->auth);
	for (i = 0; i < len; i++) {
		memcpy(copy, T->base, len);
		copy[i] ^= (i & 1) ? 0x01 : 0x20;
		write_bytes(T->policy, copy, len);
		ret = svmigd_policy_load(&p, T->policy, T->sig, T->auth_pem,
					 err, sizeof(err));
		if (ret != -EBADMSG || !strstr(err, "does not verify"))
			fail_msg("byte %zu: %d: %s", i, ret, err);
		assert_null(p);
	}
	memcpy(copy, T->base, len);
	copy[len] = '\n';
	write_bytes(T->policy, copy, len + 1);
	load_fails(T->auth_pem, -EBADMSG, "does not verify");
	write_bytes(T->policy, copy, len - 1);
	load_fails(T->auth_pem, -EBADMSG, "does not verify");
	free(copy);
}

/* Any byte of the signature changed, or cut, or none: refused. */
static void test_tampered_signature(void **state)
{
	const char *text = T->base;
	uint8_t *sig;
	size_t siglen, i;

	(void)state;
	write_bytes(T->policy, text, strlen(text));
	assert_int_equal(svmigd_sign(T->auth, text, strlen(text), &sig,
				     &siglen), 0);
	for (i = 0; i < siglen; i++) {
		sig[i] ^= 0x10;
		write_bytes(T->sig, sig, siglen);
		load_fails(T->auth_pem, -EBADMSG, "does not verify");
		sig[i] ^= 0x10;
	}
	write_bytes(T->sig, sig, siglen - 1);
	load_fails(T->auth_pem, -EBADMSG, "does not verify");
	write_bytes(T->sig, sig, 0);
	load_fails(T->auth_pem, -EBADMSG, "does not verify");
	free(sig);
	unlink(T->sig);
	load_fails(T->auth_pem, -ENOENT, "policy.json.sig: No such file");
}

static void test_wrong_authority(void **state)
{
	(void)state;
	/* signed by another key, checked with the authority's */
	write_signed(T->base, T->other);
	load_fails(T->auth_pem, -EBADMSG,
		   "does not verify with the policy authority's key");
	/* good signature, but the configured authority is another */
	write_signed(T->base, T->auth);
	load_fails(T->other_pem, -EBADMSG, "does not verify");
	load_fails(T->rsa_pem, -EBADMSG, "does not verify");
	load_fails(T->policy, -EINVAL, "no PEM certificate");
}

static void test_rsa(void **state)
{
	const char *text = T->base;
	struct svmigd_policy *p;
	EVP_MD_CTX *md;
	uint8_t sig[512];
	size_t siglen = sizeof(sig);

	(void)state;
	write_signed(text, T->rsa);
	p = load_ok(T->rsa_pem);
	svmigd_policy_free(p);
	load_fails(T->auth_pem, -EBADMSG, "does not verify");

	/* PKCS#1 v1.5 is not RSA-PSS */
	md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
					    T->rsa), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen,
					(const unsigned char *)text,
					strlen(text)), 1);
	EVP_MD_CTX_free(md);
	write_bytes(T->sig, sig, siglen);
	load_fails(T->rsa_pem, -EBADMSG, "does not verify");
}

static int run(const char *cmd)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Signatures made the way the documentation says. */
static void test_openssl_cli(void **state)
{
	static const char *const opts[] = {
		"", "-sigopt rsa_padding_mode:pss",
		"-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest",
		"-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:max",
	};
	struct svmigd_policy *p;
	char cmd[1024];
	size_t i;

	(void)state;
	if (run("openssl version >/dev/null 2>&1")) {
		print_message("# machine: no openssl command\n");
		skip();
	}
	write_bytes(T->policy, T->base, strlen(T->base));
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -sign %s -out %s %s",
		 T->auth_key, T->sig, T->policy);
	assert_int_equal(run(cmd), 0);
	p = load_ok(T->auth_pem);
	svmigd_policy_free(p);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		snprintf(cmd, sizeof(cmd),
			 "openssl dgst -sha256 -sign %s %s -out %s %s",
			 T->rsa_key, opts[i], T->sig, T->policy);
		assert_int_equal(run(cmd), 0);
		if (!i) {	/* without -sigopt: PKCS#1 v1.5 */
			load_fails(T->rsa_pem, -EBADMSG, "does not verify");
			continue;
		}
		p = load_ok(T->rsa_pem);
		svmigd_policy_free(p);
	}
}

struct invalid {
	const char *from, *to;
	const char *msg;
};

static const struct invalid invalids[] = {
	{ "\"version\": 2", "\"version\": 1", "policy.json: version: expected 2" },
	{ "\"version\": 2", "\"version\": \"2\"", "version: expected 2" },
	{ "\"version\": 2,", "\"version\": 2, \"extra\": {},",
	  "policy.json: unknown key \"extra\"" },
	{ "\"version\": 2,", "", "policy.json: missing key \"version\"" },
	{ "\"serial\": 7", "\"serial\": 0", "policy.json: serial: expected an integer from 1" },
	{ "\"serial\": 7", "\"serial\": 9007199254740993",
	  "serial: expected an integer from 1 to 9007199254740992" },
	{ "\"serial\": 7", "\"serial\": \"7\"", "serial: expected an integer" },
	{ "\"serial\": 7, ", "", "policy.json: missing key \"serial\"" },
	{ "2099-01-01T00:00:00Z", "2099-01-01 00:00:00Z", "not_after: expected a UTC time" },
	{ "2099-01-01T00:00:00Z", "2099-02-30T00:00:00Z", "not_after: expected a UTC time" },
	{ "2099-01-01T00:00:00Z", "2100-02-29T00:00:00Z", "not_after: expected a UTC time" },
	{ "2099-01-01T00:00:00Z", "2099-01-01T24:00:00Z", "not_after: expected a UTC time" },
	{ "2099-01-01T00:00:00Z", "2099-01-01T00:00:00+01:00", "not_after: expected a UTC time" },
	{ "\"2099-01-01T00:00:00Z\"", "4070908800", "not_after: expected a UTC time" },
	{ "\"not_after\": \"2099-01-01T00:00:00Z\",", "", "missing key \"not_after\"" },
	{ "\"cas\": { \"provider-a\"", "\"cas\": {}, \"old\": { \"provider-a\"",
	  "policy.json: unknown key \"old\"" },
	{ "\"hosts\": [\"host-c*\"]", "\"hosts\": []",
	  "cas.provider-c.hosts: expected at least one host pattern" },
	{ "\"hosts\": [\"host-c*\"]", "\"hosts\": [\"host-c*\"], \"crl\": 1",
	  "cas.provider-c: unknown key \"crl\"" },
	{ "\"cert_sha256\": \"" HCC, "\"cert_sha256\": \"" HCA,
	  "cas.provider-c.cert_sha256: same certificate as CA provider-a" },
	{ "\"cert_sha256\": \"caca", "\"cert_sha256\": \"cac",
	  "cas.provider-a.cert_sha256: expected 64 lowercase hex digits" },
	{ "\"7\": \"" H07 "\"", "\"7\": []",
	  "hosts.host-a.pcrs.sha256.7: expected 1 to 8 values" },
	{ "\"7\": \"" H07 "\"", "\"7\": [\"" H07 "\", \"" H08 "\", \"" H07 "\"]",
	  "hosts.host-a.pcrs.sha256.7.2: same value as 0" },
	{ "\"7\": \"" H07 "\"", "\"7\": [\"" H07 "\", 7]",
	  "hosts.host-a.pcrs.sha256.7.1: expected 64 lowercase hex digits" },
	{ "\"7\": \"" H07 "\"", "\"7\": [\"" H07 "\",\"" H07 "\",\"" H07 "\",\"" H07 "\",\""
	  H07 "\",\"" H07 "\",\"" H07 "\",\"" H07 "\",\"" H07 "\"]",
	  "hosts.host-a.pcrs.sha256.7: expected 1 to 8 values" },
	{ "\"roles\": {", "\"roles\": [], \"x\": {",
	  "policy.json: unknown key \"x\"" },
	{ "\"ak_sha256\": \"abab", "\"ak_sha256\": \"aba",
	  "hosts.host-a.ak_sha256: expected 64 lowercase hex digits" },
	{ "\"ak_sha256\": \"abab", "\"ak_sha256\": \"ABab",
	  "hosts.host-a.ak_sha256: expected 64 lowercase hex digits" },
	{ "\"ak_sha256\": \"abab", "\"ak_sha256\": \"abgb",
	  "hosts.host-a.ak_sha256: expected 64" },
	{ "\"ak_sha256\": \"abab", "\"ak_sha256\": \"ababab",
	  "hosts.host-a.ak_sha256: expected 64" },
	{ "\"ak_sha256\": \"bbbb", "\"ak_sha256\": 1, \"x\": \"",
	  "hosts.host-b: unknown key \"x\"" },
	{ "\"23\":", "\"24\":",
	  "hosts.host-b.pcrs.sha256.24: PCR index must be 0 to 23" },
	{ "\"7\":", "\"07\":", "hosts.host-a.pcrs.sha256.07: PCR index" },
	{ "\"7\":", "\"-1\":", "hosts.host-a.pcrs.sha256.-1: PCR index" },
	{ "\"7\":", "\"x\":", "hosts.host-a.pcrs.sha256.x: PCR index" },
	{ "\"7\": \"0707", "\"7\": \"070",
	  "hosts.host-a.pcrs.sha256.7: expected 64 lowercase hex digits" },
	{ "{ \"sha256\": { \"23\"", "{ \"sha1\": {}, \"sha256\": { \"23\"",
	  "hosts.host-b.pcrs: unknown key \"sha1\"" },
	{ "\"pcrs\": { \"sha256\": { \"23\": \"2323232323232323232323232323232323232323232323232323232323232323\" } }",
	  "\"pcrs\": { \"sha256\": {} }",
	  "hosts.host-b.pcrs.sha256: no reference PCR values" },
	{ "\"pcrs\": { \"sha256\": { \"1\"", "\"pcrs\": { \"sha384\": { \"1\"",
	  "hosts.host-c.pcrs: unknown key \"sha384\"" },
	{ "\"max_mem_mib\": 4096", "\"max_mem_mib\": 0",
	  "hosts.host-a.max_mem_mib: expected an integer from 1" },
	{ "\"max_mem_mib\": 4096", "\"max_mem_mib\": -4096",
	  "hosts.host-a.max_mem_mib: expected an integer from 1" },
	{ "\"max_mem_mib\": 4096", "\"max_mem_mib\": \"4096\"",
	  "hosts.host-a.max_mem_mib: expected an integer" },
	{ "\"max_mem_mib\": 4096", "\"max_mem_mib\": 4096.0",
	  "hosts.host-a.max_mem_mib: expected an integer" },
	{ "\"max_vcpus\": 4", "\"max_vcpus\": 4294967296",
	  "hosts.host-a.max_vcpus: expected an integer from 1 to 4294967295" },
	{ "\"max_vcpus\": 8 }", "\"max_vcpus\": 8, \"memory\": 1 }",
	  "hosts.host-b: unknown key \"memory\"" },
	{ ", \"max_vcpus\": 8 }", " }",
	  "hosts.host-b: missing key \"max_vcpus\"" },
	{ "\"host-c\": {", "\"host c\": {",
	  "hosts.host c: \"host c\" is not a host name" },
	{ "\"roles\": [\"migrator\"]", "\"roles\": [\"admin\"]",
	  "operators.alice.roles: role \"admin\" not in roles" },
	{ "\"roles\": [\"migrator\"]", "\"roles\": \"migrator\"",
	  "operators.alice.roles: expected an array" },
	{ "\"roles\": [\"migrator\"]", "\"roles\": [\"migrator\", 1]",
	  "operators.alice.roles.1: expected a string" },
	{ "\"roles\": [\"migrator\"]", "\"roles\": [\"\"]",
	  "operators.alice.roles.0: expected 1 to 128 characters" },
	{ "\"roles\": [\"migrator\"] }", "\"roles\": [\"migrator\"], \"cn\": \"a\" }",
	  "operators.alice: unknown key \"cn\"" },
	{ "\"sources\": [\"host-a\"]", "\"sources\": [\"host-z\"]",
	  "roles.migrator.sources.0: host \"host-z\" not in hosts" },
	{ "\"targets\": [\"host-c\"]", "\"targets\": [\"host-b\", \"host-*\"]",
	  "roles.db-ops.targets.1: \"host-*\" is not a host name" },
	{ "\"vms\": [\"web-*\"]", "\"vms\": [5]",
	  "roles.migrator.vms.0: expected a string" },
	{ "\"vms\": [\"web-*\"]", "\"vms\": [\"web\\n*\"]",
	  "roles.migrator.vms.0: expected 1 to 128 characters, no control" },
	{ "\"vms\": [\"db-*\"], ", "",
	  "roles.db-ops: missing key \"vms\"" },
	{ "\"roles\": {", "\"roles\": [", "JSON error on line 22" },
	{ "\"operators\": {", "\"operators\": [],\n\"x\": {",
	  "policy.json: unknown key \"x\"" },
	{ "\"operators\": {", "\"operators\": 3, \"y\": {",
	  "policy.json: unknown key \"y\"" },
	{ "  \"version\": 2,", "  /* comment */ \"version\": 2,",
	  "JSON error on line 2" },
	{ "\n}\n", "\n}\n{}\n", "JSON error on line 30" },
	{ "\n}\n", "\n", "truncated JSON" },
	{ "\"vms\": [\"web-*\"]", "\"vms\": [\"web\\u0000*\"]",
	  "roles.migrator.vms.0: NUL character" },
};

static void test_invalid(void **state)
{
	char text[8192];
	size_t i;
	char err[512];
	struct svmigd_policy *p;
	int ret;

	(void)state;
	for (i = 0; i < sizeof(invalids) / sizeof(invalids[0]); i++) {
		variant(text, sizeof(text), invalids[i].from, invalids[i].to);
		write_signed(text, T->auth);
		memset(err, 0, sizeof(err));
		ret = svmigd_policy_load(&p, T->policy, T->sig, T->auth_pem,
					 err, sizeof(err));
		if (ret != -EINVAL || !strstr(err, invalids[i].msg) ||
		    strncmp(err, T->policy, strlen(T->policy)))
			fail_msg("case %zu: %d: \"%s\" lacks \"%s\"", i, ret,
				 err, invalids[i].msg);
		assert_null(p);
	}
	/* the same fingerprint twice */
	variant(text, sizeof(text), T->fpr_hex[BOB], T->fpr_hex[ALICE]);
	write_signed(text, T->auth);
	load_fails(T->auth_pem, -EINVAL,
		   "operators.bob.cert_sha256: same certificate as operator alice");
	/* a NUL byte */
	write_bytes(T->policy, "{}\0", 3);
	sign_to(T->sig, T->auth, "{}\0", 3);
	load_fails(T->auth_pem, -EINVAL, "NUL byte");
}

/* The shared helpers' strictness. */
static void test_helpers(void **state)
{
	static const uint8_t bin[5] = { 0x00, 0x01, 0xfe, 0xff, 0x80 };
	uint8_t out[8], *dec;
	char hex[11], *b64;
	size_t n;

	(void)state;
	svmigd_hex_encode(hex, bin, 5);
	assert_string_equal(hex, "0001feff80");
	assert_int_equal(svmigd_hex_decode(out, 5, hex), 0);
	assert_memory_equal(out, bin, 5);
	assert_int_equal(svmigd_hex_decode(out, 5, "0001FEFF80"), -EINVAL);
	assert_int_equal(svmigd_hex_decode(out, 5, "0001feff8"), -EINVAL);
	assert_int_equal(svmigd_hex_decode(out, 4, "0001feff80"), -EINVAL);
	assert_int_equal(svmigd_hex_decode(out, 5, "0001feff8g"), -EINVAL);

	b64 = svmigd_base64_encode(bin, 5);
	assert_non_null(b64);
	assert_string_equal(b64, "AAH+/4A=");
	assert_int_equal(svmigd_base64_decode(b64, 8, &dec, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(dec, bin, 5);
	free(dec);
	assert_int_equal(svmigd_base64_decode(b64, 4, &dec, &n), -EINVAL);
	assert_int_equal(svmigd_base64_decode("AAH+/4B=", 8, &dec, &n), -EINVAL);
	assert_int_equal(svmigd_base64_decode(" AAH+/4A=", 8, &dec, &n), -EINVAL);
	assert_int_equal(svmigd_base64_decode("AAH+/4A", 8, &dec, &n), -EINVAL);
	assert_int_equal(svmigd_base64_decode("AAH+/4A=\n", 8, &dec, &n), -EINVAL);
	assert_int_equal(svmigd_base64_decode("", 8, &dec, &n), -EINVAL);
	assert_int_equal(svmigd_base64_decode("A===", 8, &dec, &n), -EINVAL);
	free(b64);
	b64 = svmigd_base64_encode(bin, 3);
	assert_string_equal(b64, "AAH+");
	assert_int_equal(svmigd_base64_decode(b64, 3, &dec, &n), 0);
	assert_int_equal(n, 3);
	free(dec);
	free(b64);
}

/* serial, not_after, cas; several values of one PCR; expiry. */
static void test_v2_fields(void **state)
{
	uint8_t h7[SVMIGD_SHA256_LEN], h8[SVMIGD_SHA256_LEN], h9[SVMIGD_SHA256_LEN];
	struct svmigd_tpm_pcrs quoted = { 0 }, ref;
	const struct svmigd_policy_host *a;
	struct svmigd_policy *p;
	char text[8192], err[256], when[32];

	(void)state;
	write_signed(T->base, T->auth);
	p = load_ok(T->auth_pem);
	assert_int_equal(p->serial, 7);
	assert_int_equal(p->not_after, 4070908800LL);
	assert_int_equal(p->n_cas, 2);
	assert_string_equal(p->cas[1].name, "provider-c");
	assert_int_equal(p->cas[0].n_hosts, 2);
	assert_string_equal(p->cas[1].hosts[0], "host-c*");
	assert_int_equal(svmigd_policy_check_expiry(p, 4070908800LL, err,
						    sizeof(err)), 0);
	assert_int_equal(svmigd_policy_check_expiry(p, 4070908801LL, err,
						    sizeof(err)), -EKEYEXPIRED);
	assert_string_equal(err, "policy serial 7 expired at 2099-01-01T00:00:00Z");
	svmigd_policy_free(p);

	/* PCR 7 of host-a: either of two values (a rolling firmware update) */
	variant(text, sizeof(text), "\"7\": \"" H07 "\"",
		"\"7\": [\"" H07 "\", \"" H08 "\"]");
	write_signed(text, T->auth);
	p = load_ok(T->auth_pem);
	a = svmigd_policy_host(p, "host-a");
	memset(h7, 0x07, sizeof(h7));
	memset(h8, 0x08, sizeof(h8));
	memset(h9, 0x09, sizeof(h9));
	assert_int_equal(a->n_pcr_values[7], 2);
	assert_true(svmigd_policy_pcr_allowed(a, 7, h7));
	assert_true(svmigd_policy_pcr_allowed(a, 7, h8));
	assert_false(svmigd_policy_pcr_allowed(a, 7, h9));
	assert_false(svmigd_policy_pcr_allowed(a, 6, h7));
	assert_false(svmigd_policy_pcr_allowed(a, 99, h7));
	/* the reference for a quote: the quoted value when it is allowed */
	quoted.count = 2;
	quoted.index[0] = 0;
	quoted.index[1] = 7;
	memcpy(quoted.value[1], h8, sizeof(h8));
	svmigd_policy_pcrs_ref(a, &quoted, &ref);
	assert_int_equal(ref.count, 2);
	assert_int_equal(ref.index[1], 7);
	assert_memory_equal(ref.value[1], h8, sizeof(h8));
	memcpy(quoted.value[1], h9, sizeof(h9));
	svmigd_policy_pcrs_ref(a, &quoted, &ref);
	assert_memory_equal(ref.value[1], h7, sizeof(h7));	/* first allowed */
	svmigd_policy_free(p);

	assert_int_equal(svmigd_policy_parse_time("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(svmigd_policy_parse_time("2024-02-29T23:59:59Z"),
			 1709251199LL);
	assert_int_equal(svmigd_policy_parse_time("2023-02-29T00:00:00Z"), -1);
	assert_int_equal(svmigd_policy_parse_time("1969-12-31T23:59:59Z"), -1);
	assert_int_equal(svmigd_policy_parse_time("2024-1-01T00:00:00Z"), -1);
	assert_int_equal(svmigd_policy_parse_time("2024-01-01T00:00:60Z"), -1);
	assert_int_equal(svmigd_policy_parse_time(""), -1);
	svmigd_policy_time_str(1709251199LL, when);
	assert_string_equal(when, "2024-02-29T23:59:59Z");
}

/* The handshake's policy claim: equal, another serial, malformed. */
static void test_claim(void **state)
{
	struct svmigd_policy mine = { .serial = 4 }, theirs = { .serial = 3 };
	struct json_object *msg = json_object_new_object(), *o;
	uint8_t q1[SVMIGD_SHA256_LEN] = { 1 }, q2[SVMIGD_SHA256_LEN] = { 1 };
	char why[512];

	(void)state;
	memset(mine.sha256, 0x44, sizeof(mine.sha256));
	memset(theirs.sha256, 0x33, sizeof(theirs.sha256));
	assert_int_equal(svmigd_policy_claim_add(msg, &mine), 0);
	assert_int_equal(svmigd_policy_claim_check(msg, &mine, "host-b", why,
						   sizeof(why)), 0);
	assert_int_equal(svmigd_policy_claim_check(msg, &theirs, "host-a", why,
						   sizeof(why)), -EACCES);
	assert_string_equal(why,
		"policy mismatch: host-a enforces policy serial 4 (sha256 4444444444444444...), "
		"this host serial 3 (sha256 3333333333333333...): this host must load the newer policy");
	json_object_put(msg);
	msg = json_object_new_object();
	assert_int_equal(svmigd_policy_claim_add(msg, &theirs), 0);
	assert_int_equal(svmigd_policy_claim_check(msg, &mine, "host-b", why,
						   sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "host-b enforces policy serial 3"));
	assert_non_null(strstr(why, "the peer must load the newer policy"));
	theirs.serial = 4;
	json_object_put(msg);
	msg = json_object_new_object();
	assert_int_equal(svmigd_policy_claim_add(msg, &theirs), 0);
	assert_int_equal(svmigd_policy_claim_check(msg, &mine, "host-b", why,
						   sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "two different policies with one serial"));
	/* malformed: an extra key, a string serial, 0, none at all */
	o = json_object_object_get(msg, "policy");
	json_object_object_add(o, "x", json_object_new_int(1));
	assert_int_equal(svmigd_policy_claim_check(msg, &mine, "host-b", why,
						   sizeof(why)), -EPROTO);
	json_object_object_del(o, "x");
	json_object_object_add(o, "serial", json_object_new_string("4"));
	assert_int_equal(svmigd_policy_claim_check(msg, &mine, "host-b", why,
						   sizeof(why)), -EPROTO);
	json_object_object_add(o, "serial", json_object_new_int(0));
	assert_int_equal(svmigd_policy_claim_check(msg, &mine, "host-b", why,
						   sizeof(why)), -EPROTO);
	json_object_object_del(msg, "policy");
	assert_int_equal(svmigd_policy_claim_check(msg, &mine, "host-b", why,
						   sizeof(why)), -EPROTO);
	json_object_put(msg);
	/* the quote's qualifying data: bound to digest and serial */
	assert_int_equal(svmigd_policy_claim_bind(q1, &mine), 0);
	assert_int_equal(svmigd_policy_claim_bind(q2, &theirs), 0);
	assert_memory_not_equal(q1, q2, sizeof(q1));
}

/* Which CA may certify which host. */
static void test_scope(void **state)
{
	EVP_PKEY *ka = pki_key(), *kb = pki_key(), *kh = pki_key();
	X509 *ca_a = pki_cert(ka, "provider-a-ca", NULL, NULL);
	X509 *ca_b = pki_cert(kb, "provider-b-ca", NULL, NULL);
	X509 *leaf_a = pki_cert(kh, "host-a", ca_a, ka);
	X509 *leaf_b = pki_cert(kh, "host-a", ca_b, kb);
	STACK_OF(X509) *chain = sk_X509_new_null();
	char *pa[] = { "host-a*" }, *pb[] = { "host-b", "host-z" };
	struct svmigd_policy_ca cas[2] = {
		{ .name = "provider-a", .hosts = pa, .n_hosts = 1 },
		{ .name = "provider-b", .hosts = pb, .n_hosts = 2 },
	};
	struct svmigd_policy p = { .cas = cas, .n_cas = 2 };
	char why[512];

	(void)state;
	assert_non_null(leaf_a);
	assert_non_null(leaf_b);
	assert_int_equal(svmigd_cert_sha256(ca_a, cas[0].cert_sha256), 0);
	assert_int_equal(svmigd_cert_sha256(ca_b, cas[1].cert_sha256), 0);
	/* host-a under provider A's CA: allowed */
	sk_X509_push(chain, leaf_a);
	sk_X509_push(chain, ca_a);
	assert_int_equal(svmigd_policy_scope_check(&p, chain, "host-a", why,
						   sizeof(why)), 0);
	/* provider B's CA certifying host-a: refused, naming the CA */
	sk_X509_zero(chain);
	sk_X509_push(chain, leaf_b);
	sk_X509_push(chain, ca_b);
	assert_int_equal(svmigd_policy_scope_check(&p, chain, "host-a", why,
						   sizeof(why)), -EACCES);
	assert_string_equal(why, "host-a's certificate is issued under CA provider-b, "
			    "which the policy does not allow to certify host-a");
	assert_int_equal(svmigd_policy_scope_check(&p, chain, "host-b", why,
						   sizeof(why)), 0);
	/* a CA the policy does not list */
	p.n_cas = 1;
	assert_int_equal(svmigd_policy_scope_check(&p, chain, "host-b", why,
						   sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "chains to no CA of the policy"));
	/* the leaf itself never counts as a CA */
	sk_X509_zero(chain);
	sk_X509_push(chain, ca_a);
	assert_int_equal(svmigd_policy_scope_check(&p, chain, "host-a", why,
						   sizeof(why)), -EACCES);
	sk_X509_zero(chain);
	assert_int_equal(svmigd_policy_scope_check(&p, chain, "host-a", why,
						   sizeof(why)), -EINVAL);
	assert_int_equal(svmigd_policy_scope_check(&p, NULL, "host-a", why,
						   sizeof(why)), -EINVAL);
	sk_X509_free(chain);
	X509_free(leaf_a);
	X509_free(leaf_b);
	X509_free(ca_a);
	X509_free(ca_b);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(kh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_tampered_policy),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_wrong_authority),
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_openssl_cli),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_v2_fields),
		cmocka_unit_test(test_claim),
		cmocka_unit_test(test_scope),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
