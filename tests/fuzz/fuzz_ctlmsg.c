// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: svmigd's control messages as they arrive from the
 * peer: the framing (be32 length, strict JSON) of msg.c, the session's
 * too (with its transcript and JSON depth), and the decoding of every
 * message type a host reads: ERROR in place of any of them, ADMIT, ATTEST
 * (as the source, the target and an attestation verifier; with the EK and
 * its certificate), CHALLENGE, ACTIVATED, KEY, CONFIRM, RECEIPT, COMMIT,
 * RESUMED, QUERY, OUTCOME, VTPM (vtpm.c: the statement, then the state it
 * declares against a vTPM state directory holding a known permall) and
 * the target's REQUEST (its fields: nonce, the policy claim, channels;
 * then the signed request).  The host's policy is fuzz_policy below: a
 * claim of serial 1 and SHA-256 55..55 is its own, so that the checks
 * after the claim are reached.
 * outcome.c and vtpm.c are compiled into this harness, and session_int.h
 * included, to reach their per-step readers and canonical forms;
 * the connection is tls_mem.h's buffer (the input), the peer "host-b".
 *
 * The input's first byte picks the step (low 4 bits).  With its top bit
 * set, the rest is the JSON text of one message, which the harness signs
 * as the peer before framing it when it is a well-formed RECEIPT, COMMIT,
 * RESUMED, OUTCOME or VTPM, so that the checks after the signature (session, transcript,
 * receipt digest, the audit record) run too; otherwise the rest is the
 * byte stream itself.
 *
 * Invariants: a failed receive hands out no message and leaves the
 * connection unusable; a refusal leaves words in the error buffer; an
 * accepted receipt or statement is for this session.
 */
#include "../../userspace/svmigd/session_int.h"
#include "../../userspace/svmigd/outcome.c"
#include "../../userspace/svmigd/vtpm.c"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_keys.h"
#include "fuzz_util.h"
#include "tls_mem.h"

#define CTL_FUZZ_MAX	(256 * 1024)

static const uint8_t ses_id[SVMIGD_SESSION_ID_LEN] = {
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
};
static const uint8_t receipt_sha[SVMIGD_SHA256_LEN] = { [0 ... 31] = 0x33 };
static const uint8_t transcript[SVMIGD_SHA256_LEN] = { [0 ... 31] = 0x22 };
/* the source's QUERY nonce: an OUTCOME with another one is stale */
static const uint8_t query_nonce[SVMIGD_OUTCOME_NONCE_LEN] = { [0 ... 31] = 0x44 };

static struct svmigd_session_cfg cfg;
static struct svmigd_policy_host peer_host;	/* enrolled nothing */
static uint64_t dummy_tpm[64];	/* never read */
/* only its claim is read: serial 1, sha256 55..55 (no host, no CA) */
static const struct svmigd_policy fuzz_policy = {
	.sha256 = { [0 ... 31] = 0x55 },
	.serial = 1,
	.not_after = INT64_MAX,
};
static char *peer_ek_cas[1];
static char audit_path[256];

enum step {
	ST_MSG, ST_ADMIT, ST_ATTEST_SRC, ST_ATTEST_TGT, ST_PROBE, ST_KEY,
	ST_CONFIRM, ST_RECEIPT, ST_COMMIT, ST_RESUMED, ST_QUERY, ST_OUTCOME,
	ST_VTPM, ST_REQUEST, ST_CHALLENGE, ST_ACTIVATED,
	ST_COUNT
};

static char audit_dir[128];
/* the target's vtpm_dir: <audit_dir>/%s; vm1's state is VTPM_STATE */
static char vtpm_pattern[160], vtpm_vm_dir[160], vtpm_file[192];
static const char vtpm_state_bytes[] = "svmig fuzz vtpm state\n";
static char vtpm_state_hex[2 * SVMIGD_SHA256_LEN + 1];

static void unlink_head(void)
{
	char head[sizeof(audit_path) + 8];

	snprintf(head, sizeof(head), "%s.head", audit_path);
	unlink(head);
}

