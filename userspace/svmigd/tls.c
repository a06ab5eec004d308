// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd's control connection: TLS 1.3, mutual X.509 (see tls.h).
 *
 * The socket is non-blocking and every OpenSSL call that wants to read or
 * write waits in poll() for what is left of the call's deadline.  The
 * socket sits under a small BIO of ours rather than OpenSSL's socket BIO
 * only so that sends carry MSG_NOSIGNAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "util.h"

struct svmig_tls_ctx {
	SSL_CTX *ssl_ctx;
	BIO_METHOD *bio_method;
};

struct svmig_tls_conn {
	SSL *ssl;
	int fd;
	bool broken;		/* a read or write failed */
	bool fatal;		/* OpenSSL failed: no close_notify either */
	char *peer_cn;
	size_t frame_max;	/* svmig_tls_frame_max(); 0: the framing's own */
	char err[SVMIG_TLS_ERR_LEN];
};

void svmig_tls_set_frame_max(struct svmig_tls_conn *conn, size_t max)
{
	if (conn)
		conn->frame_max = max;
}

size_t svmig_tls_frame_max(const struct svmig_tls_conn *conn)
{
	return conn ? conn->frame_max : 0;
}

/* ---- errors ---- */

static void vset_error(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (buf && len)
		vsnprintf(buf, len, fmt, ap);
}

static void set_error(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_error(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_error(buf, len, fmt, ap);
	va_end(ap);
}

/* Appends @s to the string in @buf, as far as it fits. */
static void append(char *buf, size_t len, const char *s)
{
	size_t used = strnlen(buf, len);

	if (used + 1 < len)
		snprintf(buf + used, len - used, "%s", s);
}

/* Empties OpenSSL's error queue into @buf, entries joined by "; ". */
static void append_queue(char *buf, size_t len)
{
	char one[256];
	unsigned long e;
	bool first = true;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		append(buf, len, first ? ": " : "; ");
		append(buf, len, one);
		first = false;
	}
}

/* "@what: <OpenSSL's queue>" */
static int ossl_error(char *buf, size_t len, int error, const char *what)
{
	set_error(buf, len, "%s", what);
	append_queue(buf, len);
	return error;
}

/* The words may quote svmig_tls_error(conn): made aside, then copied. */
int svmig_tls_fail(struct svmig_tls_conn *conn, int error, const char *fmt, ...)
{
	char words[SVMIG_TLS_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vset_error(words, sizeof(words), fmt, ap);
	va_end(ap);
	memcpy(conn->err, words, sizeof(words));
	conn->broken = true;
	return error;
}

const char *svmig_tls_error(const struct svmig_tls_conn *conn)
{
	return conn->err;
}

bool svmig_tls_usable(const struct svmig_tls_conn *conn)
{
	return !conn->broken;
}

/* ---- the socket BIO: recv/send, MSG_NOSIGNAL ---- */

static int bio_write_ex(BIO *b, const char *buf, size_t len, size_t *written)
{
	struct svmig_tls_conn *conn = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = send(conn->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_write(b);
		return 0;
	}
	*written = (size_t)n;
	return 1;
}

static int bio_read_ex(BIO *b, char *buf, size_t len, size_t *nread)
{
	struct svmig_tls_conn *conn = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = recv(conn->fd, buf, len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_read(b);
		return 0;
	}
	if (n == 0) {
		BIO_set_flags(b, BIO_FLAGS_IN_EOF);
		return 0;
	}
	*nread = (size_t)n;
	return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct svmig_tls_conn *conn = BIO_get_data(b);

	(void)num;
	switch (cmd) {
	case BIO_C_GET_FD:
		if (ptr)
			*(int *)ptr = conn->fd;
		return conn->fd;
	case BIO_CTRL_EOF:
		return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
	case BIO_CTRL_FLUSH:
		return 1;
	default:
		return 0;
	}
}

/* One per context: every connection of it uses it. */
static BIO_METHOD *bio_method_new(void)
{
	BIO_METHOD *m;
	int type = BIO_get_new_index();

	if (type == -1)
		return NULL;
	m = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
			 "svmig socket");
	if (!m)
		return NULL;
	if (!BIO_meth_set_write_ex(m, bio_write_ex) ||
	    !BIO_meth_set_read_ex(m, bio_read_ex) ||
	    !BIO_meth_set_ctrl(m, bio_ctrl)) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

static BIO *bio_new(struct svmig_tls_ctx *ctx, struct svmig_tls_conn *conn)
{
	BIO *b = BIO_new(ctx->bio_method);

	if (!b)
		return NULL;
	BIO_set_data(b, conn);
	BIO_set_init(b, 1);
	return b;
}

/* ---- the context ---- */

static int load_anchors(SSL_CTX *sctx, const struct svmig_tls_config *cfg,
			char *err, size_t errlen)
{
	char what[512];
	size_t i;

	if (!cfg->n_anchor_files) {
		set_error(err, errlen, "no trust anchor file");
		return -EINVAL;
	}
	for (i = 0; i < cfg->n_anchor_files; i++) {
		if (SSL_CTX_load_verify_file(sctx, cfg->anchor_files[i]) == 1)
			continue;
		snprintf(what, sizeof(what), "loading trust anchors %s",
			 cfg->anchor_files[i]);
		return ossl_error(err, errlen, -EINVAL, what);
	}
	return 0;
}

static int load_identity(SSL_CTX *sctx, const struct svmig_tls_config *cfg,
			 char *err, size_t errlen)
{
	char what[512];

	if (SSL_CTX_use_certificate_chain_file(sctx, cfg->cert_file) != 1) {
		snprintf(what, sizeof(what), "loading certificate %s",
			 cfg->cert_file);
		return ossl_error(err, errlen, -EINVAL, what);
	}
	if (SSL_CTX_use_PrivateKey_file(sctx, cfg->key_file,
					SSL_FILETYPE_PEM) != 1) {
		snprintf(what, sizeof(what), "loading key %s", cfg->key_file);
		return ossl_error(err, errlen, -EINVAL, what);
	}
	if (SSL_CTX_check_private_key(sctx) != 1) {
		snprintf(what, sizeof(what), "key %s does not match certificate %s",
			 cfg->key_file, cfg->cert_file);
		return ossl_error(err, errlen, -EINVAL, what);
	}
	return 0;
}

/* TLS 1.3 only, peer certificates required both ways, no resumption. */
static int set_policy(SSL_CTX *sctx, char *err, size_t errlen)
{
	if (SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION) != 1)
		return ossl_error(err, errlen, -EIO, "requiring TLS 1.3");
	SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(sctx, SVMIG_TLS_VERIFY_DEPTH);
	SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
	if (SSL_CTX_set_num_tickets(sctx, 0) != 1)
		return ossl_error(err, errlen, -EIO, "turning session tickets off");
	return 0;
}

