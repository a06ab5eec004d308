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

static const char policy_fmt[] =
	"{\n"
	"  \"version\": 1,\n"
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
	assert_memory_equal(a->pcrs[7], h, sizeof(h));
	memset(h, 0x00, sizeof(h));
	assert_memory_equal(a->pcrs[0], h, sizeof(h));
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
	{ "\"version\": 1", "\"version\": 2", "policy.json: version: expected 1" },
	{ "\"version\": 1", "\"version\": \"1\"", "version: expected 1" },
	{ "\"version\": 1,", "\"version\": 1, \"extra\": {},",
	  "policy.json: unknown key \"extra\"" },
	{ "\"version\": 1,", "", "policy.json: missing key \"version\"" },
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
	{ "\"roles\": {", "\"roles\": [", "JSON error on line 20" },
	{ "\"operators\": {", "\"operators\": [],\n\"x\": {",
	  "policy.json: unknown key \"x\"" },
	{ "\"operators\": {", "\"operators\": 3, \"y\": {",
	  "policy.json: unknown key \"y\"" },
	{ "  \"version\": 1,", "  /* comment */ \"version\": 1,",
	  "JSON error on line 2" },
	{ "\n}\n", "\n}\n{}\n", "JSON error on line 28" },
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
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
