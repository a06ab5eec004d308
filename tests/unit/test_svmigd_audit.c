// SPDX-License-Identifier: GPL-2.0
/*
 * The audit log (userspace/svmigd/audit.c): a chain of records verifies;
 * changing any one byte of a small log (every byte, several ways) makes
 * verify name the record holding it; removed, repeated, swapped, re-signed
 * and cut records are found (a cut tail from the signed head beside the
 * log, a log and head rolled back together from an anchor: a head kept
 * elsewhere or by the peer); append refuses to extend a broken or cut log
 * and to write what verify would refuse; concurrent appenders keep one
 * chain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tmpdir.h"
#include "audit.h"
#include "audit_exchange.h"
#include "audit_head.h"
#include "pki.h"

struct at {
	char dir[64];
	char log[128], copy[128], log_head[160], copy_head[160];
	char host_pem[128], other_pem[128], rsa_pem[128];
	EVP_PKEY *host, *other, *rsa;
};

static struct at *T;

static void cert_for(EVP_PKEY *key, const char *cn, const char *pem)
{
	X509 *cert = pki_cert(key, cn, NULL, NULL);

	assert_non_null(cert);
	assert_int_equal(pki_write_cert(pem, cert), 0);
	X509_free(cert);
}

static int group_setup(void **state)
{
	T = calloc(1, sizeof(*T));
	assert_non_null(T);
	strcpy(T->dir, "/tmp/test_svmigd_audit.XXXXXX");
	assert_non_null(mkdtemp(T->dir));
	snprintf(T->log, sizeof(T->log), "%s/audit.log", T->dir);
	snprintf(T->copy, sizeof(T->copy), "%s/copy.log", T->dir);
	snprintf(T->log_head, sizeof(T->log_head), "%s.head", T->log);
	snprintf(T->copy_head, sizeof(T->copy_head), "%s.head", T->copy);
	snprintf(T->host_pem, sizeof(T->host_pem), "%s/host.pem", T->dir);
	snprintf(T->other_pem, sizeof(T->other_pem), "%s/other.pem", T->dir);
	snprintf(T->rsa_pem, sizeof(T->rsa_pem), "%s/rsa.pem", T->dir);
	T->host = pki_key();
	T->other = pki_key();
	T->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(T->host);
	assert_non_null(T->other);
	assert_non_null(T->rsa);
	cert_for(T->host, "host-a", T->host_pem);
	cert_for(T->other, "host-b", T->other_pem);
	cert_for(T->rsa, "host-r", T->rsa_pem);
	*state = T;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	assert_int_equal(test_rmdir(T->dir), 0);
	EVP_PKEY_free(T->host);
	EVP_PKEY_free(T->other);
	EVP_PKEY_free(T->rsa);
	free(T);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	unlink(T->log);
	unlink(T->copy);
	unlink(T->log_head);
	unlink(T->copy_head);
	return 0;
}

static uint64_t append(const char *log, EVP_PKEY *key, const char *event,
		       const char *who, const char *what,
		       struct json_object *details)
{
	char err[512] = "";
	uint64_t seq = 0;
	int ret;

	ret = svmigd_audit_append(log, key, event, who, what, details, &seq,
				  err, sizeof(err));
	if (ret)
		fail_msg("append: %d: %s", ret, err);
	return seq;
}

static char *slurp(const char *p, size_t *len)
{
	char *buf;
	FILE *f = fopen(p, "r");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spill_only(const char *p, const char *buf, size_t len)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* @buf into @p; into the copy, with the log's head beside it. */
static void spill(const char *p, const char *buf, size_t len)
{
	char *head;
	size_t n;

	spill_only(p, buf, len);
	if (p != T->copy)
		return;
	head = slurp(T->log_head, &n);
	spill_only(T->copy_head, head, n);
	free(head);
}

