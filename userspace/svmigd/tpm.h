/* SPDX-License-Identifier: GPL-2.0 */
/*
 * svmigd's TPM component (Documentation/svmigd.rst, "Identities and keys",
 * protocol steps ATTEST and KEY): the attestation key (AK), quotes, the
 * per-migration ECDH key certified by the AK, and the pure-userspace
 * verifiers of a peer's quote and certification (OpenSSL, no TPM;
 * tpm_verify.c and ak.c).
 *
 * TPM side (tpm2-tss ESAPI): every command runs without sessions (empty
 * passwords) and flushes each transient object it loads before it returns,
 * except the ECDH key, which lives until svmigd_tpm_ecdh_free().  The AK is
 * a primary key made from a fixed template in the owner hierarchy: the same
 * key every time on the same TPM (until TPM2_Clear), nothing persisted.
 *
 * A context is one ESAPI context: not for concurrent use from two threads.
 *
 * Errors: 0 on success, a negative SVMIGD_TPM_E* code otherwise; the
 * verifiers return a distinct code for each check and, when @why is not
 * NULL, a sentence naming it.  svmigd_tpm_strerror() names any code;
 * svmigd_tpm_last_error() gives the calling thread's last TPM/TSS error.
 * A context may be shared by threads: its calls that talk to the TPM take
 * turns (a mutex in the context).
 */
#ifndef SVMIGD_TPM_H
#define SVMIGD_TPM_H

#include <stddef.h>
#include <stdint.h>

#define SVMIGD_TPM_DIGEST_LEN	32	/* SHA-256 */
#define SVMIGD_TPM_QUAL_LEN	32	/* qualifying data (nonce) */
#define SVMIGD_TPM_POINT_LEN	65	/* P-256 SEC1 uncompressed: 04 || x || y */
#define SVMIGD_TPM_Z_LEN	32	/* ECDH shared secret: x coordinate */
#define SVMIGD_TPM_SIG_MAX	72	/* DER ECDSA-Sig-Value, P-256 */
#define SVMIGD_TPM_ATTEST_MAX	1024	/* marshalled TPMS_ATTEST */
#define SVMIGD_TPM_PUBLIC_MAX	512	/* marshalled TPMT_PUBLIC */
#define SVMIGD_TPM_NAME_LEN	34	/* nameAlg (be16) || SHA-256 */
#define SVMIGD_TPM_PCR_COUNT	24	/* PCRs of the sha256 bank */

enum {
	SVMIGD_TPM_EINVAL = -1,		/* bad argument */
	SVMIGD_TPM_ENOMEM = -2,		/* out of memory */
	SVMIGD_TPM_ETPM = -3,		/* a TPM command or the TSS failed */
	SVMIGD_TPM_ECRYPTO = -4,	/* OpenSSL failed (not a verdict) */
	SVMIGD_TPM_ERANGE = -5,		/* a result does not fit our buffers */
	SVMIGD_TPM_EAGAIN = -6,		/* PCRs kept changing during a quote */
	SVMIGD_TPM_EBOUND = -7,		/* NV index already bound (locked) */
	SVMIGD_TPM_ENVINDEX = -8,	/* NV index is not a binding */
	/* verdicts of the verifiers */
	SVMIGD_TPM_EAK = -20,		/* AK is not the enrolled one */
	SVMIGD_TPM_EAKKEY = -21,	/* AK public area malformed, not P-256 */
	SVMIGD_TPM_ESIG = -22,		/* signature does not verify */
	SVMIGD_TPM_EATTEST = -23,	/* attest does not unmarshal */
	SVMIGD_TPM_EMAGIC = -24,	/* magic != TPM_GENERATED_VALUE */
	SVMIGD_TPM_ETYPE = -25,		/* wrong attestation type */
	SVMIGD_TPM_EQUAL = -26,		/* extraData != qualifying data */
	SVMIGD_TPM_EPCRSEL = -27,	/* PCR selection differs */
	SVMIGD_TPM_EPCRDIGEST = -28,	/* pcrDigest != SHA-256(PCR values) */
	SVMIGD_TPM_EPCRREF = -29,	/* a PCR differs from its reference */
	SVMIGD_TPM_EPUBLIC = -30,	/* public area unacceptable */
	SVMIGD_TPM_ENAME = -31,		/* certified name != public's name */
	SVMIGD_TPM_EAKATTR = -32,	/* AK lacks fixedTPM/restricted/... */
	SVMIGD_TPM_EEKCERT = -33,	/* EK certificate malformed, not the EK */
	SVMIGD_TPM_EEKCA = -34,		/* EK certificate from no listed CA */
};

