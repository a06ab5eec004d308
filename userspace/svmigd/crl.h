/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Certificate revocation lists (svmigd.conf [trust] crls): PEM CRLs added
 * to a trust store with revocation checking on (X509_V_FLAG_CRL_CHECK),
 * for the TLS peers' chains (the TLS context's store) and the operators'
 * (the operator anchors).  With it, a leaf certificate is refused when
 * its issuer's CRL lists it ("certificate revoked") and when no CRL of
 * its issuer is loaded ("unable to get certificate CRL"): every CA that
 * issues host or operator certificates must have a CRL in the list.  A
 * CRL whose signature does not verify or that has expired refuses the
 * chain too (OpenSSL's checks).  CRLs are read at start only.
 */
#ifndef SVMIGD_CRL_H
#define SVMIGD_CRL_H

#include <stddef.h>

#include <openssl/x509.h>

/*
 * Adds every CRL of the PEM files @files[0 .. @n) to @store and turns on
 * CRL checking; @n == 0 does nothing.  0, or -EINVAL (a file without a
 * CRL, unreadable) / -ENOMEM with a sentence in @err.
 */
int svmigd_crl_load(X509_STORE *store, char *const *files, size_t n,
		    char *err, size_t errlen);

#endif /* SVMIGD_CRL_H */
