/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Throwaway PKI for the unit tests: EC P-256 keys, a CA, certificates it
 * issues, all with OpenSSL's API, and PEM files of them.  Every function
 * returns NULL / -1 on failure (tests assert on it).
 */
#ifndef SVMIG_TEST_PKI_H
#define SVMIG_TEST_PKI_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>

static inline EVP_PKEY *pki_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static inline int pki_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/*
 * A certificate for @key named @cn, issued by @ca/@ca_key, or self-signed
 * as a CA when @ca is NULL.  Leaf certificates carry subjectAltName DNS:cn.
 */
static inline X509 *pki_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key)
{
	static long serial = 1;
	X509 *cert = X509_new();
	X509_NAME *name;

	if (!cert)
		return NULL;
	name = X509_get_subject_name(cert);
	if (!X509_set_version(cert, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -60) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), 86400) ||
	    !X509_set_pubkey(cert, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
					-1, -1, 0) ||
	    !X509_set_issuer_name(cert, ca ? X509_get_subject_name(ca) : name))
		goto fail;
	if (!ca) {
		if (pki_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE") ||
		    pki_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign"))
			goto fail;
	} else {
		char san[300];

		snprintf(san, sizeof(san), "DNS:%s", cn);
		if (pki_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE") ||
		    pki_ext(cert, ca, NID_subject_alt_name, san))
			goto fail;
	}
	if (!X509_sign(cert, ca ? ca_key : key, EVP_sha256()))
		goto fail;
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

static inline int pki_write_cert(const char *path, X509 *cert)
{
	FILE *f = fopen(path, "w");
	int ok = f && PEM_write_X509(f, cert);

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

static inline int pki_write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");
	int ok = f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);

	if (f)
		fclose(f);
	return ok ? 0 : -1;
}

/* A CRL of @ca (key @ca_key) revoking @revoked (or nothing), PEM at @path. */
static inline int pki_write_crl(X509 *ca, EVP_PKEY *ca_key, X509 *revoked,
				const char *path)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	X509_REVOKED *r = NULL;
	FILE *f = NULL;
	int ok;

	ok = crl && t && X509_CRL_set_version(crl, 1) == 1 &&
	     X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) == 1 &&
	     X509_gmtime_adj(t, -60) && X509_CRL_set1_lastUpdate(crl, t) == 1 &&
	     X509_gmtime_adj(t, 86400) && X509_CRL_set1_nextUpdate(crl, t) == 1;
	if (ok && revoked) {
		r = X509_REVOKED_new();
		ok = r && X509_REVOKED_set_serialNumber(r,
				X509_get_serialNumber(revoked)) == 1 &&
		     X509_gmtime_adj(t, -30) &&
		     X509_REVOKED_set_revocationDate(r, t) == 1 &&
		     X509_CRL_add0_revoked(crl, r) == 1;
		if (!ok)
			X509_REVOKED_free(r);
	}
	ok = ok && X509_CRL_sort(crl) == 1 &&
	     X509_CRL_sign(crl, ca_key, EVP_sha256()) > 0 &&
	     (f = fopen(path, "w")) && PEM_write_X509_CRL(f, crl) == 1;
	if (f && fclose(f))
		ok = 0;
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return ok ? 0 : -1;
}

#endif /* SVMIG_TEST_PKI_H */
