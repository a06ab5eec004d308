/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For the control-message harnesses: tls.h's connection functions over a
 * buffer in memory instead of a TLS session, so that the fuzzer's bytes
 * are what the peer "sent" and each input costs no handshake (a TLS 1.3
 * handshake per input would cut the rate a hundredfold).  The contract
 * the code under test relies on is kept: reads return exactly the bytes
 * asked for or fail with how many came, the peer's end is -ECONNRESET,
 * any failure leaves the connection unusable with its first words, writes
 * are swallowed.  The peer is "host-b" with a fixed certificate whose key
 * the harness holds (tls_mem_peer_key), so it can sign as the peer.
 *
 * Include in exactly one translation unit: it defines tls.h's functions,
 * and libsvmigd's tls.o is then never linked.
 */
#ifndef SVMIG_FUZZ_TLS_MEM_H
#define SVMIG_FUZZ_TLS_MEM_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls.h"

#define TLS_MEM_PEER	"host-b"

struct svmig_tls_conn {
	const uint8_t *in;
	size_t in_len, in_off;
	size_t written;
	bool broken;
	char err[SVMIG_TLS_ERR_LEN];
	X509 *cert;
	size_t frame_max;
};

static EVP_PKEY *tls_mem_peer_key;
static X509 *tls_mem_peer_cert;

/* The peer's key and self-signed certificate, made once. */
static void tls_mem_init(void)
{
	X509_NAME *name;

	if (tls_mem_peer_cert)
		return;
	tls_mem_peer_key = EVP_EC_gen("P-256");
	tls_mem_peer_cert = X509_new();
	if (!tls_mem_peer_key || !tls_mem_peer_cert)
		abort();
	X509_set_version(tls_mem_peer_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(tls_mem_peer_cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(tls_mem_peer_cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(tls_mem_peer_cert), 86400);
	X509_set_pubkey(tls_mem_peer_cert, tls_mem_peer_key);
	name = X509_get_subject_name(tls_mem_peer_cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)TLS_MEM_PEER, -1, -1, 0);
	X509_set_issuer_name(tls_mem_peer_cert, name);
	if (!X509_sign(tls_mem_peer_cert, tls_mem_peer_key, EVP_sha256()))
		abort();
}

static void tls_mem_open(struct svmig_tls_conn *c, const uint8_t *in,
			 size_t len)
{
	memset(c, 0, sizeof(*c));
	c->in = in;
	c->in_len = len;
	c->cert = tls_mem_peer_cert;
}

int svmig_tls_fail(struct svmig_tls_conn *conn, int error, const char *fmt, ...)
{
	va_list ap;

	if (!conn->broken) {
		va_start(ap, fmt);
		vsnprintf(conn->err, sizeof(conn->err), fmt, ap);
		va_end(ap);
		conn->broken = true;
	}
	return error;
}

const char *svmig_tls_error(const struct svmig_tls_conn *conn)
{
	return conn->err;
}

bool svmig_tls_usable(const struct svmig_tls_conn *conn)
{
	return conn && !conn->broken;
}

int svmig_tls_write(struct svmig_tls_conn *conn, const void *buf, size_t len,
		    int timeout_ms)
{
	(void)buf;
	(void)timeout_ms;
	if (conn->broken)
		return -ENOTCONN;
	conn->written += len;
	return 0;
}

int svmig_tls_read(struct svmig_tls_conn *conn, void *buf, size_t len,
		   int timeout_ms, size_t *done)
{
	size_t n;

	(void)timeout_ms;
	if (done)
		*done = 0;
	if (conn->broken)
		return -ENOTCONN;
	n = conn->in_len - conn->in_off;
	if (n > len)
		n = len;
	memcpy(buf, conn->in + conn->in_off, n);
	conn->in_off += n;
	if (done)
		*done = n;
	if (n < len)
		return svmig_tls_fail(conn, -ECONNRESET,
				      "the peer closed the connection");
	return 0;
}

void svmig_tls_set_frame_max(struct svmig_tls_conn *conn, size_t max)
{
	if (conn)
		conn->frame_max = max;
}

size_t svmig_tls_frame_max(const struct svmig_tls_conn *conn)
{
	return conn ? conn->frame_max : 0;
}

int svmig_tls_shutdown(struct svmig_tls_conn *conn, int timeout_ms)
{
	(void)conn;
	(void)timeout_ms;
	return 0;
}

void svmig_tls_free(struct svmig_tls_conn *conn)
{
	(void)conn;
}

const char *svmig_tls_peer_cn(const struct svmig_tls_conn *conn)
{
	(void)conn;
	return TLS_MEM_PEER;
}

X509 *svmig_tls_peer_cert(const struct svmig_tls_conn *conn)
{
	return conn->cert;
}

STACK_OF(X509) *svmig_tls_peer_chain(const struct svmig_tls_conn *conn)
{
	(void)conn;
	return NULL;
}

int svmig_tls_peer_fingerprint(struct svmig_tls_conn *conn,
			       uint8_t fpr[SVMIG_TLS_FPR_LEN])
{
	unsigned int n = SVMIG_TLS_FPR_LEN;

	return X509_digest(conn->cert, EVP_sha256(), fpr, &n) == 1 ? 0 : -EIO;
}

int svmig_tls_exporter(struct svmig_tls_conn *conn,
		       uint8_t e[SVMIG_TLS_EXPORTER_LEN])
{
	(void)conn;
	memset(e, 0xe5, SVMIG_TLS_EXPORTER_LEN);
	return 0;
}

#endif /* SVMIG_FUZZ_TLS_MEM_H */
