// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the seed corpora of the svmigd harnesses (fuzz_request, fuzz_policy,
 * fuzz_audit, fuzz_tpm; fuzz_ctlmsg's ATTEST, CHALLENGE and ACTIVATED) into tests/fuzz/corpus/<name>/, signed with the
 * fixed keys of fuzz_keys.h by svmigd's own code (libsvmigd), so that every
 * seed reaches past the signature checks.  The config and journal seeds are
 * plain text files, kept by hand.  Run from the repository root after
 * `make all`:
 *
 *   cc -std=c11 -D_GNU_SOURCE -Iuapi -Iuserspace/lib -Iuserspace/svmigd \
 *      -Itests/fuzz -o build/gen_seeds_svmigd tests/fuzz/gen_seeds_svmigd.c \
 *      build/libsvmigd.a build/libsvmig.a -ljson-c -linih -ltss2-esys \
 *      -ltss2-mu -ltss2-tctildr -ltss2-rc -lcrypto -lssl
 *   build/gen_seeds_svmigd [request|policy|audit|tpm|ctlmsg]...
 *
 * (all of them without arguments).  ECDSA signatures are randomized, so a
 * rerun rewrites the signed seeds with other, equally valid, bytes: name
 * only the harnesses whose seeds changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/core_names.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "fuzz_common.h"
#include "../unit/akpub.h"
#include "audit.h"
#include "audit_evidence.h"
#include "audit_head.h"
#include "msg.h"
#include "policy.h"
#include "request.h"
#include "tpm.h"

#define CORPUS	"tests/fuzz/corpus"

static void die(const char *what)
{
	fprintf(stderr, "gen_seeds_svmigd: %s\n", what);
	exit(1);
}

static void put(const char *name, const char *file, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), CORPUS "/%s", name);
	mkdir(CORPUS, 0755);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), CORPUS "/%s/%s", name, file);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f))
		die(path);
}

static void put_seed(const char *name, const char *file, const struct fzw *w)
{
	put(name, file, w->buf, w->n);
}

static size_t der_of(X509 *cert, uint8_t *buf, size_t size)
{
	unsigned char *p = buf;
	int n = i2d_X509(cert, NULL);

	if (n <= 0 || (size_t)n > size || i2d_X509(cert, &p) != n)
		die("i2d_X509");
	return (size_t)n;
}

/* ---------------------------------------------------------- request */

