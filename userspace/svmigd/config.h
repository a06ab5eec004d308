/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmigd.conf: the host's configuration (Documentation/svmigd.rst, Files),
 * an INI file parsed with inih:
 *
 *   [host]    name, cert, key            the host's name (its certificate's
 *                                        CN), certificate and key (PEM)
 *   [trust]   anchors                    CA certificate files (federation):
 *                                        a whitespace-separated list; the
 *                                        key may be repeated, each adds
 *             crls                       optional: CRL files (PEM), listed
 *                                        as anchors; with any, revocation
 *                                        is checked (crl.h)
 *   [policy]  file, signature, authority_cert
 *   [listen]  control, data              "address:port" (IPv6: "[addr]:port")
 *   [tpm]     tcti                       optional, default SVMIGD_DEFAULT_TCTI
 *             authority_nv               optional: "0x" and hex, an owner
 *                                        NV index 0x01000000..0x01ffffff
 *                                        holding SHA-256 of the authority
 *                                        certificate (0 in the struct: none)
 *             policy_nv                  optional: the owner NV index of
 *                                        the policy binding (policy_nv.h:
 *                                        authority key digest and a TPM
 *                                        counter of the highest policy
 *                                        serial accepted; 0: none)
 *   [limits]  max_mem_mib, max_vcpus     positive decimal integers
 *   [paths]   state_dir, audit_log       audit_log optional, default
 *                                        "<state_dir>/audit.log"
 *             vtpm_dir                   optional: each VM's vTPM state
 *                                        directory, one "%s" for the VM's
 *                                        name (vtpm.h)
 *   [connections]                        all optional, positive decimal
 *             preauth_timeout_s          integers (0 in the struct: the
 *             max_unauth_per_address     daemon's default, daemon.h):
 *             max_unauth                 the control port's limits before
 *             max_connections            a peer is authenticated, the cap
 *             stop_timeout_s             on connections served at once,
 *                                        and SIGTERM's grace period
 *
 * Everything else is required.  Unknown sections and keys, repeated keys,
 * empty values, syntax errors and over-long lines are refused; the error
 * names the file and the line.  Paths are kept as written (relative ones
 * are relative to svmigd's working directory).
 */
#ifndef SVMIGD_CONFIG_H
#define SVMIGD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SVMIGD_DEFAULT_TCTI	"device:/dev/tpmrm0"
#define SVMIGD_HOST_NAME_MAX	64	/* a DNS label's worth, CN-sized */
#define SVMIGD_ANCHORS_MAX	32
#define SVMIGD_CONFIG_MAX	65536	/* bytes of svmigd.conf */

struct svmigd_config {
	/* [host] */
	char *host_name;
	char *host_cert;
	char *host_key;
	/* [trust] */
	char **anchors;
	size_t n_anchors;
	char **crls;
	size_t n_crls;
	/* [policy] */
	char *policy_file;
	char *policy_signature;
	char *policy_authority_cert;
	/* [listen] */
	char *listen_control;
	char *listen_data;
	/* [tpm] */
	char *tpm_tcti;
	uint32_t tpm_authority_nv;	/* 0: no binding required */
	uint32_t tpm_policy_nv;		/* 0: no rollback protection */
	/* [limits] */
	uint64_t max_mem_mib;
	uint32_t max_vcpus;
	/* [paths] */
	char *state_dir;
	char *audit_log;
	char *vtpm_dir;			/* NULL: VMs have no vTPM state here */
	/* [connections] (0: the default) */
	uint32_t preauth_timeout_s;
	uint32_t max_unauth_per_address;
	uint32_t max_unauth;
	uint32_t max_connections;
	uint32_t stop_timeout_s;
};

/*
 * Parses @path into @cfg (which needs no initialisation).  Returns 0, or a
 * negative errno with "<path>:<line>: <what>" (or "<path>: <what>" for a
 * missing key or an unreadable file) in @err; on failure @cfg holds
 * nothing to free.
 */
int svmigd_config_load(struct svmigd_config *cfg, const char *path,
		       char *err, size_t errlen);

/* Frees what svmigd_config_load() allocated; @cfg is zeroed. */
void svmigd_config_free(struct svmigd_config *cfg);

/*
 * A host name as svmigd.conf and policy.json spell it: 1 to
 * SVMIGD_HOST_NAME_MAX of A-Z a-z 0-9 '.' '-' '_'.
 */
bool svmigd_valid_host_name(const char *s);

#endif /* SVMIGD_CONFIG_H */
