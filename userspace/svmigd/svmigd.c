// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the control plane daemon (Documentation/svmigd.rst, daemon.h).
 *
 *   svmigd --config FILE [--peer NAME=HOST:PORT[,HOST:PORT]]...
 *          [--qmp-dir DIR] [--operator-ca FILE]... [--timeout SECS]
 *          [--no-tpm-salt] [--check-config]
 *          [--libvirt URI [--libvirt-peer NAME=URI]... [--relay-dir DIR]]
 *   svmigd --version | --help
 *
 * Runs in the foreground, logs to stderr (with journald's <N> priority
 * prefixes under systemd), tells systemd when it is ready (Type=notify);
 * SIGTERM or SIGINT stop it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "policy.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: svmigd --config FILE [options]\n"
"  --peer NAME=HOST:PORT[,HOST:PORT]  where host NAME's svmigd listens\n"
"                       (control[,data]; data defaults to control port + 1)\n"
"  --qmp-dir DIR        VM V's QMP socket is DIR/V.qmp (default STATE_DIR/qmp)\n"
"  --operator-ca FILE   operator trust anchors (default: the [trust] anchors)\n"
"  --timeout SECS       bound on one migration's DATA step (default 300)\n"
"  --no-tpm-salt        key /dev/svmig with SVMIG_KEY_NO_TPM\n"
"  --libvirt URI        this host's libvirtd: migrations libvirt drives, through\n"
"                       svmig's relay (Documentation/libvirt.rst)\n"
"  --libvirt-peer NAME=URI  the libvirtd of host NAME (the source's libvirtd\n"
"                       connects to it: VIR_MIGRATE_PEER2PEER)\n"
"  --relay-dir DIR      the relay's UNIX sockets, the same on every host\n"
"                       (default " SVMIGD_RELAY_DIR_DEFAULT ")\n"
"  --check-config       check the configuration, keys, certificates and signed\n"
"                       policy, then exit (0: valid); the TPM and sockets are left alone\n"
"  --version            print the version and exit\n"
"  --help               print this help and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "peer", required_argument, NULL, 'p' },
		{ "qmp-dir", required_argument, NULL, 'q' },
		{ "operator-ca", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-tpm-salt", no_argument, NULL, 'n' },
		{ "libvirt", required_argument, NULL, 'L' },
		{ "libvirt-peer", required_argument, NULL, 'P' },
		{ "relay-dir", required_argument, NULL, 'R' },
		{ "check-config", no_argument, NULL, 'K' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct svmigd_opts o = { 0 };
	uint64_t num;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config = optarg;
			break;
		case 'p':
			if (o.n_peers == SVMIGD_PEERS_MAX || !strchr(optarg, '=')) {
				fprintf(stderr, "svmigd: bad --peer %s\n", optarg);
				return 2;
			}
			o.peers[o.n_peers++] = optarg;
			break;
		case 'q':
			o.qmp_dir = optarg;
			break;
		case 'o':
			if (o.n_op_anchors == SVMIGD_OP_ANCHORS_MAX) {
				fprintf(stderr, "svmigd: too many --operator-ca\n");
				return 2;
			}
			o.op_anchors[o.n_op_anchors++] = optarg;
			break;
		case 't':
			if (svmigd_parse_u64(optarg, 1, 86400, &num)) {
				fprintf(stderr, "svmigd: --timeout takes 1 to 86400 seconds\n");
				return 2;
			}
			o.migrate_timeout_s = (int)num;
			break;
		case 'n':
			o.no_tpm_salt = true;
			break;
		case 'L':
			o.libvirt_uri = optarg;
			break;
		case 'P':
			if (o.n_libvirt_peers == SVMIGD_PEERS_MAX || !strchr(optarg, '=')) {
				fprintf(stderr, "svmigd: bad --libvirt-peer %s\n", optarg);
				return 2;
			}
			o.libvirt_peers[o.n_libvirt_peers++] = optarg;
			break;
		case 'R':
			o.relay_dir = optarg;
			break;
		case 'K':
			o.check_config = true;
			break;
		case 'V':
			printf("svmigd %s\n", SVMIG_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.config || optind != argc) {
		usage(stderr);
		return 2;
	}
	return svmigd_daemon_run(&o);
}
