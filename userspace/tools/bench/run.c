// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: the commands that measure: crypto (every case, both batch
 * sizes, interleaved runs), channels (1..N kernel channels at once) and
 * stream (tests/bench/stream-bench.sh); each writes its JSON.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"

/* ---- crypto -------------------------------------------------------------- */

static bool wanted(const struct bench *b, const char *id, unsigned int batch)
{
	char name[96];

	if (!b->o.only)
		return true;
	snprintf(name, sizeof(name), "%s/%u", id, batch);
	return strstr(name, b->o.only) != NULL;
}

static const char *family_name(int family)
{
	return family == AF_UNIX ? "AF_UNIX" : "TCP 127.0.0.1";
}

static struct json_object *result_json(const char *id, const char *what, unsigned int batch,
				       unsigned int channels, size_t bytes,
				       const struct sample *s, size_t n)
{
	struct json_object *r = json_object_new_object();
	double wall = median_of(s, n, offsetof(struct sample, wall));
	double cpu = median_of(s, n, offsetof(struct sample, cpu));
	double user = median_of(s, n, offsetof(struct sample, user));
	double sys = median_of(s, n, offsetof(struct sample, sys));
	double proc = median_of(s, n, offsetof(struct sample, proc));
	size_t i;

	json_object_object_add(r, "id", json_object_new_string(id));
	json_object_object_add(r, "what", json_object_new_string(what));
	json_object_object_add(r, "batch_pages", json_object_new_int((int)batch));
	if (channels)
		json_object_object_add(r, "channels", json_object_new_int((int)channels));
	json_object_object_add(r, "payload_bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(r, "runs", json_object_new_int((int)n));
	json_object_object_add(r, "wall_s", jnum(wall));
	json_object_object_add(r, "cpu_s", jnum(cpu));
	json_object_object_add(r, "user_s", jnum(user));
	json_object_object_add(r, "sys_s", jnum(sys));
	json_object_object_add(r, "process_cpu_s", jnum(proc));
	json_object_object_add(r, "mib_s", jnum(n && wall > 0 ? bytes / MIB / wall : NAN));
	json_object_object_add(r, "mib_s_per_core", jnum(n && cpu > 0 ? bytes / MIB / cpu : NAN));
	json_object_object_add(r, "cpu_s_per_gib", jnum(n && bytes ? cpu / (bytes / GIB) : NAN));
	json_object_object_add(r, "tx_copied_share",
			       jnum(median_of(s, n, offsetof(struct sample, tx_copied))));
	json_object_object_add(r, "rx_reads_per_record",
			       jnum(median_of(s, n, offsetof(struct sample, rx_reads))));
	/* each run's throughput too, to show the spread */
	{
		struct json_object *a = json_object_new_array();

		for (i = 0; i < n; i++)
			json_object_array_add(a, jnum(s[i].wall > 0 ? bytes / MIB / s[i].wall : NAN));
		json_object_object_add(r, "mib_s_runs", a);
	}
	return r;
}

int cmd_crypto(struct bench *b)
{
	const size_t ncase = ncases * NBATCHES;
	struct sample *s = calloc(ncase * b->o.reps, sizeof(*s));
	size_t *nok = calloc(ncase, sizeof(*nok));
	struct json_object *top, *results;
	unsigned int rep, bi;
	int failed = 0, ret;
	struct data d;
	struct job j;
	size_t ci, k;

	if (!s || !nok)
		return -ENOMEM;
	printf("# crypto: %u MiB per run, %u runs each, %s sockets%s\n", b->o.mib, b->o.reps,
	       family_name(b->o.family), b->have_kernel ? "" : ", NO KERNEL CASES");
	fflush(stdout);
	ret = data_init(b, 0, true, &d);
	if (ret) {
		msg("preparing the data: %s", strerror(-ret));
		return ret;
	}
	for (rep = 0; rep < b->o.reps; rep++) {
		for (ci = 0; ci < ncases; ci++) {
			for (bi = 0; bi < NBATCHES; bi++) {
				const struct ccase *c = &cases[ci];

				k = ci * NBATCHES + bi;
				if ((c->kernel && !b->have_kernel) || !wanted(b, c->id, batches[bi]) ||
				    (c->only_batch && c->only_batch != batches[bi]))
					continue;
				if (c->input == IN_EVP && evp_prepare(b, &d, batches[bi])) {
					msg("%s: preparing EVP messages failed", c->id);
					failed = 1;
					continue;
				}
				memset(d.dst, 0, d.npages * PAGE);
				job_init(&j, b, &d, c, batches[bi], 0);
				ret = c->run(&j);
				if (!ret)
					ret = check_open(&j, c);
				if (ret) {
					msg("%s batch %u: %s", c->id, batches[bi], j.err);
					failed = 1;
					continue;
				}
				s[k * b->o.reps + nok[k]++] = j.s;
				printf("# %-22s batch %3u run %u: %8.1f MiB/s, %8.1f MiB/s per core\n",
				       c->id, batches[bi], rep + 1, d.npages * PAGE / MIB / j.s.wall,
				       d.npages * PAGE / MIB / j.s.cpu);
				fflush(stdout);
			}
		}
	}

	top = json_object_new_object();
	results = json_object_new_array();
	json_object_object_add(top, "machine", machine_json(b));
	json_object_object_add(top, "mib_per_run", json_object_new_int((int)b->o.mib));
	json_object_object_add(top, "reps", json_object_new_int((int)b->o.reps));
	json_object_object_add(top, "socket", json_object_new_string(family_name(b->o.family)));
	json_object_object_add(top, "record_bytes", json_object_new_int((int)REC));
	if (!b->have_kernel)
		json_object_object_add(top, "kernel_missing", json_object_new_string(b->kernel_note));
	for (ci = 0; ci < ncases; ci++)
		for (bi = 0; bi < NBATCHES; bi++) {
			k = ci * NBATCHES + bi;
			if (nok[k])
				json_object_array_add(results,
					result_json(cases[ci].id, cases[ci].what, batches[bi], 0,
						    d.npages * PAGE, s + k * b->o.reps, nok[k]));
		}
	json_object_object_add(top, "results", results);
	data_free(&d);
	free(s);
	free(nok);
	print_crypto(stdout, top);
	ret = save_json(b, "crypto.json", top);
	json_object_put(top);
	return failed || ret ? -EIO : 0;
}

/* ---- channels ------------------------------------------------------------- */

struct worker {
	pthread_t thr;
	struct job j;
	const struct ccase *c;
	int ret;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->ret = w->c->run(&w->j);
	if (!w->ret)
		w->ret = check_open(&w->j, w->c);
	return NULL;
}

/* N channels at once; the aggregate sample spans first start to last end. */
static int run_channels(struct bench *b, struct data *d, const struct ccase *c,
			unsigned int n, struct sample *agg)
{
	struct worker *w = calloc(n, sizeof(*w));
	pthread_barrier_t bar;
	double t0 = INFINITY, t1 = 0;
	unsigned int i;
	int ret = 0;

	if (!w)
		return -ENOMEM;
	pthread_barrier_init(&bar, NULL, n);
	memset(agg, 0, sizeof(*agg));
	for (i = 0; i < n; i++) {
		memset(d[i].dst, 0, d[i].npages * PAGE);
		job_init(&w[i].j, b, &d[i], c, BIG_BATCH, i);
		w[i].j.barrier = &bar;
		w[i].c = c;
		/* the others would wait at the barrier for ever */
		if (pthread_create(&w[i].thr, NULL, worker_main, &w[i])) {
			msg("cannot start thread %u of %u", i, n);
			exit(1);
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].thr, NULL);
		if (w[i].ret) {
			msg("%s, channel %u of %u: %s", c->id, i, n, w[i].j.err);
			ret = w[i].ret;
			continue;
		}
		t0 = fmin(t0, ts(&w[i].j.t0.wall));
		t1 = fmax(t1, ts(&w[i].j.t1.wall));
		agg->cpu += w[i].j.s.cpu;
		agg->user += w[i].j.s.user;
		agg->sys += w[i].j.s.sys;
		agg->proc = fmax(agg->proc, w[i].j.s.proc);
	}
	agg->wall = t1 - t0;
	pthread_barrier_destroy(&bar);
	free(w);
	return ret;
}