static void request_seeds(void)
{
	struct svmigd_request r = {
		.vm = "web-1", .source = "host-a", .target = "host-b",
		.vm_mem_mib = 2048, .vm_vcpus = 2, .time = FUZZ_NOW,
	};
	EVP_PKEY *op = fuzz_pkey(fuzz_op_key_pem);
	EVP_PKEY *rsa = fuzz_pkey(fuzz_rsa_key_pem);
	X509 *op_cert = fuzz_x509(fuzz_op_cert_pem);
	X509 *rsa_cert = fuzz_x509(fuzz_rsa_cert_pem);
	uint8_t der[4096], *sig;
	char err[256], *s, *canon;
	struct fzw w;
	size_t n, siglen, i;

	memset(r.nonce, 0x5a, sizeof(r.nonce));
	if (svmigd_request_sign(&r, op, op_cert, &s, err, sizeof(err)))
		die(err);
	w.n = 0;
	fzw_uint(&w, 0, 1);
	fzw_bytes(&w, s, strlen(s));
	put_seed("request", "raw-ec", &w);
	free(s);
	if (svmigd_request_sign(&r, rsa, rsa_cert, &s, err, sizeof(err)))
		die(err);
	w.n = 0;
	fzw_uint(&w, 0, 1);
	fzw_bytes(&w, s, strlen(s));
	put_seed("request", "raw-rsa", &w);
	free(s);

	for (i = 0; i < 2; i++) {
		w.n = 0;
		fzw_uint(&w, 1, 1);
		fzw_uint(&w, (uint32_t)i, 1);
		fzw_str(&w, "web-1", 5);
		fzw_str(&w, "host-a", 6);
		fzw_str(&w, "host-b", 6);
		fzw_u64(&w, 2048);
		fzw_uint(&w, 2, 4);
		fzw_uint(&w, (uint32_t)-30, 4);
		for (n = 0; n < SVMIGD_NONCE_LEN; n++)
			fzw_uint(&w, (uint32_t)n, 1);
		fzw_uint(&w, 300, 2);
		put_seed("request", i ? "fields-rsa" : "fields-ec", &w);
	}

	w.n = 0;
	fzw_uint(&w, 2, 1);
	fzw_bytes(&w, fuzz_op_cert_pem, strlen(fuzz_op_cert_pem));
	put_seed("request", "cert-pem", &w);
	n = der_of(op_cert, der, sizeof(der));
	w.n = 0;
	fzw_uint(&w, 2, 1);
	fzw_bytes(&w, der, n);
	put_seed("request", "cert-der", &w);
	/*
	 * The certificate with one byte of its EC point changed: it still
	 * parses, but its public key does not decode (X509_get0_pubkey()
	 * gives NULL), which crashed the signature check.
	 */
	for (i = 0; i + 3 < n; i++)
		if (der[i] == 0x03 && der[i + 1] == 0x42 && der[i + 2] == 0x00 &&
		    der[i + 3] == 0x04)
			break;
	if (i + 3 >= n)
		die("no EC point in the operator certificate");
	der[i + 10] ^= 0x01;
	w.n = 0;
	fzw_uint(&w, 2, 1);
	fzw_bytes(&w, der, n);
	put_seed("request", "crash-request-cert-bad-pubkey", &w);

	if (svmigd_request_canonical(&r, &canon, err, sizeof(err)) ||
	    svmigd_sign(op, canon, strlen(canon), &sig, &siglen))
		die("sign");
	w.n = 0;
	fzw_uint(&w, 3, 1);
	fzw_bytes(&w, sig, siglen);
	put_seed("request", "sig-der", &w);
	free(sig);
	free(canon);
	EVP_PKEY_free(op);
	EVP_PKEY_free(rsa);
	X509_free(op_cert);
	X509_free(rsa_cert);
}

/* ---------------------------------------------------------- policy */

static const char policy_json[] =
	"{\"version\":2,\"serial\":3,\"not_after\":\"2099-12-31T23:59:59Z\","
	"\"cas\":{\"provider-a\":{\"cert_sha256\":\"%s\",\"hosts\":[\"host-a\",\"host-*\"]}},"
	"\"hosts\":{"
	"\"host-a\":{\"ak_sha256\":\"%s\",\"pcrs\":{\"sha256\":{\"0\":\"%s\",\"7\":[\"%s\",\"%s\"]}},"
	"\"max_mem_mib\":4096,\"max_vcpus\":4},"
	"\"host-b\":{\"ak_sha256\":\"%s\",\"pcrs\":{\"sha256\":{\"23\":\"%s\"}},"
	"\"max_mem_mib\":8192,\"max_vcpus\":8}},"
	"\"operators\":{"
	"\"alice\":{\"cert_sha256\":\"%s\",\"roles\":[\"migrator\"]},"
	"\"bob\":{\"cert_sha256\":\"%s\",\"roles\":[\"web-ops\",\"db-ops\"]},"
	"\"dave\":{\"cert_sha256\":\"%s\",\"roles\":[]}},"
	"\"roles\":{"
	"\"migrator\":{\"vms\":[\"web-*\"],\"sources\":[\"host-a\"],\"targets\":[\"host-b\"]},"
	"\"web-ops\":{\"vms\":[\"web-?\",\"cache-[0-9]\"],\"sources\":[\"host-a\",\"host-b\"],\"targets\":[\"host-b\"]},"
	"\"db-ops\":{\"vms\":[\"db-*\"],\"sources\":[\"host-b\"],\"targets\":[\"host-a\"]}}}\n";

static void hexfill(char out[65], unsigned int b)
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", (b + (unsigned int)i) & 0xff);
}

