// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl's private header (not part of libsvmigd): the options as
 * svmigctl.c parses them, the helpers the commands share, the progress of
 * migrate, and the commands that svmigctl.c's table names.
 *
 *   svmigctl.c      the command and option tables, argument parsing, help, main
 *   ctl_json.c      svmigd's answers read, the --json output built and printed
 *   ctl_errors.c    a missing option, a setup error (also as --json)
 *   ctl_progress.c  what migrate shows while it runs: lines or a bar
 *   ctl_daemon.c    the commands that ask the running svmigd: migrate, status,
 *                   attest, settle
 *   ctl_offline.c   the commands on signed files: request, audit verify, policy check
 *   ctl_tpm.c       the commands on this host's TPM: tpm-ak, tpm-bind-authority,
 *                   tpm-authority
 *   ctl_policy_nv.c tpm-bind-policy, tpm-policy: the policy binding with its
 *                   rollback counter (policy_nv.h)
 *
 * Every command returns svmigctl's exit status: 0 success, 1 refused or
 * broken, 2 usage or setup error.
 */
#ifndef SVMIGD_CTL_H
#define SVMIGD_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#define PROG "svmigctl"

struct args {
	const char *socket, *config, *request, *vm, *source, *target, *cert,
		   *key, *out, *log, *policy, *sig, *authority, *tcti, *pcrs,
		   *peer, *nv_index, *counter_index, *owner_auth_file, *outcome, *libvirt, *to, *ek_ca,
		   *peer_certs, *ca, *anchor;	/* audit verify */
	unsigned long long mem;
	unsigned long vcpus;
	unsigned int channels;		/* migrate --libvirt: multifd, 0: none */
	bool postcopy;			/* migrate --postcopy: refused */
	bool json;
};

static inline bool is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

/* ctl_json.c */
const char *jstr(struct json_object *o, const char *key);
long long jnum(struct json_object *o, const char *key);
bool jbool(struct json_object *o, const char *key);
void add_str(struct json_object *o, const char *key, const char *val);
void add_int(struct json_object *o, const char *key, long long v);
void print_json(struct json_object *o);

/* ctl_libvirt.c: --libvirt DOMAIN --to HOST name the request's VM and target */
int ctl_libvirt_check(const struct args *a, struct json_object *signed_req);

/* ctl_errors.c */
int need(const char *v, const char *name);
int setup_fail(const struct args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ctl_progress.c */
enum show { SHOW_NONE, SHOW_LINES, SHOW_BAR };

/* What migrate shows while it runs, and remembers for its summary. */
struct prog {
	enum show show;
	bool bar_on;			/* the cursor stands after a bar */
	long long t0;			/* ms: the request went out */
	struct json_object *session;	/* the "session" line, if any */
	struct json_object *done;	/* the "data" line of "completed" */
};

void prog_event(struct prog *p, struct json_object *o);
void bar_end(struct prog *p);
void prog_free(struct prog *p);

/* ctl_daemon.c */
int cmd_migrate(const struct args *a);
int cmd_status(const struct args *a);
int cmd_attest(const struct args *a);
int cmd_settle(const struct args *a);

/* ctl_offline.c */
int cmd_request(const struct args *a);
int cmd_audit_verify(const struct args *a);
int cmd_policy_check(const struct args *a);

/* ctl_tpm.c */
int cmd_tpm_ak(const struct args *a);
int cmd_tpm_ek(const struct args *a);
int cmd_tpm_bind_authority(const struct args *a);
int cmd_tpm_authority(const struct args *a);
int ctl_parse_nv_index(const char *s, uint32_t *out);
int ctl_read_owner_auth(const char *path, char *buf, size_t size);
int ctl_tpm_open_fail(const struct args *a, const char *tcti, int ret);

/* ctl_policy_nv.c */
int cmd_tpm_bind_policy(const struct args *a);
int cmd_tpm_policy(const struct args *a);

#endif
