// SPDX-License-Identifier: GPL-2.0
/*
 * svmig key schedule (Documentation/wire-format.rst, "Key schedule"):
 * HKDF-SHA-256 over the controller's secret and a salt from the TPM's RNG.
 * Key bytes live in struct svmig_keys only and never leave the kernel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/aead.h>
#include <crypto/hash.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tpm.h>
#include <linux/uaccess.h>

#include "svmig.h"

#define SVMIG_SHA256_LEN	32

static const char svmig_label_session[] = SVMIG_LABEL_SESSION;
static const char svmig_label_key[] = SVMIG_LABEL_KEY;
static const char svmig_label_fp[] = SVMIG_LABEL_FP;
static const char svmig_label_table[] = SVMIG_LABEL_TABLE;

int svmig_kdf_extract(struct crypto_shash *hmac, const u8 *salt, size_t salt_len,
		      const u8 *ikm, size_t ikm_len, u8 *prk)
{
	int ret;

	ret = crypto_shash_setkey(hmac, salt, salt_len);
	if (ret)
		return ret;
	return crypto_shash_tfm_digest(hmac, ikm, ikm_len, prk);
}

int svmig_kdf_expand(struct crypto_shash *hmac, const u8 *prk, const u8 *info,
		     size_t info_len, u8 *okm, size_t okm_len)
{
	SHASH_DESC_ON_STACK(desc, hmac);
	u8 t[SVMIG_SHA256_LEN];
	size_t done = 0, n;
	u8 i = 0;
	int ret;

	if (okm_len > 255 * SVMIG_SHA256_LEN)
		return -EINVAL;
	ret = crypto_shash_setkey(hmac, prk, SVMIG_SHA256_LEN);
	if (ret)
		return ret;
	desc->tfm = hmac;
	while (done < okm_len) {
		i++;
		ret = crypto_shash_init(desc);
		if (!ret && i > 1)
			ret = crypto_shash_update(desc, t, sizeof(t));
		if (!ret)
			ret = crypto_shash_update(desc, info, info_len);
		if (!ret)
			ret = crypto_shash_finup(desc, &i, 1, t);
		if (ret)
			break;
		n = min(okm_len - done, sizeof(t));
		memcpy(okm + done, t, n);
		done += n;
	}
	shash_desc_zero(desc);
	memzero_explicit(t, sizeof(t));
	return ret;
}

static int svmig_salt_from_tpm(u8 *salt, size_t len)
{
	struct tpm_chip *chip = tpm_default_chip();
	size_t got = 0;
	int ret = 0;

	if (!chip)
		return -ENODEV;
	while (got < len) {
		ret = tpm_get_random(chip, salt + got, len - got);
		if (ret <= 0) {
			/* ETIME, EBUSY, a TPM error code...: one errno for them all. */
			pr_warn_ratelimited("the TPM's RNG failed (%d)\n", ret);
			ret = -EIO;
			break;
		}
		got += ret;
		ret = 0;
	}
	put_device(&chip->dev);
	return ret;
}

/* K0 = HKDF-Extract("svmig v2 session" || session_id, secret) */
static int svmig_derive_k0(struct svmig_keys *keys, const u8 *session_id,
			   const u8 *secret)
{
	u8 salt[sizeof(svmig_label_session) - 1 + SVMIG_SESSION_ID_LEN];
	size_t label_len = sizeof(svmig_label_session) - 1;
	int ret;

	memcpy(salt, svmig_label_session, label_len);
	memcpy(salt + label_len, session_id, SVMIG_SESSION_ID_LEN);
	ret = svmig_kdf_extract(keys->hmac, salt, sizeof(salt), secret,
				SVMIG_SECRET_LEN, keys->k0);
	keys->have_k0 = !ret;
	return ret;
}

/* PRK = HKDF-Extract(salt, K0); K0 is wiped once PRK exists. */
int svmig_keys_accept_salt(struct svmig_channel *ch, const u8 *salt)
{
	struct svmig_keys *keys = &ch->keys;
	int ret;

	if (!keys->have_k0)
		return -EINVAL;
	memcpy(keys->salt, salt, SVMIG_SALT_LEN);
	ret = svmig_kdf_extract(keys->hmac, keys->salt, SVMIG_SALT_LEN,
				keys->k0, SVMIG_KEY_LEN, keys->prk);
	if (ret)
		return ret;
	memzero_explicit(keys->k0, sizeof(keys->k0));
	keys->have_k0 = false;
	keys->have_prk = true;
	return 0;
}

