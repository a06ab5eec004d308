/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * svmig: secure VM live migration, the crypto and verification in the kernel.
 *
 * The one ABI between svmig.ko and userspace, and the wire format both ends
 * of a channel speak.  Documentation/uapi.rst describes every field;
 * Documentation/wire-format.rst the records and the key schedule.
 *
 * Rules that hold for every structure here:
 *  - sizes and padding are explicit; pointers travel as __u64;
 *  - fields named reserved/resv must be zero on input (else -EINVAL) and
 *    are zero on output;
 *  - flags bits not defined here must be zero on input (else -EINVAL).
 */
#ifndef _UAPI_LINUX_SVMIG_H
#define _UAPI_LINUX_SVMIG_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SVMIG_ABI_VERSION	1
#define SVMIG_PAGE_SIZE		4096

/* svmig_info.features */
#define SVMIG_FEAT_PAGE_MODE	(1ULL << 0)	/* regions, ring, page records */
#define SVMIG_FEAT_SOCKET	(1ULL << 1)	/* SVMIG_IOC_ATTACH_SOCK */
#define SVMIG_FEAT_RW		(1ULL << 2)	/* records through read()/write() */
#define SVMIG_FEAT_TPM		(1ULL << 3)	/* a TPM is present right now */
#define SVMIG_FEAT_STREAM	(1ULL << 4)	/* SVMIG_KEY_STREAM: a byte stream */
/*
 * Only FINISH ends a channel (close() never does), FINISH may be retried,
 * a cut stream is SVMIG_VERDICT_TRUNCATED (ENODATA), regions are bound to
 * the address space that registered them, and O_NONBLOCK holds everywhere.
 */
#define SVMIG_FEAT_EXPLICIT_END	(1ULL << 5)
#define SVMIG_FEAT_SESSION	(1ULL << 6)	/* SVMIG_KEY_SESSION */
/* SVMIG_HELLO_F_TPM_SALT sent, and SVMIG_KEY_REQUIRE_TPM_SALT honoured */
#define SVMIG_FEAT_TPM_SALT_FLAG	(1ULL << 7)

struct svmig_info {
	__u32 abi_version;	/* SVMIG_ABI_VERSION */
	__u32 page_size;	/* SVMIG_PAGE_SIZE */
	__u64 features;		/* SVMIG_FEAT_* */
	__u32 max_regions;	/* per channel */
	__u32 max_ring_entries;
	__u64 max_region_size;	/* bytes */
	__u64 max_total_size;	/* bytes over all regions of a channel */
	__u32 page_record_size;	/* bytes on the wire per page record */
	__u32 epoch_shift;	/* key epoch = record sequence >> epoch_shift */
	__u64 reserved[4];
};

/* svmig_key_setup.flags */
#define SVMIG_ROLE_SENDER	(1U << 0)
#define SVMIG_ROLE_RECEIVER	(1U << 1)
#define SVMIG_KEY_NO_TPM	(1U << 2)	/* explicit, logged opt-in */
#define SVMIG_KEY_STREAM	(1U << 3)	/* stream mode (QEMU fd: migration) */
/*
 * Join the other channels of this end that were keyed with the same
 * session_id, secret and role (SVMIG_FEAT_SESSION): one generation per
 * guest page across them, and VERIFY answers for all of them.
 */
#define SVMIG_KEY_SESSION	(1U << 4)
/*
 * Receiver: refuse a sender whose salt did not come (in part) from a TPM,
 * as its authenticated HELLO says (SVMIG_HELLO_F_TPM_SALT).
 */
#define SVMIG_KEY_REQUIRE_TPM_SALT	(1U << 5)

#define SVMIG_SESSION_ID_LEN	16
#define SVMIG_SECRET_LEN	32
#define SVMIG_SALT_LEN		32
#define SVMIG_TAG_LEN		16

/*
 * Installed once per open file.  The kernel derives its keys from @secret
 * and wipes its copy before the ioctl returns; no ioctl returns key bytes.
 * Exactly one of SVMIG_ROLE_SENDER and SVMIG_ROLE_RECEIVER must be set.
 */
