// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl's commands on signed files, without svmigd: request writes an
 * operator's signed migration request, audit verify checks an audit
 * log's signatures, chain and signed head (and with --peer the peers' and
 * operators' signed messages it keeps, with --anchor a head kept
 * elsewhere), policy check a signed policy and what it allows.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit.h"
#include "audit_evidence.h"
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

/* The certificates of the PEM file @path (one or more). */
static STACK_OF(X509) *load_certs(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	FILE *f = fopen(path, "re");
	X509 *c;

	if (!sk || !f) {
		snprintf(err, errlen, "%s: %s", path, f ? "out of memory" :
			 strerror(errno));
		goto fail;
	}
	while ((c = PEM_read_X509(f, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, c)) {
			X509_free(c);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	ERR_clear_error();
	fclose(f);
	if (sk_X509_num(sk))
		return sk;
	snprintf(err, errlen, "%s: no PEM certificate in it", path);
	sk_X509_free(sk);
	return NULL;
fail:
	if (f)
		fclose(f);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

struct verify_run {
	struct svmigd_audit_report rep, anchor_rep;
	struct svmigd_evidence_report ev;
	int ret, ev_ret, anchor_ret;
	char err[1024];
};

/* --peer [--ca] [--policy --sig --authority]: the stored evidence. */
static int verify_evidence(const struct args *a, EVP_PKEY *key,
			   struct verify_run *v)
{
	struct svmigd_evidence_opts o = { 0 };
	struct svmigd_policy *p = NULL;
	int ret = -EINVAL;

	o.peers = load_certs(a->peer_certs, v->err, sizeof(v->err));
	if (!o.peers)
		goto out;
	if (a->ca) {
		char *files[] = { (char *)a->ca };

		o.ca = svmigd_request_anchors(files, 1, v->err, sizeof(v->err));
		if (!o.ca)
			goto out;
	}
	if (a->policy) {
		if (need(a->sig, "--sig") || need(a->authority, "--authority"))
			return -EINVAL;
		if (svmigd_policy_load(&p, a->policy, a->sig, a->authority,
				       v->err, sizeof(v->err)))
			goto out;
		o.policy = p;
	}
	ret = svmigd_audit_verify_peer(a->log, key, &o, &v->ev, &v->rep,
				       v->err, sizeof(v->err));
out:
	sk_X509_pop_free(o.peers, X509_free);
	X509_STORE_free(o.ca);
	svmigd_policy_free(p);
	return ret;
}

static void verify_json(const struct args *a, const struct verify_run *v,
			const char *hex)
{
	struct json_object *o = json_object_new_object();
	int ret = v->ret;

	json_object_object_add(o, "ok", json_object_new_boolean(!ret));
	json_object_object_add(o, "intact", json_object_new_boolean(!ret));
	json_object_object_add(o, "records", json_object_new_int64((int64_t)v->rep.records));
	json_object_object_add(o, "last_sha256", json_object_new_string(hex));
	json_object_object_add(o, "head", json_object_new_boolean(v->rep.head));
	add_int(o, "head_seq", (long long)v->rep.head_seq);
	add_int(o, "after_head", (long long)v->rep.after_head);
	if (a->peer_certs) {
		add_int(o, "evidence_checked", (long long)v->ev.checked);
		add_int(o, "evidence_unchecked", (long long)v->ev.unchecked);
		if (v->ev.unchecked)
			add_str(o, "unchecked_why", v->ev.unchecked_why);
		if (v->ev.seq)
			add_int(o, "evidence_broken_seq", (long long)v->ev.seq);
	}
	if (a->anchor)
		add_int(o, "anchor_seq", (long long)v->anchor_rep.anchor_seq);
	if (ret == -EBADMSG && !v->ev.seq) {
		const struct svmigd_audit_report *r = v->anchor_ret ?
			&v->anchor_rep : &v->rep;

		add_int(o, "broken_line", (long long)r->line);
		add_int(o, "broken_seq", (long long)r->seq);
	}
	if (ret)
		json_object_object_add(o, "error", json_object_new_string(v->err));
	print_json(o);
	json_object_put(o);
}

static void verify_text(const struct args *a, const struct verify_run *v,
			const char *hex)
{
	if (v->ret == -EBADMSG) {
		printf("%s: BROKEN: %s\n", a->log, v->err);
		return;
	}
	if (v->ret) {
		fprintf(stderr, PROG ": %s\n", v->err);
		return;
	}
	printf("%s: %llu records, intact; last %s\n", a->log,
	       (unsigned long long)v->rep.records, hex);
	if (v->rep.head)
		printf("signed head: record %llu%s\n",
		       (unsigned long long)v->rep.head_seq,
		       v->rep.after_head ? " (records after it: a crash "
		       "between a record and its head)" : "");
	if (a->peer_certs)
		printf("evidence: %llu signed messages re-checked, %llu not "
		       "checked%s%s\n", (unsigned long long)v->ev.checked,
		       (unsigned long long)v->ev.unchecked,
		       v->ev.unchecked ? ": " : "", v->ev.unchecked_why);
	if (a->anchor)
		printf("anchor %s: this host's signed head of record %llu, "
		       "reached\n", a->anchor,
		       (unsigned long long)v->anchor_rep.anchor_seq);
}

int cmd_audit_verify(const struct args *a)
{
	struct verify_run *v = calloc(1, sizeof(*v));
	char hex[SVMIGD_SHA256_HEX_LEN + 1];
	X509 *cert = NULL;
	EVP_PKEY *key;
	int rc = 2;

	if (!v)
		return setup_fail(a, "out of memory");
	if (need(a->log, "--log") || need(a->cert, "--cert"))
		goto out;
	if (a->ca && !a->peer_certs) {
		fprintf(stderr, PROG ": --ca goes with --peer\n");
		goto out;
	}
	if (a->policy && !a->peer_certs) {
		fprintf(stderr, PROG ": --policy goes with --peer\n");
		goto out;
	}
	cert = svmigd_load_cert(a->cert, v->err, sizeof(v->err));
	key = cert ? X509_get0_pubkey(cert) : NULL;
	if (!key) {
		rc = setup_fail(a, "%s", cert ? "unreadable public key" : v->err);
		goto out;
	}
	if (a->peer_certs)
		v->ret = verify_evidence(a, key, v);
	else
		v->ret = svmigd_audit_verify_key(a->log, key, &v->rep, v->err,
						 sizeof(v->err));
	if (!v->ret && a->anchor) {
		v->anchor_ret = svmigd_audit_verify_anchor(a->log, key, a->anchor,
							   &v->anchor_rep,
							   v->err,
							   sizeof(v->err));
		v->ret = v->anchor_ret;	/* -ENOENT, no head of ours: exit 2 */
	}
	rc = v->ret == 0 ? 0 : v->ret == -EBADMSG ? 1 : 2;
	svmigd_hex_encode(hex, v->rep.last_sha256, SVMIGD_SHA256_LEN);
	if (a->json)
		verify_json(a, v, hex);
	else
		verify_text(a, v, hex);
out:
	X509_free(cert);
	free(v);
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
