// SPDX-License-Identifier: GPL-2.0
/*
 * svmig-bench: small helpers every part uses: messages on stderr, the
 * median of repeated runs, and mapped, prefaulted buffers of random pages.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/rand.h>

#include "bench.h"

void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, size_t n)
{
	double *c;
	double m;

	if (!n)
		return NAN;
	c = malloc(n * sizeof(*c));
	if (!c)
		return NAN;
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

/* The median of one field of @n samples. */
double median_of(const struct sample *s, size_t n, size_t off)
{
	double *v = malloc((n ? n : 1) * sizeof(*v)), m;
	size_t i;

	if (!v)
		return NAN;
	for (i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&s[i] + off, sizeof(v[i]));
	m = median(v, n);
	free(v);
	return m;
}

void *map(size_t len)
{
	void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void unmap(void *p, size_t len)
{
	if (p)
		munmap(p, len ? len : 1);
}

int fill_random(uint8_t *p, size_t len)
{
	size_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < (1U << 20) ? len - off : (1U << 20);
		if (RAND_bytes(p + off, (int)n) != 1)
			return -EIO;
	}
	return 0;
}
