// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl: the operator's CLI for svmigd (Documentation/svmigd.rst).
 *
 *   svmigctl migrate --request FILE [--socket PATH | --config FILE] [--json]
 *   svmigctl status [--socket PATH | --config FILE]
 *   svmigctl request --vm V --source A --target B --mem MIB --vcpus N
 *                    --cert C --key K --out FILE
 *   svmigctl audit verify --log F --cert C [--json]
 *   svmigctl policy check --policy P --sig S --authority A --cert OPCERT
 *                    --vm V --source A --target B [--json]
 *   svmigctl tpm-ak [--tcti T] [--pcrs 0,7] [--json]
 *
 * Exit status: 0 success (allowed, intact), 1 failure (refused, broken),
 * 2 usage or setup error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "config.h"
#include "daemon.h"
#include "policy.h"
#include "request.h"
#include "tpm.h"

#define PROG "svmigctl"

struct args {
	const char *socket, *config, *request, *vm, *source, *target, *cert,
		   *key, *out, *log, *policy, *sig, *authority, *tcti, *pcrs;
	unsigned long long mem;
	unsigned long vcpus;
	bool json;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " migrate --request FILE [--socket PATH | --config FILE] [--json]\n"
"       " PROG " status [--socket PATH | --config FILE]\n"
"       " PROG " request --vm V --source A --target B --mem MIB --vcpus N\n"
"                --cert C --key K --out FILE\n"
"       " PROG " audit verify --log F --cert C [--json]\n"
"       " PROG " policy check --policy P --sig S --authority A --cert OPCERT\n"
"                --vm V --source A --target B [--json]\n"
"       " PROG " tpm-ak [--tcti T] [--pcrs 0,7] [--json]\n");
}

static int need(const char *v, const char *name)
{
	if (v)
		return 0;
	fprintf(stderr, PROG ": %s is required\n", name);
	return -1;
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ------------------------------------------------------------ daemon */

static int ctl_connect(const struct args *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct svmigd_config cfg;
	char err[512];
	int fd;

	if (a->socket) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->socket);
	} else {
		if (svmigd_config_load(&cfg, a->config ?: "/etc/svmigd/svmigd.conf",
				       err, sizeof(err))) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/" SVMIGD_SOCK_NAME,
			 cfg.state_dir);
		svmigd_config_free(&cfg);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, PROG ": %s: %s\n", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Sends @req, then prints the answers until the result: its "ok". */
static int ctl_talk(const struct args *a, struct json_object *req)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	int fd, rc = 1;

	fd = ctl_connect(a);
	if (fd < 0)
		return 2;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s) || write(fd, "\n", 1) != 1) {
		fprintf(stderr, PROG ": write: %s\n", strerror(errno));
		close(fd);
		return 2;
	}
	in = fdopen(fd, "r");
	if (!in) {
		close(fd);
		return 2;
	}
	while (getline(&line, &cap, in) > 0) {
		struct json_object *o = json_tokener_parse(line), *v;
		const char *type;

		if (!o)
			continue;
		type = json_object_object_get_ex(o, "type", &v) ?
		       json_object_get_string(v) : "";
		if (a->json) {
			fputs(line, stdout);
		} else if (!strcmp(type, "progress")) {
			printf("%s: %s\n",
			       json_object_get_string(json_object_object_get(o, "step")),
			       json_object_get_string(json_object_object_get(o, "detail")));
		}
		if (!strcmp(type, "result")) {
			bool ok = json_object_object_get_ex(o, "ok", &v) &&
				  json_object_get_boolean(v);

			if (!a->json) {
				if (json_object_object_get_ex(o, "error", &v))
					printf("result: FAILED: %s\n", json_object_get_string(v));
				else
					printf("result: %s %s\n", ok ? "ok" : "FAILED",
					       json_object_to_json_string_ext(o,
						       JSON_C_TO_STRING_PLAIN));
			}
			rc = ok ? 0 : 1;
			json_object_put(o);
			break;
		}
		json_object_put(o);
	}
	fflush(stdout);
	free(line);
	fclose(in);
	return rc;
}

