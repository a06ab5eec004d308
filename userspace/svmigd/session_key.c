// SPDX-License-Identifier: GPL-2.0
/*
 * The session's KEY and CONFIRM steps: the TPM-held ECDH keys, the
 * secret and the session id from the transcript, the key confirmation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "session_int.h"
#include "util.h"

static int sess_hkdf(const uint8_t salt[SVMIGD_SHA256_LEN],
		     const uint8_t z[SVMIGD_TPM_Z_LEN], const char *label,
		     uint8_t out[SVMIGD_SECRET_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 digest, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						  (void *)z, SVMIGD_TPM_Z_LEN),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						  (void *)salt,
						  SVMIGD_SHA256_LEN),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						  (void *)label, strlen(label)),
		OSSL_PARAM_construct_end(),
	};
	int ok = ctx && EVP_KDF_derive(ctx, out, SVMIGD_SECRET_LEN,
				       params) == 1;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -ENOMEM;
}

int key_send(struct sess *s)
{
	uint8_t qual[SVMIGD_TPM_QUAL_LEN], point[SVMIGD_TPM_POINT_LEN];
	struct svmigd_tpm_ecdh_cert *c = malloc(sizeof(*c));
	struct json_object *msg = NULL;
	int ret;

	if (!c)
		return sess_nomem(s);
	ret = sess_qual(s, "ecdh", NULL, qual);
	if (ret)
		goto out;
	ret = svmigd_tpm_ecdh_create(s->cfg->tpm, qual, &s->key, c);
	if (!ret)
		ret = svmigd_tpm_ecdh_point(s->key, point);
	if (ret) {
		ret = sess_tpm_fail(s, ret, "ECDH key");
		goto out;
	}
	msg = svmig_msg_new(SVMIG_MSG_KEY);
	if (svmigd_sha256(point, sizeof(point), s->out->key_sha256) || !msg ||
	    svmig_msg_add_hex(msg, "pub", c->pub, c->pub_len) ||
	    svmig_msg_add_hex(msg, "attest", c->attest, c->attest_len) ||
	    svmig_msg_add_hex(msg, "sig", c->sig, c->sig_len)) {
		ret = sess_nomem(s);
		goto out;
	}
	ret = sess_send(s, msg);
out:
	json_object_put(msg);
	free(c);
	return ret;
}

static int key_check(struct sess *s, struct json_object *msg,
		     struct svmigd_tpm_ecdh_cert *c)
{
	static const char *const keys[] = { "pub", "attest", "sig" };
	uint8_t qual[SVMIGD_TPM_QUAL_LEN];
	char why[256];
	int ret;

	ret = sess_keys(s, msg, keys, 3);
	if (!ret)
		ret = sess_get_hex(s, msg, "pub", c->pub, 1,
				   SVMIGD_TPM_PUBLIC_MAX, &c->pub_len);
	if (!ret)
		ret = sess_get_hex(s, msg, "attest", c->attest, 1,
				   SVMIGD_TPM_ATTEST_MAX, &c->attest_len);
	if (!ret)
		ret = sess_get_hex(s, msg, "sig", c->sig, 1,
				   SVMIGD_TPM_SIG_MAX, &c->sig_len);
	if (!ret)
		ret = sess_qual(s, "ecdh", NULL, qual);
	if (ret)
		return ret;
	ret = svmigd_tpm_verify_ecdh(s->peer_ak, s->peer_ak_len,
				     s->them->ak_sha256, c, qual,
				     s->peer_point, why, sizeof(why));
	if (ret == SVMIGD_TPM_ENOMEM || ret == SVMIGD_TPM_ECRYPTO)
		return sess_tpm_fail(s, ret, "verifying the peer's ECDH key");
	if (ret)
		return sess_fail(s, SK_REFUSE, -EACCES, "%s's ECDH key: %s",
				 s->peer, why);
	if (svmigd_sha256(s->peer_point, sizeof(s->peer_point),
			  s->out->peer_key_sha256))
		return sess_nomem(s);
	return 0;
}

int key_recv(struct sess *s)
{
	struct svmigd_tpm_ecdh_cert *c;
	struct json_object *msg;
	int ret = sess_recv(s, SVMIG_MSG_KEY, &msg);

	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	ret = c ? key_check(s, msg, c) : sess_nomem(s);
	free(c);
	json_object_put(msg);
	return ret;
}

static int sess_audit_session(struct sess *s)
{
	const struct svmigd_session *o = s->ses;
	struct json_object *d = sess_details(s);
	int ret = d ? 0 : -ENOMEM;

	if (!ret)
		ret = svmig_msg_add_hex(d, "session", o->id, sizeof(o->id));
	if (!ret)
		ret = svmig_msg_add_hex(d, "transcript", o->transcript,
					sizeof(o->transcript));
	if (!ret)
		ret = svmig_msg_add_hex(d, "quote", o->quote_sha256, 32);
	if (!ret)
		ret = svmig_msg_add_hex(d, "peer_quote", o->peer_quote_sha256,
					32);
	if (!ret)
		ret = svmig_msg_add_hex(d, "key", o->key_sha256, 32);
	if (!ret)
		ret = svmig_msg_add_hex(d, "peer_key", o->peer_key_sha256, 32);
	if (!ret)
		ret = sess_add_str(d, "operator", o->operator);
	if (!ret)
		ret = sess_add_str(d, "rule", o->role);
	return sess_record(s, "session", d, ret);
}

/* Z, then the secret and the id from the transcript; Z wiped. */
int sess_derive(struct sess *s)
{
	struct svmigd_session *o = s->out;
	uint8_t z[SVMIGD_TPM_Z_LEN], id[SVMIGD_SHA256_LEN];
	int ret;

	ret = svmigd_tpm_ecdh_zgen(s->key, s->peer_point, z);
	svmigd_tpm_ecdh_free(s->key);
	s->key = NULL;
	if (ret)
		return sess_tpm_fail(s, ret, "ECDH");
	ret = EVP_DigestFinal_ex(s->hash, o->transcript, NULL) == 1 ? 0 :
	      -ENOMEM;
	EVP_MD_CTX_free(s->hash);	/* the transcript ends with the KEYs */
	s->hash = NULL;
	if (!ret)
		ret = sess_hkdf(o->transcript, z, SESS_SECRET_INFO, o->secret);
	if (!ret)
		ret = sess_hkdf(o->transcript, z, SESS_CONFIRM_INFO, s->kc);
	OPENSSL_cleanse(z, sizeof(z));
	if (!ret)
		ret = sess_sha256(SESS_ID_LABEL, strlen(SESS_ID_LABEL),
				  o->transcript, sizeof(o->transcript), "", 0,
				  id);
	if (ret)
		return sess_nomem(s);
	memcpy(o->id, id, sizeof(o->id));
	sess_copy(o->peer, sizeof(o->peer), s->peer);
	return sess_audit_session(s);
}

