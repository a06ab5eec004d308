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
 *   { "version": 1,
 *     "hosts": { NAME: { "ak_sha256": HEX, "pcrs": { "sha256": { "N": HEX } },
 *                        "max_mem_mib": N, "max_vcpus": N } },
 *     "operators": { NAME: { "cert_sha256": HEX, "roles": [ ROLE ] } },
 *     "roles": { ROLE: { "vms": [ GLOB ], "sources": [ HOST ],
 *                        "targets": [ HOST ] } } }
 *
 * This file also holds the small helpers the svmigd components share
 * (hex, base64, SHA-256, signatures, PEM files).
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

struct json_object;

#define SVMIGD_SHA256_LEN	32
#define SVMIGD_SHA256_HEX_LEN	(2 * SVMIGD_SHA256_LEN)
#define SVMIGD_PCR_MAX		24
#define SVMIGD_POLICY_FILE_MAX	(1 << 20)	/* bytes of policy.json */
#define SVMIGD_SIG_MAX		1024		/* up to RSA-8192 */
#define SVMIGD_NAME_MAX		128	/* operator, role names, VM globs */

struct svmigd_policy_host {
	char *name;
	uint8_t ak_sha256[SVMIGD_SHA256_LEN];
	uint32_t pcr_mask;		/* bit i: pcrs[i] is a reference */
	uint8_t pcrs[SVMIGD_PCR_MAX][SVMIGD_SHA256_LEN];	/* sha256 bank */
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

struct svmigd_policy {
	uint8_t sha256[SVMIGD_SHA256_LEN];	/* of policy.json's bytes */
	uint8_t authority_sha256[SVMIGD_SHA256_LEN];	/* signer's key */
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

/* ---- helpers shared by the svmigd components ---- */

/*
 * Operator and role names, VM names and globs: 1 to SVMIGD_NAME_MAX
 * bytes, no control characters.
 */
bool svmigd_valid_name(const char *s);

/* @out gets 2 * @n lowercase hex digits and a NUL. */
void svmigd_hex_encode(char *out, const uint8_t *in, size_t n);
/* Exactly 2 * @n lowercase hex digits, nothing else; -EINVAL otherwise. */
int svmigd_hex_decode(uint8_t *out, size_t n, const char *hex);
/* Standard base64 with padding, no newlines; malloc'd, NULL on failure. */
char *svmigd_base64_encode(const uint8_t *in, size_t n);
/*
 * Strict: only the canonical encoding (what svmigd_base64_encode gives) of
 * at most @max bytes is accepted.  *out is malloc'd.
 */
int svmigd_base64_decode(const char *in, size_t max, uint8_t **out,
			 size_t *n);

int svmigd_sha256(const void *data, size_t len,
		  uint8_t out[SVMIGD_SHA256_LEN]);
/* SHA-256 of the DER of @cert (the "cert_sha256" of operators). */
int svmigd_cert_sha256(X509 *cert, uint8_t out[SVMIGD_SHA256_LEN]);
/* SHA-256 of the DER SubjectPublicKeyInfo of @key. */
int svmigd_pubkey_sha256(EVP_PKEY *key, uint8_t out[SVMIGD_SHA256_LEN]);

/*
 * Signatures over SHA-256 of @data: ECDSA (DER) for EC keys, RSA-PSS
 * (MGF1-SHA-256; salt as long as the digest when signing, any length when
 * verifying) for RSA keys of at least 2048 bits; other keys -EINVAL.
 * svmigd_sign: *sig is malloc'd.  svmigd_verify: 0, or -EBADMSG when the
 * signature does not verify.
 */
int svmigd_sign(EVP_PKEY *key, const void *data, size_t len, uint8_t **sig,
		size_t *siglen);
int svmigd_verify(EVP_PKEY *key, const void *data, size_t len,
		  const uint8_t *sig, size_t siglen);

/*
 * Exactly one strict JSON value (UTF-8, at most @depth deep, nothing but
 * whitespace after it) from @buf; *out is a new reference.  -EINVAL with
 * what is wrong ("JSON error on line 3: ...") in @err, no file name.
 */
int svmigd_json_parse(const char *buf, size_t len, int depth,
		      struct json_object **out, char *err, size_t errlen);

/*
 * Reads a regular file of at most @max bytes; *buf is malloc'd, with a
 * NUL after the *len bytes.
 */
int svmigd_read_file(const char *path, size_t max, uint8_t **buf, size_t *len,
		     char *err, size_t errlen);
/*
 * A whole decimal number in [min, max] (no sign, no junk, no overflow):
 * 0 and *out, or -EINVAL.  For command lines and addresses.
 */
int svmigd_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Formats a message into err (if any) and returns ret: for error paths. */
int svmigd_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* PEM files: the first certificate; a private key (never prompts). */
X509 *svmigd_load_cert(const char *path, char *err, size_t errlen);
EVP_PKEY *svmigd_load_key(const char *path, char *err, size_t errlen);

#endif /* SVMIGD_POLICY_H */