struct svmig_key_setup {
	__u32 flags;
	__u32 channel;		/* this channel's number within the session */
	__u8 session_id[SVMIG_SESSION_ID_LEN];
	__u8 secret[SVMIG_SECRET_LEN];
	__u64 reserved[4];
};

/*
 * A guest memory region, as KVM_SET_USER_MEMORY_REGION describes one.
 * Addresses and size are multiples of SVMIG_PAGE_SIZE, nothing wraps, and
 * no two regions of a channel share a slot, guest-physical or user pages.
 */
struct svmig_region {
	__u32 slot;
	__u32 flags;		/* must be 0 */
	__u64 guest_phys_addr;
	__u64 userspace_addr;
	__u64 size;
	__u64 reserved[2];
};

/*
 * The submission ring, mmap()ed at SVMIG_OFF_RING.  Offsets are in bytes
 * from the start of the mapping (io_uring style, so the layout may grow).
 * Userspace owns tail, the kernel owns head.  Userspace fills entries, then
 * stores tail with release semantics; the kernel loads tail with acquire,
 * reads each entry exactly once, and stores head with release.
 */
struct svmig_ring_offsets {
	__u32 head;
	__u32 tail;
	__u32 ring_mask;
	__u32 ring_entries;
	__u32 entries;		/* array of struct svmig_dirty_gfn */
	__u32 resv0;
	__u64 resv1;
};

struct svmig_ring_setup {
	__u32 entries;		/* in: power of two, <= max_ring_entries */
	__u32 flags;		/* must be 0 */
	__u64 mmap_size;	/* out: length to pass to mmap() */
	struct svmig_ring_offsets off;	/* out */
	__u64 reserved[2];
};

#define SVMIG_OFF_RING		0ULL

/*
 * A ring entry: layout-compatible with KVM's struct kvm_dirty_gfn, so
 * entries harvested from a KVM dirty ring can be copied in unchanged.
 * @slot is the region's slot, @offset the page index within it.
 */
struct svmig_dirty_gfn {
	__u32 flags;		/* only the KVM dirty-ring bits below */
	__u32 slot;
	__u64 offset;
};

#define SVMIG_GFN_F_DIRTY	(1U << 0)	/* KVM_DIRTY_GFN_F_DIRTY */
#define SVMIG_GFN_F_RESET	(1U << 1)	/* KVM_DIRTY_GFN_F_RESET */

struct svmig_submit {
	__u32 max_entries;	/* 0: everything up to tail */
	__u32 flags;		/* must be 0 */
	__u32 completed;	/* out: entries consumed */
	__u32 resv;
	__u64 reserved[2];
};

struct svmig_attach {
	__s32 fd;		/* a connected SOCK_STREAM socket */
	__u32 flags;		/* must be 0 */
	__u64 reserved[2];
};

struct svmig_recv {
	__u32 max_records;	/* 0: until the manifest */
	__u32 flags;		/* must be 0 */
	__u32 records;		/* out: records processed */
	__u32 resv;
	__u64 reserved[2];
};

/* svmig_stats.verdict */
#define SVMIG_VERDICT_PENDING	0	/* no manifest yet */
#define SVMIG_VERDICT_VERIFIED	1	/* manifest matches what was accepted */
#define SVMIG_VERDICT_MISMATCH	2	/* manifest differs: do not resume */
#define SVMIG_VERDICT_FAILED	3	/* the channel saw a fatal error */
#define SVMIG_VERDICT_TRUNCATED	4	/* the stream ended before its manifest or END */

/* svmig_stats.flags */
#define SVMIG_STAT_KEYED	(1U << 0)	/* keys installed */
#define SVMIG_STAT_TPM_SALT	(1U << 1)	/* the salt mixes TPM bytes (receiver: the HELLO says so) */
#define SVMIG_STAT_NO_TPM	(1U << 2)	/* keyed without a TPM (opt-in) */
#define SVMIG_STAT_SOCKET	(1U << 3)	/* a socket is attached */
#define SVMIG_STAT_FINISHED	(1U << 4)	/* sender: manifest or end emitted */
#define SVMIG_STAT_STREAM	(1U << 5)	/* a stream-mode channel */

