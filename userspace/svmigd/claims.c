// SPDX-License-Identifier: GPL-2.0
/*
 * svmigd: what the connections hold: claims (one migration per VM, one
 * arrival per host), the replay cache of request nonces, the live target
 * sessions, the unauthenticated connections' slots.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "admission.h"
#include "audit.h"
#include "daemon_int.h"
#include "util.h"

/* Forgets what is outside the window: the request check refuses it anyway. */
static void nonces_prune(struct daemon *d, int64_t now)
{
	int64_t window = d->scfg.request_window;
	size_t i, j;

	for (i = j = 0; i < d->n_nonces; i++)
		if (d->nonces[i].time >= now - 2 * window)
			d->nonces[j++] = d->nonces[i];
	d->n_nonces = j;
}

static bool nonce_seen(const struct daemon *d, const uint8_t *nonce)
{
	size_t i;

	for (i = 0; i < d->n_nonces; i++)
		if (!memcmp(d->nonces[i].nonce, nonce, SVMIGD_NONCE_LEN))
			return true;
	return false;
}

static bool claimed(struct daemon *d, const char *what)
{
	size_t i;

	for (i = 0; i < CLAIMS_MAX; i++)
		if (d->claims[i] && !strcmp(d->claims[i], what))
			return true;
	return false;
}

/* Under d->lock: 0 and @what is ours, or -1 (someone has it, or no room). */
static int claim_locked(struct daemon *d, const char *what)
{
	size_t i;

	if (claimed(d, what))
		return -1;
	for (i = 0; i < CLAIMS_MAX; i++)
		if (!d->claims[i]) {
			d->claims[i] = strdup(what);
			return d->claims[i] ? 0 : -1;
		}
	return -1;
}

int claim(struct daemon *d, const char *what)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = claim_locked(d, what);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void unclaim(struct daemon *d, const char *what)
{
	size_t i;

	if (!what[0])
		return;
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < CLAIMS_MAX; i++)
		if (d->claims[i] && !strcmp(d->claims[i], what)) {
			free(d->claims[i]);
			d->claims[i] = NULL;
			break;
		}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/*
 * The target's last say on an allowed request (session.h): not a replay,
 * not a VM already migrating here or away, and not a second migration
 * from the same host at once (the data listener tells the migrations
 * arriving at once apart only by their peer's address).
 */
int check_request(void *arg, const struct svmigd_request_verified *v,
		  char *why, size_t whylen)
{
	struct conn *c = arg;
	struct daemon *d = c->d;
	int64_t now = time(NULL);
	char vm[sizeof(c->claim_vm)], from[sizeof(c->claim_from)];
	int ret = -1;

	snprintf(vm, sizeof(vm), "vm:%s", v->req.vm);
	snprintf(from, sizeof(from), "from:%s", v->req.source);
	pthread_mutex_lock(&d->lock);
	nonces_prune(d, now);
	if (nonce_seen(d, v->req.nonce))
		snprintf(why, whylen, "replayed request (nonce seen before)");
	else if (d->n_nonces == NONCES_MAX)
		snprintf(why, whylen, "too many recent requests");
	else if (claimed(d, vm))
		snprintf(why, whylen, "vm %s is migrating here or away already",
			 v->req.vm);
	else if (claimed(d, from))
		snprintf(why, whylen, "a migration from %s is arriving already "
			 "(one at a time from each host)", v->req.source);
	else if (claim_locked(d, vm))
		snprintf(why, whylen, "too many migrations at once");
	else if (claim_locked(d, from)) {
		snprintf(why, whylen, "too many migrations at once");
		pthread_mutex_unlock(&d->lock);
		unclaim(d, vm);
		return -1;
	} else {
		memcpy(d->nonces[d->n_nonces].nonce, v->req.nonce,
		       SVMIGD_NONCE_LEN);
		d->nonces[d->n_nonces++].time = now;
		snprintf(c->claim_vm, sizeof(c->claim_vm), "%s", vm);
		snprintf(c->claim_from, sizeof(c->claim_from), "%s", from);
		ret = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* session.h's admit: the VMs running and arriving here count (admission.h). */
const char *admit(void *arg, const struct svmigd_request *r,
		  const struct svmigd_policy_host *me, char *detail, size_t len)
{
	struct daemon *d = ((struct conn *)arg)->d;

	return svmigd_admit_request(d->qmp_dir, r->vm, r->vm_mem_mib,
				    r->vm_vcpus, d->cfg.max_mem_mib,
				    d->cfg.max_vcpus, me->max_mem_mib,
				    me->max_vcpus, me->name, detail, len);
}

/* session.h's session_live: a target session of ours still being served. */
bool session_live(void *arg, const uint8_t *id)
{
	struct daemon *d = ((struct conn *)arg)->d;
	bool live = false;
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < CAP_CONNS && !live; i++)
		live = d->live_used[i] &&
		       !memcmp(d->live[i], id, SVMIGD_SESSION_ID_LEN);
	pthread_mutex_unlock(&d->lock);
	return live;
}

void live_add(struct conn *c, const uint8_t *id)
{
	struct daemon *d = c->d;
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < CAP_CONNS; i++)
		if (!d->live_used[i]) {
			memcpy(d->live[i], id, SVMIGD_SESSION_ID_LEN);
			d->live_used[i] = true;
			c->live_slot = (int)i;
			break;
		}
	pthread_mutex_unlock(&d->lock);
}