static int svmig_check_key_setup(const struct svmig_key_setup *ks)
{
	u32 role = ks->flags & (SVMIG_ROLE_SENDER | SVMIG_ROLE_RECEIVER);

	if (ks->flags & ~(SVMIG_ROLE_SENDER | SVMIG_ROLE_RECEIVER | SVMIG_KEY_NO_TPM |
			  SVMIG_KEY_STREAM | SVMIG_KEY_SESSION | SVMIG_KEY_REQUIRE_TPM_SALT))
		return -EINVAL;
	if (role != SVMIG_ROLE_SENDER && role != SVMIG_ROLE_RECEIVER)
		return -EINVAL;
	if (role == SVMIG_ROLE_SENDER && ks->flags & SVMIG_KEY_REQUIRE_TPM_SALT)
		return -EINVAL;
	if (!svmig_zero(ks->reserved, sizeof(ks->reserved)))
		return -EINVAL;
	return 0;
}

/* A request for @aead, its AAD starting with the channel's implicit part. */
int svmig_crypt_init(struct svmig_crypt *c, struct crypto_aead *aead, const u8 *implicit_aad)
{
	c->req = aead_request_alloc(aead, GFP_KERNEL);
	if (!c->req)
		return -ENOMEM;
	if (implicit_aad)
		memcpy(c->aad, implicit_aad, SVMIG_AAD_IMPLICIT_LEN);
	return 0;
}

void svmig_crypt_free(struct svmig_crypt *c)
{
	if (c->req)
		aead_request_free(c->req);
	c->req = NULL;
}

static int svmig_alloc_crypto(struct svmig_keys *keys)
{
	int ret;

	keys->hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(keys->hmac)) {
		ret = PTR_ERR(keys->hmac);
		keys->hmac = NULL;
		return ret;
	}
	keys->aead = crypto_alloc_aead("gcm(aes)", 0, 0);
	if (IS_ERR(keys->aead)) {
		ret = PTR_ERR(keys->aead);
		keys->aead = NULL;
		return ret;
	}
	ret = crypto_aead_setauthsize(keys->aead, SVMIG_TAG_LEN);
	if (!ret)
		ret = svmig_crypt_init(&keys->crypt, keys->aead, NULL);
	return ret;
}

/* Linear memory: records are sealed and opened in place through scatterlists. */
static int svmig_alloc_buffers(struct svmig_channel *ch)
{
	if (ch->role == SVMIG_ROLE_SENDER)
		return svmig_txbuf_init(ch);
	ch->rxbuf_size = ch->stream ? SVMIG_STREAM_RXBUF_SIZE : SVMIG_PAGE_RXBUF_SIZE;
	ch->rxbuf = kmalloc(ch->rxbuf_size, GFP_KERNEL_ACCOUNT);
	return ch->rxbuf ? 0 : -ENOMEM;
}

/*
 * Sender: the salt is the kernel CRNG's bytes XORed with the TPM RNG's, so
 * it is unpredictable if either source is; the HELLO says a TPM took part
 * (SVMIG_HELLO_F_TPM_SALT).  Without a TPM, by explicit opt-in only, the
 * CRNG's alone.
 */
static int svmig_sender_salt(struct svmig_channel *ch, bool no_tpm_ok)
{
	u8 salt[SVMIG_SALT_LEN], tpm[SVMIG_SALT_LEN];
	int ret, i;

	get_random_bytes(salt, sizeof(salt));
	ret = svmig_salt_from_tpm(tpm, sizeof(tpm));
	if (ret == 0) {
		for (i = 0; i < SVMIG_SALT_LEN; i++)
			salt[i] ^= tpm[i];
		ch->stats.flags |= SVMIG_STAT_TPM_SALT;
	} else if (ret == -ENODEV && no_tpm_ok) {
		pr_warn_ratelimited("channel %u keyed WITHOUT a TPM (SVMIG_KEY_NO_TPM)\n",
				    ch->channel);
		ch->stats.flags |= SVMIG_STAT_NO_TPM;
	} else {
		goto out;
	}
	ret = svmig_keys_accept_salt(ch, salt);
out:
	memzero_explicit(tpm, sizeof(tpm));
	memzero_explicit(salt, sizeof(salt));
	return ret;
}