/* One decision query of fuzz_policy: operator, vm, source, target. */
static void query(struct fzw *w, unsigned int op, const char *vm,
		  unsigned int src, unsigned int dst)
{
	fzw_uint(w, op, 1);
	fzw_str(w, vm, strlen(vm));
	fzw_uint(w, src, 1);
	fzw_uint(w, dst, 1);
}

static void policy_seeds(void)
{
	EVP_PKEY *authority = fuzz_pkey(fuzz_ca_key_pem);
	char h[10][65], text[4096];
	uint8_t *sig;
	size_t siglen, n;
	struct fzw w;
	unsigned int i;

	for (i = 0; i < 10; i++)
		hexfill(h[i], i * 16);
	n = (size_t)snprintf(text, sizeof(text), policy_json, h[8], h[0], h[1],
			     h[2], h[9], h[3], h[4], h[5], h[6], h[7]);
	if (n >= sizeof(text))
		die("policy too long");
	/* signed by the harness, with decisions of every outcome */
	w.n = 0;
	fzw_uint(&w, 0, 1);
	fzw_str(&w, text, n);
	query(&w, 0, "web-1", 0, 1);		/* allowed */
	query(&w, 1, "web-2", 1, 1);		/* allowed by web-ops */
	query(&w, 1, "db-1", 1, 0);		/* allowed by db-ops */
	query(&w, 3, "web-1", 0, 1);		/* not enrolled */
	fzw_uint(&w, 0, 1);			/* unknown source host-x */
	fzw_str(&w, "web-1", 5);
	fzw_uint(&w, 9, 1);
	fzw_str(&w, "host-x", 6);
	fzw_uint(&w, 1, 1);
	query(&w, 2, "web-1", 0, 1);		/* no role */
	query(&w, 0, "db-1", 0, 1);		/* vm */
	query(&w, 0, "web-1", 1, 1);		/* source */
	query(&w, 0, "web-1", 0, 0);		/* target */
	put_seed("policy", "signed-decisions", &w);
	/* with its own signature, as a file would carry it */
	if (svmigd_sign(authority, text, n, &sig, &siglen))
		die("sign");
	w.n = 0;
	fzw_uint(&w, 1, 1);
	fzw_str(&w, text, n);
	fzw_str(&w, sig, siglen);
	put_seed("policy", "own-signature", &w);
	/* signed by the harness, the authority's certificate from a file */
	w.n = 0;
	fzw_uint(&w, 2, 1);
	fzw_str(&w, text, n);
	fzw_str(&w, fuzz_ca_cert_pem, strlen(fuzz_ca_cert_pem));
	query(&w, 0, "web-1", 0, 1);
	put_seed("policy", "authority-cert", &w);
	free(sig);
	EVP_PKEY_free(authority);
}

/* ---------------------------------------------------------- audit */

static void evidence_seeds(EVP_PKEY *key);

static void audit_record(struct fzw *w, const char *event, const char *who,
			 const char *what, const char *details)
{
	fzw_str(w, event, strlen(event));
	fzw_str(w, who, strlen(who));
	fzw_str(w, what, strlen(what));
	fzw_str(w, details, strlen(details));
}

