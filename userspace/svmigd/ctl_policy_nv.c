// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl tpm-bind-policy and tpm-policy: the policy binding with its
 * rollback counter in this host's TPM (policy_nv.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "policy.h"
#include "policy_nv.h"
#include "tpm.h"
#include "util.h"
#include "ctl.h"

static int nv_arg(const char *opt, const char *val, uint32_t *out)
{
	if (ctl_parse_nv_index(val, out)) {
		fprintf(stderr, PROG ": %s: not an NV index 0x%08x to 0x%08x: %s\n",
			opt, SVMIGD_TPM_NV_FIRST, SVMIGD_TPM_NV_LAST, val);
		return 2;
	}
	return 0;
}

static void nv_print(const struct args *a, uint32_t idx,
		     const struct svmigd_policy_nv *nv, const char *authority,
		     int match)
{
	char hex[SVMIGD_SHA256_HEX_LEN + 1], s[16];

	svmigd_hex_encode(hex, nv->authority_sha256, SVMIGD_SHA256_LEN);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(match != 0));
		snprintf(s, sizeof(s), "0x%08x", idx);
		json_object_object_add(o, "nv_index", json_object_new_string(s));
		snprintf(s, sizeof(s), "0x%08x", nv->counter_index);
		json_object_object_add(o, "counter_index", json_object_new_string(s));
		json_object_object_add(o, "authority_sha256", json_object_new_string(hex));
		json_object_object_add(o, "highest_serial",
				       json_object_new_int64((int64_t)nv->highest));
		if (authority)
			json_object_object_add(o, "match", json_object_new_boolean(match));
		print_json(o);
		json_object_put(o);
		return;
	}
	printf("nv_index 0x%08x counter_index 0x%08x authority_sha256 %s highest_serial %llu\n",
	       idx, nv->counter_index, hex, (unsigned long long)nv->highest);
	if (authority)
		printf("%s: %s\n", authority, match ? "matches" : "does not match");
}

int cmd_tpm_bind_policy(const struct args *a)
{
	uint8_t digest[SVMIGD_SHA256_LEN];
	struct svmigd_policy_nv nv;
	char err[512], auth[65] = "";
	struct svmigd_tpm *t;
	uint32_t idx, cidx;
	int ret;

	if (need(a->tcti, "--tcti") || need(a->nv_index, "--nv-index") ||
	    need(a->counter_index, "--counter-index") ||
	    need(a->authority, "--authority") ||
	    nv_arg("--nv-index", a->nv_index, &idx) ||
	    nv_arg("--counter-index", a->counter_index, &cidx))
		return 2;
	if (idx == cidx) {
		fprintf(stderr, PROG ": --nv-index and --counter-index must differ\n");
		return 2;
	}
	if (svmigd_authority_sha256(a->authority, digest, err, sizeof(err)))
		return setup_fail(a, "%s", err);
	if (a->owner_auth_file) {
		ret = ctl_read_owner_auth(a->owner_auth_file, auth, sizeof(auth));
		if (ret)
			return setup_fail(a, "%s: %s", a->owner_auth_file,
					  ret == -E2BIG ? "longer than 64 bytes" :
					  ret == -EINVAL ? "contains a NUL byte" :
					  strerror(-ret));
	}
	ret = svmigd_tpm_open(a->tcti, &t);
	if (ret) {
		OPENSSL_cleanse(auth, sizeof(auth));
		return ctl_tpm_open_fail(a, a->tcti, ret);
	}
	ret = svmigd_policy_nv_bind(t, idx, cidx, digest, auth, &nv, err,
				    sizeof(err));
	OPENSSL_cleanse(auth, sizeof(auth));
	svmigd_tpm_close(t);
	if (ret) {
		setup_fail(a, "%s", err);
		return ret == -EEXIST ? 1 : 2;
	}
	nv_print(a, idx, &nv, NULL, 1);
	return 0;
}

int cmd_tpm_policy(const struct args *a)
{
	uint8_t want[SVMIGD_SHA256_LEN];
	struct svmigd_policy_nv nv;
	struct svmigd_tpm *t;
	char err[512];
	uint32_t idx;
	int ret, match = 1;

	if (need(a->tcti, "--tcti") || need(a->nv_index, "--nv-index") ||
	    nv_arg("--nv-index", a->nv_index, &idx))
		return 2;
	if (a->authority &&
	    svmigd_authority_sha256(a->authority, want, err, sizeof(err)))
		return setup_fail(a, "%s", err);
	ret = svmigd_tpm_open(a->tcti, &t);
	if (ret)
		return ctl_tpm_open_fail(a, a->tcti, ret);
	ret = svmigd_policy_nv_read(t, idx, &nv, err, sizeof(err));
	svmigd_tpm_close(t);
	if (ret)
		return setup_fail(a, "%s", err);
	if (a->authority)
		match = !CRYPTO_memcmp(nv.authority_sha256, want, sizeof(want));
	nv_print(a, idx, &nv, a->authority, match);
	return match ? 0 : 1;
}
