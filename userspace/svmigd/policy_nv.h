/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy bound to the TPM, with rollback protection
 * (Documentation/svmigd.rst, "Policy binding and rollback"): two NV
 * indexes in the owner range (SVMIGD_TPM_NV_FIRST..LAST), both defined
 * by the provisioner with the owner authorization.
 *
 * - The binding index (svmigd.conf [tpm] policy_nv), 48 bytes, written
 *   once and write-locked for its life (TPMA_NV_WRITEDEFINE; attributes
 *   OWNERWRITE | AUTHREAD | OWNERREAD | WRITEDEFINE | NO_DA, no policy):
 *
 *     authority_sha256[32]   SHA-256 of the authority key's DER
 *                            SubjectPublicKeyInfo (policy.h)
 *     be32 counter_index     the counter below
 *     be32 0                 reserved
 *     be64 base              the counter's value when it was bound
 *
 * - The counter index: a TPM_NT_COUNTER of 8 bytes (AUTHWRITE | AUTHREAD
 *   | OWNERREAD | NO_DA, empty password, no policy).  A TPM counter only
 *   ever grows (TPM2_NV_Increment); undefining it needs the owner
 *   authorization (TPM2_Clear removes it and the binding together, and
 *   svmigd then refuses to start until the host is provisioned again).
 *
 * The highest policy serial this host accepted is counter - base.  svmigd
 * refuses a policy whose serial is lower ("rolled back"), and advances the
 * counter (one TPM2_NV_Increment per serial step, at most
 * SVMIGD_POLICY_NV_STEP_MAX per load) when it loads a valid newer one.  A
 * restored disk, an old policy.json copied back, or another authority's
 * key cannot lower the counter nor rewrite the binding without the owner
 * authorization (which undefines both indexes).  Anyone with the TPM can
 * increase the counter (its password is empty): that only makes this
 * host refuse policies until one with a higher serial is published (a
 * denial of service, never an acceptance).
 *
 * Functions return 0 or a negative errno with a sentence in @err:
 *   -ENOENT   an index is not defined
 *   -EBADE    an index has other attributes, size or type than above
 *   -EEXIST   bind: the binding index is written and locked already
 *   -EKEYREJECTED  the policy's authority is not the bound one
 *   -ESTALE   the policy's serial is older than the highest accepted
 *   -E2BIG    the serial jumps by more than SVMIGD_POLICY_NV_STEP_MAX
 *   -EIO      any other TPM failure
 */
#ifndef SVMIGD_POLICY_NV_H
#define SVMIGD_POLICY_NV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "tpm.h"

#define SVMIGD_POLICY_NV_SIZE		48
#define SVMIGD_POLICY_NV_STEP_MAX	1024

struct svmigd_policy_nv {
	uint8_t authority_sha256[SVMIGD_SHA256_LEN];
	uint32_t counter_index;
	uint64_t base;		/* the counter when bound */
	uint64_t counter;	/* its value now */
	uint64_t highest;	/* counter - base: the highest serial accepted */
};

/*
 * Provisioning: defines the counter @counter_index (or takes it when an
 * interrupted bind left it defined with the right attributes), increments
 * it once (a counter has no value before its first increment), then
 * defines @binding_index, writes the binding and write-locks it.
 * @owner_auth: the owner hierarchy's password, NULL or "" for none.
 */
int svmigd_policy_nv_bind(struct svmigd_tpm *t, uint32_t binding_index,
			  uint32_t counter_index,
			  const uint8_t authority_sha256[SVMIGD_SHA256_LEN],
			  const char *owner_auth, struct svmigd_policy_nv *out,
			  char *err, size_t errlen);

/* Reads the binding and its counter. */
int svmigd_policy_nv_read(struct svmigd_tpm *t, uint32_t binding_index,
			  struct svmigd_policy_nv *out, char *err,
			  size_t errlen);

/*
 * svmigd, once @p verified, is unexpired and names this host: @p's
 * authority must be the bound one and its serial at least the highest
 * accepted; a higher serial advances the counter to it (unless
 * @read_only: then only checked).  *@nv (optional) is the state after.
 */
int svmigd_policy_nv_enforce(struct svmigd_tpm *t, uint32_t binding_index,
			     const struct svmigd_policy *p, bool read_only,
			     struct svmigd_policy_nv *nv, char *err,
			     size_t errlen);

#endif /* SVMIGD_POLICY_NV_H */
