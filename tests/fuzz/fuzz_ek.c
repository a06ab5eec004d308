// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the EK certificate check (userspace/svmigd/ek.c,
 * svmigd_ek_verify): d2i_X509 of the certificate with its padding, the
 * TSS unmarshalling of the EK public area and the RSA key built from it,
 * the key comparison and X509_verify_cert against a fixed CA (fuzz_keys.h,
 * written to a file once).  No TPM.
 *
 * Input: the certificate bytes, then the EK public area (marshalled
 * TPM2B_PUBLIC), each a 16-bit length and its bytes.
 *
 * Checked: every verdict is a known code with a reason; an accepted one
 * was given for a certificate that parses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "fuzz_common.h"
#include "tpm.h"

static char ca_file[64];

static void ca_unlink(void)
{
	unlink(ca_file);
}

static void init(void)
{
	int fd;

	setenv("TSS2_LOG", "all+NONE", 0);
	snprintf(ca_file, sizeof(ca_file), "/tmp/svmig-fuzz-ek-ca-XXXXXX");
	fd = mkstemp(ca_file);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, fuzz_ca_cert_pem, strlen(fuzz_ca_cert_pem)) ==
		   (ssize_t)strlen(fuzz_ca_cert_pem));
	close(fd);
	atexit(ca_unlink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	const char *ca[1] = { ca_file };
	const uint8_t *cert, *pub;
	size_t cert_len, pub_len;
	char why[256];
	int ret;

	if (!ca_file[0])
		init();
	cert = fz_str(&z, &cert_len);
	pub = fz_str(&z, &pub_len);
	memset(why, 0x55, sizeof(why));
	ret = svmigd_ek_verify(cert, cert_len, pub, pub_len, ca, 1, why,
			       sizeof(why));
	FUZZ_CHECK(memchr(why, '\0', sizeof(why)));
	if (getenv("SVMIG_FUZZ_DEBUG"))
		fprintf(stderr, "verdict %d: %s\n", ret, why);
	if (ret) {
		FUZZ_CHECK(ret == SVMIGD_TPM_EEKCERT || ret == SVMIGD_TPM_EEKCA ||
			   ret == SVMIGD_TPM_ENOMEM || ret == SVMIGD_TPM_ECRYPTO);
		FUZZ_CHECK(ret == SVMIGD_TPM_ENOMEM || ret == SVMIGD_TPM_ECRYPTO ||
			   why[0]);
		return 0;
	}
	{
		const unsigned char *p = cert;
		X509 *x = d2i_X509(NULL, &p, (long)cert_len);

		FUZZ_CHECK(x);
		X509_free(x);
	}
	return 0;
}