static int verify(const char *log, const char *pem,
		  struct svmigd_audit_report *rep, char *err, size_t errlen)
{
	return svmigd_audit_verify(log, pem, rep, err, errlen);
}

/* Verifying @log must fail at @line (from 1) with @why in the reason. */
static void broken_at(const char *log, uint64_t line, const char *why)
{
	struct svmigd_audit_report rep;
	char err[512] = "";
	int ret;

	ret = verify(log, T->host_pem, &rep, err, sizeof(err));
	if (ret != -EBADMSG || rep.line != line || rep.seq != line ||
	    rep.records != line - 1 || !strstr(rep.why, why))
		fail_msg("%d: line %llu, seq %llu, \"%s\" (line %llu, \"%s\" expected)",
			 ret, (unsigned long long)rep.line,
			 (unsigned long long)rep.seq, err,
			 (unsigned long long)line, why);
	assert_non_null(strstr(err, "(line "));
}

/* A log of @n records with small details. */
static void small_log(const char *log, int n)
{
	struct json_object *d;
	int i;

	for (i = 1; i <= n; i++) {
		d = json_object_new_object();
		assert_non_null(d);
		json_object_object_add(d, "n", json_object_new_int(i));
		assert_int_equal(append(log, T->host, "request", "alice", "web-1",
					d), (uint64_t)i);
		json_object_put(d);
	}
}

