// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: the table of cases (path/impl/via, what each does, which
 * batch sizes), and the check that an open case put every page in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

const unsigned int batches[NBATCHES] = { 1, BIG_BATCH };

const struct ccase cases[] = {
	{ "seal/kernel/socket", "SUBMIT, kernel sends on the socket",
	  true, IN_NONE, seal_kernel_sock, 0 },
	{ "seal/openssl/socket", "wire.c (EVP) seals, write()",
	  false, IN_NONE, seal_openssl_sock, 0 },
	{ "seal/plain/socket", "memcpy into records, write()",
	  false, IN_NONE, seal_plain_sock, 0 },
	{ "seal/kernel/devfd", "SUBMIT, read() from /dev/svmig",
	  true, IN_NONE, seal_kernel_fd, 0 },
	{ "seal/openssl/memory", "wire.c (EVP) into a buffer",
	  false, IN_NONE, seal_openssl_mem, 0 },
	{ "seal/memcpy/memory", "memcpy into a buffer",
	  false, IN_NONE, seal_plain_mem, 0 },
	{ "seal/evp/memory", "bare EVP, one message per batch",
	  false, IN_NONE, seal_evp, 0 },
	{ "seal/evp-probe/memory", "bare EVP, TCG probe (see the source)",
	  false, IN_NONE, seal_evp_probe, 1 },
	{ "open/kernel/socket", "RECV from the socket",
	  true, IN_SEALED, open_kernel_sock, 0 },
	{ "open/openssl/socket", "read(), wire.c opens, copy",
	  false, IN_SEALED, open_openssl_sock, 0 },
	{ "open/plain/socket", "read(), memcpy into place",
	  false, IN_PLAIN, open_plain_sock, 0 },
	{ "open/kernel/devfd", "write() into /dev/svmig",
	  true, IN_SEALED, open_kernel_fd, 0 },
	{ "open/openssl/memory", "wire.c opens, copy",
	  false, IN_SEALED, open_openssl_mem, 0 },
	{ "open/memcpy/memory", "memcpy into place",
	  false, IN_PLAIN, open_plain_mem, 0 },
	{ "open/evp/memory", "bare EVP, one message per batch",
	  false, IN_EVP, open_evp, 0 },
	{ "open/evp-copy/memory", "EVP to a buffer, then copy into place",
	  false, IN_EVP, open_decrypt_copy, 1 },
	{ "open/tag-first/memory", "GHASH pass, then AES-CTR into place",
	  false, IN_EVP, open_verify_first, 1 },
};
const size_t ncases = sizeof(cases) / sizeof(cases[0]);

const struct ccase *find_case(const char *id)
{
	size_t i;

	for (i = 0; i < ncases; i++)
		if (!strcmp(cases[i].id, id))
			return &cases[i];
	abort();
}

/* Untimed, after an open: every page must be where it belongs. */
int check_open(struct job *j, const struct ccase *c)
{
	if (strncmp(c->id, "open/", 5) || !memcmp(j->dst, j->src, j->npages * PAGE))
		return 0;
	return job_fail(j, -EIO, "the destination differs from the source");
}