int svmig_tls_ctx_new(const struct svmig_tls_config *cfg,
		      struct svmig_tls_ctx **ctx, char *err, size_t errlen)
{
	struct svmig_tls_ctx *c;
	int ret;

	*ctx = NULL;
	if (!cfg || !cfg->cert_file || !cfg->key_file || !cfg->anchor_files) {
		set_error(err, errlen, "TLS configuration incomplete");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		set_error(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ERR_clear_error();
	c->ssl_ctx = SSL_CTX_new(TLS_method());
	c->bio_method = bio_method_new();
	if (!c->ssl_ctx || !c->bio_method) {
		ret = ossl_error(err, errlen, -ENOMEM, "creating TLS context");
		goto fail;
	}
	ret = set_policy(c->ssl_ctx, err, errlen);
	if (ret)
		goto fail;
	ret = load_identity(c->ssl_ctx, cfg, err, errlen);
	if (ret)
		goto fail;
	ret = load_anchors(c->ssl_ctx, cfg, err, errlen);
	if (ret)
		goto fail;
	*ctx = c;
	return 0;
fail:
	svmig_tls_ctx_free(c);
	return ret;
}

void svmig_tls_ctx_free(struct svmig_tls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	BIO_meth_free(ctx->bio_method);
	free(ctx);
}

/* ---- waiting ---- */

/* Deadlines are CLOCK_MONOTONIC nanoseconds; -1: none. */
static long long now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return 0;	/* cannot happen with CLOCK_MONOTONIC */
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long long deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ns() + timeout_ms * 1000000LL;
}

/* What is left until @deadline for poll(): rounded up, never early. */
static int poll_ms(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = (deadline - now_ns() + 999999) / 1000000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Waits until the socket can do what OpenSSL asked for (@want, from
 * SSL_get_error), at most until @deadline: 0, -ETIMEDOUT or -errno.
 */
static int wait_io(struct svmig_tls_conn *conn, int want, long long deadline)
{
	struct pollfd pfd = {
		.fd = conn->fd,
		.events = want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN,
	};
	int ms, n;

	for (;;) {
		ms = poll_ms(deadline);
		if (deadline >= 0 && ms <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0;	/* readable, writable, or an error to see */
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static bool wants_io(int sslerr)
{
	return sslerr == SSL_ERROR_WANT_READ || sslerr == SSL_ERROR_WANT_WRITE;
}

static bool ssl_reason(int reason)
{
	unsigned long e = ERR_peek_error();

	return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == reason;
}

/* A system error that means the peer is gone (0: plain EOF). */
static bool gone(int error)
{
	return !error || error == EPIPE || error == ECONNRESET;
}

/*
 * Records why an OpenSSL call failed with @sslerr while svmig was doing
 * @what, and returns the errno for it.
 */
static int ssl_failure(struct svmig_tls_conn *conn, int sslerr,
		       const char *what)
{
	int saved = errno;
	long vr;

	conn->broken = true;
	if (sslerr == SSL_ERROR_ZERO_RETURN)
		return svmig_tls_fail(conn, -ECONNRESET,
				      "%s: the peer closed the connection", what);
	conn->fatal = true;
	if (sslerr == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		return svmig_tls_fail(conn, gone(saved) ? -ECONNRESET : -saved,
				      "%s: %s", what, saved ? svmigd_strerror(saved) :
				      "the peer closed the connection");
	if (ssl_reason(SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		ERR_clear_error();
		return svmig_tls_fail(conn, -ECONNRESET,
				      "%s: the peer closed the connection without close_notify",
				      what);
	}
	if (ssl_reason(SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE))
		return ossl_error(conn->err, sizeof(conn->err), -EACCES, what);
	ossl_error(conn->err, sizeof(conn->err), 0, what);
	vr = SSL_get_verify_result(conn->ssl);
	if (vr == X509_V_OK)
		return -EPROTO;
	append(conn->err, sizeof(conn->err), " (peer certificate: ");
	append(conn->err, sizeof(conn->err), X509_verify_cert_error_string(vr));
	append(conn->err, sizeof(conn->err), ")");
	return -EACCES;
}

static int io_timeout(struct svmig_tls_conn *conn, int ret, const char *what)
{
	if (ret == -ETIMEDOUT)
		return svmig_tls_fail(conn, ret, "%s: timed out", what);
	return svmig_tls_fail(conn, ret, "%s: poll: %s", what, svmigd_strerror(-ret));
}

/* ---- the handshake ---- */

static int conn_new(struct svmig_tls_ctx *ctx, int fd,
		    struct svmig_tls_conn **out, char *err, size_t errlen)
{
	struct svmig_tls_conn *conn;
	BIO *bio;
	int flags;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		flags = errno;
		set_error(err, errlen, "making the socket non-blocking: %s",
			  svmigd_strerror(flags));
		return -flags;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn)
		goto nomem;
	conn->fd = fd;
	ERR_clear_error();
	conn->ssl = SSL_new(ctx->ssl_ctx);
	if (!conn->ssl)
		goto nomem;
	bio = bio_new(ctx, conn);
	if (!bio)
		goto nomem;
	SSL_set_bio(conn->ssl, bio, bio);
	*out = conn;
	return 0;
nomem:
	svmig_tls_free(conn);
	return ossl_error(err, errlen, -ENOMEM, "creating a TLS connection");
}

/* The peer's only CN, copied; no CN, several, or one with a NUL: refused. */
static int take_peer_cn(struct svmig_tls_conn *conn, X509 *cert,
			const char *what)
{
	X509_NAME *name = X509_get_subject_name(cert);
	unsigned char *utf8;
	int i, len;

	i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return svmig_tls_fail(conn, -EACCES,
				      "%s: peer certificate has %s CN", what,
				      i < 0 ? "no" : "more than one");
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
					  X509_NAME_get_entry(name, i)));
	if (len < 0)
		return ossl_error(conn->err, sizeof(conn->err), -EACCES,
				  "reading the peer certificate's CN");
	if (len == 0 || strlen((char *)utf8) != (size_t)len) {
		OPENSSL_free(utf8);
		return svmig_tls_fail(conn, -EACCES,
				      "%s: peer certificate's CN is empty or has a NUL",
				      what);
	}
	conn->peer_cn = strdup((char *)utf8);
	OPENSSL_free(utf8);
	if (!conn->peer_cn)
		return svmig_tls_fail(conn, -ENOMEM, "out of memory");
	return 0;
}

/*
 * What a finished handshake must have: TLS 1.3, a verified peer with a
 * CN, and on the client, the CN of the host it meant to reach (OpenSSL
 * checked the subjectAltName already: both must name it).
 */
static int check_peer(struct svmig_tls_conn *conn, const char *peer_host,
		      const char *what)
{
	X509 *cert = SSL_get0_peer_certificate(conn->ssl);
	long vr = SSL_get_verify_result(conn->ssl);
	int ret;

	if (SSL_version(conn->ssl) != TLS1_3_VERSION)
		return svmig_tls_fail(conn, -EPROTO, "%s: negotiated %s, not TLS 1.3",
				      what, SSL_get_version(conn->ssl));
	if (!cert)
		return svmig_tls_fail(conn, -EACCES, "%s: peer sent no certificate",
				      what);
	if (vr != X509_V_OK)
		return svmig_tls_fail(conn, -EACCES, "%s: peer certificate: %s",
				      what, X509_verify_cert_error_string(vr));
	ret = take_peer_cn(conn, cert, what);
	if (ret)
		return ret;
	if (peer_host && strcmp(conn->peer_cn, peer_host))
		return svmig_tls_fail(conn, -EACCES,
				      "%s: peer certificate is for CN %.255s, not %s",
				      what, conn->peer_cn, peer_host);
	return 0;
}

static int handshake(struct svmig_tls_conn *conn, const char *peer_host,
		     int timeout_ms, const char *what)
{
	long long deadline = deadline_of(timeout_ms);
	int ret, sslerr;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		ret = SSL_do_handshake(conn->ssl);
		if (ret == 1)
			return check_peer(conn, peer_host, what);
		sslerr = SSL_get_error(conn->ssl, ret);
		if (!wants_io(sslerr))
			return ssl_failure(conn, sslerr, what);
		ret = wait_io(conn, sslerr, deadline);
		if (ret)
			return io_timeout(conn, ret, what);
	}
}

/* Hands the handshake's outcome to the caller. */
static int finish(struct svmig_tls_conn *conn, int ret,
		  struct svmig_tls_conn **out, char *err, size_t errlen)
{
	if (!ret) {
		*out = conn;
		return 0;
	}
	set_error(err, errlen, "%s", conn->err);
	svmig_tls_free(conn);
	return ret;
}

int svmig_tls_connect(struct svmig_tls_ctx *ctx, int fd, const char *peer_host,
		      int timeout_ms, struct svmig_tls_conn **out,
		      char *err, size_t errlen)
{
	struct svmig_tls_conn *conn;
	char what[320];
	int ret;

	*out = NULL;
	if (!peer_host || !*peer_host || strlen(peer_host) > 255) {
		set_error(err, errlen, "TLS connect: bad peer host name");
		return -EINVAL;
	}
	ret = conn_new(ctx, fd, &conn, err, errlen);
	if (ret)
		return ret;
	SSL_set_connect_state(conn->ssl);
	SSL_set_hostflags(conn->ssl, X509_CHECK_FLAG_NO_WILDCARDS);
	if (SSL_set1_host(conn->ssl, peer_host) != 1 ||
	    SSL_set_tlsext_host_name(conn->ssl, peer_host) != 1) {
		ret = ossl_error(conn->err, sizeof(conn->err), -EINVAL,
				 "TLS connect: setting the peer host name");
		return finish(conn, ret, out, err, errlen);
	}
	snprintf(what, sizeof(what), "TLS handshake with %s", peer_host);
	ret = handshake(conn, peer_host, timeout_ms, what);
	return finish(conn, ret, out, err, errlen);
}

int svmig_tls_accept(struct svmig_tls_ctx *ctx, int fd, int timeout_ms,
		     struct svmig_tls_conn **out, char *err, size_t errlen)
{
	struct svmig_tls_conn *conn;
	int ret;

	*out = NULL;
	ret = conn_new(ctx, fd, &conn, err, errlen);
	if (ret)
		return ret;
	SSL_set_accept_state(conn->ssl);
	ret = handshake(conn, NULL, timeout_ms, "TLS handshake with a client");
	return finish(conn, ret, out, err, errlen);
}

/* ---- bytes ---- */

int svmig_tls_write(struct svmig_tls_conn *conn, const void *buf, size_t len,
		    int timeout_ms)
{
	long long deadline = deadline_of(timeout_ms);
	size_t n;
	int ret, sslerr;

	if (conn->broken)
		return -ENOTCONN;
	while (len) {
		ERR_clear_error();
		errno = 0;
		ret = SSL_write_ex(conn->ssl, buf, len, &n);
		if (ret == 1) {
			buf = (const char *)buf + n;
			len -= n;
			continue;
		}
		sslerr = SSL_get_error(conn->ssl, ret);
		if (!wants_io(sslerr))
			return ssl_failure(conn, sslerr, "TLS write");
		ret = wait_io(conn, sslerr, deadline);
		if (ret)
			return io_timeout(conn, ret, "TLS write");
	}
	return 0;
}

int svmig_tls_read(struct svmig_tls_conn *conn, void *buf, size_t len,
		   int timeout_ms, size_t *done)
{
	long long deadline = deadline_of(timeout_ms);
	size_t got = 0, n;
	int ret = 0, sslerr;

	if (conn->broken) {
		ret = -ENOTCONN;
		goto out;
	}
	while (got < len) {
		ERR_clear_error();
		errno = 0;
		if (SSL_read_ex(conn->ssl, (char *)buf + got, len - got, &n) == 1) {
			got += n;
			continue;
		}
		sslerr = SSL_get_error(conn->ssl, 0);
		if (!wants_io(sslerr)) {
			ret = ssl_failure(conn, sslerr, "TLS read");
			goto out;
		}
		ret = wait_io(conn, sslerr, deadline);
		if (ret) {
			ret = io_timeout(conn, ret, "TLS read");
			goto out;
		}
	}
out:
	if (done)
		*done = got;
	return ret;
}

/* ---- the end ---- */

/* Reads and drops data until the peer's close_notify (or a failure). */
static int await_close_notify(struct svmig_tls_conn *conn, long long deadline)
{
	char sink[4096];
	size_t n;
	int ret, sslerr;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if (SSL_read_ex(conn->ssl, sink, sizeof(sink), &n) == 1)
			continue;
		sslerr = SSL_get_error(conn->ssl, 0);
		if (sslerr == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (!wants_io(sslerr))
			return ssl_failure(conn, sslerr, "TLS shutdown");
		ret = wait_io(conn, sslerr, deadline);
		if (ret)
			return io_timeout(conn, ret, "TLS shutdown");
	}
}

int svmig_tls_shutdown(struct svmig_tls_conn *conn, int timeout_ms)
{
	long long deadline = deadline_of(timeout_ms);
	int ret, sslerr;

	if (conn->fatal)
		return -ENOTCONN;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		ret = SSL_shutdown(conn->ssl);
		if (ret == 1)
			return 0;	/* both close_notify done */
		if (ret == 0)
			break;		/* ours sent */
		sslerr = SSL_get_error(conn->ssl, ret);
		if (!wants_io(sslerr))
			return ssl_failure(conn, sslerr, "TLS shutdown");
		ret = wait_io(conn, sslerr, deadline);
		if (ret)
			return io_timeout(conn, ret, "TLS shutdown");
	}
	conn->broken = true;
	if (!timeout_ms)
		return 0;
	return await_close_notify(conn, deadline);
}

void svmig_tls_free(struct svmig_tls_conn *conn)
{
	if (!conn)
		return;
	SSL_free(conn->ssl);
	free(conn->peer_cn);
	free(conn);
}

/* ---- the peer and the session ---- */

X509_STORE *svmig_tls_ctx_store(struct svmig_tls_ctx *ctx)
{
	return ctx ? SSL_CTX_get_cert_store(ctx->ssl_ctx) : NULL;
}

const char *svmig_tls_peer_cn(const struct svmig_tls_conn *conn)
{
	return conn->peer_cn;
}

X509 *svmig_tls_peer_cert(const struct svmig_tls_conn *conn)
{
	return SSL_get0_peer_certificate(conn->ssl);
}

STACK_OF(X509) *svmig_tls_peer_chain(const struct svmig_tls_conn *conn)
{
	return SSL_get0_verified_chain(conn->ssl);
}

int svmig_tls_peer_fingerprint(struct svmig_tls_conn *conn,
			       uint8_t fpr[SVMIG_TLS_FPR_LEN])
{
	X509 *cert = SSL_get0_peer_certificate(conn->ssl);
	unsigned int len = 0;

	if (!cert)
		return -ENOENT;
	ERR_clear_error();
	if (X509_digest(cert, EVP_sha256(), fpr, &len) != 1 ||
	    len != SVMIG_TLS_FPR_LEN) {
		ossl_error(conn->err, sizeof(conn->err), 0,
			   "fingerprinting the peer certificate");
		return -EIO;
	}
	return 0;
}

int svmig_tls_exporter(struct svmig_tls_conn *conn,
		       uint8_t e[SVMIG_TLS_EXPORTER_LEN])
{
	static const char label[] = SVMIG_TLS_EXPORTER_LABEL;

	ERR_clear_error();
	if (SSL_export_keying_material(conn->ssl, e, SVMIG_TLS_EXPORTER_LEN,
				       label, sizeof(label) - 1,
				       NULL, 0, 0) != 1) {
		ossl_error(conn->err, sizeof(conn->err), 0,
			   "exporting keying material");
		return -EIO;
	}
	return 0;
}
