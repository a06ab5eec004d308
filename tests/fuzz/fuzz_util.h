/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c):
 * a reader that takes typed values off the fuzzer's input (zeros once it
 * runs dry, so every input is a valid program), and FZ_CHECK, an
 * invariant whose failure aborts with a message (libFuzzer then keeps the
 * input as a crash).
 */
#ifndef SVMIG_FUZZ_UTIL_H
#define SVMIG_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline bool fz_empty(const struct fz *f)
{
	return f->n == 0;
}

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n) {
		v = *f->p++;
		f->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)(fz_u8(f) << 8 | fz_u8(f));
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t hi = fz_u16(f);

	return hi << 16 | fz_u16(f);
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t hi = fz_u32(f);

	return hi << 32 | fz_u32(f);
}

/* Copies up to @len bytes into @buf and zero-fills the rest; how many came. */
static inline size_t fz_bytes(struct fz *f, void *buf, size_t len)
{
	size_t n = len < f->n ? len : f->n;

	memcpy(buf, f->p, n);
	memset((uint8_t *)buf + n, 0, len - n);
	f->p += n;
	f->n -= n;
	return n;
}

/* Takes @len bytes (fewer if the input ends) in place. */
static inline const uint8_t *fz_take(struct fz *f, size_t *len)
{
	const uint8_t *p = f->p;

	if (*len > f->n)
		*len = f->n;
	f->p += *len;
	f->n -= *len;
	return p;
}

#define FZ_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "FUZZ INVARIANT FAILED: %s:%d: %s: ", \
				__FILE__, __LINE__, #cond);		\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

#endif /* SVMIG_FUZZ_UTIL_H */
