// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl: the operator's CLI for svmigd (Documentation/svmigd.rst,
 * Documentation/man/svmigctl.8).
 *
 *   svmigctl migrate --request FILE [--socket PATH | --config FILE] [--json]
 *                    [--libvirt DOMAIN --to HOST [--channels N]]
 *   svmigctl status [--socket PATH | --config FILE] [--json]
 *   svmigctl attest PEER [--socket PATH | --config FILE] [--json]
 *   svmigctl settle --vm V --outcome resumed|not-committed
 *                   [--socket PATH | --config FILE] [--json]
 *   svmigctl request --vm V --source A --target B --mem MIB --vcpus N
 *                    --cert C --key K --out FILE [--json]
 *   svmigctl audit verify --log F --cert C [--peer CERTS [--ca CAS]
 *                    [--policy P --sig S --authority A]] [--anchor FILE] [--json]
 *   svmigctl policy check --policy P --sig S --authority A --cert OPCERT
 *                    --vm V --source A --target B [--json]
 *   svmigctl tpm-ak [--tcti T] [--pcrs 0,7] [--json]
 *   svmigctl tpm-ek [--tcti T] [--ek-ca FILE] [--json]
 *   svmigctl tpm-bind-authority --tcti T --nv-index I --authority CERT
 *                    [--owner-auth-file F] [--json]
 *   svmigctl tpm-authority --tcti T --nv-index I [--authority CERT] [--json]
 *   svmigctl tpm-bind-policy --tcti T --nv-index I --counter-index C
 *                    --authority CERT [--owner-auth-file F] [--json]
 *   svmigctl tpm-policy --tcti T --nv-index I [--authority CERT] [--json]
 *
 * With --json, standard output carries exactly one JSON object, with "ok"
 * true exactly when the exit status is 0 (a setup error too, when the
 * options were understood).
 *
 * Exit status: 0 success (allowed, intact, trusted), 1 failure (refused,
 * broken), 2 usage or setup error.
 *
 * This file holds the command and option tables, the parsing of the
 * arguments, the help and main(); the commands are in ctl_daemon.c,
 * ctl_offline.c and ctl_tpm.c (ctl.h lists the files).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"
#include "ctl.h"

static int bad_number(const char *opt, const char *val)
{
	fprintf(stderr, PROG ": %s: not a number in range: %s\n", opt, val);
	return 2;
}

/*
 * The subcommands, as wireguard-tools' wg.c has them: each entry names
 * its function, the options it takes (a bit per option of opts[]), its
 * operand if any, and its help.  An option another subcommand takes is
 * "unknown for this command" here, exit 2, like any unknown option.
 */
enum {
	C_MIGRATE = 1 << 0, C_STATUS = 1 << 1, C_ATTEST = 1 << 2,
	C_REQUEST = 1 << 3, C_AUDIT = 1 << 4, C_POLICY = 1 << 5,
	C_TPM_AK = 1 << 6, C_TPM_BIND = 1 << 7, C_TPM_AUTH = 1 << 8,
	C_SETTLE = 1 << 9, C_TPM_EK = 1 << 10, C_TPM_BINDP = 1 << 11,
	C_TPM_POL = 1 << 12,
	C_DAEMON = C_MIGRATE | C_STATUS | C_ATTEST | C_SETTLE,
	C_NVTPM = C_TPM_BIND | C_TPM_AUTH | C_TPM_BINDP | C_TPM_POL,
	C_ALL = (1 << 13) - 1,
};

struct cmd {
	const char *name;		/* "audit verify": two words */
	unsigned int bit;
	int (*fn)(const struct args *a);
	const char *synopsis;		/* after "svmigctl NAME " */
	const char *summary;
};

