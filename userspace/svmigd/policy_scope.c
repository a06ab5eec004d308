// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's CA scopes and allowed PCR values.  See policy_scope.h.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "policy_scope.h"

static bool ca_allows(const struct svmigd_policy_ca *ca, const char *host)
{
	size_t i;

	for (i = 0; i < ca->n_hosts; i++)
		if (!fnmatch(ca->hosts[i], host, 0))
			return true;
	return false;
}

static const struct svmigd_policy_ca *
ca_of(const struct svmigd_policy *p, const uint8_t sha256[SVMIGD_SHA256_LEN])
{
	size_t i;

	for (i = 0; i < p->n_cas; i++)
		if (!CRYPTO_memcmp(p->cas[i].cert_sha256, sha256,
				   SVMIGD_SHA256_LEN))
			return &p->cas[i];
	return NULL;
}

int svmigd_policy_scope_check(const struct svmigd_policy *p,
			      STACK_OF(X509) *chain, const char *host,
			      char *why, size_t whylen)
{
	const struct svmigd_policy_ca *ca, *named = NULL;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char subject[160] = "";
	int i, n = chain ? sk_X509_num(chain) : 0;

	if (n < 1) {
		snprintf(why, whylen, "%s: no verified certificate chain", host);
		return -EINVAL;
	}
	for (i = 1; i < n; i++) {
		X509 *x = sk_X509_value(chain, i);

		if (!X509_digest(x, EVP_sha256(), md, &mdlen) ||
		    mdlen != SVMIGD_SHA256_LEN) {
			ERR_clear_error();
			continue;
		}
		ca = ca_of(p, md);
		if (!ca)
			continue;
		if (ca_allows(ca, host))
			return 0;
		named = ca;
	}
	if (named) {
		snprintf(why, whylen,
			 "%s's certificate is issued under CA %s, which the policy does not allow to certify %s",
			 host, named->name, host);
	} else {
		X509_NAME_oneline(X509_get_issuer_name(sk_X509_value(chain, 0)),
				  subject, sizeof(subject));
		snprintf(why, whylen,
			 "%s's certificate (issuer %s) chains to no CA of the policy",
			 host, subject);
	}
	return -EACCES;
}

void svmigd_policy_pcrs_ref(const struct svmigd_policy_host *h,
			    const struct svmigd_tpm_pcrs *quoted,
			    struct svmigd_tpm_pcrs *ref)
{
	unsigned int i, k;
	const uint8_t *v;

	memset(ref, 0, sizeof(*ref));
	for (i = 0; i < SVMIGD_PCR_MAX; i++) {
		if (!(h->pcr_mask & 1u << i))
			continue;
		v = h->pcrs[i][0];
		for (k = 0; quoted && k < quoted->count; k++)
			if (quoted->index[k] == i &&
			    svmigd_policy_pcr_allowed(h, i, quoted->value[k]))
				v = quoted->value[k];
		ref->index[ref->count] = (uint8_t)i;
		memcpy(ref->value[ref->count++], v, SVMIGD_TPM_DIGEST_LEN);
	}
}
