// SPDX-License-Identifier: GPL-2.0
/*
 * AK provenance in the protocol: the EK in ATTEST, CHALLENGE and
 * ACTIVATED.  See credential.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "credential.h"
#include "msg.h"

static int cred_why(char *why, size_t why_len, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cred_why(char *why, size_t why_len, int ret, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	ERR_clear_error();
	return ret;
}

static int cred_tpm(struct svmigd_tpm *t, int err, const char *what,
		    char *why, size_t why_len)
{
	if (err == SVMIGD_TPM_ENOMEM)
		return cred_why(why, why_len, -ENOMEM, "out of memory");
	return cred_why(why, why_len, -EIO, "TPM: %s: %s (%s)", what,
			svmigd_tpm_strerror(err), svmigd_tpm_last_error(t));
}

/* @msg has exactly "type" and the @n @keys. */
static int cred_keys(struct json_object *msg, const char *const *keys,
		     size_t n, char *why, size_t why_len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!json_object_object_get_ex(msg, keys[i], NULL))
			return cred_why(why, why_len, -EPROTO,
					"malformed %s message: field \"%s\"",
					svmig_msg_type(msg), keys[i]);
	if ((size_t)json_object_object_length(msg) != n + 1)
		return cred_why(why, why_len, -EPROTO,
				"malformed %s message: unknown fields",
				svmig_msg_type(msg));
	return 0;
}

static int cred_hex(struct json_object *msg, const char *key, void *buf,
		    size_t min, size_t max, size_t *len, char *why,
		    size_t why_len)
{
	size_t got;

	if (svmig_msg_get_hex_range(msg, key, buf, min, max, len ? len : &got))
		return cred_why(why, why_len, -EPROTO,
				"malformed %s message: field \"%s\"",
				svmig_msg_type(msg), key);
	return 0;
}

/* The Name of the AK whose TPM2B_PUBLIC is @pub: 0x000b || SHA-256. */
static int ak_name(const uint8_t *pub, size_t len,
		   uint8_t name[SVMIGD_TPM_NAME_LEN])
{
	name[0] = 0x00;
	name[1] = 0x0b;		/* TPM2_ALG_SHA256 */
	return svmigd_tpm_ak_digest(pub, len, name + 2);
}

int svmigd_cred_proof(const uint8_t s[SVMIGD_TPM_DIGEST_LEN],
		      const uint8_t e[SVMIGD_CRED_E_LEN],
		      const uint8_t name[SVMIGD_TPM_NAME_LEN],
		      uint8_t proof[SVMIGD_SHA256_LEN])
{
	uint8_t data[sizeof(SVMIGD_CRED_LABEL) - 1 + SVMIGD_CRED_E_LEN +
		     SVMIGD_TPM_NAME_LEN];
	size_t off = sizeof(SVMIGD_CRED_LABEL) - 1;
	unsigned int len = 0;

	memcpy(data, SVMIGD_CRED_LABEL, off);
	memcpy(data + off, e, SVMIGD_CRED_E_LEN);
	memcpy(data + off + SVMIGD_CRED_E_LEN, name, SVMIGD_TPM_NAME_LEN);
	if (!HMAC(EVP_sha256(), s, SVMIGD_TPM_DIGEST_LEN, data, sizeof(data),
		  proof, &len) || len != SVMIGD_SHA256_LEN)
		return -ENOMEM;
	return 0;
}

/* ---- ATTEST's EK ---- */

int svmigd_cred_add_ek(struct svmigd_tpm *t, struct json_object *msg,
		       char *why, size_t why_len)
{
	struct svmigd_tpm_ek *ek = malloc(sizeof(*ek));
	int ret;

	if (!ek)
		return cred_why(why, why_len, -ENOMEM, "out of memory");
	ret = svmigd_tpm_ek(t, ek);
	if (ret)
		ret = cred_tpm(t, ret, "reading the EK and its certificate",
			       why, why_len);
	else if (svmig_msg_add_hex(msg, "ek", ek->pub, ek->pub_len) ||
		 svmig_msg_add_hex(msg, "ek_cert", ek->cert, ek->cert_len))
		ret = cred_why(why, why_len, -ENOMEM, "out of memory");
	free(ek);
	return ret;
}

