// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: the daemon's vTPM steps (vtpm.h; Documentation/svmigd.rst,
 * "vTPM: bound to the VM"): the source's VTPM once its VM stopped for
 * good, the target's check before its receipt, and the source's
 * destruction of its copy once the target runs the VM.
 */
#include <syslog.h>

#include "daemon_int.h"
#include "util.h"
#include "vtpm.h"

#define VTPM_DESTROY_WAIT_MS	10000	/* for the source's swtpm to let go */

int mig_vtpm_check(struct mig *m)
{
	char err[SVMIGD_SESSION_ERR_LEN], hex[2 * SVMIGD_SHA256_LEN + 1];

	if (svmigd_vtpm_recv(m->conn, m->d->cfg.vtpm_dir, m->s->id,
			     m->s->request.req.vm,
			     svmigd_session_timeout(&m->d->scfg), hex, err,
			     sizeof(err)))
		return failf(m, "%s", err);
	audit_with(m, "vtpm", "verified", "state", hex);
	return 0;
}

int mig_vtpm_send(struct mig *m)
{
	char err[SVMIGD_SESSION_ERR_LEN], hex[2 * SVMIGD_SHA256_LEN + 1];

	if (svmigd_vtpm_send(m->conn, m->d->scfg.host_key, m->d->cfg.vtpm_dir,
			     m->s->id, m->s->request.req.vm,
			     svmigd_session_timeout(&m->d->scfg), hex, err,
			     sizeof(err)))
		return failf(m, "%s", err);
	progress(m, "vtpm", "vTPM state %s sent for %s to check", hex, m->s->peer);
	audit_with(m, "vtpm", "sent", "state", hex);
	return 0;
}

void mig_vtpm_destroy(struct mig *m)
{
	char err[SVMIGD_SESSION_ERR_LEN], dir[4096];
	unsigned int files;

	if (svmigd_vtpm_destroy_vm(m->d->cfg.vtpm_dir, m->s->request.req.vm,
				   VTPM_DESTROY_WAIT_MS, &files, dir, sizeof(dir),
				   err, sizeof(err))) {
		logp_(LOG_CRIT, "vm %s runs on %s, but its vTPM state here was "
		      "not destroyed: %s: REMOVE IT BY HAND", m->s->request.req.vm,
		      m->s->peer, err);
		audit(m, "failed", "vtpm-destroy", err);
		return;
	}
	if (!files)
		return;
	progress(m, "vtpm", "vTPM state in %s destroyed (%u files)", dir, files);
	audit_with(m, "vtpm", "destroyed", "dir", dir);
}
