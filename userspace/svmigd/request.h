/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The operator's migration request (Documentation/svmigd.rst, Protocol,
 * REQUEST).  Its canonical form, the bytes that are signed, is json-c's
 * plain serialisation (JSON_C_TO_STRING_PLAIN) of an object with the keys
 * in this order:
 *
 *   {"vm":"web-1","source":"host-a","target":"host-b","vm_mem_mib":2048,
 *    "vm_vcpus":2,"time":1700000000,"nonce":"<64 lowercase hex digits>"}
 *
 * time is in seconds since the epoch.  The signed request travels as
 *
 *   {"request": {...the request...}, "cert": "<operator certificate, PEM>",
 *    "signature": "<base64 of the DER signature>"}
 *
 * the signature being svmigd_sign()'s (ECDSA, or RSA-PSS, over SHA-256 of
 * the canonical form).  A verifier rebuilds the canonical form from the
 * fields it parsed, so the request object may be re-spelt in transit but
 * not changed; unknown or missing keys anywhere are refused.
 *
 * Functions return 0 or a negative errno with a message in @err:
 * -EBADMSG when a request is malformed, not signed, or its signature does
 * not verify; -EPERM when its certificate does not chain to a trust anchor;
 * -ESTALE when its time is outside the window.
 */
#ifndef SVMIGD_REQUEST_H
#define SVMIGD_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"
#include "policy.h"

#define SVMIGD_NONCE_LEN	32
#define SVMIGD_REQUEST_MAX	65536	/* bytes of a signed request */

struct svmigd_request {
	char vm[SVMIGD_NAME_MAX + 1];		/* 1..128, no controls */
	char source[SVMIGD_HOST_NAME_MAX + 1];	/* host names */
	char target[SVMIGD_HOST_NAME_MAX + 1];
	uint64_t vm_mem_mib;			/* 1..2^63-1 */
	uint32_t vm_vcpus;			/* >= 1 */
	int64_t time;				/* >= 1 */
	uint8_t nonce[SVMIGD_NONCE_LEN];
};

/* What a verified request tells. */
struct svmigd_request_verified {
	struct svmigd_request req;
	uint8_t cert_sha256[SVMIGD_SHA256_LEN];	/* for svmigd_policy_decide */
	uint8_t request_sha256[SVMIGD_SHA256_LEN];	/* of the canonical form */
	/* the certificate's CN as UTF-8 if svmigd_valid_name(), or "" */
	char operator_cn[SVMIGD_NAME_MAX + 1];
};

/* A request stamped now, with a fresh random nonce. */
int svmigd_request_init(struct svmigd_request *r, const char *vm,
			const char *source, const char *target,
			uint64_t vm_mem_mib, uint32_t vm_vcpus,
			char *err, size_t errlen);

/* The canonical form, malloc'd and NUL-terminated. */
int svmigd_request_canonical(const struct svmigd_request *r, char **out,
			     char *err, size_t errlen);

/*
 * Signs @r with @key, whose certificate @cert must hold its public key, and
 * packages it: *out is a new JSON object (svmigd_request_sign_json) or its
 * plain serialisation, malloc'd (svmigd_request_sign).
 */
int svmigd_request_sign_json(const struct svmigd_request *r, EVP_PKEY *key,
			     X509 *cert, struct json_object **out,
			     char *err, size_t errlen);
int svmigd_request_sign(const struct svmigd_request *r, EVP_PKEY *key,
			X509 *cert, char **out, char *err, size_t errlen);

/*
 * Verifies a signed request: its form; its signature by the key of the
 * certificate it carries; that certificate's chain to @anchors at time
 * @now (no intermediates: the operator CA must be in @anchors); and
 * |@now - time| <= @window seconds.  Replays within the window (the same
 * nonce twice) are the caller's to refuse.  @out is filled on success.
 */
int svmigd_request_verify_json(struct json_object *signed_req,
			       X509_STORE *anchors, int64_t now, int64_t window,
			       struct svmigd_request_verified *out,
			       char *err, size_t errlen);
int svmigd_request_verify(const char *signed_req, size_t len,
			  X509_STORE *anchors, int64_t now, int64_t window,
			  struct svmigd_request_verified *out,
			  char *err, size_t errlen);

/* A store of the CA certificates in the PEM files @files (each may hold several). */
X509_STORE *svmigd_request_anchors(char *const *files, size_t n,
				   char *err, size_t errlen);

#endif /* SVMIGD_REQUEST_H */
