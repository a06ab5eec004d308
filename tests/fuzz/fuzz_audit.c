// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the audit log (userspace/svmigd/audit.c), verified by
 * `svmigctl audit verify` and read back (its last line) by every append.
 *
 * The first byte picks what the rest of the input is:
 *   0  a log's bytes: verified (svmigd_audit_verify_key, and the walk,
 *      which must hand over exactly the records it counts as intact) with
 *      the fixed host key, then extended with svmigd_audit_append(), which
 *      reads the last line back to front;
 *   1  records to append (struct fz: key choice, a byte offset and an XOR
 *      mask, then event, who, what and the details' JSON text for each
 *      record, up to 8), appended to a fresh log by svmigd_audit_append():
 *      after a refused append and at the end, the log must verify intact
 *      with one record per successful append;
 *      then the byte at the offset is XORed with the mask (when not 0), and
 *      verify must report the record on the line holding that byte as the
 *      first broken one;
 *   with bit 7 set (and bit 0 clear), bits 1-2 pick:
 *   0  a head line (audit_head.h): svmigd_audit_head_parse with the host
 *      key, and the same bytes as a HEAD message's JSON
 *      (svmigd_audit_head_msg_check);
 *   1  an anchor file (svmigd_audit_anchor_read: head lines, or a peer's
 *      log with peer-head records), then the anchor check of a fixed
 *      intact log against it;
 *   2  the details' JSON text of a record appended to a fresh log, then
 *      re-checked offline (svmigd_audit_verify_peer, audit_evidence.h)
 *      with the host's certificate as the peer's and the fixed CA.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "fuzz_common.h"
#include "audit.h"
#include "audit_evidence.h"
#include "audit_exchange.h"
#include "audit_head.h"

static struct fuzz_file raw_log;
static char dir[64], log_path[96], head_path[112];
static EVP_PKEY *ec_key, *rsa_key;
static X509 *ec_cert;
static X509_STORE *ca_store;
static char fixed_log[96];

struct walk {
	uint64_t visited;
};

static int walk_fn(void *arg, struct json_object *rec)
{
	struct walk *w = arg;

	FUZZ_CHECK(json_object_is_type(rec, json_type_object));
	w->visited++;
	FUZZ_CHECK((uint64_t)json_object_get_int64(
			   json_object_object_get(rec, "seq")) == w->visited);
	return 0;
}

static void init(void)
{
	fuzz_scratch_dir(dir, sizeof(dir), "audit");
	snprintf(log_path, sizeof(log_path), "%s/audit.log", dir);
	snprintf(head_path, sizeof(head_path), "%s.head", log_path);
	ec_key = fuzz_pkey(fuzz_op_key_pem);
	rsa_key = fuzz_pkey(fuzz_rsa_key_pem);
	ec_cert = fuzz_x509(fuzz_op_cert_pem);	/* CN alice */
	ca_store = X509_STORE_new();
	FUZZ_CHECK(ca_store);
	FUZZ_CHECK(X509_STORE_add_cert(ca_store, fuzz_x509(fuzz_ca_cert_pem)) == 1);
	/* an intact log of 3 records, for the anchors */
	snprintf(fixed_log, sizeof(fixed_log), "%s/fixed.log", dir);
	for (int i = 0; i < 3; i++)
		FUZZ_CHECK(!svmigd_audit_append(fixed_log, ec_key, "e", "w", "x",
						NULL, NULL, NULL, 0));
}

static void write_log(const uint8_t *p, size_t n)
{
	FILE *f = fopen(log_path, "we");

	FUZZ_CHECK(f);
	FUZZ_CHECK(fwrite(p, 1, n, f) == n);
	FUZZ_CHECK(!fclose(f));
}

static int verify(const char *path, EVP_PKEY *key,
		  struct svmigd_audit_report *rep)
{
	struct svmigd_audit_report rep2;
	struct walk w = { 0 };
	char err[512];
	int ret, ret2;