int cmd_channels(struct bench *b)
{
	const struct ccase *const which[] = { find_case("seal/kernel/socket"),
					      find_case("open/kernel/socket") };
	const unsigned int nwhich = 2, maxn = b->o.channels;
	struct sample *s = calloc((size_t)nwhich * maxn * b->o.reps, sizeof(*s));
	size_t *nok = calloc((size_t)nwhich * maxn, sizeof(*nok));
	struct json_object *top, *results;
	struct data *d = calloc(maxn, sizeof(*d));
	unsigned int rep, n, wi, i;
	int failed = 0, ret = 0;
	size_t k;

	if (!s || !nok || !d)
		return -ENOMEM;
	if (!b->have_kernel) {
		msg("channels: %s", b->kernel_note);
		return -ENODEV;
	}
	printf("# channels: 1..%u channels of one session, %u MiB each per run, %u runs, "
	       "%s sockets, batches of %u pages\n", maxn, b->o.mib, b->o.reps,
	       family_name(b->o.family), BIG_BATCH);
	fflush(stdout);
	for (i = 0; i < maxn && !ret; i++)
		ret = data_init(b, i, false, &d[i]);
	if (ret) {
		msg("preparing the data: %s", strerror(-ret));
		return ret;
	}
	for (rep = 0; rep < b->o.reps; rep++)
		for (n = 1; n <= maxn; n++)
			for (wi = 0; wi < nwhich; wi++) {
				struct sample agg;

				k = (size_t)wi * maxn + (n - 1);
				if (!wanted(b, which[wi]->id, BIG_BATCH))
					continue;
				ret = run_channels(b, d, which[wi], n, &agg);
				if (ret) {
					failed = 1;
					continue;
				}
				s[k * b->o.reps + nok[k]++] = agg;
				printf("# %-20s %u channel%s run %u: %8.1f MiB/s in all, "
				       "%.2f CPU-s\n", which[wi]->id, n, n > 1 ? "s" : " ", rep + 1,
				       n * d[0].npages * PAGE / MIB / agg.wall, agg.cpu);
				fflush(stdout);
			}

	top = json_object_new_object();
	results = json_object_new_array();
	json_object_object_add(top, "machine", machine_json(b));
	json_object_object_add(top, "mib_per_channel", json_object_new_int((int)b->o.mib));
	json_object_object_add(top, "reps", json_object_new_int((int)b->o.reps));
	json_object_object_add(top, "socket", json_object_new_string(family_name(b->o.family)));
	json_object_object_add(top, "max_channels", json_object_new_int((int)maxn));
	for (wi = 0; wi < nwhich; wi++)
		for (n = 1; n <= maxn; n++) {
			k = (size_t)wi * maxn + (n - 1);
			if (nok[k])
				json_object_array_add(results,
					result_json(which[wi]->id, which[wi]->what, BIG_BATCH, n,
						    n * d[0].npages * PAGE, s + k * b->o.reps,
						    nok[k]));
		}
	json_object_object_add(top, "results", results);
	for (i = 0; i < maxn; i++)
		data_free(&d[i]);
	free(d);
	free(s);
	free(nok);
	print_channels(stdout, top);
	ret = save_json(b, "channels.json", top);
	json_object_put(top);
	return failed || ret ? -EIO : 0;
}

