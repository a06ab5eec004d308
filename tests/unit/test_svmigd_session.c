// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd's protocol (userspace/svmigd/session*.c) between two hosts, each
 * with its own swtpm: host-a (provider A's CA) migrates to host-b
 * (provider B's CA: federation); operators from an operator CA; a policy
 * signed by a policy authority that enrols both AKs and the PCR values
 * read from the swtpms.  Source and target run in two threads over a
 * socketpair with svmig_tls; scripted peers (the test speaking the
 * protocol itself, with a host's stolen TLS key and TPM) replay quotes
 * and send requests the honest source would not.
 *
 * Threads only record what happened (cmocka's asserts belong to the main
 * thread), the main thread checks after joining them.  Skipped without
 * swtpm.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "audit.h"
#include "audit_evidence.h"
#include "msg.h"
#include "journal.h"
#include "outcome.h"
#include "pki.h"
#include "credential.h"
#include "policy.h"
#include "policy_claim.h"
#include "request.h"
#include "session.h"
#include "swtpm.h"
#include "tls.h"
#include "tpm.h"

#define T_TIMEOUT	5000	/* ms: nothing should wait for it */

/* ---- the fixture ---- */

enum { CA_A, CA_B, CA_X, CA_OP, CA_OP_X, N_CA };
enum { H_A, H_B, H_X, H_ROGUE, H_CROSS, N_H };
enum { OP_ALICE, OP_BOB, OP_MALLORY, N_OP };
enum { TPM_A, TPM_B, N_TPM };

static const char *const ca_names[N_CA] = {
	"provider A CA", "provider B CA", "unknown CA", "operator CA",
	"unknown operator CA",
};

static const struct {
	const char *cn;
	int ca;
} host_ids[N_H] = {
	[H_A] = { "host-a", CA_A },
	[H_B] = { "host-b", CA_B },
	[H_X] = { "host-x", CA_B },		/* trusted, not in the policy */
	[H_ROGUE] = { "host-a", CA_X },		/* an unknown CA's host-a */
	[H_CROSS] = { "host-a", CA_B },		/* provider B's CA certifying host-a */
};

static const struct {
	const char *cn;
	int ca;
} op_ids[N_OP] = {
	[OP_ALICE] = { "alice", CA_OP },	/* migrator: web-*, a -> b */
	[OP_BOB] = { "bob", CA_OP },		/* narrow: web-*, a -> c */
	[OP_MALLORY] = { "mallory", CA_OP_X },	/* enrolled, unknown CA */
};

static const unsigned int quote_pcrs[] = { 0, 7, 16 };
#define NQUOTE	(sizeof(quote_pcrs) / sizeof(quote_pcrs[0]))
#define RESET_PCR	16	/* the one tests extend, then reset */

static struct {
	bool have_swtpm;
	char dir[64];
	struct swtpm swtpm[N_TPM];
	struct svmigd_tpm *tpm[N_TPM];
	struct svmigd_tpm_ak ak[N_TPM];
	struct svmigd_tpm_pcrs pcrs[N_TPM];
	X509 *ca[N_CA];
	EVP_PKEY *ca_key[N_CA];
	char ca_path[N_CA][128];
	X509 *host[N_H];
	EVP_PKEY *host_key[N_H];
	char host_cert[N_H][128], host_keyf[N_H][128];
	struct svmig_tls_ctx *tls[N_H];
	X509 *op[N_OP];
	EVP_PKEY *op_key[N_OP];
	EVP_PKEY *authority_key, *other_key;
	char authority_path[128], policy_path[128], sig_path[128];
	char *policy_text;
	struct svmigd_policy *policy[N_TPM];	/* each host loads its own */
	X509_STORE *anchors;			/* the operator CA */
	char audit[N_TPM][128], forger_audit[128];
} F;

static void fpath(char *out, const char *name)
{
	snprintf(out, 128, "%s/%s", F.dir, name);
}

static int make_ca(int i)
{
	F.ca_key[i] = pki_key();
	if (!F.ca_key[i])
		return -1;
	F.ca[i] = pki_cert(F.ca_key[i], ca_names[i], NULL, NULL);
	snprintf(F.ca_path[i], sizeof(F.ca_path[i]), "%s/ca%d.pem", F.dir, i);
	return F.ca[i] ? pki_write_cert(F.ca_path[i], F.ca[i]) : -1;
}

static int make_host(int i)
{
	const char *anchors[] = { F.ca_path[CA_A], F.ca_path[CA_B] };
	struct svmig_tls_config cfg = {
		.cert_file = F.host_cert[i], .key_file = F.host_keyf[i],
		.anchor_files = anchors, .n_anchor_files = 2,
	};
	char err[SVMIG_TLS_ERR_LEN];
	int ca = host_ids[i].ca;

	F.host_key[i] = pki_key();
	if (!F.host_key[i])
		return -1;
	F.host[i] = pki_cert(F.host_key[i], host_ids[i].cn, F.ca[ca],
			     F.ca_key[ca]);
	snprintf(F.host_cert[i], 128, "%s/host%d.pem", F.dir, i);
	snprintf(F.host_keyf[i], 128, "%s/host%d.key", F.dir, i);
	if (!F.host[i] || pki_write_cert(F.host_cert[i], F.host[i]) ||
	    pki_write_key(F.host_keyf[i], F.host_key[i]))
		return -1;
	if (svmig_tls_ctx_new(&cfg, &F.tls[i], err, sizeof(err))) {
		fprintf(stderr, "tls ctx %d: %s\n", i, err);
		return -1;
	}
	return 0;
}

static int make_op(int i)
{
	int ca = op_ids[i].ca;

	F.op_key[i] = pki_key();
	if (!F.op_key[i])
		return -1;
	F.op[i] = pki_cert(F.op_key[i], op_ids[i].cn, F.ca[ca], F.ca_key[ca]);
	return F.op[i] ? 0 : -1;
}

static int make_pki(void)
{
	char err[256], *files[1];
	X509 *auth;
	int i, ret = 0;

	for (i = 0; i < N_CA && !ret; i++)
		ret = make_ca(i);
	for (i = 0; i < N_H && !ret; i++)
		ret = make_host(i);
	for (i = 0; i < N_OP && !ret; i++)
		ret = make_op(i);
	if (ret)
		return ret;
	F.authority_key = pki_key();
	F.other_key = pki_key();
	auth = F.authority_key ?
	       pki_cert(F.authority_key, "policy authority", NULL, NULL) : NULL;
	fpath(F.authority_path, "authority.pem");
	ret = auth && F.other_key ? pki_write_cert(F.authority_path, auth) : -1;
	X509_free(auth);
	files[0] = F.ca_path[CA_OP];
	F.anchors = svmigd_request_anchors(files, 1, err, sizeof(err));
	return ret || !F.anchors ? -1 : 0;
}

/* Each TPM as firmware left it: PCRs 0 and 7 measured; its AK and PCRs. */
static int make_tpm(int i, const char *bin)
{
	uint8_t d[SVMIGD_TPM_DIGEST_LEN];

	char ekca[96];

	/* manufactured, with an EK certificate from the test CA ekca/ */
	snprintf(ekca, sizeof(ekca), "%s/ekca", F.dir);
	if (swtpm_start_ek(&F.swtpm[i], bin, ekca) ||
	    svmigd_tpm_open(F.swtpm[i].tcti, &F.tpm[i]))
		return -1;
	memset(d, 0x11 * (i + 1), sizeof(d));
	if (svmigd_tpm_pcr_extend(F.tpm[i], 0, d))
		return -1;
	memset(d, 0x33 * (i + 1), sizeof(d));
	if (svmigd_tpm_pcr_extend(F.tpm[i], 7, d) ||
	    svmigd_tpm_ak(F.tpm[i], &F.ak[i]) ||
	    svmigd_tpm_pcr_read(F.tpm[i], quote_pcrs, NQUOTE, &F.pcrs[i]))
		return -1;
	return 0;
}

static void hex32(char out[SVMIGD_SHA256_HEX_LEN + 1], const uint8_t *in)
{
	svmigd_hex_encode(out, in, SVMIGD_SHA256_LEN);
}

/* hosts.<name> of the policy for TPM @t. */
static int policy_host(char *buf, size_t len, const char *name, int t,
		       unsigned int mem, unsigned int vcpus)
{
	char ak[65], p[NQUOTE][65];
	unsigned int i;

	hex32(ak, F.ak[t].sha256);
	for (i = 0; i < NQUOTE; i++)
		hex32(p[i], F.pcrs[t].value[i]);
	return snprintf(buf, len,
			"\"%s\": { \"ak_sha256\": \"%s\", \"pcrs\": { \"sha256\": "
			"{ \"0\": \"%s\", \"7\": \"%s\", \"16\": \"%s\" } },\n"
			"  \"max_mem_mib\": %u, \"max_vcpus\": %u }",
			name, ak, p[0], p[1], p[2], mem, vcpus);
}

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "w");
	int ok = f && fwrite(buf, 1, len, f) == len;

	if (f && fclose(f))
		ok = 0;
	return ok ? 0 : -1;
}

/* The test manufacturer CA (ekca/issuercert.pem) as a JSON string. */
static char *ek_ca_json(void)
{
	char path[160], buf[8192];
	struct json_object *o;
	char *out = NULL;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/ekca/issuercert.pem", F.dir);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	o = json_object_new_string(buf);
	if (o)
		out = strdup(json_object_to_json_string(o));
	json_object_put(o);
	return out;
}

static int make_policy(void)
{
	char a[1024], b[1024], fp[N_OP][65], zeros[65], err[256], ca[2][65];
	uint8_t md[SVMIGD_SHA256_LEN], *sig = NULL;
	char *ekca = ek_ca_json();
	size_t siglen;
	int i, n;

	if (!ekca)
		return -1;

	policy_host(a, sizeof(a), "host-a", TPM_A, 16384, 16);
	policy_host(b, sizeof(b), "host-b", TPM_B, 4096, 8);
	for (i = 0; i < N_OP; i++) {
		if (svmigd_cert_sha256(F.op[i], md))
			return -1;
		hex32(fp[i], md);
	}
	for (i = 0; i < 2; i++) {
		if (svmigd_cert_sha256(F.ca[i == 0 ? CA_A : CA_B], md))
			return -1;
		hex32(ca[i], md);
	}
	memset(zeros, '0', 64);
	zeros[64] = '\0';
	F.policy_text = malloc(16384);
	if (!F.policy_text) {
		free(ekca);
		return -1;
	}
	n = snprintf(F.policy_text, 16384,
		     "{ \"version\": 2, \"serial\": 1, \"not_after\": \"2099-01-01T00:00:00Z\",\n"
		     "\"cas\": { \"provider-a\": { \"cert_sha256\": \"%s\", \"hosts\": [\"host-a\"] },\n"
		     "  \"provider-b\": { \"cert_sha256\": \"%s\", \"hosts\": [\"host-b\", \"host-x\"] } },\n"
		     "\"ek_cas\": [ %s ],\n\"hosts\": {\n%s,\n%s,\n"
		     "\"host-c\": { \"ak_sha256\": \"%s\", \"pcrs\": { \"sha256\": "
		     "{ \"0\": \"%s\" } }, \"max_mem_mib\": 1024, \"max_vcpus\": 1 } },\n"
		     "\"operators\": {\n"
		     "  \"alice\": { \"cert_sha256\": \"%s\", \"roles\": [\"migrator\"] },\n"
		     "  \"bob\": { \"cert_sha256\": \"%s\", \"roles\": [\"narrow\"] },\n"
		     "  \"mallory\": { \"cert_sha256\": \"%s\", \"roles\": [\"migrator\"] } },\n"
		     "\"roles\": {\n"
		     "  \"migrator\": { \"vms\": [\"web-*\"], \"sources\": [\"host-a\"], \"targets\": [\"host-b\"] },\n"
		     "  \"narrow\": { \"vms\": [\"web-*\"], \"sources\": [\"host-a\"], \"targets\": [\"host-c\"] } } }\n",
		     ca[0], ca[1], ekca, a, b, zeros, zeros, fp[OP_ALICE], fp[OP_BOB],
		     fp[OP_MALLORY]);
	free(ekca);
	if (n <= 0 || n >= 16384)
		return -1;
	fpath(F.policy_path, "policy.json");
	fpath(F.sig_path, "policy.json.sig");
	if (write_file(F.policy_path, F.policy_text, (size_t)n) ||
	    svmigd_sign(F.authority_key, F.policy_text, (size_t)n, &sig,
			&siglen))
		return -1;
	n = write_file(F.sig_path, sig, siglen);
	free(sig);
	for (i = 0; i < N_TPM && !n; i++) {
		n = svmigd_policy_load(&F.policy[i], F.policy_path, F.sig_path,
				       F.authority_path, err, sizeof(err));
		if (n)
			fprintf(stderr, "policy: %s\n", err);
	}
	return n;
}

static int group_setup(void **state)
{
	const char *bin = swtpm_binary();
	int i;

	(void)state;
	if (setenv("TSS2_LOG", "all+NONE", 1))
		return -1;
	if (!bin)
		return 0;
	snprintf(F.dir, sizeof(F.dir), "/tmp/svmig-session-XXXXXX");
	if (!mkdtemp(F.dir))
		return -1;
	for (i = 0; i < N_TPM; i++) {
		if (make_tpm(i, bin))
			return -1;
		snprintf(F.audit[i], 128, "%s/audit-%c.log", F.dir, 'a' + i);
	}
	fpath(F.forger_audit, "forger.log");
	if (make_pki() || make_policy())
		return -1;
	F.have_swtpm = true;
	return 0;
}

static int group_teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < N_TPM; i++) {
		svmigd_policy_free(F.policy[i]);
		svmigd_tpm_close(F.tpm[i]);
		swtpm_stop(&F.swtpm[i]);
	}
	for (i = 0; i < N_H; i++) {
		svmig_tls_ctx_free(F.tls[i]);
		X509_free(F.host[i]);
		EVP_PKEY_free(F.host_key[i]);
	}
	for (i = 0; i < N_OP; i++) {
		X509_free(F.op[i]);
		EVP_PKEY_free(F.op_key[i]);
	}
	for (i = 0; i < N_CA; i++) {
		X509_free(F.ca[i]);
		EVP_PKEY_free(F.ca_key[i]);
	}
	EVP_PKEY_free(F.authority_key);
	EVP_PKEY_free(F.other_key);
	X509_STORE_free(F.anchors);
	free(F.policy_text);
	if (F.dir[0]) {
		char ekca[96];

		snprintf(ekca, sizeof(ekca), "%s/ekca", F.dir);
		test_rmdir(ekca);
		swtpm_rmdir(F.dir);	/* removes the files, then the dir */
	}
	return 0;
}

