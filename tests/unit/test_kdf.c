// SPDX-License-Identifier: GPL-2.0
/*
 * The key schedule of Documentation/wire-format.rst: each step is the HKDF
 * call the document names, and K(epoch) changes with every input.
 */
#include "test_util.h"

static void key_of(const uint8_t *secret, const uint8_t *sid,
		   const uint8_t *salt, uint32_t channel, uint32_t epoch,
		   uint8_t key[SVMIG_KEY_LEN])
{
	uint8_t k0[SVMIG_KEY_LEN], prk[SVMIG_KEY_LEN];

	assert_int_equal(svmig_kdf_k0(secret, sid, k0), 0);
	assert_int_equal(svmig_kdf_prk(k0, salt, prk), 0);
	assert_int_equal(svmig_kdf_key(prk, channel, epoch, key), 0);
}

/* Each step is the HKDF call the document writes, labels without NUL. */
static void test_steps_are_hkdf(void **state)
{
	uint8_t secret[32], sid[16], salt[32], k0[32], prk[32], key[32];
	uint8_t want[32], label[32], info[24];
	static const uint8_t info_tail[8] = { 0, 0, 0, 3, 0, 0, 0, 7 };

	(void)state;
	t_inputs(secret, sid, salt);
	memcpy(label, "svmig v2 session", 16);
	memcpy(label + 16, sid, 16);
	assert_int_equal(svmig_hkdf_extract(label, 32, secret, 32, want), 0);
	assert_int_equal(svmig_kdf_k0(secret, sid, k0), 0);
	assert_memory_equal(k0, want, 32);

	assert_int_equal(svmig_hkdf_extract(salt, 32, k0, 32, want), 0);
	assert_int_equal(svmig_kdf_prk(k0, salt, prk), 0);
	assert_memory_equal(prk, want, 32);

	memcpy(info, "svmig v2 key s2r", 16);
	memcpy(info + 16, info_tail, 8);	/* be32(3) || be32(7) */
	assert_int_equal(svmig_hkdf_expand(prk, 32, info, 24, want, 32), 0);
	assert_int_equal(svmig_kdf_key(prk, 3, 7, key), 0);
	assert_memory_equal(key, want, 32);
}

/* K(epoch) differs by channel, epoch, session, secret and salt. */
static void test_key_depends_on_every_input(void **state)
{
	uint8_t secret[32], sid[16], salt[32], x[32];
	uint8_t keys[8][SVMIG_KEY_LEN];
	size_t i, j, n = 0;

	(void)state;
	t_inputs(secret, sid, salt);
	key_of(secret, sid, salt, 3, 0, keys[n++]);
	key_of(secret, sid, salt, 3, 0, x);
	assert_memory_equal(x, keys[0], 32);		/* deterministic */
	key_of(secret, sid, salt, 4, 0, keys[n++]);	/* channel */
	key_of(secret, sid, salt, 3, 1, keys[n++]);	/* epoch */
	key_of(secret, sid, salt, 3, 0x80000000u, keys[n++]);
	sid[15] ^= 1;
	key_of(secret, sid, salt, 3, 0, keys[n++]);	/* session id */
	sid[15] ^= 1;
	secret[0] ^= 0x80;
	key_of(secret, sid, salt, 3, 0, keys[n++]);	/* secret */
	secret[0] ^= 0x80;
	salt[31] ^= 1;
	key_of(secret, sid, salt, 3, 0, keys[n++]);	/* salt */
	salt[31] ^= 1;
	/* channel and epoch are not interchangeable */
	key_of(secret, sid, salt, 0, 3, keys[n++]);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			assert_memory_not_equal(keys[i], keys[j], 32);
}

/* The wire object keeps K0 only until PRK exists, and wipes on free. */
static void test_wire_key_lifetime(void **state)
{
	uint8_t secret[32], sid[16], salt[32], k0[32], prk[32], zero[32] = { 0 };
	struct svmig_wire *w = calloc(1, sizeof(*w));
	size_t i;

	(void)state;
	assert_non_null(w);
	t_inputs(secret, sid, salt);
	assert_int_equal(svmig_kdf_k0(secret, sid, k0), 0);
	assert_int_equal(svmig_kdf_prk(k0, salt, prk), 0);

	assert_int_equal(svmig_wire_init(w, SVMIG_ROLE_SENDER, sid, 3, secret), 0);
	assert_true(w->have_k0);
	assert_false(w->have_prk);
	assert_memory_equal(w->k0, k0, 32);
	/* no record before the salt, and no HELLO twice */
	assert_int_equal(svmig_wire_seal_hello(w, (uint8_t[SVMIG_HELLO_REC_LEN]){ 0 }),
			 -ENOKEY);
	assert_int_equal(svmig_wire_set_salt(w, salt), 0);
	assert_false(w->have_k0);
	assert_memory_equal(w->k0, zero, 32);
	assert_true(w->have_prk);
	assert_memory_equal(w->prk, prk, 32);
	svmig_wire_free(w);
	for (i = 0; i < sizeof(*w); i++)
		assert_int_equal(((uint8_t *)w)[i], 0);

	assert_int_equal(svmig_wire_init(w, 0, sid, 3, secret), -EINVAL);
	svmig_wire_free(w);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_are_hkdf),
		cmocka_unit_test(test_key_depends_on_every_input),
		cmocka_unit_test(test_wire_key_lifetime),
	};

	return cmocka_run_group_tests_name("key schedule", tests, NULL, NULL);
}
