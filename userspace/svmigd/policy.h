/* SPDX-License-Identifier: GPL-2.0 */
/*
 * policy.json and its detached signature (Documentation/svmigd.rst, Files),
 * and the decision whether an operator may migrate a VM between two hosts.
 *
 * The signature (policy.json.sig) is DER, over SHA-256 of the file's
 * bytes, by the policy authority's key: ECDSA for an EC key, RSA-PSS
 * (MGF1-SHA-256, any salt length) for an RSA key, as made by
 *
 *   openssl dgst -sha256 -sign authority.key -out policy.json.sig policy.json
 *   openssl dgst -sha256 -sign authority.key -sigopt rsa_padding_mode:pss \
 *           -out policy.json.sig policy.json
 *
 * The file is parsed only once its signature verifies.  Validation is
 * strict: every key listed below is required, any other is refused,
 * digests are exactly 64 lowercase hex digits, PCR indexes are "0" to
 * "23", numbers are positive integers, an operator's roles must be
 * defined in "roles", a role's sources and targets must be hosts in
 * "hosts", and no two operators share a certificate fingerprint.  Errors
 * name the file and the JSON path ("hosts.host-a.pcrs.sha256.7: ...").
 *
 *   { "version": 2,
 *     "serial": N,                 the policy's own version, monotonic:
 *                                  a host refuses a serial lower than the
 *                                  highest its TPM recorded (policy_nv.h)
 *     "not_after": "YYYY-MM-DDTHH:MM:SSZ",   expiry (UTC)
 *     "cas": { NAME: { "cert_sha256": HEX, "hosts": [ GLOB ] } },
 *                                  which CA (SHA-256 of its DER
 *                                  certificate, a root or an intermediate
 *                                  of the peer's verified chain) may
 *                                  certify which host names (fnmatch)
 *     "hosts": { NAME: { "ak_sha256": HEX,
 *                        "pcrs": { "sha256": { "N": HEX | [ HEX, ... ] } },
 *                        "max_mem_mib": N, "max_vcpus": N } },
 *     "operators": { NAME: { "cert_sha256": HEX, "roles": [ ROLE ] } },
 *     "roles": { ROLE: { "vms": [ GLOB ], "sources": [ HOST ],
 *                        "targets": [ HOST ] } } }
 *
 * A PCR's value may be a list of 1 to SVMIGD_PCR_VALUES_MAX distinct
 * digests: any of them is accepted (a firmware update rolling through a
 * fleet).  "cas" needs at least one CA; two CAs may not share a
 * fingerprint.  Version 1 (no serial, no expiry, no CA scoping) is
 * refused.
 *
 * Functions return 0 or a negative errno, with a message in @err.
 */
#ifndef SVMIGD_POLICY_H
#define SVMIGD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util.h"

#define SVMIGD_PCR_MAX		24
#define SVMIGD_POLICY_FILE_MAX	(1 << 20)	/* bytes of policy.json */
#define SVMIGD_NAME_MAX		128	/* operator, role names, VM globs */
#define SVMIGD_PCR_VALUES_MAX	8	/* allowed values per PCR */
#define SVMIGD_POLICY_SERIAL_MAX	((uint64_t)1 << 53)	/* JSON-safe */

struct svmigd_policy_host {
	char *name;
	uint8_t ak_sha256[SVMIGD_SHA256_LEN];
	uint32_t pcr_mask;		/* bit i: pcrs[i] is a reference */
	/* sha256 bank: pcrs[i][0 .. n_pcr_values[i]) are allowed for PCR i */
	uint8_t pcrs[SVMIGD_PCR_MAX][SVMIGD_PCR_VALUES_MAX][SVMIGD_SHA256_LEN];
	uint8_t n_pcr_values[SVMIGD_PCR_MAX];
	uint64_t max_mem_mib;
	uint32_t max_vcpus;
};

struct svmigd_policy_operator {
	char *name;
	uint8_t cert_sha256[SVMIGD_SHA256_LEN];
	char **roles;			/* each defined in the policy */
	size_t n_roles;
};

struct svmigd_policy_role {
	char *name;
	char **vms;			/* fnmatch(3) patterns */
	size_t n_vms;
	char **sources;			/* host names, each in hosts */
	size_t n_sources;
	char **targets;
	size_t n_targets;
};

/* A CA and the host names it may certify (policy_scope.h). */
struct svmigd_policy_ca {
	char *name;
	uint8_t cert_sha256[SVMIGD_SHA256_LEN];	/* of its DER certificate */
	char **hosts;			/* fnmatch(3) patterns */
	size_t n_hosts;
};

struct svmigd_policy {
	uint8_t sha256[SVMIGD_SHA256_LEN];	/* of policy.json's bytes */
	uint8_t authority_sha256[SVMIGD_SHA256_LEN];	/* signer's key */
	uint64_t serial;			/* 1 .. SVMIGD_POLICY_SERIAL_MAX */
	int64_t not_after;			/* Unix time */
	struct svmigd_policy_ca *cas;
	size_t n_cas;
	struct svmigd_policy_host *hosts;	/* in file order */
	size_t n_hosts;
	struct svmigd_policy_operator *operators;
	size_t n_operators;
	struct svmigd_policy_role *roles;
	size_t n_roles;
};

