// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl's commands on this host's TPM: tpm-ak (the AK digest and PCR
 * values the policy enrols), tpm-bind-authority and tpm-authority (the
 * policy authority bound in an NV index).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "config.h"
#include "policy.h"
#include "tpm.h"
#include "util.h"
#include "ctl.h"

/* ------------------------------------------------------------ tpm-ak */

/*
 * The TPM did not open: name the device (a missing one is the usual
 * case: no TPM, or its driver not loaded) and the way to choose another.
 */
static int tpm_open_fail(const struct args *a, const char *tcti, int ret)
{
	const char *dev = NULL;

	if (!strncmp(tcti, "device:", 7))
		dev = tcti + 7;
	else if (!strcmp(tcti, "device"))
		dev = "/dev/tpm0";
	if (dev && access(dev, F_OK))
		return setup_fail(a, "no TPM at %s (%s); give another with --tcti "
				  "(e.g. --tcti device:/dev/tpmrm1, --tcti swtpm:port=2321)",
				  dev, strerror(errno));
	if (dev && access(dev, R_OK | W_OK))
		return setup_fail(a, "TPM %s: %s (svmigctl must run as root or in "
				  "the tss group)", dev, strerror(errno));
	return setup_fail(a, "TPM %s: %s (TSS2_LOG=all+ERROR shows the "
			  "library's own messages)", tcti, svmigd_tpm_strerror(ret));
}

int cmd_tpm_ak(const struct args *a)
{
	unsigned int idx[SVMIGD_TPM_PCR_COUNT];
	struct svmigd_tpm_pcrs pcrs = { 0 };
	struct svmigd_tpm_ak ak;
	struct svmigd_tpm *t;
	char hex[SVMIGD_SHA256_HEX_LEN + 1], key[8];
	const char *p = a->pcrs ?: "";
	size_t n = 0, i;
	int ret;

	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v >= SVMIGD_TPM_PCR_COUNT || n == SVMIGD_TPM_PCR_COUNT ||
		    (*end && *end != ',')) {
			fprintf(stderr, PROG ": bad --pcrs\n");
			return 2;
		}
		idx[n++] = (unsigned int)v;
		p = *end ? end + 1 : end;
	}
	ret = svmigd_tpm_open(a->tcti ?: SVMIGD_DEFAULT_TCTI, &t);
	if (ret)
		return tpm_open_fail(a, a->tcti ?: SVMIGD_DEFAULT_TCTI, ret);
	ret = svmigd_tpm_ak(t, &ak);
	if (!ret && n)
		ret = svmigd_tpm_pcr_read(t, idx, n, &pcrs);
	if (ret) {
		setup_fail(a, "TPM: %s (%s)", svmigd_tpm_strerror(ret),
			   svmigd_tpm_last_error(t));
		svmigd_tpm_close(t);
		return 2;
	}
	svmigd_tpm_close(t);
	svmigd_hex_encode(hex, ak.sha256, SVMIGD_SHA256_LEN);
	if (a->json) {
		struct json_object *o = json_object_new_object();
		struct json_object *po = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "ak_sha256", json_object_new_string(hex));
		for (i = 0; i < pcrs.count; i++) {
			svmigd_hex_encode(hex, pcrs.value[i], SVMIGD_SHA256_LEN);
			snprintf(key, sizeof(key), "%u", pcrs.index[i]);
			json_object_object_add(po, key, json_object_new_string(hex));
		}
		json_object_object_add(o, "pcrs", po);
		print_json(o);
		json_object_put(o);
	} else {
		printf("ak_sha256 %s\n", hex);
		for (i = 0; i < pcrs.count; i++) {
			svmigd_hex_encode(hex, pcrs.value[i], SVMIGD_SHA256_LEN);
			printf("pcr %u %s\n", pcrs.index[i], hex);
		}
	}
	return 0;
}

/* ------------------------------------------------- tpm authority binding */

/* "0x" and 1 to 8 hex digits, an owner NV index. */
static int parse_nv_index(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2] ||
	    strlen(s) > 10 || strspn(s + 2, "0123456789abcdefABCDEF") !=
	    strlen(s + 2))
		return -1;
	errno = 0;
	v = strtoul(s + 2, &end, 16);
	if (errno || *end || v < SVMIGD_TPM_NV_FIRST || v > SVMIGD_TPM_NV_LAST)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* The owner password: the file's bytes, one final newline dropped. */
static int read_owner_auth(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, size, f);
	if (ferror(f) || n == size) {
		fclose(f);
		return -E2BIG;
	}
	fclose(f);
	if (n && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	if (strlen(buf) != n)
		return -EINVAL;		/* a NUL inside */
	return 0;
}