/* Fresh audit logs for each test. */
static int test_setup(void **state)
{
	char head[160];
	const char *logs[] = { F.audit[TPM_A], F.audit[TPM_B], F.forger_audit };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {	/* each log with its signed head */
		unlink(logs[i]);
		snprintf(head, sizeof(head), "%s.head", logs[i]);
		unlink(head);
	}
	return 0;
}

/*
 * Without an swtpm binary there is no TPM to test against: a skip that
 * names what this machine lacks, as tests/run-all.sh requires of a skip.
 */
#define SKIP_WITHOUT_SWTPM()						\
	do {								\
		if (!F.have_swtpm) {					\
			print_message("# machine: no swtpm binary\n");	\
			skip();						\
		}							\
	} while (0)

/* ---- requests ---- */

static void init_request(struct svmigd_request *r, const char *vm,
			 const char *src, const char *tgt, uint64_t mem,
			 uint32_t vcpus)
{
	char err[256];

	assert_int_equal(svmigd_request_init(r, vm, src, tgt, mem, vcpus, err,
					     sizeof(err)), 0);
}

static char *request_by(int op, const char *vm, const char *src,
			const char *tgt, uint64_t mem, uint32_t vcpus)
{
	struct svmigd_request r;
	char *s = NULL, err[256];

	init_request(&r, vm, src, tgt, mem, vcpus);
	assert_int_equal(svmigd_request_sign(&r, F.op_key[op], F.op[op], &s,
					     err, sizeof(err)), 0);
	return s;
}

static char *request(const char *vm, uint64_t mem, uint32_t vcpus)
{
	return request_by(OP_ALICE, vm, "host-a", "host-b", mem, vcpus);
}

static char *plain(struct json_object *o)
{
	char *s = strdup(json_object_to_json_string_ext(o,
						JSON_C_TO_STRING_PLAIN));

	assert_non_null(s);
	json_object_put(o);
	return s;
}

/* Alice's request without its signature. */
static char *unsigned_request(void)
{
	char *s = request("web-1", 2048, 2);
	struct json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	json_object_object_del(o, "signature");
	free(s);
	return plain(o);
}

/* Alice's request and certificate, signed by bob's key. */
static char *wrongly_signed_request(void)
{
	struct svmigd_request r;
	struct json_object *o = NULL;
	char *canon = NULL, *b64, err[256];
	uint8_t *sig;
	size_t siglen;

	init_request(&r, "web-1", "host-a", "host-b", 2048, 2);
	assert_int_equal(svmigd_request_sign_json(&r, F.op_key[OP_ALICE],
						  F.op[OP_ALICE], &o, err,
						  sizeof(err)), 0);
	assert_int_equal(svmigd_request_canonical(&r, &canon, err,
						  sizeof(err)), 0);
	assert_int_equal(svmigd_sign(F.op_key[OP_BOB], canon, strlen(canon),
				     &sig, &siglen), 0);
	b64 = svmigd_base64_encode(sig, siglen);
	assert_non_null(b64);
	json_object_object_add(o, "signature", json_object_new_string(b64));
	free(b64);
	free(sig);
	free(canon);
	return plain(o);
}

/* ---- the two sides ---- */

enum {
	RC_NONE, RC_OK, RC_FAILED, RC_OTHER_KEY, RC_OTHER_SESSION,
	/* an "ok" receipt, then a COMMIT by another key / for another receipt */
	RC_COMMIT_OTHER_KEY, RC_COMMIT_OTHER_RECEIPT,
	/* an "ok" receipt and the COMMIT, then the target sends no RESUMED */
	RC_NO_RESUMED,
	/* an "ok" receipt that counts one record more than the source sent */
	RC_MISCOUNT,
};

/* What the source sent, what an honest target counts, why one failed. */
#define SENT_RECORDS	1234
#define SENT_BYTES	5678901
#define FAILED_REASON	"authentication failure after 43 records"

struct side;
typedef void (*script_fn)(struct side *d, struct svmig_tls_conn *conn);

struct side {
	bool source;
	int id;				/* H_*: the TLS identity */
	const char *connect_to;		/* source: the server's name */
	struct svmigd_session_cfg cfg;
	const char *request;
	int receipt;			/* RC_*: what follows a session */
	script_fn script;		/* instead of the session */
	int fd;
	pthread_t thread;
	/* what happened */
	int hs;				/* the handshake's */
	int ret;
	char err[SVMIGD_SESSION_ERR_LEN + SVMIG_TLS_ERR_LEN];
	struct svmigd_session s;
	int rret;
	char rerr[SVMIGD_SESSION_ERR_LEN];
	struct svmigd_receipt r;
	uint8_t receipt_sha256[SVMIGD_SHA256_LEN];	/* the target's */
	/* the handover: COMMIT (source sends), then RESUMED (target sends) */
	int cret, dret;
	char cerr[SVMIGD_SESSION_ERR_LEN], derr[SVMIGD_SESSION_ERR_LEN];
	char answer[512];		/* a scripted side: what came back */
	struct svmigd_attestation att;	/* script_attest's */
	/* QUERY: the session asked about, the answer; a forger's trick */
	uint8_t query[SVMIGD_SESSION_ID_LEN];
	enum svmigd_outcome outcome;
	int forge;
};

static void side_init(struct side *d, bool source, const char *req)
{
	int t = source ? TPM_A : TPM_B;

	memset(d, 0, sizeof(*d));
	d->source = source;
	d->id = source ? H_A : H_B;
	d->connect_to = "host-b";
	d->request = req;
	d->cfg = (struct svmigd_session_cfg){
		.host_name = source ? "host-a" : "host-b",
		.policy = F.policy[t],
		.tpm = F.tpm[t],
		.host_key = F.host_key[source ? H_A : H_B],
		.audit_log = F.audit[t],
		.operator_anchors = F.anchors,
		.max_mem_mib = 8192,
		.max_vcpus = 4,
		.timeout_ms = T_TIMEOUT,
		.answer_query = svmigd_outcome_answer,	/* as svmigd's */
	};
}

static void pair_init(struct side *src, struct side *tgt, const char *req)
{
	side_init(src, true, req);
	side_init(tgt, false, NULL);
}

/* The next message's type and reason, as "TYPE: reason", in d->answer. */
static void read_answer(struct side *d, struct svmig_tls_conn *conn)
{
	struct json_object *msg = NULL, *r;
	int ret = svmig_msg_recv(conn, T_TIMEOUT, &msg);

	if (ret) {
		snprintf(d->answer, sizeof(d->answer), "recv: %d: %s", ret,
			 svmig_tls_error(conn));
		return;
	}
	r = json_object_object_get(msg, "reason");
	snprintf(d->answer, sizeof(d->answer), "%s: %s", svmig_msg_type(msg),
		 r ? json_object_get_string(r) : "");
	json_object_put(msg);
}

/* After an "ok" receipt: COMMIT, then RESUMED; d->cret and d->dret. */
static void side_handover(struct side *d, struct svmig_tls_conn *conn)
{
	struct svmigd_session_cfg cfg = d->cfg;
	uint8_t receipt[SVMIGD_SHA256_LEN];

	d->cret = d->dret = -EALREADY;	/* not reached */
	if (!d->source) {
		d->cret = svmigd_session_handover_recv(conn, &cfg, &d->s,
						       SVMIGD_COMMIT,
						       d->receipt_sha256,
						       d->cerr, sizeof(d->cerr));
		if (!d->cret && d->receipt != RC_NO_RESUMED)
			d->dret = svmigd_session_handover_send(conn, &cfg, &d->s,
							       SVMIGD_RESUMED,
							       d->receipt_sha256,
							       d->derr,
							       sizeof(d->derr));
		return;
	}
	memcpy(receipt, d->r.sha256, sizeof(receipt));
	if (d->receipt == RC_COMMIT_OTHER_KEY) {	/* a forger's key and log */
		cfg.host_key = F.other_key;
		cfg.audit_log = F.forger_audit;
	}
	if (d->receipt == RC_COMMIT_OTHER_RECEIPT)
		receipt[7] ^= 0x01;
	d->cret = svmigd_session_handover_send(conn, &cfg, &d->s, SVMIGD_COMMIT,
					       receipt, d->cerr, sizeof(d->cerr));
	if (!d->cret)
		d->dret = svmigd_session_handover_recv(conn, &d->cfg, &d->s,
						       SVMIGD_RESUMED,
						       d->r.sha256, d->derr,
						       sizeof(d->derr));
}

static void side_receipt(struct side *d, struct svmig_tls_conn *conn)
{
	struct svmigd_session_cfg cfg = d->cfg;
	struct svmigd_session s = d->s;

	if (d->source) {
		struct svmigd_counts sent = { SENT_RECORDS, SENT_BYTES };

		d->rret = svmigd_session_receipt_recv(conn, &d->cfg, &d->s,
						      &sent, &d->r, d->rerr,
						      sizeof(d->rerr));
		if (!d->rret)
			side_handover(d, conn);
		return;
	}
	if (d->receipt == RC_OTHER_KEY) {	/* a forger's key and log */
		cfg.host_key = F.other_key;
		cfg.audit_log = F.forger_audit;
	}
	if (d->receipt == RC_OTHER_SESSION)
		s.id[5] ^= 0x20;
	d->rret = svmigd_session_receipt_send(conn, &cfg, &s,
					      d->receipt != RC_FAILED,
					      SENT_RECORDS + (d->receipt == RC_MISCOUNT),
					      SENT_BYTES,
					      d->receipt == RC_FAILED ? FAILED_REASON : NULL,
					      d->receipt_sha256,
					      d->rerr, sizeof(d->rerr));
	if (d->receipt == RC_OTHER_KEY || d->receipt == RC_OTHER_SESSION ||
	    d->receipt == RC_MISCOUNT)
		read_answer(d, conn);
	else if (!d->rret && d->receipt != RC_FAILED)
		side_handover(d, conn);
}

static void side_session(struct side *d, struct svmig_tls_conn *conn)
{
	if (d->script) {
		d->script(d, conn);
		return;
	}
	if (d->source)
		d->ret = svmigd_session_source(conn, &d->cfg, d->request,
					       d->request ? strlen(d->request) : 0,
					       &d->s, d->err, sizeof(d->err));
	else
		d->ret = svmigd_session_target(conn, &d->cfg, &d->s, d->err,
					       sizeof(d->err));
	if (!d->ret && d->receipt)
		side_receipt(d, conn);
}

static void *side_main(void *p)
{
	struct side *d = p;
	struct svmig_tls_conn *conn = NULL;

	if (d->source)
		d->hs = svmig_tls_connect(F.tls[d->id], d->fd, d->connect_to,
					  T_TIMEOUT, &conn, d->err,
					  sizeof(d->err));
	else
		d->hs = svmig_tls_accept(F.tls[d->id], d->fd, T_TIMEOUT, &conn,
					 d->err, sizeof(d->err));
	if (d->hs) {
		d->ret = d->hs;
	} else {
		side_session(d, conn);
		svmig_tls_shutdown(conn, 1000);
		svmig_tls_free(conn);
	}
	close(d->fd);
	return NULL;
}

static void start(struct side *d, int fd)
{
	d->fd = fd;
	assert_int_equal(pthread_create(&d->thread, NULL, side_main, d), 0);
}

static void run(struct side *src, struct side *tgt)
{
	int fds[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	start(src, fds[0]);
	start(tgt, fds[1]);
	assert_int_equal(pthread_join(src->thread, NULL), 0);
	assert_int_equal(pthread_join(tgt->thread, NULL), 0);
}

/* ---- checks ---- */

static void has(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" not in \"%s\"", needle, haystack);
}

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* @d failed with @ret, saying @why, and holds no session. */
static void failed(const struct side *d, int ret, const char *why)
{
	if (d->ret != ret)
		fail_msg("%s: %d (%d expected): %s",
			 d->source ? "source" : "target", d->ret, ret, d->err);
	has(d->err, why);
	if (getenv("SVMIG_TEST_VERBOSE"))
		fprintf(stderr, "  %s: %s\n", d->source ? "source" : "target",
			d->err);
	assert_true(is_zero(&d->s, sizeof(d->s)));
}

