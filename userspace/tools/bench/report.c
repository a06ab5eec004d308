// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: the report: each section's table, the ratios against the
 * targets, and report's bench.txt and bench.json from the saved results.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bench.h"

static struct json_object *find_result(struct json_object *sec, const char *id,
				       unsigned int batch, unsigned int channels)
{
	struct json_object *res = jget(sec, "results"), *r;
	size_t i;

	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		if (!strcmp(dflt(jstr(r, "id"), ""), id) &&
		    (unsigned int)json_object_get_int(jget(r, "batch_pages")) == batch &&
		    (!channels || (unsigned int)json_object_get_int(jget(r, "channels")) == channels))
			return r;
	}
	return NULL;
}

static double metric(struct json_object *sec, const char *id, unsigned int batch,
		     unsigned int channels, const char *key)
{
	return jdbl(find_result(sec, id, batch, channels), key);
}

static void fmt_num(char *buf, size_t len, double v, const char *fmt)
{
	if (isfinite(v))
		snprintf(buf, len, fmt, v);
	else
		snprintf(buf, len, "n/a");
}

/* Adds a target row (when @targets) and prints it (when @f). */
static void target(FILE *f, struct json_object *targets, const char *section,
		   const char *what, double value, bool at_least, double goal)
{
	bool known = isfinite(value);
	bool met = known && (at_least ? value >= goal : value <= goal);
	char v[32], g[32];

	fmt_num(v, sizeof(v), value, "%.2f");
	snprintf(g, sizeof(g), "%s %.2f", at_least ? ">=" : "<=", goal);
	if (f)
		fprintf(f, "  %-60s %7s  %9s  %s\n", what, v, g,
			!known ? "not measured" : met ? "met" : "NOT MET");
	if (targets) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "section", json_object_new_string(section));
		json_object_object_add(t, "what", json_object_new_string(what));
		json_object_object_add(t, "value", jnum(value));
		json_object_object_add(t, "op", json_object_new_string(at_least ? ">=" : "<="));
		json_object_object_add(t, "target", json_object_new_double(goal));
		json_object_object_add(t, "met", known ? json_object_new_boolean(met) :
							 json_object_new_null());
		json_object_array_add(targets, t);
	}
}

/* The kernel's counters of a socket case: copied share (seal), receives per record (open). */
static void counters_note(char *buf, size_t len, struct json_object *r)
{
	double copied = jdbl(r, "tx_copied_share"), reads = jdbl(r, "rx_reads_per_record");

	if (isfinite(copied))
		snprintf(buf, len, "%.0f%% copied", 100 * copied);
	else if (isfinite(reads) && reads > 0)
		snprintf(buf, len, "%.1f rec/recv", 1 / reads);
	else
		snprintf(buf, len, "%s", "");
}

static void crypto_table(FILE *f, struct json_object *crypto)
{
	struct json_object *res = jget(crypto, "results"), *r;
	char a[32], c[32], g[32], n[32];
	size_t i;

	fprintf(f, "  %-22s %-37s %5s %9s %11s %9s  %s\n", "case", "", "batch", "MiB/s",
		"MiB/s/core", "CPU s/GiB", "kernel counters");
	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		fmt_num(a, sizeof(a), jdbl(r, "mib_s"), "%.1f");
		fmt_num(c, sizeof(c), jdbl(r, "mib_s_per_core"), "%.1f");
		fmt_num(g, sizeof(g), jdbl(r, "cpu_s_per_gib"), "%.1f");
		counters_note(n, sizeof(n), r);
		fprintf(f, "  %-22s %-37s %5d %9s %11s %9s  %s\n", dflt(jstr(r, "id"), "?"),
			dflt(jstr(r, "what"), ""), json_object_get_int(jget(r, "batch_pages")), a, c,
			g, n);
	}
}

static double ratio(double a, double b)
{
	return isfinite(a) && isfinite(b) && b > 0 ? a / b : NAN;
}

