// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd's control connection (userspace/svmigd/tls.c) and its framed
 * JSON messages (msg.c): two providers' CAs (federation) and a third,
 * unknown one; a server thread and a client over a socketpair.
 *
 * The server side runs in a thread and only records what happened
 * (cmocka's asserts belong to the main thread); the main thread checks
 * after joining it.
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
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "msg.h"
#include "pki.h"
#include "crl.h"
#include "tls.h"

#define T_TIMEOUT	3000	/* ms: generous, nothing should wait for it */
#define T_SHORT		100	/* ms: the timeouts under test */

/* ---- the PKI ---- */

enum { CA_A, CA_B, CA_C, N_CA };	/* provider A, provider B, unknown */
enum { ID_A, ID_B, ID_ROGUE_A, ID_ROGUE_B, ID_ODD, N_ID };

static const struct {
	const char *cn;
	int ca;
	const char *san;	/* NULL: pki.h's, DNS:<cn> */
} ids[N_ID] = {
	[ID_A] = { "host-a", CA_A, NULL },
	[ID_B] = { "host-b", CA_B, NULL },
	[ID_ROGUE_A] = { "host-a", CA_C, NULL },
	[ID_ROGUE_B] = { "host-b", CA_C, NULL },
	/* a subjectAltName for host-b under another CN */
	[ID_ODD] = { "host-x", CA_B, "DNS:host-b" },
};

static char pki_dir[64];

static struct {
	char ca_path[N_CA][128];
	char cert_path[N_ID][128];
	char key_path[N_ID][128];
	X509 *ca[N_CA];
	EVP_PKEY *ca_key[N_CA];
	X509 *cert[N_ID];
	struct svmig_tls_ctx *ctx[N_ID];	/* each trusting A and B */
} pki;

static int make_ctx(int id)
{
	const char *anchors[] = { pki.ca_path[CA_A], pki.ca_path[CA_B] };
	struct svmig_tls_config cfg = {
		.cert_file = pki.cert_path[id],
		.key_file = pki.key_path[id],
		.anchor_files = anchors,
		.n_anchor_files = 2,
	};
	char err[SVMIG_TLS_ERR_LEN];
	int ret = svmig_tls_ctx_new(&cfg, &pki.ctx[id], err, sizeof(err));

	if (ret)
		fprintf(stderr, "ctx %d: %s\n", id, err);
	return ret;
}

static int make_ca(int i)
{
	EVP_PKEY **key = &pki.ca_key[i];
	static const char *const names[N_CA] = {
		"provider A CA", "provider B CA", "unknown CA",
	};

	*key = pki_key();
	if (!*key)
		return -1;
	pki.ca[i] = pki_cert(*key, names[i], NULL, NULL);
	snprintf(pki.ca_path[i], sizeof(pki.ca_path[i]), "%s/ca%d.pem",
		 pki_dir, i);
	return pki.ca[i] ? pki_write_cert(pki.ca_path[i], pki.ca[i]) : -1;
}

/* pki_cert()'s certificate with its subjectAltName replaced by @san. */
static X509 *cert_with_san(EVP_PKEY *key, const char *cn, int ca,
			   const char *san)
{
	X509 *cert = pki_cert(key, cn, pki.ca[ca], pki.ca_key[ca]);
	int i;

	if (!cert)
		return NULL;
	i = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
	if (i >= 0)
		X509_EXTENSION_free(X509_delete_ext(cert, i));
	if (i < 0 || pki_ext(cert, pki.ca[ca], NID_subject_alt_name, san) ||
	    !X509_sign(cert, pki.ca_key[ca], EVP_sha256())) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

static int make_id(int i)
{
	EVP_PKEY *key = pki_key();
	int ret = -1;

	if (!key)
		return -1;
	if (ids[i].san)
		pki.cert[i] = cert_with_san(key, ids[i].cn, ids[i].ca,
					    ids[i].san);
	else
		pki.cert[i] = pki_cert(key, ids[i].cn, pki.ca[ids[i].ca],
				       pki.ca_key[ids[i].ca]);
	snprintf(pki.cert_path[i], sizeof(pki.cert_path[i]), "%s/id%d.pem",
		 pki_dir, i);
	snprintf(pki.key_path[i], sizeof(pki.key_path[i]), "%s/id%d.key",
		 pki_dir, i);
	if (pki.cert[i] && !pki_write_cert(pki.cert_path[i], pki.cert[i]) &&
	    !pki_write_key(pki.key_path[i], key))
		ret = make_ctx(i);
	EVP_PKEY_free(key);
	return ret;
}

static int group_setup(void **state)
{
	int i, ret = 0;

	(void)state;
	snprintf(pki_dir, sizeof(pki_dir), "/tmp/svmig-tls-XXXXXX");
	if (!mkdtemp(pki_dir))
		return -1;
	for (i = 0; i < N_CA && !ret; i++)
		ret = make_ca(i);
	for (i = 0; i < N_ID && !ret; i++)
		ret = make_id(i);
	return ret;
}

static int group_teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < N_ID; i++) {
		svmig_tls_ctx_free(pki.ctx[i]);
		X509_free(pki.cert[i]);
		unlink(pki.cert_path[i]);
		unlink(pki.key_path[i]);
	}
	for (i = 0; i < N_CA; i++) {
		EVP_PKEY_free(pki.ca_key[i]);
		X509_free(pki.ca[i]);
		unlink(pki.ca_path[i]);
	}
	return rmdir(pki_dir);
}

/* ---- the server thread ---- */