/* ---- stream (tests/bench/stream-bench.sh) --------------------------------- */

static void setenv_default(const char *name, const char *value)
{
	setenv(name, value, 0);
}

int cmd_stream(struct bench *b)
{
	struct json_object *st;
	char reps[16];
	int status;
	pid_t pid;

	if (access(b->o.script, R_OK)) {
		msg("no %s (run from the work tree, or --script)", b->o.script);
		return -ENOENT;
	}
	setenv("SVMIG_BENCH_OUTDIR", b->o.out, 1);
	if (b->o.quick) {
		setenv_default("SVMIG_BENCH_REPS", "1");
		setenv_default("SVMIG_BENCH_BLOB_MIB", "32");
		setenv_default("SVMIG_BENCH_MEM_MIB", "64");
		setenv_default("SVMIG_BENCH_WORKLOADS", "idle");
	}
	if (b->o.stream_reps) {
		snprintf(reps, sizeof(reps), "%u", b->o.stream_reps);
		setenv("SVMIG_BENCH_REPS", reps, 1);
	}
	printf("# stream: %s\n", b->o.script);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("bash", "bash", b->o.script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	st = load_json(b, "stream.json");
	if (!st) {
		msg("%s left no stream.json", b->o.script);
		return -EIO;
	}
	print_stream(stdout, st);
	json_object_put(st);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}