struct svmig_stats {
	__u32 role;		/* SVMIG_ROLE_* or 0 before SVMIG_IOC_SET_KEY */
	__u32 verdict;		/* SVMIG_VERDICT_* (receiver) */
	__u32 flags;		/* SVMIG_STAT_* */
	__u32 epoch;		/* current key epoch */
	__u64 records;		/* records sealed (sender) or accepted */
	__u64 bytes;		/* wire bytes of those records */
	__u64 pages;		/* page records sealed or accepted */
	__u64 stale_pages;	/* authentic but older than a page accepted */
	__u64 auth_failures;	/* tag did not verify */
	__u64 replays;		/* authentic records out of sequence */
	__u64 proto_errors;	/* malformed records */
	__u64 bad_entries;	/* ring entries refused */
	__u64 manifest_pages;	/* the pages field of this channel's manifest */
	char aead_driver[64];	/* crypto driver in use, e.g. generic-gcm-aesni */
	__u64 payload_bytes;	/* stream: plaintext bytes sealed, or verified */
	__u64 discarded_bytes;	/* stream: verified but never read */
	__s32 error;		/* the errno that failed the channel, or 0 */
	__u32 resv;
	__u64 zerocopy_bytes;	/* sender: wire bytes lent to the socket, not copied */
	__u64 sock_reads;	/* receiver: receives from the socket that brought bytes */
	__u64 reserved[3];
};

#define SVMIG_IOC_MAGIC		0xE7

#define SVMIG_IOC_GET_INFO	_IOR(SVMIG_IOC_MAGIC, 0x00, struct svmig_info)
#define SVMIG_IOC_SET_KEY	_IOW(SVMIG_IOC_MAGIC, 0x01, struct svmig_key_setup)
#define SVMIG_IOC_ADD_REGION	_IOW(SVMIG_IOC_MAGIC, 0x02, struct svmig_region)
#define SVMIG_IOC_SETUP_RING	_IOWR(SVMIG_IOC_MAGIC, 0x03, struct svmig_ring_setup)
#define SVMIG_IOC_ATTACH_SOCK	_IOW(SVMIG_IOC_MAGIC, 0x04, struct svmig_attach)
#define SVMIG_IOC_SUBMIT	_IOWR(SVMIG_IOC_MAGIC, 0x05, struct svmig_submit)
#define SVMIG_IOC_FINISH	_IO(SVMIG_IOC_MAGIC, 0x06)
#define SVMIG_IOC_RECV		_IOWR(SVMIG_IOC_MAGIC, 0x07, struct svmig_recv)
#define SVMIG_IOC_VERIFY	_IO(SVMIG_IOC_MAGIC, 0x08)
#define SVMIG_IOC_GET_STATS	_IOR(SVMIG_IOC_MAGIC, 0x09, struct svmig_stats)

/*
 * Wire format, version 2 (Documentation/wire-format.rst).  A channel is an
 * ordered byte stream of records.  Every record starts with this header,
 * sent in the clear and authenticated as part of the AAD.  All multi-byte
 * integers on the wire are big-endian.
 */
#define SVMIG_WIRE_VERSION	2
#define SVMIG_EPOCH_SHIFT	20	/* 2^20 records per key */

/*
 * Key schedule and AEAD (Documentation/wire-format.rst): HKDF-SHA-256
 * labels (ASCII, no NUL), key, nonce (be32(0) || be64(seq)) and implicit
 * AAD (session_id || be32(channel) || be32(0)) lengths, and the header's;
 * the page-table key and the length of a table value and of a sum.
 */
#define SVMIG_LABEL_SESSION	"svmig v2 session"
#define SVMIG_LABEL_KEY		"svmig v2 key s2r"
#define SVMIG_LABEL_FP		"svmig v2 session fp"
#define SVMIG_LABEL_TABLE	"svmig v2 table key"
#define SVMIG_TABLE_KEY_LEN	64
#define SVMIG_TABLE_SUM_LEN	16
#define SVMIG_KEY_LEN		32
#define SVMIG_NONCE_LEN		12
#define SVMIG_AAD_IMPLICIT_LEN	24
#define SVMIG_HDR_LEN		16

