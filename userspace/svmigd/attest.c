// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: svmigctl attest: a peer's quote, verified, and everything the
 * verdict rests on.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <syslog.h>

#include <openssl/bio.h>

#include "daemon_int.h"
#include "policy.h"
#include "tpm.h"
#include "util.h"

/* @key: an X.509 name in RFC 2253 (controls and non-ASCII escaped). */
static void add_x509_name(struct json_object *o, const char *key,
			  const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(b, &p)) > 0 && n < INT_MAX)
		json_object_object_add(o, key,
				       json_object_new_string_len(p, (int)n));
	BIO_free(b);
}

/* The peer's verified certificate: names, fingerprint, expiry. */
static void attest_cert(struct json_object *o, struct svmig_tls_conn *conn)
{
	X509 *cert = svmig_tls_peer_cert(conn);
	uint8_t fpr[SVMIG_TLS_FPR_LEN];
	struct json_object *c;
	BIO *b;
	char *p;
	long n;

	if (!cert)
		return;
	c = json_object_new_object();
	add_x509_name(c, "subject", X509_get_subject_name(cert));
	add_x509_name(c, "issuer", X509_get_issuer_name(cert));
	if (!svmig_tls_peer_fingerprint(conn, fpr))
		add_hex32(c, "sha256", fpr);
	b = BIO_new(BIO_s_mem());
	if (b && ASN1_TIME_print(b, X509_get0_notAfter(cert)) &&
	    (n = BIO_get_mem_data(b, &p)) > 0 && n < INT_MAX)
		json_object_object_add(c, "not_after",
				       json_object_new_string_len(p, (int)n));
	BIO_free(b);
	json_object_object_add(o, "certificate", c);
}

static const uint8_t *pcr_value(const struct svmigd_tpm_pcrs *p,
				unsigned int idx)
{
	unsigned int i;

	for (i = 0; i < p->count && i < SVMIGD_TPM_PCR_COUNT; i++)
		if (p->index[i] == idx)
			return p->value[i];
	return NULL;
}

/* [{"index":N,"value":..,"reference":..,"match":..}]: quoted, reference. */
static struct json_object *attest_pcrs(const struct svmigd_attestation *a)
{
	struct json_object *arr = json_object_new_array();
	unsigned int i;

	for (i = 0; arr && i < SVMIGD_TPM_PCR_COUNT; i++) {
		const uint8_t *v = a->have_pcrs ? pcr_value(&a->pcrs, i) : NULL;
		const uint8_t *r = a->known ? pcr_value(&a->reference, i) :
				   NULL;
		struct json_object *e;

		if (!v && !r)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "index", json_object_new_int((int)i));
		if (v)
			add_hex32(e, "value", v);
		if (r)
			add_hex32(e, "reference", r);
		json_object_object_add(e, "match", json_object_new_boolean(
			v && r && !memcmp(v, r, SVMIGD_TPM_DIGEST_LEN)));
		json_object_array_add(arr, e);
	}
	return arr;
}

/* svmigctl attest's result: the verdict and everything it rests on. */
static struct json_object *attest_json(const char *peer, const char *addr,
				       struct svmig_tls_conn *conn,
				       const struct svmigd_attestation *a,
				       int ret, const char *err)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "type", "result");
	json_object_object_add(o, "ok", json_object_new_boolean(!ret));
	if (ret)
		add_str(o, "error", err);
	if (peer[0])
		add_str(o, "peer", peer);
	if (addr[0])
		add_str(o, "address", addr);
	add_str(o, "verdict", !ret ? "trusted" :
		ret == -EACCES || ret == -ECONNABORTED ? "refused" : "failed");
	if (conn)
		attest_cert(o, conn);
	if (a->have_ak)
		add_hex32(o, "ak_sha256", a->ak_sha256);
	if (a->known)
		add_hex32(o, "ak_reference", a->ak_reference);
	if (a->have_ak && a->known)
		json_object_object_add(o, "ak_match", json_object_new_boolean(
			!memcmp(a->ak_sha256, a->ak_reference,
				SVMIGD_SHA256_LEN)));
	if (a->have_quote) {
		add_hex32(o, "quote_sha256", a->quote_sha256);
		add_hex32(o, "nonce", a->nonce);
	}
	if (a->known || a->have_pcrs)
		json_object_object_add(o, "pcrs", attest_pcrs(a));
	return o;
}

/* TLS to @peer at its --peer address, if it is a host of the policy. */
static int attest_connect(struct daemon *d, const char *peer, char *ctl,
			  size_t clen, int *fd, struct svmig_tls_conn **conn,
			  char *err, size_t errlen)
{
	char data[300];

	if (!svmigd_policy_host(d->policy, peer))
		return svmigd_fail(err, errlen, -EACCES,
				   "%s is not a host of the policy: no reference values to check it against",
				   peer);
	if (peer_addrs(d, peer, ctl, clen, data, sizeof(data))) {
		ctl[0] = '\0';
		return svmigd_fail(err, errlen, -ENOENT,
				   "no address for %s (svmigd --peer %s=HOST:PORT)",
				   peer, peer);
	}
	*fd = tcp_connect(ctl, IO_TIMEOUT_MS);
	if (*fd < 0)
		return svmigd_fail(err, errlen, -errno,
				   "cannot connect to %s at %s: %s", peer, ctl,
				   svmigd_strerror(errno));
	return svmig_tls_connect(d->tls, *fd, peer, IO_TIMEOUT_MS, conn, err,
				 errlen);
}

/* {"cmd":"attest","peer":NAME}: the peer's quote, verified (session.h). */
void serve_attest(struct daemon *d, int client, struct json_object *req)
{
	struct svmigd_attestation a;
	struct svmig_tls_conn *conn = NULL;
	struct json_object *v, *o;
	char err[SVMIG_TLS_ERR_LEN], ctl[300] = "";
	const char *peer = NULL;
	int fd = -1, ret;

	memset(&a, 0, sizeof(a));
	if (json_object_object_get_ex(req, "peer", &v) &&
	    json_object_is_type(v, json_type_string))
		peer = json_object_get_string(v);
	if (!peer || !svmigd_valid_host_name(peer)) {
		peer = "";
		ret = svmigd_fail(err, sizeof(err), -EINVAL,
				  "attest: no valid peer name");
	} else {
		ret = attest_connect(d, peer, ctl, sizeof(ctl), &fd, &conn,
				     err, sizeof(err));
	}
	if (!ret)
		ret = svmigd_session_attest_peer(conn, &d->scfg, &a, err,
						 sizeof(err));
	if (!ret)
		svmig_tls_shutdown(conn, 2000);
	logp_(LOG_INFO, "attest %s: %s%s", peer, ret ? "not trusted: " : "trusted",
	      ret ? err : "");
	o = attest_json(peer, ctl, conn, &a, ret, err);
	ctl_send(client, o);
	json_object_put(o);
	svmig_tls_free(conn);
	close_fd(&fd);
}