static void audit_seeds(void)
{
	static const char *const det[] = {
		"{\"role\":\"source\",\"peer\":\"host-b\",\"request\":\"00ff\"}",
		"{\"n\":[1,2.5,-3,true,null,{\"x\":\"caf\u00e9\"}]}",
		"",
	};
	char dir[] = "/tmp/gen_seeds_svmigd.XXXXXX", path[64], err[256];
	EVP_PKEY *key = fuzz_pkey(fuzz_op_key_pem);
	struct json_object *d;
	uint8_t buf[8192];
	struct fzw w;
	size_t n, i;
	FILE *f;

	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	for (i = 0; i < 3; i++) {
		d = det[i][0] ? json_tokener_parse(det[i]) : NULL;
		if (svmigd_audit_append(path, key, i ? "success" : "request",
					"alice", "web-1", d, NULL, err,
					sizeof(err)))
			die(err);
		json_object_put(d);
	}
	f = fopen(path, "rb");
	if (!f)
		die(path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	unlink(path);
	rmdir(dir);
	w.n = 0;
	fzw_uint(&w, 0, 1);
	fzw_bytes(&w, buf, n);
	put_seed("audit", "log-ec", &w);

	for (i = 0; i < 2; i++) {
		w.n = 0;
		fzw_uint(&w, 1, 1);
		fzw_uint(&w, (uint32_t)i, 1);		/* EC, RSA */
		fzw_uint(&w, i ? 300 : 0, 2);		/* tamper offset */
		fzw_uint(&w, i ? 0x20 : 0, 1);		/* and mask */
		audit_record(&w, "request", "alice", "web-1", det[0]);
		audit_record(&w, "success", "alice", "web-1", det[1]);
		audit_record(&w, "refused", "unknown", "-", det[2]);
		put_seed("audit", i ? "append-rsa-tamper" : "append-ec", &w);
	}
	evidence_seeds(key);
	EVP_PKEY_free(key);
}

/* fuzz_audit's modes with bit 7: a head, an anchor, evidence. */
static void put_text(const char *file, uint8_t mode, const char *text)
{
	struct fzw w = { .n = 0 };

	fzw_uint(&w, mode, 1);
	fzw_bytes(&w, text, strlen(text));
	put_seed("audit", file, &w);
}

/* A record's details with @ev as evidence, as JSON text (malloc'd). */
static char *ev_details(struct json_object *ev, const char *key,
			const char *hex)
{
	struct json_object *d = json_object_new_object();
	char *text;

	json_object_object_add(d, "peer", json_object_new_string("alice"));
	json_object_object_add(d, "session", json_object_new_string(
				       "00112233445566778899aabbccddeeff"));
	if (key)
		json_object_object_add(d, key, json_object_new_string(hex));
	json_object_object_add(d, "evidence", ev);
	text = strdup(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN));
	json_object_put(d);
	if (!text)
		die("out of memory");
	return text;
}

static void evidence_seeds(EVP_PKEY *key)
{
	static const char stmt[] = "{\"step\":\"commit\",\"session\":"
		"\"00112233445566778899aabbccddeeff\",\"receipt\":"
		"\"0000000000000000000000000000000000000000000000000000000000000000\","
		"\"time\":1700000000}";
	uint8_t last[SVMIGD_SHA256_LEN] = { 1, 2, 3 }, md[SVMIGD_SHA256_LEN];
	char *head, *text, *b64, hex[SVMIGD_SHA256_HEX_LEN + 1];
	struct json_object *msg, *rec, *d;
	uint8_t *sig;
	size_t siglen;

	if (svmigd_audit_head_sign(key, 2, last, &head))
		die("head");
	put_text("head", 0x80, head);
	msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string("HEAD"));
	json_object_object_add(msg, "head", json_object_new_string(head));
	put_text("head-msg", 0x80, json_object_to_json_string_ext(
			 msg, JSON_C_TO_STRING_PLAIN));
	json_object_put(msg);

	/* an anchor: a head line, and a peer's record holding one */
	b64 = svmigd_base64_encode((uint8_t *)head, strlen(head));
	d = json_tokener_parse("{\"peer\":\"alice\",\"evidence\":{\"kind\":\"head\"}}");
	json_object_object_add(json_object_object_get(d, "evidence"), "head",
			       json_object_new_string(b64));
	rec = json_object_new_object();
	json_object_object_add(rec, "seq", json_object_new_int(1));
	json_object_object_add(rec, "event", json_object_new_string("peer-head"));
	json_object_object_add(rec, "details", json_object_get(d));
	if (asprintf(&text, "%s\n%s\n", head, json_object_to_json_string_ext(
			     rec, JSON_C_TO_STRING_PLAIN)) < 0)
		die("out of memory");
	put_text("anchor", 0x82, text);
	free(text);
	json_object_put(rec);
	put_text("evidence-head", 0x84, json_object_to_json_string_ext(
			 d, JSON_C_TO_STRING_PLAIN));
	json_object_put(d);
	free(b64);

	/* a COMMIT statement signed by the peer (CN alice) */
	if (svmigd_sign(key, stmt, strlen(stmt), &sig, &siglen) ||
	    svmigd_sha256(stmt, strlen(stmt), md))
		die("sign");
	svmigd_hex_encode(hex, md, sizeof(md));
	text = ev_details(svmigd_evidence_statement("commit", stmt, sig, siglen),
			  "statement", hex);
	put_text("evidence-commit", 0x84, text);
	free(text);
	free(sig);
	/* a quote (not a TPM's) and a request (not signed) */
	msg = json_tokener_parse("{\"0\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}");
	text = ev_details(svmigd_evidence_quote((const uint8_t *)"ak", 2,
						(const uint8_t *)"attest", 6,
						(const uint8_t *)"sig", 3, msg,
						md, sizeof(md)),
			  "peer_quote", hex);
	json_object_put(msg);
	put_text("evidence-quote", 0x84, text);
	free(text);
	msg = json_tokener_parse("{\"request\":{\"vm\":\"web-1\"},\"sig\":\"00\"}");
	text = ev_details(svmigd_evidence_request(msg), "request", hex);
	json_object_put(msg);
	put_text("evidence-request", 0x84, text);
	free(text);
	free(head);
}