/* The log verifies with @key; its events, "a,b,c", in @out ("" if none). */
static void audit_events(const char *path, EVP_PKEY *key, char *out,
			 size_t len)
{
	struct svmigd_audit_report rep;
	struct json_object *o;
	char err[512], *line = NULL;
	size_t cap = 0;
	FILE *f;

	out[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (svmigd_audit_verify_key(path, key, &rep, err, sizeof(err)))
		fail_msg("audit log: %s", err);
	while (getline(&line, &cap, f) > 0) {
		o = json_tokener_parse(line);
		assert_non_null(o);
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
			 out[0] ? "," : "",
			 json_object_get_string(json_object_object_get(o,
								       "event")));
		json_object_put(o);
	}
	free(line);
	fclose(f);
}

static void audited(int t, const char *events)
{
	char got[256];

	audit_events(F.audit[t], F.host_key[t == TPM_A ? H_A : H_B], got,
		     sizeof(got));
	if (strcmp(got, events))
		fail_msg("host-%c audit log: \"%s\", \"%s\" expected",
			 'a' + t, got, events);
}

/* Re-checks host @t's log offline (svmigctl audit verify --peer). */
static int evidence(int t, bool with_peer, bool with_policy,
		    struct svmigd_evidence_report *rep, char *err, size_t len)
{
	char *files[] = { F.ca_path[CA_A], F.ca_path[CA_B], F.ca_path[CA_OP] };
	struct svmigd_evidence_opts o = { 0 };
	struct svmigd_audit_report arep;
	STACK_OF(X509) *peers = sk_X509_new_null();
	int ret;

	assert_non_null(peers);
	o.ca = svmigd_request_anchors(files, 3, err, len);
	assert_non_null(o.ca);
	if (with_peer)
		sk_X509_push(peers, F.host[t == TPM_A ? H_B : H_A]);
	o.peers = peers;
	o.policy = with_policy ? F.policy[t] : NULL;
	ret = svmigd_audit_verify_peer(F.audit[t],
				       F.host_key[t == TPM_A ? H_A : H_B], &o,
				       rep, &arep, err, len);
	sk_X509_free(peers);
	X509_STORE_free(o.ca);
	return ret;
}

/* The last record of @event in host @t's log: its details (a copy). */
static struct json_object *last_details(int t, const char *event)
{
	struct json_object *o, *d = NULL, *copy = NULL;
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(F.audit[t], "r");

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		o = json_tokener_parse(line);
		assert_non_null(o);
		if (!strcmp(json_object_get_string(json_object_object_get(o, "event")),
			    event)) {
			json_object_put(d);
			d = json_object_get(json_object_object_get(o, "details"));
		}
		json_object_put(o);
	}
	free(line);
	fclose(f);
	assert_non_null(d);
	assert_int_equal(json_object_deep_copy(d, &copy, NULL), 0);
	json_object_put(d);
	return copy;
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "r"), *out = fopen(to, "w");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* Host @t's log and head saved (@save) or put back as saved. */
static void log_state(int t, bool save)
{
	char head[160], bak[160], hbak[160];

	snprintf(head, sizeof(head), "%s.head", F.audit[t]);
	snprintf(bak, sizeof(bak), "%s.bak", F.audit[t]);
	snprintf(hbak, sizeof(hbak), "%s.head.bak", F.audit[t]);
	copy_file(save ? F.audit[t] : bak, save ? bak : F.audit[t]);
	copy_file(save ? head : hbak, save ? hbak : head);
}

/*
 * After a migration each log keeps what the other signed: it re-verifies
 * offline; a host that appends a record with an altered peer statement
 * (re-signed by itself, so the chain is intact) is caught by the peer's
 * signature, and one whose digest does not match the stored message too.
 */
static void evidence_checks(void)
{
	struct svmigd_evidence_report rep;
	struct json_object *d, *ev;
	char err[1024], *text, hex[65];
	uint8_t *raw, md[32];
	size_t len;
	int ret;

	ret = evidence(TPM_A, true, true, &rep, err, sizeof(err));
	if (ret)
		fail_msg("host-a's evidence: %s", err);
	/* request, host-b's quote, receipt, RESUMED */
	assert_int_equal(rep.checked, 4);
	assert_int_equal(rep.unchecked, 0);
	ret = evidence(TPM_B, true, true, &rep, err, sizeof(err));
	if (ret)
		fail_msg("host-b's evidence: %s", err);
	/* request, host-a's quote, COMMIT */
	assert_int_equal(rep.checked, 3);
	/* without the peer's certificate: checked what can be, counted */
	assert_int_equal(evidence(TPM_A, false, false, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.checked, 2);
	assert_int_equal(rep.unchecked, 2);
	assert_non_null(strstr(rep.unchecked_why, "no certificate of host-b"));

	log_state(TPM_A, true);
	log_state(TPM_B, true);
	/* host-a claims another RESUMED: its statement altered */
	d = last_details(TPM_A, "resumed");
	ev = json_object_object_get(d, "evidence");
	assert_int_equal(svmigd_base64_decode(json_object_get_string(
			json_object_object_get(ev, "statement")), 4096, &raw,
			&len), 0);
	text = strndup((char *)raw, len);
	free(raw);
	assert_non_null(strstr(text, "\"time\":"));
	strstr(text, "\"time\":")[8] ^= 1;	/* another time */
	raw = (uint8_t *)svmigd_base64_encode((uint8_t *)text, strlen(text));
	json_object_object_add(ev, "statement",
			       json_object_new_string((char *)raw));
	free(raw);
	assert_int_equal(svmigd_sha256(text, strlen(text), md), 0);
	svmigd_hex_encode(hex, md, 32);
	json_object_object_add(d, "statement", json_object_new_string(hex));
	assert_int_equal(svmigd_audit_append(F.audit[TPM_A], F.host_key[H_A],
					     "resumed", "alice", "web-1", d,
					     NULL, err, sizeof(err)), 0);
	assert_int_equal(evidence(TPM_A, true, true, &rep, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(rep.seq, 6);
	assert_non_null(strstr(err, "record 6: the stored resumed does not "
			       "verify with host-b's certificate"));
	/* ... or the genuine statement under another digest */
	json_object_put(d);
	d = last_details(TPM_B, "commit");
	log_state(TPM_B, false);
	json_object_object_add(d, "statement", json_object_new_string(
				       "00000000000000000000000000000000"
				       "00000000000000000000000000000000"));
	assert_int_equal(svmigd_audit_append(F.audit[TPM_B], F.host_key[H_B],
					     "commit", "alice", "web-1", d,
					     NULL, err, sizeof(err)), 0);
	assert_int_equal(evidence(TPM_B, true, true, &rep, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(rep.why, "not the one whose digest"));
	json_object_put(d);
	log_state(TPM_B, false);
	/* a quote whose PCR values were edited */
	d = last_details(TPM_B, "session");
	ev = json_object_object_get(d, "evidence");
	json_object_object_add(json_object_object_get(ev, "pcrs"), "0",
			       json_object_new_string(
				       "1111111111111111111111111111111111111111111111111111111111111111"));
	assert_int_equal(svmigd_audit_append(F.audit[TPM_B], F.host_key[H_B],
					     "session", "alice", "web-1", d,
					     NULL, err, sizeof(err)), 0);
	free(text);
	json_object_put(d);
	assert_int_equal(evidence(TPM_B, true, true, &rep, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(rep.seq, 6);
	assert_non_null(strstr(rep.why, "the stored quote of host-a does not verify"));
	/* without the policy, only against the values sent: still caught */
	assert_int_equal(evidence(TPM_B, true, false, &rep, err, sizeof(err)),
			 -EBADMSG);
	log_state(TPM_A, false);
	log_state(TPM_B, false);
}

/* The last record of host @t's log has @key == @val in its details. */
static void audited_detail(int t, const char *key, const char *val)
{
	char *line = NULL, *last = NULL;
	struct json_object *o, *d;
	size_t cap = 0;
	FILE *f = fopen(F.audit[t], "r");

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		free(last);
		last = strdup(line);
	}
	free(line);
	fclose(f);
	assert_non_null(last);
	o = json_tokener_parse(last);
	free(last);
	assert_non_null(o);
	d = json_object_object_get(o, "details");
	has(json_object_get_string(json_object_object_get(d, key)), val);
	json_object_put(o);
}

/* ---- success ---- */

static void check_established(const struct side *src, const struct side *tgt)
{
	const struct svmigd_session *a = &src->s, *b = &tgt->s;
	uint8_t md[SVMIGD_SHA256_LEN];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (src->ret || tgt->ret)
		fail_msg("source %d: %s; target %d: %s", src->ret, src->err,
			 tgt->ret, tgt->err);
	assert_true(a->source);
	assert_false(b->source);
	assert_memory_equal(a->secret, b->secret, SVMIGD_SECRET_LEN);
	assert_false(is_zero(a->secret, SVMIGD_SECRET_LEN));
	assert_memory_equal(a->id, b->id, SVMIGD_SESSION_ID_LEN);
	assert_memory_equal(a->transcript, b->transcript, SVMIGD_SHA256_LEN);
	/* id = SHA-256("svmig v1 session id" || H)[0..16) */
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, "svmig v1 session id", 19), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, a->transcript, 32), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, NULL), 1);
	EVP_MD_CTX_free(ctx);
	assert_memory_equal(a->id, md, SVMIGD_SESSION_ID_LEN);
	assert_string_equal(a->peer, "host-b");
	assert_string_equal(b->peer, "host-a");
	assert_memory_equal(a->quote_sha256, b->peer_quote_sha256, 32);
	assert_memory_equal(b->quote_sha256, a->peer_quote_sha256, 32);
	assert_memory_not_equal(a->quote_sha256, b->quote_sha256, 32);
	assert_memory_equal(a->key_sha256, b->peer_key_sha256, 32);
	assert_memory_equal(b->key_sha256, a->peer_key_sha256, 32);
	assert_memory_equal(a->request.request_sha256,
			    b->request.request_sha256, 32);
	assert_string_equal(a->operator, "alice");
	assert_string_equal(b->operator, "alice");
	assert_string_equal(a->role, "migrator");
	assert_string_equal(a->request.req.vm, b->request.req.vm);
}

/* A session for @req, then what @rc says follows it; established. */
static void session(struct side *src, struct side *tgt, const char *req,
		    int rc)
{
	pair_init(src, tgt, req);
	src->receipt = tgt->receipt = rc;
	run(src, tgt);
	check_established(src, tgt);
}

static void test_success(void **state)
{
	struct side src, tgt, src2, tgt2;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	session(&src, &tgt, req, RC_OK);
	if (src.rret || tgt.rret)
		fail_msg("receipt: source %d: %s; target %d: %s", src.rret,
			 src.rerr, tgt.rret, tgt.rerr);
	assert_true(src.r.ok);
	assert_int_equal(src.r.records, 1234);
	assert_int_equal(src.r.bytes, 5678901);
	assert_memory_equal(src.r.session, src.s.id, SVMIGD_SESSION_ID_LEN);
	assert_memory_equal(src.r.transcript, src.s.transcript, 32);
	assert_true(src.r.time > 0);
	/* the handover: both statements verified, both audited */
	assert_memory_equal(src.r.sha256, tgt.receipt_sha256, 32);
	if (src.cret || tgt.cret || src.dret || tgt.dret)
		fail_msg("handover: source %d/%d: %s %s; target %d/%d: %s %s",
			 src.cret, src.dret, src.cerr, src.derr, tgt.cret,
			 tgt.dret, tgt.cerr, tgt.derr);
	audited(TPM_A, "request,session,receipt,commit,resumed");
	audited(TPM_B, "request,session,receipt,commit,resumed");
	audited_detail(TPM_A, "step", "RESUMED");
	evidence_checks();

	/* another session: another secret, another id */
	free(req);
	req = request("web-2", 1024, 1);
	pair_init(&src2, &tgt2, req);
	src2.s.channels = 3;	/* libvirt's multifd: the REQUEST carries it */
	run(&src2, &tgt2);
	check_established(&src2, &tgt2);
	assert_int_equal(tgt.s.channels, 0);
	assert_int_equal(src2.s.channels, 3);
	assert_int_equal(tgt2.s.channels, 3);
	assert_memory_not_equal(src.s.secret, src2.s.secret, 32);
	assert_memory_not_equal(src.s.id, src2.s.id, SVMIGD_SESSION_ID_LEN);
	audited(TPM_A, "request,session,receipt,commit,resumed,request,session");
	audited(TPM_B, "request,session,receipt,commit,resumed,request,session");
	svmigd_session_wipe(&src.s);
	assert_true(is_zero(&src.s, sizeof(src.s)));
	free(req);
}

/* ---- refusals of the request ---- */

/* A scripted source: sends d->request as is, records the answer. */
static void script_request(struct side *d, struct svmig_tls_conn *conn)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_REQUEST);
	uint8_t nonce[SVMIGD_NONCE_LEN] = { 1, 2, 3 };

	json_object_object_add(msg, "request", json_tokener_parse(d->request));
	svmig_msg_add_hex(msg, "nonce", nonce, sizeof(nonce));
	svmigd_policy_claim_add(msg, F.policy[TPM_A]);
	d->ret = svmig_msg_send(conn, msg, T_TIMEOUT);
	json_object_put(msg);
	if (!d->ret)
		read_answer(d, conn);
}