/* PCR values of the sha256 bank, in ascending index order. */
struct svmigd_tpm_pcrs {
	unsigned int count;
	uint8_t index[SVMIGD_TPM_PCR_COUNT];
	uint8_t value[SVMIGD_TPM_PCR_COUNT][SVMIGD_TPM_DIGEST_LEN];
};

/*
 * The AK's public area, as it travels (ATTEST's "ak") and as the policy
 * enrolls it (ak_sha256).  @pub is the TPM2B_PUBLIC as tpm2-tss marshals
 * it: a 2-byte big-endian size, then that many bytes of TPMT_PUBLIC.
 * @sha256 is SHA-256 of that TPMT_PUBLIC (the bytes after the size): the
 * digest part of the AK's TPM Name, which is 0x000b || @sha256 (what
 * tpm2_readpublic prints as "name").
 */
struct svmigd_tpm_ak {
	uint8_t pub[SVMIGD_TPM_PUBLIC_MAX];	/* marshalled TPM2B_PUBLIC */
	size_t pub_len;
	uint8_t sha256[SVMIGD_TPM_DIGEST_LEN];	/* SHA-256(TPMT_PUBLIC) */
};

/* A quote as sent to the peer (ATTEST). */
struct svmigd_tpm_quote {
	uint8_t attest[SVMIGD_TPM_ATTEST_MAX];	/* marshalled TPMS_ATTEST */
	size_t attest_len;
	uint8_t sig[SVMIGD_TPM_SIG_MAX];	/* DER ECDSA over SHA-256(attest) */
	size_t sig_len;
	struct svmigd_tpm_pcrs pcrs;		/* the quoted PCRs' values */
};

/* An ECDH key's public area and its certification by the AK (KEY). */
struct svmigd_tpm_ecdh_cert {
	uint8_t pub[SVMIGD_TPM_PUBLIC_MAX];	/* marshalled TPMT_PUBLIC */
	size_t pub_len;
	uint8_t attest[SVMIGD_TPM_ATTEST_MAX];	/* TPMS_ATTEST, ATTEST_CERTIFY */
	size_t attest_len;
	uint8_t sig[SVMIGD_TPM_SIG_MAX];	/* DER ECDSA by the AK */
	size_t sig_len;
};

/*
 * EK (ek.c): the TPM's RSA EK certificate, as its TCG NV index
 * (SVMIGD_TPM_EK_CERT_NV_RSA) holds it (DER, maybe padded), and the EK's
 * public area (marshalled TPM2B_PUBLIC) re-created with the TCG EK
 * Credential Profile's template L-1 (RSA 2048) in the endorsement
 * hierarchy.
 */
#define SVMIGD_TPM_EK_CERT_NV_RSA	0x01c00002u
#define SVMIGD_TPM_EK_CERT_MAX		2048
struct svmigd_tpm_ek {
	uint8_t cert[SVMIGD_TPM_EK_CERT_MAX];
	size_t cert_len;
	uint8_t pub[SVMIGD_TPM_PUBLIC_MAX];
	size_t pub_len;
};

struct svmigd_tpm;
struct svmigd_tpm_ecdh;

const char *svmigd_tpm_strerror(int err);

/*
 * TPM side.  @tcti: a tctildr string, e.g. "device:/dev/tpmrm0" or
 * "swtpm:host=127.0.0.1,port=2321" (NULL: the TSS default).
 */
int svmigd_tpm_open(const char *tcti, struct svmigd_tpm **out);
void svmigd_tpm_close(struct svmigd_tpm *t);
const char *svmigd_tpm_last_error(const struct svmigd_tpm *t);

int svmigd_tpm_ak(struct svmigd_tpm *t, struct svmigd_tpm_ak *ak);
int svmigd_tpm_ek(struct svmigd_tpm *t, struct svmigd_tpm_ek *ek);