#define SVMIG_REC_HELLO		1
#define SVMIG_REC_PAGE		2
#define SVMIG_REC_MANIFEST	3
#define SVMIG_REC_DATA		4	/* stream mode: a piece of the stream */
#define SVMIG_REC_END		5	/* stream mode: the authenticated end */

/* Stream mode: plaintext bytes per DATA record, at most. */
#define SVMIG_STREAM_RECORD_MAX	16384

struct svmig_wire_hdr {
	__u8 version;		/* SVMIG_WIRE_VERSION */
	__u8 type;		/* SVMIG_REC_* */
	__be16 reserved;	/* 0 */
	__be32 length;		/* bytes after this header, tag included */
	__be64 seq;		/* record number on this channel, from 0 */
};

/* SVMIG_REC_HELLO: seq 0; clear, authenticated; no ciphertext; tag. */
#define SVMIG_HELLO_F_STREAM	(1U << 0)	/* the channel is in stream mode */
#define SVMIG_HELLO_F_TPM_SALT	(1U << 1)	/* the salt mixes bytes of a TPM's RNG */

struct svmig_wire_hello {
	__be32 channel;
	__be32 flags;		/* SVMIG_HELLO_F_* */
	__u8 session_id[SVMIG_SESSION_ID_LEN];
	__u8 salt[SVMIG_SALT_LEN];
};

/*
 * SVMIG_REC_PAGE: no clear part; this structure and the page's 4096 bytes
 * sealed (encrypted) together, so the page's identity never travels in
 * the clear; tag.
 */
struct svmig_wire_page {
	__be32 slot;
	__be32 generation;	/* 1 for the first send of a page, +1 after */
	__be64 page;		/* page index within the slot */
};

/*
 * SVMIG_REC_MANIFEST: this structure sealed (encrypted); tag.  What the
 * channel that seals it did to the page table of its session: the sums of
 * all the session's channels' manifests must equal the receiver's table.
 */
struct svmig_wire_manifest {
	__be64 pages;		/* table entries this channel created */
	__be64 page_records;	/* page records it sealed, resends included */
	__be32 channels;	/* channels that ever joined the sender's session */
	__be32 reserved;	/* 0 */
	__u8 table_sum[SVMIG_TABLE_SUM_LEN];	/* its changes to the table's sum */
};

/*
 * SVMIG_REC_DATA: no clear part; 1 to SVMIG_STREAM_RECORD_MAX bytes of the
 * stream sealed; tag.  SVMIG_REC_END: this structure sealed; tag.
 */
struct svmig_wire_end {
	__be64 records;		/* DATA records before this one */
	__be64 bytes;		/* stream bytes they carried */
	__be32 channels;	/* channels that ever joined the sender's session */
	__be32 reserved;	/* 0 */
	__u8 transcript[32];	/* SHA-256 over the tags of all records before */
};

#define SVMIG_HELLO_REC_LEN	(sizeof(struct svmig_wire_hdr) + \
				 sizeof(struct svmig_wire_hello) + SVMIG_TAG_LEN)
#define SVMIG_PAGE_REC_LEN	(sizeof(struct svmig_wire_hdr) + \
				 sizeof(struct svmig_wire_page) + \
				 SVMIG_PAGE_SIZE + SVMIG_TAG_LEN)
#define SVMIG_MANIFEST_REC_LEN	(sizeof(struct svmig_wire_hdr) + \
				 sizeof(struct svmig_wire_manifest) + SVMIG_TAG_LEN)
#define SVMIG_DATA_REC_MAX	(sizeof(struct svmig_wire_hdr) + \
				 SVMIG_STREAM_RECORD_MAX + SVMIG_TAG_LEN)
#define SVMIG_END_REC_LEN	(sizeof(struct svmig_wire_hdr) + \
				 sizeof(struct svmig_wire_end) + SVMIG_TAG_LEN)

#endif /* _UAPI_LINUX_SVMIG_H */