/*
 * @req is refused: by the honest source (@ret, @why; the target learns
 * why), then, sent by a scripted source, by the target itself.
 * @events: what the target logs when it refuses by itself.
 */
static void refused_request(const char *req, int ret, const char *why,
			    const char *src_events, const char *tgt_events)
{
	struct side src, tgt;

	test_setup(NULL);
	pair_init(&src, &tgt, req);
	run(&src, &tgt);
	failed(&src, ret, why);
	failed(&tgt, -ECONNABORTED, why);
	has(tgt.err, "REQUEST: refused by host-a");
	audited(TPM_A, src_events);
	audited(TPM_B, "refused");
	audited_detail(TPM_B, "reason", why);

	test_setup(NULL);
	pair_init(&src, &tgt, req);
	src.script = script_request;
	run(&src, &tgt);
	failed(&tgt, ret, why);
	has(src.answer, "ERROR: ");
	has(src.answer, why);
	audited(TPM_B, tgt_events);
}

static void test_unsigned_request(void **state)
{
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = unsigned_request();
	refused_request(req, -EBADMSG, "request is not signed", "refused",
			"refused");
	free(req);
}

static void test_wrongly_signed_request(void **state)
{
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = wrongly_signed_request();
	refused_request(req, -EBADMSG,
			"signature does not verify with the certificate's key",
			"refused", "refused");
	free(req);
}

static void test_role_vm(void **state)
{
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("db-1", 2048, 2);
	refused_request(req, -EACCES,
			"policy: role migrator does not allow vm db-1",
			"request,refused", "request,refused");
	free(req);
}

static void test_role_target(void **state)
{
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request_by(OP_BOB, "web-1", "host-a", "host-b", 2048, 2);
	refused_request(req, -EACCES,
			"policy: role narrow does not allow target host-b",
			"request,refused", "request,refused");
	free(req);
}

/* Host certificate from an unknown CA; operator from an unknown CA. */
static void test_unknown_ca(void **state)
{
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	src.id = H_ROGUE;
	run(&src, &tgt);
	/*
	 * TLS 1.3: the client learns of it when it sends its REQUEST or
	 * reads the answer, whichever comes after the server's alert
	 */
	assert_int_equal(tgt.hs, -EACCES);
	has(tgt.err, "certificate");
	assert_true(src.ret == -EPROTO || src.ret == -ECONNRESET ||
		    src.ret == -EPIPE);
	if (!strstr(src.err, "REQUEST: sending REQUEST: ") &&
	    !strstr(src.err, "ATTEST: waiting for ATTEST: "))
		fail_msg("source: %s", src.err);
	assert_true(is_zero(&src.s, sizeof(src.s)));
	audited(TPM_A, "request,failed");
	audited(TPM_B, "");
	free(req);

	req = request_by(OP_MALLORY, "web-1", "host-a", "host-b", 2048, 2);
	refused_request(req, -EPERM, "operator certificate not trusted",
			"refused", "refused");
	free(req);
}

/* The request names another target; the peer's certificate another source. */
static void test_wrong_host(void **state)
{
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request_by(OP_BOB, "web-1", "host-a", "host-c", 512, 1);
	pair_init(&src, &tgt, req);
	run(&src, &tgt);
	failed(&src, -EACCES,
	       "REQUEST: the peer host is host-b, not the request's target host-c");
	failed(&tgt, -ECONNABORTED, "not the request's target host-c");
	audited(TPM_A, "request,refused");
	audited(TPM_B, "refused");
	free(req);

	/* host-x (trusted CA) claims to be host-a */
	test_setup(NULL);
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	src.id = H_X;
	run(&src, &tgt);
	failed(&tgt, -EACCES,
	       "REQUEST: the peer host is host-x, not the request's source host-a");
	failed(&src, -ECONNABORTED, "REQUEST: refused by host-b: the peer host is host-x");
	audited(TPM_A, "request,refused");
	audited(TPM_B, "request,refused");
	free(req);

	/* a target that is not the request's */
	test_setup(NULL);
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	tgt.cfg.host_name = "host-c";
	run(&src, &tgt);
	failed(&tgt, -EACCES,
	       "the request's target is host-b, not this host (host-c)");
	failed(&src, -ECONNABORTED, "refused by host-b");
	free(req);
}

/* A replay cache of request nonces on the target. */
struct seen {
	uint8_t nonce[8][SVMIGD_NONCE_LEN];
	int n;
};

static int check_fresh(void *arg, const struct svmigd_request_verified *v,
		       char *why, size_t whylen)
{
	struct seen *seen = arg;
	int i;

	for (i = 0; i < seen->n; i++)
		if (!memcmp(seen->nonce[i], v->req.nonce, SVMIGD_NONCE_LEN)) {
			snprintf(why, whylen, "replayed (nonce seen before)");
			return -1;
		}
	if (seen->n < 8)
		memcpy(seen->nonce[seen->n++], v->req.nonce, SVMIGD_NONCE_LEN);
	return 0;
}

static void test_replayed_request(void **state)
{
	struct seen seen = { .n = 0 };
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	tgt.cfg.check_request = check_fresh;
	tgt.cfg.check_arg = &seen;
	run(&src, &tgt);
	check_established(&src, &tgt);
	pair_init(&src, &tgt, req);
	tgt.cfg.check_request = check_fresh;
	tgt.cfg.check_arg = &seen;
	run(&src, &tgt);
	failed(&tgt, -EACCES, "request refused: replayed");
	failed(&src, -ECONNABORTED, "REQUEST: refused by host-b: request refused: replayed");
	audited(TPM_B, "request,session,request,refused");
	free(req);
}

static void test_tampered_policy(void **state)
{
	struct svmigd_policy *p = NULL;
	char path[128], err[256], *text;
	char *at;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	text = strdup(F.policy_text);
	assert_non_null(text);
	at = strstr(text, "\"max_vcpus\": 8");	/* host-b's */
	assert_non_null(at);
	at[strlen("\"max_vcpus\": ")] = '9';
	fpath(path, "tampered.json");
	assert_int_equal(write_file(path, text, strlen(text)), 0);
	assert_int_equal(svmigd_policy_load(&p, path, F.sig_path,
					    F.authority_path, err,
					    sizeof(err)), -EBADMSG);
	assert_null(p);
	has(err, "signature");
	/* the untouched file still loads */
	assert_int_equal(svmigd_policy_load(&p, F.policy_path, F.sig_path,
					    F.authority_path, err,
					    sizeof(err)), 0);
	svmigd_policy_free(p);
	unlink(path);
	free(text);
}

/*
 * The policy with its top-level "ek_cas" replaced by @member ("" for
 * none), signed by the authority, loaded.
 */
static struct svmigd_policy *policy_ek_variant(const char *member)
{
	struct svmigd_policy *p = NULL;
	char path[128], sig_path[128], err[256], *text, *a, *b;
	uint8_t *sig = NULL;
	size_t siglen, n;

	a = strstr(F.policy_text, "\"ek_cas\"");
	b = a ? strstr(a, "\"hosts\"") : NULL;	/* the one after it */
	assert_true(a && b && a < b);
	n = strlen(F.policy_text) + strlen(member) + 1;
	text = malloc(n);
	assert_non_null(text);
	snprintf(text, n, "%.*s%s%s", (int)(a - F.policy_text), F.policy_text,
		 member, b);
	fpath(path, "policy-ek.json");
	fpath(sig_path, "policy-ek.json.sig");
	assert_int_equal(write_file(path, text, strlen(text)), 0);
	assert_int_equal(svmigd_sign(F.authority_key, text, strlen(text), &sig,
				     &siglen), 0);
	assert_int_equal(write_file(sig_path, sig, siglen), 0);
	if (svmigd_policy_load(&p, path, sig_path, F.authority_path, err,
			       sizeof(err)))
		fail_msg("policy: %s", err);
	free(sig);
	free(text);
	unlink(path);
	unlink(sig_path);
	return p;
}

/*
 * The source's policy names another manufacturer CA (an unrelated CA
 * certificate), then none: host-b's EK certificate is refused at ATTEST,
 * before its quote is looked at, audited on both hosts.
 */
static void test_ek_unlisted(void **state)
{
	struct svmigd_policy *p;
	struct side src, tgt;
	char member[4096], *req;
	BIO *bio;
	BUF_MEM *mem;
	struct json_object *o;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	bio = BIO_new(BIO_s_mem());
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, F.ca[CA_A]), 1);
	BIO_write(bio, "", 1);
	BIO_get_mem_ptr(bio, &mem);
	o = json_object_new_string(mem->data);
	snprintf(member, sizeof(member), "\"ek_cas\": [ %s ],\n",
		 json_object_to_json_string(o));
	json_object_put(o);
	BIO_free(bio);
	p = policy_ek_variant(member);
	pair_init(&src, &tgt, req);
	/* both hosts enforce the variant: the claims agree, ATTEST decides */
	src.cfg.policy = p;
	tgt.cfg.policy = p;
	run(&src, &tgt);
	failed(&src, -EACCES, "ATTEST: host-b's EK certificate: the EK "
	       "certificate does not chain to a listed manufacturer CA");
	failed(&tgt, -ECONNABORTED, "ATTEST: refused by host-a: host-b's EK "
	       "certificate");
	audited(TPM_A, "request,refused");
	audited(TPM_B, "request,refused");
	audited_detail(TPM_A, "reason", "does not chain to a listed manufacturer CA");
	svmigd_policy_free(p);

	test_setup(NULL);
	p = policy_ek_variant("");
	pair_init(&src, &tgt, req);
	/* both hosts enforce the variant: the claims agree, ATTEST decides */
	src.cfg.policy = p;
	tgt.cfg.policy = p;
	run(&src, &tgt);
	failed(&src, -EACCES, "ATTEST: host-b's EK certificate: the policy "
	       "names no manufacturer CA (ek_cas) for host-b");
	audited(TPM_A, "request,refused");
	svmigd_policy_free(p);
	free(req);
}

/* A scripted source: sends d->request, a whole message, as is. */
static void script_raw(struct side *d, struct svmig_tls_conn *conn)
{
	struct json_object *msg = json_tokener_parse(d->request);

	d->ret = svmig_msg_send(conn, msg, T_TIMEOUT);
	json_object_put(msg);
	if (!d->ret)
		read_answer(d, conn);
}

static void test_protocol_violation(void **state)
{
	static const struct {
		const char *msg, *why;
	} cases[] = {
		{ "{\"type\":\"KEY\"}", "expected a REQUEST message, got KEY" },
		{ "{\"type\":\"REQUEST\",\"request\":{},\"nonce\":\"00\",%s}",
		  "malformed REQUEST message: field \"nonce\"" },
		{ "{\"type\":\"REQUEST\",\"request\":{},\"nonce\":\"00\",\"x\":1,%s}",
		  "malformed REQUEST message: unknown fields" },
		/* channels (libvirt's multifd): 1..8, a number */
		{ "{\"type\":\"REQUEST\",\"request\":{},\"nonce\":\"00\",\"channels\":9,%s}",
		  "malformed REQUEST message: field \"channels\"" },
		{ "{\"type\":\"REQUEST\",\"request\":{},\"nonce\":\"00\",\"channels\":0,%s}",
		  "malformed REQUEST message: field \"channels\"" },
		{ "{\"type\":\"REQUEST\",\"request\":{},\"nonce\":\"00\",\"channels\":\"2\",%s}",
		  "malformed REQUEST message: field \"channels\"" },
		{ "{\"type\":\"REQUEST\",\"request\":{},\"nonce\":\"00\",\"channels\":-1,%s}",
		  "malformed REQUEST message: field \"channels\"" },
		/* the policy claim: absent (7), malformed (8) */
		{ "{\"type\":\"REQUEST\",\"request\":{},\"nonce\":\"00\"}%s",
		  "malformed REQUEST message: field \"policy\"" },
		{ "{\"type\":\"REQUEST\",\"request\":{},\"nonce\":\""
		  "0000000000000000000000000000000000000000000000000000000000000000\","
		  "\"policy\":{\"sha256\":\"00\",\"serial\":1}}%s",
		  "malformed REQUEST message: field \"policy\"" },
		{ "{\"type\":\"REQUEST\",\"request\":[],\"nonce\":\""
		  "0000000000000000000000000000000000000000000000000000000000000000\",%s}",
		  "request refused: signed request: expected an object" },
	};
	const size_t proto = sizeof(cases) / sizeof(cases[0]) - 1;
	struct json_object *claim = json_object_new_object();
	struct side src, tgt;
	char text[1024], part[256];
	size_t i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	assert_int_equal(svmigd_policy_claim_add(claim, F.policy[TPM_A]), 0);
	/* "policy":{...} as the honest source sends it */
	snprintf(part, sizeof(part), "%s",
		 json_object_to_json_string_ext(claim, JSON_C_TO_STRING_PLAIN) + 1);
	part[strlen(part) - 1] = '\0';
	json_object_put(claim);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), cases[i].msg,
			 i == 7 || i == 8 ? "" : part);
		test_setup(NULL);
		pair_init(&src, &tgt, text);
		src.script = script_raw;
		run(&src, &tgt);
		failed(&tgt, i < proto ? -EPROTO : -EBADMSG, cases[i].why);
		has(src.answer, "ERROR: ");
		has(src.answer, cases[i].why);
		audited(TPM_B, "refused");
	}
}