int svmigd_cred_check_ek(struct json_object *msg,
			 const struct svmigd_policy *p,
			 const struct svmigd_policy_host *h,
			 struct svmigd_cred_peer *peer, char *why,
			 size_t why_len)
{
	const struct svmigd_ek_cas *cas = svmigd_policy_ek_cas_for(p, h);
	uint8_t *cert;
	size_t cert_len;
	char v[256];
	int ret;

	memset(peer, 0, sizeof(*peer));
	ret = cred_hex(msg, "ek", peer->ek, 1, SVMIGD_TPM_PUBLIC_MAX,
		       &peer->ek_len, why, why_len);
	if (ret)
		return ret;
	cert = malloc(SVMIGD_TPM_EK_CERT_MAX);
	if (!cert)
		return cred_why(why, why_len, -ENOMEM, "out of memory");
	ret = cred_hex(msg, "ek_cert", cert, 1, SVMIGD_TPM_EK_CERT_MAX,
		       &cert_len, why, why_len);
	if (ret)
		goto out;
	if (!cas) {
		ret = cred_why(why, why_len, -EACCES,
			       "the policy names no manufacturer CA (ek_cas) for %s: "
			       "its EK, hence its AK, cannot be trusted; refused",
			       h && h->name ? h->name : "this host");
		goto out;
	}
	ret = svmigd_ek_verify_pem(cert, cert_len, peer->ek, peer->ek_len,
				   (const char *const *)cas->pem, cas->n, v,
				   sizeof(v));
	if (ret == SVMIGD_TPM_ENOMEM || ret == SVMIGD_TPM_ECRYPTO)
		ret = cred_why(why, why_len, -ENOMEM, "checking the EK: %s",
			       svmigd_tpm_strerror(ret));
	else if (ret)
		ret = cred_why(why, why_len, -EACCES, "%s; refused", v);
	else
		peer->ek_ok = true;
out:
	free(cert);
	return ret;
}

/* ---- CHALLENGE ---- */

int svmigd_cred_challenge(struct svmigd_tpm *t, struct svmigd_cred_peer *peer,
			  const uint8_t *ak_pub, size_t ak_pub_len,
			  const uint8_t e[SVMIGD_CRED_E_LEN],
			  struct json_object **msg, char *why, size_t why_len)
{
	uint8_t name[SVMIGD_TPM_NAME_LEN], s[SVMIGD_TPM_DIGEST_LEN];
	struct svmigd_tpm_cred *c;
	int ret;

	*msg = NULL;
	peer->challenged = false;
	if (!peer->ek_ok)
		return cred_why(why, why_len, -EACCES,
				"its EK was not verified; refused");
	if (ak_name(ak_pub, ak_pub_len, name))
		return cred_why(why, why_len, -EACCES,
				"its AK is not one TPM2B_PUBLIC; refused");
	c = malloc(sizeof(*c));
	if (!c)
		return cred_why(why, why_len, -ENOMEM, "out of memory");
	if (RAND_bytes(s, sizeof(s)) != 1) {
		ret = cred_why(why, why_len, -ENOMEM, "no random bytes");
		goto out;
	}
	ret = svmigd_tpm_make_credential(t, peer->ek, peer->ek_len, name, s, c);
	if (ret == SVMIGD_TPM_EEKCERT) {
		ret = cred_why(why, why_len, -EACCES,
			       "its EK is not an RSA 2048 EK; refused");
		goto out;
	}
	if (ret) {
		ret = cred_tpm(t, ret, "MakeCredential", why, why_len);
		goto out;
	}
	if (svmigd_cred_proof(s, e, name, peer->proof)) {
		ret = cred_why(why, why_len, -ENOMEM, "out of memory");
		goto out;
	}
	*msg = svmig_msg_new(SVMIG_MSG_CHALLENGE);
	if (!*msg || svmig_msg_add_hex(*msg, "blob", c->blob, c->blob_len) ||
	    svmig_msg_add_hex(*msg, "secret", c->secret, c->secret_len)) {
		json_object_put(*msg);
		*msg = NULL;
		ret = cred_why(why, why_len, -ENOMEM, "out of memory");
		goto out;
	}
	peer->challenged = true;
out:
	OPENSSL_cleanse(s, sizeof(s));
	free(c);
	return ret;
}

