/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tls: svmigd's control connection (Documentation/svmigd.rst, "Protocol"):
 * TLS 1.3 only, mutual X.509 authentication with OpenSSL, over a socket
 * the caller has already connected (or accepted).
 *
 * One struct svmig_tls_ctx per host holds its certificate, its key and
 * its trust anchors (one CA file per provider: federation); the same
 * context both connects and accepts.  Each side verifies the peer's chain
 * against the anchors and nothing else (no system CAs).  The client also
 * checks that the server's certificate names the host it meant to reach:
 * OpenSSL's host check (subjectAltName DNS, or the CN when there is none;
 * no wildcards), and its CN equal to the name, byte for byte (the design's
 * "CN = the host's name").  The server requires a client certificate and
 * hands its CN to the caller, who checks it against the request.
 * Resumption is off: every connection carries both certificates.
 *
 * Functions return 0 on success and a negative errno on failure:
 *   -ETIMEDOUT    the operation did not finish within its timeout
 *   -ECONNRESET   the peer closed the connection (with or without
 *                 close_notify) or reset it
 *   -EACCES       the peer's certificate did not verify (chain, name,
 *                 missing), or the peer's name is unusable
 *   -EPROTO       any other TLS failure, among them the peer refusing us
 *                 with an alert, or a TLS 1.2-only peer
 *   -ENOTCONN     the connection already failed (see below)
 *   -EINVAL, -ENOMEM, -EIO as usual
 * and say what went wrong in words: in @err for the functions that make a
 * context or a connection, in svmig_tls_error() afterwards.  The words
 * name what svmig was doing and carry OpenSSL's error queue
 * (ERR_error_string_n) and the certificate verification result.
 *
 * Timeouts are in milliseconds for the whole call; a negative one waits
 * forever.  The socket is switched to O_NONBLOCK and stays so.  Any failed
 * read or write leaves the connection unusable: every later read or write
 * returns -ENOTCONN at once, and the error stays the first one.  Sends use
 * MSG_NOSIGNAL: a peer that went away never raises SIGPIPE.
 *
 * A connection is used by one thread at a time.
 */
#ifndef SVMIGD_TLS_H
#define SVMIGD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SVMIG_TLS_EXPORTER_LABEL	"EXPORTER-svmig-v1"
#define SVMIG_TLS_EXPORTER_LEN		32	/* E */
#define SVMIG_TLS_FPR_LEN		32	/* SHA-256 of a certificate's DER */
#define SVMIG_TLS_ERR_LEN		1024
#define SVMIG_TLS_VERIFY_DEPTH		4

struct svmig_tls_config {
	const char *cert_file;		/* PEM: the host certificate, then
					   any intermediates */
	const char *key_file;		/* PEM: its private key */
	const char *const *anchor_files; /* PEM: each one or more CA certs */
	size_t n_anchor_files;		/* at least one */
};

struct svmig_tls_ctx;
struct svmig_tls_conn;

/*
 * Loads the certificate, the key (which must match it) and every anchor
 * file.  On failure *ctx stays NULL and @err (if not NULL) says which
 * file and why.
 */
int svmig_tls_ctx_new(const struct svmig_tls_config *cfg,
		      struct svmig_tls_ctx **ctx, char *err, size_t errlen);
/* After every connection made with it is freed. */
void svmig_tls_ctx_free(struct svmig_tls_ctx *ctx);

/* The context's trust store (the anchors), e.g. for CRLs (crl.h). */
X509_STORE *svmig_tls_ctx_store(struct svmig_tls_ctx *ctx);

/*
 * The TLS handshake as the client over the connected socket @fd, expecting
 * a server certificate that names @peer_host.  On failure *conn stays NULL
 * and @err says why.  In TLS 1.3 the client finishes before the server has
 * checked the client's certificate: a refusal of ours shows at the first
 * read (-EPROTO, with the server's alert in the words).
 */
int svmig_tls_connect(struct svmig_tls_ctx *ctx, int fd, const char *peer_host,
		      int timeout_ms, struct svmig_tls_conn **conn,
		      char *err, size_t errlen);

/* The handshake as the server over the accepted socket @fd. */
int svmig_tls_accept(struct svmig_tls_ctx *ctx, int fd, int timeout_ms,
		     struct svmig_tls_conn **conn, char *err, size_t errlen);

/*
 * Sends close_notify, then waits (within @timeout_ms; 0: not at all) for
 * the peer's: 0 once it came, -ETIMEDOUT, -ECONNRESET if the peer closed
 * without one.  Data still arriving meanwhile is discarded.
 */
int svmig_tls_shutdown(struct svmig_tls_conn *conn, int timeout_ms);

/* Frees the connection (without shutdown); the caller closes @fd after. */
void svmig_tls_free(struct svmig_tls_conn *conn);

/* ---- the peer and the session ---- */

/* The peer certificate's CN (verified; exactly one CN, no NUL in it). */
const char *svmig_tls_peer_cn(const struct svmig_tls_conn *conn);
/* The peer's certificate, and its verified chain from it to the anchor. */
X509 *svmig_tls_peer_cert(const struct svmig_tls_conn *conn);
STACK_OF(X509) *svmig_tls_peer_chain(const struct svmig_tls_conn *conn);
/* SHA-256 of the peer certificate's DER. */
int svmig_tls_peer_fingerprint(struct svmig_tls_conn *conn,
			       uint8_t fpr[SVMIG_TLS_FPR_LEN]);
/*
 * E = SSL_export_keying_material(label "EXPORTER-svmig-v1", no context,
 * 32 bytes): equal at both ends of one session, different in any other.
 */
int svmig_tls_exporter(struct svmig_tls_conn *conn,
		       uint8_t e[SVMIG_TLS_EXPORTER_LEN]);

/* ---- bytes (the framing is msg.h's) ---- */

/*
 * Writes all @len bytes; reads exactly @len bytes.  *@done (if not NULL)
 * receives how many were read before a failure, so that a caller can tell
 * a clean end between its frames from a truncated one.
 */
int svmig_tls_write(struct svmig_tls_conn *conn, const void *buf, size_t len,
		    int timeout_ms);
int svmig_tls_read(struct svmig_tls_conn *conn, void *buf, size_t len,
		   int timeout_ms, size_t *done);

/* ---- limits ---- */

/*
 * The largest control frame (msg.h) that the framing layers above may
 * receive on @conn: they refuse a longer one from its length prefix,
 * before allocating anything.  0, a new connection's: msg.h's
 * SVMIG_MSG_MAX.  svmigd holds a connection it accepted to a smaller
 * pre-authentication limit until the peer's certificate names a host of
 * its policy (Documentation/svmigd.rst, "Concurrency and limits").
 */
void svmig_tls_set_frame_max(struct svmig_tls_conn *conn, size_t max);
size_t svmig_tls_frame_max(const struct svmig_tls_conn *conn);

/* ---- errors ---- */

/* The words of the last failure on @conn ("" if none). */
const char *svmig_tls_error(const struct svmig_tls_conn *conn);
/* False once a read or write failed. */
bool svmig_tls_usable(const struct svmig_tls_conn *conn);
/*
 * For the layers above (msg.c): records a failure of theirs on @conn in
 * the same way (the connection becomes unusable) and returns @error.
 * The arguments may include svmig_tls_error(@conn).
 */
int svmig_tls_fail(struct svmig_tls_conn *conn, int error,
		   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif /* SVMIGD_TLS_H */