static int cmd_migrate(const struct args *a)
{
	struct json_object *req, *signed_req;
	char err[512];
	uint8_t *buf;
	size_t len;
	int rc;

	if (need(a->request, "--request"))
		return 2;
	if (svmigd_read_file(a->request, SVMIGD_REQUEST_MAX, &buf, &len, err,
			     sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	if (svmigd_json_parse((char *)buf, len, 16, &signed_req, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s: %s\n", a->request, err);
		free(buf);
		return 2;
	}
	free(buf);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("migrate"));
	json_object_object_add(req, "request", signed_req);
	rc = ctl_talk(a, req);
	json_object_put(req);
	return rc;
}

static int cmd_status(const struct args *a)
{
	struct json_object *req = json_object_new_object();
	struct args b = *a;
	int rc;

	b.json = true;
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	rc = ctl_talk(&b, req);
	json_object_put(req);
	return rc;
}

/* ------------------------------------------------------------ request */

static int cmd_request(const struct args *a)
{
	struct svmigd_request r;
	char err[512], *out = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	FILE *f;
	int rc = 2;

	if (need(a->vm, "--vm") || need(a->source, "--source") ||
	    need(a->target, "--target") || need(a->cert, "--cert") ||
	    need(a->key, "--key") || need(a->out, "--out"))
		return 2;
	if (!a->mem || !a->vcpus) {
		fprintf(stderr, PROG ": --mem and --vcpus are required\n");
		return 2;
	}
	if (svmigd_request_init(&r, a->vm, a->source, a->target, a->mem,
				(uint32_t)a->vcpus, err, sizeof(err)))
		goto fail;
	cert = svmigd_load_cert(a->cert, err, sizeof(err));
	if (!cert)
		goto fail;
	key = svmigd_load_key(a->key, err, sizeof(err));
	if (!key)
		goto fail;
	if (svmigd_request_sign(&r, key, cert, &out, err, sizeof(err)))
		goto fail;
	f = fopen(a->out, "w");
	if (!f || fprintf(f, "%s\n", out) < 0 || fclose(f)) {
		snprintf(err, sizeof(err), "%s: %s", a->out, strerror(errno));
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, PROG ": %s\n", err);
out:
	free(out);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}

/* ------------------------------------------------------------ audit */

static int cmd_audit_verify(const struct args *a)
{
	struct svmigd_audit_report rep;
	char err[1024], hex[SVMIGD_SHA256_HEX_LEN + 1];
	int ret;

	if (need(a->log, "--log") || need(a->cert, "--cert"))
		return 2;
	memset(&rep, 0, sizeof(rep));
	ret = svmigd_audit_verify(a->log, a->cert, &rep, err, sizeof(err));
	svmigd_hex_encode(hex, rep.last_sha256, SVMIGD_SHA256_LEN);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "intact", json_object_new_boolean(!ret));
		json_object_object_add(o, "records", json_object_new_int64((int64_t)rep.records));
		json_object_object_add(o, "last_sha256", json_object_new_string(hex));
		if (ret)
			json_object_object_add(o, "error", json_object_new_string(err));
		print_json(o);
		json_object_put(o);
	} else if (!ret) {
		printf("%s: %llu records, intact; last %s\n", a->log,
		       (unsigned long long)rep.records, hex);
	} else {
		printf("%s: BROKEN: %s\n", a->log, err);
	}
	return ret == 0 ? 0 : ret == -EBADMSG ? 1 : 2;
}

/* ------------------------------------------------------------ policy */