/* ---------------------------------------------------------- tpm */

static size_t attest_of(const TPMS_ATTEST *a, uint8_t *buf, size_t size)
{
	size_t off = 0;

	if (Tss2_MU_TPMS_ATTEST_Marshal(a, buf, size, &off) != TSS2_RC_SUCCESS)
		die("marshal TPMS_ATTEST");
	return off;
}

static void ak_sign(EVP_PKEY *ak, const uint8_t *data, size_t len,
		    uint8_t *sig, size_t *sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	*sig_len = SVMIGD_TPM_SIG_MAX;
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ak) != 1 ||
	    EVP_DigestSign(md, sig, sig_len, data, len) != 1)
		die("AK signature");
	EVP_MD_CTX_free(md);
}

static void tpm_seeds(void)
{
	static const unsigned int idx[] = { 0, 7, 23 };
	EVP_PKEY *ak = fuzz_pkey(fuzz_ak_key_pem), *ecdh = fuzz_pkey(fuzz_op_key_pem);
	uint8_t attest[SVMIGD_TPM_ATTEST_MAX], pub[SVMIGD_TPM_PUBLIC_MAX];
	uint8_t qual[SVMIGD_TPM_QUAL_LEN], vals[3][32], cat[96], pt[65];
	uint8_t name[SVMIGD_TPM_NAME_LEN], sig[SVMIGD_TPM_SIG_MAX];
	size_t n, pub_len = 0, sig_len, ptlen;
	TPMS_ATTEST a;
	TPMT_PUBLIC p;
	struct fzw w;
	unsigned int i, flags;

	for (i = 0; i < sizeof(qual); i++)
		qual[i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < 3; i++)
		memset(vals[i], 0x11 * (i + 1), 32);
	memcpy(cat, vals, sizeof(cat));

	/* a quote of sha256 PCRs 0, 7 and 23 */
	memset(&a, 0, sizeof(a));
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.qualifiedSigner.size = 34;
	a.extraData.size = sizeof(qual);
	memcpy(a.extraData.buffer, qual, sizeof(qual));
	a.clockInfo.clock = 123456;
	a.clockInfo.safe = 1;
	a.firmwareVersion = 0x2023;
	a.attested.quote.pcrSelect.count = 1;
	a.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
	a.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 3;
	for (i = 0; i < 3; i++)
		a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[idx[i] / 8] |=
			(uint8_t)(1u << (idx[i] % 8));
	a.attested.quote.pcrDigest.size = 32;
	if (EVP_Digest(cat, sizeof(cat), a.attested.quote.pcrDigest.buffer, NULL,
		       EVP_sha256(), NULL) != 1)
		die("digest");
	n = attest_of(&a, attest, sizeof(attest));
	for (flags = 0; flags <= 0x16; flags += 0x02) {
		if (flags != 0x00 && flags != 0x02 && flags != 0x04 && flags != 0x14)
			continue;
		w.n = 0;
		fzw_uint(&w, flags, 1);
		fzw_str(&w, attest, n);
		if (flags & 0x02) {
			ak_sign(ak, attest, n, sig, &sig_len);
			fzw_str(&w, sig, sig_len);
		}
		fzw_bytes(&w, qual, sizeof(qual));
		for (i = 0; i < (flags & 0x10 ? 2u : 1u); i++) {
			unsigned int k;

			fzw_uint(&w, 3, 1);
			for (k = 0; k < 3; k++) {
				fzw_uint(&w, idx[k], 1);
				fzw_str(&w, vals[k], 32);
			}
		}
		{
			char file[32];

			snprintf(file, sizeof(file), "quote-%02x", flags);
			put_seed("tpm", file, &w);
		}
	}

	/* an ECDH key's public area and its certification */
	memset(&p, 0, sizeof(p));
	p.type = TPM2_ALG_ECC;
	p.nameAlg = TPM2_ALG_SHA256;
	p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			     TPMA_OBJECT_SENSITIVEDATAORIGIN |
			     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
			     TPMA_OBJECT_DECRYPT;
	p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDH;
	p.parameters.eccDetail.scheme.details.ecdh.hashAlg = TPM2_ALG_SHA256;
	p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	if (EVP_PKEY_get_octet_string_param(ecdh, OSSL_PKEY_PARAM_PUB_KEY, pt,
					    sizeof(pt), &ptlen) != 1 || ptlen != 65)
		die("ECDH point");
	p.unique.ecc.x.size = 32;
	memcpy(p.unique.ecc.x.buffer, pt + 1, 32);
	p.unique.ecc.y.size = 32;
	memcpy(p.unique.ecc.y.buffer, pt + 33, 32);
	if (Tss2_MU_TPMT_PUBLIC_Marshal(&p, pub, sizeof(pub), &pub_len) !=
	    TSS2_RC_SUCCESS || svmigd_tpm_name(pub, pub_len, name))
		die("TPMT_PUBLIC");
	memset(&a, 0, sizeof(a));
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_CERTIFY;
	a.extraData.size = sizeof(qual);
	memcpy(a.extraData.buffer, qual, sizeof(qual));
	a.attested.certify.name.size = sizeof(name);
	memcpy(a.attested.certify.name.name, name, sizeof(name));
	n = attest_of(&a, attest, sizeof(attest));
	for (flags = 0x01; flags <= 0x07; flags += 0x02) {
		char file[32];

		w.n = 0;
		fzw_uint(&w, flags, 1);
		fzw_str(&w, attest, n);
		if (flags & 0x02) {
			ak_sign(ak, attest, n, sig, &sig_len);
			fzw_str(&w, sig, sig_len);
		}
		fzw_bytes(&w, qual, sizeof(qual));
		fzw_str(&w, pub, pub_len);
		snprintf(file, sizeof(file), "certify-%02x", flags);
		put_seed("tpm", file, &w);
	}
	/* the AK from the input: its public area (TPM2B_PUBLIC) */
	{
		uint8_t akp[SVMIGD_TPM_PUBLIC_MAX];
		size_t akp_len;

		if (akpub_of(ak, AKPUB_ATTRS, akp, sizeof(akp), &akp_len))
			die("AK public area");
		w.n = 0;
		fzw_uint(&w, 0x09, 1);
		fzw_str(&w, attest, n);
		fzw_str(&w, akp, akp_len);
		fzw_bytes(&w, qual, sizeof(qual));
		fzw_str(&w, pub, pub_len);
		put_seed("tpm", "certify-09", &w);
		/* the same AK without restricted (flag 0x20: attributes) */
		w.n = 0;
		fzw_uint(&w, 0x21, 1);
		fzw_str(&w, attest, n);
		fzw_uint(&w, AKPUB_ATTRS & ~TPMA_OBJECT_RESTRICTED, 4);
		fzw_bytes(&w, qual, sizeof(qual));
		fzw_str(&w, pub, pub_len);
		put_seed("tpm", "certify-21", &w);
	}
	EVP_PKEY_free(ak);
	EVP_PKEY_free(ecdh);
}

