/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal TAP producer for the in-guest tests: tap_plan() prints the
 * plan first, then one line per check; tap_done() fails the test if it
 * ran another number of checks than it planned (a test that dies midway
 * shows as fewer results than its plan too) and returns the exit status,
 * 1 if anything failed.
 */
#ifndef SVMIG_TAP_H
#define SVMIG_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned = -1;

/* The number of checks the test will run: call it before the first. */
static inline void tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline void tap_vresult(int ok, const char *fmt, va_list ap)
{
	printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_failed++;
}

__attribute__((format(printf, 2, 3)))
static inline int tap_ok(int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* A call returning 0 or -errno (libsvmig style) must return @want. */
__attribute__((format(printf, 3, 4)))
static inline int tap_errno(int got, int want, const char *fmt, ...)
{
	va_list ap;
	int ok = got == want;

	va_start(ap, fmt);
	tap_vresult(ok, fmt, ap);
	va_end(ap);
	if (!ok)
		printf("#   got %d (%s), want %d (%s)\n", got, strerror(-got), want,
		       strerror(-want));
	return ok;
}

__attribute__((format(printf, 1, 2)))
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

__attribute__((format(printf, 1, 2), noreturn))
static inline void tap_bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static inline int tap_done(void)
{
	if (tap_planned < 0) {
		printf("# no tap_plan() before the checks\n");
		return 1;
	}
	if (tap_n != tap_planned) {
		printf("# planned %d checks, ran %d\n", tap_planned, tap_n);
		return 1;
	}
	return tap_failed ? 1 : 0;
}

#endif /* SVMIG_TAP_H */