static void crypto_targets(FILE *f, struct json_object *crypto, struct json_object *targets)
{
	static const char *const paths[] = { "seal", "open" };
	char what[128], k[64], o[64], p[64], m[64], e[64];
	unsigned int pi, bi, batch;
	double kern;

	for (pi = 0; pi < 2; pi++)
		for (bi = 0; bi < NBATCHES; bi++) {
			batch = batches[bi];
			snprintf(k, sizeof(k), "%s/kernel/socket", paths[pi]);
			snprintf(o, sizeof(o), "%s/openssl/socket", paths[pi]);
			snprintf(p, sizeof(p), "%s/plain/socket", paths[pi]);
			snprintf(m, sizeof(m), "%s/memcpy/memory", paths[pi]);
			kern = metric(crypto, k, batch, 0, "mib_s_per_core");
			snprintf(what, sizeof(what), "%s per core, kernel / OpenSSL, socket, %s batches",
				 paths[pi], batch == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "crypto", what,
			       ratio(kern, metric(crypto, o, batch, 0, "mib_s_per_core")), true, 0.95);
			snprintf(what, sizeof(what), "%s per core, kernel / plain copy, socket, %s batches",
				 paths[pi], batch == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "crypto", what,
			       ratio(kern, metric(crypto, p, batch, 0, "mib_s_per_core")), true, 0.5);
			snprintf(what, sizeof(what), "%s per core, kernel (socket) / memcpy (memory), %s",
				 paths[pi], batch == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "crypto", what,
			       ratio(kern, metric(crypto, m, batch, 0, "mib_s_per_core")), true, 0.5);
			/*
			 * Under TCG, OpenSSL seals a 4 KiB message at a fifth of
			 * its bulk rate (an emulator artifact, see performance.rst):
			 * so also hold the kernel against OpenSSL's bulk rate.
			 */
			snprintf(e, sizeof(e), "%s/evp/memory", paths[pi]);
			snprintf(what, sizeof(what), "%s per core, kernel (socket, %s) / bare EVP 2 MiB",
				 paths[pi], batch == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "crypto", what,
			       ratio(kern, metric(crypto, e, BIG_BATCH, 0, "mib_s_per_core")), true, 0.95);
		}
}

/* Ratios with no target: where the time goes. */
static void crypto_notes(FILE *f, struct json_object *crypto)
{
	static const char *const paths[] = { "seal", "open" };
	char a[64], b[64], v1[16], v2[16];
	unsigned int pi, bi, batch;

	fprintf(f, "  %-52s %8s %8s\n", "ratios without targets (per core)", "4 KiB", "2 MiB");
	for (pi = 0; pi < 2; pi++) {
		double r[NBATCHES], s[NBATCHES], e[NBATCHES];

		for (bi = 0; bi < NBATCHES; bi++) {
			batch = batches[bi];
			snprintf(a, sizeof(a), "%s/kernel/devfd", paths[pi]);
			snprintf(b, sizeof(b), "%s/openssl/memory", paths[pi]);
			r[bi] = ratio(metric(crypto, a, batch, 0, "mib_s_per_core"),
				      metric(crypto, b, batch, 0, "mib_s_per_core"));
			/* the socket's share of OpenSSL's time per byte */
			snprintf(a, sizeof(a), "%s/openssl/socket", paths[pi]);
			s[bi] = 1 - ratio(metric(crypto, a, batch, 0, "mib_s_per_core"),
					  metric(crypto, b, batch, 0, "mib_s_per_core"));
			snprintf(a, sizeof(a), "%s/evp/memory", paths[pi]);
			e[bi] = ratio(metric(crypto, b, batch, 0, "mib_s_per_core"),
				      metric(crypto, a, batch, 0, "mib_s_per_core"));
		}
		fmt_num(v1, sizeof(v1), r[0], "%.2f");
		fmt_num(v2, sizeof(v2), r[1], "%.2f");
		fprintf(f, "  %-52s %8s %8s\n", paths[pi][0] == 's' ?
			"seal kernel (read()) / OpenSSL wire.c (memory)" :
			"open kernel (write()) / OpenSSL wire.c (memory)", v1, v2);
		fmt_num(v1, sizeof(v1), 100 * s[0], "%.0f%%");
		fmt_num(v2, sizeof(v2), 100 * s[1], "%.0f%%");
		fprintf(f, "  %-52s %8s %8s\n", paths[pi][0] == 's' ?
			"socket's share of OpenSSL seal CPU time" :
			"socket's share of OpenSSL open CPU time", v1, v2);
		fmt_num(v1, sizeof(v1), e[0], "%.2f");
		fmt_num(v2, sizeof(v2), e[1], "%.2f");
		fprintf(f, "  %-52s %8s %8s\n", paths[pi][0] == 's' ?
			"seal wire.c / bare EVP (framing, tables)" :
			"open wire.c / bare EVP (framing, tables, copy)", v1, v2);
	}
	fmt_num(v1, sizeof(v1), ratio(metric(crypto, "seal/evp-probe/memory", 1, 0, "mib_s_per_core"),
				      metric(crypto, "seal/evp/memory", 1, 0, "mib_s_per_core")), "%.2f");
	fprintf(f, "  %-52s %8s %8s\n", "bare EVP with the TCG probe / without", v1, "");
	fmt_num(v1, sizeof(v1), ratio(metric(crypto, "open/tag-first/memory", 1, 0, "mib_s_per_core"),
				      metric(crypto, "open/evp-copy/memory", 1, 0, "mib_s_per_core")),
		"%.2f");
	fprintf(f, "  %-52s %8s %8s\n", "page receive: tag first / decrypt and copy", v1, "");
}

