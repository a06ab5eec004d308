// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's watchdog: a thread that kicks (SIGUSR1) a worker blocked in
 * one call for HANG_KICK_S seconds and, after HANG_FAIL_S, prints its
 * kernel stack and bails out.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuzz.h"

#define HANG_KICK_S	20

_Atomic bool watchdog_stop;

static void dump_stack(pid_t tid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		printf("# kernel stack of the hung thread:\n%s", buf);
	}
}

void *watchdog(void *arg)
{
	int i;

	(void)arg;
	while (!atomic_load(&watchdog_stop)) {
		uint64_t now = now_ns();

		for (i = 0; i < MAX_WORKERS; i++) {
			struct worker *w = &workers[i];
			uint64_t since = atomic_load(&w->since);

			if (!since || now < since)
				continue;
			if (now - since > HANG_KICK_S * 1000000000ULL && !w->kicked) {
				w->kicked = true;
				syscall(SYS_tgkill, getpid(), atomic_load(&w->tid), SIGUSR1);
			}
			if (now - since > HANG_FAIL_S * 1000000000ULL && !atomic_load(&hung)) {
				atomic_store(&hung, true);
				pthread_mutex_lock(&out_lock);
				printf("# HANG (seed %" PRIu64 ", episode %lu): %s blocked for %d s\n",
				       seed, atomic_load(&episode_no), op_names[atomic_load(&w->op)],
				       HANG_FAIL_S);
				dump_stack(atomic_load(&w->tid));
				printf("Bail out! a call on /dev/svmig hung (replay: --seed %" PRIu64 ")\n",
				       seed);
				fflush(stdout);
				_exit(1);
			}
		}
		usleep(200000);
	}
	return NULL;
}