/* An audit log that cannot be written stops the session. */
static void test_audit_unwritable(void **state)
{
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	tgt.cfg.audit_log = "/nonexistent/svmig/audit.log";
	run(&src, &tgt);
	failed(&tgt, -ENOENT, "REQUEST: audit log: /nonexistent/svmig/audit.log");
	has(tgt.err, "(not audited: ");
	failed(&src, -ECONNABORTED, "REQUEST: refused by host-b: internal error");
	audited(TPM_A, "request,refused");
	free(req);
}

/* ---- attestation ---- */

/* Resets the resettable PCR of TPM @t (locality 0). */
static void pcr_reset(int t)
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *esys = NULL;

	assert_int_equal(Tss2_TctiLdr_Initialize(F.swtpm[t].tcti, &tcti), 0);
	assert_int_equal(Esys_Initialize(&esys, tcti, NULL), 0);
	assert_int_equal(Esys_PCR_Reset(esys, ESYS_TR_PCR0 + RESET_PCR,
					ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE), 0);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tcti);
}

static void pcr_off(int t)
{
	uint8_t d[SVMIGD_TPM_DIGEST_LEN];

	memset(d, 0x5a, sizeof(d));
	assert_int_equal(svmigd_tpm_pcr_extend(F.tpm[t], RESET_PCR, d), 0);
}

/* The target's PCRs, then the source's, off their reference values. */
static void test_pcrs_off(void **state)
{
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	pcr_off(TPM_B);
	pair_init(&src, &tgt, req);
	run(&src, &tgt);
	pcr_reset(TPM_B);
	failed(&src, -EACCES,
	       "ATTEST: host-b's quote: PCR 16 differs from its reference value");
	failed(&tgt, -ECONNABORTED,
	       "ATTEST: refused by host-a: host-b's quote: PCR 16 differs");
	audited(TPM_A, "request,refused");
	audited(TPM_B, "request,refused");
	audited_detail(TPM_A, "reason", "PCR 16");
	audited_detail(TPM_B, "by", "peer");

	test_setup(NULL);
	pcr_off(TPM_A);
	pair_init(&src, &tgt, req);
	run(&src, &tgt);
	pcr_reset(TPM_A);
	failed(&tgt, -EACCES,
	       "ATTEST: host-a's quote: PCR 16 differs from its reference value");
	failed(&src, -ECONNABORTED,
	       "ATTEST: refused by host-b: host-a's quote: PCR 16 differs");

	/* back to normal */
	test_setup(NULL);
	pair_init(&src, &tgt, req);
	run(&src, &tgt);
	check_established(&src, &tgt);
	free(req);
}

/*
 * A man in the middle with both hosts' TLS keys (stolen) relays the
 * messages between two TLS sessions: the target's quote carries the other
 * session's E.
 */
struct mitm {
	int fd_s, fd_t;
	pthread_t thread;
	int ret;
	char err[SVMIG_TLS_ERR_LEN];
};

static int relay(struct svmig_tls_conn *from, struct svmig_tls_conn *to)
{
	struct json_object *msg;
	int ret = svmig_msg_recv(from, T_TIMEOUT, &msg);

	if (!ret)
		ret = svmig_msg_send(to, msg, T_TIMEOUT);
	json_object_put(msg);
	return ret;
}

static void *mitm_main(void *p)
{
	struct svmig_tls_conn *cs = NULL, *ct = NULL;
	struct mitm *m = p;

	m->ret = svmig_tls_accept(F.tls[H_B], m->fd_s, T_TIMEOUT, &cs, m->err,
				  sizeof(m->err));
	if (!m->ret)
		m->ret = svmig_tls_connect(F.tls[H_A], m->fd_t, "host-b",
					   T_TIMEOUT, &ct, m->err,
					   sizeof(m->err));
	if (!m->ret)
		m->ret = relay(cs, ct);		/* REQUEST */
	if (!m->ret)
		m->ret = relay(ct, cs);		/* ATTEST */
	if (!m->ret)
		m->ret = relay(cs, ct);		/* the source's ERROR */
	if (ct)
		svmig_tls_shutdown(ct, 1000);
	if (cs)
		svmig_tls_shutdown(cs, 1000);
	svmig_tls_free(ct);
	svmig_tls_free(cs);
	close(m->fd_s);
	close(m->fd_t);
	return NULL;
}

static void test_relayed_quote(void **state)
{
	struct side src, tgt;
	struct mitm m = { 0 };
	char *req;
	int a[2], b[2];

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	m.fd_s = a[1];
	m.fd_t = b[0];
	start(&src, a[0]);
	assert_int_equal(pthread_create(&m.thread, NULL, mitm_main, &m), 0);
	start(&tgt, b[1]);
	assert_int_equal(pthread_join(src.thread, NULL), 0);
	assert_int_equal(pthread_join(m.thread, NULL), 0);
	assert_int_equal(pthread_join(tgt.thread, NULL), 0);
	if (m.ret)
		fail_msg("relay: %d: %s", m.ret, m.err);
	failed(&src, -EACCES, "ATTEST: host-b's quote: the qualifying data is not this session's");
	failed(&tgt, -ECONNABORTED, "ATTEST: refused by host-a: host-b's quote: the qualifying data");
	audited(TPM_A, "request,refused");
	audited(TPM_B, "request,refused");
	free(req);
}

/* ---- scripted peers that replay a quote from an earlier session ---- */

static char *recorded;		/* an ATTEST message, JSON text */

/* An ATTEST of TPM @t for the verifier's @nonce over E of @conn. */
static struct json_object *quote_msg(int t, struct svmig_tls_conn *conn,
				     const uint8_t *nonce, bool with_nonce)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_ATTEST), *pcrs;
	uint8_t e[SVMIG_TLS_EXPORTER_LEN], qual[32], own[32] = { 9 };
	struct svmigd_tpm_quote q;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char idx[4];
	unsigned int i;

	if (!msg || !md || svmig_tls_exporter(conn, e) ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, e, sizeof(e)) != 1 ||
	    EVP_DigestUpdate(md, "quote", 5) != 1 ||
	    EVP_DigestUpdate(md, nonce, 32) != 1 ||
	    EVP_DigestFinal_ex(md, qual, NULL) != 1 ||
	    svmigd_policy_claim_bind(qual, F.policy[t]) ||
	    svmigd_tpm_quote(F.tpm[t], qual, quote_pcrs, NQUOTE, &q)) {
		EVP_MD_CTX_free(md);
		json_object_put(msg);
		return NULL;
	}
	EVP_MD_CTX_free(md);
	if (with_nonce)
		svmig_msg_add_hex(msg, "nonce", own, sizeof(own));
	svmig_msg_add_hex(msg, "ak", F.ak[t].pub, F.ak[t].pub_len);
	svmigd_cred_add_ek(F.tpm[t], msg, NULL, 0);	/* "ek", "ek_cert" */
	svmig_msg_add_hex(msg, "attest", q.attest, q.attest_len);
	svmig_msg_add_hex(msg, "sig", q.sig, q.sig_len);
	pcrs = json_object_new_object();
	for (i = 0; i < q.pcrs.count; i++) {
		snprintf(idx, sizeof(idx), "%u", q.pcrs.index[i]);
		svmig_msg_add_hex(pcrs, idx, q.pcrs.value[i], 32);
	}
	json_object_object_add(msg, "pcrs", pcrs);
	svmigd_policy_claim_add(msg, F.policy[t]);
	return msg;
}

static int recv_nonce(struct svmig_tls_conn *conn, const char *type,
		      uint8_t nonce[32])
{
	struct json_object *msg;
	int ret = svmig_msg_expect(conn, type, T_TIMEOUT, &msg);

	if (!ret)
		ret = svmig_msg_get_hex(msg, "nonce", nonce, 32);
	json_object_put(msg);
	return ret;
}

static struct json_object *replay_or_quote(struct side *d, int t,
					   struct svmig_tls_conn *conn,
					   const uint8_t *nonce)
{
	if (recorded)
		return json_tokener_parse(recorded);
	return quote_msg(t, conn, nonce, !d->source);
}

/*
 * Sends our ATTEST: recorded if we have one, else a genuine one (kept);
 * then (@bye) an ERROR.  The answer that comes is in d->answer.
 */
static void say_goodbye(struct svmig_tls_conn *conn);
static void send_attest(struct side *d, int t, struct svmig_tls_conn *conn,
			const uint8_t *nonce, bool bye)
{
	struct json_object *msg = replay_or_quote(d, t, conn, nonce);

	if (!msg) {
		d->ret = -EIO;
		return;
	}
	if (!recorded)
		recorded = strdup(json_object_to_json_string_ext(msg,
						JSON_C_TO_STRING_PLAIN));
	d->ret = svmig_msg_send(conn, msg, T_TIMEOUT);
	json_object_put(msg);
	if (!d->ret && bye)
		say_goodbye(conn);
	if (!d->ret)
		read_answer(d, conn);
}

static void say_goodbye(struct svmig_tls_conn *conn)
{
	struct json_object *msg = svmig_msg_new("ERROR");

	json_object_object_add(msg, "reason", json_object_new_string("test over"));
	svmig_msg_send(conn, msg, T_TIMEOUT);
	json_object_put(msg);
}

/* host-b (stolen key, its genuine TPM) against the honest source. */
static void script_evil_target(struct side *d, struct svmig_tls_conn *conn)
{
	uint8_t nonce[32];

	d->ret = recv_nonce(conn, SVMIG_MSG_REQUEST, nonce);
	if (!d->ret)
		send_attest(d, TPM_B, conn, nonce, false);
	say_goodbye(conn);
}

/* host-a (stolen key, its genuine TPM) against the honest target. */
static void script_evil_source(struct side *d, struct svmig_tls_conn *conn)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_REQUEST);
	uint8_t nonce[32] = { 7 }, peer[32];

	json_object_object_add(msg, "request", json_tokener_parse(d->request));
	svmig_msg_add_hex(msg, "nonce", nonce, sizeof(nonce));
	svmigd_policy_claim_add(msg, F.policy[TPM_A]);
	d->ret = svmig_msg_send(conn, msg, T_TIMEOUT);
	json_object_put(msg);
	if (!d->ret)
		d->ret = recv_nonce(conn, SVMIG_MSG_ATTEST, peer);
	/* the target waits for our CHALLENGE after our ATTEST: goodbye first */
	if (!d->ret)
		send_attest(d, TPM_A, conn, peer, true);
}

/* The ADMIT and the KEY an honest target would send (TPM_B's ECDH key). */
static int send_admit_key(struct svmig_tls_conn *conn, struct svmigd_tpm_ecdh **key)
{
	struct svmigd_tpm_ecdh_cert *c = calloc(1, sizeof(*c));
	uint8_t e[SVMIG_TLS_EXPORTER_LEN], qual[32];
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_ADMIT);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ret = -EIO;

	json_object_object_add(msg, "verdict", json_object_new_string("accept"));
	if (!c || !md || svmig_msg_send(conn, msg, T_TIMEOUT) ||
	    svmig_tls_exporter(conn, e) ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, e, sizeof(e)) != 1 ||
	    EVP_DigestUpdate(md, "ecdh", 4) != 1 ||
	    EVP_DigestFinal_ex(md, qual, NULL) != 1 ||
	    svmigd_tpm_ecdh_create(F.tpm[TPM_B], qual, key, c))
		goto out;
	json_object_put(msg);
	msg = svmig_msg_new(SVMIG_MSG_KEY);
	svmig_msg_add_hex(msg, "pub", c->pub, c->pub_len);
	svmig_msg_add_hex(msg, "attest", c->attest, c->attest_len);
	svmig_msg_add_hex(msg, "sig", c->sig, c->sig_len);
	ret = svmig_msg_send(conn, msg, T_TIMEOUT);
out:
	EVP_MD_CTX_free(md);
	json_object_put(msg);
	free(c);
	return ret;
}

/*
 * The target's honest credential round (credential.h) after the source's
 * ATTEST @attest: its CHALLENGE activated with TPM_B, then ours for the
 * source's AK, and its ACTIVATED (not checked).
 */
static int target_cred_round(struct svmig_tls_conn *conn,
			     struct json_object *attest)
{
	struct json_object *msg = NULL, *out = NULL;
	uint8_t e[SVMIG_TLS_EXPORTER_LEN], ak[SVMIGD_TPM_PUBLIC_MAX];
	struct svmigd_cred_peer peer;
	size_t ak_len;
	int ret;

	ret = svmig_tls_exporter(conn, e);
	if (!ret)
		ret = svmig_msg_expect(conn, SVMIG_MSG_CHALLENGE, T_TIMEOUT,
				       &msg);
	if (!ret)
		ret = svmigd_cred_activate(F.tpm[TPM_B], &F.ak[TPM_B], e, msg,
					   &out, NULL, 0);
	json_object_put(msg);
	msg = NULL;
	if (!ret)
		ret = svmig_msg_send(conn, out, T_TIMEOUT);
	json_object_put(out);
	out = NULL;
	if (!ret)
		ret = svmig_msg_get_hex_range(attest, "ak", ak, 1, sizeof(ak),
					      &ak_len);
	if (!ret)
		ret = svmigd_cred_check_ek(attest, F.policy[TPM_B],
					   svmigd_policy_host(F.policy[TPM_B],
							      "host-a"),
					   &peer, NULL, 0);
	if (!ret)
		ret = svmigd_cred_challenge(F.tpm[TPM_B], &peer, ak, ak_len, e,
					    &out, NULL, 0);
	if (!ret)
		ret = svmig_msg_send(conn, out, T_TIMEOUT);
	json_object_put(out);
	if (!ret)
		ret = svmig_msg_expect(conn, SVMIG_MSG_ACTIVATED, T_TIMEOUT,
				       &msg);
	json_object_put(msg);
	return ret;
}

