// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl's commands on this host's TPM: tpm-ak (the AK digest and PCR
 * values the policy enrols), tpm-ek (the EK certificate, checked against
 * manufacturer CAs, and the AK public area), tpm-bind-authority and
 * tpm-authority (the policy authority bound in an NV index).
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
#include <openssl/pem.h>
#include <openssl/x509.h>

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
int ctl_tpm_open_fail(const struct args *a, const char *tcti, int ret)
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
		return ctl_tpm_open_fail(a, a->tcti ?: SVMIGD_DEFAULT_TCTI, ret);
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

/* ------------------------------------------------------------ tpm-ek */

int cmd_tpm_ek(const struct args *a)
{
	const char *ca[1] = { a->ek_ca };
	struct svmigd_tpm_ek *ek = calloc(1, sizeof(*ek));
	struct svmigd_tpm_ak ak;
	struct svmigd_tpm *t;
	const unsigned char *p;
	unsigned char *der = NULL;
	char *hex = NULL, why[256] = "";
	X509 *x = NULL;
	int ret, n = 0, verdict = 0;

	if (!ek)
		return setup_fail(a, "out of memory");
	ret = svmigd_tpm_open(a->tcti ?: SVMIGD_DEFAULT_TCTI, &t);
	if (ret) {
		free(ek);
		return ctl_tpm_open_fail(a, a->tcti ?: SVMIGD_DEFAULT_TCTI, ret);
	}
	ret = svmigd_tpm_ek(t, ek);
	if (!ret)
		ret = svmigd_tpm_ak(t, &ak);
	if (ret) {
		setup_fail(a, "TPM: %s (%s)", svmigd_tpm_strerror(ret),
			   svmigd_tpm_last_error(t));
		svmigd_tpm_close(t);
		free(ek);
		return 2;
	}
	svmigd_tpm_close(t);
	p = ek->cert;
	x = d2i_X509(NULL, &p, (long)ek->cert_len);
	if (x)
		n = i2d_X509(x, &der);
	hex = malloc(2 * (n > 0 ? (size_t)n : ak.pub_len) + 2 * ak.pub_len + 1);
	if (!x || n <= 0 || !hex) {
		ret = setup_fail(a, "the EK certificate in NV index 0x%08x is not "
				 "DER X.509", SVMIGD_TPM_EK_CERT_NV_RSA);
		goto out;
	}
	if (a->ek_ca)
		verdict = svmigd_ek_verify(ek->cert, ek->cert_len, ek->pub,
					   ek->pub_len, ca, 1, why, sizeof(why));
	if (verdict == SVMIGD_TPM_EINVAL || verdict == SVMIGD_TPM_ENOMEM ||
	    verdict == SVMIGD_TPM_ECRYPTO) {
		ret = setup_fail(a, "--ek-ca %s: %s", a->ek_ca,
				 why[0] ? why : svmigd_tpm_strerror(verdict));
		goto out;
	}
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(!verdict));
		if (verdict)
			json_object_object_add(o, "error", json_object_new_string(why));
		svmigd_hex_encode(hex, der, (size_t)n);
		json_object_object_add(o, "ek_cert", json_object_new_string(hex));
		svmigd_hex_encode(hex, ak.pub, ak.pub_len);
		json_object_object_add(o, "ak_public", json_object_new_string(hex));
		svmigd_hex_encode(hex, ak.sha256, SVMIGD_SHA256_LEN);
		json_object_object_add(o, "ak_sha256", json_object_new_string(hex));
		if (a->ek_ca)
			json_object_object_add(o, "ek_verified",
					       json_object_new_boolean(!verdict));
		print_json(o);
		json_object_put(o);
	} else {
		PEM_write_X509(stdout, x);
		svmigd_hex_encode(hex, ak.pub, ak.pub_len);
		printf("ak_public %s\n", hex);
		svmigd_hex_encode(hex, ak.sha256, SVMIGD_SHA256_LEN);
		printf("ak_sha256 %s\n", hex);
		if (a->ek_ca && !verdict)
			printf("ek verified: chains to a CA of %s, its key is this TPM's EK\n",
			       a->ek_ca);
		else if (verdict)
			printf("ek REFUSED: %s\n", why);
	}
	ret = verdict ? 1 : 0;
out:
	free(hex);
	OPENSSL_free(der);
	X509_free(x);
	free(ek);
	return ret;
}

/* ------------------------------------------------- tpm authority binding */

/* "0x" and 1 to 8 hex digits, an owner NV index. */
int ctl_parse_nv_index(const char *s, uint32_t *out)
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
int ctl_read_owner_auth(const char *path, char *buf, size_t size)
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
	if (ctl_parse_nv_index(a->nv_index, nv)) {
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
		return ctl_tpm_open_fail(a, a->tcti, ret);
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
