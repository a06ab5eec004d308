// SPDX-License-Identifier: GPL-2.0
/*
 * svmig.ko against the published test vectors (Documentation/wire-vectors.txt,
 * written by the OpenSSL implementation; the format is wire-format.rst's
 * "Test vectors").  Every vector's records are handed, as they are on the
 * wire, to kernel receivers set up from the vector's inputs alone (mode,
 * secret, session id, channels, session, regions, TPM-salt requirement):
 * each record through write() in page mode, or through the receiver's
 * socket and one RECV in stream mode and where the vector's stream ends
 * (only a socket can end).  Each step must get the answer the vector
 * states (accepted, stale, or refused with its errno), the session's
 * verdict must be the vector's, the counters must count what was accepted,
 * and guest memory must hold exactly the pages accepted, nothing of a
 * stale or refused one.
 *
 * Vectors whose steps skip the sequence number ahead (jump=1: epochs past 0,
 * seq past 2^32) need the OpenSSL implementation's test hook; a kernel
 * receiver cannot skip 2^20 records, so they are left to the unit tests
 * and named here.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libsvmig.h"
#include "tap.h"

#define MAX_KEYS	1024
#define MAX_CHANNELS	4
#define MAX_SLOTS	4
#define FILL		0xee
#define PG		SVMIG_PAGE_SIZE

struct vector {
	char *key[MAX_KEYS];
	char *val[MAX_KEYS];
	int n;
};

struct slot {
	uint32_t id;
	uint64_t npages;
	uint8_t *mem;		/* what the receivers write into */
	uint8_t *image;		/* what it must hold: the pages accepted */
};

struct rx {
	uint32_t channel;
	int fd, peer;
};

struct run {
	const struct vector *v;
	bool stream;
	bool sock;		/* records through a socket and RECV, not write() */
	struct slot slot[MAX_SLOTS];
	int nslots;
	struct rx rx[MAX_CHANNELS];
	int nrx;
	uint64_t want_records, want_pages, want_stale;
};

static const char *get(const struct vector *v, const char *key)
{
	int i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(v->key[i], key))
			return v->val[i];
	return NULL;
}

static const char *need(const struct vector *v, const char *key)
{
	const char *s = get(v, key);

	if (!s)
		tap_bail("vector %s: no %s", get(v, "vector"), key);
	return s;
}

static const char *step_get(const struct vector *v, int k, const char *field)
{
	char key[64];

	snprintf(key, sizeof(key), "step%d.%s", k, field);
	return get(v, key);
}

static unsigned long long num(const char *s)
{
	return strtoull(s, NULL, 10);
}

/* Hex to bytes; returns the length, or -1. */
static ssize_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t len = strlen(s), i;
	unsigned int b;

	if (len % 2 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (uint8_t)b;
	}
	return (ssize_t)(len / 2);
}

/* A step's plaintext page: plaintext= hex or plaintext_formula=(i*M+A)&0xff. */
static bool step_page(const struct vector *v, int k, uint8_t *page)
{
	const char *f = step_get(v, k, "plaintext_formula");
	const char *h = step_get(v, k, "plaintext");
	unsigned int mul, add, i;

	if (f && sscanf(f, "(i*%u+%u)&0xff", &mul, &add) == 2) {
		for (i = 0; i < PG; i++)
			page[i] = (uint8_t)(i * mul + add);
		return true;
	}
	return h && unhex(h, page, PG) == PG;
}

static int errno_of(const char *name)
{
	static const struct { const char *name; int err; } map[] = {
		{ "EPROTO", EPROTO }, { "EILSEQ", EILSEQ }, { "EBADMSG", EBADMSG },
		{ "EKEYREJECTED", EKEYREJECTED }, { "ENODATA", ENODATA },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (name && !strcmp(name, map[i].name))
			return map[i].err;
	return 0;
}

static uint32_t verdict_of(const char *name)
{
	if (!strcmp(name, "VERIFIED"))
		return SVMIG_VERDICT_VERIFIED;
	if (!strcmp(name, "MISMATCH"))
		return SVMIG_VERDICT_MISMATCH;
	return SVMIG_VERDICT_PENDING;
}

static struct rx *rx_of(struct run *r, uint32_t channel)
{
	int i;

	for (i = 0; i < r->nrx; i++)
		if (r->rx[i].channel == channel)
			return &r->rx[i];
	tap_bail("vector %s: channel %u not set up", get(r->v, "vector"), channel);
}

static struct slot *slot_of(struct run *r, uint32_t id)
{
	int i;

	for (i = 0; i < r->nslots; i++)
		if (r->slot[i].id == id)
			return &r->slot[i];
	return NULL;
}

static void setup_slots(struct run *r)
{
	const char *p = get(r->v, "regions");
	unsigned int id, n, used;

	while (p && *p && r->nslots < MAX_SLOTS && sscanf(p, "%u:%u%n", &id, &n, &used) == 2) {
		struct slot *s = &r->slot[r->nslots++];

		s->id = id;
		s->npages = n;
		s->mem = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);
		s->image = malloc(n * PG);
		if (s->mem == MAP_FAILED || !s->image)
			tap_bail("memory for slot %u", id);
		memset(s->mem, FILL, n * PG);
		memset(s->image, FILL, n * PG);
		p += used;
		if (*p == ',')
			p++;
	}
}