/*
 * host-b (stolen TLS key, its genuine TPM), honest up to its KEY, then a
 * CONFIRM that no key of this session made.
 */
static void script_wrong_confirm(struct side *d, struct svmig_tls_conn *conn)
{
	struct svmigd_tpm_ecdh *key = NULL;
	struct json_object *msg = NULL;
	uint8_t nonce[32], mac[32];

	memset(mac, 0x42, sizeof(mac));
	d->ret = recv_nonce(conn, SVMIG_MSG_REQUEST, nonce);
	if (!d->ret) {
		msg = quote_msg(TPM_B, conn, nonce, true);
		d->ret = msg ? svmig_msg_send(conn, msg, T_TIMEOUT) : -EIO;
		json_object_put(msg);
	}
	if (!d->ret)
		d->ret = svmig_msg_expect(conn, SVMIG_MSG_ATTEST, T_TIMEOUT, &msg);
	if (!d->ret)
		d->ret = target_cred_round(conn, msg);
	json_object_put(msg);
	msg = NULL;
	if (!d->ret)
		d->ret = send_admit_key(conn, &key);
	if (!d->ret)
		d->ret = svmig_msg_expect(conn, SVMIG_MSG_KEY, T_TIMEOUT, &msg);
	json_object_put(msg);
	if (!d->ret) {
		msg = svmig_msg_new(SVMIG_MSG_CONFIRM);
		svmig_msg_add_hex(msg, "mac", mac, sizeof(mac));
		d->ret = svmig_msg_send(conn, msg, T_TIMEOUT);
		json_object_put(msg);
	}
	if (!d->ret)
		read_answer(d, conn);
	if (key)
		svmigd_tpm_ecdh_free(key);
}

/* Keys that do not match are refused before DATA, with no session. */
static void test_wrong_confirm(void **state)
{
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	tgt.script = script_wrong_confirm;
	run(&src, &tgt);
	if (tgt.ret)
		fail_msg("scripted target: %d: %s", tgt.ret, tgt.answer);
	failed(&src, -EACCES, "CONFIRM: key confirmation failed: host-b did not "
	       "derive this session's keys");
	has(tgt.answer, "ERROR: key confirmation failed");
	audited(TPM_A, "request,session,refused");
	audited_detail(TPM_A, "step", "CONFIRM");
	free(req);
}

static void test_replayed_quote(void **state)
{
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	/* a genuine quote of host-b in session 1: the source takes it */
	free(recorded);
	recorded = NULL;
	pair_init(&src, &tgt, req);
	tgt.script = script_evil_target;
	run(&src, &tgt);
	assert_int_equal(tgt.ret, 0);
	has(tgt.answer, "ATTEST: ");	/* the source's own quote came */
	failed(&src, -ECONNABORTED, "test over");
	assert_non_null(recorded);
	/* replayed in session 2 */
	test_setup(NULL);
	pair_init(&src, &tgt, req);
	tgt.script = script_evil_target;
	run(&src, &tgt);
	failed(&src, -EACCES, "ATTEST: host-b's quote: the qualifying data is not this session's");
	has(tgt.answer, "ERROR: host-b's quote: the qualifying data");
	audited(TPM_A, "request,refused");

	/* the same with a quote of host-a against the target */
	free(recorded);
	recorded = NULL;
	test_setup(NULL);
	pair_init(&src, &tgt, req);
	src.script = script_evil_source;
	run(&src, &tgt);
	assert_int_equal(src.ret, 0);
	/* the target took the quote: it waited for our CHALLENGE */
	failed(&tgt, -ECONNABORTED, "CHALLENGE: refused by host-a: test over");
	test_setup(NULL);
	pair_init(&src, &tgt, req);
	src.script = script_evil_source;
	run(&src, &tgt);
	failed(&tgt, -EACCES, "ATTEST: host-a's quote: the qualifying data is not this session's");
	has(src.answer, "ERROR: host-a's quote: the qualifying data");
	audited(TPM_B, "request,refused");
	free(recorded);
	recorded = NULL;
	free(req);
}

/* ---- attestation only (svmigctl attest) ---- */

/* The verifier: asks its peer for a quote, nothing else. */
static void script_attest(struct side *d, struct svmig_tls_conn *conn)
{
	d->ret = svmigd_session_attest_peer(conn, &d->cfg, &d->att, d->err,
					    sizeof(d->err));
}

/* host-a (verifier) asks host-b (attester, an honest target). */
static void probe_init(struct side *ver, struct side *att)
{
	pair_init(ver, att, NULL);
	ver->script = script_attest;
}

/* The PCR @idx of @p, or NULL. */
static const uint8_t *pcr_of(const struct svmigd_tpm_pcrs *p, unsigned int idx)
{
	unsigned int i;

	for (i = 0; i < p->count; i++)
		if (p->index[i] == idx)
			return p->value[i];
	return NULL;
}

static void test_attest_only(void **state)
{
	const struct svmigd_attestation *a;
	struct side ver, att;
	char want[65], *req;
	unsigned int i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	probe_init(&ver, &att);
	run(&ver, &att);
	if (ver.ret || att.ret != SVMIGD_SESSION_PROBED)
		fail_msg("verifier %d: %s; attester %d: %s", ver.ret, ver.err,
			 att.ret, att.err);
	has(att.err, "attestation only: host-a asked for our quote");
	assert_true(is_zero(&att.s, sizeof(att.s)));	/* no session */
	a = &ver.att;
	assert_string_equal(a->peer, "host-b");
	assert_true(a->known && a->have_ak && a->have_quote && a->have_pcrs);
	assert_memory_equal(a->ak_sha256, F.ak[TPM_B].sha256, 32);
	assert_memory_equal(a->ak_reference, F.ak[TPM_B].sha256, 32);
	assert_false(is_zero(a->nonce, sizeof(a->nonce)));
	assert_int_equal(a->pcrs.count, NQUOTE);
	assert_int_equal(a->reference.count, NQUOTE);
	for (i = 0; i < NQUOTE; i++) {
		assert_int_equal(a->pcrs.index[i], quote_pcrs[i]);
		assert_memory_equal(a->pcrs.value[i], F.pcrs[TPM_B].value[i], 32);
		assert_memory_equal(a->reference.value[i], a->pcrs.value[i], 32);
	}
	/* both logs: one "attest" record, the same quote */
	audited(TPM_A, "attest");
	audited(TPM_B, "attest");
	audited_detail(TPM_A, "role", "verifier");
	audited_detail(TPM_B, "role", "attester");
	svmigd_hex_encode(want, a->quote_sha256, 32);
	audited_detail(TPM_A, "peer_quote", want);
	audited_detail(TPM_B, "quote", want);
	svmigd_hex_encode(want, F.ak[TPM_B].sha256, 32);
	audited_detail(TPM_A, "peer_ak", want);

	/* a fresh nonce, a fresh quote */
	memcpy(want, a->quote_sha256, 32);
	probe_init(&ver, &att);
	run(&ver, &att);
	assert_int_equal(ver.ret, 0);
	assert_memory_not_equal(ver.att.quote_sha256, want, 32);

	/* the target still migrates after answering probes */
	test_setup(NULL);
	req = request("web-1", 2048, 2);
	pair_init(&ver, &att, req);
	run(&ver, &att);
	check_established(&ver, &att);
	free(req);
}

/* PCR 16 of host-b off its reference: refused, with the values shown. */
static void test_attest_pcrs_off(void **state)
{
	const struct svmigd_attestation *a;
	struct side ver, att;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	pcr_off(TPM_B);
	probe_init(&ver, &att);
	run(&ver, &att);
	pcr_reset(TPM_B);
	failed(&ver, -EACCES,
	       "ATTEST: host-b's quote: PCR 16 differs from its reference value");
	failed(&att, -ECONNABORTED,
	       "ATTEST: refused by host-a: host-b's quote: PCR 16 differs");
	a = &ver.att;
	assert_true(a->known && a->have_ak && a->have_quote && a->have_pcrs);
	assert_memory_equal(pcr_of(&a->pcrs, 0), pcr_of(&a->reference, 0), 32);
	assert_memory_not_equal(pcr_of(&a->pcrs, RESET_PCR),
				pcr_of(&a->reference, RESET_PCR), 32);
	audited(TPM_A, "refused");
	audited(TPM_B, "refused");
	audited_detail(TPM_A, "reason", "PCR 16");
	audited_detail(TPM_A, "role", "verifier");
	audited_detail(TPM_B, "by", "peer");

	/* back to normal */
	test_setup(NULL);
	probe_init(&ver, &att);
	run(&ver, &att);
	assert_int_equal(ver.ret, 0);
}

/* Peers that are not trusted, or not in the policy. */
static void test_attest_unknown(void **state)
{
	struct side ver, att;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	/* an unknown CA's "host-a" answers: its certificate is refused */
	probe_init(&ver, &att);
	ver.connect_to = "host-a";
	att.id = H_ROGUE;
	att.cfg.host_name = "host-a";
	run(&ver, &att);
	assert_int_equal(ver.hs, -EACCES);
	has(ver.err, "certificate");
	assert_false(ver.att.known || ver.att.have_quote);
	audited(TPM_A, "");
	audited(TPM_B, "");

	/* the same CA's host-a asks: the attester's TLS refuses it */
	test_setup(NULL);
	probe_init(&ver, &att);
	ver.id = H_ROGUE;
	run(&ver, &att);
	assert_int_equal(att.hs, -EACCES);
	assert_true(ver.ret < 0);
	assert_false(ver.att.have_quote);

	/* host-x (trusted CA, not in the policy) answers: no reference values */
	test_setup(NULL);
	probe_init(&ver, &att);
	ver.connect_to = "host-x";
	att.id = H_X;
	run(&ver, &att);
	failed(&ver, -EACCES, "PROBE: policy: host unknown: host-x (no reference values)");
	failed(&att, -ECONNABORTED, "refused by host-a: policy: host unknown: host-x");
	assert_false(ver.att.known);
	audited(TPM_A, "refused");

	/* host-x asks host-b: not quoted for a stranger */
	test_setup(NULL);
	probe_init(&ver, &att);
	ver.id = H_X;
	ver.cfg.host_name = "host-a";	/* its own policy view */
	run(&ver, &att);
	failed(&att, -EACCES, "PROBE: policy: host unknown: host-x");
	failed(&ver, -ECONNABORTED, "refused by host-b: policy: host unknown: host-x");
	assert_false(ver.att.have_quote);
	audited(TPM_B, "refused");
}

/* Malformed PROBEs are refused before the TPM quotes anything. */
static void test_attest_malformed(void **state)
{
	static const struct {
		const char *msg, *why;
	} cases[] = {
		{ "{\"type\":\"PROBE\"}", "malformed PROBE message: field \"nonce\"" },
		{ "{\"type\":\"PROBE\",\"nonce\":\"00\"}",
		  "malformed PROBE message: field \"nonce\"" },
		{ "{\"type\":\"PROBE\",\"nonce\":\""
		  "0000000000000000000000000000000000000000000000000000000000000000\","
		  "\"pcrs\":[0]}", "malformed PROBE message: unknown fields" },
	};
	struct side src, tgt;
	size_t i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_setup(NULL);
		pair_init(&src, &tgt, cases[i].msg);
		src.script = script_raw;
		run(&src, &tgt);
		failed(&tgt, -EPROTO, cases[i].why);
		has(src.answer, "ERROR: ");
		audited(TPM_B, "refused");
		audited_detail(TPM_B, "role", "attester");
	}
}

/* ---- admission ---- */

static void test_out_of_resources(void **state)
{
	static const struct {
		uint64_t mem, limit;
		uint32_t vcpus;
		const char *reason, *detail;
	} cases[] = {
		{ 2048, 1024, 2, "memory",
		  "vm_mem_mib 2048 exceeds this host's limit of 1024 MiB" },
		{ 2048, 8192, 6, "vcpus",
		  "vm_vcpus 6 exceeds this host's limit of 4" },
		{ 6144, 8192, 2, "policy",
		  "vm_mem_mib 6144 exceeds the policy's limit of 4096 MiB for host-b" },
	};
	struct side src, tgt;
	char *req, want[256];
	size_t i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_setup(NULL);
		req = request("web-1", cases[i].mem, cases[i].vcpus);
		pair_init(&src, &tgt, req);
		tgt.cfg.max_mem_mib = cases[i].limit;
		run(&src, &tgt);
		snprintf(want, sizeof(want), "ADMIT: refused by host-b: %s: %s",
			 cases[i].reason, cases[i].detail);
		failed(&src, -ECONNABORTED, want);
		snprintf(want, sizeof(want), "ADMIT: refused (%s): %s",
			 cases[i].reason, cases[i].detail);
		failed(&tgt, -EACCES, want);
		audited(TPM_A, "request,refused");
		audited(TPM_B, "request,refused");
		audited_detail(TPM_A, "by", "peer");
		audited_detail(TPM_B, "by", "us");
		free(req);
	}
}

