// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's deliberate bad accesses: probe() touches memory that may
 * fault and says whether it did; any other SIGSEGV or SIGBUS bails out
 * with the seed to replay.
 */
#include <setjmp.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static __thread sigjmp_buf probe_env;
static __thread volatile sig_atomic_t probing;

static void put_str(const char *s)
{
	ssize_t r = write(STDOUT_FILENO, s, strlen(s));

	(void)r;
}

static void put_hex(uint64_t v)
{
	char b[19];
	int i;

	b[0] = '0';
	b[1] = 'x';
	for (i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
	b[18] = 0;
	put_str(b);
}

void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (probing) {
		probing = 0;
		siglongjmp(probe_env, sig);
	}
	put_str(in_child ? "# (forked child) " : "");
	put_str("Bail out! unexpected ");
	put_str(sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
	put_str(" at ");
	put_hex((uint64_t)(uintptr_t)si->si_addr);
	put_str(" si_code ");
	put_hex((uint64_t)si->si_code);
	put_str(" (replay: --seed ");
	put_hex(seed);
	put_str(")\n");
	_exit(in_child ? 4 : 1);
}

void on_kick(int sig)
{
	(void)sig;
}

/* Touches *p (writing back what it read if @wr); 0 or the signal it raised. */
int probe(volatile uint8_t *p, bool wr)
{
	int sig;

	atomic_fetch_add(&n_probes, 1);
	probing = 1;
	sig = sigsetjmp(probe_env, 1);
	if (sig) {
		atomic_fetch_add(&n_deliberate_faults, 1);
		return sig;
	}
	if (wr) {
		uint8_t v = *p;

		*p = v;
	} else {
		(void)*p;
	}
	probing = 0;
	return 0;
}