/* ---------------------------------------------------------- ctlmsg */

/*
 * fuzz_ctlmsg's seeds for the messages of AK provenance: the step byte,
 * then one frame (be32 length, JSON).  The "EK" is the RSA key of
 * fuzz_rsa_cert_pem (issued by fuzz_ca_cert_pem, which the harness names
 * as the peer's manufacturer CA), in an EK public area of the TCG
 * template's shape, so that an ATTEST seed passes the EK check and
 * reaches the quote's.
 */
enum { CT_ATTEST_SRC = 2, CT_ATTEST_TGT = 3, CT_PROBE = 4,
       CT_CHALLENGE = 14, CT_ACTIVATED = 15 };

static void ctl_put(const char *file, unsigned int step,
		    struct json_object *msg)
{
	const char *text = json_object_to_json_string_ext(msg,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(text);
	uint8_t *buf = malloc(5 + n);

	if (!buf)
		die("out of memory");
	buf[0] = (uint8_t)step;
	buf[1] = (uint8_t)(n >> 24);
	buf[2] = (uint8_t)(n >> 16);
	buf[3] = (uint8_t)(n >> 8);
	buf[4] = (uint8_t)n;
	memcpy(buf + 5, text, n);
	put("ctlmsg", file, buf, 5 + n);
	free(buf);
}

static void ctl_hex(struct json_object *o, const char *key, const void *p,
		    size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	char *h = malloc(2 * n + 1);
	size_t i;

	if (!h)
		die("out of memory");
	for (i = 0; i < n; i++) {
		h[2 * i] = digits[b[i] >> 4];
		h[2 * i + 1] = digits[b[i] & 15];
	}
	h[2 * n] = '\0';
	json_object_object_add(o, key, json_object_new_string(h));
	free(h);
}

/* The EK public area of @k (RSA 2048), template L-1's attributes. */
static size_t ek_pub_of(EVP_PKEY *k, uint8_t *out, size_t size)
{
	TPM2B_PUBLIC p;
	BIGNUM *n = NULL;
	size_t off = 0;

	memset(&p, 0, sizeof(p));
	if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    BN_num_bytes(n) != 256)
		die("RSA-2048 key");
	p.publicArea.type = TPM2_ALG_RSA;
	p.publicArea.nameAlg = TPM2_ALG_SHA256;
	p.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
		TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED |
		TPMA_OBJECT_DECRYPT;
	p.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	p.publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
	p.publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p.publicArea.parameters.rsaDetail.keyBits = 2048;
	p.publicArea.unique.rsa.size = 256;
	BN_bn2bin(n, p.publicArea.unique.rsa.buffer);
	BN_free(n);
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&p, out, size, &off) !=
	    TSS2_RC_SUCCESS)
		die("marshal the EK");
	return off;
}