/*
 * Credential activation (ek.c; TPM 2.0 Part 1, section 24), a building
 * block not yet used by the protocol.  The verifier's TPM makes a
 * credential (TPM2_MakeCredential on the peer's EK public area @ek_pub,
 * loaded with TPM2_LoadExternal in the null hierarchy) of @secret for the
 * object named @name (0x000b || the AK's ak_sha256): @c holds the
 * marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET.  Only a TPM that
 * holds that EK and has loaded a key of that name recovers @secret:
 * svmigd_tpm_activate() runs TPM2_ActivateCredential with this host's AK
 * and its EK (template L-1, authorized by a PolicySecret(endorsement)
 * session).  A credential for another EK or another AK name gives
 * SVMIGD_TPM_ETPM.
 */
#define SVMIGD_TPM_CRED_MAX	512
struct svmigd_tpm_cred {
	uint8_t blob[SVMIGD_TPM_CRED_MAX];	/* TPM2B_ID_OBJECT */
	size_t blob_len;
	uint8_t secret[SVMIGD_TPM_CRED_MAX];	/* TPM2B_ENCRYPTED_SECRET */
	size_t secret_len;
};
int svmigd_tpm_make_credential(struct svmigd_tpm *t, const uint8_t *ek_pub,
			       size_t ek_pub_len,
			       const uint8_t name[SVMIGD_TPM_NAME_LEN],
			       const uint8_t secret[SVMIGD_TPM_DIGEST_LEN],
			       struct svmigd_tpm_cred *c);
int svmigd_tpm_activate(struct svmigd_tpm *t, const struct svmigd_tpm_cred *c,
			uint8_t secret[SVMIGD_TPM_DIGEST_LEN]);
int svmigd_tpm_pcr_read(struct svmigd_tpm *t, const unsigned int *idx,
			size_t n, struct svmigd_tpm_pcrs *pcrs);
int svmigd_tpm_pcr_extend(struct svmigd_tpm *t, unsigned int idx,
			  const uint8_t digest[SVMIGD_TPM_DIGEST_LEN]);
int svmigd_tpm_quote(struct svmigd_tpm *t,
		     const uint8_t qual[SVMIGD_TPM_QUAL_LEN],
		     const unsigned int *idx, size_t n,
		     struct svmigd_tpm_quote *q);

int svmigd_tpm_ecdh_create(struct svmigd_tpm *t,
			   const uint8_t qual[SVMIGD_TPM_QUAL_LEN],
			   struct svmigd_tpm_ecdh **key,
			   struct svmigd_tpm_ecdh_cert *cert);
int svmigd_tpm_ecdh_point(const struct svmigd_tpm_ecdh *key,
			  uint8_t point[SVMIGD_TPM_POINT_LEN]);
int svmigd_tpm_ecdh_zgen(struct svmigd_tpm_ecdh *key,
			 const uint8_t peer[SVMIGD_TPM_POINT_LEN],
			 uint8_t z[SVMIGD_TPM_Z_LEN]);
/* Flushes the key; call before svmigd_tpm_close() of its context. */
void svmigd_tpm_ecdh_free(struct svmigd_tpm_ecdh *key);

/*
 * A binding: a SHA-256 digest in an owner-defined NV index
 * (SVMIGD_TPM_NV_FIRST..SVMIGD_TPM_NV_LAST) of exactly 32 bytes, written
 * with the owner authorization and then write-locked for the life of the
 * index (TPMA_NV_WRITEDEFINE): changing it needs TPM2_NV_UndefineSpace,
 * i.e. the owner authorization.  Readable with an empty password.
 *
 * svmigd_tpm_nv_bind() defines the index (@owner_auth: the owner
 * hierarchy's password, NULL or "" for none), writes @digest and locks
 * it.  An index left defined but unwritten by an interrupted bind is
 * completed; a locked one gives SVMIGD_TPM_EBOUND, one with other
 * attributes or size SVMIGD_TPM_ENVINDEX.
 *
 * svmigd_tpm_nv_read() reads the digest; @len must be 32.  An index that
 * is not a written, write-locked 32-byte binding as above gives
 * SVMIGD_TPM_ENVINDEX; an undefined one SVMIGD_TPM_ETPM.
 */
#define SVMIGD_TPM_NV_FIRST	0x01000000u
#define SVMIGD_TPM_NV_LAST	0x01ffffffu

int svmigd_tpm_nv_read(struct svmigd_tpm *t, uint32_t nv_index,
		       uint8_t *buf, size_t len);
