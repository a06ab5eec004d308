// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's authority and highest accepted serial, bound to the TPM.
 * See policy_nv.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>

#include "policy_nv.h"
#include "tpm_int.h"

#define BIND_ATTRS	(TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD | \
			 TPMA_NV_OWNERREAD | TPMA_NV_WRITEDEFINE | \
			 TPMA_NV_NO_DA)
#define BIND_STATE	(TPMA_NV_WRITELOCKED | TPMA_NV_WRITTEN)
#define CNT_ATTRS	(TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | \
			 TPMA_NV_OWNERREAD | TPMA_NV_NO_DA | \
			 ((TPMA_NV)TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT))

static int pnv_msg(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int pnv_msg(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int pnv_tss(char *err, size_t errlen, const char *what, uint32_t idx,
		   TSS2_RC rc)
{
	return pnv_msg(err, errlen, -EIO, "TPM NV index 0x%08x: %s: %s", idx,
		       what, Tss2_RC_Decode(rc));
}

static bool pnv_index_ok(uint32_t idx)
{
	return idx >= SVMIGD_TPM_NV_FIRST && idx <= SVMIGD_TPM_NV_LAST;
}

static void pnv_close(struct svmigd_tpm *t, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE)
		Esys_TR_Close(t->esys, h);
	*h = ESYS_TR_NONE;
}

/* The handle and public area of a defined index; -ENOENT if undefined. */
static int pnv_open(struct svmigd_tpm *t, uint32_t idx, ESYS_TR *h,
		    TPMS_NV_PUBLIC *pub, char *err, size_t errlen)
{
	TPM2B_NV_PUBLIC *p = NULL;
	TSS2_RC rc;

	rc = Esys_TR_FromTPMPublic(t->esys, idx, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, h);
	if (rc != TSS2_RC_SUCCESS) {
		*h = ESYS_TR_NONE;
		if ((rc & 0xfff) == TPM2_RC_HANDLE || (rc & 0xbf) == 0x8b)
			return pnv_msg(err, errlen, -ENOENT,
				       "TPM NV index 0x%08x is not defined", idx);
		return pnv_tss(err, errlen, "not readable", idx, rc);
	}
	rc = Esys_NV_ReadPublic(t->esys, *h, ESYS_TR_NONE, ESYS_TR_NONE,
				ESYS_TR_NONE, &p, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		pnv_close(t, h);
		return pnv_tss(err, errlen, "NV_ReadPublic", idx, rc);
	}
	*pub = p->nvPublic;
	Esys_Free(p);
	return 0;
}

static bool bind_shape_ok(const TPMS_NV_PUBLIC *pub)
{
	return pub->nameAlg == TPM2_ALG_SHA256 &&
	       pub->dataSize == SVMIGD_POLICY_NV_SIZE &&
	       (pub->attributes & ~(TPMA_NV)BIND_STATE) == BIND_ATTRS &&
	       pub->authPolicy.size == 0;
}

static bool cnt_shape_ok(const TPMS_NV_PUBLIC *pub)
{
	return pub->nameAlg == TPM2_ALG_SHA256 && pub->dataSize == 8 &&
	       (pub->attributes & ~(TPMA_NV)TPMA_NV_WRITTEN) == CNT_ATTRS &&
	       pub->authPolicy.size == 0;
}

static uint64_t be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void be64_put(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Reads @len bytes of an index whose own (empty) password authorizes reads. */
static int pnv_read(struct svmigd_tpm *t, uint32_t idx, ESYS_TR h,
		    uint8_t *buf, uint16_t len, char *err, size_t errlen)
{
	TPM2B_MAX_NV_BUFFER *data = NULL;
	TSS2_RC rc;

	rc = Esys_NV_Read(t->esys, h, h, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			  ESYS_TR_NONE, len, 0, &data);
	if (rc != TSS2_RC_SUCCESS)
		return pnv_tss(err, errlen, "NV_Read", idx, rc);
	if (data->size != len) {
		Esys_Free(data);
		return pnv_msg(err, errlen, -EIO,
			       "TPM NV index 0x%08x: NV_Read returned %u bytes, not %u",
			       idx, data->size, len);
	}
	memcpy(buf, data->buffer, len);
	Esys_Free(data);
	return 0;
}

/* The counter's value; -EBADE when it is not our counter or never written. */
static int cnt_read(struct svmigd_tpm *t, uint32_t idx, uint64_t *v,
		    char *err, size_t errlen)
{
	TPMS_NV_PUBLIC pub;
	uint8_t buf[8];
	ESYS_TR h;
	int ret;

	ret = pnv_open(t, idx, &h, &pub, err, errlen);
	if (ret)
		return ret;
	if (!cnt_shape_ok(&pub) || !(pub.attributes & TPMA_NV_WRITTEN))
		ret = pnv_msg(err, errlen, -EBADE,
			      "TPM NV index 0x%08x is not an svmig policy counter "
			      "(an 8-byte TPM_NT_COUNTER, written, attributes 0x%08x)",
			      idx, (unsigned int)CNT_ATTRS);
	else
		ret = pnv_read(t, idx, h, buf, sizeof(buf), err, errlen);
	pnv_close(t, &h);
	if (!ret)
		*v = be64_get(buf);
	return ret;
}

static int pnv_read_locked(struct svmigd_tpm *t, uint32_t binding_index,
			   struct svmigd_policy_nv *out, char *err,
			   size_t errlen)
{
	uint8_t buf[SVMIGD_POLICY_NV_SIZE];
	TPMS_NV_PUBLIC pub;
	ESYS_TR h;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!pnv_index_ok(binding_index))
		return pnv_msg(err, errlen, -EINVAL, "NV index 0x%08x is not "
			       "in 0x%08x..0x%08x", binding_index,
			       SVMIGD_TPM_NV_FIRST, SVMIGD_TPM_NV_LAST);
	ret = pnv_open(t, binding_index, &h, &pub, err, errlen);
	if (ret)
		return ret;
	if (!bind_shape_ok(&pub) || (pub.attributes & BIND_STATE) != BIND_STATE)
		ret = pnv_msg(err, errlen, -EBADE,
			      "TPM NV index 0x%08x is not a written, write-locked "
			      "%d-byte svmig policy binding", binding_index,
			      SVMIGD_POLICY_NV_SIZE);
	else
		ret = pnv_read(t, binding_index, h, buf, sizeof(buf), err,
			       errlen);
	pnv_close(t, &h);
	if (ret)
		return ret;
	memcpy(out->authority_sha256, buf, SVMIGD_SHA256_LEN);
	out->counter_index = (uint32_t)buf[32] << 24 | (uint32_t)buf[33] << 16 |
			     (uint32_t)buf[34] << 8 | buf[35];
	out->base = be64_get(buf + 40);
	if (!pnv_index_ok(out->counter_index) ||
	    out->counter_index == binding_index || buf[36] || buf[37] ||
	    buf[38] || buf[39])
		return pnv_msg(err, errlen, -EBADE,
			       "TPM NV index 0x%08x: the binding names no valid counter",
			       binding_index);
	ret = cnt_read(t, out->counter_index, &out->counter, err, errlen);
	if (ret)
		return ret;
	if (out->counter < out->base)
		return pnv_msg(err, errlen, -EBADE,
			       "TPM NV counter 0x%08x (%llu) is below its bound base %llu",
			       out->counter_index,
			       (unsigned long long)out->counter,
			       (unsigned long long)out->base);
	out->highest = out->counter - out->base;
	return 0;
}

int svmigd_policy_nv_read(struct svmigd_tpm *t, uint32_t binding_index,
			  struct svmigd_policy_nv *out, char *err,
			  size_t errlen)
{
	int ret;

	if (!t || !out)
		return pnv_msg(err, errlen, -EINVAL, "missing argument");
	pthread_mutex_lock(&t->lock);
	ret = pnv_read_locked(t, binding_index, out, err, errlen);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

/* Increments the counter @n times. */
static int cnt_increment(struct svmigd_tpm *t, uint32_t idx, uint64_t n,
			 char *err, size_t errlen)
{
	TPMS_NV_PUBLIC pub;
	ESYS_TR h;
	TSS2_RC rc = TSS2_RC_SUCCESS;
	uint64_t i;
	int ret;

	ret = pnv_open(t, idx, &h, &pub, err, errlen);
	if (ret)
		return ret;
	if (!cnt_shape_ok(&pub)) {
		pnv_close(t, &h);
		return pnv_msg(err, errlen, -EBADE,
			       "TPM NV index 0x%08x is not an svmig policy counter",
			       idx);
	}
	for (i = 0; i < n && rc == TSS2_RC_SUCCESS; i++)
		rc = Esys_NV_Increment(t->esys, h, h, ESYS_TR_PASSWORD,
				       ESYS_TR_NONE, ESYS_TR_NONE);
	pnv_close(t, &h);
	return rc == TSS2_RC_SUCCESS ? 0 :
	       pnv_tss(err, errlen, "NV_Increment", idx, rc);
}

/* Defines an index with the owner's authorization; -EEXIST if defined. */
static int pnv_define(struct svmigd_tpm *t, uint32_t idx, TPMA_NV attrs,
		      uint16_t size, char *err, size_t errlen)
{
	const TPM2B_AUTH none = { 0 };
	TPM2B_NV_PUBLIC info = {
		.nvPublic = {
			.nvIndex = idx,
			.nameAlg = TPM2_ALG_SHA256,
			.attributes = attrs,
			.dataSize = size,
		},
	};
	ESYS_TR h = ESYS_TR_NONE;
	TSS2_RC rc;

	rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				 ESYS_TR_NONE, ESYS_TR_NONE, &none, &info, &h);
	if (rc == TSS2_RC_SUCCESS) {
		pnv_close(t, &h);
		return 0;
	}
	if (rc == TPM2_RC_NV_DEFINED)
		return -EEXIST;
	return pnv_tss(err, errlen, "NV_DefineSpace", idx, rc);
}

static int pnv_bind_locked(struct svmigd_tpm *t, uint32_t bidx, uint32_t cidx,
			   const uint8_t digest[SVMIGD_SHA256_LEN],
			   struct svmigd_policy_nv *out, char *err,
			   size_t errlen)
{
	TPM2B_MAX_NV_BUFFER data = { .size = SVMIGD_POLICY_NV_SIZE };
	TPMS_NV_PUBLIC pub;
	uint64_t base;
	ESYS_TR h;
	TSS2_RC rc;
	int ret;

	/* the counter: defined (or left by an interrupted bind), written */
	ret = pnv_define(t, cidx, CNT_ATTRS, 8, err, errlen);
	if (ret && ret != -EEXIST)
		return ret;
	ret = pnv_open(t, cidx, &h, &pub, err, errlen);
	if (ret)
		return ret;
	pnv_close(t, &h);
	if (!cnt_shape_ok(&pub))
		return pnv_msg(err, errlen, -EBADE,
			       "TPM NV index 0x%08x exists and is not an svmig policy counter",
			       cidx);
	if (!(pub.attributes & TPMA_NV_WRITTEN)) {
		ret = cnt_increment(t, cidx, 1, err, errlen);
		if (ret)
			return ret;
	}
	ret = cnt_read(t, cidx, &base, err, errlen);
	if (ret)
		return ret;
	/* the binding: defined, written once, locked */
	ret = pnv_define(t, bidx, BIND_ATTRS, SVMIGD_POLICY_NV_SIZE, err, errlen);
	if (ret && ret != -EEXIST)
		return ret;
	ret = pnv_open(t, bidx, &h, &pub, err, errlen);
	if (ret)
		return ret;
	if (!bind_shape_ok(&pub)) {
		pnv_close(t, &h);
		return pnv_msg(err, errlen, -EBADE,
			       "TPM NV index 0x%08x exists with other attributes or size",
			       bidx);
	}
	if (pub.attributes & TPMA_NV_WRITELOCKED) {
		pnv_close(t, &h);
		return pnv_msg(err, errlen, -EEXIST,
			       "TPM NV index 0x%08x is bound already (written and "
			       "write-locked; only the owner can undefine it)", bidx);
	}
	memcpy(data.buffer, digest, SVMIGD_SHA256_LEN);
	data.buffer[32] = (uint8_t)(cidx >> 24);
	data.buffer[33] = (uint8_t)(cidx >> 16);
	data.buffer[34] = (uint8_t)(cidx >> 8);
	data.buffer[35] = (uint8_t)cidx;
	be64_put(data.buffer + 40, base);
	rc = Esys_NV_Write(t->esys, ESYS_TR_RH_OWNER, h, ESYS_TR_PASSWORD,
			   ESYS_TR_NONE, ESYS_TR_NONE, &data, 0);
	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_NV_WriteLock(t->esys, ESYS_TR_RH_OWNER, h,
				       ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE);
	pnv_close(t, &h);
	if (rc != TSS2_RC_SUCCESS)
		return pnv_tss(err, errlen, "NV_Write", bidx, rc);
	return pnv_read_locked(t, bidx, out, err, errlen);
}

int svmigd_policy_nv_bind(struct svmigd_tpm *t, uint32_t binding_index,
			  uint32_t counter_index,
			  const uint8_t authority_sha256[SVMIGD_SHA256_LEN],
			  const char *owner_auth, struct svmigd_policy_nv *out,
			  char *err, size_t errlen)
{
	TPM2B_AUTH auth = { 0 };
	size_t alen = owner_auth ? strlen(owner_auth) : 0;
	TSS2_RC rc;
	int ret;

	if (!t || !authority_sha256 || !out || !pnv_index_ok(binding_index) ||
	    !pnv_index_ok(counter_index) || binding_index == counter_index ||
	    alen > sizeof(auth.buffer))
		return pnv_msg(err, errlen, -EINVAL,
			       "two different NV indexes 0x%08x..0x%08x and an owner "
			       "password of at most %zu bytes are needed",
			       SVMIGD_TPM_NV_FIRST, SVMIGD_TPM_NV_LAST,
			       sizeof(auth.buffer));
	auth.size = (UINT16)alen;
	memcpy(auth.buffer, owner_auth ? owner_auth : "", alen);
	pthread_mutex_lock(&t->lock);
	rc = Esys_TR_SetAuth(t->esys, ESYS_TR_RH_OWNER, &auth);
	OPENSSL_cleanse(&auth, sizeof(auth));
	if (rc != TSS2_RC_SUCCESS)
		ret = pnv_tss(err, errlen, "TR_SetAuth", binding_index, rc);
	else
		ret = pnv_bind_locked(t, binding_index, counter_index,
				      authority_sha256, out, err, errlen);
	Esys_TR_SetAuth(t->esys, ESYS_TR_RH_OWNER, &(const TPM2B_AUTH){ 0 });
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static int pnv_enforce_locked(struct svmigd_tpm *t, uint32_t bidx,
			      const struct svmigd_policy *p, bool read_only,
			      struct svmigd_policy_nv *nv, char *err,
			      size_t errlen)
{
	char hex[SVMIGD_SHA256_HEX_LEN + 1];
	int ret;

	ret = pnv_read_locked(t, bidx, nv, err, errlen);
	if (ret)
		return ret;
	if (CRYPTO_memcmp(nv->authority_sha256, p->authority_sha256,
			  SVMIGD_SHA256_LEN)) {
		svmigd_hex_encode(hex, nv->authority_sha256, SVMIGD_SHA256_LEN);
		return pnv_msg(err, errlen, -EKEYREJECTED,
			       "the policy is signed by an authority other than the "
			       "one bound to TPM NV index 0x%08x (authority_sha256 %.16s...)",
			       bidx, hex);
	}
	if (p->serial < nv->highest)
		return pnv_msg(err, errlen, -ESTALE,
			       "policy serial %llu is older than serial %llu, the "
			       "highest this host's TPM accepted (NV counter 0x%08x): "
			       "a rolled-back policy is refused",
			       (unsigned long long)p->serial,
			       (unsigned long long)nv->highest, nv->counter_index);
	if (p->serial == nv->highest || read_only)
		return 0;
	if (p->serial - nv->highest > SVMIGD_POLICY_NV_STEP_MAX)
		return pnv_msg(err, errlen, -E2BIG,
			       "policy serial %llu jumps more than %d past serial %llu "
			       "(NV counter 0x%08x advances one step at a time)",
			       (unsigned long long)p->serial,
			       SVMIGD_POLICY_NV_STEP_MAX,
			       (unsigned long long)nv->highest, nv->counter_index);
	ret = cnt_increment(t, nv->counter_index, p->serial - nv->highest, err,
			    errlen);
	if (!ret)
		ret = pnv_read_locked(t, bidx, nv, err, errlen);
	if (!ret && nv->highest != p->serial)
		ret = pnv_msg(err, errlen, -EIO,
			      "TPM NV counter 0x%08x did not reach serial %llu (it says %llu)",
			      nv->counter_index, (unsigned long long)p->serial,
			      (unsigned long long)nv->highest);
	return ret;
}

int svmigd_policy_nv_enforce(struct svmigd_tpm *t, uint32_t binding_index,
			     const struct svmigd_policy *p, bool read_only,
			     struct svmigd_policy_nv *nv, char *err,
			     size_t errlen)
{
	struct svmigd_policy_nv tmp;
	int ret;

	if (!t || !p)
		return pnv_msg(err, errlen, -EINVAL, "missing argument");
	pthread_mutex_lock(&t->lock);
	ret = pnv_enforce_locked(t, binding_index, p, read_only,
				 nv ? nv : &tmp, err, errlen);
	pthread_mutex_unlock(&t->lock);
	return ret;
}