void print_crypto(FILE *f, struct json_object *crypto)
{
	struct json_object *m = jget(crypto, "machine");

	fprintf(f, "\nCrypto path: one channel, %d-byte page records, %d MiB per run, "
		"median of %d, %s sockets, %s\n", json_object_get_int(jget(crypto, "record_bytes")),
		json_object_get_int(jget(crypto, "mib_per_run")),
		json_object_get_int(jget(crypto, "reps")), dflt(jstr(crypto, "socket"), "?"), under(m));
	if (jget(crypto, "kernel_missing"))
		fprintf(f, "  (no kernel cases: %s)\n", jstr(crypto, "kernel_missing"));
	crypto_table(f, crypto);
	fprintf(f, "\n");
	crypto_notes(f, crypto);
	fprintf(f, "\n  targets (%s)\n", under(m));
	crypto_targets(f, crypto, NULL);
}

static void channels_targets(FILE *f, struct json_object *ch, struct json_object *targets)
{
	static const char *const ids[] = { "seal/kernel/socket", "open/kernel/socket" };
	int maxn = json_object_get_int(jget(ch, "max_channels"));
	char what[128];
	unsigned int i;
	int n;

	for (i = 0; i < 2; i++)
		for (n = 2; n <= maxn; n++) {
			double one = metric(ch, ids[i], BIG_BATCH, 1, "mib_s");
			double many = metric(ch, ids[i], BIG_BATCH, (unsigned int)n, "mib_s");

			snprintf(what, sizeof(what), "%s %d channels / (%d x 1 channel)",
				 ids[i][0] == 's' ? "seal" : "open", n, n);
			target(f, targets, "channels", what, ratio(many, n * one), true, 0.8);
		}
}