static void ctlmsg_seeds(void)
{
	EVP_PKEY *ak = fuzz_pkey(fuzz_ak_key_pem);
	EVP_PKEY *rsa = fuzz_pkey(fuzz_rsa_key_pem);
	X509 *cert = fuzz_x509(fuzz_rsa_cert_pem);
	uint8_t akp[SVMIGD_TPM_PUBLIC_MAX], ekp[SVMIGD_TPM_PUBLIC_MAX];
	uint8_t der[SVMIGD_TPM_EK_CERT_MAX], b[512];
	size_t akp_len, ekp_len, der_len;
	struct json_object *m, *pcrs, *claim;
	uint8_t h55[32];
	unsigned int i;

	if (!ak || !rsa || !cert ||
	    akpub_of(ak, AKPUB_ATTRS, akp, sizeof(akp), &akp_len))
		die("ctlmsg keys");
	ekp_len = ek_pub_of(rsa, ekp, sizeof(ekp));
	der_len = der_of(cert, der, sizeof(der));
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7 + 1);
	/* ATTEST: the AK's TPM2B_PUBLIC, the EK and its certificate */
	for (i = 0; i < 3; i++) {
		static const char *const files[] = { "attest-src", "attest-tgt",
						     "probe" };
		static const unsigned int steps[] = { CT_ATTEST_SRC,
						      CT_ATTEST_TGT, CT_PROBE };

		m = svmig_msg_new(SVMIG_MSG_ATTEST);
		if (i != 1)	/* the target's (or attester's) has a nonce */
			ctl_hex(m, "nonce", b, 32);
		ctl_hex(m, "ak", akp, akp_len);
		ctl_hex(m, "ek", ekp, ekp_len);
		ctl_hex(m, "ek_cert", der, der_len);
		ctl_hex(m, "attest", b, 145);
		ctl_hex(m, "sig", b, 70);
		pcrs = json_object_new_object();
		ctl_hex(pcrs, "0", b, 32);
		ctl_hex(pcrs, "7", b + 32, 32);
		json_object_object_add(m, "pcrs", pcrs);
		/* fuzz_ctlmsg's own policy claim: serial 1, sha256 55..55 */
		claim = json_object_new_object();
		memset(h55, 0x55, sizeof(h55));
		ctl_hex(claim, "sha256", h55, sizeof(h55));
		json_object_object_add(claim, "serial", json_object_new_int(1));
		json_object_object_add(m, "policy", claim);
		ctl_put(files[i], steps[i], m);
		json_object_put(m);
	}
	/* CHALLENGE: a TPM2B_ID_OBJECT and a TPM2B_ENCRYPTED_SECRET */
	m = svmig_msg_new(SVMIG_MSG_CHALLENGE);
	b[0] = 0;
	b[1] = 68;	/* integrity HMAC (2 + 32) + encIdentity (34) */
	b[2] = 0;
	b[3] = 32;
	ctl_hex(m, "blob", b, 70);
	b[0] = 1;
	b[1] = 0;	/* 256 bytes of RSA-OAEP */
	ctl_hex(m, "secret", b, 258);
	ctl_put("challenge", CT_CHALLENGE, m);
	json_object_object_add(m, "extra", json_object_new_int(1));
	ctl_put("challenge-extra", CT_CHALLENGE, m);
	json_object_put(m);
	/* ACTIVATED: the harness expects 0x5a * 32 */
	memset(b, 0x5a, 32);
	m = svmig_msg_new(SVMIG_MSG_ACTIVATED);
	ctl_hex(m, "proof", b, 32);
	ctl_put("activated", CT_ACTIVATED, m);
	json_object_put(m);
	m = svmig_msg_new(SVMIG_MSG_ACTIVATED);
	ctl_hex(m, "proof", b, 31);
	ctl_put("activated-short", CT_ACTIVATED, m);
	json_object_put(m);
	m = svmig_msg_new("ERROR");
	json_object_object_add(m, "step", json_object_new_string("CHALLENGE"));
	json_object_object_add(m, "reason", json_object_new_string(
		"credential activation failed: this host's TPM cannot activate"));
	ctl_put("activated-error", CT_ACTIVATED, m);
	json_object_put(m);
	EVP_PKEY_free(ak);
	EVP_PKEY_free(rsa);
	X509_free(cert);
}

static int wanted(int argc, char **argv, const char *name)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return argc == 1;
}

int main(int argc, char **argv)
{
	if (wanted(argc, argv, "request"))
		request_seeds();
	if (wanted(argc, argv, "policy"))
		policy_seeds();
	if (wanted(argc, argv, "audit"))
		audit_seeds();
	if (wanted(argc, argv, "tpm"))
		tpm_seeds();
	if (wanted(argc, argv, "ctlmsg"))
		ctlmsg_seeds();
	return 0;
}
