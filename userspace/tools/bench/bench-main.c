// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: how fast svmig.ko seals and opens migration data, measured
 * through the module's real API only, against OpenSSL and plain copies of
 * the same pages in the same run (Documentation/performance.rst).
 *
 *   svmig-bench crypto    one channel, 4 KiB page records, batches of one
 *                         page (4 KiB) and of 512 pages (2 MiB):
 *       seal  kernel  SUBMIT of ring entries over an ADD_REGION'd buffer,
 *                     records pushed by the kernel into an attached socket
 *                     (or, "devfd", read() from /dev/svmig: no socket)
 *             openssl the same records sealed by libsvmig's wire.c (OpenSSL
 *                     EVP AES-256-GCM) and write()n to an identical socket
 *             plain   the same pages memcpy'd into records of the same size
 *                     and write()n to an identical socket
 *             and, without any socket: openssl and memcpy into a buffer,
 *             and bare EVP AES-256-GCM over 4 KiB or 2 MiB messages
 *       open  kernel  RECV from an attached socket (or write() into
 *                     /dev/svmig) of records the oracle (wire.c) sealed
 *             openssl wire.c opens them and copies the page into place
 *             plain   plain records read and memcpy'd into place
 *             and the same in memory, no socket
 *     The other end of every socket is a second thread that drains it
 *     (seal) or feeds it (open).  Each measurement takes CLOCK_MONOTONIC
 *     and the measuring thread's own CPU time (CLOCK_THREAD_CPUTIME_ID,
 *     getrusage(RUSAGE_THREAD) for user/system), so "per core" is payload
 *     bytes per CPU-second of the one thread doing the work; runs are
 *     interleaved, repeated, and medians reported.
 *   svmig-bench channels  page mode with 1..N independent channels (one
 *                         open file, socket, region and thread each, one
 *                         session), seal and open; aggregate throughput
 *                         against one channel
 *   svmig-bench stream    tests/bench/stream-bench.sh (QEMU plain tcp: vs
 *                         svmig stream mode vs QEMU TLS), then its results
 *   svmig-bench report    the table of everything measured, with ratios
 *                         against the targets of issue 6, and bench.json
 *   svmig-bench all       crypto, channels, stream, report
 *
 * There is no benchmark hook in the kernel: every figure comes from the
 * ioctls, read() and write() a VMM uses.  Results go to DIR (--out,
 * default build/bench): crypto.json, channels.json, stream.json (the
 * script's), bench.json and bench.txt.  Exit status: 0, 1 if a
 * measurement failed, 2 on a usage error.
 *
 * This file holds the options, usage and main; bench.h names the other
 * files of userspace/tools/bench/, one concern each, and what they share.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "bench.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [options] crypto|channels|stream|report|all\n"
"  crypto    kernel vs OpenSSL vs plain copies, seal and open, 4 KiB and 2 MiB batches\n"
"  channels  page mode with 1..N channels of one session, seal and open\n"
"  stream    run tests/bench/stream-bench.sh (QEMU plain vs svmig vs QEMU TLS)\n"
"  report    the table of all results, with the targets; bench.txt, bench.json\n"
"  all       crypto, channels, stream, report\n"
"options:\n"
"  --out DIR       results directory (default build/bench)\n"
"  --mib N         payload per run and channel, MiB (default 32)\n"
"  --reps N        runs of each case; medians are reported (default 5)\n"
"  --stream-reps N migrations of each kind (default: the script's, 3)\n"
"  --channels N    most channels (default: online CPUs)\n"
"  --socket unix|tcp  AF_UNIX socket pairs or TCP over 127.0.0.1 (default unix)\n"
"  --only STR      only cases whose PATH/IMPL/VIA/BATCH contains STR\n"
"  --no-tpm        key channels with SVMIG_KEY_NO_TPM (hosts without a TPM)\n"
"  --script PATH   the stream benchmark (default tests/bench/stream-bench.sh)\n"
"  --quick         a short check of the benchmark itself: --mib 4 --reps 1, and\n"
"                  one idle 32 MiB stream run per mode\n");
}