struct srv;
typedef int (*script_fn)(struct srv *s, struct svmig_tls_conn *conn);

struct srv {
	void (*body)(struct srv *s);	/* default: srv_accept */
	struct svmig_tls_ctx *ctx;
	script_fn script;		/* after the handshake */
	const void *arg;
	int fd;
	pthread_t thread;
	/* what happened */
	int ret;			/* the handshake's */
	int script_ret;
	char err[SVMIG_TLS_ERR_LEN];
	char cn[256];
	uint8_t e[SVMIG_TLS_EXPORTER_LEN];
	uint8_t fpr[SVMIG_TLS_FPR_LEN];
	int chain_len;
	X509 *chain_top;
};

static int script_shutdown(struct srv *s, struct svmig_tls_conn *conn)
{
	(void)s;
	return svmig_tls_shutdown(conn, T_TIMEOUT);
}

static void srv_accept(struct srv *s)
{
	struct svmig_tls_conn *conn;
	STACK_OF(X509) *chain;

	s->ret = svmig_tls_accept(s->ctx, s->fd, T_TIMEOUT, &conn, s->err,
				  sizeof(s->err));
	if (s->ret)
		return;
	snprintf(s->cn, sizeof(s->cn), "%s", svmig_tls_peer_cn(conn));
	chain = svmig_tls_peer_chain(conn);
	s->chain_len = chain ? sk_X509_num(chain) : 0;
	s->chain_top = s->chain_len ? sk_X509_value(chain, s->chain_len - 1) : NULL;
	if (s->chain_top && !X509_up_ref(s->chain_top))
		s->chain_top = NULL;
	s->ret = svmig_tls_exporter(conn, s->e);
	if (!s->ret)
		s->ret = svmig_tls_peer_fingerprint(conn, s->fpr);
	if (!s->ret)
		s->script_ret = (s->script ? s->script : script_shutdown)(s, conn);
	snprintf(s->err, sizeof(s->err), "%s", svmig_tls_error(conn));
	svmig_tls_free(conn);
}

static void *srv_main(void *p)
{
	struct srv *s = p;

	(s->body ? s->body : srv_accept)(s);
	close(s->fd);
	return NULL;
}

/* Starts @s on one end of a new socketpair; returns the other end. */
static int srv_start(struct srv *s)
{
	int fds[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	s->fd = fds[1];
	assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
	return fds[0];
}

static void srv_join(struct srv *s)
{
	assert_int_equal(pthread_join(s->thread, NULL), 0);
}

static void srv_done(struct srv *s)
{
	X509_free(s->chain_top);
}

/* ---- the client ---- */

static int cli_connect(int id, int fd, const char *host,
		       struct svmig_tls_conn **conn, char *err)
{
	return svmig_tls_connect(pki.ctx[id], fd, host, T_TIMEOUT, conn, err,
				 SVMIG_TLS_ERR_LEN);
}

static void cli_close(struct svmig_tls_conn *conn, int fd)
{
	svmig_tls_free(conn);
	close(fd);
}

static void fingerprint(X509 *cert, uint8_t fpr[SVMIG_TLS_FPR_LEN])
{
	unsigned int len = 0;

	assert_int_equal(X509_digest(cert, EVP_sha256(), fpr, &len), 1);
	assert_int_equal(len, SVMIG_TLS_FPR_LEN);
}

static bool contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		return true;
	fprintf(stderr, "\"%s\" not in \"%s\"\n", needle, haystack);
	return false;
}

/* ---- handshakes that succeed ---- */

/* Client @cid reaches server @sid; checks both ends; E into @e. */
static void handshake_ok(int cid, int sid, uint8_t e[SVMIG_TLS_EXPORTER_LEN])
{
	struct srv s = { .ctx = pki.ctx[sid] };
	struct svmig_tls_conn *conn;
	char err[SVMIG_TLS_ERR_LEN];
	uint8_t fpr[SVMIG_TLS_FPR_LEN], want[SVMIG_TLS_FPR_LEN];
	STACK_OF(X509) *chain;
	int fd = srv_start(&s);

	assert_int_equal(cli_connect(cid, fd, ids[sid].cn, &conn, err), 0);
	assert_string_equal(svmig_tls_peer_cn(conn), ids[sid].cn);
	assert_int_equal(X509_cmp(svmig_tls_peer_cert(conn), pki.cert[sid]), 0);
	assert_int_equal(svmig_tls_peer_fingerprint(conn, fpr), 0);
	fingerprint(pki.cert[sid], want);
	assert_memory_equal(fpr, want, sizeof(fpr));
	chain = svmig_tls_peer_chain(conn);
	assert_non_null(chain);
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1),
				  pki.ca[ids[sid].ca]), 0);
	assert_int_equal(svmig_tls_exporter(conn, e), 0);
	assert_true(svmig_tls_usable(conn));
	assert_int_equal(svmig_tls_shutdown(conn, T_TIMEOUT), 0);
	cli_close(conn, fd);
	srv_join(&s);

	assert_int_equal(s.ret, 0);
	assert_int_equal(s.script_ret, 0);
	assert_string_equal(s.cn, ids[cid].cn);
	fingerprint(pki.cert[cid], want);
	assert_memory_equal(s.fpr, want, sizeof(want));
	assert_int_equal(s.chain_len, 2);
	assert_int_equal(X509_cmp(s.chain_top, pki.ca[ids[cid].ca]), 0);
	assert_memory_equal(s.e, e, SVMIG_TLS_EXPORTER_LEN);
	srv_done(&s);
}

