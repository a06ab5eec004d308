/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which policy a host enforces, proved in the handshake
 * (Documentation/svmigd.rst, "Protocol"):
 *
 *   "policy": {"sha256": "<64 hex: SHA-256 of policy.json>", "serial": N}
 *
 * travels in the source's REQUEST and in every ATTEST (both directions,
 * and the attester's in an attestation probe).  The receiver compares it
 * with its own policy and refuses any difference with the ERROR reason
 * "policy mismatch: host-b enforces policy serial 3 (sha256 0a1b2c3d...),
 * this host serial 4 (sha256 4e5f6a7b...)".  The claim is also bound into
 * the quote: the qualifying data of every quote is
 *
 *   SHA-256(SHA-256(E || "quote" || nonce) || policy sha256 || be64 serial)
 *
 * so the peer's TPM signature covers the policy its svmigd enforces; a
 * claim that differs from what its svmigd told its TPM fails the quote.
 * The REQUEST and ATTEST frames are part of the transcript H, which both
 * CONFIRM MACs and the signed receipt cover.
 */
#ifndef SVMIGD_POLICY_CLAIM_H
#define SVMIGD_POLICY_CLAIM_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "policy.h"

#define SVMIGD_POLICY_CLAIM_KEY	"policy"

/* Adds @p's claim to @msg: 0 or -ENOMEM. */
int svmigd_policy_claim_add(struct json_object *msg,
			    const struct svmigd_policy *p);

/*
 * Checks @msg's claim against @p: 0 when equal; -EPROTO when missing or
 * malformed (an object with exactly "sha256", 64 lowercase hex digits, and
 * "serial", an integer 1 .. SVMIGD_POLICY_SERIAL_MAX); -EACCES when it
 * names another policy.  @why names the difference, @peer the other host.
 */
int svmigd_policy_claim_check(struct json_object *msg,
			      const struct svmigd_policy *p, const char *peer,
			      char *why, size_t whylen);

/* @qual := SHA-256(@qual || @p's sha256 || be64 serial): 0 or -ENOMEM. */
int svmigd_policy_claim_bind(uint8_t qual[SVMIGD_SHA256_LEN],
			     const struct svmigd_policy *p);

#endif /* SVMIGD_POLICY_CLAIM_H */