/* ---- receipts ---- */

static void test_forged_receipt(void **state)
{
	static const struct {
		int receipt, ret;
		const char *why;
	} cases[] = {
		{ RC_OTHER_KEY, -EBADMSG, "RECEIPT: receipt refused: its signature does not verify with host-b's certificate" },
		{ RC_OTHER_SESSION, -EBADMSG, "RECEIPT: receipt refused: it is for session" },
		{ RC_FAILED, -EREMOTEIO, "RECEIPT: host-b reports that the migration failed: " FAILED_REASON },
		/* a lying (or confused) target: not what the source sent */
		{ RC_MISCOUNT, -EBADMSG, "RECEIPT: receipt refused: it counts 1235 records and 5678901 bytes, but 1234 records and 5678901 bytes were sent" },
	};
	struct side src, tgt;
	char *req;
	size_t i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_setup(NULL);
		pair_init(&src, &tgt, req);
		src.receipt = tgt.receipt = cases[i].receipt;
		run(&src, &tgt);
		check_established(&src, &tgt);
		if (tgt.rret)
			fail_msg("receipt_send: %d: %s", tgt.rret, tgt.rerr);
		if (src.rret != cases[i].ret)
			fail_msg("receipt_recv: %d (%d expected): %s",
				 src.rret, cases[i].ret, src.rerr);
		has(src.rerr, cases[i].why);
		if (cases[i].ret == -EBADMSG) {
			has(tgt.answer, "ERROR: receipt refused");
			assert_true(is_zero(&src.r, sizeof(src.r)));
			audited(TPM_A, "request,session,refused");
		} else {
			assert_false(src.r.ok);
			assert_string_equal(src.r.reason, FAILED_REASON);
			audited(TPM_A, "request,session,receipt");
			audited_detail(TPM_A, "verdict", "failed");
			audited_detail(TPM_A, "reason", FAILED_REASON);
		}
	}
	free(req);
}

/*
 * A COMMIT the target must refuse: its copy is never resumed (no RESUMED
 * is sent), and the source learns why.
 */
static void test_forged_commit(void **state)
{
	static const struct {
		int receipt;
		const char *why;
	} cases[] = {
		{ RC_COMMIT_OTHER_KEY, "COMMIT: COMMIT refused: its signature does not verify with host-a's certificate" },
		{ RC_COMMIT_OTHER_RECEIPT, "COMMIT: COMMIT refused: it names another receipt" },
	};
	struct side src, tgt;
	char *req;
	size_t i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_setup(NULL);
		pair_init(&src, &tgt, req);
		src.receipt = tgt.receipt = cases[i].receipt;
		run(&src, &tgt);
		check_established(&src, &tgt);
		if (src.rret || tgt.rret)
			fail_msg("receipt: %d %s / %d %s", src.rret, src.rerr,
				 tgt.rret, tgt.rerr);
		assert_int_equal(src.cret, 0);	/* sent */
		if (tgt.cret != -EBADMSG)
			fail_msg("target: COMMIT %d: %s", tgt.cret, tgt.cerr);
		has(tgt.cerr, cases[i].why);
		assert_int_equal(tgt.dret, -EALREADY);	/* no RESUMED */
		assert_int_equal(src.dret, -ECONNABORTED);
		has(src.derr, "COMMIT: refused by host-b: COMMIT refused");
		audited(TPM_B, "request,session,receipt,refused");
		audited_detail(TPM_B, "step", "COMMIT");
	}
	free(req);
}

/* ---- QUERY and OUTCOME: how a session ended, asked later ---- */

/* A source asking about d->query on a new connection. */
static void script_ask(struct side *d, struct svmig_tls_conn *conn)
{
	d->ret = svmigd_outcome_ask(conn, &d->cfg, d->query, "alice", "web-1",
				    &d->outcome, d->err, sizeof(d->err));
}

/* Host @id (its TLS identity) asks host-b about @session. */
static void ask(struct side *src, struct side *tgt, int id,
		const uint8_t *session)
{
	pair_init(src, tgt, NULL);
	src->id = id;
	src->script = script_ask;
	memcpy(src->query, session, SVMIGD_SESSION_ID_LEN);
	run(src, tgt);
}

/* The asker got @want, signed, and the target said it answered. */
static void answered(const struct side *src, const struct side *tgt,
		     enum svmigd_outcome want)
{
	if (src->ret || tgt->ret != SVMIGD_SESSION_ANSWERED)
		fail_msg("ask: %d: %s; answer: %d: %s", src->ret, src->err,
			 tgt->ret, tgt->err);
	assert_string_equal(svmigd_outcome_name(src->outcome),
			    svmigd_outcome_name(want));
	has(tgt->err, svmigd_outcome_name(want));
}

/* session.h's session_live: the session @arg points to is live. */
static bool live_session(void *arg, const uint8_t *id)
{
	return !memcmp(arg, id, SVMIGD_SESSION_ID_LEN);
}

static void test_outcome(void **state)
{
	static const uint8_t stranger[SVMIGD_SESSION_ID_LEN] = { 0x5a, 0xa5 };
	struct side src, tgt, q, a;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	/* through RESUMED: "resumed", and both sides audit the answer */
	req = request("web-1", 2048, 2);
	session(&src, &tgt, req, RC_OK);
	ask(&q, &a, H_A, src.s.id);
	answered(&q, &a, SVMIGD_OUTCOME_RESUMED);
	audited(TPM_A, "request,session,receipt,commit,resumed,outcome");
	audited_detail(TPM_A, "outcome", "resumed");
	audited(TPM_B, "request,session,receipt,commit,resumed,outcome");
	audited_detail(TPM_B, "outcome", "resumed");

	/*
	 * an answer the asker cannot write to its audit log settles nothing:
	 * "unknown" and a failure, never "resumed" (fuzz_ctlmsg found the
	 * outcome kept after a failed append)
	 */
	pair_init(&q, &a, NULL);
	q.id = H_A;
	q.script = script_ask;
	memcpy(q.query, src.s.id, SVMIGD_SESSION_ID_LEN);
	q.cfg.audit_log = "/nonexistent/svmig/audit.log";
	run(&q, &a);
	assert_true(q.ret < 0);
	assert_string_equal(svmigd_outcome_name(q.outcome),
			    svmigd_outcome_name(SVMIGD_OUTCOME_UNKNOWN));
	has(q.err, "audit log");

	/* the same session, asked by another trusted host: not its session */
	ask(&q, &a, H_X, src.s.id);
	answered(&q, &a, SVMIGD_OUTCOME_UNKNOWN);
	ask(&q, &a, H_A, stranger);
	answered(&q, &a, SVMIGD_OUTCOME_UNKNOWN);
	free(req);

	/* COMMIT taken, no RESUMED: "committed" (both copies paused) */
	test_setup(NULL);
	req = request("web-1", 2048, 2);
	session(&src, &tgt, req, RC_NO_RESUMED);
	assert_int_equal(tgt.cret, 0);
	assert_int_equal(tgt.dret, -EALREADY);
	ask(&q, &a, H_A, src.s.id);
	answered(&q, &a, SVMIGD_OUTCOME_COMMITTED);
	free(req);

	/* a refused COMMIT, and a session with no receipt: "not-committed" */
	test_setup(NULL);
	req = request("web-1", 2048, 2);
	session(&src, &tgt, req, RC_COMMIT_OTHER_RECEIPT);
	assert_int_equal(tgt.cret, -EBADMSG);
	ask(&q, &a, H_A, src.s.id);
	answered(&q, &a, SVMIGD_OUTCOME_NOT_COMMITTED);
	free(req);
	req = request("web-2", 1024, 1);
	session(&src, &tgt, req, RC_NONE);
	ask(&q, &a, H_A, src.s.id);
	answered(&q, &a, SVMIGD_OUTCOME_NOT_COMMITTED);
	/*
	 * ... but while the target still serves that session's connection
	 * (svmigd's session_live hook), a COMMIT could still arrive:
	 * "unknown", never "not-committed"
	 */
	pair_init(&q, &a, NULL);
	q.id = H_A;
	q.script = script_ask;
	memcpy(q.query, src.s.id, SVMIGD_SESSION_ID_LEN);
	a.cfg.session_live = live_session;
	a.cfg.check_arg = src.s.id;
	run(&q, &a);
	answered(&q, &a, SVMIGD_OUTCOME_UNKNOWN);
	/* another session is live: the answer stands */
	pair_init(&q, &a, NULL);
	q.id = H_A;
	q.script = script_ask;
	memcpy(q.query, src.s.id, SVMIGD_SESSION_ID_LEN);
	a.cfg.session_live = live_session;
	a.cfg.check_arg = (void *)stranger;
	run(&q, &a);
	answered(&q, &a, SVMIGD_OUTCOME_NOT_COMMITTED);
	free(req);
}

/* Host-a asks host-b about @session, host-b's journal in @journal. */
static void ask_journal(struct side *q, struct side *a, const uint8_t *session,
			const char *journal)
{
	pair_init(q, a, NULL);
	q->script = script_ask;
	memcpy(q->query, session, SVMIGD_SESSION_ID_LEN);
	a->cfg.target_journal = journal;
	run(q, a);
}

/*
 * The target took the COMMIT and wrote "resumed" to its journal before
 * its cont, then died (no RESUMED audited): the answer is "resumed", not
 * "committed" (which would let an operator resume the source's copy too).
 * An entry of another source, or another phase, changes nothing.
 */
static void test_outcome_target_journal(void **state)
{
	struct svmigd_journal_entry e = { .phase = SVMIGD_JOURNAL_RESUMED, .time = 1 };
	struct side src, tgt, q, a;
	char dir[160], err[256], *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	session(&src, &tgt, req, RC_NO_RESUMED);
	assert_int_equal(tgt.cret, 0);
	snprintf(dir, sizeof(dir), "%s/journal-target", F.dir);
	snprintf(e.vm, sizeof(e.vm), "web-1");
	snprintf(e.peer, sizeof(e.peer), "host-a");
	snprintf(e.operator, sizeof(e.operator), "alice");
	memcpy(e.session, src.s.id, sizeof(e.session));
	ask_journal(&q, &a, src.s.id, dir);		/* no journal yet */
	answered(&q, &a, SVMIGD_OUTCOME_COMMITTED);
	assert_int_equal(svmigd_journal_write(dir, &e, err, sizeof(err)), 0);
	ask_journal(&q, &a, src.s.id, dir);
	answered(&q, &a, SVMIGD_OUTCOME_RESUMED);
	has(a.err, "(vm web-1)");
	/* another source's session, and the source's own phase: not ours */
	snprintf(e.peer, sizeof(e.peer), "host-x");
	assert_int_equal(svmigd_journal_write(dir, &e, err, sizeof(err)), 0);
	ask_journal(&q, &a, src.s.id, dir);
	answered(&q, &a, SVMIGD_OUTCOME_COMMITTED);
	snprintf(e.peer, sizeof(e.peer), "host-a");
	e.phase = SVMIGD_JOURNAL_COMMIT;
	assert_int_equal(svmigd_journal_write(dir, &e, err, sizeof(err)), 0);
	ask_journal(&q, &a, src.s.id, dir);
	answered(&q, &a, SVMIGD_OUTCOME_COMMITTED);
	assert_int_equal(svmigd_journal_remove(dir, "web-1", err, sizeof(err)), 0);
	assert_int_equal(rmdir(dir), 0);
	free(req);
}

/* A peer that connects and says nothing for a second, then hangs up. */
static void script_silent(struct side *d, struct svmig_tls_conn *conn)
{
	struct timespec one = { 1, 0 };

	(void)conn;
	nanosleep(&one, NULL);
	d->ret = 0;
}

/*
 * The target's first message has cfg.first_timeout_ms (svmigd's
 * pre-authentication time), the later ones cfg.timeout_ms.
 */
static void test_first_timeout(void **state)
{
	struct side src, tgt;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	pair_init(&src, &tgt, NULL);
	src.script = script_silent;
	tgt.cfg.first_timeout_ms = 200;
	run(&src, &tgt);
	failed(&tgt, -ETIMEDOUT, "waiting for REQUEST");
	/* without it, the target waits until the silent peer hangs up */
	pair_init(&src, &tgt, NULL);
	src.script = script_silent;
	run(&src, &tgt);
	failed(&tgt, -ECONNRESET, "waiting for REQUEST");
}

enum { FORGE_KEY = 1, FORGE_SESSION, FORGE_EDITED, FORGE_NAME, FORGE_STALE,
       FORGE_NO_NONCE };

/* The OUTCOME statement of outcome.h, keys in order. */
static struct json_object *outcome_statement(const uint8_t *session,
					     const uint8_t *nonce,
					     const char *outcome)
{
	struct json_object *st = json_object_new_object();

	json_object_object_add(st, "step", json_object_new_string("outcome"));
	svmig_msg_add_hex(st, "session", session, SVMIGD_SESSION_ID_LEN);
	if (nonce)
		svmig_msg_add_hex(st, "nonce", nonce, SVMIGD_OUTCOME_NONCE_LEN);
	json_object_object_add(st, "outcome", json_object_new_string(outcome));
	json_object_object_add(st, "time", json_object_new_int64(1700000000));
	return st;
}

/*
 * A target answering the QUERY with a forged OUTCOME (d->forge): signed
 * by another key, for another session, edited after signing, naming no
 * outcome, signed by the true key over an earlier nonce (a recording of
 * an answer to another QUERY), or without the nonce.
 */