/* The first SVMIG_AAD_IMPLICIT_LEN bytes of the AAD, the same for every record. */
static void svmig_fill_implicit_aad(struct svmig_channel *ch)
{
	u8 *aad = ch->keys.crypt.aad;
	__be32 channel = cpu_to_be32(ch->channel);

	memcpy(aad, ch->session_id, SVMIG_SESSION_ID_LEN);
	memcpy(aad + SVMIG_SESSION_ID_LEN, &channel, sizeof(channel));
	memset(aad + SVMIG_SESSION_ID_LEN + sizeof(channel), 0, 4);
}

/*
 * Joins the session (session.c), a private one unless SVMIG_KEY_SESSION:
 * with the fingerprint FP = HKDF-Expand(K0, "svmig v2 session fp", 32) as
 * proof of the secret (K0 binds the secret and the session id, and the
 * fingerprint reveals neither) and the table key KT = HKDF-Expand(K0,
 * "svmig v2 table key", 64).  Both are computed before the sender's salt
 * turns K0 into PRK and wipes it; the join itself is SET_KEY's last step.
 */
static int svmig_session_keys(struct svmig_channel *ch, u8 *fp, u8 *kt)
{
	int ret;

	ret = svmig_kdf_expand(ch->keys.hmac, ch->keys.k0, svmig_label_fp,
			       sizeof(svmig_label_fp) - 1, fp, SVMIG_FP_LEN);
	if (!ret)
		ret = svmig_kdf_expand(ch->keys.hmac, ch->keys.k0, svmig_label_table,
				       sizeof(svmig_label_table) - 1, kt, SVMIG_TABLE_KEY_LEN);
	return ret;
}

static int svmig_install(struct svmig_channel *ch, const struct svmig_key_setup *ks)
{
	bool no_tpm_ok = ks->flags & SVMIG_KEY_NO_TPM;
	u8 fp[SVMIG_FP_LEN], kt[SVMIG_TABLE_KEY_LEN];
	int ret;

	/* A receiver needs no TPM randomness, but its host must have a TPM. */
	if (!no_tpm_ok && ks->flags & SVMIG_ROLE_RECEIVER) {
		struct tpm_chip *chip = tpm_default_chip();

		if (!chip)
			return -ENODEV;
		put_device(&chip->dev);
	}
	ch->role = ks->flags & (SVMIG_ROLE_SENDER | SVMIG_ROLE_RECEIVER);
	ch->stream = ks->flags & SVMIG_KEY_STREAM;
	ch->require_tpm_salt = ks->flags & SVMIG_KEY_REQUIRE_TPM_SALT;
	ch->channel = ks->channel;
	sha256_init(&ch->transcript);
	memcpy(ch->session_id, ks->session_id, SVMIG_SESSION_ID_LEN);
	svmig_fill_implicit_aad(ch);

	ret = svmig_alloc_crypto(&ch->keys);
	if (!ret)
		ret = svmig_alloc_buffers(ch);
	if (!ret)
		ret = svmig_derive_k0(&ch->keys, ks->session_id, ks->secret);
	if (!ret)
		ret = svmig_session_keys(ch, fp, kt);
	if (!ret && ch->role == SVMIG_ROLE_SENDER)
		ret = svmig_sender_salt(ch, no_tpm_ok);
	if (!ret)
		ret = svmig_session_join(ch, ks->flags & SVMIG_KEY_SESSION, fp, kt);
	if (!ret)
		strscpy(ch->stats.aead_driver,
			crypto_tfm_alg_driver_name(crypto_aead_tfm(ch->keys.aead)),
			sizeof(ch->stats.aead_driver));
	memzero_explicit(fp, sizeof(fp));
	memzero_explicit(kt, sizeof(kt));
	return ret;
}

/* After a failed SET_KEY, which never joined a session (the join is last). */
static void svmig_uninstall(struct svmig_channel *ch)
{
	svmig_keys_free(&ch->keys);
	svmig_txbuf_free(ch);
	kfree_sensitive(ch->rxbuf);
	ch->rxbuf = NULL;
	ch->role = 0;
	ch->stream = false;
	ch->stats.flags &= ~(SVMIG_STAT_TPM_SALT | SVMIG_STAT_NO_TPM);
}