/*
 * One record of our audit log: a request we verified as the target within
 * the window, whose nonce a restart must not forget.
 */
static int nonce_from_audit(void *arg, struct json_object *rec)
{
	struct daemon *d = arg;
	struct json_object *det, *t;
	uint8_t nonce[SVMIGD_NONCE_LEN];

	if (!json_object_object_get_ex(rec, "details", &det) ||
	    !json_object_object_get_ex(rec, "time", &t) ||
	    !is(jstr(rec, "event"), "request") || !is(jstr(det, "role"), "target") ||
	    !jstr(det, "nonce") ||
	    svmigd_hex_decode(nonce, sizeof(nonce), jstr(det, "nonce")) ||
	    json_object_get_int64(t) < (int64_t)time(NULL) - 2 * d->scfg.request_window ||
	    nonce_seen(d, nonce) || d->n_nonces == NONCES_MAX)
		return 0;
	memcpy(d->nonces[d->n_nonces].nonce, nonce, sizeof(nonce));
	d->nonces[d->n_nonces++].time = json_object_get_int64(t);
	return 0;
}

/*
 * The replay cache lives in memory; the audit log, verified with our own
 * key, refills it at start-up with the requests seen within the window.
 * A log that does not verify cannot be appended to either, and every
 * session audits its REQUEST first: no request is admitted then, so none
 * can be replayed; svmigd still starts, to settle its journal.
 */
void nonces_load(struct daemon *d)
{
	struct svmigd_audit_report rep;
	char err[512];
	int ret;

	ret = svmigd_audit_walk(d->cfg.audit_log, d->key, nonce_from_audit, d,
				&rep, err, sizeof(err));
	if (ret && ret != -ENOENT)
		logp_(LOG_WARNING, "audit log: %s: no session can be audited", err);
	else
		logp_(LOG_INFO, "replay cache: %zu request nonces of the last %lld s from "
		      "the audit log (%llu records)", d->n_nonces,
		      (long long)(2 * d->scfg.request_window),
		      (unsigned long long)rep.records);
}

/* The connection's peer is authenticated: its unauthenticated slot is free. */
void conn_authenticated(struct conn *c)
{
	struct daemon *d = c->d;

	pthread_mutex_lock(&d->lock);
	if (c->unauth_slot >= 0) {
		d->unauth_used[c->unauth_slot] = false;
		d->n_unauth--;
		c->unauth_slot = -1;
	}
	pthread_mutex_unlock(&d->lock);
}

/* Under d->lock: the bookkeeping of a connection that ends. */
void conn_release_locked(struct conn *c)
{
	struct daemon *d = c->d;

	if (c->unauth_slot >= 0) {
		d->unauth_used[c->unauth_slot] = false;
		d->n_unauth--;
		c->unauth_slot = -1;
	}
	if (c->live_slot >= 0)
		d->live_used[c->live_slot] = false;
	if (c->client)
		d->n_clients--;
	else
		d->n_conns--;
	pthread_cond_broadcast(&d->cond);
}
