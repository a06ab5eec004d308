// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the policy at start and on SIGHUP, with every check of
 * policy_host.h (the TPM's binding and rollback counter too).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <syslog.h>

#include "daemon_int.h"
#include "policy_host.h"
#include "util.h"

int policy_start(struct daemon *d)
{
	struct svmigd_policy_nv nv;
	char err[1024], when[32];
	int ret;

	ret = svmigd_policy_load_host(&d->cfg, d->tpm, &d->policy, &nv, err,
				      sizeof(err));
	if (ret) {
		logp_(LOG_ERR, "policy: %s", err);
		if (!d->o->check_config &&
		    (mkdir(d->cfg.state_dir, 0700) == 0 || errno == EEXIST))
			audit_early(d, "refused", "start", NULL, NULL,
				    ret == -EKEYREJECTED ? "authority" : "policy", err);
		return -1;
	}
	svmigd_policy_time_str(d->policy->not_after, when);
	logp_(d->cfg.tpm_policy_nv || d->o->check_config ? LOG_INFO : LOG_WARNING,
	      "policy serial %llu, valid until %s%s",
	      (unsigned long long)d->policy->serial, when,
	      d->cfg.tpm_policy_nv ? ", bound to the TPM" :
	      ": no [tpm] policy_nv, an older signed policy would not be detected");
	return 0;
}

/*
 * A bad policy leaves the one in force, and says why.  The replaced one
 * stays readable until exit (policy_host.h): a session may still use it.
 */
void policy_reload(struct daemon *d)
{
	struct svmigd_policy *p, *old;
	char err[1024], hex[SVMIGD_SHA256_HEX_LEN + 1];

	if (svmigd_policy_load_host(&d->cfg, d->tpm, &p, NULL, err, sizeof(err))) {
		logp_(LOG_ERR, "SIGHUP: policy not reloaded, serial %llu stays in force: %s",
		      (unsigned long long)d->policy->serial, err);
		audit_early(d, "refused", "reload", NULL, NULL, "policy", err);
		return;
	}
	pthread_mutex_lock(&d->lock);
	old = d->policy;
	if (svmigd_policy_retire(old)) {
		pthread_mutex_unlock(&d->lock);
		svmigd_policy_free(p);
		logp_(LOG_ERR, "SIGHUP: policy not reloaded: %d reloads already, restart svmigd",
		      SVMIGD_POLICY_RETIRED_MAX);
		return;
	}
	d->policy = p;
	d->scfg.policy = p;
	pthread_mutex_unlock(&d->lock);
	svmigd_hex_encode(hex, p->sha256, SVMIGD_SHA256_LEN);
	logp_(LOG_INFO, "SIGHUP: policy reloaded: serial %llu (sha256 %s), was serial %llu",
	      (unsigned long long)p->serial, hex, (unsigned long long)old->serial);
}