/* Each provider's host reaches the other's, and its own provider's. */
static void test_federation(void **state)
{
	uint8_t e[SVMIG_TLS_EXPORTER_LEN];

	(void)state;
	handshake_ok(ID_A, ID_B, e);
	handshake_ok(ID_B, ID_A, e);
	handshake_ok(ID_A, ID_A, e);
	handshake_ok(ID_B, ID_B, e);
}

static void test_exporter_per_session(void **state)
{
	uint8_t e1[SVMIG_TLS_EXPORTER_LEN], e2[SVMIG_TLS_EXPORTER_LEN];
	static const uint8_t zero[SVMIG_TLS_EXPORTER_LEN];

	(void)state;
	handshake_ok(ID_A, ID_B, e1);
	handshake_ok(ID_A, ID_B, e2);
	assert_memory_not_equal(e1, e2, sizeof(e1));
	assert_memory_not_equal(e1, zero, sizeof(e1));
}

/* ---- refusals ---- */

/* Our client's certificate is refused: the server says so, and the
 * client hears it at the latest on its first read (TLS 1.3). */
static void test_unknown_client_ca(void **state)
{
	struct srv s = { .ctx = pki.ctx[ID_B] };
	struct svmig_tls_conn *conn;
	struct json_object *msg;
	char err[SVMIG_TLS_ERR_LEN];
	int fd = srv_start(&s), ret;

	(void)state;
	ret = cli_connect(ID_ROGUE_A, fd, "host-b", &conn, err);
	if (!ret) {
		ret = svmig_msg_recv(conn, T_TIMEOUT, &msg);
		assert_null(msg);
		snprintf(err, sizeof(err), "%s", svmig_tls_error(conn));
		svmig_tls_free(conn);
	}
	close(fd);
	srv_join(&s);
	assert_int_equal(ret, -EPROTO);
	assert_true(contains(err, "unknown ca"));
	assert_int_equal(s.ret, -EACCES);
	assert_true(contains(s.err, "certificate verify failed"));
	assert_true(contains(s.err, "unable to get local issuer certificate"));
	srv_done(&s);
}

static void test_unknown_server_ca(void **state)
{
	struct srv s = { .ctx = pki.ctx[ID_ROGUE_B] };
	struct svmig_tls_conn *conn = (void *)1;
	char err[SVMIG_TLS_ERR_LEN];
	int fd = srv_start(&s);

	(void)state;
	assert_int_equal(cli_connect(ID_A, fd, "host-b", &conn, err), -EACCES);
	assert_null(conn);
	assert_true(contains(err, "TLS handshake with host-b"));
	assert_true(contains(err, "unable to get local issuer certificate"));
	close(fd);
	srv_join(&s);
	assert_int_equal(s.ret, -EPROTO);
	assert_true(contains(s.err, "unknown ca"));
	srv_done(&s);
}

/* A certificate from a trusted CA, for another host than the one meant. */
static void test_wrong_host(void **state)
{
	struct srv s = { .ctx = pki.ctx[ID_B] };
	struct svmig_tls_conn *conn;
	char err[SVMIG_TLS_ERR_LEN];
	int fd = srv_start(&s);

	(void)state;
	assert_int_equal(cli_connect(ID_A, fd, "host-c", &conn, err), -EACCES);
	assert_true(contains(err, "hostname mismatch"));
	close(fd);
	srv_join(&s);
	assert_int_not_equal(s.ret, 0);
	srv_done(&s);
}

/* The subjectAltName names the host, the CN does not: refused, and
 * the other way round too (OpenSSL ignores the CN beside a SAN). */
static void test_cn_not_host(void **state)
{
	static const struct {
		const char *host, *words;
	} cases[] = {
		{ "host-b", "peer certificate is for CN host-x, not host-b" },
		{ "host-x", "hostname mismatch" },
	};
	struct svmig_tls_conn *conn;
	char err[SVMIG_TLS_ERR_LEN];
	size_t i;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct srv s = { .ctx = pki.ctx[ID_ODD] };

		fd = srv_start(&s);
		assert_int_equal(cli_connect(ID_A, fd, cases[i].host, &conn, err),
				 -EACCES);
		assert_true(contains(err, cases[i].words));
		close(fd);
		srv_join(&s);
		srv_done(&s);
	}
}

/* A raw OpenSSL client: TLS 1.3 without a certificate, or TLS 1.2. */
static SSL_CTX *raw_ctx(const SSL_METHOD *method, int id, int max_version)
{
	SSL_CTX *c = SSL_CTX_new(method);

	assert_non_null(c);
	if (id >= 0) {
		assert_int_equal(SSL_CTX_use_certificate_file(c, pki.cert_path[id],
							      SSL_FILETYPE_PEM), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(c, pki.key_path[id],
							     SSL_FILETYPE_PEM), 1);
	}
	if (max_version)
		assert_int_equal(SSL_CTX_set_max_proto_version(c, max_version), 1);
	return c;
}

/* Connects; returns whether a one-byte read then works. */
static bool raw_client(SSL_CTX *c, int fd, int *connect_ret)
{
	SSL *ssl = SSL_new(c);
	char b;
	int n = 0;

	assert_non_null(ssl);
	assert_int_equal(SSL_set_fd(ssl, fd), 1);
	*connect_ret = SSL_connect(ssl);
	if (*connect_ret == 1)
		n = SSL_read(ssl, &b, 1);
	SSL_free(ssl);
	ERR_clear_error();
	return n > 0;
}