/*
 * Reads @policy_path and @sig_path, verifies the signature with the public
 * key of the certificate in @authority_cert_path (PEM; only its key is
 * used: its dates and issuer are not checked) and parses the policy.  On
 * success *out is the policy (svmigd_policy_free() it).  -EBADMSG: the
 * signature does not verify; -EINVAL: the policy is invalid.
 */
int svmigd_policy_load(struct svmigd_policy **out, const char *policy_path,
		       const char *sig_path, const char *authority_cert_path,
		       char *err, size_t errlen);
/* The same with the authority's public key itself (e.g. from the TPM). */
int svmigd_policy_load_key(struct svmigd_policy **out, const char *policy_path,
			   const char *sig_path, EVP_PKEY *authority,
			   char *err, size_t errlen);
void svmigd_policy_free(struct svmigd_policy *p);

/*
 * SHA-256 of the DER SubjectPublicKeyInfo of the public key in the PEM
 * certificate @cert_path: the value bound to the TPM at enrolment, and
 * what svmigd_policy.authority_sha256 holds.  Equals
 *   openssl x509 -in CERT -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum
 */
int svmigd_authority_sha256(const char *cert_path,
			    uint8_t out[SVMIGD_SHA256_LEN],
			    char *err, size_t errlen);

/*
 * "YYYY-MM-DDTHH:MM:SSZ" (exactly, UTC) to Unix time; -1 if it is not one
 * (or before 1970).  svmigd_policy_time_str() writes it back (21 bytes).
 */
int64_t svmigd_policy_parse_time(const char *s);
void svmigd_policy_time_str(int64_t t, char out[32]);

/*
 * 0 while @p is valid at @now, -EKEYEXPIRED after its not_after (@err:
 * "policy serial 4 expired at 2026-12-08T10:00:00Z").
 */
int svmigd_policy_check_expiry(const struct svmigd_policy *p, int64_t now,
			       char *err, size_t errlen);

/* Whether @value is an allowed value of PCR @idx of @h. */
bool svmigd_policy_pcr_allowed(const struct svmigd_policy_host *h,
			       unsigned int idx,
			       const uint8_t value[SVMIGD_SHA256_LEN]);

/* Lookups; NULL when absent. */
const struct svmigd_policy_host *
svmigd_policy_host(const struct svmigd_policy *p, const char *name);
const struct svmigd_policy_operator *
svmigd_policy_operator(const struct svmigd_policy *p,
		       const uint8_t cert_sha256[SVMIGD_SHA256_LEN]);
const struct svmigd_policy_role *
svmigd_policy_role(const struct svmigd_policy *p, const char *name);

/* The check that refused a request, in the order they are made. */
enum svmigd_policy_check {
	SVMIGD_POLICY_ALLOWED = 0,
	SVMIGD_POLICY_OPERATOR,		/* fingerprint not enrolled */
	SVMIGD_POLICY_SOURCE_HOST,	/* source not in hosts */
	SVMIGD_POLICY_TARGET_HOST,	/* target not in hosts */
	SVMIGD_POLICY_NO_ROLE,		/* the operator has no role */
	SVMIGD_POLICY_VM,		/* no role of the operator lists the VM */
	SVMIGD_POLICY_SOURCE,		/* ... the VM, but not the source */
	SVMIGD_POLICY_TARGET,		/* ... the VM and source, not the target */
};

struct svmigd_policy_decision {
	enum svmigd_policy_check check;
	const char *operator;	/* the enrolled operator, or NULL */
	/*
	 * Allowed: the first role that allows it.  Refused by VM, SOURCE or
	 * TARGET: the role that came closest (the first of those).  Points
	 * into the policy.  NULL otherwise.
	 */
	const char *role;
	/*
	 * "allowed by role migrator of operator alice", "operator not
	 * enrolled", "host unknown: source host-x", "operator alice has no
	 * role", "role migrator does not allow vm db-1", "... source
	 * host-a", "... target host-c".
	 */
	char reason[320];
};

/*
 * Decides whether the operator whose certificate's SHA-256 is
 * @cert_sha256 may migrate @vm from @source to @target.  Returns 0 when
 * allowed, -EACCES when refused; @d says why in both cases.  Checks, in
 * this order: the operator is enrolled; source and target are hosts in
 * the policy; one of the operator's roles lists the VM (fnmatch, no
 * flags), the source and the target.  Attestation (PCRs, AK) and limits
 * are checked elsewhere, against svmigd_policy_host().
 */
int svmigd_policy_decide(const struct svmigd_policy *p,
			 const uint8_t cert_sha256[SVMIGD_SHA256_LEN],
			 const char *vm, const char *source, const char *target,
			 struct svmigd_policy_decision *d);

/*
 * Operator and role names, VM names and globs: 1 to SVMIGD_NAME_MAX
 * bytes of UTF-8 (what a JSON parser accepts back), no control characters.
 */
bool svmigd_valid_name(const char *s);

#endif /* SVMIGD_POLICY_H */