static int tpm_binding_args(const struct args *a, uint32_t *nv)
{
	if (need(a->tcti, "--tcti") || need(a->nv_index, "--nv-index"))
		return 2;
	if (parse_nv_index(a->nv_index, nv)) {
		fprintf(stderr,
			PROG ": --nv-index: not an NV index 0x%08x to 0x%08x: %s\n",
			SVMIGD_TPM_NV_FIRST, SVMIGD_TPM_NV_LAST, a->nv_index);
		return 2;
	}
	return 0;
}

int cmd_tpm_bind_authority(const struct args *a)
{
	uint8_t digest[SVMIGD_SHA256_LEN];
	char hex[SVMIGD_SHA256_HEX_LEN + 1], err[512], auth[65] = "";
	struct svmigd_tpm *t;
	uint32_t nv;
	int ret;

	ret = tpm_binding_args(a, &nv);
	if (ret || need(a->authority, "--authority"))
		return 2;
	if (svmigd_authority_sha256(a->authority, digest, err, sizeof(err)))
		return setup_fail(a, "%s", err);
	if (a->owner_auth_file) {
		ret = read_owner_auth(a->owner_auth_file, auth, sizeof(auth));
		if (ret)
			return setup_fail(a, "%s: %s", a->owner_auth_file,
					  ret == -E2BIG ? "longer than 64 bytes" :
					  ret == -EINVAL ? "contains a NUL byte" :
					  strerror(-ret));
	}
	ret = svmigd_tpm_open(a->tcti, &t);
	if (ret) {
		OPENSSL_cleanse(auth, sizeof(auth));
		return tpm_open_fail(a, a->tcti, ret);
	}
	ret = svmigd_tpm_nv_bind(t, nv, digest, auth);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (ret) {
		snprintf(err, sizeof(err), "TPM NV index 0x%08x: %s (%s)", nv,
			 svmigd_tpm_strerror(ret), svmigd_tpm_last_error(t));
		svmigd_tpm_close(t);
		setup_fail(a, "%s", err);
		return ret == SVMIGD_TPM_EBOUND ? 1 : 2;
	}
	svmigd_tpm_close(t);
	svmigd_hex_encode(hex, digest, SVMIGD_SHA256_LEN);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		snprintf(err, sizeof(err), "0x%08x", nv);
		json_object_object_add(o, "nv_index", json_object_new_string(err));
		json_object_object_add(o, "authority_sha256",
				       json_object_new_string(hex));
		print_json(o);
		json_object_put(o);
	} else {
		printf("bound 0x%08x authority_sha256 %s\n", nv, hex);
	}
	return 0;
}

int cmd_tpm_authority(const struct args *a)
{
	uint8_t got[SVMIGD_SHA256_LEN], want[SVMIGD_SHA256_LEN];
	char hex[SVMIGD_SHA256_HEX_LEN + 1], err[512], idx[16];
	struct svmigd_tpm *t;
	bool match = true;
	uint32_t nv;
	int ret;

	ret = tpm_binding_args(a, &nv);
	if (ret)
		return ret;
	if (a->authority &&
	    svmigd_authority_sha256(a->authority, want, err, sizeof(err)))
		return setup_fail(a, "%s", err);
	ret = svmigd_tpm_open(a->tcti, &t);
	if (ret)
		return tpm_open_fail(a, a->tcti, ret);
	ret = svmigd_tpm_nv_read(t, nv, got, sizeof(got));
	if (ret) {
		snprintf(err, sizeof(err), "TPM NV index 0x%08x: %s (%s)", nv,
			 svmigd_tpm_strerror(ret), svmigd_tpm_last_error(t));
		svmigd_tpm_close(t);
		return setup_fail(a, "%s", err);
	}
	svmigd_tpm_close(t);
	if (a->authority)
		match = !CRYPTO_memcmp(got, want, sizeof(got));
	svmigd_hex_encode(hex, got, SVMIGD_SHA256_LEN);
	snprintf(idx, sizeof(idx), "0x%08x", nv);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(match));
		json_object_object_add(o, "nv_index", json_object_new_string(idx));
		json_object_object_add(o, "authority_sha256",
				       json_object_new_string(hex));
		if (a->authority)
			json_object_object_add(o, "match",
					       json_object_new_boolean(match));
		print_json(o);
		json_object_put(o);
	} else {
		printf("nv_index %s authority_sha256 %s\n", idx, hex);
		if (a->authority)
			printf("%s: %s\n", a->authority,
			       match ? "matches" : "does not match");
	}
	return match ? 0 : 1;
}