static void test_no_client_cert(void **state)
{
	struct srv s = { .ctx = pki.ctx[ID_B] };
	SSL_CTX *c = raw_ctx(TLS_client_method(), -1, 0);
	int fd = srv_start(&s), cret;

	(void)state;
	assert_false(raw_client(c, fd, &cret));
	assert_int_equal(cret, 1);	/* TLS 1.3: the refusal comes after */
	close(fd);
	srv_join(&s);
	SSL_CTX_free(c);
	assert_int_equal(s.ret, -EACCES);
	assert_true(contains(s.err, "peer did not return a certificate"));
	srv_done(&s);
}

static void test_tls12_client(void **state)
{
	struct srv s = { .ctx = pki.ctx[ID_B] };
	SSL_CTX *c = raw_ctx(TLS_client_method(), ID_A, TLS1_2_VERSION);
	int fd = srv_start(&s), cret;

	(void)state;
	assert_false(raw_client(c, fd, &cret));
	assert_int_not_equal(cret, 1);
	close(fd);
	srv_join(&s);
	SSL_CTX_free(c);
	assert_int_equal(s.ret, -EPROTO);
	assert_true(contains(s.err, "unsupported protocol"));
	srv_done(&s);
}

/* A raw OpenSSL TLS 1.2-only server with host-b's certificate. */
static void raw_tls12_server(struct srv *s)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	SSL *ssl = NULL;

	s->ret = -1;
	if (!c || SSL_CTX_use_certificate_file(c, pki.cert_path[ID_B],
					       SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c, pki.key_path[ID_B],
					SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION) != 1)
		goto out;
	ssl = SSL_new(c);
	if (ssl && SSL_set_fd(ssl, s->fd) == 1)
		s->ret = SSL_accept(ssl);
out:
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(c);
}

static void test_tls12_server(void **state)
{
	struct srv s = { .body = raw_tls12_server };
	struct svmig_tls_conn *conn;
	char err[SVMIG_TLS_ERR_LEN];
	int fd = srv_start(&s);

	(void)state;
	assert_int_equal(cli_connect(ID_A, fd, "host-b", &conn, err), -EPROTO);
	assert_true(contains(err, "alert protocol version"));
	close(fd);
	srv_join(&s);
	assert_int_not_equal(s.ret, 1);
	srv_done(&s);
}