void print_channels(FILE *f, struct json_object *ch)
{
	struct json_object *res = jget(ch, "results"), *r;
	char a[32], c[32], sc[32];
	size_t i;

	fprintf(f, "\nPage mode, N independent channels of one session (one open file, "
		"socket, region and thread each), %d MiB per channel per run, median of %d, "
		"%s sockets, %s\n", json_object_get_int(jget(ch, "mib_per_channel")),
		json_object_get_int(jget(ch, "reps")), dflt(jstr(ch, "socket"), "?"),
		under(jget(ch, "machine")));
	fprintf(f, "  %-21s %8s %12s %13s %9s\n", "case", "channels", "MiB/s (all)",
		"MiB/s per CPU", "scaling");
	for (i = 0; res && i < json_object_array_length(res); i++) {
		int n;
		double one;

		r = json_object_array_get_idx(res, i);
		n = json_object_get_int(jget(r, "channels"));
		one = metric(ch, dflt(jstr(r, "id"), ""), BIG_BATCH, 1, "mib_s");
		fmt_num(a, sizeof(a), jdbl(r, "mib_s"), "%.1f");
		fmt_num(c, sizeof(c), jdbl(r, "mib_s_per_core"), "%.1f");
		fmt_num(sc, sizeof(sc), ratio(jdbl(r, "mib_s"), one), "%.2fx");
		fprintf(f, "  %-21s %8d %12s %13s %9s\n", dflt(jstr(r, "id"), "?"), n, a, c, sc);
	}
	fprintf(f, "\n  targets (%s)\n", under(jget(ch, "machine")));
	channels_targets(f, ch, NULL);
}

static struct json_object *stream_result(struct json_object *st, const char *workload,
					 const char *mode)
{
	struct json_object *res = jget(st, "results"), *r;
	size_t i;

	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		if (!strcmp(dflt(jstr(r, "workload"), ""), workload) &&
		    !strcmp(dflt(jstr(r, "mode"), ""), mode))
			return r;
	}
	return NULL;
}

static void stream_targets(FILE *f, struct json_object *st, struct json_object *targets)
{
	static const char *const workloads[] = { "idle", "live" };
	char what[128];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct json_object *sv = stream_result(st, workloads[i], "svmig");
		struct json_object *pl = stream_result(st, workloads[i], "plain");
		struct json_object *tls = stream_result(st, workloads[i], "qemu-tls");

		if (!sv)
			continue;
		snprintf(what, sizeof(what), "%s: total time, svmig / plain tcp:", workloads[i]);
		target(f, targets, "stream", what, ratio(jdbl(sv, "total_ms"), jdbl(pl, "total_ms")),
		       false, 1.1);
		snprintf(what, sizeof(what), "%s: total time, svmig / QEMU TLS", workloads[i]);
		target(f, targets, "stream", what, ratio(jdbl(sv, "total_ms"), jdbl(tls, "total_ms")),
		       false, 0.33);
		snprintf(what, sizeof(what), "%s: downtime, svmig / plain tcp:%s", workloads[i],
			 i == 0 ? " (paused guest)" : "");
		target(f, targets, "stream", what,
		       ratio(jdbl(sv, "downtime_ms"), jdbl(pl, "downtime_ms")), false, 1.1);
	}
}

void print_stream(FILE *f, struct json_object *st)
{
	struct json_object *res = jget(st, "results"), *r;
	char t[32], d[32], m[32];
	size_t i;

	fprintf(f, "\nStream mode, unmodified QEMU migrating a nested guest "
		"(tests/bench/stream-bench.sh), median of %d, guest %d MiB, idle payload %d MiB, "
		"nested accel %s, inside the test VM\n", json_object_get_int(jget(st, "reps")),
		json_object_get_int(jget(st, "mem_mib")), json_object_get_int(jget(st, "blob_mib")),
		dflt(jstr(st, "accel"), "?"));
	fprintf(f, "  %-8s %-9s %10s %12s %9s\n", "workload", "mode", "total ms", "downtime ms",
		"MiB/s");
	for (i = 0; res && i < json_object_array_length(res); i++) {
		double tot, bytes;

		r = json_object_array_get_idx(res, i);
		tot = jdbl(r, "total_ms");
		bytes = jdbl(r, "bytes");
		fmt_num(t, sizeof(t), tot, "%.0f");
		fmt_num(d, sizeof(d), jdbl(r, "downtime_ms"), "%.0f");
		fmt_num(m, sizeof(m), tot > 0 ? bytes / MIB / (tot / 1000) : NAN, "%.1f");
		fprintf(f, "  %-8s %-9s %10s %12s %9s\n", dflt(jstr(r, "workload"), "?"),
			dflt(jstr(r, "mode"), "?"), t, d, m);
	}
	fprintf(f, "\n  targets (nested QEMU inside the TCG test VM)\n");
	stream_targets(f, st, NULL);
}

