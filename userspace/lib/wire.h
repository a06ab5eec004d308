/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wire: the svmig wire format (Documentation/wire-format.rst) in userspace,
 * on OpenSSL.  It is the independent "oracle" implementation the kernel's
 * is checked against: both must produce and accept the same bytes.
 *
 * Conventions:
 *  - every int function returns 0 (or a byte count) on success and a
 *    negative errno on failure;
 *  - byte strings of fixed size are passed as pointers to that many bytes;
 *  - a struct svmig_wire is one end of one channel, either the sender or
 *    the receiver, used by one thread at a time, in page mode (HELLO, PAGE,
 *    MANIFEST) or in stream mode (HELLO, DATA, END), chosen at init.
 *
 * Receiver errors are the kernel's:
 *   -EPROTO   malformed record: buffer length, version, type (unknown or
 *             of the other mode), reserved field, length field, a record
 *             out of place (first record not a HELLO, a second HELLO,
 *             anything after the MANIFEST or END), HELLO flags (other
 *             bits, or the other mode); once authentic, a PAGE naming an
 *             unknown slot, a page outside its region or generation 0;
 *   -EILSEQ   seq is not the next one (replayed, reordered, dropped) and
 *             the record is authentic under the seq it carries;
 *   -EBADMSG  the tag does not verify (or seq is not the next one and the
 *             record does not authenticate under it), or the HELLO names
 *             another channel or session;
 *   -EKEYREJECTED  an authentic HELLO without SVMIG_HELLO_F_TPM_SALT at a
 *             receiver initialised with SVMIG_KEY_REQUIRE_TPM_SALT;
 *   -ENODATA  (svmig_wire_eof) the stream ended before the MANIFEST or END.
 * An authentic MANIFEST or END whose reserved field is not 0 is -EPROTO
 * (checked after the tag, like a PAGE's identity).
 * Checks run in the order: header, seq, place, HELLO clear fields, tag,
 * then what the tag protected (a PAGE's identity).  A refused record
 * changes nothing but the error counters (and w->failed), and writes
 * nothing to the caller's buffers except a zeroed *rec; it is not fatal
 * here (the genuine record is still accepted after it), whatever a kernel
 * channel does.  A PAGE whose generation is not above the one in the
 * page table is authentic but stale: counted, nothing written, table and
 * parts unchanged.
 *
 * Sessions: every wire has a page table (Documentation/wire-format.rst,
 * "The page table and its sums"); svmig_wire_join() makes wires share one,
 * as the channels of a session (SVMIG_KEY_SESSION) do.  Each wire keeps
 * its part (w->part_pages, w->part_sum).  The table counts the wires that
 * ever joined it (t->joined, 1 for a wire alone): a sender's MANIFEST and
 * END say that many channels, and a receiver's session verdict requires
 * every MANIFEST/END to say as many as joined its table.  A MANIFEST's
 * (END's) verdict is the full one for a wire that was always alone
 * (channels must then be 1); for a wire that ever shared its table it
 * covers the channel's page_records (END: records, bytes, transcript)
 * only, and svmig_wire_session_verdict() gives the session's.  A wire
 * freed while others remain leaves its part, its MANIFEST's or END's
 * numbers and its verdict in the table (t->gone), as a closed channel
 * does in a kernel session.
 */
#ifndef SVMIG_WIRE_H
#define SVMIG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/svmig.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SVMIG_HASH_LEN		32	/* SHA-256 */
/* the largest AAD: implicit part, header, HELLO clear part */
#define SVMIG_AAD_MAX_LEN	(SVMIG_AAD_IMPLICIT_LEN + SVMIG_HDR_LEN + \
				 sizeof(struct svmig_wire_hello))
/* the largest record on the wire (a full DATA record) */
#define SVMIG_REC_MAX_LEN	SVMIG_DATA_REC_MAX
/* one table value's SHA-256 input after KT: be32 slot, be64 page, be32 gen, tag */
#define SVMIG_TABLE_INPUT_LEN	32

/* ---- HKDF-SHA-256 (RFC 5869), thin wrappers over EVP_KDF "HKDF" ---- */

/*
 * PRK = HKDF-Extract(salt, IKM); salt may be empty (salt_len 0, the RFC's
 * "not provided"), IKM may not.  -EINVAL on bad arguments, -EIO/-ENOMEM
 * from OpenSSL.
 */
int svmig_hkdf_extract(const uint8_t *salt, size_t salt_len,
		       const uint8_t *ikm, size_t ikm_len,
		       uint8_t prk[SVMIG_HASH_LEN]);
/* OKM = HKDF-Expand(PRK, info, L = okm_len); okm_len <= 255 * 32. */
int svmig_hkdf_expand(const uint8_t *prk, size_t prk_len,
		      const uint8_t *info, size_t info_len,
		      uint8_t *okm, size_t okm_len);

/* ---- the key schedule, one step each ---- */

/* K0 = HKDF-Extract(salt = "svmig v2 session" || session_id, IKM = secret) */
int svmig_kdf_k0(const uint8_t secret[SVMIG_SECRET_LEN],
		 const uint8_t session_id[SVMIG_SESSION_ID_LEN],
		 uint8_t k0[SVMIG_KEY_LEN]);
/* PRK = HKDF-Extract(salt = salt, IKM = K0) */
int svmig_kdf_prk(const uint8_t k0[SVMIG_KEY_LEN],
		  const uint8_t salt[SVMIG_SALT_LEN],
		  uint8_t prk[SVMIG_KEY_LEN]);
/* K(epoch) = HKDF-Expand(PRK, "svmig v2 key s2r" || be32(channel) || be32(epoch), 32) */
int svmig_kdf_key(const uint8_t prk[SVMIG_KEY_LEN], uint32_t channel,
		  uint32_t epoch, uint8_t key[SVMIG_KEY_LEN]);

/* KT = HKDF-Expand(K0, "svmig v2 table key", 64) */
int svmig_kdf_table_key(const uint8_t k0[SVMIG_KEY_LEN],
			uint8_t kt[SVMIG_TABLE_KEY_LEN]);
/* FP = HKDF-Expand(K0, "svmig v2 session fp", 32) */
int svmig_kdf_fp(const uint8_t k0[SVMIG_KEY_LEN], uint8_t fp[SVMIG_HASH_LEN]);

/* ---- the page table and its sums ---- */

/*
 * v = the first 16 bytes of SHA-256(KT || be32(slot) || be64(page) ||
 * be32(generation) || tag), a 128-bit big-endian integer.
 */
int svmig_table_value(const uint8_t kt[SVMIG_TABLE_KEY_LEN], uint32_t slot,
		      uint64_t page, uint32_t generation,
		      const uint8_t tag[SVMIG_TAG_LEN],
		      uint8_t v[SVMIG_TABLE_SUM_LEN]);
/* sum = sum + v, and sum = sum - v, mod 2^128 (16 bytes, big-endian) */
void svmig_sum_add(uint8_t sum[SVMIG_TABLE_SUM_LEN],
		   const uint8_t v[SVMIG_TABLE_SUM_LEN]);
void svmig_sum_sub(uint8_t sum[SVMIG_TABLE_SUM_LEN],
		   const uint8_t v[SVMIG_TABLE_SUM_LEN]);

struct svmig_table_region {
	uint32_t slot;
	uint64_t npages;
	uint32_t *gen;			/* [npages], 0: never sent/accepted */
	uint8_t (*value)[SVMIG_TABLE_SUM_LEN];	/* [npages], 0 with gen 0 */
};

/*
 * What a wire that left a shared table (svmig_wire_free) leaves in it for
 * the session's verdict: its place in the join order, its verdict, its
 * part and its MANIFEST's (END's) numbers.
 */
struct svmig_table_gone {
	size_t join_index;
	uint32_t verdict;
	uint32_t manifest_channels;
	uint64_t part_pages, manifest_pages;
	uint8_t part_sum[SVMIG_TABLE_SUM_LEN];
	uint8_t manifest_table_sum[SVMIG_TABLE_SUM_LEN];
};

/*
 * Regions kept sorted by slot.  Zero-initialise before first use.  A
 * wire's table also counts the wires that share it now (members) and
 * their channel numbers, the wires that ever joined it (joined, never
 * decreasing: 1 for a wire alone) and what the receivers that left it
 * kept there (gone).  A table built with svmig_table_add_region alone (no
 * wire) has no members and joined 0.
 */
struct svmig_table {
	struct svmig_table_region *regions;
	size_t nregions;
	size_t members;
	uint32_t *channels;		/* [members] */
	size_t joined;
	size_t ngone;
	struct svmig_table_gone *gone;	/* [ngone] */
	bool gone_lost;			/* a part could not be kept: FAILED */
};

/* -EEXIST: slot already present; -EINVAL: npages 0; -ENOMEM. */
int svmig_table_add_region(struct svmig_table *t, uint32_t slot,
			   uint64_t npages);
/* The region of @slot, or NULL. */
struct svmig_table_region *svmig_table_find(const struct svmig_table *t,
					    uint32_t slot);
/* Set one entry (tests use it to build tables); -EINVAL if absent. */
int svmig_table_set(struct svmig_table *t, uint32_t slot, uint64_t page,
		    uint32_t gen, const uint8_t v[SVMIG_TABLE_SUM_LEN]);
/*
 * The table's entries with gen != 0 (*pages) and the sum of their values
 * mod 2^128 (@sum): what the parts of all its channels add up to.
 */
void svmig_table_sum(const struct svmig_table *t, uint64_t *pages,
		     uint8_t sum[SVMIG_TABLE_SUM_LEN]);
void svmig_table_free(struct svmig_table *t);

/* ---- one end of a channel ---- */

/* What svmig_wire_open_record reports about an accepted record. */
struct svmig_wire_rec {
	uint8_t type;			/* SVMIG_REC_* */
	uint64_t seq;
	/* PAGE */
	uint32_t slot;
	uint32_t generation;
	uint64_t page;
	bool stale;			/* authentic but dropped: nothing written */
	/*
	 * MANIFEST: its contents (host order) and the verdict: the full one
	 * for a wire alone in its table, the channel's part (page_records)
	 * for a wire that shares it (svmig_wire_session_verdict)
	 */
	uint64_t manifest_pages;
	uint64_t manifest_page_records;
	uint32_t manifest_channels;	/* the sender session's channels */
	uint8_t manifest_table_sum[SVMIG_TABLE_SUM_LEN];
	uint32_t verdict;		/* SVMIG_VERDICT_* (MANIFEST or END) */
	/* DATA: plaintext bytes written to the caller's buffer */
	uint32_t data_len;
	/* END: its contents (host order); the verdict is above */
	uint64_t end_records;
	uint64_t end_bytes;
	uint32_t end_channels;		/* the sender session's channels */
	uint8_t end_transcript[SVMIG_HASH_LEN];
};

/* Counters with the meaning of struct svmig_stats' fields of the same name. */
struct svmig_wire_stats {
	uint64_t records;		/* sealed, or authenticated (stale included) */
	uint64_t bytes;			/* wire bytes of those records */
	uint64_t pages;			/* page records sealed or accepted (not stale) */
	uint64_t stale_pages;
	uint64_t auth_failures;		/* -EBADMSG */
	uint64_t replays;		/* -EILSEQ */
	uint64_t proto_errors;		/* -EPROTO */
};

struct evp_cipher_ctx_st;
struct evp_md_ctx_st;

/*
 * Treat as read-only outside wire.c; tests may read any field.
 */
struct svmig_wire {
	uint32_t role;			/* SVMIG_ROLE_SENDER or _RECEIVER */
	uint32_t channel;
	uint8_t session_id[SVMIG_SESSION_ID_LEN];
	uint8_t salt[SVMIG_SALT_LEN];
	uint8_t k0[SVMIG_KEY_LEN];	/* until PRK exists, then wiped */
	uint8_t prk[SVMIG_KEY_LEN];
	bool have_k0, have_prk;
	bool stream;			/* stream mode (SVMIG_KEY_STREAM) */
	bool require_tpm_salt;		/* receiver: SVMIG_KEY_REQUIRE_TPM_SALT */
	/* KT, kept for the wire's life; kt_md has absorbed it (one block) */
	uint8_t kt[SVMIG_TABLE_KEY_LEN];
	struct evp_md_ctx_st *kt_md, *value_md;
	/*
	 * The HELLO's SVMIG_HELLO_F_TPM_SALT: set by the sender with
	 * svmig_wire_set_tpm_salt(), learnt by the receiver from the HELLO.
	 */
	bool tpm_salt;
	uint64_t next_seq;		/* next record to seal / to accept */
	bool hello_done;
	bool manifest_done;		/* the MANIFEST or END is sealed/accepted */
	bool failed;			/* receiver: a record was refused */
	/* the cached key K(key_epoch) and its cipher context */
	bool key_valid, key_enc;
	uint32_t key_epoch;
	uint8_t key[SVMIG_KEY_LEN];
	struct evp_cipher_ctx_st *ctx;
	/* the page table: this wire's own, or shared (svmig_wire_join) */
	struct svmig_table *table;
	size_t join_index;		/* its place in the table's join order */
	/*
	 * This channel's part of the table: the entries it created and the
	 * sum mod 2^128 of v(new) - v(old) over every entry it set (sealed,
	 * or accepted and not stale); big-endian, as in the MANIFEST.
	 */
	uint64_t part_pages;
	uint8_t part_sum[SVMIG_TABLE_SUM_LEN];
	/* page records sealed (resends included), or seen (accepted + stale) */
	uint64_t page_records;
	/*
	 * receiver: the accepted MANIFEST's pages and table_sum, and the
	 * MANIFEST's or END's channels (0 before it)
	 */
	uint64_t manifest_pages;
	uint8_t manifest_table_sum[SVMIG_TABLE_SUM_LEN];
	uint32_t manifest_channels;
	/*
	 * receiver: PENDING until the MANIFEST/END (then VERIFIED or
	 * MISMATCH, see struct svmig_wire_rec), TRUNCATED after
	 * svmig_wire_eof() before it
	 */
	uint32_t verdict;
	/*
	 * Stream mode: DATA records and their plaintext bytes sealed or
	 * accepted, and SHA-256 over the tags of every record sealed or
	 * accepted so far but the END (the HELLO's first), updated as each
	 * one is sealed or accepted.  NULL in page mode.
	 */
	uint64_t data_records;
	uint64_t data_bytes;
	struct evp_md_ctx_st *transcript;
	struct svmig_wire_stats stats;
	/* receiver: plaintext before copy-out (a page, a DATA record) */
	uint8_t scratch[SVMIG_STREAM_RECORD_MAX];
};

/*
 * @flags, as struct svmig_key_setup's: SVMIG_ROLE_SENDER or
 * SVMIG_ROLE_RECEIVER, optionally | SVMIG_KEY_STREAM for a stream-mode end
 * (w->role is then the role alone, w->stream true), and for a receiver
 * optionally | SVMIG_KEY_REQUIRE_TPM_SALT; other bits -EINVAL.  Computes
 * K0 and KT from @secret at once; no copy of @secret is kept (the caller
 * wipes its own).  The wire starts alone in a page table of its own.
 */
int svmig_wire_init(struct svmig_wire *w, uint32_t flags,
		    const uint8_t session_id[SVMIG_SESSION_ID_LEN],
		    uint32_t channel, const uint8_t secret[SVMIG_SECRET_LEN]);
/*
 * Wipes every key (OPENSSL_cleanse), frees the cipher context, and leaves
 * the page table (freed with its last member; a table others still share
 * keeps what a receiver leaves, struct svmig_table_gone).
 */
void svmig_wire_free(struct svmig_wire *w);
/*
 * Register a region of @npages pages (both ends, same slots).  In a shared
 * table a slot already there is 0 if it has @npages pages (every member
 * registers the session's regions), -EEXIST otherwise.
 */
int svmig_wire_add_region(struct svmig_wire *w, uint32_t slot, uint64_t npages);
/*
 * Make @w share @first's page table, as a channel of @first's session:
 * same role, mode, session id and secret (so the same KT, compared),
 * another channel number (-EEXIST if a member has it), neither wire past
 * set-up (no record sealed or opened, and no region on @w); -EINVAL
 * otherwise, nothing changed.  @w then sees @first's regions.  So no wire
 * joins a table once any of its members sealed or opened a record, a
 * MANIFEST or END above all: every MANIFEST/END of a session says the
 * same channels.
 */
int svmig_wire_join(struct svmig_wire *w, struct svmig_wire *first);
/*
 * Receiver: the session's verdict over @w[0..n), which must be every
 * current member of one table (a wire alone: n = 1), distinct receivers,
 * else SVMIG_VERDICT_FAILED; the members that left (t->gone) count too.
 * The first channel in join order (@w's order does not matter) whose
 * verdict is FAILED, TRUNCATED or MISMATCH gives it; else PENDING while
 * any has no MANIFEST/END; else VERIFIED if every MANIFEST/END says as
 * many channels as ever joined the table (t->joined) and (page mode) the
 * sums of the MANIFESTs' pages and table_sum equal the sums of the
 * channels' parts, MISMATCH if not.  (A refused record, w->failed, is the
 * caller's policy, as everywhere here.)
 */
uint32_t svmig_wire_session_verdict(struct svmig_wire *const *w, size_t n);
/*
 * Test hook: make @seq the next sequence number (both roles), e.g. to reach
 * an epoch boundary without 2^20 records.  -EPERM before the HELLO.
 */
int svmig_wire_set_next_seq(struct svmig_wire *w, uint64_t seq);

/*
 * Given at least SVMIG_HDR_LEN bytes of a stream, the length of the whole
 * record they start (header included): for stream readers.  -EAGAIN if
 * fewer than SVMIG_HDR_LEN bytes, -EPROTO if the length field exceeds
 * what any record can be (SVMIG_REC_MAX_LEN - SVMIG_HDR_LEN, a full DATA
 * record's).  Nothing else is checked.
 */
int svmig_wire_record_len(const uint8_t *buf, size_t len);

/* ---- sender ---- */
/*
 * Sender functions write a whole record to @out (which must hold the type's
 * SVMIG_*_REC_LEN bytes, SVMIG_HDR_LEN + len + SVMIG_TAG_LEN for DATA) and
 * return its length.  Errors: -EPERM wrong role, wrong mode (PAGE or
 * MANIFEST in stream mode, DATA or END in page mode) or out of order
 * (HELLO not first, after the MANIFEST or END), -ENOKEY no salt yet,
 * -EINVAL unknown slot, page out of range or DATA length not 1 to
 * SVMIG_STREAM_RECORD_MAX, -EOVERFLOW generation or epoch would wrap,
 * -ENOMEM/-EIO from OpenSSL.
 */

/* Choose the salt (real use: 32 random bytes); derives PRK, wipes K0. */
int svmig_wire_set_salt(struct svmig_wire *w,
			const uint8_t salt[SVMIG_SALT_LEN]);
/*
 * Whether the HELLO says the salt mixes a TPM's bytes
 * (SVMIG_HELLO_F_TPM_SALT); the caller knows, the oracle cannot.  Before
 * the HELLO only, -EPERM otherwise.
 */
int svmig_wire_set_tpm_salt(struct svmig_wire *w, bool tpm_salt);
/*
 * HELLO at seq 0; flags SVMIG_HELLO_F_STREAM in stream mode, and
 * SVMIG_HELLO_F_TPM_SALT if set above.
 */
int svmig_wire_seal_hello(struct svmig_wire *w, uint8_t *out);
/*
 * PAGE at the next seq with generation (table's + 1); updates the table
 * and this wire's part.
 */
int svmig_wire_seal_page(struct svmig_wire *w, uint32_t slot, uint64_t page,
			 const uint8_t plaintext[SVMIG_PAGE_SIZE], uint8_t *out);
/*
 * MANIFEST at the next seq: this wire's part_pages, page_records,
 * channels = its table's joined (1 alone), reserved 0, and part_sum;
 * nothing can be sealed after it.
 */
int svmig_wire_seal_manifest(struct svmig_wire *w, uint8_t *out);
/* Stream mode: DATA of @len (1..SVMIG_STREAM_RECORD_MAX) bytes of @buf. */
int svmig_wire_seal_data(struct svmig_wire *w, const void *buf, size_t len,
			 uint8_t *out);
/* Stream mode: END at the next seq; nothing can be sealed after it. */
int svmig_wire_seal_end(struct svmig_wire *w, uint8_t *out);
/*
 * Stream mode, either role: the struct svmig_wire_end (wire byte order)
 * this end would seal, or expects, now: w->data_records, w->data_bytes,
 * channels = its table's joined, reserved 0, and the transcript so far.  -EPERM in page mode.  Tests forge ENDs with it.
 */
int svmig_wire_end_plaintext(const struct svmig_wire *w,
			     uint8_t end[sizeof(struct svmig_wire_end)]);

/*
 * Lower level, for forging: seal a PAGE record with an explicit seq,
 * identity and generation (any: unknown slots, generation 0), without
 * checking or touching any state (table, parts, next_seq, counters).
 * Needs PRK (set_salt).
 */
int svmig_wire_seal_page_at(struct svmig_wire *w, uint64_t seq, uint32_t slot,
			    uint64_t page, uint32_t generation,
			    const uint8_t plaintext[SVMIG_PAGE_SIZE],
			    uint8_t *out);
/*
 * The 16-byte plaintext that precedes a page in a PAGE record: struct
 * svmig_wire_page in wire byte order.
 */
void svmig_wire_page_identity(uint8_t id[sizeof(struct svmig_wire_page)],
			      uint32_t slot, uint64_t page,
			      uint32_t generation);
/*
 * Lowest level: out = hdr || clear || AES-256-GCM(K(seq >> 20), nonce(seq),
 * AAD = implicit || hdr || clear, pt) || tag, where seq is read from @hdr.
 * @hdr is used exactly as given (wire byte order, nothing checked), so a
 * test can authenticate any header, and @pt_len may be any length whose
 * record fits an int (an oversize DATA, say).  Touches no state.  Needs PRK.
 */
int svmig_wire_seal_raw(struct svmig_wire *w, const struct svmig_wire_hdr *hdr,
			const void *clear, size_t clear_len,
			const void *pt, size_t pt_len, uint8_t *out);
/* Fill a header in wire byte order. */
void svmig_wire_hdr_fill(struct svmig_wire_hdr *hdr, uint8_t type,
			 uint32_t length, uint64_t seq);

/* ---- receiver ---- */
/*
 * Check and open one whole record (buf, len: exactly one record).  For an
 * accepted, non-stale PAGE the plaintext goes to @out (SVMIG_PAGE_SIZE
 * bytes), for an accepted DATA record its rec->data_len bytes of plaintext
 * (so in stream mode @out must hold SVMIG_STREAM_RECORD_MAX bytes, or the
 * record's length field - SVMIG_TAG_LEN); @out may be NULL to discard
 * them, and nothing is written there otherwise.  A PAGE is decrypted into
 * w->scratch, and its identity checked there, before anything is written
 * to @out.  @rec (may be NULL) describes the record; for a MANIFEST or an
 * END it holds the verdict, also kept in w->verdict.  An END is VERIFIED
 * if its records, bytes and transcript all equal the receiver's
 * (svmig_wire_end_plaintext() just before it), and for a wire always alone
 * its channels is 1; else MISMATCH.  Returns 0 or an errno as above.
 */
int svmig_wire_open_record(struct svmig_wire *w, const uint8_t *buf,
			   size_t len, uint8_t *out,
			   struct svmig_wire_rec *rec);

/*
 * The byte stream ended, with @partial bytes of an incomplete record
 * buffered (0: at a record boundary).  0 after the MANIFEST or END with
 * nothing partial; -ENODATA before it (w->verdict becomes TRUNCATED);
 * -EPROTO for bytes after it.  Receiver only (-EPERM).
 */
int svmig_wire_eof(struct svmig_wire *w, size_t partial);

/* ---- test vectors (wire-vectors.c) ---- */
/*
 * Write the deterministic vectors of Documentation/wire-vectors.txt to @f
 * (svmig-vectors prints them; the unit tests compare them with the file).
 */
int svmig_wire_write_vectors(FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* SVMIG_WIRE_H */
