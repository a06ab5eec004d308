/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the policy's scopes allow (policy.h has the format):
 *
 * - Per-provider CA scoping ("cas"): a peer's TLS certificate is accepted
 *   only if its verified chain (leaf first, anchor last, as OpenSSL's
 *   SSL_get0_verified_chain gives it) holds, above the leaf, a CA
 *   certificate whose SHA-256 (of its DER) is a CA of the policy, and one
 *   of that CA's host patterns (fnmatch(3), no flags) matches the peer's
 *   name.  So provider A's CA cannot certify provider B's hosts even when
 *   both CAs are trust anchors of the TLS context (federation).
 *
 * - Several allowed values per PCR: the reference a quote is checked
 *   against is, for each PCR the policy lists for the host, the quoted
 *   value when it is one of the allowed values, else the first allowed
 *   value (so that the verifier then names that PCR as differing).
 */
#ifndef SVMIGD_POLICY_SCOPE_H
#define SVMIGD_POLICY_SCOPE_H

#include <stddef.h>

#include <openssl/x509.h>

#include "policy.h"
#include "tpm.h"

/*
 * 0 when a CA of @chain (above its leaf) may certify @host, -EACCES with
 * a sentence in @why otherwise ("host-b's certificate chains to no CA the
 * policy allows to certify host-b (its CAs: CN=...)"), -EINVAL for an
 * empty chain.
 */
int svmigd_policy_scope_check(const struct svmigd_policy *p,
			      STACK_OF(X509) *chain, const char *host,
			      char *why, size_t whylen);

/* The reference PCR values of @h for a quote of the values @quoted. */
void svmigd_policy_pcrs_ref(const struct svmigd_policy_host *h,
			    const struct svmigd_tpm_pcrs *quoted,
			    struct svmigd_tpm_pcrs *ref);

#endif /* SVMIGD_POLICY_SCOPE_H */
