// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: policy.json and its signature, and the decisions made
 * with a policy (userspace/svmigd/policy.c).
 *
 * Input (struct fz): a flags byte; the policy's bytes (16-bit length);
 * with flag 1 the signature's bytes as they are, else the harness signs
 * the policy with the fixed authority key so that the parser is reached;
 * with flag 2 the authority's certificate (PEM) as the policy is loaded
 * from files (svmigd_policy_load, svmigd_authority_sha256), else its key;
 * then, until the input ends, decisions to ask of a policy that loaded:
 * an operator (an index into the policy's, or none), a VM name, and the
 * source and target (an index into the hosts, or a name from the input).
 *
 * Checked: a loaded policy keeps policy.h's promises (names valid, every
 * role of an operator defined, every source and target a host, at least
 * one reference PCR per host with 1 to 8 distinct allowed values, no two
 * operators with one certificate, a serial in range and a time, at least
 * one CA, each with host patterns, no two with one certificate), the
 * reference PCR values of a quote (policy_scope.h) are allowed ones, and
 * every decision is what the policy says, allowed or refused with the
 * first failing check.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz_common.h"
#include "config.h"
#include "policy.h"
#include "policy_scope.h"

static struct fuzz_file pol, sig, cert;
static EVP_PKEY *authority;

static void check_policy(const struct svmigd_policy *p)
{
	size_t i, j, k;

	FUZZ_CHECK(p->serial >= 1 && p->serial <= SVMIGD_POLICY_SERIAL_MAX);
	FUZZ_CHECK(p->not_after >= 0);
	FUZZ_CHECK(p->n_cas >= 1);
	for (i = 0; i < p->n_cas; i++) {
		FUZZ_CHECK(svmigd_valid_name(p->cas[i].name));
		FUZZ_CHECK(p->cas[i].n_hosts >= 1);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(memcmp(p->cas[i].cert_sha256,
					  p->cas[j].cert_sha256, SVMIGD_SHA256_LEN));
	}
	for (i = 0; i < p->n_hosts; i++) {
		const struct svmigd_policy_host *h = &p->hosts[i];
		struct svmigd_tpm_pcrs quoted = { 0 }, ref;

		for (j = 0; j < SVMIGD_PCR_MAX; j++) {
			if (!(h->pcr_mask & 1u << j)) {
				FUZZ_CHECK(!h->n_pcr_values[j]);
				continue;
			}
			FUZZ_CHECK(h->n_pcr_values[j] >= 1 &&
				   h->n_pcr_values[j] <= SVMIGD_PCR_VALUES_MAX);
			for (k = 0; k < h->n_pcr_values[j]; k++)
				FUZZ_CHECK(svmigd_policy_pcr_allowed(h, (unsigned int)j,
								     h->pcrs[j][k]));
			/* a quote of the last allowed value of each PCR */
			quoted.index[quoted.count] = (uint8_t)j;
			memcpy(quoted.value[quoted.count++],
			       h->pcrs[j][h->n_pcr_values[j] - 1], SVMIGD_SHA256_LEN);
		}
		svmigd_policy_pcrs_ref(h, &quoted, &ref);
		FUZZ_CHECK(ref.count == quoted.count &&
			   !memcmp(ref.value, quoted.value,
				   quoted.count * sizeof(ref.value[0])));
		FUZZ_CHECK(svmigd_valid_host_name(p->hosts[i].name));
		FUZZ_CHECK(p->hosts[i].pcr_mask &&
			   p->hosts[i].pcr_mask < (1u << SVMIGD_PCR_MAX));
		FUZZ_CHECK(p->hosts[i].max_mem_mib && p->hosts[i].max_vcpus);
		FUZZ_CHECK(svmigd_policy_host(p, p->hosts[i].name) == &p->hosts[i]);
	}
	for (i = 0; i < p->n_roles; i++) {
		const struct svmigd_policy_role *r = &p->roles[i];

		FUZZ_CHECK(svmigd_valid_name(r->name));
		FUZZ_CHECK(svmigd_policy_role(p, r->name) == r);
		for (j = 0; j < r->n_vms; j++)
			FUZZ_CHECK(svmigd_valid_name(r->vms[j]));
		for (j = 0; j < r->n_sources; j++)
			FUZZ_CHECK(svmigd_policy_host(p, r->sources[j]));
		for (j = 0; j < r->n_targets; j++)
			FUZZ_CHECK(svmigd_policy_host(p, r->targets[j]));
	}
	for (i = 0; i < p->n_operators; i++) {
		const struct svmigd_policy_operator *o = &p->operators[i];

		FUZZ_CHECK(svmigd_valid_name(o->name));
		FUZZ_CHECK(svmigd_policy_operator(p, o->cert_sha256) == o);
		for (k = 0; k < o->n_roles; k++)
			FUZZ_CHECK(svmigd_policy_role(p, o->roles[k]));
	}
}