static const struct cmd cmds[] = {
	{ "migrate", C_MIGRATE, cmd_migrate,
	  "--request FILE [--libvirt DOMAIN --to HOST [--channels N]] [--socket PATH | --config FILE] [--json]",
	  "have svmigd migrate the VM of a signed request; progress, then a summary" },
	{ "status", C_STATUS, cmd_status,
	  "[--socket PATH | --config FILE] [--json]",
	  "svmigd's host, policy, peers and the migration in progress" },
	{ "attest", C_ATTEST, cmd_attest,
	  "PEER [--socket PATH | --config FILE] [--json]",
	  "have svmigd check PEER's certificate and TPM quote against the policy" },
	{ "settle", C_SETTLE, cmd_settle,
	  "--vm V --outcome resumed|not-committed [--socket PATH | --config FILE] [--json]",
	  "settle a migration in doubt by hand, once you know the target's copy runs or never will" },
	{ "request", C_REQUEST, cmd_request,
	  "--vm V --source A --target B --mem MIB --vcpus N --cert C --key K --out FILE [--json]",
	  "write a migration request signed with the operator's key" },
	{ "audit verify", C_AUDIT, cmd_audit_verify,
	  "--log F --cert C [--peer CERTS] [--ca CAS] [--policy P --sig S --authority A] [--anchor FILE] [--json]",
	  "check an audit log's signatures, chain and signed head; with --peer, what the peers and operators signed" },
	{ "policy check", C_POLICY, cmd_policy_check,
	  "--policy P --sig S --authority A --cert OPCERT --vm V --source A --target B [--json]",
	  "check a signed policy and whether it allows a migration" },
	{ "tpm-ak", C_TPM_AK, cmd_tpm_ak,
	  "[--tcti T] [--pcrs 0,7] [--json]",
	  "this host's AK digest and PCR values, for the policy" },
	{ "tpm-ek", C_TPM_EK, cmd_tpm_ek,
	  "[--tcti T] [--ek-ca FILE] [--json]",
	  "this TPM's EK certificate and AK public area; check the EK certificate against manufacturer CAs" },
	{ "tpm-bind-authority", C_TPM_BIND, cmd_tpm_bind_authority,
	  "--tcti T --nv-index I --authority CERT [--owner-auth-file F] [--json]",
	  "bind the policy authority to this host's TPM (an NV index, write-locked)" },
	{ "tpm-authority", C_TPM_AUTH, cmd_tpm_authority,
	  "--tcti T --nv-index I [--authority CERT] [--json]",
	  "read the authority bound in the TPM; compare it with CERT" },
	{ "tpm-bind-policy", C_TPM_BINDP, cmd_tpm_bind_policy,
	  "--tcti T --nv-index I --counter-index C --authority CERT [--owner-auth-file F] [--json]",
	  "bind the policy authority and a rollback counter of policy serials to this host's TPM" },
	{ "tpm-policy", C_TPM_POL, cmd_tpm_policy,
	  "--tcti T --nv-index I [--authority CERT] [--json]",
	  "read the policy binding: its authority and the highest policy serial accepted" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

struct optdef {
	struct option lo;
	unsigned int cmds;	/* C_* of the subcommands that take it */
	const char *arg;	/* its value's name in the help, or NULL */
	const char *help;
};

static const struct optdef opts[] = {
	{ { "socket", required_argument, NULL, 'S' }, C_DAEMON, "PATH",
	  "svmigd's control socket (default: svmigd.sock in the state_dir of --config)" },
	{ { "config", required_argument, NULL, 'C' }, C_DAEMON, "FILE",
	  "svmigd.conf naming that state_dir (default /etc/svmigd/svmigd.conf)" },
	{ { "request", required_argument, NULL, 'r' }, C_MIGRATE, "FILE",
	  "the signed request (svmigctl request --out)" },
	{ { "libvirt", required_argument, NULL, 'L' }, C_MIGRATE, "DOMAIN",
	  "libvirt migrates DOMAIN (the request's VM) through svmig's relay" },
	{ { "to", required_argument, NULL, 'x' }, C_MIGRATE, "HOST",
	  "with --libvirt: the target host (the request's target)" },
	{ { "channels", required_argument, NULL, 'M' }, C_MIGRATE, "N",
	  "with --libvirt: QEMU's multifd with N channels (1 to 8), each its own svmig channel" },
	{ { "postcopy", no_argument, NULL, 'Y' }, C_MIGRATE, NULL,
	  "refused: postcopy would run the VM on the target before svmig verified "
	  "the stream's END (Documentation/libvirt.rst, \"postcopy\")" },
	{ { "vm", required_argument, NULL, 'v' }, C_REQUEST | C_POLICY | C_SETTLE, "V",
	  "the VM's name" },
	{ { "outcome", required_argument, NULL, 'u' }, C_SETTLE, "O",
	  "how the migration in doubt ended: \"resumed\" (the target runs the VM: "
	  "the source QEMU quits) or \"not-committed\" (it never will: the source "
	  "VM is put back as it was)" },
	{ { "source", required_argument, NULL, 's' }, C_REQUEST | C_POLICY, "A",
	  "the source host's name" },
	{ { "target", required_argument, NULL, 't' }, C_REQUEST | C_POLICY, "B",
	  "the target host's name" },
	{ { "mem", required_argument, NULL, 'm' }, C_REQUEST, "MIB",
	  "the VM's memory in MiB (the target's admission limit)" },
	{ { "vcpus", required_argument, NULL, 'n' }, C_REQUEST, "N",
	  "the VM's vCPUs" },
	{ { "cert", required_argument, NULL, 'c' }, C_REQUEST | C_AUDIT | C_POLICY, "C",
	  "a PEM certificate: the operator's (request, policy check) or the host's "
	  "that signed the log (audit verify)" },
	{ { "key", required_argument, NULL, 'k' }, C_REQUEST, "K",
	  "the operator's private key (PEM)" },
	{ { "out", required_argument, NULL, 'o' }, C_REQUEST, "FILE",
	  "where to write the request" },
	{ { "log", required_argument, NULL, 'l' }, C_AUDIT, "F",
	  "the audit log (svmigd writes STATE_DIR/audit.log)" },
	{ { "peer", required_argument, NULL, 'e' }, C_AUDIT, "CERTS",
	  "the peer hosts' certificates (PEM, one or more): re-check the signed "
	  "messages the log keeps from them (matched by CN), quotes and requests" },
	{ { "ca", required_argument, NULL, 'A' }, C_AUDIT, "CAS",
	  "with --peer: CA certificates (PEM) the peers' and operators' certificates "
	  "must chain to (without it, requests are not checked)" },
	{ { "anchor", required_argument, NULL, 'H' }, C_AUDIT, "FILE",
	  "a signed head of this log kept elsewhere, or the peer's audit log "
	  "(its peer-head records): the log must reach the highest one" },
	{ { "policy", required_argument, NULL, 'p' }, C_POLICY | C_AUDIT, "P",
	  "policy.json (audit verify --peer: the AK digests and PCR values the quotes must match)" },
	{ { "sig", required_argument, NULL, 'g' }, C_POLICY | C_AUDIT, "S",
	  "its signature (DER)" },
	{ { "authority", required_argument, NULL, 'a' }, C_POLICY | C_AUDIT | C_NVTPM, "CERT",
	  "the policy authority's certificate (PEM)" },
	{ { "tcti", required_argument, NULL, 'T' }, C_TPM_AK | C_TPM_EK | C_NVTPM, "T",
	  "the TPM, as a tpm2-tss TCTI (default " SVMIGD_DEFAULT_TCTI " for tpm-ak, tpm-ek)" },
	{ { "ek-ca", required_argument, NULL, 'E' }, C_TPM_EK, "FILE",
	  "manufacturer CA certificates (PEM, the EK certificate's issuing CA among them)" },
	{ { "pcrs", required_argument, NULL, 'P' }, C_TPM_AK, "LIST",
	  "SHA-256 PCRs to read, comma-separated (e.g. 0,7)" },
	{ { "nv-index", required_argument, NULL, 'N' }, C_NVTPM, "I",
	  "the NV index, 0x01000000 to 0x01ffffff" },
	{ { "counter-index", required_argument, NULL, 'K' }, C_TPM_BINDP, "C",
	  "the NV counter of the highest policy serial, 0x01000000 to 0x01ffffff" },
	{ { "owner-auth-file", required_argument, NULL, 'O' }, C_TPM_BIND | C_TPM_BINDP, "F",
	  "the TPM owner authorization (the file's bytes, one final newline dropped)" },
	{ { "json", no_argument, NULL, 'j' }, C_ALL, NULL,
	  "one JSON object on standard output, \"ok\" true exactly on success" },
	{ { "help", no_argument, NULL, 'h' }, C_ALL, NULL,
	  "this help" },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: " PROG " COMMAND [options]\n"
		   "       " PROG " COMMAND --help | help [COMMAND]\n"
		   "       " PROG " --help | --version\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-19s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nExit status: 0 success, 1 refused or broken, 2 usage or "
		   "setup error.\nTSS2_LOG (e.g. all+ERROR) shows the TPM "
		   "library's own messages.  See svmigctl(8).\n");
}

static void cmd_usage(FILE *f, const struct cmd *c)
{
	char name[64];
	size_t i;

	fprintf(f, "usage: " PROG " %s %s\n\n%s.\n\noptions:\n", c->name,
		c->synopsis, c->summary);
	for (i = 0; i < NOPTS; i++) {
		if (!(opts[i].cmds & c->bit))
			continue;
		snprintf(name, sizeof(name), "--%s%s%s", opts[i].lo.name,
			 opts[i].arg ? " " : "", opts[i].arg ?: "");
		fprintf(f, "  %-22s %s\n", name, opts[i].help);
	}
}

/* argv[1] (and argv[2] for a two-word command): the entry, or NULL. */
static const struct cmd *find_cmd(int argc, char **argv, int *words)
{
	size_t i, n;

	for (i = 0; i < NCMDS; i++) {
		const char *sp = strchr(cmds[i].name, ' ');

		if (!sp) {
			if (is(argv[1], cmds[i].name)) {
				*words = 1;
				return &cmds[i];
			}
			continue;
		}
		n = (size_t)(sp - cmds[i].name);
		if (!strncmp(argv[1], cmds[i].name, n) && !argv[1][n] &&
		    argc > 2 && is(argv[2], sp + 1)) {
			*words = 2;
			return &cmds[i];
		}
	}
	return NULL;
}

static const struct optdef *opt_by_val(int val)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (opts[i].lo.val == val)
			return &opts[i];
	return NULL;
}