/*
 * The data path's targets: the kernel against OpenSSL in memory too, the
 * scaling of one 2 MiB SUBMIT with the CPUs (seal-cpus.json, written by
 * tests/bench/guest-seal-cpus.sh), the copies, and stream mode's channels,
 * which need QEMU's multifd through svmig (not built yet: not measured).
 */
static void datapath_targets(FILE *f, struct json_object *crypto, struct json_object *sc,
			     struct json_object *targets)
{
	static const char *const paths[] = { "seal", "open" };
	struct json_object *res = jget(sc, "results"), *r;
	double scale = NAN, copied;
	char what[128], k[64], o[64];
	unsigned int pi, bi;
	size_t i;

	for (pi = 0; pi < 2; pi++)
		for (bi = 0; bi < NBATCHES; bi++) {
			snprintf(k, sizeof(k), "%s/kernel/devfd", paths[pi]);
			snprintf(o, sizeof(o), "%s/openssl/memory", paths[pi]);
			snprintf(what, sizeof(what), "%s per core, kernel / OpenSSL, in memory, %s",
				 paths[pi], batches[bi] == 1 ? "4 KiB" : "2 MiB");
			target(f, targets, "datapath", what,
			       ratio(metric(crypto, k, batches[bi], 0, "mib_s_per_core"),
				     metric(crypto, o, batches[bi], 0, "mib_s_per_core")), true, 0.95);
		}
	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		if (!strcmp(dflt(jstr(r, "id"), ""), "seal/kernel/socket") &&
		    json_object_get_int(jget(r, "batch")) == BIG_BATCH)
			scale = ratio(jdbl(r, "all_mib_s"), jdbl(r, "one_mib_s"));
	}
	snprintf(what, sizeof(what), "page mode, one 2 MiB SUBMIT, %d CPUs / 1 CPU (socket)",
		 json_object_get_int(jget(sc, "cpus")));
	target(f, targets, "datapath", what, scale, true, 1.7);
	target(f, targets, "datapath", "stream, 2 channels / 1, total time (needs multifd)",
	       NAN, false, 0.6);
	target(f, targets, "datapath", "stream, 2 channels / QEMU TLS, total time (multifd)",
	       NAN, false, 0.5);
	copied = metric(crypto, "seal/kernel/socket", BIG_BATCH, 0, "tx_copied_share");
	target(f, targets, "datapath", "sender: share of wire bytes copied after sealing",
	       copied, false, 0.0);
	/* Counted from the design (design.rst): socket -> buffer, copy into place. */
	target(f, targets, "datapath", "receiver: passes per byte besides the cipher (design)",
	       2.0, false, 1.0);
}

static void print_datapath(FILE *f, struct json_object *crypto, struct json_object *sc)
{
	struct json_object *res = jget(sc, "results"), *r;
	char one[32], all[32], x[32];
	size_t i;

	const char *how = under(jget(crypto, "machine"));

	fprintf(f, "\nData path: one channel's SUBMIT sealed on 1 CPU and on all "
		"(tests/bench/guest-seal-cpus.sh), %s\n", how);
	if (!sc)
		fprintf(f, "  (not measured: no seal-cpus.json)\n");
	else
		fprintf(f, "  median of %d rounds, %d MiB per run, %s sockets\n",
			json_object_get_int(jget(sc, "rounds")),
			json_object_get_int(jget(sc, "mib_per_run")), dflt(jstr(sc, "socket"), "?"));
	for (i = 0; res && i < json_object_array_length(res); i++) {
		r = json_object_array_get_idx(res, i);
		fmt_num(one, sizeof(one), jdbl(r, "one_mib_s"), "%.1f");
		fmt_num(all, sizeof(all), jdbl(r, "all_mib_s"), "%.1f");
		fmt_num(x, sizeof(x), ratio(jdbl(r, "all_mib_s"), jdbl(r, "one_mib_s")), "%.2fx");
		fprintf(f, "  %-20s batch %3d: 1 CPU %8s MiB/s, %d CPUs %8s MiB/s, %s\n",
			dflt(jstr(r, "id"), "?"), json_object_get_int(jget(r, "batch")), one,
			json_object_get_int(jget(sc, "cpus")), all, x);
	}
	fprintf(f, "\n  targets (%s)\n", how);
	datapath_targets(f, crypto, sc, NULL);
}