static int mkdir_p(const char *path)
{
	char *p = strdup(path), *q;
	int ret = 0;

	if (!p)
		return -1;
	for (q = p + 1; *q && !ret; q++)
		if (*q == '/') {
			*q = '\0';
			if (mkdir(p, 0755) && errno != EEXIST)
				ret = -1;
			*q = '/';
		}
	if (!ret && mkdir(p, 0755) && errno != EEXIST)
		ret = -1;
	free(p);
	return ret;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n == 0 || n > max)
		return -1;
	*v = (unsigned int)n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "mib", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "stream-reps", required_argument, NULL, 'R' },
		{ "channels", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'O' },
		{ "no-tpm", no_argument, NULL, 'T' },
		{ "script", required_argument, NULL, 'S' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { .o = { .out = "build/bench", .script = "tests/bench/stream-bench.sh",
				  .mib = 32, .reps = 5, .family = AF_UNIX } };
	bool mib_set = false, reps_set = false;
	const char *cmd;
	int opt, fd, ret = 0;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'o': b.o.out = optarg; break;
		case 'm':
			if (parse_uint(optarg, 4096, &b.o.mib))
				goto bad;
			mib_set = true;
			break;
		case 'r':
			if (parse_uint(optarg, 1000, &b.o.reps))
				goto bad;
			reps_set = true;
			break;
		case 'R':
			if (parse_uint(optarg, 100, &b.o.stream_reps))
				goto bad;
			break;
		case 'c':
			if (parse_uint(optarg, 256, &b.o.channels))
				goto bad;
			break;
		case 's':
			if (!strcmp(optarg, "unix"))
				b.o.family = AF_UNIX;
			else if (!strcmp(optarg, "tcp"))
				b.o.family = AF_INET;
			else
				goto bad;
			break;
		case 'O': b.o.only = optarg; break;
		case 'T': b.o.no_tpm = true; break;
		case 'S': b.o.script = optarg; break;
		case 'q': b.o.quick = true; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc - 1)
		goto bad;
	cmd = argv[optind];
	if (b.o.quick) {
		b.o.mib = mib_set ? b.o.mib : 4;
		b.o.reps = reps_set ? b.o.reps : 1;
	}
	if (!b.o.channels) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		b.o.channels = n > 0 ? (unsigned int)n : 1;
	}
	b.npages = (size_t)b.o.mib << 20 >> 12;
	signal(SIGPIPE, SIG_IGN);
	perf_open();
	if (mkdir_p(b.o.out)) {
		msg("mkdir %s: %s", b.o.out, strerror(errno));
		return 2;
	}
	/* the stream script runs in the work tree: give it an absolute path */
	b.o.out = realpath(b.o.out, NULL);
	if (!b.o.out) {
		msg("realpath: %s", strerror(errno));
		return 2;
	}
	if (RAND_bytes(b.secret, sizeof(b.secret)) != 1) {
		msg("RAND_bytes failed");
		return 1;
	}
	fd = svmig_open();
	b.have_kernel = fd >= 0;
	if (fd < 0)
		snprintf(b.kernel_note, sizeof(b.kernel_note), SVMIG_DEVICE ": %s (is svmig.ko loaded?)",
			 strerror(-fd));
	else
		close(fd);

	if (!strcmp(cmd, "crypto"))
		ret = cmd_crypto(&b);
	else if (!strcmp(cmd, "channels"))
		ret = cmd_channels(&b);
	else if (!strcmp(cmd, "stream"))
		ret = cmd_stream(&b);
	else if (!strcmp(cmd, "report"))
		ret = cmd_report(&b);
	else if (!strcmp(cmd, "all")) {
		int r;

		ret = cmd_crypto(&b);
		r = cmd_channels(&b);
		ret = ret ? ret : r;
		r = cmd_stream(&b);
		ret = ret ? ret : r;
		r = cmd_report(&b);
		ret = ret ? ret : r;
	} else {
		goto bad;
	}
	OPENSSL_cleanse(b.secret, sizeof(b.secret));
	return ret ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