/* HMAC-SHA-256(Kc, "source" or "target" || H): what that side sends. */
static int confirm_mac(const struct sess *s, bool source,
		       uint8_t mac[SVMIGD_SHA256_LEN])
{
	const char *role = source ? "source" : "target";
	uint8_t data[6 + SVMIGD_SHA256_LEN];
	unsigned int len = 0;

	memcpy(data, role, 6);
	memcpy(data + 6, s->out->transcript, SVMIGD_SHA256_LEN);
	if (!HMAC(EVP_sha256(), s->kc, sizeof(s->kc), data, sizeof(data), mac,
		  &len) || len != SVMIGD_SHA256_LEN)
		return -ENOMEM;
	return 0;
}

int confirm_send(struct sess *s)
{
	uint8_t mac[SVMIGD_SHA256_LEN];
	struct json_object *msg;
	int ret;

	s->step = SVMIG_MSG_CONFIRM;
	if (confirm_mac(s, s->out->source, mac))
		return sess_nomem(s);
	msg = svmig_msg_new(SVMIG_MSG_CONFIRM);
	if (msg && svmig_msg_add_hex(msg, "mac", mac, sizeof(mac))) {
		json_object_put(msg);
		msg = NULL;
	}
	ret = sess_send(s, msg);
	json_object_put(msg);
	return ret;
}

int confirm_recv(struct sess *s)
{
	static const char *const keys[] = { "mac" };
	uint8_t got[SVMIGD_SHA256_LEN], want[SVMIGD_SHA256_LEN];
	struct json_object *msg;
	int ret;

	s->step = SVMIG_MSG_CONFIRM;
	ret = sess_recv(s, SVMIG_MSG_CONFIRM, &msg);
	if (ret)
		return ret;
	ret = sess_keys(s, msg, keys, 1);
	if (!ret)
		ret = sess_get_hex(s, msg, "mac", got, sizeof(got), sizeof(got),
				   NULL);
	json_object_put(msg);
	if (ret)
		return ret;
	if (confirm_mac(s, !s->out->source, want))
		return sess_nomem(s);
	if (CRYPTO_memcmp(got, want, sizeof(got)))
		return sess_fail(s, SK_REFUSE, -EACCES,
				 "key confirmation failed: %s did not derive "
				 "this session's keys", s->peer);
	return 0;
}