static void test_chain(void **state)
{
	uint8_t h[SVMIGD_SHA256_LEN], zero[SVMIGD_SHA256_LEN] = { 0 };
	char hex[SVMIGD_SHA256_HEX_LEN + 1], want[128];
	struct svmigd_audit_report rep;
	struct json_object *d, *a;
	char *buf, *l2, *l3, err[512];
	size_t len;
	struct stat st;

	(void)state;
	d = json_object_new_object();
	a = json_object_new_array();
	assert_non_null(d);
	assert_non_null(a);
	json_object_array_add(a, json_object_new_string("x/y \"q\" \\ \xc3\xa9"));
	json_object_array_add(a, json_object_new_double(0.1));
	json_object_array_add(a, json_object_new_int64(-5));
	json_object_array_add(a, json_object_new_boolean(1));
	json_object_array_add(a, NULL);
	json_object_object_add(d, "mixed", a);
	json_object_object_add(d, "request_sha256",
			       json_object_new_string("00ff"));
	assert_int_equal(append(T->log, T->host, "request", "alice", "web-1", d), 1);
	assert_int_equal(append(T->log, T->host, "refusal", "alice", "db-1",
				NULL), 2);
	assert_int_equal(append(T->log, T->host, "line\nbreak", "", "", d), 3);
	assert_int_equal(append(T->log, T->host, "success", "svmigd", "web-1",
				d), 4);
	json_object_put(d);
	assert_int_equal(stat(T->log, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(verify(T->log, T->host_pem, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 4);
	assert_int_equal(rep.line, 0);

	/* the form: key order, zeros first, then each line's hash */
	buf = slurp(T->log, &len);
	snprintf(want, sizeof(want), "{\"seq\":1,\"time\":");
	assert_memory_equal(buf, want, strlen(want));
	svmigd_hex_encode(hex, zero, sizeof(zero));
	snprintf(want, sizeof(want), ",\"prev\":\"%s\",\"sig\":\"", hex);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "\"event\":\"request\",\"who\":\"alice\","
				    "\"what\":\"web-1\",\"details\":{\"mixed\":["));
	l2 = strchr(buf, '\n') + 1;
	assert_int_equal(svmigd_sha256(buf, (size_t)(l2 - 1 - buf), h), 0);
	svmigd_hex_encode(hex, h, sizeof(h));
	snprintf(want, sizeof(want), "\"prev\":\"%s\"", hex);
	assert_non_null(strstr(l2, want));
	l3 = strchr(l2, '\n') + 1;
	assert_true(strstr(l2, want) < l3);
	free(buf);

	/* the last line's hash is reported */
	buf = slurp(T->log, &len);
	buf[len - 1] = '\0';
	l3 = strrchr(buf, '\n') + 1;
	assert_int_equal(svmigd_sha256(l3, strlen(l3), h), 0);
	assert_memory_equal(rep.last_sha256, h, sizeof(h));
	free(buf);

	/* another host's certificate: the first record already fails */
	assert_int_equal(verify(T->log, T->other_pem, &rep, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(rep.line, 1);
	assert_string_equal(rep.why, "bad signature");
	assert_non_null(strstr(err, "audit.log: record 1 (line 1): bad signature"));
}

/* Every byte of a small log changed, three ways: the record is named. */
static void test_every_byte(void **state)
{
	static const uint8_t flips[] = { 0x01, 0x20, 0x80 };
	struct svmigd_audit_report rep;
	char *orig, *buf, err[512];
	uint64_t line = 1;
	size_t len, i, f;
	int ret;

	(void)state;
	small_log(T->log, 3);
	orig = slurp(T->log, &len);
	buf = malloc(len);
	assert_non_null(buf);
	for (i = 0; i < len; i++) {
		for (f = 0; f < sizeof(flips); f++) {
			memcpy(buf, orig, len);
			buf[i] ^= (char)flips[f];
			spill(T->copy, buf, len);
			ret = verify(T->copy, T->host_pem, &rep, err,
				     sizeof(err));
			if (ret != -EBADMSG || rep.line != line ||
			    rep.seq != line)
				fail_msg("byte %zu ^ 0x%02x (line %llu): %d, line %llu: %s",
					 i, flips[f], (unsigned long long)line,
					 ret, (unsigned long long)rep.line, err);
		}
		line += orig[i] == '\n';
	}
	assert_int_equal(line, 4);
	/* and the original still verifies */
	spill(T->copy, orig, len);
	assert_int_equal(verify(T->copy, T->host_pem, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 3);
	free(buf);
	free(orig);
}

/* The start of line @n (from 1) of @buf. */
static char *line_at(char *buf, int n)
{
	while (--n)
		buf = strchr(buf, '\n') + 1;
	return buf;
}

static void test_records_moved(void **state)
{
	struct svmigd_audit_report rep;
	char *orig, *buf, *l2, *l3, *l4, err[512];
	size_t len, n2, n3;

	(void)state;
	small_log(T->log, 4);
	orig = slurp(T->log, &len);
	buf = malloc(len * 2);
	assert_non_null(buf);
	l2 = line_at(orig, 2);
	l3 = line_at(orig, 3);
	l4 = line_at(orig, 4);
	n2 = (size_t)(l3 - l2);
	n3 = (size_t)(l4 - l3);

	/* record 2 removed: line 2 holds seq 3 */
	memcpy(buf, orig, (size_t)(l2 - orig));
	memcpy(buf + (l2 - orig), l3, len - (size_t)(l3 - orig));
	spill(T->copy, buf, len - n2);
	broken_at(T->copy, 2, "seq gap: expected 2, found 3");

	/* records 2 and 3 swapped */
	memcpy(buf, orig, len);
	memcpy(buf + (l2 - orig), l3, n3);
	memcpy(buf + (l2 - orig) + n3, l2, n2);
	spill(T->copy, buf, len);
	broken_at(T->copy, 2, "seq gap: expected 2, found 3");

	/* record 1 repeated */
	memcpy(buf, orig, (size_t)(l2 - orig));
	memcpy(buf + (l2 - orig), orig, len);
	spill(T->copy, buf, len + (size_t)(l2 - orig));
	broken_at(T->copy, 2, "seq gap: expected 2, found 1");

	/* the last line cut short, or its newline lost */
	spill(T->copy, orig, len - 10);
	broken_at(T->copy, 4, "incomplete last line");
	spill(T->copy, orig, len - 1);
	broken_at(T->copy, 4, "incomplete last line");

	/* an empty line */
	memcpy(buf, orig, (size_t)(l2 - orig));
	buf[l2 - orig] = '\n';
	memcpy(buf + (l2 - orig) + 1, l2, len - (size_t)(l2 - orig));
	spill(T->copy, buf, len + 1);
	broken_at(T->copy, 2, "bad JSON");

	/* whole records cut off the end: the signed head names record 4 */
	spill(T->copy, orig, (size_t)(l4 - orig));
	broken_at(T->copy, 4, "cut tail: the signed head names record 4, "
		  "the log ends at record 3");
	spill(T->copy, orig, (size_t)(l2 - orig));
	broken_at(T->copy, 2, "cut tail: the signed head names record 4, "
		  "the log ends at record 1");
	spill(T->copy, "", 0);
	broken_at(T->copy, 1, "cut tail");
	/* ... and so is the head deleted with them */
	spill(T->copy, orig, (size_t)(l4 - orig));
	assert_int_equal(unlink(T->copy_head), 0);
	broken_at(T->copy, 4, "no signed head");
	/* the whole log intact, with its head */
	spill(T->copy, orig, len);
	assert_int_equal(verify(T->copy, T->host_pem, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 4);
	assert_true(rep.head);
	assert_int_equal(rep.head_seq, 4);
	assert_int_equal(rep.after_head, 0);
	free(buf);
	free(orig);
}

/* Line @n of @buf (from 1) rewritten: who = mallory, re-signed by @key. */
static char *forge(char *buf, int n, EVP_PKEY *key)
{
	char *l = line_at(buf, n), *b64, *out, *text;
	struct json_object *o;
	const char *s;
	uint8_t *sig;
	size_t siglen;

	text = strndup(l, (size_t)(strchr(l, '\n') - l));
	assert_non_null(text);
	o = json_tokener_parse(text);
	free(text);
	assert_non_null(o);
	json_object_object_add(o, "who", json_object_new_string("mallory"));
	json_object_object_del(o, "sig");
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_int_equal(svmigd_sign(key, s, strlen(s), &sig, &siglen), 0);
	b64 = svmigd_base64_encode(sig, siglen);
	assert_non_null(b64);
	json_object_object_add(o, "sig", json_object_new_string(b64));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert_true(asprintf(&out, "%.*s%s\n%s", (int)(l - buf), buf, s,
			     strchr(l, '\n') + 1) > 0);
	json_object_put(o);
	free(b64);
	free(sig);
	return out;
}

/* A record rewritten and re-signed by another key, its link intact. */
static void test_forged(void **state)
{
	char *orig, *forged;
	size_t len;

	(void)state;
	small_log(T->log, 3);
	orig = slurp(T->log, &len);
	forged = forge(orig, 2, T->other);
	spill(T->copy, forged, strlen(forged));
	broken_at(T->copy, 2, "bad signature");
	free(forged);
	/* re-signed with the right key, it is the next link that breaks */
	forged = forge(orig, 2, T->host);
	spill(T->copy, forged, strlen(forged));
	broken_at(T->copy, 3, "bad hash link");
	free(forged);
	free(orig);
}

/* The head file: forged, edited, behind the log, rolled back with it. */
static void test_head(void **state)
{
	struct svmigd_audit_report rep;
	struct svmigd_audit_head h;
	char *orig, *head3, *head4, *l4, *forged, *cut, err[512], anchor[160];
	uint64_t n;
	size_t len, hlen;
	FILE *f;

	(void)state;
	small_log(T->log, 3);
	head3 = slurp(T->log_head, &hlen);
	assert_int_equal(append(T->log, T->host, "e", "w", "x", NULL), 4);
	head4 = slurp(T->log_head, &hlen);
	orig = slurp(T->log, &len);
	l4 = line_at(orig, 4);

	/* a head signed by another key, or edited */
	assert_int_equal(svmigd_audit_head_sign(T->other, 4,
						(const uint8_t *)"0123456789abcdef0123456789abcdef",
						&forged), 0);
	spill_only(T->copy, orig, len);
	spill_only(T->copy_head, forged, strlen(forged));
	spill_only(T->copy_head, "", 0);
	broken_at(T->copy, 5, "bad head: no newline");
	f = fopen(T->copy_head, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", forged);
	fclose(f);
	broken_at(T->copy, 5, "bad head: its signature does not verify");
	free(forged);
	cut = strdup(head4);
	assert_non_null(cut);
	*strstr(cut, "\"seq\":4") = '\0';
	assert_true(asprintf(&forged, "%s\"seq\":5%s", cut,
			     strstr(head4, "\"seq\":4") + 7) > 0);
	free(cut);
	spill_only(T->copy_head, forged, strlen(forged));
	broken_at(T->copy, 5, "bad head: its signature does not verify");
	/* a head of record 4 with another hash: the log was rewritten */
	spill_only(T->copy_head, head4, hlen);
	assert_int_equal(svmigd_audit_head_write(T->copy, T->host, 4,
						 (const uint8_t *)"0123456789abcdef0123456789abcdef",
						 err, sizeof(err)), 0);
	broken_at(T->copy, 5, "names another record 4");

	/* a record after the head (a crash in between) verifies */
	spill_only(T->copy, orig, len);
	spill_only(T->copy_head, head3, strlen(head3));
	assert_int_equal(verify(T->copy, T->host_pem, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 4);
	assert_int_equal(rep.head_seq, 3);
	assert_int_equal(rep.after_head, 1);
	/* ... and extends, the head following */
	assert_int_equal(append(T->copy, T->host, "e", "w", "x", NULL), 5);
	assert_int_equal(verify(T->copy, T->host_pem, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.head_seq, 5);
	assert_int_equal(rep.after_head, 0);

	/* a cut log is not extended */
	spill(T->copy, orig, (size_t)(l4 - orig));
	assert_int_equal(svmigd_audit_append(T->copy, T->host, "e", "w", "x",
					     NULL, NULL, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "not extended: cut tail: the signed head "
			       "names record 4, the log ends at record 3"));
	assert_int_equal(unlink(T->copy_head), 0);
	assert_int_equal(svmigd_audit_append(T->copy, T->host, "e", "w", "x",
					     NULL, NULL, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "no signed head"));

	/*
	 * Log and head rolled back together to record 3: the local head
	 * cannot tell, an anchor (head 4, kept elsewhere) can.
	 */
	spill_only(T->copy, orig, (size_t)(l4 - orig));
	spill_only(T->copy_head, head3, strlen(head3));
	assert_int_equal(verify(T->copy, T->host_pem, &rep, err, sizeof(err)), 0);
	snprintf(anchor, sizeof(anchor), "%s/anchor", T->dir);
	spill_only(anchor, head4, hlen);
	assert_int_equal(svmigd_audit_anchor_read(anchor, T->host, &h, &n, err,
						  sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h.seq, 4);
	assert_int_equal(svmigd_audit_verify_anchor(T->copy, T->host, anchor,
						    &rep, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(rep.why, "cut tail: the anchor"));
	assert_int_equal(svmigd_audit_verify_anchor(T->log, T->host, anchor,
						    &rep, err, sizeof(err)), 0);
	/* an anchor signed by another host proves nothing about this log */
	free(forged);
	assert_int_equal(svmigd_audit_head_sign(T->other, 9, h.last, &forged), 0);
	spill_only(anchor, forged, strlen(forged));
	assert_int_equal(svmigd_audit_verify_anchor(T->copy, T->host, anchor,
						    &rep, err, sizeof(err)),
			 -ENOENT);
	spill_only(anchor, "junk\n", 5);
	assert_int_equal(svmigd_audit_verify_anchor(T->log, T->host, anchor,
						    &rep, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no signed head"));
	unlink(anchor);
	free(forged);
	free(head3);
	free(head4);
	free(orig);
}

/* HEAD: exactly {type, head}, the head signed by the peer's key. */
static void test_head_msg(void **state)
{
	uint8_t last[SVMIGD_SHA256_LEN] = { 7 };
	struct svmigd_audit_head h;
	struct json_object *msg;
	char *line, why[256];

	(void)state;
	assert_int_equal(svmigd_audit_head_sign(T->host, 3, last, &line), 0);
	msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string("HEAD"));
	json_object_object_add(msg, "head", json_object_new_string(line));
	assert_int_equal(svmigd_audit_head_msg_check(msg, T->host, &h, why,
						     sizeof(why)), 0);
	assert_int_equal(h.seq, 3);
	assert_memory_equal(h.last, last, sizeof(last));
	/* another host's key: refused */
	assert_int_equal(svmigd_audit_head_msg_check(msg, T->other, &h, why,
						     sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "does not verify"));
	/* an extra field, another type, no head */
	json_object_object_add(msg, "extra", json_object_new_int(1));
	assert_int_equal(svmigd_audit_head_msg_check(msg, T->host, &h, why,
						     sizeof(why)), -EBADMSG);
	json_object_object_del(msg, "extra");
	json_object_object_add(msg, "type", json_object_new_string("ERROR"));
	assert_int_equal(svmigd_audit_head_msg_check(msg, T->host, &h, why,
						     sizeof(why)), -EBADMSG);
	json_object_object_add(msg, "type", json_object_new_string("HEAD"));
	json_object_object_add(msg, "head", json_object_new_int(3));
	assert_int_equal(svmigd_audit_head_msg_check(msg, T->host, &h, why,
						     sizeof(why)), -EBADMSG);
	/* a head line in another spelling (a space) */
	line[strlen(line) - 1] = '\0';	/* its final "}" */
	{
		char *spaced = NULL;

		assert_true(asprintf(&spaced, "%s }", line) > 0);
		json_object_object_add(msg, "head", json_object_new_string(spaced));
		free(spaced);
	}
	assert_int_equal(svmigd_audit_head_msg_check(msg, T->host, &h, why,
						     sizeof(why)), -EBADMSG);
	/* "last" missing, another key in its place (fuzz_audit: a NULL) */
	line[strlen(line)] = '}';
	*strstr(line, "\"last\"") = '\0';
	{
		char *renamed = NULL;

		assert_true(asprintf(&renamed, "%s\"sast\"%s", line,
				     line + strlen(line) + 6) > 0);
		assert_int_equal(svmigd_audit_head_parse(renamed, strlen(renamed),
							 T->host, &h, why,
							 sizeof(why)), -EBADMSG);
		assert_non_null(strstr(why, "not a head"));
		free(renamed);
	}
	json_object_put(msg);
	free(line);
}

static void test_append_refuses(void **state)
{
	struct svmigd_audit_report rep;
	struct json_object *d;
	char *orig, err[512], *big;
	size_t len;
	int i;

	(void)state;
	small_log(T->log, 2);
	orig = slurp(T->log, &len);

	/* a torn last line */
	spill(T->log, orig, len - 1);
	assert_int_equal(svmigd_audit_append(T->log, T->host, "e", "w", "x",
					     NULL, NULL, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "not extended: ends with an incomplete line"));
	/* a last record that is not this key's */
	spill(T->log, orig, len);
	assert_int_equal(svmigd_audit_append(T->log, T->other, "e", "w", "x",
					     NULL, NULL, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "not extended: last record: bad signature"));
	/* a last record changed */
	orig[len - 20] ^= 1;
	spill(T->log, orig, len);
	assert_int_equal(svmigd_audit_append(T->log, T->host, "e", "w", "x",
					     NULL, NULL, err, sizeof(err)),
			 -EBADMSG);
	orig[len - 20] ^= 1;
	spill(T->log, orig, len);

	/* what verify would refuse is not written */
	d = json_object_new_object();
	json_object_object_add(d, "nan", json_object_new_double(NAN));
	assert_int_equal(svmigd_audit_append(T->log, T->host, "e", "w", "x", d,
					     NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "record not loggable"));
	json_object_put(d);
	big = malloc(SVMIGD_AUDIT_LINE_MAX + 1);
	assert_non_null(big);
	memset(big, 'a', SVMIGD_AUDIT_LINE_MAX);
	big[SVMIGD_AUDIT_LINE_MAX] = '\0';
	assert_int_equal(svmigd_audit_append(T->log, T->host, "e", "w", big,
					     NULL, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "longer than"));
	free(big);
	d = json_object_new_object();
	for (i = 0; i < 40; i++) {
		struct json_object *outer = json_object_new_object();

		json_object_object_add(outer, "d", d);
		d = outer;
	}
	assert_int_equal(svmigd_audit_append(T->log, T->host, "e", "w", "x", d,
					     NULL, err, sizeof(err)), -EINVAL);
	json_object_put(d);
	d = json_object_new_array();
	assert_int_equal(svmigd_audit_append(T->log, T->host, "e", "w", "x", d,
					     NULL, err, sizeof(err)), -EINVAL);
	json_object_put(d);
	assert_int_equal(svmigd_audit_append(T->log, T->host, NULL, "w", "x",
					     NULL, NULL, err, sizeof(err)),
			 -EINVAL);
	/* the log is as it was, and still extends */
	free(orig);
	orig = slurp(T->log, &len);
	assert_int_equal(verify(T->log, T->host_pem, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 2);
	assert_int_equal(append(T->log, T->host, "e", "w", "x", NULL), 3);
	free(orig);

	assert_int_equal(verify(T->copy, T->host_pem, &rep, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(verify(T->log, T->copy, &rep, err, sizeof(err)),
			 -EINVAL);
}

static void test_rsa(void **state)
{
	struct svmigd_audit_report rep;
	char err[512];

	(void)state;
	append(T->log, T->rsa, "request", "alice", "web-1", NULL);
	append(T->log, T->rsa, "success", "alice", "web-1", NULL);
	assert_int_equal(verify(T->log, T->rsa_pem, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 2);
	assert_int_equal(svmigd_audit_verify_key(T->log, T->rsa, &rep, err,
						 sizeof(err)), 0);
	assert_int_equal(verify(T->log, T->host_pem, &rep, err, sizeof(err)),
			 -EBADMSG);
}

#define WRITERS	4
#define EACH	10

/* Appenders in several processes: one chain, no seq twice. */
static void test_concurrent(void **state)
{
	struct svmigd_audit_report rep;
	char err[512];
	pid_t pid[WRITERS];
	int i, j, st;

	(void)state;
	for (i = 0; i < WRITERS; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i])
			continue;
		for (j = 0; j < EACH; j++)
			if (svmigd_audit_append(T->log, T->host, "request",
						"writer", "vm", NULL, NULL,
						err, sizeof(err)))
				_exit(1);
		_exit(0);
	}
	for (i = 0; i < WRITERS; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && !WEXITSTATUS(st));
	}
	assert_int_equal(verify(T->log, T->host_pem, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, WRITERS * EACH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_chain, setup),
		cmocka_unit_test_setup(test_every_byte, setup),
		cmocka_unit_test_setup(test_records_moved, setup),
		cmocka_unit_test_setup(test_forged, setup),
		cmocka_unit_test_setup(test_head, setup),
		cmocka_unit_test_setup(test_head_msg, setup),
		cmocka_unit_test_setup(test_append_refuses, setup),
		cmocka_unit_test_setup(test_rsa, setup),
		cmocka_unit_test_setup(test_concurrent, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
