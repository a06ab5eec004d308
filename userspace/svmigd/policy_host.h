/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This host's policy as svmigd loads it at start and on SIGHUP
 * (Documentation/svmigd.rst, "Policy binding and rollback"), every check
 * in one place:
 *
 *   1. policy.json's signature by the key of [policy] authority_cert
 *      (policy.h), and its strict parsing;
 *   2. this host ([host] name) is one of its hosts;
 *   3. it has not expired (not_after);
 *   4. with a TPM: [tpm] authority_nv, if set, holds SHA-256 of that
 *      authority key; [tpm] policy_nv, if set, binds the same key and the
 *      serial is not below the highest the TPM's counter recorded, which
 *      a newer serial advances (policy_nv.h).  Without [tpm] policy_nv a
 *      rolled-back policy is not detected: svmigd logs a warning.
 *
 * A policy replaced by a reload may still be read by a session that began
 * before it: svmigd_policy_retire() keeps it until
 * svmigd_policy_retired_free() (at exit).
 */
#ifndef SVMIGD_POLICY_HOST_H
#define SVMIGD_POLICY_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "policy.h"
#include "policy_nv.h"
#include "tpm.h"

#define SVMIGD_POLICY_RETIRED_MAX	256	/* reloads per run */

/*
 * 0 and *@out, or a negative errno (policy.h's, policy_nv.h's,
 * -EKEYEXPIRED, -ENOENT: host not in it) with a sentence in @err.  @tpm
 * NULL skips step 4 (svmigd --check-config).  *@nv (optional) is the
 * binding's state after step 4 (zeroed without one).
 */
int svmigd_policy_load_host(const struct svmigd_config *cfg,
			    struct svmigd_tpm *tpm, struct svmigd_policy **out,
			    struct svmigd_policy_nv *nv, char *err,
			    size_t errlen);

/* -ENOSPC when SVMIGD_POLICY_RETIRED_MAX are kept already (@p not taken). */
int svmigd_policy_retire(struct svmigd_policy *p);
void svmigd_policy_retired_free(void);

#endif /* SVMIGD_POLICY_HOST_H */