/* Nobody speaks TLS at the other end: both handshakes time out. */
static long long ms_since(const struct timespec *t0)
{
	struct timespec t;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t), 0);
	return (t.tv_sec - t0->tv_sec) * 1000LL +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_handshake_timeout(void **state)
{
	struct svmig_tls_conn *conn;
	char err[SVMIG_TLS_ERR_LEN];
	struct timespec t0;
	int fds[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	assert_int_equal(svmig_tls_connect(pki.ctx[ID_A], fds[0], "host-b",
					   T_SHORT, &conn, err, sizeof(err)),
			 -ETIMEDOUT);
	assert_true(contains(err, "timed out"));
	/* the ClientHello is there, the rest never comes */
	assert_int_equal(svmig_tls_accept(pki.ctx[ID_B], fds[1], T_SHORT,
					  &conn, err, sizeof(err)), -ETIMEDOUT);
	assert_true(ms_since(&t0) >= 2 * T_SHORT && ms_since(&t0) < 1000);
	close(fds[0]);
	close(fds[1]);
}

static void test_ctx_errors(void **state)
{
	const char *anchors[] = { pki.ca_path[CA_A], "/nonexistent/ca.pem" };
	struct svmig_tls_config cfg = {
		.cert_file = pki.cert_path[ID_A],
		.key_file = pki.key_path[ID_A],
		.anchor_files = anchors,
		.n_anchor_files = 2,
	};
	struct svmig_tls_ctx *ctx = (void *)1;
	char err[SVMIG_TLS_ERR_LEN];

	(void)state;
	assert_int_equal(svmig_tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -EINVAL);
	assert_null(ctx);
	assert_true(contains(err, "/nonexistent/ca.pem"));
	cfg.n_anchor_files = 0;
	assert_int_equal(svmig_tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -EINVAL);
	cfg.n_anchor_files = 1;
	cfg.key_file = pki.key_path[ID_B];
	assert_int_equal(svmig_tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -EINVAL);
	assert_true(contains(err, "loading key"));
	cfg.key_file = pki.key_path[ID_A];
	assert_int_equal(svmig_tls_ctx_new(&cfg, &ctx, err, sizeof(err)), 0);
	svmig_tls_ctx_free(ctx);
}

/* ---- messages ---- */

/* Echoes each message back as an ECHO with the same "blob", until the
 * peer closes between frames (what it must see: -ECONNRESET). */
static int script_echo(struct srv *s, struct svmig_tls_conn *conn)
{
	struct json_object *in, *out;
	uint8_t *blob = malloc(SVMIG_MSG_MAX / 2);
	size_t len;
	int ret;

	(void)s;
	if (!blob)
		return -ENOMEM;
	while (!(ret = svmig_msg_recv(conn, T_TIMEOUT, &in))) {
		ret = svmig_msg_get_hex_range(in, "blob", blob, 0,
					      SVMIG_MSG_MAX / 2, &len);
		out = svmig_msg_new("ECHO");
		if (!ret && out)
			ret = svmig_msg_add_hex(out, "blob", blob, len);
		if (!ret && out)
			ret = svmig_msg_send(conn, out, T_TIMEOUT);
		json_object_put(in);
		json_object_put(out);
		if (ret)
			break;
	}
	free(blob);
	if (ret != -ECONNRESET)
		return ret ? ret : -EPROTO;
	return svmig_tls_shutdown(conn, T_TIMEOUT);
}

static void test_roundtrip(void **state)
{
	static const size_t lens[] = { 0, 1, 32, 1000, 65536, 300000 };
	struct srv s = { .ctx = pki.ctx[ID_B], .script = script_echo };
	struct svmig_tls_conn *conn;
	struct json_object *msg;
	char err[SVMIG_TLS_ERR_LEN];
	uint8_t *blob = malloc(300000), *got = malloc(300000);
	size_t i, len;
	int fd = srv_start(&s);

	(void)state;
	assert_non_null(blob);
	assert_non_null(got);
	assert_int_equal(cli_connect(ID_A, fd, "host-b", &conn, err), 0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(blob, (int)(0x11 * i + 1), lens[i]);
		if (lens[i])
			blob[lens[i] - 1] = 0xfe;
		msg = svmig_msg_new(SVMIG_MSG_ATTEST);
		assert_non_null(msg);
		assert_int_equal(svmig_msg_add_hex(msg, "blob", blob, lens[i]), 0);
		assert_int_equal(json_object_object_add(msg, "n",
				json_object_new_int((int)i)), 0);
		assert_int_equal(svmig_msg_send(conn, msg, T_TIMEOUT), 0);
		json_object_put(msg);

		assert_int_equal(svmig_msg_expect(conn, "ECHO", T_TIMEOUT, &msg), 0);
		assert_string_equal(svmig_msg_type(msg), "ECHO");
		assert_int_equal(svmig_msg_get_hex_range(msg, "blob", got, 0,
							 300000, &len), 0);
		assert_int_equal(len, lens[i]);
		if (len)
			assert_memory_equal(got, blob, len);
		json_object_put(msg);
	}
	/* the wrong type where another one is expected */
	msg = svmig_msg_new(SVMIG_MSG_KEY);
	assert_non_null(msg);
	assert_int_equal(svmig_msg_add_hex(msg, "blob", blob, 4), 0);
	assert_int_equal(svmig_msg_send(conn, msg, T_TIMEOUT), 0);
	json_object_put(msg);
	assert_int_equal(svmig_msg_expect(conn, SVMIG_MSG_RECEIPT, T_TIMEOUT,
					  &msg), -EPROTO);
	assert_null(msg);
	assert_true(contains(svmig_tls_error(conn), "expected a RECEIPT message"));
	assert_false(svmig_tls_usable(conn));
	assert_int_equal(svmig_msg_recv(conn, T_TIMEOUT, &msg), -ENOTCONN);
	/* a clean end between frames */
	assert_int_equal(svmig_tls_shutdown(conn, T_TIMEOUT), 0);
	cli_close(conn, fd);
	srv_join(&s);
	assert_int_equal(s.ret, 0);
	assert_int_equal(s.script_ret, 0);
	srv_done(&s);
	free(blob);
	free(got);
}

/* Writes the raw bytes in s->arg, then closes with close_notify or not. */
struct raw {
	const void *p;
	size_t len;
	bool close_notify;
};

static int script_raw(struct srv *s, struct svmig_tls_conn *conn)
{
	const struct raw *r = s->arg;
	int ret = svmig_tls_write(conn, r->p, r->len, T_TIMEOUT);

	if (!ret && r->close_notify)
		ret = svmig_tls_shutdown(conn, 0);
	return ret;
}

/*
 * Sends @r from the server; returns what the client's receive said, its
 * connection's frame limit set to @max (0: the default, SVMIG_MSG_MAX).
 */
static int recv_raw_max(const struct raw *r, size_t max, struct json_object **msg,
			char err[SVMIG_TLS_ERR_LEN])
{
	struct srv s = {
		.ctx = pki.ctx[ID_B], .script = script_raw, .arg = r,
	};
	struct svmig_tls_conn *conn;
	int fd = srv_start(&s), ret;

	assert_int_equal(cli_connect(ID_A, fd, "host-b", &conn, err), 0);
	svmig_tls_set_frame_max(conn, max);
	assert_int_equal(svmig_tls_frame_max(conn), max);
	assert_int_equal(svmig_msg_recv_max(conn),
			 max && max < SVMIG_MSG_MAX ? max : SVMIG_MSG_MAX);
	ret = svmig_msg_recv(conn, T_TIMEOUT, msg);
	snprintf(err, SVMIG_TLS_ERR_LEN, "%s", svmig_tls_error(conn));
	if (ret)
		assert_null(*msg);
	srv_join(&s);		/* it wrote everything before we close */
	cli_close(conn, fd);
	assert_int_equal(s.ret, 0);
	assert_int_equal(s.script_ret, 0);
	srv_done(&s);
	return ret;
}

static int recv_raw(const struct raw *r, struct json_object **msg,
		    char err[SVMIG_TLS_ERR_LEN])
{
	return recv_raw_max(r, 0, msg, err);
}

/* A frame of a given @len whose text is a valid message, or, past the
 * limit, just its header. */
static uint8_t *frame_of(uint32_t len, size_t *total)
{
	static const char head[] = "{\"type\":\"PAD\",\"p\":\"";
	uint8_t *f = malloc(4 + (size_t)len);

	assert_non_null(f);
	f[0] = (uint8_t)(len >> 24);
	f[1] = (uint8_t)(len >> 16);
	f[2] = (uint8_t)(len >> 8);
	f[3] = (uint8_t)len;
	memset(f + 4, 'a', len);
	memcpy(f + 4, head, sizeof(head) - 1);
	memcpy(f + 4 + len - 2, "\"}", 2);
	*total = 4 + (size_t)len;
	return f;
}

static void test_frame_sizes(void **state)
{
	struct json_object *msg;
	char err[SVMIG_TLS_ERR_LEN];
	struct raw r = { .close_notify = true };
	uint8_t *f;

	(void)state;
	/* exactly the limit: accepted */
	f = frame_of(SVMIG_MSG_MAX, &r.len);
	r.p = f;
	assert_int_equal(recv_raw(&r, &msg, err), 0);
	assert_string_equal(svmig_msg_type(msg), "PAD");
	json_object_put(msg);
	/* one byte over: refused on the header */
	f[0] = 0;
	f[1] = 0x10;
	f[2] = 0;
	f[3] = 1;
	r.len = 4 + 100;
	assert_int_equal(recv_raw(&r, &msg, err), -EMSGSIZE);
	assert_true(contains(err, "frame of 1048577 bytes"));
	/* and far over */
	memset(f, 0xff, 4);
	assert_int_equal(recv_raw(&r, &msg, err), -EMSGSIZE);
	/* empty */
	memset(f, 0, 4);
	assert_int_equal(recv_raw(&r, &msg, err), -EMSGSIZE);
	free(f);
}

/*
 * A connection's own, lower frame limit (svmigd's before the peer is
 * known to be a host of the policy): exactly it is accepted, one byte
 * more is refused from the header, before the body is read.
 */
static void test_frame_limit(void **state)
{
	const size_t max = 64 * 1024;
	struct json_object *msg;
	char err[SVMIG_TLS_ERR_LEN];
	struct raw r = { .close_notify = true };
	uint8_t *f;

	(void)state;
	f = frame_of((uint32_t)max, &r.len);
	r.p = f;
	assert_int_equal(recv_raw_max(&r, max, &msg, err), 0);
	assert_string_equal(svmig_msg_type(msg), "PAD");
	json_object_put(msg);
	free(f);
	/* one byte more: refused on the header, the body never sent */
	f = frame_of((uint32_t)max + 1, &r.len);
	r.p = f;
	r.len = 4;
	assert_int_equal(recv_raw_max(&r, max, &msg, err), -EMSGSIZE);
	assert_true(contains(err, "frame of 65537 bytes (allowed: 1 to 65536)"));
	/* a 1 MiB header too */
	f[0] = 0;
	f[1] = 0x10;
	f[2] = 0;
	f[3] = 0;
	assert_int_equal(recv_raw_max(&r, max, &msg, err), -EMSGSIZE);
	/* a limit above SVMIG_MSG_MAX does not raise it */
	f[3] = 1;
	assert_int_equal(recv_raw_max(&r, 2 * SVMIG_MSG_MAX, &msg, err), -EMSGSIZE);
	assert_true(contains(err, "frame of 1048577 bytes (allowed: 1 to 1048576)"));
	free(f);
}

/* One session in which the client's send of @msg fails with @want. */
static void send_refused(struct json_object *msg, int want, const char *words)
{
	struct srv s = { .ctx = pki.ctx[ID_B], .script = script_echo };
	struct svmig_tls_conn *conn;
	char err[SVMIG_TLS_ERR_LEN];
	int fd = srv_start(&s);

	assert_int_equal(cli_connect(ID_A, fd, "host-b", &conn, err), 0);
	assert_int_equal(svmig_msg_send(conn, msg, T_TIMEOUT), want);
	assert_true(contains(svmig_tls_error(conn), words));
	assert_int_equal(svmig_msg_send(conn, msg, T_TIMEOUT), -ENOTCONN);
	assert_int_equal(svmig_tls_shutdown(conn, T_TIMEOUT), 0);
	cli_close(conn, fd);
	srv_join(&s);
	assert_int_equal(s.script_ret, 0);	/* saw no frame, a clean end */
	srv_done(&s);
}

/* The sender refuses to frame more than the limit, or no message. */
static void test_send_refused(void **state)
{
	struct json_object *msg;
	char *big = malloc(SVMIG_MSG_MAX);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', SVMIG_MSG_MAX - 1);
	big[SVMIG_MSG_MAX - 1] = 0;
	msg = svmig_msg_new(SVMIG_MSG_REQUEST);
	assert_non_null(msg);
	assert_int_equal(json_object_object_add(msg, "big",
						json_object_new_string(big)), 0);
	send_refused(msg, -EMSGSIZE, "REQUEST message of");
	json_object_put(msg);
	free(big);
	msg = json_object_new_object();
	assert_non_null(msg);
	send_refused(msg, -EINVAL, "without a type");
	json_object_put(msg);
}

static void test_truncated(void **state)
{
	static const uint8_t part[] = "\0\0\0\x64{\"type\":\"AT";
	static const uint8_t hdr[] = "\0\0";
	const struct raw cases[] = {
		{ part, sizeof(part) - 1, true },	/* close_notify mid-frame */
		{ part, sizeof(part) - 1, false },	/* bare close mid-frame */
		{ hdr, sizeof(hdr) - 1, true },		/* inside the header */
		{ hdr, sizeof(hdr) - 1, false },
	};
	struct json_object *msg;
	char err[SVMIG_TLS_ERR_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(recv_raw(&cases[i], &msg, err), -EPROTO);
		assert_true(contains(err, "truncated frame"));
	}
	/* nothing at all, then close_notify: a clean end, not a truncation */
	{
		const struct raw none = { "", 0, true };

		assert_int_equal(recv_raw(&none, &msg, err), -ECONNRESET);
	}
}

static void test_garbage(void **state)
{
	static const char *const texts[] = {
		"not json",
		"[1,2,3]",
		"\"type\"",
		"{\"a\":1}",
		"{\"type\":\"\"}",
		"{\"type\":1}",
		"{\"type\":\"X\"} trailing",
		"{\"type\":\"X\"}{\"type\":\"Y\"}",
		"{\"type\":\"X\"",
		"{'type':'X'}",
		"{\"type\":\"X\",}",
		"{\"type\":\"\xff\xfe\"}",
	};
	struct json_object *msg;
	char err[SVMIG_TLS_ERR_LEN];
	uint8_t frame[64];
	struct raw r = { .p = frame, .close_notify = true };
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		n = strlen(texts[i]);
		memset(frame, 0, 4);
		frame[3] = (uint8_t)n;
		memcpy(frame + 4, texts[i], n);
		r.len = 4 + n;
		if (recv_raw(&r, &msg, err) != -EPROTO)
			fail_msg("accepted: %s", texts[i]);
	}
	/* a NUL inside */
	memcpy(frame, "\0\0\0\x0d{\"type\":\"X\0\"}", 17);
	r.len = 17;
	assert_int_equal(recv_raw(&r, &msg, err), -EPROTO);
}

