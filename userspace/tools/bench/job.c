// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: one run of one case: its error message, its clocks (wall,
 * the thread's CPU time, rusage) around the measured part, the barrier of
 * a multi-channel run, and perf's switch (perf record --control).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int job_fail(struct job *j, int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (j->err[0])
		return err ? err : -EIO;
	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
	n = strlen(j->err);
	if (err && n < sizeof(j->err))
		snprintf(j->err + n, sizeof(j->err) - n, ": %s", strerror(-err));
	return err ? err : -EIO;
}

double ts(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static double tv(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec / 1e6;
}

static void mark_now(struct mark *m)
{
	clock_gettime(CLOCK_MONOTONIC, &m->wall);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &m->cpu);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &m->proc);
	getrusage(RUSAGE_THREAD, &m->ru);
}

/*
 * perf record --control fifo:CTL,ACK -D -1: with SVMIG_BENCH_PERF_CTL and
 * SVMIG_BENCH_PERF_ACK naming those FIFOs, perf samples only the measured
 * part of each run, not the setup (which seals with OpenSSL too).
 */
static int perf_ctl = -1, perf_ack = -1;

void perf_open(void)
{
	const char *ctl = getenv("SVMIG_BENCH_PERF_CTL"), *ack = getenv("SVMIG_BENCH_PERF_ACK");

	if (!ctl || !ack)
		return;
	perf_ctl = open(ctl, O_WRONLY | O_CLOEXEC);
	perf_ack = open(ack, O_RDONLY | O_CLOEXEC);
	if (perf_ctl < 0 || perf_ack < 0)
		msg("cannot open the perf control FIFOs: %s", strerror(errno));
}

static void perf_switch(const char *cmd)
{
	char ack[16];

	if (perf_ctl < 0 || perf_ack < 0)
		return;
	if (write(perf_ctl, cmd, strlen(cmd)) < 0 || read(perf_ack, ack, sizeof(ack)) < 0)
		msg("perf control: %s", strerror(errno));
}

void job_go(struct job *j)
{
	if (j->barrier && !j->went)
		pthread_barrier_wait(j->barrier);
	j->went = true;
	if (!j->barrier)
		perf_switch("enable\n");
	mark_now(&j->t0);
}

void job_done(struct job *j)
{
	mark_now(&j->t1);
	if (!j->barrier)
		perf_switch("disable\n");
	j->s.wall = ts(&j->t1.wall) - ts(&j->t0.wall);
	j->s.cpu = ts(&j->t1.cpu) - ts(&j->t0.cpu);
	j->s.proc = ts(&j->t1.proc) - ts(&j->t0.proc);
	j->s.user = tv(&j->t1.ru.ru_utime) - tv(&j->t0.ru.ru_utime);
	j->s.sys = tv(&j->t1.ru.ru_stime) - tv(&j->t0.ru.ru_stime);
}

/* A failed setup must still meet the others at the barrier. */
void job_release(struct job *j)
{
	if (j->barrier && !j->went)
		pthread_barrier_wait(j->barrier);
	j->went = true;
}