static int set_opt(struct args *a, int c, const char *arg)
{
	uint64_t num;

	switch (c) {
	case 'S': a->socket = arg; break;
	case 'C': a->config = arg; break;
	case 'r': a->request = arg; break;
	case 'L': a->libvirt = arg; break;
	case 'x': a->to = arg; break;
	case 'M':
		if (svmigd_parse_u64(arg, 1, 8, &num))
			return bad_number("--channels", arg);
		a->channels = (unsigned int)num;
		break;
	case 'Y': a->postcopy = true; break;
	case 'v': a->vm = arg; break;
	case 'u': a->outcome = arg; break;
	case 's': a->source = arg; break;
	case 't': a->target = arg; break;
	case 'm':
		if (svmigd_parse_u64(arg, 1, 1ULL << 30, &num))
			return bad_number("--mem", arg);
		a->mem = num;
		break;
	case 'n':
		if (svmigd_parse_u64(arg, 1, 4096, &num))
			return bad_number("--vcpus", arg);
		a->vcpus = num;
		break;
	case 'c': a->cert = arg; break;
	case 'k': a->key = arg; break;
	case 'o': a->out = arg; break;
	case 'l': a->log = arg; break;
	case 'p': a->policy = arg; break;
	case 'g': a->sig = arg; break;
	case 'a': a->authority = arg; break;
	case 'T': a->tcti = arg; break;
	case 'P': a->pcrs = arg; break;
	case 'E': a->ek_ca = arg; break;
	case 'e': a->peer_certs = arg; break;
	case 'A': a->ca = arg; break;
	case 'H': a->anchor = arg; break;
	case 'N': a->nv_index = arg; break;
	case 'K': a->counter_index = arg; break;
	case 'O': a->owner_auth_file = arg; break;
	case 'j': a->json = true; break;
	}
	return 0;
}

