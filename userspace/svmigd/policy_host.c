// SPDX-License-Identifier: GPL-2.0
/*
 * This host's policy, loaded and checked.  See policy_host.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "policy_host.h"

static int ph_msg(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ph_msg(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* [tpm] authority_nv: the 32-byte binding of the authority key. */
static int ph_authority_nv(const struct svmigd_config *cfg,
			   struct svmigd_tpm *tpm, const struct svmigd_policy *p,
			   char *err, size_t errlen)
{
	uint8_t got[SVMIGD_TPM_DIGEST_LEN];
	int ret;

	ret = svmigd_tpm_nv_read(tpm, cfg->tpm_authority_nv, got, sizeof(got));
	if (ret)
		return ph_msg(err, errlen, -EIO,
			      "TPM NV index 0x%08x unreadable: %s (%s)",
			      cfg->tpm_authority_nv, svmigd_tpm_strerror(ret),
			      svmigd_tpm_last_error(tpm));
	if (CRYPTO_memcmp(got, p->authority_sha256, sizeof(got)))
		return ph_msg(err, errlen, -EKEYREJECTED,
			      "authority certificate %s is not the one bound to TPM NV index 0x%08x",
			      cfg->policy_authority_cert, cfg->tpm_authority_nv);
	return 0;
}

int svmigd_policy_load_host(const struct svmigd_config *cfg,
			    struct svmigd_tpm *tpm, struct svmigd_policy **out,
			    struct svmigd_policy_nv *nv, char *err,
			    size_t errlen)
{
	struct svmigd_policy *p = NULL;
	struct svmigd_policy_nv tmp;
	char why[768];
	int ret;

	*out = NULL;
	if (!nv)
		nv = &tmp;
	memset(nv, 0, sizeof(*nv));
	ret = svmigd_policy_load(&p, cfg->policy_file, cfg->policy_signature,
				 cfg->policy_authority_cert, err, errlen);
	if (ret)
		return ret;
	if (!svmigd_policy_host(p, cfg->host_name)) {
		ret = ph_msg(err, errlen, -ENOENT, "this host (%s) is not in it",
			     cfg->host_name);
		goto fail;
	}
	ret = svmigd_policy_check_expiry(p, (int64_t)time(NULL), why,
					 sizeof(why));
	if (ret) {
		ph_msg(err, errlen, ret, "%s: %s", cfg->policy_file, why);
		goto fail;
	}
	if (tpm && cfg->tpm_authority_nv) {
		ret = ph_authority_nv(cfg, tpm, p, err, errlen);
		if (ret)
			goto fail;
	}
	if (tpm && cfg->tpm_policy_nv) {
		ret = svmigd_policy_nv_enforce(tpm, cfg->tpm_policy_nv, p, false,
					       nv, why, sizeof(why));
		if (ret) {
			ph_msg(err, errlen, ret, "%s: %s", cfg->policy_file, why);
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	svmigd_policy_free(p);
	return ret;
}

/* Policies replaced by a reload: sessions that began before it may hold them. */
static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;
static struct svmigd_policy *retired[SVMIGD_POLICY_RETIRED_MAX];
static size_t n_retired;

int svmigd_policy_retire(struct svmigd_policy *p)
{
	int ret = 0;

	pthread_mutex_lock(&retired_lock);
	if (n_retired == SVMIGD_POLICY_RETIRED_MAX)
		ret = -ENOSPC;
	else
		retired[n_retired++] = p;
	pthread_mutex_unlock(&retired_lock);
	return ret;
}

void svmigd_policy_retired_free(void)
{
	size_t i;

	pthread_mutex_lock(&retired_lock);
	for (i = 0; i < n_retired; i++)
		svmigd_policy_free(retired[i]);
	n_retired = 0;
	pthread_mutex_unlock(&retired_lock);
}
