// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl's commands on signed files, without svmigd: request writes an
 * operator's signed migration request, audit verify checks an audit
 * log's signatures and chain, policy check a signed policy and what it
 * allows.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "audit.h"
#include "policy.h"
#include "request.h"
#include "util.h"
#include "ctl.h"

/* ------------------------------------------------------------ request */

/* SHA-256 of @text and a newline: the file as written. */
static int file_sha256(const char *text, uint8_t md[SVMIGD_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, text, strlen(text)) == 1 &&
		 EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, NULL) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -ENOMEM;
}

/* --json: where the request went, its digests, what it asks. */
static void request_json(const struct args *a, const struct svmigd_request *r,
			 const char *out)
{
	struct json_object *o = json_object_new_object();
	uint8_t md[SVMIGD_SHA256_LEN];
	char hex[SVMIGD_SHA256_HEX_LEN + 1], *canon = NULL, err[256];

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	add_str(o, "file", a->out);
	if (!file_sha256(out, md)) {
		svmigd_hex_encode(hex, md, sizeof(md));
		add_str(o, "sha256", hex);	/* sha256sum FILE */
	}
	if (!svmigd_request_canonical(r, &canon, err, sizeof(err)) &&
	    !svmigd_sha256(canon, strlen(canon), md)) {
		svmigd_hex_encode(hex, md, sizeof(md));
		add_str(o, "request_sha256", hex);	/* what was signed */
	}
	free(canon);
	add_str(o, "vm", r->vm);
	add_str(o, "source", r->source);
	add_str(o, "target", r->target);
	add_int(o, "vm_mem_mib", (long long)r->vm_mem_mib);
	add_int(o, "vm_vcpus", r->vm_vcpus);
	add_int(o, "time", r->time);
	svmigd_hex_encode(hex, r->nonce, sizeof(r->nonce));
	add_str(o, "nonce", hex);
	print_json(o);
	json_object_put(o);
}

int cmd_request(const struct args *a)
{
	struct svmigd_request r;
	char err[512], *out = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	FILE *f;
	int rc = 2;

	if (need(a->vm, "--vm") || need(a->source, "--source") ||
	    need(a->target, "--target") || need(a->cert, "--cert") ||
	    need(a->key, "--key") || need(a->out, "--out"))
		return 2;
	if (!a->mem || !a->vcpus) {
		fprintf(stderr, PROG ": --mem and --vcpus are required\n");
		return 2;
	}
	if (svmigd_request_init(&r, a->vm, a->source, a->target, a->mem,
				(uint32_t)a->vcpus, err, sizeof(err)))
		goto fail;
	cert = svmigd_load_cert(a->cert, err, sizeof(err));
	if (!cert)
		goto fail;
	key = svmigd_load_key(a->key, err, sizeof(err));
	if (!key)
		goto fail;
	if (svmigd_request_sign(&r, key, cert, &out, err, sizeof(err)))
		goto fail;
	f = fopen(a->out, "w");
	if (!f || fprintf(f, "%s\n", out) < 0 || fclose(f)) {
		snprintf(err, sizeof(err), "%s: %s", a->out, strerror(errno));
		goto fail;
	}
	if (a->json)
		request_json(a, &r, out);
	rc = 0;
	goto out;
fail:
	setup_fail(a, "%s", err);
out:
	free(out);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

/* ------------------------------------------------------------ audit */

int cmd_audit_verify(const struct args *a)
{
	struct svmigd_audit_report rep;
	char err[1024], hex[SVMIGD_SHA256_HEX_LEN + 1];
	int ret, rc;

	if (need(a->log, "--log") || need(a->cert, "--cert"))
		return 2;
	memset(&rep, 0, sizeof(rep));
	ret = svmigd_audit_verify(a->log, a->cert, &rep, err, sizeof(err));
	rc = ret == 0 ? 0 : ret == -EBADMSG ? 1 : 2;
	svmigd_hex_encode(hex, rep.last_sha256, SVMIGD_SHA256_LEN);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(!ret));
		json_object_object_add(o, "intact", json_object_new_boolean(!ret));
		json_object_object_add(o, "records", json_object_new_int64((int64_t)rep.records));
		json_object_object_add(o, "last_sha256", json_object_new_string(hex));
		if (ret == -EBADMSG) {
			add_int(o, "broken_line", (long long)rep.line);
			add_int(o, "broken_seq", (long long)rep.seq);
		}
		if (ret)
			json_object_object_add(o, "error", json_object_new_string(err));
		print_json(o);
		json_object_put(o);
	} else if (!ret) {
		printf("%s: %llu records, intact; last %s\n", a->log,
		       (unsigned long long)rep.records, hex);
	} else if (rc == 1) {
		printf("%s: BROKEN: %s\n", a->log, err);
	} else {
		fprintf(stderr, PROG ": %s\n", err);
	}
	return rc;
}

/* ------------------------------------------------------------ policy */

int cmd_policy_check(const struct args *a)
{
	struct svmigd_policy_decision dec;
	struct svmigd_policy *p = NULL;
	uint8_t fpr[SVMIGD_SHA256_LEN];
	char err[1024];
	X509 *cert;
	int ret;

	if (need(a->policy, "--policy") || need(a->sig, "--sig") ||
	    need(a->authority, "--authority") || need(a->cert, "--cert") ||
	    need(a->vm, "--vm") || need(a->source, "--source") ||
	    need(a->target, "--target"))
		return 2;
	if (svmigd_policy_load(&p, a->policy, a->sig, a->authority, err,
			       sizeof(err)))
		return setup_fail(a, "%s", err);
	cert = svmigd_load_cert(a->cert, err, sizeof(err));
	if (cert && svmigd_cert_sha256(cert, fpr)) {
		/* err holds nothing yet: say what failed */
		snprintf(err, sizeof(err), "%s: cannot fingerprint the certificate",
			 a->cert);
		X509_free(cert);
		cert = NULL;
	}
	if (!cert) {
		svmigd_policy_free(p);
		return setup_fail(a, "%s", err);
	}
	ret = svmigd_policy_decide(p, fpr, a->vm, a->source, a->target, &dec);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(!ret));
		json_object_object_add(o, "allowed", json_object_new_boolean(!ret));
		json_object_object_add(o, "check", json_object_new_int(dec.check));
		json_object_object_add(o, "reason", json_object_new_string(dec.reason));
		if (dec.operator)
			json_object_object_add(o, "operator", json_object_new_string(dec.operator));
		if (dec.role)
			json_object_object_add(o, "role", json_object_new_string(dec.role));
		print_json(o);
		json_object_put(o);
	} else {
		printf("%s: %s\n", ret ? "refused" : "allowed", dec.reason);
	}
	X509_free(cert);
	svmigd_policy_free(p);
	return ret ? 1 : 0;
}