	ret = svmigd_audit_verify_key(path, key, rep, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
	FUZZ_CHECK(memchr(rep->why, '\0', sizeof(rep->why)));
	ret2 = svmigd_audit_walk(path, key, walk_fn, &w, &rep2, err,
				 sizeof(err));
	FUZZ_CHECK(ret2 == ret);
	FUZZ_CHECK(rep2.records == rep->records && w.visited == rep->records);
	if (ret == -EBADMSG) {
		FUZZ_CHECK(rep->line >= 1 && rep->seq == rep->records + 1);
		FUZZ_CHECK(rep->why[0]);
	} else if (!ret) {
		FUZZ_CHECK(!rep->line);
	}
	return ret;
}

static void raw(const uint8_t *p, size_t n)
{
	struct svmigd_audit_report rep;
	char err[512];
	uint64_t seq = 0;
	int ret;

	fuzz_file_put(&raw_log, p, n);
	ret = verify(raw_log.path, ec_key, &rep);
	FUZZ_CHECK(ret == 0 || ret == -EBADMSG || ret == -ENOMEM);
	/* append reads only the last line: it must agree with verify's view */
	unlink(log_path);
	unlink(head_path);
	write_log(p, n);
	ret = svmigd_audit_append(log_path, ec_key, "fuzz", "who", "what", NULL,
				  &seq, err, sizeof(err));
	if (!ret)
		FUZZ_CHECK(seq >= 1);
}

static void own_log_intact(EVP_PKEY *key, uint64_t records)
{
	struct svmigd_audit_report rep;
	int ret = verify(log_path, key, &rep);

	if (ret)
		fprintf(stderr, "fuzz_audit: own log broken: %s\n", rep.why);
	FUZZ_CHECK(!ret && rep.records == records);
}

/* The 1-based line of byte @off in @p. */
static uint64_t line_of(const uint8_t *p, size_t off)
{
	uint64_t line = 1;
	size_t i;

	for (i = 0; i < off; i++)
		line += p[i] == '\n';
	return line;
}

static void records(struct fz *z)
{
	EVP_PKEY *key = fz_u8(z) & 1 ? rsa_key : ec_key;
	uint16_t off = fz_u16(z);
	uint8_t mask = fz_u8(z);
	struct svmigd_audit_report rep;
	struct json_object *details;
	char event[64], who[160], what[160], err[512];
	uint64_t ok = 0, seq;
	const uint8_t *text;
	uint8_t *buf;
	size_t len;
	long size;
	FILE *f;
	int ret, n = 0;

	unlink(log_path);
	unlink(head_path);
	while (z->n && n++ < 8) {
		fz_cstr(z, event, sizeof(event));
		fz_cstr(z, who, sizeof(who));
		fz_cstr(z, what, sizeof(what));
		text = fz_str(z, &len);
		details = NULL;
		if (len) {
			char *s = strndup((const char *)text, len);

			FUZZ_CHECK(s);
			details = json_tokener_parse(s);
			free(s);
		}
		ret = svmigd_audit_append(log_path, key, event, who, what,
					  details, &seq, err, sizeof(err));
		json_object_put(details);
		if (!ret) {
			ok++;
			FUZZ_CHECK(seq == ok);
		} else {
			FUZZ_CHECK(ret == -EINVAL || ret == -ENOMEM);
		}
		/* a refused append leaves the log as it was */
		if (ok && ret)
			own_log_intact(key, ok);
	}
	if (!ok)
		return;
	own_log_intact(key, ok);
	if (!mask)
		return;
	f = fopen(log_path, "r+e");
	FUZZ_CHECK(f);
	FUZZ_CHECK(!fseek(f, 0, SEEK_END) && (size = ftell(f)) > 0);
	buf = malloc((size_t)size);
	FUZZ_CHECK(buf);
	rewind(f);
	FUZZ_CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size);
	off %= (size_t)size;
	buf[off] ^= mask;
	rewind(f);
	FUZZ_CHECK(fwrite(buf, 1, (size_t)size, f) == (size_t)size);
	FUZZ_CHECK(!fclose(f));
	ret = verify(log_path, key, &rep);
	/* the changed byte's record is the first broken one */
	FUZZ_CHECK(ret == -EBADMSG);
	buf[off] ^= mask;
	FUZZ_CHECK(rep.line == line_of(buf, off));
	FUZZ_CHECK(rep.records == rep.line - 1);
	free(buf);
}