int cmd_report(struct bench *b)
{
	struct json_object *crypto = load_json(b, "crypto.json");
	struct json_object *ch = load_json(b, "channels.json");
	struct json_object *st = load_json(b, "stream.json");
	struct json_object *sc = load_json(b, "seal-cpus.json");
	struct json_object *top = json_object_new_object(), *targets = json_object_new_array();
	struct json_object *m = jget(crypto, "machine") ? jget(crypto, "machine") : jget(ch, "machine");
	char *text = NULL, *path;
	size_t len = 0, i, met = 0, known = 0;
	FILE *f = open_memstream(&text, &len);
	int ret;

	if (!f)
		return -ENOMEM;
	m = m ? json_object_get(m) : machine_json(b);
	fprintf(f, "svmig-bench report, %s\n", dflt(jstr(m, "date"), ""));
	fprintf(f, "machine: %s, %d CPUs (%s), hypervisor %s: %s; kernel %s; %s; kernel AEAD %s\n",
		dflt(jstr(m, "cpu"), "?"), json_object_get_int(jget(m, "cpus")),
		dflt(jstr(m, "cpu_flags"), ""), dflt(jstr(m, "hypervisor"), "?"), dflt(jstr(m, "accel"), "?"),
		dflt(jstr(m, "kernel"), "?"), dflt(jstr(m, "openssl"), "?"), dflt(jstr(m, "aead_driver"), "?"));
	if (!strcmp(dflt(jstr(m, "accel"), ""), "TCG"))
		fprintf(f, "Every figure is measured under TCG: the CPU, AES-NI and PCLMULQDQ "
			"included, is emulated.\nOnly ratios of figures taken side by side in this "
			"run mean anything.\n");
	if (crypto)
		print_crypto(f, crypto);
	else
		fprintf(f, "\nCrypto path: not measured (no crypto.json)\n");
	if (ch)
		print_channels(f, ch);
	else
		fprintf(f, "\nPage mode channels: not measured (no channels.json)\n");
	if (st)
		print_stream(f, st);
	else
		fprintf(f, "\nStream mode: not measured (no stream.json)\n");
	if (crypto)
		print_datapath(f, crypto, sc);

	if (crypto)
		crypto_targets(NULL, crypto, targets);
	if (ch)
		channels_targets(NULL, ch, targets);
	if (st)
		stream_targets(NULL, st, targets);
	if (crypto)
		datapath_targets(NULL, crypto, sc, targets);
	for (i = 0; i < json_object_array_length(targets); i++) {
		struct json_object *met_o = jget(json_object_array_get_idx(targets, i), "met");

		if (met_o && json_object_is_type(met_o, json_type_boolean)) {
			known++;
			met += json_object_get_boolean(met_o);
		}
	}
	fprintf(f, "\nTargets: %zu of %zu measured met (%s)\n", met, known, under(m));
	fclose(f);
	fputs(text, stdout);

	path = out_path(b, "bench.txt");
	f = path ? fopen(path, "w") : NULL;
	if (f) {
		fputs(text, f);
		fclose(f);
		printf("# wrote %s\n", path);
	}
	free(path);
	free(text);

	json_object_object_add(top, "machine", m);
	json_object_object_add(top, "crypto", crypto ? crypto : json_object_new_null());
	json_object_object_add(top, "channels", ch ? ch : json_object_new_null());
	json_object_object_add(top, "stream", st ? st : json_object_new_null());
	json_object_object_add(top, "seal_cpus", sc ? sc : json_object_new_null());
	json_object_object_add(top, "targets", targets);
	ret = save_json(b, "bench.json", top);
	json_object_put(top);
	return ret;
}