/* Nothing arrives: the receive times out on time. */
static int script_await_close(struct srv *s, struct svmig_tls_conn *conn)
{
	struct json_object *msg;
	int ret = svmig_msg_recv(conn, T_TIMEOUT, &msg);

	(void)s;
	if (!ret)
		json_object_put(msg);
	return ret == -ECONNRESET ? 0 : -EPROTO;
}

static void test_recv_timeout(void **state)
{
	struct srv s = { .ctx = pki.ctx[ID_B], .script = script_await_close };
	struct svmig_tls_conn *conn;
	struct json_object *msg;
	char err[SVMIG_TLS_ERR_LEN];
	struct timespec t0;
	int fd = srv_start(&s);

	(void)state;
	assert_int_equal(cli_connect(ID_A, fd, "host-b", &conn, err), 0);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	assert_int_equal(svmig_msg_recv(conn, T_SHORT, &msg), -ETIMEDOUT);
	assert_true(ms_since(&t0) >= T_SHORT && ms_since(&t0) < 1000);
	assert_true(contains(svmig_tls_error(conn), "timed out"));
	assert_int_equal(svmig_tls_shutdown(conn, 0), 0);
	cli_close(conn, fd);
	srv_join(&s);
	assert_int_equal(s.script_ret, 0);
	srv_done(&s);
}