/* One kernel receiver per channel, keyed from the vector's inputs. */
static void setup_receivers(struct run *r)
{
	const struct vector *v = r->v;
	uint8_t secret[SVMIG_SECRET_LEN], sid[SVMIG_SESSION_ID_LEN];
	uint32_t flags = SVMIG_ROLE_RECEIVER;
	const char *p = need(v, "channels");
	int sv[2], i, used;
	unsigned int c;

	if (unhex(need(v, "secret"), secret, sizeof(secret)) != sizeof(secret) ||
	    unhex(need(v, "session_id"), sid, sizeof(sid)) != sizeof(sid))
		tap_bail("vector %s: secret or session id", get(v, "vector"));
	if (r->stream)
		flags |= SVMIG_KEY_STREAM;
	if (num(need(v, "session")))
		flags |= SVMIG_KEY_SESSION;
	if (num(need(v, "require_tpm_salt")))
		flags |= SVMIG_KEY_REQUIRE_TPM_SALT;
	while (*p && r->nrx < MAX_CHANNELS && sscanf(p, "%u%n", &c, &used) == 1) {
		struct rx *x = &r->rx[r->nrx++];

		x->channel = c;
		x->fd = svmig_open();
		if (x->fd < 0 || svmig_set_key(x->fd, flags, c, sid, secret) ||
		    socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			tap_bail("vector %s: receiver %u", get(v, "vector"), c);
		for (i = 0; i < r->nslots; i++)
			if (svmig_add_region(x->fd, r->slot[i].id, (uint64_t)r->slot[i].id << 32,
					     r->slot[i].mem, r->slot[i].npages * PG))
				tap_bail("vector %s: region %u", get(v, "vector"), r->slot[i].id);
		if (r->sock && svmig_attach_socket(x->fd, sv[1]))
			tap_bail("vector %s: attach", get(v, "vector"));
		close(sv[1]);
		x->peer = sv[0];
		p += used;
		if (*p == ',')
			p++;
	}
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* The stale count of a receiver, for telling "stale" from "accept". */
static uint64_t stale_of(int fd)
{
	struct svmig_stats st;

	return svmig_get_stats(fd, &st) ? ~0ULL : st.stale_pages;
}

/*
 * Hands step @k to its receiver and compares the answer; on an accepted
 * PAGE the page goes into the expected image.  False on any difference.
 */
static bool run_step(struct run *r, int k, uint8_t *buf, size_t bufsz)
{
	const struct vector *v = r->v;
	const char *type = step_get(v, k, "type"), *result = step_get(v, k, "result");
	struct rx *x = rx_of(r, (uint32_t)num(step_get(v, k, "channel")));
	bool eof = !strcmp(type, "EOF");
	int want = 0, ret;
	uint64_t stale0 = stale_of(x->fd);
	ssize_t len;
	uint32_t n;

	len = unhex(step_get(v, k, eof ? "cut" : "wire") ?: "", buf, bufsz);
	if (len < 0)
		tap_bail("vector %s: step %d bytes", get(v, "vector"), k);
	if (!r->sock) {
		/* One whole record: applied (or refused) before write() returns. */
		ret = write(x->fd, buf, len) == len ? 0 : -errno;
	} else {
		if (send_all(x->peer, buf, len))
			tap_bail("vector %s: step %d bytes", get(v, "vector"), k);
		if (eof)
			shutdown(x->peer, SHUT_WR);
		ret = svmig_recv(x->fd, 1, &n);
	}
	if (!strcmp(result, "refuse"))
		want = -errno_of(get(v, "errno"));
	if (ret != want) {
		tap_diag("vector %s step %d (%s): got %d (%s), want %d", get(v, "vector"), k, type,
			 ret, strerror(-ret), want);
		return false;
	}
	if (want)
		return true;
	r->want_records++;
	if (!strcmp(result, "stale")) {
		r->want_stale++;
		return stale_of(x->fd) == stale0 + 1;
	}
	if (!strcmp(type, "PAGE")) {
		struct slot *s = slot_of(r, (uint32_t)num(step_get(v, k, "slot")));
		uint64_t page = num(step_get(v, k, "page"));

		if (!s || page >= s->npages || !step_page(v, k, s->image + page * PG))
			tap_bail("vector %s: step %d's page", get(v, "vector"), k);
		r->want_pages++;
	}
	return stale_of(x->fd) == stale0;
}

static bool jumps(const struct vector *v, int steps)
{
	int k;

	for (k = 1; k <= steps; k++)
		if (step_get(v, k, "jump"))
			return true;
	return false;
}

/* 3 checks: the steps, the verdict, the counters and guest memory. */
static void run_vector(const struct vector *v)
{
	static uint8_t buf[2 * SVMIG_DATA_REC_MAX];
	const char *name = need(v, "vector");
	int steps = (int)num(need(v, "steps")), k, i;
	bool refuse = !strcmp(need(v, "expect"), "refuse"), ok = true;
	uint64_t records = 0, pages = 0, stale = 0;
	struct svmig_stats st;
	uint32_t want_verdict;
	struct run r = { .v = v };

	r.stream = !strcmp(need(v, "mode"), "stream");
	r.sock = r.stream;
	for (k = 1; k <= steps; k++)
		if (!strcmp(step_get(v, k, "type"), "EOF"))
			r.sock = true;
	setup_slots(&r);
	setup_receivers(&r);
	for (k = 1; k <= steps && ok; k++)
		ok = run_step(&r, k, buf, sizeof(buf));
	tap_ok(ok && k == steps + 1, "vector %s: svmig.ko answers each of its %d steps as stated",
	       name, steps);

	if (refuse)
		want_verdict = errno_of(get(v, "errno")) == ENODATA ? SVMIG_VERDICT_TRUNCATED :
								     SVMIG_VERDICT_FAILED;
	else
		want_verdict = verdict_of(need(v, "verdict"));
	ok = true;
	for (i = 0; i < r.nrx; i++) {
		if (svmig_get_stats(r.rx[i].fd, &st))
			tap_bail("GET_STATS");
		/* In a session a refused channel fails the session: the others agree. */
		if (st.verdict != want_verdict && !(refuse && st.verdict == SVMIG_VERDICT_FAILED))
			ok = false;
		records += st.records;
		pages += st.pages;
		stale += st.stale_pages;
	}
	if (!refuse && svmig_verify(r.rx[0].fd) !=
	    (want_verdict == SVMIG_VERDICT_VERIFIED ? 0 :
	     want_verdict == SVMIG_VERDICT_PENDING ? -EINPROGRESS : -EBADMSG))
		ok = false;
	tap_ok(ok, "vector %s: the session's verdict is %s", name,
	       refuse ? get(v, "errno") : get(v, "verdict"));

	ok = records == r.want_records && pages == r.want_pages && stale == r.want_stale;
	for (i = 0; i < r.nslots; i++)
		if (memcmp(r.slot[i].mem, r.slot[i].image, r.slot[i].npages * PG))
			ok = false;
	tap_ok(ok, "vector %s: %llu records, %llu pages written, %llu stale; memory holds "
	       "exactly the pages accepted", name, (unsigned long long)records,
	       (unsigned long long)pages, (unsigned long long)stale);

	for (i = 0; i < r.nrx; i++) {
		close(r.rx[i].fd);
		close(r.rx[i].peer);
	}
	for (i = 0; i < r.nslots; i++) {
		munmap(r.slot[i].mem, r.slot[i].npages * PG);
		free(r.slot[i].image);
	}
}

/* Reads every vector block; returns how many there are. */
static int read_vectors(const char *path, struct vector **out)
{
	struct vector *vs = NULL, *cur = NULL;
	char *line = NULL, *eq;
	size_t cap = 0;
	ssize_t len;
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		tap_bail("%s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (!strcmp(line, "end")) {
			cur = NULL;
			continue;
		}
		eq = strchr(line, '=');
		if (!eq)
			tap_bail("%s: a line that is not key=value", path);
		*eq = '\0';
		if (!strcmp(line, "vector")) {
			vs = realloc(vs, (n + 1) * sizeof(*vs));
			if (!vs)
				tap_bail("realloc");
			cur = &vs[n++];
			cur->n = 0;
		}
		if (!cur)
			continue;	/* format= */
		if (cur->n == MAX_KEYS)
			tap_bail("%s: a vector with more than %d keys", path, MAX_KEYS);
		cur->key[cur->n] = strdup(line);
		cur->val[cur->n] = strdup(eq + 1);
		if (!cur->key[cur->n] || !cur->val[cur->n])
			tap_bail("strdup");
		cur->n++;
	}
	free(line);
	fclose(f);
	*out = vs;
	return n;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "Documentation/wire-vectors.txt";
	struct vector *vs;
	int n, i, kernel = 0;

	n = read_vectors(path, &vs);
	for (i = 0; i < n; i++)
		if (!jumps(&vs[i], (int)num(need(&vs[i], "steps"))))
			kernel++;
	tap_plan(1 + 3 * kernel);
	tap_ok(n > 0 && kernel > n / 2, "%s: %d vectors, %d of them without a sequence jump",
	       path, n, kernel);
	for (i = 0; i < n; i++) {
		if (jumps(&vs[i], (int)num(need(&vs[i], "steps")))) {
			tap_diag("vector %s skips the sequence number ahead (jump=1): checked by "
				 "the unit tests (test_vectors) only", need(&vs[i], "vector"));
			continue;
		}
		run_vector(&vs[i]);
	}
	return tap_done();
}