static void cleanup(void)
{
	unlink(vtpm_file);
	rmdir(vtpm_vm_dir);
	unlink(audit_path);
	unlink_head();
	rmdir(audit_dir);
}

/* vm1's vTPM state directory with a permall whose digest the seeds name */
static void vtpm_init(void)
{
	uint8_t d[SVMIGD_SHA256_LEN];
	FILE *f;

	snprintf(vtpm_pattern, sizeof(vtpm_pattern), "%s/%%s", audit_dir);
	snprintf(vtpm_vm_dir, sizeof(vtpm_vm_dir), "%s/vm1", audit_dir);
	snprintf(vtpm_file, sizeof(vtpm_file), "%s/" SVMIGD_VTPM_PERMALL,
		 vtpm_vm_dir);
	FZ_CHECK(!mkdir(vtpm_vm_dir, 0700), "mkdir %s", vtpm_vm_dir);
	f = fopen(vtpm_file, "w");
	FZ_CHECK(f && fputs(vtpm_state_bytes, f) >= 0 && !fclose(f), "%s",
		 vtpm_file);
	FZ_CHECK(!svmigd_sha256(vtpm_state_bytes, strlen(vtpm_state_bytes), d),
		 "sha256");
	svmigd_hex_encode(vtpm_state_hex, d, sizeof(d));
}