int svmigd_tpm_nv_bind(struct svmigd_tpm *t, uint32_t nv_index,
		       const uint8_t digest[SVMIGD_TPM_DIGEST_LEN],
		       const char *owner_auth);

/* Userspace side (no TPM). */

/*
 * AK public area (ak.c).  svmigd_tpm_ak_check() accepts @pub only if all
 * of it is one canonical marshalled TPM2B_PUBLIC (unmarshalled by the TSS,
 * no trailing bytes, the size field exact, marshalling it again gives the
 * same bytes) of an ECC P-256 key, name algorithm SHA-256, with the
 * objectAttributes fixedTPM, fixedParent, sensitiveDataOrigin, restricted
 * and sign set and decrypt clear, scheme ECDSA/SHA-256, and a point on the
 * curve; and, unless @ak_sha256 is NULL, whose svmigd_tpm_ak_digest() is
 * @ak_sha256.  Refusals: SVMIGD_TPM_EAKKEY (malformed, wrong algorithm),
 * SVMIGD_TPM_EAKATTR (an attribute; @why names it), SVMIGD_TPM_EAK (not
 * the enrolled digest).  svmigd_tpm_ak_digest() is SHA-256 of the
 * TPMT_PUBLIC in a well-formed @pub (see struct svmigd_tpm_ak).
 *
 * The attributes are what the public area claims: only credential
 * activation against a certified EK would prove that a TPM holds the key
 * (Documentation/svmigd.rst, "Open problems"); until then the enrolled
 * digest is what ties the key to the host.
 */
int svmigd_tpm_ak_check(const uint8_t *pub, size_t pub_len,
			const uint8_t *ak_sha256, char *why, size_t why_len);
int svmigd_tpm_ak_digest(const uint8_t *pub, size_t pub_len,
			 uint8_t sha256[SVMIGD_TPM_DIGEST_LEN]);

/*
 * An EK certificate (DER, padding after it allowed) checked for
 * enrolment: its public key is the EK of @ek_pub (an RSA 2048 public area
 * with the template's attributes), and it chains (OpenSSL
 * X509_verify_cert, partial chains allowed: a CA named may be an
 * intermediate) to a certificate of the PEM files @ca_files.  Refusals:
 * SVMIGD_TPM_EEKCERT (malformed, another key), SVMIGD_TPM_EEKCA (no
 * listed CA; @why has OpenSSL's reason), SVMIGD_TPM_EINVAL (no CA file,
 * or one without a certificate).
 */
int svmigd_ek_verify(const uint8_t *cert, size_t cert_len,
		     const uint8_t *ek_pub, size_t ek_pub_len,
		     const char *const *ca_files, size_t n_ca,
		     char *why, size_t why_len);
int svmigd_tpm_name(const uint8_t *pub, size_t pub_len,
		    uint8_t name[SVMIGD_TPM_NAME_LEN]);

/*
 * Verify @q from the TPM whose AK public area is @ak_pub (checked by
 * svmigd_tpm_ak_check() with @ak_sha256, the enrolled digest): signature, magic, type, extraData ==
 * @qual, a selection of exactly @ref's PCRs, pcrDigest == SHA-256 of
 * @q->pcrs' values, and each value == its reference.
 */
int svmigd_tpm_verify_quote(const uint8_t *ak_pub, size_t ak_pub_len,
			    const uint8_t *ak_sha256,
			    const struct svmigd_tpm_quote *q,
			    const uint8_t qual[SVMIGD_TPM_QUAL_LEN],
			    const struct svmigd_tpm_pcrs *ref,
			    char *why, size_t why_len);

/*
 * Verify a peer's @cert (signature by @ak_pub, checked as above, ATTEST_CERTIFY, extraData
 * == @qual, certified name == the name of @cert->pub, which must be a
 * TPM-generated, non-duplicable P-256 ECDH key) and give its point.
 */
int svmigd_tpm_verify_ecdh(const uint8_t *ak_pub, size_t ak_pub_len,
			   const uint8_t *ak_sha256,
			   const struct svmigd_tpm_ecdh_cert *cert,
			   const uint8_t qual[SVMIGD_TPM_QUAL_LEN],
			   uint8_t point[SVMIGD_TPM_POINT_LEN],
			   char *why, size_t why_len);

#endif /* SVMIGD_TPM_H */
