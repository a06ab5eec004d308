// SPDX-License-Identifier: GPL-2.0
/*
 * t_fuzz's randomness: a splitmix64 generator per thread (rng, seeded
 * per episode from --seed), and random and boundary values for the
 * fields of every call.
 */

#include "fuzz.h"

__thread uint64_t rng;

uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

bool chance(unsigned int pct)
{
	return below(100) < pct;
}

void rnd_bytes(void *p, size_t n)
{
	uint8_t *b = p;
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(i & 7))
			v = rnd();
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Random and boundary values for a 64-bit field. */
uint64_t pick64(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 63, 64, 127, 128, 255, 256,
		4095, 4096, 4097, 8191, 8192, 65535, 65536, 65537,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		(16ULL << 30) - PG, 16ULL << 30, (16ULL << 30) + PG,
		(64ULL << 30) - PG, 64ULL << 30, (64ULL << 30) + PG,
		USER_TOP - PG, USER_TOP, USER_TOP + PG,
		0xffff888000000000ULL, 0xffffffff80000000ULL,
		0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL - PG + 1,
		~0ULL - 1, ~0ULL,
	};
	uint64_t v;

	switch (below(8)) {
	case 0:
	case 1:
		return edges[below(sizeof(edges) / sizeof(edges[0]))];
	case 2:
		v = 1ULL << below(64);
		return v + below(3) - 1;
	case 3:
		return below(64) * PG + (below(3) - 1);
	case 4:
		return below(32);
	case 5:
		return (rnd() & ~(PG - 1)) + (below(3) - 1);
	default:
		return rnd();
	}
}

uint32_t pick32(void)
{
	return chance(70) ? (uint32_t)pick64() : (uint32_t)rnd();
}
