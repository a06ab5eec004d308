// SPDX-License-Identifier: GPL-2.0
/*
 * The policy claim of the handshake.  See policy_claim.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "msg.h"
#include "policy_claim.h"

int svmigd_policy_claim_add(struct json_object *msg,
			    const struct svmigd_policy *p)
{
	struct json_object *o = json_object_new_object();
	struct json_object *n = json_object_new_int64((int64_t)p->serial);

	if (!o || !n || svmig_msg_add_hex(o, "sha256", p->sha256,
					  SVMIGD_SHA256_LEN) ||
	    json_object_object_add(o, "serial", n)) {
		json_object_put(n);
		json_object_put(o);
		return -ENOMEM;
	}
	if (json_object_object_add(msg, SVMIGD_POLICY_CLAIM_KEY, o)) {
		json_object_put(o);
		return -ENOMEM;
	}
	return 0;
}

int svmigd_policy_claim_check(struct json_object *msg,
			      const struct svmigd_policy *p, const char *peer,
			      char *why, size_t whylen)
{
	struct json_object *o = NULL, *n = NULL;
	uint8_t sha[SVMIGD_SHA256_LEN];
	char theirs[SVMIGD_SHA256_HEX_LEN + 1], ours[SVMIGD_SHA256_HEX_LEN + 1];
	int64_t serial;

	if (!json_object_object_get_ex(msg, SVMIGD_POLICY_CLAIM_KEY, &o) ||
	    !json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 2 ||
	    !json_object_object_get_ex(o, "serial", &n) ||
	    !json_object_is_type(n, json_type_int) ||
	    svmig_msg_get_hex(o, "sha256", sha, sizeof(sha))) {
		snprintf(why, whylen, "malformed policy claim from %s", peer);
		return -EPROTO;
	}
	serial = json_object_get_int64(n);
	if (serial < 1 || (uint64_t)serial > SVMIGD_POLICY_SERIAL_MAX) {
		snprintf(why, whylen, "malformed policy claim from %s: serial",
			 peer);
		return -EPROTO;
	}
	if ((uint64_t)serial == p->serial &&
	    !CRYPTO_memcmp(sha, p->sha256, sizeof(sha)))
		return 0;
	svmigd_hex_encode(theirs, sha, sizeof(sha));
	svmigd_hex_encode(ours, p->sha256, sizeof(sha));
	snprintf(why, whylen,
		 "policy mismatch: %s enforces policy serial %lld (sha256 %.16s...), "
		 "this host serial %llu (sha256 %.16s...)%s",
		 peer, (long long)serial, theirs,
		 (unsigned long long)p->serial, ours,
		 (uint64_t)serial == p->serial ?
		 ": two different policies with one serial" :
		 (uint64_t)serial < p->serial ? ": the peer must load the newer policy" :
		 ": this host must load the newer policy");
	return -EACCES;
}

int svmigd_policy_claim_bind(uint8_t qual[SVMIGD_SHA256_LEN],
			     const struct svmigd_policy *p)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t be[8];
	int i, ok;

	for (i = 0; i < 8; i++)
		be[i] = (uint8_t)(p->serial >> (56 - 8 * i));
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, qual, SVMIGD_SHA256_LEN) == 1 &&
	     EVP_DigestUpdate(md, p->sha256, SVMIGD_SHA256_LEN) == 1 &&
	     EVP_DigestUpdate(md, be, sizeof(be)) == 1 &&
	     EVP_DigestFinal_ex(md, qual, NULL) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -ENOMEM;
}
