// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's parameters and results: the seed and the deadline, the
 * counters of violations, and how one is reported (report) or a step told
 * with --verbose (note).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

uint64_t seed;
bool verbose;
uint64_t deadline_ns;
pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic unsigned long n_contract, n_forgery, n_child, n_fault_expect;
_Atomic unsigned long n_deliberate_faults, n_probes;
_Atomic uint64_t longest_op_ns;
_Atomic unsigned long episode_no;
const char *episode_kind = "";
_Atomic unsigned long page_rx_verified, stream_rx_eof;
bool in_child;			/* after fork(): no stdio, no locks */
/* Set in race episodes: the fd may be another channel by now. */
__thread bool racing;
unsigned long child_violations;

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

bool time_left(void)
{
	return now_ns() < deadline_ns;
}

static void put_str_n(const char *s, size_t n)
{
	ssize_t r = write(STDOUT_FILENO, s, n);

	(void)r;
}

__attribute__((format(printf, 2, 3)))
void report(_Atomic unsigned long *counter, const char *fmt, ...)
{
	unsigned long n;
	va_list ap;

	if (in_child) {
		/* After fork(): no stdio locks; vsnprintf and write(2) only. */
		char buf[512];
		int len;

		if (child_violations++ >= 5)
			return;
		len = snprintf(buf, sizeof(buf), "# VIOLATION (forked child, seed %" PRIu64
			       ", episode %lu, %s): ", seed, atomic_load(&episode_no), episode_kind);
		va_start(ap, fmt);
		len += vsnprintf(buf + len, sizeof(buf) - len - 1, fmt, ap);
		va_end(ap);
		if (len > (int)sizeof(buf) - 2)
			len = sizeof(buf) - 2;
		buf[len++] = '\n';
		put_str_n(buf, len);
		return;
	}
	n = atomic_fetch_add(counter, 1);
	if (n >= 20)
		return;
	pthread_mutex_lock(&out_lock);
	printf("# VIOLATION (seed %" PRIu64 ", episode %lu, %s%s): ", seed,
	       atomic_load(&episode_no), episode_kind, racing ? ", racing thread" : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

__attribute__((format(printf, 1, 2)))
void note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose || in_child)
		return;
	pthread_mutex_lock(&out_lock);
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}