static int unknown_command(const char *what)
{
	fprintf(stderr, PROG ": unknown command '%s' (" PROG
		" --help lists the commands)\n", what);
	return 2;
}

int main(int argc, char **argv)
{
	struct option lo[NOPTS + 1];
	const struct cmd *c;
	const struct optdef *d;
	struct args a = { 0 };
	int ch, words, ret;
	size_t i;

	/*
	 * tpm2-tss prints its own errors on stderr; svmigctl says what
	 * failed itself.  TSS2_LOG in the environment wins.
	 */
	setenv("TSS2_LOG", "all+NONE", 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (is(argv[1], "--help") || is(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (is(argv[1], "--version")) {
		printf(PROG " %s\n", SVMIG_VERSION);
		return 0;
	}
	if (is(argv[1], "help")) {
		if (argc == 2) {
			usage(stdout);
			return 0;
		}
		c = find_cmd(argc - 1, argv + 1, &words);
		if (!c || argc != 2 + words)
			return unknown_command(argv[2]);
		cmd_usage(stdout, c);
		return 0;
	}
	c = find_cmd(argc, argv, &words);
	if (!c) {
		if (argv[1][0] == '-') {
			fprintf(stderr, PROG ": a command comes first, then its "
				"options: " PROG " COMMAND [options] (" PROG
				" --help lists the commands)\n");
			return 2;
		}
		if ((is(argv[1], "audit") || is(argv[1], "policy")) && argc > 2) {
			char both[128];

			snprintf(both, sizeof(both), "%s %s", argv[1], argv[2]);
			return unknown_command(both);
		}
		return unknown_command(argv[1]);
	}

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < NOPTS; i++)
		lo[i] = opts[i].lo;
	opterr = 0;
	optind = 1 + words;
	while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			const char *bad = argv[optind - 1];

			if (ch == ':')
				fprintf(stderr, PROG " %s: %s needs a value\n",
					c->name, bad);
			else if (optopt)
				fprintf(stderr, PROG " %s: unknown option '-%c'\n",
					c->name, optopt);
			else
				fprintf(stderr, PROG " %s: unknown option '%s'\n",
					c->name, bad);
			fprintf(stderr, "(" PROG " %s --help lists its options)\n",
				c->name);
			return 2;
		}
		d = opt_by_val(ch);
		if (!d || !(d->cmds & c->bit)) {
			fprintf(stderr, PROG " %s: unknown option --%s for this "
				"command (" PROG " %s --help lists its options)\n",
				c->name, d ? d->lo.name : "?", c->name);
			return 2;
		}
		if (ch == 'h') {
			cmd_usage(stdout, c);
			return 0;
		}
		ret = set_opt(&a, ch, optarg);
		if (ret)
			return ret;
	}
	/* the one operand: attest's PEER (getopt_long moved it last) */
	if (c->bit == C_ATTEST && optind + 1 == argc)
		a.peer = argv[optind++];
	if (c->bit == C_ATTEST && !a.peer) {
		fprintf(stderr, PROG " attest: which PEER? (" PROG
			" attest PEER; " PROG " attest --help)\n");
		return 2;
	}
	if (optind != argc) {
		fprintf(stderr, PROG " %s: unexpected argument '%s' (" PROG
			" %s --help)\n", c->name, argv[optind], c->name);
		return 2;
	}
	return c->fn(&a);
}
