/* SPDX-License-Identifier: GPL-2.0 */
/*
 * util: the small helpers the svmigd components share (hex, base64,
 * SHA-256, signatures, strict JSON, files, numbers, PEM).
 *
 * Functions return 0 or a negative errno, with a message in @err where
 * they take one.
 */
#ifndef SVMIGD_UTIL_H
#define SVMIGD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define SVMIGD_SHA256_LEN	32
#define SVMIGD_SHA256_HEX_LEN	(2 * SVMIGD_SHA256_LEN)
#define SVMIGD_SIG_MAX		1024		/* up to RSA-8192 */

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
 * verifying) for RSA keys of at least 2048 bits; other keys, and a NULL
 * @key (a certificate whose public key does not decode), -EINVAL.
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

/* 1 if stderr is the stream systemd's JOURNAL_STREAM names, else 0. */
int svmigd_stderr_is_journal(void);

/*
 * strerror() for threads: svmigd serves its connections in parallel, and
 * strerror() may share one buffer between them.  svmigd_strerror(e) gives
 * each call a buffer of its own (a compound literal, living to the end of
 * the enclosing block), filled by the GNU strerror_r().
 */
#define SVMIGD_STRERROR_LEN	128
const char *svmigd_strerror_r(int errnum, char *buf, size_t len);
#define svmigd_strerror(e) \
	svmigd_strerror_r((e), (char[SVMIGD_STRERROR_LEN]){ 0 }, SVMIGD_STRERROR_LEN)

/* Formats a message into err (if any) and returns ret: for error paths. */
int svmigd_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* PEM files: the first certificate; a private key (never prompts). */
X509 *svmigd_load_cert(const char *path, char *err, size_t errlen);
EVP_PKEY *svmigd_load_key(const char *path, char *err, size_t errlen);

#endif /* SVMIGD_UTIL_H */