static void init(void)
{
	if (cfg.host_key)
		return;
	tls_mem_init();
	/* the audit log fsyncs every record: keep it in memory if we can */
	snprintf(audit_dir, sizeof(audit_dir), "%s/svmig-fuzz-ctlmsg.XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	FZ_CHECK(mkdtemp(audit_dir), "mkdtemp");
	atexit(cleanup);
	snprintf(audit_path, sizeof(audit_path), "%s/audit.log", audit_dir);
	vtpm_init();
	cfg.host_name = "host-a";
	cfg.policy = &fuzz_policy;
	cfg.tpm = (struct svmigd_tpm *)dummy_tpm;
	cfg.host_key = EVP_EC_gen("P-256");
	cfg.audit_log = audit_path;
	cfg.operator_anchors = X509_STORE_new();
	cfg.max_mem_mib = 1024;
	cfg.max_vcpus = 4;
	cfg.timeout_ms = 1000;
	FZ_CHECK(cfg.host_key && cfg.operator_anchors, "keys");
	/* the peer's manufacturer CA: the one of the ATTEST seeds' EK */
	peer_ek_cas[0] = (char *)fuzz_ca_cert_pem;
	peer_host.ek_cas.pem = peer_ek_cas;
	peer_host.ek_cas.n = 1;
}

static void session_init(struct svmigd_session *ses, bool source)
{
	memset(ses, 0, sizeof(*ses));
	ses->source = source;
	memcpy(ses->id, ses_id, sizeof(ses->id));
	memcpy(ses->transcript, transcript, sizeof(ses->transcript));
	snprintf(ses->peer, sizeof(ses->peer), "%s", TLS_MEM_PEER);
	snprintf(ses->operator, sizeof(ses->operator), "op");
	snprintf(ses->request.req.vm, sizeof(ses->request.req.vm), "vm1");
}

/* A session step in progress, as sess_begin() would leave it. */
static void sess_fake(struct sess *s, struct svmig_tls_conn *c,
		      struct svmigd_session *out, const char *step, char *err,
		      size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->conn = c;
	s->cfg = &cfg;
	s->out = out;
	s->ses = out;
	s->step = step;
	s->peer = TLS_MEM_PEER;
	s->timeout = 1000;
	s->verified = true;
	s->me = &peer_host;
	s->them = &peer_host;
	s->err = err;
	s->errlen = errlen;
	memset(s->e, 0xe5, sizeof(s->e));
	sess_copy(s->who, sizeof(s->who), "op");
	sess_copy(s->what, sizeof(s->what), "vm1");
}

/* Replaces @msg's "signature" with the peer's over its canonical form. */
static void sign_as_peer(struct json_object *msg, enum step st)
{
	struct json_object *o = NULL, *canon = NULL;
	struct svmigd_receipt r;
	struct svmigd_vtpm_claim vc;
	uint8_t sess_id[SVMIGD_SESSION_ID_LEN], rec[SVMIGD_SHA256_LEN];
	uint8_t nonce[SVMIGD_OUTCOME_NONCE_LEN];
	const char *text;
	enum svmigd_outcome outcome;
	uint8_t *sig;
	size_t siglen;
	int64_t when;
	uint64_t t;

	memset(&r, 0, sizeof(r));
	if (st == ST_RECEIPT &&
	    json_object_object_get_ex(msg, "receipt", &o) &&
	    !receipt_parse(o, &r))
		canon = receipt_object(&r);
	else if ((st == ST_COMMIT || st == ST_RESUMED) &&
		 json_object_object_get_ex(msg, "statement", &o) &&
		 !handover_parse(o, st == ST_COMMIT ? SVMIGD_COMMIT :
				 SVMIGD_RESUMED, sess_id, rec, &t))
		canon = handover_object(st == ST_COMMIT ? SVMIGD_COMMIT :
					SVMIGD_RESUMED, sess_id, rec,
					(int64_t)t);
	else if (st == ST_OUTCOME &&
		 json_object_object_get_ex(msg, "statement", &o) &&
		 !statement_parse(o, sess_id, nonce, &outcome, &when))
		canon = statement_object(sess_id, nonce, outcome, when);
	else if (st == ST_VTPM &&
		 json_object_object_get_ex(msg, "statement", &o) &&
		 !vtpm_statement_parse(o, &vc))
		canon = svmigd_vtpm_statement(vc.session, vc.vm, vc.present ?
					      vc.state : NULL, vc.time);
	if (!canon)
		return;
	text = st == ST_OUTCOME ? statement_text(canon) :
	       st == ST_VTPM ? vtpm_statement_text(canon) : receipt_text(canon);
	if (text && !svmigd_sign(tls_mem_peer_key, text, strlen(text), &sig,
				 &siglen)) {
		svmig_msg_add_hex(msg, "signature", sig, siglen);
		free(sig);
	}
	json_object_put(canon);
}

/* The frame of @text, signed first when it is a statement (see above). */
static uint8_t *frame_of(const uint8_t *text, size_t len, enum step st,
			 size_t *out_len)
{
	struct json_object *msg;
	const char *s = NULL;
	size_t n = len;
	uint8_t *frame;
	char *copy = strndup((const char *)text, len);

	FZ_CHECK(copy, "out of memory");
	msg = json_tokener_parse(copy);
	free(copy);
	if (msg && json_object_is_type(msg, json_type_object)) {
		sign_as_peer(msg, st);
		s = json_object_to_json_string_length(msg,
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
			&n);
	}
	if (!s) {
		s = (const char *)text;
		n = len;
	}
	frame = malloc(SVMIG_MSG_HDR_LEN + n);
	FZ_CHECK(frame, "out of memory");
	frame[0] = (uint8_t)(n >> 24);	/* be32, as msg.c frames */
	frame[1] = (uint8_t)(n >> 16);
	frame[2] = (uint8_t)(n >> 8);
	frame[3] = (uint8_t)n;
	memcpy(frame + SVMIG_MSG_HDR_LEN, s, n);
	*out_len = SVMIG_MSG_HDR_LEN + n;
	json_object_put(msg);
	return frame;
}

/* msg.c: frames until the input ends, each field decoded as hex. */
static void run_msg(struct svmig_tls_conn *c)
{
	static uint8_t buf[4096];
	struct json_object *msg = (struct json_object *)1;
	size_t len;
	int i, ret;

	for (i = 0; i < 16; i++) {
		ret = i & 1 ? svmig_msg_expect(c, SVMIG_MSG_REQUEST, 1000, &msg) :
			      svmig_msg_recv(c, 1000, &msg);
		if (ret) {
			FZ_CHECK(!msg, "a message after failure %d", ret);
			FZ_CHECK(!svmig_tls_usable(c) && svmig_tls_error(c)[0],
				 "failure %d left the connection usable", ret);
			return;
		}
		FZ_CHECK(svmig_msg_type(msg), "a message without a type");
		json_object_object_foreach(msg, key, val) {
			(void)val;
			svmig_msg_get_hex_range(msg, key, buf, 0, sizeof(buf),
						&len);
			FZ_CHECK(len <= sizeof(buf), "hex of %zu bytes", len);
		}
		json_object_put(msg);
	}
}

static int run_step(struct svmig_tls_conn *c, enum step st, char *err,
		    size_t errlen)
{
	struct svmigd_session ses;
	struct svmigd_attestation a;
	struct svmigd_receipt r;
	/* what the source sent, as the receipt seeds count it */
	const struct svmigd_counts sent = { 12, 40960 };
	enum svmigd_outcome outcome;
	struct json_object *msg;
	char hex[2 * SVMIGD_SHA256_LEN + 1];
	struct sess s;
	int ret = 0;

	switch (st) {
	case ST_MSG:
		run_msg(c);
		return 0;
	case ST_ADMIT:
		session_init(&ses, true);
		sess_fake(&s, c, &ses, SVMIG_MSG_ADMIT, err, errlen);
		ret = src_admit(&s);
		sess_end(&s, ret);
		return ret;
	case ST_ATTEST_SRC:
	case ST_ATTEST_TGT:
		session_init(&ses, st == ST_ATTEST_SRC);
		sess_fake(&s, c, &ses, SVMIG_MSG_ATTEST, err, errlen);
		ret = attest_recv(&s);
		sess_end(&s, ret);
		return ret;
	case ST_PROBE:
		session_init(&ses, true);
		sess_fake(&s, c, &ses, SVMIG_MSG_ATTEST, err, errlen);
		memset(&a, 0, sizeof(a));
		ret = probe_recv(&s, &a);
		sess_end(&s, ret);
		return ret;
	case ST_KEY:
		session_init(&ses, false);
		sess_fake(&s, c, &ses, SVMIG_MSG_KEY, err, errlen);
		ret = key_recv(&s);
		sess_end(&s, ret);
		return ret;
	case ST_CHALLENGE:	/* the prover's reading (no TPM here) */
		session_init(&ses, false);
		sess_fake(&s, c, &ses, SVMIG_MSG_CHALLENGE, err, errlen);
		ret = sess_recv(&s, SVMIG_MSG_CHALLENGE, &msg);
		if (!ret) {
			struct svmigd_tpm_cred cred;
			char why[256];

			ret = svmigd_cred_parse_challenge(msg, &cred, why,
							  sizeof(why));
			FZ_CHECK(ret || (cred.blob_len && cred.secret_len),
				 "an empty credential accepted");
			if (ret)
				ret = sess_fail(&s, SK_REFUSE, ret, "%s", why);
			json_object_put(msg);
		}
		sess_end(&s, ret);
		return ret;
	case ST_ACTIVATED:	/* the verifier's; the proof is 0x5a * 32 */
		session_init(&ses, true);
		sess_fake(&s, c, &ses, SVMIG_MSG_ACTIVATED, err, errlen);
		s.cred.challenged = true;
		memset(s.cred.proof, 0x5a, sizeof(s.cred.proof));
		ret = cred_activated(&s);
		sess_end(&s, ret);
		return ret;
	case ST_CONFIRM:
		session_init(&ses, false);
		sess_fake(&s, c, &ses, SVMIG_MSG_CONFIRM, err, errlen);
		ret = confirm_recv(&s);
		sess_end(&s, ret);
		return ret;
	case ST_RECEIPT:
		session_init(&ses, true);
		ret = svmigd_session_receipt_recv(c, &cfg, &ses, &sent, &r,
						  err, errlen);
		FZ_CHECK(ret || (r.records == sent.records &&
				 r.bytes == sent.bytes && !r.reason[0]),
			 "an \"ok\" receipt of other counts accepted");
		FZ_CHECK(ret != -EREMOTEIO || svmigd_reason_ok(r.reason),
			 "a failed receipt without a readable reason");
		if (!ret || ret == -EREMOTEIO) {
			FZ_CHECK(!memcmp(r.session, ses_id, sizeof(ses_id)) &&
				 !memcmp(r.transcript, transcript,
					 sizeof(transcript)),
				 "a receipt of another session accepted");
			FZ_CHECK(r.ok == !ret, "verdict and return differ");
		}
		return ret;
	case ST_COMMIT:
	case ST_RESUMED:
		session_init(&ses, st == ST_RESUMED);
		return svmigd_session_handover_recv(c, &cfg, &ses,
			st == ST_COMMIT ? SVMIGD_COMMIT : SVMIGD_RESUMED,
			receipt_sha, err, errlen);
	case ST_QUERY:
		ret = svmig_msg_recv_opts(c, 1000, &(struct svmig_msg_opts){
			.depth = SESS_JSON_DEPTH }, &msg);
		if (ret) {	/* svmigd_session_target()'s part, not tested here */
			snprintf(err, errlen, "%s", svmig_tls_error(c));
			return ret;
		}
		ret = svmigd_outcome_answer(c, &cfg, msg, err, errlen);
		json_object_put(msg);
		return ret;
	case ST_OUTCOME:
		ret = outcome_ask_nonce(c, &cfg, ses_id, query_nonce, "op", "vm1",
					&outcome, err, errlen);
		FZ_CHECK(!ret || outcome == SVMIGD_OUTCOME_UNKNOWN,
			 "an outcome kept after failure %d", ret);
		return ret;
	case ST_VTPM:	/* the target's check: the state vm1 has here */
		ret = svmigd_vtpm_recv(c, vtpm_pattern, ses_id, "vm1", 1000, hex,
				       err, errlen);
		FZ_CHECK(ret || !strcmp(hex, vtpm_state_hex),
			 "a VTPM state %s accepted for a state %s", hex,
			 vtpm_state_hex);
		return ret;
	case ST_REQUEST:	/* the target's first message, a REQUEST */
		session_init(&ses, false);
		sess_fake(&s, c, &ses, SVMIG_MSG_REQUEST, err, errlen);
		s.verified = false;
		ret = sess_recv(&s, SVMIG_MSG_REQUEST, &msg);
		if (!ret) {
			ret = tgt_request(&s, msg);
			json_object_put(msg);
		}
		FZ_CHECK(ret || ses.channels <= SVMIGD_SESSION_CHANNELS_MAX,
			 "%u multifd channels accepted", ses.channels);
		sess_end(&s, ret);
		return ret;
	default:
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svmig_tls_conn c;
	uint8_t *frame = NULL;
	char err[SVMIGD_SESSION_ERR_LEN];
	enum step st;
	size_t len;
	int ret;

	if (!size || size > CTL_FUZZ_MAX)
		return 0;
	init();
	/*
	 * Each input starts with a fresh, empty audit log, without a head:
	 * an empty log beside the last input's head is a cut tail, and every
	 * append would be refused.
	 */
	ret = open(audit_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FZ_CHECK(ret >= 0, "%s", audit_path);
	close(ret);
	unlink_head();
	st = (enum step)((data[0] & 0x0f) % ST_COUNT);
	if (data[0] & 0x80) {
		frame = frame_of(data + 1, size - 1, st, &len);
		tls_mem_open(&c, frame, len);
	} else {
		tls_mem_open(&c, data + 1, size - 1);
	}
	err[0] = '\0';
	ret = run_step(&c, st, err, sizeof(err));
	if (getenv("SVMIG_FUZZ_DEBUG"))	/* what a corpus file reaches */
		fprintf(stderr, "step %d: %d: %s\n", st, ret, err);
	if (ret && ret != SVMIGD_SESSION_PROBED &&
	    ret != SVMIGD_SESSION_ANSWERED)
		FZ_CHECK(err[0], "step %d failed (%d) without words", st, ret);
	free(frame);
	return 0;
}
