// SPDX-License-Identifier: GPL-2.0
/*
 * Certificate revocation lists.  See crl.h.
 */
#include <errno.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "crl.h"

static int crl_file(X509_STORE *store, const char *path, char *err,
		    size_t errlen)
{
	BIO *bio = BIO_new_file(path, "r");
	X509_CRL *crl;
	int n = 0;

	if (!bio) {
		snprintf(err, errlen, "%s: cannot read", path);
		ERR_clear_error();
		return -EINVAL;
	}
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			BIO_free(bio);
			snprintf(err, errlen, "%s: out of memory", path);
			ERR_clear_error();
			return -ENOMEM;
		}
		X509_CRL_free(crl);	/* the store holds its own reference */
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (!n) {
		snprintf(err, errlen, "%s: no PEM CRL", path);
		return -EINVAL;
	}
	return 0;
}

int svmigd_crl_load(X509_STORE *store, char *const *files, size_t n,
		    char *err, size_t errlen)
{
	size_t i;
	int ret;

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		ret = crl_file(store, files[i], err, errlen);
		if (ret)
			return ret;
	}
	if (X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) != 1) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