/* ---- ACTIVATED ---- */

int svmigd_cred_parse_challenge(struct json_object *msg,
				struct svmigd_tpm_cred *c, char *why,
				size_t why_len)
{
	static const char *const keys[] = { "blob", "secret" };
	int ret = cred_keys(msg, keys, 2, why, why_len);

	memset(c, 0, sizeof(*c));
	if (!ret)
		ret = cred_hex(msg, "blob", c->blob, 1, sizeof(c->blob),
			       &c->blob_len, why, why_len);
	if (!ret)
		ret = cred_hex(msg, "secret", c->secret, 1, sizeof(c->secret),
			       &c->secret_len, why, why_len);
	return ret;
}

int svmigd_cred_activate(struct svmigd_tpm *t, const struct svmigd_tpm_ak *ak,
			 const uint8_t e[SVMIGD_CRED_E_LEN],
			 struct json_object *challenge,
			 struct json_object **msg, char *why, size_t why_len)
{
	uint8_t name[SVMIGD_TPM_NAME_LEN], s[SVMIGD_TPM_DIGEST_LEN];
	uint8_t proof[SVMIGD_SHA256_LEN];
	struct svmigd_tpm_cred *c;
	int ret;

	*msg = NULL;
	if (ak_name(ak->pub, ak->pub_len, name))
		return cred_why(why, why_len, -EIO, "our AK has no Name");
	c = calloc(1, sizeof(*c));
	if (!c)
		return cred_why(why, why_len, -ENOMEM, "out of memory");
	ret = svmigd_cred_parse_challenge(challenge, c, why, why_len);
	if (ret)
		goto out;
	ret = svmigd_tpm_activate(t, c, s);
	if (ret == SVMIGD_TPM_EINVAL) {
		ret = cred_why(why, why_len, -EPROTO,
			       "malformed CHALLENGE message: not a credential");
		goto out;
	}
	if (ret == SVMIGD_TPM_ETPM) {
		ret = cred_why(why, why_len, -EACCES,
			       "credential activation failed: this host's TPM "
			       "cannot activate the credential for the AK it "
			       "presented under its EK (%s)",
			       svmigd_tpm_last_error(t));
		goto out;
	}
	if (ret) {
		ret = cred_tpm(t, ret, "ActivateCredential", why, why_len);
		goto out;
	}
	ret = svmigd_cred_proof(s, e, name, proof);
	*msg = ret ? NULL : svmig_msg_new(SVMIG_MSG_ACTIVATED);
	if (!*msg || svmig_msg_add_hex(*msg, "proof", proof, sizeof(proof))) {
		json_object_put(*msg);
		*msg = NULL;
		ret = cred_why(why, why_len, -ENOMEM, "out of memory");
	}
out:
	OPENSSL_cleanse(s, sizeof(s));
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
	return ret;
}

int svmigd_cred_verify(struct svmigd_cred_peer *peer, struct json_object *msg,
		       char *why, size_t why_len)
{
	static const char *const keys[] = { "proof" };
	uint8_t got[SVMIGD_SHA256_LEN];
	bool challenged = peer->challenged;
	int ret;

	peer->challenged = false;	/* one answer per challenge */
	ret = cred_keys(msg, keys, 1, why, why_len);
	if (!ret)
		ret = cred_hex(msg, "proof", got, sizeof(got), sizeof(got),
			       NULL, why, why_len);
	if (ret)
		return ret;
	if (!challenged || CRYPTO_memcmp(got, peer->proof, sizeof(got)))
		return cred_why(why, why_len, -EACCES,
				"the credential activation proof is wrong: its "
				"AK is not proven to be a key of the TPM that "
				"holds its certified EK (or the proof was made "
				"for another connection); refused");
	OPENSSL_cleanse(peer->proof, sizeof(peer->proof));
	return 0;
}
