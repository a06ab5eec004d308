// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: svmigd.conf parsing (userspace/svmigd/config.c).
 * The input is the whole file, read by svmigd_config_load() through a
 * memfd.  A file it accepts must give what config.h promises: a valid
 * host name, 1 to SVMIGD_ANCHORS_MAX anchors, every required path, a
 * TCTI and an audit log path (defaulted), positive limits, an NV index in
 * the owner range or 0.
 */
#include <errno.h>
#include <string.h>

#include "fuzz_common.h"
#include "config.h"
#include "tpm.h"

static struct fuzz_file conf;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svmigd_config cfg;
	char err[512];
	size_t i;
	int ret;

	fuzz_file_put(&conf, data, size);
	ret = svmigd_config_load(&cfg, conf.path, err, sizeof(err));
	if (ret) {
		FUZZ_CHECK(ret < 0);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
		FUZZ_CHECK(!strncmp(err, conf.path, strlen(conf.path)));
		FUZZ_CHECK(!cfg.host_name && !cfg.anchors && !cfg.n_anchors &&
			   !cfg.crls && !cfg.n_crls);
		return 0;
	}
	FUZZ_CHECK(size <= SVMIGD_CONFIG_MAX);
	FUZZ_CHECK(cfg.host_name && svmigd_valid_host_name(cfg.host_name));
	FUZZ_CHECK(cfg.host_cert && cfg.host_key);
	FUZZ_CHECK(cfg.n_anchors >= 1 && cfg.n_anchors <= SVMIGD_ANCHORS_MAX);
	for (i = 0; i < cfg.n_anchors; i++)
		FUZZ_CHECK(cfg.anchors[i] && cfg.anchors[i][0] &&
			   !strpbrk(cfg.anchors[i], " \t"));
	FUZZ_CHECK(cfg.policy_file && cfg.policy_signature &&
		   cfg.policy_authority_cert);
	FUZZ_CHECK(cfg.listen_control && cfg.listen_data);
	FUZZ_CHECK(cfg.tpm_tcti && cfg.tpm_tcti[0]);
	FUZZ_CHECK(!cfg.tpm_authority_nv ||
		   (cfg.tpm_authority_nv >= SVMIGD_TPM_NV_FIRST &&
		    cfg.tpm_authority_nv <= SVMIGD_TPM_NV_LAST));
	FUZZ_CHECK(!cfg.tpm_policy_nv ||
		   (cfg.tpm_policy_nv >= SVMIGD_TPM_NV_FIRST &&
		    cfg.tpm_policy_nv <= SVMIGD_TPM_NV_LAST));
	FUZZ_CHECK(cfg.n_crls <= SVMIGD_ANCHORS_MAX && (!cfg.n_crls) == !cfg.crls);
	for (i = 0; i < cfg.n_crls; i++)
		FUZZ_CHECK(cfg.crls[i] && cfg.crls[i][0] &&
			   !strpbrk(cfg.crls[i], " \t"));
	FUZZ_CHECK(cfg.max_mem_mib >= 1 && cfg.max_vcpus >= 1);
	FUZZ_CHECK(cfg.state_dir && cfg.audit_log);
	svmigd_config_free(&cfg);
	FUZZ_CHECK(!cfg.host_name && !cfg.anchors);
	return 0;
}
