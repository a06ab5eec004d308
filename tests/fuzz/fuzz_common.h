/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the svmigd fuzz harnesses (fuzz_request.c, fuzz_policy.c,
 * fuzz_config.c, fuzz_audit.c, fuzz_journal.c, fuzz_tpm.c) and by their seed
 * generator (gen_seeds.c):
 *
 *   - the fixed keys of fuzz_keys.h as OpenSSL objects;
 *   - a memfd that stands in for a file the parser under test opens by path
 *     (/proc/self/fd/N): made once, rewritten for every input, so no file
 *     descriptor or directory entry is left behind;
 *   - a reader that splits one fuzz input into fields (struct fz), the
 *     format gen_seeds.c writes with struct fzw;
 *   - FUZZ_CHECK, an invariant that aborts (libFuzzer keeps the input).
 */
#ifndef SVMIG_FUZZ_COMMON_H
#define SVMIG_FUZZ_COMMON_H

#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fuzz_keys.h"

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
			__FILE__, __LINE__, #cond);			\
		abort();						\
	}								\
} while (0)

static inline EVP_PKEY *fuzz_pkey(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (!key) {
		fprintf(stderr, "fuzz: cannot read a fixed key\n");
		abort();
	}
	return key;
}

static inline X509 *fuzz_x509(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (!cert) {
		fprintf(stderr, "fuzz: cannot read a fixed certificate\n");
		abort();
	}
	return cert;
}

/* ---------------------------------------------------------- files */

struct fuzz_file {
	int fd;
	char path[32];		/* "/proc/self/fd/N" */
};

/* Makes @f hold exactly @data; the memfd is made on first use. */
static inline void fuzz_file_put(struct fuzz_file *f, const void *data,
				 size_t len)
{
	const uint8_t *p = data;
	ssize_t n;
	size_t off = 0;

	if (!f->path[0]) {
		f->fd = memfd_create("svmig-fuzz", MFD_CLOEXEC);
		if (f->fd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
	}
	if (ftruncate(f->fd, 0)) {
		perror("ftruncate");
		abort();
	}
	while (off < len) {
		n = pwrite(f->fd, p + off, len - off, (off_t)off);
		if (n <= 0) {
			perror("pwrite");
			abort();
		}
		off += (size_t)n;
	}
}

/*
 * A scratch directory made once, for parsers that need a real path (and
 * fsync it): in $TMPDIR, else /dev/shm (tmpfs: fsync costs nothing), else
 * /tmp.  Its files and itself are removed when the fuzzer exits normally
 * (a crash leaves it for the post-mortem).  One per process.
 */
static char fuzz_scratch[128];

static inline void fuzz_scratch_rm(void)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(fuzz_scratch);

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    snprintf(path, sizeof(path), "%s/%s", fuzz_scratch,
			     e->d_name) < (int)sizeof(path))
			unlink(path);
	closedir(d);
	rmdir(fuzz_scratch);
}

static inline const char *fuzz_scratch_dir(char *buf, size_t size,
					   const char *name)
{
	const char *base = getenv("TMPDIR");

	if (!base)
		base = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
	snprintf(fuzz_scratch, sizeof(fuzz_scratch), "%s/svmig-fuzz-%s-XXXXXX",
		 base, name);
	if (!mkdtemp(fuzz_scratch)) {
		perror("mkdtemp");
		abort();
	}
	atexit(fuzz_scratch_rm);
	snprintf(buf, size, "%s", fuzz_scratch);
	return buf;
}

/* ---------------------------------------------------------- input fields */

/*
 * An input is read front to back: u8/u16/u32 fields (big-endian), byte
 * strings with a 16-bit length in front, and the rest.  Reading past the
 * end gives zeros and empty strings, so every input is usable.
 */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint32_t fz_uint(struct fz *z, unsigned int bytes)
{
	uint32_t v = 0;

	while (bytes--) {
		v <<= 8;
		if (z->n) {
			v |= *z->p++;
			z->n--;
		}
	}
	return v;
}

static inline uint8_t fz_u8(struct fz *z) { return (uint8_t)fz_uint(z, 1); }
static inline uint16_t fz_u16(struct fz *z) { return (uint16_t)fz_uint(z, 2); }
static inline uint32_t fz_u32(struct fz *z) { return fz_uint(z, 4); }

static inline uint64_t fz_u64(struct fz *z)
{
	uint64_t hi = fz_u32(z);

	return hi << 32 | fz_u32(z);
}

/* A 16-bit length, then that many bytes (fewer if the input ends). */
static inline const uint8_t *fz_str(struct fz *z, size_t *len)
{
	const uint8_t *s;
	size_t n = fz_u16(z);

	if (n > z->n)
		n = z->n;
	s = z->p;
	z->p += n;
	z->n -= n;
	*len = n;
	return s;
}

/*
 * The same as a C string in @buf: at most @size - 1 bytes, up to the first
 * NUL if any, and zeros after it to the end of @buf.
 */
static inline size_t fz_cstr(struct fz *z, char *buf, size_t size)
{
	size_t len;
	const uint8_t *s = fz_str(z, &len);

	if (len > size - 1)
		len = size - 1;
	len = strnlen((const char *)s, len);
	memcpy(buf, s, len);
	memset(buf + len, 0, size - len);
	return len;
}

static inline const uint8_t *fz_rest(struct fz *z, size_t *len)
{
	const uint8_t *s = z->p;

	*len = z->n;
	z->p += z->n;
	z->n = 0;
	return s;
}

/* ---------------------------------------------------------- writing seeds */

/* The writer's side of struct fz, for gen_seeds.c. */
struct fzw {
	uint8_t buf[65536];
	size_t n;
};

static inline void fzw_bytes(struct fzw *w, const void *p, size_t len)
{
	if (len > sizeof(w->buf) - w->n) {
		fprintf(stderr, "gen_seeds: seed too big\n");
		abort();
	}
	memcpy(w->buf + w->n, p, len);
	w->n += len;
}

static inline void fzw_uint(struct fzw *w, uint32_t v, unsigned int bytes)
{
	while (bytes--) {
		uint8_t b = (uint8_t)(v >> (8 * bytes));

		fzw_bytes(w, &b, 1);
	}
}

static inline void fzw_u64(struct fzw *w, uint64_t v)
{
	fzw_uint(w, (uint32_t)(v >> 32), 4);
	fzw_uint(w, (uint32_t)v, 4);
}

static inline void fzw_str(struct fzw *w, const void *p, size_t len)
{
	fzw_uint(w, (uint32_t)len, 2);
	fzw_bytes(w, p, len);
}

#endif /* SVMIG_FUZZ_COMMON_H */