/* The peer is gone: writing fails, and raises no SIGPIPE. */
static int script_vanish(struct srv *s, struct svmig_tls_conn *conn)
{
	(void)s;
	(void)conn;
	return 0;
}

static void test_peer_gone(void **state)
{
	struct srv s = { .ctx = pki.ctx[ID_B], .script = script_vanish };
	struct svmig_tls_conn *conn;
	struct json_object *msg;
	char err[SVMIG_TLS_ERR_LEN];
	int fd = srv_start(&s), ret, i;

	(void)state;
	assert_int_equal(cli_connect(ID_A, fd, "host-b", &conn, err), 0);
	srv_join(&s);		/* its end is closed now */
	msg = svmig_msg_new(SVMIG_MSG_REQUEST);
	assert_non_null(msg);
	for (i = 0, ret = 0; i < 4 && !ret; i++)
		ret = svmig_msg_send(conn, msg, T_TIMEOUT);
	json_object_put(msg);
	assert_int_equal(ret, -ECONNRESET);
	assert_true(contains(svmig_tls_error(conn), "TLS write"));
	assert_int_equal(svmig_tls_shutdown(conn, T_TIMEOUT), -ENOTCONN);
	cli_close(conn, fd);
	srv_done(&s);
}

/* ---- hex fields ---- */