static void script_forge_outcome(struct side *d, struct svmig_tls_conn *conn)
{
	struct json_object *q = NULL, *st, *msg;
	uint8_t session[SVMIGD_SESSION_ID_LEN], *sig = NULL;
	uint8_t nonce[SVMIGD_OUTCOME_NONCE_LEN];
	EVP_PKEY *key = d->forge == FORGE_KEY ? F.other_key : F.host_key[H_B];
	const char *text;
	size_t siglen;

	d->ret = svmig_msg_expect(conn, SVMIG_MSG_QUERY, T_TIMEOUT, &q);
	if (d->ret)
		return;
	assert_int_equal(svmig_msg_get_hex(q, "session", session,
					   sizeof(session)), 0);
	assert_int_equal(svmig_msg_get_hex(q, "nonce", nonce, sizeof(nonce)), 0);
	json_object_put(q);
	if (d->forge == FORGE_SESSION)
		session[3] ^= 0x40;
	if (d->forge == FORGE_STALE)
		nonce[0] ^= 0x01;
	st = outcome_statement(session, d->forge == FORGE_NO_NONCE ? NULL : nonce,
			       d->forge == FORGE_EDITED ? "resumed" :
			       d->forge == FORGE_NAME ? "maybe" : "not-committed");
	text = json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN);
	assert_int_equal(svmigd_sign(key, text, strlen(text), &sig, &siglen), 0);
	if (d->forge == FORGE_EDITED)	/* signed "resumed", says otherwise */
		json_object_object_add(st, "outcome",
				       json_object_new_string("not-committed"));
	msg = svmig_msg_new(SVMIG_MSG_OUTCOME);
	json_object_object_add(msg, "statement", st);
	svmig_msg_add_hex(msg, "signature", sig, siglen);
	free(sig);
	d->ret = svmig_msg_send(conn, msg, T_TIMEOUT);
	json_object_put(msg);
	if (!d->ret)
		read_answer(d, conn);
}

static void test_forged_outcome(void **state)
{
	static const struct {
		int forge;
		const char *why;
	} cases[] = {
		{ FORGE_KEY, "OUTCOME refused: its signature does not verify with host-b's identity key" },
		{ FORGE_SESSION, "OUTCOME refused: it is for another session" },
		{ FORGE_EDITED, "OUTCOME refused: its signature does not verify" },
		{ FORGE_NAME, "OUTCOME refused: malformed" },
		{ FORGE_STALE, "OUTCOME refused: it does not answer this QUERY (stale or replayed nonce)" },
		{ FORGE_NO_NONCE, "OUTCOME refused: malformed" },
	};
	static const uint8_t session[SVMIGD_SESSION_ID_LEN] = { 1, 2, 3, 4 };
	struct side q, a;
	size_t i;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_setup(NULL);
		pair_init(&q, &a, NULL);
		q.script = script_ask;
		memcpy(q.query, session, sizeof(session));
		a.script = script_forge_outcome;
		a.forge = cases[i].forge;
		run(&q, &a);
		if (q.ret != -EBADMSG)
			fail_msg("forge %d: %d: %s", cases[i].forge, q.ret, q.err);
		has(q.err, cases[i].why);
		assert_int_equal(q.outcome, SVMIGD_OUTCOME_UNKNOWN);
		has(a.answer, "ERROR: OUTCOME refused");
		audited(TPM_A, "refused");
		audited_detail(TPM_A, "step", "QUERY");
	}
}

/* The true target's OUTCOME to one QUERY, recorded by a wiretapper. */
static struct json_object *recorded_outcome;

/* A source that sends a QUERY (nonce all 0x77) and records the answer. */
static void script_record_outcome(struct side *d, struct svmig_tls_conn *conn)
{
	static const uint8_t nonce[SVMIGD_OUTCOME_NONCE_LEN] = { [0 ... 31] = 0x77 };
	struct json_object *q = svmig_msg_new(SVMIG_MSG_QUERY);

	svmig_msg_add_hex(q, "session", d->query, SVMIGD_SESSION_ID_LEN);
	svmig_msg_add_hex(q, "nonce", nonce, sizeof(nonce));
	d->ret = svmig_msg_send(conn, q, T_TIMEOUT);
	json_object_put(q);
	if (!d->ret)
		d->ret = svmig_msg_expect(conn, SVMIG_MSG_OUTCOME, T_TIMEOUT,
					  &recorded_outcome);
}

/* A man in the middle replaying the recorded OUTCOME to a later QUERY. */
static void script_replay_outcome(struct side *d, struct svmig_tls_conn *conn)
{
	struct json_object *q = NULL;

	d->ret = svmig_msg_expect(conn, SVMIG_MSG_QUERY, T_TIMEOUT, &q);
	json_object_put(q);
	if (!d->ret)
		d->ret = svmig_msg_send(conn, recorded_outcome, T_TIMEOUT);
	if (!d->ret)
		read_answer(d, conn);
}

/*
 * A genuine OUTCOME ("not-committed", signed by host-b), recorded and
 * replayed later to the source's next QUERY about the same session (by
 * then the answer could be "resumed"): refused for its nonce.
 */
static void test_replayed_outcome(void **state)
{
	struct side src, tgt, q, a;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	session(&src, &tgt, req, RC_NONE);
	pair_init(&q, &a, NULL);
	q.script = script_record_outcome;
	memcpy(q.query, src.s.id, SVMIGD_SESSION_ID_LEN);
	run(&q, &a);
	assert_int_equal(q.ret, 0);
	assert_int_equal(a.ret, SVMIGD_SESSION_ANSWERED);
	has(json_object_to_json_string(recorded_outcome), "not-committed");
	/* the recording verifies: only its nonce is wrong */
	pair_init(&q, &a, NULL);
	q.script = script_ask;
	memcpy(q.query, src.s.id, SVMIGD_SESSION_ID_LEN);
	a.script = script_replay_outcome;
	run(&q, &a);
	if (q.ret != -EBADMSG)
		fail_msg("replayed OUTCOME: %d: %s", q.ret, q.err);
	has(q.err, "stale or replayed nonce");
	assert_int_equal(q.outcome, SVMIGD_OUTCOME_UNKNOWN);
	has(a.answer, "ERROR: OUTCOME refused");
	json_object_put(recorded_outcome);
	recorded_outcome = NULL;
	free(req);
}

/* A QUERY that is not one: refused in an ERROR, audited by the target. */
static void script_bad_query(struct side *d, struct svmig_tls_conn *conn)
{
	struct json_object *msg = svmig_msg_new(SVMIG_MSG_QUERY);

	json_object_object_add(msg, "session", json_object_new_string("0123"));
	d->ret = svmig_msg_send(conn, msg, T_TIMEOUT);
	json_object_put(msg);
	if (!d->ret)
		read_answer(d, conn);
}

static void test_malformed_query(void **state)
{
	struct side q, a;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	pair_init(&q, &a, NULL);
	q.script = script_bad_query;
	run(&q, &a);
	assert_int_equal(a.ret, -EPROTO);
	has(a.err, "QUERY: malformed QUERY message");
	has(q.answer, "ERROR: malformed QUERY message");
	audited(TPM_B, "refused");
	audited_detail(TPM_B, "step", "QUERY");
}

/* ---- the policy each side enforces (policy_claim.h, policy_scope.h) ---- */

/* F.policy_text with @from replaced by @to, signed and loaded. */
static struct svmigd_policy *policy_variant(const char *from, const char *to)
{
	struct svmigd_policy *p = NULL;
	char path[128], sig[128], err[256], *text;
	const char *at = strstr(F.policy_text, from);
	uint8_t *sigbuf = NULL;
	size_t siglen;

	assert_non_null(at);
	text = malloc(strlen(F.policy_text) + strlen(to) + 1);
	assert_non_null(text);
	sprintf(text, "%.*s%s%s", (int)(at - F.policy_text), F.policy_text, to,
		at + strlen(from));
	fpath(path, "variant.json");
	fpath(sig, "variant.json.sig");
	assert_int_equal(write_file(path, text, strlen(text)), 0);
	assert_int_equal(svmigd_sign(F.authority_key, text, strlen(text), &sigbuf,
				     &siglen), 0);
	assert_int_equal(write_file(sig, sigbuf, siglen), 0);
	if (svmigd_policy_load(&p, path, sig, F.authority_path, err, sizeof(err)))
		fail_msg("variant: %s", err);
	free(sigbuf);
	free(text);
	return p;
}

/* Hosts with different policies: refused at once, saying which. */
static void test_policy_mismatch(void **state)
{
	struct svmigd_policy *newer = policy_variant("\"serial\": 1", "\"serial\": 2");
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	tgt.cfg.policy = newer;
	run(&src, &tgt);
	failed(&tgt, -EACCES, "REQUEST: policy mismatch: host-a enforces policy serial 1");
	has(tgt.err, "this host serial 2");
	has(tgt.err, "the peer must load the newer policy");
	failed(&src, -ECONNABORTED, "REQUEST: refused by host-b: policy mismatch: host-a enforces policy serial 1");
	audited(TPM_B, "refused");

	/* an older target (scripted past the REQUEST): the source refuses its ATTEST */
	test_setup(NULL);
	pair_init(&src, &tgt, req);
	src.cfg.policy = newer;
	tgt.script = script_evil_target;	/* claims TPM_B's (serial 1) */
	free(recorded);
	recorded = NULL;
	run(&src, &tgt);
	failed(&src, -EACCES, "ATTEST: policy mismatch: host-b enforces policy serial 1");
	has(src.err, "this host serial 2");
	has(tgt.answer, "ERROR: policy mismatch: host-b enforces policy serial 1");
	free(recorded);
	recorded = NULL;

	/* the same serial, other content */
	svmigd_policy_free(newer);
	newer = policy_variant("\"max_vcpus\": 8", "\"max_vcpus\": 7");
	test_setup(NULL);
	pair_init(&src, &tgt, req);
	tgt.cfg.policy = newer;
	run(&src, &tgt);
	failed(&tgt, -EACCES, "two different policies with one serial");
	svmigd_policy_free(newer);
	free(req);
}

/* An expired policy: no session. */
static void test_policy_expired(void **state)
{
	struct svmigd_policy old = *F.policy[TPM_A];
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	old.not_after = 1000;
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	src.cfg.policy = &old;
	run(&src, &tgt);
	failed(&src, -EACCES, "policy serial 1 expired at 1970-01-01T00:16:40Z");
	free(req);
}

/* Provider B's CA may not certify host-a, though TLS trusts it. */
static void test_ca_scope(void **state)
{
	struct side src, tgt;
	char *req;

	(void)state;
	SKIP_WITHOUT_SWTPM();
	req = request("web-1", 2048, 2);
	pair_init(&src, &tgt, req);
	src.id = H_CROSS;
	run(&src, &tgt);
	assert_int_equal(tgt.hs, 0);		/* TLS itself accepts it */
	failed(&tgt, -EACCES, "policy: host-a's certificate is issued under CA "
	       "provider-b, which the policy does not allow to certify host-a");
	failed(&src, -ECONNABORTED, "does not allow to certify host-a");
	audited(TPM_B, "refused");
	free(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_success, test_setup),
		cmocka_unit_test_setup(test_unknown_ca, test_setup),
		cmocka_unit_test_setup(test_wrong_host, test_setup),
		cmocka_unit_test_setup(test_unsigned_request, test_setup),
		cmocka_unit_test_setup(test_wrongly_signed_request, test_setup),
		cmocka_unit_test_setup(test_role_vm, test_setup),
		cmocka_unit_test_setup(test_role_target, test_setup),
		cmocka_unit_test_setup(test_replayed_request, test_setup),
		cmocka_unit_test_setup(test_tampered_policy, test_setup),
		cmocka_unit_test_setup(test_protocol_violation, test_setup),
		cmocka_unit_test_setup(test_audit_unwritable, test_setup),
		cmocka_unit_test_setup(test_pcrs_off, test_setup),
		cmocka_unit_test_setup(test_relayed_quote, test_setup),
		cmocka_unit_test_setup(test_replayed_quote, test_setup),
		cmocka_unit_test_setup(test_ek_unlisted, test_setup),
		cmocka_unit_test_setup(test_wrong_confirm, test_setup),
		cmocka_unit_test_setup(test_out_of_resources, test_setup),
		cmocka_unit_test_setup(test_forged_receipt, test_setup),
		cmocka_unit_test_setup(test_forged_commit, test_setup),
		cmocka_unit_test_setup(test_attest_only, test_setup),
		cmocka_unit_test_setup(test_attest_pcrs_off, test_setup),
		cmocka_unit_test_setup(test_attest_unknown, test_setup),
		cmocka_unit_test_setup(test_attest_malformed, test_setup),
		cmocka_unit_test_setup(test_outcome, test_setup),
		cmocka_unit_test_setup(test_outcome_target_journal, test_setup),
		cmocka_unit_test_setup(test_first_timeout, test_setup),
		cmocka_unit_test_setup(test_forged_outcome, test_setup),
		cmocka_unit_test_setup(test_replayed_outcome, test_setup),
		cmocka_unit_test_setup(test_malformed_query, test_setup),
		cmocka_unit_test_setup(test_policy_mismatch, test_setup),
		cmocka_unit_test_setup(test_policy_expired, test_setup),
		cmocka_unit_test_setup(test_ca_scope, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