static int cmd_policy_check(const struct args *a)
{
	struct svmigd_policy_decision dec;
	struct svmigd_policy *p = NULL;
	uint8_t fpr[SVMIGD_SHA256_LEN];
	char err[1024];
	X509 *cert;
	int ret;

	if (need(a->policy, "--policy") || need(a->sig, "--sig") ||
	    need(a->authority, "--authority") || need(a->cert, "--cert") ||
	    need(a->vm, "--vm") || need(a->source, "--source") ||
	    need(a->target, "--target"))
		return 2;
	if (svmigd_policy_load(&p, a->policy, a->sig, a->authority, err,
			       sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	cert = svmigd_load_cert(a->cert, err, sizeof(err));
	if (!cert || svmigd_cert_sha256(cert, fpr)) {
		fprintf(stderr, PROG ": %s\n", err);
		X509_free(cert);
		svmigd_policy_free(p);
		return 2;
	}
	ret = svmigd_policy_decide(p, fpr, a->vm, a->source, a->target, &dec);
	if (a->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "allowed", json_object_new_boolean(!ret));
		json_object_object_add(o, "check", json_object_new_int(dec.check));
		json_object_object_add(o, "reason", json_object_new_string(dec.reason));
		if (dec.operator)
			json_object_object_add(o, "operator", json_object_new_string(dec.operator));
		if (dec.role)
			json_object_object_add(o, "role", json_object_new_string(dec.role));
		print_json(o);
		json_object_put(o);
	} else {
		printf("%s: %s\n", ret ? "refused" : "allowed", dec.reason);
	}
	X509_free(cert);
	svmigd_policy_free(p);
	return ret ? 1 : 0;
}

/* ------------------------------------------------------------ tpm-ak */

static int cmd_tpm_ak(const struct args *a)
{
	unsigned int idx[SVMIGD_TPM_PCR_COUNT];
	struct svmigd_tpm_pcrs pcrs = { 0 };
	struct svmigd_tpm_ak ak;
	struct svmigd_tpm *t;
	char hex[SVMIGD_SHA256_HEX_LEN + 1], key[8];
	const char *p = a->pcrs ?: "";
	size_t n = 0, i;
	int ret;

	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v >= SVMIGD_TPM_PCR_COUNT || n == SVMIGD_TPM_PCR_COUNT ||
		    (*end && *end != ',')) {
			fprintf(stderr, PROG ": bad --pcrs\n");
			return 2;
		}
		idx[n++] = (unsigned int)v;
		p = *end ? end + 1 : end;
	}
	ret = svmigd_tpm_open(a->tcti ?: SVMIGD_DEFAULT_TCTI, &t);
	if (ret) {
		fprintf(stderr, PROG ": TPM: %s\n", svmigd_tpm_strerror(ret));
		return 2;
	}
	ret = svmigd_tpm_ak(t, &ak);
	if (!ret && n)
		ret = svmigd_tpm_pcr_read(t, idx, n, &pcrs);
	if (ret) {
		fprintf(stderr, PROG ": TPM: %s (%s)\n", svmigd_tpm_strerror(ret),
			svmigd_tpm_last_error(t));
		svmigd_tpm_close(t);
		return 2;
	}
	svmigd_tpm_close(t);
	svmigd_hex_encode(hex, ak.sha256, SVMIGD_SHA256_LEN);
	if (a->json) {
		struct json_object *o = json_object_new_object();
		struct json_object *po = json_object_new_object();

		json_object_object_add(o, "ak_sha256", json_object_new_string(hex));
		for (i = 0; i < pcrs.count; i++) {
			svmigd_hex_encode(hex, pcrs.value[i], SVMIGD_SHA256_LEN);
			snprintf(key, sizeof(key), "%u", pcrs.index[i]);
			json_object_object_add(po, key, json_object_new_string(hex));
		}
		json_object_object_add(o, "pcrs", po);
		print_json(o);
		json_object_put(o);
	} else {
		printf("ak_sha256 %s\n", hex);
		for (i = 0; i < pcrs.count; i++) {
			svmigd_hex_encode(hex, pcrs.value[i], SVMIGD_SHA256_LEN);
			printf("pcr %u %s\n", pcrs.index[i], hex);
		}
	}
	return 0;
}

/* ------------------------------------------------------------ main */

static int bad_number(const char *opt, const char *val)
{
	fprintf(stderr, PROG ": %s: not a number in range: %s\n", opt, val);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'C' },
		{ "request", required_argument, NULL, 'r' },
		{ "vm", required_argument, NULL, 'v' },
		{ "source", required_argument, NULL, 's' },
		{ "target", required_argument, NULL, 't' },
		{ "mem", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'n' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "log", required_argument, NULL, 'l' },
		{ "policy", required_argument, NULL, 'p' },
		{ "sig", required_argument, NULL, 'g' },
		{ "authority", required_argument, NULL, 'a' },
		{ "tcti", required_argument, NULL, 'T' },
		{ "pcrs", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct args a = { 0 };
	const char *cmd, *sub = NULL;
	uint64_t num;
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	if ((!strcmp(cmd, "audit") || !strcmp(cmd, "policy")) && argc > 2) {
		sub = argv[2];
		optind = 3;
	}
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'S': a.socket = optarg; break;
		case 'C': a.config = optarg; break;
		case 'r': a.request = optarg; break;
		case 'v': a.vm = optarg; break;
		case 's': a.source = optarg; break;
		case 't': a.target = optarg; break;
		case 'm':
			if (svmigd_parse_u64(optarg, 1, 1ULL << 30, &num))
				return bad_number("--mem", optarg);
			a.mem = num;
			break;
		case 'n':
			if (svmigd_parse_u64(optarg, 1, 4096, &num))
				return bad_number("--vcpus", optarg);
			a.vcpus = num;
			break;
		case 'c': a.cert = optarg; break;
		case 'k': a.key = optarg; break;
		case 'o': a.out = optarg; break;
		case 'l': a.log = optarg; break;
		case 'p': a.policy = optarg; break;
		case 'g': a.sig = optarg; break;
		case 'a': a.authority = optarg; break;
		case 'T': a.tcti = optarg; break;
		case 'P': a.pcrs = optarg; break;
		case 'j': a.json = true; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(&a);
	if (!strcmp(cmd, "status"))
		return cmd_status(&a);
	if (!strcmp(cmd, "request"))
		return cmd_request(&a);
	if (!strcmp(cmd, "audit") && sub && !strcmp(sub, "verify"))
		return cmd_audit_verify(&a);
	if (!strcmp(cmd, "policy") && sub && !strcmp(sub, "check"))
		return cmd_policy_check(&a);
	if (!strcmp(cmd, "tpm-ak"))
		return cmd_tpm_ak(&a);
	usage(stderr);
	return 2;
}