static bool listed(char *const *v, size_t n, const char *s)
{
	while (n--)
		if (!strcmp(v[n], s))
			return true;
	return false;
}

/* A host name from the policy (by index) or from the input. */
static void host_arg(struct fz *z, const struct svmigd_policy *p, char *buf,
		     size_t size)
{
	uint8_t i = fz_u8(z);

	if (i < p->n_hosts)
		snprintf(buf, size, "%s", p->hosts[i].name);
	else
		fz_cstr(z, buf, size);
}

static void decide(struct fz *z, const struct svmigd_policy *p)
{
	static const uint8_t nobody[SVMIGD_SHA256_LEN];
	char vm[SVMIGD_NAME_MAX + 8], source[80], target[80];
	const struct svmigd_policy_operator *op = NULL;
	const struct svmigd_policy_role *r;
	struct svmigd_policy_decision d;
	uint8_t i = fz_u8(z);
	size_t j;
	int ret;

	if (i < p->n_operators)
		op = &p->operators[i];
	fz_cstr(z, vm, sizeof(vm));
	host_arg(z, p, source, sizeof(source));
	host_arg(z, p, target, sizeof(target));
	ret = svmigd_policy_decide(p, op ? op->cert_sha256 : nobody, vm,
				   source, target, &d);
	FUZZ_CHECK(memchr(d.reason, '\0', sizeof(d.reason)) && d.reason[0]);
	if (ret) {
		FUZZ_CHECK(ret == -EACCES && d.check != SVMIGD_POLICY_ALLOWED);
		if (d.check == SVMIGD_POLICY_OPERATOR)
			FUZZ_CHECK(!svmigd_policy_operator(p, op ? op->cert_sha256 : nobody));
		if (d.check == SVMIGD_POLICY_SOURCE_HOST)
			FUZZ_CHECK(!svmigd_policy_host(p, source));
		if (d.check == SVMIGD_POLICY_TARGET_HOST)
			FUZZ_CHECK(!svmigd_policy_host(p, target));
		if (d.check >= SVMIGD_POLICY_VM)
			FUZZ_CHECK(d.role && svmigd_policy_role(p, d.role));
		return;
	}
	/* allowed: by a role of this operator that lists all three */
	FUZZ_CHECK(op && d.check == SVMIGD_POLICY_ALLOWED && d.role);
	FUZZ_CHECK(!strcmp(d.operator, op->name));
	FUZZ_CHECK(listed(op->roles, op->n_roles, d.role));
	r = svmigd_policy_role(p, d.role);
	FUZZ_CHECK(r);
	FUZZ_CHECK(listed(r->sources, r->n_sources, source));
	FUZZ_CHECK(listed(r->targets, r->n_targets, target));
	for (j = 0; j < r->n_vms; j++)
		if (!fnmatch(r->vms[j], vm, 0))
			break;
	FUZZ_CHECK(j < r->n_vms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	struct svmigd_policy *p = NULL;
	uint8_t flags = fz_u8(&z), *s = NULL;
	const uint8_t *body, *raw;
	size_t len, n, siglen = 0;
	char err[1024];
	int ret;

	if (!authority)
		authority = fuzz_pkey(fuzz_ca_key_pem);
	body = fz_str(&z, &len);
	fuzz_file_put(&pol, body, len);
	if (flags & 1) {
		raw = fz_str(&z, &n);
		fuzz_file_put(&sig, raw, n);
	} else {
		FUZZ_CHECK(!svmigd_sign(authority, body, len, &s, &siglen));
		fuzz_file_put(&sig, s, siglen);
		free(s);
	}
	if (flags & 2) {
		/* the authority's certificate from the input (PEM) */
		uint8_t digest[SVMIGD_SHA256_LEN];

		raw = fz_str(&z, &n);
		fuzz_file_put(&cert, raw, n);
		ret = svmigd_policy_load(&p, pol.path, sig.path, cert.path, err,
					 sizeof(err));
		if (!svmigd_authority_sha256(cert.path, digest, err,
					     sizeof(err)) && !ret)
			FUZZ_CHECK(!memcmp(digest, p->authority_sha256,
					   sizeof(digest)));
	} else {
		ret = svmigd_policy_load_key(&p, pol.path, sig.path, authority,
					     err, sizeof(err));
	}
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
	if (ret && getenv("SVMIG_FUZZ_DEBUG"))
		fprintf(stderr, "policy refused: %s\n", err);
	if (ret) {
		FUZZ_CHECK(!p);
		FUZZ_CHECK(ret == -EBADMSG || ret == -EINVAL || ret == -ENOMEM ||
			   ret == -EFBIG);
		if (!(flags & 3))
			FUZZ_CHECK(ret != -EBADMSG);
		return 0;
	}
	FUZZ_CHECK(p);
	check_policy(p);
	while (z.n)
		decide(&z, p);
	svmigd_policy_free(p);
	return 0;
}