static void head_line(const uint8_t *p, size_t n)
{
	struct svmigd_audit_head h;
	struct json_object *msg;
	char why[256];
	int ret;

	ret = svmigd_audit_head_parse((const char *)p, n, ec_key, &h, why,
				      sizeof(why));
	FUZZ_CHECK(!ret || ret == -EBADMSG || ret == -ENOMEM);
	FUZZ_CHECK(ret || (h.seq >= 1 && n <= SVMIGD_AUDIT_HEAD_MAX));
	if (svmigd_json_parse((const char *)p, n, 16, &msg, why, sizeof(why)))
		return;
	ret = svmigd_audit_head_msg_check(msg, ec_key, &h, why, sizeof(why));
	FUZZ_CHECK(!ret || ret == -EBADMSG || ret == -ENOMEM);
	json_object_put(msg);
}

static void anchor(const uint8_t *p, size_t n)
{
	struct svmigd_audit_report rep;
	struct svmigd_audit_head best;
	char err[512];
	uint64_t count;
	int ret;

	fuzz_file_put(&raw_log, p, n);
	ret = svmigd_audit_anchor_read(raw_log.path, ec_key, &best, &count,
				       err, sizeof(err));
	FUZZ_CHECK(!ret || ret == -ENOMEM);
	FUZZ_CHECK(!count == !best.seq);
	ret = svmigd_audit_verify_anchor(fixed_log, ec_key, raw_log.path, &rep,
					 err, sizeof(err));
	FUZZ_CHECK(!ret || ret == -EBADMSG || ret == -ENOENT || ret == -ENOMEM);
	/* the fixed log reaches every head of its own, and no other */
	FUZZ_CHECK(ret != -EBADMSG || rep.anchor_seq > 3 || count);
}

static void evidence(const uint8_t *p, size_t n)
{
	struct svmigd_evidence_opts o = { .ca = ca_store };
	struct svmigd_evidence_report rep;
	struct svmigd_audit_report arep;
	struct json_object *d;
	char err[1024], *s;
	int ret;

	s = strndup((const char *)p, n);
	FUZZ_CHECK(s);
	d = json_tokener_parse(s);
	free(s);
	unlink(log_path);
	unlink(head_path);
	ret = json_object_is_type(d, json_type_object) ?
	      svmigd_audit_append(log_path, ec_key, "receipt", "alice", "web-1",
				  d, NULL, err, sizeof(err)) : -EINVAL;
	json_object_put(d);
	if (ret)
		return;
	o.peers = sk_X509_new_null();
	FUZZ_CHECK(o.peers && sk_X509_push(o.peers, ec_cert));
	ret = svmigd_audit_verify_peer(log_path, ec_key, &o, &rep, &arep, err,
				       sizeof(err));
	sk_X509_free(o.peers);
	FUZZ_CHECK(!ret || ret == -EBADMSG || ret == -ENOMEM);
	FUZZ_CHECK(ret != -EBADMSG || rep.seq == 1);
	FUZZ_CHECK(rep.checked + rep.unchecked <= 1);
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	const uint8_t *rest;
	size_t n;

	if (!ec_key)
		init();
	uint8_t mode = fz_u8(&z);

	if (mode & 1) {
		records(&z);
	} else if (mode & 0x80) {
		rest = fz_rest(&z, &n);
		if (((mode >> 1) & 3) == 0)
			head_line(rest, n);
		else if (((mode >> 1) & 3) == 1)
			anchor(rest, n);
		else
			evidence(rest, n);
	} else {
		rest = fz_rest(&z, &n);
		raw(rest, n);
	}
	return 0;
}