int svmig_keys_set(struct svmig_channel *ch, void __user *argp)
{
	struct svmig_key_setup *ks;
	int ret;

	if (ch->role)
		return -EBUSY;
	/*
	 * Not memdup_user(): a copy that faults part-way would be freed with
	 * the secret's first bytes in it.  Wiped on every path below.
	 */
	ks = kmalloc(sizeof(*ks), GFP_KERNEL);
	if (!ks)
		return -ENOMEM;
	if (copy_from_user(ks, argp, sizeof(*ks))) {
		kfree_sensitive(ks);
		return -EFAULT;
	}
	ret = svmig_check_key_setup(ks);
	if (!ret)
		ret = svmig_install(ch, ks);
	if (ret && ch->role)
		svmig_uninstall(ch);
	if (!ret)
		ch->stats.flags |= SVMIG_STAT_KEYED | (ch->stream ? SVMIG_STAT_STREAM : 0);
	kfree_sensitive(ks);
	return ret;
}

void svmig_keys_free(struct svmig_keys *keys)
{
	svmig_crypt_free(&keys->crypt);
	if (keys->aead)
		crypto_free_aead(keys->aead);
	if (keys->hmac)
		crypto_free_shash(keys->hmac);
	memzero_explicit(keys, sizeof(*keys));
}

/* K(epoch) = HKDF-Expand(PRK, "svmig v2 key s2r" || channel || epoch, 32) */
static int svmig_epoch_key(struct svmig_channel *ch, u32 epoch)
{
	u8 info[sizeof(svmig_label_key) - 1 + 8];
	size_t label_len = sizeof(svmig_label_key) - 1;
	__be32 be_channel = cpu_to_be32(ch->channel);
	__be32 be_epoch = cpu_to_be32(epoch);
	u8 key[SVMIG_KEY_LEN];
	int ret;

	memcpy(info, svmig_label_key, label_len);
	memcpy(info + label_len, &be_channel, 4);
	memcpy(info + label_len + 4, &be_epoch, 4);
	ret = svmig_kdf_expand(ch->keys.hmac, ch->keys.prk, info, sizeof(info),
			       key, sizeof(key));
	if (!ret)
		ret = crypto_aead_setkey(ch->keys.aead, key, sizeof(key));
	memzero_explicit(key, sizeof(key));
	return ret;
}

/* Make K(seq >> SVMIG_EPOCH_SHIFT) the AEAD's key. */
int svmig_keys_for_seq(struct svmig_channel *ch, u64 seq)
{
	struct svmig_keys *keys = &ch->keys;
	u64 epoch = seq >> SVMIG_EPOCH_SHIFT;
	int ret;

	if (!keys->have_prk)
		return -EINVAL;
	if (epoch > U32_MAX)
		return -EOVERFLOW;
	if (keys->have_epoch && keys->epoch == epoch)
		return 0;
	keys->have_epoch = false;
	ret = svmig_epoch_key(ch, epoch);
	if (ret)
		return ret;
	keys->epoch = epoch;
	keys->have_epoch = true;
	ch->stats.epoch = epoch;
	return 0;
}

/* RFC 5869 test case 1, checked at load: a broken HKDF must not go live. */
int svmig_selftest(void)
{
	static const u8 ikm[22] = {
		0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
		0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	};
	static const u8 salt[13] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
		0x0b, 0x0c,
	};
	static const u8 info[10] = {
		0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
	};
	static const u8 okm_expected[42] = {
		0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f,
		0x64, 0xd0, 0x36, 0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a,
		0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56, 0xec, 0xc4, 0xc5, 0xbf, 0x34,
		0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65,
	};
	struct crypto_shash *hmac;
	u8 prk[SVMIG_SHA256_LEN], okm[sizeof(okm_expected)];
	int ret;

	hmac = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(hmac))
		return PTR_ERR(hmac);
	ret = svmig_kdf_extract(hmac, salt, sizeof(salt), ikm, sizeof(ikm), prk);
	if (!ret)
		ret = svmig_kdf_expand(hmac, prk, info, sizeof(info), okm, sizeof(okm));
	if (!ret && memcmp(okm, okm_expected, sizeof(okm)))
		ret = -EBADMSG;
	crypto_free_shash(hmac);
	return ret;
}