static void test_hex_fields(void **state)
{
	static const uint8_t bytes[5] = { 0x00, 0x7f, 0x80, 0xab, 0xff };
	struct json_object *msg = svmig_msg_new("T");
	uint8_t buf[8];
	size_t len;

	(void)state;
	assert_non_null(msg);
	assert_int_equal(svmig_msg_add_hex(msg, "b", bytes, sizeof(bytes)), 0);
	assert_string_equal(json_object_get_string(
				json_object_object_get(msg, "b")), "007f80abff");
	assert_int_equal(svmig_msg_get_hex(msg, "b", buf, 5), 0);
	assert_memory_equal(buf, bytes, 5);
	assert_int_equal(svmig_msg_get_hex(msg, "b", buf, 4), -EMSGSIZE);
	assert_int_equal(svmig_msg_get_hex(msg, "b", buf, 6), -EMSGSIZE);
	assert_int_equal(svmig_msg_get_hex_range(msg, "b", buf, 1, 8, &len), 0);
	assert_int_equal(len, 5);
	assert_int_equal(svmig_msg_get_hex_range(msg, "b", buf, 6, 8, &len),
			 -EMSGSIZE);
	assert_int_equal(svmig_msg_get_hex(msg, "missing", buf, 5), -ENOENT);

	json_object_object_add(msg, "up", json_object_new_string("ABcd"));
	assert_int_equal(svmig_msg_get_hex(msg, "up", buf, 2), 0);
	assert_int_equal(buf[0], 0xab);
	assert_int_equal(buf[1], 0xcd);
	json_object_object_add(msg, "odd", json_object_new_string("abc"));
	assert_int_equal(svmig_msg_get_hex_range(msg, "odd", buf, 0, 8, &len),
			 -EINVAL);
	memset(buf, 0x5a, sizeof(buf));
	json_object_object_add(msg, "bad", json_object_new_string("00zz"));
	assert_int_equal(svmig_msg_get_hex(msg, "bad", buf, 2), -EINVAL);
	assert_int_equal(buf[0], 0x5a);		/* untouched */
	json_object_object_add(msg, "num", json_object_new_int(12));
	assert_int_equal(svmig_msg_get_hex(msg, "num", buf, 1), -EINVAL);
	assert_int_equal(svmig_msg_add_hex(msg, "e", NULL, 0), 0);
	assert_int_equal(svmig_msg_get_hex_range(msg, "e", buf, 0, 8, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(svmig_msg_type(msg), "T");
	assert_null(svmig_msg_type(json_object_object_get(msg, "b")));
	json_object_put(msg);
}

/* ---- revocation lists (crl.h) ---- */

static void write_crl(int ca, X509 *revoked, const char *path)
{
	assert_int_equal(pki_write_crl(pki.ca[ca], pki.ca_key[ca], revoked, path), 0);
}

/* host-a connects to a host-b whose store holds the CRLs @files. */
static int crl_handshake(char *const *files, size_t n, struct srv *s)
{
	struct svmig_tls_ctx *ctx = NULL;
	struct svmig_tls_conn *conn;
	const char *anchors[] = { pki.ca_path[CA_A], pki.ca_path[CA_B] };
	struct svmig_tls_config cfg = {
		.cert_file = pki.cert_path[ID_B], .key_file = pki.key_path[ID_B],
		.anchor_files = anchors, .n_anchor_files = 2,
	};
	char err[SVMIG_TLS_ERR_LEN];
	int fd, ret;

	assert_int_equal(svmig_tls_ctx_new(&cfg, &ctx, err, sizeof(err)), 0);
	assert_int_equal(svmigd_crl_load(svmig_tls_ctx_store(ctx), files, n,
					 err, sizeof(err)), 0);
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	fd = srv_start(s);
	ret = cli_connect(ID_A, fd, "host-b", &conn, err);
	if (!ret) {
		struct json_object *msg = NULL;

		svmig_msg_recv(conn, T_TIMEOUT, &msg);	/* the server's verdict */
		json_object_put(msg);
		svmig_tls_free(conn);
	}
	close(fd);
	srv_join(s);
	srv_done(s);
	svmig_tls_ctx_free(ctx);
	return s->ret;
}

static void test_crl(void **state)
{
	char a_rev[128], a_ok[128], b_ok[128], bad[128], err[256];
	char *files[2];
	X509_STORE *store;
	struct srv s;

	(void)state;
	snprintf(a_rev, sizeof(a_rev), "%s/crl-a-revoked.pem", pki_dir);
	snprintf(a_ok, sizeof(a_ok), "%s/crl-a.pem", pki_dir);
	snprintf(b_ok, sizeof(b_ok), "%s/crl-b.pem", pki_dir);
	snprintf(bad, sizeof(bad), "%s/crl-bad.pem", pki_dir);
	write_crl(CA_A, pki.cert[ID_A], a_rev);
	write_crl(CA_A, NULL, a_ok);
	write_crl(CA_B, NULL, b_ok);

	/* host-a's certificate revoked by its CA: refused */
	files[0] = a_rev;
	files[1] = b_ok;
	assert_int_equal(crl_handshake(files, 2, &s), -EACCES);
	assert_true(contains(s.err, "certificate revoked"));
	/* the same CAs' CRLs without it: accepted */
	files[0] = a_ok;
	assert_int_equal(crl_handshake(files, 2, &s), 0);
	assert_string_equal(s.cn, "host-a");
	/* CRL checking on, but no CRL of host-a's CA: refused */
	files[0] = b_ok;
	assert_int_equal(crl_handshake(files, 1, &s), -EACCES);
	assert_true(contains(s.err, "unable to get certificate CRL"));
	/* no CRL at all: no checking (the default) */
	assert_int_equal(crl_handshake(files, 0, &s), 0);

	/* a file without a CRL is a configuration error */
	store = X509_STORE_new();
	assert_non_null(store);
	files[0] = pki.ca_path[CA_A];
	assert_int_equal(svmigd_crl_load(store, files, 1, err, sizeof(err)), -EINVAL);
	assert_true(contains(err, "no PEM CRL"));
	files[0] = bad;
	assert_int_equal(svmigd_crl_load(store, files, 1, err, sizeof(err)), -EINVAL);
	assert_true(contains(err, "cannot read"));
	X509_STORE_free(store);
	unlink(a_rev);
	unlink(a_ok);
	unlink(b_ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_federation),
		cmocka_unit_test(test_exporter_per_session),
		cmocka_unit_test(test_unknown_client_ca),
		cmocka_unit_test(test_unknown_server_ca),
		cmocka_unit_test(test_wrong_host),
		cmocka_unit_test(test_cn_not_host),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_tls12_client),
		cmocka_unit_test(test_tls12_server),
		cmocka_unit_test(test_handshake_timeout),
		cmocka_unit_test(test_ctx_errors),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_frame_sizes),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_send_refused),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_recv_timeout),
		cmocka_unit_test(test_peer_gone),
		cmocka_unit_test(test_hex_fields),
		cmocka_unit_test(test_crl),
	};

	return cmocka_run_group_tests_name("svmigd_tls", tests, group_setup,
					   group_teardown);
}
