// SPDX-License-Identifier: GPL-2.0
/*
 * HKDF-SHA-256 through svmig_hkdf_extract/expand: RFC 5869 appendix A,
 * test cases 1, 2 and 3.
 */
#include <stdio.h>

#include "test_util.h"

/* Decode a hex string into p; returns the byte count. */
static size_t unhex(uint8_t *p, const char *hex)
{
	size_t n = 0;
	unsigned int b;

	while (hex[0] && hex[1]) {
		assert_int_equal(sscanf(hex, "%2x", &b), 1);
		p[n++] = (uint8_t)b;
		hex += 2;
	}
	return n;
}

struct rfc5869_case {
	const char *ikm, *salt, *info, *prk, *okm;
	size_t len;
};

static void run_case(const struct rfc5869_case *c)
{
	uint8_t ikm[128], salt[128], info[128], prk[32], okm[128];
	uint8_t want_prk[32], want_okm[128], got_prk[32], got_okm[128];
	size_t ikm_len, salt_len, info_len;

	ikm_len = unhex(ikm, c->ikm);
	salt_len = unhex(salt, c->salt);
	info_len = unhex(info, c->info);
	assert_int_equal(unhex(want_prk, c->prk), 32);
	assert_int_equal(unhex(want_okm, c->okm), c->len);

	assert_int_equal(svmig_hkdf_extract(salt_len ? salt : NULL, salt_len,
					    ikm, ikm_len, got_prk), 0);
	assert_memory_equal(got_prk, want_prk, 32);
	memcpy(prk, got_prk, sizeof(prk));
	memset(got_okm, 0, sizeof(got_okm));
	assert_int_equal(svmig_hkdf_expand(prk, sizeof(prk),
					   info_len ? info : NULL, info_len,
					   got_okm, c->len), 0);
	assert_memory_equal(got_okm, want_okm, c->len);
	/* a shorter L is a prefix of the longer output */
	assert_int_equal(svmig_hkdf_expand(prk, sizeof(prk),
					   info_len ? info : NULL, info_len,
					   okm, 7), 0);
	assert_memory_equal(okm, want_okm, 7);
}

/* A.1: basic test case with SHA-256 */
static void test_rfc5869_case1(void **state)
{
	static const struct rfc5869_case c = {
		.ikm = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		.salt = "000102030405060708090a0b0c",
		.info = "f0f1f2f3f4f5f6f7f8f9",
		.len = 42,
		.prk = "077709362c2e32df0ddc3f0dc47bba63"
		       "90b6c73bb50f9c3122ec844ad7c2b3e5",
		.okm = "3cb25f25faacd57a90434f64d0362f2a"
		       "2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
		       "34007208d5b887185865",
	};

	(void)state;
	run_case(&c);
}

/* A.2: longer inputs and outputs */
static void test_rfc5869_case2(void **state)
{
	static const struct rfc5869_case c = {
		.ikm = "000102030405060708090a0b0c0d0e0f"
		       "101112131415161718191a1b1c1d1e1f"
		       "202122232425262728292a2b2c2d2e2f"
		       "303132333435363738393a3b3c3d3e3f"
		       "404142434445464748494a4b4c4d4e4f",
		.salt = "606162636465666768696a6b6c6d6e6f"
			"707172737475767778797a7b7c7d7e7f"
			"808182838485868788898a8b8c8d8e8f"
			"909192939495969798999a9b9c9d9e9f"
			"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
		.info = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
			"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
			"d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
			"e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
			"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
		.len = 82,
		.prk = "06a6b88c5853361a06104c9ceb35b45c"
		       "ef760014904671014a193f40c15fc244",
		.okm = "b11e398dc80327a1c8e7f78c596a4934"
		       "4f012eda2d4efad8a050cc4c19afa97c"
		       "59045a99cac7827271cb41c65e590e09"
		       "da3275600c2f09b8367793a9aca3db71"
		       "cc30c58179ec3e87c14c01d5c1f3434f"
		       "1d87",
	};

	(void)state;
	run_case(&c);
}

/* A.3: zero-length salt and info */
static void test_rfc5869_case3(void **state)
{
	static const struct rfc5869_case c = {
		.ikm = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
		.salt = "",
		.info = "",
		.len = 42,
		.prk = "19ef24a32c717b167f33a91d6f648bdf"
		       "96596776afdb6377ac434c1c293ccb04",
		.okm = "8da4e775a563c18f715f802a063c5a31"
		       "b8a11f5c5ee1879ec3454e5f3c738d2d"
		       "9d201395faa4b61a96c8",
	};

	(void)state;
	run_case(&c);
}

/* Out-of-range arguments are refused, not truncated. */
static void test_hkdf_limits(void **state)
{
	uint8_t prk[32] = { 1 }, okm[255 * 32 + 1];

	(void)state;
	assert_int_equal(svmig_hkdf_expand(prk, sizeof(prk), NULL, 0, okm,
					   255 * 32), 0);
	assert_int_equal(svmig_hkdf_expand(prk, sizeof(prk), NULL, 0, okm,
					   sizeof(okm)), -EINVAL);
	assert_int_equal(svmig_hkdf_expand(prk, sizeof(prk), NULL, 0, okm, 0),
			 -EINVAL);
	assert_int_equal(svmig_hkdf_expand(prk, 16, NULL, 0, okm, 32),
			 -EINVAL);
	assert_int_equal(svmig_hkdf_extract(NULL, 0, NULL, 0, prk), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5869_case1),
		cmocka_unit_test(test_rfc5869_case2),
		cmocka_unit_test(test_rfc5869_case3),
		cmocka_unit_test(test_hkdf_limits),
	};

	return cmocka_run_group_tests_name("hkdf", tests, NULL, NULL);
}
